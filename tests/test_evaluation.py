"""evaluate(), splitters, metrics against scikit-learn, calibration, decision curves, reports."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import KFold

from riskscore import plots
from riskscore._numerics import Ranker, logistic_fit
from riskscore.errors import LeakageError, SchemaError
from riskscore.evaluation import compare_models, evaluate
from riskscore.logistic import LogisticRiskModel
from riskscore.model_selection import CaseKFold, TemporalSplit, check_no_shared_cases
from riskscore.modelfile import default_scorecard
from riskscore.points import IntegerPointsModel
from riskscore.report import render_html
from riskscore.synthetic import make_cohort
from riskscore.training import TrainingSet, make_training_set


class FixedProbability(BaseEstimator):
    """A 'model' that returns the probability held in column ``p`` (for metric checks)."""

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        p = X["p"].to_numpy(dtype=float)
        return np.column_stack([1 - p, p])


def _drawn(n=20000, seed=0, distort=1.0):
    """Outcomes drawn from known probabilities; ``distort`` != 1 miscalibrates them."""
    rng = np.random.default_rng(seed)
    lp = rng.normal(-2.0, 1.0, n)
    y = (rng.random(n) < expit(lp)).astype(int)
    p = expit(distort * lp)
    groups = np.repeat(np.arange(n // 2), 2)
    as_of = pd.Series(pd.Timestamp("2102-01-01"), index=range(n))
    return TrainingSet(pd.DataFrame({"p": p}), y, groups, as_of, info={"horizon": 365})


@pytest.fixture(scope="module")
def cohort_ts():
    return make_training_set(*make_cohort(1500, random_state=21, years=5), grid="90D")


def test_metrics_agree_with_scikit_learn():
    ts = _drawn(4000)
    res = evaluate(FixedProbability(), ts, refit=False, n_boot=20, disclosure=False)
    p = ts.X["p"].to_numpy()
    assert res.metric("auroc") == pytest.approx(roc_auc_score(ts.y, p), abs=1e-12)
    assert res.metric("auprc") == pytest.approx(average_precision_score(ts.y, p), abs=1e-12)
    assert res.metric("brier") == pytest.approx(brier_score_loss(ts.y, p), abs=1e-12)
    m = res.metrics.set_index("metric")
    assert (m["lower"] <= m["estimate"]).all() and (m["estimate"] <= m["upper"]).all()


@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5), st.integers(1, 3)), min_size=2),
)
def test_weighted_ranker_matches_scikit_learn_with_ties(rows):
    y = np.array([r[0] for r in rows], dtype=float)
    p = np.array([r[1] for r in rows], dtype=float) / 5  # coarse: many ties
    w = np.array([r[2] for r in rows], dtype=float)
    if len(np.unique(y)) < 2:
        return
    ranker = Ranker(p)
    wp, wn = ranker.sums(w, y)
    assert ranker.auroc(wp, wn)[0] == pytest.approx(roc_auc_score(y, p, sample_weight=w))
    assert ranker.auprc(wp, wn) == pytest.approx(average_precision_score(y, p, sample_weight=w))


def test_calibration_slope_near_one_when_calibrated_and_far_when_not():
    good = evaluate(FixedProbability(), _drawn(), refit=False, n_boot=20)
    bad = evaluate(FixedProbability(), _drawn(distort=2.0), refit=False, n_boot=20)
    assert good.metric("calibration_slope") == pytest.approx(1.0, abs=0.1)
    assert abs(good.metric("calibration_intercept")) < 0.1
    # predictions twice as extreme on the log-odds scale: slope near 1/2
    assert bad.metric("calibration_slope") == pytest.approx(0.5, abs=0.08)
    row = bad.metrics.set_index("metric").loc["calibration_slope"]
    assert row["upper"] < 0.9


@given(
    st.lists(st.integers(0, 30), min_size=10, max_size=200),
    st.integers(2, 5),
    st.integers(0, 10_000),
)
def test_case_kfold_never_shares_a_case(group_list, k, seed):
    groups = np.asarray(group_list)
    if len(np.unique(groups)) < k:
        return
    y = (np.asarray(group_list) % 7 == 0).astype(int)
    splits = list(CaseKFold(k, random_state=seed).split(None, y, groups))
    assert len(splits) == k
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
    covered = np.sort(np.concatenate([test for _, test in splits]))
    np.testing.assert_array_equal(covered, np.arange(len(groups)))


def test_temporal_split_respects_the_cut_and_shares_no_case(cohort_ts):
    split = TemporalSplit(cohort_ts.as_of, horizon=365, cut="2104-01-01")
    ((train, test),) = list(split.split(None, cohort_ts.y, cohort_ts.case_ids))
    t = cohort_ts.as_of.to_numpy()
    cut = np.datetime64("2104-01-01")
    assert (t[train] + np.timedelta64(365, "D") < cut).all()
    assert (t[test] >= cut).all()
    assert not set(cohort_ts.case_ids[train]) & set(cohort_ts.case_ids[test])
    assert split.removed_cases_ > 0  # children followed across the cut left training
    res = evaluate(LogisticRiskModel(C=0.1), cohort_ts, cv="temporal", n_boot=10)
    assert "temporal split" in res.design["validation"]
    assert (res.predictions["fold"] == -1).any()


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored")
def test_ungrouped_splitter_is_refused(cohort_ts):
    with pytest.raises(LeakageError, match="both the training and the validation"):
        evaluate(default_scorecard(), cohort_ts, cv=KFold(3), n_boot=5)
    with pytest.raises(LeakageError):
        check_no_shared_cases([(np.array([0, 1]), np.array([2]))], ["a", "b", "a"])


def test_scorecard_evaluation_tables_and_disclosure(cohort_ts):
    res = evaluate(default_scorecard(), cohort_ts, cv=3, n_boot=20, alert_rates=(0.05,))
    cal = res.calibration
    assert cal.attrs["riskscore_disclosure"]["applied"] is True
    # suppressed bins hide their statistics; published counts are multiples of 5
    small = cal["events"].isna()
    assert cal.loc[small, "observed"].isna().all()
    assert (cal.loc[~small, "events"] % 5 == 0).all()
    assert res.predictions.attrs["riskscore_disclosure"]["applied"] is False
    rules = list(res.alerts["rule"])
    assert rules[0].startswith("top 0.05") and any("band review" in r for r in rules)
    scores = default_scorecard().risk_score(cohort_ts.X)
    np.testing.assert_array_equal(res.predictions["score"], scores)
    # the points-to-risk map is monotone: higher points, higher risk
    pr = res.predictions.sort_values("score")
    assert (pr.groupby("fold")["probability"].apply(lambda s: s.is_monotonic_increasing)).all()


def test_decision_curve_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.4, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    ts = TrainingSet(
        pd.DataFrame({"p": p}),
        y,
        np.arange(10),
        pd.Series(pd.Timestamp("2102-01-01"), index=range(10)),
    )
    res = evaluate(
        FixedProbability(), ts, refit=False, n_boot=0, dc_thresholds=[0.5, 0.25], disclosure=False
    )
    dc = res.decision_curve.set_index("threshold")
    # t = 0.5: alerts {0.9, 0.8}: TP 1, FP 1 -> 1/10 - 1/10 * 1 = 0
    assert dc.loc[0.5, "net_benefit"] == pytest.approx(0.0)
    # t = 0.25: alerts {0.9, 0.8, 0.4, 0.3}: TP 2, FP 2 -> 0.2 - 0.2 / 3
    assert dc.loc[0.25, "net_benefit"] == pytest.approx(0.2 - 0.2 / 3)
    assert dc.loc[0.25, "treat_all"] == pytest.approx(0.2 - 0.8 / 3)
    assert (dc["treat_none"] == 0).all()


def test_plots_and_html_use_only_stored_tables(cohort_ts, tmp_path):
    res = evaluate(default_scorecard(), cohort_ts, cv=3, n_boot=10)
    res.predictions = None  # rendering must not need (or recompute from) predictions
    for plot in (plots.plot_roc, plots.plot_calibration, plots.plot_decision_curve):
        assert plot(res) is not None
    text = render_html(res)
    assert "data:image/png;base64," in text and "http:" not in text and "https:" not in text
    assert "not a decision about any person" in text
    assert "C000" not in text  # no case ids in a report


def test_compare_models_uses_the_same_splits(cohort_ts):
    models = {
        "default scorecard": default_scorecard(),
        "logistic": LogisticRiskModel(C=0.1),
        "integer points": IntegerPointsModel(LogisticRiskModel(C=0.1), max_points=15),
    }
    table = compare_models(models, cohort_ts, cv=3, n_boot=10)
    assert set(table["model"]) == set(models)
    results = table.attrs["results"]
    folds = [r.predictions["fold"].to_numpy() for r in results.values()]
    for f in folds[1:]:
        np.testing.assert_array_equal(f, folds[0])
    assert len(plots.plot_model_comparison(table).axes) == 2


def test_points_to_risk_fit_agrees_with_sklearn_on_steep_rare_outcomes():
    """The points-to-risk fit (Newton with a line search) matches scikit-learn.

    Points on a 0-28 scale with a rare outcome whose log-odds rise steeply, the
    setting in which a scorecard's points are mapped to risk on training folds.
    """
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    for _ in range(20):
        lp = rng.integers(0, 29, size=4000).astype(float)
        z = -9.0 + 0.45 * lp
        y = (rng.random(4000) < 1 / (1 + np.exp(-z))).astype(float)
        a, b = logistic_fit(lp, y)
        ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(lp[:, None], y)
        assert a == pytest.approx(ref.intercept_[0], abs=1e-4)
        assert b == pytest.approx(ref.coef_[0, 0], abs=1e-5)


# --------------------------------------------------------------------------- best practice


def test_riley_sample_size_reproduces_the_published_example():
    """Riley et al. BMJ 2020 (pmsampsize): R2_CS 0.288, 24 parameters, prevalence 0.174."""
    import math

    from riskscore._prediction_stats import riley_sample_size

    need = riley_sample_size(24, 0.174, 0.288)
    got = [math.ceil(need[k]) for k in ("shrinkage", "optimism", "prevalence")]
    assert got == [623, 662, 221]


def test_sample_size_counts_cases_not_rows_and_warns_when_short():
    import warnings

    from riskscore.errors import SampleSizeWarning

    rng = np.random.default_rng(0)
    n = 20000
    X = pd.DataFrame(rng.normal(size=(n, 10)), columns=[f"x{i}" for i in range(10)])
    y = (rng.random(n) < expit(-4 + 0.8 * X["x0"])).astype(int)
    as_of = pd.Series(pd.Timestamp("2102-01-01"), index=range(n))
    one_each = TrainingSet(X, y, np.arange(n), as_of, info={"horizon": 365})
    with warnings.catch_warnings():
        warnings.simplefilter("error", SampleSizeWarning)
        enough = evaluate(LogisticRiskModel(penalty=None), one_each, cv=2, n_boot=5)
    table = enough.sample_size.set_index("criterion")
    assert enough.sample_size["met"].all()
    assert enough.sample_size.attrs["n_parameters"] == 10
    # the same rows and outcomes, but 10 rows a child: 2,000 cases are too few
    grouped = one_each._replace(case_ids=np.repeat(np.arange(2000), 10))
    with pytest.warns(SampleSizeWarning, match="Riley") as caught:
        short = evaluate(LogisticRiskModel(penalty=None), grouped, cv=2, n_boot=5)
    # the warning points at the caller's line, not inside riskscore
    assert {w.filename for w in caught} == {__file__}
    need = short.sample_size.set_index("criterion")["required_cases"]
    assert need.iloc[-1] > 2000 and not short.sample_size["met"].iloc[-1]
    assert need.iloc[-1] == pytest.approx(table["required_cases"].iloc[-1], rel=0.05)
    assert any("Riley" in note for note in short.design["notes"])
    assert short.sample_size.attrs["cases"] == 2000  # published (rounded to 5)
    # external validation of a finished model: the development criteria do not apply
    fitted = LogisticRiskModel(penalty=None).fit(X, y)
    assert evaluate(fitted, one_each, refit=False, n_boot=5).sample_size is None


def test_smoothed_calibration_matches_an_unbinned_natural_spline_fit():
    """The binned spline fit against statsmodels on every row with patsy's natural spline."""
    import statsmodels.api as sm
    from patsy import dmatrix

    from riskscore._prediction_stats import smoothed_calibration, spline_knots

    rng = np.random.default_rng(1)
    lp = rng.normal(-2.5, 1.0, 20000)
    y = (rng.random(20000) < expit(lp + 0.3 * np.sin(lp))).astype(float)
    grid = np.linspace(-4, -1, 7)
    est, _ = smoothed_calibration(lp, y, grid)
    k = spline_knots(lp)
    spec = "cr(x, knots=inner, lower_bound=lo, upper_bound=hi) - 1"
    env = {"inner": k[1:-1], "lo": k[0], "hi": k[-1]}
    D = np.asarray(dmatrix(spec, {"x": lp, **env}))
    fit = sm.GLM(y, D, family=sm.families.Binomial()).fit()
    ref = fit.predict(np.asarray(dmatrix(spec, {"x": grid, **env})))
    np.testing.assert_allclose(est, ref, rtol=0.02)


