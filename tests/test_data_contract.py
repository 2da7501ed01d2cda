"""One data contract, enforced at every door (issue 11): regression tests and properties.

Every example of the issue is here as a test. Identifying-looking values are invented:
NHS numbers use the 999 prefix the NHS reserves for testing, postcodes the non-existent
area "YY", telephone numbers Ofcom's ranges for drama (07700 900xxx, 020 7946 0xxx),
e-mail addresses the reserved ``.invalid`` domain; names are common forenames with
common surnames, about no one. Dates are on the project's invented 2090-2110 calendar.
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
import riskscore.schema as schema
from riskscore.cli import main
from riskscore.errors import DisclosureError, IdentifyingDataError, ParameterError, SchemaError
from riskscore.schema import CONTRACT, ensure_events, is_validated
from riskscore.sources import read_prescriptions
from riskscore.vocabulary import AGENCIES, CASE_COLUMNS, EVENT_COLUMNS, EVENTS, OUTCOMES

KEY = b"contract-test-key-0123456789abcdef"  # invented


def nhs(prefix: str) -> str:
    """A ten-digit number with a valid NHS check digit (by the published rule)."""
    total = sum(int(c) * w for c, w in zip(prefix, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    assert check != 10, "pick another prefix"
    return prefix + str(check)


NHS = nhs("999123457")  # 9991234578


def raw_events(n_cases: int = 3) -> pd.DataFrame:
    """A small valid events table as text, the way an extract arrives."""
    rows = []
    for i in range(n_cases):
        rows += [
            (f"c{i}", "2101-01-05", "school", "attendance", "0.85"),
            (f"c{i}", "2101-03-01", "hospital", "asthma_admission", ""),
            (f"c{i}", "2101-06-01", "police", "police_incident_home", ""),
        ]
    return pd.DataFrame(rows, columns=["case_id", "date", "agency", "event", "value"], dtype="str")


def raw_cases(n_cases: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(n_cases)],
            "outcome": ["serious_harm"] + [""] * (n_cases - 1),
            "outcome_date": ["2101-09-01"] + [""] * (n_cases - 1),
            "followup_end": ["2103-01-01"] * n_cases,
        },
        dtype="str",
    )


def validate_message(table: str, df: pd.DataFrame, **kw) -> str:
    """What validate_events / validate_cases (strict) say about ``df``."""
    validate = rs.validate_events if table == "events" else rs.validate_cases
    with pytest.raises(SchemaError) as info:
        validate(df, strict=True, **kw)
    return str(info.value)


@pytest.fixture(scope="module")
def cohort():
    return rs.make_cohort(200, random_state=11)


# ------------------------------------------------------------------ declared once


def test_contract_is_the_vocabulary_declared_once():
    for table, columns in (("events", EVENT_COLUMNS), ("cases", CASE_COLUMNS)):
        contract = CONTRACT[table]
        assert contract.names == tuple(columns)
        for name, (required, meaning) in columns.items():
            assert contract[name].required is required and contract[name].meaning == meaning
    assert CONTRACT["events"]["agency"].codes == tuple(AGENCIES)
    assert CONTRACT["events"]["event"].codes == tuple(EVENTS)
    assert CONTRACT["cases"]["outcome"].codes == tuple(OUTCOMES)
    assert schema.DATE_COLUMNS == {"date", "recorded_date", "outcome_date", "followup_end"}


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_vocabulary_outcome_is_accepted(outcome):
    cases = raw_cases().assign(outcome=[outcome, "", ""])
    assert rs.validate_cases(cases).ok


@pytest.mark.parametrize("said", ["none", "no", "N/A", "None", "drowned"])
def test_outcome_codes_outside_the_vocabulary_are_refused(said):
    # issue: outcome "none"/"no"/"N/A" with a date counted as an outcome (4 -> 200)
    cases = raw_cases().assign(outcome=[said] * 3, outcome_date=["2101-09-01"] * 3)
    report = rs.validate_cases(cases)
    assert report.problems["check"].tolist() == ["unknown_outcome"]
    assert report.problems["n_rows"].tolist() == [3] and len(report.valid) == 0
    if said.lower() in ("none", "no", "n/a"):
        assert "leave outcome empty (not 'none'" in report.problems["fix"].iloc[0]


def test_outcome_words_never_count_as_outcomes_anywhere(cohort):
    events, cases = cohort
    marked = cases.copy()
    marked["outcome"] = marked["outcome"].fillna("none")
    marked["outcome_date"] = marked["outcome_date"].fillna(pd.Timestamp("2102-01-01"))
    card = rs.default_scorecard()
    message = validate_message("cases", marked, events=events)
    with pytest.raises(SchemaError) as info:
        rs.audit_cohort(events, marked, card, progress=False)
    assert str(info.value) == message
    with pytest.raises(SchemaError, match="unknown_outcome|unknown outcome codes"):
        rs.make_training_set(events, marked, grid="90D")


# ------------------------------------------------------------------ one date parser


def test_adapters_and_read_events_share_one_date_rule():
    rx = pd.DataFrame(
        {
            "case_id": ["a", "b", "c"],
            "issue_date": ["2101-03-04", "04/03/2101", "03/04/2101"],
            "bnf_code": ["0301011R0AAAPAP"] * 3,
        }
    )
    # format= reads its own format and ISO still reads (as in read_events)
    res = read_prescriptions(rx.iloc[:2], format="%d/%m/%Y")
    assert res.events["date"].dt.strftime("%Y-%m-%d").tolist() == ["2101-03-04"] * 2
    # dayfirst=False reads month first (as in read_events), not "ISO only"
    res = read_prescriptions(rx.iloc[[2]], dayfirst=False)
    assert res.events["date"].dt.strftime("%Y-%m-%d").tolist() == ["2101-03-04"]
    with pytest.raises(ParameterError, match="not both"):
        read_prescriptions(rx, format="%d/%m/%Y", dayfirst=True)
    with pytest.raises(ParameterError, match="not both"):
        rs.validate_events(raw_events(), format="%d/%m/%Y", dayfirst=True)


def test_training_refuses_uk_case_dates_instead_of_swapping_them():
    # issue: make_training_set read a UK cases date 05/01/2102 as 1 May (labels change)
    events = rs.validate_events(raw_events()).valid
    cases = raw_cases().assign(outcome_date=["05/01/2102", "", ""])
    message = validate_message("cases", cases)
    assert "ambiguous" in message or "dayfirst" in message
    with pytest.raises(SchemaError) as info:
        rs.make_training_set(events, cases, grid="30D")
    assert str(info.value) == message
    typed = rs.validate_cases(cases, dayfirst=True).valid
    assert typed["outcome_date"].iloc[0] == pd.Timestamp("2102-01-05")


def _entry_points(events, cases):
    """Every public door that takes events (and cases), as callables."""
    card = rs.default_scorecard()
    q = pd.DataFrame({"case_id": ["c0"], "as_of": [pd.Timestamp("2102-01-01")]})
    return {
        "encode_features": lambda: rs.encode_features(events, q),
        "write_features": lambda: pd.read_parquet(
            rs.write_features(events, q, Path(tempfile.mkdtemp()) / "f.parquet")
        ),
        "as_of_grid": lambda: rs.as_of_grid(events, "30D", cases=cases),
        "change_dates": lambda: rs.change_dates(events),
        "FeatureEncoder": lambda: rs.FeatureEncoder(events).fit(q),
        "check_point_in_time": lambda: rs.training.check_point_in_time(
            rs.encode_features, events, q
        ),
        # (min_history=0: this small table's rows all lack a year of history, and a
        # training set with no rows is refused)
        "make_training_set": lambda: rs.make_training_set(events, cases, grid="30D", min_history=0),
        "audit_case": lambda: rs.audit_case(events, cases, card, "c0"),
        "audit_cohort": lambda: rs.audit_cohort(events, cases, card, progress=False),
        "pseudonymise": lambda: rs.pseudonymise(events, cases, KEY),
    }


ENTRY_POINTS = list(_entry_points(None, None))


@pytest.mark.parametrize("door", ENTRY_POINTS)
@settings(max_examples=5)
@given(day=st.dates(pd.Timestamp("2101-01-13").date(), pd.Timestamp("2103-12-31").date()))
def test_dates_property_day_first_vs_iso_at_every_door(door, day):
    """ISO text reads as the date it says at every door; day-first text is refused at
    every door with validate_events's message; told dayfirst=True, it reads the same."""
    day = pd.Timestamp(day)
    iso = raw_events().assign(date=lambda d: d["date"].where(d.index % 3 != 2, str(day.date())))
    uk = iso.assign(date=pd.to_datetime(iso["date"]).dt.strftime("%d/%m/%Y"))
    cases = raw_cases()
    typed = rs.validate_events(iso).valid
    # 1. ISO text and typed dates give the same result at the door
    a = _entry_points(iso, cases)[door]()
    b = _entry_points(typed, rs.validate_cases(cases).valid)[door]()
    _assert_same(a, b)
    # 2. day-first text is refused at the door with the validator's own words
    message = validate_message("events", uk)
    with pytest.raises(SchemaError) as info:
        _entry_points(uk, cases)[door]()
    assert str(info.value) == message
    # 3. told how to read it, it is the same table
    told = rs.validate_events(uk, dayfirst=True).valid
    pd.testing.assert_series_equal(told["date"], typed["date"])
    assert (told["date"] == day).sum() == (typed["date"] == day).sum() > 0


