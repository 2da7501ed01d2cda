"""Data contract: validation of events and cases, and the CSV/Parquet readers.

All data are synthetic, on the project's invented 2101-2110 calendar.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskscore.errors import DataQualityWarning, IdentifyingDataError, ParameterError, SchemaError
from riskscore.schema import (
    PROBLEM_COLUMNS,
    ValidationReport,
    check_identifying,
    ensure_cases,
    read_cases,
    read_events,
    validate_cases,
    validate_events,
)
from riskscore.synthetic import make_cohort
from riskscore.vocabulary import AGENCIES, EVENTS, VALUED_EVENTS

# ----------------------------------------------------------------------------- fixtures


def raw_events() -> pd.DataFrame:
    """Six valid events as text, the way a CSV extract arrives."""
    return pd.DataFrame(
        {
            "case_id": ["c1", "c1", "c1", "c2", "c2", "c3"],
            "date": [
                "2101-01-05",
                "2101-02-10",
                "2101-03-15",
                "2102-06-01",
                "2102-06-02",
                "2103-01-01",
            ],
            "agency": ["school", "hospital", "gp", "police", "social_care", "school"],
            "event": [
                "attendance",
                "asthma_admission",
                "reliever_prescription",
                "police_incident_home",
                "cp_plan_start",
                "school_concern",
            ],
            "value": ["0.85", "", "", "", "", ""],
            "recorded_date": ["", "2101-02-12", "", "", "", ""],
            "site": ["x1", "x2", "x3", "x4", "x5", "x6"],
        },
        dtype="str",
    )


def raw_cases() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": ["c1", "c2", "c3"],
            "birth_year": ["2095", "2097", ""],
            "sex": ["F", "M", ""],
            "imd_quintile": ["1", "5", ""],
            "outcome": ["life_threatening_asthma", "", ""],
            "outcome_date": ["2104-02-01", "", ""],
            "followup_end": ["2105-01-01", "2105-01-01", "2105-01-01"],
        },
        dtype="str",
    )


def with_cell(df: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    out = df.copy()
    out.loc[row, column] = value
    return out


def assert_problem(report: ValidationReport, column: str, check: str, rows: list[int]):
    """The report holds exactly this check on this column, with these rows, in the message."""
    hit = report.problems[
        (report.problems["column"] == column) & (report.problems["check"] == check)
    ]
    assert len(hit) == 1, str(report)
    problem = hit.iloc[0]
    assert problem["rows"] == rows
    assert problem["n_rows"] == len(rows)
    assert f".{column}:" in problem["message"]
    listed = re.findall(r"rows? ([\d, ]+)", problem["message"])[-1]
    assert [int(r) for r in listed.split(",")] == rows
    assert problem["fix"]
    # The readable form carries the same line and its fix.
    assert problem["message"] in str(report)
    assert problem["fix"] in str(report)
    return problem


# ----------------------------------------------------------------------------- happy path


def test_valid_events_are_typed():
    report = validate_events(raw_events())
    assert report.ok, str(report)
    valid = report.valid
    assert len(valid) == 6 and len(report.quarantine) == 0
    assert valid["date"].dtype == "datetime64[ns]"
    assert valid["recorded_date"].dtype == "datetime64[ns]"
    assert valid["date"].iloc[1] == pd.Timestamp(2101, 2, 10)
    assert pd.isna(valid["recorded_date"].iloc[0])
    assert isinstance(valid["agency"].dtype, pd.CategoricalDtype)
    assert list(valid["agency"].cat.categories) == list(AGENCIES)
    assert list(valid["event"].cat.categories) == list(EVENTS)
    assert valid["event"].tolist() == raw_events()["event"].tolist()
    assert valid["value"].dtype == np.float64
    assert valid["value"].iloc[0] == 0.85 and valid["value"].iloc[1:].isna().all()
    assert pd.api.types.is_string_dtype(valid["case_id"].dtype)
    assert valid["site"].tolist() == ["x1", "x2", "x3", "x4", "x5", "x6"]  # extra column kept
    assert "no problems" in str(report)
    assert report.raise_if_problems() is report


def test_typed_input_passes_and_categorical_case_id_is_kept():
    typed = validate_events(raw_events()).valid
    typed["case_id"] = typed["case_id"].astype("category")
    again = validate_events(typed)
    assert again.ok, str(again)
    assert isinstance(again.valid["case_id"].dtype, pd.CategoricalDtype)
    pd.testing.assert_series_equal(again.valid["date"], typed["date"])


def test_valid_cases_are_typed():
    report = validate_cases(raw_cases(), events=raw_events())
    assert report.ok, str(report)
    valid = report.valid
    assert valid["birth_year"].dtype == "Int64" and valid["birth_year"].tolist()[:2] == [2095, 2097]
    assert valid["imd_quintile"].dtype == "Int64"
    assert valid["outcome_date"].iloc[0] == pd.Timestamp(2104, 2, 1)
    assert valid["followup_end"].dtype == "datetime64[ns]"
    assert pd.isna(valid["outcome"].iloc[1])


# ----------------------------------------------------------------------------- each event check


def test_missing_required_column_fails_every_row_and_suggests_rename():
    df = raw_events().rename(columns={"agency": "Agency"})
    report = validate_events(df)
    p = assert_problem(report, "agency", "missing_column", list(range(6)))
    assert "rename 'Agency' to 'agency'" in p["fix"]
    assert len(report.valid) == 0 and len(report.quarantine) == 6


def test_missing_column_in_empty_table_is_still_reported():
    df = raw_events().iloc[:0].drop(columns=["event"])
    report = validate_events(df)
    assert not report.ok
    assert report.problems["check"].tolist() == ["missing_column"]
    assert "events.event" in report.problems["message"].iloc[0]


def test_empty_case_id():
    df = with_cell(with_cell(raw_events(), 2, "case_id", "  "), 4, "case_id", None)
    assert_problem(validate_events(df), "case_id", "missing_case_id", [2, 4])


def test_missing_date():
    df = with_cell(raw_events(), 3, "date", None)
    assert_problem(validate_events(df), "date", "missing_date", [3])


def test_unparseable_date_shows_the_value_masked():
    df = with_cell(with_cell(raw_events(), 1, "date", "2101-02-30"), 5, "date", "soon")
    p = assert_problem(validate_events(df), "date", "unparseable_date", [1, 5])
    # the shape of the value, never the value (a date can identify an incident)
    assert "'21**-**-**'" in p["message"] and "2101-02-30" not in p["message"]


@pytest.mark.parametrize("number", [3.5, float("inf"), -1e300])
def test_a_date_column_of_numbers_is_reported_not_crashed_on(number):
    # a date column read as numbers (a spreadsheet's serial days, 21010105.0): none is
    # an ISO date; a fraction or an infinity among them used to raise TypeError or
    # OverflowError from pandas instead of this report
    df = raw_events().assign(date=[21010105.0, number, 2.0, 45000.0, 1.0, 7.0])
    p = assert_problem(validate_events(df), "date", "unparseable_date", list(range(6)))
    assert str(number) not in p["message"]


def test_ambiguous_date_format_explains_day_month_swap():
    df = with_cell(raw_events(), 0, "date", "05/01/2101")
    p = assert_problem(validate_events(df), "date", "ambiguous_date_format", [0])
    assert "dayfirst" in p["fix"] and "format=" in p["fix"]
    assert "day first" in p["fix"] and "swaps days and months" in p["fix"]


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        ("05/01/2101", {"dayfirst": True}, pd.Timestamp(2101, 1, 5)),
        ("05/01/2101", {"dayfirst": False}, pd.Timestamp(2101, 5, 1)),
        ("05.01.2101", {"format": "%d.%m.%Y"}, pd.Timestamp(2101, 1, 5)),
        ("5 Jan 2101", {"dayfirst": True}, pd.Timestamp(2101, 1, 5)),
    ],
)
def test_explicit_date_order_parses(text, kwargs, expected):
    df = with_cell(raw_events(), 0, "date", text)
    report = validate_events(df, **kwargs)
    assert report.ok, str(report)
    assert report.valid["date"].iloc[0] == expected
    # ISO dates in the same column still read as ISO.
    assert report.valid["date"].iloc[1] == pd.Timestamp(2101, 2, 10)


def test_dayfirst_does_not_silently_fall_back_to_month_first():
    # 01/25/2101 is not a valid day-first date; a guessing parser would swap.
    df = with_cell(raw_events(), 0, "date", "01/25/2101")
    assert_problem(validate_events(df, dayfirst=True), "date", "unparseable_date", [0])


def test_time_of_day_is_a_problem():
    df = with_cell(raw_events(), 2, "date", "2101-03-15 13:45")
    assert_problem(validate_events(df), "date", "time_of_day", [2])
    typed = validate_events(raw_events()).valid
    typed.loc[typed.index[3], "date"] = pd.Timestamp(2102, 6, 1, 9, 30)
    assert_problem(validate_events(typed), "date", "time_of_day", [3])


def test_placeholder_date_out_of_range():
    df = with_cell(raw_events(), 1, "recorded_date", "9999-12-31")
    assert_problem(validate_events(df), "recorded_date", "date_out_of_range", [1])


def test_unparseable_optional_date():
    df = with_cell(raw_events(), 4, "recorded_date", "unknown")
    assert_problem(validate_events(df), "recorded_date", "unparseable_date", [4])


def test_unknown_agency_suggests_close_code():
    df = with_cell(with_cell(raw_events(), 0, "agency", "School"), 3, "agency", "polise")
    p = assert_problem(validate_events(df), "agency", "unknown_agency", [0, 3])
    assert "did you mean 'school'?" in p["message"]
    assert "did you mean 'police'?" in p["message"]


def test_unknown_event_suggests_close_code():
    df = with_cell(raw_events(), 5, "event", "school_concerns")
    p = assert_problem(validate_events(df), "event", "unknown_event", [5])
    assert "did you mean 'school_concern'?" in p["message"]


def test_missing_event_code():
    df = with_cell(raw_events(), 1, "event", "")
    assert_problem(validate_events(df), "event", "missing_code", [1])


def test_attendance_outside_range():
    df = with_cell(raw_events(), 0, "value", "85")
    p = assert_problem(validate_events(df), "value", "value_out_of_range", [0])
    assert "attendance" in p["message"] and "100" in p["fix"]


def test_attendance_value_missing():
    df = with_cell(raw_events(), 0, "value", "")
    assert_problem(validate_events(df), "value", "value_missing", [0])
    no_column = raw_events().drop(columns=["value"])
    assert_problem(validate_events(no_column), "value", "value_missing", [0])


def test_value_where_vocabulary_has_none():
    df = with_cell(raw_events(), 2, "value", "3")
    p = assert_problem(validate_events(df), "value", "value_not_allowed", [2])
    assert "attendance" in p["message"]


def test_value_not_numeric():
    df = with_cell(raw_events(), 0, "value", "85%")
    assert_problem(validate_events(df), "value", "value_not_numeric", [0])


def test_recorded_before_date():
    df = with_cell(raw_events(), 1, "recorded_date", "2101-02-09")
    assert_problem(validate_events(df), "recorded_date", "recorded_before_date", [1])


def test_duplicate_column_names():
    df = pd.concat([raw_events(), raw_events()[["site"]]], axis=1)
    assert_problem(validate_events(df), "site", "duplicate_column", list(range(6)))


# ----------------------------------------------------------------------------- each case check


def test_duplicate_case_id_marks_every_copy():
    df = with_cell(raw_cases(), 2, "case_id", "c1")
    assert_problem(validate_cases(df), "case_id", "duplicate_case_id", [0, 2])


def test_events_not_in_cases_are_reported_with_event_rows():
    events = with_cell(raw_events(), 4, "case_id", "c9")
    report = validate_cases(raw_cases(), events=events)
    hit = report.problems[report.problems["check"] == "case_id_not_in_cases"].iloc[0]
    assert hit["table"] == "events" and hit["column"] == "case_id" and hit["rows"] == [4]
    assert hit["message"].startswith("events.case_id:") and "row" in hit["message"]
    assert "4" in hit["message"]
    assert len(report.valid) == 3  # the cases themselves are fine


def test_outcome_without_date_and_date_without_outcome():
    df = with_cell(raw_cases(), 0, "outcome_date", "")
    assert_problem(validate_cases(df), "outcome_date", "outcome_without_date", [0])
    df = with_cell(raw_cases(), 1, "outcome_date", "2104-05-05")
    assert_problem(validate_cases(df), "outcome", "outcome_date_without_outcome", [1])
    no_date_column = raw_cases().drop(columns=["outcome_date"])
    assert_problem(validate_cases(no_date_column), "outcome_date", "outcome_without_date", [0])


def test_birth_year_not_integer_year():
    df = with_cell(with_cell(raw_cases(), 0, "birth_year", "95"), 1, "birth_year", "2097.5")
    assert_problem(validate_cases(df), "birth_year", "birth_year_not_year", [0, 1])


def test_imd_quintile_out_of_range():
    df = with_cell(raw_cases(), 1, "imd_quintile", "6")
    assert_problem(validate_cases(df), "imd_quintile", "imd_quintile_out_of_range", [1])


def test_cases_missing_case_id_column():
    df = raw_cases().drop(columns=["case_id"])
    assert_problem(validate_cases(df), "case_id", "missing_column", [0, 1, 2])


# ----------------------------------------------------------------------------- lazy, strict, lenient


def test_every_problem_collected_and_rows_partitioned():
    df = raw_events()
    df = with_cell(df, 0, "value", "2")
    df = with_cell(df, 1, "agency", "nurse")
    df = with_cell(df, 1, "date", "2101-13-01")
    df = with_cell(df, 3, "case_id", "")
    report = validate_events(df)
    assert set(report.problems["check"]) == {
        "value_out_of_range",
        "unknown_agency",
        "unparseable_date",
        "missing_case_id",
    }
    assert list(report.problems.columns) == list(PROBLEM_COLUMNS)
    # Nothing dropped: valid + quarantine are exactly the input rows.
    assert sorted([*report.valid.index, *report.quarantine.index]) == list(range(len(df)))
    assert list(report.quarantine.index) == [0, 1, 3]
    pd.testing.assert_frame_equal(report.quarantine.drop(columns="problems"), df.iloc[[0, 1, 3]])
    assert "agency: unknown_agency" in report.quarantine.loc[1, "problems"]
    assert "date: unparseable_date" in report.quarantine.loc[1, "problems"]
    with pytest.raises(SchemaError) as info:
        validate_events(df, strict=True)
    message = str(info.value)
    for check in report.problems["message"]:
        assert check in message
    assert info.value.report is not None and len(info.value.report.problems) == 4


def test_validate_rejects_non_dataframe():
    with pytest.raises(TypeError, match="DataFrame"):
        validate_events([{"case_id": "c1"}])


def test_identifying_data_always_raises_even_when_lenient():
    df = raw_events()
    df["surname"] = "Xq"
    with pytest.raises(IdentifyingDataError, match="surname"):
        validate_events(df, strict=False)
    report = validate_events(df, allow={"surname": "an invented test label, not a name"})
    assert report.ok
    assert report.allowed == {"surname": "an invented test label, not a name"}
    assert report.valid.attrs["riskscore_allowed"] == report.allowed
    assert "an invented test label" in str(report)


# ----------------------------------------------------------------------------- readers


def test_csv_round_trip(tmp_path):
    path = tmp_path / "events.csv"
    raw_events().to_csv(path, index=False)
    got = read_events(path)
    pd.testing.assert_frame_equal(got, validate_events(raw_events()).valid)


def test_csv_gz_and_na_text_kept(tmp_path):
    df = with_cell(raw_events(), 0, "case_id", "NA")  # a real id, not a missing value
    path = tmp_path / "events.csv.gz"
    df.to_csv(path, index=False)
    got = read_events(path)
    assert got["case_id"].iloc[0] == "NA"


def test_parquet_round_trip_file_and_directory(tmp_path):
    typed = validate_events(raw_events()).valid
    path = tmp_path / "events.parquet"
    typed.to_parquet(path)
    got = read_events(path)
    pd.testing.assert_frame_equal(got, typed, check_index_type=False)
    folder = tmp_path / "parts"
    folder.mkdir()
    typed.iloc[:3].to_parquet(folder / "part-0.parquet")
    typed.iloc[3:].to_parquet(folder / "part-1.parquet")
    both = read_events(folder)
    assert len(both) == 6
    assert sorted(both["date"]) == sorted(typed["date"])


def test_read_cases_csv_and_parquet(tmp_path):
    raw_cases().to_csv(tmp_path / "cases.csv", index=False)
    from_csv = read_cases(tmp_path / "cases.csv", events=raw_events())
    from_csv.to_parquet(tmp_path / "cases.pq")
    from_pq = read_cases(tmp_path / "cases.pq")
    pd.testing.assert_frame_equal(from_csv, from_pq, check_index_type=False)
    assert from_csv["birth_year"].tolist()[:2] == [2095, 2097]


def test_a_file_that_is_not_parquet_is_refused_in_one_line(tmp_path):
    # pyarrow's own exception (ArrowInvalid, with its C++ wording) reached the user
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not really parquet at all")
    with pytest.raises(SchemaError, match=r"bad\.parquet cannot be read as Parquet"):
        read_events(tmp_path / "bad.parquet")
    folder = tmp_path / "parts"
    folder.mkdir()
    raw_events().to_parquet(folder / "a.parquet")
    (folder / "b.parquet").write_bytes(b"not parquet")
    with pytest.raises(SchemaError, match=r"parts/b\.parquet cannot be read as Parquet"):
        read_cases(folder)


def test_a_csv_header_naming_a_column_twice_is_reported_as_in_a_frame(tmp_path):
    # pandas renamed the second "site" to "site.1" and the repeat went unreported
    df = pd.concat([raw_events(), raw_events()[["site"]]], axis=1)
    df.to_csv(tmp_path / "twice.csv", index=False)
    _, report = read_events(tmp_path / "twice.csv", strict=False, return_report=True)
    hit = report.problems[report.problems["check"] == "duplicate_column"]
    assert hit["column"].tolist() == ["site"] and hit["rows"].iloc[0] == list(range(6))
    assert "site" in str(report) and "site.1" not in str(report)


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        read_events(tmp_path / "missing.csv")
    (tmp_path / "events.xlsx").write_text("x")
    with pytest.raises(SchemaError, match=r"\.csv.*\.parquet"):
        read_events(tmp_path / "events.xlsx")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(SchemaError, match="no .parquet"):
        read_events(tmp_path / "empty_dir")


def test_reader_strict_and_lenient(tmp_path):
    df = with_cell(with_cell(raw_events(), 2, "agency", "doctor"), 4, "date", "31/12/2101")
    path = tmp_path / "events.csv"
    df.to_csv(path, index=False)
    # row 2 of the table is line 4 of the file (line 1 is the header)
    with pytest.raises(SchemaError, match="line 4") as info:
        read_events(path)
    assert "line 6" in str(info.value) and "line 2 is the first data row" in str(info.value)
    assert "ambiguous_date_format" in set(info.value.report.problems["check"])
    with pytest.warns(DataQualityWarning, match="2 of 6 events rows quarantined") as caught:
        valid = read_events(path, strict=False)
    assert {w.filename for w in caught} == {__file__}  # the caller's line, not riskscore's
    assert len(valid) == 4
    # asking for the report is asking for the quarantine: no warning on top of it
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        valid, report = read_events(path, strict=False, return_report=True)
    assert list(report.quarantine.index) == [2, 4]
    assert report.quarantine.loc[2, "agency"] == "doctor"  # original value kept
    # Telling the reader the date order fixes row 4.
    with pytest.warns(DataQualityWarning, match="1 of 6"):
        read_events(path, strict=False, dayfirst=True)


def test_reader_refuses_identifying_file_even_when_lenient(tmp_path):
    df = raw_events()
    df["notes"] = "invented"
    path = tmp_path / "events.csv"
    df.to_csv(path, index=False)
    with pytest.raises(IdentifyingDataError, match="notes"):
        read_events(path, strict=False)


# ----------------------------------------------------------------------------- properties

DAY0 = np.datetime64("2101-01-01")


@st.composite
def event_rows(draw, min_size=1, max_size=25):
    """Valid raw events drawn from the vocabulary (the schema's own declaration)."""
    n = draw(st.integers(min_size, max_size))
    rows = []
    for _ in range(n):
        event = draw(st.sampled_from(list(EVENTS)))
        day = DAY0 + np.timedelta64(draw(st.integers(0, 3650)), "D")
        value = ""
        if event in VALUED_EVENTS:
            lo, hi = VALUED_EVENTS[event]
            value = str(draw(st.floats(lo, hi, allow_nan=False).map(lambda v: round(v, 3))))
        delay = draw(st.one_of(st.none(), st.integers(0, 90)))
        rows.append(
            {
                "case_id": draw(st.sampled_from(["a1", "b22", "c333", "NA", "0042"])),
                "date": str(day),
                "agency": draw(st.sampled_from(list(AGENCIES))),
                "event": event,
                "value": value,
                "recorded_date": "" if delay is None else str(day + np.timedelta64(delay, "D")),
            }
        )
    return pd.DataFrame(rows, dtype="str")


@given(event_rows())
def test_valid_generated_events_pass(df):
    report = validate_events(df)
    assert report.ok, str(report)
    assert len(report.valid) == len(df)
    expected = pd.to_datetime(df["date"], format="%Y-%m-%d").to_numpy(dtype="datetime64[ns]")
    np.testing.assert_array_equal(report.valid["date"].to_numpy(), expected)
    assert report.valid["event"].astype("str").tolist() == df["event"].tolist()


def _corrupt(df: pd.DataFrame, row: int, kind: str) -> pd.DataFrame:
    df = df.copy()
    if kind == "missing_case_id":
        df.loc[row, "case_id"] = ""
    elif kind == "missing_date":
        df.loc[row, "date"] = ""
    elif kind == "unparseable_date":
        df.loc[row, "date"] = "2101-02-29"  # 2101 is not a leap year
    elif kind == "ambiguous_date_format":
        d = pd.Timestamp(df.loc[row, "date"])
        df.loc[row, "date"] = d.strftime("%d/%m/%Y")
    elif kind == "time_of_day":
        df.loc[row, "date"] = df.loc[row, "date"] + " 08:15"
    elif kind == "unknown_agency":
        df.loc[row, "agency"] = "nursery"
    elif kind == "unknown_event":
        df.loc[row, "event"] = "home_visit"
    elif kind == "value_out_of_range":
        df.loc[row, ["agency", "event", "value"]] = ["school", "attendance", "1.01"]
    elif kind == "value_missing":
        df.loc[row, ["agency", "event", "value"]] = ["school", "attendance", ""]
    elif kind == "value_not_allowed":
        df.loc[row, ["event", "value"]] = ["school_concern", "0.5"]
    elif kind == "recorded_before_date":
        d = pd.Timestamp(df.loc[row, "date"])
        df.loc[row, "recorded_date"] = (d - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    return df


CORRUPTIONS = [
    "missing_case_id",
    "missing_date",
    "unparseable_date",
    "ambiguous_date_format",
    "time_of_day",
    "unknown_agency",
    "unknown_event",
    "value_out_of_range",
    "value_missing",
    "value_not_allowed",
    "recorded_before_date",
]


@given(event_rows(), st.data(), st.sampled_from(CORRUPTIONS))
def test_any_single_corruption_is_found(df, data, kind):
    row = data.draw(st.integers(0, len(df) - 1))
    report = validate_events(_corrupt(df, row, kind))
    hits = report.problems[report.problems["check"] == kind]
    assert len(hits) == 1, str(report)
    assert hits["rows"].iloc[0] == [row]
    assert list(report.quarantine.index) == [row]
    assert len(report.valid) == len(df) - 1
    with pytest.raises(SchemaError, match=rf"events\.{hits['column'].iloc[0]}: .*\b{row}\b"):
        validate_events(_corrupt(df, row, kind), strict=True)


@given(event_rows(), st.lists(st.integers(0, 24), max_size=5, unique=True), st.data())
def test_lenient_mode_partitions_rows(df, bad_rows, data):
    for row in bad_rows:
        if row < len(df):
            df = _corrupt(df, row, data.draw(st.sampled_from(CORRUPTIONS)))
    report = validate_events(df)
    assert len(report.valid) + len(report.quarantine) == len(df)
    assert sorted([*report.valid.index, *report.quarantine.index]) == list(range(len(df)))
    assert set(report.quarantine.index) == {r for r in bad_rows if r < len(df)}
    assert report.quarantine["problems"].str.len().gt(0).all()


def test_cases_without_any_outcome_validate():
    """Regression: an extract with an outcome column but no outcomes raised TypeError."""
    import pandas as pd

    from riskscore import validate_cases

    cases = pd.DataFrame(
        {"case_id": ["a", "b"], "outcome": [None, None], "outcome_date": [None, None]}
    )
    report = validate_cases(cases)
    assert report.ok, str(report)
    assert report.valid["outcome"].isna().all()


def test_marks_are_trusted_only_inside_an_audit_and_only_on_its_thread():
    """An audit checks its events once and hands parts of them on unchecked; a marked
    frame broken after its check is still refused outside that block, on another
    thread meanwhile, and by the audit's own entry check."""
    import threading

    import riskscore as rs
    from riskscore.schema import checked_events, ensure_events

    events, cases = rs.vignette()
    broken = events.copy()
    broken.loc[broken.index[0], "date"] = pd.NaT  # keeps the mark, breaks the contract
    with pytest.raises(SchemaError):
        ensure_events(broken)
    other = {}

    def elsewhere():
        try:
            ensure_events(broken)
        except SchemaError as exc:
            other["error"] = exc

    with checked_events():
        assert ensure_events(broken) is broken  # trusted here (the audit's own parts)
        t = threading.Thread(target=elsewhere)
        t.start()
        t.join()
    assert "error" in other
    with pytest.raises(SchemaError):
        ensure_events(broken)
    with pytest.raises(SchemaError):
        rs.audit_case(broken, cases, rs.default_scorecard(), "CHILD-A")


@given(
    ids=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"])), max_size=30),
    unused=st.lists(st.sampled_from(["x", "y"]), unique=True),
    categorical=st.booleans(),
)
def test_category_text_is_the_distinct_ids_present_as_text(ids, unused, categorical):
    """The ids the cases check compares: those present (not unused categories, not
    missing ones), as plain str objects, whatever the column's dtype."""
    from riskscore.schema import _category_text

    if not categorical:
        ids = [i for i in ids if i is not None]  # (a text column's ids are required)
    present = {i for i in ids if i is not None}
    s = pd.Series(ids, dtype="str")
    if categorical:
        s = s.astype(pd.CategoricalDtype(sorted(present | set(unused))))
    got = _category_text(s)
    assert got.dtype == object and all(type(v) is str for v in got)
    assert sorted(got) == sorted(present)


@pytest.mark.parametrize(
    "bad, code", [("c1\nc9", "U+000A"), ("\u202ec1", "U+202E"), ("c\u200b1", "U+200B")]
)
def test_case_ids_with_control_or_format_characters_are_problems(bad, code):
    df = with_cell(with_cell(raw_events(), 1, "case_id", bad), 4, "case_id", bad)
    report = validate_events(df)
    assert_problem(report, "case_id", "unprintable_case_id", [1, 4])
    assert code in report.problems["message"].iloc[0]
    assert len(report.valid) == 4
    # surrounding white space is still only normalised, not a problem
    assert validate_events(with_cell(raw_events(), 1, "case_id", "c1\n")).ok
    cases = pd.DataFrame({"case_id": ["c1", bad]})
    assert_problem(validate_cases(cases), "case_id", "unprintable_case_id", [1])


# ------------------------------------------------------------ dates at the ns bounds
# pandas holds datetime64[ns] from 1677-09-21 00:12:43 to 2262-04-11 23:47:16: the
# first and last whole days are 1677-09-22 and 2262-04-11.


@pytest.mark.parametrize("column", ["date", "recorded_date"])
@pytest.mark.parametrize("day", ["1677-09-22", "2262-04-11"])
def test_the_first_and_last_days_pandas_holds_are_read(column, day):
    # 1677-09-22 was refused as "time_of_day": numpy's ns -> day cast wraps there
    df = raw_events().iloc[:1].copy()
    df["date"] = df["recorded_date"] = day
    df["agency"], df["event"], df["value"] = "hospital", "asthma_admission", ""
    report = validate_events(df)
    assert report.ok, str(report)
    assert report.valid[column].tolist() == [pd.Timestamp(day)]


@pytest.mark.parametrize("column", ["date", "recorded_date"])
@pytest.mark.parametrize(
    "value",
    ["1677-09-21", "2262-04-12", "2262-04-11 23:59:00", np.datetime64("1677-09-21", "s"),
     np.datetime64("2262-04-12", "s"), np.datetime64("3000-01-01", "s")],
)  # fmt: skip
def test_days_pandas_cannot_hold_are_out_of_range(column, value):
    df = raw_events().iloc[:2].copy().reset_index(drop=True)
    if isinstance(value, np.datetime64):  # a typed column of a unit wider than ns
        other = "date" if column == "recorded_date" else "recorded_date"
        df[column] = np.array([value, "2101-01-05"], dtype="datetime64[s]")
        df[other] = np.array(["2101-01-05"] * 2, dtype="datetime64[s]")
    else:
        df.loc[0, column] = value
    assert_problem(validate_events(df), column, "date_out_of_range", [0])
    problem = validate_events(df).problems.set_index("check").loc["date_out_of_range"]
    assert "1677-09-22" in problem["message"] and "2262-04-11" in problem["message"]


def test_a_time_on_the_last_day_pandas_holds_is_a_time_of_day():
    # 12:00 on 2262-04-11 is held by pandas: the problem is the time, not the range
    df = with_cell(raw_events(), 2, "date", "2262-04-11 12:00")
    assert_problem(validate_events(df), "date", "time_of_day", [2])


@pytest.mark.parametrize("column", ["outcome_date", "followup_end"])
def test_case_dates_at_the_ns_bounds(column):
    df = raw_cases()
    df.loc[0, column] = "1677-09-22"
    df.loc[0, "followup_end" if column == "outcome_date" else "outcome_date"] = "2262-04-11"
    report = validate_cases(df)
    assert not any(report.problems["check"].isin(["time_of_day", "date_out_of_range"])), str(report)
    assert report.valid[column].iloc[0] == pd.Timestamp("1677-09-22")
    df.loc[1, column] = "2262-04-12"
    if column == "outcome_date":
        df.loc[1, "outcome"] = "life_threatening_asthma"
    assert_problem(validate_cases(df), column, "date_out_of_range", [1])


# ------------------------------------------------------------ odd inputs a user can make


@pytest.mark.parametrize("column", ["case_id", "date", "agency", "site"])
@pytest.mark.parametrize("cell", [["c1"], {"a": 1}, {"x"}])
def test_a_cell_holding_a_list_or_dict_is_refused_by_column_and_row(column, cell):
    # raised TypeError: unhashable type: 'list' (from the identifying-data guard)
    df = raw_events()
    df[column] = df.get(column, pd.Series("x", index=df.index)).astype(object)
    df.at[3, column] = cell
    for call in (validate_events, check_identifying):
        with pytest.raises(SchemaError, match=rf"events\.{column}: .*row 3.*one value"):
            call(df)


def test_complex_values_are_not_numbers():
    # 0.5+1j was read as 0.5 (numpy drops the imaginary part)
    df = raw_events()
    df["value"] = pd.Series([np.nan] * 4 + [0.5 + 1j, np.nan])
    df.loc[4, ["agency", "event"]] = ["school", "attendance"]
    assert_problem(validate_events(df), "value", "value_not_numeric", [4])


@pytest.mark.parametrize("events", [[1, 2], "events.csv", pd.Series(["c1"])])
def test_validate_cases_refuses_events_that_are_not_a_table(events):
    # was ignored without a word: the orphan check did not run
    with pytest.raises(ParameterError, match=r"events must be a pandas DataFrame"):
        validate_cases(raw_cases(), events)
    valid = validate_cases(raw_cases()).valid  # trusted: raised TypeError or KeyError
    with pytest.raises(ParameterError, match=r"events must be a pandas DataFrame"):
        ensure_cases(valid, events)


def test_validate_cases_refuses_events_without_one_case_id_column():
    events = raw_events()
    # no case_id: the orphan check was skipped without a word
    with pytest.raises(SchemaError, match=r"events has no 'case_id' column"):
        validate_cases(raw_cases(), events.drop(columns="case_id"))
    with pytest.raises(SchemaError, match=r"events has no 'case_id' column"):
        ensure_cases(validate_cases(raw_cases()).valid, events.drop(columns="case_id"))
    # case_id twice raised AttributeError: 'DataFrame' object has no attribute 'dtype'
    twice = pd.concat([events, events[["case_id"]]], axis=1)
    with pytest.raises(SchemaError, match=r"events: column 'case_id' appears more than once"):
        validate_cases(raw_cases(), twice)


def test_time_zone_aware_datetimes_among_text_read_as_their_local_day():
    # a column mixing text and tz-aware Timestamps (a hand-built or concatenated frame)
    # reported the Timestamps as "values are not dates"; a tz-aware datetime64 column
    # reads as its local day, and so does each such value
    df = raw_events()
    local = pd.Timestamp("2101-01-05", tz="Europe/London")
    df["date"] = pd.Series([local, *df["date"].iloc[1:]], dtype=object)
    df["recorded_date"] = pd.Series([pd.Timestamp("2101-01-06", tz="Asia/Tokyo")] + [None] * 5,
                                    dtype=object)  # fmt: skip
    report = validate_events(df)
    assert report.ok, str(report)
    assert report.valid["date"].iloc[0] == pd.Timestamp("2101-01-05")
    assert report.valid["recorded_date"].iloc[0] == pd.Timestamp("2101-01-06")


# ------------------------------------------------------- a folder of Parquet files
# pd.read_parquet(folder) takes the first file's columns and types: a column only
# later files held was dropped without a word, integer ids in one file and text ids
# in another were "cannot be read as Parquet", and key=value folders added a column.


def _parts(tmp_path, *frames, name="parts") -> object:
    folder = tmp_path / name
    folder.mkdir()
    for i, frame in enumerate(frames):
        frame.to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


def test_a_column_only_later_files_hold_is_kept(tmp_path):
    typed = validate_events(raw_events()).valid
    first = typed.iloc[3:].drop(columns=["value", "recorded_date"])
    folder = _parts(tmp_path, first, typed.iloc[:3])
    got = read_events(folder)
    assert len(got) == 6
    assert got["value"].tolist()[3] == 0.85
    assert got["value"].iloc[:3].isna().all()
    assert got["recorded_date"].tolist()[4] == pd.Timestamp("2101-02-12")
    assert got["recorded_date"].iloc[:3].isna().all()
    cases = validate_cases(raw_cases()).valid
    folder = _parts(tmp_path, cases.iloc[:1][["case_id"]], cases.iloc[1:], name="cases")
    got = read_cases(folder)
    assert got["followup_end"].notna().tolist() == [False, True, True]
    assert got["birth_year"].tolist()[1] == 2097


@pytest.mark.parametrize("lacking", [0, 1])
def test_a_required_column_missing_from_some_file_is_refused_naming_it(tmp_path, lacking):
    typed = validate_events(raw_events()).valid
    parts = [typed.iloc[:3], typed.iloc[3:]]
    parts[lacking] = parts[lacking].drop(columns=["event"])
    folder = _parts(tmp_path, *parts)
    with pytest.raises(SchemaError, match=rf"'event'.*parts/part-{lacking}\.parquet") as info:
        read_events(folder)
    assert "Fix" in str(info.value)


def test_integer_ids_in_one_file_and_text_ids_in_another_are_read_as_text(tmp_path):
    typed = validate_events(raw_events()).valid
    first = typed.iloc[:3].assign(case_id=[101, 101, 102])
    folder = _parts(tmp_path, first, typed.iloc[3:])
    got = read_events(folder)
    assert got["case_id"].astype(str).tolist() == ["101", "101", "102", "c2", "c2", "c3"]
    cases = pd.DataFrame({"case_id": ["c1", "c2"], "followup_end": ["2105-01-01"] * 2})
    folder = _parts(tmp_path, cases.iloc[1:], cases.iloc[:1].assign(case_id=[7]), name="c")
    assert read_cases(folder)["case_id"].astype(str).tolist() == ["c2", "7"]


def test_a_column_of_other_types_in_two_files_is_refused_naming_both(tmp_path):
    typed = validate_events(raw_events()).valid
    second = typed.iloc[3:].assign(date=["2102-06-01", "2102-06-02", "2103-01-01"])
    folder = _parts(tmp_path, typed.iloc[:3], second)
    with pytest.raises(SchemaError, match=r"'date'.*part-0\.parquet.*part-1\.parquet") as info:
        read_events(folder)
    assert "Fix" in str(info.value)
    # a whole number where another file holds decimals, or a file whose column is
    # empty (stored as nulls), is not a difference
    first = typed.iloc[:3].assign(value=pd.array([1, None, None], dtype="Int64"))
    second = typed.iloc[3:].assign(value=[None, None, None])
    got = read_events(_parts(tmp_path, first, second, name="numbers"))
    assert got["value"].tolist()[:1] == [1.0]


def test_key_value_folders_are_refused_when_the_files_lack_the_key(tmp_path):
    # pyarrow added "year" from the folder names (the Dask reader does not)
    typed = validate_events(raw_events()).valid
    folder = tmp_path / "hive"
    for year, part in [("2101", typed.iloc[:3]), ("2102", typed.iloc[3:])]:
        (folder / f"year={year}").mkdir(parents=True)
        part.to_parquet(folder / f"year={year}" / "part.parquet", index=False)
    with pytest.raises(SchemaError, match=r"year=2101, year=2102.*'year'") as info:
        read_events(folder)
    assert "Fix" in str(info.value)
    # a key the files hold as a column is read from the files, as the Dask reader does
    folder = tmp_path / "held"
    for case, part in typed.groupby("case_id"):
        (folder / f"case_id={case}").mkdir(parents=True)
        part.to_parquet(folder / f"case_id={case}" / "part.parquet", index=False)
    got = read_events(folder)
    assert sorted(got.columns) == sorted(typed.columns)
    assert sorted(got["case_id"].astype(str)) == sorted(typed["case_id"].astype(str))


# ------------------------------------------------------------- boolean case ids


def test_boolean_case_ids_are_problems_naming_the_rows(tmp_path):
    # True/False were stored as the ids 'True'/'False': a column of flags read as two children
    df = raw_events().astype(object)
    df.loc[1, "case_id"] = True
    df.loc[4, "case_id"] = np.False_
    report = validate_events(df)
    assert_problem(report, "case_id", "boolean_case_id", [1, 4])
    assert len(report.valid) == 4
    flags = pd.DataFrame({"case_id": [True, False, True], "followup_end": ["2105-01-01"] * 3})
    report = validate_cases(flags)
    assert_problem(report, "case_id", "boolean_case_id", [0, 1, 2])
    assert len(report.valid) == 0
    nullable = flags.assign(case_id=pd.array([True, None, False], dtype="boolean"))
    assert_problem(validate_cases(nullable), "case_id", "boolean_case_id", [0, 2])
    categorical = flags.assign(case_id=pd.Categorical([True, False, True]))
    assert_problem(validate_cases(categorical), "case_id", "boolean_case_id", [0, 1, 2])
    with pytest.raises(SchemaError, match="boolean_case_id|True or False"):
        validate_events(df, strict=True)
    # True beside the id 1 (pandas hashes them as one value) is still found
    mixed = flags.assign(case_id=pd.Series([1, True, "c3"], dtype=object))
    assert_problem(validate_cases(mixed), "case_id", "boolean_case_id", [1])
    # a folder whose one file holds flags as ids: refused, not read as text
    typed = validate_events(raw_events()).valid
    folder = _parts(tmp_path, typed.iloc[:3].assign(case_id=[True, True, False]), typed.iloc[3:])
    with pytest.raises(SchemaError, match=r"True or False.*; rows 0, 1, 2\n"):
        read_events(folder)


# ------------------------------------------------------------- whole numbers beyond 64 bits


@pytest.mark.parametrize(
    "table, column, value",
    [
        ("events", "case_id", 10**20),
        ("events", "site", -(10**19)),
        ("cases", "case_id", 2**63),
        ("cases", "case_id", np.uint64(2**64 - 1)),
        ("cases", "birth_year", 10**30),
    ],
)
def test_whole_numbers_too_large_for_64_bits_are_refused_naming_column_and_rows(
    table, column, value
):
    # an object column holding a Python int beyond int64 (a 20-digit id pasted as a
    # number) crashed the identifying-data guard with "OverflowError: Python int too
    # large to convert to C long", naming neither the column nor the rows
    df = (raw_events() if table == "events" else raw_cases()).astype(object)
    df.loc[1, column] = value
    validate = validate_events if table == "events" else validate_cases
    with pytest.raises(SchemaError) as info:
        validate(df)
    message = str(info.value)
    assert f"{table}.{column}:" in message and "row 1" in message, message
    assert "64-bit" in message and "Fix:" in message, message
    with pytest.raises(SchemaError, match=f"{table}.{column}:"):
        check_identifying(df, table=table)


# ------------------------------------------------------------- a required column held as the index


def test_a_required_column_held_as_the_index_says_reset_index_not_add(tmp_path):
    # events.set_index("case_id") (or a Parquet file written with that index, which
    # pandas reads back as the index) was told "add column 'case_id'": the column is
    # there, as the index
    indexed = raw_events().set_index(["case_id", "date"])
    problem = assert_problem(validate_events(indexed), "case_id", "missing_column", list(range(6)))
    assert "index" in problem["fix"] and "reset_index()" in problem["fix"], problem["fix"]
    assert "add column" not in problem["fix"]
    cases = raw_cases().set_index("case_id")
    problem = assert_problem(validate_cases(cases), "case_id", "missing_column", [0, 1, 2])
    assert "reset_index()" in problem["fix"], problem["fix"]
    path = tmp_path / "events.parquet"
    raw_events().set_index("case_id").to_parquet(path)
    with pytest.raises(SchemaError, match=r"'case_id' is the table's index"):
        read_events(path)


# ------------------------------------------------------------- look-alike column names


@pytest.mark.parametrize(
    "column, written, named",
    [
        ("agency", "\u0430gency", "U+0430 CYRILLIC SMALL LETTER A"),
        ("case_id", "case\u200b_id", "U+200B ZERO WIDTH SPACE"),
        ("event", "\u0435vent", "U+0435 CYRILLIC SMALL LETTER IE"),
    ],
)
def test_a_look_alike_column_name_says_which_character_differs(tmp_path, column, written, named):
    # the fix read "rename 'аgency' to 'agency'": the two names print the same, so the
    # user could not see what to change
    df = raw_events().rename(columns={column: written})
    problem = assert_problem(validate_events(df), column, "missing_column", list(range(6)))
    assert named in problem["fix"], problem["fix"]
    path = tmp_path / "events.csv"
    df.to_csv(path, index=False)
    with pytest.raises(SchemaError, match=re.escape(named)):
        read_events(path)


# ------------------------------------------------------------- a Parquet file with a repeated column


def test_a_parquet_file_with_a_repeated_column_name_says_so(tmp_path):
    # pyarrow writes a file with two columns named "date"; it was refused as "cannot be
    # read as Parquet (Multiple matches for FieldRef.Name(date) ...) ... check that every
    # file is a whole Parquet file": the file is whole, a column name is repeated
    import pyarrow as pa
    import pyarrow.parquet as pq

    ev = raw_events()
    arrays = [pa.array(ev[c]) for c in ev.columns] + [pa.array(ev["date"])]
    path = tmp_path / "events.parquet"
    pq.write_table(pa.Table.from_arrays(arrays, names=[*ev.columns, "date"]), path)
    with pytest.raises(SchemaError) as info:
        read_events(path)
    message = str(info.value)
    assert "'date'" in message and "more than once" in message, message
    assert "whole Parquet file" not in message, message


# ------------------------------------------------------------- ids held as floating-point numbers


@pytest.mark.parametrize(
    "bad",
    [1e20, np.inf, 1.5],
)
@pytest.mark.parametrize("dtype", ["float64", "Float64"])
def test_float_ids_that_are_not_exact_whole_numbers_are_problems_on_their_rows(bad, dtype):
    # case_id as floats: 1e20 crashed ("cannot safely cast non-equivalent float64 to
    # int64"), inf crashed ("cannot convert float infinity to integer"), nullable
    # Float64 1e20 became the id '-9223372036854775808' without a word, and one 1.5
    # turned every other id into '1.0', '2.0' (so child 1 was "not in cases")
    ids = pd.array([1.0, bad, 1.0, 2.0, 2.0, 3.0], dtype=dtype)
    events = raw_events().assign(case_id=ids)
    report = validate_events(events)
    problem = assert_problem(report, "case_id", "case_id_not_whole_number", [1])
    assert "text" in problem["fix"]
    assert report.valid["case_id"].tolist() == ["1", "1", "2", "2", "3"]
    cases = pd.DataFrame({"case_id": ["1", "2", "3"]})
    orphans = validate_cases(cases, events=events).problems
    assert orphans["check"].tolist() == ["case_id_not_in_cases"]
    assert orphans["rows"].tolist() == [[1]]
    as_cases = pd.DataFrame({"case_id": pd.array([1.0, bad, 3.0], dtype=dtype)})
    report = validate_cases(as_cases)
    assert_problem(report, "case_id", "case_id_not_whole_number", [1])
    assert report.valid["case_id"].tolist() == ["1", "3"]


# ------------------------------------------------------------- a date column spelt otherwise


@pytest.mark.parametrize(
    "table, column, written",
    [
        ("events", "date", "Date"),
        ("events", "date", "date\u00a0"),
        ("events", "recorded_date", "Recorded Date"),
        ("cases", "outcome_date", "Outcome_Date "),
        ("cases", "followup_end", "FOLLOWUP_END"),
    ],
)
def test_a_contract_date_column_spelt_otherwise_is_told_to_rename_not_anonymise(
    tmp_path, table, column, written
):
    # a header "Date" was refused as identifying ("holds full dates outside the
    # contract's date columns ... remove or anonymise column 'Date' ... or pass
    # allow={'Date': ...}"): it is the date column, spelt with a capital
    df = (raw_events() if table == "events" else raw_cases()).rename(columns={column: written})
    validate = validate_events if table == "events" else validate_cases
    with pytest.raises(SchemaError) as info:
        validate(df)
    assert not isinstance(info.value, IdentifyingDataError), str(info.value)
    assert f"rename {written!r} to {column!r}" in str(info.value), str(info.value)
    path = tmp_path / f"{table}.csv"
    df.to_csv(path, index=False)
    read = read_events if table == "events" else read_cases
    with pytest.raises(SchemaError) as info:
        read(path)
    assert not isinstance(info.value, IdentifyingDataError), str(info.value)
    assert f"rename {written!r} to {column!r}" in str(info.value), str(info.value)


def _mixed_id_folder(tmp_path, numeric_ids) -> Path:
    """A folder of two Parquet files of events: case_id as text in one, numbers in the other."""
    events, _ = make_cohort(20, random_state=0)[:2]
    events = events.astype({"case_id": str, "agency": str, "event": str})
    folder = tmp_path / "events"
    folder.mkdir()
    events.iloc[:50].to_parquet(folder / "part-0.parquet")
    events.iloc[50:100].assign(case_id=numeric_ids).to_parquet(folder / "part-1.parquet")
    return folder


@pytest.mark.parametrize("bad", [1e20, 1.5, float("inf")])
def test_a_parquet_folder_mixing_text_ids_with_numbers_that_are_not_ids_says_so(tmp_path, bad):
    # one file's case_id held as float numbers, the other's as text: the folder reader
    # turned the numbers into text ids and crashed on 1e20 ("cannot safely cast
    # non-equivalent float64 to int64", an internal error on the command line)
    folder = _mixed_id_folder(tmp_path, [2.0, bad] + [3.0] * 48)
    with pytest.raises(SchemaError) as info:
        read_events(folder)
    message = str(info.value)
    assert "part-1.parquet" in message and "'case_id'" in message, message
    assert "rows [1]" in message and "Fix:" in message and "text" in message, message


def test_a_parquet_folder_mixing_text_ids_with_whole_numbers_reads_them_as_ids(tmp_path):
    out = read_events(_mixed_id_folder(tmp_path, 7.0))
    assert (out["case_id"].astype(str) == "7").sum() == 50
