"""`relief report`: a self-contained static HTML report of one run's figures (no Spark).

    relief report --warehouse DIR --out DIR [--run RUN_ID]

Reads the run's rows of ``<warehouse>/summary`` (transforms/summary.py: long format, a count of
zero has no row) and its ledger row, and writes ``<out>/index.html`` (every county ranked, with
statewide sums) and ``<out>/county-<slug>.html`` per county: convictions by determination, by
code section and by reason; people who would no longer have a felony, any conviction, or a
conviction in the last 7 years under the county's policy and under "dismiss all Prop 64";
relief by race; Prop 64 convictions by year of conviction. Default run: the latest succeeded one.

Charts are drawn here with matplotlib (Agg, text kept as SVG text) and put inline in the page,
so the report opens offline, prints, and can be mailed as a folder. Every chart has a title, a
text description for screen readers, and a table of its numbers below it. This module works
out what a page shows (cells, rows, tables, chart blocks); templates/report.html and
report_macros.html lay it out as HTML, with report.css inline (Jinja2, autoescaped:
jobs/audit/pages.py).

Every number on a page comes from the summary table: each cell carries ``data-county``,
``data-flow``, ``data-metric``, ``data-key``, ``data-key2`` and ``data-value`` (``*`` in a key
means the sum over every value of that key, ``*`` as county the sum over counties), and the page
ends with a JSON block (``<script type="application/json" id="relief-figures">``) listing every
figure it shows, so a test or an auditor can check them against the table. Percentages are
marked ``derived`` and carry no such attributes.

Small cells are suppressed (:func:`suppressed_cells`): a count from 1 to 10 is shown as
``<11`` (California DOJ's practice for published criminal-justice figures), and where a
total and the other cells of its table would give a hidden count away (exactly one hidden
cell in a row, column or total), the next smallest cell is hidden too, across every page. A
hidden cell carries ``data-suppressed`` and no ``data-value``, its entry in the JSON block
says ``"suppressed": true`` and no value, and its bar is not drawn (its label reads
``<11``). ``relief report --no-suppression`` shows every count, for internal use; the pages
then say so.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from relief.jobs.audit.common import (
    STATUS_SUCCEEDED,
    AuditError,
    short_hash,
    validation_summary,
)
from relief.jobs.audit.pages import render as render_page
from relief.jobs.config import ConfigError, load_counties
from relief.jobs.warehouse.access import private_dir, private_file, refuse_inside_warehouse
from relief.jobs.warehouse.publication import publication_of
from relief.jobs.warehouse.snapshots import PullError, Readable, ReaderContext, open_reader
from relief.jobs.warehouse.storage import Warehouse, open_table, read_arrow
from relief.jobs.warehouse.validation import INDEX_FILE as VALIDATION_PAGE
from relief.transforms.columns import COMPUTE_AT, RUN_ID
from relief.transforms.policy import Determination
from relief.transforms.summary_names import (
    BY_DETERMINATION,
    BY_FELONY,
    BY_RACE,
    BY_RACE_SUFFIX,
    BY_REASON,
    BY_SECTION,
    BY_YEAR,
    DISMISS_ALL,
    EARLIEST,
    NO_CONVICTION,
    NO_FELONY,
    NO_RECENT,
    POLICY,
    ROWS,
    SOME_RELIEF,
    SUBJECTS,
    SUBJECTS_BY_RACE,
)
from relief.transforms.summary_names import (
    DISMISS_ALL_RELATED as DISMISS_ALL_RELATED,  # re-exported: the report names every flow
)

# Charts are drawn off screen (Figure objects, never pyplot windows): no display needed.
matplotlib.use("Agg")

ALL = "*"
INDEX = "index.html"

FELONY, NON_FELONY = "felony", "non-felony"

FLOW_LABELS = {POLICY: "County's policy", DISMISS_ALL: "Dismiss all Prop 64"}
SUBJECT_LABELS = {
    SOME_RELIEF: "some relief (a conviction dismissed or reduced)",
    NO_FELONY: "no longer have a felony",
    NO_CONVICTION: "no longer have any conviction",
    NO_RECENT: "no longer have a conviction in the last 7 years",
}

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
DETERMINATION_COLORS = {
    Determination.DISMISSAL.value: "#009E73",
    Determination.REDUCTION.value: "#56B4E9",
    Determination.NOT_ELIGIBLE.value: "#D55E00",
    Determination.HAND_REVIEW.value: "#E69F00",
    Determination.CITY_ATTORNEY_REVIEW.value: "#CC79A7",
}
OTHER_COLOR = "#999999"
FLOW_COLORS = {POLICY: "#0072B2", DISMISS_ALL: "#E69F00"}
PEOPLE_COLOR = "#BBBBBB"


# Small-cell suppression (California DOJ's publication practice): counts 1-10 are hidden.
SMALLEST_SHOWN = 11
SUPPRESSED = f"<{SMALLEST_SHOWN}"
SUPPRESSION_NOTE = (
    f"Counts from 1 to {SMALLEST_SHOWN - 1} are shown as “{SUPPRESSED}” (California DOJ's "
    "practice for published figures), and where a total and the other cells of a table would "
    "give a hidden count away, the next smallest cell is hidden too. Bars of hidden counts are "
    "not drawn."
)
NO_SUPPRESSION_NOTE = (
    "Small-cell suppression is OFF (relief report --no-suppression): counts from 1 to "
    f"{SMALLEST_SHOWN - 1} are shown and can identify people. For internal use only: do not "
    "publish these pages or send them outside the office."
)


class ReportError(AuditError):
    """The report cannot be built; exit_code 1 (nothing to report) or 2 (bad usage)."""


FigureKey = tuple[str, str, str, str, str]  # county, flow, metric, key, key2


def _matches(pattern: str, value: str) -> bool:
    return pattern in (ALL, value)


@dataclass(frozen=True)
class SummaryFigures:
    """One run's rows of the summary table; a missing row is 0 (transforms/summary.py)."""

    run_id: str
    values: dict[FigureKey, int]
    texts: dict[FigureKey, str]

    def value(self, county: str, flow: str, metric: str, key: str = "", key2: str = "") -> int:
        wanted = (county, flow, metric, key, key2)
        if ALL not in wanted:
            return self.values.get(wanted, 0)
        return sum(
            v
            for k, v in self.values.items()
            if all(_matches(p, x) for p, x in zip(wanted, k, strict=True))
        )

    def text(self, county: str, flow: str, metric: str, key: str = "", key2: str = "") -> str:
        return self.texts.get((county, flow, metric, key, key2), "")

    def keys(self, county: str, flow: str, metric: str) -> list[str]:
        return sorted(
            {k[3] for k in self.values if _matches(county, k[0]) and k[1:3] == (flow, metric)}
        )

    def pairs(self, county: str, flow: str, metric: str) -> list[tuple[str, str]]:
        return sorted(
            {
                (k[3], k[4])
                for k in self.values
                if _matches(county, k[0]) and k[1:3] == (flow, metric)
            }
        )

    def counties(self) -> list[str]:
        return sorted({k[0] for k in (*self.values, *self.texts)})


