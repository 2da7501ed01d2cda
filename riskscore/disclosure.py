"""Statistical disclosure control and provenance for everything that leaves the library.

One rule covers every number riskscore publishes (cohort tables, evaluation tables,
subgroup metrics, model cards, reports and written tables). Each number is one of:

- a **disclosure-controlled count**: counts from 1 to ``min_count - 1`` are
  suppressed (primary suppression); further cells are suppressed so that no hidden
  cell can be worked out from the published ones (secondary suppression, below);
  every published count is rounded to the nearest ``round_to``;
- a **rate computed only from published counts** (``rate_columns={"rate": [num,
  den]}``): recomputed from the rounded, suppressed counts, so it cannot give back
  the exact counts it was computed from;
- a **statistic with a minimum cell size** behind it (a median, an AUROC, an
  interval): published only where every count it rests on is published.

Secondary suppression protects each hidden cell against subtraction from every
*margin* of its table, found **by structure** (a row or column that equals the sum of
others in its group is a margin whatever it is called; labels such as "Total" or
"Overall" and explicit ``total_rows`` only add to what the structure shows), and
against **complements** declared per table (``total_columns={"n_crossings":
["n_false_alarms"]}``: the unpublished remainder, here the true alarms, is a count
too, and a small one is protected like a published cell). Tables published together
(the tables of one report) are protected together by :func:`disclose_tables`, which
also takes relations *between* tables. Nested counts (alerts at a series of
thresholds) are protected by :func:`protect_nested`: consecutive published rows
never differ by a small count.

Settings below the floors (``min_count`` under :data:`MIN_COUNT_FLOOR`) are refused.
Work inside the secure environment may turn control off explicitly
(``disclosure=False``); such a table is stamped by :func:`mark_undisclosed` and says
**NOT FOR RELEASE** on its face wherever it is written or rendered.

What was done is stamped on each table in ``df.attrs["riskscore_disclosure"]``: the
settings, the relations protected against, the rates recomputed and a manifest of
every hidden cell, which :func:`disclosure_manifest` returns for output checkers. The
manifest never holds a value and does not say which hidden cells were the small ones
(primary) and which protect them (secondary): that would narrow a hidden cell down.

:func:`check_publishable` is the one check every report renderer and writer runs;
:func:`write_table` writes formula-safe CSV (cells starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return are prefixed with ``'``, as OWASP advises) with
a provenance sidecar, and :func:`read_table` reads it back exactly.

What this module does not do: it does not solve the general linked-tables problem by
linear programming (as tau-argus or sdcTable do). Protection holds for the relations
it knows: margins found by structure or label, declared complements and links, and
nested rows. docs/disclosure.md lists the rules, the floors and what is left to
rounding.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskscore._names import data_dictionary
from riskscore._params import POSITIVE_INT, POSITIVE_REAL, validate_params
from riskscore._paths import output_file, writing
from riskscore._privacy_rules import (
    FREE_TEXT_CHARS,
    FREE_TEXT_WORDS,
    check_allow,
    mask_value,
    scan_identifying,
    where_text,
)
from riskscore._version import __version__
from riskscore.errors import DisclosureError, MissingFileError, ParameterError
from riskscore.schema import ALLOWED

__all__ = [
    "DISCLOSURE_ATTR",
    "UNDISCLOSED_WARNING",
    "MIN_COUNT_FLOOR",
    "ROUND_TO_FLOOR",
    "SUPPRESSED_MARK",
    "DisclosureSettings",
    "describe_settings",
    "settings_for",
    "disclose",
    "disclose_tables",
    "apply_disclosure",
    "mark_undisclosed",
    "mark_statistics",
    "protect_nested",
    "rates_from_published",
    "suppress_statistics",
    "disclosure_manifest",
    "check_disclosure",
    "check_publishable",
    "hash_input",
    "provenance",
    "write_table",
    "read_table",
    "neutralise_formula",
    "restore_formula",
    "SYNTHETIC_ATTR",
    "SYNTHETIC_LINE",
    "mark_synthetic",
    "is_synthetic",
    "synthetic_note",
    "names_a_count",
    "names_case_ids",
    "key_findings",
]

#: Key in ``DataFrame.attrs`` under which the disclosure stamp is kept.
DISCLOSURE_ATTR = "riskscore_disclosure"

#: Key in ``attrs`` that marks data (and everything made from it) as synthetic.
SYNTHETIC_ATTR = "riskscore_synthetic"

#: What an output made from synthetic data says on its face.
SYNTHETIC_LINE = (
    "SYNTHETIC DATA - made by riskscore from invented records; says nothing about real children"
)

#: What an output made without disclosure control says on its face.
UNDISCLOSED_WARNING = (
    "DISCLOSURE CONTROL OFF - NOT FOR RELEASE: individual-level or unprotected output; "
    "keep inside the secure environment"
)

#: Smallest ``min_count`` accepted: below it nothing is protected (see docs/disclosure.md).
MIN_COUNT_FLOOR = 5

#: Smallest ``round_to`` accepted (1 means no rounding).
ROUND_TO_FLOOR = 1

#: Marker written in a CSV for a suppressed cell (the GSS "[c]" for confidential).
SUPPRESSED_MARK = "[c]"

# One reason for every hidden count: saying which were small (primary) and which
# protect them (secondary) would narrow a hidden cell down when the margins are known.
REASON_SUPPRESSED = (
    "suppressed: below min_count, or hidden so that no such count can be worked out "
    "from totals, complements or neighbouring rows"
)
REASON_DERIVED = "derived: statistic resting on a suppressed count"
REASON_RATE = "recomputed: from the published (rounded, suppressed) counts"
REASON_COMPUTED = "computed: from the published counts only"

_MANIFEST_COLUMNS = ["row", "key", "column", "reason"]

# Key values that mark a total row. A hint only: totals are found by structure too.
DEFAULT_TOTAL_LABELS = (
    "Total",
    "Totals",
    "All",
    "Overall",
    "Grand total",
    "Sum",
    "Subtotal",
    "All children",
    "All cases",
    "Everyone",
)

# Names that say a column counts something. Anything else holding integers is
# ambiguous (a key such as imd_quintile, or an unnamed count), and guessing wrong
# would either leak a small count or mangle a key, so inference refuses it.
_COUNT_WORDS = (
    "n|count|counts|number|num|freq|frequency|total|numerator|denominator|cases|events|"
    "alerts|alarms|crossings|children|people|persons|outcomes|deaths|referrals|"
    "opportunities|records|rows|tp|fp|tn|fn|positives|negatives"
)
_COUNT_NAME = re.compile(
    rf"^(?:{_COUNT_WORDS})$|^(?:n|count|num|number)_|_(?:{_COUNT_WORDS})$", re.IGNORECASE
)


def names_a_count(name: str) -> bool:
    """Whether a column or entry name says it counts something (as disclose infers counts).

    ``n``, ``count``, ``cases``, ``events`` ... whole, or as ``n_*``, ``count_*``,
    ``*_events``, ``*_children`` ...; anything else holding whole numbers is ambiguous.

    Examples
    --------
    >>> [names_a_count(c) for c in ("n_cases", "events", "imd_quintile")]
    [True, True, False]
    """
    return bool(_COUNT_NAME.search(str(name)))


def names_case_ids(column: Any) -> bool:
    """Whether a column's name says it holds case ids, whatever its case and separators.

    ``case_id``, ``CaseId``, ``case id``, ``case-identifier``: :func:`disclose` refuses
    such a key (a row per case is case-level data), and no allowance lets it through.

    Examples
    --------
    >>> [names_case_ids(c) for c in ("case_id", "CaseId", "case id", "cases")]
    [True, True, True, False]
    """
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(column)).casefold()
    return "caseid" in re.sub(r"[^a-z0-9]+", "", spaced)


# Names that say a column is a statistic, so whole-number values there are not counts.
_STAT_NAME = re.compile(
    r"median|mean|average|avg|share|rate|ratio|prop|percent|pct|auroc|auc|brier|slope|"
    r"intercept|estimate|lower|upper|quantile|percentile|std|sd|var|min|max|score|"
    r"probability|risk|benefit|threshold|days|weeks|years|age|lead|difference",
    re.IGNORECASE,
)

# Parameter names that could carry a pseudonymisation key; keys never appear in output.
_SECRET_NAME = re.compile(
    r"salt|secret|password|passphrase|token|pseudonymi[sz]ation_key|hmac|api_key|private_key",
    re.IGNORECASE,
)


@validate_params(
    {"min_count": [POSITIVE_INT], "round_to": [POSITIVE_INT], "suppress_zero": ["boolean"]}
)
@dataclass(frozen=True)
class DisclosureSettings:
    """Thresholds of statistical disclosure control.

    Parameters
    ----------
    min_count : int, default=10
        Counts from 1 to ``min_count - 1`` are suppressed. At least
        :data:`MIN_COUNT_FLOOR` (5); the default follows the threshold of 10 of the
        ONS Secure Research Service and the SDC handbook.
    round_to : int, default=5
        Published counts are rounded to the nearest multiple (halves upwards);
        1 means no rounding.
    suppress_zero : bool, default=False
        Also suppress zero counts. Off by default: most secure environments allow
        true zeros, and suppression decisions never rest on a zero.

    Raises
    ------
    DisclosureError
        Settings below the floors, or a ``round_to`` that rounds ``min_count``
        itself down (published counts could then fall below the threshold). To
        work without control inside the secure environment, pass
        ``disclosure=False`` instead: every output then says NOT FOR RELEASE.

    Examples
    --------
    >>> DisclosureSettings(min_count=5, round_to=5).min_count
    5
    """

    min_count: int = 10
    round_to: int = 5
    suppress_zero: bool = False

    def __post_init__(self) -> None:
        for name, floor in (("min_count", MIN_COUNT_FLOOR), ("round_to", ROUND_TO_FLOOR)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise DisclosureError(f"{name} must be a whole number, got {value!r}")
            if value >= _EXACT_COUNT_LIMIT:
                raise DisclosureError(
                    f"{name}={value!r} is too large: no count of people or events is near "
                    f"2**53; use e.g. {name}={10 if name == 'min_count' else 5}"
                )
            if value < floor:
                extra = (
                    "; use round_to=1 for no rounding"
                    if name == "round_to"
                    else f": counts below {floor} identify people in any secure environment "
                    "(the ONS Secure Research Service and the SDC handbook use a threshold "
                    "of 10; OpenSAFELY redacts counts up to 7 and rounds to 5; see "
                    "docs/disclosure.md)"
                )
                raise DisclosureError(
                    f"{name}={value!r} is below the floor of {floor}{extra}. To work without "
                    "disclosure control inside the secure environment, pass disclosure=False "
                    "explicitly: every output is then stamped NOT FOR RELEASE."
                )
        rounded = _round_half_up(np.array([float(self.min_count)]), self.round_to)[0]
        if rounded < self.min_count:
            # Monotone rounding keeps every count >= min_count at or above min_count
            # exactly when min_count itself does not round down.
            raise DisclosureError(
                f"round_to={self.round_to} rounds a count of min_count={self.min_count} down "
                f"to {int(rounded)}, so published counts could fall below the threshold; "
                "choose min_count a multiple of round_to (for example 10 and 5)"
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (for provenance files).

        Examples
        --------
        >>> DisclosureSettings().to_dict()["round_to"]
        5
        """
        return {k: (bool(v) if isinstance(v, bool) else int(v)) for k, v in asdict(self).items()}


def settings_for(disclosure: Any) -> DisclosureSettings | None:
    """The settings a ``disclosure=`` argument stands for; None for ``False`` (control off).

    ``True`` (or None) is the default settings; a :class:`DisclosureSettings` or a
    dict of its fields is checked against the floors.

    Examples
    --------
    >>> settings_for({"min_count": 10, "round_to": 1}).round_to
    1
    >>> settings_for(False) is None
    True
    """
    if disclosure is False:
        return None
    if disclosure is True or disclosure is None:
        return DisclosureSettings()
    if isinstance(disclosure, DisclosureSettings):
        return disclosure
    if isinstance(disclosure, Mapping):
        keys = {"min_count", "round_to", "suppress_zero"}
        return DisclosureSettings(**{k: v for k, v in disclosure.items() if k in keys})
    raise DisclosureError(
        f"disclosure must be True, False, DisclosureSettings or a dict, got {disclosure!r}"
    )


def describe_settings(settings: DisclosureSettings | Mapping[str, Any] | None) -> str:
    """One sentence saying what disclosure control did, for reports and notebooks.

    Parameters
    ----------
    settings : DisclosureSettings, dict or None
        None (or ``{"applied": False}``) describes output made with control off.

    Returns
    -------
    str

    Examples
    --------
    >>> describe_settings(DisclosureSettings())[:48]
    'Counts from 1 to 9 are suppressed (shown as [c])'
    >>> describe_settings(None)[:15]
    'DISCLOSURE CONT'
    """
    if settings is None or (isinstance(settings, Mapping) and settings.get("applied") is False):
        return UNDISCLOSED_WARNING + "."
    s = settings if isinstance(settings, DisclosureSettings) else settings_for(dict(settings))
    assert s is not None
    rounding = (
        "published counts are not rounded"
        if s.round_to == 1
        else f"published counts are rounded to the nearest {s.round_to}"
    )
    zeros = " Zero counts are suppressed too." if s.suppress_zero else ""
    return (
        f"Counts from 1 to {s.min_count - 1} are suppressed (shown as {SUPPRESSED_MARK}); "
        "further cells are hidden so that none of them can be worked out from totals, "
        f"complements or neighbouring rows; {rounding}. Rates are computed from the "
        "published counts, and other statistics are shown only where every count they "
        f"rest on is published.{zeros}"
    )


def _round_half_up(values: np.ndarray, round_to: int) -> np.ndarray:
    if round_to == 1:
        return values
    # fmod is exact for floats, so whole counts below 2**53 round exactly; dividing
    # first (values / round_to + 0.5) loses the remainder near 2**53 and rounds the
    # wrong way.
    rest = np.fmod(values, round_to)
    return values - rest + np.where(2 * rest >= round_to, round_to, 0)


def _is_key_dtype(series: pd.Series) -> bool:
    # A duration (a median lead time) is a statistic, not a key.
    if pd.api.types.is_timedelta64_dtype(series):
        return False
    return pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series)


def _is_date_dtype(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series) or isinstance(series.dtype, pd.PeriodDtype)


