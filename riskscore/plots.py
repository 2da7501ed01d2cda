"""Figures of audit and evaluation results: draw what was computed, never recompute it.

Following scikit-learn's Display idea (compute once, plot many), every function here
takes a result object (a :class:`~riskscore.audit.CaseAudit`, a
:class:`~riskscore.audit.CohortAudit` or one of its tables, an
:class:`~riskscore.evaluation.EvaluationResult`) and an optional matplotlib ``Axes``,
draws on it and returns it. Nothing here runs an audit, re-encodes features or
scores a model.

Every figure has a title and axis labels with units, and uses the display names of
:mod:`riskscore._names` (bands, agencies, events, features), never internal codes.
:data:`CAPTIONS` holds the caption each figure is shown with in reports.

Cohort plots are drawn from the tables as published, after disclosure control: a
suppressed cell is drawn as a gap labelled "suppressed", never filled in, and a cell
missing for another reason (no outcomes, so no median) as a gap labelled "n/a".
Counts of different things (crossings, cases) are never drawn on one axis.

With ``ax=None`` a new figure is made through ``matplotlib.pyplot``, so plots show up
in notebooks with whatever backend the analyst uses; :func:`riskscore.write_report`
makes its own figures on the Agg canvas and never touches pyplot state.
"""

from __future__ import annotations

import datetime
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from riskscore._names import (
    agency_name,
    band_name,
    display,
    event_name,
    fmt_count,
    fmt_date,
    fmt_share,
    metric_name,
    outcome_name,
    quintile_name,
)
from riskscore.contract import band_thresholds, score_scale
from riskscore.errors import ParameterError, SchemaError
from riskscore.vocabulary import AGENCIES, BANDS, PLAN_START_END

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = [
    "plot_case_timeline",
    "plot_case_attendance",
    "plot_case_scores",
    "plot_lead_times",
    "plot_false_alarms",
    "plot_cases_alerted",
    "plot_agency_share",
    "plot_by_deprivation",
    "plot_calibration",
    "plot_decision_curve",
    "plot_roc",
    "plot_model_comparison",
    "plot_subgroups",
    "suppressed_cells",
    "smoothed_calibration",
    "smoothed_curve_drawn",
    "EVENT_GROUPS",
    "EVENT_STYLES",
    "CAPTIONS",
]

#: Event group -> (event codes, colour) for timelines. Within a group every event
#: type has its own marker shape (:data:`EVENT_STYLES`), so a mark names its event.
EVENT_GROUPS: dict[str, tuple[tuple[str, ...], str]] = {
    "education": (("attainment_decline", "school_concern"), "#1f77b4"),
    "health": (
        (
            "asthma_admission",
            "asthma_ed_visit",
            "asthma_plan_review",
            "reliever_prescription",
            "preventer_prescription",
            "missed_appointment",
        ),
        "#17becf",
    ),
    "parental drug use": (("parent_substance_use", "parent_substance_treatment"), "#9467bd"),
    "family": (
        (
            "paternal_involvement_lost",
            "paternal_involvement_restored",
            "sibling_removed",
            "competing_care_demand",
            "child_voice_concern",
        ),
        "#ff7f0e",
    ),
    "police and home": (
        ("police_incident_home", "domestic_abuse_incident", "housing_poor", "economic_hardship"),
        "#8c564b",
    ),
    "response": (
        (
            "school_referral",
            "social_care_referral",
            "early_help_start",
            "strategy_meeting",
            "cp_conference",
            "cin_plan_start",
            "cp_plan_start",
        ),
        "#000000",
    ),
    "plan ended": (("cin_plan_end", "cp_plan_end"), "#7f7f7f"),
}

_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "h")

#: Event code -> (marker, colour): colour by group, shape by event within the group.
EVENT_STYLES: dict[str, tuple[str, str]] = {
    event: (_MARKERS[k % len(_MARKERS)], colour)
    for events, colour in EVENT_GROUPS.values()
    for k, event in enumerate(events)
}
_GROUP_OF = {e: g for g, (events, _) in EVENT_GROUPS.items() for e in events}