def _assert_same(a, b):
    if isinstance(a, tuple) and isinstance(a[0], pd.DataFrame):
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    elif isinstance(a, rs.TrainingSet):
        pd.testing.assert_frame_equal(a.X, b.X)
        np.testing.assert_array_equal(a.y, b.y)
    elif isinstance(a, rs.CaseAudit):
        pd.testing.assert_frame_equal(a.crossings, b.crossings)
    elif isinstance(a, rs.CohortAudit):
        for name in a.tables:
            pd.testing.assert_frame_equal(a.tables[name], b.tables[name])


def test_read_events_and_adapters_read_day_first_files_alike(tmp_path):
    uk = raw_events().assign(date=["05/01/2101", "01/03/2101", "25/12/2101"] * 3)
    path = tmp_path / "events.csv"
    uk.to_csv(path, index=False)
    with pytest.raises(SchemaError, match="ambiguous_date_format|could be read day-first"):
        rs.read_events(path)
    read = rs.read_events(path, dayfirst=True)
    assert read["date"].dt.strftime("%Y-%m-%d").tolist()[:3] == [
        "2101-01-05",
        "2101-03-01",
        "2101-12-25",
    ]
    rx = pd.DataFrame(
        {"case_id": ["a"] * 3, "issue_date": uk["date"][:3], "bnf_code": ["0301011R0AAAPAP"] * 3}
    )
    res = read_prescriptions(rx, dayfirst=True)
    assert res.events["date"].tolist() == read["date"].tolist()[:3]
    assert read_prescriptions(rx).events.empty  # never a guess


# ------------------------------------------------------------------ every door


def _corrupt(events, cases, kind):
    ev = events.copy()
    cs = cases.copy()
    if kind == "unknown_event":
        ev["event"] = ev["event"].astype(str)
        ev.loc[ev.index[:500], "event"] = "home_visit"
    elif kind == "missing_date":
        ev.loc[ev.index[7], "date"] = pd.NaT
    elif kind == "duplicate_case_id":
        cs = pd.concat([cs, cs.iloc[:5]], ignore_index=True)
    elif kind == "unknown_outcome":
        cs["outcome"] = cs["outcome"].fillna("N/A")
        cs["outcome_date"] = cs["outcome_date"].fillna(pd.Timestamp("2102-06-01"))
    elif kind == "missing_case_id":
        ev["case_id"] = ev["case_id"].astype(str)
        ev.loc[ev.index[3], "case_id"] = "  "
    return ev, cs


