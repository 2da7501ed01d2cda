"""Honest validation of risk models: grouped and temporal splits, calibration, decision curves.

:func:`evaluate` validates any model kind on a :class:`~riskscore.TrainingSet`:

- a :class:`~riskscore.RuleScorecard` keeps its expert-set points; only the mapping
  from points to a probability (a logistic fit of the outcome on the points) is
  learned, on each training fold;
- an estimator with ``fit`` and ``predict_proba`` (a
  :class:`~riskscore.LogisticRiskModel`, :class:`IntegerPointsModel`, any
  scikit-learn classifier) is cloned and refitted on each training fold;
- with ``refit=False`` the model is applied as it is to every row (external
  validation of a finished model file).

Splits never put the same child on both sides (checked on every split, whatever
splitter is passed). Predictions are out-of-fold; intervals are percentile
bootstrap intervals that resample *cases* (children) in the validation
predictions, with no refits, because the several as-of rows of one child are not
independent.

Calibration intercept is calibration-in-the-large: ``a`` in
``logit P(y) = a + logit(p)`` (0 is ideal). Calibration slope is ``b`` in
``logit P(y) = a + b logit(p)`` (1 is ideal; below 1 means predictions too extreme).
Net benefit at threshold ``t`` is ``TP/n - FP/n * t / (1 - t)``.

Every count-bearing table in an :class:`EvaluationResult` passes disclosure
control by default; the case-level ``predictions`` table is individual-level,
stamped as such, and must stay inside the secure environment.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.base import clone
from tqdm.auto import tqdm

from riskscore._version import __version__
from riskscore.disclosure import DISCLOSURE_ATTR, apply_disclosure, mark_undisclosed
from riskscore.errors import EstimationError, LeakageError, SchemaError
from riskscore.logistic import DEFAULT_PROBABILITY_BANDS, LogisticRiskModel
from riskscore.scorecard import AUDIT_ONLY_NOTICE, RuleScorecard
from riskscore.vocabulary import FEATURES

__all__ = [
    "CaseKFold",
    "TemporalSplit",
    "IntegerPointsModel",
    "EvaluationResult",
    "evaluate",
    "evaluation_report",
    "compare_models",
    "check_no_shared_cases",
]

_EPS = 1e-12
_PREDICTIONS_REASON = (
    "case-level predictions: individual-level data, keep inside the secure environment"
)


# --------------------------------------------------------------------------- splitters


class CaseKFold:
    """K-fold cross-validation by case, stratified by whether a case ever has the outcome.

    Every row of a case goes to the same fold, so no child is on both sides. Cases
    with at least one positive row and cases with none are shuffled separately and
    dealt round-robin to the folds, so each fold gets about the same share of
    outcomes. Vectorised: fast on millions of rows (scikit-learn's
    ``StratifiedGroupKFold`` loops over groups in Python).

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds (at least 2).
    shuffle : bool, default=True
        Shuffle cases before dealing them out (otherwise in order of first appearance).
    random_state : int or None, default=0
        Seed for the shuffle.

    Examples
    --------
    >>> import numpy as np
    >>> from riskscore.evaluation import CaseKFold
    >>> groups = np.repeat(["a", "b", "c", "d"], 3); y = np.zeros(12); y[0] = 1
    >>> folds = list(CaseKFold(2).split(None, y, groups))
    >>> [len(test) for _, test in folds]
    [6, 6]
    """

    def __init__(self, n_splits: int = 5, *, shuffle: bool = True, random_state=0):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of folds."""
        return int(self.n_splits)

    def split(self, X, y, groups):
        """Yield ``(train, test)`` row positions, one pair per fold.

        Examples
        --------
        >>> from riskscore.evaluation import CaseKFold
        >>> len(list(CaseKFold(3).split(None, [0, 1, 0, 1, 0, 0], list("aabbcc"))))
        3
        """
        if not isinstance(self.n_splits, numbers.Integral) or self.n_splits < 2:
            raise ValueError(f"n_splits must be an integer of at least 2, got {self.n_splits!r}.")
        if groups is None:
            raise ValueError("CaseKFold needs groups (the case_id of every row).")
        codes, uniques = pd.factorize(np.asarray(groups), use_na_sentinel=False)
        n_cases = len(uniques)
        if n_cases < self.n_splits:
            raise ValueError(
                f"CaseKFold: {n_cases} case(s) cannot fill n_splits={self.n_splits} folds."
            )
        yb = np.asarray(y, dtype=np.float64) > 0
        positive = np.bincount(codes, weights=yb, minlength=n_cases) > 0
        rng = np.random.default_rng(self.random_state)
        fold = np.empty(n_cases, dtype=np.int64)
        offset = 0
        for stratum in (positive, ~positive):
            members = np.flatnonzero(stratum)
            if self.shuffle:
                members = rng.permutation(members)
            # continue the round-robin where the previous stratum stopped, so fold
            # sizes stay balanced overall
            fold[members] = (np.arange(len(members)) + offset) % self.n_splits
            offset += len(members)
        row_fold = fold[codes]
        for k in range(self.n_splits):
            test = row_fold == k
            yield np.flatnonzero(~test), np.flatnonzero(test)


