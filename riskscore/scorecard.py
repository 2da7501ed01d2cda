"""Hand-written rule scorecards: feature, comparison, threshold -> points.

A :class:`RuleScorecard` is the most transparent model riskscore has: every point
on a child's total comes from one printed rule with a rationale and the agencies
that held the information. It shares the model contract of
:class:`riskscore.LogisticRiskModel` (``risk_score``, ``contributions``, ``band``),
so audits and reports take either.

Missing features (NaN) never score: a rule whose feature is unknown contributes 0
and is listed by :meth:`RuleScorecard.unknown`, together with the most points the
unknown rules could have added, so that a low score built on missing information
is visible as such.
"""

from __future__ import annotations

import operator
import textwrap
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskscore._arrays import row_chunks
from riskscore._names import band_name
from riskscore._parallel import available_cores, map_threads
from riskscore.contract import register_model
from riskscore.errors import ModelFileError, SchemaError
from riskscore.schema import refuse_non_numbers  # one check of feature columns, every layer
from riskscore.vocabulary import AGENCIES, BANDS, FEATURES

__all__ = ["Rule", "RuleScorecard", "OPS", "AUDIT_ONLY_NOTICE"]

#: Comparison operators a rule may use, as written in model files.
OPS: Mapping[str, object] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}

# The same comparisons as numpy ufuncs, so that a rule can write its mask into a
# reused buffer (``out=``) instead of allocating one per rule and block.
_UFUNCS: Mapping[str, np.ufunc] = {
    ">=": np.greater_equal,
    ">": np.greater,
    "<=": np.less_equal,
    "<": np.less,
    "==": np.equal,
}

#: Rows scored per block by ``risk_score``: the masks and the integer total of a
#: block stay in cache while every rule passes over it.
_SCORE_ROWS = 1 << 16

#: The line every printed model carries.
AUDIT_ONLY_NOTICE = "Retrospective audit and research only - not a decision about any person."

_BAND_DTYPE = pd.CategoricalDtype(list(BANDS), ordered=True)
#: Most points a card's rules may add up to (in absolute value): any sum of them,
#: in any order, then stays finite
_MAX_TOTAL_POINTS = 1e300
_AGENCY_CODES = (*AGENCIES, "any")


def _unknown_feature_message(name: str, where: str) -> str:
    return (
        f"{where}: unknown feature {name!r}. Known features are: "
        + ", ".join(FEATURES)
        + ". Check the spelling, or fit/write the model with catalogue names."
    )


