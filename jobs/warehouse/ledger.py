"""The runs ledger: a Delta table with one row per run state change.

A run appends a ``running`` row once its inputs are read and it is about to change the
warehouse, and its final row (``succeeded``, ``failed``, ``failed_validation``,
``no_change``) when it ends; the ledger's view of a run is its latest row. A run whose latest
row is still ``running`` and that holds no lock is incomplete: it died. Recovery
(recovery.py) appends a final ``incomplete`` row for it saying what it cleaned up.

The final row of a succeeded run is written last, after every table commit, and names the
version of every county table: the ones it wrote and, for a ``--counties`` run, the ones it
left as they were (``carried_from``: the run that wrote that version). That row is the single
commit point of a run: readers serve what the latest succeeded row names (publication.py).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyarrow.lib import ArrowException

from relief.jobs import __version__
from relief.jobs.warehouse import fs
from relief.jobs.warehouse.fs import Location
from relief.jobs.warehouse.lock import holder_is_dead, read_lock
from relief.jobs.warehouse.storage import (
    TableUnreadable,
    Warehouse,
    append_rows,
    open_table,
    read_arrow,
)
from relief.transforms.columns import COMPUTE_AT, POLICY_HASH, RELIEF_VERSION, RUN_ID

if (
    TYPE_CHECKING
):  # relief.jobs.warehouse.inputs imports pyspark; readers of the ledger must not need it
    from relief.jobs.warehouse.inputs import InputFile

STATUS_RUNNING = "running"
STATUS_SUCCEEDED = "succeeded"
STATUS_FAILED = "failed"
STATUS_FAILED_VALIDATION = "failed_validation"
STATUS_NO_CHANGE = "no_change"
STATUS_INCOMPLETE = "incomplete"  # derived: a 'running' row with no live run behind it

INPUT_TYPE = pa.struct(
    [("path", pa.string()), ("fingerprint", pa.string()), ("size_bytes", pa.int64())]
)
COUNTY_VERSION_TYPE = pa.struct(
    [
        ("county", pa.string()),
        ("version", pa.int64()),
        ("rows", pa.int64()),
        (POLICY_HASH, pa.string()),
        # None: this run wrote the version. Else the run that did: a --counties run names
        # the versions of the counties it left as they were.
        ("carried_from", pa.string()),
    ]
)
UNPLACED_TYPE = pa.struct([("county", pa.string()), ("reason", pa.string()), ("rows", pa.int64())])
RUNS_SCHEMA = pa.schema(
    [
        (RUN_ID, pa.string()),
        ("status", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        (COMPUTE_AT, pa.date32()),
        ("inputs", pa.list_(INPUT_TYPE)),
        ("counties_requested", pa.list_(pa.string())),
        ("rows_read", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("rows_kept", pa.int64()),
        ("county_versions", pa.list_(COUNTY_VERSION_TYPE)),
        ("quarantine_version", pa.int64()),
        ("summary_version", pa.int64()),
        ("validation", pa.string()),  # one-line GX summary
        ("run_key", pa.string()),  # inputs + policies + compute-at: same key, same result
        (RELIEF_VERSION, pa.string()),
        ("message", pa.string()),
        ("stage_seconds", pa.string()),  # JSON {stage: seconds}
        # Conservation, part two: kept Prop 64 conviction lines of California counties (of
        # the counties run) = lines in their county's table + lines counted here by reason.
        ("prop64_lines", pa.int64()),
        ("prop64_lines_in_tables", pa.int64()),
        ("prop64_lines_unplaced", pa.list_(UNPLACED_TYPE)),
        ("run_key_parts", pa.string()),  # JSON: what the run key hashes, part by part
        # The grants table's version after this run's append (grants.py; null: the run ran
        # no statewide law pack, or granted nothing new and left the table as it was).
        ("grants_version", pa.int64()),
    ]
)


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


@dataclass
class RunRecord:
    run_id: str
    started_at: dt.datetime
    compute_at: dt.date
    inputs: list[InputFile]
    counties_requested: list[str] | None
    status: str = STATUS_RUNNING
    finished_at: dt.datetime | None = None
    rows_read: int | None = None
    rows_quarantined: int | None = None
    rows_kept: int | None = None
    county_versions: list[dict[str, Any]] = field(default_factory=list)
    quarantine_version: int | None = None
    summary_version: int | None = None
    validation: str | None = None
    run_key: str | None = None
    message: str | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    prop64_lines: int | None = None
    prop64_lines_in_tables: int | None = None
    prop64_lines_unplaced: list[dict[str, Any]] = field(default_factory=list)
    run_key_parts: dict[str, Any] | None = None
    grants_version: int | None = None

    def to_arrow(self) -> pa.Table:
        row = {
            RUN_ID: self.run_id,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            COMPUTE_AT: self.compute_at,
            "inputs": [
                {"path": fs.normalize(f.path), "fingerprint": f.fingerprint, "size_bytes": f.size}
                for f in self.inputs
            ],
            "counties_requested": self.counties_requested,
            "rows_read": self.rows_read,
            "rows_quarantined": self.rows_quarantined,
            "rows_kept": self.rows_kept,
            "county_versions": self.county_versions,
            "quarantine_version": self.quarantine_version,
            "summary_version": self.summary_version,
            "validation": self.validation,
            "run_key": self.run_key,
            RELIEF_VERSION: __version__,
            "message": self.message,
            "stage_seconds": json.dumps(self.stage_seconds, sort_keys=True),
            "prop64_lines": self.prop64_lines,
            "prop64_lines_in_tables": self.prop64_lines_in_tables,
            "prop64_lines_unplaced": self.prop64_lines_unplaced,
            "run_key_parts": (
                json.dumps(self.run_key_parts, sort_keys=True) if self.run_key_parts else None
            ),
            "grants_version": self.grants_version,
        }
        return pa.Table.from_pylist([row], schema=RUNS_SCHEMA)


def record(warehouse: Warehouse, run: RunRecord) -> int:
    return append_rows(warehouse.runs, run.to_arrow(), {RUN_ID: run.run_id, "status": run.status})


def record_final(warehouse: Warehouse, row: dict[str, Any], status: str, message: str) -> int:
    """Append a final row for a run from its latest row (recovery closing a dead run)."""
    final = {name: row.get(name) for name in RUNS_SCHEMA.names}
    final.update(
        status=status,
        finished_at=dt.datetime.now(dt.UTC),
        message=message[:4000],
        relief_version=row.get(RELIEF_VERSION) or __version__,
    )
    table = pa.Table.from_pylist([final], schema=RUNS_SCHEMA)
    return append_rows(warehouse.runs, table, {RUN_ID: row[RUN_ID], "status": status})


class LedgerUnreadable(TableUnreadable):
    """The runs ledger cannot be read: no command can tell what is published."""

    def __init__(self, path: Location, detail: str) -> None:
        super().__init__(path, detail)
        self.args = (
            f"the runs ledger {path} cannot be read ({detail}): no command can tell what is "
            "published, and nothing was changed. Restore runs/ from a backup",
        )


def read_runs(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Latest row of every run, oldest run first (the ledger is small: one row per run).

    A run still ``running`` that does not hold the warehouse lock, or whose lock names a
    process that is gone (a killed run leaves its lock behind), died: it is shown as
    ``incomplete``.
    """
    try:
        table = open_table(warehouse.runs)
        if table is None:
            return []
        rows = read_arrow(warehouse.runs, table).to_pylist()
    except TableUnreadable as exc:
        raise LedgerUnreadable(warehouse.runs, exc.detail) from None
    except (OSError, ArrowException) as exc:  # a data file the log names is gone or broken
        if isinstance(exc, PermissionError):
            raise
        raise LedgerUnreadable(warehouse.runs, str(exc).splitlines()[0]) from None
    latest: dict[str, dict[str, Any]] = {}
    order: dict[str, int] = {}
    for position, row in enumerate(rows):
        run_id = row[RUN_ID]
        order.setdefault(run_id, position)
        previous = latest.get(run_id)
        if previous is None or _rank(row) >= _rank(previous):
            latest[run_id] = row
    lock = read_lock(warehouse.root) or {}
    holder = None if holder_is_dead(lock) else lock.get(RUN_ID)
    for row in latest.values():
        if row["status"] == STATUS_RUNNING and row[RUN_ID] != holder:
            row["status"] = STATUS_INCOMPLETE
    return sorted(latest.values(), key=lambda r: (r["started_at"], order[r[RUN_ID]]))


def _rank(row: dict[str, Any]) -> tuple[int, Any]:
    # A final row outranks the 'running' row of the same run whatever the file order.
    finished = row.get("finished_at")
    return (0 if row["status"] == STATUS_RUNNING else 1, finished or row["started_at"])


def run_key_parts(row: dict[str, Any]) -> dict[str, Any]:
    """The parts of a run's key as recorded ({} for a run recorded before they were)."""
    text = row.get("run_key_parts")
    if not text:
        return {}
    try:
        parts = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return parts if isinstance(parts, dict) else {}
