"""School census attendance (National Pupil Database-style absence records) to events.

One ``attendance`` event (agency ``school``) per pupil and term (or half-term), with
``value`` = 1 - sessions missed / sessions possible, dated at the end of the period.

Source fields (DfE school census guide and the NPD absence tables; "Pupil absence in
schools in England" methodology, DfE Explore Education Statistics):

- academic year: ``AcademicYear`` / ``ACADYR`` / ``AcadYr`` (``"2101/02"``, ``"210102"``,
  ``"2101-02"`` or the starting year ``2101``; the first four digits are the start year)
- term: ``Term`` / ``TermType`` / ``Period`` (``Autumn``/``AUT``, ``Spring``/``SPR``,
  ``Summer``/``SUM``; half-terms ``Autumn1``, ``AUT2``, ``Summer1`` ...)
- sessions possible: ``SessionsPossible`` / ``Sessions_Possible`` / ``PossibleSessions``
- sessions missed: ``OverallAbsence`` / ``SessionsMissed`` / ``TotalAbsence``; when
  absent, ``AuthorisedAbsence`` + ``UnauthorisedAbsence``

Column names may carry an ``ABS_``/``ABSENCE_`` prefix (case ignored).

**Term-end convention** (the date of each event). DfE collects termly absence for fixed
periods: autumn term 1 August to 31 December, spring term 1 January to Easter Sunday,
summer term Easter Monday to 31 July (the autumn census returns the summer term in two
halves). The default term ends follow those periods: Autumn -> 31 December of the
academic year's first calendar year; Spring -> Easter Sunday of the second; Summer ->
31 July of the second. Half-terms end, by riskscore's convention (not a DfE boundary),
on 31 October (Autumn1), 31 December (Autumn2), the last day of February (Spring1),
Easter Sunday (Spring2), 31 May (Summer1) and 31 July (Summer2). Pass ``term_dates`` (a
table ``academic_year, term, end`` and optionally ``start``) for a local calendar, or
``period_end_column`` when the extract carries its own period end dates.

Several rows for one pupil and period (dual registration) are added up into one
attendance value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscore._dates import DATE_RANGE, FIRST_DAY, LAST_DAY
from riskscore.errors import ParameterError, SchemaError
from riskscore.sources._spec import (
    AdapterResult,
    Classified,
    Column,
    Dated,
    Extract,
    SourceSpec,
    case_column,
    check_single_values,
    check_unique_columns,
    clean_text,
    make_events,
    read_source,
)

__all__ = ["read_school_census", "term_end_date", "TERMS"]

#: Canonical term codes read from the census term field.
TERMS: tuple[str, ...] = (
    "autumn",
    "spring",
    "summer",
    "autumn1",
    "autumn2",
    "spring1",
    "spring2",
    "summer1",
    "summer2",
)
_TERM_RE = r"^(aut|autumn|spr|spring|sum|summer)(?:term)?(?:half|ht|halfterm)?([12])?$"


def _easter(years: np.ndarray) -> np.ndarray:
    """Easter Sunday (Gregorian, anonymous algorithm) as datetime64[D], vectorised."""
    y = years.astype("int64")
    a = y % 19
    b, c = y // 100, y % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return _ymd(y, month, day)


def _ymd(y: np.ndarray, m: np.ndarray | int, d: np.ndarray | int) -> np.ndarray:
    y = np.asarray(y, dtype="int64")
    months = (y - 1970) * 12 + (np.asarray(m, dtype="int64") - 1)
    return months.astype("datetime64[M]").astype("datetime64[D]") + (
        np.asarray(d, dtype="int64") - 1
    )


def _canonical_terms(raw: pd.Series) -> pd.Series:
    key = clean_text(raw).str.lower().str.replace(r"[^0-9a-z]", "", regex=True)
    parts = key.str.extract(_TERM_RE)
    name = parts[0].replace({"aut": "autumn", "spr": "spring", "sum": "summer"})
    return (name + parts[1].fillna("")).astype("string")


def _default_bounds(start_year: np.ndarray, term: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Default (start, end) dates of each (academic start year, canonical term)."""
    y0 = np.asarray(start_year, dtype="int64")
    y1 = y0 + 1
    easter = _easter(y1)
    table = {
        "autumn": (_ymd(y0, 8, 1), _ymd(y0, 12, 31)),
        "autumn1": (_ymd(y0, 8, 1), _ymd(y0, 10, 31)),
        "autumn2": (_ymd(y0, 11, 1), _ymd(y0, 12, 31)),
        "spring": (_ymd(y1, 1, 1), easter),
        "spring1": (_ymd(y1, 1, 1), _ymd(y1, 3, 1) - 1),
        "spring2": (_ymd(y1, 3, 1), easter),
        "summer": (easter + 1, _ymd(y1, 7, 31)),
        "summer1": (easter + 1, _ymd(y1, 5, 31)),
        "summer2": (_ymd(y1, 6, 1), _ymd(y1, 7, 31)),
    }
    start = np.full(len(y0), np.datetime64("NaT"), dtype="datetime64[D]")
    end = start.copy()
    for name, (s, e) in table.items():
        sel = term == name
        start[sel], end[sel] = s[sel], e[sel]
    return start, end


