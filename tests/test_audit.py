"""Case and cohort audits against brute-force daily evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskscore import BANDS, SchemaError
from riskscore.audit import audit_case, audit_cohort
from riskscore.features import encode_features
from riskscore.modelfile import default_scorecard
from riskscore.scorecard import Rule, RuleScorecard
from riskscore.synthetic import make_cohort, vignette
from riskscore.vocabulary import AGENCIES

MAD = "multi_agency_discussion"


@pytest.fixture(scope="module")
def card():
    return default_scorecard()


@pytest.fixture(scope="module")
def child_a(card):
    events, cases = vignette()
    return events, cases, audit_case(events, cases, card, "CHILD-A")


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(150, random_state=7)


def daily_bands(events, case_id, model, start, end):
    """Bands on every single day, joined and per agency: the slow, obvious way."""
    days = pd.date_range(start, end, freq="D")
    q = pd.DataFrame({"case_id": case_id, "as_of": days})
    codes = {}
    for view in (None, *AGENCIES):
        x = encode_features(events, q, agency=view)
        codes[view] = pd.Categorical(model.band(x), categories=BANDS, ordered=True).codes
    return days, codes


def brute_force(events, case_id, model, start, end):
    days, codes = daily_bands(events, case_id, model, start, end)
    joined = codes[None]
    best = np.max([codes[a] for a in AGENCIES], axis=0)
    prev = np.r_[0, joined[:-1]]
    crossings = []
    for level in range(1, len(BANDS)):
        for i in np.flatnonzero((joined >= level) & (prev < level)):
            crossings.append((days[i], BANDS[level]))
    return sorted(crossings), int((joined > best).sum())


def test_vignette_crossings_and_gap_match_daily_evaluation(child_a, card):
    events, cases, audit = child_a
    start = events["date"].min()
    end = cases["outcome_date"].iloc[0]
    want_cross, want_gap = brute_force(events, "CHILD-A", card, start, end)
    got = sorted(zip(audit.crossings["date"], audit.crossings["band"].astype(str), strict=True))
    assert got == want_cross
    assert audit.join_up_gap_days == want_gap


def test_cohort_cases_crossings_match_daily_evaluation(cohort, card):
    events, cases = cohort
    # a few cases with crossings, including re-entries
    some = events["case_id"].astype(str).drop_duplicates().iloc[:6]
    for cid in some:
        ev = events[events["case_id"].astype(str) == cid]
        c = cases[cases["case_id"].astype(str) == cid]
        audit = audit_case(events, cases, card, cid)
        end = audit.trajectory["as_of"].max()
        want_cross, want_gap = brute_force(ev, cid, card, ev["date"].min(), end)
        got = sorted(zip(audit.crossings["date"], audit.crossings["band"].astype(str), strict=True))
        assert got == want_cross, cid
        assert audit.join_up_gap_days == want_gap, cid
        assert len(c) == 1


def test_vignette_lesson_joined_view_sees_it_long_before_the_plan(child_a):
    """The review's lesson, on the fictional Child A: joined up, the picture was there."""
    events, cases, audit = child_a
    plan = events.loc[events["event"] == "cp_plan_start", "date"].min()
    first_mad = audit.first_crossing(MAD)
    assert first_mad is not None
    assert (plan - first_mad).days >= 180, "joined view should reach MAD months before the plan"
    first_event = events["date"].min()
    span = (plan - first_event).days
    for agency in AGENCIES:
        # no single agency's view is at MAD for most of the time before the plan
        days_alone = audit.days_in_band(MAD, agency=agency)
        assert days_alone < span / 2, agency
    assert audit.join_up_gap_days > 180


def test_missed_opportunity_window_is_inclusive_and_plans_count():
    card = RuleScorecard(
        [Rule("asthma_admissions_12m", ">=", 1, 5, "test rule", ("hospital",))],
        bands={"review": 5, "multi_agency_discussion": 50},
    )

    def one_case(extra):
        rows = [("x", "2101-01-01", "hospital", "asthma_admission"), *extra]
        df = pd.DataFrame(rows, columns=["case_id", "date", "agency", "event"])
        df["date"] = pd.to_datetime(df["date"])
        return df

    on_day_28 = audit_case(
        one_case([("x", "2101-01-29", "school", "school_referral")]), None, card, "x"
    )
    assert not on_day_28.crossings["missed"].iloc[0]
    on_day_29 = audit_case(
        one_case([("x", "2101-01-30", "school", "school_referral")]), None, card, "x"
    )
    assert on_day_29.crossings["missed"].iloc[0]
    assert on_day_29.crossings["days_to_next_response"].iloc[0] == 29
    plan = audit_case(
        one_case([("x", "2100-12-01", "social_care", "cin_plan_start")]), None, card, "x"
    )
    assert plan.crossings["plan_active"].iloc[0] and not plan.crossings["missed"].iloc[0]
    ended = audit_case(
        one_case(
            [
                ("x", "2100-12-01", "social_care", "cin_plan_start"),
                ("x", "2100-12-20", "social_care", "cin_plan_end"),
            ]
        ),
        None,
        card,
        "x",
    )
    assert not ended.crossings["plan_active"].iloc[0] and ended.crossings["missed"].iloc[0]


