"""Source adapters as declarative specs, run by one reader.

A :class:`SourceSpec` describes a source extract: its name in the report, the agencies
it feeds, the accepted names of each column it reads, and the function that sorts its
rows into events or left-out reasons. :func:`read_source` runs any spec: it finds the
columns, reads the dates, checks every row (case identifier, date, period), hands the
rest to the spec's function, and builds the events, the report and the coverage.

Every adapter accounts for every input row (or, for multi-valued fields, every input
entry) exactly once per field in its report, so that nothing is dropped without being
counted: the ``rows`` of one ``field`` add up to the number of input rows.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import pandas as pd

from riskscore._arrays import nested_cells
from riskscore._dates import (
    DATE_EMPTY,
    DATE_OK,
    DATE_RANGE,
    FIRST_DAY,
    LAST_DAY,
    guessed_text,
)
from riskscore._dates import parse_dates as parse_text_dates
from riskscore.errors import ParameterError, SchemaError

# the adapters' shared parts too: every adapter module imports them from here
__all__ = [
    "AdapterResult",
    "REPORT_REASONS",
    "SourceSpec",
    "Classified",
    "Column",
    "Dated",
    "Extract",
    "case_column",
    "check_extract",
    "check_single_values",
    "check_unique_columns",
    "clean_text",
    "code_checks",
    "code_frame",
    "code_list",
    "code_map",
    "find_column",
    "first_where",
    "make_events",
    "norm_name",
    "read_source",
    "row_date",
]

#: Output columns of every adapter's ``events`` table (the data contract, in order).
EVENT_COLUMNS_OUT: tuple[str, ...] = (
    "case_id",
    "date",
    "agency",
    "event",
    "value",
    "recorded_date",
)
#: Columns of every adapter's ``report`` table.
REPORT_COLUMNS: tuple[str, ...] = ("source", "field", "status", "reason", "code", "rows")
#: Columns of every adapter's ``coverage`` table.
COVERAGE_COLUMNS: tuple[str, ...] = ("agency", "from", "to", "source")

#: Why a row was mapped or left out. ``status`` is "mapped" only for reason "mapped".
REPORT_REASONS: dict[str, str] = {
    "mapped": "turned into an event",
    "missing_case_id": "case identifier blank",
    "missing_date": "the date that dates the event is blank",
    "invalid_date": "the date could not be read: not ISO YYYY-MM-DD and not in the stated "
    "format= or dayfirst= order (other dates are never guessed), or before its start",
    "outside_date_range": "dated before start or after end",
    "unknown_code": "code not in the published code list, or not in a valid code form",
    "code_not_mapped": "valid code with no matching riskscore event (e.g. a non-asthma diagnosis)",
    "no_value": "the field is blank on this row (nothing to map)",
    "unreadable_number": "a number could not be read: text that is not a number "
    "(e.g. '1,000' or 'x'), or not finite (inf, nan written out)",
    "invalid_value": "numbers that cannot be right (e.g. sessions missed > sessions possible)",
    "admitted": "emergency attendance that ended in admission (counted by the admitted-care adapter)",
    "missing_disposal": "emergency attendance whose discharge destination is blank",
    "not_emergency": "admission method is not an emergency admission (emergency_only=True)",
    "duplicate": "same case, event and date already mapped (e.g. another episode of one spell, "
    "or an episode returned again in a later census year)",
}

_FIRST = pd.Timestamp(FIRST_DAY, unit="D")
_LAST = pd.Timestamp(LAST_DAY, unit="D")
#: Kinds of an object column (pandas' inferred dtype) that hold only single values.
_SCALAR_KINDS = frozenset(
    {"string", "empty", "integer", "floating", "mixed-integer-float", "boolean", "decimal",
     "datetime", "datetime64", "date", "bytes"}
)  # fmt: skip

#: A row check: where it fails, and the reason reported there.
Check = tuple[pd.Series | np.ndarray, str]


class AdapterResult(NamedTuple):
    """What a source adapter returns.

    Attributes
    ----------
    events : pandas.DataFrame
        Contract events: ``case_id, date, agency, event, value, recorded_date``
        (dates as ``datetime64``, ``value`` float, ``recorded_date`` NaT where not known).
    report : pandas.DataFrame
        One row per ``(field, reason, code)``: ``source, field, status, reason, code,
        rows``. For each ``field`` the ``rows`` add up to the input rows (or entries,
        for a field holding several codes per row). ``code`` names the offending code
        for ``unknown_code`` rows and is empty otherwise.
    coverage : pandas.DataFrame
        ``agency, from, to, source``: the period the extract covers for each agency it
        feeds (the stated ``start``/``end`` when given, else the span of the dates read
        and kept: rows left out for a blank, unreadable or out-of-range date never
        stretch it).
        Pass it, combined with others, to :func:`riskscore.coverage.coverage_table`.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore.sources import read_prescriptions
    >>> rx = pd.DataFrame({"case_id": ["c1"], "issue_date": ["2101-03-04"],
    ...                    "bnf_code": ["0301011R0AAAPAP"]})
    >>> events, report, coverage = read_prescriptions(rx)
    >>> events["event"].tolist()
    ['reliever_prescription']
    """

    events: pd.DataFrame
    report: pd.DataFrame
    coverage: pd.DataFrame


# --- the spec -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column a spec reads: its ``role`` in the spec, accepted ``names`` (most usual
    first; case and all but letters and digits ignored), ``what`` it holds (for the
    message when it is missing), the adapter keyword (``param``) that names it when it
    has another name, and whether an extract without it is refused (``required``;
    otherwise the classifier asks for it when it needs it). Roles ``"case_id"``
    (required) and ``"date"`` (the date of each row, read by the reader) are fixed."""

    role: str
    names: tuple[str, ...] | str = ()
    what: str = ""
    param: str | None = None
    required: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.names, str):  # "ADMIDATE admission_date": names apart by spaces
            object.__setattr__(self, "names", tuple(self.names.split()))


