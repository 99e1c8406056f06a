"""``relief audit history``: one entry per version of a county's table: when, which run, at
which compute-at, with which policy (hash) and inputs (fingerprints), how many rows, and the
run's Great Expectations summary; which version readers are served (the one the latest
succeeded run publishes), which newer ones are unpublished, and which are recoveries'
restores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relief.jobs.audit.common import (
    NONE_SHOWN,
    STATUS_SUCCEEDED,
    TableLog,
    commit_fingerprints,
    commit_text,
    commit_time,
    county_named,
    published,
    reader,
    runs_by_id,
    short_hash,
    table_log,
    table_path,
    text_table,
    validation_summary,
)
from relief.jobs.warehouse.fs import Location
from relief.jobs.warehouse.publication import PublishedVersion
from relief.jobs.warehouse.snapshots import Readable
from relief.jobs.warehouse.storage import restore_info
from relief.transforms.columns import (
    COMPUTE_AT,
    INPUT_FINGERPRINTS,
    POLICY_HASH,
    RELIEF_VERSION,
    RUN_ID,
)
from relief.transforms.vocabulary import County

PUBLISHED = "published"
UNPUBLISHED = "unpublished"  # newer than the published version, not rolled back
ROLLED_BACK = "rolled back"  # newer than the published version, undone by a recovery
RESTORE = "restore"  # a recovery's copy of the published version

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
    served: str = ""  # PUBLISHED, UNPUBLISHED (newer than the published version) or ""
    restored_version: int | None = None  # a recovery's restore of this version
    restored_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "served": self.served or None,
            "restored_version": self.restored_version,
            "restored_by": self.restored_by,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "operation": self.operation,
            RUN_ID: self.run_id,
            "run_status": self.run_status,
            COMPUTE_AT: self.compute_at,
            POLICY_HASH: self.policy_hash,
            INPUT_FINGERPRINTS: self.input_fingerprints,
            RELIEF_VERSION: self.relief_version,
            "rows": self.rows,
            "validation": self.validation,
        }


def version_entries(
    log: TableLog,
    runs: Mapping[str, Mapping[str, Any]],
    publication: PublishedVersion | None = None,
) -> list[VersionEntry]:
    entries = []
    newest = restore_info(log.commits.get(log.latest_version, {}))
    rolled_back = publication is not None and (
        log.latest_version == publication.version
        or (newest is not None and newest[1] == publication.version)
    )
    for version in sorted(log.commits):
        commit = log.commits[version]
        run_id = commit_text(commit, RUN_ID)
        run = runs.get(run_id) if run_id else None
        restored = restore_info(commit)
        served = ""
        if publication is not None and version == publication.version:
            served = PUBLISHED
        elif publication is not None and restored and restored[1] == publication.version:
            served = RESTORE
        elif publication is None or version > publication.version:
            served = ROLLED_BACK if rolled_back else UNPUBLISHED
        entries.append(
            VersionEntry(
                version=version,
                timestamp=commit_time(commit),
                operation=commit_text(commit, "operation"),
                run_id=run_id,
                compute_at=commit_text(commit, COMPUTE_AT),
                policy_hash=commit_text(commit, POLICY_HASH),
                input_fingerprints=commit_fingerprints(commit),
                relief_version=commit_text(commit, RELIEF_VERSION),
                rows=log.rows(version),
                validation=validation_summary(run, commit),
                run_status=None if run is None else str(run["status"]),
                served=served,
                restored_version=None if restored is None else restored[1],
                restored_by=None if restored is None else restored[0],
            )
        )
    return entries


@dataclass(frozen=True)
class CountyHistory:
    county: County
    path: Location
    entries: list[VersionEntry]
    published: PublishedVersion | None = None
    publication_run: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "county": self.county.slug,
            "table": str(self.path),
            "published_version": None if self.published is None else self.published.version,
            "published_by": None if self.published is None else self.published.named_by,
            "versions": [e.to_json() for e in self.entries],
        }


def county_history(warehouse: Readable, county_name: str) -> CountyHistory:
    """Every version of the county's table, oldest first."""
    county = county_named(county_name)
    warehouse = reader(warehouse)  # one ledger read for the whole answer
    path = table_path(warehouse, county)
    log = table_log(path)
    publication = published(warehouse)
    entry = publication.county(county.slug)
    return CountyHistory(
        county,
        path,
        version_entries(log, runs_by_id(warehouse), entry),
        entry,
        publication.run_id,
    )


def _inputs_text(fingerprints: Mapping[str, str]) -> str:
    if not fingerprints:
        return NONE_SHOWN
    return ", ".join(f"{Path(p).name}:{short_hash(f)}" for p, f in sorted(fingerprints.items()))


def render_history(history: CountyHistory) -> str:
    header = [
        "VERSION", "SERVED", "TIMESTAMP (UTC)", "RUN", "COMPUTE-AT", "POLICY", "INPUTS", "ROWS",
        "GX",
    ]  # fmt: skip
    rows = []
    for e in history.entries:
        run = e.run_id or "(no run_id: written outside relief)"
        if e.restored_version is not None:
            run = f"restore of version {e.restored_version} by {e.restored_by}"
        elif e.run_id and e.run_status is None:
            run += " (not in ledger)"
        elif e.run_status and e.run_status != STATUS_SUCCEEDED:
            run += f" ({e.run_status})"
        rows.append(
            [
                str(e.version),
                e.served or NONE_SHOWN,
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
    if history.published is not None:
        title += (
            f"; readers are served version {history.published.version}, published by run "
            f"{history.published.named_by}"
        )
    elif history.publication_run is not None:
        title += f"; the latest succeeded run {history.publication_run} publishes no version"
    else:
        title += "; nothing is published (no run has succeeded)"
    return "\n".join([title, *text_table(header, rows)])
