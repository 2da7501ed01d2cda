"""Integer points against the full logistic model and against FasterRisk, on one split.

Run: ``python benchmarks/points.py [--cases 20000] [--years 3] [--k 16]
[--fasterrisk-python PATH]``

On a synthetic cohort (``make_cohort(cases, random_state=0)``, 90-day grid,
365-day horizon, the library's default labels), the children are split once into
training (two thirds) and test (one third) by :class:`riskscore.CaseKFold`, and
every model is fitted on the training rows and judged by AUROC on the test rows:

- the full logistic model (``LogisticRiskModel()``, ridge on standardised
  features, every catalogue feature and missing indicators): the reference;
- ``to_scorecard`` at ``--max-points`` (default 20) and at FasterRisk's own
  largest total: the scaled rounding alone (``search=False``), the integer
  lattice search for the training outcomes' AUROC (``search="outcome"``) and for
  the AUROC under the fitted model's risk (the default);
- FasterRisk (Liu et al., NeurIPS 2022: beam search for sparse integer
  coefficients in ``[-5, 5]`` with at most ``--k`` non-zero, then a search over
  multipliers), where installed, on the same binary conditions the scorecard
  chooses from (each feature's tiers, same conditions merged).

FasterRisk 0.1.10 pins numpy < 2, scikit-learn 1.2 and pandas 1.5, so it cannot
share an environment with riskscore: install it in a separate virtual
environment (``python -m venv fr && fr/bin/pip install fasterrisk``) and pass
that interpreter as ``--fasterrisk-python fr/bin/python`` (or set
``FASTERRISK_PYTHON``); the conditions go to it in a temporary ``.npz`` file and
its coefficients come back as JSON. Without it, FasterRisk is left out.

The largest possible total counts, per feature, the best of its nested tiers
(as ``to_scorecard`` does). Nothing here is asserted; figures go to the README.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

import riskscore as rs
from riskscore.vocabulary import FEATURES, SAME_CONDITION

_TIERS = {
    "flag": (">=", (1.0,)),
    "count": (">=", (1.0, 2.0, 3.0)),
    "fraction": ("<=", (0.9, 0.5)),
    "difference": (">=", (0.1, 0.2)),
}

_FASTERRISK = """
import json, sys, time
import numpy as np
from fasterrisk.fasterrisk import RiskScoreOptimizer
d = np.load(sys.argv[1])
t0 = time.perf_counter()
opt = RiskScoreOptimizer(X=d["X"], y=d["y"], k=int(sys.argv[2]), lb=-5, ub=5)
opt.optimize()
multipliers, b0, betas = opt.get_models()
print(json.dumps({"seconds": time.perf_counter() - t0, "multiplier": float(multipliers[0]),
                  "intercept": float(b0[0]), "coef": [float(b) for b in betas[0]]}))
