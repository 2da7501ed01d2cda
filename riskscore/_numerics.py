"""Small numerical tools shared by the models, evaluation and the subgroup audit.

Two-parameter logistic fits (calibration, points-to-risk maps) fast enough to run
inside a case bootstrap, weighted ranking metrics, case-bootstrap weights and
percentile intervals. Public names in a private module.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy.special import expit, logit, ndtri

from riskscore.errors import RiskscoreError, SchemaError

__all__ = [
    "EPS",
    "MAX_BOOT",
    "Ranker",
    "alert_threshold",
    "binary_auc",
    "group_codes",
    "case_codes",
    "group_resample_index",
    "logistic_fit",
    "loglik",
    "normal_quantile",
    "percentile_interval",
    "replicate_weights",
]

EPS = 1e-12

#: Most bootstrap replicates one call may ask for (``n_boot``), as the command line
#: allows: every replicate is held in memory, and more add nothing to a percentile
#: interval. Every public function taking ``n_boot`` refuses more, naming it.
MAX_BOOT = 100_000


def loglik(a: float, b: float, lp, y, w) -> float:
    eta = a + b * lp
    return float(np.sum(w * (y * eta - np.logaddexp(0.0, eta))))


def logistic_fit(lp, y, w=None, *, slope: bool = True, start=None, max_iter: int = 50):
    """Weighted ML fit of ``logit P(y) = a + b * lp`` (or ``a + lp`` when ``slope=False``).

    A two-parameter Newton solve in numpy: fast enough to run inside the case
    bootstrap on a million rows. Returns ``(a, b)``; NaN when it does not converge
    (for example perfect separation in a tiny resample).
    """
    lp = np.asarray(lp, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(lp) if w is None else np.asarray(w, dtype=np.float64)
    if start is None:
        rate = np.clip(np.sum(w * y) / max(np.sum(w), EPS), 1e-6, 1 - 1e-6)
        start = (float(logit(rate) - np.sum(w * lp) / max(np.sum(w), EPS)), 1.0)
        if slope:
            start = (float(logit(rate)), 0.0)
    a, b = float(start[0]), float(start[1]) if slope else 1.0
    for _ in range(max_iter):
        eta = a + b * lp
        p = expit(eta)
        r = w * (y - p)
        v = w * p * (1 - p)
        ga = r.sum()
        ha = v.sum()
        if not slope:
            if ha <= 0:
                return math.nan, 1.0
            step = ga / ha
            a += step
            if abs(step) < 1e-10:
                return a, 1.0
            continue
        gb = (r * lp).sum()
        hab = (v * lp).sum()
        hbb = (v * lp * lp).sum()
        det = ha * hbb - hab * hab
        if not det > 0:
            return math.nan, math.nan
        da = (hbb * ga - hab * gb) / det
        db = (ha * gb - hab * ga) / det
        # damp huge steps (near-separation) so Newton does not overshoot into overflow,
        # then halve the step until the likelihood does not fall: plain Newton can
        # swing between two points on ordinary data when started far from the optimum
        scale = min(1.0, 5.0 / max(abs(da), abs(db), EPS))
        current = loglik(a, b, lp, y, w)
        for _ in range(30):
            if loglik(a + scale * da, b + scale * db, lp, y, w) >= current - 1e-12:
                break
            scale /= 2
        a += scale * da
        b += scale * db
        if max(abs(da), abs(db)) < 1e-9:
            return a, b
    return (math.nan, math.nan) if slope else (math.nan, 1.0)


class Ranker:
    """Precomputed sort of predictions within groups, for fast weighted metrics.

    Rows are sorted by (group, prediction); tied predictions in a group form one
    block. Any row weights (a case bootstrap replicate) then give AUROC per group
    and AUPRC overall from ``bincount`` and ``cumsum`` alone, with ties handled as
    scikit-learn does.
    """

    def __init__(self, p: np.ndarray, gcode: np.ndarray | None = None, n_groups: int = 1):
        n = len(p)
        gcode = np.zeros(n, dtype=np.int64) if gcode is None else np.asarray(gcode, np.int64)
        order = np.lexsort((p, gcode))
        ps, gs = p[order], gcode[order]
        new = np.ones(n, dtype=bool)
        if n:
            new[1:] = (ps[1:] != ps[:-1]) | (gs[1:] != gs[:-1])
        block_sorted = np.cumsum(new) - 1
        self.block = np.empty(n, dtype=np.int64)
        self.block[order] = block_sorted
        self.block_group = gs[new]
        self.n_blocks = int(new.sum())
        self.n_groups = int(n_groups)

    def sums(self, w, y):
        wp = np.bincount(self.block, weights=w * y, minlength=self.n_blocks)
        wn = np.bincount(self.block, weights=w * (1 - y), minlength=self.n_blocks)
        return wp, wn

    def auroc(self, wp, wn) -> np.ndarray:
        g = self.block_group
        Wn = np.bincount(g, weights=wn, minlength=self.n_groups)
        Wp = np.bincount(g, weights=wp, minlength=self.n_groups)
        before = np.cumsum(Wn) - Wn
        below = np.cumsum(wn) - wn - before[g]
        num = np.bincount(g, weights=wp * (below + 0.5 * wn), minlength=self.n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            return num / (Wp * Wn)

    def auprc(self, wp, wn) -> float:
        """Average precision (single group), thresholds from the highest prediction down."""
        tp = np.cumsum(wp[::-1])
        alls = np.cumsum((wp + wn)[::-1])
        total = tp[-1] if len(tp) else 0.0
        if total <= 0:
            return math.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(alls > 0, tp / alls, 0.0)
        return float(np.sum(wp[::-1] / total * precision))


def group_codes(groups) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(np.asarray(groups), use_na_sentinel=False)
    return codes.astype(np.int64), len(uniques)


def case_codes(
    case_ids,
    n_rows: int,
    who: str,
    rows_of: str,
    *,
    name: str = "case_ids",
    error: type[RiskscoreError] = SchemaError,
    sort: bool = False,
) -> tuple[np.ndarray, int]:
    """:func:`group_codes` of a case id per row, or an ``error`` saying what is wrong.

    ``who`` starts the messages (the function called), ``name`` is the argument that
    holds the ids and ``rows_of`` names the table whose rows the ids belong to. A
    missing id is refused, not factorised: it would put every row without an id
    together as one child. With ``sort=True`` the codes follow the sorted ids, not
    the order of the rows (ids of kinds that do not sort together, numbers and text,
    are sorted as text), so that what is drawn by code does not depend on row order.
    """
    ids = case_ids if isinstance(case_ids, np.ndarray) else np.asarray(case_ids, dtype=object)
    if ids.ndim != 1:
        raise error(
            f"{who}: {name} must be one case id per row of {rows_of} (1-D); got an array "
            f"of shape {ids.shape}. Fix: pass the case_id column."
        )
    if len(ids) != n_rows:
        raise error(
            f"{who}: {name} has {len(ids)} rows but {rows_of} has {n_rows}. Fix: pass the "
            f"case id of every row of {rows_of}, in the same order."
        )
    missing = np.flatnonzero(pd.isna(pd.Series(ids, dtype=object)).to_numpy())
    if len(missing):
        rows = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise error(
            f"{who}: {name}: {len(missing)} case id(s) are missing (None or NaN), rows "
            f"{rows} (0-based). A row without a case id cannot be kept with its child's "
            "other rows. Fix: give every row its case id, or drop those rows first."
        )
    if not sort:
        return group_codes(ids)
    try:
        codes, uniques = pd.factorize(ids, use_na_sentinel=False, sort=True)
    except TypeError:  # ids of kinds that do not sort together (numbers and text)
        codes, uniques = pd.factorize(pd.Series(ids, dtype=object).astype(str), sort=True)
    return codes.astype(np.int64), len(uniques)


def replicate_weights(codes, n_cases, n_boot, random_state):
    """Row weights of case-bootstrap replicates: each case drawn with replacement."""
    rng = np.random.default_rng(random_state)
    for _ in range(n_boot):
        counts = np.bincount(rng.integers(0, n_cases, n_cases), minlength=n_cases)
        yield counts[codes].astype(np.float64)


def alert_threshold(p: np.ndarray, rate: float) -> float:
    """Probability cut giving (at least) ``rate`` of rows alerted; ties at the cut are alerted."""
    k = max(1, int(math.ceil(rate * len(p))))
    return float(np.partition(p, len(p) - k)[len(p) - k])


def percentile_interval(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - level) / 2
    # a metric undefined in every replicate (no events in a tiny group) gives NaN
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanquantile(draws, alpha, axis=0) if len(draws) else np.nan
        hi = np.nanquantile(draws, 1 - alpha, axis=0) if len(draws) else np.nan
    return lo, hi


def binary_auc(score: np.ndarray, y: np.ndarray) -> float:
    """AUROC of integer scores from counts (fast on millions of rows)."""
    s = score.astype(np.int64)
    s = s - s.min()
    pos = np.bincount(s, weights=y, minlength=s.max() + 1)
    tot = np.bincount(s, minlength=s.max() + 1).astype(np.float64)
    neg = tot - pos
    n_pos, n_neg = pos.sum(), neg.sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    neg_below = np.concatenate([[0.0], np.cumsum(neg)[:-1]])
    return float(np.sum(pos * (neg_below + 0.5 * neg)) / (n_pos * n_neg))


def group_resample_index(codes_sorted_order, starts, lengths, rng):
    """Row indices of a bootstrap sample of whole groups (cases)."""
    n_groups = len(starts)
    pick = rng.integers(0, n_groups, size=n_groups)
    lens = lengths[pick]
    # positions within each picked group, then offset by the group's start
    offsets = np.repeat(starts[pick] - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    return codes_sorted_order[np.arange(lens.sum()) + offsets]


def normal_quantile(p: float) -> float:
    """Standard normal quantile."""
    return float(ndtri(p))
