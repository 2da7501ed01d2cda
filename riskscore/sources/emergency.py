"""Emergency care attendances (ECDS-style, or older HES A&E) to ``asthma_ed_visit`` events.

One ``asthma_ed_visit`` (agency ``hospital``) per attendance with an asthma diagnosis
that did **not** end in admission: admitted attendances are left out (reason
``admitted``) because the admitted-care extract already holds them as
``asthma_admission``; counting both would count one attack twice.

Two codings are read (``coding="auto"`` picks by the columns present):

``"snomed"`` -- Emergency Care Data Set (ECDS; NHS England ECDS technical output
specification and NHS Data Model and Dictionary), coded in SNOMED CT:

- arrival date: ``ARRIVAL_DATE`` / ``EC_ARRIVAL_DATE`` / ``Der_EC_Arrival_Date``
- diagnoses: ``EC_DIAGNOSIS_01`` .. (``EC_Diagnosis_01``, ``DIAGNOSIS_01``) or the
  comma-separated ``Der_EC_Diagnosis_All``
- discharge destination: ``EC_DISCHARGE_DESTINATION_SNOMED_CT`` /
  ``DISCHARGE_DESTINATION_SNOMED_CT`` / ``EC_DISCHARGE_DESTINATION``. Admitted =
  :data:`ECDS_ADMITTED_DESTINATIONS` (emergency care discharge destination refset:
  discharge to ward 306706006, and the short-stay ward, high dependency, coronary care,
  special baby care, intensive care and neonatal intensive care concepts), following
  the grouping that OpenSAFELY studies use for "discharged to hospital".

``"hes_ae"`` -- HES Accident and Emergency (before ECDS): ``ARRIVALDATE``,
``DIAG_01`` .. ``DIAG_12`` in the A&E diagnosis scheme (2-character condition +
1-character sub-analysis: condition 25 "respiratory conditions", sub-analysis 1
"bronchial asthma", so codes starting ``251``), and ``AEATTENDDISP`` (attendance
disposal; ``01`` = admitted to a hospital bed).

Asthma SNOMED CT concepts (:data:`ASTHMA_SNOMED`) were taken from published code lists:
OpenCodelists ``opensafely/asthma-diagnosis-snomed`` and the NHS Digital primary care
domain reference sets (``AST_COD`` asthma, ``SEVAST_COD`` severe asthma), limited to
disorders an emergency department would record. The ECDS diagnosis refset is a
restricted subset of SNOMED CT; check the list against the ECDS release your extract
uses and pass ``asthma_codes=`` to use your own set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd

from riskscore.errors import SchemaError
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
    parse_dates,
    report_table,
    row_checks,
)

__all__ = [
    "read_emergency_care",
    "ASTHMA_SNOMED",
    "ECDS_ADMITTED_DESTINATIONS",
    "HES_AE_ASTHMA_PREFIX",
]

#: SNOMED CT asthma disorder concepts (concept id -> description); see module docstring.
ASTHMA_SNOMED: Mapping[str, str] = {
    "195967001": "Asthma",
    "304527002": "Acute asthma",
    "281239006": "Exacerbation of asthma",
    "370221004": "Severe asthma",
    "786836003": "Near fatal asthma",
    "426656000": "Severe persistent asthma",
    "707447008": "Exacerbation of severe persistent asthma",
    "707979007": "Acute severe exacerbation of severe persistent asthma",
    "370218001": "Mild asthma",
    "370219009": "Moderate asthma",
    "233678006": "Childhood asthma",
    "389145006": "Allergic asthma",
    "266361008": "Non-allergic asthma",
    "31387002": "Exercise-induced asthma",
    "225057002": "Brittle asthma",
}

#: ECDS discharge destinations that mean the patient was admitted (SNOMED CT).
ECDS_ADMITTED_DESTINATIONS: Mapping[str, str] = {
    "306706006": "Discharge to ward",
    "1066331000000109": "Emergency department short stay ward",
    "1066361000000104": "High dependency unit",
    "1066371000000106": "Coronary care unit",
    "1066381000000108": "Special baby care unit",
    "1066391000000105": "Intensive care unit",
    "1066401000000108": "Neonatal intensive care unit",
}

#: HES A&E diagnosis codes starting with this are bronchial asthma (condition 25, sub 1).
HES_AE_ASTHMA_PREFIX = "251"

SOURCE = "emergency_care"
_CASE_ID = ("case_id", "TOKEN_PERSON_ID", "PSEUDO_HESID", "ENCRYPTED_HESID", "HESID", "patid")
_DATE_SNOMED = ("EC_ARRIVAL_DATE", "ARRIVAL_DATE", "Der_EC_Arrival_Date", "ARRIVALDATE")
_DATE_HES = ("ARRIVALDATE", "ARRIVAL_DATE")
_DEST_SNOMED = (
    "EC_DISCHARGE_DESTINATION_SNOMED_CT",
    "DISCHARGE_DESTINATION_SNOMED_CT",
    "EC_DISCHARGE_DESTINATION",
    "DISCHARGE_DESTINATION",
)
_DISP_HES = ("AEATTENDDISP",)
_DIAG_RE = re.compile(r"^(?:ec_?)?diag(?:nosis)?_?(?:snomed_?(?:ct)?_?)?(\d{1,2})$")
_CONCAT_RE = re.compile(r"^(?:der_?)?(?:ec_?)?diag(?:nosis)?_?(?:all|concat)$")


def _diagnoses(df: pd.DataFrame) -> pd.DataFrame:
    pos: dict[int, str] = {}
    concat = None
    for col in df.columns:
        key = str(col).lower()
        m = _DIAG_RE.match(key)
        if m:
            pos.setdefault(int(m.group(1)), col)
        elif _CONCAT_RE.match(key):
            concat = col
    if pos:
        diag = df[[pos[p] for p in sorted(pos)]].apply(clean_text)
    elif concat is not None:
        diag = clean_text(df[concat]).str.split(r"\s*[,;|]\s*", regex=True, expand=True)
        if diag.shape[1] == 0:
            diag = pd.DataFrame({0: pd.Series(pd.NA, index=df.index, dtype="string")})
        diag = diag.apply(clean_text)
    else:
        raise SchemaError(
            f"{SOURCE}: no diagnosis columns found; expected EC_DIAGNOSIS_01.., DIAG_01.. or "
            f"Der_EC_Diagnosis_All. Columns present: {', '.join(map(str, list(df.columns)[:15]))}."
        )
    return diag.set_axis(range(diag.shape[1]), axis=1)


def read_emergency_care(
    extract: pd.DataFrame,
    *,
    coding: str = "auto",
    asthma_codes: Iterable[str] | None = None,
    admitted_codes: Iterable[str] | None = None,
    case_id_column: str | None = None,
    date_column: str | None = None,
    disposal_column: str | None = None,
    start: object = None,
    end: object = None,
    date_format: str | None = None,
    dayfirst: bool = False,
) -> AdapterResult:
    """Asthma emergency attendances not admitted, from an ECDS- or HES A&E-style extract.

    Parameters
    ----------
    extract : pandas.DataFrame
        One row per attendance (see the module docstring for the columns read). Read
        code columns as text (``dtype=str``): SNOMED CT identifiers of 16+ digits lose
        precision as floats.
    coding : {"auto", "snomed", "hes_ae"}, default="auto"
        Diagnosis coding; "auto" is "hes_ae" when an ``AEATTENDDISP`` column is present.
    asthma_codes : iterable of str, optional
        Asthma codes: SNOMED CT concept ids (default :data:`ASTHMA_SNOMED`), or for
        "hes_ae" code prefixes (default ``("251",)``).
    admitted_codes : iterable of str, optional
        Disposal codes meaning admitted (default :data:`ECDS_ADMITTED_DESTINATIONS`
        for SNOMED, ``("01",)`` for HES A&E).
    case_id_column, date_column, disposal_column : str, optional
        Column names when they differ from the known variants.
    start, end : date-like, optional
        Keep attendances dated in ``[start, end]``; these also set the coverage period.
    date_format : str, optional
        ``strptime`` format of text dates; ISO dates are read without it.
    dayfirst : bool, default=False
        Read text dates as ``DD/MM/YYYY``.

    Returns
    -------
    AdapterResult
        ``asthma_ed_visit`` events (agency ``hospital``), the report (field
        ``attendance``) and coverage.

    Examples
    --------
    >>> import pandas as pd
    >>> ecds = pd.DataFrame({"case_id": ["c1", "c2"],
    ...                      "ARRIVAL_DATE": ["2101-02-03", "2101-02-04"],
    ...                      "EC_DIAGNOSIS_01": ["195967001", "195967001"],
    ...                      "EC_DISCHARGE_DESTINATION_SNOMED_CT": ["306689006", "306706006"]})
    >>> res = read_emergency_care(ecds)
    >>> res.events["case_id"].tolist(), res.report["reason"].tolist()
    (['c1'], ['admitted', 'mapped'])
    """
    df = extract.reset_index(drop=True)
    if coding == "auto":
        has_hes = find_column(df, _DISP_HES, what="", source=SOURCE, param="-", required=False)
        coding = "hes_ae" if has_hes is not None else "snomed"
    if coding not in ("snomed", "hes_ae"):
        raise SchemaError(f"{SOURCE}: coding={coding!r}; use 'auto', 'snomed' or 'hes_ae'.")
    snomed = coding == "snomed"
    case_col = find_column(
        df,
        _CASE_ID,
        what="case identifier",
        source=SOURCE,
        param="case_id_column",
        given=case_id_column,
    )
    date_col = find_column(
        df,
        _DATE_SNOMED if snomed else _DATE_HES,
        what="arrival date",
        source=SOURCE,
        param="date_column",
        given=date_column,
    )
    disp_col = find_column(
        df,
        _DEST_SNOMED if snomed else _DISP_HES,
        what="discharge destination / attendance disposal (needed to tell admitted from not admitted)",
        source=SOURCE,
        param="disposal_column",
        given=disposal_column,
    )
    lo, hi = bound(start, "start"), bound(end, "end")
    case = clean_text(df[case_col])
    dates, blank, bad = parse_dates(df[date_col], date_format=date_format, dayfirst=dayfirst)
    diag = _diagnoses(df)
    present = diag.notna()
    if snomed:
        codes = {str(c).strip() for c in (ASTHMA_SNOMED if asthma_codes is None else asthma_codes)}
        valid = (
            diag.apply(lambda c: c.str.fullmatch(r"[0-9]{6,18}")).fillna(False).astype(bool)
            & present
        )
        asthma = diag.isin(codes) & valid
        admitted_set = {
            str(c).strip()
            for c in (ECDS_ADMITTED_DESTINATIONS if admitted_codes is None else admitted_codes)
        }
        disp = clean_text(df[disp_col])
        admitted = disp.isin(admitted_set)
    else:
        prefixes = tuple(
            str(c).strip()
            for c in ((HES_AE_ASTHMA_PREFIX,) if asthma_codes is None else asthma_codes)
        )
        diag = diag.apply(lambda c: c.str.upper())
        valid = (
            diag.apply(lambda c: c.str.fullmatch(r"[0-9]{2}[0-9A-Z]{0,4}"))
            .fillna(False)
            .astype(bool)
            & present
        )
        asthma = diag.apply(lambda c: c.str.startswith(prefixes)).fillna(False).astype(bool) & valid
        admitted_set = {
            str(c).strip().zfill(2) for c in (("01",) if admitted_codes is None else admitted_codes)
        }
        disp = clean_text(df[disp_col]).str.zfill(2)
        admitted = disp.isin(admitted_set)
    is_asthma = asthma.any(axis=1)
    invalid = present & ~valid
    first_invalid = first_where(diag, invalid)
    reason = classify(
        len(df),
        df.index,
        [
            *row_checks(case, blank, bad, dates, lo, hi),
            (~is_asthma & invalid.any(axis=1), "unknown_code"),
            (~is_asthma, "code_not_mapped"),
            (disp.isna(), "missing_disposal"),
            (admitted.fillna(False).astype(bool), "admitted"),
        ],
    )
    mapped = reason == "mapped"
    events = make_events(case[mapped], dates[mapped], "hospital", "asthma_ed_visit")
    report = report_table(SOURCE, "attendance", reason, first_invalid)
    coverage = extract_coverage(["hospital"], case, dates, lo, hi, SOURCE)
    return AdapterResult(finish_events([events]), report, coverage)
