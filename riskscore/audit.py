"""Retrospective audit: when did the risk become visible, to whom, and did anyone act?

For retrospective audit, learning and research only: an audit describes what the
records held on past dates; it is not a decision about any child or family.

Definitions (DESIGN.md, Audit)
------------------------------
* **Trajectory**: the joined score and each agency's own score over time, from a
  case's first event to its outcome date or follow-up end. Scores are step
  functions of the date, so they are evaluated on a regular grid *and* on every
  date a feature can change (:func:`riskscore.features.change_dates`); crossings
  are therefore exact to the day.
* **Crossing**: a date on which the score reaches a band's threshold from below
  (one row per band reached; re-entering after leaving counts again). The state
  before a case's first event is the score of an empty record.
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

from riskscore.coverage import coverage_gaps, coverage_table
from riskscore.disclosure import apply_disclosure, hash_input, mark_undisclosed
from riskscore.errors import SchemaError
from riskscore.features import (
    _sorted_unique,
    _step_days,
    _to_days,
    change_dates,
    encode_features,
)
from riskscore.vocabulary import AGENCIES, BANDS, PLAN_START_END, RESPONSE_EVENTS

__all__ = [
    "audit_case",
    "audit_cohort",
    "CaseAudit",
    "CohortAudit",
    "RESPONSES",
    "NOTICE",
    "deprivation_illustration",
]

#: Events that count as a response to a crossing.
RESPONSES: tuple[str, ...] = tuple(
    e for e in RESPONSE_EVENTS if e not in PLAN_START_END.values()
)  # referrals, early help, meetings, conferences, plan starts: plan ends are not responses

NOTICE = "Retrospective audit for learning and research: not a decision about any child or family."
CASE_LEVEL_NOTICE = (
    "Individual-level output: it must stay inside the secure environment and must not be released."
)

_NAT = np.iinfo(np.int64).min
_BAND_DTYPE = pd.CategoricalDtype(list(BANDS), ordered=True)


# --------------------------------------------------------------------------- helpers


def _band_codes(model, X: pd.DataFrame) -> np.ndarray:
    return pd.Categorical(model.band(X), dtype=_BAND_DTYPE).codes.astype(np.int8)


def band_thresholds(model) -> dict[str, float]:
    """A model's band thresholds on its own score scale (for plots)."""
    for attr in ("bands_", "bands"):
        b = getattr(model, attr, None)
        if isinstance(b, dict) and b:
            return {k: float(v) for k, v in b.items()}
    return {}


def _agency_labels(events: pd.DataFrame) -> np.ndarray:
    """Agency of each event as an object array, converting distinct values only."""
    cat = pd.Categorical(events["agency"])
    names = np.append(np.asarray(cat.categories, dtype=object).astype(str), None)
    return names[cat.codes]


def _case_codes(values, ids: pd.Index) -> np.ndarray:
    """Integer position of each case id in ``ids`` (-1 if absent), cheap for categoricals."""
    values = pd.Series(values) if not isinstance(values, pd.Series) else values
    cat = pd.Categorical(values)
    mapping = ids.get_indexer(np.asarray(cat.categories, dtype=object).astype(str))
    mapping = np.append(mapping, -1).astype(np.int64)  # code -1 reads the sentinel
    return mapping[cat.codes]


def _case_ends(ids: pd.Index, cases: pd.DataFrame | None, extract_end: int) -> pd.DataFrame:
    """Per case: outcome, outcome day and last audited day (outcome, follow-up end, extract end)."""
    out = pd.DataFrame(index=ids)
    out["outcome"] = None
    out["outcome_day"] = _NAT
    out["end_day"] = extract_end
    if cases is None or len(cases) == 0:
        return out
    pos = _case_codes(cases["case_id"], ids)
    keep = pos >= 0
    c = cases.loc[keep]
    pos = pos[keep]
    end = out["end_day"].to_numpy().copy()
    if "followup_end" in c.columns:
        f = _to_days(c["followup_end"], "followup_end", "cases")
        has = f != _NAT
        end[pos[has]] = f[has]
    if "outcome_date" in c.columns:
        o = _to_days(c["outcome_date"], "outcome_date", "cases")
        od = out["outcome_day"].to_numpy().copy()
        od[pos] = o
        out["outcome_day"] = od
        has = o != _NAT
        end[pos[has]] = np.minimum(end[pos[has]], o[has])
    out["end_day"] = end
    if "outcome" in c.columns:
        oc = np.full(len(out), None, dtype=object)
        oc[pos] = c["outcome"].to_numpy(dtype=object)
        out["outcome"] = oc
    return out


def _days_to_ns(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[ns]")


class _Rows:
    """Evaluation rows of a chunk: sorted by (case code, day)."""

    __slots__ = ("code", "day", "on_grid", "ids")

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "case_id": pd.Categorical.from_codes(self.code, categories=self.ids),
                "as_of": _days_to_ns(self.day),
            }
        )

    def key(self) -> np.ndarray:
        return (self.code << 32) | (self.day + (1 << 30))


def _coverage_points(coverage, ids: pd.Index, agencies=None) -> tuple[np.ndarray, np.ndarray]:
    """(case code, day) pairs on which some coverage starts or stops (features can change).

    A row without ``case_id`` applies to every case in ``ids``; a row with one, to that
    case only (codes of cases outside ``ids`` are dropped).
    """
    none = np.zeros(0, dtype=np.int64)
    if coverage is None or len(coverage) == 0:
        return none, none
    cov = coverage if agencies is None else coverage[coverage["agency"].isin(list(agencies))]
    day = np.concatenate(
        [_to_days(cov["from"], "from", "coverage"), _to_days(cov["to"], "to", "coverage") + 1]
    )
    if "case_id" in cov.columns:
        own = np.tile(cov["case_id"].notna().to_numpy(), 2)
    else:
        own = np.zeros(len(day), dtype=bool)
    g = _sorted_unique(day[~own])
    code = [np.repeat(np.arange(len(ids), dtype=np.int64), len(g))]
    days = [np.tile(g, len(ids))]
    if own.any():
        names = cov["case_id"].astype("string").fillna("").reset_index(drop=True)
        c = np.tile(_case_codes(names.astype(str), ids), 2)[own]
        keep = c >= 0
        code.append(c[keep])
        days.append(day[own][keep])
    return np.concatenate(code), np.concatenate(days)


