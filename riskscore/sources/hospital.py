"""Hospital admitted patient care (Hospital Episode Statistics-style extracts) to events.

Reads one row per episode and writes one ``asthma_admission`` (agency ``hospital``) per
hospital spell with an asthma diagnosis, dated by the admission date.

Source fields (HES Admitted Patient Care data dictionary, NHS England; NHS Data Model
and Dictionary "Hospital Provider Spell"):

- ``ADMIDATE`` -- admission date of the spell (the same on every episode of a spell).
- ``DIAG_4_01`` .. ``DIAG_4_20`` -- ICD-10 diagnoses by position, 4 characters, position
  01 the primary diagnosis; older or other cuts name them ``DIAG_01`` .., ``DIAG_3_01`` ..
  (3 characters) or give all in one comma-separated ``DIAG_4_CONCAT``. All are accepted,
  case ignored; 4-character positions are preferred when several cuts are present.
- ``SPELL`` / ``SUSSPELLID`` -- spell identifier when the extract has one; otherwise a
  spell is case + ``ADMIDATE`` + provider (``PROCODE``/``PROCODE3``/``PROCODE5``) when
  present, so that the episodes of one spell (one row per consultant episode) count once.
- ``ADMIMETH`` -- admission method; codes starting with 2 are emergency admissions (only
  read with ``emergency_only=True``).

ICD-10 asthma codes: J45 (asthma) and J46 (status asthmaticus) with all sub-codes (WHO
ICD-10 chapter X). Codes are normalised before matching: upper case, dots, dashes and
spaces removed and trailing ``X`` fillers dropped (``J45.9``, ``J459``, ``J45X``,
``j45.0-`` all read). A code that is not of ICD-10 form (letter, two digits, up to three
more characters) is reported as ``unknown_code``; a valid non-asthma code as
``code_not_mapped``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from riskscore.sources._report import (
    AdapterResult,
    bound,
    classify,
    clean_text,
    extract_coverage,
    find_column,
    finish_events,
    first_where,
    make_events,
    mark_duplicates,
    parse_dates,
    report_table,
    row_checks,
)

__all__ = ["read_hospital_apc", "ASTHMA_ICD10", "normalise_icd10"]

#: ICD-10 code prefixes read as asthma (J45 asthma, J46 status asthmaticus).
ASTHMA_ICD10: tuple[str, ...] = ("J45", "J46")

SOURCE = "hospital_apc"
_CASE_ID = ("case_id", "TOKEN_PERSON_ID", "PSEUDO_HESID", "ENCRYPTED_HESID", "HESID", "patid")
_ADMIDATE = ("ADMIDATE", "admission_date", "ADMIDATE_DV")
_SPELL = ("SPELL", "SPELL_ID", "SUSSPELLID", "PROVSPNOPS")
_PROCODE = ("PROCODE", "PROCODE3", "PROCODE5")
_ADMIMETH = ("ADMIMETH",)
_EPIORDER = ("EPIORDER",)
_DIAG_RE = re.compile(r"^diag_?(?:([34])_?)?(\d{1,2})$")
_CONCAT_RE = re.compile(r"^diag_?([34])?_?(?:concat|all)$")
_ICD10_RE = r"^[A-Z][0-9]{2}[0-9A-Z]{0,3}$"


def normalise_icd10(codes: pd.Series) -> pd.Series:
    """Normalise ICD-10 codes as written in hospital extracts.

    Parameters
    ----------
    codes : pandas.Series
        Codes as text (``"J45.9"``, ``"J459"``, ``"J45X"``, ``"j45.0-"``).

    Returns
    -------
    pandas.Series
        Upper case, without dots, dashes, spaces or trailing ``X`` fillers; blank as <NA>.

    Examples
    --------
    >>> import pandas as pd
    >>> normalise_icd10(pd.Series(["J45.9", "j45x", "J46X-", " "])).tolist()
    ['J459', 'J45', 'J46', <NA>]
    """
    txt = clean_text(codes).str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    txt = txt.str.replace(r"^([A-Z][0-9]{2}[0-9A-Z]*?)X+$", r"\1", regex=True)
    return txt.mask(txt == "")


def _diagnosis_frame(df: pd.DataFrame, primary_only: bool) -> pd.DataFrame:
    """Diagnoses by position (columns ordered by position), from whichever cut is present."""
    by_kind: dict[str, dict[int, str]] = {}
    concat: dict[str, str] = {}
    for col in df.columns:
        key = str(col).lower()
        m = _DIAG_RE.match(key)
        if m:
            by_kind.setdefault(m.group(1) or "", {})[int(m.group(2))] = col
            continue
        m = _CONCAT_RE.match(key)
        if m:
            concat[m.group(1) or ""] = col
    for kind in ("4", "", "3"):
        if kind in by_kind:
            cols = [by_kind[kind][p] for p in sorted(by_kind[kind])]
            diag = df[cols]
            break
    else:
        for kind in ("4", "", "3"):
            if kind in concat:
                diag = clean_text(df[concat[kind]]).str.split(
                    r"\s*[,;|]\s*", regex=True, expand=True
                )
                if diag.shape[1] == 0:
                    diag = pd.DataFrame({0: pd.Series(pd.NA, index=df.index, dtype="string")})
                break
        else:
            from riskscore.errors import SchemaError

            raise SchemaError(
                f"{SOURCE}: no diagnosis columns found; expected DIAG_4_01..DIAG_4_20, "
                f"DIAG_01.., DIAG_3_01.. or DIAG_4_CONCAT. Columns present: "
                f"{', '.join(map(str, list(df.columns)[:15]))}. Rename the diagnosis columns."
            )
    diag = diag.set_axis(range(diag.shape[1]), axis=1)
    if primary_only:
        diag = diag.iloc[:, :1]
    # normalise each distinct code once: extracts repeat a few thousand codes millions of times
    codes, uniques = pd.factorize(diag.to_numpy(dtype=object).ravel(), use_na_sentinel=True)
    norm = normalise_icd10(pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    flat = np.where(codes >= 0, norm[np.clip(codes, 0, None)] if len(norm) else None, None)
    out = pd.DataFrame(flat.reshape(diag.shape), index=diag.index, columns=diag.columns)
    return out.astype("string")


def read_hospital_apc(
    extract: pd.DataFrame,
    *,
    primary_only: bool = False,
    asthma_codes: tuple[str, ...] = ASTHMA_ICD10,
    emergency_only: bool = False,
    case_id_column: str | None = None,
    date_column: str | None = None,
    spell_column: str | None = None,
    start: object = None,
    end: object = None,
    date_format: str | None = None,
    dayfirst: bool = False,
) -> AdapterResult:
    """Asthma admissions from a hospital admitted-care (HES APC-style) episode extract.

    Parameters
    ----------
    extract : pandas.DataFrame
        One row per episode, with a pseudonymous case identifier, ``ADMIDATE`` and
        diagnosis columns (see the module docstring for accepted names).
    primary_only : bool, default=False
        Read only the primary diagnosis (position 01); otherwise any position.
    asthma_codes : tuple of str, default=("J45", "J46")
        Normalised ICD-10 prefixes that count as asthma.
    emergency_only : bool, default=False
        Keep only emergency admissions (``ADMIMETH`` starting with 2).
    case_id_column, date_column, spell_column : str, optional
        Column names when they differ from the known variants.
    start, end : date-like, optional
        Keep admissions dated in ``[start, end]``; others are reported as
        ``outside_date_range``. They also set the coverage period.
    date_format : str, optional
        ``strptime`` format of text dates; ISO dates are read without it.
    dayfirst : bool, default=False
        Read text dates as ``DD/MM/YYYY``.

    Returns
    -------
    AdapterResult
        ``events`` (``asthma_admission``, agency ``hospital``, one per spell),
        ``report`` (field ``episode``: every input row counted once) and ``coverage``.

    Examples
    --------
    >>> import pandas as pd
    >>> apc = pd.DataFrame({"case_id": ["c1", "c1", "c2"],
    ...                     "ADMIDATE": ["2101-02-03", "2101-02-03", "2101-05-06"],
    ...                     "PROCODE3": ["RA1", "RA1", "RA1"],
    ...                     "DIAG_4_01": ["J45.9", "J459", "S52.5"]})
    >>> res = read_hospital_apc(apc)
    >>> res.events[["case_id", "event"]].values.tolist()
    [['c1', 'asthma_admission']]
    >>> res.report[["reason", "rows"]].values.tolist()
    [['code_not_mapped', 1], ['duplicate', 1], ['mapped', 1]]
    """
    df = extract.reset_index(drop=True)
    case_col = find_column(
        df,
        _CASE_ID,
        what="case identifier",
        source=SOURCE,
        param="case_id_column",
        given=case_id_column,
    )
    date_col = find_column(
        df, _ADMIDATE, what="admission date", source=SOURCE, param="date_column", given=date_column
    )
    spell_col = find_column(
        df,
        _SPELL,
        what="spell",
        source=SOURCE,
        param="spell_column",
        given=spell_column,
        required=False,
    )
    lo, hi = bound(start, "start"), bound(end, "end")

    case = clean_text(df[case_col])
    dates, blank, bad = parse_dates(df[date_col], date_format=date_format, dayfirst=dayfirst)
    diag = _diagnosis_frame(df, primary_only)
    present = diag.notna()
    prefixes = tuple(str(c).upper() for c in asthma_codes)
    # test each distinct code once, then spread the answers back over the frame
    codes, uniques = pd.factorize(diag.to_numpy(dtype=object).ravel(), use_na_sentinel=True)
    u = pd.Series(uniques, dtype="string")
    valid_u = u.str.fullmatch(_ICD10_RE).fillna(False).to_numpy(dtype=bool)
    asthma_u = u.str.startswith(prefixes).fillna(False).to_numpy(dtype=bool) & valid_u
    shape, safe = diag.shape, np.clip(codes, 0, None)
    known = codes >= 0
    valid = pd.DataFrame(
        (valid_u[safe] & known if len(u) else known).reshape(shape), index=diag.index
    )
    asthma = pd.DataFrame(
        (asthma_u[safe] & known if len(u) else known).reshape(shape), index=diag.index
    )
    is_asthma = asthma.any(axis=1)
    invalid = present & ~valid
    first_invalid = first_where(diag, invalid)

    emergency_fail = pd.Series(False, index=df.index)
    if emergency_only:
        meth_col = find_column(
            df, _ADMIMETH, what="admission method", source=SOURCE, param="emergency_only"
        )
        emergency_fail = ~clean_text(df[meth_col]).str.startswith("2").fillna(False).astype(bool)

    reason = classify(
        len(df),
        df.index,
        [
            *row_checks(case, blank, bad, dates, lo, hi),
            (~is_asthma & invalid.any(axis=1), "unknown_code"),
            (~is_asthma, "code_not_mapped"),
            (emergency_fail, "not_emergency"),
        ],
    )
    # episodes of one spell share the admission date: the spell counts once
    if spell_col is not None:
        key = pd.DataFrame(
            {"c": case, "s": clean_text(df[spell_col]).fillna("") + "|" + dates.astype(str)}
        )
    else:
        key = pd.DataFrame({"c": case, "d": dates})
        proc_col = find_column(
            df, _PROCODE, what="provider", source=SOURCE, param="-", required=False
        )
        if proc_col is not None:
            key["p"] = clean_text(df[proc_col]).fillna("")
    epi_col = find_column(
        df, _EPIORDER, what="episode order", source=SOURCE, param="-", required=False
    )
    order = np.arange(len(df))
    if epi_col is not None:
        order = np.lexsort(
            (order, pd.to_numeric(df[epi_col], errors="coerce").fillna(np.inf).to_numpy())
        )
    reason = mark_duplicates(reason, key, order)
    mapped = reason == "mapped"

    events = make_events(case[mapped], dates[mapped], "hospital", "asthma_admission")
    report = report_table(SOURCE, "episode", reason, first_invalid)
    coverage = extract_coverage(["hospital"], case, dates, lo, hi, SOURCE)
    return AdapterResult(finish_events([events]), report, coverage)
