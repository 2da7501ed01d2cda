"""What the README, docs/ and the notebooks' prose say is what the code does.

Each test reads a claim from the text and recomputes it from the library (a signature, a
parser, a constant, a run on synthetic data), so a claim that drifts from the code fails
here. Expectations come from the code, never from numbers copied by hand.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import importlib
import importlib.util
import inspect
import io
import json
import os
import pkgutil
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskscore as rs

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
NOTEBOOKS = ROOT / "notebooks"
#: Every page a user reads: the README, docs/ and the notebooks' folder page.
PAGES = [README, *sorted(DOCS.glob("*.md")), NOTEBOOKS / "README.md"]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _flat(text: str) -> str:
    """Text with its line breaks and runs of spaces made one space (prose wraps anywhere)."""
    return " ".join(text.split())


def _prose(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


def _inline_code(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", _prose(text))


def _section(text: str, heading: str) -> str:
    """The body of a ``## heading`` section, up to the next heading of that level."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _table(text: str) -> list[list[str]]:
    """Rows of the markdown tables in ``text`` (header and rule lines left out)."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def _notebook_markdown(path: Path) -> str:
    """The markdown cells of a jupytext percent-format notebook source, as text."""
    lines, markdown = [], False
    for line in _text(path).splitlines():
        if line.startswith("# %%"):
            markdown = "[markdown]" in line
            continue
        if markdown:
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
    return "\n".join(lines)


# --------------------------------------------------------------------------- names


def _modules() -> dict[str, object]:
    found = {"riskscore": rs}
    for info in pkgutil.walk_packages(rs.__path__, "riskscore."):
        found[info.name] = importlib.import_module(info.name)
    return found


def _resolve(dotted: str):
    """The object a dotted name in the docs means, or None.

    ``rs.x`` and ``riskscore.x.y`` are followed attribute by attribute (importing
    sub-modules); a bare ``x`` or ``Class.method`` is looked up in the package's
    namespace and then in each of its modules.
    """
    parts = dotted.split(".")
    if parts[0] in ("rs", "riskscore"):
        obj, name = rs, "riskscore"
        for part in parts[1:]:
            name += "." + part
            if hasattr(obj, part):
                obj = getattr(obj, part)
                continue
            try:
                obj = importlib.import_module(name)
            except ImportError:
                return None
        return obj
    for module in _modules().values():
        obj = module
        for part in parts:
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None:
            return obj
    return None


_DOTTED = re.compile(r"(?<![\w./-])(?:rs|riskscore)(?:\.[A-Za-z_]\w*)+")
_CALL = re.compile(r"(?<![\w.])((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)\(")


def _readable_pages() -> list[tuple[str, str]]:
    pages = [(p.name if p.parent == ROOT else str(p.relative_to(ROOT)), _text(p)) for p in PAGES]
    pages += [(p.name, _notebook_markdown(p)) for p in sorted(NOTEBOOKS.glob("*.py"))]
    return pages


def test_every_name_the_docs_give_in_code_exists():
    """``rs.x``/``riskscore.x.y`` and every ``name(...)`` in inline code is in the package."""
    missing = []
    for page, text in _readable_pages():
        for code in _inline_code(text):
            if "import " in code:
                continue  # another library's names (the README's Dask client)
            for dotted in _DOTTED.findall(code):
                if _resolve(dotted) is None:
                    missing.append(f"{page}: {dotted}")
            for name in _CALL.findall(code):
                if hasattr(builtins, name):
                    continue
                if _resolve(name) is None and not _is_method_of_a_public_class(name):
                    missing.append(f"{page}: {name}(")
    assert not missing, missing


def _is_method_of_a_public_class(name: str) -> bool:
    return any(
        inspect.isclass(getattr(rs, c)) and callable(getattr(getattr(rs, c), name, None))
        for c in rs.__all__
    )


def test_keywords_the_docs_pass_in_inline_code_are_parameters():
    """``f(..., name=...)`` in inline code names a parameter ``f`` really takes."""
    wrong = []
    for page, text in _readable_pages():
        for code in _inline_code(text):
            for call in re.finditer(r"((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)\(([^()]*)\)?", code):
                func = _callable(call.group(1))
                if func is None:
                    continue
                params = _parameters(func)
                if params is None or any(
                    p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
                ):
                    continue
                for kw in re.findall(r"(?:^|[(,]\s*)([A-Za-z_]\w*)=(?!=)", call.group(2) or ""):
                    if kw not in params:
                        wrong.append(f"{page}: {call.group(0)} ({kw}=)")
    assert not wrong, wrong


def _callable(name: str):
    if hasattr(builtins, name):
        return None
    obj = _resolve(name)
    if obj is None:
        classes = [getattr(rs, c) for c in rs.__all__ if inspect.isclass(getattr(rs, c))]
        methods = [getattr(c, name) for c in classes if callable(getattr(c, name, None))]
        obj = methods[0] if len(methods) == 1 else None
    return obj if callable(obj) and not inspect.ismodule(obj) else None


def _parameters(func):
    try:
        return inspect.signature(func).parameters
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- code blocks


@pytest.mark.parametrize(
    "page",
    [p for p in sorted(DOCS.glob("*.md")) if "```python" in _text(p)],
    ids=lambda p: p.name,
)
def test_python_blocks_in_docs_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", _text(page), re.S)):
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(block, f"{page.name} block {i}", "exec"), namespace)  # noqa: S102


# --------------------------------------------------------------------------- command line


def _parsers() -> dict[str, argparse.ArgumentParser]:
    from riskscore.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"": parser, **sub.choices}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def _command_lines(text: str) -> list[str]:
    """Inline code and lines of shell blocks that run ``riskscore`` or name a subcommand."""
    spans = _inline_code(text)
    for block in re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, re.S):
        spans += block.splitlines()
    return spans


def test_every_option_the_docs_give_is_an_option_of_that_command():
    parsers = _parsers()
    everywhere = set().union(*(_options(p) for p in parsers.values()))
    wrong = []
    for page, text in _readable_pages():
        if page == "performance.md":
            continue  # the benchmarks' own options (python benchmarks/NAME.py --order ...)
        if page == "README.md":
            performance = _section(text, "Performance")
            text = text.replace(performance, "")
        for span in _command_lines(text):
            try:
                words = shlex.split(span.split("#", 1)[0])
            except ValueError:
                words = span.split()
            if "riskscore" in words:
                words = words[words.index("riskscore") + 1 :]
            elif not words or words[0] not in parsers:
                words = []
            command = words[0] if words and words[0] in parsers else ""
            for word in words:
                if not word.startswith("--"):
                    continue
                option = word.split("=", 1)[0]
                allowed = _options(parsers[command]) | _options(parsers[""])
                if option not in allowed:
                    wrong.append(f"{page}: {span!r}: riskscore {command} has no {option}")
        if page.startswith("notebooks"):
            continue  # its bare options are jupytext's and nbconvert's
        for span in _inline_code(text):
            option = span.split()[0].split("=", 1)[0]
            if re.fullmatch(r"--[a-z][a-z0-9-]*", option) and option not in everywhere:
                wrong.append(f"{page}: no command has {option}")
    assert not wrong, wrong


def test_defaults_the_readme_gives_for_the_command_line_are_the_parsers():
    parsers = _parsers()
    text = _flat(_text(README))

    def default(command: str, dest: str):
        (action,) = [a for a in parsers[command]._actions if a.dest == dest]
        return action.default

    n_cases = default("demo", "n_cases")
    assert f"a synthetic cohort of {n_cases:,} children" in text
    out = default("demo", "out")
    assert f"into `{out}/`" in text
    assert f"`{out}/events.csv`" in text and f"`riskscore demo --out {out}`" in text
    assert default("audit", "model") == default("score", "model") == rs.default_scorecard().name
    assert f"`{rs.default_scorecard().name}` — the default scorecard" in text
    assert "and the command line's default `--model`" in text


# --------------------------------------------------------------------------- the glossary


def _glossary_rows() -> list[tuple[list[str], str, str]]:
    rows = []
    for cells in _table(_text(DOCS / "glossary.md"))[1:]:
        names = re.findall(r"`([A-Za-z_]\w*)`", cells[0])
        if names and "(" not in cells[0]:
            rows.append((names, cells[1], cells[2]))
    return rows


def test_glossary_parameters_are_taken_where_it_says():
    parsers = _parsers()
    everywhere = set().union(*(_options(p) for p in parsers.values()))
    wrong = []
    for names, _, where in _glossary_rows():
        for token in re.findall(r"`([^`]+)`", where):
            if token.startswith("riskscore ") or " " in token:
                continue  # a command line: checked with the options above
            if token.startswith("--"):
                if token not in everywhere:
                    wrong.append(f"{names}: no command has {token}")
                continue
            obj = _resolve(token)
            if inspect.ismodule(obj):
                continue
            head, _, attr = token.rpartition(".")
            if obj is None and head and attr in names:
                obj, names_here = _resolve(head), [attr]  # TrainingSet.case_ids: a field
            else:
                names_here = names
            assert obj is not None, f"glossary: {token} does not exist"
            params = _parameters(obj)
            for name in names_here:
                if params is None or name not in params:
                    wrong.append(f"glossary: {token} takes no {name}")
    assert not wrong, wrong


def test_calls_written_with_parameter_names_in_the_glossary_are_the_signatures():
    """``audit_case(events, cases, model, case_id)``: the parameters, in that order."""
    text = _text(DOCS / "glossary.md")
    checked = 0
    for name, args in re.findall(r"`((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)\(([^()`]*)\)`", text):
        func = _callable(name) or (_callable(f"CaseKFold.{name}") if name == "split" else None)
        if func is None:
            continue
        params = list(_parameters(func))
        if params and params[0] == "self":
            params = params[1:]
        positional = [a.strip() for a in args.split(",") if a.strip() and "=" not in a]
        keywords = [a.strip()[:-1] for a in args.split(",") if a.strip().endswith("=")]
        if positional and positional != ["..."]:
            assert params[: len(positional)] == positional, (name, params)
        for kw in keywords:
            assert kw in params, (name, kw)
        checked += 1
    assert checked >= 5


def test_cases_is_the_second_argument_wherever_events_is_the_first():
    """By position it is second; where it is keyword-only, the glossary shows it so."""
    (meaning,) = [m for names, m, _ in _glossary_rows() if names == ["cases"]]
    for name in rs.__all__:
        params = _parameters(getattr(rs, name)) if callable(getattr(rs, name)) else None
        if not params or "cases" not in params:
            continue
        if params["cases"].kind is inspect.Parameter.KEYWORD_ONLY:
            assert re.search(rf"`{name}\([^`]*cases=\)`", meaning), name
        elif "events" in params:
            assert list(params)[:2] == ["events", "cases"], name
            assert f"`{name}(events, cases" in meaning, name


def _public_callables():
    for module_name, module in _modules().items():
        if any(part.startswith("_") for part in module_name.split(".")[1:]):
            continue
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
                continue
            yield f"{module_name}.{name}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if callable(member) and not attr.startswith("_"):
                        yield f"{module_name}.{name}.{attr}", member


def test_random_state_defaults_to_0_except_where_the_glossary_says():
    (meaning,) = [m for names, m, _ in _glossary_rows() if names == ["random_state"]]
    others = {}
    for qualname, func in _public_callables():
        params = _parameters(func)
        if params and "random_state" in params:
            default = params["random_state"].default
            if default is not inspect.Parameter.empty and default != 0:
                others[qualname] = default
    assert others, "the glossary names exceptions that no longer exist"
    for qualname, default in others.items():
        short = qualname.removeprefix("riskscore.").removeprefix("training.")
        assert f"`{short}`" in meaning or f"`riskscore.{short}`" in meaning, qualname
        assert f"`{default}`" in meaning, qualname
    (action,) = [
        a for a in _parsers()["build-synthetic-model"]._actions if a.dest == "random_state"
    ]
    assert action.default == others["riskscore.training.build_synthetic_model"]
    assert "`riskscore build-synthetic-model`" in meaning


def test_defaults_the_docs_state_are_the_signatures():
    from riskscore.training import LONGEST_WINDOW_DAYS

    glossary = {names[0]: meaning for names, meaning, _ in _glossary_rows()}

    def default(func, name):
        return inspect.signature(func).parameters[name].default

    windows = [rs.encode_features, rs.write_features, rs.audit_case, rs.audit_cohort]
    windows += [rs.make_training_set, rs.train_model, rs.change_dates, rs.FeatureEncoder]
    (recent,) = {default(f, "recent_window") for f in windows}
    assert f"(default {recent})" in glossary["recent_window"]
    features = _flat(_text(DOCS / "features.md"))
    assert f"(`recent_window`, default {recent} days;" in features
    readme = _flat(_text(README))
    assert f"(R = `recent_window`, default {recent})" in readme

    (response,) = {default(f, "response_window") for f in (rs.audit_case, rs.audit_cohort)}
    assert f"(default {response})" in glossary["response_window"]
    assert f"through {response} days after, inclusive" in readme
    (gap,) = {default(f, "min_gap") for f in (rs.audit_case, rs.audit_cohort)}
    assert f"(default {gap};" in glossary["min_gap"]
    assert f"`min_gap` days (default {gap})" in readme

    from riskscore.synthetic import true_linear_predictor

    (generator,) = {default(f, "generator") for f in (rs.make_cohort, true_linear_predictor)}
    assert f"(default {generator};" in glossary["generator"]
    assert f"`make_cohort(..., generator={generator})` is the default" in readme

    grids = [rs.as_of_grid, rs.audit_case, rs.audit_cohort, rs.make_training_set, rs.train_model]
    (grid,) = {default(f, "grid") for f in grids}
    assert grid == rs.DEFAULT_GRID
    assert f'`riskscore.DEFAULT_GRID = "{grid}"`' in glossary["grid"]
    assert {
        a.default
        for n, p in _parsers().items()
        if n in ("encode", "audit", "train")
        for a in p._actions
        if a.dest == "grid"
    } == {grid}

    (censoring,) = {default(f, "censoring") for f in (rs.make_training_set, rs.train_model)}
    assert f'`"{censoring}"` (default' in glossary["censoring"]
    assert default(rs.make_training_set, "min_history") is None  # None means the longest window
    assert f"(default {LONGEST_WINDOW_DAYS}," in glossary["min_history"]
    (dtype,) = {default(f, "dtype") for f in (rs.encode_features, rs.write_features)}
    assert f'`"{dtype}"` (the default)' in glossary["dtype"]
    assert default(rs.encode_features, "n_jobs") is None
    assert "`None` or `-1` every core this process may use (the default)" in glossary["n_jobs"]


# --------------------------------------------------------------------------- errors


def test_readme_error_table_says_what_each_class_also_is():
    section = _section(_text(README), "Errors")
    for cells in _table(section)[1:]:
        cls = getattr(rs, cells[0].strip("`"))
        stated = re.findall(r"`([\w]+)`", cells[1])
        bases = [b for b in cls.__bases__ if b is not rs.RiskscoreError]
        names = [b.__name__ for b in bases]
        if "scikit-learn's" in cells[1]:
            assert [b.__module__.split(".")[0] for b in bases] == ["sklearn"], cls
        assert stated == names, (cls.__name__, stated, names)
        if cls.__name__ != "RiskscoreError" and not issubclass(cls, Warning):
            assert issubclass(cls, rs.RiskscoreError), cls


# --------------------------------------------------------------------------- architecture


def _layers() -> dict[str, int]:
    spec = importlib.util.spec_from_file_location("_layers_of", ROOT / "tests" / "test_layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LAYERS


def test_architecture_table_lists_every_module_at_its_layer():
    """docs/architecture.md's table is tests/test_layers.py's LAYERS, for the modules there are."""
    stated = {}
    for cells in _table(_text(DOCS / "architecture.md"))[1:]:
        if not cells[0].isdigit():
            continue
        for name in re.findall(r"`([^`]+)`", cells[1]):
            module = (
                "riskscore" if name == "riskscore/__init__.py" else "riskscore." + name.rstrip("/")
            )
            stated[module] = int(cells[0])
    package = ROOT / "riskscore"
    modules = {"riskscore", "riskscore.sources"} | {
        f"riskscore.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"
    }
    layers = _layers()
    assert set(stated) == modules, (sorted(modules - set(stated)), sorted(set(stated) - modules))
    assert {m: layers[m] for m in modules} == stated


# --------------------------------------------------------------------------- disclosure


def test_disclosure_settings_table_is_the_code():
    from riskscore import disclosure

    settings = rs.DisclosureSettings()
    floors = {"min_count": disclosure.MIN_COUNT_FLOOR, "round_to": disclosure.ROUND_TO_FLOOR}
    rows = {
        c[0].strip("`"): c
        for c in _table(_section(_text(DOCS / "disclosure.md"), "Settings and floors"))[1:]
    }
    assert set(rows) == {"min_count", "round_to", "suppress_zero"}
    for name, cells in rows.items():
        assert cells[1] == str(getattr(settings, name)), name
        assert cells[2] == (str(floors[name]) if name in floors else ""), name


def test_refused_settings_the_disclosure_page_names_are_refused_so():
    """Each example in brackets is refused with the error its part of the sentence names."""
    text = _flat(_section(_text(DOCS / "disclosure.md"), "Settings and floors"))
    checked = 0
    for part in text.split(";"):
        error = re.search(r"refused with an? `(\w+)`", part)
        for example in re.findall(r"\(([^()]*=\d+[^()]*)\)", part):
            settings = [(k, int(v)) for k, v in re.findall(r"`(\w+)=(\d+)`", example)]
            calls = [dict(settings)] if " with " in example else [dict([s]) for s in settings]
            for call in calls:
                with pytest.raises(getattr(rs, error.group(1))):
                    rs.DisclosureSettings(**call)
                checked += 1
    assert checked >= 4
    # the readme's floor, in words
    readme = _flat(_text(README))
    from riskscore.disclosure import MIN_COUNT_FLOOR

    assert f"`min_count` can be raised, never set below {MIN_COUNT_FLOOR}" in readme
    settings = rs.DisclosureSettings()
    assert (
        f"Counts from 1 to {settings.min_count - 1} are suppressed and the rest rounded to "
        f"the nearest {settings.round_to}"
    ) in readme


# --------------------------------------------------------------------------- models


def test_readme_model_file_limits_are_the_loaders():
    from riskscore import modelfile

    text = _flat(_section(_text(README), "Models"))
    assert modelfile.MAX_FILE_BYTES == 1_000_000 and "a file over 1 MB" in text
    assert f"nested deeper than {modelfile.MAX_DEPTH} levels" in text
    assert f"a `schema_version` other than exactly `{modelfile.SCHEMA_VERSION}`" in text
    assert f"(points up to ±{modelfile.LIMITS['points']:,.0f}," in text
    assert f"log-odds coefficients and intercept up to ±{modelfile.LIMITS['log_odds']:.0f}" in text


def test_readme_says_what_the_shipped_models_hold():
    from riskscore.vocabulary import FEATURES_V1

    text = _flat(_text(README))
    card = rs.default_scorecard()
    assert "`rs.default_scorecard()`" in text and card.name == "review-rules-v2"
    assert (
        f"Bands: review at {card.bands['review']:.0f} points, multi-agency discussion at "
        f"{card.bands['multi_agency_discussion']:.0f}." in text
    )
    assert "missed_appointments_12m" not in {r.feature for r in card.rules}
    v1 = rs.load_model("review-rules-v1")
    assert v1.bands == card.bands
    n1, n = len(FEATURES_V1), len(rs.FEATURES)
    assert list(rs.FEATURES)[:n1] == list(FEATURES_V1)
    assert f"The first {n1} are catalogue v1" in text
    assert f"The last {['', 'one', 'two', 'three', 'four'][n - n1]} are catalogue v2" in text
    for name, k in (("synthetic-logistic-v1", n1), ("synthetic-logistic-v2", n)):
        model = rs.load_model(name)
        assert list(model.feature_names_in_) == list(rs.FEATURES)[:k], name
        assert model.penalty == "l2"  # "a ridge logistic model"
    assert f"(generator 1, the first {n1} features)" in text
    assert f"generator 2 cohort and all {n} features" in text


def test_readme_states_v1_illustration_computed():
    """'the social-care-only view reaches 10 (20 rows, 4 children) and so does the school-only'."""
    text = _flat(_text(README))
    v1 = rs.load_model("review-rules-v1")
    mad = v1.bands["multi_agency_discussion"]
    events, cases = rs.make_cohort(5000, random_state=2101, generator=1)
    assert "`make_cohort(5000, random_state=2101, generator=1)`, 30-day grid" in text
    grid = rs.as_of_grid(events, "30D", cases=cases)
    reached = {}
    for agency in ("social_care", "school"):
        x = rs.encode_features(events, grid, agency=agency)
        score = v1.risk_score(x).to_numpy()
        rows = score >= mad
        reached[agency] = (score.max(), int(rows.sum()), x.loc[rows, "case_id"].nunique())
    top, n_rows, n_children = reached["social_care"]
    assert top == mad and reached["school"][0] == mad
    assert (
        f"the social-care-only view reaches {mad:.0f} ({n_rows} rows, {n_children} children) "
        "and so does the school-only view" in text
    )
    reach = rs.agency_reach(v1).set_index("view")["max_points"]
    assert (
        f"reach {reach['hospital']:.0f} (hospital), {reach['school']:.0f} (school), "
        f"{reach['social_care']:.0f} (social care) or {reach['gp']:.0f} (GP, police)" in text
    )
    assert reach["gp"] == reach["police"]


# --------------------------------------------------------------------------- audit


def test_readme_lists_the_responses_an_audit_counts():
    from riskscore.audit import RESPONSES
    from riskscore.vocabulary import PLAN_START_END

    item = _flat(_section(_text(README), "Audit")).split("**Missed opportunity**", 1)[1]
    listed = re.findall(r"`(\w+)`", item.split(";", 1)[0])
    assert tuple(listed) == RESPONSES
    assert not set(PLAN_START_END.values()) & set(RESPONSES)  # "plan ends are not responses"


# --------------------------------------------------------------------------- training


def test_readme_labels_paragraph_is_computed():
    """The first release's rule against the default one, on the cohort the README names."""
    text = _flat(_section(_text(README), "Training and evaluation"))
    assert "On `make_cohort(20000, random_state=0)` (90-day grid, `min_history=0`)" in text
    events, cases = rs.make_cohort(20000, random_state=0)
    sets = {
        rule: rs.make_training_set(events, cases, grid="90D", censoring=rule, min_history=0)
        for rule in ("keep_positives", "complete")
    }
    keys = {
        rule: pd.DataFrame({"case_id": ts.case_ids, "as_of": np.asarray(ts.as_of), "y": ts.y})
        for rule, ts in sets.items()
    }
    merged = keys["keep_positives"].merge(
        keys["complete"][["case_id", "as_of"]], how="left", indicator=True
    )
    extra = merged[merged["_merge"] == "left_only"]
    assert len(extra) > 0 and extra["y"].eq(1).all()
    assert (
        f"labels {len(extra)} rows past the end of follow-up only because they are positive" in text
    )
    kept = sets["keep_positives"]
    quarter = pd.Series(np.asarray(kept.as_of)).dt.to_period("Q")
    rate = pd.Series(kept.y).groupby(quarter.to_numpy()).mean().sort_index()
    trailing = int((rate[::-1].cumprod() == 1).sum())
    words = {1: "quarter", 2: "two quarters", 3: "three quarters", 4: "four quarters"}
    assert f"its last {words[trailing]} of as-of dates have a 100% outcome rate" in text

    def temporal_rate(ts):
        ((_, test),) = rs.TemporalSplit(ts.as_of, 365).split(ts.X, ts.y, ts.case_ids)
        return ts.y[test].mean()

    assert (
        f"the default temporal split's test set then has an outcome rate of "
        f"{temporal_rate(kept):.1%}, against {temporal_rate(sets['complete']):.1%} under the "
        "default rule" in text
    )


