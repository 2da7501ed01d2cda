"""Point-in-time features: what could have been known about a child on a date T.

Every feature as of T is computed from events with ``date <= T`` and, where
``recorded_date`` is given, ``recorded_date <= T``. A window of W days means
``T - W < date <= T``. Nothing after T is ever seen; this is what makes an audit
honest, and the test suite checks it as a property.

How it is computed (vectorised, no loop over events or rows)
------------------------------------------------------------
Each event *enters* the picture on its availability day ``max(date, recorded_date)``
and, for a window of W days, *leaves* on ``max(availability, date + W)``. The count
of events in the window as of T is therefore ``#entered(<= T) - #left(<= T)``. With
case and day packed into one sorted int64 key, both counts are one
``numpy.searchsorted`` each, for all requested (case, T) pairs at once; the counts of
earlier cases cancel because every event appears once in each array. Sums (for
attendance means) use running sums that restart at every case, so that no case's
figure is computed by subtracting large cohort-wide totals (which would lose
precision). Attendance means are rounded to 12 decimal places so that a mean
exactly on a threshold line (0.90, 0.50) is not pushed across it by floating-point
summation order.

``asthma_admissions_no_followup_12m`` uses the same entry/exit counting, per
admission: it enters on ``max(known, date + 28)`` and leaves on the earlier of
``date + 365`` and the day its follow-up becomes known, where the follow-up day is
the earliest availability of any ``asthma_plan_review`` dated in ``(date, date + 28]``
(a range-minimum over the case's reviews sorted by date, found with two
``searchsorted`` calls and one ``numpy.minimum.reduceat``). A review *known by T*
means, as for every event, ``date <= T`` and ``recorded_date <= T``: a review entered
late does not count as follow-up before it is entered, so the admission counts
until then. (A review dated in ``(date, date + 28]`` always has ``date <= T`` once
the admission counts, since that needs ``T >= date + 28``.)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from riskscore._arrays import first_rows, sorted_unique
from riskscore._dates import DEFAULT_GRID, step_days, to_days
from riskscore._dispatch import backend, is_dask
from riskscore._privacy_rules import normalise_ids
from riskscore.coverage import apply_coverage
from riskscore.errors import ParameterError, SchemaError
from riskscore.schema import ensure_cases, ensure_events
from riskscore.vocabulary import AGENCIES, FEATURES, VALUED_EVENTS

__all__ = ["encode_features", "as_of_grid", "change_dates", "FeatureEncoder", "feature_names"]

_YEAR = 365
_ADMISSION_RECENT = 28
_FOLLOWUP = 28  # days after an admission in which a plan review counts as follow-up
_RELIEVER_OVERUSE = 12
_PREVENTER_UNDERUSE = 4  # fewer than this many preventer prescriptions in a year
_PERSISTENT_LINE = 0.90
_SEVERE_LINE = 0.50
_MEAN_DECIMALS = 12

# stream name -> (event codes, windows in days; None = ever)
_STREAMS: Mapping[str, tuple[tuple[str, ...], tuple]] = {
    "substance": (("parent_substance_use", "parent_substance_treatment"), (_YEAR,)),
    "school": (("school_concern", "attainment_decline"), (_YEAR,)),
    "admission": (("asthma_admission",), (_YEAR, _ADMISSION_RECENT)),
    "ed": (("asthma_ed_visit",), (_YEAR,)),
    "plan": (("asthma_plan_review",), (_YEAR,)),
    "reliever": (("reliever_prescription",), (_YEAR,)),
    "preventer": (("preventer_prescription",), (_YEAR,)),
    "missed": (("missed_appointment",), (_YEAR,)),
    "sibling": (("sibling_removed",), (None,)),
    "police": (("police_incident_home", "domestic_abuse_incident"), (_YEAR,)),
    "hardship": (("housing_poor", "economic_hardship"), (_YEAR,)),
    "competing": (("competing_care_demand",), (_YEAR,)),
    "voice": (("child_voice_concern",), (_YEAR,)),
    "cp_plan": (("cp_plan_start",), (None,)),
}
_PATERNAL = ("paternal_involvement_lost", "paternal_involvement_restored")


def _event_windows(recent_window: int) -> dict[str, tuple[int, ...]]:
    """Event code -> the windows after which it leaves some feature (no entry: it never does)."""
    out: dict[str, set] = {e: set() for e in _PATERNAL}
    for codes, windows in _STREAMS.values():
        for e in codes:
            out.setdefault(e, set()).update(w for w in windows if w is not None)
    out["attendance"] = {int(recent_window), _YEAR}
    # asthma_admissions_no_followup_12m: an admission starts counting _FOLLOWUP days
    # after it (once known) and stops 365 days after it, or on the day its follow-up
    # review becomes known - the review's own availability, already listed above.
    out["asthma_admission"].update((_FOLLOWUP, _YEAR))
    out.setdefault("asthma_plan_review", set())
    return {e: tuple(sorted(w)) for e, w in out.items()}


def feature_names() -> list[str]:
    """The catalogue's feature names in output column order.

    Examples
    --------
    >>> from riskscore.features import feature_names
    >>> feature_names()[0]
    'parental_substance_use_12m'
    """
    return list(FEATURES)


# --------------------------------------------------------------------------- input


def _require(df: pd.DataFrame, columns, table: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{table} must be a pandas DataFrame, got {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{table}: missing required column(s) {missing}; found {list(df.columns)}. "
            "Fix: rename the columns to the data contract (see riskscore.vocabulary)."
        )


class _Events:
    """Deduplicated events of one view, as packed numpy arrays sorted by (case, day)."""

    __slots__ = ("case", "day", "avail", "event", "names", "value", "categories", "delayed")

    def mask(self, names) -> np.ndarray:
        """Rows whose event is one of ``names`` (a lookup on integer codes)."""
        lut = np.zeros(len(self.names) + 1, dtype=bool)
        lut[[i for i, n in enumerate(self.names) if n in names]] = True
        return lut[self.event]


def _sort_order(case, day, ev, delay) -> np.ndarray:
    """Order by (case, day, event, delay): one packed int64 argsort when the bits fit."""
    if len(case) == 0:
        return np.arange(0)
    d0 = day - day.min()
    widths = [int(a.max()).bit_length() or 1 for a in (case, d0, ev, delay)]
    if sum(widths) <= 62:
        key = case.astype(np.int64)
        for a, w in zip((d0, ev, delay), widths[1:], strict=True):
            key = (key << w) | a
        return np.argsort(key, kind="stable")
    return np.lexsort((delay, ev, day, case))


def _case_codes(events: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """Distinct case ids and each event's int64 code; an empty case_id is refused."""
    ids = pd.Categorical(events["case_id"])
    codes = ids.codes.astype(np.int64)
    if (codes < 0).any():
        raise SchemaError(
            f"events: column 'case_id' is empty at rows {first_rows(codes < 0)}. "
            "Fix: every event needs its child's pseudonymous case_id."
        )
    return ids.categories, codes