def test_reentering_a_band_counts_again():
    card = RuleScorecard(
        [Rule("asthma_admission_28d", ">=", 1, 5, "test rule", ("hospital",))],
        bands={"review": 5, "multi_agency_discussion": 50},
    )
    df = pd.DataFrame(
        {
            "case_id": "y",
            "date": pd.to_datetime(["2101-01-01", "2101-06-01"]),
            "agency": "hospital",
            "event": "asthma_admission",
        }
    )
    audit = audit_case(df, None, card, "y")
    assert audit.crossings["date"].tolist() == list(pd.to_datetime(["2101-01-01", "2101-06-01"]))


def test_cohort_audit_agrees_with_case_audits(cohort, card):
    events, cases = cohort
    result = audit_cohort(events, cases, card, disclosure=False, chunk_size=60)
    ids = cases["case_id"].astype(str)
    reached = 0
    gaps = 0
    for cid in ids:
        a = audit_case(events, cases, card, cid)
        reached += a.first_crossing(MAD) is not None
        gaps += a.join_up_gap_days > 0
    summary = result.tables["summary"].set_index("measure")["n"]
    assert summary["cases reaching multi_agency_discussion"] == reached
    assert summary["cases with a join-up gap"] == gaps
    assert result.tables["summary"].attrs["riskscore_disclosure"]["applied"] is False


def test_cohort_audit_tables_do_not_depend_on_workers_or_chunks(cohort, card):
    events, cases = cohort
    one = audit_cohort(events, cases, card, disclosure=False, n_jobs=1)
    # chunks of 40 cases audited in two worker processes
    two = audit_cohort(events, cases, card, disclosure=False, chunk_size=40, n_jobs=2)
    assert list(two.tables) == list(one.tables)
    for name, table in one.tables.items():
        pd.testing.assert_frame_equal(two.tables[name], table, obj=name)


def test_no_count_from_1_to_9_leaves_a_cohort_audit(cohort, card):
    events, cases = cohort
    result = audit_cohort(events.iloc[:4000], cases, card)
    checked = 0
    for name, table in result.tables.items():
        spec = table.attrs["riskscore_disclosure"]
        for col in spec["count_columns"]:
            vals = pd.to_numeric(table[col], errors="coerce").dropna().to_numpy()
            assert not ((vals >= 1) & (vals <= 9)).any(), (name, col)
            assert (vals % 5 == 0).all(), (name, col)
            checked += 1
    assert checked >= 7


def test_audit_refuses_unknown_case_and_non_models(cohort, card):
    events, cases = cohort
    with pytest.raises(SchemaError, match="no events"):
        audit_case(events, None, card, "nobody")
    with pytest.raises(TypeError, match="risk_score"):
        audit_case(events, None, object(), events["case_id"].iloc[0])


def test_published_rates_are_recomputed_from_published_counts(cohort, card):
    """A rate from exact counts would give the counts away (165/166 reveals the 1)."""
    events, cases = cohort
    result = audit_cohort(events, cases, card)
    fa = result.tables["false_alarms"]
    for r in fa.itertuples():
        if pd.notna(r.false_alarm_share):
            assert r.false_alarm_share == pytest.approx(r.n_false_alarms / r.n_crossings)
        if pd.notna(r.alerts_per_true_case):
            assert r.alerts_per_true_case == pytest.approx(r.n_crossings / r.n_true_cases_alerted)
    dep = result.tables["by_deprivation"]
    for r in dep.itertuples():
        if pd.notna(r.share_with_gap):
            assert r.share_with_gap == pytest.approx(r.n_with_gap / r.n_cases)


def test_default_card_shows_its_synthetic_deprivation_profile():
    """Responsible use: every model card shows metrics by deprivation quintile."""
    from riskscore.audit import deprivation_illustration

    card = default_scorecard()
    stored = card.model_card["metrics_by_deprivation"]
    assert "SYNTHETIC" in stored["note"]
    assert stored == deprivation_illustration(card)
    for row in stored["by_imd_quintile"]:
        assert row["n_cases"] is None or row["n_cases"] % 5 == 0
