"""``relief audit runs``: the runs ledger, one line per run with its final status.

The ledger keeps one row per state change of a run; a run is shown by its latest row
(``ledger.read_runs``: a ``running`` row with no live run behind it is ``incomplete``). The
run readers are served is marked ``published``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relief.jobs.audit.common import NONE_SHOWN, reader, text_table
from relief.jobs.warehouse.snapshots import Readable
from relief.transforms.columns import COMPUTE_AT, RUN_ID


@dataclass(frozen=True)
class RunLine:
    run_id: str
    status: str
    published: bool
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    compute_at: dt.date | None
    rows_read: int | None
    rows_kept: int | None
    rows_quarantined: int | None
    counties_written: int
    counties_carried: int
    validation: str | None
    seconds: dict[str, float]
    message: str | None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_json(self) -> dict[str, Any]:
        return {
            RUN_ID: self.run_id,
            "status": self.status,
            "published": self.published,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "seconds": self.duration,
            COMPUTE_AT: _iso(self.compute_at),
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_quarantined": self.rows_quarantined,
            "counties_written": self.counties_written,
            "counties_carried": self.counties_carried,
            "validation": self.validation,
            "stage_seconds": self.seconds,
            "message": self.message,
        }


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def run_line(row: Mapping[str, Any], published_run: str | None) -> RunLine:
    versions = row.get("county_versions") or []
    try:
        seconds = json.loads(row.get("stage_seconds") or "{}")
    except ValueError:
        seconds = {}
    return RunLine(
        run_id=str(row[RUN_ID]),
        status=str(row["status"]),
        published=row[RUN_ID] == published_run,
        started_at=row.get("started_at"),
        finished_at=row.get("finished_at"),
        compute_at=row.get(COMPUTE_AT),
        rows_read=row.get("rows_read"),
        rows_kept=row.get("rows_kept"),
        rows_quarantined=row.get("rows_quarantined"),
        counties_written=sum(1 for v in versions if not v.get("carried_from")),
        counties_carried=sum(1 for v in versions if v.get("carried_from")),
        validation=row.get("validation") or None,
        seconds={str(k): float(v) for k, v in seconds.items()},
        message=row.get("message") or None,
    )


def list_runs(warehouse: Readable) -> list[RunLine]:
    """Every run of the ledger, oldest first. AuditError for a missing warehouse."""
    context = reader(warehouse)
    rows = list(context.runs)
    published = context.publication.run_id
    return [run_line(row, published) for row in rows]


def _count(value: int | None) -> str:
    return NONE_SHOWN if value is None else f"{value:,}"


def _when(value: dt.datetime | None) -> str:
    return NONE_SHOWN if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _took(seconds: float | None) -> str:
    if seconds is None:
        return NONE_SHOWN
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def render_runs(lines: Sequence[RunLine], warehouse: Path) -> str:
    if not lines:
        return f"runs ledger of {warehouse}: no run yet"
    header = ("run", "status", "started (UTC)", "took", "compute-at", "read", "kept",
              "quarantined", "counties", "validation")  # fmt: skip
    rows = []
    for line in lines:
        status = line.status + (" (published)" if line.published else "")
        counties = str(line.counties_written) + (
            f" +{line.counties_carried} kept" if line.counties_carried else ""
        )
        rows.append(
            (
                line.run_id,
                status,
                _when(line.started_at),
                _took(line.duration),
                _iso(line.compute_at) or NONE_SHOWN,
                _count(line.rows_read),
                _count(line.rows_kept),
                _count(line.rows_quarantined),
                counties,
                line.validation or NONE_SHOWN,
            )
        )
    published = next((line.run_id for line in lines if line.published), None)
    tail = (
        f"readers are served run {published}"
        if published
        else "no run has succeeded: readers are served nothing"
    )
    return "\n".join(
        [f"runs ledger of {warehouse}: {len(lines)} run(s); {tail}", *text_table(header, rows)]
    )
