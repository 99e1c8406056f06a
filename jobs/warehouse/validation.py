"""Validation I/O: keep suite results per run, render them for people, validate an extract.

``<warehouse>/validation/<run_id>/`` holds, for every run (always absolute paths):

- ``index.html``: the complete record for people, self-contained (no script, no network):
  every expectation of every suite, its result, the observed value, the threshold it is held
  to (``mostly``, bounds, sets) and the record_ids that broke it;
- ``results.json``: the same for machines: the one-line summary, passed/warned/failed
  totals, seconds, and per suite every expectation's outcome;
- ``gx/<suite>.json``: Great Expectations' own validation result of each suite
  (``ExpectationSuiteValidationResult``), linked from index.html.

GX's Data Docs site is not built: its pages load their scripts and styles from public CDNs
and its index lists results only through that JavaScript, so offline it was empty. The page
above holds everything the Data Docs page showed, and the GX results stay as GX wrote them.

A run whose evidence cannot be written keeps going (the tables do not depend on it) and says
so: :func:`record_evidence` returns the problem, which the run puts in its result line and
in the ledger's ``validation`` column (``…; evidence not written (…)``).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from expectations.runner import (
    FAILED,
    PASSED,
    WARNED,
    SuiteResult,
    summarize,
    totals,
)
from jobs.warehouse.access import owner_only
from jobs.warehouse.fs import Location, StorePath

RESULTS_FILE = "results.json"
INDEX_FILE = "index.html"
GX_DIR = "gx"
EVIDENCE_MISSING = "evidence not written"

logger = logging.getLogger(__name__)


# --- results as files ---------------------------------------------------------------------------


def results_payload(results: Sequence[SuiteResult], run_id: str | None = None) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "summary": summarize(results),
        "totals": totals(results),
        "seconds": round(sum(r.seconds for r in results), 3),
        "success": all(r.success for r in results),
        "suites": [r.to_json() for r in results],
    }


def _write_atomically(path: Path, text: str) -> None:
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def gx_result_file(suite: str) -> str:
    """Where a suite's GX result is kept, relative to the run's validation folder."""
    return f"{GX_DIR}/{suite}.json"


def write_results(
    results: Sequence[SuiteResult], directory: Location, run_id: str | None = None
) -> Location:
    """Write gx/<suite>.json, results.json and index.html into ``directory`` (a local one made
    absolute first); return index.html. Raises OSError when a file cannot be written.

    On an object store the files are written to a local folder first, then uploaded.
    """
    if isinstance(directory, StorePath):
        with tempfile.TemporaryDirectory(prefix="relief-validation-") as work:
            local = write_results(results, Path(work), run_id)
            pafs.copy_files(
                work,
                directory.path,
                source_filesystem=pafs.LocalFileSystem(),
                destination_filesystem=directory.filesystem,
            )
            return directory / local.name
    with owner_only():  # also for `relief validate --out`: results name records
        return _write_results(results, Path(directory).expanduser().resolve(), run_id)


def _write_results(results: Sequence[SuiteResult], directory: Path, run_id: str | None) -> Path:
    (directory / GX_DIR).mkdir(parents=True, exist_ok=True)
    for result in results:
        _write_atomically(
            directory / gx_result_file(result.suite),
            json.dumps(result.gx_json(), indent=2, default=str),
        )
    payload = results_payload(results, run_id)
    _write_atomically(directory / RESULTS_FILE, json.dumps(payload, indent=2, default=str))
    index = directory / INDEX_FILE
    _write_atomically(index, render_index(results, payload))
    return index


@dataclass(frozen=True)
class Evidence:
    """What :func:`record_evidence` wrote: the page, or why there is none."""

    index: Location | None
    problem: str | None

    def summary(self, validation: str) -> str:
        """The ledger's one-line validation text, saying when the evidence is missing."""
        if self.problem is None:
            return validation
        return f"{validation}; {EVIDENCE_MISSING} ({self.problem})"


def record_evidence(
    results: Sequence[SuiteResult], directory: Location, run_id: str | None = None
) -> Evidence:
    """:func:`write_results`, reporting a failure instead of raising it (a run goes on)."""
    try:
        return Evidence(write_results(results, directory, run_id), None)
    except OSError as exc:
        problem = f"{directory}: {exc.strerror or exc}"
        logger.debug("validation evidence not written", exc_info=True)
        return Evidence(None, problem)


