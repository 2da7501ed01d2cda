"""subgroup_metrics: estimates by hand, references, case bootstrap, disclosure control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from riskscore.errors import SchemaError
from riskscore.fairness import subgroup_metrics
from riskscore.plots import plot_subgroups


def _data(n=6000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.beta(1, 6, n)
    y = (rng.random(n) < p).astype(int)
    groups = pd.DataFrame(
        {
            "sex": rng.choice(["female", "male"], n),
            "imd_quintile": rng.choice([1, 2, 3, 4, 5], n),
        }
    )
    cases = np.repeat(np.arange(n // 3), 3)
    return y, p, groups, cases


def test_estimates_equal_fairlearn_metricframe():
    """The one estimator (estimates and bootstrap replicates) equals fairlearn's MetricFrame."""
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate
    from fairlearn.metrics import true_positive_rate as tpr
    from sklearn.metrics import precision_score

    y, p, g, cases = _data(n=3000, seed=4)
    # ties at the cut: some probabilities exactly on the threshold are alerted
    p[:50] = 0.25
    t = subgroup_metrics(y, p, g, threshold=0.25, case_ids=cases, n_boot=0, disclosure=False)
    alert = (p >= 0.25).astype(int)
    mf = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": tpr,
            "fpr": false_positive_rate,
            "ppv": lambda yt, yp: precision_score(yt, yp, zero_division=np.nan),
        },
        y_true=y,
        y_pred=alert,
        sensitive_features=g["sex"],
    )
    scored = MetricFrame(
        metrics={
            "auroc": roc_auc_score,
            "observed_rate": lambda yt, yp: float(np.mean(yt)),
            "mean_predicted": lambda yt, yp: float(np.mean(yp)),
            "oe_ratio": lambda yt, yp: float(np.sum(yt) / np.sum(yp)),
        },
        y_true=y,
        y_pred=p,
        sensitive_features=g["sex"],
    )
    for frame in (mf, scored):
        for metric in frame.by_group.columns:
            for group in ("female", "male"):
                expected = frame.by_group.loc[group, metric]
                got = _row(t, "sex", group, metric)["estimate"]
                assert got == pytest.approx(expected, rel=1e-12), (metric, group)
            assert _row(t, "sex", "All", metric)["estimate"] == pytest.approx(
                frame.overall[metric], rel=1e-12
            )


def _row(t, attribute, group, metric):
    sel = (t["attribute"] == attribute) & (t["group"] == group) & (t["metric"] == metric)
    return t.loc[sel].iloc[0]


def test_estimates_match_hand_computation():
    y, p, g, cases = _data()
    t = subgroup_metrics(y, p, g, threshold=0.25, case_ids=cases, n_boot=0, disclosure=False)
    for q in (1, 3, 5):
        m = (g["imd_quintile"] == q).to_numpy()
        a = p[m] >= 0.25
        yy = y[m]
        assert _row(t, "imd_quintile", str(q), "selection_rate")["estimate"] == pytest.approx(
            a.mean()
        )
        assert _row(t, "imd_quintile", str(q), "tpr")["estimate"] == pytest.approx(
            (a & (yy == 1)).sum() / (yy == 1).sum()
        )
        assert _row(t, "imd_quintile", str(q), "fpr")["estimate"] == pytest.approx(
            (a & (yy == 0)).sum() / (yy == 0).sum()
        )
        assert _row(t, "imd_quintile", str(q), "ppv")["estimate"] == pytest.approx(
            (a & (yy == 1)).sum() / a.sum()
        )
        assert _row(t, "imd_quintile", str(q), "auroc")["estimate"] == pytest.approx(
            roc_auc_score(yy, p[m])
        )
        assert _row(t, "imd_quintile", str(q), "oe_ratio")["estimate"] == pytest.approx(
            yy.sum() / p[m].sum()
        )
    assert _row(t, "sex", "All", "auroc")["estimate"] == pytest.approx(roc_auc_score(y, p))


def test_differences_and_ratios_to_reference_with_case_intervals():
    y, p, g, cases = _data()
    t = subgroup_metrics(
        y, p, g, reference={"imd_quintile": 5}, alert_rate=0.1, case_ids=cases, n_boot=50
    )
    ref = _row(t, "imd_quintile", "5", "selection_rate")["estimate"]
    one = _row(t, "imd_quintile", "1", "selection_rate")
    assert one["reference"] == "5"
    assert one["difference"] == pytest.approx(one["estimate"] - ref)
    assert one["ratio"] == pytest.approx(one["estimate"] / ref)
    assert one["lower"] <= one["estimate"] <= one["upper"]
    assert one["ratio_lower"] <= one["ratio"] <= one["ratio_upper"]
    # the default reference is the largest group
    sex = t[t["attribute"] == "sex"]
    assert sex["reference"].iloc[0] == g["sex"].value_counts().idxmax()
    assert t.attrs["threshold"] == pytest.approx(np.quantile(p, 0.9), abs=0.01)


