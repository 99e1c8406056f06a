"""Validation I/O: keep suite results per run, as files for machines and a page for people.

``<warehouse>/validation/<run_id>/`` holds, for every run (always absolute paths):

- ``index.html``: the complete record for people, self-contained (no script, no network):
  every expectation of every suite, its result, the observed value, the threshold it is held
  to (``mostly``, bounds, sets) and the record_ids that broke it;
- ``results.json``: the same for machines: the one-line summary, passed/warned/failed
  totals, seconds, and per suite every expectation's outcome;
- ``gx/<suite>.json``: Great Expectations' own validation result of each suite
  (``ExpectationSuiteValidationResult``), linked from index.html.

The page is rendered beside the report (jobs/audit/validation_page.py, a Jinja2 template);
the caller passes its ``render`` here, and this module writes the files.

GX's Data Docs site is not built: its pages load their scripts and styles from public CDNs
and its index lists results only through that JavaScript, so offline it was empty. The page
above holds everything the Data Docs page showed, and the GX results stay as GX wrote them.

A run whose evidence cannot be written keeps going (the tables do not depend on it) and says
so: :func:`record_evidence` returns the problem, which the run puts in its result line and
in the ledger's ``validation`` column (``…; evidence not written (…)``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.fs as pafs

from relief.jobs.warehouse.access import owner_only
from relief.jobs.warehouse.fs import Location, StorePath
from relief.transforms.columns import RUN_ID

RESULTS_FILE = "results.json"
INDEX_FILE = "index.html"
GX_DIR = "gx"
EVIDENCE_MISSING = "evidence not written"

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # the runner imports pyspark and GX; the page and the CLI need neither
    from relief.expectations.runner import SuiteResult

    # The page for people: (results, the payload of results.json) -> HTML.
    # jobs/audit/validation_page.render is the one relief writes.
    PageRenderer = Callable[[Sequence[SuiteResult], Mapping[str, Any]], str]


# --- results as files ---------------------------------------------------------------------------


def results_payload(results: Sequence[SuiteResult], run_id: str | None = None) -> dict[str, Any]:
    from relief.expectations.runner import summarize, totals

    return {
        RUN_ID: run_id,
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
    results: Sequence[SuiteResult],
    directory: Location,
    run_id: str | None = None,
    *,
    page: PageRenderer,
) -> Location:
    """Write gx/<suite>.json, results.json and index.html (``page`` of the results) into
    ``directory`` (a local one made absolute first); return index.html. Raises OSError when a
    file cannot be written.

    On an object store the files are written to a local folder first, then uploaded.
    """
    if isinstance(directory, StorePath):
        with tempfile.TemporaryDirectory(prefix="relief-validation-") as work:
            local = write_results(results, Path(work), run_id, page=page)
            pafs.copy_files(
                work,
                directory.path,
                source_filesystem=pafs.LocalFileSystem(),
                destination_filesystem=directory.filesystem,
            )
            return directory / local.name
    with owner_only():  # also for `relief validate --out`: results name records
        return _write_results(results, Path(directory).expanduser().resolve(), run_id, page)


def _write_results(
    results: Sequence[SuiteResult], directory: Path, run_id: str | None, page: PageRenderer
) -> Path:
    (directory / GX_DIR).mkdir(parents=True, exist_ok=True)
    for result in results:
        _write_atomically(
            directory / gx_result_file(result.suite),
            json.dumps(result.gx_json(), indent=2, default=str),
        )
    payload = results_payload(results, run_id)
    _write_atomically(directory / RESULTS_FILE, json.dumps(payload, indent=2, default=str))
    index = directory / INDEX_FILE
    _write_atomically(index, page(results, payload))
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
    results: Sequence[SuiteResult],
    directory: Location,
    run_id: str | None = None,
    *,
    page: PageRenderer,
) -> Evidence:
    """:func:`write_results`, reporting a failure instead of raising it (a run goes on)."""
    try:
        return Evidence(write_results(results, directory, run_id, page=page), None)
    except OSError as exc:
        problem = f"{directory}: {exc.strerror or exc}"
        logger.debug("validation evidence not written", exc_info=True)
        return Evidence(None, problem)
