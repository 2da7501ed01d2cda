"""Benchmark: riskscore against DuckDB and Polars at the same windowed counts.

An analyst with a cohort and a list of (case, as-of) pairs could write the 12-month
counts in SQL or in a DataFrame library instead. This benchmark gives DuckDB and
Polars four of riskscore's features, ``asthma_admissions_12m``,
``asthma_ed_visits_12m``, ``missed_appointments_12m`` and
``child_voice_concerns_12m``, on the same synthetic cohort (``riskscore.make_cohort``)
and the same pairs (every child, 36 as-of dates 30 days apart), each written in the
fastest forms found for it:

* DuckDB **range join**: pairs joined to events on the case and
  ``as_of - 365 < date`` and ``known <= as_of``, counted with ``FILTER``;
* DuckDB **as-of join**: running counts per case (entries +1 on the day an event is
  known, exits -1 when it leaves the window), read with ``ASOF JOIN``;
* DuckDB **window**: the pairs put among the entries and exits, a running sum
  ``OVER (PARTITION BY case_id ORDER BY day)`` read at the pairs;
* Polars **range join**, **as-of join** (``join_asof``) and **window**
  (``cum_sum``) in the same three forms.

Every form follows riskscore's rules: rows identical in ``case_id``, ``date``,
``event`` and ``value`` are one happening known from its earliest record
(``SELECT ... GROUP BY`` first), and an event counts as of T only once
``date <= T`` and ``recorded_date <= T`` (make_cohort records about 3% of events
late). Each form's values are checked equal to riskscore's before it is timed.

The peers get their data in their own best form, loaded before the clock starts:
integer case numbers, ``DATE`` columns and the event code as an ENUM (DuckDB) or a
categorical (Polars); they return one row per pair, in any order. riskscore starts
from the pandas frames ``make_cohort`` returns and computes **all** its features in
pair order, as ``riskscore.encode_features`` always does.

Each round times riskscore and every peer form once, in that order; printed per
size: the best time of each, and the ratio of riskscore's time to the fastest peer's
time **in the same round** (best, median and range over the rounds). Target: at most 1.
Then riskscore's time in each round, the part of it the kernel spent for the process
(system CPU time, summed over threads: handing it fresh zeroed memory, which costs
most after the peers have churned through memory), and the fastest peer's time in
each round. riskscore keeps the memory of its last freed output table for the next
encoding (docs/performance.md, "Memory kept between encodings"), as the peers' own
allocators keep theirs: the untimed first call, which checks the values, pays for a
fresh table and the timed rounds reuse it. ``RISKSCORE_MALLOC=keep`` in the
environment times riskscore without that (and without its other memory settings).

``--order grouped`` times each form's rounds back to back instead (after one untimed
call each); the ratio then pairs the rounds by number. ``--dtype float32`` times
riskscore with ``encode_features(..., dtype="float32")``, its documented compact
output (half the bytes; the counts are the same numbers).

    pip install -e ".[bench]"              # DuckDB and Polars
    python benchmarks/peers.py             # 20,000 and 200,000 children
    python benchmarks/peers.py --cases 20000 --rounds 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

#: event code -> riskscore feature (the four 12-month counts the peers compute)
FOUR = {
    "asthma_admission": "asthma_admissions_12m",
    "asthma_ed_visit": "asthma_ed_visits_12m",
    "missed_appointment": "missed_appointments_12m",
    "child_voice_concern": "child_voice_concerns_12m",
}
COLS = ("a", "b", "m", "v")  # short column names of the four counts in peer output
PAIRS_PER_CASE = 36
STEP_DAYS = 30
FIRST_AS_OF = "2101-01-15"


def cohort_and_pairs(n_cases: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic cohort's events, and 36 monthly as-of dates for every child."""
    import riskscore as rs

    events, cases = rs.make_cohort(n_cases, random_state=0)
    ids = pd.Categorical(cases["case_id"])
    case = pd.Categorical.from_codes(np.repeat(ids.codes, PAIRS_PER_CASE), ids.categories)
    step = np.tile(np.arange(PAIRS_PER_CASE) * STEP_DAYS, len(cases))
    as_of = pd.Timestamp(FIRST_AS_OF) + pd.to_timedelta(step, unit="D")
    return events, pd.DataFrame({"case_id": case, "as_of": as_of})


