"""Figures of audit results: draw what an audit computed, never recompute it.

Following scikit-learn's Display idea (compute once, plot many), every function here
takes a result object (a :class:`~riskscore.audit.CaseAudit` or a
:class:`~riskscore.audit.CohortAudit`, or for cohort plots one of its tables) and an
optional matplotlib ``Axes``, draws on it and returns it. Nothing here runs an audit,
re-encodes features or scores a model.

Cohort plots are drawn from the tables as published, after disclosure control: a
suppressed cell is drawn as a gap labelled "suppressed", never filled in, and a cell
missing for another reason (no outcomes, so no median) as a gap labelled "n/a".

With ``ax=None`` a new figure is made through ``matplotlib.pyplot``, so plots show up
in notebooks with whatever backend the analyst uses; :func:`riskscore.report` makes
its own figures on the Agg canvas and never touches pyplot state.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from riskscore.contract import band_thresholds, score_scale
from riskscore.errors import ParameterError
from riskscore.vocabulary import AGENCIES, BANDS, PLAN_START_END

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = [
    "plot_case_timeline",
    "plot_case_scores",
    "plot_lead_times",
    "plot_false_alarms",
    "plot_agency_share",
    "plot_by_deprivation",
    "plot_calibration",
    "plot_decision_curve",
    "plot_roc",
    "plot_model_comparison",
    "plot_subgroups",
    "suppressed_cells",
    "EVENT_GROUPS",
]

#: Event group -> (event codes, marker, colour) for timelines. Responses are drawn
#: as large black stars so that what agencies *did* stands apart from what they saw.
EVENT_GROUPS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "education": (("attendance", "attainment_decline", "school_concern"), "o", "#1f77b4"),
    "health": (
        (
            "asthma_admission",
            "asthma_ed_visit",
            "asthma_plan_review",
            "reliever_prescription",
            "preventer_prescription",
            "missed_appointment",
        ),
        "s",
        "#17becf",
    ),
    "parental substance use": (
        ("parent_substance_use", "parent_substance_treatment"),
        "D",
        "#9467bd",
    ),
    "family": (
        (
            "paternal_involvement_lost",
            "paternal_involvement_restored",
            "sibling_removed",
            "competing_care_demand",
            "child_voice_concern",
        ),
        "^",
        "#ff7f0e",
    ),
    "police and home": (
        ("police_incident_home", "domestic_abuse_incident", "housing_poor", "economic_hardship"),
        "v",
        "#8c564b",
    ),
    "response (referral, meeting, plan start)": (
        (
            "school_referral",
            "social_care_referral",
            "early_help_start",
            "strategy_meeting",
            "cp_conference",
            "cin_plan_start",
            "cp_plan_start",
        ),
        "*",
        "#000000",
    ),
    "plan ended": (("cin_plan_end", "cp_plan_end"), "X", "#7f7f7f"),
}

_GROUP_OF = {e: g for g, (events, _, _) in EVENT_GROUPS.items() for e in events}
_BAND_COLOURS = {"review": "#e6a700", "multi_agency_discussion": "#c0392b"}
_AGENCY_COLOURS = dict(
    zip(
        AGENCIES,
        ["#1f77b4", "#17becf", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"],
        strict=True,
    )
)
_PLAN_NAMES = {"cp_plan_start": "child protection plan", "cin_plan_start": "child in need plan"}
_AGENCY_STYLES = dict(zip(AGENCIES, ["-", "--", "-", "--", "-.", "-", ":", "-."], strict=True))
_SUPPRESSED = "suppressed"
_NOT_AVAILABLE = "n/a"


# --------------------------------------------------------------------------- helpers


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # only when the caller wants a fresh figure

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _date_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _case_events(audit) -> pd.DataFrame:
    ev = audit.events
    out = pd.DataFrame(
        {
            "date": pd.to_datetime(ev["date"]),
            "agency": ev["agency"].astype(str).to_numpy(),
            "event": ev["event"].astype(str).to_numpy(),
        }
    )
    out["group"] = out["event"].map(_GROUP_OF).fillna("other")
    return out


def _plan_starts(audit) -> pd.DataFrame:
    ev = _case_events(audit)
    return ev.loc[ev["event"].isin(list(PLAN_START_END)).to_numpy()]


def _mark_outcome_and_plans(ax, audit, *, label: bool) -> None:
    for i, (date, event) in enumerate(
        _plan_starts(audit)[["date", "event"]].itertuples(index=False)
    ):
        ax.axvline(
            date,
            color="#2ca02c",
            linestyle="--",
            linewidth=1.4,
            label=_PLAN_NAMES.get(event, event) + " start" if label and i == 0 else None,
        )
    if audit.outcome_date is not None:
        what = "" if audit.outcome is None or pd.isna(audit.outcome) else f" ({audit.outcome})"
        ax.axvline(
            audit.outcome_date,
            color="#d62728",
            linewidth=2.0,
            label=f"outcome{what}" if label else None,
        )


def _table(obj, name: str) -> pd.DataFrame:
    """A cohort table from a CohortAudit (or the table itself)."""
    if isinstance(obj, pd.DataFrame):
        return obj
    tables = getattr(obj, "tables", None)
    if not isinstance(tables, dict) or name not in tables:
        raise ParameterError(
            f"expected a CohortAudit (riskscore.audit_cohort) or its {name!r} table, "
            f"got {type(obj).__name__}"
        )
    return tables[name]


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
    return table[column].to_numpy(dtype=float, na_value=np.nan)


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
) -> None:
    """Grouped bars; a missing value is a gap labelled "suppressed" or "n/a".

    ``series`` holds ``(label, values, suppressed_mask, colour)``.
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
        texts = [f"{v:.0%}" if percent else f"{v:,.0f}" for v in values[shown]]
        ax.bar_label(bars, labels=texts, padding=2, fontsize=8)
        for i in np.flatnonzero(~shown):
            text = _SUPPRESSED if suppressed[i] else _NOT_AVAILABLE
            # a gap, not a zero bar: the label sits where the bar would start
            style = {"fontsize": 8, "color": "#555555", "style": "italic"}
            if horizontal:
                ax.text(top * 0.01, at[i], text, va="center", ha="left", **style)
            else:
                ax.text(at[i], top * 0.01, text, va="bottom", ha="center", rotation=90, **style)
    if horizontal:
        ax.set_yticks(pos, categories)
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.18)
    else:
        ax.set_xticks(pos, categories)
        ax.set_ylim(0, top * 1.18)
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
    return f"counts under {s.get('min_count')} suppressed, rounded to {s.get('round_to')}"