def _prepare_events(events: pd.DataFrame, agency: str | None) -> _Events:
    _require(events, ["case_id", "date", "agency", "event"], "events")
    if agency is not None:
        if agency not in AGENCIES:
            raise SchemaError(
                f"agency={agency!r} is not an agency code; use one of {list(AGENCIES)}."
            )
        events = events.loc[(events["agency"] == agency).to_numpy()]

    categories, case = _case_codes(events)
    day = to_days(events["date"], "date", "events")
    nat = day == np.iinfo(np.int64).min
    if nat.any():
        raise SchemaError(
            f"events: column 'date' is missing at rows {first_rows(nat)}. "
            "Fix: give every event the date it happened, or quarantine those rows "
            "with riskscore.validate_events(..., strict=False)."
        )
    avail = day.copy()
    if "recorded_date" in events.columns:
        rec = to_days(events["recorded_date"], "recorded_date", "events")
        has = rec != np.iinfo(np.int64).min
        avail[has] = np.maximum(rec[has], day[has])

    ev_cat = pd.Categorical(events["event"])
    ev_names = np.asarray(ev_cat.categories, dtype=object)
    ev = ev_cat.codes.astype(np.int64)
    if "value" in events.columns:
        value = pd.to_numeric(events["value"], errors="coerce").to_numpy(dtype=np.float64)
    else:
        value = np.full(len(events), np.nan)

    # Rows identical in case, date, event and value are one happening (the same
    # incident recorded by two agencies): keep one, known from its earliest record.
    delay = avail - day
    order = _sort_order(case, day, ev, delay)
    case, day, avail, ev, value = case[order], day[order], avail[order], ev[order], value[order]
    same = np.zeros(len(case), dtype=bool)
    if len(case) > 1:
        same[1:] = (case[1:] == case[:-1]) & (day[1:] == day[:-1]) & (ev[1:] == ev[:-1])
        eq_val = (value[1:] == value[:-1]) | (np.isnan(value[1:]) & np.isnan(value[:-1]))
        # Valued events with different values on one day are distinct happenings;
        # equal values further apart in the group are handled below.
        same[1:] &= eq_val
    keep = ~same
    valued_codes = [i for i, name in enumerate(ev_names) if name in VALUED_EVENTS]
    if valued_codes:
        # A run like (0.9, 0.8, 0.9) on one day leaves a non-adjacent duplicate.
        grp = np.zeros(len(case), dtype=bool)
        if len(case) > 1:
            grp[1:] = (case[1:] == case[:-1]) & (day[1:] == day[:-1]) & (ev[1:] == ev[:-1])
        multi = np.isin(ev, valued_codes) & (grp | np.r_[grp[1:], False])
        if multi.any():
            idx = np.flatnonzero(multi & keep)
            sub = pd.DataFrame({"c": case[idx], "d": day[idx], "e": ev[idx], "v": value[idx]})
            dup = sub.duplicated(keep="first").to_numpy()
            keep[idx[dup]] = False

    out = _Events()
    out.case, out.day, out.avail = case[keep], day[keep], avail[keep]
    out.event = ev[keep]
    out.names = [str(n) for n in ev_names]
    out.value = value[keep]
    out.categories = categories
    out.delayed = bool((out.avail != out.day).any())
    return out