def peer_frames(events: pd.DataFrame, pairs: pd.DataFrame):
    """Events and pairs with integer case numbers and day-resolution dates."""
    cats = pairs["case_id"].cat.categories
    case = pd.Categorical(events["case_id"], categories=cats).codes.astype(np.int32)
    ev = pd.DataFrame(
        {
            "case_id": case,
            "date": events["date"].to_numpy().astype("datetime64[D]"),
            "event": events["event"].astype(str),
            "value": events["value"],
            "recorded_date": events["recorded_date"].to_numpy().astype("datetime64[D]"),
        }
    )
    pr = pd.DataFrame(
        {
            "case_id": pairs["case_id"].cat.codes.astype(np.int32),
            "as_of": pairs["as_of"].to_numpy().astype("datetime64[D]"),
            "pair": np.arange(len(pairs), dtype=np.int32),
        }
    )
    return ev, pr


# --------------------------------------------------------------------------- DuckDB

_DEDUP = f"""
WITH e AS (
  SELECT case_id, date, event, min(greatest(date, coalesce(recorded_date, date))) AS known
  FROM ev WHERE event IN ({", ".join(f"'{c}'" for c in FOUR)})
  GROUP BY case_id, date, event, value)
"""
_FILTERS = ",\n  ".join(
    f"count(*) FILTER (WHERE event = '{code}') AS {c}" for code, c in zip(FOUR, COLS, strict=True)
)
_COALESCED = ", ".join(f"coalesce({c}, 0) AS {c}" for c in COLS)
_ENTER = ", ".join(f"(event = '{code}')::INT AS {c}" for code, c in zip(FOUR, COLS, strict=True))
_LEAVE = ", ".join(f"-(event = '{code}')::INT" for code in FOUR)
_DELTAS = f""",
d AS (
  SELECT case_id, known AS day, {_ENTER} FROM e
  UNION ALL
  SELECT case_id, greatest(known, date + 365), {_LEAVE} FROM e)
"""

DUCKDB = {
    "DuckDB range join": _DEDUP
    + f""",
j AS (
  SELECT p.pair, e.event FROM pairs p JOIN e
  ON e.case_id = p.case_id AND e.date > p.as_of - 365 AND e.known <= p.as_of),
n AS (SELECT pair,
  {_FILTERS}
  FROM j GROUP BY pair)
SELECT p.pair, {_COALESCED} FROM pairs p LEFT JOIN n USING (pair)
""",
    "DuckDB as-of join": _DEDUP
    + _DELTAS
    + f""",
g AS (SELECT case_id, day, {", ".join(f"sum({c}) AS {c}" for c in COLS)}
      FROM d GROUP BY case_id, day),
r AS (SELECT case_id, day, {", ".join(f"sum({c}) OVER w AS {c}" for c in COLS)} FROM g
      WINDOW w AS (PARTITION BY case_id ORDER BY day ROWS UNBOUNDED PRECEDING))
SELECT p.pair, {_COALESCED}
FROM pairs p ASOF LEFT JOIN r ON p.case_id = r.case_id AND p.as_of >= r.day
""",
    "DuckDB window": _DEDUP
    + _DELTAS
    + f""",
u AS (
  SELECT case_id, day, 0 AS is_pair, -1 AS pair, {", ".join(COLS)} FROM d
  UNION ALL
  SELECT case_id, as_of, 1, pair, {", ".join("0" for _ in COLS)} FROM pairs),
r AS (SELECT is_pair, pair, {", ".join(f"sum({c}) OVER w AS {c}" for c in COLS)} FROM u
      WINDOW w AS (PARTITION BY case_id ORDER BY day, is_pair ROWS UNBOUNDED PRECEDING))
SELECT pair, {", ".join(COLS)} FROM r WHERE is_pair = 1
""",
}


