"""The data contract: declared once, checked at every door, and read from disk.

The contract (:data:`CONTRACT`) is declared here once: each table's columns, whether
they are required, their kind and the dtype validation gives them, their codes (from
:mod:`riskscore.vocabulary`: agencies, events, outcomes), ranges and uniqueness, and
the rules that join columns. The validators below are driven by it.

Validation is lazy, like pandera's: every check runs and every problem is collected
into one :class:`ValidationReport` (column, first offending rows, what is wrong, how to
fix it), so an analyst can fix an extract in one pass. Rows that fail are
*quarantined* (returned with their original values and a ``problems`` column), never
dropped silently; the strict path raises :class:`~riskscore.SchemaError`. Messages
show values masked (first two characters), never whole.

Identifying data is different: it is always refused with
:class:`~riskscore.IdentifyingDataError` (the guard of :mod:`riskscore.privacy`, which
reads every row), never quarantined, because keeping the other rows would still keep
the identifying column.

**Every door.** A frame that came out of :func:`validate_events`,
:func:`validate_cases`, :func:`read_events` or :func:`read_cases` carries a mark in
``df.attrs`` (it survives pandas copies, slices and filters). Every public function
that takes events or cases (features, grids, training, audits, pseudonymisation)
calls :func:`ensure_events` / :func:`ensure_cases`: a marked frame passes after a
cheap check of its dtypes and a few vectorised passes (no text work, no guard; new
columns are guarded); any other frame is validated in full and refused with the same
message ``validate_events(..., strict=True)`` gives.

Checks are vectorised: codes are compared on their distinct values
(``pandas.factorize``), dates are parsed once per distinct value by the one date
parser (:func:`riskscore._dates.parse_dates`), and row numbers come from boolean
masks, so a 50-million-row extract costs a few passes over its columns.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import gzip
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskscore._arrays import first_rows, nested_cells
from riskscore._dates import (
    DATE_AMBIGUOUS,
    DATE_EMPTY,
    DATE_OK,
    DATE_OUT_OF_RANGE,
    DATE_RANGE,
    DATE_UNPARSEABLE,
    check_date_options,
    distinct_text,
    parse_dates,
)
from riskscore._dispatch import backend
from riskscore._parallel import ThreadFlag
from riskscore._params import StrOptions, validate_params
from riskscore._privacy_rules import (
    check_allow,
    id_text,
    identifying_message,
    masked_examples,
    normalise_ids,
    scan_identifying,
    where_text,
)
from riskscore.errors import (
    DataQualityWarning,
    IdentifyingDataError,
    MissingFileError,
    NotNumbersError,
    ParameterError,
    SchemaError,
    warn_user,
)
from riskscore.vocabulary import (
    AGENCIES,
    CASE_COLUMNS,
    EVENT_COLUMNS,
    EVENTS,
    OUTCOMES,
    VALUED_EVENTS,
)

__all__ = [
    "ColumnRule",
    "TableContract",
    "CONTRACT",
    "DATE_COLUMNS",
    "ValidationReport",
    "validate_events",
    "validate_cases",
    "ensure_events",
    "ensure_cases",
    "is_validated",
    "declare_valid",
    "mark_of",
    "allowed_columns",
    "check_identifying",
    "read_events",
    "read_cases",
    "ACCEPTED_ENCODINGS",
    "PROBLEM_COLUMNS",
    "MARK",
    "ALLOWED",
]

#: Columns of :attr:`ValidationReport.problems`.
PROBLEM_COLUMNS = ("table", "column", "check", "rows", "n_rows", "message", "fix")

#: Text encodings read without being told: UTF-8, with or without a byte-order mark.
#: Any other (``"cp1252"``, ``"latin-1"``, ``"utf-16"``) with ``encoding=``.
ACCEPTED_ENCODINGS = ("utf-8", "utf-8-sig")

#: ``df.attrs`` key of the mark validation leaves on a frame that keeps the contract.
MARK = "riskscore_contract"
#: ``df.attrs`` key holding ``{column: reason}`` allowed past the identifying-data guard.
ALLOWED = "riskscore_allowed"


# ----------------------------------------------------------------------------- contract


@dataclass(frozen=True)
class ColumnRule:
    """One column of the data contract.

    Attributes
    ----------
    name : str
    required : bool
        Every table must have it.
    kind : {"id", "date", "code", "number", "year", "integer", "label"}
        How it is checked: a non-empty identifier, a date (read by the one date
        parser), a code from ``codes``, a number, a four-digit year, an integer in
        ``[low, high]``, or a free-form label (checked by the identifying-data guard).
    dtype : str
        The dtype :func:`validate_events` / :func:`validate_cases` give it.
    meaning : str
        What it holds (from :mod:`riskscore.vocabulary`).
    codes : tuple of str
        The allowed codes of a ``"code"`` column.
    low, high : float, optional
        The allowed closed range of a number.
    unique : bool
        No two rows may share a value.
    """

    name: str
    required: bool
    kind: str
    dtype: str
    meaning: str
    codes: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    unique: bool = False


@dataclass(frozen=True)
class TableContract:
    """One table of the data contract: its columns and the rules that join them.

    Examples
    --------
    >>> from riskscore.schema import CONTRACT
    >>> CONTRACT["events"]["agency"].codes[:2]
    ('school', 'hospital')
    >>> [c.name for c in CONTRACT["cases"].columns if c.unique]
    ['case_id']
    """

    table: str
    columns: tuple[ColumnRule, ...]
    rules: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> ColumnRule:
        for c in self.columns:
            if c.name == name:
                return c
        raise ParameterError(
            f"the {self.table} contract has no column {name!r}; its columns are "
            f"{', '.join(self.names)}."
        )

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in contract order."""
        return tuple(c.name for c in self.columns)

    def of_kind(self, kind: str) -> tuple[str, ...]:
        """Names of the columns of one kind."""
        return tuple(c.name for c in self.columns if c.kind == kind)


def _rule(columns: Mapping[str, tuple[bool, str]], name: str, kind: str, dtype: str, **kw):
    required, meaning = columns[name]
    return ColumnRule(name, required, kind, dtype, meaning, **kw)


_VALUE_RANGES = "; ".join(f"{e} {lo:g}-{hi:g}" for e, (lo, hi) in VALUED_EVENTS.items())

#: The data contract: ``{"events": TableContract, "cases": TableContract}``.
CONTRACT: Mapping[str, TableContract] = {
    "events": TableContract(
        "events",
        (
            _rule(EVENT_COLUMNS, "case_id", "id", "str"),
            _rule(EVENT_COLUMNS, "date", "date", "datetime64[ns]"),
            _rule(EVENT_COLUMNS, "agency", "code", "category", codes=tuple(AGENCIES)),
            _rule(EVENT_COLUMNS, "event", "code", "category", codes=tuple(EVENTS)),
            _rule(EVENT_COLUMNS, "value", "number", "float64"),
            _rule(EVENT_COLUMNS, "recorded_date", "date", "datetime64[ns]"),
        ),
        (
            f"value: given exactly for the events that carry one, within its range "
            f"({_VALUE_RANGES})",
            "recorded_date: on or after date, when given",
            "case_id: compared after white space is normalised (' c1' is 'c1')",
        ),
    ),
    "cases": TableContract(
        "cases",
        (
            _rule(CASE_COLUMNS, "case_id", "id", "str", unique=True),
            _rule(CASE_COLUMNS, "birth_year", "year", "Int64", low=1000, high=9999),
            _rule(CASE_COLUMNS, "sex", "label", "str"),
            _rule(CASE_COLUMNS, "ethnic_group", "label", "str"),
            _rule(CASE_COLUMNS, "imd_quintile", "integer", "Int64", low=1, high=5),
            _rule(CASE_COLUMNS, "outcome", "code", "str", codes=tuple(OUTCOMES)),
            _rule(CASE_COLUMNS, "outcome_date", "date", "datetime64[ns]"),
            _rule(CASE_COLUMNS, "followup_end", "date", "datetime64[ns]"),
        ),
        (
            "case_id: one row per child (unique after white space is normalised)",
            "outcome and outcome_date: given together",
            "every events case_id is in cases (validate_cases(cases, events))",
        ),
    ),
}

#: The contract's date columns: the only columns that may hold full dates.
DATE_COLUMNS = frozenset(n for t in CONTRACT.values() for n in t.of_kind("date"))
_CONTRACT_COLUMNS = frozenset(n for t in CONTRACT.values() for n in t.names)
_LABEL_COLUMNS = frozenset(n for t in CONTRACT.values() for n in t.of_kind("label")) | {"outcome"}

_AMBIGUOUS_FIX = (
    "UK extracts write the day first and guessing silently swaps days and months "
    "(03/04/2101 is 3 April in the UK and March 4 in the US). Write dates as ISO "
    "YYYY-MM-DD, or say how to read them: dayfirst=True for DD/MM/YYYY, dayfirst=False "
    "for MM/DD/YYYY, or an explicit format such as format='%d/%m/%Y'"
)
_NO_OUTCOME_WORDS = frozenset({"none", "no", "n/a", "na", "nil", "null", "-", "0", "false"})


# ----------------------------------------------------------------------------- report


