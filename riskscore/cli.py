"""The ``riskscore`` command line: a thin layer over the public library.

Every command is a call a notebook user could make (``riskscore.audit_case`` and so
on). What the command line adds is safety for the person at the keyboard:

* **Exit status** 0 when all went well, 1 for a problem in the data (an input or
  model file that breaks the contract, or problems found by ``validate``), 2 for a
  usage problem (an option or path to change). Every error is **one line** that
  names the option to change; a traceback is shown only with ``--debug``.
* **Outputs stay where they are asked to go.** Files are written only inside
  ``--out`` (case ids become safe file names), and never over an input: every output
  path is compared with every input path after resolving links.
* **Messages speak in command-line terms**: where the library says ``strict=False``,
  ``allow={...}`` or ``dayfirst=True`` the command line says ``--quarantine``,
  ``--allow COLUMN=REASON`` or ``--dayfirst``.
* A closed pipe (``riskscore model review-rules-v1 | head``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gzip
import hashlib
import json
import math
import os
import re
import sys
import textwrap
import warnings
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore._dates import DEFAULT_GRID, step_days
from riskscore._names import agency_name, band_name, fmt_date, fmt_days, outcome_name
from riskscore._numerics import MAX_BOOT
from riskscore._version import __version__
from riskscore.disclosure import UNDISCLOSED_WARNING
from riskscore.errors import ParameterError, RiskscoreError
from riskscore.modelfile import LIMITS as MODEL_LIMITS
from riskscore.modelfile import is_model_name
from riskscore.vocabulary import AGENCIES

NOTICE = (
    "riskscore is for retrospective audit, learning and research on anonymised data. "
    "It does not make, and must not be used to make, decisions about any child or family."
)
CASE_LEVEL = "Case-level output: it must stay inside the secure environment."
SYNTHETIC_CAVEAT = (
    "Synthetic data: outcome rates here are far higher than real ones (real serious "
    "outcomes are rare), so lead times, precision and alert figures flatter any model."
)
MAD = "multi_agency_discussion"

#: Exit statuses.
EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2


class CommandError(RiskscoreError):
    """An error the command reports on one line, with its exit status.

    ``status`` is :data:`EXIT_USAGE` (2) when an option or path must change and
    :data:`EXIT_DATA` (1) when an input file's content is the problem.
    """

    def __init__(self, message: str, status: int = EXIT_USAGE):
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------- messages

# Library messages name Python parameters; the command line has options. Applied in
# order to every message, report and warning the command prints.
_CLI_TERMS: list[tuple[re.Pattern, str]] = [
    (re.compile(p), r)
    for p, r in [
        (r"\bstrict=False\b", "--quarantine"),
        (r"\bstrict=True\b", "the default (no --quarantine)"),
        (r"\breturn_report=True\b", "`riskscore validate`"),
        (r"\ballow=\{\s*'([^']*)'\s*:\s*'([^']*)'\s*\}", r"--allow '\1=\2'"),
        (r'\ballow=\{\s*"([^"]*)"\s*:\s*"([^"]*)"\s*\}', r"--allow '\1=\2'"),
        (r"\ballow=\{[^}]*\}", "--allow COLUMN=REASON"),
        (r"\ballow=", "--allow COLUMN=REASON"),
        (r"\bdayfirst=True\b", "--dayfirst"),
        (r"\bdayfirst=False\b", "--format '%m/%d/%Y'"),
        (r"\bdayfirst=", "--dayfirst"),
        (r"\bformat='([^']*)'", r"--format '\1'"),
        (r"\bformat=(?=[\s,.;)]|$)", "--format"),
        (r"\bencoding='([^']*)'", r"--encoding \1"),
        (r"\bencoding=", "--encoding "),
        (r"\bgrid=", "--grid "),
        (r"\brecent_window=", "--recent-window "),
        (r"\brecent_window\b", "--recent-window"),
        (r"\bresponse_window=", "--response-window "),
        (r"\bresponse_window\b", "--response-window"),
        (r"\bhorizon=", "--horizon "),
        (r"\bn_boot=", "--n-boot "),
        (r"\brefit=True\b", "--cv with a number of folds"),
        (r"\brefit=False\b", "--cv none"),
        (r"\bcv=None\b", "--cv none"),
        (r"\bcv=", "--cv "),
        (r"\bn_splits=", "--cv "),
        # the splitter is made from --cv: the user never named it
        (r"\bCaseKFold: ", ""),
        (r"\bmin_count=", "--min-count "),
        (r"\bmin_count\b", "--min-count"),
        (r"\bround_to=", "--round-to "),
        (r"\bround_to\b", "--round-to"),
        (r"\bpass disclosure=False explicitly\b", "add --no-disclosure"),
        (r"\bdisclosure=False\b", "--no-disclosure"),
    ]
]


def cli_terms(text: object) -> str:
    """A library message in command-line terms, on one line.

    Examples
    --------
    >>> from riskscore.cli import cli_terms
    >>> cli_terms("dates are not ISO: pass dayfirst=True, or quarantine with strict=False")
    'dates are not ISO: pass --dayfirst, or quarantine with --quarantine'
    >>> cli_terms("pass allow={'site': 'why it is safe'} to keep it")
    "pass --allow 'site=why it is safe' to keep it"
    """
    out = str(text)
    for pattern, repl in _CLI_TERMS:
        out = pattern.sub(repl, out)
    return out


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@contextlib.contextmanager
def _about(option: str | None, value: object = None, *, status: int | None = None) -> Iterator:
    """Turn library errors raised inside the block into one-line command errors.

    ``option`` (and ``value``) name what the user should change; parameter errors
    are usage problems (2), other riskscore errors data problems (1) unless
    ``status`` says otherwise.
    """
    prefix = (
        "" if option is None else (f"{option} {value}: " if value is not None else f"{option}: ")
    )
    try:
        yield
    except CommandError:
        raise
    except ParameterError as exc:
        raise CommandError(prefix + cli_terms(exc), status or EXIT_USAGE) from exc
    except RiskscoreError as exc:
        raise CommandError(prefix + cli_terms(exc), status or EXIT_DATA) from exc
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        # a .gz file cut short, or not gzip at all
        cut = not isinstance(exc, gzip.BadGzipFile)
        what = (
            "the compressed file is cut short or damaged (an interrupted copy or download)"
            if cut
            else "the file ends in .gz but is not gzip-compressed"
        )
        fix = (
            "copy or export the file again"
            if cut
            else "rename it without .gz if it is plain CSV, or compress it with gzip"
        )
        raise CommandError(
            f"{prefix}{what} ({_one_line(exc)[:120]}). Fix: {fix}.", status or EXIT_DATA
        ) from exc
    except UnicodeError as exc:
        # pandas raises a bare UnicodeError for a UTF-16 file without a byte-order mark
        raise CommandError(
            f"{prefix}the file cannot be read as the text encoding given with --encoding "
            f"({_one_line(exc)[:200]}). Fix: give the file's own encoding with --encoding "
            "(utf-16-le or utf-16-be for UTF-16 without a byte-order mark), or leave "
            "--encoding out for UTF-8.",
            status or EXIT_DATA,
        ) from exc
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise CommandError(f"{prefix}{exc.strerror or exc}{where}", status or EXIT_DATA) from exc


@contextlib.contextmanager
def _writing(option: str, path: object) -> Iterator:
    """Write an output: a path the system refuses is an option to change (2), with a fix."""
    fix = f"Fix: choose a {option} in a folder you can write to."
    try:
        with _about(option, path):
            yield
    except CommandError as exc:
        if isinstance(exc.__cause__, OSError) or exc.status == EXIT_USAGE:
            text = str(exc) if "Fix:" in str(exc) else f"{str(exc).rstrip('.')}. {fix}"
            raise CommandError(text, EXIT_USAGE) from exc.__cause__
        raise


def _writable_folder(option: str, shown: str, folder: Path) -> None:
    """Refuse early an output whose folder cannot be made: a file in the way, no permission."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise CommandError(
            f"{option} {shown}: cannot be written: {existing} is a file, not a folder. Fix: "
            f"choose a {option} in a folder you can write to."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(
            f"{option} {shown}: cannot be written: no permission to write in {existing}. "
            f"Fix: choose a {option} in a folder you can write to."
        )


def _warn(command: str, message: str) -> None:
    print(f"riskscore {command}: warning: {_one_line(cli_terms(message))}", file=sys.stderr)


