"""Integer points from a logistic model, as one estimator with the shared model contract.

:class:`IntegerPointsModel` fits a logistic model and rounds it to an integer-points
scorecard (:meth:`riskscore.LogisticRiskModel.to_scorecard`) in one ``fit``, so that
cross-validating it validates the whole procedure that shipped points would face.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import clone

from riskscore._params import POSITIVE_INT, validate_attributes
from riskscore.contract import register_model
from riskscore.errors import NotFittedError
from riskscore.logistic import LogisticRiskModel

__all__ = ["IntegerPointsModel"]


@register_model
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
    >>> from riskscore.points import IntegerPointsModel
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"siblings_removed": rng.integers(0, 3, 800).astype(float)})
    >>> y = rng.random(800) < 0.1 + 0.2 * X["siblings_removed"]
    >>> m = IntegerPointsModel(max_points=5).fit(X, y)
    >>> m.predict_proba(X).shape
    (800, 2)
    """

    #: Scores are integer points (the shared contract's ``score_scale``).
    score_scale = "points"

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

    @validate_attributes({"base": [LogisticRiskModel, None], "max_points": [POSITIVE_INT]})
    def fit(self, X, y, case_ids=None) -> IntegerPointsModel:
        """Fit the base model, then round it to integer points.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from riskscore.points import IntegerPointsModel
        >>> X = pd.DataFrame({"hardship_12m": [0.0, 1.0] * 50}); y = [0, 0, 0, 1] * 25
        >>> IntegerPointsModel(max_points=3).fit(X, y).scorecard_.features_
        ['hardship_12m']
        """
        base = LogisticRiskModel(penalty=None) if self.base is None else clone(self.base)
        self.model_ = base.fit(X, y, case_ids=case_ids)
        self.scorecard_ = self.model_.to_scorecard(X, y, max_points=self.max_points)
        self.classes_ = self.model_.classes_
        return self

    def risk_score(self, X) -> pd.Series:
        """Integer points per row."""
        return self._card().risk_score(X)

    def contributions(self, X) -> pd.DataFrame:
        """Points each rule adds per row, plus a ``baseline`` of 0 (rows sum to the score)."""
        return self._card().contributions(X)

    def band(self, X) -> pd.Series:
        """Audit band per row, on the points scale (the scorecard's bands)."""
        return self._card().band(X)

    @property
    def bands_(self) -> dict[str, float]:
        """Band thresholds on the points scale."""
        return dict(self._card().bands)

    @property
    def summary(self) -> pd.DataFrame:
        """The integer-points card as a table (see :attr:`riskscore.RuleScorecard.summary`)."""
        return self._card().summary

    def __str__(self) -> str:
        if not hasattr(self, "scorecard_"):
            return repr(self)
        return str(self.scorecard_)

    def __repr__(self) -> str:
        return f"IntegerPointsModel(base={self.base!r}, max_points={self.max_points!r})"

    def _card(self):
        if not hasattr(self, "scorecard_"):
            raise NotFittedError("This IntegerPointsModel is not fitted yet; call fit first.")
        return self.scorecard_

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities from the points-to-risk fit, shape (n, 2)."""
        a = self._card().points_to_risk_["intercept"]
        b = self._card().points_to_risk_["slope"]
        p = expit(a + b * self.risk_score(X).to_numpy(dtype=np.float64))
        return np.column_stack([1 - p, p])
