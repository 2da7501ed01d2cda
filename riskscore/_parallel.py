"""How many workers a call uses: ``n_jobs`` as riskscore reads it everywhere.

``None`` or ``-1`` means every core this process may run on (its CPU affinity, which
containers and batch schedulers set), a positive integer that many workers. Shared by
the encoder (threads over blocks of cases) and the cohort audit (processes or
threads over chunks of cases).

Also :func:`map_threads`, which runs numpy work on the calling thread and helpers,
and :func:`settle_malloc`, which it calls before any work on several threads (see
docs/performance.md, "The malloc setting riskscore changes"), and
:func:`small_pages`, the page size of an encoding's new arrays on a virtual machine
that hands free memory back to its host (same page, "Huge pages on a virtual
machine").
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import threading

import numpy as np

from riskscore.errors import ParameterError

__all__ = [
    "available_cores",
    "resolve_n_jobs",
    "capped_n_jobs",
    "settle_malloc",
    "keep_heap",
    "trim_heap",
    "map_threads",
    "ThreadFlag",
    "MALLOC_ENV",
    "host_reclaims_free_pages",
    "small_pages",
    "SMALL_PAGES_FROM",
    "allowed_memory_settings",
]

#: Set this environment variable to ``keep`` and riskscore leaves malloc as it is.
MALLOC_ENV = "RISKSCORE_MALLOC"
#: glibc's mallopt parameters, and the values its own dynamic rule settles on after
#: a 32 MB block is freed (DEFAULT_MMAP_THRESHOLD_MAX, and twice that for trimming).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4
_MMAP_THRESHOLD = 32 * 2**20
_TRIM_THRESHOLD = 2 * _MMAP_THRESHOLD
_settled: bool | None = None
#: where Linux lists virtio devices; a memory balloon's device id; the feature bit a
#: balloon sets when it reports free pages to the host (VIRTIO_BALLOON_F_REPORTING)
_VIRTIO_DEVICES = "/sys/bus/virtio/devices"
_BALLOON_DEVICE = 0x0005
_REPORTING_BIT = 5


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_n_jobs(n_jobs) -> int:
    """``n_jobs`` as a number of workers (None or -1: every available core; never more)."""
    if n_jobs is None or (
        isinstance(n_jobs, (int, np.integer)) and not isinstance(n_jobs, bool) and n_jobs == -1
    ):
        return available_cores()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ParameterError(
            "n_jobs must be a positive number of workers, or None or -1 for every core; "
            f"got {n_jobs!r}."
        )
    # more threads or processes than cores only compete for them
    return min(int(n_jobs), available_cores())


def capped_n_jobs(n_jobs, n_tasks: int):
    """joblib's ``n_jobs`` for ``n_tasks`` tasks, never more workers than cores or tasks.

    None stays None (joblib's default: one worker, unless a ``parallel_config`` says
    otherwise); -1 is every core, -2 all but one, as in joblib. ``n_jobs=10_000`` on
    two cores started thousands of processes.
    """
    if n_jobs is None:
        return None
    cores = available_cores()
    wanted = cores + 1 + int(n_jobs) if n_jobs < 0 else int(n_jobs)
    return max(1, min(wanted, cores, max(int(n_tasks), 1)))


def settle_malloc() -> bool:
    """Fix glibc's malloc thresholds at the values its dynamic rule settles on.

    glibc starts by serving every allocation over 128 KB with a fresh ``mmap`` and
    returns memory to the system as soon as 128 KB lie free at the top of a heap;
    it raises both thresholds as large blocks are freed, up to 32 MB and 64 MB. A
    worker thread's arena often never gets there, so each block of the encoder
    faults its few MB of arrays in again (on the benchmark cohort: 12,000 page
    faults per encoding on two threads against 400 on one, and 1.3x the CPU time).
    Setting the two thresholds to those settled values (``mallopt``) ends that; the
    process may then keep up to 64 MB per arena that it would have returned.

    Done once per process, only on Linux with glibc, and not at all when the
    environment variable ``RISKSCORE_MALLOC`` is ``keep``. Returns whether the
    thresholds were set (by this call or an earlier one).
    """
    global _settled
    if _settled is not None:
        return _settled
    _settled = False
    libc = _glibc()
    if libc is None:
        return False
    _settled = bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )
    return _settled


def _glibc():
    """glibc, its ``mallopt`` typed (Linux with glibc, unless ``RISKSCORE_MALLOC=keep``),
    or None."""
    if not allowed_memory_settings() or not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - glibc only (musl's mallopt does nothing)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):
        return None
    return libc


def keep_heap() -> bool:
    """In a short-lived worker process: keep all freed memory for reuse.

    glibc hands every block over 32 MB straight back to the system when it is freed,
    so each chunk a worker audits faults its large arrays in again, page by page
    (the kernel zeroes each one). Here malloc serves every size from its heap and
    never trims it (``M_MMAP_MAX`` 0, the trim threshold at its maximum): later
    chunks reuse the pages earlier ones touched. The process keeps its peak memory
    until it ends, so this is only for workers that end with their work (the cohort
    audit's forked workers: 100,000 children on 2 cores, 2.78 s -> 2.68 s best of 3,
    system time 0.7 s -> 0.6 s). Not done when ``RISKSCORE_MALLOC`` is ``keep``.
    Returns whether it was done.
    """
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))


def trim_heap() -> bool:
    """Before forking workers: hand the heap's free pages back to the system.

    A forked child shares its parent's pages until one side writes to them; the
    child's malloc reuses the parent's free heap memory, so each first write there
    copies a page (a 2 MB one where it was a huge page) instead of taking a fresh
    zeroed one. ``malloc_trim(0)`` releases those free pages first (about 10 ms):
    after an in-process audit of 100,000 children, the next audit on 2 forked
    workers took 2.95 s instead of 3.1 s, with half the page faults. Not done when
    ``RISKSCORE_MALLOC`` is ``keep``. Returns whether it was done.
    """
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))


def host_reclaims_free_pages(root: str = _VIRTIO_DEVICES) -> bool:
    """Whether this machine is a virtual machine that hands its free memory back.

    True when a virtio memory balloon under ``root`` has free page reporting on: the
    guest kernel tells the host which free 2 MB blocks it may take back, and the
    host then backs each again only when it is next written. False elsewhere (a
    physical machine, a VM without that balloon feature, anything unreadable).

    Examples
    --------
    >>> host_reclaims_free_pages("/no/such/folder")
    False
    """
    try:
        devices = sorted(os.scandir(root), key=lambda d: d.name)
    except OSError:
        return False
    for device in devices:
        try:
            with open(os.path.join(device.path, "device")) as f:
                kind = int(f.read().strip(), 16)
            with open(os.path.join(device.path, "features")) as f:
                bits = f.read().strip()  # one character per feature bit, bit 0 first
        except (OSError, ValueError):
            continue
        if kind == _BALLOON_DEVICE and bits[_REPORTING_BIT : _REPORTING_BIT + 1] == "1":
            return True
    return False


@functools.lru_cache(maxsize=1)
def _small_pages_here() -> bool:
    return sys.platform.startswith("linux") and host_reclaims_free_pages()


def _hugepage_switch():
    """numpy's switch for asking the kernel for huge pages (returns the old setting)."""
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            switch = getattr(importlib.import_module(name), "_set_madvise_hugepage", None)
        except ImportError:
            continue
        if switch is not None:
            return switch
    return None


