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

import hashlib
import inspect
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.base import clone
from tqdm.auto import tqdm

from riskscore._evaluation_tables import (
    Cuts,
    alerts_table,
    calibration_curve_table,
    calibration_table,
    decision_curve_table,
    metrics_rule,
    offer_cuts,
    publish_count,
    publish_metrics,
    roc_table,
    round_cut,
    sample_counts,
    totals_table,
)
from riskscore._numerics import (
    EPS,
    MAX_BOOT,
    Ranker,
    alert_threshold,
    group_codes,
    logistic_fit,
    percentile_interval,
    replicate_weights,
)
from riskscore._parallel import capped_n_jobs
from riskscore._params import (
    UNIT_OPEN,
    Interval,
    StrOptions,
    called_as,
    called_within,
    caller,
    validate_params,
)
from riskscore._prediction_stats import riley_sample_size, smoothed_calibration
from riskscore._version import __version__
from riskscore.contract import band_thresholds, check_model
from riskscore.coverage import apply_coverage
from riskscore.disclosure import (
    SYNTHETIC_LINE,
    hash_input,
    is_synthetic,
    mark_statistics,
    mark_synthetic,
    mark_undisclosed,
    settings_for,
    synthetic_note,
)
from riskscore.errors import (
    EstimationError,
    ModelContractError,
    ParameterError,
    RiskscoreError,
    SampleSizeWarning,
    SchemaError,
    warn_user,
)
from riskscore.fairness import subgroup_metrics, warn_few_replicates
from riskscore.logistic import ADDED_PARAMETERS, DEFAULT_PROBABILITY_BANDS, LogisticRiskModel
from riskscore.model_selection import CaseKFold, TemporalSplit, check_no_shared_cases
from riskscore.schema import ensure_cases, stamp_allowed
from riskscore.scorecard import RuleScorecard
from riskscore.vocabulary import FEATURES

__all__ = ["EvaluationResult", "evaluate", "compare_models", "recalibrate", "example_result"]

_PREDICTIONS_REASON = (
    "case-level predictions: individual-level data, keep inside the secure environment"
)


def _model_kind(model, who: str = "evaluate") -> str:
    """ "estimator" (refitted on each fold) or "scorecard" (fixed points, fitted map to risk)."""
    if callable(getattr(model, "fit", None)) and callable(getattr(model, "predict_proba", None)):
        return "estimator"
    if getattr(model, "score_scale", None) == "points":
        check_model(model, who)
        return "scorecard"
    raise ModelContractError(
        f"{who}: cannot validate a {type(model).__name__}; pass a RuleScorecard or an "
        "estimator with fit and predict_proba (LogisticRiskModel, IntegerPointsModel)."
    )


def _describe_model(model) -> str:
    if isinstance(model, RuleScorecard):
        return f"RuleScorecard {model.name!r} ({len(model.rules)} rules)"
    if hasattr(model, "get_params"):
        items = model.get_params(deep=False).items()
        # parameters added since the first release show only where they change the fit
        shown = {k: v for k, v in items if k not in ADDED_PARAMETERS or v != ADDED_PARAMETERS[k]}
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(shown.items()))
        return f"{type(model).__name__}({params})"
    return type(model).__name__


# --------------------------------------------------------------------------- numerics


def _point_metrics(y, p, w, ranker, lp, start_citl=None, start_slope=None) -> dict[str, float]:
    wsum = w.sum()
    wp, wn = ranker.sums(w, y)
    citl, _ = logistic_fit(lp, y, w, slope=False, start=start_citl)
    a, b = logistic_fit(lp, y, w, slope=True, start=start_slope)
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


# --------------------------------------------------------------------------- result


@dataclass
class EvaluationResult:
    """Tables from :func:`evaluate`; plotting and rendering only read them.

    Attributes
    ----------
    metrics : DataFrame
        ``metric, label, estimate, lower, upper`` (AUROC, AUPRC, Brier score,
        calibration intercept and slope, observed rate, mean predicted risk); under
        disclosure control shown only with at least ``min_count`` events and
        non-events, the observed rate from the published counts.
    calibration : DataFrame
        Tenths of predicted risk: ``bin, n, events, mean_predicted, observed``;
        under disclosure control, neighbouring bins are merged until none can be
        worked out from the other tables, and ``observed`` is computed from the
        published counts; ``mean_predicted`` is the expected events rounded like a
        count over the published rows, kept inside the bin's range (docs/disclosure.md).
    decision_curve : DataFrame
        ``threshold, alerts, true_positives, net_benefit, treat_all, treat_none``;
        rows whose counts would differ from a neighbour's by a small count are
        suppressed, and net benefit is computed from the published counts.
    alerts : DataFrame
        ``rule, scale, threshold, n, events, alerts, true_positives``, with alert
        rate, sensitivity and PPV (computed from the published counts) and their
        case-bootstrap intervals (shown only where every cell they rest on reaches
        ``min_count``), at chosen alert rates, probability thresholds and the
        model's band thresholds.
    roc : DataFrame
        The ROC curve on a fixed grid of 101 false-positive rates (no individual
        thresholds), for plotting; under disclosure control drawn through the
        published counts only.
    predictions : DataFrame
        Case-level out-of-fold predictions (``case_id, as_of, y, fold, score,
        probability``). Individual-level: keep inside the secure environment.
    design : dict
        Validation design, sample sizes (disclosure-controlled) and notes.
    subgroups : DataFrame or None
        :func:`riskscore.subgroup_metrics` table, when asked for.
    draws : DataFrame or None
        Bootstrap replicates of the metrics (inside the secure environment only).
    synthetic : bool
        Made from synthetic data: every output made from it says so.
    sample : DataFrame or None
        Validation rows, events and children (``n_rows, n_events, n_cases``) as
        published; the design's sample sizes come from it.
    calibration_curve : DataFrame or None
        Smoothed calibration (a logistic regression of the outcome on a restricted
        cubic spline of the predicted log-odds) at the mean predicted risk of each
        twentieth of the rows: ``bin, n, events, predicted, observed, lower,
        upper`` with case-bootstrap intervals. Under disclosure control the
        twentieths are merged like the calibration bins (their cuts are chosen with
        every other cut of the evaluation), the counts are disclosed, and the curve
        is shown only where its point's counts are published and the validation
        rows hold at least ``min_count`` events and non-events.
    sample_size : DataFrame or None
        Riley et al. (2020) minimum sample size for developing the model:
        ``criterion, required_cases, met``, with the cases available, the number
        of parameters and the R-squared used in ``attrs`` (None for external
        validation, or when the outcome proportion is suppressed). Under
        disclosure control the criteria use the outcome proportion from the
        published counts, the cases are the published count, and the validated
        R-squared is used only with at least ``min_count`` events and non-events.
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
    synthetic: bool = False
    calibration_curve: pd.DataFrame | None = None
    sample_size: pd.DataFrame | None = None
    sample: pd.DataFrame | None = field(default=None, repr=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables meant to leave (no case-level predictions, no bootstrap draws).

        Each carries a disclosure stamp; :func:`riskscore.check_publishable` checks
        them together, as a report does before rendering.

        Examples
        --------
        >>> from riskscore.evaluation import example_result
        >>> sorted(example_result().tables())[:4]
        ['alerts', 'calibration', 'calibration_curve', 'decision_curve']
        """
        out = {
            "metrics": self.metrics,
            "alerts": self.alerts,
            "calibration": self.calibration,
            "decision_curve": self.decision_curve,
            "roc": self.roc,
        }
        if self.sample is not None:
            out["sample"] = self.sample
        if self.calibration_curve is not None:
            out["calibration_curve"] = self.calibration_curve
        if self.sample_size is not None:
            out["sample_size"] = self.sample_size
        if self.subgroups is not None:
            out["subgroups"] = self.subgroups
        return out

    # ------------------------------------------------------------------ access
    def metric(self, name: str) -> float:
        """Point estimate of one metric, e.g. ``result.metric("auroc")``.

        Examples
        --------
        >>> from riskscore.evaluation import example_result
        >>> 0.5 < example_result().metric("auroc") <= 1
        True
        """
        row = self.metrics.loc[self.metrics["metric"] == name, "estimate"]
        if row.empty:
            raise ParameterError(f"no metric {name!r}; have {list(self.metrics['metric'])}")
        return float(row.iloc[0])

    def __repr__(self) -> str:
        m = self.metrics.set_index("metric")
        parts = [
            f"{k}={m.loc[k, 'estimate']:.3f} [{m.loc[k, 'lower']:.3f}, {m.loc[k, 'upper']:.3f}]"
            for k in ("auroc", "auprc", "calibration_slope")
            if k in m.index
        ]
        return f"EvaluationResult({self.design.get('validation', '')}: " + ", ".join(parts) + ")"

    # ------------------------------------------------------------------ model card
    def model_card_entries(self) -> dict:
        """Validation entries for a model card (metrics with intervals, calibration, design).

        Examples
        --------
        >>> from riskscore.evaluation import example_result
        >>> sorted(example_result().model_card_entries())[:3]
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
            # (the evaluated data's and model's hashes are in reports' provenance; a
            # model card records its own training data's)
            "validation": {
                k: v
                for k, v in self.design.items()
                if k not in ("notes", "input_sha256", "model_sha256")
            },
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


def _num(v):
    return None if v is None or pd.isna(v) else float(v)


def _records(table: pd.DataFrame) -> list[dict]:
    out = table.astype(object).where(table.notna(), None)
    recs = out.to_dict("records")
    return [
        {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in r.items()}
        for r in recs
    ]


# --------------------------------------------------------------------------- evaluate


class _CaseFolds(list):
    """riskscore's case folds (``cv`` an integer), resolved into their (train, test) pairs.

    :func:`compare_models` resolves ``cv`` once so that every model sees the same
    pairs; as this list rather than a plain one, :func:`evaluate` still advises on
    too few children with the outcome as for the case folds the user asked for.
    """


def _resolve_cv(cv, training_set, temporal_cut, random_state, who: str = "evaluate"):
    if cv is None:
        return None, "none (model applied as it is)"
    if isinstance(cv, str):
        if cv != "temporal":
            raise ParameterError(
                f"{who}: cv must be an integer, 'temporal', a splitter or a list; got {cv!r}."
            )
        horizon = (training_set.info or {}).get("horizon")
        if horizon is None:
            raise ParameterError(
                f"{who}: cv='temporal' needs the training set's horizon (info['horizon'])."
            )
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
    raise ParameterError(
        f"{who}: cv must be an integer, 'temporal', a splitter or a list; got {cv!r}."
    )


def _one_class_fold(y, case_ids, train, n_folds, who: str = "evaluate") -> EstimationError:
    """The error for a training fold whose rows all have one outcome, with what would help.

    ``n_folds`` is the number of riskscore's case folds (``cv`` an integer), None for
    a temporal split or the user's own splits. Case folds deal the children on each
    side of the outcome round-robin, so with 2 or more on each side every training
    fold has some whatever the number of folds: fewer folds never help them.
    """
    y, ids = np.asarray(y), np.asarray(case_ids)
    side = "with" if np.all(y[train] == 0) else "without"
    n = len(np.unique(ids[y == (1 if side == "with" else 0)]))
    children = f"{n} {'child' if n == 1 else 'children'} {side} the outcome"
    verb = "train" if who == "train_model" else "evaluate"
    more = f"{verb} on a cohort with more children {side} the outcome"
    # train_model has no refit option: it always fits on the folds
    in_sample = (
        ""
        if who == "train_model"
        else ", or, for a model already fitted, pass cv=None with refit=False for "
        "in-sample figures of the model as it is"
    )
    if n_folds:
        why = (
            f"the training set holds {children}, and each child's rows stay in one of the "
            f"{n_folds} folds, so a training fold (every fold but one) can miss them all; "
            "fewer folds cannot change that"
        )
        fix = f"{more} (at least 2, many more for useful figures){in_sample}"
    else:
        why = f"the training set holds {children}, and this split left them all out of training"
        fix = (
            f"{more}, give splits whose training side holds children with and without "
            "the outcome (riskscore's case folds, cv=5, deal them to every fold; with "
            f"cv='temporal', move temporal_cut){in_sample}"
        )
    return EstimationError(
        f"{who}: a training fold has no child {side} the outcome: {why}. Fix: {fix}."
    )


def _row_positions(side, name: str, n: int, who: str) -> np.ndarray:
    """One side of a split as row positions: integers from 0 to n - 1, or a mask of n rows."""
    try:
        arr = np.asarray(side)
    except (TypeError, ValueError):
        arr = np.asarray([object()])
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ParameterError(
                f"{who}: {name} is a mask of {arr.size} rows but the training set has {n}. "
                "Fix: a mask of every row (True for the rows of this side), or row positions."
            )
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ParameterError(
            f"{who}: {name} must be row positions (integers, 1-D) or a mask of every row; "
            f"got an array of {arr.dtype} of shape {arr.shape}."
        )
    outside = (arr < 0) | (arr >= n)
    if outside.any():
        raise ParameterError(
            f"{who}: {name} holds row positions outside 0 to {n - 1} (the training set has "
            f"{n} rows): {int(outside.sum())} of them, the first at entry "
            f"{int(np.flatnonzero(outside)[0])}. Fix: positions of rows (0-based, as "
            "CaseKFold.split gives them), not labels of the index."
        )
    return arr.astype(np.int64, copy=False)


def _checked_splits(splits, n: int, who: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The splits as (train, test) row positions, or a ParameterError naming the split."""
    if len(splits) == 0:
        raise ParameterError(
            f"{who}: cv is an empty list of splits: no row would be validated. Fix: pass "
            "(train, test) pairs of row positions, or cv=5 for riskscore's case folds."
        )
    out = []
    for k, split in enumerate(splits):
        if isinstance(split, (str, bytes)) or not hasattr(split, "__len__") or len(split) != 2:
            raise ParameterError(
                f"{who}: cv[{k}] must be a (train, test) pair of row positions; got "
                f"{type(split).__name__}."
            )
        out.append(
            (
                _row_positions(split[0], f"cv[{k}]: train", n, who),
                _row_positions(split[1], f"cv[{k}]: test", n, who),
            )
        )
    return out


