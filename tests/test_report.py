"""The static HTML report (jobs/audit/report.py, `relief report`): every figure on every page equals
the summary table, the pages are self-contained and accessible, and the run is chosen right.

The warehouse is the audit tests' one (tests/test_audit.py): two runs with different
compute-at, summary rows for Fresno and Kern in each.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from relief.jobs.audit import report
from relief.jobs.audit.report import ReportError, build_report, figures_on_page, report_command
from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.storage import Warehouse, append_rows
from tests.helpers.audit_warehouse import (
    COMPUTE_2,
    GX_RUN_2,
    RUN_1,
    RUN_2,
    build_warehouse,
    hash_of_policy_dir,
    record_run,
    summary_rows,
    write_policy_dir,
)
from tests.helpers.report_pages import (
    FIGURE_ATTRS,
    assert_pages_match_summary,
    figure_cells,
)

# (flow, metric) pairs a county page promises to show in full: every summary row of the run
# with one of these is on the page.

# --- tests on the small warehouse -----------------------------------------------------------


def small_warehouse(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return build_warehouse(root / "warehouse", hash_of_policy_dir(write_policy_dir(root / "p")))


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A warehouse of one's own, for tests that add to it."""
    return small_warehouse(tmp_path / "own")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One warehouse and its default report, for the tests that only read them."""
    root = small_warehouse(tmp_path_factory.mktemp("report"))
    index = report_command(root, root.parent / "site", None, suppress=False)
    return root, index.parent


@pytest.fixture
def built(shared: tuple[Path, Path]) -> Path:
    return shared[1]


def test_every_figure_on_every_page_equals_the_summary_table(shared: tuple[Path, Path]):
    assert_pages_match_summary(*shared, RUN_2)


def test_the_default_run_is_the_latest_succeeded_one(warehouse: Path, tmp_path: Path):
    later = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    record_run(warehouse, "20270101T000000Z-fail0009", COMPUTE_2, [], None,
               status=ledger.STATUS_FAILED, started=later)  # fmt: skip
    index = report_command(warehouse, tmp_path / "r", None, suppress=False)
    text = index.read_text()
    assert f"<dt>Run</dt><dd>{RUN_2}</dd>" in text
    assert f"<dt>Validation</dt><dd>{GX_RUN_2}</dd>" in text
    assert "<dt>Compute-at</dt><dd>2026-06-30" in text


def test_a_report_of_an_earlier_run_shows_that_runs_figures(
    shared: tuple[Path, Path], tmp_path: Path
):
    warehouse = shared[0]
    out = tmp_path / "r1"
    report_command(warehouse, out, RUN_1, suppress=False)
    assert_pages_match_summary(warehouse, out, RUN_1)
    fresno = {(c["data-flow"], c["data-metric"], c["data-key"]): c["data-value"]
              for c in figure_cells((out / "county-fresno.html").read_text())
              if "data-value" in c}  # fmt: skip
    assert fresno[("policy", "subjects_some_relief", "")] == "4"  # run 2 has 5
    assert f"<dt>Run</dt><dd>{RUN_1}</dd>" in (out / "index.html").read_text()


def test_a_count_without_a_summary_row_is_shown_as_zero(built: Path):
    cells = figure_cells((built / "county-fresno.html").read_text())
    no_conviction = [c for c in cells if (c["data-flow"], c["data-metric"]) ==
                     ("policy", "subjects_no_conviction")]  # fmt: skip
    assert no_conviction and all(c["data-value"] == "0" and c["_text"] == "0"
                                 for c in no_conviction)  # fmt: skip


def test_county_page_shows_each_required_chart_with_a_table_of_its_numbers(built: Path):
    text = (built / "county-fresno.html").read_text()
    headings = re.findall(r'<h2 id="chart-\d+-heading">([^<]+)</h2>', text)
    assert headings == [
        "Prop 64 convictions by determination",
        "Prop 64 convictions by code section",
        "Prop 64 convictions by reason",
        "People whose records change",
        "Relief by race",
        "Prop 64 convictions by year of conviction",
    ]
    sections = text.split('<section class="figure"')[1:]
    for section in sections:
        assert section.count('<svg role="img" aria-labelledby=') == 1
        assert re.search(r'<title id="chart-\d+-title">', section)
        assert re.search(r'<desc id="chart-\d+-desc">[^<]{10,}</desc>', section)
        assert "<table><caption>" in section and '<th scope="col">' in section
    assert "<h1>Fresno County: Prop 64 relief</h1>" in text
    assert '<a href="index.html">← All counties</a>' in text


def test_year_chart_runs_through_years_without_convictions(built: Path):
    text = (built / "county-fresno.html").read_text()
    chart = text[text.index("Prop 64 convictions by year of conviction") :]
    svg = chart[chart.index("<svg") : chart.index("</svg>")]
    assert all(f">{year}<" in svg for year in range(2009, 2013))  # 2010, 2011: none
    assert ">date unknown<" in svg
    table_years = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num"', chart)
    assert table_years == ["2009", "2012", "date unknown"]


def test_index_ranks_counties_and_links_every_county_page(built: Path):
    text = (built / "index.html").read_text()
    links = re.findall(r'<th scope="row"><a href="(county-[a-z-]+\.html)">([^<]+)</a>', text)
    assert links == [("county-fresno.html", "Fresno"), ("county-kern.html", "Kern")]
    assert all((built / href).is_file() for href, _ in links)
    assert '<th scope="row">All counties (sum)</th>' in text
    assert "Counties ranked by Prop 64 convictions" in text
    assert "People whose records change, all counties" in text


def test_pages_are_self_contained_and_print_ready(built: Path):
    for page in built.glob("*.html"):
        text = page.read_text()
        assert not re.search(r'(?:src|href)="(?:https?:)?//', text), page
        assert "<link" not in text and "<img" not in text and "<image" not in text
        assert "@media print" in text and 'lang="en"' in text
        assert "<text" in text  # chart text stays text: searchable, sharp in print


def test_validation_page_link_appears_only_when_the_runs_page_exists(
    warehouse: Path, tmp_path: Path
):
    out = tmp_path / "site" / "report"
    report_command(warehouse, out, None)
    assert "Validation page" not in (out / "index.html").read_text()
    docs = Warehouse(warehouse).validation(RUN_2) / "index.html"
    docs.parent.mkdir(parents=True)
    docs.write_text("<html>GX</html>")
    report_command(warehouse, out, None)
    for page in ("index.html", "county-kern.html"):
        hrefs = re.findall(
            r'<dt>Validation page</dt><dd><a href="([^"]+)">', (out / page).read_text()
        )
        # An absolute file URI: the link still works from a copy of the folder on this
        # machine; the note says it is not part of the folder.
        assert hrefs == [docs.resolve().as_uri()]
        assert "not part of this folder" in (out / page).read_text()


def test_text_from_the_data_is_escaped(warehouse: Path, tmp_path: Path):
    odd = 'Age < 21 & "special"'
    rows = summary_rows(RUN_2, COMPUTE_2, [("kern", "policy", "convictions_by_reason",
                                            "Eligible for Dismissal", odd, 2, None)])  # fmt: skip
    version = append_rows(Warehouse(warehouse).summary, rows, {"run_id": RUN_2})
    # The report reads the summary at the version the run's ledger row names.
    run_2 = next(r for r in ledger.read_runs(Warehouse(warehouse)) if r["run_id"] == RUN_2)
    record_run(warehouse, RUN_2, COMPUTE_2, run_2["county_versions"], version,
               started=dt.datetime(2026, 7, 1, tzinfo=dt.UTC))  # fmt: skip
    out = tmp_path / "r"
    report_command(warehouse, out, None, suppress=False)
    text = (out / "county-kern.html").read_text()
    assert "Age &lt; 21 &amp; &#34;special&#34;" in text and odd not in text
    assert any(f["key2"] == odd for f in figures_on_page(text))
    assert_pages_match_summary(warehouse, out, RUN_2)


# A county slug names a file (no "/"); the other texts close elements, open scripts, quote.
HOSTILE_COUNTY = """x"' onmouseover="alert(1)&<script>alert(2)"""
HOSTILE_TEXT = """</td></script><script>alert("x")</script> & 'q' <b>"""


class PageElements(HTMLParser):
    """A page as a browser reads it: its elements, their attributes and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_hostile_county_reason_race_and_text_come_out_escaped_on_every_page(
    warehouse: Path, tmp_path: Path
):
    c, p = HOSTILE_COUNTY, "policy"
    rows = summary_rows(RUN_2, COMPUTE_2, [
        (c, p, "prop64_convictions_by_section", "11357", "", 12, None),
        (c, p, "convictions_by_determination", HOSTILE_TEXT, "", 12, None),
        (c, p, "convictions_by_reason", HOSTILE_TEXT, HOSTILE_TEXT, 12, None),
        (c, p, "subjects_with_prop64_conviction", "", "", 14, None),
        (c, p, "subjects_by_race", HOSTILE_TEXT, "", 14, None),
        (c, p, "earliest_prop64_conviction", "", "", None, HOSTILE_TEXT),
    ])  # fmt: skip
    version = append_rows(Warehouse(warehouse).summary, rows, {"run_id": RUN_2})
    run_2 = next(r for r in ledger.read_runs(Warehouse(warehouse)) if r["run_id"] == RUN_2)
    record_run(warehouse, RUN_2, COMPUTE_2, run_2["county_versions"], version,
               started=dt.datetime(2026, 7, 1, tzinfo=dt.UTC))  # fmt: skip
    out = tmp_path / "r"
    report_command(warehouse, out, None)
    county_page = out / f"county-{HOSTILE_COUNTY}.html"
    assert county_page.is_file()
    for page in (out / "index.html", county_page):
        text = page.read_text(encoding="utf-8")
        assert HOSTILE_TEXT not in text and HOSTILE_COUNTY not in text
        parsed = PageElements()
        parsed.feed(text)
        # One script element, the JSON block; no element or attribute the data brought.
        scripts = [attrs for tag, attrs in parsed.tags if tag == "script"]
        assert scripts == [{"type": "application/json", "id": "relief-figures"}]
        assert all(tag != "b" for tag, _ in parsed.tags)
        assert all("onmouseover" not in attrs for _, attrs in parsed.tags)
        listed = figures_on_page(text)
        assert any(f["county"] == HOSTILE_COUNTY for f in listed)
    index = PageElements()
    index.feed((out / "index.html").read_text(encoding="utf-8"))
    links = {attrs["href"] for tag, attrs in index.tags if tag == "a" and "href" in attrs}
    assert county_page.name in links  # the link leads to the county's page
    parsed = PageElements()
    parsed.feed(county_page.read_text(encoding="utf-8"))
    shown = "".join(parsed.text)
    assert shown.count(HOSTILE_TEXT) >= 6  # determination, reason, race, earliest, in tables
    cells = figure_cells(county_page.read_text(encoding="utf-8"))
    earliest = [x for x in cells if x["data-metric"] == "earliest_prop64_conviction"]
    assert [(x["data-text"], x["_text"]) for x in earliest] == [(HOSTILE_TEXT, HOSTILE_TEXT)]
    reasons = [x for x in cells if x["data-metric"] == "convictions_by_reason"]
    assert [(x["data-key"], x["data-key2"]) for x in reasons] == [(HOSTILE_TEXT, HOSTILE_TEXT)]
    assert_pages_match_summary(warehouse, out, RUN_2)