# --------------------------------------------------------------------------- case


def plot_case_timeline(audit, ax: Axes | None = None, *, agencies=None) -> Axes:
    """One lane per agency with the events it recorded, responses marked apart.

    Markers show the event group (education, health, parental substance use,
    family, police and home, responses, plan ends); responses are large black
    stars. Lanes are drawn only for agencies with events in the case; the others
    are named in a note, not drawn empty. The outcome date and plan starts are
    vertical lines. When the audit was given a coverage table, periods an agency's
    records do not cover are hatched grey in its lane (``audit.coverage_gaps``).

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
    >>> len(ax.get_yticks()) > 0
    True
    """
    ev = _case_events(audit)
    order = list(agencies) if agencies is not None else list(AGENCIES)
    present = set(ev["agency"])
    lanes = [a for a in order if a in present]
    lanes += sorted(present - set(lanes))
    empty = [a for a in order if a not in present]
    ax = _new_axes(ax, (12, 0.5 * max(len(lanes), 1) + 1.5))
    lane_of = {a: i for i, a in enumerate(lanes)}
    groups = [*EVENT_GROUPS, "other"]
    # small fixed offsets per group inside a lane, so kinds of event do not hide each other
    offsets = dict(zip(groups, np.linspace(-0.28, 0.28, len(groups)), strict=True))
    ev = ev.assign(y=ev["agency"].map(lane_of) + ev["group"].map(offsets))
    for g in groups:
        sub = ev.loc[(ev["group"] == g).to_numpy()]
        if sub.empty:
            continue
        marker, colour = EVENT_GROUPS[g][1:] if g in EVENT_GROUPS else ("o", "#aaaaaa")
        is_response = g.startswith("response")
        ax.scatter(
            sub["date"],
            sub["y"],
            marker=marker,
            s=150 if is_response else 34,
            c=colour,
            edgecolors="white" if not is_response else "#ffd400",
            linewidths=0.6,
            alpha=0.9,
            zorder=4 if is_response else 3,
            label=f"{g} ({len(sub)})",
        )
    _shade_coverage_gaps(ax, audit, lane_of)
    _mark_outcome_and_plans(ax, audit, label=True)
    end = pd.Timestamp(audit.trajectory["as_of"].iloc[-1])
    if len(ev) and ev["date"].max() > end:
        # events after the outcome or follow-up end are shown but were not audited
        ax.axvspan(
            end,
            ev["date"].max() + pd.Timedelta(days=10),
            color="#bbbbbb",
            alpha=0.25,
            zorder=1,
            label="after the audited period",
        )
    for i in range(len(lanes)):
        ax.axhspan(i - 0.5, i + 0.5, color="#f3f3f3" if i % 2 else "white", zorder=0)
    ax.set_yticks(range(len(lanes)), [a.replace("_", " ") for a in lanes])
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_title("Events recorded by each agency", loc="left", fontsize=11)
    if empty:
        ax.text(
            1.0,
            1.01,
            "no events recorded by: " + ", ".join(empty),
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            color="#555555",
        )
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
    _date_axis(ax)
    return ax