def _format_threshold(value: float) -> str:
    # repr keeps the label exact and readable: 2.0 -> "2", 0.9 -> "0.9"
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class Rule:
    """One scorecard rule: ``feature op threshold`` adds ``points``.

    Parameters
    ----------
    feature : str
        A feature name from :data:`riskscore.FEATURES`.
    op : {">=", ">", "<=", "<", "=="}
        Comparison between the feature value and ``threshold``.
    threshold : float
        Finite threshold on the feature's own scale.
    points : float
        Points added when the comparison holds (integers are usual; any finite
        number is allowed).
    rationale : str, default=""
        The finding the rule encodes and where it comes from.
    agencies : tuple of str, default=()
        Agencies that hold the information (codes of :data:`riskscore.AGENCIES`
        or ``"any"``), printed in reports as "held by". They describe the rule and
        never change a score: each agency's view is scored on that agency's own
        events, so the rule fires wherever its feature's events are. Empty means
        not stated (the report's "held by" is blank).

    Examples
    --------
    >>> from riskscore import Rule
    >>> rule = Rule("asthma_admissions_12m", ">=", 2, 2, "repeated admissions", ("hospital",))
    >>> rule.label
    'asthma_admissions_12m >= 2'
    """

    feature: str
    op: str
    threshold: float
    points: float
    rationale: str = ""
    agencies: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        where = f"rule {self.feature} {self.op} {self.threshold}"
        if not isinstance(self.feature, str):
            raise ModelFileError(f"{where}: feature must be a feature name (text).")
        if not isinstance(self.op, str) or self.op not in OPS:
            raise ModelFileError(
                f"{where}: unknown comparison {self.op!r}; use one of " + ", ".join(OPS) + "."
            )
        if self.feature not in FEATURES:
            raise ModelFileError(_unknown_feature_message(self.feature, where))
        if self.op not in OPS:
            raise ModelFileError(
                f"{where}: unknown comparison {self.op!r}; use one of " + ", ".join(OPS) + "."
            )
        for attr in ("threshold", "points"):
            value = getattr(self, attr)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float, np.integer, np.floating))
                or isinstance(value, np.bool_)
            ):
                raise ModelFileError(f"{where}: {attr} must be a real number, got {value!r}.")
            try:
                number = float(value)
            except OverflowError:  # an int beyond float range (10**400)
                number = float("inf")
            if not np.isfinite(number):
                raise ModelFileError(f"{where}: {attr} must be finite, got {value!r}.")
            # store plain floats so that equality, hashing and JSON are exact
            object.__setattr__(self, attr, number)
        agencies = self.agencies
        if isinstance(agencies, str):
            agencies = (agencies,)
        if not isinstance(agencies, (tuple, list)):
            raise ModelFileError(
                f"{where}: agencies must be a list of agency codes, got {agencies!r}."
            )
        object.__setattr__(self, "agencies", tuple(agencies))
        bad = [a for a in self.agencies if not isinstance(a, str) or a not in _AGENCY_CODES]
        if bad:
            raise ModelFileError(
                f"{where}: unknown agency {bad[0]!r}; use codes from "
                + ", ".join(_AGENCY_CODES)
                + "."
            )
        if not isinstance(self.rationale, str):
            raise ModelFileError(f"{where}: rationale must be text.")

    @property
    def label(self) -> str:
        """Readable rule label, e.g. ``"asthma_admissions_12m >= 2"``."""
        return f"{self.feature} {self.op} {_format_threshold(self.threshold)}"

    def fires(self, values: np.ndarray) -> np.ndarray:
        """Boolean array: where the rule holds (False where the value is NaN)."""
        # NaN compares False with every operator, so unknown values never score.
        with np.errstate(invalid="ignore"):
            return OPS[self.op](values, self.threshold)


def _feature_columns(X, names: Sequence[str], who: str) -> dict[str, np.ndarray]:
    """Float64 column arrays for ``names`` from a feature table (no copy if possible)."""
    if isinstance(X, pd.DataFrame):
        refuse_doubled(X, names, who)
        missing = [n for n in names if n not in X.columns]
        if missing:
            raise SchemaError(
                f"{who}: the feature table has no column {missing[0]!r}"
                + (f" (nor {', '.join(map(repr, missing[1:]))})" if len(missing) > 1 else "")
                + ". Pass the output of riskscore.encode_features, or add the column "
                "filled with NaN to mark it unknown."
            )
        out = {}
        for n in names:
            col = X[n]
            if col.dtype == np.float64:
                # zero-copy view; NaN already marks unknown (na_value= would copy)
                out[n] = col.to_numpy()
                continue
            refuse_non_numbers(col, n, who)
            try:
                out[n] = col.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError) as exc:
                raise SchemaError(
                    f"{who}: column {n!r} is not numeric ({col.dtype}); features are "
                    "float64 with NaN for unknown."
                ) from exc
        return out
    if isinstance(X, np.ndarray) and X.dtype != np.float64:
        refuse_non_numbers(X.ravel(), None, who)
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise SchemaError(
            f"{who}: expected a feature table (a DataFrame from encode_features); got "
            f"{type(X).__name__} that is not numbers."
        ) from None
    if arr.ndim != 2 or arr.shape[1] != len(FEATURES):
        raise SchemaError(
            f"{who}: a plain array must be 2-D with one column per catalogue feature "
            f"({len(FEATURES)}, in riskscore.FEATURES order); got shape {arr.shape}. "
            "Pass a DataFrame with named feature columns instead."
        )
    index = {n: i for i, n in enumerate(FEATURES)}
    return {n: arr[:, index[n]] for n in names}


