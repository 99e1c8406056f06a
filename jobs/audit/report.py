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
text description for screen readers, and a table of its numbers below it.

Every number on a page comes from the summary table: each cell carries ``data-county``,
``data-flow``, ``data-metric``, ``data-key``, ``data-key2`` and ``data-value`` (``*`` in a key
means the sum over every value of that key, ``*`` as county the sum over counties), and the page
ends with a JSON block (``<script type="application/json" id="relief-figures">``) listing every
figure it shows, so a test or an auditor can check them against the table. Percentages are
marked ``derived`` and carry no such attributes.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import os
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from jobs.audit.common import (
    AuditError,
    latest_succeeded_run,
    read_ledger,
    short_hash,
    validation_summary,
)
from jobs.config import ConfigError, load_counties
from jobs.warehouse.storage import Warehouse, open_table, read_arrow
from transforms.policy import Determination
from transforms.summary_names import (
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
from transforms.summary_names import (
    DISMISS_ALL_RELATED as DISMISS_ALL_RELATED,  # re-exported: the report names every flow
)

# Charts are drawn off screen (Figure objects, never pyplot windows): no display needed.
matplotlib.use("Agg")

ALL = "*"
INDEX = "index.html"
DATA_DOCS = "index.html"  # <warehouse>/validation/<run_id>/index.html (warehouse/validation.py)

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


def read_summary(warehouse: Path, run_id: str, version: int | None = None) -> SummaryFigures:
    """The run's figures, read at ``version`` of the summary table (the one the run's ledger
    row names; default: the newest)."""
    path = Warehouse(warehouse).summary
    table = open_table(path)
    if table is None:
        raise ReportError(f"{path}: no summary table; has a run succeeded?")
    if version is not None and version != table.version():
        table = open_table(path, version)
        assert table is not None
    rows = read_arrow(path, table, filters=[("run_id", "=", run_id)])
    values: dict[FigureKey, int] = {}
    texts: dict[FigureKey, str] = {}
    for row in rows.to_pylist():
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


# --- charts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    name: str
    values: list[int]
    color: str


def _svg(figure: Figure, chart_id: str, title: str, description: str) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": chart_id}):
        figure.savefig(
            buffer,
            format="svg",
            bbox_inches="tight",
            metadata={"Date": None, "Creator": None},
        )
    text = buffer.getvalue()
    svg = text[text.index("<svg") :]
    end = svg.index(">")
    opening = svg[:end].replace(
        "<svg ",
        f'<svg role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        'preserveAspectRatio="xMinYMin meet" ',
        1,
    )
    labels = (
        f'<title id="{chart_id}-title">{html.escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{html.escape(description)}</desc>'
    )
    return opening + ">" + labels + svg[end + 1 :]


def _describe(labels: Sequence[str], series: Sequence[Series], limit: int = 15) -> str:
    parts = []
    for position, label in enumerate(labels[:limit]):
        values = ", ".join(f"{s.name} {s.values[position]:,}" for s in series)
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
) -> Figure:
    """Horizontal bars, first label at the top; grouped or stacked series."""
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
            ax.barh(positions, s.values, height, left=left, color=s.color, label=s.name)
            left = [a + b for a, b in zip(left, s.values, strict=True)]
        else:
            offset = (index - (len(series) - 1) / 2) * height
            ys = [p + offset for p in positions]
            bars = ax.barh(ys, s.values, height, color=s.color, label=s.name)
            ax.bar_label(bars, labels=[f"{v:,}" for v in s.values], padding=3, fontsize=9)
    if stacked:
        for y, total in zip(positions, left, strict=True):
            ax.text(total, y, f" {int(total):,}", va="center", fontsize=9)
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
    bars = ax.bar(positions, series.values, 0.7, color=series.color)
    if len(labels) <= 30:
        ax.bar_label(bars, labels=[f"{v:,}" for v in series.values], padding=2, fontsize=8)
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


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: int) -> str:
    return f"{value:,}"


def _percent(part: int, whole: int) -> str:
    return "-" if whole == 0 else f"{100 * part / whole:.0f}%"