@pytest.mark.parametrize(
    "kind",
    ["unknown_event", "missing_date", "duplicate_case_id", "unknown_outcome", "missing_case_id"],
)
@pytest.mark.parametrize("door", ENTRY_POINTS)
def test_every_door_refuses_what_the_contract_forbids_with_the_same_message(
    cohort, kind, door, tmp_path
):
    # issue: 500 unknown codes dropped silently, 5 duplicated cases gave 205 cases,
    # "N/A" outcomes counted, a NaT date crashed audit_cohort with a traceback
    events, cases = _corrupt(*cohort, kind)
    uses_cases = door in ("as_of_grid", "make_training_set", "audit_case", "audit_cohort")
    uses_cases |= door == "pseudonymise"
    if kind in ("duplicate_case_id", "unknown_outcome") and not uses_cases:
        return
    table = "cases" if kind in ("duplicate_case_id", "unknown_outcome") else "events"
    df = cases if table == "cases" else events
    message = validate_message(table, df)
    calls = _entry_points(events, cases)
    calls["audit_case"] = lambda: rs.audit_case(
        events, cases, rs.default_scorecard(), cohort[1]["case_id"].iloc[0]
    )
    q = pd.DataFrame({"case_id": [cohort[1]["case_id"].iloc[0]], "as_of": [pd.Timestamp("2102")]})
    calls["encode_features"] = lambda: rs.encode_features(events, q)
    calls["write_features"] = lambda: rs.write_features(events, q, tmp_path / "f.parquet")
    with pytest.raises(SchemaError) as info:
        calls[door]()
    assert str(info.value) == message
    n = {"unknown_event": 500, "duplicate_case_id": 10, "unknown_outcome": None}.get(kind)
    if n is not None:
        assert info.value.report.problems["n_rows"].iloc[0] == n


@pytest.mark.parametrize(
    "kind",
    ["unknown_event", "missing_date", "duplicate_case_id", "unknown_outcome", "day_first"],
)
@pytest.mark.parametrize("door", ["encode_features", "make_training_set", "audit_cohort"])
def test_dask_doors_refuse_what_the_contract_forbids(cohort, kind, door):
    # each partition is checked by the same code, with the validator's own words
    import dask
    import dask.dataframe as dd

    if kind == "day_first":  # text dates written day first are never guessed
        events = cohort[0].assign(date=cohort[0]["date"].dt.strftime("%d/%m/%Y"))
        cases = cohort[1]
    else:
        events, cases = _corrupt(*cohort, kind)
    if kind in ("duplicate_case_id", "unknown_outcome") and door == "encode_features":
        return
    table = "cases" if kind in ("duplicate_case_id", "unknown_outcome") else "events"
    line = validate_message(table, cases if table == "cases" else events).split("\n")[1]
    # the problem in the validator's words; rows and examples are the partition's own
    words = line.split("; rows")[0].split(" (")[0]
    ev = dd.from_pandas(events, npartitions=2)
    cs = dd.from_pandas(cases, npartitions=1)
    q = cases[["case_id"]].astype(str).assign(as_of=pd.Timestamp("2102-01-01"))
    calls = {
        "encode_features": lambda: rs.encode_features(ev, dd.from_pandas(q, npartitions=1)),
        "make_training_set": lambda: rs.make_training_set(ev, cs, grid="180D"),
        "audit_cohort": lambda: rs.audit_cohort(ev, cs, rs.default_scorecard()),
    }
    with dask.config.set(scheduler="sync"), pytest.raises(SchemaError) as info:
        out = calls[door]()
        if hasattr(out, "compute"):
            out.compute()
    assert words in str(info.value)
    assert str(info.value).startswith("In one partition of a Dask table (row numbers")


def test_audit_cohort_counts_every_case_it_is_given(cohort):
    events, cases = cohort
    result = rs.audit_cohort(events, cases, rs.default_scorecard(), disclosure=False)
    assert result.n_cases == len(cases) == 200


def test_evaluate_checks_its_cases(cohort):
    events, cases = cohort
    ts = rs.make_training_set(events, cases, grid="180D")
    bad = pd.concat([cases, cases.iloc[:2]], ignore_index=True)
    with pytest.raises(SchemaError) as info:
        rs.evaluate(rs.default_scorecard(), ts, cv=2, n_boot=5, cases=bad)
    assert str(info.value) == validate_message("cases", bad)


def test_header_only_and_empty_tables_are_refused_clearly(cohort):
    events, cases = cohort
    with pytest.raises(SchemaError, match="no rows"):
        rs.audit_cohort(events.iloc[:0], cases, rs.default_scorecard())
    with pytest.raises(SchemaError, match="no rows"):
        rs.make_training_set(events.iloc[:0], cases)


def test_case_ids_are_compared_with_white_space_normalised(cohort):
    # issue: " c1" in events and "c1" in cases passed validate, then audit refused
    events, cases = cohort
    ev = events.copy()
    ev["case_id"] = " " + ev["case_id"].astype(str) + "\u00a0"
    report = rs.validate_cases(cases, events=ev)
    assert report.ok, str(report)
    a = rs.audit_cohort(ev, cases, rs.default_scorecard(), disclosure=False)
    b = rs.audit_cohort(events, cases, rs.default_scorecard(), disclosure=False)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    dup = rs.validate_cases(pd.DataFrame({"case_id": ["c1", " c1 "]}))
    assert dup.problems["check"].tolist() == ["duplicate_case_id"]


def test_coverage_case_ids_are_compared_with_white_space_normalised(cohort):
    # a case's own coverage row written " C0000001 " is that child's coverage
    events, cases = cohort
    cid = str(cases["case_id"].iloc[0])
    q = pd.DataFrame({"case_id": [cid], "as_of": [pd.Timestamp("2102-06-01")]})

    def coverage(key):
        return pd.DataFrame(
            {
                "agency": ["school", "school"],
                "from": ["2090-01-01", "2090-01-01"],
                "to": ["2090-02-01", "2110-01-01"],
                "case_id": [None, key],
            }
        )

    plain = rs.encode_features(events, q, coverage=coverage(cid))
    assert plain["attendance_recent"].notna().all()
    for key in (f" {cid} ", f"{cid}\u00a0"):
        spaced = rs.encode_features(events, q, coverage=coverage(key))
        pd.testing.assert_frame_equal(spaced, plain)
    assert rs.coverage_table(coverage(f" {cid} "))["case_id"].dropna().tolist() == [cid]


