"""The package's imports point one way and never reach into another module's privates.

Data flows schema/privacy -> features -> models -> audit/evaluation -> report/CLI
(docs/architecture.md). This test reads every module's source, imports inside
functions included, and fails on:

* an import cycle between modules;
* a module importing one in a higher layer (the Dask path in ``scale`` sits above
  the pandas path and registers itself with ``_dispatch``; nothing below calls it);
* ``from riskscore.x import _name`` or ``module._name`` across modules: code that two
  modules share lives in a private module with public names.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "riskscore"

# Lower numbers may be imported by higher ones, never the other way round.
LAYERS: dict[str, int] = {
    # 0: words and errors
    "riskscore._version": 0,
    "riskscore.errors": 0,
    "riskscore.vocabulary": 0,
    "riskscore._dispatch": 0,
    "riskscore._arrays": 0,
    "riskscore._parallel": 0,
    "riskscore._memory": 0,
    "riskscore._numerics": 0,
    "riskscore._dates": 0,
    "riskscore._names": 0,
    "riskscore._params": 0,
    "riskscore._lattice": 0,
    "riskscore._prediction_stats": 0,
    "riskscore._paths": 0,
    # 1: the data contract, privacy and disclosure control
    "riskscore._privacy_rules": 1,
    "riskscore.privacy": 1,
    "riskscore.schema": 1,
    "riskscore.coverage": 1,
    "riskscore.disclosure": 1,
    "riskscore.sources": 1,
    # 2: features and synthetic data
    "riskscore.features": 2,
    "riskscore.synthetic": 2,
    # 3: models and their files
    "riskscore.contract": 3,
    "riskscore.scorecard": 3,
    "riskscore.logistic": 3,
    "riskscore.points": 3,
    "riskscore.modelfile": 3,
    "riskscore.model_selection": 3,
    "riskscore.reach": 3,
    # 4: audit, training and evaluation
    "riskscore._audit_core": 4,
    "riskscore._cohort_tables": 4,
    "riskscore._evaluation_tables": 4,
    "riskscore.audit": 4,
    "riskscore.evaluation": 4,
    "riskscore.fairness": 4,
    "riskscore.training": 4,
    # 5: scale-out, figures, reports and the command line
    "riskscore.scale": 5,
    "riskscore.plots": 5,
    "riskscore.report": 5,
    # 6: the package's face; 7: the command line, a thin layer over it
    "riskscore": 6,
    "riskscore.cli": 7,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> int:
    while module not in LAYERS:
        if "." not in module:
            raise KeyError(module)
        module = module.rsplit(".", 1)[0]
    return LAYERS[module]


def _owner(module: str) -> str:
    """The module as the layers see it (sub-packages count as one module)."""
    for name in ("riskscore.sources",):
        if module == name or module.startswith(name + "."):
            return name
    return module


def _imports(path: Path, module: str, text: str | None = None):
    """(imported module, imported name or None, line) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8") if text is None else text)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("riskscore"):
                    aliases[a.asname or a.name] = a.name
                    yield a.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            if not base.startswith("riskscore"):
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                if (PACKAGE.parent / Path(*sub.split("."))).with_suffix(".py").exists() or (
                    PACKAGE.parent / Path(*sub.split(".")) / "__init__.py"
                ).exists():
                    aliases[a.asname or a.name] = sub
                    yield sub, None, node.lineno
                else:
                    yield base, a.name, node.lineno
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            yield aliases[node.value.id], node.attr, node.lineno


def _graph():
    edges: dict[str, set[str]] = {}
    problems: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        me = _owner(module)
        edges.setdefault(me, set())
        for target, name, line in _imports(path, module):
            other = _owner(target)
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if other != me:
                edges[me].add(other)
                if name and name.startswith("_") and not name.startswith("__"):
                    problems.append(f"{where} uses private {target}.{name}")
            if other != me and _layer(other) > _layer(me):
                problems.append(
                    f"{where}: {me} (layer {_layer(me)}) imports {other} "
                    f"(layer {_layer(other)}), a higher layer"
                )
    return edges, problems


def test_every_module_has_a_layer():
    missing = []
    for path in PACKAGE.rglob("*.py"):
        try:
            _layer(_owner(_module_name(path)))
        except KeyError:
            missing.append(_module_name(path))
    assert not missing, f"add these modules to LAYERS (and docs/architecture.md): {missing}"
    real = {_module_name(path) for path in PACKAGE.rglob("*.py")}
    gone = [name for name in LAYERS if name not in real]
    assert not gone, f"LAYERS lists modules that no longer exist: {gone}"


def test_imports_point_down_and_never_reach_into_privates():
    _, problems = _graph()
    assert not problems, "\n".join(problems)


def test_no_import_cycle():
    edges, _ = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt == "riskscore":
                continue  # the package's face imports everything; nothing imports it back
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_the_walker_sees_imports_inside_functions():
    # a test of the test: an upward import hidden in a function is found
    src = "def f():\n    from riskscore.scale import encode_features_dask\n"
    found = list(_imports(PACKAGE / "features.py", "riskscore.features", src))
    assert ("riskscore.scale", "encode_features_dask", 2) in found
    src = "import riskscore.audit as a\nx = a._audit_core\n"
    found = list(_imports(PACKAGE / "scale.py", "riskscore.scale", src))
    assert ("riskscore.audit", "_audit_core", 2) in found


def _shared_modules():
    return sorted(
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        for p in [*PACKAGE.glob("_*.py"), *PACKAGE.glob("*/_*.py")]
        if p.stem not in ("__init__", "_version")
    )


@pytest.mark.parametrize("shared", _shared_modules())
def test_every_name_imported_from_a_shared_private_module_is_in_its_all(shared):
    # a shared module's names are public to the package: its __all__ says which they
    # are (capped_n_jobs, guessed_text and most of sources._spec were imported unlisted)
    module = importlib.import_module(shared)
    imported = sorted(
        (str(path.relative_to(PACKAGE)), alias.name)
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == shared
        for alias in node.names
        if alias.name not in module.__all__
    )
    assert imported == []
    assert [name for name in module.__all__ if not hasattr(module, name)] == []