def term_end_date(academic_year: object, term: str) -> pd.Timestamp:
    """Default end date of a census term (see the module docstring for the convention).

    Parameters
    ----------
    academic_year : str or int
        ``"2101/02"`` or the starting year ``2101``.
    term : str
        ``Autumn``, ``Spring``, ``Summer`` or a half-term such as ``Summer1``.

    Returns
    -------
    pandas.Timestamp

    Raises
    ------
    SchemaError
        If the year or term cannot be read, or the term ends outside
        1677-09-22 to 2262-04-11, the days riskscore holds.

    Examples
    --------
    >>> term_end_date("2101/02", "Autumn").date().isoformat()
    '2101-12-31'
    >>> term_end_date(2101, "Summer").date().isoformat()
    '2102-07-31'
    """
    canon = _canonical_terms(pd.Series([term]))
    year = pd.to_numeric(
        pd.Series([str(academic_year)]).str.extract(r"(\d{4})")[0], errors="coerce"
    )
    if canon.isna().any() or year.isna().any():
        raise SchemaError(
            f"term_end_date: cannot read academic year {academic_year!r} / term {term!r}."
        )
    _, end = _default_bounds(year.to_numpy(), canon.to_numpy(dtype=object))
    if not _FIRST_DAY <= end[0] <= _LAST_DAY:
        # year 9999 would end on 10000-07-31: a date no riskscore table holds
        raise SchemaError(
            f"term_end_date: the term {term!r} of academic year {academic_year!r} ends on "
            f"{end[0]}, outside {DATE_RANGE}, the days riskscore holds. Fix: check the "
            "academic year (a placeholder such as 9999 is no year)."
        )
    return pd.Timestamp(end[0]).as_unit("ns")


#: The days pandas dates (datetime64[ns]) hold: periods outside are unreadable dates.
_FIRST_DAY = np.datetime64(FIRST_DAY, "D")
_LAST_DAY = np.datetime64(LAST_DAY, "D")


def _number(x: Extract, role: str, *, required: bool = False) -> tuple[pd.Series, pd.Series] | None:
    """A count column as finite numbers (else NaN), and where it is written but unreadable
    (text such as "1,000" or "x", or not finite); or None when absent."""
    col = x.column(role, required=required)
    if col is None:
        return None
    raw = x.df[col]
    num = pd.to_numeric(raw, errors="coerce")
    if num.dtype.kind == "c":  # a complex count: the imaginary part would be dropped
        values = num.to_numpy()
        num = pd.Series(np.where(values.imag == 0, values.real, np.nan), index=num.index)
    num = num.astype("float64")
    num = num.where(np.isfinite(num))
    return num, clean_text(raw).notna() & num.isna()


def _periods(x: Extract, *, term_dates: pd.DataFrame | None) -> Classified:
    possible, unreadable = _number(x, "possible")
    read_missed = _number(x, "missed")
    if read_missed is None:
        authorised, a_bad = _number(x, "authorised", required=True)
        unauthorised, u_bad = _number(x, "unauthorised", required=True)
        read_missed = authorised + unauthorised, a_bad | u_bad
    missed, m_bad = read_missed
    unreadable = unreadable | m_bad
    if x.dated is not None:  # the extract's own period ends
        dated, first, term, unknown_term = x.dated, None, None, pd.Series(False, index=x.df.index)
    else:
        dated, first, term, unknown_term = _term_dates(x, term_dates)
    return Classified(
        "period",
        before_dates=[(unknown_term, "unknown_code")],
        dated=dated,
        checks=[
            (unreadable, "unreadable_number"),
            (possible.isna() & missed.isna(), "no_value"),
            (~(possible > 0) | ~(missed >= 0) | (missed > possible), "invalid_value"),
        ],
        code=term,
        first=first,
        events=lambda mapped: _attendance(x.case, dated.dates, possible, missed, mapped),
    )