def test_calibration_curve_follows_the_truth_with_intervals():
    good = evaluate(FixedProbability(), _drawn(), refit=False, n_boot=40, disclosure=False)
    bad = evaluate(
        FixedProbability(), _drawn(distort=2.0), refit=False, n_boot=40, disclosure=False
    )
    g, b = good.calibration_curve, bad.calibration_curve
    assert (
        len(g) == 20 and (g["lower"] <= g["observed"]).all() and (g["observed"] <= g["upper"]).all()
    )
    # calibrated: the curve's interval holds the diagonal nearly everywhere
    inside = (g["lower"] <= g["predicted"]) & (g["predicted"] <= g["upper"])
    assert inside.mean() >= 0.85
    # predictions twice as extreme on the log-odds scale (most below 1/2): risk is
    # under-predicted, and the curve's interval says so
    assert (b["lower"] > b["predicted"]).mean() >= 0.7
    # with disclosure control the counts are rounded and small cells hidden
    shown = evaluate(FixedProbability(), _drawn(2000), refit=False, n_boot=5).calibration_curve
    assert shown.attrs["riskscore_disclosure"]["applied"] is True
    assert shown["n"].dropna().mod(5).eq(0).all()
    assert shown.loc[shown["events"].isna(), "observed"].isna().all()


