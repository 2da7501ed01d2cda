"""Point-in-time features against a deliberately simple reference implementation."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore import FEATURES, ParameterError, SchemaError
from riskscore.features import FeatureEncoder, as_of_grid, change_dates, encode_features
from riskscore.vocabulary import AGENCIES, RESPONSE_EVENTS, RISK_EVENTS

BASE = pd.Timestamp("2101-01-01")
WINDOW_EVENTS = {
    "parental_substance_use_12m": ("parent_substance_use", "parent_substance_treatment"),
    "school_concerns_12m": ("school_concern", "attainment_decline"),
    "asthma_admissions_12m": ("asthma_admission",),
    "asthma_ed_visits_12m": ("asthma_ed_visit",),
    "missed_appointments_12m": ("missed_appointment",),
    "police_incidents_home_12m": ("police_incident_home", "domestic_abuse_incident"),
    "hardship_12m": ("housing_poor", "economic_hardship"),
    "competing_care_12m": ("competing_care_demand",),
    "child_voice_concerns_12m": ("child_voice_concern",),
}
FLAGS_FROM_COUNTS = {"parental_substance_use_12m", "hardship_12m", "competing_care_12m"}


# ----------------------------------------------------------------- reference oracle


def reference_features(events: pd.DataFrame, case_id, t, recent=90) -> dict:
    """Straight from DESIGN.md, one case and one date at a time, no cleverness."""
    rows = []
    seen = set()
    for r in events.itertuples(index=False):
        if r.case_id != case_id or r.date > t:
            continue
        rec = getattr(r, "recorded_date", pd.NaT)
        key = (r.date, r.event, None if pd.isna(r.value) else r.value)
        if key in seen:
            continue
        # one happening recorded twice is known once either record exists
        same = [
            x
            for x in events.itertuples(index=False)
            if x.case_id == case_id
            and x.date == r.date
            and x.event == r.event
            and ((pd.isna(x.value) and pd.isna(r.value)) or x.value == r.value)
        ]
        known = min(
            (
                x.date
                if pd.isna(getattr(x, "recorded_date", pd.NaT))
                else max(x.recorded_date, x.date)
            )
            for x in same
        )
        del rec
        if known > t:
            continue
        seen.add(key)
        rows.append(r)

    def in_window(r, w):
        return t - pd.Timedelta(days=w) < r.date <= t

    def count(codes, w):
        return sum(1 for r in rows if r.event in codes and (w is None or in_window(r, w)))

    def mean(vals):
        return round(float(np.mean(vals)), 12) if vals else np.nan

    out = {}
    for f, codes in WINDOW_EVENTS.items():
        c = count(codes, 365)
        out[f] = float(c > 0) if f in FLAGS_FROM_COUNTS else float(c)
    att_recent = [r.value for r in rows if r.event == "attendance" and in_window(r, recent)]
    att_old = [
        r.value
        for r in rows
        if r.event == "attendance" and in_window(r, 365) and not in_window(r, recent)
    ]
    rec_mean, old_mean = mean(att_recent), mean(att_old)
    out["attendance_recent"] = rec_mean
    out["attendance_drop"] = old_mean - rec_mean
    out["persistent_absence"] = np.nan if np.isnan(rec_mean) else float(rec_mean <= 0.9)
    out["severe_absence"] = np.nan if np.isnan(rec_mean) else float(rec_mean <= 0.5)
    adm = count(("asthma_admission",), 365)
    ed = count(("asthma_ed_visit",), 365)
    out["asthma_admission_28d"] = float(count(("asthma_admission",), 28) > 0)
    out["no_asthma_plan_12m"] = float(adm + ed > 0 and count(("asthma_plan_review",), 365) == 0)
    out["reliever_overuse_12m"] = float(count(("reliever_prescription",), 365) > 12)
    out["siblings_removed"] = float(count(("sibling_removed",), None))
    pat = [
        (r.date, r.event == "paternal_involvement_restored")
        for r in rows
        if r.event in ("paternal_involvement_lost", "paternal_involvement_restored")
    ]
    out["paternal_involvement_lost"] = float(not max(pat)[1]) if pat else 0.0
    # catalogue v2: rows are already the known-by-T happenings, so a review entered
    # after T is not here and cannot count as follow-up yet
    reviews = [r.date for r in rows if r.event == "asthma_plan_review"]
    day = pd.Timedelta(days=1)
    out["asthma_admissions_no_followup_12m"] = float(
        sum(
            1
            for r in rows
            if r.event == "asthma_admission"
            and t - 365 * day < r.date <= t - 28 * day
            and not any(r.date < d <= r.date + 28 * day for d in reviews)
        )
    )
    relievers = count(("reliever_prescription",), 365)
    preventers = count(("preventer_prescription",), 365)
    out["preventer_underuse_12m"] = float(relievers > 0 and preventers < 4)
    out["cp_plans_ever"] = float(count(("cp_plan_start",), None))
    return out


# ----------------------------------------------------------------- strategies

EVENT_CODES = list(RISK_EVENTS) + list(RESPONSE_EVENTS)


@st.composite
def event_tables(draw, max_rows=40, with_recorded=True):
    n = draw(st.integers(0, max_rows))
    cases = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 900), min_size=n, max_size=n))
    # weight towards a few event kinds so windows fill up
    common = [
        "attendance",
        "asthma_admission",
        "asthma_plan_review",
        "reliever_prescription",
        "preventer_prescription",
        "paternal_involvement_lost",
        "cp_plan_start",
    ]
    events = draw(
        st.lists(
            st.one_of(st.sampled_from(common), st.sampled_from(EVENT_CODES)),
            min_size=n,
            max_size=n,
        )
    )
    agencies = draw(st.lists(st.sampled_from(AGENCIES[:4]), min_size=n, max_size=n))
    values = [
        draw(st.sampled_from([0.0, 0.5, 0.5, 0.9, 0.9, 0.95, 1.0, 0.3]))
        if e == "attendance"
        else np.nan
        for e in events
    ]
    delays = [
        draw(st.one_of(st.none(), st.integers(0, 400))) if with_recorded else None for _ in range(n)
    ]
    df = pd.DataFrame(
        {
            "case_id": cases,
            "date": [BASE + pd.Timedelta(days=d) for d in days],
            "agency": agencies,
            "event": events,
            "value": pd.Series(values, dtype="float64"),
            "recorded_date": [
                pd.NaT if dl is None else BASE + pd.Timedelta(days=d + dl)
                for d, dl in zip(days, delays, strict=True)
            ],
        }
    )
    df["date"] = pd.to_datetime(df["date"])
    df["recorded_date"] = pd.to_datetime(df["recorded_date"])
    return df


@st.composite
def queries(draw, max_rows=12):
    n = draw(st.integers(1, max_rows))
    cases = draw(st.lists(st.sampled_from(["a", "b", "c", "zz"]), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(-10, 1400), min_size=n, max_size=n))
    return pd.DataFrame({"case_id": cases, "as_of": [BASE + pd.Timedelta(days=d) for d in days]})


def assert_frames_match(got: pd.DataFrame, want: pd.DataFrame):
    assert list(got.columns) == list(want.columns)
    for col in FEATURES:
        a, b = got[col].to_numpy(), want[col].to_numpy()
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, equal_nan=True, err_msg=col)


def oracle_frame(events, q, agency=None, recent=90):
    ev = events if agency is None else events[events["agency"] == agency]
    rows = [reference_features(ev, r.case_id, r.as_of, recent) for r in q.itertuples()]
    out = pd.DataFrame(rows, columns=list(FEATURES), dtype="float64")
    out.insert(0, "as_of", pd.to_datetime(q["as_of"]).to_numpy())
    out.insert(0, "case_id", q["case_id"].to_numpy())
    return out


# ----------------------------------------------------------------- properties


@given(event_tables(), queries())
def test_equals_reference_implementation(events, q):
    assert_frames_match(encode_features(events, q), oracle_frame(events, q))


EDGE_OFFSETS = [0, 1, 27, 28, 29, 89, 90, 91, 364, 365, 366]


@given(event_tables(), st.data())
def test_equals_reference_at_window_edges(events, data):
    """As-of dates placed exactly on, just inside and just outside every window edge."""
    if len(events) == 0:
        return
    n = data.draw(st.integers(1, 10))
    picks = data.draw(st.lists(st.integers(0, len(events) - 1), min_size=n, max_size=n))
    offs = data.draw(st.lists(st.sampled_from(EDGE_OFFSETS), min_size=n, max_size=n))
    rows = events.iloc[picks]
    anchor = rows["date"].where(
        ~data.draw(st.booleans()) | rows["recorded_date"].isna(), rows["recorded_date"]
    )
    q = pd.DataFrame(
        {
            "case_id": rows["case_id"].to_numpy(),
            "as_of": (anchor + pd.to_timedelta(offs, unit="D")).to_numpy(),
        }
    )
    assert_frames_match(encode_features(events, q), oracle_frame(events, q))


@given(event_tables(with_recorded=False), queries(), st.sampled_from([30, 90, 180]))
def test_equals_reference_with_other_recent_windows(events, q, recent):
    got = encode_features(events, q, recent_window=recent)
    assert_frames_match(got, oracle_frame(events, q, recent=recent))


@given(event_tables(), queries(), st.data())
def test_events_after_t_change_nothing(events, q, data):
    """Adding any event dated, or recorded, after T changes nothing at T."""
    t = q["as_of"].min()
    q1 = q.assign(as_of=t)
    n = data.draw(st.integers(1, 5))
    extra = pd.DataFrame(
        {
            "case_id": data.draw(
                st.lists(st.sampled_from(["a", "b", "zz"]), min_size=n, max_size=n)
            ),
            "date": [
                t + pd.Timedelta(days=d)
                for d in data.draw(st.lists(st.integers(-400, 400), min_size=n, max_size=n))
            ],
            "agency": "school",
            "event": data.draw(st.lists(st.sampled_from(EVENT_CODES), min_size=n, max_size=n)),
        }
    )
    extra["value"] = np.where(extra["event"] == "attendance", 0.2, np.nan)
    # dated after T, or dated on/before T but recorded after it
    late = extra["date"] > t
    extra["recorded_date"] = np.where(late, pd.NaT, t + pd.Timedelta(days=1))
    extra["recorded_date"] = pd.to_datetime(extra["recorded_date"])
    both = pd.concat([events, extra], ignore_index=True)
    assert_frames_match(encode_features(both, q1), encode_features(events, q1))


@given(event_tables(), queries(), st.randoms(use_true_random=False))
def test_row_order_changes_nothing(events, q, rnd):
    idx = list(range(len(events)))
    rnd.shuffle(idx)
    shuffled = events.iloc[idx].reset_index(drop=True)
    # exactly: attendance values are summed as integers, so the order of additions
    # cannot move a mean by a rounding step
    pd.testing.assert_frame_equal(
        encode_features(shuffled, q), encode_features(events, q), check_exact=True
    )


@given(event_tables(), queries(), st.data())
def test_duplicating_a_row_changes_nothing(events, q, data):
    if len(events) == 0:
        return
    i = data.draw(st.integers(0, len(events) - 1))
    dup = pd.concat([events, events.iloc[[i]]], ignore_index=True)
    assert_frames_match(encode_features(dup, q), encode_features(events, q))


@given(event_tables(), queries(), st.sampled_from(AGENCIES[:4]))
def test_agency_view_equals_encoding_that_agency_alone(events, q, agency):
    alone = events[events["agency"] == agency].reset_index(drop=True)
    assert_frames_match(encode_features(events, q, agency=agency), encode_features(alone, q))
    assert_frames_match(encode_features(events, q, agency=agency), oracle_frame(events, q, agency))


@st.composite
def followup_tables(draw):
    """Admissions with plan reviews placed around their 28-day follow-up window.

    Random tables rarely put a review within 28 days after an admission; these do,
    on and either side of every edge, some entered late (``recorded_date``).
    """
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        case = draw(st.sampled_from(["a", "b"]))
        d = draw(st.integers(0, 500))
        rows.append((case, d, "hospital", "asthma_admission", draw(st.none() | st.integers(0, 60))))
        offsets = draw(st.lists(st.sampled_from([-1, 0, 1, 2, 27, 28, 29, 40]), max_size=3))
        for off in offsets:
            who = draw(st.sampled_from(["gp", "hospital"]))
            late = draw(st.none() | st.integers(0, 400))
            rows.append((case, d + off, who, "asthma_plan_review", late))
    df = pd.DataFrame(rows, columns=["case_id", "day", "agency", "event", "late"])
    df["date"] = BASE + pd.to_timedelta(df["day"], unit="D")
    df["recorded_date"] = df["date"] + pd.to_timedelta(df["late"], unit="D")
    df["value"] = np.nan
    return df[["case_id", "date", "agency", "event", "value", "recorded_date"]]


def _followup_queries(events: pd.DataFrame) -> pd.DataFrame:
    """As-of dates on and either side of every edge of the follow-up feature."""
    adm = events[events["event"] == "asthma_admission"]
    rev = events[events["event"] == "asthma_plan_review"]
    known = rev["recorded_date"].fillna(rev["date"])
    parts = [
        pd.DataFrame({"case_id": adm["case_id"], "as_of": adm["date"] + pd.Timedelta(days=k)})
        for k in (0, 27, 28, 29, 364, 365, 366)
    ]
    parts += [
        pd.DataFrame({"case_id": rev["case_id"], "as_of": known + pd.Timedelta(days=k)})
        for k in (-1, 0, 1)
    ]
    return pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)


@settings(max_examples=30)  # the oracle is quadratic; 30 tables of edges are plenty
@given(followup_tables())
def test_followup_feature_equals_reference_on_every_edge(events):
    q = _followup_queries(events)
    assert_frames_match(encode_features(events, q), oracle_frame(events, q))
    for agency in ("gp", "hospital"):
        assert_frames_match(
            encode_features(events, q, agency=agency), oracle_frame(events, q, agency)
        )


@settings(max_examples=30)
@given(followup_tables())
def test_followup_feature_sees_nothing_after_t(events):
    """Point in time: dropping every record not known by T (a review entered late
    included) changes nothing at T."""
    from riskscore.training import check_point_in_time

    check_point_in_time(encode_features, events, _followup_queries(events), max_dates=6)


@given(followup_tables())
def test_followup_feature_changes_only_on_change_dates(events):

    for cid in events["case_id"].unique():
        ev = events[events["case_id"] == cid]
        days = pd.date_range(ev["date"].min() - pd.Timedelta(days=1), periods=1000, freq="D")
        x = encode_features(ev, pd.DataFrame({"case_id": cid, "as_of": days}))
        x = x["asthma_admissions_no_followup_12m"].to_numpy()
        changed_on = set(days[1:][x[1:] != x[:-1]])
        assert changed_on <= set(change_dates(ev)["as_of"])


# ----------------------------------------------------------------- edges and contract


def test_first_eighteen_features_keep_their_names_and_order():
    """Catalogue v2 only appends: v1 models and files read these 18 columns by name."""
    from riskscore.vocabulary import FEATURES_V1

    v1 = [
        "parental_substance_use_12m",
        "attendance_recent",
        "attendance_drop",
        "persistent_absence",
        "severe_absence",
        "school_concerns_12m",
        "asthma_admissions_12m",
        "asthma_ed_visits_12m",
        "asthma_admission_28d",
        "no_asthma_plan_12m",
        "reliever_overuse_12m",
        "missed_appointments_12m",
        "paternal_involvement_lost",
        "siblings_removed",
        "police_incidents_home_12m",
        "hardship_12m",
        "competing_care_12m",
        "child_voice_concerns_12m",
    ]
    assert list(FEATURES_V1) == v1
    assert list(FEATURES) == [
        *v1,
        "asthma_admissions_no_followup_12m",
        "preventer_underuse_12m",
        "cp_plans_ever",
    ]


def test_followup_counts_admissions_by_hand():
    """Three admissions: one followed up in time, one too late, one followed up late-entered."""
    ev = _ev(
        [
            ("a", "2101-01-01", "hospital", "asthma_admission", np.nan),
            ("a", "2101-01-29", "gp", "asthma_plan_review", np.nan),  # day 28: in time
            ("a", "2101-03-01", "hospital", "asthma_admission", np.nan),
            ("a", "2101-03-30", "gp", "asthma_plan_review", np.nan),  # day 29: too late
            ("a", "2101-05-01", "hospital", "asthma_admission", np.nan),
            ("a", "2101-05-02", "gp", "asthma_plan_review", np.nan),  # entered 2101-07-01
        ]
    )
    ev["recorded_date"] = pd.to_datetime([None, None, None, None, None, "2101-07-01"])
    dates = ["2101-01-28", "2101-03-28", "2101-03-29", "2101-05-29", "2101-06-30", "2101-07-01"]
    q = pd.DataFrame({"case_id": "a", "as_of": pd.to_datetime([*dates, "2102-03-01"])})
    got = encode_features(ev, q)["asthma_admissions_no_followup_12m"].tolist()
    # 03-29 is 28 days after 03-01: that admission starts counting; the first never does;
    # the third counts from 05-29 until its review is entered on 07-01; 2102-03-01 is
    # 365 days after 2101-03-01, so the second has left the window
    assert got == [0.0, 0.0, 1.0, 2.0, 2.0, 1.0, 0.0]


def test_preventer_underuse_by_hand():
    rows = [("a", "2101-01-10", "gp", "reliever_prescription", np.nan)]
    rows += [("a", f"2101-0{m}-01", "gp", "preventer_prescription", np.nan) for m in (2, 3, 4, 5)]
    rows += [("b", "2101-02-01", "gp", "preventer_prescription", np.nan)]
    ev = _ev(rows)
    q = pd.DataFrame(
        {
            "case_id": ["a", "a", "a", "b"],
            "as_of": pd.to_datetime(["2101-04-01", "2101-05-01", "2102-02-01", "2101-06-01"]),
        }
    )
    # a: 3 preventers by 04-01 (under-use), 4 by 05-01 (not), and by 2102-02-01 the
    # reliever has left the year (nothing to under-use against); b: no reliever
    assert encode_features(ev, q)["preventer_underuse_12m"].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_cp_plans_ever_counts_plans_known_by_t_never_forgets():
    ev = _ev(
        [
            ("a", "2101-01-01", "social_care", "cp_plan_start", np.nan),
            ("a", "2101-06-01", "social_care", "cp_plan_end", np.nan),
            ("a", "2103-01-01", "social_care", "cp_plan_start", np.nan),
        ]
    )
    ev["recorded_date"] = pd.to_datetime([None, None, "2103-02-01"])
    dates = ["2100-12-31", "2102-12-31", "2103-01-31", "2103-02-01"]
    q = pd.DataFrame({"case_id": "a", "as_of": pd.to_datetime(dates)})
    # the second plan is dated 2103-01-01 but known only from 2103-02-01
    assert encode_features(ev, q)["cp_plans_ever"].tolist() == [0.0, 1.0, 1.0, 2.0]


@pytest.mark.parametrize("name", list(FEATURES))
def test_raised_by_lists_exactly_the_events_that_move_a_feature_towards_concern(name):
    """The metadata agency_reach relies on, checked against the encoder itself.

    Each event of the feature alone, many times over the last year (attendance: high
    earlier in the year, low recently), moves the feature towards concern from its
    value with no events if and only if the event is in ``raised_by``.
    """
    spec = FEATURES[name]
    t = pd.Timestamp("2102-01-01")
    q = pd.DataFrame({"case_id": ["a"], "as_of": [t]})
    empty = encode_features(_ev([("zz", "2101-01-01", "gp", "cp_plan_end", np.nan)]), q)
    base = empty[name].iloc[0]
    for event in spec.events:
        days = range(0, 360, 10)
        rows = [
            (
                "a",
                t - pd.Timedelta(days=d),
                "gp",
                event,
                (0.0 if d <= 60 else 1.0) if event == "attendance" else np.nan,
            )
            for d in days
        ]
        value = encode_features(_ev(rows), q)[name].iloc[0]
        if np.isnan(base):
            moved = not np.isnan(value) and (
                spec.direction * value > 0 or (spec.direction == -1 and value < 1)
            )
        else:
            moved = spec.direction * (value - base) > 0
        assert moved == (event in spec.raised_by), (name, event, base, value)


def _ev(rows):
    df = pd.DataFrame(rows, columns=["case_id", "date", "agency", "event", "value"])
    df["date"] = pd.to_datetime(df["date"])
    return df


def test_window_edges_are_open_below_closed_above():
    ev = _ev([("a", "2101-01-01", "hospital", "asthma_admission", np.nan)])
    q = pd.DataFrame(
        {
            "case_id": ["a"] * 4,
            "as_of": pd.to_datetime(["2100-12-31", "2101-01-01", "2101-12-31", "2102-01-01"]),
        }
    )
    got = encode_features(ev, q)["asthma_admissions_12m"].tolist()
    # 2101-12-31 is day 364 after the event: inside; 2102-01-01 is day 365: T-365 < date fails
    assert got == [0.0, 1.0, 1.0, 0.0]


def test_missing_attendance_is_missing_not_zero():
    ev = _ev([("a", "2101-01-01", "police", "police_incident_home", np.nan)])
    q = pd.DataFrame({"case_id": ["a"], "as_of": pd.to_datetime(["2101-02-01"])})
    row = encode_features(ev, q).iloc[0]
    for f in ("attendance_recent", "attendance_drop", "persistent_absence", "severe_absence"):
        assert np.isnan(row[f]), f


def test_mean_exactly_on_persistent_absence_line_counts():
    # 0.8 leaves the recent window; 0.9 + 0.9 stays; summation order must not push 0.9 over
    ev = _ev(
        [
            ("a", "2101-01-01", "school", "attendance", 0.8),
            ("a", "2101-05-01", "school", "attendance", 0.9),
            ("a", "2101-05-15", "school", "attendance", 0.9),
        ]
    )
    q = pd.DataFrame({"case_id": ["a"], "as_of": pd.to_datetime(["2101-06-01"])})
    row = encode_features(ev, q).iloc[0]
    assert row["attendance_recent"] == 0.9
    assert row["persistent_absence"] == 1.0


def test_restoration_wins_on_the_same_day():
    ev = _ev(
        [
            ("a", "2101-01-01", "police", "paternal_involvement_lost", np.nan),
            ("a", "2101-03-01", "police", "paternal_involvement_lost", np.nan),
            ("a", "2101-03-01", "police", "paternal_involvement_restored", np.nan),
        ]
    )
    q = pd.DataFrame({"case_id": ["a", "a"], "as_of": pd.to_datetime(["2101-02-01", "2101-03-01"])})
    assert encode_features(ev, q)["paternal_involvement_lost"].tolist() == [1.0, 0.0]


def test_output_contract_columns_dtypes_order():
    ev = _ev([("b", "2101-01-01", "hospital", "asthma_admission", np.nan)])
    q = pd.DataFrame(
        {
            "case_id": ["b", "unknown", "b"],
            "as_of": pd.to_datetime(["2101-03-01", "2101-03-01", "2100-01-01"]),
        }
    )
    out = encode_features(ev, q)
    assert list(out.columns) == ["case_id", "as_of", *FEATURES]
    assert out["case_id"].tolist() == ["b", "unknown", "b"]
    assert all(out[f].dtype == np.float64 for f in FEATURES)
    assert out["asthma_admissions_12m"].tolist() == [1.0, 0.0, 0.0]


def test_missing_columns_are_named():
    with pytest.raises(SchemaError, match="event"):
        encode_features(
            pd.DataFrame({"case_id": ["a"], "date": ["2101-01-01"], "agency": ["gp"]}),
            pd.DataFrame({"case_id": ["a"], "as_of": ["2101-01-01"]}),
        )


def test_unknown_agency_view_is_refused():
    ev = _ev([("a", "2101-01-01", "hospital", "asthma_admission", np.nan)])
    q = pd.DataFrame({"case_id": ["a"], "as_of": pd.to_datetime(["2101-03-01"])})
    with pytest.raises(ParameterError, match="agency"):
        encode_features(ev, q, agency="hospitl")


def test_missing_event_date_names_rows():
    ev = _ev(
        [
            ("a", "2101-01-01", "gp", "missed_appointment", np.nan),
            ("a", None, "gp", "missed_appointment", np.nan),
        ]
    )
    q = pd.DataFrame({"case_id": ["a"], "as_of": pd.to_datetime(["2101-03-01"])})
    # validate_events's own message, naming the row
    with pytest.raises(SchemaError, match=r"events\.date: date is missing; row 1"):
        encode_features(ev, q)


@pytest.mark.parametrize("categorical", [False, True])
@pytest.mark.parametrize("column", ["case_id", "as_of"])
def test_a_pair_without_child_or_date_is_refused_by_row(column, categorical):
    # a pair with no case_id used to get the features of a child with no events
    # (zeros), as if the child had been looked at
    ev = _ev([("a", "2101-01-01", "gp", "missed_appointment", np.nan)])
    q = pd.DataFrame({"case_id": ["a", "a", "a"], "as_of": pd.to_datetime(["2101-03-01"] * 3)})
    if categorical:  # the events' own categories: the encoder's shortcut path
        q["case_id"] = pd.Categorical(q["case_id"], categories=["a"])
    q.loc[2, column] = None
    with pytest.raises(SchemaError, match=rf"as_of: column '{column}' is missing at rows \[2\]"):
        encode_features(ev, q)


def test_a_pair_table_with_numbers_for_dates_or_doubled_columns_is_refused():
    ev = _ev([("a", "2101-01-01", "gp", "missed_appointment", np.nan)])
    q = pd.DataFrame({"case_id": ["a", "a"], "as_of": [21010301.0, 3.5]})
    with pytest.raises(SchemaError, match=r"as_of\.as_of: values at rows \[0, 1\]"):
        encode_features(ev, q)
    doubled = pd.DataFrame(
        [["a", pd.Timestamp("2101-03-01"), "a"]], columns=["case_id", "as_of", "case_id"]
    )
    with pytest.raises(SchemaError, match=r"as_of: column 'case_id' appears 2 times"):
        encode_features(ev, doubled)


@pytest.mark.parametrize("blank", ["", "   ", "\u00a0"])
def test_a_pair_whose_case_id_is_blank_text_is_refused_by_row(blank):
    ev = _ev([("a", "2101-01-01", "gp", "missed_appointment", np.nan)])
    q = pd.DataFrame({"case_id": ["a", blank], "as_of": pd.to_datetime(["2101-03-01"] * 2)})
    with pytest.raises(SchemaError, match=r"as_of: column 'case_id' is missing at rows \[1\]"):
        encode_features(ev, q)


def test_query_ids_in_the_events_categories_encode_as_text_ids_do():
    from riskscore import make_cohort

    events, _ = make_cohort(40, random_state=3)
    text = as_of_grid(events, "60D")
    text["case_id"] = text["case_id"].astype(str)
    cats = events["case_id"].cat.categories
    # a categorical over exactly the events' cases takes the encoder's shortcut
    same = text.assign(case_id=pd.Categorical(text["case_id"], categories=cats))
    assert same["case_id"].cat.categories.equals(cats)
    a, b = encode_features(events, text), encode_features(events, same)
    pd.testing.assert_frame_equal(a.drop(columns="case_id"), b.drop(columns="case_id"))
    assert (a["case_id"].astype(str) == b["case_id"].astype(str)).all()


def test_grid_spans_first_event_to_end_and_stops_at_outcome():
    ev = _ev(
        [
            ("a", "2101-01-01", "gp", "missed_appointment", np.nan),
            ("a", "2101-12-01", "gp", "missed_appointment", np.nan),
            ("b", "2101-02-01", "gp", "missed_appointment", np.nan),
        ]
    )
    cases = pd.DataFrame(
        {
            "case_id": ["a", "b"],
            "outcome": ["serious_harm", None],
            "outcome_date": pd.to_datetime(["2101-03-15", None]),
            "followup_end": pd.to_datetime(["2102-01-01", "2101-04-01"]),
        }
    )
    g = as_of_grid(ev, "30D", cases=cases)
    a = g[g["case_id"] == "a"]["as_of"]
    b = g[g["case_id"] == "b"]["as_of"]
    assert a.min() == pd.Timestamp("2101-01-01") and a.max() <= pd.Timestamp("2101-03-15")
    assert b.min() == pd.Timestamp("2101-02-01") and b.max() <= pd.Timestamp("2101-04-01")
    assert (np.diff(a.to_numpy()).astype("timedelta64[D]").astype(int) == 30).all()


def test_feature_encoder_in_a_pipeline_returns_selected_features():
    ev = _ev([("a", "2101-01-01", "hospital", "asthma_admission", np.nan)])
    q = pd.DataFrame({"case_id": ["a"], "as_of": pd.to_datetime(["2101-01-05"])}, index=[7])
    enc = FeatureEncoder(ev, features=["asthma_admission_28d"]).fit(q)
    out = enc.transform(q)
    assert list(out.columns) == ["asthma_admission_28d"] and out.index.tolist() == [7]
    assert out.iloc[0, 0] == 1.0


@given(event_tables(max_rows=25), st.sampled_from([30, 90]))
def test_features_change_only_on_change_dates(events, recent):
    """Between two change dates every feature is constant: crossings found on them are exact."""
    from riskscore.features import change_dates

    if len(events) == 0:
        return
    for cid in events["case_id"].unique():
        ev = events[events["case_id"] == cid]
        days = pd.date_range(ev["date"].min() - pd.Timedelta(days=1), periods=1300, freq="D")
        q = pd.DataFrame({"case_id": cid, "as_of": days})
        x = encode_features(ev, q, recent_window=recent)[list(FEATURES)].to_numpy()
        same = ((x[1:] == x[:-1]) | (np.isnan(x[1:]) & np.isnan(x[:-1]))).all(axis=1)
        changed_on = set(days[1:][~same])
        allowed = set(change_dates(ev, recent_window=recent)["as_of"])
        assert changed_on <= allowed


@settings(max_examples=60, deadline=None)
@given(event_tables(max_rows=40), st.sampled_from([30, 90]))
def test_change_dates_by_agency_are_each_agency_views_change_dates(events, recent):
    """by_agency=True: one agency's rows are the change dates of its events alone, and
    the distinct (case, date) pairs over all agencies are the joined change dates."""
    from riskscore.features import _AGENCY_BITS, change_dates

    assert len(AGENCIES) <= 2**_AGENCY_BITS  # the agency fits the key's low bits
    both = change_dates(events, recent_window=recent, by_agency=True)
    assert list(both.columns) == ["case_id", "as_of", "agency"]
    assert not both.duplicated().any()
    pairs = both[["case_id", "as_of"]].drop_duplicates().reset_index(drop=True)
    joined = change_dates(events, recent_window=recent)
    assert pairs.astype(str).values.tolist() == joined.astype(str).values.tolist()
    for a in AGENCIES:
        mine = both.loc[both["agency"] == a, ["case_id", "as_of"]].astype(str)
        own = events[events["agency"] == a]
        alone = change_dates(own, recent_window=recent).astype(str) if len(own) else mine[:0]
        assert mine.values.tolist() == alone.values.tolist(), a


@settings(max_examples=40, deadline=None)
@given(
    event_tables(max_rows=60),
    queries(max_rows=20),
    st.integers(1, 4),
    st.integers(1, 40),
    st.sampled_from([None, "school", "hospital"]),
)
def test_threads_and_blocks_give_the_single_threaded_answer(events, q, jobs, chunk, agency):
    """Blocks of cases encoded on several threads, written into one table: same values."""
    import riskscore.features as features

    one = encode_features(events, q, agency, n_jobs=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(features, "_PARALLEL_EVENTS", 0)  # threads even for a few events
        mp.setattr(features, "_CHUNK_EVENTS", chunk)  # and many small blocks
        many = encode_features(events, q, agency, n_jobs=jobs)
        small = encode_features(events, q, agency, n_jobs=jobs, dtype="float32")
    pd.testing.assert_frame_equal(many, one, check_exact=True)
    assert (small[list(FEATURES)].dtypes == np.float32).all()
    pd.testing.assert_frame_equal(small, one.astype(dict.fromkeys(FEATURES, np.float32)))


@settings(max_examples=40, deadline=None)
@given(event_tables(max_rows=60), queries(max_rows=20), st.sampled_from([None, "school"]))
def test_sort_without_packed_codes_gives_the_same_answer(events, q, agency):
    """Points whose code and event do not fit below the key are sorted by argsort."""
    import riskscore.features as features

    packed = encode_features(events, q, agency)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(features, "_KEY_BITS", 0)  # no key has room for them
        plain = encode_features(events, q, agency)
    pd.testing.assert_frame_equal(plain, packed, check_exact=True)


def test_attendance_sums_are_exact_on_a_long_record():
    """Ten thousand attendance values: the mean is the exact mean, to 12 decimals."""
    rng = np.random.default_rng(3)
    n = 10_000
    values = rng.uniform(0, 1, n)  # distinct: none is a duplicate of another
    dates = pd.Timestamp("2101-01-01") + pd.to_timedelta(np.arange(n) % 80, unit="D")
    ev = pd.DataFrame(
        {"case_id": "c1", "agency": "school", "event": "attendance", "date": dates, "value": values}
    )
    q = pd.DataFrame({"case_id": ["c1"], "as_of": [pd.Timestamp("2101-03-21")]})
    got = encode_features(ev, q)["attendance_recent"].iloc[0]
    from fractions import Fraction

    exact = sum(Fraction(v) for v in values) / n
    assert abs(got - float(exact)) < 1e-12


@pytest.mark.parametrize("n", [255, 256, 257])
def test_counts_at_the_edge_of_a_one_byte_lane(n):
    """A case with 256 events in a count no longer fits a byte: its lane widens exactly there."""
    start = pd.Timestamp("2101-01-01")
    ev = pd.DataFrame(
        {
            "case_id": ["busy"] * n + ["calm"],
            "agency": "gp",
            "event": "missed_appointment",
            "date": [*(start + pd.to_timedelta(np.arange(n), unit="D")), start],
        }
    )
    q = pd.DataFrame({"case_id": ["calm", "busy"], "as_of": [start + pd.Timedelta(days=n)] * 2})
    got = encode_features(ev, q)["missed_appointments_12m"].tolist()
    assert got == [1.0, float(min(n, 365))]


def test_counts_past_a_byte_and_two_bytes_per_case():
    """Counts share uint64 words in lanes sized by the busiest case: wide lanes too."""
    rng = np.random.default_rng(7)
    n_att = 70_000  # past 2**16: a four-byte lane; distinct values are distinct happenings
    start = pd.Timestamp("2101-01-01")
    busy = pd.DataFrame(
        {
            "case_id": "busy",
            "agency": "school",
            "event": "attendance",
            "date": start + pd.to_timedelta(np.arange(n_att) % 30, unit="D"),
            "value": rng.uniform(0, 1, n_att),
        }
    )
    missed = pd.DataFrame(  # 300 on distinct days: past 2**8, a two-byte lane
        {
            "case_id": "busy",
            "agency": "gp",
            "event": "missed_appointment",
            "date": start + pd.to_timedelta(np.arange(300), unit="D"),
        }
    )
    calm = pd.DataFrame(
        {
            "case_id": "calm",
            "agency": "gp",
            "event": ["missed_appointment", "asthma_admission"],
            "date": [start, start + pd.Timedelta(days=5)],
        }
    )
    ev = pd.concat([busy, missed, calm], ignore_index=True)
    q = pd.DataFrame(
        {
            "case_id": ["busy", "calm", "busy"],
            "as_of": [start + pd.Timedelta(days=d) for d in (310, 310, 420)],
        }
    )
    got = encode_features(ev, q)
    assert got["missed_appointments_12m"].tolist() == [300.0, 1.0, 300.0 - 56.0]
    assert got["asthma_admissions_12m"].tolist() == [0.0, 1.0, 0.0]
    assert np.isnan(got["attendance_recent"].iloc[0])  # all older than 90 days
    from fractions import Fraction

    exact = float(sum(Fraction(v) for v in busy["value"]) / n_att)
    assert got["attendance_drop"].iloc[0] == pytest.approx(np.nan, nan_ok=True)
    late = encode_features(ev, q.assign(as_of=start + pd.Timedelta(days=40)))
    assert abs(late["attendance_recent"].iloc[0] - exact) < 1e-12
    assert late["missed_appointments_12m"].tolist() == [41.0, 1.0, 41.0]


@pytest.mark.parametrize("categorical", [False, True])
def test_write_features_writes_what_encode_features_returns(tmp_path, monkeypatch, categorical):
    import riskscore.features as features
    from riskscore.features import write_features
    from riskscore.synthetic import make_cohort

    events, cases = make_cohort(40, random_state=5)
    q = as_of_grid(events, "30D", cases=cases)
    if categorical:  # a grid over the events' own categorical ids, as benchmarks build
        q["case_id"] = pd.Categorical(q["case_id"], categories=events["case_id"].cat.categories)
    want = encode_features(events, q, "hospital")
    monkeypatch.setattr(features, "_CHUNK_EVENTS", 200)  # many row groups
    monkeypatch.setattr(features, "_PARALLEL_EVENTS", 0)
    path = write_features(events, q, tmp_path / "x.parquet", "hospital", n_jobs=2)
    got = pd.read_parquet(path)
    assert got["case_id"].astype(str).tolist() == want["case_id"].astype(str).tolist()
    pd.testing.assert_frame_equal(got.drop(columns="case_id"), want.drop(columns="case_id"))
    small = pd.read_parquet(write_features(events, q, tmp_path / "y.parquet", dtype="float32"))
    assert (small[list(FEATURES)].dtypes == np.float32).all()


def test_n_jobs_and_dtype_are_checked():
    ev = pd.DataFrame(
        {
            "case_id": ["c1"],
            "agency": ["police"],
            "event": ["police_incident_home"],
            "date": pd.to_datetime(["2101-01-10"]),
        }
    )
    q = pd.DataFrame({"case_id": ["c1"], "as_of": pd.to_datetime(["2101-02-01"])})
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ParameterError, match="n_jobs"):
            encode_features(ev, q, n_jobs=bad)
    with pytest.raises(ParameterError, match="dtype"):
        encode_features(ev, q, dtype="int8")
    assert (
        encode_features(ev, q, n_jobs=-1, dtype=np.float32)["police_incidents_home_12m"].dtype
        == np.float32
    )


@pytest.mark.parametrize("shuffle", [False, True])
def test_block_by_block_encoding_equals_one_pass(monkeypatch, shuffle):
    """Large extracts are encoded a block of cases at a time; the answer must not change."""
    import riskscore.features as features
    from riskscore.synthetic import make_cohort

    events, cases = make_cohort(60, random_state=4)
    if shuffle:
        events = events.sample(frac=1.0, random_state=1).reset_index(drop=True)
    q = as_of_grid(events, "45D", cases=cases)
    extra = pd.DataFrame({"case_id": ["nobody"], "as_of": pd.to_datetime(["2102-01-01"])})
    q = pd.concat([q, extra], ignore_index=True).sample(frac=1.0, random_state=2)
    q = q.reset_index(drop=True)
    whole = encode_features(events, q)
    monkeypatch.setattr(features, "_CHUNK_EVENTS", 300)
    blocks = encode_features(events, q)
    pd.testing.assert_frame_equal(blocks, whole, check_exact=True)
    school = encode_features(events, q, agency="school")
    monkeypatch.setattr(features, "_CHUNK_EVENTS", 10**9)
    pd.testing.assert_frame_equal(school, encode_features(events, q, agency="school"))


@pytest.mark.parametrize("setting, applied", [("", True), ("keep", False), (" KEEP ", False)])
def test_malloc_thresholds_are_settled_once_unless_kept(setting, applied):
    """The encoder fixes glibc's malloc thresholds before its first threaded run;
    RISKSCORE_MALLOC=keep leaves them alone (checked in a fresh process)."""
    import platform
    import subprocess
    import sys

    code = (
        "import riskscore._parallel as p; a = p.settle_malloc(); b = p.settle_malloc(); print(a, b)"
    )
    env = {**os.environ, "RISKSCORE_MALLOC": setting}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert out == [str(applied and glibc)] * 2


@pytest.mark.parametrize("failing", [0, 1, 5])
def test_a_failing_block_stops_the_threads_and_is_raised(monkeypatch, failing):
    """Whichever thread encodes the failing block, its error reaches the caller."""
    import threading

    import riskscore.features as features
    from riskscore.synthetic import make_cohort

    events, cases = make_cohort(60, random_state=2)
    q = as_of_grid(events, "60D", cases=cases)
    monkeypatch.setattr(features, "_PARALLEL_EVENTS", 0)
    monkeypatch.setattr(features, "_CHUNK_EVENTS", 200)
    real, lock, seen = features._encode_block, threading.Lock(), []

    def flaky(*args, **kwargs):
        with lock:
            seen.append(1)
            n = len(seen) - 1
        if n == failing:
            raise SchemaError(f"block {n} broke")
        return real(*args, **kwargs)

    monkeypatch.setattr(features, "_encode_block", flaky)
    with pytest.raises(SchemaError, match=f"block {failing} broke"):
        encode_features(events, q, n_jobs=3)


@given(
    st.lists(st.integers(0, 127), max_size=50),
    st.lists(st.integers(0, 300), max_size=8),
    st.sampled_from([np.int8, np.int16, np.int32]),
)
def test_block_bounds_are_found_whatever_the_codes_type(codes, bounds, dtype):
    """Block bounds past the codes' own integer type (128 cases in int8) still land."""
    from riskscore.features import _places

    codes = np.sort(np.array(codes, dtype=np.int64)).astype(dtype)
    bounds = np.sort(np.array(bounds, dtype=np.int64))
    np.testing.assert_array_equal(
        _places(codes, bounds), np.searchsorted(codes.astype(np.int64), bounds)
    )


