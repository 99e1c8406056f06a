"""``relief report --law L``: a statewide law's figures per county, with small-cell suppression.

Reads the law's flow of the summary table (transforms/law_summary.py) for the run the report
is about, and writes ``<out>/<law>.html``: one table per county and one for all counties —
candidates, granted by this run (new) and by earlier runs, Hand Review by reason, Not
eligible by reason, and the granting reasons. Counts from 1 to 10 are shown as ``<11`` and,
where a total and the other cells of a table would give a hidden count away, the next
smallest cell is hidden too: the Prop 64 report's suppression (report.suppressed_cells) over
this page's sums (:func:`law_sums`). The Prop 64 report is not changed by this page.
"""

from __future__ import annotations

import html
from pathlib import Path

from relief.jobs.audit.common import read_ledger
from relief.jobs.audit.report import (
    ALL,
    NO_SUPPRESSION_NOTE,
    SUPPRESSED,
    SUPPRESSION_NOTE,
    FigureKey,
    ReportError,
    SumGroup,
    SummaryFigures,
    Suppression,
    _write,
    read_summary,
    suppressed_cells,
)
from relief.jobs.warehouse.access import private_dir
from relief.jobs.warehouse.ledger import STATUS_SUCCEEDED
from relief.jobs.warehouse.publication import publication_of
from relief.transforms.law_summary import BY_DETERMINATION, BY_REASON, CANDIDATES, GRANTED

HAND_REVIEW, NOT_ELIGIBLE = "Hand Review", "Not eligible"
NEW, EARLIER = "new", "earlier"


def law_sums(figures: SummaryFigures, law: str) -> list[SumGroup]:
    """The sums the law page shows: per county, candidates = the determinations, each
    determination = its reasons; across counties, each figure = the counties' figures."""
    groups: list[SumGroup] = []
    counties = [c for c in figures.counties() if figures.keys(c, law, BY_DETERMINATION)]
    for c in counties:
        total: FigureKey = (c, law, CANDIDATES, "", "")
        determinations = figures.keys(c, law, BY_DETERMINATION)
        groups.append(SumGroup(total, tuple((c, law, BY_DETERMINATION, d, "")
                                            for d in determinations)))  # fmt: skip
        pairs = figures.pairs(c, law, BY_REASON)
        for d in determinations:
            groups.append(
                SumGroup(
                    (c, law, BY_DETERMINATION, d, ""),
                    tuple((c, law, BY_REASON, k, r) for k, r in pairs if k == d),
                )
            )
    across: list[tuple[str, str, str]] = [(CANDIDATES, "", "")]
    across += [(BY_DETERMINATION, d, "") for d in figures.keys(ALL, law, BY_DETERMINATION)]
    across += [(BY_REASON, k, r) for k, r in figures.pairs(ALL, law, BY_REASON)]
    across += [(GRANTED, g, "") for g in (NEW, EARLIER)]
    for metric, key, key2 in across:
        groups.append(
            SumGroup((ALL, law, metric, key, key2), tuple((c, law, metric, key, key2)
                                                          for c in counties))
        )  # fmt: skip
    return groups


def law_suppression(figures: SummaryFigures, law: str, enabled: bool = True) -> Suppression:
    if not enabled:
        return Suppression(enabled=False)
    return Suppression(True, suppressed_cells(figures, law_sums(figures, law)))


def law_rows(
    figures: SummaryFigures, law: str, county: str, suppression: Suppression
) -> list[tuple[str, str]]:
    """(label, shown count) of one county's table (``county`` ALL: every county)."""

    def shown(key: FigureKey) -> str:
        value = figures.value(*key)
        return SUPPRESSED if suppression.hides(key, value) else f"{value:,}"

    rows = [("Candidates", shown((county, law, CANDIDATES, "", "")))]
    rows.append(("Granted by this run", shown((county, law, GRANTED, NEW, ""))))
    rows.append(("Granted by an earlier run", shown((county, law, GRANTED, EARLIER, ""))))
    for determination in figures.keys(county, law, BY_DETERMINATION):
        rows.append((determination, shown((county, law, BY_DETERMINATION, determination, ""))))
        for d, reason in figures.pairs(county, law, BY_REASON):
            if d == determination:
                rows.append((f"  {reason}", shown((county, law, BY_REASON, d, reason))))
    return rows


def law_page(figures: SummaryFigures, law: str, run_id: str, suppression: Suppression) -> str:
    note = SUPPRESSION_NOTE if suppression.enabled else NO_SUPPRESSION_NOTE
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        f"<title>{html.escape(law)} — run {html.escape(run_id)}</title>",
        f"<h1>{html.escape(law)}: automatic relief by county, run {html.escape(run_id)}</h1>",
        f"<p>{html.escape(note)}</p>",
    ]
    counties = [c for c in figures.counties() if figures.keys(c, law, BY_DETERMINATION)]
    for county in [ALL, *counties]:
        title = "All counties" if county == ALL else county
        parts.append(f"<h2>{html.escape(title)}</h2><table>")
        for label, value in law_rows(figures, law, county, suppression):
            cell = f'<td data-suppressed="true">{value}' if value == SUPPRESSED else f"<td>{value}"
            parts.append(f"<tr><th>{html.escape(label)}</th>{cell}</td></tr>")
        parts.append("</table>")
    return "\n".join(parts) + "\n"


def build_law_report(
    warehouse: Path, out: Path, law: str, run_id: str | None = None, suppress: bool = True
) -> Path:
    """Write ``<out>/<law>.html`` for ``run_id`` (default: the latest succeeded run)."""
    ledger_rows = read_ledger(warehouse)
    runs = {r["run_id"]: r for r in ledger_rows}
    if run_id is None:
        done = [r for r in ledger_rows if r["status"] == STATUS_SUCCEEDED]
        if not done:
            raise ReportError(f"{warehouse}: the runs ledger has no succeeded run to report on")
        run_id = str(done[-1]["run_id"])
    position = next((i for i, r in enumerate(ledger_rows) if r["run_id"] == run_id), None)
    chosen = runs.get(run_id) or {}
    summary_version = chosen.get("summary_version")
    if position is not None and chosen.get("status") == STATUS_SUCCEEDED:
        published = publication_of(ledger_rows[: position + 1])
        if published.summary is not None:
            summary_version = published.summary.version
    figures = read_summary(warehouse, run_id, summary_version)
    if not any(key[1] == law for key in figures.values):
        raise ReportError(f"run {run_id!r} has no {law} figures (it did not run {law})", 2)
    private_dir(out)
    path = out / f"{law}.html"
    _write(path, law_page(figures, law, run_id, law_suppression(figures, law, suppress)))
    return path
