"""Training sets, the point-in-time leakage check, and train_model (synthetic data only)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from riskscore.errors import LeakageError, ParameterError, SchemaError
from riskscore.evaluation import evaluate
from riskscore.features import as_of_grid, encode_features
from riskscore.logistic import LogisticRiskModel
from riskscore.modelfile import load_model
from riskscore.synthetic import TRUE_LOG_ODDS, make_cohort, true_linear_predictor
from riskscore.training import (
    EXCLUSION_REASONS,
    build_synthetic_model,
    check_point_in_time,
    make_training_set,
    train_model,
)


@pytest.fixture(scope="module")
def cohort():
    # five years: a year of look-back and a year of horizon leave three to label
    return make_cohort(3000, random_state=11, years=5)


@pytest.fixture(scope="module")
def training_set(cohort):
    return make_training_set(*cohort, grid="90D")


def _events(rows):
    return pd.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "date": pd.to_datetime([r[1] for r in rows]),
            "agency": "police",
            "event": "police_incident_home",
        }
    )


def test_first_release_labels_on_a_hand_built_cohort():
    """censoring="keep_positives", min_history=0: the rule synthetic-logistic-v1 pins."""
    # case a: outcome 2102-03-01, follow-up ends 2102-06-01; grid every 100 days from
    # 2101-01-01: 2101-01-01, 2101-04-11, 2101-07-20, 2101-10-28, 2102-02-05, 2102-05-16
    # case b: no outcome, follow-up to 2102-01-01: grid 2101-01-01 ... 2101-10-28
    # case c: in the cases table but without events
    events = _events([("a", "2101-01-01"), ("b", "2101-01-01")])
    cases = pd.DataFrame(
        {
            "case_id": ["a", "b", "c"],
            "outcome": ["serious_harm", None, None],
            "outcome_date": pd.to_datetime(["2102-03-01", None, None]),
            "followup_end": pd.to_datetime(["2102-06-01", "2102-01-01", "2102-01-01"]),
        }
    )
    ts = make_training_set(
        events, cases, grid=100, horizon=365, censoring="keep_positives", min_history=0
    )
    got = pd.DataFrame({"case": ts.case_ids, "as_of": ts.as_of.dt.strftime("%Y-%m-%d"), "y": ts.y})
    # a: 2101-01-01 + 365 = 2102-01-01 < outcome -> 0, and within follow-up: kept.
    #    2101-04-11 .. 2102-02-05: outcome within (T, T+365] -> 1 (known positive even
    #    where T+365 passes follow-up). 2102-05-16 is after the outcome: excluded.
    # b: 2101-01-01 + 365 = 2102-01-01 <= follow-up -> kept as 0; later rows censored.
    expected = pd.DataFrame(
        {
            "case": ["a"] * 5 + ["b"],
            "as_of": [
                "2101-01-01",
                "2101-04-11",
                "2101-07-20",
                "2101-10-28",
                "2102-02-05",
                "2101-01-01",
            ],
            "y": [0, 1, 1, 1, 1, 0],
        }
    )
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    ex = ts.excluded.set_index("reason")
    # the first release's table: four reasons, in this order
    assert list(ex.index) == [EXCLUSION_REASONS[i] for i in (0, 2, 4, 5)]
    assert ex.loc["as_of on or after outcome"].tolist() == [1, 1]
    assert ex.loc["horizon runs past followup_end"].tolist() == [3, 1]
    assert ex.loc["case has no events"].tolist() == [0, 1]
    assert ts.excluded.attrs["riskscore_disclosure"]["applied"] is False


def _hand_cases():
    # a: serious harm 2102-03-01, follow-up (loss to follow-up) ends 2102-06-01
    # d: death 2102-03-01 ends follow-up; the extract runs to 2103-06-01 (case b)
    # b: no outcome, follow-up to 2103-06-01
    events = _events([("a", "2101-01-01"), ("d", "2101-01-01"), ("b", "2101-01-01")])
    cases = pd.DataFrame(
        {
            "case_id": ["a", "d", "b"],
            "outcome": ["serious_harm", "death", None],
            "outcome_date": pd.to_datetime(["2102-03-01", "2102-03-01", None]),
            "followup_end": pd.to_datetime(["2102-06-01", "2102-03-01", "2103-06-01"]),
        }
    )
    return events, cases


def test_rows_cut_off_by_follow_up_are_excluded_whatever_their_outcome():
    events, cases = _hand_cases()
    ts = make_training_set(events, cases, grid=100, horizon=365, min_history=0)
    got = pd.DataFrame({"case": ts.case_ids, "as_of": ts.as_of.dt.strftime("%Y-%m-%d"), "y": ts.y})
    # grid every 100 days from 2101-01-01: 01-01, 04-11, 07-20, 10-28, 2102-02-05, 05-16, ...
    # a: T + 365 is within follow-up (2102-06-01) for 2101-01-01 (0) and 2101-04-11
    #    (1); the positives 2101-07-20 .. 2102-02-05 are cut off by the loss to
    #    follow-up: excluded although their outcome was recorded.
    # d: the death ends follow-up inside every horizon from 2101-04-11 on: known 1s.
    # b: T + 365 <= 2103-06-01 up to 2102-05-16; its 3 later rows are cut off.
    expected = pd.DataFrame(
        {
            "case": ["a", "a", "b", "b", "b", "b", "b", "b", "d", "d", "d", "d", "d"],
            "as_of": [
                *["2101-01-01", "2101-04-11"],
                *["2101-01-01", "2101-04-11", "2101-07-20", "2101-10-28"],
                *["2102-02-05", "2102-05-16"],
                *["2101-01-01", "2101-04-11", "2101-07-20", "2101-10-28", "2102-02-05"],
            ],
            "y": [0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1],
        }
    )
    order = np.lexsort((got["as_of"], got["case"]))
    pd.testing.assert_frame_equal(
        got.iloc[order].reset_index(drop=True), expected, check_dtype=False
    )
    ex = ts.excluded.set_index("reason")
    assert list(ex.index) == [EXCLUSION_REASONS[i] for i in (0, 1, 4, 5)]
    assert ex.loc["horizon not fully observed"].tolist() == [3 + 3, 2]  # a: 3 positives, b: 3
    # the first release kept a's three cut-off positives
    old = make_training_set(
        events, cases, grid=100, horizon=365, censoring="keep_positives", min_history=0
    )
    assert old.y.sum() == ts.y.sum() + 3


def test_a_death_past_the_extract_end_is_not_kept_as_a_lone_positive():
    events, cases = _hand_cases()
    # the extract now ends 2102-06-01 for everyone: d's rows from 2101-07-20 on have
    # horizons past it, and only deaths could be labelled there
    cases["followup_end"] = pd.to_datetime(["2102-06-01", "2102-03-01", "2102-06-01"])
    ts = make_training_set(events, cases, grid=100, horizon=365, min_history=0)
    d = ts.as_of[ts.case_ids == "d"].dt.strftime("%Y-%m-%d").tolist()
    assert d == ["2101-01-01", "2101-04-11"]  # 2101-04-11 + 365 = 2102-04-11 <= 2102-06-01


def test_labels_and_horizon_rule_on_a_cohort(cohort, training_set):
    events, cases = cohort
    c = cases.set_index("case_id")
    t = training_set.as_of.to_numpy()
    out = c.loc[training_set.case_ids, "outcome_date"].to_numpy()
    fu = c.loc[training_set.case_ids, "followup_end"].to_numpy()
    has = ~np.isnat(out)
    assert not (has & (t >= out)).any()
    h = np.timedelta64(365, "D")
    label = has & (out > t) & (out <= t + h)
    np.testing.assert_array_equal(training_set.y, label.astype(int))
    # every kept row had its full horizon observed, or died inside it
    assert ((t + h <= fu) | ((training_set.y == 1) & (out == fu))).all()
    # and a full year of history from the case's first record
    first = events.groupby(events["case_id"].astype(str), observed=True)["date"].min()
    start = first.reindex(training_set.case_ids).to_numpy()
    assert ((t - start) >= np.timedelta64(364, "D")).all()
    # rows are the grid minus exclusions: nothing dropped silently
    grid = as_of_grid(events, "90D", cases=cases[["case_id", "followup_end"]])
    assert len(grid) == len(training_set.y) + training_set.excluded["n_rows"].sum()


def test_look_back_counts_rows_and_min_history_and_coverage_change_it(cohort):
    events, cases = cohort
    full = make_training_set(events, cases, grid="90D")
    none = make_training_set(events, cases, grid="90D", min_history=0)
    short = full.excluded.set_index("reason").loc["history shorter than min_history", "n_rows"]
    assert len(none.y) == len(full.y) + short > len(full.y)
    assert "history shorter than min_history" not in set(none.excluded["reason"])
    # 12-month counts are lower in rows with less than a year of history
    kept = set(zip(full.case_ids, full.as_of, strict=True))
    early = np.array([(c, a) not in kept for c, a in zip(none.case_ids, none.as_of, strict=True)])
    x = none.X["school_concerns_12m"]
    assert x[early].mean() < 0.8 * x[~early].mean()
    # coverage from the start of the synthetic calendar: history counts from there
    cov = pd.DataFrame({"agency": ["school"], "from": ["2101-01-01"], "to": ["2105-12-31"]})
    covered = make_training_set(events, cases, grid="90D", coverage=cov)
    first = events.groupby(events["case_id"].astype(str), observed=True)["date"].min()
    t = covered.as_of.to_numpy()
    assert (t - np.datetime64("2101-01-01") >= np.timedelta64(364, "D")).all()
    assert ((t - first.reindex(covered.case_ids).to_numpy()) < np.timedelta64(364, "D")).any()
    # features of agencies without coverage are unknown, not zero
    assert covered.X["police_incidents_home_12m"].isna().all()
    assert covered.X["school_concerns_12m"].notna().all()


def test_temporal_test_rate_equals_the_rate_among_complete_horizon_rows():
    """The issue's symptom: rows kept only because of an outcome inflated the test rate."""
    events, cases = make_cohort(3000, random_state=12, years=5)
    ts = make_training_set(events, cases, grid="90D")
    res = evaluate(LogisticRiskModel(C=0.1), ts, cv="temporal", n_boot=5, disclosure=False)
    test = res.predictions["fold"].to_numpy() == 0
    # the same rows' outcomes, recomputed from the cases table alone
    c = cases.set_index("case_id")
    ids = res.predictions["case_id"].to_numpy()[test]
    t = res.predictions["as_of"].to_numpy()[test]
    out = c.loc[ids, "outcome_date"].to_numpy()
    fu = c.loc[ids, "followup_end"].to_numpy()
    h = np.timedelta64(365, "D")
    extract_end = cases["followup_end"].max().to_datetime64()
    assert (t + h <= extract_end).all()  # every test row's horizon inside the extract
    complete = (t + h <= fu) | (out == fu)  # observed, or ended by the outcome
    assert complete.all()
    y = ~np.isnat(out) & (out > t) & (out <= t + h)
    assert res.metric("observed_rate") == pytest.approx(y.mean(), abs=1e-12)
    # and it is the rate of every complete-horizon row of the test period (all cases),
    # within sampling error; the first release's test set was far above it
    cut = pd.Timestamp(res.design["validation"].split(" at ")[1].split(" ")[0])
    in_period = ts.as_of.to_numpy() >= cut.to_datetime64()
    everyone = ts.y[in_period].mean()
    assert res.metric("observed_rate") == pytest.approx(everyone, rel=0.35)
    # the first release kept rows past the extract's end only when positive
    old = make_training_set(events, cases, grid="90D", censoring="keep_positives", min_history=0)
    tail = old.as_of.to_numpy() + h > extract_end
    assert tail.sum() > 5 and old.y[tail].mean() == 1.0