"""


def conditions(X, features):
    """Binary tier conditions of every feature (same conditions merged), and their groups."""
    cols, labels, groups, seen = [], [], {}, set()
    for f in features:
        op, thresholds = _TIERS[FEATURES[f].kind]
        for t in thresholds:
            key = SAME_CONDITION.get((f, op, t), (f, op, t))
            if key in seen or key[0] not in X.columns:
                continue
            seen.add(key)
            x = X[key[0]].to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                fire = (x >= key[2]) if key[1] == ">=" else (x <= key[2])
            if fire.any():
                groups.setdefault(key[0], []).append(len(cols))
                cols.append(fire.astype(float))
                labels.append(f"{key[0]} {key[1]} {key[2]:g}")
    return np.column_stack(cols), labels, list(groups.values())


def largest_total(coef, groups) -> float:
    return float(sum(max(0.0, float(np.cumsum(coef[g]).max())) for g in groups))


def card_largest_total(card) -> float:
    """Largest possible total of a card: per feature, the best running sum of its tiers."""
    by_feature: dict[str, list] = {}
    for r in card.rules:
        by_feature.setdefault(r.feature, []).append(r)
    top = 0.0
    for rules in by_feature.values():
        rules = sorted(rules, key=lambda r: r.threshold, reverse=rules[0].op == "<=")
        top += max(0.0, float(np.cumsum([r.points for r in rules]).max()))
    return top


def paired_delta(y, a, b, case_ids, n_boot=500, seed=0):
    """AUROC(a) - AUROC(b) on the same rows, with a 95% case-bootstrap interval."""
    codes = np.unique(case_ids, return_inverse=True)[1]
    n = codes.max() + 1
    rng = np.random.default_rng(seed)
    est = roc_auc_score(y, a) - roc_auc_score(y, b)
    draws = []
    for _ in range(n_boot):
        w = np.bincount(rng.integers(0, n, n), minlength=n)[codes].astype(float)
        if y[w > 0].min() == y[w > 0].max():
            continue
        draws.append(roc_auc_score(y, a, sample_weight=w) - roc_auc_score(y, b, sample_weight=w))
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return est, lo, hi


def run_fasterrisk(python, B_train, y_train, k):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "conditions.npz"
        np.savez(path, X=B_train, y=np.where(y_train == 1, 1.0, -1.0))
        out = subprocess.run(
            [python, "-c", _FASTERRISK, str(path), str(k)],
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--max-points", type=int, default=20)
    parser.add_argument("--k", type=int, default=16, help="FasterRisk's sparsity")
    parser.add_argument("--fasterrisk-python", default=os.environ.get("FASTERRISK_PYTHON"))
    parser.add_argument(
        "--fasterrisk-json",
        help="reuse FasterRisk's coefficients from this file if it exists, else save them there",
    )
    args = parser.parse_args()

    events, cases = rs.make_cohort(args.cases, random_state=0, years=args.years)
    ts = rs.make_training_set(events, cases, grid="90D", horizon=365)
    train, test = next(rs.CaseKFold(3, random_state=0).split(None, ts.y, ts.case_ids))
    Xtr, Xte, ytr, yte = ts.X.iloc[train], ts.X.iloc[test], ts.y[train], ts.y[test]
    print(
        f"{args.cases:,} cases, {len(ts.y):,} rows ({ts.y.sum():,} with the outcome); "
        f"training {len(train):,} rows, test {len(test):,} rows (split by case)"
    )

    t0 = time.perf_counter()
    model = rs.LogisticRiskModel().fit(Xtr, ytr, case_ids=ts.case_ids[train])
    fit_s = time.perf_counter() - t0
    auc_model = roc_auc_score(yte, model.risk_score(Xte))
    print(f"full logistic model: test AUROC {auc_model:.4f} (fit {fit_s:.1f} s)")

    def card_auc(max_points, search):
        t = time.perf_counter()
        card = model.to_scorecard(Xtr, ytr, max_points=max_points, search=search)
        secs = time.perf_counter() - t
        score = card.risk_score(Xte).to_numpy()
        return roc_auc_score(yte, score), secs, len(card.rules), card_largest_total(card), score

    rows = []
    budgets = [args.max_points]
    fr = None
    B_tr, labels, groups = conditions(Xtr, list(model.feature_names_in_))
    cached = args.fasterrisk_json and Path(args.fasterrisk_json).exists()
    if args.fasterrisk_python or cached:
        if cached:
            fr = json.loads(Path(args.fasterrisk_json).read_text())
        else:
            fr = run_fasterrisk(args.fasterrisk_python, B_tr, ytr, args.k)
            if args.fasterrisk_json:
                Path(args.fasterrisk_json).write_text(json.dumps({**fr, "conditions": labels}))
        if fr.get("conditions", labels) != labels:
            raise SystemExit("--fasterrisk-json holds coefficients for other conditions")
        coef = np.asarray(fr["coef"])
        fr_total = int(largest_total(coef, groups))
        B_te = np.column_stack(
            [
                (
                    Xte[lab.split()[0]].to_numpy(dtype=float) >= float(lab.split()[2])
                    if lab.split()[1] == ">="
                    else Xte[lab.split()[0]].to_numpy(dtype=float) <= float(lab.split()[2])
                ).astype(float)
                for lab in labels
            ]
        )
        fr_auc = roc_auc_score(yte, B_te @ coef)
        print(
            f"FasterRisk (k={args.k}, coefficients in [-5, 5]): test AUROC {fr_auc:.4f}, "
            f"{int((coef != 0).sum())} conditions, largest total {fr_total}, "
            f"{fr['seconds']:.0f} s"
        )
        budgets.append(fr_total)
    else:
        print("FasterRisk: not run (pass --fasterrisk-python; see the module docstring)")
    logistic_score = model.risk_score(Xte).to_numpy()
    ids = ts.case_ids[test]
    for budget in budgets:
        for search in (False, "outcome", True):
            auc, secs, n_rules, top, score = card_auc(budget, search)
            rows.append((budget, search, auc, secs, n_rules, top))
            d, lo, hi = paired_delta(yte, score, logistic_score, ids)
            line = (
                f"to_scorecard(max_points={budget}, search={search}): test AUROC {auc:.4f}, "
                f"{n_rules} rules, largest total {top:g}, {secs:.1f} s\n"
                f"    vs logistic {d:+.4f} (95% CI {lo:+.4f} to {hi:+.4f})"
            )
            if fr is not None:
                d, lo, hi = paired_delta(yte, score, B_te @ coef, ids)
                line += f"; vs FasterRisk {d:+.4f} (95% CI {lo:+.4f} to {hi:+.4f})"
            print(line)


if __name__ == "__main__":
    main()
