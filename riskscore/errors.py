"""Exception classes. Every error riskscore raises on purpose subclasses RiskscoreError."""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "RiskscoreError",
    "SchemaError",
    "IdentifyingDataError",
    "NotNumbersError",
    "ModelFileError",
    "DisclosureError",
    "DataQualityWarning",
    "SampleSizeWarning",
    "EstimationError",
    "LeakageError",
    "ParameterError",
    "ModelContractError",
    "MissingFileError",
    "OutputExistsError",
    "DependencyError",
    "NotFittedError",
]


class RiskscoreError(Exception):
    """Base class of every error riskscore raises on purpose."""


class SchemaError(RiskscoreError, ValueError):
    """Input data breaks the data contract.

    ``report`` (when set) is the :class:`~riskscore.ValidationReport` listing every
    problem found, so an analyst can fix an extract in one pass.
    """

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


class IdentifyingDataError(SchemaError):
    """Input data looks identifying (names, NHS numbers, postcodes, dates of birth, free text)."""


class NotNumbersError(SchemaError, TypeError):
    """A feature table holds something other than numbers (text, dates, complex numbers).

    A :class:`SchemaError` that is also the :class:`TypeError` numpy would raise
    converting it (scikit-learn's contract for estimators).
    """


class ModelFileError(RiskscoreError, ValueError):
    """A model file is of the wrong kind, version or content, or failed its integrity check."""


class DisclosureError(RiskscoreError, ValueError):
    """A table cannot be made safe for release as asked (for example no count columns)."""


class DataQualityWarning(UserWarning):
    """Rows were quarantined by a lenient read (``strict=False``); nothing is dropped silently.

    Pass ``return_report=True`` to the reader to get the quarantined rows and the
    :class:`~riskscore.ValidationReport` that says what is wrong with each.
    """


class SampleSizeWarning(UserWarning):
    """The data are fewer than a minimum sample size criterion asks for.

    :func:`riskscore.evaluate` warns with it when the cases fall short of the
    Riley et al. (2020) minimum for developing a model with so many parameters:
    expect overfitting and optimistic apparent performance.
    """


class EstimationError(RiskscoreError, ValueError):
    """A model cannot be estimated or summarised as asked.

    For example Wald intervals for a penalised or class-weighted fit (use bootstrap
    intervals), a singular information matrix, or integer points that cannot fit
    within ``max_points``.
    """


class LeakageError(RiskscoreError, ValueError):
    """Validation would be dishonest: information crosses from the future or between sides.

    Raised when a split puts the same case in training and validation, or when a
    feature encoder gives different values once events after the as-of date are
    removed (it peeks past T).
    """


class ParameterError(RiskscoreError, ValueError, TypeError):
    """A parameter of a public function is out of its allowed range or of the wrong kind.

    Subclasses both :class:`ValueError` and :class:`TypeError` (as scikit-learn's
    ``InvalidParameterError`` does), so ``except ValueError`` and ``except TypeError``
    code written before riskscore raised its own class keeps working.
    """


class ModelContractError(RiskscoreError, TypeError):
    """An object passed as a model does not keep riskscore's model contract.

    See :mod:`riskscore.contract` (``risk_score``, ``contributions``, ``band``,
    ``score_scale``). Subclasses :class:`TypeError`.
    """


class MissingFileError(RiskscoreError, FileNotFoundError):
    """An input file or folder does not exist (a :class:`FileNotFoundError` too)."""


class OutputExistsError(RiskscoreError, FileExistsError):
    """An output would replace existing files without ``overwrite=True``."""


class DependencyError(RiskscoreError, ImportError):
    """An optional dependency (Dask) is needed for this call; the message says how to install it."""


class NotFittedError(RiskscoreError, _SklearnNotFittedError):
    """A model was used before ``fit`` (also scikit-learn's ``NotFittedError``)."""


def check_fitted(estimator, attributes=None) -> None:
    """scikit-learn's ``check_is_fitted``, raising riskscore's :class:`NotFittedError`."""
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator, attributes)
    except _SklearnNotFittedError as exc:
        raise NotFittedError(str(exc)) from None


def warn_user(message: str | Warning, category: type[Warning] = UserWarning) -> None:
    """Warn, attributing the warning to the first caller outside riskscore.

    A fixed ``stacklevel`` points inside the package whenever a public function is
    wrapped (parameter checks) or calls another; the user should see their own line.
    """
    import os
    import sys
    import warnings

    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(0), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    if isinstance(message, Warning):
        warnings.warn(message, stacklevel=level)
    else:
        warnings.warn(message, category, stacklevel=level)