@contextlib.contextmanager
def _one_line_warnings(command: str) -> Iterator:
    """Warnings from the library print as one line in command-line terms."""

    def show(message, category, filename, lineno, file=None, line=None):
        _warn(command, f"{message}")

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _number(value) -> str:
    """A number for the console: at most 3 significant figures, never scientific notation."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "n/a"
    # six decimals at most: a calibration intercept of -7.6e-07 reads as 0
    value = round(float(value), 6)
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return np.format_float_positional(value, precision=3, fractional=False, trim="-")


def _metrics_text(metrics: pd.DataFrame) -> str:
    """An evaluation's metrics table as aligned console lines with intervals."""
    labels = metrics["label"] if "label" in metrics else metrics["metric"]
    width = max(len(str(x)) for x in labels)
    lines = []
    for label, r in zip(labels, metrics.itertuples(index=False), strict=True):
        text = _number(r.estimate)
        if not (pd.isna(r.lower) or pd.isna(r.upper)):
            text += f" ({_number(r.lower)} to {_number(r.upper)})"
        lines.append(f"  {str(label):<{width}}  {text}")
    stamp = metrics.attrs.get("riskscore_disclosure") or {}
    if stamp.get("applied") and metrics["estimate"].isna().any():
        # say why, or "n/a" reads as a failure
        lines.append(f"  n/a: hidden by disclosure control ({stamp.get('rule') or 'small counts'})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- files

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10))}
_RESERVED |= {f"LPT{i}" for i in range(1, 10)}


def safe_filename(text: str, max_len: int = 80) -> str:
    """A file-name part made from any text (a case id, a model name), safe on every system.

    Letters, digits, ``.``, ``_`` and ``-`` are kept; anything else (``/``, ``..``,
    spaces, control characters) becomes ``_``. When anything was changed a short
    hash of the original is added, so two different ids never share a file.

    Examples
    --------
    >>> from riskscore.cli import safe_filename
    >>> safe_filename("CHILD-A")
    'CHILD-A'
    >>> safe_filename("x/../../etc/passwd")
    'x_.._.._etc_passwd-a4641651'
    """
    cleaned = _SAFE.sub("_", text).strip("._-")[:max_len]
    if cleaned != text or not cleaned or cleaned.upper().split(".")[0] in _RESERVED:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        cleaned = f"{cleaned or 'id'}-{digest}"
    return cleaned


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


@contextlib.contextmanager
def _looking_at(option: str, value: object) -> Iterator:
    """A path the system cannot even look at (a name over 255 bytes, a loop of links) is
    an option to change, not an internal error."""
    try:
        yield
    except OSError as exc:
        raise CommandError(
            f"{option} {value}: the system cannot use this path ({exc.strerror or exc}). Fix: "
            "check the path (each name in it at most 255 bytes)."
        ) from exc


def _missing_input(option: str, value: str, path: Path) -> str:
    """Why an input path does not exist: no such file, a loop of links, a broken link."""
    if not os.path.islink(path):
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a link somewhere in the folders loops
                return (
                    f"{option} {value}: a symbolic link in this path leads back to itself "
                    "(a loop of links), so there is no file to read. Fix: give the file's "
                    "real path, or correct the links."
                )
        return f"{option} {value}: no such file. Fix: check the path."
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return (
                f"{option} {value}: is a symbolic link that leads back to itself (a loop "
                "of links), so there is no file to read. Fix: give the file's real path, or "
                "correct the links."
            )
    target = os.readlink(path)
    return (
        f"{option} {value}: is a symbolic link to {target}, which does not exist. Fix: give "
        "the file's real path, or correct the link."
    )


class _Files:
    """A command's inputs, and the check every output passes before it is written."""

    def __init__(self) -> None:
        self.inputs: list[tuple[str, Path]] = []
        # every output path planned, with the option that writes it: two options must
        # not write one file (train --report over the model's .sha256)
        self.outputs: dict[Path, str] = {}

    def _input(
        self, option: str, value: str, *, folder_ok: bool = False, table: bool = False
    ) -> Path:
        """An input path that exists (a file, or with ``folder_ok`` a Parquet folder).

        ``table``: a CSV or Parquet file, whose format is told from its name.
        """
        path = Path(value)
        if not path.exists():
            raise CommandError(_missing_input(option, value, path))
        if table and path.is_file() and not path.name.lower().endswith(_INPUT_TABLE_SUFFIXES):
            raise CommandError(
                f"{option} {value}: riskscore tells a table's format from its name and reads "
                "CSV (.csv, .csv.gz) or Parquet (.parquet, .pq, or a folder of Parquet files). "
                "Fix: if the file is CSV or Parquet, rename it (or copy it) with that ending, "
                "e.g. events.csv; otherwise export the table as CSV."
            )
        if path.is_dir():
            parquet = any(path.rglob("*.parquet")) or any(path.rglob("*.pq"))
            if not (folder_ok and parquet):
                kind = (
                    "a CSV or Parquet file or a folder of Parquet files" if folder_ok else "a file"
                )
                raise CommandError(f"{option} {value}: is a folder. Fix: give {kind}.")
        elif not path.is_file():
            raise CommandError(f"{option} {value}: is not a regular file. Fix: give a file.")
        for opt, src in self.inputs:
            # one file read as two tables (EVENTS and --cases) passes when it has the
            # columns of both, and every result would be wrong
            if table and opt != option and _same_file(path, src):
                raise CommandError(
                    f"{option} {value}: is the same file as {opt} {src}. Fix: give each "
                    "table its own file (events: one row per event; cases: one row per child)."
                )
        self.inputs.append((option, path))
        return path

    def _output(self, option: str, path: Path, *, shown: str | None = None) -> Path:
        """``path`` if writing it cannot touch an input; ``option`` names what to change."""
        shown = shown or str(path)
        if path.is_dir():
            raise CommandError(f"{option} {shown}: is a folder. Fix: give a file name.")
        _writable_folder(option, shown, path.parent)
        for opt, src in self.inputs:
            if _same_file(path, src):
                raise CommandError(
                    f"{option} {shown}: is the input {opt} {src}; riskscore never writes over "
                    f"an input. Fix: choose another {option}."
                )
            if src.is_dir() and src.resolve() in path.resolve().parents:
                raise CommandError(
                    f"{option} {shown}: is inside the input folder {opt} {src}, whose files "
                    f"are all read as input. Fix: choose another {option}."
                )
        other = self.outputs.setdefault(path.resolve(), option)
        if other != option:
            raise CommandError(
                f"{option} {shown}: {other} writes {path.name} too, so one would replace the "
                f"other. Fix: choose another {option}."
            )
        return path

    def _folder(self, option: str, value: str) -> Path:
        """An output folder (created); refused when it is a file or an input."""
        path = Path(value)
        if path.exists() and not path.is_dir():
            raise CommandError(f"{option} {value}: is a file. Fix: give a folder.")
        for opt, src in self.inputs:
            if _same_file(path, src):
                raise CommandError(
                    f"{option} {value}: is the input {opt}. Fix: choose another {option}."
                )
        if not path.is_dir():
            _writable_folder(option, value, path.parent)
        with _writing(option, value):
            path.mkdir(parents=True, exist_ok=True)
        return path

    def input(self, option: str, value: str, **kwargs) -> Path:
        """An input path that exists (see ``_input``)."""
        with _looking_at(option, value):
            return self._input(option, value, **kwargs)

    def output(self, option: str, path: Path, *, shown: str | None = None) -> Path:
        """``path`` if writing it cannot touch an input (see ``_output``)."""
        with _looking_at(option, shown or path):
            return self._output(option, path, shown=shown)

    def folder(self, option: str, value: str) -> Path:
        """An output folder, created (see ``_folder``)."""
        with _looking_at(option, value):
            return self._folder(option, value)

    def inside(self, option: str, folder: Path, name: str) -> Path:
        """``folder / name``, refused unless it stays inside ``folder``."""
        path = folder / name
        if folder.resolve() not in path.resolve().parents:
            raise CommandError(
                f"{option} {folder}: the output {name!r} would land outside it. Fix: use "
                "names without folders."
            )
        return self.output(option, path)

    def table_output(self, option: str, path: Path) -> Path:
        """A table file and its sidecars, all checked."""
        self.output(option, path)
        for sidecar in (".provenance.json", ".dictionary.tsv"):
            self.output(option, path.with_name(path.name + sidecar), shown=str(path))
        return path


_TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
_INPUT_TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


