"""Training sets with honest labels, a point-in-time leakage check, and model training.

Labels (:func:`make_training_set`)
----------------------------------
Each case is sampled on an as-of grid (every ``grid`` days from its first event).
The label of the row (case, T) is 1 when the case's outcome falls in
``(T, T + horizon]``. A row is labelled only when its label is known whatever
happens later: rows are excluded, and counted by reason in
``TrainingSet.excluded``, never dropped silently:

- ``as_of on or after outcome``: the outcome has already happened (or happens that
  day), so there is nothing left to predict;
- ``horizon not fully observed`` (the default ``censoring="complete"``): the
  records stop (``followup_end``: the extract's end, or loss to follow-up) before
  ``T + horizon``, so the label would depend on what was not observed. Such rows
  are excluded **whatever their outcome**: keeping the ones whose outcome happened
  to be recorded before follow-up ended would keep positives and drop negatives,
  and inflate the outcome rate near the end of the extract. The one exception is
  an outcome that *ended* follow-up inside the horizon (``followup_end ==
  outcome_date``, for example a death) while the extract itself runs past ``T +
  horizon``: its label (1) is known, and excluding it would lose exactly the
  outcomes that stop the records. (Deaths whose horizon runs past the extract's
  end are excluded like everyone else's rows there: keeping them would leave the
  last year of an extract with its deaths and nothing else.) The extract's end is
  the latest ``followup_end`` or event date;
- ``history shorter than min_history``: the longest feature window (365 days)
  reaches back before the case's observation start (its first record, or the
  earliest start of the coverage that applies to it when ``coverage=`` is given),
  so 12-month counts would count part of a year and look reassuring. Set
  ``min_history=0`` to keep such rows;
- ``case has no events``: a child in the cases table with no events has no
  first event and so no grid (and nothing to score);
- ``case not in cases table``: events of a child the cases table does not list
  (no outcome information).

``censoring="keep_positives"`` is the rule of the first release (kept so that the
shipped ``synthetic-logistic-v1`` rebuilds exactly): a row whose horizon runs past
``followup_end`` is kept when its outcome was observed, and excluded otherwise
(reason ``horizon runs past followup_end``). It biases the outcome rate upwards
near the end of the extract; do not use it for new models.

``followup_end`` missing for a case means the extract's last event date (the data
contract's default).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Callable, Sequence
from numbers import Integral
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import clone

from riskscore._dates import DEFAULT_GRID, NAT_DAY, days_to_ns, to_days
from riskscore._dispatch import backend, is_dask
from riskscore._numerics import MAX_BOOT
from riskscore._parallel import ThreadFlag
from riskscore._params import (
    COUNT,
    NON_NEGATIVE_REAL,
    POSITIVE_INT,
    POSITIVE_REAL,
    WINDOW_DAYS,
    Interval,
    StrOptions,
    called_as,
    called_within,
    caller,
    validate_params,
)
from riskscore.coverage import coverage_table
from riskscore.disclosure import (
    SYNTHETIC_LINE,
    apply_disclosure,
    describe_settings,
    is_synthetic,
    mark_synthetic,
    mark_undisclosed,
    settings_for,
    synthetic_note,
)
from riskscore.errors import LeakageError, ParameterError, SchemaError
from riskscore.evaluation import EvaluationResult, evaluate
from riskscore.fairness import warn_few_replicates
from riskscore.features import as_of_grid, encode_features
from riskscore.logistic import LogisticRiskModel
from riskscore.schema import (
    allowed_columns,
    declare_valid,
    ensure_cases,
    ensure_events,
    stamp_allowed,
)
from riskscore.scorecard import AUDIT_ONLY_NOTICE
from riskscore.vocabulary import FEATURES, FEATURES_V1

__all__ = [
    "TrainingSet",
    "make_training_set",
    "check_point_in_time",
    "train_model",
    "build_synthetic_model",
    "SYNTHETIC_MODELS",
    "EXCLUSION_REASONS",
    "partition_sets",
    "no_rows_left",
]

#: Reasons a row or case is left out of a training set, in table order. A table
#: lists the reasons its options can give: ``horizon not fully observed`` under
#: ``censoring="complete"`` or ``horizon runs past followup_end`` under
#: ``"keep_positives"``, and the look-back reason only when ``min_history > 0``.
EXCLUSION_REASONS = (
    "as_of on or after outcome",
    "horizon not fully observed",
    "horizon runs past followup_end",
    "history shorter than min_history",
    "case has no events",
    "case not in cases table",
)


_partial = ThreadFlag()


@contextlib.contextmanager
def partition_sets():
    """Within this block, on this thread, :func:`make_training_set` may return no rows.

    For one partition of a Dask training set (``riskscore.scale``): a partition whose
    rows are all excluded is no error, and the joined set is checked once, with
    :func:`no_rows_left`.

    Examples
    --------
    >>> with partition_sets():
    ...     pass
    """
    with _partial.on():
        yield


def no_rows_left(
    excluded: pd.DataFrame, n_grid_rows: int, grid, *, who: str = "make_training_set"
) -> SchemaError:
    """The error for a training set with no row left: how many rows each reason took.

    Parameters
    ----------
    excluded : DataFrame
        ``reason, n_rows, n_cases``: the exclusions (``TrainingSet.excluded``).
    n_grid_rows : int
        The (case, as-of date) pairs before the exclusions.
    grid : str or int
        The as-of grid's step, for the message when the grid itself is empty.
    who : str, default="make_training_set"
        The function the user called, which the message names.

    Returns
    -------
    SchemaError

    Examples
    --------
    >>> t = pd.DataFrame({"reason": ["as_of on or after outcome"], "n_rows": [3], "n_cases": [1]})
    >>> str(no_rows_left(t, 3, "14D")).split(" (")[0]
    'make_training_set: no row is left to train on'
    """
    pairs = zip(excluded["reason"], excluded["n_rows"], strict=True)
    parts = [f"{r}: {int(k):,} rows" for r, k in pairs if k]
    where = "within start and end" if who == "make_training_set" else "of the cohort"
    why = "; ".join(parts) or f"no (case, date) pair on the {grid} grid {where}"
    return SchemaError(
        f"{who}: no row is left to train on ({n_grid_rows:,} grid rows; {why}). "
        f"Fix: {_NO_ROWS_FIX.get(who, _NO_ROWS_FIX['train_model'])}."
    )


#: the advice of :func:`no_rows_left`, in the options of the function the user called
_NO_ROWS_FIX = {
    "make_training_set": "check start and end against the events' dates, lower "
    "min_history, use a shorter horizon, or censoring='keep_positives'",
    "train_model": "lower min_history, use a shorter horizon, or censoring='keep_positives'",
    "build_synthetic_model": "use more n_cases (the synthetic cohort left no child "
    "with a labelled row)",
}


#: The longest finite feature window (days): the default ``min_history``.
LONGEST_WINDOW_DAYS = 365

CENSORING_RULES = ("complete", "keep_positives")


class TrainingSet(NamedTuple):
    """Features, labels and case ids for training and validation.

    Attributes
    ----------
    X : DataFrame
        One row per (case, as-of date): the catalogue features (float64, NaN =
        unknown), on a RangeIndex.
    y : ndarray of int
        1 when the outcome falls within the horizon after the as-of date.
    case_ids : ndarray
        The ``case_id`` of every row (for grouped splits and case bootstraps).
    as_of : Series
        The as-of date of every row.
    excluded : DataFrame
        ``reason, n_rows, n_cases``: what was left out and why (exact counts,
        stamped as not disclosure-controlled; pass through
        :func:`riskscore.disclose` before release).
    info : dict
        How the set was built: grid, horizon, start, recent_window, features.
    """

    X: pd.DataFrame
    y: np.ndarray
    case_ids: np.ndarray
    as_of: pd.Series
    excluded: pd.DataFrame | None = None
    info: dict | None = None


@validate_params(
    {
        "grid": ["grid"],
        "horizon": [POSITIVE_INT],
        "start": ["date", None],
        "end": ["date", None],
        "recent_window": [WINDOW_DAYS],
        "synthetic": ["boolean", None],
        "censoring": [StrOptions("complete", "keep_positives")],
        "min_history": [COUNT, None],
    }
)
def make_training_set(
    events: pd.DataFrame,
    cases: pd.DataFrame,
    grid: str | int = DEFAULT_GRID,
    horizon: int = 365,
    *,
    start=None,
    end=None,
    recent_window: int = 90,
    features: Sequence[str] | None = None,
    synthetic: bool | None = None,
    censoring: str = "complete",
    min_history: int | None = None,
    coverage: Any = None,
) -> TrainingSet:
    """Build a training set: as-of grid, point-in-time features, horizon labels, exclusions.

    Parameters
    ----------
    events : DataFrame
        Events in the data contract.
    cases : DataFrame
        ``case_id`` and optional ``outcome``, ``outcome_date``, ``followup_end``.
    grid : str or int, default="14D"
        Step between as-of dates per case (see :func:`riskscore.as_of_grid`).
    horizon : int, default=365
        Days after T in which an outcome makes the label 1.
    start, end : date, optional
        Clip every grid to this span.
    recent_window : int, default=90
        Recent attendance window of the encoder.
    features : sequence of str, optional
        Catalogue features to keep in ``X`` (default: all).
    synthetic : bool, optional
        Mark the set as synthetic (every output made from it then says so, and
        reports warn that synthetic precision flatters). Default: whether
        ``events`` or ``cases`` carry the synthetic mark that
        :func:`riskscore.synthetic.make_cohort` and :func:`riskscore.synthetic.vignette`
        put on their frames (:func:`riskscore.disclosure.is_synthetic`).
    censoring : {"complete", "keep_positives"}, default="complete"
        ``"complete"``: label a row only when its whole horizon was observed, or
        when the outcome ended follow-up inside it (see the module notes).
        ``"keep_positives"``: the first release's rule, biased; only for
        rebuilding ``synthetic-logistic-v1``.
    min_history : int, optional
        Days of observation a row needs up to and including T (``T - start + 1``);
        default the longest feature window, 365 days, so that no 12-month window
        reaches before the case's observation start. 0 keeps every row.
    coverage : DataFrame, AdapterResult or sequence of them, optional
        Coverage tables (``agency, from, to`` [, ``case_id``]): features of agencies
        without coverage on T are missing (see :func:`riskscore.apply_coverage`),
        and a case's observation start is the earliest start of the coverage that
        applies to it rather than its first record.

    Returns
    -------
    TrainingSet
        ``(X, y, case_ids, as_of, excluded, info)``; see the module notes for the
        labelling and exclusion rules.

    Raises
    ------
    SchemaError
        Events or cases that break the data contract (with the message
        :func:`riskscore.validate_events` / ``validate_cases`` give: unknown codes,
        duplicate case ids, outcomes outside the vocabulary, an ``outcome`` without
        an ``outcome_date``, missing or non-ISO dates), no events, unknown
        feature names, or no row left once the exclusions are applied (the message
        says how many rows each exclusion took).
    ParameterError
        ``start`` after ``end``, or an empty ``features`` list.

    Notes
    -----
    Messages that name a function name the one the user called:
    ``make_training_set``, or :func:`train_model` (or :func:`build_synthetic_model`)
    when the training set is theirs.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore.training import make_training_set
    >>> ev = pd.DataFrame({"case_id": ["a", "a", "b"], "agency": ["school"] * 3,
    ...     "event": ["school_concern"] * 3,
    ...     "date": pd.to_datetime(["2101-01-01", "2101-06-01", "2101-01-01"])})
    >>> cs = pd.DataFrame({"case_id": ["a", "b"], "outcome": ["death", None],
    ...     "outcome_date": pd.to_datetime(["2102-08-01", None]),
    ...     "followup_end": pd.to_datetime(["2102-08-01", "2104-01-01"])})
    >>> ts = make_training_set(ev, cs, grid="90D", horizon=365)
    >>> ts.y.tolist()  # a: the death ends follow-up inside the horizon: known 1s
    [1, 1, 0, 0, 0, 0]
    >>> ts.excluded.set_index("reason")["n_rows"].tolist()
    [0, 4, 10, 0, 0]
    """
    if is_dask(events, cases):
        # the same code per partition of cases (registered by riskscore.scale)
        return backend("make_training_set")(
            events,
            cases,
            grid,
            horizon,
            start=start,
            end=end,
            recent_window=recent_window,
            features=features,
            synthetic=synthetic,
            censoring=censoring,
            min_history=min_history,
            coverage=coverage,
        )
    # called by train_model or build_synthetic_model: its errors name that function
    who = caller("make_training_set")
    if not isinstance(horizon, (int, np.integer)) or isinstance(horizon, bool) or horizon < 1:
        raise ParameterError(f"horizon must be a positive whole number of days, got {horizon!r}.")
    if censoring not in CENSORING_RULES:
        raise ParameterError(f"censoring must be one of {CENSORING_RULES}, got {censoring!r}.")
    if min_history is None:
        min_history = LONGEST_WINDOW_DAYS
    if (
        not isinstance(min_history, (int, np.integer))
        or isinstance(min_history, bool)
        or min_history < 0
    ):
        raise ParameterError(
            f"min_history must be a whole number of days (0 or more), got {min_history!r}."
        )
    # the contract at the door: unknown codes, duplicate cases, outcomes outside the
    # vocabulary, missing or non-ISO dates are refused with validate_*'s own message
    events = ensure_events(events)
    cases = ensure_cases(cases)
    if len(events) == 0:
        raise SchemaError(
            "events: the table has no rows; a training set needs events (check the extract)."
        )
    if isinstance(features, str):
        features = [features]  # one feature by name, not its letters
    if features is not None and not isinstance(features, (Sequence, pd.Index, np.ndarray)):
        raise ParameterError(
            f"{who}: features must be a list of catalogue feature names (e.g. "
            f"['attendance_recent']) or None for all; got {type(features).__name__}."
        )
    if features is not None:
        unknown = [f for f in features if f not in FEATURES]
        if unknown:
            raise SchemaError(
                f"features: unknown feature {unknown[0]!r}; known: {', '.join(FEATURES)}."
            )
        if not len(features):
            raise ParameterError(
                "features: name at least one feature (or leave it None for all of them)."
            )
    case_ids = cases["case_id"].astype(str)
    n = len(cases)
    big = NAT_DAY
    outcome_day = (
        to_days(cases["outcome_date"], "outcome_date", "cases")
        if "outcome_date" in cases.columns
        else np.full(n, big)
    )
    ev_day = to_days(events["date"], "date", "events")
    known_days = ev_day[ev_day != big]
    extract_end = int(known_days.max()) if len(known_days) else 0
    follow = (
        to_days(cases["followup_end"], "followup_end", "cases")
        if "followup_end" in cases.columns
        else np.full(n, big)
    )
    follow = np.where(follow == big, extract_end, follow)
    # the extract's end: the last date any child's records could reach
    extract_end = max(extract_end, int(follow.max()) if n else extract_end)

    # The grid runs to follow-up (not to the outcome) so that as-of dates after an
    # outcome are counted as exclusions rather than never generated.
    grid_cases = pd.DataFrame(
        {
            "case_id": pd.Series(case_ids.to_numpy(), dtype="str"),
            "followup_end": follow.astype("datetime64[D]").astype("datetime64[ns]"),
        }
    )
    # made from checked cases: it keeps the contract (checked cheaply, not again in full)
    declare_valid(grid_cases, "cases")
    g = as_of_grid(events, grid, cases=grid_cases, start=start, end=end)
    pos = pd.Index(case_ids.to_numpy()).get_indexer(g["case_id"].astype(str))
    t = to_days(g["as_of"], "as_of", "grid")
    out_d = outcome_day[pos]
    fu = follow[pos]
    has = out_d != big
    after_outcome = has & (t >= out_d)
    positive = has & (out_d > t) & (out_d <= t + horizon)
    complete = t + horizon <= fu
    if censoring == "complete":
        # An outcome that ended follow-up (a death) inside the horizon is a known 1,
        # provided the extract would have covered the horizon had it not happened:
        # otherwise the last year of an extract would keep its deaths and nothing else.
        labelled = complete | (positive & (out_d == fu) & (t + horizon <= extract_end))
        censor_reason = "horizon not fully observed"
    else:
        labelled = complete | positive
        censor_reason = "horizon runs past followup_end"
    censored = ~after_outcome & ~labelled
    short = np.zeros(len(t), dtype=bool)
    if min_history > 0:
        observed_from = _observation_start(events, case_ids, coverage)[pos]
        short = ~after_outcome & ~censored & (t - observed_from + 1 < min_history)
    keep = ~after_outcome & ~censored & ~short

    ev_ids = pd.Index(pd.unique(events["case_id"].astype(str)))
    no_events = ~case_ids.isin(ev_ids).to_numpy()
    not_listed = ~ev_ids.isin(case_ids)

    def n_cases(mask):
        return int(pd.unique(pos[mask]).size)

    rows = [
        ("as_of on or after outcome", int(after_outcome.sum()), n_cases(after_outcome)),
        (censor_reason, int(censored.sum()), n_cases(censored)),
    ]
    if min_history > 0:
        rows.append(("history shorter than min_history", int(short.sum()), n_cases(short)))
    rows += [
        ("case has no events", 0, int(no_events.sum())),
        ("case not in cases table", 0, int(not_listed.sum())),
    ]
    excluded = pd.DataFrame(rows, columns=["reason", "n_rows", "n_cases"])
    excluded["n_rows"] = excluded["n_rows"].astype(np.int64)
    excluded["n_cases"] = excluded["n_cases"].astype(np.int64)
    excluded = mark_undisclosed(excluded, reason="exact exclusion counts; disclose before release")

    if not keep.any() and not _partial:
        raise no_rows_left(excluded, len(t), grid, who=who)
    q = g.loc[keep].reset_index(drop=True)
    X = encode_features(events, q, recent_window=recent_window, coverage=coverage)
    names = list(FEATURES) if features is None else [f for f in FEATURES if f in features]
    if synthetic is None:
        # the mark make_cohort and vignette put on their frames (kept by copies)
        synthetic = is_synthetic(events, cases)
    info = {
        "grid": grid if isinstance(grid, str) else f"{int(grid)}D",
        "horizon": int(horizon),
        "start": None if start is None else str(pd.Timestamp(start).date()),
        "end": None if end is None else str(pd.Timestamp(end).date()),
        "recent_window": int(recent_window),
        "features": names,
        "synthetic": synthetic,
        "label": f"outcome within (T, T + {int(horizon)} days]",
        "censoring": censoring,
        "min_history": int(min_history),
        "coverage": coverage is not None,
    }
    allowed = allowed_columns(events, cases)
    if allowed:
        # columns let past the identifying-data guard, with the reasons, for provenance
        info["allowed"] = allowed
    # the features keep the reasons too (an integer-points card made from them)
    X = stamp_allowed(X[names].reset_index(drop=True), allowed)
    if synthetic:
        note = synthetic_note(events, cases) or SYNTHETIC_LINE
        mark_synthetic(X, excluded, note=note)
    return TrainingSet(
        X=X,
        y=positive[keep].astype(np.int64),
        case_ids=q["case_id"].astype(str).to_numpy(dtype=object),
        as_of=q["as_of"],
        excluded=excluded,
        info=info,
    )


def _observation_start(events: pd.DataFrame, case_ids: pd.Series, coverage) -> np.ndarray:
    """Day each case's observation starts: earliest coverage start, else first record."""
    big = NAT_DAY
    day = to_days(events["date"], "date", "events")
    ids = events["case_id"].astype(str).to_numpy()
    ok = day != big
    first = pd.Series(day[ok]).groupby(ids[ok]).min()
    start = first.reindex(case_ids.to_numpy()).to_numpy(dtype=np.float64)
    if coverage is not None:
        one = (
            isinstance(coverage, pd.DataFrame)
            or hasattr(coverage, "coverage")
            or not isinstance(coverage, (list, tuple))
            or (len(coverage) > 0 and isinstance(coverage[0], (tuple, list)))
        )
        # one table (frame, adapter result, or rows of tuples), or a sequence of tables
        cov = coverage_table(coverage) if one else coverage_table(*coverage)
        cov_from = to_days(cov["from"], "from", "coverage")
        if "case_id" in cov.columns:
            own = cov["case_id"].notna().to_numpy()
        else:
            own = np.zeros(len(cov), dtype=bool)
        glob = cov_from[~own].min() if (~own).any() else np.inf
        per_case = np.full(len(case_ids), float(glob))
        if own.any():
            owner = cov["case_id"][own].astype(str).to_numpy()
            mins = pd.Series(cov_from[own]).groupby(owner).min()
            theirs = mins.reindex(case_ids.to_numpy()).to_numpy(dtype=np.float64)
            per_case = np.fmin(per_case, theirs)
        # a case no coverage row applies to keeps its first record as the start
        start = np.where(np.isfinite(per_case), per_case, start)
    # cases without events never reach the grid; any value will do for them
    return np.nan_to_num(start, nan=0.0).astype(np.int64)


