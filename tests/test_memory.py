"""The memory of a freed feature table, kept for the next encoding (riskscore._memory).

The pool may hand a table's memory to a new table only when nothing refers to the
old one: these tests keep views of every kind alive, check that two live tables
never share a byte, and that an encoding into reused memory equals a fresh one.
"""

from __future__ import annotations

import gc
import multiprocessing
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore
from riskscore import _memory
from riskscore._parallel import MALLOC_ENV

UNIT = 1024  # bytes: the tests lower the size bound to this


@pytest.fixture(autouse=True)
def small_bound(monkeypatch):
    """Keep tables from 1 KB (so the tests stay small), start and end with none kept."""
    monkeypatch.setattr(_memory, "KEEP_FROM", UNIT)
    monkeypatch.delenv(MALLOC_ENV, raising=False)
    _memory.release()
    yield
    _memory.release()


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _span(a: np.ndarray) -> tuple[int, int]:
    return _address(a), _address(a) + a.nbytes


def _table(n_rows=64, n_columns=8, dtype=np.float64) -> np.ndarray:
    return _memory.new_table(n_rows, n_columns, dtype)


def test_a_table_is_an_uninitialised_column_ordered_array():
    t = _table(64, 8, np.float32)
    assert t.shape == (64, 8) and t.dtype == np.float32
    assert t.flags["F_CONTIGUOUS"] and t.flags["WRITEABLE"]
    t[:] = 1.5
    assert float(t.sum()) == 1.5 * 64 * 8


def test_a_freed_table_is_kept_and_the_next_one_of_its_size_takes_it():
    first = _table()
    where = _address(first)
    assert _memory.kept_bytes() == 0  # nothing kept while it is used
    del first
    gc.collect()
    assert _memory.kept_bytes() == 64 * 8 * 8
    second = _table()
    assert _address(second) == where
    assert _memory.kept_bytes() == 0  # taken, not shared


@pytest.mark.parametrize(
    "view",
    [
        lambda t: t[:, 3],
        lambda t: t.T,
        lambda t: t[5:9],
        lambda t: memoryview(t[:, 0]),
        lambda t: pd.DataFrame(t, copy=False)[2],
        lambda t: pd.DataFrame(t, copy=False).iloc[10:20],
        lambda t: pd.DataFrame(t, copy=False)[1].to_numpy(),
    ],
    ids=["column", "transpose", "rows", "memoryview", "series", "frame-slice", "to_numpy"],
)
def test_memory_is_not_reused_while_any_view_of_the_table_lives(view):
    table = _table()
    table[:] = 7.0
    kept_view = view(table)
    del table
    gc.collect()
    assert _memory.kept_bytes() == 0
    other = _table()
    other[:] = -1.0
    assert np.all(np.asarray(kept_view) == 7.0)
    del kept_view
    gc.collect()
    assert _memory.kept_bytes() == 64 * 8 * 8


def test_a_table_that_does_not_fit_releases_the_kept_memory_first():
    small = _table(64, 8)
    del small
    gc.collect()
    assert _memory.kept_bytes() == 64 * 8 * 8
    big = _table(64, 32)  # four times the size: fresh memory, the small block let go
    assert _memory.kept_bytes() == 0
    big[:] = 1
    del big
    gc.collect()
    tiny = _table(16, 8)  # a quarter of the kept block: not worth holding it
    assert _memory.kept_bytes() == 0
    assert tiny.shape == (16, 8)


def test_a_smaller_table_takes_a_kept_block_up_to_twice_its_size():
    big = _table(64, 8)
    where = _address(big)
    del big
    gc.collect()
    half = _table(32, 8)
    assert _address(half) == where