# ------------------------------------------------------------------ the mark


def test_validated_frames_are_not_checked_twice(cohort, monkeypatch):
    events, cases = cohort
    typed = rs.validate_events(raw_events()).valid
    calls = []
    real = schema._validate_events
    monkeypatch.setattr(
        schema, "_validate_events", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    for frame in (typed, typed.copy(), typed.iloc[:4], typed.sort_values("date"), events):
        assert is_validated(frame, "events")
        assert ensure_events(frame) is frame
    rs.audit_cohort(events, cases, rs.default_scorecard(), progress=False)
    rs.make_training_set(events, cases, grid="90D")
    assert calls == []
    ensure_events(raw_events())
    assert calls == [1]


def test_the_mark_does_not_hide_a_later_break():
    typed = rs.validate_events(raw_events()).valid
    q = pd.DataFrame({"case_id": ["c0"], "as_of": [pd.Timestamp("2102-01-01")]})
    broken = typed.copy()
    broken.loc[broken.index[1], "date"] = pd.NaT
    with pytest.raises(SchemaError, match=r"events\.date: date is missing; row 1"):
        rs.encode_features(broken, q)
    recoded = typed.assign(event=typed["event"].astype(str).replace("attendance", "visit"))
    with pytest.raises(SchemaError, match="unknown event codes"):
        rs.encode_features(recoded, q)
    noted = typed.assign(notes="she said the flat was cold and he was not there")
    with pytest.raises(IdentifyingDataError, match="notes"):
        rs.encode_features(noted, q)


def test_synthetic_tables_keep_the_contract_they_claim(cohort):
    events, cases = cohort
    assert is_validated(events, "events") and is_validated(cases, "cases")
    # the declaration is honest: a full validation finds nothing either
    assert rs.validate_events(events).ok
    assert rs.validate_cases(cases, events).ok  # index_date allowed, with its reason
    ev, cs = rs.vignette()
    assert rs.validate_events(ev).ok and rs.validate_cases(cs, ev).ok


# ------------------------------------------------------------------ the guard

PLANTED = {
    "NHS number": NHS,
    "NHS number, spaced": f"{NHS[:3]} {NHS[3:6]} {NHS[6:]}",
    "NHS number, dotted": f"{NHS[:3]}.{NHS[3:6]}.{NHS[6:]}",
    "NHS number, dashes": f"{NHS[:3]}-{NHS[3:6]}-{NHS[6:]}",
    "NHS number, no-break spaces": f"{NHS[:3]}\u00a0{NHS[3:6]}\u00a0{NHS[6:]}",
    "NHS number in text": f"ref {NHS} on file",
    "postcode": "YY1 1ZA",
    "postcode, lower case": "yy1 1za",
    "postcode, no space": "YY11ZA",
    "name": "Jane Smith",
    "name, lower case": "jane smith",
    "name, upper case": "JANE SMITH",
    "name, surname first": "Smith, Jane",
    "name with title": "Mrs Patel",
    "e-mail": "j.smith@example.invalid",
    "mobile": "07700 900123",
    "landline": "020 7946 0123",
    "international": "+44 20 7946 0123",
    "ISO date": "2095-03-04",
    "UK date": "04/03/2095",
    "date in words": "4 March 2095",
    "free text": "she said the flat was cold and he was not there again",
}
CHECK_OF = {
    "NHS": "nhs_number",
    "postcode": "postcode",
    "name": "person_name",
    "e-mail": "email",
    "mobile": "phone_number",
    "landline": "phone_number",
    "international": "phone_number",
    "date": "full_date",
    "free text": "free_text",
}


def _check_of(kind: str) -> str:
    return next(v for k, v in CHECK_OF.items() if k in kind)


@pytest.fixture(scope="module")
def large_cases():
    """60,000 clean case rows: more than the old guard's 50,000-row sample."""
    n = 60_000
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "case_id": pd.Series([f"C{i:07d}" for i in range(n)], dtype="str"),
            "sex": pd.Series(np.array(["female", "male"])[rng.integers(0, 2, n)], dtype="str"),
            "ethnic_group": pd.Series(
                np.array(["White British", "Mixed", "Asian British", "Black African", "Other"])[
                    rng.integers(0, 5, n)
                ],
                dtype="str",
            ),
            "site": pd.Series([f"site {i % 97}" for i in range(n)], dtype="str"),
        }
    )


@settings(max_examples=60)
@given(
    st.sampled_from(sorted(PLANTED)),
    st.sampled_from(["case_id", "sex", "ethnic_group", "site"]),
    st.integers(0, 59_999),
)
def test_identifying_values_planted_anywhere_are_always_caught(large_cases, kind, column, row):
    value = PLANTED[kind]
    df = large_cases.copy()
    df.loc[row, column] = value
    problems = rs.check_identifying(df, table="cases")
    hits = [p for p in problems if p["column"] == column]
    assert _check_of(kind) in {p["check"] for p in hits}, (kind, column, problems)
    assert all(p["rows"] == [row] for p in hits)  # that row, no other
    assert {p["column"] for p in problems} == {column}
    for p in problems:  # never echoed
        assert value not in p["message"] and value not in p["fix"]


def test_clean_large_table_passes(large_cases):
    assert rs.check_identifying(large_cases, table="cases") == []


@pytest.mark.parametrize(
    "label",
    [
        "White: English, Welsh, Scottish, Northern Irish or British",
        "Mixed or Multiple ethnic groups: White and Black Caribbean",
        "Asian, Asian British or Asian Welsh: Any other Asian background",
        "Black, Black British, Black Welsh, Caribbean or African: Any other Black, Black "
        "British, or Caribbean background",
        "Gypsy or Irish Traveller",
        "Not known",
        "Prefer not to say",
        "group_3",
    ],
)
def test_census_labels_are_not_mistaken_for_people(label):
    cases = pd.DataFrame({"case_id": ["c1", "c2"], "ethnic_group": [label, "White"]})
    assert rs.check_identifying(cases, table="cases") == []


