"""The notebooks run clean and show what they promise (synthetic or fictional data only).

Each stored notebook is executed afresh with nbclient (kernel ``python3``) in a
temporary working directory; a cell error fails the test. The checks then look for
the outputs an analyst needs to see, and that the stored notebooks are still the
ones ``notebooks/build_notebooks.py`` generates.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# What each notebook must show: (pattern in its text outputs, what it proves).
EXPECTED = {
    "00_from_source_extracts.ipynb": [
        (r"events pass validation: True", "the adapters' combined events validate"),
        (r"same events as written: True", "the synthetic extracts round-trip"),
        (r"left out: .*unknown_code", "unknown codes are reported, not mapped"),
        (r"2101-09-01\s+0\.0\s+NaN", "missing coverage reads as missing, not zero"),
        (r"<NA>", "a cohort table shows suppressed cells"),
        (r"must stay inside the secure environment", "the case audit says it is case-level"),
    ],
    "01_audit_a_case.ipynb": [
        (r"fictional composite", "Child A is said to be fictional"),
        (r"Join-up gap: [1-9]\d* days", "the join-up gap"),
        (r"\d+ days before the child protection plan", "lead over the fictional plan"),
        (r"must stay inside the secure environment", "the audit says it is case-level"),
        (r"says it is not a decision: True", "the HTML report carries the notice"),
    ],
    "02_train_and_validate.ipynb": [
        (r"AUROC 0\.\d{3} \(95% CI 0\.\d{3} to 0\.\d{3}\)", "AUROC with an interval"),
        (r"temporal split at 21\d\d-\d\d-\d\d", "temporal validation"),
        (r"model card sections: .*subgroups", "a model card with subgroup results"),
        (r"selection_rate", "metrics by deprivation quintile"),
    ],
    "03_fairness_and_calibration.ipynb": [
        (r"calibration_intercept", "calibration-in-the-large is reported"),
        (r"imd_quintile", "metrics by deprivation quintile"),
        (r"ratio to quintile", "alert-rate ratios across quintiles"),
        (r"suppressed rows: [1-9]", "subgroup suppression is pointed out"),
    ],
}
MIN_FIGURES = {
    "00_from_source_extracts.ipynb": 2,
    "01_audit_a_case.ipynb": 3,
    "02_train_and_validate.ipynb": 2,
    "03_fairness_and_calibration.ipynb": 3,
}


def _texts(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(out.data.get("text/plain", ""))
                parts.append(out.data.get("text/html", ""))
    return "\n".join(parts)


def _figures(nb) -> int:
    return sum(
        "image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", [])
    )


def test_every_notebook_is_checked():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_clean(name, tmp_path):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert "Retrospective audit and research only" in first.source
    assert "not a decision about any" in first.source
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    # a cell error raises CellExecutionError, failing the test with the traceback
    NotebookClient(
        nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [
        out for cell in nb.cells for out in cell.get("outputs", []) if out.output_type == "error"
    ]
    assert not errors
    text = _texts(nb)
    for pattern, what in EXPECTED[name]:
        assert re.search(pattern, text), f"{name}: no output shows {what} ({pattern!r})"
    assert _figures(nb) >= MIN_FIGURES[name]
    # the notebooks write only into temporary folders
    assert list(tmp_path.iterdir()) == []


def _generator():
    spec = importlib.util.spec_from_file_location(
        "build_notebooks", NOTEBOOKS / "build_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_stored_notebook_matches_generator_and_is_executed(name):
    stored = nbformat.read(NOTEBOOKS / name, as_version=4)
    built = _generator().build(name)
    assert [(c.cell_type, c.source) for c in stored.cells] == [
        (c.cell_type, c.source) for c in built.cells
    ], f"{name} differs from build_notebooks.py: run python notebooks/build_notebooks.py"
    code = [c for c in stored.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), f"{name} is stored unexecuted"
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
