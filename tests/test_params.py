"""Parameters are checked at the public boundary (issue 17, item 5).

Every public function refuses a wrong kind or an out-of-range value with one line of
:class:`riskscore.ParameterError` naming the function and the parameter, before it
touches any data: the table below calls each with placeholder data (``None``), so a
function that skipped validation fails here with some other error. A second test
finds public callables that are not decorated and not listed as taking no
constrained parameters, so a new function cannot skip the check.
"""

from __future__ import annotations

import dataclasses
import datetime
import inspect
import re
from numbers import Integral, Real

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone

import riskscore as rs
from riskscore import scale
from riskscore._params import (
    CONSTRAINTS_ATTR,
    Interval,
    StrOptions,
    SubsetOf,
    validate_attributes,
    validate_params,
)

_ = None  # placeholder data: validation must refuse before any data is looked at


def _lr():
    return rs.LogisticRiskModel()


# (function, positional arguments, bad keyword arguments, the parameter to be named)
BAD = [
    (rs.audit_case, (_, _, _, "A"), {"grid": "banana"}, "grid"),
    (rs.audit_case, (_, _, _, "A"), {"response_window": "x"}, "response_window"),
    (rs.audit_case, (_, _, _, "A"), {"recent_window": 0}, "recent_window"),
    (rs.audit_case, (_, _, _, "A"), {"agencies": "school"}, "agencies"),
    (rs.audit_case, (_, _, _, ["A"]), {}, "case_id"),
    (rs.audit_cohort, (_, _, _), {"horizon": -5}, "horizon"),
    (rs.audit_cohort, (_, _, _), {"response_window": -1}, "response_window"),
    (rs.audit_cohort, (_, _, _), {"chunk_size": 0}, "chunk_size"),
    (rs.audit_cohort, (_, _, _), {"recent_window": "x"}, "recent_window"),
    (rs.audit_cohort, (_, _, _), {"agencies": ("martians",)}, "agencies"),
    (rs.audit_cohort, (_, _, _), {"disclosure": "yes"}, "disclosure"),
    (rs.audit_cohort, (_, _, _), {"progress": "yes"}, "progress"),
    (rs.audit_cohort, (_, _, _), {"min_gap": -1}, "min_gap"),
    (rs.encode_features, (_, _), {"recent_window": "x"}, "recent_window"),
    (rs.encode_features, (_, _), {"recent_window": 90.5}, "recent_window"),
    (rs.encode_features, (_, _), {"recent_window": True}, "recent_window"),
    (rs.encode_features, (_, _, "martians"), {}, "agency"),
    (rs.as_of_grid, (_,), {"grid": "banana"}, "grid"),
    (rs.as_of_grid, (_,), {"grid": 0}, "grid"),
    (rs.as_of_grid, (_,), {"grid": 2.5}, "grid"),
    (rs.as_of_grid, (_,), {"start": 5}, "start"),
    (rs.as_of_grid, (_,), {"end": "banana"}, "end"),
    (rs.change_dates, (_,), {"recent_window": -1}, "recent_window"),
    (rs.make_cohort, (-3,), {}, "n_cases"),
    (rs.make_cohort, (5,), {"years": 0}, "years"),
    (rs.make_cohort, (5,), {"outcome_rate": 2}, "outcome_rate"),
    (rs.make_cohort, (5,), {"start": "banana"}, "start"),
    (rs.make_cohort, (5,), {"random_state": "x"}, "random_state"),
    (rs.make_cohort, (5,), {"progress": "yes"}, "progress"),
    (rs.make_training_set, (_, _), {"horizon": -1}, "horizon"),
    (rs.make_training_set, (_, _, "x"), {}, "grid"),
    (rs.make_training_set, (_, _), {"recent_window": 365}, "recent_window"),
    (rs.make_training_set, (_, _), {"synthetic": "yes"}, "synthetic"),
    (rs.check_point_in_time, ("not callable", _, _), {}, "encoder"),
    (rs.check_point_in_time, (rs.encode_features, _, _), {"max_dates": -1}, "max_dates"),
    (rs.check_point_in_time, (rs.encode_features, _, _), {"atol": -1.0}, "atol"),
    (rs.train_model, (_, _), {"n_boot": -1}, "n_boot"),
    (rs.train_model, (_, _), {"C": -1}, "C"),
    (rs.train_model, (_, _), {"C": float("nan")}, "C"),
    (rs.train_model, (_, _), {"penalty": "l9"}, "penalty"),
    (rs.train_model, (_, _), {"subgroups": "x"}, "subgroups"),
    (rs.train_model, (_, _), {"class_weight": "even"}, "class_weight"),
    (rs.train_model, (_, _), {"estimator": "LogisticRiskModel"}, "estimator"),
    (rs.build_synthetic_model, (), {"n_cases": -1}, "n_cases"),
    (rs.evaluate, (_, _), {"n_boot": -1}, "n_boot"),
    (rs.evaluate, (_, _), {"level": 2}, "level"),
    (rs.evaluate, (_, _), {"refit": "no"}, "refit"),
    (rs.evaluate, (_, _), {"n_jobs": 0}, "n_jobs"),
    (rs.evaluate, (_, _), {"random_state": "x"}, "random_state"),
    (rs.evaluate, (_, _), {"temporal_cut": 2102}, "temporal_cut"),
    (rs.compare_models, ([_], _), {}, "models"),
    (rs.compare_models, ({}, _), {"n_boot": -1}, "n_boot"),
    (rs.subgroup_metrics, (_, _, _), {"level": 2}, "level"),
    (rs.subgroup_metrics, (_, _, _), {"n_boot": -3}, "n_boot"),
    (rs.subgroup_metrics, (_, _, _), {"threshold": 5}, "threshold"),
    (rs.subgroup_metrics, (_, _, _), {"alert_rate": 0}, "alert_rate"),
    (rs.disclose, (_,), {"min_count": -1}, "min_count"),
    (rs.disclose, (_,), {"round_to": "5"}, "round_to"),
    (rs.disclose, (_,), {"suppress_zero": "x"}, "suppress_zero"),
    (rs.apply_disclosure, (_,), {"disclosure": 5}, "disclosure"),
    (rs.apply_disclosure, (_,), {"reason": 5}, "reason"),
    (rs.mark_undisclosed, (_,), {"reason": 5}, "reason"),
    (rs.provenance, (), {"disclosure": "x"}, "disclosure"),
    (rs.provenance, (), {"params": [1, 2]}, "params"),
    (rs.write_table, (_, 5), {}, "path"),
    (rs.DisclosureSettings, (), {"min_count": "10"}, "min_count"),
    (rs.DisclosureSettings, (), {"round_to": 0}, "round_to"),
    (rs.DisclosureSettings, (), {"suppress_zero": 1}, "suppress_zero"),
    (rs.CaseKFold, (), {"n_splits": 1}, "n_splits"),
    (rs.CaseKFold, (), {"shuffle": "x"}, "shuffle"),
    (rs.CaseKFold, (), {"random_state": -1}, "random_state"),
    (rs.TemporalSplit, (_,), {"horizon": -1}, "horizon"),
    (rs.TemporalSplit, (_, 365), {"cut": "banana"}, "cut"),
    (lambda **kw: _lr().odds_ratios(**kw), (), {"level": 2}, "level"),
    (lambda **kw: _lr().odds_ratios(**kw), (), {"ci": "x"}, "ci"),
    (lambda **kw: _lr().odds_ratios(**kw), (), {"n_boot": 0}, "n_boot"),
    (lambda **kw: _lr().odds_ratios(**kw), (), {"progress": None}, "progress"),
    (lambda **kw: _lr().to_scorecard(_, _, **kw), (), {"max_points": 2.5}, "max_points"),
    (lambda **kw: _lr().to_scorecard(_, _, **kw), (), {"n_scales": 0}, "n_scales"),
    (lambda **kw: rs.IntegerPointsModel(**kw).fit(_, _), (), {"max_points": -1}, "max_points"),
    (lambda **kw: rs.IntegerPointsModel(**kw).fit(_, _), (), {"base": "lr"}, "base"),
    (lambda **kw: rs.FeatureEncoder(_, **kw).fit(_), (), {"recent_window": 0}, "recent_window"),
    (lambda **kw: rs.FeatureEncoder(_, **kw).fit(_), (), {"agency": "nhs"}, "agency"),
    (rs.pseudonymise, (_, _, "k" * 20), {"max_shift_days": -1}, "max_shift_days"),
    (rs.pseudonymise, (_, _, "k" * 20), {"shift_dates": "x"}, "shift_dates"),
    (rs.pseudonymise, (_, _, 5), {}, "key"),
    (rs.check_identifying, (_,), {"table": 5}, "table"),
    (rs.apply_coverage, (_, _), {"unlisted": "x"}, "unlisted"),
    (rs.apply_coverage, (_, _, "nhs"), {}, "agency"),
    (rs.coverage_gaps, (_, "banana", "2102-01-01"), {}, "start"),
    (rs.coverage_gaps, (_, "2101-01-01", None), {}, "end"),
    (rs.coverage_gaps, (_, "2101-01-01", "2102-01-01", ["martians"]), {}, "agencies"),
    (rs.write_report, (_, "x.html"), {"title": 5}, "title"),
    (rs.write_report, (_, 5), {}, "path"),
    (rs.agency_reach, (_,), {"recorders": 5}, "recorders"),
    (rs.read_events, ("x.csv",), {"engine": "spark"}, "engine"),
    (rs.read_events, ("x.csv",), {"strict": "x"}, "strict"),
    (rs.read_events, (5,), {}, "path"),
    (rs.read_cases, ("x.csv",), {"dayfirst": "x"}, "dayfirst"),
    (rs.read_cases, ("x.csv",), {"return_report": "x"}, "return_report"),
    (rs.validate_events, (_,), {"strict": "x"}, "strict"),
    (rs.validate_events, (_,), {"format": 5}, "format"),
    (rs.validate_cases, (_,), {"dayfirst": 1}, "dayfirst"),
    (lambda **kw: rs.CaseAudit.first_crossing(_, **kw), (), {"band": "red"}, "band"),
    (lambda **kw: rs.CaseAudit.days_in_band(_, **kw), (), {"agency": "nhs"}, "agency"),
    (scale.audit_cohort_dask, (_, _, _), {"horizon": -5}, "horizon"),
    (scale.audit_cohort_dask, (_, _, _), {"n_partitions": 0}, "n_partitions"),
    (scale.case_buckets, (_, "x"), {}, "n_partitions"),
    (scale.encode_features_dask, (_, _), {"recent_window": 0}, "recent_window"),
    (scale.encode_features_dask, (_, _), {"n_partitions": 0}, "n_partitions"),
    (scale.local_cluster, (), {"n_workers": 0}, "n_workers"),
    (scale.local_cluster, (), {"memory_limit": -1}, "memory_limit"),
    (scale.make_training_set_dask, (_, _), {"horizon": -5}, "horizon"),
    (scale.partition_by_case, (_,), {"n_partitions": 0}, "n_partitions"),
    (scale.read_events_dask, ("x",), {"validate": "x"}, "validate"),
    (scale.read_cases_dask, ("x",), {"validate": "x"}, "validate"),
    (scale.write_cohort_parquet, ("x", -1), {}, "n_cases"),
    (scale.write_cohort_parquet, ("x", 5), {"chunk_size": 0}, "chunk_size"),
    (scale.write_events_parquet, (_, "x"), {"overwrite": "x"}, "overwrite"),
]