_BAND_COLOURS = {"review": "#e6a700", "multi_agency_discussion": "#c0392b"}
_AGENCY_COLOURS = dict(
    zip(
        AGENCIES,
        ["#1f77b4", "#17becf", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"],
        strict=True,
    )
)
_AGENCY_STYLES = dict(zip(AGENCIES, ["-", "--", "-", "--", "-.", "-", ":", "-."], strict=True))
_PLAN_COLOUR = "#2ca02c"
_OUTCOME_COLOUR = "#d62728"
_SUPPRESSED = "suppressed"
_NOT_AVAILABLE = "n/a"

#: Figure -> the caption reports show under it (what is drawn and how to read it).
CAPTIONS: dict[str, str] = {
    "plot_case_timeline": (
        "Each row is one agency; each mark is one event that agency recorded, placed on the "
        "day it happened. Every kind of event has its own mark (see the key); black marks "
        "are responses (referrals, meetings, conferences, plan starts). School attendance is "
        "drawn as a line in the next figure. Labelled vertical lines mark plan starts and the "
        "outcome."
    ),
    "plot_case_attendance": (
        "The child's attendance, one point per school period (dated at its end), as a "
        "percentage of sessions attended. Dotted lines mark England's persistent-absence "
        "(90% or less) and severe-absence (50% or less) lines, which two features test."
    ),
    "plot_case_scores": (
        "The joined score (thick black line: all agencies' records together) and each "
        "agency's own score (thin lines: what its records alone give), step by step on the "
        "exact days they change. Dotted horizontal lines are the band thresholds. Numbered "
        "triangles are crossings into a band, numbered as in the crossings table; hollow grey "
        "triangles are returns after a dip (the score fell below the band for less than the "
        "minimum gap and came back: the same episode, not a new crossing). A red bar under "
        "the axis is the response window of a missed opportunity: no response followed within "
        "it. Orange shading marks the join-up gap: days on which the joined view was in a "
        "higher band than every agency's own view."
    ),
    "plot_lead_times": (
        "Cases with an outcome, by how many days before the outcome the joined score first "
        "crossed into each band. Lead time alone flatters a score: read it beside the false "
        "alarms."
    ),
    "plot_false_alarms": (
        "Left: crossings into each band before any outcome, and how many were false alarms "
        "(no outcome within the horizon after them); the label on each false-alarm bar is its "
        "share of the crossings. Right: children with at least one crossing, and children "
        "with an outcome within the horizon after a crossing. Crossings and children are "
        "counted on separate axes."
    ),
    "plot_agency_share": (
        "Each agency's share of all the points (or log-odds) that contributed to the score "
        "at crossings: whose own records held the information. 'No single agency' is "
        "information that only the joined records produce."
    ),
    "plot_by_deprivation": (
        "By deprivation quintile (1 = most deprived): the share of children whose joined "
        "score reached multi-agency discussion, and the share with a join-up gap. Poverty-"
        "linked indicators can make a score track deprivation; this is where it shows."
    ),
    "plot_roc": (
        "Sensitivity against false positive rate as the alert threshold moves (ROC curve). "
        "The dashed diagonal is chance; the AUROC and its interval are in the legend."
    ),
    "plot_calibration": (
        "Observed outcome rate against mean predicted risk. Points are tenths of predicted "
        "risk, neighbouring ones merged where disclosure control needs it; a smoothed curve "
        "(when the evaluation has "
        "one) shows calibration between them. On the dashed diagonal predictions equal "
        "outcomes."
    ),
    "plot_decision_curve": (
        "Net benefit (true alerts minus false alerts weighted by the threshold odds, per "
        "row) across alert thresholds, over the useful range: the model beside alerting "
        "everyone and alerting no one (0). A model is useful where its line is above both."
    ),
    "plot_subgroups": (
        "Each group's estimate as a ratio to its reference group (1 = the same), with the "
        "case-bootstrap interval, on a log scale. Rows whose counts disclosure control "
        "suppressed, or that cannot be estimated, are named, not drawn."
    ),
}


# --------------------------------------------------------------------------- helpers


def _check_axes(ax) -> None:
    """Refuse an ``ax`` that is not a matplotlib Axes (not an AttributeError later)."""
    from matplotlib.axes import Axes as _Axes

    if not isinstance(ax, _Axes):
        raise ParameterError(
            f"ax must be a matplotlib Axes (or None for a new figure); got "
            f"{type(ax).__name__}. Fix: pass e.g. the ax of fig, ax = plt.subplots()."
        )


def _new_axes(ax, figsize):
    if ax is not None:
        _check_axes(ax)
        return ax
    import matplotlib.pyplot as plt  # only when the caller wants a fresh figure

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _date_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _title(ax, title: str, note: str = "") -> None:
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    if note:
        ax.set_title(note, loc="right", fontsize=8, color="#555555")


def _case_events(audit) -> pd.DataFrame:
    ev = audit.events
    out = pd.DataFrame(
        {
            "date": pd.to_datetime(ev["date"]),
            "agency": ev["agency"].astype(str).to_numpy(),
            "event": ev["event"].astype(str).to_numpy(),
        }
    )
    if "value" in ev.columns:
        out["value"] = pd.to_numeric(ev["value"], errors="coerce").to_numpy()
    else:
        out["value"] = np.nan
    return out


def _plus_days(t, days: float) -> datetime.datetime:
    """``t`` moved by ``days``, as a Python datetime.

    pandas holds no day after 2262-04-11 or before 1677-09-22, and the figures pad
    and shade past their dates: matplotlib draws years 1 to 9999, so the sum is taken
    there (and held at those ends).
    """
    base = pd.Timestamp(t).to_pydatetime()
    try:
        return base + datetime.timedelta(days=days)
    except OverflowError:
        return datetime.datetime.max if days > 0 else datetime.datetime.min


def _audited_span(audit) -> tuple[datetime.datetime, datetime.datetime]:
    """The x-range every case figure shares: first event to the audited period's end."""
    t = pd.to_datetime(audit.trajectory["as_of"])
    ev = pd.to_datetime(audit.events["date"])
    start = min(t.min(), ev.min())
    end = max(t.max(), ev.max())
    if audit.outcome_date is not None:
        end = max(end, pd.Timestamp(audit.outcome_date))
    pad = max(int((end - start).days * 0.02), 7)
    return _plus_days(start, -pad), _plus_days(end, pad)


def _mark_outcome_and_plans(ax, audit, *, text: bool) -> None:
    """Plan starts (dashed green) and the outcome (solid red), each labelled in words.

    Labels sit at the top of the axes, a plan's to the left of its line and the
    outcome's to the right, so lines a few days apart stay readable.
    """
    ev = _case_events(audit)
    plans = ev.loc[ev["event"].isin(list(PLAN_START_END)).to_numpy()]
    for i, (date, event) in enumerate(plans[["date", "event"]].itertuples(index=False)):
        ax.axvline(date, color=_PLAN_COLOUR, linestyle="--", linewidth=1.4, zorder=1)
        if text:
            ax.annotate(
                f"{event_name(event)} {fmt_date(date)}",
                xy=(date, 1.0 - 0.09 * (i % 2)),
                xycoords=("data", "axes fraction"),
                xytext=(-4, -3),
                textcoords="offset points",
                ha="right",
                va="top",
                fontsize=8,
                color=_PLAN_COLOUR,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
                zorder=7,
            )
    if audit.outcome_date is not None:
        no_name = audit.outcome is None or bool(pd.isna(audit.outcome))
        what = "outcome" if no_name else outcome_name(audit.outcome)
        ax.axvline(audit.outcome_date, color=_OUTCOME_COLOUR, linewidth=2.0, zorder=1)
        if text:
            ax.annotate(
                f"{what} {fmt_date(audit.outcome_date)}",
                xy=(audit.outcome_date, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(4, -3),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=8,
                color=_OUTCOME_COLOUR,
                fontweight="bold",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
                zorder=7,
            )


def _table(obj, name: str) -> pd.DataFrame:
    """A cohort table from a CohortAudit (or the table itself, with its columns)."""
    if isinstance(obj, pd.DataFrame):
        _columns(obj, _COHORT_COLUMNS[name], f"the {name!r} figure", f"the {name!r} table")
        return obj
    tables = getattr(obj, "tables", None)
    if not isinstance(tables, dict) or name not in tables:
        raise ParameterError(
            f"expected a CohortAudit (riskscore.audit_cohort) or its {name!r} table, "
            f"got {type(obj).__name__}"
        )
    return tables[name]


#: The columns each cohort figure reads from its table.
_COHORT_COLUMNS = {
    "lead_times": ("band", "lead_time_days", "n_cases"),
    "false_alarms": (
        "band",
        "n_crossings",
        "n_false_alarms",
        "n_cases_alerted",
        "n_true_cases_alerted",
    ),
    "agency_share": ("held_by", "share_of_contribution"),
    "by_deprivation": ("imd_quintile", "share_reached_mad", "share_with_gap"),
}


def _need(obj, attributes, who: str, what: str) -> None:
    """Refuse an object that is not the result a figure draws (not an AttributeError)."""
    if not all(hasattr(obj, a) for a in attributes):
        raise ParameterError(f"{who}: expected {what}; got {type(obj).__name__}.")


def _columns(table, columns, who: str, what: str) -> None:
    """Refuse a table without the columns a figure reads, naming them."""
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"{who}: expected {what}; got {type(table).__name__}.")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaError(
            f"{who}: {what} should have column(s) {missing}; it has {list(table.columns)}."
        )


def suppressed_cells(table: pd.DataFrame, column: str) -> np.ndarray:
    """Boolean mask of the rows whose ``column`` cell disclosure control suppressed.

    Read from the table's disclosure manifest (``attrs["riskscore_disclosure"]``), so
    a cell missing for another reason (a median with no outcomes) is not counted.

    Parameters
    ----------
    table : DataFrame
        A table from :func:`riskscore.disclosure.disclose` (or a cohort audit).
    column : str

    Returns
    -------
    ndarray of bool
        One entry per row of ``table``.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore.disclosure import disclose
    >>> t = disclose(pd.DataFrame({"group": ["a", "b"], "n": [3, 40]}))
    >>> suppressed_cells(t, "n").tolist()
    [True, False]
    """
    stamp = table.attrs.get("riskscore_disclosure") or {}
    rows = [m["row"] for m in stamp.get("manifest", []) if m.get("row") is not None]
    cols = [m["column"] for m in stamp.get("manifest", []) if m.get("row") is not None]
    hit = [r for r, c in zip(rows, cols, strict=True) if c == column]
    return np.asarray(table.index.isin(hit), dtype=bool)


def _values(table: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _series(
    table: pd.DataFrame, spec: list[tuple[str, str, str]]
) -> list[tuple[str, np.ndarray, np.ndarray, str]]:
    """``_grouped_bars`` series from ``(column, label, colour)`` specs of a cohort table."""
    return [(lab, _values(table, c), suppressed_cells(table, c), col) for c, lab, col in spec]


def _grouped_bars(
    ax,
    categories: list[str],
    series: list[tuple[str, np.ndarray, np.ndarray, str]],
    *,
    horizontal: bool = False,
    percent: bool = False,
    bar_labels: list[list[str] | None] | None = None,
) -> None:
    """Grouped bars; a missing value is a gap labelled "suppressed" or "n/a".

    ``series`` holds ``(label, values, suppressed_mask, colour)``; ``bar_labels``
    optionally replaces the value printed on each series' bars.
    """
    n = len(series)
    pos = np.arange(len(categories), dtype=float)
    width = 0.8 / max(n, 1)
    finite = [v[np.isfinite(v)] for _, v, _, _ in series]
    top = max([float(f.max()) for f in finite if f.size] + [0.0])
    top = top if top > 0 else 1.0
    bar = ax.barh if horizontal else ax.bar
    for k, (label, values, suppressed, colour) in enumerate(series):
        at = pos - 0.4 + width * (k + 0.5)
        shown = np.isfinite(values)
        bars = bar(at[shown], values[shown], width * 0.92, color=colour, label=label)
        if bar_labels is not None and bar_labels[k] is not None:
            texts = [t for t, s in zip(bar_labels[k], shown, strict=True) if s]
        else:
            texts = [fmt_share(v) if percent else fmt_count(v) for v in values[shown]]
        ax.bar_label(bars, labels=texts, padding=2, fontsize=8)
        for i in np.flatnonzero(~shown):
            text = _SUPPRESSED if suppressed[i] else _NOT_AVAILABLE
            # a gap, not a zero bar: the label sits where the bar would start
            style = {"fontsize": 8, "color": "#555555", "style": "italic"}
            if horizontal:
                ax.text(top * 0.01, at[i], text, va="center", ha="left", **style)
            else:
                ax.text(at[i], top * 0.01, text, va="bottom", ha="center", rotation=90, **style)
    # the category axis spans every slot, drawn or not: with every bar of a category
    # suppressed, autoscaling fitted the axis to the ticks alone, the gap labels fell
    # outside it and constrained layout collapsed the axes (a one-child cohort)
    span = (-0.5, len(categories) - 0.5)
    if horizontal:
        ax.set_yticks(pos, categories)
        ax.set_ylim(span[1], span[0])  # first category at the top
        ax.set_xlim(0, top * 1.2)
    else:
        ax.set_xticks(pos, categories)
        ax.set_xlim(*span)
        ax.set_ylim(0, top * 1.2)
    if percent:
        from matplotlib.ticker import PercentFormatter

        (ax.xaxis if horizontal else ax.yaxis).set_major_formatter(PercentFormatter(1.0))
    ax.grid(axis="x" if horizontal else "y", alpha=0.3)
    ax.set_axisbelow(True)


def _disclosure_note(table: pd.DataFrame) -> str:
    stamp = table.attrs.get("riskscore_disclosure") or {}
    if not stamp:
        return "no disclosure stamp"
    if not stamp.get("applied"):
        return "DISCLOSURE CONTROL OFF - not for release"
    s = stamp.get("settings") or {}
    return (
        f"counts under {s.get('min_count')} suppressed, rounded to the nearest {s.get('round_to')}"
    )


# --------------------------------------------------------------------------- case


def plot_case_timeline(audit, ax: Axes | None = None, *, agencies=None) -> Axes:
    """One lane per agency with the events it recorded; every event type its own mark.

    Within a lane each event type has its own row and mark (shape and colour, see
    :data:`EVENT_STYLES`), named in the key with its count; responses are black.
    Attendance records are drawn as a line by :func:`plot_case_attendance`, not as
    marks. Lanes are drawn only for agencies with events in the case; the others
    are named in a note. Plan starts and the outcome are labelled vertical lines.
    When the audit was given a coverage table, periods an agency's records do not
    cover are hatched grey in its lane (``audit.coverage_gaps``).

    Parameters
    ----------
    audit : CaseAudit
        From :func:`riskscore.audit.audit_case` (individual-level).
    ax : matplotlib Axes, optional
        Drawn on when given; else a new figure is made.
    agencies : sequence of str, optional
        Lane order (default :data:`riskscore.AGENCIES`, then any other agency).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from riskscore.audit import audit_case
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.synthetic import vignette
    >>> events, cases = vignette()
    >>> audit = audit_case(events, cases, default_scorecard(), "CHILD-A")
    >>> ax = plot_case_timeline(audit)
    >>> ax.get_title(loc="left")
    'Events recorded by each agency'
    """
    _need(audit, ("events",), "plot_case_timeline", "a CaseAudit (riskscore.audit_case)")
    everything = _case_events(audit)
    attendance = (everything["event"] == "attendance").to_numpy()
    ev = everything.loc[~attendance]
    order = list(agencies) if agencies is not None else list(AGENCIES)
    present = set(ev["agency"])
    lanes = [a for a in order if a in present]
    lanes += sorted(present - set(lanes))
    # attendance records are the recording agency's records too, drawn in the
    # attendance figure: such an agency is not "without records"
    attendance_only = sorted(set(everything.loc[attendance, "agency"]) - present)
    empty = [a for a in order if a not in present and a not in attendance_only]
    rank = {e: k for k, e in enumerate(EVENT_STYLES)}
    # each event type gets its own row inside its lane, so same-day marks never cover
    # each other; a lane is as tall as the kinds of event its agency recorded
    kinds = ev[["agency", "event"]].drop_duplicates()
    kinds = kinds.assign(rank=kinds["event"].map(rank).fillna(len(rank))).sort_values(
        ["agency", "rank"], kind="stable"
    )
    row_of, spans, top = {}, {}, 0.0
    for agency in lanes:
        sub = kinds.loc[(kinds["agency"] == agency).to_numpy(), "event"].tolist()
        for j, event in enumerate(sub):
            row_of[(agency, event)] = top + 0.75 + j
        spans[agency] = (top, top + len(sub) + 0.5)
        top += len(sub) + 0.5
    ax = _new_axes(ax, (12, 0.17 * top + 2.6))
    y = np.array([row_of[(a, e)] for a, e in zip(ev["agency"], ev["event"], strict=True)])
    ev = ev.assign(y=y)
    for event in sorted(set(ev["event"]), key=lambda e: rank.get(e, len(rank))):
        sub = ev.loc[(ev["event"] == event).to_numpy()]
        marker, colour = EVENT_STYLES.get(event, ("o", "#aaaaaa"))
        response = _GROUP_OF.get(event) == "response"
        ax.scatter(
            sub["date"],
            sub["y"],
            marker=marker,
            s=64 if response else 30,
            c=colour,
            edgecolors="#ffd400" if response else "white",
            linewidths=0.7 if response else 0.4,
            zorder=4 if response else 3,
            label=f"{event_name(event)} ({len(sub)})",
        )
    _shade_coverage_gaps(ax, audit, spans)
    _mark_outcome_and_plans(ax, audit, text=True)
    end = pd.Timestamp(audit.trajectory["as_of"].iloc[-1])
    if len(ev) and ev["date"].max() > end:
        # events after the outcome or follow-up end are shown but were not audited
        ax.axvspan(
            end,
            _plus_days(ev["date"].max(), 10),
            color="#bbbbbb",
            alpha=0.25,
            zorder=1,
            label="after the audited period",
        )
    for i, agency in enumerate(lanes):
        lo, hi = spans[agency]
        ax.axhspan(lo, hi, color="#f3f3f3" if i % 2 else "white", zorder=0)
    ax.set_yticks([sum(spans[a]) / 2 for a in lanes], [agency_name(a) for a in lanes])
    # room above the first lane for the plan and outcome labels (and for a note
    # when there is no lane)
    ax.set_ylim(max(top, 1.5), -0.9)
    ax.set_xlim(*_audited_span(audit))
    ax.set_ylabel("agency that recorded the event")
    ax.set_xlabel("date")
    notes = []
    if attendance_only:
        notes.append(
            "only attendance recorded by: "
            + ", ".join(agency_name(a) for a in attendance_only)
            + " (drawn in the attendance figure)"
        )
    if empty:
        notes.append("no events recorded by: " + ", ".join(agency_name(a) for a in empty))
    if not lanes:
        # no lane to label: the notes go in the empty axes, where there is room
        ax.set_yticks([])
        ax.set_ylabel("agency")
        ax.text(
            0.5,
            0.45,
            "\n".join(
                [
                    "no events other than attendance records"
                    if attendance_only
                    else "no events recorded in this case",
                    *notes,
                ]
            ),
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=8.5,
            color="#555555",
        )
        notes = []
    _title(ax, "Events recorded by each agency", "; ".join(notes))
    if ax.get_legend_handles_labels()[0]:  # no key without a labelled mark
        _legend_below(ax, ncol=4, title="event (number recorded)")
    _date_axis(ax)
    return ax


def _legend_below(ax, *, ncol: int = 4, **kwargs):
    """A legend under the axes (below the date labels), so plots keep their full width."""
    height = ax.get_position().height * ax.figure.get_figheight()
    return ax.legend(
        loc="upper left",
        bbox_to_anchor=(0.0, -0.6 / max(height, 0.5)),
        ncol=ncol,
        fontsize=8,
        title_fontsize=8,
        frameon=False,
        alignment="left",
        **kwargs,
    )


def _shade_coverage_gaps(ax, audit, spans: dict[str, tuple[float, float]]) -> None:
    """Hatch, lane by lane, the periods an agency's records do not cover."""
    gaps = getattr(audit, "coverage_gaps", None)
    if gaps is None or len(gaps) == 0:
        return
    import matplotlib.dates as mdates

    labelled = False
    for agency, sub in gaps.groupby(gaps["agency"].astype(str), sort=False):
        if agency not in spans:
            continue
        start = mdates.date2num(pd.to_datetime(sub["from"]).to_numpy())
        # a gap's "to" day is uncovered too: the shading runs to the end of that day
        stop = mdates.date2num(pd.to_datetime(sub["to"]).to_numpy()) + 1.0
        lo, hi = spans[agency]
        ax.broken_barh(
            list(zip(start, stop - start, strict=True)),
            (lo, hi - lo),
            facecolors="#d9d9d9",
            edgecolors="#8c8c8c",
            hatch="///",
            linewidth=0.0,
            alpha=0.6,
            zorder=1,
            label=None if labelled else "no coverage (records not available)",
        )
        labelled = True


def plot_case_attendance(audit, ax: Axes | None = None) -> Axes:
    """School attendance over time as a line, with the absence lines features test.

    One point per attendance record (the fraction of sessions attended in the school
    period ending on its date), joined by a line; England's persistent-absence (90%)
    and severe-absence (50%) lines are dotted. The x-range matches
    :func:`plot_case_timeline` and :func:`plot_case_scores`.

    Parameters
    ----------
    audit : CaseAudit
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from riskscore.audit import audit_case
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.synthetic import vignette
    >>> events, cases = vignette()
    >>> ax = plot_case_attendance(audit_case(events, cases, default_scorecard(), "CHILD-A"))
    >>> ax.get_ylabel()
    'attendance (% of sessions)'
    """
    _need(audit, ("events",), "plot_case_attendance", "a CaseAudit (riskscore.audit_case)")
    ev = _case_events(audit)
    att = ev.loc[(ev["event"] == "attendance").to_numpy()].sort_values("date", kind="stable")
    att = att.loc[np.isfinite(att["value"].to_numpy(dtype=float))]
    ax = _new_axes(ax, (12, 2.6))
    from matplotlib.ticker import PercentFormatter

    for level, text in ((0.9, "persistent absence line (90%)"), (0.5, "severe absence line (50%)")):
        ax.axhline(level, color="#8c564b", linestyle=":", linewidth=1.2, zorder=1)
        ax.annotate(
            text,
            xy=(0.0, level),
            xycoords=("axes fraction", "data"),
            xytext=(3, 2),
            textcoords="offset points",
            fontsize=7.5,
            color="#8c564b",
        )
    if len(att):
        ax.plot(
            att["date"],
            att["value"],
            "-o",
            color=_AGENCY_COLOURS["school"],
            markersize=3.5,
            linewidth=1.6,
            label="attendance",
            zorder=3,
        )
        low = float(att["value"].min())
    else:
        ax.text(
            0.5,
            0.5,
            "no attendance records in this case",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="#555555",
        )
        low = 0.4
    _mark_outcome_and_plans(ax, audit, text=False)
    ax.set_ylim(max(min(low, 0.45) - 0.05, 0.0), 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(*_audited_span(audit))
    ax.set_ylabel("attendance (% of sessions)")
    ax.set_xlabel("date (end of each school period)")
    ax.grid(axis="y", alpha=0.3)
    _title(ax, "School attendance")
    _date_axis(ax)
    return ax


def plot_case_scores(audit, ax: Axes | None = None, *, agencies=None) -> Axes:
    """The joined score and each agency's own score over time, with band lines.

    Scores are step functions of the date (drawn with ``where="post"`` through every
    evaluated date, so steps sit on the exact days). Crossings into a band are
    numbered triangles on the joined line; returns after a dip (shorter than the
    audit's ``min_gap``) are hollow grey triangles; each missed opportunity is a
    red bar under the axis spanning its response window. Days in a join-up gap are
    shaded; plan starts and the outcome are labelled vertical lines. Agencies whose
    own score stays at 0 are named in the key instead of drawn as flat lines.

    Parameters
    ----------
    audit : CaseAudit
    ax : matplotlib Axes, optional
    agencies : sequence of str, optional
        Agency views to draw (default: every ``score_<agency>`` column).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from riskscore.audit import audit_case
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.synthetic import vignette
    >>> events, cases = vignette()
    >>> audit = audit_case(events, cases, default_scorecard(), "CHILD-A")
    >>> ax = plot_case_scores(audit)
    >>> ax.get_ylabel()
    'score (points)'
    """
    _need(audit, ("trajectory",), "plot_case_scores", "a CaseAudit (riskscore.audit_case)")
    t = audit.trajectory
    ax = _new_axes(ax, (12, 4.8))
    dates = pd.to_datetime(t["as_of"])
    if agencies is None:
        agencies = [c[len("score_") :] for c in t.columns if c.startswith("score_")]
    flat = []
    for a in agencies:
        s = t[f"score_{a}"].to_numpy(dtype=float)
        if np.nanmax(np.abs(s), initial=0.0) == 0:
            flat.append(a)
            continue
        ax.step(
            dates,
            s,
            where="post",
            linewidth=1.4,
            alpha=0.9,
            color=_AGENCY_COLOURS.get(a),
            linestyle=_AGENCY_STYLES.get(a, "-"),
            zorder=3,  # thin lines over the thick joined line: equal scores stay visible
            label=f"{agency_name(a)} alone",
        )
    ax.step(
        dates, t["score"], where="post", color="black", linewidth=3.0, zorder=2, label="joined view"
    )
    top = float(np.nanmax(t["score"].to_numpy(dtype=float), initial=1.0))
    # join-up gap: days the joined band is above every single agency's band
    joined = pd.Categorical(t["band"], categories=list(BANDS), ordered=True).codes
    best = pd.Categorical(t["best_agency_band"], categories=list(BANDS), ordered=True).codes
    gap = joined > best
    if gap.any():
        # each gap runs to the next as-of date (the last, a day past its own)
        nxt = np.array([*dates.iloc[1:], _plus_days(dates.iloc[-1], 1)], dtype=object)
        starts = dates[gap & ~np.r_[False, gap[:-1]]]
        ends = nxt[gap & ~np.r_[gap[1:], False]]
        for i, (s0, s1) in enumerate(zip(starts, ends, strict=True)):
            ax.axvspan(
                s0,
                s1,
                color="#f4a261",
                alpha=0.18,
                zorder=0,
                label=f"join-up gap ({audit.join_up_gap_days:,} days)" if i == 0 else None,
            )
    thresholds = band_thresholds(audit.model)
    for band, threshold in thresholds.items():
        ax.axhline(threshold, color=_BAND_COLOURS.get(band, "grey"), linestyle=":", linewidth=1.4)
        top = max(top, float(threshold))
    if thresholds:
        # band names on a right-hand axis: inside the plot they would cover early crossings
        side = ax.secondary_yaxis("right")
        side.set_yticks(
            list(thresholds.values()),
            labels=[textwrap.fill(f"{band_name(b)} ({v:g})", 14) for b, v in thresholds.items()],
        )
        side.tick_params(labelsize=8, length=0)
        for label, band in zip(side.get_yticklabels(), thresholds, strict=True):
            label.set_color(_BAND_COLOURS.get(band, "grey"))
    low = float(np.nanmin(t["score"].to_numpy(dtype=float), initial=0.0))
    strip = low - 0.07 * (top - low)  # the missed-opportunity strip under the lines
    cr = audit.crossings
    window = int(audit.parameters.get("response_window", 28))
    if len(cr):
        for band in BANDS[1:]:
            sub = cr.loc[(cr["band"].astype(str) == band).to_numpy()]
            if len(sub):
                ax.scatter(
                    pd.to_datetime(sub["date"]),
                    sub["score"],
                    marker="^",
                    s=90,
                    color=_BAND_COLOURS.get(band),
                    edgecolors="black",
                    zorder=5,
                    label=f"crossing into {band_name(band)}",
                )
        missed = cr.loc[cr["missed"].to_numpy(dtype=bool)]
        for i, d in enumerate(pd.to_datetime(missed["date"])):
            ax.plot(
                [d.to_pydatetime(), _plus_days(d, window)],
                [strip, strip],
                color=_OUTCOME_COLOUR,
                linewidth=5,
                solid_capstyle="butt",
                zorder=5,
                label=f"missed opportunity: no response within {window} days" if i == 0 else None,
            )
        # crossings are numbered as in the report's crossings table; labels alternate
        # above and below so that crossings close in time stay readable
        for k, r in enumerate(cr.itertuples(index=False)):
            ax.annotate(
                str(k + 1),
                xy=(pd.Timestamp(r.date), r.score),
                xytext=(-14, 6 if k % 2 == 0 else -14),
                textcoords="offset points",
                fontsize=8,
                fontweight="bold",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "#999999", "lw": 0.5},
                zorder=6,
            )
    dips = getattr(audit, "dips", None)
    if dips is not None and len(dips):
        ax.scatter(
            pd.to_datetime(dips["returned"]),
            dips["score"],
            marker="^",
            s=70,
            facecolors="none",
            edgecolors="#555555",
            linewidths=1.2,
            zorder=5,
            label=f"return after a dip under {audit.parameters.get('min_gap', 28)} days "
            "(same episode)",
        )
    _mark_outcome_and_plans(ax, audit, text=True)
    if flat:
        # an invisible entry names the agencies whose own view never scored
        text = textwrap.fill("score 0 throughout: " + ", ".join(agency_name(a) for a in flat), 44)
        ax.plot([], [], " ", label=text)
    ax.set_ylim(strip - 0.05 * (top - low), top + 0.12 * (top - low))
    ax.set_xlim(*_audited_span(audit))
    ax.set_ylabel(f"score ({score_scale(audit.model)})")
    ax.set_xlabel("date")
    _title(ax, "Joined score and each agency's own score")
    ax.grid(axis="y", alpha=0.3)
    _legend_below(ax, ncol=4)
    _date_axis(ax)
    return ax


# --------------------------------------------------------------------------- cohort


def _lead_bin(label: str) -> str:
    text = str(label)
    if text.startswith("never"):
        return "never reached\nbefore outcome"
    return text.replace("-", " to ").replace("over ", "over\n")


def plot_lead_times(cohort, ax: Axes | None = None) -> Axes:
    """Lead-time distribution: cases per lead-time bin, one bar colour per band.

    Drawn from the cohort's ``lead_times`` table as published.

    Parameters
    ----------
    cohort : CohortAudit or DataFrame
        The audit, or its ``lead_times`` table.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from riskscore.audit import audit_cohort
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.synthetic import make_cohort
    >>> events, cases = make_cohort(200, random_state=0)
    >>> ax = plot_lead_times(audit_cohort(events, cases, default_scorecard()))
    >>> ax.get_xlabel()
    'lead time: days from the first crossing to the outcome'
    """
    t = _table(cohort, "lead_times")
    ax = _new_axes(ax, (10, 4))
    cats = list(dict.fromkeys(t["lead_time_days"].astype(str)))
    series = []
    for band in dict.fromkeys(t["band"].astype(str)):
        sub = t.loc[(t["band"].astype(str) == band).to_numpy()]
        sub_cats = sub["lead_time_days"].astype(str).to_numpy()
        idx = [int(np.flatnonzero(sub_cats == c)[0]) if c in sub_cats else -1 for c in cats]
        v = _values(sub, "n_cases")
        sup = suppressed_cells(sub, "n_cases") if len(sub) else np.zeros(0, bool)
        vals = np.array([v[i] if i >= 0 else np.nan for i in idx])
        sups = np.array([bool(sup[i]) if i >= 0 else False for i in idx])
        series.append((band_name(band), vals, sups, _BAND_COLOURS.get(band, "grey")))
    _grouped_bars(ax, [_lead_bin(c) for c in cats], series)
    if cats and cats[-1].startswith("never"):
        # "never reached" is not a lead time: set it apart from the bins
        ax.axvline(len(cats) - 1.5, color="#999999", linestyle="--", linewidth=1)
    ax.set_xlabel("lead time: days from the first crossing to the outcome")
    ax.set_ylabel("cases with an outcome (count)")
    _title(ax, "Lead time to the outcome", _disclosure_note(t))
    ax.legend(fontsize=8, frameon=False, title="first crossing into", title_fontsize=8)
    return ax


def plot_false_alarms(cohort, ax: Axes | None = None) -> Axes:
    """Crossings and false alarms per band (both counted in crossings).

    For each band: all crossings before any outcome, and those with no outcome in
    the horizon after them (false alarms, labelled with their share), from the
    ``false_alarms`` table. Children are counted by :func:`plot_cases_alerted`, on
    their own axis.

    Parameters
    ----------
    cohort : CohortAudit or DataFrame
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from riskscore.audit import audit_cohort
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.synthetic import make_cohort
    >>> events, cases = make_cohort(200, random_state=0)
    >>> ax = plot_false_alarms(audit_cohort(events, cases, default_scorecard()))
    >>> ax.get_ylabel()
    'crossings (count)'
    """
    t = _table(cohort, "false_alarms")
    ax = _new_axes(ax, (6, 4))
    horizon = t.attrs.get("horizon_days")
    cats = [band_name(b) for b in t["band"].astype(str)]
    spec = [
        ("n_crossings", "all crossings", "#7f7f7f"),
        ("n_false_alarms", "false alarms (no outcome within the horizon)", "#e6a700"),
    ]
    share = _values(t, "false_alarm_share") if "false_alarm_share" in t else None
    labels = None
    if share is not None:
        counts = _values(t, "n_false_alarms")
        labels = [
            None,
            [
                f"{fmt_count(c)} ({fmt_share(s)})" if np.isfinite(s) else fmt_count(c)
                for c, s in zip(counts, share, strict=True)
            ],
        ]
    _grouped_bars(ax, cats, _series(t, spec), bar_labels=labels)
    ax.set_ylabel("crossings (count)")
    ax.set_xlabel("band crossed into")
    h = f"horizon {horizon} days" if horizon is not None else ""
    _title(ax, "Crossings and false alarms", h)
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    return ax


def plot_cases_alerted(cohort, ax: Axes | None = None) -> Axes:
    """Children with a crossing, and children alerted before an outcome, per band.

    From the ``false_alarms`` table's case counts (``n_cases_alerted``,
    ``n_true_cases_alerted``): counted in children, so drawn apart from crossings.

    Parameters
    ----------
    cohort : CohortAudit or DataFrame
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from riskscore.audit import audit_cohort
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.synthetic import make_cohort
    >>> events, cases = make_cohort(200, random_state=0)
    >>> ax = plot_cases_alerted(audit_cohort(events, cases, default_scorecard()))
    >>> ax.get_ylabel()
    'children (count)'
    """
    t = _table(cohort, "false_alarms")
    ax = _new_axes(ax, (6, 4))
    cats = [band_name(b) for b in t["band"].astype(str)]
    spec = [
        ("n_cases_alerted", "children with a crossing", "#1f77b4"),
        ("n_true_cases_alerted", "children with an outcome within the horizon", "#2ca02c"),
    ]
    _grouped_bars(ax, cats, _series(t, spec))
    ax.set_ylabel("children (count)")
    ax.set_xlabel("band crossed into")
    _title(ax, "Children alerted", _disclosure_note(t))
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    return ax


def plot_agency_share(cohort, ax: Axes | None = None) -> Axes:
    """Each agency's share of the information that contributed at crossings.

    From the ``agency_share`` table: the share of all contributions (points or
    log-odds) at crossings held by each agency, and by the joined view alone.

    Parameters
    ----------
    cohort : CohortAudit or DataFrame
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from riskscore.audit import audit_cohort
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.synthetic import make_cohort
    >>> events, cases = make_cohort(200, random_state=0)
    >>> ax = plot_agency_share(audit_cohort(events, cases, default_scorecard()))
    >>> ax.get_xlabel()
    'share of the contributions at crossings (%)'
    """
    t = _table(cohort, "agency_share")
    ax = _new_axes(ax, (8, 4))
    cats = [textwrap.fill(agency_name(h), 22) for h in t["held_by"].astype(str)]
    spec = [("share_of_contribution", "share", "#1f77b4")]
    _grouped_bars(ax, cats, _series(t, spec), horizontal=True, percent=True)
    ax.set_xlabel("share of the contributions at crossings (%)")
    ax.set_ylabel("held by")
    _title(ax, "Who held the information", _disclosure_note(t))
    return ax


def plot_by_deprivation(cohort, ax: Axes | None = None) -> Axes:
    """Share reaching multi-agency discussion and share with a join-up gap, by IMD quintile.

    From the ``by_deprivation`` table (quintile 1 is the most deprived). A score
    that tracks deprivation shows here first.

    Parameters
    ----------
    cohort : CohortAudit or DataFrame
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from riskscore.audit import audit_cohort
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.synthetic import make_cohort
    >>> events, cases = make_cohort(200, random_state=0)
    >>> ax = plot_by_deprivation(audit_cohort(events, cases, default_scorecard()))
    >>> ax.get_xlabel()
    'deprivation (IMD quintile, 1 = most deprived)'
    """
    t = _table(cohort, "by_deprivation")
    ax = _new_axes(ax, (8, 4))
    cats = t["imd_quintile"].astype(str).tolist()
    spec = [
        ("share_reached_mad", "reached multi-agency discussion", "#c0392b"),
        ("share_with_gap", "with a join-up gap", "#f4a261"),
    ]
    _grouped_bars(ax, cats, _series(t, spec), percent=True)
    ax.set_xlabel("deprivation (IMD quintile, 1 = most deprived)")
    ax.set_ylabel("share of children (%)")
    _title(ax, "By deprivation", _disclosure_note(t))
    ax.legend(fontsize=8, frameon=False)
    return ax


# --------------------------------------------------------------------------- evaluation

#: Names an evaluation result may keep its smoothed calibration curve under.
_SMOOTHED = ("calibration_curve", "calibration_smooth", "smoothed_calibration")


def smoothed_calibration(result) -> pd.DataFrame | None:
    """The evaluation's smoothed calibration curve, when it has one (else ``None``).

    Read, never computed: a table with a predicted-risk column (``predicted`` or
    ``mean_predicted``) and an ``observed`` column, optionally ``lower`` and
    ``upper``.

    Examples
    --------
    >>> from riskscore.evaluation import example_result
    >>> curve = smoothed_calibration(example_result())
    >>> curve is None or "observed" in curve.columns
    True
    """
    for name in _SMOOTHED:
        table = getattr(result, name, None)
        if isinstance(table, pd.DataFrame) and "observed" in table.columns:
            return table
    return None


def _curve_x(curve: pd.DataFrame) -> str:
    return "predicted" if "predicted" in curve.columns else "mean_predicted"


def smoothed_curve_drawn(curve: pd.DataFrame | None) -> str | None:
    """Whether :func:`plot_calibration` draws a smoothed curve, and if not why.

    ``"drawn"`` when at least one point of it is drawn; ``"one point"`` when it is
    one point (every point merged into one), which is not drawn; ``"withheld"`` when
    disclosure control withheld every point; ``None`` when there is no curve.

    Examples
    --------
    >>> from riskscore.evaluation import example_result
    >>> smoothed_curve_drawn(smoothed_calibration(example_result()))
    'drawn'
    """
    if curve is None:
        return None
    x, y = _values(curve, _curve_x(curve)), _values(curve, "observed")
    drawn = np.isfinite(x) & np.isfinite(y)
    if len(curve) == 1 and drawn.all():
        return "one point"
    return "drawn" if drawn.any() else "withheld"


def _metric_estimate(metrics, metric: str) -> float:
    """A metric's estimate from a metrics table, NaN when absent or not a number."""
    if not isinstance(metrics, pd.DataFrame) or not {"metric", "estimate"} <= set(metrics):
        return np.nan
    row = metrics.loc[metrics["metric"].astype(str) == metric]
    return float(_values(row, "estimate")[0]) if len(row) else np.nan


def _percent_axes(ax, x: bool = True, y: bool = True) -> None:
    from matplotlib.ticker import PercentFormatter

    if x:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    if y:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))