class TemporalSplit:
    """One temporal split: train on the past, test on the future, no child on both sides.

    Training rows have ``as_of + horizon`` before ``cut`` (their label window had
    closed by the cut); test rows have ``as_of`` on or after ``cut``. Rows between
    are in neither. A case with rows on both sides is removed from training (the
    test period keeps its whole population, as a prospective check would), and the
    number removed is kept in ``removed_cases_``.

    Parameters
    ----------
    as_of : array-like of dates
        The as-of date of every row (``TrainingSet.as_of``).
    horizon : int
        Label horizon in days.
    cut : date, optional
        The cut date. Default: see :meth:`cut_date`.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore.evaluation import TemporalSplit
    >>> as_of = pd.to_datetime(["2101-01-01", "2101-06-01", "2103-01-01", "2103-02-01"])
    >>> split = TemporalSplit(as_of, horizon=365, cut="2102-12-01")
    >>> [a.tolist() for a in next(split.split(None, None, ["a", "b", "c", "a"]))]
    [[1], [2, 3]]
    """

    def __init__(self, as_of, horizon: int, cut=None):
        self.as_of = as_of
        self.horizon = horizon
        self.cut = cut

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Always 1."""
        return 1

    def cut_date(self) -> pd.Timestamp:
        """The cut date in use.

        The default is the midpoint between the first date a training row's label
        window can close (earliest as-of + horizon) and the last as-of date, which
        splits the usable period about evenly between training and test.
        """
        if self.cut is not None:
            return pd.Timestamp(self.cut)
        t = pd.to_datetime(pd.Series(np.asarray(self.as_of)))
        lo = t.min() + pd.Timedelta(days=int(self.horizon))
        hi = t.max()
        return pd.Timestamp(lo + (hi - lo) / 2).normalize()

    def split(self, X, y, groups):
        """Yield the single ``(train, test)`` pair of row positions."""
        t = pd.to_datetime(pd.Series(np.asarray(self.as_of))).to_numpy()
        cut = np.datetime64(self.cut_date().to_datetime64())
        horizon = np.timedelta64(int(self.horizon), "D")
        train = t + horizon < cut
        test = t >= cut
        if groups is not None:
            codes, _ = pd.factorize(np.asarray(groups), use_na_sentinel=False)
            in_test = np.zeros(codes.max() + 1 if len(codes) else 0, dtype=bool)
            in_test[codes[test]] = True
            shared = train & in_test[codes]
            self.removed_cases_ = int(len(np.unique(codes[shared])))
            train &= ~shared
        else:
            self.removed_cases_ = 0
        if not train.any() or not test.any():
            raise ValueError(
                f"TemporalSplit: cut {self.cut_date().date()} leaves "
                f"{int(train.sum())} training and {int(test.sum())} test rows (training rows "
                f"need as_of + {int(self.horizon)} days before the cut). Choose a cut inside "
                "the data, or a shorter horizon."
            )
        yield np.flatnonzero(train), np.flatnonzero(test)


def check_no_shared_cases(splits: Iterable[tuple[np.ndarray, np.ndarray]], groups) -> None:
    """Raise :class:`~riskscore.LeakageError` if any split has a case on both sides.

    Parameters
    ----------
    splits : iterable of (train, test)
        Row positions, as yielded by a splitter's ``split``.
    groups : array-like
        The case of every row.

    Examples
    --------
    >>> import numpy as np
    >>> from riskscore.evaluation import check_no_shared_cases
    >>> check_no_shared_cases([(np.array([0]), np.array([1]))], ["a", "b"])
    >>> try:
    ...     check_no_shared_cases([(np.array([0]), np.array([1]))], ["a", "a"])
    ... except Exception as e:
    ...     print(type(e).__name__)
    LeakageError
    """
    codes, uniques = pd.factorize(np.asarray(groups), use_na_sentinel=False)
    for k, (train, test) in enumerate(splits):
        shared = np.intersect1d(codes[np.asarray(train)], codes[np.asarray(test)])
        if len(shared):
            raise LeakageError(
                f"split {k}: {len(shared)} case(s) have rows in both the training and the "
                f"validation side (first: {list(uniques[shared[:3]])}). Split by case: use "
                "CaseKFold, TemporalSplit or a scikit-learn group splitter with groups=case_id."
            )


# --------------------------------------------------------------------------- models


class IntegerPointsModel:
    """A logistic model turned into integer points, as one estimator (for honest validation).

    ``fit`` fits a clone of ``base`` and converts it with
    :meth:`LogisticRiskModel.to_scorecard` on the same rows; probabilities come from
    the scorecard's points-to-risk fit. Cross-validating this object validates the
    whole procedure (fit, round, map), which is what the shipped points would face.

    Parameters
    ----------
    base : LogisticRiskModel, optional
        The model to fit (default ``LogisticRiskModel(penalty=None)``).
    max_points : int, default=20
        Largest possible total.

    Attributes
    ----------
    model_ : LogisticRiskModel
    scorecard_ : RuleScorecard

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscore.evaluation import IntegerPointsModel
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"siblings_removed": rng.integers(0, 3, 800).astype(float)})
    >>> y = rng.random(800) < 0.1 + 0.2 * X["siblings_removed"]
    >>> m = IntegerPointsModel(max_points=5).fit(X, y)
    >>> m.predict_proba(X).shape
    (800, 2)
    """

    def __init__(self, base: LogisticRiskModel | None = None, max_points: int = 20):
        self.base = base
        self.max_points = max_points

    def get_params(self, deep: bool = False) -> dict:
        """Parameters (scikit-learn convention)."""
        return {"base": self.base, "max_points": self.max_points}

    def set_params(self, **params) -> IntegerPointsModel:
        """Set parameters (scikit-learn convention)."""
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, X, y, groups=None) -> IntegerPointsModel:
        """Fit the base model, then round it to integer points.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from riskscore.evaluation import IntegerPointsModel
        >>> X = pd.DataFrame({"hardship_12m": [0.0, 1.0] * 50}); y = [0, 0, 0, 1] * 25
        >>> IntegerPointsModel(max_points=3).fit(X, y).scorecard_.features_
        ['hardship_12m']
        """
        base = LogisticRiskModel(penalty=None) if self.base is None else clone(self.base)
        self.model_ = base.fit(X, y, groups=groups)
        self.scorecard_ = self.model_.to_scorecard(X, y, max_points=self.max_points)
        self.classes_ = self.model_.classes_
        return self

    def risk_score(self, X) -> pd.Series:
        """Integer points per row."""
        return self.scorecard_.risk_score(X)

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities from the points-to-risk fit, shape (n, 2)."""
        a = self.scorecard_.points_to_risk_["intercept"]
        b = self.scorecard_.points_to_risk_["slope"]
        p = expit(a + b * self.risk_score(X).to_numpy(dtype=np.float64))
        return np.column_stack([1 - p, p])


def _model_kind(model) -> str:
    if isinstance(model, RuleScorecard):
        return "scorecard"
    if hasattr(model, "fit") and hasattr(model, "predict_proba"):
        return "estimator"
    raise TypeError(
        f"evaluate: cannot validate a {type(model).__name__}; pass a RuleScorecard or an "
        "estimator with fit and predict_proba (LogisticRiskModel, IntegerPointsModel)."
    )


def _describe_model(model) -> str:
    if isinstance(model, RuleScorecard):
        return f"RuleScorecard {model.name!r} ({len(model.rules)} rules)"
    if isinstance(model, IntegerPointsModel):
        return f"IntegerPointsModel(max_points={model.max_points})"
    if hasattr(model, "get_params"):
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(model.get_params(deep=False).items()))
        return f"{type(model).__name__}({params})"
    return type(model).__name__