def _shade_coverage_gaps(ax, audit, lane_of: dict[str, int]) -> None:
    """Hatch, lane by lane, the periods an agency's records do not cover."""
    gaps = getattr(audit, "coverage_gaps", None)
    if gaps is None or len(gaps) == 0:
        return
    import matplotlib.dates as mdates

    labelled = False
    for agency, sub in gaps.groupby(gaps["agency"].astype(str), sort=False):
        if agency not in lane_of:
            continue
        start = mdates.date2num(pd.to_datetime(sub["from"]).to_numpy())
        # a gap's "to" day is uncovered too: the shading runs to the end of that day
        stop = mdates.date2num((pd.to_datetime(sub["to"]) + pd.Timedelta(days=1)).to_numpy())
        i = lane_of[agency]
        ax.broken_barh(
            list(zip(start, stop - start, strict=True)),
            (i - 0.5, 1.0),
            facecolors="#d9d9d9",
            edgecolors="#8c8c8c",
            hatch="///",
            linewidth=0.0,
            alpha=0.6,
            zorder=1,
            label=None if labelled else "no coverage (records not available)",
        )
        labelled = True


def plot_case_scores(audit, ax: Axes | None = None, *, agencies=None) -> Axes:
    """The joined score and each agency's own score over time, with band lines.

    Scores are step functions of the date (drawn with ``where="post"`` through every
    evaluated date, so steps sit on the exact days). Crossings into a band are
    triangles on the joined line; missed opportunities are large red crosses;
    days in a join-up gap (the joined band above every agency's band) are shaded;
    the outcome date and plan starts are vertical lines. Agencies whose own score
    stays at 0 are named in the legend instead of drawn as flat lines.

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
    t = audit.trajectory
    ax = _new_axes(ax, (12, 4.5))
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
            label=f"{a.replace('_', ' ')} alone",
        )
    ax.step(
        dates, t["score"], where="post", color="black", linewidth=3.0, zorder=2, label="joined view"
    )
    # join-up gap: days the joined band is above every single agency's band
    joined = pd.Categorical(t["band"], categories=list(BANDS), ordered=True).codes
    best = pd.Categorical(t["best_agency_band"], categories=list(BANDS), ordered=True).codes
    gap = joined > best
    if gap.any():
        nxt = dates.shift(-1).fillna(dates.iloc[-1] + pd.Timedelta(days=1))
        starts = dates[gap & ~np.r_[False, gap[:-1]]]
        ends = nxt[gap & ~np.r_[gap[1:], False]]
        for i, (s0, s1) in enumerate(zip(starts, ends, strict=True)):
            ax.axvspan(
                s0,
                s1,
                color="#f4a261",
                alpha=0.18,
                zorder=0,
                label=f"join-up gap ({audit.join_up_gap_days} days)" if i == 0 else None,
            )
    thresholds = band_thresholds(audit.model)
    for band, threshold in thresholds.items():
        ax.axhline(threshold, color=_BAND_COLOURS.get(band, "grey"), linestyle=":", linewidth=1.4)
    if thresholds:
        # band names on a right-hand axis: inside the plot they would cover early crossings
        side = ax.secondary_yaxis("right")
        side.set_yticks(
            list(thresholds.values()),
            labels=[
                textwrap.fill(f"{b.replace('_', ' ')} ({v:g})", 14) for b, v in thresholds.items()
            ],
        )
        side.tick_params(labelsize=8, length=0)
        for label, band in zip(side.get_yticklabels(), thresholds, strict=True):
            label.set_color(_BAND_COLOURS.get(band, "grey"))
    cr = audit.crossings
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
                    label=f"crossing into {band.replace('_', ' ')}",
                )
        missed = cr.loc[cr["missed"].to_numpy(dtype=bool)]
        if len(missed):
            ax.scatter(
                pd.to_datetime(missed["date"]),
                missed["score"],
                marker="X",
                s=220,
                facecolors="none",
                edgecolors="#d62728",
                linewidths=2.0,
                zorder=6,
                label="missed opportunity (no response in window)",
            )
        # crossings are numbered as in the report's crossings table; labels alternate
        # above and below so that crossings close in time stay readable
        for k, r in enumerate(cr.itertuples(index=False)):
            ax.annotate(
                str(k + 1),
                xy=(pd.Timestamp(r.date), r.score),
                xytext=(9, 9 if k % 2 == 0 else -15),
                textcoords="offset points",
                fontsize=8,
                fontweight="bold",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "#999999", "lw": 0.5},
            )
    _mark_outcome_and_plans(ax, audit, label=True)
    if flat:
        # an invisible entry names the agencies whose own view never scored
        text = textwrap.fill("score 0 throughout: " + ", ".join(flat), width=34)
        ax.plot([], [], " ", label=text)
    ax.set_ylabel(f"score ({score_scale(audit.model)})")
    ax.set_title("Joined score and each agency's own score", loc="left", fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    # below the plot: the right-hand side carries the band names
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.07), ncol=3, fontsize=8, frameon=False)
    _date_axis(ax)
    return ax


# --------------------------------------------------------------------------- cohort


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
    'days from first crossing to outcome'
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
        series.append((band.replace("_", " "), vals, sups, _BAND_COLOURS.get(band, "grey")))
    _grouped_bars(
        ax, [c.replace("never reached before outcome", "never\nreached") for c in cats], series
    )
    if cats and cats[-1].startswith("never"):
        # "never reached" is not a lead time: set it apart from the bins
        ax.axvline(len(cats) - 1.5, color="#999999", linestyle="--", linewidth=1)
    ax.set_xlabel("days from first crossing to outcome")
    ax.set_ylabel("cases with an outcome")
    ax.set_title(f"Lead times ({_disclosure_note(t)})", loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False, title="first crossing into", title_fontsize=8)
    return ax


def plot_false_alarms(cohort, ax: Axes | None = None) -> Axes:
    """False alarms beside alerts, per band.

    For each band: all crossings (before any outcome), crossings with no outcome in
    the horizon after them (false alarms), and cases with an outcome in the
    horizon after a crossing (true cases alerted), from the ``false_alarms`` table.

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
    >>> len(ax.get_xticks())
    2
    """
    t = _table(cohort, "false_alarms")
    ax = _new_axes(ax, (8, 4))
    horizon = t.attrs.get("horizon_days")
    cats = [b.replace("_", " ") for b in t["band"].astype(str)]
    spec = [
        ("n_crossings", "all crossings (alerts)", "#7f7f7f"),
        ("n_false_alarms", "false alarms (no outcome within horizon)", "#e6a700"),
        ("n_true_cases_alerted", "true cases alerted", "#2ca02c"),
    ]
    _grouped_bars(ax, cats, _series(t, spec))
    ax.set_ylabel("count")
    h = f"horizon {horizon} days; " if horizon is not None else ""
    ax.set_title(f"False alarms and alerts ({h}{_disclosure_note(t)})", loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False)
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
    'share of contributions at crossings'
    """
    t = _table(cohort, "agency_share")
    ax = _new_axes(ax, (8, 4))
    cats = [h.replace("_", " ") for h in t["held_by"].astype(str)]
    spec = [("share_of_contribution", "share", "#1f77b4")]
    _grouped_bars(ax, cats, _series(t, spec), horizontal=True, percent=True)
    ax.set_xlabel("share of contributions at crossings")
    ax.set_title(f"Who held the information ({_disclosure_note(t)})", loc="left", fontsize=11)
    return ax


