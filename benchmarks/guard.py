"""Cost of the identifying-data guard against reading the same CSV file.

Run: ``python benchmarks/guard.py [--events 1000000] [--repeat 3]``

Writes a synthetic events extract of about ``--events`` rows as CSV (the contract's
six columns plus a free-form ``site`` label column, as text the way extracts arrive),
then in the same process, best of ``--repeat``:

- the reference: reading the file as :func:`riskscore.read_events` reads it
  (``pandas.read_csv``, every column as text);
- the guard alone (:func:`riskscore.check_identifying`, every row of every column),
  as time and as a ratio to the read (target: at most 1x);
- the guard with one identifying value planted in the last row (it must be found);
- the whole of ``read_events`` (read, guard, validation, typing), for scale.

The guard looks at each column's distinct values, so its cost grows with them:
``--distinct`` gives the ``site`` column a different value on every row (the worst
case, e.g. a reference number per event) instead of 40 labels.

Figures are ratios against a reference run in the same process; nothing here is
asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import riskscore as rs


def best_of(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def extract(n_events: int, folder: Path, distinct: bool = False) -> Path:
    """A synthetic events CSV of about ``n_events`` rows (~49 events a case)."""
    events, _ = rs.make_cohort(max(1, n_events // 49), random_state=0)
    df = events.astype({"case_id": str, "agency": str, "event": str})
    for col in ("date", "recorded_date"):
        df[col] = df[col].dt.strftime("%Y-%m-%d").fillna("")
    df["value"] = df["value"].map(lambda v: "" if np.isnan(v) else f"{v:.3f}")
    rng = np.random.default_rng(0)
    df["site"] = np.asarray([f"site {i}" for i in range(40)], dtype=object)[
        rng.integers(0, 40, len(df))
    ]
    if distinct:
        df["site"] = [f"ref {i:08d}" for i in rng.permutation(len(df))]
    path = folder / "events.csv"
    df.to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--distinct", action="store_true", help="a new site value every row")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = extract(args.events, Path(tmp), args.distinct)
        size = path.stat().st_size / 1e6

        def read():
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])

        t_read, df = best_of(read, args.repeat)
        t_guard, problems = best_of(lambda: rs.check_identifying(df), args.repeat)
        planted = df.copy()
        planted.loc[len(planted) - 1, "site"] = "999 123 4578"  # test prefix, passes mod 11
        t_planted, found = best_of(lambda: rs.check_identifying(planted), args.repeat)
        t_all, _ = best_of(lambda: rs.read_events(path), args.repeat)
    site = f"{df['site'].nunique():,} distinct site values"
    print(f"events CSV: {len(df):,} rows x {df.shape[1]} columns, {size:.0f} MB, {site}")
    print(f"read_csv (reference)        {t_read:7.2f} s")
    print(f"guard, every row            {t_guard:7.2f} s   {t_guard / t_read:5.2f} x read")
    print(
        f"guard, one planted value    {t_planted:7.2f} s   {t_planted / t_read:5.2f} x read"
        f"   found: {[(p['column'], p['check'], p['rows']) for p in found]}"
    )
    print(f"read_events (all of it)     {t_all:7.2f} s   {t_all / t_read:5.2f} x read")
    print(f"problems in the clean file: {len(problems)}")


if __name__ == "__main__":
    main()
