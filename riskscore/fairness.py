"""Subgroup (fairness) audit of risk predictions, with case-bootstrap intervals.

:func:`subgroup_metrics` reports, by ``sex``, ``ethnic_group``, ``imd_quintile`` or
any column: selection (alert) rate, true and false positive rates, PPV, AUROC,
observed rate, mean predicted risk and the observed/expected ratio
(calibration-in-the-large by group), with differences and ratios to a reference
group. One vectorised estimator gives the estimates and every bootstrap replicate
(the test suite checks the estimates equal :class:`fairlearn.metrics.MetricFrame`'s,
the ecosystem's reference); it adds what MetricFrame lacks: percentile intervals
from resampling *cases* (the several rows of one child move together), and
disclosure control.

Disclosure: the counts of every group (rows, children, events, alerts, true and false
positives) are disclosed together, as one table whose ``All`` rows are its margins
and whose complements (false negatives, true negatives, rows not alerted) are
protected as unpublished counts; each metric row then carries the counts it rests
on (``n`` and ``n_cases`` of the group, and the metric's own ``numerator`` and
``denominator``) as published. Rates (selection rate, TPR, FPR, PPV, observed rate)
are computed from the published counts; AUROC, mean predicted risk and the
observed/expected ratio are shown only where every cell they rest on reaches the
threshold; intervals, differences and ratios only where every cell of the group
(and of the reference group) does. The mean predicted risk is published as
:func:`riskscore.evaluate` publishes it: the group's expected count (the sum of its
predictions), rounded like a count, over its published rows, since exact it would
give that sum back (equal to the observed count on the rows of a maximum-likelihood
fit); the observed/expected ratio is the published observed rate over it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from riskscore._evaluation_tables import expected_rate
from riskscore._numerics import (
    MAX_BOOT,
    Ranker,
    alert_threshold,
    case_codes,
    percentile_interval,
    replicate_weights,
)
from riskscore._params import (
    UNIT_CLOSED,
    UNIT_OPEN,
    Interval,
    called_within,
    caller,
    validate_params,
)
from riskscore.disclosure import (
    disclose,
    disclose_tables,
    key_findings,
    mark_synthetic,
    mark_undisclosed,
    names_case_ids,
    settings_for,
    suppress_statistics,
    synthetic_note,
)
from riskscore.errors import DisclosureError, ParameterError, SchemaError, warn_user
from riskscore.schema import ALLOWED, allowed_columns

__all__ = ["subgroup_metrics", "SUBGROUP_METRICS"]

#: Fewer bootstrap replicates than this (but more than none) give percentile intervals
#: whose ends are the most extreme replicates or near them: the Python API warns (the
#: command line refuses them). Tests and examples use fewer for speed.
MIN_STABLE_BOOT = 20


def warn_few_replicates(n_boot: int, who: str) -> None:
    """Warn (a plain :class:`UserWarning`) when ``0 < n_boot < MIN_STABLE_BOOT``.

    Called by the function the user called, naming it (``who``); the public
    functions it calls in turn skip the warning (see
    :func:`riskscore._params.called_within`), so it is given once.
    """
    if 0 < n_boot < MIN_STABLE_BOOT:
        warn_user(
            f"{who}: n_boot={n_boot} bootstrap replicates give unstable percentile "
            f"intervals (their ends are the most extreme replicates or near them); use "
            f"n_boot of at least {MIN_STABLE_BOOT} (200 or more for figures to publish), "
            "or n_boot=0 for no intervals."
        )


#: Metric -> (label, numerator count, denominator count) used for disclosure control.
SUBGROUP_METRICS: dict[str, tuple[str, str, str]] = {
    "selection_rate": ("Alert (selection) rate", "alerts", "n"),
    "tpr": ("True positive rate (sensitivity)", "true_positives", "events"),
    "fpr": ("False positive rate", "false_positives", "non_events"),
    "ppv": ("Positive predictive value", "true_positives", "alerts"),
    "auroc": ("AUROC", "events", "non_events"),
    "observed_rate": ("Observed outcome rate", "events", "n"),
    "mean_predicted": ("Mean predicted risk", "events", "n"),
    "oe_ratio": ("Observed / expected (1 is calibrated)", "events", "n"),
}

_MISSING_LABEL = "missing"


def _safe_div(a, b):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _stats(y, p, alert, w, gcode, n_groups, ranker):
    """Weighted counts and metrics for every group (vectorised; w = case-bootstrap weights)."""

    def s(v):
        return np.bincount(gcode, weights=v, minlength=n_groups)

    n = s(w)
    ev = s(w * y)
    al = s(w * alert)
    tp = s(w * y * alert)
    fp = al - tp
    ne = n - ev
    pred = s(w * p)
    wp, wn = ranker.sums(w, y)
    out = {
        "selection_rate": _safe_div(al, n),
        "tpr": _safe_div(tp, ev),
        "fpr": _safe_div(fp, ne),
        "ppv": _safe_div(tp, al),
        "auroc": ranker.auroc(wp, wn),
        "observed_rate": _safe_div(ev, n),
        "mean_predicted": _safe_div(pred, n),
        "oe_ratio": _safe_div(ev, pred),
    }
    counts = {
        "n": n,
        "events": ev,
        "non_events": ne,
        "alerts": al,
        "true_positives": tp,
        "false_positives": fp,
    }
    return out, counts


_STATISTIC_COLUMNS = (
    "estimate",
    "lower",
    "upper",
    "difference",
    "difference_lower",
    "difference_upper",
    "ratio",
    "ratio_lower",
    "ratio_upper",
)

# The cells of a group: every count its metrics rest on, with the complements (false
# negatives, true negatives, rows not alerted) protected as unpublished remainders.
_CELL_COLUMNS = [
    "n",
    "n_cases",
    "events",
    "non_events",
    "alerts",
    "true_positives",
    "false_positives",
]

# Metric -> the cells that must each reach min_count for an interval (and for a
# statistic that is not a rate: AUROC, mean predicted risk, observed/expected).
_MIN_CELLS = {
    "selection_rate": ("alerts", "not_alerted"),
    "tpr": ("true_positives", "false_negatives"),
    "fpr": ("false_positives", "true_negatives"),
    "ppv": ("true_positives", "false_positives"),
    "auroc": ("events", "non_events"),
    "observed_rate": ("events", "non_events"),
    "mean_predicted": ("n",),
    "oe_ratio": ("events", "non_events"),
}

# Metrics that are rates of two published counts (recomputed from them).
_RATES = {"selection_rate", "tpr", "fpr", "ppv", "observed_rate"}


def _cell_of(column: str, metric: str) -> str:
    if column in ("n", "n_cases"):
        return column
    _, num, den = SUBGROUP_METRICS[metric]
    return num if column == "numerator" else den


def _row_slots(blocks, metric_names):
    for _col, labels, off, _lab in blocks:
        for j in range(len(labels) + 1):
            for m in metric_names:
                yield off + j, m


def _disclosed_cells(
    slot_attr,
    slot_group,
    exact,
    settings,
    overall_published,
    kids,
    who="subgroup_metrics",
    allowed=None,
):
    """The group cells after disclosure control: published values, NaN where hidden.

    ``kids`` holds, per cell (and per complement: false negatives, true negatives,
    rows not alerted), how many distinct children its rows are of: a cell of rows
    from 1 to ``min_count - 1`` children is hidden however many rows it has, and so
    is the part of a total whose complement is of so few children. ``allowed``: the
    published keys let past the identifying-data guard (:func:`_key_allowances`).
    """
    cells = pd.DataFrame(
        {"attribute": slot_attr, "group": slot_group, **{c: exact[c] for c in _CELL_COLUMNS}}
    )
    if allowed and "group" in allowed:
        cells.attrs[ALLOWED] = {"group": allowed["group"]}
    overall = (cells["group"] == "All").to_numpy()
    hide = np.zeros((len(cells), len(_CELL_COLUMNS)), dtype=bool)

    def few(name: str) -> np.ndarray:
        k = kids[name]
        return (k < settings.min_count) & ((k > 0) | settings.suppress_zero)

    for j, c in enumerate(_CELL_COLUMNS):
        if c != "n_cases":
            hide[:, j] |= few(c)
    for total, part, complement in (
        ("events", "true_positives", "false_negatives"),
        ("non_events", "false_positives", "true_negatives"),
        ("n", "alerts", "not_alerted"),
    ):
        # the complement is the total minus the part: hide the part, or where the
        # part is 0 (the complement is the total itself) the total
        zero = exact[part] == 0
        hide[:, _CELL_COLUMNS.index(part)] |= few(complement) & ~zero
        hide[:, _CELL_COLUMNS.index(total)] |= few(complement) & zero
    keep = np.zeros_like(hide)
    for column, published in (overall_published or {}).items():
        if column not in _CELL_COLUMNS:
            raise ParameterError(
                f"{who}: overall_published names {column!r}, not one of {_CELL_COLUMNS}"
            )
        j = _CELL_COLUMNS.index(column)
        if published:
            keep[overall, j] = ~hide[overall, j]
        else:
            hide[overall, j] = True

    out = disclose_tables(
        {"cells": cells},
        {
            "cells": dict(
                count_columns=_CELL_COLUMNS,
                by=["attribute", "group"],
                total_columns=[
                    ("events", ["true_positives"]),
                    ("non_events", ["false_positives"]),
                    ("n", ["alerts"]),
                ],
                hide=hide,
                keep=keep,
            )
        },
        min_count=settings.min_count,
        round_to=settings.round_to,
        suppress_zero=settings.suppress_zero,
    )["cells"]
    return {c: out[c].to_numpy(dtype=float, na_value=np.nan) for c in _CELL_COLUMNS}


def _refuse_identifying_labels(col, labels, who: str) -> None:
    """Read an attribute's labels as :func:`riskscore.disclose` reads a key.

    The labels are published as they are (in the keys ``group`` and ``reference``):
    a refusal names the attribute, not those keys, and the fix the caller can make
    (``allow=`` when validating, not the attrs of a table built here).
    """
    findings = key_findings(pd.DataFrame({"group": labels}), ["group"], name=who)
    if not findings:
        return
    # the guard's findings, named for the attribute, without the rows of the labels
    found_text = "\n".join(
        re.sub(r"; rows? [0-9, ]+(?:and [0-9,]+ more)?$", "", f"- {f['message']}").replace(
            f"- {who}.group:", f"- {who}.{col}:", 1
        )
        for f in findings
    )
    raise DisclosureError(
        f"{who}: the groups of {col!r} look identifying; their labels are published "
        "as they are, whatever the counts beside them (values are shown masked):\n"
        f"{found_text}\nFix: leave {col!r} out of by=, or group it more coarsely (an "
        "area instead of a postcode); if the heuristic is wrong for it (school names, "
        "not people), validate the table with "
        f"allow={{{col!r}: 'why it is safe'}} (or record the reason in "
        f"attrs[{ALLOWED!r}] of the table the groups come from); the reason is "
        "written into the provenance of every table written from the result."
    )


def _key_allowances(sources, blocks, who: str) -> dict[str, str]:
    """Reasons for the published keys ``group`` and ``reference``, from the caller's.

    The labels of every audited attribute are published in the keys ``group`` and
    ``reference``, which :func:`riskscore.disclose` reads with the identifying-data
    guard. An attribute the caller let past the guard (``allow=`` when validating, so
    ``attrs["riskscore_allowed"]`` of ``sensitive_features``) is let past there too;
    never a column named for case ids, which are not published. The labels of every
    other attribute are read by the guard here, one attribute at a time (they share
    the keys with the allowed ones, so the allowance covers the allowed labels only).
    """
    audited = {str(col) for col, *_ in blocks}
    allowed = {
        c: r for c, r in allowed_columns(*sources).items() if c in audited and not names_case_ids(c)
    }
    for col, labels, *_ in blocks:
        if str(col) not in allowed:
            _refuse_identifying_labels(col, labels, who)
    if not allowed:
        return {}
    reason = "; ".join(f"labels of {c}: {r}" for c, r in allowed.items())
    return {"group": reason, "reference": reason}


def _published_estimates(E, metric_names, cells, exact, settings, kids):
    """Estimates from published counts (rates) or behind cells of at least min_count.

    Returns the estimates and, per metric and group, whether every cell the metric
    rests on reaches the threshold (intervals are shown only there).
    """
    full = dict(exact)
    full["not_alerted"] = exact["n"] - exact["alerts"]
    full["false_negatives"] = exact["events"] - exact["true_positives"]
    full["true_negatives"] = exact["non_events"] - exact["false_positives"]
    out = E.copy()
    safe = np.zeros(E.shape, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        for i, m in enumerate(metric_names):
            _, num, den = SUBGROUP_METRICS[m]
            shown = ~np.isnan(cells[num]) & ~np.isnan(cells[den]) & ~np.isnan(cells["n"])
            big = np.all(
                [
                    (full[c] >= settings.min_count) & (kids[c] >= settings.min_count)
                    for c in _MIN_CELLS[m]
                ],
                axis=0,
            )
            safe[i] = shown & big
            if m in _RATES:
                value = cells[num] / np.where(cells[den] > 0, cells[den], np.nan)
                out[i] = np.where(shown, value, np.nan)
            elif m == "mean_predicted":
                # times the rows it is the expected count (the observed one, on the rows
                # of a maximum-likelihood fit): rounded like a count, over published rows
                value = expected_rate(E[i], exact["n"], cells["n"], settings)
                out[i] = np.where(safe[i], value, np.nan)
            else:
                out[i] = np.where(safe[i], E[i], np.nan)
        # observed / expected from the published observed rate
        oe = metric_names.index("oe_ratio")
        obs = out[metric_names.index("observed_rate")]
        mean = out[metric_names.index("mean_predicted")]
        out[oe] = np.where(safe[oe], obs / np.where(mean > 0, mean, np.nan), np.nan)
    return out, safe


def _group_frame(sensitive_features, n_rows: int, who: str = "subgroup_metrics") -> pd.DataFrame:
    """The group labels as a table of one column per attribute, or a SchemaError."""
    fix = (
        "Fix: pass the group label of every row as a Series (named for the attribute), a "
        "DataFrame with one column per attribute, a dict of such columns, or a 1-D array."
    )
    if isinstance(sensitive_features, pd.DataFrame):
        return sensitive_features.reset_index(drop=True)
    if isinstance(sensitive_features, pd.Series):
        name = sensitive_features.name or "group"
        return sensitive_features.reset_index(drop=True).to_frame(name)
    if isinstance(sensitive_features, Mapping):
        columns = {}
        for name, values in sensitive_features.items():
            column = _group_frame(values, n_rows, who)
            if column.shape[1] != 1:
                raise SchemaError(
                    f"{who}: sensitive_features[{name!r}] holds {column.shape[1]} columns; each "
                    f"entry of a dict must be one column of labels. {fix}"
                )
            columns[name] = column.iloc[:, 0].to_numpy()
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise SchemaError(
                f"{who}: sensitive_features: the columns of the dict have different lengths "
                f"{sorted(lengths)}. {fix}"
            )
        return pd.DataFrame(columns)
    if sensitive_features is None or isinstance(sensitive_features, (str, bytes)):
        raise SchemaError(
            f"{who}: sensitive_features must hold a group label for each of the {n_rows} rows; "
            f"got {sensitive_features!r}. {fix}"
        )
    values = np.asarray(sensitive_features, dtype=object)
    if values.ndim != 1:
        raise SchemaError(
            f"{who}: sensitive_features must be one label per row (1-D) unless it is a DataFrame; "
            f"got an array of shape {values.shape}. {fix}"
        )
    return pd.DataFrame({"group": values})


def _columns_to_audit(by, frame: pd.DataFrame, who: str = "subgroup_metrics") -> list:
    """``by`` as a list of columns of ``frame`` (one name is one column)."""
    if by is None:
        return [c for c in ("sex", "ethnic_group", "imd_quintile") if c in frame.columns] or list(
            frame.columns
        )
    if isinstance(by, str):
        by = [by]
    elif not isinstance(by, (Sequence, pd.Index, np.ndarray)):
        if not (_hashable(by) and by in frame.columns):
            raise ParameterError(
                f"{who}: by must be column names of sensitive_features (a list "
                f"such as ['sex']); got {by!r} ({type(by).__name__})."
            )
        by = [by]
    by = list(by)
    if not by:
        raise ParameterError(
            f"{who}: by names no column; give at least one column of "
            f"sensitive_features (have {list(frame.columns)}), or by=None for the default."
        )
    seen = [c for i, c in enumerate(by) if c in by[:i]]
    if seen:
        raise ParameterError(f"{who}: by names {seen[0]!r} twice; name each column once.")
    missing_cols = [c for c in by if c not in frame.columns]
    if missing_cols:
        raise SchemaError(
            f"{who}: sensitive_features: no column {missing_cols[0]!r} (have {list(frame.columns)})."
        )
    return by


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _case_codes(case_ids, n_rows: int, who: str = "subgroup_metrics") -> tuple[np.ndarray, int]:
    """Each row's child as a code (every row its own child when no ids are given)."""
    if case_ids is None:
        return np.arange(n_rows), n_rows
    return case_codes(case_ids, n_rows, who, "y_true")


