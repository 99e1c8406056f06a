"""Validation I/O: keep suite results per run, render them for people, validate an extract.

``<warehouse>/validation/<run_id>/`` holds, for every run:

- ``results.json``: the one-line summary, passed/warned/failed totals, seconds, and per suite
  every expectation's outcome (observed value, offending record_ids) with GX's own result;
- ``index.html``: a self-contained page (no network needed) a person opens in a browser,
  listing every expectation, what was observed and which records broke it;
- ``data_docs/``: the Great Expectations Data Docs site for the same results, built by GX's
  own site builder (``data_docs/index.html``). Its styling loads from public CDNs, so on a
  machine without internet it is plain but readable; index.html links to its pages.
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import logging
import os
import tempfile
from collections.abc import Sequence
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
from jobs.warehouse.fs import Location, StorePath

RESULTS_FILE = "results.json"
INDEX_FILE = "index.html"
DOCS_DIR = "data_docs"
SITE_NAME = "relief"
# Pictures of GX's "how to" help, a few MB per run, that a results page never shows.
_UNUSED_DOC_ASSETS = (
    "static/images/glossary_scroller.gif",
    "static/images/iterative-dev-loop.png",
    "static/images/validation_failed_unexpected_values.gif",
)

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


def build_data_docs(
    results: Sequence[SuiteResult], directory: Path, run_id: str | None = None
) -> dict[str, str]:
    """GX Data Docs for ``results`` under ``directory``; returns suite -> page (relative).

    Uses an ephemeral GX context whose Data Docs site is a filesystem store at
    ``directory``: the suite results go into the context's in-memory results store and GX's
    SiteBuilder renders them.
    """
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context = gx.get_context(mode="ephemeral")
    context.add_data_docs_site(
        SITE_NAME,
        {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(directory),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    run_time = dt.datetime.now(dt.UTC)
    keys: dict[str, Any] = {}
    run = RunIdentifier(run_name=run_id or "relief-validate", run_time=run_time)
    for result in results:
        suite_json: dict[str, Any] = dict(result.gx_suite.to_json_dict())
        suite_json.pop("id", None)
        context.suites.add(ExpectationSuite(**suite_json))
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite),
            run_id=run,
            batch_identifier=result.suite,
        )
        # The page shows the run from the result's meta; the stored result is not changed.
        shown = copy.copy(result.gx_result)
        shown.meta = {**(result.gx_result.meta or {}), "run_id": run}
        context.validation_results_store.set(key, shown)
        keys[result.suite] = key
    context.build_data_docs(site_names=[SITE_NAME])
    for asset in _UNUSED_DOC_ASSETS:
        (directory / asset).unlink(missing_ok=True)
    pages: dict[str, str] = {}
    for suite, key in keys.items():
        for site in context.get_docs_sites_urls(resource_identifier=key, site_name=SITE_NAME):
            url = str(site.get("site_url") or "")
            if url.startswith("file://"):
                pages[suite] = os.path.relpath(url.removeprefix("file://"), directory)
    return pages


def write_results(
    results: Sequence[SuiteResult], directory: Location, run_id: str | None = None
) -> Location:
    """Write results.json, GX Data Docs and index.html into ``directory``; return index.html.

    When GX's Data Docs cannot be built the run still keeps results.json and index.html (a
    warning is logged): the record of what was validated matters more than its styling.
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
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload = results_payload(results, run_id)
    _write_atomically(directory / RESULTS_FILE, json.dumps(payload, indent=2, default=str))
    pages: dict[str, str] = {}
    try:
        docs = build_data_docs(results, directory / DOCS_DIR, run_id)
        pages = {suite: f"{DOCS_DIR}/{page}" for suite, page in docs.items()}
    except Exception as exc:
        logger.warning("GX Data Docs could not be built in %s: %s", directory / DOCS_DIR, exc)
    index = directory / INDEX_FILE
    _write_atomically(index, render_index(results, payload, pages))
    return index


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


def render_index(
    results: Sequence[SuiteResult], payload: dict[str, Any], pages: dict[str, str]
) -> str:
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
        f'<p class="muted">Written {_e(payload["written_at"])}. Machine-readable: '
        f'<a href="{RESULTS_FILE}">{RESULTS_FILE}</a>.',
    ]
    if pages:
        docs_index = f"{DOCS_DIR}/index.html"
        parts.append(f' Great Expectations Data Docs: <a href="{docs_index}">{docs_index}</a>.')
    parts.append("</p>")
    for result in results:
        rows = f"{result.rows:,} rows" if result.rows is not None else "schema only"
        parts.append(f'<h2 id="{_e(result.suite)}">{_e(result.summary_line())}</h2>')
        link = pages.get(result.suite)
        docs = f' — <a href="{_e(link)}">GX Data Docs page</a>' if link else ""
        parts.append(f'<p class="muted">{_e(rows)}, {result.seconds:.1f} s{docs}</p>')
        parts.append(
            "<table><tr><th>Status</th><th>Severity</th><th>Expectation</th><th>Check</th>"
            "<th>Observed</th><th>Offending record_ids</th></tr>"
        )
        for o in result.outcomes:
            columns = f" on <code>{_e(', '.join(o.columns))}</code>" if o.columns else ""
            parts.append(
                f'<tr><td class="{o.status}">{o.status}</td><td>{_e(o.severity)}</td>'
                f"<td><strong>{_e(o.description)}</strong><br>"
                f'<span class="muted">{_e(o.name)}</span></td>'
                f"<td><code>{_e(o.type)}</code>{columns}</td>"
                f"<td>{_e(o.observed)}</td>"
                f"<td><code>{_e(', '.join(o.offending_ids))}</code></td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
