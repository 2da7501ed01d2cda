"""Dask runs equal the in-memory pandas runs (riskscore.scale)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore import SchemaError, as_of_grid, encode_features
from riskscore import errors as rs_errors
from riskscore.audit import audit_cohort
from riskscore.modelfile import default_scorecard
from riskscore.scale import (
    LAYOUT_FILE,
    audit_cohort_dask,
    case_buckets,
    encode_features_dask,
    is_case_partitioned,
    local_cluster,
    partition_by_case,
    read_cases_dask,
    read_events_dask,
    write_cohort_parquet,
    write_events_parquet,
)
from riskscore.synthetic import make_cohort

N_CASES = 120
SEED = 11


@pytest.fixture(autouse=True)
def threaded():
    with dask.config.set(scheduler="threads", num_workers=2):
        yield


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(N_CASES, random_state=SEED)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, cohort):
    root = tmp_path_factory.mktemp("cohort")
    # chunks smaller than the cohort: files are appended to chunk by chunk
    return write_cohort_parquet(root, N_CASES, random_state=SEED, n_partitions=3, chunk_size=50)


def _pairs(events):
    """Grid pairs plus a case with no events, in shuffled order."""
    q = as_of_grid(events, "45D")
    extra = pd.DataFrame({"case_id": ["C9999999"], "as_of": pd.to_datetime(["2102-06-01"])})
    q = pd.concat([q, extra], ignore_index=True)
    return q.sample(frac=1.0, random_state=3).reset_index(drop=True)


def _collect(lazy) -> pd.DataFrame:
    out = lazy.compute().sort_index()
    assert (out.index.to_numpy() == np.arange(len(out))).all()
    return out.reset_index(drop=True)


@pytest.mark.parametrize("agency", [None, "school", "hospital"])
def test_encode_unpartitioned_dask_equals_pandas(cohort, agency):
    events, _ = cohort
    q = _pairs(events)
    expected = encode_features(events, q, agency)
    ev = dd.from_pandas(events, npartitions=4)  # cases cut across partitions
    got = _collect(encode_features_dask(ev, q, agency, n_partitions=3))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_encode_dask_pairs_follow_their_row_order(cohort):
    events, _ = cohort
    q = _pairs(events)
    expected = encode_features(events, q, recent_window=180)
    got = encode_features_dask(
        dd.from_pandas(events, npartitions=3),
        dd.from_pandas(q, npartitions=2),
        recent_window=180,
    )
    got = got.compute().sort_index().reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_written_cohort_equals_make_cohort_case_by_case(folder, cohort):
    events, cases = cohort
    assert json.loads((folder / "events" / LAYOUT_FILE).read_text())["n_partitions"] == 3
    ev = read_events_dask(folder / "events")
    assert is_case_partitioned(ev) and ev.npartitions == 3
    got = ev.compute().reset_index(drop=True)
    # each case whole in one file, in the generator's row order
    pos = pd.Series(np.arange(len(got))).groupby(got["case_id"].astype(str).to_numpy())
    assert (pos.max() - pos.min() + 1 == pos.size()).all()
    number = got["case_id"].astype(str).str[1:].astype(int).to_numpy()
    got = got.iloc[np.argsort(number, kind="stable")].reset_index(drop=True)
    for col in ["date", "value", "recorded_date"]:
        pd.testing.assert_series_equal(got[col], events[col], check_exact=True)
    for col in ["case_id", "agency", "event"]:
        assert (got[col].astype(str).to_numpy() == events[col].astype(str).to_numpy()).all()
    cs = read_cases_dask(folder / "cases").compute()
    cs = cs.set_index(cs["case_id"].astype(str)).loc[cases["case_id"].astype(str)]
    # read back through validation: integer columns come back as nullable Int64
    for col in ["birth_year", "imd_quintile"]:
        assert (cs[col].to_numpy(dtype="int64") == cases[col].to_numpy()).all()
    for col in ["outcome_date", "followup_end", "index_date"]:
        pd.testing.assert_series_equal(
            cs[col].reset_index(drop=True), cases[col], check_names=False, check_exact=True
        )


def test_files_encode_without_shuffle_and_equal_pandas(folder, cohort):
    events, _ = cohort
    q = _pairs(events)
    ev = read_events_dask(folder / "events")
    lazy = encode_features_dask(ev, q)
    assert lazy.npartitions == 3
    pd.testing.assert_frame_equal(_collect(lazy), encode_features(events, q), check_exact=True)


def test_grid_step_equals_as_of_grid(folder, cohort):
    events, _ = cohort
    expected = encode_features(events, as_of_grid(events, "30D"), "police")
    got = encode_features_dask(read_events_dask(folder / "events"), "30D", "police").compute()
    got = got.sort_values(["case_id", "as_of"], kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_case_split_across_input_files_is_encoded_whole(tmp_path, cohort):
    events, _ = cohort
    ev = events.copy()
    ev["case_id"] = ev["case_id"].astype(str)
    split_case = ev["case_id"].value_counts().idxmax()
    rows = np.flatnonzero(ev["case_id"].to_numpy() == split_case)
    half = rows[len(rows) // 2]
    # file 1: everything before the middle of that case; file 2: the rest
    ev.iloc[:half].to_parquet(tmp_path / "a.parquet", index=False)
    ev.iloc[half:].to_parquet(tmp_path / "b.parquet", index=False)
    read = read_events_dask(tmp_path)
    assert read.npartitions == 2 and not is_case_partitioned(read)
    q = as_of_grid(events, "20D")
    q = q[q["case_id"] == split_case].reset_index(drop=True)
    expected = encode_features(events, q)
    got = _collect(encode_features_dask(read, q))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    # and a count that needs both halves is right
    assert got["attendance_recent"].notna().any()


@pytest.mark.parametrize("disclosure", [True, False])
def test_audit_from_files_equals_pandas(folder, cohort, disclosure):
    events, cases = cohort
    card = default_scorecard()
    expected = audit_cohort(events, cases, card, disclosure=disclosure, progress=False)
    got = audit_cohort_dask(
        read_events_dask(folder / "events"),
        read_cases_dask(folder / "cases"),
        card,
        disclosure=disclosure,
    )
    assert got.n_cases == expected.n_cases
    assert set(got.tables) == set(expected.tables)
    for name, table in expected.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], table, check_exact=True)
        # Dask frames read from Parquet carry no attrs, so the synthetic mark of
        # make_cohort's frames does not reach the Dask path (see docs/disclosure.md)
        unmarked = {k: v for k, v in table.attrs.items() if k != "riskscore_synthetic"}
        assert got.tables[name].attrs == unmarked


@pytest.mark.parametrize("min_gap", [28, 0])
def test_audit_small_chunks_and_pandas_cases(cohort, min_gap):
    events, cases = cohort
    card = default_scorecard()
    expected = audit_cohort(
        events, cases, card, chunk_size=25, disclosure=False, progress=False, min_gap=min_gap
    )
    got = audit_cohort_dask(
        dd.from_pandas(events, npartitions=2), cases, card, chunk_size=25, disclosure=False,
        n_partitions=4, min_gap=min_gap,
    )  # fmt: skip
    assert got.parameters["min_gap"] == min_gap
    for name, table in expected.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], table, check_exact=True)


def test_audit_refuses_events_of_unknown_cases(cohort):
    events, cases = cohort
    with pytest.raises(SchemaError, match="not in cases"):
        audit_cohort_dask(events, cases.iloc[5:], default_scorecard(), n_partitions=2)


def test_changed_layout_is_caught(tmp_path, cohort):
    events, _ = cohort
    folder = write_events_parquet(events, tmp_path / "ev", 2)
    files = sorted(folder.glob("part-*.parquet"))
    a, b = pd.read_parquet(files[0]), pd.read_parquet(files[1])
    pd.concat([a, b.iloc[:3]]).to_parquet(files[0], index=False)  # a case now in both
    with pytest.raises(SchemaError, match="another partition"):
        read_events_dask(folder).compute()


def test_invalid_file_names_its_rows(tmp_path, cohort):
    events, _ = cohort
    bad = events.iloc[:20].copy()
    bad["event"] = bad["event"].astype(str)
    bad.loc[bad.index[4], "event"] = "not_an_event"
    bad.to_parquet(tmp_path / "bad.parquet", index=False)
    with pytest.raises(SchemaError, match="bad.parquet"):
        read_events_dask(tmp_path).compute()


@settings(max_examples=30, deadline=None)
@given(ids=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=30), n=st.integers(1, 9))
def test_buckets_depend_only_on_the_id_text(ids, n):
    text = case_buckets(pd.Series(ids, dtype=object), n)
    cat = case_buckets(pd.Series(ids, dtype="category"), n)
    np.testing.assert_array_equal(text, cat)
    assert ((text >= 0) & (text < n)).all()
    # the documented scheme, stated independently of the implementation
    ref = pd.util.hash_array(np.asarray(ids, dtype=object)) % np.uint64(n)
    np.testing.assert_array_equal(text, ref.astype(np.int64))


def test_partition_by_case_keeps_each_case_whole_and_in_order(cohort):
    events, _ = cohort
    ev = dd.from_pandas(events[["case_id", "date"]].reset_index(), npartitions=5)
    parts = partition_by_case(ev, 4)
    assert is_case_partitioned(parts) and parts.npartitions == 4
    seen = {}
    for i in range(4):
        p = parts.get_partition(i).compute()
        assert (p.index == i).all()
        for case, rows in p.groupby(p["case_id"].astype(str), observed=True)["index"]:
            assert case not in seen
            seen[case] = i
            assert rows.is_monotonic_increasing  # input order kept within the case
    assert len(seen) == events["case_id"].nunique()


def test_riskscore_import_does_not_import_dask():
    code = "import sys, riskscore, riskscore.scale; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_local_cluster_of_two_processes(folder, cohort):
    events, cases = cohort
    card = default_scorecard()
    q = _pairs(events)
    expected = audit_cohort(events, cases, card, progress=False)
    with local_cluster(n_workers=2, processes=True, memory_limit="1GiB") as client:
        assert len(client.scheduler_info()["workers"]) == 2
        ev = read_events_dask(folder / "events")
        got_enc = client.compute(encode_features_dask(ev, q)).result()
        got = audit_cohort_dask(ev, read_cases_dask(folder / "cases"), card, client=client)
    got_enc = got_enc.sort_index().reset_index(drop=True)
    pd.testing.assert_frame_equal(got_enc, encode_features(events, q), check_exact=True)
    for name, table in expected.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], table, check_exact=True)


def test_training_set_equals_pandas(folder, cohort):
    from riskscore.training import make_training_set

    events, cases = cohort
    expected = make_training_set(events, cases, "60D", 365)
    from riskscore.scale import make_training_set_dask

    got = make_training_set_dask(
        read_events_dask(folder / "events"), read_cases_dask(folder / "cases"),
        "60D", 365,
    )  # fmt: skip
    pd.testing.assert_frame_equal(got.X, expected.X, check_exact=True)
    np.testing.assert_array_equal(got.y, expected.y)
    np.testing.assert_array_equal(got.case_ids, expected.case_ids)
    pd.testing.assert_series_equal(got.as_of, expected.as_of, check_names=False)
    pd.testing.assert_frame_equal(got.excluded, expected.excluded)
    assert got.excluded.attrs == expected.excluded.attrs
    assert got.info == expected.info


def test_public_functions_dispatch_dask_input(tmp_path, cohort):
    """riskscore's own entry points take Dask input and give the pandas answers."""
    import riskscore as rs

    events, cases = cohort
    root = rs.make_cohort(N_CASES, random_state=SEED, path=tmp_path / "c", n_partitions=2)
    lazy = rs.read_events(root / "events", engine="dask")
    assert hasattr(lazy, "__dask_graph__")
    q = _pairs(events)
    got = _collect(rs.encode_features(lazy, q))
    want = rs.encode_features(events, q)
    pd.testing.assert_frame_equal(
        got.drop(columns="case_id"), want.drop(columns="case_id"), check_exact=True
    )
    card = rs.default_scorecard()
    dask_tables = rs.audit_cohort(lazy, cases, card).tables
    pandas_tables = rs.audit_cohort(events, cases, card).tables
    for name, table in pandas_tables.items():
        pd.testing.assert_frame_equal(dask_tables[name], table, check_exact=True)
    with pytest.raises(ValueError, match="dayfirst"):
        rs.read_events(root / "events", engine="dask", dayfirst=True)