def test_bad_cases_raise_clear_errors():
    events = _events([("a", "2101-01-01")])
    undated = pd.DataFrame(
        {"case_id": ["a"], "outcome": ["death"], "outcome_date": pd.to_datetime([None])}
    )
    with pytest.raises(SchemaError, match="outcome_date"):
        make_training_set(events, undated)
    dup = pd.DataFrame({"case_id": ["a", "a"]})
    # validate_cases's own message: every copy of the duplicate is named
    with pytest.raises(SchemaError, match="duplicate|more than one row.*rows 0, 1"):
        make_training_set(events, dup)
    with pytest.raises(SchemaError, match="unknown feature"):
        make_training_set(events, pd.DataFrame({"case_id": ["a"]}), features=["shoe_size"])


def _referrals(events, as_of, shift_days):
    """Social-care referrals in the year up to T + shift_days (vectorised, by case)."""
    ref = events[events["event"] == "social_care_referral"]
    cats = pd.Index(pd.unique(events["case_id"].astype(str)))
    step = 1_000_000
    keys = np.sort(
        cats.get_indexer(ref["case_id"].astype(str)) * step
        + (pd.to_datetime(ref["date"]) - pd.Timestamp("2100-01-01")).dt.days.to_numpy()
    )
    code = cats.get_indexer(as_of["case_id"].astype(str)) * step
    hi = code + (pd.to_datetime(as_of["as_of"]) - pd.Timestamp("2100-01-01")).dt.days.to_numpy()
    hi = hi + shift_days
    return (np.searchsorted(keys, hi, "right") - np.searchsorted(keys, hi - 365, "right")).astype(
        float
    )


