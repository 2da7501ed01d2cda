"""One checked path for everything that leaves, and synthetic outputs that say so.

Reports and written tables go through :func:`riskscore.check_publishable`: a table
edited after disclosure control (a small count, a rate from exact counts, a stamp
removed) cannot leave through the evaluation report any more than through the
cohort report. Outputs made from ``make_cohort`` or ``vignette`` data carry the
synthetic mark through audits, training sets, evaluations and written tables.
"""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import pytest

import riskscore as rs
from riskscore.disclosure import (
    DISCLOSURE_ATTR,
    SYNTHETIC_ATTR,
    SYNTHETIC_LINE,
    check_publishable,
    is_synthetic,
)
from riskscore.errors import DisclosureError
from riskscore.report import render_html


@pytest.fixture(scope="module")
def cohort():
    return rs.make_cohort(3000, random_state=21)


@pytest.fixture(scope="module")
def evaluation(cohort):
    events, cases = cohort
    ts = rs.make_training_set(events, cases, grid="90D")
    return rs.evaluate(rs.default_scorecard(), ts, cv=2, n_boot=10, cases=cases)


def _unmarked(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without its synthetic mark (what the data contract recorded stays)."""
    out = frame.copy()
    out.attrs = {k: v for k, v in frame.attrs.items() if k != SYNTHETIC_ATTR}
    return out


def test_evaluation_report_passes_the_one_check(evaluation):
    state = check_publishable(evaluation.tables())
    assert state["controlled"] and state["synthetic"]
    page = render_html(evaluation)
    assert "Content-Security-Policy" in page
    assert SYNTHETIC_LINE in page
    assert "Provenance" in page and '"synthetic"' in html.unescape(page)


@pytest.mark.parametrize("edit", ["small count", "exact rate", "no stamp"])
def test_evaluation_report_refuses_a_table_edited_after_disclosure(evaluation, edit):
    res = evaluation
    calibration, alerts, metrics = res.calibration, res.alerts, res.metrics
    try:
        if edit == "small count":
            res.calibration = calibration.copy()
            res.calibration.loc[0, "n"] = 3
        elif edit == "exact rate":
            res.alerts = alerts.copy()
            res.alerts["alert_rate"] = res.alerts["alert_rate"] + 1e-6
        else:
            res.metrics = metrics.copy()
            res.metrics.attrs = {}
        with pytest.raises(DisclosureError):
            render_html(res)
    finally:
        res.calibration, res.alerts, res.metrics = calibration, alerts, metrics


def test_evaluation_tables_rest_on_published_counts(evaluation):
    a = evaluation.alerts
    shown = a["alerts"].notna() & a["n"].notna()
    assert np.allclose(a.loc[shown, "alert_rate"], a.loc[shown, "alerts"] / a.loc[shown, "n"])
    tp = a["true_positives"].astype("Float64")
    assert np.allclose(a.loc[shown, "sensitivity"], tp[shown] / a.loc[shown, "events"])
    # no interval where a cell behind it (true positives, or the rest) is small
    small = (tp < 10) | ((a["events"] - tp) < 10)
    assert a.loc[small.fillna(True), "sensitivity_lower"].isna().all()
    cal = evaluation.calibration
    assert np.allclose(cal["observed"], cal["events"] / cal["n"])
    dc = evaluation.decision_curve.dropna(subset=["alerts"])
    n = float(evaluation.sample["n_rows"].iloc[0])
    t = dc["threshold"]
    nb = dc["true_positives"] / n - (dc["alerts"] - dc["true_positives"]) / n * t / (1 - t)
    assert np.allclose(dc["net_benefit"].astype(float), nb.astype(float))
    obs = evaluation.metrics.set_index("metric").loc["observed_rate", "estimate"]
    assert obs == float(evaluation.sample["n_events"].iloc[0]) / n


def test_metrics_need_min_count_events_and_non_events(cohort):
    events, cases = cohort
    ts = rs.make_training_set(events, cases, grid="90D")
    keep = np.flatnonzero(ts.y == 1)[:8]  # eight events only
    rows = np.sort(np.concatenate([keep, np.flatnonzero(ts.y == 0)]))
    small = rs.TrainingSet(
        ts.X.iloc[rows].reset_index(drop=True),
        ts.y[rows],
        ts.case_ids[rows],
        ts.as_of.iloc[rows].reset_index(drop=True),
        ts.excluded,
        ts.info,
    )
    res = rs.evaluate(rs.default_scorecard(), small, cv=2, n_boot=5)
    assert res.metrics["estimate"].isna().all()
    assert res.sample["n_events"].isna().all()
    manifest = rs.disclosure_manifest(res.metrics)
    assert set(manifest["column"]) >= {"estimate", "lower", "upper"}
    exact = rs.evaluate(rs.default_scorecard(), small, cv=2, n_boot=5, disclosure=False)
    assert exact.metrics["estimate"].notna().all()
    assert not check_publishable(exact.tables())["controlled"]


def test_synthetic_mark_travels_through_every_output(cohort, tmp_path):
    events, cases = cohort
    card = rs.default_scorecard()
    audit = rs.audit_cohort(events, cases, card)
    assert audit.synthetic and is_synthetic(audit)
    assert all(is_synthetic(t) for t in audit.tables.values())
    page = render_html(audit)
    assert SYNTHETIC_LINE in page
    path = rs.write_table(audit.tables["summary"], tmp_path / "summary.csv")
    side = json.loads((tmp_path / "summary.csv.provenance.json").read_text(encoding="utf-8"))
    assert side["synthetic"]["line"] == SYNTHETIC_LINE
    assert is_synthetic(rs.read_table(path))
    ts = rs.make_training_set(events, cases, grid="90D")
    assert ts.info["synthetic"] is True and is_synthetic(ts.X)
    ve, vc = rs.vignette()
    case = rs.audit_case(ve, vc, card, "CHILD-A")
    assert case.synthetic and is_synthetic(case.crossings) and is_synthetic(case.trajectory)


def test_unmarked_data_make_unmarked_outputs(cohort):
    events, cases = (_unmarked(f) for f in cohort)
    assert SYNTHETIC_ATTR not in cases.attrs
    audit = rs.audit_cohort(events, cases, rs.default_scorecard())
    assert not audit.synthetic and not any(is_synthetic(t) for t in audit.tables.values())
    assert SYNTHETIC_LINE not in render_html(audit)
    # synthetic-looking ids and an index_date no longer make data synthetic: the mark does
    ts = rs.make_training_set(events, cases, grid="90D")
    assert "index_date" in cases.columns and ts.info["synthetic"] is False
    assert rs.make_training_set(events, cases, grid="90D", synthetic=True).info["synthetic"]


def test_subgroup_metrics_carry_the_mark():
    rng = np.random.default_rng(0)
    p = rng.random(500) * 0.5
    y = (rng.random(500) < p).astype(int)
    g = pd.DataFrame({"sex": rng.choice(["f", "m"], 500)})
    assert not is_synthetic(rs.subgroup_metrics(y, p, g, n_boot=0))
    rs.disclosure.mark_synthetic(g)
    assert is_synthetic(rs.subgroup_metrics(y, p, g, n_boot=0))


def test_every_cohort_table_records_the_relations_it_was_protected_against(cohort):
    events, cases = cohort
    tables = rs.audit_cohort(events, cases, rs.default_scorecard()).tables
    fa = tables["false_alarms"].attrs[DISCLOSURE_ATTR]
    assert any("n_crossings = n_false_alarms" in r for r in fa["relations"])
    assert fa["ratios"]["false_alarm_share"]["numerator"] == "n_false_alarms"
    for t in tables.values():
        reasons = rs.disclosure_manifest(t)["reason"]
        assert not reasons.str.contains("primary|secondary").any()


def test_published_cuts_separate_bands_of_enough_children_not_just_rows():
    # 40 outcome rows of one child sit above every other outcome row: a cut between
    # them passed on rows (40 events) but described one child
    from riskscore._evaluation_tables import Cuts
    from riskscore.disclosure import DisclosureSettings

    rng = np.random.default_rng(0)
    n_other = 3000
    p_other = rng.uniform(0, 0.5, n_other)
    y_other = (rng.random(n_other) < p_other).astype(float)
    cases_other = np.arange(n_other) // 4 + 1  # four rows a child
    y = np.r_[np.ones(40), y_other]
    p = np.r_[np.full(40, 0.9), p_other]
    cases = np.r_[np.zeros(40, dtype=np.int64), cases_other]
    settings = DisclosureSettings()

    def published(with_cases):
        cuts = Cuts(y, p, p, settings, cases=cases if with_cases else None)
        for t in (0.8, 0.4, 0.2):
            cuts.add("alert", t, "probability", t)
        return dict(zip(cuts.settle().lookup("alert")["key"], cuts.published, strict=True))

    assert published(False)[0.8]  # rows alone: the one child's cut is published
    shown = published(True)
    assert not shown[0.8]
    assert shown[0.4] and shown[0.2]  # cuts between many children stay
    # every band between published cuts: 0 or at least 10 children, outcome or not
    edges = sorted(t for t, ok in shown.items() if ok)
    band = np.searchsorted(edges, p, side="right")
    for b in np.unique(band):
        for outcome in (0, 1):
            kids = np.unique(cases[(band == b) & (y == outcome)])
            assert len(kids) == 0 or len(kids) >= 10, (b, outcome, len(kids))


def test_the_event_total_of_fewer_than_min_count_children_is_hidden():
    from riskscore._evaluation_tables import totals_table
    from riskscore.disclosure import DisclosureSettings

    y = np.r_[np.ones(30), np.zeros(500)]
    cases = np.r_[np.repeat(np.arange(3), 10), np.arange(3, 503)]  # 30 rows, 3 children
    hidden = totals_table(y, 503, DisclosureSettings(), cases=cases)
    assert np.isnan(hidden.events_pub) and hidden.cases_pub == 505
    many = totals_table(y, 530, DisclosureSettings(), cases=np.arange(530))
    assert many.events_pub == 30


def test_a_points_cut_and_a_risk_cut_that_nest_differ_by_enough():
    # points and predicted risk not in one order (a map per fold): two families of
    # cuts, protected apart, though a points cut and a risk cut nested in the data
    # with 2 outcome rows between them
    from riskscore._evaluation_tables import Cuts
    from riskscore.disclosure import DisclosureSettings

    rng = np.random.default_rng(1)
    n = 4000
    score = rng.integers(0, 20, n).astype(float)
    p = np.clip(score / 40 + rng.normal(0, 0.002, n), 0.001, 0.999)
    top = score >= 15
    p[top] = 0.9 - score[top] / 100  # risk falls as points rise up there: two families
    y = (rng.random(n) < p).astype(float)
    # rows that reach 10 points but not risk 0.26: 2 outcome rows, others without
    between = (score >= 10) & (p < 0.26)
    y[between] = 0.0
    y[np.flatnonzero(between)[:2]] = 1.0
    assert ((score >= 10) | ~(p >= 0.26)).all()  # {risk >= 0.26} inside {points >= 10}
    cuts = Cuts(y, p, score, DisclosureSettings(), cases=np.arange(n))
    cuts.add("alert", "risk", "probability", 0.26)
    cuts.add("alert", "points", "score", 10.0)
    shown = dict(zip(cuts.settle().lookup("alert")["key"], cuts.published, strict=True))
    assert not (shown["risk"] and shown["points"])


@pytest.fixture(scope="module")
def few_children_ts():
    events, cases = rs.make_cohort(600, random_state=1)
    return rs.make_training_set(events, cases, grid="90D"), cases


def test_statistics_of_outcome_rows_from_fewer_than_ten_children_are_hidden(few_children_ts):
    # 24 outcome rows of 9 children: the sample hid the event count, but the metrics
    # (AUROC, Brier, calibration...) and the calibration bin's events were published
    ts, cases = few_children_ts
    kids = len(np.unique(np.asarray(ts.case_ids)[np.asarray(ts.y) == 1]))
    assert 0 < kids < 10 and int(np.sum(ts.y)) >= 10  # rows enough, children not
    t = rs.evaluate(rs.default_scorecard(), ts, cases=cases, n_boot=20).tables()
    assert t["sample"]["n_events"].isna().all()
    assert t["metrics"][["estimate", "lower", "upper"]].isna().all().all()
    assert t["calibration"]["events"].isna().all()
    assert t["calibration_curve"]["events"].isna().all()
    check_publishable(t)


def test_a_mean_predicted_risk_does_not_give_back_the_event_count(few_children_ts):
    # in-sample, a maximum likelihood fit's mean predicted risk times the rows is the
    # observed number of events: 0.01259843 x 1905 = 24.0000007, the hidden count
    ts, cases = few_children_ts
    model = rs.LogisticRiskModel().fit(ts.X, ts.y)
    t = rs.evaluate(model, ts, cv=None, refit=False, cases=cases).tables()
    cal = t["calibration"]
    expected = cal["mean_predicted"] * cal["n"].astype(float)
    assert np.allclose(expected / 5, np.round(expected / 5))  # a count rounded to 5
    events = int(np.sum(ts.y))
    assert all(abs(e - events) > 1e-3 for e in expected) or events % 5 == 0


def test_a_model_card_publishes_the_mean_predicted_risk_as_a_rounded_expected_count(tmp_path):
    events, cases = rs.make_cohort(1500, random_state=3)
    ts = rs.make_training_set(events, cases, grid="90D")
    model = rs.LogisticRiskModel().fit(ts.X, ts.y, case_ids=ts.case_ids)
    card = json.loads(rs.model_to_json(model))["model_card"]
    rows = card["training_data"]["n_rows"]
    mean = card["metrics"]["training"]["mean_predicted_risk"]
    if mean is not None:
        assert (mean * rows) == pytest.approx(round(mean * rows / 5) * 5)
    exact = float(np.mean(model.predict_proba(ts.X)[:, 1])) * len(ts.y)
    assert exact == pytest.approx(float(np.sum(ts.y)), abs=1e-3)  # why it is rounded


def test_top_share_alert_thresholds_are_rounded_not_a_childs_risk(few_children_ts):
    ts, cases = few_children_ts
    res = rs.evaluate(rs.default_scorecard(), ts, cases=cases, n_boot=0, disclosure=False)
    top = res.alerts[res.alerts["rule"].str.startswith("top")]
    for t in top["threshold"]:
        assert float(f"{t:.3g}") == t