def test_a_partition_that_loses_every_row_is_no_error_but_an_empty_whole_is(cohort):
    # make_training_set refuses a set with no rows; on Dask one partition's part may
    # be empty while the whole is not, and only the whole is refused
    from riskscore.scale import make_training_set_dask
    from riskscore.training import make_training_set

    events, cases = cohort
    base = make_training_set(events, cases, "60D", 365, min_history=0)
    span = (
        pd.Series(pd.to_datetime(base.as_of).to_numpy())
        .groupby(base.case_ids)
        .max()
        .sub(events.groupby("case_id", observed=True)["date"].min())
        .dt.days
    )
    keep_few = int(span.quantile(0.9))  # about a tenth of the cases keep any row
    expected = make_training_set(events, cases, "60D", 365, min_history=keep_few)
    assert 0 < len(expected.y) and len(set(expected.case_ids)) < len(cases) / 4
    got = make_training_set_dask(events, cases, "60D", 365, min_history=keep_few, n_partitions=40)
    pd.testing.assert_frame_equal(got.X, expected.X, check_exact=True)
    pd.testing.assert_frame_equal(got.excluded, expected.excluded)
    too_long = int(span.max()) + 400
    with pytest.raises(SchemaError, match="no row is left"):
        make_training_set(events, cases, "60D", 365, min_history=too_long)
    with pytest.raises(SchemaError, match="no row is left"):
        make_training_set_dask(events, cases, "60D", 365, min_history=too_long, n_partitions=4)