def _label(entry) -> str:
    func, _args, kwargs, name = entry
    owner = getattr(func, "__qualname__", "")
    owner = owner if "<lambda>" not in owner else "method"
    return f"{owner}-{name}-{kwargs.get(name, '')!r}"


@pytest.mark.parametrize("entry", BAD, ids=[_label(e) for e in BAD])
def test_every_public_function_refuses_bad_values_naming_the_parameter(entry, tmp_path):
    func, args, kwargs, name = entry
    with pytest.raises(rs.ParameterError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert f"{name} must be" in message, message
    # it names the function (or class, or Class.method) first, and what was given
    assert re.match(r"^[A-Za-z_][\w.]*: ", message), message
    if func.__name__ != "<lambda>":
        assert message.startswith(f"{func.__name__}: "), message
    assert "; got " in message


# Public callables that take no parameter with a kind or range worth declaring, and
# why. Everything else in riskscore.__all__ and riskscore.scale.__all__ is decorated.
NO_CONSTRAINED_PARAMS = {
    "vignette": "no parameters",
    "coverage_table": "*tables only; each table is checked as data (SchemaError)",
    "default_scorecard": "no parameters",
    "shipped_models": "no parameters",
    "release_memory": "no parameters",
    "save_model": "riskscore.modelfile checks its arguments (issue 17, items 2-3)",
    "load_model": "riskscore.modelfile checks its arguments (issue 17, items 2-3)",
    "save_pipeline": "riskscore.modelfile checks its arguments (issue 17, items 2-3)",
    "load_pipeline": "riskscore.modelfile checks its arguments (issue 17, items 2-3)",
    "model_to_json": "riskscore.modelfile checks its arguments (issue 17, items 2-3)",
    "model_from_json": "riskscore.modelfile checks its arguments (issue 17, items 2-3)",
    "disclosure_manifest": "a stamped table only",
    "check_disclosure": "a stamped table only",
    "check_publishable": "stamped tables only",
    "is_synthetic": "any objects; reads the synthetic mark",
    "EvaluationResult.tables": "no parameters",
    "is_case_partitioned": "a frame only",
    "FeatureSpec": "catalogue entry; checked in __post_init__ against the vocabulary",
    "ValidationReport": "a result container built by validate_events/validate_cases",
    "ValidationReport.raise_if_problems": "no parameters",
    "RiskModel": "a typing Protocol",
    "RiskModel.risk_score": "a typing Protocol",
    "RiskModel.contributions": "a typing Protocol",
    "RiskModel.band": "a typing Protocol",
    "Rule": "a model part; checked in __post_init__ and by riskscore.modelfile",
    "Rule.fires": "an array of feature values only",
    "RuleScorecard": "a model; its rules and bands are checked by its constructor",
    "RuleScorecard.risk_score": "feature rows only",
    "RuleScorecard.contributions": "feature rows only",
    "RuleScorecard.band": "feature rows only",
    "RuleScorecard.unknown": "feature rows only",
    "LogisticRiskModel": "scikit-learn estimator: __init__ only stores; fit checks (_check_params)",
    "LogisticRiskModel.fit": "checks its stored parameters itself (_check_params)",
    "LogisticRiskModel.risk_score": "feature rows only",
    "LogisticRiskModel.contributions": "feature rows only",
    "LogisticRiskModel.band": "feature rows only",
    "LogisticRiskModel.decision_function": "feature rows only",
    "LogisticRiskModel.predict_proba": "feature rows only",
    "LogisticRiskModel.predict": "feature rows only",
    "IntegerPointsModel.risk_score": "feature rows only",
    "IntegerPointsModel.contributions": "feature rows only",
    "IntegerPointsModel.band": "feature rows only",
    "IntegerPointsModel.predict_proba": "feature rows only",
    "IntegerPointsModel.get_params": "scikit-learn protocol",
    "IntegerPointsModel.set_params": "scikit-learn protocol; fit checks what was set",
    "FeatureEncoder.transform": "as-of pairs only",
    "FeatureEncoder.get_feature_names_out": "scikit-learn protocol",
    "CaseAudit": "a result container built by audit_case",
    "CaseAudit.summary": "no parameters",
    "CohortAudit": "a result container built by audit_cohort",
    "TrainingSet": "a result container built by make_training_set",
    "EvaluationResult": "a result container built by evaluate",
    "EvaluationResult.metric": "name is looked up in the result's table (ParameterError)",
    "EvaluationResult.model_card_entries": "no parameters",
    "DisclosureSettings.to_dict": "no parameters",
    "CaseKFold.get_n_splits": "scikit-learn protocol",
    "CaseKFold.split": "data only (X, y, groups)",
    "TemporalSplit.get_n_splits": "scikit-learn protocol",
    "TemporalSplit.split": "data only (X, y, groups)",
    "TemporalSplit.cut_date": "no parameters",
}

# Parameters with a plain default (a number, a bool or a string) that the decorator
# leaves alone on purpose, and where they are checked instead.
UNDECLARED = {
    ("evaluate", "cv"): "resolved by the splitter lookup, which refuses others (ParameterError)",
    ("train_model", "cv"): "passed to evaluate",
    ("compare_models", "cv"): "resolved once, as in evaluate",
}


def _public_callables():
    """(label, object) for every public function, class and public method."""
    seen = []
    for module, names in ((rs, rs.__all__), (scale, scale.__all__)):
        for name in names:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                seen.append((name, obj))
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and inspect.isfunction(member):
                        seen.append((f"{name}.{attr}", member))
    return seen


def _decorated(obj) -> bool:
    if hasattr(obj, CONSTRAINTS_ATTR):
        return True
    # an estimator checks what __init__ stored when it is fitted
    return inspect.isclass(obj) and hasattr(getattr(obj, "fit", None), CONSTRAINTS_ATTR)


def test_every_public_callable_is_decorated_or_listed():
    callables = _public_callables()
    missing = [
        label
        for label, obj in callables
        if not _decorated(obj) and label not in NO_CONSTRAINED_PARAMS
    ]
    assert not missing, (
        "decorate these with riskscore._params.validate_params (or list them in "
        f"NO_CONSTRAINED_PARAMS with the reason): {missing}"
    )
    labels = {label for label, _ in callables}
    stale = sorted(set(NO_CONSTRAINED_PARAMS) - labels)
    assert not stale, f"NO_CONSTRAINED_PARAMS lists names that are gone: {stale}"
    both = [label for label, obj in callables if label in NO_CONSTRAINED_PARAMS and _decorated(obj)]
    assert not both, f"decorated, so remove from NO_CONSTRAINED_PARAMS: {both}"


def test_decorated_functions_declare_every_plain_parameter():
    """A number, bool or string parameter added later must be declared too."""
    missing, used = [], set()
    for label, obj in _public_callables():
        constraints = getattr(obj, CONSTRAINTS_ATTR, None)
        if constraints is None or inspect.isclass(obj):
            continue
        for name, p in inspect.signature(obj).parameters.items():
            plain = isinstance(p.default, (bool, Integral, Real, str))
            if plain and name not in constraints:
                if (label, name) in UNDECLARED:
                    used.add((label, name))
                else:
                    missing.append(f"{label}({name}={p.default!r})")
    assert not missing, f"declare these parameters' constraints: {missing}"
    assert used == set(UNDECLARED), f"stale UNDECLARED entries: {set(UNDECLARED) - used}"


def test_the_listing_test_sees_an_undecorated_function():
    # a test of the test: a public function without the decorator is found
    def new_public_function(n_boot: int = 200):
        return n_boot

    assert not _decorated(new_public_function)
    assert _decorated(rs.audit_cohort) and _decorated(rs.IntegerPointsModel)


# ---------------------------------------------------------------- valid input unchanged


def test_signatures_and_docstrings_are_kept():
    for func in (rs.audit_cohort, rs.evaluate, scale.local_cluster, rs.CaseKFold.__init__):
        assert "Parameters" in (inspect.getdoc(func) or "") or func is rs.CaseKFold.__init__
        assert "self" not in inspect.signature(func).parameters or func is rs.CaseKFold.__init__
    assert list(inspect.signature(rs.CaseKFold).parameters) == [
        "n_splits",
        "shuffle",
        "random_state",
    ]
    assert inspect.signature(rs.audit_cohort).parameters["horizon"].default == 365


def test_numpy_integers_and_defaults_pass():
    events, cases = rs.vignette()
    grid = rs.as_of_grid(events, np.int64(30), cases=cases, start=pd.Timestamp("2101-01-01"))
    plain = rs.encode_features(events, grid, recent_window=90)
    numpy = rs.encode_features(events, grid, recent_window=np.int64(90), agency=None)
    pd.testing.assert_frame_equal(plain, numpy)
    assert rs.DisclosureSettings(min_count=np.int64(10), round_to=np.int32(5)).round_to == 5
    assert rs.CaseKFold(np.int64(3), shuffle=np.bool_(False)).get_n_splits() == 3


def test_estimators_store_bad_parameters_and_refuse_them_in_fit():
    # scikit-learn's contract: __init__ stores, clone and set_params work, fit checks
    model = rs.IntegerPointsModel(max_points=0)
    assert clone(model).max_points == 0
    X = pd.DataFrame({"hardship_12m": [0.0, 1.0] * 50})
    y = [0, 0, 0, 1] * 25
    with pytest.raises(rs.ParameterError, match="IntegerPointsModel: max_points"):
        model.fit(X, y)
    assert model.set_params(max_points=3).fit(X, y).scorecard_.features_ == ["hardship_12m"]


# ---------------------------------------------------------------- the decorator itself


@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(-60, 60))
def test_interval_matches_its_definition(lo, hi, value):
    for closed, inside in (
        ("both", lo <= value <= hi),
        ("left", lo <= value < hi),
        ("right", lo < value <= hi),
        ("neither", lo < value < hi),
    ):
        assert Interval(Integral, lo, hi, closed=closed).is_satisfied_by(value) is inside
        assert Interval(Real, lo, hi, closed=closed).is_satisfied_by(value + 0.0) is inside
        assert Interval(Integral, lo, hi, closed=closed).is_satisfied_by(value + 0.0) is False