def _peeking_encoder(events, as_of):
    """Encodes at T + 180 days, plus a referral count over the same shifted year.

    The kind of bug the check exists to catch: a feature table built from the whole
    extract (here, referrals that follow the outcome leak it back).
    """
    later = as_of.assign(as_of=pd.to_datetime(as_of["as_of"]) + pd.Timedelta(days=180))
    out = encode_features(events, later).assign(as_of=as_of["as_of"].to_numpy())
    out["social_care_referrals_12m"] = _referrals(events, as_of, 180)
    return out


def test_leakage_check_passes_encoder_and_catches_peeking_feature(cohort):
    events, cases = cohort
    ts = make_training_set(events, cases)
    q = pd.DataFrame({"case_id": ts.case_ids, "as_of": ts.as_of})
    check_point_in_time(encode_features, events, q, max_dates=6)
    with pytest.raises(LeakageError, match="social_care_referrals_12m"):
        check_point_in_time(_peeking_encoder, events, q, max_dates=6)
    # the peeking feature looks implausibly good next to the same feature as of T
    honest = roc_auc_score(ts.y, _referrals(events, q, 0))
    peek = roc_auc_score(ts.y, _peeking_encoder(events, q)["social_care_referrals_12m"])
    assert peek > honest + 0.05


@pytest.fixture(scope="module")
def trained(cohort):
    events, cases = cohort
    # A ridge on the generator's own predictors: unpenalised fits on a cohort this
    # small meet rare, collinear flags and overfit (calibration slope well below 1).
    return train_model(
        events,
        cases,
        penalty="l2",
        C=0.1,
        features=list(TRUE_LOG_ODDS),
        grid="90D",
        cv=3,
        n_boot=20,
        created="2101-01-01",
    )


