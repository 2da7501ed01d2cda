"""The model contract every riskscore model keeps, so audits, evaluation and reports take any.

A *risk model* here is anything with

``risk_score(X) -> Series``
    one score per row, on the model's own scale (``score_scale``);
``contributions(X) -> DataFrame``
    a ``baseline`` column and one column per rule or feature, each row summing
    exactly to ``risk_score``;
``band(X) -> Series``
    an ordered categorical ``none < review < multi_agency_discussion``, each band
    reached when the score is at or above its threshold;
``score_scale``
    ``"points"`` (scorecards, integer points) or ``"log-odds"`` (logistic models);
``bands`` (hand-written) or ``bands_`` (learned)
    the band thresholds on that scale (see :func:`band_thresholds`);
``summary``
    the model as a table (rules and points, or coefficients and odds ratios);
``str(model)``
    a printed score sheet: what each line adds, the bands, and the notice that it
    is for retrospective audit and research only.

:class:`RiskModel` writes this down as a :class:`typing.Protocol`;
:func:`check_model` is what every audit and evaluation entry point calls. The model
kinds that ship with riskscore are registered in :data:`MODEL_KINDS` (a test runs the
contract over every registered kind and fails when a model class is not registered).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pandas as pd

from riskscore.errors import ModelContractError
from riskscore.vocabulary import BANDS

__all__ = [
    "RiskModel",
    "SCORE_SCALES",
    "MODEL_KINDS",
    "register_model",
    "check_model",
    "band_thresholds",
    "score_scale",
    "model_name",
]

#: Score scales a model may declare, with the unit shown beside a score.
SCORE_SCALES: dict[str, str] = {
    "points": "points",
    "log-odds": "log-odds (natural logarithm of the odds)",
}

#: Registered model kinds: class name -> class (filled by :func:`register_model`).
MODEL_KINDS: dict[str, type] = {}

_METHODS = ("risk_score", "contributions", "band")


@runtime_checkable
class RiskModel(Protocol):
    """What audits, evaluation and reports need from a model (see the module docstring).

    Examples
    --------
    >>> from riskscore import default_scorecard
    >>> from riskscore.contract import RiskModel
    >>> isinstance(default_scorecard(), RiskModel)
    True
    """

    score_scale: str

    def risk_score(self, X: pd.DataFrame) -> pd.Series: ...

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame: ...

    def band(self, X: pd.DataFrame) -> pd.Series: ...

    @property
    def summary(self) -> pd.DataFrame: ...


def register_model(cls: type) -> type:
    """Class decorator: add a model class to :data:`MODEL_KINDS`.

    Examples
    --------
    >>> from riskscore.contract import MODEL_KINDS
    >>> sorted(MODEL_KINDS)
    ['IntegerPointsModel', 'LogisticRiskModel', 'RuleScorecard']
    """
    if getattr(cls, "score_scale", None) not in SCORE_SCALES:
        raise ModelContractError(
            f"{cls.__name__}.score_scale must be one of {list(SCORE_SCALES)}; "
            f"got {getattr(cls, 'score_scale', None)!r}."
        )
    MODEL_KINDS[cls.__name__] = cls
    return cls


def check_model(model: Any, who: str = "audit") -> None:
    """Refuse an object that does not keep the model contract, saying what it lacks.

    Raises
    ------
    ModelContractError
        When a contract method is missing or ``score_scale`` is unknown.

    Examples
    --------
    >>> from riskscore.contract import check_model
    >>> try:
    ...     check_model(object())
    ... except TypeError as e:
    ...     print(type(e).__name__)
    ModelContractError
    """
    missing = [m for m in _METHODS if not callable(getattr(model, m, None))]
    if missing:
        raise ModelContractError(
            f"{who}: {type(model).__name__} lacks {missing}: riskscore models are a "
            "RuleScorecard, a fitted LogisticRiskModel or a fitted IntegerPointsModel "
            "(riskscore.load_model reads the shipped ones)."
        )
    scale = getattr(model, "score_scale", None)
    if scale not in SCORE_SCALES:
        raise ModelContractError(
            f"{who}: {type(model).__name__}.score_scale is {scale!r}; it must be one of "
            f"{list(SCORE_SCALES)}."
        )


def score_scale(model: Any) -> str:
    """The model's score scale, ``"points"`` or ``"log-odds"``.

    Examples
    --------
    >>> from riskscore import default_scorecard
    >>> from riskscore.contract import score_scale
    >>> score_scale(default_scorecard())
    'points'
    """
    check_model(model, "score_scale")
    return model.score_scale


def band_thresholds(model: Any) -> dict[str, float]:
    """A model's band thresholds on its own score scale (``bands_`` if learned, else ``bands``).

    Examples
    --------
    >>> from riskscore import default_scorecard
    >>> from riskscore.contract import band_thresholds
    >>> list(band_thresholds(default_scorecard()))
    ['review', 'multi_agency_discussion']
    """
    for attr in ("bands_", "bands"):
        b = getattr(model, attr, None)
        if isinstance(b, dict) and b:
            return {k: float(b[k]) for k in BANDS[1:] if k in b}
    return {}


def model_name(model: Any) -> str:
    """A short name of a model for reports and design tables (its ``name``, else its class).

    Examples
    --------
    >>> from riskscore import default_scorecard
    >>> from riskscore.contract import model_name
    >>> model_name(default_scorecard())
    'review-rules-v2'
    """
    name = getattr(model, "name", None)
    return str(name) if name else type(model).__name__