@pytest.mark.parametrize("value", [True, False, np.bool_(True), float("nan"), float("inf"), "1"])
def test_interval_refuses_bools_nan_infinity_and_text(value):
    assert not Interval(Real, None, None).is_satisfied_by(value)
    assert not Interval(Integral, None, None).is_satisfied_by(value)


def test_options_and_subsets():
    assert StrOptions("a", "b").is_satisfied_by("a")
    assert not StrOptions("a", "b").is_satisfied_by(["a"])
    assert SubsetOf("abc").is_satisfied_by(["a", "c"])
    assert not SubsetOf("abc").is_satisfied_by("ab")  # a string is not a list of codes
    assert not SubsetOf("abc").is_satisfied_by({"a": 1})


def test_defaults_are_not_checked_and_kwargs_are():
    @validate_params({"n": [Interval(Integral, 1, None)], "level": [Interval(Real, 0, 1)]})
    def f(n=-1, **kwargs):
        return n, kwargs

    assert f() == (-1, {})  # the default is the library's own choice
    with pytest.raises(rs.ParameterError, match=r"^f: n must be an int >= 1; got 0 \(int\)\.$"):
        f(0)
    with pytest.raises(rs.ParameterError, match="level"):
        f(level=2)


def test_a_misspelt_declaration_fails_at_import():
    with pytest.raises(rs.ParameterError, match="no parameter 'horizn'"):

        @validate_params({"horizn": [Interval(Integral, 1, None)]})
        def f(horizon=365):
            return horizon


