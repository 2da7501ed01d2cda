"""Out-of-core benchmark: synthetic cohorts on disk, encoded and audited with Dask.

For each size, a synthetic cohort is written to hash-partitioned Parquet
(:func:`riskscore.scale.write_cohort_parquet`), then on a local cluster of worker
processes (default 2 workers x 1 thread, 2.5 GiB each, so under 6 GB in all):

* encode: every case on a 30-day as-of grid, all features, written to Parquet;
* audit: :func:`riskscore.scale.audit_cohort_dask` with the default scorecard.

It prints wall time, events per second, events per second per worker, and the peak
memory of this process and its worker processes together (RSS summed, sampled
every 0.2 s). The reference is the in-memory pandas path on the smallest size, in
this process, on one core: the ratio "per-core Dask / pandas" shows the overhead of
running out of core.

Usage::

    python benchmarks/scale.py                 # 1M and 10M events
    python benchmarks/scale.py --sizes 1e6     # just 1M
    python benchmarks/scale.py --full          # adds 100M events (hours: see README)
    python benchmarks/scale.py --no-audit      # encode only
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psutil

EVENTS_PER_CASE = 49.2  # make_cohort's default 3-year span


class PeakMemory:
    """Peak RSS of this process plus its children (the cluster's workers)."""

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self):
        self.peak = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def _row(size, step, seconds, n_events, peak, workers):
    rate = n_events / seconds
    print(
        f"{size:>12,} {step:<10} {seconds:9.1f} s {rate:12,.0f} ev/s "
        f"{rate / workers:12,.0f} ev/s/core   peak {peak / 2**30:5.2f} GiB",
        flush=True,
    )
    return rate / workers


def pandas_reference(n_cases: int, audit: bool) -> dict:
    """In-memory pandas figures (one core) on a cohort of n_cases."""
    import riskscore
    from riskscore.synthetic import make_cohort

    events, cases = make_cohort(n_cases, random_state=0)
    out = {"n_events": len(events)}
    with PeakMemory() as mem:
        t = time.perf_counter()
        grid = riskscore.as_of_grid(events, "30D")
        riskscore.encode_features(events, grid)
        out["encode"] = time.perf_counter() - t
    out["encode_peak"] = mem.peak
    if audit:
        from riskscore.audit import audit_cohort
        from riskscore.modelfile import default_scorecard

        with PeakMemory() as mem:
            t = time.perf_counter()
            audit_cohort(events, cases, default_scorecard(), progress=False)
            out["audit"] = time.perf_counter() - t
        out["audit_peak"] = mem.peak
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--full", action="store_true", help="also 100M events")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="2.5GiB")
    parser.add_argument("--no-audit", action="store_true")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--dir", default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the cohorts on disk")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes} | ({100_000_000} if args.full else set()))
    audit = not args.no_audit

    import riskscore
    from riskscore.modelfile import default_scorecard
    from riskscore.scale import (
        audit_cohort_dask,
        encode_features_dask,
        local_cluster,
        read_cases_dask,
        read_events_dask,
        write_cohort_parquet,
    )

    scratch = Path(args.dir or tempfile.mkdtemp(prefix="riskscore-scale-"))
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"riskscore {riskscore.__version__}; {args.workers} workers x 1 thread, "
          f"{args.memory_limit} each; scratch {scratch}")  # fmt: skip
    per_core: dict[str, dict[int, float]] = {"encode": {}, "audit": {}}
    ref = None
    if not args.no_reference:
        n_ref = int(min(sizes) / EVENTS_PER_CASE)
        ref = pandas_reference(n_ref, audit)
        n = ref["n_events"]
        print(f"pandas in memory, one core, {n:,} events:")
        _row(n, "encode", ref["encode"], n, ref["encode_peak"], 1)
        if audit:
            _row(n, "audit", ref["audit"], n, ref["audit_peak"], 1)
    print(f"{'events':>12} {'step':<10} {'wall':>11} {'throughput':>18} {'per core':>22}")
    for size in sizes:
        n_cases = int(size / EVENTS_PER_CASE)
        folder = scratch / f"cohort-{size}"
        with PeakMemory() as mem:
            t = time.perf_counter()
            write_cohort_parquet(folder, n_cases, random_state=0, overwrite=True)
            seconds = time.perf_counter() - t
        n_events = read_layout_events(folder)
        _row(n_events, "write", seconds, n_events, mem.peak, 1)
        with local_cluster(n_workers=args.workers, memory_limit=args.memory_limit) as client:
            # imports happen once per worker; keep them out of the timings
            client.run(_warm_up)
            events = read_events_dask(folder / "events")
            with PeakMemory() as mem:
                t = time.perf_counter()
                out = folder / "features"
                encode_features_dask(events, "30D").to_parquet(out, write_index=False)
                seconds = time.perf_counter() - t
            per_core["encode"][n_events] = _row(
                n_events, "encode", seconds, n_events, mem.peak, args.workers
            )
            if audit:
                cases = read_cases_dask(folder / "cases")
                with PeakMemory() as mem:
                    t = time.perf_counter()
                    audit_cohort_dask(events, cases, default_scorecard(), client=client)
                    seconds = time.perf_counter() - t
                per_core["audit"][n_events] = _row(
                    n_events, "audit", seconds, n_events, mem.peak, args.workers
                )
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    if ref is not None:
        n = ref["n_events"]
        for step in ("encode", "audit") if audit else ("encode",):
            base = n / ref[step]
            ratios = ", ".join(f"{k:,}: {v / base:.2f}" for k, v in per_core[step].items())
            print(f"per-core Dask / pandas throughput, {step}: {ratios}")
    if not args.dir and not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)


def _warm_up() -> None:
    import dask.dataframe  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import riskscore.audit  # noqa: F401
    import riskscore.scale  # noqa: F401
    import riskscore.schema  # noqa: F401


def read_layout_events(folder: Path) -> int:
    import json

    from riskscore.scale import LAYOUT_FILE

    return int(json.loads((folder / "events" / LAYOUT_FILE).read_text())["synthetic"]["n_events"])


if __name__ == "__main__":
    main()
