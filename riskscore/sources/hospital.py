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
from collections.abc import Iterable

import numpy as np
import pandas as pd

from riskscore.sources._spec import (
    AdapterResult,
    Classified,
    Column,
    Extract,
    SourceSpec,
    case_column,
    clean_text,
    code_checks,
    code_frame,
    code_list,
    first_where,
    read_source,
    row_date,
)

__all__ = ["read_hospital_apc", "ASTHMA_ICD10", "normalise_icd10"]

#: ICD-10 code prefixes read as asthma (J45 asthma, J46 status asthmaticus).
ASTHMA_ICD10: tuple[str, ...] = ("J45", "J46")

_DIAG_RE = re.compile(r"^diag_?(?:(?P<kind>[34])_?)?(?P<pos>\d{1,2})$")
_CONCAT_RE = re.compile(r"^diag_?(?P<kind>[34])?_?(?:concat|all)$")
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


def _diagnoses(
    x: Extract, primary_only: bool, asthma_codes: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Normalised diagnoses by position (from the cut present, 4-character first), where
    they are of ICD-10 form, and whether each row has an asthma code."""
    diag = code_frame(x.df, _DIAG_RE, _CONCAT_RE, kinds=("4", "", "3"), source=x.spec.source)
    if diag is None:
        raise x.error(
            "no diagnosis columns found; expected DIAG_4_01..DIAG_4_20, DIAG_01.., "
            "DIAG_3_01.. or DIAG_4_CONCAT",
            "Rename the diagnosis columns.",
        )
    if primary_only:
        diag = diag.iloc[:, :1]
    # read each distinct code once: extracts repeat a few thousand codes millions of times
    codes, uniques = pd.factorize(diag.to_numpy(dtype=object).ravel(), use_na_sentinel=True)
    norm = normalise_icd10(pd.Series(uniques, dtype=object))
    valid = norm.str.fullmatch(_ICD10_RE).fillna(False).to_numpy(dtype=bool)
    prefixes = tuple(str(c).upper() for c in asthma_codes)
    asthma = valid & norm.str.startswith(prefixes).fillna(False).to_numpy(dtype=bool)

    def spread(per_code: np.ndarray, blank: object) -> pd.DataFrame:
        flat = np.append(per_code, blank)[codes]  # blank cells (code -1) take the last
        return pd.DataFrame(flat.reshape(diag.shape), index=diag.index, columns=diag.columns)

    norm = spread(norm.to_numpy(dtype=object), None).astype("string")
    return norm, spread(valid, False), spread(asthma, False).any(axis=1)


def _episodes(
    x: Extract, *, primary_only: bool, asthma_codes: tuple[str, ...], emergency_only: bool
) -> Classified:
    diag, valid, is_asthma = _diagnoses(x, primary_only, asthma_codes)
    invalid = diag.notna() & ~valid
    emergency_fail = pd.Series(False, index=x.df.index)
    if emergency_only:
        method = x.text("method", required=True)
        emergency_fail = ~method.str.startswith("2").fillna(False).astype(bool)
    # episodes of one spell share the admission date: the spell counts once
    case, dates = x.case, x.dated.dates
    spell = x.text("spell")
    if spell is not None:
        key = pd.DataFrame({"c": case, "s": spell.fillna("") + "|" + dates.astype(str)})
    else:
        key = pd.DataFrame({"c": case, "d": dates})
        provider = x.text("provider")
        if provider is not None:
            key["p"] = provider.fillna("")
    order = np.arange(len(x.df))
    episode = x.number("episode_order")
    if episode is not None:
        order = np.lexsort((order, episode.fillna(np.inf).to_numpy()))
    return Classified(
        "episode",
        "asthma_admission",
        checks=[
            *code_checks(is_asthma, invalid.any(axis=1)),
            (emergency_fail, "not_emergency"),
        ],
        code=first_where(diag, invalid),
        duplicates=key,
        order=order,
    )


#: HES admitted patient care: one row per episode, one event per asthma spell.
SPEC = SourceSpec(
    "hospital_apc",
    ("hospital",),
    columns=(
        case_column("case_id TOKEN_PERSON_ID PSEUDO_HESID ENCRYPTED_HESID HESID patid"),
        row_date("admission date", "ADMIDATE admission_date ADMIDATE_DV"),
        Column("spell", "SPELL SPELL_ID SUSSPELLID PROVSPNOPS", "spell", "spell_column"),
        Column("provider", "PROCODE PROCODE3 PROCODE5"),
        Column("method", "ADMIMETH", "admission method"),
        Column("episode_order", "EPIORDER"),
    ),
    classify=_episodes,
)


def read_hospital_apc(
    extract: pd.DataFrame,
    *,
    primary_only: bool = False,
    asthma_codes: Iterable[str] | None = ASTHMA_ICD10,
    emergency_only: bool = False,
    case_id_column: str | None = None,
    date_column: str | None = None,
    spell_column: str | None = None,
    start: object = None,
    end: object = None,
    format: str | None = None,
    dayfirst: bool | None = None,
) -> AdapterResult:
    """Asthma admissions from a hospital admitted-care (HES APC-style) episode extract.

    Parameters
    ----------
    extract : pandas.DataFrame
        One row per episode, with a pseudonymous case identifier, ``ADMIDATE`` and
        diagnosis columns (see the module docstring for accepted names).
    primary_only : bool, default=False
        Read only the primary diagnosis (position 01); otherwise any position.
    asthma_codes : list or tuple of str, default=("J45", "J46")
        Normalised ICD-10 prefixes that count as asthma (a list even for one code:
        ``["J45"]``; a bare string, an empty list or a blank code is refused). None
        means the default, :data:`ASTHMA_ICD10`.
    emergency_only : bool, default=False
        Keep only emergency admissions (``ADMIMETH`` starting with 2).
    case_id_column, date_column, spell_column : str, optional
        Column names when they differ from the known variants.
    start, end : date-like, optional
        Keep admissions dated in ``[start, end]``; others are reported as
        ``outside_date_range``. They also set the coverage period.
    format : str, optional
        ``strptime`` format of text dates; ISO dates still read (not with ``dayfirst``).
    dayfirst : bool, optional
        True reads text dates as ``DD/MM/YYYY``, False as ``MM/DD/YYYY``; ISO dates
        still read. Without ``format`` or ``dayfirst`` only ISO dates read: others are
        counted ``invalid_date``, never guessed (the rule of :func:`riskscore.read_events`).

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
    asthma_codes = code_list(asthma_codes, "asthma_codes", "read_hospital_apc", ASTHMA_ICD10)
    return read_source(SPEC, **locals())