def test_a_class_decorator_below_dataclass_is_refused():
    with pytest.raises(rs.ParameterError, match="no __init__"):

        @dataclasses.dataclass
        @validate_params({"n": [Interval(Integral, 1, None)]})
        class Settings:
            n: int = 1


def test_secrets_and_long_values_are_not_echoed():
    @validate_params({"key": [bytes, str], "table": [str]})
    def f(key=b"", table=""):
        return key

    with pytest.raises(rs.ParameterError) as info:
        f(key=1234567890123456789)
    assert "1234567890123456789" not in str(info.value) and "int" in str(info.value)
    with pytest.raises(rs.ParameterError) as info:
        f(table=pd.DataFrame({"a": range(1000)}))
    assert len(str(info.value)) < 200 and "\n" not in str(info.value)


def test_attributes_are_checked_when_fitting():
    class Model:
        def __init__(self, n=1):
            self.n = n

        @validate_attributes({"n": [Interval(Integral, 1, None)]})
        def fit(self):
            return self

    assert Model(2).fit().n == 2
    with pytest.raises(rs.ParameterError, match="Model: n must be"):
        Model(0).fit()


@pytest.mark.parametrize("day", ["2300-01-01", "1500-06-01"])
def test_a_date_past_what_datetime64_ns_holds_is_refused_not_wrapped(day):
    # 2300-01-01 was accepted and, compared with nanosecond dates, wrapped round to
    # the 18th century: a temporal cut after all the data left "0 training rows"
    events, cases = rs.make_cohort(200, random_state=9)
    ts = rs.make_training_set(events, cases)
    with pytest.raises(rs.ParameterError, match=r"temporal_cut must be a date .*2262"):
        rs.evaluate(rs.default_scorecard(), ts, cv="temporal", temporal_cut=day)
    with pytest.raises(rs.ParameterError, match=r"as_of_grid: start must be"):
        rs.as_of_grid(events, "90D", start=day)


