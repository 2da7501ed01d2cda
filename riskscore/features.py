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
case and day packed into one int64 key, the entries and exits of every stream and
window go into one sorted array, and each requested (case, T) pair is placed in it
with one ``numpy.searchsorted``; a running sum of +1 and -1 read there is the count,
and the counts of earlier cases cancel because each of their intervals has both ends
before the pair (see ``_Points``). Large extracts are encoded a block of cases at a
time, on several threads (``n_jobs``); each case lies whole in one block. Sums (for
attendance means) are running sums too, of integers: each value in units of
``2**-40`` (within 5e-13 of it), so the sums are exact, earlier cases cancel exactly
and no figure depends on the order of the rows. Attendance means are rounded to 12
decimal places so that a mean exactly on a threshold line (0.90, 0.50) is not pushed
across it by the last bit of a division.

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

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from riskscore._arrays import first_rows, sorted_unique
from riskscore._dates import (
    DEFAULT_GRID,
    LAST_DAY,
    NAT_DAY,
    datetime_days,
    step_days,
    to_days,
)
from riskscore._dispatch import backend, is_dask
from riskscore._memory import new_table, release
from riskscore._parallel import map_threads, resolve_n_jobs, settle_malloc, small_pages
from riskscore._params import WINDOW_DAYS, validate_attributes, validate_params
from riskscore._paths import output_file, writing
from riskscore._privacy_rules import normalise_ids
from riskscore.coverage import apply_coverage
from riskscore.errors import ParameterError, SchemaError, check_fitted
from riskscore.schema import allowed_columns, ensure_cases, ensure_events, stamp_allowed
from riskscore.vocabulary import AGENCIES, FEATURES

__all__ = [
    "encode_features",
    "write_features",
    "as_of_grid",
    "change_dates",
    "FeatureEncoder",
    "feature_names",
    "release_memory",
]

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
    for c in columns:
        n = int((df.columns == c).sum())
        if n > 1:
            raise SchemaError(
                f"{table}: column '{c}' appears {n} times. Fix: keep one column of that name."
            )


class _Events:
    """Events of one view as numpy arrays in (case, day) order.

    ``keep`` marks the rows that are not duplicates (None: every row); every use of
    the events goes through it, so duplicates need not be compressed away first.
    """

    __slots__ = ("case", "day", "avail", "event", "names", "value", "delayed", "keep")

    def rows_of(self, *groups) -> list[np.ndarray]:
        """Kept rows whose event is in each group of names (one pass over the events)."""
        lut = np.zeros(len(self.names) + 1, dtype=np.int8)
        for g, names in enumerate(groups, 1):
            lut[[i for i, n in enumerate(self.names) if n in names]] = g
        tag = lut[self.event]
        if self.keep is not None:
            tag *= self.keep
        rows = np.flatnonzero(tag)
        tag = tag[rows]
        return [rows[tag == g] for g in range(1, len(groups) + 1)]


def _case_day_order(case: np.ndarray, day: np.ndarray):
    """Order by (case, day), stable, and whether each row has the previous one's.

    Returns ``(order, tie)``: ``order`` is None when the rows are in that order
    already (as ``make_cohort`` and most extracts sorted by case and date deliver
    them), and ``tie[i]`` (rows in that order) says row ``i`` has the (case, day) of
    row ``i - 1``.
    """
    if len(case) < 2:
        return None, np.zeros(len(case), dtype=bool)
    d0 = day - day.min()
    day_bits = int(d0.max()).bit_length()
    tie = np.zeros(len(case), dtype=bool)
    if int(case.max()).bit_length() + day_bits <= 62:
        key = (case.astype(np.int64) << day_bits) | d0
        order = None if (key[1:] >= key[:-1]).all() else np.argsort(key, kind="stable")
        if order is not None:
            key = key[order]
        tie[1:] = key[1:] == key[:-1]
        return order, tie
    order = np.lexsort((day, case))
    case, day = case[order], day[order]
    tie[1:] = (case[1:] == case[:-1]) & (day[1:] == day[:-1])
    return order, tie


def _duplicates(tie, event, value, day, avail) -> np.ndarray:
    """Rows that repeat an earlier-known row of their (case, day): same event and value.

    Rows are in (case, day) order and ``tie`` is from :func:`_case_day_order`; only
    rows sharing their (case, day) and event with another row are looked at. Of rows
    identical in event and value (NaN equal to NaN) the one with the least delay is
    kept (ties: the first); the others are returned.
    """
    shared = tie.copy()
    shared[:-1] |= tie[1:]
    rows = np.flatnonzero(shared)
    if len(rows) == 0:
        return rows
    # (case, day) group number, then event: rows sharing both may be duplicates
    group = np.cumsum(~tie[rows]).astype(np.int64) << 16 | event[rows].astype(np.int64)
    order = np.argsort(group, kind="stable")
    rows, group = rows[order], group[order]
    same = np.zeros(len(rows) + 1, dtype=bool)
    same[1:-1] = group[1:] == group[:-1]
    pick = np.flatnonzero(same[:-1] | same[1:])
    rows, group = rows[pick], group[pick]
    # equal values have equal bits once -0.0 is 0.0 and every NaN is one NaN
    v = value[rows] + 0.0
    bits = v.view(np.int64).copy()
    bits[np.isnan(v)] = -1
    # by group, then value, then delay (least first): stable sorts, last key first
    order = np.argsort(avail[rows] - day[rows], kind="stable")
    order = order[np.argsort(bits[order], kind="stable")]
    order = order[np.argsort(group[order], kind="stable")]
    rows, group, bits = rows[order], group[order], bits[order]
    dup = (group[1:] == group[:-1]) & (bits[1:] == bits[:-1])
    return rows[1:][dup]


