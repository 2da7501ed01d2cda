"""Case and cohort audits against brute-force daily evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore import BANDS, ParameterError, SchemaError
from riskscore.audit import audit_case, audit_cohort
from riskscore.features import encode_features
from riskscore.modelfile import default_scorecard, load_model
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


def brute_force(events, case_id, model, start, end, min_gap=28):
    """Crossings day by day: an entry counts unless the score left the band < min_gap days before."""
    days, codes = daily_bands(events, case_id, model, start, end)
    joined = codes[None]
    best = np.max([codes[a] for a in AGENCIES], axis=0)
    crossings = []
    for level in range(1, len(BANDS)):
        below_since = None  # the day the score last left the band
        was_above = False
        for i, code in enumerate(joined):
            above = code >= level
            if above and not was_above:
                if below_since is None or i - below_since >= min_gap:
                    crossings.append((days[i], BANDS[level]))
            if was_above and not above:
                below_since = i
            was_above = above
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
    # a few cases with crossings, including re-entries, and two with short dips
    some = events["case_id"].astype(str).drop_duplicates().iloc[:6].tolist()
    dips = 0
    for cid in [*some, "C0000009", "C0000083"]:
        ev = events[events["case_id"].astype(str) == cid]
        c = cases[cases["case_id"].astype(str) == cid]
        audit = audit_case(events, cases, card, cid)
        end = audit.trajectory["as_of"].max()
        want_cross, want_gap = brute_force(ev, cid, card, ev["date"].min(), end)
        got = sorted(zip(audit.crossings["date"], audit.crossings["band"].astype(str), strict=True))
        assert got == want_cross, cid
        every = audit_case(events, cases, card, cid, min_gap=0)
        want_every, _ = brute_force(ev, cid, card, ev["date"].min(), end, min_gap=0)
        got = sorted(zip(every.crossings["date"], every.crossings["band"].astype(str), strict=True))
        assert got == want_every, cid
        # a dip is a re-entry that is not a crossing: together they are every entry
        assert len(every.crossings) == len(audit.crossings) + len(audit.dips), cid
        dips += len(audit.dips)
        assert audit.join_up_gap_days == want_gap, cid
        assert len(c) == 1
    assert dips >= 2


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


def test_held_by_names_the_agencies_whose_own_records_score_the_rule(cohort, card):
    """Each contributor's holders, recomputed the obvious way: one agency view at a time."""
    events, cases = cohort
    for case_id in cases["case_id"].iloc[:40]:
        audit = audit_case(events, cases, card, case_id)
        if audit.contributions.empty:
            continue
        dates = audit.crossings["date"].to_numpy()
        q = pd.DataFrame({"case_id": case_id, "as_of": dates})
        joined = card.contributions(encode_features(events, q))
        views = {a: card.contributions(encode_features(events, q, agency=a)) for a in AGENCIES}
        for row in audit.contributions.itertuples():
            value = joined.loc[row.crossing, row.contributor]
            expected = [
                a
                for a in AGENCIES
                if views[a].loc[row.crossing, row.contributor] != 0
                and np.sign(views[a].loc[row.crossing, row.contributor]) == np.sign(value)
            ]
            assert row.held_by == (", ".join(expected) or "only when joined")


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


def _two_admissions(second: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": "y",
            "date": pd.to_datetime(["2101-01-01", second]),
            "agency": "hospital",
            "event": "asthma_admission",
        }
    )


_ADMISSION_CARD = RuleScorecard(
    [Rule("asthma_admission_28d", ">=", 1, 5, "test rule", ("hospital",))],
    bands={"review": 5, "multi_agency_discussion": 50},
)


def test_a_short_dip_below_a_band_is_not_a_new_crossing():
    # in the band 2101-01-01 to 01-28 (28-day window), below from 01-29, back on 02-10
    events = _two_admissions("2101-02-10")
    audit = audit_case(events, None, _ADMISSION_CARD, "y")
    assert audit.crossings["date"].tolist() == [pd.Timestamp("2101-01-01")]
    assert len(audit.missed_opportunities) == 1  # the dip is not a second missed opportunity
    dip = audit.dips.iloc[0]
    assert (dip["left"], dip["returned"]) == (
        pd.Timestamp("2101-01-29"),
        pd.Timestamp("2101-02-10"),
    )
    assert dip["days_below"] == 12 and str(dip["band"]) == "review"
    assert audit.parameters["min_gap"] == 28
    # the minimum gap is a parameter: 12 days below is enough at min_gap=12, not at 13
    assert len(audit_case(events, None, _ADMISSION_CARD, "y", min_gap=12).crossings) == 2
    assert len(audit_case(events, None, _ADMISSION_CARD, "y", min_gap=13).crossings) == 1
    every = audit_case(events, None, _ADMISSION_CARD, "y", min_gap=0)
    assert len(every.crossings) == 2 and every.dips.empty
    assert len(every.missed_opportunities) == 2


