"""Synthetic cohorts (make_cohort) and the fictional Child A vignette."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore import SchemaError
from riskscore.features import as_of_grid, encode_features
from riskscore.schema import validate_cases, validate_events
from riskscore.synthetic import (
    TRUE_INTERCEPT,
    TRUE_INTERCEPT_V1,
    TRUE_LOG_ODDS,
    TRUE_LOG_ODDS_V1,
    VIGNETTE_NOTE,
    make_cohort,
    true_linear_predictor,
    vignette,
)
from riskscore.vocabulary import (
    AGENCIES,
    EVENTS,
    FEATURES,
    FEATURES_V1,
    OUTCOMES,
    VALUED_EVENTS,
)

START = pd.Timestamp("2101-01-01")
END = pd.Timestamp("2103-12-31")  # last day of the default 3-year span


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(3000, random_state=11)


@pytest.fixture(scope="module")
def big_cohort():
    """Large enough to see the outcome model (about 400 outcomes)."""
    return make_cohort(20_000, random_state=2024)


@pytest.fixture(scope="module")
def index_truth(big_cohort):
    """Features at each case's index date, the true log-odds there, and the outcome."""
    events, cases = big_cohort
    as_of = cases[["case_id", "index_date"]].rename(columns={"index_date": "as_of"})
    x = encode_features(events, as_of)
    lp = true_linear_predictor(x).to_numpy()
    y = cases["outcome"].notna().to_numpy().astype(float)
    return x, lp, y


def _plain(events: pd.DataFrame) -> pd.DataFrame:
    """Events with case_id as text, so tables with different category sets compare."""
    out = events.reset_index(drop=True)
    return out.assign(case_id=out["case_id"].astype(str))


def _logistic_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Unpenalised logistic regression of y on x by Newton's method: (intercept, slope)."""
    design = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        w = p * (1 - p)
        step = np.linalg.solve(design.T @ (design * w[:, None]), design.T @ (y - p))
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return float(beta[0]), float(beta[1])


# ----------------------------------------------------------------- determinism


def test_same_seed_same_output_and_other_seed_differs():
    ev1, cs1 = make_cohort(300, random_state=5)
    ev2, cs2 = make_cohort(300, random_state=5)
    pd.testing.assert_frame_equal(ev1, ev2)
    pd.testing.assert_frame_equal(cs1, cs2)
    ev3, cs3 = make_cohort(300, random_state=6)
    assert len(ev3) != len(ev1) or not ev3["date"].equals(ev1["date"])
    assert not cs3["index_date"].equals(cs1["index_date"])


def test_chunk_size_and_progress_do_not_change_output():
    ev1, cs1 = make_cohort(250, random_state=3, chunk_size=250)
    ev2, cs2 = make_cohort(250, random_state=3, chunk_size=17, progress=True)
    pd.testing.assert_frame_equal(ev1, ev2)
    pd.testing.assert_frame_equal(cs1, cs2)


def test_case_range_equals_slice_of_full_cohort():
    full_ev, full_cs = make_cohort(400, random_state=7, chunk_size=97)
    part_ev, part_cs = make_cohort(400, random_state=7, case_range=(150, 260), chunk_size=30)
    ids = [f"C{k + 1:07d}" for k in range(150, 260)]
    assert part_cs["case_id"].tolist() == ids
    assert list(part_ev["case_id"].cat.categories) == ids
    sub = full_ev[full_ev["case_id"].isin(ids)]
    pd.testing.assert_frame_equal(_plain(part_ev), _plain(sub))
    pd.testing.assert_frame_equal(part_cs, full_cs.iloc[150:260].reset_index(drop=True))