def refuse_doubled(X, names: Sequence[str], who: str) -> None:
    """Raise :class:`SchemaError` if a feature in ``names`` is a column of ``X`` twice.

    Which of the two would be the feature is not for the library to guess.
    """
    if isinstance(X, pd.DataFrame) and X.columns.has_duplicates:
        counts = X.columns.value_counts()
        doubled = [n for n in names if counts.get(n, 0) > 1]
        if doubled:
            raise SchemaError(
                f"{who}: column {doubled[0]!r} appears {int(counts[doubled[0]])} times in the "
                "feature table. Fix: keep one column of each feature."
            )


def refuse_infinite(cols: Mapping[str, np.ndarray], who: str, index: pd.Index) -> None:
    """Raise :class:`SchemaError` naming the first column with an infinite value.

    A feature is a finite number, or NaN for unknown; an infinite count or fraction
    is broken data, which no rule should score as merely large.
    """
    for name, col in cols.items():
        bad = np.isinf(col)
        if bad.any():
            rows = ", ".join(str(index[i]) for i in np.flatnonzero(bad)[:5])
            raise SchemaError(
                f"{who}: column {name!r} has infinite values (first rows: {rows}). "
                "Features must be finite numbers; NaN marks a missing value."
            )


def _integer_total_dtype(points: Sequence[float]):
    """The smallest integer dtype that holds every partial sum of ``points`` exactly.

    None when a point value is not a whole number (the total is then summed in
    float64, in card order).
    """
    if not all(float(p).is_integer() for p in points):
        return None
    bound = sum(abs(p) for p in points)
    for dtype in (np.int8, np.int16, np.int32):
        if bound <= np.iinfo(dtype).max:
            return dtype
    return None


def _integer_total(rules, cols: Mapping[str, np.ndarray], total: np.ndarray, dtype) -> bool:
    """Sum whole-number points into ``total`` in a small integer type, block by block.

    Each rule is one comparison written into a reused boolean buffer, read as 0/1
    integers of the total's type and scaled by the rule's points; a block's total
    is converted to float64 once. Integer sums are exact in any order, so the
    result equals the float64 sum of :meth:`RuleScorecard.contributions`, and with
    one-byte totals (any card whose points add up to at most 127) the arithmetic
    costs far less than reading the feature columns. Each column's block is looked
    at for an infinite value before its rules compare it: returns False if one has
    any (``total`` is then incomplete and the caller refuses the table).
    """
    size = min(_SCORE_ROWS, len(total))
    if not size:
        return True
    # the rules grouped by the column they read (integer sums do not depend on the
    # order): each column's block is checked, then compared while it is in cache
    plan: dict[int, tuple[np.ndarray, list]] = {}
    for r in rules:
        col = cols[r.feature]
        plan.setdefault(id(col), (col, []))[1].append((_UFUNCS[r.op], r.threshold, dtype(r.points)))
    local = threading.local()  # each thread's buffers, reused block by block

    def score(rows: slice) -> bool:
        buffers = getattr(local, "buffers", None)
        if buffers is None:
            mask = np.empty(size, dtype=bool)
            buffers = local.buffers = (
                mask,
                mask.view(np.int8),
                np.empty(size, dtype),
                np.empty(size, dtype),
            )
        mask, ints, acc, tmp = buffers
        k = rows.stop - rows.start
        a, m, i8, t = acc[:k], mask[:k], ints[:k], tmp[:k]
        a.fill(0)
        with np.errstate(invalid="ignore"):  # NaN compares False: unknown never scores
            for col, col_rules in plan.values():
                c = col[rows]
                np.isinf(c, out=m)  # an infinite value is refused
                if m.any():
                    return False
                for compare, threshold, points in col_rules:
                    compare(c, threshold, out=m)
                    if points == 1 and dtype is np.int8:
                        a += i8
                    else:
                        np.multiply(i8, points, out=t, casting="unsafe")
                        a += t
        total[rows] = a
        return True

    # blocks of rows are independent: taken in turn by every core
    return all(map_threads(score, list(row_chunks(len(total), size)), available_cores()))