# --------------------------------------------------------------------------- numerics


def _loglik(a: float, b: float, lp, y, w) -> float:
    eta = a + b * lp
    return float(np.sum(w * (y * eta - np.logaddexp(0.0, eta))))


def _logistic_fit(lp, y, w=None, *, slope: bool = True, start=None, max_iter: int = 50):
    """Weighted ML fit of ``logit P(y) = a + b * lp`` (or ``a + lp`` when ``slope=False``).

    A two-parameter Newton solve in numpy: fast enough to run inside the case
    bootstrap on a million rows. Returns ``(a, b)``; NaN when it does not converge
    (for example perfect separation in a tiny resample).
    """
    lp = np.asarray(lp, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(lp) if w is None else np.asarray(w, dtype=np.float64)
    if start is None:
        rate = np.clip(np.sum(w * y) / max(np.sum(w), _EPS), 1e-6, 1 - 1e-6)
        start = (float(logit(rate) - np.sum(w * lp) / max(np.sum(w), _EPS)), 1.0)
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
        scale = min(1.0, 5.0 / max(abs(da), abs(db), _EPS))
        current = _loglik(a, b, lp, y, w)
        for _ in range(30):
            if _loglik(a + scale * da, b + scale * db, lp, y, w) >= current - 1e-12:
                break
            scale /= 2
        a += scale * da
        b += scale * db
        if max(abs(da), abs(db)) < 1e-9:
            return a, b
    return (math.nan, math.nan) if slope else (math.nan, 1.0)


class _Ranker:
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


def _case_codes(groups) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(np.asarray(groups), use_na_sentinel=False)
    return codes.astype(np.int64), len(uniques)


def _replicate_weights(codes, n_cases, n_boot, random_state):
    """Row weights of case-bootstrap replicates: each case drawn with replacement."""
    rng = np.random.default_rng(random_state)
    for _ in range(n_boot):
        counts = np.bincount(rng.integers(0, n_cases, n_cases), minlength=n_cases)
        yield counts[codes].astype(np.float64)


def _alert_threshold(p: np.ndarray, rate: float) -> float:
    """Probability cut giving (at least) ``rate`` of rows alerted; ties at the cut are alerted."""
    k = max(1, int(math.ceil(rate * len(p))))
    return float(np.partition(p, len(p) - k)[len(p) - k])


def _point_metrics(y, p, w, ranker, lp, start_citl=None, start_slope=None) -> dict[str, float]:
    wsum = w.sum()
    wp, wn = ranker.sums(w, y)
    citl, _ = _logistic_fit(lp, y, w, slope=False, start=start_citl)
    a, b = _logistic_fit(lp, y, w, slope=True, start=start_slope)
    return {
        "auroc": float(ranker.auroc(wp, wn)[0]),
        "auprc": ranker.auprc(wp, wn),
        "brier": float(np.sum(w * (p - y) ** 2) / wsum),
        "calibration_intercept": citl,
        "calibration_slope": b,
        "calibration_slope_intercept": a,
        "observed_rate": float(np.sum(w * y) / wsum),
        "mean_predicted": float(np.sum(w * p) / wsum),
    }


_METRIC_LABELS = {
    "auroc": "AUROC (area under the ROC curve)",
    "auprc": "AUPRC (average precision)",
    "brier": "Brier score",
    "calibration_intercept": "Calibration-in-the-large (0 is ideal)",
    "calibration_slope": "Calibration slope (1 is ideal)",
    "observed_rate": "Observed outcome rate (rows)",
    "mean_predicted": "Mean predicted risk",
}


def _interval(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - level) / 2
    # a metric undefined in every replicate (no events in a tiny group) gives NaN
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanquantile(draws, alpha, axis=0) if len(draws) else np.nan
        hi = np.nanquantile(draws, 1 - alpha, axis=0) if len(draws) else np.nan
    return lo, hi


# --------------------------------------------------------------------------- result


@dataclass
class EvaluationResult:
    """Tables from :func:`evaluate`; plotting and rendering only read them.

    Attributes
    ----------
    metrics : DataFrame
        ``metric, label, estimate, lower, upper`` (AUROC, AUPRC, Brier score,
        calibration intercept and slope, observed rate, mean predicted risk).
    calibration : DataFrame
        Deciles of predicted risk: ``bin, n, events, mean_predicted, observed``
        (disclosure-controlled by default).
    decision_curve : DataFrame
        ``threshold, alerts, true_positives, net_benefit, treat_all, treat_none``.
    alerts : DataFrame
        Sensitivity, PPV and alert rate (with case-bootstrap intervals) at chosen
        alert rates, probability thresholds and the model's band thresholds.
    roc : DataFrame
        The ROC curve interpolated on a fixed grid of 101 false-positive rates
        (no individual thresholds), for plotting.
    predictions : DataFrame
        Case-level out-of-fold predictions (``case_id, as_of, y, fold, score,
        probability``). Individual-level: keep inside the secure environment.
    design : dict
        Validation design, sample sizes (disclosure-controlled) and notes.
    subgroups : DataFrame or None
        :func:`riskscore.subgroup_metrics` table, when asked for.
    """

    metrics: pd.DataFrame
    calibration: pd.DataFrame
    decision_curve: pd.DataFrame
    alerts: pd.DataFrame
    roc: pd.DataFrame
    predictions: pd.DataFrame
    design: dict
    subgroups: pd.DataFrame | None = None
    draws: pd.DataFrame | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ access
    def metric(self, name: str) -> float:
        """Point estimate of one metric, e.g. ``result.metric("auroc")``.

        Examples
        --------
        >>> from riskscore.evaluation import _example_result
        >>> 0.5 < _example_result().metric("auroc") <= 1
        True
        """
        row = self.metrics.loc[self.metrics["metric"] == name, "estimate"]
        if row.empty:
            raise KeyError(f"no metric {name!r}; have {list(self.metrics['metric'])}")
        return float(row.iloc[0])

    def __repr__(self) -> str:
        m = self.metrics.set_index("metric")
        parts = [
            f"{k}={m.loc[k, 'estimate']:.3f} [{m.loc[k, 'lower']:.3f}, {m.loc[k, 'upper']:.3f}]"
            for k in ("auroc", "auprc", "calibration_slope")
            if k in m.index
        ]
        return f"EvaluationResult({self.design.get('validation', '')}: " + ", ".join(parts) + ")"

    # ------------------------------------------------------------------ plots
    @staticmethod
    def _axes(ax):
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(5, 4.2), layout="constrained").subplots()
        return ax

    def plot_calibration(self, ax=None):
        """Observed against mean predicted risk by decile (suppressed bins are not drawn).

        Examples
        --------
        >>> from riskscore.evaluation import _example_result
        >>> _example_result().plot_calibration().get_xlabel()
        'Mean predicted risk'
        """
        ax = self._axes(ax)
        t = self.calibration
        x = pd.to_numeric(t["mean_predicted"], errors="coerce").to_numpy(dtype=float)
        yv = pd.to_numeric(t["observed"], errors="coerce").to_numpy(dtype=float)
        top = np.nanmax(np.concatenate([x, yv, [0.01]]))
        ax.plot([0, top], [0, top], ls="--", color="grey", lw=1, label="ideal")
        ax.plot(x, yv, "o-", color="C0", label="model (deciles)")
        ci = self.metrics.set_index("metric")
        if "calibration_slope" in ci.index:
            ax.set_title(
                f"Calibration: slope {ci.loc['calibration_slope', 'estimate']:.2f}, "
                f"in-the-large {ci.loc['calibration_intercept', 'estimate']:+.2f}",
                fontsize=9,
            )
        ax.set_xlabel("Mean predicted risk")
        ax.set_ylabel("Observed rate")
        ax.legend(fontsize=8)
        return ax

    def plot_decision_curve(self, ax=None):
        """Net benefit of the model against treat-all and treat-none across thresholds.

        Examples
        --------
        >>> from riskscore.evaluation import _example_result
        >>> _example_result().plot_decision_curve().get_ylabel()
        'Net benefit'
        """
        ax = self._axes(ax)
        d = self.decision_curve
        thr = d["threshold"].to_numpy(dtype=float)
        nb = pd.to_numeric(d["net_benefit"], errors="coerce").to_numpy(dtype=float)
        ax.plot(thr, nb, color="C0", label="model")
        ax.plot(thr, d["treat_all"].to_numpy(dtype=float), color="grey", ls="--", label="all")
        ax.plot(thr, d["treat_none"].to_numpy(dtype=float), color="black", lw=1, label="none")
        finite = nb[np.isfinite(nb)]
        top = max(finite.max() if len(finite) else 0.0, float(d["treat_all"].max()), 0.001)
        ax.set_ylim(-0.25 * top, 1.15 * top)
        ax.set_xlabel("Threshold probability")
        ax.set_ylabel("Net benefit")
        ax.set_title("Decision curve", fontsize=9)
        ax.legend(fontsize=8)
        return ax

    def plot_roc(self, ax=None, label: str | None = None):
        """ROC curve (on the stored fixed grid), with the AUROC and its interval.

        Examples
        --------
        >>> from riskscore.evaluation import _example_result
        >>> _example_result().plot_roc().get_xlabel()
        'False positive rate'
        """
        ax = self._axes(ax)
        m = self.metrics.set_index("metric")
        text = (
            f"AUROC {m.loc['auroc', 'estimate']:.3f} "
            f"[{m.loc['auroc', 'lower']:.3f}, {m.loc['auroc', 'upper']:.3f}]"
        )
        ax.plot(self.roc["fpr"], self.roc["tpr"], label=f"{label}: {text}" if label else text)
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
        ax.set_xlabel("False positive rate")
        ax.set_ylabel("True positive rate (sensitivity)")
        ax.legend(fontsize=8, loc="lower right")
        return ax

    # ------------------------------------------------------------------ model card
    def model_card_entries(self) -> dict:
        """Validation entries for a model card (metrics with intervals, calibration, design).

        Examples
        --------
        >>> from riskscore.evaluation import _example_result
        >>> sorted(_example_result().model_card_entries())[:3]
        ['alerts', 'calibration', 'metrics']
        """
        m = self.metrics.set_index("metric")
        metrics = {
            k: {
                "estimate": _num(m.loc[k, "estimate"]),
                "lower": _num(m.loc[k, "lower"]),
                "upper": _num(m.loc[k, "upper"]),
            }
            for k in m.index
        }
        out = {
            "validation": {k: v for k, v in self.design.items() if k != "notes"},
            "metrics": metrics,
            "calibration": {
                "intercept": metrics.get("calibration_intercept"),
                "slope": metrics.get("calibration_slope"),
                "deciles": _records(self.calibration),
            },
            "alerts": _records(self.alerts),
            "notes": list(self.design.get("notes", [])),
        }
        if self.subgroups is not None:
            out["subgroups"] = _records(self.subgroups)
        return out

    # ------------------------------------------------------------------ html
    def to_html(self, path=None, *, title: str = "riskscore evaluation") -> str:
        """A self-contained HTML report (figures embedded); writes it when ``path`` is given.

        Case-level predictions are never included. Tables are shown as held
        (disclosure-controlled unless the evaluation was run with
        ``disclosure=False``, which the report then says on its face).

        Examples
        --------
        >>> from riskscore.evaluation import _example_result
        >>> "<img" in _example_result().to_html()
        True
        """
        from matplotlib.figure import Figure

        figs = []
        for plot in (self.plot_roc, self.plot_calibration, self.plot_decision_curve):
            fig = Figure(figsize=(5, 4.2), layout="constrained")
            plot(ax=fig.subplots())
            figs.append(_png(fig))
        if self.subgroups is not None:
            from riskscore.fairness import plot_subgroups

            fig = Figure(figsize=(7, 4.5), layout="constrained")
            plot_subgroups(self.subgroups, ax=fig.subplots())
            figs.append(_png(fig))
        notes = [AUDIT_ONLY_NOTICE, *self.design.get("notes", [])]
        tables = [("Metrics", self.metrics), ("Alerts", self.alerts)]
        tables.append(("Calibration by decile of predicted risk", self.calibration))
        dc = self.decision_curve
        tables.append(("Decision curve (every 5th threshold)", dc.iloc[::5]))
        if self.subgroups is not None:
            tables.append(("Subgroups", self.subgroups))
        design = {k: v for k, v in self.design.items() if k != "notes"}
        parts = [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<title>{html.escape(title)}</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
            "table{border-collapse:collapse;font-size:12px;margin-bottom:1em}"
            "td,th{border:1px solid #ccc;padding:2px 6px}.notice{background:#fff3cd;"
            "padding:8px;border:1px solid #e0c36a}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            "<div class='notice'><ul>"
            + "".join(f"<li>{html.escape(str(n))}</li>" for n in notes)
            + "</ul></div>",
        ]
        undisclosed = [
            name
            for name, t in tables
            if isinstance(t.attrs.get(DISCLOSURE_ATTR), Mapping)
            and not t.attrs[DISCLOSURE_ATTR].get("applied", True)
        ]
        if undisclosed:
            parts.append(
                "<div class='notice'><b>DISCLOSURE CONTROL OFF</b> for: "
                + html.escape(", ".join(undisclosed))
                + ". Not for release outside the secure environment.</div>"
            )
        parts.append("<h2>Design</h2><table>")
        parts += [
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in design.items()
        ]
        parts.append("</table><h2>Figures</h2>")
        parts += [f"<img alt='figure' src='data:image/png;base64,{b}'/>" for b in figs]
        for name, t in tables:
            parts.append(f"<h2>{html.escape(name)}</h2>")
            parts.append(t.to_html(index=False, na_rep="[c]", float_format=lambda v: f"{v:.4g}"))
        parts.append(
            f"<p><small>riskscore {__version__}; generated "
            f"{_dt.date.today().isoformat()}; '[c]' marks a value suppressed by disclosure "
            "control (or not estimable).</small></p></body></html>"
        )
        text = "\n".join(parts)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text