UNGUARDED = """
import dask.dataframe as dd
import riskscore as rs
from riskscore.modelfile import default_scorecard
from riskscore.synthetic import make_cohort

events, cases = make_cohort(20, random_state=1)
result = rs.audit_cohort(dd.from_pandas(events, npartitions=2), cases, default_scorecard())
print("tables", len(result.tables))
"""


def test_an_unguarded_script_computes_with_threads_and_says_why(tmp_path):
    # Worker processes re-run a script without `if __name__ == "__main__":`, so the
    # default local cluster failed with "Nanny failed to start" and pages of logs.
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("tables ")
    assert 'if __name__ == "__main__":' in out.stderr and "threads" in out.stderr
    assert "unguarded.py" in out.stderr  # the warning points at the user's line
    assert "Nanny" not in out.stderr and "Traceback" not in out.stderr


def test_the_main_guard_is_recognised(tmp_path):
    from riskscore.scale import _unguarded_main

    script = tmp_path / "guarded.py"
    script.write_text(
        "from riskscore.scale import _unguarded_main\n"
        "def run():\n"
        "    return _unguarded_main()\n"
        "print('top', run() is not None)\n"
        "if __name__ == '__main__':\n"
        "    print('guarded', run() is not None)\n",
        encoding="utf-8",
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["top", "True", "guarded", "False"], out.stderr
    assert _unguarded_main() is None  # under pytest: guarded


# --------------------------------------------------------------- reading odd files

_EV = pd.DataFrame(
    {"case_id": ["a", "b", "c"], "date": ["2101-01-01", "2101-01-02", "2101-01-03"],
     "agency": ["gp"] * 3, "event": ["missed_appointment"] * 3}
)  # fmt: skip
_HEADER = "case_id,date,agency,event\n"


def _both(path, kind="events"):
    """The pandas and the Dask reading of ``path``, each a table or the error raised."""
    import riskscore as rs

    out = {}
    for engine in ("pandas", "dask"):
        try:
            if kind == "events":
                got = rs.read_events(path, engine=engine)
            else:
                got = rs.read_cases(path) if engine == "pandas" else read_cases_dask(path)
            out[engine] = got.compute() if engine == "dask" else got
        except Exception as err:  # noqa: BLE001 - the test compares what each raised
            out[engine] = err
    return out


@pytest.mark.parametrize(
    "text",
    [_HEADER + "a,2101-01-01,gp,missed_appointment\n",
     _HEADER + "a,2101-01-01,gp,missed_appointment,extra\nb,2101-01-02,gp,missed_appointment\n",
     _HEADER + "a,2101-01-01,gp\n", "\ufeff" + _HEADER + "a,2101-01-01,gp,missed_appointment\n",
     "", _HEADER],
    ids=["plain", "extra-field", "fewer-fields", "bom", "empty", "header-only"],
)  # fmt: skip
def test_a_csv_file_with_engine_dask_is_refused_saying_how_to_read_it(tmp_path, text):
    # the Dask path reads Parquet only: a CSV file (well-formed or not) was refused as
    # MissingFileError "no such directory" although the file exists
    path = tmp_path / "events.csv"
    path.write_text(text, encoding="utf-8")
    got = _both(path)["dask"]
    assert isinstance(got, SchemaError) and not isinstance(got, FileNotFoundError), repr(got)
    assert "events.csv" in str(got) and "engine='pandas'" in str(got)
    assert "write_events_parquet" in str(got)


def test_a_parquet_file_reads_with_engine_dask_as_with_pandas(tmp_path):
    # "no such directory" for a Parquet file, which the pandas path reads
    path = tmp_path / "events.parquet"
    _EV.to_parquet(path)
    got = _both(path)
    pd.testing.assert_frame_equal(
        got["dask"].reset_index(drop=True).astype({"case_id": str}),
        got["pandas"].astype({"case_id": str}),
    )


@pytest.mark.parametrize("content", [b"", b"not a parquet file at all"], ids=["0-bytes", "text"])
@pytest.mark.parametrize("first", [True, False], ids=["first-file", "later-file"])
def test_a_file_that_is_no_parquet_is_refused_as_by_pandas(tmp_path, content, first):
    # pyarrow's ArrowInvalid reached the user from the Dask path
    folder = tmp_path / "events"
    folder.mkdir()
    _EV.to_parquet(folder / "b.parquet")
    (folder / ("a.parquet" if first else "c.parquet")).write_bytes(content)
    got = _both(folder)
    for engine in ("pandas", "dask"):
        assert isinstance(got[engine], SchemaError), (engine, repr(got[engine]))
        assert "cannot be read as Parquet" in str(got[engine])
    assert ("a.parquet" if first else "c.parquet") in str(got["dask"])


@pytest.mark.parametrize("kind", ["events", "cases"])
def test_a_table_of_no_rows_is_refused_as_by_pandas(tmp_path, kind):
    # the pandas path refuses a header without rows; the Dask path gave 0 rows
    folder = tmp_path / kind
    folder.mkdir()
    table = _EV if kind == "events" else pd.DataFrame({"case_id": ["a"], "birth_year": [2100]})
    table.iloc[:0].to_parquet(folder / "a.parquet")
    table.iloc[:0].to_parquet(folder / "b.parquet")
    got = _both(folder, kind)
    for engine in ("pandas", "dask"):
        assert isinstance(got[engine], SchemaError), (engine, repr(got[engine]))
        assert f"no data rows (0 {kind})" in str(got[engine])


def test_a_file_that_is_not_parquet_in_the_folder_is_refused_as_by_pandas(tmp_path):
    # the pandas path refuses the folder; the Dask path left the CSV out silently
    folder = tmp_path / "events"
    folder.mkdir()
    _EV.iloc[:2].to_parquet(folder / "a.parquet")
    _EV.iloc[2:].to_csv(folder / "b.csv", index=False)
    got = _both(folder)
    for engine in ("pandas", "dask"):
        assert isinstance(got[engine], SchemaError), (engine, repr(got[engine]))
    assert "b.csv" in str(got["dask"])
    # names pyarrow passes over (hidden, or starting with _) are passed over here too
    (folder / "b.csv").unlink()
    (folder / "_SUCCESS").write_text("")
    (folder / ".a.parquet.crc").write_bytes(b"\x00")
    got = _both(folder)
    assert len(got["dask"]) == len(got["pandas"]) == 2


@pytest.mark.parametrize("kind", ["events", "cases"])
def test_key_value_folders_naming_a_column_the_files_lack_are_refused_as_by_pandas(tmp_path, kind):
    # the Dask reader read the files and dropped "year" (the folder names) silently,
    # where the pandas reader refuses: the two readers gave different tables
    table = _EV if kind == "events" else pd.DataFrame({"case_id": ["a", "b", "c"]})
    folder = tmp_path / kind
    for year, part in [("2101", table.iloc[:1]), ("2102", table.iloc[1:])]:
        (folder / f"year={year}").mkdir(parents=True)
        part.to_parquet(folder / f"year={year}" / "part.parquet", index=False)
    got = _both(folder, kind)
    for engine in ("pandas", "dask"):
        assert isinstance(got[engine], SchemaError), (engine, repr(got[engine]))
    assert str(got["dask"]) == str(got["pandas"])
    assert re.search(r"year=2101, year=2102.*'year'.*Fix:", str(got["dask"]))
    # a folder name the files hold as a column is not lost: both read the files
    folder = tmp_path / f"{kind}_held"
    for case, part in table.groupby("case_id"):
        (folder / f"case_id={case}").mkdir(parents=True)
        part.to_parquet(folder / f"case_id={case}" / "part.parquet", index=False)
    got = _both(folder, kind)
    assert sorted(got["dask"]["case_id"].astype(str)) == ["a", "b", "c"]
    assert sorted(got["dask"].columns) == sorted(got["pandas"].columns)


@pytest.mark.parametrize("where", ["first", "second"])
def test_an_optional_column_some_files_lack_is_kept_with_its_values(tmp_path, where):
    # recorded_date written only in the second file was dropped without a word (the
    # first file's columns were taken as the table's)
    folder = tmp_path / "events"
    folder.mkdir()
    recorded = pd.to_datetime(["2101-01-05", "2101-01-06"])
    a, b = _EV.iloc[:1], _EV.iloc[1:]
    if where == "first":
        a = a.assign(recorded_date=recorded[:1])
    else:
        b = b.assign(recorded_date=recorded)
    a.to_parquet(folder / "a.parquet")
    b.to_parquet(folder / "b.parquet")
    got = read_events_dask(folder).compute().reset_index(drop=True)
    want = [pd.Timestamp("2101-01-05"), pd.NaT, pd.NaT] if where == "first" else [pd.NaT, *recorded]
    assert got["case_id"].astype(str).tolist() == ["a", "b", "c"]
    pd.testing.assert_series_equal(
        got["recorded_date"], pd.Series(want, name="recorded_date", dtype="datetime64[ns]")
    )
    for i in range(2):
        part = read_events_dask(folder).get_partition(i).compute()
        assert list(part.columns) == list(got.columns)


@pytest.mark.parametrize("order", [("a", 7), (7, "a")])
def test_case_ids_of_another_type_in_one_file_read_as_text(tmp_path, order):
    # text ids in one file and integer ids in another: AttributeError ('StringDtype'
    # object has no attribute 'categories') when computed
    folder = tmp_path / "events"
    folder.mkdir()
    for name, case in zip(("a", "b"), order, strict=True):
        _EV.iloc[:1].assign(case_id=[case]).to_parquet(folder / f"{name}.parquet")
    ev = read_events_dask(folder)
    got = ev.compute()
    assert sorted(got["case_id"].astype(str)) == ["7", "a"]
    assert isinstance(ev.dtypes["case_id"], pd.CategoricalDtype)
    assert all(isinstance(t, pd.CategoricalDtype) for t in got.dtypes[["case_id"]])


def _layout_edit(folder, change):
    path = folder / LAYOUT_FILE
    if isinstance(change, str):
        path.write_text(change)
        return
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "change, words",
    [("{not json", "not JSON"), ("[1, 2]", "not a JSON object"),
     (lambda d: d.pop("files"), "files"), (lambda d: d.update(n_partitions="two"), "n_partitions"),
     (lambda d: d.update(n_partitions=0), "n_partitions"),
     (lambda d: d.update(n_partitions=3), "n_partitions"),
     (lambda d: d.update(files=["../outside.parquet", "part-00001.parquet"]), "outside.parquet"),
     (lambda d: d.update(files=["part-00001.parquet"] * 2), "part-00001.parquet")],
    ids=["not-json", "a-list", "no-files", "n-text", "n-zero", "n-not-files", "outside", "twice"],
)  # fmt: skip
def test_a_damaged_layout_file_is_refused_naming_it(tmp_path, cohort, change, words):
    # JSONDecodeError, AttributeError, KeyError and ValueError reached the user; a file
    # name with ../ was read from outside the folder
    events, _ = cohort
    folder = write_events_parquet(events.iloc[:40], tmp_path / "ev", 2)
    events.iloc[:5].to_parquet(tmp_path / "outside.parquet", index=False)
    _layout_edit(folder, change)
    with pytest.raises(SchemaError, match=LAYOUT_FILE) as err:
        read_events_dask(folder).compute()
    assert words in str(err.value) and "Fix:" in str(err.value)