def _is_number_dtype(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _whole_numbers(series: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(series):
        return True
    if not pd.api.types.is_float_dtype(series):
        return False
    v = series.to_numpy(dtype=float, na_value=np.nan)
    v = v[np.isfinite(v)]
    return bool(v.size) and bool(np.all(v == np.round(v))) and bool(np.all(v >= 0))


def _first_rows(mask: np.ndarray, index: pd.Index, k: int = 5) -> str:
    return ", ".join(repr(x) for x in index[np.flatnonzero(mask)[:k]])


def _as_list(value: Any) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value)


def _check_columns(table: pd.DataFrame, names: Sequence[str], what: str) -> None:
    missing = [c for c in names if c not in table.columns]
    if missing:
        raise DisclosureError(
            f"{what} names column(s) {missing} not in the table; "
            f"its columns are {list(table.columns)}"
        )


def _resolve_columns(
    table: pd.DataFrame,
    count_columns: Any,
    rate_columns: Any,
    by: Any,
    exclude: Sequence[str] = (),
) -> tuple[list[str], list[str], dict[str, list[str]], bool]:
    """(counts, keys, statistic -> source counts, whether statistics were declared)."""
    counts = _as_list(count_columns)
    by_list = _as_list(by)
    if counts is not None:
        _check_columns(table, counts, "count_columns")
    if by_list is not None:
        _check_columns(table, by_list, "by")
    if by_list is None:
        by_list = [c for c in table.columns if _is_key_dtype(table[c]) and c not in (counts or [])]
        # a date may label the groups (a month) or be a group's first or last date, which
        # is one child's: only the caller knows, so it is never guessed to be a key
        dates = [c for c in by_list if c not in exclude and _is_date_dtype(table[c])]
        if dates:
            raise DisclosureError(
                f"column(s) {dates} hold dates; riskscore does not guess whether a date labels "
                "the groups. Fix: pass by=[...] naming the key columns (a month or a week that "
                "labels the groups may be one), or leave the date out: a group's first or "
                "last date is one child's date and cannot be published"
            )
    explicit_rates = rate_columns is not None
    rate_names = (
        list(rate_columns) if isinstance(rate_columns, Mapping) else _as_list(rate_columns) or []
    )
    _check_columns(table, rate_names, "rate_columns")
    if _as_list(by) is not None:
        # columns that are neither keys, counts nor rates: only statistics may be there
        undeclared = [
            c
            for c in table.columns
            if c not in by_list
            and c not in (counts or [])
            and c not in rate_names
            and c not in exclude
        ]
        # a date that does not label the groups is a first, last or some one child's
        # date: it would leave as it is, even beside a suppressed count
        dates = [c for c in undeclared if _is_date_dtype(table[c])]
        if dates:
            raise DisclosureError(
                f"column(s) {dates} hold dates but are not keys (by={by_list}): a first or last "
                "date of a group is one child's date, and it would be published as it is. Fix: "
                "add the column to by= if it labels the groups (a month, a week), or leave it out"
            )
        # text (or a flag) that is not a key is no label of the groups: it may be a case
        # id or a note written beside the counts, and would be published as it is
        labels = [c for c in undeclared if _is_key_dtype(table[c])]
        if labels:
            raise DisclosureError(
                f"disclose(): column(s) {labels} hold text or flags but are not keys "
                f"(by={by_list}): a column beside the counts that is neither a key nor a count "
                "or statistic (an example case, a note) would be published as it is. Fix: add "
                "the column to by= if it labels the groups, or drop it before disclosing"
            )
    if counts is None:
        counts, ambiguous = [], []
        for c in table.columns:
            if c in by_list or c in rate_names or not _is_number_dtype(table[c]):
                continue
            if _COUNT_NAME.search(str(c)):
                counts.append(c)
            elif pd.api.types.is_integer_dtype(table[c]):
                ambiguous.append(c)
        if ambiguous:
            raise DisclosureError(
                f"column(s) {ambiguous} hold whole numbers but their names do not say whether "
                "they are counts; pass count_columns=[...] for counts and by=[...] for keys"
            )
    overlap = set(counts) & (set(by_list) | set(rate_names))
    if overlap:
        raise DisclosureError(
            f"column(s) {sorted(overlap)} are given both as counts and as keys or rates"
        )
    if not counts:
        raise DisclosureError(
            "no count columns found: name them with count_columns=[...] (inferred names are "
            "like n, n_*, count*, *_count, cases, events, alerts)"
        )
    derived: dict[str, list[str]] = {}
    if isinstance(rate_columns, Mapping):
        derived = {str(k): _as_list(v) or [] for k, v in rate_columns.items()}
        for rate, sources in derived.items():
            bad = [s for s in sources if s not in counts]
            if bad:
                raise DisclosureError(
                    f"rate column {rate!r} derives from {bad}, which are not count columns "
                    f"({counts}); add them to count_columns"
                )
    elif explicit_rates:
        derived = {r: list(counts) for r in rate_names}
    # Every other statistic describes the same units as the counts in its row (a
    # share, a mean, an AUROC), so a suppressed count takes it down with it: no
    # numeric column leaves unclassified.
    inferred = {
        c: list(counts)
        for c in table.columns
        if c not in counts
        and c not in by_list
        and c not in derived
        and c not in exclude
        and not _is_key_dtype(table[c])
    }
    # A float column of whole numbers with a name that says neither count nor
    # statistic may be a count in disguise: published raw it would leak.
    hidden_counts = [
        c for c in inferred if not _STAT_NAME.search(str(c)) and _whole_numbers(table[c])
    ]
    if hidden_counts:
        raise DisclosureError(
            f"column(s) {hidden_counts} hold whole numbers but their names say neither "
            "count nor statistic; pass count_columns=[...] if they count anything, or "
            "rate_columns={...} to declare them statistics"
        )
    derived.update(inferred)
    return counts, by_list, derived, explicit_rates


#: Counts from here on are refused: float64 holds every whole number below 2**53 only.
_EXACT_COUNT_LIMIT = 2**53


def _count_matrix(table: pd.DataFrame, counts: list[str]) -> np.ndarray:
    values = np.empty((len(table), len(counts)), dtype=float)
    for j, c in enumerate(counts):
        col = table[c]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise DisclosureError(
                f"count column {c!r} has dtype {col.dtype}, not numbers; convert it or leave "
                "it out of count_columns"
            )
        v = col.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(v)
        bad = ~np.isnan(v) & (~finite | (np.where(finite, v, 0) < 0))
        bad |= finite & (v != np.round(v))
        if bad.any():
            raise DisclosureError(
                f"count column {c!r} holds values that are not whole non-negative counts in "
                f"row(s) {_first_rows(bad, table.index)}; a count column must hold counts"
            )
        # Beyond 2**53 a float64 no longer holds every whole number: such a count
        # would be rounded and checked on an approximation of itself.
        huge = finite & (v >= _EXACT_COUNT_LIMIT)
        if huge.any():
            raise DisclosureError(
                f"count column {c!r} holds counts of 2**53 ({_EXACT_COUNT_LIMIT}) or more in "
                f"row(s) {_first_rows(huge, table.index)}, too large to round and check "
                "exactly; counts of people or events are never this large: check the column "
                "(an id or a sum of amounts?) and leave it out of count_columns"
            )
        values[:, j] = v
    return values


def _cell_mask(spec: Any, table: pd.DataFrame, counts: list[str], what: str) -> np.ndarray:
    """A (rows, count columns) mask from a row mask, a list of row positions, or a frame."""
    n, m = len(table), len(counts)
    if spec is None:
        return np.zeros((n, m), dtype=bool)
    if isinstance(spec, pd.DataFrame):
        out = np.zeros((n, m), dtype=bool)
        for j, c in enumerate(counts):
            if c in spec.columns:
                out[:, j] = spec[c].to_numpy(dtype=bool)
        return out
    arr = np.asarray(spec)
    if arr.dtype == bool:
        if arr.shape == (n,):
            return np.repeat(arr[:, None], m, axis=1)
        if arr.shape == (n, m):
            return arr.copy()
        raise DisclosureError(f"{what} mask has shape {arr.shape}; need ({n},) or ({n}, {m})")
    out = np.zeros((n, m), dtype=bool)
    out[arr.astype(int)] = True
    return out


# -- relations between cells ------------------------------------------------------------


@dataclass
class _Relations:
    """Groups of cells adding up to a published cell, in flat cell numbering.

    A cell is ``row * n_counts + column``; unpublished remainders of complements
    ("implicit" cells) are numbered after the table's cells.
    """

    n_cells: int
    total: list[np.ndarray] = field(default_factory=list)
    member_group: list[np.ndarray] = field(default_factory=list)
    member_cell: list[np.ndarray] = field(default_factory=list)
    n_groups: int = 0
    implicit_values: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_many(self, totals: np.ndarray, members: list[np.ndarray]) -> None:
        """One group per entry of ``totals``; ``members[k]`` are arrays aligned with it."""
        totals = np.asarray(totals, dtype=np.int64)
        if totals.size == 0:
            return
        ids = np.arange(totals.size, dtype=np.int64) + self.n_groups
        self.total.append(totals)
        for m in members:
            self.member_group.append(ids)
            self.member_cell.append(np.asarray(m, dtype=np.int64))
        self.n_groups += totals.size

    def add_group(self, total: int, members: Sequence[int]) -> None:
        self.total.append(np.array([total], dtype=np.int64))
        self.member_group.append(np.full(len(members), self.n_groups, dtype=np.int64))
        self.member_cell.append(np.asarray(members, dtype=np.int64))
        self.n_groups += 1

    def implicit(self, value: float) -> int:
        self.implicit_values.append(float(value))
        return self.n_cells + len(self.implicit_values) - 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.total:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        return (
            np.concatenate(self.total),
            np.concatenate(self.member_group),
            np.concatenate(self.member_cell),
        )


def _key_frame(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: table[c].astype("string").fillna("\x00NA").to_numpy() for c in by},
        index=np.arange(len(table)),
    )


def _label_flags(table: pd.DataFrame, by: list[str], total_labels: Sequence[str]) -> np.ndarray:
    labels = {str(x).strip().casefold() for x in total_labels}
    flags = np.zeros((len(table), len(by)), dtype=bool)
    for k, c in enumerate(by):
        text = table[c].astype("string").str.strip().str.casefold()
        flags[:, k] = text.isin(labels).fillna(False).to_numpy(dtype=bool)
    return flags


def _label_margins(
    rel: _Relations,
    table: pd.DataFrame,
    by: list[str],
    m: int,
    flags: np.ndarray,
    explicit: np.ndarray,
) -> None:
    """Rows labelled as totals, and explicit total rows, with the rows they add up."""
    n = len(table)
    pairs = []  # (total rows, member rows, description)
    if by:
        keys = _key_frame(table, by)
        keys["_row"] = np.arange(n)
        for k, c in enumerate(by):
            others = [o for o in by if o != c]
            tot = keys[flags[:, k] & ~explicit]
            mem = keys[~flags[:, k] & ~explicit]
            if tot.empty or mem.empty:
                continue
            if others:
                merged = tot.merge(mem, on=others, suffixes=("_t", "_m"))
            else:
                merged = tot.merge(mem, how="cross", suffixes=("_t", "_m"))
            if len(merged):
                pairs.append((merged["_row_t"].to_numpy(), merged["_row_m"].to_numpy()))
                rel.notes.append(f"rows labelled as totals in {c!r} (by label)")
    ex_rows = np.flatnonzero(explicit)
    plain_rows = np.flatnonzero(~(flags.any(axis=1) | explicit))
    if ex_rows.size and plain_rows.size:
        t, mm = np.meshgrid(ex_rows, plain_rows, indexing="ij")
        pairs.append((t.ravel(), mm.ravel()))
        rel.notes.append(f"explicit total rows {ex_rows.tolist()[:10]}")
    for t_rows, m_rows in pairs:
        t_unique, g_local = np.unique(t_rows, return_inverse=True)
        for j in range(m):
            ids = g_local + rel.n_groups
            rel.total.append(t_unique * m + j)
            rel.member_group.append(ids)
            rel.member_cell.append(m_rows * m + j)
            rel.n_groups += t_unique.size


def _structural_margins(
    rel: _Relations,
    table: pd.DataFrame,
    by: list[str],
    values: np.ndarray,
    excluded: np.ndarray,
    counts: list[str],
) -> None:
    """Rows (per key group) and columns that equal the sum of the others: margins.

    Rows: within each group of rows sharing every key but one (and within the
    whole table), a row whose count is the sum of the group's other rows is their
    total, whatever its label. Columns: a count column equal in every row to the
    sum of some other count columns is their total.
    """
    n, m = values.shape
    if n >= 2:
        groupings: list[list[str]] = [[o for o in by if o != c] for c in by] if by else []
        if [] not in groupings:
            groupings.append([])
        keys = _key_frame(table, by) if by else pd.DataFrame(index=np.arange(n))
        rows_ok = ~excluded
        for others in groupings:
            if others:
                gid = keys[others].groupby(others, sort=False).ngroup().to_numpy()
            else:
                gid = np.zeros(n, dtype=np.int64)
            gid = np.where(rows_ok, gid, -1)
            valid = gid >= 0
            if not valid.any():
                continue
            n_g = int(gid.max()) + 1
            size = np.bincount(gid[valid], minlength=n_g)
            for j in range(m):
                v = values[:, j]
                nan_in = np.bincount(gid[valid], weights=np.isnan(v[valid]), minlength=n_g)
                s = np.bincount(gid[valid], weights=np.nan_to_num(v[valid]), minlength=n_g)
                cand = valid & ~np.isnan(v)
                cand[cand] &= (size[gid[cand]] >= 2) & (nan_in[gid[cand]] == 0)
                cand[cand] &= 2 * v[cand] == s[gid[cand]]
                # a group of zeros is "the sum of the others" trivially: nothing to protect
                cand[cand] &= s[gid[cand]] > 0
                if not cand.any():
                    continue
                # one margin per group: the last candidate row
                rows = np.flatnonzero(cand)
                last = pd.Series(rows).groupby(gid[rows]).max().to_numpy()
                for t in last:
                    members = np.flatnonzero((gid == gid[t]) & (np.arange(n) != t))
                    rel.add_group(int(t * m + j), (members * m + j).tolist())
                what = f"by {', '.join(others)}" if others else "in the whole table"
                rel.notes.append(
                    f"{counts[j]}: {len(last)} row(s) equal to the sum of the other rows "
                    f"{what} (by structure)"
                )
    if m >= 2:
        max_size = m - 1 if m <= 8 else 3
        for j in range(m):
            tot = values[:, j]
            others = [k for k in range(m) if k != j]
            for size in range(1, max_size + 1):
                for subset in itertools.combinations(others, size):
                    part = values[:, list(subset)].sum(axis=1)
                    ok = ~np.isnan(tot) & ~np.isnan(part)
                    if ok.sum() == 0 or not (tot[ok] > 0).any():
                        continue
                    if np.array_equal(tot[ok], part[ok]):
                        rows = np.flatnonzero(ok)
                        rel.add_many(rows * m + j, [rows * m + k for k in subset])
                        rel.notes.append(
                            f"{counts[j]} = " + " + ".join(counts[k] for k in subset) + " in "
                            "every row (by structure)"
                        )