@dataclass
class Page:
    """One HTML page: records every summary figure it shows (for the JSON block)."""

    figures: SummaryFigures
    title: str
    used: dict[FigureKey, int | str] = field(default_factory=dict)
    charts: int = 0

    def value(self, county: str, flow: str, metric: str, key: str = "", key2: str = "") -> int:
        number = self.figures.value(county, flow, metric, key, key2)
        self.used[(county, flow, metric, key, key2)] = number
        return number

    def cell(self, county: str, flow: str, metric: str, key: str = "", key2: str = "") -> str:
        number = self.value(county, flow, metric, key, key2)
        return (
            f'<td class="num" {_data_attrs((county, flow, metric, key, key2))} '
            f'data-value="{number}">{_fmt(number)}</td>'
        )

    def text_cell(self, county: str, flow: str, metric: str) -> str:
        text = self.figures.text(county, flow, metric)
        self.used[(county, flow, metric, "", "")] = text
        shown = text or "none"
        return (
            f'<td {_data_attrs((county, flow, metric, "", ""))} data-text="{_e(text)}">'
            f"{_e(shown)}</td>"
        )

    def chart_id(self) -> str:
        self.charts += 1
        return f"chart-{self.charts}"

    def figures_json(self) -> str:
        entries = [
            {
                "county": k[0],
                "flow": k[1],
                "metric": k[2],
                "key": k[3],
                "key2": k[4],
                **({"text": v} if isinstance(v, str) else {"value": v}),
            }
            for k, v in sorted(self.used.items())
        ]
        # "</" cannot end the script element early: JSON allows escaping "/".
        return json.dumps(entries, indent=1, sort_keys=True).replace("</", "<\\/")


def _data_attrs(key: FigureKey) -> str:
    names = ("county", "flow", "metric", "key", "key2")
    return " ".join(f'data-{n}="{_e(v)}"' for n, v in zip(names, key, strict=True))


def _chart_block(
    page: Page,
    title: str,
    intro: str,
    figure: Figure | None,
    description: str,
    table: str,
) -> str:
    chart_id = page.chart_id()
    if figure is None:
        body = '<p class="empty">No convictions to chart.</p>'
    else:
        body = f'<div class="chart">{_svg(figure, chart_id, title, description)}</div>'
    return (
        f'<section class="figure" aria-labelledby="{chart_id}-heading">'
        f'<h2 id="{chart_id}-heading">{_e(title)}</h2>'
        f'<p class="intro">{intro}</p>{body}{table}</section>'
    )


