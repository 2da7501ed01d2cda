"""The shipped synthetic model is what its builder makes.

``models/synthetic-logistic-v1.json`` was written by
``riskscore.training.build_synthetic_model`` (``riskscore build-synthetic-model``).
Rebuilding it must give the same file: every text exactly, every number to a relative
1e-9. Numbers are not compared bit for bit because the solver's last digits depend on
the BLAS and CPU (a rebuild of the original commit on this kind of machine differs
from the shipped file in the 15th significant digit).
"""

from __future__ import annotations

import json
import math
from importlib import resources

from riskscore.training import build_synthetic_model


def _compare(a, b, path="$"):
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), f"{path}: keys differ"
        for k in a:
            _compare(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_synthetic_logistic_v1_rebuilds_from_its_recipe(tmp_path):
    shipped = json.loads(
        resources.files("riskscore.models").joinpath("synthetic-logistic-v1.json").read_text()
    )
    build_synthetic_model(tmp_path / "v1.json", created=shipped["model_card"]["created"])
    rebuilt = json.loads((tmp_path / "v1.json").read_text())
    rebuilt["riskscore_version"] = shipped.get("riskscore_version")
    _compare(shipped, rebuilt)