def test_readme_temporal_split_on_three_years_is_refused_as_it_says():
    text = _flat(_section(_text(README), "Training and evaluation"))
    assert 'so `cv="temporal"` is refused there with a `ParameterError`' in text
    events, cases = rs.make_cohort(400, random_state=0)
    ts = rs.make_training_set(events, cases, grid="90D")
    with pytest.raises(rs.ParameterError, match="no longer than the horizon of 365 days"):
        rs.evaluate(rs.default_scorecard(), ts, cv="temporal", n_boot=0)
    assert "that gives the as-of dates' span against the horizon" in text


# --------------------------------------------------------------------------- synthetic data


def test_readme_synthetic_truth_paragraph_is_computed():
    """Where a fit recovers the generator's log-odds, and where it does not."""
    text = _flat(_section(_text(README), "Synthetic data"))
    truth = dict(rs.TRUE_LOG_ODDS)
    features = list(truth)
    events, cases = rs.make_cohort(40000, random_state=7)
    assert "on `make_cohort(40000, random_state=7)`" in text

    def held(table):
        table = table.set_index("feature")
        low, high = np.log(table["lower"]), np.log(table["upper"])
        inside = {f: bool(low[f] <= truth[f] <= high[f]) for f in features}
        return sum(inside.values()), table["coef"]

    as_of = cases[["case_id", "index_date"]].rename(columns={"index_date": "as_of"})
    x = rs.encode_features(events, as_of)[features].fillna(0)
    y = cases["outcome"].notna().to_numpy().astype(int)
    at_index = rs.LogisticRiskModel(penalty=None, features=features).fit(x, y)
    n_held, _ = held(at_index.odds_ratios())
    n = len(features)
    assert f"an unpenalised fit on the {n} true features" in text
    assert f"gives Wald intervals holding {n_held} of the {n} true log-odds" in text

    ts = rs.make_training_set(events, cases, grid="90D", features=features)
    rows = rs.LogisticRiskModel(penalty=None, features=features).fit(
        ts.X[features].fillna(0), ts.y, case_ids=ts.case_ids
    )
    table = rows.odds_ratios()
    assert table["interval"].str.startswith("cluster-robust").all()
    n_held_rows, coef = held(table)
    assert f"the same fit on a 90-day grid there misses {n - n_held_rows} of {n}" in text
    feature = "asthma_admission_28d"
    assert f"`{feature}` {coef[feature]:.2f} against {truth[feature]:.2f}" in text