def _returned(out, shape: tuple, said: str, numbers: str, shaped: str) -> np.ndarray:
    """A model method's output as float64 of ``shape``, else a ModelContractError:
    ``said`` names who and the method, ``numbers``/``shaped`` what it must return."""
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelContractError(
            f"{said} returned values that are not numbers; it must return {numbers}."
        ) from None
    if arr.shape != shape:
        raise ModelContractError(
            f"{said} returned an array of shape {arr.shape} for {shape[0]} rows; it must "
            f"return {shaped}."
        )
    return arr


def _scores(model, X, rows: np.ndarray, who: str) -> np.ndarray:
    """``model.risk_score(X)`` as finite float64, one per row, or a ModelContractError
    naming what is wrong and the training-set rows (``rows``: their positions)."""
    name = f"{type(model).__name__}.risk_score"
    arr = _returned(
        model.risk_score(X),
        (len(X),),
        f"{who}: {name}",
        "one score (a number) per row of X",
        "one score per row of X (a Series on X's index)",
    )
    for bad, what in ((np.isnan(arr), "missing (NaN)"), (np.isinf(arr), "infinite")):
        if bad.any():
            raise ModelContractError(
                f"{who}: {name} returned {what} scores for {int(bad.sum())} row(s), "
                f"training-set rows {rows[bad][:5].tolist()} (0-based). Fix: a model must "
                "score every row with a finite number (a missing feature scores 0 in a "
                "scorecard)."
            )
    return arr


def _probabilities(model, X, rows: np.ndarray, who: str) -> np.ndarray:
    """P(outcome) of every row of ``X`` from ``predict_proba``, checked.

    A ModelContractError names what is wrong (not numbers, the shape, missing or
    out-of-range values) and the training-set rows (``rows``: their positions).
    """
    name = f"{type(model).__name__}.predict_proba"
    arr = _returned(
        model.predict_proba(X),
        (len(X), 2),
        f"{who}: {name}",
        "probabilities (numbers from 0 to 1), one row per row of X",
        "one row per row of X and two columns, P(no outcome) and P(outcome), as "
        "scikit-learn's binary classifiers do",
    )
    p = arr[:, 1]
    missing = np.isnan(p)
    if missing.any():
        raise ModelContractError(
            f"{who}: {name} returned missing (NaN) probabilities for {int(missing.sum())} "
            f"row(s), training-set rows {rows[missing][:5].tolist()} (0-based). Fix: a model "
            "must give every row a probability (for example, impute unknown features; "
            "LogisticRiskModel does with missing='indicator')."
        )
    outside = ~((p >= 0) & (p <= 1))
    if outside.any():
        raise ModelContractError(
            f"{who}: {name} returned values outside 0 to 1 for {int(outside.sum())} row(s), "
            f"training-set rows {rows[outside][:5].tolist()} (0-based). Fix: predict_proba "
            "must return probabilities, not scores or log-odds."
        )
    return p