def _index_of(X) -> pd.Index:
    return X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(X))


def bands_of(score: np.ndarray, thresholds: Sequence[float], index) -> pd.Series:
    """Ordered band categorical from scores and (review, multi_agency) thresholds."""
    codes = np.zeros(len(score), dtype=np.int8)
    for t in thresholds:
        codes += score >= t
    return pd.Series(
        pd.Categorical.from_codes(codes, dtype=_BAND_DTYPE), index=index, name="band", copy=False
    )


def check_bands(bands, who: str) -> dict[str, float]:
    """Validate a band mapping; return it as {name: float} in BANDS order."""
    if not isinstance(bands, Mapping):
        raise ModelFileError(
            f"{who}: bands must be a mapping like "
            "{'review': 4, 'multi_agency_discussion': 10}; got " + repr(bands)
        )
    needed = list(BANDS[1:])
    unknown = [k for k in bands if k not in needed]
    if unknown or any(k not in bands for k in needed):
        raise ModelFileError(
            f"{who}: bands must have exactly the keys {needed}; got {list(bands)}."
        )
    out = {}
    for k in needed:
        v = bands[k]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not np.isfinite(v):
            raise ModelFileError(f"{who}: band {k!r} threshold must be a finite number, got {v!r}.")
        out[k] = float(v)
    if out[needed[0]] > out[needed[1]]:
        raise ModelFileError(
            f"{who}: band thresholds must not decrease: review {out[needed[0]]} > "
            f"multi_agency_discussion {out[needed[1]]}."
        )
    return out