def test_change_dates_near_the_last_day_riskscore_holds_do_not_wrap():
    # an event on 2262-01-01 leaves its 12-month window after 2262-04-11, the last
    # day a date can be: that exit is never an as-of date (the dates came back in 1677)
    ev = pd.DataFrame(
        {
            "case_id": ["a", "a"],
            "agency": "hospital",
            "event": "asthma_admission",
            "date": pd.to_datetime(["2262-01-01", "2262-04-11"]),
        }
    )
    got = change_dates(ev)["as_of"]
    assert got.is_monotonic_increasing
    assert got.min() == pd.Timestamp("2262-01-01")
    assert got.max() == pd.Timestamp("2262-04-11")
    # 2262-01-29: the first admission's 28 days end; nothing later is representable
    assert got.dt.strftime("%Y-%m-%d").tolist() == ["2262-01-01", "2262-01-29", "2262-04-11"]
    by = change_dates(ev, by_agency=True)
    assert by["as_of"].max() == pd.Timestamp("2262-04-11")


# Query ids read run by run (a grid lists each case's dates together): the codes,
# and the rows named when an id is missing, are those of reading every row.
_ID_VALUES = st.sampled_from(["c1", "c2", " c2", "c3", "7", 7, 7.0, None, np.nan, "", "zz"])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(_ID_VALUES, st.integers(1, 6)), min_size=1, max_size=25),
    st.sampled_from(["object", "str"]),
)
def test_query_ids_read_in_runs_give_the_codes_of_every_row(runs, kind):
    from riskscore import features

    values = [v for v, n in runs for _ in range(n)]
    if kind == "str":
        if any(not isinstance(v, str) for v in values):
            values = [v if isinstance(v, str) else None for v in values]
        ids = pd.Series(values, dtype="string")
    else:
        ids = pd.Series(values, dtype=object)
    categories = pd.Index(["7", "c1", "c2", "c3"])

    def codes(run_from):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(features, "_RUNS_FROM", run_from)
            patch.setattr(features, "_RUNS_PROBE", 3)
            try:
                return features._query_codes(ids, categories), None
            except SchemaError as error:
                return None, str(error)

    by_runs, by_rows = codes(0), codes(10**9)
    assert by_runs[1] == by_rows[1]
    if by_rows[0] is not None:
        assert by_runs[0].dtype == by_rows[0].dtype
        np.testing.assert_array_equal(by_runs[0], by_rows[0])


def test_a_missing_id_inside_a_grid_names_its_own_row(monkeypatch):
    from riskscore import features

    monkeypatch.setattr(features, "_RUNS_FROM", 0)
    events = pd.DataFrame(
        {
            "case_id": ["a", "b"],
            "agency": ["hospital", "hospital"],
            "event": ["asthma_admission", "asthma_admission"],
            "date": pd.to_datetime(["2101-01-10", "2101-01-10"]),
        }
    )
    ids = ["a"] * 5 + [None] + ["a"] * 2 + ["b"] * 4
    q = pd.DataFrame({"case_id": ids, "as_of": pd.Timestamp("2101-06-01")})
    with pytest.raises(SchemaError, match=r"as_of: column 'case_id' is missing at rows \[5\]"):
        encode_features(events, q)
    q.loc[5, "case_id"] = "a"
    out = encode_features(events, q)
    assert out["asthma_admissions_12m"].tolist() == [1.0] * 12
