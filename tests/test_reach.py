"""What one agency's records alone can score: agency_reach against hand sums and the encoder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskscore as rs
from riskscore.reach import agency_reach, default_recorders, reach_statement
from riskscore.vocabulary import AGENCIES, FEATURES

T = pd.Timestamp("2102-01-01")
SCORECARDS = [m for m in rs.shipped_models() if m.startswith("review-rules")]


def witness(agencies) -> pd.DataFrame:
    """Records only ``agencies`` may make, pushing every feature they can raise to concern.

    Every event that raises some feature (FeatureSpec.raised_by) and that one of the
    agencies may record, every 10 days over the year before T; attendance high early
    in the year and low in the last 90 days. Events that only lower a feature (plan
    reviews, preventers, restorations) are left out.
    """
    who = default_recorders()
    raising = {e for spec in FEATURES.values() for e in spec.raised_by}
    rows = []
    for event in sorted(raising):
        agency = next((a for a in agencies if a in who[event]), None)
        if agency is None:
            continue
        for d in range(0, 360, 10):
            value = (0.0 if d < 90 else 1.0) if event == "attendance" else np.nan
            rows.append(("w", T - pd.Timedelta(days=d), agency, event, value))
    return pd.DataFrame(rows, columns=["case_id", "date", "agency", "event", "value"])


def test_default_card_v1_reach_by_hand():
    """review-rules-v1, summed by hand from its rules and riskscore.EVENTS.

    Any agency may record parent_substance_use (3), paternal_involvement_lost (2),
    child_voice_concern (2) and economic_hardship (hardship 1): 8 for everyone.
    Hospital adds admissions 1 + 2, admission in 28 days 1, ED visits 1 and no plan 2
    (15); school attendance drop 1, persistent 1, severe 2 and concerns 1 (13); social
    care siblings 3 and competing care 1 (12); GP reliever over-use 2 (10); police
    incidents 1 + 1 (10); drug service, probation and housing nothing more (8).
    The joined maximum is every rule: 28.
    """
    reach = agency_reach(rs.load_model("review-rules-v1")).set_index("view")["max_points"]
    want = {
        "school": 13,
        "hospital": 15,
        "gp": 10,
        "drug_service": 8,
        "police": 10,
        "social_care": 12,
        "probation": 8,
        "housing": 8,
        "joined": 28,
    }
    assert reach.to_dict() == {k: float(v) for k, v in want.items()}


@pytest.mark.parametrize("name", SCORECARDS)
@pytest.mark.parametrize("agency", AGENCIES)
def test_each_agency_maximum_is_reached_by_records_it_alone_may_make(name, agency):
    """The bound is tight: the witness records score exactly the computed maximum."""
    card = rs.load_model(name)
    reach = agency_reach(card).set_index("view")
    q = pd.DataFrame({"case_id": ["w"], "as_of": [T]})
    x = rs.encode_features(witness([agency]), q, agency=agency)
    assert float(card.risk_score(x).iloc[0]) == reach.loc[agency, "max_points"]


@pytest.mark.parametrize("name", SCORECARDS)
def test_joined_maximum_is_reached_and_is_every_positive_rule(name):
    card = rs.load_model(name)
    reach = agency_reach(card).set_index("view")
    q = pd.DataFrame({"case_id": ["w"], "as_of": [T]})
    x = rs.encode_features(witness(AGENCIES), q)
    assert float(card.risk_score(x).iloc[0]) == reach.loc["joined", "max_points"]
    assert reach.loc["joined", "max_points"] == sum(r.points for r in card.rules if r.points > 0)


def test_no_agency_view_of_a_cohort_scores_above_its_computed_maximum():
    """Soundness on data: every row of every agency's view stays within the bound."""
    card = rs.default_scorecard()
    reach = agency_reach(card).set_index("view")["max_points"]
    events, cases = rs.make_cohort(600, random_state=7)
    grid = rs.as_of_grid(events, "30D", cases=cases)
    for agency in AGENCIES:
        score = card.risk_score(rs.encode_features(events, grid, agency=agency))
        assert score.max() <= reach[agency], agency


def test_a_rule_that_fires_on_no_events_is_reached_by_every_view():
    card = rs.RuleScorecard(
        [rs.Rule("asthma_admissions_12m", "<", 1, 2), rs.Rule("siblings_removed", ">=", 1, 3)],
        {"review": 2, "multi_agency_discussion": 5},
    )
    reach = agency_reach(card).set_index("view")
    assert reach.loc["school", "max_points"] == 2.0  # no admissions: 2, never siblings
    assert reach.loc["social_care", "max_points"] == 5.0
    assert reach.loc["social_care", "band"] == "multi_agency_discussion"
    assert reach.loc["school", "rules"] == "asthma_admissions_12m < 1"


def test_contradictory_tiers_on_one_feature_do_not_both_count():
    card = rs.RuleScorecard(
        [
            rs.Rule("attendance_recent", "<=", 0.5, 3),
            rs.Rule("attendance_recent", ">=", 0.95, 1),
            rs.Rule("attendance_recent", "<=", 0.9, 1),
        ],
        {"review": 2, "multi_agency_discussion": 4},
    )
    reach = agency_reach(card).set_index("view")
    assert reach.loc["school", "max_points"] == 4.0  # <= 0.5 and <= 0.9 together
    assert reach.loc["gp", "max_points"] == 0.0  # no attendance: missing, scores nothing


def test_local_recording_practice_changes_the_answer():
    card = rs.load_model("review-rules-v1")
    who = default_recorders()
    who["parent_substance_use"] = ("drug_service", "police", "gp")  # a stricter practice
    reach = agency_reach(card, recorders=who).set_index("view")["max_points"]
    assert reach["school"] == 10.0  # 13 less the 3 substance-use points
    with pytest.raises(rs.ParameterError, match="recorders"):
        agency_reach(card, recorders={"asthma_admission": ("clinic",)})


def test_logistic_models_have_no_maximum():
    with pytest.raises(rs.ModelContractError, match="RuleScorecard"):
        agency_reach(rs.load_model("synthetic-logistic-v1"))


def test_statement_names_the_agencies_that_can_and_cannot_reach_the_top_band():
    text = reach_statement(rs.load_model("review-rules-v1"))
    assert "15 (hospital); 13 (school); 12 (social care)" in text
    assert "drug service, probation and housing cannot" in text
    assert "The joined maximum is 28." in text