def plot_by_deprivation(cohort, ax: Axes | None = None) -> Axes:
    """Share reaching ``multi_agency_discussion`` and share with a join-up gap, by IMD quintile.

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
    'IMD quintile (1 = most deprived)'
    """
    t = _table(cohort, "by_deprivation")
    ax = _new_axes(ax, (8, 4))
    cats = t["imd_quintile"].astype(str).tolist()
    spec = [
        ("share_reached_mad", "reached multi agency discussion", "#c0392b"),
        ("share_with_gap", "with a join-up gap", "#f4a261"),
    ]
    _grouped_bars(ax, cats, _series(t, spec), percent=True)
    ax.set_xlabel("IMD quintile (1 = most deprived)")
    ax.set_ylabel("share of cases")
    ax.set_title(f"By deprivation ({_disclosure_note(t)})", loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False)
    return ax


# --------------------------------------------------------------------------- evaluation


def plot_calibration(result, ax: Axes | None = None) -> Axes:
    """Observed against mean predicted risk by decile (suppressed bins are not drawn).

    Parameters
    ----------
    result : EvaluationResult
    ax : matplotlib Axes, optional

    Examples
    --------
    >>> from riskscore.evaluation import example_result
    >>> from riskscore.plots import plot_calibration
    >>> plot_calibration(example_result()).get_xlabel()
    'Mean predicted risk'
    """
    ax = _new_axes(ax, (5, 4.2))
    t = result.calibration
    x = pd.to_numeric(t["mean_predicted"], errors="coerce").to_numpy(dtype=float)
    yv = pd.to_numeric(t["observed"], errors="coerce").to_numpy(dtype=float)
    top = np.nanmax(np.concatenate([x, yv, [0.01]]))
    ax.plot([0, top], [0, top], ls="--", color="grey", lw=1, label="ideal")
    ax.plot(x, yv, "o-", color="C0", label="model (deciles)")
    ci = result.metrics.set_index("metric")
    if "calibration_slope" in ci.index:
        ax.set_title(
            f"Calibration: slope {ci.loc['calibration_slope', 'estimate']:.2f}, "
            f"in-the-large {ci.loc['calibration_intercept', 'estimate']:+.2f}",
            fontsize=9,
        )
    ax.set_xlabel("Mean predicted risk")
    ax.set_ylabel("Observed rate")
    ax.legend(fontsize=8)
    return ax