class ValidationReport:
    """Every problem found in one table, with the rows that passed and those that failed.

    Parameters
    ----------
    problems : pandas.DataFrame or list of dict
        One row per problem with columns ``table``, ``column``, ``check``, ``rows``
        (list of the first up to 10 offending 0-based row positions of the input),
        ``n_rows`` (how many rows are affected), ``message`` and ``fix``.
    valid : pandas.DataFrame
        The rows that passed, parsed and typed (input index kept).
    quarantine : pandas.DataFrame
        The rows that failed, with their original values and a ``problems`` text
        column naming each failed check (input index kept).
    allowed : dict of str to str, optional
        ``{column: reason}`` for columns the caller allowed past the
        identifying-data guard; kept with every output's provenance.
    table : str, default="events"
        Which table was validated.
    first_line : int, optional
        When the table was read from a CSV file: the file line of the first data
        row (2), and messages name file lines instead of 0-based rows.

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

    def __init__(self, problems, valid, quarantine, allowed=None, table="events", first_line=None):
        if isinstance(problems, pd.DataFrame):
            self.problems = problems.reset_index(drop=True)
        else:
            self.problems = pd.DataFrame(list(problems), columns=list(PROBLEM_COLUMNS))
        self.valid = valid
        self.quarantine = quarantine
        self.allowed = dict(allowed or {})
        self.table = table
        self.first_line = first_line

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return len(self.problems) == 0

    def __str__(self) -> str:
        n_valid, n_bad = len(self.valid), len(self.quarantine)
        n = n_valid + n_bad
        # each problem is listed under the table it is in: validate_cases(cases, events)
        # finds events whose child is not in cases, rows of the events, not of cases
        given = self.problems.get("table", pd.Series(self.table, index=self.problems.index))
        tables = given.fillna(self.table).astype(str).to_numpy()
        own = self.problems[tables == self.table]
        if not len(own):
            head = f"{self.table}: no problems in {n:,} rows"
        else:
            numbering = (
                "row numbers are 0-based"
                if self.first_line is None
                else f"lines are the file's line numbers (line {self.first_line} is the first "
                "data row)"
            )
            head = (
                f"{self.table}: {len(own)} problem(s) in {n:,} rows "
                f"({n_bad:,} quarantined, {n_valid:,} valid); {numbering}; values are "
                "shown masked"
            )
        lines = [head, *_problem_lines(own)]
        for other in dict.fromkeys(t for t in tables if t != self.table):
            theirs = self.problems[tables == other]
            lines.append(
                f"{other}: {len(theirs)} problem(s) found checking the {other} table given "
                f"against these {self.table}; row numbers are 0-based positions in that "
                f"{other} table; those rows are not in this report's quarantine (fix them "
                f"in the {other} table)"
            )
            lines += _problem_lines(theirs)
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


def _problem_lines(problems: pd.DataFrame) -> list[str]:
    return [f"- {m}\n  fix: {f}" for m, f in zip(problems["message"], problems["fix"], strict=True)]


class _Collector:
    """Gathers problems and the bad-row mask while checks run."""

    def __init__(self, table: str, n: int, first_line: int | None = None):
        self.table = table
        self.n = n
        self.first_line = first_line
        self.problems: list[dict] = []
        self.bad = np.zeros(n, dtype=bool)
        self.row_labels: list[tuple[np.ndarray, str]] = []

    def add(self, column, check, mask, what, fix, *, always=False):
        rows = np.flatnonzero(mask) if mask is not None else np.empty(0, dtype=np.int64)
        if len(rows) == 0 and not always:
            return
        where = f"; {where_text(rows, self.first_line)}" if len(rows) else ""
        self.problems.append(
            {
                "table": self.table,
                "column": column,
                "check": check,
                "rows": [int(r) for r in rows[:10]],
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
        self.problems.append(
            {
                "table": table,
                "column": column,
                "check": check,
                "rows": [int(r) for r in rows[:10]],
                "n_rows": len(rows),
                "message": f"{table}.{column}: {what}; {where_text(rows)}",
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
        valid.attrs.pop(ALLOWED, None)
        if allowed:
            valid.attrs[ALLOWED] = dict(allowed)
        # the mark: this frame keeps the contract (the valid rows always do)
        valid.attrs[MARK] = mark_of(valid, self.table)
        return ValidationReport(
            self.problems, valid, quarantine, allowed, self.table, first_line=self.first_line
        )


# ----------------------------------------------------------------------------- helpers


def _numeric(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numbers (float64), which rows hold a value, and which hold a non-number."""
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype(object)
    if series.dtype.kind == "c":  # numpy would drop the imaginary part without a word
        present = series.notna().to_numpy(dtype=bool)
        return np.full(len(series), np.nan), present, present
    if pd.api.types.is_numeric_dtype(series.dtype):
        num = pd.to_numeric(series).to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(num)
        return num, present, np.zeros(len(num), dtype=bool)
    codes, text = distinct_text(series)
    unum = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    uempty = (text == "").to_numpy(dtype=bool)
    has = codes >= 0
    safe = np.maximum(codes, 0)
    num = np.where(has, unum[safe] if len(unum) else np.nan, np.nan)
    present = has & ~(uempty[safe] if len(uempty) else np.ones(len(codes), dtype=bool))
    return num, present, present & np.isnan(num)


def _dates(coll: _Collector, df, rule: ColumnRule, *, dayfirst, fmt):
    """Parse one date column, report its problems; return (datetime64[ns] values, given mask)."""
    column = rule.name
    if column not in df.columns:
        return None, None
    raw = df[column]
    parsed = parse_dates(raw, dayfirst=dayfirst, format=fmt)
    values, kind = parsed.values, parsed.kind
    if rule.required:
        coll.add(
            column,
            "missing_date",
            kind == DATE_EMPTY,
            "date is missing",
            f"every row needs {column!r} as an ISO date YYYY-MM-DD",
        )
    bad = kind == DATE_UNPARSEABLE
    if bad.any():
        coll.add(
            column,
            "unparseable_date",
            bad,
            f"values are not dates ({masked_examples(raw[bad])})",
            "write dates as ISO YYYY-MM-DD (a real calendar day, four-digit year)"
            + (f" or as format={fmt!r}" if fmt else ""),
        )
    bad = kind == DATE_AMBIGUOUS
    if bad.any():
        coll.add(
            column,
            "ambiguous_date_format",
            bad,
            f"dates are not ISO YYYY-MM-DD and no dayfirst= or format= was given "
            f"({masked_examples(raw[bad])}); they could be read day-first or month-first",
            _AMBIGUOUS_FIX,
        )
    coll.add(
        column,
        "date_out_of_range",
        kind == DATE_OUT_OF_RANGE,
        f"dates fall outside {DATE_RANGE}, the days pandas can hold, often a "
        "placeholder such as 9999-12-31",
        "leave the date empty when it is unknown instead of writing a placeholder",
    )
    timed = parsed.timed
    coll.add(
        column,
        "time_of_day",
        timed,
        "values carry a time of day; the contract holds dates only",
        "drop the time part (keep YYYY-MM-DD); a time of day can identify an incident",
    )
    values = values.copy()
    values[kind != DATE_OK] = np.datetime64("NaT")
    return values.astype("datetime64[ns]"), kind != DATE_EMPTY