def test_fictional_calendars_stated_are_the_data():
    """Child A's years, and each notebook's cohort's, are the years of the data it uses."""
    events, _ = rs.vignette()
    years = f"{events['date'].min().year}-{events['date'].max().year}"
    assert f"invented calendar ({years})" in _flat(
        _text(DOCS / "responsible-use.md").replace("**", "")
    )
    assert f"invented calendar ({years})" in _notebook_markdown(NOTEBOOKS / "01_audit_a_case.py")
    # and the note every Child A report and table carries says the same
    from riskscore.synthetic import VIGNETTE_NOTE

    assert f"invented calendar ({years})" in VIGNETTE_NOTE
    defaults = inspect.signature(rs.make_cohort).parameters
    for name, years in (
        ("00_from_source_extracts", defaults["years"].default),
        ("02_train_and_validate", 5),
        ("03_fairness_and_calibration", defaults["years"].default),
    ):
        assert "make_cohort(" in _text(NOTEBOOKS / f"{name}.py")
        cohort, _ = rs.make_cohort(300, random_state=0, years=years)
        span = f"{cohort['date'].min().year}-{cohort['date'].max().year}"
        assert f"invented calendar {span}" in _notebook_markdown(NOTEBOOKS / f"{name}.py"), name
    assert "years=5" in _text(NOTEBOOKS / "02_train_and_validate.py")


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize(
    "page", [NOTEBOOKS / "README.md", *sorted(NOTEBOOKS.glob("*.py"))], ids=lambda p: p.name
)
def test_notebook_pages_link_only_inside_the_repository(page):
    text = _text(page)
    assert not re.search(r"https?://|ftp://|www\.", text), "links must stay in the repository"
    for target in re.findall(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)", _prose(text)):
        path = target.partition("#")[0]
        dest = (page.parent / path).resolve()
        assert dest.is_relative_to(ROOT) and dest.exists(), target


