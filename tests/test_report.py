"""HTML reports: one renderer, plain language, notices first, figures as decodable PNGs."""

from __future__ import annotations

import base64
import io
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import riskscore
from riskscore import plots, report
from riskscore._names import agency_name, band_name, feature_name, rule_name
from riskscore.audit import CASE_LEVEL_NOTICE, NOTICE, CaseAudit, audit_case, audit_cohort
from riskscore.disclosure import (
    UNDISCLOSED_WARNING,
    disclose,
    disclosure_manifest,
    mark_synthetic,
)
from riskscore.errors import DisclosureError
from riskscore.evaluation import evaluate
from riskscore.modelfile import default_scorecard
from riskscore.report import (
    CSP,
    UNDISCLOSED_BANNER,
    Page,
    Paragraph,
    Section,
    Table,
    register_report,
    render_page,
    write_report,
)
from riskscore.scorecard import Rule, RuleScorecard
from riskscore.synthetic import SYNTHETIC_NOTE, VIGNETTE_NOTE, make_cohort, vignette
from riskscore.training import make_training_set
from riskscore.vocabulary import AGENCIES, BANDS, EVENTS, FEATURES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- parsing


class _Page(HTMLParser):
    """Flat record of a page: tags with attributes, visible text, tables and captions."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stream: list[tuple[str, object]] = []  # ("tag", (name, attrs)) or ("text", str)
        self.tables: dict[str, list[list[tuple[str, str]]]] = {}
        self.summaries: dict[str, list[list[str]]] = {}  # per table, <summary> text per cell
        self.style_text: list[str] = []
        self.captions: list[str] = []
        self.machine: list[str] = []  # text inside <pre>: machine-readable records
        self._table: str | None = None
        self._row: list[tuple[str, str]] | None = None
        self._row_summaries: list[str] | None = None
        self._cell: list[str] | None = None
        self._cell_summary: list[str] | None = None
        self._cell_class = ""
        self._in = {"style": False, "pre": False, "figcaption": False, "summary": False}
        self._caption: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stream.append(("tag", (tag, a)))
        if tag in self._in:
            self._in[tag] = True
        if tag == "table":
            self._table = a.get("id", f"table{len(self.tables)}")
            self.tables[self._table] = []
            self.summaries[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row, self._row_summaries = [], []
        elif tag in ("td", "th") and self._row is not None:
            self._cell, self._cell_class, self._cell_summary = [], a.get("class", "") or "", []
        elif tag == "figcaption":
            self._caption = []

    def handle_endtag(self, tag):
        if tag in self._in:
            self._in[tag] = False
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(("".join(self._cell).strip(), self._cell_class))
            self._row_summaries.append("".join(self._cell_summary).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self.summaries[self._table].append(self._row_summaries)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "figcaption":
            self.captions.append("".join(self._caption).strip())

    def handle_data(self, data):
        if self._in["style"]:
            self.style_text.append(data)
            return
        if self._in["pre"]:
            self.machine.append(data)
            return
        if self._in["figcaption"]:
            self._caption.append(data)
        if self._cell is not None:
            self._cell.append(data)
            if self._in["summary"]:
                self._cell_summary.append(data)
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

    def heading_position(self, heading: str) -> int:
        """Index in the stream of the ``<h2>`` with this text."""
        for i, (kind, v) in enumerate(self.stream[:-1]):
            if kind == "tag" and v[0] == "h2" and self.stream[i + 1] == ("text", heading):
                return i
        raise AssertionError(f"no heading {heading!r}")

    def text(self) -> str:
        """Everything a reader sees (the machine-readable provenance record excluded)."""
        return " ".join(str(v) for kind, v in self.stream if kind == "text")

    def column(self, table: str, header: str) -> list[str]:
        rows = self.tables[table]
        j = [c for c, _ in rows[0]].index(header)
        return [r[j][0] for r in rows[1:]]


def _parse(path) -> _Page:
    page = _Page()
    page.feed(Path(path).read_text(encoding="utf-8"))
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
    assert len(csp) == 1 and csp[0]["content"] == CSP
    assert CSP == "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


# internal codes a reader must never meet: bands, agencies, events, features, the
# columns the issue names, and parameters as code
_CODES = sorted(
    {c for c in (*BANDS[1:], *AGENCIES, *EVENTS, *FEATURES) if "_" in c}
    | {"n_reached_mad", "median_lead_mad_days", "held_by", "lead_time_days", "n_crossings"}
    | {"14D", "90D", "chunk_size", "min_gap", "response_window", "oe_ratio", "selection_rate"}
)
_UNREADABLE_NUMBERS = [
    re.compile(r"\d[eE][-+]?\d"),  # scientific notation
    re.compile(r"\(-?\d+\.\d+, -?\d+\.\d+\]"),  # pandas interval labels
    re.compile(r"\d\.0*[1-9]\d{4,}"),  # long floats: more than 4 significant digits
]


def _check_plain_language(page: _Page) -> None:
    text = page.text()
    for code in _CODES:
        assert not re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text), code
    for pattern in _UNREADABLE_NUMBERS:
        assert not pattern.search(text), pattern.search(text)[0]
    # no Python value printed as it is (a dict or list of settings)
    assert not re.search(r"[{\[]'", text), re.search(r".{0,40}[{\[]'.{0,40}", text)[0]


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
def evaluation(model):
    events, cases = make_cohort(600, random_state=5)
    ts = make_training_set(events, cases, grid="90D")
    return evaluate(model, ts, cv=2, n_boot=5, cases=cases, progress=False)


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


@pytest.fixture(scope="module")
def evaluation_page(evaluation, tmp_path_factory):
    path = write_report(evaluation, tmp_path_factory.mktemp("evaluation") / "evaluation.html")
    return path, _parse(path)


# --------------------------------------------------------------------------- one renderer


def test_every_report_kind_goes_through_the_one_renderer(
    case_audit, cohort_on, evaluation, monkeypatch, tmp_path
):
    seen = []
    original = report.render_page

    def spy(page):
        seen.append(page)
        return original(page) + "<!-- rendered by render_page -->"

    monkeypatch.setattr(report, "render_page", spy)
    for name, result in (("case", case_audit), ("cohort", cohort_on), ("eval", evaluation)):
        written = write_report(result, tmp_path / f"{name}.html").read_text(encoding="utf-8")
        assert written.endswith("<!-- rendered by render_page -->")
        assert isinstance(seen[-1], Page)
    assert len(seen) == 3
    # riskscore.write_report is the same function
    assert riskscore.write_report is write_report


def test_no_html_is_written_outside_the_templates():
    """Markup lives in riskscore/templates; Python builds page data only."""
    package = Path(report.__file__).parent
    markup = re.compile(
        r"<(!DOCTYPE|html|head|body|table|tr|td|th|div|p|img|figure|h\d)[\s>]", re.I
    )
    offenders = [
        f"{path.name}: {m.group(0)}"
        for path in package.rglob("*.py")
        for m in markup.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, offenders
    templates = sorted(p.name for p in (package / "templates").glob("*.j2"))
    assert "page.html.j2" in templates


def test_a_builder_must_return_page_data(tmp_path):
    class Raw:
        pass

    register_report(Raw, lambda result, title: "<!DOCTYPE html><p>raw</p>")
    with pytest.raises(TypeError, match="Page"):
        write_report(Raw(), tmp_path / "raw.html")
    assert not (tmp_path / "raw.html").exists()


def test_registered_builder_serves_subclasses(tmp_path):
    class Result:
        pass

    class SubResult(Result):
        pass

    register_report(
        Result,
        lambda result, title: Page(title, [], [Section("s", "S", [Paragraph("hi")])], "end"),
    )
    out = _parse(write_report(SubResult(), tmp_path / "r.html", title="evaluation"))
    assert "hi" in out.text() and "evaluation" in out.text()


def test_report_rejects_unknown_results(tmp_path):
    with pytest.raises(TypeError, match="CaseAudit"):
        write_report(pd.DataFrame({"a": [1]}), tmp_path / "x.html")


def test_renderer_checks_every_published_table():
    table = disclose(pd.DataFrame({"g": ["a", "b"], "n": [30, 40]}))
    edited = table.copy()
    edited.loc[0, "n"] = 3  # edited after disclosure control
    page = Page("t", [], [Section("s", "S", [Table("x", [], [], source=edited)])], "end")
    with pytest.raises(DisclosureError, match="'n'"):
        render_page(page)
    unstamped = Page("t", [], [Section("s", "S", [Table("x", [], [], source=None)])], "end")
    with pytest.raises(DisclosureError, match="no source"):
        render_page(unstamped)
    case_level = Page("t", [], [Section("s", "S", [Table("x", [], [], level="individual")])], "e")
    with pytest.raises(DisclosureError, match="individual-level"):
        render_page(case_level)
    assert "<table" in render_page(
        Page("t", [], [Section("s", "S", [Table("x", [], [], source=table)])], "end")
    )


def test_text_from_data_is_escaped(case_audit, tmp_path):
    raw = write_report(case_audit, tmp_path / "t.html", title="<b>Case & review</b>").read_text()
    assert "<b>Case" not in raw
    assert "&lt;b&gt;Case &amp; review&lt;/b&gt;" in raw
    events, cases = vignette()
    events = events.assign(case_id="<script>x</script>")
    cases = cases.assign(case_id="<script>x</script>")
    audit = audit_case(events, cases, default_scorecard(), "<script>x</script>")
    raw = write_report(audit, tmp_path / "s.html").read_text()
    assert "<script>" not in raw and "&lt;script&gt;" in raw


# --------------------------------------------------------------------------- case report


def test_case_report_figures_are_embedded_pngs_with_captions(case_page):
    path, page = case_page
    images = page.images()
    assert len(images) == 3  # timeline, attendance, scores
    for img in images:
        _check_embedded_png(img["src"])
        assert img.get("alt")
    assert len(page.captions) == 3 and all(len(c) > 40 for c in page.captions)


def test_case_report_is_self_contained(case_page):
    path, page = case_page
    _check_self_contained(page, path.read_text(encoding="utf-8"))


def test_case_report_notices_come_before_any_figure(case_page):
    _, page = case_page
    first_img = page.first_image_position()
    for notice in (NOTICE, CASE_LEVEL_NOTICE, VIGNETTE_NOTE):
        assert page.text_position(notice) < first_img
    assert page.text_position("not a decision about any person") < first_img
    assert page.text_position("Fictional case") < first_img


def test_case_report_speaks_plain_language(case_page):
    _check_plain_language(case_page[1])


def test_synthetic_banner_follows_the_mark_not_the_case_id(cohort_data, model, tmp_path):
    events, cases = cohort_data
    case_id = str(cases["case_id"].iloc[0])
    page = _parse(write_report(audit_case(events, cases, model, case_id), tmp_path / "c.html"))
    assert VIGNETTE_NOTE not in page.text()
    assert page.text_position(SYNTHETIC_NOTE) < page.first_image_position()
    # the same data without the mark: no banner (the case id decides nothing)
    # (index_date goes too: without its allowed reason the guard refuses a full date)
    plain_events, plain_cases = events.copy(), cases.drop(columns="index_date")
    plain_events.attrs, plain_cases.attrs = {}, {}
    page = _parse(
        write_report(audit_case(plain_events, plain_cases, model, case_id), tmp_path / "p.html")
    )
    assert SYNTHETIC_NOTE not in page.text() and "Synthetic data" not in page.text()
    assert page.text_position(CASE_LEVEL_NOTICE) < page.first_image_position()
    # Child A's events without their mark are not called fictional either
    events, cases = vignette()
    events.attrs, cases.attrs = {}, {}
    page = _parse(write_report(audit_case(events, cases, model, "CHILD-A"), tmp_path / "a.html"))
    assert VIGNETTE_NOTE not in page.text()


def test_case_report_crossings_table_matches_audit(case_page, case_audit):
    _, page = case_page
    assert len(page.tables["crossings"]) - 1 == len(case_audit.crossings) > 0
    dates = page.column("crossings", "date")
    assert dates == [f"{d:%Y-%m-%d}" for d in pd.to_datetime(case_audit.crossings["date"])]
    bands = page.column("crossings", "band")
    assert bands == [band_name(b) for b in case_audit.crossings["band"].astype(str)]
    missed = [v == "yes" for v in page.column("crossings", "missed opportunity")]
    assert missed == case_audit.crossings["missed"].astype(bool).tolist()


def test_case_report_contributions_name_rules_holders_and_rationale(case_page, case_audit):
    _, page = case_page
    rows = page.tables["contributions"]
    header = [c for c, _ in rows[0]]
    summaries = page.summaries["contributions"][1:]
    assert len(rows) - 1 == len(case_audit.contributions)
    rules = {r.label: r for r in case_audit.model.rules}
    shown = sorted(
        (s[header.index("rule or feature")], r[header.index("held by")][0])
        for r, s in zip(rows[1:], summaries, strict=True)
    )
    expected = sorted(
        (rule_name(c), agency_name(h))
        for c, h in zip(
            case_audit.contributions["contributor"].astype(str),
            case_audit.contributions["held_by"].astype(str),
            strict=True,
        )
    )
    assert shown == expected
    # each rule's rationale is one click away, in the row itself
    for r, s in zip(rows[1:], summaries, strict=True):
        (label,) = [k for k in rules if rule_name(k) == s[header.index("rule or feature")]]
        assert rules[label].rationale in r[header.index("rule or feature")][0]


def test_case_report_marks_information_only_visible_when_joined(case_audit, tmp_path):
    contributions = case_audit.contributions.copy()
    contributions.loc[0, "held_by"] = "only when joined"
    edited = CaseAudit(**{**case_audit.__dict__, "contributions": contributions})
    page = _parse(write_report(edited, tmp_path / "joined.html"))
    cells = [cell for row in page.tables["contributions"][1:] for cell in row]
    assert ("no single agency (only when joined)", "joined") in cells


def test_case_report_shows_gap_lead_times_and_provenance(case_page, case_audit):
    _, page = case_page
    text = page.text()
    assert f"{case_audit.join_up_gap_days} days" in text
    lead = page.column("lead-times", "lead time (days)")
    assert lead == [f"{int(v):,}" for v in case_audit.lead_times["lead_time_days"].dropna()]
    assert "review-rules-v2" in text
    machine = " ".join(page.machine)
    assert '"library": "riskscore"' in machine and '"created_utc"' in machine


def test_lead_time_means_the_same_in_the_report_and_the_demo(
    case_page, case_audit, capsys, tmp_path
):
    """One definition: days from the first crossing to the outcome, everywhere."""
    from riskscore.cli import main

    _, page = case_page
    mad = case_audit.lead_times.set_index(case_audit.lead_times["band"].astype(str))
    days = int(mad.loc["multi_agency_discussion", "lead_time_days"])
    assert page.column("lead-times", "lead time (days)")[-1] == f"{days:,}"
    assert "Lead time to death" in page.text()
    assert main(["demo", "--out", str(tmp_path / "demo"), "--n-cases", "150"]) == 0
    out = capsys.readouterr().out
    assert f"lead time {days} days to the (fictional) death" in out
    assert "before the (fictional) child protection plan" not in out


def test_case_report_shows_each_dip():
    card = RuleScorecard(
        [Rule("asthma_admission_28d", ">=", 1, 5, "test rule", ("hospital",))],
        bands={"review": 5, "multi_agency_discussion": 50},
    )
    events = pd.DataFrame(
        {
            "case_id": "y",
            "date": pd.to_datetime(["2101-01-01", "2101-02-10", "2101-03-15"]),
            "agency": "hospital",
            "event": "asthma_admission",
        }
    )
    audit = audit_case(events, None, card, "y")
    assert len(audit.crossings) == 1 and len(audit.dips) == 2
    page = _Page()
    page.feed(report.render_html(audit))
    assert page.column("dips", "left the band") == ["2101-01-29", "2101-03-10"]
    assert page.column("dips", "came back") == ["2101-02-10", "2101-03-15"]
    assert page.column("dips", "days below") == ["12", "5"]
    assert len(page.tables["crossings"]) == 2


def test_report_leaves_pyplot_alone(case_audit, tmp_path):
    before = plt.get_fignums()
    write_report(case_audit, tmp_path / "a.html")
    assert plt.get_fignums() == before


# --------------------------------------------------------------------------- cohort report


def test_cohort_report_figures_are_embedded_pngs(cohort_on_page):
    path, page = cohort_on_page
    images = page.images()
    assert len(images) == 4
    for img in images:
        _check_embedded_png(img["src"])
    assert len(page.captions) == 4
    _check_self_contained(page, path.read_text(encoding="utf-8"))


def test_cohort_report_speaks_plain_language(cohort_on_page):
    _check_plain_language(cohort_on_page[1])


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
    from riskscore._names import column_name

    _, page = cohort_on_page
    for name, table in cohort_on.tables.items():
        stamp = table.attrs["riskscore_disclosure"]
        header = [c for c, _ in page.tables[f"table-{name}"][0]]
        for column in stamp["count_columns"]:
            shown = column_name(column) if column_name(column) in header else "children"
            for text in page.column(f"table-{name}", shown):
                text = text.replace(",", "")
                if text.isdigit():
                    assert int(text) == 0 or int(text) >= 10, (name, column, text)
                    assert int(text) % 5 == 0, (name, column, text)


def test_cohort_report_shares_carry_their_denominator(cohort_on_page, cohort_on):
    _, page = cohort_on_page
    gap = cohort_on.tables["join_up_gap"].iloc[0]
    (cell,) = page.column("table-join_up_gap", "share with a join-up gap")
    assert cell.endswith(f"({int(gap['n_cases_with_gap']):,} of {int(gap['n_cases']):,})")
    # the join-up gap and "only when joined" are explained side by side
    assert "How this fits with the join-up gap" in page.text()


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


def test_cohort_report_says_synthetic_when_a_table_carries_the_mark(cohort_on, tmp_path):
    from riskscore.audit import CohortAudit

    tables = {k: t.copy() for k, t in cohort_on.tables.items()}
    for t in tables.values():
        t.attrs = dict(t.attrs)
        t.attrs.pop("riskscore_synthetic", None)
    plain = CohortAudit(tables, cohort_on.parameters, cohort_on.disclosure, cohort_on.n_cases)
    assert "Synthetic data" not in _parse(write_report(plain, tmp_path / "p.html")).text()
    mark_synthetic(tables["summary"], note=SYNTHETIC_NOTE)
    page = _parse(write_report(plain, tmp_path / "s.html"))
    assert page.text_position(SYNTHETIC_NOTE) < page.first_image_position()


def test_cohort_report_provenance_carries_input_hashes(tmp_path):
    from riskscore.disclosure import hash_input

    events, cases = riskscore.make_cohort(150, random_state=9)
    result = riskscore.audit_cohort(events, cases, riskscore.default_scorecard())
    assert result.input_hashes == {"events": hash_input(events), "cases": hash_input(cases)}
    html = riskscore.write_report(result, tmp_path / "cohort.html").read_text(encoding="utf-8")
    assert hash_input(events) in html and hash_input(cases) in html


# --------------------------------------------------------------------------- evaluation report


def test_evaluation_report_summary_comes_first(evaluation_page, evaluation):
    _, page = evaluation_page
    text = page.text()
    summary = page.heading_position("Summary")
    for later in ("Discrimination", "Calibration", "Decision curve", "Subgroups"):
        assert summary < page.heading_position(later)
    m = evaluation.metrics.set_index("metric")
    from riskscore._names import fmt_interval

    auroc = fmt_interval(*m.loc["auroc", ["estimate", "lower", "upper"]])
    assert re.fullmatch(r"0\.\d+ \(0\.\d+ to 0\.\d+\)", auroc)
    assert summary < page.text_position(auroc) < page.heading_position("Discrimination")
    # alert rate and precision at the thresholds used, with intervals, in the summary
    rows = page.tables["summary-alerts"]
    assert len(rows) - 1 == len(evaluation.alerts)
    assert "highest 5% of predicted risks" in text
    assert "band multi-agency discussion (10 points or more)" in text


def test_evaluation_report_is_readable(evaluation_page):
    path, page = evaluation_page
    _check_plain_language(page)
    _check_self_contained(page, path.read_text(encoding="utf-8"))
    for img in page.images():
        _check_embedded_png(img["src"])
    assert len(page.images()) == len(page.captions) == 4  # ROC, calibration, decision, subgroups
    for name, rows in page.tables.items():
        assert len(rows[0]) <= 9, name  # narrow enough for the page


def test_evaluation_report_says_why_risk_groups_are_merged(evaluation_page, evaluation):
    _, page = evaluation_page
    k = len(evaluation.calibration)
    assert k < 10  # the small cohort exercises disclosure control: tenths are merged
    assert evaluation.calibration["observed"].notna().all()  # merged, not hidden
    if k == 1:
        assert "The one group is all tenths of predicted risk merged" in page.text()
    else:
        assert (
            f"The {k} groups are tenths of predicted risk, neighbouring ones merged" in page.text()
        )
    ranges = page.column("table-calibration", "predicted risk range")
    assert all(re.fullmatch(r"[\d.]+% to [\d.]+%", r) for r in ranges), ranges


# --------------------------------------------------------------------------- figures


def _axes():
    from matplotlib.figure import Figure

    return Figure(figsize=(12, 5)).add_subplot()


def test_every_figure_has_a_title_axis_labels_and_a_caption(case_audit, cohort_on, evaluation):
    drawn = {
        "plot_case_timeline": plots.plot_case_timeline(case_audit, ax=_axes()),
        "plot_case_attendance": plots.plot_case_attendance(case_audit, ax=_axes()),
        "plot_case_scores": plots.plot_case_scores(case_audit, ax=_axes()),
        "plot_lead_times": plots.plot_lead_times(cohort_on, ax=_axes()),
        "plot_false_alarms": plots.plot_false_alarms(cohort_on, ax=_axes()),
        "plot_cases_alerted": plots.plot_cases_alerted(cohort_on, ax=_axes()),
        "plot_agency_share": plots.plot_agency_share(cohort_on, ax=_axes()),
        "plot_by_deprivation": plots.plot_by_deprivation(cohort_on, ax=_axes()),
        "plot_roc": plots.plot_roc(evaluation, ax=_axes()),
        "plot_calibration": plots.plot_calibration(evaluation, ax=_axes()),
        "plot_decision_curve": plots.plot_decision_curve(evaluation, ax=_axes()),
        "plot_subgroups": plots.plot_subgroups(evaluation.subgroups, ax=_axes()),
    }
    for name, ax in drawn.items():
        assert ax.get_title(loc="left"), name
        assert ax.get_xlabel() and ax.get_ylabel(), name
        labels = " ".join([ax.get_xlabel(), ax.get_ylabel()] + [t.get_text() for t in ax.texts])
        assert "_" not in labels, (name, labels)
        if name != "plot_cases_alerted":
            assert plots.CAPTIONS[name], name


def test_plan_and_outcome_lines_are_labelled_apart(case_audit):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 5))
    ax = fig.add_subplot()
    plots.plot_case_scores(case_audit, ax=ax)
    renderer = FigureCanvasAgg(fig).get_renderer()
    texts = {t.get_text(): t.get_window_extent(renderer) for t in ax.texts}
    plan = texts["child protection plan started 2103-06-22"]
    outcome = texts["death 2103-06-24"]
    assert not plan.overlaps(outcome)
    assert plan.x1 < outcome.x0  # the plan is named on its left, the outcome on its right


def test_missed_opportunity_mark_does_not_cover_the_crossing_mark(case_audit):
    ax = plots.plot_case_scores(case_audit, ax=_axes())
    missed = [ln for ln in ax.lines if ln.get_label().startswith("missed opportunity")]
    assert len(missed) == int(case_audit.crossings["missed"].sum()) > 0
    lowest_crossing = float(case_audit.crossings["score"].min())
    for line in missed:
        # a bar under the lines, spanning the response window
        assert max(line.get_ydata()) < min(lowest_crossing, 0)
        start, end = line.get_xdata()
        assert (pd.Timestamp(end) - pd.Timestamp(start)).days == 28


def test_timeline_marks_name_their_event_type(case_audit):
    ax = plots.plot_case_timeline(case_audit, ax=_axes())
    shown = set(case_audit.events["event"].astype(str)) - {"attendance"}
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    from riskscore._names import event_name

    for event in shown:
        assert any(label.startswith(event_name(event) + " (") for label in labels), event
    styles = [plots.EVENT_STYLES[e] for e in shown]
    assert len(set(styles)) == len(styles)  # shape and colour tell every event type apart


def test_attendance_is_drawn_as_a_line(case_audit):
    ax = plots.plot_case_attendance(case_audit, ax=_axes())
    att = case_audit.events[case_audit.events["event"] == "attendance"]
    (line,) = [ln for ln in ax.lines if ln.get_label() == "attendance"]
    assert len(line.get_ydata()) == len(att) > 3
    np.testing.assert_allclose(sorted(line.get_ydata()), sorted(att["value"].to_numpy(dtype=float)))


def test_crossings_and_children_are_counted_on_different_axes(cohort_on):
    crossings = plots.plot_false_alarms(cohort_on, ax=_axes())
    children = plots.plot_cases_alerted(cohort_on, ax=_axes())
    assert crossings.get_ylabel() == "crossings (count)"
    assert children.get_ylabel() == "children (count)"
    labels = [t.get_text() for t in crossings.get_legend().get_texts()]
    assert not any("children" in label or "cases" in label for label in labels)


def test_subgroup_forest_plot_draws_no_point_without_an_interval():
    table = pd.DataFrame(
        {
            "attribute": ["sex", "sex", "sex"],
            "group": ["female", "male", "other"],
            "metric": ["tpr", "tpr", "tpr"],
            "reference": ["female"] * 3,
            "ratio": [1.0, 1.4, 0.0],
            "ratio_lower": [1.0, 0.9, np.nan],
            "ratio_upper": [1.0, 2.1, np.nan],
        }
    )
    ax = plots.plot_subgroups(table, ax=_axes(), metrics=("tpr",))
    drawn = [ln for ln in ax.lines if ln.get_gid() == "estimate"]
    assert len(drawn) == 1  # only the male row: the ratio-0 row has no interval
    assert list(drawn[0].get_xdata()) == [1.4]
    notes = [t.get_text() for t in ax.texts]
    assert "not estimable" in notes and "reference" in notes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "sex: male" in labels


def test_decision_curve_shows_treat_all_across_the_range(evaluation):
    ax = plots.plot_decision_curve(evaluation, ax=_axes())
    (treat_all,) = [ln for ln in ax.lines if ln.get_label() == "alert everyone"]
    x, y = np.asarray(treat_all.get_xdata(), float), np.asarray(treat_all.get_ydata(), float)
    lo, hi = ax.get_ylim()
    inside = (x <= ax.get_xlim()[1]) & (y >= lo) & (y <= hi)
    assert inside.sum() >= 2  # a line, not a tick
    assert y[0] > 0 > y[-1]  # from the outcome rate down through zero


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
    axes = fig.subplots(2, 4).ravel()
    assert plots.plot_case_timeline(case_audit, ax=axes[0]) is axes[0]
    assert plots.plot_case_attendance(case_audit, ax=axes[1]) is axes[1]
    assert plots.plot_case_scores(case_audit, ax=axes[2]) is axes[2]
    assert plots.plot_lead_times(cohort_on, ax=axes[3]) is axes[3]
    assert plots.plot_false_alarms(cohort_on, ax=axes[4]) is axes[4]
    assert plots.plot_cases_alerted(cohort_on, ax=axes[5]) is axes[5]
    assert plots.plot_agency_share(cohort_on, ax=axes[6]) is axes[6]
    assert plots.plot_by_deprivation(cohort_on, ax=axes[7]) is axes[7]


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
    ax = plots.plot_agency_share(table, ax=_axes())
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
    ax = plots.plot_by_deprivation(table, ax=_axes())
    labels = [t.get_text() for t in ax.texts]
    assert labels.count("n/a") == 1 and "suppressed" not in labels


def test_plots_without_axes_make_a_figure(cohort_on):
    ax = plots.plot_false_alarms(cohort_on)
    try:
        assert ax.figure is not None and len(ax.patches) > 0
    finally:
        plt.close(ax.figure)


def test_feature_names_cover_the_catalogue():
    from riskscore._names import FEATURE_NAMES

    assert set(FEATURES) <= set(FEATURE_NAMES)
    assert all("_" not in feature_name(f) for f in FEATURES)


# --------------------------------------------------------------------------- tester findings


@pytest.fixture(scope="module")
def evaluation_no_boot():
    """n_boot=0, and disclosure control suppresses every cut of the ROC curve."""
    events, cases = make_cohort(1500, random_state=3, years=5)
    ts = make_training_set(events, cases, grid="90D")
    return evaluate(default_scorecard(), ts, cv="temporal", n_boot=0, progress=False)


def _lines_with_data(ax):
    return [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2]


def _figure_text(ax):
    texts = [t.get_text() for t in ax.texts]
    legend = ax.get_legend()
    if legend is not None:
        texts += [t.get_text() for t in legend.get_texts()]
    return " ".join(texts)


def test_roc_with_every_cut_suppressed_draws_no_curve_and_says_why(evaluation_no_boot, tmp_path):
    # the chance diagonal was drawn as "the curve" beside "AUROC 0.89"
    r = evaluation_no_boot
    assert np.allclose(r.roc["fpr"], r.roc["tpr"])  # nothing between (0,0) and (1,1)
    assert np.isfinite(r.metric("auroc"))
    ax = plots.plot_roc(r, ax=_axes())
    curves = [ln for ln in ax.get_lines() if ln.get_label() != "chance"]
    assert all(len(ln.get_xdata()) == 0 for ln in curves)
    assert "suppressed by disclosure control" in _figure_text(ax)
    path = write_report(r, tmp_path / "evaluation.html")
    caption = next(c for c in _parse(path).captions if "ROC" in c)
    assert "No curve is drawn" in caption and "disclosure control" in caption


def test_roc_with_published_cuts_is_still_drawn(evaluation):
    ax = plots.plot_roc(evaluation, ax=_axes())
    assert len(_lines_with_data(ax)) == 1
    assert "suppressed" not in _figure_text(ax)


def test_plot_roc_without_an_auroc_row_draws_the_curve_without_its_label(evaluation):
    import dataclasses

    m = evaluation.metrics
    r = dataclasses.replace(
        evaluation, metrics=m.loc[m["metric"] != "auroc"].reset_index(drop=True)
    )
    ax = plots.plot_roc(r, ax=_axes())  # was KeyError: 'auroc'
    assert len(_lines_with_data(ax)) == 1
    assert "AUROC" not in _figure_text(ax)


def test_report_without_bootstrap_says_there_are_no_intervals(evaluation_no_boot, tmp_path):
    path = write_report(evaluation_no_boot, tmp_path / "evaluation.html")
    text = _parse(path).text()
    assert "Bootstrap replicates" in text
    assert "case-bootstrap intervals" not in text
    assert "percentile bootstrap resampling" not in text
    assert "intervals resample children" not in text
    assert "no intervals" in text


def _attendance_only_audit():
    events, cases = vignette()
    att = events.loc[events["event"].astype(str) == "attendance"]
    return audit_case(att, cases, default_scorecard(), "CHILD-A")


def test_attendance_only_case_timeline_warns_nothing_and_counts_school(tmp_path):
    import warnings

    audit = _attendance_only_audit()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "No artists with labels found to put in legend"
        ax = plots.plot_case_timeline(audit, ax=_axes())
        write_report(audit, tmp_path / "case.html")
    text = ax.get_title(loc="right") + " " + _figure_text(ax)
    assert agency_name("school") not in text.split("no events recorded by:")[-1].split(".")[0]
    assert "attendance" in text


def test_case_report_of_a_case_without_outcome_says_the_outcome(tmp_path):
    # an object made before CaseAudit.outcome became None for no outcome holds NaN
    import dataclasses

    events, cases = vignette()
    cases = cases.assign(outcome=np.nan, outcome_date=pd.NaT)
    audit = audit_case(events, cases, default_scorecard(), "CHILD-A")
    old = dataclasses.replace(audit, outcome=np.nan)
    text = _parse(write_report(old, tmp_path / "case.html")).text()
    assert "Lead time to nan" not in text and "nan" not in text.split()
    assert "Lead time to the outcome" in text


def test_an_evaluation_report_names_the_model_and_the_data_it_evaluated(tmp_path):
    # the provenance record had "inputs": {} and the model only as a repr
    import hashlib
    import html
    import json as _json

    import riskscore as rs
    from riskscore.disclosure import hash_input

    events, cases = rs.make_cohort(400, random_state=5)
    ts = rs.make_training_set(events, cases, grid="90D")
    card = rs.default_scorecard()
    res = rs.evaluate(card, ts, cv=3, n_boot=0)
    digest = hashlib.sha256(rs.model_to_json(card).encode("utf-8")).hexdigest()
    assert res.design["model_sha256"] == digest
    page = rs.write_report(res, tmp_path / "e.html").read_text(encoding="utf-8")
    block = page.split("for output checkers)</summary><pre>")[1].split("</pre>")[0]
    record = _json.loads(html.unescape(block))
    assert record["params"]["model_sha256"] == digest
    assert set(record["inputs"]) == {
        "training set features",
        "training set outcomes and case ids",
    }
    assert record["inputs"]["training set features"]["sha256"] == hash_input(ts.X)
    refit = rs.evaluate(rs.LogisticRiskModel(), ts, cv=3, n_boot=0)
    assert refit.design["model_sha256"] is None  # refitted per fold: its parameters say it


def _vignette_at_the_edge(edge: str):
    """The vignette moved so that its dates reach the last (or first) day pandas holds.

    ``"outcome"``: the outcome on 2262-04-11, school records stopping half way (a
    coverage gap to that day). ``"after"``: the outcome ten days earlier and one event
    after it, on 2262-04-11. ``"missed"``: the case ends (outcome) on 2262-04-11, five
    days after its first crossing, which had no response. ``"first"``: the first event
    on 1677-09-22.
    """
    import datetime as dt

    events, cases = vignette()
    if edge == "missed":
        first = pd.Timestamp("2101-01-18")  # the vignette's first crossing, missed
        end = first + pd.Timedelta(days=5)
        events = events.loc[events["date"] <= end]
        cases = cases.assign(outcome_date=end, followup_end=end)
    dates = pd.concat([events["date"], cases["outcome_date"], cases["followup_end"]])
    target = {"after": (2262, 4, 1), "first": (1677, 9, 22)}.get(edge, (2262, 4, 11))
    base = dates.min() if edge == "first" else dates.max()
    days = (dt.date(*target) - base.date()).days

    def move(s):  # more than a Timedelta holds (292 years): two steps
        return s + pd.Timedelta(days=days // 2) + pd.Timedelta(days=days - days // 2)

    events = events.assign(date=move(events["date"]), recorded_date=move(events["recorded_date"]))
    cases = cases.assign(
        outcome_date=move(cases["outcome_date"]),
        followup_end=move(cases["followup_end"]),
        birth_year=cases["birth_year"] + round(days / 365.25),
    )
    if edge == "after":
        after = events.iloc[[0]].assign(date=pd.Timestamp("2262-04-11"), recorded_date=pd.NaT)
        events = pd.concat([events, after], ignore_index=True)
    if edge != "outcome":
        return events, cases, None
    first, end = events["date"].min(), pd.Timestamp("2262-04-11")
    half = first + (end - first) / 2
    coverage = [(a, first, end) for a in AGENCIES if a != "school"] + [("school", first, half)]
    return events, cases, coverage


@pytest.mark.parametrize("edge", ["outcome", "after", "missed", "first"])
def test_case_figures_of_dates_at_the_edge_of_what_pandas_holds(edge, tmp_path):
    # padding the audited span by days past 2262-04-11 (or before 1677-09-22) raised
    # pandas' OutOfBoundsDatetime, and write_report(audit_case(...)) crashed; so did the
    # shading after the audited period, a coverage gap's last day, a join-up gap at
    # the last as-of date and a missed opportunity's response window
    import matplotlib.dates as mdates

    events, cases, coverage = _vignette_at_the_edge(edge)
    audit = audit_case(events, cases, default_scorecard(), "CHILD-A", coverage=coverage)
    assert len(audit.crossings) and audit.crossings["missed"].any()  # the premise
    assert audit.join_up_gap_days > 0
    if edge == "missed":
        missed = pd.Timestamp(audit.crossings.loc[audit.crossings["missed"], "date"].iloc[-1])
        assert missed > pd.Timestamp("2262-04-11") - pd.Timedelta(days=28)
    if edge == "outcome":
        assert (audit.coverage_gaps["to"] == pd.Timestamp("2262-04-11")).any()
        assert audit.trajectory["as_of"].max() == pd.Timestamp("2262-04-11")
    page = _parse(write_report(audit, tmp_path / "case.html"))
    assert len(page.images()) >= 3
    first, final = (mdates.date2num(events["date"].agg(f)) for f in ("min", "max"))
    for draw in (plots.plot_case_timeline, plots.plot_case_scores, plots.plot_case_attendance):
        lo, hi = draw(audit, ax=_axes()).get_xlim()
        assert lo < first and hi > final, draw.__name__  # every event inside, with room


def _subgroup_rows(lower, upper):
    """A hand-made subgroup table: female the reference, male and other against it."""
    return pd.DataFrame(
        {
            "attribute": ["sex"] * 3,
            "group": ["female", "male", "other"],
            "metric": ["tpr"] * 3,
            "reference": ["female"] * 3,
            "ratio": [1.0, 1.4, 0.8],
            "ratio_lower": [1.0, *lower],
            "ratio_upper": [1.0, *upper],
        }
    )


def _interval_lines(ax):
    return [ln for ln in ax.lines if ln.get_linestyle() == "-" and len(ln.get_xdata()) == 2]


def test_the_subgroup_caption_names_an_interval_only_when_the_figure_draws_one():
    # CAPTIONS["plot_subgroups"] promised "the case-bootstrap interval" whatever was
    # drawn; the report mended it only for n_boot=0, not for intervals all withheld
    both = _subgroup_rows([0.9, 0.5], [2.1, 1.3])
    some = _subgroup_rows([0.9, np.nan], [2.1, np.nan])
    none = _subgroup_rows([np.nan, np.nan], [np.nan, np.nan])
    for table, drawn in ((both, 2), (some, 1), (none, 0)):
        ax = plots.plot_subgroups(table, ax=_axes(), metrics=("tpr",))
        assert len(_interval_lines(ax)) == drawn  # the premise: what the figure shows
        caption = plots.subgroup_caption(table, metrics=("tpr",))
        assert ("case-bootstrap interval" in caption) == (drawn > 0), caption
        assert ("without an interval" in caption) == (drawn == 1), caption
    assert "without intervals" in plots.subgroup_caption(none, metrics=("tpr",))
    # the reason, when the table knows it: no replicates were drawn
    rng = np.random.default_rng(0)
    p = rng.random(3000) * 0.5
    y = (rng.random(3000) < p).astype(int)
    groups = pd.Series(rng.choice(["a", "b"], 3000), name="g")
    table = riskscore.subgroup_metrics(y, p, groups, n_boot=0)
    assert table.attrs["n_boot"] == 0
    caption = plots.subgroup_caption(table)
    assert "n_boot=0" in caption and "case-bootstrap interval" not in caption
    drawn = riskscore.subgroup_metrics(y, p, groups, n_boot=20, progress=False)
    assert "case-bootstrap interval" in plots.subgroup_caption(drawn)


def test_the_report_captions_the_subgroup_figure_as_it_is_drawn(evaluation, tmp_path):
    # the report used the fixed caption, promising "the case-bootstrap interval" even
    # where disclosure control withheld every subgroup interval
    import dataclasses

    sg = evaluation.subgroups.copy()
    for col in ("ratio_lower", "ratio_upper"):
        sg[col] = np.nan
    withheld = dataclasses.replace(evaluation, subgroups=sg)
    text = _parse(write_report(withheld, tmp_path / "e.html")).text()
    assert plots.subgroup_caption(sg) in text
    assert "case-bootstrap interval," not in text


@pytest.mark.parametrize(
    "char, code",
    [("\u202e", "U+202E"), ("\u200b", "U+200B"), ("\x1b", "U+001B"), ("\u2028", "U+2028")],
)
def test_report_titles_refuse_characters_that_are_acted_on_not_shown(tmp_path, char, code):
    """A right-to-left override in a title made 'Cohort audit: NOT FOR RELEASE' read otherwise."""
    from riskscore.errors import ParameterError
    from riskscore.evaluation import example_result

    path = tmp_path / "r.html"
    title = f"Cohort audit{char}ESAELER ROF TON"
    with pytest.raises(
        ParameterError, match=rf"write_report: the title .*{re.escape(code)}.*Fix: pass a title="
    ):
        riskscore.write_report(example_result(), path, title=title)
    assert not path.exists()
    with pytest.raises(ParameterError, match=re.escape(code)):
        report.render_html(example_result(), title=title)
    # a page builder's own title and headings go through the same check
    page = Page(title, [], [Section("one", "One", [Paragraph("x")])], footer="")
    with pytest.raises(ParameterError, match=re.escape(code)):
        report.render_page(page)
    page = Page("A note", [], [Section("one", f"One{char}", [Paragraph("x")])], footer="")
    with pytest.raises(ParameterError, match=rf"heading of section 'one'.*{re.escape(code)}"):
        report.render_page(page)


def test_report_refuses_model_names_with_characters_not_shown(tmp_path):
    from riskscore.errors import ParameterError

    events, cases = vignette()
    card = default_scorecard()
    hidden = RuleScorecard(card.rules, card.bands, name="review\u202e2v-selur", model_card={})
    audit = audit_case(events, cases, hidden, "CHILD-A")
    with pytest.raises(ParameterError, match=r"write_report: the model name .*U\+202E.*name="):
        riskscore.write_report(audit, tmp_path / "a.html")
    assert not (tmp_path / "a.html").exists()
    # a long estimator's description wraps over lines: layout, not hidden text
    assert report._shown_name("Pipeline(steps=[('a', A()),\n                ('b', B())])")
    # plain visible text, other scripts included, is shown as it is
    out = riskscore.write_report(
        audit_case(events, cases, card, "CHILD-A"),
        tmp_path / "b.html",
        title="Revue \u00e9t\u00e9 \u05e2\u05d1\u05e8\u05d9\u05ea",
    )
    assert "\u05e2\u05d1\u05e8\u05d9\u05ea" in out.read_text(encoding="utf-8")
