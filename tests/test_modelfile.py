"""Model files: exact JSON round-trips, refusals, shipped models, checked pipelines."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskscore.errors import ModelFileError
from riskscore.logistic import LogisticRiskModel
from riskscore.modelfile import (
    MAX_FILE_BYTES,
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
from riskscore.vocabulary import BANDS, FEATURES

FEATURE_NAMES = list(FEATURES)


def _total_range(rules):
    """Lowest and highest total the rules can give, by trying values around every threshold.

    Independent of the library's own bound: each threshold, the next float either side
    of it, and values far beyond the ends.
    """
    low = high = 0.0
    for f in {r.feature for r in rules}:
        mine = [r for r in rules if r.feature == f]
        t = np.array([r.threshold for r in mine])
        values = np.concatenate([t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), [-2e6, 2e6]])
        totals = np.zeros(len(values))
        for r in mine:
            totals += np.where(r.fires(values), r.points, 0.0)
        low += totals.min()
        high += totals.max()
    return low, high


# text a model file may hold: no control characters but line breaks and tabs, no
# bidirectional controls (see test_text_with_control_characters_is_refused_naming_the_entry)
_model_text = st.characters(
    blacklist_categories=("Cc", "Cs"),
    blacklist_characters="\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
) | st.sampled_from("\n\t")


@st.composite
def cards(draw):
    """Valid scorecards: bands above the lowest total, at most one above the highest."""
    rules, seen = [], set()
    for _ in range(draw(st.integers(1, 6))):
        f = draw(st.sampled_from(FEATURE_NAMES))
        op = draw(st.sampled_from([">=", ">", "<=", "<", "=="]))
        t = draw(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
        if (f, op, t) in seen:
            continue
        seen.add((f, op, t))
        pts = draw(st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False))
        text = draw(st.text(_model_text, max_size=30))
        rules.append(Rule(f, op, t, pts, text, FEATURES[f].agencies))
    low, high = _total_range(rules)
    lo = draw(st.floats(low, high + 1, exclude_min=True, allow_nan=False))
    hi = draw(st.floats(lo, high + 1, allow_nan=False))
    name = draw(
        st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,11}", fullmatch=True))
    )
    return RuleScorecard(
        rules,
        {"review": lo, "multi_agency_discussion": hi},
        name=name,
        model_card={"note": draw(st.text(_model_text, max_size=20)), "created": "2101-01-01"},
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


@pytest.mark.parametrize("kind", ["logistic", "scorecard"])
def test_training_counts_given_in_model_card_pass_disclosure_control(kind):
    # save_model(model_card={"training_data": ...}) replaced the disclosed counts and
    # wrote 3 events and 1,503 rows as given
    model = fitted_logistic()[0] if kind == "logistic" else load_model("review-rules-v2")
    given = {"n_rows": 1503, "n_events": 3, "n_cases": 501, "source": "extract 2101"}
    td = json.loads(model_to_json(model, model_card={"training_data": given}))["model_card"][
        "training_data"
    ]
    assert td == {"n_rows": 1505, "n_events": None, "n_cases": 500, "source": "extract 2101"}
    # a scorecard file whose card holds small counts is written back controlled
    doc = json.loads(model_to_json(load_model("review-rules-v2")))
    doc["model_card"]["training_data"] = {"n_rows": 42, "n_events": 7}
    again = json.loads(model_to_json(model_from_json(json.dumps(doc))))
    assert again["model_card"]["training_data"] == {"n_rows": 40, "n_events": None}


def test_saving_an_unnamed_or_unfitted_model_is_refused():
    with pytest.raises(ModelFileError, match="not fitted"):
        model_to_json(LogisticRiskModel())
    unnamed = LogisticRiskModel().fit(np.r_[0.0, 1, 2, 3][:, None], [0, 0, 1, 1])
    with pytest.raises(ModelFileError, match="DataFrame"):
        model_to_json(unnamed)


# --------------------------------------------------------------------------- refusals


def _doc():
    # the tampering tests name entries by position in review-rules-v1
    return json.loads(model_to_json(load_model("review-rules-v1")))


def _logistic_doc():
    model, _, _ = fitted_logistic()
    return json.loads(model_to_json(model))


def _refused(text: str, *words: str) -> str:
    """Loading ``text`` is refused with one message naming ``words`` and a fix."""
    with pytest.raises(ModelFileError) as info:
        model_from_json(text)
    message = str(info.value)
    for w in words:
        assert w in message, (w, message)
    assert "Fix:" in message, message
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda d: d.update(kind="random_forest"), ["kind", "random_forest"]),
        (lambda d: d.pop("kind"), ["kind"]),
        (lambda d: d.pop("schema_version"), ["schema_version", "missing"]),
        (lambda d: d.update(schema_version=2), ["schema_version", "2 is not supported"]),
        (lambda d: d.update(schema_version="1"), ["schema_version", "not supported"]),
        (lambda d: d.update(schema_version=1.0), ["schema_version", "not supported"]),
        (lambda d: d.update(schema_version=True), ["schema_version", "not supported"]),
        (lambda d: d["features"].append("drug_dealer_score"), ["features[16]", "drug_dealer"]),
        (lambda d: d["rules"][0].update(feature="parental_drug_use"), ["rules[0].feature"]),
        (lambda d: d["rules"][0].update(op="~"), ["rules[0].op", "comparison"]),
        (lambda d: d["rules"][0].update(points="lots"), ["rules[0].points", "number"]),
        (lambda d: d["rules"][0].update(points=1e308), ["rules[0].points", "sane range"]),
        (lambda d: d["rules"][2].update(threshold=1e300), ["rules[2].threshold"]),
        (lambda d: d["rules"][0].update(weight=2), ["rules[0].weight", "unknown entry"]),
        (lambda d: d["rules"][0].update(agencies=["mi5"]), ["rules[0].agencies[0]"]),
        (lambda d: d.update(extra={"x": 1}), ["extra", "unknown entry"]),
        (lambda d: d.update(parameters={"C": 1}), ["parameters.C"]),
        (lambda d: d.update(bands={"review": 4}), ["bands.multi_agency_discussion", "missing"]),
        (lambda d: d.update(bands={"review": 0, "multi_agency_discussion": 0}), ["bands.review"]),
        (lambda d: d.update(bands={"review": 9, "multi_agency_discussion": 5}), ["out of order"]),
        (
            lambda d: d.update(bands={"review": 4, "multi_agency_discussion": 1e6}),
            ["bands.multi_agency_discussion", "never be reached"],
        ),
        (lambda d: d["features"].remove("hardship_12m"), ["features", "does not match"]),
        (lambda d: d.update(name="a\nb"), ["name"]),
        (lambda d: d.update(rules=[]), ["rules", "0 entries"]),
    ],
)
def test_tampered_scorecard_files_are_refused_naming_the_entry(edit, words):
    doc = _doc()
    edit(doc)
    _refused(json.dumps(doc), *words)


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda d: d.update(kind="rule_scorecard"), ["rules"]),
        (lambda d: d["coefficients"].pop("siblings_removed"), ["coefficients"]),
        (lambda d: d["features"].__setitem__(0, "parental_heroin"), ["features[0]"]),
        (lambda d: d["parameters"].update(solver="lbfgs"), ["parameters.solver", "unknown"]),
        (lambda d: d["parameters"].update(C=-1.0), ["parameters.C"]),
        (lambda d: d["parameters"].update(penalty="l3"), ["parameters", "penalty"]),
        (lambda d: d["impute_values"].pop("attendance_recent"), ["impute_values"]),
        (lambda d: d["impute_values"].update(attendance_recent=7.0), ["impute_values.attendance"]),
        (lambda d: d.update(intercept=1e308), ["intercept", "sane range"]),
        (lambda d: d.update(intercept="-1.2"), ["intercept", "number"]),
        (lambda d: d["coefficients"].update(siblings_removed=-500.0), ["coefficients.siblings"]),
        (lambda d: d.update(bands={"review": 0, "multi_agency_discussion": 0}), ["bands.review"]),
        (lambda d: d.update(bands={"review": 0.5, "multi_agency_discussion": 0.1}), ["order"]),
        (lambda d: d.update(classes=[1, 1]), ["classes"]),
        # classes_[1] is the outcome: reversed labels made every outcome a non-event
        (lambda d: d.update(classes=[True, False]), ["classes", "ascending"]),
        (lambda d: d.update(classes=[1, 0]), ["classes", "ascending"]),
        (lambda d: d.update(classes=["b", "a"]), ["classes", "ascending"]),
        (lambda d: d.update(calibration={"method": "isotonic"}), ["calibration.method"]),
        (lambda d: d.update(covariance=[[1.0]]), ["covariance"]),
        (lambda d: d.update(n_iter=[-3]), ["n_iter[0]"]),
        (lambda d: d.update(surprise=True), ["surprise", "unknown entry"]),
        (
            lambda d: d["missing_indicators"].update(siblings_removed=["attendance_recent"]),
            ["missing_indicators.siblings_removed"],
        ),
    ],
)
def test_tampered_logistic_files_are_refused_naming_the_entry(edit, words):
    doc = _logistic_doc()
    edit(doc)
    _refused(json.dumps(doc), *words)


def test_non_finite_numbers_are_refused_whatever_their_spelling():
    text = model_to_json(fitted_logistic()[0])
    intercept = json.loads(text)["intercept"]
    for bad in ("NaN", "Infinity", "-Infinity", "1e999", "-1e999"):
        _refused(text.replace(f'"intercept": {intercept!r}', f'"intercept": {bad}'), bad)
    card = model_to_json(default_scorecard())
    _refused(card.replace('"points": 3.0', '"points": NaN', 1), "NaN")
    _refused(card.replace('"review": 4.0', '"review": ' + "9" * 5000, 1), "too long")


def test_duplicate_keys_are_refused():
    text = model_to_json(default_scorecard())
    dup = text.replace('"review": 4.0,', '"review": 4.0, "review": 0.5,', 1)
    _refused(dup, "'review'", "twice")


def test_deep_nesting_and_huge_files_are_refused_without_a_traceback(tmp_path):
    # 100k nested arrays crash a recursive parser; the refusal is a plain error
    deep = '{"kind": "rule_scorecard", "schema_version": 1, "x": ' + "[" * 100_000 + "]" * 100_000
    _refused(deep + "}", "nested 100001 levels")
    # brackets inside strings are text, not nesting
    doc = _doc()
    doc["model_card"]["note"] = "[" * 1000
    assert model_from_json(json.dumps(doc)) == model_from_json(json.dumps(doc))
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_FILE_BYTES + 1))
    with pytest.raises(ModelFileError, match="larger than a model file"):
        load_model(big)


def test_broken_text_folders_and_checksums_are_refused(tmp_path):
    _refused('{"kind": "rule_scorecard",', "not valid JSON")
    path = save_model(default_scorecard(), tmp_path / "card.json")
    digest = file_sha256(path)
    assert load_model(path, sha256=digest.upper()) == default_scorecard()
    for bad in (" " + digest, digest + "\n", digest[:-1], "g" * 64, 123):
        with pytest.raises(ModelFileError, match="64 hexadecimal"):
            load_model(path, sha256=bad)
    path.write_text(path.read_text().replace('"points": 3.0', '"points": 30.0', 1))
    with pytest.raises(ModelFileError, match="SHA-256 mismatch"):
        load_model(path, sha256=digest)
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "missing.json")
    with pytest.raises(ModelFileError, match="is a folder"):
        load_model(tmp_path)
    (tmp_path / "latin1.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(ModelFileError, match="UTF-8"):
        load_model(tmp_path / "latin1.json")


def test_save_model_records_the_sha256_beside_the_file(tmp_path):
    path = save_model(default_scorecard(), tmp_path / "card.json")
    line = (tmp_path / "card.json.sha256").read_text(encoding="utf-8")
    # sha256sum format: digest, two spaces, file name
    assert line == hashlib.sha256(path.read_bytes()).hexdigest() + "  card.json\n"
    assert load_model(path, sha256=line.split()[0]) == default_scorecard()


def test_save_model_never_writes_a_file_load_would_refuse(tmp_path):
    card = RuleScorecard(
        [Rule("siblings_removed", ">=", 1, 3)], {"review": 0, "multi_agency_discussion": 0}
    )
    with pytest.raises(ModelFileError, match="bands.review"):
        save_model(card, tmp_path / "zero.json")
    assert not (tmp_path / "zero.json").exists()
    model, _, _ = fitted_logistic()
    model.intercept_ = np.array([np.nan])
    with pytest.raises(ModelFileError):
        save_model(model, tmp_path / "nan.json")
    assert not (tmp_path / "nan.json").exists()


# --------------------------------------------------------------------------- mutations

_PROBE = feature_table(200, seed=3)


def _paths(doc, prefix=()):
    """Every (path, value) in a JSON document, containers included."""
    yield prefix, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e308, -1e308, 5e-324, 1.0, -1.0, 100.0, 1e6]),
    st.text(max_size=20),
    st.sampled_from([*FEATURE_NAMES, "review", "multi_agency_discussion", ">=", "logistic"]),
)
_JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)

_SHIPPED_DOCS = {}


def _shipped_doc(name):
    if name not in _SHIPPED_DOCS:
        text = (resources.files("riskscore.models") / f"{name}.json").read_text("utf-8")
        _SHIPPED_DOCS[name] = json.loads(text)
    return json.loads(json.dumps(_SHIPPED_DOCS[name]))


@st.composite
def mutated_files(draw):
    """A shipped model file with one random edit: replace, delete, add, or number nudge."""
    doc = _shipped_doc(
        draw(
            st.sampled_from(
                [
                    "review-rules-v1",
                    "review-rules-v2",
                    "synthetic-logistic-v1",
                    "synthetic-logistic-v2",
                ]
            )
        )
    )
    paths = [p for p, _ in _paths(doc) if p]
    path = draw(st.sampled_from(paths))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    action = draw(st.sampled_from(["replace", "delete", "add", "scale"]))
    if action == "replace":
        parent[last] = draw(_JSON_VALUES)
    elif action == "delete":
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=12))] = draw(_JSON_VALUES)
    elif action == "add":
        parent.insert(last, draw(_JSON_VALUES))
    elif isinstance(parent[last], (int, float)) and not isinstance(parent[last], bool):
        parent[last] = parent[last] * draw(st.sampled_from([-1.0, 0.0, 1e-9, 2.0, 1e9, 1e300]))
    else:
        parent[last] = draw(_JSON_VALUES)
    return json.dumps(doc, allow_nan=True)


@settings(max_examples=150, deadline=None)
@given(text=mutated_files())
def test_a_mutated_model_file_loads_to_a_sound_model_or_is_refused(text):
    try:
        model = model_from_json(text)
    except ModelFileError as exc:
        assert "\n" not in str(exc)
        return
    # it loaded: every score is finite, bands are the three audit bands, and the model
    # is exactly what its own file says (saving and reloading changes nothing)
    score = model.risk_score(_PROBE).to_numpy()
    assert np.isfinite(score).all()
    assert set(model.band(_PROBE).astype(str)) <= set(BANDS)
    card = getattr(model, "model_card_", None)
    again = model_from_json(model_to_json(model, model_card=card))
    np.testing.assert_array_equal(again.risk_score(_PROBE).to_numpy(), score)
    assert again.band(_PROBE).equals(model.band(_PROBE))


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(
        ["review-rules-v1", "review-rules-v2", "synthetic-logistic-v1", "synthetic-logistic-v2"]
    ),
    cut=st.integers(0, 10_000),
    byte=st.integers(0, 255),
)
def test_byte_level_edits_load_soundly_or_are_refused(tmp_path_factory, name, cut, byte):
    data = bytearray((resources.files("riskscore.models") / f"{name}.json").read_bytes())
    data[cut % len(data)] = byte
    path = tmp_path_factory.mktemp("edit") / "m.json"
    path.write_bytes(bytes(data))
    try:
        model = load_model(path)
    except ModelFileError:
        return
    assert np.isfinite(model.risk_score(_PROBE).to_numpy()).all()


# --------------------------------------------------------------------------- shipped

MODELS = Path(__file__).resolve().parent.parent / "models"


def test_every_shipped_model_has_its_sha256_recorded_and_matching():
    # recompute independently; when you add or rebuild a model file, record it with
    #   cd models && sha256sum NAME.json > NAME.json.sha256   (save_model does this)
    jsons = sorted(p.name for p in MODELS.glob("*.json"))
    sums = sorted(p.name for p in MODELS.glob("*.json.sha256"))
    assert [f + ".sha256" for f in jsons] == sums
    for f in jsons:
        recorded = (MODELS / (f + ".sha256")).read_text(encoding="utf-8")
        assert recorded == hashlib.sha256((MODELS / f).read_bytes()).hexdigest() + f"  {f}\n", f
    assert shipped_models() == [f[: -len(".json")] for f in jsons]
    for name in shipped_models():
        load_model(name)  # every shipped file passes validation


def test_shipped_files_load_and_save_back_byte_for_byte():
    for name in shipped_models():
        text = (MODELS / f"{name}.json").read_text(encoding="utf-8")
        model = load_model(name)
        assert model_to_json(model, model_card=getattr(model, "model_card_", None)) == text


def test_default_scorecard_ships_with_the_package():
    assert {"review-rules-v1", "review-rules-v2"} <= set(shipped_models())
    text = (resources.files("riskscore.models") / "review-rules-v2.json").read_text("utf-8")
    assert model_from_json(text) == default_scorecard() == load_model("review-rules-v2")
    # v1 stays loadable by name
    assert load_model("review-rules-v1").name == "review-rules-v1"
    with pytest.raises(ModelFileError, match="no shipped model named 'review-rules-v9'"):
        load_model("review-rules-v9")


def test_a_file_in_the_working_directory_cannot_shadow_a_shipped_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    doc = _doc()
    doc["bands"] = {"review": 1.0, "multi_agency_discussion": 2.0}
    for name in ("review-rules-v2", "review-rules-v9"):
        (tmp_path / name).write_text(json.dumps(doc), encoding="utf-8")
    shipped = default_scorecard()
    assert shipped.bands["review"] == 4.0  # not the planted file
    assert load_model("review-rules-v2") == shipped
    with pytest.raises(ModelFileError, match="no shipped model"):
        load_model("review-rules-v9")  # a name never falls back to a file
    # a path never falls back to a shipped model
    assert load_model("./review-rules-v2").bands["review"] == 1.0
    assert load_model(Path("review-rules-v2")).bands["review"] == 1.0
    with pytest.raises(ModelFileError, match="no such file"):
        load_model("review-rules-v1.json")


def test_a_changed_installed_model_is_refused(tmp_path, monkeypatch):
    from riskscore import modelfile

    for p in MODELS.glob("review-rules-v2.json*"):
        (tmp_path / p.name).write_bytes(p.read_bytes())
    monkeypatch.setattr(modelfile, "_shipped_root", lambda: tmp_path)
    assert load_model("review-rules-v2") == default_scorecard()
    text = (tmp_path / "review-rules-v2.json").read_text(encoding="utf-8")
    (tmp_path / "review-rules-v2.json").write_text(text.replace('"review": 4.0', '"review": 1.0'))
    with pytest.raises(ModelFileError, match="does not match the SHA-256 recorded"):
        load_model("review-rules-v2")
    # a JSON file without a recorded digest is not a shipped model at all
    (tmp_path / "planted.json").write_text(text, encoding="utf-8")
    assert "planted" not in shipped_models()
    with pytest.raises(ModelFileError, match="no shipped model named 'planted'"):
        load_model("planted")


# --------------------------------------------------------------------------- pipelines


def test_load_pipeline_needs_the_matching_sha256(tmp_path):
    model, X, _ = fitted_logistic()
    path = tmp_path / "model.joblib"
    digest = save_pipeline(model, path)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    back = load_pipeline(path, sha256=digest)
    np.testing.assert_array_equal(back.risk_score(X), model.risk_score(X))
    assert isinstance(load_pipeline(path, sha256=digest.upper()), LogisticRiskModel)
    with pytest.raises(ModelFileError, match="mismatch"):
        load_pipeline(path, sha256="a" * 64)
    for bad in ("abc", " " + digest, digest + " ", None):
        with pytest.raises(ModelFileError, match="64 hexadecimal"):
            load_pipeline(path, sha256=bad)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="mismatch"):
        load_pipeline(path, sha256=digest)
    with pytest.raises(ModelFileError, match="is a folder"):
        load_pipeline(tmp_path, sha256=digest)


class _Payload:
    """Unpickling this creates ``marker``: a stand-in for any code a pickle can run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_malicious_pickle_never_runs_without_its_digest(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.joblib"
    joblib.dump(_Payload(marker), path)
    assert not marker.exists()
    with pytest.raises(ModelFileError, match="mismatch"):
        load_pipeline(path, sha256="0" * 64)
    assert not marker.exists()
    # the test's payload is real: with its own digest it runs
    load_pipeline(path, sha256=hashlib.sha256(path.read_bytes()).hexdigest()).close()
    assert marker.exists()


def test_a_pickle_swapped_after_the_hash_is_never_run(tmp_path, monkeypatch):
    """The attack: vet a file, then replace it between the hash check and the load.

    Simulated deterministically: the moment the digest is computed (after every byte
    was hashed), the file on disk is replaced with a malicious pickle. A loader that
    opens the path again after hashing would run it.
    """
    marker = tmp_path / "pwned"
    good, evil = tmp_path / "good.joblib", tmp_path / "evil.joblib"
    digest = save_pipeline({"weights": [1, 2, 3]}, good)
    joblib.dump(_Payload(marker), evil)
    real_sha256 = hashlib.sha256
    swaps = []

    class SwappingHash:
        def __init__(self, data=b""):
            self._h = real_sha256(data)

        def update(self, data):
            self._h.update(data)

        def hexdigest(self):
            out = self._h.hexdigest()
            if out == digest:
                good.write_bytes(evil.read_bytes())  # the swap, just after the check
                swaps.append(out)
            return out

        def digest(self):
            return bytes.fromhex(self.hexdigest())

    monkeypatch.setattr(hashlib, "sha256", SwappingHash)
    loaded = load_pipeline(good, sha256=digest)
    monkeypatch.undo()
    assert swaps, "the simulated swap did not happen"
    assert loaded == {"weights": [1, 2, 3]}
    assert not marker.exists()
    assert good.read_bytes() == evil.read_bytes()  # the file was swapped


@pytest.mark.parametrize("content", [b"not a pickle", b""], ids=["text", "empty"])
def test_vetted_bytes_that_are_not_a_pickle_are_a_model_file_error(tmp_path, content):
    # KeyError: 110 and EOFError came out of joblib
    path = tmp_path / "p.joblib"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="could not be unpickled"):
        load_pipeline(path, sha256=hashlib.sha256(content).hexdigest())


