"""The calibration table's risk groups: published mean predicted risks in range and order.

Under disclosure control a group's mean predicted risk is published as its expected
events rounded like a count (to ``round_to``) over its published rows. At low risk
that rounding moves the mean by up to ``round_to / 2`` over the rows, more than the
width of a tenth of predicted risk: a group's mean came out outside its own range of
predicted risk, and below the mean of the group before it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt  # the Agg backend: tests/conftest.py
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskscore import evaluate, make_cohort, make_training_set, plots
from riskscore._evaluation_tables import (
    Cuts,
    calibration_edges,
    calibration_table,
    totals_table,
)
from riskscore.disclosure import DisclosureSettings, check_publishable


def _bounds(label: str) -> tuple[float, float]:
    lo, hi = str(label).strip("[)]").split(", ")
    return float(lo), float(hi)


def _exact_groups(p: np.ndarray, table: pd.DataFrame) -> pd.DataFrame:
    """Each published group's rows, recounted from the predicted risks: n, mean, range."""
    rows = []
    for label in table["bin"]:
        lo, hi = _bounds(label)
        inside = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        rows.append({"lo": lo, "hi": hi, "n": int(inside.sum()), "mean": float(p[inside].mean())})
    return pd.DataFrame(rows)


def _published_mean(table: pd.DataFrame) -> np.ndarray:
    return table["mean_predicted"].to_numpy(dtype=float, na_value=np.nan)


def _check_groups(p: np.ndarray, table: pd.DataFrame, settings: DisclosureSettings) -> None:
    """What a reader of the table and the figure must be able to rely on."""
    exact = _exact_groups(p, table)
    # the groups cover every row, each between published cuts, lowest to highest
    assert exact["n"].sum() == len(p)
    assert exact["lo"].iloc[0] == 0 and exact["hi"].iloc[-1] == 1
    assert (exact["hi"].to_numpy()[:-1] == exact["lo"].to_numpy()[1:]).all()
    x = _published_mean(table)
    shown = np.isfinite(x)
    lo, hi = exact["lo"].to_numpy(), exact["hi"].to_numpy()
    # inside the group's own range of predicted risk ...
    outside = shown & ((x < lo) | (x > hi))
    assert not outside.any(), table[outside].to_string()
    # ... and increasing from the lowest group to the highest
    assert (np.diff(x[shown]) > 0).all(), table.to_string()
    # nothing new is published: each mean is the rounded expected count over the
    # published rows or, outside the range, the middle of the part of the range that
    # those rounded numbers allow (computed here from them alone)
    n_pub = table["n"].to_numpy(dtype=float, na_value=np.nan)
    step, half = settings.round_to, settings.round_to / 2
    rounded = step * np.floor(exact["mean"].to_numpy() * exact["n"].to_numpy() / step + 0.5)
    ratio = rounded / n_pub
    least = np.maximum(lo, (rounded - half) / (n_pub + half))
    most = np.minimum(hi, (rounded + half) / (n_pub - half))
    top = np.arange(len(x)) == len(x) - 1
    kept = (ratio >= lo) & ((ratio < hi) | (top & (ratio <= hi)))
    np.testing.assert_allclose(x[shown], np.where(kept, ratio, (least + most) / 2)[shown])
    # what those numbers allow holds the exact mean: a moved mean is at most half of
    # it away, where the rounded ratio was outside the range altogether
    m = exact["mean"].to_numpy()
    assert ((least <= m + 1e-12) & (m <= most + 1e-12)).all()
    moved = shown & ~kept
    assert (np.abs(x - m)[moved] <= (most - least)[moved] / 2 + 1e-12).all()


def _calibration(p, y, settings):
    cuts = Cuts(y, p, p, settings)
    for t in calibration_edges(p):
        cuts.add("calibration", float(t), "probability", float(t))
    cuts.settle()
    totals = totals_table(y, len(y), settings)
    return calibration_table(p, y, cuts, settings, totals)


# --------------------------------------------------------------------------- an evaluation


@pytest.fixture(scope="module")
def low_risk():
    """An evaluation of 10,000 children, most of them at a predicted risk below 1%.

    Before the fix its published groups were (mean predicted, group's range):
    0.00324 in [0.00335, 0.00359), 0.00314 in [0.00359, 0.00392) and 0.00466 in
    [0.00392, 0.0044): three of eight outside their range, the second below the first.
    """
    from riskscore.modelfile import load_model

    events, cases = make_cohort(10000, random_state=1)
    ts = make_training_set(events, cases, grid="90D")
    return evaluate(load_model("synthetic-logistic-v1"), ts, cv=3, n_boot=0)


