"""Dates: the one date parser, int64 days as the engine holds them, and grid steps.

:func:`parse_dates` is the only place riskscore reads dates from text. The schema
(``validate_events``, ``validate_cases``, ``read_events``, ``read_cases``), every
source adapter, the feature encoder, training and the audit all read dates through
it, so a date means the same thing at every door:

* ISO ``YYYY-MM-DD`` (optionally with a time) always reads, whatever the options say;
* ``format=`` (a ``strptime`` format) reads the values written in it; values in
  neither that format nor ISO are unreadable;
* ``dayfirst=True`` reads ``DD/MM/YYYY`` (also with ``-``, ``.`` or spaces, month
  names, and a time), ``dayfirst=False`` reads ``MM/DD/YYYY`` the same way;
* with neither, a non-ISO date that could be read is *ambiguous* and refused, never
  guessed: UK extracts write the day first and guessing swaps days and months;
* ``format=`` and ``dayfirst=`` together are refused (say one thing once);
* two-digit years are never read (the century would be a guess).

Shared by the schema, the sources, the feature encoder, the audit engine and the Dask
path (public names in a private module: no module reaches into another's privates).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Hashable
from typing import NamedTuple

import numpy as np
import pandas as pd

from riskscore.errors import ParameterError, SchemaError

__all__ = [
    "DEFAULT_GRID",
    "NAT_DAY",
    "DATE_OK",
    "DATE_EMPTY",
    "DATE_AMBIGUOUS",
    "DATE_UNPARSEABLE",
    "DATE_OUT_OF_RANGE",
    "DATE_RANGE",
    "FIRST_DAY",
    "LAST_DAY",
    "ParsedDates",
    "parse_dates",
    "datetime_days",
    "guessed_text",
    "check_date_options",
    "distinct_text",
    "to_days",
    "days_to_ns",
    "step_days",
]

#: The one default step of every as-of grid (audit trajectories, training sets,
#: ``as_of_grid``): every 14 days from a case's first event. Audit crossings are exact
#: to the day whatever the grid; a coarser grid (``"90D"``) makes smaller training sets.
DEFAULT_GRID = "14D"

#: The int64 day that stands for a missing date (NaT).
NAT_DAY = np.iinfo(np.int64).min

#: Kinds of a parsed value (one int8 per row in :attr:`ParsedDates.kind`).
DATE_OK, DATE_EMPTY, DATE_AMBIGUOUS, DATE_UNPARSEABLE, DATE_OUT_OF_RANGE = range(5)

ISO_RE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
# Explicit formats tried for non-ISO dates once the caller has said which comes
# first. Two-digit years are left out on purpose: they make the century a guess.
DAYFIRST_FORMATS = (
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %m %Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%Y/%m/%d",
)
MONTHFIRST_FORMATS = (
    "%m/%d/%Y",
    "%m-%d-%Y",
    "%m.%d.%Y",
    "%m %d %Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%b %d %Y",
    "%B %d %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%Y/%m/%d",
)
# pandas holds datetime64[ns] from 1677-09-21 00:12:43 to 2262-04-11 23:47:16: the
# days it holds whole (from midnight) are 1677-09-22 to 2262-04-11
_NS_MIN = np.datetime64(pd.Timestamp.min.ceil("D").to_datetime64(), "us")
_NS_MAX = np.datetime64(pd.Timestamp.max.to_datetime64(), "us")
#: The first and last days a date may be (int64 days since 1970-01-01).
FIRST_DAY = int(_NS_MIN.astype("datetime64[D]").astype(np.int64))
LAST_DAY = int(_NS_MAX.astype("datetime64[D]").astype(np.int64))
#: The range of dates riskscore holds, as messages write it.
DATE_RANGE = "1677-09-22 to 2262-04-11"
_NAT_US = np.datetime64("NaT", "us")


class ParsedDates(NamedTuple):
    """Dates read by :func:`parse_dates`, one entry per input row.

    Attributes
    ----------
    values : numpy.ndarray of datetime64[ns]
        The dates (NaT wherever ``kind`` is not ``DATE_OK``); a time of day is kept.
    kind : numpy.ndarray of int8
        ``DATE_OK``, ``DATE_EMPTY``, ``DATE_AMBIGUOUS`` (not ISO and no option said
        how to read it), ``DATE_UNPARSEABLE`` or ``DATE_OUT_OF_RANGE`` (outside
        1677-09-22 to 2262-04-11, the days pandas holds as datetime64[ns]; usually a
        placeholder such as 9999-12-31).
    """

    values: np.ndarray
    kind: np.ndarray

    @property
    def timed(self) -> np.ndarray:
        """Rows whose date carries a time of day."""
        # by integer ticks: numpy's ns -> day cast wraps before 1677-09-23
        ticks = self.values.astype("datetime64[ns]").view(np.int64)
        return (self.kind == DATE_OK) & (ticks % _TICKS_PER_DAY["ns"] != 0)


def check_date_options(dayfirst, format) -> None:
    """Refuse ``dayfirst=`` and ``format=`` together, or of the wrong type."""
    if dayfirst is not None and not isinstance(dayfirst, (bool, np.bool_)):
        raise ParameterError(f"dayfirst must be True, False or None, got {dayfirst!r}.")
    if format is not None and not isinstance(format, str):
        raise ParameterError(
            f"format must be a strptime format such as '%d/%m/%Y', got {format!r}."
        )
    if format is not None:
        _check_format(format)
    if dayfirst is not None and format is not None:
        raise ParameterError(
            f"give dayfirst= or format=, not both (got dayfirst={dayfirst!r}, "
            f"format={format!r}): format= already says where the day is."
        )


def _check_format(fmt: str) -> None:
    """Refuse a ``format=`` strptime cannot use, or that leaves the date to a guess."""
    try:
        pd.to_datetime(pd.Series(["2101-01-02"]), format=fmt, errors="coerce")
    except ValueError as exc:
        raise ParameterError(
            f"format={fmt!r} is not a strptime format ({exc}); write one such as '%d/%m/%Y'."
        ) from None
    if "%Y" not in fmt:
        # %y guesses the century ("01" is 2001) and a format without a year reads 1900
        raise ParameterError(
            f"format={fmt!r} has no four-digit year (%Y); two-digit years (%y) are never "
            "read, because the century would be a guess. Write dates with four-digit years."
        )
    if "%j" not in fmt and not ("%d" in fmt and any(m in fmt for m in ("%m", "%b", "%B"))):
        raise ParameterError(
            f"format={fmt!r} does not give the day and month (%d with %m, %b or %B, or %j); "
            "a date without them would be read as the first of the month or year."
        )


def distinct_text(values) -> tuple[np.ndarray, pd.Series]:
    """Codes per row (-1 missing) and the distinct values as stripped text.

    A list, dict or array in a cell is its printed text (which no rule reads as a
    date, code or number, so it is reported where it is), never a TypeError.
    """
    try:
        codes, uniques = pd.factorize(values)
    except TypeError:  # unhashable cells
        cells = np.asarray(values, dtype=object).copy()
        for i, v in enumerate(cells):
            if not isinstance(v, Hashable):
                cells[i] = str(v)
        codes, uniques = pd.factorize(cells)
    u = np.asarray(uniques, dtype=object)
    if len(u) and pd.api.types.infer_dtype(uniques, skipna=True) in ("datetime", "mixed"):
        # a time-zone-aware datetime among text is its local wall time, as a
        # tz-aware datetime64 column is (its offset would make the text unreadable)
        aware = [i for i, v in enumerate(u) if isinstance(v, datetime.datetime) and v.tzinfo]
        if aware:
            u = u.copy()
            for i in aware:
                u[i] = u[i].replace(tzinfo=None)
    if len(u) and pd.api.types.is_float_dtype(np.asarray(uniques).dtype):
        # numbers read as floats: 20210105.0 is the text "20210105"
        f = np.asarray(uniques, dtype=np.float64)
        # (a fraction, an infinity or a number past int64 stays as numpy writes it,
        # which no date rule reads: it is reported, never cast and crashed on)
        whole = np.isfinite(f) & (np.floor(f) == f) & (np.abs(f) < 2.0**62)
        u = f.astype(str).astype(object)
        u[whole] = f[whole].astype(np.int64).astype(str)
    text = pd.Series(u, dtype=object).astype("str").str.strip()
    return np.asarray(codes, dtype=np.int64), text


def _wall_time(text: str, fmt: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(text, fmt).replace(tzinfo=None)
    except ValueError:
        return None


def _parse_format(text: pd.Series, fmt: str) -> np.ndarray:
    """``text`` read in ``fmt``; a value with a UTC offset (%z) keeps its own wall time."""
    try:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    except ValueError:  # offsets that differ between values: read one by one
        parsed = pd.to_datetime(pd.Series([_wall_time(t, fmt) for t in text], dtype=object))
    if getattr(parsed.dtype, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)  # converted to UTC the day could change
    return parsed.to_numpy(dtype="datetime64[us]")


def _parse_formats(text: pd.Series, formats) -> np.ndarray:
    out = np.full(len(text), _NAT_US, dtype="datetime64[us]")
    for fmt in formats:
        todo = np.isnat(out)
        if not todo.any():
            break
        out[todo] = _parse_format(text[todo], fmt)
    return out


def _parse_distinct(text: pd.Series, dayfirst, fmt) -> tuple[np.ndarray, np.ndarray]:
    """Parse distinct date strings; return datetime64[us] values and a kind per value."""
    n = len(text)
    out = np.full(n, _NAT_US, dtype="datetime64[us]")
    kind = np.full(n, DATE_OK, dtype=np.int8)
    empty = (text == "").to_numpy(dtype=bool)
    kind[empty] = DATE_EMPTY
    if fmt is not None and (~empty).any():
        # the caller's format first: it wins over ISO where both could read a value
        out[~empty] = _parse_formats(text[~empty], [fmt])
    iso = text.str.fullmatch(ISO_RE).to_numpy(dtype=bool)
    todo = iso & np.isnat(out)
    if todo.any():
        out[todo] = pd.to_datetime(text[todo], format="ISO8601", errors="coerce").to_numpy(
            dtype="datetime64[us]"
        )
    rest = ~empty & np.isnat(out) & ~iso
    if rest.any() and fmt is None:
        if dayfirst is not None:
            formats = DAYFIRST_FORMATS if dayfirst else MONTHFIRST_FORMATS
            out[rest] = _parse_formats(text[rest], formats)
        else:
            # Date-like but not ISO: refuse to guess; text that no format reads is
            # reported as unparseable instead.
            readable = ~np.isnat(_parse_formats(text[rest], DAYFIRST_FORMATS)) | ~np.isnat(
                _parse_formats(text[rest], MONTHFIRST_FORMATS)
            )
            kind[np.flatnonzero(rest)[readable]] = DATE_AMBIGUOUS
    kind[(kind == DATE_OK) & np.isnat(out)] = DATE_UNPARSEABLE
    out_of_range = ~np.isnat(out) & ((out < _NS_MIN) | (out > _NS_MAX))
    kind[out_of_range] = DATE_OUT_OF_RANGE
    out[kind != DATE_OK] = _NAT_US
    return out, kind


def parse_dates(values, *, dayfirst: bool | None = None, format: str | None = None) -> ParsedDates:
    """Read dates by the one rule riskscore has (see the module notes).

    Datetime input is taken as it is (time zones dropped). Text is parsed once per
    distinct value (vectorised), after stripping surrounding white space; empty text
    and missing values are ``DATE_EMPTY``.

    Parameters
    ----------
    values : array-like or pandas.Series
        Dates as text, datetimes, or a mixture.
    dayfirst : bool, optional
        True reads ``DD/MM/YYYY``, False ``MM/DD/YYYY``; None reads ISO only.
    format : str, optional
        A ``strptime`` format for the non-ISO values.

    Returns
    -------
    ParsedDates
        ``values`` (datetime64[ns], NaT where not read) and ``kind`` per row.

    Raises
    ------
    ParameterError
        If both ``dayfirst`` and ``format`` are given.

    Examples
    --------
    >>> p = parse_dates(["2102-01-05", "05/01/2102", ""])
    >>> p.kind.tolist() == [DATE_OK, DATE_AMBIGUOUS, DATE_EMPTY]
    True
    >>> str(parse_dates(["05/01/2102"], dayfirst=True).values[0])[:10]
    '2102-01-05'
    """
    check_date_options(dayfirst, format)
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dtype, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        v = s.to_numpy(dtype="datetime64[us]")
        kind = np.where(np.isnat(v), DATE_EMPTY, DATE_OK).astype(np.int8)
        kind[~np.isnat(v) & ((v < _NS_MIN) | (v > _NS_MAX))] = DATE_OUT_OF_RANGE
        v = np.where(kind == DATE_OK, v, _NAT_US)
        return ParsedDates(v.astype("datetime64[ns]"), kind)
    codes, text = distinct_text(s)
    uvalues, ukind = _parse_distinct(text, dayfirst, format)
    has = codes >= 0
    safe = np.maximum(codes, 0)
    if len(uvalues):
        v = np.where(has, uvalues[safe], _NAT_US)
        kind = np.where(has, ukind[safe], DATE_EMPTY).astype(np.int8)
    else:
        v = np.full(len(codes), _NAT_US, dtype="datetime64[us]")
        kind = np.full(len(codes), DATE_EMPTY, dtype=np.int8)
    return ParsedDates(v.astype("datetime64[us]").astype("datetime64[ns]"), kind)


def _rows_text(rows: np.ndarray) -> str:
    more = f" and {len(rows) - 10:,} more" if len(rows) > 10 else ""
    return f"{rows[:10].tolist()}{more}"


def _far_days(days: np.ndarray) -> np.ndarray:
    """Rows of ``days`` outside FIRST_DAY..LAST_DAY (missing ones aside)."""
    # two reductions settle the usual case: the row-by-row test is four passes more
    # over the table (22 ms of 31 for 7.2M as-of dates, on one core)
    if not len(days) or (days.min() >= FIRST_DAY and days.max() <= LAST_DAY):
        return np.empty(0, dtype=np.intp)
    return np.flatnonzero((days != NAT_DAY) & ((days < FIRST_DAY) | (days > LAST_DAY)))


def to_days(values, column: str, table: str) -> np.ndarray:
    """Dates as int64 days since 1970-01-01 (missing -> ``NAT_DAY``).

    Datetime values are taken as they are (time zones dropped, times floored to the
    day); text is read by :func:`parse_dates` with no options, so only ISO
    ``YYYY-MM-DD`` reads: anything else is refused with a message naming the column
    and rows (never the values), because guessing would swap days and months. Days
    outside :data:`DATE_RANGE` (which pandas cannot hold as ``datetime64[ns]``, so
    that they would come back as other dates) are refused the same way.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dtype, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        days = datetime_days(s.to_numpy())
        far = _far_days(days)
    else:
        parsed = parse_dates(s)
        bad = (parsed.kind != DATE_OK) & (parsed.kind != DATE_EMPTY)
        far = np.flatnonzero(parsed.kind == DATE_OUT_OF_RANGE)
        if len(far) < bad.sum():
            raise SchemaError(
                f"{table}.{column}: values at rows {_rows_text(np.flatnonzero(bad))} are not "
                "ISO YYYY-MM-DD dates. Fix: write dates as ISO YYYY-MM-DD, or read the table "
                "with riskscore.read_events / validate_events and dayfirst= or format=."
            )
        # integer days: numpy's ns -> day cast wraps before 1677-09-23
        days = datetime_days(parsed.values)
    if len(far):
        raise SchemaError(
            f"{table}.{column}: dates at rows {_rows_text(far)} fall outside {DATE_RANGE}, "
            "the days pandas can hold (often a placeholder such as 9999-12-31). Fix: leave "
            "a date that is not known empty instead of writing a placeholder."
        )
    return days


