"""Display names and number formats: one name per thing, numbers written for reading."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskscore import _names as names
from riskscore.disclosure import disclose, read_table, write_table
from riskscore.vocabulary import AGENCIES, BANDS, EVENTS, FEATURES, OUTCOMES


def test_every_code_has_a_display_name_without_underscores():
    for table, codes in (
        (names.BAND_NAMES, BANDS),
        (names.AGENCY_NAMES, AGENCIES),
        (names.EVENT_NAMES, EVENTS),
        (names.OUTCOME_NAMES, OUTCOMES),
        (names.FEATURE_NAMES, FEATURES),
    ):
        for code in codes:
            assert code in table, code
            assert "_" not in table[code], table[code]
    assert names.band_name("multi_agency_discussion") == "multi-agency discussion"
    assert names.agency_name("drug_service") == "drug service"


def test_rules_read_as_sentences():
    assert names.rule_name("siblings_removed >= 1") == "siblings removed from the home: at least 1"
    assert names.rule_name("hardship_12m >= 1") == "poor housing or hardship (last 12 months)"
    assert names.rule_name("attendance_recent <= 0.9") == "recent attendance: at most 90%"
    assert names.rule_name("asthma_admissions_12m") == "asthma admissions (last 12 months)"


_SCIENTIFIC = re.compile(r"\d[eE][-+]?\d")


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False).filter(lambda v: v != 0))
def test_numbers_have_three_significant_figures_and_no_exponent(value):
    text = names.fmt_number(value)
    assert not _SCIENTIFIC.search(text)
    back = float(text.replace(",", ""))
    if float(value).is_integer():
        assert back == value  # whole numbers are exact (counts)
    else:
        # within half a unit of the third significant figure
        unit = 10 ** (math.floor(math.log10(abs(value))) - 2)
        assert abs(back - value) <= unit / 2 * (1 + 1e-9)


@given(
    st.floats(min_value=1e-6, max_value=100),
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=1.0, max_value=3.0),
)
def test_intervals_read_estimate_lower_to_upper(estimate, low, high):
    lower, upper = estimate * low, estimate * high
    text = names.fmt_interval(estimate, lower, upper)
    m = re.fullmatch(r"(-?[\d,.]+) \((-?[\d,.]+) to (-?[\d,.]+)\)", text)
    assert m, text
    assert not _SCIENTIFIC.search(text)
    decimals = {len(g.split(".")[1]) if "." in g else 0 for g in m.groups()}
    assert len(decimals) == 1  # the three numbers line up
    assert float(m[1].replace(",", "")) != 0


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_percentages_carry_their_denominator(numerator, denominator):
    text = names.fmt_percent(numerator, denominator)
    m = re.fullmatch(r"([\d.]+)% \(([\d,]+) of ([\d,]+)\)", text)
    assert m, text
    assert int(m[2].replace(",", "")) == numerator and int(m[3].replace(",", "")) == denominator
    share = 100 * numerator / denominator
    if 0 < share < 100:
        assert 0 < float(m[1]) < 100  # never rounded to 0% or 100%


def test_formats_of_missing_values():
    assert names.fmt_number(float("nan")) == names.fmt_interval(None, 1, 2) == "\u2013"
    assert names.fmt_percent(pd.NA, 5) == "\u2013" and names.fmt_date(pd.NaT) == "never"


def test_write_table_writes_a_data_dictionary_beside_the_csv(tmp_path):
    table = disclose(
        pd.DataFrame({"band": ["review", "multi_agency_discussion"], "n_crossings": [40, 25]}),
        count_columns=["n_crossings"],
    )
    path = write_table(table, tmp_path / "crossings.csv")
    dictionary = pd.read_csv(
        tmp_path / "crossings.csv.dictionary.tsv", sep="\t", keep_default_na=False
    )
    columns = dictionary[dictionary["value"] == ""].set_index("column")["display_name"]
    assert columns.to_dict() == {"band": "band", "n_crossings": "crossings"}
    values = dictionary[dictionary["value"] != ""].set_index("value")["display_name"]
    assert values["multi_agency_discussion"] == "multi-agency discussion"
    # the CSV keeps its codes, so it reads back unchanged
    assert read_table(path)["band"].tolist() == ["review", "multi_agency_discussion"]


@pytest.mark.parametrize("code", ["score_social_care", "band_drug_service"])
def test_agency_view_columns_are_named(code):
    assert "_" not in names.column_name(code) and names.column_meaning(code)