# --------------------------------------------------------------------------- Dask


def test_readme_dask_section_names_what_takes_a_client_and_the_limits():
    from riskscore import scale

    text = _flat(_section(_text(README), "National scale with Dask"))
    takes_client = [
        name
        for name, obj in vars(scale).items()
        if inspect.isfunction(obj)
        and obj.__module__ == "riskscore.scale"
        and not name.startswith("_")
        and "client" in inspect.signature(obj).parameters
    ]
    assert takes_client
    for name in takes_client:
        assert f"`{name}`" in text or f"`riskscore.scale.{name}`" in text, name
    for name in ("audit_cohort", "encode_features", "make_training_set"):
        assert "client" not in inspect.signature(getattr(rs, name)).parameters, name
    assert "`rs.audit_cohort` and the other entry points take no `client=`" in text
    workers = inspect.signature(scale.local_cluster).parameters["n_workers"].default
    assert f"a local cluster of {['no', 'one', 'two', 'three', 'four'][workers]} worker" in text
    assert f"`n_partitions` is at most {scale._MAX_PARTITIONS:,}" in text


def test_adapter_report_reasons_the_docs_name_are_the_adapters():
    from riskscore.sources._spec import REPORT_REASONS

    texts = [
        _flat(_section(_text(README), "From source extracts")),
        _flat(_notebook_markdown(NOTEBOOKS / "00_from_source_extracts.py")),
    ]
    named = set()
    for text in texts:
        named |= set(re.findall(r"(?:counted(?: as)?|show up as) `(\w+)`", text))
        for sentence in re.findall(r"Reasons such as [^.]*\.", text):
            named |= set(re.findall(r"`(\w+)`", sentence))
    assert len(named) >= 5
    assert named <= set(REPORT_REASONS), sorted(named - set(REPORT_REASONS))