def plot_calibration(result, ax: Axes | None = None) -> Axes:
    """Observed against mean predicted risk: deciles that survive disclosure, smoothed curve.

    Deciles whose counts disclosure control suppressed are not drawn; how many is
    said on the plot. A smoothed curve is drawn when the result has one
    (:func:`smoothed_calibration`), with its band when it has limits; points of it
    that disclosure control withheld are not drawn, and the plot says so. A curve of
    one point (every point merged into one) is not drawn either, and the plot says
    so: it is the fitted curve at the mean predicted risk of all rows, which differs
    from the one risk group's observed rate beside it, and shows no shape
    (:func:`smoothed_curve_drawn`). The curve is joined in increasing order of
    predicted risk, whatever the order of its table. The legend names only what is
    drawn.

    Parameters
    ----------
    result : EvaluationResult
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from riskscore.evaluation import example_result
    >>> from riskscore.plots import plot_calibration
    >>> plot_calibration(example_result()).get_xlabel()
    'mean predicted risk (%)'
    """
    _need(
        result,
        ("calibration", "metrics"),
        "plot_calibration",
        "an EvaluationResult (riskscore.evaluate)",
    )
    t = result.calibration
    _columns(
        t,
        ("mean_predicted", "observed"),
        "plot_calibration",
        "result.calibration (the calibration table of riskscore.evaluate)",
    )
    ax = _new_axes(ax, (5.5, 4.5))
    x = _values(t, "mean_predicted")
    yv = _values(t, "observed")
    shown = np.isfinite(x) & np.isfinite(yv)
    curve = smoothed_calibration(result)
    tops = [x[shown], yv[shown], [0.01]]
    notes = []
    if curve is not None:
        cx, cy = _values(curve, _curve_x(curve)), _values(curve, "observed")
        if len(cx) and not (np.diff(cx[np.isfinite(cx)]) > 0).all():
            # a line joins its points in table order: out of order (a table written
            # before the points were published in order) it would loop back
            order = np.argsort(np.where(np.isfinite(cx), cx, np.inf), kind="stable")
            curve = curve.iloc[order]
            cx, cy = cx[order], cy[order]
        drawn = np.isfinite(cx) & np.isfinite(cy)
        if smoothed_curve_drawn(curve) == "one point":
            # every point merged into one: the fitted curve at the mean risk of all
            # rows, beside the one group's observed rate of the same rows, and no
            # shape (the curve table's method says what the point is)
            notes.append(
                "smoothed curve not drawn: it is one point\n(every row in one group), "
                "which shows no shape"
            )
        else:
            tops += [cx[drawn], cy[drawn]]
            if {"lower", "upper"} <= set(curve.columns):
                lo, hi = _values(curve, "lower"), _values(curve, "upper")
                band = drawn & np.isfinite(lo) & np.isfinite(hi)
                # a band needs two neighbouring points; the legend names only what is drawn
                if (band[1:] & band[:-1]).any():
                    ax.fill_between(
                        cx,
                        lo,
                        hi,
                        where=band,
                        color="C0",
                        alpha=0.15,
                        linewidth=0,
                        label="smoothed curve, interval",
                    )
            if drawn.any():
                # a point with no neighbour drawn is no line: mark the points then
                alone = not (drawn[1:] & drawn[:-1]).any()
                ax.plot(
                    cx[drawn] if alone else cx,
                    cy[drawn] if alone else cy,
                    color="C0",
                    linewidth=2,
                    marker="s" if alone else None,
                    label="smoothed curve",
                )
            withheld = int(suppressed_cells(curve, "observed")[~drawn].sum())
            if withheld and not drawn.any():
                notes.append("smoothed curve not drawn:\nwithheld by disclosure control")
            elif withheld:
                notes.append(
                    f"{withheld} of {len(curve)} points of the smoothed curve\n"
                    "withheld by disclosure control"
                )
    top = float(np.nanmax(np.concatenate([np.asarray(v, dtype=float) for v in tops]))) * 1.08
    ax.plot([0, top], [0, top], ls="--", color="grey", lw=1, label="predictions equal outcomes")
    if shown.any():
        ax.plot(
            x[shown],
            yv[shown],
            "o",
            color="C1",
            markeredgecolor="black",
            label="risk groups (published)",
        )
    hidden = int((~shown).sum())
    if hidden:
        notes.insert(
            0, f"{hidden} of {len(t)} groups not shown:\ncounts suppressed by disclosure control"
        )
    if notes:
        ax.text(
            0.98,
            0.03,
            "\n".join(notes),
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            color="#555555",
        )
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    _percent_axes(ax)
    ax.set_xlabel("mean predicted risk (%)")
    ax.set_ylabel("observed outcome rate (%)")
    _title(ax, "Calibration")
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    return ax


