"""The ``riskscore`` command line, run in-process through ``riskscore.cli.main``.

Synthetic cohorts only (``riskscore.make_cohort``), written as CSV in temporary
folders. One test runs the installed console script in a subprocess.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskscore as rs
from riskscore.cli import build_parser, main


def _subcommands() -> list[str]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(sub.choices)


def cohort_csvs(tmp_path_factory, name, n_cases, random_state):
    """A synthetic cohort written as ISO-dated events.csv and cases.csv in a new folder."""
    d = tmp_path_factory.mktemp(name)
    events, cases = rs.make_cohort(n_cases, random_state=random_state)
    # index_date is a full date outside the contract: read from a file the guard refuses
    # it unless allowed (tests/test_contract.py), and no command needs it
    cases = cases.drop(columns="index_date")
    events.to_csv(d / "events.csv", index=False)
    cases.to_csv(d / "cases.csv", index=False)
    return d, events, cases


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A 300-case synthetic cohort as ISO-dated CSV files."""
    return cohort_csvs(tmp_path_factory, "cli-data", 300, 5)


@pytest.fixture(scope="module")
def features_csv(data, tmp_path_factory):
    d, _, _ = data
    out = tmp_path_factory.mktemp("cli-encode") / "features.csv"
    args = ["encode", str(d / "events.csv"), "--cases", str(d / "cases.csv"), "--out", str(out)]
    assert main(args) == 0
    return out


def _csv_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _read_written(path: Path) -> pd.DataFrame:
    """A CSV from write_table: skip the warning line, keep suppressed marks as text."""
    return pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)