def _evaluation_rows(
    events, ev_code, ids, ends, grid_days: int, recent_window: int, coverage=None
) -> _Rows:
    """Grid days, change days (and coverage changes) and the end day per case, within [first, end].

    ``grid_days=None`` leaves the grid out (each case's first day only): every figure
    of a cohort audit comes from the change days, where scores can change, so the
    plotted grid would only add rows.
    """
    day = _to_days(events["date"], "date", "events")
    first = np.full(len(ids), np.iinfo(np.int64).max)
    np.minimum.at(first, ev_code, day)
    end = ends["end_day"].to_numpy()
    has = first <= end
    if grid_days is None:
        n, grid_days = has.astype(np.int64), 1
    else:
        n = np.where(has, (end - first) // grid_days + 1, 0)
    rep = np.repeat(np.arange(len(ids)), n)
    grid_day = first[rep] + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) * grid_days
    ch = change_dates(events, recent_window=recent_window)
    ch_code = _case_codes(ch["case_id"], ids)
    ch_day = _to_days(ch["as_of"], "as_of", "change dates")
    end_codes = np.flatnonzero(has)
    cov_code, cov_day = _coverage_points(coverage, ids)
    code = np.concatenate([rep, ch_code, end_codes, cov_code])
    dd = np.concatenate([grid_day, ch_day, end[end_codes], cov_day])
    flag = np.concatenate(
        [
            np.ones(len(rep), np.int8),
            np.zeros(len(ch_code) + len(end_codes) + len(cov_code), np.int8),
        ]
    )
    ok = (code >= 0) & (dd >= first[np.maximum(code, 0)]) & (dd <= end[np.maximum(code, 0)])
    code, dd, flag = code[ok], dd[ok], flag[ok]
    key = (code << 32) | (dd + (1 << 30))
    order = np.argsort(key, kind="stable")
    key, flag = key[order], flag[order]
    # key is sorted: group starts are where it changes (no hash-based unique)
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.arange(0)
    uniq = key[start]
    rows = _Rows()
    rows.code = uniq >> 32
    rows.day = (uniq & 0xFFFFFFFF) - (1 << 30)
    rows.on_grid = (
        np.maximum.reduceat(flag, start).astype(bool) if len(start) else flag.astype(bool)
    )
    rows.ids = ids
    return rows


@dataclass
class _Scored:
    """Scores of every evaluation row, joined and per agency view."""

    rows: pd.DataFrame  # case_id, as_of, on_grid, score, band, score_<a>, band_<a>, best...
    joined: _View  # the joined view at its change points, and each row's position there


_NO_EVENTS = pd.DataFrame(
    {
        "case_id": pd.Series([], dtype=str),
        "date": pd.Series([], dtype="datetime64[ns]"),
        "agency": pd.Series([], dtype=str),
        "event": pd.Series([], dtype=str),
    }
)


def _empty_record(model) -> tuple[float, int]:
    """Score and band of a record with no events (the state before a case's first event)."""
    q = pd.DataFrame({"case_id": ["__empty__"], "as_of": [pd.Timestamp("2000-01-01")]})
    x = encode_features(_NO_EVENTS, q)
    return float(model.risk_score(x).iloc[0]), int(_band_codes(model, x)[0])


def _view_points(ev_v, rows: _Rows, coverage, agencies, recent_window: int) -> pd.DataFrame:
    """Dates a view can change: its events' change dates, the coverage starts and stops of
    its agencies, and each case's first row (where an uncovered view already differs
    from an empty record)."""
    parts_code, parts_day = [], []
    if len(ev_v):
        ch = change_dates(ev_v, recent_window=recent_window)
        parts_code.append(_case_codes(ch["case_id"], rows.ids))
        parts_day.append(_to_days(ch["as_of"], "as_of", "change dates"))
    c, d = _coverage_points(coverage, rows.ids, agencies)
    parts_code.append(c)
    parts_day.append(d)
    if coverage is not None:
        first = np.ones(len(rows.code), dtype=bool)
        first[1:] = rows.code[1:] != rows.code[:-1]
        parts_code.append(rows.code[first])
        parts_day.append(rows.day[first])
    code, day = np.concatenate(parts_code), np.concatenate(parts_day)
    keep = code >= 0
    key = _sorted_unique((code[keep] << 32) | (day[keep] + (1 << 30)))
    return pd.DataFrame(
        {
            "case_id": pd.Categorical.from_codes(key >> 32, categories=rows.ids),
            "as_of": _days_to_ns((key & 0xFFFFFFFF) - (1 << 30)),
        }
    )


@dataclass
class _View:
    """One view scored on its own change points and carried forward to every row."""

    score: np.ndarray  # per row
    band: np.ndarray  # per row (codes)
    points: pd.DataFrame  # features at the view's change points
    index: np.ndarray  # per row: position in ``points``, -1 = empty record so far


def _carry(ev_v, agency, rows: _Rows, model, recent_window, empty, coverage, cov_agencies):
    """Score a view where it can change, then carry each score forward to every row.

    A view is a step function of the date that changes only on its change points, so
    this is exact, and costs one encoding of the change points instead of every row.
    """
    n = len(rows.code)
    score = np.full(n, empty[0])
    band = np.full(n, empty[1], dtype=np.int8)
    index = np.full(n, -1, dtype=np.int64)
    pts = _view_points(ev_v, rows, coverage, cov_agencies, recent_window)
    x = encode_features(ev_v, pts, agency, recent_window=recent_window, coverage=coverage)
    if len(pts):
        key = (_case_codes(pts["case_id"], rows.ids) << 32) | (
            _to_days(pts["as_of"], "as_of", "change dates") + (1 << 30)
        )
        i = np.searchsorted(key, rows.key(), side="right") - 1
        top = np.append(key, np.int64(-1))[i]  # i == -1 reads the sentinel
        hit = (top >= 0) & ((top >> 32) == rows.code)
        score[hit] = model.risk_score(x).to_numpy()[i[hit]]
        band[hit] = _band_codes(model, x)[i[hit]]
        index[hit] = i[hit]
    return _View(score, band, x, index)