def plot_decision_curve(result, ax: Axes | None = None) -> Axes:
    """Net benefit of the model against alerting everyone and no one, over the useful range.

    The x-range runs from 0 to a little past the highest threshold at which the
    model still has positive net benefit (at least three times the outcome rate),
    so the treat-all line is seen falling from the outcome rate through zero. The
    point at threshold 0 of the treat-all line is the observed outcome rate from
    ``result.metrics``.

    Parameters
    ----------
    result : EvaluationResult
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from riskscore.evaluation import example_result
    >>> from riskscore.plots import plot_decision_curve
    >>> plot_decision_curve(example_result()).get_ylabel()
    'net benefit (true alerts per row, net)'
    """
    _need(
        result,
        ("decision_curve", "metrics"),
        "plot_decision_curve",
        "an EvaluationResult (riskscore.evaluate)",
    )
    d = result.decision_curve
    _columns(
        d,
        ("threshold", "net_benefit", "treat_all"),
        "plot_decision_curve",
        "result.decision_curve (the decision-curve table of riskscore.evaluate)",
    )
    ax = _new_axes(ax, (5.5, 4.5))
    thr = _values(d, "threshold")
    nb = _values(d, "net_benefit")
    treat_all = _values(d, "treat_all")
    prev = _metric_estimate(result.metrics, "observed_rate")
    if np.isfinite(prev):
        # the treat-all line starts at the outcome rate (threshold 0)
        all_x, all_y = np.r_[0.0, thr], np.r_[prev, treat_all]
    else:
        all_x, all_y = thr, treat_all
    useful = thr[np.isfinite(nb) & (nb > 0)]
    right = max(
        float(useful.max()) * 1.3 if useful.size else 0.0,
        3 * prev if np.isfinite(prev) else 0.0,
        float(thr.min()) * 3 if thr.size else 0.05,
    )
    right = min(right, float(thr.max())) if thr.size else right
    in_range = thr <= right
    finite = nb[np.isfinite(nb) & in_range]
    top = max(float(finite.max()) if finite.size else 0.0, prev if np.isfinite(prev) else 0.0)
    top = top if top > 0 else 0.01
    ax.axhline(0.0, color="black", lw=1.2, label="alert no one")
    ax.plot(all_x, all_y, color="grey", ls="--", lw=1.6, label="alert everyone")
    ax.plot(thr, nb, color="C0", lw=2, marker="o", ms=3, label="model")
    ax.set_xlim(0, right)
    ax.set_ylim(-0.45 * top, 1.2 * top)
    _percent_axes(ax, y=False)
    ax.set_xlabel("alert threshold (predicted risk, %)")
    ax.set_ylabel("net benefit (true alerts per row, net)")
    _title(ax, "Decision curve")
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    ax.grid(alpha=0.3)
    return ax