@pytest.mark.parametrize(
    ("column", "values", "check"),
    [
        ("dob2", ["2095-03-04", "2096-11-30"], "identifying_name"),
        ("born", ["04/03/2095", "30/11/2096"], "identifying_name"),
        ("visit_day", ["2095-03-04", "2096-11-30"], "full_date"),
        ("index_date", pd.to_datetime(["2095-03-04", "2096-11-30"]), "full_date"),
        ("year_of_birth", [20950304, 20961130], "date_of_birth"),
    ],
)
def test_full_dates_outside_the_contract_date_columns_are_refused(column, values, check):
    cases = pd.DataFrame({"case_id": ["c1", "c2"], column: values})
    problems = rs.check_identifying(cases, table="cases")
    assert [(p["column"], p["check"]) for p in problems] == [(column, check)]


def test_nhs_number_as_case_id_is_refused_in_any_form():
    for form in (NHS, f"{NHS[:3]}.{NHS[3:6]}.{NHS[6:]}", int(NHS)):
        ev = raw_events(1).assign(case_id=[form] * 3)
        with pytest.raises(IdentifyingDataError, match=r"events\.case_id: .*NHS"):
            rs.validate_events(ev)


def test_messages_never_echo_identifying_values(tmp_path, capsys):
    # issue: values are not numbers ('Jane Smith 9434765919 SW1...') in SchemaError,
    # in the report and in `riskscore validate`
    secret = f"Jane Smith {NHS} YY1 1ZA"
    ev = raw_events().assign(value=["0.5", secret, "", "0.5", "", "", "0.5", "", ""])
    with pytest.raises(IdentifyingDataError) as info:
        rs.validate_events(ev)
    text = str(info.value) + str(info.value.report) + info.value.report.problems.to_string()
    for part in ("Jane", "Smith", NHS, "YY1 1ZA", "1ZA"):
        assert part not in text
    assert "events.value" in text and "row 1" in text
    path = tmp_path / "events.csv"
    ev.to_csv(path, index=False)
    assert main(["validate", str(path)]) == 1  # a data problem
    out = capsys.readouterr()
    for part in ("Jane", "Smith", NHS, "1ZA"):
        assert part not in out.out + out.err
    assert "line 3" in out.err  # row 1 of the table is line 3 of the file
    # a plain contract problem shows the value masked too
    bad = raw_events().assign(value=["85%"] + [""] * 8)
    report = rs.validate_events(bad)
    assert "85%" not in str(report) and "'8*%'" in str(report)


def test_allow_is_the_escape_hatch_and_its_reason_reaches_every_output(cohort, tmp_path):
    events, cases = cohort
    cases = cases.drop(columns="index_date").copy()
    cases["ward"] = "Kestrel Ward"  # title-case words: looks like names to the heuristic
    with pytest.raises(IdentifyingDataError, match="ward"):
        rs.validate_cases(cases)
    reason = "ward names of the fictional hospital, not people"
    cases = rs.validate_cases(cases, allow={"ward": reason}).valid
    assert schema.allowed_columns(cases) == {"ward": reason}
    # provenance of written cohort tables
    result = rs.audit_cohort(events, cases, rs.default_scorecard(), progress=False)
    assert result.parameters["allowed"] == {"ward": reason}
    path = rs.write_table(result.tables["lead_times"], tmp_path / "lead.csv")
    sidecar = json.loads((tmp_path / "lead.csv.provenance.json").read_text())
    assert sidecar["allowed"]["table"] == {"ward": reason}
    assert rs.read_table(path).attrs["riskscore_provenance"]["allowed"]["table"]["ward"] == reason
    # provenance() of any input frame
    assert rs.provenance(inputs={"cases": cases})["allowed"] == {"cases": {"ward": reason}}
    # a case audit and its report
    audit = rs.audit_case(events, cases, rs.default_scorecard(), cases["case_id"].iloc[0])
    assert audit.parameters["allowed"] == {"ward": reason}
    html = rs.write_report(audit, tmp_path / "case.html").read_text()
    assert reason in html
    # a training set and a model card
    ts = rs.make_training_set(events, cases, grid="180D")
    assert ts.info["allowed"] == {"ward": reason}
    model, _ = rs.train_model(events, cases, grid="180D", cv=2, n_boot=5, penalty="l2")
    assert model.model_card_["allowed_past_identifying_data_guard"] == {"ward": reason}
    # the integer-points card made from the training set's features
    points = model.to_scorecard(ts.X, ts.y, max_points=10, search=False)
    assert points.model_card["allowed_past_identifying_data_guard"] == {"ward": reason}


def test_allow_reasons_reach_evaluation_and_case_outputs(cohort, tmp_path):
    events, cases = cohort
    reason = "ward names of the fictional hospital, not people"
    cases = cases.drop(columns="index_date").assign(ward="Kestrel Ward")
    cases = rs.validate_cases(cases, allow={"ward": reason}).valid
    ts = rs.make_training_set(events, cases, grid="180D")
    result = rs.evaluate(rs.default_scorecard(), ts, cv=2, n_boot=5, progress=False)
    # the evaluation's HTML report and every table it can write
    assert reason in rs.write_report(result, tmp_path / "eval.html").read_text()
    for name in ("calibration", "decision_curve", "alerts", "calibration_curve"):
        table = getattr(result, name)
        rs.write_table(table, tmp_path / f"{name}.csv")
        sidecar = json.loads((tmp_path / f"{name}.csv.provenance.json").read_text())
        assert sidecar["allowed"]["table"] == {"ward": reason}, name
    # a case audit's tables, written case-level inside the secure environment
    audit = rs.audit_case(events, cases, rs.default_scorecard(), cases["case_id"].iloc[0])
    for name in ("trajectory", "crossings", "contributions"):
        table = rs.mark_undisclosed(getattr(audit, name), reason="case-level")
        rs.write_table(table, tmp_path / f"{name}.csv")
        sidecar = json.loads((tmp_path / f"{name}.csv.provenance.json").read_text())
        assert sidecar["allowed"]["table"] == {"ward": reason}, name
    # features encoded from events validated with allow= carry the reason on
    noted = events.assign(site="Kestrel Ward")
    noted = rs.validate_events(noted, allow={"site": reason}).valid
    q = pd.DataFrame({"case_id": ts.case_ids[:3], "as_of": ts.as_of[:3]})
    written = rs.write_features(noted, q, tmp_path / "features.parquet")
    meta = pq.read_schema(written).metadata
    assert json.loads(meta[b"riskscore_allowed"]) == {"site": reason}
    features = rs.mark_undisclosed(rs.encode_features(noted, q), reason="case-level")
    rs.write_table(features, tmp_path / "features.csv")
    sidecar = json.loads((tmp_path / "features.csv.provenance.json").read_text())
    assert sidecar["allowed"]["table"] == {"site": reason}