def read_summary(
    warehouse: Readable,
    run_id: str,
    version: int | None = None,
    written_by: Mapping[str, str] | None = None,
) -> SummaryFigures:
    """The run's figures, read at ``version`` of the summary table (the one the run's ledger
    row names; default: the newest). With ``written_by`` ({county slug: the run that wrote
    its published version}), each county's figures are those of the run that wrote the
    version ``run_id`` publishes: a --counties run publishes the other counties' tables as
    earlier runs left them, and their figures are those runs'."""
    path = report_context(warehouse).warehouse.summary
    table = open_table(path)
    if table is None:
        raise ReportError(f"{path}: no summary table; has a run succeeded?")
    if version is not None and version != table.version():
        table = open_table(path, version)
        assert table is not None
    writers = sorted({run_id, *(written_by or {}).values()})
    rows = read_arrow(path, table, filters=[(RUN_ID, "in", writers)])
    values: dict[FigureKey, int] = {}
    texts: dict[FigureKey, str] = {}
    for row in rows.to_pylist():
        # A county the publication names: the run that wrote its version; else this run.
        wanted = run_id if written_by is None else written_by.get(row["county"], run_id)
        if row[RUN_ID] != wanted:
            continue
        key: FigureKey = (
            row["county"],
            row["flow"],
            row["metric"],
            row["key"] or "",
            row["key2"] or "",
        )
        if row["value"] is not None:
            values[key] = values.get(key, 0) + int(row["value"])
        if row["text"] is not None:
            texts[key] = str(row["text"])
    return SummaryFigures(run_id, values, texts)


# --- small-cell suppression -----------------------------------------------------------------


def _small(value: int) -> bool:
    return 0 < value < SMALLEST_SHOWN


@dataclass(frozen=True)
class SumGroup:
    """Cells a reader can add up: ``total`` = the sum of ``parts`` (one part: the same
    figure shown under two names)."""

    total: FigureKey
    parts: tuple[FigureKey, ...]


def published_sums(figures: SummaryFigures) -> list[SumGroup]:
    """Every sum relation between the figures the report shows, on any of its pages."""
    groups: list[SumGroup] = []

    def add(total: FigureKey, parts: Iterable[FigureKey]) -> None:
        groups.append(SumGroup(total, tuple(parts)))

    counties = figures.counties()
    flows = (POLICY, DISMISS_ALL)
    for c in counties:
        total: FigureKey = (c, POLICY, BY_SECTION, ALL, "")
        add(total, ((c, POLICY, BY_SECTION, s, "") for s in figures.keys(c, POLICY, BY_SECTION)))
        add(total, ((c, POLICY, BY_FELONY, k, "") for k in (FELONY, NON_FELONY)))
        add(total, ((c, POLICY, BY_YEAR, y, "") for y in figures.keys(c, POLICY, BY_YEAR)))
        for flow in flows:
            by_flow: FigureKey = (c, flow, BY_DETERMINATION, ALL, "")
            add(by_flow, [total])
            determinations = figures.keys(c, flow, BY_DETERMINATION)
            add(by_flow, ((c, flow, BY_DETERMINATION, d, "") for d in determinations))
        pairs = figures.pairs(c, POLICY, BY_REASON)
        for d in figures.keys(c, POLICY, BY_DETERMINATION):
            det: FigureKey = (c, POLICY, BY_DETERMINATION, d, "")
            add(det, ((c, POLICY, BY_REASON, k, r) for k, r in pairs if k == d))
            races = [r for r, k in figures.pairs(c, POLICY, BY_RACE) if k == d]
            add(det, ((c, POLICY, BY_RACE, r, d) for r in races))
        people = (c, POLICY, SUBJECTS, "", "")
        races = figures.keys(c, POLICY, SUBJECTS_BY_RACE)
        add(people, ((c, POLICY, SUBJECTS_BY_RACE, r, "") for r in races))
        for flow in flows:
            by_race = SOME_RELIEF + BY_RACE_SUFFIX
            add((c, flow, SOME_RELIEF, "", ""), ((c, flow, by_race, r, "") for r in races))
    # The index's "All counties" row and the statewide people: sums over the counties.
    across: list[tuple[str, str, str]] = [(POLICY, BY_SECTION, ALL), (POLICY, SUBJECTS, "")]
    across += [(POLICY, BY_DETERMINATION, d) for d in figures.keys(ALL, POLICY, BY_DETERMINATION)]
    across += [(f, m, "") for f in flows for m in SUBJECT_LABELS]
    for flow, metric, key in across:
        add((ALL, flow, metric, key, ""), ((c, flow, metric, key, "") for c in counties))
    statewide = figures.keys(ALL, POLICY, BY_DETERMINATION)
    add(
        (ALL, POLICY, BY_SECTION, ALL, ""),
        ((ALL, POLICY, BY_DETERMINATION, d, "") for d in statewide),
    )
    return groups