@pytest.mark.parametrize(
    "day", ["03/02/2102", "2102/02/03", "3 Feb 2102", "20210203", "Feb 3 2102", "2102-2-3"]
)
def test_a_date_option_in_text_must_be_iso_never_guessed(day):
    # "03/02/2102" was read month-first (2 March), silently, where the readers refuse
    # any text date that is not ISO
    events, cases = rs.make_cohort(120, random_state=3)
    with pytest.raises(rs.ParameterError, match=r"start must be a date .*YYYY-MM-DD"):
        rs.as_of_grid(events, "90D", start=day)
    with pytest.raises(rs.ParameterError, match=r"cut must be a date"):
        rs.TemporalSplit(events["date"], horizon=365, cut=day).cut_date()
    with pytest.raises(rs.ParameterError, match=r"start must be a date"):
        cover = pd.DataFrame({"agency": ["school"], "from": ["2101-01-01"], "to": ["2101-06-01"]})
        rs.coverage_gaps(cover, day, "2103-01-01")


@pytest.mark.parametrize("day", ["2102-02-03", "2102-02-03T00:00", " 2102-02-03 "])
def test_iso_date_options_and_dates_read(day):
    events, _ = rs.make_cohort(120, random_state=3)
    grid = rs.as_of_grid(events, "30D", start=day)
    assert grid["as_of"].min() >= pd.Timestamp("2102-02-03")
    assert rs.as_of_grid(events, "30D", start=datetime.date(2102, 2, 3)).equals(grid)