def _report_path(files: _Files, option: str, value: str) -> Path:
    """An HTML report's path: its name says HTML, so no program reads it as a table."""
    path = files.output(option, Path(value))  # an input named is refused as such first
    if path.suffix.lower() not in (".html", ".htm"):
        raise CommandError(
            f"{option} {value}: the report is an HTML page. Fix: end the name in .html "
            f"(e.g. {path.with_suffix('.html').name})."
        )
    return path


def _table_path(files: _Files, option: str, value: str) -> Path:
    path = Path(value)
    if path.suffix.lower() not in _TABLE_SUFFIXES:
        raise CommandError(
            f"{option} {value}: the format comes from the name. Fix: end it in .csv or .parquet."
        )
    return files.table_output(option, path)


def _write_case_table(
    df: pd.DataFrame, path: Path, *, reason: str, prov: dict, option: str = "--out"
) -> None:
    """A case-level table: CSV or Parquet, with a sidecar that says where it must stay."""
    import riskscore as rs

    with _writing(option, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".csv":
            rs.write_table(rs.mark_undisclosed(df, reason=reason), path, provenance=prov)
            return
        df.to_parquet(path, index=False)
        record = {
            "warning": UNDISCLOSED_WARNING,
            **prov,
            "disclosure": {"applied": False, "warning": UNDISCLOSED_WARNING, "reason": reason},
            "file": path.name,
        }
        sidecar = path.with_name(path.name + ".provenance.json")
        sidecar.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- inputs


def _allow(values: Sequence[str] | None) -> dict[str, str] | None:
    from riskscore._privacy_rules import unshown_character

    if not values:
        return None
    out = {}
    for item in values:
        col, sep, reason = item.partition("=")
        if not sep or not col.strip() or not reason.strip():
            raise CommandError(
                f"--allow {item!r}: write COLUMN=REASON. Fix: e.g. --allow 'site_code=hospital "
                "site codes, not postcodes'."
            )
        hidden = unshown_character(item.strip())
        if hidden:
            # the reason is echoed here and kept in every output's provenance
            raise CommandError(
                f"--allow: holds the character {hidden}, which a terminal or viewer acts on "
                "instead of showing. Fix: write COLUMN=REASON as one line of plain text."
            )
        out[col.strip()] = reason.strip()
    return out


def _read_opts(args) -> dict:
    return {
        "dayfirst": True if args.dayfirst else None,
        "format": args.format,
        "allow": _allow(args.allow),
        "encoding": args.encoding,
    }


def _checked(report, option: str, path: Path, args) -> pd.DataFrame:
    """The valid rows; stop unless --quarantine when any row failed validation."""
    if report.ok:
        return report.valid
    n_bad = len(report.quarantine)
    n = n_bad + len(report.valid)
    k = len(report.problems)
    first = report.problems.iloc[0]
    if not getattr(args, "quarantine", False):
        raise CommandError(
            f"{option} {path}: {k} problem(s) in {n:,} rows; the first: "
            f"{cli_terms(first['message'])} (fix: {cli_terms(first['fix'])}). Fix: correct the "
            f"file (`riskscore validate {path}` lists every problem), or add --quarantine to "
            f"set the {n_bad:,} failing row(s) aside.",
            EXIT_DATA,
        )
    _warn(
        args.command,
        f"{option} {path}: {n_bad:,} of {n:,} rows quarantined (left out) for {k} problem(s); "
        f"`riskscore validate {path}` lists them.",
    )
    return report.valid


def _input_paths(args, files: _Files, *, need_cases: bool = False) -> tuple[Path, Path | None]:
    """EVENTS and --cases, checked to exist (before any output is planned or read)."""
    events_path = files.input("EVENTS", args.events, folder_ok=True, table=True)
    cases_path = None
    if getattr(args, "cases", None):
        cases_path = files.input("--cases", args.cases, folder_ok=True, table=True)
    elif need_cases:
        raise CommandError(
            f"riskscore {args.command} needs --cases (outcomes, outcome dates, follow-up ends)."
        )
    return events_path, cases_path


def _read_events_cases(args, paths: tuple[Path, Path | None]):
    from riskscore.schema import read_cases, read_events

    opts = _read_opts(args)
    events_path, cases_path = paths
    with _about("EVENTS", events_path):
        _, report = read_events(events_path, strict=False, return_report=True, **opts)
    events = _checked(report, "EVENTS", events_path, args)
    cases = None
    if cases_path is not None:
        with _about("--cases", cases_path):
            _, report = read_cases(cases_path, strict=False, return_report=True, **opts)
        cases = _checked(report, "--cases", cases_path, args)
    return events, cases


def _model_arg(files: _Files, value: str, sha256: str | None, option: str = "--model"):
    """Load a model option's value: a shipped name or a file (see riskscore.load_model)."""
    import riskscore as rs

    if is_model_name(value):
        shipped = rs.shipped_models()
        if value not in shipped:
            raise CommandError(
                f"{option} {value}: no shipped model of that name (shipped: "
                f"{', '.join(shipped)}). Fix: use one of those names, or give your file's "
                f"path with a folder or .json, e.g. ./{value}."
            )
    else:
        files.input(option, value)
    with _about(option, value):
        return rs.load_model(value, sha256=sha256)


def _inputs(**named) -> dict:
    """Provenance inputs: a file by its bytes, a Parquet folder by the frame read from it."""
    out = {}
    for name, (value, frame) in named.items():
        if value is None:
            continue
        out[name] = value if Path(value).is_file() or frame is None else frame
    return out


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _model_path(files: _Files, option: str, value: str) -> Path:
    path = Path(value)
    if path.suffix.lower() != ".json":
        raise CommandError(
            f"{option} {value}: model files are JSON. Fix: end the name in .json (a name "
            "without .json or a folder would be read as a shipped model's name)."
        )
    files.output(option, path)
    files.output(option, path.with_name(path.name + ".sha256"), shown=value)
    return path


# --------------------------------------------------------------------------- commands


def _written_by_demo(path: Path) -> bool:
    """Whether ``path`` is a synthetic file an earlier ``riskscore demo`` wrote (its
    provenance sidecar says so): replacing it loses nothing."""
    try:
        record = json.loads(path.with_name(path.name + ".provenance.json").read_text("utf-8"))
        return (
            isinstance(record, dict)
            and isinstance(record.get("params"), dict)
            and record["params"].get("command") == "riskscore demo"
            and bool(record.get("synthetic"))
        )
    except (OSError, ValueError):
        return False


def cmd_demo(args) -> int:
    import riskscore as rs

    files = _Files()
    data_files = ("events.csv", "cases.csv")
    existing = [
        n
        for n in data_files
        if os.path.lexists(Path(args.out) / n) and not _written_by_demo(Path(args.out) / n)
    ]
    if existing and not args.overwrite:
        # they could be someone's real extract, saved under the names the docs use
        raise CommandError(
            f"--out {args.out}: already holds {' and '.join(existing)}, which the demo "
            "would replace with synthetic records. Fix: choose another --out, or add "
            "--overwrite to replace them."
        )
    out = files.folder("--out", args.out)
    names = ["child-a-case-report.html", "cohort-report.html", *data_files]
    paths = {n: files.inside("--out", out, n) for n in names}
    print(NOTICE)
    print()
    events, cases = rs.vignette()
    rs.validate_events(events, strict=True)
    rs.validate_cases(cases, events, strict=True)
    card = rs.default_scorecard()
    audit = rs.audit_case(events, cases, card, "CHILD-A")
    with _writing("--out", out):
        case_html = rs.write_report(audit, paths["child-a-case-report.html"])
    plan = events.loc[events["event"] == "cp_plan_start", "date"].min()
    first = audit.first_crossing(MAD)
    print('"Child A" - a FICTIONAL composite on an invented calendar (not any real child).')
    # lead time is measured to the outcome, as in the case report and audit.lead_times
    lead = audit.lead_times.set_index(audit.lead_times["band"].astype(str))["lead_time_days"]
    outcome = f"the (fictional) {outcome_name(audit.outcome)} on {fmt_date(audit.outcome_date)}"
    if first is not None:
        print(
            f"  The joined-up view reached {band_name(MAD)} on {first:%Y-%m-%d}: lead time "
            f"{fmt_days(lead.get(MAD))} to {outcome}. The child protection plan started "
            f"{fmt_days((audit.outcome_date - plan).days)} before it."
        )
    else:
        print(f"  The joined-up view never reached {band_name(MAD)}.")
    print("  What each agency's own records reached, alone:")
    for agency in rs.AGENCIES:
        col = f"band_{agency}"
        if col not in audit.trajectory:
            continue
        top = pd.Categorical(audit.trajectory[col], categories=rs.BANDS, ordered=True).max()
        days = audit.days_in_band(MAD, agency=agency)
        print(
            f"    {agency_name(agency):<13} highest band {band_name(top):<24} "
            f"days at {band_name(MAD)}: {days}"
        )
    print(f"  Join-up gap (joined view above every single agency): {audit.join_up_gap_days} days")
    print(
        f"  Missed opportunities (crossings with no response in 28 days): "
        f"{len(audit.missed_opportunities)}"
    )
    print(f"  Case report (individual-level, fictional): {case_html}")
    print()

    events, cases = rs.make_cohort(args.n_cases, random_state=args.random_state)
    rs.validate_events(events, strict=True)
    rs.validate_cases(cases, events, strict=True)
    # the synthetic cohort as files, so that every other command can be tried on it
    # case-level (if invented) records: written like every other CSV, formula-safe, with
    # a sidecar that says they are synthetic and must not leave as they are. index_date
    # (the generator's own date) is a full date outside the contract: a file holding it
    # would be refused by the identifying-data guard, and no command needs it
    demo_prov = rs.provenance(
        {"command": "riskscore demo", "n_cases": args.n_cases, "seed": args.random_state}
    )
    with _writing("--out", out):
        for name, records in (
            ("events.csv", events),
            ("cases.csv", cases.drop(columns="index_date")),
        ):
            rs.write_table(
                rs.mark_undisclosed(records, reason="synthetic case-level records"),
                paths[name],
                provenance=demo_prov,
            )
    result = rs.audit_cohort(events, cases, card)
    with _writing("--out", out):
        cohort_html = rs.write_report(result, paths["cohort-report.html"])
        for name, table in result.tables.items():
            path = files.inside("--out", out, f"cohort-{safe_filename(name.replace('_', '-'))}.csv")
            rs.write_table(
                table,
                path,
                provenance=rs.provenance(
                    {
                        "command": "riskscore demo",
                        "n_cases": args.n_cases,
                        "seed": args.random_state,
                        "model": card.name,
                        **result.parameters,
                    },
                    {"events": events, "cases": cases},
                    table.attrs.get("riskscore_disclosure", {}).get("settings"),
                ),
            )
    print(
        f"Synthetic cohort of {args.n_cases:,} cases (seed {args.random_state}), default scorecard:"
    )
    fa = result.tables["false_alarms"].set_index("band")
    lt = result.tables["lead_times"]
    for band in rs.BANDS[1:]:
        rows = lt[lt["band"] == band]
        text = ", ".join(
            f"{r.lead_time_days}: {'suppressed' if pd.isna(r.n_cases) else int(r.n_cases)}"
            for r in rows.itertuples()
        )
        print(
            f"  lead time from the first {band_name(band)} crossing to the outcome (cases): {text}"
        )
        r = fa.loc[band]
        share = r["false_alarm_share"]
        print(
            f"  {band_name(band)}: crossings {_fmt(r['n_crossings'])}, false alarms "
            f"{_fmt(r['n_false_alarms'])} ({'suppressed' if pd.isna(share) else f'{share:.0%}'}), "
            f"alerts per true case {_fmt(r['alerts_per_true_case'], '.1f')}"
        )
    dep = result.tables["by_deprivation"]
    print(
        "  By deprivation quintile (1 = most deprived): share reaching "
        f"{band_name(MAD)} / share with a join-up gap"
    )
    for r in dep.itertuples():
        print(
            f"    IMD {r.imd_quintile}: {_fmt(r.share_reached_mad, '.0%')} / "
            f"{_fmt(r.share_with_gap, '.0%')} of {_fmt(r.n_cases)} cases"
        )
    print("  Tables are disclosure-controlled (counts under 10 suppressed, rounded to 5).")
    print(f"  Cohort report: {cohort_html}")
    print()
    ev, cs = paths["events.csv"], paths["cases.csv"]
    print(f"The synthetic cohort's files are {ev} and {cs}: try every command on them, e.g.")
    print(f"  riskscore validate {ev} --cases {cs}")
    print(f"  riskscore audit {ev} --cases {cs} --out {out / 'audit'}")
    print()
    print(SYNTHETIC_CAVEAT)
    print(NOTICE)
    return EXIT_OK


def _fmt(value, spec: str = "") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        return "suppressed"
    return format(float(value) if spec else int(value), spec)


def _orphan_lines(text: str, creport, events: pd.DataFrame, first_line) -> str:
    """The cases report with its events rows given as EVENTS file lines.

    The library counts the events whose child is not in cases from 0 among the events
    it was handed (those that passed validation); a command-line user counts the lines
    of the file (line 1 the header).
    """
    # only the events section (after the cases' own problems) holds events rows: a
    # cases problem on the same row numbers must keep its own
    heading = "\nevents: "
    at = text.find(heading)
    if at < 0:
        return text
    head, text = text[:at], text[at:]
    numbering = "row numbers are 0-based positions in that events table"
    if first_line is not None:
        text = text.replace(numbering, "rows are given as EVENTS file lines", 1)
    problems = creport.problems
    for _, p in problems[problems["check"] == "case_id_not_in_cases"].iterrows():
        rows, n = list(p["rows"]), int(p["n_rows"])
        more = f" and {n - 10:,} more" if n > 10 else ""
        old = f"{'row' if n == 1 else 'rows'} {', '.join(str(r) for r in rows)}{more}"
        labels = np.asarray(events.index[rows])
        if first_line is None or not np.issubdtype(labels.dtype, np.integer):
            new = f"EVENTS {old} (counted from 0, as the file's data rows are read)"
        else:
            shown = ", ".join(str(int(r) + first_line) for r in labels)
            new = f"EVENTS {'line' if n == 1 else 'lines'} {shown}{more}"
        text = text.replace(f"; {old}", f"; {new}", 1)
    return head + text


def cmd_validate(args) -> int:
    from riskscore.schema import read_cases, read_events

    files = _Files()
    opts = _read_opts(args)
    events_path = files.input("EVENTS", args.events, folder_ok=True, table=True)
    cases_path = None
    if args.cases:
        cases_path = files.input("--cases", args.cases, folder_ok=True, table=True)
    print(NOTICE)
    with _about("EVENTS", events_path):
        events, report = read_events(events_path, strict=False, return_report=True, **opts)
    print(cli_terms(report))
    ok = report.ok
    if cases_path is not None:
        # one report over every row of the file: the checks against the events (events
        # whose case is not in cases) run with the cases read, duplicates included, so
        # the counts are the file's and a duplicated child is not called missing
        with _about("--cases", cases_path):
            _, creport = read_cases(
                cases_path, events=events, strict=False, return_report=True, **opts
            )
        print(_orphan_lines(cli_terms(creport), creport, events, report.first_line))
        ok = ok and creport.ok
    if ok:
        print("valid")
        return EXIT_OK
    print(
        "problems found: fix them, or add --quarantine to the other commands to set the "
        "failing rows aside (they are listed above, never dropped silently)"
    )
    return EXIT_DATA


def cmd_encode(args) -> int:
    import riskscore as rs

    files = _Files()
    paths = _input_paths(args, files)
    out = _table_path(files, "--out", args.out)
    print(NOTICE)
    events, cases = _read_events_cases(args, paths)
    with _about(None):
        grid = rs.as_of_grid(events, args.grid, cases=cases)
        feats = rs.encode_features(
            events, grid, agency=args.agency, recent_window=args.recent_window
        )
    prov = rs.provenance(
        {
            "command": "riskscore encode",
            "grid": args.grid,
            "agency": args.agency,
            "recent_window": args.recent_window,
        },
        _inputs(events=(args.events, events), cases=(args.cases, cases)),
        False,
    )
    _write_case_table(feats, out, reason="case-level feature table", prov=prov)
    print(f"wrote {len(feats):,} rows x {feats.shape[1]} columns to {out}")
    print(CASE_LEVEL)
    return EXIT_OK


def _read_features(path: Path) -> pd.DataFrame:
    try:
        if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
            feats = pd.read_parquet(path)
            names = [str(c) for c in feats.columns]
        else:
            feats = pd.read_csv(path)
            # pandas renames a repeated header name ("x", "x.1"): look at the file's own
            header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
            names = [str(c) for c in header.iloc[0]] if len(header) else []
    except (ValueError, UnicodeDecodeError, ImportError) as exc:
        raise CommandError(
            f"FEATURES {path}: cannot be read as a CSV or Parquet table ({_one_line(exc)[:200]}). "
            "Fix: give the table `riskscore encode` wrote.",
            EXIT_DATA,
        ) from exc
    repeated = list(dict.fromkeys(n for i, n in enumerate(names) if n in names[:i]))
    if repeated:
        shown = ", ".join(repr(n) for n in repeated[:5])
        raise CommandError(
            f"FEATURES {path}: column(s) {shown} appear more than once (a repeat would be "
            "read under another name and ignored). Fix: keep one column of each name.",
            EXIT_DATA,
        )
    if len(feats) == 0:
        raise CommandError(
            f"FEATURES {path}: the table has a header but no rows; there is nothing to "
            "score. Fix: give the table `riskscore encode` wrote, with its rows.",
            EXIT_DATA,
        )
    return feats


def cmd_score(args) -> int:
    from scipy.special import expit

    import riskscore as rs

    files = _Files()
    path = files.input("FEATURES", args.features, folder_ok=True, table=True)
    model = _model_arg(files, args.model, args.model_sha256)
    out = _table_path(files, "--out", args.out)
    print(NOTICE)
    with _about("FEATURES", path):
        feats = _read_features(path)
    missing = [f for f in model.feature_names_in_ if f not in feats.columns]
    if missing:
        raise CommandError(
            f"FEATURES {path}: missing feature column(s) {missing}. Fix: produce the table "
            "with `riskscore encode`, which writes every catalogue feature.",
            EXIT_DATA,
        )
    table = feats[[c for c in ("case_id", "as_of") if c in feats.columns]].reset_index(drop=True)
    with _about("FEATURES", path):
        score = model.risk_score(feats).to_numpy(dtype=np.float64)
        table["score"] = score
        mapping = (getattr(model, "model_card", None) or {}).get("points_to_risk")
        if model.score_scale == "log-odds":
            table["probability"] = np.asarray(model.predict_proba(feats))[:, 1]
        elif mapping:
            table["probability"] = expit(mapping["intercept"] + mapping["slope"] * score)
        table["band"] = model.band(feats).astype(str).to_numpy()
        contrib = model.contributions(feats).add_prefix("contribution: ")
    table = pd.concat([table, contrib.reset_index(drop=True)], axis=1)
    prov = rs.provenance(
        {"command": "riskscore score", "model": str(args.model)},
        _inputs(features=(args.features, feats)),
        False,
    )
    _write_case_table(table, out, reason="case-level scores", prov=prov)
    unit = "log-odds, with the predicted probability" if "probability" in table else "points"
    print(f"wrote {len(table):,} scored rows to {out} (score in {unit}, band, contributions)")
    print(CASE_LEVEL)
    return EXIT_OK


def cmd_audit(args) -> int:
    import riskscore as rs

    files = _Files()
    paths = _input_paths(args, files)
    model = _model_arg(files, args.model, args.model_sha256)
    if not args.case and paths[1] is None:
        raise CommandError("a cohort audit needs --cases (outcomes and follow-up ends).")
    disclosure = (
        False if args.no_disclosure else {"min_count": args.min_count, "round_to": args.round_to}
    )
    if disclosure is not False:
        from riskscore.disclosure import settings_for

        # refused settings are options to change, found before hours of work
        with _about(None, status=EXIT_USAGE):
            settings_for(disclosure)
    out = files.folder("--out", args.out)
    events, cases = _read_events_cases(args, paths)
    if args.case:
        from riskscore._privacy_rules import normalise_ids

        # ids are compared with white space normalised, as in every other table
        case = str(normalise_ids(pd.Series([args.case], dtype=object)).iloc[0])
        if not (normalise_ids(events["case_id"]) == case).any():
            raise CommandError(
                f"--case {args.case!r}: no such case_id in EVENTS {args.events}. Fix: give a "
                "case_id from the events file."
            )
        args.case = case
        stem = f"case-{safe_filename(args.case)}"
        html_path = files.inside("--out", out, f"{stem}.html")
        names = ("trajectory", "crossings", "missed_opportunities", "contributions")
        csvs = {
            n: files.table_output(
                "--out", files.inside("--out", out, f"{stem}-{n.replace('_', '-')}.csv")
            )
            for n in names
        }
        print(NOTICE)
        with _about(None):
            audit = rs.audit_case(
                events,
                cases,
                model,
                args.case,
                grid=args.grid,
                response_window=args.response_window,
                recent_window=args.recent_window,
            )
        with _writing("--out", out):
            html = rs.write_report(audit, html_path)
        prov = rs.provenance(
            {"command": "riskscore audit", "case": args.case, "model": str(args.model)},
            _inputs(events=(args.events, events), cases=(args.cases, cases)),
            False,
        )
        for name, path in csvs.items():
            _write_case_table(getattr(audit, name), path, reason="case-level audit", prov=prov)
        print(cli_terms(audit.summary()))
        print(f"report: {html}")
        print(f"tables: {', '.join(p.name for p in csvs.values())} (each with a .provenance.json)")
        print(CASE_LEVEL)
        return EXIT_OK
    html_path = files.inside("--out", out, "cohort-report.html")
    print(NOTICE)
    with _about(None):
        result = rs.audit_cohort(
            events,
            cases,
            model,
            grid=args.grid,
            response_window=args.response_window,
            recent_window=args.recent_window,
            horizon=args.horizon,
            disclosure=disclosure,
            progress=True,
        )
    prov = rs.provenance(
        {"command": "riskscore audit", "model": str(args.model), **result.parameters},
        _inputs(events=(args.events, events), cases=(args.cases, cases)),
        None if disclosure is False else disclosure,
    )
    with _writing("--out", out):
        for name, table in result.tables.items():
            path = files.table_output(
                "--out",
                files.inside("--out", out, f"cohort-{safe_filename(name.replace('_', '-'))}.csv"),
            )
            rs.write_table(table, path, provenance=prov)
        html = rs.write_report(result, html_path)
    print(f"wrote {len(result.tables)} cohort tables and {html}")
    if disclosure is False:
        print("DISCLOSURE CONTROL OFF: these outputs must stay inside the secure environment.")
    return EXIT_OK


def _cv_value(text: str):
    return None if text == "none" else ("temporal" if text == "temporal" else int(text))


def cmd_train(args) -> int:
    import riskscore as rs

    files = _Files()
    paths = _input_paths(args, files, need_cases=True)
    out = _model_path(files, "--out", args.out)
    report = None
    if args.report:
        report = _report_path(files, "--report", args.report)
        if _same_file(report, out):
            raise CommandError(f"--report {args.report}: is --out too. Fix: give another name.")
    events, cases = _read_events_cases(args, paths)
    print(NOTICE)
    with _about(None):
        model, evaluation = rs.train_model(
            events,
            cases,
            penalty=None if args.penalty == "none" else args.penalty,
            C=args.C,
            class_weight="balanced" if args.balanced else None,
            grid=args.grid,
            horizon=args.horizon,
            cv=_cv_value(args.cv),
            n_boot=args.n_boot,
            source=Path(args.events).name,
            name=args.name,
            random_state=args.random_state,
            progress=True,
        )
    # the files' digests, so that `evaluate --cv none` can tell the training data again
    card = {
        **model.model_card_,
        "training_files_sha256": {
            "events": _sha256_of(Path(args.events)) if Path(args.events).is_file() else None,
            "cases": _sha256_of(Path(args.cases)) if Path(args.cases).is_file() else None,
        },
    }
    with _writing("--out", out):
        rs.save_model(model, out, model_card=card)
    digest = out.with_name(out.name + ".sha256").read_text(encoding="utf-8").split()[0]
    print(f"model written to {out}")
    print(f"  SHA-256 {digest} (also in {out.name}.sha256): pin it with --model-sha256")
    if report is not None:
        with _writing("--report", report):
            rs.write_report(evaluation, report)
        print(f"evaluation report: {report}")
    print(f"Validation ({evaluation.design.get('validation', '')}):")
    print(_metrics_text(evaluation.metrics))
    return EXIT_OK


def _in_sample(model, args) -> bool:
    """Whether EVENTS and --cases are the very files the model was trained on."""
    card = getattr(model, "model_card_", None) or getattr(model, "model_card", None) or {}
    recorded = card.get("training_files_sha256") if isinstance(card, dict) else None
    if not isinstance(recorded, dict) or not recorded.get("events"):
        return False
    for key, value in (("events", args.events), ("cases", args.cases)):
        path = Path(value)
        if recorded.get(key) and (not path.is_file() or _sha256_of(path) != recorded[key]):
            return False
    return True


def cmd_evaluate(args) -> int:
    import riskscore as rs

    files = _Files()
    paths = _input_paths(args, files, need_cases=True)
    model = _model_arg(files, args.model, args.model_sha256)
    html_path = _report_path(files, "--out", args.out)
    events, cases = _read_events_cases(args, paths)
    cv = _cv_value(args.cv)
    card = getattr(model, "model_card_", None) or getattr(model, "model_card", None) or {}
    mapping = getattr(model, "points_to_risk_", None) or card.get("points_to_risk")
    if cv is None and model.score_scale == "points" and not mapping:
        # the library's message speaks of refit=True; say it in the command's own terms
        raise CommandError(
            f"--cv none applies the model as it is, but {args.model} has no points-to-risk "
            "mapping, so its points give no probabilities. Fix: use --cv 5 (or another "
            "number of folds), which keeps the points and fits only the mapping on "
            "training folds."
        )
    # evaluate on the grid and horizon the model was built for, unless told otherwise
    outcome = card.get("outcome") if isinstance(card.get("outcome"), dict) else {}
    grid = args.grid or outcome.get("as_of_grid") or DEFAULT_GRID
    horizon = args.horizon or outcome.get("horizon_days") or 365
    if (args.grid is None and outcome.get("as_of_grid")) or (
        args.horizon is None and outcome.get("horizon_days")
    ):
        print(f"grid {grid} and horizon {horizon} days, as in the model card")
    in_sample = cv is None and _in_sample(model, args)
    print(NOTICE)
    with _about(None):
        ts = rs.make_training_set(events, cases, grid=grid, horizon=int(horizon))
        result = rs.evaluate(
            model,
            ts,
            cv=cv,
            n_boot=args.n_boot,
            cases=cases,
            random_state=args.random_state,
            progress=True,
            refit=cv is not None,
        )
    warning = None
    if in_sample:
        warning = (
            "IN-SAMPLE: EVENTS and --cases are the files this model was trained on, and "
            "--cv none applies it as it is, so these figures describe its own training "
            "data and overstate how it would do on new children. Fix: use --cv 5 (refits "
            "on training folds), or evaluate on other data."
        )
    elif cv is None:
        warning = (
            "--cv none applies the model as it is: the figures are out-of-sample only if "
            "none of these records were used to build it."
        )
    if warning:
        result.design["notes"] = [warning, *result.design.get("notes", [])]
        _warn(args.command, warning)
    with _writing("--out", html_path):
        html = rs.write_report(result, html_path)
    print(f"Validation ({result.design.get('validation', '')}):")
    print(_metrics_text(result.metrics))
    print(f"evaluation report: {html}")
    return EXIT_OK


def cmd_build_synthetic_model(args) -> int:
    from riskscore.training import SYNTHETIC_MODELS, build_synthetic_model

    files = _Files()
    out = _model_path(files, "--out", args.out or f"models/{args.name}.json")
    print(NOTICE)
    with _about(None):
        model, evaluation = build_synthetic_model(
            out,
            name=args.name,
            n_cases=args.n_cases,
            random_state=args.random_state,
            created=args.created or SYNTHETIC_MODELS[args.name][2],
            progress=True,
        )
    print(f"synthetic demonstration model written to {out} (SHA-256 in {out.name}.sha256)")
    print(_metrics_text(evaluation.metrics))
    return EXIT_OK


def cmd_model(args) -> int:
    import riskscore as rs

    if args.name is None:
        print(NOTICE)
        for name in rs.shipped_models():
            print(name)
        return EXIT_OK
    model = _model_arg(_Files(), args.name, args.model_sha256, option="MODEL")
    print(model)
    return EXIT_OK


# --------------------------------------------------------------------------- options


def _arg_type(name: str):
    """Decorator: an argparse type whose refusals are ArgumentTypeErrors (one line)."""

    def wrap(fn):
        def check(text: str):
            try:
                return fn(text)
            except (ValueError, TypeError, ParameterError) as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None

        check.__name__ = name
        return check

    return wrap


def _int_in(low: int, high: int | None = None, what: str = "a whole number"):
    @_arg_type("int")
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < low or (high is not None and value > high):
            bound = f"at least {low:,}" if high is None else f"from {low:,} to {high:,}"
            raise argparse.ArgumentTypeError(f"{text!r}: give {what} {bound}")
        return value

    return check


@_arg_type("grid")
def _grid(text: str) -> str:
    value = f"{text}D" if text.isdigit() else text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' deprecated unit spellings ("24H")
            days = step_days(value)
            exact = pd.Timedelta(value) == pd.Timedelta(days=days)
    except (ParameterError, ValueError):
        exact = False
    if not exact:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a step of whole days; give e.g. 14D, 30D or 90D (calendar "
            "months are not a fixed number of days: use 30D)"
        )
    return f"{days}D"  # one spelling for the library and for provenance


@_arg_type("number")
def _penalty_C(text: str) -> float:
    """A positive C that a model file can hold (save_model refuses others after the fit)."""
    low, high = MODEL_LIMITS["C"]
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a positive number from {low:g} to {high:g} (a model file holds "
            "no other)"
        )
    return value


def _cv(allow_none: bool):
    choices = (
        "a number of folds (2 or more), 'temporal' or 'none'"
        if allow_none
        else ("a number of folds (2 or more) or 'temporal'")
    )

    @_arg_type("cv")
    def check(text: str) -> str:
        if text in ("temporal",) or (allow_none and text == "none"):
            return text
        if text.isdigit() and int(text) >= 2:
            return text
        raise argparse.ArgumentTypeError(f"{text!r}: give {choices}")

    return check


@_arg_type("date")
def _iso_date(text: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise argparse.ArgumentTypeError(f"{text!r}: give an ISO date YYYY-MM-DD")
    pd.Timestamp(text)
    return text


@_arg_type("text")
def _one_line_text(text: str) -> str:
    if not text.strip() or not text.isprintable() or len(text) > 200:
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r}: give printable text of 1 to 200 characters"
        )
    return text


