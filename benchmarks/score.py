"""Scoring throughput of both model kinds against a bare NumPy matrix product.

Run: ``python benchmarks/score.py [--rows 1000000] [--repeat 3]``

Prints, for a synthetic feature table of ``--rows`` rows (all catalogue features,
10% of attendance values missing):

- the reference: ``A @ w`` on the same data as a NumPy float64 array (column-major,
  as ``encode_features`` lays its feature block out; missing values set to 0);
- ``risk_score`` of the default rule scorecard and of a fitted LogisticRiskModel,
  from a DataFrame (the usual input) and from the NumPy array, as time and as a
  ratio to the reference (target: within 2x);
- ``contributions`` throughput of both;
- ``LogisticRiskModel.fit`` time on the same rows.

Every call runs once per round, the reference first, for ``--repeat`` rounds; the
time shown is the best round and the ratio the best time over the reference's best,
with the median and the range of the per-round ratios beside it (a shared machine
makes single rounds noisy). Nothing here is asserted.

Each timed call follows a rest of ``--pause`` seconds and one untimed warm-up call
of the same function. Without the rest, a call that comes straight after the
reference shares the two cores with OpenBLAS's helper threads, which keep spinning
for about 0.1 s after a product (measured: logistic scoring 16 ms right after
``A @ w``, 8-9 ms otherwise); without the warm-up, a core that has been idle starts
slowly on this virtual machine (two numpy threads after 0.3 s of rest: median
10 ms against 5.7 ms back to back; one thread: no difference).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from riskscore.logistic import LogisticRiskModel
from riskscore.modelfile import default_scorecard
from riskscore.vocabulary import FEATURES


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def synthetic_table(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    cols = {}
    for name, spec in FEATURES.items():
        if spec.kind == "flag":
            cols[name] = (rng.random(n) < 0.2).astype(np.float64)
        elif spec.kind == "count":
            cols[name] = rng.poisson(0.5, n).astype(np.float64)
        elif spec.kind == "fraction":
            cols[name] = rng.uniform(0.3, 1.0, n)
        else:
            cols[name] = rng.normal(0.0, 0.1, n)
    X = pd.DataFrame(cols)
    X.loc[rng.random(n) < 0.1, "attendance_recent"] = np.nan
    lp = -3 + X.fillna(0.9).to_numpy() @ rng.normal(0.3, 0.2, len(FEATURES))
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return X, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--warm-up",
        type=float,
        default=0.05,
        help="seconds of untimed calls (at least one) before each timed call",
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=0.15,
        help="seconds of rest before each call's warm-up and timed run (0: back to back)",
    )
    args = parser.parse_args()
    n, r = args.rows, args.repeat

    X, y = synthetic_table(n)
    A = X.to_numpy()
    w = np.linspace(-1, 1, A.shape[1])
    A0 = np.nan_to_num(A)  # the reference product on finite data
    print(f"rows: {n:,}  features: {A.shape[1]}  rounds: {r}")

    t0 = time.perf_counter()
    model = LogisticRiskModel(penalty=None).fit(X, y)
    fit_time = time.perf_counter() - t0
    card = default_scorecard()

    rows = [
        ("reference  numpy A @ w", lambda: A0 @ w),
        ("scorecard  risk_score (DataFrame)", lambda: card.risk_score(X)),
        ("scorecard  risk_score (array)", lambda: card.risk_score(A)),
        ("logistic   risk_score (DataFrame)", lambda: model.risk_score(X)),
        ("logistic   risk_score (array)", lambda: model.decision_function(A)),
        ("scorecard  contributions (DataFrame)", lambda: card.contributions(X)),
        ("logistic   contributions (DataFrame)", lambda: model.contributions(X)),
    ]
    import warnings

    with warnings.catch_warnings():
        # the array path warns that it has no feature names, which is expected here
        warnings.simplefilter("ignore", UserWarning)
        times = np.empty((r, len(rows)))
        for i in range(r):
            for j, (_, fn) in enumerate(rows):
                time.sleep(args.pause)
                warm = time.perf_counter() + args.warm_up
                fn()  # warm-up: wakes both cores and the call's own threads
                while time.perf_counter() < warm:
                    fn()
                t0 = time.perf_counter()
                fn()
                times[i, j] = time.perf_counter() - t0
    best = times.min(axis=0)
    ratios = times / times[:, :1]
    for j, (label, _) in enumerate(rows):
        print(
            f"{label:<37}{best[j] * 1e3:8.1f} ms   ({n / best[j] / 1e6:6.1f} M rows/s)  "
            f"x{best[j] / best[0]:5.2f} ref  (median round x{np.median(ratios[:, j]):.2f}, "
            f"rounds {ratios[:, j].min():.2f}-{ratios[:, j].max():.2f})"
        )
    print(f"logistic   fit (penalty=None)         {fit_time:8.2f} s")


if __name__ == "__main__":
    main()
