"""The data contract: validate events and cases tables, and read them from disk.

Validation is lazy, like pandera's: every check runs and every problem is collected
into one :class:`ValidationReport` (column, first offending row numbers, what is
wrong, how to fix it), so an analyst can fix an extract in one pass. Rows that fail
are *quarantined* (returned with their original values and a ``problems`` column),
never dropped silently; the strict path raises :class:`~riskscore.SchemaError`.

Identifying data is different: it is always refused with
:class:`~riskscore.IdentifyingDataError` (see :mod:`riskscore.privacy`), never
quarantined, because keeping the other rows would still keep the identifying column.

Checks are vectorised: codes are compared on their distinct values
(``pandas.factorize``), dates are parsed once per distinct value, and row numbers come
from boolean masks, so a 50-million-row extract costs a few passes over its columns.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore._dispatch import backend
from riskscore.errors import (
    DataQualityWarning,
    IdentifyingDataError,
    MissingFileError,
    ParameterError,
    SchemaError,
)
from riskscore.privacy import check_allow, check_identifying, id_text, identifying_message
from riskscore.vocabulary import AGENCIES, CASE_COLUMNS, EVENT_COLUMNS, EVENTS, VALUED_EVENTS

__all__ = [
    "ValidationReport",
    "validate_events",
    "validate_cases",
    "read_events",
    "read_cases",
    "PROBLEM_COLUMNS",
]

#: Columns of :attr:`ValidationReport.problems`.
PROBLEM_COLUMNS = ("table", "column", "check", "rows", "n_rows", "message", "fix")

_EVENT_CODES = tuple(EVENTS)
_ISO_RE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
# Explicit formats tried for non-ISO dates once the caller has said which comes
# first. Two-digit years are left out on purpose: they make the century a guess.
_DAYFIRST_FORMATS = (
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
_MONTHFIRST_FORMATS = (
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
_NS_MIN = np.datetime64(pd.Timestamp.min.ceil("D").to_datetime64(), "us")
_NS_MAX = np.datetime64(pd.Timestamp.max.floor("D").to_datetime64(), "us")

# Kinds of a date value, per distinct value.
_OK, _EMPTY, _AMBIGUOUS, _UNPARSEABLE, _OUT_OF_RANGE = range(5)

_AMBIGUOUS_FIX = (
    "UK extracts write the day first and guessing silently swaps days and months "
    "(03/04/2101 is 3 April in the UK and March 4 in the US). Write dates as ISO "
    "YYYY-MM-DD, or say how to read them: dayfirst=True for DD/MM/YYYY, dayfirst=False "
    "for MM/DD/YYYY, or an explicit format such as format='%d/%m/%Y'"
)


# ----------------------------------------------------------------------------- report


class ValidationReport:
    """Every problem found in one table, with the rows that passed and those that failed.

    Parameters
    ----------
    problems : pandas.DataFrame or list of dict
        One row per problem with columns ``table``, ``column``, ``check``, ``rows``
        (list of the first up to 10 offending 0-based row numbers of the input),
        ``n_rows`` (how many rows are affected), ``message`` and ``fix``.
    valid : pandas.DataFrame
        The rows that passed, parsed and typed (input index kept).
    quarantine : pandas.DataFrame
        The rows that failed, with their original values and a ``problems`` text
        column naming each failed check (input index kept).
    allowed : dict of str to str, optional
        ``{column: reason}`` for columns the caller allowed past the
        identifying-data guard; keep it with every output's provenance.
    table : str, default="events"
        Which table was validated.

    Attributes
    ----------
    ok : bool
        True when there are no problems.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"case_id": ["c1", "c1"], "date": ["2101-01-05", "2101-02-30"],
    ...                    "agency": ["school", "school"], "event": ["school_concern"] * 2})
    >>> report = validate_events(df)
    >>> report.ok, len(report.valid), len(report.quarantine)
    (False, 1, 1)
    >>> report.problems["check"].tolist()
    ['unparseable_date']
    """

    def __init__(self, problems, valid, quarantine, allowed=None, table="events"):
        if isinstance(problems, pd.DataFrame):
            self.problems = problems.reset_index(drop=True)
        else:
            self.problems = pd.DataFrame(list(problems), columns=list(PROBLEM_COLUMNS))
        self.valid = valid
        self.quarantine = quarantine
        self.allowed = dict(allowed or {})
        self.table = table

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return len(self.problems) == 0

    def __str__(self) -> str:
        n_valid, n_bad = len(self.valid), len(self.quarantine)
        n = n_valid + n_bad
        if self.ok:
            head = f"{self.table}: no problems in {n:,} rows"
        else:
            head = (
                f"{self.table}: {len(self.problems)} problem(s) in {n:,} rows "
                f"({n_bad:,} quarantined, {n_valid:,} valid); row numbers are 0-based"
            )
        lines = [head]
        lines += [
            f"- {m}\n  fix: {f}"
            for m, f in zip(self.problems["message"], self.problems["fix"], strict=True)
        ]
        if self.allowed:
            lines.append(
                "allowed past the identifying-data guard: "
                + "; ".join(f"{c!r} ({r})" for c, r in self.allowed.items())
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<ValidationReport {self.table}: {len(self.problems)} problems, "
            f"{len(self.valid)} valid rows, {len(self.quarantine)} quarantined>"
        )

    def raise_if_problems(self) -> ValidationReport:
        """Raise :class:`~riskscore.SchemaError` listing every problem, if there are any.

        Returns
        -------
        ValidationReport
            ``self``, when there are no problems (so calls can be chained).

        Examples
        --------
        >>> import pandas as pd
        >>> validate_cases(pd.DataFrame({"case_id": ["c1"]})).raise_if_problems().ok
        True
        """
        if not self.ok:
            raise SchemaError(str(self), report=self)
        return self


class _Collector:
    """Gathers problems and the bad-row mask while checks run."""

    def __init__(self, table: str, n: int):
        self.table = table
        self.n = n
        self.problems: list[dict] = []
        self.bad = np.zeros(n, dtype=bool)
        self.row_labels: list[tuple[np.ndarray, str]] = []

    def add(self, column, check, mask, what, fix, *, always=False):
        rows = np.flatnonzero(mask) if mask is not None else np.empty(0, dtype=np.int64)
        if len(rows) == 0 and not always:
            return
        first = [int(r) for r in rows[:10]]
        where = ""
        if len(rows):
            more = f" and {len(rows) - 10:,} more" if len(rows) > 10 else ""
            where = f"; {'row' if len(rows) == 1 else 'rows'} {', '.join(map(str, first))}{more}"
        self.problems.append(
            {
                "table": self.table,
                "column": column,
                "check": check,
                "rows": first,
                "n_rows": len(rows),
                "message": f"{self.table}.{column}: {what}{where}",
                "fix": fix,
            }
        )
        if len(rows):
            self.bad[rows] = True
            self.row_labels.append((rows, f"{column}: {check}"))

    def add_other_table(self, table, column, check, rows, what, fix):
        """A problem in another table (it has no rows here to quarantine)."""
        first = [int(r) for r in rows[:10]]
        more = f" and {len(rows) - 10:,} more" if len(rows) > 10 else ""
        self.problems.append(
            {
                "table": table,
                "column": column,
                "check": check,
                "rows": first,
                "n_rows": len(rows),
                "message": f"{table}.{column}: {what}; rows {', '.join(map(str, first))}{more}",
                "fix": fix,
            }
        )

    def report(self, df, typed, allowed) -> ValidationReport:
        bad_rows = np.flatnonzero(self.bad)
        valid = typed.iloc[np.flatnonzero(~self.bad)] if len(bad_rows) else typed
        quarantine = df.iloc[bad_rows].copy()
        labels = np.full(len(bad_rows), "", dtype=object)
        for rows, label in self.row_labels:
            at = np.searchsorted(bad_rows, rows)
            labels[at] = np.where(labels[at] == "", label, labels[at] + "; " + label)
        quarantine["problems"] = pd.Series(labels, index=quarantine.index, dtype="str")
        if allowed:
            valid.attrs["riskscore_allowed"] = dict(allowed)
        return ValidationReport(self.problems, valid, quarantine, allowed, self.table)


# ----------------------------------------------------------------------------- helpers


def _examples(values, limit: int = 3) -> str:
    shown = []
    for v in list(dict.fromkeys(str(x) for x in values))[:limit]:
        shown.append(repr(v if len(v) <= 25 else v[:25] + "..."))
    return ", ".join(shown)


def _distinct(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes per row (-1 missing) and the distinct values as stripped text."""
    codes, uniques = pd.factorize(series)
    text = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    if len(text) and pd.api.types.is_float_dtype(np.asarray(uniques).dtype):
        text = id_text(pd.Series(np.asarray(uniques)))
    text = text.astype("str").str.strip()
    return codes, text