def _sidecar(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".provenance.json").read_text())


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", _subcommands())
def test_help_works_for_every_subcommand(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: riskscore {command}")


def test_every_documented_command_is_a_subcommand():
    # the commands the design and the brief promise; a rename must update the docs too
    promised = {"demo", "validate", "encode", "score", "audit", "train", "evaluate", "model"}
    assert promised <= set(_subcommands())


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: riskscore" in capsys.readouterr().out


def test_installed_console_script_help():
    exe = shutil.which("riskscore")
    assert exe is not None, "the riskscore console script is not installed (pip install -e .)"
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: riskscore")
    for command in _subcommands():
        assert command in proc.stdout
    assert "decisions about any child or family" in " ".join(proc.stdout.split())


# --------------------------------------------------------------------------- demo


def test_demo_writes_reports_tables_and_says_what_it_is(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--n-cases", "300"]) == 0
    text = capsys.readouterr().out
    flat = " ".join(text.split())
    assert '"Child A"' in text and "FICTIONAL" in text
    assert "Synthetic data" in flat and "flatter" in flat
    assert "must not be used to make, decisions about any child or family" in flat
    htmls = sorted(p.name for p in out.glob("*.html"))
    assert len(htmls) == 2 and "cohort-report.html" in htmls
    case_html = next(p for p in out.glob("*.html") if p.name != "cohort-report.html")
    assert "fictional" in case_html.read_text(encoding="utf-8").lower()
    tables = sorted(out.glob("cohort-*.csv"))
    assert len(tables) >= 5
    for t in tables:
        side = _sidecar(t)
        assert side["disclosure"]["applied"] is True
        assert not _csv_lines(t)[0].startswith("#")


# --------------------------------------------------------------------------- validate


def test_validate_good_files_exits_0(data, capsys):
    d, _, _ = data
    assert main(["validate", str(d / "events.csv"), "--cases", str(d / "cases.csv")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "valid"


def test_validate_unknown_event_code_exits_1_naming_column_and_rows(data, tmp_path, capsys):
    d, events, _ = data
    bad = events.copy()
    bad["event"] = bad["event"].astype(str)
    bad.loc[[4, 11], "event"] = "invented_code"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    # the value is shown masked; rows 4 and 11 are lines 6 and 13 of the file
    assert "invented_code" not in out
    line = next(x for x in out.splitlines() if "unknown event codes" in x)
    assert "'in******_****'" in line and "lines 6, 13" in line


@pytest.fixture(scope="module")
def dayfirst_csv(data, tmp_path_factory):
    _, events, _ = data
    ev = events.copy()
    ev["date"] = pd.to_datetime(ev["date"]).dt.strftime("%d/%m/%Y")
    path = tmp_path_factory.mktemp("cli-dayfirst") / "dayfirst.csv"
    ev.to_csv(path, index=False)
    return path


def test_validate_non_iso_dates_without_dayfirst_exits_1(dayfirst_csv, capsys):
    assert main(["validate", str(dayfirst_csv)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "date" in x and "lines" in x)
    assert "date" in line and "lines 2, 3, 4" in line
    assert "dayfirst" in out


def test_dayfirst_validates_and_reads_the_same_dates(data, dayfirst_csv, tmp_path, capsys):
    d, _, _ = data
    assert main(["validate", str(dayfirst_csv), "--dayfirst"]) == 0
    a, b = tmp_path / "iso.csv", tmp_path / "dayfirst-features.csv"
    assert main(["encode", str(d / "events.csv"), "--out", str(a)]) == 0
    assert main(["encode", str(dayfirst_csv), "--dayfirst", "--out", str(b)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(a), pd.read_csv(b))


def test_missing_file_exits_2_with_one_line_error(tmp_path, capsys):
    missing = tmp_path / "no-such-events.csv"
    assert main(["validate", str(missing)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1
    assert "no-such-events.csv" in err[0] and err[0].startswith("riskscore validate: error:")
    assert "Traceback" not in captured.err + captured.out


# --------------------------------------------------------------------------- encode, score


def test_encode_writes_a_feature_table(data, features_csv, capsys):
    d, _, _ = data
    feats = pd.read_csv(features_csv)
    assert list(feats.columns) == ["case_id", "as_of", *rs.FEATURES]
    events = rs.read_events(d / "events.csv")
    cases = rs.read_cases(d / "cases.csv")
    assert len(feats) == len(rs.as_of_grid(events, rs.DEFAULT_GRID, cases=cases))
    assert set(feats["case_id"]) <= set(cases["case_id"].astype(str))
    assert (feats["asthma_admissions_12m"] >= 0).all()


def test_score_writes_scores_with_contributions_that_add_up(features_csv, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert main(["score", str(features_csv), "--out", str(out)]) == 0
    scores = pd.read_csv(out)
    contrib = [c for c in scores.columns if c.startswith("contribution: ")]
    card = rs.load_model("review-rules-v1")
    assert len(contrib) == len(card.rules) + 1  # one per rule, plus the baseline
    np.testing.assert_allclose(scores[contrib].sum(axis=1), scores["score"])
    assert set(scores["band"]) <= set(rs.BANDS)
    assert len(scores) == len(pd.read_csv(features_csv))


def test_score_refuses_a_table_without_features(tmp_path, capsys):
    path = tmp_path / "thin.csv"
    pd.DataFrame({"case_id": ["c1"], "as_of": ["2101-01-01"]}).to_csv(path, index=False)
    assert main(["score", str(path), "--out", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert "missing feature column" in err and "riskscore encode" in err


# --------------------------------------------------------------------------- audit


def test_audit_case_writes_html_and_marked_case_tables(data, tmp_path, capsys):
    d, events, _ = data
    case = str(events["case_id"].iloc[0])
    out = tmp_path / "case"
    args = ["audit", str(d / "events.csv"), "--cases", str(d / "cases.csv"), "--case", case]
    assert main([*args, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "secure environment" in text
    assert (out / f"case-{case}.html").exists()
    tables = sorted(out.glob(f"case-{case}-*.csv"))
    assert len(tables) == 4
    for t in tables:
        # individual-level: the file says so on its first line, and in its sidecar
        assert _csv_lines(t)[0].startswith("# DISCLOSURE CONTROL OFF")
        assert _sidecar(t)["disclosure"]["applied"] is False
    traj = _read_written(out / f"case-{case}-trajectory.csv")
    assert len(traj) > 0 and "score" in traj.columns


def test_audit_cohort_tables_publish_no_small_counts(data, tmp_path, capsys):
    d, _, _ = data
    out = tmp_path / "cohort"
    assert (
        main(["audit", str(d / "events.csv"), "--cases", str(d / "cases.csv"), "--out", str(out)])
        == 0
    )
    tables = sorted(out.glob("cohort-*.csv"))
    assert len(tables) >= 5 and (out / "cohort-report.html").exists()
    n_checked = 0
    for t in tables:
        side = _sidecar(t)
        assert side["disclosure"]["applied"] is True
        assert not _csv_lines(t)[0].startswith("#")
        frame = _read_written(t)
        for col in side["disclosure"]["count_columns"]:
            values = pd.to_numeric(frame[col].replace({"[c]": None, "": None}), errors="coerce")
            values = values.dropna()
            assert not values.between(1, 9).any(), (t.name, col)
            assert (values % 5 == 0).all(), (t.name, col)
            n_checked += len(values)
    assert n_checked > 0


def test_audit_without_disclosure_says_so_on_its_face(data, tmp_path, capsys):
    d, _, _ = data
    out = tmp_path / "off"
    args = ["audit", str(d / "events.csv"), "--cases", str(d / "cases.csv"), "--no-disclosure"]
    assert main([*args, "--out", str(out)]) == 0
    assert "DISCLOSURE CONTROL OFF" in capsys.readouterr().out
    tables = sorted(out.glob("cohort-*.csv"))
    assert tables
    for t in tables:
        assert _csv_lines(t)[0].startswith("# DISCLOSURE CONTROL OFF")
    assert "DISCLOSURE CONTROL OFF" in (out / "cohort-report.html").read_text(encoding="utf-8")


def test_cohort_audit_without_cases_is_a_clear_error(data, tmp_path, capsys):
    d, _, _ = data
    assert main(["audit", str(d / "events.csv"), "--out", str(tmp_path / "x")]) == 2
    assert "--cases" in capsys.readouterr().err


# --------------------------------------------------------------------------- train, evaluate


@pytest.fixture(scope="module")
def train_data(tmp_path_factory):
    return cohort_csvs(tmp_path_factory, "cli-train", 1500, 3)[0]


def test_train_writes_a_readable_model_with_a_card(train_data, tmp_path, capsys):
    d = train_data
    model_path = tmp_path / "model.json"
    args = ["train", str(d / "events.csv"), "--cases", str(d / "cases.csv")]
    opts = ["--cv", "3", "--n-boot", "20", "--grid", "90D"]
    assert main([*args, "--out", str(model_path), *opts]) == 0
    assert "auroc" in capsys.readouterr().out
    model = rs.load_model(model_path)
    assert list(model.feature_names_in_) == list(rs.FEATURES)
    card = json.loads(model_path.read_text())["model_card"]
    assert card["outcome"]["horizon_days"] == 365
    assert "3-fold" in json.dumps(card["validation"])
    assert {"intended_use", "limitations", "metrics"} <= set(card)


def test_evaluate_writes_an_html_report(data, tmp_path, capsys):
    d, _, _ = data
    base = ["evaluate", str(d / "events.csv"), "--cases", str(d / "cases.csv"), "--n-boot", "20"]
    html = tmp_path / "logistic.html"
    assert (
        main([*base, "--model", "synthetic-logistic-v1", "--cv", "none", "--out", str(html)]) == 0
    )
    assert "auroc" in capsys.readouterr().out
    assert html.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    html = tmp_path / "rules.html"
    assert main([*base, "--model", "review-rules-v1", "--cv", "3", "--out", str(html)]) == 0
    assert html.exists()


def test_evaluate_scorecard_as_it_is_needs_folds(data, tmp_path, capsys):
    # the shipped scorecard has points but no points-to-risk mapping: --cv none cannot
    # give probabilities, and the error says which option to use instead
    d, _, _ = data
    args = ["evaluate", str(d / "events.csv"), "--cases", str(d / "cases.csv")]
    html = tmp_path / "none.html"
    rc = main([*args, "--model", "review-rules-v1", "--cv", "none", "--out", str(html)])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--cv" in err[0]
    assert not html.exists()


# --------------------------------------------------------------------------- model


def test_model_lists_shipped_models(capsys):
    assert main(["model"]) == 0
    listed = capsys.readouterr().out.split()
    assert "review-rules-v1" in listed and "synthetic-logistic-v1" in listed


def test_model_prints_the_score_sheet(capsys):
    assert main(["model", "review-rules-v1"]) == 0
    out = capsys.readouterr().out
    card = rs.load_model("review-rules-v1")
    for rule in card.rules:
        assert rule.feature in out
    assert "not a decision" in out


def test_model_unknown_name_is_a_one_line_error(capsys):
    assert main(["model", "no-such-model"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-model" in err[0]