# --------------------------------------------------------------------------- core


class _Packer:
    """Packs (case code, day) into one sortable int64 key."""

    def __init__(self, n_codes: int, lo: int, hi: int):
        self.n_codes = n_codes
        self.lo = lo  # smallest day that matters, minus one
        self.hi = hi  # largest key day that matters
        self.day_bits = max(int(hi - lo + 1).bit_length(), 1)
        case_bits = max(int(n_codes + 1).bit_length(), 1)
        if self.day_bits + case_bits > 62:
            raise SchemaError(
                "events: the date range and number of cases are too large to encode in "
                "one pass. Fix: encode in chunks of cases."
            )

    def pack(self, case: np.ndarray, day: np.ndarray) -> np.ndarray:
        d = np.clip(day, self.lo, self.hi) - self.lo
        return (case.astype(np.int64) << self.day_bits) | d

    def case_start(self, case: np.ndarray) -> np.ndarray:
        return case.astype(np.int64) << self.day_bits


def _sorted(keys: np.ndarray, presorted: bool) -> tuple[np.ndarray, np.ndarray | None]:
    if presorted:
        return keys, None
    order = np.argsort(keys, kind="stable")
    return keys[order], order


def _local_cumsum(values: np.ndarray, case: np.ndarray) -> np.ndarray:
    """Running sum restarting at each case (cases are contiguous)."""
    if len(values) == 0:
        return values
    return pd.Series(values).groupby(case, sort=False).cumsum().to_numpy()


def _window_stats(ev: _Events, mask: np.ndarray, window, packer: _Packer, q, q_case, with_sum):
    """Count (and sum of values) of the masked events inside the window, per query.

    Each event contributes +1 (its value) at its entry key and -1 (minus its value)
    at its exit key; one stable sort of the merged keys and a running sum give, for
    any query key, entries minus exits so far - one ``searchsorted`` per window.
    Contributions of earlier cases cancel exactly in the integer counts; sums run
    per case (restarting at each case) so no case's figure depends on others'.
    Only queries of cases that have such events are searched when the stream is
    sparse (few children have a sibling removed); the rest are zero.
    """
    count = np.zeros(len(q), dtype=np.float64)
    total = np.zeros(len(q), dtype=np.float64) if with_sum else None
    case, day, avail = ev.case[mask], ev.day[mask], ev.avail[mask]
    n = len(case)
    if n == 0:
        return count, total
    present = np.zeros(packer.n_codes + 1, dtype=bool)
    present[case] = True
    if present.mean() > 0.5:
        sel = slice(None)  # a common stream: searching everything is cheaper than selecting
    else:
        sel = np.flatnonzero(present[q_case])
    qs = q[sel]
    if window is None:
        keys = packer.pack(case, avail)
        step = np.ones(n, dtype=np.int64)
        source = np.arange(n)
    else:
        keys = np.concatenate(
            [packer.pack(case, avail), packer.pack(case, np.maximum(avail, day + window))]
        )
        step = np.concatenate([np.ones(n, dtype=np.int64), -np.ones(n, dtype=np.int64)])
        source = np.concatenate([np.arange(n), np.arange(n)])
    # entries and exits are each (nearly) sorted already: the stable sort merges runs
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    at = np.searchsorted(keys, qs, side="right") - 1
    mine = (at >= 0) & ((keys[np.maximum(at, 0)] >> packer.day_bits) == q_case[sel])
    if window is None:
        # no exits: the position within the case is the count
        first = np.searchsorted(keys, packer.case_start(q_case[sel]), side="left")
        count[sel] = np.where(mine, at + 1 - first, 0)
    else:
        running = np.cumsum(step[order])
        count[sel] = np.where(mine, running[np.maximum(at, 0)], 0)
    if with_sum:
        signed = ev.value[mask][source[order]] * step[order]
        local = _local_cumsum(signed, case[source[order]])
        total[sel] = np.where(mine, local[np.maximum(at, 0)], 0.0)
    return count, total