@settings(max_examples=8)
@given(
    seed=st.integers(0, 2**40),
    k=st.integers(0, 119),
)
def test_one_case_alone_equals_that_case_in_the_cohort(seed, k):
    full_ev, full_cs = make_cohort(120, random_state=seed)
    one_ev, one_cs = make_cohort(120, random_state=seed, case_range=(k, k + 1))
    sub = full_ev[full_ev["case_id"] == f"C{k + 1:07d}"]
    pd.testing.assert_frame_equal(_plain(one_ev), _plain(sub))
    pd.testing.assert_frame_equal(one_cs, full_cs.iloc[[k]].reset_index(drop=True))


def test_case_id_width_grows_beyond_seven_digits():
    ev, cs = make_cohort(12_345_678, random_state=0, case_range=(12_345_676, 12_345_678))
    assert cs["case_id"].tolist() == ["C12345677", "C12345678"]
    assert set(ev["case_id"].astype(str)) <= set(cs["case_id"])


# ----------------------------------------------------------------- the data contract


def test_events_and_cases_pass_the_contract(cohort):
    events, cases = cohort
    report = validate_events(events)
    assert report.ok, str(report)
    report = validate_cases(cases, events=events)
    assert report.ok, str(report)


def test_event_columns_dtypes_and_vocabulary(cohort):
    events, _ = cohort
    assert list(events.columns) == ["case_id", "date", "agency", "event", "value", "recorded_date"]
    assert isinstance(events["case_id"].dtype, pd.CategoricalDtype)
    assert list(events["agency"].cat.categories) == list(AGENCIES)
    assert list(events["event"].cat.categories) == list(EVENTS)
    assert events["agency"].notna().all() and events["event"].notna().all()
    assert events["value"].dtype == np.float64
    for col in ("date", "recorded_date"):
        assert events[col].dtype == "datetime64[ns]"
        assert (events[col].dropna() == events[col].dropna().dt.normalize()).all()
    assert events["date"].between(START, END).all()


def test_values_only_for_attendance_and_within_range(cohort):
    events, _ = cohort
    valued = events["event"].isin(list(VALUED_EVENTS))
    assert events.loc[valued, "value"].between(0.0, 1.0).all()
    assert events.loc[~valued, "value"].isna().all()


def test_recorded_dates_are_late_not_early_and_a_documented_minority(cohort):
    events, _ = cohort
    rec = events["recorded_date"]
    has = rec.notna()
    assert (rec[has] >= events.loc[has, "date"]).all()
    assert (rec[has] <= END).all()
    assert 0.01 < has.mean() < 0.06  # "about 3%" in the module docstring
    # social care's records delayed by the assessment, police records shared late
    late = events[has]
    assert set(late["agency"].astype(str)) == {"social_care"}
    assert {"police_incident_home", "competing_care_demand"} <= set(late["event"].astype(str))


def test_sorted_by_case_then_date(cohort):
    events, _ = cohort
    codes = events["case_id"].cat.codes.to_numpy()
    assert (np.diff(codes) >= 0).all()
    same = codes[1:] == codes[:-1]
    assert (np.diff(events["date"].to_numpy())[same] >= np.timedelta64(0)).all()


def test_agencies_are_plausible_recorders(cohort):
    events, _ = cohort
    pairs = events[["event", "agency"]].astype(str).drop_duplicates()
    # social care's copies of police records are the documented exception
    copies = {("police_incident_home", "social_care"), ("domestic_abuse_incident", "social_care")}
    for event, agency in pairs.itertuples(index=False):
        usual = EVENTS[event]
        assert "any" in usual or agency in usual or (event, agency) in copies, (event, agency)


def test_generator_1_is_the_original_model():
    """What was built on generator 1 rebuilds exactly: its cohorts must not move.

    Pinned by a digest of a small generator-1 cohort made before generator 2 existed.
    """
    events, cases = make_cohort(200, random_state=2101, generator=1)
    assert cohort_digest(events, cases) == GENERATOR_1_DIGEST


#: cohort_digest(*make_cohort(200, random_state=2101)) computed with the library as it
#: was before generator 2 (commit 0a766a7).
GENERATOR_1_DIGEST = "99e002e975e44231ce355ccb6329348bbce06d028a7de6edb13e166d87482bda"