def _fit_fold(
    model, kind, X, y, case_ids, scores, train, test, n_folds=None, who="evaluate", fold=0
):
    if np.unique(y[train]).size < 2:
        raise _one_class_fold(y, case_ids, train, n_folds, who)
    if kind == "scorecard":
        s_train = scores[train]
        if len(s_train) and np.ptp(s_train) == 0:
            raise EstimationError(
                f"{who}: every row of training fold {fold} scores {s_train[0]:g} points, so "
                "the points rank no one and cannot be mapped to risk. Fix: check that the "
                "feature table holds the scorecard's features (encode_features output) and "
                "that they vary."
            )
        a, b = logistic_fit(s_train, y[train])
        if not np.isfinite(a):
            raise EstimationError(
                f"{who}: the points-to-risk fit did not converge on a training fold "
                f"with {int(y[train].sum())} outcomes in {len(train)} rows: too few "
                "outcomes, or the points separate them perfectly. Fix: a larger training "
                "set"
                + (
                    f", or fewer folds (cv={n_folds - 1}: larger training folds)."
                    if n_folds and n_folds > 2
                    else "."
                )
            )
        return scores[test], expit(a + b * scores[test]), [], 1
    try:
        m = clone(model)
    except TypeError:  # scikit-learn's "Cannot clone object ...": no get_params
        raise ModelContractError(
            f"{who}: a {type(model).__name__} cannot be refitted on each training fold: "
            "scikit-learn's clone needs its get_params and set_params (subclass "
            "sklearn.base.BaseEstimator). Fix: give the class those methods, or, for a "
            "model already fitted, pass cv=None with refit=False to evaluate it as it is."
        ) from None
    Xtr = X.iloc[train]
    dropped: list[str] = []
    if isinstance(m, LogisticRiskModel) and m.features is None:
        # e.g. attendance_drop is unknown in every row of an early temporal training
        # window; leave such a feature out of this fold's fit rather than fail
        empty = Xtr.isna().all()
        if len(X.columns) and empty.all():
            raise EstimationError(
                f"{who}: every feature is unknown (missing) in every row of training fold "
                f"{fold} ({len(Xtr):,} rows), so there is nothing to fit. Fix: check the "
                "feature table (encode_features output), or its coverage: features of an "
                "agency without coverage are missing."
            )
        if empty.any():
            dropped = [c for c in X.columns if empty[c]]
            m.set_params(features=[c for c in X.columns if c in FEATURES and not empty[c]])
    try:
        m.fit(Xtr, y[train], case_ids=np.asarray(case_ids)[train])
    except TypeError:
        m.fit(Xtr, y[train])
    Xte = X.iloc[test]
    p = _probabilities(m, Xte, np.arange(len(X))[test], who)
    if hasattr(m, "risk_score"):
        s = _scores(m, Xte, np.arange(len(X))[test], who)
    else:
        s = logit(np.clip(p, EPS, 1 - EPS))
    return s, p, dropped, _n_parameters(m)


def _n_parameters(fitted) -> int:
    """Candidate predictor parameters of a fitted model (coefficients, no intercept)."""
    inner = getattr(fitted, "model_", fitted)  # IntegerPointsModel: its logistic model
    if hasattr(inner, "features_"):
        return len(inner.features_)
    coef = getattr(inner, "coef_", None)
    if coef is not None:
        return int(np.size(coef))
    return int(getattr(inner, "n_features_in_", 1))


def _band_rules(model, kind) -> list[tuple[str, str, float]]:
    """(label, scale, threshold): bands on points for scorecards, probabilities otherwise."""
    if kind == "scorecard":
        return [
            (f"band {k} (points >= {v:g})", "score", v) for k, v in band_thresholds(model).items()
        ]
    if isinstance(model, LogisticRiskModel):
        probs = getattr(model, "band_probabilities_", None) or model.bands
        probs = probs or DEFAULT_PROBABILITY_BANDS
        return [(f"band {k} (risk >= {v:g})", "probability", float(v)) for k, v in probs.items()]
    return []


#: The sensitive features :func:`evaluate` audits by default (those ``cases`` has).
DEFAULT_SUBGROUP_BY = ("sex", "ethnic_group", "imd_quintile")

# evaluate's options, checked under the name of the function the user called
_EVALUATE_PARAMS = {
    "refit": ["boolean"],
    "n_boot": [Interval(numbers.Integral, 0, MAX_BOOT)],
    "level": [UNIT_OPEN],
    "temporal_cut": ["date", None],
    "disclosure": ["disclosure"],
    "random_state": ["random_state"],
    "progress": ["boolean", None],
    "n_jobs": ["n_jobs"],
}


@validate_params(_EVALUATE_PARAMS)
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
    cases: pd.DataFrame | None = None,
    subgroup_by: Sequence[str] | None = None,
    disclosure: Any = True,
    random_state: int | None = 0,
    progress: bool | None = None,
    n_jobs: int | None = None,
    coverage: Any = None,
) -> EvaluationResult:
    """Validate a model on a training set: grouped or temporal splits, calibration, decisions.

    Errors name the function the user called: ``evaluate``, or :func:`compare_models`
    or :func:`riskscore.train_model` when the evaluation is theirs.

    Parameters
    ----------
    model : RuleScorecard or estimator
        A scorecard (its points are kept; the points-to-risk mapping is fitted on
        each training fold), or an estimator with ``fit``/``predict_proba``
        (cloned and refitted on each training fold).
    training_set : TrainingSet
        From :func:`riskscore.make_training_set` (``X, y, case_ids, as_of, info``).
    cv : int, "temporal", splitter or list of (train, test), default=5
        An integer: :class:`CaseKFold` with that many folds. ``"temporal"``:
        :class:`TemporalSplit` at ``temporal_cut``. A splitter with
        ``split(X, y, groups)`` (``groups`` = the case ids), or explicit index pairs. Whatever is given,
        every split is checked to have no case on both sides.
    temporal_cut : date, optional
        Cut for ``cv="temporal"`` (default: :meth:`TemporalSplit.cut_date`).
    refit : bool, default=True
        False: apply the model as it is to every row (external validation);
        needs a fitted estimator, or a scorecard carrying ``points_to_risk_``.
    n_boot : int, default=200
        Case-bootstrap replicates of the validation predictions (no refits; 0 for
        none; at most 100,000).
        From 1 to 19 the percentile intervals are unstable (their ends are the
        extreme replicates): allowed, for quick looks and tests, but warned of with
        a :class:`UserWarning` (the command line refuses them).
    level : float, default=0.95
        Interval coverage.
    alert_rates : sequence of float, default=(0.01, 0.05, 0.1)
        Shares of rows alerted (highest predicted risk first) for the alerts table.
    thresholds : sequence of float, optional
        Extra probability thresholds for the alerts table.
    dc_thresholds : sequence of float, optional
        Decision-curve thresholds (default 0.01 to 0.50 by 0.01).
    cases : DataFrame, optional
        The cases table (``case_id`` plus ``sex``, ``ethnic_group``,
        ``imd_quintile``...): adds :func:`riskscore.subgroup_metrics` by
        ``subgroup_by`` at the first alert rate.
    subgroup_by : str or sequence of str, optional
        Columns of ``cases`` to audit (the sensitive features). Every column named
        must be in ``cases``: one that is not is refused (a :class:`SchemaError`
        naming it and the columns ``cases`` has), never dropped. Default (None):
        those of ``sex``, ``ethnic_group`` and ``imd_quintile`` that ``cases`` has;
        any absent is skipped and said to be, in ``design["subgroups_skipped"]``,
        a note in ``design["notes"]`` and the subgroup table's ``attrs["skipped"]``
        (an incomplete audit is never passed off as a complete one).
    disclosure : bool, DisclosureSettings or dict, default=True
        Disclosure control of the count-bearing tables (see
        :func:`riskscore.apply_disclosure`).
    random_state : int or None, default=0
        Seed for the folds and the bootstrap.
    progress : bool, optional
        tqdm progress bars (default: on when there are more than 100,000 rows).
    n_jobs : int, optional
        Parallel workers for the folds (joblib).
    coverage : DataFrame, AdapterResult or sequence of them, optional
        Coverage tables for a training set built without them: features whose
        holding agencies had no coverage on the as-of date are set missing
        (:func:`riskscore.apply_coverage`) before anything is fitted or scored.
        (The look-back exclusion needs the events: pass ``coverage=`` to
        :func:`riskscore.make_training_set` for that.)

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
    >>> ts = make_training_set(events, cases, grid="90D")
    >>> res = evaluate(default_scorecard(), ts, cv=3, n_boot=20)
    >>> list(res.metrics["metric"])[:2]
    ['auroc', 'auprc']
    """
    # called by compare_models or train_model: errors name the function the user
    # called, which has warned of few replicates already
    who = caller("evaluate")
    if not called_within():
        warn_few_replicates(n_boot, who)
    kind = _model_kind(model, who)
    _require_training_set(training_set, who)
    # the options, before any fold is fitted
    alert_rates = _probability_list(alert_rates, "alert_rates", who, ends=False)
    if thresholds is not None:
        thresholds = _probability_list(thresholds, "thresholds", who, ends=True)
    dc_thr = _dc_thresholds(dc_thresholds, who)
    if subgroup_by is not None:
        subgroup_by = _column_names(subgroup_by, "subgroup_by", who)
    if cases is not None:
        cases = ensure_cases(cases)  # the contract at the door (validate_cases's messages)
        sub_cols, skipped = _subgroup_columns(cases, subgroup_by, who)
    training_set = _with_coverage(training_set, coverage)
    data = _check_inputs(training_set, level, who)
    if progress is None:
        progress = len(data.y) > 100_000
    info = dict(getattr(training_set, "info", None) or {})
    oof = _predict(
        model,
        kind,
        data,
        training_set,
        cv,
        temporal_cut,
        refit,
        random_state,
        n_jobs,
        progress,
        who,
    )
    settings = settings_for(disclosure)
    synthetic = bool(info.get("synthetic")) or is_synthetic(training_set.X)
    v = _validation_rows(oof, data, who)
    metrics, draws = _metrics_with_intervals(v, n_boot, level, random_state, progress)
    totals = totals_table(v.y, v.n_cases, settings, cases=v.codes)
    rules = _alert_rules(model, kind, v, alert_rates, thresholds)
    sub_rate = alert_rates[0] if len(alert_rates) else 0.1
    sub_cut = float(round_cut(alert_threshold(v.p, sub_rate))) if cases is not None else None
    # every cut the tables publish is chosen once, so no two rows can be differenced
    cuts = offer_cuts(Cuts(v.y, v.p, v.score, settings, cases=v.codes), rules, dc_thr, v.p, sub_cut)
    alerts = _alerts_table(v, rules, cuts, totals, n_boot, level, random_state, settings)
    calibration = calibration_table(v.p, v.y, cuts, settings, totals)
    decision_curve = decision_curve_table(dc_thr, cuts, totals, settings)
    roc = roc_table(v.y, v.p, cuts, totals, settings)
    curve = _calibration_curve_table(v, cuts, totals, n_boot, level, random_state, settings)
    metrics = publish_metrics(metrics, totals, settings)
    predictions = _predictions_table(oof, data, training_set)
    design = _design(model, oof, v, info, n_boot, level, random_state, disclosure, totals)
    # what was evaluated, for the provenance record (hashes, not the data)
    design["input_sha256"] = {
        "training set features": hash_input(data.X),
        "training set outcomes and case ids": hash_input(
            pd.DataFrame({"case_id": data.case_ids.astype(str), "y": data.y})
        ),
    }
    sample_size = _sample_size_check(oof, data, v, design, totals, settings)
    sub = None
    if cases is not None:
        attrs = _subgroup_frame(cases, v.case_ids, sub_cols)
        if skipped:
            design["subgroups_skipped"] = skipped
            design["notes"].append(
                f"Subgroup audit: the default column(s) {skipped} are not in the cases "
                f"table, so were skipped; audited by {list(attrs.columns)} only."
            )
        shown = bool(cuts.lookup("subgroup")["published"].iloc[0])
        with called_as(who):
            sub = subgroup_metrics(
                v.y,
                v.p,
                attrs,
                by=list(attrs.columns),
                threshold=sub_cut,
                case_ids=v.case_ids,
                n_boot=n_boot,
                level=level,
                disclosure=disclosure,
                random_state=random_state,
                progress=progress,
                # the All rows repeat counts this output publishes elsewhere (or hides)
                overall_published=None
                if settings is None
                else {
                    "n": not np.isnan(totals.n_pub),
                    "events": not np.isnan(totals.events_pub),
                    "n_cases": not np.isnan(totals.cases_pub),
                    "alerts": shown,
                    "true_positives": shown,
                    **({} if shown else {"false_positives": False}),
                },
            )
        if skipped:
            sub.attrs["skipped"] = skipped
    draws = mark_undisclosed(
        draws, reason="bootstrap replicates: keep inside the secure environment"
    )
    result = EvaluationResult(
        metrics=metrics,
        calibration=calibration,
        decision_curve=decision_curve,
        alerts=alerts,
        roc=roc,
        predictions=predictions,
        design=design,
        subgroups=sub,
        draws=draws,
        synthetic=synthetic,
        sample=totals.table,
        calibration_curve=curve,
        sample_size=sample_size,
    )
    if synthetic:
        note = synthetic_note(training_set.X) or SYNTHETIC_LINE
        mark_synthetic(*result.tables().values(), predictions, draws, note=note)
    stamp_allowed(result, info.get("allowed"))
    return result