def _score_views(
    events, rows: _Rows, model, recent_window: int, agencies, empty, coverage=None
) -> _Scored:
    """The joined view and each agency's view, each scored on its own change points.

    Every view is a step function that changes only on the change dates of its own
    events (and, with coverage, where coverage starts or stops), so it is scored
    there and carried forward to every row: exact, and about as much work in total
    as two encodings of the change dates.
    """
    out = rows.frame()
    out["on_grid"] = rows.on_grid
    all_agencies = None if coverage is None else sorted(set(coverage["agency"]))
    joined = _carry(events, None, rows, model, recent_window, empty, coverage, all_agencies)
    out["score"] = joined.score
    out["band"] = pd.Categorical.from_codes(joined.band, dtype=_BAND_DTYPE)
    best = np.zeros(len(out), dtype=np.int8)
    agency = _agency_labels(events)
    for a in agencies:
        ev_a = events.loc[agency == a]
        if len(ev_a) or coverage is not None:
            view = _carry(ev_a, a, rows, model, recent_window, empty, coverage, [a])
            score_a, band_a = view.score, view.band
        else:
            score_a = np.full(len(out), empty[0])
            band_a = np.full(len(out), empty[1], dtype=np.int8)
        out[f"score_{a}"] = score_a
        out[f"band_{a}"] = pd.Categorical.from_codes(band_a, dtype=_BAND_DTYPE)
        best = np.maximum(best, band_a)
    out["best_agency_band"] = pd.Categorical.from_codes(best, dtype=_BAND_DTYPE)
    return _Scored(out, joined)


def _joined_features(scored: _Scored, positions: np.ndarray, rows_frame: pd.DataFrame):
    """Joined features at some rows: from the view's change points, or an empty record."""
    view = scored.joined
    idx = view.index[positions]
    x = view.points.iloc[np.maximum(idx, 0)].reset_index(drop=True)
    if (idx < 0).any():
        empty = encode_features(
            _NO_EVENTS, rows_frame.iloc[positions[idx < 0]][["case_id", "as_of"]]
        )
        x.loc[np.flatnonzero(idx < 0)] = empty.to_numpy()
    return x


def _crossings(scored: _Scored, rows: _Rows, empty_band: int) -> pd.DataFrame:
    """One row per (evaluation row, band threshold reached from below)."""
    codes = pd.Categorical(scored.rows["band"], dtype=_BAND_DTYPE).codes.astype(np.int16)
    case = rows.code
    prev = np.full(len(codes), empty_band, dtype=np.int16)
    if len(codes) > 1:
        prev[1:] = np.where(case[1:] == case[:-1], codes[:-1], empty_band)
    hits, bands = [], []
    for level in range(1, len(BANDS)):
        h = np.flatnonzero((codes >= level) & (prev < level))
        hits.append(h)
        bands.append(np.full(len(h), level, dtype=np.int8))
    row = np.concatenate(hits)
    level = np.concatenate(bands)
    order = np.lexsort((level, row))
    row, level = row[order], level[order]
    return pd.DataFrame(
        {
            "row": row,
            "band": pd.Categorical.from_codes(level, dtype=_BAND_DTYPE),
            "case_id": np.asarray(rows.ids, dtype=object)[case[row]],
            "code": case[row],
            "date": _days_to_ns(rows.day[row]),
            "day": rows.day[row],
            "score": scored.rows["score"].to_numpy()[row],
        }
    )


def _gap_days(scored: _Scored, rows: _Rows, ends: pd.DataFrame) -> np.ndarray:
    """Days per case (by code) on which the joined band exceeds every agency's band."""
    day, case = rows.day, rows.code
    nxt = np.empty_like(day)
    nxt[:-1] = day[1:]
    last = np.ones(len(day), dtype=bool)
    last[:-1] = case[1:] != case[:-1]
    end = ends["end_day"].to_numpy()[case]
    nxt[last] = end[last] + 1  # the end day itself is audited
    length = np.maximum(nxt - day, 0)
    joined = pd.Categorical(scored.rows["band"], dtype=_BAND_DTYPE).codes
    best = pd.Categorical(scored.rows["best_agency_band"], dtype=_BAND_DTYPE).codes
    return np.bincount(case, weights=np.where(joined > best, length, 0), minlength=len(ends))


def _event_keys(events, ev_code, names, shift: int, low_bit=None) -> np.ndarray:
    m = events["event"].isin(names).to_numpy() & (ev_code >= 0)
    d = _to_days(events["date"], "date", "events")[m] + (1 << 30)
    if low_bit is None:
        return np.sort((ev_code[m] << shift) | d)
    return (ev_code[m] << shift) | (d << 1) | low_bit


def _responses_after(events, ev_code, cr: pd.DataFrame, window: int):
    """Per crossing: responses in [d, d + window], and the first response on or after d."""
    key = _event_keys(events, ev_code, RESPONSES, 32)
    c, d = cr["code"].to_numpy(), cr["day"].to_numpy() + (1 << 30)
    lo, hi = (c << 32) | d, (c << 32) | (d + window)
    n_in = np.searchsorted(key, hi, side="right") - np.searchsorted(key, lo, side="left")
    top = np.append(key, np.int64(-1))[np.searchsorted(key, lo, side="left")]
    has_next = (top >= 0) & ((top >> 32) == c)
    nxt_day = np.where(has_next, (top & 0xFFFFFFFF) - (1 << 30), 0)
    return n_in, has_next, nxt_day


