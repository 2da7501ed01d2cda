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


def test_published_mean_predicted_risk_gives_no_unrounded_sum_of_predictions():
    # the mean predicted risk of a group was published exactly: times the group's rows
    # it is the group's expected number of events (equal to its observed number on the
    # rows of a maximum-likelihood fit), beside counts rounded to 5. Elsewhere the
    # library publishes it as an expected count rounded like a count, over the
    # published rows; subgroup tables must too.
    y, p, g, cases = _data(6000, seed=3)
    t = subgroup_metrics(y, p, g, threshold=0.25, case_ids=cases, n_boot=20)
    rows = t[(t["metric"] == "mean_predicted") & t["estimate"].notna()]
    assert len(rows) >= 5  # the premise: groups are published
    groups = {"All": np.ones(len(y), dtype=bool)}
    exact_sums, recovered = [], []
    for _, row in rows.iterrows():
        member = (
            groups["All"]
            if row["group"] == "All"
            else (g[row["attribute"]].astype(str) == row["group"]).to_numpy()
        )
        exact_sums.append(p[member].sum())
        recovered.append(row["estimate"] * row["n"])
    exact_sums, recovered = np.asarray(exact_sums), np.asarray(recovered)
    # what a reader can work out from a published row is a multiple of 5 ...
    np.testing.assert_allclose(recovered / 5, np.round(recovered / 5), atol=1e-6)
    # ... the nearest one to the exact sum (so the estimate is still the estimate)
    np.testing.assert_allclose(recovered, 5 * np.floor(exact_sums / 5 + 0.5), atol=1e-6)
    assert not np.allclose(recovered, exact_sums, atol=1e-3)  # so the test can see it
    # observed/expected is the published observed count over the published expected one
    for _, row in rows.iterrows():
        sel = (t["attribute"] == row["attribute"]) & (t["group"] == row["group"])
        oe = t.loc[sel & (t["metric"] == "oe_ratio"), "estimate"].iloc[0]
        obs = t.loc[sel & (t["metric"] == "observed_rate"), "estimate"].iloc[0]
        if not np.isnan(oe):
            assert oe == pytest.approx(obs / row["estimate"])
    # without disclosure control the estimate is the exact mean
    raw = subgroup_metrics(y, p, g, threshold=0.25, case_ids=cases, n_boot=0, disclosure=False)
    assert _row(raw, "sex", "All", "mean_predicted")["estimate"] == pytest.approx(p.mean())


def _small(n=300, seed=1):
    rng = np.random.default_rng(seed)
    p = rng.random(n) * 0.5
    y = (rng.random(n) < p).astype(int)
    return y, p, pd.Series(rng.choice(["f", "m"], n), name="sex")


@pytest.mark.parametrize(
    "features, match",
    [
        (None, "sensitive_features"),
        ("sex", "sensitive_features"),
        (7, "sensitive_features"),
        ("2-D", "sensitive_features"),
    ],
)
def test_group_labels_of_the_wrong_kind_are_refused_by_name(features, match):
    # pandas' "If using all scalar values, you must pass an index" or "Per-column
    # arrays must each be 1-dimensional" reached the user
    y, p, _ = _small()
    if isinstance(features, str) and features == "2-D":
        features = np.zeros((len(y), 2))
    with pytest.raises(SchemaError, match=match):
        subgroup_metrics(y, p, features, n_boot=0)


def test_group_labels_as_a_dict_of_columns_are_read_as_a_table():
    y, p, sex = _small()
    t = subgroup_metrics(y, p, {"sex": sex.to_numpy()}, n_boot=0)
    expected = subgroup_metrics(y, p, sex.to_frame(), n_boot=0)
    pd.testing.assert_frame_equal(t, expected)


def test_no_rows_is_refused_with_a_schema_error():
    # IndexError: index -1 is out of bounds for axis 0 with size 0
    empty = pd.Series([], name="sex", dtype=object)
    with pytest.raises(SchemaError, match="no rows"):
        subgroup_metrics(np.array([]), np.array([]), empty, n_boot=0)


def test_by_of_the_wrong_kind_is_refused_or_read_as_one_column():
    from riskscore.errors import ParameterError

    y, p, sex = _small()
    frame = sex.to_frame()
    # a single name was read letter by letter ("no column 's'")
    one = subgroup_metrics(y, p, frame, by="sex", n_boot=0)
    pd.testing.assert_frame_equal(one, subgroup_metrics(y, p, frame, by=["sex"], n_boot=0))
    # numpy's "need at least one array to concatenate", "'int' object is not iterable",
    # "list index out of range"
    for by, match in (([], "at least one"), (5, "column names"), (["sex", "sex"], "twice")):
        with pytest.raises(ParameterError, match=match):
            subgroup_metrics(y, p, frame, by=by, n_boot=0)