def test_allow_reaches_provenance_from_the_command_line(cohort, tmp_path):
    events, cases = cohort
    events.to_csv(tmp_path / "events.csv", index=False)
    cases.to_csv(tmp_path / "cases.csv", index=False)
    base = ["audit", str(tmp_path / "events.csv"), "--cases", str(tmp_path / "cases.csv")]
    assert main([*base, "--out", str(tmp_path / "a")]) == 1  # index_date: a full date
    reason = "synthetic index date, not a date of birth"
    assert main([*base, "--allow", f"index_date={reason}", "--out", str(tmp_path / "b")]) == 0
    sidecar = json.loads((tmp_path / "b" / "cohort-summary.csv.provenance.json").read_text())
    assert sidecar["allowed"]["table"] == {"index_date": reason}
    # the case-level feature table written by `riskscore encode`
    events.assign(site="Kestrel Ward").to_csv(tmp_path / "sited.csv", index=False)
    ward = "ward names of the fictional hospital, not people"
    out = tmp_path / "features.csv"
    encode = ["encode", str(tmp_path / "sited.csv"), "--out", str(out)]
    assert main([*encode, "--allow", f"site={ward}"]) == 0
    sidecar = json.loads((tmp_path / "features.csv.provenance.json").read_text())
    assert sidecar["allowed"]["table"] == {"site": ward}


# ------------------------------------------------------------------ pseudonymise


def test_pseudonymise_normalises_refuses_blanks_and_leaves_no_raw_id():
    ev = raw_events().assign(case_id=["c0", " c0", "c0 ", "c1"] * 2 + ["c2"])
    out, _ = rs.pseudonymise(ev, key=KEY)
    assert out["case_id"].iloc[:3].nunique() == 1  # " c0" and "c0" are one child
    for blank in ("", "  "):
        with pytest.raises(SchemaError, match="case_id is empty"):
            rs.pseudonymise(ev.assign(case_id=[blank] + ["c1"] * 8), key=KEY)
    # an index holding the raw ids (the case) leaves no trace; the ids use
    # letters that never appear in hex tokens
    raw = raw_events().assign(case_id=["kid-x", "kid-y", "kid-z"] * 3)
    indexed = rs.validate_events(raw).valid.set_index("case_id", drop=False)
    indexed.index.name = "case_id"
    indexed.attrs["note"] = "ids kid-x kid-y kid-z"
    out, _ = rs.pseudonymise(indexed, key=KEY)
    text = out.to_csv() + repr(out) + repr(out.attrs) + repr(list(out.index))
    assert "kid" not in text
    assert isinstance(out.index, pd.RangeIndex)


def test_pseudonymise_refuses_or_drops_columns_outside_the_contract():
    ev = raw_events().assign(site=["s1"] * 9)
    with pytest.raises(SchemaError, match=r"events\.site"):
        rs.pseudonymise(ev, key=KEY)
    out, _ = rs.pseudonymise(ev, key=KEY, extra_columns="drop")
    assert "site" not in out.columns
    assert out.attrs["riskscore_pseudonymised"]["dropped_columns"] == ["site"]
    with pytest.raises(ParameterError):
        rs.pseudonymise(ev, key=KEY, extra_columns="keep")


def test_write_table_never_writes_ids_from_an_index(tmp_path):
    table = rs.mark_undisclosed(
        pd.DataFrame({"case_id": ["c1", "c2"], "score": [1.0, 2.0]}).set_index("case_id"),
        reason="case-level",
    )
    with pytest.raises(DisclosureError, match="index"):
        rs.write_table(table, tmp_path / "t.csv")
    rs.write_table(table.reset_index(), tmp_path / "t.csv")  # a visible column is fine


# ------------------------------------------------------------------ files


def _write(path, text: bytes):
    path.write_bytes(text)
    return path


CSV = "case_id,date,agency,event\nc1,2101-01-05,school,school_concern\nc2,2101-02-01,gp,missed_appointment\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty \\(0 bytes\\)"),
        (b"case_id,date,agency,event\n", "header but no data rows"),
        (b"\n\n", "no header line"),
        (CSV.replace(",", ";").encode(), "looks semicolon-separated"),
        (CSV.replace(",", "\t").encode(), "looks tab-separated"),
        (CSV.replace("school_concern", "caf\xe9").encode("latin-1"), "not UTF-8.*encoding="),
        (CSV.encode("utf-16"), "UTF-16.*encoding='utf-16'"),
        # a line with more fields than the header: pandas took the first column as an
        # index, every column shifted left (case_id held dates)
        (CSV.replace("school_concern\n", "school_concern,x\n").encode(),
         "line 2 has 5 fields but the header 4"),
        (CSV.replace("missed_appointment\n", "missed_appointment,x,y\n").encode(),
         "line 3 has 6 fields but the header 4"),
    ],
)  # fmt: skip
def test_bad_files_give_one_clear_schema_error(tmp_path, content, expected):
    path = _write(tmp_path / "events.csv", content)
    with pytest.raises(SchemaError, match=expected):
        rs.read_events(path)
    with pytest.raises(SchemaError, match=expected):
        rs.read_events(path, strict=False)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"case_id,date,agency,event\n", "header but no data rows"),
        (CSV.replace(",", ";").encode(), "looks semicolon-separated"),
        (CSV.replace("school_concern", "caf\xe9").encode("latin-1"), "--encoding"),
        (CSV.encode("utf-16"), "UTF-16"),
    ],
)
def test_bad_files_are_one_clear_line_from_riskscore_validate(tmp_path, capsys, content, expected):
    # issue: a 0-byte file gave an EmptyDataError traceback, a header-only file
    # validated as "valid", latin-1 and UTF-16 files gave tracebacks
    path = _write(tmp_path / "events.csv", content)
    assert main(["validate", str(path)]) == 1  # a data problem
    out = capsys.readouterr()
    assert re.search(expected, out.err), out.err
    assert "Traceback" not in out.out + out.err and "valid" not in out.out.lower()


