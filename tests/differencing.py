"""A differencing attacker, for the disclosure tests.

Written from the attacker's side, independently of riskscore's disclosure code: it
knows only the published numbers, the published rules (threshold, rounding), and
how the cells of an output relate (a total is the sum of its cells, a complement is
a total minus a part, nested rows differ by the rows between them). It works out
every count it can by linear programming over those relations (which covers
totals minus cells, complements, consecutive rows and any other linear
combination), and inverts published rates into the count pairs that give them.

A test then checks its findings against the exact counts: no count from 1 to
``min_count - 1`` may come out exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog


def rounding_interval(value: float, round_to: int) -> tuple[int, int]:
    """Integers that round half up to ``value`` (a multiple of ``round_to``)."""
    lo = math.ceil(value - round_to / 2)
    hi = math.ceil(value + round_to / 2) - 1
    return max(lo, 0), hi


@dataclass
class Attacker:
    """Variables are counts (non-negative); published cells bound them; relations tie them."""

    min_count: int
    round_to: int
    names: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    lo: list[float] = field(default_factory=list)
    hi: list[float] = field(default_factory=list)
    rows: list[dict[int, float]] = field(default_factory=list)
    truth: dict[str, int] = field(default_factory=dict)
    shown: dict[str, float] = field(default_factory=dict)
    rates: list[tuple[str, str, str, float, float]] = field(default_factory=list)

    def var(self, name: str, truth: int | None = None) -> str:
        if name not in self.index:
            self.index[name] = len(self.names)
            self.names.append(name)
            self.lo.append(0.0)
            self.hi.append(math.inf)
        if truth is not None:
            self.truth[name] = int(truth)
        return name

    def cell(self, name: str, published, truth: int) -> str:
        """A published cell (a number, or missing when suppressed) with its exact count."""
        self.var(name, truth)
        if published is None or (isinstance(published, float) and math.isnan(published)):
            return name
        v = float(published)
        lo, hi = rounding_interval(v, self.round_to)
        if v == 0:
            lo, hi = 0, 0  # counts from 1 to min_count - 1 would have been suppressed
        else:
            lo = max(lo, self.min_count)
        i = self.index[name]
        self.lo[i], self.hi[i] = max(self.lo[i], lo), min(self.hi[i], hi)
        self.shown[name] = v
        return name

    def total(self, total: str, members: list[str], *, exact: bool = True, rest: str = "") -> None:
        """``total = sum(members)`` (exact) or ``total = sum(members) + rest`` (a complement)."""
        row = {self.index[total]: 1.0}
        for m in members:
            row[self.index[m]] = row.get(self.index[m], 0.0) - 1.0
        if not exact:
            name = rest or f"{total} - ({' + '.join(members)})"
            self.var(name)
            row[self.index[name]] = row.get(self.index[name], 0.0) - 1.0
        self.rows.append(row)

    def rate(self, name: str, numerator: str, denominator: str, value, scale: float = 1.0):
        """A published rate; kept for :meth:`invert_rates`."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        self.rates.append((name, numerator, denominator, float(value), scale))

    # -- attacks ------------------------------------------------------------------------

    def _lp_bounds(self, targets: list[str]) -> dict[str, tuple[float, float]]:
        n = len(self.names)
        a_eq = np.zeros((len(self.rows), n))
        for r, row in enumerate(self.rows):
            for j, c in row.items():
                a_eq[r, j] = c
        b_eq = np.zeros(len(self.rows))
        bounds = [
            (lo, None if math.isinf(hi) else hi) for lo, hi in zip(self.lo, self.hi, strict=True)
        ]
        out = {}
        for name in targets:
            c = np.zeros(n)
            c[self.index[name]] = 1.0
            kw = dict(A_eq=a_eq if len(self.rows) else None, b_eq=b_eq if len(self.rows) else None)
            lo = linprog(c, bounds=bounds, method="highs", **kw)
            hi = linprog(-c, bounds=bounds, method="highs", **kw)
            assert lo.status in (0, 3) and hi.status in (0, 3), "the attacker's model is infeasible"
            out[name] = (
                lo.fun if lo.status == 0 else -math.inf,
                -hi.fun if hi.status == 0 else math.inf,
            )
        return out

    def recovered(self, only_small: bool = False) -> dict[str, int]:
        """Every unpublished count (hidden cell, complement, band) the relations pin down.

        ``only_small`` tries only the counts whose exact value is from 1 to
        ``min_count - 1`` (the test's shortcut: others are no disclosure).
        """
        targets = [n for n in self.names if n not in self.shown and n in self.truth]
        if only_small:
            targets = [n for n in targets if 1 <= self.truth[n] < self.min_count]
        found = {}
        for name, (lo, hi) in self._lp_bounds(targets).items():
            if (
                math.isfinite(lo)
                and math.isfinite(hi)
                and math.ceil(lo - 1e-6) == math.floor(hi + 1e-6)
            ):
                found[name] = int(math.ceil(lo - 1e-6))
        return found

    def invert_rates(self) -> dict[str, tuple[int, int]]:
        """Rates whose only explanation within the rounding is one exact count pair."""
        found = {}
        for name, num, den, value, scale in self.rates:
            i, j = self.index[num], self.index[den]
            if math.isinf(self.hi[i]) or math.isinf(self.hi[j]):
                continue
            pairs = [
                (a, b)
                for b in range(int(self.lo[j]), int(self.hi[j]) + 1)
                if b > 0
                for a in range(int(self.lo[i]), int(self.hi[i]) + 1)
                if abs(scale * a / b - value) <= 1e-12 * max(1.0, abs(value))
            ]
            if len(pairs) == 1:
                found[name] = pairs[0]
        return found

    # -- verdicts -----------------------------------------------------------------------

    def small_counts_recovered(self) -> dict[str, int]:
        """Exact counts from 1 to min_count - 1 the attacker gets right (a disclosure)."""
        got = self.recovered(only_small=True)
        for name, value in got.items():
            assert value == self.truth[name], f"the attacker is unsound on {name}"
        return {k: v for k, v in got.items() if 1 <= self.truth[k] < self.min_count}

    def rates_inverted(self) -> dict[str, tuple[int, int]]:
        """Rates that give back exact counts the rounding hid (a disclosure)."""
        out = {}
        for name, (a, b) in self.invert_rates().items():
            _, num, den, _, _ = next(r for r in self.rates if r[0] == name)
            exact = (self.truth.get(num), self.truth.get(den))
            shown = (self.shown.get(num), self.shown.get(den))
            if (a, b) == exact and (a, b) != shown:
                out[name] = (a, b)
        return out

    @property
    def n_published(self) -> int:
        return len(self.shown)