def test_small_groups_are_suppressed_with_their_rates():
    y, p, g, cases = _data(3000)
    g = g.copy()
    g.loc[:5, "sex"] = "other"  # six rows: below the threshold of 10
    t = subgroup_metrics(y, p, g, by=["sex"], threshold=0.2, n_boot=10)
    other = t[t["group"] == "other"]
    assert other["n"].isna().all()
    assert other["estimate"].isna().all() and other["ratio"].isna().all()
    published = t["n"].dropna()
    assert (published % 5 == 0).all()
    assert t.attrs["riskscore_disclosure"]["applied"] is True
    ax = plot_subgroups(t)
    assert ax.get_xlabel() == "ratio to the reference group\n(log scale)"
    # the suppressed group is named, not drawn
    assert "suppressed" in [a.get_text() for a in ax.texts]


def test_suppressed_reference_hides_differences():
    y, p, g, cases = _data(3000)
    g = g.copy()
    g.loc[:5, "sex"] = "other"
    t = subgroup_metrics(y, p, g, by=["sex"], reference={"sex": "other"}, threshold=0.2, n_boot=0)
    assert t["difference"].isna().all()


def test_bad_input_is_refused():
    y, p, g, _ = _data(100)
    with pytest.raises(SchemaError, match="probabilities"):
        subgroup_metrics(y, p * 5, g)
    with pytest.raises(SchemaError, match="no column"):
        subgroup_metrics(y, p, g, by=["ethnic_group"])
    with pytest.raises(SchemaError, match="reference group"):
        subgroup_metrics(y, p, g, reference={"sex": "x"}, n_boot=0)


def test_plot_subgroups_draws_an_unbounded_interval_without_its_open_end():
    """A bootstrap ratio interval can have an infinite end (a replicate whose reference
    group has a rate of 0); the plot must draw the finite part, not overflow."""
    rng = np.random.default_rng(0)
    p = rng.random(3000) * 0.5
    y = (rng.random(3000) < p).astype(int)
    table = subgroup_metrics(y, p, pd.Series(rng.choice(["a", "b"], 3000), name="g"), n_boot=10)
    shown = table["metric"].isin(["tpr", "ppv", "oe_ratio"]) & (table["group"] != "All")
    row = table.index[shown & table["ratio"].notna()][0]
    table.loc[row, "ratio_upper"] = np.inf
    ax = plot_subgroups(table)
    lo, hi = ax.get_xlim()
    assert np.isfinite(lo) and np.isfinite(hi) and hi < 100


@pytest.mark.parametrize("which", ["y_true", "y_prob"])
def test_outcomes_or_probabilities_that_are_not_numbers_are_refused_by_name(which):
    # text outcomes raised numpy's "could not convert string to float"
    y, p = np.array([0, 1] * 20), np.linspace(0.1, 0.9, 40)
    args = {"y_true": y, "y_prob": p}
    args[which] = np.array(["yes", "no"] * 20)
    sex = pd.Series(["f", "m"] * 20, name="sex")
    with pytest.raises(SchemaError, match=rf"{which} must hold .* \(numbers\)"):
        subgroup_metrics(args["y_true"], args["y_prob"], sex, threshold=0.5, n_boot=5)


def test_a_group_whose_outcome_rows_are_one_child_publishes_nothing_resting_on_them():
    # 60 children, 20 rows each; one child with the outcome on all its 20 rows: the
    # group's "events" were 20 rows, so its sensitivity, AUROC and O/E (one child's
    # predictions) were published
    rng = np.random.default_rng(4)
    n_children, rows_each = 600, 20
    case = np.repeat(np.arange(n_children), rows_each)
    group = np.where(case < 60, "small", "big")
    sick = rng.random(n_children) < 0.2
    sick[:60] = False
    sick[0] = True  # the small group's one child with the outcome
    y = sick[case].astype(int)
    p = np.where(y == 1, 0.9, rng.uniform(0.1, 0.9, len(y)))
    g = pd.DataFrame({"group_of": group})
    t = subgroup_metrics(y, p, g, by=["group_of"], threshold=0.5, case_ids=case, n_boot=0)
    small = t[t["group"] == "small"].set_index("metric")
    for metric in ("tpr", "auroc", "observed_rate", "oe_ratio"):
        assert np.isnan(small.loc[metric, "estimate"]), metric
        assert pd.isna(small.loc[metric, "numerator"]), metric
    # resting on many children: published
    assert not np.isnan(small.loc["selection_rate", "estimate"])
    # the same rows, each its own child: 20 events are 20 children, published
    alone = subgroup_metrics(y, p, g, by=["group_of"], threshold=0.5, n_boot=0)
    assert not np.isnan(alone.set_index(["group", "metric"]).loc[("small", "tpr"), "estimate"])