def suppressed_cells(
    figures: SummaryFigures, groups: list[SumGroup] | None = None
) -> frozenset[FigureKey]:
    """The figures the report hides: every count from 1 to 10 (primary), then, until nothing
    changes, in every sum with exactly one hidden cell the smallest other non-zero cell
    (a part, else the total), so no hidden count is a total minus shown cells. ``groups``:
    the sums a page shows (default: the Prop 64 pages', :func:`published_sums`)."""
    if groups is None:
        groups = published_sums(figures)
    cache: dict[FigureKey, int] = {}

    def value(key: FigureKey) -> int:
        if key not in cache:
            cache[key] = figures.value(*key)
        return cache[key]

    hidden = {k for g in groups for k in (g.total, *g.parts) if _small(value(k))}
    changed = True
    while changed:
        changed = False
        for group in groups:
            members = (*group.parts, group.total)
            if sum(1 for k in members if k in hidden) != 1:
                continue
            others = [k for k in members if k not in hidden and value(k) > 0]
            if not others:
                continue
            # The smallest part first (ties: the first listed); the total when no part is left.
            pick = min(others, key=lambda k: (k == group.total, value(k)))
            hidden.add(pick)
            changed = True
    return frozenset(hidden)


@dataclass(frozen=True)
class Suppression:
    """Which figures a report hides (every page of one report uses the same)."""

    enabled: bool
    hidden: frozenset[FigureKey] = frozenset()

    def hides(self, key: FigureKey, value: int) -> bool:
        return self.enabled and (key in self.hidden or _small(value))


NO_SUPPRESSION = Suppression(enabled=False)


def suppression_for(figures: SummaryFigures, enabled: bool = True) -> Suppression:
    return Suppression(True, suppressed_cells(figures)) if enabled else NO_SUPPRESSION


# --- charts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One series of a chart; a None value is a suppressed count (no bar, labelled <11)."""

    name: str
    values: list[int | None]
    color: str

    @property
    def lengths(self) -> list[int]:
        return [v or 0 for v in self.values]

    @property
    def labels(self) -> list[str]:
        return [_shown(v) for v in self.values]


def _shown(value: int | None) -> str:
    return SUPPRESSED if value is None else f"{value:,}"