#: Ticks per day of the datetime64 units a column may have.
_TICKS_PER_DAY = {"D": 1, "s": 86_400, "ms": 86_400_000, "us": 86_400_000_000,
                  "ns": 86_400_000_000_000}  # fmt: skip


def datetime_days(values: np.ndarray) -> np.ndarray:
    """datetime64 values as int64 days since the epoch, floored; NaT -> ``NAT_DAY``.

    A floor division by the unit's ticks per day (numpy divides by a constant
    several times faster than it casts to ``datetime64[D]``, with the same result);
    other units are cast.
    """
    unit, count = np.datetime_data(values.dtype)
    ticks = _TICKS_PER_DAY.get(unit)
    if ticks is None or count != 1:
        return values.astype("datetime64[D]").view(np.int64)
    ticks_ = values.view(np.int64)
    days = ticks_ // ticks if ticks > 1 else ticks_.copy()
    days[ticks_ == NAT_DAY] = NAT_DAY  # NaT is the smallest int64 in every unit
    return days


def days_to_ns(days: np.ndarray) -> np.ndarray:
    """int64 days back to ``datetime64[ns]``."""
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[ns]")


def guessed_text(value: object) -> bool:
    """Whether ``value`` is text that is not an ISO date: a reader would have to guess it.

    ``"03/02/2102"`` read by pandas is 2 March; a date option given as text must be ISO
    (surrounding spaces aside), as a date column's text must.
    """
    return isinstance(value, str) and re.fullmatch(ISO_RE, value.strip()) is None


