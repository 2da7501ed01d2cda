"""Numerics of prediction-model practice: minimum sample size, smoothed calibration.

- :func:`riley_sample_size`: the minimum sample size for developing a prediction
  model of a binary outcome (Riley RD et al., "Calculating the sample size required
  for developing a clinical prediction model", BMJ 2020;368:m441), as in the
  ``pmsampsize`` software: the largest of (i) expected uniform shrinkage of at least
  0.9, (ii) an optimism of at most 0.05 in the apparent Nagelkerke R-squared, and
  (iii) the overall outcome proportion estimated within +-0.05.
- :func:`spline_basis` and :func:`smoothed_calibration`: a calibration curve from
  a logistic regression of the outcome on a restricted (natural) cubic spline of
  the predicted log-odds (Harrell's parameterisation), one of the two smoothers
  TRIPOD and Van Calster et al. (2016) recommend beside grouped deciles.

Public names in a private module.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

__all__ = ["riley_sample_size", "spline_basis", "spline_knots", "smoothed_calibration"]


def riley_sample_size(
    n_parameters: int,
    prevalence: float,
    r2_cs: float,
    *,
    shrinkage: float = 0.9,
    optimism: float = 0.05,
    margin: float = 0.05,
) -> dict[str, float]:
    """Minimum sample size of each Riley et al. (2020) criterion for a binary outcome.

    Parameters
    ----------
    n_parameters : int
        Candidate predictor parameters (coefficients, not counting the intercept).
    prevalence : float
        Anticipated outcome proportion.
    r2_cs : float
        Anticipated Cox-Snell R-squared (must be below its maximum).
    shrinkage, optimism, margin
        Targets of criteria (i), (ii) and (iii).

    Returns
    -------
    dict
        ``shrinkage``, ``optimism``, ``prevalence``: the sample size each needs
        (not rounded); ``max_r2_cs``.
    """
    phi = float(prevalence)
    ln_null = phi * math.log(phi) + (1 - phi) * math.log(1 - phi)
    max_r2 = 1 - math.exp(2 * ln_null)
    p = float(n_parameters)
    n1 = p / ((shrinkage - 1) * math.log(1 - r2_cs / shrinkage))
    s2 = r2_cs / (r2_cs + optimism * max_r2)
    n2 = p / ((s2 - 1) * math.log(1 - r2_cs / s2))
    n3 = (1.959963984540054 / margin) ** 2 * phi * (1 - phi)
    return {"shrinkage": n1, "optimism": n2, "prevalence": n3, "max_r2_cs": max_r2}


def spline_knots(x: np.ndarray, n_knots: int = 4) -> np.ndarray:
    """Knots at Harrell's recommended quantiles (4 knots: 5%, 35%, 65%, 95%)."""
    quantiles = {
        3: (0.10, 0.50, 0.90),
        4: (0.05, 0.35, 0.65, 0.95),
        5: (0.05, 0.275, 0.5, 0.725, 0.95),
    }
    return np.unique(np.quantile(x, quantiles[n_knots]))


def spline_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Restricted cubic spline basis: ``x`` and ``len(knots) - 2`` non-linear terms."""
    x = np.asarray(x, dtype=np.float64)
    k = np.asarray(knots, dtype=np.float64)
    cols = [x]
    if len(k) >= 3:
        scale = (k[-1] - k[0]) ** 2
        last, before = k[-1], k[-2]

        def cube(u):
            return np.maximum(u, 0.0) ** 3

        for j in range(len(k) - 2):
            term = (
                cube(x - k[j])
                - cube(x - before) * (last - k[j]) / (last - before)
                + cube(x - last) * (before - k[j]) / (last - before)
            )
            cols.append(term / scale)
    return np.column_stack(cols)


def _fit(D, events, totals, start=None, max_iter: int = 50):
    """Binomial logistic fit of ``events`` of ``totals`` on design ``D`` (Newton)."""
    beta = np.zeros(D.shape[1]) if start is None else np.asarray(start, dtype=np.float64).copy()
    for _ in range(max_iter):
        p = expit(D @ beta)
        grad = D.T @ (events - totals * p)
        hess = D.T @ (D * (totals * p * (1 - p))[:, None])
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if np.max(np.abs(step)) < 1e-9:
            return beta
    return beta if np.all(np.isfinite(beta)) else None


def smoothed_calibration(
    lp: np.ndarray,
    y: np.ndarray,
    grid_lp: np.ndarray,
    weights=(),
    *,
    n_bins: int = 500,
    n_knots: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Observed risk at ``grid_lp`` from a spline logistic fit of ``y`` on ``lp``.

    The rows are first gathered into ``n_bins`` quantile bins of ``lp``, each at its
    mean log-odds (so that bootstrap replicates cost a ``bincount`` each); the
    spline has knots at Harrell's quantiles of ``lp``.

    Returns
    -------
    estimate : ndarray
        Smoothed observed risk at each grid point.
    draws : ndarray of shape (len(weights), len(grid_lp))
        The same for each replicate weight vector in ``weights`` (NaN where a
        replicate's fit fails).
    """
    lp = np.asarray(lp, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    edges = np.unique(np.quantile(lp, np.linspace(0, 1, n_bins + 1)))
    b = np.clip(np.searchsorted(edges, lp, side="right") - 1, 0, max(len(edges) - 2, 0))
    nb = int(b.max()) + 1
    count = np.bincount(b, minlength=nb).astype(np.float64)
    centre = np.bincount(b, weights=lp, minlength=nb) / np.maximum(count, 1)
    knots = spline_knots(lp, n_knots)
    D = np.column_stack([np.ones(nb), spline_basis(centre, knots)])
    G = np.column_stack([np.ones(len(grid_lp)), spline_basis(grid_lp, knots)])
    used = count > 0
    beta = _fit(D[used], np.bincount(b, weights=y, minlength=nb)[used], count[used])
    estimate = expit(G @ beta) if beta is not None else np.full(len(grid_lp), np.nan)
    draws = []
    for w in weights:
        tot = np.bincount(b, weights=w, minlength=nb)
        ok = tot > 0
        beta_w = _fit(D[ok], np.bincount(b, weights=w * y, minlength=nb)[ok], tot[ok], beta)
        draws.append(expit(G @ beta_w) if beta_w is not None else np.full(len(grid_lp), np.nan))
    return estimate, np.asarray(draws).reshape(len(draws), len(grid_lp))
