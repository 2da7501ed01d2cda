"""Writers turn a path the system refuses into a riskscore error naming the path and the fix."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pandas as pd
import pytest

import riskscore
from riskscore.disclosure import disclose, write_table
from riskscore.errors import ModelFileError, ParameterError, RiskscoreError
from riskscore.evaluation import example_result
from riskscore.modelfile import default_scorecard, save_model, save_pipeline


def _table():
    return disclose(pd.DataFrame({"sex": ["female", "male"], "n": [30, 40]}))


WRITERS = [  # (who, what it writes, the writer, its error)
    ("write_report", example_result, riskscore.write_report, ParameterError),
    ("write_table", _table, write_table, ParameterError),
    ("save_model", default_scorecard, save_model, ModelFileError),
    ("save_pipeline", lambda: {"a": 1}, save_pipeline, ModelFileError),
]


@pytest.mark.parametrize("who, make, write, error", WRITERS, ids=[w[0] for w in WRITERS])
def test_writers_refuse_an_over_long_file_name_with_a_riskscore_error(
    tmp_path, who, make, write, error
):
    obj = make()
    path = tmp_path / ("r" * 300 + ".out")
    with pytest.raises(error, match=rf"^{who}: cannot write '.*rrrr.*' \(File name too long\)"):
        write(obj, path)
    with pytest.raises(RiskscoreError, match=r"Fix: choose a shorter path"):
        write(obj, path)
    # a folder name too long, too
    with pytest.raises(error, match=rf"^{who}: .*Fix: choose a shorter path"):
        write(obj, tmp_path / ("d" * 300) / "r.out")


@pytest.mark.parametrize("who, make, write, error", WRITERS, ids=[w[0] for w in WRITERS])
def test_writers_refuse_an_unwritable_path_with_a_riskscore_error(
    tmp_path, monkeypatch, who, make, write, error
):
    obj = make()

    # (the tests may run as root, whom permissions do not stop: the system's refusal is
    # simulated at the write itself)
    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    for method in ("write_text", "write_bytes", "open"):
        monkeypatch.setattr(Path, method, refuse)
    path = tmp_path / "out" / "r.out"
    with pytest.raises(
        error,
        match=rf"^{who}: cannot write '{re.escape(str(path))}' \(Permission denied\)\. "
        r"Fix: choose a path in a folder you can write to\.",
    ):
        write(obj, path)


def test_write_features_turns_a_refused_write_into_a_riskscore_error(tmp_path, monkeypatch):
    # an OSError of the Parquet writer (no permission, a full disk) reached the user bare
    import pyarrow.parquet as pq

    events, cases = riskscore.make_cohort(20, random_state=1)
    grid = riskscore.as_of_grid(events, "180D", cases=cases)

    class Refusing:
        def __init__(self, where, *args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device", str(where))

    monkeypatch.setattr(pq, "ParquetWriter", Refusing)
    with pytest.raises(
        ParameterError, match=r"^write_features: cannot write '.*f\.parquet' \(No space left"
    ):
        riskscore.write_features(events, grid, tmp_path / "f.parquet")
