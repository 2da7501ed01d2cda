"""Display names and number formats: the words every output uses, defined once.

Codes (``multi_agency_discussion``, ``drug_service``, ``n_reached_mad``) are the data
contract and stay in data; people read display names ("multi-agency discussion",
"drug service", "cases reaching multi-agency discussion"). HTML reports, figures,
the data dictionaries written beside CSV files and console summaries all take their
words from here, so one thing has one name everywhere.

Numbers are written for reading: three significant figures (never scientific
notation), intervals as ``0.831 (0.712 to 0.920)``, percentages with their
denominator (``52% (1,035 of 2,000)``) and whole counts with thousands separators.

Public names in a private module (layer 0): :mod:`riskscore.report`,
:mod:`riskscore.plots`, :mod:`riskscore.disclosure` and :mod:`riskscore.audit` use
them; users meet them in what those write.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from riskscore.vocabulary import FEATURES

__all__ = [
    "BAND_NAMES",
    "AGENCY_NAMES",
    "EVENT_NAMES",
    "OUTCOME_NAMES",
    "FEATURE_NAMES",
    "COLUMN_NAMES",
    "METRIC_NAMES",
    "ONLY_WHEN_JOINED",
    "band_name",
    "agency_name",
    "event_name",
    "outcome_name",
    "quintile_name",
    "feature_name",
    "column_name",
    "column_meaning",
    "metric_name",
    "rule_name",
    "display",
    "data_dictionary",
    "fmt_number",
    "fmt_count",
    "fmt_interval",
    "fmt_percent",
    "fmt_share",
    "fmt_days",
    "fmt_date",
]

#: The holder of a contribution that no single agency's own records produced.
ONLY_WHEN_JOINED = "only when joined"

BAND_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "none": "no band",
        "review": "review",
        "multi_agency_discussion": "multi-agency discussion",
    }
)

AGENCY_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "school": "school",
        "hospital": "hospital",
        "gp": "GP",
        "drug_service": "drug service",
        "police": "police",
        "social_care": "social care",
        "probation": "probation",
        "housing": "housing",
        "any": "any agency",
        ONLY_WHEN_JOINED: "no single agency (only when joined)",
    }
)

EVENT_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "attendance": "school attendance record",
        "attainment_decline": "attainment decline",
        "school_concern": "school welfare concern",
        "asthma_admission": "asthma admission",
        "asthma_ed_visit": "asthma emergency visit",
        "asthma_plan_review": "asthma plan review",
        "reliever_prescription": "reliever inhaler prescription",
        "preventer_prescription": "preventer inhaler prescription",
        "missed_appointment": "missed appointment (child not brought)",
        "parent_substance_use": "parental drug use reported",
        "parent_substance_treatment": "parent's drug treatment contact",
        "paternal_involvement_lost": "father's involvement lost",
        "paternal_involvement_restored": "father's involvement restored",
        "sibling_removed": "sibling removed from the home",
        "competing_care_demand": "competing care demand on the carer",
        "child_voice_concern": "child voiced fear or unhappiness",
        "police_incident_home": "police incident at home",
        "domestic_abuse_incident": "domestic abuse incident",
        "housing_poor": "poor housing",
        "economic_hardship": "economic hardship",
        "school_referral": "referral by the school",
        "social_care_referral": "referral to social care",
        "early_help_start": "early help started",
        "strategy_meeting": "strategy meeting",
        "cp_conference": "child protection conference",
        "cin_plan_start": "child in need plan started",
        "cin_plan_end": "child in need plan ended",
        "cp_plan_start": "child protection plan started",
        "cp_plan_end": "child protection plan ended",
    }
)

OUTCOME_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "death": "death",
        "serious_harm": "serious harm",
        "life_threatening_asthma": "life-threatening asthma attack",
    }
)

FEATURE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "parental_substance_use_12m": "parental drug use (last 12 months)",
        "attendance_recent": "recent attendance",
        "attendance_drop": "drop in attendance",
        "persistent_absence": "persistent absence (attendance 90% or less)",
        "severe_absence": "severe absence (attendance 50% or less)",
        "school_concerns_12m": "school concerns (last 12 months)",
        "asthma_admissions_12m": "asthma admissions (last 12 months)",
        "asthma_ed_visits_12m": "asthma emergency visits (last 12 months)",
        "asthma_admission_28d": "asthma admission in the last 28 days",
        "no_asthma_plan_12m": "asthma attack with no asthma plan review (12 months)",
        "reliever_overuse_12m": "more than 12 reliever inhalers (12 months)",
        "missed_appointments_12m": "missed appointments (last 12 months)",
        "paternal_involvement_lost": "father's involvement lost",
        "siblings_removed": "siblings removed from the home",
        "police_incidents_home_12m": "police incidents at home (last 12 months)",
        "hardship_12m": "poor housing or hardship (last 12 months)",
        "competing_care_12m": "competing care demand (last 12 months)",
        "child_voice_concerns_12m": "child voiced fear or unhappiness (last 12 months)",
        # catalogue v2
        "asthma_admissions_no_followup_12m": "asthma admissions with no plan review within "
        "28 days (12 months)",
        "preventer_underuse_12m": "reliever use with fewer than 4 preventers (12 months)",
        "cp_plans_ever": "child protection plans, ever",
    }
)

#: Every table column a user meets -> (display name, meaning). The glossary of
#: outputs (docs/outputs.md) is written from the same words.
_COLUMNS: dict[str, tuple[str, str]] = {
    # shared keys
    "band": ("band", "audit band reached (review, or multi-agency discussion)"),
    "measure": ("measure", "what the row counts"),
    "held_by": ("held by", "the agency whose own records held the information"),
    "imd_quintile": ("deprivation quintile", "IMD quintile, 1 = most deprived, 5 = least"),
    "n": ("number", "count (disclosure-controlled)"),
    "n_cases": ("cases", "number of children (disclosure-controlled)"),
    # lead_times
    "lead_time_days": (
        "lead time (days)",
        "days from the first crossing into the band to the outcome (binned in cohort tables)",
    ),
    # false_alarms
    "n_crossings": (
        "crossings",
        "crossings into the band (new episodes: re-entries after a dip shorter than the "
        "minimum gap are not counted), before any outcome",
    ),
    "n_false_alarms": (
        "false alarms",
        "crossings with no outcome within the horizon after them",
    ),
    "n_cases_alerted": ("cases with a crossing", "children with at least one crossing"),
    "n_true_cases_alerted": (
        "true cases alerted",
        "children with an outcome within the horizon after a crossing",
    ),
    "false_alarm_share": ("false-alarm share", "false alarms as a share of crossings"),
    "alerts_per_true_case": (
        "crossings per true case",
        "crossings for every child alerted before an outcome within the horizon",
    ),
    # join_up_gap
    "n_cases_with_gap": (
        "cases with a join-up gap",
        "children with at least one day on which the joined view was in a higher band than "
        "every single agency's own view",
    ),
    "share_with_gap": ("share with a join-up gap", "cases with a join-up gap / cases"),
    # missed_opportunities
    "n_missed": (
        "missed opportunities",
        "crossings with no response within the response window and no plan active",
    ),
    # agency_share
    "n_crossings_holding": (
        "crossings where it held information",
        "crossings at which this holder held at least one contributing rule or feature",
    ),
    "share_of_contribution": (
        "share of contributions",
        "this holder's share of all points (or log-odds) that contributed at crossings",
    ),
    # by_deprivation
    "n_outcomes": ("cases with an outcome", "children with a recorded outcome"),
    "n_reached_review": ("cases reaching review", "children whose joined score reached review"),
    "n_reached_mad": (
        "cases reaching multi-agency discussion",
        "children whose joined score reached multi-agency discussion",
    ),
    "n_outcomes_reached_mad": (
        "cases with an outcome reaching multi-agency discussion before it",
        "children with an outcome whose joined score reached multi-agency discussion "
        "before the outcome (the children the median lead time is of)",
    ),
    "n_with_gap": ("cases with a join-up gap", "children with at least one join-up gap day"),
    "share_reached_mad": (
        "share reaching multi-agency discussion",
        "cases reaching multi-agency discussion / cases",
    ),
    "median_lead_mad_days": (
        "median lead time to outcome (days)",
        "median days from the first multi-agency discussion crossing to the outcome, among "
        "cases with an outcome that reached it before the outcome (rounded to 5 days; "
        "published only where at least min_count such cases are)",
    ),
    # evaluation: metrics
    "metric": ("measure", "what is estimated"),
    "label": ("measure", "what is estimated"),
    "estimate": ("estimate", "point estimate on the validation predictions"),
    "lower": ("lower limit", "lower end of the case-bootstrap interval"),
    "upper": ("upper limit", "upper end of the case-bootstrap interval"),
    # evaluation: alerts
    "rule": ("alert rule", "when an alert is raised"),
    "scale": ("on", "the scale the threshold is on (probability or score)"),
    "threshold": ("threshold", "alert when the risk or score is at or above this"),
    "alerts": ("alerts", "rows at or above the threshold"),
    "true_positives": ("true alerts", "alerts followed by the outcome within the horizon"),
    "alert_rate": ("alert rate", "alerts / rows"),
    "sensitivity": ("sensitivity", "true alerts / rows with the outcome"),
    "ppv": ("precision (PPV)", "true alerts / alerts"),
    # evaluation: calibration
    "bin": (
        "predicted risk group",
        "tenth of predicted risk (neighbours merged where disclosure control needs it)",
    ),
    "events": ("outcomes", "rows followed by the outcome within the horizon"),
    "mean_predicted": (
        "mean predicted risk",
        "average predicted probability in the group; in the calibration table under"
        " disclosure control, its expected events rounded like a count over its published"
        " rows, or, where that falls outside the group's range, the middle of the part of"
        " the range the rounded counts allow",
    ),
    "observed": ("observed rate", "share of rows followed by the outcome"),
    # evaluation: decision curve
    "net_benefit": (
        "net benefit",
        "true alerts minus false alerts weighted by the threshold odds, per row",
    ),
    "treat_all": ("alert everyone", "net benefit of alerting on every row"),
    "treat_none": ("alert no one", "net benefit of never alerting (always 0)"),
    # evaluation: subgroups
    "attribute": ("characteristic", "the characteristic the subgroups split on"),
    "group": ("group", "the subgroup"),
    "reference": ("reference group", "the group ratios and differences compare with"),
    "difference": ("difference from reference", "estimate minus the reference group's"),
    "ratio": ("ratio to reference", "estimate divided by the reference group's"),
    "numerator": ("numerator", "count on top of the rate (disclosure-controlled)"),
    "denominator": ("denominator", "count under the rate (disclosure-controlled)"),
    # case audit
    "date": ("date", "the day"),
    "score": ("score", "the joined score on the day"),
    "responses_in_window": (
        "responses within the window",
        "responses (referrals, early help, meetings, conferences, plan starts) from the "
        "crossing day through the response window",
    ),
    "plan_active": ("plan already active", "a child in need or protection plan was active"),
    "missed": ("missed opportunity", "no response within the window and no plan active"),
    "days_to_next_response": ("days to the next response", "days from crossing to response"),
    "contributor": ("rule or feature", "what added to the score"),
    "contribution": ("contribution", "what it added to the score"),
    "first_crossing": ("first crossing", "first day the joined score reached the band"),
    "agency": ("agency", "who recorded it"),
    "from": ("from", "first day of the period"),
    "to": ("to", "last day of the period"),
    "days": ("days", "length in days"),
    "max_unknown_points": (
        "most points unknown",
        "the most points the rules on missing features could have added",
    ),
    "as_of": ("as of", "the date the score describes (what the records held then)"),
    "on_grid": ("on the drawing grid", "the date is on the regular grid (else a change date)"),
    "best_agency_band": (
        "highest single-agency band",
        "the highest band any one agency's own view reached that day",
    ),
    "left": ("left the band", "first day below the band"),
    "returned": ("came back", "day the score reached the band again"),
    "days_below": ("days below", "days between leaving the band and coming back"),
    "crossing": ("crossing", "which crossing (0 = the first) the row belongs to"),
    "contributors": ("what contributed [held by]", "rules or features and who held them"),
    "followed_by": ("what followed", "the first response after the crossing, if any"),
    "fpr": ("false positive rate", "share of rows without the outcome that were alerted"),
    "tpr": ("sensitivity", "share of rows with the outcome that were alerted"),
    "case_id": ("case", "pseudonymous child identifier"),
    "y": ("outcome within the horizon", "1 if the outcome followed within the horizon"),
    "fold": ("fold", "the validation fold the row was predicted in"),
    "probability": ("predicted risk", "predicted probability of the outcome"),
    "row": ("row", "row of the table (for output checkers)"),
    "key": ("key", "the row's key values"),
    "column": ("column", "the column of the cell"),
    "reason": ("reason", "why the cell was suppressed or rounded"),
    "table": ("table", "which table"),
}
for _stat in ("sensitivity", "ppv", "ratio", "difference"):
    for _end, _word in (("lower", "lower limit"), ("upper", "upper limit")):
        _name, _ = _COLUMNS[_stat]
        _COLUMNS[f"{_stat}_{_end}"] = (f"{_name}, {_word}", f"interval limit of {_name}")

COLUMN_NAMES: Mapping[str, str] = MappingProxyType({k: v[0] for k, v in _COLUMNS.items()})

METRIC_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "auroc": "AUROC (discrimination; 0.5 = chance, 1 = perfect)",
        "auprc": "AUPRC (average precision)",
        "brier": "Brier score (lower is better)",
        "calibration_intercept": "calibration-in-the-large (0 is ideal)",
        "calibration_slope": "calibration slope (1 is ideal)",
        "observed_rate": "observed outcome rate (rows)",
        "mean_predicted": "mean predicted risk",
        "selection_rate": "alert rate",
        "tpr": "sensitivity (true positive rate)",
        "fpr": "false positive rate",
        "ppv": "precision (PPV)",
        "oe_ratio": "observed / expected (1 is calibrated)",
    }
)

_ATTRIBUTE_NAMES = {"sex": "sex", "ethnic_group": "ethnic group", "imd_quintile": "deprivation"}


def _plain(code: str) -> str:
    """A readable fallback for a code nobody has named yet."""
    text = str(code)
    text = re.sub(r"_(\d+)m$", r" (last \1 months)", text)
    text = re.sub(r"_(\d+)d$", r" (last \1 days)", text)
    return text.replace("_", " ")


def band_name(code: Any) -> str:
    """Display name of an audit band.

    Examples
    --------
    >>> band_name("multi_agency_discussion")
    'multi-agency discussion'
    """
    return BAND_NAMES.get(str(code), _plain(code))


def agency_name(code: Any) -> str:
    """Display name of an agency, or of a comma-separated list of agencies.

    Examples
    --------
    >>> agency_name("drug_service"), agency_name("school, social_care")
    ('drug service', 'school, social care')
    """
    text = str(code)
    if text in AGENCY_NAMES:
        return AGENCY_NAMES[text]
    return ", ".join(AGENCY_NAMES.get(p.strip(), _plain(p.strip())) for p in text.split(","))


def event_name(code: Any) -> str:
    """Display name of an event code.

    Examples
    --------
    >>> event_name("cp_plan_start")
    'child protection plan started'
    """
    return EVENT_NAMES.get(str(code), _plain(code))


def outcome_name(code: Any) -> str:
    """Display name of an outcome code.

    Examples
    --------
    >>> outcome_name("life_threatening_asthma")
    'life-threatening asthma attack'
    """
    return OUTCOME_NAMES.get(str(code), _plain(code))


def quintile_name(value: Any) -> str:
    """A deprivation quintile with its direction at the ends.

    Examples
    --------
    >>> quintile_name(1), quintile_name("3"), quintile_name(5)
    ('1 (most deprived)', '3', '5 (least deprived)')
    """
    text = str(value)
    return {"1": "1 (most deprived)", "5": "5 (least deprived)"}.get(text, text)


def feature_name(code: Any) -> str:
    """Display name of a feature (``__missing`` indicators say "unknown").

    Examples
    --------
    >>> feature_name("siblings_removed"), feature_name("hardship_12m__missing")
    ('siblings removed from the home', 'poor housing or hardship (last 12 months) unknown')
    """
    text = str(code)
    if text.endswith("__missing"):
        return feature_name(text[: -len("__missing")]) + " unknown"
    return FEATURE_NAMES.get(text, _plain(text))


def _view_column(text: str) -> tuple[str, str] | None:
    """``score_<agency>`` and ``band_<agency>`` columns of a case trajectory."""
    for prefix, what in (("score_", "score"), ("band_", "band")):
        agency = text[len(prefix) :]
        if text.startswith(prefix) and agency in AGENCY_NAMES:
            name = agency_name(agency)
            return f"{what}, {name} alone", f"the {what} from the {name}'s own records only"
    return None


def column_name(code: Any) -> str:
    """Display name of a table column.

    Examples
    --------
    >>> column_name("n_reached_mad"), column_name("score_drug_service")
    ('cases reaching multi-agency discussion', 'score, drug service alone')
    """
    text = str(code)
    view = _view_column(text)
    return view[0] if view else COLUMN_NAMES.get(text, _plain(text))


def column_meaning(code: Any) -> str:
    """What a table column holds, in one line ("" when it has no entry).

    Examples
    --------
    >>> column_meaning("false_alarm_share")
    'false alarms as a share of crossings'
    """
    text = str(code)
    view = _view_column(text)
    if view:
        return view[1]
    entry = _COLUMNS.get(text)
    return entry[1] if entry else ""


def metric_name(code: Any) -> str:
    """Display name of an evaluation metric.

    Examples
    --------
    >>> metric_name("oe_ratio")
    'observed / expected (1 is calibrated)'
    """
    return METRIC_NAMES.get(str(code), _plain(code))


_OPS = {">=": "at least", ">": "more than", "<=": "at most", "<": "less than", "==": "equal to"}
_RULE = re.compile(r"^\s*(?P<feature>\w+)\s*(?P<op>>=|<=|==|>|<)\s*(?P<threshold>\S+)\s*$")


def rule_name(label: Any) -> str:
    """Plain reading of a scorecard rule label such as ``"siblings_removed >= 1"``.

    A flag rule reads as the statement it tests; a count or fraction rule names
    the feature and the comparison, with fractions as percentages. A label that is
    not a rule (a logistic model's feature) reads as the feature's name.

    Examples
    --------
    >>> rule_name("parental_substance_use_12m >= 1")
    'parental drug use (last 12 months)'
    >>> rule_name("asthma_admissions_12m >= 2")
    'asthma admissions (last 12 months): at least 2'
    >>> rule_name("attendance_drop >= 0.1")
    'drop in attendance: at least 10 percentage points'
    """
    m = _RULE.match(str(label))
    if m is None:
        return feature_name(label)
    feature, op = m["feature"], m["op"]
    try:
        threshold = float(m["threshold"])
    except ValueError:
        return feature_name(label)
    spec = FEATURES.get(feature)
    kind = spec.kind if spec is not None else "count"
    name = feature_name(feature)
    if kind == "flag" and (op, threshold) in ((">=", 1.0), ("==", 1.0), (">", 0.0)):
        return name
    if kind == "flag" and (op, threshold) in (("==", 0.0), ("<", 1.0), ("<=", 0.0)):
        return f"not: {name}"
    if kind == "fraction":
        value = f"{fmt_number(100 * threshold)}%"
    elif kind == "difference":
        value = f"{fmt_number(100 * threshold)} percentage points"
    else:
        value = fmt_number(threshold)
    return f"{name}: {_OPS[op]} {value}"


def display(code: Any) -> str:
    """Display name of any code: band, agency, event, outcome, feature, metric or column.

    Examples
    --------
    >>> display("drug_service"), display("cp_conference"), display("ethnic_group")
    ('drug service', 'child protection conference', 'ethnic group')
    """
    text = str(code)
    for table in (BAND_NAMES, AGENCY_NAMES, EVENT_NAMES, OUTCOME_NAMES, FEATURE_NAMES):
        if text in table:
            return table[text]
    if text in _ATTRIBUTE_NAMES:
        return _ATTRIBUTE_NAMES[text]
    if text in METRIC_NAMES:
        return METRIC_NAMES[text]
    return column_name(text)


def data_dictionary(table) -> Any:
    """The data dictionary written beside a CSV table: each column and coded value in words.

    One row per column (``column``, ``display_name``, ``meaning``), then one row per
    coded value of a text column whose display name differs from the code
    (``column``, ``value``, ``display_name``). CSV files keep their codes in the
    header and cells (so programs read them back unchanged); people read this.

    Parameters
    ----------
    table : DataFrame

    Returns
    -------
    DataFrame
        ``column, value, display_name, meaning``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = data_dictionary(pd.DataFrame({"band": ["multi_agency_discussion"], "n_crossings": [5]}))
    >>> d[["column", "value", "display_name"]].values.tolist()[:3]
    [['band', '', 'band'], ['n_crossings', '', 'crossings'], ['band', 'multi_agency_discussion', 'multi-agency discussion']]
    """
    import pandas as pd

    rows = [(str(c), "", column_name(c), column_meaning(c)) for c in table.columns]
    for c in table.columns:
        col = table[c]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
            continue
        values = pd.unique(col.dropna().astype(str))
        if len(values) > 100:
            continue  # identifiers or free labels, not codes
        for v in values:
            name = quintile_name(v) if c == "imd_quintile" else display(v)
            if name != v:
                rows.append((str(c), v, name, ""))
    return pd.DataFrame(rows, columns=["column", "value", "display_name", "meaning"])


# --------------------------------------------------------------------------- numbers


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT differ from themselves
    except (TypeError, ValueError):  # pd.NA refuses bool()
        return True


def _decimals(value: float, sig: int) -> int:
    """Decimal places that show ``value`` to ``sig`` significant figures (0 for large)."""
    if value == 0 or not math.isfinite(value):
        return 0
    return max(sig - 1 - math.floor(math.log10(abs(value))), 0)


def _fixed(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return "0" if text in ("-0", "-0.0") or re.fullmatch(r"-0\.0+", text) else text


def fmt_number(value: Any, sig: int = 3) -> str:
    """A number for reading: whole numbers exactly, others to ``sig`` significant figures.

    Never scientific notation; thousands separated; missing values as an en dash.

    Examples
    --------
    >>> fmt_number(16385), fmt_number(0.83124), fmt_number(5.154e-05), fmt_number(1234.5)
    ('16,385', '0.831', '0.0000515', '1,230')
    """
    if _missing(value):
        return "\u2013"
    v = float(value)
    if not math.isfinite(v):
        return "\u2013"
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    d = _decimals(v, sig)
    if d == 0:
        # round to sig significant figures left of the point (1234.5 -> 1,230)
        digits = math.floor(math.log10(abs(v))) + 1
        return f"{round(v, sig - digits):,.0f}"
    return _fixed(round(v, d), d)


def fmt_count(value: Any) -> str:
    """A count with thousands separators (missing as an en dash).

    Examples
    --------
    >>> fmt_count(2375.0)
    '2,375'
    """
    if _missing(value):
        return "\u2013"
    return f"{round(float(value)):,}"


def fmt_interval(estimate: Any, lower: Any, upper: Any, sig: int = 3) -> str:
    """An estimate with its interval: ``0.831 (0.712 to 0.920)``.

    The limits take the estimate's number of decimals, so the three line up.

    Examples
    --------
    >>> fmt_interval(0.8312, 0.712, 0.92)
    '0.831 (0.712 to 0.920)'
    >>> fmt_interval(0.981, 0.827, 1.2008), fmt_interval(-0.0059, -0.3598, 0.3054)
    ('0.98 (0.83 to 1.20)', '-0.006 (-0.360 to 0.305)')
    >>> fmt_interval(0.5, None, None)
    '0.500'
    """
    if _missing(estimate):
        return "\u2013"
    est = float(estimate)
    # three significant figures of the largest of the three, the same decimals for all
    # (and never so few that a non-zero estimate shows as 0)
    finite = [abs(float(v)) for v in (est, lower, upper) if not _missing(v) and float(v) != 0]
    d = _decimals(max(finite), sig) if finite else 0
    if est != 0:
        d = max(d, _decimals(est, 1))
    d = min(d, 8)
    text = _fixed(round(est, d), d)
    if _missing(lower) or _missing(upper):
        return text
    return f"{text} ({_fixed(round(float(lower), d), d)} to {_fixed(round(float(upper), d), d)})"


def _pct(share: float) -> str:
    p = 100 * share
    if p == 0 or abs(p - round(p)) < 1e-9:
        return f"{round(p):.0f}%"
    if 99 < p < 100 or 0 < p < 1:
        # never round a near-total up to 100% or a small share down to 0%
        return f"{p:.1f}%" if p > 1 else f"{p:.2g}%"
    if p >= 10:
        return f"{p:.0f}%"
    return f"{p:.1f}%"


def fmt_percent(numerator: Any, denominator: Any) -> str:
    """A percentage with its denominator: ``52% (1,035 of 2,000)``.

    Examples
    --------
    >>> fmt_percent(1035, 2000)
    '52% (1,035 of 2,000)'
    >>> fmt_percent(None, 2000)
    '\u2013'
    """
    if _missing(numerator) or _missing(denominator) or float(denominator) == 0:
        return "\u2013"
    share = float(numerator) / float(denominator)
    return f"{_pct(share)} ({fmt_count(numerator)} of {fmt_count(denominator)})"


def fmt_share(share: Any) -> str:
    """A share as a percentage, when no denominator applies (a share of points).

    Examples
    --------
    >>> fmt_share(0.3412), fmt_share(0.004)
    ('34%', '0.4%')
    """
    if _missing(share):
        return "\u2013"
    return _pct(float(share))


def fmt_days(value: Any) -> str:
    """A number of days: ``"596 days"``, ``"1 day"``.

    Examples
    --------
    >>> fmt_days(596.0), fmt_days(1)
    ('596 days', '1 day')
    """
    if _missing(value):
        return "\u2013"
    n = round(float(value))
    return f"{n:,} day" + ("" if n == 1 else "s")


def fmt_date(value: Any) -> str:
    """An ISO date (``YYYY-MM-DD``), or "never" when missing.

    Examples
    --------
    >>> import datetime
    >>> fmt_date(datetime.date(2101, 6, 8)), fmt_date(None)
    ('2101-06-08', 'never')
    """
    if _missing(value):
        return "never"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]
