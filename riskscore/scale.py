"""Out-of-core and distributed runs on Dask: the same pandas code, one partition at a time.

Linked national records (millions of children, billions of events) do not fit in one
machine's memory. riskscore does not carry an engine of its own for that: it runs on
Dask, which the PyData world already uses. Dask is an
optional extra (``pip install riskscore[dask]``) and is imported only inside the
functions of this module, never when :mod:`riskscore` is imported.

How it works
------------
Every feature and every audit figure of a case depends on that case's events only.
Events are therefore *partitioned by case*: every case lives in exactly one
partition, and the in-memory pandas functions (:func:`riskscore.encode_features`,
the per-chunk work of :func:`riskscore.audit_cohort`) run unchanged on each partition.
There is one implementation, not two, so the results equal the pandas results.

A case goes to bucket ``case_buckets(case_id, n) = hash(case_id) % n``, where the hash
is :func:`pandas.util.hash_array` of the identifier as text with pandas' fixed default
key: stable across processes, machines and runs. Partition ``i`` holds bucket ``i``.

* Written that way on disk (:func:`write_cohort_parquet`, :func:`write_events_parquet`:
  ``events/part-00000.parquet`` ... plus a small ``_riskscore_layout.json``), a folder
  is read lazily by :func:`read_events_dask` one file per partition, with no shuffle.
* Any other Dask or pandas input is shuffled **once** by :func:`partition_by_case`
  (Dask's ``set_index`` on the bucket column with explicit divisions); the rows of a
  case keep their input order, so even floating-point sums match the pandas path.

A case-partitioned Dask DataFrame is recognisable by its index: it is named
``_case_bucket`` and its divisions are ``0, 1, ..., n``. Row filters keep it so.

Cohort tables (:func:`audit_cohort_dask`) are built from per-case, per-crossing and
per-contributor frames gathered from every partition (they are small next to the
events), and disclosure control is applied once, to the final totals: a small cell is
judged on the whole cohort's count, never on a partition's.

Where it runs
-------------
Lazy results (:func:`encode_features_dask`) run on whatever Dask scheduler is active
when you call ``.compute()`` or ``.to_parquet()``. Functions that compute for you
(:func:`audit_cohort_dask`, :func:`write_events_parquet`) take ``client``:

* ``client=None``: the active Dask scheduler if there is one (a ``distributed``
  client made earlier in the session, or ``dask.config.set(scheduler=...)``);
  otherwise a local ``dask.distributed`` cluster (:func:`local_cluster`: 2 worker
  processes, 1 thread each) started for the call and closed after it. Worker
  processes start by re-importing the script that is running, so in a script the
  call must sit under ``if __name__ == "__main__":``. Called at the top level of a
  script without that guard, riskscore computes with Dask's threads instead (same
  results, no process parallelism) and warns with a ``RuntimeWarning`` saying so.
* a ``distributed.Client``: that cluster.
* a scheduler address such as ``"tcp://scheduler:8786"``: connect, run, disconnect.

To run on a cluster, connect to it first: ``from distributed import Client;
client = Client("tcp://scheduler:8786")``; every riskscore call then uses it (pass
``client=client`` to be explicit). Workers need riskscore installed and must be able
to read the Parquet paths (a shared file system or object store).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskscore._audit_core import MIN_GAP, check_min_gap
from riskscore._cohort_tables import (
    audit_chunks,
    cohort_tables,
    control_tables,
    merge_frames,
    orphan_error,
)
from riskscore._dates import DEFAULT_GRID, parse_dates, step_days, to_days
from riskscore._dispatch import register
from riskscore._params import COUNT, POSITIVE_INT, WINDOW_DAYS, Interval, validate_params
from riskscore.audit import CohortAudit
from riskscore.contract import check_model
from riskscore.disclosure import synthetic_note
from riskscore.errors import (
    DependencyError,
    MissingFileError,
    OutputExistsError,
    ParameterError,
    SchemaError,
    warn_user,
)
from riskscore.features import as_of_grid, encode_features
from riskscore.schema import (
    ALLOWED,
    allowed_columns,
    ensure_cases,
    ensure_events,
    refuse_key_value_folders,
)
from riskscore.vocabulary import AGENCIES, FEATURES

__all__ = [
    "LAYOUT_FILE",
    "audit_cohort_dask",
    "case_buckets",
    "encode_features_dask",
    "is_case_partitioned",
    "local_cluster",
    "make_training_set_dask",
    "partition_by_case",
    "read_cases_dask",
    "read_events_dask",
    "write_cohort_parquet",
    "write_events_parquet",
]

#: Name of the file that marks a folder as hash-partitioned by case.
LAYOUT_FILE = "_riskscore_layout.json"
_LAYOUT_NAME = "riskscore.case_hash"
_LAYOUT_VERSION = 1

_BUCKET = "_case_bucket"
_ORDER = "_riskscore_order"
_ROW = "_riskscore_row"
_POS = "_riskscore_case_pos"
_PART_BITS = 40  # rows per input partition < 2**40; partitions < 2**23
_EVENTS_PER_PARTITION = 500_000
_NAT = np.iinfo(np.int64).min
#: The most partitions riskscore makes: each is a task (and a file); more would spend
#: minutes and gigabytes on bookkeeping before anything is computed.
_MAX_PARTITIONS = 100_000
_PARTITIONS = Interval(Integral, 1, _MAX_PARTITIONS)


# --------------------------------------------------------------------------- dask


def _dd():
    """Import dask.dataframe, or say how to install it."""
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover - depends on the environment
        raise DependencyError(
            "riskscore's out-of-core functions need Dask: pip install 'riskscore[dask]'."
        ) from None
    return dd


def _is_dask(obj: object) -> bool:
    # The Dask collection protocol; checking it needs no import of dask.
    return hasattr(obj, "__dask_graph__")


@contextmanager
@validate_params(
    {
        "n_workers": [POSITIVE_INT],
        "threads_per_worker": [POSITIVE_INT],
        "memory_limit": [str, POSITIVE_INT],
    }
)
def local_cluster(
    n_workers: int = 2,
    threads_per_worker: int = 1,
    memory_limit: str | int = "2.5GiB",
    **kwargs: Any,
) -> Iterator[Any]:
    """A local ``dask.distributed`` cluster of worker processes, closed on exit.

    Parameters
    ----------
    n_workers : int, default=2
        Worker processes (one per core is usual).
    threads_per_worker : int, default=1
        The pandas code holds the GIL much of the time, so processes beat threads.
    memory_limit : str or int, default="2.5GiB"
        Per worker; Dask spills to disk, then pauses, a worker nearing it.
    **kwargs
        Passed to ``distributed.LocalCluster`` (for example ``processes=False``).

    Yields
    ------
    distributed.Client
        A client connected to the cluster (the session's default while open).

    Examples
    --------
    >>> from riskscore.scale import local_cluster
    >>> with local_cluster(n_workers=1, memory_limit="1GiB") as client:
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    from dask.utils import parse_bytes
    from distributed import Client, LocalCluster

    if isinstance(memory_limit, str) and memory_limit.strip().lower() != "auto":
        try:
            parse_bytes(memory_limit)
        except (ValueError, TypeError, KeyError):
            raise ParameterError(
                f"local_cluster: memory_limit must be a size such as '2.5GiB' or '4GB' (or "
                f"'auto'), got {memory_limit!r}."
            ) from None
    # a random free port: None still tries 8787 and fails when another cluster has it
    kwargs.setdefault("dashboard_address", ":0")
    kwargs.setdefault("silence_logs", logging.ERROR)
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            memory_limit=memory_limit,
            **kwargs,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _active_scheduler() -> bool:
    import dask

    if dask.config.get("scheduler", None) is not None:
        return True
    if "distributed" not in sys.modules:
        return False  # no client can exist if distributed was never imported
    from distributed import default_client

    try:
        default_client()
    except ValueError:
        return False
    return True


def _is_main_guard(node: Any) -> bool:
    """Whether an ``ast`` node is ``if __name__ == "__main__":`` (either way round)."""
    import ast

    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    mains = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(mains) == 1


def _unguarded_main() -> tuple[str, int] | None:
    """``(script, line)`` when this call runs at the top level of a script, unguarded.

    Worker processes are started by *spawning* a fresh Python, which re-imports the
    script that started the session (``__main__``) as ``__mp_main__``: top-level code
    outside ``if __name__ == "__main__":`` then runs again in every worker, starts
    its own cluster there and the worker fails to start ("Nanny failed to start").
    Returns None whenever that cannot happen or cannot be told (an interactive
    session or notebook has no script to re-import; a source that cannot be read
    or parsed is given the benefit of the doubt).
    """
    import ast

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not path or not str(path).endswith(".py"):
        return None
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            break
        frame = frame.f_back
    if frame is None:
        return None  # called from a thread or code of another module
    line = frame.f_lineno
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for node in tree.body:
        if _is_main_guard(node) and any(
            sub.lineno <= line <= (sub.end_lineno or sub.lineno) for sub in node.body
        ):
            return None
    return str(path), int(line)


def _spawns_processes() -> bool:
    """Whether local worker processes re-import ``__main__`` (spawn or forkserver)."""
    import dask

    try:
        import distributed  # noqa: F401  (loads the distributed.* configuration)
    except ImportError:
        return True  # its default is spawn; threads need no distributed at all
    method = dask.config.get("distributed.worker.multiprocessing-method", "spawn")
    return method != "fork"


def _compute(collections: Sequence[Any], client: Any = None) -> tuple:
    """Compute on ``client`` (see the module docstring for the rules)."""
    import dask

    if client is None:
        if _active_scheduler():
            return dask.compute(*collections)
        unguarded = _unguarded_main()
        if unguarded is not None and _spawns_processes():
            # A local process cluster would re-run the user's script in every worker
            # and fail with pages of logs: the same code on threads gives the same
            # result, only without process parallelism.
            script, line = unguarded
            warn_user(
                f"riskscore: {Path(script).name} line {line} runs at the top level of a "
                'script, outside an `if __name__ == "__main__":` block, so the local '
                "worker processes riskscore starts by default cannot start (each would "
                "re-run the script); computing with threads instead. To use worker "
                'processes, put the script\'s code under `if __name__ == "__main__":`, or '
                "start a cluster yourself (riskscore.scale.local_cluster() or "
                "distributed.Client(...), inside that block) and pass client=. To choose "
                "threads without this warning: dask.config.set(scheduler='threads').",
                RuntimeWarning,
            )
            return dask.compute(*collections, scheduler="threads")
        with local_cluster():
            return dask.compute(*collections)
    if isinstance(client, str):
        from distributed import Client

        with Client(client):
            return dask.compute(*collections)
    return dask.compute(*collections, scheduler=client)


# --------------------------------------------------------------------------- buckets


@validate_params({"n_partitions": [POSITIVE_INT]})
def case_buckets(case_id: pd.Series | Sequence[str], n_partitions: int) -> np.ndarray:
    """The partition (bucket) of each case: a stable hash of ``case_id`` modulo ``n``.

    The hash is :func:`pandas.util.hash_array` of the identifier as text, with
    pandas' fixed default key, so a case lands in the same bucket on every machine
    and in every run: files written once can be read without a shuffle later.

    Parameters
    ----------
    case_id : Series or sequence of str
        Case identifiers (categorical, text or objects; compared as text).
    n_partitions : int
        Number of buckets.

    Returns
    -------
    ndarray of int64
        Bucket ``0 .. n_partitions - 1`` of each row.

    Examples
    --------
    >>> from riskscore.scale import case_buckets
    >>> b = case_buckets(["C0000001", "C0000002", "C0000001"], 4)
    >>> bool(b[0] == b[2] and 0 <= b.min() and b.max() < 4)
    True
    """
    n = int(n_partitions)
    if n < 1:
        raise ParameterError(f"n_partitions must be at least 1, got {n_partitions}.")
    s = case_id if isinstance(case_id, pd.Series) else pd.Series(case_id)
    if isinstance(s.dtype, pd.CategoricalDtype):
        # hash the (few) categories once, then look each row's up by its code
        cats = np.asarray(s.cat.categories.astype(str), dtype=object)
        codes = s.cat.codes.to_numpy()
        h = pd.util.hash_array(cats) if len(cats) else np.zeros(0, dtype=np.uint64)
        out = (h % np.uint64(n)).astype(np.int64)[codes]
        out[codes < 0] = 0  # missing ids are reported by the encoder itself
        return out
    text = np.asarray(s.astype(str), dtype=object)
    return (pd.util.hash_array(text) % np.uint64(n)).astype(np.int64)


def is_case_partitioned(ddf: Any) -> bool:
    """True if a Dask DataFrame keeps every case in one partition, bucket ``i`` in partition ``i``.

    That is the layout :func:`read_events_dask` (on a folder written by
    :func:`write_events_parquet` or :func:`write_cohort_parquet`) and
    :func:`partition_by_case` produce: the index is named ``_case_bucket`` and the
    divisions are ``0, 1, ..., npartitions``.

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> from riskscore.scale import is_case_partitioned, partition_by_case
    >>> ev = dd.from_pandas(pd.DataFrame({"case_id": ["a", "b", "c"]}), npartitions=2)
    >>> is_case_partitioned(ev), is_case_partitioned(partition_by_case(ev))
    (False, True)
    """
    if not _is_dask(ddf) or getattr(ddf.index, "name", None) != _BUCKET:
        return False
    return bool(ddf.known_divisions) and tuple(ddf.divisions) == tuple(range(ddf.npartitions + 1))


def _split_pandas(df: pd.DataFrame, n: int, extra: dict | None = None):
    """A pandas frame split by bucket into a case-partitioned Dask DataFrame."""
    dd = _dd()
    bucket = case_buckets(df["case_id"], n)
    order = np.argsort(bucket, kind="stable")
    bounds = np.searchsorted(bucket[order], np.arange(n + 1))
    df = df.reset_index(drop=True)
    for name, values in (extra or {}).items():
        df[name] = values
    pieces = []
    for i in range(n):
        piece = df.iloc[order[bounds[i] : bounds[i + 1]]]
        piece.index = pd.Index(np.full(len(piece), i, dtype=np.int64), name=_BUCKET)
        pieces.append(piece)
    meta = pieces[0].iloc[:0]
    return dd.from_map(_identity, pieces, meta=meta, divisions=tuple(range(n + 1)))


def _identity(piece: pd.DataFrame) -> pd.DataFrame:
    return piece


def _tag_rows(part: pd.DataFrame, n: int, name: str, partition_info=None) -> pd.DataFrame:
    """Add the bucket column and a sortable key that follows the input row order."""
    number = 0 if partition_info is None else int(partition_info["number"])
    part = part.reset_index(drop=True)
    part[_BUCKET] = case_buckets(part["case_id"], n)
    part[name] = (np.int64(number) << _PART_BITS) + np.arange(len(part), dtype=np.int64)
    return part


def _restore_order(part: pd.DataFrame, name: str, drop: bool) -> pd.DataFrame:
    # the shuffle does not keep row order within a partition; the key restores it
    part = part.sort_values(name, kind="stable")
    return part.drop(columns=name) if drop else part


@validate_params({"n_partitions": [_PARTITIONS, None], "keep_order_key": ["boolean"]})
def partition_by_case(ddf: Any, n_partitions: int | None = None, *, keep_order_key: bool = False):
    """Rearrange events (or any table with ``case_id``) so every case lives in one partition.

    A Dask DataFrame is shuffled once (Dask's ``set_index`` on the bucket column of
    :func:`case_buckets` with divisions ``0 .. n``); a pandas DataFrame is split in
    memory. The rows of each case keep their input order. Input that already has the
    layout (:func:`is_case_partitioned`) with the same number of partitions is
    returned as it is.

    Parameters
    ----------
    ddf : dask or pandas DataFrame
        Must have a ``case_id`` column.
    n_partitions : int, optional
        Number of partitions, at most 100,000 (default: the input's, or one per
        500,000 rows for pandas input).
    keep_order_key : bool, default=False
        Keep the sortable input-order key column (used internally for query rows).

    Returns
    -------
    dask.dataframe.DataFrame
        Indexed by ``_case_bucket``, divisions ``0, 1, ..., n_partitions``.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore.scale import partition_by_case
    >>> ev = pd.DataFrame({"case_id": ["a", "b", "a", "c"], "x": [1, 2, 3, 4]})
    >>> parts = partition_by_case(ev, 2).compute()
    >>> parts.groupby("case_id")["x"].apply(list).to_dict()
    {'a': [1, 3], 'b': [2], 'c': [4]}
    """
    _dd()  # a clear message if Dask is missing
    if not _is_dask(ddf):
        if not isinstance(ddf, pd.DataFrame):
            raise SchemaError(
                f"expected a pandas or Dask DataFrame with a 'case_id' column, got "
                f"{type(ddf).__name__}."
            )
        _require_case_id(ddf.columns)
        n = int(n_partitions or max(1, -(-len(ddf) // _EVENTS_PER_PARTITION)))
        extra = {_ORDER: np.arange(len(ddf), dtype=np.int64)} if keep_order_key else None
        return _split_pandas(ddf, n, extra)
    _require_case_id(ddf.columns)
    n = int(n_partitions or ddf.npartitions)
    if is_case_partitioned(ddf) and ddf.npartitions == n and not keep_order_key:
        return ddf
    if is_case_partitioned(ddf):
        ddf = ddf.reset_index(drop=True)
    meta = _tag_rows(ddf._meta, n, _ORDER)
    tagged = ddf.map_partitions(_tag_rows, n, _ORDER, meta=meta)
    shuffled = tagged.set_index(_BUCKET, divisions=list(range(n + 1)), sorted=False)
    meta = _restore_order(shuffled._meta, _ORDER, not keep_order_key)
    return shuffled.map_partitions(_restore_order, _ORDER, not keep_order_key, meta=meta)


def _require_case_id(columns) -> None:
    if "case_id" not in columns:
        raise SchemaError(
            f"missing required column 'case_id'; found {list(columns)}. Fix: rename the "
            "pseudonymous child identifier column to 'case_id'."
        )


def _as_case_partitioned(ddf: Any, n_partitions: int | None):
    if _is_dask(ddf) and is_case_partitioned(ddf) and n_partitions in (None, ddf.npartitions):
        return ddf
    return partition_by_case(ddf, n_partitions)


def _contract_dates(dates: pd.Series) -> pd.Series:
    """A partition's dates read by the data contract's rule (NaT where not read): a
    partition may hold ISO text where Dask's meta says datetime64."""
    return pd.Series(parse_dates(dates).values, index=dates.index, name=dates.name)


def _last_date(ev):
    """The extract's last event date (lazy), over every partition's dates as read."""
    if "date" not in ev.columns:
        raise SchemaError(
            "events: required column 'date' (when the event happened, an ISO date "
            f"YYYY-MM-DD) is missing; found {list(ev.columns)}. Fix: rename the event date "
            "column to 'date'."
        )
    return ev["date"].map_partitions(_contract_dates, meta=("date", "datetime64[ns]")).max()


def _plain(part: pd.DataFrame) -> pd.DataFrame:
    """A partition as the pandas functions expect it: no helper index or columns."""
    return part.reset_index(drop=True)


# --------------------------------------------------------------------------- reading

_PARQUET = (".parquet", ".pq")


def _not_parquet(path, exc: BaseException) -> SchemaError:
    """The pandas reader's words for a file pyarrow cannot read as Parquet."""
    reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return SchemaError(
        f"{Path(path).name} cannot be read as Parquet ({reason}). Fix: check that every "
        "file is a whole Parquet file (a folder must hold only the table's parts), or "
        "export the table again."
    )


def _footer(path) -> tuple[int, tuple[str, ...]]:
    """Rows and columns of a Parquet file, from its footer (a stored pandas index left out)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema()
    except (pa.ArrowException, OSError) as exc:
        raise _not_parquet(path, exc) from None
    pandas_meta = schema.pandas_metadata or {}
    index = {c for c in pandas_meta.get("index_columns", []) if isinstance(c, str)}
    return int(meta.num_rows), tuple(n for n in schema.names if n not in index)


def _read_part(
    item, columns=None, n_buckets=None, validate=None, table=None, kind="events"
) -> pd.DataFrame:
    """Read one Parquet file of a folder (``columns=``: Dask's column projection), with
    the columns and types of the whole ``table`` (its empty frame) when given."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path, bucket, held = item
    cols = None if columns is None else list(columns)
    if cols is None or validate is not None:
        read_cols = None  # validation needs the whole row
    elif n_buckets is not None:
        read_cols = list(dict.fromkeys([*cols, "case_id"]))  # to check the buckets
    else:
        read_cols = cols
    if read_cols is not None:
        read_cols = [c for c in read_cols if c in held]  # the others are added as missing
    # case_id as a dictionary: one copy of each identifier, hashed once
    try:
        df = pq.read_table(path, columns=read_cols, read_dictionary=["case_id"]).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise _not_parquet(path, exc) from None
    if validate == "events":
        from riskscore.schema import validate_events

        df = _validated(validate_events, df, path)
    elif validate == "cases":
        from riskscore.schema import validate_cases

        df = _validated(validate_cases, df, path)
    if n_buckets is not None:
        if "case_id" in df.columns:
            wrong = case_buckets(df["case_id"], n_buckets) != bucket
            if wrong.any():
                raise SchemaError(
                    f"{path}: column 'case_id' at rows {np.flatnonzero(wrong)[:10].tolist()} "
                    f"belongs to another partition than file {bucket} of the layout in "
                    f"{LAYOUT_FILE}: the folder was changed after it was written. Fix: "
                    "rewrite it with riskscore.scale.write_events_parquet, or delete "
                    f"{LAYOUT_FILE} so that the rows are shuffled by case when read."
                )
        df.index = pd.Index(np.full(len(df), bucket, dtype=np.int64), name=_BUCKET)
    if table is not None:
        wanted = set(table.columns if cols is None else cols)
        if n_buckets is not None:
            wanted.add("case_id")
        df = _conform(df, table[[c for c in table.columns if c in wanted]], path, kind)
    return df if cols is None else df[cols]


def _conform(df: pd.DataFrame, meta: pd.DataFrame, path, kind: str) -> pd.DataFrame:
    """One file's table with the columns and types of the whole table (``meta``).

    A column that other files hold and this one lacks is missing here (a required
    column of the contract is refused instead); ``case_id`` is a categorical in every
    partition, whatever each file stored (text, integers). Other types must agree,
    but for a whole number read where others hold floats, or text of another kind.
    """
    from riskscore.schema import CONTRACT

    required = {r.name for r in CONTRACT[kind].columns if r.required}
    lacking = [c for c in meta.columns if c not in df.columns]
    if set(lacking) & required:
        raise SchemaError(
            f"{path}: required column(s) {sorted(set(lacking) & required)} of the {kind} "
            "table are missing from this file (other files of the folder hold them). Fix: "
            "write every file of the table with its required columns."
        )
    for column in lacking:
        empty = pd.Series(index=pd.RangeIndex(len(df)), dtype=meta[column].dtype)
        df[column] = empty.set_axis(df.index)
    if "case_id" in df.columns and not isinstance(df["case_id"].dtype, pd.CategoricalDtype):
        df["case_id"] = df["case_id"].astype("category")
    for column in meta.columns:
        want, have = meta[column].dtype, df[column].dtype
        if column == "case_id" or have == want:
            continue
        texts = pd.api.types.is_string_dtype(want) and pd.api.types.is_string_dtype(have)
        widen = pd.api.types.is_float_dtype(want) and pd.api.types.is_integer_dtype(have)
        if not (texts or widen):
            raise SchemaError(
                f"{path}: column {column!r} holds {have} where another file of the folder "
                f"holds {want}. Fix: write every file of the table with the same column "
                "types."
            )
        df[column] = df[column].astype(want)
    return df[list(meta.columns)]


def _validated(validate, df: pd.DataFrame, path) -> pd.DataFrame:
    report = validate(df, strict=False)
    if not report.ok:
        raise SchemaError(
            f"{path}: {report}\n(row numbers are within this file). Fix the file, or read "
            "it with riskscore.read_events(..., strict=False) to quarantine the rows.",
            report=report,
        )
    return report.valid


def _ignored(relative: Path) -> bool:
    # as pyarrow (the pandas path) passes over them: _SUCCESS, .part-0.parquet.crc
    return any(part.startswith((".", "_")) for part in relative.parts)


def _folder_files(p: Path) -> tuple[list[Path], list[Path]]:
    """The Parquet files under a folder, and the other files (names pyarrow skips left out)."""
    parquet, other = [], []
    for f in sorted(p.rglob("*")):
        if f.is_dir() or _ignored(f.relative_to(p)):
            continue
        (parquet if f.name.lower().endswith(_PARQUET) else other).append(f)
    return parquet, other


def _layout_error(p: Path, problem: str) -> SchemaError:
    return SchemaError(
        f"{p / LAYOUT_FILE}: {problem}. Fix: rewrite the folder with "
        f"riskscore.scale.write_events_parquet, or delete {LAYOUT_FILE} so that the files "
        "are read as they are and shuffled by case when needed."
    )


def _layout_files(p: Path) -> tuple[int, list[Path]]:
    """The partitions and files a layout file lists, checked against the folder."""
    try:
        layout = json.loads((p / LAYOUT_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _layout_error(p, f"not JSON ({exc})") from None
    if not isinstance(layout, dict):
        raise _layout_error(p, f"not a JSON object but a {type(layout).__name__}")
    if layout.get("layout") != _LAYOUT_NAME or layout.get("version") != _LAYOUT_VERSION:
        raise SchemaError(
            f"{p / LAYOUT_FILE}: unknown layout {layout.get('layout')!r} version "
            f"{layout.get('version')!r}; this riskscore reads {_LAYOUT_NAME!r} version "
            f"{_LAYOUT_VERSION}. Fix: upgrade riskscore or rewrite the folder."
        )
    n, names = layout.get("n_partitions"), layout.get("files")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise _layout_error(p, f"n_partitions is {n!r}, not a whole number of at least 1")
    if not isinstance(names, list) or not all(isinstance(f, str) for f in names):
        raise _layout_error(p, f"files is {names!r}, not a list of file names")
    if len(names) != n:
        raise _layout_error(
            p, f"n_partitions is {n} but files lists {len(names)} file(s); one file a partition"
        )
    odd = [f for f in names if Path(f).name != f or f in (".", "..") or _ignored(Path(f))]
    if odd:
        raise _layout_error(p, f"files lists {odd[:5]}, which are not files of this folder")
    twice = sorted({f for f in names if names.count(f) > 1})
    if twice:
        raise _layout_error(p, f"files lists {twice[:5]} more than once")
    files = [p / name for name in names]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise MissingFileError(f"{p}: files of the layout are missing: {missing[:5]}")
    parquet, other = _folder_files(p)
    unlisted = [
        f.relative_to(p).as_posix() for f in parquet if f.name not in names or f.parent != p
    ]
    if unlisted:
        raise _layout_error(
            p,
            f"the folder holds Parquet files {unlisted[:5]} that the layout does not list: "
            "the folder was changed after it was written",
        )
    if other:
        raise _not_parquet(other[0], ValueError("not a .parquet or .pq file"))
    return n, files


def _read_folder(path, kind: str, validate: bool):
    dd = _dd()
    p = Path(path)
    if not p.exists():
        raise MissingFileError(
            f"no such file or directory: '{p}' (expected a folder of Parquet files)"
        )
    n = None
    if p.is_file():
        if not p.name.lower().endswith(_PARQUET):
            raise SchemaError(
                f"{p.name}: the Dask path (engine='dask', read_{kind}_dask) reads Parquet "
                "only, a folder of Parquet files or one .parquet/.pq file. Fix: read a CSV "
                f"file with engine='pandas' (riskscore.read_{kind}(path), which checks its "
                "lines, encoding and header), then write the table with "
                "riskscore.scale.write_events_parquet(table, folder) and read that folder."
            )
        files = [p]
    elif (p / LAYOUT_FILE).exists():
        n, files = _layout_files(p)
    else:
        files, other = _folder_files(p)
        if not files:
            raise SchemaError(
                f"directory '{p}' holds no .parquet or .pq files; read_{kind}_dask reads a "
                "folder of Parquet files"
            )
        if other:  # the pandas path refuses them too (it reads every file of a folder)
            raise _not_parquet(other[0], ValueError("not a .parquet or .pq file"))
    footers = [_footer(f) for f in files]
    if p.is_dir():  # as the pandas reader: folder names are not read as columns
        refuse_key_value_folders(p, files, [held for _, held in footers])
    if sum(rows for rows, _ in footers) == 0:
        raise SchemaError(
            f"{p.name} has a header but no data rows (0 {kind}); there is nothing to "
            "validate or audit. Fix: export the table again with its rows."
        )
    items = [
        (str(f), None if n is None else i, held)
        for i, (f, (_, held)) in enumerate(zip(files, footers, strict=True))
    ]
    check = kind if validate else None
    # the table's columns: every file's (a column only some files hold is kept), each
    # of the type the first file holding it is read as
    meta = _read_part(items[0], None, n, check).iloc[:0]
    seen = set(footers[0][1])
    for item, (_, held) in zip(items[1:], footers[1:], strict=True):
        if set(held) - seen:
            more = _read_part(item, None, n, check).iloc[:0]
            for column in more.columns.difference(meta.columns, sort=False):
                meta[column] = more[column]
            seen |= set(held)
    if "case_id" in meta.columns and not isinstance(meta["case_id"].dtype, pd.CategoricalDtype):
        meta["case_id"] = meta["case_id"].astype("category")
    meta = _unknown_categories(meta)
    divisions = tuple(range(n + 1)) if n is not None else None
    return dd.from_map(
        _read_part,
        items,
        meta=meta,
        divisions=divisions,
        label=f"read-{kind}",
        n_buckets=n,
        validate=check,
        table=meta,
        kind=kind,
    )


def _unknown_categories(meta: pd.DataFrame) -> pd.DataFrame:
    # each file holds its own case ids: Dask must not assume the first file's
    from dask.dataframe.utils import clear_known_categories

    cols = [
        c for c in meta.columns if c == "case_id" and isinstance(meta[c].dtype, pd.CategoricalDtype)
    ]
    return clear_known_categories(meta, cols=cols) if cols else meta


@register("read_events")
@validate_params({"path": ["path"], "validate": ["boolean"]})
def read_events_dask(path: str | os.PathLike, *, validate: bool = True):
    """Read a folder of events Parquet files lazily, as a Dask DataFrame.

    One file is one partition. A folder written by :func:`write_events_parquet` or
    :func:`write_cohort_parquet` (it holds ``_riskscore_layout.json``) comes back
    partitioned by case, so nothing is shuffled later; the bucket of every row is
    checked as it is read. Any other folder (or one Parquet file) is read as it is
    and shuffled by case once, when first needed.

    As the pandas reader, this refuses (with :class:`~riskscore.SchemaError`) a file
    that is not Parquet (a CSV file: read it with :func:`riskscore.read_events`), a
    folder holding other files besides its Parquet parts (names starting with ``_``
    or ``.`` are passed over), a file that cannot be read as Parquet, files in
    ``key=value`` (Hive partition) folders naming a column the files do not hold
    (folder names are not read as columns, so those values would be lost), and a
    table of no rows. A column that only some files hold is kept (missing in the others; a
    required column must be in every file); ``case_id`` is a categorical in every
    partition, whatever type each file stored.

    Parameters
    ----------
    path : str or path-like
        Folder of ``.parquet`` / ``.pq`` files, or one such file.
    validate : bool, default=True
        Check each file against the data contract as it is read
        (:func:`riskscore.validate_events`, strict: a problem raises
        :class:`~riskscore.SchemaError` naming the file and its rows).

    Returns
    -------
    dask.dataframe.DataFrame
        The events, ``case_id`` read as a categorical.

    Examples
    --------
    >>> import tempfile
    >>> from riskscore.scale import read_events_dask, write_cohort_parquet
    >>> folder = write_cohort_parquet(tempfile.mkdtemp(), 50, n_partitions=2)
    >>> events = read_events_dask(folder / "events")
    >>> events.npartitions, int(events["case_id"].nunique().compute())
    (2, 50)
    """
    return _read_folder(path, "events", validate)


@validate_params({"path": ["path"], "validate": ["boolean"]})
def read_cases_dask(path: str | os.PathLike, *, validate: bool = True):
    """Read a folder of cases Parquet files lazily (as :func:`read_events_dask`).

    Examples
    --------
    >>> import tempfile
    >>> from riskscore.scale import read_cases_dask, write_cohort_parquet
    >>> folder = write_cohort_parquet(tempfile.mkdtemp(), 50, n_partitions=2)
    >>> len(read_cases_dask(folder / "cases").compute())
    50
    """
    return _read_folder(path, "cases", validate)


# --------------------------------------------------------------------------- writing


def _write_layout(folder: Path, n: int, files: list[str], **extra) -> None:
    doc = {
        "layout": _LAYOUT_NAME,
        "version": _LAYOUT_VERSION,
        "n_partitions": n,
        "hash": "pandas.util.hash_array(case_id as text) % n_partitions",
        "files": files,
        **extra,
    }
    (folder / LAYOUT_FILE).write_text(json.dumps(doc, indent=1))


def _part_name(i: int) -> str:
    return f"part-{i:05d}.parquet"


def _fresh_folder(folder: Path, overwrite: bool, who: str) -> None:
    if folder.exists() and not folder.is_dir():
        raise ParameterError(
            f"{who}: '{folder}' is a file, not a folder; give the name of a folder to write "
            "the Parquet files in (or move the file away)."
        )
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise OutputExistsError(
                f"'{folder}' is not empty; pass overwrite=True to replace its Parquet files."
            )
        own = [*folder.glob("part-*.parquet"), folder / LAYOUT_FILE]
        parquet, other = _folder_files(folder)
        foreign = [f.relative_to(folder).as_posix() for f in [*parquet, *other] if f not in own]
        if foreign:
            # kept, they would be read with the new table (a folder is read whole)
            raise OutputExistsError(
                f"'{folder}' holds files riskscore did not write there: {foreign[:5]}; "
                "overwrite=True replaces only its own part-*.parquet files and "
                f"{LAYOUT_FILE}. Fix: move those files away, or write to another folder."
            )
        for f in own:
            f.unlink(missing_ok=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where a folder should be, or no permission
        raise ParameterError(
            f"{who}: cannot make the folder '{folder}' ({exc.strerror or exc})."
        ) from None


@validate_params({"path": ["path"], "n_partitions": [_PARTITIONS, None], "overwrite": ["boolean"]})
def write_events_parquet(
    events: Any,
    path: str | os.PathLike,
    n_partitions: int | None = None,
    *,
    overwrite: bool = False,
    client: Any = None,
) -> Path:
    """Write events (or cases) to a folder hash-partitioned by case, for shuffle-free reads.

    Parameters
    ----------
    events : pandas or Dask DataFrame
        Any table with a ``case_id`` column.
    path : str or path-like
        Folder to create (``part-00000.parquet`` ... and ``_riskscore_layout.json``).
    n_partitions : int, optional
        Number of files (default as in :func:`partition_by_case`). Aim for a few
        hundred thousand to a few million rows per file.
    overwrite : bool, default=False
        Replace the Parquet files of an existing folder.
    client : optional
        Where to compute (see the module docstring).

    Returns
    -------
    pathlib.Path
        The folder.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from riskscore.scale import read_events_dask, write_events_parquet
    >>> ev = pd.DataFrame({"case_id": ["a", "b", "a"], "date": pd.to_datetime(
    ...     ["2101-01-01"] * 3), "agency": ["gp"] * 3, "event": ["missed_appointment"] * 3})
    >>> import dask
    >>> with dask.config.set(scheduler="sync"):
    ...     folder = write_events_parquet(ev, tempfile.mkdtemp() + "/ev", 2)
    >>> len(read_events_dask(folder).compute())
    3
    """
    import dask

    folder = Path(path)
    _fresh_folder(folder, overwrite, "write_events_parquet")
    ddf = partition_by_case(events, n_partitions)
    n = ddf.npartitions
    tasks = [
        dask.delayed(_write_part)(part, str(folder / _part_name(i)))
        for i, part in enumerate(ddf.to_delayed())
    ]
    _compute(tasks, client)
    _write_layout(folder, n, [_part_name(i) for i in range(n)])
    return folder


def _write_part(part: pd.DataFrame, path: str) -> int:
    part = _plain(part)
    if isinstance(part["case_id"].dtype, pd.CategoricalDtype):
        part["case_id"] = part["case_id"].cat.remove_unused_categories()
    part.to_parquet(path, index=False)
    return len(part)


@register("write_cohort")
@validate_params(
    {
        "path": ["path"],
        "n_cases": [COUNT],
        "random_state": [COUNT],
        "n_partitions": [_PARTITIONS, None],
        "chunk_size": [POSITIVE_INT],
        "overwrite": ["boolean"],
        "progress": ["boolean"],
    }
)
def write_cohort_parquet(
    path: str | os.PathLike,
    n_cases: int,
    random_state: int = 0,
    *,
    n_partitions: int | None = None,
    chunk_size: int = 100_000,
    overwrite: bool = False,
    progress: bool = False,
    **cohort_kwargs: Any,
) -> Path:
    """Write a synthetic cohort straight to hash-partitioned Parquet, a chunk of cases at a time.

    Case by case the result equals :func:`riskscore.synthetic.make_cohort` with the
    same arguments (each case's data depend only on the seed and its case number),
    but only one chunk of cases is ever in memory: each chunk is split by
    :func:`case_buckets` and appended, as a row group, to its partition's file.

    Parameters
    ----------
    path : str or path-like
        Folder to create: ``events/`` and ``cases/``, each ``part-00000.parquet``
        ... with ``_riskscore_layout.json``. Read them with :func:`read_events_dask`
        and :func:`read_cases_dask`.
    n_cases : int
        Cases in the cohort (about 49 events each with the default 3-year span).
    random_state : int, default=0
        Cohort seed, as in ``make_cohort``.
    n_partitions : int, optional
        Files per table (default: one per 10,000 cases, about 500,000 events).
    chunk_size : int, default=100000
        Cases generated at a time; bounds memory (about 0.3 GB per 100,000 cases).
    overwrite : bool, default=False
        Replace an existing cohort in ``path``.
    progress : bool, default=False
        Show a progress bar.
    **cohort_kwargs
        ``start``, ``years``, ``outcome_rate``, ``generator`` as in ``make_cohort``.

    Returns
    -------
    pathlib.Path
        The folder.

    Examples
    --------
    >>> import tempfile
    >>> from riskscore.scale import read_events_dask, write_cohort_parquet
    >>> from riskscore.synthetic import make_cohort
    >>> folder = write_cohort_parquet(tempfile.mkdtemp(), 40, random_state=3, n_partitions=3)
    >>> events, _ = make_cohort(40, random_state=3)
    >>> len(read_events_dask(folder / "events").compute()) == len(events)
    True
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from riskscore.synthetic import make_cohort

    if isinstance(n_cases, bool) or not isinstance(n_cases, (int, np.integer)) or n_cases < 0:
        raise ParameterError(f"n_cases must be a non-negative integer, got {n_cases!r}.")
    n = int(n_partitions or max(1, -(-int(n_cases) // 10_000)))
    if n < 1:
        raise ParameterError(f"n_partitions must be at least 1, got {n_partitions}.")
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise ParameterError(f"chunk_size must be at least 1, got {chunk_size}.")
    root = Path(path)
    folders = {"events": root / "events", "cases": root / "cases"}
    for folder in folders.values():
        _fresh_folder(folder, overwrite, "write_cohort_parquet")

    writers: dict[tuple[str, int], Any] = {}
    schemas: dict[str, Any] = {}
    n_events = 0
    bounds = [*range(0, int(n_cases), chunk_size), int(n_cases)]
    chunks = list(zip(bounds[:-1], bounds[1:], strict=True))
    if progress:
        from tqdm.auto import tqdm

        chunks = tqdm(chunks, desc="write cohort", unit="chunk")
    try:
        for a, b in chunks:
            events, cases = make_cohort(
                int(n_cases), random_state, case_range=(a, b), chunk_size=chunk_size,
                **cohort_kwargs,
            )  # fmt: skip
            n_events += len(events)
            # plain text ids: each file's dictionary then holds only its own cases
            events["case_id"] = events["case_id"].astype(str)
            for name, table in (("events", events), ("cases", cases)):
                bucket = case_buckets(table["case_id"], n)
                order = np.argsort(bucket, kind="stable")
                cut = np.searchsorted(bucket[order], np.arange(n + 1))
                arrow = pa.Table.from_pandas(table.iloc[order], preserve_index=False)
                if name not in schemas:
                    schemas[name] = arrow.schema
                arrow = arrow.cast(schemas[name])
                for i in range(n):
                    if (name, i) not in writers:
                        writers[name, i] = pq.ParquetWriter(
                            str(folders[name] / _part_name(i)), schemas[name]
                        )
                    if cut[i + 1] > cut[i]:
                        writers[name, i].write_table(arrow.slice(cut[i], cut[i + 1] - cut[i]))
            del events, cases, arrow
        if not schemas:  # an empty cohort still gets (empty) files with the right columns
            events, cases = make_cohort(0, random_state, **cohort_kwargs)
            events["case_id"] = events["case_id"].astype(str)
            for name, table in (("events", events), ("cases", cases)):
                schemas[name] = pa.Table.from_pandas(table, preserve_index=False).schema
        for name in folders:
            for i in range(n):
                if (name, i) not in writers:
                    writers[name, i] = pq.ParquetWriter(
                        str(folders[name] / _part_name(i)), schemas[name]
                    )
    finally:
        for w in writers.values():
            w.close()
    files = [_part_name(i) for i in range(n)]
    extra = {"n_cases": int(n_cases), "n_events": int(n_events), "random_state": random_state}
    for folder in folders.values():
        _write_layout(folder, n, files, synthetic=extra)
    return root


# --------------------------------------------------------------------------- encode


def _per_partition(fn):
    """Run ``fn`` on one partition; a contract error says it speaks of that partition.

    Each partition is checked by the same code as a pandas table, so the problems and
    fixes are the validator's own; its row numbers and counts are the partition's.
    """

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SchemaError as err:
            raise type(err)(
                "In one partition of a Dask table (row numbers and counts are within that "
                "partition; validate_events / validate_cases on the whole table, or "
                f"read_events_dask, give one report for all of it):\n{err}",
                err.report,
            ) from None

    return run


def _encode_meta(as_of_head: pd.DataFrame) -> pd.DataFrame:
    """The (empty) result encode_features gives for these pairs' column types."""
    # encode_features builds case_id from the pairs' values: infer the type from one
    ids = pd.DataFrame({"case_id": as_of_head["case_id"].to_numpy()[:1]})["case_id"]
    out = pd.DataFrame({"case_id": ids.iloc[:0], "as_of": pd.Series([], dtype="datetime64[ns]")})
    for name in FEATURES:
        out[name] = pd.Series([], dtype=np.float64)
    out.index = pd.Index([], dtype=np.int64)
    return out


@_per_partition
def _encode_part(events, queries, agency, recent_window, coverage, case_dtype) -> pd.DataFrame:
    q = _plain(queries)
    out = encode_features(
        _plain(events),
        q[["case_id", "as_of"]],
        agency,
        recent_window=recent_window,
        coverage=coverage,
    )
    # Dask may have turned text into its own string type on the way; give back what
    # encode_features gives for the caller's own table
    if out["case_id"].dtype != case_dtype:
        out["case_id"] = out["case_id"].astype(case_dtype)
    out.index = pd.Index(q[_ORDER].to_numpy(), dtype=np.int64)
    return out


@_per_partition
def _grid_encode_part(events, step, end, agency, recent_window, coverage) -> pd.DataFrame:
    ev = _plain(events)
    # A grid runs to the extract's last event date: the whole extract's, not this
    # partition's, so each case is told it directly as its follow-up end.
    ids = pd.unique(ev["case_id"].astype(str))
    ends = pd.DataFrame(
        {"case_id": ids, "followup_end": pd.Series(pd.Timestamp(end), index=range(len(ids)))}
    )
    grid = as_of_grid(ev, step, cases=ends)
    grid = grid.sort_values(["case_id", "as_of"], kind="stable", ignore_index=True)
    # one thread: the Dask workers already use every core
    return encode_features(
        ev, grid, agency, recent_window=recent_window, coverage=coverage, n_jobs=1
    )


@register("encode_features")
@validate_params(
    {
        "agency": ["agency", None],
        "recent_window": [WINDOW_DAYS],
        "n_partitions": [_PARTITIONS, None],
    }
)
def encode_features_dask(
    events: Any,
    as_of: Any,
    agency: str | None = None,
    *,
    recent_window: int = 90,
    coverage: pd.DataFrame | None = None,
    n_partitions: int | None = None,
):
    """:func:`riskscore.encode_features` on Dask: the same pandas code on each partition of cases.

    Events are partitioned by case (:func:`partition_by_case`; no shuffle for a
    folder read by :func:`read_events_dask` from a case-partitioned layout), the
    requested pairs are routed to their case's partition, and
    :func:`riskscore.encode_features` runs once per partition. Nothing is computed
    until you ask (``.compute()``, ``.to_parquet()``, a reduction).

    Parameters
    ----------
    events : Dask or pandas DataFrame
        Events in the data contract.
    as_of : pandas DataFrame, Dask DataFrame, str or int
        Requested ``case_id``, ``as_of`` pairs; or a grid step (``"30D"``, 30)
        meaning ``as_of_grid(events, step)``, built partition by partition so that
        not even the pairs need to fit in memory.
    agency : str, optional
        One agency's view, as in ``encode_features``.
    recent_window : int, default=90
    coverage : DataFrame, optional
        As in ``encode_features`` (a small pandas table, sent to every partition).
    n_partitions : int, optional
        Partitions to shuffle into when ``events`` is not yet partitioned by case.

    Returns
    -------
    dask.dataframe.DataFrame
        The columns of ``encode_features``. With pairs, the index is the pair's
        position in ``as_of`` (for a Dask ``as_of``, a key that sorts in its row
        order): ``result.compute().sort_index()`` is the pandas result row for row.
        With a grid step, each case's rows are together in date order; sort by
        ``case_id`` and ``as_of`` to get the pandas order.

    Examples
    --------
    >>> import dask
    >>> import riskscore
    >>> from riskscore.scale import encode_features_dask
    >>> events, _ = riskscore.synthetic.make_cohort(30, random_state=2)
    >>> pairs = riskscore.as_of_grid(events, "90D")
    >>> with dask.config.set(scheduler="sync"):
    ...     lazy = encode_features_dask(events, pairs, n_partitions=3)
    ...     got = lazy.compute().sort_index()
    >>> got.equals(riskscore.encode_features(events, pairs).set_axis(got.index))
    True
    """
    dd = _dd()
    ev = _as_case_partitioned(events, n_partitions)
    recent_window = int(recent_window)
    if isinstance(as_of, (str, int, np.integer)) and not isinstance(as_of, bool):
        step = step_days(as_of)
        end = _last_date(ev)
        meta = _encode_meta(pd.DataFrame({"case_id": np.array(["c"], dtype=object)}))
        meta.index = pd.RangeIndex(0)
        return ev.map_partitions(
            _grid_encode_part, step, end, agency, recent_window, coverage, meta=meta
        )
    if not _is_dask(as_of) and not isinstance(as_of, pd.DataFrame):
        raise SchemaError(
            f"as_of must be a DataFrame of case_id, as_of pairs or a grid step like '30D', "
            f"got {type(as_of).__name__}."
        )
    missing = [c for c in ("case_id", "as_of") if c not in as_of.columns]
    if missing:
        raise SchemaError(
            f"as_of: missing required column(s) {missing}; found {list(as_of.columns)}. "
            "Fix: give one row per requested pair with columns case_id and as_of."
        )
    q = partition_by_case(as_of[["case_id", "as_of"]], ev.npartitions, keep_order_key=True)
    head = as_of._meta_nonempty if _is_dask(as_of) else as_of.iloc[:1]
    meta = _encode_meta(head)
    return dd.map_partitions(
        _encode_part,
        ev,
        q,
        agency,
        recent_window,
        coverage,
        meta["case_id"].dtype,
        meta=meta,
        align_dataframes=False,
        enforce_metadata=False,
    )


# --------------------------------------------------------------------------- audit


@_per_partition
def _audit_partition(events, cases, model, extract_end, params) -> dict:
    """Additive audit summaries of one partition's cases (audit_cohort's own chunk work)."""
    end = int(to_days(pd.Series([pd.Timestamp(extract_end)]), "date", "events")[0])
    # the contract per partition (a partition read by read_events_dask is marked: cheap)
    out = audit_chunks(
        ensure_events(_plain(events), allow=params["allowed"]),
        ensure_cases(_plain(cases), allow=params["allowed"]),
        model,
        response_window=params["response_window"],
        recent_window=params["recent_window"],
        horizon=params["horizon"],
        agencies=params["agencies"],
        extract_end=end,
        chunk_size=params["chunk_size"],
        keep_column=_POS,
        min_gap=params["min_gap"],
    )
    out["n_events"] = len(events)
    return out


def _merge_partitions(results: list[dict]):
    """The partitions' per-case frames in cases-table order, and their summed partials.

    audit_cohort visits cases in cases-table order, so per-case frames are put back in
    that order (``_POS``); crossing summaries are sums over disjoint sets of cases.
    """
    per_case, fa_part, holder_part = merge_frames([f for r in results for f in r["frames"]])
    if per_case.empty:
        return per_case, fa_part, holder_part
    order = np.argsort(per_case[_POS].to_numpy(), kind="stable")
    return per_case.iloc[order].drop(columns=_POS), fa_part, holder_part


@register("audit_cohort")
@validate_params(
    {
        "grid": ["grid"],
        "response_window": [COUNT],
        "horizon": [POSITIVE_INT],
        "recent_window": [WINDOW_DAYS],
        "chunk_size": [POSITIVE_INT],
        "disclosure": ["disclosure"],
        "agencies": ["agencies"],
        "n_partitions": [_PARTITIONS, None],
        "min_gap": [COUNT],
    }
)
def audit_cohort_dask(
    events: Any,
    cases: Any,
    model,
    *,
    grid: str | int = DEFAULT_GRID,
    response_window: int = 28,
    horizon: int = 365,
    recent_window: int = 90,
    chunk_size: int = 20_000,
    disclosure=True,
    agencies: tuple[str, ...] = AGENCIES,
    n_partitions: int | None = None,
    client: Any = None,
    min_gap: int = MIN_GAP,
):
    """:func:`riskscore.audit_cohort` on Dask: per-partition audits, disclosure control on the totals.

    Each partition of cases is audited with the same code as ``audit_cohort`` (in
    chunks of ``chunk_size`` cases); the per-case, crossing and contributor frames
    (small next to the events) are gathered and the cohort tables are built from
    all of them at once, so disclosure control judges the whole cohort's counts.
    The tables equal those of ``audit_cohort`` on the same data.

    Parameters
    ----------
    events : Dask or pandas DataFrame
        Events (partitioned by case, or shuffled once here).
    cases : pandas or Dask DataFrame
        The cases table (every events ``case_id`` must be in it).
    model : RuleScorecard or LogisticRiskModel
    grid, response_window, horizon, recent_window, chunk_size, disclosure, agencies, min_gap
        As in :func:`riskscore.audit_cohort`.
    n_partitions : int, optional
        Partitions to shuffle into when ``events`` is not yet partitioned by case.
    client : optional
        Where to compute: see the module docstring (default: the active scheduler,
        else a local cluster of worker processes for the call).

    Returns
    -------
    CohortAudit
        As from ``audit_cohort``; ``parameters["engine"]`` is ``"dask"``.

    Warns
    -----
    RuntimeWarning
        When no scheduler is active and the call runs at the top level of a script
        outside ``if __name__ == "__main__":``: worker processes would re-run the
        script and fail to start, so the audit is computed with threads instead
        (same tables). Put the script's code under the guard to use processes, or
        choose a scheduler yourself (``client=`` or ``dask.config.set``).

    Examples
    --------
    >>> import dask
    >>> import riskscore
    >>> from riskscore.scale import audit_cohort_dask
    >>> events, cases = riskscore.synthetic.make_cohort(200, random_state=1)
    >>> card = riskscore.default_scorecard()
    >>> with dask.config.set(scheduler="sync"):
    ...     result = audit_cohort_dask(events, cases, card, n_partitions=2)
    >>> sorted(result.tables)[:2]
    ['agency_share', 'by_deprivation']
    """
    import dask

    check_model(model)
    ev = _as_case_partitioned(events, n_partitions)
    n = ev.npartitions
    if not (_is_dask(cases) or isinstance(cases, pd.DataFrame)):
        raise SchemaError(f"cases must be a pandas or Dask DataFrame, got {type(cases).__name__}.")
    _require_case_id(cases.columns)
    # the key of each case's row in the cases table orders the frames as audit_cohort does
    cs = partition_by_case(cases, n, keep_order_key=True).rename(columns={_ORDER: _POS})
    n_case_rows = None if _is_dask(cases) else len(cases)
    # columns let past the identifying-data guard (the frames' attrs, also on Dask's
    # meta): every partition is checked with them, and they travel with the tables
    allowed = allowed_columns(getattr(events, "_meta", events), getattr(cases, "_meta", cases))
    params = {
        "grid_days": step_days(grid),
        "response_window": int(response_window),
        "recent_window": int(recent_window),
        "horizon": int(horizon),
        "agencies": tuple(agencies),
        "chunk_size": int(chunk_size),
        "allowed": allowed or None,
        "min_gap": check_min_gap(min_gap),
    }
    end = _last_date(ev).to_delayed()
    tasks = [
        dask.delayed(_audit_partition)(e, c, model, end, params)
        for e, c in zip(ev.to_delayed(), cs.to_delayed(), strict=True)
    ]
    (results,) = _compute([tasks], client)
    orphans = sum(r["orphans"] for r in results)
    if orphans:
        raise orphan_error(orphans, [i for r in results for i in r["orphan_ids"]])
    n_rows = n_case_rows if n_case_rows is not None else sum(r["n_rows"] for r in results)
    n_audited = sum(r["n_audited"] for r in results)
    per_case, fa_part, holder_part = _merge_partitions(results)
    if per_case.empty:
        if sum(r["n_events"] for r in results) == 0:  # as audit_cohort says it
            raise SchemaError("events: the table has no rows; there is nothing to audit.")
        raise SchemaError("events: no event belongs to a case in cases; nothing to audit.")
    n_without = n_audited - len(per_case)
    raw = cohort_tables(
        per_case, fa_part, holder_part, n_rows, n_without, int(horizon), tuple(agencies)
    )
    synthetic = synthetic_note(events, cases)
    tables = control_tables(raw, disclosure, synthetic=synthetic)
    for t in tables.values():
        if allowed:
            t.attrs[ALLOWED] = dict(allowed)
    return CohortAudit(
        tables=tables,
        parameters={
            "grid": grid,
            "response_window": int(response_window),
            "horizon": int(horizon),
            "recent_window": int(recent_window),
            "chunk_size": int(chunk_size),
            "min_gap": params["min_gap"],
            "model": getattr(model, "name", None) or type(model).__name__,
            "engine": "dask",
            "n_partitions": n,
            **({"allowed": allowed} if allowed else {}),
        },
        disclosure=disclosure,
        n_cases=n_rows,
        synthetic=synthetic is not None,
        synthetic_note=synthetic,
    )


# --------------------------------------------------------------------------- training


@_per_partition
def _training_partition(events, cases, end, kwargs, allowed=None) -> dict:
    from riskscore.training import make_training_set, partition_sets

    ev = _plain(events)
    # the contract first (a partition read by read_cases_dask is marked: cheap), so that
    # follow-up dates are read by the one date rule, never guessed
    cs = ensure_cases(_plain(cases), allow=allowed).copy()
    if len(ev) == 0:  # (an events table of no rows has no last date: NaT)
        return {"n_cases_without_events": len(cs), "set": None}
    if pd.isna(end):
        # no date of the extract could be read: the contract says which rows and why
        ev = ensure_events(ev, allow=allowed)
    # follow-up defaults to the whole extract's last event date, not this partition's
    end = pd.Timestamp(end).normalize()
    if "followup_end" in cs.columns:
        cs["followup_end"] = cs["followup_end"].fillna(end)
    else:
        cs["followup_end"] = end
    with partition_sets():  # a partition may lose all its rows; the whole set is checked
        part = make_training_set(ev, cs, **kwargs)
    return {
        "n_cases_without_events": 0,
        "set": part,
        "n_grid_rows": len(part.y) + int(part.excluded["n_rows"].sum()),
    }


@register("make_training_set")
@validate_params({"grid": ["grid"], "horizon": [POSITIVE_INT], "n_partitions": [_PARTITIONS, None]})
def make_training_set_dask(
    events: Any,
    cases: Any,
    grid: str | int = DEFAULT_GRID,
    horizon: int = 365,
    *,
    n_partitions: int | None = None,
    client: Any = None,
    **kwargs: Any,
):
    """:func:`riskscore.training.make_training_set` on Dask, one partition of cases at a time.

    Each partition's events and cases go through the same pandas function; the
    pieces are gathered into one in-memory :class:`~riskscore.training.TrainingSet`
    (a training set is far smaller than the events it is built from). Rows are in
    ``case_id`` (as text) then ``as_of`` order, which is the pandas order for text
    case ids; exclusion counts are summed over partitions.

    Parameters
    ----------
    events : Dask or pandas DataFrame
    cases : pandas or Dask DataFrame
    grid, horizon
        As in ``make_training_set``.
    n_partitions : int, optional
        Partitions to shuffle into when ``events`` is not yet partitioned by case.
    client : optional
        Where to compute (see the module docstring).
    **kwargs
        ``start``, ``end``, ``recent_window``, ``features``, ``synthetic``.

    Returns
    -------
    TrainingSet

    Examples
    --------
    >>> import dask
    >>> import riskscore
    >>> from riskscore.scale import make_training_set_dask
    >>> events, cases = riskscore.synthetic.make_cohort(60, random_state=4)
    >>> with dask.config.set(scheduler="sync"):
    ...     ts = make_training_set_dask(events, cases, n_partitions=2)
    >>> len(ts.X) == len(ts.y) == len(ts.case_ids)
    True
    """
    import dask

    from riskscore.disclosure import mark_undisclosed
    from riskscore.training import TrainingSet

    ev = _as_case_partitioned(events, n_partitions)
    if not (_is_dask(cases) or isinstance(cases, pd.DataFrame)):
        raise SchemaError(f"cases must be a pandas or Dask DataFrame, got {type(cases).__name__}.")
    _require_case_id(cases.columns)
    cs = partition_by_case(cases, ev.npartitions)
    kwargs = {"grid": grid, "horizon": horizon, **kwargs}
    if kwargs.get("synthetic") is None:
        # decided on the whole cases table, as the pandas function does
        ids = cases["case_id"].astype(str)
        detect = ids.str.fullmatch(r"C\d{7,}").all()
        detect = bool(detect.compute()) if _is_dask(detect) else bool(detect)
        kwargs["synthetic"] = bool("index_date" in cases.columns and detect)
    end = _last_date(ev).to_delayed()
    # columns let past the identifying-data guard (the frames' attrs, also on Dask's meta)
    allowed = allowed_columns(getattr(events, "_meta", events), getattr(cases, "_meta", cases))
    tasks = [
        dask.delayed(_training_partition)(e, c, end, kwargs, allowed or None)
        for e, c in zip(ev.to_delayed(), cs.to_delayed(), strict=True)
    ]
    (results,) = _compute([tasks], client)
    sets = [r["set"] for r in results if r["set"] is not None]
    if not sets:
        # every partition is empty: the whole table is (as make_training_set says it)
        raise SchemaError(
            "events: the table has no rows; a training set needs events (check the extract)."
        )
    X = pd.concat([s.X for s in sets], ignore_index=True)
    y = np.concatenate([s.y for s in sets])
    case_ids = np.concatenate([s.case_ids for s in sets])
    as_of = pd.concat([s.as_of for s in sets], ignore_index=True)
    order = np.lexsort((as_of.to_numpy(), case_ids.astype(str)))
    excluded = sets[0].excluded[["reason"]].copy()
    for col in ("n_rows", "n_cases"):
        excluded[col] = np.sum([s.excluded[col].to_numpy() for s in sets], axis=0).astype(np.int64)
    no_events = excluded["reason"] == "case has no events"
    extra = sum(r["n_cases_without_events"] for r in results)
    excluded.loc[no_events, "n_cases"] += extra
    excluded = mark_undisclosed(excluded, reason="exact exclusion counts; disclose before release")
    if len(y) == 0:
        from riskscore.training import no_rows_left

        n_grid = sum(r.get("n_grid_rows", 0) for r in results)
        raise no_rows_left(excluded, n_grid, kwargs["grid"])
    return TrainingSet(
        X=X.iloc[order].reset_index(drop=True),
        y=y[order],
        case_ids=case_ids[order],
        as_of=as_of.iloc[order].reset_index(drop=True),
        excluded=excluded,
        info=sets[0].info,
    )