def test_case_ids_that_do_not_fit_the_rows_are_refused():
    # numpy's "all the input array dimensions ... must match exactly" and "Buffer has
    # wrong number of dimensions"; missing ids were all counted as one child
    y, p, sex = _small()
    n = len(y)
    bad = {
        "length": (np.arange(5), "case_ids has 5"),
        "2-D": (np.c_[np.arange(n), np.arange(n)], "one case id per row"),
        "missing": (np.where(np.arange(n) < 3, np.nan, np.arange(n)), "missing"),
    }
    for ids, match in bad.values():
        with pytest.raises(SchemaError, match=match):
            subgroup_metrics(y, p, sex, case_ids=ids, n_boot=0)


def test_a_reference_for_an_attribute_not_audited_is_refused():
    # {"nope": "f"} was ignored silently: the reference stayed the largest group
    from riskscore.errors import ParameterError

    y, p, sex = _small()
    with pytest.raises(ParameterError, match="'nope'"):
        subgroup_metrics(y, p, sex, reference={"nope": "f"}, n_boot=0)


def test_overall_published_must_be_a_mapping():
    # AttributeError: 'list' object has no attribute 'items'
    from riskscore.errors import ParameterError

    y, p, sex = _small()
    with pytest.raises(ParameterError, match="overall_published"):
        subgroup_metrics(y, p, sex, overall_published=["n"], n_boot=0)


def test_an_unbounded_number_of_replicates_is_refused_before_any_work():
    # n_boot=10**12 ran for ever, holding every replicate in memory
    from riskscore.errors import ParameterError

    y, p, sex = _small()
    with pytest.raises(ParameterError, match="n_boot"):
        subgroup_metrics(y, p, sex, n_boot=10**12)


def test_plot_subgroups_draws_a_published_ratio_that_has_no_interval():
    # with n_boot=0 every published ratio was labelled "not estimable" and not drawn
    rng = np.random.default_rng(0)
    p = rng.random(3000) * 0.5
    y = (rng.random(3000) < p).astype(int)
    g = pd.Series(rng.choice(["a", "b"], 3000, p=[0.6, 0.4]), name="g")
    t = subgroup_metrics(y, p, g, n_boot=0)
    from matplotlib.figure import Figure

    drawn = t[t["metric"].isin(["selection_rate", "tpr", "ppv", "oe_ratio"]) & (t["group"] == "b")]
    assert drawn["ratio"].notna().all() and drawn["ratio_lower"].isna().all()  # the premise
    ax = plot_subgroups(t, ax=Figure().subplots())
    texts = [a.get_text() for a in ax.texts]
    assert "not estimable" not in texts, texts
    assert texts.count("no interval") == len(drawn), texts
    marks = [ln for ln in ax.lines if ln.get_gid() == "estimate"]
    np.testing.assert_allclose(
        sorted(float(m.get_xdata()[0]) for m in marks), sorted(drawn["ratio"])
    )


def test_plot_subgroups_refuses_what_it_cannot_draw_by_name():
    # AttributeError "'numpy.str_' object has no attribute 'plot'", TypeError "'int'
    # object is not iterable", KeyError 'reference', IndexError with too few axes
    from matplotlib.figure import Figure

    from riskscore.errors import ParameterError

    y, p, sex = _small()
    t = subgroup_metrics(y, p, sex, n_boot=5)
    with pytest.raises(ParameterError, match="ax must be a matplotlib Axes"):
        plot_subgroups(t, ax="x")
    with pytest.raises(ParameterError, match="metrics must be a list"):
        plot_subgroups(t, metrics=5)
    with pytest.raises(SchemaError, match="'reference'"):
        plot_subgroups(t.drop(columns="reference"))
    with pytest.raises(ParameterError, match="4 metrics need as many axes"):
        plot_subgroups(t, ax=Figure().subplots(1, 2))
    # one metric by name is one metric
    assert plot_subgroups(t, metrics="tpr", ax=Figure().subplots()) is not None


def test_fewer_than_twenty_replicates_warn_that_the_intervals_are_unstable():
    # n_boot=3 gave "95% intervals" that were the extreme replicates, without a word
    import warnings

    y, p, sex = _small()
    with pytest.warns(UserWarning, match=r"^subgroup_metrics: n_boot=3 .*at least 20") as w:
        subgroup_metrics(y, p, sex, n_boot=3)
    assert [type(x.message) for x in w] == [UserWarning]  # plain, not SampleSizeWarning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        subgroup_metrics(y, p, sex, n_boot=0)
        subgroup_metrics(y, p, sex, n_boot=20)
