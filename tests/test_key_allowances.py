"""Columns the caller let past the identifying-data guard (``allow=``) are let past it
where they become the keys of a disclosed table: the groups of subgroup_metrics and of
evaluate's subgroup audit. Columns not allowed are read by the guard as before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskscore
from riskscore.errors import DisclosureError
from riskscore.schema import ALLOWED

#: Labels whose values the key guard reads as person names (a title and a surname)
SCHOOLS = ["Mr Brown", "Ms Jones", "Mrs Green"]
REASON = "school names, not people"


def _cases(seed: int = 1, n: int = 600, **label_columns) -> pd.DataFrame:
    _, cases = riskscore.make_cohort(n, random_state=seed)
    rng = np.random.default_rng(seed)
    for name, values in label_columns.items():
        cases[name] = rng.choice(values, len(cases))
    return cases


def _outcomes(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 5, n)
    return (rng.random(n) < p).astype(int), p


def test_the_labels_read_as_person_names_by_the_key_guard():
    """The premise: unstamped, a key of these labels is refused by disclose."""
    table = pd.DataFrame({"school": SCHOOLS, "n": [20, 30, 40]})
    with pytest.raises(DisclosureError, match="look like person names"):
        riskscore.disclose(table, by=["school"], count_columns=["n"])


def test_an_allowed_column_is_a_group_subgroup_metrics_publishes():
    cases = riskscore.validate_cases(_cases(school=SCHOOLS), allow={"school": REASON}).valid
    y, p = _outcomes(len(cases))
    out = riskscore.subgroup_metrics(y, p, cases[["school"]], by="school", n_boot=0)
    assert set(out["group"]) == {*SCHOOLS, "All"}
    # the reason travels with the table (its provenance), naming the column allowed
    allowed = out.attrs[ALLOWED]
    assert set(allowed) == {"group", "reference"}
    assert all("school" in r and REASON in r for r in allowed.values())


def test_a_column_not_allowed_is_still_refused():
    cases = riskscore.validate_cases(_cases(school=SCHOOLS), allow={"school": REASON}).valid
    tutors = pd.Series(np.resize(["Dr Smith", "Mr Patel"], len(cases)), name="tutor")
    y, p = _outcomes(len(cases))
    frame = cases[["school"]].assign(tutor=tutors.to_numpy())
    # alone, and beside the allowed column (whose allowance must not cover it)
    for by in ("tutor", ["school", "tutor"]):
        with pytest.raises(DisclosureError, match="look like person names"):
            riskscore.subgroup_metrics(y, p, frame, by=by, n_boot=0)


def test_an_allowance_of_a_column_not_audited_lets_nothing_past():
    cases = riskscore.validate_cases(_cases(school=SCHOOLS), allow={"school": REASON}).valid
    # a column added after validation (validate_cases would refuse it) keeps the attrs
    frame = cases[["school"]].assign(tutor=np.resize(["Dr Smith", "Mr Patel"], len(cases)))
    assert frame.attrs[ALLOWED]["school"] == REASON
    y, p = _outcomes(len(cases))
    with pytest.raises(DisclosureError, match="look like person names"):
        riskscore.subgroup_metrics(y, p, frame, by="tutor", n_boot=0)


def test_without_allow_the_column_is_refused():
    """(validate_cases refuses such a column too; here it is passed as it is)"""
    cases = _cases(school=SCHOOLS)
    y, p = _outcomes(len(cases))
    with pytest.raises(DisclosureError, match="look like person names"):
        riskscore.subgroup_metrics(y, p, cases[["school"]], by="school", n_boot=0)


def test_an_allowance_for_case_ids_lets_nothing_past():
    """Case ids are never published: an allowance recorded for them is not carried."""
    cases = _cases(school=SCHOOLS)
    frame = pd.DataFrame({"case_id": np.resize(SCHOOLS, len(cases))})
    frame.attrs[ALLOWED] = {"case_id": "ids, not people"}
    y, p = _outcomes(len(cases))
    with pytest.raises(DisclosureError, match="look like person names"):
        riskscore.subgroup_metrics(y, p, frame, by="case_id", n_boot=0)


@pytest.fixture(scope="module")
def evaluated_by_school():
    """evaluate()'s subgroup audit by a school column validated with allow=, and the
    training set it evaluated."""
    events, cases = riskscore.make_cohort(600, random_state=3)
    cases = cases.assign(school=np.resize(SCHOOLS, len(cases)))
    cases = riskscore.validate_cases(cases, allow={"school": REASON}).valid
    ts = riskscore.make_training_set(events, cases, grid="90D")
    res = riskscore.evaluate(
        riskscore.default_scorecard(), ts, cv=3, n_boot=0, cases=cases, subgroup_by=["school"]
    )
    return res, ts


def test_evaluate_audits_an_allowed_column(evaluated_by_school):
    res, _ = evaluated_by_school
    assert {*SCHOOLS} <= set(res.subgroups["group"])


def test_a_refusal_names_the_attribute_and_the_fix_at_validation():
    """Not the published key 'group' and the table's attrs, which the caller never sees."""
    cases = riskscore.validate_cases(_cases(school=SCHOOLS), allow={"school": REASON}).valid
    frame = cases[["school"]].assign(tutor=np.resize(["Dr Smith", "Mr Patel"], len(cases)))
    y, p = _outcomes(len(cases))
    for source in (frame, frame.drop(columns="school")):  # beside an allowed column, or alone
        with pytest.raises(DisclosureError) as caught:
            riskscore.subgroup_metrics(y, p, source, by="tutor", n_boot=0)
        message = str(caught.value)
        assert "subgroup_metrics: the groups of 'tutor' look identifying" in message
        assert "look like person names" in message
        assert "allow={'tutor': 'why it is safe'}" in message
        assert "'group'" not in message.split("Fix:")[1]


def test_evaluate_keeps_the_subgroup_tables_own_allowances(evaluated_by_school):
    # evaluate stamped the training set's allowances over every table it returns,
    # replacing the subgroup table's own ("group": the labels of school), so passing
    # res.subgroups through disclosure control again refused its allowed labels
    res, ts = evaluated_by_school
    allowed = res.subgroups.attrs[ALLOWED]
    assert REASON in allowed.get("group", ""), allowed
    assert set(ts.X.attrs.get(ALLOWED, {})) <= set(allowed)  # the inputs' kept beside
