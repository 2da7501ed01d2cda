"""The shipped synthetic models are what their builder makes.

``models/synthetic-logistic-v1.json`` and ``-v2.json`` were written by
``riskscore.training.build_synthetic_model`` (``riskscore build-synthetic-model
--name NAME``), whose recipes are pinned in ``riskscore.training.SYNTHETIC_MODELS``
(v1: generator 1 cohort, the first 18 features; v2: generator 2, all 21). Rebuilding
one must give the same file: every text exactly, every number to a relative
1e-9. Numbers are not compared bit for bit because the solver's last digits depend on
the BLAS and CPU (a rebuild of the original commit on this kind of machine differs
from the shipped file in the 15th significant digit).
"""

from __future__ import annotations

import json
import math
from importlib import resources

import pytest

from riskscore.training import SYNTHETIC_MODELS, build_synthetic_model


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


@pytest.mark.parametrize("name", list(SYNTHETIC_MODELS))
def test_shipped_synthetic_model_rebuilds_from_its_recipe(tmp_path, name):
    shipped = json.loads(resources.files("riskscore.models").joinpath(f"{name}.json").read_text())
    assert shipped["model_card"]["created"] == SYNTHETIC_MODELS[name][2]
    build_synthetic_model(tmp_path / "m.json", name=name, created=SYNTHETIC_MODELS[name][2])
    rebuilt = json.loads((tmp_path / "m.json").read_text())
    rebuilt["riskscore_version"] = shipped.get("riskscore_version")
    _compare(shipped, rebuilt)
