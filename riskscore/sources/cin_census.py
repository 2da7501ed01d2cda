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
from riskscore.sources._report import (
    AdapterResult,
    bound,
    classify,
    clean_text,
    coverage_rows,
    find_column,
    finish_events,
    make_events,
    mark_duplicates,
    norm_name,
    outside,
    parse_dates,
    report_table,
)

__all__ = ["read_cin_census", "CIN_FACTOR_EVENTS"]

SOURCE = "cin_census"
#: Assessment factor code -> riskscore event (see the module docstring).
CIN_FACTOR_EVENTS: Mapping[str, str] = {
    "1B": "parent_substance_use",
    "2B": "parent_substance_use",
    "3A": "domestic_abuse_incident",
    "3B": "domestic_abuse_incident",
    "3C": "domestic_abuse_incident",
}

_CASE_ID = ("case_id", "LAchildID", "child_id", "PupilMatchingRefAnonymous")


def _names(*names: str) -> tuple[str, ...]:
    return names + tuple("CIN_" + n for n in names)


#: event -> accepted column names, in the order they are mapped
_DATE_FIELDS: dict[str, tuple[str, ...]] = {
    "social_care_referral": _names("ReferralStartDate", "ReferralDate"),
    "strategy_meeting": _names("StrategyDiscussionDate", "S47ActualStartDate", "S47StartDate"),
    "cp_conference": _names("DateOfInitialCPC", "ICPCDate", "InitialCPCDate"),
    "cin_plan_start": _names("CINPlanStartDate"),
    "cin_plan_end": _names("CINPlanEndDate"),
    "cp_plan_start": _names("CPPstartDate", "CPPlanStartDate"),
    "cp_plan_end": _names("CPPendDate", "CPPlanEndDate"),
}
_ASSESS_START = _names("AssessmentActualStartDate", "AssessmentStartDate")
_ASSESS_END = _names("AssessmentAuthorisationDate", "AssessmentEndDate", "AssessmentCompletionDate")
_FACTORS = _names("AssessmentFactors", "FactorsIdentifiedAtAssessment", "Factors")
_FLAG_RE = re.compile(r"^(?:cin)?(?:assessment)?factor[a-z]*?(\d{1,2}[a-z])$")
_CODE_RE = r"^[0-9]{1,2}[A-Z]?$"
_TRUE = {"yes", "y", "1", "true", "t"}


def _factor_strings(df: pd.DataFrame) -> pd.Series | None:
    col = find_column(df, _FACTORS, what="", source=SOURCE, param="-", required=False)
    if col is not None:
        return clean_text(df[col])
    flags = {c: m.group(1).upper() for c in df.columns if (m := _FLAG_RE.match(norm_name(c)))}
    if not flags:
        return None
    joined = pd.Series("", index=df.index, dtype=object)
    for col, code in flags.items():
        truthy = clean_text(df[col]).str.lower().isin(_TRUE).to_numpy()
        joined = joined + np.where(truthy, code + ",", "")
    return clean_text(pd.Series(joined, index=df.index).str.rstrip(","))


