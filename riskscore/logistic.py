"""Logistic risk model: a scikit-learn classifier with the shared model contract.

:class:`LogisticRiskModel` wraps :class:`sklearn.linear_model.LogisticRegression`
and adds what an audit needs from a transparent model: scores on the log-odds
scale split exactly into per-feature contributions, odds ratios with confidence
intervals, an explicit missing-value strategy, honest probabilities after class
weighting, audit bands, and conversion to an integer-points scorecard.

Missing values (strategy ``missing="indicator"``, the default)
---------------------------------------------------------------
A missing value (NaN) is replaced by the feature's mean over the training rows
where it was known (``impute_values_``), and a 0/1 column ``<feature>__missing`` is
added for every feature that had any missing value in training. No row is ever
dropped. The mean (rather than 0) is used for every kind of feature because 0 is a
real, low-risk value for counts, flags and attendance, and imputing it would let
"unknown" pass as "reassuring"; with the indicator present, the indicator's
coefficient is the log-odds of being unknown compared with a child at the mean.
Indicators that are identical in the training data (attendance features are
usually missing together) are merged into one, named after the first feature and
set when any of its features is missing, because the data cannot tell them apart.
``missing="error"`` refuses NaN instead.

Penalties on standardised features
----------------------------------
With ``standardize=True`` (the default) every design column is centred and scaled
to unit standard deviation over the training rows before an L1 or L2 penalty is
applied, so that the penalty does not depend on the units a feature is recorded
in (an attendance fraction and a count of events are shrunk alike); the
coefficients are transformed back and always reported on the original units.
Unpenalised fits do not depend on it. ``standardize=False`` penalises the raw
columns (the first release's behaviour, kept to rebuild ``synthetic-logistic-v1``).
L1 fits use scikit-learn's ``liblinear`` coordinate descent (with a large
``intercept_scaling``, and the intercept re-solved afterwards, so that it is
unpenalised), which converges in seconds on standardised features where
``saga`` needed minutes.

Intervals
---------
:meth:`LogisticRiskModel.odds_ratios` picks the interval the data support.
Person-period data have several rows per child, which are not independent, so
when ``fit`` is given ``case_ids`` and some case has more than one row, the
default interval is **cluster-robust by case**: the sandwich estimator
``B M B`` with ``B`` the inverse information matrix and ``M`` the sum over cases
of the outer products of each case's summed score, times the usual small-sample
factor ``G / (G - 1) * (N - 1) / (N - K)`` (G cases, N rows, K estimated
parameters), as statsmodels' ``cov_type="cluster"``. With one row per case the
default is Wald (the inverse information matrix); without ``case_ids`` it is Wald
labelled as assuming independent rows. The sandwich needs many cases: from fewer
than 30 (``MIN_CLUSTER_CASES``) it is too narrow even with the correction (in
simulated person-period data, nominal 95% intervals covered the truth 54-82% of
the time from 5 cases and 82-91% from 10), so the intervals are still given but
:meth:`~LogisticRiskModel.odds_ratios` warns (:class:`~riskscore.SampleSizeWarning`)
and its note says how many cases they rest on; one case is refused. ``ci="bootstrap"`` refits on samples of
whole cases; it refuses to resample rows when the cases are known to repeat.
Every table says which interval it holds (``interval`` column and
``attrs["interval"]``).

Class weighting and recalibration
---------------------------------
``class_weight`` up-weights the rare outcome during fitting, which shifts every
predicted probability upwards. With ``recalibrate=True`` (or ``"intercept"``) the
intercept is then re-estimated by unweighted maximum likelihood with the
coefficients held fixed, so that the mean predicted probability on the training
rows equals the observed outcome rate (recalibration in the large).
``recalibrate="platt"`` re-estimates both an intercept and a slope on the linear
predictor (Platt scaling), which also corrects over-confident spread. Without class
weighting an unpenalised fit already satisfies the mean condition, and nothing is
changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import numbers
import threading
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import joblib
import numpy as np
import pandas as pd
from scipy.sparse import issparse
from scipy.special import expit, logit  # scipy is a scikit-learn dependency
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.utils import check_array
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    column_or_1d,
    validate_data,
)
from tqdm.auto import tqdm

from riskscore._arrays import row_chunks
from riskscore._lattice import (
    compress_patterns,
    lattice_search,
    max_total,
    min_total,
    round_half_away,
    weighted_integer_auc,
)
from riskscore._names import band_name
from riskscore._numerics import (
    MAX_BOOT,
    binary_auc,
    case_codes,
    group_resample_index,
    normal_quantile,
)
from riskscore._parallel import available_cores, capped_n_jobs, map_threads
from riskscore._params import (
    POSITIVE_INT,
    UNIT_OPEN,
    Interval,
    Options,
    StrOptions,
    make_constraint,
    validate_params,
)
from riskscore.contract import register_model
from riskscore.errors import (
    EstimationError,
    NotNumbersError,
    ParameterError,
    RiskscoreError,
    SampleSizeWarning,
    SchemaError,
    check_fitted,
    warn_user,
)
from riskscore.schema import allowed_columns, refuse_non_numbers
from riskscore.scorecard import (
    AUDIT_ONLY_NOTICE,
    Rule,
    RuleScorecard,
    bands_of,
    check_bands,
    refuse_doubled,
)
from riskscore.vocabulary import FEATURES, SAME_CONDITION, feature_unit, feature_unit_size

__all__ = [
    "LogisticRiskModel",
    "DEFAULT_PROBABILITY_BANDS",
    "ADDED_PARAMETERS",
    "MIN_CLUSTER_CASES",
]


#: Parameters added after the first model files were written, with the value that
#: reproduces the behaviour from before they existed. Model files and printed model
#: descriptions show such a parameter only when it differs from this value, so that
#: earlier files (``synthetic-logistic-v1``) rebuild byte for byte, and a file
#: without it loads with the old behaviour.
ADDED_PARAMETERS: Mapping[str, object] = MappingProxyType({"standardize": False})

#: intercept_scaling for liblinear's L1 fits: liblinear penalises the intercept as
#: a feature of this constant value, so a large value leaves it nearly free (the
#: intercept's score equation is then off by 1 / (C * scaling); the intercept is
#: re-solved exactly afterwards).
_LIBLINEAR_INTERCEPT_SCALING = 1000.0

#: Below this C an L2 fit is solved on the columns times sqrt(C) with C=1, the same
#: objective: scikit-learn's Newton solver adds 1 / (C * n_rows) to the coefficients'
#: Hessian, which next to the intercept's (at most 0.25) made it ill-conditioned for
#: C near 1e-18 and below, and the solver's fallback returned an intercept of 0
#: (probability 0.5 for every row) with only warnings.
_SMALL_C = 1e-6

#: Band thresholds used when ``bands=None``: predicted probabilities. They are
#: placeholders for audit displays; choose thresholds for your own cohort.
DEFAULT_PROBABILITY_BANDS: Mapping[str, float] = {"review": 0.10, "multi_agency_discussion": 0.30}

#: Fewest cases from which :meth:`LogisticRiskModel.odds_ratios` gives cluster-robust
#: intervals without a :class:`~riskscore.SampleSizeWarning`. The sandwich estimator
#: is consistent as the number of cases grows; with few cases it underestimates the
#: variance even after statsmodels' small-sample factor (30 is the usual rule of
#: thumb, e.g. Cameron and Miller 2015, J. Human Resources 50(2)). In this module's
#: tests' person-period simulation (6 rows a case) nominal 95% intervals covered
#: 54-82% from 5 cases, 82-91% from 10, 92-94% from 20 and 91-93% from 30.
MIN_CLUSTER_CASES = 30

_MISSING_SUFFIX = "__missing"
#: Rows scored per block: the block's table of terms (intercept, features and missing
#: indicators as rows of float64: about 4.5 MB for 21 features) stays in the shared
#: cache, and there are few enough blocks that the Python between numpy calls (which
#: holds the GIL, so the threads take turns at it) stays small: 2,048 to 131,072
#: rows were tried; 24,576 was fastest (median 1.8-2.0x a matrix product on a
#: million rows, against 2.0-2.2x with 16,384 and 2.5-3.0x with 32,768).
_SCORE_ROWS = 24_576
_PENALTIES = (None, "l2", "l1")
#: What liblinear takes as a seed (a numpy Generator it does not): checked in fit for
#: every penalty, as scikit-learn checks its parameters whether used or not.
_RANDOM_STATE = (
    make_constraint(None),
    Interval(numbers.Integral, 0, 2**32 - 1),
    make_constraint(np.random.RandomState),
)
_RECALIBRATE = (True, False, "intercept", "platt")

# to_scorecard tiers by feature kind: (comparison, thresholds in risk order).
# Counts use >= 1, 2, 3 (tiers above the training maximum are dropped); the
# attendance fraction uses England's persistent (<= 90%) and severe (<= 50%)
# absence lines; the attendance drop uses falls of 10 and 20 percentage points.
_TIERS = {
    "flag": (">=", (1.0,)),
    "count": (">=", (1.0, 2.0, 3.0)),
    "fraction": ("<=", (0.9, 0.5)),
    "difference": (">=", (0.1, 0.2)),
}


@contextlib.contextmanager
def _input_errors():
    """scikit-learn's input checks raise ``ValueError``: re-raised as SchemaError (also
    a ValueError) with the same words, so a user catches one family, riskscore's."""
    try:
        yield
    except RiskscoreError:
        raise
    except ValueError as exc:
        raise SchemaError(f"LogisticRiskModel: {exc}") from None
    except TypeError as exc:  # numpy converting something that is not a number
        raise NotNumbersError(
            f"LogisticRiskModel: expected a feature table (a DataFrame from "
            f"encode_features, or a 2-D array of numbers); converting it failed: {exc}"
        ) from None


def _first_rows(mask: np.ndarray, index: pd.Index, k: int = 5) -> str:
    rows = np.flatnonzero(mask)[:k]
    return ", ".join(str(index[i]) for i in rows)


