"""Retrospective audit: when did the risk become visible, to whom, and did anyone act?

For retrospective audit, learning and research only: an audit describes what the
records held on past dates; it is not a decision about any child or family.

Definitions (docs/outputs.md has every table and column)
--------------------------------------------------------
* **Trajectory**: the joined score and each agency's own score over time, from a
  case's first event to its outcome date or follow-up end. Scores are step
  functions of the date, so they are evaluated on a regular grid *and* on every
  date a feature can change (:func:`riskscore.features.change_dates`); crossings
  are therefore exact to the day.
* **Crossing**: a date on which the score reaches a band's threshold from below
  and so starts an *episode* in that band (one row per band reached). Re-entering
  a band counts as a new crossing only after the score has stayed below it for at
  least ``min_gap`` days (default 28); a shorter spell below is a *dip*: the
  episode goes on, the re-entry is listed in ``CaseAudit.dips`` and is neither a
  new crossing nor a new missed opportunity. ``min_gap=0`` counts every re-entry.
  The state before a case's first event is the score of an empty record.
* **Join-up gap**: days on which the joined band is higher than every single
  agency's band.
* **Missed opportunity**: a crossing with no response event from the crossing day
  through ``response_window`` days after it (inclusive), unless a child in need or
  child protection plan was active that day. Responses are
  ``school_referral``, ``social_care_referral``, ``early_help_start``,
  ``strategy_meeting``, ``cp_conference``, ``cin_plan_start`` and
  ``cp_plan_start``; plan ends are not responses.
* **Lead time**: outcome date minus the first crossing (per band) before it.
* **False alarm**: a crossing in a case with no outcome in the ``horizon`` days
  after it.
* **Held by**: an agency held a contributing rule or feature on a date when its
  own view gave that rule or feature a non-zero contribution then.
* **Coverage** (optional): with a coverage table (:func:`riskscore.coverage_table`),
  features whose holding agencies had no records on a date are missing, not 0, in
  the joined and every agency view; coverage starts and stops are evaluation dates
  too, so crossings stay exact. A case audit lists the uncovered periods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskscore._audit_core import (
    BAND_DTYPE,
    MIN_GAP,
    RESPONSES,
    Scored,
    audit_core,
    check_min_gap,
    joined_features,
    lead_times,
)
from riskscore._cohort_tables import (
    audit_chunks,
    cohort_tables,
    control_tables,
    merge_frames,
    orphan_error,
)
from riskscore._dates import DEFAULT_GRID, NAT_DAY, step_days, to_days
from riskscore._dispatch import backend, is_dask
from riskscore._names import band_name, fmt_days, outcome_name
from riskscore._params import COUNT, POSITIVE_INT, WINDOW_DAYS, validate_params
from riskscore.contract import check_model
from riskscore.coverage import coverage_gaps, coverage_table
from riskscore.disclosure import hash_input, mark_synthetic, synthetic_note
from riskscore.errors import ParameterError, SchemaError
from riskscore.schema import ALLOWED, allowed_columns, ensure_cases, ensure_events, stamp_allowed
from riskscore.vocabulary import AGENCIES, BANDS

__all__ = [
    "audit_case",
    "audit_cohort",
    "CaseAudit",
    "CohortAudit",
    "RESPONSES",
    "NOTICE",
    "deprivation_illustration",
    "computed_card_claims",
    "COMPUTED_CLAIMS",
]

NOTICE = "Retrospective audit for learning and research: not a decision about any child or family."
CASE_LEVEL_NOTICE = (
    "Individual-level output: it must stay inside the secure environment and must not be released."
)


@dataclass
class CaseAudit:
    """The audit of one case (individual-level: keep inside the secure environment).

    Attributes
    ----------
    case_id : str
    trajectory : DataFrame
        ``as_of``, ``on_grid``, ``score``, ``band``, ``score_<agency>``,
        ``band_<agency>`` and ``best_agency_band`` on every evaluated date.
    crossings : DataFrame
        One row per crossing that starts an episode: ``date``, ``band``, ``score``,
        ``responses_in_window``, ``plan_active``, ``missed``,
        ``days_to_next_response``.
    dips : DataFrame
        ``band``, ``left``, ``returned``, ``days_below``, ``score``: each time the
        joined score left a band and came back within ``min_gap`` days (the
        episode went on; the return is not a new crossing).
    contributions : DataFrame
        What contributed at each crossing and which agencies held it.
    missed_opportunities : DataFrame
        The crossings that are missed opportunities, with contributors and holders.
    join_up_gap_days : int
    lead_times : DataFrame
        Per band: first crossing, outcome date and lead time in days.
    events : DataFrame
        The case's events (for timelines).
    coverage_gaps : DataFrame
        ``agency, from, to, days`` (and ``max_unknown_points`` for a scorecard):
        periods within the audited span that an agency's records did not cover,
        when the audit was given a coverage table (else empty). Features only
        uncovered agencies hold are missing there, so scores may understate;
        ``max_unknown_points`` is the most points the scorecard's unknown rules
        could have added on any audited date in the period.
    """

    case_id: str
    model: object
    trajectory: pd.DataFrame
    crossings: pd.DataFrame
    contributions: pd.DataFrame
    missed_opportunities: pd.DataFrame
    join_up_gap_days: int
    lead_times: pd.DataFrame
    events: pd.DataFrame
    outcome: object = None
    outcome_date: pd.Timestamp | None = None
    parameters: dict = field(default_factory=dict)
    notice: str = NOTICE + " " + CASE_LEVEL_NOTICE
    coverage_gaps: pd.DataFrame = field(default_factory=pd.DataFrame)
    dips: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Made from synthetic or fictional data (make_cohort, vignette): outputs say so
    synthetic: bool = False
    synthetic_note: str | None = None

    @validate_params({"band": ["band"], "agency": ["agency", None]})
    def first_crossing(self, band: str = "multi_agency_discussion", agency: str | None = None):
        """First date the joined score (or one agency's own score) reached ``band``.

        Returns ``None`` when it never did.
        """
        level = BANDS.index(band)
        col = "band" if agency is None else f"band_{agency}"
        codes = pd.Categorical(self.trajectory[col], dtype=BAND_DTYPE).codes
        hit = np.flatnonzero(codes >= level)
        return None if len(hit) == 0 else self.trajectory["as_of"].iloc[hit[0]]

    @validate_params({"band": ["band"], "agency": ["agency", None]})
    def days_in_band(self, band: str = "multi_agency_discussion", agency: str | None = None) -> int:
        """Days on which the joined (or one agency's) score was at or above ``band``."""
        level = BANDS.index(band)
        col = "band" if agency is None else f"band_{agency}"
        t = self.trajectory
        day = to_days(t["as_of"], "as_of", "trajectory")
        end = day[-1] + 1
        length = np.diff(np.append(day, end))
        codes = pd.Categorical(t[col], dtype=BAND_DTYPE).codes
        return int(length[codes >= level].sum())

    def summary(self) -> str:
        """A short plain-text account of the audit (display names, lead times to the outcome).

        Examples
        --------
        >>> import riskscore
        >>> events, cases = riskscore.vignette()
        >>> audit = riskscore.audit_case(events, cases, riskscore.default_scorecard(), "CHILD-A")
        >>> print(audit.summary().splitlines()[3])
          joined view, review: first reached 2101-01-18
        """
        lines = [NOTICE, CASE_LEVEL_NOTICE, f"Case {self.case_id}:"]
        for band in BANDS[1:]:
            first = self.first_crossing(band)
            txt = "never reached" if first is None else f"first reached {first:%Y-%m-%d}"
            lines.append(f"  joined view, {band_name(band)}: {txt}")
        lines.append(
            f"  join-up gap: {fmt_days(self.join_up_gap_days)} on which the joined view was in a "
            "higher band than every single agency's view"
        )
        gap = self.parameters.get("min_gap", MIN_GAP)
        lines.append(
            f"  crossings (new episodes; dips under {gap} days are not counted again): "
            f"{len(self.crossings)}, dips: {len(self.dips)}, missed opportunities: "
            f"{len(self.missed_opportunities)}"
        )
        outcome = "the outcome" if self.outcome is None else outcome_name(self.outcome)
        for r in self.lead_times.itertuples():
            if pd.notna(r.lead_time_days):
                lines.append(
                    f"  lead time from the first {band_name(r.band)} crossing to {outcome}: "
                    f"{fmt_days(r.lead_time_days)}"
                )
        return "\n".join(lines)


@validate_params(
    {
        "case_id": [str, int, np.integer],
        "grid": ["grid"],
        "response_window": [COUNT],
        "recent_window": [WINDOW_DAYS],
        "agencies": ["agencies"],
        "min_gap": [COUNT],
    }
)
def audit_case(
    events: pd.DataFrame,
    cases: pd.DataFrame | None,
    model,
    case_id: str,
    *,
    grid: str | int = DEFAULT_GRID,
    response_window: int = 28,
    recent_window: int = 90,
    agencies: tuple[str, ...] = AGENCIES,
    coverage=None,
    min_gap: int = MIN_GAP,
) -> CaseAudit:
    """Audit one case: trajectory, exact crossings, join-up gap, missed opportunities.

    Parameters
    ----------
    events : DataFrame
        Events in the data contract (may hold many cases; one is audited).
    cases : DataFrame or None
        Cases table, for the outcome, outcome date and follow-up end (``None``: no
        outcome; the audit ends at the extract's last event).
    model : RuleScorecard, LogisticRiskModel or IntegerPointsModel
        Any model with the shared contract (:mod:`riskscore.contract`).
    case_id : str
        The case to audit.
    grid : str or int, default="14D"
        Step of the plotted trajectory; crossings are exact regardless.
    response_window : int, default=28
        Days after a crossing (inclusive) in which a response must start.
    recent_window : int, default=90
        Recent attendance window of the features.
    agencies : tuple of str
        Agency views to compute (default: all).
    coverage : DataFrame, AdapterResult or iterable of (agency, from, to), optional
        Which agency's records cover which period (see
        :func:`riskscore.coverage_table`). Features whose holding agencies had no
        coverage on a date are missing (NaN), not 0, in the joined and every agency
        view (an agency view is unknown wherever that agency is uncovered), and the
        uncovered periods are kept in ``CaseAudit.coverage_gaps``. Agencies with no
        row count as uncovered throughout.
    min_gap : int, default=28
        Days the joined score must stay below a band before reaching it again
        counts as a new crossing; shorter dips are listed in ``CaseAudit.dips``.
        0 counts every re-entry.

    Returns
    -------
    CaseAudit
        Individual-level: it must stay inside the secure environment.

    Examples
    --------
    >>> import riskscore
    >>> events, cases = riskscore.vignette()
    >>> audit = riskscore.audit_case(events, cases, riskscore.default_scorecard(), "CHILD-A")
    >>> audit.join_up_gap_days > 0
    True

    With a coverage table, school records stopping early (dates invented):

    >>> cov = [(a, "2095-01-01", "2110-12-31") for a in riskscore.AGENCIES if a != "school"]
    >>> cov += [("school", "2095-01-01", "2101-06-30")]
    >>> audit = riskscore.audit_case(events, cases, riskscore.default_scorecard(), "CHILD-A",
    ...                              coverage=cov)
    >>> audit.coverage_gaps[["agency", "from"]].astype(str).values.tolist()
    [['school', '2101-07-01']]
    """
    check_model(model)
    min_gap = check_min_gap(min_gap)
    cov = None if coverage is None else coverage_table(coverage)
    # the contract at the door, with validate_events/validate_cases's own messages
    events = ensure_events(events)
    if cases is not None:
        cases = ensure_cases(cases)
    mask = (events["case_id"].astype(str) == str(case_id).strip()).to_numpy()
    if not mask.any():
        raise SchemaError(f"case_id {case_id!r} has no events; nothing to audit.")
    one = events.loc[mask]
    one_cases = None
    if cases is not None:
        one_cases = cases.loc[(cases["case_id"].astype(str) == str(case_id).strip()).to_numpy()]
    grid_days = step_days(grid)
    # a case's audit ends at its outcome or follow-up end, else at the extract's end
    extract_end = int(to_days(events["date"], "date", "events").max())
    core = audit_core(
        one,
        one_cases,
        model,
        grid_days,
        int(response_window),
        recent_window,
        agencies,
        extract_end,
        cov,
        min_gap,
    )
    ends, cr, contrib = core.ends, core.crossings, core.contributors
    traj = core.scored.rows.drop(columns="case_id")
    if len(traj) == 0:
        first = pd.Timestamp(one["date"].min()).date()
        raise SchemaError(
            f"case {case_id!r}: its audit ends (at its outcome or follow-up end) before its "
            f"first event on {first}, so there is no date to score. Fix: check the case's "
            "outcome_date and followup_end in the cases table; an audit needs events before "
            "the end."
        )
    gaps = pd.DataFrame()
    if cov is not None:
        gaps, unknown = _case_coverage(cov, str(case_id), model, core.scored, agencies)
        if unknown is not None:
            traj["max_unknown_points"] = unknown
    crossings = cr.drop(columns=["row", "case_id", "code", "day"])
    missed_idx = np.flatnonzero(crossings["missed"].to_numpy())
    held = contrib[contrib["crossing"].isin(missed_idx)]
    top = (
        held.sort_values(["crossing", "contribution"], ascending=[True, False])
        .groupby("crossing")
        .apply(
            lambda g: "; ".join(
                f"{c} [{h}]" for c, h in zip(g["contributor"], g["held_by"], strict=True)
            ),
            include_groups=False,
        )
        if len(held)
        else pd.Series(dtype=object)
    )
    missed = crossings.iloc[missed_idx].copy()
    missed["contributors"] = top.reindex(missed_idx).to_numpy() if len(missed) else []
    missed["followed_by"] = (
        np.where(
            missed["days_to_next_response"].notna(),
            "first response "
            + missed["days_to_next_response"].astype("Int64").astype(str)
            + " days later",
            "no response in the record",
        )
        if len(missed)
        else []
    )
    lead = lead_times(cr, ends)
    o_day = ends["outcome_day"].iloc[0]
    note = synthetic_note(events, cases)
    dips = core.dips.drop(columns="case_id").reset_index(drop=True)
    if note is not None:
        # the case-level tables carry the mark too, so a written table says so
        mark_synthetic(traj, crossings, contrib, missed, gaps, lead, dips, note=note)
    result = CaseAudit(
        case_id=str(case_id),
        model=model,
        trajectory=traj,
        crossings=crossings,
        contributions=contrib,
        missed_opportunities=missed.reset_index(drop=True),
        join_up_gap_days=int(core.gaps.sum()),
        lead_times=lead.drop(columns=["case_id", "code"]).reset_index(drop=True),
        events=one.sort_values("date", kind="stable").reset_index(drop=True),
        outcome=None if pd.isna(ends["outcome"].iloc[0]) else ends["outcome"].iloc[0],
        outcome_date=None if o_day == NAT_DAY else pd.Timestamp(np.datetime64(int(o_day), "D")),
        parameters={
            "grid": grid,
            "response_window": int(response_window),
            "recent_window": recent_window,
            "min_gap": min_gap,
            **({} if cov is None else {"coverage": f"table of {len(cov)} interval(s)"}),
            **_allowed_parameter(events, cases),
        },
        coverage_gaps=gaps,
        dips=dips,
        synthetic=note is not None,
        synthetic_note=note,
    )
    # case tables written inside the secure environment keep the allowed columns' reasons
    return stamp_allowed(result, result.parameters.get("allowed"))


def _case_coverage(cov: pd.DataFrame, case_id: str, model, scored: Scored, agencies):
    """Uncovered periods of one case over its audited span, and the joined view's unknown points.

    Returns ``(gaps, max_unknown_points per trajectory row or None)``; for a scorecard
    each gap also gets the most points its unknown rules could have added on an
    audited date inside the gap.
    """
    if "case_id" in cov.columns:
        # the case's own rows and the rows for every child, as one table for this child
        mine = cov["case_id"].isna() | (cov["case_id"] == case_id)
        cov = cov.loc[mine.to_numpy()].drop(columns="case_id")
    day = to_days(scored.rows["as_of"], "as_of", "trajectory")
    start, end = (pd.Timestamp(np.datetime64(int(d), "D")) for d in (day[0], day[-1]))
    gaps = coverage_gaps(cov, start, end, agencies=list(agencies))
    if not hasattr(model, "unknown"):
        return gaps, None
    all_rows = np.arange(len(scored.rows))
    unknown = model.unknown(joined_features(scored, all_rows, scored.rows))[
        "max_unknown_points"
    ].to_numpy(dtype=np.float64)
    lo = np.searchsorted(day, to_days(gaps["from"], "from", "gaps"), side="left")
    hi = np.searchsorted(day, to_days(gaps["to"], "to", "gaps"), side="right")
    gaps["max_unknown_points"] = [
        float(unknown[a:b].max()) if b > a else np.nan for a, b in zip(lo, hi, strict=True)
    ]
    return gaps, unknown


# --------------------------------------------------------------------------- cohort


@dataclass
class CohortAudit:
    """Cohort audit tables (disclosure-controlled unless made with ``disclosure=False``).

    Every table is tidy and has passed :func:`riskscore.disclose` (see its
    ``attrs["riskscore_disclosure"]``); with ``disclosure=False`` each says so on its
    face and must stay inside the secure environment.
    """

    tables: dict
    parameters: dict
    disclosure: object
    n_cases: int
    notice: str = NOTICE
    #: SHA-256 content hashes of the inputs (events, cases), for provenance
    input_hashes: dict = field(default_factory=dict)
    #: Made from synthetic data (make_cohort, vignette): every output says so
    synthetic: bool = False
    synthetic_note: str | None = None

    def __getitem__(self, name: str) -> pd.DataFrame:
        try:
            return self.tables[name]
        except (KeyError, TypeError):
            raise _UnknownTable(
                f"the cohort audit has no table {name!r}; its tables are {', '.join(self.tables)}."
            ) from None


class _UnknownTable(ParameterError, KeyError):
    """A table a cohort audit does not hold: still a ``KeyError``, as a mapping raises."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


_LEAD_LABELS = ["0-30", "31-90", "91-180", "181-365", "366-730", "over 730"]


@validate_params(
    {
        "grid": ["grid"],
        "response_window": [COUNT],
        "horizon": [POSITIVE_INT],
        "recent_window": [WINDOW_DAYS],
        "chunk_size": [POSITIVE_INT],
        "disclosure": ["disclosure"],
        "progress": ["boolean", None],
        "agencies": ["agencies"],
        "min_gap": [COUNT],
    }
)
def audit_cohort(
    events: pd.DataFrame,
    cases: pd.DataFrame,
    model,
    *,
    grid: str | int = DEFAULT_GRID,
    response_window: int = 28,
    horizon: int = 365,
    recent_window: int = 90,
    chunk_size: int = 20_000,
    disclosure=True,
    progress: bool | None = None,
    agencies: tuple[str, ...] = AGENCIES,
    coverage=None,
    min_gap: int = MIN_GAP,
    n_jobs: int | None = None,
) -> CohortAudit:
    """Audit many cases in one vectorised pass and return disclosure-safe tables.

    Cases are processed in chunks (all of a chunk's cases encoded at once, joined
    and every agency view), so memory stays bounded; per-case figures are then
    aggregated, and only aggregates leave.

    Parameters
    ----------
    events, cases : DataFrame
        The data contract's two tables.
    model : RuleScorecard or LogisticRiskModel
    grid : str or int, default="14D"
        Kept for symmetry with :func:`audit_case` and recorded in the parameters;
        cohort tables do not depend on it, because every figure is computed on the
        exact days a score can change.
    response_window : int, default=28
    horizon : int, default=365
        A crossing with no outcome in this many days after it is a false alarm.
    recent_window : int, default=90
    chunk_size : int, default=20000
        Cases per chunk.
    disclosure : bool or dict, default=True
        True applies the default control (counts under 10 suppressed, rounding to
        5); a dict sets ``min_count`` / ``round_to``; False turns it off and marks
        every table as unsafe for release.
    progress : bool, optional
        Show a progress bar (default: when there is more than one chunk).
    agencies : tuple of str
    coverage : DataFrame, AdapterResult or iterable of (agency, from, to), optional
        As in :func:`audit_case`: features of uncovered agencies are missing, not 0,
        in every view. Pandas input only.
    min_gap : int, default=28
        As in :func:`audit_case`: crossings (and so false alarms and missed
        opportunities) count episodes, not re-entries after dips shorter than this.
    n_jobs : int, optional
        Workers that audit chunks of cases at once (None or -1: every core). With
        more than one, the cases are cut into at least two chunks per worker, audited
        in processes forked from this one on Linux (elsewhere, or with
        ``RISKSCORE_FORK=0``: two threads of this process, or worker processes for
        more; see docs/performance.md). With one, the chunks are audited in turn.
        The tables are the same for any value. Pandas input only (Dask schedules its
        own workers).

    Returns
    -------
    CohortAudit
        ``tables``: ``summary``, ``lead_times``, ``false_alarms``, ``join_up_gap``,
        ``missed_opportunities``, ``agency_share``, ``by_deprivation``.

    Warns
    -----
    RuntimeWarning
        On Dask input with no scheduler running, called at the top level of a script
        without an ``if __name__ == "__main__":`` guard: the audit computes with
        threads, as worker processes could not start (see :mod:`riskscore.scale`).

    Examples
    --------
    >>> import riskscore
    >>> events, cases = riskscore.make_cohort(300, random_state=1)
    >>> result = riskscore.audit_cohort(events, cases, riskscore.default_scorecard())
    >>> sorted(result.tables)[:2]
    ['agency_share', 'by_deprivation']
    """
    min_gap = check_min_gap(min_gap)
    dask_input = is_dask(events, cases)
    if dask_input and coverage is not None:
        raise ParameterError(
            "audit_cohort(coverage=...) takes pandas input only; compute the Dask frames "
            "(events.compute()) or audit without coverage."
        )
    if dask_input:
        # Dask input: per-partition audit, tables built once from all partitions so
        # that disclosure control applies to the final totals (riskscore.scale)
        return backend("audit_cohort")(
            events,
            cases,
            model,
            grid=grid,
            response_window=response_window,
            horizon=horizon,
            recent_window=recent_window,
            chunk_size=chunk_size,
            disclosure=disclosure,
            agencies=agencies,
            min_gap=min_gap,
        )
    check_model(model)
    cov = None if coverage is None else coverage_table(coverage)
    step_days(grid)  # validated; cohort tables do not depend on the grid (exact days)
    # the contract at the door: unknown codes, duplicate cases, outcomes outside the
    # vocabulary, missing dates and events of children not in cases are refused with
    # validate_events/validate_cases's own messages (nothing is dropped silently)
    events = ensure_events(events)
    if not isinstance(events["case_id"].dtype, pd.CategoricalDtype):
        # every later step reads the case ids as codes: text is compared once per
        # distinct id, not once per event
        events = events.assign(case_id=pd.Categorical(events["case_id"]))
    cases = ensure_cases(cases, events)
    if len(events) == 0:
        raise SchemaError("events: the table has no rows; there is nothing to audit.")
    extract_end = int(to_days(events["date"], "date", "events").max())
    n_chunks = -(-cases["case_id"].nunique() // int(chunk_size))
    result = audit_chunks(
        events,
        cases,
        model,
        response_window=int(response_window),
        recent_window=recent_window,
        horizon=int(horizon),
        agencies=agencies,
        extract_end=extract_end,
        chunk_size=int(chunk_size),
        coverage=cov,
        progress=progress if progress is not None else n_chunks > 1,
        min_gap=min_gap,
        n_jobs=n_jobs,
        # the inputs' hashes (provenance) computed while worker processes audit
        alongside=lambda: _input_hashes(events, cases),
    )
    if result["orphans"]:
        raise orphan_error(result["orphans"], result["orphan_ids"])
    per_case, fa_part, holder_part = merge_frames(result["frames"])
    n_without = result["n_audited"] - len(per_case)
    raw = cohort_tables(per_case, fa_part, holder_part, len(cases), n_without, horizon, agencies)
    synthetic = synthetic_note(events, cases)
    tables = control_tables(raw, disclosure, synthetic=synthetic)
    allowed = _allowed_parameter(events, cases)
    for t in tables.values():
        # columns let past the identifying-data guard travel with every output
        if allowed:
            t.attrs[ALLOWED] = dict(allowed["allowed"])
    return CohortAudit(
        tables=tables,
        parameters={
            "grid": grid,
            "response_window": int(response_window),
            "horizon": int(horizon),
            "recent_window": recent_window,
            "chunk_size": chunk_size,
            "min_gap": min_gap,
            "model": getattr(model, "name", None) or type(model).__name__,
            **({} if cov is None else {"coverage": f"table of {len(cov)} interval(s)"}),
            **allowed,
        },
        disclosure=disclosure,
        n_cases=len(cases),
        input_hashes=result.get("alongside") or _input_hashes(events, cases),
        synthetic=synthetic is not None,
        synthetic_note=synthetic,
    )


def _input_hashes(events: pd.DataFrame, cases: pd.DataFrame) -> dict:
    """SHA-256 content hashes of the audit's inputs, for its provenance."""
    return {"events": hash_input(events), "cases": hash_input(cases)}


def _allowed_parameter(*frames) -> dict:
    """``{"allowed": {column: reason}}`` from the inputs' attrs, or ``{}`` (for provenance)."""
    allowed = allowed_columns(*frames)
    return {"allowed": allowed} if allowed else {}


def deprivation_illustration(
    model, n_cases: int = 5000, random_state: int = 2101, *, generator: int | None = None
) -> dict:
    """How often a model reaches each band by deprivation quintile, on a synthetic cohort.

    For model cards of models that were not fitted to data (the default scorecard):
    a disclosure-controlled illustration that poverty-linked indicators can make a
    score track deprivation. It is synthetic and says so; it is not evidence about
    real children. Real use must report the same on the audited cohort
    (``audit_cohort(...).tables["by_deprivation"]``).

    Parameters
    ----------
    model : RuleScorecard or LogisticRiskModel
    n_cases : int, default=5000
    random_state : int, default=2101
    generator : {1, 2}, optional
        :func:`riskscore.make_cohort`'s generator (default: its default, 2).
        ``review-rules-v1``'s card was made with generator 1, the only one then, and
        names its cohort without a generator; so does this function for generator 1.

    Returns
    -------
    dict
        ``note``, ``cohort`` and ``by_imd_quintile`` (rows of disclosed counts and
        shares).

    Examples
    --------
    >>> import riskscore
    >>> card = riskscore.default_scorecard()
    >>> ill = deprivation_illustration(card, n_cases=400)
    >>> [row["imd_quintile"] for row in ill["by_imd_quintile"]][:2]
    ['1', '2']
    """
    from riskscore.synthetic import GENERATOR, make_cohort

    generator = GENERATOR if generator is None else generator
    events, cases = make_cohort(n_cases, random_state=random_state, generator=generator)
    table = audit_cohort(events, cases, model).tables["by_deprivation"]
    rows = []
    for r in table.itertuples(index=False):
        n = None if pd.isna(r.n_cases) else int(r.n_cases)
        review = None if pd.isna(r.n_reached_review) else int(r.n_reached_review)
        rows.append(
            {
                "imd_quintile": str(r.imd_quintile),
                "n_cases": n,
                "share_reached_review": None if not n or review is None else review / n,
                "share_reached_multi_agency_discussion": None
                if pd.isna(r.share_reached_mad)
                else float(r.share_reached_mad),
                "share_with_join_up_gap": None
                if pd.isna(r.share_with_gap)
                else float(r.share_with_gap),
            }
        )
    return {
        "note": (
            "SYNTHETIC ILLUSTRATION, not evidence about real children: how often this "
            "model reaches each band by deprivation quintile (1 = most deprived) in a "
            "synthetic cohort whose hardship is more common in deprived quintiles. "
            "Poverty-linked indicators can make a score track deprivation; report the "
            "same table on the audited cohort. Counts are disclosure-controlled."
        ),
        "cohort": f"riskscore.make_cohort({n_cases}, random_state={random_state}"
        + ("" if generator == 1 else f", generator={generator}")
        + ")",
        "by_imd_quintile": rows,
    }


#: Model-card entries that state what a view, agency or subgroup can reach: they are
#: computed (computed_card_claims), never written by hand, and tests recompute them.
COMPUTED_CLAIMS = ("bands", "agency_reach", "metrics_by_deprivation")


def computed_card_claims(
    model, *, n_cases: int = 5000, random_state: int = 2101, generator: int | None = None
) -> dict:
    """Every model-card entry about what a view, agency or subgroup can reach, computed.

    ``bands`` is :func:`riskscore.reach.reach_statement` (the band thresholds and what
    each single agency's own records can reach, from the rules and
    :data:`riskscore.EVENTS`), ``agency_reach`` the table behind it
    (:func:`riskscore.agency_reach`, one record per view) and
    ``metrics_by_deprivation`` :func:`deprivation_illustration`. Put them in a card
    with ``card.model_card.update(computed_card_claims(card))`` before saving it;
    the tests recompute them from every shipped card that carries them.

    Parameters
    ----------
    model : RuleScorecard
    n_cases, random_state, generator
        The synthetic cohort of the deprivation illustration.

    Returns
    -------
    dict
        ``{"bands": str, "agency_reach": list of dict, "metrics_by_deprivation": dict}``.

    Examples
    --------
    >>> import riskscore
    >>> claims = computed_card_claims(riskscore.load_model("review-rules-v1"), n_cases=300)
    >>> claims["agency_reach"][-1]["view"], claims["agency_reach"][-1]["max_points"]
    ('joined', 28.0)
    """
    from riskscore.reach import agency_reach, reach_statement

    reach = agency_reach(model)
    return {
        "bands": reach_statement(model),
        "agency_reach": [
            {
                "view": r.view,
                "max_points": float(r.max_points),
                "band": r.band,
                "rules": r.rules,
            }
            for r in reach.itertuples(index=False)
        ],
        "metrics_by_deprivation": deprivation_illustration(
            model, n_cases, random_state, generator=generator
        ),
    }
