"""Benchmark: point-in-time feature encoding.

Synthetic cohorts of growing size (about 50 events a case), a monthly as-of grid over
two years per case. Each size runs in a fresh subprocess. Printed per size: events per
second, output rows per second, the ratio to a plain sort of the event keys (the floor
any encoder must pay), and, on a size it can do, the ratio to the deliberately simple
reference implementation used as the tests' oracle.

Memory: after the cohort is generated, freed memory is handed back to the system
(``malloc_trim``) and the kernel's peak-RSS mark is reset, so the peak printed is the
encoding's own: the most memory resident at any moment while encoding, **the events,
the grid and the output included** ("data" is what was resident just before).

    python benchmarks/encode.py                       # 1k, 10k, 100k cases
    python benchmarks/encode.py --full                # ... and 1M cases
    python benchmarks/encode.py --full --dtype float32
    python benchmarks/encode.py --n-jobs 1            # one thread
    python benchmarks/encode.py --full --parquet      # memory of write_features
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def _grid(cases: pd.DataFrame) -> pd.DataFrame:
    """Monthly (30-day) as-of dates over two years from each case's index date."""
    n = len(cases)
    start = pd.Timestamp("2101-07-01")
    # compact ids: a categorical, as the events' own case_id
    ids = pd.Categorical(cases["case_id"])
    case = pd.Categorical.from_codes(np.repeat(ids.codes, 24), categories=ids.categories)
    step = np.tile(np.arange(24) * 30, n)
    return pd.DataFrame({"case_id": case, "as_of": start + pd.to_timedelta(step, unit="D")})


def _best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc (Linux), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> float:
    """Hand freed memory back, reset the peak-RSS mark; the resident MB now."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
    except OSError:
        pass
    return _status_mb("VmRSS")


def one_size(n_cases: int, with_reference: bool, dtype: str, n_jobs, parquet=False) -> dict:
    import tempfile

    import riskscore as rs

    events, cases = rs.make_cohort(n_cases, random_state=0)
    grid = _grid(cases)
    del cases
    data_mb = _reset_peak()
    t = time.perf_counter()
    if parquet:
        with tempfile.TemporaryDirectory() as tmp:
            rs.write_features(events, grid, f"{tmp}/x.parquet", dtype=dtype, n_jobs=n_jobs)
    else:
        rs.encode_features(events, grid, dtype=dtype, n_jobs=n_jobs)
    first = time.perf_counter() - t
    peak_mb = _status_mb("VmHWM")
    repeat = 3 if n_cases <= 100_000 else 1
    t_encode = min(
        first,
        _best(lambda: rs.encode_features(events, grid, dtype=dtype, n_jobs=n_jobs), repeat),
    )

    # the floor: one plain sort of the (case, date) keys
    codes = events["case_id"].cat.codes.to_numpy().astype(np.int64)
    days = events["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    keys = (codes << 20) | (days - days.min())
    rng = np.random.default_rng(0)
    shuffled = keys[rng.permutation(len(keys))]
    t_sort = _best(lambda: np.sort(shuffled), repeat)

    out = {
        "cases": n_cases,
        "events": len(events),
        "rows": len(grid),
        "encode_s": t_encode,
        "sort_s": t_sort,
        "data_mb": data_mb,
        "peak_mb": peak_mb,
    }
    if with_reference:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from test_features import oracle_frame

        sub = grid["case_id"].unique()[:20]
        ev = events[events["case_id"].isin(sub)].astype({"case_id": str})
        q = grid[grid["case_id"].isin(sub)].reset_index(drop=True)
        t_ref = _best(lambda: oracle_frame(ev, q), 1)
        t_fast = _best(lambda: rs.encode_features(ev, q), 5)
        out.update(ref_rows=len(q), ref_s=t_ref, ref_fast_s=t_fast)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="include 1M cases")
    parser.add_argument("--dtype", default="float64", help="encode_features(dtype=...)")
    parser.add_argument("--n-jobs", type=int, default=None, help="encode_features(n_jobs=...)")
    parser.add_argument(
        "--parquet", action="store_true", help="memory of write_features (to a temporary file)"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = one_size(args.one, args.reference, args.dtype, args.n_jobs, args.parquet)
        print(json.dumps(result))
        return
    sizes = [1_000, 10_000, 100_000] + ([1_000_000] if args.full else [])
    how = "write_features (Parquet)" if args.parquet else "encode_features"
    print(f"{how}, dtype={args.dtype}, n_jobs={args.n_jobs}; peak: while encoding, data included")
    print(
        f"{'cases':>9} {'events':>11} {'rows':>10} {'encode s':>9} {'events/s':>11} "
        f"{'rows/s':>11} {'data MB':>8} {'peak MB':>8} {'x sort':>7}"
    )
    results = []
    for n in sizes:
        cmd = [sys.executable, __file__, "--one", str(n), "--dtype", args.dtype]
        cmd += ["--parquet"] if args.parquet else []
        cmd += (["--reference"] if n == 1_000 else []) + (
            [] if args.n_jobs is None else ["--n-jobs", str(args.n_jobs)]
        )
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        results.append(r)
        print(
            f"{r['cases']:>9,} {r['events']:>11,} {r['rows']:>10,} {r['encode_s']:>9.2f} "
            f"{r['events'] / r['encode_s']:>11,.0f} {r['rows'] / r['encode_s']:>11,.0f} "
            f"{r['data_mb']:>8,.0f} {r['peak_mb']:>8,.0f} {r['encode_s'] / r['sort_s']:>7.1f}"
        )
        if "ref_s" in r:
            print(
                f"          reference implementation on {r['ref_rows']} rows (20 cases): "
                f"{r['ref_s']:.2f} s vs {r['ref_fast_s'] * 1000:.1f} ms: "
                f"{r['ref_s'] / r['ref_fast_s']:,.0f} x faster"
            )
    if len(results) >= 2:
        a, b = results[-2], results[-1]
        growth = (b["encode_s"] / a["encode_s"]) / (b["events"] / a["events"])
        print(f"time per event, largest vs next size: {growth:.2f} (1.00 = linear)")


if __name__ == "__main__":
    main()