def _interval_counts(case, enter, leave, packer: _Packer, q: np.ndarray, q_case: np.ndarray):
    """Per query (case, T): how many of the case's intervals ``[enter, leave)`` hold T."""
    count = np.zeros(len(q), dtype=np.float64)
    n = len(case)
    if n == 0:
        return count
    keys = np.concatenate([packer.pack(case, enter), packer.pack(case, leave)])
    step = np.concatenate([np.ones(n, dtype=np.int64), -np.ones(n, dtype=np.int64)])
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    running = np.cumsum(step[order])
    at = np.searchsorted(keys, q, side="right") - 1
    # earlier cases' intervals cancel in the running count; a query before its case's
    # first key has nothing of its own
    mine = (at >= 0) & ((keys[np.maximum(at, 0)] >> packer.day_bits) == q_case)
    count[:] = np.where(mine, running[np.maximum(at, 0)], 0)
    return count


def _admissions_without_followup(ev: _Events, packer: _Packer, q, q_case) -> np.ndarray:
    """asthma_admissions_no_followup_12m for every query (see the module notes)."""
    adm = ev.mask(("asthma_admission",))
    a_case, a_day, a_avail = ev.case[adm], ev.day[adm], ev.avail[adm]
    if len(a_case) == 0:
        return np.zeros(len(q), dtype=np.float64)
    rev = ev.mask(("asthma_plan_review",))
    # events are sorted by (case, day): so are the reviews, and their packed keys
    r_key = packer.pack(ev.case[rev], ev.day[rev])
    r_avail = ev.avail[rev]
    first = np.searchsorted(r_key, packer.pack(a_case, a_day), side="right")
    stop = np.searchsorted(r_key, packer.pack(a_case, a_day + _FOLLOWUP), side="right")
    never = np.iinfo(np.int64).max
    followed = np.full(len(a_case), never, dtype=np.int64)
    has = stop > first
    if has.any():
        # earliest availability among the reviews first..stop-1 of each admission
        bounds = np.empty(2 * len(a_case), dtype=np.int64)
        bounds[0::2], bounds[1::2] = first, stop
        lows = np.minimum.reduceat(np.append(r_avail, never), bounds)[0::2]
        followed[has] = lows[has]
    enter = np.maximum(a_avail, a_day + _FOLLOWUP)
    leave = np.maximum(enter, np.minimum(a_day + _YEAR, followed))
    return _interval_counts(a_case, enter, leave, packer, q, q_case)


def _paternal_lost(ev: _Events, packer: _Packer, q: np.ndarray, q_case: np.ndarray):
    """1 if the latest (by date) loss/restoration known at T is a loss; restoration wins ties."""
    mask = ev.mask(_PATERNAL)
    case, day, avail = ev.case[mask], ev.day[mask], ev.avail[mask]
    restore = ev.mask(("paternal_involvement_restored",))[mask].astype(np.int64)
    enter, order = _sorted(packer.pack(case, avail), not ev.delayed)
    latest = (packer.pack(case, day) << 1) | restore
    if order is not None:
        latest = latest[order]
    latest = np.maximum.accumulate(latest) if len(latest) else latest
    n_in = np.searchsorted(enter, q, side="right")
    out = np.zeros(len(q), dtype=np.float64)
    has = n_in > 0
    top = latest[n_in[has] - 1] if len(latest) else np.array([], dtype=np.int64)
    same_case = (top >> (packer.day_bits + 1)) == q_case[has]
    out[np.flatnonzero(has)[same_case]] = 1.0 - (top[same_case] & 1)
    return out


def _round_mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)
    return np.round(mean, _MEAN_DECIMALS)


def _flag(condition: np.ndarray, unknown: np.ndarray | None = None) -> np.ndarray:
    out = condition.astype(np.float64)
    if unknown is not None:
        out[unknown] = np.nan
    return out