@_arg_type("sha256")
def _sha256(text: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raise argparse.ArgumentTypeError(
            "give the 64 hexadecimal digits of the file's SHA-256 (from its .sha256 file)"
        )
    return text


@_arg_type("encoding")
def _text_encoding(text: str) -> str:
    """A text encoding Python knows (rot13, hex or zlib are codecs, not text encodings)."""
    import codecs

    try:
        info = codecs.lookup(text)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a text encoding Python knows; give one such as utf-8 (the "
            "default, with or without a byte-order mark), cp1252 (Excel on Windows), "
            "latin-1 or utf-16"
        )
    return text


@_arg_type("format")
def _date_format(text: str) -> str:
    if "%" not in text:
        raise argparse.ArgumentTypeError(f"{text!r}: give a strptime format such as %d/%m/%Y")
    from datetime import datetime

    try:
        datetime.strptime("", text)  # compiles the format before matching anything
    except ValueError as exc:
        # "time data '' does not match format ...": a valid format (the text is empty)
        if not str(exc).startswith(("time data", "unconverted data")):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a valid strptime format ({_one_line(exc)}); give one such "
                "as %d/%m/%Y (directives: %d day, %m month, %Y year; %% for a literal %)"
            ) from None
    return text


# --------------------------------------------------------------------------- parser


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions and examples as written; shows real defaults only."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (
            "%(default)" not in text
            and action.option_strings
            and not any(default is v for v in (None, False, True, argparse.SUPPRESS))
            and action.nargs != 0
        ):
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """One-line usage errors (exit status 2) that say where the full help is."""

    def error(self, message: str):
        self.exit(
            EXIT_USAGE, f"{self.prog}: error: {_one_line(message)} (see: {self.prog} --help)\n"
        )


