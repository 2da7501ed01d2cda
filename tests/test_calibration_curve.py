"""The smoothed calibration curve when disclosure control merges it into one point."""

from __future__ import annotations

import matplotlib.pyplot as plt  # the Agg backend: tests/conftest.py
import numpy as np
import pytest

from riskscore import evaluate, make_cohort, make_training_set, plots
from riskscore.evaluation import example_result
from riskscore.modelfile import default_scorecard


@pytest.fixture(scope="module")
def merged():
    """An evaluation of a small cohort: every cut merged, one risk group, one curve point."""
    events, cases = make_cohort(800, random_state=4)
    ts = make_training_set(events, cases, grid="90D")
    res = evaluate(default_scorecard(), ts, cv=3, n_boot=0)
    curve = res.calibration_curve
    # the premise: one published group and one published point of the curve, whose
    # observed value (the fitted curve at the mean predicted risk) is not the group's
    # observed rate
    assert len(res.calibration) == 1 and len(curve) == 1
    assert np.isfinite(float(curve["observed"].iloc[0]))
    assert float(curve["observed"].iloc[0]) != float(res.calibration["observed"].iloc[0])
    return res


def _labels_and_notes(ax):
    labels = ax.get_legend_handles_labels()[1]
    notes = " ".join(t.get_text() for t in ax.texts).replace("\n", " ")
    return labels, notes


def test_a_smoothed_curve_of_one_point_is_not_drawn_and_the_figure_says_why(merged):
    # the one point was drawn as "smoothed curve" (a square) above the one risk group
    # at the same predicted risk, as though the two disagreed
    fig, ax = plt.subplots()
    plots.plot_calibration(merged, ax=ax)
    labels, notes = _labels_and_notes(ax)
    plt.close(fig)
    assert not any("smoothed" in label for label in labels), labels
    point = float(merged.calibration_curve["observed"].iloc[0])
    drawn = [np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()]
    assert not any(np.isclose(y, point).any() for y in drawn)
    assert "smoothed curve not drawn" in notes and "one point" in notes, notes
    assert "withheld" not in notes  # nothing was withheld: it is one point


def test_a_smoothed_curve_of_several_points_is_still_drawn():
    res = example_result()
    assert plots.smoothed_calibration(res)["observed"].notna().sum() >= 2  # the premise
    fig, ax = plt.subplots()
    plots.plot_calibration(res, ax=ax)
    labels, notes = _labels_and_notes(ax)
    plt.close(fig)
    assert "smoothed curve" in labels
    assert "smoothed curve" not in notes


def test_the_table_of_a_one_point_curve_says_what_its_point_is(merged):
    # the table's method described "each twentieth of the rows": a reader of the one
    # row could not tell why it differs from the calibration table's one rate
    method = merged.calibration_curve.attrs["method"]
    assert "one point" in method and "not the observed rate" in method, method
    several = example_result().calibration_curve.attrs["method"]
    assert "one point" not in several