def _case_codes(events: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """Distinct case ids and each event's integer code; an empty case_id is refused."""
    ids = pd.Categorical(events["case_id"])
    codes = ids.codes  # the smallest integer type that holds them: memory at scale
    if (codes < 0).any():
        raise SchemaError(
            f"events: column 'case_id' is empty at rows {first_rows(codes < 0)}. "
            "Fix: every event needs its child's pseudonymous case_id."
        )
    return ids.categories, codes


class _Columns:
    """The events' columns the encoder reads, as numpy arrays.

    Taken from the frame once, so that the blocks (on several threads) slice arrays
    and never touch pandas, whose every operation holds the GIL. Dates stay in their
    datetime64 unit and are turned into days block by block (in parallel).
    """

    __slots__ = ("date", "recorded", "event", "names", "value")

    @classmethod
    def of(cls, events: pd.DataFrame) -> _Columns:
        out = cls()
        out.date = _day_source(events["date"], "date")
        out.recorded = (
            _day_source(events["recorded_date"], "recorded_date")
            if "recorded_date" in events.columns
            else None
        )
        ev = events["event"]
        cat = ev.array if isinstance(ev.dtype, pd.CategoricalDtype) else pd.Categorical(ev)
        out.event = np.asarray(cat.codes)
        out.names = [str(n) for n in cat.categories]
        if "value" in events.columns:
            value = events["value"]
            if value.dtype != np.float64:  # typed frames have float64 values: no copy then
                value = pd.to_numeric(value, errors="coerce")
            out.value = value.to_numpy(dtype=np.float64)
        else:
            out.value = None
        return out

    def take(self, rows) -> _Columns:
        """The columns of ``rows`` (a slice: views)."""
        out = _Columns()
        out.names = self.names
        for name in ("date", "recorded", "event", "value"):
            col = getattr(self, name)
            setattr(out, name, None if col is None else col[rows])
        return out

    def __len__(self) -> int:
        return len(self.date)


def _day_source(column: pd.Series, name: str) -> np.ndarray:
    """A naive datetime64 column as it is (days later, per block); anything else as days."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return column.to_numpy()
    return to_days(column, name, "events")


def _days(values: np.ndarray) -> np.ndarray:
    return datetime_days(values) if values.dtype.kind == "M" else values


def _prepare_events(cols: _Columns, case: np.ndarray) -> _Events:
    """Deduplicated events of one block; ``case`` holds each row's case code."""
    day = _days(cols.date)
    nat = day == NAT_DAY
    if nat.any():
        raise SchemaError(
            f"events: column 'date' is missing at rows {first_rows(nat)}. "
            "Fix: give every event the date it happened, or quarantine those rows "
            "with riskscore.validate_events(..., strict=False)."
        )
    if cols.recorded is not None:
        # a missing recorded_date is the smallest int64, so the maximum is the date
        avail = np.maximum(day, _days(cols.recorded))
    else:
        avail = day
    ev = cols.event.astype(np.intp)  # an index array: intp gathers fastest
    ev_names = cols.names
    value = cols.value if cols.value is not None else np.full(len(cols), np.nan)

    order, tie = _case_day_order(case, day)
    if order is not None:
        case, day, avail, ev, value = case[order], day[order], avail[order], ev[order], value[order]

    # Rows identical in case, date, event and value are one happening (the same
    # incident recorded by two agencies): keep one, known from its earliest record.
    dup = _duplicates(tie, ev, value, day, avail)
    keep = None
    if len(dup):
        keep = np.ones(len(case), dtype=bool)
        keep[dup] = False

    out = _Events()
    out.case, out.day, out.avail, out.event, out.value = case, day, avail, ev, value
    out.names = ev_names
    out.keep = keep
    out.delayed = bool((avail != day).any())
    return out


# --------------------------------------------------------------------------- core


class _Packer:
    """Packs (case code, day) into one sortable int64 key."""

    def __init__(self, n_codes: int, lo: int, hi: int):
        self.n_codes = n_codes
        self.lo = lo  # smallest day that matters, minus one
        self.hi = hi  # largest key day that matters
        self.day_bits = max(int(hi - lo + 1).bit_length(), 1)
        self.bits = self.day_bits + max(int(n_codes + 1).bit_length(), 1)
        if self.bits > 62:
            raise SchemaError(
                "events: the date range and number of cases are too large to encode in "
                "one pass. Fix: encode in chunks of cases."
            )

    def pack(self, case: np.ndarray, day: np.ndarray) -> np.ndarray:
        d = np.clip(day, self.lo, self.hi) - self.lo
        return (case.astype(np.int64, copy=False) << self.day_bits) | d


def _sorted(keys: np.ndarray, presorted: bool) -> tuple[np.ndarray, np.ndarray | None]:
    if presorted:
        return keys, None
    order = np.argsort(keys, kind="stable")
    return keys[order], order


#: Bytes per lane for the most intervals one case has in a set (see _Points.counts).
_LANE_BYTES = ((2**8, 1), (2**16, 2), (2**32, 4))
#: Attendance values are summed as integers in units of 2**-40: a value moves by at
#: most 2**-41 (under 5e-13, below the 12 decimals means are rounded to), and integer
#: sums are exact, so they depend neither on the order of the rows nor on the totals
#: of earlier cases, which cancel exactly in one running sum.
_VALUE_BITS = 40
#: Bits a sort key may use: points carry their code and event in the bits below the
#: (case, day) key when these fit, so that one sort of plain integers orders them.
_KEY_BITS = 63


class _Points:
    """Every window of every stream in one merged pass over sorted (case, day) keys.

    Each event of a stream *enters* on the day it is known and *leaves* each of its
    windows on ``max(known, date + W)`` (a window of "ever" on the last day of the
    block's span); the admissions of ``asthma_admissions_no_followup_12m`` have
    intervals of their own. All these points go into one array of packed keys,
    sorted once, and each query is placed in it once (one ``searchsorted``). A
    point's code (which count it enters or leaves) and its event (for attendance
    values) ride in the low bits of its key, so the sort moves one integer array
    and needs no gathers after it; when the bits do not fit (a very long span of
    days in a very large block), an ``argsort`` of the keys does the same.

    A count as of a query is the running sum of +1 at entries and -1 at exits up to
    its place: every interval of an earlier case has both its ends before the query
    and cancels, so no count restarts per case. The running sums of several counts
    share one uint64 word, each in its own lane of 1, 2 or 4 bytes (enough for the
    most intervals any case of the block has in that count, so a lane never carries
    into the next): one cumulative sum and one gather per word serve up to eight
    counts, and each count is a strided view of its lane. Attendance sums run the
    same way over fixed-point integers (``_VALUE_BITS``).
    """

    def __init__(self, ev: _Events, packer: _Packer, recent_window: int, followup):
        streams = {name: (set(codes), windows) for name, (codes, windows) in _STREAMS.items()}
        streams["attendance"] = ({"attendance"}, (recent_window, _YEAR))
        self.names = list(streams)
        n_streams = len(streams)
        n_slots = max(len(ws) for _, ws in streams.values())
        # per event code: its stream (or -1); intp, as every index array here, because
        # numpy gathers through narrower indices only after converting them
        of_code = np.full(len(ev.names) + 1, -1, dtype=np.intp)
        for i, (codes, _) in enumerate(streams.values()):
            of_code[[k for k, n in enumerate(ev.names) if n in codes]] = i
        stream = of_code[ev.event]
        sel = np.flatnonzero(stream >= 0 if ev.keep is None else (stream >= 0) & ev.keep)
        stream, case, day, avail = stream[sel], ev.case[sel], ev.day[sel], ev.avail[sel]
        n_sel = len(sel)

        # The counts: (stream, window) pairs, then the follow-up intervals. Point codes:
        # stream i enters with code i and leaves the window in its slot j with code
        # (1 + j) * n_streams + i; the follow-up intervals enter and leave last.
        self.counters = [(name, w) for name, (_, ws) in streams.items() for w in ws]
        n_counters = len(self.counters) + 1
        f_in = (1 + n_slots) * n_streams
        f_out = f_in + 1
        # step of each point code on each counter (+1 entry, -1 exit), and the window
        # of each slot of each stream ("ever": past the block's last day; -1: none)
        steps = np.zeros((f_out + 1, n_counters), dtype=np.int64)
        wins = np.full((n_slots, n_streams), -1, dtype=np.int64)
        exit_code = {}
        k = 0
        for i, (name, (_, ws)) in enumerate(streams.items()):
            for j, w in enumerate(ws):
                exit_code[name, w] = (1 + j) * n_streams + i
                steps[i, k], steps[exit_code[name, w], k] = 1, -1
                wins[j, i] = packer.hi - packer.lo if w is None else w
                k += 1
        steps[f_in, -1], steps[f_out, -1] = 1, -1

        # Runs of points, each (events, day, code offset): the entries, then the exits
        # from each slot's window; ``events`` indexes the selected events (None: all)
        # and a point's code is its stream plus the offset.
        runs = [(None, avail, 0)]
        for j in range(n_slots):
            has = wins[j] >= 0
            idx = None if has.all() else np.flatnonzero(has[stream])
            s_, d_, a_ = (
                (stream, day, avail) if idx is None else (stream[idx], day[idx], avail[idx])
            )
            leave = d_ + wins[j][s_]
            np.maximum(leave, a_, out=leave)
            np.minimum(leave, packer.hi, out=leave)
            runs.append((idx, leave, (1 + j) * n_streams))
        f_case, f_enter, f_leave = followup
        n_f = len(f_case)

        src_bits = max(n_sel.bit_length(), 1)
        code_bits = max(int(f_out).bit_length(), 1)
        self.low = src_bits + code_bits
        if packer.bits + self.low <= _KEY_BITS:
            # key = (case, day - lo) << low | code << src_bits | event, built in place
            # (every day of a point lies within [lo, hi], so nothing needs clipping)
            base = case.astype(np.int64) << (packer.day_bits + self.low)
            base |= stream << src_bits
            base |= np.arange(n_sel)
            keys = np.empty(sum(len(d) for _, d, _ in runs) + 2 * n_f, dtype=np.int64)
            at = 0
            for idx, d, offset in runs:
                seg = keys[at : at + len(d)]
                np.subtract(d, packer.lo, out=seg)
                seg <<= self.low
                seg += base if idx is None else base[idx]
                if offset:
                    seg += offset << src_bits
                at += len(d)
            for d, code in ((f_enter, f_in), (f_leave, f_out)):
                keys[at : at + n_f] = (packer.pack(f_case, d) << self.low) | (code << src_bits)
                keys[at : at + n_f] |= n_sel
                at += n_f
            keys.sort()  # plain integers: the fastest sort numpy has
            self.code = (keys >> src_bits) & ((1 << code_bits) - 1)
            self.source = keys & ((1 << src_bits) - 1)
        else:
            self.low = 0
            every = np.arange(n_sel)
            src = [every if idx is None else idx for idx, _, _ in runs]
            keys = np.concatenate(
                [packer.pack(case[i], d) for i, (_, d, _) in zip(src, runs, strict=True)]
                + [packer.pack(f_case, f_enter), packer.pack(f_case, f_leave)]
            )
            code = np.concatenate(
                [stream[i] + off for i, (_, _, off) in zip(src, runs, strict=True)]
                + [np.full(n_f, f_in, np.intp), np.full(n_f, f_out, np.intp)]
            )
            src = np.concatenate([*src, np.full(2 * n_f, n_sel)])
            order = np.argsort(keys, kind="stable")
            keys, self.code, self.source = keys[order], code[order], src[order]
        self.keys = keys
        self.steps = steps
        # lane width of each counter: the most intervals any one case has in it (at
        # most the case's selected events: one bincount settles the usual case)
        per_case = np.zeros(n_counters, dtype=np.int64)
        # (case is sorted, so a case with `lane` events or more is one whose first
        # and lane-th event are `lane - 1` rows apart: a comparison, which runs
        # outside the GIL, where np.bincount holds it and stalls the other threads)
        lane = _LANE_BYTES[0][0]
        if n_sel >= lane and (case[lane - 1 :] == case[: n_sel - lane + 1]).any():
            busiest = np.bincount(stream * (packer.n_codes + 1) + case)
            busiest = np.pad(busiest, (0, n_streams * (packer.n_codes + 1) - len(busiest)))
            busiest = busiest.reshape(n_streams, -1).max(axis=1)
            for k, (name, _) in enumerate(self.counters):
                per_case[k] = busiest[self.names.index(name)]
            if n_f:
                per_case[-1] = np.bincount(f_case).max()
        self.width = [next((b for limit, b in _LANE_BYTES if m < limit), 8) for m in per_case]
        self.att = (self.names.index("attendance"), exit_code["attendance", recent_window],
                    exit_code["attendance", _YEAR])  # fmt: skip
        # values in fixed point (no value, and "no event", is 0); only attendance
        # points have a nonzero sign in attendance_sums, so only their values count
        value = ev.value[sel] * 2.0**_VALUE_BITS
        np.fmax(value, 0.0, out=value)  # NaN (no value) to 0; values are never negative
        self.fixed = np.zeros(n_sel + 1, dtype=np.int64)
        np.rint(value, out=value)
        self.fixed[:-1] = value

    def locate(self, q: np.ndarray) -> np.ndarray:
        """Each packed (case, T) query's place: the number of points up to (case, T)."""
        return np.searchsorted(self.keys, (q + 1) << self.low, side="left")

    def counts(self, pos: np.ndarray) -> dict:
        """(stream, window) -> counts per query (a uint view), ``"no_followup"`` too."""
        out = {}
        labels = [*self.counters, "no_followup"]
        running = np.zeros(len(self.code) + 1, dtype="<u8")  # one buffer for every word
        # the steps go into a buffer of their own: a cumulative sum in place (input
        # and output the same memory) holds the GIL for its whole length
        moves = np.empty(len(self.code), dtype="<u8")
        for width in sorted(set(self.width)):
            members = [k for k, b in enumerate(self.width) if b == width]
            per_word = 8 // width
            for w in range(0, len(members), per_word):
                word = members[w : w + per_word]
                # each point code's steps on this word's lanes, as one uint64
                step = np.zeros(len(self.steps), dtype=np.uint64)
                for slot, k in enumerate(word):
                    lane = np.uint64(1 << (8 * width * slot))
                    up, down = self.steps[:, k] > 0, self.steps[:, k] < 0
                    step[up] += lane
                    step[down] -= lane  # wraps: -1 in this lane, modulo 2**64
                np.take(step, self.code, out=moves, mode="clip")  # clip: unbuffered
                np.cumsum(moves, out=running[1:])
                lanes = running[pos].view(f"<u{width}").reshape(len(pos), per_word)
                for slot, k in enumerate(word):
                    out[labels[k]] = lanes[:, slot]
        return out

    def attendance_sums(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sums of attendance values in the recent window and the year, per query.

        Integers in units of ``2**-_VALUE_BITS``: the running sum of +value at each
        entry and -value at each exit, read at the query's place.
        """
        enter, leave_recent, leave_year = self.att
        value = self.fixed[self.source]
        running = np.zeros(len(self.code) + 1, dtype=np.int64)
        moves = np.empty(len(self.code), dtype=np.int64)  # not in place: see counts
        sums = []
        for leave in (leave_recent, leave_year):
            sign = np.zeros(len(self.steps), dtype=np.int64)
            sign[enter], sign[leave] = 1, -1
            np.take(sign, self.code, out=moves, mode="clip")
            moves *= value
            np.cumsum(moves, out=running[1:])
            sums.append(running[pos])
        return sums[0], sums[1]


def _admissions_without_followup(ev: _Events, packer: _Packer, adm, rev):
    """Intervals in which each admission counts for asthma_admissions_no_followup_12m.

    ``adm`` and ``rev`` are the rows of the admissions and plan reviews. See the
    module notes; returns ``(case, enter, leave)`` for ``_Points``.
    """
    a_case, a_day, a_avail = ev.case[adm], ev.day[adm], ev.avail[adm]
    if len(a_case) == 0:
        return a_case, a_day, a_day
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
    return a_case, enter, leave


def _paternal_lost(ev: _Events, packer: _Packer, rows, q: np.ndarray, q_case: np.ndarray):
    """1 if the latest (by date) loss/restoration known at T is a loss; restoration wins ties.

    ``rows`` are the rows of losses and restorations.
    """
    case, day, avail = ev.case[rows], ev.day[rows], ev.avail[rows]
    restored = ev.names.index("paternal_involvement_restored") if rows.size else -1
    restore = (ev.event[rows] == restored).astype(np.int64)
    enter, order = _sorted(packer.pack(case, avail), not ev.delayed)
    latest = (packer.pack(case, day) << 1) | restore
    if order is not None:
        latest = latest[order]
    latest = np.maximum.accumulate(latest) if len(latest) else latest
    out = np.zeros(len(q), dtype=np.float64)
    # only the queries of cases with such events (few) are looked up
    involved = np.zeros(packer.n_codes + 1, dtype=bool)
    involved[case] = True
    ask = np.flatnonzero(involved[q_case])
    n_in = np.searchsorted(enter, q[ask], side="right")
    has = n_in > 0
    top = latest[n_in[has] - 1]
    same_case = (top >> (packer.day_bits + 1)) == q_case[ask[has]]
    out[ask[has][same_case]] = 1.0 - (top[same_case] & 1)
    return out


def _round_mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Mean of fixed-point sums (``_VALUE_BITS``), rounded to ``_MEAN_DECIMALS``.

    No values (count 0) means a total of 0 too, and 0 / 0 is NaN: missing, not 0.
    """
    with np.errstate(invalid="ignore"):
        mean = total / (count * 2.0**_VALUE_BITS)  # a power of two: exact
    return np.round(mean, _MEAN_DECIMALS, out=mean)


def _flag(condition: np.ndarray, unknown: np.ndarray | None = None) -> np.ndarray:
    out = condition.astype(np.float64)
    if unknown is not None:
        out[unknown] = np.nan
    return out


@validate_params(
    {
        "agency": ["agency", None],
        "recent_window": [WINDOW_DAYS],
        "n_jobs": ["n_jobs"],
        # "float64"/"float32" or the numpy types: _output_dtype checks which
        "dtype": [str, type, np.dtype],
    }
)
def encode_features(
    events: pd.DataFrame,
    as_of: pd.DataFrame,
    agency: str | None = None,
    *,
    recent_window: int = 90,
    coverage: pd.DataFrame | None = None,
    n_jobs: int | None = None,
    dtype: str = "float64",
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
    n_jobs : int, optional
        Threads that encode blocks of cases at once. The default (None, or -1)
        uses every core this process may run on: encoding is numpy sorting and
        searching, which runs outside Python's global lock, and threads share the
        events without copying them. Use 1 inside work that is already parallel
        (Dask workers, a joblib loop over folds). The result is the same for any
        value. On Linux with glibc the first encoding on several threads fixes
        malloc's thresholds for the process (docs/performance.md); the environment
        variable ``RISKSCORE_MALLOC=keep`` leaves them alone.
    dtype : {"float64", "float32"}, default="float64"
        Type of the feature columns. ``"float32"`` halves the output's memory (a
        monthly grid of a million children over two years: 1.7 GB instead of 3.5 GB).
        Counts and flags are held exactly, and flags are decided in float64 before
        rounding; the attendance fractions and differences are rounded to about seven
        significant digits, so a score that compares them with a threshold (0.9) can
        differ from the float64 table's for a value within about 1e-7 of it.

    Returns
    -------
    DataFrame
        ``case_id``, ``as_of``, then every feature in :data:`riskscore.FEATURES`
        order as float64 (NaN = unknown), or float32 with ``dtype="float32"``.

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
    recent_window = _check_recent_window(recent_window)
    # on a VM that hands free memory to its host, a large table faults in faster on
    # 4 KB pages
    table_bytes = len(as_of) * len(FEATURES) * _output_dtype(dtype).itemsize
    with small_pages(table_bytes):
        events = _view(events, agency)
        job = _Job(events, as_of, recent_window, n_jobs, dtype)
        # one float block, filled in place: no per-column copies of a large table;
        # a large one reuses the memory of the last table freed (riskscore._memory)
        values = new_table(len(job.t), len(FEATURES), job.dtype)
        job.run(values)
        out = job.frame(values, slice(None))
    if coverage is not None:
        out = apply_coverage(out, coverage, agency=agency)
        if job.dtype != np.float64:
            out = out.astype(dict.fromkeys(FEATURES, job.dtype))
    # columns let past the identifying-data guard travel into the features' provenance
    return stamp_allowed(out, allowed_columns(events))


def release_memory() -> int:
    """Give back to the system the memory kept from a freed feature table.

    :func:`encode_features` keeps the memory of its last large output table (32 MB or
    more, at most a quarter of the memory the machine or container allows) once
    nothing uses the table any more, so that the next encoding of a similar size needs
    no fresh pages from the system: on the project machine a 1.2 GB table (200,000
    children, 36 monthly dates) otherwise costs 0.4-0.7 s of system time each time it
    is made. One table's memory at most is kept, and a new table that does not fit
    releases it first, so keeping never raises the peak. Call this when the process should shrink now, for
    example before other large work in a notebook. The environment variable
    ``RISKSCORE_MALLOC=keep`` turns keeping off (docs/performance.md, "Memory kept
    between encodings").

    Returns
    -------
    int
        Bytes given back (0 when nothing was kept).

    Examples
    --------
    >>> import riskscore
    >>> riskscore.release_memory() >= 0
    True
    """
    return release()


@validate_params(
    {
        "path": ["path"],
        "agency": ["agency", None],
        "recent_window": [WINDOW_DAYS],
        "n_jobs": ["n_jobs"],
        # "float64"/"float32" or the numpy types: _output_dtype checks which
        "dtype": [str, type, np.dtype],
    }
)
def write_features(
    events: pd.DataFrame,
    as_of: pd.DataFrame,
    path,
    agency: str | None = None,
    *,
    recent_window: int = 90,
    n_jobs: int | None = None,
    dtype: str = "float64",
):
    """Encode the feature catalogue block by block of cases straight into a Parquet file.

    The same features as :func:`encode_features`, for tables too large to hold in
    memory with their features: each block of cases (about a million events) is
    encoded and written as its own row group, so only a few blocks' features are
    ever in memory (a million children on a monthly grid over two years: under 4 GB
    with the events, against 7.5 GB for ``encode_features``).

    Rows are written grouped by case, in the events' case order, and in the order
    given within each case: for pairs sorted by case, as :func:`as_of_grid` makes
    them, that is the order given. Like ``encode_features`` output, the file is
    individual-level data that must stay in the secure environment.

    Parameters
    ----------
    events, as_of, agency, recent_window, n_jobs, dtype
        As for :func:`encode_features`.
    path : str or path-like
        The Parquet file to write (replaced if it exists). When the events were
        validated with ``allow=``, the file's metadata holds the reasons under
        ``riskscore_allowed`` (JSON).

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from riskscore import write_features
    >>> ev = pd.DataFrame({"case_id": ["c1"], "agency": ["police"],
    ...     "event": ["police_incident_home"], "date": pd.to_datetime(["2101-01-10"])})
    >>> q = pd.DataFrame({"case_id": ["c1"], "as_of": pd.to_datetime(["2101-02-01"])})
    >>> path = write_features(ev, q, tempfile.mkdtemp() + "/x.parquet")
    >>> pd.read_parquet(path)["police_incidents_home_12m"].tolist()
    [1.0]
    """

    import pyarrow as pa
    import pyarrow.parquet as pq

    if is_dask(events, as_of):
        raise SchemaError(
            "write_features takes pandas tables; for Dask tables write the lazy result "
            "of encode_features with to_parquet."
        )
    _require(as_of, ["case_id", "as_of"], "as_of")
    recent_window = _check_recent_window(recent_window)
    events = _view(events, agency)
    job = _Job(events, as_of, recent_window, n_jobs, dtype)
    path = output_file(path, "write_features")
    schema = pa.Schema.from_pandas(job.frame(np.empty((0, len(FEATURES)), job.dtype), []))
    schema = schema.remove_metadata()
    allowed = allowed_columns(events)
    if allowed:
        # columns let past the identifying-data guard, and why, travel with the file
        schema = schema.with_metadata({"riskscore_allowed": json.dumps(allowed)})
    # the system's refusals (no permission, a full disk) as a riskscore error
    with writing(path, "write_features"), pq.ParquetWriter(path, schema) as writer:

        def put(block, block_values) -> None:
            frame = job.frame(block_values, block.rows_q)
            if isinstance(frame["case_id"].dtype, pd.CategoricalDtype):
                # each row group's dictionary holds its own cases, not the cohort's
                frame["case_id"] = frame["case_id"].cat.remove_unused_categories()
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))

        job.run(put)
    return path


