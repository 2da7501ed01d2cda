"""The audit engine: one chunk of cases scored in every view, crossings, gaps, responses.

Shared by :func:`riskscore.audit_case`, :func:`riskscore.audit_cohort` and the Dask
path (:mod:`riskscore.scale`): public names in a private module. The definitions are
those of :mod:`riskscore.audit`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskscore._arrays import sorted_unique
from riskscore._dates import NAT_DAY, days_to_ns, to_days
from riskscore.contract import band_thresholds
from riskscore.errors import ParameterError
from riskscore.features import change_keys, encode_features
from riskscore.schema import checked_events, declare_valid
from riskscore.scorecard import bands_of
from riskscore.vocabulary import (
    AGENCIES,
    BANDS,
    EVENTS,
    FEATURES,
    PLAN_START_END,
    RESPONSE_EVENTS,
)

__all__ = [
    "MIN_GAP",
    "RESPONSES",
    "BAND_DTYPE",
    "AuditCore",
    "Scored",
    "audit_core",
    "band_codes",
    "check_min_gap",
    "chunk_frames",
    "joined_features",
    "lead_times",
]

#: Events that count as a response to a crossing.
RESPONSES: tuple[str, ...] = tuple(
    e for e in RESPONSE_EVENTS if e not in PLAN_START_END.values()
)  # referrals, early help, meetings, conferences, plan starts: plan ends are not responses

BAND_DTYPE = pd.CategoricalDtype(list(BANDS), ordered=True)

#: Default minimum gap, in days: a score must stay below a band this long before
#: reaching it again counts as a new crossing (a new episode).
MIN_GAP = 28


def band_codes(model, X: pd.DataFrame) -> np.ndarray:
    return pd.Categorical(model.band(X), dtype=BAND_DTYPE).codes.astype(np.int8)


def _bands_of_scores(model, X: pd.DataFrame, score: np.ndarray) -> np.ndarray:
    """Band codes of scores already computed: by the contract, a band is reached when
    the score is at or above its threshold (no second scoring); ``model.band`` when
    the model has no thresholds to read."""
    thresholds = list(band_thresholds(model).values())
    if len(thresholds) != len(BANDS) - 1:
        return band_codes(model, X)
    return bands_of(score, thresholds, None).cat.codes.to_numpy()


def _grouped(cat: pd.Categorical) -> tuple[np.ndarray, dict[str, slice]]:
    """Rows ordered by category (stably: each group keeps its order) and, per category
    name, the slice of that order its rows fill."""
    order = np.argsort(cat.codes, kind="stable")
    bounds = np.searchsorted(cat.codes[order], np.arange(len(cat.categories) + 1))
    return order, {str(n): slice(bounds[k], bounds[k + 1]) for k, n in enumerate(cat.categories)}


def _split_by_agency(events: pd.DataFrame):
    """``events`` grouped by agency once: a function from an agency to its events
    (in their original order), each one slice of the grouped rows."""
    order, where = _grouped(pd.Categorical(events["agency"]))

    def of(agency: str) -> pd.DataFrame:
        return events.iloc[order[where.get(agency, slice(0, 0))]]

    return of


def _chunk_ids(case_id: pd.Series) -> tuple[pd.Index, np.ndarray]:
    """The distinct case ids of a chunk's events as text, in order of first appearance,
    and each event's position among them; for a categorical column only the distinct
    ids become text (not one string per event)."""
    if not isinstance(case_id.dtype, pd.CategoricalDtype):
        ids = pd.Index(pd.unique(case_id.astype(str)), name="case_id")
        return ids, case_codes(case_id, ids)
    codes = case_id.cat.codes.to_numpy().astype(np.int64)
    used = pd.unique(codes[codes >= 0])
    text = np.asarray(case_id.cat.categories, dtype=object)[used].astype(str)
    ids = pd.Index(text, name="case_id")
    if ids.has_duplicates:  # categories that are the same text (e.g. 1 and "1")
        ids = pd.Index(pd.unique(text), name="case_id")
        return ids, case_codes(case_id, ids)
    position = np.full(len(case_id.cat.categories) + 1, -1, dtype=np.int64)
    position[used] = np.arange(len(used))
    return ids, position[codes]  # code -1 reads the last entry: -1


def case_codes(values, ids: pd.Index) -> np.ndarray:
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
    out["outcome_day"] = NAT_DAY
    out["end_day"] = extract_end
    if cases is None or len(cases) == 0:
        return out
    pos = case_codes(cases["case_id"], ids)
    keep = pos >= 0
    c = cases.loc[keep]
    pos = pos[keep]
    end = out["end_day"].to_numpy().copy()
    if "followup_end" in c.columns:
        f = to_days(c["followup_end"], "followup_end", "cases")
        has = f != NAT_DAY
        end[pos[has]] = f[has]
    if "outcome_date" in c.columns:
        o = to_days(c["outcome_date"], "outcome_date", "cases")
        od = out["outcome_day"].to_numpy().copy()
        od[pos] = o
        out["outcome_day"] = od
        has = o != NAT_DAY
        end[pos[has]] = np.minimum(end[pos[has]], o[has])
    out["end_day"] = end
    if "outcome" in c.columns:
        oc = np.full(len(out), None, dtype=object)
        oc[pos] = c["outcome"].to_numpy(dtype=object)
        out["outcome"] = oc
    return out


class _Rows:
    """Evaluation rows of a chunk: sorted by (case code, day)."""

    __slots__ = ("code", "day", "on_grid", "ids", "_key", "_last_day")

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "case_id": pd.Categorical.from_codes(self.code, categories=self.ids),
                "as_of": days_to_ns(self.day),
            }
        )

    def key(self) -> np.ndarray:
        """(case code, day) of each row as one sorted integer (computed once)."""
        if getattr(self, "_key", None) is None:
            self._key = _day_keys(self.code, self.day)
        return self._key

    def ids_key(self) -> np.ndarray:
        """Per case code: the smallest key of that case (its day 0 - 2**30)."""
        return np.arange(len(self.ids), dtype=np.int64) << 32

    def last_day(self) -> np.ndarray:
        """Per case code: the day of its last row (the smallest day if it has none)."""
        if getattr(self, "_last_day", None) is None:
            last = np.full(len(self.ids), np.iinfo(np.int64).min)
            if len(self.code):
                end = np.ones(len(self.code), dtype=bool)
                end[:-1] = self.code[1:] != self.code[:-1]
                last[self.code[end]] = self.day[end]
            self._last_day = last
        return self._last_day


def _day_keys(code: np.ndarray, day: np.ndarray) -> np.ndarray:
    """(case code, day) pairs as integers that sort like the pairs."""
    return (code << 32) | (day + (1 << 30))


class _ChangeDays:
    """A chunk's change dates, once: per agency (case code and day, grouped by agency)
    and joined (the distinct case codes and days, sorted)."""

    __slots__ = ("code", "day", "agency", "joined")

    def __init__(self, events, ids: pd.Index, recent_window: int):
        key, base, bits, cats = change_keys(events, recent_window, by_agency=True)
        if not cats.equals(ids):  # (audit_core hands on events whose categories are ids)
            code = case_codes(cats, ids)[key >> 32]
            keep = code >= 0
            key = np.sort((code[keep] << 32) | (key[keep] & 0xFFFFFFFF))
        # the keys sort by case, day and agency: without the agency bits they are the
        # joined change dates, still sorted, each repeated once per agency
        joined = key & ~np.int64(2**bits - 1)
        first = np.ones(len(joined), dtype=bool)
        first[1:] = joined[1:] != joined[:-1]
        joined = joined[first]
        self.joined = (joined >> 32, ((joined & 0xFFFFFFFF) >> bits) + base)
        agency = pd.Categorical.from_codes(key & (2**bits - 1), categories=list(AGENCIES))
        # grouped by agency once (stable: each group stays sorted and distinct), so
        # that a view's change dates are one slice
        order, self.agency = _grouped(agency)
        key = key[order]
        self.code = key >> 32
        self.day = ((key & 0xFFFFFFFF) >> bits) + base

    def of(self, agency) -> tuple[np.ndarray, np.ndarray]:
        """(code, day) of the change dates of one agency's view, or of the joined view
        (``None``), sorted and distinct."""
        if agency is None:
            return self.joined
        part = self.agency[agency]
        return self.code[part], self.day[part]


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
        [to_days(cov["from"], "from", "coverage"), to_days(cov["to"], "to", "coverage") + 1]
    )
    if "case_id" in cov.columns:
        own = np.tile(cov["case_id"].notna().to_numpy(), 2)
    else:
        own = np.zeros(len(day), dtype=bool)
    g = sorted_unique(day[~own])
    code = [np.repeat(np.arange(len(ids), dtype=np.int64), len(g))]
    days = [np.tile(g, len(ids))]
    if own.any():
        names = cov["case_id"].astype("string").fillna("").reset_index(drop=True)
        c = np.tile(case_codes(names.astype(str), ids), 2)[own]
        keep = c >= 0
        code.append(c[keep])
        days.append(day[own][keep])
    return np.concatenate(code), np.concatenate(days)


def _evaluation_rows(
    ev_day, ev_code, ids, ends, grid_days: int, changes: _ChangeDays, coverage=None
) -> _Rows:
    """Grid days, change days (and coverage changes) and the end day per case, within [first, end].

    ``grid_days=None`` leaves the grid out (each case's first day only): every figure
    of a cohort audit comes from the change days, where scores can change, so the
    plotted grid would only add rows.
    """
    first = np.full(len(ids), np.iinfo(np.int64).max)
    np.minimum.at(first, ev_code, ev_day)
    end = ends["end_day"].to_numpy()
    has = first <= end
    if grid_days is None:
        n, grid_days = has.astype(np.int64), 1
    else:
        n = np.where(has, (end - first) // grid_days + 1, 0)
    rep = np.repeat(np.arange(len(ids)), n)
    grid_day = first[rep] + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) * grid_days
    ch_code, ch_day = changes.of(None)
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
class Scored:
    """Scores of every evaluation row, joined and per agency view."""

    rows: pd.DataFrame  # case_id, as_of, on_grid, score, band, score_<a>, band_<a>, best...
    joined: _View  # the joined view at its change points, and each row's position there


_NO_EVENTS = declare_valid(
    pd.DataFrame(
        {
            "case_id": pd.Series([], dtype="str"),
            "date": pd.Series([], dtype="datetime64[ns]"),
            "agency": pd.Categorical([], categories=list(AGENCIES)),
            "event": pd.Categorical([], categories=list(EVENTS)),
        }
    ),
    "events",
)


def _empty_record(model) -> tuple[float, int]:
    """Score and band of a record with no events (the state before a case's first event)."""
    x = _empty_table().copy()  # a model is handed its own copy of the cached row
    return float(model.risk_score(x).iloc[0]), int(band_codes(model, x)[0])


@functools.lru_cache(maxsize=1)
def _empty_table() -> pd.DataFrame:
    """The encoded row of a record with no events (its features are the same on every
    date). Cached: read it, or hand a copy to code that might change it."""
    q = pd.DataFrame({"case_id": ["__empty__"], "as_of": [pd.Timestamp("2000-01-01")]})
    return encode_features(_NO_EVENTS, q)


def _view_points(
    changes: _ChangeDays, agency, rows: _Rows, coverage, cov_agencies
) -> tuple[np.ndarray, pd.DataFrame]:
    """Dates a view can change, as sorted keys and as (case_id, as_of) pairs.

    Its events' change dates, the coverage starts and stops of its agencies, and each
    case's first row (where an uncovered view already differs from an empty record);
    none after the case's last row, which no row would read.
    """
    code, day = changes.of(agency)
    parts_code, parts_day = [code], [day]
    c, d = _coverage_points(coverage, rows.ids, cov_agencies)
    parts_code.append(c)
    parts_day.append(d)
    if coverage is not None:
        first = np.ones(len(rows.code), dtype=bool)
        first[1:] = rows.code[1:] != rows.code[:-1]
        parts_code.append(rows.code[first])
        parts_day.append(rows.day[first])
    code, day = np.concatenate(parts_code), np.concatenate(parts_day)
    keep = code >= 0
    keep[keep] = day[keep] <= rows.last_day()[code[keep]]
    key = _day_keys(code[keep], day[keep])
    if coverage is not None:
        # (a view's change dates alone are sorted and distinct already)
        key = sorted_unique(key)
    frame = pd.DataFrame(
        {
            "case_id": pd.Categorical.from_codes(key >> 32, categories=rows.ids),
            "as_of": days_to_ns((key & 0xFFFFFFFF) - (1 << 30)),
        }
    )
    return key, frame


@dataclass
class _View:
    """One view scored on its own change points and carried forward to every row."""

    score: np.ndarray  # per row
    band: np.ndarray  # per row (codes)
    points: pd.DataFrame  # features at the view's change points
    index: np.ndarray  # per row: position in ``points``, -1 = empty record so far


def _scored_points(
    ev_v, agency, rows: _Rows, model, recent_window, coverage, cov_agencies, changes, n_jobs
):
    """A view's change points (sorted keys), its features there and its scores."""
    key, pts = _view_points(changes, agency, rows, coverage, cov_agencies)
    x = encode_features(
        ev_v, pts, agency, recent_window=recent_window, coverage=coverage, n_jobs=n_jobs
    )
    return key, x, model.risk_score(x).to_numpy()


def _carry_index(rows: _Rows, key: np.ndarray) -> np.ndarray:
    """Per row: the position in the sorted point keys ``key`` of the last point of its
    case at or before it (the last of equal keys), or -1 if there is none."""
    n = len(rows.code)
    # the points placed among the rows (one search per point, fewer than rows) and
    # counted up to each row
    at = np.searchsorted(rows.key(), key, side="left")
    i = np.cumsum(np.bincount(at, minlength=n + 1)[:n]) - 1
    # a row before its case's first point reads no point (-1: the empty record)
    first = np.searchsorted(key, rows.ids_key())
    return np.where(i >= first[rows.code], i, -1)


def _point_index(key: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For some row keys: the position of the last point of the same case at or
    before each, or -1 (what :func:`_carry_index` gives those rows)."""
    pos = np.searchsorted(key, wanted, side="right") - 1
    ok = pos >= 0
    ok[ok] = (key[pos[ok]] >> 32) == (wanted[ok] >> 32)
    return np.where(ok, pos, -1)


def _carry(
    ev_v,
    agency,
    rows: _Rows,
    model,
    recent_window,
    empty,
    coverage,
    cov_agencies,
    changes: _ChangeDays,
    n_jobs=None,
):
    """Score a view where it can change, then carry each score forward to every row.

    A view is a step function of the date that changes only on its change points, so
    this is exact, and costs one encoding of the change points instead of every row.
    """
    key, x, s = _scored_points(
        ev_v, agency, rows, model, recent_window, coverage, cov_agencies, changes, n_jobs
    )
    if not len(key):
        return _empty_view(len(rows.code), empty)
    index = _carry_index(rows, key)
    score = np.append(s, empty[0])[index]  # -1: the empty record
    band = np.append(_bands_of_scores(model, x, s), np.int8(empty[1]))[index]
    return _View(score, band, x, index)


def _best_band(rows: _Rows, views: list, empty_band: int) -> np.ndarray:
    """Per row, the highest band of the agency views, from each view's band at its
    change points (``views``: one ``(key, band)`` pair per agency).

    A view's band changes at few of its change points, so only those are kept; the
    views' changes are merged and swept once, and only the highest band is carried
    to the rows: one pass over the rows instead of one per view.
    """
    n = len(rows.code)
    if not views:
        return np.zeros(n, dtype=np.int8)
    keys, bands, who = [], [], []
    for a, (key, band) in enumerate(views):
        keep = np.ones(len(key), dtype=bool)
        keep[1:] = ((key[1:] >> 32) != (key[:-1] >> 32)) | (band[1:] != band[:-1])
        keys.append(key[keep])
        bands.append(band[keep])
        who.append(np.full(int(keep.sum()), a, dtype=np.int64))
    key = np.concatenate(keys)
    if not len(key):
        return np.full(n, empty_band, dtype=np.int8)
    order = np.argsort(key, kind="stable")
    key, band, who = key[order], np.concatenate(bands)[order], np.concatenate(who)[order]
    pos = np.arange(len(key))
    case = key >> 32
    start = np.ones(len(key), dtype=bool)
    start[1:] = case[1:] != case[:-1]
    case_first = np.maximum.accumulate(np.where(start, pos, 0))
    best = np.full(len(key), empty_band, dtype=np.int8)
    for a in range(len(views)):
        # each merged change: the latest change of view ``a`` in the same case so far
        last = np.maximum.accumulate(np.where(who == a, pos, -1))
        have = last >= case_first
        np.maximum(best, np.where(have, band[np.maximum(last, 0)], empty_band), out=best)
    # a row reads the last change at or before it: the last of equal keys has seen
    # every view's change on that day
    return np.append(best, np.int8(empty_band))[_carry_index(rows, key)]


def _on_every_row(events, rows_frame, model, recent_window, coverage, n_jobs=None) -> _View:
    """The joined view encoded on every row instead of on its change points.

    Without a plotted grid, every row is a change day, a case's first or last day or a
    coverage change, so the joined view's change points are nearly all the rows (99%
    in the synthetic cohort): finding them and carrying their scores forward would
    cost more than the few rows it saves.
    """
    x = encode_features(
        events, rows_frame, recent_window=recent_window, coverage=coverage, n_jobs=n_jobs
    )
    s = model.risk_score(x).to_numpy()
    return _View(s, _bands_of_scores(model, x, s), x, np.arange(len(s)))


def _view_values(view: _View, positions: np.ndarray) -> np.ndarray:
    """A view's features (catalogue order) at some rows: from its change points, or
    an empty record before the first of them (a record with no events has the same
    features on every date)."""
    return _values_at(view.points, view.index[positions])


def _values_at(points: pd.DataFrame, idx: np.ndarray) -> np.ndarray:
    """Features (catalogue order) of ``points`` at positions ``idx``; -1: the empty record."""
    names = list(FEATURES)
    none = idx < 0
    if not len(points) or none.all():
        return np.tile(_empty_features(), (len(idx), 1))
    # the rows wanted taken from the feature block (``points.iloc`` would take every
    # column of the whole table, ids and dates included: ten times as long)
    values = points[names].to_numpy().T[:, np.maximum(idx, 0)].T
    values[none] = _empty_features()
    return values


def _view_features(view: _View, positions: np.ndarray, rows_frame: pd.DataFrame):
    """A view's features at some rows, as a feature table with ``case_id`` and ``as_of``."""
    x = pd.DataFrame(_view_values(view, positions), columns=list(FEATURES), copy=False)
    x.insert(0, "as_of", rows_frame["as_of"].to_numpy()[positions])
    x.insert(0, "case_id", rows_frame["case_id"].array.take(positions))  # stays categorical
    return x


@functools.lru_cache(maxsize=1)
def _empty_features() -> np.ndarray:
    """The features of a record with no events, in catalogue order (cached, read-only)."""
    values = _empty_table()[list(FEATURES)].to_numpy()[0].copy()
    values.flags.writeable = False
    return values


def _empty_view(n: int, empty) -> _View:
    """A view with no events and no coverage: the empty record on every row."""
    return _View(
        np.full(n, empty[0]),
        np.full(n, empty[1], dtype=np.int8),
        _NO_EVENTS.iloc[:0],
        np.full(n, -1, dtype=np.int64),
    )


def _score_views(
    events,
    rows: _Rows,
    model,
    recent_window: int,
    agencies,
    empty,
    changes: _ChangeDays,
    coverage=None,
    n_jobs=None,
    min_gap: int = MIN_GAP,
    per_agency: bool = True,
    every_row: bool = False,
):
    """The joined view and each agency's view, each scored on its own change points;
    the crossings of the joined view, and which agencies held each contributor.

    ``per_agency=False`` leaves out the rows' ``score_<agency>`` and ``band_<agency>``
    columns (a cohort audit reads only ``best_agency_band``). ``every_row=True``
    encodes the joined view on every row (rows without a plotted grid are nearly all
    its change points).

    Every view is a step function that changes only on the change dates of its own
    events (and, with coverage, where coverage starts or stops), so it is scored
    there and carried forward to every row: exact, and about as much work in total
    as two encodings of the change dates. An agency view's features at the joined
    view's crossings are read from its own change points as it is scored, so no view
    is encoded twice and none is kept.

    Returns ``(scored, crossings, dips, contributors)``.
    """
    out = rows.frame()
    if every_row:
        joined = _on_every_row(events, out, model, recent_window, coverage, n_jobs)
    else:
        all_agencies = None if coverage is None else sorted(set(coverage["agency"]))
        joined = _carry(
            events, None, rows, model, recent_window, empty, coverage, all_agencies, changes, n_jobs
        )
    out["on_grid"] = rows.on_grid
    out["score"] = joined.score
    out["band"] = pd.Categorical.from_codes(joined.band, dtype=BAND_DTYPE)
    scored = Scored(out, joined)
    cr, dips = _crossings(scored, rows, empty[1], min_gap)
    at = cr["row"].to_numpy()
    contrib = model.contributions(_view_features(joined, at, out)) if len(cr) else None
    cols = [c for c in contrib.columns if c != "baseline"] if contrib is not None else []
    joined_terms = contrib[cols].to_numpy() if contrib is not None else None
    held = np.zeros((len(cr), len(cols), len(agencies)), dtype=bool)
    best = np.zeros(len(out), dtype=np.int8)
    band_changes = []  # per_agency=False: each view's (point keys, bands) for _best_band
    held_values = []
    at_keys = rows.key()[at]
    by_agency = _split_by_agency(events)
    for a in agencies:
        ev_a = by_agency(a)
        has = len(ev_a) or coverage is not None
        if per_agency:
            if has:
                args = (recent_window, empty, coverage, [a], changes, n_jobs)
                view = _carry(ev_a, a, rows, model, *args)
            else:
                view = _empty_view(len(out), empty)
            out[f"score_{a}"] = view.score
            out[f"band_{a}"] = pd.Categorical.from_codes(view.band, dtype=BAND_DTYPE)
            best = np.maximum(best, view.band)
            held_values.append(_view_values(view, at))
            continue
        # a cohort audit needs no agency's band on every row, only the highest
        if has:
            args = (recent_window, coverage, [a], changes, n_jobs)
            key, x, s = _scored_points(ev_a, a, rows, model, *args)
            band = _bands_of_scores(model, x, s)
        else:
            key, x, band = np.zeros(0, dtype=np.int64), _empty_table(), np.zeros(0, np.int8)
        band_changes.append((key, band))
        held_values.append(_values_at(x, _point_index(key, at_keys)))
    if not per_agency:
        best = _best_band(rows, band_changes, empty[1])
    if len(cr) and len(agencies):
        # every agency view's contributions at the crossings in one call
        stacked = pd.DataFrame(np.concatenate(held_values), columns=list(FEATURES), copy=False)
        terms = model.contributions(stacked)[cols].to_numpy().reshape(len(agencies), len(cr), -1)
        held = (terms != 0) & (np.sign(terms) == np.sign(joined_terms))
        held = held.transpose(1, 2, 0)  # crossing, contributor, agency
    out["best_agency_band"] = pd.Categorical.from_codes(best, dtype=BAND_DTYPE)
    contributors = _contributor_table(joined_terms, cols, held, agencies, text=per_agency)
    return scored, cr, dips, contributors


def joined_features(scored: Scored, positions: np.ndarray, rows_frame: pd.DataFrame):
    """Joined features at some rows: from the view's change points, or an empty record."""
    return _view_features(scored.joined, positions, rows_frame)


def check_min_gap(min_gap) -> int:
    """``min_gap`` as a non-negative whole number of days, or a ParameterError."""
    if isinstance(min_gap, bool) or not isinstance(min_gap, (int, np.integer)) or min_gap < 0:
        raise ParameterError(
            f"min_gap must be a whole number of days, 0 or more (got {min_gap!r}); 0 counts "
            f"every re-entry into a band as a new crossing, the default {MIN_GAP} only those "
            f"after at least {MIN_GAP} days below it."
        )
    return int(min_gap)


def _crossings(
    scored: Scored, rows: _Rows, empty_band: int, min_gap: int = MIN_GAP
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Crossings that start an episode, and the dips between crossings.

    A crossing is a row where the joined score reaches a band from below. It starts
    a new episode when it is the case's first entry into that band, or when the
    score had stayed below the band for at least ``min_gap`` days since it last left
    it; a shorter spell below is a *dip*: the re-entry continues the episode and is
    not counted again (nor can it be a new missed opportunity).

    Returns ``(crossings, dips)``: one row per (evaluation row, band) that starts an
    episode; one row per dip with the day the score left the band and the day it
    came back.
    """
    codes = pd.Categorical(scored.rows["band"], dtype=BAND_DTYPE).codes.astype(np.int16)
    case = rows.code
    prev = np.full(len(codes), empty_band, dtype=np.int16)
    if len(codes) > 1:
        prev[1:] = np.where(case[1:] == case[:-1], codes[:-1], empty_band)
    hits, bands, dip_rows, dip_left, dip_bands = [], [], [], [], []
    for level in range(1, len(BANDS)):
        entry = np.flatnonzero((codes >= level) & (prev < level))
        exits = np.flatnonzero((codes < level) & (prev >= level))
        # the latest exit from this band before each entry, in the same case
        j = np.searchsorted(exits, entry, side="left") - 1
        last_exit = np.append(exits, -1)[j]  # j == -1 reads the sentinel
        again = (last_exit >= 0) & (case[np.maximum(last_exit, 0)] == case[entry])
        below = np.where(again, rows.day[entry] - rows.day[np.maximum(last_exit, 0)], 0)
        dip = again & (below < min_gap)
        hits.append(entry[~dip])
        bands.append(np.full(int((~dip).sum()), level, dtype=np.int8))
        dip_rows.append(entry[dip])
        dip_left.append(last_exit[dip])
        dip_bands.append(np.full(int(dip.sum()), level, dtype=np.int8))
    row = np.concatenate(hits)
    level = np.concatenate(bands)
    order = np.lexsort((level, row))
    row, level = row[order], level[order]
    ids = np.asarray(rows.ids, dtype=object)
    crossings = pd.DataFrame(
        {
            "row": row,
            "band": pd.Categorical.from_codes(level, dtype=BAND_DTYPE),
            "case_id": ids[case[row]],
            "code": case[row],
            "date": days_to_ns(rows.day[row]),
            "day": rows.day[row],
            "score": scored.rows["score"].to_numpy()[row],
        }
    )
    back = np.concatenate(dip_rows)
    left = np.concatenate(dip_left)
    dip_level = np.concatenate(dip_bands)
    order = np.lexsort((dip_level, back))
    back, left, dip_level = back[order], left[order], dip_level[order]
    dips = pd.DataFrame(
        {
            "band": pd.Categorical.from_codes(dip_level, dtype=BAND_DTYPE),
            "case_id": ids[case[back]],
            "left": days_to_ns(rows.day[left]),
            "returned": days_to_ns(rows.day[back]),
            "days_below": (rows.day[back] - rows.day[left]).astype(np.int64),
            "score": scored.rows["score"].to_numpy()[back],
        }
    )
    return crossings, dips


def _gap_days(scored: Scored, rows: _Rows, ends: pd.DataFrame) -> np.ndarray:
    """Days per case (by code) on which the joined band exceeds every agency's band."""
    day, case = rows.day, rows.code
    nxt = np.empty_like(day)
    nxt[:-1] = day[1:]
    last = np.ones(len(day), dtype=bool)
    last[:-1] = case[1:] != case[:-1]
    end = ends["end_day"].to_numpy()[case]
    nxt[last] = end[last] + 1  # the end day itself is audited
    length = np.maximum(nxt - day, 0)
    joined = scored.rows["band"].array.codes  # both are categoricals of BAND_DTYPE
    best = scored.rows["best_agency_band"].array.codes
    return np.bincount(case, weights=np.where(joined > best, length, 0), minlength=len(ends))


def _event_keys(events, ev_code, ev_day, names, shift: int, low_bit=None) -> np.ndarray:
    # events are validated, so ``event`` is categorical: one lookup per row through
    # its codes (pandas' isin hashes every row, 4-6 ms a million rows)
    cat = events["event"].array
    lut = np.append(np.isin(np.asarray(cat.categories, dtype=object), list(names)), False)
    m = lut[cat.codes] & (ev_code >= 0)
    d = ev_day[m] + (1 << 30)
    if low_bit is None:
        return np.sort((ev_code[m] << shift) | d)
    return (ev_code[m] << shift) | (d << 1) | low_bit


def _responses_after(events, ev_code, ev_day, cr: pd.DataFrame, window: int):
    """Per crossing: responses in [d, d + window], and the first response on or after d."""
    key = _event_keys(events, ev_code, ev_day, RESPONSES, 32)
    c, d = cr["code"].to_numpy(), cr["day"].to_numpy() + (1 << 30)
    lo, hi = (c << 32) | d, (c << 32) | (d + window)
    n_in = np.searchsorted(key, hi, side="right") - np.searchsorted(key, lo, side="left")
    top = np.append(key, np.int64(-1))[np.searchsorted(key, lo, side="left")]
    has_next = (top >= 0) & ((top >> 32) == c)
    nxt_day = np.where(has_next, (top & 0xFFFFFFFF) - (1 << 30), 0)
    return n_in, has_next, nxt_day


def _plan_active(events, ev_code, ev_day, cr: pd.DataFrame) -> np.ndarray:
    """True where a CIN or CP plan had started and not ended by the crossing day."""
    c, d = cr["code"].to_numpy(), cr["day"].to_numpy() + (1 << 30)
    active = np.zeros(len(cr), dtype=bool)
    for start, end in PLAN_START_END.items():
        # latest plan event on or before d; an end on the same day as a start wins
        key = np.sort(
            np.concatenate(
                [
                    _event_keys(events, ev_code, ev_day, [start], 33, 0),
                    _event_keys(events, ev_code, ev_day, [end], 33, 1),
                ]
            )
        )
        i = np.searchsorted(key, (c << 33) | (d << 1) | 1, side="right") - 1
        top = np.append(key, np.int64(-1))[i]  # i == -1 reads the sentinel
        active |= (top >= 0) & ((top >> 33) == c) & ((top & 1) == 0)
    return active


def _contributor_table(joined_terms, cols, held, agencies, text: bool = True) -> pd.DataFrame:
    """Long table: crossing, contributor (rule or feature), value, agencies that held it.

    ``joined_terms`` holds the joined view's contributions at each crossing (None when
    there is none) and ``held`` whether each agency's own view had a contribution of
    the same sign there. ``text=False`` gives ``contributor`` and ``held_by`` as
    categoricals (a cohort audit's summaries group by them; building a text column
    per row costs more than the rest of the table).
    """
    if joined_terms is None:
        return pd.DataFrame(
            {
                "crossing": pd.Series([], dtype=np.int64),
                "contributor": pd.Series([], dtype=object),
                "contribution": pd.Series([], dtype=np.float64),
                "held_by": pd.Series([], dtype=object),
            }
        )
    i, k = np.nonzero(joined_terms != 0)
    # each holder set as a bit mask, named once per distinct set (not once per row)
    mask = held[i, k].astype(np.int64) @ (np.int64(1) << np.arange(len(agencies), dtype=np.int64))
    sets, inverse = np.unique(mask, return_inverse=True)
    names = np.array(
        [
            ", ".join(a for j, a in enumerate(agencies) if m >> j & 1) or "only when joined"
            for m in sets
        ],
        dtype=object,
    )
    inverse = inverse.reshape(-1)
    if text:
        contributor, held_by = np.asarray(cols, dtype=object)[k], names[inverse]
    else:
        contributor = pd.Categorical.from_codes(k, categories=pd.Index(cols, dtype=object))
        held_by = pd.Categorical.from_codes(inverse, categories=pd.Index(names, dtype=object))
    return pd.DataFrame(
        {
            "crossing": i,
            "contributor": contributor,
            "contribution": joined_terms[i, k],
            "held_by": held_by,
        }
    )


@dataclass
class AuditCore:
    ids: pd.Index
    events: pd.DataFrame
    ends: pd.DataFrame
    scored: Scored
    crossings: pd.DataFrame
    gaps: np.ndarray
    contributors: pd.DataFrame
    dips: pd.DataFrame


# the events were checked on entry to audit_case / audit_cohort: the parts of them
# handed to the encoder inside are not checked again (a fresh block for every call)
@checked_events()
def audit_core(
    events,
    cases,
    model,
    grid_days,
    response_window,
    recent_window,
    agencies,
    extract_end,
    coverage=None,
    min_gap: int = MIN_GAP,
    n_jobs=None,
    per_agency: bool = True,
) -> AuditCore:
    """Audit the cases of ``events`` (one chunk); ``n_jobs`` threads for each encoding.

    ``per_agency=False`` leaves each agency's score and band out of the rows (a
    cohort audit's tables read only the best agency band)."""
    ids, ev_code = _chunk_ids(events["case_id"])
    events = events.assign(case_id=pd.Categorical.from_codes(ev_code, categories=ids))
    ends = _case_ends(ids, cases, extract_end)
    changes = _ChangeDays(events, ids, recent_window)
    ev_day = to_days(events["date"], "date", "events")
    rows = _evaluation_rows(ev_day, ev_code, ids, ends, grid_days, changes, coverage)
    empty = _empty_record(model)
    scored, cr, dips, contrib = _score_views(
        events,
        rows,
        model,
        recent_window,
        agencies,
        empty,
        changes,
        coverage,
        n_jobs,
        min_gap,
        per_agency,
        every_row=grid_days is None,
    )
    n_resp, has_next, nxt_day = _responses_after(events, ev_code, ev_day, cr, response_window)
    cr["responses_in_window"] = n_resp
    cr["plan_active"] = _plan_active(events, ev_code, ev_day, cr)
    cr["missed"] = (n_resp == 0) & ~cr["plan_active"].to_numpy()
    cr["days_to_next_response"] = np.where(has_next, nxt_day - cr["day"].to_numpy(), np.nan)
    gaps = _gap_days(scored, rows, ends)
    return AuditCore(ids, events, ends, scored, cr, gaps, contrib, dips)


def lead_times(cr: pd.DataFrame, ends: pd.DataFrame) -> pd.DataFrame:
    """First crossing per case and band on or before the outcome, and its lead time."""
    o = ends["outcome_day"].to_numpy()[cr["code"].to_numpy()]
    d = cr["day"].to_numpy()
    keep = np.flatnonzero((o == NAT_DAY) | (d <= o))
    # the earliest crossing per case and band: crossings ordered by case code, band
    # and day, and the first of each (case, band) kept (a groupby's work in numpy)
    code, band = cr["code"].to_numpy()[keep], cr["band"].array.codes[keep]
    order = keep[np.lexsort((d[keep], band, code))]
    pair = cr["code"].to_numpy()[order] * len(BANDS) + cr["band"].array.codes[order]
    head = np.ones(len(order), dtype=bool)
    head[1:] = pair[1:] != pair[:-1]
    rows = order[head]
    first = pd.DataFrame(
        {
            "case_id": cr["case_id"].array.take(rows),
            "code": cr["code"].to_numpy()[rows],
            "band": cr["band"].array.take(rows),
            "day": d[rows],
        }
    )
    od = ends["outcome_day"].to_numpy()[first["code"].to_numpy()]
    first["first_crossing"] = days_to_ns(first["day"].to_numpy())
    first["lead_time_days"] = np.where(od != NAT_DAY, od - first["day"].to_numpy(), np.nan)
    return first.drop(columns=["day"])


def chunk_frames(core: AuditCore, horizon: int):
    """Per-case, crossing and contributor frames of one chunk (inputs to the cohort tables)."""
    cr = core.crossings.copy()
    ends = core.ends
    o = ends["outcome_day"].to_numpy()[cr["code"].to_numpy()]
    d = cr["day"].to_numpy()
    cr["true_alarm"] = (o != NAT_DAY) & (o >= d) & (o - d <= horizon)
    cr["before_outcome"] = (o == NAT_DAY) | (d <= o)
    contrib = core.contributors.copy()
    at = contrib["crossing"].to_numpy()
    contrib["band"] = cr["band"].array.take(at)  # stays categorical (no text per row)
    contrib["missed"] = cr["missed"].to_numpy()[at]
    lead = lead_times(cr, ends)
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
