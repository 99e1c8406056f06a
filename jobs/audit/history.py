"""``relief audit history``: one entry per version of a county's table: when, which run, at
which compute-at, with which policy (hash) and inputs (fingerprints), how many rows, and the
run's Great Expectations summary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.audit.common import (
    NONE_SHOWN,
    STATUS_SUCCEEDED,
    TableLog,
    commit_fingerprints,
    commit_text,
    commit_time,
    county_named,
    runs_by_id,
    short_hash,
    table_log,
    table_path,
    text_table,
    validation_summary,
)
from transforms.vocabulary import County

# --- history --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionEntry:
    """One version of a county's table as the audit trail shows it."""

    version: int
    timestamp: dt.datetime | None
    operation: str | None
    run_id: str | None
    compute_at: str | None
    policy_hash: str | None
    input_fingerprints: dict[str, str]
    relief_version: str | None
    rows: int | None
    validation: str | None
    run_status: str | None  # the run's status in the ledger; None: not in the ledger

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "operation": self.operation,
            "run_id": self.run_id,
            "run_status": self.run_status,
            "compute_at": self.compute_at,
            "policy_hash": self.policy_hash,
            "input_fingerprints": self.input_fingerprints,
            "relief_version": self.relief_version,
            "rows": self.rows,
            "validation": self.validation,
        }


def version_entries(log: TableLog, runs: Mapping[str, Mapping[str, Any]]) -> list[VersionEntry]:
    entries = []
    for version in sorted(log.commits):
        commit = log.commits[version]
        run_id = commit_text(commit, "run_id")
        run = runs.get(run_id) if run_id else None
        entries.append(
            VersionEntry(
                version=version,
                timestamp=commit_time(commit),
                operation=commit_text(commit, "operation"),
                run_id=run_id,
                compute_at=commit_text(commit, "compute_at"),
                policy_hash=commit_text(commit, "policy_hash"),
                input_fingerprints=commit_fingerprints(commit),
                relief_version=commit_text(commit, "relief_version"),
                rows=log.rows(version),
                validation=validation_summary(run, commit),
                run_status=None if run is None else str(run["status"]),
            )
        )
    return entries


@dataclass(frozen=True)
class CountyHistory:
    county: County
    path: Path
    entries: list[VersionEntry]

    def to_json(self) -> dict[str, Any]:
        return {
            "county": self.county.slug,
            "table": str(self.path),
            "versions": [e.to_json() for e in self.entries],
        }


def county_history(warehouse: Path, county_name: str) -> CountyHistory:
    """Every version of the county's table, oldest first."""
    county = county_named(county_name)
    path = table_path(warehouse, county)
    log = table_log(path)
    return CountyHistory(county, path, version_entries(log, runs_by_id(warehouse)))


def _inputs_text(fingerprints: Mapping[str, str]) -> str:
    if not fingerprints:
        return NONE_SHOWN
    return ", ".join(f"{Path(p).name}:{short_hash(f)}" for p, f in sorted(fingerprints.items()))


def render_history(history: CountyHistory) -> str:
    header = ["VERSION", "TIMESTAMP (UTC)", "RUN", "COMPUTE-AT", "POLICY", "INPUTS", "ROWS", "GX"]
    rows = []
    for e in history.entries:
        run = e.run_id or "(no run_id: written outside relief)"
        if e.run_id and e.run_status is None:
            run += " (not in ledger)"
        elif e.run_status and e.run_status != STATUS_SUCCEEDED:
            run += f" ({e.run_status})"
        rows.append(
            [
                str(e.version),
                e.timestamp.strftime("%Y-%m-%d %H:%M:%S") if e.timestamp else NONE_SHOWN,
                run,
                e.compute_at or NONE_SHOWN,
                short_hash(e.policy_hash),
                _inputs_text(e.input_fingerprints),
                NONE_SHOWN if e.rows is None else f"{e.rows:,}",
                e.validation or NONE_SHOWN,
            ]
        )
    title = f"{history.county.name.title()}: {len(history.entries)} version(s) of {history.path}"
    return "\n".join([title, *text_table(header, rows)])
