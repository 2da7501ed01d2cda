"""The public face: every exported name exists, is documented, and models share one contract."""

import inspect

import numpy as np
import pandas as pd
import pytest

import riskscore as rs

MODEL_KINDS = ("rule_scorecard", "logistic")


def test_every_exported_name_exists_and_is_documented():
    assert len(set(rs.__all__)) == len(rs.__all__)
    for name in rs.__all__:
        obj = getattr(rs, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            doc = inspect.getdoc(obj) or ""
            assert len(doc) > 40, f"{name} needs a docstring"


def test_public_functions_have_runnable_examples():
    missing = [
        name
        for name in rs.__all__
        if inspect.isfunction(getattr(rs, name))
        and "Examples" not in (inspect.getdoc(getattr(rs, name)) or "")
    ]
    assert not missing, f"public functions without an Examples section: {missing}"


@pytest.fixture(scope="module")
def features():
    events, cases = rs.make_cohort(800, random_state=5)
    ts = rs.make_training_set(events, cases, grid="90D")
    return ts


def _model(kind, ts):
    if kind == "rule_scorecard":
        return rs.default_scorecard()
    return rs.LogisticRiskModel().fit(ts.X, ts.y)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_every_model_kind_keeps_the_shared_contract(kind, features, tmp_path):
    model = _model(kind, features)
    X = features.X
    score = model.risk_score(X)
    contrib = model.contributions(X)
    assert isinstance(score, pd.Series) and score.index.equals(X.index)
    assert "baseline" in contrib.columns
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), score.to_numpy(), atol=1e-9)
    band = model.band(X)
    assert list(band.cat.categories) == list(rs.BANDS) and band.cat.ordered
    path = rs.save_model(model, tmp_path / f"{kind}.json")
    again = rs.load_model(path)
    np.testing.assert_array_equal(again.risk_score(X).to_numpy(), score.to_numpy())


def test_the_contract_test_covers_every_model_kind():
    """A new model kind must be added to MODEL_KINDS (and so to the contract test)."""
    from riskscore import modelfile

    kinds = set(modelfile._KINDS)
    assert kinds == set(MODEL_KINDS)
