"""Source adapters: synthetic extracts in each source's layout (never real records)."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil

import numpy as np
import pandas as pd
import pytest
from dateutil.easter import easter
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore.sources as sources
from riskscore import SchemaError
from riskscore.errors import ParameterError
from riskscore.schema import validate_events
from riskscore.sources import (
    apply_mapping,
    normalise_icd10,
    read_cin_census,
    read_emergency_care,
    read_hospital_apc,
    read_mapping,
    read_prescriptions,
    read_school_census,
    term_end_date,
)

KEY = ["case_id", "date", "agency", "event"]


def _events(rng, n, event, agency, *, cases=6):
    """Synthetic events on the invented 2101-2110 calendar, one per (case, date)."""
    days = rng.choice(np.arange(0, 3000), size=n, replace=False)
    return pd.DataFrame(
        {
            "case_id": [f"s{int(i)}" for i in rng.integers(0, cases, n)],
            "date": pd.Timestamp("2101-01-01") + pd.to_timedelta(days, unit="D"),
            "agency": agency,
            "event": event,
        }
    )


def _same(got: pd.DataFrame, expected: pd.DataFrame, cols=KEY) -> None:
    a = got[cols].astype(str).sort_values(cols).reset_index(drop=True)
    b = expected[cols].astype(str).sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def _valid(events: pd.DataFrame) -> None:
    report = validate_events(events)
    assert report.ok, str(report)
    assert len(report.valid) == len(events)


def _counts(report: pd.DataFrame, field: str | None = None) -> dict[str, int]:
    rep = report if field is None else report[report["field"] == field]
    return rep.groupby("reason")["rows"].sum().to_dict()


# --- hospital admitted care -----------------------------------------------------------------


def _apc_layout(events: pd.DataFrame, rng, *, noise: int = 5) -> tuple[pd.DataFrame, int]:
    """One spell per event with 1-3 episodes; asthma code in a random position."""
    rows, extra = [], 0
    spellings = ["J45.9", "J459", "J45X", "j45.0-", "J46X", "J450", "J45.8"]
    for i, ev in enumerate(events.itertuples()):
        n_epi = int(rng.integers(1, 4))
        extra += n_epi - 1
        for k in range(n_epi):
            diag = ["S52.5", "R06.2", "", "Z76.8"]
            diag[int(rng.integers(0, 4))] = spellings[int(rng.integers(0, len(spellings)))]
            rows.append(
                {
                    "case_id": ev.case_id,
                    "ADMIDATE": ev.date.date().isoformat(),
                    "PROCODE3": f"P{i % 3}",
                    "EPIORDER": k + 1,
                    **{f"DIAG_4_{p + 1:02d}": d for p, d in enumerate(diag)},
                }
            )
    for j in range(noise):
        rows.append(
            {
                "case_id": f"n{j}",
                "ADMIDATE": "2102-03-04",
                "PROCODE3": "P9",
                "EPIORDER": 1,
                "DIAG_4_01": "S52.5",
                "DIAG_4_02": "R05X",
                "DIAG_4_03": "",
                "DIAG_4_04": "",
            }
        )
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=int(rng.integers(0, 1000)))
    return frame, extra


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hospital_round_trip(seed):
    rng = np.random.default_rng(seed)
    ev = _events(rng, 12, "asthma_admission", "hospital")
    extract, extra = _apc_layout(ev, rng)
    res = read_hospital_apc(extract)
    _same(res.events, ev)
    _valid(res.events)
    counts = _counts(res.report)
    assert counts == {"mapped": 12, "duplicate": extra, "code_not_mapped": 5}
    assert res.report["rows"].sum() == len(extract)
    assert res.coverage[["agency"]].values.ravel().tolist() == ["hospital"]


def test_hospital_primary_only_and_positions():
    apc = pd.DataFrame(
        {
            "case_id": ["a", "b"],
            "ADMIDATE": ["2101-02-01", "2101-03-01"],
            "DIAG_4_01": ["J45.9", "S52.5"],
            "DIAG_4_02": ["", "J46X"],
        }
    )
    assert read_hospital_apc(apc).events["case_id"].tolist() == ["a", "b"]
    assert read_hospital_apc(apc, primary_only=True).events["case_id"].tolist() == ["a"]


def test_hospital_name_variants_and_concat():
    lower = pd.DataFrame({"case_id": ["a"], "admidate": ["2101-02-01"], "diag_01": ["J45.0"]})
    assert read_hospital_apc(lower).events["event"].tolist() == ["asthma_admission"]
    concat = pd.DataFrame(
        {
            "case_id": ["a", "b"],
            "ADMIDATE": ["2101-02-01", "2101-02-02"],
            "DIAG_4_CONCAT": ["S525,J459", "R05X"],
        }
    )
    res = read_hospital_apc(concat)
    assert res.events["case_id"].tolist() == ["a"]
    assert read_hospital_apc(concat, primary_only=True).events.empty


def test_hospital_spell_column_counts_spell_once():
    apc = pd.DataFrame(
        {
            "case_id": ["a"] * 3,
            "ADMIDATE": ["2101-02-01"] * 3,
            "SPELL": ["s1", "s1", "s2"],
            "DIAG_4_01": ["J45.9", "J45.9", "J45.9"],
        }
    )
    res = read_hospital_apc(apc)
    # two spells admitted the same day are two admissions, but both dated the same day
    assert len(res.events) == 2
    assert _counts(res.report) == {"mapped": 2, "duplicate": 1}


def test_hospital_reports_unknown_dates_and_range():
    apc = pd.DataFrame(
        {
            "case_id": ["a", "b", "c", "d", "", "f"],
            "ADMIDATE": ["2101-02-01", "01/02/2101", "", "2109-01-01", "2101-02-01", "2101-05-05"],
            "DIAG_4_01": ["J45.9", "J45.9", "J45.9", "J45.9", "J45.9", "??9"],
        }
    )
    res = read_hospital_apc(apc, end="2108-12-31")
    assert _counts(res.report) == {
        "mapped": 1,
        "invalid_date": 1,
        "missing_date": 1,
        "outside_date_range": 1,
        "missing_case_id": 1,
        "unknown_code": 1,
    }
    assert res.report.loc[res.report["reason"] == "unknown_code", "code"].tolist() == ["9"]
    # day-first text only with an explicit dayfirst
    res2 = read_hospital_apc(apc.iloc[[1]], dayfirst=True)
    assert res2.events["date"].dt.date.astype(str).tolist() == ["2101-02-01"]


def test_hospital_emergency_only():
    apc = pd.DataFrame(
        {
            "case_id": ["a", "b"],
            "ADMIDATE": ["2101-02-01", "2101-02-02"],
            "ADMIMETH": ["21", "11"],
            "DIAG_4_01": ["J45.9", "J45.9"],
        }
    )
    res = read_hospital_apc(apc, emergency_only=True)
    assert res.events["case_id"].tolist() == ["a"]
    assert _counts(res.report)["not_emergency"] == 1


def test_hospital_missing_columns_message():
    with pytest.raises(SchemaError, match="admission date.*ADMIDATE"):
        read_hospital_apc(pd.DataFrame({"case_id": ["a"], "DIAG_4_01": ["J45"]}))
    with pytest.raises(SchemaError, match="diagnosis columns"):
        read_hospital_apc(pd.DataFrame({"case_id": ["a"], "ADMIDATE": ["2101-01-01"]}))
    with pytest.raises(SchemaError, match="'pid' given as case_id_column"):
        read_hospital_apc(
            pd.DataFrame({"ADMIDATE": ["2101-01-01"], "DIAG_01": ["J45"]}), case_id_column="pid"
        )


def test_normalise_icd10():
    got = normalise_icd10(pd.Series(["J45.9", "j45x", "J46X-", "X59X", " ", None]))
    assert got.tolist()[:4] == ["J459", "J45", "J46", "X59"]
    assert got.isna().tolist()[4:] == [True, True]


_CODES = st.sampled_from(["J45.9", "J46X", "J450", "S52.5", "R05X", "", "??", "123", "J4"])


@settings(max_examples=30)
@given(
    st.lists(
        st.tuples(_CODES, _CODES, st.sampled_from(["a", "b", ""]), st.integers(0, 3)),
        min_size=1,
        max_size=30,
    )
)
def test_hospital_property_report_adds_up(rows):
    df = pd.DataFrame(
        {
            "DIAG_4_01": [r[0] for r in rows],
            "DIAG_4_02": [r[1] for r in rows],
            "case_id": [r[2] for r in rows],
            "ADMIDATE": [f"2101-01-0{r[3] + 1}" if r[3] else "" for r in rows],
        }
    )
    res = read_hospital_apc(df)
    assert res.report["rows"].sum() == len(df)
    assert (res.report["rows"] > 0).all()
    # unknown codes are reported and never mapped
    unknown = {"??", "123", "J4"}
    rows_with_only_unknown_or_blank = df[
        df["DIAG_4_01"].isin(unknown | {""}) & df["DIAG_4_02"].isin(unknown | {""})
    ]
    mapped_cases = set(res.events["case_id"])
    garbage_cases = set(rows_with_only_unknown_or_blank["case_id"]) - set(
        df.loc[~df.index.isin(rows_with_only_unknown_or_blank.index), "case_id"]
    )
    assert not (garbage_cases & mapped_cases)
    n_unknown = _counts(res.report).get("unknown_code", 0)
    has_unknown = df["DIAG_4_01"].isin(unknown) | df["DIAG_4_02"].isin(unknown)
    assert n_unknown <= int(has_unknown.sum())
    if len(res.events):
        _valid(res.events)


# --- emergency care -------------------------------------------------------------------------


def test_emergency_round_trip_snomed():
    rng = np.random.default_rng(7)
    ev = _events(rng, 10, "asthma_ed_visit", "hospital")
    codes = list(sources.ASTHMA_SNOMED)
    rows = []
    for e in ev.itertuples():
        diag = ["", "", ""]
        diag[int(rng.integers(0, 3))] = codes[int(rng.integers(0, len(codes)))]
        rows.append(
            {
                "case_id": e.case_id,
                "ARRIVAL_DATE": e.date.date().isoformat(),
                "EC_DIAGNOSIS_01": diag[0],
                "EC_DIAGNOSIS_02": diag[1],
                "EC_DIAGNOSIS_03": diag[2],
                "EC_DISCHARGE_DESTINATION_SNOMED_CT": "306689006",
            }
        )
    # admitted asthma attendances, non-asthma attendances and an unknown code
    rows += [
        {
            "case_id": "x",
            "ARRIVAL_DATE": "2102-01-01",
            "EC_DIAGNOSIS_01": "195967001",
            "EC_DISCHARGE_DESTINATION_SNOMED_CT": "306706006",
        },
        {
            "case_id": "x",
            "ARRIVAL_DATE": "2102-01-02",
            "EC_DIAGNOSIS_01": "195967001",
            "EC_DISCHARGE_DESTINATION_SNOMED_CT": "1066391000000105",
        },
        {
            "case_id": "y",
            "ARRIVAL_DATE": "2102-01-03",
            "EC_DIAGNOSIS_01": "125605004",
            "EC_DISCHARGE_DESTINATION_SNOMED_CT": "306689006",
        },
        {
            "case_id": "z",
            "ARRIVAL_DATE": "2102-01-04",
            "EC_DIAGNOSIS_01": "asthma",
            "EC_DISCHARGE_DESTINATION_SNOMED_CT": "306689006",
        },
        {
            "case_id": "w",
            "ARRIVAL_DATE": "2102-01-05",
            "EC_DIAGNOSIS_01": "195967001",
            "EC_DISCHARGE_DESTINATION_SNOMED_CT": "",
        },
    ]
    extract = pd.DataFrame(rows).fillna("")
    res = read_emergency_care(extract)
    _same(res.events, ev)
    _valid(res.events)
    assert _counts(res.report) == {
        "mapped": 10,
        "admitted": 2,
        "code_not_mapped": 1,
        "unknown_code": 1,
        "missing_disposal": 1,
    }
    assert res.report["rows"].sum() == len(extract)


def test_emergency_hes_ae_and_user_codes():
    ae = pd.DataFrame(
        {
            "case_id": ["a", "b", "c"],
            "ARRIVALDATE": ["2101-02-01"] * 3,
            "DIAG_01": ["251", "251A", "252"],
            "AEATTENDDISP": ["03", "1", "02"],
        }
    )
    res = read_emergency_care(ae)
    assert res.events["case_id"].tolist() == ["a"]
    assert _counts(res.report) == {"mapped": 1, "admitted": 1, "code_not_mapped": 1}
    mine = read_emergency_care(ae, asthma_codes=["25"])
    assert mine.events["case_id"].tolist() == ["a", "c"]
    ecds = pd.DataFrame(
        {
            "case_id": ["a"],
            "ARRIVAL_DATE": ["2101-02-01"],
            "Der_EC_Diagnosis_All": ["22298006,999999999"],
            "EC_DISCHARGE_DESTINATION": ["306689006"],
        }
    )
    assert read_emergency_care(ecds).events.empty
    assert len(read_emergency_care(ecds, asthma_codes={"999999999"}).events) == 1


def test_emergency_needs_disposal():
    with pytest.raises(SchemaError, match="discharge destination"):
        read_emergency_care(
            pd.DataFrame(
                {"case_id": ["a"], "ARRIVAL_DATE": ["2101-01-01"], "EC_DIAGNOSIS_01": ["195967001"]}
            )
        )


# --- school census --------------------------------------------------------------------------


@pytest.mark.parametrize("year", range(2101, 2111))
def test_default_term_ends(year):
    label = f"{year}/{(year + 1) % 100:02d}"
    assert term_end_date(label, "Autumn") == pd.Timestamp(year, 12, 31)
    assert term_end_date(label, "SPR") == pd.Timestamp(easter(year + 1))
    assert term_end_date(year, "summer") == pd.Timestamp(year + 1, 7, 31)
    assert term_end_date(year, "Autumn1") == pd.Timestamp(year, 10, 31)
    assert term_end_date(year, "SPR1") == pd.Timestamp(year + 1, 3, 1) - pd.Timedelta(days=1)
    assert term_end_date(year, "Summer 1") == pd.Timestamp(year + 1, 5, 31)


def test_school_round_trip():
    rng = np.random.default_rng(11)
    rows, expected = [], []
    spell = {
        "autumn": ["Autumn", "AUT", "aut"],
        "spring": ["Spring", "SPR"],
        "summer": ["Summer", "SUM"],
    }
    seen = set()
    for _ in range(20):
        case = f"s{int(rng.integers(0, 5))}"
        year = int(rng.integers(2101, 2109))
        term = ["autumn", "spring", "summer"][int(rng.integers(0, 3))]
        if (case, year, term) in seen:
            continue
        seen.add((case, year, term))
        possible = int(rng.integers(100, 150))
        missed = int(rng.integers(0, possible + 1))
        label = spell[term][int(rng.integers(0, len(spell[term])))]
        rows.append(
            {
                "PupilMatchingRefAnonymous": case,
                "AcademicYear": f"{year}/{(year + 1) % 100:02d}",
                "Term": label,
                "SessionsPossible": possible,
                "OverallAbsence": missed,
            }
        )
        end = {
            "autumn": pd.Timestamp(year, 12, 31),
            "spring": pd.Timestamp(easter(year + 1)),
            "summer": pd.Timestamp(year + 1, 7, 31),
        }[term]
        expected.append(
            {
                "case_id": case,
                "date": end,
                "agency": "school",
                "event": "attendance",
                "value": 1 - missed / possible,
            }
        )
    res = read_school_census(pd.DataFrame(rows))
    exp = pd.DataFrame(expected)
    _same(res.events, exp)
    merged = res.events.merge(exp, on=["case_id", "date"])
    np.testing.assert_allclose(merged["value_x"], merged["value_y"])
    _valid(res.events)
    assert res.report["rows"].sum() == len(rows)


def test_school_problems_are_counted():
    npd = pd.DataFrame(
        {
            "case_id": ["a", "a", "b", "c", "d", "e"],
            "ACADYR": ["2101/02", "2101/02", "2101/02", "2101/02", "", "2101/02"],
            "TermType": ["AUT", "AUT", "Winter", "SPR", "SUM", "SUM"],
            "ABS_SessionsPossible": [60, 80, 140, 100, 140, 0],
            "ABS_AuthorisedAbsence": [5, 3, 1, 90, 1, 0],
            "ABS_UnauthorisedAbsence": [1, 1, 0, 20, 0, 0],
        }
    )
    res = read_school_census(npd)
    # dual registration: the two autumn rows of case a add up to one attendance value
    assert res.events[["case_id", "value"]].values.tolist() == [["a", 1 - 10 / 140]]
    assert _counts(res.report) == {
        "mapped": 2,
        "unknown_code": 1,
        "invalid_value": 2,
        "missing_date": 1,
    }
    assert res.report.loc[res.report["reason"] == "unknown_code", "code"].tolist() == ["Winter"]


def test_school_calendar_override_and_period_end():
    npd = pd.DataFrame(
        {
            "case_id": ["a", "a"],
            "AcademicYear": [2101, 2101],
            "Term": ["Autumn", "Spring"],
            "SessionsPossible": [100, 100],
            "OverallAbsence": [10, 20],
        }
    )
    cal = pd.DataFrame({"academic_year": ["2101/02"], "term": ["Autumn"], "end": ["2101-12-19"]})
    res = read_school_census(npd, term_dates=cal)
    assert res.events["date"].dt.date.astype(str).tolist() == [
        "2101-12-19",
        easter(2102).isoformat(),
    ]
    own = npd.assign(PeriodEnd=["20/12/2101", "01/04/2102"])
    res2 = read_school_census(own, period_end_column="PeriodEnd", dayfirst=True)
    assert res2.events["date"].dt.date.astype(str).tolist() == ["2101-12-20", "2102-04-01"]
    with pytest.raises(SchemaError, match="term_dates lacks"):
        read_school_census(npd, term_dates=cal.drop(columns="end"))


def test_school_coverage_spans_terms():
    npd = pd.DataFrame(
        {
            "case_id": ["a", "b"],
            "AcademicYear": ["2101/02", "2102/03"],
            "Term": ["Autumn", "Summer"],
            "SessionsPossible": [100, 100],
            "OverallAbsence": [0, 0],
        }
    )
    cov = read_school_census(npd).coverage
    assert cov[["agency", "from", "to"]].astype(str).values.tolist() == [
        ["school", "2101-08-01", "2103-07-31"]
    ]


# --- children in need census ------------------------------------------------------------------


def test_cin_round_trip_responses():
    rng = np.random.default_rng(5)
    response = [
        "social_care_referral",
        "strategy_meeting",
        "cp_conference",
        "cin_plan_start",
        "cin_plan_end",
        "cp_plan_start",
        "cp_plan_end",
    ]
    columns = [
        "ReferralStartDate",
        "S47ActualStartDate",
        "DateOfInitialCPC",
        "CINPlanStartDate",
        "CINPlanEndDate",
        "CPPstartDate",
        "CPPendDate",
    ]
    rows, expected = [], []
    for i in range(8):
        case = f"s{i}"
        row = {"LAchildID": case}
        for ev, col in zip(response, columns, strict=True):
            if rng.random() < 0.6:
                d = pd.Timestamp("2103-01-01") + pd.Timedelta(days=int(rng.integers(0, 900)))
                row[col] = d.date().isoformat()
                expected.append({"case_id": case, "date": d, "agency": "social_care", "event": ev})
            else:
                row[col] = ""
        rows.append(row)
    extract = pd.DataFrame(rows)
    # the same episode returned again in the next census year
    extract = pd.concat([extract, extract.iloc[:3]], ignore_index=True)
    res = read_cin_census(extract)
    _same(res.events, pd.DataFrame(expected))
    _valid(res.events)
    for col in columns:
        assert res.report.loc[res.report["field"] == col, "rows"].sum() == len(extract)
    assert res.report.loc[res.report["reason"] == "duplicate", "rows"].sum() == sum(
        1 for r in rows[:3] for c in columns if r[c]
    )


def test_cin_factors():
    cin = pd.DataFrame(
        {
            "case_id": ["a", "b", "c", "d"],
            "AssessmentActualStartDate": ["2103-01-10", "2103-02-01", "", "2103-03-01"],
            "AssessmentAuthorisationDate": ["2103-02-20", "", "2103-04-02", "2103-03-20"],
            "AssessmentFactors": ["2B, 3B, 4B", "2B", "1B;ZZZ", ""],
        }
    )
    res = read_cin_census(cin)
    got = res.events.assign(
        date=res.events["date"].dt.date.astype(str),
        recorded_date=res.events["recorded_date"].dt.date.astype(str),
    )
    assert got[["case_id", "event", "date", "recorded_date", "agency"]].values.tolist() == [
        ["a", "domestic_abuse_incident", "2103-01-10", "2103-02-20", "social_care"],
        ["a", "parent_substance_use", "2103-01-10", "2103-02-20", "social_care"],
        ["c", "parent_substance_use", "2103-04-02", "2103-04-02", "social_care"],
    ]
    _valid(res.events)
    factors = _counts(res.report, "assessment_factor")
    assert factors == {
        "mapped": 3,
        "code_not_mapped": 1,
        "missing_date": 1,
        "unknown_code": 1,
        "no_value": 1,
    }
    # entries: 3 + 1 + 2 + one row without factors
    assert sum(factors.values()) == 7
    assert res.report.loc[res.report["reason"] == "unknown_code", "code"].tolist() == ["ZZZ"]


def test_cin_flag_columns_and_custom_map():
    cin = pd.DataFrame(
        {
            "case_id": ["a"],
            "AssessmentAuthorisationDate": ["2103-02-20"],
            "Factors identified at the end of assessment 2B": ["Yes"],
            "Factors identified at the end of assessment 2C": ["No"],
            "Factors identified at the end of assessment 4B": ["Yes"],
        }
    )
    assert read_cin_census(cin).events["event"].tolist() == ["parent_substance_use"]
    res = read_cin_census(cin, factor_events={"4B": "child_voice_concern"})
    assert res.events["event"].tolist() == ["child_voice_concern"]
    with pytest.raises(SchemaError, match="unknown event"):
        read_cin_census(cin, factor_events={"4B": "parental_mental_health"})
    with pytest.raises(SchemaError, match="none of the census fields"):
        read_cin_census(pd.DataFrame({"case_id": ["a"], "x": [1]}))


# --- prescriptions --------------------------------------------------------------------------


def test_prescriptions_round_trip():
    rng = np.random.default_rng(3)
    rel = _events(rng, 15, "reliever_prescription", "gp")
    pre = _events(rng, 8, "preventer_prescription", "gp")
    ev = pd.concat([rel, pre], ignore_index=True)
    rel_codes = ["0301011R0AAAPAP", "0301011V0BBADAA", "0301011R0BMAAAP"]
    pre_codes = ["0302000C0BQAAAA", "0302000K0AAAFAF", "0302000N0BBAEAE", "0302000U0AAAAAA"]
    code = [
        rel_codes[int(rng.integers(0, 3))]
        if e == "reliever_prescription"
        else pre_codes[int(rng.integers(0, 4))]
        for e in ev["event"]
    ]
    rx = pd.DataFrame(
        {"patid": ev["case_id"], "IssueDate": ev["date"].dt.strftime("%Y-%m-%d"), "BNFCode": code}
    )
    noise = pd.DataFrame(
        {
            "patid": ["x", "x", "x"],
            "IssueDate": ["2102-01-01"] * 3,
            "BNFCode": ["0301011U0AAABAB", "0407010H0AAAMAM", "not-a-code"],
        }
    )
    extract = pd.concat([rx, noise], ignore_index=True)
    res = read_prescriptions(extract)
    _same(res.events, ev)
    _valid(res.events)
    # salmeterol (a long-acting beta2 agonist) is not a reliever
    assert _counts(res.report) == {"mapped": 23, "code_not_mapped": 2, "unknown_code": 1}


def test_prescriptions_custom_codes():
    rx = pd.DataFrame({"case_id": ["a"], "date": ["2101-01-01"], "bnf_code": ["0303020G0AAAAAA"]})
    assert read_prescriptions(rx).events.empty
    res = read_prescriptions(rx, codes={"0303020G0": "preventer_prescription"})
    assert res.events["event"].tolist() == ["preventer_prescription"]
    with pytest.raises(SchemaError, match="only reliever_prescription"):
        read_prescriptions(rx, codes={"0303020G0": "asthma_admission"})


_BNF = st.sampled_from(
    ["0301011R0AAAPAP", "0302000C0BQAAAA", "0407010H0AAAMAM", "XYZ", "", "03010", "0301011U0AA"]
)


@given(
    st.lists(
        st.tuples(
            _BNF, st.sampled_from(["a", "b", ""]), st.sampled_from(["2101-01-01", "", "bad"])
        ),
        max_size=25,
    )
)
def test_prescriptions_property(rows):
    rx = pd.DataFrame(rows, columns=["bnf_code", "case_id", "issue_date"])
    res = read_prescriptions(rx)
    assert res.report["rows"].sum() == len(rx)
    assert len(res.events) == _counts(res.report).get("mapped", 0)
    unknown = (
        rx["bnf_code"].isin(["XYZ", "03010"])
        & (rx["case_id"] != "")
        & (rx["issue_date"] == "2101-01-01")
    )
    assert _counts(res.report).get("unknown_code", 0) == int(unknown.sum())
    assert set(res.report.loc[res.report["reason"] == "unknown_code", "code"]) <= {"XYZ", "03010"}


# --- generic mapping ------------------------------------------------------------------------

TABLE = [
    {
        "source_column": "incident",
        "source_value": "DOMESTIC",
        "event": "domestic_abuse_incident",
        "agency": "police",
    },
    {
        "source_column": "incident",
        "source_value": "DOMESTIC",
        "event": "police_incident_home",
        "agency": "police",
    },
    {
        "source_column": "incident",
        "source_value": "CONCERN",
        "event": "police_incident_home",
        "agency": "police",
    },
    {"source_column": "incident", "source_value": "NOISE", "event": "ignore", "agency": "police"},
    {
        "source_column": "custody",
        "source_value": "*",
        "event": "paternal_involvement_lost",
        "agency": "police",
    },
]


def test_mapping_files_and_apply(tmp_path):
    csv = tmp_path / "map.csv"
    pd.DataFrame(TABLE).assign(note="synthetic").to_csv(csv, index=False)
    js = tmp_path / "map.json"
    js.write_text(json.dumps({"mappings": TABLE}), encoding="utf-8")
    police = pd.DataFrame(
        {
            "ref": ["s1", "s1", "s2", "s3", "s4", "s5"],
            "when": [
                "2104-01-02",
                "2104-02-03",
                "2104-03-04",
                "2104-04-05",
                "2104-05-06",
                "2104-06-07",
            ],
            "incident": [" domestic ", "concern", "NOISE", "BURGLARY", "", ""],
            "custody": ["", "", "", "", "", "father remanded"],
        }
    )
    for source in (csv, js, TABLE):
        res = apply_mapping(
            police, source, case_id_column="ref", date_column="when", source="police"
        )
        assert res.events[["case_id", "event"]].values.tolist() == [
            ["s1", "domestic_abuse_incident"],
            ["s1", "police_incident_home"],
            ["s1", "police_incident_home"],
            ["s5", "paternal_involvement_lost"],
        ]
        _valid(res.events)
        assert _counts(res.report) == {
            "mapped": 3,
            "code_not_mapped": 1,
            "unknown_code": 1,
            "no_value": 1,
        }
        assert res.report.loc[res.report["reason"] == "unknown_code", "code"].tolist() == [
            "incident=BURGLARY"
        ]
        assert res.coverage["agency"].tolist() == ["police"]


def test_mapping_validation_lists_every_problem():
    bad = [
        {
            "source_column": "incident",
            "source_value": "A",
            "event": "domestic_abuse",
            "agency": "police",
        },
        {
            "source_column": "incident",
            "source_value": "B",
            "event": "police_incident_home",
            "agency": "cops",
        },
        {
            "source_column": "incident",
            "source_value": "c",
            "event": "police_incident_home",
            "agency": "police",
        },
        {
            "source_column": "incident",
            "source_value": "C ",
            "event": "police_incident_home",
            "agency": "police",
        },
        {
            "source_column": "",
            "source_value": "D",
            "event": "police_incident_home",
            "agency": "police",
        },
    ]
    with pytest.raises(SchemaError) as info:
        read_mapping(bad)
    problems = info.value.report
    assert sorted(problems["row"].tolist()) == [0, 1, 2, 3, 4]
    msg = str(info.value)
    assert "row 0, event='domestic_abuse': unknown event code" in msg
    assert "row 1, agency='cops': unknown agency code" in msg
    assert "listed twice" in msg and "blank cell" in msg
    with pytest.raises(SchemaError, match=r"column\(s\) \['agency'\] missing"):
        read_mapping([{"source_column": "a", "source_value": "b", "event": "housing_poor"}])


def test_mapping_extract_errors(tmp_path):
    extract = pd.DataFrame({"case_id": ["a"], "date": ["2104-01-01"], "kind": ["x"]})
    with pytest.raises(SchemaError, match=r"\['incident'\] that the extract lacks"):
        apply_mapping(extract, TABLE[:1])
    with pytest.raises(SchemaError, match="not found"):
        read_mapping(tmp_path / "absent.csv")
    bad_json = tmp_path / "m.json"
    bad_json.write_text("{not json", encoding="utf-8")
    with pytest.raises(SchemaError, match="not valid JSON"):
        read_mapping(bad_json)


@settings(max_examples=30)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["DOMESTIC", "CONCERN", "NOISE", "OTHER", "", "zz"]),
            st.sampled_from(["", "x"]),
            st.sampled_from(["a", ""]),
        ),
        max_size=25,
    )
)
def test_mapping_property(rows):
    extract = pd.DataFrame(rows, columns=["incident", "custody", "case_id"]).assign(
        date="2104-01-01"
    )
    res = apply_mapping(extract, TABLE)
    assert res.report["rows"].sum() == len(extract)
    counted = _counts(res.report)
    expected_unknown = int(
        (
            (extract["incident"].isin(["OTHER", "zz"]))
            & (extract["custody"] == "")
            & (extract["case_id"] != "")
        ).sum()
    )
    assert counted.get("unknown_code", 0) == expected_unknown
    assert not res.events["event"].isin(["ignore"]).any()


def test_exported_names_exist():
    for name in sources.__all__:
        assert hasattr(sources, name), name


# --- declarative specs and the one reader -----------------------------------------------------

DAY_FIRST = "01/02/2101"  # 1 February 2101, written day first

# adapter module -> calls of its adapter(s) on one synthetic row: (adapter, row, keywords);
# a new adapter module must be listed here (test_every_adapter_module_...).
ONE_ROW = {
    "hospital": [
        (read_hospital_apc, {"case_id": ["a"], "ADMIDATE": [DAY_FIRST], "DIAG_4_01": ["J45"]}, {})
    ],
    "emergency": [
        (
            read_emergency_care,
            {
                "case_id": ["a"],
                "ARRIVAL_DATE": [DAY_FIRST],
                "EC_DIAGNOSIS_01": ["195967001"],
                "EC_DISCHARGE_DESTINATION_SNOMED_CT": ["306689006"],
            },
            {},
        ),
        (
            read_emergency_care,
            {
                "case_id": ["a"],
                "ARRIVALDATE": [DAY_FIRST],
                "DIAG_01": ["251"],
                "AEATTENDDISP": ["3"],
            },
            {},
        ),
    ],
    "school_census": [
        (
            read_school_census,
            {
                "case_id": ["a"],
                "SessionsPossible": [100],
                "OverallAbsence": [5],
                "End": [DAY_FIRST],
            },
            {"period_end_column": "End"},
        )
    ],
    "cin_census": [(read_cin_census, {"case_id": ["a"], "ReferralStartDate": [DAY_FIRST]}, {})],
    "prescriptions": [
        (
            read_prescriptions,
            {"case_id": ["a"], "issue_date": [DAY_FIRST], "bnf_code": ["0301011R0AAAPAP"]},
            {},
        )
    ],
    "mapping": [
        (
            apply_mapping,
            {"case_id": ["a"], "date": [DAY_FIRST], "incident": ["DOMESTIC"]},
            {"mapping": TABLE[:1]},
        )
    ],
}


def _adapter_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(sources.__path__) if m.name[0] != "_")


def _specs_of(module) -> list[sources.SourceSpec]:
    return [v for v in vars(module).values() if isinstance(v, sources.SourceSpec)]


def test_every_adapter_module_is_described_by_specs_in_the_registry():
    assert _adapter_modules() == sorted(ONE_ROW), "list the new adapter module in ONE_ROW"
    registered = {id(s) for s in sources.SPECS}
    assert len(registered) == len(sources.SPECS)
    in_modules = set()
    for name in _adapter_modules():
        specs = _specs_of(importlib.import_module(f"riskscore.sources.{name}"))
        assert specs, f"riskscore.sources.{name} has no SourceSpec"
        in_modules |= {id(s) for s in specs}
    assert in_modules == registered, "every module's specs, and only those, are in SPECS"


@pytest.mark.parametrize("name", sorted(ONE_ROW))
def test_every_adapter_runs_its_specs_through_the_one_reader(name, monkeypatch):
    module = importlib.import_module(f"riskscore.sources.{name}")
    reader = importlib.import_module("riskscore.sources._spec")
    ran, parsed = [], []
    real_read, real_parse = module.read_source, reader.parse_dates

    def read_spy(spec, **kwargs):
        ran.append(spec)
        return real_read(spec, **kwargs)

    def parse_spy(values, **kwargs):
        parsed.append(len(values))
        return real_parse(values, **kwargs)

    monkeypatch.setattr(module, "read_source", read_spy)
    monkeypatch.setattr(reader, "parse_dates", parse_spy)
    for adapter, row, kwargs in ONE_ROW[name]:
        res = adapter(pd.DataFrame(row), **kwargs, format="%d/%m/%Y")
        assert res.events["date"].dt.date.astype(str).tolist() == ["2101-02-01"]
        assert res.report["rows"].sum() == 1
    # every spec of the module ran (apply_mapping names its source: a copy of the spec)
    assert {s.classify for s in ran} == {s.classify for s in _specs_of(module)}
    assert parsed, "the dates are read by the reader's one parser"


@pytest.mark.parametrize("name", sorted(ONE_ROW))
def test_adapters_take_format_as_read_events_does(name):
    assert {"format", "dayfirst"} <= set(inspect.signature(validate_events).parameters)
    for adapter, row, kwargs in ONE_ROW[name]:
        params = inspect.signature(adapter).parameters
        assert "format" in params and "dayfirst" in params and "date_format" not in params
        with pytest.raises(TypeError, match="date_format"):
            adapter(pd.DataFrame(row), **kwargs, date_format="%d/%m/%Y")
        # never a guess: day-first text is unreadable without format= or dayfirst=
        res = adapter(pd.DataFrame(row), **kwargs)
        assert res.events.empty and _counts(res.report) == {"invalid_date": 1}
        again = adapter(pd.DataFrame(row), **kwargs, dayfirst=True)
        assert again.events["date"].dt.date.astype(str).tolist() == ["2101-02-01"]


@pytest.mark.parametrize(
    "reader",
    ["read_hospital_apc", "read_emergency_care", "read_school_census", "read_cin_census",
     "read_prescriptions"],
)  # fmt: skip
def test_an_extract_that_is_not_a_frame_is_refused_by_name(reader):
    # a list raised AttributeError ('list' object has no attribute 'reset_index')
    with pytest.raises(SchemaError, match=r"must be a pandas DataFrame, got list"):
        getattr(sources, reader)([["p1", "2101-01-05"]])


# --- tester findings: dates pandas cannot hold, unreadable numbers, argument forms -------------


def _npd(year="2101/02", possible=140, missed=21, term="AUT"):
    return pd.DataFrame(
        {
            "case_id": ["c1"],
            "AcademicYear": [year],
            "Term": [term],
            "SessionsPossible": [possible],
            "OverallAbsence": [missed],
        }
    )


@pytest.mark.parametrize(
    "year, term",
    [("9999/00", "AUT"), ("0001", "AUT"), ("1677/78", "AUT"), ("2262/63", "AUT"),
     ("2261/62", "SUM"), ("1000/01", "SPR")],
)  # fmt: skip
def test_school_years_past_what_pandas_dates_hold_are_invalid_dates(year, term):
    # 9999/00 gave an event dated 1816-03-29 05:56:08, counted mapped, and coverage 9999
    res = read_school_census(_npd(year, term=term))
    assert res.events.empty
    assert _counts(res.report) == {"invalid_date": 1}
    assert res.coverage.empty


def test_school_edge_years_inside_what_pandas_dates_hold_still_read():
    res = read_school_census(pd.concat([_npd("1678/79"), _npd("2261/62")], ignore_index=True))
    assert res.events["date"].dt.date.astype(str).tolist() == ["1678-12-31", "2261-12-31"]
    assert res.coverage[["from", "to"]].astype(str).values.tolist() == [
        ["1678-08-01", "2261-12-31"]
    ]


@pytest.mark.parametrize(
    "possible, missed",
    [(np.inf, 21), (140, np.inf), (-np.inf, 0), ("1,000", 21), ("x", 21), (140, "x"),
     ("inf", 3), ("nan", 3)],
)  # fmt: skip
def test_school_unreadable_or_infinite_numbers_are_counted_as_such(possible, missed):
    # inf sessions possible were mapped (attendance 1.0); "x" was counted as blank or invalid
    res = read_school_census(_npd(possible=possible, missed=missed))
    assert res.events.empty
    assert _counts(res.report) == {"unreadable_number": 1}
    assert "unreadable_number" in sources.REPORT_REASONS


def test_school_blank_numbers_are_still_no_value():
    res = read_school_census(_npd(possible=None, missed=None))
    assert _counts(res.report) == {"no_value": 1}


def test_school_authorised_plus_unauthorised_unreadable_is_counted():
    npd = (
        _npd()
        .drop(columns="OverallAbsence")
        .assign(AuthorisedAbsence=["3"], UnauthorisedAbsence=["three"])
    )
    assert _counts(read_school_census(npd).report) == {"unreadable_number": 1}


def test_school_term_dates_end_before_start_is_refused():
    td = pd.DataFrame(
        {"academic_year": ["2101/02"], "term": ["Autumn"], "start": ["2101-12-31"],
         "end": ["2101-09-01"]}
    )  # fmt: skip
    with pytest.raises(SchemaError, match=r"term_dates row.*\[0\].*end before their start"):
        read_school_census(_npd(), term_dates=td)


def test_school_term_dates_unreadable_start_is_refused_not_ignored():
    td = pd.DataFrame(
        {"academic_year": ["2101/02", "2101/02"], "term": ["Autumn", "Spring"],
         "start": ["2101-09-01", "first of sept"], "end": ["2101-12-01", "2102-03-30"]}
    )  # fmt: skip
    with pytest.raises(SchemaError, match=r"term_dates rows? \[1\].*start"):
        read_school_census(_npd(), term_dates=td)
    # a blank start is allowed (the default start is used)
    td.loc[1, "start"] = None
    assert len(read_school_census(_npd(), term_dates=td).events) == 1


@pytest.mark.parametrize("term_dates", [[1, 2], "calendar.csv", {"end": ["2101-12-01"]}])
def test_school_term_dates_must_be_a_frame(term_dates):
    with pytest.raises(ParameterError, match=r"term_dates must be a pandas DataFrame"):
        read_school_census(_npd(), term_dates=term_dates)


APC_J20 = pd.DataFrame(
    {"case_id": ["a", "b"], "ADMIDATE": ["2101-01-01"] * 2, "DIAG_4_01": ["J20.9", "J45"]}
)
ECDS_ONE = pd.DataFrame(
    {
        "case_id": ["c1"],
        "ARRIVAL_DATE": ["2101-02-03"],
        "EC_DIAGNOSIS_01": ["195967001"],
        "EC_DISCHARGE_DESTINATION_SNOMED_CT": ["306689006"],
    }
)
RX_ONE = pd.DataFrame(
    {"case_id": ["c1"], "issue_date": ["2101-03-04"], "bnf_code": ["0301011R0AAAPAP"]}
)
CIN_ONE = pd.DataFrame(
    {
        "case_id": ["c1"],
        "ReferralStartDate": ["2101-01-10"],
        "AssessmentActualStartDate": ["2101-01-12"],
        "AssessmentAuthorisationDate": ["2101-02-20"],
        "AssessmentFactors": ["2B, 3B"],
    }
)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda v: read_hospital_apc(APC_J20, asthma_codes=v), "asthma_codes"),
        (lambda v: read_emergency_care(ECDS_ONE, asthma_codes=v), "asthma_codes"),
        (lambda v: read_emergency_care(ECDS_ONE, admitted_codes=v), "admitted_codes"),
    ],
)
def test_a_bare_string_of_codes_is_refused_not_read_character_by_character(call, name):
    # "J45" matched the prefixes J, 4, 5 (bronchitis J20.9 counted as asthma)
    with pytest.raises(ParameterError, match=rf"{name} must be a list or tuple.*\['J45'\]|"
                       rf"{name} must be a list or tuple"):  # fmt: skip
        call("J45")


def test_code_lists_of_one_code_work():
    res = read_hospital_apc(APC_J20, asthma_codes=["J45"])
    assert res.events["case_id"].tolist() == ["b"]
    assert _counts(res.report) == {"code_not_mapped": 1, "mapped": 1}
    res = read_emergency_care(ECDS_ONE, asthma_codes=("195967001",), admitted_codes=[306706006])
    assert _counts(res.report) == {"mapped": 1}
    res = read_emergency_care(ECDS_ONE, admitted_codes={"306689006"})
    assert _counts(res.report) == {"admitted": 1}


@pytest.mark.parametrize(
    "call, name, value",
    [
        (lambda v: read_hospital_apc(APC_J20, asthma_codes=v), "asthma_codes", 45),
        (lambda v: read_hospital_apc(APC_J20, asthma_codes=v), "asthma_codes", ["J45", None]),
        (lambda v: read_emergency_care(ECDS_ONE, admitted_codes=v), "admitted_codes", 306706006),
        (lambda v: read_emergency_care(ECDS_ONE, asthma_codes=v), "asthma_codes", 195967001),
        (lambda v: read_prescriptions(RX_ONE, codes=v), "codes", ["0301"]),
        (lambda v: read_prescriptions(RX_ONE, codes=v), "codes", "0301"),
        (lambda v: read_prescriptions(RX_ONE, codes=v), "codes", {"0301": 1}),
        (lambda v: read_cin_census(CIN_ONE, factor_events=v), "factor_events", ["2B"]),
        (lambda v: read_cin_census(CIN_ONE, factor_events=v), "factor_events", "2B"),
    ],
)
def test_code_arguments_of_the_wrong_form_are_parameter_errors(call, name, value):
    # were TypeError ('NoneType'/'int' object is not iterable) or AttributeError (.items)
    with pytest.raises(ParameterError, match=rf"{name} must be"):
        call(value)


def test_cin_coverage_comes_only_from_dates_kept():
    # an authorisation date before the assessment start is invalid_date: coverage
    # started at it
    cin = pd.DataFrame(
        {
            "case_id": ["c1", "c2"],
            "ReferralStartDate": [None, "2101-05-01"],
            "AssessmentActualStartDate": ["2101-03-12", None],
            "AssessmentAuthorisationDate": ["2101-02-20", None],
            "AssessmentFactors": ["2B", None],
        }
    )
    res = read_cin_census(cin)
    assert _counts(res.report, "assessment_factor")["invalid_date"] == 1
    assert res.coverage[["from", "to"]].astype(str).values.tolist() == [
        ["2101-05-01", "2101-05-01"]
    ]


def test_mapping_coverage_skips_rows_with_an_unreadable_recorded_date():
    police = pd.DataFrame(
        {"case_id": ["a", "b"], "date": ["2101-01-01", "2101-06-01"], "rec": ["x", "2101-06-02"],
         "type": ["DA", "DA"]}
    )  # fmt: skip
    table = [{"source_column": "type", "source_value": "DA",
              "event": "domestic_abuse_incident", "agency": "police"}]  # fmt: skip
    res = apply_mapping(police, table, recorded_date_column="rec")
    assert _counts(res.report) == {"invalid_date": 1, "mapped": 1}
    assert res.coverage[["from", "to"]].astype(str).values.tolist() == [
        ["2101-06-01", "2101-06-01"]
    ]


def test_mapping_matches_numeric_columns_with_blanks():
    # a float column [1, 2, NaN] was compared as "1.0" against source_value "1"
    table = [{"source_column": "type", "source_value": "1",
              "event": "domestic_abuse_incident", "agency": "police"}]  # fmt: skip
    local = pd.DataFrame(
        {"case_id": ["a", "b", "c"], "date": ["2101-01-01"] * 3, "type": [1.0, 2.0, np.nan]}
    )
    res = apply_mapping(local, table)
    assert res.events["case_id"].tolist() == ["a"]
    rep = res.report.set_index("reason")
    assert rep.loc["unknown_code", "code"] == "type=2"
    assert _counts(res.report) == {"mapped": 1, "unknown_code": 1, "no_value": 1}


def test_mapping_float_column_with_infinity_does_not_crash():
    table = [{"source_column": "type", "source_value": "1",
              "event": "domestic_abuse_incident", "agency": "police"}]  # fmt: skip
    local = pd.DataFrame({"case_id": ["a", "b"], "date": ["2101-01-01"] * 2, "type": [1.0, np.inf]})
    res = apply_mapping(local, table)
    assert _counts(res.report) == {"mapped": 1, "unknown_code": 1}


def test_an_empty_mapping_table_is_refused():
    empty = pd.DataFrame(columns=["source_column", "source_value", "event", "agency"])
    local = pd.DataFrame({"case_id": ["a"], "date": ["2101-01-01"], "type": ["DA"]})
    with pytest.raises(SchemaError, match=r"mapping table is empty"):
        apply_mapping(local, empty)
    with pytest.raises(SchemaError, match=r"mapping table is empty"):
        read_mapping([])


@pytest.mark.parametrize("name", sorted(ONE_ROW))
def test_start_after_end_is_refused(name):
    # every row was outside_date_range and coverage ran backwards (from > to)
    for adapter, row, kwargs in ONE_ROW[name]:
        with pytest.raises(ParameterError, match=r"start=.*is after end="):
            adapter(pd.DataFrame(row), **kwargs, start="2102-01-01", end="2101-01-01")


@pytest.mark.parametrize("bad", [np.nan, pd.NaT, float("nan")])
@pytest.mark.parametrize("which", ["start", "end"])
def test_a_missing_date_bound_is_refused(bad, which):
    # start=np.nan raised AttributeError ('NaTType' object has no attribute 'normalize')
    with pytest.raises(ParameterError, match=rf"{which}=.*is not a date.*None"):
        read_prescriptions(RX_ONE, **{which: bad})


@pytest.mark.parametrize(
    "adapter, frame, repeated",
    [
        (read_hospital_apc,
         pd.DataFrame([["a", "2101-01-01", "J45", "b"]],
                      columns=["case_id", "ADMIDATE", "DIAG_4_01", "case_id"]),
         "case_id"),
        (read_hospital_apc,
         pd.DataFrame([["a", "2101-01-01", "J45", "2101-01-01"]],
                      columns=["case_id", "ADMIDATE", "DIAG_4_01", "ADMIDATE"]),
         "ADMIDATE"),
        (read_prescriptions,
         pd.DataFrame([["a", "2101-01-01", "0301011R0AAAPAP", "x"]],
                      columns=["case_id", "issue_date", "bnf_code", "bnf_code"]),
         "bnf_code"),
        (read_cin_census,
         pd.DataFrame([["a", "2101-01-01", "2101-01-02"]],
                      columns=["case_id", "ReferralStartDate", "ReferralStartDate"]),
         "ReferralStartDate"),
    ],
)  # fmt: skip
def test_a_column_given_twice_is_refused_by_name(adapter, frame, repeated):
    # raised AttributeError ('DataFrame' object has no attribute 'dtype') or ValueError
    with pytest.raises(SchemaError, match=rf"column.*'{repeated}'.*more than once"):
        adapter(frame)


def test_a_column_given_twice_is_refused_by_apply_mapping():
    table = [{"source_column": "type", "source_value": "DA",
              "event": "domestic_abuse_incident", "agency": "police"}]  # fmt: skip
    local = pd.DataFrame(
        [["a", "2101-01-01", "DA", "x"]], columns=["case_id", "date", "type", "type"]
    )
    with pytest.raises(SchemaError, match=r"column.*'type'.*more than once"):
        apply_mapping(local, table)


@pytest.mark.parametrize("text", ["01/02/2101", "2101/02/01", "1 Feb 2101"])
@pytest.mark.parametrize("which", ["start", "end"])
def test_a_date_bound_in_text_must_be_iso(text, which):
    # "01/02/2101" was read by pandas' guess, month first
    with pytest.raises(ParameterError, match=rf"{which}=.*not an ISO date"):
        read_prescriptions(RX_ONE, **{which: text})
    read_prescriptions(RX_ONE, **{which: "2101-02-01"})  # ISO text reads


def test_no_asthma_codes_means_the_documented_default_in_both_hospital_adapters():
    # read_hospital_apc refused asthma_codes=None while read_emergency_care read it
    # as "the default codes"
    default = read_hospital_apc(APC_J20)
    given_none = read_hospital_apc(APC_J20, asthma_codes=None)
    _same(given_none.events, default.events)
    assert _counts(given_none.report) == {"code_not_mapped": 1, "mapped": 1}
    ed = read_emergency_care(ECDS_ONE, asthma_codes=None, admitted_codes=None)
    assert _counts(ed.report) == {"mapped": 1}


_CODE_LIST_CALLS = [
    (lambda v: read_hospital_apc(APC_J20, asthma_codes=v), "asthma_codes"),
    (lambda v: read_emergency_care(ECDS_ONE, asthma_codes=v), "asthma_codes"),
    (lambda v: read_emergency_care(ECDS_ONE, admitted_codes=v), "admitted_codes"),
]
_CODE_MAP_CALLS = [
    (lambda v: read_prescriptions(RX_ONE, codes=v), "codes"),
    (lambda v: read_cin_census(CIN_ONE, factor_events=v), "factor_events"),
]


@pytest.mark.parametrize(
    "call, name, empty",
    [(c, n, e) for c, n in _CODE_LIST_CALLS for e in ([], (), set(), {}, np.array([], str))]
    + [(c, n, {}) for c, n in _CODE_MAP_CALLS],
)
def test_an_empty_code_list_is_refused(call, name, empty):
    # was accepted: nothing ever mapped (every asthma admission code_not_mapped), or
    # for admitted_codes no attendance was admitted and attacks were counted twice
    with pytest.raises(ParameterError, match=rf"{name} is empty.*None"):
        call(empty)


@pytest.mark.parametrize(
    "call, name, codes",
    [(c, n, ["J45", b]) for c, n in _CODE_LIST_CALLS for b in ("", "  ")]
    + [(c, n, {b: e})
       for (c, n), e in zip(_CODE_MAP_CALLS, ["reliever_prescription", "parent_substance_use"],
                            strict=True)
       for b in ("", "  ")]
    + [(_CODE_MAP_CALLS[0][0], "codes", {".": "reliever_prescription"})],
)  # fmt: skip
def test_a_blank_code_is_refused(call, name, codes):
    # a blank prefix matched every code: read_hospital_apc(asthma_codes=["J45", ""])
    # counted the bronchitis admission (J20.9) as asthma, and prescriptions'
    # codes={".": ...} (dots dropped before matching) every BNF code as a reliever
    with pytest.raises(ParameterError, match=rf"{name} holds a blank code"):
        call(codes)


_CODE_1 = [{"source_column": "type", "source_value": "1",
            "event": "domestic_abuse_incident", "agency": "police"}]  # fmt: skip


def test_mapping_matches_whole_floats_in_a_text_column():
    # a spreadsheet column mixing text and numbers (object dtype) held 1.0, which was
    # compared as "1.0" against source_value "1": nothing mapped
    local = pd.DataFrame(
        {
            "case_id": ["a", "b", "c", "d"],
            "date": ["2101-01-01"] * 4,
            "type": pd.Series([1.0, np.float32(2.0), "x", None], dtype=object),
        }
    )
    res = apply_mapping(local, _CODE_1)
    assert res.events["case_id"].tolist() == ["a"]
    assert sorted(res.report["code"]) == ["", "", "type=2", "type=x"]
    assert _counts(res.report) == {"mapped": 1, "unknown_code": 2, "no_value": 1}


def test_mapping_table_values_given_as_numbers_match_text_codes():
    # a mapping table read with numbers (JSON 1.0, or a float column) gave "1.0"
    table = pd.DataFrame(
        {"source_column": ["type"], "source_value": pd.Series([1.0], dtype=object),
         "event": ["domestic_abuse_incident"], "agency": ["police"]}
    )  # fmt: skip
    local = pd.DataFrame({"case_id": ["a", "b"], "date": ["2101-01-01"] * 2, "type": ["1", "2"]})
    res = apply_mapping(local, table)
    assert res.events["case_id"].tolist() == ["a"]


@pytest.mark.parametrize("dtype", [float, object])
def test_codes_too_large_for_an_integer_are_reported_not_crashed_on(dtype):
    # a float code past int64 (1e20) raised TypeError: cannot safely cast non-equivalent
    local = pd.DataFrame(
        {"case_id": ["a", "b", "c"], "date": ["2101-01-01"] * 3,
         "type": pd.Series([1.0, 1e20, -1e300], dtype=dtype)}
    )  # fmt: skip
    res = apply_mapping(local, _CODE_1)
    assert res.events["case_id"].tolist() == ["a"]
    assert _counts(res.report) == {"mapped": 1, "unknown_code": 2}
    # the report names each value in full, never a wrapped integer
    values = {float(c.split("=")[1]) for c in res.report["code"] if c}
    assert values == {1e20, -1e300}


def test_emergency_disposal_codes_held_as_floats_in_a_text_column_are_read():
    # 306706006.0 (discharge to ward) in an object column was "306706006.0": not admitted
    ecds = ECDS_ONE.assign(
        EC_DISCHARGE_DESTINATION_SNOMED_CT=pd.Series([306706006.0], dtype=object)
    )
    assert _counts(read_emergency_care(ecds).report) == {"admitted": 1}


# --- odd inputs: refused by column and row, or counted; never a raw error -------------------

_ADAPTER_ROWS = {
    "hospital": (read_hospital_apc, APC_J20, "ADMIDATE"),
    "emergency": (read_emergency_care, ECDS_ONE, "ARRIVAL_DATE"),
    "prescriptions": (read_prescriptions, RX_ONE, "issue_date"),
    "cin": (read_cin_census, CIN_ONE, "ReferralStartDate"),
    "mapping": (lambda df, **kw: apply_mapping(df, _CODE_1, **kw),
                pd.DataFrame({"case_id": ["a"], "date": ["2101-01-01"], "type": ["1"]}), "date"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(_ADAPTER_ROWS))
@pytest.mark.parametrize("role", ["case_id", "date"])
def test_a_cell_holding_a_list_is_refused_by_column_and_row(name, role):
    # a list in a date cell raised TypeError: unhashable type: 'list'; in the case
    # identifier it became the id "['a']"
    adapter, frame, date_column = _ADAPTER_ROWS[name]
    column = "case_id" if role == "case_id" else date_column
    df = pd.concat([frame] * 3, ignore_index=True)
    df[column] = df[column].astype(object)
    df.at[2, column] = [df.at[0, column]]
    with pytest.raises(SchemaError, match=rf"column '{column}': row 2 holds a list, not one value"):
        adapter(df)


@pytest.mark.parametrize(
    "adapter, frame, column",
    [(read_hospital_apc, APC_J20, "DIAG_4_01"),
     (read_emergency_care, pd.concat([ECDS_ONE] * 2, ignore_index=True), "EC_DIAGNOSIS_01"),
     (read_prescriptions, pd.concat([RX_ONE] * 2, ignore_index=True), "bnf_code"),
     (lambda df: apply_mapping(df, _CODE_1),
      pd.DataFrame({"case_id": ["a", "b"], "date": ["2101-01-01"] * 2, "type": ["1", "1"]}),
      "type")],
)  # fmt: skip
def test_a_code_cell_holding_a_list_is_refused_by_column_and_row(adapter, frame, column):
    # the hospital adapter raised TypeError: unhashable type: 'list'; others read
    # ["J45"] as the code "['J45']"
    df = frame.assign(**{column: pd.Series([frame[column].iloc[0], ["x"]], dtype=object)})
    with pytest.raises(SchemaError, match=rf"column '{column}': row 1 holds a list, not one value"):
        adapter(df)


@pytest.mark.parametrize("bad", [5, 2.5, True, np.int64(20210101)])
@pytest.mark.parametrize("which", ["start", "end"])
def test_a_number_as_a_date_bound_is_refused(bad, which):
    # start=5 was read as 5 nanoseconds after 1970-01-01
    with pytest.raises(ParameterError, match=rf"{which}=.*is not a date"):
        read_prescriptions(RX_ONE, **{which: bad})


@pytest.mark.parametrize("day", ["1677-09-21", "2262-04-12", "3000-01-01"])
@pytest.mark.parametrize("which", ["start", "end"])
def test_a_date_bound_pandas_cannot_hold_is_refused(day, which):
    # end="3000-01-01" gave coverage to 3000-01-01, which coverage_table then refused
    with pytest.raises(ParameterError, match=rf"{which}=.*outside 1677-09-22 to 2262-04-11"):
        read_prescriptions(RX_ONE, **{which: day})


@pytest.mark.parametrize("which", ["start", "end"])
def test_a_time_zone_aware_date_bound_reads_as_its_local_day(which):
    # raised TypeError: Invalid comparison between dtype=datetime64[ns] and Timestamp
    bound = pd.Timestamp("2101-03-04 00:30", tz="Europe/London")
    res = read_prescriptions(RX_ONE, **{which: bound})
    assert _counts(res.report) == {"mapped": 1}
    assert str(res.coverage[{"start": "from", "end": "to"}[which]].iloc[0].date()) == "2101-03-04"


_NPD = pd.DataFrame(
    {"case_id": ["c1", "c2"], "AcademicYear": ["2101/02"] * 2, "Term": ["AUT", "SPR"],
     "SessionsPossible": [140, 120], "OverallAbsence": [21, 0]}
)  # fmt: skip


def test_school_census_complex_session_counts_are_unreadable_numbers():
    # 140+1j sessions possible was read as 140 (the imaginary part dropped)
    npd = _NPD.assign(SessionsPossible=[140 + 1j, 120])
    assert _counts(read_school_census(npd).report) == {"mapped": 1, "unreadable_number": 1}


def test_school_census_term_dates_with_a_column_given_twice_is_refused():
    # raised ValueError: Cannot construct a Series from a DataFrame
    cal = pd.DataFrame(
        [["2101/02", "Autumn", "2101-12-20", "2101-12-21"]],
        columns=["academic_year", "term", "end", "end"],
    )
    with pytest.raises(SchemaError, match=r"term_dates: column\(s\) \['end'\].*more than once"):
        read_school_census(_NPD, term_dates=cal)


def test_school_census_term_dates_cell_holding_a_list_is_refused():
    # ["Autumn"] was read as the term Autumn (its printed form, letters kept)
    cal = pd.DataFrame(
        {"academic_year": ["2101/02"], "term": pd.Series([["Autumn"]], dtype=object),
         "end": ["2101-12-20"]}
    )  # fmt: skip
    with pytest.raises(SchemaError, match=r"column 'term': row 0 holds a list, not one value"):
        read_school_census(_NPD, term_dates=cal)


_TABLE_ROW = {"source_column": "type", "source_value": "DA",
              "event": "domestic_abuse_incident", "agency": "police"}  # fmt: skip


def test_a_mapping_table_with_a_column_given_twice_is_refused():
    # raised AttributeError: 'DataFrame' object has no attribute 'dtype'
    table = pd.DataFrame([[*_TABLE_ROW.values(), "x"]], columns=[*_TABLE_ROW, "event"])
    with pytest.raises(SchemaError, match=r"mapping: mapping table: column\(s\) \['event'\]"):
        read_mapping(table)


@pytest.mark.parametrize("cell", [["DA"], {"a": 1}])
def test_a_mapping_table_cell_holding_a_list_is_refused(cell):
    # ["DA"] was read as the value "['DA']", which matched nothing
    with pytest.raises(SchemaError, match=r"column 'source_value': row 0 holds an? (list|dict)"):
        read_mapping([{**_TABLE_ROW, "source_value": cell}])


@pytest.mark.parametrize(
    "content, problem",
    [(b"", "is empty"),  # raised EmptyDataError
     (b"\xff\xfesource_column", "not UTF-8"),  # raised UnicodeDecodeError
     (b"source_column,source_value,event,agency\ntype,DA,domestic_abuse_incident,police,x\n",
      "line 2 has 5 fields but the header 4")],  # columns shifted: agency='x' reported
)  # fmt: skip
def test_a_mapping_file_that_cannot_be_read_is_one_clear_error(tmp_path, content, problem):
    path = tmp_path / "mapping.csv"
    path.write_bytes(content)
    with pytest.raises(SchemaError, match=rf"mapping\.csv.*{problem}"):
        read_mapping(path)


def test_a_mapping_path_that_is_a_folder_is_refused(tmp_path):
    # raised IsADirectoryError
    with pytest.raises(SchemaError, match=r"mapping: .* is a folder, not a file"):
        read_mapping(tmp_path)


@pytest.mark.parametrize("source", [5, None, "", "  "])
def test_apply_mapping_source_must_be_a_name(source):
    # 5 or None became the source name in the report and coverage tables
    local = pd.DataFrame({"case_id": ["a"], "date": ["2101-01-01"], "type": ["DA"]})
    with pytest.raises(ParameterError, match=r"apply_mapping: source must be"):
        apply_mapping(local, [_TABLE_ROW], source=source)


def test_a_mapping_json_that_is_not_utf8_is_one_clear_error(tmp_path):
    # raised UnicodeDecodeError
    path = tmp_path / "mapping.json"
    path.write_bytes(b'{"mappings": [{"source_value": "caf\xe9"}]}')
    with pytest.raises(SchemaError, match=r"mapping\.json is not UTF-8"):
        read_mapping(path)


# --- term ends past the days riskscore holds; an empty calendar ------------------------------


@pytest.mark.parametrize(
    "year, term",
    [(9999, "Summer"), (2261, "Summer"), (2261, "Summer1"), (2262, "Autumn"), ("0000", "Autumn"),
     (1676, "Summer"), (1676, "Autumn1")],
)  # fmt: skip
def test_term_end_date_outside_the_days_riskscore_holds_is_refused(year, term):
    # year 9999 gave Timestamp('10000-07-31'): a date no riskscore table can hold
    # (the summer half-terms of 2261/62 end in May and July 2262, past 2262-04-11;
    # summer 1676/77 ends on 31 July 1677, before 1677-09-22)
    with pytest.raises(SchemaError, match=r"outside 1677-09-22 to 2262-04-11") as err:
        term_end_date(year, term)
    assert repr(year) in str(err.value) and repr(term) in str(err.value)


def test_term_end_date_at_the_edges_of_the_range():
    assert term_end_date(2261, "Autumn") == pd.Timestamp(2261, 12, 31)
    assert term_end_date(2261, "Spring1") == pd.Timestamp(2262, 2, 28)
    assert term_end_date("2261/62", "Spring") == pd.Timestamp(easter(2262))  # 6 April
    assert term_end_date(1677, "Autumn1") == pd.Timestamp(1677, 10, 31)


@pytest.mark.parametrize(
    "calendar",
    [pd.DataFrame({"academic_year": [], "term": [], "end": []}),
     pd.DataFrame({"academic_year": ["2101/02"], "term": ["Autumn"], "end": ["2101-12-20"]}).iloc[:0]],
)  # fmt: skip
def test_an_empty_term_dates_table_is_refused(calendar):
    # an empty calendar (a filter that kept nothing, the wrong sheet) was accepted
    # silently: every period fell back to the default term ends
    with pytest.raises(SchemaError, match=r"term_dates has no rows") as err:
        read_school_census(_NPD, term_dates=calendar)
    assert "term_dates=None" in str(err.value)


# --- case identifiers that are no identifiers: refused by column and row ----------------------

# one row of each adapter's extract that maps to an event
_ADAPTER_IDS = {
    name: (adapter, frame.iloc[-1:].reset_index(drop=True), column)
    for name, (adapter, frame, column) in {
        **_ADAPTER_ROWS,
        "school_census": (read_school_census, _NPD, None),
    }.items()
}


@pytest.mark.parametrize("name", sorted(_ADAPTER_IDS))
@pytest.mark.parametrize(
    "bad, what",
    [(True, "True or False"), (np.False_, "True or False"), ("a\x00b", "U+0000"),
     ("a\u202eb", "U+202E"), ("a\nb", "U+000A"), (pd.Timestamp("2101-01-01"), "a date or time"),
     (1 + 2j, "a complex number")],
)  # fmt: skip
def test_a_case_id_that_is_no_identifier_is_refused_by_column_and_row(name, bad, what):
    # True became the case id "True" and a NUL stayed inside the id (validate_events
    # flagged it only later, far from the extract)
    adapter, frame, _ = _ADAPTER_IDS[name]
    df = pd.concat([frame] * 3, ignore_index=True)
    df["case_id"] = df["case_id"].astype(object)
    df.at[2, "case_id"] = bad
    with pytest.raises(SchemaError, match=r"column 'case_id': row 2 ") as err:
        adapter(df)
    assert what in str(err.value) and "Fix:" in str(err.value)


@pytest.mark.parametrize("name", sorted(_ADAPTER_IDS))
def test_a_case_id_column_of_booleans_or_dates_is_refused_naming_it(name):
    adapter, frame, _ = _ADAPTER_IDS[name]
    df = pd.concat([frame] * 2, ignore_index=True).rename(columns={"case_id": "pupil"})
    df["pupil"] = [True, False]
    with pytest.raises(SchemaError, match=r"column 'pupil': rows 0, 1 hold True or False"):
        adapter(df, case_id_column="pupil")
    df["pupil"] = pd.to_datetime(["2101-01-01", "2101-01-02"])
    with pytest.raises(SchemaError, match=r"column 'pupil': rows 0, 1 hold a date or time"):
        adapter(df, case_id_column="pupil")


@pytest.mark.parametrize("name", sorted(_ADAPTER_IDS))
def test_case_ids_with_white_space_round_them_or_numbers_are_still_read(name):
    adapter, frame, _ = _ADAPTER_IDS[name]
    df = pd.concat([frame] * 3, ignore_index=True)
    df["case_id"] = pd.Series([" a\n", "\tb ", 7], dtype=object)
    res = adapter(df)
    assert sorted(set(res.events["case_id"])) == ["7", "a", "b"]
