"""Benchmark: full evaluation (5-fold grouped CV + 200 case-bootstrap replicates) on 1M rows.

The 1M-row training table is built from a real encoded synthetic cohort by
resampling whole cases with replacement (each copy gets a new case id) until there
are 1,000,000 rows: the feature distribution and the within-case structure are
those of ``make_cohort`` + ``make_training_set``, without spending minutes
encoding a 100k-case cohort. Prints wall time, peak traced memory, and the time
relative to a single fit of the same model on all rows (same process).

Run: ``python benchmarks/evaluate.py [n_rows]``
"""

from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np
import pandas as pd

from riskscore.evaluation import evaluate
from riskscore.logistic import LogisticRiskModel
from riskscore.synthetic import make_cohort
from riskscore.training import TrainingSet, make_training_set


def big_training_set(n_rows: int, seed: int = 0) -> TrainingSet:
    base = make_training_set(*make_cohort(20_000, random_state=2101), grid="90D")
    codes, uniques = pd.factorize(base.case_ids)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rng = np.random.default_rng(seed)
    need = int(n_rows / sizes.mean() * 1.05) + 10
    pick = rng.integers(0, len(uniques), need)
    pick = pick[: np.searchsorted(np.cumsum(sizes[pick]), n_rows) + 1]
    lens = sizes[pick]
    rows = order[
        np.repeat(starts[pick], lens)
        + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))
    ]
    rows = rows[:n_rows]
    new_case = np.repeat(np.arange(len(pick)), lens)[:n_rows]
    return TrainingSet(
        X=base.X.iloc[rows].reset_index(drop=True),
        y=base.y[rows],
        case_ids=np.char.add("B", new_case.astype(str)).astype(object),
        as_of=base.as_of.iloc[rows].reset_index(drop=True),
        excluded=base.excluded,
        info=base.info,
    )


def main(n_rows: int = 1_000_000) -> None:
    t0 = time.perf_counter()
    ts = big_training_set(n_rows)
    print(
        f"built {len(ts.y):,} rows, {len(np.unique(ts.case_ids)):,} cases, "
        f"{ts.y.mean():.4f} positive, in {time.perf_counter() - t0:.1f} s"
    )
    model = LogisticRiskModel(penalty="l2", C=1.0)

    t0 = time.perf_counter()
    model.fit(ts.X, ts.y)
    single = time.perf_counter() - t0
    print(f"single fit on all rows: {single:.2f} s")

    tracemalloc.start()
    t0 = time.perf_counter()
    res = evaluate(model, ts, cv=5, n_boot=200, random_state=0, progress=False)
    total = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(res)
    print(
        f"full evaluation (5-fold CV + 200 bootstrap): {total:.1f} s "
        f"= {total / single:.1f} x a single fit; peak traced memory {peak / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