def test_save_pipeline_writes_where_save_model_does_and_refuses_what_cannot_be_pickled(tmp_path):
    # a folder gave IsADirectoryError, a missing parent FileNotFoundError, a lambda
    # PicklingError
    with pytest.raises(ModelFileError, match="is a folder"):
        save_pipeline({}, tmp_path)
    deep = tmp_path / "new" / "folder" / "p.joblib"
    digest = save_pipeline({"a": 1}, deep)
    assert load_pipeline(deep, sha256=digest) == {"a": 1}
    with pytest.raises(ModelFileError, match="cannot be pickled"):
        save_pipeline(lambda x: x, tmp_path / "f.joblib")
    assert not (tmp_path / "f.joblib").exists()


def test_file_sha256_of_a_missing_file_or_a_folder_says_so(tmp_path):
    from riskscore.errors import MissingFileError, ParameterError

    with pytest.raises(MissingFileError, match="no such file"):
        file_sha256(tmp_path / "absent.json")
    with pytest.raises(ParameterError, match="is a folder"):
        file_sha256(tmp_path)


@pytest.mark.parametrize(
    "call",
    [
        lambda p: load_model(p),
        lambda p: load_pipeline(p, sha256="0" * 64),
        lambda p: save_model(default_scorecard(), p),
        lambda p: save_pipeline({}, p),
        lambda p: file_sha256(p),
    ],
    ids=["load_model", "load_pipeline", "save_model", "save_pipeline", "file_sha256"],
)
def test_a_path_with_a_nul_character_is_refused_by_name(tmp_path, call):
    # ValueError: embedded null byte, from the operating system call
    from riskscore.errors import RiskscoreError

    with pytest.raises(RiskscoreError, match="NUL"):
        call(str(tmp_path / "a\x00.json"))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["model_card"].__setitem__("rounded_to_zero", [1]),
        lambda d: d["model_card"].__setitem__(
            "rounded_to_zero", [{"condition": "x", "log_odds_effect": "abc"}]
        ),
        lambda d: d["model_card"].__setitem__("rounded_to_zero", "none"),
        lambda d: d["rules"][0].__setitem__("rationale", "\ud800"),
    ],
    ids=["not-a-mapping", "text-effect", "not-a-list", "lone-surrogate"],
)
def test_a_card_that_would_fail_when_printed_or_saved_is_refused_on_load(mutate):
    # these loaded, then str(card), card.summary or save_model raised AttributeError,
    # ValueError or UnicodeEncodeError (and `riskscore model` an internal error)
    doc = json.loads((resources.files("riskscore.models") / "review-rules-v2.json").read_text())
    mutate(doc)
    with pytest.raises(ModelFileError):
        model_from_json(json.dumps(doc))


