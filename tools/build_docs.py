"""Write the generated parts of docs/ from the library itself.

    python tools/build_docs.py          # rewrite the generated blocks in docs/
    python tools/build_docs.py --check  # exit 1 if any is out of date

The code lists of the data contract (agencies, events, outcomes, bands, columns),
the feature catalogue and the glossary of outputs are written from
``riskscore.vocabulary`` and ``riskscore._names`` (and, for the outputs, from the
columns a small synthetic audit and evaluation actually return), between marker
lines in the Markdown files:

    <!-- generated: NAME (tools/build_docs.py; do not edit by hand) -->
    ...
    <!-- end generated: NAME -->

Everything outside the markers is written by hand. ``tests/test_docs.py`` fails when
a generated block differs from what this script would write, so a new feature,
event code or output column cannot be left out of the docs.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_BEGIN = "<!-- generated: {name} (tools/build_docs.py; do not edit by hand) -->"
_END = "<!-- end generated: {name} -->"
_BLOCK = re.compile(
    r"<!-- generated: (?P<name>[\w-]+) \(tools/build_docs\.py; do not edit by hand\) -->\n"
    r"(?P<body>.*?)"
    r"<!-- end generated: (?P=name) -->",
    re.S,
)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    return f"`{text}`"


# --------------------------------------------------------------------------- data contract


def event_columns() -> str:
    from riskscore.vocabulary import EVENT_COLUMNS

    rows = [
        [_code(c), "yes" if req else "no", meaning] for c, (req, meaning) in EVENT_COLUMNS.items()
    ]
    return _table(["column", "required", "meaning"], rows)


def case_columns() -> str:
    from riskscore.vocabulary import CASE_COLUMNS

    rows = [
        [_code(c), "yes" if req else "no", meaning] for c, (req, meaning) in CASE_COLUMNS.items()
    ]
    return _table(["column", "required", "meaning"], rows)


def agencies() -> str:
    from riskscore._names import agency_name
    from riskscore.vocabulary import AGENCIES, EVENTS

    rows = []
    for a in AGENCIES:
        usual = [e for e, who in EVENTS.items() if a in who]
        rows.append([_code(a), agency_name(a), ", ".join(_code(e) for e in usual)])
    return _table(["code", "in reports", "events it usually records"], rows)


def events() -> str:
    from riskscore._names import event_name
    from riskscore.vocabulary import EVENTS, RESPONSE_EVENTS, VALUED_EVENTS

    rows = []
    for e, who in EVENTS.items():
        kind = "response" if e in RESPONSE_EVENTS else "circumstance"
        value = (
            f"{VALUED_EVENTS[e][0]:g} to {VALUED_EVENTS[e][1]:g}" if e in VALUED_EVENTS else "none"
        )
        usual = ", ".join("any agency" if a == "any" else _code(a) for a in who)
        rows.append([_code(e), event_name(e), usual, kind, value])
    return _table(["code", "in reports", "usually recorded by", "kind", "`value`"], rows)


def responses() -> str:
    from riskscore._audit_core import RESPONSES
    from riskscore._names import event_name
    from riskscore.vocabulary import PLAN_START_END

    rows = [[_code(e), event_name(e)] for e in RESPONSES]
    plans = [
        [_code(start), _code(end), event_name(start).replace(" started", "")]
        for start, end in PLAN_START_END.items()
    ]
    return (
        "Events that count as a response to a crossing:\n\n"
        + _table(["code", "in reports"], rows)
        + "\nPlans (active from the start event until its end event; plan ends are not "
        "responses):\n\n" + _table(["starts with", "ends with", "plan"], plans)
    )


def outcomes() -> str:
    from riskscore._names import outcome_name
    from riskscore.vocabulary import OUTCOMES

    return _table(["code", "in reports"], [[_code(o), outcome_name(o)] for o in OUTCOMES])


def bands() -> str:
    from riskscore._names import band_name
    from riskscore.vocabulary import BANDS

    return _table(["code", "in reports"], [[_code(b), band_name(b)] for b in BANDS])


# --------------------------------------------------------------------------- features


def features() -> str:
    from riskscore._names import agency_name, feature_name
    from riskscore.vocabulary import FEATURES, feature_unit

    rows = []
    for name, spec in FEATURES.items():
        direction = "higher = more concern" if spec.direction > 0 else "lower = more concern"
        rows.append(
            [
                _code(name),
                feature_name(name),
                spec.description,
                ", ".join(agency_name(a) for a in spec.agencies),
                spec.kind,
                direction,
                feature_unit(name),
                ", ".join(_code(e) for e in spec.events),
            ]
        )
    header = ["feature", "in reports", "definition as of T", "held by", "kind", "risk"]
    return _table([*header, "one unit of a coefficient", "from events"], rows)


# --------------------------------------------------------------------------- outputs


def _output_tables() -> dict[str, dict[str, list[str]]]:
    """Every table a user meets, with its columns, from a small synthetic run."""
    import riskscore as rs
    from riskscore.evaluation import example_result

    card = rs.default_scorecard()
    events, cases = rs.vignette()
    cov = [(a, "2095-01-01", "2110-12-31") for a in rs.AGENCIES if a != "school"]
    cov += [("school", "2095-01-01", "2101-06-30")]
    case = rs.audit_case(events, cases, card, "CHILD-A", coverage=cov)
    events, cases = rs.make_cohort(600, random_state=1)
    cohort = rs.audit_cohort(events, cases, card, progress=False)
    ts = rs.make_training_set(events, cases, grid="180D")
    result = rs.evaluate(card, ts, cv=2, n_boot=2, cases=cases, progress=False)
    plain = example_result()
    out: dict[str, dict[str, list[str]]] = {"case": {}, "cohort": {}, "evaluation": {}}
    for name in (
        "trajectory",
        "crossings",
        "dips",
        "contributions",
        "missed_opportunities",
        "lead_times",
        "coverage_gaps",
    ):
        out["case"][name] = [str(c) for c in getattr(case, name).columns]
    for name, table in cohort.tables.items():
        out["cohort"][name] = [str(c) for c in table.columns]
    for name in ("metrics", "alerts", "calibration", "decision_curve", "roc", "predictions"):
        cols = list(getattr(result, name).columns)
        cols += [c for c in getattr(plain, name).columns if c not in cols]
        out["evaluation"][name] = [str(c) for c in cols]
    out["evaluation"]["subgroups"] = [str(c) for c in result.subgroups.columns]
    return out


_TABLE_TITLES = {
    "case": "Case audit (`rs.audit_case`): attributes of `CaseAudit`",
    "cohort": "Cohort audit (`rs.audit_cohort`): `CohortAudit.tables[...]`, also written as CSV",
    "evaluation": "Evaluation (`rs.evaluate`): attributes of `EvaluationResult`",
}


def output_columns() -> str:
    from riskscore._names import column_meaning, column_name
    from riskscore.vocabulary import AGENCIES

    parts = []
    for kind, tables in _output_tables().items():
        parts.append(f"### {_TABLE_TITLES[kind]}\n")
        for name, cols in tables.items():
            parts.append(f"#### `{name}`\n")
            seen, rows = set(), []
            for c in cols:
                # the eight score_<agency> / band_<agency> columns are one entry each
                prefix = next((p for p in ("score_", "band_") if c[len(p) :] in AGENCIES), None)
                key = f"{prefix}<agency>" if prefix else c
                if key in seen:
                    continue
                seen.add(key)
                if prefix:
                    what = prefix.rstrip("_")
                    meaning = f"the {what} from that agency's own records only (one column each)"
                    rows.append([_code(key), f"{what}, *agency* alone", meaning])
                else:
                    rows.append([_code(c), column_name(c), column_meaning(c)])
            parts.append(_table(["column", "in reports", "meaning"], rows))
    return "\n".join(parts)


GENERATORS: dict[str, dict[str, Callable[[], str]]] = {
    "data-contract.md": {
        "event-columns": event_columns,
        "case-columns": case_columns,
        "agencies": agencies,
        "events": events,
        "responses": responses,
        "outcomes": outcomes,
        "bands": bands,
    },
    "features.md": {"features": features},
    "outputs.md": {"output-columns": output_columns},
}


def render(text: str, blocks: dict[str, Callable[[], str]]) -> str:
    """``text`` with every generated block rewritten; a missing block is an error."""
    found = {m["name"] for m in _BLOCK.finditer(text)}
    missing = set(blocks) - found
    if missing:
        raise ValueError(f"markers missing for: {sorted(missing)}")

    def replace(m: re.Match) -> str:
        name = m["name"]
        if name not in blocks:
            raise ValueError(f"no generator for block {name!r}")
        return f"{_BEGIN.format(name=name)}\n{blocks[name]()}{_END.format(name=name)}"

    return _BLOCK.sub(replace, text)


def stale(docs: Path = DOCS) -> list[str]:
    """Docs files whose generated blocks are out of date."""
    out = []
    for name, blocks in GENERATORS.items():
        path = docs / name
        text = path.read_text(encoding="utf-8")
        if render(text, blocks) != text:
            out.append(name)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for name in bad:
            print(f"docs/{name} is out of date: run python tools/build_docs.py")
        return 1 if bad else 0
    for name, blocks in GENERATORS.items():
        path = DOCS / name
        text = path.read_text(encoding="utf-8")
        new = render(text, blocks)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