#: Work whose largest array takes at least this many bytes gets 4 KB pages on a VM
#: that reports free memory (:func:`small_pages`). Measured on the project machine:
#: a 121 MB output table (20,000 children, 720,000 rows) encoded as fast on huge
#: pages or faster (0.09-0.20 s against 0.11-0.14 s with 5 s pauses between calls;
#: 0.066 s against 0.093 s back to back), a 1.2 GB one (200,000 children) 1.6x
#: faster on 4 KB pages (0.94-1.08 s against 1.37-1.75 s with 10 s pauses). A small
#: table often fits in memory freed a moment before, which the host still backs; a
#: large one mostly does not.
SMALL_PAGES_FROM = 256 * 2**20

_pages_lock = threading.Lock()
_pages_depth = 0
_pages_before = True


@contextlib.contextmanager
def small_pages(nbytes: int):
    """Within the block: numpy's new large arrays on 4 KB pages, where that is faster.

    ``nbytes``: the size of the work's largest array (an encoding's output table);
    below :data:`SMALL_PAGES_FROM` nothing changes.

    numpy asks the kernel for 2 MB (huge) pages for arrays of 4 MB and more. On a
    virtual machine that reports its free memory to the host
    (:func:`host_reclaims_free_pages`), a huge page the process takes is mostly one
    the host has reclaimed, and has to be backed again 4 KB at a time inside one
    fault: on the project machine, writing a new 1 GB array took 1-2.5 s of system
    time once the memory had been free a few seconds, against 0.35 s on 4 KB pages
    (and 0.05 s on huge pages freed a moment before, which back-to-back benchmark
    rounds see but a notebook, with pauses between cells, does not). So there, and
    only there, and only for work of :data:`SMALL_PAGES_FROM` bytes or more (a
    smaller table often fits in memory freed a moment before), numpy's switch is off
    for the block; elsewhere nothing changes. The setting is numpy's, for the whole
    process: other threads' new arrays get 4 KB pages while any thread is in such a
    block; the previous setting returns when the last one leaves. Not done when ``RISKSCORE_MALLOC`` is ``keep``.

    Yields whether the switch is off for the block.

    Examples
    --------
    >>> import numpy as np
    >>> with small_pages(8_000_000):
    ...     a = np.ones(1_000_000)
    """
    global _pages_depth, _pages_before
    wanted = nbytes >= SMALL_PAGES_FROM and _small_pages_here() and allowed_memory_settings()
    switch = _hugepage_switch() if wanted else None
    if switch is None:
        yield False
        return
    with _pages_lock:
        if _pages_depth == 0:
            _pages_before = bool(switch(False))
        _pages_depth += 1
    try:
        yield True
    finally:
        with _pages_lock:
            _pages_depth -= 1
            if _pages_depth == 0:
                switch(_pages_before)


