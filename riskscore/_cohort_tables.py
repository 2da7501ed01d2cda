"""Cohort tables of an audit: additive per-chunk summaries, totals, disclosure control.

Cases never span chunks (or Dask partitions), so the per-chunk summaries made here
sum to the cohort's figures; the tables are built once from all of them and then
pass disclosure control, in :func:`riskscore.audit_cohort` and its Dask twin alike.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from riskscore._audit_core import BAND_DTYPE, MIN_GAP, audit_core, chunk_frames
from riskscore._dates import NAT_DAY
from riskscore._parallel import keep_heap, map_threads, resolve_n_jobs, trim_heap
from riskscore._privacy_rules import masked_examples
from riskscore.disclosure import (
    disclose_tables,
    mark_synthetic,
    mark_undisclosed,
    settings_for,
    suppress_statistics,
)
from riskscore.errors import SchemaError
from riskscore.vocabulary import BANDS

__all__ = [
    "TABLE_SPEC",
    "attach_case_columns",
    "audit_chunks",
    "audit_chunk",
    "cohort_links",
    "cohort_tables",
    "control_tables",
    "crossing_partials",
    "merge_frames",
    "orphan_error",
]


_LEAD_BINS = [-1, 30, 90, 180, 365, 730, np.inf]
_LEAD_LABELS = ["0-30", "31-90", "91-180", "181-365", "366-730", "over 730"]


def attach_case_columns(per_case: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    c = cases.drop_duplicates("case_id").copy()
    c.index = c["case_id"].astype(str)
    if "imd_quintile" in c.columns:
        per_case["imd_quintile"] = c["imd_quintile"].reindex(per_case.index).to_numpy()
    else:
        per_case["imd_quintile"] = np.nan
    return per_case


# Which table columns are counts (disclosure-controlled), which rates are recomputed from
# the published counts ({rate: [numerator, denominator]}), which statistics rest on
# which counts ({statistic: [count]}), and which counts are complements of others
# (total_columns: the total is at least the sum; the unpublished remainder, such as the
# crossings that were not false alarms, is a count of people too and is protected).
#: The lead-time table's row of outcome cases that never reached the band before it
_NEVER_BEFORE_OUTCOME = "never reached before outcome"

TABLE_SPEC = {
    "summary": dict(
        count_columns=["n"],
        by=["measure"],
        rate_columns=None,
        # rows (by position): 0 cases in the cases table, 1 with no events, 2 with an
        # outcome, 3 reaching review, 4 reaching MAD, 5 with a join-up gap
        row_relations=[(0, [1, 3]), (0, [1, 5]), (0, [1, 2]), (3, [4])],
    ),
    "lead_times": dict(count_columns=["n_cases"], by=["band", "lead_time_days"]),
    "false_alarms": dict(
        count_columns=["n_crossings", "n_false_alarms", "n_cases_alerted", "n_true_cases_alerted"],
        by=["band"],
        rate_columns={
            "false_alarm_share": ["n_false_alarms", "n_crossings"],
            "alerts_per_true_case": ["n_crossings", "n_true_cases_alerted"],
        },
        total_columns=[
            ("n_crossings", ["n_false_alarms"]),
            ("n_cases_alerted", ["n_true_cases_alerted"]),
        ],
    ),
    "join_up_gap": dict(
        count_columns=["n_cases", "n_cases_with_gap"],
        by=["measure"],
        rate_columns={"share_with_gap": ["n_cases_with_gap", "n_cases"]},
        total_columns=[("n_cases", ["n_cases_with_gap"])],
    ),
    "missed_opportunities": dict(
        count_columns=["n_missed", "n_crossings"],
        by=["band", "held_by"],
        total_columns=[("n_crossings", ["n_missed"])],
    ),
    "agency_share": dict(
        count_columns=["n_crossings_holding"],
        by=["held_by"],
        rate_columns={"share_of_contribution": ["n_crossings_holding"]},
    ),
    "by_deprivation": dict(
        count_columns=[
            "n_cases",
            "n_outcomes",
            "n_reached_review",
            "n_reached_mad",
            "n_outcomes_reached_mad",
            "n_with_gap",
        ],
        by=["imd_quintile"],
        rate_columns={
            "share_reached_mad": ["n_reached_mad", "n_cases"],
            "share_with_gap": ["n_with_gap", "n_cases"],
            # the median is of the outcome cases that reached the band before it: it
            # rests on their count, not on all outcome cases
            "median_lead_mad_days": ["n_outcomes_reached_mad"],
        },
        total_columns=[
            ("n_cases", ["n_outcomes"]),
            ("n_cases", ["n_reached_review"]),
            ("n_reached_review", ["n_reached_mad"]),
            ("n_outcomes", ["n_outcomes_reached_mad"]),
            ("n_reached_mad", ["n_outcomes_reached_mad"]),
            ("n_cases", ["n_with_gap"]),
        ],
    ),
}


def cohort_links(tables: dict) -> list:
    """Cells of one cohort table that add up to a cell of another (one report, one output).

    The tables of a cohort audit are published together, so a hidden cell must not
    come back from another table's margin: the lead-time bins of each band add up
    to the cases with an outcome in the summary, the deprivation rows to the
    summary's counts and to the join-up gap table, the missed-opportunity rows of
    a holder to its row in the agency share table; the summary's children reaching
    each band are the false-alarm table's children alerted in it.
    """
    links = []
    summary, lead = tables["summary"], tables["lead_times"]
    dep, gap = tables["by_deprivation"], tables["join_up_gap"]
    s = summary.index  # rows as in TABLE_SPEC["summary"]
    for band in lead["band"].unique():
        rows = lead.index[lead["band"] == band]
        links.append((("summary", s[2], "n"), [("lead_times", r, "n_cases") for r in rows], True))
    for row, column in ((2, "n_outcomes"), (3, "n_reached_review"), (4, "n_reached_mad")):
        links.append(
            (("summary", s[row], "n"), [("by_deprivation", r, column) for r in dep.index], True)
        )
    # the outcome cases are those that reached multi-agency discussion before their
    # outcome (by deprivation) and those that never did (the lead-time table's row)
    never = lead.index[
        (lead["band"] == BANDS[-1]) & (lead["lead_time_days"] == _NEVER_BEFORE_OUTCOME)
    ]
    if len(never) and "n_outcomes_reached_mad" in dep.columns:
        links.append(
            (
                ("summary", s[2], "n"),
                [("lead_times", never[0], "n_cases")]
                + [("by_deprivation", r, "n_outcomes_reached_mad") for r in dep.index],
                True,
            )
        )
    # the children with a crossing into a band before any outcome are the children
    # reaching it: one count in two tables, hidden in both or in neither
    fa = tables.get("false_alarms")
    if fa is not None:
        for row, band in ((3, BANDS[1]), (4, BANDS[2])):
            rows = fa.index[fa["band"].astype(str) == band]
            if len(rows):
                links.append(
                    (("summary", s[row], "n"), [("false_alarms", rows[0], "n_cases_alerted")], True)
                )
    links.append(
        (("summary", s[5], "n"), [("join_up_gap", gap.index[0], "n_cases_with_gap")], True)
    )
    links.append(
        (
            ("join_up_gap", gap.index[0], "n_cases_with_gap"),
            [("by_deprivation", r, "n_with_gap") for r in dep.index],
            True,
        )
    )
    links.append(
        (
            ("join_up_gap", gap.index[0], "n_cases"),
            [("by_deprivation", r, "n_cases") for r in dep.index],
            True,
        )
    )
    links.append(
        (
            ("summary", s[0], "n"),
            [("summary", s[1], "n"), ("join_up_gap", gap.index[0], "n_cases")],
            True,
        )
    )
    mo, share = tables["missed_opportunities"], tables["agency_share"]
    for r, holder in zip(share.index, share["held_by"], strict=True):
        rows = mo.index[mo["held_by"] == holder]
        if len(rows):
            links.append(
                (
                    ("agency_share", r, "n_crossings_holding"),
                    [("missed_opportunities", m, "n_crossings") for m in rows],
                    True,
                )
            )
    return links


def control_tables(raw: dict, disclosure, *, synthetic=None) -> dict:
    """Disclosure control of a cohort audit's tables, together (they leave as one report)."""
    if disclosure is False:
        out = {
            name: mark_undisclosed(t, reason="audit_cohort(disclosure=False)")
            for name, t in raw.items()
        }
    else:
        settings = settings_for(disclosure)
        specs = {name: {k: v for k, v in TABLE_SPEC[name].items() if v is not None} for name in raw}
        out = disclose_tables(
            raw,
            specs,
            links=cohort_links(raw),
            min_count=settings.min_count,
            round_to=settings.round_to,
            suppress_zero=settings.suppress_zero,
        )
        for name, t in out.items():
            for rate in TABLE_SPEC[name].get("rate_columns") or {}:
                if rate.startswith("median"):
                    # a median is not a count; rounding to 5 days keeps it from pinning a case
                    t[rate] = (pd.to_numeric(t[rate], errors="coerce") / 5).round() * 5
                elif rate == "share_of_contribution":
                    t[rate] = pd.to_numeric(t[rate], errors="coerce").round(2)
                    out[name] = suppress_statistics(
                        t, _second_share(t[rate]), rule=_SECOND_SHARE_RULE
                    )
    if synthetic:
        mark_synthetic(*out.values(), note=synthetic if isinstance(synthetic, str) else "synthetic")
    return out