def _parent(*adders) -> argparse.ArgumentParser:
    """An argparse parent holding shared options (declared once, used by many commands)."""
    p = argparse.ArgumentParser(add_help=False)
    for add in adders:
        add(p)
    return p


def _opt_debug(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the Python traceback of an error (for reporting a bug)",
    )


def _opt_inputs(p: argparse.ArgumentParser, *, cases_required: bool = False) -> None:
    p.add_argument("events", metavar="EVENTS", help="events file (.csv, .csv.gz or .parquet)")
    p.add_argument(
        "--cases",
        required=cases_required,
        metavar="CASES",
        help="cases file (outcomes, outcome dates, follow-up ends)",
    )


def _opt_read(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dayfirst", action="store_true", help="dates are written day first (UK: 31/01/2101)"
    )
    p.add_argument(
        "--format",
        type=_date_format,
        metavar="FORMAT",
        help="explicit strptime format of the dates, e.g. %%d/%%m/%%Y",
    )
    p.add_argument(
        "--encoding",
        type=_text_encoding,
        help="text encoding of CSV files (default UTF-8, with or without BOM), e.g. cp1252",
    )
    p.add_argument(
        "--allow",
        action="append",
        metavar="COLUMN=REASON",
        help="pass a column the identifying-data guard misjudges, with the reason (kept "
        "in provenance); repeatable",
    )