def duckdb_connection(ev: pd.DataFrame, pr: pd.DataFrame):
    import duckdb

    con = duckdb.connect()
    con.register("ev_df", ev)
    con.register("pairs_df", pr)
    codes = ", ".join(f"'{c}'" for c in sorted(ev["event"].unique()))
    con.execute(f"CREATE TYPE event_code AS ENUM ({codes})")
    con.execute(
        "CREATE TABLE ev AS SELECT case_id, date::DATE AS date, event::event_code AS event, "
        "value, recorded_date::DATE AS recorded_date FROM ev_df"
    )
    con.execute("CREATE TABLE pairs AS SELECT case_id, as_of::DATE AS as_of, pair FROM pairs_df")
    con.unregister("ev_df")
    con.unregister("pairs_df")
    return con


# --------------------------------------------------------------------------- Polars


def _polars_events(ev):
    import polars as pl

    e = ev.lazy().filter(pl.col("event").is_in(list(FOUR)))
    e = e.with_columns(
        known=pl.max_horizontal("date", pl.col("recorded_date").fill_null(pl.col("date")))
    )
    return e.group_by(["case_id", "date", "event", "value"]).agg(pl.col("known").min())


def _polars_deltas(ev):
    import polars as pl

    e = _polars_events(ev)
    enter = [
        (pl.col("event") == code).cast(pl.Int32).alias(c)
        for code, c in zip(FOUR, COLS, strict=True)
    ]
    leave = pl.max_horizontal("known", pl.col("date") + pl.duration(days=365))
    return pl.concat(
        [
            e.select("case_id", pl.col("known").alias("day"), *enter),
            e.select("case_id", leave.alias("day"), *[-x for x in enter]),
        ]
    )


def polars_range_join(ev, pr):
    import polars as pl

    e = _polars_events(ev)
    window = (pl.col("date") > pl.col("as_of") - pl.duration(days=365)) & (
        pl.col("known") <= pl.col("as_of")
    )
    j = pr.lazy().join(e, on="case_id").filter(window)
    n = j.group_by("pair").agg(
        *[(pl.col("event") == code).sum().alias(c) for code, c in zip(FOUR, COLS, strict=True)]
    )
    out = pr.lazy().select("pair").join(n, on="pair", how="left")
    return out.select("pair", *[pl.col(c).fill_null(0) for c in COLS]).collect()


def polars_asof_join(ev, pr):
    import polars as pl

    d = _polars_deltas(ev).group_by(["case_id", "day"]).agg(pl.col(COLS).sum())
    # every event's entry and exit are in its own case, so running sums over all
    # cases in (case, day) order need no restart per case: earlier cases cancel
    d = d.sort(["case_id", "day"]).with_columns(pl.col(COLS).cum_sum())
    p = pr.lazy().sort(["case_id", "as_of"])
    out = p.join_asof(d, left_on="as_of", right_on="day", by="case_id", check_sortedness=False)
    return out.select("pair", *[pl.col(c).fill_null(0) for c in COLS]).collect()


def polars_window(ev, pr):
    import polars as pl

    d = _polars_deltas(ev).with_columns(is_pair=pl.lit(0, pl.Int8), pair=pl.lit(-1, pl.Int32))
    p = pr.lazy().select(
        "case_id",
        pl.col("as_of").alias("day"),
        *[pl.lit(0, pl.Int32).alias(c) for c in COLS],
        is_pair=pl.lit(1, pl.Int8),
        pair="pair",
    )
    u = pl.concat([d, p]).sort(["case_id", "day", "is_pair"])
    u = u.with_columns(pl.col(COLS).cum_sum())  # earlier cases cancel, as above
    return u.filter(pl.col("is_pair") == 1).select("pair", *COLS).collect()


POLARS = {
    "Polars range join": polars_range_join,
    "Polars as-of join": polars_asof_join,
    "Polars window": polars_window,
}


# --------------------------------------------------------------------------- run


def check_equal(result: pd.DataFrame, X: pd.DataFrame, name: str) -> None:
    """The peer's four counts, in pair order, equal riskscore's."""
    result = result.sort_values("pair")
    if not np.array_equal(result["pair"].to_numpy(), np.arange(len(X))):
        raise AssertionError(f"{name}: not one row per pair")
    for c, feature in zip(COLS, FOUR.values(), strict=True):
        got = result[c].to_numpy(dtype=np.float64)
        if not np.array_equal(got, X[feature].to_numpy()):
            bad = int(np.flatnonzero(got != X[feature].to_numpy())[0])
            raise AssertionError(f"{name}: {feature} differs from riskscore at pair {bad}")


