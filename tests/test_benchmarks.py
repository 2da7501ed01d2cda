"""The benchmark scripts still run, and the peers benchmark checks the right numbers.

The README's performance figures come from ``benchmarks/``; a script broken by a
change of the library would leave figures nobody can reproduce. Each script that
needs only riskscore's own dependencies is run here at a tiny size (its figures at
that size mean nothing; that it runs and prints them does). ``peers.py`` needs
DuckDB and Polars, which the tests do not install: its data preparation and its
equality check are tested instead, against the four counts computed here in plain
pandas by the rule the benchmark's SQL and Polars forms follow.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.parametrize(
    ("script", "args", "printed"),
    [
        ("score.py", ["--rows", "3000", "--repeat", "1", "--warm-up", "0", "--pause", "0"],
         r"logistic   risk_score \(DataFrame\).* x *\d+\.\d+ ref"),
        ("audit.py", ["--cases", "200", "--chunk-size", "120", "--rounds", "1"],
         r"audit / encoding, all \d+ cores: +\d+\.\d"),
        ("guard.py", ["--events", "3000", "--repeat", "1"],
         r"found: \[\('site', 'nhs_number'"),
        ("encode.py", ["--one", "300"], r'"encode_s": '),
    ],
)  # fmt: skip
def test_benchmark_script_runs_and_prints_its_figures(script, args, printed):
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(printed, done.stdout), done.stdout[-2000:]
    if script == "encode.py":
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        assert figures["cases"] == 300 and figures["rows"] > 0


def _peers():
    sys.path.insert(0, str(BENCH))
    try:
        import peers
    finally:
        sys.path.remove(str(BENCH))
    return peers


def _four_counts_in_pandas(ev: pd.DataFrame, pr: pd.DataFrame, peers) -> pd.DataFrame:
    """The peers' rule, written plainly: identical rows are one event known from its
    earliest record; an event counts as of T when T - 365 < date and known <= T."""
    e = ev[ev["event"].isin(list(peers.FOUR))].copy()
    e["known"] = np.maximum(e["date"], e["recorded_date"].fillna(e["date"]))
    e = (
        e.groupby(["case_id", "date", "event", "value"], dropna=False, observed=True)["known"]
        .min()
        .reset_index()
    )
    j = pr.merge(e, on="case_id")
    hit = (j["date"] > j["as_of"] - pd.Timedelta(days=365)) & (j["known"] <= j["as_of"])
    j = j[hit]
    out = pr[["pair"]].copy()
    for code, col in zip(peers.FOUR, peers.COLS, strict=True):
        n = j[j["event"] == code].groupby("pair").size()
        out[col] = out["pair"].map(n).fillna(0).astype(np.int64)
    return out


def test_peers_benchmark_compares_the_counts_riskscore_computes():
    import riskscore as rs

    peers = _peers()
    events, pairs = peers.cohort_and_pairs(60)
    ev, pr = peers.peer_frames(events, pairs)
    assert len(pr) == 60 * peers.PAIRS_PER_CASE
    X = rs.encode_features(events, pairs)
    expected = _four_counts_in_pandas(ev, pr, peers)
    assert expected[list(peers.COLS)].to_numpy().sum() > 0  # something is counted
    peers.check_equal(expected.sample(frac=1, random_state=0), X, "pandas")  # any order
    # and the check is not blind: one count off by one is caught, by pair
    off = expected.copy()
    off.loc[off.index[5], "m"] += 1
    with pytest.raises(AssertionError, match="missed_appointments_12m differs .* at pair 5"):
        peers.check_equal(off, X, "pandas")