def _opt_quarantine(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--quarantine",
        action="store_true",
        help="set rows that fail validation aside and go on with the rest (they are counted "
        "on screen; `riskscore validate` lists them); without it any problem stops the command",
    )


def _opt_model(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default="review-rules-v2",
        metavar="MODEL",
        help="a shipped model's name (see `riskscore model`), or a model file's path with a "
        "folder or .json (./my-model.json)",
    )
    p.add_argument(
        "--model-sha256",
        type=_sha256,
        metavar="HEX",
        help="refuse the model file unless its SHA-256 is this (from its .sha256 file)",
    )


def _opt_grid(p: argparse.ArgumentParser, default: str | None = DEFAULT_GRID) -> None:
    p.add_argument(
        "--grid",
        type=_grid,
        default=default,
        metavar="STEP",
        help="days between as-of dates, e.g. 14D or 90D (crossings are exact regardless)"
        + ("" if default else "; default: the model card's grid, else " + DEFAULT_GRID),
    )


def _opt_horizon(p: argparse.ArgumentParser, default: int | None = 365) -> None:
    p.add_argument(
        "--horizon",
        type=_int_in(1, 36_500, "a number of days"),
        default=default,
        metavar="DAYS",
        help="outcome horizon in days"
        + ("" if default else "; default: the model card's, else 365"),
    )