def _num(v):
    return None if v is None or pd.isna(v) else float(v)


def _records(table: pd.DataFrame) -> list[dict]:
    out = table.astype(object).where(table.notna(), None)
    recs = out.to_dict("records")
    return [
        {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in r.items()}
        for r in recs
    ]


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def evaluation_report(result: EvaluationResult, path, *, title: str = "riskscore evaluation"):
    """Write ``result`` as a self-contained HTML report (see :meth:`EvaluationResult.to_html`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from riskscore.evaluation import _example_result, evaluation_report
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> evaluation_report(_example_result(), p).exists()
    True
    """
    from pathlib import Path

    result.to_html(path, title=title)
    return Path(path)


# --------------------------------------------------------------------------- evaluate


def _resolve_cv(cv, training_set, temporal_cut, random_state):
    if cv is None:
        return None, "none (model applied as it is)"
    if isinstance(cv, str):
        if cv != "temporal":
            raise ValueError(
                f"cv must be an integer, 'temporal', a splitter or a list; got {cv!r}."
            )
        horizon = (training_set.info or {}).get("horizon")
        if horizon is None:
            raise ValueError("cv='temporal' needs the training set's horizon (info['horizon']).")
        split = TemporalSplit(training_set.as_of, horizon, temporal_cut)
        return split, f"temporal split at {split.cut_date().date()} (horizon {horizon} days)"
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        return (
            CaseKFold(int(cv), random_state=random_state),
            f"{int(cv)}-fold cross-validation grouped by case (stratified by outcome)",
        )
    if hasattr(cv, "split"):
        return cv, f"{type(cv).__name__} (grouped by case)"
    if isinstance(cv, Sequence):
        return list(cv), f"{len(cv)} given splits"
    raise ValueError(f"cv must be an integer, 'temporal', a splitter or a list; got {cv!r}.")