def test_a_parquet_file_the_layout_does_not_list_is_refused(tmp_path, cohort):
    # the pandas path reads every file of the folder; the Dask path left it out silently
    events, _ = cohort
    folder = write_events_parquet(events.iloc[:40], tmp_path / "ev", 2)
    events.iloc[40:45].to_parquet(folder / "part-00002.parquet", index=False)
    with pytest.raises(SchemaError, match=r"part-00002\.parquet.*does not list"):
        read_events_dask(folder)


def test_overwrite_refuses_a_folder_holding_files_riskscore_did_not_write(tmp_path, cohort):
    # overwrite=True replaced the part files and kept the others, which were then read
    # with the new table (or left out without a word)
    from riskscore import OutputExistsError

    events, _ = cohort
    folder = tmp_path / "ev"
    folder.mkdir()
    events.iloc[:5].to_parquet(folder / "mine.parquet", index=False)
    with pytest.raises(OutputExistsError, match=r"mine\.parquet"):
        write_events_parquet(events.iloc[:40], folder, 2, overwrite=True)
    assert (folder / "mine.parquet").exists()
    (folder / "mine.parquet").unlink()
    write_events_parquet(events.iloc[:40], folder, 3)
    write_events_parquet(events.iloc[:40], folder, 2, overwrite=True)  # its own files: replaced
    assert sorted(f.name for f in folder.iterdir()) == [
        LAYOUT_FILE,
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    assert len(read_events_dask(folder).compute()) == 40


# --------------------------------------------------------------- odd Dask input

_SMALL = make_cohort(24, random_state=5)


def _pieces(*frames):
    """A Dask DataFrame of exactly these partitions (Dask's meta: the first one's)."""
    frames = [f.reset_index(drop=True) for f in frames]
    return dd.from_map(lambda f: f, frames, meta=frames[0].iloc[:0])


def test_an_events_table_of_no_rows_is_refused_as_by_pandas():
    # make_training_set_dask raised AttributeError ('NaTType' object has no attribute
    # 'normalize'); audit_cohort_dask said no event belongs to a case in cases
    from riskscore.scale import make_training_set_dask
    from riskscore.training import make_training_set

    events, cases = _SMALL
    empty = _pieces(events.iloc[:0], events.iloc[:0])
    with pytest.raises(SchemaError, match="the table has no rows") as want:
        make_training_set(events.iloc[:0], cases)
    with pytest.raises(SchemaError, match="the table has no rows") as got:
        make_training_set_dask(empty, cases)
    assert str(got.value) == str(want.value)
    with pytest.raises(SchemaError, match="the table has no rows") as want:
        audit_cohort(events.iloc[:0], cases, default_scorecard(), progress=False)
    with pytest.raises(SchemaError, match="the table has no rows") as got:
        audit_cohort_dask(empty, cases, default_scorecard())
    assert str(got.value) == str(want.value)


def test_partitions_holding_dates_as_iso_text_give_the_pandas_results():
    # one partition's dates as ISO text (Dask's meta says datetime64): TypeError
    # ('>=' not supported between 'Timestamp' and 'str') from the extract's last date
    from riskscore.scale import make_training_set_dask
    from riskscore.training import make_training_set

    events, cases = _SMALL
    half = len(events) // 2
    text = events.iloc[half:].assign(date=events["date"].iloc[half:].dt.strftime("%Y-%m-%d"))
    mixed = _pieces(events.iloc[:half], text)
    whole = pd.concat([events.iloc[:half], text], ignore_index=True)  # the same data, in pandas
    card = default_scorecard()
    want = audit_cohort(whole, cases, card, progress=False)
    got = audit_cohort_dask(mixed, cases, card)
    for name, table in want.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], table, check_exact=True)
    ts_want, ts_got = make_training_set(whole, cases), make_training_set_dask(mixed, cases)
    pd.testing.assert_frame_equal(ts_got.X, ts_want.X, check_exact=True)
    np.testing.assert_array_equal(ts_got.y, ts_want.y)
    grid = encode_features_dask(mixed, "60D").compute()
    expected = encode_features(whole, as_of_grid(whole, "60D"))
    key = ["case_id", "as_of"]
    grid = grid.astype({"case_id": str}).sort_values(key, ignore_index=True)
    expected = expected.astype({"case_id": str}).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(grid, expected, check_exact=True)