def read_cin_census(
    extract: pd.DataFrame,
    *,
    factor_events: Mapping[str, str] | None = None,
    case_id_column: str | None = None,
    start: object = None,
    end: object = None,
    date_format: str | None = None,
    dayfirst: bool = False,
) -> AdapterResult:
    """Events from a children in need census extract (one row per episode of need).

    Parameters
    ----------
    extract : pandas.DataFrame
        Episode rows with any of the date fields and factor fields listed in the
        module docstring (at least one of them).
    factor_events : mapping of str to str, optional
        Assessment factor code -> riskscore event; default :data:`CIN_FACTOR_EVENTS`.
    case_id_column : str, optional
        Case identifier column when not one of the known names.
    start, end : date-like, optional
        Keep events dated in ``[start, end]``; these also set the coverage period.
    date_format : str, optional
        ``strptime`` format of text dates; ISO dates are read without it.
    dayfirst : bool, default=False
        Read text dates as ``DD/MM/YYYY``.

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
    df = extract.reset_index(drop=True)
    case_col = find_column(
        df,
        _CASE_ID,
        what="case identifier",
        source=SOURCE,
        param="case_id_column",
        given=case_id_column,
    )
    mapping = {
        str(k).strip().upper(): v
        for k, v in (CIN_FACTOR_EVENTS if factor_events is None else factor_events).items()
    }
    from riskscore.vocabulary import EVENTS

    unknown_events = sorted({v for v in mapping.values() if v not in EVENTS})
    if unknown_events:
        raise SchemaError(
            f"{SOURCE}: factor_events maps to unknown event code(s) {unknown_events}; use codes from riskscore.EVENTS."
        )
    lo, hi = bound(start, "start"), bound(end, "end")
    case = clean_text(df[case_col])
    frames: list[pd.DataFrame] = []
    reports: list[pd.DataFrame] = []
    all_dates: list[pd.Series] = []

    for event, names in _DATE_FIELDS.items():
        col = find_column(df, names, what="", source=SOURCE, param="-", required=False)
        if col is None:
            continue
        dates, blank, bad = parse_dates(df[col], date_format=date_format, dayfirst=dayfirst)
        all_dates.append(dates[case.notna()])
        reason = classify(
            len(df),
            df.index,
            [
                (case.isna(), "missing_case_id"),
                (blank, "no_value"),
                (bad, "invalid_date"),
                (outside(dates, lo, hi), "outside_date_range"),
            ],
        )
        reason = mark_duplicates(reason, pd.DataFrame({"c": case, "d": dates}))
        mapped = reason == "mapped"
        frames.append(make_events(case[mapped], dates[mapped], "social_care", event))
        reports.append(report_table(SOURCE, str(col), reason))

    factors = _factor_strings(df)
    if factors is not None:
        s_col = find_column(df, _ASSESS_START, what="", source=SOURCE, param="-", required=False)
        e_col = find_column(
            df,
            _ASSESS_END,
            what="assessment end (authorisation) date, needed to date assessment factors",
            source=SOURCE,
            param="-",
        )
        a_end, end_blank, end_bad = parse_dates(
            df[e_col], date_format=date_format, dayfirst=dayfirst
        )
        if s_col is not None:
            a_start, _, start_bad = parse_dates(
                df[s_col], date_format=date_format, dayfirst=dayfirst
            )
        else:
            a_start, start_bad = (
                pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]"),
                pd.Series(False, index=df.index),
            )
        a_date = a_start.fillna(a_end)
        all_dates.append(a_end[case.notna()])
        entries = factors.str.upper().str.split(r"[\s,;|]+", regex=True).explode()
        entries = clean_text(entries.astype("string"))
        rows = entries.index.to_numpy()
        e_case = case.loc[rows].reset_index(drop=True)
        code = entries.reset_index(drop=True)
        ev = code.map(mapping).astype(object)
        e_date = a_date.loc[rows].reset_index(drop=True)
        e_rec = a_end.loc[rows].reset_index(drop=True)
        bad_order = (e_date > e_rec).fillna(False)
        idx = code.index
        reason = classify(
            len(code),
            idx,
            [
                (e_case.isna(), "missing_case_id"),
                (code.isna(), "no_value"),
                (~code.str.fullmatch(_CODE_RE).fillna(False).astype(bool), "unknown_code"),
                (ev.isna(), "code_not_mapped"),
                (end_blank.loc[rows].to_numpy(), "missing_date"),
                (
                    end_bad.loc[rows].to_numpy()
                    | start_bad.loc[rows].to_numpy()
                    | bad_order.to_numpy(),
                    "invalid_date",
                ),
                (outside(e_date, lo, hi), "outside_date_range"),
            ],
        )
        reason = mark_duplicates(reason, pd.DataFrame({"c": e_case, "e": ev, "d": e_date}))
        mapped = reason == "mapped"
        frames.append(
            make_events(
                e_case[mapped],
                e_date[mapped],
                "social_care",
                ev[mapped],
                recorded_date=e_rec[mapped],
            )
        )
        reports.append(report_table(SOURCE, "assessment_factor", reason, code))

    if not reports:
        raise SchemaError(
            f"{SOURCE}: none of the census fields were found (referral, strategy discussion/s47, initial "
            f"conference, CIN plan, child protection plan dates, assessment factors). Columns present: "
            f"{', '.join(map(str, list(df.columns)[:15]))}. Rename the columns to the census names."
        )
    report = pd.concat(reports, ignore_index=True)
    readable = pd.concat(all_dates) if all_dates else pd.Series(dtype="datetime64[ns]")
    readable = readable[readable.notna() & ~outside(readable, lo, hi)]
    coverage = coverage_rows(["social_care"], readable, lo, hi, SOURCE)
    return AdapterResult(finish_events(frames), report, coverage)