def _fit_fold(model, kind, X, y, groups, scores, train, test):
    if kind == "scorecard":
        s_train = scores[train]
        if np.unique(y[train]).size < 2:
            raise EstimationError("evaluate: a training fold has only one outcome class.")
        a, b = _logistic_fit(s_train, y[train])
        if not np.isfinite(a):
            raise EstimationError(
                "evaluate: the points-to-risk fit did not converge on a training fold "
                "(points separate the outcome perfectly?)."
            )
        return scores[test], expit(a + b * scores[test]), []
    m = clone(model)
    Xtr = X.iloc[train]
    dropped: list[str] = []
    if isinstance(m, LogisticRiskModel) and m.features is None:
        # e.g. attendance_drop is unknown in every row of an early temporal training
        # window; leave such a feature out of this fold's fit rather than fail
        empty = Xtr.isna().all()
        if empty.any():
            dropped = [c for c in X.columns if empty[c]]
            m.set_params(features=[c for c in X.columns if c in FEATURES and not empty[c]])
    try:
        m.fit(Xtr, y[train], groups=np.asarray(groups)[train])
    except TypeError:
        m.fit(Xtr, y[train])
    Xte = X.iloc[test]
    p = np.asarray(m.predict_proba(Xte))[:, 1]
    if hasattr(m, "risk_score"):
        s = np.asarray(m.risk_score(Xte), dtype=np.float64)
    else:
        s = logit(np.clip(p, _EPS, 1 - _EPS))
    return s, p, dropped


def _band_rules(model, kind) -> list[tuple[str, str, float]]:
    """(label, scale, threshold): bands on points for scorecards, probabilities otherwise."""
    if kind == "scorecard":
        return [(f"band {k} (points >= {v:g})", "score", float(v)) for k, v in model.bands.items()]
    if isinstance(model, LogisticRiskModel):
        probs = getattr(model, "band_probabilities_", None) or model.bands
        probs = probs or DEFAULT_PROBABILITY_BANDS
        return [(f"band {k} (risk >= {v:g})", "probability", float(v)) for k, v in probs.items()]
    return []


