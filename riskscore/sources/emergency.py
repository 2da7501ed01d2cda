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
from riskscore.sources._spec import (
    AdapterResult,
    Classified,
    Column,
    Extract,
    SourceSpec,
    case_column,
    check_extract,
    clean_text,
    code_checks,
    code_frame,
    code_list,
    find_column,
    first_where,
    read_source,
    row_date,
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

_DIAG_RE = re.compile(r"^(?:ec_?)?diag(?:nosis)?_?(?:snomed_?(?:ct)?_?)?(?P<pos>\d{1,2})$")
_CONCAT_RE = re.compile(r"^(?:der_?)?(?:ec_?)?diag(?:nosis)?_?(?:all|concat)$")
_DISPOSAL = (
    "discharge destination / attendance disposal (needed to tell admitted from not admitted)"
)


def _attendances(
    x: Extract, code_form: str, asthma: Iterable[str], admitted: Iterable[str], *, hes_ae: bool
) -> Classified:
    """Attendances by diagnosis codes (of ``code_form``) and disposal, for either coding."""
    diag = code_frame(x.df, _DIAG_RE, _CONCAT_RE, source=x.spec.source)
    if diag is None:
        raise x.error(
            "no diagnosis columns found; expected EC_DIAGNOSIS_01.., DIAG_01.. or "
            "Der_EC_Diagnosis_All",
            "Rename the diagnosis columns.",
        )
    diag = diag.apply(lambda c: clean_text(c).str.upper() if hes_ae else clean_text(c))
    present = diag.notna()
    valid = diag.apply(lambda c: c.str.fullmatch(code_form)).fillna(False).astype(bool) & present
    codes = tuple(str(c).strip() for c in asthma)
    if hes_ae:
        hit = diag.apply(lambda c: c.str.startswith(codes)).fillna(False).astype(bool)
    else:
        hit = diag.isin(codes)
    is_asthma = (hit & valid).any(axis=1)
    invalid = present & ~valid
    disposal = x.text("disposal")
    if hes_ae:  # HES A&E disposal codes are two digits, written with or without the 0
        disposal = disposal.str.zfill(2)
        admitted = (str(c).strip().zfill(2) for c in admitted)
    was_admitted = disposal.isin({str(c).strip() for c in admitted}).fillna(False).astype(bool)
    return Classified(
        "attendance",
        "asthma_ed_visit",
        checks=[
            *code_checks(is_asthma, invalid.any(axis=1)),
            (disposal.isna(), "missing_disposal"),
            (was_admitted, "admitted"),
        ],
        code=first_where(diag, invalid),
    )


def _snomed(x: Extract, *, asthma_codes, admitted_codes) -> Classified:
    asthma = ASTHMA_SNOMED if asthma_codes is None else asthma_codes
    admitted = ECDS_ADMITTED_DESTINATIONS if admitted_codes is None else admitted_codes
    return _attendances(x, r"[0-9]{6,18}", asthma, admitted, hes_ae=False)


def _hes_ae(x: Extract, *, asthma_codes, admitted_codes) -> Classified:
    asthma = (HES_AE_ASTHMA_PREFIX,) if asthma_codes is None else asthma_codes
    admitted = ("01",) if admitted_codes is None else admitted_codes
    return _attendances(x, r"[0-9]{2}[0-9A-Z]{0,4}", asthma, admitted, hes_ae=True)


_CASE_ID = case_column("case_id TOKEN_PERSON_ID PSEUDO_HESID ENCRYPTED_HESID HESID patid")

#: Emergency Care Data Set (SNOMED CT): one row per attendance.
ECDS_SPEC = SourceSpec(
    "emergency_care",
    ("hospital",),
    columns=(
        _CASE_ID,
        row_date("arrival date", "EC_ARRIVAL_DATE ARRIVAL_DATE Der_EC_Arrival_Date ARRIVALDATE"),
        Column(
            "disposal",
            "EC_DISCHARGE_DESTINATION_SNOMED_CT DISCHARGE_DESTINATION_SNOMED_CT "
            "EC_DISCHARGE_DESTINATION DISCHARGE_DESTINATION",
            _DISPOSAL,
            "disposal_column",
            required=True,
        ),
    ),
    classify=_snomed,
)

#: HES Accident and Emergency (before ECDS): one row per attendance.
HES_AE_SPEC = SourceSpec(
    "emergency_care",
    ("hospital",),
    columns=(
        _CASE_ID,
        row_date("arrival date", "ARRIVALDATE ARRIVAL_DATE"),
        Column("disposal", "AEATTENDDISP", _DISPOSAL, "disposal_column", required=True),
    ),
    classify=_hes_ae,
)


def _coded(extract: pd.DataFrame, coding: str) -> SourceSpec:
    """The spec of ``coding``; "auto" is HES A&E when an ``AEATTENDDISP`` column is present."""
    check_extract(extract, ECDS_SPEC.source)
    if coding == "auto":
        hes = find_column(extract, Column("disposal", "AEATTENDDISP"), ECDS_SPEC.source)
        coding = "snomed" if hes is None else "hes_ae"
    if coding not in ("snomed", "hes_ae"):
        raise SchemaError(
            f"{ECDS_SPEC.source}: coding={coding!r}; use 'auto', 'snomed' or 'hes_ae'."
        )
    return ECDS_SPEC if coding == "snomed" else HES_AE_SPEC


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
    format: str | None = None,
    dayfirst: bool | None = None,
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
    asthma_codes : list or tuple of str, optional
        Asthma codes: SNOMED CT concept ids (default :data:`ASTHMA_SNOMED`), or for
        "hes_ae" code prefixes (default ``("251",)``); None means the default. A list
        even for one code; a bare string, an empty list or a blank code is refused.
    admitted_codes : list or tuple of str, optional
        Disposal codes meaning admitted (default :data:`ECDS_ADMITTED_DESTINATIONS`
        for SNOMED, ``("01",)`` for HES A&E); None means the default. An empty list
        is refused: admitted attacks would be counted again as emergency visits.
    case_id_column, date_column, disposal_column : str, optional
        Column names when they differ from the known variants.
    start, end : date-like, optional
        Keep attendances dated in ``[start, end]``; these also set the coverage period.
    format : str, optional
        ``strptime`` format of text dates; ISO dates still read (not with ``dayfirst``).
    dayfirst : bool, optional
        True reads text dates as ``DD/MM/YYYY``, False as ``MM/DD/YYYY``; ISO dates
        still read. Without ``format`` or ``dayfirst`` only ISO dates read: others are
        counted ``invalid_date``, never guessed (the rule of :func:`riskscore.read_events`).

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
    args = dict(locals())
    for name in ("asthma_codes", "admitted_codes"):  # None: the coding's default
        args[name] = code_list(args[name], name, "read_emergency_care")
    return read_source(_coded(extract, args.pop("coding")), **args)