def _opt_recent(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--recent-window",
        type=_int_in(1, 364, "a number of days"),
        default=90,
        metavar="DAYS",
        help="window of the recent attendance feature, in days",
    )


#: Fewest bootstrap replicates that give an interval: with fewer, a 95% percentile
#: interval rests on one or two draws and need not even contain its estimate.
MIN_BOOT = 20


@_arg_type("int")
def _n_boot(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value != 0 and not MIN_BOOT <= value <= MAX_BOOT:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give 0 for no intervals, or at least {MIN_BOOT} replicates (up to "
            f"{MAX_BOOT:,}); fewer give intervals that need not contain their estimate"
        )
    return value


def _opt_validation(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--n-boot",
        type=_n_boot,
        default=200,
        metavar="N",
        help=f"bootstrap replicates, resampling children: 0 for no intervals, or at least "
        f"{MIN_BOOT} (up to {MAX_BOOT:,})",
    )
    p.add_argument(
        "--random-state",
        type=_int_in(0, 2**32 - 1, "a seed"),
        default=0,
        metavar="SEED",
        help="seed of the folds and the bootstrap",
    )


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="riskscore",
        description=textwrap.fill(NOTICE, 79)
        + "\n\n"
        + textwrap.fill(
            "Each command has its own --help with examples. Exit status: 0 done, 1 a "
            "problem in the data, 2 an option or path to change.",
            79,
        ),
        epilog=_examples(
            "riskscore demo                       # try everything on synthetic data",
            "riskscore validate riskscore-demo/events.csv --cases riskscore-demo/cases.csv",
            "riskscore model review-rules-v2      # the default scorecard's score sheet",
        ),
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"riskscore {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an error"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    debug = _parent(_opt_debug)
    inputs = _parent(_opt_inputs, _opt_read)
    inputs_with_cases = _parent(lambda p: _opt_inputs(p, cases_required=True), _opt_read)
    quarantine = _parent(_opt_quarantine)
    model, grid, horizon = _parent(_opt_model), _parent(_opt_grid), _parent(_opt_horizon)
    recent = _parent(_opt_recent)
    validation = _parent(_opt_validation)

    def command(name, parents, help, description, examples):
        paragraphs = [textwrap.fill(par, 79) for par in description.split("\n")]
        return sub.add_parser(
            name,
            parents=[*parents, debug],
            help=help,
            description="\n\n".join(paragraphs),
            epilog=_examples(*examples),
            formatter_class=_Formatter,
        )

    p = command(
        "demo",
        [],
        "audit the fictional Child A and a synthetic cohort; write reports and data files",
        "Builds the synthetic cohort and the fictional Child A vignette, audits both with "
        "the default scorecard, writes HTML reports and disclosure-controlled tables, and "
        "prints a summary.\nIt also writes the synthetic cohort as events.csv and cases.csv "
        "in the output folder, so that every other command can be tried on them; it refuses to "
        "replace an events.csv or cases.csv already there (unless an earlier demo wrote "
        "them) without --overwrite.",
        [
            "riskscore demo",
            "riskscore demo --out demo --n-cases 500",
            "riskscore encode riskscore-demo/events.csv --out features.csv",
        ],
    )
    p.add_argument("--out", default="riskscore-demo", metavar="FOLDER", help="output folder")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace events.csv and cases.csv already in --out that an earlier demo did "
        "not write (without it the demo refuses, as they could be real data); its reports "
        "and tables are always replaced",
    )
    p.add_argument(
        "--n-cases",
        type=_int_in(50, 1_000_000, "a number of cases"),
        default=2000,
        metavar="N",
        help="synthetic cohort size",
    )
    p.add_argument(
        "--random-state",
        type=_int_in(0, 2**32 - 1, "a seed"),
        default=0,
        metavar="SEED",
        help="seed of the synthetic cohort",
    )
    p.set_defaults(func=cmd_demo)

    p = command(
        "validate",
        [inputs],
        "check events (and cases) files against the data contract",
        "Lists every problem at once: column, rows, what is wrong and how to fix it. Data "
        "that looks identifying (names, NHS numbers, postcodes, dates of birth, free text) "
        "is refused unless allowed with --allow. Exit status 1 when problems are found.",
        [
            "riskscore validate events.csv --cases cases.csv",
            "riskscore validate events.csv --dayfirst          # dates written 31/01/2101",
            "riskscore validate events.csv --allow 'site_code=hospital site codes'",
        ],
    )
    p.set_defaults(func=cmd_validate)

    p = command(
        "encode",
        [inputs, quarantine, grid, recent],
        "point-in-time features on a per-case grid",
        "Computes every catalogue feature as it could have been known on each as-of date "
        "(one row per case and date) and writes a CSV or Parquet table. Case-level: the "
        "sidecar .provenance.json says it must stay in the secure environment.",
        [
            "riskscore encode events.csv --cases cases.csv --out features.csv",
            "riskscore encode events.csv --grid 30D --agency school --out school.parquet",
        ],
    )
    p.add_argument("--out", required=True, metavar="FILE", help="output table (.csv or .parquet)")
    p.add_argument(
        "--agency",
        choices=list(AGENCIES),
        metavar="AGENCY",
        help="encode one agency's view only: " + ", ".join(AGENCIES),
    )
    p.set_defaults(func=cmd_encode)

    p = command(
        "score",
        [model],
        "score a feature table with a model: score, probability, band, contributions",
        "Scores every row of a feature table from `riskscore encode`. Writes the score "
        "(points for scorecards, log-odds for logistic models), the predicted probability "
        "(logistic models, and scorecards that carry a points-to-risk mapping), the audit "
        "band and each rule's or feature's contribution. Case-level output.",
        [
            "riskscore score features.csv --out scores.csv",
            "riskscore score features.csv --model synthetic-logistic-v1 --out scores.csv",
            "riskscore score features.parquet --model ./my-model.json --out scores.parquet",
        ],
    )
    p.add_argument("features", metavar="FEATURES", help="feature table from `riskscore encode`")
    p.add_argument("--out", required=True, metavar="FILE", help="output table (.csv or .parquet)")
    p.set_defaults(func=cmd_score)

    p = command(
        "audit",
        [inputs, quarantine, model, grid, horizon, recent],
        "audit one case (--case) or a cohort; HTML report and CSV tables",
        "With --case: one case's trajectory, band crossings, missed opportunities and who "
        "held each contributing fact (individual-level output, for the secure environment). "
        "Without: a cohort audit whose tables pass disclosure control before they are "
        "written. Every file goes inside --out.",
        [
            "riskscore audit events.csv --cases cases.csv --out audit",
            "riskscore audit events.csv --cases cases.csv --case CASE-000001 --out audit",
            "riskscore audit events.csv --cases cases.csv --model synthetic-logistic-v1",
        ],
    )
    p.add_argument("--case", type=_one_line_text, metavar="CASE_ID", help="audit this case only")
    p.add_argument("--out", default="riskscore-audit", metavar="FOLDER", help="output folder")
    p.add_argument(
        "--response-window",
        type=_int_in(0, 3650, "a number of days"),
        default=28,
        metavar="DAYS",
        help="days after a crossing in which a response counts",
    )
    p.add_argument(
        "--min-count",
        type=_int_in(1, 1000, "a count"),
        default=10,
        metavar="N",
        help="suppress counts below this",
    )
    p.add_argument(
        "--round-to",
        type=_int_in(1, 1000, "a count"),
        default=5,
        metavar="N",
        help="round published counts to this base",
    )
    p.add_argument(
        "--no-disclosure",
        action="store_true",
        help="turn disclosure control off (outputs then say they must stay inside)",
    )
    p.set_defaults(func=cmd_audit)

    p = command(
        "train",
        [inputs_with_cases, quarantine, grid, horizon, validation],
        "fit and validate a logistic model; write a JSON model with its model card",
        "Fits a logistic model on point-in-time features and outcome labels, validates it "
        "with folds grouped by child (or a temporal split), and writes the model file, its "
        "SHA-256 (.sha256 beside it) and, with --report, an HTML evaluation report.",
        [
            "riskscore train events.csv --cases cases.csv --out my-model.json",
            "riskscore train events.csv --cases cases.csv --out m.json --grid 90D --report m.html",
        ],
    )
    p.add_argument("--out", required=True, metavar="FILE", help="output model file (.json)")
    p.add_argument("--report", metavar="FILE", help="also write an HTML evaluation report here")
    p.add_argument(
        "--penalty", choices=["none", "l2", "l1"], default="l2", help="coefficient penalty"
    )
    p.add_argument("--C", type=_penalty_C, default=1.0, help="inverse penalty strength")
    p.add_argument(
        "--balanced", action="store_true", help="balanced class weights (recalibrated afterwards)"
    )
    p.add_argument(
        "--cv",
        type=_cv(allow_none=False),
        default="5",
        metavar="FOLDS",
        help="folds grouped by case (2 or more), or 'temporal'",
    )
    p.add_argument("--name", type=_one_line_text, help="model name for the model card")
    p.set_defaults(func=cmd_train)

    p = command(
        "evaluate",
        [
            inputs_with_cases,
            quarantine,
            model,
            _parent(lambda q: _opt_grid(q, default=None)),
            _parent(lambda q: _opt_horizon(q, default=None)),
            validation,
        ],
        "evaluate any model on a dataset; write an HTML evaluation report",
        "Discrimination, calibration, decision curves and alert rates with intervals that "
        "resample children. With folds (--cv 5) the model is refitted on training folds; "
        "--cv none applies it as it is, which is out-of-sample only on data it never saw "
        "(the command warns when the files are the ones it was trained on).",
        [
            "riskscore evaluate events.csv --cases cases.csv --model review-rules-v1 --cv 5",
            "riskscore evaluate events.csv --cases cases.csv --model ./my-model.json --cv none "
            "--out eval.html",
        ],
    )
    p.add_argument("--out", default="evaluation.html", metavar="FILE", help="output HTML report")
    p.add_argument(
        "--cv",
        type=_cv(allow_none=True),
        default="5",
        metavar="FOLDS",
        help="folds grouped by case (2 or more), 'temporal', or 'none' to apply as it is",
    )
    p.set_defaults(func=cmd_evaluate)

    p = command(
        "build-synthetic-model",
        [],
        "rebuild a shipped models/synthetic-logistic-v*.json exactly",
        "Fits and validates a synthetic demonstration model; with the defaults it "
        "reproduces the shipped file (every text exactly, numbers to 1e-9: their last "
        "digits depend on the BLAS) and writes its SHA-256 beside it. --name picks the "
        "model: v1 (generator 1 cohort, the first 18 features) or v2 (generator 2, all "
        "21). Takes a few minutes.",
        [
            "riskscore build-synthetic-model",
            "riskscore build-synthetic-model --name synthetic-logistic-v2",
            "riskscore build-synthetic-model --out check.json",
        ],
    )
    p.add_argument(
        "--name",
        default="synthetic-logistic-v1",
        choices=["synthetic-logistic-v1", "synthetic-logistic-v2"],
        help="which shipped model to rebuild",
    )
    p.add_argument(
        "--out", default=None, metavar="FILE", help="model file (default: models/NAME.json)"
    )
    p.add_argument(
        "--n-cases",
        type=_int_in(100, 10_000_000, "a number of cases"),
        default=20_000,
        metavar="N",
        help="synthetic cohort size",
    )
    p.add_argument(
        "--random-state",
        type=_int_in(0, 2**32 - 1, "a seed"),
        default=2101,
        metavar="SEED",
        help="seed of the synthetic cohort",
    )
    p.add_argument(
        "--created",
        type=_iso_date,
        default=None,
        help="date written into the model card (default: the shipped file's)",
    )
    p.set_defaults(func=cmd_build_synthetic_model)

    p = command(
        "model",
        [],
        "list shipped models, or print one as a score sheet",
        "Without MODEL: the names of the shipped models. With MODEL: its score sheet (rules "
        "and points, or coefficients and odds ratios, with the bands). A name without a "
        "folder or .json is always a shipped model; a file needs its path.",
        [
            "riskscore model",
            "riskscore model review-rules-v2",
            "riskscore model ./my-model.json --model-sha256 <digest from my-model.json.sha256>",
        ],
    )
    p.add_argument("name", nargs="?", metavar="MODEL", help="shipped name or model file path")
    p.add_argument(
        "--model-sha256",
        type=_sha256,
        metavar="HEX",
        help="refuse the model file unless its SHA-256 is this",
    )
    p.set_defaults(func=cmd_model)
    return parser