def case_column(names: str) -> Column:
    """The case identifier column every spec reads (``case_id_column=`` names it)."""
    return Column("case_id", names, "case identifier", "case_id_column", required=True)


def row_date(what: str, names: str) -> Column:
    """The date of each row, read by the reader (``date_column=`` names it)."""
    return Column("date", names, what, "date_column", required=True)


class Dated(NamedTuple):
    """Dates read from text: the dates (to the day), where blank, where unreadable."""

    dates: pd.Series
    blank: pd.Series
    bad: pd.Series


@dataclass(frozen=True, eq=False)
class Classified:
    """One report field's units (the extract's rows, or entries of a multi-code field).

    The reader reports for each unit the first reason that applies, in this order:
    ``missing_case_id``, ``before_dates``, ``blank_reason`` (blank date),
    ``invalid_date``, ``outside_date_range``, ``checks``; the rest are mapped, except
    a ``duplicate`` of an earlier mapped unit (``duplicates`` key, earlier by
    ``order``). ``case`` and ``dated`` default to the extract's case identifiers and
    ``date`` column; ``covered`` (dates counted for coverage) and ``first`` (coverage
    starts) to the dates. Each mapped unit is one ``event`` (``recorded`` then) of the
    spec's first agency, unless ``events`` builds the events from the mapped mask.
    """

    field: str
    event: str | pd.Series | None = None
    checks: Sequence[Check] = ()
    before_dates: Sequence[Check] = ()
    blank_reason: str = "missing_date"
    code: pd.Series | None = None
    case: pd.Series | None = None
    dated: Dated | None = None
    recorded: pd.Series | None = None
    duplicates: pd.DataFrame | None = None
    order: np.ndarray | None = None
    covered: pd.Series | None = None
    first: pd.Series | None = None
    events: Callable[[pd.Series], pd.DataFrame] | None = None


@dataclass(frozen=True)
class SourceSpec:
    """A source extract, described for the one reader.

    Attributes
    ----------
    source : str
        Name of the extract in the report and coverage tables.
    agencies : tuple of str
        Agencies it feeds (a coverage row each); the first records its events.
    columns : tuple of Column
        Columns read, looked up in this order: ``role``, accepted ``names``, ``what``
        they hold, the adapter keyword (``param``) naming one, ``required``.
    classify : callable
        The source's own logic: ``classify(extract, **options)`` sorts the rows
        into one ``Classified`` per report field (events or left-out reasons).

    Examples
    --------
    >>> from riskscore.sources import SPECS
    >>> spec = next(s for s in SPECS if s.source == "prescriptions")
    >>> spec.column("date").names[:2], spec.column("date").param
    (('issue_date', 'IssueDate'), 'date_column')
    """

    source: str
    agencies: tuple[str, ...]
    columns: tuple[Column, ...]
    classify: Callable[..., Classified | Sequence[Classified]]

    def column(self, role: str) -> Column:
        """The column the spec calls ``role``."""
        return next(c for c in self.columns if c.role == role)


