"""The runs ledger: a Delta table with one row per run state change.

A run appends a ``running`` row when it starts and its final row (``succeeded``,
``failed``, ``failed_validation``, ``no_change``) when it ends; the ledger's view of a run is
its latest row. A run whose latest row is still ``running`` and that holds no lock is
incomplete: it died. The final row is written last, after every county commit, and names the
version each county table got.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from deltalake import DeltaTable

from jobs import __version__
from jobs.warehouse.lock import holder_is_dead, read_lock
from jobs.warehouse.storage import Warehouse, append_rows, open_table

if TYPE_CHECKING:  # jobs.warehouse.inputs imports pyspark; readers of the ledger must not need it
    from jobs.warehouse.inputs import InputFile

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
        ("policy_hash", pa.string()),
    ]
)
RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("status", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("compute_at", pa.date32()),
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
        ("relief_version", pa.string()),
        ("message", pa.string()),
        ("stage_seconds", pa.string()),  # JSON {stage: seconds}
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

    def to_arrow(self) -> pa.Table:
        row = {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "compute_at": self.compute_at,
            "inputs": [
                {"path": f.path, "fingerprint": f.fingerprint, "size_bytes": f.size}
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
            "relief_version": __version__,
            "message": self.message,
            "stage_seconds": json.dumps(self.stage_seconds, sort_keys=True),
        }
        return pa.Table.from_pylist([row], schema=RUNS_SCHEMA)


def record(warehouse: Warehouse, run: RunRecord) -> int:
    return append_rows(warehouse.runs, run.to_arrow(), {"run_id": run.run_id, "status": run.status})


def read_runs(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Latest row of every run, oldest run first (the ledger is small: one row per run).

    A run still ``running`` that does not hold the warehouse lock, or whose lock names a
    process that is gone (a killed run leaves its lock behind), died: it is shown as
    ``incomplete``.
    """
    table = open_table(warehouse.runs)
    if table is None:
        return []
    rows = table.to_pyarrow_table().to_pylist()
    latest: dict[str, dict[str, Any]] = {}
    order: dict[str, int] = {}
    for position, row in enumerate(rows):
        run_id = row["run_id"]
        order.setdefault(run_id, position)
        previous = latest.get(run_id)
        if previous is None or _rank(row) >= _rank(previous):
            latest[run_id] = row
    lock = read_lock(warehouse.root) or {}
    holder = None if holder_is_dead(lock) else lock.get("run_id")
    for row in latest.values():
        if row["status"] == STATUS_RUNNING and row["run_id"] != holder:
            row["status"] = STATUS_INCOMPLETE
    return sorted(latest.values(), key=lambda r: (r["started_at"], order[r["run_id"]]))


def _rank(row: dict[str, Any]) -> tuple[int, Any]:
    # A final row outranks the 'running' row of the same run whatever the file order.
    finished = row.get("finished_at")
    return (0 if row["status"] == STATUS_RUNNING else 1, finished or row["started_at"])


def last_successful(warehouse: Warehouse) -> dict[str, Any] | None:
    done = [r for r in read_runs(warehouse) if r["status"] in (STATUS_SUCCEEDED,)]
    return done[-1] if done else None


def runs_table(warehouse: Warehouse) -> DeltaTable | None:
    return open_table(warehouse.runs)
