"""One contract test over every model kind riskscore ships (imodels' registry pattern).

Every registered kind (``riskscore.contract.MODEL_KINDS``) is built here and checked
for the shared contract: ``risk_score``, ``contributions`` summing exactly to it,
``band`` reached at or above the thresholds on the declared ``score_scale``, a
``summary`` table, a printed score sheet with the audit-only notice, and being
auditable. A new model class that is not registered, or not built here, fails.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pandas as pd
import pytest

import riskscore
from riskscore import BANDS, FEATURES
from riskscore.contract import MODEL_KINDS, RiskModel, band_thresholds, check_model
from riskscore.errors import ModelContractError


def _data(n=1500, seed=3):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f: rng.integers(0, 3, n).astype(float) for f in FEATURES})
    X["attendance_recent"] = rng.uniform(0.4, 1.0, n)
    X["attendance_drop"] = rng.normal(0, 0.1, n)
    X.loc[rng.random(n) < 0.1, "attendance_recent"] = np.nan
    lp = -3 + 0.8 * X["siblings_removed"] + 0.6 * X["asthma_admissions_12m"]
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return X, y


def _build(kind: str):
    X, y = _data()
    if kind == "RuleScorecard":
        return riskscore.default_scorecard(), X
    if kind == "LogisticRiskModel":
        return riskscore.LogisticRiskModel(C=0.5).fit(X, y), X
    if kind == "IntegerPointsModel":
        base = riskscore.LogisticRiskModel(C=0.5, features=["siblings_removed"])
        return riskscore.IntegerPointsModel(base, max_points=6).fit(X, y), X
    raise AssertionError(f"no builder for registered model kind {kind}: add one here")


def test_every_model_class_in_the_package_is_registered():
    found = set()
    for info in pkgutil.walk_packages(riskscore.__path__, "riskscore."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and obj.__module__ == module.__name__
                and all(callable(getattr(obj, m, None)) for m in ("risk_score", "band"))
                and obj is not RiskModel
            ):
                found.add(name)
    assert found == set(MODEL_KINDS), "register every model class with @register_model"


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
def test_model_keeps_the_shared_contract(kind):
    model, X = _build(kind)
    check_model(model)
    assert isinstance(model, RiskModel)
    assert model.score_scale in ("points", "log-odds")
    score = model.risk_score(X)
    assert isinstance(score, pd.Series) and score.index.equals(X.index)
    assert np.isfinite(score).all()

    contrib = model.contributions(X)
    assert "baseline" in contrib.columns
    np.testing.assert_array_equal(contrib.sum(axis=1).to_numpy(), score.to_numpy())

    band = model.band(X)
    assert list(band.cat.categories) == list(BANDS) and band.cat.ordered
    thresholds = band_thresholds(model)
    assert list(thresholds) == list(BANDS[1:])
    expected = np.zeros(len(X), dtype=int)
    for t in thresholds.values():
        expected += score.to_numpy() >= t
    np.testing.assert_array_equal(band.cat.codes.to_numpy(), expected)

    assert isinstance(model.summary, pd.DataFrame) and len(model.summary)
    sheet = str(model)
    assert "not a decision about any person" in sheet
    # every audit band, by its display name
    assert "review" in sheet and "multi-agency discussion" in sheet


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
def test_every_model_kind_can_be_audited(kind):
    model, _ = _build(kind)
    events, cases = riskscore.vignette()
    audit = riskscore.audit_case(events, cases, model, "CHILD-A")
    assert len(audit.trajectory) and audit.model is model


def test_logistic_sheet_shows_odds_ratios_intervals_and_units():
    X, y = _data()
    model = riskscore.LogisticRiskModel(penalty=None, features=["siblings_removed"]).fit(X, y)
    sheet = str(model)
    table = model.summary
    row = table.set_index("feature").loc["siblings_removed"]
    assert f"{row['odds_ratio']:.2f} ({row['lower']:.2f} to {row['upper']:.2f})" in sheet
    assert "per event" in sheet and "Intervals:" in sheet


def test_an_object_without_the_contract_is_refused_by_name():
    with pytest.raises(ModelContractError, match="lacks"):
        riskscore.audit_cohort(*riskscore.vignette(), object())
    with pytest.raises(TypeError):  # ModelContractError is a TypeError too
        check_model(object())


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
@pytest.mark.parametrize("how", ["risk_score", "contributions", "band"])
def test_every_kind_refuses_a_feature_column_given_twice(kind, how):
    """Which of two columns of one name is the feature? Refused by name, not guessed
    (a rule scorecard raised AttributeError from pandas)."""
    model, X = _build(kind)
    name = model.features_[0] if hasattr(model, "features_") else "siblings_removed"
    doubled = pd.concat([X, X[[name]]], axis=1)
    with pytest.raises(riskscore.SchemaError, match=rf"'{name}'.*(twice|2 times)"):
        getattr(model, how)(doubled)


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
@pytest.mark.parametrize("value", [np.inf, -np.inf])
@pytest.mark.parametrize("how", ["risk_score", "contributions", "band"])
def test_every_kind_refuses_an_infinite_feature_value_by_column_and_row(kind, value, how):
    """A feature is a finite number or NaN (unknown). A rule scorecard used to score an
    infinite count as a huge one, where the logistic model refused it."""
    model, X = _build(kind)
    X = X.copy()
    name = model.features_[0] if hasattr(model, "features_") else "siblings_removed"
    rows = [3, 1200]
    X.loc[rows, name] = value
    with pytest.raises(riskscore.SchemaError, match=rf"'{name}'.*infinite.*\b3\b"):
        getattr(model, how)(X)


@pytest.mark.parametrize("kind", ["scorecard", "logistic"])
def test_a_feature_table_with_no_rows_scores_to_empty_results(kind):
    """Zero rows (a filter that kept nothing, a view with no change points) give empty
    scores, bands and contributions, not an error from deep inside."""
    from riskscore.vocabulary import FEATURES

    model = riskscore.default_scorecard()
    if kind == "logistic":
        X = pd.DataFrame(
            np.random.default_rng(0).random((60, len(FEATURES))), columns=list(FEATURES)
        )
        model = riskscore.LogisticRiskModel().fit(X, np.arange(60) % 2)
    empty = pd.DataFrame({f: pd.Series([], dtype=float) for f in FEATURES})
    score = model.risk_score(empty)
    assert isinstance(score, pd.Series) and len(score) == 0
    assert len(model.band(empty)) == 0
    contrib = model.contributions(empty)
    assert len(contrib) == 0 and contrib.columns[0] == "baseline"


@pytest.mark.parametrize(
    "make",
    [
        lambda: riskscore.LogisticRiskModel(),
        lambda: riskscore.IntegerPointsModel(),
        lambda: riskscore.FeatureEncoder(events=riskscore.vignette()[0]),
    ],
    ids=["LogisticRiskModel", "IntegerPointsModel", "FeatureEncoder"],
)
def test_using_an_unfitted_estimator_raises_riskscores_not_fitted_error(make):
    """One exception family for the user to catch: riskscore's NotFittedError, which is
    also scikit-learn's (the logistic model raised scikit-learn's own, the encoder an
    AttributeError)."""
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    est = make()
    events = riskscore.vignette()[0]
    X, _ = _data(20)
    call = (
        (lambda: est.transform(riskscore.as_of_grid(events, "90D")))
        if isinstance(est, riskscore.FeatureEncoder)
        else (lambda: est.risk_score(X))
    )
    with pytest.raises(riskscore.NotFittedError, match="not fitted") as caught:
        call()
    assert isinstance(caught.value, SklearnNotFittedError)


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
@pytest.mark.parametrize("how", ["risk_score", "contributions", "band", "fit"])
@pytest.mark.parametrize("given", ["None", "number", "text", "too few columns"])
def test_every_kind_refuses_an_input_of_the_wrong_kind_as_a_riskscore_error(kind, how, given):
    """scikit-learn's ValueErrors (a 'scalar array', 'X has 2 features') reached the user
    from the logistic model; they are SchemaErrors now (still ValueErrors, same words)."""
    model, X = _build(kind)
    bad = {"None": None, "number": 5, "text": "features.csv", "too few columns": [[1.0, 2.0]]}
    if how == "fit":
        if kind == "RuleScorecard":
            return  # written, not fitted
        y = (X["siblings_removed"] > 0).astype(int).to_numpy()
        for args in ((bad[given], y), (X, bad[given])):
            with pytest.raises(riskscore.RiskscoreError):
                type(model)(**model.get_params()).fit(*args)
        return
    import warnings

    with warnings.catch_warnings(), pytest.raises(riskscore.RiskscoreError):
        # (scikit-learn first warns that an unnamed input has no feature names)
        warnings.simplefilter("ignore", UserWarning)
        getattr(model, how)(bad[given])
