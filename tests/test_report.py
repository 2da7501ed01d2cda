"""HTML reports: self-contained, notices first, figures embedded as decodable PNGs."""

from __future__ import annotations

import base64
import io
import re
import struct
from html.parser import HTMLParser

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from riskscore import plots
from riskscore.audit import CASE_LEVEL_NOTICE, NOTICE, CaseAudit, audit_case, audit_cohort
from riskscore.disclosure import UNDISCLOSED_WARNING, disclose, disclosure_manifest
from riskscore.modelfile import default_scorecard
from riskscore.report import UNDISCLOSED_BANNER, register_report, write_report
from riskscore.synthetic import VIGNETTE_NOTE, make_cohort, vignette

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- parsing


class _Page(HTMLParser):
    """Flat record of a page: tags with attributes, text, and their order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stream: list[tuple[str, object]] = []  # ("tag", (name, attrs)) or ("text", str)
        self.tables: dict[str, list[list[tuple[str, str]]]] = {}
        self.style_text: list[str] = []
        self._table: str | None = None
        self._row: list[tuple[str, str]] | None = None
        self._cell: list[str] | None = None
        self._cell_class = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stream.append(("tag", (tag, a)))
        if tag == "style":
            self._in_style = True
        if tag == "table":
            self._table = a.get("id", f"table{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell, self._cell_class = [], a.get("class", "") or ""

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(("".join(self._cell).strip(), self._cell_class))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._in_style:
            self.style_text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if data.strip():
            self.stream.append(("text", data))

    # helpers -------------------------------------------------------------------

    def images(self) -> list[dict]:
        return [a for kind, v in self.stream if kind == "tag" for t, a in [v] if t == "img"]

    def first_image_position(self) -> int:
        for i, (kind, v) in enumerate(self.stream):
            if kind == "tag" and v[0] == "img":
                return i
        raise AssertionError("page has no image")

    def text_position(self, needle: str) -> int:
        """Index in the stream of the first text chunk containing ``needle``."""
        norm = " ".join(needle.split())
        for i, (kind, v) in enumerate(self.stream):
            if kind == "text" and norm in " ".join(str(v).split()):
                return i
        raise AssertionError(f"text not found: {needle!r}")

    def text(self) -> str:
        return " ".join(str(v) for kind, v in self.stream if kind == "text")


def _parse(path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunks.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def _check_embedded_png(src: str) -> tuple[int, int]:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:60]
    data = base64.b64decode(src[len(prefix) :], validate=True)
    assert data[:8] == PNG_SIGNATURE
    length, kind, width, height, depth, colour = struct.unpack(">I4sIIBB", data[8:26])
    assert (length, kind) == (13, b"IHDR")
    assert depth == 8 and colour in (2, 6)  # 8-bit RGB(A), as Agg writes
    # figure-sized: wider than a thumbnail, smaller than a poster
    assert 300 <= width <= 4000 and 200 <= height <= 6000
    chunks = _png_chunks(data)
    assert chunks[-1][0] == b"IEND"
    text = b"".join(body for kind, body in chunks if kind == b"tEXt")
    assert b"Matplotlib" in text  # produced by matplotlib, not some other file
    pixels = mpimg.imread(io.BytesIO(data), format="png")
    assert pixels.shape[:2] == (height, width)
    # a drawn figure, not a blank canvas
    assert float(np.ptp(pixels[..., :3])) > 0.5
    return width, height


def _check_self_contained(page: _Page, raw: str) -> None:
    for kind, v in page.stream:
        if kind != "tag":
            continue
        tag, attrs = v
        assert tag not in ("script", "link", "iframe", "object", "embed"), tag
        for name in ("src", "href", "srcset", "data", "action", "poster"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "ftp:")), (tag, name, value)
    css = " ".join(page.style_text).lower()
    assert "@import" not in css and "url(" not in css
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", raw, re.IGNORECASE)
    csp = [
        a
        for kind, v in page.stream
        if kind == "tag"
        for t, a in [v]
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp and "default-src 'none'" in csp[0]["content"]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def model():
    return default_scorecard()


@pytest.fixture(scope="module")
def case_audit(model):
    events, cases = vignette()
    return audit_case(events, cases, model, "CHILD-A")


@pytest.fixture(scope="module")
def cohort_data():
    return make_cohort(200, random_state=3)


@pytest.fixture(scope="module")
def cohort_on(cohort_data, model):
    events, cases = cohort_data
    return audit_cohort(events, cases, model)


@pytest.fixture(scope="module")
def cohort_off(cohort_data, model):
    events, cases = cohort_data
    return audit_cohort(events, cases, model, disclosure=False)


@pytest.fixture(scope="module")
def case_page(case_audit, tmp_path_factory):
    path = write_report(case_audit, tmp_path_factory.mktemp("case") / "sub" / "child_a.html")
    return path, _parse(path)


@pytest.fixture(scope="module")
def cohort_on_page(cohort_on, tmp_path_factory):
    path = write_report(cohort_on, tmp_path_factory.mktemp("cohort") / "cohort.html")
    return path, _parse(path)


@pytest.fixture(scope="module")
def cohort_off_page(cohort_off, tmp_path_factory):
    path = write_report(cohort_off, tmp_path_factory.mktemp("cohort_off") / "cohort.html")
    return path, _parse(path)


# --------------------------------------------------------------------------- case report


def test_case_report_figures_are_embedded_pngs(case_page):
    path, page = case_page
    images = page.images()
    assert len(images) >= 1
    for img in images:
        _check_embedded_png(img["src"])
        assert img.get("alt")


def test_case_report_is_self_contained(case_page):
    path, page = case_page
    _check_self_contained(page, path.read_text(encoding="utf-8"))


def test_case_report_notices_come_before_any_figure(case_page):
    _, page = case_page
    first_img = page.first_image_position()
    for notice in (NOTICE, CASE_LEVEL_NOTICE, VIGNETTE_NOTE):
        assert page.text_position(notice) < first_img
    assert page.text_position("not a decision about any person") < first_img


def test_case_report_of_a_non_vignette_case_does_not_call_it_fictional(
    cohort_data, model, tmp_path
):
    events, cases = cohort_data
    case_id = str(cases["case_id"].iloc[0])
    page = _parse(write_report(audit_case(events, cases, model, case_id), tmp_path / "c.html"))
    assert VIGNETTE_NOTE not in page.text()
    assert page.text_position(CASE_LEVEL_NOTICE) < page.first_image_position()


def test_case_report_crossings_table_matches_audit(case_page, case_audit):
    _, page = case_page
    rows = page.tables["crossings"]
    header = [c for c, _ in rows[0]]
    body = rows[1:]
    assert len(body) == len(case_audit.crossings) > 0
    dates = [r[header.index("date")][0] for r in body]
    assert dates == [f"{d:%Y-%m-%d}" for d in pd.to_datetime(case_audit.crossings["date"])]
    bands = [r[header.index("band")][0] for r in body]
    assert bands == case_audit.crossings["band"].astype(str).tolist()
    missed = [r[header.index("missed opportunity")][0] == "yes" for r in body]
    assert missed == case_audit.crossings["missed"].astype(bool).tolist()


def test_case_report_contributions_table_names_holders(case_page, case_audit):
    _, page = case_page
    rows = page.tables["contributions"]
    header = [c for c, _ in rows[0]]
    body = rows[1:]
    assert len(body) == len(case_audit.contributions)
    shown = sorted((r[header.index("contributor")][0], r[header.index("held by")][0]) for r in body)
    expected = sorted(
        zip(
            case_audit.contributions["contributor"].astype(str),
            case_audit.contributions["held_by"].astype(str),
            strict=True,
        )
    )
    assert shown == expected


def test_case_report_marks_information_only_visible_when_joined(case_audit, tmp_path):
    contributions = case_audit.contributions.copy()
    contributions.loc[0, "held_by"] = "only when joined"
    edited = CaseAudit(**{**case_audit.__dict__, "contributions": contributions})
    page = _parse(write_report(edited, tmp_path / "joined.html"))
    cells = [cell for row in page.tables["contributions"][1:] for cell in row]
    assert ("only when joined", "joined") in cells


def test_case_report_shows_gap_lead_times_and_provenance(case_page, case_audit):
    _, page = case_page
    text = page.text()
    assert f"{case_audit.join_up_gap_days} days" in text
    lead = page.tables["lead-times"][1:]
    assert [r[2][0] for r in lead] == [
        f"{int(v):,}" for v in case_audit.lead_times["lead_time_days"].dropna()
    ]
    assert "review-rules-v2" in text
    assert '"library": "riskscore"' in text and '"created_utc"' in text


def test_report_leaves_pyplot_alone(case_audit, tmp_path):
    before = plt.get_fignums()
    write_report(case_audit, tmp_path / "a.html")
    assert plt.get_fignums() == before


def test_title_is_escaped(case_audit, tmp_path):
    raw = write_report(case_audit, tmp_path / "t.html", title="<b>Case & review</b>").read_text()
    assert "<b>Case" not in raw
    assert "&lt;b&gt;Case &amp; review&lt;/b&gt;" in raw


# --------------------------------------------------------------------------- cohort report


def test_cohort_report_figures_are_embedded_pngs(cohort_on_page):
    path, page = cohort_on_page
    images = page.images()
    assert len(images) == 4
    for img in images:
        _check_embedded_png(img["src"])
    _check_self_contained(page, path.read_text(encoding="utf-8"))


def test_cohort_report_notices_and_no_banner_when_controlled(cohort_on_page):
    _, page = cohort_on_page
    first_img = page.first_image_position()
    assert page.text_position(NOTICE) < first_img
    assert page.text_position("disclosure-controlled") < first_img
    assert UNDISCLOSED_BANNER not in page.text()


def test_cohort_report_shows_every_table_and_suppressed_cells(cohort_on_page, cohort_on):
    _, page = cohort_on_page
    n_suppressed = 0
    for name, table in cohort_on.tables.items():
        rows = page.tables[f"table-{name}"]
        assert len(rows) - 1 == len(table)
        m = disclosure_manifest(table)
        row_level = int(m["row"].notna().sum())
        shown = sum(cls == "suppressed" for row in rows for _, cls in row)
        assert shown == row_level, name
        n_suppressed += row_level
    assert n_suppressed > 0  # the small cohort exercises suppression
    manifest = page.tables["manifest"][1:]
    assert len(manifest) == sum(len(disclosure_manifest(t)) for t in cohort_on.tables.values())


def test_cohort_report_publishes_no_small_counts(cohort_on_page, cohort_on):
    _, page = cohort_on_page
    for name, table in cohort_on.tables.items():
        stamp = table.attrs["riskscore_disclosure"]
        rows = page.tables[f"table-{name}"]
        header = [c for c, _ in rows[0]]
        for column in stamp["count_columns"]:
            j = header.index(column)
            for row in rows[1:]:
                text = row[j][0].replace(",", "")
                if text.isdigit():
                    assert int(text) == 0 or int(text) >= 10, (name, column, text)
                    assert int(text) % 5 == 0, (name, column, text)


def test_cohort_report_without_disclosure_says_so_first(cohort_off_page):
    path, page = cohort_off_page
    first_img = page.first_image_position()
    assert page.text_position(UNDISCLOSED_BANNER) < first_img
    assert page.text_position(UNDISCLOSED_WARNING) < first_img
    assert page.text_position(NOTICE) < first_img
    for img in page.images():
        _check_embedded_png(img["src"])
    _check_self_contained(page, path.read_text(encoding="utf-8"))


def test_cohort_report_refuses_a_table_edited_after_disclosure(cohort_on, tmp_path):
    from riskscore.audit import CohortAudit
    from riskscore.errors import DisclosureError

    summary = cohort_on.tables["summary"].copy()
    summary.loc[0, "n"] = 3
    edited = CohortAudit(
        tables={**cohort_on.tables, "summary": summary},
        parameters=cohort_on.parameters,
        disclosure=cohort_on.disclosure,
        n_cases=cohort_on.n_cases,
    )
    with pytest.raises(DisclosureError, match="'n'"):
        write_report(edited, tmp_path / "bad.html")
    assert not (tmp_path / "bad.html").exists()


# --------------------------------------------------------------------------- dispatch


def test_report_rejects_unknown_results(tmp_path):
    with pytest.raises(TypeError, match="CaseAudit"):
        write_report(pd.DataFrame({"a": [1]}), tmp_path / "x.html")


def test_registered_renderer_serves_subclasses(tmp_path):
    class Result:
        pass

    class SubResult(Result):
        pass

    register_report(Result, lambda result, title: f"<!DOCTYPE html><p>{title}</p>")
    out = write_report(SubResult(), tmp_path / "r.html", title="evaluation")
    assert out.read_text() == "<!DOCTYPE html><p>evaluation</p>"


# --------------------------------------------------------------------------- plots


def test_plots_never_recompute(case_audit, cohort_on, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a plot recomputed an audit")

    import riskscore._audit_core
    import riskscore.audit
    import riskscore.features

    for module, name in [
        (riskscore.audit, "audit_case"),
        (riskscore.audit, "audit_cohort"),
        (riskscore._audit_core, "encode_features"),
        (riskscore.features, "encode_features"),
    ]:
        monkeypatch.setattr(module, name, refuse)
    monkeypatch.setattr(type(case_audit.model), "risk_score", refuse)
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(2, 3).ravel()
    assert plots.plot_case_timeline(case_audit, ax=axes[0]) is axes[0]
    assert plots.plot_case_scores(case_audit, ax=axes[1]) is axes[1]
    assert plots.plot_lead_times(cohort_on, ax=axes[2]) is axes[2]
    assert plots.plot_false_alarms(cohort_on, ax=axes[3]) is axes[3]
    assert plots.plot_agency_share(cohort_on, ax=axes[4]) is axes[4]
    assert plots.plot_by_deprivation(cohort_on, ax=axes[5]) is axes[5]


def test_suppressed_cells_are_labelled_gaps_not_bars():
    raw = pd.DataFrame(
        {
            "held_by": ["school", "police", "probation"],
            "n_crossings_holding": [40, 25, 3],
            "share_of_contribution": [0.6, 0.38, 0.02],
        }
    )
    table = disclose(
        raw,
        count_columns=["n_crossings_holding"],
        rate_columns={"share_of_contribution": ["n_crossings_holding"]},
    )
    assert plots.suppressed_cells(table, "share_of_contribution").tolist() == [False, False, True]
    from matplotlib.figure import Figure

    ax = plots.plot_agency_share(table, ax=Figure().add_subplot())
    labels = [t.get_text() for t in ax.texts]
    assert labels.count("suppressed") == 1
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == pytest.approx([0.38, 0.6])  # the suppressed share is not drawn


def test_missing_but_not_suppressed_is_labelled_not_available():
    raw = pd.DataFrame(
        {
            "imd_quintile": ["1", "2"],
            "n_cases": [50, 60],
            "n_reached_mad": [20, 30],
            "n_with_gap": [15, 0],
            "share_reached_mad": [0.4, 0.5],
            "share_with_gap": [0.3, np.nan],
        }
    )
    table = disclose(
        raw,
        count_columns=["n_cases", "n_reached_mad", "n_with_gap"],
        rate_columns={
            "share_reached_mad": ["n_reached_mad", "n_cases"],
            "share_with_gap": ["n_with_gap", "n_cases"],
        },
    )
    from matplotlib.figure import Figure

    ax = plots.plot_by_deprivation(table, ax=Figure().add_subplot())
    labels = [t.get_text() for t in ax.texts]
    assert labels.count("n/a") == 1 and "suppressed" not in labels


def test_plots_without_axes_make_a_figure(cohort_on):
    ax = plots.plot_false_alarms(cohort_on)
    try:
        assert ax.figure is not None and len(ax.patches) > 0
    finally:
        plt.close(ax.figure)


def test_cohort_report_provenance_carries_input_hashes(tmp_path):
    import riskscore as rs
    from riskscore.disclosure import hash_input

    events, cases = rs.make_cohort(150, random_state=9)
    result = rs.audit_cohort(events, cases, rs.default_scorecard())
    assert result.input_hashes == {"events": hash_input(events), "cases": hash_input(cases)}
    html = rs.write_report(result, tmp_path / "cohort.html").read_text(encoding="utf-8")
    assert hash_input(events) in html and hash_input(cases) in html