# --------------------------------------------------------------------------- leakage


def _encoded(out, asked: pd.DataFrame) -> pd.DataFrame:
    """An encoder's table for ``asked``, one row per pair in the pairs' order.

    A table that names its rows (``case_id`` and ``as_of`` columns) is put in the
    pairs' order by them, so an encoder may return its rows in any order; one that
    does not is taken in order, and must have one row per pair.
    """
    if not isinstance(out, pd.DataFrame):
        raise ParameterError(
            f"check_point_in_time: the encoder returned {type(out).__name__}, not a feature "
            "table (a DataFrame with one row per (case_id, as_of) pair)."
        )
    if len(out) != len(asked):
        raise ParameterError(
            f"check_point_in_time: the encoder returned {len(out)} rows for {len(asked)} "
            "(case_id, as_of) pairs; it must return one row per pair."
        )
    out = out.reset_index(drop=True)
    text = [
        c
        for c in out.columns
        if c not in ("case_id", "as_of")
        and not (pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_bool_dtype(out[c]))
        and pd.to_numeric(out[c], errors="coerce").isna().gt(out[c].isna()).any()
    ]
    if text:
        raise ParameterError(
            f"check_point_in_time: the encoder returned column(s) {text[:5]} that are not "
            "numbers; a feature table holds numbers (NaN for unknown) besides case_id and "
            "as_of. Fix: encode those features as numbers."
        )
    keys = ["case_id", "as_of"]
    if all(k in out.columns for k in keys) and not asked[keys].duplicated().any():
        where = pd.MultiIndex.from_frame(out[keys].astype({"case_id": str})).get_indexer(
            pd.MultiIndex.from_frame(asked[keys].astype({"case_id": str}))
        )
        if (where >= 0).all():
            out = out.iloc[where].reset_index(drop=True)
    return out


