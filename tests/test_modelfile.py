"""Model files: exact JSON round-trips, refusals, shipped models, checked pipelines."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskscore.errors import ModelFileError
from riskscore.logistic import LogisticRiskModel
from riskscore.modelfile import (
    default_scorecard,
    file_sha256,
    load_model,
    load_pipeline,
    model_from_json,
    model_to_json,
    save_model,
    save_pipeline,
    shipped_models,
)
from riskscore.scorecard import Rule, RuleScorecard
from riskscore.vocabulary import FEATURES

FEATURE_NAMES = list(FEATURES)


@st.composite
def cards(draw):
    rules, seen = [], set()
    for _ in range(draw(st.integers(1, 6))):
        f = draw(st.sampled_from(FEATURE_NAMES))
        op = draw(st.sampled_from([">=", ">", "<=", "<", "=="]))
        t = draw(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
        if (f, op, t) in seen:
            continue
        seen.add((f, op, t))
        pts = draw(st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False))
        text = draw(st.text(max_size=30))
        rules.append(Rule(f, op, t, pts, text, FEATURES[f].agencies))
    lo = draw(st.floats(-50, 50, allow_nan=False))
    hi = lo + draw(st.floats(0, 50, allow_nan=False))
    name = draw(st.one_of(st.none(), st.text(min_size=1, max_size=12)))
    return RuleScorecard(
        rules,
        {"review": lo, "multi_agency_discussion": hi},
        name=name,
        model_card={"note": draw(st.text(max_size=20)), "created": "2101-01-01"},
    )


def feature_table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(0.5, 1.0, (n, len(FEATURES))), columns=FEATURE_NAMES)
    X = X.mask(rng.random(X.shape) < 0.1)
    return X


def fitted_logistic(**params):
    rng = np.random.default_rng(1)
    n = 1500
    X = pd.DataFrame(
        {
            "case_id": [f"k{i // 3}" for i in range(n)],
            "parental_substance_use_12m": (rng.random(n) < 0.3).astype(float),
            "attendance_recent": rng.uniform(0.2, 1.0, n),
            "siblings_removed": rng.integers(0, 3, n).astype(float),
        }
    )
    lp = (
        -1.5
        + X["parental_substance_use_12m"]
        - X["attendance_recent"]
        + 0.5 * X["siblings_removed"]
    )
    y = rng.random(n) < 1 / (1 + np.exp(-lp))  # True = outcome (classes_[1])
    X.loc[rng.random(n) < 0.15, "attendance_recent"] = np.nan
    return LogisticRiskModel(**params).fit(X, y, case_ids=X["case_id"]), X, y


# --------------------------------------------------------------------------- round trips


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(card=cards())
def test_scorecard_json_round_trip_is_exact(card):
    back = model_from_json(model_to_json(card))
    assert back.rules == card.rules and back.bands == card.bands and back.name == card.name
    assert back.model_card.items() >= card.model_card.items()  # plus intended_use
    assert model_from_json(model_to_json(back)) == back
    X = feature_table()
    pd.testing.assert_series_equal(back.risk_score(X), card.risk_score(X), check_exact=True)
    assert back.band(X).equals(card.band(X))


@pytest.mark.parametrize(
    "params",
    [
        {"penalty": None},
        {"penalty": "l2", "C": 0.3, "class_weight": {False: 1.0, True: 4.0}},
        {
            "penalty": None,
            "class_weight": "balanced",
            "recalibrate": "platt",
            "bands": {"review": 0.05, "multi_agency_discussion": 0.4},
        },
    ],
)
def test_logistic_json_round_trip_gives_identical_scores(tmp_path, params):
    model, X, y = fitted_logistic(**params)
    path = save_model(model, tmp_path / "m.json")
    back = load_model(path)
    np.testing.assert_array_equal(back.risk_score(X).to_numpy(), model.risk_score(X).to_numpy())
    pd.testing.assert_frame_equal(back.contributions(X), model.contributions(X), check_exact=True)
    assert back.band(X).equals(model.band(X))
    assert back.predict(X).tolist() == model.predict(X).tolist()
    assert back.get_params() == model.get_params()
    if params.get("penalty", "l2") is None and "class_weight" not in params:
        pd.testing.assert_frame_equal(back.odds_ratios(), model.odds_ratios(), check_exact=True)
    doc = json.loads(path.read_text())
    assert doc["kind"] == "logistic" and doc["schema_version"] == 1
    assert list(doc["coefficients"])[-1] == "attendance_recent__missing"
    assert "not a decision about any person" in doc["model_card"]["intended_use"]


def test_model_card_counts_pass_disclosure_control(tmp_path):
    model, X, y = fitted_logistic(penalty=None)
    td = json.loads(model_to_json(model))["model_card"]["training_data"]
    assert td["n_rows"] == 1500 and td["n_cases"] == 500  # multiples of 5 stay
    assert td["n_events"] % 5 == 0 and abs(td["n_events"] - y.sum()) <= 2
    assert len(td["sha256"]) == 64
    small = LogisticRiskModel().fit(X.iloc[:40], np.r_[[True] * 6, [False] * 34])
    td_small = json.loads(model_to_json(small))["model_card"]["training_data"]
    assert td_small["n_events"] is None and td_small["n_rows"] == 40


def test_saving_an_unnamed_or_unfitted_model_is_refused():
    with pytest.raises(ModelFileError, match="not fitted"):
        model_to_json(LogisticRiskModel())
    unnamed = LogisticRiskModel().fit(np.r_[0.0, 1, 2, 3][:, None], [0, 0, 1, 1])
    with pytest.raises(ModelFileError, match="DataFrame"):
        model_to_json(unnamed)


# --------------------------------------------------------------------------- refusals


def _doc():
    return json.loads(model_to_json(default_scorecard()))


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d.update(kind="random_forest"), "unknown model kind"),
        (lambda d: d.pop("kind"), "unknown model kind"),
        (lambda d: d.pop("schema_version"), "schema_version' is missing"),
        (lambda d: d.update(schema_version=2), "schema_version 2 is not supported"),
        (lambda d: d.update(schema_version="1"), "not supported"),
        (
            lambda d: d["features"].append("drug_dealer_score"),
            "unknown feature 'drug_dealer_score'",
        ),
        (lambda d: d["rules"][0].update(feature="parental_drug_use"), "parental_drug_use"),
        (lambda d: d["rules"][0].update(op="~"), "comparison"),
        (lambda d: d["rules"][0].update(points="lots"), "number"),
        (lambda d: d["rules"][0].update(weight=2), "unknown entries"),
        (lambda d: d.update(bands={"review": 4}), "bands"),
        (lambda d: d["features"].remove("hardship_12m"), "does not match"),
    ],
)
def test_tampered_scorecard_files_are_refused(edit, match):
    doc = _doc()
    edit(doc)
    with pytest.raises(ModelFileError, match=match):
        model_from_json(json.dumps(doc))


def test_tampered_logistic_files_are_refused():
    model, _, _ = fitted_logistic()
    good = json.loads(model_to_json(model))
    for edit, match in [
        (lambda d: d.update(kind="rule_scorecard"), "rules"),
        (lambda d: d["coefficients"].pop("siblings_removed"), "coefficients"),
        (lambda d: d["features"].__setitem__(0, "parental_heroin"), "parental_heroin"),
        (lambda d: d["parameters"].update(solver="lbfgs"), "parameter"),
        (lambda d: d["impute_values"].pop("attendance_recent"), "impute_values"),
    ]:
        doc = json.loads(json.dumps(good))
        edit(doc)
        with pytest.raises(ModelFileError, match=match):
            model_from_json(json.dumps(doc))


def test_broken_text_and_checksums_are_refused(tmp_path):
    with pytest.raises(ModelFileError, match="not valid JSON"):
        model_from_json('{"kind": "rule_scorecard",')
    path = save_model(default_scorecard(), tmp_path / "card.json")
    digest = file_sha256(path)
    assert load_model(path, sha256=digest.upper()) == default_scorecard()
    path.write_text(path.read_text().replace('"points": 3.0', '"points": 30.0', 1))
    with pytest.raises(ModelFileError, match="SHA-256 mismatch"):
        load_model(path, sha256=digest)
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "missing.json")


# --------------------------------------------------------------------------- shipped


def test_default_scorecard_ships_with_the_package():
    assert {"review-rules-v1", "review-rules-v2"} <= set(shipped_models())
    text = (resources.files("riskscore.models") / "review-rules-v2.json").read_text("utf-8")
    assert model_from_json(text) == default_scorecard() == load_model("review-rules-v2")
    assert load_model("review-rules-v2.json") == default_scorecard()
    # v1 stays loadable by name
    assert load_model("review-rules-v1").name == "review-rules-v1"
    with pytest.raises(ModelFileError, match="review-rules-v1"):
        load_model("review-rules-v9")


# --------------------------------------------------------------------------- pipelines


def test_load_pipeline_needs_the_matching_sha256(tmp_path):
    model, X, _ = fitted_logistic()
    path = tmp_path / "model.joblib"
    digest = save_pipeline(model, path)
    assert digest == file_sha256(path)
    back = load_pipeline(path, sha256=digest)
    np.testing.assert_array_equal(back.risk_score(X), model.risk_score(X))
    with pytest.raises(ModelFileError, match="mismatch"):
        load_pipeline(path, sha256="a" * 64)
    with pytest.raises(ModelFileError, match="64 hexadecimal"):
        load_pipeline(path, sha256="abc")
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="mismatch"):
        load_pipeline(path, sha256=digest)