def test_a_fitted_points_card_with_effects_rounded_to_zero_round_trips():
    rng = np.random.default_rng(2)
    n = 4000
    X = pd.DataFrame(
        {
            "siblings_removed": rng.integers(0, 3, n).astype(float),
            "hardship_12m": rng.integers(0, 2, n).astype(float),
        }
    )
    y = (rng.random(n) < 1 / (1 + np.exp(3.5 - 1.2 * X["siblings_removed"]))).astype(int)
    model = LogisticRiskModel(penalty=None).fit(X, y)
    card = model.to_scorecard(X, y, max_points=2)
    assert card.model_card["rounded_to_zero"]  # hardship's small effect rounds to 0
    back = model_from_json(model_to_json(card))
    assert str(back) == str(card)


@pytest.mark.parametrize(
    "class_weight, words",
    [
        ([["a", 1.0]], ["parameters.class_weight[0]", "'a' is not one of the classes"]),
        ([[False, 1.0], [2, 5.0]], ["parameters.class_weight[1]", "not one of the classes"]),
        ([[False, 1.0], [False, 5.0]], ["parameters.class_weight[1]", "twice"]),
        ([[True, 1.0], [1, 5.0]], ["parameters.class_weight[1]", "twice"]),
        ([[False, -1.0]], ["parameters.class_weight[0]"]),
        ([[False, 0.0]], ["parameters.class_weight[0]"]),
        ([[False, "1"]], ["parameters.class_weight[0]"]),
    ],
)
def test_class_weight_pairs_must_weigh_the_classes_once_each(class_weight, words):
    doc = _logistic_doc()
    assert doc["classes"] == [False, True]
    doc["parameters"]["class_weight"] = class_weight
    _refused(json.dumps(doc), *words)