@validate_params(
    {
        "encoder": ["callable"],
        "max_dates": [POSITIVE_INT, None],
        "random_state": ["random_state"],
        "atol": [NON_NEGATIVE_REAL],
    }
)
def check_point_in_time(
    encoder: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame],
    events: pd.DataFrame,
    as_of: pd.DataFrame,
    *,
    max_dates: int | None = 12,
    random_state: int | None = 0,
    atol: float = 0.0,
) -> None:
    """Check that a feature encoder sees nothing after T; raise :class:`LeakageError` if it does.

    For each checked as-of date T, the encoder is run again on the events known by T
    only (``date <= T`` and, where given, ``recorded_date <= T``), and its output
    for the rows at T must equal the output computed from all events. A feature
    that peeks past T changes when the future is removed.

    Parameters
    ----------
    encoder : callable
        ``encoder(events, as_of) -> DataFrame`` with one row per ``as_of`` row,
        like :func:`riskscore.encode_features`.
    events : DataFrame
        Events in the data contract.
    as_of : DataFrame
        ``case_id`` and ``as_of``.
    max_dates : int or None, default=12
        Check at most this many distinct as-of dates (drawn at random); None: all.
    random_state : int or None, default=0
        Seed for choosing the dates.
    atol : float, default=0.0
        Allowed absolute difference.

    Raises
    ------
    LeakageError
        Naming the features that changed and the first rows affected.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore import encode_features
    >>> from riskscore.training import check_point_in_time
    >>> ev = pd.DataFrame({"case_id": ["a", "a"], "agency": ["police"] * 2,
    ...     "event": ["police_incident_home"] * 2,
    ...     "date": pd.to_datetime(["2101-01-05", "2101-03-01"])})
    >>> q = pd.DataFrame({"case_id": ["a"], "as_of": pd.to_datetime(["2101-02-01"])})
    >>> check_point_in_time(encode_features, ev, q)
    """
    if not isinstance(as_of, pd.DataFrame):
        raise ParameterError(
            f"check_point_in_time: as_of must be a DataFrame of case_id and as_of (the "
            f"pairs to encode); got {type(as_of).__name__}."
        )
    events = ensure_events(events)
    q = as_of.reset_index(drop=True)
    full = _encoded(encoder(events, q), q)
    t = pd.Series(days_to_ns(to_days(q["as_of"], "as_of", "as_of")))  # the one date rule
    dates = np.sort(pd.unique(t))
    if max_dates is not None and len(dates) > max_dates:
        dates = np.sort(np.random.default_rng(random_state).choice(dates, max_dates, replace=False))
    ev_date = events["date"].to_numpy()  # typed by the contract check
    rec = events["recorded_date"].to_numpy() if "recorded_date" in events.columns else None
    cols = [c for c in full.columns if c not in ("case_id", "as_of")]
    problems: dict[str, list[int]] = {}
    # one re-encoding per distinct date (a handful), each vectorised over its rows
    for d in dates:
        known = ev_date <= d
        if rec is not None:
            known &= np.isnat(rec) | (rec <= d)
        rows = np.flatnonzero((t == d).to_numpy())
        asked = q.iloc[rows].reset_index(drop=True)
        again = _encoded(encoder(events.loc[known], asked), asked)
        a = full.loc[rows, cols].to_numpy(dtype=np.float64)
        b = again[cols].to_numpy(dtype=np.float64)
        diff = ~((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= atol))
        for j in np.flatnonzero(diff.any(axis=0)):
            problems.setdefault(cols[j], []).extend(rows[diff[:, j]][:5].tolist())
    if problems:
        names = sorted(problems, key=list(cols).index)
        first = {k: sorted(problems[k])[:5] for k in names[:3]}
        raise LeakageError(
            f"point-in-time check failed: feature(s) {names} change when events after the "
            f"as-of date are removed (first rows: {first}). The encoder looks past T; "
            "compute every feature from events with date <= T (and recorded_date <= T) only."
        )