def test_cohort_tables_count_episodes_not_reentries():
    events = _two_admissions("2101-02-10")
    cases = pd.DataFrame({"case_id": ["y"], "imd_quintile": [1]})
    for min_gap, want in ((28, 1), (0, 2)):
        result = audit_cohort(events, cases, _ADMISSION_CARD, disclosure=False, min_gap=min_gap)
        fa = result.tables["false_alarms"].set_index("band")
        assert fa.loc["review", "n_crossings"] == want
        mo = result.tables["missed_opportunities"]
        assert mo.loc[mo["band"] == "review", "n_missed"].sum() == want
        assert result.parameters["min_gap"] == min_gap


@pytest.mark.parametrize("bad", [-1, 2.5, "28", True])
def test_min_gap_must_be_whole_days(bad):
    from riskscore.errors import ParameterError

    with pytest.raises(ParameterError, match="min_gap"):
        audit_case(_two_admissions("2101-02-10"), None, _ADMISSION_CARD, "y", min_gap=bad)


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
    assert summary["cases reaching multi-agency discussion"] == reached
    assert summary["cases with a join-up gap"] == gaps
    assert result.tables["summary"].attrs["riskscore_disclosure"]["applied"] is False


@pytest.mark.parametrize(
    "workers, fork, path",
    [(2, True, "fork"), (3, True, "fork"), (2, False, "threads"), (3, False, "processes")],
)
def test_cohort_audit_tables_do_not_depend_on_workers_or_chunks(
    cohort, card, monkeypatch, workers, fork, path
):
    """Several workers audit chunks in processes forked from this one (Linux), or with
    RISKSCORE_FORK=0 on two threads of this process or in three worker processes:
    the same tables as one worker with one chunk."""
    import sys

    import riskscore._cohort_tables as cohort_tables
    import riskscore._parallel as parallel

    events, cases = cohort
    one = audit_cohort(events, cases, card, disclosure=False, n_jobs=1)
    if not fork:
        monkeypatch.setenv("RISKSCORE_FORK", "0")
    # workers are capped at the cores: on a machine with four, three are three
    monkeypatch.setattr(parallel, "available_cores", lambda: max(4, workers))
    used = []
    real_threads, real_fork = cohort_tables.map_threads, cohort_tables._fork_context
    monkeypatch.setattr(
        cohort_tables,
        "map_threads",
        lambda fn, items, n: used.append("threads") or real_threads(fn, items, n),
    )

    def fork_context():
        context = real_fork()
        if context is not None:
            used.append("fork")
        return context

    monkeypatch.setattr(cohort_tables, "_fork_context", fork_context)
    many = audit_cohort(events, cases, card, disclosure=False, chunk_size=40, n_jobs=workers)
    assert used == ([] if path == "processes" else [path])
    assert path != "fork" or sys.platform.startswith("linux")
    assert list(many.tables) == list(one.tables)
    for name, table in one.tables.items():
        pd.testing.assert_frame_equal(many.tables[name], table, obj=name)
    # the inputs' hashes (computed alongside worker processes) are the inputs' own
    from riskscore.disclosure import hash_input

    want = {"events": hash_input(events), "cases": hash_input(cases)}
    assert many.input_hashes == one.input_hashes == want


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


def test_a_cohort_where_no_case_crosses_audits_to_suppressed_tables(card):
    # no crossing at all: the missed-opportunity table was empty with text-typed
    # counts, and disclosure control refused it ("dtype object, not numbers")
    events, cases = make_cohort(60, random_state=4)
    one = cases["case_id"].iloc[0]
    result = audit_cohort(events[events["case_id"] == one], cases.iloc[:1], card)
    assert (result.tables["false_alarms"]["n_crossings"] == 0).all()
    mo = result.tables["missed_opportunities"]
    assert len(mo) == 0 and pd.api.types.is_integer_dtype(mo["n_crossings"])
    for name, table in result.tables.items():
        for col in table.attrs["riskscore_disclosure"]["count_columns"]:
            vals = pd.to_numeric(table[col], errors="coerce").dropna().to_numpy()
            assert not ((vals >= 1) & (vals <= 9)).any(), (name, col)


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