def test_paired_differences_against_independent_computations():
    ts = _drawn(6000)
    lp = np.log(ts.X["p"] / (1 - ts.X["p"]))
    X = ts.X.assign(q=expit(0.5 * lp - 2.5))  # a flatter, badly calibrated rival

    class Column(FixedProbability):
        def __init__(self, col="p"):
            self.col = col

        def get_params(self, deep=False):
            return {"col": self.col}

        def set_params(self, **kw):
            self.col = kw.get("col", self.col)
            return self

        def predict_proba(self, X):
            p = X[self.col].to_numpy(dtype=float)
            return np.column_stack([1 - p, p])

    data = ts._replace(X=X)
    table = compare_models(
        {"truth": Column("p"), "flat": Column("q"), "same": Column("p")},
        data,
        cv=CaseKFold(2),
        n_boot=30,
        nb_thresholds=(0.1, 0.2),
        disclosure=False,
    )
    d = table.attrs["differences"].set_index(["model", "metric", "threshold"])
    y = ts.y
    p, q = X["p"].to_numpy(), X["q"].to_numpy()
    assert d.loc[("flat", "auroc", np.nan), "estimate"] == pytest.approx(
        roc_auc_score(y, q) - roc_auc_score(y, p), abs=1e-12
    )

    def nb(prob, t):
        alert = prob >= t
        return (np.sum(alert & (y == 1)) - np.sum(alert & (y == 0)) * t / (1 - t)) / len(y)

    for t in (0.1, 0.2):
        assert d.loc[("flat", "net_benefit", t), "estimate"] == pytest.approx(
            nb(q, t) - nb(p, t), abs=1e-12
        )
    # a model compared with itself: exactly 0, with a zero-width interval
    same = d.loc["same"]
    assert (
        (same["estimate"] == 0).all() and (same["lower"] == 0).all() and (same["upper"] == 0).all()
    )
    # the rival ranks the same way (monotone transform): AUROC difference 0, NB lower
    assert abs(d.loc[("flat", "auroc", np.nan), "estimate"]) < 1e-12
    assert d.loc[("flat", "net_benefit", 0.1), "upper"] < 0


def test_recalibrate_intercept_and_slope_for_a_new_site():
    from sklearn.linear_model import LogisticRegression

    from riskscore.evaluation import recalibrate

    rng = np.random.default_rng(3)
    n = 8000
    X = pd.DataFrame({"siblings_removed": rng.integers(0, 4, n).astype(float)})
    y = (rng.random(n) < expit(-2.0 + 0.8 * X["siblings_removed"])).astype(int)
    model = LogisticRiskModel(penalty=None).fit(X, y)
    # the new site: higher base rate, flatter effect
    y_new = (rng.random(n) < expit(-1.2 + 0.4 * X["siblings_removed"])).astype(int)
    shifted = recalibrate(model, X, y_new)
    assert shifted.predict_proba(X)[:, 1].mean() == pytest.approx(y_new.mean(), abs=1e-8)
    np.testing.assert_allclose(shifted.coef_, model.coef_)  # only the intercept moved
    assert model.predict_proba(X)[:, 1].mean() == pytest.approx(y.mean(), abs=1e-8)  # unchanged
    sloped = recalibrate(model, X, y_new, method="slope")
    lp = model.decision_function(X)
    ref = LogisticRegression(C=np.inf, tol=1e-12).fit(lp[:, None], y_new)
    assert sloped.recalibration_["slope"] == pytest.approx(ref.coef_[0, 0], abs=1e-5)
    np.testing.assert_allclose(
        sloped.predict_proba(X)[:, 1], ref.predict_proba(lp[:, None])[:, 1], atol=1e-6
    )
    # a points model: its points-to-risk map is updated, the points are not
    pts = IntegerPointsModel(LogisticRiskModel(penalty=None), max_points=5).fit(X, y)
    moved = recalibrate(pts, X, y_new)
    assert moved.predict_proba(X)[:, 1].mean() == pytest.approx(y_new.mean(), abs=1e-8)
    np.testing.assert_array_equal(moved.risk_score(X), pts.risk_score(X))
    with pytest.raises(Exception, match="points-to-risk"):
        recalibrate(default_scorecard(), cohort_like_features(), np.r_[np.zeros(9), 1])


def cohort_like_features():
    return pd.DataFrame({f: np.zeros(10) for f in default_scorecard().features_})


def test_evaluate_applies_coverage_to_a_training_set_built_without_it(cohort_ts):
    cov = pd.DataFrame({"agency": ["police"], "from": ["2104-01-01"], "to": ["2105-12-31"]})
    plain = evaluate(LogisticRiskModel(C=0.1), cohort_ts, cv=3, n_boot=5, disclosure=False)
    masked = evaluate(
        LogisticRiskModel(C=0.1), cohort_ts, cv=3, n_boot=5, disclosure=False, coverage=cov
    )
    # police features are unknown before the police extract starts: the predictions change
    early = cohort_ts.as_of.to_numpy() < np.datetime64("2104-01-01")
    assert (cohort_ts.X.loc[early, "police_incidents_home_12m"] > 0).any()
    diff = masked.predictions["probability"].to_numpy() - plain.predictions["probability"]
    assert np.abs(diff[early]).max() > 1e-6


# --------------------------------------------------------------------------- disclosure of the
# newer outputs: sample size, smoothed curve, paired differences


def _small_logistic_result(**kw):
    ts = make_training_set(*make_cohort(900, random_state=4, years=3), grid="90D")
    return ts, evaluate(LogisticRiskModel(C=0.1), ts, cv=2, n_boot=5, **kw)


def test_sample_size_under_disclosure_rests_on_published_counts():
    """An exact outcome proportion (and a prevalence criterion from it) gives exact counts."""
    import math
    import warnings

    from riskscore.disclosure import check_publishable
    from riskscore.errors import SampleSizeWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        _, res = _small_logistic_result()
    s = res.sample_size
    shown = res.sample.iloc[0]
    phi = float(shown["n_events"]) / float(shown["n_rows"])
    assert s.attrs["row_outcome_proportion"] == pytest.approx(phi, abs=1e-15)
    prevalence = s.set_index("criterion").loc["overall risk within +-0.05", "required_cases"]
    assert prevalence == math.ceil((1.959964 / 0.05) ** 2 * phi * (1 - phi) - 1e-6)
    assert s.attrs["cases"] % 5 == 0 and s.attrs["case_events"] % 5 == 0
    assert s.attrs["riskscore_disclosure"]["applied"] is True
    assert {"sample_size", "calibration_curve"} <= set(res.tables())
    check_publishable(res.tables())


def test_training_cases_close_to_the_validated_ones_are_hidden():
    """A temporal split validates later children: the gap to all children is a count."""
    from riskscore._evaluation_tables import sample_counts, totals_table
    from riskscore.disclosure import DisclosureSettings

    s = DisclosureSettings()
    totals = totals_table(np.r_[np.ones(40), np.zeros(160)], 100, s)
    assert pd.isna(sample_counts(104, 30, totals, s)["n_cases"].iloc[0])
    assert sample_counts(100, 30, totals, s)["n_cases"].iloc[0] == 100
    assert sample_counts(130, 30, totals, s)["n_cases"].iloc[0] == 130


def test_paired_differences_under_disclosure_come_from_published_net_benefits():
    """Net benefit differences from exact counts give back the rows and the counts."""
    from riskscore.disclosure import check_disclosure

    ts = make_training_set(*make_cohort(900, random_state=4, years=3), grid="90D")
    table = compare_models(
        {"default": default_scorecard(), "logistic": LogisticRiskModel(C=0.1)},
        ts,
        cv=2,
        n_boot=5,
        nb_thresholds=(0.05, 0.1, 0.123),
    )
    d = table.attrs["differences"]
    check_disclosure(d)
    res = table.attrs["results"]
    sample = res["default"].sample.iloc[0]
    assert (d["n"] == sample["n_rows"]).all() and (d["events"] == sample["n_events"]).all()

    def nb(name, t):
        curve = res[name].decision_curve
        return float(curve.loc[np.isclose(curve["threshold"], t), "net_benefit"].iloc[0])

    for _, row in d[d["metric"] == "net_benefit"].iterrows():
        want = nb("logistic", row["threshold"]) - nb("default", row["threshold"])
        if np.isnan(want):
            assert np.isnan(row["estimate"]) and np.isnan(row["lower"])
        else:
            assert row["estimate"] == pytest.approx(want, abs=1e-15)
    # a threshold off the default grid is on every model's published curve
    assert np.isclose(res["default"].decision_curve["threshold"], 0.123).any()