def _roc_cuts_suppressed(roc: pd.DataFrame) -> bool:
    """Whether disclosure control published no cut of a ROC curve between (0,0) and (1,1).

    A disclosure-controlled ROC table is drawn through the published cuts only; with
    none published it is the straight line from (0,0) to (1,1) (or empty), which is
    not the model's curve.
    """
    if "curve_suppressed" in roc.attrs:  # evaluate's table says so itself
        return bool(roc.attrs["curve_suppressed"])
    stamp = roc.attrs.get("riskscore_disclosure") or {}
    if not stamp.get("applied"):
        return False
    fpr, tpr = _values(roc, "fpr"), _values(roc, "tpr")
    shown = np.isfinite(fpr) & np.isfinite(tpr)
    return not shown.any() or bool(np.allclose(fpr[shown], tpr[shown], rtol=0, atol=1e-12))


# What the ROC figure says when disclosure control suppressed every cut of the curve.
#: Said under a ROC curve whose cuts disclosure control all suppressed
ROC_SUPPRESSED_NOTE = (
    "No curve is drawn: disclosure control suppressed every cut of the ROC curve (each "
    "had too few rows or outcomes on one side), so only its end points (0, 0) and (1, 1) "
    "are published."
)


def plot_roc(result, ax: Axes | None = None, label: str | None = None) -> Axes:
    """ROC curve (on the stored fixed grid), with the AUROC and its interval.

    When disclosure control published no cut of the curve between (0, 0) and
    (1, 1), no curve is drawn and the figure says so; the AUROC
    is still given when published. Without an ``auroc`` row in ``result.metrics``
    the curve is drawn without it.

    Examples
    --------
    >>> from riskscore.evaluation import example_result
    >>> from riskscore.plots import plot_roc
    >>> plot_roc(example_result()).get_xlabel()
    'false positive rate (share of rows without the outcome alerted)'
    """
    _need(result, ("roc", "metrics"), "plot_roc", "an EvaluationResult (riskscore.evaluate)")
    from riskscore._names import fmt_interval

    if not isinstance(result.roc, pd.DataFrame) or not {"fpr", "tpr"} <= set(result.roc.columns):
        raise ParameterError(
            "plot_roc: result.roc must be a table with columns fpr and tpr (as "
            "riskscore.evaluate makes it). Fix: pass an EvaluationResult from evaluate."
        )
    ax = _new_axes(ax, (5.5, 4.5))
    metrics = result.metrics
    text = ""
    if isinstance(metrics, pd.DataFrame) and "metric" in metrics.columns:
        row = metrics.loc[metrics["metric"].astype(str) == "auroc"]
        if len(row):
            # numbers as drawn: text where a number belongs is missing, not an error
            est, lo, hi = (
                float(_values(row, c)[0]) if c in row.columns else np.nan
                for c in ("estimate", "lower", "upper")
            )
            text = "AUROC " + fmt_interval(est, lo, hi)
    key = "; ".join(t for t in (label, text) if t) or "ROC curve"
    if _roc_cuts_suppressed(result.roc):
        # the model's curve is not published: an empty line keeps its entry in the key
        ax.plot([], [], ls="none", label=f"{key} (curve suppressed by disclosure control)")
        if not any(t.get_gid() == "roc-suppressed" for t in ax.texts):
            ax.text(
                0.03,
                0.97,
                "No curve drawn: its cuts were\nsuppressed by disclosure control\n"
                "(too few rows or outcomes)",
                transform=ax.transAxes,
                ha="left",
                va="top",
                fontsize=8.5,
                color="#555555",
                style="italic",
                gid="roc-suppressed",
            )
    else:
        ax.plot(result.roc["fpr"], result.roc["tpr"], label=key)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("false positive rate (share of rows without the outcome alerted)")
    ax.set_ylabel("sensitivity (share of rows with the outcome alerted)")
    _title(ax, "Discrimination (ROC curve)")
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    ax.grid(alpha=0.3)
    return ax


