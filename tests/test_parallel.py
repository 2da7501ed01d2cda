"""``riskscore._parallel.map_threads``: the one way riskscore runs numpy work on threads."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore._parallel import map_threads


@settings(max_examples=40, deadline=None)
@given(items=st.lists(st.integers(-1000, 1000), max_size=30), workers=st.integers(1, 4))
def test_results_are_the_serial_results_in_order(items, workers):
    assert map_threads(lambda x: x * x - 3, items, workers) == [x * x - 3 for x in items]


@pytest.mark.parametrize("bad", [0, 3, 19])
def test_a_failure_is_raised_and_stops_the_rest(bad):
    started = []

    def fn(i):
        started.append(i)
        if i == bad:
            raise ValueError(f"item {i}")
        time.sleep(0.002)
        return i

    with pytest.raises(ValueError, match=f"item {bad}"):
        map_threads(fn, list(range(200)), 2)
    # the threads stop taking items after the failure (one more each at most)
    assert len(started) <= bad + 3


def test_the_helper_threads_are_kept_between_calls():
    """Starting threads afresh costs a few tenths of a millisecond per call."""

    def who(_):
        time.sleep(0.005)  # long enough that both threads take items
        return threading.get_ident()

    first = set(map_threads(who, list(range(8)), 2))
    before = {t.ident for t in threading.enumerate()}
    second = set(map_threads(who, list(range(8)), 2))
    me = threading.get_ident()
    assert me in first and len(first) == 2 and len(second) == 2
    # the second call's helper was already running before it: no thread started
    assert second <= before
    assert all(
        t.name.startswith("riskscore") for t in threading.enumerate() if t.ident in second - {me}
    )


def test_work_on_a_helper_that_asks_for_threads_runs_there_without_waiting_for_ever():
    """A helper that calls map_threads (nested work) does it alone: waiting for
    helpers of the same pool could wait for ever."""
    out = []

    def outer(i):
        return sum(map_threads(lambda x: x + i, list(range(5)), 2))

    def run():
        out.append(map_threads(outer, list(range(6)), 2))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout=30)
    assert not t.is_alive(), "nested map_threads did not finish"
    assert out == [[sum(x + i for x in range(5)) for i in range(6)]]


def _in_child(queue):
    queue.put(map_threads(lambda x: (x, threading.get_ident()), list(range(20)), 2))


def test_a_forked_child_gets_its_own_helpers():
    """A child of fork has none of its parent's threads: the pool is started again."""
    map_threads(lambda x: x, list(range(4)), 2)  # the parent's pool exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_in_child, args=(queue,))
    child.start()
    result = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert [x for x, _ in result] == list(range(20))