def plot_decision_curve(result, ax: Axes | None = None) -> Axes:
    """Net benefit of the model against treat-all and treat-none across thresholds.

    Examples
    --------
    >>> from riskscore.evaluation import example_result
    >>> from riskscore.plots import plot_decision_curve
    >>> plot_decision_curve(example_result()).get_ylabel()
    'Net benefit'
    """
    ax = _new_axes(ax, (5, 4.2))
    d = result.decision_curve
    thr = d["threshold"].to_numpy(dtype=float)
    nb = pd.to_numeric(d["net_benefit"], errors="coerce").to_numpy(dtype=float)
    ax.plot(thr, nb, color="C0", label="model")
    ax.plot(thr, d["treat_all"].to_numpy(dtype=float), color="grey", ls="--", label="all")
    ax.plot(thr, d["treat_none"].to_numpy(dtype=float), color="black", lw=1, label="none")
    finite = nb[np.isfinite(nb)]
    top = max(finite.max() if len(finite) else 0.0, float(d["treat_all"].max()), 0.001)
    ax.set_ylim(-0.25 * top, 1.15 * top)
    ax.set_xlabel("Threshold probability")
    ax.set_ylabel("Net benefit")
    ax.set_title("Decision curve", fontsize=9)
    ax.legend(fontsize=8)
    return ax