@pytest.mark.parametrize("grid", ["1.5D", "2.9D", "36h", "1D12h"])
def test_a_grid_step_that_is_not_whole_days_is_refused_not_truncated(grid):
    # step_days cut "1.5D" to the grid of "1D", silently, wherever a step is read
    from riskscore._dates import step_days

    events, _ = rs.make_cohort(60, random_state=3)
    with pytest.raises(rs.ParameterError, match="whole"):
        rs.as_of_grid(events, grid)
    with pytest.raises(rs.ParameterError, match="whole"):
        step_days(grid)
    assert step_days("48h") == 2 and len(rs.as_of_grid(events, "48h")) == len(
        rs.as_of_grid(events, "2D")
    )


@validate_params({"day": ["date"], "grid": ["grid"], "step": ["grid", None]})
def _takes(day=None, grid=None, step=None):
    return day, grid, step


@pytest.mark.parametrize(
    "day",
    [
        "1677-09-21",
        datetime.date(1677, 9, 21),
        # pandas holds 1677-09-21 from 00:12:43 on: the day, not the time, is judged
        datetime.datetime(1677, 9, 21, 12, 0),
        pd.Timestamp("1677-09-21 23:00"),
        "2262-04-12",
        datetime.date(2262, 4, 12),
    ],
)
def test_a_date_option_names_the_exact_range_it_accepts(day):
    # the message said "between 1677-09-21 and 2262-04-11" but refused 1677-09-21 (and
    # a time on that day passed, to be refused later as "dates at rows [0]")
    with pytest.raises(rs.ParameterError) as err:
        _takes(day=day)
    assert "1677-09-22 to 2262-04-11" in str(err.value)
    assert "1677-09-21 and" not in str(err.value)