def _check_class_weight(class_weight, classes=None) -> None:
    """Refuse a ``class_weight`` that is not None, "balanced" or {class: weight}.

    Weights must be positive finite numbers (a negative or NaN weight made the solver
    diverge, or return zeros, with only warnings); given ``classes``, every label must
    be one of them (a class not listed weighs 1, as in scikit-learn).
    """
    if class_weight is None or (isinstance(class_weight, str) and class_weight == "balanced"):
        return
    if not isinstance(class_weight, Mapping):
        raise ParameterError(
            "LogisticRiskModel: class_weight must be None, 'balanced' or a dict "
            f"{{class label: weight}}; got {class_weight!r} ({type(class_weight).__name__}). "
            "Fix: pass e.g. class_weight={1: 10.0} to up-weight the outcome class."
        )
    for label, weight in class_weight.items():
        if (
            isinstance(weight, (bool, np.bool_))
            or not isinstance(weight, numbers.Real)
            or not (math.isfinite(weight) and weight > 0)
        ):
            raise ParameterError(
                f"LogisticRiskModel: class_weight[{label!r}] must be a positive finite "
                f"number; got {weight!r} ({type(weight).__name__}). Fix: weights multiply "
                "each row's loss, so use numbers above 0, e.g. {1: 10.0}."
            )
    if classes is not None:
        known = set(np.asarray(classes).tolist())
        for label in class_weight:
            if label not in known:
                raise ParameterError(
                    f"LogisticRiskModel: class_weight label {label!r} is not a class of y "
                    f"(the classes are {sorted(known, key=str)}). Fix: key the weights by "
                    "the labels of y, e.g. {" + f"{np.asarray(classes).tolist()[-1]!r}"
                    ": 10.0}; a class not listed weighs 1."
                )


def _case_codes(case_ids, n_rows: int, where: str) -> np.ndarray:
    """Each row's case as a code 0..G-1 (a one-column array is the column)."""
    ids = np.asarray(case_ids, dtype=object)
    if ids.ndim == 2 and ids.shape[1] == 1:
        ids = ids.ravel()
    return case_codes(ids, n_rows, f"LogisticRiskModel.{where}", "X")[0]


def _one_case_error(n_cases: int) -> EstimationError:
    return EstimationError(
        f"Cluster-robust intervals need at least 2 cases, and the rows hold {n_cases} case "
        "(every row is of the same child). The variation between cases is what they "
        "measure: with one there is none. Fix: pass case_ids of rows from several cases "
        "(fit(X, y, case_ids=...) or odds_ratios(X, y, case_ids=...)); rows of one child "
        "are not independent, so Wald intervals (ci='wald') would overstate precision."
    )


def _warn_few_cases(n_cases: int | None) -> str:
    """Warn that cluster-robust intervals rest on too few cases; the words for the note."""
    if n_cases is None or n_cases >= MIN_CLUSTER_CASES:
        return ""
    warn_user(
        f"LogisticRiskModel.odds_ratios: cluster-robust intervals from {n_cases} cases are "
        f"too narrow (the sandwich estimator needs many cases: at least "
        f"{MIN_CLUSTER_CASES}; with fewer, nominal 95% intervals cover the truth far less "
        "often, even after the small-sample correction). Fix: fit on more cases, or use "
        "ci='bootstrap' with X, y and case_ids (also approximate from so few cases); "
        "report these intervals as indicative only.",
        SampleSizeWarning,
    )
    return (
        f"; from only {n_cases} cases (fewer than {MIN_CLUSTER_CASES}), so too narrow: "
        "indicative only"
    )


def _covariances(Z, yb, eta, varying, codes):
    """Inverse information (Wald) and, given case codes, the cluster-robust covariance.

    Both are of (intercept, coef); columns constant in training were not estimated
    and get zero rows (their intervals are reported as unavailable). None where
    the information matrix is singular.
    """
    p = expit(eta)
    D = np.column_stack([np.ones(len(yb)), Z[:, varying]])
    info = D.T @ (D * (p * (1 - p))[:, None])
    try:
        # info = L L' -> info^-1 = L^-T L^-1
        L_inv = np.linalg.inv(np.linalg.cholesky(info))
    except np.linalg.LinAlgError:
        return None, None  # singular: odds_ratios explains
    bread = _symmetric(L_inv.T @ L_inv)
    keep = np.r_[True, varying]
    wald = np.zeros((len(keep), len(keep)))
    wald[np.ix_(keep, keep)] = bread
    if codes is None:
        return wald, None
    n, k = D.shape
    g = int(codes.max()) + 1
    resid = yb - p
    # each case's summed score, one column at a time (no loop over cases)
    S = np.column_stack(
        [np.bincount(codes, weights=D[:, j] * resid, minlength=g) for j in range(k)]
    )
    meat = S.T @ S
    # statsmodels' cov_type="cluster" small-sample correction
    factor = g / (g - 1) * (n - 1) / (n - k) if g > 1 and n > k else np.nan
    cluster = np.zeros_like(wald)
    cluster[np.ix_(keep, keep)] = factor * _symmetric(bread @ meat @ bread)
    return wald, cluster


def _symmetric(a: np.ndarray) -> np.ndarray:
    """``a`` made exactly symmetric: a covariance is, but products of matrices are so
    only up to rounding, which an ill-conditioned fit magnifies (an unpenalised fit on
    200 children gave -0.557 and -0.581 for one pair) and model files refuse."""
    return (a + a.T) / 2


def _bootstrap_once(model, Z, y, seed, groups_info):
    rng = np.random.default_rng(seed)
    if groups_info is None:
        idx = rng.integers(0, len(y), size=len(y))
    else:
        idx = group_resample_index(*groups_info, rng)
    ys = y[idx]
    if ys.min() == ys.max():
        return None
    coef, intercept, _ = model._fit_design(Z[idx], ys)
    return np.concatenate([[intercept], coef])


def _put(values: np.ndarray, mask: np.ndarray, value: float) -> None:
    """Set ``values`` to ``value`` where ``mask`` holds, without a branch per element.

    ``np.copyto(values, value, where=mask)`` tests each element, and a scattered mask
    (missing values) mispredicts that test: 27 µs for 16,384 rows with 10% set,
    against 11 µs for these three passes over the bit patterns, which select exactly.
    """
    bits = values.view(np.int64)
    diff = np.bitwise_xor(bits, np.float64(value).view(np.int64))
    np.multiply(diff, mask, out=diff)  # zero where the mask does not hold
    np.bitwise_xor(bits, diff, out=bits)