def step_days(grid) -> int:
    """A grid step (``14``, ``"14D"``, a Timedelta) as a whole number of days (at least 1)."""
    days = (
        re.fullmatch(r"\s*(\d+)\s*(?:d|days?)\s*", grid, re.IGNORECASE)
        if isinstance(grid, str)
        else None
    )
    if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
        step = int(grid)
    elif days is not None:
        # read here, not by pd.Timedelta, which holds only about 106,751 days
        step = int(days.group(1))
    else:
        try:
            delta = pd.Timedelta(grid)
        except (ValueError, TypeError):
            raise ParameterError(
                f"grid={grid!r} is not a number of days; give a step like '14D', '90D' or 30."
            ) from None
        if pd.isna(delta) or delta != pd.Timedelta(days=delta.days):
            # "1.5D" or "36h" would be cut to whole days without a word
            raise ParameterError(
                f"grid={grid!r} is not a whole number of days; give a step like '14D', '90D' or 30."
            )
        step = int(delta.days)
    if step < 1:
        raise ParameterError(f"grid must be at least one day, got {grid!r}.")
    if step > LAST_DAY - FIRST_DAY:  # a longer step overflows the day arithmetic
        raise ParameterError(
            f"grid={grid!r} is longer than the dates riskscore holds ({DATE_RANGE}); give a "
            f"step of at most {LAST_DAY - FIRST_DAY:,} days, such as '14D' or '90D'."
        )
    return step