@pytest.mark.parametrize(
    "day",
    [
        "1677-09-22",
        datetime.date(1677, 9, 22),
        pd.Timestamp("1677-09-22"),
        datetime.datetime(1677, 9, 22, 6, 0),
        "2262-04-11",
        datetime.date(2262, 4, 11),
        np.datetime64("2262-04-11", "D"),
    ],
)
def test_every_day_of_the_range_is_a_date_option(day):
    assert _takes(day=day)[0] is day


@pytest.mark.parametrize(
    "moment",
    [datetime.datetime(2262, 4, 11, 23, 59), pd.Timestamp("2262-04-11 20:00", tz="Etc/GMT+5")],
)
def test_a_time_on_the_last_day_past_what_pandas_holds_says_so(moment):
    # compared with datetime64[ns] dates such a moment wraps round (a temporal cut at
    # 2262-04-11 23:59 put every row on the test side): refused, saying why
    with pytest.raises(rs.ParameterError) as err:
        _takes(day=moment)
    assert "1677-09-22 to 2262-04-11" in str(err.value)
    assert "time is past the last moment pandas holds" in str(err.value)
    assert "'2262-04-11'" in str(err.value)


def test_a_day_at_the_edges_of_the_range_works_where_a_date_option_is_used():
    cover = pd.DataFrame({"agency": ["school"], "from": ["2101-01-01"], "to": ["2101-06-01"]})
    gaps = rs.coverage_gaps(
        cover, datetime.datetime(1677, 9, 22, 6), datetime.datetime(2262, 4, 11, 23, 47),
        agencies=["school"],
    )  # fmt: skip
    assert gaps["from"].tolist() == [pd.Timestamp("1677-09-22"), pd.Timestamp("2101-06-02")]
    assert gaps["to"].tolist() == [pd.Timestamp("2100-12-31"), pd.Timestamp("2262-04-11")]


@pytest.mark.parametrize("grid", [213_503, np.int64(10**9), datetime.timedelta(days=213_503)])
def test_a_grid_step_too_long_says_so_and_names_the_longest(grid):
    # the constraint said only "a step of whole days such as '14D'" to a step of whole
    # days that is too long: the reason (and the longest step) was hidden
    for kwargs in ({"grid": grid}, {"step": grid}):
        with pytest.raises(rs.ParameterError) as err:
            _takes(**kwargs)
        assert "at most 213,502 days" in str(err.value)
    events, _ = rs.make_cohort(20, random_state=3)
    with pytest.raises(rs.ParameterError, match="at most 213,502 days"):
        rs.as_of_grid(events, grid)
    assert _takes(grid=213_502)[1] == 213_502