def _table(caption: str, header: Sequence[str], rows: Iterable[str]) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in header)
    return (
        f"<table><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _row(label: str, cells: str) -> str:
    return f'<tr><th scope="row">{_e(label)}</th>{cells}</tr>'


def _determinations(keys: Iterable[str]) -> list[str]:
    known = [d.value for d in Determination]
    present = set(keys)
    return [d for d in known if d in present] + sorted(present - set(known))


CSS = """
:root { --ink: #1a1a1a; --muted: #555; --rule: #ccc; --accent: #0072B2; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); margin: 0 auto; max-width: 60rem; padding: 1rem 1.5rem 3rem;
  line-height: 1.45; }
a { color: var(--accent); }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; }
header { border-bottom: 2px solid var(--ink); margin-bottom: 1rem; }
h1 { font-size: 1.7rem; margin: .5rem 0; }
h2 { font-size: 1.25rem; margin: 2rem 0 .4rem; border-bottom: 1px solid var(--rule); }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem;
  font-size: .95rem; }
dl.run dt { font-weight: 600; } dl.run dd { margin: 0; word-break: break-all; }
.intro { color: var(--muted); margin: .2rem 0 .6rem; }
.chart svg { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .92rem; min-width: 50%; }
caption { text-align: left; font-weight: 600; padding: .2rem 0; }
th, td { border: 1px solid var(--rule); padding: .25rem .55rem; text-align: left;
  vertical-align: top; }
thead th { background: #f2f2f2; }
td.num, td.derived { text-align: right; font-variant-numeric: tabular-nums; }
td.derived { color: var(--muted); }
.note { font-size: .9rem; color: var(--muted); }
.warn { border-left: 4px solid #D55E00; padding: .3rem .8rem; background: #fff6f0; }
nav.counties ul { columns: 3; padding-left: 1.2rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  .skip, nav.counties, .crumb { display: none; }
  a { color: var(--ink); text-decoration: none; }
  .chart, caption { break-inside: avoid-page; }
  h2, .intro { break-after: avoid-page; }
  table { break-inside: auto; } tr { break-inside: avoid; }
  thead th { background: none; }
  @page { margin: 1.5cm; }
}
"""


def _document(page: Page, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(page.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        '<a class="skip" href="#main">Skip to the figures</a>\n'
        f'{body}\n<script type="application/json" id="relief-figures">\n'
        f"{page.figures_json()}\n</script>\n</body>\n</html>\n"
    )


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run: dict[str, Any] | None
    data_docs: str | None  # relative link, when the file exists
    county_names: dict[str, str]

    def name(self, slug: str) -> str:
        return self.county_names.get(slug, slug)

    @property
    def compute_at(self) -> str:
        value = (self.run or {}).get("compute_at")
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


def _run_block(info: RunInfo, county: str | None = None) -> str:
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
                    f"{Path(i['path']).name} (sha256 {short_hash(i['fingerprint'], 16)}…)"
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
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
    if info.data_docs:
        rows += (
            f'<dt>Data Docs</dt><dd><a href="{_e(info.data_docs)}">Validation results '
            "(Great Expectations Data Docs) for this run</a></dd>"
        )
    return f'<dl class="run">{rows}</dl>'


def _header(info: RunInfo, title: str, county: str | None, back: bool) -> str:
    crumb = f'<p class="crumb"><a href="{INDEX}">← All counties</a></p>' if back else ""
    return f"<header>{crumb}<h1>{_e(title)}</h1>{_run_block(info, county)}</header>"


# --- the county page ------------------------------------------------------------------------


def _key_figures(page: Page, county: str) -> str:
    rows = [
        _row("Prop 64 convictions in the county", page.cell(county, POLICY, BY_SECTION, ALL)),
        _row("… of them felonies", page.cell(county, POLICY, BY_FELONY, FELONY)),
        _row("… of them misdemeanors or infractions",
             page.cell(county, POLICY, BY_FELONY, NON_FELONY)),
        _row("People with a Prop 64 conviction in the county", page.cell(county, POLICY, SUBJECTS)),
        _row("People with some relief under the county's policy",
             page.cell(county, POLICY, SOME_RELIEF)),
        _row("Earliest Prop 64 conviction", page.text_cell(county, POLICY, EARLIEST)),
        _row("Rows in the county table (whole histories)", page.cell(county, POLICY, ROWS)),
    ]  # fmt: skip
    return _table("Key figures", ["Figure", "Value"], rows)


def _by_determination(page: Page, county: str) -> str:
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
        _row(d, "".join(page.cell(county, flow, BY_DETERMINATION, d) for flow in flows))
        for d in labels
    ]
    rows.append(_row("Total", "".join(page.cell(county, f, BY_DETERMINATION, ALL) for f in flows)))
    figure = hbar_chart(labels, series, "Prop 64 convictions") if labels else None
    return _chart_block(
        page,
        "Prop 64 convictions by determination",
        "Each Prop 64 conviction in the county gets one determination. The county's policy is "
        "compared with dismissing every Prop 64 conviction.",
        figure,
        _describe(labels, series),
        _table("Convictions by determination", ["Determination", *FLOW_LABELS.values()], rows),
    )


def _by_section(page: Page, county: str) -> str:
    labels = page.figures.keys(county, POLICY, BY_SECTION)
    values = [page.value(county, POLICY, BY_SECTION, s) for s in labels]
    series = Series("Convictions", values, FLOW_COLORS[POLICY])
    shown = [f"HS {s}" for s in labels]
    rows = [_row(f"HS {s}", page.cell(county, POLICY, BY_SECTION, s)) for s in labels]
    figure = vbar_chart(shown, series, "Prop 64 convictions") if labels else None
    return _chart_block(
        page,
        "Prop 64 convictions by code section",
        "Health and Safety Code 11357 (possession), 11358 (cultivation), 11359 (possession for "
        "sale) and 11360 (transport or sale); only sections that occur are shown.",
        figure,
        _describe(shown, [series]),
        _table("Convictions by code section", ["Code section", "Convictions"], rows),
    )


def _by_reason(page: Page, county: str) -> str:
    pairs = page.figures.pairs(county, POLICY, BY_REASON)
    order = {d: i for i, d in enumerate(_determinations(d for d, _ in pairs))}
    pairs.sort(key=lambda p: (order[p[0]], -page.figures.value(county, POLICY, BY_REASON, *p)))
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
        f'<tr><td>{_e(d)}</td><th scope="row">{_e(r or "(no reason)")}</th>'
        f"{page.cell(county, POLICY, BY_REASON, d, r)}</tr>"
        for d, r in pairs
    ]
    description = "; ".join(
        f"{d}, {r or 'no reason'}: {v:,}" for (d, r), v in zip(pairs, values, strict=True)
    )
    return _chart_block(
        page,
        "Prop 64 convictions by reason",
        "The reason recorded with each determination: the policy rule that fired. Bars are "
        "coloured by determination.",
        figure,
        description + ".",
        _table("Convictions by reason", ["Determination", "Reason", "Convictions"], rows),
    )