# --------------------------------------------------------------------------- steps


def _require_training_set(training_set, who: str) -> None:
    # (TrainingSet lives in riskscore.training, which imports this module: by its parts)
    if not all(hasattr(training_set, a) for a in ("X", "y", "case_ids", "as_of")):
        raise ParameterError(
            f"{who}: training_set must be a TrainingSet from riskscore.make_training_set; "
            f"got {type(training_set).__name__}."
        )


@dataclass
class _Data:
    """The training set's arrays, checked."""

    X: pd.DataFrame
    y: np.ndarray
    case_ids: np.ndarray


@dataclass
class _OutOfFold:
    """Out-of-fold (or external) predictions of every row, and how they were made."""

    fold: np.ndarray  # -1: the row fell in no validation fold
    score: np.ndarray
    prob: np.ndarray
    validation: str
    n_splits: int
    removed_cases: int
    notes: list[str]
    n_parameters: int | None = None  # fitted parameters (largest over folds); None: external


@dataclass
class _Validation:
    """The validation rows: outcomes, probabilities, scores and their cases."""

    y: np.ndarray
    p: np.ndarray
    score: np.ndarray
    lp: np.ndarray  # logit of p
    case_ids: np.ndarray
    codes: np.ndarray  # case code of every row
    n_cases: int
    ranker: Ranker
    estimates: dict


def _with_coverage(training_set, coverage):
    """Step 0: features of agencies without coverage on T set missing (when coverage given)."""
    if coverage is None:
        return training_set
    X = training_set.X
    frame = X.assign(
        case_id=np.asarray(training_set.case_ids), as_of=np.asarray(training_set.as_of)
    )
    masked = apply_coverage(frame, coverage)[list(X.columns)]
    info = dict(getattr(training_set, "info", None) or {}, coverage=True)
    return training_set._replace(X=masked, info=info)


def _check_inputs(training_set, level: float, who: str = "evaluate") -> _Data:
    X, y_in, case_ids = training_set.X, training_set.y, training_set.case_ids
    if not isinstance(X, pd.DataFrame):
        # a model reads its features by name: columns by position could be any feature
        raise SchemaError(
            f"{who}: training_set: X must be a DataFrame with named feature columns (as "
            f"make_training_set returns), got {type(X).__name__}. Fix: "
            "pd.DataFrame(X, columns=[...feature names...])."
        )
    try:
        y = np.asarray(y_in, dtype=np.float64)
    except (TypeError, ValueError):
        raise SchemaError(
            f"{who}: training_set: y must be 0/1 outcomes; it holds values that are not "
            "numbers. Fix: 1 for a row with the outcome, 0 without (make_training_set's y)."
        ) from None
    if y.ndim != 1:
        raise SchemaError(
            f"{who}: training_set: y must be one outcome per row (1-D); got an array of "
            f"shape {y.shape}. Fix: pass the outcome column (y.ravel() for a column)."
        )
    n = len(y)
    if n == 0:
        raise SchemaError(
            f"{who}: training_set has no rows: nothing to fit or validate. Fix: build it "
            "from events and cases that leave rows (make_training_set says why none are "
            "left)."
        )
    as_of = getattr(training_set, "as_of", None)
    n_as_of = n if as_of is None else len(as_of)
    if len(X) != n or len(case_ids) != n or n_as_of != n:
        raise SchemaError(
            f"{who}: training_set: X has {len(X)} rows, y {n}, case_ids {len(case_ids)} and as_of "
            f"{n_as_of}; they must match."
        )
    bad = ~np.isin(y, (0.0, 1.0))
    if not bad.any() and np.unique(y).size < 2:
        side = "with" if y[0] == 1 else "without"
        raise EstimationError(
            f"{who}: training_set: every row is {side} the outcome ({n:,} rows), so "
            "nothing can be fitted or validated. Fix: a cohort, period or horizon with "
            "children with and without the outcome."
        )
    if bad.any():
        raise SchemaError(
            f"{who}: training_set: y must be 0/1 outcomes; {int(bad.sum())} row(s) hold "
            f"something else (missing, NaN, or another number), rows "
            f"{np.flatnonzero(bad)[:5].tolist()} (0-based). Fix: 1 for a row with the "
            "outcome, 0 without; drop rows whose outcome is unknown."
        )
    if not 0 < level < 1:
        raise ParameterError(f"{who}: level must be between 0 and 1, got {level!r}.")
    return _Data(X, y, np.asarray(case_ids))


def _predict(
    model,
    kind,
    data: _Data,
    training_set,
    cv,
    temporal_cut,
    refit,
    random_state,
    n_jobs,
    progress,
    who: str = "evaluate",
) -> _OutOfFold:
    """Step 1: a prediction for every row, out of fold (or external with refit=False)."""
    X, y, case_ids = data.X, data.y, data.case_ids
    n = len(y)
    notes: list[str] = []
    scores_all = _scores(model, X, np.arange(n), who) if kind == "scorecard" else None
    fold = np.full(n, -1, dtype=np.int64)
    score = np.full(n, np.nan)
    prob = np.full(n, np.nan)
    removed_cases = 0
    n_parameters: int | None = None
    if not refit:
        validation = "external: model applied as it is to every row (no refitting)"
        if kind == "scorecard":
            mapping = getattr(model, "points_to_risk_", None) or model.model_card.get(
                "points_to_risk"
            )
            if not mapping:
                raise EstimationError(
                    f"{who}(refit=False): this scorecard has no points-to-risk mapping, so "
                    "it gives no probabilities; use refit=True to fit the mapping on "
                    "training folds."
                )
            score[:] = scores_all
            prob[:] = expit(mapping["intercept"] + mapping["slope"] * scores_all)
        else:
            prob[:] = _probabilities(model, X, np.arange(n), who)
            score[:] = (
                _scores(model, X, np.arange(n), who)
                if hasattr(model, "risk_score")
                else logit(np.clip(prob, EPS, 1 - EPS))
            )
        fold[:] = 0
        splits = []
    else:
        splitter, validation = _resolve_cv(cv, training_set, temporal_cut, random_state, who)
        if splitter is None:
            raise ParameterError(
                f"{who}: cv=None applies the model as it is: pass refit=False too."
            )
        splits = (
            list(splitter) if isinstance(splitter, list) else list(splitter.split(X, y, case_ids))
        )
        splits = _checked_splits(splits, n, who)
        check_no_shared_cases(splits, case_ids)
        removed_cases = int(getattr(splitter, "removed_cases_", 0))
        # riskscore's case folds: their number, for the advice on a one-class fold
        n_folds = len(splits) if isinstance(cv, (numbers.Integral, _CaseFolds)) else None
        jobs = (
            joblib.delayed(_fit_fold)(
                model, kind, X, y, case_ids, scores_all, tr, te, n_folds, who, k
            )
            for k, (tr, te) in enumerate(splits)
        )
        outs = joblib.Parallel(n_jobs=capped_n_jobs(n_jobs, len(splits)), return_as="generator")(
            jobs
        )
        it = tqdm(outs, total=len(splits), desc="folds", disable=not progress)
        dropped_any: set[str] = set()
        n_parameters = 0
        for k, ((_tr, te), (s, p, dropped, n_par)) in enumerate(zip(splits, it, strict=False)):
            dropped_any.update(dropped)
            n_parameters = max(n_parameters, n_par)
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
    return _OutOfFold(
        fold,
        score,
        prob,
        validation,
        len(splits),
        removed_cases,
        notes,
        n_parameters,
    )


