"""Every docstring example in the installed package runs as written.

The examples are run from the imported package (not collected from the source files)
so that they test what a user installed.
"""

import doctest
import importlib
import pkgutil

import pytest

import riskscore

MODULES = sorted(m.name for m in pkgutil.walk_packages(riskscore.__path__, prefix="riskscore."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write here
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_the_public_modules_have_examples():
    finder = doctest.DocTestFinder()
    counted = sum(
        len(t.examples) for name in MODULES for t in finder.find(importlib.import_module(name))
    )
    assert counted > 100
