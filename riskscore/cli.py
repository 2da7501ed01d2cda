"""The ``riskscore`` command line: a thin layer over the public library.

Every command is a call a notebook user could make (``riskscore.audit_case`` and so
on). Errors in the input print one clear message and exit with status 2; problems
found by ``validate`` exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore._dates import DEFAULT_GRID
from riskscore._version import __version__
from riskscore.errors import RiskscoreError

NOTICE = (
    "riskscore is for retrospective audit, learning and research on anonymised data. "
    "It does not make, and must not be used to make, decisions about any child or family."
)
CASE_LEVEL = "Case-level output: it must stay inside the secure environment."
SYNTHETIC_CAVEAT = (
    "Synthetic data: outcome rates here are far higher than real ones (real serious "
    "outcomes are rare), so lead times, precision and alert figures flatter any model."
)
MAD = "multi_agency_discussion"


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def _allow(values: Sequence[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    out = {}
    for item in values:
        if "=" not in item:
            raise RiskscoreError(
                f"--allow {item!r}: write COLUMN=REASON, e.g. --allow 'site_code=hospital site "
                "codes, not postcodes'."
            )
        col, reason = item.split("=", 1)
        out[col.strip()] = reason.strip()
    return out


def _read_opts(args) -> dict:
    return {
        "dayfirst": args.dayfirst or None,
        "format": args.format,
        "allow": _allow(args.allow),
        "encoding": args.encoding,
    }


def _load_events_cases(args):
    from riskscore.schema import read_cases, read_events

    opts = _read_opts(args)
    events = read_events(args.events, **opts)
    cases = read_cases(args.cases, **opts) if getattr(args, "cases", None) else None
    return events, cases


def _load_with_outcomes(args, what: str):
    """Events and cases for commands that need outcomes; ``what`` names the command."""
    events, cases = _load_events_cases(args)
    if cases is None:
        raise RiskscoreError(f"{what} needs --cases (outcomes, outcome dates, follow-up ends).")
    return events, cases


def _write_frame(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".parquet", ".pq"):
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)


# --------------------------------------------------------------------------- commands


def cmd_demo(args) -> int:
    import riskscore as rs

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(NOTICE)
    print()
    events, cases = rs.vignette()
    rs.validate_events(events, strict=True)
    rs.validate_cases(cases, events, strict=True)
    card = rs.default_scorecard()
    audit = rs.audit_case(events, cases, card, "CHILD-A")
    case_html = rs.write_report(audit, out / "child-a-case-report.html")
    plan = events.loc[events["event"] == "cp_plan_start", "date"].min()
    first = audit.first_crossing(MAD)
    print('"Child A" - a FICTIONAL composite on an invented calendar (not any real child).')
    if first is not None:
        print(
            f"  The joined-up view reached {MAD} on {first:%Y-%m-%d}, "
            f"{(plan - first).days} days before the (fictional) child protection plan."
        )
    else:
        print(f"  The joined-up view never reached {MAD}.")
    print("  What each agency's own records reached, alone:")
    for agency in rs.AGENCIES:
        col = f"band_{agency}"
        if col not in audit.trajectory:
            continue
        top = pd.Categorical(audit.trajectory[col], categories=rs.BANDS, ordered=True).max()
        days = audit.days_in_band(MAD, agency=agency)
        print(f"    {agency:<13} highest band {top!s:<24} days at {MAD}: {days}")
    print(f"  Join-up gap (joined view above every single agency): {audit.join_up_gap_days} days")
    print(
        f"  Missed opportunities (crossings with no response in 28 days): "
        f"{len(audit.missed_opportunities)}"
    )
    print(f"  Case report (individual-level, fictional): {case_html}")
    print()

    events, cases = rs.make_cohort(args.n_cases, random_state=args.random_state)
    rs.validate_events(events, strict=True)
    rs.validate_cases(cases, events, strict=True)
    result = rs.audit_cohort(events, cases, card)
    cohort_html = rs.write_report(result, out / "cohort-report.html")
    for name, table in result.tables.items():
        rs.write_table(
            table,
            out / f"cohort-{name.replace('_', '-')}.csv",
            provenance=rs.provenance(
                {
                    "command": "riskscore demo",
                    "n_cases": args.n_cases,
                    "seed": args.random_state,
                    "model": card.name,
                    **result.parameters,
                },
                {"events": events, "cases": cases},
                table.attrs.get("riskscore_disclosure", {}).get("settings"),
            ),
        )
    print(
        f"Synthetic cohort of {args.n_cases} cases (seed {args.random_state}), default scorecard:"
    )
    fa = result.tables["false_alarms"].set_index("band")
    lt = result.tables["lead_times"]
    for band in rs.BANDS[1:]:
        rows = lt[lt["band"] == band]
        text = ", ".join(
            f"{r.lead_time_days}: {'suppressed' if pd.isna(r.n_cases) else int(r.n_cases)}"
            for r in rows.itertuples()
        )
        print(f"  lead time to outcome from first {band} (cases): {text}")
        r = fa.loc[band]
        share = r["false_alarm_share"]
        print(
            f"  {band}: crossings {_fmt(r['n_crossings'])}, false alarms "
            f"{_fmt(r['n_false_alarms'])} ({'suppressed' if pd.isna(share) else f'{share:.0%}'}), "
            f"alerts per true case {_fmt(r['alerts_per_true_case'], '.1f')}"
        )
    dep = result.tables["by_deprivation"]
    print(
        "  By deprivation quintile (1 = most deprived): share reaching "
        f"{MAD} / share with a join-up gap"
    )
    for r in dep.itertuples():
        print(
            f"    IMD {r.imd_quintile}: {_fmt(r.share_reached_mad, '.0%')} / "
            f"{_fmt(r.share_with_gap, '.0%')} of {_fmt(r.n_cases)} cases"
        )
    print("  Tables are disclosure-controlled (counts under 10 suppressed, rounded to 5).")
    print(f"  Cohort report: {cohort_html}")
    print()
    print(SYNTHETIC_CAVEAT)
    print(NOTICE)
    return 0


def _fmt(value, spec: str = "") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        return "suppressed"
    return format(float(value) if spec else int(value), spec)


def cmd_validate(args) -> int:
    from riskscore.schema import read_cases, read_events, validate_cases

    opts = _read_opts(args)
    events, report = read_events(args.events, strict=False, return_report=True, **opts)
    print(report)
    ok = report.ok
    if args.cases:
        cases, creport = read_cases(args.cases, strict=False, return_report=True, **opts)
        print(creport)
        cross = validate_cases(
            cases, events, **{k: v for k, v in opts.items() if k not in ("allow", "encoding")}
        )
        if not cross.ok:
            print(cross)  # events whose case is not in the cases table, and the like
        ok = ok and creport.ok and cross.ok
    print("valid" if ok else "problems found: fix them, or quarantine with strict=False")
    return 0 if ok else 1


def cmd_encode(args) -> int:
    import riskscore as rs

    events, cases = _load_events_cases(args)
    grid = rs.as_of_grid(events, args.grid, cases=cases)
    feats = rs.encode_features(events, grid, agency=args.agency, recent_window=args.recent_window)
    _write_frame(feats, Path(args.out))
    print(f"wrote {len(feats)} rows x {feats.shape[1]} columns to {args.out}")
    print(CASE_LEVEL)
    return 0


def cmd_score(args) -> int:
    import riskscore as rs

    model = rs.load_model(args.model)
    path = Path(args.features)
    feats = pd.read_parquet(path) if path.suffix in (".parquet", ".pq") else pd.read_csv(path)
    missing = [f for f in model.feature_names_in_ if f not in feats.columns]
    if missing:
        raise RiskscoreError(
            f"{path}: missing feature column(s) {missing}. Fix: produce the table with "
            "`riskscore encode`, which writes every catalogue feature."
        )
    out = feats[[c for c in ("case_id", "as_of") if c in feats.columns]].copy()
    out["score"] = model.risk_score(feats).to_numpy()
    out["band"] = model.band(feats).astype(str).to_numpy()
    contrib = model.contributions(feats).add_prefix("contribution: ")
    out = pd.concat([out, contrib.reset_index(drop=True)], axis=1)
    _write_frame(out, Path(args.out))
    print(f"wrote {len(out)} scored rows to {args.out}")
    print(CASE_LEVEL)
    return 0


def cmd_audit(args) -> int:
    import riskscore as rs

    events, cases = _load_events_cases(args)
    model = rs.load_model(args.model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(NOTICE)
    if args.case:
        audit = rs.audit_case(
            events, cases, model, args.case, grid=args.grid, response_window=args.response_window
        )
        html = rs.write_report(audit, out / f"case-{args.case}.html")
        for name in ("trajectory", "crossings", "missed_opportunities", "contributions"):
            table = rs.mark_undisclosed(getattr(audit, name), reason="case-level audit")
            rs.write_table(table, out / f"case-{args.case}-{name.replace('_', '-')}.csv")
        print(audit.summary())
        print(f"report: {html}")
        print(CASE_LEVEL)
        return 0
    if cases is None:
        raise RiskscoreError("a cohort audit needs --cases (outcomes and follow-up ends).")
    disclosure = (
        False if args.no_disclosure else {"min_count": args.min_count, "round_to": args.round_to}
    )
    result = rs.audit_cohort(
        events,
        cases,
        model,
        grid=args.grid,
        response_window=args.response_window,
        horizon=args.horizon,
        disclosure=disclosure,
        progress=True,
    )
    prov = rs.provenance(
        {"command": "riskscore audit", **result.parameters},
        {"events": args.events, "cases": args.cases},
        None if disclosure is False else disclosure,
    )
    for name, table in result.tables.items():
        rs.write_table(table, out / f"cohort-{name.replace('_', '-')}.csv", provenance=prov)
    html = rs.write_report(result, out / "cohort-report.html")
    print(f"wrote {len(result.tables)} cohort tables and {html}")
    if disclosure is False:
        print("DISCLOSURE CONTROL OFF: these outputs must stay inside the secure environment.")
    return 0


def cmd_train(args) -> int:
    import riskscore as rs

    events, cases = _load_with_outcomes(args, "training")
    print(NOTICE)
    cv = "temporal" if args.cv == "temporal" else int(args.cv)
    model, evaluation = rs.train_model(
        events,
        cases,
        penalty=None if args.penalty == "none" else args.penalty,
        C=args.C,
        class_weight="balanced" if args.balanced else None,
        grid=args.grid,
        horizon=args.horizon,
        cv=cv,
        n_boot=args.n_boot,
        source=str(args.events),
        name=args.name,
        random_state=args.random_state,
        progress=True,
    )
    out = Path(args.out)
    rs.save_model(model, out, model_card=model.model_card_)
    print(f"model written to {out}")
    if args.report:
        rs.write_report(evaluation, args.report)
        print(f"evaluation report: {args.report}")
    print(evaluation.metrics.to_string())
    return 0


def cmd_evaluate(args) -> int:
    import riskscore as rs

    events, cases = _load_with_outcomes(args, "evaluation")
    print(NOTICE)
    model = rs.load_model(args.model)
    cv = None if args.cv == "none" else ("temporal" if args.cv == "temporal" else int(args.cv))
    mapping = getattr(model, "points_to_risk_", None) or (
        getattr(model, "model_card", None) or {}
    ).get("points_to_risk")
    if cv is None and model.score_scale == "points" and not mapping:
        # the library's message speaks of refit=True; say it in the command's own terms
        raise RiskscoreError(
            f"--cv none applies the model as it is, but {args.model} has no points-to-risk "
            "mapping, so its points give no probabilities. Fix: use --cv 5 (or another "
            "number of folds), which keeps the points and fits only the mapping on "
            "training folds."
        )
    ts = rs.make_training_set(events, cases, grid=args.grid, horizon=args.horizon)
    result = rs.evaluate(
        model,
        ts,
        cv=cv,
        n_boot=args.n_boot,
        cases=cases,
        random_state=args.random_state,
        progress=True,
        refit=cv is not None,
    )
    html = rs.write_report(result, args.out)
    print(result.metrics.to_string())
    print(f"evaluation report: {html}")
    return 0


def cmd_build_synthetic_model(args) -> int:
    from riskscore.training import build_synthetic_model

    print(NOTICE)
    model, evaluation = build_synthetic_model(
        args.out,
        n_cases=args.n_cases,
        random_state=args.random_state,
        created=args.created,
        progress=True,
    )
    print(f"synthetic demonstration model written to {args.out}")
    print(evaluation.metrics.to_string())
    return 0


def cmd_model(args) -> int:
    import riskscore as rs

    if args.name is None:
        for name in rs.shipped_models():
            print(name)
        return 0
    print(rs.load_model(args.name))
    return 0


# --------------------------------------------------------------------------- parser


def _parent(*adders) -> argparse.ArgumentParser:
    """An argparse parent holding shared options (declared once, used by many commands)."""
    p = argparse.ArgumentParser(add_help=False)
    for add in adders:
        add(p)
    return p


def _opt_inputs(p: argparse.ArgumentParser, *, cases_required: bool = False) -> None:
    p.add_argument("events", help="events file (.csv, .csv.gz or .parquet)")
    p.add_argument(
        "--cases",
        required=cases_required,
        help="cases file (outcomes, outcome dates, follow-up ends)",
    )


def _opt_read(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dayfirst", action="store_true", help="dates are written day first (UK)")
    p.add_argument("--format", help="explicit strptime format of the dates, e.g. %%d/%%m/%%Y")
    p.add_argument(
        "--encoding",
        help="text encoding of CSV files (default UTF-8, with or without BOM), e.g. cp1252",
    )
    p.add_argument(
        "--allow",
        action="append",
        metavar="COLUMN=REASON",
        help="pass a column the identifying-data guard misjudges, with the reason (kept "
        "in provenance); repeatable",
    )


def _opt_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="review-rules-v1", help="model file or shipped name")


def _opt_grid(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--grid",
        default=DEFAULT_GRID,
        help="step between as-of dates, e.g. 14D or 90D (crossings are exact regardless)",
    )


def _opt_horizon(p: argparse.ArgumentParser) -> None:
    p.add_argument("--horizon", type=int, default=365, help="outcome horizon (days)")


def _opt_validation(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates (by case)")
    p.add_argument("--random-state", type=int, default=0, help="seed of folds and bootstrap")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskscore",
        description=NOTICE,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"riskscore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    inputs = _parent(_opt_inputs, _opt_read)
    inputs_with_cases = _parent(lambda p: _opt_inputs(p, cases_required=True), _opt_read)
    model, grid, horizon = _parent(_opt_model), _parent(_opt_grid), _parent(_opt_horizon)
    validation = _parent(_opt_validation)

    p = sub.add_parser(
        "demo",
        help="audit the fictional Child A and a synthetic cohort; write reports",
        description="Builds the synthetic cohort and the fictional Child A vignette, audits "
        "both with the default scorecard, writes HTML reports and disclosure-controlled "
        "tables, and prints a summary.",
        formatter_class=_Formatter,
    )
    p.add_argument("--out", default="riskscore-demo", help="folder for the reports")
    p.add_argument("--n-cases", type=int, default=2000, help="synthetic cohort size")
    p.add_argument(
        "--random-state", type=int, default=0, help="random_state of the synthetic cohort"
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "validate",
        parents=[inputs],
        help="check events (and cases) files against the data contract",
        description="Lists every problem (column, rows, what is wrong, how to fix). "
        "Exit status 1 when problems are found.",
        formatter_class=_Formatter,
    )
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "encode",
        parents=[inputs, grid],
        help="point-in-time features on a per-case grid",
        formatter_class=_Formatter,
    )
    p.add_argument("--out", required=True, help="output .csv or .parquet")
    p.add_argument("--agency", help="encode one agency's view only")
    p.add_argument("--recent-window", type=int, default=90, help="recent attendance window (days)")
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser(
        "score",
        parents=[model],
        help="score a feature table with a model file, with contributions",
        formatter_class=_Formatter,
    )
    p.add_argument("features", help="feature table from `riskscore encode`")
    p.add_argument("--out", required=True, help="output .csv or .parquet")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "audit",
        parents=[inputs, model, grid, horizon],
        help="audit one case (--case) or a cohort; HTML and CSV outputs",
        formatter_class=_Formatter,
    )
    p.add_argument("--case", help="audit this case_id only (individual-level output)")
    p.add_argument("--out", default="riskscore-audit", help="output folder")
    p.add_argument("--response-window", type=int, default=28, help="days to a response")
    p.add_argument("--min-count", type=int, default=10, help="suppress counts below this")
    p.add_argument("--round-to", type=int, default=5, help="round counts to this base")
    p.add_argument(
        "--no-disclosure",
        action="store_true",
        help="turn disclosure control off (outputs then say they must stay inside)",
    )
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser(
        "train",
        parents=[inputs_with_cases, grid, horizon, validation],
        help="fit and validate a logistic model; write a JSON model with its model card",
        formatter_class=_Formatter,
    )
    p.add_argument("--out", required=True, help="output model file (.json)")
    p.add_argument("--report", help="also write an HTML evaluation report here")
    p.add_argument("--penalty", choices=["none", "l2", "l1"], default="l2", help="penalty")
    p.add_argument("--C", type=float, default=1.0, help="inverse penalty strength")
    p.add_argument(
        "--balanced", action="store_true", help="balanced class weights (recalibrated afterwards)"
    )
    p.add_argument("--cv", default="5", help="folds (grouped by case), or 'temporal'")
    p.add_argument("--name", help="model name for the model card")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate",
        parents=[inputs_with_cases, model, grid, horizon, validation],
        help="evaluate any model file on a dataset; write an HTML evaluation report",
        formatter_class=_Formatter,
    )
    p.add_argument("--out", default="evaluation.html", help="output HTML report")
    p.add_argument(
        "--cv", default="5", help="folds (grouped by case), 'temporal', or 'none' to apply as it is"
    )
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "build-synthetic-model",
        help="rebuild the shipped models/synthetic-logistic-v1.json exactly",
        description="Fits and validates the synthetic demonstration model; with the "
        "defaults it reproduces the shipped file byte for byte.",
        formatter_class=_Formatter,
    )
    p.add_argument("--out", default="models/synthetic-logistic-v1.json", help="model file")
    p.add_argument("--n-cases", type=int, default=20_000, help="synthetic cohort size")
    p.add_argument("--random-state", type=int, default=2101, help="random_state of the cohort")
    p.add_argument("--created", default="2026-11-25", help="date written into the model card")
    p.set_defaults(func=cmd_build_synthetic_model)

    p = sub.add_parser(
        "model",
        help="list shipped models, or print one as a score sheet",
        formatter_class=_Formatter,
    )
    p.add_argument("name", nargs="?", help="model file or shipped name")
    p.set_defaults(func=cmd_model)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``riskscore`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (RiskscoreError, FileNotFoundError, IsADirectoryError) as exc:
        print(f"riskscore {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