def _svg(figure: Figure, chart_id: str) -> tuple[str, str]:
    """The chart as SVG, text kept as text: the attributes of its ``<svg>`` element and what
    follows the opening tag (the template adds the role, title and description)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": chart_id}):
        figure.savefig(
            buffer,
            format="svg",
            bbox_inches="tight",
            metadata={"Date": None, "Creator": None},
        )
    text = buffer.getvalue()
    svg = text[text.index("<svg ") :]
    end = svg.index(">")
    return svg[len("<svg ") : end], svg[end + 1 :]


def _describe(labels: Sequence[str], series: Sequence[Series], limit: int = 15) -> str:
    parts = []
    for position, label in enumerate(labels[:limit]):
        values = ", ".join(f"{s.name} {_shown(s.values[position])}" for s in series)
        parts.append(f"{label}: {values}")
    more = len(labels) - limit
    tail = f"; and {more} more, listed in the table below" if more > 0 else ""
    return "; ".join(parts) + tail + "."


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=96)
    figure.patch.set_facecolor("white")
    return figure


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=10)


def hbar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    axis_label: str,
    stacked: bool = False,
    totals: Sequence[str] | None = None,
) -> Figure:
    """Horizontal bars, first label at the top; grouped or stacked series (``totals``: the
    label at the end of each stacked bar)."""
    count = max(len(labels), 1)
    per_bar = 0.22 if stacked or len(series) == 1 else 0.16 * len(series) + 0.08
    figure = _new_figure(7.5, 0.9 + per_bar * count + (0.3 if len(series) > 1 else 0))
    ax = figure.add_subplot()
    _style(ax)
    positions = list(range(count))
    height = 0.75 if stacked or len(series) == 1 else 0.8 / len(series)
    left: list[float] = [0.0] * len(labels)
    for index, s in enumerate(series):
        if stacked:
            ax.barh(positions, s.lengths, height, left=left, color=s.color, label=s.name)
            left = [a + b for a, b in zip(left, s.lengths, strict=True)]
        else:
            offset = (index - (len(series) - 1) / 2) * height
            ys = [p + offset for p in positions]
            bars = ax.barh(ys, s.lengths, height, color=s.color, label=s.name)
            ax.bar_label(bars, labels=s.labels, padding=3, fontsize=9)
    if stacked:
        ends = totals if totals is not None else [f"{int(t):,}" for t in left]
        for y, end, text in zip(positions, left, ends, strict=True):
            ax.text(end, y, f" {text}", va="center", fontsize=9)
    ax.set_yticks(positions, labels=list(labels))
    ax.invert_yaxis()
    ax.set_xlabel(axis_label, fontsize=10)
    ax.margins(x=0.12)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(series) > 1:
        ax.legend(
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=min(len(series), 3),
            fontsize=9,
            frameon=False,
        )
    return figure


def vbar_chart(labels: Sequence[str], series: Series, axis_label: str) -> Figure:
    figure = _new_figure(max(4.5, min(9.0, 0.32 * len(labels) + 1.5)), 3.2)
    ax = figure.add_subplot()
    _style(ax)
    positions = list(range(len(labels)))
    bars = ax.bar(positions, series.lengths, 0.7, color=series.color)
    if len(labels) <= 30:
        ax.bar_label(bars, labels=series.labels, padding=2, fontsize=8)
    rotate = len(labels) > 8
    ax.set_xticks(
        positions,
        labels=list(labels),
        rotation=90 if rotate else 0,
        fontsize=8 if rotate else 9,
    )
    ax.set_ylabel(axis_label, fontsize=10)
    ax.margins(y=0.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return figure


# --- pages ----------------------------------------------------------------------------------
# What a page shows is built here as plain values (cells, rows, tables, chart blocks); the
# HTML comes from templates/report.html (jobs/audit/pages.py: Jinja2, autoescaped).

TEMPLATE = "report.html"


def _fmt(value: int) -> str:
    return f"{value:,}"


def _percent(part: int | None, whole: int | None) -> str:
    if whole == 0:
        return "-"
    if part is None or whole is None:
        return "hidden"  # a share of a suppressed count would give it away
    return "-" if whole == 0 else f"{100 * part / whole:.0f}%"


NUMBER, SUPPRESSED_NUMBER, TEXT, DERIVED = "number", "suppressed", "text", "derived"


@dataclass(frozen=True)
class Cell:
    """A table cell: a count of the summary table (``number``, or ``suppressed`` with no
    value), a text figure (``text``), or a share worked out from shown counts (``derived``,
    which names no figure)."""

    kind: str
    shown: str
    figure: FigureKey | None = None
    value: int | None = None
    text: str = ""


def _derived(shown: str) -> Cell:
    return Cell(DERIVED, shown)


@dataclass(frozen=True)
class Row:
    """A table row: its label (a link with ``href``), plain cells before it, then figures."""

    label: str
    cells: Sequence[Cell]
    href: str | None = None
    lead: Sequence[str] = ()


@dataclass(frozen=True)
class Table:
    caption: str
    header: Sequence[str]
    rows: Sequence[Row]


@dataclass(frozen=True)
class Chart:
    """A chart as matplotlib wrote it (SVG), and its text for screen readers."""

    attributes: str  # of matplotlib's <svg> element
    body: str  # what follows its opening tag, through </svg>
    description: str


@dataclass(frozen=True)
class ChartBlock:
    """A section: heading, introduction, chart (None: nothing to chart), tables."""

    id: str
    title: str
    intro: str
    chart: Chart | None
    tables: Sequence[Table]


@dataclass
class Page:
    """One HTML page: records every summary figure it shows (for the JSON block)."""

    figures: SummaryFigures
    title: str
    suppression: Suppression = NO_SUPPRESSION
    used: dict[FigureKey, int | str | None] = field(default_factory=dict)
    charts: int = 0

    def value(
        self, county: str, flow: str, metric: str, key: str = "", key2: str = ""
    ) -> int | None:
        """The figure as the page may show it: None when it is suppressed."""
        figure: FigureKey = (county, flow, metric, key, key2)
        number = self.figures.value(*figure)
        shown = None if self.suppression.hides(figure, number) else number
        self.used[figure] = shown
        return shown

    def cell(self, county: str, flow: str, metric: str, key: str = "", key2: str = "") -> Cell:
        figure: FigureKey = (county, flow, metric, key, key2)
        number = self.value(*figure)
        if number is None:
            return Cell(SUPPRESSED_NUMBER, SUPPRESSED, figure)
        return Cell(NUMBER, _fmt(number), figure, number)

    def text_cell(self, county: str, flow: str, metric: str) -> Cell:
        figure: FigureKey = (county, flow, metric, "", "")
        text = self.figures.text(county, flow, metric)
        self.used[figure] = text
        return Cell(TEXT, text or "none", figure, text=text)

    def chart_id(self) -> str:
        self.charts += 1
        return f"chart-{self.charts}"

    def figures_listed(self) -> list[dict[str, Any]]:
        """Every figure the page shows, for its JSON block (see figures_on_page)."""
        return [
            {
                "county": k[0],
                "flow": k[1],
                "metric": k[2],
                "key": k[3],
                "key2": k[4],
                **(
                    {"text": v}
                    if isinstance(v, str)
                    else {"suppressed": True}
                    if v is None
                    else {"value": v}
                ),
            }
            for k, v in sorted(self.used.items())
        ]


def _chart_block(
    page: Page,
    title: str,
    intro: str,
    figure: Figure | None,
    description: str,
    *tables: Table,
) -> ChartBlock:
    chart_id = page.chart_id()
    chart = None
    if figure is not None:
        attributes, body = _svg(figure, chart_id)
        chart = Chart(attributes, body, description)
    return ChartBlock(chart_id, title, intro, chart, tables)


def _determinations(keys: Iterable[str]) -> list[str]:
    known = [d.value for d in Determination]
    present = set(keys)
    return [d for d in known if d in present] + sorted(present - set(known))


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run: dict[str, Any] | None
    validation_page: str | None  # file:// URI of the run's validation page, when it exists
    county_names: dict[str, str]
    suppression: Suppression = NO_SUPPRESSION

    def name(self, slug: str) -> str:
        return self.county_names.get(slug, slug)

    @property
    def compute_at(self) -> str:
        value = (self.run or {}).get(COMPUTE_AT)
        return value.isoformat() if isinstance(value, dt.date) else "unknown"

    def county_version(self, slug: str) -> dict[str, Any] | None:
        for entry in (self.run or {}).get("county_versions") or []:
            if entry.get("county") == slug:
                return dict(entry)
        return None


def _time(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "-"


@dataclass(frozen=True)
class Header:
    """A page's title and the run it reports on."""

    title: str
    back: bool  # a link back to the index
    items: list[tuple[str, str]]  # (term, value) of the run
    validation_page: str | None  # file:// URI of the run's validation page
    suppressing: bool
    suppression_note: str
    index: str = "index.html"