def _people(page: Page, county: str) -> str:
    return _people_block(
        page,
        county,
        "People whose records change",
        "People with a Prop 64 conviction in the county; each person's convictions in every "
        "county are looked at. “In the last 7 years” is measured back from compute-at.",
    )


def _people_block(page: Page, county: str, title: str, description: str) -> str:
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
        _row(label, "".join(page.cell(county, f, m) for f in flows))
        for label, m in zip(labels, metrics, strict=True)
    ]
    return _chart_block(
        page,
        title,
        description,
        hbar_chart(labels, series, "People"),
        _describe(labels, series),
        _table(title, ["", *FLOW_LABELS.values()], rows),
    )


def _by_race(page: Page, county: str) -> str:
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
        _row(
            race,
            page.cell(county, POLICY, SUBJECTS_BY_RACE, race)
            + page.cell(county, POLICY, SOME_RELIEF + BY_RACE_SUFFIX, race)
            + f'<td class="derived">{_percent(relieved[POLICY][i], people[i])}</td>'
            + page.cell(county, DISMISS_ALL, SOME_RELIEF + BY_RACE_SUFFIX, race),
        )
        for i, race in enumerate(races)
    ]
    table = _table(
        "People by race",
        ["Race", "People with a Prop 64 conviction", "Some relief: county's policy",
         "% of people (derived)", "Some relief: dismiss all Prop 64"],
        rows,
    )  # fmt: skip
    pairs = page.figures.pairs(county, POLICY, BY_RACE)
    determinations = _determinations(d for _, d in pairs)
    conviction_rows = [
        _row(race, "".join(page.cell(county, POLICY, BY_RACE, race, d) for d in determinations))
        for race in sorted({r for r, _ in pairs})
    ]
    if conviction_rows:
        table += _table(
            "Prop 64 convictions by race and determination (county's policy)",
            ["Race", *determinations],
            conviction_rows,
        )
    return _chart_block(
        page,
        "Relief by race",
        "Race as the DOJ extract records it (RACE_DESCR). Some relief: at least one Prop 64 "
        "conviction in the county dismissed or reduced.",
        hbar_chart(races, series, "People") if races else None,
        _describe(races, series),
        table,
    )


def _by_year(page: Page, county: str) -> str:
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
        _row(y or "date unknown", page.cell(county, POLICY, BY_YEAR, y)) for y in years + unknown
    ]
    return _chart_block(
        page,
        "Prop 64 convictions by year of conviction",
        "A partial date counts in the year it names; a blank date is “date unknown”.",
        vbar_chart(labels, series, "Prop 64 convictions") if axis else None,
        _describe(
            [label for label, v in zip(labels, series.values, strict=True) if v],
            [Series(series.name, [v for v in series.values if v], series.color)],
        ),
        _table("Convictions by year of conviction", ["Year", "Convictions"], rows),
    )


def county_page(figures: SummaryFigures, info: RunInfo, county: str) -> str:
    name = info.name(county)
    page = Page(figures, f"{name} County — Prop 64 relief, run {info.run_id}")
    body = [
        _header(info, f"{name} County: Prop 64 relief", county, back=True),
        '<main id="main">',
        _key_figures(page, county),
        _by_determination(page, county),
        _by_section(page, county),
        _by_reason(page, county),
        _people(page, county),
        _by_race(page, county),
        _by_year(page, county),
        "</main>",
    ]
    return _document(page, "\n".join(body))


# --- the index page -------------------------------------------------------------------------


def county_file(slug: str) -> str:
    return f"county-{slug}.html"