def test_an_unknown_run_is_bad_usage_naming_the_succeeded_runs(
    shared: tuple[Path, Path], tmp_path: Path
):
    with pytest.raises(ReportError) as caught:
        report_command(shared[0], tmp_path / "r", "no-such-run")
    assert caught.value.exit_code == 2
    assert f"Succeeded runs: {RUN_1}, {RUN_2}" in str(caught.value)


def test_a_warehouse_without_a_succeeded_run_has_nothing_to_report(tmp_path: Path):
    root = tmp_path / "w"
    record_run(root, "20240101T000000Z-fail0001", COMPUTE_2, [], None,
               status=ledger.STATUS_FAILED)  # fmt: skip
    with pytest.raises(ReportError) as caught:
        report_command(root, tmp_path / "r", None)
    assert caught.value.exit_code == 1
    assert "no succeeded run" in str(caught.value)


def test_build_report_writes_index_and_one_page_per_county(
    shared: tuple[Path, Path], tmp_path: Path
):
    index, pages = build_report(shared[0], tmp_path / "r", suppress=False)
    assert index == tmp_path / "r" / "index.html"
    assert sorted(p.name for p in pages) == ["county-fresno.html", "county-kern.html", "index.html"]


def test_report_knows_the_flows_and_metrics_of_the_summary_transform():
    from relief.transforms import summary, summary_names

    assert set(summary.FLOWS) == {report.POLICY, report.DISMISS_ALL, report.DISMISS_ALL_RELATED}
    assert {f"subjects_{m}" for m in summary.SUBJECT_METRICS} == {
        report.SOME_RELIEF, report.NO_FELONY, report.NO_CONVICTION, report.NO_RECENT}  # fmt: skip
    source = Path(summary.__file__).read_text()
    # Both read the names from transforms/summary_names.py; the summary computes each one.
    for name in ("ROWS", "EARLIEST", "BY_SECTION", "BY_FELONY", "BY_YEAR", "BY_RACE",
                 "BY_REASON", "BY_DETERMINATION", "SUBJECTS", "SUBJECTS_BY_RACE"):  # fmt: skip
        assert getattr(report, name) == getattr(summary_names, name), name
        assert f"names.{name}" in source, name
    assert f'"{report.FELONY}"' in source and f'"{report.NON_FELONY}"' in source


