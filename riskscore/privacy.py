"""The identifying-data guard and keyed pseudonymisation.

riskscore works on anonymised extracts only. :func:`check_identifying` looks for
columns that would let a reader recognise a person: by their *name* (``surname``,
``nhs_number``, ``postcode``, ``dob``, ``notes`` ...) and by their *values* (NHS
numbers passing the modulus-11 check, UK postcodes, full dates of birth, person
names, long free text). The value heuristics look at a bounded, evenly spaced sample
of rows, so the guard costs the same on 50 thousand rows as on 50 million.

Heuristics misfire: about 1 in 11 random 10-digit identifiers pass the NHS number
check, and a column of school names looks like person names. A caller who knows a
column is safe passes ``allow={"column": "reason"}``; the reason is kept for the
provenance of every output (``ValidationReport.allowed``).

:func:`pseudonymise` replaces ``case_id`` with a keyed HMAC-SHA256 token and can
shift each case's dates by one per-case offset. The key never appears in any output.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskscore.errors import ParameterError, SchemaError
from riskscore.vocabulary import CASE_COLUMNS, EVENT_COLUMNS

__all__ = ["check_identifying", "pseudonymise", "nhs_number_valid", "TOKEN_HEX_CHARS"]

#: Length of a pseudonymous case token: the first 32 hex characters (128 bits) of
#: HMAC-SHA256(key, "riskscore-case-id:" + case_id). 128 bits make an accidental
#: collision between two children practically impossible (about 1 in 10^29 for a
#: million cases) while keeping ids short enough to read.
TOKEN_HEX_CHARS = 32

#: Share of sampled distinct values that must match a value heuristic before a
#: column is refused. Random 10-digit ids pass the NHS check about 1 time in 11,
#: so a 50% share keeps ordinary numeric ids out of trouble.
_SHARE = 0.5
#: Rows looked at per column (evenly spaced) and distinct values kept from them.
_SAMPLE_ROWS = 50_000
_SAMPLE_DISTINCT = 10_000
#: Free text: many words per value, or long values made of several words.
_FREE_TEXT_MEAN_WORDS = 8.0
_FREE_TEXT_MEAN_CHARS = 60.0

# Column-name phrases (snake_case, matched as whole tokens) that identify a person.
_NAME_PHRASES: dict[str, tuple[str, ...]] = {
    "a person's name": (
        "name",
        "names",
        "forename",
        "forenames",
        "surname",
        "surnames",
        "firstname",
        "lastname",
        "fullname",
        "middlename",
        "maidenname",
        "nickname",
        "alias",
        "initials",
    ),
    "an NHS number or other national identifier": (
        "nhs",
        "nhs_no",
        "nhs_number",
        "nhsnumber",
        "chi_number",
        "upn",
        "uln",
        "unique_pupil_number",
        "nino",
        "ni_number",
        "national_insurance",
        "hospital_number",
        "mrn",
    ),
    "an address or postcode": (
        "postcode",
        "post_code",
        "postal_code",
        "zip",
        "zipcode",
        "address",
        "addr",
        "street",
    ),
    "contact details": ("email", "e_mail", "phone", "telephone", "mobile", "tel"),
    "a full date of birth": (
        "dob",
        "date_of_birth",
        "birth_date",
        "birthdate",
        "dateofbirth",
        "birthday",
    ),
    "free text": (
        "free_text",
        "freetext",
        "text",
        "notes",
        "note",
        "comment",
        "comments",
        "narrative",
        "remarks",
        "description",
        "details",
    ),
}

# Contract columns whose type the schema checks: never scanned for values. case_id
# is the exception (extracts sometimes carry NHS numbers as the child's id); sex,
# ethnic_group and outcome are free-form labels, so they are scanned for NHS
# numbers, postcodes and free text but not for names ("White British" is title case).
_UNSCANNED = frozenset(EVENT_COLUMNS) | frozenset(CASE_COLUMNS)
_LABEL_COLUMNS = frozenset({"sex", "ethnic_group", "outcome"})

_NHS_RE = r"\d{3}([ -]?)\d{3}\1\d{4}"
# UK postcode (full unit postcode), after the Royal Mail/ONS pattern; the inward
# letters never use C, I, K, M, O or V, which keeps random ids from matching.
_POSTCODE_RE = (
    r"(?i:GIR ?0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKS-UW]"
    r"|[A-HK-Y][0-9][ABEHMNPRV-Y]) ?[0-9][ABD-HJLNP-UW-Z]{2})"
)
_WORD = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)*"
_PERSON_RE = rf"(?:{_WORD}(?: {_WORD}){{1,3}}|{_WORD}, {_WORD}(?: {_WORD})?)"
_FULL_DATE_RE = (
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T ].*)?"
    r"|\d{1,2}[-/. ]\d{1,2}[-/. ]\d{2,4}(?: .*)?"
    r"|\d{1,2}[- ]?[A-Za-z]{3,9}[- ]?\d{2,4}"
)
_NHS_WEIGHTS = np.arange(10, 1, -1)


def nhs_number_valid(values) -> np.ndarray:
    """Which values are 10-digit numbers passing the NHS number modulus-11 check.

    The check digit (10th) is ``11 - (sum of the first nine digits weighted 10..2)
    mod 11``, with 11 read as 0; a result of 10 means the number is invalid. Values
    may be written as 10 digits or spaced/hyphenated 3-3-4. Repeated-digit values
    (``0000000000``) are never real numbers and are not counted.

    Parameters
    ----------
    values : array-like of str or int
        Candidate values; missing values are False.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> nhs_number_valid(["999 123 4578", "9991234579", "12345"]).tolist()
    [True, False, False]
    """
    s = pd.Series(values, dtype=object)
    out = np.zeros(len(s), dtype=bool)
    if len(s) == 0:
        return out
    is_int = s.map(lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool))
    # Integers lose leading zeros, so 9- and 10-digit ones are padded back; smaller
    # integers are counts or codes, never NHS numbers.
    text = s.where(
        ~is_int,
        s[is_int].map(lambda v: f"{int(v):010d}" if 100_000_000 <= v < 10**10 else ""),
    )
    text = text.map(lambda v: v.strip() if isinstance(v, str) else None)
    shaped = _fullmatches(text, _NHS_RE)
    if not shaped.any():
        return out
    digits_text = text[shaped].str.replace(r"\D", "", regex=True)
    raw = np.frombuffer("".join(digits_text).encode("ascii"), dtype=np.uint8)
    digits = (raw.reshape(-1, 10) - ord("0")).astype(np.int64)
    check = 11 - (digits[:, :9] @ _NHS_WEIGHTS) % 11
    check[check == 11] = 0
    ok = (check != 10) & (check == digits[:, 9]) & (digits != digits[:, :1]).any(axis=1)
    out[np.flatnonzero(shaped)] = ok
    return out


def _normalise_name(column) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(column))
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _name_reason(column) -> str | None:
    padded = f"_{_normalise_name(column)}_"
    for reason, phrases in _NAME_PHRASES.items():
        if any(f"_{p}_" in padded for p in phrases):
            return reason
    return None


def _fullmatches(text: pd.Series, pattern) -> np.ndarray:
    """Which values match ``pattern`` as a whole, as a bool array (missing values never do)."""
    return text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


def _mask(value) -> str:
    """Show the first two characters of a value and star the rest (never the whole value)."""
    text = str(value)
    if len(text) > 16:
        text = text[:16]
    return (
        text[:2] + re.sub(r"[A-Za-z0-9]", "*", text[2:]) + ("..." if len(str(value)) > 16 else "")
    )


def _sample(series: pd.Series) -> pd.Series:
    """Up to _SAMPLE_DISTINCT distinct non-missing values from evenly spaced rows.

    The result's index holds the 0-based row numbers the values were found at.
    """
    n = len(series)
    if n > _SAMPLE_ROWS:
        positions = np.unique(np.linspace(0, n - 1, _SAMPLE_ROWS).astype(np.int64))
    else:
        positions = np.arange(n)
    values = series.iloc[positions]
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    values = pd.Series(values.to_numpy(dtype=object), index=positions)
    values = values[values.notna()]
    return values[~values.duplicated()].iloc[:_SAMPLE_DISTINCT]


def _rows_text(rows) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:10])
    more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    return f"rows {shown}{more}"


def _problem(table, column, check, rows, what, fix) -> dict:
    rows = [int(r) for r in rows]
    where = f"; sampled {_rows_text(rows)}" if rows else ""
    return {
        "table": table,
        "column": str(column),
        "check": check,
        "rows": rows[:10],
        "n_rows": len(rows),
        "message": f"{table}.{column}: {what}{where}",
        "fix": fix,
    }


def _allow_fix(column) -> str:
    return (
        f"remove or anonymise column {column!r} before loading; if the heuristic is wrong "
        f"for this column, pass allow={{{str(column)!r}: 'why it is safe'}} (the reason is "
        "kept in the provenance of every output)"
    )


def _check_values(table, column, series, *, names: bool, dates_of_birth: bool) -> list[dict]:
    sample = _sample(series)
    if len(sample) == 0:
        return []
    found = []
    is_text = sample.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    text = pd.Series(
        sample[is_text].to_numpy(dtype=object), index=sample.index[is_text], dtype="str"
    ).str.strip()

    def share_of(mask: np.ndarray, base: int) -> float:
        return mask.sum() / base if base else 0.0

    if dates_of_birth:
        is_date = np.array(
            sample.map(lambda v: isinstance(v, (pd.Timestamp, np.datetime64))), dtype=bool
        )
        is_date[is_text] = _fullmatches(text, _FULL_DATE_RE)
        numeric = pd.to_numeric(sample[~is_text & ~is_date], errors="coerce")
        # yyyymmdd written as a number is a full date too
        yyyymmdd = ((numeric >= 1_000_00_00) & (numeric < 1_0000_00_00)).to_numpy(dtype=bool)
        is_date[np.flatnonzero(~is_text & ~is_date)[yyyymmdd]] = True
        if is_date.any():
            found.append(
                _problem(
                    table,
                    column,
                    "date_of_birth",
                    sample.index[is_date],
                    f"the name says birth and {is_date.sum()} sampled values are full dates "
                    f"(e.g. {_mask(sample[is_date].iloc[0])}); a full date of birth identifies "
                    "a child",
                    "keep only the year of birth as an integer column 'birth_year'; "
                    + _allow_fix(column),
                )
            )
            return found

    nhs = nhs_number_valid(sample.to_numpy())
    if share_of(nhs, len(sample)) >= _SHARE:
        found.append(
            _problem(
                table,
                column,
                "nhs_number",
                sample.index[nhs],
                f"{nhs.sum()} of {len(sample)} sampled distinct values "
                f"({nhs.mean():.0%}) are 10-digit numbers passing the NHS number modulus-11 "
                f"check (e.g. {_mask(sample[nhs].iloc[0])}); about 1 in 11 random 10-digit "
                "ids would pass",
                _allow_fix(column),
            )
        )
        return found
    if len(text) == 0:
        return found
    postcode = _fullmatches(text, _POSTCODE_RE)
    if share_of(postcode, len(text)) >= _SHARE:
        found.append(
            _problem(
                table,
                column,
                "postcode",
                text.index[postcode],
                f"{postcode.sum()} of {len(text)} sampled distinct values ({postcode.mean():.0%}) "
                f"look like UK postcodes (e.g. {_mask(text[postcode].iloc[0])})",
                _allow_fix(column),
            )
        )
        return found
    if names:
        person = _fullmatches(text, _PERSON_RE)
        if share_of(person, len(text)) >= _SHARE:
            found.append(
                _problem(
                    table,
                    column,
                    "person_name",
                    text.index[person],
                    f"{person.sum()} of {len(text)} sampled distinct values ({person.mean():.0%})"
                    f" look like person names: title-case words such as "
                    f"{_mask(text[person].iloc[0])}",
                    _allow_fix(column),
                )
            )
            return found
    words = text.str.count(r"\S+").to_numpy(dtype=float)
    chars = text.str.len().to_numpy(dtype=float)
    mean_words, mean_chars = words.mean(), chars.mean()
    if mean_words >= _FREE_TEXT_MEAN_WORDS or (
        mean_chars > _FREE_TEXT_MEAN_CHARS and mean_words >= 3
    ):
        long = (words >= _FREE_TEXT_MEAN_WORDS) | (chars > _FREE_TEXT_MEAN_CHARS)
        found.append(
            _problem(
                table,
                column,
                "free_text",
                text.index[long],
                f"sampled values look like free text (mean {mean_words:.1f} words, "
                f"{mean_chars:.0f} characters; e.g. {_mask(text[long].iloc[0]) if long.any() else ''}); "
                "free text routinely names people and places",
                _allow_fix(column),
            )
        )
    return found


def check_allow(allow, columns) -> dict[str, str]:
    if allow is None:
        return {}
    if not isinstance(allow, Mapping):
        raise SchemaError(
            "allow must be a mapping {column: reason}, e.g. allow={'ref': 'random 10-digit "
            f"ids, not NHS numbers'}}; got {type(allow).__name__}"
        )
    kept = {}
    for column, reason in allow.items():
        if not isinstance(reason, str) or not reason.strip():
            raise SchemaError(
                f"allow[{column!r}] needs a stated reason (a non-empty string), because the "
                "reason is kept in the provenance of every output; e.g. "
                f"allow={{{column!r}: 'school names, not people'}}"
            )
        if column in columns:
            kept[str(column)] = reason.strip()
    return kept


def check_identifying(
    df: pd.DataFrame, *, table: str = "events", allow: Mapping[str, str] | None = None
) -> list[dict]:
    """Find columns that look identifying, by their names and by their values.

    Refused by name: person names, NHS and other national numbers, addresses and
    postcodes, contact details, full dates of birth, free-text notes. Refused by
    values (on up to 10,000 distinct values from an evenly spaced sample of at most
    50,000 rows): NHS numbers (at least half of the values pass the modulus-11
    check), UK postcodes (at least half), person names (at least half title-case
    two-to-four-word values like ``"Jane Smith"``), long free text (mean of 8 words
    or more, or over 60 characters with several words), and any full date in a
    column whose name mentions birth (``birth_year`` must hold integer years).
    Contract columns whose types the schema checks are not scanned, except
    ``case_id`` (scanned for everything) and ``sex``, ``ethnic_group``, ``outcome``
    (scanned for everything except names). Messages mask values (first two
    characters only).

    Parameters
    ----------
    df : pandas.DataFrame
        An events or cases table.
    table : str, default="events"
        Table name used in messages.
    allow : mapping of str to str, optional
        ``{column: reason}`` for columns the heuristics misjudge; they are not
        checked. Every reason must be a non-empty string.

    Returns
    -------
    list of dict
        One dict per identifying column with keys ``table``, ``column``, ``check``,
        ``rows`` (first sampled 0-based row numbers), ``n_rows``, ``message`` and
        ``fix``; empty when nothing looks identifying.

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
    """
    allowed = check_allow(allow, set(map(str, df.columns)))
    problems = []
    seen = set()
    for i, column in enumerate(df.columns):
        name = str(column)
        if name in allowed or name in seen:
            continue
        seen.add(name)
        reason = None if name in _UNSCANNED else _name_reason(name)
        if reason is not None:
            problems.append(
                _problem(
                    table,
                    name,
                    "identifying_name",
                    [],
                    f"the column name suggests it holds {reason}",
                    _allow_fix(name),
                )
            )
            continue
        series = df.iloc[:, i]
        tokens = _normalise_name(name).split("_")
        birth = "birth" in tokens or "dob" in tokens
        if name in _UNSCANNED and name != "case_id" and name not in _LABEL_COLUMNS and not birth:
            continue
        if pd.api.types.is_bool_dtype(series.dtype):
            continue
        if pd.api.types.is_datetime64_any_dtype(series.dtype) and not birth:
            continue
        if pd.api.types.is_float_dtype(series.dtype):
            whole = series.dropna()
            if not (whole == np.floor(whole)).all():
                continue
            # Integer ids read with missing values arrive as floats: scan them as integers.
            series = series.astype("Int64")
        problems.extend(
            _check_values(
                table,
                name,
                series,
                names=name not in _LABEL_COLUMNS,
                dates_of_birth=birth,
            )
        )
    return problems


def identifying_message(problems: list[dict]) -> str:
    """The error text for a list of identifying-data problems (one block each)."""
    lines = [
        f"{len(problems)} column(s) look identifying; riskscore works on anonymised data only:"
    ]
    for p in problems:
        lines.append(f"- {p['message']}\n  fix: {p['fix']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- pseudonymise

_DATE_COLUMNS = ("date", "recorded_date", "outcome_date", "followup_end")


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


def id_text(series: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(series.dtype):
        whole = series.dropna()
        if (whole == np.floor(whole)).all():
            return series.astype("Int64").astype("str")
    return series.astype("str")


def pseudonymise(
    events: pd.DataFrame,
    cases: pd.DataFrame | None = None,
    key: bytes | str | None = None,
    *,
    shift_dates: bool = False,
    max_shift_days: int = 180,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Replace ``case_id`` with a keyed token and optionally shift each case's dates.

    The token is the first :data:`TOKEN_HEX_CHARS` (32) lowercase hex characters of
    HMAC-SHA256(key, ``"riskscore-case-id:" + case_id``): the same id gets the same
    token in both tables and under the same key, and nobody without the key can
    recompute it. With ``shift_dates=True`` every date column of a case (``date``,
    ``recorded_date``, ``outcome_date``, ``followup_end`` and any other datetime
    column) moves by one whole-day offset in ``[-max_shift_days, -1]`` or
    ``[1, max_shift_days]``, derived from a second HMAC of the id, so every interval
    within a case is kept exactly. ``birth_year`` is left as it is: a year is coarse
    already, but ages computed from it against shifted dates can be off by up to
    ``max_shift_days``. Missing ids stay missing. The inputs are not modified and
    the key appears in no output, attribute or error message.

    Parameters
    ----------
    events : pandas.DataFrame
        Events with a ``case_id`` column (dates as datetimes when shifting, as
        returned by :func:`riskscore.validate_events`).
    cases : pandas.DataFrame, optional
        Cases with a ``case_id`` column.
    key : bytes or str
        Secret key of at least 16 bytes (a str is UTF-8 encoded). Required.
    shift_dates : bool, default=False
        Shift each case's dates by its own offset.
    max_shift_days : int, default=180
        Largest absolute shift in days (at least 1).

    Returns
    -------
    events : pandas.DataFrame
    cases : pandas.DataFrame or None

    Raises
    ------
    TypeError
        If the key is missing or not bytes/str.
    ValueError
        If the key is shorter than 16 bytes or ``max_shift_days`` < 1.
    SchemaError
        If a table has no ``case_id`` or a date column to shift is not datetime.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"case_id": ["c1", "c1"],
    ...                    "date": pd.to_datetime(["2101-01-01", "2101-01-31"])})
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
    tables = {"events": events} if cases is None else {"events": events, "cases": cases}
    for name, df in tables.items():
        if "case_id" not in df.columns:
            raise SchemaError(f"{name} has no 'case_id' column to pseudonymise")

    # One pass over the distinct ids of both tables: tokens agree across tables.
    def distinct(series: pd.Series) -> pd.Index:
        if isinstance(series.dtype, pd.CategoricalDtype):
            return pd.Index(id_text(pd.Series(series.cat.categories)))
        return pd.Index(pd.unique(id_text(series.dropna())))

    ids = distinct(events["case_id"])
    if cases is not None:
        ids = ids.append(distinct(cases["case_id"])).unique()
    token_mac = hmac.new(key, b"riskscore-case-id:", hashlib.sha256)
    shift_mac = hmac.new(key, b"riskscore-date-shift:", hashlib.sha256)
    tokens = np.empty(len(ids), dtype=object)
    offsets = np.zeros(len(ids), dtype=np.int64)
    span = 2 * max_shift_days
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
    lookup = pd.Index(ids)

    out = []
    for name, df in tables.items():
        df = df.copy()
        series = df["case_id"]
        if isinstance(series.dtype, pd.CategoricalDtype):
            cat_pos = lookup.get_indexer(id_text(pd.Series(series.cat.categories)))
            df["case_id"] = series.cat.rename_categories(tokens[cat_pos])
            codes = series.cat.codes.to_numpy()
            pos = np.where(codes >= 0, cat_pos[np.maximum(codes, 0)], -1)
        else:
            pos = lookup.get_indexer(id_text(series))
            pos[series.isna().to_numpy()] = -1
            token = tokens[np.maximum(pos, 0)]
            token[pos < 0] = None
            df["case_id"] = pd.Series(token, index=df.index, dtype="str")
        if shift_dates:
            shift = np.where(pos >= 0, offsets[np.maximum(pos, 0)], 0).astype("timedelta64[D]")
            for column in df.columns:
                s = df[column]
                is_dt = pd.api.types.is_datetime64_any_dtype(s.dtype)
                if column in _DATE_COLUMNS and not is_dt:
                    if s.isna().all():
                        continue
                    raise SchemaError(
                        f"{name}.{column} is not a datetime column (dtype {s.dtype}); "
                        "validate first with riskscore.validate_events/validate_cases, which "
                        "parses dates, then pseudonymise the valid rows"
                    )
                if is_dt:
                    df[column] = s + pd.to_timedelta(shift)
        out.append(df)
    return out[0], (out[1] if cases is not None else None)