#: Why a published share is hidden beside a hidden one
_SECOND_SHARE_RULE = (
    "the shares add up to 1, so one hidden share could be worked out from the others; "
    "the smallest published share is hidden with it"
)


def _second_share(share: pd.Series) -> pd.DataFrame:
    """The smallest published share, where it is the only other one to hide.

    The shares add up to 1: one hidden share would be 1 minus the published ones; with
    the smallest published share hidden too, only the two together can be worked out.
    """
    hidden = share.isna().to_numpy()
    shown = np.flatnonzero(~hidden & (share.fillna(0).to_numpy() > 0))
    mask = np.zeros(len(share), dtype=bool)
    if hidden.sum() == 1 and len(shown):
        mask[shown[np.argmin(share.to_numpy()[shown])]] = True
    return pd.DataFrame({share.name: mask}, index=share.index)


def _explode_holders(contribs: pd.DataFrame) -> pd.DataFrame:
    """One row per contributor row and agency that held it (``held_by`` split on ", ").

    As ``.str.split(", ").explode()``, but each distinct holder set (a handful) is
    split once and the rows repeated by code, not every row's text split.
    """
    held = contribs["held_by"]
    if isinstance(held.dtype, pd.CategoricalDtype):
        codes, sets = held.cat.codes.to_numpy(), held.cat.categories
    else:
        codes, sets = pd.factorize(held.to_numpy(dtype=object))
    parts = [str(h).split(", ") for h in sets]
    sizes = np.array([len(p) for p in parts], dtype=np.int64)
    rep = sizes[codes]
    starts = np.cumsum(sizes) - sizes  # where each set's names begin in ``names``
    first = np.repeat(np.cumsum(rep) - rep, rep)  # each exploded row's first copy
    names = np.array([name for p in parts for name in p], dtype=object)
    out = contribs.iloc[np.repeat(np.arange(len(contribs)), rep)].copy()
    # each exploded row's name, as a code among the distinct names (no text per row)
    distinct, name_code = np.unique(names.astype(str), return_inverse=True)
    at = np.repeat(starts[codes], rep) + np.arange(len(out)) - first
    out["held_by"] = pd.Categorical.from_codes(
        name_code[at], categories=pd.Index(distinct.astype(object), dtype=object)
    )
    return out


