"""Splitters of riskscore.model_selection (more in test_evaluation.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscore.model_selection import TemporalSplit


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