def _system_seconds() -> float:
    """CPU time the kernel has spent for this process (all threads), or 0 off Unix."""
    try:
        import resource
    except ImportError:
        return 0.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def one_size(
    n_cases: int, rounds: int, n_jobs, order: str = "interleaved", dtype: str = "float64"
) -> None:
    import polars as pl

    import riskscore as rs

    events, pairs = cohort_and_pairs(n_cases)
    ev, pr = peer_frames(events, pairs)
    con = duckdb_connection(ev, pr)
    ev_pl = pl.from_pandas(ev).with_columns(pl.col("event").cast(pl.Categorical))
    pr_pl = pl.from_pandas(pr)
    del ev, pr

    kwargs = {"dtype": dtype} if n_jobs is None else {"n_jobs": n_jobs, "dtype": dtype}

    def ours():
        return rs.encode_features(events, pairs, **kwargs)

    forms = {"riskscore (all features)": ours}
    for name, sql in DUCKDB.items():
        forms[name] = lambda sql=sql: con.sql(sql).to_arrow_table()
    for name, fn in POLARS.items():
        forms[name] = lambda fn=fn: fn(ev_pl, pr_pl)

    X = ours()
    for name, fn in list(forms.items())[1:]:
        out = fn()
        check_equal(out.to_pandas(), X, name)
    del X

    times = {name: [] for name in forms}
    kernel = []  # riskscore's system time per round (the kernel giving it fresh memory)

    def timed(name: str, fn) -> None:
        s = _system_seconds()
        t = time.perf_counter()
        fn()
        times[name].append(time.perf_counter() - t)
        if fn is ours:
            kernel.append(_system_seconds() - s)

    if order == "interleaved":  # every form once per round: the same machine state
        for _ in range(rounds):
            for name, fn in forms.items():
                timed(name, fn)
    else:  # each form's rounds back to back, after one untimed call
        for name, fn in forms.items():
            fn()
            for _ in range(rounds):
                timed(name, fn)
    con.close()

    t_rs = np.array(times["riskscore (all features)"])
    peer_best = np.min([times[k] for k in forms if k != "riskscore (all features)"], axis=0)
    print(
        f"\n{n_cases:,} children, {len(events):,} events, {len(pairs):,} pairs; "
        f"{rounds} rounds, {order}, riskscore's output {dtype}; "
        "every peer's values equal riskscore's"
    )
    print(f"  {'':<26}{'best s':>8} {'us/pair':>8}")
    for name, ts in times.items():
        best = min(ts)
        print(f"  {name:<26}{best:8.3f} {best / len(pairs) * 1e6:8.3f}")
    ratio = t_rs / peer_best
    # the rounds one by one: a slow round shows whose time it was
    print("  riskscore per round s:    " + " ".join(f"{t:.3f}" for t in t_rs))
    print("  ... of it system (CPU) s: " + " ".join(f"{t:.3f}" for t in kernel))
    print("  fastest peer per round s: " + " ".join(f"{t:.3f}" for t in peer_best))
    print(
        f"  riskscore (all {len(rs.FEATURES)} features) / fastest peer (4 features), "
        f"{'same round' if order == 'interleaved' else 'round by round'}: "
        f"best {ratio.min():.2f}, median {np.median(ratio):.2f}, "
        f"range {ratio.min():.2f}-{ratio.max():.2f} (target <= 1)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="*", default=[20_000, 200_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=None, help="riskscore's n_jobs")
    parser.add_argument(
        "--order",
        choices=["interleaved", "grouped"],
        default="interleaved",
        help="every form once per round (default), or each form's rounds back to back",
    )
    parser.add_argument(
        "--dtype",
        choices=["float64", "float32"],
        default="float64",
        help="riskscore's output type (encode_features' dtype option; default float64)",
    )
    args = parser.parse_args()
    for n in args.cases:
        one_size(n, args.rounds, args.n_jobs, args.order, args.dtype)


if __name__ == "__main__":
    main()