# --- the page for people ----------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 80em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; margin-top: .5em; }
th, td { border: 1px solid #ccc; padding: .35em .5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.passed { background: #e6f4ea; } td.warned { background: #fff4d6; }
td.failed { background: #fde2e1; font-weight: bold; }
code { font-size: .9em; } .muted { color: #666; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _configs(result: SuiteResult) -> dict[str, Mapping[str, Any]]:
    """Each expectation's kwargs as GX ran them (parameters filled in), by meta.name."""
    out: dict[str, Mapping[str, Any]] = {}
    for item in result.gx_json().get("results") or []:
        config = item.get("expectation_config") or {}
        name = (config.get("meta") or {}).get("name")
        if name:
            out[str(name)] = config.get("kwargs") or {}
    return out


def _short(value: Any, limit: int = 8) -> str:
    if isinstance(value, list | tuple):
        shown = ", ".join(str(v) for v in value[:limit])
        more = f", … ({len(value)} in all)" if len(value) > limit else ""
        return f"[{shown}{more}]"
    return str(value)


_BOUNDS = (
    ("min_value", "at least"),
    ("max_value", "at most"),
    ("value", "equal to"),
    ("regex", "matching"),
    ("regex_list", "matching one of"),
    ("value_set", "one of"),
    ("column_set", "columns"),
    ("column_list", "columns"),
    ("type_", "of type"),
    ("row_condition", "where"),
)


def threshold(kwargs: Mapping[str, Any], is_row_check: bool) -> str:
    """What an expectation holds the data to: ``98% of rows; one of [...]``."""
    parts: list[str] = []
    mostly = kwargs.get("mostly")
    if isinstance(mostly, int | float) and mostly < 1:
        parts.append(f"at least {mostly * 100:g}% of rows")
    elif is_row_check:
        parts.append("every row")
    for key, word in _BOUNDS:
        value = kwargs.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, Mapping):
            value = value.get("pass_through_filter", value)
        parts.append(f"{word} {_short(value)}")
    return "; ".join(parts) or "-"


def render_index(results: Sequence[SuiteResult], payload: dict[str, Any]) -> str:
    """A self-contained HTML page of the results: no script, no external resource."""
    count = payload["totals"]
    head = (
        f"{count[PASSED]} passed, {count[WARNED]} warned, {count[FAILED]} failed "
        f"in {payload['seconds']:.1f} s"
    )
    verdict = (
        "No critical expectation failed."
        if payload["success"]
        else "A critical expectation failed: a run stops here, before committing any county table."
    )
    run = f" — run {_e(payload['run_id'])}" if payload["run_id"] else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>relief validation {_e(payload['run_id'] or '')}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>relief validation{run}</h1>",
        f"<p><strong>{_e(payload['summary'])}</strong></p>",
        f"<p>{_e(head)}. {_e(verdict)}</p>",
        f'<p class="muted">Written {_e(payload["written_at"])}. This page is the complete '
        "record of the run's Great Expectations validation. For machines: "
        f'<a href="{RESULTS_FILE}">{RESULTS_FILE}</a> (every outcome) and GX\'s own result '
        "of each suite: "
        + ", ".join(
            f'<a href="{_e(gx_result_file(r.suite))}">{_e(gx_result_file(r.suite))}</a>'
            for r in results
        )
        + ".</p>",
    ]
    for result in results:
        rows = f"{result.rows:,} rows" if result.rows is not None else "schema only"
        configs = _configs(result)
        link = gx_result_file(result.suite)
        parts.append(f'<h2 id="{_e(result.suite)}">{_e(result.summary_line())}</h2>')
        parts.append(
            f'<p class="muted">{_e(rows)}, {result.seconds:.1f} s — GX result: '
            f'<a href="{_e(link)}">{_e(link)}</a></p>'
        )
        parts.append(
            "<table><tr><th>Status</th><th>Severity</th><th>Expectation</th><th>Check</th>"
            "<th>Threshold</th><th>Observed</th><th>Offending record_ids</th></tr>"
        )
        for o in result.outcomes:
            columns = f" on <code>{_e(', '.join(o.columns))}</code>" if o.columns else ""
            held_to = threshold(configs.get(o.name, {}), bool(o.columns))
            parts.append(
                f'<tr id="{_e(result.suite)}-{_e(o.name)}">'
                f'<td class="{o.status}">{o.status}</td><td>{_e(o.severity)}</td>'
                f"<td><strong>{_e(o.description)}</strong><br>"
                f'<span class="muted">{_e(o.name)}</span></td>'
                f"<td><code>{_e(o.type)}</code>{columns}</td>"
                f"<td>{_e(held_to)}</td>"
                f"<td>{_e(o.observed)}</td>"
                f"<td><code>{_e(', '.join(o.offending_ids))}</code></td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