def index_page(figures: SummaryFigures, info: RunInfo) -> str:
    page = Page(figures, f"Prop 64 relief — statewide report, run {info.run_id}")
    counties = figures.counties()
    ranked = sorted(
        counties, key=lambda c: (-figures.value(c, POLICY, BY_SECTION, ALL), info.name(c))
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
    rows = [
        f'<tr><th scope="row"><a href="{county_file(c)}">{_e(info.name(c))}</a></th>'
        + page.cell(c, POLICY, BY_SECTION, ALL)
        + "".join(page.cell(c, POLICY, BY_DETERMINATION, d) for d in determinations)
        + page.cell(c, POLICY, SUBJECTS)
        + page.cell(c, POLICY, SOME_RELIEF)
        + "</tr>"
        for c in ranked
    ]
    rows.append(
        '<tr><th scope="row">All counties (sum)</th>'
        + page.cell(ALL, POLICY, BY_SECTION, ALL)
        + "".join(page.cell(ALL, POLICY, BY_DETERMINATION, d) for d in determinations)
        + page.cell(ALL, POLICY, SUBJECTS)
        + page.cell(ALL, POLICY, SOME_RELIEF)
        + "</tr>"
    )
    ranking = _chart_block(
        page,
        "Counties ranked by Prop 64 convictions",
        "Every county with a Prop 64 conviction in this run, most convictions first; bars are "
        "split by the determination under the county's policy. A person with convictions in "
        "several counties is counted in each.",
        hbar_chart(labels, series, "Prop 64 convictions", stacked=True) if ranked else None,
        _describe(labels, series, limit=10),
        _table("Counties", header, rows),
    )
    people = _statewide_people(page)
    nav = "".join(f'<li><a href="{county_file(c)}">{_e(info.name(c))}</a></li>' for c in ranked)
    body = [
        _header(info, "Prop 64 relief: statewide report", None, back=False),
        f'<nav class="counties" aria-label="County pages"><ul>{nav}</ul></nav>',
        '<main id="main">',
        ranking,
        people,
        "</main>",
    ]
    return _document(page, "\n".join(body))


def _statewide_people(page: Page) -> str:
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


def _data_docs_link(warehouse: Path, run_id: str, out: Path) -> str | None:
    target = Warehouse(warehouse).validation(run_id) / DATA_DOCS
    if not target.is_file():
        return None
    relative = os.path.relpath(target.resolve(), out.resolve())
    return urllib.parse.quote(Path(relative).as_posix())


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def build_report(warehouse: Path, out: Path, run_id: str | None = None) -> tuple[Path, list[Path]]:
    """Write the report; returns index.html and every page written."""
    runs = {r["run_id"]: r for r in read_ledger(warehouse)}
    if run_id is None:
        latest = latest_succeeded_run(warehouse)
        if latest is None:
            raise ReportError(
                f"{warehouse}: the runs ledger has no succeeded run to report on (run "
                "`relief run` first, or give --run)"
            )
        run_id = str(latest["run_id"])
    chosen = runs.get(run_id) or {}
    figures = read_summary(warehouse, run_id, chosen.get("summary_version"))
    if not figures.values and not figures.texts:
        known = ", ".join(r for r, row in runs.items() if row["status"] == "succeeded")
        raise ReportError(
            f"run {run_id!r} has no figures in the summary table. Succeeded runs: "
            f"{known or 'none'}",
            exit_code=2,
        )
    out.mkdir(parents=True, exist_ok=True)
    info = RunInfo(
        run_id=run_id,
        run=runs.get(run_id),
        data_docs=_data_docs_link(warehouse, run_id, out),
        county_names=_county_names(),
    )
    written = []
    for county in figures.counties():
        path = out / county_file(county)
        _write(path, county_page(figures, info, county))
        written.append(path)
    index = out / INDEX
    _write(index, index_page(figures, info))
    return index, [index, *written]


def report_command(warehouse: Path, out: Path, run_id: str | None) -> Path:
    """``relief report``: the report of ``run_id`` (default: latest succeeded run); returns
    ``<out>/index.html``. Raises :class:`ReportError` (``exit_code`` 1 or 2) for people."""
    try:
        home = Warehouse(warehouse)
    except ValueError as exc:  # fs.LocationError: a path delta-rs would misread
        raise ReportError(f"--warehouse {exc}", exit_code=2) from None
    if not home.root.is_dir():
        raise ReportError(f"{warehouse}: no such warehouse directory", exit_code=2)
    try:
        index, _ = build_report(warehouse, out, run_id)
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