def _resident_pages(start: int, end: int) -> int:
    """Pages of [start, end) (page-aligned) in memory, by mincore(2)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    n = (end - start) // PAGE
    vec = (ctypes.c_ubyte * n)()
    assert libc.mincore(start, end - start, vec) == 0, ctypes.get_errno()
    return sum(v & 1 for v in vec)


PAGE = os.sysconf("SC_PAGE_SIZE")


def test_a_smaller_table_in_a_kept_block_holds_no_more_memory_than_a_fresh_one():
    big = _table(64, 1024)  # 512 KB
    big[:] = 1.0  # every page in memory
    start = _address(big)
    del big
    gc.collect()
    small = _table(40, 1024)  # 320 KB: takes the block
    assert _address(small) == start
    first = -(-(start + small.nbytes) // PAGE) * PAGE
    end = (start + 64 * 1024 * 8) // PAGE * PAGE
    assert end - first >= 40 * PAGE
    assert _resident_pages(first, end) == 0  # the pages past the table went back
    small[:] = 2.0
    assert np.all(small == 2.0)


@pytest.mark.parametrize("platform, kept_after", [("linux", 32768), ("darwin", 20480)])
def test_elsewhere_a_kept_block_serves_only_its_own_size_class(monkeypatch, platform, kept_after):
    monkeypatch.setattr(_memory.sys, "platform", platform)
    big = _table(64, 64)  # 32 KB, its own size class
    del big
    gc.collect()
    smaller = _table(64, 40)  # 20 KB: Linux takes the block and gives its tail back
    del smaller
    gc.collect()
    assert _memory.kept_bytes() == kept_after


def test_tables_of_nearly_one_size_share_a_block():
    # a cohort audit's chunks: the next table a little larger than the last
    assert _memory.size_class(285_600_000) == _memory.size_class(285_900_000)
    first = _table(1000, 40)  # 320,000 bytes: a block of its size class
    where = _address(first)
    del first
    gc.collect()
    assert _memory.kept_bytes() == _memory.size_class(320_000) > 320_000
    larger = _table(1010, 40)  # 323,200 bytes, the same class
    assert _address(larger) == where


def test_tables_below_the_bound_are_plain_arrays(monkeypatch):
    monkeypatch.setattr(_memory, "KEEP_FROM", 10**9)
    t = _table()
    assert t.base is None or not isinstance(t.base, _memory._Owner)
    del t
    gc.collect()
    assert _memory.kept_bytes() == 0


def test_nothing_is_kept_when_the_user_asks_for_malloc_as_it_is(monkeypatch):
    monkeypatch.setenv(MALLOC_ENV, "keep")
    t = _table()
    del t
    gc.collect()
    assert _memory.kept_bytes() == 0


def test_nothing_larger_than_a_quarter_of_the_machine_is_kept(monkeypatch):
    monkeypatch.setattr(_memory, "_memory_cap", lambda: 64 * 8 * 8 - 1)
    t = _table()
    del t
    gc.collect()
    assert _memory.kept_bytes() == 0


@pytest.mark.parametrize(
    "v2, v1, limit",
    [
        ("max", None, None),  # cgroup v2 without a limit: the machine's memory
        ("1073741824", None, 2**30),  # a 1 GB container
        (None, "536870912", 2**29),  # cgroup v1
        (None, "9223372036854771712", None),  # v1's "no limit"
        (None, None, None),  # no cgroup files
    ],
)
def test_the_cap_is_a_quarter_of_the_machine_or_its_container(tmp_path, v2, v1, limit):
    paths = (str(tmp_path / "memory.max"), str(tmp_path / "memory.limit_in_bytes"))
    for path, value in zip(paths, (v2, v1), strict=True):
        if value is not None:
            with open(path, "w") as f:
                f.write(value + "\n")
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    expected = min(machine, limit) if limit is not None else machine
    assert _memory._memory_cap(paths) == expected // 4


def test_release_memory_gives_the_kept_block_back():
    t = _table()
    del t
    gc.collect()
    assert riskscore.release_memory() == 64 * 8 * 8
    assert _memory.kept_bytes() == 0
    assert riskscore.release_memory() == 0


def _child_kept(queue) -> None:
    queue.put(_memory.kept_bytes())


def test_a_forked_worker_does_not_write_into_its_parents_kept_memory():
    t = _table()
    del t
    gc.collect()
    assert _memory.kept_bytes() > 0
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_kept, args=(queue,))
    child.start()
    seen = queue.get(timeout=60)
    child.join(60)
    assert seen == 0
    assert _memory.kept_bytes() == 64 * 8 * 8  # the parent still has it


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("new"), st.sampled_from([(32, 8), (64, 8), (128, 8), (64, 16)])),
            st.tuples(st.just("drop"), st.integers(0, 7)),
            st.tuples(st.just("view"), st.integers(0, 7)),
        ),
        max_size=30,
    )
)
def test_live_tables_never_share_memory_and_keep_their_values(ops):
    """Random runs of making tables, keeping views and dropping them: every live
    table (and every view still held) keeps the marker written into it."""
    live: list[tuple[np.ndarray, float]] = []
    views: list[tuple[np.ndarray, float]] = []
    marker = 0.0
    for op, arg in ops:
        if op == "new":
            marker += 1
            t = _table(*arg)
            t[:] = marker
            live.append((t, marker))
        elif live and op == "drop":
            live.pop(arg % len(live))
        elif live and op == "view":
            t, m = live[arg % len(live)]
            views.append((t[1:, ::2], m))
        # no gc.collect(): a table's memory is given back by reference counting alone
        spans = sorted(_span(t) for t, _ in live)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
        for t, m in live + views:
            assert np.all(t == m)
    del live, views
    gc.collect()
    _memory.release()


def _grid(cases: pd.DataFrame, n_dates: int) -> pd.DataFrame:
    dates = pd.date_range("2101-02-01", periods=n_dates, freq="30D")
    return pd.DataFrame(
        {
            "case_id": np.repeat(cases["case_id"].to_numpy(), n_dates),
            "as_of": np.tile(dates, len(cases)),
        }
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_an_encoding_into_reused_memory_equals_a_fresh_one(monkeypatch, dtype):
    events_a, cases_a = riskscore.make_cohort(150, random_state=1)[:2]
    events_b, cases_b = riskscore.make_cohort(150, random_state=2)[:2]
    grid_a, grid_b = _grid(cases_a, 30), _grid(cases_b, 30)
    first = riskscore.encode_features(events_a, grid_a, dtype=dtype)
    where = _address(first[list(riskscore.FEATURES)[0]].to_numpy())
    del first
    gc.collect()
    assert _memory.kept_bytes() > 0
    # every flag missing (coverage) then every count: stale values would show
    coverage = pd.DataFrame({"agency": ["school"], "from": ["2101-06-01"], "to": ["2101-12-31"]})
    again = riskscore.encode_features(events_b, grid_b, dtype=dtype, coverage=coverage)
    reused = riskscore.encode_features(events_b, grid_b, dtype=dtype)
    monkeypatch.setenv(MALLOC_ENV, "keep")
    fresh = riskscore.encode_features(events_b, grid_b, dtype=dtype)
    fresh_covered = riskscore.encode_features(events_b, grid_b, dtype=dtype, coverage=coverage)
    pd.testing.assert_frame_equal(again, fresh_covered)
    pd.testing.assert_frame_equal(reused, fresh)
    first_feature = list(riskscore.FEATURES)[0]
    assert where in {_address(t[first_feature].to_numpy()) for t in (again, reused)}