def cohort_digest(events, cases) -> str:
    """SHA-256 of a cohort's values as plain text (categories as text, dates as days)."""
    import hashlib

    parts = []
    for table in (events, cases):
        for col in table.columns:
            s = table[col]
            if s.dtype.kind == "M":
                s = s.to_numpy().astype("datetime64[D]").astype(np.int64).astype(str)
            else:
                s = [str(v) for v in s.astype(object)]
            parts.append(col + ":" + ",".join(s))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def test_generator_2_adds_severe_absence_repeat_plans_and_follow_up(cohort):
    """The catalogue v2 rules all have something to see in a default cohort."""
    events, cases = cohort
    x = encode_features(events, as_of_grid(events, "30D", cases=cases))
    assert 0.002 < (x["severe_absence"] == 1).mean() < 0.03
    assert 0.005 < (x["asthma_admissions_no_followup_12m"] >= 1).mean() < 0.05
    assert 0.05 < (x["preventer_underuse_12m"] == 1).mean() < 0.25
    assert (x["cp_plans_ever"] >= 2).any() and 0.02 < (x["cp_plans_ever"] >= 1).mean() < 0.15


def test_every_event_type_occurs(cohort):
    events, _ = cohort
    counts = events["event"].value_counts()
    assert (counts.reindex(list(EVENTS)) > 0).all(), counts[counts == 0]


def test_about_fifty_events_and_six_attendance_records_a_year(cohort):
    events, cases = cohort
    per_case = len(events) / len(cases)
    assert 40 < per_case < 60
    att = events[events["event"] == "attendance"].groupby("case_id", observed=True).size()
    assert 5.5 * 3 <= att.median() <= 6.5 * 3
    assert len(att) < len(cases)  # a few children are not enrolled


def test_plans_are_coherent_in_generator_1():
    events, _ = make_cohort(3000, random_state=11, generator=1)
    ev = events.assign(case_id=events["case_id"].astype(str), event=events["event"].astype(str))
    first = ev.groupby(["case_id", "event"])["date"].min().unstack()
    cp = first.dropna(subset=["cp_plan_start"])
    assert (cp["cp_conference"] <= cp["cp_plan_start"]).all()
    assert (cp["strategy_meeting"] <= cp["cp_conference"]).all()
    ended = first.dropna(subset=["cp_plan_end"])
    assert (ended["cp_plan_start"] < ended["cp_plan_end"]).all()
    cin = first.dropna(subset=["cin_plan_end"])
    assert (cin["cin_plan_start"] <= cin["cin_plan_end"]).all()
    # at most one plan of each kind per case
    n = ev[ev["event"].isin(["cp_plan_start", "cin_plan_start"])].groupby(["case_id", "event"])
    assert n.size().max() == 1


def test_plans_are_coherent(cohort):
    """Generator 2: a previous plan, then at most one more; plans of a case never overlap."""
    events, _ = cohort
    ev = events.assign(case_id=events["case_id"].astype(str), event=events["event"].astype(str))
    plans = ev[ev["event"].str.startswith(("cp_plan", "cin_plan"))]
    conference_days = set(
        ev.loc[ev["event"] == "cp_conference", ["case_id", "date"]].itertuples(index=False)
    )
    n_two = 0
    for case_id, rows in plans.groupby("case_id"):
        cp_starts = sorted(rows.loc[rows["event"] == "cp_plan_start", "date"])
        cp_ends = sorted(rows.loc[rows["event"] == "cp_plan_end", "date"])
        assert len(cp_starts) <= 2 and len(cp_ends) <= len(cp_starts)
        n_two += len(cp_starts) == 2
        for i, start in enumerate(cp_starts):
            # a conference decided it, unless it is the previous plan entered at the start
            assert (case_id, start) in conference_days or (
                i == 0 and start < START + pd.Timedelta(days=180)
            )
            if i < len(cp_ends):
                assert start < cp_ends[i]
            if i + 1 < len(cp_starts):
                assert cp_ends[i] < cp_starts[i + 1]
        cin_starts = rows.loc[rows["event"] == "cin_plan_start", "date"].tolist()
        cin_ends = rows.loc[rows["event"] == "cin_plan_end", "date"].tolist()
        assert len(cin_starts) <= 1
        if cin_starts:
            end = cin_ends[0] if cin_ends else END
            assert cin_starts[0] <= end
            for i, start in enumerate(cp_starts):
                cp_end = cp_ends[i] if i < len(cp_ends) else END
                # no child in need plan while a child protection plan runs (a step-up
                # ends it on the day the child protection plan starts)
                assert end <= start or cin_starts[0] > cp_end
    assert n_two > 0  # repeated plans happen