def test_encodings_are_read_when_named(tmp_path):
    latin = _write(tmp_path / "latin.csv", CSV.replace("c2", "c\xe92").encode("latin-1"))
    with pytest.raises(SchemaError, match=r"byte 0xe9 on line 3") as info:
        rs.read_events(latin)
    assert "cp1252" in str(info.value)
    assert rs.read_events(latin, encoding="latin-1")["case_id"].tolist() == ["c1", "c\xe92"]
    wide = _write(tmp_path / "wide.csv", CSV.encode("utf-16"))
    assert len(rs.read_events(wide, encoding="utf-16")) == 2
    bom = _write(tmp_path / "bom.csv", CSV.encode("utf-8-sig"))
    assert list(rs.read_events(bom).columns[:1]) == ["case_id"]
    with pytest.raises(ParameterError, match="encoding"):
        rs.read_events(latin, encoding="no-such-codec")
    assert main(["validate", str(latin), "--encoding", "latin-1"]) == 0


def test_file_messages_name_file_lines(tmp_path):
    path = _write(tmp_path / "e.csv", CSV.replace("missed_appointment", "home_visit").encode())
    with pytest.raises(SchemaError, match="line 3") as info:
        rs.read_events(path)
    assert "line 2 is the first data row" in str(info.value)
    assert info.value.report.problems["rows"].iloc[0] == [1]  # positions stay 0-based


# ------------------------------------------------------------------ nothing left out silently


def test_as_of_grid_says_which_cases_get_no_grid_and_why():
    events = raw_events(3)
    cases = raw_cases(3).iloc[1:]  # c0 has events but is not in cases
    cases = pd.concat([cases, pd.DataFrame({"case_id": ["c9"]})], ignore_index=True)
    grid = rs.as_of_grid(events, "30D", cases=cases)
    assert set(grid["case_id"]) == {"c1", "c2"}
    left_out = grid.attrs["riskscore_left_out"]
    assert left_out == {
        "cases in events but not in cases (no outcome or follow-up known)": 1,
        "cases in cases with no events (no first event)": 1,
    }


def test_queries_find_their_events_whatever_the_id_type_or_spacing():
    # validated event ids are text; a query with ids 7 or " 7" asks about case "7"
    events = raw_events(1).assign(case_id=["7"] * 3)
    day = pd.Timestamp("2101-06-30")
    expected = rs.encode_features(events, pd.DataFrame({"case_id": ["7"], "as_of": [day]}))
    for key in (7, " 7", "7\u00a0"):
        q = pd.DataFrame({"case_id": [key], "as_of": [day]})
        got = rs.encode_features(events, q)
        assert got["case_id"].tolist() == [key]  # the caller's own id comes back
        pd.testing.assert_frame_equal(got.drop(columns="case_id"), expected.drop(columns="case_id"))
    assert expected["asthma_admissions_12m"].iloc[0] == 1.0


@given(
    st.lists(st.integers(-(2**62), 2**62) | st.none(), min_size=0, max_size=40),
    st.sampled_from(["D", "s", "ms", "us", "ns", "m", "h"]),
)
def test_days_from_datetimes_equal_numpys_cast_in_every_unit(ticks, unit):
    """Days by division by the ticks per day: numpy's floored cast, NaT kept as NaT."""
    from riskscore._dates import NAT_DAY, datetime_days, to_days

    raw = np.array([NAT_DAY if t is None else t for t in ticks], dtype=np.int64)
    values = raw.view(f"datetime64[{unit}]")
    want = values.astype("datetime64[D]").view(np.int64)
    np.testing.assert_array_equal(datetime_days(values), want)
    if unit in ("s", "ms", "us", "ns"):  # the units pandas keeps in a Series
        # days pandas holds as datetime64[ns] (1677-09-22 to 2262-04-11), as Python counts
        first = (date(1677, 9, 22) - date(1970, 1, 1)).days
        last = (date(2262, 4, 11) - date(1970, 1, 1)).days
        outside = (want != NAT_DAY) & ((want < first) | (want > last))
        if not outside.any():
            np.testing.assert_array_equal(to_days(pd.Series(values), "date", "events"), want)
        else:  # they would come back from datetime64[ns] as other dates
            rows = np.flatnonzero(outside)[:10].tolist()
            with pytest.raises(SchemaError, match=re.escape(f"events.date: dates at rows {rows}")):
                to_days(pd.Series(values), "date", "events")


@pytest.mark.parametrize(
    "as_of, day",
    [("1677-09-22", date(1677, 9, 22)), ("2262-04-11", date(2262, 4, 11)),
     (np.datetime64("1677-09-22", "s"), date(1677, 9, 22))],
)  # fmt: skip
def test_as_of_on_the_first_and_last_days_pandas_holds_comes_back_as_given(as_of, day):
    # as_of "1677-09-22" came back as 2262-04-11: numpy's ns -> day cast wraps there
    from riskscore._dates import to_days

    assert to_days(pd.Series([as_of]), "as_of", "as_of").tolist() == [(day - date(1970, 1, 1)).days]
    events = pd.DataFrame(
        {"case_id": ["c1"], "date": ["2101-01-01"], "agency": ["hospital"],
         "event": ["asthma_admission"]}
    )  # fmt: skip
    got = rs.encode_features(events, pd.DataFrame({"case_id": ["c1"], "as_of": [as_of]}))
    assert got["as_of"].tolist() == [pd.Timestamp(day)]