# --------------------------------------------------------------------------- main


def _quiet_stdout() -> None:
    """After a closed pipe: send what is left to /dev/null so exit does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file descriptor (e.g. captured in tests)


def _orphan_events_message(exc: BaseException, args) -> str | None:
    """Events whose child is not in --cases, said in file terms, or None.

    The library's report counts rows from 0 in the events it was handed (those that
    passed validation), which are not the file's line numbers; the command names the
    two files and the command that lists the lines instead.
    """
    report = getattr(exc, "report", None)
    problems = getattr(report, "problems", None)
    events, cases = getattr(args, "events", None), getattr(args, "cases", None)
    if problems is None or not len(problems) or events is None or cases is None:
        return None
    orphans = problems[problems["check"] == "case_id_not_in_cases"]
    if not len(orphans):
        return None
    n = int(orphans["n_rows"].iloc[0])
    return (
        f"EVENTS {events}: {n:,} event row(s) have a case_id that is not in --cases "
        f"{cases}. Fix: add a row to --cases for each of those children, or remove their "
        f"events; `riskscore validate {events} --cases {cases}` lists them by file line."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``riskscore`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_USAGE
    command, debug = args.command, bool(getattr(args, "debug", False))
    try:
        with _one_line_warnings(command):
            status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at exit
        return status
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_DATA
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"riskscore {command}: interrupted", file=sys.stderr)
        return 130
    except CommandError as exc:
        if debug:
            raise
        text = _orphan_events_message(exc.__cause__, args) or exc
        print(f"riskscore {command}: error: {_one_line(text)}", file=sys.stderr)
        return exc.status
    except RiskscoreError as exc:
        if debug:
            raise
        status = EXIT_USAGE if isinstance(exc, ParameterError) else EXIT_DATA
        text = _orphan_events_message(exc, args) or cli_terms(exc)
        print(f"riskscore {command}: error: {_one_line(text)}", file=sys.stderr)
        return status
    except Exception as exc:  # noqa: BLE001 - the user sees one line, never a traceback
        if debug:
            raise
        print(
            f"riskscore {command}: error: internal error ({type(exc).__name__}: "
            f"{_one_line(exc)[:300]}). Rerun with --debug to see where, and report it.",
            file=sys.stderr,
        )
        return EXIT_DATA


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