def _run_items(info: RunInfo, county: str | None = None) -> list[tuple[str, str]]:
    run = info.run or {}
    items = [("Run", info.run_id)]
    if not info.run:
        items.append(("Status", "not in the runs ledger"))
    else:
        items.append(("Status", str(run.get("status"))))
    items += [
        ("Compute-at", info.compute_at + " (ages and “years since” are measured at this date)"),
        ("Finished", _time(run.get("finished_at"))),
    ]
    inputs = run.get("inputs") or []
    if inputs:
        items.append(
            (
                "Input",
                "; ".join(
                    f"{Path(i['path']).name} (fingerprint blake2b "
                    f"{short_hash(i['fingerprint'], 16)}…)"
                    for i in inputs
                ),
            )
        )
    if county is not None:
        entry = info.county_version(county)
        if entry is not None:
            items.append(
                (
                    "County table",
                    f"version {entry['version']}, policy sha256 "
                    f"{short_hash(entry.get('policy_hash'), 16)}…",
                )
            )
    items.append(("Validation", validation_summary(info.run, {}) or "-"))
    return items


def _header(info: RunInfo, title: str, county: str | None, back: bool) -> Header:
    enabled = info.suppression.enabled
    return Header(
        title=title,
        back=back,
        items=_run_items(info, county),
        validation_page=info.validation_page,
        suppressing=enabled,
        suppression_note=SUPPRESSION_NOTE if enabled else NO_SUPPRESSION_NOTE,
        index=INDEX,
    )


def _render(page: Page, header: Header, blocks: Sequence[ChartBlock], **parts: Any) -> str:
    """The page's HTML; ``parts``: ``key_figures`` (a county's) or ``counties`` (the index's
    links to the county pages)."""
    return render_page(
        TEMPLATE,
        title=page.title,
        header=header,
        blocks=blocks,
        key_figures=parts.get("key_figures"),
        counties=parts.get("counties"),
        figures=page.figures_listed(),  # after the blocks: every figure they show
    )


# --- the county page ------------------------------------------------------------------------


def _key_figures(page: Page, county: str) -> Table:
    rows = [
        Row("Prop 64 convictions in the county", [page.cell(county, POLICY, BY_SECTION, ALL)]),
        Row("… of them felonies", [page.cell(county, POLICY, BY_FELONY, FELONY)]),
        Row("… of them misdemeanors or infractions",
            [page.cell(county, POLICY, BY_FELONY, NON_FELONY)]),
        Row("People with a Prop 64 conviction in the county",
            [page.cell(county, POLICY, SUBJECTS)]),
        Row("People with some relief under the county's policy",
            [page.cell(county, POLICY, SOME_RELIEF)]),
        Row("Earliest Prop 64 conviction", [page.text_cell(county, POLICY, EARLIEST)]),
        Row("Rows in the county table (whole histories)", [page.cell(county, POLICY, ROWS)]),
    ]  # fmt: skip
    return Table("Key figures", ["Figure", "Value"], rows)