def plot_roc(result, ax: Axes | None = None, label: str | None = None) -> Axes:
    """ROC curve (on the stored fixed grid), with the AUROC and its interval.

    Examples
    --------
    >>> from riskscore.evaluation import example_result
    >>> from riskscore.plots import plot_roc
    >>> plot_roc(example_result()).get_xlabel()
    'False positive rate'
    """
    ax = _new_axes(ax, (5, 4.2))
    m = result.metrics.set_index("metric")
    text = (
        f"AUROC {m.loc['auroc', 'estimate']:.3f} "
        f"[{m.loc['auroc', 'lower']:.3f}, {m.loc['auroc', 'upper']:.3f}]"
    )
    ax.plot(result.roc["fpr"], result.roc["tpr"], label=f"{label}: {text}" if label else text)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate (sensitivity)")
    ax.legend(fontsize=8, loc="lower right")
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
    >>> table = compare_models({"default": default_scorecard()}, ts, cv=3, n_boot=10)
    >>> len(plot_model_comparison(table).axes)
    2
    """
    if fig is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax_roc, ax_dot = fig.subplots(1, 2)
    for name, r in table.attrs["results"].items():
        plot_roc(r, ax=ax_roc, label=name)
    ax_roc.set_title("ROC, same splits", fontsize=9)
    shown = table[table["metric"].isin(["auroc", "auprc", "calibration_slope"])]
    labels = [f"{m} | {k}" for m, k in zip(shown["model"], shown["metric"], strict=True)]
    ypos = np.arange(len(shown))[::-1]
    est = shown["estimate"].to_numpy(dtype=float)
    err = np.vstack([est - shown["lower"].to_numpy(float), shown["upper"].to_numpy(float) - est])
    ax_dot.errorbar(est, ypos, xerr=np.abs(err), fmt="o", capsize=3)
    ax_dot.set_yticks(ypos, labels, fontsize=8)
    level = table.attrs.get("level", 0.95)
    ax_dot.set_xlabel(f"estimate with {int(100 * level)}% case-bootstrap interval")
    ax_dot.axvline(1.0, color="grey", lw=0.5, ls=":")
    return fig


def plot_subgroups(table: pd.DataFrame, ax=None, *, metrics=("tpr", "ppv", "oe_ratio")):
    """Dot plot of subgroup ratios to the reference group, with intervals.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`subgroup_metrics`.
    ax : matplotlib Axes, optional
    metrics : sequence of str
        Metrics to show (default TPR, PPV and observed/expected).

    Returns
    -------
    Axes

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscore.fairness import subgroup_metrics
    >>> from riskscore.plots import plot_subgroups
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(3000) * 0.5; y = (rng.random(3000) < p).astype(int)
    >>> t = subgroup_metrics(y, p, pd.Series(rng.choice(["a", "b"], 3000), name="g"),
    ...                      n_boot=10)
    >>> plot_subgroups(t).get_xlabel()
    'ratio to reference group'
    """
    ax = _new_axes(ax, (7, 4.5))
    t = table[(table["metric"].isin(metrics)) & (table["group"] != "All")]
    ypos = np.arange(len(t))[::-1]
    r = pd.to_numeric(t["ratio"], errors="coerce").to_numpy(dtype=float)
    lo = pd.to_numeric(t["ratio_lower"], errors="coerce").to_numpy(dtype=float)
    hi = pd.to_numeric(t["ratio_upper"], errors="coerce").to_numpy(dtype=float)
    err = np.abs(np.vstack([r - lo, hi - r]))
    ax.errorbar(r, ypos, xerr=np.nan_to_num(err), fmt="o", capsize=2, ms=4)
    labels = [
        f"{a}={g} | {m}" for a, g, m in zip(t["attribute"], t["group"], t["metric"], strict=True)
    ]
    ax.set_yticks(ypos, labels, fontsize=7)
    ax.axvline(1.0, color="grey", ls="--", lw=1)
    ax.set_xlabel("ratio to reference group")
    ax.set_title("Subgroups (suppressed cells not drawn)", fontsize=9)
    return ax
