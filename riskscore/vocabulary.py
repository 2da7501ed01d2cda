"""The data contract's vocabulary: agencies, event codes and the feature catalogue.

Declared once here (pandera's habit: the schema apart from the code that checks it);
validation, features, models and audits all read these tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from riskscore.errors import ParameterError

__all__ = [
    "AGENCIES",
    "EVENTS",
    "RISK_EVENTS",
    "RESPONSE_EVENTS",
    "PLAN_START_END",
    "VALUED_EVENTS",
    "EVENT_COLUMNS",
    "CASE_COLUMNS",
    "OUTCOMES",
    "FeatureSpec",
    "FEATURES",
    "FEATURES_V1",
    "feature_unit",
    "feature_unit_size",
    "SAME_CONDITION",
    "BANDS",
]

#: Agency codes, in the order reports draw their lanes.
AGENCIES: tuple[str, ...] = (
    "school",
    "hospital",
    "gp",
    "drug_service",
    "police",
    "social_care",
    "probation",
    "housing",
)

#: Event code -> the agencies that usually record it ("any" = any agency).
EVENTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # Education
        "attendance": ("school",),
        "attainment_decline": ("school",),
        "school_concern": ("school",),
        # Health
        "asthma_admission": ("hospital",),
        "asthma_ed_visit": ("hospital",),
        "asthma_plan_review": ("gp", "hospital"),
        "reliever_prescription": ("gp",),
        "preventer_prescription": ("gp",),
        "missed_appointment": ("gp", "hospital"),
        # Parental substance use
        "parent_substance_use": ("any",),
        "parent_substance_treatment": ("drug_service",),
        # Family
        "paternal_involvement_lost": ("any",),
        "paternal_involvement_restored": ("any",),
        "sibling_removed": ("social_care",),
        "competing_care_demand": ("social_care",),
        "child_voice_concern": ("any",),
        # Police and home
        "police_incident_home": ("police",),
        "domestic_abuse_incident": ("police",),
        "housing_poor": ("housing",),
        "economic_hardship": ("any",),
        # Responses (used by audits, never as risk features)
        "school_referral": ("school",),
        "social_care_referral": ("any",),
        "early_help_start": ("social_care",),
        "strategy_meeting": ("social_care",),
        "cp_conference": ("social_care",),
        "cin_plan_start": ("social_care",),
        "cin_plan_end": ("social_care",),
        "cp_plan_start": ("social_care",),
        "cp_plan_end": ("social_care",),
    }
)

#: Events that record what agencies did. Audits use them as responses; one feature,
#: ``cp_plans_ever``, also reads ``cp_plan_start`` as history (a previous or current
#: child protection plan), never as a reason for alarm on the day it happens alone.
RESPONSE_EVENTS: tuple[str, ...] = (
    "school_referral",
    "social_care_referral",
    "early_help_start",
    "strategy_meeting",
    "cp_conference",
    "cin_plan_start",
    "cin_plan_end",
    "cp_plan_start",
    "cp_plan_end",
)

#: Plan kinds: start event -> end event (a plan is active from start until its end).
PLAN_START_END: Mapping[str, str] = MappingProxyType(
    {"cin_plan_start": "cin_plan_end", "cp_plan_start": "cp_plan_end"}
)

#: Events that describe the child's circumstances (everything but responses).
RISK_EVENTS: tuple[str, ...] = tuple(e for e in EVENTS if e not in RESPONSE_EVENTS)

#: Events whose ``value`` has a meaning, and its allowed closed range.
VALUED_EVENTS: Mapping[str, tuple[float, float]] = MappingProxyType({"attendance": (0.0, 1.0)})

#: events table: column -> (required, meaning)
EVENT_COLUMNS: Mapping[str, tuple[bool, str]] = MappingProxyType(
    {
        "case_id": (True, "pseudonymous child identifier (non-empty text)"),
        "date": (True, "when the event happened (ISO date YYYY-MM-DD)"),
        "agency": (True, "who recorded it: one of " + ", ".join(AGENCIES)),
        "event": (True, "what happened: a code from riskscore.EVENTS"),
        "value": (False, "number, only where the vocabulary gives it a meaning (attendance 0-1)"),
        "recorded_date": (False, "when it entered the record, if later than date"),
    }
)

#: cases table: column -> (required, meaning)
CASE_COLUMNS: Mapping[str, tuple[bool, str]] = MappingProxyType(
    {
        "case_id": (True, "matches events"),
        "birth_year": (False, "year of birth only (never a full date of birth)"),
        "sex": (False, "for subgroup audit only"),
        "ethnic_group": (False, "for subgroup audit only"),
        "imd_quintile": (False, "deprivation quintile 1 (most deprived) to 5, for subgroup audit"),
        "outcome": (False, "e.g. death, serious_harm, life_threatening_asthma"),
        "outcome_date": (False, "when the outcome happened"),
        "followup_end": (False, "last date the records cover for this child"),
    }
)

#: Outcome codes of the contract: ``cases.outcome`` is one of these or empty (no
#: outcome). Any other value ("none", "N/A", free wording) is refused by validation.
OUTCOMES: tuple[str, ...] = ("death", "serious_harm", "life_threatening_asthma")

#: Audit band names in order; a band is reached when the score is >= its threshold.
BANDS: tuple[str, ...] = ("none", "review", "multi_agency_discussion")


@dataclass(frozen=True)
class FeatureSpec:
    """One point-in-time feature of the catalogue.

    Attributes
    ----------
    name : str
        Public feature name (a column of :func:`riskscore.encode_features`).
    description : str
        Definition as of a date T.
    agencies : tuple of str
        Agencies that hold the information ("any" = any agency may record it).
    kind : {"count", "flag", "fraction", "difference"}
        What sort of number it is.
    direction : {1, -1}
        Risk direction: 1 if higher values mean more concern, -1 if lower values do.
    events : tuple of str
        The event codes it is computed from.
    raised_by : tuple of str
        The event codes whose records can move the feature towards concern (in its
        risk direction). The others in ``events`` can only move it away: an asthma
        plan review, a preventer prescription, a restoration of paternal contact.
        Defaults to ``events``. :func:`riskscore.agency_reach` uses it, with
        :data:`EVENTS`, to compute what one agency's records alone can score.
    """

    name: str
    description: str
    agencies: tuple[str, ...]
    kind: str
    direction: int
    events: tuple[str, ...]
    raised_by: tuple[str, ...] = ()

    def __post_init__(self):
        raised = tuple(self.raised_by) or tuple(self.events)
        unknown = [e for e in raised if e not in self.events]
        if unknown:
            raise ParameterError(f"{self.name}: raised_by {unknown} are not among its events.")
        object.__setattr__(self, "raised_by", raised)


def _spec(name, description, agencies, kind, direction, events, raised_by=()):
    spec = FeatureSpec(
        name, description, tuple(agencies), kind, direction, tuple(events), tuple(raised_by)
    )
    return name, spec


#: The feature catalogue, in output column order (ordered, read-only mapping).
FEATURES: Mapping[str, FeatureSpec] = MappingProxyType(
    dict(
        [
            _spec(
                "parental_substance_use_12m",
                "1 if any parent_substance_use or parent_substance_treatment in the last 365 days",
                ("drug_service", "police", "gp"),
                "flag",
                1,
                ("parent_substance_use", "parent_substance_treatment"),
            ),
            _spec(
                "attendance_recent",
                "mean attendance fraction over the recent window (default 90 days); NaN if none",
                ("school",),
                "fraction",
                -1,
                ("attendance",),
            ),
            _spec(
                "attendance_drop",
                "mean attendance in (T-365, T-recent] minus attendance_recent; NaN if either missing",
                ("school",),
                "difference",
                1,
                ("attendance",),
            ),
            _spec(
                "persistent_absence",
                "1 if attendance_recent <= 0.90 (England's persistent-absence line); NaN if unknown",
                ("school",),
                "flag",
                1,
                ("attendance",),
            ),
            _spec(
                "severe_absence",
                "1 if attendance_recent <= 0.50 (England's severe-absence line); NaN if unknown",
                ("school",),
                "flag",
                1,
                ("attendance",),
            ),
            _spec(
                "school_concerns_12m",
                "count of school_concern and attainment_decline in the last 365 days",
                ("school",),
                "count",
                1,
                ("school_concern", "attainment_decline"),
            ),
            _spec(
                "asthma_admissions_12m",
                "count of asthma_admission in the last 365 days",
                ("hospital",),
                "count",
                1,
                ("asthma_admission",),
            ),
            _spec(
                "asthma_ed_visits_12m",
                "count of asthma_ed_visit in the last 365 days",
                ("hospital",),
                "count",
                1,
                ("asthma_ed_visit",),
            ),
            _spec(
                "asthma_admission_28d",
                "1 if any asthma_admission (dated by admission) in the last 28 days",
                ("hospital",),
                "flag",
                1,
                ("asthma_admission",),
            ),
            _spec(
                "no_asthma_plan_12m",
                "1 if any asthma admission or ED visit in 365 days and no asthma_plan_review "
                "in those 365 days",
                ("hospital", "gp"),
                "flag",
                1,
                ("asthma_admission", "asthma_ed_visit", "asthma_plan_review"),
                ("asthma_admission", "asthma_ed_visit"),
            ),
            _spec(
                "reliever_overuse_12m",
                "1 if more than 12 reliever_prescription in the last 365 days",
                ("gp",),
                "flag",
                1,
                ("reliever_prescription",),
            ),
            _spec(
                "missed_appointments_12m",
                "count of missed_appointment in the last 365 days",
                ("gp", "hospital"),
                "count",
                1,
                ("missed_appointment",),
            ),
            _spec(
                "paternal_involvement_lost",
                "1 if the latest paternal_involvement_lost/_restored on or before T is a loss "
                "(restoration wins on the same day)",
                ("any",),
                "flag",
                1,
                ("paternal_involvement_lost", "paternal_involvement_restored"),
                ("paternal_involvement_lost",),
            ),
            _spec(
                "siblings_removed",
                "count of sibling_removed ever",
                ("social_care",),
                "count",
                1,
                ("sibling_removed",),
            ),
            _spec(
                "police_incidents_home_12m",
                "count of police_incident_home and domestic_abuse_incident in the last 365 days",
                ("police",),
                "count",
                1,
                ("police_incident_home", "domestic_abuse_incident"),
            ),
            _spec(
                "hardship_12m",
                "1 if any housing_poor or economic_hardship in the last 365 days",
                ("housing", "any"),
                "flag",
                1,
                ("housing_poor", "economic_hardship"),
            ),
            _spec(
                "competing_care_12m",
                "1 if any competing_care_demand in the last 365 days",
                ("social_care",),
                "flag",
                1,
                ("competing_care_demand",),
            ),
            _spec(
                "child_voice_concerns_12m",
                "count of child_voice_concern in the last 365 days",
                ("any",),
                "count",
                1,
                ("child_voice_concern",),
            ),
            # ---- catalogue v2 (after the first 18, whose names and order are fixed)
            _spec(
                "asthma_admissions_no_followup_12m",
                "count of asthma_admission with T-365 < date <= T-28 and no asthma_plan_review "
                "dated in (date, date+28] known by T",
                ("hospital", "gp"),
                "count",
                1,
                ("asthma_admission", "asthma_plan_review"),
                ("asthma_admission",),
            ),
            _spec(
                "preventer_underuse_12m",
                "1 if any reliever_prescription in the last 365 days and fewer than 4 "
                "preventer_prescription in those 365 days",
                ("gp",),
                "flag",
                1,
                ("reliever_prescription", "preventer_prescription"),
                ("reliever_prescription",),
            ),
            _spec(
                "cp_plans_ever",
                "count of cp_plan_start dated on or before T (a current plan counts)",
                ("social_care",),
                "count",
                1,
                ("cp_plan_start",),
            ),
        ]
    )
)

#: The first catalogue (v1): 18 features whose names, order and values never change.
#: Models built on it (review-rules-v1, synthetic-logistic-v1) read only these.
FEATURES_V1: tuple[str, ...] = tuple(FEATURES)[:18]


# The unit a coefficient is reported per, by feature kind: (text, size in the
# feature's own units). Fractions are reported per 10 percentage points, because a
# coefficient "per 1.0" (0% to 100% attendance) is a change no child makes.
_UNITS = {
    "count": ("per event", 1.0),
    "flag": ("present vs absent", 1.0),
    "fraction": ("per 10 percentage points higher", 0.1),
    "difference": ("per 10 percentage points larger", 0.1),
}


def _check_name(name: object, where: str) -> None:
    if not isinstance(name, str):
        raise ParameterError(
            f"{where}: name must be a feature name (text, e.g. 'attendance_recent'); got "
            f"{name!r} ({type(name).__name__})."
        )


def feature_unit(name: str) -> str:
    """The unit one reported coefficient of ``name`` is per, for printed models.

    Fractions and differences of fractions are reported per 10 percentage points
    (:func:`feature_unit_size` gives the size in the feature's own units); counts
    per event; flags and missing indicators as present against absent.

    Examples
    --------
    >>> from riskscore.vocabulary import feature_unit
    >>> feature_unit("siblings_removed"), feature_unit("hardship_12m__missing")
    ('per event', 'unknown vs known')
    >>> feature_unit("attendance_recent")
    'per 10 percentage points higher attendance'
    """
    _check_name(name, "feature_unit")
    if name.endswith("__missing"):
        return "unknown vs known"
    spec = FEATURES.get(name)
    if spec is None:
        return "per unit"
    text = _UNITS.get(spec.kind, ("per unit", 1.0))[0]
    if spec.kind == "fraction" and "attendance" in name:
        text += " attendance"
    elif spec.kind == "difference" and "attendance" in name:
        text += " drop in attendance"
    return text


def feature_unit_size(name: str) -> float:
    """How many of the feature's own units the reported unit is (0.1 for fractions, else 1).

    A coefficient per reported unit is the model coefficient times this size.

    Examples
    --------
    >>> from riskscore.vocabulary import feature_unit_size
    >>> feature_unit_size("attendance_recent"), feature_unit_size("siblings_removed")
    (0.1, 1.0)
    """
    _check_name(name, "feature_unit_size")
    spec = FEATURES.get(name)
    if spec is None or name.endswith("__missing"):
        return 1.0
    return _UNITS.get(spec.kind, ("per unit", 1.0))[1]


#: Conditions that are the same by definition of the catalogue: (feature, op,
#: threshold) -> the defining condition. ``persistent_absence`` is 1 exactly when
#: ``attendance_recent <= 0.90`` and ``severe_absence`` when it is ``<= 0.50``
#: (both missing together), so a points scorecard states each once.
SAME_CONDITION: Mapping[tuple[str, str, float], tuple[str, str, float]] = MappingProxyType(
    {
        ("persistent_absence", ">=", 1.0): ("attendance_recent", "<=", 0.9),
        ("severe_absence", ">=", 1.0): ("attendance_recent", "<=", 0.5),
    }
)
