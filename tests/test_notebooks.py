"""The notebooks run clean and show what they promise (synthetic or fictional data only).

Each notebook is a jupytext percent-format ``notebooks/NAME.py`` paired with an executed
``notebooks/NAME.ipynb``. The test builds the notebook from the ``.py`` file (so the
``.py`` is what is tested), executes it afresh with nbclient (kernel ``python3``) in a
temporary working directory, where a cell error fails the test, and then looks for the
outputs an analyst needs to see. Further checks: every ``.py`` has its ``.ipynb`` and
the other way round, and each stored ``.ipynb`` has exactly the cells of its ``.py``
and is stored executed, without errors (rebuild: see ``notebooks/README.md``).
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
REBUILD = "rebuild it as notebooks/README.md says"

# What each notebook must show: (pattern in its text outputs, what it proves).
EXPECTED = {
    "00_from_source_extracts": [
        (r"events pass validation: True", "the adapters' combined events validate"),
        (r"same events as written: True", "the synthetic extracts round-trip"),
        (r"left out: .*unknown_code", "unknown codes are reported, not mapped"),
        (r"2101-09-01\s+0\.0\s+NaN", "missing coverage reads as missing, not zero"),
        (r"<NA>", "a cohort table shows suppressed cells"),
        (r"must stay inside the secure environment", "the case audit says it is case-level"),
    ],
    "01_audit_a_case": [
        (r"fictional composite", "Child A is said to be fictional"),
        (r"Join-up gap: [1-9]\d* days", "the join-up gap"),
        (r"\d+ days before the child protection plan", "lead over the fictional plan"),
        (r"must stay inside the secure environment", "the audit says it is case-level"),
        (r"says it is not a decision: True", "the HTML report carries the notice"),
    ],
    "02_train_and_validate": [
        (r"AUROC 0\.\d{3} \(95% CI 0\.\d{3} to 0\.\d{3}\)", "AUROC with an interval"),
        (r"temporal split at 21\d\d-\d\d-\d\d", "temporal validation"),
        (r"model card sections: .*subgroups", "a model card with subgroup results"),
        (r"selection_rate", "metrics by deprivation quintile"),
    ],
    "03_fairness_and_calibration": [
        (r"calibration_intercept", "calibration-in-the-large is reported"),
        (r"imd_quintile", "metrics by deprivation quintile"),
        (r"ratio to quintile", "alert-rate ratios across quintiles"),
        (r"suppressed rows: [1-9]", "subgroup suppression is pointed out"),
    ],
}
MIN_FIGURES = {
    "00_from_source_extracts": 2,
    "01_audit_a_case": 3,
    "02_train_and_validate": 2,
    "03_fairness_and_calibration": 3,
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


def _cells(nb) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def test_every_notebook_is_checked():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.py")) == sorted(EXPECTED)


def test_every_py_has_its_ipynb_and_every_ipynb_its_py():
    py = {p.stem for p in NOTEBOOKS.glob("*.py")}
    ipynb = {p.stem for p in NOTEBOOKS.glob("*.ipynb")}
    assert not py - ipynb, f".py without a stored .ipynb: {sorted(py - ipynb)}; {REBUILD}"
    assert not ipynb - py, f".ipynb without its .py: {sorted(ipynb - py)}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_clean(name, tmp_path):
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert "Retrospective audit and research only" in first.source
    assert "not a decision about any" in first.source
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


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_stored_notebook_matches_its_py_and_is_executed(name):
    source = jupytext.read(NOTEBOOKS / f"{name}.py")
    stored = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert source.metadata["jupytext"]["text_representation"]["format_name"] == "percent"
    for nb in (source, stored):
        assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"
        assert nb.metadata["kernelspec"]["name"] == "python3"
    assert _cells(stored) == _cells(source), f"{name}.ipynb differs from {name}.py: {REBUILD}"
    counts = [c.execution_count for c in stored.cells if c.cell_type == "code"]
    # executed once, top to bottom
    assert counts == list(range(1, len(counts) + 1)), f"{name}.ipynb is not stored executed"
    assert not any(
        out.output_type == "error" for cell in stored.cells for out in cell.get("outputs", [])
    )