def _numbers(values, name: str, what: str, who: str = "subgroup_metrics") -> np.ndarray:
    """``values`` as float64, or a SchemaError naming the argument (not a numpy error)."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise SchemaError(
            f"{who}: {name} must hold {what} (numbers); got values that are not numbers. Fix: pass "
            "the outcome as 0/1 and the predicted probabilities as numbers."
        ) from None


@validate_params(
    {
        "threshold": [UNIT_CLOSED, None],
        "alert_rate": [UNIT_OPEN, None],
        "n_boot": [Interval(Integral, 0, MAX_BOOT)],
        "level": [UNIT_OPEN],
        "disclosure": ["disclosure"],
        "random_state": ["random_state"],
        "progress": ["boolean", None],
    }
)
def subgroup_metrics(
    y_true,
    y_prob,
    sensitive_features: pd.DataFrame | pd.Series | Sequence,
    *,
    by: Sequence[str] | None = None,
    reference: Any = None,
    threshold: float | None = None,
    alert_rate: float | None = None,
    case_ids=None,
    n_boot: int = 200,
    level: float = 0.95,
    disclosure: Any = True,
    random_state: int | None = 0,
    progress: bool | None = None,
    overall_published: Mapping[str, bool] | None = None,
) -> pd.DataFrame:
    """Metrics by subgroup with differences and ratios to a reference group.

    Errors name the function the user called: ``subgroup_metrics``, or
    :func:`riskscore.evaluate` (or the function that called it, such as
    :func:`riskscore.train_model`) when the audit is part of an evaluation.

    Parameters
    ----------
    y_true : array-like of 0/1
        Outcomes, one per row.
    y_prob : array-like of float
        Predicted probabilities (validation predictions, e.g. from
        :func:`riskscore.evaluate`).
    sensitive_features : DataFrame, Series or array
        Group labels aligned with the rows; a DataFrame gives one attribute per
        column. Missing labels form the group ``"missing"``.
    by : sequence of str, optional
        Columns to audit. Default: those of ``sex``, ``ethnic_group``,
        ``imd_quintile`` present, else every column.
    reference : scalar or dict, optional
        Reference group per attribute (``{"imd_quintile": 5}``), or one label for
        a single attribute. Default: the largest group.
    threshold : float, optional
        Alert when the predicted probability is at or above it.
    alert_rate : float, optional
        Alternatively, the overall share of rows alerted (the cut is set on all
        rows, then applied to every group). Default 0.1 when neither is given.
    case_ids : array-like, optional
        Case of every row: intervals resample cases, and every cell must be of at
        least ``min_count`` children as well as rows. Without it each row counts as a
        child (for one row per child); pass it whenever a child has several rows.
    n_boot : int, default=200
        Bootstrap replicates (0 for none; at most 100,000). From 1 to 19 the
        percentile intervals are unstable (their ends are the extreme replicates):
        allowed, for quick looks and tests, but warned of with a :class:`UserWarning`
        (the command line refuses them).
    level : float, default=0.95
        Interval coverage.
    disclosure : bool, DisclosureSettings or dict, default=True
        Disclosure control (see the module notes).
    random_state : int or None, default=0
        Bootstrap seed.
    progress : bool, optional
        tqdm progress bar (default: on above 100,000 rows).
    overall_published : dict, optional
        For outputs that publish the ``All`` rows' counts elsewhere too (as
        :func:`riskscore.evaluate` does): ``{cell: True}`` keeps the ``All`` rows'
        cell published (other cells are hidden to protect a group), ``{cell:
        False}`` hides it. Cells: ``n, n_cases, events, non_events, alerts,
        true_positives, false_positives``.

    Returns
    -------
    DataFrame
        One row per (``attribute``, ``group``, ``metric``), groups then ``All``:
        ``label, estimate, lower, upper, difference, difference_lower,
        difference_upper, ratio, ratio_lower, ratio_upper, reference`` and the
        counts ``n, n_cases, numerator, denominator``. ``attrs["threshold"]``
        holds the alert cut used, ``attrs["n_boot"]`` and ``attrs["level"]`` the
        bootstrap replicates drawn and the interval coverage.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscore.fairness import subgroup_metrics
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(2000) * 0.5; y = (rng.random(2000) < p).astype(int)
    >>> sex = pd.Series(rng.choice(["female", "male"], 2000), name="sex")
    >>> t = subgroup_metrics(y, p, sex, threshold=0.3, n_boot=20)
    >>> sorted(set(t["group"]))
    ['All', 'female', 'male']
    """
    # called by riskscore.evaluate: its errors name the function the user called, which
    # has warned of few replicates already
    who = caller("subgroup_metrics")
    if not called_within():
        warn_few_replicates(n_boot, who)
    y, p = (
        _numbers(y_true, "y_true", "0/1 outcomes", who),
        _numbers(y_prob, "y_prob", "probabilities", who),
    )
    if y.shape != p.shape or y.ndim != 1:
        raise SchemaError(
            f"{who}: y_true has shape {y.shape} and y_prob {p.shape}; need equal 1-D."
        )
    if not np.isin(y, (0.0, 1.0)).all():
        raise SchemaError(f"{who}: y_true must hold 0/1 outcomes.")
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        raise SchemaError(
            f"{who}: y_prob must be probabilities in [0, 1]; rows {np.flatnonzero(bad)[:5].tolist()} "
            "are not. Pass predicted probabilities, not scores."
        )
    if len(y) == 0:
        raise SchemaError(
            f"{who}: y_true and y_prob have no rows; pass the validation "
            "outcomes and predicted probabilities of at least one row."
        )
    frame = _group_frame(sensitive_features, len(y), who)
    if len(frame) != len(y):
        raise SchemaError(
            f"{who}: sensitive_features has {len(frame)} rows but y_true has {len(y)}."
        )
    by = _columns_to_audit(by, frame, who)
    if isinstance(reference, Mapping):
        unknown = [k for k in reference if k not in by]
        if unknown:
            raise ParameterError(
                f"{who}: reference names {unknown[0]!r}, which is not an "
                f"audited attribute (by={by}); give a reference group for those only."
            )
    if overall_published is not None and not isinstance(overall_published, Mapping):
        raise ParameterError(
            f"{who}: overall_published must be a dict of cell -> True/False "
            f"(e.g. {{'n': True}}); got {type(overall_published).__name__}."
        )
    if threshold is None:
        rate = 0.1 if alert_rate is None else alert_rate
        if not 0 < rate < 1:
            raise ParameterError(f"{who}: alert_rate must be between 0 and 1, got {rate!r}.")
        threshold = alert_threshold(p, rate)
    elif alert_rate is not None:
        raise ParameterError(f"{who}: give threshold or alert_rate, not both.")
    alert = (p >= threshold).astype(np.float64)
    if progress is None:
        progress = len(y) > 100_000
    codes, n_cases = _case_codes(case_ids, len(y), who)

    # one combined coding: (attribute, group) -> code, plus an "All" code per attribute
    blocks = []  # (attribute, labels per group, gcode offset)
    gcodes = []
    offset = 0
    for col in by:
        lab = frame[col].astype(object).where(frame[col].notna(), _MISSING_LABEL).astype(str)
        lab = lab.astype(object)
        gc, uniques = pd.factorize(lab, sort=True)
        blocks.append((col, [str(u) for u in uniques], offset, lab))
        gcodes.append(gc + offset)
        offset += len(uniques) + 1  # +1: the attribute's "All" slot
    n_slots = offset
    # rows are stacked once per attribute and once more into the attribute's All slot
    stack_g = np.concatenate(
        [
            np.concatenate([g, np.full(len(y), b[2] + len(b[1]))])
            for g, b in zip(gcodes, blocks, strict=True)
        ]
    )
    reps = 2 * len(by)
    Y = np.tile(y, reps)
    P = np.tile(p, reps)
    AL = np.tile(alert, reps)
    ranker = Ranker(P, stack_g, n_slots)
    est, counts = _stats(Y, P, AL, np.ones(len(Y)), stack_g, n_slots, ranker)

    def children(rows: np.ndarray | None = None) -> np.ndarray:
        """Distinct children per slot among ``rows`` (a mask; None: all rows)."""
        out = np.zeros(n_slots, dtype=np.int64)
        c = codes if rows is None else codes[rows]
        for g, b in zip(gcodes, blocks, strict=True):
            pairs = np.unique(np.column_stack([g if rows is None else g[rows], c]), axis=0)
            out += np.bincount(pairs[:, 0], minlength=n_slots)
            out[b[2] + len(b[1])] = len(np.unique(c))
        return out

    cases_per_slot = children()
    # A cell of rows is published only where its rows are of enough children: one
    # child's twenty rows are one child (each row is a child without case_ids).
    yes, hit = y == 1, alert == 1
    kids = {
        "n": cases_per_slot,
        "events": children(yes),
        "non_events": children(~yes),
        "alerts": children(hit),
        "not_alerted": children(~hit),
        "true_positives": children(yes & hit),
        "false_positives": children(~yes & hit),
        "false_negatives": children(yes & ~hit),
        "true_negatives": children(~yes & ~hit),
    }

    ref_slot = {}
    for col, labels, off, _ in blocks:
        ref = reference.get(col) if isinstance(reference, Mapping) else reference
        if ref is None:
            ref_slot[col] = off + int(np.argmax(counts["n"][off : off + len(labels)]))
        else:
            if str(ref) not in labels:
                raise SchemaError(
                    f"{who}: reference group {ref!r} is not a value of {col!r} ({labels})."
                )
            ref_slot[col] = off + labels.index(str(ref))
    ref_of_slot = np.empty(n_slots, dtype=np.int64)
    for col, labels, off, _ in blocks:
        ref_of_slot[off : off + len(labels) + 1] = ref_slot[col]

    metric_names = list(SUBGROUP_METRICS)
    E = np.vstack([est[m] for m in metric_names])  # (metrics, slots)
    draws = []
    if n_boot:
        weights = replicate_weights(codes, n_cases, n_boot, random_state)
        for w in tqdm(weights, total=n_boot, desc="subgroup bootstrap", disable=not progress):
            d, _ = _stats(Y, P, AL, np.tile(w, reps), stack_g, n_slots, ranker)
            draws.append(np.vstack([d[m] for m in metric_names]))
    B = np.asarray(draws) if draws else np.full((0, *E.shape), np.nan)

    # -- disclosure control: the cells of every group, protected together ---------------
    slot_attr = np.empty(n_slots, dtype=object)
    slot_group = np.empty(n_slots, dtype=object)
    for col, labels, off, _ in blocks:
        slot_attr[off : off + len(labels) + 1] = col
        slot_group[off : off + len(labels) + 1] = [*labels, "All"]
    exact = {k: np.rint(v).astype(np.int64) for k, v in counts.items()}
    exact["n_cases"] = cases_per_slot.astype(np.int64)
    settings = settings_for(disclosure)
    if settings is not None:
        sources = (
            [sensitive_features, *sensitive_features.values()]
            if isinstance(sensitive_features, Mapping)
            else [sensitive_features]
        )
        allowed = _key_allowances(sources, blocks, who)
        cells = _disclosed_cells(
            slot_attr, slot_group, exact, settings, overall_published, kids, who, allowed
        )
        E_pub, safe = _published_estimates(E, metric_names, cells, exact, settings, kids)
    else:
        cells = {k: v.astype(float) for k, v in exact.items()}
        E_pub, safe = E, np.ones(E.shape, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff_e = E - E[:, ref_of_slot]
        ratio_e = E / E[:, ref_of_slot]
        # what is published: from the published estimates of the group and its reference
        published = {
            "estimate": E_pub,
            "difference": E_pub - E_pub[:, ref_of_slot],
            "ratio": E_pub / E_pub[:, ref_of_slot],
        }
        Bd = B - B[:, :, ref_of_slot]
        Br = B / B[:, :, ref_of_slot]
    lo, hi = percentile_interval(B, level) if n_boot else (np.full(E.shape, np.nan),) * 2
    dlo, dhi = percentile_interval(Bd, level) if n_boot else (np.full(E.shape, np.nan),) * 2
    rlo, rhi = percentile_interval(Br, level) if n_boot else (np.full(E.shape, np.nan),) * 2
    # intervals only where every cell they rest on reaches the threshold (the group's,
    # and for differences and ratios the reference group's too)
    safe_pair = safe & safe[:, ref_of_slot]

    # one estimator for the estimates and their bootstrap replicates (tests check it
    # against fairlearn's MetricFrame, the ecosystem's reference)
    recs = []
    interval_hidden = []
    for col, labels, off, _lab in blocks:
        for j, group in enumerate([*labels, "All"]):
            slot = off + j
            for i, m in enumerate(metric_names):
                label, num, den = SUBGROUP_METRICS[m]
                recs.append(
                    {
                        "attribute": col,
                        "group": group,
                        "metric": m,
                        "label": label,
                        "reference": labels[ref_slot[col] - off],
                        "estimate": float(E[i, slot]),
                        "lower": lo[i, slot],
                        "upper": hi[i, slot],
                        "difference": diff_e[i, slot],
                        "difference_lower": dlo[i, slot],
                        "difference_upper": dhi[i, slot],
                        "ratio": ratio_e[i, slot],
                        "ratio_lower": rlo[i, slot],
                        "ratio_upper": rhi[i, slot],
                        "n": int(exact["n"][slot]),
                        "n_cases": int(exact["n_cases"][slot]),
                        "numerator": int(exact[num][slot]),
                        "denominator": int(exact[den][slot]),
                    }
                )
                interval_hidden.append((not safe[i, slot], not safe_pair[i, slot]))
    table = pd.DataFrame(recs)
    if settings is None:
        out = mark_undisclosed(table, reason="subgroup_metrics(disclosure=False)")
    else:
        # the counts of each row are the group's cells as disclosed above: hidden there,
        # hidden here; rounding gives the same published values
        row_slots = list(_row_slots(blocks, metric_names))
        hide = pd.DataFrame(
            {
                c: [bool(np.isnan(cells[_cell_of(c, m)][slot])) for slot, m in row_slots]
                for c in ("n", "n_cases", "numerator", "denominator")
            }
        )
        if allowed:
            table.attrs[ALLOWED] = allowed
        out = disclose(
            table,
            count_columns=["n", "n_cases", "numerator", "denominator"],
            by=["attribute", "group", "metric", "label", "reference"],
            statistic_columns={c: ["n", "numerator", "denominator"] for c in _STATISTIC_COLUMNS},
            find_totals=False,
            hide=hide,
            min_count=settings.min_count,
            round_to=settings.round_to,
            suppress_zero=settings.suppress_zero,
        )
        # estimates, differences and ratios as published: rates from the published
        # counts, other metrics only behind cells of at least the threshold
        order = list(_row_slots(blocks, metric_names))
        index = [(metric_names.index(m), slot) for slot, m in order]
        rows, slots = np.array([i for i, _ in index]), np.array([j for _, j in index])
        flags = np.asarray(interval_hidden, dtype=bool)
        mask = {}
        for c, values in published.items():
            value = values[rows, slots]
            shown = out[c].notna().to_numpy()
            mask[c] = shown & np.isnan(value)
            out[c] = np.where(shown, value, np.nan)
        mask = pd.DataFrame(
            {
                **mask,
                **{c: flags[:, 0] for c in ("lower", "upper")},
                **{
                    c: flags[:, 1]
                    for c in (
                        "difference_lower",
                        "difference_upper",
                        "ratio_lower",
                        "ratio_upper",
                    )
                },
            }
        )
        out = suppress_statistics(
            out,
            mask,
            rule=f"resting on a cell (of the group or its reference group) below "
            f"min_count={settings.min_count}",
        )
    out.attrs["threshold"] = float(threshold)
    out.attrs["n_boot"] = int(n_boot)
    out.attrs["level"] = float(level)
    note = synthetic_note(sensitive_features)
    if note is not None:
        mark_synthetic(out, note=note)
    return out
