"""Children in need (CIN) census to events: assessment factors and social-care responses.

Source fields (DfE "Children in need census" guide and specification, modules
referrals, assessments, section 47 enquiries, CIN plans and child protection plans;
the published table "C3 Factors identified at the end of assessment"). One row per
episode of need; names are matched with case and underscores ignored, optionally with a
``CIN_`` prefix:

=============================  ==========================  ================================
riskscore event                census field                 accepted names
=============================  ==========================  ================================
``social_care_referral``       referral date                ReferralStartDate, ReferralDate
``strategy_meeting``           strategy discussion / s47    StrategyDiscussionDate,
                                                            S47ActualStartDate
``cp_conference``              initial child protection     DateOfInitialCPC, ICPCDate
                               conference date
``cin_plan_start`` / ``_end``  CIN plan dates               CINPlanStartDate, CINPlanEndDate
``cp_plan_start`` / ``_end``   child protection plan dates  CPPstartDate, CPPendDate
assessment factors             factors identified at the    AssessmentFactors, Factors
                               end of assessment            (codes separated by , ; | or
                                                            spaces), or one Yes/No column
                                                            per code ("Factors identified
                                                            at the end of assessment 2B")
=============================  ==========================  ================================

A section 47 enquiry starts after a strategy discussion; when the extract has no
strategy discussion date, the enquiry start (``S47ActualStartDate``) stands for it.

**Assessment factors.** The published codes pair a theme number with who the concern
is about: A the child, B the parent or carer, C another person in the household. Theme 1
is alcohol misuse, 2 drug misuse, 3 domestic abuse, 4 mental health, 5 learning
disability, 6 physical disability or illness. Default mapping
(:data:`CIN_FACTOR_EVENTS`):

- 1B, 2B (alcohol or drug misuse by the parent or carer) -> ``parent_substance_use``;
- 3A, 3B, 3C (domestic abuse, whoever the subject) -> ``domestic_abuse_incident``.

Every factor event is recorded with agency ``social_care`` (not police, although the
vocabulary's usual recorder of ``domestic_abuse_incident`` is police): it is what
children's social care knew. It is dated at the assessment start (the concern existed
when the assessment began) with ``recorded_date`` at the assessment end
(authorisation), when the census records the factor; so point-in-time features see it
only from the assessment end. Such an event will rarely share its date with a police
record of the same abuse, so the two count separately in the joined view.

Other valid factor codes (1-2 digits and an optional letter: 4B parental mental health,
7A young carer, neglect, ...) have no riskscore event and are reported as
``code_not_mapped``; anything else as ``unknown_code``. Pass ``factor_events=`` to map
more (for example 1C/2C, a parent's partner's substance misuse).

Episodes open across census years are returned again each year: a repeated (case,
event, date) is counted as ``duplicate`` and mapped once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskscore.errors import SchemaError
from riskscore.sources._spec import (
    AdapterResult,
    Classified,
    Column,
    Dated,
    Extract,
    SourceSpec,
    case_column,
    clean_text,
    code_map,
    norm_name,
    read_source,
)
from riskscore.vocabulary import EVENTS

__all__ = ["read_cin_census", "CIN_FACTOR_EVENTS"]

#: Assessment factor code -> riskscore event (see the module docstring).
CIN_FACTOR_EVENTS: Mapping[str, str] = {
    "1B": "parent_substance_use",
    "2B": "parent_substance_use",
    "3A": "domestic_abuse_incident",
    "3B": "domestic_abuse_incident",
    "3C": "domestic_abuse_incident",
}

_FLAG_RE = re.compile(r"^(?:cin)?(?:assessment)?factor[a-z]*?(\d{1,2}[a-z])$")
_CODE_RE = r"^[0-9]{1,2}[A-Z]?$"
_TRUE = {"yes", "y", "1", "true", "t"}


def _names(names: str) -> tuple[str, ...]:
    """Census names, also with a ``CIN_`` prefix."""
    return tuple(names.split()) + tuple("CIN_" + n for n in names.split())


#: Census date fields: each the event it dates (its role), in the order they are mapped.
_DATE_FIELDS: tuple[Column, ...] = (
    Column("social_care_referral", _names("ReferralStartDate ReferralDate")),
    Column("strategy_meeting", _names("StrategyDiscussionDate S47ActualStartDate S47StartDate")),
    Column("cp_conference", _names("DateOfInitialCPC ICPCDate InitialCPCDate")),
    Column("cin_plan_start", _names("CINPlanStartDate")),
    Column("cin_plan_end", _names("CINPlanEndDate")),
    Column("cp_plan_start", _names("CPPstartDate CPPlanStartDate")),
    Column("cp_plan_end", _names("CPPendDate CPPlanEndDate")),
)


def _episodes(x: Extract, *, factor_events: Mapping[str, str] | None) -> list[Classified]:
    mapping = {
        str(k).strip().upper(): v
        for k, v in (CIN_FACTOR_EVENTS if factor_events is None else factor_events).items()
    }
    unknown_events = sorted({v for v in mapping.values() if v not in EVENTS})
    if unknown_events:
        raise SchemaError(
            f"{x.spec.source}: factor_events maps to unknown event code(s) {unknown_events}; "
            "use codes from riskscore.EVENTS."
        )
    parts = [_date_field(x, c.role) for c in _DATE_FIELDS if x.column(c.role) is not None]
    factors = _factor_strings(x)
    if factors is not None:
        parts.append(_factors(x, factors, mapping))
    if not parts:
        raise x.error(
            "none of the census fields were found (referral, strategy discussion/s47, initial "
            "conference, CIN plan, child protection plan dates, assessment factors)",
            "Rename the columns to the census names.",
        )
    return parts


def _date_field(x: Extract, event: str) -> Classified:
    """A census date: one ``event`` per episode (blank: nothing happened, ``no_value``)."""
    col = x.column(event)
    dated = x.read_dates(x.df[col])
    return Classified(
        str(col),
        event,
        blank_reason="no_value",
        dated=dated,
        duplicates=pd.DataFrame({"c": x.case, "d": dated.dates}),
    )


def _factor_strings(x: Extract) -> pd.Series | None:
    """Factor codes of each row as text: from the factors column, or the Yes/No flag columns."""
    factors = x.text("factors")
    if factors is not None:
        return factors
    df = x.df
    flags = {c: m.group(1).upper() for c in df.columns if (m := _FLAG_RE.match(norm_name(c)))}
    if not flags:
        return None
    joined = pd.Series("", index=df.index, dtype=object)
    for col, code in flags.items():
        truthy = clean_text(df[col]).str.lower().isin(_TRUE).to_numpy()
        joined = joined + np.where(truthy, code + ",", "")
    return clean_text(pd.Series(joined, index=df.index).str.rstrip(","))


def _factors(x: Extract, factors: pd.Series, mapping: Mapping[str, str]) -> Classified:
    """One unit per factor entry, dated at the assessment start and recorded at its end."""
    a_end = x.read_dates(x.df[x.column("assessment_end", required=True)])
    s_col = x.column("assessment_start")
    if s_col is not None:
        a_start = x.read_dates(x.df[s_col])
    else:
        never = pd.Series(False, index=x.df.index)
        a_start = Dated(pd.Series(pd.NaT, index=x.df.index, dtype="datetime64[ns]"), never, never)
    a_date = a_start.dates.fillna(a_end.dates)
    entries = factors.str.upper().str.split(r"[\s,;|]+", regex=True).explode()
    rows = entries.index.to_numpy()
    code = clean_text(entries.astype("string")).reset_index(drop=True)
    event = code.map(mapping).astype(object)
    case = x.case.loc[rows].reset_index(drop=True)
    date = a_date.loc[rows].reset_index(drop=True)
    recorded = a_end.dates.loc[rows].reset_index(drop=True)
    bad = (a_end.bad | a_start.bad).loc[rows].to_numpy() | (date > recorded).fillna(False)
    return Classified(
        "assessment_factor",
        event,
        before_dates=[
            (code.isna(), "no_value"),
            (~code.str.fullmatch(_CODE_RE).fillna(False).astype(bool), "unknown_code"),
            (event.isna(), "code_not_mapped"),
        ],
        code=code,
        case=case,
        dated=Dated(date, pd.Series(a_end.blank.loc[rows].to_numpy(), index=code.index), bad),
        recorded=recorded,
        covered=recorded,
        duplicates=pd.DataFrame({"c": case, "e": event, "d": date}),
    )


#: Children in need census: one row per episode of need.
SPEC = SourceSpec(
    "cin_census",
    ("social_care",),
    columns=(
        case_column("case_id LAchildID child_id PupilMatchingRefAnonymous"),
        *_DATE_FIELDS,
        Column("assessment_start", _names("AssessmentActualStartDate AssessmentStartDate")),
        Column(
            "assessment_end",
            _names("AssessmentAuthorisationDate AssessmentEndDate AssessmentCompletionDate"),
            "assessment end (authorisation) date, needed to date assessment factors",
        ),
        Column("factors", _names("AssessmentFactors FactorsIdentifiedAtAssessment Factors")),
    ),
    classify=_episodes,
)


def read_cin_census(
    extract: pd.DataFrame,
    *,
    factor_events: Mapping[str, str] | None = None,
    case_id_column: str | None = None,
    start: object = None,
    end: object = None,
    format: str | None = None,
    dayfirst: bool | None = None,
) -> AdapterResult:
    """Events from a children in need census extract (one row per episode of need).

    Parameters
    ----------
    extract : pandas.DataFrame
        Episode rows with any of the date fields and factor fields listed in the
        module docstring (at least one of them).
    factor_events : mapping of str to str, optional
        Assessment factor code -> riskscore event; default :data:`CIN_FACTOR_EVENTS`.
        An empty mapping or a blank code is refused.
    case_id_column : str, optional
        Case identifier column when not one of the known names.
    start, end : date-like, optional
        Keep events dated in ``[start, end]``; these also set the coverage period.
    format : str, optional
        ``strptime`` format of text dates; ISO dates still read (not with ``dayfirst``).
    dayfirst : bool, optional
        True reads text dates as ``DD/MM/YYYY``, False as ``MM/DD/YYYY``; ISO dates
        still read. Without ``format`` or ``dayfirst`` only ISO dates read: others are
        counted ``invalid_date``, never guessed (the rule of :func:`riskscore.read_events`).

    Returns
    -------
    AdapterResult
        Events (agency ``social_care``), the report (one ``field`` per census field;
        ``assessment_factor`` counts factor entries, a row without factors as one
        ``no_value`` entry) and coverage.

    Examples
    --------
    >>> import pandas as pd
    >>> cin = pd.DataFrame({"case_id": ["c1"], "ReferralStartDate": ["2101-01-10"],
    ...                     "AssessmentActualStartDate": ["2101-01-12"],
    ...                     "AssessmentAuthorisationDate": ["2101-02-20"],
    ...                     "AssessmentFactors": ["2B, 3B, 4B"]})
    >>> read_cin_census(cin).events["event"].tolist()
    ['social_care_referral', 'domestic_abuse_incident', 'parent_substance_use']
    """
    factor_events = code_map(
        factor_events, "factor_events", "read_cin_census", "{'2B': 'parent_substance_use'}"
    )
    return read_source(SPEC, **locals())