def test_cases_removed_by_a_temporal_split_are_a_disclosed_count():
    events, cases = make_cohort(800, random_state=1, years=5)
    ts = make_training_set(events, cases, grid="90D")
    shown = evaluate(default_scorecard(), ts, cv="temporal", n_boot=0)
    exact = evaluate(default_scorecard(), ts, cv="temporal", n_boot=0, disclosure=False)
    removed = exact.design["cases_removed_from_training_by_temporal_split"]
    assert removed % 5 != 0  # 417 here: the published value must not be it
    published = shown.design["cases_removed_from_training_by_temporal_split"]
    assert published % 5 == 0 and abs(published - removed) <= 2


def test_rows_left_out_of_validation_are_a_disclosed_count_in_the_notes():
    events, cases = make_cohort(800, random_state=1, years=5)
    ts = make_training_set(events, cases, grid="90D")
    exact = evaluate(default_scorecard(), ts, cv="temporal", n_boot=0, disclosure=False)
    shown = evaluate(default_scorecard(), ts, cv="temporal", n_boot=0)

    def left_out(res):
        note = next(n for n in res.design["notes"] if "no validation fold" in n)
        return int(note.split()[0])

    assert left_out(exact) == int((exact.predictions["fold"] < 0).sum())
    assert left_out(exact) % 5 != 0  # so the test can see rounding
    assert left_out(shown) % 5 == 0 and abs(left_out(shown) - left_out(exact)) <= 2


def test_too_few_children_with_the_outcome_for_the_folds_says_what_to_do():
    # one child with the outcome: some training fold has none; the message said only
    # "a training fold has only one outcome class"
    from riskscore import EstimationError, default_scorecard, make_cohort, make_training_set

    events, cases = make_cohort(120, random_state=5)
    ts = make_training_set(events, cases)
    assert len(np.unique(ts.case_ids[ts.y == 1])) == 1  # the premise
    with pytest.raises(EstimationError, match=r"1 child with the outcome.*5 folds.*Fix:"):
        evaluate(default_scorecard(), ts, cv=5)


def test_validated_rows_of_one_outcome_say_what_to_do():
    from riskscore import EstimationError, default_scorecard, make_cohort, make_training_set

    events, cases = make_cohort(300, random_state=2)
    ts = make_training_set(events, cases)
    ids = np.asarray(ts.case_ids)
    positive = np.unique(ids[ts.y == 1])
    assert len(positive) >= 2  # the premise: training folds can have both outcomes
    quiet = np.unique(ids[~np.isin(ids, positive)])[:40]
    test = np.flatnonzero(np.isin(ids, quiet))
    train = np.flatnonzero(~np.isin(ids, quiet))
    with pytest.raises(EstimationError, match=r"validated rows are all without the outcome.*Fix:"):
        evaluate(default_scorecard(), ts, cv=[(train, test)])


@pytest.mark.parametrize("option", ["thresholds", "dc_thresholds"])
def test_a_threshold_that_is_not_a_number_is_refused(option):
    # NaN passed every range check (a comparison with NaN is False) and gave a rule
    # that alerts nobody
    from riskscore import ParameterError, default_scorecard, make_cohort, make_training_set

    ts = make_training_set(*make_cohort(300, random_state=2))
    with pytest.raises(ParameterError, match=option):
        evaluate(default_scorecard(), ts, cv=2, n_boot=5, **{option: [0.1, float("nan")]})


def test_a_slope_recalibration_scales_the_covariance_and_is_recorded_in_the_file():
    # the coefficients were multiplied by the slope but the covariance was not (Wald
    # intervals too narrow by that factor), and the saved file said nothing of it
    from riskscore.evaluation import recalibrate
    from riskscore.modelfile import model_from_json, model_to_json

    rng = np.random.default_rng(5)
    n = 3000
    X = pd.DataFrame(
        {
            "siblings_removed": rng.integers(0, 4, n).astype(float),
            "hardship_12m": rng.integers(0, 2, n).astype(float),
        }
    )
    y = (rng.random(n) < expit(-2.0 + 0.5 * X["siblings_removed"])).astype(int)
    model = LogisticRiskModel(penalty=None).fit(X, y)
    y_new = (rng.random(n) < expit(-2.0 + 1.0 * X["siblings_removed"])).astype(int)
    sloped = recalibrate(model, X, y_new, method="slope")
    b = sloped.recalibration_["slope"]
    assert b > 1.5
    np.testing.assert_allclose(sloped.covariance_, model.covariance_ * b**2)
    wide = sloped.odds_ratios(ci="wald").set_index("feature")
    base = model.odds_ratios(ci="wald").set_index("feature")
    width = np.log(wide["upper"]) - np.log(wide["lower"])
    np.testing.assert_allclose(width, (np.log(base["upper"]) - np.log(base["lower"])) * b)
    doc = json.loads(model_to_json(sloped))
    record = doc["model_card"]["recalibration"]
    assert record["method"] == "slope" and record["slope"] == pytest.approx(b)
    assert record["n_rows"] == 3000 and "original fit" in record["note"]
    assert model_from_json(model_to_json(sloped)).covariance_ == pytest.approx(sloped.covariance_)
    assert "recalibration" not in json.loads(model_to_json(model))["model_card"]


def test_a_saved_scorecard_keeps_its_points_to_risk_map():
    # a to_scorecard card written to a file and read back could not be recalibrated:
    # "without a points-to-risk map", though the file carries one
    from riskscore.evaluation import recalibrate
    from riskscore.modelfile import model_from_json, model_to_json

    rng = np.random.default_rng(6)
    n = 3000
    X = pd.DataFrame({"siblings_removed": rng.integers(0, 4, n).astype(float)})
    y = (rng.random(n) < expit(-2.5 + 0.7 * X["siblings_removed"])).astype(int)
    card = LogisticRiskModel(penalty=None).fit(X, y).to_scorecard(X, y, max_points=5)
    back = model_from_json(model_to_json(card))
    assert back.points_to_risk_ == pytest.approx(card.points_to_risk_)
    moved = recalibrate(back, X, y)
    assert moved.recalibration_["slope"] == pytest.approx(1.0)


def test_case_splitters_need_case_ids_and_refuse_missing_ones():
    # split(X, y) without groups was a plain TypeError about a positional argument
    from riskscore.errors import ParameterError

    X = np.zeros((6, 1))
    y = np.array([0, 1, 0, 1, 0, 0])
    with pytest.raises(ParameterError, match="groups=case ids"):
        list(CaseKFold(3).split(X, y))
    # missing case ids were silently put together as one child
    for missing in (None, np.nan):
        groups = np.array(["a", "a", missing, "b", "c", missing], dtype=object)
        with pytest.raises(ParameterError, match=r"missing.*rows 2, 5"):
            list(CaseKFold(2).split(X, y, groups))
        as_of = pd.to_datetime(["2101-01-01"] * 3 + ["2104-01-01"] * 3)
        with pytest.raises(ParameterError, match=r"missing.*rows 2, 5"):
            list(TemporalSplit(as_of, horizon=30, cut="2103-01-01").split(X, y, groups))
    with pytest.raises(ParameterError, match=r"groups has 5 rows.*y has 6"):
        list(CaseKFold(2).split(X, y, list("aabbc")))


