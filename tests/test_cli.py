"""The ``riskscore`` command line, run in-process through ``riskscore.cli.main``.

Synthetic cohorts only (``riskscore.make_cohort``), written as CSV in temporary
folders. One test runs the installed console script in a subprocess.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore import cli
from riskscore.cli import build_parser, cli_terms, main, safe_filename


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
    """A CSV from write_table, read plainly, keeping suppressed marks as text."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


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
    proc = _run_installed("--help")
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
        # each table has its data dictionary beside it (codes in plain words)
        assert t.with_name(t.name + ".dictionary.tsv").exists()
        side = _sidecar(t)
        assert side["disclosure"]["applied"] is True
        assert not _csv_lines(t)[0].startswith("#")
    # the synthetic cohort as files every other command takes, and the demo says so
    ev, cs = out / "events.csv", out / "cases.csv"
    assert str(ev) in text and str(cs) in text and "try every command" in flat
    assert main(["validate", str(ev), "--cases", str(cs)]) == 0
    assert pd.read_csv(cs)["case_id"].nunique() == 300
    # every CSV the demo writes goes through write_table: formula-safe, with a sidecar
    # that says the data are synthetic (and, for case-level records, not for release)
    for written in out.glob("*.csv"):
        side = _sidecar(written)
        assert side["synthetic"]["line"].startswith("SYNTHETIC DATA"), written.name
    for records in (ev, cs):
        assert "NOT FOR RELEASE" in _sidecar(records)["warning"]


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
    # the command line's options, not the library's parameters
    assert "--dayfirst" in out and "dayfirst=" not in out
    assert "--quarantine" in out and "strict=" not in out