@dataclass(frozen=True, eq=False)
class Extract:
    """An extract as the reader found it (``found``: role -> column or None), for ``classify``."""

    spec: SourceSpec
    df: pd.DataFrame
    found: Mapping[str, str | None]
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    format: str | None
    dayfirst: bool | None

    def column(self, role: str, *, required: bool = False) -> str | None:
        """The column found for ``role``; with ``required`` refuse an extract without it."""
        if self.found[role] is None and required:
            raise _missing(self.df, self.spec.column(role), self.spec.source)
        return self.found[role]

    def text(self, role: str, *, required: bool = False) -> pd.Series | None:
        """The column as stripped text (blank as <NA>), or None when absent."""
        col = self.column(role, required=required)
        return None if col is None else clean_text(self.df[col])

    def number(self, role: str, *, required: bool = False) -> pd.Series | None:
        """The column as numbers (unreadable as NaN), or None when absent."""
        col = self.column(role, required=required)
        return None if col is None else pd.to_numeric(self.df[col], errors="coerce")

    def read_dates(self, values: pd.Series) -> Dated:
        """Dates read with the caller's ``format``/``dayfirst``: all adapters' dates pass here."""
        return parse_dates(values, format=self.format, dayfirst=self.dayfirst)

    @cached_property
    def case(self) -> pd.Series:
        """The case identifiers as text (blank as <NA>)."""
        return self.text("case_id", required=True)

    @cached_property
    def dated(self) -> Dated | None:
        """The ``date`` column, read (None when the spec has none or it is absent)."""
        col = self.found.get("date")
        return None if col is None else self.read_dates(self.df[col])

    def error(self, problem: str, fix: str) -> SchemaError:
        """A :class:`SchemaError` naming the source and the columns present."""
        columns = _some(self.df.columns)
        return SchemaError(f"{self.spec.source}: {problem}. Columns present: {columns}. {fix}")


def check_extract(extract, source: str) -> None:
    """Refuse an extract that is not a DataFrame, naming the source (not pandas' error)."""
    if not isinstance(extract, pd.DataFrame):
        raise SchemaError(
            f"{source}: the extract must be a pandas DataFrame, got {type(extract).__name__}. "
            "Fix: read the file with pandas.read_csv(path, dtype=str) first."
        )


def check_single_values(extract: pd.DataFrame, columns: Iterable[object], source: str) -> None:
    """Refuse a cell of ``columns`` holding a list, dict, set or array (say where).

    Such a cell (nested JSON, a reader gone wrong) would be read as its printed form:
    a case identifier ``"['a']"``. Columns of plain values are passed over cheaply.
    """
    for col in dict.fromkeys(c for c in columns if c is not None and c in extract.columns):
        s = extract[col]
        if s.dtype != object or pd.api.types.infer_dtype(s, skipna=True) in _SCALAR_KINDS:
            continue
        if (where := nested_cells(s.to_numpy())) is not None:
            raise SchemaError(
                f"{source}: column {str(col)!r}: {where}, not one value. Fix: give each cell "
                "one value; flatten nested data (e.g. from JSON) first."
            )


#: Kinds of an object column (pandas' inferred dtype) that hold only text and numbers.
_ID_KINDS = frozenset({"string", "empty", "integer", "floating", "mixed-integer-float", "bytes"})
# White space round an id is stripped (clean_text; validate_events normalises it away
# too); inside an id it is kept, and control or formatting characters are refused.
_ID_EDGE_SPACE = re.compile(r"^[\s\u00a0\u2007\u202f\ufeff]+|[\s\u00a0\u2007\u202f\ufeff]+$")


def _not_an_id(value: object) -> str | None:
    """What a single case-identifier value is when it cannot be one, else None."""
    if isinstance(value, bool | np.bool_):
        return "True or False"
    if isinstance(value, complex | np.complexfloating):
        return "a complex number"
    if isinstance(value, dt.date | dt.time | dt.timedelta | np.datetime64 | np.timedelta64):
        return "a date or time"
    return None


def _rows_text(rows: Sequence[int]) -> tuple[str, bool]:
    """``"row 2"`` / ``"rows 0, 1 and 3 more"`` and whether one row is meant."""
    shown = ", ".join(map(str, rows[:10])) + (
        f" and {len(rows) - 10:,} more" if len(rows) > 10 else ""
    )
    one = len(rows) == 1
    return f"{'row' if one else 'rows'} {shown}", one