def encode_features(
    events: pd.DataFrame,
    as_of: pd.DataFrame,
    agency: str | None = None,
    *,
    recent_window: int = 90,
    coverage: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Compute the feature catalogue as of each requested (case, date) pair.

    Parameters
    ----------
    events : DataFrame
        Events in the data contract (``case_id``, ``date``, ``agency``, ``event``,
        optional ``value`` and ``recorded_date``), ideally from
        :func:`riskscore.read_events` or :func:`riskscore.validate_events`.
    as_of : DataFrame
        Columns ``case_id`` and ``as_of`` (dates); one output row per row, in order.
        :func:`as_of_grid` builds regular per-case grids. Cases with no events get
        zero counts and missing attendance.
    agency : str, optional
        Restrict to the events this agency recorded: what it could have known alone.
    recent_window : int, default=90
        Days in the recent attendance window (termly census data wants about 180).
    coverage : DataFrame, optional
        Coverage table (``agency``, ``from``, ``to``). Features whose holding
        agencies had no data on T are set missing (NaN) rather than 0.

    Returns
    -------
    DataFrame
        ``case_id``, ``as_of``, then every feature in :data:`riskscore.FEATURES`
        order as float64 (NaN = unknown).

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore import encode_features
    >>> ev = pd.DataFrame({"case_id": ["c1", "c1"], "agency": ["hospital", "hospital"],
    ...     "event": ["asthma_admission", "asthma_admission"],
    ...     "date": pd.to_datetime(["2101-01-10", "2101-03-01"])})
    >>> q = pd.DataFrame({"case_id": ["c1"], "as_of": pd.to_datetime(["2101-03-01"])})
    >>> encode_features(ev, q)["asthma_admissions_12m"].tolist()
    [2.0]
    """
    if is_dask(events, as_of):
        # Dask input: the same code per partition of cases (registered by riskscore.scale)
        return backend("encode_features")(
            events, as_of, agency, recent_window=recent_window, coverage=coverage
        )
    _require(as_of, ["case_id", "as_of"], "as_of")
    if int(recent_window) < 1 or int(recent_window) >= _YEAR:
        raise ParameterError(f"recent_window must be between 1 and 364 days, got {recent_window}.")
    recent_window = int(recent_window)
    events = ensure_events(events)  # the contract, checked once (a marked frame: cheaply)
    if agency is not None:
        if agency not in AGENCIES:
            raise SchemaError(
                f"agency={agency!r} is not an agency code; use one of {list(AGENCIES)}."
            )
        events = events.loc[(events["agency"] == agency).to_numpy()]
    t = to_days(as_of["as_of"], "as_of", "as_of")
    nat = t == np.iinfo(np.int64).min
    if nat.any():
        raise SchemaError(
            f"as_of: column 'as_of' is missing at rows {first_rows(nat)}. "
            "Fix: give every requested pair a date."
        )
    # one float block, filled in place: no per-column copies of a large table
    values = np.empty((len(t), len(FEATURES)), dtype=np.float64, order="F")
    q_ids = as_of["case_id"].reset_index(drop=True)
    if len(events) <= _CHUNK_EVENTS:
        _encode_block(events, q_ids, t, recent_window, values, slice(None))
    else:
        _encode_chunked(events, q_ids, t, recent_window, values)
    out = pd.DataFrame(values, columns=list(FEATURES), copy=False)
    out.insert(0, "as_of", t.astype("datetime64[D]").astype("datetime64[ns]"))
    out.insert(0, "case_id", q_ids)
    if coverage is not None:
        out = apply_coverage(out, coverage, agency=agency)
    return out


#: Events per block of cases: large extracts are encoded a block of cases at a time,
#: which bounds the working memory and keeps the sorted arrays cache-sized.
_CHUNK_EVENTS = 4_000_000


def _encode_chunked(events, q_ids: pd.Series, t, recent_window: int, values) -> None:
    """Encode block by block of cases (each case whole in one block), into ``values``."""
    from tqdm.auto import tqdm

    categories, codes = _case_codes(events)
    n_codes = len(categories)
    # block boundaries on case codes, about _CHUNK_EVENTS events each
    per_case = np.bincount(codes, minlength=n_codes)
    cum = np.cumsum(per_case)
    cuts = np.searchsorted(cum, np.arange(_CHUNK_EVENTS, cum[-1], _CHUNK_EVENTS), side="left")
    bounds = np.unique(np.r_[0, cuts + 1, n_codes])
    ev_order = None if (np.diff(codes) >= 0).all() else np.argsort(codes, kind="stable")
    ev_sorted = codes if ev_order is None else codes[ev_order]
    q_cat = pd.Categorical(q_ids)
    q_map = np.append(_query_positions(categories, q_cat), -1).astype(np.int64)
    q_code = q_map[q_cat.codes]
    q_code[q_code < 0] = n_codes  # cases with no events: their own final block
    q_order = np.argsort(q_code, kind="stable")
    q_sorted = q_code[q_order]
    blocks = [*zip(bounds[:-1], bounds[1:], strict=True), (n_codes, n_codes + 1)]
    for a, b in tqdm(blocks, desc="encode", unit="block", disable=len(blocks) < 8):
        qa, qb = np.searchsorted(q_sorted, [a, b])
        if qa == qb:
            continue
        ea, eb = np.searchsorted(ev_sorted, [a, b])
        rows = np.arange(ea, eb) if ev_order is None else ev_order[ea:eb]
        rows_q = q_order[qa:qb]
        _encode_block(
            events.iloc[rows], q_ids.iloc[rows_q], t[rows_q], recent_window, values, rows_q
        )


def _query_positions(categories: pd.Index, q_cat: pd.Categorical) -> np.ndarray:
    """Position of each distinct query id among the events' ids (-1: no events).

    Event ids are text with white space normalised (the contract's form); a query id
    that does not match as it is is compared in that form too (an integer 7 or " 7"
    asks about the case "7"), so no query is silently left without its events.
    """
    pos = categories.get_indexer(q_cat.categories)
    miss = np.flatnonzero(pos < 0)
    if len(miss):
        keys = normalise_ids(pd.Series(q_cat.categories[miss])).to_numpy(dtype=object)
        pos[miss] = categories.get_indexer(keys)
    return pos


def _encode_block(events, q_ids: pd.Series, t, recent_window: int, values, rows) -> None:
    """Encode the features of the (case, T) pairs ``q_ids``, ``t`` into ``values[rows]``."""
    ev = _prepare_events(events, None)
    # factorise the queries once, then map their distinct ids onto the events' codes
    q_cat = pd.Categorical(q_ids)
    q_map = _query_positions(ev.categories, q_cat).astype(np.int64)
    q_case = (
        np.where(q_cat.codes >= 0, q_map[q_cat.codes], -1)
        if len(q_map)
        else (np.full(len(q_cat), -1, dtype=np.int64))
    )
    n_codes = len(ev.categories)
    q_case[q_case < 0] = n_codes  # a case with no events sorts after every real case

    span = [d for d in (ev.day, ev.day + _YEAR, ev.avail, t) if len(d)]
    lo = int(min(d.min() for d in span)) - 1 if span else 0
    hi = int(max(d.max() for d in span)) + 1 if span else 1
    packer = _Packer(n_codes, lo, hi)
    q = packer.pack(q_case, t)

    counts: dict[tuple[str, object], np.ndarray] = {}
    for name, (codes, windows) in _STREAMS.items():
        mask = ev.mask(codes)
        for w in windows:
            counts[name, w] = _window_stats(ev, mask, w, packer, q, q_case, False)[0]
    att = ev.mask(("attendance",))
    n_recent, s_recent = _window_stats(ev, att, recent_window, packer, q, q_case, True)
    n_year, s_year = _window_stats(ev, att, _YEAR, packer, q, q_case, True)

    recent = _round_mean(s_recent, n_recent)
    older = _round_mean(s_year - s_recent, n_year - n_recent)
    unknown = np.isnan(recent)
    admissions = counts["admission", _YEAR]
    ed = counts["ed", _YEAR]
    cols = {
        "parental_substance_use_12m": _flag(counts["substance", _YEAR] > 0),
        "attendance_recent": recent,
        "attendance_drop": np.round(older - recent, _MEAN_DECIMALS),
        "persistent_absence": _flag(recent <= _PERSISTENT_LINE, unknown),
        "severe_absence": _flag(recent <= _SEVERE_LINE, unknown),
        "school_concerns_12m": counts["school", _YEAR],
        "asthma_admissions_12m": admissions,
        "asthma_ed_visits_12m": ed,
        "asthma_admission_28d": _flag(counts["admission", _ADMISSION_RECENT] > 0),
        "no_asthma_plan_12m": _flag((admissions + ed > 0) & (counts["plan", _YEAR] == 0)),
        "reliever_overuse_12m": _flag(counts["reliever", _YEAR] > _RELIEVER_OVERUSE),
        "missed_appointments_12m": counts["missed", _YEAR],
        "paternal_involvement_lost": _paternal_lost(ev, packer, q, q_case),
        "siblings_removed": counts["sibling", None],
        "police_incidents_home_12m": counts["police", _YEAR],
        "hardship_12m": _flag(counts["hardship", _YEAR] > 0),
        "competing_care_12m": _flag(counts["competing", _YEAR] > 0),
        "child_voice_concerns_12m": counts["voice", _YEAR],
        "asthma_admissions_no_followup_12m": _admissions_without_followup(ev, packer, q, q_case),
        "preventer_underuse_12m": _flag(
            (counts["reliever", _YEAR] > 0) & (counts["preventer", _YEAR] < _PREVENTER_UNDERUSE)
        ),
        "cp_plans_ever": counts["cp_plan", None],
    }
    for j, name in enumerate(FEATURES):
        values[rows, j] = cols[name]


# --------------------------------------------------------------------------- grids


def as_of_grid(
    events: pd.DataFrame,
    grid: str | int = DEFAULT_GRID,
    *,
    cases: pd.DataFrame | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Regular per-case as-of dates: from each case's first event to its end, every ``grid``.

    A case's grid ends at its outcome date (exclusive of later dates), else its
    ``followup_end``, else the extract's last event date (the contract's default).

    Parameters
    ----------
    events : DataFrame
        Events in the data contract.
    grid : str or int, default="14D"
        Step between as-of dates, in days ("14D", "90D" or an integer); the one
        default of every grid in riskscore (``riskscore.DEFAULT_GRID``).
    cases : DataFrame, optional
        Cases table; gives ``outcome_date`` and ``followup_end`` per case, and cases
        with no events are left out (they have no first event).
    start, end : date, optional
        Clip every grid to this span.

    Returns
    -------
    DataFrame
        ``case_id`` and ``as_of``, sorted by case then date. With ``cases``,
        ``attrs["riskscore_left_out"]`` counts the cases that get no grid and why
        (events of a child not in ``cases``; a child in ``cases`` with no events).

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore import as_of_grid
    >>> ev = pd.DataFrame({"case_id": ["c1", "c1"], "agency": ["school"] * 2,
    ...     "event": ["school_concern"] * 2,
    ...     "date": pd.to_datetime(["2101-01-01", "2101-03-01"])})
    >>> as_of_grid(ev, "30D")["as_of"].dt.strftime("%Y-%m-%d").tolist()
    ['2101-01-01', '2101-01-31']
    """
    step = step_days(grid)
    events = ensure_events(events)
    day = to_days(events["date"], "date", "events")
    ids = pd.Categorical(events["case_id"])
    codes = ids.codes
    valid = (codes >= 0) & (day != np.iinfo(np.int64).min)
    per_case = pd.DataFrame({"code": codes[valid], "day": day[valid]}).groupby("code")["day"]
    first = per_case.min()
    case_ids = pd.Series(np.asarray(ids.categories, dtype=object)[first.index], index=first.index)
    extract_end = int(day[valid].max()) if valid.any() else 0
    last = pd.Series(extract_end, index=first.index, dtype=np.int64)
    if cases is not None:
        cases = ensure_cases(cases)
        c = cases.set_index(cases["case_id"].astype(str))
        ids_str = case_ids.astype(str)
        for col in ("followup_end", "outcome_date"):
            if col in c.columns:
                d = pd.Series(to_days(c[col], col, "cases"), index=c.index)
                d = d.reindex(ids_str.to_numpy()).to_numpy()
                have = (~np.isnan(d.astype(float))) & (d != np.iinfo(np.int64).min)
                if col == "followup_end":
                    last[have] = d[have]
                else:
                    # no as-of date after an outcome: the audit stops at it
                    last[have] = np.minimum(last.to_numpy()[have], d[have])
        keep = ids_str.isin(c.index).to_numpy()
        left_out = {
            "cases in events but not in cases (no outcome or follow-up known)": int((~keep).sum()),
            "cases in cases with no events (no first event)": int(
                (~c.index.isin(ids_str.to_numpy())).sum()
            ),
        }
        first, last, case_ids = first[keep], last[keep], case_ids[keep]
    else:
        left_out = {}
    lo = first.to_numpy()
    hi = last.to_numpy()
    if start is not None:
        lo = np.maximum(lo, to_days(pd.Series([pd.Timestamp(start)]), "start", "grid")[0])
    if end is not None:
        hi = np.minimum(hi, to_days(pd.Series([pd.Timestamp(end)]), "end", "grid")[0])
    n = np.where(hi >= lo, (hi - lo) // step + 1, 0)
    rep = np.repeat(np.arange(len(lo)), n)
    offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    days = lo[rep] + offset * step
    out = pd.DataFrame(
        {
            "case_id": case_ids.to_numpy()[rep],
            "as_of": days.astype("datetime64[D]").astype("datetime64[ns]"),
        }
    )
    # nothing is left out silently: how many cases have no grid, and why
    out.attrs["riskscore_left_out"] = left_out
    return out


def change_dates(events: pd.DataFrame, *, recent_window: int = 90) -> pd.DataFrame:
    """Every date on which some feature of a case can change.

    Features are step functions of T: they change only when an event becomes known
    (its ``date``, or its later ``recorded_date``) and when it leaves one of the
    windows of the features it feeds (``date + W``: 28 days for admissions,
    ``recent_window`` and 365 days for attendance, 365 days for the other
    12-month features). An admission also starts counting as one without follow-up
    28 days after it, and stops on the day a follow-up review becomes known (that
    review's availability). Response events change no feature, except
    ``cp_plan_start`` (counted by ``cp_plans_ever`` from the day it is known).
    Scoring on these dates (plus any grid) finds band crossings exact to the day.

    Parameters
    ----------
    events : DataFrame
        Events in the data contract.
    recent_window : int, default=90
        The recent attendance window used when encoding.

    Returns
    -------
    DataFrame
        Unique ``case_id``, ``as_of`` pairs, sorted.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"case_id": ["c1"], "agency": ["hospital"],
    ...     "event": ["asthma_admission"], "date": pd.to_datetime(["2101-01-01"])})
    >>> change_dates(ev)["as_of"].dt.strftime("%Y-%m-%d").tolist()
    ['2101-01-01', '2101-01-29', '2102-01-01']
    """
    events = ensure_events(events)
    windows = _event_windows(recent_window)
    # responses and events outside the catalogue never change a feature
    events = events.loc[events["event"].isin(list(windows)).to_numpy()]
    day = to_days(events["date"], "date", "events")
    avail = day.copy()
    if "recorded_date" in events.columns:
        rec = to_days(events["recorded_date"], "recorded_date", "events")
        has = rec != np.iinfo(np.int64).min
        avail[has] = np.maximum(rec[has], day[has])
    ids = pd.Categorical(events["case_id"])
    codes = ids.codes.astype(np.int64)
    ok = (codes >= 0) & (day != np.iinfo(np.int64).min)
    ev_cat = pd.Categorical(events["event"])
    names = [str(n) for n in ev_cat.categories]
    parts_code, parts_day = [codes[ok]], [avail[ok]]
    for w in sorted({w for ws in windows.values() for w in ws}):
        wanted = [i for i, n in enumerate(names) if w in windows.get(n, ())]
        m = ok & np.isin(ev_cat.codes, wanted)
        parts_code.append(codes[m])
        parts_day.append(np.maximum(avail[m], day[m] + w))
    all_codes, all_days = np.concatenate(parts_code), np.concatenate(parts_day)
    base = int(all_days.min()) if len(all_days) else 0
    key = sorted_unique((all_codes << 32) | (all_days - base))
    cats = ids.categories
    return pd.DataFrame(
        {
            "case_id": pd.Categorical.from_codes(key >> 32, categories=cats)
            if isinstance(events["case_id"].dtype, pd.CategoricalDtype)
            else np.asarray(cats, dtype=object)[key >> 32],
            "as_of": ((key & 0xFFFFFFFF) + base).astype("datetime64[D]").astype("datetime64[ns]"),
        }
    )


# --------------------------------------------------------------------------- sklearn


class FeatureEncoder(TransformerMixin, BaseEstimator):
    """scikit-learn transformer from (case_id, as_of) pairs to point-in-time features.

    The events are a parameter, so a pipeline can be fitted on as-of pairs:
    ``make_pipeline(FeatureEncoder(events), LogisticRiskModel())``. Exempt from
    scikit-learn's estimator checks (it takes a table of pairs, not a matrix).

    Parameters
    ----------
    events : DataFrame
        Events in the data contract.
    agency : str, optional
        Encode one agency's view.
    recent_window : int, default=90
        Days in the recent attendance window.
    features : list of str, optional
        Columns to return (default: the whole catalogue).

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore import FeatureEncoder
    >>> ev = pd.DataFrame({"case_id": ["c1"], "agency": ["police"],
    ...     "event": ["police_incident_home"], "date": pd.to_datetime(["2101-01-10"])})
    >>> q = pd.DataFrame({"case_id": ["c1"], "as_of": pd.to_datetime(["2101-02-01"])})
    >>> FeatureEncoder(ev).fit_transform(q)["police_incidents_home_12m"].tolist()
    [1.0]
    """

    def __init__(self, events=None, agency=None, recent_window=90, features=None):
        self.events = events
        self.agency = agency
        self.recent_window = recent_window
        self.features = features

    def fit(self, X, y=None):
        if self.events is None:
            raise SchemaError("FeatureEncoder needs events=<events DataFrame>.")
        ensure_events(self.events)  # refuse a table that breaks the contract at fit time
        unknown = [f for f in (self.features or []) if f not in FEATURES]
        if unknown:
            raise ParameterError(f"Unknown feature(s) {unknown}; known: {list(FEATURES)}.")
        self.feature_names_out_ = np.asarray(self.features or list(FEATURES), dtype=object)
        return self

    def transform(self, X):
        out = encode_features(self.events, X, agency=self.agency, recent_window=self.recent_window)
        out = out[list(self.feature_names_out_)]
        if isinstance(X, pd.DataFrame):
            out.index = X.index
        return out

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_out_