def test_cases_columns_and_values(cohort):
    events, cases = cohort
    assert list(cases.columns) == [
        "case_id",
        "birth_year",
        "sex",
        "ethnic_group",
        "imd_quintile",
        "outcome",
        "outcome_date",
        "followup_end",
        "index_date",
    ]
    assert cases["case_id"].is_unique
    assert set(cases["sex"]) == {"female", "male"}
    assert set(cases["ethnic_group"]) == {f"group_{i}" for i in range(1, 6)}
    assert set(cases["imd_quintile"]) == {1, 2, 3, 4, 5}
    assert cases["birth_year"].between(2090, 2096).all()
    has = cases["outcome"].notna()
    assert set(cases.loc[has, "outcome"]) <= set(OUTCOMES)
    assert (cases["outcome_date"].notna() == has).all()
    gap = (cases.loc[has, "outcome_date"] - cases.loc[has, "index_date"]).dt.days
    assert gap.between(1, 365).all()
    assert (
        cases["index_date"]
        .between(START + pd.Timedelta(days=90), END - pd.Timedelta(days=365))
        .all()
    )
    death = cases["outcome"] == "death"
    assert (cases.loc[death, "followup_end"] == cases.loc[death, "outcome_date"]).all()
    assert (cases.loc[~death, "followup_end"] == END).all()


def test_no_event_after_followup_end(cohort):
    events, cases = cohort
    end = events["case_id"].astype(str).map(cases.set_index("case_id")["followup_end"])
    assert (events["date"] <= end.to_numpy()).all()


# ----------------------------------------------------------------- the outcome model


def test_outcome_rate_is_in_band(big_cohort):
    _, cases = big_cohort
    assert 0.015 < cases["outcome"].notna().mean() < 0.026


def test_outcome_rate_parameter_moves_the_rate():
    _, low = make_cohort(6000, random_state=4, outcome_rate=0.01)
    _, high = make_cohort(6000, random_state=4, outcome_rate=0.05)
    assert 0.004 < low["outcome"].notna().mean() < 0.017
    assert 0.035 < high["outcome"].notna().mean() < 0.07


def test_outcome_follows_the_true_log_odds(index_truth):
    _, lp, y = index_truth
    # Empirical frequency rises with the true linear predictor ...
    edges = np.quantile(lp, [0.5, 0.9])
    groups = np.digitize(lp, edges)
    rates = [y[groups == g].mean() for g in range(3)]
    assert rates[0] < rates[1] < rates[2]
    assert rates[2] > 3 * rates[0]
    # ... and on its own scale: a logistic fit on lp recovers slope 1 and intercept 0.
    intercept, slope = _logistic_fit(lp, y)
    assert 0.75 < slope < 1.25
    assert abs(intercept) < 0.5
    # calibration in the large
    p = 1 / (1 + np.exp(-lp))
    assert abs(p.mean() - y.mean()) < 0.005


def test_outcome_does_not_depend_on_features_outside_the_truth(index_truth):
    x, lp, y = index_truth
    # missed appointments and hardship are correlated with risk but not in the model:
    # given the true lp, they add (almost) nothing
    for feature in ("missed_appointments_12m", "hardship_12m"):
        assert feature not in TRUE_LOG_ODDS
        design = np.column_stack([np.ones_like(lp), x[feature].to_numpy()])
        offset_fit = _offset_logistic(design, y, lp)
        assert abs(offset_fit[1]) < 0.25, (feature, offset_fit)


