"""The package, tests, notebooks, benchmarks and tools are ruff-clean: lint and format.

Runs ``ruff`` (a test dependency) with the settings in ``pyproject.toml`` over the
same paths a contributor would check; a failure shows ruff's own report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PATHS = ["riskscore", "tests", "notebooks", "benchmarks", "tools"]


@pytest.mark.parametrize(
    "command", [["check"], ["format", "--check"]], ids=["ruff check", "ruff format --check"]
)
def test_ruff_is_clean(command):
    run = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        pytest.fail(
            f"ruff {' '.join(command)} {' '.join(PATHS)} is not clean "
            f"(fix: ruff check --fix / ruff format):\n{run.stdout}{run.stderr}",
            pytrace=False,
        )