def _by_determination(page: Page, county: str) -> ChartBlock:
    flows = [POLICY, DISMISS_ALL]
    labels = _determinations(
        k for flow in flows for k in page.figures.keys(county, flow, BY_DETERMINATION)
    )
    series = [
        Series(FLOW_LABELS[flow], [page.value(county, flow, BY_DETERMINATION, d) for d in labels],
               FLOW_COLORS[flow])
        for flow in flows
    ]  # fmt: skip
    rows = [
        Row(d, [page.cell(county, flow, BY_DETERMINATION, d) for flow in flows]) for d in labels
    ]
    rows.append(Row("Total", [page.cell(county, f, BY_DETERMINATION, ALL) for f in flows]))
    figure = hbar_chart(labels, series, "Prop 64 convictions") if labels else None
    return _chart_block(
        page,
        "Prop 64 convictions by determination",
        "Each Prop 64 conviction in the county gets one determination. The county's policy is "
        "compared with dismissing every Prop 64 conviction.",
        figure,
        _describe(labels, series),
        Table("Convictions by determination", ["Determination", *FLOW_LABELS.values()], rows),
    )


def _by_section(page: Page, county: str) -> ChartBlock:
    labels = page.figures.keys(county, POLICY, BY_SECTION)
    values = [page.value(county, POLICY, BY_SECTION, s) for s in labels]
    series = Series("Convictions", values, FLOW_COLORS[POLICY])
    shown = [f"HS {s}" for s in labels]
    rows = [Row(f"HS {s}", [page.cell(county, POLICY, BY_SECTION, s)]) for s in labels]
    figure = vbar_chart(shown, series, "Prop 64 convictions") if labels else None
    return _chart_block(
        page,
        "Prop 64 convictions by code section",
        "Health and Safety Code 11357 (possession), 11358 (cultivation), 11359 (possession for "
        "sale) and 11360 (transport or sale); only sections that occur are shown.",
        figure,
        _describe(shown, [series]),
        Table("Convictions by code section", ["Code section", "Convictions"], rows),
    )


def _by_reason(page: Page, county: str) -> ChartBlock:
    pairs = page.figures.pairs(county, POLICY, BY_REASON)
    order = {d: i for i, d in enumerate(_determinations(d for d, _ in pairs))}
    # Largest first; hidden counts last in the order of their reasons (no ranking among them).
    pairs.sort(key=lambda p: (order[p[0]], -(page.value(county, POLICY, BY_REASON, *p) or -1)))
    labels = [reason or "(no reason)" for _, reason in pairs]
    values = [page.value(county, POLICY, BY_REASON, d, r) for d, r in pairs]
    figure = None
    if pairs:
        figure = hbar_chart(labels, [Series("Convictions", values, OTHER_COLOR)], "Convictions")
        ax = figure.axes[0]
        for bar, (determination, _) in zip(ax.patches, pairs, strict=True):
            bar.set_facecolor(DETERMINATION_COLORS.get(determination, OTHER_COLOR))
        handles = [Patch(color=DETERMINATION_COLORS.get(d, OTHER_COLOR), label=d) for d in order]
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  ncol=min(len(handles), 3), fontsize=9, frameon=False)  # fmt: skip
    rows = [
        Row(r or "(no reason)", [page.cell(county, POLICY, BY_REASON, d, r)], lead=[d])
        for d, r in pairs
    ]
    description = "; ".join(
        f"{d}, {r or 'no reason'}: {_shown(v)}" for (d, r), v in zip(pairs, values, strict=True)
    )
    return _chart_block(
        page,
        "Prop 64 convictions by reason",
        "The reason recorded with each determination: the policy rule that fired. Bars are "
        "coloured by determination.",
        figure,
        description + ".",
        Table("Convictions by reason", ["Determination", "Reason", "Convictions"], rows),
    )


def _people(page: Page, county: str) -> ChartBlock:
    return _people_block(
        page,
        county,
        "People whose records change",
        "People with a Prop 64 conviction in the county; each person's convictions in every "
        "county are looked at. “In the last 7 years” is measured back from compute-at.",
    )


def _people_block(page: Page, county: str, title: str, description: str) -> ChartBlock:
    """People with some relief, and who no longer have a felony / conviction, per flow."""
    flows = [POLICY, DISMISS_ALL]
    metrics = [SOME_RELIEF, NO_FELONY, NO_CONVICTION, NO_RECENT]
    labels = [f"People with {SUBJECT_LABELS[m]}" if m == SOME_RELIEF else
              f"People who {SUBJECT_LABELS[m]}" for m in metrics]  # fmt: skip
    series = [
        Series(FLOW_LABELS[f], [page.value(county, f, m) for m in metrics], FLOW_COLORS[f])
        for f in flows
    ]
    rows = [
        Row(label, [page.cell(county, f, m) for f in flows])
        for label, m in zip(labels, metrics, strict=True)
    ]
    return _chart_block(
        page,
        title,
        description,
        hbar_chart(labels, series, "People"),
        _describe(labels, series),
        Table(title, ["", *FLOW_LABELS.values()], rows),
    )