def crossing_partials(crossings: pd.DataFrame, contribs: pd.DataFrame):
    """Additive summaries of a chunk's crossings and contributors.

    Cases never span chunks (or Dask partitions), so these sum across chunks to the
    cohort's figures; only they, not the long crossing and contributor frames, are
    kept, which bounds the memory of a national-scale audit.
    """
    band_dtype = BAND_DTYPE
    fa_rows = []
    for band in BANDS[1:]:
        if len(crossings):
            cb = crossings[(crossings["band"] == band) & crossings["before_outcome"]]
        else:
            cb = crossings
        n_cross = len(cb)
        fa_rows.append(
            (
                band,
                n_cross,
                int((~cb["true_alarm"]).sum()) if n_cross else 0,
                cb["case_id"].nunique() if n_cross else 0,
                cb.loc[cb["true_alarm"], "case_id"].nunique() if n_cross else 0,
            )
        )
    fa = pd.DataFrame(
        fa_rows,
        columns=[
            "band",
            "n_crossings",
            "n_false_alarms",
            "n_cases_alerted",
            "n_true_cases_alerted",
        ],
    )
    if len(contribs):
        exploded = _explode_holders(contribs)
        names = exploded["held_by"].cat.categories
        band = pd.Categorical(exploded["band"], dtype=band_dtype).codes.astype(np.int64)
        held = exploded["held_by"].cat.codes.to_numpy().astype(np.int64)
        group = band * len(names) + held  # (band, holder) as one code
        # each crossing counts once per holder: its first row for that holder
        crossing = exploded["crossing"].to_numpy().astype(np.int64)
        _, once = np.unique(crossing * len(names) + held, return_index=True)
        n = len(BANDS) * len(names)
        n_crossings = np.bincount(group[once], minlength=n)
        n_missed = np.bincount(
            group[once], weights=exploded["missed"].to_numpy()[once], minlength=n
        )
        points = exploded.groupby(group, sort=True)["contribution"].sum()  # pandas' sum
        seen = np.flatnonzero(n_crossings)
        holders = pd.DataFrame(
            {
                "band": np.asarray(BANDS, dtype=object)[seen // len(names)],
                "held_by": np.asarray(names, dtype=object)[seen % len(names)],
                "n_crossings": n_crossings[seen],
                "n_missed": n_missed[seen].astype(np.int64),
                "contribution": points.reindex(seen).to_numpy(),
            }
        )
    else:
        holders = pd.DataFrame(
            {
                "band": pd.Series([], dtype=object),
                "held_by": pd.Series([], dtype=object),
                "n_crossings": pd.Series([], dtype=np.int64),
                "n_missed": pd.Series([], dtype=np.int64),
                "contribution": pd.Series([], dtype=np.float64),
            }
        )
    holders["band"] = pd.Categorical(holders["band"].astype(str), dtype=band_dtype)
    holders["held_by"] = holders["held_by"].astype(str)  # a few rows: text again
    return fa, holders


def cohort_tables(per_case, fa_part, holder_part, n_cases, n_without_events, horizon, agencies):
    outcome = per_case["outcome_day"].to_numpy() != NAT_DAY
    mad = "multi_agency_discussion"
    summary = pd.DataFrame(
        {
            "measure": [
                "cases in the cases table",
                "cases with no events (not audited)",
                "cases with an outcome",
                "cases reaching review",
                "cases reaching multi-agency discussion",
                "cases with a join-up gap",
            ],
            "n": [
                n_cases,
                n_without_events,
                int(outcome.sum()),
                int(per_case["reached_review"].sum()),
                int(per_case[f"reached_{mad}"].sum()),
                int((per_case["gap_days"] > 0).sum()),
            ],
        }
    )
    lead_rows = []
    for band in BANDS[1:]:
        lt = per_case.loc[outcome, f"lead_{band}"]
        binned = pd.cut(lt.dropna(), _LEAD_BINS, labels=_LEAD_LABELS)
        counts = binned.value_counts().reindex(_LEAD_LABELS, fill_value=0)
        for label, n in counts.items():
            lead_rows.append((band, label, int(n)))
        lead_rows.append((band, _NEVER_BEFORE_OUTCOME, int(lt.isna().sum())))
    lead_times = pd.DataFrame(lead_rows, columns=["band", "lead_time_days", "n_cases"])

    fa_sum = (
        fa_part.groupby("band", sort=False)[
            ["n_crossings", "n_false_alarms", "n_cases_alerted", "n_true_cases_alerted"]
        ]
        .sum()
        .reindex(list(BANDS[1:]), fill_value=0)
    )
    fa_rows = []
    for band, r in fa_sum.iterrows():
        n_cross, n_false = int(r["n_crossings"]), int(r["n_false_alarms"])
        true_cases = int(r["n_true_cases_alerted"])
        fa_rows.append(
            (
                band,
                n_cross,
                n_false,
                int(r["n_cases_alerted"]),
                true_cases,
                n_false / n_cross if n_cross else np.nan,
                n_cross / true_cases if true_cases else np.nan,
            )
        )
    false_alarms = pd.DataFrame(
        fa_rows,
        columns=[
            "band",
            "n_crossings",
            "n_false_alarms",
            "n_cases_alerted",
            "n_true_cases_alerted",
            "false_alarm_share",
            "alerts_per_true_case",
        ],
    )
    false_alarms.attrs["horizon_days"] = horizon

    n_aud = len(per_case)
    n_gap = int((per_case["gap_days"] > 0).sum())
    join_up_gap = pd.DataFrame(
        {
            "measure": ["cases audited"],
            "n_cases": [n_aud],
            "n_cases_with_gap": [n_gap],
            "share_with_gap": [n_gap / n_aud if n_aud else np.nan],
        }
    )

    if len(holder_part):
        mo = (
            holder_part.groupby(["band", "held_by"], observed=True)[["n_crossings", "n_missed"]]
            .sum()
            .reset_index()
        )
        held_tot = holder_part.groupby("held_by")["n_crossings"].sum()
        share = holder_part.groupby("held_by")["contribution"].sum()
        share = share / share.sum() if share.sum() else share
    else:
        mo = pd.DataFrame(columns=["band", "held_by", "n_crossings", "n_missed"])
        held_tot = pd.Series(dtype=float)
        share = pd.Series(dtype=float)
    # (typed also when empty: an empty frame's columns are text, which disclosure
    # control rightly refuses as counts)
    mo = mo.astype({"band": str, "held_by": str, "n_crossings": np.int64, "n_missed": np.int64})
    holders = [*agencies, "only when joined"]
    agency_share = pd.DataFrame(
        {
            "held_by": holders,
            "n_crossings_holding": [int(held_tot.get(a, 0)) for a in holders],
            "share_of_contribution": [float(share.get(a, 0.0)) for a in holders],
        }
    )

    dep_rows = []
    q = per_case["imd_quintile"]
    for value in [*sorted(q.dropna().unique().tolist()), "unknown"]:
        m = (q.isna() if value == "unknown" else q == value).to_numpy()
        if not m.any() and value == "unknown":
            continue
        pc = per_case.loc[m]
        oc = pc["outcome_day"].to_numpy() != NAT_DAY
        dep_rows.append(
            (
                str(value),
                len(pc),
                int(oc.sum()),
                int(pc["reached_review"].sum()),
                int(pc[f"reached_{mad}"].sum()),
                int(pc.loc[oc, f"lead_{mad}"].notna().sum()),
                int((pc["gap_days"] > 0).sum()),
                pc[f"reached_{mad}"].mean() if len(pc) else np.nan,
                (pc["gap_days"] > 0).mean() if len(pc) else np.nan,
                pc.loc[oc, f"lead_{mad}"].median() if oc.any() else np.nan,
            )
        )
    by_dep = pd.DataFrame(
        dep_rows,
        columns=[
            "imd_quintile",
            "n_cases",
            "n_outcomes",
            "n_reached_review",
            "n_reached_mad",
            "n_outcomes_reached_mad",
            "n_with_gap",
            "share_reached_mad",
            "share_with_gap",
            "median_lead_mad_days",
        ],
    )
    return {
        "summary": summary,
        "lead_times": lead_times,
        "false_alarms": false_alarms,
        "join_up_gap": join_up_gap,
        "missed_opportunities": mo,
        "agency_share": agency_share,
        "by_deprivation": by_dep,
    }


def orphan_error(n_orphans: int, examples) -> SchemaError:
    """The error for events whose case is not in the cases table."""
    return SchemaError(
        f"events: {n_orphans} event(s) have a case_id not in cases, for example "
        f"{masked_examples(list(examples)[:10], limit=10)} (masked). Fix: add those cases "
        "or drop the events (riskscore.validate_cases(cases, events) lists their rows)."
    )


#: Where fork is not used: most workers that audit chunks on threads rather than in
#: worker processes. On the project machine (2 cores) two threads audited 100,000
#: children in 4.1-4.8 s, two joblib processes in 4.2 s once running but 6.2 s on a
#: first call (starting them); forked workers took 3.2-3.4 s.
_THREAD_WORKERS = 2


#: What forked workers read from the parent's memory: per call, its sorted events,
#: cases, parameters and chunks (a token per call, so concurrent calls do not mix).
_FORKED: dict[int, tuple] = {}
_FORK_TOKENS = itertools.count()


def _fork_context():
    """multiprocessing's fork context on Linux, else None (fork is unsafe on macOS and
    absent on Windows; the environment variable RISKSCORE_FORK=0 turns it off, and a
    daemonic process, such as a multiprocessing pool's worker, may not fork)."""
    if os.environ.get("RISKSCORE_FORK", "").strip() == "0":
        return None
    if multiprocessing.current_process().daemon:
        return None  # a daemonic process (a pool's worker) may not have children
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return None


def _chunk_inputs(ev_sorted: pd.DataFrame, cases: pd.DataFrame, chunk) -> tuple:
    """A chunk's events (a slice of the events sorted by case) and its cases."""
    lo, hi, mine = chunk
    return ev_sorted.iloc[lo:hi], cases.loc[mine]


def _audit_forked(job: tuple[int, int]) -> tuple:
    """One chunk audited in a forked worker, from the data its parent left in memory."""
    token, i = job
    ev_sorted, cases, params, chunks = _FORKED[token]
    return audit_chunk(*_chunk_inputs(ev_sorted, cases, chunks[i]), n_jobs=1, **params)


def audit_chunks(
    events: pd.DataFrame,
    cases: pd.DataFrame,
    model,
    *,
    response_window: int,
    recent_window: int,
    horizon: int,
    agencies,
    extract_end: int,
    chunk_size: int,
    coverage=None,
    keep_column: str | None = None,
    progress: bool = False,
    min_gap: int = MIN_GAP,
    n_jobs=1,
    alongside=None,
) -> dict:
    """Audit ``cases`` chunk by chunk and keep only additive summaries of each chunk.

    Events are grouped by case in cases-table order, so each chunk is one slice.
    Returns ``n_audited`` (distinct cases), ``orphans`` / ``orphan_ids`` (events whose
    case is not in ``cases``: nothing is audited then) and ``frames``, one
    ``(per_case, false_alarm_partial, holder_partial)`` per chunk. ``keep_column``
    names a column of ``cases`` copied onto the per-case frame (the Dask path's
    cases-table position). With ``n_jobs`` above 1, chunks are audited by that many
    workers (None: every core): processes forked from this one on Linux; otherwise
    threads of this process for up to ``_THREAD_WORKERS``, worker processes beyond;
    the tables are the same. ``alongside``, a function of no arguments, is run on a
    thread of this process while worker processes audit (this process would only
    wait for them); its result is ``out["alongside"]``, absent when no worker
    process ran.
    """
    from tqdm.auto import tqdm

    case_ids = cases["case_id"].astype(str)
    audited = pd.Index(pd.unique(case_ids))
    case_code = audited.get_indexer(case_ids)  # each cases row's position in ``audited``
    # each event's position, looking up each distinct id once (not a string per event)
    ev_cat = pd.Categorical(events["case_id"])
    id_text = np.asarray(ev_cat.categories, dtype=object).astype(str)
    ev_code = np.append(audited.get_indexer(id_text), -1)[ev_cat.codes]
    orphan = ev_code < 0
    orphan_codes = pd.unique(ev_cat.codes[orphan])[:10]
    out = {
        "n_rows": len(cases),
        "n_audited": len(audited),
        "orphans": int(orphan.sum()),
        "orphan_ids": [str(id_text[c]) if c >= 0 else "nan" for c in orphan_codes],
        "frames": [],
    }
    if orphan.any() or len(events) == 0:
        return out
    order = np.argsort(ev_code, kind="stable")
    ev_sorted, ev_code = events.iloc[order], ev_code[order]
    keep = None
    if keep_column is not None:
        keep = pd.Series(cases[keep_column].to_numpy(), index=case_ids.to_numpy())
        keep = keep[~keep.index.duplicated()]
    n_chunks = -(-len(audited) // chunk_size)
    workers = resolve_n_jobs(n_jobs)
    # several workers: on Linux, processes forked from this one (they start at once
    # and read the events from its memory); elsewhere up to _THREAD_WORKERS threads
    # of this process, and more as worker processes that are sent each chunk (the
    # audit's pandas work holds the GIL, which more threads would queue for)
    fork = _fork_context() if workers > 1 else None
    threads = fork is None and 1 < workers <= _THREAD_WORKERS
    jobs = workers if (threads or fork is not None) else min(workers, n_chunks)
    if jobs > 1:
        # at least two chunks per worker, in a multiple of the workers, so that no
        # worker idles at the end; the tables do not depend on the chunking
        n_chunks = -(-max(n_chunks, 2 * jobs) // jobs) * jobs
    size = -(-len(audited) // n_chunks)
    params = {
        "model": model,
        "response_window": response_window,
        "recent_window": recent_window,
        "horizon": horizon,
        "agencies": agencies,
        "extract_end": extract_end,
        "coverage": coverage,
        "keep_column": keep_column,
        "keep": keep,
        "min_gap": min_gap,
    }
    chunks = []
    for a in range(0, len(audited), size):
        b = min(a + size, len(audited))
        lo, hi = np.searchsorted(ev_code, [a, b])
        if hi > lo:
            chunks.append((lo, hi, (case_code >= a) & (case_code < b)))
    bar = tqdm(total=len(chunks), desc="audit", unit="chunk", disable=not progress)
    with bar:
        if fork is not None:
            token = next(_FORK_TOKENS)
            _FORKED[token] = (ev_sorted, cases, params, chunks)
            try:
                trim_heap()
                with fork.Pool(min(jobs, len(chunks)), initializer=keep_heap) as pool:
                    # started once the workers are forked: no thread of ours is
                    # copied into them mid-work
                    with _alongside(alongside, out):
                        jobs_of = [(token, i) for i in range(len(chunks))]
                        for frames in pool.imap(_audit_forked, jobs_of):
                            out["frames"].append(frames)
                            bar.update()
            finally:
                del _FORKED[token]
        elif threads:

            def run_chunk(chunk) -> tuple:
                frames = audit_chunk(*_chunk_inputs(ev_sorted, cases, chunk), n_jobs=1, **params)
                bar.update()
                return frames

            out["frames"].extend(map_threads(run_chunk, chunks, jobs))
        elif jobs == 1:
            for chunk in chunks:
                # one chunk at a time: its encodings use the threads instead
                inputs = _chunk_inputs(ev_sorted, cases, chunk)
                out["frames"].append(audit_chunk(*inputs, n_jobs=workers, **params))
                bar.update()
        else:
            # one process per core, each auditing whole chunks (the audit is mostly
            # pandas work, which threads could not share); each chunk's events and
            # cases are sent only when a worker is free for it
            from joblib import Parallel, delayed

            run = Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="n_jobs")
            work = (
                delayed(audit_chunk)(*_chunk_inputs(ev_sorted, cases, chunk), n_jobs=1, **params)
                for chunk in chunks
            )
            with _alongside(alongside, out):
                for frames in run(work):
                    out["frames"].append(frames)
                    bar.update()
    return out


@contextlib.contextmanager
def _alongside(fn, out: dict):
    """Run ``fn`` on a thread for the length of a ``with`` block; its result lands in
    ``out["alongside"]`` (its exception is raised at the block's end)."""
    if fn is None:
        yield
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskscore-alongside") as pool:
        future = pool.submit(fn)
        yield
        out["alongside"] = future.result()


def audit_chunk(
    events: pd.DataFrame,
    chunk_cases: pd.DataFrame,
    model,
    *,
    response_window: int,
    recent_window: int,
    horizon: int,
    agencies,
    extract_end: int,
    coverage=None,
    keep_column: str | None = None,
    keep: pd.Series | None = None,
    min_gap: int = MIN_GAP,
    n_jobs=None,
) -> tuple:
    """``(per_case, false_alarm_partial, holder_partial)`` of one chunk of cases."""
    if keep_column is not None:
        chunk_cases = chunk_cases.drop(columns=keep_column)
    core = audit_core(
        events,
        chunk_cases,
        model,
        None,  # cohort figures come from the exact change days; no plotted grid
        response_window,
        recent_window,
        agencies,
        extract_end,
        coverage,
        min_gap,
        n_jobs,
        per_agency=False,  # the cohort tables read only the best agency band per row
    )
    pc, cr, contrib = chunk_frames(core, horizon)
    pc = attach_case_columns(pc, chunk_cases)
    if keep is not None:
        pc[keep_column] = keep.reindex(pc.index.astype(str)).to_numpy()
    # only additive summaries of the crossings are kept: the long crossing and
    # contributor frames would not fit in memory at national scale
    return (pc, *crossing_partials(cr, contrib))


def merge_frames(frames) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per-case frames stacked, and the crossing summaries of every chunk stacked."""
    if not frames:
        empty = crossing_partials(pd.DataFrame(), pd.DataFrame())
        return pd.DataFrame(), empty[0], empty[1]
    per_case, fa_parts, holder_parts = zip(*frames, strict=True)
    return (
        pd.concat(per_case),
        pd.concat(fa_parts, ignore_index=True),
        pd.concat(holder_parts, ignore_index=True),
    )