def check_case_ids(
    extract: pd.DataFrame, column: object, source: str, text: pd.Series | None = None
) -> None:
    """Refuse case identifiers that are no identifiers, naming the column and the rows.

    True/False (a yes/no column named as the ids), dates or times, complex numbers
    would become the ids "True", "2101-01-01 00:00:00", "(1+2j)"; a control or
    invisible formatting character inside an id (a NUL, a line break, a right-to-left
    override) makes it display as something other than what it is, which
    :func:`riskscore.validate_events` would refuse later, far from the extract.
    Checked once per distinct value; text and number columns skip the type check.
    ``text`` is the column as :func:`clean_text` reads it, when already at hand.
    """
    if column is None or column not in extract.columns:
        return
    s = extract[column]
    what: dict[str, None] = {}
    if pd.api.types.is_bool_dtype(s.dtype):
        bad = s.notna().to_numpy(dtype=bool)
        what["True or False"] = None
    elif s.dtype.kind in "mM" or isinstance(s.dtype, pd.DatetimeTZDtype | pd.PeriodDtype):
        bad = s.notna().to_numpy(dtype=bool)
        what["a date or time"] = None
    elif s.dtype.kind == "c":
        bad = s.notna().to_numpy(dtype=bool)
        what["a complex number"] = None
    elif s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) not in _ID_KINDS:
        codes, uniq = pd.factorize(s)
        kinds = [_not_an_id(v) for v in np.asarray(uniq, dtype=object)]
        bad_u = np.array([k is not None for k in kinds], dtype=bool)
        codes = np.asarray(codes, dtype=np.int64)
        bad = (codes >= 0) & (bad_u[np.maximum(codes, 0)] if len(bad_u) else False)
        what.update((k, None) for k in kinds if k is not None)
    else:
        bad = np.zeros(len(s), dtype=bool)
    if bad.any():
        rows, one = _rows_text(np.flatnonzero(bad).tolist())
        raise SchemaError(
            f"{source}: column {str(column)!r}: {rows} {'holds' if one else 'hold'} "
            f"{' / '.join(what)}, not {'a case identifier' if one else 'case identifiers'}. "
            "Fix: check that the column read as the case identifier is the pseudonymous "
            "child identifier (pass case_id_column= to name it); identifiers are text or "
            "whole numbers."
        )
    codes, uniq = pd.factorize(clean_text(s) if text is None else text)
    found: dict[str, None] = {}
    bad_u = np.zeros(len(uniq), dtype=bool)
    for i, v in enumerate(np.asarray(uniq, dtype=object)):
        if v.isprintable():
            continue  # fast path: printable text holds neither kind
        chars = [c for c in _ID_EDGE_SPACE.sub("", v) if unicodedata.category(c) in ("Cc", "Cf")]
        if chars:
            bad_u[i] = True
            found.update((f"U+{ord(c):04X}", None) for c in chars)
    if bad_u.any():
        codes = np.asarray(codes, dtype=np.int64)
        rows, one = _rows_text(np.flatnonzero((codes >= 0) & bad_u[np.maximum(codes, 0)]).tolist())
        shown = ", ".join(list(found)[:5]) + (" and others" if len(found) > 5 else "")
        raise SchemaError(
            f"{source}: column {str(column)!r}: {rows} {'holds' if one else 'hold'} control or "
            f"invisible formatting characters inside the case identifier (found: {shown}; "
            "such as a NUL, a line break, a tab, a zero-width or right-to-left mark), so it "
            "displays as something other than what it is. Fix: remove those characters "
            "from the identifiers (check how the extract was exported)."
        )


def check_unique_columns(extract: pd.DataFrame, source: str, what: str = "extract") -> None:
    """Refuse an extract (or other table, ``what``) with a column name given twice:
    which one to read is unknown."""
    repeated = extract.columns[extract.columns.duplicated()].unique().tolist()
    if repeated:
        where = "" if what == "extract" else f" {what}:"
        raise SchemaError(
            f"{source}:{where} column(s) {[str(c) for c in repeated]} appear more than once in "
            f"the {what}; keep one of each (or rename the others) so that it is clear which "
            "to read."
        )


def code_list(
    value: object, name: str, where: str, default: object = None
) -> tuple[str, ...] | None:
    """A collection of codes given as ``name``, as stripped text; refuse any other form.

    None is ``default`` (the adapter's documented codes). A bare string is refused,
    not read character by character (``"J45"`` would match the prefixes J, 4 and 5);
    a mapping gives its keys. An empty collection is refused (no code would ever
    match), and so is a blank code (as a prefix it would match every code).
    """
    if value is None:
        value = default
        if value is None:
            return None
    form = "a list or tuple of codes (str)"
    if isinstance(value, str | bytes):
        raise ParameterError(
            f"{where}: {name} must be a list or tuple of codes, not one string (it would be "
            f"read character by character); for one code pass {name}=[{value!r}]."
        )
    if isinstance(value, pd.Series | pd.Index | np.ndarray):
        value = value.tolist()
    if not isinstance(value, list | tuple | set | frozenset | Mapping):
        raise ParameterError(
            f"{where}: {name} must be {form}; got {value!r} ({type(value).__name__})."
        )
    bad = [c for c in value if isinstance(c, bool) or not isinstance(c, str | int | np.integer)]
    if bad:
        raise ParameterError(
            f"{where}: {name} must be {form}; it holds {bad[:3]!r}, which are not codes."
        )
    codes = tuple(str(c).strip() for c in value)
    refuse_empty_codes(codes, name, where)
    return codes