def _plan_active(events, ev_code, cr: pd.DataFrame) -> np.ndarray:
    """True where a CIN or CP plan had started and not ended by the crossing day."""
    c, d = cr["code"].to_numpy(), cr["day"].to_numpy() + (1 << 30)
    active = np.zeros(len(cr), dtype=bool)
    for start, end in PLAN_START_END.items():
        # latest plan event on or before d; an end on the same day as a start wins
        key = np.sort(
            np.concatenate(
                [
                    _event_keys(events, ev_code, [start], 33, 0),
                    _event_keys(events, ev_code, [end], 33, 1),
                ]
            )
        )
        i = np.searchsorted(key, (c << 33) | (d << 1) | 1, side="right") - 1
        top = np.append(key, np.int64(-1))[i]  # i == -1 reads the sentinel
        active |= (top >= 0) & ((top >> 33) == c) & ((top & 1) == 0)
    return active


def _contributors(
    model, events, scored: _Scored, cr: pd.DataFrame, recent_window, agencies, coverage=None
):
    """Long table: crossing, contributor (rule or feature), value, agencies that held it."""
    if cr.empty:
        return pd.DataFrame(
            {
                "crossing": pd.Series([], dtype=np.int64),
                "contributor": pd.Series([], dtype=object),
                "contribution": pd.Series([], dtype=np.float64),
                "held_by": pd.Series([], dtype=object),
            }
        )
    joined = model.contributions(_joined_features(scored, cr["row"].to_numpy(), scored.rows))
    cols = [c for c in joined.columns if c != "baseline"]
    contrib = joined[cols].to_numpy()
    q = pd.DataFrame({"case_id": cr["case_id"].to_numpy(), "as_of": cr["date"].to_numpy()})
    held = np.zeros((len(cr), len(cols), len(agencies)), dtype=bool)
    agency = _agency_labels(events)
    for j, a in enumerate(agencies):
        x = encode_features(
            events.loc[agency == a], q, a, recent_window=recent_window, coverage=coverage
        )
        ca = model.contributions(x)[cols].to_numpy()
        held[:, :, j] = (ca != 0) & (np.sign(ca) == np.sign(contrib))
    i, k = np.nonzero(contrib != 0)
    ag = np.asarray(agencies, dtype=object)
    held_by = [", ".join(ag[held[a, b]]) or "only when joined" for a, b in zip(i, k, strict=True)]
    return pd.DataFrame(
        {
            "crossing": i,
            "contributor": np.asarray(cols, dtype=object)[k],
            "contribution": contrib[i, k],
            "held_by": held_by,
        }
    )


@dataclass
class _Core:
    ids: pd.Index
    events: pd.DataFrame
    ends: pd.DataFrame
    scored: _Scored
    crossings: pd.DataFrame
    gaps: np.ndarray
    contributors: pd.DataFrame


def _audit_core(
    events,
    cases,
    model,
    grid_days,
    response_window,
    recent_window,
    agencies,
    extract_end,
    coverage=None,
) -> _Core:
    ids = pd.Index(pd.unique(events["case_id"].astype(str)), name="case_id")
    ev_code = _case_codes(events["case_id"], ids)
    events = events.assign(case_id=pd.Categorical.from_codes(ev_code, categories=ids))
    ends = _case_ends(ids, cases, extract_end)
    rows = _evaluation_rows(events, ev_code, ids, ends, grid_days, recent_window, coverage)
    empty = _empty_record(model)
    scored = _score_views(events, rows, model, recent_window, agencies, empty, coverage)
    cr = _crossings(scored, rows, empty[1])
    n_resp, has_next, nxt_day = _responses_after(events, ev_code, cr, response_window)
    cr["responses_in_window"] = n_resp
    cr["plan_active"] = _plan_active(events, ev_code, cr)
    cr["missed"] = (n_resp == 0) & ~cr["plan_active"].to_numpy()
    cr["days_to_next_response"] = np.where(has_next, nxt_day - cr["day"].to_numpy(), np.nan)
    gaps = _gap_days(scored, rows, ends)
    contrib = _contributors(model, events, scored, cr, recent_window, agencies, coverage)
    return _Core(ids, events, ends, scored, cr, gaps, contrib)


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
        ``date``, ``band``, ``score``, ``responses_in_window``, ``plan_active``,
        ``missed``, ``days_to_next_response``.
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

    def first_crossing(self, band: str = "multi_agency_discussion", view: str | None = None):
        """First date the joined score (or one agency's own score) reached ``band``.

        Returns ``None`` when it never did.
        """
        level = BANDS.index(band)
        col = "band" if view is None else f"band_{view}"
        codes = pd.Categorical(self.trajectory[col], dtype=_BAND_DTYPE).codes
        hit = np.flatnonzero(codes >= level)
        return None if len(hit) == 0 else self.trajectory["as_of"].iloc[hit[0]]

    def days_in_band(self, band: str = "multi_agency_discussion", view: str | None = None) -> int:
        """Days on which the joined (or one agency's) score was at or above ``band``."""
        level = BANDS.index(band)
        col = "band" if view is None else f"band_{view}"
        t = self.trajectory
        day = _to_days(t["as_of"], "as_of", "trajectory")
        end = day[-1] + 1
        length = np.diff(np.append(day, end))
        codes = pd.Categorical(t[col], dtype=_BAND_DTYPE).codes
        return int(length[codes >= level].sum())

    def summary(self) -> str:
        """A short plain-text account of the audit."""
        lines = [NOTICE, CASE_LEVEL_NOTICE, f"Case {self.case_id}:"]
        for band in BANDS[1:]:
            first = self.first_crossing(band)
            txt = "never reached" if first is None else f"first reached {first:%Y-%m-%d}"
            lines.append(f"  joined view, {band}: {txt}")
        lines.append(f"  join-up gap: {self.join_up_gap_days} days")
        lines.append(
            f"  crossings: {len(self.crossings)}, missed opportunities: "
            f"{len(self.missed_opportunities)}"
        )
        for r in self.lead_times.itertuples():
            if pd.notna(r.lead_time_days):
                lines.append(
                    f"  lead time to outcome from first {r.band}: {int(r.lead_time_days)} days"
                )
        return "\n".join(lines)