def _validation_rows(oof: _OutOfFold, data: _Data, who: str = "evaluate") -> _Validation:
    """Step 2: the rows that were validated, with their point estimates."""
    rows = oof.fold >= 0
    yv, pv, sv = data.y[rows], oof.prob[rows], oof.score[rows]
    gv = data.case_ids[rows]
    if len(yv) == 0:
        raise EstimationError(
            f"{who}: no row fell in a validation fold (every split's test side is empty), "
            "so nothing was validated. Fix: give splits whose test sides hold rows, or "
            "cv=5 for riskscore's case folds."
        )
    if np.unique(yv).size < 2:
        raise EstimationError(
            f"{who}: the {len(yv):,} validated rows are all "
            f"{'with' if yv.size and yv[0] == 1 else 'without'} the outcome, so no "
            "discrimination or calibration can be measured. Fix: validate on a period or "
            "cohort that has children with and without the outcome (an earlier "
            "temporal_cut, more folds, or more cases)."
        )
    pv = np.clip(pv, EPS, 1 - EPS)
    lp = logit(pv)
    codes, n_cases = group_codes(gv)
    ranker = Ranker(pv)
    est = _point_metrics(yv, pv, np.ones(len(yv)), ranker, lp)
    return _Validation(yv, pv, sv, lp, gv, codes, n_cases, ranker, est)


def _metrics_with_intervals(v: _Validation, n_boot, level, random_state, progress):
    """Step 3: discrimination and calibration metrics with case-bootstrap intervals."""
    est = v.estimates
    draws = []
    weights = replicate_weights(v.codes, v.n_cases, n_boot, random_state)
    for w in tqdm(weights, total=n_boot, desc="bootstrap", disable=not progress):
        draws.append(
            _point_metrics(
                v.y,
                v.p,
                w,
                v.ranker,
                v.lp,
                start_citl=(est["calibration_intercept"], 1.0),
                start_slope=(est["calibration_slope_intercept"], est["calibration_slope"]),
            )
        )
    names = list(_METRIC_LABELS)
    D = pd.DataFrame(draws, columns=[*names, "calibration_slope_intercept"])
    lo, hi = percentile_interval(D[names].to_numpy(dtype=float), level)
    metrics = pd.DataFrame(
        {
            "metric": names,
            "label": [_METRIC_LABELS[k] for k in names],
            "estimate": [est[k] for k in names],
            "lower": lo,
            "upper": hi,
        }
    )
    return metrics, D


def _probability_list(values, name: str, who: str, *, ends: bool) -> np.ndarray:
    """``values`` as a 1-D float array of probabilities, or a ParameterError naming ``name``.

    ``ends``: 0 and 1 are allowed (a probability threshold), else strictly between
    (a rate). One number is a list of one.
    """
    kind = "from 0 to 1" if ends else "strictly between 0 and 1"
    if isinstance(values, (str, bytes)):
        arr = None
    else:
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
    if arr is None or arr.ndim > 1:
        got = f"an array of shape {arr.shape}" if arr is not None else type(values).__name__
        raise ParameterError(
            f"{who}: {name} must be a list of numbers {kind} (e.g. [0.05, 0.1]); got {got}."
        )
    arr = arr.reshape(-1)
    inside = (arr >= 0) & (arr <= 1) if ends else (arr > 0) & (arr < 1)  # NaN fails too
    if not inside.all():
        raise ParameterError(
            f"{who}: {name} must be {kind}; got {arr[~inside][0]:g} (entry "
            f"{int(np.flatnonzero(~inside)[0])})."
        )
    return arr


def _column_names(by, name: str, who: str) -> list[str]:
    """One column name, or a list of them, as a list (a name is not read letter by letter)."""
    if isinstance(by, str):
        return [by]
    if isinstance(by, (Sequence, np.ndarray, pd.Index)) and all(isinstance(c, str) for c in by):
        return list(by)
    raise ParameterError(
        f"{who}: {name} must be a column name or a list of them (e.g. ['sex', "
        f"'imd_quintile']); got {by!r} ({type(by).__name__})."
    )


def _alert_rules(model, kind, v: _Validation, alert_rates, thresholds):
    """(label, scale, threshold) of every alert rule; rates fixed on all validation rows.

    ``alert_rates`` and ``thresholds`` were checked by :func:`_probability_list`.
    """
    rules: list[tuple[str, str, float]] = []
    for r in alert_rates:
        # rounded: an exact quantile is one child's predicted risk
        t = float(round_cut(alert_threshold(v.p, r)))
        rules.append((f"top {r:.3g} of rows", "probability", t))
    for t in thresholds if thresholds is not None else ():
        rules.append((f"risk >= {t:g}", "probability", float(t)))
    return rules + _band_rules(model, kind)


def _dc_thresholds(dc_thresholds, who: str = "evaluate") -> np.ndarray:
    if dc_thresholds is None:
        return np.round(np.arange(1, 51) / 100, 2)
    return _probability_list(dc_thresholds, "dc_thresholds", who, ends=False)


def _alerts_table(v: _Validation, rules, cuts, totals, n_boot, level, random_state, settings):
    """Step 4: sensitivity, PPV and alert rate at each rule, with case-bootstrap intervals."""
    masks = (
        np.column_stack([(v.score if scale == "score" else v.p) >= t for _, scale, t in rules])
        if rules
        else np.zeros((len(v.y), 0), dtype=bool)
    )

    def stats(w):
        pos = np.sum(w * v.y)
        al = w @ masks
        tp = (w * v.y) @ masks
        with np.errstate(invalid="ignore", divide="ignore"):
            return tp / pos, tp / al, al / w.sum()

    draws = [
        np.stack(stats(w)) for w in replicate_weights(v.codes, v.n_cases, n_boot, random_state)
    ]
    sens, ppv, rate = stats(np.ones(len(v.y)))
    A = np.asarray(draws)  # (n_boot, 3, n_rules)
    alo, ahi = (
        percentile_interval(A, level)
        if len(A)
        else (np.full((3, len(rules)), np.nan), np.full((3, len(rules)), np.nan))
    )
    return alerts_table(rules, cuts, totals, sens, ppv, rate, alo, ahi, settings)


def _calibration_curve_table(v: _Validation, cuts, totals, n_boot, level, random_state, settings):
    """Step 5b: smoothed calibration with case-bootstrap intervals, at twentieths of the rows."""

    def smooth(predicted: np.ndarray):
        grid = logit(np.clip(predicted, EPS, 1 - EPS))
        weights = replicate_weights(v.codes, v.n_cases, n_boot, random_state)
        observed, draws = smoothed_calibration(v.lp, v.y, grid, weights)
        lo, hi = percentile_interval(draws, level) if len(draws) else (np.nan, np.nan)
        return observed, lo, hi

    method = (
        "logistic regression of the outcome on a restricted cubic spline (4 knots) of the "
        "predicted log-odds, evaluated at the mean predicted risk of each twentieth of the "
        "rows (merged where disclosure control needs it); percentile intervals from "
        "resampling cases"
    )
    return calibration_curve_table(v.p, v.y, cuts, totals, settings, smooth, method)