def test_v1_card_shows_its_synthetic_deprivation_profile():
    """Responsible use: every model card shows metrics by deprivation quintile.

    review-rules-v1's profile was computed on generator 1 (the only one then); v2's is
    recomputed with its other computed claims in test_cards.py.
    """
    from riskscore.audit import deprivation_illustration

    card = load_model("review-rules-v1")
    stored = card.model_card["metrics_by_deprivation"]
    assert "SYNTHETIC" in stored["note"]
    assert stored == deprivation_illustration(card, generator=1)
    for row in stored["by_imd_quintile"]:
        assert row["n_cases"] is None or row["n_cases"] % 5 == 0


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["school", "gp", "police", "housing"]), min_size=1, max_size=3
        ).map(", ".join)
        | st.just("only when joined"),
        min_size=1,
        max_size=40,
    )
)
def test_holder_sets_explode_as_pandas_would(held_by):
    """Each distinct holder set split once, rows repeated: the same as str.split/explode,
    from text or from a categorical (as a cohort audit passes them), names as codes."""
    from riskscore._cohort_tables import _explode_holders

    c = pd.DataFrame({"crossing": range(len(held_by)), "held_by": held_by})
    c.index = c.index * 2 + 5
    want = c.assign(held_by=c["held_by"].str.split(", ")).explode("held_by")
    want["held_by"] = want["held_by"].astype(object)
    for given_as in (c, c.assign(held_by=pd.Categorical(held_by))):
        got = _explode_holders(given_as)
        assert isinstance(got["held_by"].dtype, pd.CategoricalDtype)
        got["held_by"] = got["held_by"].astype(object)
        pd.testing.assert_frame_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 6),  # crossing
            st.sampled_from(["school", "gp, police", "only when joined", "gp"]),
            st.floats(-5, 5, allow_nan=False),
        ),
        min_size=1,
        max_size=30,
    ),
    bands=st.lists(st.sampled_from(BANDS[1:]), min_size=7, max_size=7),
    missed=st.lists(st.booleans(), min_size=7, max_size=7),
)
def test_holder_partials_count_each_crossing_once_per_holder(rows, bands, missed):
    """Per band and holder: distinct crossings, missed ones among them and the summed
    contribution, as the plain pandas way (drop duplicates, group, sum) gives them."""
    from riskscore._cohort_tables import _explode_holders, crossing_partials

    contribs = pd.DataFrame(rows, columns=["crossing", "held_by", "contribution"])
    contribs["band"] = pd.Categorical([bands[c] for c in contribs["crossing"]], categories=BANDS)
    contribs["missed"] = [missed[c] for c in contribs["crossing"]]
    crossings = pd.DataFrame({"band": [], "before_outcome": [], "true_alarm": [], "case_id": []})
    _, got = crossing_partials(crossings, contribs)
    exploded = _explode_holders(contribs)
    exploded["band"] = exploded["band"].astype(str)
    exploded["held_by"] = exploded["held_by"].astype(str)
    once = exploded.drop_duplicates(["crossing", "held_by"])
    want = once.groupby(["band", "held_by"]).agg(
        n_crossings=("crossing", "size"), n_missed=("missed", "sum")
    )
    want = want.join(exploded.groupby(["band", "held_by"])["contribution"].sum())
    got = got.assign(band=got["band"].astype(str)).set_index(["band", "held_by"])
    pd.testing.assert_frame_equal(
        got.sort_index(), want.sort_index(), check_dtype=False, check_exact=False
    )


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.sampled_from(["a", "b", "c", "10", "2"]), min_size=1, max_size=30),
    extra=st.lists(st.sampled_from(["z", "y", "b"]), max_size=3),
    categorical=st.booleans(),
)
def test_chunk_ids_are_the_distinct_ids_as_text_in_order_of_appearance(ids, extra, categorical):
    """A chunk's case ids: text per distinct id only for a categorical column (with
    unused categories, as a slice of a whole extract has), the same answer as text."""
    from riskscore._audit_core import _chunk_ids

    values = pd.Series(ids)
    if categorical:
        values = pd.Series(pd.Categorical(ids, categories=sorted(set(ids) | set(extra))))
    got_ids, got_code = _chunk_ids(values)
    want = list(dict.fromkeys(ids))
    assert got_ids.tolist() == want
    assert [want[c] for c in got_code] == ids


