"""Integer points on a lattice: rounding and a coordinate search for points scorecards.

A points scorecard scores ``B @ p``: ``B`` holds, per row, which of ``K`` binary
conditions hold, and ``p`` their integer points. :func:`lattice_search` improves a
starting ``p`` (a scaled, rounded logistic solution) by moves on the integer
lattice -- one condition's points up or down by one, or one point moved from one
condition to another -- keeping the largest possible total within a budget, and
keeps a move when it raises the AUROC of the total (ties broken by the
log-likelihood of the best logistic map from total to risk). The AUROC is weighted:
each distinct pattern of conditions counts its outcome and non-outcome weights,
which are observed outcomes, or a fitted model's risk and its complement (the AUROC
the total would have if the model were right). The rows are first compressed to
their distinct condition patterns, so each move costs time in patterns, not rows.
Public names in a private module.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from riskscore._numerics import logistic_fit, loglik
from riskscore.errors import ParameterError

__all__ = [
    "round_half_away",
    "compress_patterns",
    "max_total",
    "min_total",
    "weighted_integer_auc",
    "lattice_search",
]


def round_half_away(x) -> np.ndarray:
    """Round to the nearest integer, halves away from zero (2.5 -> 3, -2.5 -> -3).

    NumPy's ``rint`` rounds halves to even (2.5 -> 2), which a reader checking a
    score sheet by hand would not expect.
    """
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def compress_patterns(B: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of the 0/1 matrix ``B`` with their outcome and non-outcome counts."""
    patterns, inverse = np.unique(np.asarray(B, dtype=np.int8), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    y = np.asarray(y, dtype=np.float64)
    pos = np.bincount(inverse, weights=y, minlength=len(patterns))
    neg = np.bincount(inverse, weights=1.0 - y, minlength=len(patterns))
    return patterns.astype(np.float64), pos, neg


def max_total(points: np.ndarray, groups: Sequence[np.ndarray]) -> float:
    """Largest possible total: per feature, the best of its nested tiers' running sums.

    ``groups`` lists, per feature, the condition indices of its tiers in order
    (a row meeting tier ``b`` meets tiers ``1..b``); features are assumed able to
    reach their tiers together.
    """
    return float(sum(max(0.0, float(np.cumsum(points[g]).max())) for g in groups if len(g)))


def min_total(points: np.ndarray, groups: Sequence[np.ndarray]) -> float:
    """Smallest possible total: per feature, the lowest of its tiers' running sums (or 0)."""
    return float(sum(min(0.0, float(np.cumsum(points[g]).min())) for g in groups if len(g)))


def weighted_integer_auc(total: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """AUROC of integer totals from outcome and non-outcome weights (ties count half)."""
    t = np.asarray(total, dtype=np.int64)
    t = t - t.min()
    size = int(t.max()) + 1
    p = np.bincount(t, weights=pos, minlength=size)
    n = np.bincount(t, weights=neg, minlength=size)
    n_pos, n_neg = p.sum(), n.sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    below = np.concatenate([[0.0], np.cumsum(n)[:-1]])
    return float(np.sum(p * (below + 0.5 * n)) / (n_pos * n_neg))


def _loglik(total, pos, neg) -> float:
    """Log-likelihood of the best ``a + b * total`` logistic map (patterns weighted)."""
    lp = np.concatenate([total, total])
    y = np.concatenate([np.ones_like(total), np.zeros_like(total)])
    w = np.concatenate([pos, neg])
    a, b = logistic_fit(lp, y, w)
    if not np.isfinite(a):
        return -np.inf
    return loglik(a, b, lp, y, w)


def lattice_search(
    patterns: np.ndarray,
    pos: np.ndarray,
    neg: np.ndarray,
    groups: Sequence[np.ndarray],
    start: np.ndarray,
    max_points: int,
    *,
    objective: str = "auroc",
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    max_sweeps: int = 100,
) -> tuple[np.ndarray, float]:
    """Improve integer points by single and paired unit moves; return ``(points, auroc)``.

    Each sweep tries every move ``p[k] += 1`` and ``p[k] -= 1`` and, when none of
    those helps, every ``p[k] += 1, p[j] -= 1`` with ``p[j]`` not 0; a move is kept
    (at once) when the largest possible total stays in ``1..max_points``, the
    smallest at or above ``-max_points``, each condition's points stay within
    ``lower`` and ``upper`` (default: unbounded), and the objective rises: the training AUROC of the total, ties broken by the
    log-likelihood of the total's best logistic map (``objective="auroc"``), or
    that log-likelihood alone (``"loglik"``). Stops when a sweep keeps nothing.
    """
    if objective not in ("auroc", "loglik"):
        raise ParameterError(f"objective must be 'auroc' or 'loglik', got {objective!r}.")

    def score(total, incumbent=None):
        if np.ptp(total) == 0:
            return (-np.inf, -np.inf)
        if objective == "loglik":
            return (_loglik(total, pos, neg), 0.0)
        auc = weighted_integer_auc(total, pos, neg)
        if incumbent is not None and auc < incumbent[0] - 1e-12:
            return (auc, -np.inf)  # worse: the tie-break is not needed
        return (auc, _loglik(total, pos, neg))

    def better(a, b):
        return a[0] > b[0] + 1e-12 or (abs(a[0] - b[0]) <= 1e-12 and a[1] > b[1] + 1e-9)

    p = np.asarray(start, dtype=np.float64).copy()
    lo = np.full(len(p), -np.inf) if lower is None else np.asarray(lower, dtype=np.float64)
    hi = np.full(len(p), np.inf) if upper is None else np.asarray(upper, dtype=np.float64)

    def feasible(k):
        return (
            lo[k] <= p[k] <= hi[k]
            and 0 < max_total(p, groups) <= max_points
            and min_total(p, groups) >= -max_points
        )

    total = patterns @ p
    best = score(total)
    K = len(p)
    for _ in range(max_sweeps):
        improved = False
        for k in range(K):
            for step in (1.0, -1.0):
                p[k] += step
                if feasible(k):
                    cand = total + step * patterns[:, k]
                    s = score(cand, best)
                    if better(s, best):
                        total, best, improved = cand, s, True
                        continue
                p[k] -= step
        if not improved:
            # at the budget a single step up is infeasible: move a point instead
            for k in range(K):
                for j in np.flatnonzero(p):
                    if j == k:
                        continue
                    p[k] += 1.0
                    p[j] -= 1.0
                    if feasible(k) and feasible(j):
                        cand = total + patterns[:, k] - patterns[:, j]
                        s = score(cand, best)
                        if better(s, best):
                            total, best, improved = cand, s, True
                            continue
                    p[k] -= 1.0
                    p[j] += 1.0
        if not improved:
            break
    return p, weighted_integer_auc(total, pos, neg)