def plot_model_comparison(table: pd.DataFrame, fig=None):
    """ROC curves (left) and AUROC / AUPRC / calibration slope with intervals (right).

    Parameters
    ----------
    table : DataFrame
        Output of :func:`riskscore.compare_models` (its ``attrs["results"]`` holds
        each model's :class:`~riskscore.EvaluationResult`).
    fig : matplotlib Figure, optional

    Returns
    -------
    Figure

    Examples
    --------
    >>> from riskscore.evaluation import compare_models
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.plots import plot_model_comparison
    >>> from riskscore.synthetic import make_cohort
    >>> from riskscore.training import make_training_set
    >>> ts = make_training_set(*make_cohort(600, random_state=3), grid="90D")
    >>> table = compare_models({"default": default_scorecard()}, ts, cv=3, n_boot=20)
    >>> len(plot_model_comparison(table).axes)
    2
    """
    _columns(
        table,
        ("model", "metric", "estimate"),
        "plot_model_comparison",
        "the table of riskscore.compare_models",
    )
    if not isinstance(table.attrs.get("results"), dict):
        raise ParameterError(
            "plot_model_comparison: expected the table of riskscore.compare_models (it "
            "carries the compared results); got another table."
        )
    from matplotlib.figure import Figure

    if fig is None:
        fig = Figure(figsize=(11, 4.5), layout="constrained")
    elif not isinstance(fig, Figure):
        raise ParameterError(
            f"plot_model_comparison: fig must be a matplotlib Figure (or None for a new "
            f"one); got {type(fig).__name__}."
        )
    ax_roc, ax_dot = fig.subplots(1, 2)
    for name, r in table.attrs["results"].items():
        plot_roc(r, ax=ax_roc, label=name)
    _title(ax_roc, "ROC curves, same splits")
    shown = table[table["metric"].isin(["auroc", "auprc", "calibration_slope"])]
    labels = [
        f"{m}: {metric_name(k).split(' (')[0]}"
        for m, k in zip(shown["model"], shown["metric"], strict=True)
    ]
    ypos = np.arange(len(shown))[::-1]
    est = _values(shown, "estimate")
    lower, upper = (
        _values(shown, c) if c in shown.columns else np.full(len(shown), np.nan)
        for c in ("lower", "upper")
    )
    bounded = np.isfinite(est) & np.isfinite(lower) & np.isfinite(upper)
    err = np.where(bounded, np.abs(np.vstack([est - lower, upper - est])), 0.0)
    ax_dot.errorbar(est, ypos, xerr=err if bounded.any() else None, fmt="o", capsize=3)
    ax_dot.set_yticks(ypos, labels, fontsize=8)
    level = table.attrs.get("level", 0.95)
    if bounded.any():
        ax_dot.set_xlabel(f"estimate with {100 * level:g}% case-bootstrap interval (no unit)")
        _title(ax_dot, "Measures with intervals")
    else:
        # say why there are none: no replicates were drawn, or none was published
        boots = {
            (getattr(r, "design", None) or {}).get("n_boot")
            for r in table.attrs["results"].values()
        }
        why = "n_boot=0" if boots == {0} else "withheld by disclosure control or not estimable"
        ax_dot.set_xlabel(f"estimate (no unit; no intervals: {why})")
        _title(ax_dot, "Measures")
    ax_dot.set_ylabel("model: measure")
    ax_dot.axvline(1.0, color="grey", lw=0.5, ls=":")
    return fig