# --------------------------------------------------------------------------- the notice


@pytest.fixture(scope="module")
def cohort_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("doc-claims-cli")
    events, cases = rs.make_cohort(300, random_state=5)
    events.to_csv(folder / "events.csv", index=False)
    cases.drop(columns="index_date").to_csv(folder / "cases.csv", index=False)
    return folder


def _command(name: str, folder: Path) -> list[str]:
    e, c = str(folder / "events.csv"), str(folder / "cases.csv")
    out = folder / name.replace(" ", "-").strip("()")
    return {
        "demo": ["demo", "--n-cases", "200", "--out", str(out)],
        "validate": ["validate", e, "--cases", c],
        "encode": ["encode", e, "--cases", c, "--grid", "90D", "--out", str(folder / "f.csv")],
        "score": ["score", str(folder / "f.csv"), "--out", str(out / "s.csv")],
        "audit (case)": ["audit", e, "--cases", c, "--case", "C0000001", "--out", str(out)],
        "audit (cohort)": ["audit", e, "--cases", c, "--out", str(out)],
        "train": [
            *("train", e, "--cases", c, "--grid", "90D", "--cv", "2", "--n-boot", "0"),
            *("--out", str(out / "m.json")),
        ],
        "evaluate": [
            *("evaluate", e, "--cases", c, "--grid", "90D", "--cv", "2", "--n-boot", "0"),
            *("--out", str(out / "e.html")),
        ],
        "model (list)": ["model"],
        "model (one)": ["model", "review-rules-v2"],
    }[name]


_COMMANDS = [
    "demo",
    "validate",
    "encode",
    "score",
    "audit (case)",
    "audit (cohort)",
    "train",
    "evaluate",
    "model (list)",
    "model (one)",
]


@pytest.mark.parametrize("name", _COMMANDS)
def test_every_command_says_it_is_not_for_decisions(name, cohort_files, capsys):
    from riskscore.cli import main

    assert "Every report and command says so." in _flat(_text(DOCS / "responsible-use.md"))
    assert (
        "Every command (`validate`, `encode`, `score` and the model list included) prints the "
        "notice that riskscore is not for decisions about any child or family"
    ) in _flat(_section(_text(README), "Command line"))
    if name == "score":
        main(_command("encode", cohort_files))
        capsys.readouterr()
    assert main(_command(name, cohort_files)) == 0
    said = _flat(capsys.readouterr().out)
    assert re.search(r"must not be used to make, decisions about|not a decision about any", said)


# --------------------------------------------------------------------------- features


def test_decisions_left_to_the_library_are_the_encoders():
    """Attendance means rounded to the stated places; a case with no events: 0 and NaN."""
    from riskscore.features import _MEAN_DECIMALS

    for page in (README, DOCS / "data-contract.md"):
        assert f"Attendance means are rounded to {_MEAN_DECIMALS} decimal places" in _flat(
            _text(page)
        ), page.name
    # three periods averaging exactly the 0.90 line: on it, so persistent absence
    events = pd.DataFrame(
        {
            "case_id": ["c1"] * 3,
            "date": pd.to_datetime(["2101-01-10", "2101-02-10", "2101-03-10"]),
            "agency": "school",
            "event": "attendance",
            "value": [0.85, 0.95, 0.9],
        }
    )
    pairs = pd.DataFrame({"case_id": ["c1", "c2"], "as_of": pd.to_datetime(["2101-03-10"] * 2)})
    x = rs.encode_features(events, pairs).set_index("case_id")
    assert x.loc["c1", "attendance_recent"] == 0.9 and x.loc["c1", "persistent_absence"] == 1
    kinds = {name: spec.kind for name, spec in rs.FEATURES.items()}
    counts = [f for f, k in kinds.items() if k == "count"]
    assert (x.loc["c2", counts] == 0).all()  # "zero counts"
    assert np.isnan(x.loc["c2", "attendance_recent"])  # "and missing attendance"


def test_readme_details_of_the_shipped_cards_and_points():
    from riskscore.vocabulary import FEATURES_V1, SAME_CONDITION

    text = _flat(_section(_text(README), "Models"))
    v1, v2 = rs.load_model("review-rules-v1"), rs.default_scorecard()
    # "models built on them (`review-rules-v1`, `synthetic-logistic-v1`) read only those"
    assert {r.feature for r in v1.rules} <= set(FEATURES_V1)
    # "`missed_appointments_12m` has no rule, for a reason the card gives"
    assert "`missed_appointments_12m` has no rule, for a reason the card gives" in text
    assert "missed_appointments_12m" in str(v2.model_card["features_not_scored"])
    # v1's substance rationale says "class A drug use"
    (substance,) = [r for r in v1.rules if r.feature == "parental_substance_use_12m"]
    assert "class A drug use" in substance.rationale and '"class A drug use"' in text
    # "(`persistent_absence >= 1` is `attendance_recent <= 0.9`)"
    for (feature, op, threshold), (same, same_op, same_threshold) in SAME_CONDITION.items():
        if feature == "persistent_absence":
            stated = f"(`{feature} {op} {threshold:g}` is `{same} {same_op} {same_threshold:g}`)"
            assert stated in text


# --------------------------------------------------------------------------- notebooks


def test_notebook_prose_states_the_defaults_and_figures_it_uses():
    from riskscore._dates import step_days

    nb00 = _flat(_notebook_markdown(NOTEBOOKS / "00_from_source_extracts.py"))
    assert "rs.make_cohort(1500, random_state=11)" in _text(
        NOTEBOOKS / "00_from_source_extracts.py"
    )
    _, cases = rs.make_cohort(1500, random_state=11)
    n_outcomes = int(cases["outcome"].notna().sum())
    assert f"about {round(n_outcomes, -1)} children have an outcome" in nb00
    settings = rs.DisclosureSettings()
    assert f"counts under {settings.min_count} are suppressed" in nb00
    assert f"rounded to the nearest {settings.round_to}" in nb00

    nb01 = _flat(_notebook_markdown(NOTEBOOKS / "01_audit_a_case.py"))
    card = rs.default_scorecard()
    assert (
        f"`review` ({card.bands['review']:.0f} points) and `multi_agency_discussion` "
        f"({card.bands['multi_agency_discussion']:.0f} points)" in nb01
    )
    grid = inspect.signature(rs.audit_case).parameters["grid"].default
    assert f"`audit_case` computes the score on a {step_days(grid)}-day grid" in nb01
    window = inspect.signature(rs.audit_case).parameters["response_window"].default
    assert f"through {window} days after" in nb01 and f"within {window} days" in nb01


