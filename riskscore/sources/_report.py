"""Shared pieces of the source adapters: the result type, the report and column/date helpers.

Every adapter accounts for every input row (or, for multi-valued fields, every input
entry) exactly once per field in its report, so that nothing is dropped without being
counted: the ``rows`` of one ``field`` add up to the number of input rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from riskscore.errors import SchemaError

__all__ = ["AdapterResult", "REPORT_REASONS"]

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
    "invalid_date": "the date could not be read in the stated format (or is before its start)",
    "outside_date_range": "dated before start or after end",
    "unknown_code": "code not in the published code list, or not in a valid code form",
    "code_not_mapped": "valid code with no matching riskscore event (e.g. a non-asthma diagnosis)",
    "no_value": "the field is blank on this row (nothing to map)",
    "invalid_value": "numbers that cannot be right (e.g. sessions missed > sessions possible)",
    "admitted": "emergency attendance that ended in admission (counted by the admitted-care adapter)",
    "missing_disposal": "emergency attendance whose discharge destination is blank",
    "not_emergency": "admission method is not an emergency admission (emergency_only=True)",
    "duplicate": "same case, event and date already mapped (e.g. another episode of one spell, "
    "or an episode returned again in a later census year)",
}


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
        feeds (the stated ``start``/``end`` when given, else the span of readable dates).
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


# --- column lookup --------------------------------------------------------------------------


def norm_name(name: object) -> str:
    """Column-name key: lower case, letters and digits only (ADMIDATE == admidate == Admi_Date)."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def find_column(
    df: pd.DataFrame,
    candidates: Sequence[str],
    *,
    what: str,
    source: str,
    param: str,
    given: str | None = None,
    required: bool = True,
) -> str | None:
    """Find the column holding ``what`` among known name variants (case and _ ignored).

    ``given`` (the caller's explicit column name) wins and must exist.
    """
    keys: dict[str, str] = {}
    for col in df.columns:
        keys.setdefault(norm_name(col), col)
    if given is not None:
        if given in df.columns:
            return given
        if norm_name(given) in keys:
            return keys[norm_name(given)]
        raise SchemaError(
            f"{source}: column {given!r} given as {param} is not in the extract. "
            f"Columns present: {_some(df.columns)}. Pass the exact column name."
        )
    for cand in candidates:
        if norm_name(cand) in keys:
            return keys[norm_name(cand)]
    if required:
        raise SchemaError(
            f"{source}: no {what} column found; looked for {', '.join(candidates)} "
            f"(case and underscores ignored). Columns present: {_some(df.columns)}. "
            f"Rename the column or pass {param}='<column name>'."
        )
    return None


def _some(values: Iterable[object], n: int = 15) -> str:
    vals = [str(v) for v in values]
    more = f" ... (+{len(vals) - n} more)" if len(vals) > n else ""
    return ", ".join(vals[:n]) + more


# --- values ---------------------------------------------------------------------------------


def clean_text(s: pd.Series) -> pd.Series:
    """Strip text; blanks become <NA>. Numbers read from CSV as floats lose a trailing .0."""
    if pd.api.types.is_float_dtype(s.dtype):
        # CSV readers turn integer codes with blanks into floats (306706006.0); codes of
        # more than 15 digits lose precision that way, so read code columns as text.
        whole = s.notna() & (s == np.floor(s))
        txt = s.astype("string").mask(whole, s.where(whole).astype("Int64").astype("string"))
    else:
        txt = s.astype("string")
    txt = txt.str.strip()
    return txt.mask(txt == "")


def parse_dates(
    s: pd.Series, *, date_format: str | None, dayfirst: bool
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse a date column: returns (dates normalised to the day, blank mask, unreadable mask).

    Text must be ISO (YYYY-MM-DD) unless ``date_format`` or ``dayfirst`` is given: UK
    extracts write the day first and guessing would silently swap days and months.
    """
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        out = pd.to_datetime(out).dt.normalize()
        blank = out.isna()
        return out, blank, pd.Series(False, index=s.index)
    txt = clean_text(s)
    blank = txt.isna()
    fmt = date_format or ("%d/%m/%Y" if dayfirst else "ISO8601")
    out = pd.to_datetime(txt, format=fmt, errors="coerce")
    out = pd.Series(out, index=s.index).dt.normalize()
    bad = ~blank & out.isna()
    return out, blank, bad


def bound(value: object, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError) as exc:
        raise SchemaError(
            f"{name}={value!r} is not a date; give an ISO date like '2101-01-31'."
        ) from exc


def outside(dates: pd.Series, start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.Series:
    mask = pd.Series(False, index=dates.index)
    if start is not None:
        mask |= dates < start
    if end is not None:
        mask |= dates > end
    return mask & dates.notna()


def row_checks(
    case: pd.Series,
    blank: pd.Series,
    bad: pd.Series,
    dates: pd.Series,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
) -> list[tuple[pd.Series, str]]:
    """The checks every dated row goes through first, in report order, for :func:`classify`."""
    return [
        (case.isna(), "missing_case_id"),
        (blank, "missing_date"),
        (bad, "invalid_date"),
        (outside(dates, start, end), "outside_date_range"),
    ]


# --- building outputs -------------------------------------------------------------------------


def classify(
    n: int, index: pd.Index, checks: Sequence[tuple[pd.Series | np.ndarray, str]]
) -> pd.Series:
    """First matching reason per row, in the order given; rows matching none are 'mapped'."""
    conds = [np.asarray(c, dtype=bool) for c, _ in checks]
    reasons = [r for _, r in checks]
    out = np.select(conds, reasons, default="mapped") if conds else np.full(n, "mapped")
    return pd.Series(out, index=index, dtype=object)


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


def empty_report() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="int64" if c == "rows" else object) for c in REPORT_COLUMNS}
    )


def make_events(
    case_id: pd.Series,
    date: pd.Series,
    agency: str | pd.Series,
    event: str | pd.Series,
    value: pd.Series | None = None,
    recorded_date: pd.Series | None = None,
) -> pd.DataFrame:
    n = len(case_id)
    out = pd.DataFrame(
        {
            "case_id": case_id.astype("string").to_numpy(),
            "date": pd.to_datetime(pd.Series(date.to_numpy())).to_numpy(),
            "agency": np.asarray(
                agency if not isinstance(agency, str) else [agency] * n, dtype=object
            ),
            "event": np.asarray(event if not isinstance(event, str) else [event] * n, dtype=object),
            "value": np.full(n, np.nan) if value is None else np.asarray(value, dtype="float64"),
            "recorded_date": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
            if recorded_date is None
            else pd.to_datetime(pd.Series(recorded_date.to_numpy())),
        }
    )
    out["date"] = pd.to_datetime(out["date"])
    return out


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
    dates: pd.Series,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    source: str,
    *,
    first: pd.Series | None = None,
) -> pd.DataFrame:
    """Coverage of an extract: the stated start/end, else the span of readable dates."""
    lo_dates = dates if first is None else first
    lo = start if start is not None else lo_dates.min()
    hi = end if end is not None else dates.max()
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


def extract_coverage(
    agencies: Sequence[str],
    case: pd.Series,
    dates: pd.Series,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    source: str,
    *,
    first: pd.Series | None = None,
) -> pd.DataFrame:
    """Coverage from the rows with a case identifier and a readable date inside [start, end]."""
    keep = case.notna() & dates.notna() & ~outside(dates, start, end)
    return coverage_rows(
        agencies, dates[keep], start, end, source, first=None if first is None else first[keep]
    )
