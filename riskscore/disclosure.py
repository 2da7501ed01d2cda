"""Statistical disclosure control and provenance for tables that leave the library.

Every cohort table riskscore returns or writes passes through :func:`disclose`:
small counts are suppressed (primary suppression), further cells are suppressed so
that no suppressed cell can be recovered by subtracting the published cells from a
published total (secondary suppression), the remaining counts are rounded, and every
other statistic in a row whose count was suppressed (a rate, a share, a median) is
suppressed too. The defaults follow the common secure-environment rule: suppress
counts from 1 to 9 and round the rest to the nearest 5.

The result is an ordinary DataFrame. Count columns become pandas nullable ``Int64``
with ``<NA>`` in suppressed cells; statistics are masked to missing. What was done
is stamped on the table in ``df.attrs["riskscore_disclosure"]``: the settings and a
manifest of every suppressed cell, which :func:`disclosure_manifest` returns as a
DataFrame for output checkers. The manifest never holds a suppressed value.

Work inside the secure environment may turn disclosure control off; such a table is
stamped by :func:`mark_undisclosed`, and :func:`write_table` then writes the warning
as the first line of the CSV and into its provenance sidecar, so the output says so
on its face. :func:`write_table` refuses a table that carries neither stamp.

What this module does not do: it protects against recovery of a cell by subtraction
from any one published total (including chains of totals within the table); it does
not solve the general linked-tables problem (the same counts published in several
tables with different margins, or interval attacks by linear programming). Tables
needing that should go through a dedicated tool such as tau-argus or sdcTable.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskscore._names import data_dictionary
from riskscore._params import POSITIVE_INT, validate_params
from riskscore._version import __version__
from riskscore.errors import DisclosureError
from riskscore.schema import ALLOWED

__all__ = [
    "DISCLOSURE_ATTR",
    "UNDISCLOSED_WARNING",
    "DisclosureSettings",
    "disclose",
    "apply_disclosure",
    "mark_undisclosed",
    "disclosure_manifest",
    "check_disclosure",
    "hash_input",
    "provenance",
    "write_table",
    "read_table",
    "SYNTHETIC_ATTR",
    "mark_synthetic",
    "is_synthetic",
]

#: Key in ``DataFrame.attrs`` under which the disclosure stamp is kept.
DISCLOSURE_ATTR = "riskscore_disclosure"

#: Key in ``attrs`` that marks data (and everything made from it) as synthetic.
SYNTHETIC_ATTR = "riskscore_synthetic"

#: What an output made without disclosure control says on its face.
UNDISCLOSED_WARNING = (
    "DISCLOSURE CONTROL OFF - individual-level or unprotected output, unsafe for "
    "release; keep inside the secure environment"
)

#: Marker written in a CSV for a suppressed cell (the GSS "[c]" for confidential).
SUPPRESSED_MARK = "[c]"

REASON_PRIMARY = "primary: count below min_count"
REASON_PRIMARY_ZERO = "primary: zero count (suppress_zero=True)"
REASON_SECONDARY = (
    "secondary: protects a suppressed cell against subtraction from a published total"
)
REASON_DERIVED = "derived: statistic in a row whose count is suppressed"

_MANIFEST_COLUMNS = ["row", "key", "column", "reason"]

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
        Counts from 1 to ``min_count - 1`` are suppressed.
    round_to : int, default=5
        Published counts are rounded to the nearest multiple (halves upwards);
        1 means no rounding.
    suppress_zero : bool, default=False
        Also suppress zero counts. Off by default: most secure environments allow
        true zeros, and suppression decisions never rest on a zero.

    Examples
    --------
    >>> DisclosureSettings(min_count=5, round_to=5).min_count
    5
    """

    min_count: int = 10
    round_to: int = 5
    suppress_zero: bool = False

    def __post_init__(self) -> None:
        for name in ("min_count", "round_to"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise DisclosureError(
                    f"{name} must be a whole number of at least 1, got {value!r}; "
                    "use round_to=1 for no rounding"
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


def _round_half_up(values: np.ndarray, round_to: int) -> np.ndarray:
    if round_to == 1:
        return values
    return np.floor(values / round_to + 0.5) * round_to


def _is_key_dtype(series: pd.Series) -> bool:
    # A duration (a median lead time) is a statistic, not a key.
    if pd.api.types.is_timedelta64_dtype(series):
        return False
    return pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series)


def _is_number_dtype(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _first_rows(mask: np.ndarray, index: pd.Index, k: int = 5) -> str:
    return ", ".join(repr(x) for x in index[np.flatnonzero(mask)[:k]])


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
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
    count_columns: str | Sequence[str] | None,
    rate_columns: str | Sequence[str] | Mapping[str, Sequence[str]] | None,
    by: str | Sequence[str] | None,
) -> tuple[list[str], list[str], dict[str, list[str]]]:
    counts = _as_list(count_columns)
    by_list = _as_list(by)
    if counts is not None:
        _check_columns(table, counts, "count_columns")
    if by_list is not None:
        _check_columns(table, by_list, "by")
    if by_list is None:
        by_list = [c for c in table.columns if _is_key_dtype(table[c]) and c not in (counts or [])]
    explicit_rates = isinstance(rate_columns, Mapping) or rate_columns is not None
    rate_names = (
        list(rate_columns) if isinstance(rate_columns, Mapping) else _as_list(rate_columns) or []
    )
    _check_columns(table, rate_names, "rate_columns")
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
    else:
        # Every other statistic describes the same units as the counts in its row (a
        # share, a mean, an AUROC), so a suppressed count takes it down with it.
        derived = {
            c: list(counts)
            for c in table.columns
            if c not in counts and c not in by_list and not _is_key_dtype(table[c])
        }
    return counts, by_list, derived


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
        values[:, j] = v
    return values


def _total_flags(table: pd.DataFrame, by: list[str], total_labels: Sequence[str]) -> np.ndarray:
    labels = {str(x).strip().casefold() for x in total_labels}
    flags = np.zeros((len(table), len(by)), dtype=bool)
    for k, c in enumerate(by):
        text = table[c].astype("string").str.strip().str.casefold()
        flags[:, k] = text.isin(labels).fillna(False).to_numpy(dtype=bool)
    return flags


def _margin_groups(
    table: pd.DataFrame,
    by: list[str],
    n_counts: int,
    total_rows: Any,
    total_labels: Sequence[str],
    total_columns: dict[int, list[int]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups of cells that add up to a published cell.

    Returns ``(group_total, member_group, member_cell)``: the flat cell index of each
    group's total, and for every membership the group id and the member's flat cell
    index (``row * n_counts + column``).
    """
    n = len(table)
    flags = _total_flags(table, by, total_labels)
    explicit = np.zeros(n, dtype=bool)
    if total_rows is not None:
        explicit = _total_row_mask(table, total_rows)
    is_total_row = flags.any(axis=1) | explicit

    pairs = []  # (total_row, member_row) arrays, one per kind of margin
    if by:
        keys = pd.DataFrame({c: table[c].astype("string").fillna("\x00NA").to_numpy() for c in by})
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
            pairs.append((merged["_row_t"].to_numpy(), merged["_row_m"].to_numpy()))
    ex_rows = np.flatnonzero(explicit)
    plain_rows = np.flatnonzero(~is_total_row)
    if ex_rows.size and plain_rows.size:
        t, m = np.meshgrid(ex_rows, plain_rows, indexing="ij")
        pairs.append((t.ravel(), m.ravel()))

    group_total, member_group, member_cell = [], [], []
    next_id = 0
    for t_rows, m_rows in pairs:
        # one group per (total row, margin kind, count column)
        t_unique, g_local = np.unique(t_rows, return_inverse=True)
        for j in range(n_counts):
            group_total.append(t_unique * n_counts + j)
            member_group.append(g_local + next_id)
            member_cell.append(m_rows * n_counts + j)
            next_id += t_unique.size
    if total_columns:
        rows = np.arange(n)
        for tot_j, member_js in total_columns.items():
            group_total.append(rows * n_counts + tot_j)
            for mj in member_js:
                member_group.append(rows + next_id)
                member_cell.append(rows * n_counts + mj)
            next_id += n
    if not group_total:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return (
        np.concatenate(group_total).astype(np.int64),
        np.concatenate(member_group).astype(np.int64),
        np.concatenate(member_cell).astype(np.int64),
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


def _secondary(
    values: np.ndarray,
    primary: np.ndarray,
    groups: tuple[np.ndarray, np.ndarray, np.ndarray],
    min_count: int,
) -> np.ndarray:
    """Suppress further cells until no suppressed cell can be recovered by subtraction.

    A group (a total and the members adding up to it) is unsafe when exactly one of
    its cells is hidden, member or total (it is the total minus, or the sum of, the
    others), or when its total is published and the hidden members' combined count,
    which the total minus the published members reveals, is below ``min_count``.
    Each pass adds, for every unsafe group, its smallest published member, preferring
    non-zero ones (least information lost; a zero adds nothing to the combined count,
    so it is used only to hide a suppressed total), or else the total itself. A newly
    hidden total then needs protecting in any group it is a member of. Each pass
    hides at least one more cell, so this ends.
    """
    group_total, member_group, member_cell = groups
    supp = primary.ravel().copy()
    if group_total.size == 0:
        return supp.reshape(values.shape)
    flat = values.ravel()
    # A missing input count is treated as published (as missing): it hides nothing.
    val = np.nan_to_num(flat, nan=0.0)
    n_groups = group_total.size
    m_val = val[member_cell]
    m_known = ~np.isnan(flat[member_cell])
    while True:
        m_supp = supp[member_cell]
        t_supp = supp[group_total]
        n_hidden = np.bincount(member_group, weights=m_supp, minlength=n_groups)
        hidden_sum = np.bincount(member_group, weights=m_supp * m_val, minlength=n_groups)
        by_sum = ~t_supp & (n_hidden >= 1) & (hidden_sum < min_count)
        need = by_sum | (n_hidden + t_supp == 1)
        if not need.any():
            break
        eligible = ~m_supp & m_known & need[member_group]
        eligible &= (m_val > 0) | ~by_sum[member_group]
        cand = np.flatnonzero(eligible)
        order = np.lexsort((member_cell[cand], m_val[cand], m_val[cand] == 0, member_group[cand]))
        cand = cand[order]
        g = member_group[cand]
        first = np.r_[True, g[1:] != g[:-1]] if cand.size else np.zeros(0, dtype=bool)
        supp[member_cell[cand[first]]] = True
        no_candidate = need & ~t_supp
        no_candidate[g[first]] = False
        supp[group_total[no_candidate]] = True
    return supp.reshape(values.shape)


def _row_keys(table: pd.DataFrame, by: list[str], rows: np.ndarray) -> list[str]:
    if not by or rows.size == 0:
        return [""] * rows.size
    parts = [str(c) + "=" + table[c].iloc[rows].astype("string").fillna("<NA>") for c in by]
    joined = parts[0]
    for p in parts[1:]:
        joined = joined + ", " + p
    return joined.tolist()


def _manifest_records(
    table: pd.DataFrame,
    by: list[str],
    counts: list[str],
    values: np.ndarray,
    primary: np.ndarray,
    secondary: np.ndarray,
    derived_mask: Mapping[str, np.ndarray],
) -> list[dict[str, Any]]:
    """One record per suppressed cell, in table order; never the value."""
    col_order = {c: i for i, c in enumerate(table.columns)}
    frames = []

    def add(rows: np.ndarray, column: Any, reasons: Any) -> None:
        if rows.size:
            frames.append(
                pd.DataFrame(
                    {
                        "_pos": rows,
                        "_col": col_order[column],
                        "row": table.index[rows].to_numpy(dtype=object),
                        "key": _row_keys(table, by, rows),
                        "column": [column] * rows.size,
                        "reason": reasons,
                    }
                )
            )

    for j, c in enumerate(counts):
        rows = np.flatnonzero(primary[:, j])
        add(rows, c, np.where(values[rows, j] == 0, REASON_PRIMARY_ZERO, REASON_PRIMARY))
        add(np.flatnonzero(secondary[:, j]), c, REASON_SECONDARY)
    for rate, mask in derived_mask.items():
        add(np.flatnonzero(mask), rate, REASON_DERIVED)
    if not frames:
        return []
    manifest = pd.concat(frames, ignore_index=True).sort_values(["_pos", "_col"], kind="stable")
    return manifest[_MANIFEST_COLUMNS].astype({"key": object, "reason": object}).to_dict("records")


@validate_params(
    {"min_count": [POSITIVE_INT], "round_to": [POSITIVE_INT], "suppress_zero": ["boolean"]}
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
    total_columns: Mapping[str, Sequence[str]] | None = None,
    total_labels: Sequence[str] = ("Total", "All"),
    suppress_zero: bool = False,
) -> pd.DataFrame:
    """Make a tidy count table safe to take out of a secure environment.

    In order: counts from 1 to ``min_count - 1`` are suppressed (primary);
    further cells are suppressed so that no suppressed cell can be recovered by
    subtraction from a published total (secondary); statistics in any row whose
    count is suppressed are suppressed (derived); every published count is rounded
    to the nearest ``round_to``. All decisions use the unrounded counts.

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
        Smallest count published.
    round_to : int, default=5
        Published counts are rounded to the nearest multiple (halves up); 1 for none.
    rate_columns : str, list of str or dict, optional
        Statistics derived from the counts. A list: each derives from every count
        column in its row. A dict ``{rate: [count columns]}``: from those only.
        Default: every other numeric column not in ``by`` (a share, a mean, an
        AUROC all describe the units counted in the row).
    by : str or list of str, optional
        Key columns. Default: every non-numeric (or boolean) column.
    total_rows : index labels or boolean mask, optional
        Rows that are the total of every other non-total row. Rows whose key in a
        ``by`` column is one of ``total_labels`` are found without this: such a row
        is the total of the rows that match it on the other keys.
    total_columns : dict, optional
        ``{total column: [member count columns]}`` for totals held across columns
        of the same row.
    total_labels : sequence of str, default=("Total", "All")
        Key values (any case) that mark a total row.
    suppress_zero : bool, default=False
        Also suppress zeros (true zeros are usually allowed).

    Returns
    -------
    DataFrame
        A copy: count columns as nullable ``Int64`` with ``<NA>`` where suppressed,
        statistics missing where derived from a suppressed count, and
        ``attrs["riskscore_disclosure"]`` holding the settings and the manifest
        (see :func:`disclosure_manifest`).

    Raises
    ------
    DisclosureError
        When no count column is found or inference is ambiguous, a count column
        holds something other than whole non-negative numbers, or the settings
        would publish counts below ``min_count``.

    See Also
    --------
    apply_disclosure : disclose or mark as undisclosed, from one ``disclosure`` argument.
    write_table : write a disclosed table with its provenance and manifest.

    Notes
    -----
    Secondary suppression protects each published total (a row with a total
    label, ``total_rows`` or ``total_columns``): within each set of cells adding up
    to it, there are either no suppressed cells or at least two whose combined
    count is not below ``min_count``; it adds the smallest published non-zero cell,
    else the total. Margins published in *other* tables are not seen; include them
    as total rows. Totals are rounded independently of their cells. Rates are
    not recomputed from rounded counts; round them for release if their precision
    together with a published denominator could narrow a rounded count.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"band": ["none", "review", "Total"], "n": [132, 4, 136]})
    >>> out = disclose(t)
    >>> out["n"].tolist()
    [<NA>, <NA>, 135]
    >>> disclosure_manifest(out)["reason"].str.split(":").str[0].tolist()
    ['secondary', 'primary', 'rounded']
    """
    settings = DisclosureSettings(int(min_count), int(round_to), bool(suppress_zero))
    if not isinstance(table, pd.DataFrame):
        raise DisclosureError(f"disclose() takes a pandas DataFrame, got {type(table).__name__}")
    index_names = [n for n in table.index.names if n is not None]
    if index_names:
        return _disclose_indexed(
            table,
            index_names,
            count_columns=count_columns,
            min_count=settings.min_count,
            round_to=settings.round_to,
            rate_columns=rate_columns,
            by=by,
            total_rows=total_rows,
            total_columns=total_columns,
            total_labels=total_labels,
            suppress_zero=settings.suppress_zero,
        )
    counts, by_list, derived = _resolve_columns(table, count_columns, rate_columns, by)
    values = _count_matrix(table, counts)
    tot_cols: dict[int, list[int]] = {}
    if total_columns:
        for tot, members in total_columns.items():
            members = _as_list(members) or []
            bad = [c for c in [tot, *members] if c not in counts]
            if bad:
                raise DisclosureError(
                    f"total_columns names {bad}, which are not count columns ({counts})"
                )
            tot_cols[counts.index(tot)] = [counts.index(m) for m in members]

    known = ~np.isnan(values)
    primary = known & (values < settings.min_count) & ((values > 0) | settings.suppress_zero)
    groups = _margin_groups(table, by_list, len(counts), total_rows, total_labels, tot_cols)
    suppressed = _secondary(values, primary, groups, settings.min_count)
    secondary = suppressed & ~primary

    out = table.copy()
    rounded = _round_half_up(values, settings.round_to)
    for j, c in enumerate(counts):
        published = np.where(suppressed[:, j] | ~known[:, j], np.nan, rounded[:, j])
        out[c] = pd.array(published, dtype="Float64").astype("Int64")
    col_pos = {c: j for j, c in enumerate(counts)}
    derived_mask: dict[str, np.ndarray] = {}
    for rate, sources in derived.items():
        if not sources:
            continue
        mask = suppressed[:, [col_pos[s] for s in sources]].any(axis=1)
        derived_mask[rate] = mask
        if mask.any():
            out[rate] = out[rate].mask(pd.Series(mask, index=out.index))

    records = _manifest_records(table, by_list, counts, values, primary, secondary, derived_mask)
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
        row_pos = {label: i for i, label in enumerate(table.index)}
        col_pos_all = {c: i for i, c in enumerate(table.columns)}
        records = sorted(
            carried + records,
            key=lambda r: (row_pos.get(r["row"], -1), col_pos_all.get(r["column"], -1)),
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
    out.attrs = dict(table.attrs)
    out.attrs[DISCLOSURE_ATTR] = {
        "applied": True,
        "settings": settings.to_dict(),
        "count_columns": list(counts),
        "derived_columns": {k: list(v) for k, v in derived.items()},
        "by": list(by_list),
        "manifest": records,
    }
    return out


def _disclose_indexed(
    table: pd.DataFrame, index_names: list[Any], *, by: Any, total_rows: Any, **kwargs: Any
) -> pd.DataFrame:
    """Disclose a table whose keys live in a named index (a groupby result).

    The index levels are keys like any other (a "Total" there is a total row), so
    the work is done on a flat copy and the index put back.
    """
    clash = [n for n in index_names if n in table.columns]
    if clash:
        raise DisclosureError(
            f"index level(s) {clash} are also columns; rename one or reset the index"
        )
    if total_rows is not None:
        total_rows = _total_row_mask(table, total_rows)
    by_list = _as_list(by)
    if by_list is not None:
        by_list = index_names + [b for b in by_list if b not in index_names]
    flat = table.reset_index()
    labels = table.index
    previous = flat.attrs.get(DISCLOSURE_ATTR)
    if isinstance(previous, Mapping) and previous.get("manifest"):
        pos = {label: i for i, label in enumerate(labels)}
        flat.attrs[DISCLOSURE_ATTR] = {
            **previous,
            "manifest": [
                {**r, "row": pos.get(r["row"], r["row"]) if r.get("row") is not None else None}
                for r in previous["manifest"]
            ],
        }
    out = disclose(flat, by=by_list, total_rows=total_rows, **kwargs)
    stamp = out.attrs[DISCLOSURE_ATTR]
    stamp["manifest"] = [
        {**r, "row": labels[r["row"]] if r.get("row") is not None else None}
        for r in stamp["manifest"]
    ]
    out = out.drop(columns=index_names)
    out.index = labels
    out.attrs[DISCLOSURE_ATTR] = stamp
    return out


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
        :func:`mark_undisclosed`. Settings or a dict of them: those thresholds.
    reason : str, optional
        Why control is off (kept in the stamp); only with ``disclosure=False``.
    **columns
        Passed to :func:`disclose` (``count_columns``, ``by``, ``rate_columns``,
        ``total_rows``, ``total_columns``, ``total_labels``).

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
    if disclosure is False:
        return mark_undisclosed(table, reason=reason)
    if disclosure is True:
        settings = DisclosureSettings()
    elif isinstance(disclosure, DisclosureSettings):
        settings = disclosure
    elif isinstance(disclosure, Mapping):
        settings = DisclosureSettings(**disclosure)
    else:
        raise DisclosureError(
            f"disclosure must be True, False, DisclosureSettings or a dict, got {disclosure!r}"
        )
    return disclose(
        table,
        min_count=settings.min_count,
        round_to=settings.round_to,
        suppress_zero=settings.suppress_zero,
        **columns,
    )


@validate_params({"reason": [str, None]})
def mark_undisclosed(table: pd.DataFrame, reason: str | None = None) -> pd.DataFrame:
    """Stamp a table as made without disclosure control.

    For work inside the secure environment (``disclosure=False``) and for
    individual-level tables. Writers print :data:`UNDISCLOSED_WARNING` on its face.

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
    >>> t.attrs["riskscore_disclosure"]["warning"].startswith("DISCLOSURE CONTROL OFF")
    True
    """
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
    """The manifest of what disclosure control suppressed and rounded in a table.

    Parameters
    ----------
    table : DataFrame
        A table returned by :func:`disclose` or :func:`mark_undisclosed`.

    Returns
    -------
    DataFrame
        Columns ``row`` (index label; missing for a whole-column entry), ``key``
        (the row's key values as text), ``column`` and ``reason``, one line per
        suppressed cell in table order, then one ``rounded`` line per count column.
        Empty for a table marked undisclosed. Values are never included.

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
    stamp = _stamp(table, "disclosure_manifest")
    records = list(stamp.get("manifest", []))
    # object columns keep index labels as they are (ints stay ints beside missing ones)
    return pd.DataFrame(
        {c: pd.Series([r.get(c) for r in records], dtype=object) for c in _MANIFEST_COLUMNS}
    )


def check_disclosure(table: pd.DataFrame) -> None:
    """Check that a table is stamped and its published counts obey its stamp.

    For writers, reports and tests: re-checks every count column named in the
    stamp, so a table edited after :func:`disclose` (a count recomputed, a total
    added) is caught before it leaves. A table marked undisclosed passes (it says
    so on its face).

    Parameters
    ----------
    table : DataFrame

    Raises
    ------
    DisclosureError
        No stamp, a stamped count column missing, or a published count from 1 to
        ``min_count - 1`` (or zero with ``suppress_zero``), or not a multiple of
        ``round_to``; the message names the column and rows.

    Examples
    --------
    >>> import pandas as pd
    >>> check_disclosure(disclose(pd.DataFrame({"sex": ["f", "m"], "n": [3, 30]})))
    """
    stamp = _stamp(table, "check_disclosure")
    if not stamp.get("applied"):
        return
    settings = DisclosureSettings(**stamp["settings"])
    for c in stamp.get("count_columns", []):
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

    Returns
    -------
    dict
        ``library``, ``version``, ``created_utc``, ``pandas_version``, ``inputs``,
        ``params``, ``disclosure`` and ``allowed`` (``{input: {column: reason}}`` for
        columns let past the identifying-data guard; empty when none); JSON-serialisable.

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
    else:
        disc = _jsonable(disclosure)
    return {
        "library": "riskscore",
        "version": __version__,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "pandas_version": pd.__version__,
        "inputs": recorded_inputs,
        "params": _jsonable(params),
        "disclosure": disc,
        "allowed": _jsonable(allowed),
    }


_make_provenance = provenance  # write_table's keyword argument shadows the name


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".provenance.json")


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
    """Write a stamped table as CSV with a provenance sidecar for output checkers.

    Writes ``path``, ``<path>.provenance.json`` (provenance, disclosure settings
    and the suppression manifest) and ``<path>.dictionary.tsv``, the data
    dictionary: every column and coded value in plain words, tab-separated (the CSV
    itself keeps the codes, so programs read it back unchanged). Suppressed cells
    are written as ``[c]``; other missing values as empty fields. A table marked
    undisclosed carries :data:`UNDISCLOSED_WARNING` as the first entry of its
    sidecar (the CSV itself stays plain, so ``pandas.read_csv`` reads it without
    options); :func:`read_table` restores the stamp.

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
    }
    record["manifest"] = _jsonable(manifest)
    record["file"] = path.name
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
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        # a named index holds keys (a groupby result): write it; a plain one is positions
        keep_index = any(n is not None for n in to_write.index.names)
        to_write.to_csv(fh, index=keep_index, na_rep="", lineterminator="\n")
    _sidecar(path).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    data_dictionary(table).to_csv(
        _dictionary_path(path), sep="\t", index=False, lineterminator="\n"
    )
    return path


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by :func:`write_table`, with its stamp restored.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    DataFrame
        Suppressed cells as missing, count columns as ``Int64``, and
        ``attrs["riskscore_disclosure"]`` and ``attrs["riskscore_provenance"]``
        from the sidecar.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> p = write_table(disclose(pd.DataFrame({"sex": ["f", "m"], "n": [3, 30]})), d / "t.csv")
    >>> read_table(p)["n"].tolist()
    [<NA>, 30]
    """
    path = Path(path)
    sidecar = _sidecar(path)
    if not sidecar.exists():
        raise DisclosureError(
            f"{path.name} has no provenance sidecar {sidecar.name}; it was not written by write_table"
        )
    record = json.loads(sidecar.read_text(encoding="utf-8"))
    disc = record.get("disclosure", {})
    with path.open(encoding="utf-8") as fh:
        first = fh.readline()
    skip = 1 if first.startswith("# ") else 0  # files from riskscore 0.1 had a warning line
    table = pd.read_csv(path, skiprows=skip, na_values=[SUPPRESSED_MARK])
    for c in disc.get("count_columns") or []:
        if c in table.columns:
            table[c] = table[c].astype("Float64").astype("Int64")
    if disc.get("applied"):
        stamp = {
            "applied": True,
            "settings": disc.get("settings"),
            "count_columns": disc.get("count_columns", []),
            "manifest": record.get("manifest", []),
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