def _complement_groups(
    rel: _Relations,
    values: np.ndarray,
    total_cells: np.ndarray,
    member_cells: list[np.ndarray],
    what: str,
) -> None:
    """``total >= sum(members)``: the unpublished remainder is protected like a cell."""
    flat = values.ravel()
    tot = flat[total_cells]
    mem = np.column_stack([flat[c] for c in member_cells]) if member_cells else None
    rest = tot - (mem.sum(axis=1) if mem is not None else 0.0)
    if np.any(rest < 0):
        raise DisclosureError(
            f"{what}: a total is smaller than the sum of the counts declared part of it"
        )
    for k in range(total_cells.size):
        cells = [int(c[k]) for c in member_cells]
        cells.append(rel.implicit(rest[k]))
        rel.add_group(int(total_cells[k]), cells)


def _secondary(
    values: np.ndarray,
    primary: np.ndarray,
    groups: tuple[np.ndarray, np.ndarray, np.ndarray],
    min_count: int,
    implicit: np.ndarray,
    locked: np.ndarray,
) -> np.ndarray:
    """Hide further cells until no hidden cell can be worked out from a group.

    All arrays are flat over the cells (published and implicit). A group (a total
    and the cells adding up to it) is unsafe when exactly one of its cells is
    hidden (it is the total minus, or the sum of, the others) unless that cell is
    an unpublished remainder that is not small, or when its total is published and
    the hidden members' combined count, which the total minus the published
    members reveals, is below ``min_count``. Each pass adds, for every unsafe
    group, its smallest published member, preferring non-zero ones (least
    information lost; a zero adds nothing to the combined count, so it is used only
    to hide a suppressed total), or else the total itself. A newly hidden cell then
    needs protecting in every group it is part of. Each pass hides at least one
    more cell, so this ends. Locked cells (published elsewhere in the same output)
    are never chosen.
    """
    group_total, member_group, member_cell = groups
    hidden = primary | implicit
    if group_total.size == 0:
        return hidden
    # A missing input count is treated as published (as missing): it hides nothing.
    val = np.nan_to_num(values, nan=0.0)
    known = ~np.isnan(values)
    free = implicit & ~primary  # an unpublished remainder that is safe to work out
    n_groups = group_total.size
    m_val = val[member_cell]
    m_free = free[member_cell]
    m_eligible = known[member_cell] & ~implicit[member_cell] & ~locked[member_cell]
    t_eligible = known[group_total] & ~locked[group_total]
    while True:
        m_hid = hidden[member_cell]
        t_hid = hidden[group_total]
        n_hidden = np.bincount(member_group, weights=m_hid, minlength=n_groups)
        n_free = np.bincount(member_group, weights=m_hid & m_free, minlength=n_groups)
        hidden_sum = np.bincount(member_group, weights=m_hid * m_val, minlength=n_groups)
        by_sum = ~t_hid & (n_hidden - n_free >= 1) & (hidden_sum < min_count)
        lone = (n_hidden + t_hid == 1) & ~((n_free == 1) & ~t_hid)
        need = by_sum | lone
        if not need.any():
            break
        eligible = ~m_hid & m_eligible & need[member_group]
        eligible &= (m_val > 0) | ~by_sum[member_group]
        cand = np.flatnonzero(eligible)
        order = np.lexsort((member_cell[cand], m_val[cand], m_val[cand] == 0, member_group[cand]))
        cand = cand[order]
        g = member_group[cand]
        first = np.r_[True, g[1:] != g[:-1]] if cand.size else np.zeros(0, dtype=bool)
        before = int(hidden.sum())
        hidden[member_cell[cand[first]]] = True
        no_candidate = need & ~t_hid & t_eligible
        no_candidate[g[first]] = False
        hidden[group_total[no_candidate]] = True
        if int(hidden.sum()) == before:
            # only cells published elsewhere (locked) are left to hide: never publish
            # a recoverable cell instead
            raise DisclosureError(
                f"cannot protect {int(need.sum())} group(s) of cells: the only cells left to "
                "hide are published elsewhere in the same output"
            )
    return hidden


def _pinned_small(
    values: np.ndarray,
    hidden: np.ndarray,
    groups: tuple[np.ndarray, np.ndarray, np.ndarray],
    settings: DisclosureSettings,
    implicit: np.ndarray,
) -> np.ndarray:
    """Unpublished small counts that the published cells and the groups pin down exactly.

    The check an output checker's linear attack makes, across every group at once
    (the local rules of :func:`_secondary` look at one group at a time, and several
    groups can combine, through hidden margins, into one equation for a cell). Each
    published cell is known only to its rounding interval (0 exactly; otherwise at
    least ``min_count``), an unpublished one is any count from 0; for every
    unpublished count from 1 to ``min_count - 1`` a linear programme finds its least
    and greatest value under the groups' equations. Returns the cells whose two
    values round to the same integer.
    """
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    group_total, member_group, member_cell = groups
    known = ~np.isnan(values)
    unpublished = hidden | implicit | ~known
    targets = np.flatnonzero(unpublished & known & (values >= 1) & (values < settings.min_count))
    found = np.zeros(values.size, dtype=bool)
    if targets.size == 0 or group_total.size == 0:
        return found
    # only the equations that hold: a row taken for a total by its label alone may
    # not be one, and an attacker can use only true relations
    val = np.nan_to_num(values)
    member_sum = np.bincount(member_group, weights=val[member_cell], minlength=group_total.size)
    has_nan = np.bincount(member_group, weights=~known[member_cell], minlength=group_total.size)
    holds = known[group_total] & (has_nan == 0) & np.isclose(val[group_total], member_sum)
    if not holds.any():
        return found
    keep = holds[member_group]
    group_total, member_group, member_cell = (
        group_total[holds],
        np.cumsum(holds)[member_group[keep]] - 1,
        member_cell[keep],
    )
    # a count in no equation that holds can be anything from 0: nothing to solve
    targets = targets[np.isin(targets, np.r_[group_total, member_cell])]
    shown = _round_half_up(val, settings.round_to)
    lo = np.where(
        unpublished, 0.0, np.maximum(np.ceil(shown - settings.round_to / 2), settings.min_count)
    )
    hi = np.where(unpublished, np.inf, np.ceil(shown + settings.round_to / 2) - 1)
    lo[~unpublished & (shown == 0)] = 0.0
    hi[~unpublished & (shown == 0)] = 0.0
    rows = np.r_[np.arange(group_total.size), member_group]
    cols = np.r_[group_total, member_cell]
    coef = np.r_[np.ones(group_total.size), -np.ones(member_cell.size)]
    a_eq = coo_matrix((coef, (rows, cols)), shape=(group_total.size, values.size)).tocsr()
    b_eq = np.zeros(group_total.size)
    bounds = np.column_stack([lo, np.where(np.isinf(hi), None, hi)])
    for t in targets:
        c = np.zeros(values.size)
        c[t] = 1.0
        least = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        # the true count (at least 1) is feasible, so a least value that rounds to 0
        # already leaves two values open: the greatest need not be solved for
        if least.status != 0 or math.ceil(least.fun - 1e-6) < 1:
            continue
        most = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if most.status == 0:
            found[t] = math.ceil(least.fun - 1e-6) == math.floor(-most.fun + 1e-6)
    return found


def _hide_against_pinning(
    values: np.ndarray,
    hidden: np.ndarray,
    primary: np.ndarray,
    groups: tuple[np.ndarray, np.ndarray, np.ndarray],
    settings: DisclosureSettings,
    implicit: np.ndarray,
    locked: np.ndarray,
) -> np.ndarray:
    """Hide further cells until no small count is pinned down by the groups together."""
    group_total, member_group, member_cell = groups
    known = ~np.isnan(values)
    val = np.nan_to_num(values)
    while True:
        pinned = np.flatnonzero(_pinned_small(values, hidden, groups, settings, implicit))
        if pinned.size == 0:
            return hidden
        # the groups a pinned cell belongs to (as a member or as their total); when
        # every cell there is hidden already, the equations that pin it run through
        # groups further out, so the search widens to the groups those cells belong to
        cells = pinned
        gs = np.zeros(0, dtype=np.int64)
        while True:
            wider = np.union1d(
                member_group[np.isin(member_cell, cells)],
                np.flatnonzero(np.isin(group_total, cells)),
            )
            if wider.size == gs.size:
                cand = np.zeros(0, dtype=np.int64)
                break
            gs = wider
            cells = np.union1d(member_cell[np.isin(member_group, gs)], group_total[gs])
            cand = cells[known[cells] & ~hidden[cells] & ~implicit[cells] & ~locked[cells]]
            if cand.size:
                break
        if cand.size == 0:
            raise DisclosureError(
                f"cannot protect {pinned.size} small count(s) that the published totals "
                "pin down: the only cells left to hide are published elsewhere in the same "
                "output"
            )
        # the smallest non-zero published cell next to a pinned one (least lost)
        order = np.lexsort((cand, val[cand], val[cand] == 0))
        hidden = hidden.copy()
        hidden[cand[order[0]]] = True
        # the local rules again, around the newly hidden cell (remainders stay free)
        hidden = _secondary(
            values, (hidden & ~implicit) | primary, groups, settings.min_count, implicit, locked
        )


# -- planning one table -----------------------------------------------------------------


@dataclass
class _Ratio:
    numerator: str
    denominator: str
    denominator_row: int | None = None  # a share of one row's count (a total row)
    scale: float = 1.0  # 100 for a percentage


@dataclass
class _Plan:
    """Everything disclosure control needs to know about one table."""

    source: pd.DataFrame
    flat: pd.DataFrame
    counts: list[str]
    by: list[str]
    statistics: dict[str, list[str]]
    ratios: dict[str, _Ratio]
    values: np.ndarray
    rel: _Relations
    hide: np.ndarray
    keep: np.ndarray
    computed: dict[str, str]

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape


def _proportional_to(s: np.ndarray, v: np.ndarray) -> float | None:
    """The constant k with ``s == v / k`` on every row where s is finite, if any."""
    fin = np.isfinite(s)
    if not fin.any() or np.isnan(v[fin]).any():
        return None
    both = fin & (v > 0) & (s > 0)
    if both.sum() < 2:
        return None
    if np.any((v[fin] == 0) != (s[fin] == 0)):
        return None
    k = v[both] / s[both]
    if np.all(np.abs(k - k[0]) <= 1e-9 * abs(k[0])):
        return float(k[0])
    return None


def _detect_ratio(
    flat: pd.DataFrame, stat: str, counts: list[str], values: np.ndarray
) -> _Ratio | None:
    """Is a statistic in fact a ratio of counts (a share)? Then it is recomputed.

    A share published beside rounded counts gives the exact counts back, so a
    statistic that equals one count column over another (or a percentage of it),
    or one column over the count in one row (a share of a total row), is treated
    as that ratio. A statistic proportional to a count over a total the table
    does not hold is refused.
    """
    col = flat[stat]
    if not _is_number_dtype(col) or pd.api.types.is_timedelta64_dtype(col):
        return None
    s = col.to_numpy(dtype=float, na_value=np.nan)
    fin = np.isfinite(s)
    if not fin.any():
        return None
    m = len(counts)
    for a in range(m):
        va = values[:, a]
        for b in range(m):
            if a == b:
                continue
            vb = values[:, b]
            if np.any(fin & ~(vb > 0)) or np.isnan(va[fin]).any():
                continue
            r = va[fin] / vb[fin]
            for scale in (1.0, 100.0):
                if np.all(np.abs(s[fin] - scale * r) <= 1e-12 * np.maximum(1.0, scale * r)):
                    return _Ratio(counts[a], counts[b], None, scale)
    for a in range(m):
        k = _proportional_to(s, values[:, a])
        if k is None:
            continue
        rows = np.flatnonzero(values[:, a] == round(k))
        if abs(k - round(k)) < 1e-6 and rows.size:
            return _Ratio(counts[a], counts[a], int(rows[-1]), 1.0)
        raise DisclosureError(
            f"column {stat!r} is proportional to count column {counts[a]!r} (a share of a "
            f"total of {k:g} the table does not publish): published beside rounded counts it "
            "would give the exact counts back. Publish that total as a row, or declare "
            f"rate_columns={{{stat!r}: [numerator, denominator]}}"
        )
    return None


def _refuse_case_keys(flat: pd.DataFrame, counts: list[Any]) -> None:
    """Refuse a table keyed by case ids (a column or index level named like ``case_id``).

    Disclosure control protects tables of counts over groups; a row per case is
    case-level data, and its ids would leave with the published table. The name is
    read whatever its case and separators (``CaseId``, ``case id``, ``case-identifier``).
    """
    keys = [c for c in flat.columns if c not in counts and names_case_ids(c)]
    if keys:
        raise DisclosureError(
            f"column or index level {keys[0]!r} holds case ids: a table keyed by case is "
            "case-level data, which is never published. Case-level tables stay inside the "
            "secure environment: mark them with mark_undisclosed(table, reason=...) "
            "instead of disclosing them, or aggregate to counts over groups (without the "
            "ids) and disclose those."
        )


# Words of a text about someone (pronouns, reported speech), as opposed to a
# label of a group: "cases with no events (not audited)" has the guard's function
# words ("with", "not") but is a label; "she said the flat was cold" is not.
# A key this long is free text whatever its words (the guard's own bounds for a value).
_NARRATIVE_WORDS = re.compile(
    r"\b(?:he|she|his|her|hers|him|they|them|their|me|my|we|our|you|your|said|says|"
    r"told)\b",
    re.IGNORECASE,
)


def _narrative_keys(problem: dict, keys: pd.DataFrame, name: str) -> dict | None:
    """A guard finding on a key column, with free text narrowed to text about someone.

    The guard takes a value of six or more words with two function words ("with",
    "not", "the") for free text; a key is a label of a group, and labels of a few
    words have them ("cases with no events (not audited)"). In a column the guard
    finds free text in, a key value is free text when it has six or more words and
    speaks of someone (a pronoun, reported speech), or when it is long
    (20 words or 200 characters) whatever its
    words. Every other finding is kept as it is.
    """
    if problem.get("check") != "free_text":
        return problem
    column = next(c for c in keys.columns if str(c) == problem["column"])
    values = keys[column]
    text = values.astype("string").str.strip()
    words = text.str.count(r"\s+").fillna(0).to_numpy() + 1
    chars = text.str.len().fillna(0).to_numpy()
    narrative = text.str.count(_NARRATIVE_WORDS.pattern, flags=re.IGNORECASE).fillna(0)
    about_someone = (words >= 6) & (narrative.to_numpy() >= 1)
    long = (words >= FREE_TEXT_WORDS) | (chars >= FREE_TEXT_CHARS)
    hit = text.notna().to_numpy() & (about_someone | long)
    if not hit.any():
        return None
    rows = np.flatnonzero(hit)
    distinct = text[hit].nunique()
    example = mask_value(text.iloc[rows[0]])
    return {
        **problem,
        "rows": [int(r) for r in rows[:10]],
        "n_rows": int(rows.size),
        "message": (
            f"{name}.{problem['column']}: {distinct:,} distinct value(s) look like free "
            f"text about someone (e.g. {example}); free text routinely names people and "
            f"places; {where_text(rows)}"
        ),
    }