def refuse_empty_codes(codes: Iterable[str], name: str, where: str, ignored: str = "") -> None:
    """Refuse no codes at all, or a blank code (blank once ``ignored`` characters go)."""
    codes = list(codes)
    if not codes:
        raise ParameterError(
            f"{where}: {name} is empty, so no code would ever match it; give at least one "
            f"code, or {name}=None for the documented default."
        )
    blank = [c for c in codes if not re.sub(rf"[\s{re.escape(ignored)}]", "", str(c))]
    if blank:
        raise ParameterError(
            f"{where}: {name} holds a blank code {blank[0]!r}, which is no code (as a prefix "
            f"it would match every code); remove it, or pass {name}=None for the default."
        )


def code_map(
    value: object, name: str, where: str, example: str, ignored: str = ""
) -> dict[str, str] | None:
    """A mapping of code -> event given as ``name`` (None: the default); refuse other forms.

    An empty mapping is refused, and so is a blank code (blank once white space and
    the ``ignored`` characters, which the adapter drops before matching, are gone).
    """
    if value is None:
        return None
    if isinstance(value, pd.Series):
        value = value.to_dict()
    form = f"a mapping (dict) of code -> event, e.g. {example}"
    if not isinstance(value, Mapping):
        raise ParameterError(
            f"{where}: {name} must be {form}; got {value!r} ({type(value).__name__})."
        )
    bad = {
        k: v
        for k, v in value.items()
        if not isinstance(v, str) or isinstance(k, bool) or not isinstance(k, str | int)
    }
    if bad:
        raise ParameterError(
            f"{where}: {name} must be {form}; entries {dict(list(bad.items())[:3])!r} are not "
            "code -> event text."
        )
    refuse_empty_codes(value, name, where, ignored)
    return dict(value)


def read_source(
    spec: SourceSpec,
    extract: pd.DataFrame,
    *,
    start: object = None,
    end: object = None,
    format: str | None = None,
    dayfirst: bool | None = None,
    **options: object,
) -> AdapterResult:
    """Read a source extract as its spec describes: the one reader behind every adapter.

    Adapters pass their arguments on (``read_source(SPEC, **locals())``). A keyword
    that is a column's ``param`` names that column (None: look for its known names);
    ``start``, ``end``, ``format`` and ``dayfirst`` are as the adapters document them;
    the other keywords go to ``spec.classify``.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore.sources import SPECS
    >>> spec = next(s for s in SPECS if s.source == "prescriptions")
    >>> rx = pd.DataFrame({"patient": ["c1"], "IssueDate": ["04/03/2101"],
    ...                    "BNFCode": ["0302000C0BQAAAA"]})
    >>> res = read_source(spec, rx, case_id_column="patient", dayfirst=True, codes=None)
    >>> res.events[["date", "event"]].astype(str).values.tolist()
    [['2101-03-04', 'preventer_prescription']]
    """
    params = {c.param: c.role for c in spec.columns if c.param is not None}
    given = {params[k]: options.pop(k) for k in list(options) if k in params}
    check_extract(extract, spec.source)
    check_unique_columns(extract, spec.source)
    lo, hi = bound(start, "start"), bound(end, "end")
    if lo is not None and hi is not None and lo > hi:
        raise ParameterError(
            f"{spec.source}: start={start!r} is after end={end!r}; give start on or before "
            "end (or leave one of them None)."
        )
    df = extract.reset_index(drop=True)
    found = {c.role: find_column(df, c, spec.source, given.get(c.role)) for c in spec.columns}
    check_single_values(df, found.values(), spec.source)
    x = Extract(spec, df, found, lo, hi, format, dayfirst)
    check_case_ids(df, found["case_id"], spec.source, x.case)
    parts = spec.classify(x, **options)
    parts = [parts] if isinstance(parts, Classified) else list(parts)
    events, reports, covered, firsts = [], [], [], []
    for part in parts:
        case = x.case if part.case is None else part.case
        dates, blank, bad = x.dated if part.dated is None else part.dated
        checks = [
            (case.isna(), "missing_case_id"),
            *part.before_dates,
            (blank, part.blank_reason),
            (bad, "invalid_date"),
            (outside(dates, x.start, x.end), "outside_date_range"),
            *part.checks,
        ]
        conds, reasons = [np.asarray(c, dtype=bool) for c, _ in checks], [r for _, r in checks]
        reason = pd.Series(np.select(conds, reasons, "mapped"), index=case.index, dtype=object)
        if part.duplicates is not None:
            reason = mark_duplicates(reason, part.duplicates, part.order)
        mapped = reason == "mapped"
        if part.events is not None:
            events.append(part.events(mapped))
        else:
            events.append(
                make_events(
                    case[mapped],
                    dates[mapped],
                    spec.agencies[0],
                    part.event if isinstance(part.event, str) else part.event[mapped],
                    recorded_date=None if part.recorded is None else part.recorded[mapped],
                )
            )
        reports.append(report_table(spec.source, part.field, reason, part.code))
        cov = dates if part.covered is None else part.covered
        # coverage comes only from kept dates: never from a row left out for its date
        date_ok = ~np.asarray(blank, dtype=bool) & ~np.asarray(bad, dtype=bool)
        date_ok &= ~outside(dates, x.start, x.end).to_numpy()
        keep = case.notna() & cov.notna() & ~outside(cov, x.start, x.end) & date_ok
        covered.append(cov[keep])
        firsts.append((cov if part.first is None else part.first)[keep])
    coverage = coverage_rows(
        spec.agencies, _join(firsts), _join(covered), x.start, x.end, spec.source
    )
    return AdapterResult(finish_events(events), _join(reports), coverage)


