"""Benchmark: cohort audit against one joined feature encoding of the same grid.

A synthetic cohort over its whole span, a 14-day grid, the default scorecard, the
joined view and all eight agency views, disclosure control on. Each round times, in
this order: one joined ``encode_features`` of the 14-day grid on one thread and on
every core, then ``audit_cohort`` with one worker (``n_jobs=1``) and with one worker
per core (the default: threads of this process for two, worker processes for more;
a first call with processes also pays for starting them). Each encoding is timed on
its second call in the round (the first after an audit pays for fresh memory from
the kernel, which would flatter the ratio). Printed: the best time of each, the
ratio of the audit to the encoding measured the same way (the target is at most 5),
the speed-up from one core to all, and peak memory: this process's maximum resident
set (data included) and the largest of the audit's worker processes, running or
ended (0 when it ran on threads).

    python benchmarks/audit.py               # 100,000 cases, one round
    python benchmarks/audit.py --cases 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import resource
import time


def _worker_peaks_mb() -> list[float]:
    """Peak resident memory of this process's live child processes (Linux), in MB."""
    peaks = []
    me = str(os.getpid())
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if status.get("PPid", "").strip() == me and "VmHWM" in status:
            peaks.append(int(status["VmHWM"].split()[0]) / 1024)
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    import riskscore as rs
    from riskscore._parallel import available_cores

    events, cases = rs.make_cohort(args.cases, random_state=0)
    card = rs.default_scorecard()
    grid = rs.as_of_grid(events, "14D", cases=cases)
    cores = available_cores()

    def encode(n_jobs):
        return lambda: rs.encode_features(events, grid, n_jobs=n_jobs)

    def audit(n_jobs):
        return lambda: rs.audit_cohort(
            events, cases, card, grid="14D", chunk_size=args.chunk_size, n_jobs=n_jobs
        )

    runs = {
        "encode, 1 thread": encode(1),
        f"encode, {cores} threads": encode(None),
        "audit, 1 worker": audit(1),
        f"audit, {cores} workers": audit(None),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            if name.startswith("encode"):
                # the first encoding after an audit spends seconds in the kernel on
                # fresh memory for its output (0.8 s one thread at 100,000 children,
                # 2.6 s on a first call): the reference is timed on a second call
                fn()
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # live worker processes (joblib keeps its workers), and the largest that ended
    # (forked workers end with the audit): RUSAGE_CHILDREN holds their maximum
    workers = [
        *_worker_peaks_mb(),
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    ]

    best = {name: min(ts) for name, ts in times.items()}
    e1, en, a1, an = (best[name] for name in runs)
    print(f"cases {args.cases:,}, events {len(events):,}, 14-day grid rows {len(grid):,}")
    print(f"{args.rounds} round(s); best times:")
    for name, t in best.items():
        print(f"  {name:<24}{t:8.2f} s")
    print(f"audit / encoding, one core each:  {a1 / e1:.1f}  (target <= 5)")
    print(f"audit / encoding, all {cores} cores:   {an / en:.1f}  (target <= 5)")
    print(f"speed-up from 1 to {cores} cores: encoding {e1 / en:.2f}, audit {a1 / an:.2f}")
    print(f"  {args.cases / an:,.0f} cases/s audited on {cores} cores")
    print(
        f"peak memory: this process {peak:,.0f} MB (data included); "
        f"largest worker {max(workers, default=0):,.0f} MB"
    )


if __name__ == "__main__":
    main()