def test_a_training_set_of_unnamed_or_mismatched_parts_is_refused():
    # a scorecard read an unnamed array's columns by position (a wrong AUROC, silently);
    # an as_of shorter than X raised pandas' "All arrays must be of the same length"
    events, cases = make_cohort(300, random_state=4)
    ts = make_training_set(events, cases, grid="90D")
    flipped = ts._replace(X=ts.X[ts.X.columns[::-1]].to_numpy())
    with pytest.raises(SchemaError, match="named feature columns"):
        evaluate(default_scorecard(), flipped, cv=3, n_boot=0)
    short = ts._replace(as_of=ts.as_of[:-1])
    with pytest.raises(SchemaError, match="as_of"):
        evaluate(default_scorecard(), short, cv=3, n_boot=0)


def test_case_folds_do_not_depend_on_the_order_of_the_rows():
    # cases were dealt to folds in order of first appearance: shuffling the rows of a
    # training set changed its cross-validated AUROC
    rng = np.random.default_rng(8)
    groups = np.repeat([f"c{i:03d}" for i in range(60)], 3)
    y = np.repeat(rng.random(60) < 0.3, 3).astype(float)
    perm = rng.permutation(len(y))
    split = CaseKFold(4)

    def folds(g, yy):
        return [sorted(set(g[test])) for _, test in split.split(None, yy, g)]

    assert folds(groups, y) == folds(groups[perm], y[perm])


def test_an_evaluation_without_replicates_does_not_describe_intervals():
    # design said "percentile bootstrap resampling cases" and "intervals resample
    # children" with n_boot=0 (the report had to rewrite them)
    events, cases = make_cohort(300, random_state=4)
    ts = make_training_set(events, cases, grid="90D")
    none = evaluate(default_scorecard(), ts, cv=3, n_boot=0).design
    assert none["interval_method"].startswith("none")
    assert not any("intervals resample" in n for n in none["notes"])
    some = evaluate(default_scorecard(), ts, cv=3, n_boot=20).design
    assert "bootstrap" in some["interval_method"]
    assert any("intervals resample children" in n for n in some["notes"])


# --------------------------------------------------------------------------- honest advice
# and honest figures


def test_too_few_children_for_the_folds_does_not_suggest_what_was_given():
    # one child with the outcome: the message said "use fewer folds (cv=2)" to a user
    # who had passed cv=2; and no number of folds can put one child in every training fold
    from riskscore import EstimationError

    events, cases = make_cohort(120, random_state=5)
    ts = make_training_set(events, cases)
    assert len(np.unique(ts.case_ids[ts.y == 1])) == 1  # the premise
    for cv in (2, 5):
        with pytest.raises(EstimationError, match="Fix:") as caught:
            evaluate(default_scorecard(), ts, cv=cv, n_boot=0)
        fix = str(caught.value).split("Fix:", 1)[1]
        # what it suggests could help: not cv=2 (given, or no help), not fewer folds
        assert "cv=2" not in fix, (cv, fix)
        assert "fewer folds" not in fix and "fewer fold" not in fix, (cv, fix)


def _ax():
    """Axes of a figure outside pyplot (pyplot keeps every figure it makes open)."""
    from matplotlib.figure import Figure

    return Figure().subplots()


def _drawn_artists_only(ax):
    """Every legend entry names an artist with something on the axes."""
    from matplotlib.collections import PolyCollection
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    for handle, label in zip(handles, labels, strict=True):
        if isinstance(handle, Line2D):
            x = np.asarray(handle.get_xdata(), dtype=float)
            y = np.asarray(handle.get_ydata(), dtype=float)
            assert (np.isfinite(x) & np.isfinite(y)).any(), label
        elif isinstance(handle, PolyCollection):
            assert any(len(p.vertices) for p in handle.get_paths()), label
    return labels


def test_calibration_legend_lists_only_what_is_drawn_and_says_the_curve_was_withheld():
    # the legend listed "smoothed curve" and its interval when disclosure control had
    # suppressed every point of the curve (nothing was drawn)
    ts = make_training_set(*make_cohort(200, random_state=1))
    res = evaluate(default_scorecard(), ts, cv=2, n_boot=0)
    curve = plots.smoothed_calibration(res)
    assert curve is not None and curve["observed"].isna().all()  # the premise
    assert plots.suppressed_cells(curve, "observed").any()  # by disclosure control
    ax = plots.plot_calibration(res, ax=_ax())
    labels = _drawn_artists_only(ax)
    assert not any("smoothed" in label for label in labels), labels
    notes = " ".join(t.get_text() for t in ax.texts).replace("\n", " ")
    assert "smoothed curve" in notes and "disclosure control" in notes, notes


def test_calibration_legend_lists_a_drawn_smoothed_curve(cohort_ts):
    res = evaluate(default_scorecard(), cohort_ts, cv=3, n_boot=10)
    curve = plots.smoothed_calibration(res)
    assert curve is not None and curve["observed"].notna().sum() >= 2  # the premise
    ax = plots.plot_calibration(res, ax=_ax())
    labels = _drawn_artists_only(ax)
    assert "smoothed curve" in labels
    notes = " ".join(t.get_text() for t in ax.texts)
    assert "smoothed curve" not in notes


def test_calibration_says_how_many_points_of_the_smoothed_curve_were_withheld(cohort_ts):
    from riskscore.disclosure import suppress_statistics

    res = evaluate(default_scorecard(), cohort_ts, cv=3, n_boot=10)
    curve = plots.smoothed_calibration(res)
    assert curve["observed"].notna().sum() >= 2  # the premise
    hide = pd.DataFrame(False, index=curve.index, columns=["observed", "lower", "upper"])
    hide.iloc[:1] = True
    withheld = suppress_statistics(curve, hide, rule="a test")
    ax = plots.plot_calibration(_with(res, calibration_curve=withheld), ax=_ax())
    # what is left is drawn (a lone point as a mark) and named; the rest is said
    labels = _drawn_artists_only(ax)
    assert "smoothed curve" in labels
    notes = " ".join(t.get_text() for t in ax.texts).replace("\n", " ")
    assert f"1 of {len(curve)} points of the smoothed curve" in notes, notes


def test_model_comparison_names_no_interval_when_there_are_none(cohort_ts):
    # n_boot=0 drew no intervals, but the axis said "95% case-bootstrap interval"
    models = {"default": default_scorecard(), "logistic": LogisticRiskModel(C=0.1)}
    none = compare_models(models, cohort_ts, cv=3, n_boot=0)
    assert none[["lower", "upper"]].isna().all().all()  # the premise
    fig = plots.plot_model_comparison(none)
    ax = fig.axes[1]
    text = " ".join([ax.get_xlabel(), ax.get_title(loc="left")]).lower()
    assert "bootstrap interval" not in text and "with intervals" not in text, text
    assert "no intervals" in text and "n_boot=0" in text, text
    some = plots.plot_model_comparison(compare_models(models, cohort_ts, cv=3, n_boot=10))
    assert "95% case-bootstrap interval" in some.axes[1].get_xlabel()


def _with(result, **tables):
    import copy

    out = copy.copy(result)
    for name, value in tables.items():
        setattr(out, name, value)
    return out


