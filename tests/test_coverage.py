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


# --- inputs a careful user would want refused or read right --------------------------------

_F = "police_incidents_home_12m"
_COV = [("police", "2101-01-01", "2101-12-31")]


def _feats(values) -> pd.DataFrame:
    return pd.DataFrame(
        {"case_id": ["c1", "c1"], "as_of": ["2101-06-01", "2103-06-01"], _F: values}
    )


@pytest.mark.parametrize(
    "values",
    [
        ["a", "1"],  # raised ValueError: could not convert string to float: 'a'
        ["0", "1"],  # text that looks like numbers was converted without a word
        pd.Series(["1.5", "2"], dtype="string"),
        pd.Categorical(["a", "b"]),  # raised ValueError: Cannot cast str dtype to float64
        pd.to_datetime(["2101-01-01", "2101-01-02"]),  # TypeError: Cannot cast DatetimeArray
        pd.to_timedelta([1, 2], unit="D"),  # TypeError: Cannot cast TimedeltaArray
        np.array([1 + 1j, 2]),  # the imaginary part was dropped silently
    ],
)
def test_apply_coverage_refuses_feature_columns_that_are_not_numbers(values):
    with pytest.raises(SchemaError, match=rf"apply_coverage: column '{_F}' is not numbers"):
        apply_coverage(_feats(values), _COV)
    with pytest.raises(TypeError):  # numpy's error converting them, as the models raise
        apply_coverage(_feats(values), _COV)


@pytest.mark.parametrize(
    "values",
    [
        [0, 1],
        [True, False],
        pd.array([1, None], dtype="Int64"),
        pd.array([1.0, None], dtype="Float64"),
        pd.Series([1, 2.5], dtype=object),
        pd.Categorical([1.0, 2.0], categories=[1.0, 2.0, 3.0]),  # an unused category
    ],
)
def test_apply_coverage_reads_numbers_of_any_kind(values):
    got = apply_coverage(_feats(values), _COV)[_F]
    assert got.dtype == np.float64
    assert np.isnan(got.iloc[1]) and got.iloc[0] == float(pd.Series(values).astype(float)[0])


@pytest.mark.parametrize("column", ["case_id", "as_of", _F])
def test_apply_coverage_refuses_a_column_given_twice(column):
    # a feature given twice raised ValueError: Array conditional must be same shape as
    # self; as_of twice: Cannot construct a Series from a DataFrame
    feats = _feats([0.0, 1.0])
    twice = pd.concat([feats, feats[[column]]], axis=1)
    with pytest.raises(
        SchemaError, match=rf"apply_coverage: column\(s\) \['{column}'\].*more than once"
    ):
        apply_coverage(twice, _COV)


def test_coverage_table_refuses_a_column_given_twice():
    # raised ValueError: Cannot construct a Series from a DataFrame
    table = pd.DataFrame(
        [["police", "2101-01-01", "2101-12-31", "2102-12-31"]],
        columns=["agency", "from", "to", "to"],
    )
    with pytest.raises(
        SchemaError, match=r"coverage table 0: column\(s\) \['to'\].*more than once"
    ):
        coverage_table(table)


def test_coverage_from_the_first_day_pandas_holds_covers_it():
    # from 1677-09-22 became 2262-04-11 (numpy's ns -> day cast wraps): nothing covered
    cov = coverage_table([("police", "1677-09-22", "1677-12-31")])
    got = covered(cov, "police", ["c1", "c1", "c1"], ["1677-09-22", "1677-10-01", "1678-01-01"])
    assert got.tolist() == [True, True, False]
    per_case = coverage_table(
        pd.DataFrame({"agency": ["police"], "from": ["1677-09-22"], "to": ["1677-12-31"],
                      "case_id": ["c1"]})
    )  # fmt: skip
    assert covered(per_case, "police", ["c1", "c2"], ["1677-10-01"] * 2).tolist() == [True, False]
    feats = _feats([0.0, 1.0]).assign(as_of=["1677-10-01", "1678-06-01"])
    assert apply_coverage(feats, cov)[_F].tolist()[0] == 0.0


@pytest.mark.parametrize("row", [("1677-09-21", "2101-01-01"), ("2262-04-12", "2262-04-12")])
def test_coverage_dates_pandas_cannot_hold_are_said_to_be_out_of_range(row):
    # was "blank or not ISO dates" for an ISO date
    with pytest.raises(
        SchemaError, match=r"column 'from' rows \[1\].*outside 1677-09-22 to 2262-04-11"
    ):
        coverage_table([("school", "2101-01-01", "2101-12-31"), ("police", *row)])


def test_covered_refuses_case_ids_and_dates_of_different_lengths():
    # the shorter was broadcast or cut without a word
    cov = coverage_table(_COV)
    with pytest.raises(ParameterError, match=r"covered: 1 case_id but 2 dates"):
        covered(cov, "police", ["c1"], ["2101-10-01", "2101-10-02"])
    with pytest.raises(ParameterError, match=r"covered: case_id and dates must be sequences"):
        covered(cov, "police", 7, ["2101-10-01"])  # raised TypeError: len() of an int


def test_coverage_gaps_at_the_first_and_last_days_pandas_holds():
    # start 1677-09-22 or coverage to 2262-04-11 raised OverflowError (a day before or
    # after them is beyond what pandas holds)
    gaps = coverage_gaps(
        [("police", "1677-10-01", "1677-12-31")], "1677-09-22", "1678-01-10", agencies=["police"]
    )
    assert gaps.astype(str).values.tolist() == [
        ["police", "1677-09-22", "1677-09-30", "9"],
        ["police", "1678-01-01", "1678-01-10", "10"],
    ]
    gaps = coverage_gaps(
        [("police", "2262-01-01", "2262-04-11")], "2261-12-30", "2262-04-11", agencies=["police"]
    )
    assert gaps.astype(str).values.tolist() == [["police", "2261-12-30", "2261-12-31", "2"]]


def test_coverage_to_the_last_day_pandas_holds_merges():
    # a row to 2262-04-11 followed by another raised OverflowError (its next day)
    cov = coverage_table(
        [("police", "2101-01-01", "2262-04-11"), ("police", "2150-01-01", "2160-01-01"),
         ("police", "1677-09-22", "1677-12-31"), ("police", "1678-01-01", "1678-02-01")]
    )  # fmt: skip
    assert cov.astype(str).values.tolist() == [
        ["police", "1677-09-22", "1678-02-01"],
        ["police", "2101-01-01", "2262-04-11"],
    ]


def test_a_numeric_case_id_read_with_blanks_matches_its_child():
    # a CSV case_id column with blanks (rows for every child) reads as floats: 7.0
    # became "7.0" and never matched child 7, whose coverage was silently lost
    table = pd.DataFrame(
        {"agency": ["police", "school"], "from": ["2101-01-01"] * 2, "to": ["2101-12-31"] * 2,
         "case_id": [np.nan, 7.0]}
    )  # fmt: skip
    cov = coverage_table(table)
    assert cov["case_id"].tolist()[1] == "7"
    assert covered(cov, "school", [7, "7", 8], ["2101-06-01"] * 3).tolist() == [True, True, False]
    feats = pd.DataFrame({"case_id": [7], "as_of": ["2101-06-01"], "attendance_recent": [0.9]})
    assert apply_coverage(feats, table)["attendance_recent"].tolist() == [0.9]
