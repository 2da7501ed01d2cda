"""The identifying-data guard and pseudonymisation.

Every NHS-number-shaped value here is constructed in the test from invented digits
(mostly the 999 prefix, which the NHS reserves for testing); postcodes use the
non-existent area "YY"; names are invented. Nothing is real.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskscore.errors import IdentifyingDataError, ParameterError, SchemaError
from riskscore.privacy import (
    MAX_SHIFT_DAYS,
    TOKEN_HEX_CHARS,
    check_identifying,
    nhs_number_valid,
    pseudonymise,
)
from riskscore.schema import validate_cases, validate_events

KEY = b"test-key-0123456789-abcdefghij"  # invented, 30 bytes


def nhs_check_digit(first_nine: str) -> int | None:
    """Independent oracle: the modulus-11 check digit by the published rule, digit by digit."""
    total = 0
    weight = 10
    for ch in first_nine:
        total += int(ch) * weight
        weight -= 1
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None  # no valid number has this prefix
    return check


def events_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": ["c1", "c1", "c2"],
            "date": ["2101-01-05", "2101-03-01", "2102-06-01"],
            "agency": ["school", "gp", "police"],
            "event": ["school_concern", "reliever_prescription", "police_incident_home"],
        }
    )


def with_column(name: str, values) -> pd.DataFrame:
    df = pd.concat([events_frame()] * 4, ignore_index=True)
    df[name] = (list(values) * len(df))[: len(df)]
    return df


# ----------------------------------------------------------------------------- NHS numbers


def test_nhs_check_digit_hand_computed():
    # 9 9 9 1 2 3 4 5 7 weighted 10..2: 90+81+72+7+12+15+16+15+14 = 322;
    # 322 mod 11 = 3; 11 - 3 = 8, so the check digit is 8.
    assert nhs_check_digit("999123457") == 8
    # 9 9 9 1 2 3 4 0 2: 90+81+72+7+12+15+16+0+4 = 297 = 27 * 11; 11 - 0 = 11 -> 0.
    assert nhs_check_digit("999123402") == 0
    # 9 9 9 1 2 3 4 5 6: ... +12 = 320; 320 mod 11 = 1; 11 - 1 = 10: no valid number.
    assert nhs_check_digit("999123456") is None
    # the 3-3-4 groups joined by any separator: spaces, dashes, dots, no-break spaces
    passing = [
        "9991234578",
        "999 123 4578",
        "999-123-4578",
        "999.123.4578",
        "999\u00a0123\u00a04578",
        "999 - 123 - 4578",
        "999 1234578",  # groups run together: still the number
        9991234578,
        "9991234020",
    ]
    # wrong check digit, impossible prefix, too short, not 3-3-4, missing, repeated
    # digit, eleven digits
    failing = [
        "9991234579",
        "9991234560",
        "99912345",
        "99 912 34578",
        None,
        "1111111111",
        "99912345780",
    ]
    assert nhs_number_valid(passing).all()
    assert not nhs_number_valid(failing).any()


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(0, 9))
def test_nhs_vectorised_check_matches_oracle(prefix, digit):
    expected = nhs_check_digit(prefix) == digit and len(set(prefix + str(digit))) > 1
    assert nhs_number_valid([prefix + str(digit)])[0] == expected


def _valid_nhs_numbers(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        prefix = "999" + "".join(map(str, rng.integers(0, 10, 6)))
        check = nhs_check_digit(prefix)
        if check is not None:
            out.append(f"{prefix[:3]} {prefix[3:6]} {prefix[6:]}{check}")
    return out


def test_nhs_number_column_refused_with_masked_value():
    numbers = _valid_nhs_numbers(12, seed=1)
    df = with_column("ref", numbers)
    problems = check_identifying(df)
    assert [(p["column"], p["check"]) for p in problems] == [("ref", "nhs_number")]
    message = problems[0]["message"]
    assert "modulus-11" in message and "events.ref" in message
    assert not any(n in message or n.replace(" ", "") in message for n in numbers)
    assert "allow={'ref':" in problems[0]["fix"]


def test_nhs_numbers_as_case_id_are_refused():
    df = events_frame()
    df["case_id"] = [n.replace(" ", "") for n in _valid_nhs_numbers(3, seed=2)]
    with pytest.raises(IdentifyingDataError, match="case_id"):
        validate_events(df)


def test_nhs_numbers_as_integers_are_refused():
    df = with_column("ref", [int(n.replace(" ", "")) for n in _valid_nhs_numbers(12, seed=3)])
    assert [p["check"] for p in check_identifying(df)] == ["nhs_number"]


def test_random_ten_digit_ids_pass():
    # About 1 in 11 random 10-digit ids pass mod 11; the share rule keeps them allowed.
    rng = np.random.default_rng(7)
    ids = [f"{v:010d}" for v in rng.integers(10**9, 10**10, 2000)]
    share = nhs_number_valid(ids).mean()
    assert 0.04 < share < 0.15
    df = pd.DataFrame({"case_id": ids, "ref": ids})
    assert check_identifying(df, table="cases") == []


# ----------------------------------------------------------------------------- other values


def test_postcodes_refused():
    codes = [f"YY{d} {d}Z{c}" for d, c in zip(range(1, 10), "ABDEFGHJL", strict=True)]
    problems = check_identifying(with_column("area", codes))
    assert [(p["column"], p["check"]) for p in problems] == [("area", "postcode")]
    assert "YY1 1ZA" not in problems[0]["message"]


def test_person_names_refused_but_not_in_code_columns():
    names = ["Zorbo Quimble", "Ulla Vantrip", "Mib Ostrander-Kell", "Quill, Yarrow"]
    problems = check_identifying(with_column("contact", names))
    assert [(p["column"], p["check"]) for p in problems] == [("contact", "person_name")]
    assert "Zorbo" not in problems[0]["message"]
    # A label column of the contract may hold title-case words ("White British").
    cases = pd.DataFrame({"case_id": ["c1", "c2"], "ethnic_group": ["Zorbo Quimble"] * 2})
    assert check_identifying(cases, table="cases") == []


def test_free_text_refused():
    text = "the worker visited and the child said the flat was cold again this week"
    problems = check_identifying(with_column("entry", [text, text + " too"]))
    assert [(p["column"], p["check"]) for p in problems] == [("entry", "free_text")]


def test_full_dates_of_birth_refused():
    cases = pd.DataFrame({"case_id": ["c1", "c2"], "birth_year": ["2095-03-04", "2097"]})
    with pytest.raises(IdentifyingDataError, match="birth_year.*full dates"):
        validate_cases(cases)
    cases = pd.DataFrame({"case_id": ["c1"], "year_of_birth": pd.to_datetime(["2095-03-04"])})
    assert [p["check"] for p in check_identifying(cases)] == ["date_of_birth"]
    fine = pd.DataFrame({"case_id": ["c1", "c2"], "birth_year": [2095, 2097]})
    assert check_identifying(fine, table="cases") == []


@pytest.mark.parametrize(
    "column",
    [
        "name",
        "first_name",
        "Surname",
        "forename",
        "nhs_number",
        "NHSNumber",
        "postcode",
        "dob",
        "date_of_birth",
        "address_line_1",
        "free_text",
        "notes",
        "comments",
        "email",
    ],
)
def test_identifying_column_names_refused(column):
    df = with_column(column, ["k1", "k2"])
    problems = check_identifying(df)
    assert [(p["column"], p["check"]) for p in problems] == [(column, "identifying_name")]
    with pytest.raises(IdentifyingDataError) as info:
        validate_events(df)
    assert f"events.{column}" in str(info.value) and "allow=" in str(info.value)


def test_contract_and_plain_columns_not_flagged():
    df = with_column("site", ["s1", "s2"])
    df["value"] = np.nan
    assert check_identifying(df) == []


def test_allow_skips_column_and_keeps_reason():
    df = with_column("ref", _valid_nhs_numbers(4, seed=5))
    report = validate_events(df, allow={"ref": "synthetic test ids, not NHS numbers"})
    assert report.ok
    assert report.allowed == {"ref": "synthetic test ids, not NHS numbers"}
    with pytest.raises(SchemaError, match="reason"):
        check_identifying(df, allow={"ref": "  "})
    with pytest.raises(SchemaError, match="mapping"):
        check_identifying(df, allow=["ref"])


def test_guard_reads_every_row_of_large_tables():
    # 300k rows: one NHS number in the last row is found (the old guard sampled rows)
    n = 300_000
    df = pd.DataFrame({"case_id": np.arange(n).astype(str), "ref": "r1"})
    df.loc[n - 1, "ref"] = _valid_nhs_numbers(1, seed=6)[0]
    problems = check_identifying(df)
    assert [(p["check"], p["rows"]) for p in problems] == [("nhs_number", [n - 1])]


# ----------------------------------------------------------------------------- pseudonymise


def typed_tables():
    events = validate_events(
        pd.DataFrame(
            {
                "case_id": ["c1", "c1", "c2", "c3"],
                "date": ["2101-01-05", "2101-03-01", "2102-06-01", "2103-01-01"],
                "agency": ["school", "gp", "police", "school"],
                "event": [
                    "attendance",
                    "reliever_prescription",
                    "police_incident_home",
                    "attendance",
                ],
                "value": ["0.9", "", "", "0.7"],
                "recorded_date": ["2101-01-20", "", "", ""],
            }
        ),
        strict=True,
    ).valid
    cases = validate_cases(
        pd.DataFrame(
            {
                "case_id": ["c1", "c2", "c3"],
                "birth_year": ["2095", "2096", "2097"],
                "outcome": ["serious_harm", "", ""],
                "outcome_date": ["2101-06-01", "", ""],
                "followup_end": ["2104-01-01", "2104-01-01", "2104-01-01"],
            }
        ),
        strict=True,
    ).valid
    return events, cases


def test_pseudonymise_tokens_and_consistency():
    events, cases = typed_tables()
    before = events.copy()
    ev, ca = pseudonymise(events, cases, KEY)
    pd.testing.assert_frame_equal(events, before)  # input untouched
    tokens = ev["case_id"].tolist()
    assert all(len(t) == TOKEN_HEX_CHARS and int(t, 16) >= 0 for t in tokens)
    assert tokens[0] == tokens[1] != tokens[2]
    assert set(ev["case_id"]) <= set(ca["case_id"])
    assert ca["case_id"].nunique() == 3
    # Same key, same tokens; another key, other tokens.
    again, _ = pseudonymise(events, cases, KEY.decode())
    assert again["case_id"].tolist() == tokens
    other, _ = pseudonymise(events, cases, b"another-key-0123456789")
    assert not set(other["case_id"]) & set(tokens)
    # Dates untouched unless asked.
    pd.testing.assert_series_equal(ev["date"], events["date"])
    assert not set(tokens) & {"c1", "c2", "c3"}


def test_pseudonymise_keeps_categorical_ids():
    events, cases = typed_tables()
    events["case_id"] = events["case_id"].astype("category")
    ev, _ = pseudonymise(events, cases, KEY)
    plain, _ = pseudonymise(events.astype({"case_id": "str"}), cases, KEY)
    assert isinstance(ev["case_id"].dtype, pd.CategoricalDtype)
    assert ev["case_id"].astype("str").tolist() == plain["case_id"].tolist()


def test_pseudonymise_shift_keeps_intervals():
    events, cases = typed_tables()
    ev, ca = pseudonymise(events, cases, KEY, shift_dates=True, max_shift_days=30)
    shift_ev = (ev["date"] - events["date"]).dt.days
    rec = ev["recorded_date"].notna()
    assert ((ev["recorded_date"] - events["recorded_date"]).dt.days[rec] == shift_ev[rec]).all()
    assert shift_ev.between(-30, 30).all() and (shift_ev != 0).all()
    assert shift_ev.iloc[0] == shift_ev.iloc[1]  # same case, same offset
    by_token = dict(zip(ev["case_id"], shift_ev, strict=True))
    shift_ca = (ca["followup_end"] - cases["followup_end"]).dt.days
    for token, days in zip(ca["case_id"], shift_ca, strict=True):
        assert by_token[token] == days
    assert (ca["outcome_date"] - cases["outcome_date"]).dt.days.iloc[0] == shift_ca.iloc[0]
    assert ca["birth_year"].tolist() == cases["birth_year"].tolist()


def test_pseudonymise_refuses_bad_keys_without_echoing_them():
    events, cases = typed_tables()
    with pytest.raises(TypeError, match="needs a key"):
        pseudonymise(events, cases)
    short = "tiny-secret"
    with pytest.raises(ValueError, match="at least 16") as info:
        pseudonymise(events, cases, short)
    assert short not in str(info.value)
    with pytest.raises(TypeError, match="int") as info:
        pseudonymise(events, cases, 12345678901234567890)
    assert "12345678901234567890" not in str(info.value)


def test_pseudonymise_checks_the_contract_first():
    # text dates are read by the contract's one parser (ISO), never guessed
    events = pd.DataFrame(
        {
            "case_id": ["c1"],
            "date": ["05/01/2101"],
            "agency": ["gp"],
            "event": ["missed_appointment"],
        }
    )
    with pytest.raises(SchemaError) as info:
        pseudonymise(events, key=KEY, shift_dates=True)
    # the message validate_events gives, word for word
    with pytest.raises(SchemaError) as direct:
        validate_events(events, strict=True)
    assert str(info.value) == str(direct.value)
    iso = events.assign(date=["2101-01-05"])
    out, _ = pseudonymise(iso, key=KEY, shift_dates=True)
    assert out["date"].dtype == "datetime64[ns]"


# short ids that cannot look like postcodes, NHS or telephone numbers (the guard runs)
ids = st.text(alphabet="0123456789", min_size=1, max_size=5).map(lambda d: "k" + d)


@given(
    st.lists(st.tuples(ids, st.integers(0, 3000), st.integers(0, 400)), min_size=1, max_size=30),
    st.binary(min_size=16, max_size=40),
    st.integers(1, 365),
)
def test_pseudonymise_properties(rows, key, max_shift):
    day0 = np.datetime64("2101-01-01")
    events = pd.DataFrame(
        {
            "case_id": pd.Series([r[0] for r in rows], dtype="str"),
            "date": np.array([day0 + np.timedelta64(r[1], "D") for r in rows], "datetime64[ns]"),
            "agency": "gp",
            "event": "missed_appointment",
            "recorded_date": np.array(
                [day0 + np.timedelta64(r[1] + r[2], "D") for r in rows], "datetime64[ns]"
            ),
        }
    )
    cases = pd.DataFrame({"case_id": pd.Series(sorted({r[0] for r in rows}), dtype="str")})
    ev, ca = pseudonymise(events, cases, key, shift_dates=True, max_shift_days=max_shift)
    ev2, ca2 = pseudonymise(events, cases, key, shift_dates=True, max_shift_days=max_shift)
    pd.testing.assert_frame_equal(ev, ev2)  # deterministic per key
    pd.testing.assert_frame_equal(ca, ca2)
    # Ids map one-to-one, consistently across the tables.
    pairs = set(zip(events["case_id"], ev["case_id"], strict=True))
    assert len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs})
    assert set(ev["case_id"]) == set(ca["case_id"])
    # Every interval within a case is kept; shifts are per case and bounded.
    shift = (ev["date"] - events["date"]).dt.days
    assert ((ev["recorded_date"] - ev["date"]) == (events["recorded_date"] - events["date"])).all()
    assert shift.abs().between(1, max_shift).all()
    assert (shift.groupby(events["case_id"]).nunique() == 1).all()
    # The key appears nowhere in the outputs.
    hexkey = key.hex()
    for frame in (ev, ca):
        text = frame.to_csv() + repr(frame) + repr(frame.attrs)
        assert hexkey not in text
        if len(key.strip()) >= 4 and key.isascii():
            assert key.decode("ascii") not in text


def test_pseudonymise_refuses_shifts_beyond_the_bound():
    events, cases = typed_tables()
    with pytest.raises(ParameterError, match=r"max_shift_days.*\[1, 3650\]"):
        pseudonymise(events, cases, KEY, shift_dates=True, max_shift_days=10**7)
    with pytest.raises(ParameterError, match="max_shift_days"):
        pseudonymise(events, cases, KEY, shift_dates=True, max_shift_days=MAX_SHIFT_DAYS + 1)
    ev, _ = pseudonymise(events, cases, KEY, shift_dates=True, max_shift_days=MAX_SHIFT_DAYS)
    assert (ev["date"] - events["date"]).dt.days.abs().between(1, MAX_SHIFT_DAYS).all()


def test_pseudonymise_refuses_dates_shifted_out_of_range():
    events = pd.DataFrame(
        {
            "case_id": ["c2", "c1"],
            "date": ["2101-01-05", "2101-01-05"],
            "agency": ["gp"] * 2,
            "event": ["missed_appointment"] * 2,
        }
    )
    # A key that moves c1 forward by a day, found by trying (shifts are per key).
    for n in range(64):
        key = KEY + bytes([65 + n])
        out, _ = pseudonymise(events, key=key, shift_dates=True, max_shift_days=1)
        if (out["date"] - pd.to_datetime(events["date"])).dt.days.iloc[1] == 1:
            break
    # 2262-04-11 is the last day pandas holds in nanoseconds: a day later is out.
    last = events.assign(date=["2101-01-05", "2262-04-11"])
    with pytest.raises(SchemaError, match=r"events column 'date'.*rows 1\b") as info:
        pseudonymise(last, key=key, shift_dates=True, max_shift_days=1)
    assert "int64" not in str(info.value) and info.value.__cause__ is None


@pytest.mark.parametrize(
    "values",
    [
        [1267660800, 1299196800],  # Unix seconds (2010-03-04, 2011-03-04)
        [1267660800000, 1299196800000],  # Unix milliseconds
    ],
)
def test_a_date_of_birth_as_a_unix_time_is_refused(values):
    # a birth-named column of Unix times passed: only yyyymmdd numbers were looked at
    cases = pd.DataFrame({"case_id": ["c1", "c2"], "birth_ts": values})
    assert [p["check"] for p in check_identifying(cases)] == ["date_of_birth"]
    # numbers that are not times stay fine: a year, a birth weight in grams
    fine = pd.DataFrame(
        {"case_id": ["c1", "c2"], "birth_year": [2095, 2097], "birth_weight_g": [3200, 2900]}
    )
    assert check_identifying(fine, table="cases") == []


@pytest.mark.parametrize("char", ["\x1b", "\u202e", "\u200b", "\n", "\x07", "\u2028"])
def test_an_allow_reason_with_control_characters_is_refused(char):
    # the reason is kept in the provenance and shown to output checkers and on the
    # terminal: an escape sequence or a right-to-left mark would change what they see
    cases = pd.DataFrame({"case_id": ["c1", "c2"], "site_ref": ["4010232137", "4010232145"]})
    with pytest.raises(SchemaError, match=r"allow\['site_ref'\].*U\+"):
        validate_cases(cases, allow={"site_ref": f"site codes{char}[2J"})
    validate_cases(cases, allow={"site_ref": "site codes, not NHS numbers"})