def evaluate(
    model,
    training_set,
    cv: int | str | Any = 5,
    *,
    temporal_cut=None,
    refit: bool = True,
    n_boot: int = 200,
    level: float = 0.95,
    alert_rates: Sequence[float] = (0.01, 0.05, 0.1),
    thresholds: Sequence[float] | None = None,
    dc_thresholds: Sequence[float] | None = None,
    subgroups: pd.DataFrame | None = None,
    subgroup_by: Sequence[str] = ("sex", "ethnic_group", "imd_quintile"),
    disclosure: Any = True,
    random_state: int | None = 0,
    progress: bool | None = None,
    n_jobs: int | None = None,
) -> EvaluationResult:
    """Validate a model on a training set: grouped or temporal splits, calibration, decisions.

    Parameters
    ----------
    model : RuleScorecard or estimator
        A scorecard (its points are kept; the points-to-risk mapping is fitted on
        each training fold), or an estimator with ``fit``/``predict_proba``
        (cloned and refitted on each training fold).
    training_set : TrainingSet
        From :func:`riskscore.make_training_set` (``X, y, groups, as_of, info``).
    cv : int, "temporal", splitter or list of (train, test), default=5
        An integer: :class:`CaseKFold` with that many folds. ``"temporal"``:
        :class:`TemporalSplit` at ``temporal_cut``. A splitter with
        ``split(X, y, groups)``, or explicit index pairs. Whatever is given,
        every split is checked to have no case on both sides.
    temporal_cut : date, optional
        Cut for ``cv="temporal"`` (default: :meth:`TemporalSplit.cut_date`).
    refit : bool, default=True
        False: apply the model as it is to every row (external validation);
        needs a fitted estimator, or a scorecard carrying ``points_to_risk_``.
    n_boot : int, default=200
        Case-bootstrap replicates of the validation predictions (no refits).
    level : float, default=0.95
        Interval coverage.
    alert_rates : sequence of float, default=(0.01, 0.05, 0.1)
        Shares of rows alerted (highest predicted risk first) for the alerts table.
    thresholds : sequence of float, optional
        Extra probability thresholds for the alerts table.
    dc_thresholds : sequence of float, optional
        Decision-curve thresholds (default 0.01 to 0.50 by 0.01).
    subgroups : DataFrame, optional
        The cases table (``case_id`` plus ``sex``, ``ethnic_group``,
        ``imd_quintile``...): adds :func:`riskscore.subgroup_metrics` by
        ``subgroup_by`` at the first alert rate.
    subgroup_by : sequence of str
        Columns of ``subgroups`` to audit.
    disclosure : bool, DisclosureSettings or dict, default=True
        Disclosure control of the count-bearing tables (see
        :func:`riskscore.apply_disclosure`).
    random_state : int or None, default=0
        Seed for the folds and the bootstrap.
    progress : bool, optional
        tqdm progress bars (default: on when there are more than 100,000 rows).
    n_jobs : int, optional
        Parallel workers for the folds (joblib).

    Returns
    -------
    EvaluationResult

    Raises
    ------
    LeakageError
        A split puts the same case on both sides.
    EstimationError
        A training fold has a single outcome class, or a fit fails.

    Examples
    --------
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.training import make_training_set
    >>> from riskscore.evaluation import evaluate
    >>> from riskscore.synthetic import make_cohort
    >>> events, cases = make_cohort(600, random_state=3)
    >>> ts = make_training_set(events, cases)
    >>> res = evaluate(default_scorecard(), ts, cv=3, n_boot=20)
    >>> list(res.metrics["metric"])[:2]
    ['auroc', 'auprc']
    """
    kind = _model_kind(model)
    X, y_in, groups = training_set.X, training_set.y, training_set.groups
    y = np.asarray(y_in, dtype=np.float64)
    n = len(y)
    if len(X) != n or len(groups) != n:
        raise SchemaError(
            f"training_set: X has {len(X)} rows, y {n} and groups {len(groups)}; they must match."
        )
    if not np.isin(y, (0.0, 1.0)).all():
        raise SchemaError("training_set: y must be 0/1 outcomes.")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}.")
    if progress is None:
        progress = n > 100_000
    info = dict(getattr(training_set, "info", None) or {})
    notes: list[str] = []

    scores_all = model.risk_score(X).to_numpy(dtype=np.float64) if kind == "scorecard" else None
    fold = np.full(n, -1, dtype=np.int64)
    score = np.full(n, np.nan)
    prob = np.full(n, np.nan)
    removed_cases = 0
    if not refit:
        validation = "external: model applied as it is to every row (no refitting)"
        if kind == "scorecard":
            mapping = getattr(model, "points_to_risk_", None) or model.model_card.get(
                "points_to_risk"
            )
            if not mapping:
                raise EstimationError(
                    "evaluate(refit=False): this scorecard has no points-to-risk mapping, so "
                    "it gives no probabilities; use refit=True to fit the mapping on "
                    "training folds."
                )
            score[:] = scores_all
            prob[:] = expit(mapping["intercept"] + mapping["slope"] * scores_all)
        else:
            prob[:] = np.asarray(model.predict_proba(X))[:, 1]
            score[:] = (
                np.asarray(model.risk_score(X), dtype=np.float64)
                if hasattr(model, "risk_score")
                else logit(np.clip(prob, _EPS, 1 - _EPS))
            )
        fold[:] = 0
        splits = []
    else:
        splitter, validation = _resolve_cv(cv, training_set, temporal_cut, random_state)
        if splitter is None:
            raise ValueError("cv=None applies the model as it is: pass refit=False too.")
        splits = (
            list(splitter)
            if isinstance(splitter, list)
            else list(splitter.split(X, y, np.asarray(groups)))
        )
        check_no_shared_cases(splits, groups)
        removed_cases = int(getattr(splitter, "removed_cases_", 0))
        jobs = (
            joblib.delayed(_fit_fold)(model, kind, X, y, groups, scores_all, tr, te)
            for tr, te in splits
        )
        outs = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
        it = tqdm(outs, total=len(splits), desc="folds", disable=not progress)
        dropped_any: set[str] = set()
        for k, ((_tr, te), (s, p, dropped)) in enumerate(zip(splits, it, strict=False)):
            dropped_any.update(dropped)
            fold[te] = k
            score[te] = s
            prob[te] = p
        if kind == "scorecard":
            notes.append(
                "Scorecard points are expert-set; only the points-to-risk mapping (a logistic "
                "fit of the outcome on the points) was fitted, on each training fold."
            )
        else:
            notes.append("The model was refitted on each training fold (out-of-fold predictions).")
        if dropped_any:
            notes.append(
                f"Feature(s) {sorted(dropped_any)} were unknown in every row of a training "
                "fold and were left out of that fold's fit."
            )
    rows = fold >= 0
    if not rows.all():
        notes.append(
            f"{int((~rows).sum())} row(s) fell in no validation fold "
            "(temporal split: rows before the cut or within the horizon of it)."
        )
    yv, pv, sv = y[rows], prob[rows], score[rows]
    gv = np.asarray(groups)[rows]
    if np.unique(yv).size < 2:
        raise EstimationError("evaluate: the validation rows have only one outcome class.")
    pv = np.clip(pv, _EPS, 1 - _EPS)
    lp = logit(pv)
    codes, n_cases = _case_codes(gv)
    ranker = _Ranker(pv)
    ones = np.ones(len(yv))
    est = _point_metrics(yv, pv, ones, ranker, lp)

    # thresholds for the alerts table (fixed from the full validation set)
    alert_rules: list[tuple[str, str, float]] = []
    for r in alert_rates:
        if not 0 < r < 1:
            raise ValueError(f"alert_rates must be between 0 and 1, got {r!r}.")
        alert_rules.append((f"top {r:.3g} of rows", "probability", _alert_threshold(pv, r)))
    for t in thresholds or ():
        alert_rules.append((f"risk >= {t:g}", "probability", float(t)))
    alert_rules += _band_rules(model, kind)
    alert_masks = (
        np.column_stack([(sv if scale == "score" else pv) >= t for _, scale, t in alert_rules])
        if alert_rules
        else np.zeros((len(yv), 0), dtype=bool)
    )

    def alert_stats(w):
        pos = np.sum(w * yv)
        al = w @ alert_masks
        tp = (w * yv) @ alert_masks
        with np.errstate(invalid="ignore", divide="ignore"):
            return tp / pos, tp / al, al / w.sum()

    draws, alert_draws = [], []
    weights = _replicate_weights(codes, n_cases, n_boot, random_state)
    for w in tqdm(weights, total=n_boot, desc="bootstrap", disable=not progress):
        d = _point_metrics(
            yv,
            pv,
            w,
            ranker,
            lp,
            start_citl=(est["calibration_intercept"], 1.0),
            start_slope=(est["calibration_slope_intercept"], est["calibration_slope"]),
        )
        draws.append(d)
        alert_draws.append(np.stack(alert_stats(w)))
    names = list(_METRIC_LABELS)
    D = pd.DataFrame(draws, columns=[*names, "calibration_slope_intercept"])
    lo, hi = _interval(D[names].to_numpy(dtype=float), level)
    metrics = pd.DataFrame(
        {
            "metric": names,
            "label": [_METRIC_LABELS[k] for k in names],
            "estimate": [est[k] for k in names],
            "lower": lo,
            "upper": hi,
        }
    )

    # alerts table
    sens, ppv, rate = alert_stats(ones)
    A = np.asarray(alert_draws)  # (n_boot, 3, n_rules)
    alo, ahi = _interval(A, level) if len(A) else (np.full((3, len(alert_rules)), np.nan),) * 2
    alerts = pd.DataFrame(
        {
            "rule": [r[0] for r in alert_rules],
            "scale": [r[1] for r in alert_rules],
            "threshold": [r[2] for r in alert_rules],
            "n": len(yv),
            "alerts": alert_masks.sum(axis=0).astype(np.int64),
            "true_positives": (yv @ alert_masks).astype(np.int64),
            "alert_rate": rate,
            "sensitivity": sens,
            "sensitivity_lower": alo[0] if len(A) else np.nan,
            "sensitivity_upper": ahi[0] if len(A) else np.nan,
            "ppv": ppv,
            "ppv_lower": alo[1] if len(A) else np.nan,
            "ppv_upper": ahi[1] if len(A) else np.nan,
        }
    )
    alerts = apply_disclosure(
        alerts, disclosure, count_columns=["n", "alerts", "true_positives"], by=["rule", "scale"]
    )

    # calibration by decile
    bins = pd.qcut(pv, 10, duplicates="drop")
    cal = (
        pd.DataFrame({"bin": bins, "y": yv, "p": pv})
        .groupby("bin", observed=True)
        .agg(
            n=("y", "size"),
            events=("y", "sum"),
            mean_predicted=("p", "mean"),
            observed=("y", "mean"),
        )
        .reset_index()
    )
    cal["bin"] = cal["bin"].astype(str)
    cal["events"] = cal["events"].astype(np.int64)
    calibration = apply_disclosure(cal, disclosure, count_columns=["n", "events"], by="bin")

    # decision curve
    thr = (
        np.round(np.arange(1, 51) / 100, 2)
        if dc_thresholds is None
        else np.asarray(dc_thresholds, dtype=float)
    )
    if ((thr <= 0) | (thr >= 1)).any():
        raise ValueError("dc_thresholds must be strictly between 0 and 1.")
    order = np.sort(pv)
    n_v = len(pv)
    alerts_at = n_v - np.searchsorted(order, thr, side="left")
    ysort = yv[np.argsort(pv, kind="stable")]
    pos_above = np.concatenate([np.cumsum(ysort[::-1])[::-1], [0.0]])
    tp_at = pos_above[n_v - alerts_at]
    fp_at = alerts_at - tp_at
    prev = yv.mean()
    odds = thr / (1 - thr)
    dc = pd.DataFrame(
        {
            "threshold": thr,
            "alerts": alerts_at.astype(np.int64),
            "true_positives": tp_at.astype(np.int64),
            "net_benefit": tp_at / n_v - fp_at / n_v * odds,
            "treat_all": prev - (1 - prev) * odds,
            "treat_none": 0.0,
        }
    )
    decision_curve = apply_disclosure(
        dc,
        disclosure,
        count_columns=["alerts", "true_positives"],
        by="threshold",
        rate_columns={"net_benefit": ["alerts", "true_positives"]},
    )

    # ROC on a fixed grid of false-positive rates
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(yv, pv)
    grid = np.linspace(0, 1, 101)
    roc = pd.DataFrame({"fpr": grid, "tpr": np.interp(grid, fpr, tpr)})

    predictions = mark_undisclosed(
        pd.DataFrame(
            {
                "case_id": np.asarray(groups),
                "as_of": np.asarray(training_set.as_of),
                "y": y.astype(np.int64),
                "fold": fold,
                "score": score,
                "probability": prob,
            }
        ),
        reason=_PREDICTIONS_REASON,
    )

    counts = apply_disclosure(
        pd.DataFrame({"n_rows": [len(yv)], "n_events": [int(yv.sum())], "n_cases": [n_cases]}),
        disclosure,
        count_columns=["n_rows", "n_events", "n_cases"],
    )
    design = {
        "model": _describe_model(model),
        "validation": validation,
        "n_splits": len(splits) if refit else 0,
        "validation_rows": _num_or_none(counts["n_rows"].iloc[0]),
        "validation_events": _num_or_none(counts["n_events"].iloc[0]),
        "validation_cases": _num_or_none(counts["n_cases"].iloc[0]),
        "cases_removed_from_training_by_temporal_split": removed_cases if removed_cases else None,
        "horizon_days": info.get("horizon"),
        "grid": info.get("grid"),
        "n_boot": int(n_boot),
        "level": float(level),
        "interval_method": "percentile bootstrap resampling cases in the validation "
        "predictions (no refits)",
        "random_state": random_state,
        "disclosure": "on" if disclosure is not False else "OFF",
        "riskscore_version": __version__,
    }
    notes.append(
        "Rows are person-time (several as-of dates per child); intervals resample children, "
        "and row-level rates are not rates per child."
    )
    if info.get("synthetic"):
        notes.append(
            "Synthetic data: outcome rates are far above real ones, so precision (PPV), net "
            "benefit and alert yields look far better than they would on real records."
        )
    design["notes"] = notes

    sub = None
    if subgroups is not None:
        from riskscore.fairness import subgroup_metrics

        attrs = _subgroup_frame(subgroups, gv, subgroup_by)
        sub = subgroup_metrics(
            yv,
            pv,
            attrs,
            by=list(attrs.columns),
            alert_rate=alert_rates[0] if alert_rates else 0.1,
            case_ids=gv,
            n_boot=n_boot,
            level=level,
            disclosure=disclosure,
            random_state=random_state,
            progress=progress,
        )
    return EvaluationResult(
        metrics=metrics,
        calibration=calibration,
        decision_curve=decision_curve,
        alerts=alerts,
        roc=roc,
        predictions=predictions,
        design=design,
        subgroups=sub,
        draws=D,
    )