# --- small-cell suppression (issue #13.6) -----------------------------------------------------

SIERRA = "sierra"


def sierra_figures() -> list[tuple]:
    """A small county: 1 HISPANIC person, 40 WHITE; convictions 3 + 45 by section."""
    p, d = "policy", "dismiss_all_prop64"
    dismiss, reduce_ = "Eligible for Dismissal", "Eligible for Reduction"
    return [
        (SIERRA, p, "rows", "", "", 300, None),
        (SIERRA, p, "prop64_convictions_by_section", "11357", "", 3, None),
        (SIERRA, p, "prop64_convictions_by_section", "11359", "", 45, None),
        (SIERRA, p, "prop64_convictions_by_felony", "felony", "", 20, None),
        (SIERRA, p, "prop64_convictions_by_felony", "non-felony", "", 28, None),
        (SIERRA, p, "convictions_by_conviction_year", "2010", "", 30, None),
        (SIERRA, p, "convictions_by_conviction_year", "2011", "", 18, None),
        (SIERRA, p, "convictions_by_determination", dismiss, "", 33, None),
        (SIERRA, p, "convictions_by_determination", reduce_, "", 15, None),
        (SIERRA, d, "convictions_by_determination", dismiss, "", 48, None),
        (SIERRA, p, "convictions_by_reason", dismiss, "misdemeanor", 33, None),
        (SIERRA, p, "convictions_by_reason", reduce_, "felony", 15, None),
        (SIERRA, p, "convictions_by_race", "HISPANIC", dismiss, 2, None),
        (SIERRA, p, "convictions_by_race", "WHITE", dismiss, 31, None),
        (SIERRA, p, "convictions_by_race", "WHITE", reduce_, 15, None),
        (SIERRA, p, "subjects_with_prop64_conviction", "", "", 41, None),
        (SIERRA, p, "subjects_by_race", "HISPANIC", "", 1, None),
        (SIERRA, p, "subjects_by_race", "WHITE", "", 40, None),
        (SIERRA, p, "subjects_some_relief", "", "", 41, None),
        (SIERRA, p, "subjects_some_relief_by_race", "HISPANIC", "", 1, None),
        (SIERRA, p, "subjects_some_relief_by_race", "WHITE", "", 40, None),
        (SIERRA, d, "subjects_some_relief", "", "", 41, None),
        (SIERRA, d, "subjects_some_relief_by_race", "HISPANIC", "", 1, None),
        (SIERRA, d, "subjects_some_relief_by_race", "WHITE", "", 40, None),
        (SIERRA, p, "subjects_no_felony", "", "", 7, None),
        (SIERRA, p, "earliest_prop64_conviction", "", "", None, "2010-03-04"),
    ]