_FOREST_METRICS = ("selection_rate", "tpr", "ppv", "oe_ratio")


def subgroup_caption(table: pd.DataFrame, metrics=_FOREST_METRICS) -> str:
    """The caption of :func:`plot_subgroups` as true of ``table``: it names an interval
    only when the figure draws one.

    :data:`CAPTIONS` ``["plot_subgroups"]`` when every ratio drawn has its interval;
    a note when some are drawn alone; without intervals (and why, when
    ``table.attrs["n_boot"]`` says none were drawn) when no ratio has one.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"attribute": ["sex"] * 2, "group": ["female", "male"],
    ...                   "metric": ["tpr"] * 2, "reference": ["female"] * 2,
    ...                   "ratio": [1.0, 1.4], "ratio_lower": [1.0, float("nan")],
    ...                   "ratio_upper": [1.0, float("nan")]})
    >>> "case-bootstrap interval" in subgroup_caption(t, metrics=("tpr",))
    False
    """
    _columns(
        table,
        ("metric", "group", "reference", "ratio", "ratio_lower", "ratio_upper"),
        "subgroup_caption",
        "a subgroup table (riskscore.subgroup_metrics or EvaluationResult.subgroups)",
    )
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    group = table["group"].astype(str)
    # the rows plot_subgroups draws against their reference (which is drawn at 1)
    rows = (
        table["metric"].isin(metrics) & (group != "All") & (group != table["reference"].astype(str))
    )

    def numbers(column):
        return pd.to_numeric(table.loc[rows, column], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )

    ratio, lo, hi = numbers("ratio"), numbers("ratio_lower"), numbers("ratio_upper")
    drawn = np.isfinite(ratio) & (ratio > 0)
    with_interval = drawn & np.isfinite(lo) & np.isfinite(hi)
    if with_interval.any():
        caption = CAPTIONS["plot_subgroups"]
        if (drawn & ~with_interval).any():
            caption += (
                " A ratio drawn without an interval (withheld by disclosure control, or not "
                "estimable) is marked so."
            )
        return caption
    n_boot = table.attrs.get("n_boot")
    why = (
        "no bootstrap replicates were drawn (n_boot=0)"
        if n_boot == 0
        else "none could be estimated, or disclosure control withheld them (an interval "
        "resting on a count too small to publish)"
    )
    return (
        "Each group's estimate as a ratio to its reference group (1 = the same), on a log "
        f"scale, without intervals: {why}. Rows whose counts disclosure control "
        "suppressed, or that cannot be estimated, are named, not drawn."
    )


