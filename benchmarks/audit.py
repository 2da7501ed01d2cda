"""Benchmark: cohort audit against one joined feature encoding of the same grid.

A synthetic cohort over its whole span, a 14-day grid, the default scorecard, the
joined view and all eight agency views, disclosure control on. Each round times, in
this order: one joined ``encode_features`` of the 14-day grid on one thread and on
every core, then ``audit_cohort`` with one worker (``n_jobs=1``) and with one worker
per core (the default: processes forked from this one on Linux). Each call is made
twice in a row and both are timed: the first pays for the memory state the previous
call left behind (an encoding after an audit spends seconds in the kernel faulting
in fresh memory for its output; forked audit workers after an in-process audit copy
pages their parent kept), the second is the call on its own. Printed: the best time
of each (second calls, first calls beside them), the ratio of the audit to the
encoding from the second calls (the target is at most 5) and from the first calls,
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
    # every call is timed twice in a row: the first pays for the memory state the
    # previous call left (an encoding after an audit spends seconds in the kernel on
    # fresh memory for its output; forked audit workers after an in-process audit
    # copy pages their parent kept), the second is the call on its own; the ratios
    # use the second calls of both, and the first calls are printed beside them
    times: dict[str, list[float]] = {name: [] for name in runs}
    firsts: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            for record in (firsts, times):
                t = time.perf_counter()
                fn()
                record[name].append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # live worker processes (joblib keeps its workers), and the largest that ended
    # (forked workers end with the audit): RUSAGE_CHILDREN holds their maximum
    workers = [
        *_worker_peaks_mb(),
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    ]

    best = {name: min(ts) for name, ts in times.items()}
    first = {name: min(ts) for name, ts in firsts.items()}
    e1, en, a1, an = (best[name] for name in runs)
    f1, fn_, g1, gn = (first[name] for name in runs)
    print(f"cases {args.cases:,}, events {len(events):,}, 14-day grid rows {len(grid):,}")
    print(f"{args.rounds} round(s); best times, second call (first call of the pair):")
    for name, t in best.items():
        print(f"  {name:<24}{t:8.2f} s   ({first[name]:.2f} s)")
    print(
        f"audit / encoding, one core each:  {a1 / e1:.1f}  (target <= 5; first calls {g1 / f1:.1f})"
    )
    print(
        f"audit / encoding, all {cores} cores:   {an / en:.1f}  (target <= 5; "
        f"first calls {gn / fn_:.1f})"
    )
    print(f"speed-up from 1 to {cores} cores: encoding {e1 / en:.2f}, audit {a1 / an:.2f}")
    print(f"  {args.cases / an:,.0f} cases/s audited on {cores} cores")
    print(
        f"peak memory: this process {peak:,.0f} MB (data included); "
        f"largest worker {max(workers, default=0):,.0f} MB"
    )


if __name__ == "__main__":
    main()