def _offset_logistic(design, y, offset):
    beta = np.zeros(design.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(offset + design @ beta)))
        w = p * (1 - p)
        step = np.linalg.solve(design.T @ (design * w[:, None]), design.T @ (y - p))
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta


@pytest.mark.parametrize(
    "log_odds, intercept",
    [(TRUE_LOG_ODDS, TRUE_INTERCEPT), (TRUE_LOG_ODDS_V1, TRUE_INTERCEPT_V1)],
)
def test_true_log_odds_are_catalogue_features_with_risk_signs(log_odds, intercept):
    # some catalogue features stay out of the truth, so that a fitted model can be
    # seen to leave them near zero
    assert 5 <= len(log_odds) <= len(FEATURES) - 3
    for feature, beta in log_odds.items():
        assert feature in FEATURES
        assert np.sign(beta) == FEATURES[feature].direction
    assert -8 < intercept < -2
    assert set(TRUE_LOG_ODDS_V1) <= set(FEATURES_V1)


def test_generator_1_truth_by_hand():
    x = pd.DataFrame({f: [1.0] for f in FEATURES})
    lp = true_linear_predictor(x, generator=1)
    assert lp.iloc[0] == pytest.approx(TRUE_INTERCEPT_V1 + sum(TRUE_LOG_ODDS_V1.values()))
    with pytest.raises(ValueError, match="generator"):
        true_linear_predictor(x, generator=3)


def test_true_linear_predictor_by_hand():
    x = pd.DataFrame({f: [0.0, 1.0, np.nan] for f in FEATURES})
    lp = true_linear_predictor(x)
    assert lp.iloc[0] == pytest.approx(TRUE_INTERCEPT)
    assert lp.iloc[1] == pytest.approx(TRUE_INTERCEPT + sum(TRUE_LOG_ODDS.values()))
    assert lp.iloc[2] == pytest.approx(TRUE_INTERCEPT)  # missing counts as 0
    shifted = true_linear_predictor(x, outcome_rate=0.1)
    expected = np.log(0.1 / 0.9) - np.log(0.02 / 0.98)
    assert (shifted - lp).to_numpy() == pytest.approx(np.full(3, expected))
    with pytest.raises(SchemaError, match="persistent_absence"):
        true_linear_predictor(x.drop(columns="persistent_absence"))