def plot_subgroups(table: pd.DataFrame, ax=None, *, metrics=_FOREST_METRICS):
    """Forest plot of subgroup ratios to the reference group, with intervals.

    One row per (characteristic, group), one panel per metric when ``ax`` is a
    sequence of Axes (else the metrics are stacked in blocks on one Axes). Ratios
    are on a log scale; the reference group is marked "reference"; rows whose
    counts disclosure control suppressed say "suppressed", and rows with no
    finite, positive ratio or no interval say "not estimable": nothing is drawn
    for them.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`subgroup_metrics`.
    ax : matplotlib Axes or sequence of Axes, optional
        One Axes (metrics stacked), or one Axes per metric (side by side).
    metrics : sequence of str
        Metrics to show (default alert rate, sensitivity, precision and
        observed/expected).

    Returns
    -------
    Axes or list of Axes
        What was drawn on.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscore.fairness import subgroup_metrics
    >>> from riskscore.plots import plot_subgroups
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(3000) * 0.5; y = (rng.random(3000) < p).astype(int)
    >>> t = subgroup_metrics(y, p, pd.Series(rng.choice(["a", "b"], 3000), name="g"),
    ...                      n_boot=20)
    >>> plot_subgroups(t).get_xlabel().splitlines()
    ['ratio to the reference group', '(log scale)']
    """
    _columns(
        table,
        ("metric", "group", "attribute", "reference", "ratio", "ratio_lower", "ratio_upper"),
        "plot_subgroups",
        "a subgroup table (riskscore.subgroup_metrics or EvaluationResult.subgroups)",
    )
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, (Sequence, np.ndarray, pd.Index)):
        raise ParameterError(
            f"plot_subgroups: metrics must be a list of metric names (e.g. "
            f"{list(_FOREST_METRICS)}); got {type(metrics).__name__}."
        )
    metrics = [m for m in metrics if m in set(table["metric"])]
    t = table[(table["metric"].isin(metrics)) & (table["group"].astype(str) != "All")]
    rows = t[["attribute", "group"]].astype(str).drop_duplicates()
    labels = [
        f"{display(a)}: {quintile_name(g) if a == 'imd_quintile' else display(g)}"
        for a, g in rows.itertuples(index=False)
    ]
    many = isinstance(ax, Sequence) or isinstance(ax, np.ndarray)
    if ax is None:
        ax = _new_axes(None, (8, 0.3 * len(rows) * len(metrics) + 1.5))
    axes = list(np.ravel(np.asarray(ax, dtype=object))) if many else [ax]
    for target in axes:
        _check_axes(target)
    if many and len(axes) < len(metrics):
        raise ParameterError(
            f"plot_subgroups: {len(metrics)} metrics need as many axes, one each; got "
            f"{len(axes)}. Fix: pass ax=None (one panel) or as many axes as metrics."
        )
    suppressed = dict(zip(table.index, suppressed_cells(table, "ratio"), strict=True))
    suppressed_interval = dict(
        zip(table.index, suppressed_cells(table, "ratio_lower"), strict=True)
    )
    style = {"fontsize": 7.5, "color": "#555555", "style": "italic", "va": "center"}

    def value(row, column):
        v = pd.to_numeric(pd.Series([row[column]]), errors="coerce").iloc[0]
        return float(v) if pd.notna(v) else np.nan

    for k, metric in enumerate(metrics):
        target = axes[k] if many else axes[0]
        sub = t[t["metric"] == metric]
        at = {
            (str(a), str(g)): i
            for i, a, g in zip(sub.index, sub["attribute"], sub["group"], strict=True)
        }
        base = 0 if many else k * (len(rows) + 1)
        for y, key in zip(base + np.arange(len(rows)), rows.itertuples(index=False), strict=True):
            i = at.get(tuple(key))
            r = sub.loc[i] if i is not None else None
            ratio, lo, hi = (
                (value(r, "ratio"), value(r, "ratio_lower"), value(r, "ratio_upper"))
                if r is not None
                else (np.nan, np.nan, np.nan)
            )
            if r is not None and str(r["reference"]) == key[1]:
                target.plot([1.0], [y], "o", mfc="white", mec="black", ms=5, zorder=3)
                note = "reference"
            elif np.isfinite(ratio) and ratio > 0 and np.isfinite(lo) and np.isfinite(hi):
                # the interval as drawn by the bootstrap, even when the estimate lies
                # outside it (a percentile interval need not contain the estimate)
                lo, hi = max(lo, 1e-3), max(hi, 1e-3)
                target.plot([lo, hi], [y, y], "-", color="C0", lw=1.4, zorder=2)
                target.plot([lo, hi], [y, y], "|", color="C0", ms=7, zorder=2)
                target.plot([ratio], [y], "s", color="C0", ms=5, zorder=3, gid="estimate")
                continue
            elif np.isfinite(ratio) and ratio > 0:
                # a published ratio without an interval (n_boot=0, or the interval
                # rests on a cell too small to publish): the estimate alone, said so
                target.plot([ratio], [y], "s", color="C0", ms=5, zorder=3, gid="estimate")
                hidden = i is not None and suppressed_interval.get(i)
                note = "interval suppressed" if hidden else "no interval"
                target.annotate(
                    note, (ratio, y), xytext=(6, 0), textcoords="offset points", **style
                )
                continue
            else:
                note = _SUPPRESSED if i is not None and suppressed.get(i) else "not estimable"
            target.annotate(note, (1.0, y), xytext=(6, 0), textcoords="offset points", **style)
        if many:
            if k == 0:  # the panels share their y-axis: label it once
                target.set_yticks(np.arange(len(rows)), labels)
                target.set_ylim(len(rows) - 0.5, -0.5)
            _title(target, metric_name(metric).split(" (")[0])
        else:
            target.text(
                0.0,
                base - 0.9,
                metric_name(metric),
                transform=target.get_yaxis_transform(),
                fontsize=9,
                fontweight="bold",
            )
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    for target in axes:
        target.axvline(1.0, color="grey", ls="--", lw=1, zorder=1)
        target.set_xscale("log")
        lo, hi = target.get_xlim()
        lo, hi = min(lo, 0.5), max(hi, 2.0)
        target.set_xlim(lo, hi)
        ticks = [v for v in (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 10, 20) if lo <= v <= hi]
        target.xaxis.set_major_locator(FixedLocator(ticks))
        target.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        target.xaxis.set_minor_locator(NullLocator())
        target.xaxis.set_minor_formatter(NullFormatter())
        target.grid(axis="x", alpha=0.3)
        target.set_xlabel("ratio to the reference group\n(log scale)")
    if not many:
        target = axes[0]
        n_rows = len(metrics) * (len(rows) + 1)
        ticks = [k * (len(rows) + 1) + i for k in range(len(metrics)) for i in range(len(rows))]
        target.set_yticks(ticks, labels * len(metrics), fontsize=8)
        target.set_ylim(n_rows - 0.5, -1.5)
        target.set_ylabel("group")
        _title(target, "Subgroups: ratio to the reference group")
        return target
    axes[0].set_ylabel("group")
    return axes
