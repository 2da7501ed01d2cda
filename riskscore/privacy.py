"""The identifying-data guard and keyed pseudonymisation.

riskscore works on anonymised extracts only. :func:`check_identifying` (also run by
every validator and reader, before any other check) reads **every row** of every
column, vectorised: each column is factorised once and the patterns run on its
distinct values in C++ (RE2 via pyarrow), so the guard costs a fraction of reading
the file (``benchmarks/guard.py`` measures it). It refuses columns by their *name*
(``surname``, ``nhs_number``, ``postcode``, ``dob``, ``born``, ``notes`` ...) and
values by their *form*, in any column including ``case_id`` and the label columns
``sex``, ``ethnic_group`` and ``outcome``:

* NHS numbers passing the modulus-11 check, written plain or with spaces, dashes,
  dots or no-break spaces between the digits, alone or inside text;
* UK postcodes in any case and spacing;
* person names in any case (a common forename and another word, ``Surname,
  Forename``, a title and a name), and columns of title-case names;
* e-mail addresses and UK telephone numbers;
* full dates anywhere but the contract's date columns (``dob2``, ``born`` ...);
* free text.

Messages name the column, the rows (or file lines) and the pattern, and show values
masked (first two characters), never whole.

Heuristics misfire: about 1 in 11 random 10-digit identifiers pass the NHS number
check (a column of such ids is refused only when most do), and a column of school
names looks like person names. A caller who knows a column is safe passes
``allow={"column": "reason"}``; the reason travels with the frame (``df.attrs``) into
the provenance of every output (cohort tables, reports, model cards, written tables).

:func:`pseudonymise` replaces ``case_id`` with a keyed HMAC-SHA256 token and can
shift each case's dates by one per-case offset. The key never appears in any output.
"""

from __future__ import annotations

import hashlib
import hmac
from numbers import Integral

import numpy as np
import pandas as pd

from riskscore._params import Interval, StrOptions, validate_params
from riskscore._privacy_rules import nhs_number_valid
from riskscore.errors import ParameterError, SchemaError
from riskscore.schema import (
    ALLOWED,
    CONTRACT,
    DATE_COLUMNS,
    MARK,
    allowed_columns,
    check_identifying,
    ensure_cases,
    ensure_events,
    mark_of,
)

__all__ = [
    "check_identifying",
    "pseudonymise",
    "nhs_number_valid",
    "TOKEN_HEX_CHARS",
    "MAX_SHIFT_DAYS",
]

#: Length of a pseudonymous case token: the first 32 hex characters (128 bits) of
#: HMAC-SHA256(key, "riskscore-case-id:" + case_id). 128 bits make an accidental
#: collision between two children practically impossible (about 1 in 10^29 for a
#: million cases) while keeping ids short enough to read.
TOKEN_HEX_CHARS = 32

#: Largest ``max_shift_days`` pseudonymise accepts: ten years. A larger shift hides
#: nothing more (intervals are kept, so the order of a case's events still shows)
#: but moves dates towards the ends of what pandas can hold (years 1677 to 2262).
MAX_SHIFT_DAYS = 3650

#: ``attrs`` key of what pseudonymise did (dropped columns, whether dates moved).
PSEUDONYMISED = "riskscore_pseudonymised"


def _key_bytes(key) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    elif isinstance(key, (bytearray, memoryview)):
        key = bytes(key)
    if not isinstance(key, bytes):
        # Say the type only: the value could be the key itself.
        raise ParameterError(f"key must be bytes or str, got {type(key).__name__}")
    if len(key) < 16:
        raise ParameterError(
            f"key is too short ({len(key)} bytes); use at least 16 random bytes, e.g. "
            "secrets.token_bytes(32), and keep it outside the data and the outputs"
        )
    return key


def _tokens(ids: np.ndarray, key: bytes, shift_dates: bool, max_shift_days: int):
    """Per distinct id: its token and (when shifting) its whole-day offset."""
    token_mac = hmac.new(key, b"riskscore-case-id:", hashlib.sha256)
    shift_mac = hmac.new(key, b"riskscore-date-shift:", hashlib.sha256)
    tokens = np.empty(len(ids), dtype=object)
    offsets = np.zeros(len(ids), dtype=np.int64)
    span = 2 * max_shift_days
    # one HMAC per child (not per event): the distinct ids of both tables
    for i, case in enumerate(ids):
        raw = str(case).encode("utf-8")
        mac = token_mac.copy()
        mac.update(raw)
        tokens[i] = mac.hexdigest()[:TOKEN_HEX_CHARS]
        if shift_dates:
            mac = shift_mac.copy()
            mac.update(raw)
            v = int.from_bytes(mac.digest()[:8], "big") % span
            # Never 0: every case moves, in [-max, -1] or [1, max].
            offsets[i] = v - max_shift_days if v < max_shift_days else v - max_shift_days + 1
    return tokens, offsets