def _by_race(page: Page, county: str) -> ChartBlock:
    races = page.figures.keys(county, POLICY, SUBJECTS_BY_RACE)
    people = [page.value(county, POLICY, SUBJECTS_BY_RACE, r) for r in races]
    relieved = {
        f: [page.value(county, f, SOME_RELIEF + BY_RACE_SUFFIX, r) for r in races]
        for f in (POLICY, DISMISS_ALL)
    }
    series = [
        Series("People with a Prop 64 conviction", people, PEOPLE_COLOR),
        Series("Some relief: county's policy", relieved[POLICY], FLOW_COLORS[POLICY]),
        Series("Some relief: dismiss all Prop 64", relieved[DISMISS_ALL], FLOW_COLORS[DISMISS_ALL]),
    ]
    rows = [
        Row(
            race,
            [
                page.cell(county, POLICY, SUBJECTS_BY_RACE, race),
                page.cell(county, POLICY, SOME_RELIEF + BY_RACE_SUFFIX, race),
                _derived(_percent(relieved[POLICY][i], people[i])),
                page.cell(county, DISMISS_ALL, SOME_RELIEF + BY_RACE_SUFFIX, race),
            ],
        )
        for i, race in enumerate(races)
    ]
    tables = [
        Table(
            "People by race",
            ["Race", "People with a Prop 64 conviction", "Some relief: county's policy",
             "% of people (derived)", "Some relief: dismiss all Prop 64"],
            rows,
        )
    ]  # fmt: skip
    pairs = page.figures.pairs(county, POLICY, BY_RACE)
    determinations = _determinations(d for _, d in pairs)
    conviction_rows = [
        Row(race, [page.cell(county, POLICY, BY_RACE, race, d) for d in determinations])
        for race in sorted({r for r, _ in pairs})
    ]
    if conviction_rows:
        tables.append(
            Table(
                "Prop 64 convictions by race and determination (county's policy)",
                ["Race", *determinations],
                conviction_rows,
            )
        )
    return _chart_block(
        page,
        "Relief by race",
        "Race as the DOJ extract records it (RACE_DESCR). Some relief: at least one Prop 64 "
        "conviction in the county dismissed or reduced.",
        hbar_chart(races, series, "People") if races else None,
        _describe(races, series),
        *tables,
    )


def _by_year(page: Page, county: str) -> ChartBlock:
    keys = page.figures.keys(county, POLICY, BY_YEAR)
    years = sorted(k for k in keys if k.isdigit())
    unknown = [k for k in keys if not k.isdigit()]
    # The chart's axis runs through every year, so a year without convictions shows as 0 (a
    # count of zero has no summary row); the table lists the years with convictions.
    axis = [str(y) for y in range(int(years[0]), int(years[-1]) + 1)] if years else []
    axis += unknown
    labels = [y or "date unknown" for y in axis]
    series = Series("Convictions", [page.value(county, POLICY, BY_YEAR, y) for y in axis],
                    FLOW_COLORS[POLICY])  # fmt: skip
    rows = [
        Row(y or "date unknown", [page.cell(county, POLICY, BY_YEAR, y)]) for y in years + unknown
    ]
    return _chart_block(
        page,
        "Prop 64 convictions by year of conviction",
        "A partial date counts in the year it names; a blank date is “date unknown”.",
        vbar_chart(labels, series, "Prop 64 convictions") if axis else None,
        _describe(
            [label for label, v in zip(labels, series.values, strict=True) if v != 0],
            [Series(series.name, [v for v in series.values if v != 0], series.color)],
        ),
        Table("Convictions by year of conviction", ["Year", "Convictions"], rows),
    )


def county_page(figures: SummaryFigures, info: RunInfo, county: str) -> str:
    name = info.name(county)
    page = Page(figures, f"{name} County — Prop 64 relief, run {info.run_id}", info.suppression)
    key_figures = _key_figures(page, county)
    blocks = [
        _by_determination(page, county),
        _by_section(page, county),
        _by_reason(page, county),
        _people(page, county),
        _by_race(page, county),
        _by_year(page, county),
    ]
    header = _header(info, f"{name} County: Prop 64 relief", county, back=True)
    return _render(page, header, blocks, key_figures=key_figures)


# --- the index page -------------------------------------------------------------------------


def county_file(slug: str) -> str:
    return f"county-{slug}.html"


@dataclass(frozen=True)
class Link:
    href: str
    label: str


def index_page(figures: SummaryFigures, info: RunInfo) -> str:
    page = Page(figures, f"Prop 64 relief — statewide report, run {info.run_id}", info.suppression)
    counties = figures.counties()
    # Most convictions first; counties whose count is hidden last, by name (no ranking among
    # them: an order would tell hidden counts apart).
    ranked = sorted(
        counties, key=lambda c: (-(page.value(c, POLICY, BY_SECTION, ALL) or -1), info.name(c))
    )
    determinations = _determinations(figures.keys(ALL, POLICY, BY_DETERMINATION))
    labels = [info.name(c) for c in ranked]
    series = [
        Series(d, [page.value(c, POLICY, BY_DETERMINATION, d) for c in ranked],
               DETERMINATION_COLORS.get(d, OTHER_COLOR))
        for d in determinations
    ]  # fmt: skip
    header = [
        "County",
        "Prop 64 convictions",
        *determinations,
        "People with a Prop 64 conviction",
        "People with some relief",
    ]

    def cells(county: str) -> list[Cell]:
        return [
            page.cell(county, POLICY, BY_SECTION, ALL),
            *(page.cell(county, POLICY, BY_DETERMINATION, d) for d in determinations),
            page.cell(county, POLICY, SUBJECTS),
            page.cell(county, POLICY, SOME_RELIEF),
        ]

    rows = [Row(info.name(c), cells(c), href=county_file(c)) for c in ranked]
    rows.append(Row("All counties (sum)", cells(ALL)))
    ranking = _chart_block(
        page,
        "Counties ranked by Prop 64 convictions",
        "Every county with a Prop 64 conviction in this run, most convictions first; bars are "
        "split by the determination under the county's policy. A person with convictions in "
        "several counties is counted in each.",
        hbar_chart(
            labels,
            series,
            "Prop 64 convictions",
            stacked=True,
            totals=[_shown(page.value(c, POLICY, BY_SECTION, ALL)) for c in ranked],
        )
        if ranked
        else None,
        _describe(labels, series, limit=10),
        Table("Counties", header, rows),
    )
    people = _statewide_people(page)
    return _render(
        page,
        _header(info, "Prop 64 relief: statewide report", None, back=False),
        [ranking, people],
        counties=[Link(county_file(c), info.name(c)) for c in ranked],
    )


