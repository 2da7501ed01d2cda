"""Every function that writes one file treats its path the same way.

A path inside folders that do not exist yet gets them (as the command line does); a
path that is a folder is refused in one line naming it. Before, ``write_features``
and ``write_report`` let the operating system's or pyarrow's own exception through.
"""

from __future__ import annotations

import pandas as pd
import pytest

import riskscore as rs


@pytest.fixture(scope="module")
def made():
    events, cases = rs.vignette()
    grid = rs.as_of_grid(events, "90D")
    audit = rs.audit_case(events, cases, rs.default_scorecard(), "CHILD-A")
    table = rs.disclose(pd.DataFrame({"group": ["a", "b"], "n": [30, 40]}), "n")
    return events, grid, audit, table


WRITERS = {
    "write_features": lambda m, p: rs.write_features(m[0], m[1], p),
    "write_report": lambda m, p: rs.write_report(m[2], p),
    "write_table": lambda m, p: rs.write_table(m[3], p),
    "save_model": lambda m, p: rs.save_model(rs.default_scorecard(), p),
}
NAMES = {"write_features": "f.parquet", "write_report": "r.html", "write_table": "t.csv",
         "save_model": "m.json"}  # fmt: skip


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_path_in_new_folders_is_written(made, tmp_path, writer):
    path = tmp_path / "new" / "deeper" / NAMES[writer]
    WRITERS[writer](made, path)
    assert path.is_file() and path.stat().st_size > 0


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_folder_given_as_the_file_is_refused_by_name(made, tmp_path, writer):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(rs.RiskscoreError, match=r"a-folder.* is a folder"):
        WRITERS[writer](made, folder)
    assert list(folder.iterdir()) == []