def _shifted(dates: pd.Series, shift: np.ndarray, table: str, column: str) -> pd.Series:
    """``dates`` moved by ``shift`` (whole days), refusing results the dtype cannot hold.

    pandas raises its own overflow errors (or, for some units, wraps silently), so
    the bound is checked first on the underlying integers, whatever the time unit.
    """
    values = dates.to_numpy()
    unit, _ = np.datetime_data(values.dtype)
    step = shift.astype(f"timedelta64[{unit}]").view(np.int64)
    ticks = values.view(np.int64)
    valid = ~np.isnat(values)
    info = np.iinfo(np.int64)
    # int64 min is NaT, so the earliest date is min + 1
    over = valid & (step > 0) & (ticks > info.max - step)
    under = valid & (step < 0) & (ticks < info.min + 1 - step)
    bad = np.flatnonzero(over | under)
    if len(bad):
        lo, hi = (np.array([info.min + 1, info.max]).view(values.dtype)).astype(str)
        rows = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
        raise SchemaError(
            f"pseudonymise: shifting {table} column {column!r} would move {len(bad)} date(s) "
            f"outside what the column can hold ({lo[:10]} to {hi[:10]}), rows {rows}. Fix: "
            "correct those dates (they are probably placeholders such as 1677 or 2262), or "
            "convert the column to a coarser unit, e.g. .astype('datetime64[s]')."
        )
    return dates + pd.to_timedelta(shift)


