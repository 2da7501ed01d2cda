"""Splitters of riskscore.model_selection (more in test_evaluation.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore.errors import ParameterError
from riskscore.model_selection import CaseKFold, TemporalSplit


def test_a_temporal_cut_given_with_a_time_is_its_day():
    # the cut is a date: a time on it moved rows whose label window closes that day
    # from training to neither side (and cut_date() reported the time)
    as_of = pd.date_range("2101-01-01", periods=40, freq="30D")
    groups = np.arange(40).astype(str)
    by_day = TemporalSplit(as_of, horizon=60, cut="2102-01-26")
    by_time = TemporalSplit(as_of, horizon=60, cut="2102-01-26 12:00")
    assert by_time.cut_date() == pd.Timestamp("2102-01-26")
    day = [a.tolist() for a in next(by_day.split(None, None, groups))]
    timed = [a.tolist() for a in next(by_time.split(None, None, groups))]
    assert timed == day
    # the premise: a row's label window closes on the cut day (it is in neither side)
    assert (as_of + pd.Timedelta(days=60) == pd.Timestamp("2102-01-26")).any()


_BAD_GROUPS = {
    "two columns": (np.array([list("aabbcc"), list("aabbcc")], dtype=object).T, r"1-D.*\(6, 2\)"),
    "short": (np.array(list("aabbc"), dtype=object), r"groups has 5 rows but \w+ has 6"),
    "missing": (np.array(["a", None, "b", "b", np.nan, "c"], dtype=object), r"rows 1, 4"),
}


@pytest.mark.parametrize("problem", list(_BAD_GROUPS))
def test_splitters_refuse_bad_case_ids_naming_the_splitter_what_and_the_fix(problem):
    # the splitters' own checks had no "Fix:" for a 2-D or short groups, and
    # TemporalSplit blamed y for a groups of another length than as_of
    groups, words = _BAD_GROUPS[problem]
    y = np.array([0, 1, 0, 1, 0, 0])
    as_of = pd.to_datetime(["2101-01-01"] * 3 + ["2104-01-01"] * 3)
    splitters = {
        "CaseKFold": (CaseKFold(2), "y"),
        "TemporalSplit": (TemporalSplit(as_of, horizon=30, cut="2103-01-01"), "as_of"),
    }
    for who, (splitter, rows_of) in splitters.items():
        with pytest.raises(ParameterError, match=rf"^{who}: .*{words}") as info:
            list(splitter.split(None, y, groups))
        assert "groups" in str(info.value) and "Fix:" in str(info.value)
        if problem == "short":
            assert f"but {rows_of} has 6" in str(info.value)


_IDS = st.one_of(
    st.integers(-5, 40),
    st.text("abcxyz0123", min_size=1, max_size=3),
    st.sampled_from([1.5, 2.25, -0.5]),  # whole floats would equal integers
)


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(_IDS, min_size=3, max_size=12, unique_by=lambda v: (type(v), v)),
    rows=st.data(),
)
def test_case_folds_hold_whole_cases_and_ignore_the_row_order_for_any_kind_of_ids(ids, rows):
    groups = np.array(rows.draw(st.lists(st.sampled_from(ids), min_size=3, max_size=40)), object)
    if len(set(map(str, groups))) < 3:
        return
    y = np.array(rows.draw(st.lists(st.integers(0, 1), min_size=len(groups), max_size=len(groups))))
    perm = np.array(rows.draw(st.permutations(range(len(groups)))))

    def folds(g, yy):
        return [sorted(map(repr, set(g[test]))) for _, test in CaseKFold(3).split(None, yy, g)]

    got = folds(groups, y)
    assert got == folds(groups[perm], y[perm])
    # every row of a case in the one fold: no case on two sides
    placed = [c for fold in got for c in fold]
    assert len(placed) == len(set(placed))


def test_as_of_dates_spanning_less_than_the_horizon_are_named_as_the_reason():
    """No cut can have rows on both sides: the message says the span, not only the cut."""
    as_of = pd.to_datetime(["2102-01-15", "2102-06-01", "2102-12-20"])
    with pytest.raises(ParameterError) as info:
        list(TemporalSplit(as_of, horizon=365).split(None, None))
    message = str(info.value)
    assert "2102-01-15 to 2102-12-20" in message and "339 days" in message
    assert "365" in message and "min_history" in message
    # a span longer than the horizon but an unlucky cut keeps the cut's message
    with pytest.raises(ParameterError, match="cut 2101-01-01 leaves 0 training"):
        list(TemporalSplit(as_of, horizon=30, cut="2101-01-01").split(None, None))


def test_more_folds_than_cases_says_how_many_folds_can_be_had():
    # "CaseKFold: 3 case(s) cannot fill n_splits=9999 folds." had no "Fix:"
    with pytest.raises(ParameterError, match=r"^CaseKFold: 3 case\(s\)") as info:
        list(CaseKFold(9999).split(None, [0, 1, 0, 1, 0, 0], list("aabbcc")))
    message = str(info.value)
    assert "n_splits=9999" in message and "Fix:" in message
    assert "at most n_splits=3" in message