@register_model
class LogisticRiskModel(ClassifierMixin, BaseEstimator):
    """Logistic regression for binary outcomes, with the shared model contract.

    Parameters
    ----------
    penalty : {None, "l2", "l1"}, default="l2"
        Penalty on the coefficients. ``None`` gives the maximum-likelihood fit and
        is needed for Wald and cluster-robust intervals in :meth:`odds_ratios`.
    C : float, default=1.0
        Inverse penalty strength (ignored when ``penalty=None``), as in
        scikit-learn: the penalty is ``1/C`` times the L1 or half the squared L2
        norm of the coefficients of the standardised design. Any positive finite
        value: an L2 fit with ``C`` below 1e-6 is solved on the columns times
        ``sqrt(C)`` with ``C=1`` (the same objective, kept well-conditioned), so
        that a tiny ``C`` gives the intercept-only fit rather than a failed solve.
    standardize : bool, default=True
        Penalise the coefficients of the standardised design columns (mean 0,
        standard deviation 1 over the training rows), so that the penalty does not
        depend on units; coefficients are reported on the original units.
        ``False`` penalises raw columns (the first release's behaviour).
    class_weight : None, "balanced" or dict, default=None
        Weights for the classes during fitting (for rare outcomes); see
        ``recalibrate``. A dict maps labels of ``y`` to positive finite weights; a
        class it does not list weighs 1. Other labels, and weights that are not
        positive finite numbers, are refused in ``fit`` (:class:`ParameterError`).
    features : list of str, optional
        Columns to use, by name (needs a DataFrame). Default: the catalogue
        features present in a DataFrame (``case_id``, ``as_of`` and other columns
        are ignored), or every column when none are catalogue features.
    missing : {"indicator", "error"}, default="indicator"
        Missing-value strategy (see the module notes): mean imputation plus a
        missing indicator, or refuse NaN.
    recalibrate : {True, False, "intercept", "platt"}, default=True
        After class weighting, re-estimate the intercept (``True``/``"intercept"``)
        or intercept and slope (``"platt"``) by unweighted maximum likelihood on
        the training rows, so that probabilities stay honest.
    bands : dict, optional
        ``{"review": p1, "multi_agency_discussion": p2}`` as predicted
        probabilities (``0 < p1 <= p2 < 1``); stored on the log-odds scale in
        ``bands_``. Default :data:`DEFAULT_PROBABILITY_BANDS`.
    max_iter : int, default=1000
        Solver iterations.
    tol : float, default=1e-8
        Solver tolerance.
    random_state : int, RandomState or None, default=0
        Seed for the ``"l1"`` solver (liblinear): None, an int in ``[0, 2**32 - 1]``
        or a ``numpy.random.RandomState``; anything else is refused in ``fit``
        (:class:`ParameterError`), whatever the penalty.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels; ``classes_[1]`` is the outcome ("event").
    coef_ : ndarray of shape (1, n_features_out)
        Coefficients (log-odds per unit) for ``features_``.
    intercept_ : ndarray of shape (1,)
        Intercept (log-odds), after any recalibration.
    features_ : list of str
        Design columns: the input features, then missing indicators.
    feature_names_in_ : ndarray of str
        Input feature names (when fitted on a DataFrame).
    n_features_in_ : int
        Number of input features.
    impute_values_ : dict
        Feature -> value used for NaN (training mean of known values).
    indicator_groups_ : dict
        Indicator column -> the features whose missingness it marks.
    bands_ : dict
        Band thresholds on the log-odds scale.
    band_probabilities_ : dict
        The same as probabilities.
    calibration_ : dict
        What recalibration did (method, intercept shift, slope).
    constant_features_ : list of str
        Design columns constant in the training rows (for example a flag that never
        fires there): left out of the solve, coefficient 0, no Wald interval.
    covariance_ : ndarray or None
        Inverse observed information matrix of (intercept, coef) for unpenalised,
        unweighted fits; None otherwise.
    cluster_covariance_ : ndarray or None
        Cluster-robust (by case) covariance of (intercept, coef), computed when
        ``fit`` was given ``case_ids`` and some case has several rows (unpenalised,
        unweighted fits); None otherwise.
    interval_ : str
        The interval :meth:`odds_ratios` gives by default: ``"cluster"``,
        ``"wald"`` (one row per case) or ``"wald-independent"`` (no case ids given,
        rows assumed independent).
    training_data_ : dict
        Training summary: rows, events, cases (when ``case_ids`` given) and a SHA-256
        of the feature values and outcomes. Counts are exact here; model files
        apply disclosure control.
    training_metrics_ : dict
        Training AUROC, Brier score, mean predicted risk and observed rate.

    See Also
    --------
    RuleScorecard : hand-written points scorecard with the same contract.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscore import LogisticRiskModel
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"siblings_removed": rng.integers(0, 3, 500).astype(float)})
    >>> y = rng.random(500) < 0.1 + 0.2 * X["siblings_removed"]
    >>> model = LogisticRiskModel(penalty=None).fit(X, y)
    >>> model.features_
    ['siblings_removed']
    >>> bool(model.odds_ratios()["odds_ratio"].iloc[0] > 1)
    True
    """

    #: Scores are log-odds (the shared contract's ``score_scale``).
    score_scale = "log-odds"

    def __init__(
        self,
        penalty: str | None = "l2",
        C: float = 1.0,
        standardize: bool = True,
        class_weight=None,
        features: Sequence[str] | None = None,
        missing: str = "indicator",
        recalibrate: bool | str = True,
        bands: Mapping[str, float] | None = None,
        max_iter: int = 1000,
        tol: float = 1e-8,
        random_state=0,
    ):
        self.penalty = penalty
        self.C = C
        self.standardize = standardize
        self.class_weight = class_weight
        self.features = features
        self.missing = missing
        self.recalibrate = recalibrate
        self.bands = bands
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing == "indicator"
        tags.classifier_tags.multi_class = False
        return tags

    # ------------------------------------------------------------------ params
    def _check_params(self):
        if self.penalty not in _PENALTIES:
            raise ParameterError(f"penalty must be one of {_PENALTIES}, got {self.penalty!r}.")
        if self.penalty is not None and (
            not isinstance(self.C, numbers.Real) or not self.C > 0 or not np.isfinite(self.C)
        ):
            raise ParameterError(f"C must be a positive finite number, got {self.C!r}.")
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise ParameterError(f"standardize must be True or False, got {self.standardize!r}.")
        if self.missing not in ("indicator", "error"):
            raise ParameterError(f"missing must be 'indicator' or 'error', got {self.missing!r}.")
        if not any(self.recalibrate is r or self.recalibrate == r for r in _RECALIBRATE):
            raise ParameterError(
                f"recalibrate must be True, False, 'intercept' or 'platt', got {self.recalibrate!r}."
            )
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ParameterError(f"max_iter must be a positive integer, got {self.max_iter!r}.")
        if not isinstance(self.tol, numbers.Real) or not self.tol > 0:
            raise ParameterError(f"tol must be a positive number, got {self.tol!r}.")
        _check_class_weight(self.class_weight)
        if not any(c.is_satisfied_by(self.random_state) for c in _RANDOM_STATE):
            raise ParameterError(
                "LogisticRiskModel: random_state must be None, an int in [0, 4294967295] or "
                f"a numpy RandomState; got {self.random_state!r} "
                f"({type(self.random_state).__name__}). Fix: pass an int seed such as "
                "random_state=0."
            )
        probs = DEFAULT_PROBABILITY_BANDS if self.bands is None else self.bands
        probs = check_bands(probs, "LogisticRiskModel")
        bad = {k: v for k, v in probs.items() if not 0 < v < 1}
        if bad:
            raise ParameterError(
                f"LogisticRiskModel: bands are predicted probabilities strictly between 0 "
                f"and 1; got {bad}."
            )
        return probs

    def _sklearn_estimator(self) -> LogisticRegression:
        # sklearn >= 1.8 spells the penalty through C and l1_ratio ("penalty" is
        # deprecated): C=inf is unpenalised, l1_ratio=1 is the lasso.
        if self.penalty == "l1":
            # liblinear's coordinate descent converges in seconds on standardised
            # columns (saga needed minutes on 160,000 rows); its intercept is
            # penalised as a column of value intercept_scaling, so a large value
            # leaves the intercept in effect free
            return LogisticRegression(
                C=self.C,
                l1_ratio=1.0,
                solver="liblinear",
                intercept_scaling=_LIBLINEAR_INTERCEPT_SCALING,
                class_weight=self.class_weight,
                max_iter=self.max_iter,
                tol=self.tol,
                random_state=self.random_state,
            )
        return LogisticRegression(
            C=np.inf if self.penalty is None else self.C,
            l1_ratio=0.0,
            solver="newton-cholesky",
            class_weight=self.class_weight,
            max_iter=self.max_iter,
            tol=self.tol,
        )

    # ------------------------------------------------------------------ input
    def _input_array(self, X, *, fitting: bool) -> np.ndarray:
        """Select and validate the input feature columns as a float64 array."""
        with _input_errors():
            return self._checked_array(X, fitting=fitting)

    def _checked_array(self, X, *, fitting: bool) -> np.ndarray:
        allow_nan = "allow-nan" if self.missing == "indicator" else True
        if not issparse(X) and (  # scipy's dok_matrix is a dict: scikit-learn's message
            isinstance(X, (str, bytes, Mapping))
            or (isinstance(X, (list, tuple)) and X and isinstance(X[0], Mapping))
        ):
            raise SchemaError(
                "LogisticRiskModel: expected a feature table (a DataFrame from "
                f"encode_features, or a 2-D array of numbers); got {type(X).__name__}"
                + (" of dicts" if isinstance(X, (list, tuple)) else "")
                + ". Fix: pass pd.DataFrame(...) of the features."
            )
        if isinstance(X, pd.DataFrame):
            if fitting:
                if self.features is not None:
                    names = list(self.features)
                    named = True
                elif any(c in FEATURES for c in X.columns):
                    names = [f for f in FEATURES if f in X.columns]
                    named = True
                else:
                    named = False
                self._named_input = named
            else:
                named = getattr(self, "_named_input", False)
                names = list(getattr(self, "feature_names_in_", []))
            if named:
                if fitting and len(set(names)) != len(names):
                    raise ParameterError(f"features lists a column twice: {names}.")
                refuse_doubled(X, names, "LogisticRiskModel")
                absent = [n for n in names if n not in X.columns]
                if absent:
                    raise SchemaError(
                        f"LogisticRiskModel: the feature table has no column {absent[0]!r} "
                        f"(missing: {absent}). Pass the output of riskscore.encode_features, "
                        "or the columns the model was fitted on."
                    )
                sub = X[names]
                for name, col in sub.items():
                    if col.dtype != np.float64:
                        refuse_non_numbers(col, name, "LogisticRiskModel")
                try:
                    A = sub.to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError) as exc:
                    raise SchemaError(
                        "LogisticRiskModel: feature columns must be numeric; got dtypes "
                        + ", ".join(f"{c}={t}" for c, t in sub.dtypes.items())
                    ) from exc
                self._check_values(A, names, X.index)
                # no rows to score is an empty result; fitting needs rows
                A = check_array(
                    A,
                    ensure_all_finite=allow_nan,
                    dtype=np.float64,
                    ensure_min_samples=1 if fitting else 0,
                )
                if fitting:
                    self.feature_names_in_ = np.asarray(names, dtype=object)
                    self.n_features_in_ = len(names)
                return A
        if fitting:
            if self.features is not None:
                raise ParameterError(
                    "features= selects columns by name, so X must be a pandas DataFrame."
                )
            self._named_input = False
        if isinstance(X, pd.DataFrame):
            for name, col in X.items():
                if col.dtype != np.float64:
                    refuse_non_numbers(col, str(name), "LogisticRiskModel")
        elif isinstance(X, np.ndarray) and X.dtype.kind in "mMcSU":
            # an object array is converted as scikit-learn converts it (numbers as
            # text read, anything else refused by numpy's TypeError, re-raised above)
            refuse_non_numbers(X.ravel(), None, "LogisticRiskModel")
        A = validate_data(
            self,
            X,
            reset=fitting,
            ensure_all_finite=allow_nan,
            dtype=np.float64,
            ensure_min_samples=1 if fitting else 0,
        )
        return np.asarray(A, dtype=np.float64)

    def _check_values(self, A: np.ndarray, names, index) -> None:
        bad = np.isinf(A)
        if self.missing == "error":
            bad |= np.isnan(A)
        if bad.any():
            j = int(np.flatnonzero(bad.any(axis=0))[0])
            raise SchemaError(
                f"LogisticRiskModel: column {names[j]!r} has "
                + ("infinite or missing" if self.missing == "error" else "infinite")
                + f" values (first rows: {_first_rows(bad[:, j], index)}). Features must "
                "be finite numbers"
                + (
                    " (use missing='indicator' to model NaN)."
                    if self.missing == "error"
                    else "; NaN marks a missing value."
                )
            )

    def _design(self, A: np.ndarray) -> np.ndarray:
        """Imputed features plus missing indicators (the fitted design)."""
        if not self.indicator_groups_:
            return A
        miss = np.isnan(A)
        Z = np.where(miss, self._impute_array, A)
        cols = [miss[:, idx].any(axis=1) for idx in self._indicator_index]
        return np.column_stack([Z, *cols]).astype(np.float64)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, case_ids=None):
        """Fit the model.

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_features)
            Feature table (``riskscore.encode_features`` output, a feature-only
            frame, or an array). NaN marks missing values.
        y : array-like of shape (n_samples,)
            Binary outcome (two classes; the larger label is the event).
        case_ids : array-like of shape (n_samples,), optional
            Case identifiers: cases are counted in ``training_data_`` and, when a
            case has several rows, intervals are cluster-robust by case (see the
            module notes).

        Returns
        -------
        self : LogisticRiskModel

        Examples
        --------
        >>> import numpy as np
        >>> from riskscore import LogisticRiskModel
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]] * 10)
        >>> y = np.array([0, 0, 1, 1] * 10)
        >>> LogisticRiskModel().fit(X, y).classes_.tolist()
        [0, 1]
        """
        probs = self._check_params()
        A = self._input_array(X, fitting=True)
        if y is None:
            raise ParameterError(
                "LogisticRiskModel requires y to be passed, but the target y is None: pass the "
                "binary outcome for every row of X."
            )
        with _input_errors():
            # a column vector is accepted with scikit-learn's DataConversionWarning
            y = column_or_1d(y, warn=True)
            if y.dtype.kind in "fc":
                y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
            check_consistent_length(A, y)
            check_classification_targets(y)
        if len(np.unique(y)) != 2:
            raise EstimationError(
                "Only binary classification is supported. LogisticRiskModel needs a binary "
                f"outcome with exactly 2 classes; got {len(np.unique(y))} class(es): "
                f"{np.unique(y)[:5].tolist()}."
            )
        self.classes_ = np.unique(y)
        _check_class_weight(self.class_weight, self.classes_)
        yb = (y == self.classes_[1]).astype(np.float64)
        names = (
            list(self.feature_names_in_)
            if hasattr(self, "feature_names_in_")
            else [f"x{j}" for j in range(A.shape[1])]
        )

        # missing strategy: mean imputation + merged indicators
        miss = np.isnan(A)
        all_missing = miss.all(axis=0)
        if all_missing.any():
            j = int(np.flatnonzero(all_missing)[0])
            raise SchemaError(
                f"LogisticRiskModel: column {names[j]!r} is missing (NaN) in every training "
                "row, so nothing can be learned from it; leave it out with features=[...]."
            )
        # mean of the known values, for every kind of feature (see module notes)
        known_mean = np.nanmean(A, axis=0)
        self._impute_array = known_mean
        self.impute_values_ = {n: float(v) for n, v in zip(names, known_mean, strict=True)}
        groups_idx: list[list[int]] = []
        masks: list[np.ndarray] = []
        for j in np.flatnonzero(miss.any(axis=0)):
            for g, m in enumerate(masks):
                if np.array_equal(m, miss[:, j]):
                    groups_idx[g].append(int(j))
                    break
            else:
                masks.append(miss[:, j])
                groups_idx.append([int(j)])
        self._indicator_index = [np.asarray(g) for g in groups_idx]
        self.indicator_groups_ = {
            names[g[0]] + _MISSING_SUFFIX: [names[j] for j in g] for g in groups_idx
        }
        self.features_ = names + list(self.indicator_groups_)
        Z = self._design(A)

        coef, intercept, calibration = self._fit_design(Z, yb, original_y=y)
        self.n_iter_ = self._last_n_iter
        self.coef_ = coef.reshape(1, -1)
        self.intercept_ = np.array([intercept])
        self.calibration_ = calibration
        self.band_probabilities_ = dict(probs)
        self.bands_ = {k: float(logit(v)) for k, v in probs.items()}

        eta = intercept + Z @ coef
        varying = np.ptp(Z, axis=0) > 0
        self.constant_features_ = [f for f, v in zip(self.features_, varying, strict=True) if not v]
        self.covariance_ = None
        self.cluster_covariance_ = None
        codes = None
        if case_ids is not None:
            codes = _case_codes(case_ids, A.shape[0], "fit")
        repeated = codes is not None and len(np.unique(codes)) < len(codes)
        if self.penalty is None and self.class_weight is None:
            self.covariance_, self.cluster_covariance_ = _covariances(
                Z, yb, eta, varying, codes if repeated else None
            )
        self.interval_ = (
            "wald-independent" if codes is None else ("cluster" if repeated else "wald")
        )
        p = expit(eta)
        h = hashlib.sha256()
        h.update("\x1f".join(names).encode())
        h.update(np.ascontiguousarray(A).tobytes())
        h.update(yb.tobytes())
        self.training_data_ = {
            "n_rows": int(len(yb)),
            "n_events": int(yb.sum()),
            "n_cases": None if codes is None else int(len(np.unique(codes))),
            # children with an outcome row, and with a row without one: rows are
            # person-time, and the model card's gate is in children too
            "n_cases_with_event": None if codes is None else int(len(np.unique(codes[yb > 0]))),
            "n_cases_without_event": (
                None if codes is None else int(len(np.unique(codes[yb == 0])))
            ),
            "sha256": h.hexdigest(),
        }
        self.training_metrics_ = {
            "auroc": float(roc_auc_score(yb, eta)),
            "brier": float(np.mean((p - yb) ** 2)),
            "mean_predicted_risk": float(p.mean()),
            "observed_rate": float(yb.mean()),
        }
        return self

    def _fit_design(self, Z, yb, original_y=None):
        """Fit coefficients on a design matrix; return (coef, intercept, calibration)."""
        est = self._sklearn_estimator()
        y_fit = original_y if original_y is not None else yb
        if original_y is None and isinstance(self.class_weight, Mapping):
            # bootstrap refits get the 0/1 outcome: map weights to 0/1 labels
            # (a class the dict does not list weighs 1)
            est.set_params(
                class_weight={
                    0.0: self.class_weight.get(self.classes_[0], 1.0),
                    1.0: self.class_weight.get(self.classes_[1], 1.0),
                }
            )
        # A column constant in the training rows (a flag that never fires here) carries
        # no information and makes the unpenalised information matrix singular: it is
        # left out of the solve and keeps coefficient 0 (listed in constant_features_).
        varying = np.ptp(Z, axis=0) > 0 if Z.shape[0] else np.zeros(Z.shape[1], dtype=bool)
        coef = np.zeros(Z.shape[1], dtype=np.float64)
        if varying.any():
            Zv = Z[:, varying]
            if self.standardize:
                # penalise standardised columns; report on the original units
                mu = Zv.mean(axis=0)
                sd = Zv.std(axis=0)
                b = self._solve(est, (Zv - mu) / sd, y_fit)
                coef[varying] = b / sd
                intercept = float(est.intercept_[0]) - float(np.sum(b * mu / sd))
            else:
                coef[varying] = self._solve(est, Zv, y_fit)
                intercept = float(est.intercept_[0])
            self._last_n_iter = np.asarray(est.n_iter_).copy()
            if self.penalty == "l1" and self.class_weight is None:
                # liblinear penalises the intercept a little: solve its score equation
                intercept = self._refit_intercept(Z @ coef, yb, intercept)
        else:
            rate = float(np.clip(np.mean(yb), 1e-12, 1 - 1e-12))
            intercept = float(np.log(rate / (1 - rate)))
            self._last_n_iter = np.asarray([0])
        calibration = {"method": None, "intercept_shift": 0.0, "slope": 1.0}
        method = "intercept" if self.recalibrate is True else self.recalibrate
        if self.class_weight is not None and method:
            eta = Z @ coef
            if method == "intercept":
                new = self._refit_intercept(eta, yb, intercept)
                calibration = {
                    "method": "intercept",
                    "intercept_shift": new - intercept,
                    "slope": 1.0,
                }
                intercept = new
            else:
                platt = LogisticRegression(
                    C=np.inf, solver="newton-cholesky", tol=1e-10, max_iter=100
                )
                platt.fit(eta[:, None], yb)
                slope = float(platt.coef_[0, 0])
                new = float(platt.intercept_[0])
                calibration = {
                    "method": "platt",
                    "intercept_shift": new - intercept,
                    "slope": slope,
                }
                coef = coef * slope
                intercept = new
        return coef, intercept, calibration

    def _outcome_of_rows(self, y, n_rows: int, where: str) -> np.ndarray:
        """``y`` as 0/1 floats (1 for ``classes_[1]``), checked against the rows and classes."""
        if y is None:
            raise ParameterError(
                f"LogisticRiskModel.{where}: y is None; pass the outcome of every row of X "
                "(the training or calibration outcomes)."
            )
        values = np.asarray(y)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values.ravel()
        if values.ndim != 1:
            raise SchemaError(
                f"LogisticRiskModel.{where}: y must be one outcome per row of X (a 1-D "
                f"array); got an array of shape {values.shape}. Fix: pass the outcome column."
            )
        if len(values) != n_rows:
            raise SchemaError(
                f"LogisticRiskModel.{where}: X has {n_rows} rows but y has {len(values)}. "
                "Fix: pass the outcome of every row of X, in the same order."
            )
        missing = np.flatnonzero(pd.isna(pd.Series(values, dtype=object)).to_numpy())
        if len(missing):
            raise SchemaError(
                f"LogisticRiskModel.{where}: y: {len(missing)} outcome(s) are missing (None "
                f"or NaN), rows {missing[:5].tolist()} (0-based). An unknown outcome is not "
                "'no outcome'; fix the outcomes or drop those rows from X and y first."
            )
        known = set(self.classes_.tolist())
        unknown = [v for v in pd.unique(values).tolist() if v not in known]
        if unknown:
            raise SchemaError(
                f"LogisticRiskModel.{where}: y holds labels {unknown[:5]} that are not the "
                f"model's classes {self.classes_.tolist()}. Fix: pass the outcome with the "
                "labels the model was fitted on."
            )
        return (values == self.classes_[1]).astype(np.float64)

    def _solve(self, est, M, y) -> np.ndarray:
        """Fit ``est`` on the design ``M``; return its coefficients as float64.

        An L2 fit with ``C < _SMALL_C`` is solved as the same objective on ``M`` times
        ``s = sqrt(C)`` with ``C = 1`` (coefficients ``v``, ``w = s * v``): the loss
        sees ``M w`` either way and ``|v|^2 / 2 = |w|^2 / (2 C)``, but the Hessian is
        no longer ill-conditioned.
        """
        if self.penalty == "l2" and self.C < _SMALL_C:
            s = math.sqrt(self.C)
            est.set_params(C=1.0)
            est.fit(M * s, y)
            return est.coef_.ravel().astype(np.float64) * s
        est.fit(M, y)
        return est.coef_.ravel().astype(np.float64)

    @staticmethod
    def _refit_intercept(eta, yb, start):
        """Unweighted ML intercept with the linear predictor held fixed (1-D Newton)."""
        a = start
        for _ in range(100):
            p = expit(a + eta)
            grad = np.sum(yb - p)
            hess = np.sum(p * (1 - p))
            if hess <= 0:
                break
            step = grad / hess
            a += step
            if abs(step) < 1e-12:
                break
        return float(a)

    # ------------------------------------------------------------------ contract
    def _fast_columns(self, X):
        """Zero-copy float64 column views of a named feature table, or None."""
        if not (isinstance(X, pd.DataFrame) and getattr(self, "_named_input", False)):
            return None
        names = list(self.feature_names_in_)
        refuse_doubled(X, names, "LogisticRiskModel")
        if not all(n in X.columns for n in names):
            return None
        cols = [X[n] for n in names]
        if any(c.dtype != np.float64 for c in cols) or X.shape[0] == 0:
            return None
        return [c.to_numpy() for c in cols]

    def _feature_matrix(self, X) -> np.ndarray | None:
        """The fitted feature columns of ``X`` as an (n, k) float64 matrix, or None.

        For a named table whose feature columns are one float block in fitted order
        (as :func:`riskscore.encode_features` returns them) this is a zero-copy view;
        otherwise one float64 copy. None sends the input through full validation.
        """
        if isinstance(X, pd.DataFrame):
            if not getattr(self, "_named_input", False) or X.shape[0] == 0:
                return None
            names = list(self.feature_names_in_)
            refuse_doubled(X, names, "LogisticRiskModel")
            if list(X.columns) == names:
                # the table itself: selecting columns builds a new frame, which with
                # its clean-up cost ~0.7 ms at a million rows (a tenth of the scoring)
                sub = X
            elif all(n in X.columns for n in names):
                sub = X[names]
            else:
                return None
            if not all(pd.api.types.is_float_dtype(t) for t in sub.dtypes):
                return None
            return sub.to_numpy(dtype=np.float64)
        if (
            isinstance(X, np.ndarray)
            and X.dtype == np.float64
            and X.ndim == 2
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
        ):
            # the checks of scikit-learn's validation that are not about values
            # (feature names, their number); values are checked through the scores
            validate_data(self, X, reset=False, skip_check_array=True)
            return X
        return None

    def _prepared_scores(self, A: np.ndarray, coef, b0) -> np.ndarray | None:
        """Scores of a float64 matrix, or None if a value must be refused.

        The intercept plus each column times its weight, added in the order of
        :meth:`contributions`, so that the contributions sum to the score exactly (a
        BLAS product would add in another order): per block of rows, one product into
        a table of terms and one sum over it, which numpy adds term after term along
        the outer axis. Before that sum, the features missing somewhere in the block
        are found from their columns' maxima, and only their terms are replaced by the
        imputed terms and their missing indicators set; a row left non-finite holds
        an infinite value and is refused. Blocks run on every core (rows are
        independent, so the numbers do not depend on it).
        """
        k = A.shape[1]
        z = np.empty(A.shape[0])
        weights = coef[:k, None]
        impute_terms = self._impute_array * coef[:k]
        groups = self._indicator_index

        chunks = list(row_chunks(A.shape[0], _SCORE_ROWS))
        local = threading.local()  # one table of terms per thread, reused block by block

        def score(rows: slice) -> bool:
            table = getattr(local, "table", None)
            if table is None:
                table = local.table = np.empty((k + 1 + len(groups), chunks[0].stop))
                table[0] = b0  # the intercept's row, and the indicators' rows, stay
                table[k + 1 :] = 0.0  # as they are until a block sets an indicator
                local.flagged = set()  # indicator rows holding a previous block's flags
            # an infinite value times a zero weight is NaN, a huge value times a weight
            # may overflow: refused below, not warned
            with np.errstate(invalid="ignore", over="ignore"):
                return score_block(rows, table)

        def score_block(rows: slice, table: np.ndarray) -> bool:
            raw = A[rows].T  # features by rows: each row of it is one column's block
            terms = table[:, : raw.shape[1]]
            features = terms[1 : k + 1]
            flagged = set()
            np.multiply(raw, weights, out=features)
            # features missing somewhere in the block (a NaN term makes its column's
            # maximum NaN; one pass, in cache): their terms imputed, their indicators set
            nan_cols = np.flatnonzero(np.isnan(np.maximum.reduce(features, axis=1)))
            if len(nan_cols):
                if self.missing == "error":
                    return False
                miss = {}
                for j in nan_cols:
                    # a NaN term is a missing value, or an infinite one times a zero
                    # weight: that one must stay non-finite and be refused, so a zero
                    # weight's mask is read from the values
                    miss[j] = np.isnan(features[j] if coef[j] != 0 else raw[j])
                    _put(features[j], miss[j], impute_terms[j])
                for g, idx in enumerate(groups):
                    hit = [miss[j] for j in idx if j in miss]
                    if hit:
                        flag = hit[0] if len(hit) == 1 else np.logical_or.reduce(hit)
                        np.multiply(flag, coef[k + g], out=terms[1 + k + g])
                        flagged.add(g)
            for g in local.flagged - flagged:
                table[1 + k + g] = 0.0  # (the whole row: a later block may be longer)
            local.flagged = flagged
            block = z[rows]
            np.add.reduce(terms, axis=0, out=block)
            # an infinite value (refused) leaves its row non-finite
            return bool(np.isfinite(block).all())

        # blocks taken in turn, so a thread slowed by other work does not hold up the rest
        if not all(map_threads(score, chunks, available_cores())):
            return None
        return z

    def _scores(self, X) -> np.ndarray:
        check_fitted(self)
        coef = self.coef_.ravel()
        b0 = self.intercept_[0]
        A = self._feature_matrix(X)
        if A is not None:
            z = self._prepared_scores(A, coef, b0)
            if z is not None:
                return z
        A = self._input_array(X, fitting=False)  # full validation (raises on bad input)
        if A.shape[0]:
            # the same sums as above (object, integer and other inputs as their float64
            # values), so that the contributions add up to the score exactly
            z = self._prepared_scores(A, coef, b0)
            if z is not None:
                return z
        # a value too large to score: found and refused here.
        # one matrix product; rows with a NaN come out NaN and only those are
        # recomputed through the imputed design
        with np.errstate(over="ignore", invalid="ignore"):  # overflow refused below
            z = A @ coef[: A.shape[1]] + b0
            bad = np.isnan(z)
            if bad.any():
                z[bad] = self._design(A[bad]) @ coef + b0
        self._refuse_overflow(np.isfinite(z), X)
        return z

    @staticmethod
    def _refuse_overflow(finite: np.ndarray, X) -> None:
        """Finite values whose weighted sum is not finite: too large to score."""
        if not finite.all():
            index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(finite))
            raise SchemaError(
                "LogisticRiskModel: values too large to score (their weighted sum is "
                f"beyond what a float holds) at row(s) {_first_rows(~finite, index)}. "
                "Features are counts, flags and fractions: check those rows' values."
            )

    def risk_score(self, X) -> pd.Series:
        """Log-odds of the outcome per row (the model's own scale).

        Examples
        --------
        >>> import numpy as np
        >>> from riskscore import LogisticRiskModel
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]] * 10); y = np.array([0, 0, 1, 1] * 10)
        >>> m = LogisticRiskModel().fit(X, y)
        >>> score = m.risk_score(X)
        >>> bool(score.iloc[3] > score.iloc[0])
        True
        """
        index = X.index if isinstance(X, pd.DataFrame) else None
        # the scores are a new array: pandas 3 would copy it again by default
        return pd.Series(self._scores(X), index=index, name="risk_score", copy=False)

    def contributions(self, X) -> pd.DataFrame:
        """Per-row contributions: ``baseline`` (the intercept) plus ``coef * value``.

        Values are the imputed design (missing values at their training mean,
        indicators as their own columns). Rows sum to :meth:`risk_score` exactly,
        whatever the input's dtype (object, integer and other numeric columns are
        scored as their float64 values, through the same additions).

        Examples
        --------
        >>> import numpy as np
        >>> from riskscore import LogisticRiskModel
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]] * 10); y = np.array([0, 0, 1, 1] * 10)
        >>> m = LogisticRiskModel().fit(X, y)
        >>> list(m.contributions(X).columns)
        ['baseline', 'x0']
        """
        check_fitted(self)
        cols = self._fast_columns(X)
        if cols is None or self.missing == "error":
            A = self._input_array(X, fitting=False)
            cols = list(A.T)
        elif not all(np.isfinite(c[~np.isnan(c)]).all() for c in cols):
            self._input_array(X, fitting=False)  # raises with the offending column and rows
        coef = self.coef_.ravel()
        n = len(cols[0]) if cols else 0
        # fill a (1 + features, n) array row by row; its transpose becomes the
        # frame without another copy
        out = np.empty((len(self.features_) + 1, n))
        out[0] = self.intercept_[0]
        miss = [np.isnan(c) for c in cols]
        with np.errstate(over="ignore", invalid="ignore"):  # overflow refused below
            for j, c in enumerate(cols):
                if miss[j].any():
                    m = np.where(miss[j], self._impute_array[j], c)
                    np.multiply(m, coef[j], out=out[j + 1])
                else:
                    np.multiply(c, coef[j], out=out[j + 1])
            for g, idx in enumerate(self._indicator_index):
                flag = np.logical_or.reduce([miss[k] for k in idx])
                np.multiply(flag, coef[len(cols) + g], out=out[len(cols) + g + 1])
            total = out.sum(axis=0)
        self._refuse_overflow(np.isfinite(total), X)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(out.T, index=index, columns=["baseline", *self.features_], copy=False)

    def band(self, X) -> pd.Series:
        """Audit band per row (ordered categorical), thresholds from ``bands_``.

        Examples
        --------
        >>> import numpy as np
        >>> from riskscore import LogisticRiskModel
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]] * 10); y = np.array([0, 0, 1, 1] * 10)
        >>> m = LogisticRiskModel(bands={"review": 0.2, "multi_agency_discussion": 0.6}).fit(X, y)
        >>> m.band(X)[:4].tolist()
        ['none', 'review', 'multi_agency_discussion', 'multi_agency_discussion']
        """
        z = self._scores(X)
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(z))
        return bands_of(z, list(self.bands_.values()), index)

    def decision_function(self, X) -> np.ndarray:
        """Log-odds as an array (scikit-learn spelling of :meth:`risk_score`)."""
        return self._scores(X)

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of ``classes_[0]`` and ``classes_[1]``, shape (n, 2)."""
        p = expit(self._scores(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """Class labels: ``classes_[1]`` where the log-odds is above 0."""
        z = self._scores(X)  # checks fitted before classes_ is read
        return self.classes_[(z > 0).astype(int)]

    # ------------------------------------------------------------------ inference
    @validate_params(
        {
            "ci": [StrOptions("cluster", "wald", "bootstrap"), None],
            "level": [UNIT_OPEN],
            "n_boot": [Interval(numbers.Integral, 1, MAX_BOOT)],
            "n_jobs": ["n_jobs"],
            "random_state": ["random_state"],
            "progress": ["boolean"],
        }
    )
    def odds_ratios(
        self,
        X=None,
        y=None,
        *,
        ci: str | None = None,
        level: float = 0.95,
        n_boot: int = 200,
        case_ids=None,
        n_jobs: int | None = None,
        random_state=0,
        progress: bool = True,
    ) -> pd.DataFrame:
        """Coefficients as odds ratios per stated unit, with confidence intervals.

        Parameters
        ----------
        X, y : optional
            Training data: needed for ``ci="bootstrap"``, and for a cluster-robust
            interval on a model fitted without ``case_ids``.
        ci : {None, "cluster", "wald", "bootstrap"}, default=None
            None picks the interval the data support (see the module notes):
            cluster-robust by case when the cases repeat, else Wald.
            ``"cluster"``: the sandwich estimator by case (from the fit's
            ``case_ids``, or from ``X, y, case_ids`` given here). ``"wald"``:
            normal intervals from the inverse observed information matrix, which
            assume independent rows. Both need an unpenalised, unweighted fit.
            ``"bootstrap"``: percentile intervals from refits on samples of whole
            cases (``case_ids``), with the fitted imputation and indicators held
            fixed; any fit.
        level : float, default=0.95
            Interval coverage.
        n_boot : int, default=200
            Bootstrap replicates (at most 100,000).
        case_ids : array-like, optional
            Case identifiers of the rows of ``X`` (for ``"bootstrap"`` and
            ``"cluster"``).
        n_jobs : int, optional
            Parallel workers for the bootstrap (joblib).
        random_state : int or None, default=0
            Seed for the bootstrap.
        progress : bool, default=True
            Show a progress bar (tqdm) during the bootstrap.

        Returns
        -------
        DataFrame
            ``feature, unit, coef, odds_ratio, lower, upper, interval``, plus ``se``
            and ``p_value`` (cluster, Wald) or ``n_boot_ok`` (bootstrap). ``coef``
            is the log-odds per ``unit`` (per 10 percentage points for attendance,
            per event for counts, present against absent for flags; see
            :func:`riskscore.vocabulary.feature_unit`); ``attrs["interval"]``
            describes the interval.

        Raises
        ------
        EstimationError
            Cluster or Wald requested for a penalised or class-weighted fit, a
            singular information matrix, or a bootstrap without ``case_ids`` on
            data whose cases repeat.

        Warns
        -----
        SampleSizeWarning
            Cluster-robust intervals from fewer than ``MIN_CLUSTER_CASES`` (30)
            cases: they are still given, and ``attrs["interval"]`` says how many
            cases they rest on, but the sandwich estimator is too narrow with so few
            (see the module notes). Fit on more cases; ``ci="bootstrap"`` with
            ``case_ids`` avoids the sandwich but is also approximate from so few.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from riskscore import LogisticRiskModel
        >>> rng = np.random.default_rng(1)
        >>> X = pd.DataFrame({"hardship_12m": (rng.random(400) < 0.5).astype(float)})
        >>> y = rng.random(400) < 0.2 + 0.3 * X["hardship_12m"]
        >>> cases = np.repeat(np.arange(100), 4)  # four rows per child
        >>> m = LogisticRiskModel(penalty=None).fit(X, y, case_ids=cases)
        >>> m.odds_ratios()["interval"].iloc[0]
        'cluster-robust by case'
        >>> list(m.odds_ratios().columns)
        ['feature', 'unit', 'coef', 'odds_ratio', 'lower', 'upper', 'interval', 'se', 'p_value']
        """
        check_fitted(self)
        if not 0 < level < 1:
            raise ParameterError(f"level must be between 0 and 1, got {level!r}.")
        if ci not in (None, "cluster", "wald", "bootstrap"):
            raise ParameterError(f"ci must be None, 'cluster', 'wald' or 'bootstrap', got {ci!r}.")
        z = normal_quantile(0.5 + level / 2)
        coef = self.coef_.ravel()
        size = np.asarray([feature_unit_size(f) for f in self.features_])
        units = [feature_unit(f) for f in self.features_]
        default = getattr(self, "interval_", "wald-independent")
        if ci is None:
            if X is not None and case_ids is not None:
                ci = "cluster"
            else:
                ci = "cluster" if default == "cluster" else "wald"
        if ci == "bootstrap":
            return self._bootstrap_table(
                X, y, case_ids, level, n_boot, n_jobs, random_state, progress, size, units
            )
        if self.penalty is not None or self.class_weight is not None:
            raise EstimationError(
                f"{'Cluster-robust' if ci == 'cluster' else 'Wald'} intervals need an "
                "unpenalised, unweighted maximum-likelihood fit "
                f"(this model has penalty={self.penalty!r}, "
                f"class_weight={self.class_weight!r}): the information matrix does not "
                "describe the uncertainty of a penalised or reweighted estimate. Refit with "
                "penalty=None, class_weight=None, or use ci='bootstrap' with X, y, case_ids."
            )
        if ci == "cluster":
            cov, n_cases = self._cluster_for(X, y, case_ids)
            label = "cluster-robust by case"
            note = (
                "cluster-robust (sandwich) by case, small-sample corrected as statsmodels' "
                "cov_type='cluster'"
            )
            if cov is not None:
                note += _warn_few_cases(n_cases)
        else:
            cov = self.covariance_
            independent = default != "wald"
            label = "Wald (assumes independent rows)" if independent else "Wald"
            note = "Wald from the inverse information matrix" + (
                "; rows are assumed independent"
                + (
                    " although cases repeat: prefer the default (cluster-robust)"
                    if default == "cluster"
                    else " (no case_ids were given to fit)"
                )
                if independent
                else " (one row per case)"
            )
        if cov is None:
            raise EstimationError(
                "Intervals unavailable: the information matrix is singular (a feature "
                "is constant or collinear with others, or the outcome is perfectly "
                "separated). Remove the feature with features=[...] or use ci='bootstrap'."
            )
        se = np.sqrt(np.diag(cov))[1:]
        # a feature constant in training was not estimated: no interval
        constant = set(getattr(self, "constant_features_", []))
        se = np.where([f in constant for f in self.features_], np.nan, se)
        with np.errstate(invalid="ignore", divide="ignore"):
            pvals = np.array(
                [
                    math.erfc(abs(c / s) / math.sqrt(2)) if s > 0 else np.nan
                    for c, s in zip(coef, se, strict=True)
                ]
            )
        c, sc = coef * size, se * size
        table = pd.DataFrame(
            {
                "feature": self.features_,
                "unit": units,
                "coef": c,
                "odds_ratio": np.exp(c),
                "lower": np.exp(c - z * sc),
                "upper": np.exp(c + z * sc),
                "interval": label,
                "se": sc,
                "p_value": pvals,
            }
        )
        table.attrs["interval"] = note
        return table

    def _cluster_for(self, X, y, case_ids):
        """The cluster-robust covariance and its number of cases (None when unknown): from
        the fit, or from X, y, case_ids given now."""
        if X is None or y is None or case_ids is None:
            if self.cluster_covariance_ is None:
                raise EstimationError(
                    "cluster-robust intervals need the case of every row: fit with "
                    "case_ids=..., or pass X, y and case_ids to odds_ratios."
                )
            n_cases = (getattr(self, "training_data_", {}) or {}).get("n_cases")
            if n_cases is not None and n_cases < 2:
                raise _one_case_error(n_cases)
            return self.cluster_covariance_, n_cases
        A = self._input_array(X, fitting=False)
        Z = self._design(A)
        yb = self._outcome_of_rows(y, A.shape[0], "odds_ratios")
        codes = _case_codes(case_ids, A.shape[0], "odds_ratios")
        n_cases = int(codes.max()) + 1 if len(codes) else 0
        if n_cases < 2:
            raise _one_case_error(n_cases)
        eta = self.intercept_[0] + Z @ self.coef_.ravel()
        varying = np.ptp(Z, axis=0) > 0 if len(Z) else np.zeros(Z.shape[1], dtype=bool)
        return _covariances(Z, yb, eta, varying, codes)[1], n_cases

    def _bootstrap_table(
        self, X, y, case_ids, level, n_boot, n_jobs, random_state, progress, size, units
    ):
        if X is None or y is None:
            raise ParameterError("ci='bootstrap' refits the model: pass the training X and y.")
        if case_ids is None:
            td = getattr(self, "training_data_", {}) or {}
            ids = X["case_id"] if isinstance(X, pd.DataFrame) and "case_id" in X else None
            repeats = (td.get("n_cases") is not None and td["n_cases"] < td.get("n_rows", 0)) or (
                ids is not None and ids.duplicated().any()
            )
            if repeats:
                raise EstimationError(
                    "ci='bootstrap' without case_ids would resample rows, but cases repeat "
                    "in these data (several rows per child are not independent): pass "
                    "case_ids= to resample whole cases."
                )
        A = self._input_array(X, fitting=False)
        Z = self._design(A)
        yb = self._outcome_of_rows(y, A.shape[0], "odds_ratios")
        groups_info = None
        if case_ids is not None:
            codes = _case_codes(case_ids, A.shape[0], "odds_ratios")
            order = np.argsort(codes, kind="stable")
            lengths = np.bincount(codes)
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            groups_info = (order, starts, lengths)
        seeds = np.random.default_rng(random_state).integers(0, 2**63 - 1, size=n_boot)
        jobs = (joblib.delayed(_bootstrap_once)(self, Z, yb, int(s), groups_info) for s in seeds)
        results = joblib.Parallel(n_jobs=capped_n_jobs(n_jobs, n_boot), return_as="generator")(jobs)
        draws = [
            r
            for r in tqdm(results, total=n_boot, disable=not progress, desc="bootstrap")
            if r is not None
        ]
        if len(draws) < 2:
            positive = self.classes_[1]
            positive = positive.item() if isinstance(positive, np.generic) else positive
            if n_boot < 2:
                why = f"n_boot={n_boot} replicate cannot give an interval (it needs at least 2)"
            elif not yb.any():
                why = (
                    f"y has no row with the outcome (the model's positive class is "
                    f"{positive!r}), so no replicate could be refitted"
                )
            elif yb.all():
                why = "y has no row without the outcome, so no replicate could be refitted"
            else:
                why = (
                    f"fewer than 2 of the {n_boot} replicates held rows both with and "
                    "without the outcome (too few of one kind)"
                )
            # cluster-robust intervals hold only for an unpenalised, unweighted fit
            other = (
                ", or ci='cluster' for intervals without refitting"
                if self.penalty is None and self.class_weight is None
                else ""
            )
            raise EstimationError(
                f"odds_ratios(ci='bootstrap'): {why}. Fix: pass the training X and y the "
                "model was fitted on (y as 0/1 outcomes) and at least 2 replicates (n_boot; "
                f"200 or more for stable limits){other}."
            )
        B = np.asarray(draws)[:, 1:] * size
        lo, hi = np.quantile(B, [0.5 - level / 2, 0.5 + level / 2], axis=0)
        c = self.coef_.ravel() * size
        label = "bootstrap by case" if case_ids is not None else "bootstrap of rows"
        table = pd.DataFrame(
            {
                "feature": self.features_,
                "unit": units,
                "coef": c,
                "odds_ratio": np.exp(c),
                "lower": np.exp(lo),
                "upper": np.exp(hi),
                "interval": label,
                "n_boot_ok": len(draws),
            }
        )
        table.attrs["interval"] = (
            f"percentile bootstrap, {len(draws)} refits on samples of whole cases"
            if case_ids is not None
            else f"percentile bootstrap, {len(draws)} refits on samples of rows "
            "(rows assumed independent)"
        )
        return table

    # ------------------------------------------------------------------ display
    @property
    def summary(self) -> pd.DataFrame:
        """The fitted model as a table: one row per coefficient, as odds ratios with intervals.

        ``feature, unit, coef, odds_ratio, lower, upper, interval`` (log-odds and
        odds ratios per the stated unit), with the interval described in
        ``attrs["interval"]``: the default of :meth:`odds_ratios` (cluster-robust
        by case when the fit's cases repeat, Wald otherwise) where it is valid
        (unpenalised, unweighted fits), else no interval (use :meth:`odds_ratios`
        with ``ci="bootstrap"``). Bands in ``attrs["bands"]`` (log-odds) and
        ``attrs["band_probabilities"]``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from riskscore import LogisticRiskModel
        >>> rng = np.random.default_rng(1)
        >>> X = pd.DataFrame({"hardship_12m": (rng.random(400) < 0.5).astype(float)})
        >>> y = rng.random(400) < 0.2 + 0.3 * X["hardship_12m"]
        >>> LogisticRiskModel(penalty=None).fit(X, y).summary["unit"].tolist()
        ['present vs absent']
        """
        check_fitted(self)
        cols = ["feature", "unit", "coef", "odds_ratio", "lower", "upper", "interval"]
        try:
            full = self.odds_ratios()
            table = full[cols]
            interval = full.attrs["interval"]
        except EstimationError as exc:
            c = self.coef_.ravel() * np.asarray([feature_unit_size(f) for f in self.features_])
            reason = str(exc).split(":")[0]
            table = pd.DataFrame(
                {
                    "feature": self.features_,
                    "unit": [feature_unit(f) for f in self.features_],
                    "coef": c,
                    "odds_ratio": np.exp(c),
                    "lower": np.nan,
                    "upper": np.nan,
                    "interval": "none",
                }
            )
            interval = f"none ({reason}; use odds_ratios(X, y, ci='bootstrap', case_ids=...))"
        table.attrs["interval"] = interval
        table.attrs["intercept"] = float(self.intercept_[0])
        table.attrs["bands"] = dict(self.bands_)
        table.attrs["band_probabilities"] = dict(self.band_probabilities_)
        return table

    def __str__(self) -> str:
        try:
            check_fitted(self)
        except Exception:  # noqa: BLE001 - an unfitted model prints its parameters
            return self.__repr__()
        width = 96
        table = self.summary
        lines = ["LOGISTIC RISK MODEL (score = log-odds)", "=" * width, AUDIT_ONLY_NOTICE, ""]
        lines.append(f"{'Log-odds':>9}  {'Odds ratio (interval)':<26} Feature  [per unit]")
        lines.append("-" * width)
        lines.append(f"{table.attrs['intercept']:>+9.3f}  {'':<26} intercept (baseline)")
        for r in table.itertuples(index=False):
            interval = (
                f"{r.odds_ratio:.2f} ({r.lower:.2f} to {r.upper:.2f})"
                if np.isfinite(r.lower)
                else f"{r.odds_ratio:.2f}"
            )
            lines.append(f"{r.coef:>+9.3f}  {interval:<26} {r.feature}  [{r.unit}]")
        lines.append("-" * width)
        lines.append(
            "Score = intercept + sum of coefficient x value (coefficients above are per the "
            "stated unit; missing values: see model)."
        )
        lines.append(f"Intervals: {table.attrs['interval']}.")
        lines.append("Audit bands (score at or above; predicted risk in brackets):")
        probs = table.attrs["band_probabilities"]
        for k, v in table.attrs["bands"].items():
            lines.append(f"  {band_name(k):<26} >= {v:+.3f}  ({probs.get(k, float('nan')):.1%})")
        lines.append(AUDIT_ONLY_NOTICE)
        return "\n".join(lines)

    @validate_params(
        {
            "max_points": [POSITIVE_INT],
            "n_scales": [POSITIVE_INT],
            "search": [Options(True, False, "model", "outcome")],
            "name": [str, None],
        }
    )
    def to_scorecard(
        self,
        X,
        y,
        *,
        max_points: int = 20,
        n_scales: int = 200,
        search: bool | str = True,
        name: str | None = None,
    ) -> RuleScorecard:
        """Integer-points scorecard from the fitted coefficients.

        Each catalogue feature becomes tier conditions on its own scale (flags
        ``>= 1``; counts ``>= 1, 2, 3``; ``attendance_recent <= 0.9, 0.5``;
        ``attendance_drop >= 0.1, 0.2``); conditions that are the same by
        definition (``persistent_absence >= 1`` is ``attendance_recent <= 0.9``,
        :data:`riskscore.vocabulary.SAME_CONDITION`) are merged into one rule with
        the effects of both. A condition's effect is the model's log-odds step from
        the tier below, at the mean training value in each tier. Points are found
        in two steps:

        1. the effects times a scale factor, rounded half away from zero, with the
           scale searched over a grid for the highest AUROC of the integer total,
           subject to the largest possible total being at most ``max_points``;
        2. (``search=True``) a search on the integer lattice from there: one
           condition's points up or down by one, or a point moved between two
           conditions, kept when that AUROC rises (see
           :func:`riskscore._lattice.lattice_search`), within the same budget (and
           the smallest possible total no lower than ``-max_points``).

        The AUROC both steps maximise is the one the integer total would have if
        the fitted model were right: the training rows weighted by the model's
        predicted risk and its complement, rather than by the observed outcomes
        (``search="outcome"``), because choosing among integer points by the
        training outcomes themselves overfits small samples. The points thus
        approximate the model's ranking as closely as the budget allows.

        Missing-indicator terms are dropped: as in every scorecard, a missing
        feature scores 0 and is reported as unknown. Conditions whose effect ends
        at 0 points are not scored and are listed in the card
        (``zero_point_conditions_`` and ``model_card["rounded_to_zero"]``).

        Probabilities come from the integer total only: a logistic fit of the
        outcome on the total over ``X, y`` gives ``points_table_`` (total -> n,
        events, observed and predicted risk) and the card's bands (the smallest
        total whose predicted risk reaches each probability band). When the
        predicted risk at the lowest possible total already reaches a band's
        probability (a common outcome with the default 10% ``review`` band), every
        record is in that band, as it is under the logistic model itself: the band
        is set to the lowest total, the card's ``model_card["limitations"]`` says so
        and how to choose higher band probabilities, and
        :func:`riskscore.save_model` keeps the card (its points-to-risk map shows
        the band is fitted, not a mistake).

        Parameters
        ----------
        X, y
            Training (or calibration) data.
        max_points : int, default=20
            Largest possible total.
        n_scales : int, default=200
            Scale factors tried.
        search : {True, "model", "outcome", False}, default=True
            Search the integer lattice after the scaled rounding, for the AUROC
            under the model's risk (True, ``"model"``) or under the training
            outcomes (``"outcome"``); False: the scaled rounding alone.
        name : str, optional
            Card name.

        Returns
        -------
        RuleScorecard
            With ``points_table_``, ``rounding_auc_cost_`` (model AUROC minus
            integer-total AUROC, on ``X, y``), ``scale_``, ``points_to_risk_``
            (intercept, slope on the total) and ``zero_point_conditions_``
            attributes. Its model card holds the points table after disclosure
            control.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from riskscore import LogisticRiskModel
        >>> rng = np.random.default_rng(2)
        >>> X = pd.DataFrame({"siblings_removed": rng.integers(0, 4, 2000).astype(float),
        ...                   "hardship_12m": (rng.random(2000) < 0.4).astype(float)})
        >>> lp = -2 + 0.8 * X["siblings_removed"] + 0.5 * X["hardship_12m"]
        >>> y = rng.random(2000) < 1 / (1 + np.exp(-lp))
        >>> card = LogisticRiskModel(penalty=None).fit(X, y).to_scorecard(X, y, max_points=10)
        >>> all(float(r.points).is_integer() for r in card.rules)
        True
        """
        check_fitted(self)
        if not isinstance(max_points, numbers.Integral) or max_points < 1:
            raise ParameterError(f"max_points must be a positive integer, got {max_points!r}.")
        if search not in (True, False, "model", "outcome"):
            raise ParameterError(
                f"search must be True, False, 'model' or 'outcome', got {search!r}."
            )
        if not getattr(self, "_named_input", False):
            raise EstimationError(
                "to_scorecard needs a model fitted on a DataFrame of catalogue features "
                "(riskscore.encode_features output)."
            )
        names = list(self.feature_names_in_)
        unknown = [n for n in names if n not in FEATURES]
        if unknown:
            raise EstimationError(
                f"to_scorecard: {unknown[0]!r} is not a catalogue feature; scorecard rules "
                "can only use riskscore.FEATURES."
            )
        A = self._input_array(X, fitting=False)
        yb = self._outcome_of_rows(y, A.shape[0], "to_scorecard")
        if yb.min() == yb.max():
            positive = self.classes_[1]
            positive = positive.item() if isinstance(positive, np.generic) else positive
            raise EstimationError(
                f"to_scorecard: y holds only rows {'with' if yb[0] else 'without'} the "
                f"outcome (the model's positive class is {positive!r}): the points-to-risk "
                "map and the AUROC of the integer total need rows of both kinds. Fix: pass "
                "the training (or calibration) X and y, with children with and without the "
                "outcome."
            )
        conds = _conditions(names, A, self.coef_.ravel())
        if not conds:
            raise EstimationError("to_scorecard: every coefficient is zero; nothing to score.")
        effect = np.asarray([c["effect"] for c in conds])
        groups = _tier_groups(conds)
        B = np.column_stack([c["fires"] for c in conds]).astype(np.float64)
        # By default the scale and the search target the fitted model's risk (soft
        # outcomes: the AUROC the points would have if the model were right), not y:
        # choosing among integer points by the training outcomes themselves overfits
        # (on 150 training events it lost 0.04 AUROC out of sample).
        target = yb if search == "outcome" else expit(self._scores(X))
        patterns, pos, neg = compress_patterns(B, target)

        biggest = np.abs(effect).max()
        top = max_total(effect, groups)
        s_lo = 0.5 / biggest
        s_hi = (max_points + 0.5 * len(conds)) / max(top, 1e-12)
        best = None
        for scale in np.geomspace(s_lo, max(s_hi, s_lo * 1.0001), n_scales):
            P = round_half_away(scale * effect)
            mt = max_total(P, groups)
            if mt > max_points or mt == 0:
                continue
            total = patterns @ P
            if np.ptp(total) == 0:
                continue
            key = (weighted_integer_auc(total, pos, neg), -mt)
            if best is None or key > best[0]:
                best = (key, scale, P)
        if best is None:
            raise EstimationError(
                f"to_scorecard: no scale puts the largest effect at 1 point or more within "
                f"max_points={max_points}; raise max_points."
            )
        _, scale, P = best
        if search:
            P, _ = lattice_search(patterns, pos, neg, groups, P, max_points)
        total = B @ P

        rules, zero = [], []
        for c, p in zip(conds, P, strict=True):
            merged = (
                f" Merged with {', '.join(c['same'])} (the same condition)." if c["same"] else ""
            )
            if p != 0:
                rules.append(
                    Rule(
                        c["feature"],
                        c["op"],
                        c["threshold"],
                        float(p),
                        f"Fitted (LogisticRiskModel): log-odds step {c['effect']:+.3f} from "
                        f"the tier below; {scale * c['effect']:.2f} at scale {scale:.4g} "
                        f"before rounding, {int(p)} after the integer search.{merged}",
                        FEATURES[c["feature"]].agencies,
                    )
                )
            else:
                zero.append(
                    {
                        "condition": f"{c['feature']} {c['op']} {c['threshold']:g}",
                        "same_as": list(c["same"]),
                        "log_odds_effect": float(c["effect"]),
                        "scaled": float(scale * c["effect"]),
                    }
                )
        # points -> risk from the integer total only
        cal = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10, max_iter=200)
        if np.unique(total).size > 1:
            cal.fit(total[:, None], yb)
            a, b = float(cal.intercept_[0]), float(cal.coef_[0, 0])
        else:
            a, b = float(logit(np.clip(yb.mean(), 1e-12, 1 - 1e-12))), 0.0
        table = (
            pd.DataFrame({"points": total.astype(np.int64), "event": yb})
            .groupby("points")
            .agg(n=("event", "size"), events=("event", "sum"))
            .reset_index()
        )
        table["events"] = table["events"].astype(np.int64)
        table["observed_risk"] = table["events"] / table["n"]
        table["predicted_risk"] = expit(a + b * table["points"].to_numpy(dtype=np.float64))
        auc_model = float(roc_auc_score(yb, self._scores(X)))
        auc_int = binary_auc(total, yb)
        top = max_total(P, groups)
        if b > 0:
            bands = {
                k: float(min(math.ceil((v - a) / b - 1e-9), top + 1))
                for k, v in self.bands_.items()
            }
            # a band whose probability the lowest total already reaches is reached by
            # every record: kept at the lowest total (what the data say), and the card
            # says so among its limitations
            low = min_total(P, groups)
            everyone = [k for k, v in bands.items() if v <= low]
            for k in everyone:
                bands[k] = low
        else:
            bands = {k: top + 1 for k in self.bands_}
            everyone = []
        reached = []
        if everyone:
            risk = float(expit(a + b * low))
            reached.append(
                f"Every record reaches {everyone[-1]!r}: the risk the points predict at the "
                f"lowest possible total ({low:g} points) is {risk:.3g}, at or above the band "
                f"probabilit{'ies' if len(everyone) > 1 else 'y'} "
                + " and ".join(f"{k!r} {self.band_probabilities_[k]:g}" for k in everyone)
                + "; to separate records, fit with band probabilities above "
                f"{risk:.2g} (LogisticRiskModel(bands=...))."
            )
        card = RuleScorecard(
            rules,
            bands,
            name=name,
            model_card={
                "intended_use": "Retrospective audit and research only - not a decision "
                "about any person.",
                "derivation": (
                    "Integer points from a fitted LogisticRiskModel: effects scaled and "
                    "rounded half away from zero at the scale with the highest AUROC of the "
                    "integer total on the training rows ("
                    + ("observed outcomes" if search == "outcome" else "under the model's risk")
                    + ")"
                    + (", then improved by a search on the integer lattice" if search else "")
                    + "; conditions that are the same by definition merged; predicted risks "
                    "from a logistic fit of the outcome on the integer total."
                ),
                "scale": float(scale),
                "max_points": int(max_points),
                "points_to_risk": {"intercept": a, "slope": b},
                "band_probabilities": dict(self.band_probabilities_),
                "metrics": _card_metrics(
                    {
                        "auroc_model": auc_model,
                        "auroc_integer_points": auc_int,
                        "rounding_auc_cost": auc_model - auc_int,
                    },
                    yb,
                ),
                "rounded_to_zero": zero,
                "points_table": _disclosed_points_table(table).to_dict("records"),
                # columns the training data let past the identifying-data guard
                **(
                    {"allowed_past_identifying_data_guard": allowed}
                    if (allowed := allowed_columns(X))
                    else {}
                ),
                "limitations": [
                    "Missing features score 0 (unknown), unlike the logistic model's "
                    "missing indicators.",
                    "Effects beyond the top tier are capped.",
                    *reached,
                    *(
                        [
                            f"{len(zero)} fitted effect(s) rounded to 0 points and are not "
                            "scored (listed under rounded_to_zero)."
                        ]
                        if zero
                        else []
                    ),
                ],
            },
        )
        card.points_table_ = table
        card.rounding_auc_cost_ = auc_model - auc_int
        card.scale_ = float(scale)
        card.points_to_risk_ = {"intercept": a, "slope": b}
        card.zero_point_conditions_ = pd.DataFrame(
            zero, columns=["condition", "same_as", "log_odds_effect", "scaled"]
        )
        return card


def _conditions(names, A, coef) -> list[dict]:
    """Tier conditions of every feature with their log-odds steps, same conditions merged."""
    raw = []
    for j, f in enumerate(names):
        spec = FEATURES[f]
        op, thresholds = _TIERS[spec.kind]
        x = A[:, j]
        known = ~np.isnan(x)
        if op == ">=":
            thresholds = [t for t in thresholds if np.any(x[known] >= t)]
        else:
            thresholds = [t for t in thresholds if np.any(x[known] <= t)]
        if not thresholds or coef[j] == 0:
            continue
        with np.errstate(invalid="ignore"):
            fires = [(x >= t) if op == ">=" else (x <= t) for t in thresholds]
        tier = np.sum(fires, axis=0).astype(np.int64)  # NaN fires nothing -> 0
        reps = []
        for b in range(len(thresholds) + 1):
            in_b = known & (tier == b)
            if in_b.any():
                reps.append(float(x[in_b].mean()))
            else:
                reps.append(thresholds[b - 1] if b else thresholds[0])
        d = coef[j] * (np.asarray(reps) - reps[0])  # log-odds vs lowest tier
        for b, t in enumerate(thresholds):
            raw.append((f, op, float(t), fires[b], float(d[b + 1] - d[b])))
    present = set(names)
    merged: dict[tuple, dict] = {}
    for f, op, t, fire, effect in raw:
        key = SAME_CONDITION.get((f, op, t), (f, op, t))
        if key[0] not in present:
            key = (f, op, t)  # the defining feature is not in the model: keep this one
        if key in merged:
            merged[key]["effect"] += effect
            if key != (f, op, t):
                merged[key]["same"].append(f"{f} {op} {t:g}")
            continue
        same = [] if key == (f, op, t) else [f"{f} {op} {t:g}"]
        merged[key] = {
            "feature": key[0],
            "op": key[1],
            "threshold": key[2],
            "fires": fire,
            "effect": effect,
            "same": same,
        }
    # a merged condition's firing pattern is the defining feature's own
    for key, c in merged.items():
        if c["same"] and key[0] in present:
            x = A[:, names.index(key[0])]
            with np.errstate(invalid="ignore"):
                c["fires"] = (x >= key[2]) if key[1] == ">=" else (x <= key[2])
    return list(merged.values())


def _tier_groups(conds) -> list[np.ndarray]:
    """Condition indices per feature, in tier order (each tier implies the ones before)."""
    by_feature: dict[str, list[int]] = {}
    for i, c in enumerate(conds):
        by_feature.setdefault(c["feature"], []).append(i)
    groups = []
    for idx in by_feature.values():
        op = conds[idx[0]]["op"]
        order = sorted(idx, key=lambda i: conds[i]["threshold"], reverse=(op == "<="))
        groups.append(np.asarray(order, dtype=np.int64))
    return groups


def _card_metrics(metrics: dict, y: np.ndarray) -> dict:
    """Training AUROCs for a card: statistics shown only behind the minimum cell size."""
    from riskscore.disclosure import DisclosureSettings

    m = DisclosureSettings().min_count
    events = int(np.sum(y))
    enough = events >= m and len(y) - events >= m
    return {k: (float(v) if enough else None) for k, v in metrics.items()}


def _disclosed_points_table(table: pd.DataFrame) -> pd.DataFrame:
    """Points table safe for a model card: counts < 10 suppressed, others rounded to 5.

    Each row's rows without the outcome (n - events) are a count too, protected as
    a complement.
    """
    from riskscore.disclosure import disclose

    out = disclose(
        table[["points", "n", "events", "observed_risk", "predicted_risk"]],
        count_columns=["n", "events"],
        rate_columns={"observed_risk": ["events", "n"], "predicted_risk": ["n"]},
        total_columns=[("n", ["events"])],
        by="points",
    )
    return out.astype(object).where(out.notna(), None)