def _statewide_people(page: Page) -> ChartBlock:
    return _people_block(
        page,
        ALL,
        "People whose records change, all counties",
        "Sum of the county figures, each county under its own policy, compared with dismissing "
        "every Prop 64 conviction.",
    )


# --- the command ----------------------------------------------------------------------------


def _county_names() -> dict[str, str]:
    try:
        return {c.slug: c.name.title() for c in load_counties().counties}
    except ConfigError:
        return {}


def _validation_page_link(warehouse: Warehouse, run_id: str) -> str | None:
    """An absolute file:// URI of the run's validation page. A report folder is mailed and
    opened elsewhere: a relative path into the warehouse would break, and the validation
    results (record ids) do not belong in a folder that leaves the office."""
    target = warehouse.validation(run_id) / VALIDATION_PAGE
    if not isinstance(target, Path) or not target.is_file():  # no local link into a store
        return None
    return target.resolve().as_uri()


def _write(path: Path, text: str) -> None:
    with private_file(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def build_report(
    warehouse: Readable, out: Path, run_id: str | None = None, suppress: bool = True
) -> tuple[Path, list[Path]]:
    """Write the report; returns index.html and every page written. ``suppress`` False
    shows counts under 11 (``--no-suppression``, internal use; the pages say so). Every
    page comes from one reader context: one read of the ledger, one publication."""
    context = report_context(warehouse)
    ledger_rows = list(context.runs)
    runs = {r[RUN_ID]: r for r in ledger_rows}
    if run_id is None:
        done = [r for r in ledger_rows if r["status"] == STATUS_SUCCEEDED]
        if not done:
            raise ReportError(
                f"{context.warehouse.root}: the runs ledger has no succeeded run to report on (run "
                "`relief run` first, or give --run)"
            )
        run_id = str(done[-1][RUN_ID])
    chosen = runs.get(run_id) or {}
    # Every county table the run publishes, with the figures of the run that wrote it.
    position = next((i for i, r in enumerate(ledger_rows) if r[RUN_ID] == run_id), None)
    published = (
        publication_of(ledger_rows[: position + 1])
        if position is not None and chosen.get("status") == STATUS_SUCCEEDED
        else None
    )
    written_by = (
        {slug: v.written_by for slug, v in published.counties.items()}
        if published is not None and published.run_id == run_id
        else None
    )
    summary_version = chosen.get("summary_version")
    if published is not None and published.summary is not None:
        summary_version = published.summary.version
    figures = read_summary(context, run_id, summary_version, written_by)
    if not figures.values and not figures.texts:
        known = ", ".join(r for r, row in runs.items() if row["status"] == "succeeded")
        raise ReportError(
            f"run {run_id!r} has no figures in the summary table. Succeeded runs: "
            f"{known or 'none'}",
            exit_code=2,
        )
    private_dir(out)
    info = RunInfo(
        run_id=run_id,
        run=runs.get(run_id),
        validation_page=_validation_page_link(context.warehouse, run_id),
        county_names=_county_names(),
        suppression=suppression_for(figures, suppress),
    )
    written = []
    for county in figures.counties():
        path = out / county_file(county)
        _write(path, county_page(figures, info, county))
        written.append(path)
    index = out / INDEX
    _write(index, index_page(figures, info))
    return index, [index, *written]


def report_context(warehouse: Readable) -> ReaderContext:
    """The report's one view of the warehouse (snapshots.ReaderContext); ReportError (exit 2)
    for a bad or missing warehouse."""
    try:
        return open_reader(warehouse)
    except PullError as exc:
        raise ReportError(str(exc), exc.exit_code) from None


def report_command(
    warehouse: Readable, out: Path, run_id: str | None, suppress: bool = True
) -> Path:
    """``relief report``: the report of ``run_id`` (default: latest succeeded run); returns
    ``<out>/index.html``. Raises :class:`ReportError` (``exit_code`` 1 or 2) for people."""
    context = report_context(warehouse)
    try:
        refuse_inside_warehouse(out, context.warehouse.root)
    except PullError as exc:
        raise ReportError(str(exc), exit_code=2) from None
    try:
        index, _ = build_report(context, out, run_id, suppress)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {out}: {exc}") from None
    return index


def figures_on_page(text: str) -> list[dict[str, Any]]:
    """The JSON block of a report page: every summary figure the page shows."""
    start_tag = '<script type="application/json" id="relief-figures">'
    start = text.index(start_tag) + len(start_tag)
    end = text.index("</script>", start)
    return list(json.loads(text[start:end]))


__all__ = [
    "ReportError",
    "SummaryFigures",
    "build_report",
    "figures_on_page",
    "read_summary",
    "report_command",
]