@register_model
class RuleScorecard:
    """A hand-written points scorecard implementing the shared model contract.

    Parameters
    ----------
    rules : sequence of Rule
        The rules; each adds its points independently, so two rules on one feature
        are tiers that both fire (``>= 1`` and ``>= 2`` give both sets of points at 2).
    bands : mapping
        ``{"review": t1, "multi_agency_discussion": t2}`` on the points scale,
        ``t1 <= t2``; a band is reached when the total is ``>=`` its threshold.
    name : str, optional
        Name shown on the card and in model files.
    model_card : mapping, optional
        Intended use, provenance, limitations (free-form JSON-able mapping).

    Attributes
    ----------
    rules : tuple of Rule
    bands : dict
    features_ : list of str
        Features the rules read, in catalogue order.
    feature_names_in_ : ndarray of str
        Same as ``features_`` (the scikit-learn spelling).

    Notes
    -----
    ``max_unknown_points`` (see :meth:`unknown`) is, for each row, the most points
    the rules on missing features could have added: for every unknown feature the
    largest total its rules reach at any one value (tiers in the same direction add,
    as they would if the feature were extreme; contradictory rules such as ``<= 0.5``
    and ``>= 2`` cannot both count). It is an upper bound, not an estimate.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore import Rule, RuleScorecard
    >>> card = RuleScorecard(
    ...     [Rule("asthma_admissions_12m", ">=", 1, 1), Rule("asthma_admissions_12m", ">=", 2, 2)],
    ...     bands={"review": 2, "multi_agency_discussion": 3},
    ... )
    >>> X = pd.DataFrame({"asthma_admissions_12m": [0.0, 1.0, 3.0]})
    >>> card.risk_score(X).tolist()
    [0.0, 1.0, 3.0]
    >>> card.band(X).tolist()
    ['none', 'none', 'multi_agency_discussion']
    """

    #: Scores are points (the shared contract's ``score_scale``).
    score_scale = "points"

    def __init__(
        self,
        rules: Iterable[Rule],
        bands: Mapping[str, float],
        name: str | None = None,
        model_card: Mapping | None = None,
    ):
        who = f"scorecard {name!r}" if isinstance(name, str) and name else "scorecard"
        if isinstance(rules, (str, Mapping)) or not isinstance(rules, Iterable):
            raise ModelFileError(f"{who}: rules must be a list of riskscore.Rule, got {rules!r}.")
        rules = tuple(rules)
        if name is not None and not isinstance(name, str):
            raise ModelFileError(f"{who}: name must be text, got {name!r}.")
        if model_card is not None and not isinstance(model_card, Mapping):
            raise ModelFileError(
                f"{who}: model_card must be a mapping (intended use, limitations...), "
                f"got {type(model_card).__name__}."
            )
        if not rules:
            raise ModelFileError(f"{who}: needs at least one rule.")
        for r in rules:
            if not isinstance(r, Rule):
                raise ModelFileError(f"{who}: rules must be riskscore.Rule objects, got {r!r}.")
        labels = [r.label for r in rules]
        dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
        if dupes:
            raise ModelFileError(
                f"{who}: duplicate rule {dupes[0]!r}; merge their points into one rule."
            )
        reach = sum(abs(r.points) for r in rules)
        if not reach <= _MAX_TOTAL_POINTS:
            raise ModelFileError(
                f"{who}: the rules' points add up to {reach:g} in absolute value, past the "
                f"{_MAX_TOTAL_POINTS:g} a score can hold; scale the points down."
            )
        self.rules = rules
        self.bands = check_bands(bands, who)
        self.name = name
        self.model_card = dict(model_card) if model_card is not None else {}
        used = {r.feature for r in rules}
        self.features_ = [f for f in FEATURES if f in used]
        self.feature_names_in_ = np.asarray(self.features_, dtype=object)
        self._max_points_by_feature = {f: self._max_points(f) for f in self.features_}
        self._total_dtype = _integer_total_dtype([r.points for r in rules])

    # ------------------------------------------------------------------ helpers
    def _max_points(self, feature: str) -> float:
        """Most points the rules on ``feature`` give at any single value."""
        rules = [r for r in self.rules if r.feature == feature]
        t = np.unique([r.threshold for r in rules])
        # the total is piecewise constant between thresholds: test every threshold,
        # every gap between them, and beyond both ends
        gaps = (t[:-1] + t[1:]) / 2
        candidates = np.concatenate([t, gaps, [t[0] - 1.0, t[-1] + 1.0]])
        totals = sum(np.where(r.fires(candidates), r.points, 0.0) for r in rules)
        return float(max(np.max(totals), 0.0))

    def _columns(self, X, who: str) -> dict[str, np.ndarray]:
        return _feature_columns(X, self.features_, who)

    # ------------------------------------------------------------------ contract
    def risk_score(self, X) -> pd.Series:
        """Total points per row.

        Parameters
        ----------
        X : DataFrame
            Feature table (``riskscore.encode_features`` output or any frame with the
            rule features as columns; other columns are ignored). A 2-D array with
            one column per catalogue feature, in catalogue order, is also accepted.

        Returns
        -------
        Series
            Float points, indexed like ``X``, named ``"risk_score"``.

        Examples
        --------
        >>> import pandas as pd
        >>> from riskscore import Rule, RuleScorecard
        >>> card = RuleScorecard([Rule("siblings_removed", ">=", 1, 3)],
        ...                      {"review": 3, "multi_agency_discussion": 6})
        >>> card.risk_score(pd.DataFrame({"siblings_removed": [0.0, 2.0]})).tolist()
        [0.0, 3.0]
        """
        who = "RuleScorecard.risk_score"
        cols = self._columns(X, who)
        n = len(_index_of(X))
        if self._total_dtype is not None:
            total = np.empty(n, dtype=np.float64)  # every row is written
            if not _integer_total(self.rules, cols, total, self._total_dtype):
                refuse_infinite(cols, who, _index_of(X))
            return pd.Series(total, index=_index_of(X), name="risk_score", copy=False)
        total = np.zeros(n, dtype=np.float64)
        for rows in row_chunks(n):
            if any(np.isinf(c[rows]).any() for c in cols.values()):
                refuse_infinite(cols, who, _index_of(X))
            block = total[rows]
            for r in self.rules:
                # one vectorised comparison per rule and block; rules are added in
                # card order, as contributions() lists them
                # (mask * points is several times faster than np.add(where=mask))
                block += r.fires(cols[r.feature][rows]) * r.points
        return pd.Series(total, index=_index_of(X), name="risk_score", copy=False)

    def contributions(self, X) -> pd.DataFrame:
        """Points each rule adds, per row, plus a ``baseline`` column of 0.

        Rows sum to :meth:`risk_score` (exactly when points are integers or other
        binary fractions, as in every shipped card).

        Examples
        --------
        >>> import pandas as pd
        >>> from riskscore import Rule, RuleScorecard
        >>> card = RuleScorecard([Rule("siblings_removed", ">=", 1, 3)],
        ...                      {"review": 3, "multi_agency_discussion": 6})
        >>> card.contributions(pd.DataFrame({"siblings_removed": [2.0]})).to_dict("records")
        [{'baseline': 0.0, 'siblings_removed >= 1': 3.0}]
        """
        cols = self._columns(X, "RuleScorecard.contributions")
        index = _index_of(X)
        refuse_infinite(cols, "RuleScorecard.contributions", index)
        # fill a (rules + 1, n) array row by row; its transpose becomes the frame
        # without another copy
        out = np.zeros((len(self.rules) + 1, len(index)))
        for i, r in enumerate(self.rules, start=1):
            np.multiply(r.fires(cols[r.feature]), r.points, out=out[i])
        return pd.DataFrame(
            out.T, index=index, columns=["baseline", *(r.label for r in self.rules)], copy=False
        )

    def band(self, X) -> pd.Series:
        """Audit band per row: ordered categorical ``none < review < multi_agency_discussion``.

        Examples
        --------
        >>> import pandas as pd
        >>> from riskscore import Rule, RuleScorecard
        >>> card = RuleScorecard([Rule("siblings_removed", ">=", 1, 3)],
        ...                      {"review": 3, "multi_agency_discussion": 6})
        >>> card.band(pd.DataFrame({"siblings_removed": [0.0, 1.0]})).tolist()
        ['none', 'review']
        """
        score = self.risk_score(X).to_numpy()
        return bands_of(score, list(self.bands.values()), _index_of(X))

    def unknown(self, X) -> pd.DataFrame:
        """Which rules could not be evaluated (feature missing), per row.

        Returns
        -------
        DataFrame
            One boolean column per rule label (True = its feature is NaN), then
            ``n_unknown`` (rules unknown) and ``max_unknown_points``: the most points
            the unknown rules could have added (see the class Notes).

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from riskscore import Rule, RuleScorecard
        >>> card = RuleScorecard(
        ...     [Rule("attendance_recent", "<=", 0.9, 1), Rule("attendance_recent", "<=", 0.5, 2)],
        ...     {"review": 1, "multi_agency_discussion": 3})
        >>> card.unknown(pd.DataFrame({"attendance_recent": [np.nan, 0.95]}))["max_unknown_points"].tolist()
        [3.0, 0.0]
        """
        cols = self._columns(X, "RuleScorecard.unknown")
        index = _index_of(X)
        missing = {f: np.isnan(cols[f]) for f in self.features_}
        data = {r.label: missing[r.feature] for r in self.rules}
        out = pd.DataFrame(data, index=index)
        out["n_unknown"] = np.sum([missing[r.feature] for r in self.rules], axis=0).astype(np.int64)
        max_pts = np.zeros(len(index))
        for f in self.features_:
            np.add(max_pts, self._max_points_by_feature[f], out=max_pts, where=missing[f])
        out["max_unknown_points"] = max_pts
        return out

    # ------------------------------------------------------------------ display
    @property
    def summary(self) -> pd.DataFrame:
        """The card as a table: one row per rule (band thresholds in ``.attrs["bands"]``).

        Examples
        --------
        >>> from riskscore import Rule, RuleScorecard
        >>> card = RuleScorecard([Rule("siblings_removed", ">=", 1, 3, "removed", ("social_care",))],
        ...                      {"review": 3, "multi_agency_discussion": 6})
        >>> card.summary[["rule", "points", "agencies"]].to_dict("records")
        [{'rule': 'siblings_removed >= 1', 'points': 3.0, 'agencies': 'social_care'}]
        """
        table = pd.DataFrame(
            {
                "rule": [r.label for r in self.rules],
                "feature": [r.feature for r in self.rules],
                "op": [r.op for r in self.rules],
                "threshold": [r.threshold for r in self.rules],
                "points": [r.points for r in self.rules],
                "agencies": [", ".join(r.agencies) for r in self.rules],
                "rationale": [r.rationale for r in self.rules],
            }
        )
        table.attrs["bands"] = dict(self.bands)
        table.attrs["notice"] = AUDIT_ONLY_NOTICE
        return table

    def __str__(self) -> str:
        width = 96
        title = f"RISK SCORECARD: {self.name}" if self.name else "RISK SCORECARD"
        lines = [title, "=" * width, AUDIT_ONLY_NOTICE, ""]
        lines.append(f"{'Points':>7}  Rule  [agencies]")
        lines.append("-" * width)
        wrap = textwrap.TextWrapper(width=width, initial_indent=" " * 9, subsequent_indent=" " * 9)
        for r in self.rules:
            pts = _format_threshold(r.points)
            sign = "+" if r.points >= 0 else ""
            agencies = f"  [{', '.join(r.agencies)}]" if r.agencies else ""
            lines.append(f"{sign + pts:>7}  {r.label}{agencies}")
            if r.rationale:
                lines.extend(wrap.wrap(r.rationale))
        lines.append("-" * width)
        lines.append("Total = sum of the points of every rule that holds (tiers add).")
        lines.append("A rule whose feature is missing scores 0 and is reported as unknown.")
        lines.append("Audit bands (total points, reached at or above):")
        for k, v in self.bands.items():
            lines.append(f"  {band_name(k):<26} >= {_format_threshold(v)}")
        zero = (
            self.model_card.get("rounded_to_zero") if isinstance(self.model_card, Mapping) else None
        )
        if zero:
            lines.append("Fitted effects that rounded to 0 points (not scored):")
            for z in zero:
                lines.append(
                    f"  {z.get('condition')}  (log-odds {z.get('log_odds_effect', float('nan')):+.3f})"
                )
        sources = self.model_card.get("sources") if isinstance(self.model_card, Mapping) else None
        if sources:
            lines.append("Sources:")
            src_wrap = textwrap.TextWrapper(
                width=width, initial_indent="  - ", subsequent_indent="    "
            )
            for src in sources:
                lines.extend(src_wrap.wrap(str(src)))
        lines.append(AUDIT_ONLY_NOTICE)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"RuleScorecard(name={self.name!r}, rules={len(self.rules)}, bands={self.bands!r})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, RuleScorecard):
            return NotImplemented
        return (
            self.rules == other.rules
            and self.bands == other.bands
            and self.name == other.name
            and self.model_card == other.model_card
        )

    __hash__ = None
