"""The three report kinds, seen in a real browser (headless Chromium).

Runs ``tools/screenshots.py``: builds a case, a cohort and an evaluation report from
fictional and synthetic data, opens each in headless Chromium, and checks that the
page logged no console error (a Content-Security-Policy violation is one), that
every image loaded, and that no table is wider than the page. Skipped only when
Chromium is not installed (``apt-get install -y chromium``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "tools" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["screenshots"] = module
    spec.loader.exec_module(module)
    return module


screenshots = _tool()
CHROMIUM = screenshots.find_chromium()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_reports_render_in_chromium_without_errors(tmp_path):
    states = screenshots.check_reports(tmp_path, CHROMIUM, n_cases=300, n_boot=5, cv=2)
    assert set(states) == {"case", "cohort", "evaluation"}
    expected_images = {"case": 3, "cohort": 4, "evaluation": 4}
    for kind, state in states.items():
        assert state["problems"] == [], (kind, state["problems"])
        assert len(state["images"]) == expected_images[kind], kind
        assert all(i["complete"] and i["width"] > 300 for i in state["images"]), kind
        shot = mpimg.imread(tmp_path / f"{kind}.png")
        # the whole page, at the window's width, and not blank
        assert shot.shape[1] == screenshots.WIDTH and shot.shape[0] == state["height"] > 1500
        assert float(np.ptp(shot[..., :3])) > 0.5


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_the_browser_check_catches_a_broken_page(tmp_path):
    """A test of the test: a blocked image, a script and a wide table are all reported."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta http-equiv='Content-Security-Policy' "
        "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
        "<title>x</title></head><body><main>"
        "<img src='http://example.invalid/x.png' alt='remote'>"
        "<img src='data:image/png;base64,AAAA' alt='broken'>"
        "<script>console.error('boom')</script>"
        "<table id='wide'><tr><td style='min-width:3000px'>x</td></tr></table>"
        "</main></body></html>",
        encoding="utf-8",
    )
    state = screenshots.inspect(page, tmp_path / "bad.png", CHROMIUM)
    found = screenshots.problems(state)
    assert any("Content Security Policy" in p for p in found)
    assert "image did not load: 'remote'" in found and "image did not load: 'broken'" in found
    assert "table wider than the page: wide" in found