def _audit_in_a_pool_worker(args):
    events, cases = args
    return audit_cohort(events, cases, default_scorecard(), disclosure=False, n_jobs=2).tables


def test_a_cohort_audit_inside_a_pool_worker_runs_without_forking(cohort, card):
    """A multiprocessing pool's workers are daemonic and may not have children: the
    audit's workers are threads there, and the tables are the same."""
    import multiprocessing

    events, cases = cohort
    one = audit_cohort(events, cases, card, disclosure=False, n_jobs=1).tables
    with multiprocessing.get_context("fork").Pool(1) as pool:
        inside = pool.map(_audit_in_a_pool_worker, [(events, cases)])[0]
    assert list(inside) == list(one)
    for name, table in one.items():
        pd.testing.assert_frame_equal(inside[name], table, obj=name)


@pytest.mark.parametrize("kind", ["scorecard", "logistic with coverage"])
def test_cohort_core_gives_the_case_core_best_agency_band_gaps_and_holders(cohort, card, kind):
    """A cohort audit finds each row's best agency band from the views' band changes
    and the holders from each view's change points, without carrying every view to
    every row: the same bands, join-up gaps and holders as carrying each view."""
    from riskscore._audit_core import audit_core
    from riskscore.coverage import coverage_table
    from riskscore.logistic import LogisticRiskModel

    events, cases = cohort
    model, cov = card, None
    if kind != "scorecard":
        as_of = cases["outcome_date"].fillna(events["date"].max())
        x = encode_features(events, pd.DataFrame({"case_id": cases["case_id"], "as_of": as_of}))
        y = cases["outcome"].notna().astype(int)
        p = LogisticRiskModel().fit(x, y).predict_proba(x)[:, 1]
        bands = {"review": np.quantile(p, 0.5), "multi_agency_discussion": np.quantile(p, 0.8)}
        model = LogisticRiskModel(bands=bands).fit(x, y)
        some = cases["case_id"].astype(str).iloc[::3]
        stop = events["date"].quantile(0.5)
        cov = coverage_table(
            pd.DataFrame(
                {
                    "agency": "school",
                    "from": events["date"].min(),
                    "to": stop,
                    "case_id": some.to_numpy(),
                }
            )
        )
    end = int(events["date"].max().to_datetime64().astype("datetime64[D]").astype(np.int64))
    args = (events, cases, model, None, 90, 90, AGENCIES, end, cov)
    each = audit_core(*args, per_agency=True)
    cohort_core = audit_core(*args, per_agency=False)
    rows = cohort_core.scored.rows
    assert rows["best_agency_band"].astype(str).tolist() == (
        each.scored.rows["best_agency_band"].astype(str).tolist()
    )
    assert (rows["best_agency_band"].astype(str) != rows["band"].astype(str)).any()
    np.testing.assert_array_equal(cohort_core.gaps, each.gaps)
    assert cohort_core.gaps.sum() > 0
    pd.testing.assert_frame_equal(
        cohort_core.contributors.astype(str), each.contributors.astype(str)
    )


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    n_cases=st.integers(1, 4),
    n_views=st.integers(0, 4),
    empty_band=st.integers(0, 2),
)
def test_best_band_is_the_highest_band_any_view_holds_on_each_row(
    data, n_cases, n_views, empty_band
):
    """Each row reads, per view, the band at the view's last point of the same case on
    or before the row (the empty record's band before the first), and keeps the
    highest: checked row by row against the views' points."""
    from riskscore._audit_core import _best_band, _day_keys, _Rows

    days = st.lists(st.integers(0, 30), unique=True, max_size=8).map(sorted)
    row_code, row_day = [], []
    for c in range(n_cases):
        d = data.draw(days)
        row_code += [c] * len(d)
        row_day += d
    rows = _Rows()
    rows.code = np.array(row_code, dtype=np.int64)
    rows.day = np.array(row_day, dtype=np.int64)
    rows.ids = pd.Index([f"C{c}" for c in range(n_cases)])
    views = []
    for _ in range(n_views):
        pts = data.draw(
            st.lists(st.tuples(st.integers(0, n_cases - 1), st.integers(0, 30)), unique=True)
        )
        pts.sort()
        code = np.array([p[0] for p in pts], dtype=np.int64)
        day = np.array([p[1] for p in pts], dtype=np.int64)
        band = np.array(
            data.draw(st.lists(st.integers(0, 2), min_size=len(pts), max_size=len(pts))),
            dtype=np.int8,
        )
        views.append((_day_keys(code, day), band, pts))
    got = _best_band(rows, [(k, b) for k, b, _ in views], empty_band)
    for r, (c, d) in enumerate(zip(row_code, row_day, strict=True)):
        want = 0 if not views else empty_band
        for _, band, pts in views:
            before = [i for i, p in enumerate(pts) if p[0] == c and p[1] <= d]
            want = max(want, int(band[before[-1]]) if before else empty_band)
        assert got[r] == want, (r, c, d)


