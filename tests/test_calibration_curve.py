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


# --------------------------------------------------------------------------- point order


@pytest.fixture(scope="module")
def rounded():
    """An evaluation whose low-risk points have about ten expected events each.

    The published mean predicted risk of a point is its expected count rounded like a
    count over its published rows, so it moved by up to 2.5/3,000 while neighbouring
    points' means differ by less: they came out of order (0.00324, then 0.00314).
    """
    from riskscore.modelfile import load_model

    events, cases = make_cohort(10000, random_state=1)
    ts = make_training_set(events, cases, grid="90D")
    return evaluate(load_model("synthetic-logistic-v1"), ts, cv=3, n_boot=0)


def _published(curve, column):
    return curve[column].to_numpy(dtype=float, na_value=np.nan)


def test_the_published_curve_is_in_increasing_order_of_predicted_risk(rounded):
    # the figure joins the points in table order: out of order, the line drew a loop
    x = _published(rounded.calibration_curve, "predicted")
    x = x[np.isfinite(x)]
    assert len(x) >= 2
    assert (np.diff(x) > 0).all(), rounded.calibration_curve.to_string()


def test_the_published_curve_is_the_fit_at_the_published_predicted_risk(rounded):
    # the curve was the fit at each point's exact mean, drawn at its rounded mean: not
    # the smoothed curve at the predicted risk the figure and the table show
    from riskscore._prediction_stats import smoothed_calibration

    curve = rounded.calibration_curve
    x, y = _published(curve, "predicted"), _published(curve, "observed")
    ok = np.isfinite(x) & np.isfinite(y)
    assert ok.sum() >= 2
    rows = rounded.predictions.dropna(subset=["y", "probability"])
    p = rows["probability"].to_numpy(dtype=float)
    fit, _ = smoothed_calibration(
        np.log(p / (1 - p)), rows["y"].to_numpy(dtype=float), np.log(x[ok] / (1 - x[ok]))
    )
    np.testing.assert_allclose(y[ok], fit, rtol=1e-6)
    assert "published mean predicted risk" in curve.attrs["method"], curve.attrs["method"]


def test_a_merged_curve_point_is_the_rows_between_published_cuts(rounded):
    # merging neighbouring points publishes nothing finer: every point's rows lie
    # between two cuts the unmerged curve already had, and the rows add up
    curve = rounded.calibration_curve
    assert curve["bin"].iloc[0].startswith("[0,") and curve["bin"].iloc[-1].endswith(", 1]")
    for left, right in zip(curve["bin"].iloc[:-1], curve["bin"].iloc[1:], strict=True):
        assert left.split(", ")[1].rstrip(")") == right.split(", ")[0].lstrip("[")


def test_the_drawn_curve_is_in_increasing_order_of_predicted_risk(rounded):
    fig, ax = plt.subplots()
    plots.plot_calibration(rounded, ax=ax)
    plt.close(fig)
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "smoothed curve"]
    x = np.asarray(line.get_xdata(), dtype=float)
    x = x[np.isfinite(x)]
    assert (np.diff(x) >= 0).all(), x


def test_a_curve_table_out_of_order_is_drawn_in_order():
    # a curve read back from a table written before the fix: the figure sorts it
    import dataclasses

    res = example_result()
    curve = res.calibration_curve.copy()
    assert len(curve) >= 3  # the premise
    swapped = curve.iloc[[1, 0, *range(2, len(curve))]].reset_index(drop=True)
    fig, ax = plt.subplots()
    plots.plot_calibration(dataclasses.replace(res, calibration_curve=swapped), ax=ax)
    plt.close(fig)
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "smoothed curve"]
    x = np.asarray(line.get_xdata(), dtype=float)
    x = x[np.isfinite(x)]
    assert (np.diff(x) >= 0).all(), x


# --------------------------------------------------------------------------- report lead


def _calibration_lead(result, path) -> str:
    import html
    import re

    from riskscore import write_report

    raw = write_report(result, path).read_text(encoding="utf-8")
    section = raw[raw.index('id="section-calibration"') :]
    text = html.unescape(re.sub(r"<[^>]+>", " ", section[: section.index("</p>")]))
    return " ".join(text.split())


def test_the_report_does_not_say_a_curve_it_does_not_draw_uses_every_row(merged, tmp_path):
    # the lead said "The smoothed curve uses every row;" above a figure without one
    lead = _calibration_lead(merged, tmp_path / "one.html")
    assert "uses every row" not in lead, lead
    assert "smoothed curve is not drawn" in lead and "one point" in lead, lead


def test_the_report_says_a_withheld_curve_is_not_drawn(tmp_path):
    import dataclasses

    res = example_result()
    curve = res.calibration_curve.copy()
    for column in ("observed", "lower", "upper"):
        curve[column] = np.nan
    withheld = dataclasses.replace(res, calibration_curve=curve)
    lead = _calibration_lead(withheld, tmp_path / "withheld.html")
    assert "uses every row" not in lead, lead
    assert "smoothed curve is not drawn" in lead and "disclosure control" in lead, lead


def test_the_report_says_a_drawn_curve_uses_every_row(tmp_path):
    lead = _calibration_lead(example_result(), tmp_path / "drawn.html")
    assert "The smoothed curve uses every row" in lead, lead