def test_evaluation_figures_refuse_tables_they_cannot_draw_by_name():
    # KeyError 'observed', "string indices must be integers", "could not convert
    # string to float: 'abc'" reached the user from a result whose tables were edited
    from riskscore.errors import RiskscoreError
    from riskscore.evaluation import example_result

    res = example_result()
    cases = [
        (plots.plot_calibration, _with(res, calibration=res.calibration.drop(columns="observed"))),
        (plots.plot_calibration, _with(res, calibration="not a table")),
        (plots.plot_decision_curve, _with(res, decision_curve="not a table")),
        (
            plots.plot_decision_curve,
            _with(res, decision_curve=res.decision_curve.drop(columns="threshold")),
        ),
    ]
    for plot, bad in cases:
        with pytest.raises(RiskscoreError, match=plot.__name__):
            plot(bad)
    # text where a number belongs is drawn as missing, not a numpy error
    text = _with(res, metrics=res.metrics.assign(estimate="abc"))
    for plot in (plots.plot_roc, plots.plot_decision_curve, plots.plot_calibration):
        assert plot(text, ax=_ax()) is not None


def test_figures_refuse_an_ax_that_is_not_a_matplotlib_axes():
    # AttributeError: 'str' object has no attribute 'fill_between'
    from riskscore.errors import ParameterError
    from riskscore.evaluation import example_result

    res = example_result()
    for plot in (plots.plot_calibration, plots.plot_decision_curve, plots.plot_roc):
        with pytest.raises(ParameterError, match="ax must be a matplotlib Axes"):
            plot(res, ax="not axes")


@pytest.mark.parametrize("call", ["evaluate", "compare_models"])
def test_n_boot_above_the_shared_cap_is_refused_before_any_work(call):
    # unbounded: n_boot=10**12 ran for ever holding every replicate in memory, while
    # subgroup_metrics and train_model refused it
    import time

    from riskscore import ParameterError

    ts = _drawn(n=200)
    run = {
        "evaluate": lambda n: evaluate(FixedProbability(), ts, cv=2, n_boot=n),
        "compare_models": lambda n: compare_models({"a": FixedProbability()}, ts, cv=2, n_boot=n),
    }[call]
    start = time.perf_counter()
    with pytest.raises(ParameterError, match=rf"{call}: n_boot must be an int in \[0, 100000\]"):
        run(10**12)
    with pytest.raises(ParameterError, match=r"n_boot must be an int in \[0, 100000\]"):
        run(100_001)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("shared", ["riskscore._evaluation_tables", "riskscore._numerics"])
def test_every_name_other_modules_import_from_a_shared_module_is_in_its_all(shared):
    # fairness imported expected_rate, which _evaluation_tables' __all__ did not list
    import ast
    import importlib
    from pathlib import Path

    module = importlib.import_module(shared)
    package = Path(module.__file__).resolve().parent
    imported = {
        (path.name, alias.name)
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == shared
        for alias in node.names
    }
    assert imported  # the premise: someone imports from it
    assert sorted(i for i in imported if i[1] not in module.__all__) == []
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


def test_errors_from_compare_models_name_compare_models_and_the_model():
    # the messages began "evaluate:" though the user called compare_models
    from riskscore import EstimationError, ModelContractError, ParameterError

    ts = make_training_set(*make_cohort(120, random_state=5))  # one child with the outcome
    # and advise as evaluate does for case folds (was "this split left them all out
    # of training ... cv=5, deal them to every fold" to a user who gave cv=5)
    with pytest.raises(
        EstimationError, match=r"^compare_models \(model 'a'\): a training fold.*of the 5 folds"
    ) as caught:
        compare_models({"a": default_scorecard()}, ts, cv=5, n_boot=0)
    assert "cv=5" not in str(caught.value)
    with pytest.raises(ParameterError, match=r"compare_models: unknown option\(s\) \['levle'\]"):
        compare_models({"a": default_scorecard()}, ts, cv=2, levle=0.9)
    with pytest.raises(ModelContractError, match=r"^compare_models \(model 'b'\): cannot validate"):
        compare_models({"a": default_scorecard(), "b": object()}, ts, cv=2, n_boot=0)
    with pytest.raises(ParameterError, match=r"^compare_models: level must be"):
        compare_models({"a": default_scorecard()}, ts, cv=2, level=3)
    with pytest.raises(ParameterError, match=r"^compare_models: cv must be"):
        compare_models({"a": default_scorecard()}, ts, cv="bad")
    # evaluate's own messages keep its name
    with pytest.raises(EstimationError, match=r"^evaluate: a training fold"):
        evaluate(default_scorecard(), ts, cv=5, n_boot=0)


class _Returns(FixedProbability):
    """A 'model' whose predict_proba returns ``what(n_rows)`` as it is."""

    def __init__(self, what=None):
        self.what = what

    def get_params(self, deep=True):
        return {"what": self.what}

    def set_params(self, **params):
        self.what = params.get("what", self.what)
        return self

    def predict_proba(self, X):
        return self.what(len(X))


def _two_columns(p):
    return lambda n: np.column_stack([1 - p(n), p(n)])


@pytest.mark.parametrize("refit", [True, False])
@pytest.mark.parametrize(
    ("what", "says"),
    [
        (_two_columns(lambda n: np.r_[np.nan, np.full(n - 1, 0.2)]), r"missing \(NaN\).*rows"),
        (_two_columns(lambda n: np.r_[1.5, np.full(n - 1, 0.2)]), r"outside 0 to 1.*rows"),
        (_two_columns(lambda n: np.r_[-0.1, np.full(n - 1, 0.2)]), r"outside 0 to 1.*rows"),
        (_two_columns(lambda n: np.r_[np.inf, np.full(n - 1, 0.2)]), r"outside 0 to 1.*rows"),
        (lambda n: np.full((n, 1), 0.2), r"shape \(\d+, 1\)"),
        (lambda n: np.full(n, 0.2), r"shape \(\d+,\)"),
        (lambda n: np.full((n + 1, 2), 0.5), r"shape \(\d+, 2\) for \d+ rows"),
        (lambda n: None, r"shape \(\)"),
        (lambda n: np.full((n, 2), "a", dtype=object), r"not numbers"),
    ],
)
def test_an_estimator_whose_probabilities_are_no_probabilities_is_refused(what, says, refit):
    # NaN probabilities raised pandas' "All arrays must be of the same length"; values
    # above 1 or below 0 were clipped into range and evaluated silently; a wrong
    # shape raised numpy's IndexError or a broadcasting ValueError
    from riskscore import ModelContractError

    ts = _drawn(n=400)
    kw = {"cv": 2} if refit else {"cv": None, "refit": False}
    with pytest.raises(ModelContractError, match=rf"^evaluate: _Returns.predict_proba.*{says}"):
        evaluate(_Returns(what), ts, n_boot=0, **kw)


def test_an_estimator_that_cannot_be_refitted_is_refused_saying_how_to_evaluate_it():
    # scikit-learn's clone raised "Cannot clone object ... get_params"
    from riskscore import ModelContractError

    class Plain:
        def fit(self, X, y):
            return self

        def predict_proba(self, X):
            return np.full((len(X), 2), 0.5)

    with pytest.raises(ModelContractError, match=r"^evaluate: .*Plain.*get_params.*refit=False"):
        evaluate(Plain(), _drawn(n=400), cv=2, n_boot=0)