def _term_dates(
    x: Extract, term_dates: pd.DataFrame | None
) -> tuple[Dated, pd.Series, pd.Series, pd.Series]:
    """Each row's period (end dates as read, starts), its term as written, where unknown."""
    year_txt = x.text("year", required=True)
    raw_term = x.text("term", required=True)
    year = pd.to_numeric(year_txt.str.extract(r"^\s*(\d{4})")[0], errors="coerce")
    canon = _canonical_terms(raw_term)
    unknown_term = raw_term.notna() & canon.isna()
    ok = (year.notna() & canon.notna()).to_numpy()
    s_arr = np.full(len(x.df), np.datetime64("NaT"), dtype="datetime64[D]")
    e_arr = s_arr.copy()
    s_arr[ok], e_arr[ok] = _default_bounds(
        year[ok].to_numpy(dtype="int64"), canon[ok].to_numpy(dtype=object)
    )
    # a period pandas dates cannot hold (year 9999, 0001, 1677, 2262) is an unreadable
    # date: converted to nanoseconds it would wrap round to a wrong date
    beyond = ~((s_arr >= _FIRST_DAY) & (e_arr <= _LAST_DAY))
    s_arr[beyond], e_arr[beyond] = np.datetime64("NaT"), np.datetime64("NaT")
    dates = pd.Series(e_arr.astype("datetime64[ns]"), index=x.df.index)
    first = pd.Series(s_arr.astype("datetime64[ns]"), index=x.df.index)
    if term_dates is not None:
        dates, first = _apply_calendar(x, term_dates, year, canon, dates, first)
    blank = (year_txt.isna() | raw_term.isna()) & ~unknown_term
    bad = ~blank & ~unknown_term & dates.isna()
    return Dated(dates, blank, bad), first, raw_term, unknown_term


def _attendance(
    case: pd.Series, dates: pd.Series, possible: pd.Series, missed: pd.Series, mapped: pd.Series
) -> pd.DataFrame:
    """One attendance per pupil and period: rows of one period (dual registration) add up."""
    sums = (
        pd.DataFrame({"case_id": case, "date": dates, "p": possible, "m": missed})[mapped]
        .groupby(["case_id", "date"], sort=True)[["p", "m"]]
        .sum()
        .reset_index()
    )
    return make_events(
        sums["case_id"], sums["date"], "school", "attendance", value=1.0 - sums["m"] / sums["p"]
    )


def _absence(names: str) -> tuple[str, ...]:
    """Absence field names, also with an ``ABS_`` or ``ABSENCE_`` prefix."""
    return tuple(p + n for p in ("", "ABS_", "ABSENCE_") for n in names.split())


#: School census (NPD-style) absence: one row per pupil, academic year and term.
SPEC = SourceSpec(
    "school_census",
    ("school",),
    columns=(
        case_column("case_id PupilMatchingRefAnonymous PMR pupil_id"),
        Column("date", "", "period end", "period_end_column"),
        Column(
            "possible",
            _absence("SessionsPossible Sessions_Possible PossibleSessions TermlySessionsPossible"),
            "sessions possible",
            required=True,
        ),
        Column(
            "missed", _absence("OverallAbsence SessionsMissed TotalAbsence OverallAbsenceSessions")
        ),
        Column(
            "authorised",
            _absence("AuthorisedAbsence AuthorisedAbsenceSessions"),
            "sessions missed (OverallAbsence, or AuthorisedAbsence + UnauthorisedAbsence)",
        ),
        Column(
            "unauthorised",
            _absence("UnauthorisedAbsence UnauthorisedAbsenceSessions"),
            "unauthorised absence",
        ),
        Column("year", "AcademicYear ACADYR AcadYr academic_year Year", "academic year"),
        Column("term", "Term TermType Period term", "term"),
    ),
    classify=_periods,
)


def read_school_census(
    extract: pd.DataFrame,
    *,
    term_dates: pd.DataFrame | None = None,
    period_end_column: str | None = None,
    case_id_column: str | None = None,
    start: object = None,
    end: object = None,
    format: str | None = None,
    dayfirst: bool | None = None,
) -> AdapterResult:
    """Termly attendance fractions from a school census (NPD-style) absence extract.

    Parameters
    ----------
    extract : pandas.DataFrame
        One row per pupil, academic year and term or half-term (module docstring lists
        the columns read).
    term_dates : pandas.DataFrame, optional
        Local calendar with columns ``academic_year``, ``term``, ``end`` (and optionally
        ``start``); periods it lists override the default convention. A table without
        rows is refused (None means the default term ends).
    period_end_column : str, optional
        A column of the extract holding each period's end date (overrides both).
    case_id_column : str, optional
        Case identifier column when not one of the known names.
    start, end : date-like, optional
        Keep periods ending in ``[start, end]``; these also set the coverage period.
    format : str, optional
        ``strptime`` format of text dates in ``period_end_column``/``term_dates``; ISO
        dates still read (not with ``dayfirst``).
    dayfirst : bool, optional
        True reads those text dates as ``DD/MM/YYYY``, False as ``MM/DD/YYYY``; ISO
        dates still read. Without ``format`` or ``dayfirst`` only ISO dates read, never
        guessed (the rule of :func:`riskscore.read_events`).

    Returns
    -------
    AdapterResult
        ``attendance`` events (agency ``school``), the report (field ``period``) and
        coverage (from the first period's start to the last period's end).

    Examples
    --------
    >>> import pandas as pd
    >>> npd = pd.DataFrame({"case_id": ["c1"], "AcademicYear": ["2101/02"], "Term": ["AUT"],
    ...                     "SessionsPossible": [140], "OverallAbsence": [21]})
    >>> ev = read_school_census(npd).events
    >>> ev["date"].dt.date.astype(str).tolist(), ev["value"].round(2).tolist()
    (['2101-12-31'], [0.85])
    """
    if term_dates is not None and not isinstance(term_dates, pd.DataFrame):
        raise ParameterError(
            "read_school_census: term_dates must be a pandas DataFrame with columns "
            f"academic_year, term, end (and optionally start); got {term_dates!r} "
            f"({type(term_dates).__name__})."
        )
    return read_source(SPEC, **locals())


