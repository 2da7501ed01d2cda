"""Render the three report kinds in headless Chromium: screenshots and a health check.

    python tools/screenshots.py OUT_DIR [--n-cases 2000] [--chromium chromium]

writes ``case.html``, ``cohort.html`` and ``evaluation.html`` (the fictional Child A,
a synthetic cohort, an evaluation of the default scorecard on it) into OUT_DIR, opens
each in headless Chromium (Debian's ``chromium`` package) and writes a full-page
screenshot beside it (``case.png`` ...). It prints, per page, what a reviewer's
browser reported: console errors (a Content-Security-Policy violation shows up
here), images that did not load, and tables wider than the page. The exit status is
1 if any page has a problem.

Chromium is driven over its DevTools pipe (``--remote-debugging-pipe``: JSON
messages on file descriptors 3 and 4, set up with ``os.posix_spawn``), so nothing
listens on the network and no extra package is needed. The page's own CSP still applies to the page; the checks
run from DevTools, outside it.

``tests/test_screenshots.py`` runs :func:`check_reports` when Chromium is installed.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

#: Width of the browser window (CSS pixels), a laptop screen.
WIDTH = 1400

_CHECK_JS = """
JSON.stringify({
  images: Array.from(document.images).map(i => ({
    alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight})),
  wide_tables: Array.from(document.querySelectorAll('table'))
    .filter(t => t.getBoundingClientRect().width > document.querySelector('main').clientWidth + 1)
    .map(t => t.id),
  page_width: document.documentElement.scrollWidth,
  window_width: window.innerWidth,
  height: document.documentElement.scrollHeight,
})
"""


def find_chromium() -> str | None:
    """The Chromium executable on PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def build_reports(out: Path, n_cases: int = 2000, n_boot: int = 20, cv: int = 3) -> dict:
    """Write the three report kinds from synthetic and fictional data; return their paths."""
    import riskscore as rs

    out.mkdir(parents=True, exist_ok=True)
    card = rs.default_scorecard()
    events, cases = rs.vignette()
    paths = {
        "case": rs.write_report(rs.audit_case(events, cases, card, "CHILD-A"), out / "case.html")
    }
    events, cases = rs.make_cohort(n_cases, random_state=0)
    cohort = rs.audit_cohort(events, cases, card, progress=False)
    paths["cohort"] = rs.write_report(cohort, out / "cohort.html")
    ts = rs.make_training_set(events, cases, grid="90D")
    result = rs.evaluate(card, ts, cv=cv, n_boot=n_boot, cases=cases, progress=False)
    paths["evaluation"] = rs.write_report(result, out / "evaluation.html")
    return paths


class _DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, chromium: str, timeout: float = 120.0) -> None:
        self.timeout = timeout
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # park the child's ends at 10 or above, so that putting them on 3 and 4 in the
        # child cannot overwrite one with the other (close-on-exec: only 3 and 4 survive)
        child_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.profile = tempfile.mkdtemp(prefix="riskscore-chromium-")
        args = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            f"--user-data-dir={self.profile}",
            "about:blank",
        ]
        self.pid = os.posix_spawn(
            chromium,
            args,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, child_r, 3),
                (os.POSIX_SPAWN_DUP2, child_w, 4),
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            ],
        )
        os.close(child_r)
        os.close(child_w)
        self.writer = os.fdopen(to_chrome_w, "wb", buffering=0)
        self.reader = os.fdopen(from_chrome_r, "rb", buffering=0)
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict] = []

    def _read_message(self) -> dict:
        import select

        deadline = time.monotonic() + self.timeout
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.reader], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = self.reader.read(1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.writer.write(json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read_message()
            if event.get("method") == method:
                return event
            self.events.append(event)

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, BrokenPipeError, OSError):
            pass
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                break
            time.sleep(0.1)
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        for f in (self.writer, self.reader):
            try:
                f.close()
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


def inspect(html: Path, png: Path, chromium: str) -> dict:
    """Open one page in headless Chromium, screenshot it whole, and report its health.

    Returns ``console`` (error and warning messages the browser logged, CSP
    violations included), ``images`` (each image's load state and size),
    ``wide_tables`` (ids of tables wider than the page's main column) and the page's
    width and height.
    """
    tools = _DevTools(chromium)
    try:
        target = tools.call("Target.createTarget", url="about:blank")["targetId"]
        session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            tools.call(f"{domain}.enable", session)
        tools.call(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=WIDTH,
            height=1000,
            deviceScaleFactor=1,
            mobile=False,
        )
        tools.call("Page.navigate", session, url=Path(html).resolve().as_uri())
        tools.wait_for("Page.loadEventFired")
        state = json.loads(
            tools.call("Runtime.evaluate", session, expression=_CHECK_JS, returnByValue=True)[
                "result"
            ]["value"]
        )
        tools.call(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=WIDTH,
            height=int(state["height"]),
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = tools.call(
            "Page.captureScreenshot", session, format="png", captureBeyondViewport=True
        )
        Path(png).write_bytes(base64.b64decode(shot["data"]))
        # let late log entries arrive, then read everything the page said
        tools.call("Runtime.evaluate", session, expression="1")
        console = []
        for event in tools.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                console.append(params["entry"]["text"])
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
                console.append(" ".join(str(a.get("value", "")) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                console.append(params["exceptionDetails"].get("text", "exception"))
        state["console"] = console
        return state
    finally:
        tools.close()


def problems(state: dict) -> list[str]:
    """What is wrong with a page, in words (empty when it is fine)."""
    out = [f"console: {m}" for m in state["console"]]
    out += [
        f"image did not load: {i['alt']!r}"
        for i in state["images"]
        if not (i["complete"] and i["width"] > 0 and i["height"] > 0)
    ]
    out += [f"table wider than the page: {t}" for t in state["wide_tables"]]
    if state["page_width"] > state["window_width"]:
        out.append(f"page scrolls sideways ({state['page_width']} > {state['window_width']} px)")
    return out


def check_reports(out: Path, chromium: str, **build) -> dict:
    """Build the three reports, screenshot each; return ``{kind: state}`` with ``problems``."""
    states = {}
    for kind, html in build_reports(Path(out), **build).items():
        state = inspect(html, Path(out) / f"{kind}.png", chromium)
        state["problems"] = problems(state)
        state["html"] = str(html)
        states[kind] = state
    return states


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the HTML files and screenshots")
    parser.add_argument("--n-cases", type=int, default=2000, help="synthetic cohort size")
    parser.add_argument("--chromium", default=None, help="Chromium executable (default: PATH)")
    args = parser.parse_args(argv)
    chromium = args.chromium or find_chromium()
    if chromium is None:
        print("Chromium not found: apt-get install -y chromium", file=sys.stderr)
        return 2
    states = check_reports(args.out, chromium, n_cases=args.n_cases)
    bad = 0
    for kind, state in states.items():
        print(
            f"{kind}: {len(state['images'])} images, page {state['page_width']} x "
            f"{state['height']} px -> {args.out / (kind + '.png')}"
        )
        for p in state["problems"]:
            print(f"  PROBLEM {p}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
