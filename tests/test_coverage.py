"""Coverage tables: interval lookup, features unknown outside coverage, gap reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore import FEATURES, ParameterError, SchemaError
from riskscore.coverage import apply_coverage, coverage_gaps, coverage_table, covered
from riskscore.sources import read_prescriptions

BASE = pd.Timestamp("2101-01-01")


def _day(n: int) -> str:
    return (BASE + pd.Timedelta(days=int(n))).date().isoformat()


def test_coverage_table_merges_and_sorts():
    cov = coverage_table(
        pd.DataFrame(
            {
                "agency": ["school", "police", "school", "school"],
                "from": ["2101-09-01", "2101-01-01", "2102-08-01", "2104-01-01"],
                "to": ["2102-07-31", "2101-06-30", "2103-07-31", "2104-06-30"],
                "source": ["a", "b", "c", "d"],
            }
        )
    )
    assert cov.astype(str).values.tolist() == [
        ["police", "2101-01-01", "2101-06-30"],
        ["school", "2101-09-01", "2103-07-31"],
        ["school", "2104-01-01", "2104-06-30"],
    ]


def test_coverage_table_errors():
    with pytest.raises(SchemaError, match="unknown agency 'nhs' in rows \\[1\\]"):
        coverage_table(
            [("school", "2101-01-01", "2101-02-01"), ("nhs", "2101-01-01", "2101-02-01")]
        )
    with pytest.raises(SchemaError, match="'from' rows \\[0\\]"):
        coverage_table([("school", "01/02/2101", "2101-02-01")])
    with pytest.raises(SchemaError, match="'from' after 'to'"):
        coverage_table([("school", "2101-03-01", "2101-02-01")])
    with pytest.raises(SchemaError, match="missing"):
        coverage_table(pd.DataFrame({"agency": ["school"], "from": ["2101-01-01"]}))


@pytest.mark.parametrize("blank", ["", "   ", "\u00a0"])
def test_a_blank_case_id_in_coverage_is_refused_not_matched_to_nobody(blank):
    table = pd.DataFrame(
        {
            "agency": ["school", "school"],
            "from": ["2101-01-01", "2101-01-01"],
            "to": ["2101-12-31", "2101-12-31"],
            "case_id": ["C1", blank],
        }
    )
    with pytest.raises(SchemaError, match=r"case_id.*rows \[1\].*blank"):
        coverage_table(table)
    # a missing id is a row for every child, as documented
    table.loc[1, "case_id"] = None
    assert coverage_table(table)["case_id"].isna().sum() == 1


def test_coverage_from_adapter_results():
    rx = pd.DataFrame(
        {
            "case_id": ["a", "b"],
            "issue_date": ["2101-03-01", "2101-09-30"],
            "bnf_code": ["0301011R0AAAPAP", "0407010H0AAAMAM"],
        }
    )
    res = read_prescriptions(rx)
    cov = coverage_table(res, [("school", "2101-01-01", "2101-12-31")])
    assert sorted(cov.astype(str).values.tolist()) == [
        ["gp", "2101-03-01", "2101-09-30"],
        ["school", "2101-01-01", "2101-12-31"],
    ]
    stated = read_prescriptions(rx, start="2101-01-01", end="2101-12-31").coverage
    assert stated[["from", "to"]].astype(str).values.tolist() == [["2101-01-01", "2101-12-31"]]


intervals = st.lists(st.tuples(st.integers(0, 400), st.integers(0, 60)), min_size=1, max_size=8)


@given(intervals, st.lists(st.integers(-20, 480), min_size=1, max_size=40))
def test_covered_matches_brute_force(spans, days):
    cov = coverage_table([("police", _day(s), _day(s + w)) for s, w in spans])
    got = covered(cov, "police", ["c"] * len(days), [_day(d) for d in days])
    expected = [any(s <= d <= s + w for s, w in spans) for d in days]
    assert got.tolist() == expected
    assert not covered(cov, "school", ["c"] * len(days), [_day(d) for d in days]).any()


@given(
    intervals,
    intervals,
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "z"]), st.integers(-20, 480)), min_size=1, max_size=30
    ),
)
def test_per_case_coverage_matches_brute_force(glob, case_a, queries):
    rows = [("gp", _day(s), _day(s + w), pd.NA) for s, w in glob[:2]]
    rows += [("gp", _day(s), _day(s + w), "a") for s, w in case_a]
    cov = coverage_table(pd.DataFrame(rows, columns=["agency", "from", "to", "case_id"]))
    got = covered(cov, "gp", [q[0] for q in queries], [_day(q[1]) for q in queries])
    expected = [
        any(s <= d <= s + w for s, w in glob[:2])
        or (c == "a" and any(s <= d <= s + w for s, w in case_a))
        for c, d in queries
    ]
    assert got.tolist() == expected


def _features(as_of):
    n = len(as_of)
    data = {"case_id": ["c1"] * n, "as_of": as_of}
    for name in FEATURES:
        data[name] = np.zeros(n)
    data["note"] = ["kept"] * n
    return pd.DataFrame(data)


def test_apply_coverage_joined_view():
    feats = _features(["2101-06-01", "2102-06-01", "2103-06-01"])
    cov = [("police", "2101-01-01", "2101-12-31"), ("school", "2101-01-01", "2102-12-31")]
    out = apply_coverage(feats, cov)
    assert out["police_incidents_home_12m"].isna().tolist() == [False, True, True]
    assert out["attendance_recent"].isna().tolist() == [False, False, True]
    # parental substance use is held by drug service, police and gp: police covers 2101 only
    assert out["parental_substance_use_12m"].isna().tolist() == [False, True, True]
    # "any" agency: covered while any agency is
    assert out["child_voice_concerns_12m"].isna().tolist() == [False, False, True]
    assert out["hardship_12m"].isna().tolist() == [False, False, True]
    # agencies absent from the table are uncovered: hospital features are unknown throughout
    assert out["asthma_admissions_12m"].isna().all()
    assert out["note"].tolist() == ["kept"] * 3
    assert feats["police_incidents_home_12m"].notna().all()  # input untouched
    relaxed = apply_coverage(feats, cov, unlisted="covered")
    assert relaxed["asthma_admissions_12m"].notna().all()


def test_apply_coverage_agency_view():
    feats = _features(["2101-06-01", "2102-06-01"])
    cov = [("school", "2101-01-01", "2101-12-31")]
    out = apply_coverage(feats, cov, agency="school")
    for name in FEATURES:
        assert out[name].isna().tolist() == [False, True], name
    with pytest.raises(ParameterError, match="agency"):
        apply_coverage(feats, cov, agency="nhs")
    with pytest.raises(SchemaError, match="as_of"):
        apply_coverage(feats.drop(columns="as_of"), cov)


@settings(max_examples=25)
@given(
    intervals,
    st.lists(st.integers(0, 480), min_size=1, max_size=20),
    st.sampled_from(list(FEATURES)),
)
def test_apply_coverage_only_blanks(spans, days, name):
    feats = _features([_day(d) for d in days])
    feats[name] = np.arange(len(days), dtype=float)
    cov = [("hospital", _day(s), _day(s + w)) for s, w in spans] + [("gp", _day(0), _day(100))]
    out = apply_coverage(feats, cov)
    kept = out[name].notna()
    np.testing.assert_array_equal(out.loc[kept, name], feats.loc[kept, name])
    holders = FEATURES[name].agencies
    if "hospital" in holders or "any" in holders:
        in_hospital = [any(s <= d <= s + w for s, w in spans) for d in days]
        assert all(kept[i] for i, c in enumerate(in_hospital) if c)


def test_coverage_gaps_examples():
    cov = [
        ("school", "2101-01-01", "2101-03-31"),
        ("school", "2101-07-01", "2101-12-31"),
        ("police", "2100-01-01", "2101-06-30"),
    ]
    gaps = coverage_gaps(cov, "2101-01-01", "2101-12-31", agencies=["school", "police", "housing"])
    assert gaps.astype(str).values.tolist() == [
        ["school", "2101-04-01", "2101-06-30", "91"],
        ["police", "2101-07-01", "2101-12-31", "184"],
        ["housing", "2101-01-01", "2101-12-31", "365"],
    ]
    per_case = pd.DataFrame(
        {
            "agency": ["school", "school"],
            "from": ["2101-01-01", "2101-04-01"],
            "to": ["2101-03-31", "2101-05-31"],
            "case_id": [pd.NA, "c7"],
        }
    )
    g2 = coverage_gaps(per_case, "2101-01-01", "2101-06-30", agencies=["school"])
    assert g2.fillna({"case_id": "-"}).astype(str).values.tolist() == [
        ["school", "2101-04-01", "2101-06-30", "91", "-"],
        ["school", "2101-06-01", "2101-06-30", "30", "c7"],
    ]


@settings(max_examples=25)
@given(intervals, st.integers(0, 200), st.integers(0, 300))
def test_gaps_and_coverage_partition_the_period(spans, lo, width):
    cov = [("housing", _day(s), _day(s + w)) for s, w in spans]
    start, end = _day(lo), _day(lo + width)
    gaps = coverage_gaps(cov, start, end, agencies=["housing"])
    days = pd.date_range(start, end, freq="D")
    in_gap = np.zeros(len(days), dtype=bool)
    for g in gaps.itertuples():
        sel = (days >= g[2]) & (days <= g[3])
        assert not (in_gap & sel).any()
        in_gap |= sel
    cov_mask = covered(coverage_table(cov), "housing", ["c"] * len(days), days.strftime("%Y-%m-%d"))
    assert (in_gap ^ cov_mask).all()
    assert gaps["days"].sum() == int((~cov_mask).sum())