def test_asking_a_cohort_audit_for_a_table_it_lacks_names_its_tables(cohort, card):
    # was a bare KeyError whose message was only the name asked for
    events, cases = cohort
    result = audit_cohort(events.iloc[:2000], cases, card, disclosure=False)
    with pytest.raises(ParameterError, match="no table 'false_alarm'.*false_alarms") as err:
        result["false_alarm"]
    assert isinstance(err.value, KeyError)  # a mapping's lookup error still
    assert str(err.value).startswith("the cohort audit has no table")  # not repr-quoted


def test_the_median_lead_time_by_deprivation_rests_on_the_children_it_is_of(card):
    # a median of 7 outcome children's lead times (of 13 with an outcome) was published
    # as resting on n_outcomes: one child's exact lead time
    events, cases = make_cohort(2000, random_state=0)  # the demo's cohort
    raw = audit_cohort(events, cases, card, disclosure=False)["by_deprivation"]
    pub = audit_cohort(events, cases, card)["by_deprivation"]
    # the count is of the outcome children with a lead time (they reached the band first)
    assert (raw["n_outcomes_reached_mad"] <= raw[["n_outcomes", "n_reached_mad"]].min(axis=1)).all()
    shown = pub["median_lead_mad_days"].notna().to_numpy()
    assert (raw["n_outcomes_reached_mad"].to_numpy()[shown] >= 10).all()
    # and the case that leaked is there to be caught: a row whose outcome children
    # are 10 or more but whose children with a lead time are fewer
    few = (raw["n_outcomes"] >= 10) & (raw["n_outcomes_reached_mad"].between(1, 9))
    assert few.any()
    assert pub.loc[few.to_numpy(), "median_lead_mad_days"].isna().all()


def test_one_hidden_agency_share_is_never_the_only_one(card):
    # the shares of contribution add up to 1: with one hidden, 1 minus the rest gave
    # it back (probation, about 0.02)
    events, cases = make_cohort(150, random_state=1)
    share = audit_cohort(events, cases, card)["agency_share"]["share_of_contribution"]
    raw = audit_cohort(events, cases, card, disclosure=False)["agency_share"]
    assert raw["share_of_contribution"].sum() == pytest.approx(1.0)
    hidden = share.isna()
    assert hidden.sum() != 1
    assert hidden.sum() >= 2  # this cohort has a hidden holder: the case that leaked


def test_a_case_whose_audit_ends_before_its_first_event_is_refused_by_name(card):
    # validate accepted it; audit_case returned an empty trajectory and the report
    # raised IndexError ("internal error" on the command line)
    events, cases = make_cohort(60, random_state=2)
    one = cases["case_id"].iloc[0]
    cases = cases.copy()
    first = events.loc[events["case_id"] == one, "date"].min()
    row = cases["case_id"] == one
    cases.loc[row, "outcome"] = "death"
    cases.loc[row, "outcome_date"] = first - pd.Timedelta(days=30)
    cases.loc[row, "followup_end"] = first - pd.Timedelta(days=30)
    with pytest.raises(SchemaError, match=r"before its first event.*Fix"):
        audit_case(events, cases, card, one)


def test_a_case_without_an_outcome_has_outcome_none_not_nan(card):
    # a missing outcome read from a table was NaN: reports said "Lead time to nan"
    events, cases = make_cohort(60, random_state=2)
    none = cases.loc[cases["outcome"].isna(), "case_id"].iloc[0]
    assert audit_case(events, cases.astype({"outcome": object}), card, none).outcome is None