@pytest.fixture(scope="module")
def sierra(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small warehouse with a small county's figures added to run 2."""
    root = small_warehouse(tmp_path_factory.mktemp("sierra"))
    rows = summary_rows(RUN_2, COMPUTE_2, sierra_figures())
    version = append_rows(Warehouse(root).summary, rows, {"run_id": RUN_2})
    run_2 = next(r for r in ledger.read_runs(Warehouse(root)) if r["run_id"] == RUN_2)
    record_run(root, RUN_2, COMPUTE_2, run_2["county_versions"], version,
               started=dt.datetime(2026, 7, 1, tzinfo=dt.UTC))  # fmt: skip
    return root


def test_a_small_count_is_shown_as_under_11_and_its_value_is_nowhere_on_the_page(
    sierra: Path, tmp_path: Path
):
    out = tmp_path / "r"
    report_command(sierra, out, None)
    text = (out / "county-sierra.html").read_text()
    cells = {(c["data-metric"], c["data-key"], c["data-key2"]): c for c in figure_cells(text)}
    hispanic = cells[("subjects_by_race", "HISPANIC", "")]
    assert hispanic["_text"] == "<11" and "data-value" not in hispanic
    assert hispanic["data-suppressed"] == "true"
    listed = [f for f in figures_on_page(text) if f["key"] == "HISPANIC"]
    assert listed and all(
        (f.get("suppressed") is True and "value" not in f) or f["value"] == 0 for f in listed
    )
    # The chart labels the hidden bars <11, the description too; no "HISPANIC 1" anywhere.
    race = text[text.index("Relief by race") :]
    assert "HISPANIC: People with a Prop 64 conviction &lt;11" in race
    assert not re.search(r"HISPANIC[^<]{0,60}\b1\b", race)
    assert "Counts from 1 to 10 are shown as “&lt;11”" in text
    assert_pages_match_summary(sierra, out, RUN_2)


def test_a_total_minus_the_shown_cells_never_gives_a_hidden_count_away(
    sierra: Path, tmp_path: Path
):
    out = tmp_path / "r"
    report_command(sierra, out, None)
    pages = [p.read_text() for p in out.glob("*.html")]
    hidden = {
        tuple(c[a] for a in FIGURE_ATTRS)
        for text in pages
        for c in figure_cells(text)
        if "data-suppressed" in c
    }
    figures = report.read_summary(sierra, RUN_2, None)
    groups = report.published_sums(figures)
    assert groups
    consistent = 0
    for group in groups:
        parts = sum(figures.value(*p) for p in group.parts)
        if parts != figures.value(*group.total):
            # The hand-written Fresno/Kern figures do not all add up; Sierra's do.
            assert group.total[0] != SIERRA, group
            continue
        consistent += 1
        members = [group.total, *group.parts]
        assert sum(1 for m in members if m in hidden) != 1, group
    assert consistent > 20
    # Sierra's 3 convictions under 11357 are hidden, and so is the next smallest section
    # (45), or 48 - 45 would be 3.
    sections = {c["data-key"]: c for c in figure_cells((out / "county-sierra.html").read_text())
                if c["data-metric"] == "prop64_convictions_by_section"}  # fmt: skip
    assert sections["11357"]["_text"] == sections["11359"]["_text"] == "<11"
    # WHITE's 40 people are hidden beside HISPANIC's 1 (41 people in all are shown).
    people = {(c["data-metric"], c["data-key"]): c["_text"]
              for c in figure_cells((out / "county-sierra.html").read_text())}  # fmt: skip
    assert people[("subjects_by_race", "WHITE")] == "<11"
    assert people[("subjects_with_prop64_conviction", "")] == "41"


def test_every_count_from_1_to_10_is_hidden_and_0_and_11_are_shown():
    key = ("x", "policy", "subjects_no_felony", "", "")
    figures = report.SummaryFigures("r", {key: 0}, {})
    on = report.suppression_for(figures)
    assert [n for n in range(0, 13) if on.hides(key, n)] == list(range(1, 11))
    assert not report.suppression_for(figures, enabled=False).hides(key, 5)


def test_no_suppression_shows_small_counts_and_says_it_is_for_internal_use(
    sierra: Path, tmp_path: Path
):
    out = tmp_path / "r"
    report_command(sierra, out, None, suppress=False)
    text = (out / "county-sierra.html").read_text()
    cells = {(c["data-metric"], c["data-key"]): c for c in figure_cells(text)}
    assert cells[("subjects_by_race", "HISPANIC")]["data-value"] == "1"
    assert "Small-cell suppression is OFF (relief report --no-suppression)" in text
    assert "For internal use only" in (out / "index.html").read_text()
    assert_pages_match_summary(sierra, out, RUN_2)


def test_no_suppression_option_of_the_command(sierra: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from relief.jobs.cli import app

    for args, shown in (([], "<11"), (["--no-suppression"], "1")):
        out = tmp_path / f"r{len(args)}"
        done = CliRunner().invoke(
            app, ["report", "--warehouse", str(sierra), "--out", str(out), *args]
        )
        assert done.exit_code == 0, done.output
        text = (out / "county-sierra.html").read_text()
        cells = {(c["data-metric"], c["data-key"]): c for c in figure_cells(text)}
        assert cells[("subjects_by_race", "HISPANIC")]["_text"] == shown


def test_the_input_fingerprint_is_labelled_blake2b_not_sha256(built: Path):
    text = (built / "index.html").read_text()
    assert "(fingerprint blake2b " in text
    assert "extract.csv (sha256" not in text


# --- one reader context per command (issue #22.1) ----------------------------------------------


def test_a_report_built_while_another_run_publishes_names_one_run_throughout(tmp_path: Path):
    """Run 1 is published when the command opens its reader context; run 2 then publishes
    (real Delta commits and a ledger row, in this process) before any page is rendered. The
    report, its command's line and the audit answers from the same context name run 1 only,
    with run 1's figures; a context opened afterwards sees run 2."""
    from relief.jobs.audit.history import county_history
    from relief.jobs.audit.report import report_context
    from relief.jobs.audit.verify import verify_warehouse
    from tests.helpers.audit_warehouse import (
        COMPUTE_1,
        figures_for,
        fresno_v0,
        fresno_v1,
        kern_rows,
        run_into,
    )

    policy_hash = hash_of_policy_dir(write_policy_dir(tmp_path / "p"))
    root = tmp_path / "warehouse"
    run_into(root, RUN_1, COMPUTE_1, {"fresno": fresno_v0(), "kern": kern_rows()},
             policy_hash, figures_for(1))  # fmt: skip
    context = report_context(root)
    assert context.publication.run_id == RUN_1
    # Another run publishes between the context's one ledger read and the rendering.
    run_into(root, RUN_2, COMPUTE_2, {"fresno": fresno_v1(), "kern": kern_rows()},
             policy_hash, figures_for(2), validation=GX_RUN_2)  # fmt: skip
    assert report_context(root).publication.run_id == RUN_2  # it is published now

    index = report_command(context, tmp_path / "site", None, suppress=False)
    assert_pages_match_summary(root, index.parent, RUN_1)  # run 1's figures on every page
    for page in sorted(index.parent.glob("*.html")):
        text = page.read_text(encoding="utf-8")
        assert RUN_1 in text and RUN_2 not in text, page.name
    history = county_history(context, "fresno")
    assert history.publication_run == RUN_1
    assert history.published is not None and history.published.named_by == RUN_1
    assert verify_warehouse(context).published_by == RUN_1

    later = report_command(root, tmp_path / "later", None, suppress=False)
    assert_pages_match_summary(root, later.parent, RUN_2)
    assert RUN_2 in later.read_text(encoding="utf-8")
