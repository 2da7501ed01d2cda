"""A declarative mapping for local systems (police, drug service, housing ...).

An analyst writes a small table -- no code -- saying which value of which column of a
local extract is which riskscore event, recorded by which agency:

===============  ==============  ============================  ============
source_column    source_value    event                         agency
===============  ==============  ============================  ============
incident_type    DOMESTIC        domestic_abuse_incident       police
incident_type    CONCERN_HOME    police_incident_home          police
incident_type    NOISE           ignore                        police
treatment        opiate          parent_substance_treatment    drug_service
===============  ==============  ============================  ============

as CSV or JSON (a list of objects with those keys, or ``{"mappings": [...]}``).

- values match with surrounding spaces and case ignored; ``*`` matches any non-blank
  value (for a column that is a flag or a date of something);
- ``event`` is a code from :data:`riskscore.EVENTS`, or ``ignore`` for a value known to
  need no event (reported as ``code_not_mapped`` rather than ``unknown_code``);
- one value may give several events (list it once per event); the same column, value
  and event twice is an error;
- extra columns (``note`` ...) are kept and ignored.

:func:`read_mapping` checks the table and raises :class:`riskscore.SchemaError` listing
every problem (the problems table is on the exception's ``report``);
:func:`apply_mapping` applies it to an extract whose case identifier and date columns
are named by the caller. A value of a mapped column that the table does not list is
reported as ``unknown_code`` with ``column=value``; nothing is dropped uncounted.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.errors import ParameterError, SchemaError
from riskscore.schema import refuse_ragged_lines
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
    code_checks,
    make_events,
    read_source,
    row_date,
)
from riskscore.vocabulary import AGENCIES, EVENTS

__all__ = ["read_mapping", "apply_mapping", "MAPPING_COLUMNS"]

#: Required columns of a mapping table.
MAPPING_COLUMNS: tuple[str, ...] = ("source_column", "source_value", "event", "agency")
IGNORE = "ignore"


def _load(source: object) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    if isinstance(source, list | tuple):
        return pd.DataFrame(list(source))
    path = Path(str(source))
    if not path.exists():
        raise SchemaError(
            f"mapping: file {str(path)!r} not found; give a CSV or JSON mapping table path."
        )
    if not path.is_file():
        raise SchemaError(
            f"mapping: {str(path)!r} is a folder, not a file; give a CSV or JSON mapping "
            "table path."
        )
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise SchemaError(
                f"mapping: {path.name} is not UTF-8 text (byte {exc.start}); save the mapping "
                "table as UTF-8 JSON."
            ) from None
        except json.JSONDecodeError as exc:
            raise SchemaError(
                f"mapping: {path.name} is not valid JSON ({exc}); fix the file."
            ) from exc
        if isinstance(data, dict):
            data = data.get("mappings")
        if not isinstance(data, list):
            raise SchemaError(
                f'mapping: {path.name} must hold a list of objects, or {{"mappings": [...]}}, '
                "each with source_column, source_value, event, agency."
            )
        return pd.DataFrame(data).astype(object)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SchemaError(
            f"mapping: {path.name} is not UTF-8 text (byte {exc.start}); save the mapping "
            "table as UTF-8 CSV."
        ) from None
    except pd.errors.EmptyDataError:
        raise SchemaError(
            f"mapping: {path.name} is empty; a mapping table has a header line "
            f"({', '.join(MAPPING_COLUMNS)}) and one row per mapped value."
        ) from None
    except pd.errors.ParserError as exc:
        refuse_ragged_lines(path, "utf-8-sig")
        raise SchemaError(f"mapping: {path.name} cannot be read as CSV: {exc}.") from None
    if not isinstance(table.index, pd.RangeIndex):
        refuse_ragged_lines(path, "utf-8-sig")
    return table


def read_mapping(source: str | Path | pd.DataFrame | Sequence[dict]) -> pd.DataFrame:
    """Read and check a mapping table (CSV, JSON, DataFrame or list of dicts).

    Parameters
    ----------
    source : str, pathlib.Path, pandas.DataFrame or sequence of dict
        The table; a path ending in ``.json`` is read as JSON, any other as CSV.

    Returns
    -------
    pandas.DataFrame
        The table with stripped text, in file order (row numbers are the file's data
        rows counted from 0).

    Raises
    ------
    riskscore.SchemaError
        Listing every problem: missing columns, blank cells, unknown event or agency
        codes, duplicated (source_column, source_value, event). The problems table
        (``row, column, value, problem``) is on the exception's ``report``.

    Examples
    --------
    >>> table = read_mapping([{"source_column": "type", "source_value": "DA",
    ...                        "event": "domestic_abuse_incident", "agency": "police"}])
    >>> table["event"].tolist()
    ['domestic_abuse_incident']
    """
    table = _load(source)
    check_unique_columns(table, "mapping", "mapping table")
    if len(table) == 0:
        raise SchemaError(
            "mapping table is empty: it has no rows, so no value would map to an event; add "
            f"rows with {', '.join(MAPPING_COLUMNS)}."
        )
    missing = [c for c in MAPPING_COLUMNS if c not in table.columns]
    if missing:
        raise SchemaError(
            f"mapping: column(s) {missing} missing; a mapping table needs columns "
            f"{', '.join(MAPPING_COLUMNS)} (found: {', '.join(map(str, table.columns))})."
        )
    table = table.reset_index(drop=True)
    check_single_values(table, MAPPING_COLUMNS, "mapping")
    for col in MAPPING_COLUMNS:
        table[col] = clean_text(table[col])
    problems: list[pd.DataFrame] = []

    def add(mask: pd.Series, column: str, text: str) -> None:
        rows = np.flatnonzero(mask.to_numpy(dtype=bool))
        if len(rows):
            problems.append(
                pd.DataFrame(
                    {
                        "row": rows,
                        "column": column,
                        "value": table[column].iloc[rows].astype(object).to_numpy(),
                        "problem": text,
                    }
                )
            )

    for col in MAPPING_COLUMNS:
        add(table[col].isna(), col, "blank cell; every row needs a value")
    known_events = set(EVENTS) | {IGNORE}
    add(
        table["event"].notna() & ~table["event"].isin(known_events),
        "event",
        f"unknown event code; use one of riskscore.EVENTS or '{IGNORE}'",
    )
    add(
        table["agency"].notna() & ~table["agency"].isin(AGENCIES),
        "agency",
        "unknown agency code; use one of " + ", ".join(AGENCIES),
    )
    key = pd.DataFrame(
        {
            "c": table["source_column"],
            "v": table["source_value"].str.casefold(),
            "e": table["event"],
        }
    )
    add(
        key.duplicated(keep=False) & key.notna().all(axis=1),
        "source_value",
        "listed twice for the same source_column and event; keep one row",
    )
    ignored = key.loc[key["e"] == IGNORE, ["c", "v"]]
    both_keys = ignored.merge(key.loc[key["e"] != IGNORE, ["c", "v"]]).drop_duplicates()
    in_both = (
        key[["c", "v"]].merge(both_keys, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    )
    add(
        pd.Series(in_both, index=table.index) & (key["e"] == IGNORE),
        "event",
        f"'{IGNORE}' and an event for the same value; remove one",
    )
    if problems:
        report = (
            pd.concat(problems, ignore_index=True)
            .sort_values(["row", "column"], kind="stable")
            .reset_index(drop=True)
        )
        lines = [
            f"row {r.row}, {r.column}={r.value!r}: {r.problem}"
            for r in report.head(10).itertuples()
        ]
        more = f" ... and {len(report) - 10} more" if len(report) > 10 else ""
        raise SchemaError(
            f"mapping table has {len(report)} problem(s): " + "; ".join(lines) + more, report=report
        )
    return table


def _rows(x: Extract, *, table: pd.DataFrame) -> Classified:
    """Each row's events: every listed value of every mapped column (``*`` any value)."""
    df = x.df
    absent = sorted(set(table["source_column"]) - set(df.columns))
    if absent:
        raise x.error(
            f"the mapping names column(s) {absent} that the extract lacks",
            "Fix source_column in the mapping or rename the extract's columns.",
        )
    cols = list(dict.fromkeys(table["source_column"]))
    check_single_values(df, cols, x.spec.source)
    dates, blank, bad = x.dated
    rec = None
    if x.column("recorded_date") is not None:
        rec, _, rec_bad = x.read_dates(df[x.column("recorded_date")])
        bad = bad | rec_bad
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "row": np.arange(len(df)),
                    "c": c,
                    # clean_text reads a float column with blanks (1.0, NaN) as "1"
                    "raw": clean_text(df[c]).to_numpy(),
                }
            )
            for c in cols
        ],
        ignore_index=True,
    )
    long = long[long["raw"].notna()]
    long["v"] = long["raw"].str.casefold()
    tab = pd.DataFrame(
        {
            "c": table["source_column"],
            "v": table["source_value"].str.casefold(),
            "event": table["event"],
            "agency": table["agency"],
        }
    )
    exact = long.merge(tab[tab["v"] != "*"], on=["c", "v"], how="inner")
    wild = long.merge(tab[tab["v"] == "*"].drop(columns="v"), on="c", how="inner")
    hits = pd.concat([exact, wild], ignore_index=True)
    # (row, column) values that the table does not list
    seen = long.merge(
        hits[["row", "c"]].drop_duplicates(), on=["row", "c"], how="left", indicator=True
    )
    unlisted = seen[seen["_merge"] == "left_only"]
    first_unknown = pd.Series(pd.NA, index=df.index, dtype=object)
    if len(unlisted):
        fu = unlisted.drop_duplicates("row")
        first_unknown.iloc[fu["row"].to_numpy()] = (
            fu["c"].astype(str) + "=" + fu["raw"].astype(str)
        ).to_numpy()
    real = hits[hits["event"] != IGNORE].drop_duplicates(["row", "event", "agency"])
    has_event = np.zeros(len(df), dtype=bool)
    has_event[real["row"].to_numpy()] = True
    has_value = np.zeros(len(df), dtype=bool)
    has_value[long["row"].to_numpy()] = True

    def events(mapped: pd.Series) -> pd.DataFrame:
        mapped_rows = np.flatnonzero(mapped.to_numpy())
        hit = real[real["row"].isin(mapped_rows)].sort_values(["row", "event"], kind="stable")
        r = hit["row"].to_numpy()
        return make_events(
            x.case.iloc[r].reset_index(drop=True),
            dates.iloc[r].reset_index(drop=True),
            hit["agency"].to_numpy(),
            hit["event"].to_numpy(),
            recorded_date=None if rec is None else rec.iloc[r].reset_index(drop=True),
        )

    return Classified(
        "row",
        dated=Dated(dates, blank, bad),
        checks=[
            (~has_value, "no_value"),
            *code_checks(pd.Series(has_event), first_unknown.notna().to_numpy()),
        ],
        code=first_unknown,
        events=events,
    )


