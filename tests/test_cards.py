"""The shipped scorecards' cards: claims computed and recomputed, rationales honest, rules live."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskscore as rs
from riskscore.audit import COMPUTED_CLAIMS, computed_card_claims
from riskscore.reach import agency_reach, default_recorders
from riskscore.vocabulary import AGENCIES, FEATURES

MODELS = Path(__file__).resolve().parent.parent / "models"
V2 = "review-rules-v2"


@pytest.fixture(scope="module")
def v1():
    return rs.load_model("review-rules-v1")


@pytest.fixture(scope="module")
def v2():
    return rs.load_model(V2)


# --------------------------------------------------------------------------- v1 as shipped


def test_v1_file_is_unchanged_byte_for_byte():
    """Reproducibility: review-rules-v1.json is the file audits were made with.

    Digest of the file as shipped before catalogue v2 (commit 0a766a7).
    """
    digest = hashlib.sha256((MODELS / "review-rules-v1.json").read_bytes()).hexdigest()
    assert digest == "cb3cc3d4dd7bfad8dcec83e640f5aa7d851e55054edcd4ecc0840a2fc8218dc8"


def test_v1_claim_about_single_agencies_is_false_as_the_docs_say(v1):
    """v1's card says no single agency reaches 10 (largest 9); computed and on data it does."""
    assert (
        "no single agency's information reaches multi_agency_discussion alone"
        in (v1.model_card["bands"])
    )
    reach = agency_reach(v1).set_index("view")
    assert (reach.loc[list(AGENCIES), "band"] == "multi_agency_discussion").sum() == 5
    # the cohort: social care's and school's own records reach 10 there
    events, cases = rs.make_cohort(5000, random_state=2101, generator=1)
    grid = rs.as_of_grid(events, "30D", cases=cases)
    for agency in ("social_care", "school"):
        x = rs.encode_features(events, grid, agency=agency)
        score = v1.risk_score(x)
        assert score.max() >= v1.bands["multi_agency_discussion"], agency
        assert score.max() <= reach.loc[agency, "max_points"]


# --------------------------------------------------------------------------- computed claims


@pytest.mark.parametrize("name", [m for m in rs.shipped_models() if m != "review-rules-v1"])
def test_every_reach_claim_on_a_shipped_card_is_recomputed(name):
    """Cards from v2 on carry no hand-written statement about what a view can reach."""
    model = rs.load_model(name)
    card = getattr(model, "model_card", None) or getattr(model, "model_card_", {})
    if not isinstance(model, rs.RuleScorecard):
        # fitted cards state measured metrics, not reach; none may claim a reach
        assert not set(COMPUTED_CLAIMS) & {"bands", "agency_reach"} & set(card)
        return
    assert set(COMPUTED_CLAIMS) <= set(card)
    assert {k: card[k] for k in COMPUTED_CLAIMS} == computed_card_claims(model)


def test_v2_correction_of_v1_states_recomputable_numbers(v1, v2):
    """The correction's figures are v1's computed maxima, not hand arithmetic."""
    text = v2.model_card["correction_of_v1"]
    reach = agency_reach(v1).set_index("view")["max_points"]
    stated = {
        "hospital": 15,
        "school": 13,
        "social_care": 12,
        "gp": 10,
        "police": 10,
    }
    for agency, points in stated.items():
        assert reach[agency] == points
    assert "15 points (hospital), 13 (school), 12 (social care) or 10 (GP, police)" in text
    assert "generator=1" in text


def test_v2_reach_statement_names_every_agency_once(v2):
    text = v2.model_card["bands"]
    for agency in AGENCIES:
        word = "GP" if agency == "gp" else agency.replace("_", " ")
        assert len(re.findall(rf"\d+ \({word}\)", text)) == 1, agency


# --------------------------------------------------------------------------- v2 content


def test_v2_keeps_every_v1_rule_and_its_points(v1, v2):
    old = {(r.feature, r.op, r.threshold): r.points for r in v1.rules}
    new = {(r.feature, r.op, r.threshold): r.points for r in v2.rules}
    assert {k: new.get(k) for k in old} == old
    assert v2.bands == v1.bands


def test_v2_rationales_cite_sources_and_match_what_the_feature_counts(v2):
    for r in v2.rules:
        assert re.search(r"Sources?: ", r.rationale), r.label
        assert any(s in r.rationale for s in ("SCR", "NRAD", "DfE", "expert judgement")), r.label
    substance = next(r for r in v2.rules if r.feature == "parental_substance_use_12m")
    assert "any recorded parental substance use or treatment contact" in substance.rationale
    assert "not only class A" in substance.rationale
    sources = " ".join(v2.model_card["sources"])
    for name in ("SCR:", "NRAD:", "DfE:", "Expert judgement:"):
        assert name in sources


def test_v2_rule_agencies_include_everyone_who_can_raise_the_feature(v2):
    """A rule on an event any agency may record says 'any', not three agencies."""
    who = default_recorders()
    for r in v2.rules:
        raisers = {a for e in FEATURES[r.feature].raised_by for a in who[e]}
        if raisers >= set(AGENCIES):
            assert "any" in r.agencies, r.label
        else:
            assert "any" in r.agencies or raisers <= set(r.agencies), r.label


def test_v2_scores_or_explains_every_feature(v2):
    """Every catalogue feature has a rule or a written reason for none."""
    not_scored = {e["feature"]: e["reason"] for e in v2.model_card["features_not_scored"]}
    assert set(v2.features_) | set(not_scored) == set(FEATURES)
    assert not set(v2.features_) & set(not_scored)
    assert "deprivation" in not_scored["missed_appointments_12m"]


def test_v2_says_what_the_contract_cannot_express(v2):
    text = " ".join(v2.model_card["limitations"])
    for phrase in ("discharge", "weighted by the sessions", "current child protection plan"):
        assert phrase in text


def test_every_v2_rule_fires_in_a_modest_synthetic_cohort(v2):
    events, cases = rs.make_cohort(1500, random_state=3)
    x = rs.encode_features(events, rs.as_of_grid(events, "30D", cases=cases))
    contributions = v2.contributions(x).drop(columns="baseline")
    fired = (contributions > 0).sum()
    assert (fired > 0).all(), fired[fired == 0]


def test_v2_loads_prints_and_audits_the_vignette(v2):
    text = str(v2)
    for r in v2.rules:
        assert r.label in text
    events, cases = rs.vignette()
    audit = rs.audit_case(events, cases, v2, "CHILD-A")
    first = audit.first_crossing("multi_agency_discussion")
    plan = events.loc[events["event"] == "cp_plan_start", "date"].min()
    assert first is not None and (plan - first).days > 180
    # the new rules see Child A on the plan's day: the July and December 2102
    # admissions had no follow-up (February 2102 has left the year), relievers
    # without preventers, and the plan itself
    x = rs.encode_features(events, pd.DataFrame({"case_id": ["CHILD-A"], "as_of": [plan]}))
    assert x["asthma_admissions_no_followup_12m"].iloc[0] == 2.0
    assert x["preventer_underuse_12m"].iloc[0] == 1.0
    assert x["cp_plans_ever"].iloc[0] == 1.0
    assert np.isfinite(v2.risk_score(x).iloc[0])
