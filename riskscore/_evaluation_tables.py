"""Disclosure control of an evaluation's tables: nested cuts, rates from published counts.

Alerts at a threshold, the decision curve, calibration bins, the points of the
smoothed calibration curve and the ROC curve all count the validation rows at or
above cuts of the same ordering (predicted risk, or points for a scorecard), so they
are nested sets: two published rows of any of these tables, subtracted, count the
rows between two cuts. Every cut an evaluation
publishes is therefore chosen once, across all of its tables
(:func:`riskscore.disclosure.protect_nested`): neighbouring published cuts differ by 0
or at least ``min_count`` rows, events and non-events, and so do the smallest cut and
nothing, and the largest and everyone. Rows at other cuts are suppressed (alert and
decision-curve rows) or merged (calibration bins, curve points). Every rate is then
computed from the published, rounded counts; the ROC curve is drawn from them too;
AUROC, the smoothed curve and the other metrics are shown only with at least
``min_count`` events and non-events.

Public names in a private module; :mod:`riskscore.evaluation` calls them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskscore.disclosure import (
    DisclosureSettings,
    disclose,
    mark_statistics,
    mark_undisclosed,
    protect_nested,
    suppress_statistics,
)

__all__ = [
    "CALIBRATION_BINS",
    "CURVE_BINS",
    "Cuts",
    "ONE_POINT_NOTE",
    "Totals",
    "alerts_table",
    "calibration_curve_table",
    "calibration_edges",
    "calibration_table",
    "curve_edges",
    "decision_curve_table",
    "expected_rate",
    "metrics_rule",
    "offer_cuts",
    "publish_count",
    "publish_metrics",
    "roc_table",
    "round_cut",
    "sample_counts",
    "totals_table",
]

#: Calibration bins before merging: tenths of the predicted risk.
CALIBRATION_BINS = 10

#: Points of the smoothed calibration curve before merging: twentieths of the rows.
CURVE_BINS = 20

#: Added to the method of a smoothed calibration curve of one point (every point
#: merged, by disclosure control on a small validation set, or all predicted risks
#: alike). Its observed value is the fitted curve at the mean predicted risk of all
#: rows, which differs from the observed rate of all rows that the calibration table
#: publishes beside it, and one point shows no shape: figures do not draw it.
ONE_POINT_NOTE = (
    "; here every point is merged into one point: the fitted curve at the mean predicted "
    "risk of all rows, not the observed rate of all rows (that is the calibration "
    "table's), and no shape, so figures do not draw it"
)

# Quantile cuts of the predicted risk offered to the ROC curve (lowest priority).
_ROC_CUTS = 40


def round_cut(x: np.ndarray | float) -> np.ndarray:
    """A cut rounded to 3 significant figures, so it is not one child's predicted risk."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(x > 0, np.floor(np.log10(np.abs(np.where(x > 0, x, 1.0)))), 0.0)
    scale = 10.0 ** (2 - mag)
    return np.round(x * scale) / scale


@dataclass
class Totals:
    """The validation totals, exact and as published (NaN when suppressed)."""

    n: int
    events: int
    cases: int
    n_pub: float
    events_pub: float
    cases_pub: float
    table: pd.DataFrame
    #: the outcome rows, or the other rows, are of 1 to min_count - 1 children
    few_children: bool = False

    def small(self, settings: DisclosureSettings) -> bool:
        """Too few events or non-events (rows, or their children) for a statistic."""
        m = settings.min_count
        return self.events < m or self.n - self.events < m or self.few_children


def totals_table(
    y: np.ndarray, n_cases: int, settings: DisclosureSettings | None, cases=None
) -> Totals:
    """Rows, events and children of the validation rows, disclosed (events vs non-events).

    With ``cases`` (each row's case code) the outcome rows and the other rows must
    each be of 0 or at least ``min_count`` children too, or the event count is hidden.
    """
    n, e = len(y), int(np.sum(y))
    raw = pd.DataFrame({"n_rows": [n], "n_events": [e], "n_cases": [int(n_cases)]})
    few = False
    if settings is None:
        t = mark_undisclosed(raw, reason="evaluate(disclosure=False)")
    else:
        if cases is not None:
            yes = np.asarray(y) > 0
            for rows in (yes, ~yes):
                k = len(np.unique(np.asarray(cases)[rows]))
                few |= 0 < k < settings.min_count
        t = disclose(
            raw,
            count_columns=["n_rows", "n_events", "n_cases"],
            total_columns=[("n_rows", ["n_events"])],
            hide=np.array([[False, few, False]]),
            min_count=settings.min_count,
            round_to=settings.round_to,
            suppress_zero=settings.suppress_zero,
        )

    def pub(c):
        v = t[c].iloc[0]
        return np.nan if pd.isna(v) else float(v)

    return Totals(
        n,
        e,
        int(n_cases),
        pub("n_rows"),
        pub("n_events"),
        pub("n_cases"),
        t,
        bool(settings is not None and few),
    )


