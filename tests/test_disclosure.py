"""Statistical disclosure control: no small count leaves, and none can be recovered.

Expected values are worked out by hand or by independent arithmetic in the test
(integer half-up rounding, an attacker that solves totals), never read from the code.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskscore._version import __version__
from riskscore.disclosure import (
    DISCLOSURE_ATTR,
    MIN_COUNT_FLOOR,
    UNDISCLOSED_WARNING,
    DisclosureSettings,
    apply_disclosure,
    check_disclosure,
    check_publishable,
    describe_settings,
    disclose,
    disclose_tables,
    disclosure_manifest,
    hash_input,
    is_synthetic,
    mark_statistics,
    mark_synthetic,
    mark_undisclosed,
    protect_nested,
    provenance,
    rates_from_published,
    read_table,
    suppress_statistics,
    write_table,
)
from riskscore.errors import DisclosureError, ParameterError, RiskscoreError

# (min_count, round_to) pairs a secure environment might set; all valid.
SETTINGS = [(10, 5), (10, 1), (10, 10), (5, 5), (5, 1), (20, 10), (11, 1)]

# Mostly small counts, so that suppression is exercised hard, plus some large ones.
cell_counts = st.one_of(st.integers(0, 15), st.integers(0, 1000))


def round_half_up(x: int, r: int) -> int:
    """Integer rounding to the nearest multiple of r, halves upwards."""
    return ((2 * x + r) // (2 * r)) * r


def one_way_table(counts: list[int], with_rate: bool = True) -> pd.DataFrame:
    labels = [f"group_{i}" for i in range(len(counts))] + ["Total"]
    n = [*counts, sum(counts)]
    table = pd.DataFrame({"group": labels, "n": n})
    if with_rate:
        total = max(sum(counts), 1)
        table["share"] = [x / total for x in n]
    return table


def two_way_table(grid: list[list[int]]) -> pd.DataFrame:
    """Interior cells of a rows x columns grid plus both margins and the grand total."""
    rows = []
    n_cols = len(grid[0])
    for i, line in enumerate(grid):
        for j, x in enumerate(line):
            rows.append((f"r{i}", f"c{j}", x))
        rows.append((f"r{i}", "Total", sum(line)))
    for j in range(n_cols):
        rows.append(("Total", f"c{j}", sum(line[j] for line in grid)))
    rows.append(("Total", "Total", sum(map(sum, grid))))
    return pd.DataFrame(rows, columns=["band", "agency", "n"])


def equations(table: pd.DataFrame) -> list[tuple[int, list[int]]]:
    """(total row, member rows) for every published total, built from the labels.

    Written independently of the library: a row labelled Total in one key column is
    the sum of the rows that share its other key and are not Total in that column.
    """
    keys = [c for c in ("group", "band", "agency") if c in table.columns]
    eqs = []
    for t in range(len(table)):
        for k in keys:
            if table[k].iloc[t] != "Total":
                continue
            others = [o for o in keys if o != k]
            members = [
                r
                for r in range(len(table))
                if table[k].iloc[r] != "Total"
                and all(table[o].iloc[r] == table[o].iloc[t] for o in others)
            ]
            if members:
                eqs.append((t, members))
    return eqs


def attack(published: list[float | None], eqs: list[tuple[int, list[int]]]) -> dict[int, float]:
    """Recover hidden cells by subtraction, repeatedly, as an intruder would.

    Uses every equation "total = sum of members" with exactly one unknown, and the
    non-negativity of counts (unknowns whose known remainder is zero are all zero).
    Returns the recovered cells.
    """
    known = {i: v for i, v in enumerate(published) if v is not None}
    recovered: dict[int, float] = {}
    changed = True
    while changed:
        changed = False
        for t, members in eqs:
            cells = [t, *members]
            unknown = [c for c in cells if c not in known]
            if not unknown:
                continue
            if t in known:
                remainder = known[t] - sum(known[m] for m in members if m in known)
                if len(unknown) == 1:
                    solved = {unknown[0]: remainder}
                elif remainder == 0:
                    solved = dict.fromkeys(unknown, 0)
                else:
                    continue
            elif len(unknown) == 1:
                solved = {t: sum(known[m] for m in members)}
            else:
                continue
            known.update(solved)
            recovered.update(solved)
            changed = True
    return recovered


def published_counts(out: pd.DataFrame, column: str = "n") -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in out[column]]


# -- properties -------------------------------------------------------------------------


@given(
    counts=st.lists(cell_counts, min_size=1, max_size=8),
    setting=st.sampled_from(SETTINGS),
)
def test_no_small_count_is_published(counts, setting):
    min_count, round_to = setting
    table = one_way_table(counts)
    out = disclose(table, min_count=min_count, round_to=round_to)
    shown = out["n"].dropna().astype(int)
    assert not ((shown >= 1) & (shown < min_count)).any()
    check_disclosure(out)


@given(
    counts=st.lists(cell_counts, min_size=1, max_size=8),
    setting=st.sampled_from(SETTINGS),
)
def test_published_counts_are_true_counts_rounded(counts, setting):
    min_count, round_to = setting
    table = one_way_table(counts)
    out = disclose(table, min_count=min_count, round_to=round_to)
    for true, shown in zip(table["n"], out["n"], strict=True):
        if pd.isna(shown):
            continue
        assert shown % round_to == 0
        assert shown == round_half_up(int(true), round_to)
        assert abs(shown - true) <= round_to / 2


@given(
    counts=st.lists(cell_counts, min_size=1, max_size=8),
    setting=st.sampled_from(SETTINGS),
)
def test_small_counts_are_suppressed_and_large_ones_kept_unless_protecting(counts, setting):
    min_count, round_to = setting
    table = one_way_table(counts)
    out = disclose(table, min_count=min_count, round_to=round_to)
    hidden = out["n"].isna().to_numpy()
    small = ((table["n"] >= 1) & (table["n"] < min_count)).to_numpy()
    assert hidden[small].all()
    # With a single total, at most one cell more than the small ones is needed
    # (the smallest other one), or the total itself.
    extra = hidden & ~small
    assert extra.sum() <= 2


@given(
    counts=st.lists(cell_counts, min_size=1, max_size=8),
    setting=st.sampled_from(SETTINGS),
    suppress_zero=st.booleans(),
)
def test_no_suppressed_cell_recoverable_from_one_way_total(counts, setting, suppress_zero):
    min_count, _ = setting
    table = one_way_table(counts, with_rate=False)
    # round_to=1: the attacker sees exact counts, the hardest case for protection.
    out = disclose(table, min_count=min_count, round_to=1, suppress_zero=suppress_zero)
    recovered = attack(published_counts(out), equations(table))
    assert recovered == {}
    # The total minus the published cells gives the combined hidden count: it must
    # not itself be a small count.
    hidden = out["n"].isna().to_numpy()
    if hidden.any() and not hidden[-1]:
        combined = int(table["n"][hidden].sum())
        assert combined >= min_count


@given(
    grid=st.integers(2, 4).flatmap(
        lambda n_cols: st.lists(
            st.lists(cell_counts, min_size=n_cols, max_size=n_cols), min_size=1, max_size=4
        )
    ),
    setting=st.sampled_from(SETTINGS),
)
def test_no_suppressed_cell_recoverable_from_two_way_margins(grid, setting):
    min_count, _ = setting
    table = two_way_table(grid)
    out = disclose(table, min_count=min_count, round_to=1)
    shown = out["n"].dropna()
    assert not ((shown >= 1) & (shown < min_count)).any()
    recovered = attack(published_counts(out), equations(table))
    assert recovered == {}


@given(
    counts=st.lists(cell_counts, min_size=1, max_size=8),
    setting=st.sampled_from(SETTINGS),
)
def test_rates_from_suppressed_counts_are_suppressed(counts, setting):
    min_count, round_to = setting
    table = one_way_table(counts)
    out = disclose(table, min_count=min_count, round_to=round_to)
    hidden = out["n"].isna()
    assert out.loc[hidden, "share"].isna().all()
    # the share of the Total row is recomputed from the published (rounded) counts,
    # so it cannot give the exact counts back
    total = float(out["n"].iloc[-1]) if not pd.isna(out["n"].iloc[-1]) else math.nan
    for shown, share in zip(out.loc[~hidden, "n"], out.loc[~hidden, "share"], strict=True):
        if total > 0:
            assert share == pytest.approx(float(shown) / total, rel=1e-12)
        elif math.isnan(total):
            assert math.isnan(share)
        else:  # nothing to share: every count is 0
            assert share == 0 or math.isnan(share)


@given(
    grid=st.lists(st.lists(cell_counts, min_size=3, max_size=3), min_size=1, max_size=4),
    setting=st.sampled_from(SETTINGS),
)
def test_manifest_lists_every_suppressed_cell_and_no_values(grid, setting):
    min_count, round_to = setting
    table = two_way_table(grid)
    table["rate"] = np.linspace(0.0, 1.0, len(table))
    out = disclose(table, min_count=min_count, round_to=round_to)
    manifest = disclosure_manifest(out)
    assert list(manifest.columns) == ["row", "key", "column", "reason"]
    cells = manifest[manifest["row"].notna()]
    listed = set(zip(cells["row"], cells["column"], strict=True))
    hidden_counts = {(r, "n") for r in out.index[out["n"].isna()]}
    hidden_rates = {(r, "rate") for r in out.index[out["rate"].isna()]}
    assert listed == hidden_counts | hidden_rates
    # one reason for every hidden count: which were small (primary) and which protect
    # them (secondary) is not said, since that would narrow a hidden cell down
    assert set(cells.loc[cells["column"] == "n", "reason"].str.split(":").str[0]) <= {"suppressed"}
    assert not cells["reason"].str.contains("primary|secondary").any()
    reasons = set(cells["reason"].str.split(":").str[0])
    assert reasons <= {"suppressed", "derived"}
    # keys name the row's labels, so an output checker can find the cell
    for row, key in zip(cells["row"], cells["key"], strict=True):
        assert key == f"band={table.at[row, 'band']}, agency={table.at[row, 'agency']}"


# -- worked examples ---------------------------------------------------------------------


def test_worked_example_one_way():
    table = pd.DataFrame(
        {
            "band": ["none", "review", "multi_agency_discussion", "Total"],
            "n_cases": [120, 4, 23, 147],
            "share": [120 / 147, 4 / 147, 23 / 147, 1.0],
        }
    )
    out = disclose(table)
    # 4 is small; the next smallest (23) protects it; 120 -> 120, 147 -> 145.
    assert out["n_cases"].dtype == "Int64"
    assert out["n_cases"].tolist() == [120, pd.NA, pd.NA, 145]
    assert out["share"].isna().tolist() == [False, True, True, False]
    manifest = disclosure_manifest(out)
    cells = manifest[manifest["row"].notna()]
    assert list(zip(cells["row"], cells["column"], cells["reason"].str[:7], strict=True)) == [
        (1, "n_cases", "suppres"),
        (1, "share", "derived"),
        (2, "n_cases", "suppres"),
        (2, "share", "derived"),
    ]
    assert manifest["reason"].iloc[-1] == "rounded: to the nearest 5"
    # the share is a share of the Total row: recomputed from the published counts
    assert out["share"].tolist()[0] == pytest.approx(120 / 145)
    assert out["share"].tolist()[3] == 1.0
    assert table["n_cases"].tolist() == [120, 4, 23, 147]  # input untouched


def test_worked_example_two_way_needs_a_cycle():
    # band x agency with margins: the small cell (review, gp) = 3 needs a second cell
    # in its row and its column, and those need a fourth: a 2x2 cycle.
    table = two_way_table([[3, 40], [25, 30]])
    out = disclose(table, round_to=1)
    interior = out[(out["band"] != "Total") & (out["agency"] != "Total")]
    assert interior["n"].isna().all()
    margins = out[(out["band"] == "Total") | (out["agency"] == "Total")]
    assert margins["n"].tolist() == [43, 55, 28, 70, 98]


def test_all_other_cells_zero_means_the_total_is_suppressed():
    table = one_way_table([0, 0, 6], with_rate=False)
    out = disclose(table)
    assert out["n"].tolist() == [0, 0, pd.NA, pd.NA]


def test_suppress_zero_hides_zeros_and_protects_them():
    table = one_way_table([0, 50, 60], with_rate=False)
    kept = disclose(table, round_to=1)
    assert kept["n"].tolist() == [0, 50, 60, 110]
    out = disclose(table, round_to=1, suppress_zero=True)
    assert out["n"].tolist() == [pd.NA, pd.NA, 60, 110]
    reasons = disclosure_manifest(out)["reason"]
    assert reasons.iloc[0] == reasons.iloc[1]  # the zero and its protector look alike


def test_total_columns_protect_across_a_row():
    table = pd.DataFrame({"sex": ["f", "m"], "n_total": [20, 50], "n_a": [5, 15], "n_b": [15, 35]})
    out = disclose(table, total_columns={"n_total": ["n_a", "n_b"]}, round_to=1)
    assert out["n_a"].tolist() == [pd.NA, 15]
    assert out["n_b"].tolist() == [pd.NA, 35]
    assert out["n_total"].tolist() == [20, 50]


def test_explicit_total_rows_by_label():
    table = pd.DataFrame({"group": ["a", "b", "c", "everyone"], "n": [5, 30, 40, 75]})
    out = disclose(table, total_rows=[3], round_to=1)
    assert out["n"].tolist() == [pd.NA, pd.NA, 40, 75]
    mask = np.array([False, False, False, True])
    assert disclose(table, total_rows=mask, round_to=1)["n"].tolist() == [pd.NA, pd.NA, 40, 75]
    # without the hint, the structure says it: 75 is the sum of the other rows
    assert disclose(table, round_to=1)["n"].tolist() == [pd.NA, pd.NA, 40, 75]


def test_rate_columns_mapping_follows_only_its_counts():
    table = pd.DataFrame(
        {"agency": ["gp", "school"], "alerts": [4, 30], "cases": [50, 60], "ppv": [0.1, 0.2]}
    )
    out = disclose(table, rate_columns={"ppv": ["cases"]}, round_to=1)
    assert out["alerts"].tolist() == [pd.NA, 30]
    assert out["ppv"].tolist() == [0.1, 0.2]
    out = disclose(table, rate_columns={"ppv": ["alerts"]}, round_to=1)
    assert out["ppv"].isna().tolist() == [True, False]


def test_inference_of_counts_keys_and_statistics():
    table = pd.DataFrame(
        {
            "agency": ["gp", "school"],
            "n": [3, 30],
            "median_lead_days": [40.0, 55.0],
        }
    )
    out = disclose(table)
    # the median describes the same 3 cases as the count: it goes too
    assert out["median_lead_days"].isna().tolist() == [True, False]
    stamp = out.attrs[DISCLOSURE_ATTR]
    assert stamp["count_columns"] == ["n"]
    assert stamp["by"] == ["agency"]
    assert stamp["settings"] == {"min_count": 10, "round_to": 5, "suppress_zero": False}


def test_integer_key_is_refused_until_named():
    table = pd.DataFrame({"imd_quintile": [1, 2], "n": [3, 40]})
    with pytest.raises(DisclosureError, match=r"imd_quintile.*by="):
        disclose(table)
    out = disclose(table, by="imd_quintile")
    assert out["imd_quintile"].tolist() == [1, 2]
    assert out["n"].tolist() == [pd.NA, 40]


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([1.5, 20.0], r"'n'.*row\(s\) 0"),
        ([20, -3], r"'n'.*row\(s\) 1"),
        ([20.0, math.inf], r"'n'.*row\(s\) 1"),
    ],
)
def test_bad_counts_are_refused_with_column_and_row(values, match):
    table = pd.DataFrame({"g": ["a", "b"], "n": values})
    with pytest.raises(DisclosureError, match=match):
        disclose(table)


def test_errors_for_tables_without_counts_or_unknown_columns():
    with pytest.raises(DisclosureError, match="no count columns"):
        disclose(pd.DataFrame({"g": ["a"], "auroc": [0.7]}))
    with pytest.raises(DisclosureError, match="missing_col"):
        disclose(pd.DataFrame({"n": [3]}), count_columns=["missing_col"])
    with pytest.raises(DisclosureError, match="not count columns"):
        disclose(pd.DataFrame({"n": [3], "r": [0.1]}), rate_columns={"r": ["m"]})
    assert issubclass(DisclosureError, RiskscoreError)


@pytest.mark.parametrize(
    ("min_count", "round_to", "error"),
    [
        (7, 5, DisclosureError),
        (0, 5, ParameterError),
        (10, 0, ParameterError),
        (10, True, ParameterError),
        (12, 10, DisclosureError),
    ],
)
def test_settings_that_would_publish_small_counts_are_refused(min_count, round_to, error):
    with pytest.raises(error):
        DisclosureSettings(min_count=min_count, round_to=round_to)


def test_missing_input_counts_stay_missing_and_are_not_listed():
    table = pd.DataFrame({"g": ["a", "b", "c"], "n": pd.array([None, 30, 4], dtype="Int64")})
    out = disclose(table, round_to=1)
    assert out["n"].tolist() == [pd.NA, 30, pd.NA]
    listed = disclosure_manifest(out).dropna(subset=["row"])
    assert listed["row"].tolist() == [2]


def test_apply_disclosure_routes_every_setting():
    table = pd.DataFrame({"g": ["a", "b"], "n_cases": [6, 43]})
    assert apply_disclosure(table)["n_cases"].tolist() == [pd.NA, 45]
    assert apply_disclosure(table, {"min_count": 5, "round_to": 1})["n_cases"].tolist() == [6, 43]
    custom = apply_disclosure(table, DisclosureSettings(min_count=5, round_to=5))
    assert custom["n_cases"].tolist() == [5, 45]
    off = apply_disclosure(table, False, reason="inside the environment")
    assert off["n_cases"].tolist() == [6, 43]
    assert off.attrs[DISCLOSURE_ATTR]["reason"] == "inside the environment"
    with pytest.raises(ParameterError, match="disclosure"):
        apply_disclosure(table, "yes")


def test_check_disclosure_catches_edits_and_missing_stamps():
    out = disclose(pd.DataFrame({"g": ["a", "b"], "n": [30, 40]}))
    out.loc[0, "n"] = 3
    with pytest.raises(DisclosureError, match=r"'n'.*below min_count.*row\(s\) 0"):
        check_disclosure(out)
    out.loc[0, "n"] = 33
    with pytest.raises(DisclosureError, match="not rounded to 5"):
        check_disclosure(out)
    with pytest.raises(DisclosureError, match="no disclosure stamp"):
        check_disclosure(pd.DataFrame({"n": [3]}))
    check_disclosure(mark_undisclosed(pd.DataFrame({"n": [3]})))


# -- undisclosed output, writing and provenance --------------------------------------------


def test_mark_undisclosed_says_so():
    table = pd.DataFrame({"case_id": ["c1"], "n_events": [3]})
    out = mark_undisclosed(table, reason="case-level timeline")
    stamp = out.attrs[DISCLOSURE_ATTR]
    assert stamp["applied"] is False
    assert stamp["warning"].startswith("DISCLOSURE CONTROL OFF")
    assert "secure environment" in stamp["warning"]
    assert out["n_events"].tolist() == [3]
    assert DISCLOSURE_ATTR not in table.attrs
    assert disclosure_manifest(out).empty


def test_write_table_undisclosed_warns_in_its_sidecar_and_reads_plainly(tmp_path):
    table = mark_undisclosed(pd.DataFrame({"case_id": ["c1", "c2"], "n_events": [3, 4]}))
    path = write_table(table, tmp_path / "cases.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == ["case_id,n_events", "c1,3", "c2,4"]
    # plain pandas reads it without options
    pd.testing.assert_frame_equal(pd.read_csv(path), pd.DataFrame(table))
    sidecar = json.loads((tmp_path / "cases.csv.provenance.json").read_text(encoding="utf-8"))
    assert next(iter(sidecar)) == "warning" and sidecar["warning"] == UNDISCLOSED_WARNING
    assert sidecar["disclosure"]["applied"] is False
    assert sidecar["disclosure"]["warning"] == UNDISCLOSED_WARNING
    back = read_table(path)
    assert back["n_events"].tolist() == [3, 4]
    assert back.attrs[DISCLOSURE_ATTR]["applied"] is False


def test_write_table_disclosed_writes_marks_manifest_and_provenance(tmp_path):
    events = pd.DataFrame({"case_id": ["c1", "c2"], "date": ["2101-01-05", "2101-02-09"]})
    table = pd.DataFrame(
        {"band": ["review", "none", "Total"], "n": [4, 61, 65], "share": [4 / 65, 61 / 65, 1.0]}
    )
    out = disclose(table)
    prov = provenance({"grid": "14D", "response_window": 28}, {"events": events})
    path = write_table(out, tmp_path / "sub" / "bands.csv", provenance=prov)
    text = path.read_text(encoding="utf-8").splitlines()
    assert text[0] == "band,n,share"
    assert text[1] == "review,[c],[c]"
    assert text[2] == "none,[c],[c]"
    assert text[3] == "Total,65,1.0"
    assert not any("DISCLOSURE CONTROL OFF" in line for line in text)
    sidecar = json.loads((path.parent / "bands.csv.provenance.json").read_text(encoding="utf-8"))
    assert sidecar["version"] == __version__
    assert sidecar["params"] == {"grid": "14D", "response_window": 28}
    assert sidecar["inputs"]["events"]["sha256"] == hash_input(events)
    assert sidecar["disclosure"]["settings"] == {
        "min_count": 10,
        "round_to": 5,
        "suppress_zero": False,
    }
    listed = {(m["row"], m["column"]) for m in sidecar["manifest"] if m["row"] is not None}
    assert listed == {(0, "n"), (0, "share"), (1, "n"), (1, "share")}
    back = read_table(path)
    assert back["n"].tolist() == [pd.NA, pd.NA, 65]
    assert back["share"].isna().tolist() == [True, True, False]
    check_disclosure(back)


def test_write_table_refuses_unstamped_or_unsafe_tables(tmp_path):
    with pytest.raises(DisclosureError, match="no disclosure stamp"):
        write_table(pd.DataFrame({"n": [3]}), tmp_path / "x.csv")
    out = disclose(pd.DataFrame({"g": ["a", "b"], "n": [30, 40]}))
    out.loc[1, "n"] = 2
    with pytest.raises(DisclosureError, match="below min_count"):
        write_table(out, tmp_path / "y.csv")
    assert not (tmp_path / "x.csv").exists()
    assert not (tmp_path / "y.csv").exists()


def test_provenance_records_version_time_hashes_and_settings(tmp_path):
    events = pd.DataFrame({"case_id": ["c1", "c2"], "value": [0.9, 0.8]})
    file = tmp_path / "events.csv"
    file.write_bytes(b"case_id,value\nc1,0.9\n")
    prov = provenance(
        {"as_of": pd.Timestamp("2105-03-01"), "weights": np.array([1.0, 2.0]).tolist()},
        {"events": events, "raw": file},
        DisclosureSettings(min_count=5, round_to=5),
    )
    json.dumps(prov)  # serialisable
    assert prov["version"] == __version__
    created = datetime.fromisoformat(prov["created_utc"])
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0
    assert prov["inputs"]["raw"] == {
        "kind": "file",
        "name": "events.csv",
        "sha256": hashlib.sha256(b"case_id,value\nc1,0.9\n").hexdigest(),
    }
    assert prov["params"]["as_of"] == "2105-03-01T00:00:00"
    assert prov["disclosure"] == {"min_count": 5, "round_to": 5, "suppress_zero": False}
    assert provenance(disclosure=False)["disclosure"]["warning"] == UNDISCLOSED_WARNING


def test_provenance_refuses_secrets_and_data_as_params():
    with pytest.raises(DisclosureError, match="pseudonymisation_key"):
        provenance({"pseudonymisation_key": "abc"})
    with pytest.raises(DisclosureError, match="salt"):
        provenance({"privacy": {"salt": "abc"}})
    with pytest.raises(DisclosureError, match="not data"):
        provenance({"table": pd.DataFrame({"a": [1]})})


def test_dataframe_hash_is_content_hash():
    a = pd.DataFrame({"case_id": ["c1", "c2"], "value": [0.5, 0.25]})
    same = pd.DataFrame({"case_id": ["c1", "c2"], "value": [0.5, 0.25]}, index=[7, 9])
    changed = pd.DataFrame({"case_id": ["c1", "c2"], "value": [0.5, 0.26]})
    reordered = a.iloc[::-1]
    renamed = a.rename(columns={"value": "v"})
    h = hash_input(a)
    assert len(h) == 64 and int(h, 16) >= 0
    assert hash_input(same) == h  # the index is not content
    assert len({h, hash_input(changed), hash_input(reordered), hash_input(renamed)}) == 4


def test_disclosing_twice_changes_nothing_and_keeps_the_manifest():
    table = one_way_table([3, 40, 120])
    once = disclose(table)
    twice = disclose(once)
    pd.testing.assert_frame_equal(once, twice, check_dtype=True)
    assert disclosure_manifest(twice).equals(disclosure_manifest(once))
    check_disclosure(twice)


def test_durations_are_statistics_not_keys():
    table = pd.DataFrame(
        {
            "band": ["review", "multi_agency_discussion"],
            "n_cases": [4, 30],
            "median_lead_time": pd.to_timedelta([12, 40], unit="D"),
        }
    )
    out = disclose(table)
    assert out["median_lead_time"].isna().tolist() == [True, False]
    assert out.attrs[DISCLOSURE_ATTR]["by"] == ["band"]


def test_keys_in_a_named_index_are_keys(tmp_path):
    flat = pd.DataFrame({"band": ["none", "review", "Total"], "n": [120, 4, 124]})
    table = flat.set_index("band")
    out = disclose(table, round_to=1)
    # the Total row in the index is found, so the protecting cell goes too
    assert out.index.equals(table.index)
    assert out["n"].tolist() == [pd.NA, pd.NA, 124]
    cells = disclosure_manifest(out).dropna(subset=["row"])
    assert cells["row"].tolist() == ["none", "review"]
    assert cells["key"].tolist() == ["band=none", "band=review"]
    lines = write_table(out, tmp_path / "t.csv").read_text(encoding="utf-8").splitlines()
    assert lines == ["band,n", "none,[c]", "review,[c]", "Total,124"]
    pd.testing.assert_frame_equal(disclose(out, round_to=1), out)


# -- floors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("min_count", [1, 2, 4])
def test_settings_below_the_floor_are_refused_with_the_way_out(min_count):
    with pytest.raises(
        DisclosureError, match=r"below the floor of 5.*disclosure=False.*NOT FOR RELEASE"
    ):
        DisclosureSettings(min_count=min_count, round_to=1)
    with pytest.raises(DisclosureError, match="below the floor"):
        apply_disclosure(
            pd.DataFrame({"g": ["a"], "n": [3]}), {"min_count": min_count, "round_to": 1}
        )
    with pytest.raises(DisclosureError, match="below the floor"):
        provenance(disclosure={"min_count": min_count, "round_to": 1})


@pytest.mark.parametrize(("min_count", "round_to"), SETTINGS)
def test_description_never_says_from_1_to_0(min_count, round_to):
    text = describe_settings(DisclosureSettings(min_count=min_count, round_to=round_to))
    assert f"Counts from 1 to {min_count - 1} are suppressed" in text
    assert min_count - 1 >= MIN_COUNT_FLOOR - 1 >= 4
    assert ("not rounded" in text) == (round_to == 1)
    assert "NOT FOR RELEASE" in describe_settings(None)


def test_control_off_says_not_for_release_everywhere(tmp_path):
    off = apply_disclosure(pd.DataFrame({"g": ["a"], "n": [3]}), False)
    assert "NOT FOR RELEASE" in off.attrs[DISCLOSURE_ATTR]["warning"]
    write_table(off, tmp_path / "off.csv")
    side = json.loads((tmp_path / "off.csv.provenance.json").read_text(encoding="utf-8"))
    assert "NOT FOR RELEASE" in next(iter(side.values()))  # its first entry
    assert check_publishable({"off": off})["undisclosed"] == ["off"]


# -- margins by structure, complements, links ------------------------------------------------


@pytest.mark.parametrize("label", ["Overall", "Totals", "All children", "Grand total", "qq"])
def test_a_total_row_is_found_whatever_it_is_called(label):
    table = pd.DataFrame({"group": ["a", "b", "c", label], "n": [4, 30, 40, 74]})
    out = disclose(table, round_to=1)
    # 4 hidden alone would be 74 - 30 - 40: a second cell goes with it
    assert out["n"].isna().sum() == 2 and not pd.isna(out["n"].iloc[3])
    assert attack(published_counts(out), [(3, [0, 1, 2])]) == {}


def test_a_total_column_is_found_by_structure():
    table = pd.DataFrame({"sex": ["f", "m"], "n_a": [4, 15], "n_b": [16, 35], "n_all": [20, 50]})
    out = disclose(table, round_to=1)
    assert out["n_a"].tolist() == [pd.NA, 15]
    assert out["n_b"].tolist() == [pd.NA, 35]  # else 20 - 16 gives the 4 back
    assert any("n_all = n_a + n_b" in r for r in out.attrs[DISCLOSURE_ATTR]["relations"])


def test_a_complement_is_protected_like_a_cell():
    # 50 crossings, 46 of them false alarms: the 4 true alarms are not published but
    # 50 - 46 gives them back, so one of the two goes
    table = pd.DataFrame(
        {"band": ["review", "mad"], "n_crossings": [50, 80], "n_false_alarms": [46, 60]}
    )
    plain = disclose(table, round_to=1)
    assert plain["n_crossings"].notna().all() and plain["n_false_alarms"].notna().all()
    out = disclose(table, round_to=1, total_columns={"n_crossings": ["n_false_alarms"]})
    row = out.iloc[0]
    assert pd.isna(row["n_crossings"]) or pd.isna(row["n_false_alarms"])
    assert out.iloc[1]["n_crossings"] == 80 and out.iloc[1]["n_false_alarms"] == 60


def test_row_relations_protect_the_remainder():
    table = pd.DataFrame({"measure": ["all cases", "reaching review"], "n": [40, 36]})
    out = disclose(table, round_to=1, row_relations=[(0, [1])])
    assert out["n"].isna().any()  # 40 - 36 = 4 cases never reached review
    with pytest.raises(DisclosureError, match="smaller than the sum"):
        disclose(table, round_to=1, row_relations=[(1, [0])])


def test_linked_tables_are_protected_together():
    summary = pd.DataFrame({"measure": ["with an outcome"], "n": [40]})
    by_sex = pd.DataFrame({"sex": ["f", "m"], "n_outcomes": [4, 36]})
    alone = disclose(by_sex, round_to=1)
    assert alone["n_outcomes"].tolist() == [pd.NA, 36]  # 40 elsewhere gives the 4 back
    link = (("summary", 0, "n"), [("by_sex", 0, "n_outcomes"), ("by_sex", 1, "n_outcomes")], True)
    out = disclose_tables({"summary": summary, "by_sex": by_sex}, links=[link], round_to=1)
    assert out["by_sex"]["n_outcomes"].isna().all()
    assert out["summary"]["n"].tolist() == [40]


def test_locked_cells_are_never_chosen_to_protect_others():
    table = pd.DataFrame({"g": ["a", "b", "c", "All"], "n": [4, 30, 40, 74]})
    keep = np.array([False, True, False, True])
    out = disclose(table, round_to=1, keep=keep)
    assert out["n"].tolist() == [pd.NA, 30, pd.NA, 74]
    hide = np.array([False, False, True, False])
    assert disclose(table, round_to=1, hide=hide)["n"].isna().sum() >= 2


# -- rates from published counts -------------------------------------------------------------


def test_declared_rates_are_recomputed_from_published_counts():
    table = pd.DataFrame(
        {"g": ["a", "b"], "n_events": [12, 21], "n": [166, 190], "rate": [12 / 166, 21 / 190]}
    )
    out = disclose(table, rate_columns={"rate": ["n_events", "n"]})
    assert out["n_events"].tolist() == [10, 20]
    assert out["rate"].tolist() == [10 / 165, 20 / 190]
    check_disclosure(out)
    edited = out.copy()
    edited["rate"] = table["rate"]  # the exact rates give the exact counts back
    with pytest.raises(DisclosureError, match="recompute it with rates_from_published"):
        check_disclosure(edited)


def test_undeclared_shares_are_recognised_and_recomputed():
    # a share of two count columns, and a percentage
    table = pd.DataFrame({"g": ["a", "b"], "n_alerts": [12, 33], "n": [166, 190]})
    table["ppv"] = table["n_alerts"] / table["n"]
    table["pct"] = 100 * table["n_alerts"] / table["n"]
    out = disclose(table)
    assert out["ppv"].tolist() == [10 / 165, 35 / 190]
    assert out["pct"].tolist() == [100 * 10 / 165, 100 * 35 / 190]
    # a share of a total the table does not publish would give the counts back
    hidden_total = pd.DataFrame({"g": ["a", "b"], "n": [12, 33], "share": [12 / 200, 33 / 200]})
    with pytest.raises(DisclosureError, match="proportional to count column 'n'"):
        disclose(hidden_total)


def test_a_count_in_disguise_is_refused():
    table = pd.DataFrame({"g": ["a", "b"], "victims": [3.0, 40.0]})
    with pytest.raises(DisclosureError, match="victims"):
        disclose(table.assign(n=[50, 60]))
    out = disclose(table, count_columns=["victims"])
    assert out["victims"].tolist() == [pd.NA, 40]


def test_statistics_rest_on_their_counts_and_a_minimum_cell_rule_can_hide_more():
    table = pd.DataFrame({"g": ["a", "b"], "n": [4, 50], "auroc": [0.7, 0.8], "lo": [0.6, 0.7]})
    out = disclose(table, statistic_columns={"auroc": ["n"], "lo": ["n"]})
    assert out["auroc"].isna().tolist() == [True, False]
    out = suppress_statistics(out, pd.DataFrame({"lo": [False, True]}), rule="too few events")
    assert out["lo"].isna().all()
    reasons = disclosure_manifest(out).set_index(["row", "column"])["reason"]
    assert reasons[(1, "lo")] == "derived: too few events"
    edited = out.copy()
    edited.loc[0, "auroc"] = 0.7
    with pytest.raises(DisclosureError, match="resting on a suppressed count"):
        check_disclosure(edited)


# -- nested rows -----------------------------------------------------------------------------


@given(
    steps=st.lists(st.tuples(st.integers(0, 15), st.integers(0, 15)), min_size=1, max_size=12),
    rest=st.tuples(st.integers(0, 30), st.integers(0, 30)),
    min_count=st.sampled_from([5, 10]),
    suppress_zero=st.booleans(),
)
def test_nested_rows_never_differ_by_a_small_count(steps, rest, min_count, suppress_zero):
    # alerts at falling thresholds: each row adds a band of events and non-events
    ev = np.cumsum([e for e, _ in steps])
    ne = np.cumsum([n for _, n in steps])
    counts = np.column_stack([ev + ne, ev, ne])
    totals = counts[-1] + np.array([sum(rest), rest[0], rest[1]])
    keep = protect_nested(counts, totals, min_count=min_count, suppress_zero=suppress_zero)
    published = [np.zeros(3), *counts[keep], totals]
    for i in range(len(published)):
        for j in range(i + 1, len(published)):
            if (i, j) == (0, len(published) - 1):
                continue  # nothing and everyone: the totals are given, not chosen
            d = published[j] - published[i]
            if not np.all(d == 0):
                assert np.all((d >= min_count) | ((d == 0) & (not suppress_zero))), d


def test_nested_rows_must_be_nested():
    with pytest.raises(DisclosureError, match="not nested"):
        protect_nested(np.array([[10, 5], [12, 3]]))


# -- one checked path, formula-safe CSV, synthetic data --------------------------------------


def test_check_publishable_needs_stamps_and_one_setting():
    a = disclose(pd.DataFrame({"g": ["x", "y"], "n": [30, 40]}))
    b = disclose(pd.DataFrame({"g": ["x", "y"], "n": [30, 40]}), round_to=1)
    with pytest.raises(DisclosureError, match="carries no disclosure stamp"):
        check_publishable({"a": a, "raw": pd.DataFrame({"n": [3]})})
    with pytest.raises(DisclosureError, match="one setting"):
        check_publishable({"a": a, "b": b})
    state = check_publishable(
        {"a": a, "stats": mark_statistics(pd.DataFrame({"x": [1.0]}), rule="r")}
    )
    assert state["controlled"] and not state["synthetic"]
    mark_synthetic(a)
    assert check_publishable([a])["synthetic"]


FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|'/c calc'!A1",
    "-2+3",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "'quoted",
]


def test_written_tables_are_formula_safe_and_read_back_exactly(tmp_path):
    table = mark_undisclosed(
        pd.DataFrame(
            {"case_id": FORMULAS, "score": [-3.5, -1.0, 0.0, 2.0, -7.25, 1.5, 4.0], "n": range(7)}
        )
    )
    path = write_table(table, tmp_path / "t.csv")
    text = path.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "'+cmd" in text and "'-2+3" in text and "'@SUM" in text
    assert ",-3.5," in text  # numbers stay numbers
    for line in text.splitlines()[2:]:
        assert not line.startswith(("=", "+", "-", "@"))
    back = read_table(path)
    assert back["case_id"].tolist() == FORMULAS
    assert back["score"].tolist() == table["score"].tolist()


@given(
    texts=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6),
    numbers=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=6, max_size=6),
)
def test_csv_round_trip_restores_every_text_and_number(tmp_path_factory, texts, numbers):
    k = len(texts)
    table = mark_undisclosed(
        pd.DataFrame({"label": texts, "value": numbers[:k], "n": list(range(k))})
    )
    path = write_table(table, tmp_path_factory.mktemp("csv") / "t.csv")
    back = read_table(path)
    assert back["label"].tolist() == texts
    assert back["value"].tolist() == numbers[:k]
    assert back["n"].tolist() == list(range(k))


def test_synthetic_tables_say_so_in_the_sidecar_and_read_back_marked(tmp_path):
    table = disclose(pd.DataFrame({"g": ["a", "b"], "n": [30, 40]}))
    mark_synthetic(table, note="riskscore.make_cohort(10)")
    path = write_table(table, tmp_path / "t.csv")
    side = json.loads((tmp_path / "t.csv.provenance.json").read_text(encoding="utf-8"))
    assert side["synthetic"]["line"].startswith("SYNTHETIC DATA")
    assert side["synthetic"]["note"] == "riskscore.make_cohort(10)"
    assert is_synthetic(read_table(path))
    assert provenance(synthetic=True)["synthetic"]["line"].startswith("SYNTHETIC DATA")
    assert "synthetic" not in provenance()


def test_reading_a_table_that_is_not_there_says_so(tmp_path):
    # it said the file "has no provenance sidecar", as if it existed
    from riskscore.errors import MissingFileError

    with pytest.raises(MissingFileError, match="no such file"):
        read_table(tmp_path / "nope.csv")


def test_disclose_refuses_counts_too_large_to_round_exactly():
    # 2**62 went through float rounding: published unrounded, then check_disclosure refused it
    table = pd.DataFrame({"g": ["a", "b", "c"], "n": [2**62, 50, 2**53]})
    with pytest.raises(DisclosureError, match=r"'n'.*2\*\*53.*row\(s\) \[?0, 2"):
        disclose(table)
    # below the bound, rounding is exact: 2**53 leaves 2 on division by 5, so
    # 2**53 - 2 and 2**53 - 7 are multiples of 5; 2**53 - 5 (remainder 2) rounds down
    # and 2**53 - 4 (remainder 3) up (float division had sent 2**53 - 5 up to 2**53 + 3)
    near = [2**53 - 5, 2**53 - 4, 2**53 - 1, 50]
    ok = disclose(pd.DataFrame({"g": ["a", "b", "c", "d"], "n": near}), find_totals=False)
    assert ok["n"].tolist() == [2**53 - 7, 2**53 - 2, 2**53 - 2, 50]
    check_disclosure(ok)


@pytest.mark.parametrize("key", ["case_id", "CASE_ID", "pseudo_case_id", "Case_ID_token"])
def test_disclose_refuses_tables_keyed_by_case_ids(key):
    table = pd.DataFrame({key: ["c1", "c2"], "n_events": [30, 40]})
    with pytest.raises(DisclosureError, match=rf"{key!r}.*case-level.*mark_undisclosed"):
        disclose(table)
    with pytest.raises(DisclosureError, match=rf"{key!r}.*mark_undisclosed"):
        disclose(table.set_index(key))
    with pytest.raises(DisclosureError, match=rf"{key!r}.*mark_undisclosed"):
        disclose_tables({"t": table}, {"t": {"count_columns": ["n_events"]}})
    # case-level tables stay inside, marked as such (write_table keeps them)
    assert mark_undisclosed(table)[key].tolist() == ["c1", "c2"]


def test_read_table_restores_category_and_str_columns(tmp_path):
    # category and str columns came back as object although the sidecar records types
    table = mark_undisclosed(
        pd.DataFrame(
            {
                "band": pd.Categorical(
                    ["high", "low", "high", None], categories=["low", "mid", "high"], ordered=True
                ),
                "sex": pd.Categorical(["f", "m", "m", "f"]),
                "code": pd.Categorical([3, 1, 3, 1], categories=[1, 2, 3]),
                "agency": pd.Series(["gp", "=cmd", None, "school"], dtype="str"),
                "label": pd.Series(["a", None, "b", "c"], dtype="string"),
                "plain": pd.Series(["x", "y", "z", "w"], dtype=object),
                "n": [1, 2, 3, 4],
            }
        )
    )
    back = read_table(write_table(table, tmp_path / "t.csv"))
    # categories the table does not use are not written (they could be anything: a
    # categorical of every case id, filtered to a few rows), so they do not come back
    expected = pd.DataFrame(table).assign(
        band=table["band"].cat.remove_unused_categories(),
        code=table["code"].cat.remove_unused_categories(),
    )
    pd.testing.assert_frame_equal(back, expected, check_flags=False)
    assert back["band"].cat.ordered and list(back["band"].cat.categories) == ["low", "high"]
    assert back["agency"].dtype == "str" and back["label"].dtype == "string"


def test_categories_a_table_does_not_use_never_reach_its_sidecar(tmp_path):
    ids = pd.Categorical(["C0000007"], categories=[f"C{i:07d}" for i in range(500)])
    table = mark_undisclosed(pd.DataFrame({"child": ids, "n": [3]}))
    path = write_table(table, tmp_path / "t.csv")
    sidecar = (tmp_path / "t.csv.provenance.json").read_text()
    assert "C0000007" in sidecar and "C0000008" not in sidecar
    assert list(read_table(path)["child"].cat.categories) == ["C0000007"]


@pytest.mark.parametrize(
    "column, values",
    [
        ("n_extra", [5, 2, 7]),  # exact small counts
        ("mean_age", [7.1, 8.3, 9.2]),  # a statistic beside a suppressed count
        ("first_event", pd.to_datetime(["2101-01-01", "2101-02-03", "2101-03-04"])),
        ("note", ["a", "the only child in b", "c"]),
    ],
)
def test_a_column_added_after_disclosure_control_is_refused(tmp_path, column, values):
    # check_disclosure (and so write_table and check_publishable) looked only at the
    # columns its stamp names: a column added afterwards left unchecked
    table = pd.DataFrame({"g": ["a", "b", "c"], "n": [100, 3, 50], "k": [40, 1, 20]})
    out = disclose(table, count_columns=["n", "k"], total_columns=[("n", ["k"])])
    edited = out.assign(**{column: values})
    with pytest.raises(DisclosureError, match=rf"{column}.*added after disclosure control"):
        check_disclosure(edited)
    with pytest.raises(DisclosureError, match=column):
        write_table(edited, tmp_path / "t.csv")
    with pytest.raises(DisclosureError, match=column):
        check_publishable({"t": edited})
    assert not (tmp_path / "t.csv").exists()
    stats = mark_statistics(pd.DataFrame({"metric": ["auroc"], "estimate": [0.7]}), rule="r")
    with pytest.raises(DisclosureError, match="n_events"):
        check_disclosure(stats.assign(n_events=[3]))


def test_rates_added_from_published_counts_are_checked_and_written(tmp_path):
    table = pd.DataFrame({"g": ["a", "b", "c"], "n": [100, 3, 50], "k": [40, 1, 20]})
    out = disclose(table, count_columns=["n", "k"], total_columns=[("n", ["k"])])
    shared = rates_from_published(out, {"share": ("k", "n")})
    check_disclosure(shared)
    write_table(shared, tmp_path / "t.csv")
    again = read_table(tmp_path / "t.csv")
    check_disclosure(again)
    with pytest.raises(DisclosureError, match="unexpected"):
        check_disclosure(again.assign(unexpected=[1.0, 2.0, 3.0]))
    # a share pasted in from exact counts is still caught
    exact = shared.assign(share=[0.4, 1 / 3, 0.4])
    with pytest.raises(DisclosureError, match="share"):
        check_disclosure(exact)


def test_a_date_beside_counts_that_is_not_a_key_is_refused():
    # with by= given, a first or last date of a group was published as it was, even
    # in a row whose counts were suppressed
    table = pd.DataFrame(
        {
            "g": ["a", "b", "c"],
            "n": [100, 3, 50],
            "first_event": pd.to_datetime(["2101-01-01", "2101-02-03", "2101-03-04"]),
        }
    )
    with pytest.raises(DisclosureError, match=r"first_event.*date.*by="):
        disclose(table, count_columns=["n"], by=["g"])
    # a date that labels the groups is a key
    out = disclose(table, count_columns=["n"], by=["g", "first_event"])
    assert out["first_event"].tolist() == table["first_event"].tolist()


def test_a_suppressed_cell_filled_in_again_is_refused(tmp_path):
    # the manifest said the cell was suppressed, but check_disclosure (so write_table
    # and the reports) let its value through: 155 - 100 - 50 gives the small cell back
    table = pd.DataFrame({"g": ["a", "b", "c", "All"], "n": [100, 3, 50, 153]})
    out = disclose(table, count_columns=["n"])
    hidden = disclosure_manifest(out).dropna(subset=["row"])
    assert set(hidden["row"]) == {1, 2}
    edited = out.copy()
    edited.loc[2, "n"] = 50
    with pytest.raises(DisclosureError, match=r"'n'.*suppressed.*row\(s\) 2"):
        check_disclosure(edited)
    with pytest.raises(DisclosureError, match="suppressed"):
        write_table(edited, tmp_path / "t.csv")
    # a statistic hidden by a minimum-cell rule stays hidden too
    stats = mark_statistics(pd.DataFrame({"metric": ["auroc"], "estimate": [np.nan]}), rule="r")
    stats = suppress_statistics(
        stats.assign(estimate=[0.7]), pd.DataFrame({"estimate": [True]}), rule="few events"
    )
    check_disclosure(stats)
    with pytest.raises(DisclosureError, match="estimate"):
        check_disclosure(stats.assign(estimate=[0.7]))


@pytest.mark.parametrize("name", ["min_count", "round_to"])
def test_settings_too_large_for_a_count_are_refused_by_name(name):
    # round_to=10**30 was an OverflowError from numpy, not a DisclosureError
    with pytest.raises(DisclosureError, match=rf"{name}.*too large"):
        DisclosureSettings(**{name: 10**30})
    with pytest.raises(DisclosureError, match=name):
        disclose(pd.DataFrame({"g": ["a"], "n": [100]}), **{name: 10**30})


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: "{",  # cut short
        lambda text: "[" * 100_000 + "]" * 100_000,  # nested past Python's recursion limit
        lambda text: "[]",
        lambda text: json.dumps({**json.loads(text), "disclosure": []}),
        lambda text: json.dumps({**json.loads(text), "columns": 5}),
        lambda text: json.dumps(
            {**json.loads(text), "disclosure": {**json.loads(text)["disclosure"], "columns": 5}}
        ),
    ],
)
def test_a_damaged_sidecar_is_refused_by_name(tmp_path, damage):
    # read_table raised JSONDecodeError, RecursionError or AttributeError
    out = disclose(pd.DataFrame({"g": ["a", "b", "c"], "n": [100, 3, 50]}), count_columns=["n"])
    path = write_table(out, tmp_path / "t.csv")
    sidecar = tmp_path / "t.csv.provenance.json"
    sidecar.write_text(damage(sidecar.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(DisclosureError, match=r"t\.csv\.provenance\.json.*Fix:"):
        check_disclosure(read_table(path))


def test_an_emptied_table_file_is_refused_by_name(tmp_path):
    out = disclose(pd.DataFrame({"g": ["a", "b", "c"], "n": [100, 3, 50]}), count_columns=["n"])
    path = write_table(out, tmp_path / "t.csv")
    path.write_text("", encoding="utf-8")
    with pytest.raises(DisclosureError, match=r"t\.csv.*empty.*Fix:"):
        read_table(path)


def test_a_date_column_is_not_guessed_to_be_a_key():
    # a group's first date is one child's date: without by= it was taken for a key and
    # published as it was, beside the group's count
    import riskscore as rs

    _, cases = rs.make_cohort(400, random_state=0)
    t = cases.groupby("sex").agg(n=("case_id", "size"), first=("outcome_date", "min")).reset_index()
    with pytest.raises(rs.DisclosureError, match=r"\['first'\].*by="):
        rs.disclose(t, ["n"])
    # named as a key, a date that labels the groups (a month) is published
    months = pd.DataFrame({"month": pd.to_datetime(["2101-01-01", "2101-02-01"]), "n": [40, 55]})
    out = rs.disclose(months, ["n"], by=["month"])
    assert list(out["month"]) == list(months["month"])


def test_disclose_with_by_refuses_text_columns_that_are_not_keys():
    """A case id or a note beside the counts is no key: it was published as it is."""
    from riskscore import make_cohort

    events, _ = make_cohort(n_cases=300, random_state=3)
    table = (
        events.groupby("agency", observed=True)
        .agg(n=("case_id", "nunique"), example=("case_id", "first"))
        .reset_index()
    )
    with pytest.raises(DisclosureError, match=r"disclose\(\).*'example'.*add the column to by="):
        disclose(table, ["n"], by=["agency"])
    table["note"] = "child moved to Leeds"
    with pytest.raises(DisclosureError, match=r"'example', 'note'"):
        disclose(table, ["n"], by=["agency"])
    # named as a key, or dropped, it is accepted
    out = disclose(table.drop(columns=["example", "note"]), ["n"], by=["agency"])
    assert list(out.columns) == ["agency", "n"]