# --------------------------------------------------------------------------- training


def _model_card(
    model: LogisticRiskModel,
    ts: TrainingSet,
    result: EvaluationResult,
    *,
    source: str,
    disclosure: Any,
    synthetic: bool,
    created: str | None,
) -> dict:
    td = model.training_data_
    counts = apply_disclosure(
        pd.DataFrame(
            {"n_rows": [td["n_rows"]], "n_events": [td["n_events"]], "n_cases": [td["n_cases"]]}
        ),
        disclosure,
        count_columns=["n_rows", "n_events", "n_cases"],
        total_columns=[("n_rows", ["n_events"])],
    )
    excl = apply_disclosure(
        ts.excluded.reset_index(drop=True), disclosure, count_columns=["n_rows", "n_cases"]
    )
    entries = result.model_card_entries()
    info = ts.info or {}
    card = {
        "intended_use": AUDIT_ONLY_NOTICE
        + " For retrospective audit, learning and research on anonymised data; not for "
        "decisions about individual children or families (UK GDPR article 22). Any use on "
        "real records needs a data protection impact assessment.",
        "source_of_data": source,
        "outcome": {
            "definition": info.get("label"),
            "horizon_days": info.get("horizon"),
            "as_of_grid": info.get("grid"),
        },
        "predictors": {
            "features": list(model.feature_names_in_),
            "missing_indicators": {k: list(v) for k, v in model.indicator_groups_.items()},
            "definition": "riskscore point-in-time feature catalogue (riskscore.FEATURES), "
            f"recent attendance window {info.get('recent_window')} days",
        },
        "sample": {
            **{k: (None if pd.isna(v) else int(v)) for k, v in counts.iloc[0].items()},
            "exclusions": _plain_records(excl),
            "disclosure": describe_settings(settings_for(disclosure)),
        },
        "missing_data": "Missing feature values (e.g. no attendance records) are imputed at the "
        "training mean with a missing indicator; no rows are dropped for missing features.",
        "model": {
            "kind": "logistic regression (LogisticRiskModel)",
            "parameters": {
                k: v for k, v in model.get_params().items() if k in ("penalty", "C", "class_weight")
            },
            "calibration_after_weighting": model.calibration_,
        },
        "validation": entries["validation"],
        "metrics": entries["metrics"],
        "calibration": entries["calibration"],
        "alerts": entries["alerts"],
        "subgroups": entries.get("subgroups"),
        "subgroup_note": "Metrics by sex, ethnic group and deprivation (IMD quintile); "
        "indicators linked to poverty can make a score track deprivation.",
        "limitations": [
            "Associations, not causes; trained on one population and period.",
            "Labels on person-time rows: several as-of dates per child; intervals resample "
            "children.",
            "Recording practice differs between agencies and areas; missing records are not "
            "absence of risk.",
            "Performance outside the training population is unknown until validated there.",
            *(entries.get("notes") or []),
        ],
        "reporting_guideline": "TRIPOD+AI items: source of data, outcome, predictors, sample "
        "size, missing data, model, validation, performance, intended use, limitations.",
        "created": created or _dt.date.today().isoformat(),
    }
    if info.get("allowed"):
        # columns let past the identifying-data guard, and why (provenance)
        card["allowed_past_identifying_data_guard"] = dict(info["allowed"])
    if synthetic:
        card["intended_use"] = (
            "SYNTHETIC DEMONSTRATION ONLY: fitted on invented data from riskscore.synthetic; "
            "says nothing about real children. " + card["intended_use"]
        )
    return card


