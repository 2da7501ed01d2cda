"""Benchmark: cohort audit against one joined feature encoding of the same grid.

A synthetic cohort over its whole span, a 14-day grid, the default scorecard, the
joined view and all eight agency views, disclosure control on. Printed: cases per
second, peak memory (maximum resident set size of this process, data included) and
the ratio of the whole audit to one joined ``encode_features`` of the same 14-day
grid (the target is at most 5).

    python benchmarks/audit.py               # 100,000 cases
    python benchmarks/audit.py --cases 20000
"""

from __future__ import annotations

import argparse
import resource
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    args = parser.parse_args()

    import riskscore as rs

    events, cases = rs.make_cohort(args.cases, random_state=0)
    card = rs.default_scorecard()
    grid = rs.as_of_grid(events, "14D", cases=cases)

    # the audit runs first so that the peak memory printed is the audit's own
    t = time.perf_counter()
    result = rs.audit_cohort(events, cases, card, grid="14D", chunk_size=args.chunk_size)
    t_audit = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    encode = []
    for _ in range(2):
        t = time.perf_counter()
        rs.encode_features(events, grid)
        encode.append(time.perf_counter() - t)
    t_encode = min(encode)

    print(f"cases {args.cases:,}, events {len(events):,}, 14-day grid rows {len(grid):,}")
    print(f"one joined encoding of the grid: {t_encode:.2f} s")
    print(f"cohort audit (joined + 8 agency views, tables, disclosure): {t_audit:.2f} s")
    print(f"  {args.cases / t_audit:,.0f} cases/s; audit / encoding = {t_audit / t_encode:.1f}")
    print(f"peak memory of the audit (max RSS, data included): {peak:,.0f} MB")
    print(f"tables: {', '.join(result.tables)}")


if __name__ == "__main__":
    main()