def allowed_memory_settings() -> bool:
    """False when the user asked riskscore to leave memory settings alone."""
    return os.environ.get(MALLOC_ENV, "").strip().lower() != "keep"


def map_threads(fn, items: list, workers: int) -> list:
    """``[fn(item) for item in items]`` on up to ``workers`` threads, results in order.

    For numpy work that releases the GIL. The calling thread works too (it saves a
    thread, and its allocations come from glibc's main malloc arena, which stays
    warm), beside ``workers - 1`` helpers; each thread takes the next item when it
    is free, so one slowed by other work does not hold up the rest. After an error
    no thread takes another item; it is raised here once every thread has stopped
    (the calling thread's own error first). Before the first work on several
    threads, glibc's malloc thresholds are settled (:func:`settle_malloc`): a
    helper's buffers would otherwise be faulted in afresh on every call.
    """
    workers = max(1, min(workers, len(items)))
    if workers == 1 or getattr(_local, "helper", False):
        # a helper's own work runs on that helper alone (a helper waiting for helpers
        # of the same pool could wait for ever)
        return [fn(item) for item in items]
    settle_malloc()

    results: list = [None] * len(items)
    todo = iter(range(len(items)))
    lock = threading.Lock()
    failed = threading.Event()

    def work() -> None:
        while not failed.is_set():
            with lock:
                i = next(todo, None)
            if i is None:
                return
            try:
                results[i] = fn(items[i])
            except BaseException:
                failed.set()
                raise

    helpers = [_pool(workers - 1).submit(work) for _ in range(workers - 1)]
    error = None
    try:
        work()
    except BaseException as exc:  # the helpers stop first; then it is raised
        error = exc
    for helper in helpers:
        # a helper that has not started by now has nothing left to do
        if not helper.cancel() and helper.exception() is not None and error is None:
            error = helper.exception()
    if error is not None:
        raise error
    return results


class ThreadFlag:
    """A switch that is on only for the thread inside a ``with flag.on():`` block.

    For work that trusts what its own caller already checked (an audit's events, a
    Dask partition's share of a training set): any other thread, or the same one
    after the block, sees the switch off. Blocks may nest.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def __bool__(self) -> bool:
        return getattr(self._local, "on", False)

    @contextlib.contextmanager
    def on(self):
        before = bool(self)
        self._local.on = True
        try:
            yield
        finally:
            self._local.on = before


_local = threading.local()
_pool_lock = threading.Lock()
_helpers = None
_helper_count = 0


def _mark_helper() -> None:
    _local.helper = True


def _pool(n: int):
    """The process's pool of helper threads, with at least ``n`` of them.

    Kept between calls: starting threads afresh costs a few tenths of a millisecond
    per call, which is felt in scoring (about 10 ms for a million rows).
    """
    global _helpers, _helper_count
    with _pool_lock:
        if _helpers is None or _helper_count < n:
            from concurrent.futures import ThreadPoolExecutor

            old = _helpers
            _helpers = ThreadPoolExecutor(
                max_workers=n, thread_name_prefix="riskscore", initializer=_mark_helper
            )
            _helper_count = n
            if old is not None:
                old.shutdown(wait=False)
        return _helpers


def _forget_pool() -> None:
    # a child process of fork has none of its parent's threads
    global _helpers, _helper_count, _pool_lock
    _helpers, _helper_count, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