def key_findings(
    table: pd.DataFrame, keys: Sequence[Any], *, allowed=None, name: str = "disclose"
) -> list[dict]:
    """What the identifying-data guard finds in key columns: what :func:`disclose` refuses.

    Keys are published as they are, one row per group, whatever the counts beside
    them: a key of names, NHS numbers, postcodes, contact details, full dates (as
    text) or free text would leave with the table. The keys are read as the guard
    reads the inputs' label columns (by name, and every value by its form; the
    column-level heuristics for unknown columns, which take a column of title-case
    words such as ethnic groups or school names for names, are left out). A date
    column given as a key (a month that labels the groups) is not read as a date of
    an incident, but one named for a birth is refused. Columns in ``allowed``
    (``{column: reason}``, as ``attrs["riskscore_allowed"]`` holds) are not read.

    Returns one finding per problem (``column``, ``check``, ``rows``, ``n_rows`` and a
    ``message`` starting ``name.column:``); empty when the keys may be published.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"area": ["north", "south"], "n": [20, 30]})
    >>> key_findings(t, ["area"])
    []
    >>> [f["check"] for f in key_findings(t.assign(area=["a@b.org", "c@d.org"]), ["area"])]
    ['email']
    """
    keys = list(dict.fromkeys(c for c in keys if c in table.columns))
    if not keys:
        return []
    allowed = check_allow(allowed if isinstance(allowed, Mapping) else None, set(map(str, keys)))
    sub = table.loc[:, keys]
    problems = scan_identifying(
        sub,
        table=name,
        allowed=allowed,
        date_columns=frozenset(str(c) for c in keys if _is_date_dtype(table[c])),
        contract_columns=frozenset(),
        label_columns=frozenset(str(c) for c in keys),
    )
    return [kept for p in problems if (kept := _narrative_keys(p, sub, name)) is not None]


def _refuse_identifying_keys(source: pd.DataFrame, flat: pd.DataFrame, by: list[Any]) -> None:
    """Refuse key columns the identifying-data guard flags (:func:`key_findings`).

    Columns the caller has allowed past the guard (``attrs["riskscore_allowed"]`` of
    ``source``, which frames validated with ``allow=`` carry) are not read; the reason
    is written into the provenance of every written table.
    """
    problems = key_findings(flat, by, allowed=source.attrs.get(ALLOWED))
    if not problems:
        return
    columns = list(dict.fromkeys(p["column"] for p in problems))
    found = "\n".join(f"- {p['message']}" for p in problems)
    example = columns[0]
    dated = any(p["check"] == "full_date" for p in problems)
    month = "; a month that labels the groups may be a date column in by=" if dated else ""
    raise DisclosureError(
        f"disclose(): key column(s) {columns} look identifying; keys are published as they "
        f"are, one row per group, whatever the counts beside them (rows are 0-based "
        f"positions; values are shown masked):\n{found}\nFix: leave the column out of "
        "the keys, or group by something coarser (an area instead of a postcode, a month "
        f"instead of a date{month}); if the heuristic is wrong for a column (school names, "
        "not people), record why before disclosing: "
        f"table.attrs[{ALLOWED!r}] = {{{example!r}: 'why it is safe'}} (the reason is "
        "written into the provenance of every table written from it)."
    )


def _plan(
    table: pd.DataFrame,
    settings: DisclosureSettings,
    *,
    count_columns: Any = None,
    rate_columns: Any = None,
    by: Any = None,
    total_rows: Any = None,
    total_columns: Any = None,
    row_relations: Sequence[tuple[Any, Sequence[Any]]] | None = None,
    total_labels: Sequence[str] = DEFAULT_TOTAL_LABELS,
    find_totals: bool = True,
    hide: Any = None,
    keep: Any = None,
    computed: Mapping[str, str] | None = None,
    statistic_columns: Mapping[str, Sequence[str]] | None = None,
) -> _Plan:
    if not isinstance(table, pd.DataFrame):
        raise DisclosureError(f"disclose() takes a pandas DataFrame, got {type(table).__name__}")
    index_names = [n for n in table.index.names if n is not None]
    if index_names:
        clash = [n for n in index_names if n in table.columns]
        if clash:
            raise DisclosureError(
                f"index level(s) {clash} are also columns; rename one or reset the index"
            )
        flat = table.reset_index()
        by_list = _as_list(by)
        if by_list is None:
            by_list = index_names + [
                c
                for c in table.columns
                if _is_key_dtype(table[c]) and c not in (count_columns or [])
            ]
        else:
            by_list = index_names + [b for b in by_list if b not in index_names]
        by = by_list
    else:
        flat = table.reset_index(drop=True)
    _refuse_case_keys(flat, _as_list(count_columns) or [])
    declared_stats = {str(k): _as_list(v) or [] for k, v in (statistic_columns or {}).items()}
    _check_columns(flat, list(declared_stats), "statistic_columns")
    counts, by_list, derived, _ = _resolve_columns(
        flat, count_columns, rate_columns, by, exclude=[*declared_stats, *(computed or {})]
    )
    _refuse_identifying_keys(table, flat, by_list)
    for stat, sources in declared_stats.items():
        bad = [x for x in sources if x not in counts]
        if bad:
            raise DisclosureError(
                f"statistic column {stat!r} rests on {bad}, which are not count columns ({counts})"
            )
    values = _count_matrix(flat, counts)
    n, m = values.shape

    ratios: dict[str, _Ratio] = {}
    statistics: dict[str, list[str]] = {}
    computed = dict(computed or {})
    for stat, sources in declared_stats.items():
        statistics[stat] = list(sources)
    declared_map = dict(rate_columns) if isinstance(rate_columns, Mapping) else {}
    for stat, sources in derived.items():
        if stat in computed or stat in declared_stats:
            continue
        if stat in declared_map and len(sources) == 2:
            ratios[stat] = _Ratio(sources[0], sources[1])
            continue
        if stat in declared_map:
            # declared with its counts: the caller says it is a statistic, not a share
            statistics[stat] = list(sources)
            continue
        found = _detect_ratio(flat, stat, counts, values)
        if found is not None:
            ratios[stat] = found
        else:
            statistics[stat] = list(sources)

    rel = _Relations(n_cells=n * m)
    explicit = np.zeros(n, dtype=bool) if total_rows is None else _total_row_mask(table, total_rows)
    flags = _label_flags(flat, by_list, total_labels)
    _label_margins(rel, flat, by_list, m, flags, explicit)
    if find_totals:
        _structural_margins(rel, flat, by_list, values, np.zeros(n, dtype=bool), counts)
    pairs = total_columns.items() if isinstance(total_columns, Mapping) else total_columns or ()
    for tot, members in pairs:
        members = _as_list(members) or []
        bad = [c for c in [tot, *members] if c not in counts]
        if bad:
            raise DisclosureError(
                f"total_columns names {bad}, which are not count columns ({counts})"
            )
        rows = np.arange(n)
        _complement_groups(
            rel,
            values,
            rows * m + counts.index(tot),
            [rows * m + counts.index(c) for c in members],
            f"total_columns[{tot!r}]",
        )
        rel.notes.append(
            f"{tot} = " + " + ".join(members) + " + an unpublished remainder (declared complement)"
        )
    positions = {label: i for i, label in enumerate(table.index)}
    for total_label, member_labels in row_relations or ():
        try:
            t = positions[total_label]
            mem = [positions[x] for x in member_labels]
        except KeyError as err:
            raise DisclosureError(
                f"row_relations names row {err.args[0]!r}, not in the table's index"
            ) from None
        for j in range(m):
            _complement_groups(
                rel,
                values,
                np.array([t * m + j]),
                [np.array([r * m + j]) for r in mem],
                f"row_relations[{total_label!r}]",
            )
        rel.notes.append(
            f"row {total_label!r} = rows {list(member_labels)} + an unpublished remainder "
            "(declared complement)"
        )
    return _Plan(
        source=table,
        flat=flat,
        counts=counts,
        by=by_list,
        statistics=statistics,
        ratios=ratios,
        values=values,
        rel=rel,
        hide=_cell_mask(hide, flat, counts, "hide"),
        keep=_cell_mask(keep, flat, counts, "keep"),
        computed=computed,
    )


def _total_row_mask(table: pd.DataFrame, total_rows: Any) -> np.ndarray:
    if isinstance(total_rows, (pd.Series, np.ndarray)) and np.asarray(total_rows).dtype == bool:
        mask = np.asarray(total_rows, dtype=bool)
        if mask.shape != (len(table),):
            raise DisclosureError(
                f"total_rows mask has {mask.shape[0]} entries but the table has {len(table)} rows"
            )
        return mask
    labels = _as_list(total_rows) if not isinstance(total_rows, str) else [total_rows]
    missing = [x for x in labels if x not in table.index]
    if missing:
        raise DisclosureError(
            f"total_rows names index label(s) {missing[:5]} not in the table's index"
        )
    return np.asarray(table.index.isin(labels), dtype=bool)


# -- solving several tables together ------------------------------------------------------


Cell = tuple[str, Any, str]  # (table name, row index label, count column)


def _solve(
    plans: Mapping[str, _Plan],
    links: Sequence[tuple[Cell, Sequence[Cell], bool]],
    settings: DisclosureSettings,
) -> dict[str, np.ndarray]:
    """Hidden count cells of every table, protected together (and across links)."""
    names = list(plans)
    cell_off, n_cells = {}, 0
    for name in names:
        cell_off[name] = n_cells
        n_cells += plans[name].values.size
    imp_off, n_imp = {}, 0
    for name in names:
        imp_off[name] = n_cells + n_imp
        n_imp += len(plans[name].rel.implicit_values)

    def global_cells(name: str, local: np.ndarray) -> np.ndarray:
        size = plans[name].values.size
        return np.where(local < size, local + cell_off[name], local - size + imp_off[name]).astype(
            np.int64
        )

    totals, m_groups, m_cells = [], [], []
    next_group = 0
    for name in names:
        t, g, c = plans[name].rel.arrays()
        if t.size:
            totals.append(global_cells(name, t))
            m_groups.append(g + next_group)
            m_cells.append(global_cells(name, c))
            next_group += t.size

    def cell_index(cell: Cell) -> int:
        tname, row, col = cell
        if tname not in plans:
            raise DisclosureError(f"a link names table {tname!r}, not among {names}")
        plan = plans[tname]
        rows = list(plan.source.index)
        if row not in rows or col not in plan.counts:
            raise DisclosureError(f"a link names cell ({tname!r}, {row!r}, {col!r}), not a count")
        return cell_off[tname] + rows.index(row) * len(plan.counts) + plan.counts.index(col)

    flat_values = np.concatenate(
        [plans[n].values.ravel() for n in names]
        + [np.asarray(plans[n].rel.implicit_values, dtype=float) for n in names]
    )
    link_implicit: list[float] = []
    for total, members, exact in links:
        t = cell_index(total)
        mem = [cell_index(c) for c in members]
        if not exact:
            rest = flat_values[t] - sum(flat_values[c] for c in mem)
            if rest < 0:
                raise DisclosureError(f"link {total!r}: total smaller than the sum of its parts")
            mem.append(flat_values.size + len(link_implicit))
            link_implicit.append(rest)
        totals.append(np.array([t], dtype=np.int64))
        m_groups.append(np.full(len(mem), next_group, dtype=np.int64))
        m_cells.append(np.asarray(mem, dtype=np.int64))
        next_group += 1
    values = np.concatenate([flat_values, np.asarray(link_implicit, dtype=float)])
    implicit = np.zeros(values.size, dtype=bool)
    implicit[n_cells:] = True
    known = ~np.isnan(values)
    small = known & (values < settings.min_count) & ((values > 0) | settings.suppress_zero)
    pre = np.concatenate(
        [plans[n].hide.ravel() for n in names] + [np.zeros(values.size - n_cells, dtype=bool)]
    )
    locked = np.concatenate(
        [plans[n].keep.ravel() for n in names] + [np.zeros(values.size - n_cells, dtype=bool)]
    )
    groups = (
        (np.concatenate(totals), np.concatenate(m_groups), np.concatenate(m_cells))
        if totals
        else (np.zeros(0, dtype=np.int64),) * 3
    )
    hidden = _secondary(
        values, small | (pre & known), groups, settings.min_count, implicit, locked & ~small
    )
    hidden = _hide_against_pinning(
        values, hidden, small | (pre & known), groups, settings, implicit, locked & ~small
    )
    return {
        n: hidden[cell_off[n] : cell_off[n] + plans[n].values.size].reshape(plans[n].shape)
        for n in names
    }


# -- publishing ---------------------------------------------------------------------------


def _row_keys(table: pd.DataFrame, by: list[str], rows: np.ndarray) -> list[str]:
    if not by or rows.size == 0:
        return [""] * rows.size
    parts = [str(c) + "=" + table[c].iloc[rows].astype("string").fillna("<NA>") for c in by]
    joined = parts[0]
    for p in parts[1:]:
        joined = joined + ", " + p
    return joined.tolist()


