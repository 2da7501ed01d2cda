"""Coverage in features, audits and case reports: missing records are unknown, not zero."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import riskscore as rs
from riskscore.audit import audit_case, audit_cohort
from riskscore.coverage import apply_coverage, coverage_gaps
from riskscore.disclosure import check_disclosure
from riskscore.features import encode_features
from riskscore.modelfile import default_scorecard
from riskscore.synthetic import make_cohort, vignette
from riskscore.vocabulary import AGENCIES, BANDS, FEATURES

SCHOOL_STOP = pd.Timestamp("2101-06-30")
ALL_TIME = ("2095-01-01", "2110-12-31")


def _full_coverage(except_agency: str | None = None) -> list[tuple[str, str, str]]:
    return [(a, *ALL_TIME) for a in AGENCIES if a != except_agency]


@pytest.fixture(scope="module")
def card():
    return default_scorecard()


@pytest.fixture(scope="module")
def child_a():
    return vignette()


@pytest.fixture(scope="module")
def school_stops(child_a, card):
    """Child A audited with school records ending mid-way through the audited period."""
    events, cases = child_a
    cov = [*_full_coverage("school"), ("school", ALL_TIME[0], f"{SCHOOL_STOP:%Y-%m-%d}")]
    return cov, audit_case(events, cases, card, "CHILD-A", coverage=cov)


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(150, random_state=11)


# --------------------------------------------------------------------------- features


@given(
    start=st.integers(0, 900),
    length=st.integers(0, 900),
    agency=st.sampled_from(AGENCIES),
    view=st.sampled_from([None, *AGENCIES]),
)
def test_encode_with_coverage_equals_apply_coverage_of_plain_encoding(
    child_a, start, length, agency, view
):
    events, _ = child_a
    lo = pd.Timestamp("2100-06-01") + pd.Timedelta(days=start)
    cov = pd.DataFrame(
        {
            "agency": [agency, "police"],
            "from": [lo, pd.Timestamp("2101-01-01")],
            "to": [lo + pd.Timedelta(days=length), pd.Timestamp("2102-12-31")],
        }
    )
    q = rs.as_of_grid(events, "21D")
    plain = encode_features(events, q, view)
    with_cov = encode_features(events, q, view, coverage=cov)
    pd.testing.assert_frame_equal(with_cov, apply_coverage(plain, cov, agency=view))


def test_features_of_an_uncovered_agency_are_nan_not_zero():
    ev = pd.DataFrame(
        {
            "case_id": ["c1", "c1"],
            "date": pd.to_datetime(["2101-01-10", "2101-02-01"]),
            "agency": ["hospital", "hospital"],
            "event": ["asthma_admission", "asthma_admission"],
        }
    )
    q = pd.DataFrame({"case_id": ["c1", "c1"], "as_of": pd.to_datetime(["2101-03-01"] * 2)})
    # hospital covered; police (and every unlisted agency) not
    cov = [("hospital", "2100-01-01", "2102-12-31")]
    x = encode_features(ev, q, coverage=cov)
    assert x["asthma_admissions_12m"].tolist() == [2.0, 2.0]
    # nobody could have recorded a police incident: unknown, not "none"
    assert x["police_incidents_home_12m"].isna().all()
    assert x["siblings_removed"].isna().all()
    # without coverage the same silence reads as zero
    assert (encode_features(ev, q)["police_incidents_home_12m"] == 0).all()
    # an agency view of an uncovered agency is unknown throughout
    police = encode_features(ev, q, "police", coverage=cov)
    assert police[list(FEATURES)].isna().all().all()


# --------------------------------------------------------------------------- case audit


def test_full_coverage_changes_nothing(child_a, card):
    events, cases = child_a
    plain = audit_case(events, cases, card, "CHILD-A")
    covered = audit_case(events, cases, card, "CHILD-A", coverage=_full_coverage())
    assert covered.coverage_gaps.empty
    pd.testing.assert_frame_equal(
        covered.trajectory.drop(columns="max_unknown_points"), plain.trajectory
    )
    pd.testing.assert_frame_equal(covered.crossings, plain.crossings)
    pd.testing.assert_frame_equal(covered.contributions, plain.contributions)
    assert plain.coverage_gaps.empty  # default: no coverage table, no gaps listed


def test_school_features_are_nan_after_school_coverage_stops(child_a, school_stops):
    events, _ = child_a
    cov, audit = school_stops
    t = audit.trajectory
    after = (t["as_of"] > SCHOOL_STOP).to_numpy()
    assert after.any() and (~after).any()
    # recompute the joined features the audit scored, independently, on its own dates
    q = pd.DataFrame({"case_id": "CHILD-A", "as_of": t["as_of"]})
    x = encode_features(events, q)
    school_only = [f for f, spec in FEATURES.items() if tuple(spec.agencies) == ("school",)]
    assert school_only
    for f in school_only:
        xc = apply_coverage(x, cov)[f].to_numpy()
        assert np.isnan(xc[after]).all(), f
        np.testing.assert_array_equal(xc[~after], x[f].to_numpy()[~after])
    # the school's own view is unknown after the stop
    sv = encode_features(events, q, "school", coverage=cov)
    assert sv.loc[after, list(FEATURES)].isna().all().all()
    # the audit's joined scores are those of the covered features
    np.testing.assert_allclose(
        t["score"].to_numpy(), audit.model.risk_score(apply_coverage(x, cov)).to_numpy()
    )


def test_coverage_stop_is_an_evaluation_date(school_stops):
    _, audit = school_stops
    days = pd.to_datetime(audit.trajectory["as_of"])
    assert (days == SCHOOL_STOP + pd.Timedelta(days=1)).any()


def test_case_audit_lists_the_coverage_gap(school_stops):
    _, audit = school_stops
    gaps = audit.coverage_gaps
    assert gaps["agency"].tolist() == ["school"]
    end = pd.Timestamp(audit.trajectory["as_of"].iloc[-1])
    assert pd.Timestamp(gaps["from"].iloc[0]) == SCHOOL_STOP + pd.Timedelta(days=1)
    assert pd.Timestamp(gaps["to"].iloc[0]) == end
    assert gaps["days"].iloc[0] == (end - SCHOOL_STOP).days
    # the attendance rules become unknown once school records stop
    assert gaps["max_unknown_points"].iloc[0] > 0


def _daily(events, model, cov, start, end):
    days = pd.date_range(start, end, freq="D")
    q = pd.DataFrame({"case_id": "CHILD-A", "as_of": days})
    out, scores = {}, {}
    for view in (None, *AGENCIES):
        x = encode_features(events, q, view, coverage=cov)
        out[view] = pd.Categorical(model.band(x), categories=BANDS, ordered=True).codes
        scores[view] = model.risk_score(x).to_numpy()
    return days, out, scores


def test_case_audit_with_coverage_matches_daily_evaluation(child_a, card, school_stops):
    events, _ = child_a
    cov, audit = school_stops
    t = audit.trajectory
    days, codes, scores = _daily(events, card, cov, t["as_of"].iloc[0], t["as_of"].iloc[-1])
    joined = codes[None]
    prev = np.r_[0, joined[:-1]]
    expected = sorted(
        (days[i], BANDS[level])
        for level in range(1, len(BANDS))
        for i in np.flatnonzero((joined >= level) & (prev < level))
    )
    got = sorted(
        zip(
            pd.to_datetime(audit.crossings["date"]),
            audit.crossings["band"].astype(str),
            strict=True,
        )
    )
    assert got == expected
    best = np.max([codes[a] for a in AGENCIES], axis=0)
    assert audit.join_up_gap_days == int((joined > best).sum())
    at = days.get_indexer(pd.to_datetime(t["as_of"]))
    for a in AGENCIES:
        view = pd.Categorical(t[f"band_{a}"], categories=BANDS, ordered=True).codes
        np.testing.assert_array_equal(view, codes[a][at], err_msg=a)
        np.testing.assert_allclose(t[f"score_{a}"].to_numpy(), scores[a][at], err_msg=a)
    np.testing.assert_allclose(t["score"].to_numpy(), scores[None][at])


def test_case_specific_coverage_rows_apply_to_that_case_only(child_a, card):
    events, cases = child_a
    cov = pd.DataFrame(_full_coverage("police"), columns=["agency", "from", "to"])
    own = pd.DataFrame(
        {"agency": ["police"], "from": ["2101-01-01"], "to": ["2101-12-31"], "case_id": ["X"]}
    )
    audit = audit_case(events, cases, card, "CHILD-A", coverage=pd.concat([cov, own]))
    t = audit.trajectory
    # police rows exist for another child only: for Child A police is uncovered throughout
    assert audit.coverage_gaps["agency"].tolist() == ["police"]
    assert audit.coverage_gaps["days"].iloc[0] == len(
        pd.date_range(t["as_of"].iloc[0], t["as_of"].iloc[-1])
    )


# --------------------------------------------------------------------------- report


def test_case_report_shows_coverage_section_and_caveat(school_stops, tmp_path):
    _, audit = school_stops
    page = rs.write_report(audit, tmp_path / "case.html").read_text(encoding="utf-8")
    assert 'id="section-coverage"' in page and '<table id="coverage">' in page
    section = page.split('id="section-coverage"')[1].split("</section>")[0]
    assert f"{SCHOOL_STOP + pd.Timedelta(days=1):%Y-%m-%d}" in section
    assert "school" in section
    assert "may understate" in section
    most = audit.coverage_gaps["max_unknown_points"].max()
    assert f"up to {most:g} points" in section
    # the coverage section comes before the figures' explanation refers to it
    assert "marks a period its records do not cover" in page


def test_case_report_without_coverage_says_none_was_given(child_a, card, tmp_path):
    events, cases = child_a
    audit = audit_case(events, cases, card, "CHILD-A")
    page = rs.write_report(audit, tmp_path / "plain.html").read_text(encoding="utf-8")
    section = page.split('id="section-coverage"')[1].split("</section>")[0]
    assert "No coverage table was given" in section
    assert '<table id="coverage">' not in page


def test_timeline_hatches_uncovered_periods_in_the_lane(school_stops):
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

    from riskscore import plots

    _, audit = school_stops
    ax = Figure().add_subplot()
    plots.plot_case_timeline(audit, ax=ax)
    hatched = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_hatch()]
    assert len(hatched) == 1
    (spans,) = {
        tuple((p.vertices[:, 1].min(), p.vertices[:, 1].max()) for p in c.get_paths())
        for c in hatched
    }
    labels = [t.get_text() for t in ax.get_yticklabels()]
    ticks = dict(zip(labels, ax.get_yticks(), strict=True))
    # the hatching fills the school lane and no other
    for lo, hi in spans:
        assert lo < ticks["school"] < hi
        assert not any(lo < y < hi for name, y in ticks.items() if name != "school")


# --------------------------------------------------------------------------- cohort


def test_audit_cohort_accepts_coverage_and_still_passes_disclosure(cohort, card):
    events, cases = cohort
    cov = [*_full_coverage("school"), ("school", ALL_TIME[0], f"{SCHOOL_STOP:%Y-%m-%d}")]
    result = audit_cohort(events, cases, card, coverage=cov, chunk_size=60)
    assert "coverage" in result.parameters
    for name, t in result.tables.items():
        check_disclosure(t)
        stamp = t.attrs["riskscore_disclosure"]
        assert stamp["applied"], name
        for col in stamp["count_columns"]:
            v = pd.to_numeric(t[col], errors="coerce").dropna()
            assert not v.between(1, 9).any(), (name, col)
    plain = audit_cohort(events, cases, card, chunk_size=60)
    full = audit_cohort(events, cases, card, coverage=_full_coverage(), chunk_size=60)
    for name in plain.tables:
        pd.testing.assert_frame_equal(full.tables[name], plain.tables[name])


def test_coverage_gaps_of_the_audit_match_coverage_gaps(school_stops):
    cov, audit = school_stops
    t = audit.trajectory
    direct = coverage_gaps(cov, t["as_of"].iloc[0], t["as_of"].iloc[-1])
    pd.testing.assert_frame_equal(audit.coverage_gaps.drop(columns="max_unknown_points"), direct)


def test_held_by_with_a_logistic_model_and_coverage_is_each_agency_encoded_alone(child_a):
    """Holders are read from each agency view's own change points as it is scored;
    the obvious way encodes every agency view (with coverage) at the crossing dates.
    A logistic model gives missing values a contribution of their own (imputed
    terms, missing indicators), which an uncovered or silent agency view holds too."""
    events, cases = child_a
    model = rs.load_model("synthetic-logistic-v1")
    cov = [*_full_coverage("school"), ("school", ALL_TIME[0], f"{SCHOOL_STOP:%Y-%m-%d}")]
    audit = audit_case(events, cases, model, "CHILD-A", coverage=cov)
    assert not audit.contributions.empty
    q = pd.DataFrame({"case_id": "CHILD-A", "as_of": audit.crossings["date"].to_numpy()})
    joined = model.contributions(encode_features(events, q, coverage=cov))
    views = {
        a: model.contributions(encode_features(events, q, agency=a, coverage=cov)) for a in AGENCIES
    }
    seen = set()
    for row in audit.contributions.itertuples():
        value = joined.loc[row.crossing, row.contributor]
        assert row.contribution == value
        expected = [
            a
            for a in AGENCIES
            if views[a].loc[row.crossing, row.contributor] != 0
            and np.sign(views[a].loc[row.crossing, row.contributor]) == np.sign(value)
        ]
        assert row.held_by == (", ".join(expected) or "only when joined")
        seen.add(row.held_by)
    assert len(seen) > 1