def _sample_size_check(oof: _OutOfFold, data: _Data, v: _Validation, design, totals, settings):
    """Step 9: Riley et al. (2020) minimum sample size for the model's parameters.

    The effective sample is the cases, not the rows: a child's rows are not
    independent, so they add less than new children would. The criteria are
    computed per row -- the rows' outcome proportion and the validated Cox-Snell
    R-squared of a row, ``1 - exp(-LR / rows)`` with LR the likelihood-ratio
    statistic of the out-of-fold predictions against the rows' outcome rate -- and
    the sample they ask for is compared with the number of cases, as if each
    child gave one row (conservative). Warns (:class:`SampleSizeWarning`) and adds
    a note when a criterion is not met. None for external validation
    (refit=False).

    Under disclosure control every input is a published number or a statistic
    behind a minimum cell size: the outcome proportion is the published validation
    events over the published validation rows (an exact proportion, and the
    prevalence criterion made from it, would give the exact counts back), the
    cases are the published count, and the validated R-squared is used only with
    at least ``min_count`` events and non-events (otherwise 15% of the maximum).
    """
    if oof.n_parameters is None:
        return None
    codes, n_cases = group_codes(data.case_ids)
    case_events = int((np.bincount(codes, weights=data.y, minlength=n_cases) > 0).sum())
    if settings is None:
        phi = float(data.y.mean())
        shown_cases, shown_events = n_cases, case_events
        fit_shown = True
    else:
        phi = totals.events_pub / totals.n_pub if totals.n_pub > 0 else np.nan
        counts = sample_counts(n_cases, case_events, totals, settings)
        shown_cases = _num_or_none(counts["n_cases"].iloc[0])
        shown_events = _num_or_none(counts["n_case_events"].iloc[0])
        m = settings.min_count
        fit_shown = totals.events >= m and totals.n - totals.events >= m
    if not 0 < phi < 1:
        return None
    rate = float(np.clip(v.y.mean(), EPS, 1 - EPS))
    ll = np.sum(v.y * np.log(v.p) + (1 - v.y) * np.log1p(-v.p))
    ll0 = np.sum(v.y * math.log(rate) + (1 - v.y) * math.log1p(-rate))
    ln_null = phi * math.log(phi) + (1 - phi) * math.log(1 - phi)
    max_r2 = 1 - math.exp(2 * ln_null)
    r2 = 1 - math.exp(-2 * (ll - ll0) / len(v.y))
    anticipated = "validated (out-of-fold) Cox-Snell R-squared of a row"
    if not fit_shown:
        r2 = 0.15 * max_r2
        anticipated = "15% of the maximum (too few events or non-events to use the validated one)"
    elif not r2 > 0:
        r2, anticipated = 0.15 * max_r2, "15% of the maximum (the validated R-squared was not > 0)"
    r2 = min(r2, 0.9 * max_r2)
    p = max(int(oof.n_parameters), 1)
    need = riley_sample_size(p, phi, r2)
    labels = {
        "shrinkage": "expected shrinkage >= 0.9",
        "optimism": "optimism in Nagelkerke R-squared <= 0.05",
        "prevalence": "overall risk within +-0.05",
    }
    required = [int(math.ceil(need[k])) for k in labels]
    # met is judged on the cases as published, so it says nothing the count does not
    have = n_cases if settings is None else shown_cases
    table = pd.DataFrame(
        {
            "criterion": [*labels.values(), "all (the largest)"],
            "required_cases": [*required, max(required)],
            "met": [have is not None and have >= r for r in [*required, max(required)]],
        }
    )
    source = (
        "all training rows"
        if settings is None
        else "published validation events over published validation rows"
    )
    table.attrs.update(
        {
            "reference": "Riley RD et al. BMJ 2020;368:m441 (binary outcome)",
            "n_parameters": p,
            "cases": shown_cases,
            "case_events": shown_events,
            # rates recomputed from the published counts
            "case_outcome_proportion": (
                shown_events / shown_cases if shown_cases and shown_events is not None else None
            ),
            "case_events_per_parameter": (shown_events / p if shown_events is not None else None),
            "row_outcome_proportion": phi,
            "row_outcome_proportion_source": source,
            "r2_cs": float(r2),
            "r2_cs_source": anticipated,
            "max_r2_cs": float(max_r2),
        }
    )
    if settings is None:
        table = mark_undisclosed(table, reason="evaluate(disclosure=False)")
    else:
        table = mark_statistics(
            table,
            settings,
            rule=(
                "required sizes from the published outcome proportion and a fit statistic "
                f"resting on at least {settings.min_count} events and non-events; met "
                "compares them with the published number of cases"
            ),
        )
    if have is None or have < max(required):
        message = (
            f"The training set's {have if have is not None else 'few'} cases are "
            f"fewer than the {max(required)} that Riley et al. (2020)'s minimum sample size "
            f"criteria ask for a model with {p} parameter{'s' if p != 1 else ''} (effective "
            "sample = cases, not "
            "rows): expect overfitting; reduce the parameters or use more cases."
        )
        design["notes"].append(message)
        warn_user(message, SampleSizeWarning)
    return table


def _predictions_table(oof: _OutOfFold, data: _Data, training_set) -> pd.DataFrame:
    """Case-level predictions: individual-level, stamped so."""
    return mark_undisclosed(
        pd.DataFrame(
            {
                "case_id": data.case_ids,
                "as_of": np.asarray(training_set.as_of),
                "y": data.y.astype(np.int64),
                "fold": oof.fold,
                "score": oof.score,
                "probability": oof.prob,
            }
        ),
        reason=_PREDICTIONS_REASON,
    )


def _model_digest(model) -> str | None:
    """SHA-256 of the model as its model file would hold it (None: it has none yet).

    Identifies exactly which scorecard or fitted model was evaluated; a model refitted
    on each fold (an unfitted estimator) is described by its parameters instead.
    """
    from riskscore.modelfile import model_to_json

    try:
        text = model_to_json(model)
    except RiskscoreError:
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _design(
    model, oof: _OutOfFold, v: _Validation, info, n_boot, level, random_state, disclosure, totals
) -> dict:
    """Step 8: the validation design, disclosure-controlled sample sizes and notes."""
    counts = totals.table
    notes = list(oof.notes)
    left_out = int(np.sum(oof.fold < 0))
    if left_out:
        # a count of rows like any other: suppressed or rounded under disclosure control
        settings = settings_for(disclosure)
        shown = publish_count(left_out, settings)
        what = f"{shown} row(s)" if shown is not None else f"Fewer than {settings.min_count} rows"
        notes.append(
            f"{what} fell in no validation fold "
            "(temporal split: rows before the cut or within the horizon of it)."
        )
    design = {
        "model": _describe_model(model),
        "model_sha256": _model_digest(model),
        "validation": oof.validation,
        "n_splits": oof.n_splits,
        "validation_rows": _num_or_none(counts["n_rows"].iloc[0]),
        "validation_events": _num_or_none(counts["n_events"].iloc[0]),
        "validation_cases": _num_or_none(counts["n_cases"].iloc[0]),
        "cases_removed_from_training_by_temporal_split": publish_count(
            oof.removed_cases or None, settings_for(disclosure)
        ),
        "horizon_days": info.get("horizon"),
        "grid": info.get("grid"),
        "n_boot": int(n_boot),
        "level": float(level),
        "interval_method": (
            "percentile bootstrap resampling cases in the validation predictions (no refits)"
            if n_boot
            else "none (no bootstrap replicates were drawn: n_boot=0)"
        ),
        "random_state": random_state,
        "disclosure": "on" if disclosure is not False else "OFF",
        "riskscore_version": __version__,
    }
    notes.append(
        "Rows are person-time (several as-of dates per child); "
        + ("intervals resample children, and " if n_boot else "")
        + "row-level rates are not rates per child."
    )
    if info.get("synthetic"):
        notes.append(
            "Synthetic data: outcome rates are far above real ones, so precision (PPV), net "
            "benefit and alert yields look far better than they would on real records."
        )
    design["notes"] = notes
    return design


def _num_or_none(v):
    return None if pd.isna(v) else int(v)


def _subgroup_columns(cases: pd.DataFrame, by, who: str) -> tuple[list, list]:
    """The columns of ``cases`` to audit, and the default columns skipped (absent).

    ``by`` None: the default columns that ``cases`` has. A column named explicitly
    that ``cases`` lacks is refused, never dropped.
    """
    if "case_id" not in cases.columns:
        raise SchemaError(
            f"{who}: the cases table needs a 'case_id' column to match the subgroup "
            f"columns to the rows (columns: {list(cases.columns)})."
        )
    if by is None:
        cols = [c for c in DEFAULT_SUBGROUP_BY if c in cases.columns]
        skipped = [c for c in DEFAULT_SUBGROUP_BY if c not in cases.columns]
        if not cols:
            raise SchemaError(
                f"{who}: none of the default subgroup columns {list(DEFAULT_SUBGROUP_BY)} "
                f"is in the cases table (columns: {list(cases.columns)}). Fix: name the "
                "columns to audit with subgroup_by=[...], or do not pass cases."
            )
    else:
        twice = [c for i, c in enumerate(by) if c in by[:i]]
        if twice:
            raise ParameterError(
                f"{who}: subgroup_by names {twice[0]!r} twice; name each column once."
            )
        if not by:
            raise ParameterError(
                f"{who}: subgroup_by names no column; name at least one column of cases "
                f"(columns: {list(cases.columns)}), or leave it out for the default."
            )
        missing = [c for c in by if c not in cases.columns]
        if missing:
            raise SchemaError(
                f"{who}: subgroup_by names {', '.join(map(repr, missing))}, not "
                f"column(s) of the cases table (columns: {list(cases.columns)}). Fix: "
                "add the column to cases, or leave it out of subgroup_by."
            )
        cols, skipped = list(by), []
    return cols, skipped