def test_dayfirst_validates_and_reads_the_same_dates(data, dayfirst_csv, tmp_path, capsys):
    d, _, _ = data
    assert main(["validate", str(dayfirst_csv), "--dayfirst"]) == 0
    a, b = tmp_path / "iso.csv", tmp_path / "dayfirst-features.csv"
    assert main(["encode", str(d / "events.csv"), "--out", str(a)]) == 0
    assert main(["encode", str(dayfirst_csv), "--dayfirst", "--out", str(b)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(a), pd.read_csv(b))


def _one_error(capsys, command: str, *words: str) -> str:
    """Exactly one line on stderr, for ``command``, naming ``words``; no traceback."""
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, captured.err
    assert err[0].startswith(f"riskscore {command}: error:"), err[0]
    for w in words:
        assert w in err[0], (w, err[0])
    assert "Traceback" not in captured.err + captured.out
    return err[0]


def test_missing_file_exits_2_with_one_line_error(tmp_path, capsys):
    missing = tmp_path / "no-such-events.csv"
    assert main(["validate", str(missing)]) == 2
    _one_error(capsys, "validate", "EVENTS", "no-such-events.csv")


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
    card = rs.default_scorecard()  # the default --model
    assert card.name == "review-rules-v2"
    assert len(contrib) == len(card.rules) + 1  # one per rule, plus the baseline
    np.testing.assert_allclose(scores[contrib].sum(axis=1), scores["score"])
    assert set(scores["band"]) <= set(rs.BANDS)
    assert len(scores) == len(pd.read_csv(features_csv))


def test_score_refuses_a_table_without_features(tmp_path, capsys):
    path = tmp_path / "thin.csv"
    pd.DataFrame({"case_id": ["c1"], "as_of": ["2101-01-01"]}).to_csv(path, index=False)
    assert main(["score", str(path), "--out", str(tmp_path / "s.csv")]) == 1  # data problem
    _one_error(capsys, "score", "FEATURES", "missing feature column", "riskscore encode")


def test_score_writes_probability_and_band_for_a_logistic_model(features_csv, tmp_path):
    out = tmp_path / "scores.csv"
    assert (
        main(["score", str(features_csv), "--model", "synthetic-logistic-v1", "--out", str(out)])
        == 0
    )
    scores = pd.read_csv(out)
    assert list(scores.columns[:5]) == ["case_id", "as_of", "score", "probability", "band"]
    # the probability is the logistic of the log-odds score
    np.testing.assert_allclose(scores["probability"], 1 / (1 + np.exp(-scores["score"])))
    model = rs.load_model("synthetic-logistic-v1")
    p = model.band_probabilities_
    expected = np.where(
        scores["probability"] >= p["multi_agency_discussion"],
        "multi_agency_discussion",
        np.where(scores["probability"] >= p["review"], "review", "none"),
    )
    assert (scores["band"] == expected).all()
    # case-level: plain CSV for pandas, the warning in the sidecar
    side = _sidecar(out)
    assert side["warning"].startswith("DISCLOSURE CONTROL OFF")
    assert side["disclosure"]["applied"] is False
    # scorecards: points and band, no probability without a points-to-risk mapping
    out2 = tmp_path / "points.parquet"
    assert main(["score", str(features_csv), "--out", str(out2)]) == 0
    points = pd.read_parquet(out2)
    assert "probability" not in points and set(points["band"]) <= set(rs.BANDS)
    assert _sidecar(out2)["warning"].startswith("DISCLOSURE CONTROL OFF")


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
        # individual-level: its sidecar says so first; the CSV reads plainly in pandas
        side = _sidecar(t)
        assert side["warning"].startswith("DISCLOSURE CONTROL OFF")
        assert "secure environment" in side["warning"]
        assert side["disclosure"]["applied"] is False
        assert not _csv_lines(t)[0].startswith("#")
    traj = pd.read_csv(out / f"case-{case}-trajectory.csv")
    assert len(traj) > 0 and traj.columns[0] == "as_of" and "score" in traj.columns


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
        assert _sidecar(t)["warning"].startswith("DISCLOSURE CONTROL OFF")
        assert _sidecar(t)["disclosure"]["applied"] is False
    assert "DISCLOSURE CONTROL OFF" in (out / "cohort-report.html").read_text(encoding="utf-8")


def test_cohort_audit_without_cases_is_a_clear_error(data, tmp_path, capsys):
    d, _, _ = data
    assert main(["audit", str(d / "events.csv"), "--out", str(tmp_path / "x")]) == 2
    assert "--cases" in capsys.readouterr().err


# --------------------------------------------------------------------------- train, evaluate


@pytest.fixture(scope="module")
def train_data(tmp_path_factory):
    return cohort_csvs(tmp_path_factory, "cli-train", 1500, 3)[0]


@pytest.fixture(scope="module")
def trained(train_data, tmp_path_factory):
    """A model trained by the command on ``train_data``, and what the command printed."""
    d = train_data
    model_path = tmp_path_factory.mktemp("cli-model") / "model.json"
    args = ["train", str(d / "events.csv"), "--cases", str(d / "cases.csv")]
    opts = ["--cv", "3", "--n-boot", "20", "--grid", "90D"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main([*args, "--out", str(model_path), *opts]) == 0
    return model_path, printed.getvalue()


def test_train_writes_a_readable_model_with_a_card(trained):
    model_path, printed = trained
    model = rs.load_model(model_path)
    assert list(model.feature_names_in_) == list(rs.FEATURES)
    # the digest a user can pin, printed and beside the file
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
    assert digest in printed and "--model-sha256" in printed
    assert (model_path.parent / "model.json.sha256").read_text().split()[0] == digest
    assert "AUROC" in printed
    assert not re.search(r"\b\d+(\.\d+)?e[-+]?\d+\b", printed)  # no scientific notation
    card = json.loads(model_path.read_text())["model_card"]
    assert card["outcome"]["horizon_days"] == 365
    assert "3-fold" in json.dumps(card["validation"])
    assert {"intended_use", "limitations", "metrics"} <= set(card)
    # a pinned digest is checked; a wrong one stops the command (data problem)
    assert main(["model", str(model_path), "--model-sha256", digest.upper()]) == 0
    assert main(["model", str(model_path), "--model-sha256", "0" * 64]) == 1


def test_evaluate_as_it_is_on_its_own_training_data_warns_in_sample(
    trained, train_data, data, tmp_path, capsys
):
    model_path, _ = trained
    d = train_data
    html = tmp_path / "in-sample.html"
    args = ["evaluate", str(d / "events.csv"), "--cases", str(d / "cases.csv")]
    opts = ["--model", str(model_path), "--cv", "none", "--n-boot", "20", "--out", str(html)]
    assert main([*args, *opts]) == 0
    captured = capsys.readouterr()
    assert "IN-SAMPLE" in captured.err and "--cv 5" in captured.err
    assert "grid 90D" in captured.out  # the model card's grid, not the default
    assert "AUROC" in captured.out and not re.search(r"\b\d+(\.\d+)?e[-+]?\d+\b", captured.out)
    assert "IN-SAMPLE" in html.read_text(encoding="utf-8")
    # other data: no in-sample warning, but a reminder of what --cv none means
    other, _, _ = data
    args = ["evaluate", str(other / "events.csv"), "--cases", str(other / "cases.csv")]
    assert main([*args, *opts]) == 0
    err = capsys.readouterr().err
    assert "IN-SAMPLE" not in err and "--cv none applies the model as it is" in err


def test_evaluate_writes_an_html_report(data, tmp_path, capsys):
    d, _, _ = data
    base = ["evaluate", str(d / "events.csv"), "--cases", str(d / "cases.csv"), "--n-boot", "20"]
    html = tmp_path / "logistic.html"
    assert (
        main([*base, "--model", "synthetic-logistic-v1", "--cv", "none", "--out", str(html)]) == 0
    )
    assert "AUROC" in capsys.readouterr().out
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
    assert {"review-rules-v1", "review-rules-v2", "synthetic-logistic-v1"} <= set(listed)
    assert "synthetic-logistic-v2" in listed


@pytest.mark.parametrize("name", ["review-rules-v1", "review-rules-v2"])
def test_model_prints_the_score_sheet(capsys, name):
    assert main(["model", name]) == 0
    out = capsys.readouterr().out
    card = rs.load_model(name)
    for rule in card.rules:
        assert rule.feature in out
    assert "not a decision" in out


def test_model_unknown_name_is_a_one_line_error(capsys):
    assert main(["model", "no-such-model"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-model" in err[0]


def test_model_prints_any_model_as_a_score_sheet(capsys):
    assert main(["model", "synthetic-logistic-v1"]) == 0
    out = capsys.readouterr().out
    assert "LogisticRiskModel(" not in out
    assert "Odds ratio" in out and "not a decision" in out
    for feature in rs.load_model("synthetic-logistic-v1").feature_names_in_:
        assert feature in out


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", _subcommands())
def test_every_command_explains_itself(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    usage, _, rest = text.partition("\n\n")
    description = rest.split("\n\n")[0]
    assert len(description.split()) >= 10, f"{command} needs a description"
    examples = text.split("examples:\n", 1)[1]
    assert f"riskscore {command}" in examples
    assert "(default: None)" not in text and "(default: False)" not in text


# --------------------------------------------------------------------------- attacks
# One test per attack on the command line (issue "safe under attack").


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def traversal(tmp_path_factory):
    """A cohort whose case ids try to climb out of the output folder."""
    d = tmp_path_factory.mktemp("cli-traversal")
    events, cases = rs.make_cohort(40, random_state=8)
    ids = sorted(events["case_id"].astype(str).unique())[:3]
    rename = {
        ids[0]: "x/../../../../escaped/anything",
        ids[1]: "/tmp/absolute",
        ids[2]: "..",
    }
    for df in (events, cases):
        df["case_id"] = df["case_id"].astype(str).replace(rename)
    events.to_csv(d / "events.csv", index=False)
    cases.drop(columns="index_date").to_csv(d / "cases.csv", index=False)  # a full date
    return d, list(rename.values())


def test_path_traversal_through_case_ids_stays_inside_out(traversal, tmp_path, capsys):
    d, bad_ids = traversal
    root = tmp_path / "root"
    out = root / "a" / "b" / "out"
    before = _files_under(tmp_path) | _files_under(d)
    for case in bad_ids:
        args = ["audit", str(d / "events.csv"), "--cases", str(d / "cases.csv"), "--case", case]
        assert main([*args, "--out", str(out)]) == 0, capsys.readouterr().err
    written = (_files_under(tmp_path) | _files_under(d)) - before
    assert written and all(out.resolve() in p.resolve().parents for p in written)
    assert not Path("/tmp/absolute.html").exists()
    # one report per case: the safe names of different ids never collide
    assert len([p for p in written if p.suffix == ".html"]) == len(bad_ids)


@settings(max_examples=200, deadline=None)
@given(text=st.text(min_size=1, max_size=120))
def test_safe_filename_never_leaves_its_folder(text):
    name = safe_filename(text)
    assert "/" not in name and "\\" not in name and "\0" not in name
    assert name not in (".", "..") and not name.startswith(".") and len(name) <= 100
    folder = Path("/srv/out")
    assert Path(os.path.normpath(folder / name)).parent == folder
    if name == text:
        return
    assert name != safe_filename(text + "x")  # a changed id carries its own hash


def test_out_equal_to_an_input_is_refused_before_anything_is_written(
    data, features_csv, tmp_path, capsys
):
    d, _, _ = data
    events = d / "events.csv"
    original = events.read_bytes()
    # the same file under another spelling, and through a link
    other_spelling = d / ".." / d.name / "events.csv"
    link = tmp_path / "link.csv"
    link.symlink_to(events)
    for out in (events, other_spelling, link):
        assert main(["encode", str(events), "--out", str(out)]) == 2
        _one_error(capsys, "encode", "--out", "input")
    assert events.read_bytes() == original
    feats = features_csv.read_bytes()
    assert main(["score", str(features_csv), "--out", str(features_csv)]) == 2
    _one_error(capsys, "score", "--out", "input")
    assert features_csv.read_bytes() == feats
    # a model file is an input too
    model = tmp_path / "m.json"
    rs.save_model(rs.default_scorecard(), model)
    text = model.read_bytes()
    args = ["evaluate", str(events), "--cases", str(d / "cases.csv"), "--model", str(model)]
    assert main([*args, "--out", str(model)]) == 2
    _one_error(capsys, "evaluate", "--out", "input")
    assert model.read_bytes() == text
    # train never writes its model or report over an input
    args = ["train", str(events), "--cases", str(d / "cases.csv")]
    assert main([*args, "--out", str(tmp_path / "x.json"), "--report", str(events)]) == 2
    _one_error(capsys, "train", "--report", "input")
    assert events.read_bytes() == original


@pytest.mark.parametrize(
    "option, value",
    [
        ("--grid", "banana"),
        ("--grid", "monthly"),
        ("--grid", "1M"),
        ("--grid", "12h"),
        ("--recent-window", "0"),
        ("--recent-window", "365"),
        ("--recent-window", "ten"),
    ],
)
def test_bad_option_values_are_one_line_usage_errors(data, tmp_path, capsys, option, value):
    d, _, _ = data
    out = tmp_path / "x.csv"
    with pytest.raises(SystemExit) as exc:
        main(["encode", str(d / "events.csv"), option, value, "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0] and "Traceback" not in err[0]
    assert not out.exists()


def test_a_folder_given_as_a_file_is_a_one_line_error(data, tmp_path, capsys):
    d, _, _ = data
    events = str(d / "events.csv")
    cases = [events, "--cases", str(d / "cases.csv")]
    attempts = [
        ("score", [str(tmp_path), "--out", str(tmp_path / "s.csv")], "FEATURES"),
        ("encode", [str(tmp_path), "--out", str(tmp_path / "s.csv")], "EVENTS"),
        ("encode", [events, "--cases", str(tmp_path), "--out", str(tmp_path / "s.csv")], "--cases"),
        ("encode", [events, "--out", str(tmp_path)], "--out"),
        ("audit", [*cases, "--model", str(tmp_path), "--out", str(tmp_path / "o")], "--model"),
        ("model", [str(tmp_path)], "MODEL"),
    ]
    for command, args, option in attempts:
        assert main([command, *args]) == 2, (command, option)
        _one_error(capsys, command, option, "folder")
    (tmp_path / "a-file").write_text("x")
    assert main(["audit", *cases, "--out", str(tmp_path / "a-file")]) == 2
    _one_error(capsys, "audit", "--out", "is a file")


def test_a_model_file_in_the_working_directory_cannot_shadow_a_shipped_name(
    features_csv, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    doc = json.loads(rs.model_to_json(rs.default_scorecard()))
    doc["bands"] = {"review": 1.0, "multi_agency_discussion": 2.0}
    for rule in doc["rules"]:
        rule["points"] = 1.0
    (tmp_path / "review-rules-v2").write_text(json.dumps(doc), encoding="utf-8")
    # the default --model and the bare name are the shipped card
    assert main(["model", "review-rules-v2"]) == 0
    assert "review                     >= 4" in capsys.readouterr().out
    for extra in ([], ["--model", "review-rules-v2"]):
        out = tmp_path / f"s{len(extra)}.csv"
        assert main(["score", str(features_csv), *extra, "--out", str(out)]) == 0
        feats = pd.read_csv(features_csv)
        shipped = rs.load_model("review-rules-v2").risk_score(feats).to_numpy()
        np.testing.assert_array_equal(pd.read_csv(out)["score"].to_numpy(), shipped)
    # the planted file only by its path
    assert main(["model", "./review-rules-v2"]) == 0
    assert "review                     >= 1" in capsys.readouterr().out


def test_tampered_model_files_stop_the_command_with_one_line(features_csv, tmp_path, capsys):
    path = tmp_path / "card.json"
    rs.save_model(rs.default_scorecard(), path)
    path.write_text(path.read_text().replace('"points": 3.0', '"points": NaN', 1))
    out = tmp_path / "s.csv"
    assert main(["score", str(features_csv), "--model", str(path), "--out", str(out)]) == 1
    _one_error(capsys, "score", "--model", "NaN", "Fix:")
    assert not out.exists()
    assert main(["score", str(features_csv), "--model", "my-card", "--out", str(out)]) == 2
    _one_error(capsys, "score", "--model my-card", "./my-card")


def test_no_traceback_reaches_the_user_unless_debug(data, tmp_path, monkeypatch, capsys):
    d, _, _ = data

    def broken(*args, **kwargs):
        raise KeyError("a bug deep inside")

    monkeypatch.setattr(rs, "encode_features", broken)
    args = ["encode", str(d / "events.csv"), "--out", str(tmp_path / "x.csv")]
    assert main(args) == 1
    line = _one_error(capsys, "encode", "internal error", "--debug")
    assert "KeyError" in line
    with pytest.raises(KeyError):
        main([*args, "--debug"])
    with pytest.raises(KeyError):
        main(["--debug", *args])


def test_quarantine_sets_failing_rows_aside_only_when_asked(data, tmp_path, capsys):
    _, events, _ = data
    bad = events.copy()
    bad["event"] = bad["event"].astype(str)
    bad.loc[[4, 11], "event"] = "invented_code"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    out = tmp_path / "features.csv"
    assert main(["encode", str(path), "--out", str(out)]) == 1
    # the code is shown masked (messages never echo a value whole)
    _one_error(capsys, "encode", "EVENTS", "'in******_****'", "--quarantine", "riskscore validate")
    assert not out.exists()
    assert main(["encode", str(path), "--out", str(out), "--quarantine"]) == 0
    err = capsys.readouterr().err
    assert "2 of" in err and "quarantined" in err and "strict=" not in err
    good = tmp_path / "good.csv"
    bad.drop(index=[4, 11]).to_csv(good, index=False)
    assert main(["encode", str(good), "--out", str(tmp_path / "good-features.csv")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(tmp_path / "good-features.csv"))


def test_identifying_columns_are_refused_in_command_line_terms(data, tmp_path, capsys):
    _, events, _ = data
    ev = events.copy()
    ev["postcode"] = "SW1A 1AA"
    path = tmp_path / "pc.csv"
    ev.to_csv(path, index=False)
    assert main(["validate", str(path)]) == 1
    line = _one_error(capsys, "validate", "EVENTS", "postcode", "--allow 'postcode=")
    assert "allow={" not in line


def _run_installed(*args: str, **kwargs) -> subprocess.CompletedProcess:
    exe = shutil.which("riskscore")
    assert exe is not None, "the riskscore console script is not installed (pip install -e .)"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, **kwargs)


def test_a_closed_pipe_ends_quietly():
    # `riskscore model review-rules-v1 | head`, made deterministic: the reader is gone
    # before the command writes a byte
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "riskscore.cli", "model", "review-rules-v1"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == "", proc.stderr
    assert proc.returncode == 1


def test_the_installed_command_shows_no_traceback(data):
    d, _, _ = data
    proc = _run_installed("encode", str(d / "events.csv"), "--grid", "banana", "--out", "x.csv")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "--grid" in proc.stderr


def test_readme_command_table_lists_every_command_with_an_example():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[2].startswith("`riskscore "):
            rows[cells[0].strip("`")] = cells[2].strip("`")
    assert set(rows) == set(_subcommands())
    for command, example in rows.items():
        assert example.startswith(f"riskscore {command}"), example


@pytest.mark.parametrize(
    "library, command_line",
    [
        ("pass strict=False to keep the valid rows", "pass --quarantine to keep the valid rows"),
        (
            "pass allow={'postcode': 'why it is safe'} (kept)",
            "pass --allow 'postcode=why it is safe' (kept)",
        ),
        ("no dayfirst= or format= was given", "no --dayfirst or --format was given"),
        (
            "dayfirst=True for DD/MM/YYYY, dayfirst=False for MM/DD/YYYY",
            "--dayfirst for DD/MM/YYYY, --format '%m/%d/%Y' for MM/DD/YYYY",
        ),
        ("such as format='%d/%m/%Y'", "such as --format '%d/%m/%Y'"),
        ("grid='banana' is not a number of days", "--grid 'banana' is not a number of days"),
        ("recent_window must be between 1 and 364", "--recent-window must be between 1 and 364"),
        ("use refit=True to fit the mapping", "use --cv with a number of folds to fit the mapping"),
        ("- events.date: x\n  fix: y", "- events.date: x\n  fix: y"),  # layout kept
    ],
)
def test_messages_are_given_in_command_line_terms(library, command_line):
    assert cli_terms(library) == command_line


# --------------------------------------------------------------------------- tester's findings


def _usage_exit(capsys, argv: list[str], *words: str) -> str:
    """argparse refuses the option value: exit status 2 and one line naming ``words``."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    for w in words:
        assert w in err[0], (w, err[0])
    return err[0]


@pytest.mark.parametrize("fmt", ["%Q", "%", "%Y-%m-%d %", "%d/%m/%Y %K"])
def test_an_invalid_strptime_format_is_refused_as_an_option(data, tmp_path, capsys, fmt):
    d, _, _ = data
    events, cases = str(d / "events.csv"), str(d / "cases.csv")
    for argv in (
        ["validate", events, "--format", fmt],
        ["encode", events, "--format", fmt, "--out", str(tmp_path / "f.csv")],
        ["audit", events, "--cases", cases, "--format", fmt, "--out", str(tmp_path / "a")],
    ):
        line = _usage_exit(capsys, argv, "--format", "strptime")
        assert "internal error" not in line
    assert not (tmp_path / "f.csv").exists() and not (tmp_path / "a").exists()
    # a valid format that the file's dates do not follow is still a data problem
    assert main(["validate", events, "--format", "%d/%m/%Y"]) == 0


def test_audit_disclosure_below_the_floor_is_an_option_to_change(data, tmp_path, capsys):
    d, _, _ = data
    args = ["audit", str(d / "events.csv"), "--cases", str(d / "cases.csv")]
    out = tmp_path / "a"
    assert main([*args, "--min-count", "1", "--out", str(out)]) == 2
    line = _one_error(capsys, "audit", "--min-count 1", "--no-disclosure")
    assert "disclosure=False" not in line
    # refused before any work is done or any file written
    assert not out.exists() or not any(out.iterdir())
    # min_count rounded down by --round-to: an option to change too
    assert main([*args, "--min-count", "7", "--round-to", "5", "--out", str(out)]) == 2
    _one_error(capsys, "audit", "--round-to 5", "--min-count 7")


def test_an_output_that_cannot_be_written_is_an_option_to_change(data, tmp_path, capsys):
    d, _, _ = data
    events, cases = str(d / "events.csv"), str(d / "cases.csv")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    evaluate = [events, "--cases", cases, "--model", "synthetic-logistic-v1", "--cv", "none"]
    attempts = [
        ("audit", [events, "--cases", cases, "--out", str(blocker / "audit")]),
        ("encode", [events, "--out", str(blocker / "features.csv")]),
        ("demo", ["--n-cases", "50", "--out", str(blocker / "demo")]),
        ("evaluate", [*evaluate, "--n-boot", "0", "--out", str(blocker / "e.html")]),
    ]
    for command, argv in attempts:
        assert main([command, *argv]) == 2, command
        line = _one_error(capsys, command, "--out", "Fix:")
        assert "internal error" not in line
    assert blocker.read_text() == "not a folder"


def test_an_output_the_system_refuses_is_an_option_to_change(data, tmp_path, monkeypatch, capsys):
    # the folder checks pass but the write itself fails (a read-only or virtual file system)
    d, _, _ = data

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "e.html"))

    monkeypatch.setattr(rs, "write_report", refuse)
    args = ["evaluate", str(d / "events.csv"), "--cases", str(d / "cases.csv"), "--cv", "none"]
    opts = ["--model", "synthetic-logistic-v1", "--n-boot", "0", "--out", str(tmp_path / "e.html")]
    assert main([*args, *opts]) == 2
    captured = capsys.readouterr()  # progress and a warning come first
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("riskscore evaluate: error: --out"), last
    assert "Permission denied" in last and "Fix:" in last
    assert "Traceback" not in captured.err + captured.out


def test_an_input_of_an_unknown_format_is_an_option_to_change(data, tmp_path, capsys):
    d, _, _ = data
    html = tmp_path / "events.html"
    shutil.copy(d / "events.csv", html)
    assert main(["validate", str(html)]) == 2
    _one_error(capsys, "validate", "EVENTS", "events.html", ".csv", "Fix:")
    args = ["encode", str(d / "events.csv"), "--cases", str(html), "--out", str(tmp_path / "f.csv")]
    assert main(args) == 2
    _one_error(capsys, "encode", "--cases", ".parquet", "Fix:")
    assert not (tmp_path / "f.csv").exists()


def test_demo_refuses_to_replace_existing_data_files_unless_told(tmp_path, capsys):
    out = tmp_path / "mydata"
    out.mkdir()
    mine = out / "events.csv"
    mine.write_text("case_id,date\nREAL-1,2101-01-01\n")
    assert main(["demo", "--out", str(out), "--n-cases", "50"]) == 2
    _one_error(capsys, "demo", "--out", "events.csv", "--overwrite")
    assert mine.read_text() == "case_id,date\nREAL-1,2101-01-01\n"
    assert sorted(p.name for p in out.iterdir()) == ["events.csv"]  # nothing else written
    (out / "events.csv").unlink()
    (out / "cases.csv").write_text("case_id\nREAL-1\n")
    assert main(["demo", "--out", str(out), "--n-cases", "50"]) == 2
    _one_error(capsys, "demo", "cases.csv", "--overwrite")
    assert (out / "cases.csv").read_text() == "case_id\nREAL-1\n"
    assert main(["demo", "--out", str(out), "--n-cases", "50", "--overwrite"]) == 0
    assert pd.read_csv(out / "cases.csv")["case_id"].nunique() == 50
    # files the demo wrote itself (its sidecars say so) are replaced without asking,
    # so `riskscore demo` can be run again
    assert main(["demo", "--out", str(out), "--n-cases", "60"]) == 0
    assert pd.read_csv(out / "cases.csv")["case_id"].nunique() == 60
    # a sidecar that is not the demo's does not count
    (out / "events.csv.provenance.json").write_text('{"params": {"command": "mine"}}')
    assert main(["demo", "--out", str(out), "--n-cases", "50"]) == 2
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "--overwrite" in capsys.readouterr().out


def test_score_refuses_a_repeated_column_header(features_csv, tmp_path, capsys):
    feats = pd.read_csv(features_csv)
    first = list(rs.FEATURES)[0]
    dup = pd.concat([feats, feats[[first]] * 0 + 99], axis=1)
    path = tmp_path / "dup.csv"
    dup.to_csv(path, index=False)
    assert pd.read_csv(path).columns[-1] == f"{first}.1"  # what pandas makes of it
    out = tmp_path / "s.csv"
    assert main(["score", str(path), "--out", str(out)]) == 1
    _one_error(capsys, "score", "FEATURES", repr(first), "more than once", "Fix:")
    assert not out.exists()


def test_score_refuses_a_feature_table_without_rows(features_csv, tmp_path, capsys):
    path = tmp_path / "header-only.csv"
    pd.read_csv(features_csv).iloc[:0].to_csv(path, index=False)
    out = tmp_path / "s.csv"
    assert main(["score", str(path), "--out", str(out)]) == 1
    _one_error(capsys, "score", "FEATURES", "no rows", "Fix:")
    assert not out.exists()


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_n_boot_too_small_for_an_interval_is_refused(data, tmp_path, capsys, command):
    d, _, _ = data
    args = [command, str(d / "events.csv"), "--cases", str(d / "cases.csv")]
    out = str(tmp_path / ("m.json" if command == "train" else "e.html"))
    for n in ("1", "19", "-1"):
        _usage_exit(capsys, [*args, "--n-boot", n, "--out", out], "--n-boot", "at least 20")
    parser = build_parser()
    for n in (0, 20, 200):
        assert parser.parse_args([*args, "--n-boot", str(n), "--out", out]).n_boot == n
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "at least 20" in " ".join(capsys.readouterr().out.split())


def test_validate_counts_every_cases_row_with_duplicates(data, tmp_path, capsys):
    _, events, cases = data
    ids = cases["case_id"].iloc[:46]
    cs = pd.concat([cases.iloc[:46], cases.iloc[:2]], ignore_index=True)  # 48 rows
    ev = events[events["case_id"].isin(ids)]
    ev_path, cs_path = tmp_path / "events.csv", tmp_path / "cases.csv"
    ev.to_csv(ev_path, index=False)
    cs.to_csv(cs_path, index=False)
    assert main(["validate", str(ev_path), "--cases", str(cs_path)]) == 1
    out = capsys.readouterr().out
    heads = [x for x in out.splitlines() if x.startswith("cases:")]
    assert heads == [heads[0]], out
    assert "in 48 rows (4 quarantined, 44 valid)" in heads[0]
    assert "duplicate" in out or "more than one row" in out


def test_validate_refuses_case_ids_with_control_characters(data, tmp_path, capsys):
    _, events, cases = data
    ev = events.copy()
    ev["case_id"] = ev["case_id"].astype(str)
    first, second = ev["case_id"].unique()[:2]
    ev.loc[ev["case_id"] == first, "case_id"] = first + "\nX"
    ev.loc[ev["case_id"] == second, "case_id"] = "\u202e" + second
    path = tmp_path / "events.csv"
    ev.to_csv(path, index=False)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "events.case_id" in x)
    assert "control" in line and "line" in line
    assert "U+202E" in line


def test_metrics_hidden_by_disclosure_control_say_so(data, tmp_path, capsys):
    # train printed every validation metric as "n/a" with no reason on a small cohort
    d, _, _ = data
    out = tmp_path / "m.json"
    args = ["train", str(d / "events.csv"), "--cases", str(d / "cases.csv")]
    assert main([*args, "--grid", "90D", "--n-boot", "0", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "n/a" in printed  # 300 children: too few outcome children for the metrics
    assert "n/a: hidden by disclosure control (every metric rests on at least 10" in printed


# --------------------------------------------------------------------------- probes


@pytest.mark.parametrize("encoding", ["rot13", "hex", "base64", "zlib", "no-such-codec"])
def test_an_encoding_that_is_not_a_text_encoding_is_an_option_to_change(
    data, tmp_path, capsys, encoding
):
    # rot13 and hex are codecs Python knows but not text encodings: they reached the
    # user as "internal error (LookupError ...)"
    d, _, _ = data
    events = str(d / "events.csv")
    for argv in (
        ["validate", events, "--encoding", encoding],
        ["encode", events, "--encoding", encoding, "--out", str(tmp_path / "f.csv")],
    ):
        line = _usage_exit(capsys, argv, "--encoding", encoding)
        assert "internal error" not in line and "utf-8" in line.lower()
    assert not (tmp_path / "f.csv").exists()


def test_a_utf16_read_of_a_file_without_a_byte_order_mark_names_the_encoding(data, capsys):
    # pandas raises a bare UnicodeError ("UTF-16 stream does not start with BOM"),
    # which reached the user as an internal error
    d, _, _ = data
    assert main(["validate", str(d / "events.csv"), "--encoding", "utf-16"]) == 1
    line = _one_error(capsys, "validate", "EVENTS", "--encoding", "utf-16", "Fix:")
    assert "internal error" not in line


def test_report_over_the_models_sha256_file_is_refused(data, tmp_path, capsys):
    # the evaluation report replaced my-model.json.sha256, the digest users pin
    d, _, _ = data
    out = tmp_path / "m.json"
    argv = ["train", str(d / "events.csv"), "--cases", str(d / "cases.csv"), "--out", str(out)]
    assert main([*argv, "--report", str(tmp_path / "m.json.sha256"), "--n-boot", "0"]) == 2
    _one_error(capsys, "train", "--report", "m.json.sha256", "Fix:")
    assert not out.exists() and not (tmp_path / "m.json.sha256").exists()


@pytest.mark.parametrize("value", ["1e-320", "1e308", "5e-324"])
def test_train_C_a_model_file_cannot_hold_is_refused_before_fitting(data, tmp_path, capsys, value):
    # the whole fit and validation ran, then save_model refused C, exit 1, with the
    # advice to "re-save the model with riskscore.save_model"
    d, _, _ = data
    out = tmp_path / "m.json"
    argv = ["train", str(d / "events.csv"), "--cases", str(d / "cases.csv"), "--out", str(out)]
    line = _usage_exit(capsys, [*argv, "--C", value], "--C", value)
    assert "save_model" not in line
    assert not out.exists()


def test_audit_case_is_found_with_white_space_around_it(data, tmp_path, capsys):
    # case ids are compared with white space normalised everywhere else
    d, events, _ = data
    case = str(events["case_id"].iloc[0])
    argv = ["audit", str(d / "events.csv"), "--cases", str(d / "cases.csv")]
    assert main([*argv, "--case", f" {case} ", "--out", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a" / f"case-{safe_filename(case)}.html").exists()


def test_a_truncated_or_false_gzip_file_is_a_one_line_data_error(data, tmp_path, capsys):
    # a .csv.gz cut short (a copy interrupted) was "internal error (EOFError ...)", and
    # a .csv.gz that is not gzip said "Not a gzipped file" with no fix
    import gzip

    d, _, _ = data
    whole = gzip.compress((d / "events.csv").read_bytes())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    plain = tmp_path / "plain.csv.gz"
    plain.write_bytes((d / "events.csv").read_bytes())
    for path, words in ((cut, ["cut short"]), (plain, ["not gzip"])):
        for argv in (
            ["validate", str(path)],
            ["encode", str(path), "--out", str(tmp_path / "f.csv")],
        ):
            assert main(argv) == 1
            line = _one_error(capsys, argv[0], "EVENTS", path.name, "Fix:", *words)
            assert "internal error" not in line
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.parametrize("name", ["report.csv", "report.json", "report"])
def test_an_html_report_needs_an_html_name(data, tmp_path, capsys, name):
    # evaluate --out report.csv wrote an HTML page under a CSV name
    d, _, _ = data
    argv = ["evaluate", str(d / "events.csv"), "--cases", str(d / "cases.csv")]
    assert main([*argv, "--out", str(tmp_path / name), "--n-boot", "0", "--cv", "2"]) == 2
    _one_error(capsys, "evaluate", "--out", name, ".html", "Fix:")
    argv = ["train", str(d / "events.csv"), "--cases", str(d / "cases.csv")]
    out = tmp_path / "m.json"
    assert main([*argv, "--out", str(out), "--report", str(tmp_path / name)]) == 2
    _one_error(capsys, "train", "--report", name, ".html", "Fix:")
    assert not (tmp_path / name).exists() and not out.exists()


def test_a_path_the_system_cannot_even_look_at_names_its_option(data, tmp_path, capsys):
    # a file name over 255 bytes made Path.exists() raise: "internal error (OSError:
    # File name too long)"
    d, _, _ = data
    long = "a" * 300
    events, cases = str(d / "events.csv"), str(d / "cases.csv")
    for argv, option in (
        (["validate", str(tmp_path / f"{long}.csv")], "EVENTS"),
        (["encode", events, "--out", str(tmp_path / f"{long}.csv")], "--out"),
        (["audit", events, "--cases", cases, "--out", str(tmp_path / long)], "--out"),
        (["model", str(tmp_path / f"{long}.json")], "MODEL"),
        (["evaluate", events, "--cases", cases, "--out", str(tmp_path / f"{long}.html")], "--out"),
    ):
        assert main(argv) == 2
        line = _one_error(capsys, argv[0], option, "too long", "Fix:")
        assert "internal error" not in line


def test_validate_encode_score_and_the_model_list_say_they_are_not_for_decisions(
    data, features_csv, tmp_path, capsys
):
    # "Every report and command says so" (docs/responsible-use.md): these four printed
    # no notice
    d, _, _ = data
    events = str(d / "events.csv")
    for argv in (
        ["validate", events],
        ["encode", events, "--out", str(tmp_path / "f.csv")],
        ["score", str(features_csv), "--out", str(tmp_path / "s.csv")],
        ["model"],
    ):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[0] == cli.NOTICE, argv


@pytest.mark.parametrize("text", ["notes=\x1b[2Jcleared", "notes=ok\u202eko", "no\x07tes=why"])
def test_allow_with_control_characters_is_an_option_to_change(data, capsys, text):
    # validate echoed the reason to the terminal as it was (an escape sequence cleared
    # the screen), and it went into every report and provenance record
    d, _, _ = data
    assert main(["validate", str(d / "events.csv"), "--allow", text]) == 2
    line = _one_error(capsys, "validate", "--allow", "U+", "Fix:")
    assert "\x1b" not in line and "\u202e" not in line and "\x07" not in line


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_more_folds_than_children_names_cv_and_the_fix(data, tmp_path, capsys, command):
    # the library's "CaseKFold: 300 case(s) cannot fill --cv 9999 folds." reached the
    # user: a class they never named, and no fix
    d, _, _ = data
    argv = [command, str(d / "events.csv"), "--cases", str(d / "cases.csv"), "--cv", "9999"]
    if command == "evaluate":
        argv += ["--model", "review-rules-v1", "--out", str(tmp_path / "e.html")]
    else:
        argv += ["--out", str(tmp_path / "m.json")]
    assert main(argv) == 2
    line = _one_error(capsys, command, "--cv 9999", "Fix:", "at most --cv ")
    assert re.search(r"at most --cv \d+ ", line), line
    assert "CaseKFold" not in line and "n_splits" not in line


def test_events_whose_child_is_not_in_cases_are_named_in_file_terms(data, tmp_path, capsys):
    # audit said "cases: 1 problem(s) ...; row numbers are 0-based; ... events.case_id:
    # ... rows 0, 1, 2": 0-based positions of the events read (not file lines), under
    # a header about the cases table, and no "Fix:"
    d, _, cases = data
    short = tmp_path / "short-cases.csv"
    cases.iloc[5:].to_csv(short, index=False)
    argv = ["audit", str(d / "events.csv"), "--cases", str(short), "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    line = _one_error(capsys, "audit", "EVENTS", "--cases", "not in", "Fix:", "riskscore validate")
    assert "0-based" not in line and "rows 0" not in line


def test_validate_names_events_of_children_not_in_cases_by_file_line(data, tmp_path, capsys):
    # under "lines are the file's line numbers" it listed "rows 0, 1, 2": positions
    # among the valid events, off by two (or more, after a failing row) from the lines
    d, events, cases = data
    bad = events.assign(date=events["date"].dt.strftime("%Y-%m-%d"))
    bad.loc[0, "date"] = "2101-02-30"  # line 2 fails validation
    orphan_id = bad.loc[5, "case_id"]
    bad_path, short = tmp_path / "events.csv", tmp_path / "cases.csv"
    bad.to_csv(bad_path, index=False)
    cases[cases["case_id"] != orphan_id].to_csv(short, index=False)
    assert main(["validate", str(bad_path), "--cases", str(short)]) == 1
    out = capsys.readouterr().out
    (line,) = [t for t in out.splitlines() if "not in cases" in t]
    expected = [i + 2 for i in np.flatnonzero(bad["case_id"] == orphan_id) if i != 0][:10]
    assert f"EVENTS lines {', '.join(map(str, expected))}" in line, line


def test_validate_rewrites_only_the_events_rows_as_events_file_lines(data, tmp_path, capsys):
    # the events rows were rewritten as EVENTS lines by replacing the first "; row 0"
    # in the whole report: a Parquet cases file (rows, not lines) with its own problem
    # on row 0 had that one rewritten instead; and the events heading still said
    # "0-based positions" over file lines
    d, events, cases = data
    ids = events["case_id"].astype(str)
    orphan = ids.iloc[0]
    # the orphan child's one event is the first data row: "; row 0" in both sections
    one = pd.concat([events[ids == orphan].iloc[:1], events[ids != orphan]])
    one.to_csv(tmp_path / "events.csv", index=False)
    first = np.array([0])
    kept = cases[cases["case_id"].astype(str) != orphan].reset_index(drop=True)
    kept = kept.astype({"case_id": str, "outcome": object})
    kept.loc[0, "outcome"] = "not-an-outcome"  # a cases problem on row 0
    path = tmp_path / "cases.parquet"
    kept.to_parquet(path)
    assert main(["validate", str(tmp_path / "events.csv"), "--cases", str(path)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    (own,) = [t for t in lines if t.startswith("- cases.outcome")]
    assert "EVENTS" not in own and own.endswith("; row 0"), own
    (orphans,) = [t for t in lines if "not in cases" in t]
    shown = ", ".join(str(i + 2) for i in first[:10])
    assert f"EVENTS {'line' if len(first) == 1 else 'lines'} {shown}" in orphans, orphans
    (heading,) = [t for t in lines if t.startswith("events: ") and "checking" in t]
    assert "0-based" not in heading and "EVENTS file" in heading, heading


def test_a_loop_of_links_as_input_is_not_called_missing(tmp_path, capsys):
    # a symlink loop was reported as "no such file", sending the user to look for a
    # file that is there
    loop = tmp_path / "events.csv"
    os.symlink(tmp_path / "other.csv", loop)
    os.symlink(loop, tmp_path / "other.csv")
    assert main(["validate", str(loop)]) == 2
    line = _one_error(capsys, "validate", "EVENTS", "loop", "Fix:")
    assert "no such file" not in line


def test_a_link_to_a_missing_file_names_its_target(tmp_path, capsys):
    link = tmp_path / "events.csv"
    os.symlink(tmp_path / "moved-away.csv", link)
    assert main(["validate", str(link)]) == 2
    _one_error(capsys, "validate", "EVENTS", "moved-away.csv", "Fix:")


def test_one_file_as_both_events_and_cases_is_refused(tmp_path, capsys):
    # a file with the columns of both tables was read as both and accepted
    events, cases = rs.make_cohort(20, random_state=1)
    # one event per child, so the file is a valid events table and a valid cases table
    first = events.drop_duplicates("case_id")
    both = first.merge(cases.drop(columns="index_date"), on="case_id")
    path = tmp_path / "both.csv"
    both.to_csv(path, index=False)
    link = tmp_path / "same.csv"
    os.symlink(path, link)
    for cases_arg in (path, link):
        argv = ["encode", str(path), "--cases", str(cases_arg), "--out", str(tmp_path / "f.csv")]
        assert main(argv) == 2
        _one_error(capsys, "encode", "--cases", "EVENTS", "same file", "Fix:")