def _publish(plan: _Plan, hidden: np.ndarray, settings: DisclosureSettings) -> pd.DataFrame:
    table, flat, counts = plan.source, plan.flat, plan.counts
    values = plan.values
    known = ~np.isnan(values)
    suppressed = hidden & known
    out = table.copy()
    rounded = _round_half_up(values, settings.round_to)
    published = np.where(suppressed | ~known, np.nan, rounded)
    for j, c in enumerate(counts):
        out[c] = pd.array(published[:, j], dtype="Float64").astype("Int64")
    col_pos = {c: j for j, c in enumerate(counts)}
    index = out.index
    derived_mask: dict[str, np.ndarray] = {}
    for stat, sources in plan.statistics.items():
        if not sources:
            continue
        mask = suppressed[:, [col_pos[s] for s in sources]].any(axis=1)
        before = out[stat].isna().to_numpy()
        if mask.any():
            out[stat] = out[stat].mask(pd.Series(mask, index=index))
        derived_mask[stat] = mask & ~before
    for rate, r in plan.ratios.items():
        num = published[:, col_pos[r.numerator]]
        den_col = published[:, col_pos[r.denominator]]
        den = (
            den_col if r.denominator_row is None else np.full(len(out), den_col[r.denominator_row])
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(
                ~np.isnan(num) & (den > 0), r.scale * num / np.where(den > 0, den, 1), np.nan
            )
        before = pd.to_numeric(out[rate], errors="coerce").isna().to_numpy()
        # a rate the caller left missing (undefined) stays missing
        value = np.where(before, np.nan, value)
        out[rate] = value
        derived_mask[rate] = np.isnan(value) & ~before
    for name in plan.computed:
        # formulas of published counts (net benefit): the caller computes them after
        # publication; here only the rows resting on a hidden count are cleared
        mask = suppressed.any(axis=1)
        if name in out.columns and mask.any():
            out[name] = out[name].mask(pd.Series(mask, index=index))

    records = _manifest_records(flat, index, plan.by, counts, suppressed, derived_mask)
    previous = table.attrs.get(DISCLOSURE_ATTR)
    if isinstance(previous, Mapping) and previous.get("applied"):
        # Disclosing twice: cells hidden the first time stay listed (they arrive as
        # missing and would otherwise vanish from the manifest).
        seen = {(r["row"], r["column"]) for r in records}
        carried = [
            r
            for r in previous.get("manifest", [])
            if r.get("row") is not None and (r["row"], r["column"]) not in seen
        ]
        row_pos = {label: i for i, label in enumerate(index)}
        col_pos_all = {c: i for i, c in enumerate(flat.columns)}
        records = sorted(
            carried + records,
            key=lambda r: (row_pos.get(r["row"], -1), col_pos_all.get(r["column"], -1)),
        )
    for rate in plan.ratios:
        records.append(
            {"row": None, "key": "(every published cell)", "column": rate, "reason": REASON_RATE}
        )
    for name in plan.computed:
        records.append(
            {
                "row": None,
                "key": "(every published cell)",
                "column": name,
                "reason": REASON_COMPUTED,
            }
        )
    if settings.round_to > 1:
        for c in counts:
            records.append(
                {
                    "row": None,
                    "key": "(every published cell)",
                    "column": c,
                    "reason": f"rounded: to the nearest {settings.round_to}",
                }
            )
    notes = list(dict.fromkeys(plan.rel.notes))
    if len(notes) > 40:
        notes = [*notes[:40], f"... and {len(notes) - 40} more"]
    out.attrs = dict(table.attrs)
    out.attrs[DISCLOSURE_ATTR] = {
        "applied": True,
        "settings": settings.to_dict(),
        "count_columns": list(counts),
        "derived_columns": {
            **{k: list(v) for k, v in plan.statistics.items()},
            **{k: [r.numerator, r.denominator] for k, r in plan.ratios.items()},
        },
        "statistics": {k: list(v) for k, v in plan.statistics.items()},
        "ratios": {
            k: {
                "numerator": r.numerator,
                "denominator": r.denominator,
                "denominator_row": None
                if r.denominator_row is None
                else _plain_label(index[r.denominator_row]),
                "scale": r.scale,
            }
            for k, r in plan.ratios.items()
        },
        "computed": dict(plan.computed),
        "by": list(plan.by),
        "columns": _column_names(out),
        "relations": notes,
        "rule": describe_settings(settings),
        "manifest": records,
    }
    return out


def _column_names(table: pd.DataFrame) -> list[str]:
    """The columns a stamp covers, as text (a sidecar keeps them as JSON)."""
    return [str(c) for c in table.columns]


def _plain_label(label: Any) -> Any:
    return label.item() if isinstance(label, np.generic) else label


def _manifest_records(
    flat: pd.DataFrame,
    index: pd.Index,
    by: list[str],
    counts: list[str],
    suppressed: np.ndarray,
    derived_mask: Mapping[str, np.ndarray],
) -> list[dict[str, Any]]:
    """One record per hidden cell, in table order; never the value."""
    col_order = {c: i for i, c in enumerate(flat.columns)}
    frames = []

    def add(rows: np.ndarray, column: Any, reason: str) -> None:
        if rows.size:
            frames.append(
                pd.DataFrame(
                    {
                        "_pos": rows,
                        "_col": col_order.get(column, len(col_order)),
                        "row": index[rows].to_numpy(dtype=object),
                        "key": _row_keys(flat, by, rows),
                        "column": [column] * rows.size,
                        "reason": reason,
                    }
                )
            )

    for j, c in enumerate(counts):
        add(np.flatnonzero(suppressed[:, j]), c, REASON_SUPPRESSED)
    for rate, mask in derived_mask.items():
        add(np.flatnonzero(mask), rate, REASON_DERIVED)
    if not frames:
        return []
    manifest = pd.concat(frames, ignore_index=True).sort_values(["_pos", "_col"], kind="stable")
    records = (
        manifest[_MANIFEST_COLUMNS].astype({"key": object, "reason": object}).to_dict("records")
    )
    for r in records:
        r["row"] = _plain_label(r["row"])
    return records


# -- public entry points ------------------------------------------------------------------


@validate_params(
    {
        "min_count": [POSITIVE_INT],
        "round_to": [POSITIVE_INT],
        "suppress_zero": ["boolean"],
        "find_totals": ["boolean"],
    }
)
def disclose(
    table: pd.DataFrame,
    count_columns: str | Sequence[str] | None = None,
    min_count: int = 10,
    round_to: int = 5,
    *,
    rate_columns: str | Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    by: str | Sequence[str] | None = None,
    total_rows: Any = None,
    total_columns: Mapping[str, Sequence[str]] | Sequence[tuple[str, Sequence[str]]] | None = None,
    row_relations: Sequence[tuple[Any, Sequence[Any]]] | None = None,
    total_labels: Sequence[str] = DEFAULT_TOTAL_LABELS,
    find_totals: bool = True,
    hide: Any = None,
    keep: Any = None,
    computed: Mapping[str, str] | None = None,
    statistic_columns: Mapping[str, Sequence[str]] | None = None,
    suppress_zero: bool = False,
) -> pd.DataFrame:
    """Make a tidy count table safe to take out of a secure environment.

    In order: counts from 1 to ``min_count - 1`` are suppressed (primary);
    further cells are suppressed so that no hidden cell can be worked out from a
    margin of the table or from a declared complement (secondary); every published
    count is rounded to the nearest ``round_to``; rates are recomputed from the
    published counts; other statistics resting on a hidden count are suppressed.
    All decisions use the unrounded counts.

    Parameters
    ----------
    table : DataFrame
        One row per cell group: key columns (``by``), count columns and statistics.
    count_columns : str or list of str, optional
        The columns holding counts of people or events. Inferred when omitted: the
        numeric columns (not in ``by``) named like a count (``n``, ``n_*``,
        ``count*``, ``*_count``, ``cases``, ``events``, ``alerts``, ``*_total``...).
        Inference refuses whole-number columns with other names, since guessing
        wrong would leak a count or mangle a key.
    min_count : int, default=10
        Smallest count published; at least :data:`MIN_COUNT_FLOOR`.
    round_to : int, default=5
        Published counts are rounded to the nearest multiple (halves up); 1 for none.
    rate_columns : str, list of str or dict, optional
        Statistics derived from the counts. A dict ``{rate: [numerator,
        denominator]}`` declares a **rate**, recomputed from the published counts.
        A dict entry with one count (or more than two), or a list (each resting on
        every count in its row), declares a **statistic**, published only where
        the counts it rests on are. Default: every other numeric column not in
        ``by`` is a statistic of all counts in its row; one that turns out to be a
        ratio of two count columns, or a share of a total row, is recomputed as
        that rate, and one proportional to a count over a total the table does not
        publish is refused.
    by : str or list of str, optional
        Key columns. Default: every non-numeric (or boolean) column. Keys are
        published as they are, so they are read by the identifying-data guard:
        case ids, names, NHS numbers, postcodes, contact details, full dates in
        text and free text are refused.
    total_rows : index labels or boolean mask, optional
        Rows that are the total of every other non-total row. Margins are found
        without this: a row equal to the sum of the other rows of its group is a
        total whatever its label.
    total_columns : dict or list of (column, [columns]), optional
        ``{total column: [member count columns]}`` (a list of pairs when one
        column is the total of several complements): the total is at least the sum
        of the members, and the unpublished remainder (the complement, e.g.
        crossings that were not false alarms) is protected like a published count.
        Exact column totals are also found by structure.
    row_relations : list of (row label, [row labels]), optional
        The same for rows: the first row is at least the sum of the listed rows.
    total_labels : sequence of str
        Key values (any case) that mark a total row (a hint added to structure).
    find_totals : bool, default=True
        Look for margins by structure. Off for tables whose rows are nested
        (cumulative counts at thresholds), which :func:`protect_nested` protects.
    hide, keep : boolean mask (rows, or rows x count columns), optional
        Cells to hide whatever their count (a decision taken across tables), and
        cells that must stay published (they are published elsewhere in the same
        output), so secondary suppression picks other cells.
    computed : dict, optional
        ``{column: description}`` for columns the caller computes from the
        published counts afterwards (net benefit); rows resting on a hidden count
        are cleared.
    statistic_columns : dict, optional
        ``{statistic: [count columns]}``: statistics (an interval, an AUROC)
        published only where every count they rest on is; with two counts too,
        where ``rate_columns`` would declare a rate.
    suppress_zero : bool, default=False
        Also suppress zeros (true zeros are usually allowed).

    Returns
    -------
    DataFrame
        A copy: count columns as nullable ``Int64`` with ``<NA>`` where suppressed,
        rates recomputed, statistics missing where they rest on a suppressed count,
        and ``attrs["riskscore_disclosure"]`` holding the settings, the relations
        protected against and the manifest (see :func:`disclosure_manifest`).

    Raises
    ------
    DisclosureError
        When no count column is found or inference is ambiguous, a count column
        holds something other than whole non-negative numbers, the settings
        are below the floors, or a key column (guessed or given in ``by``) holds
        case ids or what the identifying-data guard refuses in the inputs (see
        :mod:`riskscore.privacy`): keys are published as they are. A key the guard
        misjudges passes when the table carries a reason for it in
        ``attrs["riskscore_allowed"]`` (as frames validated with ``allow=`` do).

    See Also
    --------
    disclose_tables : several tables published together, with links between them.
    apply_disclosure : disclose or mark as undisclosed, from one ``disclosure`` argument.
    write_table : write a disclosed table with its provenance and manifest.

    Notes
    -----
    Secondary suppression protects each margin and complement: within each set of
    cells adding up to a published cell, there are either no hidden cells or at
    least two whose combined count is not below ``min_count``; it adds the
    smallest published non-zero cell, else the total. Totals are rounded
    independently of their cells.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"band": ["none", "review", "Overall"], "n": [132, 4, 136]})
    >>> out = disclose(t)
    >>> out["n"].tolist()
    [<NA>, <NA>, 135]
    >>> disclosure_manifest(out)["reason"].str.split(":").str[0].tolist()
    ['suppressed', 'suppressed', 'rounded']
    """
    spec = dict(
        count_columns=count_columns,
        rate_columns=rate_columns,
        by=by,
        total_rows=total_rows,
        total_columns=total_columns,
        row_relations=row_relations,
        total_labels=total_labels,
        find_totals=find_totals,
        hide=hide,
        keep=keep,
        computed=computed,
        statistic_columns=statistic_columns,
    )
    return disclose_tables(
        {"table": table},
        {"table": spec},
        min_count=min_count,
        round_to=round_to,
        suppress_zero=suppress_zero,
    )["table"]


@validate_params(
    {"min_count": [POSITIVE_INT], "round_to": [POSITIVE_INT], "suppress_zero": ["boolean"]}
)
def disclose_tables(
    tables: Mapping[str, pd.DataFrame],
    specs: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    links: Sequence[tuple[Cell, Sequence[Cell], bool]] = (),
    min_count: int = 10,
    round_to: int = 5,
    suppress_zero: bool = False,
) -> dict[str, pd.DataFrame]:
    """Disclose tables that are published together (one report), protecting them together.

    Each table is disclosed as by :func:`disclose` with its spec; secondary
    suppression runs once over all of them, so a cell hidden in one table is not
    worked out from a link to another: ``links`` lists cells of one table that
    add up to a cell of another.

    Parameters
    ----------
    tables : dict
        ``{name: DataFrame}``.
    specs : dict, optional
        ``{name: keyword arguments of disclose}`` (count_columns, rate_columns, by,
        total_columns, row_relations, hide, keep, ...).
    links : list of (total, members, exact)
        ``total`` and each member are ``(table name, row index label, count
        column)``; ``exact=True`` when the members add up to the total, False when
        the total is at least their sum (the remainder, a count too, is protected).
    min_count, round_to, suppress_zero
        As in :func:`disclose`.

    Returns
    -------
    dict
        ``{name: disclosed DataFrame}``.

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"measure": ["children with an outcome"], "n": [40]})
    >>> by_sex = pd.DataFrame({"sex": ["f", "m"], "n_outcomes": [4, 36]})
    >>> out = disclose_tables(
    ...     {"summary": summary, "by_sex": by_sex},
    ...     links=[(("summary", 0, "n"), [("by_sex", 0, "n_outcomes"), ("by_sex", 1, "n_outcomes")], True)],
    ... )
    >>> out["by_sex"]["n_outcomes"].tolist(), out["summary"]["n"].tolist()
    ([<NA>, <NA>], [40])
    """
    if not isinstance(tables, Mapping) or not all(
        isinstance(t, pd.DataFrame) for t in tables.values()
    ):
        raise ParameterError(
            "disclose_tables: tables must map each table's name to its DataFrame; got "
            f"{type(tables).__name__}."
        )
    settings = DisclosureSettings(int(min_count), int(round_to), bool(suppress_zero))
    specs = dict(specs or {})
    unknown = [k for k in specs if k not in tables]
    if unknown:
        raise DisclosureError(f"specs name table(s) {unknown} not among {list(tables)}")
    plans = {name: _plan(t, settings, **dict(specs.get(name, {}))) for name, t in tables.items()}
    hidden = _solve(plans, list(links), settings)
    return {name: _publish(plans[name], hidden[name], settings) for name in plans}


@validate_params({"disclosure": ["disclosure"], "reason": [str, None]})
def apply_disclosure(
    table: pd.DataFrame,
    disclosure: bool | DisclosureSettings | Mapping[str, Any] = True,
    *,
    reason: str | None = None,
    **columns: Any,
) -> pd.DataFrame:
    """Disclose a table, or mark it undisclosed, from one ``disclosure`` argument.

    The one call every cohort function makes before returning a table, so that
    ``disclosure=True`` (the default), ``False`` or custom settings mean the same
    everywhere.

    Parameters
    ----------
    table : DataFrame
        The table.
    disclosure : bool, DisclosureSettings or dict, default=True
        True: default settings. False: no control, stamped by
        :func:`mark_undisclosed` (NOT FOR RELEASE). Settings or a dict of them:
        those thresholds (refused below the floors).
    reason : str, optional
        Why control is off (kept in the stamp); only with ``disclosure=False``.
    **columns
        Passed to :func:`disclose` (``count_columns``, ``by``, ``rate_columns``,
        ``total_rows``, ``total_columns``, ``row_relations``, ``hide``, ``keep``...).

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"agency": ["gp", "school"], "n_cases": [3, 41]})
    >>> apply_disclosure(t, True)["n_cases"].tolist()
    [<NA>, 40]
    >>> apply_disclosure(t, False).attrs["riskscore_disclosure"]["applied"]
    False
    """
    settings = settings_for(disclosure)
    if settings is None:
        return mark_undisclosed(table, reason=reason)
    return disclose(
        table,
        min_count=settings.min_count,
        round_to=settings.round_to,
        suppress_zero=settings.suppress_zero,
        **columns,
    )


def _need_frame(table, who: str) -> None:
    """A wrong kind of table is refused by name (not pandas' AttributeError)."""
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(
            f"{who}: table must be a pandas DataFrame; got {type(table).__name__}."
        )


@validate_params({"reason": [str, None]})
def mark_undisclosed(table: pd.DataFrame, reason: str | None = None) -> pd.DataFrame:
    """Stamp a table as made without disclosure control: NOT FOR RELEASE.

    For work inside the secure environment (``disclosure=False``) and for
    individual-level tables. Writers and reports print :data:`UNDISCLOSED_WARNING`
    on its face.

    Parameters
    ----------
    table : DataFrame
        The table; it is copied, not changed.
    reason : str, optional
        Why control is off, kept in the stamp (for example "case-level timeline").

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> t = mark_undisclosed(pd.DataFrame({"n": [3]}), reason="case-level")
    >>> "NOT FOR RELEASE" in t.attrs["riskscore_disclosure"]["warning"]
    True
    """
    _need_frame(table, "mark_undisclosed")
    out = table.copy()
    out.attrs = dict(table.attrs)
    out.attrs[DISCLOSURE_ATTR] = {
        "applied": False,
        "warning": UNDISCLOSED_WARNING,
        "reason": reason,
        "settings": None,
        "manifest": [],
    }
    return out


def mark_statistics(
    table: pd.DataFrame,
    disclosure: bool | DisclosureSettings | Mapping[str, Any] = True,
    *,
    rule: str,
    suppressed: Any = None,
    reason: str | None = None,
) -> pd.DataFrame:
    """Stamp a table of statistics (no counts) that obey a stated minimum cell size.

    For tables such as AUROC and calibration slope with intervals, or a curve
    computed from published counts: the caller has applied ``rule`` (for example
    "every metric rests on at least min_count events and min_count non-events");
    the stamp records it for output checkers, and cells the rule hid are listed.

    Parameters
    ----------
    table : DataFrame
    disclosure : bool, DisclosureSettings or dict, default=True
        False marks the table undisclosed instead.
    rule : str
        The minimum-cell-size rule the statistics obey, in words.
    suppressed : boolean DataFrame, optional
        Cells hidden by the rule (listed in the manifest).
    reason : str, optional
        With ``disclosure=False``: why control is off.

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> t = mark_statistics(pd.DataFrame({"metric": ["auroc"], "estimate": [0.71]}),
    ...     rule="rests on at least 10 events and 10 non-events")
    >>> t.attrs["riskscore_disclosure"]["rule"]
    'rests on at least 10 events and 10 non-events'
    """
    settings = settings_for(disclosure)
    if settings is None:
        return mark_undisclosed(table, reason=reason)
    out = table.copy()
    out.attrs = dict(table.attrs)
    records = []
    if suppressed is not None:
        mask = pd.DataFrame(suppressed).reindex(index=out.index, columns=out.columns).fillna(False)
        for i, label in enumerate(out.index):
            for c in out.columns:
                if bool(mask.iloc[i][c]):
                    records.append(
                        {
                            "row": _plain_label(label),
                            "key": "",
                            "column": c,
                            "reason": "derived: below the minimum cell size",
                        }
                    )
    out.attrs[DISCLOSURE_ATTR] = {
        "applied": True,
        "settings": settings.to_dict(),
        "count_columns": [],
        "derived_columns": {},
        "statistics": {},
        "ratios": {},
        "computed": {},
        "by": [],
        "columns": _column_names(out),
        "relations": [],
        "rule": rule,
        "manifest": records,
    }
    return out


@validate_params({"min_count": [POSITIVE_INT], "suppress_zero": ["boolean"]})
def protect_nested(
    counts: np.ndarray,
    totals: Sequence[float] | np.ndarray | None = None,
    *,
    min_count: int = 10,
    suppress_zero: bool = False,
    priority: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """Which of a family of nested counts may be published without differencing.

    Alerts at a series of thresholds are nested sets: the alerts at a high
    threshold are among those at a lower one, so subtracting two published rows
    counts the people between the thresholds. Rows are kept (in ``priority``
    order) only when every difference between neighbouring kept rows, and between
    the smallest kept row and nothing, and the largest and ``totals``, is 0 or at
    least ``min_count`` in every column. Any two kept rows then differ by 0 or at
    least ``min_count``, because their difference is a sum of such neighbours.

    Parameters
    ----------
    counts : array (rows, columns)
        Exact counts of each set; pass every complement too (alerts, true
        positives and false positives), since each is a count of people.
    totals : array (columns), optional
        Counts of the whole population, when they are published too.
    min_count : int, default=10
    suppress_zero : bool, default=False
        Differences of 0 are then allowed only between identical rows.
    priority : sequence of int, optional
        Order in which rows are considered (default: as given); earlier rows win.

    Returns
    -------
    ndarray of bool
        Rows that may be published.

    Raises
    ------
    DisclosureError
        When two rows are not nested (one is larger in one column, smaller in another).

    Examples
    --------
    >>> import numpy as np
    >>> alerts = np.array([[40, 12, 28], [37, 11, 26], [18, 0, 18], [0, 0, 0]])
    >>> protect_nested(alerts, totals=[100, 30, 70]).tolist()
    [True, False, True, True]
    """
    try:
        c = np.asarray(counts, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(
            f"protect_nested: counts must be numbers; got {type(counts).__name__}."
        ) from None
    if c.ndim != 2:
        raise DisclosureError("protect_nested needs a 2-D array of counts (rows, columns)")
    k, m = c.shape
    order = np.lexsort(c.T[::-1])  # by the first column, then the others
    srt = c[order]
    if k > 1 and np.any(np.diff(srt, axis=0) < 0):
        raise DisclosureError(
            "protect_nested: the rows are not nested (a larger set has a smaller count in "
            "some column)"
        )
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)

    def safe(d: np.ndarray) -> bool:
        if np.all(d == 0):
            return True
        return bool(np.all((d >= min_count) | ((d == 0) & (not suppress_zero))))

    top = np.asarray(totals, dtype=float) if totals is not None else None
    kept_ranks: list[int] = []
    keep = np.zeros(k, dtype=bool)
    for i in np.asarray(priority if priority is not None else np.arange(k), dtype=np.int64):
        r = rank[i]
        pos = int(np.searchsorted(kept_ranks, r))
        lower = srt[kept_ranks[pos - 1]] if pos > 0 else np.zeros(m)
        upper = srt[kept_ranks[pos]] if pos < len(kept_ranks) else top
        if np.any(c[i] - lower < 0) or (upper is not None and np.any(upper - c[i] < 0)):
            raise DisclosureError("protect_nested: a row is larger than the total")
        if safe(c[i] - lower) and (upper is None or safe(upper - c[i])):
            keep[i] = True
            kept_ranks.insert(pos, r)
    return keep


@validate_params({"scale": [POSITIVE_REAL]})
def rates_from_published(
    table: pd.DataFrame, rates: Mapping[str, tuple[str, str]], *, scale: float = 1.0
) -> pd.DataFrame:
    """Recompute rate columns from the published counts of a disclosed table.

    The helper for new tables: a rate computed from exact counts and published
    beside rounded ones gives the exact counts back, so every published rate is
    the published numerator over the published denominator (missing where either
    is suppressed or the denominator is 0).

    Parameters
    ----------
    table : DataFrame
        A disclosed table (counts as published).
    rates : dict
        ``{rate column: (numerator column, denominator column)}``.
    scale : float, default=1.0
        100 for percentages.

    Returns
    -------
    DataFrame
        A copy with the rate columns (re)written.

    Examples
    --------
    >>> import pandas as pd
    >>> t = disclose(pd.DataFrame({"g": ["a", "b"], "n": [41, 58], "events": [12, 19]}))
    >>> rates_from_published(t, {"rate": ("events", "n")})["rate"].round(3).tolist()
    [0.25, 0.333]
    """
    _need_frame(table, "rates_from_published")
    if not isinstance(rates, Mapping):
        raise ParameterError(
            "rates_from_published: rates must map each rate column to (numerator, "
            f"denominator); got {type(rates).__name__}."
        )
    out = table.copy()
    out.attrs = dict(table.attrs)
    for rate, (num, den) in rates.items():
        a = pd.to_numeric(out[num], errors="coerce").astype("float64").to_numpy()
        b = pd.to_numeric(out[den], errors="coerce").astype("float64").to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[rate] = np.where(~np.isnan(a) & (b > 0), scale * a / np.where(b > 0, b, 1), np.nan)
    stamp = out.attrs.get(DISCLOSURE_ATTR)
    if isinstance(stamp, Mapping) and stamp.get("applied") and "columns" in stamp:
        # the stamp covers the rates, so check_disclosure checks them (and nothing
        # added later passes unseen)
        ratios = dict(stamp.get("ratios") or {})
        derived = dict(stamp.get("derived_columns") or {})
        for rate, (num, den) in rates.items():
            ratios[str(rate)] = {
                "numerator": num,
                "denominator": den,
                "denominator_row": None,
                "scale": float(scale),
            }
            derived[str(rate)] = [num, den]
        out.attrs[DISCLOSURE_ATTR] = {
            **stamp,
            "ratios": ratios,
            "derived_columns": derived,
            "columns": _column_names(out),
        }
    return out


def suppress_statistics(table: pd.DataFrame, mask: pd.DataFrame, *, rule: str) -> pd.DataFrame:
    """Hide statistics that fail a minimum-cell-size rule, and list them in the manifest.

    For rules :func:`disclose` cannot see (an interval needs at least ``min_count``
    true positives *and* false negatives, and the false negatives are not a
    column): the caller works out the mask, this hides the cells and records why.

    Parameters
    ----------
    table : DataFrame
        A disclosed table.
    mask : DataFrame of bool
        True where a statistic must be hidden (columns not in ``table`` are ignored).
    rule : str
        The rule, in words, recorded as the reason.

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> t = disclose(pd.DataFrame({"g": ["a"], "n": [40], "auroc": [0.7]}),
    ...     statistic_columns={"auroc": ["n"]})
    >>> out = suppress_statistics(t, pd.DataFrame({"auroc": [True]}), rule="fewer than 10 events")
    >>> out["auroc"].isna().tolist(), disclosure_manifest(out)["reason"].iloc[0]
    ([True], 'derived: fewer than 10 events')
    """
    stamp = _stamp(table, "suppress_statistics")
    out = table.copy()
    out.attrs = dict(table.attrs)
    mask = pd.DataFrame(mask)
    mask.index = out.index
    records = list(stamp.get("manifest", []))
    listed = {(r.get("row"), r.get("column")) for r in records}
    by = [c for c in stamp.get("by", []) if c in out.columns]
    new = []
    for c in mask.columns:
        if c not in out.columns:
            continue
        m = mask[c].fillna(False).to_numpy(dtype=bool) & out[c].notna().to_numpy()
        if not m.any():
            continue
        out[c] = out[c].mask(pd.Series(m, index=out.index))
        rows = np.flatnonzero(m)
        keys = _row_keys(out.reset_index(drop=True), by, rows)
        for r, key in zip(rows, keys, strict=True):
            label = _plain_label(out.index[r])
            if (label, c) not in listed:
                new.append({"row": label, "key": key, "column": c, "reason": f"derived: {rule}"})
    if new:
        cells = [r for r in records if r.get("row") is not None] + new
        whole = [r for r in records if r.get("row") is None]
        pos = {label: i for i, label in enumerate(out.index)}
        col = {c: i for i, c in enumerate(out.columns)}
        cells.sort(key=lambda r: (pos.get(r["row"], -1), col.get(r["column"], -1)))
        stamp = {**stamp, "manifest": cells + whole}
    out.attrs[DISCLOSURE_ATTR] = stamp
    return out


def _stamp(table: pd.DataFrame, what: str) -> dict[str, Any]:
    stamp = table.attrs.get(DISCLOSURE_ATTR)
    if not isinstance(stamp, Mapping):
        raise DisclosureError(
            f"{what}: the table carries no disclosure stamp; pass it through disclose() "
            "(or apply_disclosure()), or through mark_undisclosed() for output that must "
            "stay inside the secure environment"
        )
    return dict(stamp)


def disclosure_manifest(table: pd.DataFrame) -> pd.DataFrame:
    """The manifest of what disclosure control suppressed, rounded and recomputed.

    Parameters
    ----------
    table : DataFrame
        A table returned by :func:`disclose` or :func:`mark_undisclosed`.

    Returns
    -------
    DataFrame
        Columns ``row`` (index label; missing for a whole-column entry), ``key``
        (the row's key values as text), ``column`` and ``reason``, one line per
        hidden cell in table order, then one line per recomputed rate and per
        rounded count column. Empty for a table marked undisclosed. Values are
        never included, and hidden counts all carry one reason: which were small
        and which protect them is not said.

    Raises
    ------
    DisclosureError
        When the table carries no stamp.

    Examples
    --------
    >>> import pandas as pd
    >>> out = disclose(pd.DataFrame({"sex": ["f", "m"], "n": [12, 30]}))
    >>> len(disclosure_manifest(out))  # nothing suppressed; one rounding line
    1
    """
    _need_frame(table, "disclosure_manifest")
    stamp = _stamp(table, "disclosure_manifest")
    records = list(stamp.get("manifest", []))
    # object columns keep index labels as they are (ints stay ints beside missing ones)
    return pd.DataFrame(
        {c: pd.Series([r.get(c) for r in records], dtype=object) for c in _MANIFEST_COLUMNS}
    )


def check_disclosure(table: pd.DataFrame) -> None:
    """Check that a table is stamped and its published numbers obey its stamp.

    For writers, reports and tests: re-checks every count column named in the
    stamp, every declared rate (it must equal the published numerator over the
    published denominator) and every declared statistic (missing where a count it
    rests on is suppressed), so a table edited after :func:`disclose` (a count or
    rate recomputed from exact data, a total added) is caught before it leaves. A
    table marked undisclosed passes (it says NOT FOR RELEASE on its face).

    Parameters
    ----------
    table : DataFrame

    Raises
    ------
    DisclosureError
        No stamp, a stamp that does not list the columns it covers (made by an
        older riskscore: the table must pass through disclosure control again), a
        column the stamp does not cover, a stamped column missing, a published
        count from 1 to ``min_count - 1`` (or zero with ``suppress_zero``) or not a
        multiple of ``round_to``, a rate not computed from the published counts, or
        a statistic published beside a suppressed count; the message names the
        column and rows.

    Examples
    --------
    >>> import pandas as pd
    >>> check_disclosure(disclose(pd.DataFrame({"sex": ["f", "m"], "n": [3, 30]})))
    """
    _need_frame(table, "check_disclosure")
    stamp = _stamp(table, "check_disclosure")
    if not stamp.get("applied"):
        return
    settings = DisclosureSettings(**stamp["settings"])
    if stamp.get("columns") is None:
        # Stamps (and sidecars) have listed their columns since the check for columns
        # added after control: without the list, an exact count or a date added to an
        # older table cannot be told from the columns control covered.
        raise DisclosureError(
            f"the table's disclosure stamp does not list the columns it covers, so its "
            f"column(s) {_column_names(table)} cannot be told apart from columns added after "
            "disclosure control: it was controlled by an older riskscore and must be passed "
            "through disclosure control again. Fix: run the step that made it again with "
            f"this riskscore (riskscore {__version__}), or pass the table through disclose() "
            "again; a table read from a file: write it again from that fresh table"
        )
    if not isinstance(stamp["columns"], (list, tuple)):
        raise DisclosureError(
            "the disclosure stamp's columns are not a list of column names; pass the "
            "table through disclose() again"
        )
    covered = {str(c) for c in stamp["columns"]}
    added = [c for c in table.columns if str(c) not in covered]
    if added:
        raise DisclosureError(
            f"column(s) {added} were added after disclosure control: the stamp does not "
            "say what they hold, and counts, statistics or dates in them would leave "
            "unchecked. Fix: add them before disclose() (classified with count_columns=, "
            "rate_columns= or by=), or compute rates with rates_from_published()"
        )
    counts = list(stamp.get("count_columns", []))
    for c in counts:
        if c not in table.columns:
            raise DisclosureError(f"count column {c!r} named in the disclosure stamp is missing")
        v = table[c].to_numpy(dtype=float, na_value=np.nan)
        shown = ~np.isnan(v)
        small = shown & (v < settings.min_count) & ((v > 0) | settings.suppress_zero)
        if small.any():
            raise DisclosureError(
                f"column {c!r} publishes counts below min_count={settings.min_count} in "
                f"row(s) {_first_rows(small, table.index)}; pass the table through disclose() again"
            )
        off_grid = shown & (np.mod(v, settings.round_to) != 0)
        if off_grid.any():
            raise DisclosureError(
                f"column {c!r} publishes counts not rounded to {settings.round_to} in "
                f"row(s) {_first_rows(off_grid, table.index)}; pass the table through disclose() again"
            )
    for rate, r in (stamp.get("ratios") or {}).items():
        missing = [x for x in (rate, r["numerator"], r["denominator"]) if x not in table.columns]
        if missing:
            raise DisclosureError(f"column(s) {missing} named in the disclosure stamp are missing")
        num = pd.to_numeric(table[r["numerator"]], errors="coerce").astype("float64").to_numpy()
        den = pd.to_numeric(table[r["denominator"]], errors="coerce").astype("float64").to_numpy()
        if r.get("denominator_row") is not None:
            labels = list(table.index)
            if r["denominator_row"] not in labels:
                continue  # a table read back without its index: the row cannot be found
            den = np.full(len(table), den[labels.index(r["denominator_row"])])
        with np.errstate(invalid="ignore", divide="ignore"):
            expect = np.where(
                ~np.isnan(num) & (den > 0),
                r.get("scale", 1.0) * num / np.where(den > 0, den, 1),
                np.nan,
            )
        got = pd.to_numeric(table[rate], errors="coerce").astype("float64").to_numpy()
        bad = ~np.isnan(got) & (np.isnan(expect) | ~np.isclose(got, expect, rtol=1e-9, atol=0))
        if bad.any():
            raise DisclosureError(
                f"column {rate!r} is not {r['numerator']!r} over {r['denominator']!r} as "
                f"published, in row(s) {_first_rows(bad, table.index)}: a rate from exact counts "
                "gives them back; recompute it with rates_from_published()"
            )
    for stat, sources in (stamp.get("statistics") or {}).items():
        if stat not in table.columns:
            raise DisclosureError(f"column {stat!r} named in the disclosure stamp is missing")
        present = [s for s in sources if s in table.columns]
        if not present:
            continue
        hidden = table[present].isna().any(axis=1).to_numpy()
        shown = table[stat].notna().to_numpy()
        bad = hidden & shown
        if bad.any():
            raise DisclosureError(
                f"column {stat!r} publishes a statistic resting on a suppressed count in "
                f"row(s) {_first_rows(bad, table.index)}"
            )
    # every cell the manifest lists as hidden must still be hidden
    positions = {label: i for i, label in enumerate(table.index)}
    refilled: dict[Any, list[int]] = {}
    for r in stamp.get("manifest") or []:
        label, col = r.get("row"), r.get("column")
        if label is None or col not in table.columns or label not in positions:
            continue
        if pd.notna(table[col].iloc[positions[label]]):
            refilled.setdefault(col, []).append(positions[label])
    for col, rows in refilled.items():
        mask = np.zeros(len(table), dtype=bool)
        mask[rows] = True
        raise DisclosureError(
            f"column {col!r} publishes cells that disclosure control suppressed, in "
            f"row(s) {_first_rows(mask, table.index)}; pass the table through disclose() again"
        )


def check_publishable(tables: Mapping[str, pd.DataFrame] | Iterable[pd.DataFrame]) -> dict:
    """The one check before tables leave together (a report, a set of CSV files).

    Every table must carry a disclosure stamp and obey it (:func:`check_disclosure`);
    tables under disclosure control must share one setting. Returns what a
    renderer needs to say on the page.

    Parameters
    ----------
    tables : dict or iterable of DataFrame

    Returns
    -------
    dict
        ``controlled`` (every table under disclosure control), ``settings`` (the
        shared settings, or None), ``undisclosed`` (names of tables marked NOT FOR
        RELEASE), ``synthetic`` (any table made from synthetic data) and
        ``description`` (:func:`describe_settings` of the settings).

    Raises
    ------
    DisclosureError
        A table without a stamp, a table that breaks its stamp, or mixed settings.

    Examples
    --------
    >>> import pandas as pd
    >>> t = disclose(pd.DataFrame({"sex": ["f", "m"], "n": [3, 30]}))
    >>> check_publishable({"by_sex": t})["controlled"]
    True
    """
    if isinstance(tables, pd.DataFrame) or not isinstance(tables, Mapping | Iterable):
        raise ParameterError(
            "check_publishable: tables must be a mapping of names to tables, or a list "
            f"of tables; got {type(tables).__name__}."
        )
    items = (
        list(tables.items())
        if isinstance(tables, Mapping)
        else [(str(i), t) for i, t in enumerate(tables)]
    )
    settings = None
    undisclosed = []
    synthetic = False
    for name, t in items:
        if not isinstance(t, pd.DataFrame):
            raise DisclosureError(f"table {name!r} is a {type(t).__name__}, not a DataFrame")
        stamp = t.attrs.get(DISCLOSURE_ATTR)
        if not isinstance(stamp, Mapping):
            raise DisclosureError(
                f"table {name!r} carries no disclosure stamp: every table that leaves goes "
                "through disclose(), mark_statistics() or mark_undisclosed()"
            )
        check_disclosure(t)
        synthetic = synthetic or is_synthetic(t)
        if not stamp.get("applied"):
            undisclosed.append(name)
            continue
        s = stamp.get("settings")
        if settings is None:
            settings = s
        elif s != settings:
            raise DisclosureError(
                f"table {name!r} was disclosed with {s}, others with {settings}: tables "
                "published together need one setting"
            )
    return {
        "controlled": not undisclosed,
        "settings": settings,
        "undisclosed": undisclosed,
        "synthetic": synthetic,
        "description": describe_settings(settings if not undisclosed else None),
    }


# -- provenance -----------------------------------------------------------------------


def hash_input(obj: pd.DataFrame | str | os.PathLike) -> str:
    """SHA-256 content hash of an input table or file.

    A file is hashed byte for byte. A DataFrame is hashed from its column names,
    dtypes and ``pandas.util.hash_pandas_object`` of its values (the index is left
    out, so a reset index does not change it). The hash depends on row and column
    order, and may change between pandas versions (provenance records the pandas
    version beside it).

    Parameters
    ----------
    obj : DataFrame or path

    Returns
    -------
    str
        64 hexadecimal digits.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2]})
    >>> hash_input(df) == hash_input(df.copy())
    True
    """
    h = hashlib.sha256()
    if isinstance(obj, pd.DataFrame):
        h.update(json.dumps([[str(c), str(t)] for c, t in obj.dtypes.items()]).encode())
        if len(obj.columns):
            row_hashes = pd.util.hash_pandas_object(obj, index=False).to_numpy(dtype="<u8")
            h.update(row_hashes.tobytes())
        return h.hexdigest()
    path = Path(obj)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=str)
    if isinstance(value, DisclosureSettings):
        return value.to_dict()
    if isinstance(value, (pd.DataFrame, pd.Series)):
        raise DisclosureError(
            "provenance parameters must be settings, not data; pass tables as inputs= to be hashed"
        )
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp, _dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, (pd.Timedelta, _dt.timedelta)):
        return str(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def _check_no_secrets(params: Mapping[str, Any], where: str = "params") -> None:
    for k, v in params.items():
        if _SECRET_NAME.search(str(k)):
            raise DisclosureError(
                f"provenance parameter {where}[{k!r}] looks like a key or secret; "
                "pseudonymisation keys never appear in any output, so leave it out"
            )
        if isinstance(v, Mapping):
            _check_no_secrets(v, f"{where}[{k!r}]")


@validate_params(
    {"params": [Mapping, None], "inputs": [Mapping, None], "disclosure": ["disclosure", None]}
)
def provenance(
    params: Mapping[str, Any] | None = None,
    inputs: Mapping[str, pd.DataFrame | str | os.PathLike] | None = None,
    disclosure: bool | DisclosureSettings | Mapping[str, Any] | None = None,
    *,
    synthetic: bool | str | None = None,
) -> dict[str, Any]:
    """Provenance record of an output: what made it, from what, with which settings.

    Parameters
    ----------
    params : dict, optional
        The parameters of the run (model file, grid, window, allowed identifying
        columns with their reasons...). Must be JSON-like; names that look like a
        key or secret (salt, token, pseudonymisation_key...) are refused.
    inputs : dict, optional
        ``{name: DataFrame or path}``; each is recorded by SHA-256 (see
        :func:`hash_input`), files by their base name only. A frame validated with
        ``allow=`` carries its allowed columns and reasons (``attrs``): they are
        recorded under ``allowed``.
    disclosure : bool, DisclosureSettings or dict, optional
        The disclosure settings; :func:`write_table` fills them from the table's
        stamp when omitted.
    synthetic : bool or str, optional
        The output was made from synthetic data (True, or the data's note): the
        record then says so (``synthetic``) beside :data:`SYNTHETIC_LINE`.

    Returns
    -------
    dict
        ``library``, ``version``, ``created_utc``, ``pandas_version``, ``inputs``,
        ``params``, ``disclosure``, ``allowed`` (``{input: {column: reason}}`` for
        columns let past the identifying-data guard; empty when none) and, for
        synthetic data, ``synthetic``; JSON-serialisable.

    Examples
    --------
    >>> import pandas as pd
    >>> p = provenance({"grid": "14D"}, {"events": pd.DataFrame({"a": [1]})})
    >>> sorted(p["inputs"]["events"])
    ['kind', 'sha256']
    """
    params = dict(params or {})
    _check_no_secrets(params)
    recorded_inputs: dict[str, Any] = {}
    allowed: dict[str, Any] = {}
    for name, obj in (inputs or {}).items():
        if isinstance(obj, pd.DataFrame):
            recorded_inputs[str(name)] = {"kind": "dataframe", "sha256": hash_input(obj)}
            if obj.attrs.get(ALLOWED):
                allowed[str(name)] = dict(obj.attrs[ALLOWED])
        else:
            recorded_inputs[str(name)] = {
                "kind": "file",
                "name": Path(obj).name,
                "sha256": hash_input(obj),
            }
    if disclosure is True:
        disc: Any = DisclosureSettings().to_dict()
    elif disclosure is False:
        disc = {"applied": False, "warning": UNDISCLOSED_WARNING}
    elif isinstance(disclosure, (DisclosureSettings, Mapping)) and not (
        isinstance(disclosure, Mapping) and "applied" in disclosure
    ):
        disc = settings_for(disclosure).to_dict()  # refuses settings below the floors
    else:
        disc = _jsonable(disclosure)
    record = {
        "library": "riskscore",
        "version": __version__,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "pandas_version": pd.__version__,
        "inputs": recorded_inputs,
        "params": _jsonable(params),
        "disclosure": disc,
        "allowed": _jsonable(allowed),
    }
    if synthetic:
        record["synthetic"] = {
            "line": SYNTHETIC_LINE,
            "note": synthetic if isinstance(synthetic, str) else None,
        }
    return record


_make_provenance = provenance  # write_table's keyword argument shadows the name


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".provenance.json")