def _predicted(res) -> np.ndarray:
    rows = res.predictions.dropna(subset=["y", "probability"])
    return rows["probability"].to_numpy(dtype=float)


def test_the_groups_of_an_evaluation_are_in_range_and_in_order(low_risk):
    cal = low_risk.calibration
    assert len(cal) >= 5  # the premise: several low-risk groups
    _check_groups(_predicted(low_risk), cal, DisclosureSettings())
    check_publishable(low_risk.tables())


def test_a_moved_group_mean_is_nearer_the_exact_mean(low_risk):
    # the three groups the rounding put out of range, published (exact mean):
    # 0.00324 (0.00346), 0.00314 (0.00376), 0.00466 (0.00413) before the fix
    p = _predicted(low_risk)
    cal = low_risk.calibration
    exact = _exact_groups(p, cal)["mean"].to_numpy()
    x = _published_mean(cal)
    for label, before in [
        ("[0.00335, 0.00359)", 0.003236),
        ("[0.00359, 0.00392)", 0.003140),
        ("[0.00392, 0.0044)", 0.004658),
    ]:
        (i,) = np.flatnonzero(cal["bin"].to_numpy() == label)
        assert abs(x[i] - exact[i]) < abs(before - exact[i]) / 5, (label, x[i], exact[i])


def test_a_group_whose_rounded_mean_is_in_range_keeps_it(low_risk):
    # the change touches only groups the rounding moved out of range: the others
    # still publish their expected events rounded to 5 over their published rows
    cal = low_risk.calibration.set_index("bin")
    kept = ["[0, 0.00335)", "[0.0044, 0.00546)", "[0.00546, 0.00862)", "[0.00862, 0.02)"]
    kept.append("[0.02, 1]")
    x = cal.loc[kept, "mean_predicted"].to_numpy(dtype=float)
    np.testing.assert_allclose(x, [0.002618, 0.004747, 0.006319, 0.012618, 0.064669], rtol=1e-3)
    expected = x * cal.loc[kept, "n"].to_numpy(dtype=float)
    np.testing.assert_allclose(expected / 5, np.round(expected / 5), atol=1e-9)


def test_the_figure_draws_the_groups_in_their_ranges(low_risk):
    fig, ax = plt.subplots()
    plots.plot_calibration(low_risk, ax=ax)
    plt.close(fig)
    (dots,) = [ln for ln in ax.get_lines() if ln.get_label() == "risk groups (published)"]
    x = np.asarray(dots.get_xdata(), dtype=float)
    bounds = np.array([_bounds(b) for b in low_risk.calibration["bin"]])
    assert len(x) == len(bounds)
    assert ((x >= bounds[:, 0]) & (x <= bounds[:, 1])).all(), (x, bounds)
    assert (np.diff(x) > 0).all(), x


def test_without_disclosure_control_the_groups_publish_their_exact_means():
    rng = np.random.default_rng(0)
    p = np.exp(rng.normal(np.log(0.004), 0.3, 20000)).clip(1e-4, 0.99)
    y = (rng.random(len(p)) < p).astype(int)
    cal = _calibration(p, y, None)
    exact = _exact_groups(p, cal)
    np.testing.assert_allclose(cal["mean_predicted"].to_numpy(dtype=float), exact["mean"])


# --------------------------------------------------------------------------- the property


@given(
    n=st.integers(500, 6000),
    centre=st.floats(0.003, 0.3),
    spread=st.floats(0.05, 1.0),
    seed=st.integers(0, 10_000),
    setting=st.sampled_from([(10, 5), (10, 10), (5, 5), (10, 1)]),
)
def test_published_group_means_are_in_range_and_increasing(n, centre, spread, seed, setting):
    rng = np.random.default_rng(seed)
    p = np.exp(rng.normal(np.log(centre), spread, n)).clip(1e-4, 0.99)
    y = (rng.random(n) < p).astype(int)
    settings = DisclosureSettings(min_count=setting[0], round_to=setting[1])
    cal = _calibration(p, y, settings)
    _check_groups(p, cal, settings)
    check_publishable({"calibration": cal})
