"""The memory of one large feature table, kept for the next encoding.

A new array the size of a feature table (1.2 GB for 200,000 children on a monthly
grid over three years) is handed to the process by the kernel a page at a time, each
page zeroed first: on the project machine about 0.3 s of system time per GB on 4 KB
pages, and up to 2 s per GB on huge pages the host has reclaimed. glibc gives every
block over 32 MB back to the system the moment it is freed, so an analyst who encodes
again (a notebook cell run twice, one encoding per agency, a cohort audit after the
joined encoding, a benchmark's rounds) pays that again for every table. Arrow and
Polars keep such memory in their own pools for the same reason.

Here, when the last view of a table :func:`new_table` made is gone, its memory is
kept (not returned to the system) and the next table that fits takes it: one block
at most, of :data:`KEEP_FROM` bytes or more and at most a quarter of the machine's
(or its container's) memory; a table needing more than it, or less than half of it,
releases it first, so keeping never raises the peak, and a smaller table hands the
system the pages past its end (Linux; elsewhere only a table of the block's size
takes it). :func:`release` (public as :func:`riskscore.release_memory`) gives it
back at once; ``RISKSCORE_MALLOC=keep`` turns keeping off along with riskscore's
other memory settings (docs/performance.md, "Memory kept between encodings").

Memory is reused only when no array anywhere refers to it: every table is an array
over an owner object (numpy's views of it, pandas' columns and slices all refer to
that owner), and the memory returns to the pool only from the owner's finalizer.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import weakref

import numpy as np

from riskscore._parallel import allowed_memory_settings, small_pages

__all__ = ["new_table", "release", "kept_bytes", "size_class", "KEEP_FROM"]

#: Tables smaller than this come from malloc as before: glibc serves blocks under
#: 32 MB from heaps it keeps (settle_malloc), and faulting in a small table costs
#: little.
KEEP_FROM = 32 * 2**20

_lock = threading.RLock()
#: the kept block (one-dimensional bytes), or None
_kept: np.ndarray | None = None


#: Where Linux states a container's memory limit (cgroup v2, then v1).
_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def _memory_cap(limits: tuple[str, ...] = _CGROUP_LIMITS) -> int:
    """A quarter of the memory this process may use: the machine's, or its
    container's limit where that is smaller (0 where the system does not say)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0
    for path in limits:
        try:
            with open(path) as f:
                limit = f.read().strip()
        except OSError:
            continue
        if limit.isdigit():  # "max" (v2) means no limit
            total = min(total, int(limit))
        break
    return total // 4


class _Owner:
    """What every view of a table refers to; its finalizer gives the memory back."""

    __slots__ = ("__array_interface__", "_block", "__weakref__")

    def __init__(self, block: np.ndarray, shape: tuple, dtype: np.dtype):
        self._block = block
        self.__array_interface__ = {
            "shape": shape,
            "typestr": dtype.str,
            "data": (block.__array_interface__["data"][0], False),
            "version": 3,
        }


def new_table(n_rows: int, n_columns: int, dtype) -> np.ndarray:
    """An uninitialised ``(n_rows, n_columns)`` array in column order.

    Like ``np.empty(..., order="F")`` (every cell must be written), but a table of
    :data:`KEEP_FROM` bytes or more takes the kept block when it fits and gives its
    memory back to be kept once nothing refers to it. Allocated within
    :func:`~riskscore._parallel.small_pages`.

    Examples
    --------
    >>> t = new_table(3, 2, np.float64)
    >>> t.shape, t.flags["F_CONTIGUOUS"]
    ((3, 2), True)
    """
    global _kept
    dtype = np.dtype(dtype)
    nbytes = n_rows * n_columns * dtype.itemsize
    if nbytes < KEEP_FROM or not allowed_memory_settings():
        with small_pages(nbytes):
            return np.empty((n_rows, n_columns), dtype=dtype, order="F")
    with _lock:
        block, _kept = _kept, None
    size = size_class(nbytes)
    if block is not None and not (
        (nbytes <= block.nbytes <= 2 * nbytes and _drop_tail(block, nbytes)) or block.nbytes == size
    ):
        # release before allocating: the kept block never sits beside a new one
        block = None
    if block is None:
        # a block of the size class: the next table a little larger (a cohort audit's
        # next chunk of cases) fits it; pages past the table are never touched, so
        # never in memory
        with small_pages(nbytes):
            block = np.empty(size, dtype=np.uint8)
    owner = _Owner(block, (n_columns, n_rows), dtype)
    weakref.finalize(owner, _give_back, block).atexit = False
    # the transpose of a C-ordered (columns, rows) array: column order, base = owner
    return np.asarray(owner).T


def size_class(nbytes: int) -> int:
    """``nbytes`` rounded up to an eighth of its power of two (whole pages at least).

    Tables of nearly the same size (285.6 and 285.9 MB) share a class, so one's kept
    block serves the other; at most an eighth more address space, never more memory.

    Examples
    --------
    >>> size_class(285_600_000), size_class(4096)
    (301989888, 4096)
    """
    if nbytes <= 0:
        return nbytes
    step = max(2 ** max(nbytes.bit_length() - 4, 0), 4096)
    return -(-nbytes // step) * step


_MADV_DONTNEED = 4  # Linux


@functools.lru_cache(maxsize=1)
def _madvise():
    """The C library's ``madvise``, typed (Linux), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return madvise


def _drop_tail(block: np.ndarray, nbytes: int) -> bool:
    """Hand the system the whole pages of ``block`` past its first ``nbytes``.

    A smaller table in a larger kept block then holds no more resident memory than a
    fresh one (the pages come back, zeroed, only if written). Linux only; returns
    whether it was done (elsewhere a kept block serves only a table of its size class).
    """
    madvise = None if not sys.platform.startswith("linux") else _madvise()
    if madvise is None:
        return False
    page = os.sysconf("SC_PAGE_SIZE")
    start = block.__array_interface__["data"][0]
    first = -(-(start + nbytes) // page) * page  # the first page wholly past the table
    end = (start + block.nbytes) // page * page
    return end <= first or madvise(first, end - first, _MADV_DONTNEED) == 0


def _give_back(block: np.ndarray) -> None:
    """Keep a freed table's memory (replacing any kept before), unless too large."""
    global _kept
    if not allowed_memory_settings() or block.nbytes > _memory_cap():
        return
    with _lock:
        _kept = block


def release() -> int:
    """Drop the kept block (the system gets it back); returns its bytes, 0 if none."""
    global _kept
    with _lock:
        block, _kept = _kept, None
    return 0 if block is None else block.nbytes


def kept_bytes() -> int:
    """Bytes kept for the next table (0 when none)."""
    block = _kept
    return 0 if block is None else block.nbytes


def _forget_in_child() -> None:
    # a forked worker must not write into its parent's kept block (each page written
    # would be copied); it drops its reference, the parent keeps the block
    global _kept, _lock
    _kept = None
    _lock = threading.RLock()  # another thread may have held it at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