# Spreadsheet programs run a cell starting with one of these as a formula (OWASP's
# CSV injection advice); a leading quote is escaped too, so reading back is exact.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: Any) -> Any:
    """A text cell made safe to open in a spreadsheet: ``'`` before a formula start.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or
    with ``'``, so that the change can be undone) gets a leading ``'``. Anything
    that is not text (a number, a negative number in a numeric column) is left
    as it is; :func:`restore_formula` undoes it.

    Examples
    --------
    >>> neutralise_formula('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> neutralise_formula(-3), neutralise_formula("-3")
    (-3, "'-3")
    """
    if isinstance(value, str) and value.startswith((*_FORMULA_START, "'")):
        return "'" + value
    return value


def restore_formula(value: Any) -> Any:
    """Undo :func:`neutralise_formula` (text read back from a written CSV).

    Examples
    --------
    >>> restore_formula("'=1+1")
    '=1+1'
    """
    if isinstance(value, str) and value.startswith("'"):
        return value[1:]
    return value


def _is_text_column(col: pd.Series) -> bool:
    return (
        pd.api.types.is_object_dtype(col)
        or pd.api.types.is_string_dtype(col)
        or isinstance(col.dtype, pd.CategoricalDtype)
    )


def _neutralised(table: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and column names cannot run as spreadsheet formulas."""
    out = table.copy()
    for c in out.columns:
        if _is_text_column(out[c]):
            col = out[c].astype(object)
            out[c] = col.map(neutralise_formula, na_action="ignore")
    out.columns = [neutralise_formula(str(c)) for c in out.columns]
    return out


def _column_kinds(table: pd.DataFrame) -> dict[str, str]:
    kinds = {}
    for c in table.columns:
        col = table[c]
        # categorical and pandas string columns first: their values look like text
        # but read_table must give back the dtype itself (see _category_types)
        if isinstance(col.dtype, pd.CategoricalDtype):
            kinds[str(c)] = "category"
        elif isinstance(col.dtype, pd.StringDtype):
            # "str" (missing as NaN, pandas' default) or "string" (missing as <NA>)
            kinds[str(c)] = "str" if str(col.dtype) == "str" else "string"
        elif pd.api.types.is_bool_dtype(col):
            kinds[str(c)] = "bool"
        elif pd.api.types.is_integer_dtype(col):
            kinds[str(c)] = "int"
        elif pd.api.types.is_float_dtype(col):
            kinds[str(c)] = "float"
        elif pd.api.types.is_datetime64_any_dtype(col):
            kinds[str(c)] = "datetime"
        elif pd.api.types.is_timedelta64_dtype(col):
            kinds[str(c)] = "timedelta"
        elif (
            _is_text_column(col) and col.map(lambda v: isinstance(v, str), na_action="ignore").all()
        ):
            kinds[str(c)] = "text"
        else:
            kinds[str(c)] = "other"
    return kinds


def _category_types(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The categories used (in order), their kind and dtype, and the ordered flag of each
    categorical column, so :func:`read_table` rebuilds the dtype (without unused categories)."""
    out = {}
    for c in table.columns:
        dtype = table[c].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            # only the categories the table uses (in their order): an unused category
            # is not in the table, and could be anything (every case id, before a filter)
            cats = pd.Series(table[c].cat.remove_unused_categories().cat.categories)
            out[str(c)] = {
                "categories": _jsonable(list(cats)),
                "kind": _column_kinds(pd.DataFrame({"c": cats}))["c"],
                "dtype": str(cats.dtype),
                "ordered": bool(dtype.ordered),
            }
    return out


def _parse_kind(text: pd.Series, missing: pd.Series, kind: str | None) -> pd.Series | None:
    """Text cells read back as ``kind`` (None for a kind without a parser)."""
    if kind in ("int", "float"):
        return pd.to_numeric(text.mask(missing), errors="coerce")
    if kind == "bool":
        return text.map({"True": True, "False": False}).where(~missing)
    if kind == "datetime":
        return pd.to_datetime(text.mask(missing))
    if kind == "timedelta":
        return pd.to_timedelta(text.mask(missing))
    if kind in ("text", "str", "string"):
        values = text.map(restore_formula).where(text != "", None).astype(object)
        return values if kind == "text" else values.astype(kind)
    return None


def _restore_category(text: pd.Series, missing: pd.Series, spec: Mapping[str, Any]) -> pd.Series:
    """A categorical column rebuilt from its text cells and its sidecar record."""
    kind = spec.get("kind")
    kind = "text" if kind in ("str", "string") else kind
    listed = pd.Series([str(v) for v in spec.get("categories") or []], dtype=object)
    never_missing = pd.Series(False, index=listed.index)
    cats = listed if kind == "text" else _parse_kind(listed, never_missing, kind)
    values = _parse_kind(text, missing, kind)
    if cats is None or values is None:
        return text.map(restore_formula).where(~missing, None).astype("category")
    categories = pd.Index(cats)
    try:
        categories = categories.astype(spec.get("dtype") or categories.dtype)
    except (TypeError, ValueError):
        pass  # a dtype this pandas cannot make: keep the parsed categories
    dtype = pd.CategoricalDtype(categories, ordered=bool(spec.get("ordered")))
    return pd.Series(pd.Categorical(values, dtype=dtype), index=text.index)


def _dictionary_path(path: Path) -> Path:
    # named like the provenance sidecar, and not *.csv, so a folder's tables glob alone
    return path.with_name(path.name + ".dictionary.tsv")


@validate_params({"path": ["path"], "provenance": [Mapping, None]})
def write_table(
    table: pd.DataFrame,
    path: str | os.PathLike,
    *,
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write a stamped table as formula-safe CSV with a provenance sidecar.

    Writes ``path``, ``<path>.provenance.json`` (provenance, disclosure
    settings, the relations protected against and the suppression manifest) and
    ``<path>.dictionary.tsv``, the data dictionary: every column and coded value in
    plain words, tab-separated (the CSV itself keeps the codes, so programs read it
    back unchanged). Suppressed cells are written as ``[c]``; other missing values
    as empty fields. Text cells that a spreadsheet would run as a formula are
    prefixed with ``'`` (:func:`neutralise_formula`), in the CSV and the
    dictionary; numbers are left alone. A table marked undisclosed carries
    :data:`UNDISCLOSED_WARNING` (NOT FOR RELEASE) as the first entry of its
    sidecar, and a table made from synthetic data (or written with a provenance
    record that says so) carries :data:`SYNTHETIC_LINE` in the sidecar's
    ``synthetic`` entry; the CSV itself stays plain, so ``pandas.read_csv`` reads
    it without options. :func:`read_table` restores the stamp, the mark and the
    exact cell values.

    Parameters
    ----------
    table : DataFrame
        From :func:`disclose`, :func:`apply_disclosure` or :func:`mark_undisclosed`.
    path : str or path
        The CSV file to write.
    provenance : dict, optional
        From :func:`provenance`; a minimal record (version, time) when omitted.

    Returns
    -------
    Path
        The CSV path.

    Raises
    ------
    DisclosureError
        When the table carries no stamp, fails :func:`check_disclosure`, or has an
        index named ``case_id`` (case identifiers are never written from an index).

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> out = disclose(pd.DataFrame({"sex": ["f", "m"], "n": [3, 30]}))
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_table(out, d / "by_sex.csv").read_text().splitlines()
    ['sex,n', 'f,[c]', 'm,30']
    """
    path = Path(path)
    stamp = _stamp(table, "write_table")
    check_disclosure(table)
    id_levels = [n for n in table.index.names if n is not None and "case_id" in str(n)]
    if id_levels:
        raise DisclosureError(
            f"write_table: the table's index {id_levels} holds case identifiers; an index "
            "is written silently beside the data. Fix: move it to a column "
            "(table.reset_index()) if the ids must be written (case-level output that "
            "stays in the secure environment), or drop it (table.reset_index(drop=True))."
        )
    record = dict(provenance) if provenance is not None else _make_provenance()
    record = _jsonable(record)
    if table.attrs.get(ALLOWED):
        # columns the inputs let past the identifying-data guard travel with the table
        record["allowed"] = {**(record.get("allowed") or {}), "table": dict(table.attrs[ALLOWED])}
    manifest = list(stamp.get("manifest", []))
    applied = bool(stamp.get("applied"))
    record["disclosure"] = {
        "applied": applied,
        "settings": stamp.get("settings"),
        "count_columns": stamp.get("count_columns", []),
        "warning": None if applied else UNDISCLOSED_WARNING,
        "reason": stamp.get("reason"),
        "rule": stamp.get("rule"),
        "relations": stamp.get("relations", []),
        "ratios": stamp.get("ratios", {}),
        "statistics": stamp.get("statistics", {}),
        **({"columns": list(stamp["columns"])} if stamp.get("columns") is not None else {}),
    }
    record["manifest"] = _jsonable(manifest)
    record["file"] = path.name
    synthetic = is_synthetic(table) or bool(record.get("synthetic"))
    if synthetic and not record.get("synthetic"):
        record["synthetic"] = {"line": SYNTHETIC_LINE, "note": synthetic_note(table)}
    record["dictionary"] = _dictionary_path(path).name
    if not applied:
        # first thing a reader of the sidecar sees
        record = {"warning": UNDISCLOSED_WARNING, **record}

    to_write = table
    suppressed_cells = [(m["row"], m["column"]) for m in manifest if m.get("row") is not None]
    if suppressed_cells:
        to_write = table.copy()
        by_column: dict[str, list[Any]] = {}
        for row, col in suppressed_cells:
            by_column.setdefault(col, []).append(row)
        for col, rows in by_column.items():
            if col not in to_write.columns:
                continue
            as_obj = to_write[col].astype(object)
            hit = to_write.index.isin(rows) & to_write[col].isna().to_numpy()
            as_obj[hit] = SUPPRESSED_MARK
            to_write[col] = as_obj
    # a named index holds keys (a groupby result): write it; a plain one is positions
    if any(n is not None for n in to_write.index.names):
        to_write = to_write.reset_index()
        kinds_of = table.reset_index()
    else:
        kinds_of = table
    record["columns"] = _column_kinds(kinds_of)
    categories = _category_types(kinds_of)
    if categories:
        record["categories"] = categories
    path = output_file(path, "write_table")
    with writing(path, "write_table"):
        with path.open("w", encoding="utf-8", newline="") as fh:
            # CRLF (RFC 4180): a cell holding a carriage return or a line feed is then
            # quoted, so no cell can start a new row
            _neutralised(to_write).to_csv(fh, index=False, na_rep="", lineterminator="\r\n")
        _sidecar(path).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        # the dictionary repeats the table's coded values: formula-safe too
        _neutralised(data_dictionary(table)).to_csv(
            _dictionary_path(path), sep="\t", index=False, lineterminator="\r\n"
        )
    return path


def _read_sidecar(sidecar: Path) -> dict:
    """A sidecar's record, checked for the shape read_table relies on."""

    def refuse(problem: str) -> DisclosureError:
        return DisclosureError(
            f"{sidecar.name}: {problem}, so the table's disclosure record cannot be read. Fix: "
            "write the table again with write_table, or restore the sidecar written with it."
        )

    try:
        record = json.loads(sidecar.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise refuse(f"not a JSON provenance record ({str(exc)[:80]})") from None
    if not isinstance(record, dict):
        raise refuse("the record is not a JSON object")
    shapes = {"disclosure": dict, "columns": dict, "categories": dict, "manifest": list}
    for key, kind in shapes.items():
        if record.get(key) is not None and not isinstance(record[key], kind):
            raise refuse(f"its entry {key!r} is not a JSON {'object' if kind is dict else 'array'}")
    disc = record.get("disclosure") or {}
    for key in ("count_columns", "columns"):
        value = disc.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise refuse(f"its entry disclosure.{key} is not a list of column names")
    for key in ("ratios", "statistics"):
        if disc.get(key) is not None and not isinstance(disc[key], dict):
            raise refuse(f"its entry disclosure.{key} is not a JSON object")
    return record


@validate_params({"path": ["path"]})
def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by :func:`write_table`, with its stamp restored.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    DataFrame
        Suppressed cells as missing, count columns as ``Int64``, text cells
        exactly as written (the formula guard undone), every other column of the
        type the sidecar records (numbers, booleans, dates, durations, pandas
        ``str``/``string`` columns, and categorical columns with their categories,
        in order, and their ``ordered`` flag), and
        ``attrs["riskscore_disclosure"]``, ``attrs["riskscore_provenance"]`` (and
        the synthetic mark) from the sidecar.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> p = write_table(disclose(pd.DataFrame({"sex": ["f", "m"], "n": [3, 30]})), d / "t.csv")
    >>> read_table(p)["n"].tolist()
    [<NA>, 30]
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no such file: '{path}'")
    sidecar = _sidecar(path)
    if not sidecar.exists():
        raise DisclosureError(
            f"{path.name} has no provenance sidecar {sidecar.name}; it was not written by write_table"
        )
    record = _read_sidecar(sidecar)
    disc = record.get("disclosure", {})
    skip = 0  # files from riskscore 0.1 had a warning line
    with path.open(encoding="utf-8", newline="") as fh:
        for line in fh:
            if not line.startswith("# "):
                break
            skip += 1
    try:
        raw = pd.read_csv(path, skiprows=skip, dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.EmptyDataError:
        raise DisclosureError(
            f"{path.name} is empty (not even its header line is left). Fix: write the table "
            "again with write_table, or restore the file written with its sidecar."
        ) from None
    raw.columns = [restore_formula(c) for c in raw.columns]
    kinds = record.get("columns") or {}
    category_types = record.get("categories") or {}
    counts = set(disc.get("count_columns") or [])
    table = pd.DataFrame(index=raw.index)
    for c in raw.columns:
        text = raw[c]
        kind = kinds.get(c)
        missing = (text == "") | (text == SUPPRESSED_MARK)
        if c in counts:
            table[c] = (
                pd.to_numeric(text.mask(missing), errors="coerce").astype("Float64").astype("Int64")
            )
        elif kind == "category" and c in category_types:
            table[c] = _restore_category(text, missing, category_types[c])
        elif kind in ("int", "float", "bool", "datetime", "timedelta", "text", "str", "string"):
            table[c] = _parse_kind(text, missing, kind)
        else:
            # no record of the column (an older file): let pandas infer, as before
            inferred = pd.read_csv(
                path,
                skiprows=skip,
                usecols=[list(raw.columns).index(c)],
                na_values=[SUPPRESSED_MARK],
            ).iloc[:, 0]
            table[c] = inferred.map(restore_formula) if inferred.dtype == object else inferred
    if disc.get("applied"):
        stamp = {
            "applied": True,
            "settings": disc.get("settings"),
            "count_columns": disc.get("count_columns", []),
            "ratios": disc.get("ratios") or {},
            "statistics": disc.get("statistics") or {},
            "relations": disc.get("relations") or [],
            "rule": disc.get("rule"),
            "manifest": record.get("manifest", []),
            **({"columns": disc["columns"]} if disc.get("columns") is not None else {}),
        }
    else:
        stamp = {
            "applied": False,
            "warning": UNDISCLOSED_WARNING,
            "reason": disc.get("reason"),
            "settings": None,
            "manifest": [],
        }
    table.attrs[DISCLOSURE_ATTR] = stamp
    table.attrs["riskscore_provenance"] = {
        k: v for k, v in record.items() if k not in ("manifest",)
    }
    if record.get("synthetic"):
        table.attrs[SYNTHETIC_ATTR] = (record["synthetic"] or {}).get("note") or "synthetic"
    return table


def mark_synthetic(*frames: pd.DataFrame, note: str = "synthetic") -> None:
    """Mark frames as synthetic, in place (``attrs[SYNTHETIC_ATTR]`` holds the note).

    Outputs made from marked data say on their face that they are synthetic.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore.disclosure import is_synthetic, mark_synthetic
    >>> df = pd.DataFrame({"a": [1]})
    >>> mark_synthetic(df)
    >>> is_synthetic(df)
    True
    """
    for f in frames:
        f.attrs[SYNTHETIC_ATTR] = note


def is_synthetic(*objects: Any) -> bool:
    """True if any object (a frame, or a result holding frames) is marked synthetic.

    A frame is synthetic when its ``attrs`` carry :data:`SYNTHETIC_ATTR`; a result
    object when its ``synthetic`` attribute is true.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore.disclosure import is_synthetic
    >>> is_synthetic(pd.DataFrame({"a": [1]}))
    False
    """
    for obj in objects:
        attrs = getattr(obj, "attrs", None)
        if isinstance(attrs, Mapping) and attrs.get(SYNTHETIC_ATTR):
            return True
        if isinstance(getattr(obj, "synthetic", None), bool) and obj.synthetic:
            return True
    return False


def synthetic_note(*objects: Any) -> str | None:
    """The note of the first synthetic object (what made the data), or None.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1]})
    >>> mark_synthetic(df, note="riskscore.make_cohort(10)")
    >>> synthetic_note(pd.DataFrame(), df)
    'riskscore.make_cohort(10)'
    """
    for obj in objects:
        attrs = getattr(obj, "attrs", None)
        if isinstance(attrs, Mapping) and attrs.get(SYNTHETIC_ATTR):
            note = attrs[SYNTHETIC_ATTR]
            return note if isinstance(note, str) else "synthetic"
        if isinstance(getattr(obj, "synthetic", None), bool) and obj.synthetic:
            return getattr(obj, "synthetic_note", None) or "synthetic"
    return None