#: A local extract read with a mapping table (``source`` and agencies set per call).
SPEC = SourceSpec(
    "local",
    (),
    columns=(
        case_column(""),
        row_date("date", ""),
        Column("recorded_date", "", "recorded date", "recorded_date_column"),
    ),
    classify=_rows,
)


def apply_mapping(
    extract: pd.DataFrame,
    mapping: str | Path | pd.DataFrame | Sequence[dict],
    *,
    case_id_column: str = "case_id",
    date_column: str = "date",
    recorded_date_column: str | None = None,
    source: str = "local",
    start: object = None,
    end: object = None,
    format: str | None = None,
    dayfirst: bool | None = None,
) -> AdapterResult:
    """Turn a local extract into events with a mapping table.

    Parameters
    ----------
    extract : pandas.DataFrame
        The local system's rows.
    mapping : path, pandas.DataFrame or sequence of dict
        The mapping table (checked with :func:`read_mapping`).
    case_id_column, date_column : str, default="case_id", "date"
        Columns holding the pseudonymous case identifier and the event date.
    recorded_date_column : str, optional
        Column holding when the row entered the record, copied to ``recorded_date``.
    source : str, default="local"
        Name of the extract in the report and coverage.
    start, end : date-like, optional
        Keep rows dated in ``[start, end]``; these also set the coverage period.
    format : str, optional
        ``strptime`` format of text dates; ISO dates still read (not with ``dayfirst``).
    dayfirst : bool, optional
        True reads text dates as ``DD/MM/YYYY``, False as ``MM/DD/YYYY``; ISO dates
        still read. Without ``format`` or ``dayfirst`` only ISO dates read: others are
        counted ``invalid_date``, never guessed (the rule of :func:`riskscore.read_events`).

    Returns
    -------
    AdapterResult
        Events, the report (field ``row``; ``unknown_code`` rows name the first
        unlisted ``column=value``) and coverage for every agency the table names.

    Examples
    --------
    >>> import pandas as pd
    >>> table = [{"source_column": "type", "source_value": "DA",
    ...           "event": "domestic_abuse_incident", "agency": "police"}]
    >>> police = pd.DataFrame({"case_id": ["c1", "c2"], "date": ["2101-03-01", "2101-03-02"],
    ...                        "type": ["da", "THEFT"]})
    >>> res = apply_mapping(police, table, source="police")
    >>> res.events["event"].tolist(), res.report["code"].tolist()
    (['domestic_abuse_incident'], ['', 'type=THEFT'])
    """
    if not isinstance(source, str) or not source.strip():
        raise ParameterError(
            f"apply_mapping: source must be the extract's name as text (e.g. 'police'), "
            f"shown in the report and coverage tables; got {source!r}."
        )
    args = dict(locals())
    table = read_mapping(args.pop("mapping"))
    agencies = set(table.loc[table["event"] != IGNORE, "agency"])
    spec = dataclasses.replace(
        SPEC, source=args.pop("source"), agencies=tuple(a for a in AGENCIES if a in agencies)
    )
    return read_source(spec, **args, table=table)
