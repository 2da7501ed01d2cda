"""Small numpy helpers shared by the encoder, the models and the audit engine."""

from __future__ import annotations

from collections.abc import Hashable, Iterator

import numpy as np

__all__ = ["CHUNK_ROWS", "sorted_unique", "row_chunks", "first_rows", "nested_cells"]

#: Rows scored per block: small enough to stay in cache, large enough to vectorise.
CHUNK_ROWS = 1 << 15


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values; a sort beats numpy's hash-based unique on large int arrays."""
    x = np.sort(x)
    keep = np.ones(len(x), dtype=bool)
    keep[1:] = x[1:] != x[:-1]
    return x[keep]


def row_chunks(n: int, size: int = CHUNK_ROWS) -> Iterator[slice]:
    """Slices covering ``range(n)`` in blocks of ``size`` rows."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def first_rows(mask: np.ndarray, k: int = 10) -> list[int]:
    """Positions of the first ``k`` true values (for error messages)."""
    return np.flatnonzero(mask)[:k].tolist()


def nested_cells(values: np.ndarray) -> str | None:
    """Where an object array holds a list, dict, set or array instead of one value.

    The rows and kinds in words (``"rows 0, 3 hold a dict / list"``), for the messages
    of the readers and the adapters; None when every cell holds one value.
    """
    found = [i for i, v in enumerate(values) if not isinstance(v, Hashable)]
    if not found:
        return None
    names = {type(values[i]).__name__ for i in found}
    kinds = " / ".join(sorted("array" if k == "ndarray" else k for k in names))
    rows = ", ".join(map(str, found[:10])) + (
        f" and {len(found) - 10:,} more" if len(found) > 10 else ""
    )
    one = len(found) == 1
    return (
        f"{'row' if one else 'rows'} {rows} {'holds' if one else 'hold'} "
        f"{'an' if kinds[0] in 'aeiou' else 'a'} {kinds}"
    )