def _plain_records(table: pd.DataFrame) -> list[dict]:
    out = []
    for rec in table.astype(object).to_dict("records"):
        out.append(
            {
                k: (
                    None
                    if v is None or (not isinstance(v, str) and pd.isna(v))
                    else (int(v) if isinstance(v, (int, np.integer)) else v)
                )
                for k, v in rec.items()
            }
        )
    return out


@validate_params(
    {
        "penalty": [StrOptions("l2", "l1"), None],
        "C": [POSITIVE_REAL],
        "class_weight": [StrOptions("balanced"), dict, None],
        "grid": ["grid"],
        "horizon": [POSITIVE_INT],
        "recent_window": [WINDOW_DAYS],
        "n_boot": [Interval(Integral, 0, MAX_BOOT)],
        "subgroups": ["boolean"],
        "disclosure": ["disclosure"],
        "source": [str, None],
        "name": [str, None],
        "created": ["date", None],
        "random_state": ["random_state"],
        "progress": ["boolean", None],
        "estimator": [LogisticRiskModel, None],
        "censoring": [StrOptions("complete", "keep_positives")],
        "min_history": [COUNT, None],
    }
)
def train_model(
    events: pd.DataFrame,
    cases: pd.DataFrame,
    *,
    penalty: str | None = None,
    C: float = 1.0,
    class_weight=None,
    features: Sequence[str] | None = None,
    grid: str | int = DEFAULT_GRID,
    horizon: int = 365,
    recent_window: int = 90,
    cv: int | str | Any = 5,
    n_boot: int = 200,
    subgroups: bool = True,
    disclosure: Any = True,
    source: str | None = None,
    name: str | None = None,
    created: str | None = None,
    random_state: int | None = 0,
    progress: bool | None = None,
    censoring: str = "complete",
    min_history: int | None = None,
    coverage: Any = None,
    estimator: LogisticRiskModel | None = None,
) -> tuple[LogisticRiskModel, EvaluationResult]:
    """Fit a logistic model on a cohort, validate it, and fill its model card.

    The model is fitted on the whole training set; its performance is estimated by
    cross-validating the same fitting procedure (``cv``) with case-bootstrap
    intervals, and the model card (TRIPOD+AI items) is filled from that
    evaluation. Save it with
    ``riskscore.save_model(model, path, model_card=model.model_card_)``.

    Errors of the training set and of the evaluation name ``train_model`` (or
    :func:`build_synthetic_model` when it calls this), the function the user called.

    Parameters
    ----------
    events, cases : DataFrame
        The cohort (data contract).
    penalty, C, class_weight
        Passed to :class:`~riskscore.LogisticRiskModel` (when ``model`` is not given).
    features : sequence of str, optional
        Catalogue features to use (default: all).
    grid, horizon, recent_window, censoring, min_history, coverage
        Passed to :func:`make_training_set` (labelled only where the whole horizon
        was observed, and with a full year of history, by default).
    cv : int, "temporal" or splitter, default=5
        Validation design (see :func:`riskscore.evaluate`).
    n_boot : int, default=200
        Case-bootstrap replicates (at most 100,000).
        From 1 to 19 the intervals are unstable: allowed, but warned of with a
        :class:`UserWarning` (see :func:`riskscore.evaluate`).
    subgroups : bool, default=True
        Audit by sex, ethnic group and deprivation quintile (columns present in
        ``cases``).
    disclosure : bool or settings, default=True
        Disclosure control of the tables and of the counts in the model card.
    source : str, optional
        Description of the data for the model card.
    name : str, optional
        Model name (kept in the model file).
    created : str, optional
        ISO date for the card (default today).
    random_state : int or None, default=0
        Seed for folds, bootstrap and the model.
    progress : bool, optional
        Progress bars.
    estimator : LogisticRiskModel, optional
        An unfitted model to use as it is configured (then ``penalty``, ``C`` and
        ``class_weight`` are not used); default
        ``LogisticRiskModel(penalty, C, class_weight, random_state=random_state)``.

    Returns
    -------
    model : LogisticRiskModel
        Fitted, with ``model_card_`` (dict) and ``name_`` set.
    evaluation : EvaluationResult

    Examples
    --------
    >>> from riskscore.synthetic import make_cohort
    >>> from riskscore.training import train_model
    >>> events, cases = make_cohort(800, random_state=5)
    >>> model, ev = train_model(events, cases, penalty="l2", cv=3, n_boot=20)
    >>> model.model_card_["outcome"]["horizon_days"]
    365
    """
    # called by build_synthetic_model: errors name it, and it has warned already
    who = caller("train_model")
    if not called_within():
        warn_few_replicates(n_boot, who)
    if created is not None:
        created = pd.Timestamp(created).date().isoformat()  # the card holds ISO text
    with called_as(who):
        ts = make_training_set(
            events,
            cases,
            grid=grid,
            horizon=horizon,
            recent_window=recent_window,
            features=features,
            censoring=censoring,
            min_history=min_history,
            coverage=coverage,
        )
    if np.unique(ts.y).size < 2:
        fix = (
            "Fix: a larger n_cases (more children, so some have the outcome)."
            if who == "build_synthetic_model"
            else "Fix: check outcome_date, followup_end and the horizon."
        )
        raise SchemaError(
            f"{who}: every training row has the same label (no outcomes within the "
            f"horizon, or all). {fix}"
        )
    model = (
        LogisticRiskModel(
            penalty=penalty, C=C, class_weight=class_weight, random_state=random_state
        )
        if estimator is None
        else clone(estimator)
    )
    sub = cases if subgroups else None
    if sub is not None and not any(
        c in cases.columns for c in ("sex", "ethnic_group", "imd_quintile")
    ):
        sub = None
    with called_as(who):
        result = evaluate(
            model,
            ts,
            cv=cv,
            n_boot=n_boot,
            cases=sub,
            disclosure=disclosure,
            random_state=random_state,
            progress=progress,
        )
    model = clone(model)
    model.fit(ts.X, ts.y, case_ids=ts.case_ids)
    synthetic = bool((ts.info or {}).get("synthetic"))
    if source is None:
        source = (
            "Synthetic cohort from riskscore.synthetic.make_cohort (invented data)."
            if synthetic
            else "Anonymised multi-agency event extract (describe the source here)."
        )
    model.model_card_ = _model_card(
        model,
        ts,
        result,
        source=source,
        disclosure=disclosure,
        synthetic=synthetic,
        created=created,
    )
    model.name_ = name
    return model, result