def _check_model(model) -> None:
    missing = [m for m in ("risk_score", "contributions", "band") if not hasattr(model, m)]
    if missing:
        raise TypeError(
            f"model {type(model).__name__} lacks {missing}: audits take a RuleScorecard "
            "or a fitted LogisticRiskModel (riskscore.load_model reads either)."
        )


def _lead_times(cr: pd.DataFrame, ends: pd.DataFrame) -> pd.DataFrame:
    """First crossing per case and band on or before the outcome, and its lead time."""
    o = ends["outcome_day"].to_numpy()[cr["code"].to_numpy()]
    d = cr["day"].to_numpy()
    keep = (o == _NAT) | (d <= o)
    first = (
        cr.loc[keep, ["case_id", "code", "band", "day"]]
        .groupby(["case_id", "code", "band"], observed=True, sort=True)["day"]
        .min()
        .reset_index()
    )
    od = ends["outcome_day"].to_numpy()[first["code"].to_numpy()]
    first["first_crossing"] = _days_to_ns(first["day"].to_numpy())
    first["lead_time_days"] = np.where(od != _NAT, od - first["day"].to_numpy(), np.nan)
    return first.drop(columns=["day"])


def audit_case(
    events: pd.DataFrame,
    case_id: str,
    model,
    cases: pd.DataFrame | None = None,
    grid: str | int = "14D",
    response_window: int = 28,
    *,
    recent_window: int = 90,
    agencies: tuple[str, ...] = AGENCIES,
    coverage=None,
) -> CaseAudit:
    """Audit one case: trajectory, exact crossings, join-up gap, missed opportunities.

    Parameters
    ----------
    events : DataFrame
        Events in the data contract (may hold many cases; one is audited).
    case_id : str
        The case to audit.
    model : RuleScorecard or LogisticRiskModel
        Any model with the shared contract (``risk_score``, ``contributions``, ``band``).
    cases : DataFrame, optional
        Cases table, for the outcome, outcome date and follow-up end.
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

    Returns
    -------
    CaseAudit
        Individual-level: it must stay inside the secure environment.

    Examples
    --------
    >>> import riskscore
    >>> events, cases = riskscore.vignette()
    >>> audit = riskscore.audit_case(events, "CHILD-A", riskscore.default_scorecard(), cases)
    >>> audit.join_up_gap_days > 0
    True

    With a coverage table, school records stopping early (dates invented):

    >>> cov = [(a, "2095-01-01", "2110-12-31") for a in riskscore.AGENCIES if a != "school"]
    >>> cov += [("school", "2095-01-01", "2101-06-30")]
    >>> audit = riskscore.audit_case(events, "CHILD-A", riskscore.default_scorecard(), cases,
    ...                              coverage=cov)
    >>> audit.coverage_gaps[["agency", "from"]].astype(str).values.tolist()
    [['school', '2101-07-01']]
    """
    _check_model(model)
    cov = None if coverage is None else coverage_table(coverage)
    if "case_id" not in events.columns:
        raise SchemaError("events: missing required column 'case_id'.")
    mask = (events["case_id"].astype(str) == str(case_id)).to_numpy()
    if not mask.any():
        raise SchemaError(f"case_id {case_id!r} has no events; nothing to audit.")
    one = events.loc[mask]
    one_cases = None
    if cases is not None:
        one_cases = cases.loc[(cases["case_id"].astype(str) == str(case_id)).to_numpy()]
    grid_days = _step_days(grid)
    # a case's audit ends at its outcome or follow-up end, else at the extract's end
    extract_end = int(_to_days(events["date"], "date", "events").max())
    core = _audit_core(
        one,
        one_cases,
        model,
        grid_days,
        int(response_window),
        recent_window,
        agencies,
        extract_end,
        cov,
    )
    ends, cr, contrib = core.ends, core.crossings, core.contributors
    traj = core.scored.rows.drop(columns="case_id")
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
    lead = _lead_times(cr, ends)
    o_day = ends["outcome_day"].iloc[0]
    return CaseAudit(
        case_id=str(case_id),
        model=model,
        trajectory=traj,
        crossings=crossings,
        contributions=contrib,
        missed_opportunities=missed.reset_index(drop=True),
        join_up_gap_days=int(core.gaps.sum()),
        lead_times=lead.drop(columns=["case_id", "code"]).reset_index(drop=True),
        events=one.sort_values("date", kind="stable").reset_index(drop=True),
        outcome=ends["outcome"].iloc[0],
        outcome_date=None if o_day == _NAT else pd.Timestamp(np.datetime64(int(o_day), "D")),
        parameters={
            "grid": grid,
            "response_window": int(response_window),
            "recent_window": recent_window,
            **({} if cov is None else {"coverage": f"table of {len(cov)} interval(s)"}),
        },
        coverage_gaps=gaps,
    )


def _case_coverage(cov: pd.DataFrame, case_id: str, model, scored: _Scored, agencies):
    """Uncovered periods of one case over its audited span, and the joined view's unknown points.

    Returns ``(gaps, max_unknown_points per trajectory row or None)``; for a scorecard
    each gap also gets the most points its unknown rules could have added on an
    audited date inside the gap.
    """
    if "case_id" in cov.columns:
        # the case's own rows and the rows for every child, as one table for this child
        mine = cov["case_id"].isna() | (cov["case_id"] == case_id)
        cov = cov.loc[mine.to_numpy()].drop(columns="case_id")
    day = _to_days(scored.rows["as_of"], "as_of", "trajectory")
    start, end = (pd.Timestamp(np.datetime64(int(d), "D")) for d in (day[0], day[-1]))
    gaps = coverage_gaps(cov, start, end, agencies=list(agencies))
    if not hasattr(model, "unknown"):
        return gaps, None
    all_rows = np.arange(len(scored.rows))
    unknown = model.unknown(_joined_features(scored, all_rows, scored.rows))[
        "max_unknown_points"
    ].to_numpy(dtype=np.float64)
    lo = np.searchsorted(day, _to_days(gaps["from"], "from", "gaps"), side="left")
    hi = np.searchsorted(day, _to_days(gaps["to"], "to", "gaps"), side="right")
    gaps["max_unknown_points"] = [
        float(unknown[a:b].max()) if b > a else np.nan for a, b in zip(lo, hi, strict=True)
    ]
    return gaps, unknown


