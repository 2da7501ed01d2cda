"""Every error riskscore raises on purpose is a RiskscoreError (issue: plain ValueErrors)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pandas as pd
import pytest

import riskscore as rs
from riskscore import errors

PACKAGE = Path(__file__).resolve().parent.parent / "riskscore"

# built-in exceptions that must not be raised on purpose: raise the riskscore class
# (ParameterError is a ValueError and a TypeError, so callers' except clauses still work)
BANNED = {
    "ValueError",
    "TypeError",
    "Exception",
    "RuntimeError",
    "ArithmeticError",
    "FileNotFoundError",
    "FileExistsError",
    "ImportError",
    "NotImplementedError",
    "KeyError",
}


def _raised_names(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name):
                yield exc.id, node.lineno
            elif isinstance(exc, ast.Attribute):
                yield exc.attr, node.lineno


def test_no_plain_value_or_type_error_is_raised_on_purpose():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, line in _raised_names(tree):
            if name in BANNED:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line} raises {name}")
    assert not found, "raise a RiskscoreError subclass instead:\n" + "\n".join(found)


def test_the_scan_sees_raises_in_every_form():
    # a test of the test: calls, bare names and qualified names are all found
    src = "def f():\n    raise ValueError('x')\ndef g():\n    raise TypeError\nraise builtins.ValueError()\n"
    assert sorted(n for n, _ in _raised_names(ast.parse(src))) == [
        "TypeError",
        "ValueError",
        "ValueError",
    ]


def test_every_error_class_is_a_riskscore_error():
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__
    ]
    for cls in classes:
        if issubclass(cls, Warning):
            continue
        assert issubclass(cls, rs.RiskscoreError), cls


def test_parameter_error_keeps_old_except_clauses_working():
    # ValueError and TypeError callers both still catch it, as with scikit-learn's
    # InvalidParameterError
    with pytest.raises(ValueError):
        rs.make_cohort(-1)
    with pytest.raises(TypeError):
        rs.make_cohort("ten")
    with pytest.raises(rs.ParameterError, match="recent_window"):
        rs.encode_features(
            *rs.vignette()[:1], rs.as_of_grid(rs.vignette()[0], "30D"), recent_window=0
        )


# Inputs of the wrong kind where a table (or a training set) belongs. Each used to
# reach the user as AttributeError, TypeError or ValueError from pandas or numpy.
_WRONG = {"list": [[1, 2]], "None": None, "array": [[0.0, 1.0]], "text": "events.csv"}


def _or(value, instead):
    # text is a valid path or table name for some calls: give those something else
    return instead if isinstance(value, str) else value


def _calls():
    events, cases = rs.vignette()
    card = rs.default_scorecard()
    cov = [("gp", "2101-01-01", "2102-01-01")]
    table = rs.disclose(pd.DataFrame({"g": ["a", "b"], "n": [30, 40], "k": [10, 20]}), ["n", "k"])
    features = rs.encode_features(events, rs.as_of_grid(events, "180D"))
    logistic = rs.load_model("synthetic-logistic-v2")
    return {
        "check_identifying": lambda b: rs.check_identifying(b),
        "coverage_table": lambda b: rs.coverage_table(b),
        "apply_coverage": lambda b: rs.apply_coverage(b, cov),
        "evaluate": lambda b: rs.evaluate(card, b),
        "compare_models": lambda b: rs.compare_models({"card": card}, b),
        "RuleScorecard.risk_score": lambda b: card.risk_score(b),
        "encode_features": lambda b: rs.encode_features(events, b),
        "audit_cohort": lambda b: rs.audit_cohort(events, b, card),
        "check_disclosure": lambda b: rs.check_disclosure(b),
        "disclosure_manifest": lambda b: rs.disclosure_manifest(b),
        "mark_undisclosed": lambda b: rs.mark_undisclosed(b),
        "rates_from_published": lambda b: rs.rates_from_published(b, {"r": ("k", "n")}),
        "rates_from_published rates": lambda b: rs.rates_from_published(table, b),
        "check_publishable": lambda b: rs.check_publishable(b),
        "disclose_tables": lambda b: rs.disclose_tables(b),
        "protect_nested": lambda b: rs.protect_nested(
            b if b is None or isinstance(b, str) else "x"
        ),
        "read_table": lambda b: rs.read_table(_or(b, 5)),
        "file_sha256": lambda b: rs.file_sha256(_or(b, 5)),
        "apply_coverage coverage": lambda b: rs.apply_coverage(features, _or(b, 5)),
        "recalibrate X": lambda b: rs.recalibrate(logistic, b, [0, 1]),
        "recalibrate y": lambda b: rs.recalibrate(logistic, features, b),
    }


@pytest.mark.parametrize("kind", sorted(_WRONG))
@pytest.mark.parametrize("call", sorted(_calls()))
def test_an_input_of_the_wrong_kind_is_a_riskscore_error(call, kind):
    value = _WRONG[kind]
    if kind == "array":
        import numpy as np

        value = np.asarray(value)
    with pytest.raises(rs.RiskscoreError):
        _calls()[call](value)


_PLOTS = [
    "plot_case_timeline", "plot_case_attendance", "plot_case_scores", "plot_lead_times",
    "plot_false_alarms", "plot_cases_alerted", "plot_agency_share", "plot_by_deprivation",
    "plot_calibration", "plot_decision_curve", "plot_roc", "plot_model_comparison",
    "plot_subgroups",
]  # fmt: skip


@pytest.mark.parametrize("given", ["None", "text", "a frame without the columns"])
@pytest.mark.parametrize("name", _PLOTS)
def test_a_figure_of_the_wrong_thing_is_a_riskscore_error(name, given):
    # each plot read attributes or columns straight away: AttributeError or KeyError
    import matplotlib

    matplotlib.use("Agg")
    from riskscore import plots

    value = {
        "None": None,
        "text": "audit.html",
        "a frame without the columns": pd.DataFrame({"x": [1]}),
    }
    with pytest.raises(rs.RiskscoreError):
        getattr(plots, name)(value[given])


def _exception_classes_defined_in_the_package():
    import importlib
    import pkgutil

    found = {}
    for info in pkgutil.walk_packages(rs.__path__, "riskscore."):
        if info.name == "riskscore.cli":  # the command line's own one-line errors
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseException | Warning)
                and cls.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[name] = cls
    return found


def test_every_public_error_class_lives_in_errors_and_is_exported():
    # one place to look (and one class per name): a class defined beside the code
    # that raises it was missed by users catching riskscore's errors
    for name, cls in _exception_classes_defined_in_the_package().items():
        assert cls.__module__ == "riskscore.errors", f"{name} is defined in {cls.__module__}"
    for name in errors.__all__:
        assert getattr(rs, name) is getattr(errors, name), name
        assert name in rs.__all__, name


def test_readme_lists_every_error_class_with_what_it_means():
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    listed = {line.split("`")[1] for line in section.splitlines() if line.startswith("| `")}
    public = {n for n in errors.__all__}
    assert listed == public, (sorted(public - listed), sorted(listed - public))