@pytest.mark.parametrize("grid", ["150000D", "200000 days", "213502D"])
def test_a_grid_step_written_as_text_is_read_past_what_a_timedelta_holds(grid):
    # pandas' Timedelta holds about 106,751 days: "150000D" was refused as "not a
    # number of days", though 150000 as a number is a step riskscore takes
    from riskscore._dates import step_days

    assert _takes(grid=grid)[1] == grid  # the constraint lets it through
    assert step_days(grid) == int(grid.split("D")[0].split()[0])


def test_a_grid_step_written_as_text_too_long_says_so():
    with pytest.raises(rs.ParameterError, match="at most 213,502 days"):
        _takes(grid="300000D")


@pytest.mark.parametrize("grid", ["1.5D", "banana", 0, -3])
def test_a_grid_step_refusal_says_what_is_wrong_with_it(grid):
    with pytest.raises(rs.ParameterError) as err:
        _takes(grid=grid)
    text = str(err.value)
    assert "_takes: grid must be a step of whole days" in text
    reason = {"1.5D": "not a whole number", "banana": "not a number of days"}.get(
        grid, "at least one day"
    )
    assert reason in text


@pytest.mark.parametrize(
    "call",
    [
        lambda: rs.encode_features(pd.DataFrame(), pd.DataFrame(), bogus=1),
        lambda: rs.make_cohort(10, random_state=0, seed=1),
        lambda: rs.make_cohort(),
        lambda: rs.TemporalSplit([], horizon=365, cutoff="2101-01-01"),
    ],
    ids=["unknown keyword", "unknown keyword 2", "missing argument", "unknown class option"],
)
def test_a_call_that_does_not_fit_the_signature_is_a_parameter_error(call):
    # Python's own TypeError escaped the checked functions; the message now lists the
    # parameters the function takes (and it is still a TypeError for old except clauses)
    with pytest.raises(rs.ParameterError, match="takes the parameters") as caught:
        call()
    assert isinstance(caught.value, TypeError)


def test_a_type_error_inside_a_checked_function_is_not_relabelled():
    # only a call that does not fit the signature is the caller's parameter error
    from riskscore._params import validate_params

    @validate_params({"x": [int]})
    def f(x):
        return x + "a"

    with pytest.raises(TypeError) as caught:
        f(1)
    assert not isinstance(caught.value, rs.ParameterError)


# ---------------------------------------------------------------- the function called


def test_called_as_names_the_outermost_call_and_restores_the_name_after():
    from riskscore._params import called_as, called_within, caller

    assert caller("evaluate") == "evaluate" and not called_within()
    with called_as("build_synthetic_model"):
        with called_as("train_model"):  # inner: the user did not call it
            assert caller("evaluate") == "build_synthetic_model" and called_within()
        assert caller("make_training_set") == "build_synthetic_model"
    assert caller("evaluate") == "evaluate" and not called_within()


def test_called_as_is_reset_when_the_block_raises():
    # a name left behind would put "train_model:" on the user's next, direct, call
    from riskscore._params import called_as, called_within, caller

    with pytest.raises(rs.EstimationError):
        with called_as("train_model"):
            with called_as("evaluate"):
                raise rs.EstimationError("a fold failed")
    assert caller("evaluate") == "evaluate" and not called_within()


def test_another_thread_does_not_see_the_name():
    # a call on another thread is its own call, whatever this thread is doing
    from concurrent.futures import ThreadPoolExecutor

    from riskscore._params import called_as, caller

    with called_as("train_model"), ThreadPoolExecutor(1) as pool:
        assert pool.submit(caller, "evaluate").result() == "evaluate"


def test_a_refusal_inside_called_as_names_the_decorated_function():
    # outer functions check every option they pass on under their own name, so an
    # inner refusal is of a parameter the user did not name (CaseKFold's n_splits,
    # made from cv): it keeps the name of what declared it
    from riskscore._params import called_as

    @validate_params({"n": [Interval(Integral, 1, None)]})
    def inner(n):
        return n

    with called_as("train_model"), pytest.raises(rs.ParameterError, match=r"^inner: n must"):
        inner(0)