def _numeric(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numbers (float64), which rows hold a value, and which hold a non-number."""
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype(object)
    if pd.api.types.is_numeric_dtype(series.dtype):
        num = pd.to_numeric(series).to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(num)
        return num, present, np.zeros(len(num), dtype=bool)
    codes, text = _distinct(series)
    unum = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    uempty = (text == "").to_numpy(dtype=bool)
    has = codes >= 0
    safe = np.maximum(codes, 0)
    num = np.where(has, unum[safe] if len(unum) else np.nan, np.nan)
    present = has & ~(uempty[safe] if len(uempty) else np.ones(len(codes), dtype=bool))
    return num, present, present & np.isnan(num)


def _parse_formats(text: pd.Series, formats) -> np.ndarray:
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    for fmt in formats:
        todo = np.isnat(out)
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        out[todo] = parsed.to_numpy(dtype="datetime64[us]")
    return out


def _parse_distinct(text: pd.Series, dayfirst, fmt) -> tuple[np.ndarray, np.ndarray]:
    """Parse distinct date strings; return datetime64[us] values and a kind per value."""
    n = len(text)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    kind = np.full(n, _OK, dtype=np.int8)
    empty = (text == "").to_numpy(dtype=bool)
    kind[empty] = _EMPTY
    if fmt is not None:
        todo = ~empty
        out[todo] = _parse_formats(text[todo], [fmt])
    iso = text.str.fullmatch(_ISO_RE).to_numpy(dtype=bool)
    todo = iso & np.isnat(out)
    if todo.any():
        out[todo] = pd.to_datetime(text[todo], format="ISO8601", errors="coerce").to_numpy(
            dtype="datetime64[us]"
        )
    rest = ~empty & np.isnat(out) & ~iso
    if rest.any() and fmt is None:
        if dayfirst is not None:
            formats = _DAYFIRST_FORMATS if dayfirst else _MONTHFIRST_FORMATS
            out[rest] = _parse_formats(text[rest], formats)
        else:
            # Date-like but not ISO: refuse to guess; text that no format reads is
            # reported as unparseable instead.
            readable = ~np.isnat(_parse_formats(text[rest], _DAYFIRST_FORMATS)) | ~np.isnat(
                _parse_formats(text[rest], _MONTHFIRST_FORMATS)
            )
            kind[np.flatnonzero(rest)[readable]] = _AMBIGUOUS
    kind[(kind == _OK) & np.isnat(out)] = _UNPARSEABLE
    out_of_range = ~np.isnat(out) & ((out < _NS_MIN) | (out > _NS_MAX))
    kind[out_of_range] = _OUT_OF_RANGE
    out[kind != _OK] = np.datetime64("NaT")
    return out, kind


def _dates(coll: _Collector, df, column, *, required, dayfirst, fmt, given=None):
    """Parse one date column, report its problems, return datetime64[ns] values.

    ``given`` (a list) receives the mask of rows where the column is not empty.
    """
    if column not in df.columns:
        return None
    s = df[column]
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dtype, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        values = s.to_numpy(dtype="datetime64[us]")
        kind = np.where(np.isnat(values), _EMPTY, _OK).astype(np.int8)
        rng = ~np.isnat(values) & ((values < _NS_MIN) | (values > _NS_MAX))
        kind[rng] = _OUT_OF_RANGE
        raw = s
    else:
        codes, text = _distinct(s)
        uvalues, ukind = _parse_distinct(text, dayfirst, fmt)
        safe = np.maximum(codes, 0)
        has = codes >= 0
        values = np.where(
            has, uvalues[safe] if len(uvalues) else np.datetime64("NaT"), np.datetime64("NaT")
        )
        values = values.astype("datetime64[us]")
        kind = np.where(has, ukind[safe] if len(ukind) else _EMPTY, _EMPTY).astype(np.int8)
        raw = s
    if required:
        coll.add(
            column,
            "missing_date",
            kind == _EMPTY,
            "date is missing",
            f"every row needs {column!r} as an ISO date YYYY-MM-DD",
        )
    bad = kind == _UNPARSEABLE
    if bad.any():
        coll.add(
            column,
            "unparseable_date",
            bad,
            f"values are not dates ({_examples(raw[bad])})",
            "write dates as ISO YYYY-MM-DD (a real calendar day)"
            + (f" matching format={fmt!r}" if fmt else ""),
        )
    bad = kind == _AMBIGUOUS
    if bad.any():
        coll.add(
            column,
            "ambiguous_date_format",
            bad,
            f"dates are not ISO YYYY-MM-DD and no dayfirst= or format= was given "
            f"({_examples(raw[bad])}); they could be read day-first or month-first",
            _AMBIGUOUS_FIX,
        )
    coll.add(
        column,
        "date_out_of_range",
        kind == _OUT_OF_RANGE,
        "dates fall outside the years pandas can hold (1677-2262), often a placeholder "
        "such as 9999-12-31",
        "leave the date empty when it is unknown instead of writing a placeholder",
    )
    with np.errstate(invalid="ignore"):
        timed = (kind == _OK) & (values.astype("datetime64[D]") != values)
    coll.add(
        column,
        "time_of_day",
        timed,
        f"values carry a time of day ({_examples(raw[timed])}); the contract holds dates only",
        "drop the time part (keep YYYY-MM-DD); a time of day can identify an incident",
    )
    if given is not None:
        given.append(kind != _EMPTY)
    values = values.copy()
    values[kind != _OK] = np.datetime64("NaT")
    return values.astype("datetime64[ns]")


def _codes(coll: _Collector, df, column, vocabulary, *, what) -> np.ndarray | None:
    """Positions of each row's code in ``vocabulary`` (-1 for missing or unknown)."""
    if column not in df.columns:
        return None
    codes, text = _distinct(df[column])
    upos = pd.Index(vocabulary).get_indexer(text)
    uempty = (text == "").to_numpy(dtype=bool)
    safe = np.maximum(codes, 0)
    has = codes >= 0
    missing = ~has | (uempty[safe] if len(uempty) else True)
    pos = np.where(has, upos[safe] if len(upos) else -1, -1)
    coll.add(
        column,
        "missing_code",
        missing,
        f"{what} code is missing",
        f"every row needs {column!r}, one of: {', '.join(vocabulary)}",
    )
    unknown = has & ~missing & (pos < 0)
    if unknown.any():
        bad_u = [t for t in text[(upos < 0) & ~uempty]]
        hints = []
        for code in bad_u[:5]:
            close = difflib.get_close_matches(code.lower(), vocabulary, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            hints.append(f"{_examples([code])}{hint}")
        more = f" and {len(bad_u) - 5} more" if len(bad_u) > 5 else ""
        coll.add(
            column,
            f"unknown_{column}" if column in ("agency", "event") else "unknown_code",
            unknown,
            f"unknown {what} codes: {', '.join(hints)}{more}",
            f"recode to the contract's codes (lower case): {', '.join(vocabulary)}",
        )
    return np.where(missing, -1, pos)


def _case_ids(coll: _Collector, df) -> tuple[pd.Series, np.ndarray]:
    """The typed case_id column and the mask of rows with an empty id."""
    s = df["case_id"]
    codes, text = _distinct(s)
    uempty = (text == "").to_numpy(dtype=bool)
    empty = (codes < 0) | (uempty[np.maximum(codes, 0)] if len(uempty) else True)
    coll.add(
        "case_id",
        "missing_case_id",
        empty,
        "case_id is empty or missing",
        "every row needs the pseudonymous child identifier; fill it in or remove the row",
    )
    if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype):
        typed = s if not s.dtype == object else s.astype("str")
    else:
        typed = id_text(s)
    return typed, empty


def _missing_columns(coll: _Collector, df, contract: Mapping[str, tuple[bool, str]]) -> set:
    missing = set()
    present = [str(c) for c in df.columns]
    for column, (required, meaning) in contract.items():
        if required and column not in df.columns:
            missing.add(column)
            close = difflib.get_close_matches(column, present, n=1, cutoff=0.6)
            close += [c for c in present if c.strip().lower() == column and c not in close]
            hint = f"rename {close[-1]!r} to {column!r}" if close else f"add column {column!r}"
            coll.add(
                column,
                "missing_column",
                np.ones(len(df), dtype=bool),
                f"required column {column!r} ({meaning}) is missing (every row fails)",
                hint,
                always=True,
            )
    return missing


def _deduplicate_columns(coll: _Collector, df: pd.DataFrame) -> pd.DataFrame:
    dup = df.columns.duplicated()
    for column in dict.fromkeys(df.columns[dup]):
        coll.add(
            str(column),
            "duplicate_column",
            np.ones(len(df), dtype=bool),
            f"column {column!r} appears more than once (every row fails)",
            "keep one column of each name",
            always=True,
        )
    return df.loc[:, ~dup]


def _guard(df, table, allow) -> dict[str, str]:
    problems = check_identifying(df, table=table, allow=allow)
    if problems:
        report = ValidationReport(problems, df.iloc[:0], df.iloc[:0], table=table)
        raise IdentifyingDataError(identifying_message(problems), report=report)
    return check_allow(allow, set(map(str, df.columns)))


def _check_frame(df, name):
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    if df.columns.has_duplicates:
        return
    if not all(isinstance(c, str) for c in df.columns):
        raise SchemaError(
            f"{name} column names must be text; got {[c for c in df.columns if not isinstance(c, str)][:5]}"
        )


def _finish(coll, df, typed, allowed, strict) -> ValidationReport:
    report = coll.report(df, typed, allowed)
    if strict:
        report.raise_if_problems()
    return report


# ----------------------------------------------------------------------------- validators


def validate_events(
    df: pd.DataFrame,
    *,
    dayfirst: bool | None = None,
    format: str | None = None,
    allow: Mapping[str, str] | None = None,
    strict: bool = False,
) -> ValidationReport:
    """Check an events table against the data contract, collecting every problem.

    Checks: required columns (``case_id``, ``date``, ``agency``, ``event``); empty
    ``case_id``; missing, unparseable, out-of-range or timed dates (``date``
    required, ``recorded_date`` optional); non-ISO dates without ``dayfirst=`` or
    ``format=`` (UK extracts write the day first, and guessing swaps day and month);
    unknown ``agency`` and ``event`` codes (with the closest code suggested);
    ``value`` missing or outside its range for valued events (``attendance``: 0-1),
    given for events without one, or not a number; ``recorded_date`` before
    ``date``. The identifying-data guard runs first and always raises. Extra
    columns are kept.

    Parameters
    ----------
    df : pandas.DataFrame
        Events, raw (text, as read from CSV) or typed.
    dayfirst : bool, optional
        How to read non-ISO dates: True for DD/MM/YYYY, False for MM/DD/YYYY.
    format : str, optional
        An explicit ``strftime`` format for non-ISO dates (ISO dates still parse).
    allow : mapping of str to str, optional
        ``{column: reason}`` passed to the identifying-data guard
        (:func:`riskscore.privacy.check_identifying`); kept in ``report.allowed``.
    strict : bool, default=False
        Raise :class:`~riskscore.SchemaError` listing every problem instead of
        returning a report with problems.

    Returns
    -------
    ValidationReport
        ``valid`` holds the passing rows typed: dates ``datetime64[ns]`` (whole
        days), ``agency`` and ``event`` Categorical over the full vocabulary,
        ``value`` float64, ``case_id`` text (a Categorical ``case_id`` is kept as
        it is). Optional columns absent from the input stay absent.

    Raises
    ------
    IdentifyingDataError
        If a column looks identifying (always, whatever ``strict`` says).
    SchemaError
        If ``strict=True`` and there is any problem.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"case_id": ["c1"], "date": ["05/01/2101"],
    ...                    "agency": ["school"], "event": ["attendance"], "value": ["0.8"]})
    >>> validate_events(df).problems["check"].tolist()
    ['ambiguous_date_format']
    >>> report = validate_events(df, dayfirst=True)
    >>> report.ok, str(report.valid["date"].iloc[0].date())
    (True, '2101-01-05')
    """
    _check_frame(df, "events")
    allowed = _guard(df, "events", allow)
    coll = _Collector("events", len(df))
    frame = _deduplicate_columns(coll, df)
    _missing_columns(coll, frame, EVENT_COLUMNS)
    typed = frame.copy()
    if "case_id" in frame.columns:
        typed["case_id"], _ = _case_ids(coll, frame)
    date = _dates(coll, frame, "date", required=True, dayfirst=dayfirst, fmt=format)
    recorded = _dates(coll, frame, "recorded_date", required=False, dayfirst=dayfirst, fmt=format)
    agency = _codes(coll, frame, "agency", AGENCIES, what="agency")
    event = _codes(coll, frame, "event", _EVENT_CODES, what="event")

    n = len(frame)
    event_pos = event if event is not None else np.full(n, -1)
    valued = {_EVENT_CODES.index(e): (e, lo, hi) for e, (lo, hi) in VALUED_EVENTS.items()}
    if "value" in frame.columns:
        num, present, nonnum = _numeric(frame["value"])
        coll.add(
            "value",
            "value_not_numeric",
            nonnum,
            f"values are not numbers ({_examples(frame['value'][nonnum])})",
            "write value as a plain decimal number such as 0.85, or leave it empty",
        )
        not_valued = (event_pos >= 0) & ~np.isin(event_pos, list(valued))
        coll.add(
            "value",
            "value_not_allowed",
            present & ~nonnum & not_valued,
            "value is given for events whose vocabulary has no value "
            f"(only {', '.join(VALUED_EVENTS)} carry one)",
            "leave value empty for these events, or check the event code",
        )
    else:
        num = np.full(n, np.nan)
        present = np.zeros(n, dtype=bool)
        nonnum = present
    for pos, (code, lo, hi) in valued.items():
        rows = event_pos == pos
        coll.add(
            "value",
            "value_missing",
            rows & ~present,
            f"{code} rows need a value ({lo:g}-{hi:g}) but it is missing",
            f"give each {code} row its value between {lo:g} and {hi:g} (a fraction, not a "
            "percentage), or remove the row",
        )
        with np.errstate(invalid="ignore"):
            outside = rows & present & ~nonnum & ((num < lo) | (num > hi))
        coll.add(
            "value",
            "value_out_of_range",
            outside,
            f"{code} values lie outside {lo:g}-{hi:g} ({_examples(num[outside])})",
            f"{code} is a fraction between {lo:g} and {hi:g}; divide percentages by 100",
        )
    if date is not None and recorded is not None:
        coll.add(
            "recorded_date",
            "recorded_before_date",
            recorded < date,
            "recorded_date is before date (an event cannot be recorded before it happened)",
            "check both dates; recorded_date is when the event entered the record, on or "
            "after date; leave it empty if unknown",
        )

    if date is not None:
        typed["date"] = date
    if recorded is not None:
        typed["recorded_date"] = recorded
    if agency is not None:
        typed["agency"] = pd.Categorical.from_codes(agency, categories=list(AGENCIES))
    if event is not None:
        typed["event"] = pd.Categorical.from_codes(event, categories=list(_EVENT_CODES))
    if "value" in frame.columns:
        typed["value"] = np.where(nonnum, np.nan, num)
    return _finish(coll, frame, typed, allowed, strict)


def validate_cases(
    df: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    dayfirst: bool | None = None,
    format: str | None = None,
    allow: Mapping[str, str] | None = None,
    strict: bool = False,
) -> ValidationReport:
    """Check a cases table against the data contract, collecting every problem.

    Checks: ``case_id`` present, non-empty and unique; ``birth_year`` an integer
    year (never a full date: that is refused as identifying); ``imd_quintile`` 1-5;
    ``outcome_date`` and ``followup_end`` parseable dates (same date rules as
    :func:`validate_events`); an ``outcome`` has an ``outcome_date`` and an
    ``outcome_date`` has an ``outcome``; and, when ``events`` is given, every
    events ``case_id`` is in cases (reported with ``table="events"`` and the events
    row numbers; those rows are not in this report's quarantine). Extra columns
    are kept.

    Parameters
    ----------
    df : pandas.DataFrame
        Cases, raw or typed.
    events : pandas.DataFrame, optional
        Events whose ``case_id`` values must all appear in ``df``.
    dayfirst, format, allow, strict
        As in :func:`validate_events`.

    Returns
    -------
    ValidationReport
        ``valid`` holds the passing rows typed: ``case_id`` text (Categorical kept),
        ``birth_year`` and ``imd_quintile`` nullable ``Int64``, ``outcome`` text,
        dates ``datetime64[ns]``.

    Raises
    ------
    IdentifyingDataError
        If a column looks identifying (always).
    SchemaError
        If ``strict=True`` and there is any problem.

    Examples
    --------
    >>> import pandas as pd
    >>> cases = pd.DataFrame({"case_id": ["c1", "c2"], "outcome": ["death", None],
    ...                       "outcome_date": [None, None]})
    >>> report = validate_cases(cases)
    >>> report.problems[["column", "check", "rows"]].values.tolist()
    [['outcome_date', 'outcome_without_date', [0]]]
    """
    _check_frame(df, "cases")
    allowed = _guard(df, "cases", allow)
    coll = _Collector("cases", len(df))
    frame = _deduplicate_columns(coll, df)
    _missing_columns(coll, frame, CASE_COLUMNS)
    typed = frame.copy()
    n = len(frame)
    if "case_id" in frame.columns:
        typed["case_id"], empty = _case_ids(coll, frame)
        ids = id_text(frame["case_id"]).str.strip()
        dup = ids.duplicated(keep=False).to_numpy(dtype=bool) & ~empty
        coll.add(
            "case_id",
            "duplicate_case_id",
            dup,
            "case_id appears on more than one row (cases has one row per child)",
            "keep one row per child; merge or correct the duplicates",
        )
        if events is not None and "case_id" in getattr(events, "columns", ()):
            ev_codes, ev_text = _distinct(events["case_id"])
            known = ev_text.isin(set(ids[~empty])).to_numpy(dtype=bool)
            ev_empty = (ev_text == "").to_numpy(dtype=bool)
            orphan_u = ~known & ~ev_empty
            orphan = (ev_codes >= 0) & (
                orphan_u[np.maximum(ev_codes, 0)] if len(orphan_u) else False
            )
            rows = np.flatnonzero(orphan)
            if len(rows):
                coll.add_other_table(
                    "events",
                    "case_id",
                    "case_id_not_in_cases",
                    rows,
                    f"{len(rows):,} event rows ({int(orphan_u.sum()):,} distinct ids) have a "
                    "case_id that is not in cases",
                    "add a cases row for each child in events, or remove those events",
                )

    for column in ("birth_year", "imd_quintile"):
        if column not in frame.columns:
            continue
        num, present, nonnum = _numeric(frame[column])
        with np.errstate(invalid="ignore"):
            whole = np.floor(num) == num
        if column == "birth_year":
            bad = present & (nonnum | ~whole | (num < 1000) | (num > 9999))
            coll.add(
                column,
                "birth_year_not_year",
                bad,
                f"values are not four-digit integer years ({_examples(frame[column][bad])})",
                "give the year of birth only, as an integer such as 2101 (never a full date)",
            )
        else:
            bad = present & (nonnum | ~whole | (num < 1) | (num > 5))
            coll.add(
                column,
                "imd_quintile_out_of_range",
                bad,
                f"values are not deprivation quintiles 1-5 ({_examples(frame[column][bad])})",
                "use 1 (most deprived) to 5 (least deprived), or leave it empty",
            )
        typed[column] = pd.array(np.where(bad | ~present, np.nan, num)).astype("Int64")

    given: list[np.ndarray] = []
    outcome_date = _dates(
        coll, frame, "outcome_date", required=False, dayfirst=dayfirst, fmt=format, given=given
    )
    followup = _dates(coll, frame, "followup_end", required=False, dayfirst=dayfirst, fmt=format)
    if "outcome" in frame.columns:
        codes, text = _distinct(frame["outcome"])
        uempty = (text == "").to_numpy(dtype=bool)
        blank = uempty[np.maximum(codes, 0)] if len(uempty) else np.zeros(len(codes), dtype=bool)
        has_outcome = (codes >= 0) & ~blank
        outcome_text = frame["outcome"].astype("str").str.strip()
        typed["outcome"] = outcome_text.where(has_outcome, None).astype("str")
    else:
        has_outcome = np.zeros(n, dtype=bool)
    date_given = given[0] if given else np.zeros(n, dtype=bool)
    coll.add(
        "outcome_date",
        "outcome_without_date",
        has_outcome & ~date_given,
        "outcome is given without an outcome_date",
        "give the date the outcome happened in outcome_date (audits measure lead time to it)",
    )
    coll.add(
        "outcome",
        "outcome_date_without_outcome",
        date_given & ~has_outcome,
        "outcome_date is given without an outcome",
        "give the outcome code (e.g. death, serious_harm, life_threatening_asthma) or "
        "clear outcome_date",
    )
    if outcome_date is not None:
        typed["outcome_date"] = outcome_date
    if followup is not None:
        typed["followup_end"] = followup
    return _finish(coll, frame, typed, allowed, strict)


# ----------------------------------------------------------------------------- readers


def _read_table(path) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise MissingFileError(f"no such file or directory: '{p}'")
    name = p.name.lower()
    if p.is_dir():
        if not any(p.rglob("*.parquet")) and not any(p.rglob("*.pq")):
            raise SchemaError(
                f"directory '{p}' holds no .parquet or .pq files; riskscore reads a CSV file, "
                "a Parquet file or a directory of Parquet files"
            )
        return pd.read_parquet(p)
    if name.endswith((".parquet", ".pq")):
        return pd.read_parquet(p)
    if name.endswith((".csv", ".csv.gz")):
        # Every column as text, only empty cells missing: validation sees exactly
        # what the file says and parses it itself ("NA" is not silently missing).
        return pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
    raise SchemaError(
        f"cannot tell the format of '{p.name}': riskscore reads CSV (.csv, .csv.gz) and "
        "Parquet (.parquet, .pq, or a directory of Parquet files); rename the file with "
        "its format's extension"
    )


def _read(path, validate, strict, return_report, **kwargs):
    df = _read_table(path)
    report = validate(df, strict=False, **kwargs)
    if not report.ok:
        if strict:
            raise SchemaError(
                f"{Path(path).name}: {report}\n(pass strict=False to keep the valid rows and "
                "get the rest back with return_report=True)",
                report=report,
            )
    if not report.ok and not return_report:
        # the caller who asked for the report has the quarantine in hand already
        warnings.warn(
            DataQualityWarning(
                f"{Path(path).name}: {len(report.quarantine):,} of "
                f"{len(report.valid) + len(report.quarantine):,} {report.table} rows "
                f"quarantined ({len(report.problems)} problem(s)); pass return_report=True "
                "to get them and the report"
            ),
            stacklevel=3,
        )
    return (report.valid, report) if return_report else report.valid


def read_events(
    path: str | PathLike,
    *,
    dayfirst: bool | None = None,
    format: str | None = None,
    allow: Mapping[str, str] | None = None,
    strict: bool = True,
    return_report: bool = False,
    engine: str = "pandas",
):
    """Read and validate an events table from CSV or Parquet.

    The format comes from the name: ``.csv`` or ``.csv.gz`` (every column read as
    text, only empty cells missing, then parsed by validation), ``.parquet``/``.pq``
    or a directory of Parquet files.

    Parameters
    ----------
    path : str or path-like
        File or directory.
    dayfirst, format, allow
        As in :func:`validate_events`.
    strict : bool, default=True
        Raise :class:`~riskscore.SchemaError` on any problem. With False, return
        the valid rows and warn (:class:`~riskscore.DataQualityWarning`) with the
        number quarantined.
    return_report : bool, default=False
        Also return the :class:`ValidationReport` (with the quarantined rows).

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, ValidationReport)
        The valid, typed events (see :func:`validate_events`).

    engine : {"pandas", "dask"}, default="pandas"
        ``"dask"`` reads a folder of Parquet files lazily (riskscore[dask]; see
        :func:`riskscore.scale.read_events_dask`) and returns a Dask DataFrame.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SchemaError
        For an unknown file extension, or with ``strict=True`` any problem.
    IdentifyingDataError
        If a column looks identifying (always).

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "events.csv")
    >>> pd.DataFrame({"case_id": ["c1"], "date": ["2101-01-05"], "agency": ["gp"],
    ...               "event": ["reliever_prescription"]}).to_csv(path, index=False)
    >>> read_events(path)["event"].tolist()
    ['reliever_prescription']
    """
    if engine == "dask":
        _dask_read_options(dayfirst, format, allow, strict, return_report)
        # the Dask path lives in riskscore.scale, which registers itself
        return backend("read_events")(path, validate=True)
    if engine != "pandas":
        raise ParameterError(f"engine must be 'pandas' or 'dask', got {engine!r}.")
    return _read(
        path,
        validate_events,
        strict,
        return_report,
        dayfirst=dayfirst,
        format=format,
        allow=allow,
    )


def _dask_read_options(dayfirst, format, allow, strict, return_report) -> None:
    given = {
        "dayfirst": dayfirst is not None,
        "format": format is not None,
        "allow": bool(allow),
        "strict=False": not strict,
        "return_report": return_report,
    }
    bad = [k for k, v in given.items() if v]
    if bad:
        raise ParameterError(
            f"engine='dask' reads riskscore's Parquet layout with ISO dates and strict "
            f"validation only; {bad} are not supported there. Read with pandas, fix, and "
            "write with riskscore.scale.write_events_parquet."
        )


def read_cases(
    path: str | PathLike,
    *,
    events: pd.DataFrame | None = None,
    dayfirst: bool | None = None,
    format: str | None = None,
    allow: Mapping[str, str] | None = None,
    strict: bool = True,
    return_report: bool = False,
):
    """Read and validate a cases table from CSV or Parquet.

    Parameters
    ----------
    path : str or path-like
        File or directory (formats as in :func:`read_events`).
    events : pandas.DataFrame, optional
        Events to check against: every events ``case_id`` must be in cases.
    dayfirst, format, allow, strict, return_report
        As in :func:`read_events`.

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, ValidationReport)
        The valid, typed cases (see :func:`validate_cases`).

    Raises
    ------
    FileNotFoundError, SchemaError, IdentifyingDataError
        As in :func:`read_events`.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "cases.parquet")
    >>> pd.DataFrame({"case_id": ["c1"], "birth_year": [2101]}).to_parquet(path)
    >>> read_cases(path)["birth_year"].tolist()
    [2101]
    """
    return _read(
        path,
        validate_cases,
        strict,
        return_report,
        events=events,
        dayfirst=dayfirst,
        format=format,
        allow=allow,
    )