def test_a_training_set_of_outcomes_that_are_not_0_1_is_refused_naming_the_rows():
    # text raised numpy's "could not convert string to float"; a column vector raised
    # numpy's "object too deep" in the case folds; NaN said only "must be 0/1 outcomes";
    # no rows at all said "CaseKFold: 0 case(s) cannot fill n_splits=2 folds"
    ts = _drawn(n=200)
    y_nan = ts.y.astype(float)
    y_nan[[3, 8]] = np.nan
    y_two = ts.y.copy()
    y_two[5] = 2
    cases = [
        (ts._replace(y=np.where(ts.y == 1, "yes", "no")), r": y must be 0/1 outcomes.*not numbers"),
        (ts._replace(y=ts.y[:, None]), r": y must be one outcome per row \(1-D\).*\(200, 1\)"),
        (ts._replace(y=y_nan), r": y must be 0/1 outcomes.*2 row\(s\).*rows \[3, 8\]"),
        (ts._replace(y=y_two), r": y must be 0/1 outcomes.*1 row\(s\).*rows \[5\]"),
        (
            ts._replace(X=ts.X.iloc[:0], y=ts.y[:0], case_ids=ts.case_ids[:0], as_of=ts.as_of[:0]),
            r" has no rows",
        ),
    ]
    for bad, says in cases:
        with pytest.raises(SchemaError, match=rf"^evaluate: training_set{says}"):
            evaluate(FixedProbability(), bad, cv=2, n_boot=0)


def test_given_splits_that_are_not_row_positions_are_refused_by_split():
    # a split that was no pair raised "not enough values to unpack"; positions past
    # the end numpy's IndexError; float positions "arrays used as indices must be of
    # integer type"; negative positions counted from the end, silently; no split at
    # all said "the 0 validated rows are all without the outcome"
    from riskscore import ParameterError

    ts = _drawn(n=400)
    first, second = np.arange(200), np.arange(200, 400)
    cases = [
        ([(first, second), "x"], r"cv\[1\] must be a \(train, test\) pair"),
        ([(first, np.arange(300, 500))], r"cv\[0\]: test holds row positions outside 0 to 399"),
        ([(-first - 1, second)], r"cv\[0\]: train holds row positions outside 0 to 399"),
        ([(first * 1.0, second)], r"cv\[0\]: train must be row positions \(integers"),
        ([(np.ones(10, bool), second)], r"cv\[0\]: train is a mask of 10 rows.*400"),
        ([], r"cv is an empty list"),
    ]
    for cv, says in cases:
        with pytest.raises(ParameterError, match=rf"^evaluate: {says}"):
            evaluate(FixedProbability(), ts, cv=cv, n_boot=0)
    # masks of every row, and a split validating nothing beside one that does, still run
    mask = np.arange(400) < 200
    res = evaluate(FixedProbability(), ts, cv=[(mask, ~mask), (first, first[:0])], n_boot=0)
    assert (res.predictions["fold"] == 0).sum() == 200
    from riskscore import EstimationError

    with pytest.raises(EstimationError, match=r"^evaluate: no row fell in a validation fold"):
        evaluate(FixedProbability(), ts, cv=[(first, first[:0])], n_boot=0)


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("alert_rates", "0.1", r"alert_rates must be a list of numbers.*got str"),
        ("alert_rates", [0.1, "x"], r"alert_rates must be a list of numbers"),
        ("alert_rates", [0.1, 1.0], r"alert_rates must be strictly between 0 and 1; got 1"),
        ("thresholds", "abc", r"thresholds must be a list of numbers.*got str"),
        ("thresholds", [[0.1]], r"thresholds must be a list of numbers.*shape \(1, 1\)"),
        ("thresholds", [0.1, 1.5], r"thresholds must be from 0 to 1; got 1.5"),
        ("dc_thresholds", "x", r"dc_thresholds must be a list of numbers.*got str"),
        ("nb_thresholds", "x", r"nb_thresholds must be a list of numbers.*got str"),
        ("nb_thresholds", [[0.1]], r"nb_thresholds must be a list of numbers"),
        ("reference", ["a"], r"reference must be the name of one of the models \['a'\]"),
        ("subgroup_by", 3, r"subgroup_by must be a column name or a list of them"),
    ],
)
def test_options_of_the_wrong_kind_are_refused_before_any_fold_is_fitted(option, value, says):
    # were numpy's "could not convert string to float", "'<' not supported between
    # 'int' and 'str'", "all the input arrays must have same number of dimensions",
    # "unhashable type: 'list'" - some of them after every fold had been fitted
    from riskscore import ParameterError

    fitted = []

    class Counting(LogisticRiskModel):
        def fit(self, X, y, case_ids=None):
            fitted.append(1)
            return super().fit(X, y, case_ids=case_ids)

    ts = make_training_set(*make_cohort(300, random_state=2))
    compared = option in ("nb_thresholds", "reference")
    with pytest.raises(
        ParameterError, match=("compare_models: " if compared else "evaluate: ") + says
    ):
        if compared:
            compare_models({"a": Counting()}, ts, cv=2, n_boot=0, **{option: value})
        else:
            evaluate(Counting(), ts, cv=2, n_boot=0, **{option: value})
    assert not fitted


def test_subgroups_by_one_column_name_are_by_that_column():
    # subgroup_by="sex" was read letter by letter: "none of the columns ['s', 'e', 'x']"
    events, cases = make_cohort(600, random_state=3)
    ts = make_training_set(events, cases, grid="90D")
    res = evaluate(default_scorecard(), ts, cv=2, n_boot=0, cases=cases, subgroup_by="sex")
    assert set(res.subgroups["attribute"]) == {"sex"}


def test_recalibrate_refuses_outcomes_and_tables_it_cannot_use_by_row():
    # y=None said "X has 400 rows and y 1", a 2-D y "... and y 800", a dict X "X has 1
    # rows"; NaN outcomes were not named by row
    from riskscore import ParameterError
    from riskscore.evaluation import recalibrate

    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({"siblings_removed": rng.integers(0, 4, n).astype(float)})
    y = (rng.random(n) < expit(-1.0 + 0.8 * X["siblings_removed"])).astype(int)
    model = LogisticRiskModel(penalty=None).fit(X, y)
    y_nan = y.astype(float)
    y_nan[[2, 6]] = np.nan
    cases = [
        (X, None, ParameterError, r"y is None"),
        (X, np.c_[y, y], SchemaError, r"y must be one outcome per row \(1-D\).*\(400, 2\)"),
        (X, y_nan, SchemaError, r"y must be 0/1 outcomes.*2 row\(s\).*rows \[2, 6\]"),
        (X, np.zeros(n), SchemaError, r"y has no row with the outcome"),
        (X, np.ones(n), SchemaError, r"y has no row without the outcome"),
        ({"siblings_removed": list(X["siblings_removed"])}, y, SchemaError, r"X must be"),
    ]
    for features, outcome, error, says in cases:
        with pytest.raises(error, match=rf"^recalibrate: {says}"):
            recalibrate(model, features, outcome)


def test_recalibrate_refuses_a_slope_that_would_reverse_the_ranking():
    # a negative slope turned every coefficient round (the riskiest became the safest)
    # though the docstring promises the ranking does not change
    from riskscore import EstimationError
    from riskscore.evaluation import recalibrate

    rng = np.random.default_rng(3)
    n = 4000
    X = pd.DataFrame({"siblings_removed": rng.integers(0, 4, n).astype(float)})
    y = (rng.random(n) < expit(-2.0 + 0.8 * X["siblings_removed"])).astype(int)
    model = LogisticRiskModel(penalty=None).fit(X, y)
    reversed_site = (rng.random(n) < expit(0.5 - 0.8 * X["siblings_removed"])).astype(int)
    with pytest.raises(EstimationError, match=r"^recalibrate: the slope .* is -\d.*Fix:"):
        recalibrate(model, X, reversed_site, method="slope")
    # the intercept alone keeps the ranking whatever the data say
    assert recalibrate(model, X, reversed_site).coef_[0, 0] == model.coef_[0, 0]


