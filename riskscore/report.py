"""Self-contained HTML reports of audit results.

:func:`report` writes one HTML file that opens offline in any browser: figures are
embedded as base64 PNG ``data:`` URIs, the style sheet is inline, and a
Content-Security-Policy forbids the page from loading anything else. It renders a
result object; it never recomputes an audit (compute once, render many).

Every report says at the top, before any figure, that it is a retrospective audit
and not a decision about any person. A case report also says that it is
individual-level and must stay inside the secure environment (and, for the
fictional "Child A" vignette, that the child is fictional). A cohort report shows
the tables exactly as disclosure control published them, with the suppression
manifest for output checkers; a cohort audit made with ``disclosure=False`` carries
a banner saying it is not for release.

New result types (evaluation results, for example) plug in with
:func:`register_report`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskscore import plots
from riskscore.audit import CASE_LEVEL_NOTICE, NOTICE, CaseAudit, CohortAudit
from riskscore.contract import score_scale
from riskscore.disclosure import (
    DISCLOSURE_ATTR,
    UNDISCLOSED_WARNING,
    check_disclosure,
    disclosure_manifest,
    provenance,
)
from riskscore.errors import ParameterError
from riskscore.evaluation import EvaluationResult
from riskscore.synthetic import VIGNETTE_NOTE
from riskscore.vocabulary import BANDS

__all__ = ["write_report", "render_html", "register_report", "UNDISCLOSED_BANNER"]

#: Banner of a cohort report made without disclosure control.
UNDISCLOSED_BANNER = "DISCLOSURE CONTROL OFF - not for release"

#: Case id of the fictional vignette (:func:`riskscore.synthetic.vignette`).
_VIGNETTE_CASE = "CHILD-A"

_Renderer = Callable[[Any, "str | None"], str]
_RENDERERS: dict[type, _Renderer] = {}


def register_report(kind: type, renderer: _Renderer | None = None):
    """Register an HTML renderer for a result type, for :func:`write_report` to dispatch to.

    Parameters
    ----------
    kind : type
        The result class (subclasses dispatch to it too).
    renderer : callable, optional
        ``renderer(result, title) -> str`` returning a whole HTML page. When
        omitted, ``register_report`` works as a decorator.

    Returns
    -------
    callable
        The renderer (so it can decorate).

    Examples
    --------
    >>> class Note:
    ...     text = "hello"
    >>> @register_report(Note)
    ... def _render_note(note, title):
    ...     return f"<!DOCTYPE html><title>{title or 'note'}</title><p>{note.text}</p>"
    >>> import tempfile, pathlib
    >>> p = write_report(Note(), pathlib.Path(tempfile.mkdtemp()) / "note.html")
    >>> "hello" in p.read_text()
    True
    """
    if renderer is None:
        return lambda func: register_report(kind, func)
    _RENDERERS[kind] = renderer
    return renderer


def render_html(result: Any, *, title: str | None = None) -> str:
    """The whole HTML page of a result (what :func:`write_report` writes).

    Parameters
    ----------
    result : CaseAudit, CohortAudit or EvaluationResult
        Any type with a registered renderer (see :func:`register_report`).
    title : str, optional
        Page title (a default names the case, the cohort or the evaluation).

    Returns
    -------
    str

    Raises
    ------
    TypeError
        When no renderer is registered for the result's type.
    DisclosureError
        When a table meant for release has no disclosure stamp, or publishes counts
        its stamp forbids (a table edited after disclosure control).

    Examples
    --------
    >>> from riskscore.evaluation import example_result
    >>> "Content-Security-Policy" in render_html(example_result())
    True
    """
    for cls in type(result).__mro__:
        if cls in _RENDERERS:
            return _RENDERERS[cls](result, title)
    known = ", ".join(sorted(k.__name__ for k in _RENDERERS))
    raise ParameterError(
        f"write_report() has no renderer for {type(result).__name__}; it renders {known}. "
        "Pass the result of riskscore.audit_case, riskscore.audit_cohort or riskscore.evaluate, "
        "or register a renderer with riskscore.report.register_report."
    )


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
        When no renderer is registered for the result's type.
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
    page = render_html(result, title=title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- html pieces

_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 color:#1b1b1b;margin:0;background:#fafafa;line-height:1.45}
main{max-width:1240px;margin:0 auto;padding:16px 28px 40px;background:#fff}
h1{font-size:1.6em;margin:.4em 0 .3em}
h2{font-size:1.25em;margin:1.6em 0 .4em;border-bottom:2px solid #e3e3e3;padding-bottom:.15em}
p.lead{color:#444;margin:.2em 0 .8em}
.notice{border-left:6px solid #1d4e89;background:#eaf1fb;padding:10px 14px;margin:10px 0;
 font-size:1.02em}
.notice strong{display:block;font-size:1.05em}
.warn{border-left-color:#b35c00;background:#fff4e5}
.fiction{border-left-color:#6a3d9a;background:#f3ecfa}
.danger{position:sticky;top:0;z-index:10;border:4px solid #b00020;background:#ffe9ec;color:#7a0014;padding:14px 18px;
 font-size:1.35em;font-weight:700;text-align:center;letter-spacing:.02em;margin:10px 0}
.danger small{display:block;font-size:.7em;font-weight:400;margin-top:4px}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:.92em}
th,td{border:1px solid #d6d6d6;padding:4px 9px;text-align:left;vertical-align:top}
th{background:#f0f0f0;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.suppressed{background:#f5f5f5;color:#666;font-style:italic;text-align:center}
td.na{color:#999;text-align:center}
td.joined{font-weight:600;color:#7a0014}
tr.missed td{background:#fff1f1}
figure{margin:.6em 0 1.2em}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#444;margin-top:4px}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:3px 18px;margin:.4em 0}
dl.facts dt{font-weight:600;color:#333}
dl.facts dd{margin:0}
pre{background:#f6f6f6;border:1px solid #e2e2e2;padding:8px;font-size:.85em;overflow-x:auto}
footer{margin-top:2em;font-size:.85em;color:#555;border-top:1px solid #ddd;padding-top:8px}
"""