@validate_params(
    {
        "key": [bytes, str],
        "shift_dates": ["boolean"],
        "max_shift_days": [Interval(Integral, 1, MAX_SHIFT_DAYS)],
        "extra_columns": [StrOptions("refuse", "drop")],
    }
)
def pseudonymise(
    events: pd.DataFrame,
    cases: pd.DataFrame | None = None,
    key: bytes | str | None = None,
    *,
    shift_dates: bool = False,
    max_shift_days: int = 180,
    extra_columns: str = "refuse",
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Replace ``case_id`` with a keyed token and optionally shift each case's dates.

    Both tables are first checked against the data contract (as every riskscore
    entry point does: :func:`riskscore.schema.ensure_events`), so blank ids are
    refused and ids are compared with white space normalised (``" 1"`` and ``"1"``
    are one child, with one token). The token is the first :data:`TOKEN_HEX_CHARS`
    (32) lowercase hex characters of HMAC-SHA256(key, ``"riskscore-case-id:" +
    case_id``): the same id gets the same token in both tables and under the same
    key, and nobody without the key can recompute it. With ``shift_dates=True``
    every date column of a case (``date``, ``recorded_date``, ``outcome_date``,
    ``followup_end``) moves by one whole-day offset in ``[-max_shift_days, -1]`` or
    ``[1, max_shift_days]``, derived from a second HMAC of the id, so every interval
    within a case is kept exactly. ``birth_year`` is left as it is: a year is coarse
    already, but ages computed from it against shifted dates can be off by up to
    ``max_shift_days``.

    No raw id is left anywhere: the outputs have a fresh ``RangeIndex`` (an index
    can hold ids), categorical ids have every category replaced, and ``attrs`` hold
    only riskscore's own records. Columns outside the contract (free text, local
    ids, other dates) could identify a child: they are refused, or with
    ``extra_columns="drop"`` dropped before any check reads them (so a column that
    looks identifying, such as free-text ``notes``, is dropped, not refused: dropping
    removes its data) and listed in
    ``attrs["riskscore_pseudonymised"]["dropped_columns"]``. The inputs are not
    modified and the key appears in no output, attribute or error message.

    Parameters
    ----------
    events : pandas.DataFrame
        Events (raw with ISO dates, or typed from :func:`riskscore.read_events`).
    cases : pandas.DataFrame, optional
        Cases.
    key : bytes or str
        Secret key of at least 16 bytes (a str is UTF-8 encoded). Required.
    shift_dates : bool, default=False
        Shift each case's dates by its own offset.
    max_shift_days : int, default=180
        Largest absolute shift in days, from 1 to :data:`MAX_SHIFT_DAYS` (3650, ten
        years).
    extra_columns : {"refuse", "drop"}, default="refuse"
        What to do with columns outside the data contract: refuse the tables, or
        drop those columns (identifying-looking ones included) before the tables
        are checked.

    Returns
    -------
    events : pandas.DataFrame
    cases : pandas.DataFrame or None
        Typed as :func:`riskscore.validate_events` / ``validate_cases`` type them.

    Raises
    ------
    TypeError
        If the key is missing or not bytes/str.
    ParameterError
        If the key is shorter than 16 bytes or ``max_shift_days`` is outside
        ``[1, MAX_SHIFT_DAYS]`` (a :class:`ValueError` too).
    SchemaError
        If a table breaks the data contract (blank ids, missing columns ...), has
        columns outside it (with ``extra_columns="refuse"``), or a shifted date would
        fall outside the dates its column can hold (for nanosecond dates, 1677-09-21
        to 2262-04-11); the message names the column and rows.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"case_id": ["c1", " c1"], "date": ["2101-01-01", "2101-01-31"],
    ...                    "agency": ["gp", "gp"], "event": ["reliever_prescription"] * 2})
    >>> out, _ = pseudonymise(ev, key=b"0123456789abcdef-not-a-real-key", shift_dates=True)
    >>> out["case_id"].nunique(), len(out["case_id"].iloc[0])
    (1, 32)
    >>> int((out["date"].iloc[1] - out["date"].iloc[0]).days)
    30
    """
    if key is None:
        raise ParameterError("pseudonymise needs a key (bytes or str of at least 16 bytes)")
    key = _key_bytes(key)
    max_shift_days = int(max_shift_days)
    if shift_dates and max_shift_days < 1:
        raise ParameterError(f"max_shift_days must be at least 1, got {max_shift_days}")
    raw = {"events": events} if cases is None else {"events": events, "cases": cases}
    dropped: dict[str, list] = {name: [] for name in raw}
    if extra_columns == "drop":
        # dropped before the identifying-data guard runs: dropping a column removes its
        # data, so a column that looks identifying (free text, an NHS number) is no
        # reason to refuse, and its values never reach a check or a message
        for name, df in raw.items():
            if isinstance(df, pd.DataFrame):
                dropped[name] = [c for c in df.columns if c not in CONTRACT[name]]
                raw[name] = df.drop(columns=dropped[name])
    tables = {"events": ensure_events(raw["events"])}
    if cases is not None:
        tables["cases"] = ensure_cases(raw["cases"])
    extra = {
        name: [c for c in df.columns if c not in CONTRACT[name]] for name, df in tables.items()
    }
    found = [f"{name}.{c}" for name, cols in extra.items() for c in cols]
    if found and extra_columns == "refuse":
        raise SchemaError(
            f"pseudonymise: column(s) outside the data contract: {', '.join(found)}. Columns "
            "the contract does not know (free text, local ids, other dates) can identify a "
            "child and would leave with the pseudonymised tables. Fix: drop them, or pass "
            "extra_columns='drop' to drop them with a record in the outputs' attrs."
        )

    # One pass over the distinct ids of both tables: tokens agree across tables.
    def distinct(series: pd.Series) -> pd.Index:
        if isinstance(series.dtype, pd.CategoricalDtype):
            return pd.Index(np.asarray(series.cat.categories, dtype=object))
        return pd.Index(pd.unique(series.astype("str")))

    ids = distinct(tables["events"]["case_id"])
    if cases is not None:
        ids = ids.append(distinct(tables["cases"]["case_id"])).unique()
    tokens, offsets = _tokens(np.asarray(ids, dtype=object), key, shift_dates, max_shift_days)
    lookup = pd.Index(ids)

    out = []
    for name, df in tables.items():
        allowed = allowed_columns(df)
        df = df.drop(columns=extra[name]).reset_index(drop=True)
        df.columns.name = None
        series = df["case_id"]
        if isinstance(series.dtype, pd.CategoricalDtype):
            cat_pos = lookup.get_indexer(pd.Index(np.asarray(series.cat.categories, dtype=object)))
            df["case_id"] = series.cat.rename_categories(tokens[cat_pos])
            codes = series.cat.codes.to_numpy()
            pos = np.where(codes >= 0, cat_pos[np.maximum(codes, 0)], -1)
        else:
            pos = lookup.get_indexer(series.astype("str"))
            df["case_id"] = pd.Series(tokens[np.maximum(pos, 0)], index=df.index, dtype="str")
        if shift_dates:
            shift = np.where(pos >= 0, offsets[np.maximum(pos, 0)], 0).astype("timedelta64[D]")
            for column in df.columns:
                if column in DATE_COLUMNS:
                    df[column] = _shifted(df[column], shift, name, column)
        # only riskscore's own records survive in attrs (anything else could hold ids)
        own = {
            k: v for k, v in df.attrs.items() if str(k).startswith("riskscore_") and k != ALLOWED
        }
        df.attrs = {
            **own,
            MARK: mark_of(df, name),
            PSEUDONYMISED: {
                "dropped_columns": list(map(str, dropped[name] + extra[name])),
                "shift_dates": bool(shift_dates),
            },
        }
        kept = {c: r for c, r in allowed.items() if c in df.columns}
        if kept:
            df.attrs[ALLOWED] = kept
        out.append(df)
    return out[0], (out[1] if cases is not None else None)