def test_class_weight_pairs_of_the_classes_load_and_refit():
    model, X, y = fitted_logistic(class_weight={True: 4.0})
    back = model_from_json(model_to_json(model))
    assert back.class_weight == {True: 4.0}
    back.fit(X, y)
    np.testing.assert_array_equal(back.coef_, model.coef_)


def _high_rate_card():
    """A fitted card on data with a third of rows at the outcome: 'review' at 0 points."""
    rng = np.random.default_rng(11)
    n = 3000
    X = pd.DataFrame(
        {
            "parental_substance_use_12m": (rng.random(n) < 0.3).astype(float),
            "siblings_removed": rng.integers(0, 3, n).astype(float),
            "hardship_12m": (rng.random(n) < 0.4).astype(float),
        }
    )
    lp = -1.2 + X["parental_substance_use_12m"] + 0.6 * X["siblings_removed"]
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    card = LogisticRiskModel(penalty=None).fit(X, y).to_scorecard(X, y)
    assert card.bands["review"] == 0  # every record reaches it
    return card, X


def test_a_fitted_card_whose_review_band_every_record_reaches_saves_and_loads(tmp_path):
    card, X = _high_rate_card()
    path = save_model(card, tmp_path / "card.json")
    back = load_model(path)
    assert back.bands == card.bands and back.rules == card.rules
    assert back.band(X).equals(card.band(X))
    assert (back.band(X).astype(str) != "none").all()