def test_train_model_reaches_the_true_risk_discrimination(cohort, trained):
    model, result = trained
    ts = make_training_set(*cohort, grid="90D")
    true_auc = roc_auc_score(ts.y, true_linear_predictor(ts.X))
    assert abs(result.metric("auroc") - true_auc) < 0.05
    assert model.training_data_["n_rows"] == len(ts.y)


def test_model_card_is_complete_and_disclosed(trained, tmp_path):
    model, _ = trained
    card = model.model_card_
    for key in (
        "intended_use",
        "source_of_data",
        "outcome",
        "predictors",
        "sample",
        "missing_data",
        "validation",
        "metrics",
        "calibration",
        "subgroups",
        "limitations",
        "created",
    ):
        assert card[key], key
    assert "not for decisions about individual" in card["intended_use"]
    assert card["intended_use"].startswith("SYNTHETIC")
    for k in ("n_rows", "n_events", "n_cases"):
        assert card["sample"][k] is None or card["sample"][k] % 5 == 0
    assert {"imd_quintile", "sex", "ethnic_group"} <= {r["attribute"] for r in card["subgroups"]}
    auroc = card["metrics"]["auroc"]
    assert auroc["lower"] < auroc["estimate"] < auroc["upper"]
    from riskscore.modelfile import save_model

    path = save_model(model, tmp_path / "m.json", model_card=model.model_card_)
    doc = json.loads(path.read_text())
    assert doc["model_card"]["outcome"]["horizon_days"] == 365
    again = load_model(path)
    np.testing.assert_allclose(again.coef_, model.coef_)