@dataclass
class Cuts:
    """Every cut an evaluation publishes, chosen once so that none can be differenced.

    ``add(source, key, scale, threshold)`` offers a cut (rows with ``value >=
    threshold`` on ``scale``); cuts offered first win. ``settle()`` counts them and
    keeps those :func:`protect_nested` allows (all of them without disclosure
    control). Score cuts join the probability cuts when predicted risk never falls
    as points rise (the sets are then nested too); otherwise they form their own
    family.
    """

    y: np.ndarray
    p: np.ndarray
    score: np.ndarray
    settings: DisclosureSettings | None
    #: case code of every row (None: every row its own child)
    cases: np.ndarray | None = None
    offered: list[tuple[str, object, str, float]] = field(default_factory=list)
    alerts: np.ndarray | None = None
    true_positives: np.ndarray | None = None
    published: np.ndarray | None = None

    def add(self, source: str, key: object, scale: str, threshold: float) -> None:
        self.offered.append((source, key, scale, float(threshold)))

    def _counts(self, scale: str, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.p if scale == "probability" else self.score
        order = np.argsort(x, kind="stable")
        xs, ys = x[order], self.y[order]
        n = len(x)
        above = np.concatenate([np.cumsum(ys[::-1])[::-1], [0.0]])
        start = np.searchsorted(xs, thresholds, side="left")
        return (n - start).astype(np.int64), above[start].astype(np.int64)

    def settle(self) -> Cuts:
        k = len(self.offered)
        scales = np.array([o[2] for o in self.offered], dtype=object)
        thr = np.array([o[3] for o in self.offered], dtype=float)
        alerts = np.zeros(k, dtype=np.int64)
        tp = np.zeros(k, dtype=np.int64)
        for scale in ("probability", "score"):
            m = scales == scale
            if m.any():
                alerts[m], tp[m] = self._counts(scale, thr[m])
        self.alerts, self.true_positives = alerts, tp
        if self.settings is None or k == 0:
            self.published = np.ones(k, dtype=bool)
            return self
        s = self.settings
        n, e = len(self.y), float(np.sum(self.y))
        totals = np.array([n, e, n - e])
        counts = np.column_stack([alerts, tp, alerts - tp])
        # points and predicted risk order the rows alike (a fixed map): one family
        order = np.lexsort((self.p, self.score))
        together = bool(np.all(np.diff(self.p[order]) >= 0))
        families = (
            [np.ones(k, dtype=bool)]
            if together
            else [scales == "probability", ~(scales == "probability")]
        )
        published = np.zeros(k, dtype=bool)
        for fam in families:
            idx = np.flatnonzero(fam)
            if idx.size == 0:
                continue
            keep = protect_nested(
                counts[idx], totals, min_count=s.min_count, suppress_zero=s.suppress_zero
            )
            published[idx] = keep
            if self.cases is not None:
                # rows are not children: one child's many rows must not make a band
                if together or scales[idx[0]] == "score":
                    order = np.lexsort((self.p, self.score))
                else:
                    order = np.argsort(self.p, kind="stable")
                self._by_children(idx, published, alerts, order)
        if not together:
            self._across_families(published, scales, thr)
        self.published = published
        return self

    def _across_families(self, published, scales, thr) -> None:
        """Unpublish cuts of the two families whose sets nest with a small difference.

        Points cuts and probability cuts are protected as separate families when
        predicted risk is not a fixed function of the points (a map per fold), but a
        points cut and a probability cut may still nest in the data: their difference
        is then a count too, and must hold 0 or at least ``min_count`` outcome rows and
        other rows (and children, when known). The later-offered cut of a failing
        pair is not published.
        """
        m = self.settings.min_count
        yes = self.y > 0
        cases = None if self.cases is None else np.asarray(self.cases)

        def small(rows) -> bool:
            for part in (rows & yes, rows & ~yes):
                k = int(part.sum())
                if 0 < k < m:
                    return True
                if cases is not None and 0 < len(np.unique(cases[part])) < m:
                    return True
            return False

        def rows_of(i):
            return (self.score if scales[i] == "score" else self.p) >= thr[i]

        score_cuts = [i for i in np.flatnonzero(published) if scales[i] == "score"]
        for i in score_cuts:
            a = rows_of(i)
            for j in np.flatnonzero(published & (scales == "probability")):
                if not published[i]:
                    break
                b = rows_of(j)
                if (a & ~b).any() and (b & ~a).any():
                    continue  # not nested: their sizes' difference is no set's count
                if small(a ^ b):
                    published[max(i, j)] = False

    def _by_children(self, idx, published, alerts, order) -> None:
        """Unpublish cuts until every band between published cuts is of enough children.

        The cuts of a family are nested: each is the rows from some position on, in
        ``order``. Between two published cuts (and below the lowest, above the highest)
        lies a band of rows; the outcome rows and the other rows of every band must be
        of 0 or at least ``min_count`` distinct children, so that every published set,
        and every difference of two, is. A failing band is merged with its neighbour by
        unpublishing the cut between them that was offered later.
        """
        m = self.settings.min_count
        n = len(self.y)
        ys, cs = self.y[order] > 0, np.asarray(self.cases)[order].astype(np.int64)
        n_codes = int(cs.max()) + 1 if n else 1
        position = np.arange(n)
        while True:
            live = idx[published[idx]]
            starts = np.unique(n - alerts[live])
            bounds = np.concatenate([[0], starts[(starts > 0) & (starts < n)], [n]])
            bounds = np.unique(bounds)
            band = np.searchsorted(bounds, position, side="right") - 1
            n_bands = len(bounds) - 1

            k1, k0 = (_children_per_band(band, cs, rows, n_codes, n_bands) for rows in (ys, ~ys))
            bad = np.flatnonzero(((k1 > 0) & (k1 < m)) | ((k0 > 0) & (k0 < m)))
            if len(bad) == 0 or n_bands < 2:
                return
            b = int(bad[0])
            # the cuts on the band's two edges (a cut's rows start at its edge)
            edges = [e for e in (bounds[b], bounds[b + 1]) if 0 < e < n]
            groups = [live[(n - alerts[live]) == e] for e in edges]
            drop = max(groups, key=lambda g: int(g.max()))  # the later offered goes
            published[drop] = False

    def lookup(self, source: str) -> pd.DataFrame:
        """The offered cuts of one source: key, threshold, counts and whether published."""
        rows = [i for i, o in enumerate(self.offered) if o[0] == source]
        return pd.DataFrame(
            {
                "key": [self.offered[i][1] for i in rows],
                "scale": [self.offered[i][2] for i in rows],
                "threshold": [self.offered[i][3] for i in rows],
                "alerts": self.alerts[rows],
                "true_positives": self.true_positives[rows],
                "published": self.published[rows],
            }
        )


def _children_per_band(band, cases, rows, n_codes: int, n_bands: int) -> np.ndarray:
    """Distinct children among ``rows`` (a mask) of each band."""
    pairs = np.unique(band[rows] * n_codes + cases[rows])
    return np.bincount(pairs // n_codes, minlength=n_bands)


def _rounded(values: np.ndarray, settings: DisclosureSettings | None) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if settings is None or settings.round_to == 1:
        return v
    return np.floor(v / settings.round_to + 0.5) * settings.round_to


def alerts_table(
    rules, cuts: Cuts, totals: Totals, sens, ppv, rate, lo, hi, settings
) -> pd.DataFrame:
    """Sensitivity, PPV and alert rate at each rule, from the published counts."""
    c = cuts.lookup("alert")
    alerts = pd.DataFrame(
        {
            "rule": [r[0] for r in rules],
            "scale": [r[1] for r in rules],
            "threshold": [r[2] for r in rules],
            "n": totals.n,
            "events": totals.events,
            "alerts": c["alerts"].to_numpy(),
            "true_positives": c["true_positives"].to_numpy(),
            "alert_rate": rate,
            "sensitivity": sens,
            "sensitivity_lower": lo[0],
            "sensitivity_upper": hi[0],
            "ppv": ppv,
            "ppv_lower": lo[1],
            "ppv_upper": hi[1],
        }
    )
    if settings is None:
        return mark_undisclosed(alerts, reason="evaluate(disclosure=False)")
    hidden_rule = ~c["published"].to_numpy()
    hide = pd.DataFrame(
        {
            "n": np.isnan(totals.n_pub),
            "events": np.isnan(totals.events_pub),
            "alerts": hidden_rule,
            "true_positives": hidden_rule,
        },
        index=alerts.index,
    )
    out = disclose(
        alerts,
        count_columns=["n", "events", "alerts", "true_positives"],
        by=["rule", "scale", "threshold"],
        rate_columns={
            "alert_rate": ["alerts", "n"],
            "sensitivity": ["true_positives", "events"],
            "ppv": ["true_positives", "alerts"],
        },
        statistic_columns={
            "sensitivity_lower": ["true_positives", "events"],
            "sensitivity_upper": ["true_positives", "events"],
            "ppv_lower": ["true_positives", "alerts"],
            "ppv_upper": ["true_positives", "alerts"],
        },
        find_totals=False,
        hide=hide,
        min_count=settings.min_count,
        round_to=settings.round_to,
        suppress_zero=settings.suppress_zero,
    )
    tp = alerts["true_positives"].to_numpy()
    fn = totals.events - tp
    fp = alerts["alerts"].to_numpy() - tp
    m = settings.min_count
    sens_small = (tp < m) | (fn < m)
    ppv_small = (tp < m) | (fp < m)
    return suppress_statistics(
        out,
        pd.DataFrame(
            {
                "sensitivity_lower": sens_small,
                "sensitivity_upper": sens_small,
                "ppv_lower": ppv_small,
                "ppv_upper": ppv_small,
            }
        ),
        rule=f"an interval resting on a cell below min_count={m}",
    )


def _quantile_edges(p: np.ndarray, k: int) -> np.ndarray:
    q = np.quantile(p, np.arange(1, k) / k)
    edges = np.unique(round_cut(q))
    return edges[(edges > 0) & (edges < 1)]


def calibration_edges(p: np.ndarray) -> np.ndarray:
    """Cuts between the calibration bins: tenths of predicted risk, rounded."""
    return _quantile_edges(p, CALIBRATION_BINS)


def curve_edges(p: np.ndarray) -> np.ndarray:
    """Cuts between the smoothed curve's points: twentieths of predicted risk, rounded."""
    return _quantile_edges(p, CURVE_BINS)


def _binned(p, y, cuts: Cuts, source: str) -> pd.DataFrame:
    """Rows, events and mean predicted risk between the published cuts of one source.

    Any two published cuts differ by 0 or at least ``min_count`` rows, events and
    non-events (:func:`protect_nested`), so every bin between them does too.
    """
    c = cuts.lookup(source)
    edges = c.loc[c["published"], "threshold"].to_numpy(dtype=float)
    bounds = np.concatenate([[0.0], np.sort(edges), [np.inf]])
    which = np.searchsorted(bounds, p, side="right") - 1
    n_bins = len(bounds) - 1
    n = np.bincount(which, minlength=n_bins)
    events = np.bincount(which, weights=y, minlength=n_bins).astype(np.int64)
    total_p = np.bincount(which, weights=p, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(n > 0, total_p / np.where(n > 0, n, 1), np.nan)
    labels = [
        f"[{lo:.3g}, {hi:.3g})" if np.isfinite(hi) else f"[{lo:.3g}, 1]"
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    return pd.DataFrame(
        {"bin": labels, "n": n.astype(np.int64), "events": events, "mean_predicted": mean_p}
    )[n > 0].reset_index(drop=True)


def calibration_table(p, y, cuts: Cuts, settings, totals: Totals | None = None) -> pd.DataFrame:
    """Observed against predicted risk in bins between published cuts (merged when needed).

    Under disclosure control a bin's mean predicted risk is its expected events
    rounded like a count over its published rows (:func:`expected_rate`), or, where
    that falls outside the bin's own range of predicted risk, the middle of the part
    of the range the rounded counts allow (:func:`_within_own_range`).
    """
    cal = _binned(p, y, cuts, "calibration")
    cal["observed"] = cal["events"] / cal["n"]
    if settings is None:
        return mark_undisclosed(cal, reason="evaluate(disclosure=False)")
    out = disclose(
        cal,
        count_columns=["n", "events"],
        by="bin",
        rate_columns={"observed": ["events", "n"], "mean_predicted": ["n"]},
        total_columns=[("n", ["events"])],
        find_totals=False,
        hide=_few_children_mask(cal, totals),
        min_count=settings.min_count,
        round_to=settings.round_to,
        suppress_zero=settings.suppress_zero,
    )
    mean = expected_rate(cal["mean_predicted"], cal["n"], out["n"], settings)
    out["mean_predicted"] = _within_own_range(mean, out["n"], cal["bin"], settings)
    return out


def _bin_range(label: str) -> tuple[float, float]:
    """The cuts of a bin's label: ``[lo, hi)``, or ``[lo, 1]`` for the highest bin."""
    lo, hi = str(label).strip("[)]").split(", ")
    return float(lo), float(hi)


def _within_own_range(mean, n_published, labels, settings: DisclosureSettings) -> np.ndarray:
    """Published mean predicted risks of bins, each inside its own range of predicted risk.

    ``mean`` is the expected count rounded to ``round_to`` over the published rows
    (:func:`expected_rate`). Rounding moves it by up to about ``round_to / 2`` over
    the rows: at low risk further than a tenth of predicted risk is wide, so a bin's
    mean fell outside the bin (and below the bin before it). Where it does, the bin's
    mean is published as the middle of what the published numbers allow: the part of
    the bin's range that the rounded expected count over the rounded rows can be.
    Everything it is computed from (the rounded counts, the settings and the cuts in
    the labels) is published already, so it gives nothing new away; it is never
    further from the exact mean than half of that part, and it lies strictly below
    the bin's upper cut, so the bins' means increase.
    """
    mean = np.asarray(mean, dtype=float)
    n_pub = pd.to_numeric(pd.Series(n_published), errors="coerce").to_numpy(dtype=float)
    bounds = np.array([_bin_range(b) for b in labels], dtype=float).reshape(-1, 2)
    lo, hi = bounds[:, 0], bounds[:, 1]
    top = np.array([str(b).endswith("]") for b in labels], dtype=bool)  # holds its upper cut
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = (mean >= lo) & ((mean < hi) | (top & (mean <= hi)))
        # the counts published were rounded half up to round_to: the exact ones lie
        # within half a step of them (rows at least min_count, more than half a step)
        half = settings.round_to / 2
        expected = mean * n_pub
        least = np.maximum(lo, (expected - half) / (n_pub + half))
        most = np.minimum(hi, (expected + half) / (n_pub - half))
        moved = (least + most) / 2
    return np.where(np.isfinite(mean) & ~inside, moved, mean)


def _few_children_mask(table: pd.DataFrame, totals: Totals | None) -> np.ndarray:
    """Hide the event counts of every bin when the outcome rows are of too few children."""
    hide = np.zeros((len(table), 2), dtype=bool)  # columns n, events
    if totals is not None and totals.few_children:
        hide[:, 1] = True
    return hide


def expected_rate(mean_p, n_exact, n_published, settings: DisclosureSettings) -> np.ndarray:
    """A mean predicted risk as published: the expected count, rounded, over the published rows.

    The mean predicted risk times the rows is the expected number of events, and a
    maximum likelihood fit makes it equal to the observed number on its own rows:
    published exactly beside rounded counts it would give the hidden count back. So
    the expected count is rounded like a count (to ``round_to``) and divided by the
    published rows; where those are hidden, so is the mean.
    """
    mean_p = np.asarray(mean_p, dtype=float)
    n_exact = np.asarray(n_exact, dtype=float)
    n_pub = pd.to_numeric(pd.Series(n_published), errors="coerce").to_numpy(dtype=float)
    step = settings.round_to
    expected = step * np.floor(mean_p * n_exact / step + 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pub > 0, expected / np.where(n_pub > 0, n_pub, 1), np.nan)


#: Added to the method of a smoothed calibration curve under disclosure control.
PUBLISHED_POINTS_NOTE = (
    "; under disclosure control the curve is evaluated at each point's published mean "
    "predicted risk (its expected events rounded like a count, over its published rows), "
    "and neighbouring points are merged until those increase"
)


def _merge_neighbours(curve: pd.DataFrame, i: int) -> pd.DataFrame:
    """Rows ``i`` and ``i + 1`` of a binned table as one row: the rows between their outer cuts."""
    a, b = curve.iloc[i], curve.iloc[i + 1]
    n = int(a["n"]) + int(b["n"])
    row = {
        "bin": str(a["bin"]).split(", ")[0] + ", " + str(b["bin"]).split(", ")[1],
        "n": n,
        "events": int(a["events"]) + int(b["events"]),
        "predicted": (a["predicted"] * a["n"] + b["predicted"] * b["n"]) / n,
    }
    merged = pd.concat([curve.iloc[:i], pd.DataFrame([row]), curve.iloc[i + 2 :]])
    return merged.astype(curve.dtypes.to_dict()).reset_index(drop=True)


def _disclose_curve(curve: pd.DataFrame, totals: Totals, settings) -> pd.DataFrame:
    fitted = ["n", "events"]
    out = disclose(
        curve,
        count_columns=["n", "events"],
        by="bin",
        statistic_columns={
            "predicted": ["n"],
            **{c: fitted for c in ("observed", "lower", "upper") if c in curve.columns},
        },
        total_columns=[("n", ["events"])],
        find_totals=False,
        hide=_few_children_mask(curve, totals),
        min_count=settings.min_count,
        round_to=settings.round_to,
        suppress_zero=settings.suppress_zero,
    )
    out["predicted"] = expected_rate(curve["predicted"], curve["n"], out["n"], settings)
    return out


def _in_increasing_order(curve: pd.DataFrame, totals: Totals, settings) -> pd.DataFrame:
    """Neighbouring points merged until their published mean predicted risks increase.

    The published mean is the expected count rounded like a count over the published
    rows: where neighbouring points' means differ by less than that rounding, they
    come out of order (or equal), and a line through them loops. Two neighbours
    merged are the rows between two cuts already published, so nothing finer is.
    """
    while len(curve) > 1:
        x = _disclose_curve(curve, totals, settings)["predicted"].to_numpy(dtype=float)
        seen = np.flatnonzero(np.isfinite(x))
        back = np.flatnonzero(np.diff(x[seen]) <= 0)
        if not len(back):
            break
        i = int(seen[back[0] + 1])  # the first point not above the published one before it
        curve = _merge_neighbours(curve, i - 1)
    return curve


def calibration_curve_table(
    p, y, cuts: Cuts, totals: Totals, settings, smooth, method: str
) -> pd.DataFrame:
    """The smoothed calibration curve at the mean predicted risk between published cuts.

    ``smooth(predicted)`` returns the curve and its interval limits at the given
    predicted risks (a fit on every validation row). Under disclosure control the
    points are twentieths of the rows merged like the calibration bins, their
    counts are disclosed, neighbouring points are merged until their published mean
    predicted risks increase (:func:`_in_increasing_order`), and the curve is
    evaluated at those published means, so that the table and a line through it
    show the fitted curve at the risk they show. The curve is a statistic shown only
    where its point's counts are published and the whole validation set has at least
    ``min_count`` events and non-events. When every point is merged into one,
    ``attrs["method"]`` says what that point is (:data:`ONE_POINT_NOTE`): the fitted
    curve at the mean predicted risk of all rows, not their observed rate; figures do
    not draw it.
    """
    curve = _binned(p, y, cuts, "curve").rename(columns={"mean_predicted": "predicted"})
    if settings is None:
        observed, lower, upper = smooth(curve["predicted"].to_numpy(dtype=float))
        curve = curve.assign(observed=observed, lower=lower, upper=upper)
        out = mark_undisclosed(curve, reason="evaluate(disclosure=False)")
        out.attrs["method"] = method + (ONE_POINT_NOTE if len(curve) == 1 else "")
        return out
    curve = _in_increasing_order(curve, totals, settings)
    x = _disclose_curve(curve, totals, settings)["predicted"].to_numpy(dtype=float)
    at = np.isfinite(x)
    fit = np.full((3, len(curve)), np.nan)
    if at.any():
        for row, values in enumerate(smooth(x[at])):  # limits may be one NaN (no replicates)
            fit[row, at] = np.broadcast_to(np.asarray(values, dtype=float), (int(at.sum()),))
    curve = curve.assign(observed=fit[0], lower=fit[1], upper=fit[2])
    out = _disclose_curve(curve, totals, settings)
    m = settings.min_count
    if totals.small(settings):
        small = pd.DataFrame(True, index=out.index, columns=["observed", "lower", "upper"])
        out = suppress_statistics(
            out, small, rule=f"a fit resting on fewer than {m} events or non-events (or children)"
        )
    out.attrs["method"] = (
        method + PUBLISHED_POINTS_NOTE + (ONE_POINT_NOTE if len(curve) == 1 else "")
    )
    return out


def publish_count(value: int | None, settings: DisclosureSettings | None) -> int | None:
    """One count on its own (cases a temporal split left out): suppressed or rounded."""
    if value is None or settings is None:
        return value
    t = disclose(
        pd.DataFrame({"n_cases": [int(value)]}),
        count_columns=["n_cases"],
        find_totals=False,
        min_count=settings.min_count,
        round_to=settings.round_to,
        suppress_zero=settings.suppress_zero,
    )
    v = t["n_cases"].iloc[0]
    return None if pd.isna(v) else int(v)


def sample_counts(
    n_cases: int, case_events: int, totals: Totals, settings: DisclosureSettings
) -> pd.DataFrame:
    """Children and children with an outcome in the training set, disclosed.

    The training set's children include the validated ones (published in the
    sample table); when they differ by a small count (a temporal split validates
    later children only), the training set's count is hidden.
    """
    raw = pd.DataFrame({"n_cases": [int(n_cases)], "n_case_events": [int(case_events)]})
    gap = int(n_cases) - int(totals.cases)
    hide = pd.DataFrame(
        {"n_cases": [0 < gap < settings.min_count], "n_case_events": [False]}, index=raw.index
    )
    return disclose(
        raw,
        count_columns=["n_cases", "n_case_events"],
        total_columns=[("n_cases", ["n_case_events"])],
        find_totals=False,
        hide=hide,
        min_count=settings.min_count,
        round_to=settings.round_to,
        suppress_zero=settings.suppress_zero,
    )


def decision_curve_table(thr: np.ndarray, cuts: Cuts, totals: Totals, settings) -> pd.DataFrame:
    """Net benefit at each threshold, from the published counts and totals."""
    c = cuts.lookup("decision")
    odds = thr / (1 - thr)
    dc = pd.DataFrame(
        {
            "threshold": thr,
            "alerts": c["alerts"].to_numpy(),
            "true_positives": c["true_positives"].to_numpy(),
        }
    )
    if settings is None:
        n, e = float(totals.n), float(totals.events)
        a = dc["alerts"].to_numpy(dtype=float)
        t = dc["true_positives"].to_numpy(dtype=float)
        out = dc.assign(
            net_benefit=t / n - (a - t) / n * odds,
            treat_all=e / n - (1 - e / n) * odds,
            treat_none=0.0,
        )
        return mark_undisclosed(out, reason="evaluate(disclosure=False)")
    out = disclose(
        dc.assign(net_benefit=np.nan, treat_all=np.nan, treat_none=0.0),
        count_columns=["alerts", "true_positives"],
        by="threshold",
        statistic_columns={"treat_all": [], "treat_none": []},
        computed={
            "net_benefit": "true_positives / n - (alerts - true_positives) / n * t / (1 - t), "
            "from the published counts and the published number of rows",
        },
        find_totals=False,
        hide=~c["published"].to_numpy(),
        min_count=settings.min_count,
        round_to=settings.round_to,
        suppress_zero=settings.suppress_zero,
    )
    n, e = totals.n_pub, totals.events_pub
    a = out["alerts"].to_numpy(dtype=float, na_value=np.nan)
    t = out["true_positives"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["net_benefit"] = t / n - (a - t) / n * odds if n > 0 else np.nan
        out["treat_all"] = e / n - (1 - e / n) * odds if n > 0 else np.nan
    return out


def roc_table(y, p, cuts: Cuts, totals: Totals, settings) -> pd.DataFrame:
    """The ROC curve on a fixed grid of 101 false-positive rates.

    Under disclosure control it is drawn through the published counts at every
    published probability cut, so it shows nothing those counts do not.
    """
    grid = np.linspace(0, 1, 101)
    if settings is None:
        from sklearn.metrics import roc_curve

        fpr, tpr, _ = roc_curve(y, p)
        return mark_undisclosed(
            pd.DataFrame({"fpr": grid, "tpr": np.interp(grid, fpr, tpr)}),
            reason="evaluate(disclosure=False)",
        )
    keep = cuts.published & np.array([o[2] == "probability" for o in cuts.offered], dtype=bool)
    a = _rounded(cuts.alerts[keep], settings)
    t = _rounded(cuts.true_positives[keep], settings)
    pos, neg = totals.events_pub, totals.n_pub - totals.events_pub
    if not (pos > 0 and neg > 0):
        tpr_grid = np.full(grid.size, np.nan)
    else:
        fpr = np.concatenate([[0.0], (a - t) / neg, [1.0]])
        tpr = np.concatenate([[0.0], t / pos, [1.0]])
        order = np.lexsort((tpr, fpr))
        fpr, tpr = np.clip(fpr[order], 0, 1), np.clip(np.maximum.accumulate(tpr[order]), 0, 1)
        tpr_grid = np.interp(grid, fpr, tpr)
    out = mark_statistics(
        pd.DataFrame({"fpr": grid, "tpr": tpr_grid}),
        settings,
        rule="drawn through the published (rounded) counts at the published cuts only",
    )
    # no cut published: the table is the line from (0, 0) to (1, 1), not the curve
    out.attrs["curve_suppressed"] = not bool(keep.any()) or not (pos > 0 and neg > 0)
    return out


def metrics_rule(settings: DisclosureSettings) -> str:
    return (
        f"every metric rests on at least {settings.min_count} events and "
        f"{settings.min_count} non-events, of at least {settings.min_count} children each; "
        "the observed rate is the published events over the published rows"
    )


def publish_metrics(metrics: pd.DataFrame, totals: Totals, settings) -> pd.DataFrame:
    """Metrics with intervals, behind a minimum cell size (events and non-events)."""
    if settings is None:
        return mark_undisclosed(metrics, reason="evaluate(disclosure=False)")
    out = metrics.copy()
    small = totals.small(settings)
    hidden = pd.DataFrame(False, index=out.index, columns=out.columns)
    if small:
        for c in ("estimate", "lower", "upper"):
            hidden[c] = True
            out[c] = np.nan
    obs = (out["metric"] == "observed_rate").to_numpy()
    mean = (out["metric"] == "mean_predicted").to_numpy()
    if not small:
        rate = totals.events_pub / totals.n_pub if totals.n_pub > 0 else np.nan
        out.loc[obs, "estimate"] = rate
        if np.isnan(rate):  # no interval beside a hidden estimate
            for c in ("lower", "upper"):
                hidden.loc[obs, c] = True
                out.loc[obs, c] = np.nan
        out.loc[mean, "estimate"] = expected_rate(
            out.loc[mean, "estimate"], [totals.n] * int(mean.sum()), [totals.n_pub], settings
        )
    return mark_statistics(out, settings, rule=metrics_rule(settings), suppressed=hidden)


def offer_cuts(
    cuts: Cuts,
    rules: Sequence[tuple[str, str, float]],
    dc_thresholds: np.ndarray,
    p: np.ndarray,
    subgroup_threshold: float | None,
) -> Cuts:
    """Offer every cut of an evaluation, most wanted first, and settle them."""
    if subgroup_threshold is not None:
        cuts.add("subgroup", 0, "probability", subgroup_threshold)
    for i, (_label, scale, t) in enumerate(rules):
        cuts.add("alert", i, scale, t)
    for t in calibration_edges(p):
        cuts.add("calibration", float(t), "probability", float(t))
    for t in dc_thresholds:
        cuts.add("decision", float(t), "probability", float(t))
    for t in curve_edges(p):
        cuts.add("curve", float(t), "probability", float(t))
    q = np.unique(round_cut(np.quantile(p, np.arange(1, _ROC_CUTS) / _ROC_CUTS)))
    for t in q[(q > 0) & (q < 1)]:
        cuts.add("roc", float(t), "probability", float(t))
    return cuts.settle()
