"""Coverage: which agency's records cover which period, and features unknown outside it.

Extracts do not cover every agency for every period: a school census extract may start
in 2103, a police extract may cover one force area for two years. Outside its coverage
an agency's silence means *unknown*, not *nothing happened*. A coverage table
``(agency, from, to)`` -- built by the source adapters from what they read
(:class:`riskscore.sources.AdapterResult` ``.coverage``) or written by the user -- lets
:func:`apply_coverage` turn the features that only uncovered agencies hold into missing
(NaN) rather than 0, and :func:`coverage_gaps` list the uncovered periods for reports.

An optional ``case_id`` column makes a row apply to one child only (for example the
period a child lived in the area); rows without it apply to every child.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from riskscore._dates import (
    DATE_EMPTY,
    DATE_OK,
    DATE_OUT_OF_RANGE,
    DATE_RANGE,
    datetime_days,
    days_to_ns,
    parse_dates,
    to_days,
)
from riskscore._params import StrOptions, validate_params
from riskscore._privacy_rules import normalise_ids
from riskscore.errors import ParameterError, SchemaError
from riskscore.schema import refuse_non_numbers
from riskscore.vocabulary import AGENCIES, FEATURES

__all__ = ["coverage_table", "apply_coverage", "coverage_gaps", "covered"]

_COLUMNS = ("agency", "from", "to")
_ONE_DAY = np.timedelta64(1, "D")


def _as_frame(table: object) -> pd.DataFrame:
    cov = getattr(table, "coverage", None)
    if isinstance(cov, pd.DataFrame):
        return cov
    if isinstance(table, pd.DataFrame):
        return table
    rows = list(table) if isinstance(table, Iterable) and not isinstance(table, str) else None
    if rows and all(isinstance(r, Mapping) for r in rows):
        return pd.DataFrame(rows)  # records: {"agency": ..., "from": ..., "to": ...}
    if rows is None or not all(isinstance(r, tuple | list) and len(r) == 3 for r in rows):
        raise SchemaError(
            "coverage_table: each table must be a DataFrame with columns agency, from, to, "
            "an adapter's result, or rows of (agency, from, to); got "
            f"{type(table).__name__}" + ("" if rows is None else " with other rows") + "."
        )
    return pd.DataFrame(rows, columns=list(_COLUMNS))


def _refuse_doubled(df: pd.DataFrame, columns: Iterable[str], where: str) -> None:
    """Refuse a column of ``columns`` that ``df`` has twice: which one to read is unknown."""
    names = df.columns[df.columns.duplicated()]
    doubled = [str(c) for c in dict.fromkeys(names) if c in set(columns)]
    if doubled:
        raise SchemaError(
            f"{where}: column(s) {doubled} appear more than once; keep one of each (or "
            "rename the others) so that it is clear which to read."
        )


def _days(values: pd.Series) -> np.ndarray:
    """Dates of a checked coverage table as int64 days (numpy's ns -> day cast wraps
    before 1677-09-23, and a day past 2262-04-11 is not a datetime64[ns])."""
    return datetime_days(values.to_numpy(dtype="datetime64[ns]"))


def _is_tuples(table: object) -> bool:
    try:
        first = next(iter(table))  # type: ignore[call-overload]
    except (StopIteration, TypeError):
        return False
    return isinstance(first, tuple | list)


def coverage_table(*tables: object) -> pd.DataFrame:
    """Check and combine coverage tables into merged intervals.

    Parameters
    ----------
    *tables : pandas.DataFrame, AdapterResult or iterable of (agency, from, to)
        Each with columns ``agency``, ``from``, ``to`` (inclusive dates) and optionally
        ``case_id``; other columns (``source``) are dropped.

    Returns
    -------
    pandas.DataFrame
        ``agency, from, to`` (plus ``case_id`` when any input had it, <NA> for rows that
        apply to every child), overlapping or touching intervals merged, sorted.

    Raises
    ------
    riskscore.SchemaError
        Missing columns, unknown agencies, unreadable dates or ``from`` after ``to``,
        naming the first rows.

    Examples
    --------
    >>> cov = coverage_table([("school", "2101-09-01", "2102-07-31"),
    ...                       ("school", "2102-08-01", "2103-07-31")])
    >>> cov.astype(str).values.tolist()
    [['school', '2101-09-01', '2103-07-31']]
    """
    frames = [_as_frame(t) for t in tables]
    if not frames:
        raise SchemaError("coverage_table: give at least one table of agency, from, to.")
    has_case = any("case_id" in f.columns for f in frames)
    parts = []
    for i, f in enumerate(frames):
        _refuse_doubled(f, [*_COLUMNS, "case_id"], f"coverage table {i}")
        missing = [c for c in _COLUMNS if c not in f.columns]
        if missing:
            raise SchemaError(
                f"coverage table {i}: column(s) {missing} missing; a coverage table has columns agency, from, to "
                "(inclusive dates) and optionally case_id."
            )
        part = f[list(_COLUMNS)].copy()
        # ids compared as everywhere else (normalise_ids): white space normalised, and a
        # whole float (an id column read from CSV with blanks: 7.0) is its integer "7"
        part["case_id"] = (
            normalise_ids(f["case_id"]).astype("string") if "case_id" in f.columns else pd.NA
        )
        parts.append(part)
    cov = pd.concat(parts, ignore_index=True)
    cov["case_id"] = cov["case_id"].astype("string")
    blank = np.flatnonzero((cov["case_id"] == "").fillna(False).to_numpy())
    if len(blank):
        # a blank id would match no child and its coverage would silently apply to nobody
        raise SchemaError(
            f"coverage: column 'case_id' rows {blank[:5].tolist()} are blank; give the child's "
            "case id, or leave the cell empty (missing) for a row that applies to every child."
        )
    bad_agency = np.flatnonzero(~cov["agency"].isin(AGENCIES).to_numpy())
    if len(bad_agency):
        raise SchemaError(
            f"coverage: unknown agency {cov['agency'].iloc[bad_agency[0]]!r} in rows {bad_agency[:5].tolist()}; "
            f"use one of {', '.join(AGENCIES)}."
        )
    for col in ("from", "to"):
        # the contract's one date rule: ISO text (or datetimes), never a guess
        parsed = parse_dates(cov[col])
        far = np.flatnonzero(parsed.kind == DATE_OUT_OF_RANGE)
        bad = np.flatnonzero((parsed.kind != DATE_OK) & (parsed.kind != DATE_OUT_OF_RANGE))
        if len(bad):
            what = "blank" if (parsed.kind[bad] == DATE_EMPTY).all() else "blank or not ISO dates"
            raise SchemaError(
                f"coverage: column '{col}' rows {bad[:5].tolist()} are {what} (YYYY-MM-DD); fix them."
            )
        if len(far):
            raise SchemaError(
                f"coverage: column '{col}' rows {far[:5].tolist()} fall outside {DATE_RANGE}, "
                "the days pandas can hold; give the real first or last day covered."
            )
        cov[col] = pd.Series(parsed.values, index=cov.index).dt.normalize()
    backwards = np.flatnonzero((cov["from"] > cov["to"]).to_numpy())
    if len(backwards):
        raise SchemaError(
            f"coverage: rows {backwards[:5].tolist()} have 'from' after 'to'; swap or fix the dates."
        )
    out = _merge(cov)
    cols = [*_COLUMNS, "case_id"] if has_case else list(_COLUMNS)
    return out[cols]


def _merge(cov: pd.DataFrame) -> pd.DataFrame:
    """Merge overlapping or touching intervals within (agency, case_id), vectorised."""
    if cov.empty:
        return pd.DataFrame(
            {
                "agency": pd.Series(dtype=object),
                "from": pd.Series(dtype="datetime64[ns]"),
                "to": pd.Series(dtype="datetime64[ns]"),
                "case_id": pd.Series(dtype="string"),
            }
        )
    g = cov.assign(
        _c=cov["case_id"].fillna("\x00"), _f=_days(cov["from"]), _t=_days(cov["to"])
    ).sort_values(["agency", "_c", "_f"], kind="stable")
    # in days: the day after 2262-04-11 is past what datetime64[ns] holds
    run_max = g.groupby(["agency", "_c"], sort=False)["_t"].cummax()
    prev_max = run_max.groupby([g["agency"], g["_c"]], sort=False).shift(1)
    new_block = prev_max.isna() | (g["_f"] > prev_max + 1)
    block = new_block.cumsum()
    out = g.groupby(block, sort=True).agg(
        agency=("agency", "first"),
        case_id=("case_id", "first"),
        **{"from": ("from", "min"), "to": ("to", "max")},
    )
    out = out.reset_index(drop=True)
    out["case_id"] = out["case_id"].astype("string")
    return out.sort_values(
        ["agency", "case_id", "from"], na_position="first", kind="stable"
    ).reset_index(drop=True)


def covered(
    coverage: pd.DataFrame,
    agency: str,
    case_id: Sequence[object] | pd.Series,
    dates: Sequence[object] | pd.Series,
) -> np.ndarray:
    """Whether ``agency`` had coverage for each (case, date), by interval lookup.

    Parameters
    ----------
    coverage : pandas.DataFrame
        A table from :func:`coverage_table`.
    agency : str
        Agency code.
    case_id, dates : sequence
        Equal-length case identifiers and dates to look up.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> cov = coverage_table([("police", "2101-01-01", "2101-12-31")])
    >>> covered(cov, "police", ["c1", "c1"], ["2101-06-01", "2102-06-01"]).tolist()
    [True, False]
    """
    if not (pd.api.types.is_list_like(case_id) and pd.api.types.is_list_like(dates)):
        raise ParameterError(
            "covered: case_id and dates must be sequences of equal length (one case "
            f"identifier per date); got {type(case_id).__name__} and {type(dates).__name__}."
        )
    n_ids, n_dates = len(case_id), len(dates)
    if n_ids != n_dates:
        raise ParameterError(
            f"covered: {n_ids} case_id but {n_dates} dates; give one case identifier per "
            "date (equal lengths)."
        )
    cov = coverage if "case_id" in coverage.columns else coverage.assign(case_id=pd.NA)
    cov = cov[cov["agency"] == agency]
    days = to_days(pd.Series(dates), "dates", "covered")
    out = np.zeros(len(days), dtype=bool)
    if cov.empty or len(days) == 0:
        return out
    starts, ends = _days(cov["from"]), _days(cov["to"])
    is_global = cov["case_id"].isna().to_numpy()
    if is_global.any():
        gs, ge = starts[is_global], ends[is_global]
        order = np.argsort(gs, kind="stable")
        gs, ge = gs[order], ge[order]
        i = np.searchsorted(gs, days, side="right") - 1
        out |= (i >= 0) & (days <= ge[np.clip(i, 0, None)])
    if (~is_global).any():
        # one sorted key per (case, day): case code * span + day offset
        cases = pd.Categorical(cov["case_id"][~is_global].astype(str))
        q_ids = normalise_ids(pd.Series(case_id)).astype(str)
        q_code = cases.categories.get_indexer(q_ids).astype("int64")
        cs, ce = starts[~is_global], ends[~is_global]
        lo = min(cs.min(), days.min())
        span = int(max(ce.max(), days.max()) - lo + 2)
        key_s = cases.codes.astype("int64") * span + (cs - lo)
        key_e = cases.codes.astype("int64") * span + (ce - lo)
        order = np.argsort(key_s, kind="stable")
        key_s, key_e = key_s[order], key_e[order]
        q = q_code * span + (days - lo)
        i = np.searchsorted(key_s, q, side="right") - 1
        hit = (q_code >= 0) & (i >= 0) & (q <= key_e[np.clip(i, 0, None)])
        out |= hit
    return out


@validate_params({"agency": ["agency", None], "unlisted": [StrOptions("uncovered", "covered")]})
def apply_coverage(
    features: pd.DataFrame,
    coverage: object,
    agency: str | None = None,
    *,
    unlisted: str = "uncovered",
) -> pd.DataFrame:
    """Set features to missing where no agency holding them had coverage on ``as_of``.

    Parameters
    ----------
    features : pandas.DataFrame
        ``case_id``, ``as_of`` and feature columns (as from
        :func:`riskscore.encode_features`); columns not in :data:`riskscore.FEATURES`
        are left alone.
    coverage : pandas.DataFrame, AdapterResult or sequence of them
        Coverage (``agency, from, to`` [, ``case_id``]); combined with
        :func:`coverage_table`.
    agency : str, optional
        For an agency view: every feature is set missing where *that* agency had no
        coverage (what it could have known is unknown). By default (joined view) a
        feature is missing where none of its holding agencies
        (``FEATURES[name].agencies``; "any" = any agency) had coverage.
    unlisted : {"uncovered", "covered"}, default="uncovered"
        How to treat agencies with no row at all in the coverage table.

    Returns
    -------
    pandas.DataFrame
        A copy with the uncovered feature values set to NaN (float64).

    Examples
    --------
    >>> import pandas as pd
    >>> feats = pd.DataFrame({"case_id": ["c1", "c1"], "as_of": ["2101-06-01", "2103-06-01"],
    ...                       "police_incidents_home_12m": [0.0, 0.0]})
    >>> cov = [("police", "2101-01-01", "2101-12-31")]
    >>> apply_coverage(feats, cov)["police_incidents_home_12m"].tolist()
    [0.0, nan]
    """
    if unlisted not in ("uncovered", "covered"):
        raise SchemaError(f"apply_coverage: unlisted={unlisted!r}; use 'uncovered' or 'covered'.")
    if not isinstance(features, pd.DataFrame):
        raise SchemaError(
            f"apply_coverage: features must be a DataFrame from encode_features; got "
            f"{type(features).__name__}."
        )
    for col in ("case_id", "as_of"):
        if col not in features.columns:
            raise SchemaError(
                f"apply_coverage: features lack the '{col}' column; pass the output of encode_features."
            )
    names = [c for c in dict.fromkeys(features.columns) if c in FEATURES]
    _refuse_doubled(features, ["case_id", "as_of", *names], "apply_coverage")
    for name in names:
        refuse_non_numbers(features[name], name, "apply_coverage")
    if isinstance(coverage, pd.DataFrame) or hasattr(coverage, "coverage") or _is_tuples(coverage):
        cov = coverage_table(coverage)
    elif isinstance(coverage, Iterable) and not isinstance(coverage, str):
        cov = coverage_table(*coverage)
    else:
        raise SchemaError(
            "apply_coverage: coverage must be a coverage table (agency, from, to), an "
            f"adapter's result, rows of (agency, from, to) or a list of these; got "
            f"{type(coverage).__name__}."
        )
    if agency is not None and agency not in AGENCIES:
        raise SchemaError(
            f"apply_coverage: unknown agency {agency!r}; use one of {', '.join(AGENCIES)}."
        )
    as_of = features["as_of"]
    listed = set(cov["agency"])

    cache: dict[str, np.ndarray] = {}

    def agency_covered(a: str) -> np.ndarray:
        if a not in cache:
            if a not in listed and unlisted == "covered":
                cache[a] = np.ones(len(features), dtype=bool)
            else:
                cache[a] = covered(cov, a, features["case_id"], as_of)
        return cache[a]

    out = features.copy()
    for name in names:
        if agency is not None:
            ok = agency_covered(agency)
        else:
            holders = FEATURES[name].agencies
            pool: Iterable[str] = AGENCIES if "any" in holders else holders
            ok = np.zeros(len(features), dtype=bool)
            for a in pool:
                ok |= agency_covered(a)
        out[name] = out[name].astype("float64").where(ok, np.nan)
    return out


@validate_params({"start": ["date"], "end": ["date"], "agencies": ["agencies", None]})
def coverage_gaps(
    coverage: object, start: object, end: object, agencies: Sequence[str] | None = None
) -> pd.DataFrame:
    """Periods within ``[start, end]`` that an agency's records do not cover.

    Parameters
    ----------
    coverage : pandas.DataFrame, AdapterResult or iterable of (agency, from, to)
        Coverage table (see :func:`coverage_table`).
    start, end : date-like
        The period a report is about (inclusive).
    agencies : sequence of str, optional
        Agencies to report; default every agency in :data:`riskscore.AGENCIES`, so an
        agency with no coverage at all shows one gap over the whole period.

    Returns
    -------
    pandas.DataFrame
        ``agency, from, to, days`` (plus ``case_id`` for gaps of children with their own
        coverage rows; <NA> = every other child), one row per uncovered period.

    Examples
    --------
    >>> cov = [("school", "2101-01-01", "2101-03-31"), ("school", "2101-07-01", "2101-12-31")]
    >>> gaps = coverage_gaps(cov, "2101-01-01", "2101-12-31", agencies=["school"])
    >>> gaps.astype(str).values.tolist()
    [['school', '2101-04-01', '2101-06-30', '91']]
    """
    cov = coverage_table(coverage)
    lo, hi = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if lo > hi:
        raise SchemaError(f"coverage_gaps: start {lo.date()} is after end {hi.date()}.")
    # in int64 days: the day before 1677-09-22 or after 2262-04-11 is past what
    # datetime64[ns] holds, and a gap's edges are such neighbours
    lo_d = int(to_days(pd.Series([lo]), "start", "coverage_gaps")[0])
    hi_d = int(to_days(pd.Series([hi]), "end", "coverage_gaps")[0])
    agencies = list(AGENCIES if agencies is None else agencies)
    if "case_id" not in cov.columns:
        cov = cov.assign(case_id=pd.Series(pd.NA, index=cov.index, dtype="string"))
    cov = cov[cov["agency"].isin(agencies)]
    glob = cov[cov["case_id"].isna()]
    per_case = cov[cov["case_id"].notna()]
    if len(per_case):
        # a child's coverage is the global rows plus its own rows
        pairs = per_case[["agency", "case_id"]].drop_duplicates()
        spread = pairs.merge(glob.drop(columns="case_id"), on="agency", how="inner")
        per_case = _merge(pd.concat([per_case, spread], ignore_index=True))
    groups = pd.concat(
        [
            pd.DataFrame(
                {
                    "agency": agencies,
                    "case_id": pd.Series(pd.NA, index=range(len(agencies)), dtype="string"),
                }
            ),
            per_case[["agency", "case_id"]].drop_duplicates(),
        ],
        ignore_index=True,
    )
    blocks = pd.concat([glob, per_case], ignore_index=True)
    blocks = pd.DataFrame(
        {
            "agency": blocks["agency"].to_numpy(dtype=object),
            "_c": blocks["case_id"].astype("string").fillna("\x00").to_numpy(dtype=object),
            "from": _days(blocks["from"]) if len(blocks) else np.array([], np.int64),
            "to": _days(blocks["to"]) if len(blocks) else np.array([], np.int64),
        }
    )
    blocks = blocks[(blocks["to"] >= lo_d) & (blocks["from"] <= hi_d)].copy()
    blocks["from"] = blocks["from"].clip(lower=lo_d)
    blocks["to"] = blocks["to"].clip(upper=hi_d)
    groups["_c"] = groups["case_id"].fillna("\x00")
    blocks = blocks.sort_values(["agency", "_c", "from"], kind="stable")
    prev_to = blocks.groupby(["agency", "_c"], sort=False)["to"].shift(1)
    between = pd.DataFrame(
        {
            "agency": blocks["agency"],
            "_c": blocks["_c"],
            "from": prev_to + 1,
            "to": blocks["from"] - 1,
        }
    )
    between = between[prev_to.notna()]
    firsts = (
        blocks.groupby(["agency", "_c"], sort=False)
        .agg(first=("from", "min"), last=("to", "max"))
        .reset_index()
    )
    allg = groups[["agency", "_c"]].drop_duplicates().merge(firsts, on=["agency", "_c"], how="left")
    empty = allg["first"].isna()
    lead = pd.DataFrame(
        {
            "agency": allg["agency"],
            "_c": allg["_c"],
            "from": lo_d,
            "to": allg["first"].fillna(hi_d + 1) - 1,
        }
    )
    tail = pd.DataFrame(
        {
            "agency": allg["agency"],
            "_c": allg["_c"],
            "from": allg["last"] + 1,
            "to": hi_d,
        }
    )[~empty]
    gaps = pd.concat([lead, between, tail], ignore_index=True)
    gaps = gaps[gaps["from"] <= gaps["to"]].copy()
    gaps["case_id"] = gaps["_c"].astype("string").mask(gaps["_c"] == "\x00")
    gaps["days"] = (gaps["to"] - gaps["from"] + 1).astype("int64")
    for col in ("from", "to"):
        gaps[col] = days_to_ns(gaps[col].to_numpy(dtype=np.int64))
    order = {a: i for i, a in enumerate(AGENCIES)}
    gaps = gaps.assign(_o=gaps["agency"].map(order)).sort_values(
        ["_o", "_c", "from"], kind="stable"
    )
    cols = ["agency", "from", "to", "days"] + (["case_id"] if len(per_case) else [])
    return gaps[cols].reset_index(drop=True)