def test_readme_own_data_block_runs_on_files_written_as_it_expects(tmp_path, monkeypatch):
    """The block test_readme.py leaves out: ISO events.csv, day-first cases.csv."""
    (block,) = [
        b
        for b in re.findall(r"```python\n(.*?)```", _text(README), re.S)
        if 'read_events("events.csv")' in b
    ]
    assert "dayfirst=True" in block
    monkeypatch.chdir(tmp_path)
    events, cases = rs.make_cohort(100, random_state=3)
    events.to_csv("events.csv", index=False)
    cases = cases.drop(columns="index_date")
    for column in ("outcome_date", "followup_end"):
        cases[column] = cases[column].dt.strftime("%d/%m/%Y")
    cases.to_csv("cases.csv", index=False)
    namespace = {"rs": rs}
    exec(compile(block, "README own-data block", "exec"), namespace)  # noqa: S102
    assert (tmp_path / "X.parquet").exists()
    assert len(namespace["X"]) == len(namespace["grid"]) == len(namespace["X_school"])


def test_readme_feature_rows_name_the_features_events_and_holders():
    """Each row's event codes are events the feature reads; its holders are FEATURES'."""
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \| (\w+) \| (.+?) \|$", _text(README), re.M)
    checked = 0
    for name, definition, _, held in rows:
        if name not in rs.FEATURES:
            continue
        spec = rs.FEATURES[name]
        codes = {c for c in re.findall(r"`(\w+)`", definition) if c in rs.EVENTS}
        assert codes <= set(spec.events), (name, sorted(codes - set(spec.events)))
        for agency in spec.agencies:
            word = {"gp": "GP", "any": "any agency"}.get(agency, agency.replace("_", " "))
            assert word in held, (name, agency)
        checked += 1
    assert checked == len(rs.FEATURES)


def test_disclosure_page_counts_the_cohort_audits_tables():
    events, cases = rs.make_cohort(300, random_state=1)
    result = rs.audit_cohort(events, cases, rs.default_scorecard(), progress=False)
    words = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    text = _flat(_text(DOCS / "disclosure.md"))
    assert f"the {words[len(result.tables)]} tables are disclosed together" in text


def test_errors_show_values_only_masked_as_the_readme_says():
    section = _flat(_section(_text(README), "Errors"))
    (masked,) = re.findall(r"show a value only masked \(`'([^']+)'`\), never whole", section)
    events, _ = rs.make_cohort(20, random_state=0)
    events = events.astype({"event": str})
    value = "banana"
    assert masked.rstrip("*") == value[: len(masked.rstrip("*"))]
    events.loc[0, "event"] = value
    with pytest.raises(rs.SchemaError) as info:
        rs.validate_events(events, strict=True)
    message = str(info.value)
    assert f"'{masked}'" in message and value not in message


# --------------------------------------------------------------------------- messages


def test_nothing_the_package_says_links_outside_the_repository():
    """Docstrings (help()), messages, templates and model cards name no outside address.

    The one URL allowed is the formula-injection example of ``neutralise_formula``'s
    doctest, which is data a spreadsheet would be fed, not a link.
    """
    allowed = {'=HYPERLINK("http://x","y")'}
    files = [*(ROOT / "riskscore").rglob("*.py"), *(ROOT / "riskscore" / "templates").glob("*")]
    files += [*(ROOT / "models").glob("*.json"), *(ROOT / "tools").glob("*.py")]
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for allow in allowed:
            text = text.replace(allow, "")
        found += [
            f"{path.relative_to(ROOT)}: {m.group(0)}"
            for m in re.finditer(r"(?:https?|ftp)://\S+|www\.\S+", text)
        ]
    assert not found, found


def test_extras_the_docs_install_are_declared():
    pyproject = _text(ROOT / "pyproject.toml")
    declared = set(
        re.findall(
            r"^(\w+) = \[",
            pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0],
            re.M,
        )
    )
    named = set()
    for _, text in _readable_pages():
        named |= set(re.findall(r"(?:riskscore|\.)\[(\w+)\]", text))
    assert {"test", "dask"} <= named
    assert named <= declared, sorted(named - declared)


def test_encode_features_returns_what_the_catalogue_pages_say():
    """``case_id``, ``as_of``, then every feature in catalogue order, each a float64 column."""
    assert "every feature is a float64 column of `encode_features`" in _flat(_text(README))
    assert "`rs.encode_features(events, grid)` returns `case_id`, `as_of`, then every" in (
        _flat(_text(DOCS / "features.md"))
    )
    events, cases = rs.make_cohort(30, random_state=2)
    x = rs.encode_features(events, rs.as_of_grid(events, "90D", cases=cases))
    assert list(x.columns) == ["case_id", "as_of", *rs.FEATURES]
    assert (x[list(rs.FEATURES)].dtypes == "float64").all()


def test_the_opt_out_the_docs_name_is_the_one_the_code_reads(monkeypatch):
    from riskscore import _parallel

    for page in (README, DOCS / "README.md"):
        assert f"`{_parallel.MALLOC_ENV}=keep`" in _text(page), page.name
    monkeypatch.setenv(_parallel.MALLOC_ENV, "keep")
    assert not _parallel.trim_heap() and not _parallel.keep_heap()  # read at each call


