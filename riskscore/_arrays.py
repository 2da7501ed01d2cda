"""Small numpy helpers shared by the encoder, the models and the audit engine."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["CHUNK_ROWS", "sorted_unique", "row_chunks", "first_rows"]

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
