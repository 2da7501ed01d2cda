"""The README's Python examples run as written (on synthetic data)."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks():
    text = README.read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_has_the_two_command_quick_start():
    text = README.read_text(encoding="utf-8")
    assert "pip install . && riskscore demo" in text
    assert 'pip install ".[test]" && pytest' in text
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert 'pip install ".[test]" && pytest' in ci


def test_quick_start_is_exactly_two_commands_and_ci_runs_the_second():
    """Two one-line shell blocks (install and demo; test dependencies and the suite)."""
    section = README.read_text(encoding="utf-8").split("\n## Quick start\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    blocks = [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, re.S)]
    assert blocks == ["pip install . && riskscore demo", 'pip install ".[test]" && pytest']
    assert "```" not in re.sub(r"```bash\n.*?```", "", section, flags=re.S)
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in ci if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert commands == [blocks[1]]


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    ran = 0
    for i, block in enumerate(_blocks()):
        if 'read_events("events.csv")' in block:
            continue  # needs the reader's own extract; the same calls are tested elsewhere
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(block, f"README block {i}", "exec"), namespace)  # noqa: S102
        ran += 1
    assert ran >= 3
    assert (tmp_path / "my-model.json").exists()
    assert namespace["audit"].join_up_gap_days > 0


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])


def test_readme_feature_table_lists_the_whole_catalogue_in_order():
    import riskscore as rs

    text = README.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \| (\w+) \|", text, re.M)
    table = [(name, kind) for name, _, kind in rows if name in rs.FEATURES]
    assert [name for name, _ in table] == list(rs.FEATURES)
    assert all(kind == rs.FEATURES[name].kind for name, kind in table)


def test_readme_states_the_default_cards_computed_reach():
    """The README's figures for review-rules-v2 are what agency_reach computes."""
    import riskscore as rs

    text = " ".join(README.read_text(encoding="utf-8").split())
    reach = rs.agency_reach(rs.default_scorecard()).set_index("view")["max_points"]
    stated = (
        f"{reach['hospital']:.0f} (hospital), {reach['social_care']:.0f} (social care), "
        f"{reach['school']:.0f} (school), {reach['gp']:.0f} (GP), {reach['police']:.0f} "
        f"(police) and {reach['drug_service']:.0f} (drug service, probation, housing)"
    )
    assert stated in text
    assert reach["drug_service"] == reach["probation"] == reach["housing"]
    assert f"The joined maximum is {reach['joined']:.0f}." in text
