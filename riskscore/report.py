"""Self-contained HTML reports: one renderer, jinja2 templates, page data built once.

Every HTML page riskscore writes goes through :func:`render_page`: a
:class:`Page` (title, notices, sections of tables, figures and facts, all already
formatted for reading) is rendered by the package's jinja2 templates
(``riskscore/templates``, autoescaping on) into one file that opens offline in any
browser. The renderer is the one place that

* sets the Content-Security-Policy (:data:`CSP`: nothing may be fetched; images
  only from ``data:`` URIs, styles only inline);
* checks every published table with :func:`riskscore.disclosure.check_publishable`
  (a table edited after disclosure control is refused) and refuses
  individual-level tables on a page meant for release;
* adds the *not for release* banner when a published table was made without
  disclosure control, and the *synthetic or fictional data* banner when the
  result or its inputs carry the synthetic mark
  (:func:`riskscore.disclosure.is_synthetic`).

The case, cohort and evaluation page builders read a result object and format its
numbers (display names and number formats from :mod:`riskscore._names`); they
never recompute an audit (compute once, render many). Every page says at the top
that it is a retrospective audit and not a decision about any person; a case page
also says that it is individual-level and must stay inside the secure environment.

New result types plug in with :func:`register_report`: a builder returns a
:class:`Page`, never HTML.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskscore import plots
from riskscore._cohort_tables import TABLE_SPEC
from riskscore._names import (
    ONLY_WHEN_JOINED,
    agency_name,
    band_name,
    column_meaning,
    column_name,
    display,
    feature_name,
    fmt_count,
    fmt_date,
    fmt_days,
    fmt_interval,
    fmt_number,
    fmt_percent,
    fmt_share,
    metric_name,
    outcome_name,
    quintile_name,
    rule_name,
)
from riskscore._params import validate_params
from riskscore._paths import output_file, writing
from riskscore._version import __version__
from riskscore.audit import CASE_LEVEL_NOTICE, NOTICE, CaseAudit, CohortAudit
from riskscore.contract import model_name, score_scale
from riskscore.disclosure import (
    DISCLOSURE_ATTR,
    SYNTHETIC_ATTR,
    UNDISCLOSED_WARNING,
    check_publishable,
    disclosure_manifest,
    is_synthetic,
    provenance,
)
from riskscore.errors import DisclosureError, ParameterError
from riskscore.evaluation import EvaluationResult
from riskscore.schema import allowed_columns
from riskscore.vocabulary import BANDS

__all__ = [
    "write_report",
    "render_html",
    "render_page",
    "register_report",
    "Page",
    "Section",
    "Notice",
    "Table",
    "Header",
    "Cell",
    "Figure",
    "Facts",
    "Cards",
    "Card",
    "Paragraph",
    "Items",
    "Code",
    "Details",
    "CSP",
    "UNDISCLOSED_BANNER",
]

#: Banner of a report holding a table made without disclosure control.
UNDISCLOSED_BANNER = "DISCLOSURE CONTROL OFF - NOT FOR RELEASE"

#: Content-Security-Policy of every page: nothing may be fetched; images only from
#: ``data:`` URIs, styles only inline.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


# --------------------------------------------------------------------------- page data


@dataclass
class Notice:
    """A notice at the top of a page; ``kind`` is info, warn, fiction or danger."""

    headline: str
    text: str = ""
    kind: str = "info"


@dataclass
class Cell:
    """One table cell, already formatted; ``details`` is text one click away."""

    text: str
    cls: str = ""
    title: str = ""
    details: str = ""


@dataclass
class Header:
    text: str
    title: str = ""


@dataclass
class Table:
    """A table as shown.

    ``level`` says what it is: ``"published"`` (a disclosure-stamped table,
    ``source``, checked by the renderer), ``"statistics"`` (estimates with no
    counts) or ``"individual"`` (case-level: allowed only on an individual-level
    page).
    """

    id: str
    columns: list[Header]
    rows: list[list[Cell]]
    level: str = "published"
    source: pd.DataFrame | None = None
    row_classes: list[str] | None = None
    note: str = ""
    kind: str = field(default="table", init=False)


@dataclass
class Figure:
    """A matplotlib figure embedded as a PNG ``data:`` URI, with alt text and caption."""

    png: str
    alt: str
    caption: str
    width: int
    height: int
    kind: str = field(default="figure", init=False)


@dataclass
class Facts:
    items: list[tuple[str, str]]
    kind: str = field(default="facts", init=False)


@dataclass
class Card:
    label: str
    value: str
    note: str = ""


@dataclass
class Cards:
    items: list[Card]
    kind: str = field(default="cards", init=False)


@dataclass
class Paragraph:
    text: str
    cls: str = "lead"
    id: str = ""
    kind: str = field(default="text", init=False)


@dataclass
class Items:
    items: list[str]
    id: str = ""
    kind: str = field(default="list", init=False)


@dataclass
class Code:
    text: str
    kind: str = field(default="code", init=False)


@dataclass
class Details:
    """Blocks folded under a one-line summary (one click away)."""

    summary: str
    blocks: list
    open: bool = False
    kind: str = field(default="details", init=False)


@dataclass
class Section:
    id: str
    heading: str
    blocks: list = field(default_factory=list)
    lead: str = ""


@dataclass
class Page:
    """Everything one report shows, formatted; :func:`render_page` turns it into HTML.

    ``subjects`` are the objects whose synthetic mark decides the synthetic-data
    banner (the result and its inputs); ``individual_level`` pages may hold
    case-level tables and say they must stay in the secure environment.
    """

    title: str
    notices: list[Notice]
    sections: list[Section]
    footer: str
    individual_level: bool = False
    subjects: tuple = ()
    contents: bool = True


# --------------------------------------------------------------------------- renderer

_ENV = None


def _environment():
    global _ENV
    if _ENV is None:
        import jinja2

        _ENV = jinja2.Environment(
            loader=jinja2.PackageLoader("riskscore", "templates"),
            autoescape=True,  # every value is text unless a template says otherwise
            undefined=jinja2.StrictUndefined,
            trim_blocks=False,
            keep_trailing_newline=True,
        )
    return _ENV


def _blocks(blocks: Iterable) -> Iterable:
    for block in blocks:
        yield block
        if isinstance(block, Details):
            yield from _blocks(block.blocks)


def _tables(page: Page) -> list[Table]:
    return [b for s in page.sections for b in _blocks(s.blocks) if isinstance(b, Table)]


def _synthetic_notice(subjects: tuple) -> Notice | None:
    if not subjects or not is_synthetic(*subjects):
        return None
    note = ""
    for obj in subjects:
        attrs = getattr(obj, "attrs", None)
        if isinstance(attrs, dict) and isinstance(attrs.get(SYNTHETIC_ATTR), str):
            note = attrs[SYNTHETIC_ATTR]
            break
    fictional = "fictional" in note.lower()
    return Notice(
        "Fictional case: not a real child." if fictional else "Synthetic data: invented children.",
        note or "Made from synthetic data; it is not about any real child or family.",
        "fiction",
    )


def _check_published(published: dict[str, pd.DataFrame]) -> list[str]:
    """The disclosure check of every table a page publishes; the ids of undisclosed ones.

    Each table must carry a disclosure stamp and obey it
    (:func:`riskscore.disclosure.check_publishable`): a table edited after disclosure
    control is refused here, before anything is written.
    """
    # the library's one check before tables leave together (riskscore.check_publishable):
    # stamps, counts, rates from published counts, statistics, one setting
    return check_publishable(published)["undisclosed"]


def _refuse_unshown(text: Any, what: str, fix: str) -> None:
    """Refuse caller text shown in a report that holds a character acted on, not shown.

    A right-to-left override (U+202E), a zero-width or a control character can make a
    title or a model name read as something else than what it is.
    """
    from riskscore._privacy_rules import unshown_character

    if text is None:
        return
    hidden = unshown_character(str(text))
    if hidden:
        raise ParameterError(
            f"write_report: {what} {str(text)!r} holds {hidden}, a character that is acted on "
            "rather than shown (it can reverse or hide text, so a reviewer would read "
            f"something else). Fix: {fix}"
        )


def _shown_name(value: Any) -> str:
    """A model name for a report, refused if it holds a character not shown.

    Line breaks are only layout (a long estimator's description wraps), so runs of
    white space are not refused; a right-to-left override or a zero-width space is.
    """
    _refuse_unshown(
        " ".join(str(value).split()),
        "the model name",
        "give the model a name of plain visible characters (name=...)",
    )
    return str(value)


def render_page(page: Page) -> str:
    """Render a :class:`Page` to HTML: the one place every riskscore page goes through.

    Checks every published table with :func:`riskscore.disclosure.check_publishable`,
    refuses individual-level tables on a page meant for release, adds the
    not-for-release and synthetic-data banners where they apply, and renders the
    package's templates with the Content-Security-Policy :data:`CSP`.

    Parameters
    ----------
    page : Page

    Returns
    -------
    str
        The whole HTML document.

    Raises
    ------
    DisclosureError
        A published table without a disclosure stamp, or publishing counts its stamp
        forbids; or a case-level table on a page meant for release.

    Examples
    --------
    >>> page = Page("A note", [Notice("Research only.")], [Section("one", "One",
    ...             [Paragraph("Nothing to see.")])], footer="Research only.")
    >>> html = render_page(page)
    >>> "Content-Security-Policy" in html and "Nothing to see." in html
    True
    """
    if not isinstance(page, Page):
        raise ParameterError(
            f"a report builder must return a riskscore.report.Page, got {type(page).__name__}"
        )
    _refuse_unshown(page.title, "the title", "pass a title= of plain visible characters")
    for section in page.sections:
        _refuse_unshown(
            section.heading,
            f"the heading of section {section.id!r}",
            "use a heading of plain visible characters",
        )
    published = {}
    for t in _tables(page):
        if t.level == "published":
            if t.source is None:
                raise DisclosureError(f"table {t.id!r} is marked published but has no source table")
            published[t.id] = t.source
        elif t.level == "individual" and not page.individual_level:
            raise DisclosureError(
                f"table {t.id!r} is individual-level but the page is meant for release"
            )
    undisclosed = _check_published(published)
    notices = list(page.notices)
    if undisclosed and not any(n.kind == "danger" for n in notices):
        notices.insert(
            0,
            Notice(
                UNDISCLOSED_BANNER,
                f"{UNDISCLOSED_WARNING}. Tables made with disclosure=False show small counts "
                "unsuppressed and unrounded.",
                "danger",
            ),
        )
    synthetic = _synthetic_notice(page.subjects)
    if synthetic is not None:
        notices.append(synthetic)
    shown = Page(**{**page.__dict__, "notices": notices})
    template = _environment().get_template("page.html.j2")
    return template.render(page=shown, csp=CSP, version=__version__)


# --------------------------------------------------------------------------- dispatch

_Builder = Callable[[Any, "str | None"], Page]
_BUILDERS: dict[type, _Builder] = {}


def register_report(kind: type, builder: _Builder | None = None):
    """Register the page builder of a result type, for :func:`write_report` to dispatch to.

    Parameters
    ----------
    kind : type
        The result class (subclasses dispatch to it too).
    builder : callable, optional
        ``builder(result, title) -> Page``; the page is rendered by
        :func:`render_page`. When omitted, ``register_report`` works as a decorator.

    Returns
    -------
    callable
        The builder (so it can decorate).

    Examples
    --------
    >>> class Note:
    ...     text = "hello"
    >>> @register_report(Note)
    ... def _note_page(note, title):
    ...     return Page(title or "A note", [Notice("Research only.")],
    ...                 [Section("note", "Note", [Paragraph(note.text)])], "Research only.")
    >>> import tempfile, pathlib
    >>> p = write_report(Note(), pathlib.Path(tempfile.mkdtemp()) / "note.html")
    >>> "hello" in p.read_text()
    True
    """
    if builder is None:
        return lambda func: register_report(kind, func)
    _BUILDERS[kind] = builder
    return builder


def render_html(result: Any, *, title: str | None = None) -> str:
    """The whole HTML page of a result (what :func:`write_report` writes).

    Parameters
    ----------
    result : CaseAudit, CohortAudit or EvaluationResult
        Any type with a registered builder (see :func:`register_report`).
    title : str, optional
        Page title (a default names the case, the cohort or the evaluation).

    Returns
    -------
    str

    Raises
    ------
    TypeError
        When no builder is registered for the result's type.
    DisclosureError
        When a table meant for release has no disclosure stamp, or publishes counts
        its stamp forbids (a table edited after disclosure control).

    Examples
    --------
    >>> from riskscore.evaluation import example_result
    >>> "Content-Security-Policy" in render_html(example_result())
    True
    """
    _refuse_unshown(title, "the title", "pass a title= of plain visible characters")
    for cls in type(result).__mro__:
        if cls in _BUILDERS:
            return render_page(_BUILDERS[cls](result, title))
    known = ", ".join(sorted(k.__name__ for k in _BUILDERS))
    raise ParameterError(
        f"write_report() has no renderer for {type(result).__name__}; it renders {known}. "
        "Pass the result of riskscore.audit_case, riskscore.audit_cohort or riskscore.evaluate, "
        "or register a page builder with riskscore.report.register_report."
    )


@validate_params({"path": ["path"], "title": [str, None]})
def write_report(result: Any, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Write a self-contained HTML report of an audit or evaluation result.

    Parameters
    ----------
    result : CaseAudit, CohortAudit or EvaluationResult
        From :func:`riskscore.audit_case`, :func:`riskscore.audit_cohort` or
        :func:`riskscore.evaluate` (other result types may be added with
        :func:`register_report`).
    path : str or path
        The HTML file to write; parent folders are created.
    title : str, optional
        Page title (a default names the case, the cohort or the evaluation).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    TypeError
        When no builder is registered for the result's type.
    DisclosureError
        When a table meant for release has no disclosure stamp, or publishes counts
        its stamp forbids (a table edited after disclosure control).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from riskscore.audit import audit_case
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.synthetic import vignette
    >>> events, cases = vignette()
    >>> audit = audit_case(events, cases, default_scorecard(), "CHILD-A")
    >>> out = write_report(audit, pathlib.Path(tempfile.mkdtemp()) / "child_a.html")
    >>> "not a decision about any child or family" in out.read_text()
    True
    """
    path = output_file(path, "write_report")
    page = render_html(result, title=title)
    with writing(path, "write_report"):
        path.write_text(page, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- building blocks

_DASH = "\u2013"
_SUPPRESSED_CELL = Cell("[c] suppressed", "suppressed", "suppressed by disclosure control")


def _missing(v: Any) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _num(values: Iterable, fmt: Callable[[Any], str] = fmt_number, suppressed=None) -> list[Cell]:
    """Numeric cells; a missing value is "[c] suppressed" if disclosure hid it, else a dash."""
    values = list(values)
    mask = np.zeros(len(values), dtype=bool) if suppressed is None else np.asarray(suppressed)
    out = []
    for v, hidden in zip(values, mask, strict=True):
        if _missing(v):
            out.append(_SUPPRESSED_CELL if hidden else Cell(_DASH, "na"))
        else:
            out.append(Cell(fmt(v), "num"))
    return out


def _text(values: Iterable, fmt: Callable[[Any], str] = str) -> list[Cell]:
    return [Cell(_DASH, "na") if _missing(v) else Cell(fmt(v)) for v in values]


def _header(code: str, text: str | None = None) -> Header:
    meaning = column_meaning(code)
    return Header(text or column_name(code), meaning)


def _table(
    table_id: str,
    columns: list[tuple[Header | str, list[Cell]]],
    *,
    level: str = "published",
    source: pd.DataFrame | None = None,
    row_classes: list[str] | None = None,
    note: str = "",
) -> Table:
    headers = [h if isinstance(h, Header) else Header(h) for h, _ in columns]
    cells = [c for _, c in columns]
    n = len(cells[0]) if cells else 0
    rows = [[col[i] for col in cells] for i in range(n)]
    return Table(table_id, headers, rows, level, source, row_classes, note)


def _figure(fig, alt: str, caption: str) -> Figure:
    """Embed a matplotlib Figure as a PNG data URI (Agg canvas, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    canvas = FigureCanvasAgg(fig)
    # the full width always (figures drawn on one date axis stay aligned), and as much
    # height as legends placed under the axes need
    tight = fig.get_tightbbox(canvas.get_renderer())
    w, h = fig.get_figwidth(), fig.get_figheight()
    box = Bbox.from_extents(0, min(tight.y0, 0) - 0.05, w, max(tight.y1, h))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="white", bbox_inches=box)
    data = buf.getvalue()
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return Figure(base64.b64encode(data).decode("ascii"), alt, caption, width, height)


def _new_figure(width: float, height: float, *, layout: str | None = "constrained"):
    from matplotlib.figure import Figure as MplFigure

    return MplFigure(figsize=(width, height), layout=layout)


def _provenance_block(record: dict) -> Details:
    return Details(
        "Provenance record (machine-readable, for output checkers)",
        [Code(json.dumps(record, indent=2, default=str))],
    )


_PARAMETER_NAMES = {
    "grid": ("trajectory drawn every", lambda v: _grid_text(v)),
    "response_window": ("response window", fmt_days),
    "recent_window": ("recent attendance window", fmt_days),
    "min_gap": ("days below a band before a return counts as a new crossing", fmt_days),
    "horizon": ("horizon for false alarms", fmt_days),
    "horizon_days": ("horizon", fmt_days),
    "chunk_size": ("cases processed at a time (no effect on results)", fmt_count),
    "model": ("model", _shown_name),
    "coverage": ("coverage", str),
    "engine": ("computed with", str),
    "n_partitions": ("partitions (no effect on results)", fmt_count),
    "allowed": (
        "columns allowed past the identifying-data guard",
        lambda v: "; ".join(f"{k} ({why})" for k, why in dict(v).items()),
    ),
}


def _grid_text(value: Any) -> str:
    text = str(value)
    m = re.fullmatch(r"(\d+)D", text)
    if m:
        return fmt_days(int(m[1]))
    if text.isdigit():
        return fmt_days(int(text))
    return text


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _parameter_facts(params: dict) -> list[tuple[str, str]]:
    out = []
    for key, value in params.items():
        name, fmt = _PARAMETER_NAMES.get(key, (display(key), str))
        out.append((_capital(name), fmt(value)))
    return out


# --------------------------------------------------------------------------- case


def _rules_by_label(model) -> dict[str, Any]:
    return {r.label: r for r in getattr(model, "rules", ()) or ()}


def _contributor_cell(code: str, rules: dict[str, Any]) -> Cell:
    rule = rules.get(code)
    if rule is not None:
        why = rule.rationale or "No rationale recorded."
        held = ", ".join(agency_name(a) for a in rule.agencies)
        return Cell(
            rule_name(code),
            details=f"{why} Held by: {held}." if held else why,
        )
    return Cell(feature_name(code))


def _holders_text(value: str) -> str:
    return agency_name(ONLY_WHEN_JOINED) if value == ONLY_WHEN_JOINED else agency_name(value)


def _case_page(audit: CaseAudit, title: str | None) -> Page:
    scale = score_scale(audit.model)
    title = title or f"Retrospective audit of case {audit.case_id}"
    notices = [
        Notice("Retrospective audit - not a decision about any person.", NOTICE),
        Notice("Individual-level: keep inside the secure environment.", CASE_LEVEL_NOTICE, "warn"),
    ]
    t = audit.trajectory
    cr = audit.crossings.reset_index(drop=True)
    dips = audit.dips if audit.dips is not None else pd.DataFrame()
    window = int(audit.parameters.get("response_window", 28))
    min_gap = int(audit.parameters.get("min_gap", 28))
    no_outcome = audit.outcome is None or bool(pd.isna(audit.outcome))
    outcome_word = "the outcome" if no_outcome else outcome_name(audit.outcome)
    outcome = (
        "none recorded"
        if no_outcome
        else f"{outcome_name(audit.outcome)} on {fmt_date(audit.outcome_date)}"
    )
    lt = audit.lead_times
    lead_lines = [
        f"{fmt_days(r.lead_time_days)} from the first {band_name(r.band)} crossing"
        for r in lt.itertuples()
        if pd.notna(r.lead_time_days)
    ]
    summary = Section(
        "summary",
        "Summary",
        [
            Facts(
                [
                    ("Case", str(audit.case_id)),
                    ("Model", f"{_shown_name(model_name(audit.model))} (score in {scale})"),
                    ("Outcome", outcome),
                    (
                        "Audited period",
                        f"{fmt_date(t['as_of'].iloc[0])} to {fmt_date(t['as_of'].iloc[-1])}",
                    ),
                    (
                        "Crossings into a band",
                        f"{len(cr)} (a return within {min_gap} days of leaving a band is a "
                        f"dip in the same episode, not a new crossing; dips: {len(dips)})",
                    ),
                    (
                        "Missed opportunities",
                        f"{len(audit.missed_opportunities)} (crossings with no response within "
                        f"{window} days and no plan active)",
                    ),
                    (
                        "Join-up gap",
                        f"{fmt_days(audit.join_up_gap_days)} on which the joined view was in a "
                        "higher band than every single agency's own view",
                    ),
                    (
                        f"Lead time to {outcome_word}",
                        "; ".join(lead_lines)
                        if lead_lines
                        else "none (no outcome date, or no crossing before it)",
                    ),
                ]
            )
        ],
    )

    views = [None] + [c[len("score_") :] for c in t.columns if c.startswith("score_")]
    names, highest, firsts, days = [], [], {b: [] for b in BANDS[1:]}, {b: [] for b in BANDS[1:]}
    for v in views:
        names.append("joined (all agencies)" if v is None else agency_name(v))
        col = "band" if v is None else f"band_{v}"
        codes = pd.Categorical(t[col], categories=list(BANDS), ordered=True).codes
        highest.append(band_name(BANDS[int(codes.max())] if len(codes) else BANDS[0]))
        for band in BANDS[1:]:
            firsts[band].append(fmt_date(audit.first_crossing(band, v)))
            days[band].append(audit.days_in_band(band, v))
    columns: list[tuple[Header | str, list[Cell]]] = [
        ("view", _text(names)),
        ("highest band", _text(highest)),
    ]
    for band in BANDS[1:]:
        columns.append((f"first reached {band_name(band)}", _text(firsts[band])))
        columns.append((f"days at or above {band_name(band)}", _num(days[band], fmt_count)))
    reached = Section(
        "views",
        "What each view reached",
        [_table("views", columns, level="individual")],
        lead="The joined view scores all agencies' records together; each agency row scores "
        "only the events that agency recorded itself: what it could have known on its own.",
    )

    figures = Section("figures", "Timeline, attendance and scores", _case_figures(audit))

    marks = ["missed" if m else "" for m in cr["missed"].to_numpy(dtype=bool)]
    crossings = Section(
        "crossings",
        "Crossings",
        lead=f"Each date the joined score entered a band (exact to the day), starting an "
        f"episode. A crossing is a missed opportunity when no response (referral, early help, "
        f"strategy meeting, conference, plan start) followed within {window} days, inclusive, "
        f"and no plan was already active. After the score leaves a band, it must stay below "
        f"it for at least {min_gap} days before reaching it again counts as a new crossing; a "
        "shorter spell below is a dip, listed under the table.",
    )
    if len(cr):
        crossings.blocks.append(
            _table(
                "crossings",
                [
                    ("#", _num(np.arange(1, len(cr) + 1))),
                    ("date", _text(cr["date"], fmt_date)),
                    ("band", _text(cr["band"].astype(str), band_name)),
                    (f"score ({scale})", _num(cr["score"])),
                    (f"responses within {window} days", _num(cr["responses_in_window"])),
                    ("plan already active", _text(cr["plan_active"], _yes_no)),
                    ("missed opportunity", _text(cr["missed"], _yes_no)),
                    ("days to the next response", _num(cr["days_to_next_response"])),
                ],
                level="individual",
                row_classes=marks,
            )
        )
    else:
        crossings.blocks.append(
            Paragraph("The joined score never entered a band.", "", id="crossings")
        )
    if len(dips):
        crossings.blocks.append(
            Paragraph(
                f"Dips: the joined score left a band and came back within {min_gap} days. "
                "The episode went on; the return is not counted as a new crossing.",
                "note",
            )
        )
        crossings.blocks.append(
            _table(
                "dips",
                [
                    ("band", _text(dips["band"].astype(str), band_name)),
                    ("left the band", _text(dips["left"], fmt_date)),
                    ("came back", _text(dips["returned"], fmt_date)),
                    ("days below", _num(dips["days_below"])),
                    (f"score on return ({scale})", _num(dips["score"])),
                ],
                level="individual",
                row_classes=["dip"] * len(dips),
            )
        )
    else:
        crossings.blocks.append(
            Paragraph(f"No dips: the score never came back within {min_gap} days.", "note", "dips")
        )

    rules = _rules_by_label(audit.model)
    contributed = Section(
        "contributions",
        "What contributed at each crossing",
        lead=f"The rules or features that added to the score on each crossing day, in "
        f"{scale}, and the agencies whose own records held them then (click a rule for its "
        "rationale). 'No single agency (only when joined)' means no agency's own view held "
        "it: it appears only when records are joined up.",
    )
    co = audit.contributions
    if len(co):
        idx = co["crossing"].to_numpy()
        order = np.lexsort((-co["contribution"].to_numpy(dtype=float), idx))
        co = co.iloc[order]
        idx = idx[order]
        held = co["held_by"].astype(str).to_numpy()
        holder_cells = [
            Cell(_holders_text(h), "joined" if h == ONLY_WHEN_JOINED else "") for h in held
        ]
        contributed.blocks.append(
            _table(
                "contributions",
                [
                    ("#", _num(idx + 1)),
                    ("crossing date", _text(pd.to_datetime(cr["date"]).to_numpy()[idx], fmt_date)),
                    ("band", _text(cr["band"].astype(str).to_numpy()[idx], band_name)),
                    (
                        "rule or feature",
                        [_contributor_cell(c, rules) for c in co["contributor"].astype(str)],
                    ),
                    (f"contribution ({scale})", _num(co["contribution"])),
                    ("held by", holder_cells),
                ],
                level="individual",
            )
        )
    else:
        contributed.blocks.append(
            Paragraph("No crossings, so no contributions to show.", "", "contributions")
        )

    missed = Section("missed", "Missed opportunities")
    mo = audit.missed_opportunities
    if len(mo):
        followed = [
            "no response in the record"
            if pd.isna(d)
            else f"first response {fmt_days(d)} after the crossing"
            for d in mo["days_to_next_response"]
        ]
        missed.blocks.append(
            _table(
                "missed-opportunities",
                [
                    ("date", _text(mo["date"], fmt_date)),
                    ("band", _text(mo["band"].astype(str), band_name)),
                    (f"score ({scale})", _num(mo["score"])),
                    ("what contributed [held by]", _text(mo["contributors"], _contributors_text)),
                    ("what followed", _text(followed)),
                ],
                level="individual",
            )
        )
    elif len(cr):
        missed.blocks.append(
            Paragraph(
                f"None: every crossing was followed by a response within {window} days, or a "
                "plan was already active.",
                "",
                "missed-opportunities",
            )
        )
    else:
        missed.blocks.append(
            Paragraph("None: there were no crossings.", "", "missed-opportunities")
        )

    lead = Section(
        "lead-times",
        f"Lead time to {outcome_word}",
        lead=f"Days from the first crossing into each band (on or before the outcome) to "
        f"{outcome_word}: the one definition of lead time in riskscore (the cohort report and "
        "the demo use it too).",
    )
    if len(lt) and lt["lead_time_days"].notna().any():
        lead.blocks.append(
            _table(
                "lead-times",
                [
                    ("band", _text(lt["band"].astype(str), band_name)),
                    ("first crossing", _text(lt["first_crossing"], fmt_date)),
                    ("outcome date", _text([audit.outcome_date] * len(lt), fmt_date)),
                    ("lead time (days)", _num(lt["lead_time_days"], fmt_count)),
                ],
                level="individual",
            )
        )
    else:
        lead.blocks.append(
            Paragraph(
                "No lead times: the case has no outcome date, or no crossing came before it.",
                "",
                "lead-times",
            )
        )

    params = {
        "report": "case",
        "case_id": str(audit.case_id),
        "model": model_name(audit.model),
        "model_class": type(audit.model).__name__,
        "score_scale": scale,
        "audit_parameters": dict(audit.parameters),
    }
    prov = provenance(
        params,
        inputs={"case events": audit.events},
        synthetic=getattr(audit, "synthetic_note", None) or is_synthetic(audit),
    )
    prov["disclosure"] = {
        "applied": False,
        "note": "individual-level output: disclosure control does not apply; keep inside "
        "the secure environment",
    }
    about = Section(
        "model",
        "Model, parameters and provenance",
        [
            Facts(
                [
                    ("Model", _shown_name(model_name(audit.model))),
                    ("Score scale", scale),
                    *_parameter_facts(audit.parameters),
                    ("Library", f"riskscore {prov['version']}"),
                    ("Created (UTC)", prov["created_utc"]),
                ]
            ),
            *_rule_sheet(audit.model),
            _provenance_block(prov),
        ],
    )
    sections = [summary, reached, _coverage_section(audit, scale), figures, crossings]
    sections += [contributed, missed, lead, about]
    return Page(
        title,
        notices,
        sections,
        footer=f"{NOTICE} {CASE_LEVEL_NOTICE}",
        individual_level=True,
        subjects=(audit, audit.events, audit.trajectory),
    )


def _yes_no(value: Any) -> str:
    return "yes" if bool(value) else "no"


_CONTRIBUTOR = re.compile(r"(?P<code>[^;\[\]]+?)\s*\[(?P<held>[^\]]*)\]")


def _contributors_text(text: Any) -> str:
    """``"siblings_removed >= 1 [social_care]; ..."`` in display names."""
    parts = []
    for m in _CONTRIBUTOR.finditer(str(text)):
        parts.append(f"{rule_name(m['code'].strip())} [{_holders_text(m['held'].strip())}]")
    return "; ".join(parts) if parts else str(text)


def _rule_sheet(model) -> list:
    """The model's rules with points and rationale, one click away."""
    rules = getattr(model, "rules", None)
    if not rules:
        return []
    table = _table(
        "rules",
        [
            ("rule", _text([rule_name(r.label) for r in rules])),
            ("points", _num([r.points for r in rules])),
            ("held by", _text([", ".join(agency_name(a) for a in r.agencies) for r in rules])),
            ("why (rationale)", _text([r.rationale for r in rules])),
        ],
        level="statistics",
    )
    return [Details(f"The model's {len(rules)} rules, points and rationale", [table])]


def _case_figures(audit: CaseAudit) -> list:
    """Timeline, attendance and scores: separate figures on one shared date axis.

    Every figure gets the same width and the same left and right margins, so their
    date axes line up on the page; heights are set in inches per panel.
    """
    ev = audit.events.loc[audit.events["event"].astype(str) != "attendance"]
    kinds = ev[["agency", "event"]].astype(str).drop_duplicates()
    rows = len(kinds) + 0.5 * kinds["agency"].nunique() + 0.9
    blocks = []
    specs = [
        # at least room for the note a case without such events gets
        ("plot_case_timeline", plots.plot_case_timeline, max(0.17 * rows, 1.1), "Events by agency"),
        ("plot_case_attendance", plots.plot_case_attendance, 1.9, "School attendance"),
        ("plot_case_scores", plots.plot_case_scores, 4.2, "Joined and per-agency scores"),
    ]
    for name, draw, axes_height, alt in specs:
        top, bottom = 0.4, 0.6  # inches for the title, and for the date labels
        height = axes_height + top + bottom
        fig = _new_figure(14.0, height, layout=None)
        fig.subplots_adjust(left=0.1, right=0.9, top=1 - top / height, bottom=bottom / height)
        draw(audit, ax=fig.add_subplot())
        caption = plots.CAPTIONS[name]
        if name == "plot_case_timeline" and len(audit.coverage_gaps):
            caption += (
                " Grey hatching in an agency's row marks a period its records do not cover "
                "(see Coverage)."
            )
        blocks.append(_figure(fig, alt=f"{alt} for case {audit.case_id}", caption=caption))
    return blocks


def _coverage_section(audit: CaseAudit, scale: str) -> Section:
    """Where the records did not cover the audited period, and what that does to scores."""
    gaps = audit.coverage_gaps
    section = Section("coverage", "Coverage")
    if "coverage" not in audit.parameters:
        section.blocks.append(
            Paragraph(
                "No coverage table was given: an agency's silence is read as nothing recorded. "
                "If an extract does not cover every agency for the whole period, pass "
                "coverage= so that missing records show as unknown, not as zero.",
                id="coverage",
            )
        )
        return section
    if gaps is None or len(gaps) == 0:
        section.blocks.append(
            Paragraph("Every agency's records cover the whole audited period.", id="coverage")
        )
        return section
    scorecard = "max_unknown_points" in gaps.columns
    if scorecard:
        most = gaps["max_unknown_points"].max()
        effect = (
            "A rule on a missing feature scores 0 and is listed as unknown, so scores in these "
            "periods may understate"
            + (
                f": the unknown rules could have added up to {fmt_number(most)} {scale} on an "
                "audited date in a gap."
                if pd.notna(most) and most > 0
                else "."
            )
        )
    else:
        effect = (
            "The model scores missing features as it was fitted to (for a logistic model, "
            "imputed values with a missing indicator), so scores in these periods rest on "
            "unknowns and may understate."
        )
    section.lead = (
        "Periods within the audited span that an agency's records do not cover. There its "
        "silence means unknown, not nothing happened: features that only uncovered agencies "
        f"hold are missing, and that agency's own view is unknown. {effect}"
    )
    columns: list[tuple[Header | str, list[Cell]]] = [
        ("agency", _text(gaps["agency"].astype(str), agency_name)),
        ("not covered from", _text(gaps["from"], fmt_date)),
        ("to", _text(gaps["to"], fmt_date)),
        ("days", _num(gaps["days"])),
    ]
    if scorecard:
        columns.append((f"most {scale} unknown (joined view)", _num(gaps["max_unknown_points"])))
    section.blocks.append(_table("coverage", columns, level="individual"))
    return section


register_report(CaseAudit, _case_page)


# --------------------------------------------------------------------------- cohort

_COHORT_SECTIONS = {
    "summary": ("Summary", "How many children were audited and how many reached each band."),
    "lead_times": (
        "Lead time to the outcome",
        "Children with an outcome, by the days from the first crossing into each band to the "
        "outcome. Lead time alone flatters a score: read it beside the false alarms.",
    ),
    "false_alarms": (
        "Crossings, false alarms and children alerted",
        "Crossings before any outcome (each crossing starts an episode: a return after a dip "
        "shorter than the minimum gap is not counted again). A false alarm is a crossing "
        "with no outcome within the horizon after it.",
    ),
    "join_up_gap": (
        "Join-up gap",
        "Children with at least one day on which the joined view was in a higher band than "
        "every single agency's own view.",
    ),
    "missed_opportunities": (
        "Missed opportunities by band and holder",
        "Crossings whose contributing information each holder held, and how many of them were "
        "missed opportunities (no response within the window, no plan active). A crossing "
        "can be counted under several holders.",
    ),
    "agency_share": (
        "Who held the information",
        "Each holder's share of the contributions at crossings.",
    ),
    "by_deprivation": (
        "By deprivation",
        "The same measures by IMD quintile (1 = most deprived). Indicators of poverty can make "
        "a score track deprivation; this table is where that shows.",
    ),
}

#: Explains why a cohort can have many join-up gaps and no "only when joined" holder.
_GAP_VS_JOINED = (
    "How this fits with the join-up gap: a join-up gap needs no information that only the "
    "joined records hold. It arises when pieces each held by a different agency add up, in "
    "the joined view, to a higher band than any one agency's own pieces reach. 'No single "
    "agency (only when joined)' below counts something else: a rule or feature that fires "
    "only when records are joined (for example, one that needs one agency's admission and "
    "another's missing review). So it can be 0% while many children have a join-up gap."
)


def _lead_bin_text(value: Any) -> str:
    text = str(value)
    if re.fullmatch(r"\d+-\d+", text):
        a, b = text.split("-")
        return f"{a} to {b} days"
    return text.replace("over ", "over ") + (" days" if text.startswith("over") else "")


_KEY_FORMATS: dict[str, Callable[[Any], str]] = {
    "band": band_name,
    "held_by": _holders_text,
    "imd_quintile": quintile_name,
    "lead_time_days": _lead_bin_text,
    "measure": str,
}


def _published_table(name: str, t: pd.DataFrame, table_id: str | None = None) -> Table:
    """A disclosure-controlled cohort table in display names and readable numbers.

    Counts with thousands separators; shares as percentages with their denominator
    (from the table's own published counts); suppressed cells marked as such.
    """
    stamp = t.attrs.get(DISCLOSURE_ATTR) or {}
    counts = set(stamp.get("count_columns") or [])
    rates = dict((TABLE_SPEC.get(name) or {}).get("rate_columns") or {})
    frame = t.reset_index(drop=True)
    columns: list[tuple[Header | str, list[Cell]]] = []
    for c in frame.columns:
        sup = plots.suppressed_cells(t, c)
        values = frame[c].tolist()
        if c in _KEY_FORMATS:
            cells = _text(values, _KEY_FORMATS[c])
        elif c in counts or c == "n" or str(c).startswith("n_"):
            cells = _num(values, fmt_count, sup)
        elif (
            "share" in str(c)
            and c in rates
            and len(rates[c]) == 2
            and set(rates[c]) <= set(frame.columns)
        ):
            num, den = frame[rates[c][0]].tolist(), frame[rates[c][1]].tolist()
            cells = [
                _SUPPRESSED_CELL
                if _missing(v) and s
                else Cell(_DASH, "na")
                if _missing(v)
                else Cell(fmt_percent(a, b), "num")
                for v, s, a, b in zip(values, sup, num, den, strict=True)
            ]
        elif "share" in str(c):
            cells = _num(values, fmt_share, sup)
        elif pd.api.types.is_numeric_dtype(frame[c]):
            cells = _num(values, fmt_number, sup)
        else:
            cells = _text(values, display)
        columns.append((_header(c), cells))
    return _table(table_id or f"table-{name}", columns, level="published", source=t)


def _cohort_figure(name: str, t: pd.DataFrame) -> Figure | None:
    note = "Drawn from the published table below."
    if name == "lead_times":
        fig = _new_figure(10.0, 4.2)
        plots.plot_lead_times(t, ax=fig.add_subplot())
        return _figure(fig, "Lead times", f"{plots.CAPTIONS['plot_lead_times']} {note}")
    if name == "false_alarms":
        fig = _new_figure(12.0, 4.2)
        left, right = fig.subplots(1, 2)
        plots.plot_false_alarms(t, ax=left)
        plots.plot_cases_alerted(t, ax=right)
        return _figure(
            fig, "Crossings, false alarms and children alerted",
            f"{plots.CAPTIONS['plot_false_alarms']} {note}",
        )  # fmt: skip
    if name == "agency_share":
        fig = _new_figure(9.0, 4.2)
        plots.plot_agency_share(t, ax=fig.add_subplot())
        return _figure(
            fig, "Who held the information", f"{plots.CAPTIONS['plot_agency_share']} {note}"
        )
    if name == "by_deprivation":
        fig = _new_figure(9.0, 4.2)
        plots.plot_by_deprivation(t, ax=fig.add_subplot())
        return _figure(fig, "By deprivation", f"{plots.CAPTIONS['plot_by_deprivation']} {note}")
    return None


def _summary_table(t: pd.DataFrame) -> Table:
    """The summary table, with each count's share of the children audited."""
    frame = t.reset_index(drop=True)
    n = frame["n"].tolist()
    measure = frame["measure"].astype(str).tolist()
    by = dict(zip(measure, n, strict=True))
    total, without = (
        by.get("cases in the cases table"),
        by.get("cases with no events (not audited)"),
    )
    audited = None if _missing(total) or _missing(without) else float(total) - float(without)
    shares = [
        Cell(_DASH, "na")
        if i < 2 or _missing(v) or audited is None
        else Cell(fmt_percent(v, audited), "num")
        for i, v in enumerate(n)
    ]
    return _table(
        "table-summary",
        [
            (_header("measure"), _text(measure)),
            (_header("n", "children"), _num(n, fmt_count, plots.suppressed_cells(t, "n"))),
            (Header("share of the children audited"), shares),
        ],
        level="published",
        source=t,
    )


def _cohort_page(cohort: CohortAudit, title: str | None) -> Page:
    tables = cohort.tables
    state = check_publishable(tables)  # every table, shown or not
    controlled, settings = state["controlled"], state["settings"]
    title = title or "Retrospective cohort audit"
    notices = [Notice("Retrospective audit - not a decision about any person.", NOTICE)]
    if controlled:
        notices.append(
            Notice(
                "Cohort tables are disclosure-controlled.",
                state["description"] + " The suppression manifest for output checkers is at "
                "the end. Figures are drawn from these published tables only.",
            )
        )
    else:
        notices.append(
            Notice(
                UNDISCLOSED_BANNER,
                f"{UNDISCLOSED_WARNING}. These tables were made with disclosure=False: small "
                "counts are shown unsuppressed and unrounded.",
                "danger",
            )
        )
    params = {k: v for k, v in cohort.parameters.items() if k != "model"}
    sections = [
        Section(
            "about",
            "",
            [
                Facts(
                    [
                        ("Model", _shown_name(cohort.parameters.get("model", ""))),
                        *_parameter_facts(params),
                    ]
                )
            ],
        )
    ]
    for name, t in tables.items():
        heading, lead = _COHORT_SECTIONS.get(name, (display(name).capitalize(), ""))
        horizon = t.attrs.get("horizon_days")
        if horizon is not None:
            lead += f" Horizon: {fmt_days(horizon)}."
        section = Section(name.replace("_", "-"), heading, lead=lead)
        figure = _cohort_figure(name, t)
        if figure is not None:
            section.blocks.append(figure)
        if name == "agency_share":
            section.blocks.append(Paragraph(_GAP_VS_JOINED, "note"))
        section.blocks.append(_summary_table(t) if name == "summary" else _published_table(name, t))
        sections.append(section)

    manifest = Section("manifest", "Suppression manifest (for output checkers)")
    if controlled:
        parts = []
        for name, t in tables.items():
            m = disclosure_manifest(t)
            if len(m):
                parts.append(m.assign(table=name)[["table", "row", "key", "column", "reason"]])
        m = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        manifest.lead = (
            "Every suppressed cell (by table, row, key and column, never its value) and every "
            "rounded column."
        )
        if len(m):
            manifest.blocks.append(
                Details(
                    f"{len(m)} entries",
                    [
                        _table(
                            "manifest",
                            [
                                ("table", _text(m["table"], lambda v: display(v).capitalize())),
                                ("row", _text(m["row"])),
                                ("key", _text(m["key"], _manifest_key)),
                                ("column", _text(m["column"], column_name)),
                                ("reason", _text(m["reason"], _reason_text)),
                            ],
                            level="statistics",
                        )
                    ],
                    open=True,
                )
            )
        else:
            manifest.blocks.append(Paragraph("Nothing was suppressed or rounded.", "", "manifest"))
    else:
        manifest.blocks.append(
            Paragraph(
                f"{UNDISCLOSED_BANNER}: no disclosure control was applied, so there is no "
                "manifest. Re-run the cohort audit with disclosure=True before anything leaves "
                "the secure environment.",
                "",
                "manifest",
            )
        )
    sections.append(manifest)

    # cohort.n_cases is an exact count: it stays out of a controlled report (the summary
    # table publishes the rounded number)
    record = {"report": "cohort", **dict(cohort.parameters)}
    if not controlled:
        record["n_cases"] = int(cohort.n_cases)
    prov = provenance(
        record,
        disclosure=settings if controlled else False,
        synthetic=getattr(cohort, "synthetic_note", None) or state["synthetic"],
    )
    # hashes taken by audit_cohort from the data it audited (the data is not kept)
    for name, digest in (getattr(cohort, "input_hashes", None) or {}).items():
        prov["inputs"][name] = {"kind": "dataframe", "sha256": digest}
    sections.append(Section("provenance", "Provenance", [_provenance_block(prov)]))
    return Page(
        title,
        notices,
        sections,
        footer=NOTICE,
        subjects=(cohort, *tables.values()),
    )


def _reason_text(value: Any) -> str:
    """A manifest reason with its settings' names in words."""
    text = str(value)
    for code, words in (
        ("min_count", "the minimum count"),
        ("round_to", "the rounding base"),
        ("suppress_zero=True", "zeros suppressed"),
    ):
        text = text.replace(code, words)
    return text


def _manifest_key(value: Any) -> str:
    """A manifest key such as ``band=multi_agency_discussion`` in display names."""
    parts = []
    for part in str(value).split(", "):
        if "=" in part:
            k, v = part.split("=", 1)
            fmt = _KEY_FORMATS.get(k, display)
            parts.append(f"{column_name(k)}: {fmt(v)}")
        else:
            parts.append(display(part) if part else "")
    return ", ".join(parts)


register_report(CohortAudit, _cohort_page)


# --------------------------------------------------------------------------- evaluation

_DESIGN_NAMES = {
    "model": ("model", _shown_name),
    "validation": ("validation", str),
    "n_splits": ("folds", fmt_count),
    "validation_rows": ("validation rows (as-of dates; several per child)", fmt_count),
    "validation_events": ("rows followed by the outcome", fmt_count),
    "validation_cases": ("children", fmt_count),
    "cases_removed_from_training_by_temporal_split": (
        "children left out of training by the temporal split",
        lambda v: "none" if _missing(v) else fmt_count(v),
    ),
    "horizon_days": ("horizon (outcome within)", fmt_days),
    "grid": ("as-of dates every", _grid_text),
    "n_boot": ("bootstrap replicates", fmt_count),
    "level": ("interval level", lambda v: f"{float(v):.0%}"),
    "interval_method": ("intervals", str),
    "random_state": ("random seed", str),
    "disclosure": ("disclosure control", str),
    "riskscore_version": ("riskscore version", str),
}


def _no_intervals(design: dict) -> bool:
    """Whether an evaluation has no intervals: it drew no bootstrap replicates."""
    n_boot = design.get("n_boot")
    return isinstance(n_boot, (int, float, np.integer, np.floating)) and n_boot == 0


_NO_INTERVALS = "none (no bootstrap replicates were drawn: n_boot=0)"


def _design_facts(design: dict) -> list[tuple[str, str]]:
    out = []
    none = _no_intervals(design)
    for key, value in design.items():
        if key in ("notes", "input_sha256", "model_sha256"):  # in the provenance record
            continue
        name, fmt = _DESIGN_NAMES.get(key, (display(key), str))
        if none and key in ("level", "interval_method"):
            out.append((_capital(name), "\u2013" if key == "level" else _NO_INTERVALS))
            continue
        out.append((_capital(name), "\u2013" if value is None else fmt(value)))
    return out


def _alert_rule_name(rule: str) -> str:
    """Alert rules in words: "top 0.05 of rows" -> "highest 5% of predicted risks"."""
    text = str(rule)
    m = re.fullmatch(r"top ([\d.]+) of rows", text)
    if m:
        return f"highest {fmt_share(float(m[1]))} of predicted risks"
    m = re.fullmatch(r"risk >= ([\d.]+)", text)
    if m:
        return f"predicted risk {fmt_share(float(m[1]))} or more"
    m = re.fullmatch(r"band (\w+) \((\w[\w-]*) >= ([\d.]+)\)", text)
    if m:
        return f"band {band_name(m[1])} ({fmt_number(float(m[3]))} {m[2]} or more)"
    return display(text)


def _metric_cell(m: pd.DataFrame, key: str) -> str:
    if key not in m.index:
        return "\u2013"
    r = m.loc[key]
    return fmt_interval(r["estimate"], r["lower"], r["upper"])


def _interval_cells(t: pd.DataFrame, column: str) -> list[Cell]:
    lo, hi = f"{column}_lower", f"{column}_upper"
    sup = plots.suppressed_cells(t, column)
    out = []
    for i, (_, r) in enumerate(t.iterrows()):
        v = r[column]
        if _missing(v):
            out.append(_SUPPRESSED_CELL if sup[i] else Cell(_DASH, "na"))
        else:
            out.append(Cell(fmt_interval(v, r.get(lo), r.get(hi)), "num"))
    return out


def _alerts_table(alerts: pd.DataFrame, table_id: str, *, intervals: bool = True) -> Table:
    a = alerts.reset_index(drop=True)
    with_interval = " (interval)" if intervals else ""
    rate = [
        _SUPPRESSED_CELL if _missing(n) or _missing(k) else Cell(fmt_percent(k, n), "num")
        for k, n in zip(a["alerts"], a["n"], strict=True)
    ]
    if "alert_rate_lower" in a.columns:
        rate = _interval_cells(alerts, "alert_rate")
    return _table(
        table_id,
        [
            ("alert rule", _text(a["rule"], _alert_rule_name)),
            (_header("alert_rate", "alert rate (alerts of rows)"), rate),
            (_header("sensitivity", f"sensitivity{with_interval}"), _interval_cells(alerts, "sensitivity")),
            (_header("ppv", f"precision, PPV{with_interval}"), _interval_cells(alerts, "ppv")),
            (_header("true_positives", "true alerts"), _num(a["true_positives"], fmt_count,
                                                           plots.suppressed_cells(alerts, "true_positives"))),
        ],
        level="published",
        source=alerts,
    )  # fmt: skip


def _risk_range(label: Any) -> str:
    """A decile's interval label ``(-0.00048, 0.00161]`` as ``0 to 0.16%``."""
    nums = re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", str(label))
    if len(nums) != 2:
        return str(label)
    lo, hi = (max(float(v), 0.0) for v in nums)
    return f"{fmt_share(lo)} to {fmt_share(hi)}"


def _calibration_table(cal: pd.DataFrame) -> Table:
    c = cal.reset_index(drop=True)
    return _table(
        "table-calibration",
        [
            ("group", _num(np.arange(1, len(c) + 1))),
            (_header("bin", "predicted risk range"), _text(c["bin"], _risk_range)),
            (_header("n", "rows"), _num(c["n"], fmt_count, plots.suppressed_cells(cal, "n"))),
            (_header("events"), _num(c["events"], fmt_count, plots.suppressed_cells(cal, "events"))),
            (_header("mean_predicted"), _num(c["mean_predicted"], fmt_share, plots.suppressed_cells(cal, "mean_predicted"))),
            (_header("observed"), _num(c["observed"], fmt_share, plots.suppressed_cells(cal, "observed"))),
        ],
        level="published",
        source=cal,
    )  # fmt: skip


def _decision_table(dc: pd.DataFrame) -> Table:
    """Thresholds in the range the figure shows (at most about a dozen rows)."""
    thr = dc["threshold"].to_numpy(dtype=float)
    nb = pd.to_numeric(dc["net_benefit"], errors="coerce").to_numpy(dtype=float)
    useful = thr[np.isfinite(nb) & (nb > 0)]
    right = float(useful.max()) * 1.3 if useful.size else float(thr.min()) * 3
    keep = np.flatnonzero(thr <= right)
    step = max(int(np.ceil(len(keep) / 12)), 1)
    rows = keep[::step]
    shown = dc.iloc[rows]
    d = shown.reset_index(drop=True)
    return _table(
        "table-decision",
        [
            (_header("threshold", "alert threshold"), _num(d["threshold"], fmt_share)),
            (_header("alerts"), _num(d["alerts"], fmt_count, plots.suppressed_cells(shown, "alerts"))),
            (_header("true_positives"), _num(d["true_positives"], fmt_count, plots.suppressed_cells(shown, "true_positives"))),
            (_header("net_benefit"), _num(d["net_benefit"], fmt_number, plots.suppressed_cells(shown, "net_benefit"))),
            (_header("treat_all"), _num(d["treat_all"], fmt_number)),
        ],
        level="published",
        source=dc,
        note="Alerting no one has net benefit 0 at every threshold. Rows every "
        f"{step} threshold(s) within the range drawn above.",
    )  # fmt: skip


_SUBGROUP_COLUMNS = ("selection_rate", "tpr", "ppv", "auroc", "oe_ratio")


def _subgroup_table(sg: pd.DataFrame, *, intervals: bool = True) -> Table:
    """One row per group, one column per metric: estimate (interval)."""
    keys = sg[["attribute", "group"]].astype(str).drop_duplicates()
    sup = plots.suppressed_cells(sg, "estimate")
    at = {
        (str(a), str(g), str(m)): i
        for i, (a, g, m) in enumerate(zip(sg["attribute"], sg["group"], sg["metric"], strict=True))
    }
    metrics = [m for m in _SUBGROUP_COLUMNS if m in set(sg["metric"])]
    first_metric = sg.groupby(["attribute", "group"], sort=False).head(1)
    n_cases = {
        (str(a), str(g)): v
        for a, g, v in zip(
            first_metric["attribute"], first_metric["group"], first_metric["n_cases"], strict=True
        )
    }
    n_sup = dict(zip(zip(first_metric["attribute"].astype(str), first_metric["group"].astype(str),
                         strict=True), plots.suppressed_cells(sg, "n_cases")[
                             sg.index.get_indexer(first_metric.index)], strict=True))  # fmt: skip
    columns: list[tuple[Header | str, list[Cell]]] = [
        ("characteristic", _text(keys["attribute"], display)),
        ("group", [Cell("all children") if g == "All" else Cell(_group_text(a, g))
                   for a, g in keys.itertuples(index=False)]),
        (
            _header("n_cases", "children"),
            _num([n_cases.get(tuple(k)) for k in keys.itertuples(index=False)], fmt_count,
                 [n_sup.get(tuple(k), False) for k in keys.itertuples(index=False)]),
        ),
    ]  # fmt: skip
    for metric in metrics:
        cells = []
        for a, g in keys.itertuples(index=False):
            i = at.get((a, g, metric))
            if i is None:
                cells.append(Cell(_DASH, "na"))
                continue
            r = sg.iloc[i]
            if _missing(r["estimate"]):
                cells.append(_SUPPRESSED_CELL if sup[i] else Cell(_DASH, "na"))
            else:
                cells.append(Cell(fmt_interval(r["estimate"], r["lower"], r["upper"]), "num"))
        columns.append((Header(metric_name(metric).split(" (")[0], metric_name(metric)), cells))
    return _table(
        "table-subgroups",
        columns,
        level="published",
        source=sg,
        note=("Estimates with case-bootstrap intervals." if intervals else
              "Estimates only: no intervals (no bootstrap replicates were drawn).")
        + " Reference groups for the ratios in the "
        "figure: " + ", ".join(
            f"{display(a)}: {display(r)}"
            for a, r in sg[["attribute", "reference"]].astype(str).drop_duplicates().itertuples(
                index=False
            )
        ) + ".",
    )  # fmt: skip


def _group_text(attribute: str, group: str) -> str:
    return quintile_name(group) if attribute == "imd_quintile" else display(group)


def _evaluation_page(result: EvaluationResult, title: str | None) -> Page:
    """Summary first, then discrimination, calibration, alerts, decision curve, subgroups.

    Case-level predictions are never included. Tables are shown as held:
    disclosure-controlled, or marked on their face when made with ``disclosure=False``.
    """
    title = title or "Model evaluation"
    # every table meant to leave, shown or not (riskscore.check_publishable)
    state = check_publishable(result.tables())
    notices = [Notice("Retrospective audit and research only - not a decision about any person.")]
    if state["controlled"]:
        notices.append(Notice("Tables are disclosure-controlled.", state["description"]))
    intervals = not _no_intervals(result.design)
    notes = [str(n) for n in result.design.get("notes", [])]
    if not intervals:
        # the evaluation's standard note speaks of intervals it did not draw
        notes = [n.replace("intervals resample children, and ", "") for n in notes]
    if notes:
        notices.append(Notice("About these numbers.", " ".join(notes)))
    m = result.metrics.set_index("metric")
    design = result.design
    summary = Section(
        "summary",
        "Summary",
        [
            Cards(
                [
                    Card(
                        "Discrimination: AUROC",
                        _metric_cell(m, "auroc"),
                        "0.5 = chance, 1 = perfect",
                    ),
                    Card(
                        "Average precision: AUPRC",
                        _metric_cell(m, "auprc"),
                        f"outcome rate {fmt_share(m.loc['observed_rate', 'estimate'])} of rows"
                        if "observed_rate" in m.index
                        else "",
                    ),
                    Card("Calibration slope", _metric_cell(m, "calibration_slope"), "1 is ideal"),
                    Card(
                        "Calibration-in-the-large",
                        _metric_cell(m, "calibration_intercept"),
                        "0 is ideal",
                    ),
                    Card("Brier score", _metric_cell(m, "brier"), "lower is better"),
                    Card(
                        "Validated on",
                        f"{_design_value(design, 'validation_cases')} children",
                        f"{_design_value(design, 'validation_rows')} rows, "
                        f"{_design_value(design, 'validation_events')} followed by the outcome; "
                        f"{design.get('validation', '')}",
                    ),
                ]
            ),  # fmt: skip
            Paragraph(
                "At the alert thresholds used (intervals resample children):"
                if intervals
                else "At the alert thresholds used:",
                "note",
            ),
            _alerts_table(result.alerts, "summary-alerts", intervals=intervals),
        ],
        lead=f"Values are estimates with {float(design.get('level', 0.95)):.0%} case-bootstrap "
        "intervals, written as estimate (lower to upper)."
        if intervals
        else "Values are estimates without intervals: no bootstrap replicates were drawn "
        "(n_boot=0), so there are no intervals to show their uncertainty.",
    )

    roc = _new_figure(6.0, 4.6)
    plots.plot_roc(result, ax=roc.add_subplot())
    roc_caption = plots.CAPTIONS["plot_roc"]
    if result.roc.attrs.get("curve_suppressed"):
        roc_caption += " " + plots.ROC_SUPPRESSED_NOTE
    if not intervals:
        roc_caption = roc_caption.replace(
            "the AUROC and its interval are in the legend", "the AUROC is in the legend"
        )
    discrimination = Section(
        "discrimination",
        "Discrimination",
        [
            _figure(roc, "ROC curve", roc_caption),
            _table(
                "table-metrics",
                [
                    (_header("metric"), _text(result.metrics["metric"], metric_name)),
                    (
                        "estimate (interval)" if intervals else "estimate",
                        [
                            Cell(fmt_interval(e, lo, hi), "num")
                            for e, lo, hi in result.metrics[
                                ["estimate", "lower", "upper"]
                            ].itertuples(index=False)
                        ],
                    ),
                ],
                level="statistics",
            ),
        ],
    )

    cal = result.calibration
    hidden = int((~np.isfinite(pd.to_numeric(cal["observed"], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan))).sum())  # fmt: skip
    fig = _new_figure(6.0, 4.8)
    plots.plot_calibration(result, ax=fig.add_subplot())
    why = (
        f" {hidden} of {len(cal)} groups are not drawn: disclosure control suppressed their "
        "counts (fewer than the minimum number of rows or outcomes), so their observed rates "
        "are not published."
        if hidden
        else ""
    )
    if len(cal) < 10:
        why += (
            " The one group is all tenths of predicted risk merged"
            if len(cal) == 1
            else f" The {len(cal)} groups are tenths of predicted risk, neighbouring ones merged"
        ) + " so that no small count can be worked out from the other tables (disclosure control)."
    smooth = plots.smoothed_calibration(result)
    calibration = Section(
        "calibration",
        "Calibration",
        [
            _figure(fig, "Calibration", plots.CAPTIONS["plot_calibration"] + why),
            _calibration_table(cal),
        ],
        lead="Do predicted risks match what happened? "
        + {
            "drawn": "The smoothed curve uses every row; ",
            "one point": "The smoothed curve is not drawn: it is one point (every row in "
            "one group), which shows no shape; ",
            "withheld": "The smoothed curve is not drawn: disclosure control withheld it; ",
            None: "This evaluation has no smoothed curve; ",
        }[plots.smoothed_curve_drawn(smooth)]
        + "groups of predicted risk are shown where disclosure control allows.",
    )

    alerts = Section(
        "alerts",
        "Alerts",
        [_alerts_table(result.alerts, "table-alerts", intervals=intervals)],
        lead="Sensitivity is the share of rows followed by the outcome that were alerted; "
        "precision (PPV) the share of alerts followed by the outcome.",
    )

    dfig = _new_figure(6.0, 4.6)
    plots.plot_decision_curve(result, ax=dfig.add_subplot())
    decision = Section(
        "decision",
        "Decision curve",
        [
            _figure(dfig, "Decision curve", plots.CAPTIONS["plot_decision_curve"]),
            _decision_table(result.decision_curve),
        ],
    )
    sections = [summary, discrimination, calibration, alerts, decision]

    if result.subgroups is not None:
        sg = result.subgroups
        metrics = [
            m for m in ("selection_rate", "tpr", "ppv", "oe_ratio") if m in set(sg["metric"])
        ]
        n_rows = len(
            sg.loc[sg["group"].astype(str) != "All", ["attribute", "group"]].drop_duplicates()
        )
        sfig = _new_figure(12.0, 0.32 * n_rows + 1.6)
        axes = sfig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
        plots.plot_subgroups(sg, ax=list(axes), metrics=metrics)
        sections.append(
            Section(
                "subgroups",
                "Subgroups",
                [
                    # as drawn: an interval is named only where one is drawn
                    _figure(sfig, "Subgroup ratios", plots.subgroup_caption(sg, metrics)),
                    _subgroup_table(sg, intervals=intervals),
                ],
                lead="The same measures by sex, ethnic group and deprivation, with ratios to a "
                "reference group.",
            )
        )  # fmt: skip
    tables = [result.calibration, result.decision_curve, result.alerts]
    if result.subgroups is not None:
        tables.append(result.subgroups)
    controlled, settings = state["controlled"], state["settings"]
    allowed = allowed_columns(*tables)  # columns let past the identifying-data guard
    prov = provenance(
        {
            "report": "evaluation",
            "model": design.get("model"),
            "model_sha256": design.get("model_sha256"),
            "validation": design.get("validation"),
            **({"allowed": allowed} if allowed else {}),
        },
        disclosure=settings if controlled else False,
        synthetic=state["synthetic"] or is_synthetic(result),
    )
    # hashes evaluate took of what it evaluated (the data is not kept)
    for name, digest in (design.get("input_sha256") or {}).items():
        prov["inputs"][name] = {"kind": "dataframe", "sha256": digest}
    sections.append(
        Section(
            "design",
            "Design and provenance",
            [Facts(_design_facts(design)), _provenance_block(prov)],
        )
    )
    return Page(
        title,
        notices,
        sections,
        footer=NOTICE,
        subjects=(result, getattr(result, "predictions", None), *tables),
    )


def _design_value(design: dict, key: str) -> str:
    value = design.get(key)
    return "[c] suppressed" if value is None else fmt_count(value)


register_report(EvaluationResult, _evaluation_page)