def _num_or_none(v):
    return None if pd.isna(v) else int(v)


def _subgroup_frame(cases: pd.DataFrame, case_ids, by) -> pd.DataFrame:
    if "case_id" not in cases.columns:
        raise SchemaError("subgroups: the cases table needs a 'case_id' column.")
    cols = [c for c in by if c in cases.columns]
    if not cols:
        raise SchemaError(
            f"subgroups: none of the columns {list(by)} is in the cases table "
            f"(columns: {list(cases.columns)})."
        )
    c = cases.drop_duplicates("case_id").set_index(cases["case_id"].drop_duplicates().astype(str))
    out = c[cols].reindex(pd.Index(np.asarray(case_ids).astype(str)))
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- compare


def compare_models(
    models: Mapping[str, Any],
    training_set,
    cv: int | str | Any = 5,
    *,
    n_boot: int = 200,
    random_state: int | None = 0,
    progress: bool | None = None,
    **kwargs,
):
    """Evaluate several models on the same splits: one table and one figure.

    Parameters
    ----------
    models : dict
        ``{name: model}`` (scorecards, estimators, :class:`IntegerPointsModel`).
    training_set : TrainingSet
    cv : int, "temporal", splitter or list, default=5
        Resolved once; every model sees exactly the same (train, test) pairs.
    n_boot, random_state, progress, **kwargs
        Passed to :func:`evaluate` (the bootstrap replicates are the same too).

    Returns
    -------
    table : DataFrame
        ``model, metric, label, estimate, lower, upper``; ``table.attrs["results"]``
        holds each model's :class:`EvaluationResult`.
    figure : matplotlib Figure
        ROC curves (left) and AUROC / calibration slope with intervals (right).

    Examples
    --------
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.training import make_training_set
    >>> from riskscore.evaluation import compare_models
    >>> from riskscore.synthetic import make_cohort
    >>> ts = make_training_set(*make_cohort(600, random_state=3))
    >>> table, fig = compare_models({"default": default_scorecard()}, ts, cv=3, n_boot=10)
    >>> sorted(set(table["model"]))
    ['default']
    """
    from matplotlib.figure import Figure

    if not models:
        raise ValueError("compare_models needs at least one model.")
    splitter, _ = _resolve_cv(cv, training_set, kwargs.pop("temporal_cut", None), random_state)
    if isinstance(splitter, list) or splitter is None:
        splits = splitter
    else:
        splits = list(
            splitter.split(
                training_set.X, np.asarray(training_set.y), np.asarray(training_set.groups)
            )
        )
    results = {}
    for name, model in models.items():
        results[name] = evaluate(
            model,
            training_set,
            cv=splits,
            n_boot=n_boot,
            random_state=random_state,
            progress=progress,
            **kwargs,
        )
        results[name].design["validation"] = (
            f"{_resolve_cv(cv, training_set, None, random_state)[1]}"
        )
    table = pd.concat(
        [r.metrics.assign(model=name) for name, r in results.items()], ignore_index=True
    )[["model", "metric", "label", "estimate", "lower", "upper"]]
    table.attrs["results"] = results
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax_roc, ax_dot = fig.subplots(1, 2)
    for name, r in results.items():
        r.plot_roc(ax=ax_roc, label=name)
    ax_roc.set_title("ROC, same splits", fontsize=9)
    shown = table[table["metric"].isin(["auroc", "auprc", "calibration_slope"])]
    labels = [f"{m} | {k}" for m, k in zip(shown["model"], shown["metric"], strict=True)]
    ypos = np.arange(len(shown))[::-1]
    est = shown["estimate"].to_numpy(dtype=float)
    err = np.vstack([est - shown["lower"].to_numpy(float), shown["upper"].to_numpy(float) - est])
    ax_dot.errorbar(est, ypos, xerr=np.abs(err), fmt="o", capsize=3)
    ax_dot.set_yticks(ypos, labels, fontsize=8)
    ax_dot.set_xlabel(
        f"estimate with {int(100 * kwargs.get('level', 0.95))}% case-bootstrap interval"
    )
    ax_dot.axvline(1.0, color="grey", lw=0.5, ls=":")
    return table, fig


# --------------------------------------------------------------------------- examples


def _example_result() -> EvaluationResult:
    """A tiny evaluation on random data, for docstring examples."""
    from collections import namedtuple

    rng = np.random.default_rng(0)
    n = 400
    x = rng.integers(0, 4, n).astype(float)
    y = (rng.random(n) < expit(-2 + 0.8 * x)).astype(int)
    TS = namedtuple("TS", "X y groups as_of info")
    ts = TS(
        pd.DataFrame({"siblings_removed": x}),
        y,
        np.repeat(np.arange(n // 2), 2),
        pd.Series(pd.Timestamp("2102-01-01"), index=range(n)),
        {"horizon": 365},
    )
    return evaluate(LogisticRiskModel(penalty=None), ts, cv=2, n_boot=10, disclosure=False)