def test_a_training_set_of_one_outcome_or_of_unknown_features_says_so():
    # no child with the outcome said "the training set holds 0 children with the
    # outcome, and each child's rows stay in one of the 2 folds ... fewer folds cannot
    # change that"; a feature unknown in every row reached scikit-learn's "Found array
    # with 0 feature(s)"
    from riskscore import EstimationError

    ts = _drawn(n=400)
    with pytest.raises(EstimationError, match=r"^evaluate: training_set: every row is without"):
        evaluate(LogisticRiskModel(), ts._replace(y=np.zeros(400, int)), cv=2, n_boot=0)
    unknown = ts._replace(X=pd.DataFrame({"hardship_12m": np.full(400, np.nan)}))
    with pytest.raises(EstimationError, match=r"^evaluate: every feature .*unknown.*fold 0"):
        evaluate(LogisticRiskModel(), unknown, cv=2, n_boot=0)


class _Points:
    """A points model keeping the contract, whose risk_score returns ``what(n_rows)``."""

    score_scale = "points"
    bands: dict = {}
    model_card: dict = {}

    def __init__(self, what):
        self.what = what

    def risk_score(self, X):
        return self.what(len(X))

    def contributions(self, X):
        return pd.DataFrame({"baseline": np.zeros(len(X))}, index=X.index)

    def band(self, X):
        return pd.Series(pd.Categorical(["none"] * len(X), categories=["none"]), index=X.index)


class _Scored(_Returns):
    """An estimator with honest probabilities whose risk_score returns ``what(n_rows)``."""

    def predict_proba(self, X):
        p = X["p"].to_numpy(dtype=float)
        return np.column_stack([1 - p, p])

    def risk_score(self, X):
        return self.what(len(X))


@pytest.mark.parametrize("kind", [_Points, _Scored])
@pytest.mark.parametrize(
    ("what", "says"),
    [
        (lambda n: np.r_[np.nan, np.arange(n - 1) % 5], r"missing \(NaN\) scores.*rows \[\d+\]"),
        (lambda n: np.r_[np.arange(n - 1) % 5, np.inf], r"infinite scores.*rows \[\d+\]"),
        (lambda n: np.array(["a"] * n, dtype=object), r"not numbers"),
        (lambda n: np.arange(n - 1) % 5, r"shape \(\d+,\) for \d+ rows"),
    ],
)
def test_a_model_whose_scores_are_no_scores_is_refused(kind, what, says):
    # NaN or infinite points said "the points-to-risk fit did not converge ... too few
    # outcomes"; an estimator's NaN scores went into the predictions silently; text or
    # a wrong length raised numpy's conversion or broadcasting errors
    from riskscore import ModelContractError

    with pytest.raises(ModelContractError, match=rf"^evaluate: {kind.__name__}.risk_score.*{says}"):
        evaluate(kind(what), _drawn(n=400), cv=2, n_boot=0)


def test_a_scorecard_giving_every_row_the_same_points_says_so():
    # said "the points-to-risk fit did not converge ... too few outcomes, or the points
    # separate them perfectly"
    from riskscore import EstimationError

    with pytest.raises(EstimationError, match=r"^evaluate: every row of training fold 0 scores 3"):
        evaluate(_Points(lambda n: np.full(n, 3.0)), _drawn(n=400), cv=2, n_boot=0)


def test_an_explicit_subgroup_column_missing_from_cases_is_refused_by_name():
    # subgroup_by=["sex", "religion"] audited sex only: "religion" was dropped silently
    events, cases = make_cohort(600, random_state=3)
    ts = make_training_set(events, cases, grid="90D")
    with pytest.raises(SchemaError, match=r"^evaluate: subgroup_by names 'religion'.*'case_id'"):
        evaluate(
            default_scorecard(),
            ts,
            cv=2,
            n_boot=0,
            cases=cases,
            subgroup_by=["sex", "religion"],
        )
    with pytest.raises(SchemaError, match=r"^compare_models.*: subgroup_by names 'religion'"):
        compare_models(
            {"a": default_scorecard()}, ts, cv=2, n_boot=0, cases=cases, subgroup_by="religion"
        )


def test_the_default_subgroup_columns_absent_from_cases_are_said_to_be_skipped():
    events, cases = make_cohort(600, random_state=3)
    ts = make_training_set(events, cases, grid="90D")
    res = evaluate(
        default_scorecard(), ts, cv=2, n_boot=0, cases=cases.drop(columns="ethnic_group")
    )
    assert set(res.subgroups["attribute"]) == {"sex", "imd_quintile"}
    assert res.design["subgroups_skipped"] == ["ethnic_group"]
    assert res.subgroups.attrs["skipped"] == ["ethnic_group"]
    assert any("ethnic_group" in note for note in res.design["notes"])
    # all present: nothing skipped, nothing said
    full = evaluate(default_scorecard(), ts, cv=2, n_boot=0, cases=cases)
    assert "subgroups_skipped" not in full.design
    assert not any("skipped" in note for note in full.design["notes"])


def test_subgroup_errors_inside_evaluate_name_evaluate():
    # "subgroup_metrics: by names 'sex' twice" from a call of evaluate
    from riskscore.errors import ParameterError

    events, cases = make_cohort(600, random_state=3)
    ts = make_training_set(events, cases, grid="90D")
    with pytest.raises(ParameterError, match=r"^evaluate: subgroup_by names 'sex' twice"):
        evaluate(default_scorecard(), ts, cv=2, n_boot=0, cases=cases, subgroup_by=["sex", "sex"])


def test_subgroup_metrics_errors_name_the_function_called():
    import warnings

    from riskscore._params import called_as
    from riskscore.fairness import subgroup_metrics

    y = np.array([0, 1, 0, 1])
    p = np.array([0.1, 0.9, 0.2, 0.8])
    g = pd.Series(list("abab"), name="g")
    with pytest.raises(SchemaError, match=r"^subgroup_metrics: y_prob must be probabilities"):
        subgroup_metrics(y, p * 2, g, n_boot=0)
    with called_as("evaluate"):
        with pytest.raises(SchemaError, match=r"^evaluate: y_prob must be probabilities"):
            subgroup_metrics(y, p * 2, g, n_boot=0)
        # the function called warns of few replicates, not the audit inside it
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            subgroup_metrics(y, p, g, threshold=0.5, n_boot=5, disclosure=False)


def test_fewer_than_twenty_replicates_warn_once_naming_the_function_called():
    # evaluate(n_boot=5) gave degenerate percentile intervals silently (the command
    # line refuses fewer than 20)
    import warnings

    events, cases = make_cohort(600, random_state=3)
    ts = make_training_set(events, cases, grid="90D")
    with pytest.warns(UserWarning, match=r"^evaluate: n_boot=5 ") as w:
        evaluate(default_scorecard(), ts, cv=2, n_boot=5, cases=cases)
    assert len(w) == 1 and type(w[0].message) is UserWarning
    assert w[0].filename == __file__  # attributed to the caller's line
    with pytest.warns(UserWarning, match=r"^compare_models: n_boot=1 ") as w:
        compare_models({"a": default_scorecard()}, ts, cv=2, n_boot=1)
    assert len(w) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate(default_scorecard(), ts, cv=2, n_boot=0, cases=cases)