def _join(parts: list) -> pd.Series | pd.DataFrame:
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


# --- column lookup --------------------------------------------------------------------------


def norm_name(name: object) -> str:
    """Column-name key: lower case, letters and digits only (ADMIDATE == admidate == Admi_Date)."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def find_column(
    df: pd.DataFrame, column: Column, source: str, given: str | None = None
) -> str | None:
    """Find ``column`` among its known names (case and _ ignored); ``given`` wins, and must exist."""
    keys = {norm_name(c): c for c in reversed(df.columns)}  # the first of equal names wins
    if given is not None:
        if given in df.columns or norm_name(given) in keys:
            return given if given in df.columns else keys[norm_name(given)]
        raise SchemaError(
            f"{source}: column {given!r} given as {column.param} is not in the extract. "
            f"Columns present: {_some(df.columns)}. Pass the exact column name."
        )
    found = next((keys[norm_name(n)] for n in column.names if norm_name(n) in keys), None)
    if found is None and column.required:
        raise _missing(df, column, source)
    return found


def _missing(df: pd.DataFrame, column: Column, source: str) -> SchemaError:
    fix = f" or pass {column.param}='<column name>'" if column.param else ""
    return SchemaError(
        f"{source}: no {column.what} column found; looked for {', '.join(column.names)} "
        f"(case and underscores ignored). Columns present: {_some(df.columns)}. "
        f"Rename the column{fix}."
    )


def _some(values: Iterable[object], n: int = 15) -> str:
    vals = [str(v) for v in values]
    more = f" ... (+{len(vals) - n} more)" if len(vals) > n else ""
    return ", ".join(vals[:n]) + more


def code_frame(
    df: pd.DataFrame,
    positions: re.Pattern,
    joined: re.Pattern,
    kinds: Sequence[str] = ("",),
    source: str = "extract",
) -> pd.DataFrame | None:
    """Codes by position (columns ``0..k-1``), or None when the extract has no code columns.

    Positional columns are those whose lower-case name matches ``positions`` (group
    ``pos`` the position, optional group ``kind`` the cut, e.g. 3- or 4-character
    codes); else one column matching ``joined`` holding codes separated by , ; or |.
    Cuts are preferred in the order of ``kinds`` ("" for names without a cut). A cell
    holding a list or dict is refused (:func:`check_single_values`).
    """
    by_kind: dict[str, dict[int, str]] = {}
    concat: dict[str, str] = {}
    for col in df.columns:
        key = str(col).lower()
        if m := positions.match(key):
            by_kind.setdefault(m.groupdict().get("kind") or "", {}).setdefault(
                int(m.group("pos")), col
            )
        elif m := joined.match(key):
            concat.setdefault(m.groupdict().get("kind") or "", col)
    kind = next((k for k in kinds if k in by_kind), None)
    if kind is not None:
        columns = [by_kind[kind][p] for p in sorted(by_kind[kind])]
        check_single_values(df, columns, source)
        codes = df[columns]
    else:
        kind = next((k for k in kinds if k in concat), None)
        if kind is None:
            return None
        check_single_values(df, [concat[kind]], source)
        codes = clean_text(df[concat[kind]]).str.split(r"\s*[,;|]\s*", regex=True, expand=True)
        if codes.shape[1] == 0:
            codes = pd.DataFrame({0: pd.Series(pd.NA, index=df.index, dtype="string")})
    return codes.set_axis(range(codes.shape[1]), axis=1)


# --- values ---------------------------------------------------------------------------------


#: Floats below this are whole numbers written exactly; a larger code read as a float
#: has lost digits already, and keeps the float's own text (1e+20) to show it.
_EXACT_FLOAT = 2.0**53
#: Kinds of an object column (pandas' inferred dtype) that hold no floats.
_NO_FLOATS = frozenset({"string", "empty", "integer", "boolean", "bytes"})


def _float_text(values: np.ndarray) -> np.ndarray:
    """Floats as code text: whole numbers without a trailing .0 (1.0 is "1")."""
    f = values.astype(np.float64)
    out = f.astype(str).astype(object)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(f) & (np.floor(f) == f) & (np.abs(f) < _EXACT_FLOAT)
    out[whole] = f[whole].astype(np.int64).astype(str)
    return out


def clean_text(s: pd.Series) -> pd.Series:
    """Strip text; blanks become <NA>. Numbers read as floats lose a trailing .0.

    CSV readers turn integer codes with blanks into floats (306706006.0), and a
    spreadsheet column mixing text and numbers holds floats among its text: both are
    read as the code written (``"306706006"``), as the mapping tables write them.
    Codes of more than 15 digits lose precision as floats, so read code columns as
    text.
    """
    if pd.api.types.is_float_dtype(s.dtype):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        txt = pd.Series(_float_text(values), index=s.index, dtype="string").mask(s.isna())
    elif s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) not in _NO_FLOATS:
        values = s.to_numpy()
        floats = np.fromiter(
            (isinstance(v, float | np.floating) and not pd.isna(v) for v in values),
            dtype=bool,
            count=len(values),
        )
        if floats.any():
            values = values.copy()
            values[floats] = _float_text(values[floats])
        txt = pd.Series(values, index=s.index, dtype=object).astype("string")
    else:
        txt = s.astype("string")
    txt = txt.str.strip()
    return txt.mask(txt == "")


def parse_dates(s: pd.Series, *, format: str | None, dayfirst: bool | None) -> Dated:
    """Parse a date column: dates normalised to the day, blank mask, unreadable mask.

    The one date parser of riskscore (:func:`riskscore._dates.parse_dates`, as
    :func:`riskscore.read_events` reads dates): ISO ``YYYY-MM-DD`` always reads;
    ``format`` reads the values written in it; ``dayfirst=True`` reads ``DD/MM/YYYY``,
    ``False`` ``MM/DD/YYYY``; other text is unreadable, never guessed (UK extracts
    write the day first). Times of day are dropped (extracts carry arrival times).
    """
    parsed = parse_text_dates(s, dayfirst=dayfirst, format=format)
    out = pd.Series(parsed.values, index=s.index, dtype="datetime64[ns]").dt.normalize()
    blank = pd.Series(parsed.kind == DATE_EMPTY, index=s.index)
    return Dated(out, blank, ~blank & pd.Series(parsed.kind != DATE_OK, index=s.index))


def bound(value: object, name: str) -> pd.Timestamp | None:
    """``start``/``end`` as a day (None: no bound); NaN or NaT is refused, not a bound.

    A number is refused (5 would be 5 nanoseconds after 1970-01-01), and so is a day
    outside :data:`~riskscore._dates.DATE_RANGE`; a time zone is dropped (its local
    day is the day, as :func:`parse_dates` reads a dated column).
    """
    if value is None:
        return None
    if isinstance(value, bool | int | float | np.number) and not pd.isna(value):
        raise ParameterError(
            f"{name}={value!r} is not a date but a number; give an ISO date like "
            "'2101-01-31' (or a datetime.date / Timestamp), or None for no bound."
        )
    if guessed_text(value):
        # "01/02/2101" would be read month-first: text is ISO or refused, as everywhere
        raise ParameterError(
            f"{name}={value!r} is not an ISO date; give one like '2101-01-31' (or a "
            "datetime.date / Timestamp)."
        )
    try:
        day = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise SchemaError(
            f"{name}={value!r} is not a date; give an ISO date like '2101-01-31'."
        ) from exc
    if pd.isna(day):
        raise ParameterError(
            f"{name}={value!r} is not a date (missing); give an ISO date like '2101-01-31', "
            "or None for no bound."
        )
    if day.tz is not None:
        day = day.tz_localize(None)
    day = day.normalize()
    if not _FIRST <= day <= _LAST:
        raise ParameterError(
            f"{name}={value!r} is outside {DATE_RANGE}, the days riskscore can hold; give a "
            "real date, or None for no bound."
        )
    return day.as_unit("ns")


def outside(dates: pd.Series, start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.Series:
    mask = pd.Series(False, index=dates.index)
    if start is not None:
        mask |= dates < start
    if end is not None:
        mask |= dates > end
    return mask & dates.notna()


def code_checks(matched: pd.Series, unknown: pd.Series | np.ndarray) -> list[Check]:
    """Checks of a coded field: ``unknown_code`` where nothing matched and a code is
    not of valid form (``unknown``), else ``code_not_mapped`` where nothing matched."""
    return [(~matched & unknown, "unknown_code"), (~matched, "code_not_mapped")]


# --- building outputs -------------------------------------------------------------------------


def first_where(values: pd.DataFrame, mask: pd.DataFrame) -> pd.Series:
    """Per row, the first value (left to right) where ``mask`` is true, else <NA>."""
    m = mask.to_numpy(dtype=bool)
    vals = values.to_numpy(dtype=object)
    if m.shape[1] == 0:
        return pd.Series(pd.NA, index=values.index, dtype=object)
    pos = m.argmax(axis=1)
    picked = vals[np.arange(len(vals)), pos]
    return pd.Series(np.where(m.any(axis=1), picked, None), index=values.index, dtype=object)


def report_table(
    source: str, field: str, reason: pd.Series, code: pd.Series | None = None
) -> pd.DataFrame:
    """Count rows by reason (and offending code for unknown codes)."""
    if code is None:
        code = pd.Series("", index=reason.index)
    code = code.astype(object).where(reason == "unknown_code", "").fillna("")
    df = pd.DataFrame(
        {"reason": reason.astype(str).to_numpy(), "code": code.astype(str).to_numpy()}
    )
    counts = df.groupby(["reason", "code"], sort=True).size().reset_index(name="rows")
    counts.insert(0, "field", field)
    counts.insert(0, "source", source)
    counts.insert(2, "status", np.where(counts["reason"] == "mapped", "mapped", "left_out"))
    counts["rows"] = counts["rows"].astype("int64")
    return counts[list(REPORT_COLUMNS)]


def make_events(
    case_id: pd.Series,
    date: pd.Series,
    agency: str | np.ndarray,
    event: str | pd.Series | np.ndarray,
    value: pd.Series | None = None,
    recorded_date: pd.Series | None = None,
) -> pd.DataFrame:
    """Contract events from aligned columns (``agency``/``event`` may be one value for all)."""
    n = len(case_id)
    return pd.DataFrame(
        {
            "case_id": np.asarray(case_id, dtype=object),
            "date": np.asarray(date, dtype="datetime64[ns]"),
            "agency": np.asarray([agency] * n if isinstance(agency, str) else agency, object),
            "event": np.asarray([event] * n if isinstance(event, str) else event, object),
            "value": np.full(n, np.nan) if value is None else np.asarray(value, dtype="float64"),
            "recorded_date": np.asarray(
                np.full(n, None) if recorded_date is None else recorded_date, "datetime64[ns]"
            ),
        }
    )


def finish_events(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return make_events(
            pd.Series([], dtype="string"), pd.Series([], dtype="datetime64[ns]"), "", ""
        )
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["case_id", "date", "event"], kind="stable").reset_index(drop=True)
    for col in ("date", "recorded_date"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
    out["value"] = out["value"].astype("float64")
    out["case_id"] = out["case_id"].astype("string")
    return out[list(EVENT_COLUMNS_OUT)]


def mark_duplicates(
    reason: pd.Series, key: pd.DataFrame, order: np.ndarray | None = None
) -> pd.Series:
    """``reason`` with "duplicate" on each mapped row whose ``key`` an earlier mapped row has.

    Earlier is by position, or by ``order`` (positions) when given; the first stays mapped.
    """
    mapped = (reason == "mapped").to_numpy()
    if order is not None:
        key, mapped = key.iloc[order], mapped[order]
    sub = key[mapped]
    dup = pd.Series(False, index=reason.index)
    dup.loc[sub.index[sub.duplicated().to_numpy()]] = True
    return reason.mask(dup, "duplicate")


def coverage_rows(
    agencies: Sequence[str],
    first: pd.Series,
    last: pd.Series,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    source: str,
) -> pd.DataFrame:
    """Coverage of an extract: the stated start/end, else from the first start to the last date."""
    lo = start if start is not None else first.min()
    hi = end if end is not None else last.max()
    if pd.isna(lo) or pd.isna(hi):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COVERAGE_COLUMNS})
    return pd.DataFrame(
        {
            "agency": list(agencies),
            "from": [pd.Timestamp(lo)] * len(agencies),
            "to": [pd.Timestamp(hi)] * len(agencies),
            "source": [source] * len(agencies),
        }
    )
