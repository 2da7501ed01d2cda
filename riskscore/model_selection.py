"""Splitters that never put the same child on both sides.

:class:`CaseKFold` (k folds by case, stratified by whether a case ever has the
outcome) and :class:`TemporalSplit` (train on the past, test on the future), plus
:func:`check_no_shared_cases`, which :func:`riskscore.evaluate` runs on every split
whatever splitter it was given. Both follow scikit-learn's splitter protocol
(``split(X, y, groups)``, where ``groups`` holds the case of every row), so they
work in ``GridSearchCV`` and ``cross_validate``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np
import pandas as pd

from riskscore._numerics import case_codes
from riskscore._params import POSITIVE_INT, Interval, validate_params
from riskscore.errors import LeakageError, ParameterError

__all__ = ["CaseKFold", "TemporalSplit", "check_no_shared_cases"]


def _case_codes(groups, who: str, n_rows: int, rows_of: str) -> tuple[np.ndarray, int]:
    """Codes 0..G-1 of the case ids of a split (the shared checks of
    :func:`riskscore._numerics.case_codes`), in the order of the ids, not of the rows,
    so that the folds do not depend on how the rows happen to be ordered."""
    if groups is None:
        raise ParameterError(
            f"{who} needs case ids: call split(X, y, groups=case ids), the case_id of "
            "every row (e.g. training_set.groups), so every row of a child stays on one side."
        )
    return case_codes(groups, n_rows, who, rows_of, name="groups", error=ParameterError, sort=True)


@validate_params(
    {
        "n_splits": [Interval(numbers.Integral, 2, None)],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    }
)
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
        Shuffle cases before dealing them out (otherwise in the order of their ids).
        Either way the folds depend on the case ids, not on the order of the rows.
    random_state : int or None, default=0
        Seed for the shuffle.

    Examples
    --------
    >>> import numpy as np
    >>> from riskscore.model_selection import CaseKFold
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

    def split(self, X, y, groups=None):
        """Yield ``(train, test)`` row positions, one pair per fold.

        ``groups`` (the case id of every row) is required; it has a default only so
        that leaving it out gives a :class:`~riskscore.ParameterError` saying so.
        Missing case ids (None, NaN) are refused, naming the rows.

        Examples
        --------
        >>> from riskscore.model_selection import CaseKFold
        >>> len(list(CaseKFold(3).split(None, [0, 1, 0, 1, 0, 0], list("aabbcc"))))
        3
        """
        if not isinstance(self.n_splits, numbers.Integral) or self.n_splits < 2:
            raise ParameterError(
                f"n_splits must be an integer of at least 2, got {self.n_splits!r}."
            )
        if y is None:
            raise ParameterError(
                "CaseKFold needs y (the outcome of every row): folds are stratified by it."
            )
        codes, n_cases = _case_codes(groups, "CaseKFold", len(np.asarray(y)), "y")
        if n_cases < self.n_splits:
            raise ParameterError(
                f"CaseKFold: {n_cases} case(s) cannot fill n_splits={self.n_splits} folds "
                "(every fold needs at least one case to test on). Fix: use fewer folds, "
                f"at most n_splits={n_cases} (5 is usual)."
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


@validate_params({"horizon": [POSITIVE_INT], "cut": ["date", None]})
class TemporalSplit:
    """One temporal split: train on the past, test on the future, no child on both sides.

    Training rows have ``as_of + horizon`` before ``cut`` (their label window had
    closed by the cut); test rows have ``as_of`` on or after ``cut``. Rows between
    are in neither. A case with rows on both sides goes to one side only, by a
    seeded draw with equal chances: every case that has training rows is put in
    training with probability 1/2, whatever its outcome, and otherwise keeps only
    its test rows. (Removing every shared case from training, as the first release
    did, left training with the children whose records stopped before the cut,
    mostly those with an outcome: a training outcome rate near 50% on a cohort
    followed throughout.) The number of cases whose training rows were left out is
    kept in ``removed_cases_``.

    Parameters
    ----------
    as_of : array-like of dates
        The as-of date of every row (``TrainingSet.as_of``).
    horizon : int
        Label horizon in days.
    cut : date, optional
        The cut date. Default: see :meth:`cut_date`.
    random_state : int or None, default=0
        Seed of the draw that sends a case to training or to test.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore.model_selection import TemporalSplit
    >>> as_of = pd.to_datetime(["2101-01-01", "2101-06-01", "2103-01-01", "2103-02-01"])
    >>> split = TemporalSplit(as_of, horizon=365, cut="2102-12-01")
    >>> [a.tolist() for a in next(split.split(None, None, ["a", "b", "c", "a"]))]
    [[1], [2, 3]]
    """

    def __init__(self, as_of, horizon: int, cut=None, *, random_state=0):
        self.as_of = as_of
        self.horizon = horizon
        self.cut = cut
        self.random_state = random_state

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
            # a date: a time given with it is its day, as the as-of dates are days
            return pd.Timestamp(self.cut).normalize()
        t = pd.to_datetime(pd.Series(np.asarray(self.as_of)))
        lo = t.min() + pd.Timedelta(days=int(self.horizon))
        hi = t.max()
        return pd.Timestamp(lo + (hi - lo) / 2).normalize()

    def split(self, X, y, groups=None):
        """Yield the single ``(train, test)`` pair of row positions.

        ``groups`` (the case id of every row) is optional; when given, missing case
        ids (None, NaN) are refused, naming the rows.
        """
        t = pd.to_datetime(pd.Series(np.asarray(self.as_of))).to_numpy()
        cut = np.datetime64(self.cut_date().to_datetime64())
        horizon = np.timedelta64(int(self.horizon), "D")
        train = t + horizon < cut
        test = t >= cut
        if groups is not None:
            codes, _ = _case_codes(groups, "TemporalSplit", len(t), "as_of")
            n_cases = codes.max() + 1 if len(codes) else 0
            has_train = np.zeros(n_cases, dtype=bool)
            has_train[codes[train]] = True
            in_test = np.zeros(n_cases, dtype=bool)
            in_test[codes[test]] = True
            # a draw per case, independent of outcomes, so neither side is selected
            # on what happened after the cut
            to_train = has_train & (np.random.default_rng(self.random_state).random(n_cases) < 0.5)
            self.removed_cases_ = int((has_train & ~to_train).sum())
            train &= to_train[codes]
            test &= ~to_train[codes]
        else:
            self.removed_cases_ = 0
        if len(t) and t.max() - t.min() <= horizon:
            # no cut can do it: a training row's label window must close before the
            # cut, and a test row lie on or after it
            first, last = pd.Timestamp(t.min()).date(), pd.Timestamp(t.max()).date()
            span = int((t.max() - t.min()) // np.timedelta64(1, "D"))
            raise ParameterError(
                f"TemporalSplit: the as-of dates run {first} to {last} ({span} days), no "
                f"longer than the horizon of {int(self.horizon)} days, so no cut leaves "
                "training rows (whose horizon closes before the cut) and test rows (on or "
                "after it). Fix: a longer extract, a lower min_history or a shorter "
                "horizon in make_training_set, or case folds (cv=5)."
            )
        if not train.any() or not test.any():
            raise ParameterError(
                f"TemporalSplit: cut {self.cut_date().date()} leaves "
                f"{int(train.sum())} training and {int(test.sum())} test rows (training rows "
                f"need as_of + {int(self.horizon)} days before the cut; a case with rows on "
                "both sides goes to one side only). Choose a cut inside the data, a shorter "
                "horizon, or more cases."
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
    >>> from riskscore.model_selection import check_no_shared_cases
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