def _in_fresh_process(code: str, malloc: str = "") -> list[str]:
    """What ``code`` prints, run in a fresh Python with ``RISKSCORE_MALLOC=malloc``."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "RISKSCORE_MALLOC": malloc}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return out.stdout.split()


def _malloc_changed(env: str) -> list[str]:
    """What the heap tests print where riskscore changes malloc (Linux, unless keep)."""
    import sys

    done = sys.platform.startswith("linux") and not env
    return [str(done), str(done)]


def test_malloc_is_settled_before_the_first_work_on_several_threads():
    """map_threads settles glibc's malloc thresholds itself (every threaded caller
    needs it), and only when it runs on more than one thread (a fresh process)."""
    code = (
        "import riskscore._parallel as p\n"
        "p.map_threads(abs, [1, 2], 1); one = p._settled\n"
        "p.map_threads(abs, [1, 2], 2); print(one, p._settled is not None)"
    )
    assert _in_fresh_process(code) == ["None", "True"]


@pytest.mark.parametrize("env", ["", "keep"])
def test_a_worker_that_keeps_its_heap_keeps_freed_large_arrays_resident(env):
    """keep_heap (the cohort audit's forked workers) makes glibc keep a freed 64 MB
    array for reuse instead of giving it back; RISKSCORE_MALLOC=keep leaves malloc
    as it is. Measured as resident memory in a fresh process (Linux)."""
    code = (
        "import numpy as np, sys\n"
        "import riskscore._parallel as p\n"
        "def rss(): return int(open('/proc/self/statm').read().split()[1])\n"
        "kept = p.keep_heap()\n"
        "before = rss(); a = np.ones(2**23); touched = rss(); del a; after = rss()\n"
        "print(kept, after - before > (touched - before) // 2)\n"
    )
    assert _in_fresh_process(code, env) == _malloc_changed(env)


@pytest.mark.parametrize("env", ["", "keep"])
def test_trimming_the_heap_before_forking_releases_freed_memory(env):
    """trim_heap (before the cohort audit forks its workers) gives the heap's free
    pages back: resident memory falls after freeing many small blocks that glibc
    would otherwise keep; RISKSCORE_MALLOC=keep leaves malloc alone (Linux)."""
    code = (
        "import riskscore._parallel as p\n"
        "def rss(): return int(open('/proc/self/statm').read().split()[1])\n"
        "keep = [bytearray(65536) for _ in range(2500)]\n"  # ~160 MB of heap blocks
        "keep = keep[::2] + [None]\n"  # every other block freed: holes the heap keeps
        "before = rss(); done = p.trim_heap(); after = rss()\n"
        "print(done, before - after > 10000)\n"  # more than 40 MB of pages given back
    )
    assert _in_fresh_process(code, env) == _malloc_changed(env)


def test_workers_are_never_more_than_cores_or_tasks():
    # evaluate(n_jobs=10_000) on two cores started about a thousand processes
    from riskscore._parallel import available_cores, capped_n_jobs, resolve_n_jobs

    cores = available_cores()
    assert capped_n_jobs(10_000, 50) == min(cores, 50)
    assert capped_n_jobs(10_000, 1) == 1
    assert capped_n_jobs(-1, 100) == cores
    assert capped_n_jobs(-(cores + 5), 100) == 1
    assert capped_n_jobs(None, 100) is None  # joblib's own default
    assert resolve_n_jobs(10_000) == cores


# --- page size on a virtual machine that hands free memory back (small_pages) -------

BIG = 2**30  # bytes: work this large gets 4 KB pages on such a VM


def _virtio(root, name: str, device: str, features: str) -> None:
    d = root / name
    d.mkdir()
    (d / "device").write_text(device + "\n")
    (d / "features").write_text(features + "\n")


@pytest.mark.parametrize(
    ("devices", "expected"),
    [
        # a balloon (device 0x0005) with bit 5 (free page reporting) set
        ([("virtio0", "0x0005", "0000010000000000")], True),
        ([("virtio0", "0x0001", "0000000000"), ("virtio3", "0x0005", "1100010")], True),
        # the balloon without reporting, or bit 5 of another device
        ([("virtio0", "0x0005", "1111101111")], False),
        ([("virtio0", "0x0001", "0000010000")], False),
        # a features string too short to hold bit 5, an unreadable device id
        ([("virtio0", "0x0005", "00001")], False),
        ([("virtio0", "balloon", "0000010000")], False),
        ([], False),
    ],
)
def test_a_vm_reporting_free_pages_is_recognised_by_its_balloon(tmp_path, devices, expected):
    from riskscore._parallel import host_reclaims_free_pages

    for device in devices:
        _virtio(tmp_path, *device)
    assert host_reclaims_free_pages(str(tmp_path)) is expected
    assert host_reclaims_free_pages(str(tmp_path / "missing")) is False


def _numpy_hugepages() -> bool:
    from riskscore._parallel import _hugepage_switch

    switch = _hugepage_switch()
    before = switch(True)
    switch(before)
    return bool(before)


@pytest.fixture
def reporting_vm(monkeypatch):
    """As on a VM whose balloon reports free pages; numpy's setting restored after."""
    from riskscore import _parallel

    monkeypatch.setattr(_parallel, "_small_pages_here", lambda: True)
    monkeypatch.delenv(_parallel.MALLOC_ENV, raising=False)
    before = _numpy_hugepages()
    yield
    _parallel._hugepage_switch()(before)


def test_small_pages_turns_numpys_huge_pages_off_and_restores_them(reporting_vm):
    from riskscore._parallel import small_pages

    assert _numpy_hugepages()
    with small_pages(BIG) as on:
        assert on and not _numpy_hugepages()
        with small_pages(BIG):  # nested: still off, and still off after the inner block
            assert not _numpy_hugepages()
        assert not _numpy_hugepages()
    assert _numpy_hugepages()
    with pytest.raises(KeyError), small_pages(BIG):
        raise KeyError("boom")
    assert _numpy_hugepages()


def test_small_pages_keeps_a_setting_the_user_made(reporting_vm):
    from riskscore._parallel import _hugepage_switch, small_pages

    _hugepage_switch()(False)  # as NUMPY_MADVISE_HUGEPAGE=0 would
    with small_pages(BIG):
        assert not _numpy_hugepages()
    assert not _numpy_hugepages()


def test_small_pages_changes_nothing_off_such_a_vm_or_when_told_to_keep(reporting_vm, monkeypatch):
    from riskscore import _parallel

    monkeypatch.setenv(_parallel.MALLOC_ENV, "keep")
    with _parallel.small_pages(BIG) as on:
        assert not on and _numpy_hugepages()
    monkeypatch.delenv(_parallel.MALLOC_ENV)
    monkeypatch.setattr(_parallel, "_small_pages_here", lambda: False)
    with _parallel.small_pages(BIG) as on:
        assert not on and _numpy_hugepages()


def test_small_pages_leaves_work_smaller_than_the_bound_on_huge_pages(reporting_vm):
    from riskscore._parallel import SMALL_PAGES_FROM, small_pages

    with small_pages(SMALL_PAGES_FROM - 1) as on:
        assert not on and _numpy_hugepages()
    with small_pages(SMALL_PAGES_FROM) as on:
        assert on and not _numpy_hugepages()


def test_small_pages_holds_until_the_last_thread_leaves(reporting_vm):
    from riskscore._parallel import small_pages

    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with small_pages(BIG):
            inside.set()
            release.wait(10)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(10)
    with small_pages(BIG):
        pass
    still_off = not _numpy_hugepages()  # the other thread is still in its block
    release.set()
    t.join()
    assert still_off and _numpy_hugepages()


def test_encode_features_builds_a_large_table_on_small_pages_on_such_a_vm(
    reporting_vm, monkeypatch
):
    import riskscore as rs
    from riskscore import features

    seen = []
    run = features._Job.run

    def spy(self, target):
        seen.append(_numpy_hugepages())
        return run(self, target)

    monkeypatch.setattr(features._Job, "run", spy)
    events, cases = rs.make_cohort(30, random_state=1)
    grid = rs.as_of_grid(events, "180D", cases=cases)
    seen.clear()
    X = rs.encode_features(events, grid)  # a small table: huge pages as numpy likes
    table = len(grid) * len(rs.FEATURES) * 8
    monkeypatch.setattr("riskscore._parallel.SMALL_PAGES_FROM", table)
    rs.encode_features(events, grid)  # a table of the bound's size: 4 KB pages
    assert seen == [True, False] and _numpy_hugepages()
    seen.clear()
    rs.encode_features(events, grid, dtype="float32")  # half the bytes: under the bound
    assert seen == [True]
    monkeypatch.setattr(features._Job, "run", run)
    pd_testing = __import__("pandas").testing
    pd_testing.assert_frame_equal(X, rs.encode_features(events, grid))