@pytest.mark.parametrize(
    "as_of",
    ["1677-09-21", "2262-04-12", np.datetime64("3000-01-01", "s"),
     np.datetime64("1677-09-21T12:00", "s"), pd.Timestamp("1677-09-21 12:00")],
)  # fmt: skip
def test_as_of_outside_the_days_pandas_holds_is_refused_by_row(as_of):
    # a datetime64[s] as_of in 3000 came back as 1830-11-23 00:50:52; text "2262-04-12"
    # was said not to be an ISO date
    events = pd.DataFrame(
        {"case_id": ["c1"], "date": ["2101-01-01"], "agency": ["hospital"],
         "event": ["asthma_admission"]}
    )  # fmt: skip
    first = "2101-06-01" if isinstance(as_of, str) else np.datetime64("2101-06-01", "s")
    query = pd.DataFrame({"case_id": ["c1", "c1"], "as_of": pd.Series([first, as_of])})
    assert (query["as_of"].dtype.kind == "M") != isinstance(as_of, str)
    with pytest.raises(SchemaError, match=r"as_of.*rows \[1\] fall outside 1677-09-22 to "):
        rs.encode_features(events, query)


@pytest.mark.parametrize("far", ["3000-01-01", "1600-01-01"])
def test_as_of_outside_the_days_pandas_holds_is_found_beside_a_missing_one(far):
    # a missing as_of is the smallest integer as days: the range test must not take
    # it for a day before 1677, nor stop looking because of it
    events = pd.DataFrame(
        {"case_id": ["c1"], "date": ["2101-01-01"], "agency": ["hospital"],
         "event": ["asthma_admission"]}
    )  # fmt: skip
    as_of = np.array(["2101-06-01", "NaT", far, "2101-07-01"], dtype="datetime64[s]")
    query = pd.DataFrame({"case_id": ["c1"] * 4, "as_of": as_of})
    with pytest.raises(SchemaError, match=r"as_of.*rows \[2\] fall outside 1677-09-22 to "):
        rs.encode_features(events, query)


def test_a_date_cell_holding_a_list_is_an_unreadable_date_not_a_type_error():
    # raised TypeError: unhashable type: 'list'
    from riskscore._dates import DATE_OK, DATE_UNPARSEABLE, parse_dates, to_days

    values = pd.Series([["2101-01-01"], "2101-01-02", {"d": 1}], dtype=object)
    assert parse_dates(values).kind.tolist() == [DATE_UNPARSEABLE, DATE_OK, DATE_UNPARSEABLE]
    with pytest.raises(SchemaError, match=r"grid\.as_of: values at rows \[0, 2\] are not ISO"):
        to_days(values, "as_of", "grid")
    with pytest.raises(SchemaError, match=r"coverage: column 'from' rows \[0\]"):
        rs.coverage_table(pd.DataFrame({"agency": ["police"], "from": values[:1],
                                        "to": ["2101-01-05"]}))  # fmt: skip


@pytest.mark.parametrize("name", [None, 5, ["attendance_recent"]])
def test_feature_units_refuse_a_name_that_is_not_text(name):
    # feature_unit raised AttributeError ('NoneType' object has no attribute 'endswith'),
    # feature_unit_size TypeError (unhashable) or answered 1.0 for None
    from riskscore.vocabulary import feature_unit, feature_unit_size

    for unit in (feature_unit, feature_unit_size):
        with pytest.raises(ParameterError, match=rf"{unit.__name__}: name must be a feature name"):
            unit(name)


@pytest.mark.parametrize(
    "fmt, problem",
    [("%d/%m/%Q", "not a strptime format"),  # raised ValueError: 'Q' is a bad directive
     ("%d/%m/%Y %", "not a strptime format"),  # raised ValueError: stray %
     ("%d/%m/%y", "four-digit year"),  # "01/02/01" was read as 2001-02-01: a guess
     ("%d/%m", "four-digit year"),  # "01/02" was read as 1900-02-01
     ("%m %Y", "day and month")],  # "02 2101" was read as 2101-02-01
)  # fmt: skip
def test_a_date_format_that_would_guess_is_refused(fmt, problem):
    with pytest.raises(ParameterError, match=rf"format='{re.escape(fmt)}'.*{problem}"):
        rs.validate_events(raw_events(), format=fmt)
    with pytest.raises(ParameterError, match=rf"format='{re.escape(fmt)}'.*{problem}"):
        read_prescriptions(
            pd.DataFrame({"case_id": ["a"], "issue_date": ["01/02/2101"], "bnf_code": ["0301"]}),
            format=fmt,
        )


def test_a_time_zone_offset_in_a_formatted_date_keeps_its_own_day():
    # "01/02/2101 00:30 +0100" was converted to UTC: 31 January; two offsets raised
    # ValueError: Mixed timezones detected
    from riskscore._dates import parse_dates

    text = ["01/02/2101 00:30 +0100", "01/02/2101 23:30 -0500", "x"]
    got = parse_dates(text, format="%d/%m/%Y %H:%M %z").values
    assert [str(v)[:16] for v in got] == ["2101-02-01T00:30", "2101-02-01T23:30", "NaT"]
    assert str(parse_dates(text[:1], format="%d/%m/%Y %H:%M %z").values[0])[:16] == (
        "2101-02-01T00:30"
    )


@pytest.mark.parametrize("grid", [10**30, 2**62, 10**6])
def test_a_grid_step_longer_than_the_dates_riskscore_holds_is_refused(grid):
    # 10**30 raised OverflowError: Python int too large to convert to C long
    events = pd.DataFrame(
        {"case_id": ["c1"], "date": ["2101-01-01"], "agency": ["hospital"],
         "event": ["asthma_admission"]}
    )  # fmt: skip
    from riskscore._dates import step_days

    with pytest.raises(ParameterError, match=r"grid=.*at most 213,502 days"):
        step_days(grid)
    with pytest.raises(ParameterError, match=r"as_of_grid: grid must be"):
        rs.as_of_grid(events, grid=grid)