# --------------------------------------------------------------------------- cohort


def _chunk_frames(core: _Core, horizon: int):
    """Per-case, crossing and contributor frames of one chunk (inputs to the cohort tables)."""
    cr = core.crossings.copy()
    ends = core.ends
    o = ends["outcome_day"].to_numpy()[cr["code"].to_numpy()]
    d = cr["day"].to_numpy()
    cr["true_alarm"] = (o != _NAT) & (o >= d) & (o - d <= horizon)
    cr["before_outcome"] = (o == _NAT) | (d <= o)
    contrib = core.contributors.copy()
    at = contrib["crossing"].to_numpy()
    contrib["band"] = cr["band"].to_numpy()[at]
    contrib["missed"] = cr["missed"].to_numpy()[at]
    lead = _lead_times(cr, ends)
    pc = ends.copy()
    pc["gap_days"] = core.gaps
    for band in BANDS[1:]:
        lb = lead[lead["band"] == band]
        lead_days = np.full(len(pc), np.nan)
        lead_days[lb["code"].to_numpy()] = lb["lead_time_days"].to_numpy()
        reached = np.zeros(len(pc), dtype=bool)
        reached[lb["code"].to_numpy()] = True
        pc[f"lead_{band}"] = lead_days
        pc[f"reached_{band}"] = reached
    return pc, cr.drop(columns=["row", "code"]), contrib


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

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


_LEAD_BINS = [-1, 30, 90, 180, 365, 730, np.inf]
_LEAD_LABELS = ["0-30", "31-90", "91-180", "181-365", "366-730", "over 730"]