def test_a_review_band_every_record_reaches_is_refused_unless_the_fit_says_so():
    card, _ = _high_rate_card()
    doc = json.loads(model_to_json(card))
    model_from_json(json.dumps(doc))
    # the card's own map puts the risk at the lowest total below the band probability
    tampered = json.loads(json.dumps(doc))
    tampered["model_card"]["band_probabilities"]["review"] = 0.9
    _refused(json.dumps(tampered), "bands.review", "reached by every record")
    # below the lowest total (not the fitted value)
    tampered = json.loads(json.dumps(doc))
    tampered["bands"]["review"] = doc["bands"]["review"] - 1
    _refused(json.dumps(tampered), "bands.review", "reached by every record")
    # no points-to-risk map: a hand-written card
    tampered = json.loads(json.dumps(doc))
    del tampered["model_card"]["points_to_risk"]
    _refused(json.dumps(tampered), "bands.review", "reached by every record")


# --------------------------------------------------------------------------- control characters


def _fresh_doc(name="review-rules-v2"):
    return json.loads((resources.files("riskscore.models") / f"{name}.json").read_text())


@pytest.mark.parametrize(
    "mutate, where, shown",
    [
        (
            lambda d: d["rules"][0].__setitem__("rationale", "ok \x1b]0;PWNED\x07 \x1b[2J cleared"),
            "rules[0].rationale",
            "U+001B",
        ),
        (lambda d: d["rules"][1].__setitem__("rationale", "a\rb"), "rules[1].rationale", "U+000D"),
        (lambda d: d["rules"][0].__setitem__("rationale", "csi \x9b2J"), "rules[0]", "U+009B"),
        (
            lambda d: d["model_card"].__setitem__("limitations", ["fine", "abc \u202edcba"]),
            "model_card.limitations[1]",
            "U+202E",
        ),
        (
            lambda d: d["model_card"].__setitem__("note\x1b[2J", "x"),
            "model_card",
            "U+001B",
        ),
        (lambda d: d.__setitem__("riskscore_version", "1\x1b[2J"), "riskscore_version", "U+001B"),
        (
            lambda d: d["model_card"].__setitem__("nested", {"deep": [{"x": "\u2066y"}]}),
            "model_card.nested.deep[0].x",
            "U+2066",
        ),
    ],
    ids=[
        "osc-and-clear",
        "carriage-return",
        "c1-csi",
        "bidi-override",
        "in-a-key",
        "version",
        "deep",
    ],
)
def test_text_with_control_characters_is_refused_naming_the_entry(mutate, where, shown):
    # `riskscore model ./evil.json` printed a rationale's escape sequences: the terminal's
    # title changed and the screen was cleared
    doc = _fresh_doc()
    mutate(doc)
    with pytest.raises(ModelFileError) as err:
        model_from_json(json.dumps(doc), source="evil.json")
    message = str(err.value)
    assert message.startswith("evil.json: " + where)
    assert shown in message and "Fix:" in message
    # the message itself is safe to print
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u202e\u2066" for c in message)


