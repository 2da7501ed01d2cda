"""Rule scorecards: the shared contract, unknown handling, printing, the default card."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore.errors import ModelFileError, SchemaError
from riskscore.modelfile import default_scorecard
from riskscore.scorecard import AUDIT_ONLY_NOTICE, Rule, RuleScorecard
from riskscore.vocabulary import BANDS, FEATURES

FEATURE_NAMES = list(FEATURES)
BANDS_1_3 = {"review": 1, "multi_agency_discussion": 3}


# --------------------------------------------------------------------------- strategies


@st.composite
def cards(draw, monotone: bool = False, integer_points: bool = True):
    """Random cards; ``monotone``: non-negative points, comparisons in the risk direction."""
    n = draw(st.integers(1, 8))
    rules, seen = [], set()
    for _ in range(n):
        f = draw(st.sampled_from(FEATURE_NAMES))
        if monotone:
            op = draw(st.sampled_from([">=", ">"] if FEATURES[f].direction == 1 else ["<=", "<"]))
            points = draw(st.integers(0, 5))
        else:
            op = draw(st.sampled_from([">=", ">", "<=", "<", "=="]))
            points = (
                draw(st.integers(-5, 5))
                if integer_points
                else draw(st.floats(-5, 5, allow_nan=False))
            )
        t = draw(st.sampled_from([0.0, 0.5, 0.9, 1.0, 2.0, 3.0]))
        if (f, op, t) in seen:
            continue
        seen.add((f, op, t))
        rules.append(Rule(f, op, t, points, "r", (FEATURES[f].agencies[0],)))
    lo = draw(st.integers(0, 10))
    return RuleScorecard(
        rules, {"review": lo, "multi_agency_discussion": lo + draw(st.integers(0, 5))}
    )


@st.composite
def tables(draw, n_rows=None):
    n = n_rows or draw(st.integers(1, 12))
    values = st.one_of(
        st.just(np.nan), st.sampled_from([0.0, 0.3, 0.5, 0.9, 0.95, 1.0, 2.0, 3.0, 7.0])
    )
    data = {f: draw(st.lists(values, min_size=n, max_size=n)) for f in FEATURE_NAMES}
    index = pd.Index(draw(st.lists(st.integers(), min_size=n, max_size=n, unique=True)))
    return pd.DataFrame(data, index=index, dtype="float64")


# --------------------------------------------------------------------------- contract


@settings(max_examples=60, deadline=None)
@given(card=cards(), X=tables())
def test_contributions_sum_exactly_to_risk_score(card, X):
    score = card.risk_score(X)
    contrib = card.contributions(X)
    assert list(contrib.columns) == ["baseline", *[r.label for r in card.rules]]
    assert (contrib["baseline"] == 0).all()
    assert contrib.index.equals(X.index) and score.index.equals(X.index)
    np.testing.assert_array_equal(contrib.sum(axis=1).to_numpy(), score.to_numpy())


@settings(max_examples=60, deadline=None)
@given(
    X=tables(),
    data=st.data(),
    block=st.integers(1, 5),
    cores=st.integers(1, 3),
    scale=st.sampled_from([1, 40, 5_000, 10**9, 10**12]),
)
def test_risk_score_equals_the_float_sum_of_its_rules_for_any_point_size(
    X, data, block, cores, scale
):
    # risk_score sums whole-number points in the smallest integer type that holds
    # them (int8 for the shipped cards), block by block on every core; the oracle is
    # the plain float64 sum of each rule's points where it fires, in card order
    rules, seen = [], set()
    for _ in range(data.draw(st.integers(1, 8))):
        f = data.draw(st.sampled_from(FEATURE_NAMES))
        op = data.draw(st.sampled_from([">=", ">", "<=", "<", "=="]))
        t = data.draw(st.sampled_from([0.0, 0.5, 0.9, 1.0, 2.0, 3.0]))
        if (f, op, t) not in seen:
            seen.add((f, op, t))
            rules.append(Rule(f, op, t, data.draw(st.integers(-scale, scale))))
    card = RuleScorecard(rules, BANDS_1_3)
    expected = np.zeros(len(X))
    for r in rules:
        with np.errstate(invalid="ignore"):
            expected += np.where(r.fires(X[r.feature].to_numpy()), r.points, 0.0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("riskscore.scorecard._SCORE_ROWS", block)  # several blocks per table
        mp.setattr("riskscore.scorecard.available_cores", lambda: cores)
        score = card.risk_score(X)
        from_array = card.risk_score(X[FEATURE_NAMES].to_numpy())
    np.testing.assert_array_equal(score.to_numpy(), expected)
    np.testing.assert_array_equal(from_array.to_numpy(), expected)
    np.testing.assert_array_equal(card.contributions(X).sum(axis=1).to_numpy(), expected)


def test_fractional_points_are_summed_in_float_in_card_order():
    card = RuleScorecard(
        [Rule("siblings_removed", ">=", 1, 0.1), Rule("siblings_removed", ">=", 2, 0.2)],
        BANDS_1_3,
    )
    X = pd.DataFrame({"siblings_removed": [0.0, 1.0, 2.0, np.nan]})
    assert card.risk_score(X).tolist() == [0.0, 0.1, 0.1 + 0.2, 0.0]


@settings(max_examples=60, deadline=None)
@given(card=cards(monotone=True), X=tables(n_rows=6), data=st.data())
def test_non_negative_card_never_lowers_score_when_a_feature_moves_towards_risk(card, X, data):
    f = data.draw(st.sampled_from(FEATURE_NAMES))
    step = data.draw(st.sampled_from([0.05, 0.5, 1.0, 4.0]))
    moved = X.copy()
    known = moved[f].notna()
    moved.loc[known, f] = moved.loc[known, f] + FEATURES[f].direction * step
    before = card.risk_score(X).to_numpy()
    after = card.risk_score(moved).to_numpy()
    assert np.all(after >= before)


def test_hand_computed_scores_tiers_and_bands():
    card = RuleScorecard(
        [
            Rule("asthma_admissions_12m", ">=", 1, 1),
            Rule("asthma_admissions_12m", ">=", 2, 2),
            Rule("attendance_recent", "<=", 0.9, 1),
            Rule("attendance_recent", "<", 0.5, 2),
            Rule("siblings_removed", "==", 1, 3),
        ],
        {"review": 3, "multi_agency_discussion": 5},
    )
    X = pd.DataFrame(
        {
            "case_id": ["a", "b", "c", "d"],
            "as_of": pd.to_datetime(["2101-01-01"] * 4),
            "asthma_admissions_12m": [0.0, 1.0, 2.0, 5.0],
            "attendance_recent": [0.95, 0.9, 0.5, 0.2],
            "siblings_removed": [0.0, 1.0, 2.0, 1.0],
        },
        index=[10, 11, 12, 13],
    )
    # by hand: a 0; b 1+1+3=5; c 1+2+1=4; d 1+2+1+2+3=9
    assert card.risk_score(X).tolist() == [0.0, 5.0, 4.0, 9.0]
    band = card.band(X)
    assert band.tolist() == ["none", "multi_agency_discussion", "review", "multi_agency_discussion"]
    assert list(band.cat.categories) == list(BANDS) and band.cat.ordered
    assert band.index.tolist() == [10, 11, 12, 13]
    # thresholds are reached at equality
    at = pd.DataFrame(
        {"asthma_admissions_12m": [2.0], "attendance_recent": [1.0], "siblings_removed": [0.0]}
    )
    assert card.band(at).tolist() == ["review"]


def test_plain_feature_frame_and_full_table_agree():
    card = default_scorecard()
    rng = np.random.default_rng(3)
    feats = pd.DataFrame(
        rng.integers(0, 3, (50, len(FEATURES))).astype(float), columns=list(FEATURES)
    )
    full = feats.copy()
    full.insert(0, "as_of", pd.Timestamp("2102-03-04"))
    full.insert(0, "case_id", [f"c{i}" for i in range(50)])
    full["imd_quintile"] = 1
    pd.testing.assert_series_equal(card.risk_score(feats), card.risk_score(full))
    # a catalogue-ordered array is accepted too
    np.testing.assert_array_equal(card.risk_score(feats.to_numpy()), card.risk_score(feats))


def test_missing_column_is_a_schema_error_naming_it():
    card = default_scorecard()
    with pytest.raises(SchemaError, match="siblings_removed"):
        card.risk_score(pd.DataFrame({"hardship_12m": [1.0]}))


# --------------------------------------------------------------------------- unknown


def test_unknown_rules_score_zero_and_report_the_most_they_could_add():
    card = RuleScorecard(
        [
            Rule("attendance_recent", "<=", 0.9, 1),
            Rule("attendance_recent", "<=", 0.5, 2),
            Rule("attendance_drop", ">=", 0.1, 1),
            Rule("attendance_drop", "<=", -0.5, 4),  # cannot fire together with the one above
            Rule("siblings_removed", ">=", 1, 3),
        ],
        BANDS_1_3,
    )
    X = pd.DataFrame(
        {
            "attendance_recent": [np.nan, 0.4, np.nan],
            "attendance_drop": [np.nan, 0.2, 0.0],
            "siblings_removed": [1.0, np.nan, 0.0],
        }
    )
    assert card.risk_score(X).tolist() == [3.0, 4.0, 0.0]
    unk = card.unknown(X)
    assert unk["attendance_recent <= 0.9"].tolist() == [True, False, True]
    assert unk["siblings_removed >= 1"].tolist() == [False, True, False]
    assert unk["n_unknown"].tolist() == [4, 1, 2]
    # row 0: attendance tiers 1+2 and the larger of the exclusive drop rules (4) = 7;
    # row 1: siblings 3; row 2: attendance tiers 3
    assert unk["max_unknown_points"].tolist() == [7.0, 3.0, 3.0]


# --------------------------------------------------------------------------- display


def test_str_prints_a_score_sheet_with_real_names_points_and_bands():
    card = default_scorecard()
    text = str(card)
    assert AUDIT_ONLY_NOTICE in text
    assert "+3  parental_substance_use_12m >= 1  [any]" in text
    assert "+1  asthma_admissions_no_followup_12m >= 1  [hospital, gp]" in text
    assert "+2  asthma_admissions_12m >= 2  [hospital]" in text
    assert "attendance_drop >= 0.1" in text
    assert "multi-agency discussion    >= 10" in text  # display names, not codes
    for r in card.rules:
        assert r.label in text
    summary = card.summary
    assert summary["rule"].tolist() == [r.label for r in card.rules]
    assert summary["points"].tolist() == [r.points for r in card.rules]
    assert summary.attrs["bands"] == {"review": 4.0, "multi_agency_discussion": 10.0}


# --------------------------------------------------------------------------- validation


def test_unknown_feature_is_refused_listing_known_ones():
    with pytest.raises(ModelFileError, match="asthma_admisions_12m") as err:
        Rule("asthma_admisions_12m", ">=", 1, 1)
    assert "asthma_admissions_12m" in str(err.value)  # the known names are listed
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(feature="hardship_12m", op="=>", threshold=1, points=1), "comparison"),
        (dict(feature="hardship_12m", op=">=", threshold=np.nan, points=1), "finite"),
        (dict(feature="hardship_12m", op=">=", threshold=1, points="2"), "number"),
        (dict(feature="hardship_12m", op=">=", threshold=1, points=1, agencies=("nhs",)), "agency"),
        # each of these raised TypeError (unhashable, not iterable, ufunc) or only warned
        (dict(feature=["hardship_12m"], op=">=", threshold=1, points=1), "feature must be"),
        (dict(feature="hardship_12m", op=[">="], threshold=1, points=1), "comparison"),
        (dict(feature="hardship_12m", op=">=", threshold=10**400, points=1), "finite"),
        (dict(feature="hardship_12m", op=">=", threshold=np.complex128(1), points=1), "number"),
        (dict(feature="hardship_12m", op=">=", threshold=1, points=1, agencies=None), "agencies"),
        (dict(feature="hardship_12m", op=">=", threshold=1, points=1, agencies=5), "agencies"),
        (dict(feature="hardship_12m", op=">=", threshold=1, points=1, agencies=[5]), "agency"),
    ],
)
def test_bad_rules_are_refused(kwargs, match):
    with pytest.raises(ModelFileError, match=match):
        Rule(**kwargs)


@pytest.mark.parametrize(
    "bands",
    [
        {"review": 5, "multi_agency_discussion": 2},
        {"review": 1},
        {"review": 1, "multi_agency_discussion": 2, "urgent": 3},
        {"review": 1, "multi_agency_discussion": float("inf")},
    ],
)
def test_bad_bands_are_refused(bands):
    with pytest.raises(ModelFileError):
        RuleScorecard([Rule("hardship_12m", ">=", 1, 1)], bands)


@pytest.mark.parametrize(
    "args, match",
    [
        ((None, BANDS_1_3), "rules must be"),
        ((5, BANDS_1_3), "rules must be"),
        (([Rule("hardship_12m", ">=", 1, 1)], BANDS_1_3, None, "abc"), "model_card must be"),
        (([Rule("hardship_12m", ">=", 1, 1)], BANDS_1_3, None, [1]), "model_card must be"),
        (([Rule("hardship_12m", ">=", 1, 1)], BANDS_1_3, 5), "name must be"),
    ],
)
def test_a_card_of_the_wrong_parts_is_refused(args, match):
    with pytest.raises(ModelFileError, match=match):
        RuleScorecard(*args)


def test_a_card_whose_points_can_add_up_past_a_float_is_refused():
    # two rules of 1e308 points summed to an infinite score, banded "none"
    rules = [Rule("hardship_12m", ">=", 1, 1e308), Rule("siblings_removed", ">=", 1, 1e308)]
    with pytest.raises(ModelFileError, match="add up to"):
        RuleScorecard(rules, BANDS_1_3)
    with pytest.raises(ModelFileError, match="add up to"):
        RuleScorecard(rules[:1], BANDS_1_3)  # so close to the largest float, too
    card = RuleScorecard([Rule("hardship_12m", ">=", 1, 1e300)], BANDS_1_3)
    assert card.risk_score(pd.DataFrame({"hardship_12m": [1.0]})).tolist() == [1e300]


@pytest.mark.parametrize(
    "value",
    [
        pd.Timestamp("2101-01-01"),
        pd.Timedelta(days=3),
        np.complex128(1 + 1j),
        "2",
    ],
    ids=["datetime", "timedelta", "complex", "text"],
)
def test_a_feature_column_that_is_not_numbers_is_refused_not_converted(value):
    # a date column was scored as its nanoseconds since 1970 (3 points), a complex
    # one lost its imaginary part with a warning
    card = RuleScorecard([Rule("cp_plans_ever", ">=", 1, 3)], BANDS_1_3)
    X = pd.DataFrame({"cp_plans_ever": [value, value]})
    with pytest.raises(SchemaError, match="'cp_plans_ever' is not numbers"):
        card.risk_score(X)
    with pytest.raises(SchemaError, match="'cp_plans_ever' is not numbers"):
        card.contributions(X)
    full = np.full((2, len(FEATURES)), pd.Series([value]).to_numpy()[0])
    with pytest.raises(SchemaError, match="not numbers"):
        card.risk_score(full)


def test_one_error_class_for_feature_columns_that_are_not_numbers():
    # coverage and the models refuse the same thing: one class to catch, not two
    # classes of the same name in different modules
    from riskscore.coverage import apply_coverage
    from riskscore.errors import NotNumbersError

    card = RuleScorecard([Rule("cp_plans_ever", ">=", 1, 3)], BANDS_1_3)
    X = pd.DataFrame(
        {
            "case_id": ["c1"],
            "as_of": pd.to_datetime(["2101-01-01"]),
            **{f: [0.0] for f in FEATURES},
        }
    )
    X["cp_plans_ever"] = X["cp_plans_ever"].astype(str)
    cov = pd.DataFrame({"agency": ["school"], "from": ["2100-01-01"], "to": ["2102-01-01"]})
    with pytest.raises(NotNumbersError):
        card.risk_score(X[FEATURES])
    with pytest.raises(NotNumbersError):
        apply_coverage(X, cov)


def test_numbers_of_any_numeric_kind_score_alike():
    card = RuleScorecard([Rule("cp_plans_ever", ">=", 1, 3)], BANDS_1_3)
    expected = card.risk_score(pd.DataFrame({"cp_plans_ever": [0.0, 2.0, np.nan]}))
    for col in (
        pd.array([0, 2, None], dtype="Int64"),
        pd.array([0.0, 2.0, None], dtype="Float64"),
        pd.Series([0, 2, None], dtype=object),
        pd.Categorical([0.0, 2.0, np.nan]),
    ):
        got = card.risk_score(pd.DataFrame({"cp_plans_ever": col}))
        pd.testing.assert_series_equal(got, expected)


def test_duplicate_rules_are_refused():
    with pytest.raises(ModelFileError, match="duplicate"):
        RuleScorecard(
            [Rule("hardship_12m", ">=", 1, 1), Rule("hardship_12m", ">=", 1.0, 2)], BANDS_1_3
        )


# --------------------------------------------------------------------------- default card


def test_default_card_rules_point_in_the_risk_direction_and_cite_sources():
    card = default_scorecard()
    themes = {r.feature for r in card.rules}
    for f in (
        "parental_substance_use_12m",
        "asthma_admissions_12m",
        "no_asthma_plan_12m",
        "asthma_admission_28d",
        "reliever_overuse_12m",
        "attendance_drop",
        "persistent_absence",
        "severe_absence",
        "paternal_involvement_lost",
        "siblings_removed",
        "police_incidents_home_12m",
        "competing_care_12m",
        "child_voice_concerns_12m",
        "hardship_12m",
        "asthma_admissions_no_followup_12m",
        "preventer_underuse_12m",
        "cp_plans_ever",
    ):
        assert f in themes
    for r in card.rules:
        assert r.points > 0
        assert r.op in ((">=", ">") if FEATURES[r.feature].direction == 1 else ("<=", "<"))
        assert any(src in r.rationale for src in ("SCR", "NRAD", "DfE")), r.label
        assert r.agencies
    tiers = [r.threshold for r in card.rules if r.feature == "asthma_admissions_12m"]
    assert sorted(tiers) == [1.0, 2.0]


def test_default_model_card_states_its_limits():
    mc = default_scorecard().model_card
    text = " ".join(str(v) for v in mc.values()).lower()
    assert "not fitted" in text
    assert "not a decision about any person" in text
    assert "not evidence of accuracy" in text
    assert "deprivation" in text


def test_a_card_with_fractional_points_refuses_an_infinite_value_too():
    # fractional points take the float path (not the integer blocks)
    card = RuleScorecard(
        [Rule("siblings_removed", ">=", 1, 1.5), Rule("asthma_admissions_12m", ">=", 2, 0.25)],
        {"review": 1, "multi_agency_discussion": 2},
    )
    X = pd.DataFrame({"siblings_removed": [0.0, 2.0, np.nan], "asthma_admissions_12m": 3.0})
    assert card.risk_score(X).tolist() == [0.25, 1.75, 0.25]
    X.loc[2, "asthma_admissions_12m"] = -np.inf
    with pytest.raises(
        SchemaError, match=r"'asthma_admissions_12m' has infinite values \(first rows: 2\)"
    ):
        card.risk_score(X)


def test_a_rules_agencies_say_who_holds_the_information_and_never_change_a_score():
    # a probe read an empty agencies list as "a rule that reads no agency and can never
    # fire": agencies are what the report prints as "held by"; each agency's view is
    # scored on that agency's own events, so a rule fires the same with or without them
    import dataclasses

    import riskscore as rs

    card = default_scorecard()
    bare = RuleScorecard([dataclasses.replace(r, agencies=()) for r in card.rules], card.bands)
    events, cases = rs.make_cohort(120, random_state=3)
    full, blank = (rs.audit_cohort(events, cases, c) for c in (card, bare))
    for name, table in full.tables.items():
        pd.testing.assert_frame_equal(table, blank.tables[name], obj=name)