def _subgroup_frame(cases: pd.DataFrame, case_ids, cols: list) -> pd.DataFrame:
    """The columns ``cols`` of ``cases`` (checked by :func:`_subgroup_columns`) by row."""
    c = cases.drop_duplicates("case_id").set_index(cases["case_id"].drop_duplicates().astype(str))
    out = c[cols].reindex(pd.Index(np.asarray(case_ids).astype(str)))
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- compare


@validate_params({**_EVALUATE_PARAMS, "models": [Mapping]})
def compare_models(
    models: Mapping[str, Any],
    training_set,
    cv: int | str | Any = 5,
    *,
    n_boot: int = 200,
    random_state: int | None = 0,
    progress: bool | None = None,
    reference: str | None = None,
    nb_thresholds: Sequence[float] = (0.01, 0.05, 0.1),
    **kwargs,
):
    """Evaluate several models on the same splits: one table, and paired differences.

    Parameters
    ----------
    models : dict
        ``{name: model}`` (scorecards, estimators, :class:`IntegerPointsModel`).
    training_set : TrainingSet
    cv : int, "temporal", splitter or list, default=5
        Resolved once; every model sees exactly the same (train, test) pairs.
    n_boot, random_state, progress, **kwargs
        Passed to :func:`evaluate` (the bootstrap replicates are the same too);
        ``n_boot`` from 1 to 19 is warned of once, as there.
    reference : str, optional
        The model the others are compared with (default: the first).
    nb_thresholds : sequence of float, default=(0.01, 0.05, 0.1)
        Probability thresholds at which net benefit is compared.

    Returns
    -------
    DataFrame
        ``model, metric, label, estimate, lower, upper``; ``table.attrs["results"]``
        holds each model's :class:`EvaluationResult` (draw them with
        :func:`riskscore.plots.plot_model_comparison`) and
        ``table.attrs["differences"]`` the paired differences against the
        reference: ``model, reference, metric, threshold, estimate, lower,
        upper, n, events`` for AUROC and net benefit, each model minus the
        reference on the same validation rows, with percentile intervals from
        the same case-bootstrap replicates (so that the shared uncertainty of the
        rows cancels), counts disclosure-controlled.

    Examples
    --------
    >>> from riskscore.modelfile import default_scorecard
    >>> from riskscore.training import make_training_set
    >>> from riskscore.evaluation import compare_models
    >>> from riskscore.logistic import LogisticRiskModel
    >>> from riskscore.synthetic import make_cohort
    >>> ts = make_training_set(*make_cohort(1500, random_state=3, years=5), grid="90D")
    >>> table = compare_models({"default": default_scorecard(), "logistic":
    ...     LogisticRiskModel(C=0.1)}, ts, cv=3, n_boot=20)
    >>> sorted(set(table["model"]))
    ['default', 'logistic']
    >>> table.attrs["differences"]["metric"].tolist()[:2]
    ['auroc', 'net_benefit']
    """
    if not models:
        raise ParameterError("compare_models needs at least one model.")
    options = set(inspect.signature(evaluate).parameters) - {"model"}
    unknown = sorted(set(kwargs) - options)
    if unknown:
        raise ParameterError(
            f"compare_models: unknown option(s) {unknown}; the options passed on to "
            f"evaluate are {sorted(options - {'training_set', 'cv'})}."
        )
    _require_training_set(training_set, "compare_models")
    warn_few_replicates(n_boot, "compare_models")
    for name, model in models.items():  # every model before any is evaluated
        _model_kind(model, f"compare_models (model {name!r})")
    try:
        known = reference is None or reference in models
    except TypeError:  # unhashable: no model's name
        known = False
    if not known:
        raise ParameterError(
            f"compare_models: reference must be the name of one of the models "
            f"{list(models)}; got {reference!r}."
        )
    thresholds = _probability_list(nb_thresholds, "nb_thresholds", "compare_models", ends=False)
    splitter, _ = _resolve_cv(
        cv, training_set, kwargs.pop("temporal_cut", None), random_state, "compare_models"
    )
    if isinstance(splitter, list) or splitter is None:
        splits = splitter
    else:
        splits = list(
            splitter.split(
                training_set.X, np.asarray(training_set.y), np.asarray(training_set.case_ids)
            )
        )
    # every model's decision curve publishes net benefit at the compared thresholds
    dc = kwargs.pop("dc_thresholds", None)
    kwargs["dc_thresholds"] = np.union1d(_dc_thresholds(dc, "compare_models"), thresholds)
    for name in ("alert_rates", "thresholds"):  # checked here under compare_models' name
        if kwargs.get(name) is not None:
            kwargs[name] = _probability_list(
                kwargs[name], name, "compare_models", ends=name == "thresholds"
            )
    if kwargs.get("subgroup_by") is not None:
        kwargs["subgroup_by"] = _column_names(
            kwargs["subgroup_by"], "subgroup_by", "compare_models"
        )
    if isinstance(cv, numbers.Integral) and splits is not None:
        splits = _CaseFolds(splits)  # still riskscore's case folds, for evaluate's advice
    results = {}
    for name, model in models.items():
        with called_as(f"compare_models (model {name!r})"):
            results[name] = evaluate(
                model,
                training_set,
                splits,
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
    # the metrics as each evaluation published them, under the same rule
    settings = settings_for(kwargs.get("disclosure", True))
    table = (
        mark_statistics(table, settings, rule=metrics_rule(settings))
        if settings is not None
        else mark_undisclosed(table, reason="compare_models(disclosure=False)")
    )
    table.attrs["results"] = results
    table.attrs["level"] = kwargs.get("level", 0.95)
    table.attrs["differences"] = _paired_differences(
        results,
        reference or next(iter(models)),
        thresholds,
        n_boot,
        kwargs.get("level", 0.95),
        random_state,
        settings,
    )
    return table


def _paired_differences(results, reference, thresholds, n_boot, level, random_state, settings):
    """Each model minus the reference on the same rows: AUROC and net benefit, case bootstrap.

    Under disclosure control a net-benefit difference is the difference of the two
    models' published net benefits (computed from their published counts: one from
    exact counts gives the number of rows and the counts between the models back),
    shown only where both decision-curve rows are published; an AUROC difference
    only where both AUROCs are; intervals only beside a shown estimate; ``n`` and
    ``events`` are the published validation counts.
    """
    preds = {k: r.predictions for k, r in results.items()}
    ref = preds[reference]
    rows = ref["fold"].to_numpy() >= 0
    y = ref["y"].to_numpy(dtype=np.float64)[rows]
    codes, n_cases = group_codes(ref["case_id"].to_numpy()[rows])
    odds = thresholds / (1 - thresholds)

    def stats(p, ranker, w):
        wp, wn = ranker.sums(w, y)
        alert = p[:, None] >= thresholds[None, :]
        total = w.sum()
        tp = (w * y) @ alert
        fp = (w * (1 - y)) @ alert
        return np.concatenate([ranker.auroc(wp, wn)[:1], tp / total - fp / total * odds])

    probs = {}
    for k, pr in preds.items():
        p = pr["probability"].to_numpy(dtype=np.float64)
        if not np.array_equal(pr["fold"].to_numpy() >= 0, ref["fold"].to_numpy() >= 0):
            raise EstimationError(
                f"compare_models: {k!r} was validated on other rows than {reference!r}."
            )
        probs[k] = np.clip(p[rows], EPS, 1 - EPS)
    rankers = {k: Ranker(p) for k, p in probs.items()}
    ones = np.ones(len(y))
    point = {k: stats(probs[k], rankers[k], ones) for k in probs}
    draws = {k: [] for k in probs}
    for w in replicate_weights(codes, n_cases, n_boot, random_state):
        for k in probs:
            draws[k].append(stats(probs[k], rankers[k], w))
    labels = ["auroc", *["net_benefit"] * len(thresholds)]
    thr = [np.nan, *thresholds]
    out = []
    for k in probs:
        if k == reference:
            continue
        d = np.asarray(draws[k]) - np.asarray(draws[reference])
        lo, hi = percentile_interval(d, level) if len(d) else (np.nan, np.nan)
        est = point[k] - point[reference]
        for i, metric in enumerate(labels):
            out.append(
                {
                    "model": k,
                    "reference": reference,
                    "metric": metric,
                    "threshold": thr[i],
                    "estimate": est[i],
                    "lower": np.atleast_1d(lo)[i] if len(d) else np.nan,
                    "upper": np.atleast_1d(hi)[i] if len(d) else np.nan,
                    "n": len(y),
                    "events": int(y.sum()),
                }
            )
    table = pd.DataFrame(
        out,
        columns=[
            "model",
            "reference",
            "metric",
            "threshold",
            "estimate",
            "lower",
            "upper",
            "n",
            "events",
        ],
    )
    table.attrs["method"] = (
        "each model minus the reference on the same validation rows; percentile intervals "
        "from the same case-bootstrap replicates for both"
    )
    if settings is None:
        return mark_undisclosed(table, reason="compare_models(disclosure=False)")
    return _published_differences(table, results, reference, settings)


def _published_differences(table, results, reference, settings) -> pd.DataFrame:
    """The paired differences restated from what each evaluation published."""
    out = table.copy()
    out.attrs = dict(table.attrs)
    sample = results[reference].sample
    for c, col in (("n", "n_rows"), ("events", "n_events")):
        v = sample[col].iloc[0] if sample is not None else pd.NA
        out[c] = pd.array([v] * len(out), dtype="Int64")

    def nb(name, t):
        d = results[name].decision_curve
        hit = np.isclose(d["threshold"].to_numpy(dtype=float), t)
        return float(d.loc[hit, "net_benefit"].iloc[0]) if hit.any() else np.nan

    def auroc(name):
        m = results[name].metrics
        v = m.loc[m["metric"] == "auroc", "estimate"]
        return float(v.iloc[0]) if len(v) else np.nan

    estimate = out["estimate"].to_numpy(dtype=float).copy()
    shown = np.zeros(len(out), dtype=bool)
    for i, row in enumerate(out.itertuples(index=False)):
        if row.metric == "auroc":
            a, b = auroc(row.model), auroc(reference)
            shown[i] = np.isfinite(a) and np.isfinite(b)
        else:
            a, b = nb(row.model, row.threshold), nb(reference, row.threshold)
            shown[i] = np.isfinite(a) and np.isfinite(b)
            estimate[i] = a - b
    out["estimate"] = np.where(shown, estimate, np.nan)
    hidden = pd.DataFrame(False, index=out.index, columns=out.columns)
    for c in ("estimate", "lower", "upper"):
        hidden[c] = ~shown & out[c].notna()
        out.loc[~shown, c] = np.nan
    m = settings.min_count
    return mark_statistics(
        out,
        settings,
        rule=(
            "net-benefit differences are differences of the published net benefits "
            "(from published counts); AUROC differences and intervals only where both "
            f"models' estimates are published (at least {m} events and non-events, and "
            f"decision-curve rows that differ from their neighbours by 0 or at least {m}); "
            "n and events as published"
        ),
        suppressed=hidden,
    )


# --------------------------------------------------------------------------- recalibrate


@validate_params({"method": [StrOptions("intercept", "slope")]})
def recalibrate(model, X, y, *, method: str = "intercept"):
    """Recalibrate a fitted model to a new site's data: intercept only, or intercept and slope.

    A model moved to another area or period usually ranks children as well as
    before but is off in its overall risk (calibration-in-the-large) and sometimes
    in its spread. This refits ``logit P(y) = a + lp`` (``method="intercept"``) or
    ``logit P(y) = a + b * lp`` (``"slope"``) on the new data, with ``lp`` the
    model's log-odds (for a points model, its points-to-risk map's), and returns a
    copy whose probabilities include the update; the original is left alone. The
    ranking of rows does not change (``b > 0``), only the probabilities and so the
    rows reaching the probability bands.

    Parameters
    ----------
    model : LogisticRiskModel, IntegerPointsModel or RuleScorecard
        A fitted model; a scorecard needs its points-to-risk map
        (``points_to_risk_``, as :meth:`LogisticRiskModel.to_scorecard` sets).
    X : DataFrame
        The new site's features.
    y : array-like
        Its outcomes (0/1).
    method : {"intercept", "slope"}, default="intercept"
        Recalibration in the large, or logistic recalibration (intercept and slope).
        A fitted slope at or below 0 (the model does not rank these children, or
        ranks them the wrong way round) is refused: it would reverse the ranking.

    Returns
    -------
    A recalibrated copy, with ``recalibration_`` = ``{method, intercept, slope,
    n_rows, n_events}`` (exact counts: stay inside the secure environment). A
    logistic model's covariance (Wald and cluster) is scaled by ``slope**2``, so its
    intervals condition on the recalibration (its own uncertainty is not in them);
    its training metrics stay those of the original fit. :func:`save_model` writes
    the record into the model card (``recalibration``, counts disclosure-controlled).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscore import LogisticRiskModel
    >>> from riskscore.evaluation import recalibrate
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"siblings_removed": rng.integers(0, 3, 2000).astype(float)})
    >>> y = rng.random(2000) < 1 / (1 + np.exp(-(-2 + 0.7 * X["siblings_removed"])))
    >>> model = LogisticRiskModel(penalty=None).fit(X, y)
    >>> new_y = rng.random(2000) < 1 / (1 + np.exp(-(-1 + 0.7 * X["siblings_removed"])))
    >>> moved = recalibrate(model, X, new_y)
    >>> bool(abs(moved.predict_proba(X)[:, 1].mean() - new_y.mean()) < 1e-6)
    True
    """
    import copy

    if method not in ("intercept", "slope"):
        raise ParameterError(f"method must be 'intercept' or 'slope', got {method!r}.")
    if not isinstance(X, (pd.DataFrame, np.ndarray)):
        raise SchemaError(
            f"recalibrate: X must be a feature table (a DataFrame of the model's features, "
            f"as encode_features returns); got {type(X).__name__}."
        )
    if y is None:
        raise ParameterError(
            "recalibrate: y is None; pass the new site's 0/1 outcome of every row of X."
        )
    try:
        yb = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise SchemaError("recalibrate: y must be 0/1 outcomes (numbers).") from None
    if yb.ndim == 2 and yb.shape[1] == 1:
        yb = yb.ravel()
    if yb.ndim != 1:
        raise SchemaError(
            f"recalibrate: y must be one outcome per row (1-D); got an array of shape "
            f"{yb.shape}. Fix: pass the outcome column."
        )
    if len(yb) != len(X):
        raise SchemaError(
            f"recalibrate: X has {len(X)} rows and y {len(yb)}. Fix: pass the outcome of "
            "every row of X, in the same order."
        )
    bad = ~np.isin(yb, (0.0, 1.0))
    if bad.any():
        raise SchemaError(
            f"recalibrate: y must be 0/1 outcomes; {int(bad.sum())} row(s) hold something "
            f"else (missing, NaN, or another number), rows {np.flatnonzero(bad)[:5].tolist()} "
            "(0-based). Fix: drop rows whose outcome is unknown from X and y."
        )
    if np.unique(yb).size < 2:
        side = "without" if len(yb) and yb[0] == 1 else "with"
        raise SchemaError(
            f"recalibrate: y has no row {side} the outcome ({len(yb)} rows), so no "
            "intercept or slope can be fitted. Fix: recalibrate on the new site's data with "
            "children with and without the outcome."
        )
    new = copy.deepcopy(model)
    card = getattr(new, "scorecard_", new)  # IntegerPointsModel keeps its map on its card
    mapping = getattr(card, "points_to_risk_", None)
    if isinstance(model, LogisticRiskModel):
        lp = np.asarray(model.decision_function(X), dtype=np.float64)
    elif mapping is not None:
        score = np.asarray(card.risk_score(X), dtype=np.float64)
        lp = mapping["intercept"] + mapping["slope"] * score
    else:
        raise ModelContractError(
            f"recalibrate: a {type(model).__name__} without a points-to-risk map gives no "
            "probabilities to recalibrate; pass a LogisticRiskModel, an IntegerPointsModel "
            "or a scorecard from LogisticRiskModel.to_scorecard."
        )
    a, b = logistic_fit(lp, yb, slope=method == "slope")
    if not (np.isfinite(a) and np.isfinite(b)):
        raise EstimationError("recalibrate: the fit did not converge (outcome separated?).")
    if b <= 0:
        raise EstimationError(
            f"recalibrate: the slope on these data is {b:.3g}: the model ranks these "
            "children the wrong way round (or not at all), and logistic recalibration would "
            "reverse (or flatten) its ranking. Fix: method='intercept' keeps the ranking "
            "and moves the overall risk; a model that does not rank at this site needs "
            "refitting, not recalibration."
        )
    if isinstance(new, LogisticRiskModel):
        new.coef_ = new.coef_ * b
        new.intercept_ = np.asarray([a + b * new.intercept_[0]])
        # (intercept, coef) -> (a + b * intercept, b * coef): the covariance scales by
        # b squared. It conditions on the recalibration (a and b are taken as known).
        for name in ("covariance_", "cluster_covariance_"):
            if getattr(new, name, None) is not None:
                setattr(new, name, getattr(new, name) * b**2)
    else:
        card.points_to_risk_ = {
            "intercept": a + b * mapping["intercept"],
            "slope": b * mapping["slope"],
        }
        if isinstance(getattr(card, "model_card", None), dict):
            card.model_card["points_to_risk"] = dict(card.points_to_risk_)
    new.recalibration_ = {
        "method": method,
        "intercept": float(a),
        "slope": float(b),
        "n_rows": int(len(yb)),
        "n_events": int(yb.sum()),
    }
    return new


# --------------------------------------------------------------------------- examples


def example_result() -> EvaluationResult:
    """A tiny evaluation on random data, for docstring examples."""
    from collections import namedtuple

    rng = np.random.default_rng(0)
    n = 400
    x = rng.integers(0, 4, n).astype(float)
    y = (rng.random(n) < expit(-2 + 0.8 * x)).astype(int)
    TS = namedtuple("TS", "X y case_ids as_of info")
    ts = TS(
        pd.DataFrame({"siblings_removed": x}),
        y,
        np.repeat(np.arange(n // 2), 2),
        pd.Series(pd.Timestamp("2102-01-01"), index=range(n)),
        {"horizon": 365},
    )
    return evaluate(LogisticRiskModel(penalty=None), ts, cv=2, n_boot=20, disclosure=False)