# ----------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_cases": -1}, ValueError, "n_cases"),
        ({"n_cases": 10, "years": 1}, ValueError, "years"),
        ({"n_cases": 10, "years": 11}, ValueError, "years"),
        ({"n_cases": 10, "outcome_rate": 0.0}, ValueError, "outcome_rate"),
        ({"n_cases": 10, "random_state": -3}, ValueError, "random_state"),
        ({"n_cases": 10, "random_state": 1.5}, TypeError, "random_state"),
        ({"n_cases": 10, "case_range": (5, 11)}, ValueError, "case_range"),
        ({"n_cases": 10, "case_range": (6, 5)}, ValueError, "case_range"),
        ({"n_cases": 10, "chunk_size": 0}, ValueError, "chunk_size"),
        ({"n_cases": 10, "start": "2101-01-01 10:00"}, ValueError, "start"),
        ({"n_cases": 10, "generator": 3}, ValueError, "generator"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_cohort(**kwargs)


def test_other_start_and_length():
    events, cases = make_cohort(200, random_state=1, start="2105-03-01", years=5)
    assert events["date"].min() >= pd.Timestamp("2105-03-01")
    assert events["date"].max() <= pd.Timestamp("2110-02-28")
    assert (cases["followup_end"] <= pd.Timestamp("2110-02-28")).all()


# ----------------------------------------------------------------- Child A


@pytest.fixture(scope="module")
def child_a():
    return vignette()


def test_vignette_says_it_is_fictional(child_a):
    _, cases = child_a
    assert "fictional" in VIGNETTE_NOTE and "not about" in VIGNETTE_NOTE
    assert cases["fictional"].tolist() == [True]
    assert cases.attrs["note"] == VIGNETTE_NOTE
    assert "fictional composite" in vignette.__doc__
    assert cases["case_id"].tolist() == ["CHILD-A"]


def test_vignette_passes_the_contract(child_a):
    events, cases = child_a
    assert validate_events(events).ok
    report = validate_cases(cases, events=events)
    assert report.ok, str(report)
    assert events["date"].dt.year.between(2101, 2104).all()


def test_vignette_plan_two_days_before_death(child_a):
    events, cases = child_a
    died = cases.loc[0, "outcome_date"]
    assert cases.loc[0, "outcome"] == "death"
    assert cases.loc[0, "followup_end"] == died
    plan = events.loc[events["event"] == "cp_plan_start", "date"]
    assert len(plan) == 1
    assert (died - plan.iloc[0]).days == 2
    conference = events.loc[events["event"] == "cp_conference", "date"]
    assert (conference <= plan.iloc[0]).all() and len(conference) == 1
    assert (events["date"] <= died).all()


def test_vignette_asthma_admissions_without_a_plan(child_a):
    events, _ = child_a
    admissions = events.loc[events["event"] == "asthma_admission", "date"]
    assert len(admissions) == 3
    reviews = events.loc[events["event"] == "asthma_plan_review", "date"]
    # no plan review in the year before or anywhere after the first admission
    assert (reviews < admissions.min() - pd.Timedelta(days=365)).all()
    relievers = events.loc[events["event"] == "reliever_prescription", "date"]
    last_year = relievers[relievers > admissions.max() - pd.Timedelta(days=365)]
    assert (last_year <= admissions.max()).sum() > 12


def test_vignette_father_lost_the_year_before_and_siblings_removed_early(child_a):
    events, _ = child_a
    lost = events.loc[events["event"] == "paternal_involvement_lost", "date"]
    admissions = events.loc[events["event"] == "asthma_admission", "date"]
    assert len(lost) == 1 and lost.iloc[0].year == admissions.min().year - 1
    assert "paternal_involvement_restored" not in set(events["event"].astype(str))
    removed = events.loc[events["event"] == "sibling_removed", "date"]
    assert len(removed) >= 1 and (removed < pd.Timestamp("2101-04-01")).all()


def test_vignette_attendance_falls(child_a):
    events, _ = child_a
    att = events.loc[events["event"] == "attendance"].set_index("date")["value"]
    assert att.iloc[0] >= 0.95 and att.iloc[-1] <= 0.65
    yearly = att.groupby(att.index.year).mean()
    assert yearly.is_monotonic_decreasing


def test_vignette_joined_picture_is_serious_long_before_the_plan(child_a):
    events, _ = child_a
    plan = events.loc[events["event"] == "cp_plan_start", "date"].iloc[0]
    grid = pd.DataFrame(
        {"case_id": "CHILD-A", "as_of": pd.date_range("2101-02-01", plan, freq="MS")}
    )
    joined = true_linear_predictor(encode_features(events, grid))
    views = pd.concat(
        [true_linear_predictor(encode_features(events, grid, agency=a)) for a in AGENCIES],
        axis=1,
    )
    p_joined = 1 / (1 + np.exp(-joined))
    p_best_single = 1 / (1 + np.exp(-views.max(axis=1)))
    serious = (p_joined > 0.3) & (p_best_single < 0.15)
    months = grid["as_of"][serious]
    # serious in the joined view, and in no single agency's, for over a year before the plan
    assert len(months) >= 12
    assert (plan - months.min()).days > 365
    # every agency holds something, none holds it all
    assert (views.max() > TRUE_INTERCEPT).sum() >= 5