def _apply_calendar(
    x: Extract,
    term_dates: pd.DataFrame,
    year: pd.Series,
    canon: pd.Series,
    dates: pd.Series,
    first: pd.Series,
) -> tuple[pd.Series, pd.Series]:
    """Period ends (and starts) of the terms a local calendar lists, over the defaults."""
    source = x.spec.source
    check_unique_columns(term_dates, source, "term_dates")
    missing = {"academic_year", "term", "end"} - set(term_dates.columns)
    if missing:
        raise SchemaError(
            f"{source}: term_dates lacks column(s) {sorted(missing)}; it needs academic_year, term, end "
            "(and optionally start)."
        )
    if len(term_dates) == 0:
        # a filter that kept nothing, or the wrong sheet: every period would silently
        # fall back to the default term ends
        raise SchemaError(
            f"{source}: term_dates has no rows, so it would change no term end. Fix: give "
            "the local calendar's rows (academic_year, term, end), or pass term_dates=None "
            "to use the default term ends (see riskscore.sources.term_end_date)."
        )
    check_single_values(term_dates, ["academic_year", "term", "end", "start"], source)
    cal = pd.DataFrame(
        {
            "y": pd.to_numeric(
                term_dates["academic_year"].astype("string").str.extract(r"(\d{4})")[0],
                errors="coerce",
            ),
            "t": _canonical_terms(term_dates["term"]),
        }
    )
    cal_end, e_blank, e_bad = x.read_dates(term_dates["end"])
    bad_rows = np.flatnonzero((cal["y"].isna() | cal["t"].isna() | e_blank | e_bad).to_numpy())
    if len(bad_rows):
        raise SchemaError(
            f"{source}: term_dates rows {bad_rows[:5].tolist()} have an unreadable academic_year, term "
            "or end date; fix them (terms: Autumn, Spring, Summer or half-terms like Summer1)."
        )
    cal["end"] = cal_end.to_numpy()
    cal["start"] = pd.Series(pd.NaT, index=cal.index, dtype="datetime64[ns]")
    if "start" in term_dates.columns:  # optional, but a start written must read
        cal_start, _, s_bad = x.read_dates(term_dates["start"])
        bad_rows = np.flatnonzero(s_bad.to_numpy())
        if len(bad_rows):
            raise SchemaError(
                f"{source}: term_dates rows {bad_rows[:5].tolist()} have an unreadable start "
                "date; fix them or leave start blank (the default term start is used)."
            )
        cal["start"] = cal_start.to_numpy()
        backwards = np.flatnonzero((cal["start"] > cal["end"]).to_numpy())
        if len(backwards):
            raise SchemaError(
                f"{source}: term_dates rows {backwards[:5].tolist()} have an end before their "
                "start; fix the dates (start is the first day of the term, end its last)."
            )
    if cal.duplicated(["y", "t"]).any():
        rows = np.flatnonzero(cal.duplicated(["y", "t"], keep=False).to_numpy())[:5].tolist()
        raise SchemaError(
            f"{source}: term_dates lists a term twice (rows {rows}); keep one end date per term."
        )
    left = pd.DataFrame({"y": year.to_numpy(), "t": canon.to_numpy()})
    merged = left.merge(cal, on=["y", "t"], how="left")
    hit = merged["end"].notna().to_numpy()
    dates = dates.mask(hit, pd.Series(merged["end"].to_numpy(), index=dates.index))
    has_start = merged["start"].notna().to_numpy()
    first = first.mask(has_start, pd.Series(merged["start"].to_numpy(), index=first.index))
    return dates, first