class _Block:
    """A block of cases: codes ``a <= code < b``, its event and query rows."""

    __slots__ = ("a", "b", "rows", "rows_q")

    def __init__(self, a, b, rows, rows_q):
        self.a, self.b, self.rows, self.rows_q = a, b, rows, rows_q


class _Job:
    """One encoding: the events' and queries' case codes, and blocks of cases.

    Blocks hold about equal numbers of events (at most ``_CHUNK_EVENTS``; with
    several threads at least ``_BLOCKS_PER_THREAD`` per thread) and every case lies
    whole in one block; every case's features depend on that case's events alone, so
    the result does not depend on the blocks.
    """

    def __init__(self, events, as_of, recent_window: int, n_jobs, dtype):
        self.jobs = resolve_n_jobs(n_jobs)
        self.dtype = _output_dtype(dtype)
        self.cols = _Columns.of(events)
        self.recent_window = recent_window
        self.t = to_days(as_of["as_of"], "as_of", "as_of")
        nat = self.t == NAT_DAY
        if nat.any():
            raise SchemaError(
                f"as_of: column 'as_of' is missing at rows {first_rows(nat)}. "
                "Fix: give every requested pair a date."
            )
        self.q_ids = as_of["case_id"].reset_index(drop=True)
        # (events come through ensure_events: a missing date was refused there)
        categories, self.codes = _case_codes(events)
        self.n_codes = len(categories)
        self.q_code = _query_codes(self.q_ids, categories)
        n_blocks = -(-len(events) // _CHUNK_EVENTS)
        if self.jobs > 1 and len(events) >= max(_PARALLEL_EVENTS, 1):
            n_blocks = max(n_blocks, _BLOCKS_PER_THREAD * self.jobs)
            n_blocks = -(-n_blocks // self.jobs) * self.jobs  # every thread an equal share
        self.blocks = self._plan(max(n_blocks, 1))

    def _plan(self, n_blocks: int) -> list[_Block]:
        codes, q_code, n_codes = self.codes, self.q_code, self.n_codes
        if n_blocks == 1:
            return [_Block(0, n_codes, slice(None), slice(None))]
        ev_order = None if _ascending(codes) else np.argsort(codes, kind="stable")
        ev_sorted = codes if ev_order is None else codes[ev_order]
        # about equal numbers of events per block; each block ends after the case of
        # its last row, so every case lies whole in one block
        size = max(-(-len(codes) // n_blocks), 1)
        ends = ev_sorted[np.arange(size - 1, len(codes) - 1, size)].astype(np.int64) + 1
        bounds = np.unique(np.r_[0, ends, n_codes])
        q_order = None if _ascending(q_code) else np.argsort(q_code, kind="stable")
        q_sorted = q_code if q_order is None else q_code[q_order]
        bounds = np.r_[bounds, n_codes + 1]  # and the queries of cases with no events
        q_at, ev_at = _places(q_sorted, bounds), _places(ev_sorted, bounds)
        blocks = []
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            qa, qb = q_at[i], q_at[i + 1]
            if qa < qb:
                ea, eb = ev_at[i], ev_at[i + 1]
                rows = slice(ea, eb) if ev_order is None else ev_order[ea:eb]
                rows_q = slice(qa, qb) if q_order is None else q_order[qa:qb]
                blocks.append(_Block(a, min(b, n_codes), rows, rows_q))
        return blocks

    def encode(self, block: _Block, values: np.ndarray | None = None) -> np.ndarray | None:
        """The block's features: into ``values`` (rows of all queries), else a new array."""
        if values is None:
            out = np.empty((len(self.t[block.rows_q]), len(FEATURES)), self.dtype, order="F")
            rows = slice(None)
        else:
            out, rows = values, block.rows_q
        # case codes relative to the block keep the packed keys narrow
        _encode_block(
            self.cols.take(block.rows),
            self.codes[block.rows].astype(np.int64) - block.a,
            self.q_code[block.rows_q].astype(np.int64) - block.a,
            block.b - block.a,
            self.t[block.rows_q],
            self.recent_window,
            out,
            rows,
        )
        return None if values is not None else out

    def run(self, target) -> None:
        """Encode every block on ``jobs`` threads.

        ``target`` is either the float table of all queries, which each block fills
        in place (only its own rows), or a function given each block and its features
        in block order; then at most two blocks per thread are encoded ahead of the
        one it waits for, so memory stays bounded whatever the number of blocks.
        """
        if isinstance(target, np.ndarray):
            values = target

            def put(block, _) -> None:
                return None

        else:
            values, put = None, target
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        from tqdm.auto import tqdm

        # shown only when the work lasts (a bar flashing by is noise)
        bar = tqdm(
            total=len(self.blocks),
            desc="encode",
            unit="block",
            delay=_BAR_DELAY,
            disable=len(self.blocks) < 2,
        )
        with bar:
            if self.jobs == 1 or len(self.blocks) == 1:
                for block in self.blocks:
                    put(block, self.encode(block, values))
                    bar.update()
                return
            if values is not None:
                self._share(values, bar)
                return
            # helper threads' arenas would fault their arrays in again (map_threads
            # settles this itself; this ordered pool is not map_threads)
            settle_malloc()
            with ThreadPoolExecutor(max_workers=min(self.jobs, len(self.blocks))) as pool:
                pending: deque = deque()
                todo = iter(self.blocks)
                for block in todo:
                    pending.append((block, pool.submit(self.encode, block, values)))
                    if len(pending) >= 2 * self.jobs:
                        break
                while pending:
                    block, future = pending.popleft()
                    put(block, future.result())
                    bar.update()
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending.append((nxt, pool.submit(self.encode, nxt, values)))

    def _share(self, values: np.ndarray, bar) -> None:
        """Blocks taken in turn by the calling thread and ``jobs - 1`` helpers.

        ``map_threads`` lets the calling thread work too: its allocations come from
        glibc's main malloc arena, which stays warm, while a helper's arena gives
        memory back to the system and faults it in again block after block (on the
        benchmark cohort two helpers took 1.4x as long as one helper and the caller).
        A failure stops the others after their current block and is raised here.
        """
        import threading

        lock = threading.Lock()

        def encode(block) -> None:
            self.encode(block, values)
            with lock:
                bar.update()

        map_threads(encode, self.blocks, min(self.jobs, len(self.blocks)))

    def frame(self, values: np.ndarray, rows) -> pd.DataFrame:
        """``case_id``, ``as_of`` and the features of the queries ``rows``."""
        out = pd.DataFrame(values, columns=list(FEATURES), copy=False)
        days = self.t[rows]
        # days since the epoch to datetime64[ns] in one pass
        out.insert(0, "as_of", (days * np.int64(86_400_000_000_000)).view("datetime64[ns]"))
        ids = (
            self.q_ids if isinstance(rows, slice) and rows == slice(None) else self.q_ids.iloc[rows]
        )
        out.insert(0, "case_id", ids.reset_index(drop=True))
        return out


def _places(sorted_codes: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """``searchsorted`` of the bounds, in the codes' own integer type when they fit
    (numpy would otherwise convert the whole array to the bounds' type first)."""
    info = np.iinfo(sorted_codes.dtype)
    if len(bounds) and bounds.min() >= info.min and bounds.max() <= info.max:
        bounds = bounds.astype(sorted_codes.dtype)
    return np.searchsorted(sorted_codes, bounds)


def _ascending(a: np.ndarray) -> bool:
    return bool((a[1:] >= a[:-1]).all())


def _check_recent_window(recent_window) -> int:
    if int(recent_window) < 1 or int(recent_window) >= _YEAR:
        raise ParameterError(f"recent_window must be between 1 and 364 days, got {recent_window}.")
    return int(recent_window)


def _view(events: pd.DataFrame, agency: str | None) -> pd.DataFrame:
    """The events one agency recorded (all of them for the joined view), once the data
    contract has been checked (a frame from read_events/validate_events: cheaply)."""
    events = ensure_events(events)
    if agency is None:
        return events
    if agency not in AGENCIES:
        raise SchemaError(f"agency={agency!r} is not an agency code; use one of {list(AGENCIES)}.")
    mine = (events["agency"] == agency).to_numpy()
    # the events of one agency already (as the audit passes them): no copy
    return events if mine.all() else events.loc[mine]


def _output_dtype(dtype) -> np.dtype:
    try:
        out = np.dtype(dtype)
    except TypeError:
        out = None
    if out not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ParameterError(f'dtype must be "float64" or "float32"; got {dtype!r}.')
    return out


#: Events per block of cases: extracts are encoded a block of cases at a time, which
#: bounds the working memory and keeps a block's arrays (about 2.3 points per event:
#: ~2 MB each) near a core's cache. On the benchmark cohort (benchmarks/peers.py)
#: 100,000-125,000 was fastest on one core and on two; 500,000 took 1.6x as long.
_CHUNK_EVENTS = 100_000
#: Seconds an encoding runs before its progress bar appears.
_BAR_DELAY = 1.0
#: Fewer events than this are encoded in one block on the calling thread: starting
#: threads would cost more than they save.
_PARALLEL_EVENTS = 50_000
#: Blocks per thread when encoding in parallel, so that a thread slowed by other
#: work on a shared machine does not hold up the others at the end.
_BLOCKS_PER_THREAD = 2


#: Query ids are read run by run when there are at least this many rows and they
#: come in runs (a grid lists each case's dates together).
_RUNS_FROM = 100_000
#: Rows looked at first to decide whether the ids come in runs at all.
_RUNS_PROBE = 4096


def _runs(ids: pd.Series) -> np.ndarray | None:
    """Where each run of equal ids starts, when ids come in runs of two or more on
    average; else None (then reading them run by run would not pay)."""
    n = len(ids)
    if n < _RUNS_FROM or isinstance(ids.dtype, pd.CategoricalDtype):
        return None
    try:
        probe = ids.iloc[:_RUNS_PROBE]
        if probe.ne(probe.shift()).sum() > len(probe) // 2:
            return None
        # a missing id never equals its neighbour: it starts a run of its own
        change = ids.ne(ids.shift()).to_numpy(dtype=bool, na_value=True)
    except (TypeError, ValueError):  # ids that cannot be compared: read them one by one
        return None
    starts = np.flatnonzero(change)
    if not len(starts) or starts[0] != 0:  # the first row starts a run whatever it holds
        starts = np.concatenate([[0], starts])
    return starts if len(starts) <= n // 2 else None


def _query_codes(q_ids: pd.Series, categories: pd.Index) -> np.ndarray:
    """Each query's case code among the events' cases; ``len(categories)`` for no events."""
    # a grid of 7.2M rows holds 200,000 ids in runs of 36: factorising the runs'
    # first ids and repeating their codes takes a third of the time of all rows
    starts = _runs(q_ids)
    if starts is None:
        code, missing = _id_codes(q_ids, categories)
    else:
        lengths = np.diff(starts, append=len(q_ids))
        code, missing = _id_codes(q_ids.iloc[starts], categories)
        code, missing = np.repeat(code, lengths), np.repeat(missing, lengths)
    if missing.any():
        # it would silently get the zero counts of a child with no events
        raise SchemaError(
            f"as_of: column 'case_id' is missing at rows {first_rows(missing)}. "
            "Fix: give every requested pair its child's case_id."
        )
    return code


def _id_codes(q_ids: pd.Series, categories: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """The codes of ``q_ids`` (:func:`_query_codes`) and where an id is missing."""
    q_cat = pd.Categorical(q_ids)
    missing = q_cat.codes < 0  # no id: a pair about no child
    wide = np.int32 if len(categories) < 2**31 - 1 else np.int64
    if q_cat.categories.equals(categories):
        # a grid made from these events: the codes are the events' codes (no gather
        # through narrow codes, which numpy would widen to a temporary index first)
        return q_cat.codes.astype(wide), missing
    q_map = categories.get_indexer(q_cat.categories).astype(np.int64)
    miss = np.flatnonzero(q_map < 0)
    if len(miss):
        # event ids are text with white space normalised (the contract's form): a
        # query id 7 or " 7" asks about the case "7"; no query silently misses its
        # events. Only these ids can be blank (an event's id never is).
        keys = normalise_ids(pd.Series(q_cat.categories[miss])).to_numpy(dtype=object)
        q_map[miss] = categories.get_indexer(keys)
        blank = miss[keys == ""]
        if len(blank):
            missing |= np.isin(q_cat.codes, blank)
    if missing.any():  # refused by the caller (a missing id's code -1 indexes nothing)
        return np.zeros(len(missing), dtype=wide), missing
    q_code = q_map.astype(wide)[q_cat.codes]
    q_code[q_code < 0] = len(categories)  # no events: sorts after every case with events
    return q_code, missing


def _encode_block(events, ev_case, q_case, n_codes, t, recent_window: int, values, rows) -> None:
    """Encode the features of the (case, T) pairs into ``values[rows]``.

    ``ev_case`` and ``q_case`` are the case codes (0 .. n_codes - 1) of the events
    and of the queries; a query whose case has no events has code ``n_codes``.
    """
    ev = _prepare_events(events, ev_case)

    span = [d for d in (ev.day, ev.day + _YEAR, ev.avail, t) if len(d)]
    lo = int(min(d.min() for d in span)) - 1 if span else 0
    hi = int(max(d.max() for d in span)) + 1 if span else 1
    packer = _Packer(n_codes, lo, hi)
    q = packer.pack(q_case, t)

    adm, rev, paternal = ev.rows_of(("asthma_admission",), ("asthma_plan_review",), _PATERNAL)
    followup = _admissions_without_followup(ev, packer, adm, rev)
    points = _Points(ev, packer, recent_window, followup)
    pos = points.locate(q)
    counts = points.counts(pos)
    n_recent, n_year = counts["attendance", recent_window], counts["attendance", _YEAR]
    s_recent, s_year = points.attendance_sums(pos)
    # counts in their lanes are unsigned: widen before subtracting
    n_recent, n_year = n_recent.astype(np.int64), n_year.astype(np.int64)

    recent = _round_mean(s_recent, n_recent)
    older = _round_mean(s_year - s_recent, n_year - n_recent)
    unknown = np.isnan(recent)
    admissions = counts["admission", _YEAR]
    ed = counts["ed", _YEAR]
    # counts, conditions and values; writing them into the float table converts them
    cols = {
        "parental_substance_use_12m": counts["substance", _YEAR] > 0,
        "attendance_recent": recent,
        "attendance_drop": np.round(older - recent, _MEAN_DECIMALS),
        "persistent_absence": _flag(recent <= _PERSISTENT_LINE, unknown),
        "severe_absence": _flag(recent <= _SEVERE_LINE, unknown),
        "school_concerns_12m": counts["school", _YEAR],
        "asthma_admissions_12m": admissions,
        "asthma_ed_visits_12m": ed,
        "asthma_admission_28d": counts["admission", _ADMISSION_RECENT] > 0,
        "no_asthma_plan_12m": ((admissions > 0) | (ed > 0)) & (counts["plan", _YEAR] == 0),
        "reliever_overuse_12m": counts["reliever", _YEAR] > _RELIEVER_OVERUSE,
        "missed_appointments_12m": counts["missed", _YEAR],
        "paternal_involvement_lost": _paternal_lost(ev, packer, paternal, q, q_case),
        "siblings_removed": counts["sibling", None],
        "police_incidents_home_12m": counts["police", _YEAR],
        "hardship_12m": counts["hardship", _YEAR] > 0,
        "competing_care_12m": counts["competing", _YEAR] > 0,
        "child_voice_concerns_12m": counts["voice", _YEAR],
        "asthma_admissions_no_followup_12m": counts["no_followup"],
        "preventer_underuse_12m": (counts["reliever", _YEAR] > 0)
        & (counts["preventer", _YEAR] < _PREVENTER_UNDERUSE),
        "cp_plans_ever": counts["cp_plan", None],
    }
    for j, name in enumerate(FEATURES):
        values[rows, j] = cols[name]


# --------------------------------------------------------------------------- grids


@validate_params({"grid": ["grid"], "start": ["date", None], "end": ["date", None]})
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
    if start is not None and end is not None and pd.Timestamp(start) > pd.Timestamp(end):
        raise ParameterError(
            f"as_of_grid: start {pd.Timestamp(start).date()} is after end "
            f"{pd.Timestamp(end).date()}; no date can lie between them."
        )
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


#: Low bits of a change-date key that hold the agency (``change_dates(by_agency=True)``);
#: the day then has 32 - 4 = 28 bits, over 700,000 years from the earliest date.
_AGENCY_BITS = 4


@validate_params({"recent_window": [WINDOW_DAYS], "by_agency": ["boolean"]})
def change_dates(
    events: pd.DataFrame, *, recent_window: int = 90, by_agency: bool = False
) -> pd.DataFrame:
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
    by_agency : bool, default=False
        Also say which agency's events make each date a change date: one row per
        case, date and agency (an ``agency`` column). The rows of one agency are the
        change dates of that agency's view (``change_dates`` of its events alone);
        the distinct (case, date) pairs over all agencies are the joined change dates.

    Returns
    -------
    DataFrame
        Unique ``case_id``, ``as_of`` pairs (with ``by_agency``, unique ``case_id``,
        ``as_of``, ``agency`` triples), sorted.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"case_id": ["c1"], "agency": ["hospital"],
    ...     "event": ["asthma_admission"], "date": pd.to_datetime(["2101-01-01"])})
    >>> change_dates(ev)["as_of"].dt.strftime("%Y-%m-%d").tolist()
    ['2101-01-01', '2101-01-29', '2102-01-01']
    >>> change_dates(ev, by_agency=True)["agency"].tolist()
    ['hospital', 'hospital', 'hospital']
    """
    key, base, bits, cats = change_keys(events, recent_window, by_agency)
    out = {
        "case_id": pd.Categorical.from_codes(key >> 32, categories=cats)
        if isinstance(events["case_id"].dtype, pd.CategoricalDtype)
        else np.asarray(cats, dtype=object)[key >> 32],
        "as_of": (((key & 0xFFFFFFFF) >> bits) + base)
        .astype("datetime64[D]")
        .astype("datetime64[ns]"),
    }
    if by_agency:
        out["agency"] = pd.Categorical.from_codes(key & (2**bits - 1), categories=list(AGENCIES))
    return pd.DataFrame(out)


def change_keys(events: pd.DataFrame, recent_window: int, by_agency: bool):
    """The change dates of :func:`change_dates` as sorted distinct integer keys.

    Returns ``(key, base, bits, categories)``: ``key >> 32`` is the code of the case
    among ``categories``, ``(key & 0xFFFFFFFF) >> bits`` the day minus ``base`` and,
    with ``by_agency``, ``key & (2**bits - 1)`` the agency's position in
    ``AGENCIES``. The cohort audit reads these arrays without building a table.
    """
    events = ensure_events(events)
    windows = _event_windows(recent_window)
    ev_cat = pd.Categorical(events["event"])
    names = [str(n) for n in ev_cat.categories]
    ev_code = ev_cat.codes
    # responses and events outside the catalogue never change a feature: masked
    # here, not filtered out of the table (a copy of every column)
    counted = np.array([n in windows for n in names] + [False])  # [-1]: a missing event
    day = to_days(events["date"], "date", "events")
    avail = day.copy()
    if "recorded_date" in events.columns:
        rec = to_days(events["recorded_date"], "recorded_date", "events")
        has = rec != np.iinfo(np.int64).min
        avail[has] = np.maximum(rec[has], day[has])
    ids = pd.Categorical(events["case_id"])
    codes = ids.codes.astype(np.int64)
    sel = np.flatnonzero(counted[ev_code] & (codes >= 0) & (day != np.iinfo(np.int64).min))
    ev_code, day, avail = ev_code[sel], day[sel], avail[sel]
    # with by_agency each key carries the agency in its low bits (validated events
    # have it as a Categorical over the vocabulary's agencies)
    bits = _AGENCY_BITS if by_agency else 0
    high = codes[sel] << 32  # the case's part of each event's keys (and its agency's)
    if by_agency:
        agency = pd.Categorical(events["agency"], categories=list(AGENCIES)).codes
        high |= agency[sel].astype(np.int64)
    # every day a key holds is at or after the event's availability
    base = int(avail.min()) if len(avail) else 0
    spans = sorted({w for ws in windows.values() for w in ws})
    # which events leave a window of w days: one table lookup per event
    leaving = [
        np.flatnonzero(np.array([w in windows.get(n, ()) for n in names] + [False])[ev_code])
        for w in spans
    ]
    key = np.empty(len(sel) + sum(len(i) for i in leaving), dtype=np.int64)
    key[: len(sel)] = high | ((avail - base) << bits)
    at = len(sel)
    for w, i in zip(spans, leaving, strict=True):
        leave = np.maximum(avail[i], day[i] + w)
        # an exit after the last day a date can be is never an as-of date (it would
        # wrap round to 1677 as a date)
        kept = leave <= LAST_DAY
        i, leave = i[kept], leave[kept]
        key[at : at + len(i)] = high[i] | ((leave - base) << bits)
        at += len(i)
    return sorted_unique(key[:at]), base, bits, ids.categories


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

    @validate_attributes({"agency": ["agency", None], "recent_window": [WINDOW_DAYS]})
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
        check_fitted(self, "feature_names_out_")
        out = encode_features(self.events, X, agency=self.agency, recent_window=self.recent_window)
        out = out[list(self.feature_names_out_)]
        if isinstance(X, pd.DataFrame):
            out.index = X.index
        return out

    def get_feature_names_out(self, input_features=None):
        check_fitted(self, "feature_names_out_")
        return self.feature_names_out_