def test_build_synthetic_model_is_deterministic(tmp_path):
    a, _ = build_synthetic_model(
        tmp_path / "a.json", n_cases=500, n_boot=5, penalty="l2", created="2101-01-01"
    )
    b, _ = build_synthetic_model(
        tmp_path / "b.json", n_cases=500, n_boot=5, penalty="l2", created="2101-01-01"
    )
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()
    assert a.name_ == "synthetic-logistic-v1"
    assert "demonstration only" in a.model_card_["source_of_data"]


def test_synthetic_v2_reads_the_whole_catalogue_and_v1_the_first_18(tmp_path):
    from riskscore.vocabulary import FEATURES, FEATURES_V1

    assert list(load_model("synthetic-logistic-v1").feature_names_in_) == list(FEATURES_V1)
    assert list(load_model("synthetic-logistic-v2").feature_names_in_) == list(FEATURES)
    with pytest.raises(ParameterError, match="synthetic-logistic-v3"):
        build_synthetic_model(name="synthetic-logistic-v3")


@pytest.fixture(scope="module")
def small_cohort():
    return make_cohort(120, random_state=9)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"min_history": 100_000}, r"history shorter than min_history: \d"),
        ({"start": "2250-01-01"}, r"no \(case, date\) pair"),
    ],
)
def test_a_training_set_with_no_rows_left_says_why(small_cohort, kwargs, says):
    # it came back empty without a word, and failed later in fit or evaluate
    with pytest.raises(SchemaError, match=rf"no row is left.*{says}.*Fix:"):
        make_training_set(*small_cohort, **kwargs)


def test_start_after_end_and_no_features_are_refused(small_cohort):
    with pytest.raises(ParameterError, match=r"start 2105-01-01 is after end 2101-01-01"):
        make_training_set(*small_cohort, start="2105-01-01", end="2101-01-01")
    with pytest.raises(ParameterError, match=r"start 2105-01-01 is after end 2101-01-01"):
        as_of_grid(small_cohort[0], "90D", start="2105-01-01", end="2101-01-01")
    with pytest.raises(ParameterError, match=r"features: name at least one"):
        make_training_set(*small_cohort, features=[])


def test_point_in_time_check_lines_up_rows_by_pair_and_checks_the_encoder_output():
    # an encoder returning its rows in another order was reported as leaking; one
    # returning None or too few rows raised AttributeError / KeyError
    from riskscore.training import check_point_in_time

    events, _ = make_cohort(40, random_state=6)
    q = as_of_grid(events, "180D").head(60)

    def reversed_rows(ev, pairs):
        out = encode_features(ev, pairs)
        assert {"case_id", "as_of"} <= set(out.columns)  # it names its rows
        return out.iloc[::-1]

    check_point_in_time(reversed_rows, events, q)
    with pytest.raises(ParameterError, match="returned NoneType"):
        check_point_in_time(lambda ev, pairs: None, events, q)
    with pytest.raises(ParameterError, match="one row per pair"):
        check_point_in_time(lambda ev, pairs: encode_features(ev, pairs).head(1), events, q)


def test_one_feature_by_name_is_one_feature_and_a_number_is_refused(small_cohort):
    # features="attendance_recent" was read letter by letter ("unknown feature 'a'");
    # features=5 raised "'int' object is not iterable"
    events, cases = small_cohort
    one = make_training_set(events, cases, grid="90D", features="attendance_recent")
    assert list(one.X.columns) == ["attendance_recent"]
    with pytest.raises(ParameterError, match="features"):
        make_training_set(events, cases, grid="90D", features=5)


def test_point_in_time_check_refuses_what_it_cannot_compare_by_name(small_cohort):
    # as_of=None raised "'NoneType' object has no attribute 'reset_index'"; an encoder
    # returning text raised numpy's "could not convert string to float"
    events, _ = small_cohort
    q = pd.DataFrame(
        {"case_id": events["case_id"].iloc[:3].to_numpy(), "as_of": pd.Timestamp("2104-01-01")}
    )
    with pytest.raises(ParameterError, match="as_of"):
        check_point_in_time(encode_features, events, None)

    def text(ev, asked):
        return pd.DataFrame({"flag": ["yes"] * len(asked)})

    with pytest.raises(ParameterError, match="'flag'"):
        check_point_in_time(text, events, q)


