"""The docs live in the repository, say what the code does, and link only inside it."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))]


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build_docs():
    return _tool("build_docs")


def test_generated_docs_match_the_code(build_docs):
    """Code lists, the feature catalogue and output columns are regenerated and compared."""
    assert build_docs.stale() == [], "run: python tools/build_docs.py"


def test_the_generator_would_notice_a_new_feature(build_docs, monkeypatch):
    import riskscore.vocabulary as vocabulary

    name = "a_feature_nobody_documented_12m"
    spec = vocabulary.FeatureSpec(name, "test", ("school",), "count", 1, ("school_concern",))
    monkeypatch.setattr(vocabulary, "FEATURES", {**vocabulary.FEATURES, name: spec})
    assert build_docs.stale() == ["features.md"]


def test_every_code_is_in_the_data_contract_and_catalogue():
    from riskscore.vocabulary import AGENCIES, BANDS, EVENTS, FEATURES, OUTCOMES

    contract = (DOCS / "data-contract.md").read_text(encoding="utf-8")
    for code in (*AGENCIES, *EVENTS, *OUTCOMES, *BANDS):
        assert f"`{code}`" in contract, code
    catalogue = (DOCS / "features.md").read_text(encoding="utf-8")
    for name in FEATURES:
        assert f"`{name}`" in catalogue, name


def test_every_output_column_has_a_meaning(build_docs):
    from riskscore._names import column_meaning

    missing = [
        f"{kind}.{table}.{c}"
        for kind, tables in build_docs._output_tables().items()
        for table, columns in tables.items()
        for c in columns
        if not column_meaning(c)
    ]
    assert not missing, missing


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return {_slug(m) for m in re.findall(r"^#+\s+(.*)$", text, re.M)}


_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves_inside_the_repository(page):
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"https?://|ftp://|www\.", text), "links must stay in the repository"
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for target in _LINK.findall(prose):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.is_relative_to(ROOT), f"{target} leaves the repository"
        assert dest.exists(), f"{page.name}: {target} does not exist"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest), f"{page.name}: no heading #{anchor} in {dest.name}"


def test_readme_points_to_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in ("data-contract.md", "features.md", "outputs.md", "responsible-use.md"):
        assert f"(docs/{doc})" in readme, doc


def test_no_message_points_outside_the_repository():
    """Errors and docstrings name docs/ files, never the design notes kept elsewhere."""
    package = ROOT / "riskscore"
    offenders = [
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in package.rglob("*.py")
        for m in re.finditer(r"\bDESIGN(\.md)?\b|\.\./shared", p.read_text(encoding="utf-8"))
    ]
    assert not offenders, offenders


def test_a_missing_column_message_names_the_data_contract():
    import riskscore as rs

    events, cases = rs.make_cohort(20, random_state=0)
    with pytest.raises(rs.SchemaError, match="docs/data-contract.md"):
        rs.make_training_set(events.drop(columns="date"), cases)
    assert (ROOT / "docs" / "data-contract.md").exists()