# Nothing may be fetched: images only from data: URIs, styles only inline.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _page(title: str, top: str, body: str, footer: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="riskscore">\n<title>{_esc(title)}</title>\n'
        f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<header>\n<h1>{_esc(title)}</h1>\n{top}\n</header>\n{body}\n"
        f"<footer>{footer}</footer>\n</main>\n</body>\n</html>\n"
    )


def _notice(headline: str, text: str = "", cls: str = "") -> str:
    extra = f" {cls}" if cls else ""
    return (
        f'<div class="notice{extra}" role="note"><strong>{_esc(headline)}</strong>'
        f"{_esc(text)}</div>"
    )


def _figure(fig, alt: str, caption: str) -> str:
    """Embed a matplotlib Figure as a PNG data URI (Agg canvas, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="white")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(alt)}">'
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _fmt(value: Any, column: str) -> tuple[str, str]:
    """Cell text and CSS class."""
    if isinstance(value, (bool, np.bool_)):
        return ("yes" if value else "no"), ""
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}", ""
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}", "num"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if "share" in column:
            # whole percent: enough for reading, and no finer than the rounded counts
            return f"{v:.0%}", "num"
        if v.is_integer():
            return f"{int(v):,}", "num"
        return f"{v:.2f}", "num"
    return str(value), ""


def _table(
    df: pd.DataFrame,
    *,
    table_id: str,
    headers: dict[str, str] | None = None,
    suppressed: dict[str, np.ndarray] | None = None,
    row_class: np.ndarray | None = None,
    joined_marker: str | None = None,
) -> str:
    headers = headers or {}
    suppressed = suppressed or {}
    cols = list(df.columns)
    head = "".join(f"<th>{_esc(headers.get(c, c))}</th>" for c in cols)
    out = [f'<table id="{_esc(table_id)}"><thead><tr>{head}</tr></thead><tbody>']
    columns = {c: df[c].astype(object).to_numpy() for c in cols}
    for i in range(len(df)):
        cls = f' class="{row_class[i]}"' if row_class is not None and row_class[i] else ""
        cells = []
        for c in cols:
            v = columns[c][i]
            if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
                if c in suppressed and suppressed[c][i]:
                    cells.append('<td class="suppressed" title="suppressed">[c] suppressed</td>')
                else:
                    cells.append('<td class="na">&ndash;</td>')
                continue
            text, k = _fmt(v, c)
            if joined_marker is not None and text == joined_marker:
                k = "joined"
            cells.append(f'<td class="{k}">{_esc(text)}</td>' if k else f"<td>{_esc(text)}</td>")
        out.append(f"<tr{cls}>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _facts(items: list[tuple[str, str]]) -> str:
    body = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in items)
    return f'<dl class="facts">{body}</dl>'


def _json(record: dict) -> str:
    return f"<pre>{_esc(json.dumps(record, indent=2, default=str))}</pre>"


def _model_name(model) -> str:
    name = getattr(model, "name", None)
    return str(name) if name else type(model).__name__


def _date(value) -> str:
    return "never" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


# --------------------------------------------------------------------------- case


def _render_case(audit: CaseAudit, title: str | None) -> str:
    title = title or f"Retrospective audit of case {audit.case_id}"
    scale = score_scale(audit.model)
    top = [
        _notice("Retrospective audit - not a decision about any person.", " " + NOTICE),
        _notice(
            "Individual-level: keep inside the secure environment.",
            " " + CASE_LEVEL_NOTICE,
            "warn",
        ),
    ]
    if str(audit.case_id) == _VIGNETTE_CASE:
        top.append(_notice("Fictional case.", " " + VIGNETTE_NOTE, "fiction"))

    t = audit.trajectory
    cr = audit.crossings.reset_index(drop=True)
    outcome = (
        "none recorded"
        if audit.outcome is None or pd.isna(audit.outcome)
        else f"{audit.outcome} on {_date(audit.outcome_date)}"
    )
    body = ["<h2>Summary</h2>"]
    body.append(
        _facts(
            [
                ("Case", str(audit.case_id)),
                ("Model", f"{_model_name(audit.model)} (score in {scale})"),
                ("Outcome", outcome),
                ("Audited period", f"{_date(t['as_of'].iloc[0])} to {_date(t['as_of'].iloc[-1])}"),
                ("Crossings into a band", str(len(cr))),
                ("Missed opportunities", str(len(audit.missed_opportunities))),
                (
                    "Join-up gap",
                    f"{audit.join_up_gap_days} days on which the joined view was in a higher "
                    "band than any single agency's view",
                ),
            ]
        )
    )

    # what each view reached, from the audit's own accessors
    views = [None] + [c[len("score_") :] for c in t.columns if c.startswith("score_")]
    rows = []
    for v in views:
        row = {"view": "joined (all agencies)" if v is None else v.replace("_", " ")}
        col = "band" if v is None else f"band_{v}"
        codes = pd.Categorical(t[col], categories=list(BANDS), ordered=True).codes
        row["highest band"] = BANDS[int(codes.max())] if len(codes) else BANDS[0]
        for band in BANDS[1:]:
            row[f"first reached {band}"] = _date(audit.first_crossing(band, v))
            row[f"days at or above {band}"] = audit.days_in_band(band, v)
        rows.append(row)
    body.append("<h2>What each view reached</h2>")
    body.append(
        '<p class="lead">The joined view scores all agencies\' records together; each agency '
        "row scores only the events that agency recorded itself: what it could have known "
        "on its own.</p>"
    )
    body.append(_table(pd.DataFrame(rows), table_id="views"))
    body.append(_coverage_section(audit, scale))

    n_lanes = max(audit.events["agency"].astype(str).nunique(), 1)
    fig = _new_figure(13.0, 0.42 * n_lanes + 1.6 + 5.0)
    axes = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [0.42 * n_lanes + 1.0, 5.0]}
    )
    plots.plot_case_timeline(audit, ax=axes[0])
    plots.plot_case_scores(audit, ax=axes[1])
    has_plan = audit.events["event"].astype(str).isin(["cp_plan_start", "cin_plan_start"]).any()
    body.append("<h2>Timeline and scores</h2>")
    body.append(
        _figure(
            fig,
            alt=f"Timeline of events by agency and score trajectory for case {audit.case_id}",
            caption=(
                "Top: events recorded by each agency (stars are responses: referrals, meetings, "
                "plan starts). Bottom: the joined score (black) and each agency's own score, "
                f"in {scale}; dotted lines are the band thresholds, numbered triangles mark "
                "crossings (numbers as in the crossings table), red crosses mark missed "
                "opportunities, orange shading marks the join-up gap."
                + (
                    " Grey hatching in an agency's lane marks a period its records do not "
                    "cover (see Coverage)."
                    if len(audit.coverage_gaps)
                    else ""
                )
                + (" Green dashed lines are plan starts." if has_plan else "")
                + (" The red line is the outcome." if audit.outcome_date is not None else "")
            ),
        )
    )

    window = audit.parameters.get("response_window", 28)
    body.append("<h2>Crossings</h2>")
    body.append(
        f'<p class="lead">Each date the joined score entered a band (exact to the day). A '
        f"crossing is a missed opportunity when no response (referral, early help, strategy "
        f"meeting, conference, plan start) followed within {window} days, inclusive, and no "
        "plan was already active.</p>"
    )
    if len(cr):
        show = pd.DataFrame(
            {
                "#": np.arange(1, len(cr) + 1),
                "date": pd.to_datetime(cr["date"]),
                "band": cr["band"].astype(str),
                f"score ({scale})": cr["score"].astype(float),
                f"responses within {window} days": cr["responses_in_window"],
                "plan active": cr["plan_active"].astype(bool),
                "missed opportunity": cr["missed"].astype(bool),
                "days to next response": cr["days_to_next_response"],
            }
        )
        marks = np.where(cr["missed"].to_numpy(dtype=bool), "missed", "")
        body.append(_table(show, table_id="crossings", row_class=marks))
    else:
        body.append('<p id="crossings">The joined score never entered a band.</p>')

    body.append("<h2>What contributed at each crossing</h2>")
    body.append(
        f'<p class="lead">The rules or features that added to the score on each crossing day, '
        f"in {scale}, and the agencies whose own records held them then. "
        "<strong>only when joined</strong> means no single agency's view held it: it appears "
        "only when records are joined up.</p>"
    )
    co = audit.contributions
    if len(co):
        idx = co["crossing"].to_numpy()
        show = pd.DataFrame(
            {
                "#": idx + 1,
                "crossing date": pd.to_datetime(cr["date"]).to_numpy()[idx],
                "band": cr["band"].astype(str).to_numpy()[idx],
                "contributor": co["contributor"].astype(str).to_numpy(),
                f"contribution ({scale})": co["contribution"].astype(float).to_numpy(),
                "held by": co["held_by"].astype(str).to_numpy(),
            }
        )
        show = show.sort_values(
            ["#", f"contribution ({scale})"], ascending=[True, False], kind="stable"
        )
        body.append(
            _table(
                show.reset_index(drop=True),
                table_id="contributions",
                joined_marker="only when joined",
            )
        )
    else:
        body.append('<p id="contributions">No crossings, so no contributions to show.</p>')

    body.append("<h2>Missed opportunities</h2>")
    mo = audit.missed_opportunities
    if len(mo):
        show = pd.DataFrame(
            {
                "date": pd.to_datetime(mo["date"]),
                "band": mo["band"].astype(str),
                f"score ({scale})": mo["score"].astype(float),
                "contributors [held by]": mo["contributors"].astype(str),
                "what followed": mo["followed_by"].astype(str),
            }
        )
        body.append(_table(show, table_id="missed-opportunities"))
    elif len(cr):
        body.append(
            f'<p id="missed-opportunities">None: every crossing was followed by a response '
            f"within {window} days, or a plan was already active.</p>"
        )
    else:
        body.append('<p id="missed-opportunities">None: there were no crossings.</p>')

    body.append("<h2>Lead times</h2>")
    lt = audit.lead_times
    if len(lt) and lt["lead_time_days"].notna().any():
        body.append(
            '<p class="lead">Days from the first crossing into each band (before the outcome) '
            "to the outcome.</p>"
        )
        show = pd.DataFrame(
            {
                "band": lt["band"].astype(str),
                "first crossing": pd.to_datetime(lt["first_crossing"]),
                "lead time (days)": lt["lead_time_days"],
            }
        )
        body.append(_table(show, table_id="lead-times"))
    else:
        body.append(
            '<p id="lead-times">No lead times: the case has no outcome date, or no crossing '
            "came before it.</p>"
        )

    params = {
        "report": "case",
        "case_id": str(audit.case_id),
        "model": _model_name(audit.model),
        "model_class": type(audit.model).__name__,
        "score_scale": scale,
        "audit_parameters": dict(audit.parameters),
    }
    prov = provenance(params, inputs={"case events": audit.events})
    prov["disclosure"] = {
        "applied": False,
        "note": "individual-level output: disclosure control does not apply; keep inside "
        "the secure environment",
    }
    body.append("<h2>Model, parameters and provenance</h2>")
    body.append(
        _facts(
            [
                ("Model", _model_name(audit.model)),
                ("Score scale", scale),
                *[(str(k), str(v)) for k, v in audit.parameters.items()],
                ("Library", f"riskscore {prov['version']}"),
                ("Created (UTC)", prov["created_utc"]),
            ]
        )
    )
    body.append(_json(prov))
    footer = _esc(f"{NOTICE} {CASE_LEVEL_NOTICE}")
    return _page(title, "\n".join(top), "\n".join(body), footer)


register_report(CaseAudit, _render_case)


def _coverage_section(audit: CaseAudit, scale: str) -> str:
    """Where the records did not cover the audited period, and what that does to scores."""
    gaps = audit.coverage_gaps
    head = '<h2 id="section-coverage">Coverage</h2>'
    if "coverage" not in audit.parameters:
        return (
            f'{head}<p id="coverage" class="lead">No coverage table was given: an agency\'s '
            "silence is read as nothing recorded. If an extract does not cover every agency "
            "for the whole period, pass <code>coverage=</code> so that missing records show "
            "as unknown, not as zero.</p>"
        )
    if gaps is None or len(gaps) == 0:
        return (
            f'{head}<p id="coverage" class="lead">Every agency\'s records cover the whole '
            "audited period.</p>"
        )
    out = [head]
    scorecard = "max_unknown_points" in gaps.columns
    if scorecard:
        most = gaps["max_unknown_points"].max()
        effect = (
            "A rule on a missing feature scores 0 and is listed as unknown, so scores in these "
            "periods may understate"
            + (
                f": the unknown rules could have added up to {most:g} {scale} on an audited "
                "date in a gap."
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
    out.append(
        '<p class="lead">Periods within the audited span that an agency\'s records do not '
        "cover. There its silence means <em>unknown</em>, not <em>nothing happened</em>: "
        "features that only uncovered agencies hold are missing, and that agency's own view "
        f"is unknown. {_esc(effect)}</p>"
    )
    show = pd.DataFrame(
        {
            "agency": gaps["agency"].astype(str).str.replace("_", " "),
            "not covered from": pd.to_datetime(gaps["from"]),
            "to": pd.to_datetime(gaps["to"]),
            "days": gaps["days"].astype(int),
        }
    )
    if scorecard:
        show[f"most {scale} unknown (joined view)"] = gaps["max_unknown_points"].astype(float)
    out.append(_table(show, table_id="coverage"))
    return "".join(out)


# --------------------------------------------------------------------------- cohort

_COHORT_SECTIONS = [
    (
        "summary",
        "Summary",
        "How many cases were audited and how many reached each band.",
        None,
    ),
    (
        "lead_times",
        "Lead times",
        "Cases with an outcome, by the days from the first crossing into each band to the "
        "outcome. Lead time alone flatters a score: read it beside the false alarms.",
        "plot_lead_times",
    ),
    (
        "false_alarms",
        "False alarms and alerts",
        "Crossings before any outcome; a false alarm is a crossing with no outcome within the "
        "horizon after it.",
        "plot_false_alarms",
    ),
    (
        "join_up_gap",
        "Join-up gap",
        "Cases with at least one day on which the joined view was in a higher band than any "
        "single agency's view.",
        None,
    ),
    (
        "missed_opportunities",
        "Missed opportunities by band and holder",
        "Crossings whose contributing information each agency held, and how many were missed "
        "opportunities (no response within the window, no plan active).",
        None,
    ),
    (
        "agency_share",
        "Who held the information",
        "Each agency's share of the contributions at crossings; 'only when joined' is "
        "information no single agency's view held.",
        "plot_agency_share",
    ),
    (
        "by_deprivation",
        "By deprivation",
        "The same measures by IMD quintile (1 = most deprived). Indicators of poverty can make "
        "a score track deprivation; this table is where that shows.",
        "plot_by_deprivation",
    ),
]


def _stamp_state(tables: dict[str, pd.DataFrame]) -> tuple[bool, dict | None]:
    """(all tables disclosure-controlled, settings of the first controlled table)."""
    settings = None
    applied_all = True
    for t in tables.values():
        stamp = t.attrs.get(DISCLOSURE_ATTR) or {}
        if not stamp.get("applied"):
            applied_all = False
        elif settings is None:
            settings = stamp.get("settings")
    return applied_all, settings


def _render_cohort(cohort: CohortAudit, title: str | None) -> str:
    tables = cohort.tables
    for t in tables.values():
        # an edited table must not leave through a report either
        check_disclosure(t)
    controlled, settings = _stamp_state(tables)
    title = title or "Retrospective cohort audit"
    top = [_notice("Retrospective audit - not a decision about any person.", " " + NOTICE)]
    if controlled:
        s = settings or {}
        top.append(
            _notice(
                "Cohort tables are disclosure-controlled.",
                f" Counts from 1 to {int(s.get('min_count', 10)) - 1} are suppressed (shown as "
                f"[c]), published counts are rounded to the nearest {s.get('round_to')}, further "
                "cells are suppressed where a total would reveal a suppressed one, and rates in "
                "a row with a suppressed count are suppressed too. Rates are shown to the whole "
                "percent. The suppression manifest for output checkers is at the end. Figures "
                "are drawn from these published tables only.",
            )
        )
    else:
        top.append(
            f'<div class="danger" role="alert">{_esc(UNDISCLOSED_BANNER)}'
            f"<small>{_esc(UNDISCLOSED_WARNING)}. These tables were made with "
            "disclosure=False: small counts are shown unsuppressed and unrounded.</small></div>"
        )

    body = [
        _facts(
            [
                ("Model", str(cohort.parameters.get("model", ""))),
                (
                    "Parameters",
                    ", ".join(
                        f"{k}={v}" for k, v in cohort.parameters.items() if k not in ("model",)
                    ),
                ),
            ]
        )
    ]
    for name, heading, lead, plot in _COHORT_SECTIONS:
        if name not in tables:
            continue
        t = tables[name]
        body.append(f'<h2 id="section-{name}">{_esc(heading)}</h2>')
        horizon = t.attrs.get("horizon_days")
        extra = f" Horizon: {horizon} days." if horizon is not None else ""
        body.append(f'<p class="lead">{_esc(lead + extra)}</p>')
        if plot is not None:
            fig = _new_figure(10.0, 4.2)
            getattr(plots, plot)(t, ax=fig.add_subplot())
            body.append(_figure(fig, alt=heading, caption=f"{heading}, from the table below."))
        suppressed = {c: plots.suppressed_cells(t, c) for c in t.columns}
        body.append(
            _table(t.reset_index(drop=True), table_id=f"table-{name}", suppressed=suppressed)
        )
    # tables a later audit version may add are shown too, never silently dropped
    for name in [n for n in tables if n not in {s[0] for s in _COHORT_SECTIONS}]:
        t = tables[name]
        body.append(f'<h2 id="section-{name}">{_esc(name.replace("_", " ").capitalize())}</h2>')
        suppressed = {c: plots.suppressed_cells(t, c) for c in t.columns}
        body.append(
            _table(t.reset_index(drop=True), table_id=f"table-{name}", suppressed=suppressed)
        )

    body.append('<h2 id="section-manifest">Suppression manifest (for output checkers)</h2>')
    if controlled:
        parts = []
        for name, t in tables.items():
            m = disclosure_manifest(t)
            if len(m):
                parts.append(m.assign(table=name)[["table", "row", "key", "column", "reason"]])
        manifest = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        body.append(
            '<p class="lead">Every suppressed cell (by table, row, key and column, never its '
            "value) and every rounded column.</p>"
        )
        body.append(
            _table(manifest, table_id="manifest")
            if len(manifest)
            else '<p id="manifest">Nothing was suppressed or rounded.</p>'
        )
    else:
        body.append(
            f'<p id="manifest"><strong>{_esc(UNDISCLOSED_BANNER)}</strong>: no disclosure '
            "control was applied, so there is no manifest. Re-run the cohort audit with "
            "disclosure=True before anything leaves the secure environment.</p>"
        )

    # cohort.n_cases is an exact count: it stays out of a controlled report (the summary
    # table publishes the rounded number)
    params = {"report": "cohort", **dict(cohort.parameters)}
    if not controlled:
        params["n_cases"] = int(cohort.n_cases)
    prov = provenance(
        params,
        disclosure=settings if controlled else False,
    )
    # hashes taken by audit_cohort from the data it audited (the data is not kept)
    for name, digest in (getattr(cohort, "input_hashes", None) or {}).items():
        prov["inputs"][name] = {"kind": "dataframe", "sha256": digest}
    body.append("<h2>Provenance</h2>")
    body.append(_json(prov))
    footer = _esc(NOTICE) + ("" if controlled else f" <strong>{_esc(UNDISCLOSED_BANNER)}</strong>")
    return _page(title, "\n".join(top), "\n".join(body), footer)


register_report(CohortAudit, _render_cohort)


# --------------------------------------------------------------------------- evaluation


def _render_evaluation(result: EvaluationResult, title: str | None) -> str:
    """Metrics, alerts, calibration, decision curve and subgroups of an evaluation.

    Case-level predictions are never included. Tables are shown as held:
    disclosure-controlled, or marked on their face when made with ``disclosure=False``.
    """
    title = title or "Model evaluation"
    tables = [("Metrics", "metrics", result.metrics), ("Alerts", "alerts", result.alerts)]
    tables.append(("Calibration by decile of predicted risk", "calibration", result.calibration))
    tables.append(("Decision curve (every 5th threshold)", "decision", result.decision_curve))
    if result.subgroups is not None:
        tables.append(("Subgroups", "subgroups", result.subgroups))
    undisclosed = []
    for name, _, t in tables:
        stamp = t.attrs.get(DISCLOSURE_ATTR)
        if stamp is not None:
            # an edited table must not leave through a report either
            check_disclosure(t)
            if not stamp.get("applied", True):
                undisclosed.append(name)
    top = [_notice("Retrospective audit and research only - not a decision about any person.")]
    top += [_notice(str(n)) for n in result.design.get("notes", [])]
    if undisclosed:
        top.append(
            f'<div class="danger" role="alert">{_esc(UNDISCLOSED_BANNER)}'
            f"<small>{_esc(UNDISCLOSED_WARNING)}: {_esc(', '.join(undisclosed))}.</small></div>"
        )
    design = {k: v for k, v in result.design.items() if k != "notes"}
    body = ["<h2>Design</h2>", _facts([(str(k), str(v)) for k, v in design.items()])]
    body.append("<h2>Figures</h2>")
    for plot, alt in (
        (plots.plot_roc, "ROC curve"),
        (plots.plot_calibration, "Calibration"),
        (plots.plot_decision_curve, "Decision curve"),
    ):
        fig = _new_figure(5, 4.2)
        plot(result, ax=fig.add_subplot())
        body.append(_figure(fig, alt=alt, caption=alt))
    if result.subgroups is not None:
        fig = _new_figure(7, 4.5)
        plots.plot_subgroups(result.subgroups, ax=fig.add_subplot())
        body.append(_figure(fig, alt="Subgroups", caption="Ratios to the reference group."))
    for name, key, t in tables:
        shown = t.iloc[::5] if key == "decision" else t
        body.append(f'<h2 id="section-{key}">{_esc(name)}</h2>')
        suppressed = {c: plots.suppressed_cells(shown, c) for c in shown.columns}
        body.append(
            _table(shown.reset_index(drop=True), table_id=f"table-{key}", suppressed=suppressed)
        )
    footer = _esc(NOTICE) + (f" <strong>{_esc(UNDISCLOSED_BANNER)}</strong>" if undisclosed else "")
    return _page(title, "\n".join(top), "\n".join(body), footer)


register_report(EvaluationResult, _render_evaluation)