def test_events_without_a_date_column_are_refused_naming_it():
    # KeyError: 'date' from the grid step and the audit's extract end
    from riskscore.scale import make_training_set_dask

    events, cases = _SMALL
    ev = _pieces(events.drop(columns="date"))
    calls = [
        lambda: encode_features_dask(ev, "60D"),
        lambda: audit_cohort_dask(ev, cases, default_scorecard()),
        lambda: make_training_set_dask(ev, cases),
    ]
    for call in calls:
        with pytest.raises(SchemaError, match=r"events: required column 'date'.*missing"):
            call()


@pytest.mark.parametrize("n", [100_001, 10**9])
def test_more_partitions_than_riskscore_handles_are_refused_at_once(tmp_path, n):
    # n_partitions=10**6 on 1,500 events took minutes and 15 GB of memory (one pandas
    # piece per partition) before anything was computed
    from riskscore.scale import make_training_set_dask

    events, cases = _SMALL
    calls = {
        "partition_by_case": lambda: partition_by_case(events, n),
        "encode_features_dask": lambda: encode_features_dask(events, "60D", n_partitions=n),
        "audit_cohort_dask": lambda: audit_cohort_dask(
            events, cases, default_scorecard(), n_partitions=n
        ),
        "make_training_set_dask": lambda: make_training_set_dask(events, cases, n_partitions=n),
        "write_events_parquet": lambda: write_events_parquet(events, tmp_path / "ev", n),
        "write_cohort_parquet": lambda: write_cohort_parquet(tmp_path / "c", 5, n_partitions=n),
    }
    for name, call in calls.items():
        with pytest.raises(
            rs_errors.ParameterError, match=rf"{name}: n_partitions must be .*100000"
        ):
            call()
    assert not (tmp_path / "ev").exists() and not (tmp_path / "c").exists()


@pytest.mark.parametrize("under", [False, True], ids=["the-file", "under-a-file"])
def test_writing_where_a_file_is_is_refused_naming_the_path(tmp_path, under):
    # NotADirectoryError reached the user
    events, _ = _SMALL
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder")
    target = blocker / "sub" if under else blocker
    with pytest.raises(rs_errors.ParameterError, match="taken"):
        write_events_parquet(events, target, 2)
    with pytest.raises(rs_errors.ParameterError, match="taken"):
        write_cohort_parquet(target, 5, n_partitions=2)
    assert blocker.read_text() == "a file, not a folder"


def test_local_cluster_refuses_a_memory_limit_it_cannot_read():
    # ValueError from Dask ("Could not interpret 'banana' as a byte unit")
    with pytest.raises(rs_errors.ParameterError, match="memory_limit.*banana"):
        with local_cluster(n_workers=1, memory_limit="banana"):
            pass