def _codes(coll: _Collector, df, rule: ColumnRule) -> np.ndarray | None:
    """Positions of each row's code in ``rule.codes`` (-1 for missing or unknown)."""
    column, vocabulary = rule.name, rule.codes
    if column not in df.columns:
        return None
    codes, text = distinct_text(df[column])
    upos = pd.Index(vocabulary).get_indexer(text)
    uempty = (text == "").to_numpy(dtype=bool)
    safe = np.maximum(codes, 0)
    has = codes >= 0
    missing = ~has | (uempty[safe] if len(uempty) else True)
    pos = np.where(has, upos[safe] if len(upos) else -1, -1)
    if rule.required:
        coll.add(
            column,
            "missing_code",
            missing,
            f"{column} code is missing",
            f"every row needs {column!r}, one of: {', '.join(vocabulary)}",
        )
    unknown = has & ~missing & (pos < 0)
    if unknown.any():
        bad_u = list(text[(upos < 0) & ~uempty])
        hints = []
        for code in bad_u[:5]:
            close = difflib.get_close_matches(code.lower(), vocabulary, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            hints.append(f"{masked_examples([code])}{hint}")
        more = f" and {len(bad_u) - 5} more" if len(bad_u) > 5 else ""
        fix = f"recode to the contract's codes (lower case): {', '.join(vocabulary)}"
        if column == "outcome":
            said_none = any(c.strip().lower() in _NO_OUTCOME_WORDS for c in bad_u)
            fix += (
                "; leave outcome empty (not 'none', 'no' or 'N/A') when the child had no "
                "outcome, and then leave outcome_date empty too"
                if said_none
                else "; leave outcome empty when the child had no outcome"
            )
        coll.add(
            column,
            f"unknown_{column}",
            unknown,
            f"unknown {column} codes: {', '.join(hints)}{more}",
            fix,
        )
    return np.where(missing, -1, pos)


def _case_ids(coll: _Collector, df) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """The typed case_id column (white space normalised), the mask of rows with an empty
    id, and each row's code among the normalised distinct ids (-1 when empty)."""
    s, inexact = _float_ids(df["case_id"])
    if inexact.any():
        coll.add(
            "case_id",
            "case_id_not_whole_number",
            inexact,
            "case_id holds numbers that are not exact whole numbers "
            f"({masked_examples(s[inexact])}): ids stored as floating-point numbers with a "
            f"fraction, an infinity, or beyond {2**53:,} (where floats lose digits)",
            "read the ids as text (e.g. pandas.read_csv(..., dtype={'case_id': str})) so "
            "that no digit is lost; ids are text such as CASE-000001",
        )
    normalised = normalise_ids(s)
    codes, uniq = pd.factorize(normalised)
    codes = np.asarray(codes, dtype=np.int64)
    uempty = (pd.Series(np.asarray(uniq, dtype=object)).astype("str") == "").to_numpy()
    empty = (codes < 0) | (uempty[np.maximum(codes, 0)] if len(uempty) else True)
    codes = np.where(empty, -1, codes)
    coll.add(
        "case_id",
        "missing_case_id",
        empty,
        "case_id is empty or missing",
        "every row needs the pseudonymous child identifier; fill it in or remove the row",
    )
    _unprintable_case_ids(coll, s)
    _boolean_case_ids(coll, s)
    return normalised, empty, codes


def _float_ids(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Ids held as floats, and the rows whose float is not an exact whole number.

    Whole floats are ids read with blanks (``1.0`` is ``"1"``). Any other float (a
    fraction, an infinity, or beyond 2**53, where floats lose digits) is kept as it
    prints (``"1.5"``) and flagged, and the whole ones are given as whole numbers
    beside it (not ``"1.0"``). Other columns come back as they are.
    """
    none = np.zeros(len(s), dtype=bool)
    if not pd.api.types.is_float_dtype(s.dtype):
        return s, none
    values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        exact = present & np.isfinite(values) & (np.floor(values) == values)
        exact &= np.abs(np.where(exact, values, 0)) < 2**53
    inexact = present & ~exact
    if not inexact.any():
        return s, none
    out = np.full(len(s), None, dtype=object)
    out[exact] = [int(v) for v in values[exact]]
    out[inexact] = [str(v) for v in values[inexact]]
    return pd.Series(out, index=s.index, name=s.name, dtype=object), inexact


def _boolean_case_ids(coll: _Collector, s: pd.Series) -> None:
    """Flag True/False held as ids: a yes/no column taken for the ids would otherwise be
    read as two children, 'True' and 'False'."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        if pd.api.types.is_bool_dtype(cats.dtype):
            bad_u = np.ones(len(cats), dtype=bool)
        else:
            bad_u = np.array([isinstance(v, (bool, np.bool_)) for v in cats], dtype=bool)
        codes = s.cat.codes.to_numpy()
        bad = (codes >= 0) & (bad_u[np.maximum(codes, 0)] if len(bad_u) else False)
    elif pd.api.types.is_bool_dtype(s.dtype):
        bad = s.notna().to_numpy(dtype=bool)
    elif s.dtype == object:
        # factorize holds True and 1 as one value: look at the rows only when needed
        uniq = pd.unique(s)
        if not any(isinstance(v, (bool, np.bool_, int, np.integer)) for v in uniq):
            return
        bad = np.fromiter((isinstance(v, (bool, np.bool_)) for v in s), bool, len(s))
    else:
        return
    coll.add(
        "case_id",
        "boolean_case_id",
        np.asarray(bad, dtype=bool),
        "case_id holds True or False, not an identifier (a yes/no column taken for the "
        "ids would be read as two children, 'True' and 'False')",
        "put the pseudonymous child identifier in case_id (check that the export did not "
        "shift or mix up its columns); ids are text such as CASE-000001",
    )


# White space around an id is normalised away (normalise_ids); inside an id it is not.
_ID_EDGE_SPACE = re.compile(r"^[\s\u00a0\u2007\u202f\ufeff]+|[\s\u00a0\u2007\u202f\ufeff]+$")


def _unprintable_case_ids(coll: _Collector, s: pd.Series) -> None:
    """Flag ids holding control (Cc) or invisible formatting (Cf) characters inside them.

    A line break, a NUL or a right-to-left override (U+202E) in an id makes it print
    as something other than what it is, so it cannot be typed back (``--case``) or
    read safely in a report. Checked once per distinct id.
    """
    codes, uniq = pd.factorize(s)
    values = np.asarray(uniq, dtype=object)
    bad_u = np.zeros(len(values), dtype=bool)
    found: dict[str, None] = {}
    for i, v in enumerate(values):
        if not isinstance(v, str) or v.isprintable():
            continue  # fast path: printable text holds neither kind
        chars = [c for c in _ID_EDGE_SPACE.sub("", v) if unicodedata.category(c) in ("Cc", "Cf")]
        if chars:
            bad_u[i] = True
            found.update((f"U+{ord(c):04X}", None) for c in chars)
    if not bad_u.any():
        return
    codes = np.asarray(codes, dtype=np.int64)
    bad = (codes >= 0) & bad_u[np.maximum(codes, 0)]
    shown = ", ".join(list(found)[:5]) + (" and others" if len(found) > 5 else "")
    coll.add(
        "case_id",
        "unprintable_case_id",
        bad,
        f"case_id holds control or invisible formatting characters (found: {shown}; such "
        "as line breaks, tabs, zero-width or right-to-left marks), so the id displays as "
        "something other than what it is",
        "remove those characters from the ids (ids are printable text such as "
        "CASE-000001); check how the extract was exported",
    )


def _missing_columns(coll: _Collector, df, contract: TableContract) -> set:
    missing = set()
    present = [str(c) for c in df.columns]
    for rule in contract.columns:
        column = rule.name
        if rule.required and column not in df.columns:
            missing.add(column)
            close = difflib.get_close_matches(column, present, n=1, cutoff=0.6)
            close += [c for c in present if c.strip().lower() == column and c not in close]
            if column in df.index.names:
                hint = (
                    f"{column!r} is the table's index, not a column: make it a column with "
                    "df.reset_index() (a Parquet file written from an indexed frame is read "
                    "back with that index: call reset_index() before writing it)"
                )
            elif close:
                hint = f"rename {close[-1]!r} to {column!r}{_odd_characters(close[-1])}"
            else:
                hint = f"add column {column!r}"
            hint += f" (the {contract.table} table's columns are listed in docs/data-contract.md)"
            coll.add(
                column,
                "missing_column",
                np.ones(len(df), dtype=bool),
                f"required column {column!r} ({rule.meaning}) is missing (every row fails)",
                hint,
                always=True,
            )
    return missing


def _odd_characters(name: str) -> str:
    """Say which characters of a column name are not plain ASCII or not visible: a
    look-alike (Cyrillic 'а' for 'a') or a zero-width space prints as the contract's name."""
    odd = dict.fromkeys(c for c in name if not (c.isascii() and c.isprintable()))
    if not odd:
        return ""
    shown = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in list(odd)[:5])
    return (
        f" (its name holds {shown}, which prints like or hides among plain letters; "
        "retype the header in plain ASCII)"
    )


def _name_key(name: str) -> str:
    """A column name as the contract would spell it: compatibility forms folded (NFKC),
    invisible formatting characters dropped, lower case, runs of spaces or dashes as _."""
    key = unicodedata.normalize("NFKC", name)
    key = "".join(c for c in key if unicodedata.category(c) != "Cf").strip().lower()
    return re.sub(r"[\s\-]+", "_", key)


def _refuse_misspelt_date_columns(df: pd.DataFrame, contract: TableContract) -> None:
    """Refuse a contract date column spelt otherwise ('Date', 'date\u00a0', 'Outcome
    Date'), before the identifying-data guard would call its full dates identifying and
    say to remove the column: the fix is to rename it."""
    for column in contract.of_kind("date"):
        if column in df.columns:
            continue
        for name in df.columns:
            if isinstance(name, str) and _name_key(name) == column:
                raise SchemaError(
                    f"{contract.table}.{name}: the column {name!r} is the contract's date "
                    f"column {column!r} spelt otherwise{_odd_characters(name)}; riskscore "
                    "reads column names exactly, and full dates in any other column are "
                    f"refused as identifying. Fix: rename {name!r} to {column!r} (the "
                    f"{contract.table} table's columns are listed in docs/data-contract.md)."
                )


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


def allowed_columns(*frames) -> dict[str, str]:
    """``{column: reason}`` allowed past the identifying-data guard, from frames' attrs.

    Frames validated with ``allow=`` carry their reasons in ``attrs``; outputs made
    from them keep these reasons in their provenance.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"case_id": ["c1"], "site": ["Kestrel Ward"]})
    >>> cases = validate_cases(df, allow={"site": "ward names, not people"}).valid
    >>> allowed_columns(cases, None)
    {'site': 'ward names, not people'}
    """
    out: dict[str, str] = {}
    for f in frames:
        attrs = getattr(f, "attrs", None) or {}
        out.update(attrs.get(ALLOWED) or {})
    return out


def stamp_allowed(result: Any, allowed: Mapping[str, str] | None) -> Any:
    """Add ``allowed`` reasons to ``attrs`` of every table a result holds.

    ``result`` is a DataFrame, a mapping of tables, or an object whose attributes are
    tables (a dataclass result); :func:`riskscore.write_table` then writes the reasons
    into each table's provenance. Nothing happens when ``allowed`` is empty.

    Examples
    --------
    >>> import pandas as pd
    >>> t = stamp_allowed(pd.DataFrame({"n": [1]}), {"site": "ward names, not people"})
    >>> allowed_columns(t)
    {'site': 'ward names, not people'}
    """
    if not allowed:
        return result
    if isinstance(result, pd.DataFrame):
        tables = [result]
    elif isinstance(result, Mapping):
        tables = list(result.values())
    else:
        tables = list(vars(result).values())
    for t in tables:
        if isinstance(t, pd.DataFrame):
            # a table's own reasons (the labels a key holds) stay beside the inputs'
            t.attrs[ALLOWED] = {**t.attrs.get(ALLOWED, {}), **allowed}
    return result


def _allowed(df: pd.DataFrame, allow) -> dict[str, str]:
    """The caller's ``allow=`` merged over the reasons the frame already carries."""
    carried = df.attrs.get(ALLOWED) if isinstance(df.attrs.get(ALLOWED), Mapping) else None
    merged = dict(carried or {})
    if allow is not None:
        if not isinstance(allow, Mapping):
            check_allow(allow, ())  # raises the explanatory error
        merged.update(allow)
    return check_allow(merged or None, set(map(str, df.columns)))


def _scan(df, table: str, allowed: dict, first_line=None) -> list[dict]:
    """The guard over ``df`` with the contract's date, contract and label columns."""
    try:
        return scan_identifying(
            df,
            table=table,
            allowed=allowed,
            date_columns=DATE_COLUMNS,
            contract_columns=frozenset(CONTRACT[table].names)
            if table in CONTRACT
            else _CONTRACT_COLUMNS,
            label_columns=_LABEL_COLUMNS,
            first_line=first_line,
        )
    except TypeError:
        _refuse_containers(df, table)  # unhashable cells (lists, dicts) cannot be counted
        raise
    except OverflowError:
        _refuse_huge_integers(df, table)  # the guard reads whole numbers as int64
        raise


def _refuse_huge_integers(df: pd.DataFrame, table: str) -> None:
    """Refuse whole numbers beyond 64 bits in object columns (say which column and rows)."""
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if col.dtype != object:
            continue
        huge = np.fromiter(
            (
                isinstance(v, (int, np.integer))
                and not isinstance(v, bool)
                and not -(2**63) <= int(v) < 2**63
                for v in col.to_numpy()
            ),
            bool,
            len(col),
        )
        if huge.any():
            raise SchemaError(
                f"{table}.{df.columns[i]}: whole numbers too large for 64-bit integers (beyond "
                f"{2**63 - 1:,}); {where_text(np.flatnonzero(huge))}. Fix: write identifiers "
                "as text (e.g. df[column] = df[column].astype(str), or ids such as "
                "CASE-000001); a number of 20 or more digits in any other column is a "
                "corrupted cell."
            )


def _refuse_containers(df: pd.DataFrame, table: str) -> None:
    """Refuse cells holding a list, dict, set or array (say where), e.g. from nested JSON."""
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if col.dtype == object and (where := nested_cells(col.to_numpy())) is not None:
            raise SchemaError(
                f"{table}.{df.columns[i]}: {where}, not one value. Fix: give each cell one "
                "value (text, a number or a date); flatten nested data (e.g. from JSON) first."
            )


def _guard(df, table: str, allowed: dict, first_line=None, columns=None) -> None:
    sub = df if columns is None else df.loc[:, columns]
    problems = _scan(sub, table, allowed, first_line)
    if problems:
        report = ValidationReport(
            problems, df.iloc[:0], df.iloc[:0], allowed, table=table, first_line=first_line
        )
        raise IdentifyingDataError(identifying_message(problems), report=report)


@validate_params({"table": [str]})
def check_identifying(
    df: pd.DataFrame, *, table: str = "events", allow: Mapping[str, str] | None = None
) -> list[dict]:
    """Find what looks identifying in a table, reading every row (see :mod:`riskscore.privacy`).

    Refused by column name: person names, NHS and other national numbers, addresses
    and postcodes, contact details, dates of birth (``dob``, ``dob2``, ``born``),
    free-text notes. Refused by value, in any column (``case_id`` and the label
    columns ``sex``, ``ethnic_group``, ``outcome`` included): NHS numbers in any
    separator form (modulus 11), UK postcodes in any case and spacing, person names
    in any case, e-mail addresses, UK telephone numbers, full dates outside the
    contract's date columns, free text. Messages name the column, the rows and the
    pattern, and show values masked (first two characters).

    Parameters
    ----------
    df : pandas.DataFrame
        An events or cases table.
    table : str, default="events"
        Table name used in messages.
    allow : mapping of str to str, optional
        ``{column: reason}`` for columns the heuristics misjudge; they are not
        checked. Every reason must be a non-empty string. Reasons already in
        ``df.attrs`` (a frame validated with ``allow=``) count too.

    Returns
    -------
    list of dict
        One dict per (column, check) with keys ``table``, ``column``, ``check``,
        ``rows`` (first 0-based row positions), ``n_rows``, ``message`` and ``fix``;
        empty when nothing looks identifying.

    Raises
    ------
    SchemaError
        If ``allow`` is not a mapping of column to a non-empty reason.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"case_id": ["c1"], "surname": ["Xyz"]})
    >>> [p["check"] for p in check_identifying(df)]
    ['identifying_name']
    >>> check_identifying(df, allow={"surname": "invented test label"})
    []
    >>> df = pd.DataFrame({"case_id": ["c1", "c2"], "ethnic_group": ["jane smith", "White"]})
    >>> [(p["check"], p["rows"]) for p in check_identifying(df, table="cases")]
    [('person_name', [0])]
    """
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(
            f"check_identifying: df must be a pandas DataFrame, got {type(df).__name__}."
        )
    return _scan(df, table, _allowed(df, allow))


def _check_frame(df, name):
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    if df.columns.has_duplicates:
        return
    if not all(isinstance(c, str) for c in df.columns):
        raise SchemaError(
            f"{name} column names must be text; got "
            f"{[c for c in df.columns if not isinstance(c, str)][:5]}"
        )


def _finish(coll, df, typed, allowed, strict) -> ValidationReport:
    report = coll.report(df, typed, allowed)
    if strict:
        report.raise_if_problems()
    return report


# ----------------------------------------------------------------------------- validators


def _validate_events(df, *, dayfirst, format, allow, strict, first_line=None):
    check_date_options(dayfirst, format)
    _check_frame(df, "events")
    allowed = _allowed(df, allow)
    _refuse_misspelt_date_columns(df, CONTRACT["events"])
    _guard(df, "events", allowed, first_line)
    contract = CONTRACT["events"]
    coll = _Collector("events", len(df), first_line)
    frame = _deduplicate_columns(coll, df)
    _missing_columns(coll, frame, contract)
    typed = frame.copy()
    if "case_id" in frame.columns:
        typed["case_id"], _, _ = _case_ids(coll, frame)
    date, _ = _dates(coll, frame, contract["date"], dayfirst=dayfirst, fmt=format)
    recorded, _ = _dates(coll, frame, contract["recorded_date"], dayfirst=dayfirst, fmt=format)
    agency = _codes(coll, frame, contract["agency"])
    event = _codes(coll, frame, contract["event"])
    event_codes = contract["event"].codes

    n = len(frame)
    event_pos = event if event is not None else np.full(n, -1)
    valued = {event_codes.index(e): (e, lo, hi) for e, (lo, hi) in VALUED_EVENTS.items()}
    if "value" in frame.columns:
        num, present, nonnum = _numeric(frame["value"])
        coll.add(
            "value",
            "value_not_numeric",
            nonnum,
            f"values are not numbers ({masked_examples(frame['value'][nonnum])})",
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
            f"{code} values lie outside {lo:g}-{hi:g} ({masked_examples(num[outside])})",
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
        typed["event"] = pd.Categorical.from_codes(event, categories=list(event_codes))
    if "value" in frame.columns:
        typed["value"] = np.where(nonnum, np.nan, num)
    return _finish(coll, frame, typed, allowed, strict)


@validate_params({"dayfirst": ["boolean", None], "format": [str, None], "strict": ["boolean"]})
def validate_events(
    df: pd.DataFrame,
    *,
    dayfirst: bool | None = None,
    format: str | None = None,
    allow: Mapping[str, str] | None = None,
    strict: bool = False,
) -> ValidationReport:
    """Check an events table against the data contract, collecting every problem.

    Checks (:data:`CONTRACT` ``["events"]``): required columns (``case_id``,
    ``date``, ``agency``, ``event``); empty ``case_id``; missing, unparseable,
    out-of-range or timed dates (``date`` required, ``recorded_date`` optional);
    non-ISO dates without ``dayfirst=`` or ``format=`` (UK extracts write the day
    first, and guessing swaps day and month); unknown ``agency`` and ``event`` codes
    (with the closest code suggested); ``value`` missing or outside its range for
    valued events (``attendance``: 0-1), given for events without one, or not a
    number; ``recorded_date`` before ``date``. The identifying-data guard runs first,
    over every row, and always raises. Extra columns are kept. ``case_id`` white
    space is normalised (``" c1"`` is ``"c1"``).

    Dates: ISO ``YYYY-MM-DD`` always reads; ``format=`` reads the values written in
    that ``strptime`` format (ISO ones still read); ``dayfirst=True`` reads
    ``DD/MM/YYYY`` (also with ``-``, ``.``, spaces or month names), ``False``
    ``MM/DD/YYYY``; not both. The same rule reads dates everywhere in riskscore.

    Parameters
    ----------
    df : pandas.DataFrame
        Events, raw (text, as read from CSV) or typed.
    dayfirst : bool, optional
        How to read non-ISO dates: True for DD/MM/YYYY, False for MM/DD/YYYY.
    format : str, optional
        An explicit ``strptime`` format for non-ISO dates (ISO dates still parse).
    allow : mapping of str to str, optional
        ``{column: reason}`` passed to the identifying-data guard
        (:func:`riskscore.check_identifying`); kept in ``report.allowed`` and in
        ``report.valid.attrs`` for the provenance of every output.
    strict : bool, default=False
        Raise :class:`~riskscore.SchemaError` listing every problem instead of
        returning a report with problems.

    Returns
    -------
    ValidationReport
        ``valid`` holds the passing rows typed: dates ``datetime64[ns]`` (whole
        days), ``agency`` and ``event`` Categorical over the full vocabulary,
        ``value`` float64, ``case_id`` text (a Categorical ``case_id`` is kept as
        it is). Optional columns absent from the input stay absent. It carries the
        contract's mark, so riskscore does not check it again.

    Raises
    ------
    IdentifyingDataError
        If a column looks identifying (always, whatever ``strict`` says).
    SchemaError
        If ``strict=True`` and there is any problem.
    ParameterError
        If both ``dayfirst`` and ``format`` are given.

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
    return _validate_events(df, dayfirst=dayfirst, format=format, allow=allow, strict=strict)


def _check_events_for_cases(events) -> None:
    """Refuse ``events`` given to validate_cases that cannot be checked against cases."""
    if events is None:
        return
    if not isinstance(events, pd.DataFrame):
        raise ParameterError(
            f"validate_cases: events must be a pandas DataFrame (or None), got "
            f"{type(events).__name__}; read it with riskscore.read_events first."
        )
    n = int((events.columns == "case_id").sum())
    if n == 0:
        raise SchemaError(
            "validate_cases: events has no 'case_id' column, so its children cannot be "
            f"checked against cases. Columns present: {[str(c) for c in events.columns][:15]}."
        )
    if n > 1:
        raise SchemaError(
            "validate_cases: events: column 'case_id' appears more than once; keep one so "
            "that it is clear which to check against cases."
        )


def _validate_cases(df, events, *, dayfirst, format, allow, strict, first_line=None):
    check_date_options(dayfirst, format)
    _check_frame(df, "cases")
    _check_events_for_cases(events)
    allowed = _allowed(df, allow)
    _refuse_misspelt_date_columns(df, CONTRACT["cases"])
    _guard(df, "cases", allowed, first_line)
    contract = CONTRACT["cases"]
    coll = _Collector("cases", len(df), first_line)
    frame = _deduplicate_columns(coll, df)
    _missing_columns(coll, frame, contract)
    typed = frame.copy()
    n = len(frame)
    if "case_id" in frame.columns:
        typed["case_id"], empty, codes = _case_ids(coll, frame)
        dup = (
            pd.Series(codes).duplicated(keep=False).to_numpy(dtype=bool) & ~empty
            if n
            else np.zeros(0, dtype=bool)
        )
        coll.add(
            "case_id",
            "duplicate_case_id",
            dup,
            "case_id appears on more than one row (cases has one row per child; ids are "
            "compared with white space normalised)",
            "keep one row per child; merge or correct the duplicates",
        )
        if events is not None:
            known_ids = set(typed["case_id"][~empty].astype("str"))
            ev_ids = normalise_ids(_float_ids(events["case_id"])[0])
            ev_codes, ev_uniq = pd.factorize(ev_ids)
            ev_text = pd.Series(np.asarray(ev_uniq, dtype=object)).astype("str")
            orphan_u = ~ev_text.isin(known_ids).to_numpy(dtype=bool) & (ev_text != "").to_numpy()
            ev_codes = np.asarray(ev_codes, dtype=np.int64)
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

    for name in ("birth_year", "imd_quintile"):
        if name not in frame.columns:
            continue
        rule = contract[name]
        num, present, nonnum = _numeric(frame[name])
        with np.errstate(invalid="ignore"):
            whole = np.floor(num) == num
            bad = present & (nonnum | ~whole | (num < rule.low) | (num > rule.high))
        if name == "birth_year":
            coll.add(
                name,
                "birth_year_not_year",
                bad,
                f"values are not four-digit integer years ({masked_examples(frame[name][bad])})",
                "give the year of birth only, as an integer such as 2101 (never a full date)",
            )
        else:
            coll.add(
                name,
                "imd_quintile_out_of_range",
                bad,
                f"values are not deprivation quintiles 1-5 ({masked_examples(frame[name][bad])})",
                "use 1 (most deprived) to 5 (least deprived), or leave it empty",
            )
        typed[name] = pd.array(np.where(bad | ~present, np.nan, num)).astype("Int64")

    outcome_date, date_given = _dates(
        coll, frame, contract["outcome_date"], dayfirst=dayfirst, fmt=format
    )
    followup, _ = _dates(coll, frame, contract["followup_end"], dayfirst=dayfirst, fmt=format)
    if "outcome" in frame.columns:
        pos = _codes(coll, frame, contract["outcome"])
        codes, text = distinct_text(frame["outcome"])
        uempty = (text == "").to_numpy(dtype=bool)
        blank = uempty[np.maximum(codes, 0)] if len(uempty) else np.zeros(n, dtype=bool)
        given = (codes >= 0) & ~blank
        outcomes = np.asarray(contract["outcome"].codes, dtype=object)
        typed["outcome"] = pd.Series(
            np.where(pos >= 0, outcomes[np.maximum(pos, 0)] if n else None, None),
            index=frame.index,
            dtype="str",
        )
        # an unknown code ("none", "N/A") is a problem of its own, never an outcome
        has_outcome = given & (pos >= 0)
        unknown = given & (pos < 0)
    else:
        has_outcome = unknown = np.zeros(n, dtype=bool)
    date_given = date_given if date_given is not None else np.zeros(n, dtype=bool)
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
        date_given & ~has_outcome & ~unknown,
        "outcome_date is given without an outcome",
        "give the outcome code (" + ", ".join(contract["outcome"].codes) + ") or clear "
        "outcome_date",
    )
    if "sex" in frame.columns or "ethnic_group" in frame.columns:
        for name in ("sex", "ethnic_group"):
            if name in frame.columns and not pd.api.types.is_string_dtype(frame[name].dtype):
                s = frame[name]
                typed[name] = s.astype("str").where(s.notna(), None).astype("str")
    if outcome_date is not None:
        typed["outcome_date"] = outcome_date
    if followup is not None:
        typed["followup_end"] = followup
    return _finish(coll, frame, typed, allowed, strict)


@validate_params({"dayfirst": ["boolean", None], "format": [str, None], "strict": ["boolean"]})
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

    Checks (:data:`CONTRACT` ``["cases"]``): ``case_id`` present, non-empty and
    unique (white space normalised: ``" c1"`` and ``"c1"`` are one child);
    ``birth_year`` an integer year (never a full date: that is refused as
    identifying); ``imd_quintile`` 1-5; ``outcome`` one of
    :data:`riskscore.vocabulary.OUTCOMES` (``"none"``, ``"no"`` or ``"N/A"`` are
    refused: leave it empty when there is no outcome); ``outcome_date`` and
    ``followup_end`` dates (same date rule as :func:`validate_events`); an
    ``outcome`` has an ``outcome_date`` and an ``outcome_date`` has an ``outcome``;
    and, when ``events`` is given, every events ``case_id`` is in cases (reported
    with ``table="events"`` and the events row positions, and printed under an
    ``events`` heading of its own; those rows are not in this report's quarantine).
    Extra columns are kept.

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
        dates ``datetime64[ns]``; it carries the contract's mark.

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
    >>> bad = pd.DataFrame({"case_id": ["c1"], "outcome": ["none"],
    ...                     "outcome_date": ["2101-05-01"]})
    >>> validate_cases(bad).problems["check"].tolist()
    ['unknown_outcome']
    """
    return _validate_cases(df, events, dayfirst=dayfirst, format=format, allow=allow, strict=strict)


# ----------------------------------------------------------------------------- every door


def mark_of(df: pd.DataFrame, table: str) -> dict:
    """The mark a frame that keeps the contract carries in ``attrs[MARK]``: the table,
    the columns checked (later ones are guarded when seen) and the contract columns'
    dtypes (a column retyped since, e.g. with ``astype``, is checked again in full)."""
    return {
        "table": table,
        "columns": [str(c) for c in df.columns],
        "dtypes": {c: str(df[c].dtype) for c in CONTRACT[table].names if c in df.columns},
    }


def is_validated(df, table: str) -> bool:
    """Whether ``df`` carries the contract's mark for ``table`` ("events" or "cases").

    Examples
    --------
    >>> import riskscore as rs
    >>> events, cases = rs.vignette()
    >>> is_validated(events, "events"), is_validated(events.copy(), "events")
    (True, True)
    """
    mark = getattr(df, "attrs", {}).get(MARK)
    return isinstance(mark, Mapping) and mark.get("table") == table


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) or (
        isinstance(s.dtype, pd.CategoricalDtype)
        and pd.api.types.is_string_dtype(s.cat.categories.dtype)
    )


def _dtype_ok(s: pd.Series, rule: ColumnRule) -> bool:
    if rule.kind == "id":
        return _is_text(s)
    if rule.kind == "date":
        return s.dtype == np.dtype("datetime64[ns]")
    if rule.kind == "code" and rule.dtype == "category":
        return isinstance(s.dtype, pd.CategoricalDtype) and set(s.cat.categories) <= set(rule.codes)
    if rule.kind == "code":
        return _is_text(s)
    if rule.kind == "number":
        return s.dtype == np.float64
    if rule.kind in ("year", "integer"):
        return pd.api.types.is_integer_dtype(s.dtype)
    return True


def _missing_ids(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return bool((s.cat.codes.to_numpy() < 0).any()) or bool((s.cat.categories == "").any())
    return bool(s.isna().any()) or bool((s == "").any())


def _cheap_checks(df: pd.DataFrame, table: str) -> bool:
    """The contract's row rules on a typed frame, in a few vectorised passes (no text work)."""
    contract = CONTRACT[table]
    if _missing_ids(df["case_id"]):
        return False
    for name in contract.of_kind("date"):
        if name in df.columns and contract[name].required and df[name].isna().any():
            return False
    if table == "events":
        for name in ("agency", "event"):
            if (df[name].cat.codes.to_numpy() < 0).any():
                return False
        value = df["value"].to_numpy() if "value" in df.columns else None
        ev = df["event"]
        codes = ev.cat.codes.to_numpy()
        cats = list(ev.cat.categories)
        valued = [cats.index(e) for e in VALUED_EVENTS if e in cats]
        if len(valued) == 1:  # one compare: no lookup through narrow codes
            is_valued = codes == valued[0]
        else:
            lut = np.zeros(len(cats) + 1, dtype=bool)
            lut[valued] = True
            is_valued = lut[codes]
        if value is None:
            if is_valued.any():
                return False
        else:
            # a value exactly on the rows of valued events
            if (np.isnan(value) == is_valued).any():
                return False
            ranges = {VALUED_EVENTS[e] for e in VALUED_EVENTS if e in cats}
            if len(ranges) == 1 and is_valued.any():
                # one range for every valued event (as today): all values at once
                ((lo, hi),) = ranges
                if np.nanmin(value) < lo or np.nanmax(value) > hi:
                    return False
            elif len(ranges) > 1:
                for e, (lo, hi) in VALUED_EVENTS.items():
                    if e in cats:
                        v = value[codes == cats.index(e)]
                        if (v < lo).any() or (v > hi).any():
                            return False
        if "recorded_date" in df.columns:
            # NaT compares False: a missing recorded_date passes
            if (df["recorded_date"].to_numpy() < df["date"].to_numpy()).any():
                return False
        return True
    if df["case_id"].duplicated().any():
        return False
    if "outcome" in df.columns:
        o = df["outcome"]
        given = o.notna().to_numpy()
        if not o[given].isin(contract["outcome"].codes).all():
            return False
    else:
        given = np.zeros(len(df), dtype=bool)
    dated = df["outcome_date"].notna().to_numpy() if "outcome_date" in df.columns else given & False
    if (given != dated).any():
        return False
    for name in ("birth_year", "imd_quintile"):
        if name in df.columns:
            rule = contract[name]
            v = df[name].dropna()
            if ((v < rule.low) | (v > rule.high)).any():
                return False
    return True


def _trusted(df: pd.DataFrame, table: str, allow) -> bool:
    """A marked frame whose dtypes and row rules still hold (new columns are guarded)."""
    if not is_validated(df, table) or df.columns.has_duplicates:
        return False
    contract = CONTRACT[table]
    dtypes = df.attrs[MARK].get("dtypes") or {}
    for rule in contract.columns:
        if rule.name not in df.columns:
            if rule.required:
                return False
            continue
        if not _dtype_ok(df[rule.name], rule):
            return False
        if rule.name in dtypes and dtypes[rule.name] != str(df[rule.name].dtype):
            return False  # retyped since it was checked
    if not _cheap_checks(df, table):
        return False
    checked = set(df.attrs[MARK].get("columns", ()))
    new = [c for c in df.columns if str(c) not in checked]
    if new:
        _guard(df, table, _allowed(df, allow), columns=new)
    return True


def declare_valid(
    df: pd.DataFrame, table: str, *, allowed: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Mark a typed frame that keeps the contract by construction (a generator's output).

    For :mod:`riskscore.synthetic`, whose tables are built from the vocabulary: the
    dtypes and the row rules are checked (the cheap checks every entry point runs on a
    marked frame), the text checks and the identifying-data guard are not. ``allowed``
    records columns outside the contract that are known to be safe. Returns ``df``,
    marked in place.

    Raises
    ------
    SchemaError
        If the frame does not have the contract's dtypes or breaks a row rule.

    Examples
    --------
    >>> import pandas as pd
    >>> cs = declare_valid(pd.DataFrame({"case_id": pd.Series(["c1"], dtype="str")}), "cases")
    >>> is_validated(cs, "cases")
    True
    """
    contract = CONTRACT[table]
    wrong = [
        r.name
        for r in contract.columns
        if (r.name in df.columns and not _dtype_ok(df[r.name], r))
        or (r.required and r.name not in df.columns)
    ]
    if wrong or not _cheap_checks(df, table):
        raise SchemaError(
            f"{table}: declared valid but it is not (columns {wrong} missing or of the wrong "
            f"dtype, or a row rule fails); validate it with validate_{table}."
        )
    if allowed:
        df.attrs[ALLOWED] = dict(check_allow(allowed, set(map(str, df.columns))))
    df.attrs[MARK] = mark_of(df, table)
    return df


_trusting = ThreadFlag()


@contextlib.contextmanager
def checked_events():
    """Within this block, on this thread, marked events are taken as they are.

    For riskscore's own audits, which check their events once on entry and then hand
    parts of them (a chunk of cases, one agency's records) to the encoder a dozen
    times: each of those re-checks would cost a few milliseconds per million events
    (a third of the audit's non-encoding time at a million events per chunk). Only
    this thread trusts marks inside the block: a call from any other thread (or
    after the block) is checked as ever.

    Examples
    --------
    >>> import riskscore as rs
    >>> events, _ = rs.vignette()
    >>> with checked_events():
    ...     ensure_events(events) is events
    True
    """
    with _trusting.on():
        yield


def ensure_events(events: pd.DataFrame, *, allow: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Events that keep the data contract, or :class:`~riskscore.SchemaError`.

    What every public function that takes events calls first. A frame from
    :func:`read_events` / :func:`validate_events` (it carries the contract's mark)
    comes back as it is after a cheap check (dtypes, missing values, value ranges:
    a few vectorised passes; columns added since are guarded); any other frame is
    validated in full and returned typed, or refused with exactly the message
    ``validate_events(events, strict=True)`` gives. Text dates must be ISO here:
    read other formats with ``dayfirst=`` / ``format=`` in :func:`read_events`.

    Parameters
    ----------
    events : pandas.DataFrame
    allow : mapping of str to str, optional
        As in :func:`validate_events`.

    Returns
    -------
    pandas.DataFrame
        Typed, marked events.

    Raises
    ------
    SchemaError, IdentifyingDataError

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"case_id": ["c1"], "date": ["2101-01-05"], "agency": ["gp"],
    ...                     "event": ["reliever_prescription"]})
    >>> ev = ensure_events(raw)
    >>> str(ev["date"].dtype), ensure_events(ev) is ev
    ('datetime64[ns]', True)
    """
    if isinstance(events, pd.DataFrame):
        if allow is None and _trusting and is_validated(events, "events"):
            return events  # parts of events checked on entry to a riskscore audit
        if _trusted(events, "events", allow):
            return events
    return validate_events(events, allow=allow, strict=True).valid


def ensure_cases(
    cases: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    allow: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Cases that keep the data contract, or :class:`~riskscore.SchemaError` (as
    :func:`ensure_events`).

    With ``events``, events whose ``case_id`` is not in cases are refused too, with
    the message ``validate_cases(cases, events, strict=True)`` gives.

    Examples
    --------
    >>> import pandas as pd
    >>> cs = pd.DataFrame({"case_id": ["c1", "c1"]})
    >>> try:
    ...     ensure_cases(cs)
    ... except SchemaError as e:
    ...     print(e.report.problems["check"].tolist())
    ['duplicate_case_id']
    """
    _check_events_for_cases(events)
    if isinstance(cases, pd.DataFrame) and _trusted(cases, "cases", allow):
        if events is None:
            return cases
        ev_ids = _category_text(events["case_id"])
        cs_ids = _category_text(cases["case_id"])
        if ev_ids.isin(cs_ids).all():
            return cases
    return validate_cases(cases, events, allow=allow, strict=True).valid


def _category_text(s: pd.Series) -> pd.Index:
    """Distinct ids as text (the categories of a categorical, which are few).

    An object Index of str: pandas' ``isin`` between string-dtype indexes goes through
    a Python list (about 40 times slower for 100,000 ids).
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        # which categories occur: one scatter (np.unique would sort every row)
        seen = np.zeros(len(s.cat.categories) + 1, dtype=bool)
        seen[codes] = True  # a missing id's -1 marks the extra last slot
        text = np.asarray(s.cat.categories, dtype=object)[seen[:-1]]
        if pd.api.types.is_string_dtype(s.cat.categories.dtype):
            return pd.Index(text, dtype=object)  # str objects already
    else:
        text = pd.unique(s.astype("str"))
    return pd.Index(np.asarray(text, dtype=object).astype(str).astype(object), dtype=object)


# ----------------------------------------------------------------------------- features

#: What a feature column may hold: numbers (inferred kinds of an object column)
_NUMBER_KINDS = frozenset(
    {"integer", "floating", "mixed-integer-float", "boolean", "decimal", "empty"}
)


def refuse_non_numbers(values, name: str | None, who: str) -> None:
    """Raise :class:`SchemaError` unless ``values`` (column ``name``, or an array) holds numbers.

    Booleans, integers and floats of any kind (nullable ones too), and object or
    categorical columns holding only those, are numbers. Dates and durations would
    be converted to nanoseconds, complex numbers lose their imaginary part and text
    that looks like a number is a sign the table was read wrongly: all are refused.
    Features are part of the data contract, so every layer that reads a feature table
    (coverage, the models) asks here.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        values, dtype = dtype.categories, dtype.categories.dtype
    if dtype.kind in "biuf":
        return
    if dtype.kind == "O" and pd.api.types.infer_dtype(values, skipna=True) in _NUMBER_KINDS:
        return
    column = f"column {name!r}" if name is not None else "the array"
    complex_note = " (Complex data not supported.)" if dtype.kind == "c" else ""
    raise NotNumbersError(
        f"{who}: {column} is not numbers ({dtype}){complex_note}; features are numbers "
        "(float64, NaN for unknown), as riskscore.encode_features returns them. Fix: "
        "convert the column (pd.to_numeric) or re-read the table with numeric types."
    )


# ----------------------------------------------------------------------------- readers

_SEPARATORS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def _check_encoding(encoding) -> str:
    if encoding is None:
        return "utf-8-sig"  # UTF-8, with or without a byte-order mark
    try:
        return codecs.lookup(str(encoding)).name
    except LookupError:
        raise ParameterError(
            f"encoding={encoding!r} is not a text encoding Python knows; riskscore reads "
            "UTF-8 by default, and e.g. encoding='cp1252', 'latin-1' or 'utf-16'."
        ) from None


def _open_bytes(p: Path):
    return gzip.open(p, "rb") if p.name.lower().endswith(".gz") else p.open("rb")


def _decode_error(p: Path, encoding: str) -> SchemaError:
    """Where a file stops being ``encoding``: the byte and its line (error path only)."""
    with _open_bytes(p) as fh:
        raw = fh.read()
    try:
        raw.decode(encoding)
        where = ""
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        where = f" (byte 0x{raw[exc.start]:02x} on line {line})"
    told = encoding not in ("utf-8", "utf-8-sig", "utf_8", "utf_8_sig")
    what = f"{encoding}" if told else "UTF-8"
    return SchemaError(
        f"{p.name}: the file is not {what} text{where}. riskscore reads UTF-8 (with or "
        "without a byte-order mark) unless told; pass the file's encoding with "
        "encoding=, e.g. encoding='cp1252' for a file saved by Excel on Windows, "
        "encoding='latin-1', or encoding='utf-16'."
    )


def _read_csv(p: Path, encoding) -> pd.DataFrame:
    enc = _check_encoding(encoding)
    with _open_bytes(p) as fh:
        head = fh.read(4)
    if not head:
        raise SchemaError(
            f"{p.name} is empty (0 bytes): it has no header line and no rows. Fix: export "
            "the table again, with a header line and at least one row."
        )
    if encoding is None and head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise SchemaError(
            f"{p.name}: the file looks UTF-16 encoded (it starts with a UTF-16 byte-order "
            "mark). riskscore reads UTF-8 (with or without a byte-order mark) unless told; "
            "read it with encoding='utf-16', or save it as UTF-8 CSV."
        )
    try:
        # Every column as text, only empty cells missing: validation sees exactly what
        # the file says and parses it itself ("NA" is not silently missing).
        df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""], encoding=enc)
    except UnicodeDecodeError:
        raise _decode_error(p, enc) from None
    except pd.errors.EmptyDataError:
        raise SchemaError(
            f"{p.name} holds no header line (only blank lines). Fix: export the table again "
            "with a header line of column names."
        ) from None
    except pd.errors.ParserError as exc:
        refuse_ragged_lines(p, enc)
        raise SchemaError(
            f"{p.name} cannot be read as comma-separated values: {exc}. Fix: check quoting "
            "and that every line has as many fields as the header."
        ) from None
    if not isinstance(df.index, pd.RangeIndex):
        # more fields than header names: pandas made the first column the index and
        # shifted every other column left (case_id would hold the dates)
        refuse_ragged_lines(p, enc)
    if any(re.search(r"\.\d+$", str(c)) for c in df.columns):
        # pandas renames a repeated header name ("event", "event.1"): give the file's
        # own names back, so validation reports the repeat as it does for a frame
        header = pd.read_csv(
            p, header=None, nrows=1, dtype=str, keep_default_na=False, encoding=enc
        ).iloc[0]
        if len(header) == len(df.columns):
            df.columns = header.tolist()
    return df


def refuse_ragged_lines(p: Path, enc: str) -> None:
    """Refuse a CSV with a line of more fields than its header, naming the line (pandas
    would make the first column the index and shift every other column left)."""
    with _open_bytes(p) as raw:
        fh = io.TextIOWrapper(raw, encoding=enc, errors="replace", newline="")
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return
        for fields in reader:
            if len(fields) > len(header):
                raise SchemaError(
                    f"{p.name}: line {reader.line_num} has {len(fields)} fields but the header "
                    f"{len(header)} names; its values would be read into the wrong columns. "
                    "Fix: remove the extra fields (a stray comma, or a value holding a comma "
                    'that is not quoted: write it "in quotes").'
                )


def _looks_delimited(df: pd.DataFrame, name: str, contract: TableContract) -> None:
    """Refuse a file whose header holds another separator and lacks the contract's columns."""
    header = [str(c) for c in df.columns]
    if all(r.name in df.columns for r in contract.columns if r.required):
        return
    joined = "".join(header)
    counts = {sep: joined.count(sep) for sep in _SEPARATORS}
    sep = max(counts, key=counts.get)
    if counts[sep] == 0:
        return
    raise SchemaError(
        f"{name} looks {_SEPARATORS[sep]}-separated: its header holds {sep!r} and none of "
        f"the required columns ({', '.join(r.name for r in contract.columns if r.required)}) "
        "was found. riskscore reads comma-separated files. Fix: save it as comma-separated "
        f"CSV, or read it with pandas.read_csv(path, sep={sep!r}, dtype=str, "
        f"keep_default_na=False) and pass the table to validate_{contract.table}."
    )


def _unreadable_parquet(label: str, exc: BaseException) -> SchemaError:
    reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return SchemaError(
        f"{label} cannot be read as Parquet ({reason}). Fix: check that every file "
        "is a whole Parquet file (a folder must hold only the table's parts), or "
        "export the table again."
    )


def _read_parquet(p: Path, label: str | None = None) -> pd.DataFrame:
    """One Parquet file, or one line saying why it cannot be read."""
    import pyarrow as pa

    try:
        return pd.read_parquet(p)
    except (pa.ArrowException, OSError) as exc:
        _refuse_repeated_parquet_columns(p, label or p.name)
        raise _unreadable_parquet(label or p.name, exc) from None


def _refuse_repeated_parquet_columns(p: Path, label: str) -> None:
    """Refuse a whole Parquet file whose schema repeats a column name (pyarrow writes
    such files; pandas cannot read them), naming the columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(p).names
    except (pa.ArrowException, OSError):
        return  # not a whole Parquet file: said by the caller
    repeated = list(dict.fromkeys(n for i, n in enumerate(names) if n in names[:i]))
    if repeated:
        raise SchemaError(
            f"{label}: column(s) {', '.join(repr(n) for n in repeated[:5])} appear more than "
            "once in the file (every row fails: it is not clear which holds the values). "
            "Fix: keep one column of each name and write the file again."
        )


# a folder of the form key=value (Hive partitioning): pyarrow adds a column "key"
_PARTITION_FOLDER = re.compile(r"^([^=]+)=(.*)$")
_KINDS = {
    "integer": "numbers",
    "integer-na": "numbers",
    "floating": "numbers",
    "mixed-integer-float": "numbers",
    "decimal": "numbers",
    "datetime64": "dates",
    "datetime": "dates",
    "date": "dates",
    "string": "text",
    "boolean": "True/False values",
    "timedelta64": "durations",
    "timedelta": "durations",
}


def _kind_of(s: pd.Series) -> str | None:
    """What a file's column holds (numbers, dates, text, ...), None when only missing."""
    if not s.notna().any():
        return None
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = pd.Series(s.cat.categories)
    kind = pd.api.types.infer_dtype(s, skipna=True)
    return _KINDS.get(kind, kind)


def _listed(files: list[str]) -> str:
    return ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")


def _folder_parts(p: Path) -> list[Path]:
    """The Parquet files of a folder, as pyarrow and the Dask reader find them (names
    starting with ``_`` or ``.`` passed over); any other file is refused."""
    parts = []
    for f in sorted(p.rglob("*")):
        relative = f.relative_to(p)
        if f.is_dir() or any(part.startswith((".", "_")) for part in relative.parts):
            continue
        if not f.name.lower().endswith((".parquet", ".pq")):
            raise _unreadable_parquet(
                f"{p.name}/{relative.as_posix()}", ValueError("not a .parquet or .pq file")
            )
        parts.append(f)
    if not parts:
        raise SchemaError(
            f"directory '{p}' holds no .parquet or .pq files; riskscore reads a CSV file, "
            "a Parquet file or a directory of Parquet files"
        )
    return parts


def refuse_key_value_folders(p: Path, files: list[Path], columns: list) -> None:
    """Raise :class:`SchemaError` if a file of folder ``p`` sits in a ``key=value`` folder
    (Hive partitioning) naming a column the file does not hold (``columns``: each
    file's column names). pyarrow would add the column from the folder names, and
    riskscore reads only the columns stored in the files (both the pandas and the Dask
    reader), so the values would be lost; a key the files hold is read from the files.

    Examples
    --------
    >>> from pathlib import Path
    >>> folder = Path("events")
    >>> refuse_key_value_folders(folder, [folder / "case_id=a" / "0.parquet"], [["case_id"]])
    >>> try:
    ...     refuse_key_value_folders(folder, [folder / "year=2101" / "0.parquet"], [["case_id"]])
    ... except SchemaError as exc:
    ...     print(str(exc)[:61])
    events: the files sit in key=value folders (year=2101) naming
    """
    lost: dict[str, list[str]] = {}
    for f, held in zip(files, columns, strict=True):
        for folder in f.relative_to(p).parent.parts:
            match = _PARTITION_FOLDER.match(folder)
            if match and match.group(1) not in held:
                lost.setdefault(match.group(1), []).append(folder)
    if lost:
        keys = ", ".join(repr(k) for k in lost)
        shown = _listed(sorted({f for folders in lost.values() for f in folders}))
        raise SchemaError(
            f"{p.name}: the files sit in key=value folders ({shown}) naming column(s) "
            f"{keys} that the files themselves do not hold; riskscore reads the columns "
            "stored in the files, not folder names, so those values would be lost. Fix: "
            "write the table without partition folders (e.g. DataFrame.to_parquet "
            "without partition_cols) so that every file holds every column, or move the "
            "files out of the key=value folders if the names carry nothing needed."
        )


def _read_parquet_folder(p: Path, table: str | None) -> pd.DataFrame:
    """A folder of Parquet files as one table: every file's columns (a column some files
    lack is missing there; a required one is refused naming the files), ids stored as
    whole numbers in some files and text in others read as text, and other columns
    whose type differs between files refused naming the files. Folder names are not
    read as columns, and key=value folders naming a column the files lack are refused
    (both as the Dask reader, riskscore.scale.read_events_dask)."""
    files = _folder_parts(p)
    names = [f"{p.name}/{f.relative_to(p).as_posix()}" for f in files]
    frames = [_read_parquet(f, name) for f, name in zip(files, names, strict=True)]
    refuse_key_value_folders(p, files, [frame.columns for frame in frames])
    columns = list(dict.fromkeys(c for frame in frames for c in frame.columns))
    if table is not None:
        required = [r.name for r in CONTRACT[table].columns if r.required]
        for column in (c for c in required if c in columns):
            lacking = [n for n, fr in zip(names, frames, strict=True) if column not in fr]
            if lacking:
                raise SchemaError(
                    f"{p.name}: required column {column!r} of the {table} table is missing "
                    f"from {_listed(lacking)} (other files of the folder hold it). Fix: "
                    "write every file of the table with its required columns."
                )
    for column in columns:
        kinds: dict[str, list[str]] = {}
        for name, frame in zip(names, frames, strict=True):
            if column in frame.columns:
                kind = _kind_of(frame[column])
                if kind is not None:
                    kinds.setdefault(kind, []).append(name)
        if column == "case_id" and len(kinds) > 1:
            # ids are text: whole numbers in one file are the same ids as text
            # (True/False are left as they are, for validation to flag)
            for name, frame in zip(names, frames, strict=True):
                if "case_id" in frame.columns and _kind_of(frame["case_id"]) == "numbers":
                    # as text, 1e20 or 1.5 would pass as an id validation cannot flag
                    _, inexact = _float_ids(frame["case_id"])
                    if inexact.any():
                        raise SchemaError(
                            f"{p.name}: column 'case_id' of {name} holds numbers that are "
                            f"not exact whole numbers at rows {first_rows(inexact)} of that file (from 0; a "
                            "fraction, an infinity, or beyond 2**53, where floats lose "
                            "digits), while other files of the folder hold ids as text. "
                            "Fix: write the ids of every file as text (e.g. CASE-000001)."
                        )
                    frame["case_id"] = id_text(frame["case_id"]).where(
                        frame["case_id"].notna(), None
                    )
            continue
        if len(kinds) > 1:
            held = "; ".join(f"{kind} in {_listed(where)}" for kind, where in kinds.items())
            raise SchemaError(
                f"{p.name}: column {column!r} holds different types in different files "
                f"({held}). Fix: write every file of the table with the same column "
                "types (riskscore reads the folder as one table)."
            )
    # a column some files hold only missing in is left to the files holding values
    # (pandas warns on concatenating all-missing columns)
    held = {c for c in columns for fr in frames if c in fr.columns and fr[c].notna().any()}
    kept = [
        fr.drop(columns=[c for c in fr.columns if c in held and not fr[c].notna().any()])
        for fr in frames
    ]
    kept = [fr for fr in kept if len(fr)] or kept[:1]
    out = pd.concat(kept, ignore_index=True, sort=False) if len(kept) > 1 else kept[0]
    out = out.reset_index(drop=True)
    return out.reindex(columns=columns) if list(out.columns) != columns else out


def _read_table(path, encoding=None, table=None) -> tuple[pd.DataFrame, int | None]:
    """The table and, for CSV, the file line of its first data row (2)."""
    p = Path(path)
    if not p.exists():
        raise MissingFileError(f"no such file or directory: '{p}'")
    name = p.name.lower()
    if p.is_dir():
        return _read_parquet_folder(p, table), None
    if name.endswith((".parquet", ".pq")):
        if p.stat().st_size == 0:
            raise SchemaError(f"{p.name} is empty (0 bytes); it is not a Parquet file.")
        return _read_parquet(p), None
    if name.endswith((".csv", ".csv.gz")):
        return _read_csv(p, encoding), 2
    raise SchemaError(
        f"cannot tell the format of '{p.name}': riskscore reads CSV (.csv, .csv.gz) and "
        "Parquet (.parquet, .pq, or a directory of Parquet files); rename the file with "
        "its format's extension"
    )


def _read(path, table, validate, strict, return_report, encoding, **kwargs):
    df, first_line = _read_table(path, encoding, table)
    name = Path(path).name
    _looks_delimited(df, name, CONTRACT[table])
    if len(df) == 0:
        raise SchemaError(
            f"{name} has a header but no data rows (0 {table}); there is nothing to "
            "validate or audit. Fix: export the table again with its rows."
        )
    report = validate(df, strict=False, first_line=first_line, **kwargs)
    if not report.ok:
        if strict:
            raise SchemaError(
                f"{name}: {report}\n(pass strict=False to keep the valid rows and "
                "get the rest back with return_report=True)",
                report=report,
            )
    if not report.ok and not return_report:
        # the caller who asked for the report has the quarantine in hand already
        warn_user(
            DataQualityWarning(
                f"{name}: {len(report.quarantine):,} of "
                f"{len(report.valid) + len(report.quarantine):,} {report.table} rows "
                f"quarantined ({len(report.problems)} problem(s)); pass return_report=True "
                "to get them and the report"
            )
        )
    return (report.valid, report) if return_report else report.valid


@validate_params(
    {
        "path": ["path"],
        "dayfirst": ["boolean", None],
        "format": [str, None],
        "strict": ["boolean"],
        "return_report": ["boolean"],
        "engine": [StrOptions("pandas", "dask")],
        "encoding": [str, None],
    }
)
def read_events(
    path: str | PathLike,
    *,
    dayfirst: bool | None = None,
    format: str | None = None,
    allow: Mapping[str, str] | None = None,
    strict: bool = True,
    return_report: bool = False,
    engine: str = "pandas",
    encoding: str | None = None,
):
    """Read and validate an events table from CSV or Parquet.

    The format comes from the name: ``.csv`` or ``.csv.gz`` (every column read as
    text, only empty cells missing, then parsed by validation), ``.parquet``/``.pq``
    or a directory of Parquet files. CSV files must be comma-separated and UTF-8
    (with or without a byte-order mark) unless ``encoding=`` says otherwise. An
    empty file, a header without rows, a file in another encoding or with another
    separator is refused with one :class:`~riskscore.SchemaError` saying so.
    Messages about a CSV file name its line numbers (line 1 is the header, line 2
    the first data row); ``report.problems["rows"]`` stays 0-based.

    A directory is read as one table, as :func:`riskscore.scale.read_events_dask`
    reads it: every file's columns (a column some files lack is missing in those; a
    required column missing from some file is refused naming the file), ids stored
    as whole numbers in some files and text in others read as text, any other column
    whose type differs between files refused naming the files, and ``key=value``
    folder names not read as columns (refused when the files lack that column).

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
    engine : {"pandas", "dask"}, default="pandas"
        ``"dask"`` reads a folder of Parquet files, or one Parquet file, lazily
        (riskscore[dask]; see :func:`riskscore.scale.read_events_dask`) and returns a
        Dask DataFrame; a CSV file is read with ``"pandas"``.
    encoding : str, optional
        Text encoding of a CSV file (default UTF-8, with or without a byte-order
        mark); e.g. ``"cp1252"`` (Excel on Windows), ``"latin-1"``, ``"utf-16"``.

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, ValidationReport)
        The valid, typed events (see :func:`validate_events`).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SchemaError
        For an unknown file extension, an empty, header-only, wrongly encoded or
        wrongly separated file, or with ``strict=True`` any problem.
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
        _dask_read_options(dayfirst, format, allow, strict, return_report, encoding)
        # the Dask path lives in riskscore.scale, which registers itself
        return backend("read_events")(path, validate=True)
    if engine != "pandas":
        raise ParameterError(f"engine must be 'pandas' or 'dask', got {engine!r}.")
    return _read(
        path,
        "events",
        _validate_events,
        strict,
        return_report,
        encoding,
        dayfirst=dayfirst,
        format=format,
        allow=allow,
    )


def _dask_read_options(dayfirst, format, allow, strict, return_report, encoding) -> None:
    given = {
        "dayfirst": dayfirst is not None,
        "format": format is not None,
        "allow": bool(allow),
        "strict=False": not strict,
        "return_report": return_report,
        "encoding": encoding is not None,
    }
    bad = [k for k, v in given.items() if v]
    if bad:
        raise ParameterError(
            f"engine='dask' reads riskscore's Parquet layout with ISO dates and strict "
            f"validation only; {bad} are not supported there. Read with pandas, fix, and "
            "write with riskscore.scale.write_events_parquet."
        )


@validate_params(
    {
        "path": ["path"],
        "dayfirst": ["boolean", None],
        "format": [str, None],
        "strict": ["boolean"],
        "return_report": ["boolean"],
        "encoding": [str, None],
    }
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
    encoding: str | None = None,
):
    """Read and validate a cases table from CSV or Parquet.

    Parameters
    ----------
    path : str or path-like
        File or directory (formats, encodings and refusals as in :func:`read_events`).
    events : pandas.DataFrame, optional
        Events to check against: every events ``case_id`` must be in cases.
    dayfirst, format, allow, strict, return_report, encoding
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

    def validate(df, **kw):
        return _validate_cases(df, events, **kw)

    return _read(
        path,
        "cases",
        validate,
        strict,
        return_report,
        encoding,
        dayfirst=dayfirst,
        format=format,
        allow=allow,
    )
