"""Checking a report's pages against the summary table they were built from."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
from deltalake import DeltaTable

from relief.jobs.audit.report import figures_on_page
from relief.jobs.warehouse.storage import Warehouse

SHOWN_ON_COUNTY_PAGE = {
    ("policy", "rows"),
    ("policy", "earliest_prop64_conviction"),
    ("policy", "prop64_convictions_by_section"),
    ("policy", "prop64_convictions_by_felony"),
    ("policy", "convictions_by_conviction_year"),
    ("policy", "convictions_by_race"),
    ("policy", "convictions_by_reason"),
    ("policy", "convictions_by_determination"),
    ("dismiss_all_prop64", "convictions_by_determination"),
    ("policy", "subjects_with_prop64_conviction"),
    ("policy", "subjects_by_race"),
    *{
        (flow, metric)
        for flow in ("policy", "dismiss_all_prop64")
        for metric in (
            "subjects_some_relief",
            "subjects_some_relief_by_race",
            "subjects_no_felony",
            "subjects_no_conviction",
            "subjects_no_conviction_last_7_years",
        )
    },
}
FIGURE_ATTRS = ("data-county", "data-flow", "data-metric", "data-key", "data-key2")


# --- checking pages against the summary table -------------------------------------------------


def summary_of(warehouse: Path, run_id: str) -> list[dict[str, Any]]:
    table = DeltaTable(str(Warehouse(warehouse).summary)).to_pyarrow_table()
    return table.filter(pc.equal(table["run_id"], run_id)).to_pylist()


def expected(rows: list[dict[str, Any]], figure: tuple[str, ...]) -> int:
    """The summary table's value; '*' sums over a key; a missing row is 0."""
    total = 0
    for row in rows:
        actual = (row["county"], row["flow"], row["metric"], row["key"], row["key2"])
        if all(w in ("*", a) for w, a in zip(figure, actual, strict=True)) and row["value"]:
            total += row["value"]
    return total


def expected_text(rows: list[dict[str, Any]], figure: tuple[str, ...]) -> str:
    for row in rows:
        if (row["county"], row["flow"], row["metric"], row["key"], row["key2"]) == figure:
            return row["text"] or ""
    return ""


class FigureCells(HTMLParser):
    """Every element carrying a summary figure, with its attributes and shown text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[dict[str, str]] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "data-metric" in values:
            self._open = values | {"_text": ""}

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["_text"] += data

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None:
            self.cells.append(self._open)
            self._open = None


def figure_cells(text: str) -> list[dict[str, str]]:
    parser = FigureCells()
    parser.feed(text)
    return parser.cells


def assert_pages_match_summary(warehouse: Path, out: Path, run_id: str) -> None:
    """Every figure shown on the report's pages (cells and JSON block) equals the summary
    table of ``run_id``, and each county page shows every row of SHOWN_ON_COUNTY_PAGE. A
    suppressed figure (a report without --no-suppression) shows ``<11`` and carries no
    value anywhere; a shown one is then 0 or at least 11."""
    rows = summary_of(warehouse, run_id)
    counties = sorted({r["county"] for r in rows})
    pages = [out / "index.html"] + [out / f"county-{c}.html" for c in counties]
    assert sorted(p.name for p in out.glob("*.html")) == sorted(p.name for p in pages)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        cells = figure_cells(text)
        assert cells, page
        suppressing = "Small-cell suppression is OFF" not in text
        for cell in cells:
            figure = tuple(cell[a] for a in FIGURE_ATTRS)
            if "data-suppressed" in cell:
                assert suppressing and "data-value" not in cell, (page.name, figure)
                assert cell["_text"] == "<11" and expected(rows, figure) > 0, (page.name, figure)
            elif "data-value" in cell:
                want = expected(rows, figure)
                assert int(cell["data-value"]) == want, (page.name, figure)
                assert cell["_text"] == f"{want:,}", (page.name, figure)
                assert not suppressing or not 0 < want < 11, (page.name, figure)
            else:
                want_text = expected_text(rows, figure)
                assert cell["data-text"] == want_text, (page.name, figure)
                assert cell["_text"] == (want_text or "none")
        listed = figures_on_page(text)
        shown = {tuple(cell[a] for a in FIGURE_ATTRS) for cell in cells}
        for entry in listed:
            figure = (entry["county"], entry["flow"], entry["metric"], entry["key"], entry["key2"])
            if "value" in entry:
                assert entry["value"] == expected(rows, figure), (page.name, figure)
            elif entry.get("suppressed"):
                assert suppressing and expected(rows, figure) > 0, (page.name, figure)
            else:
                assert entry["text"] == expected_text(rows, figure), (page.name, figure)
        assert shown <= {(e["county"], e["flow"], e["metric"], e["key"], e["key2"]) for e in listed}
        if page.name.startswith("county-"):
            county = page.name.removeprefix("county-").removesuffix(".html")
            promised = {
                (r["county"], r["flow"], r["metric"], r["key"], r["key2"])
                for r in rows
                if r["county"] == county and (r["flow"], r["metric"]) in SHOWN_ON_COUNTY_PAGE
            }
            assert promised <= shown, (page.name, sorted(promised - shown))