def test_the_memory_kept_between_encodings_is_bounded_as_the_docs_say(monkeypatch):
    """docs/performance.md: tables of 32 MB or more, at most a quarter of memory,
    taken only when they need at most the block and at least half of it, and
    query ids read in runs from 100,000 rows after a probe of 4,096."""
    import gc

    from riskscore import _memory, features

    text = _text(DOCS / "performance.md")
    assert _memory.KEEP_FROM == 32 * 2**20 and "table of 32 MB or more" in text
    assert "at most a quarter of the" in text
    assert features._RUNS_FROM == 100_000 and features._RUNS_PROBE == 4096
    assert "the first 4,096 rows show runs (at least 100,000 rows in all)" in text
    assert "`riskscore.release_memory()`" in text and "`RISKSCORE_MALLOC=keep`" in text
    monkeypatch.delenv("RISKSCORE_MALLOC", raising=False)
    _memory.release()
    cap = _memory._memory_cap()
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert cap == physical // 4
    rows = _memory.KEEP_FROM // 8 // 2  # two columns of float64: exactly 32 MB
    table = _memory.new_table(rows, 2, np.float64)
    del table
    gc.collect()
    assert _memory.kept_bytes() == 32 * 2**20
    smaller = _memory.new_table(rows - 1, 2, np.float64)  # under the bound: not kept
    assert _memory.kept_bytes() == 32 * 2**20
    del smaller
    half = _memory.new_table(rows // 2, 4, np.float32)  # 16 MB below 32 MB: plain
    assert _memory.kept_bytes() == 32 * 2**20
    del half
    twice = _memory.new_table(rows * 2, 2, np.float64)  # needs more: released first
    assert _memory.kept_bytes() == 0
    del twice
    assert _memory.release() == 64 * 2**20


# --------------------------------------------------------------------------- one checked path


def _controlled_table():
    """A count table of the synthetic cohort, and the same under disclosure control."""
    _, cases = rs.make_cohort(400, random_state=0)
    raw = (
        cases.groupby(["sex", "imd_quintile"])
        .agg(n=("case_id", "size"), outcomes=("outcome", lambda s: int(s.notna().sum())))
        .reset_index()
    )
    table = rs.disclose(raw, ["n", "outcomes"], by=["sex", "imd_quintile"])
    assert table["outcomes"].isna().any()  # the claims below need a suppressed cell
    return raw, table


def test_check_disclosure_refuses_what_the_disclosure_page_says(tmp_path):
    from riskscore.disclosure import DISCLOSURE_ATTR

    readme = _flat(_section(_text(README), "Disclosure control"))
    assert (
        "`rs.write_table` refuses a table edited after disclosure control (a column added, a "
        "suppressed cell filled in again" in readme
    )
    text = _flat(_section(_text(DOCS / "disclosure.md"), "One checked path"))
    assert "no column the stamp does not cover" in text
    assert "every cell the manifest lists as hidden still missing" in text
    assert "a suppressed cell filled in again" in text
    assert "record the columns they cover" in text
    raw, table = _controlled_table()
    rs.check_disclosure(table)
    # the stamp and the sidecar record the columns they cover
    assert table.attrs[DISCLOSURE_ATTR]["columns"] == list(table.columns)
    path = rs.write_table(table, tmp_path / "t.csv")
    sidecar = path.with_name(path.name + ".provenance.json")
    assert json.loads(sidecar.read_text(encoding="utf-8"))["disclosure"]["columns"] == list(
        table.columns
    )
    rs.check_disclosure(rs.read_table(path))

    # a column added after disclosure control: refused by check_disclosure,
    # check_publishable and write_table, by name
    added = table.assign(exact_outcomes=raw["outcomes"])
    for check in (rs.check_disclosure, lambda t: rs.check_publishable([t])):
        with pytest.raises(rs.DisclosureError, match="exact_outcomes"):
            check(added)
    with pytest.raises(rs.DisclosureError, match="exact_outcomes"):
        rs.write_table(added, tmp_path / "added.csv")
    assert not (tmp_path / "added.csv").exists()

    # a suppressed cell filled in again with a count no other rule refuses (at least
    # min_count, on the rounding grid)
    settings = rs.DisclosureSettings()
    allowed = -(-settings.min_count // settings.round_to) * settings.round_to
    hidden = table["outcomes"].isna()
    refilled = table.copy()
    refilled.loc[hidden, "outcomes"] = allowed
    with pytest.raises(rs.DisclosureError, match=r"'outcomes'.*suppress"):
        rs.check_disclosure(refilled)

    # rates_from_published adds its rates to the stamp, so they are checked
    rated = rs.rates_from_published(table, {"outcome_rate": ("outcomes", "n")})
    assert "outcome_rate" in rated.attrs[DISCLOSURE_ATTR]["columns"]
    rs.check_disclosure(rated)
    exact = rated.assign(outcome_rate=raw["outcomes"] / raw["n"])
    with pytest.raises(rs.DisclosureError, match="outcome_rate"):
        rs.check_disclosure(exact)


def test_disclose_with_by_refuses_a_date_column_that_is_not_a_key():
    text = _flat(_text(DOCS / "disclosure.md"))
    assert "With `by=` given, a date column that is not a key is refused" in text
    _, cases = rs.make_cohort(400, random_state=0)
    first = (
        cases.groupby("sex")
        .agg(n=("case_id", "size"), first_outcome=("outcome_date", "min"))
        .reset_index()
    )
    with pytest.raises(rs.DisclosureError, match="first_outcome"):
        rs.disclose(first, ["n"], by=["sex"])
    # "add it to by= if it labels the groups"
    year = cases.assign(year=cases["outcome_date"].dt.to_period("Y"))
    by_year = year.groupby("year").agg(n=("case_id", "size")).reset_index()
    rs.check_disclosure(rs.disclose(by_year, ["n"], by=["year"]))
    # "Without by=, a date column is never guessed to be a key"
    assert "Without `by=`, a date column is never guessed to be a key" in text
    for table in (first, by_year):
        with pytest.raises(rs.DisclosureError, match="by="):
            rs.disclose(table, ["n"])


def test_disclosure_settings_refuse_counts_from_two_to_the_53():
    from riskscore import disclosure

    text = _flat(_section(_text(DOCS / "disclosure.md"), "Settings and floors"))
    assert "a `min_count` or `round_to` of `2**53` or more" in text
    limit = disclosure._EXACT_COUNT_LIMIT
    assert limit == 2**53
    for name in ("min_count", "round_to"):
        with pytest.raises(rs.DisclosureError, match=name):
            rs.DisclosureSettings(**{name: limit})


def test_read_table_refuses_a_damaged_sidecar_or_an_emptied_file(tmp_path):
    text = _flat(_section(_text(DOCS / "disclosure.md"), "One checked path"))
    assert "`read_table` refuses, naming the file and the fix, a sidecar that is damaged" in text
    _, table = _controlled_table()
    path = rs.write_table(table, tmp_path / "t.csv")
    sidecar = path.with_name(path.name + ".provenance.json")
    good = sidecar.read_text(encoding="utf-8")
    for damaged in (good[: len(good) // 2], "[]", json.dumps({**json.loads(good), "manifest": 1})):
        sidecar.write_text(damaged, encoding="utf-8")
        with pytest.raises(rs.DisclosureError, match=re.escape(sidecar.name)):
            rs.read_table(path)
    sidecar.write_text(good, encoding="utf-8")
    path.write_text("", encoding="utf-8")
    with pytest.raises(rs.DisclosureError, match=re.escape(path.name)):
        rs.read_table(path)


def test_cases_reaching_a_band_are_one_count_in_the_summary_and_false_alarm_tables():
    from riskscore.vocabulary import BANDS

    text = _flat(_text(DOCS / "disclosure.md"))
    assert (
        "the summary's cases reaching each band to the false-alarm table's cases alerted in "
        "it (`n_cases_alerted`: one count in two tables, hidden in both or in neither)" in text
    )
    # a cohort where, unlinked, the summary hid a count the false-alarm table published
    events, cases = rs.make_cohort(68, random_state=44)
    card, setting = rs.default_scorecard(), {"min_count": 5, "round_to": 5}

    def pairs(disclosure):
        tables = rs.audit_cohort(events, cases, card, disclosure=disclosure, progress=False)
        summary = tables.tables["summary"].set_index("measure")["n"]
        summary.index = [re.sub(r"[-_]", " ", m) for m in summary.index]
        alerted = tables.tables["false_alarms"].set_index("band")["n_cases_alerted"]
        return [
            (summary[f"cases reaching {band.replace('_', ' ')}"], alerted[band])
            for band in BANDS[1:]
        ]

    for in_summary, in_false_alarms in pairs(False):
        assert in_summary == in_false_alarms  # one count
    published = pairs(setting)
    assert any(pd.isna(a) for a, _ in published)  # the cohort exercises the link
    for in_summary, in_false_alarms in published:
        assert pd.isna(in_summary) == pd.isna(in_false_alarms)
        if not pd.isna(in_summary):
            assert in_summary == in_false_alarms


def test_save_model_controls_training_data_counts_whoever_supplied_them(tmp_path):
    from riskscore.modelfile import _disclosed_counts

    text = _flat(_text(DOCS / "disclosure.md"))
    assert "`save_model` puts the counts of a card's `training_data`" in text
    assert "under disclosure control whoever supplied them" in _flat(_text(README))
    settings = rs.DisclosureSettings()
    exact = {"n_rows": 123, "n_events": settings.min_count - 3, "n_cases": 51}
    expected = _disclosed_counts(exact)
    assert expected["n_events"] is None  # below min_count
    for k in ("n_rows", "n_cases"):
        assert expected[k] % settings.round_to == 0 and expected[k] != exact[k]
    # a caller's model_card=
    path = rs.save_model(
        rs.default_scorecard(), tmp_path / "a.json", model_card={"training_data": exact}
    )
    assert json.loads(path.read_text())["model_card"]["training_data"] == expected
    # a card read from a file and saved again
    card = rs.load_model(str(path))
    card.model_card["training_data"] = dict(exact)
    again = rs.save_model(card, tmp_path / "b.json")
    assert json.loads(again.read_text())["model_card"]["training_data"] == expected


def test_model_files_refuse_reversed_classes_and_a_covariance_no_fit_gives(tmp_path):
    text = _flat(_section(_text(README), "Models"))
    assert "`classes` not in ascending order (the second is the outcome)" in text
    assert "a covariance that is not symmetric or holds a correlation above 1" in text
    events, cases = rs.make_cohort(1000, random_state=1)
    ts = rs.make_training_set(events, cases, grid="90D")
    features = ["persistent_absence", "severe_absence", "school_concerns_12m"]
    model = rs.LogisticRiskModel(penalty=None, features=features)
    model.fit(ts.X[features].fillna(0), ts.y, case_ids=ts.case_ids)
    doc = json.loads(rs.save_model(model, tmp_path / "m.json").read_text())
    assert doc["classes"] == sorted(doc["classes"]) and doc["covariance"]

    def refused(change, entry):
        edited = json.loads(json.dumps(doc))
        change(edited)
        path = tmp_path / "edited.json"
        path.write_text(json.dumps(edited), encoding="utf-8")
        with pytest.raises(rs.ModelFileError, match=entry):
            rs.load_model(str(path))

    refused(lambda d: d["classes"].reverse(), "classes")

    def asymmetric(d):
        d["covariance"][0][1] += abs(d["covariance"][0][0]) / 10

    def correlation_above_1(d):
        c = d["covariance"]
        c[0][1] = c[1][0] = 2 * (abs(c[0][0]) * abs(c[1][1])) ** 0.5

    refused(asymmetric, "covariance")
    refused(correlation_above_1, "covariance")


# --------------------------------------------------------------------------- options checked first


def test_command_line_options_the_readme_says_are_checked_first(cohort_files, capsys):
    from riskscore.cli import EXIT_USAGE, main
    from riskscore.modelfile import LIMITS

    text = _flat(_section(_text(README), "Command line"))
    assert "`evaluate --out` and `train --report` must name an `.html` (or `.htm`) file" in text
    assert "`--encoding` must be a text encoding Python knows" in text
    assert "two options never write one file (`train --report` over the model's `.sha256`" in text
    assert "Options are checked before any data are read" in text
    assert "`train --C` is limited to what a model file holds" in text
    e, c = str(cohort_files / "events.csv"), str(cohort_files / "cases.csv")
    out = cohort_files / "checked-first"
    model = str(out / "m.json")
    train = ["train", e, "--cases", c, "--grid", "90D", "--cv", "2", "--n-boot", "0"]

    def refused(args, *named):
        capsys.readouterr()
        try:
            status = main(args)
        except SystemExit as exc:  # argparse's own usage errors exit
            status = exc.code
        assert status == EXIT_USAGE, args
        said = capsys.readouterr().err
        for word in named:
            assert word in said, (args, said)

    refused(["evaluate", e, "--cases", c, "--out", str(out / "report.csv")], "--out", ".html")
    refused([*train, "--out", model, "--report", str(out / "r.csv")], "--report", ".html")
    # checked before any file: a missing events file is not what is reported
    refused(["validate", str(out / "missing.csv"), "--encoding", "rot13"], "--encoding")
    refused([*train, "--out", model, "--report", model + ".sha256"], "--report", "--out")
    low, high = LIMITS["C"]
    refused([*train, "--out", model, "--C", repr(high * 10)], "--C", f"{high:g}")
    assert not out.exists() or not any(out.iterdir())


def test_audit_case_is_found_with_white_space_normalised(cohort_files, capsys):
    from riskscore.cli import main

    text = _flat(_section(_text(README), "Command line"))
    assert "`audit --case` is matched with white space normalised" in text
    events = pd.read_csv(cohort_files / "events.csv")
    case = str(events["case_id"].iloc[0])
    out = cohort_files / "padded-case"
    args = ["audit", str(cohort_files / "events.csv"), "--cases", str(cohort_files / "cases.csv")]
    assert main([*args, "--case", f"  {case} ", "--out", str(out)]) == 0
    assert (out / f"case-{case}.html").exists()


def test_allow_reasons_are_one_line_of_plain_text(cohort_files, capsys):
    from riskscore.cli import EXIT_USAGE, main

    said = "an escape sequence, a right-to-left or zero-width mark, a line break"
    for page in (README, DOCS / "data-contract.md"):
        assert f"control or format character ({said}) is refused naming the character" in (
            _flat(_text(page))
        ), page.name
    assert "control and format characters are refused" in _text(DOCS / "glossary.md")
    events, _ = rs.make_cohort(50, random_state=0)
    events = events.assign(ward="x")
    rs.validate_events(events, allow={"ward": "ward codes, not people"})
    for ch in ("\x1b", "\u202e", "\u200b", "\n"):  # escape, right-to-left, zero-width, line
        with pytest.raises(rs.SchemaError, match=f"U\\+{ord(ch):04X}"):
            rs.validate_events(events, allow={"ward": f"ward{ch}codes"})
    capsys.readouterr()
    args = ["validate", str(cohort_files / "events.csv"), "--allow", "ward=ward\x1b[2Jcodes"]
    assert main(args) == EXIT_USAGE
    assert "--allow" in capsys.readouterr().err


def test_birth_named_unix_times_are_dates_of_birth():
    text = "Unix times (seconds or milliseconds, 1973 to 2099) are dates of birth"
    assert text in _flat(_text(README))
    assert "Unix times, in seconds or milliseconds from 1973 to 2099" in _flat(
        _text(DOCS / "data-contract.md")
    )
    _, cases = rs.make_cohort(20, random_state=0)
    born = pd.to_datetime(["1973-12-31", "2010-06-01", "2099-12-31"])
    seconds = (born - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    for values in (seconds, seconds * 1000):
        for value in values:
            with pytest.raises(rs.IdentifyingDataError, match="birth_ts"):
                rs.validate_cases(cases.head(2).assign(birth_ts=[int(value)] * 2))
    # before 1973 (fewer than nine digits of seconds) it is not read as a time
    early = (pd.Timestamp("1972-06-01") - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    rs.validate_cases(cases.head(2).assign(birth_ts=[int(early)] * 2))