def test_text_with_line_breaks_and_tabs_loads_and_saving_control_characters_is_refused(tmp_path):
    doc = _fresh_doc()
    doc["rules"][0]["rationale"] = "first line\nsecond line\twith a tab"
    doc["model_card"]["limitations"] = ["one\ntwo"]
    card = model_from_json(json.dumps(doc))
    assert card.rules[0].rationale == "first line\nsecond line\twith a tab"
    bad = RuleScorecard(
        [Rule("siblings_removed", ">=", 1.0, 2.0, "x\x1b[2Jy")],
        {"review": 1.0, "multi_agency_discussion": 2.0},
        name="bad",
    )
    with pytest.raises(ModelFileError, match=r"rules\[0\]\.rationale"):
        save_model(bad, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


@pytest.mark.parametrize("name", shipped_models())
def test_shipped_models_hold_no_control_characters_and_load(name):
    assert load_model(name) is not None


@pytest.mark.parametrize(
    "entry, match",
    [
        ({"score": float("nan")}, "cannot hold"),
        ({1: "a", "1": "b"}, "same as text"),
    ],
    ids=["nan", "colliding-keys"],
)
def test_a_model_card_a_file_would_change_is_refused(entry, match):
    # NaN was written as null and keys 1 and "1" merged into one entry, silently
    with pytest.raises(ModelFileError, match=match):
        model_to_json(default_scorecard(), model_card={"extra": entry})


def test_a_model_card_that_holds_itself_is_refused_not_a_recursion_error():
    card = {"a": 1}
    card["self"] = card
    with pytest.raises(ModelFileError, match="nested more than"):
        model_to_json(default_scorecard(), model_card=card)


@pytest.mark.parametrize("key", ["covariance", "cluster_covariance"])
def test_a_covariance_that_no_fit_could_give_is_refused(key):
    # an asymmetric matrix, or a covariance larger than its variances allow
    # (a correlation above 1), loaded and gave intervals from it
    model, _, _ = fitted_logistic(penalty=None)
    doc = json.loads(model_to_json(model))
    assert doc[key] is not None
    asym = json.loads(json.dumps(doc))
    asym[key][0][1] += 1.0
    _refused(json.dumps(asym), key, "symmetric")
    too_big = json.loads(json.dumps(doc))
    v = (too_big[key][0][0] * too_big[key][1][1]) ** 0.5
    too_big[key][0][1] = too_big[key][1][0] = 2 * v + 1e-3
    _refused(json.dumps(too_big), key, "correlation")


def test_a_fitted_covariance_with_rounding_asymmetry_still_loads():
    # a cluster covariance is symmetric only to about 1e-17
    model, X, _ = fitted_logistic(penalty=None)
    text = model_to_json(model)
    again = model_from_json(text)
    assert model_to_json(again) == text
    np.testing.assert_array_equal(again.risk_score(X), model.risk_score(X))


def test_save_model_advises_on_the_fit_not_on_re_saving(tmp_path):
    # a fitted value outside what model files hold was refused with the loading advice
    # ("re-save the model with riskscore.save_model"), the call that had just failed
    import riskscore as rs
    from riskscore.modelfile import LIMITS

    events, cases = rs.make_cohort(200, random_state=0)
    ts = rs.make_training_set(events, cases, grid="90D")
    feats = list(ts.X.columns[:3])
    model = rs.LogisticRiskModel(penalty=None, features=feats)
    model.fit(ts.X[feats].fillna(0), ts.y, case_ids=ts.case_ids)
    model.coef_ = model.coef_.copy()
    model.coef_[0, 0] = 2 * LIMITS["log_odds"]
    with pytest.raises(rs.ModelFileError) as info:
        rs.save_model(model, tmp_path / "m.json")
    message = str(info.value)
    assert message.startswith("save_model: coefficients.")
    assert "re-save" not in message and "penalty" in message
    assert not (tmp_path / "m.json").exists()


def test_save_model_refuses_small_exact_counts_in_free_form_card_entries(tmp_path):
    """Only training_data was put under disclosure control: a subgroup count of 3 children
    in a caller's card entry was written to the file as it is."""
    from riskscore import make_cohort

    _, cases = make_cohort(n_cases=200, random_state=5)
    q1 = cases.head(3)  # three children of one small subgroup
    card = {"subgroups": {"by_deprivation": {"q1": {"n": len(q1), "events": 1}}}}
    path = tmp_path / "m.json"
    with pytest.raises(
        ModelFileError,
        match=r"save_model: model_card\['subgroups'\].*\['n'\] is a count of 3.*disclose",
    ):
        save_model(default_scorecard(), path, model_card=card)
    assert not path.exists()
    with pytest.raises(ModelFileError, match=r"\['alerts'\]\[0\]\['n_alerts'\] is a count of 7"):
        model_to_json(fitted_logistic(), model_card={"alerts": [{"n_alerts": 7}]})
    # suppressed (null), zero, published counts and settings of the method are written
    ok = {
        "subgroups": {"q1": {"n": None, "events": 0}, "q2": {"n": 40, "events": 15}},
        "validation": {"n_splits": 5, "n_boot": 3},
        "sample": {"disclosure": {"min_count": 10}},
    }
    text = model_to_json(default_scorecard(), model_card=ok)
    assert json.loads(text)["model_card"]["validation"] == {"n_splits": 5, "n_boot": 3}
