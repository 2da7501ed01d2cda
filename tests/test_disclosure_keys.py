"""Keys leave as they are: disclose refuses keys that identify a child.

disclose publishes every key value (a row per group) whatever the counts beside it,
so a key column holding case ids, names, NHS numbers, postcodes, e-mail addresses,
telephone numbers, full dates in text or free text would leave with the table. The
keys are read as the identifying-data guard reads the inputs (riskscore.privacy),
guessed keys and keys given in by= alike; a column the guard misjudges passes with a
reason carried in ``attrs["riskscore_allowed"]`` (the inputs' ``allow=``).

Also: a stamp or sidecar without the list of columns it covers (written before that
entry existed) is refused by check_disclosure, write_table and check_publishable.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from riskscore.disclosure import (
    DISCLOSURE_ATTR,
    apply_disclosure,
    check_disclosure,
    check_publishable,
    disclose,
    disclose_tables,
    mark_statistics,
    mark_undisclosed,
    read_table,
    write_table,
)
from riskscore.errors import DisclosureError
from riskscore.schema import ALLOWED

COUNTS = [30, 40, 55]

# (key column, values): each value set is one the guard refuses in the inputs
IDENTIFYING_KEYS = [
    ("child", ["John Smith", "Jane Doe", "Amira Khan"]),  # person names
    ("ref", ["943 476 5919", "401 023 2137", "999 999 9999"]),  # NHS numbers (mod 11)
    ("area", ["SW1A 1AA", "M1 1AE", "B33 8TH"]),  # full postcodes
    ("contact", ["a.b@example.com", "c@example.org", "d@example.net"]),  # e-mail
    ("day", ["2101-03-04", "2101-03-05", "2101-03-06"]),  # full dates, as text
    (
        "what_happened",
        [
            "she said the flat was cold and he had gone",
            "he told us the boy was not at school",
            "they moved to the house by the river",
        ],
    ),  # free text about someone
    ("reason", [" ".join(["word"] * 20), "x" * 200, "fine label"]),  # long text, whatever its words
]

# key names the guard refuses whatever the values
IDENTIFYING_NAMES = ["surname", "nhs_number", "postcode", "home_address", "dob", "school_name"]


@pytest.mark.parametrize("column, values", IDENTIFYING_KEYS)
def test_a_guessed_key_the_guard_flags_is_refused(column, values):
    # guessed to be a key, the column was published as it was, one row per group
    table = pd.DataFrame({column: values, "n": COUNTS})
    with pytest.raises(DisclosureError, match=rf"'{column}'.*row") as err:
        disclose(table)
    message = str(err.value)
    assert "Fix:" in message and ALLOWED in message
    # values are shown masked, never whole
    assert not any(v in message for v in values)
    # given as a key, the same
    with pytest.raises(DisclosureError, match=rf"'{column}'"):
        disclose(table, ["n"], by=[column])
    # as an index level, the same
    with pytest.raises(DisclosureError, match=rf"'{column}'"):
        disclose(table.set_index(column))
    # and through the other entry points
    with pytest.raises(DisclosureError, match=rf"'{column}'"):
        disclose_tables({"t": table}, {"t": {"count_columns": ["n"]}})
    with pytest.raises(DisclosureError, match=rf"'{column}'"):
        apply_disclosure(table, True, count_columns=["n"])


@pytest.mark.parametrize("column", IDENTIFYING_NAMES)
def test_a_key_named_as_identifying_is_refused(column):
    table = pd.DataFrame({column: ["a", "b", "c"], "n": COUNTS})
    with pytest.raises(DisclosureError, match=rf"(?s)'{column}'.*column name.*Fix:"):
        disclose(table)
    with pytest.raises(DisclosureError, match=rf"'{column}'"):
        disclose(table, ["n"], by=[column])


def test_a_date_key_named_for_birth_is_refused():
    # a date given as a key labels the groups (a month); one named for birth does not
    table = pd.DataFrame({"dob": pd.to_datetime(["2101-01-01", "2101-02-01"]), "n": [40, 55]})
    with pytest.raises(DisclosureError, match=r"(?s)'dob'.*birth"):
        disclose(table, ["n"], by=["dob"])


def test_a_key_the_inputs_allowed_passes_and_its_reason_is_written(tmp_path):
    table = pd.DataFrame({"school_name": ["Oak", "Ash", "Elm"], "n": COUNTS})
    table.attrs[ALLOWED] = {"school_name": "school names, not people"}
    out = disclose(table)
    assert out["school_name"].tolist() == ["Oak", "Ash", "Elm"]
    path = write_table(out, tmp_path / "t.csv")
    record = json.loads((tmp_path / "t.csv.provenance.json").read_text(encoding="utf-8"))
    assert record["allowed"]["table"] == {"school_name": "school names, not people"}
    assert read_table(path)["school_name"].tolist() == ["Oak", "Ash", "Elm"]
    # a reason for another column lets nothing else through
    names = pd.DataFrame({"child": ["John Smith", "Jane Doe", "Amira Khan"], "n": COUNTS})
    names.attrs[ALLOWED] = {"school_name": "school names, not people"}
    with pytest.raises(DisclosureError, match="'child'"):
        disclose(names)


@pytest.mark.parametrize("key", ["CaseId", "case id", "caseID", "Case-Identifier", "caseid"])
def test_case_ids_under_other_spellings_are_refused(key):
    # only names holding "case_id" were refused; "CaseId" left one row per child
    table = pd.DataFrame({key: ["c1", "c2", "c3"], "n_events": COUNTS})
    with pytest.raises(DisclosureError, match=rf"'{key}'.*case ids.*mark_undisclosed"):
        disclose(table)
    with pytest.raises(DisclosureError, match=rf"'{key}'.*case ids"):
        disclose(table, ["n_events"], by=[key])
    # a reason to let it past the identifying-data guard does not make it a group
    table.attrs[ALLOWED] = {key: "pseudonymous tokens"}
    with pytest.raises(DisclosureError, match=rf"'{key}'.*case ids"):
        disclose(table)


@pytest.mark.parametrize(
    "column, values",
    [
        ("agency", ["gp", "school", "police"]),
        ("band", ["none", "review", "multi_agency_discussion"]),
        ("sex", ["female", "male", "unknown"]),
        ("imd_quintile", ["Q1 (most deprived)", "Q3", "Q5 (least deprived)"]),
        # title-case words that are not names: ethnic groups, schools
        ("group", ["White British", "Black African", "Asian Indian"]),
        ("school", ["Kestrel Academy", "Oak Primary", "Riverside High"]),
        (
            "measure",
            ["cases in the cases table", "cases with an outcome", "cases reaching review"],
        ),
        # labels of six words and more with the guard's function words ("with", "not",
        # "the") are labels, not free text: the cohort summary's own measures
        (
            "measure",
            [
                "cases with no events (not audited)",
                "children reaching the review band before the outcome",
                "cases that were not seen by the school",
            ],
        ),
    ],
)
def test_ordinary_text_keys_still_work(column, values):
    table = pd.DataFrame({column: values, "n": COUNTS})
    for out in (disclose(table), disclose(table, ["n"], by=[column])):
        assert out[column].tolist() == values
        assert out["n"].tolist() == COUNTS
        check_disclosure(out)


def test_a_month_given_as_a_key_still_works():
    months = pd.DataFrame({"month": pd.to_datetime(["2101-01-01", "2101-02-01"]), "n": [40, 55]})
    out = disclose(months, ["n"], by=["month"])
    assert list(out["month"]) == list(months["month"])
    # full dates as text are refused; the message says how a month that labels the
    # groups passes
    as_text = months.assign(month=["2101-01-01", "2101-02-01"])
    with pytest.raises(DisclosureError, match=r"(?s)'month'.*full dates.*date column in by="):
        disclose(as_text, ["n"], by=["month"])


# -- stamps written before they listed their columns ----------------------------------------


def _older_stamp(table: pd.DataFrame) -> pd.DataFrame:
    old = table.copy()
    old.attrs = dict(table.attrs)
    old.attrs[DISCLOSURE_ATTR] = {
        k: v for k, v in table.attrs[DISCLOSURE_ATTR].items() if k != "columns"
    }
    return old


def test_a_stamp_without_its_columns_is_refused(tmp_path):
    # the check for columns added after control was skipped without a word: any column
    # (an exact count) added to such a table left unchecked
    out = disclose(pd.DataFrame({"g": ["a", "b", "c"], "n": [100, 3, 50]}), ["n"])
    old = _older_stamp(out).assign(n_exact=[100, 3, 50])
    with pytest.raises(DisclosureError, match=r"older riskscore.*disclosure control again"):
        check_disclosure(old)
    with pytest.raises(DisclosureError, match="older riskscore"):
        write_table(old, tmp_path / "t.csv")
    assert not (tmp_path / "t.csv").exists()
    with pytest.raises(DisclosureError, match="older riskscore"):
        check_publishable({"t": old})
    # disclosed again, it passes
    check_disclosure(disclose(old.drop(columns=["n_exact"]), ["n"]))
    stats = mark_statistics(pd.DataFrame({"metric": ["auroc"], "estimate": [0.7]}), rule="r")
    with pytest.raises(DisclosureError, match="older riskscore"):
        check_disclosure(_older_stamp(stats))
    # a table marked NOT FOR RELEASE lists no columns and needs none
    check_disclosure(mark_undisclosed(pd.DataFrame({"n": [3]})))


def test_a_sidecar_without_its_columns_is_refused(tmp_path):
    out = disclose(pd.DataFrame({"g": ["a", "b", "c"], "n": [100, 3, 50]}), ["n"])
    path = write_table(out, tmp_path / "t.csv")
    sidecar = tmp_path / "t.csv.provenance.json"
    record = json.loads(sidecar.read_text(encoding="utf-8"))
    del record["disclosure"]["columns"]
    sidecar.write_text(json.dumps(record), encoding="utf-8")
    # it can still be read (to look at it), but not passed on
    back = read_table(path)
    assert back["g"].tolist() == ["a", "b", "c"]
    with pytest.raises(DisclosureError, match=r"older riskscore.*disclosure control again"):
        check_disclosure(back)
    with pytest.raises(DisclosureError, match="older riskscore"):
        write_table(back, tmp_path / "again.csv")