#: Shipped synthetic models: name -> (make_cohort generator, features, created date,
#: the estimator's random_state). Each recipe is pinned so that
#: ``riskscore build-synthetic-model --name NAME`` rebuilds ``models/NAME.json``
#: (texts exactly, numbers to the BLAS's last digits), whatever the defaults become.
#: The last entry says whether the model keeps the first release's recipe: positives
#: kept past follow-up, no look-back rule, penalty on raw (unstandardised) columns.
SYNTHETIC_MODELS: dict[str, tuple[int, tuple[str, ...], str, int | None, bool]] = {
    "synthetic-logistic-v1": (1, FEATURES_V1, "2026-11-25", None, True),
    "synthetic-logistic-v2": (2, tuple(FEATURES), "2026-11-29", 0, False),
}


@validate_params(
    {
        "path": ["path", None],
        "name": [StrOptions(*SYNTHETIC_MODELS)],
        "n_cases": [POSITIVE_INT],
        "random_state": [COUNT],
        "n_boot": [Interval(Integral, 0, MAX_BOOT)],
        "penalty": [StrOptions("l2", "l1"), None],
        "created": ["date", None],
        "progress": ["boolean"],
    }
)
def build_synthetic_model(
    path=None,
    *,
    name: str = "synthetic-logistic-v1",
    n_cases: int = 20_000,
    random_state: int = 2101,
    n_boot: int = 200,
    penalty: str | None = "l2",
    created: str | None = None,
    progress: bool = False,
):
    """Fit, validate and (optionally) write the shipped demonstration model.

    A :class:`~riskscore.LogisticRiskModel` (ridge, C=1) fitted on
    ``make_cohort(n_cases, random_state, generator=...)`` on a 90-day grid with a
    365-day horizon, validated by 5-fold case-grouped cross-validation. Deterministic
    for fixed arguments apart from the ``created`` date (pass one to pin it). The model
    card says synthetic, demonstration only.

    ``name`` picks a pinned recipe (:data:`SYNTHETIC_MODELS`):
    ``"synthetic-logistic-v1"`` is fitted on generator 1 cohorts and the first 18
    features (catalogue v1), ``"synthetic-logistic-v2"`` on generator 2 cohorts and
    the whole v2 catalogue (21 features).

    The recipe is the first release's, pinned explicitly so that the shipped file
    rebuilds byte for byte: ``censoring="keep_positives"``, ``min_history=0``
    (:func:`make_training_set`) and ``standardize=False`` (penalty on raw
    columns), model ``random_state=None``, the 18 features of
    :data:`riskscore.vocabulary.FEATURES_V1`. Its labels are biased near the end of
    the extract (see the module notes); new models should use the defaults.

    Parameters
    ----------
    path : path-like, optional
        Where to write the JSON model file (e.g. ``models/synthetic-logistic-v1.json``).
    name : {"synthetic-logistic-v1", "synthetic-logistic-v2"}
        Which shipped model's recipe to follow.
    n_cases, random_state
        The synthetic cohort.
    n_boot : int, default=200
        Bootstrap replicates for the intervals (at most 100,000). From 1 to 19 warned of,
        as by :func:`train_model`.
    penalty : {None, "l2", "l1"}, default="l2"
        Penalty of the logistic model (C=1). An unpenalised fit on the full
        catalogue meets a singular Hessian (scikit-learn warns and falls back to
        lbfgs); None keeps Wald intervals available if that is wanted.
    created : str, optional
        ISO date for the model card (default: today; the shipped files' dates are in
        :data:`SYNTHETIC_MODELS`).
    progress : bool, default=False
        Progress bars.

    Returns
    -------
    model : LogisticRiskModel
    evaluation : EvaluationResult

    Raises
    ------
    ParameterError
        ``name`` is not a shipped synthetic model.

    Examples
    --------
    >>> from riskscore.training import build_synthetic_model
    >>> model, ev = build_synthetic_model(n_cases=600, n_boot=20, penalty="l2")
    >>> model.model_card_["intended_use"].startswith("SYNTHETIC")
    True
    """
    from riskscore.modelfile import save_model
    from riskscore.synthetic import make_cohort

    if name not in SYNTHETIC_MODELS:
        raise ParameterError(
            f"build_synthetic_model: name must be one of {list(SYNTHETIC_MODELS)}, got {name!r}."
        )
    if not called_within():
        warn_few_replicates(n_boot, "build_synthetic_model")
    generator, features, _, seed, first_release = SYNTHETIC_MODELS[name]
    # the first release's labelling and raw-column penalty, where the recipe keeps them
    legacy = {"censoring": "keep_positives", "min_history": 0} if first_release else {}
    events, cases = make_cohort(
        n_cases, random_state=random_state, progress=progress, generator=generator
    )
    # v1's card names its cohort as it did before generators existed (generator 1)
    call = f"{n_cases}, random_state={random_state}" + (
        f", generator={generator}" if generator != 1 else ""
    )
    with called_as("build_synthetic_model"):
        model, result = train_model(
            events,
            cases,
            # the shipped file's recipe, pinned whatever the library defaults become
            estimator=LogisticRiskModel(
                penalty=penalty, standardize=not first_release, random_state=seed
            ),
            features=list(features),
            **legacy,
            grid="90D",
            horizon=365,
            cv=5,
            n_boot=n_boot,
            name=name,
            source=f"Synthetic cohort: riskscore.synthetic.make_cohort({call}); invented "
            "data, demonstration only.",
            created=created,
            random_state=0,
            progress=progress,
        )
    if path is not None:
        save_model(model, path, model_card=model.model_card_)
    return model, result
