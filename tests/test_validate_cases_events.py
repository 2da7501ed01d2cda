"""validate_cases(cases, events=...): problems found in events are shown under events.

The check that every events ``case_id`` is in cases reports its problem with
``table="events"`` and the events' row positions. The printed report (``str``, the
``SchemaError`` of ``strict=True`` and of ``read_cases``, ``riskscore validate``)
listed it under the cases heading ("cases: 2 problem(s) in 3 rows ... row numbers
are 0-based" or "lines are the file's line numbers"), so a user looked for those rows
in the cases file.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

import riskscore
from riskscore.cli import main
from riskscore.errors import SchemaError


def events_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": ["c1", "c9", "c9", "c2"],
            "date": ["2101-01-05", "2101-02-10", "2101-03-15", "2102-06-01"],
            "agency": ["gp", "gp", "gp", "gp"],
            "event": ["reliever_prescription"] * 4,
        },
        dtype="str",
    )


def cases_frame(birth_year=("2095", "2097", "2099")) -> pd.DataFrame:
    return pd.DataFrame(
        {"case_id": ["c1", "c2", "c3"], "birth_year": list(birth_year)}, dtype="str"
    )


_HEAD = re.compile(r"^(?:\S+: )?(events|cases)\b")


def sections(text: str) -> dict[str, list[str]]:
    """``{table of the heading: [problem lines under it]}`` of a printed report."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("- "):
            assert current is not None, text
            out[current].append(line)
        elif not line.startswith(" ") and (m := _HEAD.match(line)):
            current = m.group(1)
            out.setdefault(current, [])
    return out


def assert_each_under_its_table(text: str) -> dict[str, list[str]]:
    found = sections(text)
    for table, lines in found.items():
        for line in lines:
            assert line.startswith(f"- {table}."), f"{line!r} under {table!r}:\n{text}"
    return found


def test_orphan_events_are_printed_under_an_events_heading():
    report = riskscore.validate_cases(cases_frame(("2095", "x", "2099")), events=events_frame())
    text = str(report)
    found = assert_each_under_its_table(text)
    assert len(found["events"]) == 1 and len(found["cases"]) == 1, text
    # the cases heading counts the cases' own problem, not the events'
    assert text.splitlines()[0].startswith("cases: 1 problem(s) in 3 rows"), text
    # the events heading says whose rows these are (the events given, from 0)
    (events_head,) = [t for t in text.splitlines() if t.startswith("events")]
    assert "0-based" in events_head and "events" in events_head, text
    assert "rows 1, 2" in found["events"][0]


def test_only_orphan_events_do_not_put_a_problem_count_on_cases():
    report = riskscore.validate_cases(cases_frame(), events=events_frame())
    assert not report.ok
    text = str(report)
    found = assert_each_under_its_table(text)
    assert found == {"cases": [], "events": found["events"]} and len(found["events"]) == 1
    assert text.splitlines()[0].startswith("cases: no problems in 3 rows"), text
    with pytest.raises(SchemaError) as info:
        riskscore.validate_cases(cases_frame(), events=events_frame(), strict=True)
    assert_each_under_its_table(str(info.value))


def test_read_cases_from_csv_shows_events_rows_under_events_not_file_lines(tmp_path):
    # the cases heading says "lines are the file's line numbers": the events rows are
    # not lines of the cases file, and must not sit under that heading
    path = tmp_path / "cases.csv"
    cases_frame(("2095", "x", "2099")).to_csv(path, index=False)
    with pytest.raises(SchemaError) as info:
        riskscore.read_cases(path, events=events_frame())
    text = str(info.value)
    found = assert_each_under_its_table(text)
    assert len(found["events"]) == 1 and len(found["cases"]) == 1, text
    (events_head,) = [t for t in text.splitlines() if t.startswith("events")]
    assert "0-based" in events_head and "line" not in events_head, text


def test_cli_validate_prints_orphan_events_under_events(tmp_path, capsys):
    events_path, cases_path = tmp_path / "events.csv", tmp_path / "cases.csv"
    events_frame().to_csv(events_path, index=False)
    cases_frame().to_csv(cases_path, index=False)
    assert main(["validate", str(events_path), "--cases", str(cases_path)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    (at,) = [i for i, t in enumerate(lines) if "not in cases" in t]
    assert "EVENTS lines 3, 4" in lines[at], out
    heads = [t for t in lines[:at] if _HEAD.match(t) and not t.startswith((" ", "-"))]
    assert heads[-1].startswith("events"), out