def audit_cohort(
    events: pd.DataFrame,
    cases: pd.DataFrame,
    model,
    *,
    grid: str | int = "14D",
    response_window: int = 28,
    horizon: int = 365,
    recent_window: int = 90,
    chunk_size: int = 20_000,
    disclosure=True,
    progress: bool | None = None,
    agencies: tuple[str, ...] = AGENCIES,
    coverage=None,
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

    Returns
    -------
    CohortAudit
        ``tables``: ``summary``, ``lead_times``, ``false_alarms``, ``join_up_gap``,
        ``missed_opportunities``, ``agency_share``, ``by_deprivation``.

    Examples
    --------
    >>> import riskscore
    >>> events, cases = riskscore.make_cohort(300, random_state=1)
    >>> result = riskscore.audit_cohort(events, cases, riskscore.default_scorecard())
    >>> sorted(result.tables)[:2]
    ['agency_share', 'by_deprivation']
    """
    dask_input = hasattr(events, "__dask_graph__") or hasattr(cases, "__dask_graph__")
    if dask_input and coverage is not None:
        raise NotImplementedError(
            "audit_cohort(coverage=...) takes pandas input only; compute the Dask frames "
            "(events.compute()) or audit without coverage."
        )
    if dask_input:
        # Dask input: per-partition audit, tables built once from all partitions so
        # that disclosure control applies to the final totals (riskscore.scale)
        from riskscore.scale import audit_cohort_dask

        return audit_cohort_dask(
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
        )
    _check_model(model)
    from tqdm.auto import tqdm

    cov = None if coverage is None else coverage_table(coverage)
    _step_days(grid)  # validated; cohort tables do not depend on the grid (exact days)
    extract_end = int(_to_days(events["date"], "date", "events").max())
    case_ids = cases["case_id"].astype(str)
    audited = pd.Index(pd.unique(case_ids))
    # events grouped by case in cases-table order, so each chunk is one slice
    ev_code = audited.get_indexer(events["case_id"].astype(str))
    orphan = ev_code < 0
    if orphan.any():
        raise SchemaError(
            f"events: {int(orphan.sum())} event(s) have a case_id not in cases, first rows "
            f"{np.flatnonzero(orphan)[:10].tolist()}. Fix: add those cases or drop the events "
            "(riskscore.validate_cases(cases, events) lists them)."
        )
    order = np.argsort(ev_code, kind="stable")
    ev_sorted = events.iloc[order]
    ev_code = ev_code[order]
    has_events = np.zeros(len(audited), dtype=bool)
    has_events[ev_code] = True
    n_without = int((~has_events).sum())
    bounds = np.arange(0, len(audited) + chunk_size, chunk_size)
    chunks = [
        (a, min(b, len(audited)))
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        if a < len(audited)
    ]
    show = progress if progress is not None else len(chunks) > 1
    per_case, fa_parts, holder_parts = [], [], []
    for a, b in tqdm(chunks, desc="audit", unit="chunk", disable=not show):
        lo, hi = np.searchsorted(ev_code, [a, b])
        ev_c = ev_sorted.iloc[lo:hi]
        if len(ev_c) == 0:
            continue
        chunk = audited[a:b]
        cs_c = cases.loc[case_ids.isin(chunk).to_numpy()]
        core = _audit_core(
            ev_c,
            cs_c,
            model,
            None,  # cohort figures come from the exact change days; no plotted grid
            int(response_window),
            recent_window,
            agencies,
            extract_end,
            cov,
        )
        pc, cr, contrib = _chunk_frames(core, horizon)
        fa_p, holder_p = _crossing_partials(cr, contrib)
        per_case.append(pc)
        fa_parts.append(fa_p)
        holder_parts.append(holder_p)
    per_case = pd.concat(per_case) if per_case else pd.DataFrame()
    per_case = _attach_case_columns(per_case, cases)
    fa_part = (
        pd.concat(fa_parts, ignore_index=True)
        if fa_parts
        else _crossing_partials(pd.DataFrame(), pd.DataFrame())[0]
    )
    holder_part = (
        pd.concat(holder_parts, ignore_index=True)
        if holder_parts
        else _crossing_partials(pd.DataFrame(), pd.DataFrame())[1]
    )
    raw = _cohort_tables(per_case, fa_part, holder_part, len(cases), n_without, horizon, agencies)
    tables = {name: _control(name, t, disclosure) for name, t in raw.items()}
    return CohortAudit(
        tables=tables,
        parameters={
            "grid": grid,
            "response_window": int(response_window),
            "horizon": int(horizon),
            "recent_window": recent_window,
            "chunk_size": chunk_size,
            "model": getattr(model, "name", None) or type(model).__name__,
            **({} if cov is None else {"coverage": f"table of {len(cov)} interval(s)"}),
        },
        disclosure=disclosure,
        n_cases=len(cases),
        input_hashes={"events": hash_input(events), "cases": hash_input(cases)},
    )


def _attach_case_columns(per_case: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    c = cases.drop_duplicates("case_id").copy()
    c.index = c["case_id"].astype(str)
    if "imd_quintile" in c.columns:
        per_case["imd_quintile"] = c["imd_quintile"].reindex(per_case.index).to_numpy()
    else:
        per_case["imd_quintile"] = np.nan
    return per_case


# Which table columns are counts (disclosure-controlled) and which rates derive from them.
_TABLE_SPEC = {
    "summary": dict(count_columns=["n"], rate_columns=None),
    "lead_times": dict(count_columns=["n_cases"], by=["band", "lead_time_days"]),
    "false_alarms": dict(
        count_columns=["n_crossings", "n_false_alarms", "n_cases_alerted", "n_true_cases_alerted"],
        rate_columns={
            "false_alarm_share": ["n_false_alarms", "n_crossings"],
            "alerts_per_true_case": ["n_crossings", "n_true_cases_alerted"],
        },
    ),
    "join_up_gap": dict(
        count_columns=["n_cases", "n_cases_with_gap"],
        rate_columns={"share_with_gap": ["n_cases_with_gap", "n_cases"]},
    ),
    "missed_opportunities": dict(count_columns=["n_missed", "n_crossings"], by=["band", "held_by"]),
    "agency_share": dict(
        count_columns=["n_crossings_holding"],
        rate_columns={"share_of_contribution": ["n_crossings_holding"]},
    ),
    "by_deprivation": dict(
        count_columns=["n_cases", "n_outcomes", "n_reached_review", "n_reached_mad", "n_with_gap"],
        rate_columns={
            "share_reached_mad": ["n_reached_mad", "n_cases"],
            "share_with_gap": ["n_with_gap", "n_cases"],
            "median_lead_mad_days": ["n_outcomes"],
        },
    ),
}


def _control(name: str, table: pd.DataFrame, disclosure) -> pd.DataFrame:
    spec = dict(_TABLE_SPEC[name])
    spec = {k: v for k, v in spec.items() if v is not None}
    if disclosure is False:
        return mark_undisclosed(table, reason="audit_cohort(disclosure=False)")
    out = apply_disclosure(table, disclosure, **spec)
    # A rate computed from exact counts would reveal them (165/166 gives away the one);
    # published ratios are recomputed from the published, rounded counts.
    for rate, parts in (spec.get("rate_columns") or {}).items():
        if len(parts) == 2:
            num = pd.to_numeric(out[parts[0]], errors="coerce").astype("float64")
            den = pd.to_numeric(out[parts[1]], errors="coerce").astype("float64")
            keep = out[rate].notna() & (den > 0)
            out[rate] = (num / den).where(keep)
        elif rate.startswith("median"):
            # a median is not a count; rounding to 5 days keeps it from pinning a case
            out[rate] = (pd.to_numeric(out[rate], errors="coerce") / 5).round() * 5
        else:
            out[rate] = pd.to_numeric(out[rate], errors="coerce").round(2)
    return out


def _crossing_partials(crossings: pd.DataFrame, contribs: pd.DataFrame):
    """Additive summaries of a chunk's crossings and contributors.

    Cases never span chunks (or Dask partitions), so these sum across chunks to the
    cohort's figures; only they, not the long crossing and contributor frames, are
    kept, which bounds the memory of a national-scale audit.
    """
    band_dtype = _BAND_DTYPE
    fa_rows = []
    for band in BANDS[1:]:
        if len(crossings):
            cb = crossings[(crossings["band"] == band) & crossings["before_outcome"]]
        else:
            cb = crossings
        n_cross = len(cb)
        fa_rows.append(
            (
                band,
                n_cross,
                int((~cb["true_alarm"]).sum()) if n_cross else 0,
                cb["case_id"].nunique() if n_cross else 0,
                cb.loc[cb["true_alarm"], "case_id"].nunique() if n_cross else 0,
            )
        )
    fa = pd.DataFrame(
        fa_rows,
        columns=[
            "band",
            "n_crossings",
            "n_false_alarms",
            "n_cases_alerted",
            "n_true_cases_alerted",
        ],
    )
    if len(contribs):
        exploded = contribs.assign(held_by=contribs["held_by"].str.split(", ")).explode("held_by")
        per_cross = exploded.drop_duplicates(["crossing", "held_by"])
        counts = per_cross.groupby(["band", "held_by"], observed=True).agg(
            n_crossings=("crossing", "size"), n_missed=("missed", "sum")
        )
        points = exploded.groupby(["band", "held_by"], observed=True)["contribution"].sum()
        holders = counts.join(points).reset_index()
    else:
        holders = pd.DataFrame(
            {
                "band": pd.Series([], dtype=object),
                "held_by": pd.Series([], dtype=object),
                "n_crossings": pd.Series([], dtype=np.int64),
                "n_missed": pd.Series([], dtype=np.int64),
                "contribution": pd.Series([], dtype=np.float64),
            }
        )
    holders["band"] = pd.Categorical(holders["band"].astype(str), dtype=band_dtype)
    return fa, holders


def _cohort_tables(per_case, fa_part, holder_part, n_cases, n_without_events, horizon, agencies):
    outcome = per_case["outcome_day"].to_numpy() != _NAT
    mad = "multi_agency_discussion"
    summary = pd.DataFrame(
        {
            "measure": [
                "cases in the cases table",
                "cases with no events (not audited)",
                "cases with an outcome",
                "cases reaching review",
                "cases reaching multi_agency_discussion",
                "cases with a join-up gap",
            ],
            "n": [
                n_cases,
                n_without_events,
                int(outcome.sum()),
                int(per_case["reached_review"].sum()),
                int(per_case[f"reached_{mad}"].sum()),
                int((per_case["gap_days"] > 0).sum()),
            ],
        }
    )
    lead_rows = []
    for band in BANDS[1:]:
        lt = per_case.loc[outcome, f"lead_{band}"]
        binned = pd.cut(lt.dropna(), _LEAD_BINS, labels=_LEAD_LABELS)
        counts = binned.value_counts().reindex(_LEAD_LABELS, fill_value=0)
        for label, n in counts.items():
            lead_rows.append((band, label, int(n)))
        lead_rows.append((band, "never reached before outcome", int(lt.isna().sum())))
    lead_times = pd.DataFrame(lead_rows, columns=["band", "lead_time_days", "n_cases"])

    fa_sum = (
        fa_part.groupby("band", sort=False)[
            ["n_crossings", "n_false_alarms", "n_cases_alerted", "n_true_cases_alerted"]
        ]
        .sum()
        .reindex(list(BANDS[1:]), fill_value=0)
    )
    fa_rows = []
    for band, r in fa_sum.iterrows():
        n_cross, n_false = int(r["n_crossings"]), int(r["n_false_alarms"])
        true_cases = int(r["n_true_cases_alerted"])
        fa_rows.append(
            (
                band,
                n_cross,
                n_false,
                int(r["n_cases_alerted"]),
                true_cases,
                n_false / n_cross if n_cross else np.nan,
                n_cross / true_cases if true_cases else np.nan,
            )
        )
    false_alarms = pd.DataFrame(
        fa_rows,
        columns=[
            "band",
            "n_crossings",
            "n_false_alarms",
            "n_cases_alerted",
            "n_true_cases_alerted",
            "false_alarm_share",
            "alerts_per_true_case",
        ],
    )
    false_alarms.attrs["horizon_days"] = horizon

    n_aud = len(per_case)
    n_gap = int((per_case["gap_days"] > 0).sum())
    join_up_gap = pd.DataFrame(
        {
            "measure": ["cases audited"],
            "n_cases": [n_aud],
            "n_cases_with_gap": [n_gap],
            "share_with_gap": [n_gap / n_aud if n_aud else np.nan],
        }
    )

    if len(holder_part):
        mo = (
            holder_part.groupby(["band", "held_by"], observed=True)[["n_crossings", "n_missed"]]
            .sum()
            .reset_index()
        )
        held_tot = holder_part.groupby("held_by")["n_crossings"].sum()
        share = holder_part.groupby("held_by")["contribution"].sum()
        share = share / share.sum() if share.sum() else share
    else:
        mo = pd.DataFrame(columns=["band", "held_by", "n_crossings", "n_missed"])
        held_tot = pd.Series(dtype=float)
        share = pd.Series(dtype=float)
    mo["band"] = mo["band"].astype(str)
    mo["n_missed"] = mo["n_missed"].astype(int)
    holders = [*agencies, "only when joined"]
    agency_share = pd.DataFrame(
        {
            "held_by": holders,
            "n_crossings_holding": [int(held_tot.get(a, 0)) for a in holders],
            "share_of_contribution": [float(share.get(a, 0.0)) for a in holders],
        }
    )

    dep_rows = []
    q = per_case["imd_quintile"]
    for value in [*sorted(q.dropna().unique().tolist()), "unknown"]:
        m = (q.isna() if value == "unknown" else q == value).to_numpy()
        if not m.any() and value == "unknown":
            continue
        pc = per_case.loc[m]
        oc = pc["outcome_day"].to_numpy() != _NAT
        dep_rows.append(
            (
                str(value),
                len(pc),
                int(oc.sum()),
                int(pc["reached_review"].sum()),
                int(pc[f"reached_{mad}"].sum()),
                int((pc["gap_days"] > 0).sum()),
                pc[f"reached_{mad}"].mean() if len(pc) else np.nan,
                (pc["gap_days"] > 0).mean() if len(pc) else np.nan,
                pc.loc[oc, f"lead_{mad}"].median() if oc.any() else np.nan,
            )
        )
    by_dep = pd.DataFrame(
        dep_rows,
        columns=[
            "imd_quintile",
            "n_cases",
            "n_outcomes",
            "n_reached_review",
            "n_reached_mad",
            "n_with_gap",
            "share_reached_mad",
            "share_with_gap",
            "median_lead_mad_days",
        ],
    )
    return {
        "summary": summary,
        "lead_times": lead_times,
        "false_alarms": false_alarms,
        "join_up_gap": join_up_gap,
        "missed_opportunities": mo,
        "agency_share": agency_share,
        "by_deprivation": by_dep,
    }


def deprivation_illustration(model, n_cases: int = 5000, random_state: int = 2101) -> dict:
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
    from riskscore.synthetic import make_cohort

    events, cases = make_cohort(n_cases, random_state=random_state)
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
        "cohort": f"riskscore.make_cohort({n_cases}, random_state={random_state})",
        "by_imd_quintile": rows,
    }
