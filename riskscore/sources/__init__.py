"""Source adapters: from national and local record layouts to riskscore events.

One call per source extract, each returning an :class:`AdapterResult` ``(events,
report, coverage)``: contract events, a table of what was mapped and what was left out
and why (every input row counted), and the period the extract covers per agency.

=============================  =================================  ===========================
adapter                        source layout                      events
=============================  =================================  ===========================
:func:`read_hospital_apc`      HES admitted patient care          asthma_admission
:func:`read_emergency_care`    ECDS (SNOMED CT) or HES A&E        asthma_ed_visit
:func:`read_school_census`     NPD / school census absence        attendance
:func:`read_cin_census`        children in need census            factors, responses
:func:`read_prescriptions`     prescribing (BNF codes)            reliever/preventer
:func:`apply_mapping`          any local system + mapping table   as the table says
=============================  =================================  ===========================

Each module's docstring names the source fields it reads and the public data
dictionaries they come from; its :class:`SourceSpec` (all in :data:`SPECS`) lists the
column names it accepts, and one reader runs every spec. Dates are read by riskscore's
one date parser, with the keywords and the rule of :func:`riskscore.read_events`: ISO
``YYYY-MM-DD`` always reads; ``format=`` (a ``strptime`` format) reads values written
in it; ``dayfirst=True`` reads ``DD/MM/YYYY``, ``dayfirst=False`` ``MM/DD/YYYY``; any
other text is counted ``invalid_date``, never guessed. For retrospective audit and
research on anonymised extracts only.
"""

from riskscore.sources import cin_census, emergency, hospital, mapping, prescriptions, school_census
from riskscore.sources._spec import REPORT_REASONS, AdapterResult, SourceSpec
from riskscore.sources.cin_census import CIN_FACTOR_EVENTS, read_cin_census
from riskscore.sources.emergency import (
    ASTHMA_SNOMED,
    ECDS_ADMITTED_DESTINATIONS,
    HES_AE_ASTHMA_PREFIX,
    read_emergency_care,
)
from riskscore.sources.hospital import ASTHMA_ICD10, normalise_icd10, read_hospital_apc
from riskscore.sources.mapping import MAPPING_COLUMNS, apply_mapping, read_mapping
from riskscore.sources.prescriptions import ASTHMA_BNF, read_prescriptions
from riskscore.sources.school_census import TERMS, read_school_census, term_end_date

#: Every source spec, in the order of the table above (the one reader runs each).
SPECS: tuple[SourceSpec, ...] = (
    hospital.SPEC,
    emergency.ECDS_SPEC,
    emergency.HES_AE_SPEC,
    school_census.SPEC,
    cin_census.SPEC,
    prescriptions.SPEC,
    mapping.SPEC,
)

__all__ = [
    "AdapterResult",
    "REPORT_REASONS",
    "SourceSpec",
    "SPECS",
    "read_hospital_apc",
    "read_emergency_care",
    "read_school_census",
    "read_cin_census",
    "read_prescriptions",
    "read_mapping",
    "apply_mapping",
    "normalise_icd10",
    "term_end_date",
    "ASTHMA_ICD10",
    "ASTHMA_SNOMED",
    "ECDS_ADMITTED_DESTINATIONS",
    "HES_AE_ASTHMA_PREFIX",
    "CIN_FACTOR_EVENTS",
    "ASTHMA_BNF",
    "MAPPING_COLUMNS",
    "TERMS",
]