def test_train_model_refuses_a_created_date_a_card_cannot_hold(small_cohort):
    # created="yesterday" went into the model card as it was
    events, cases = small_cohort
    with pytest.raises(ParameterError, match="created"):
        train_model(events, cases, cv=2, n_boot=0, created="yesterday")
    with pytest.raises(ParameterError, match="^build_synthetic_model: created"):
        build_synthetic_model(n_cases=200, n_boot=0, created="yesterday")


def test_train_model_refuses_an_unbounded_number_of_replicates_before_any_work(small_cohort):
    # n_boot=10**12 ran for ever (every replicate is held in memory)
    events, cases = small_cohort
    with pytest.raises(ParameterError, match="n_boot"):
        train_model(events, cases, cv=2, n_boot=10**12)


def test_errors_from_the_evaluation_inside_train_model_name_train_model():
    # the message began "evaluate:" and advised evaluate's refit=False, which
    # train_model does not take
    from riskscore.errors import EstimationError

    events, cases = make_cohort(120, random_state=5)  # one child with the outcome
    with pytest.raises(EstimationError, match=r"^train_model: a training fold") as caught:
        train_model(events, cases, cv=5, n_boot=0)
    assert "evaluate" not in str(caught.value) and "refit" not in str(caught.value)
    with pytest.raises(ParameterError, match=r"^train_model: cv must be"):
        train_model(events, cases, cv="bad", n_boot=0)


def test_errors_inside_build_synthetic_model_name_build_synthetic_model():
    # the messages began "train_model:", a function the user did not call
    from riskscore.errors import EstimationError, SchemaError

    with pytest.raises(SchemaError, match=r"^build_synthetic_model: every training row") as caught:
        build_synthetic_model(n_cases=20, n_boot=0)
    assert "train_model" not in str(caught.value)
    assert "n_cases" in str(caught.value)
    with pytest.raises(EstimationError, match=r"^build_synthetic_model: a training fold") as caught:
        build_synthetic_model(n_cases=50, n_boot=0)
    assert "train_model" not in str(caught.value)


def test_training_set_errors_inside_train_model_name_the_function_called(small_cohort):
    # they began "make_training_set:", a function the user did not call
    events, cases = small_cohort
    with pytest.raises(ParameterError, match=r"^train_model: features must be a list"):
        train_model(events, cases, features=5, cv=2, n_boot=0)
    with pytest.raises(SchemaError, match=r"^train_model: no row is left to train on") as caught:
        train_model(events, cases, horizon=100_000, cv=2, n_boot=0)
    # its advice names only options train_model takes (it has no start or end)
    assert "start" not in str(caught.value) and "min_history" in str(caught.value)
    # the name is reset after the error: called directly, the messages are as before
    with pytest.raises(ParameterError, match=r"^make_training_set: features must be a list"):
        make_training_set(events, cases, features=5)
    with pytest.raises(SchemaError, match=r"^make_training_set: no row is left to train on"):
        make_training_set(events, cases, horizon=100_000)


def test_training_set_errors_inside_build_synthetic_model_name_it(monkeypatch):
    # the outermost function the user called names the error, not train_model inside it
    import riskscore.synthetic

    def harmed_at_once(n_cases, **kwargs):
        # every child has the outcome on their first record: no row is left to label
        events, cases = make_cohort(n_cases, **kwargs)
        first = events.groupby("case_id")["date"].min()
        at = cases["case_id"].map(first)
        return events, cases.assign(outcome="serious_harm", outcome_date=at)

    monkeypatch.setattr(riskscore.synthetic, "make_cohort", harmed_at_once)
    with pytest.raises(
        SchemaError, match=r"^build_synthetic_model: no row is left to train on"
    ) as e:
        build_synthetic_model(n_cases=50, n_boot=0)
    assert "min_history" not in str(e.value) and "n_cases" in str(e.value)


def test_build_synthetic_model_warns_of_few_replicates_once_naming_itself():
    # the train_model and evaluate inside it do not warn again
    with pytest.warns(UserWarning, match=r"^build_synthetic_model: n_boot=5 ") as w:
        build_synthetic_model(n_cases=600, n_boot=5)
    assert sum("n_boot=5" in str(x.message) for x in w) == 1


def test_train_model_warns_of_fewer_than_twenty_replicates(small_cohort):
    events, cases = small_cohort
    with pytest.warns(UserWarning, match=r"^train_model: n_boot=5 ") as w:
        train_model(events, cases, cv=2, n_boot=5)
    assert len(w) == 1
