"""What every audit question needs: the runs ledger and the county tables' logs (no Spark)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable

from relief.jobs.config import ConfigError
from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.fs import Location
from relief.jobs.warehouse.publication import Publication
from relief.jobs.warehouse.snapshots import (
    PullError,
    Readable,
    ReaderContext,
    check_table_access,
    commit_history,
    open_reader,
    open_warehouse,
    resolve_county,
)
from relief.jobs.warehouse.storage import (
    Warehouse,
    open_table,
    read_arrow,
    table_exists,
    version_rows,
)
from relief.transforms.columns import INPUT_FINGERPRINTS
from relief.transforms.vocabulary import County

STATUS_RUNNING = ledger.STATUS_RUNNING
STATUS_SUCCEEDED = ledger.STATUS_SUCCEEDED
STATUS_INCOMPLETE = ledger.STATUS_INCOMPLETE

NONE_SHOWN = "-"


class AuditError(Exception):
    """An audit question that cannot be answered; the message says why and what to do.

    ``exit_code``: 1 (the warehouse lacks what was asked for) or 2 (bad usage: unknown county,
    version or record).
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --- the runs ledger ------------------------------------------------------------------------


def reader(warehouse: Readable) -> ReaderContext:
    """The command's one view of the warehouse (snapshots.ReaderContext): opened here once,
    then passed down; AuditError (exit 2) for a bad or missing warehouse."""
    try:
        return open_reader(warehouse)
    except PullError as exc:
        raise AuditError(str(exc), exc.exit_code) from None


def warehouse_at(location: Readable) -> Warehouse:
    """The Warehouse at ``location``; AuditError (exit 2) for a bad or missing one."""
    if isinstance(location, ReaderContext):
        return location.warehouse
    try:
        return open_warehouse(location)
    except PullError as exc:
        raise AuditError(str(exc), exc.exit_code) from None


def read_ledger(warehouse: Readable) -> list[dict[str, Any]]:
    """Latest row of every run, oldest first (the context's one read of the ledger)."""
    return list(reader(warehouse).runs)


def published(warehouse: Readable) -> Publication:
    """What readers are served (jobs/warehouse/publication.py), as the context read it."""
    return reader(warehouse).publication


def runs_by_id(warehouse: Readable) -> dict[str, dict[str, Any]]:
    return reader(warehouse).runs_by_id()


def latest_succeeded_run(warehouse: Readable) -> dict[str, Any] | None:
    return reader(warehouse).latest_succeeded()


def validation_summary(run: Mapping[str, Any] | None, commit: Mapping[str, Any]) -> str | None:
    """The one-line GX summary: the run's ledger row, else the commit's ``validation`` key."""
    if run is not None and run.get("validation"):
        return str(run["validation"])
    value = commit.get("validation")
    return str(value) if value else None


# --- reading county tables ------------------------------------------------------------------


def county_named(name: str) -> County:
    try:
        return resolve_county(name)
    except PullError as exc:
        raise AuditError(str(exc), exc.exit_code) from None
    except ConfigError as exc:
        raise AuditError(str(exc), 2) from None


def table_path(warehouse: Readable, county: County) -> Location:
    home = warehouse_at(warehouse)
    path = home.county(county.slug)
    try:  # a linked or escaping table, or one this account may not read: refused plainly
        check_table_access(home, path)
    except PullError as exc:
        raise AuditError(str(exc), exc.exit_code) from None
    if not table_exists(path):
        raise AuditError(
            f"{county.name.title()} has no county table at {path}: no run has written one "
            "(every statewide run writes a table for each county)"
        )
    return path


@dataclass(frozen=True)
class TableLog:
    """A Delta table's latest state and the commit info of each of its versions."""

    path: Location
    latest: DeltaTable
    latest_version: int
    commits: dict[int, dict[str, Any]]

    def at(self, version: int) -> DeltaTable:
        if version == self.latest_version:
            return self.latest
        table = open_table(self.path, version)
        assert table is not None
        return table

    def read(
        self, version: int, columns: Sequence[str] | None = None, filters: Any = None
    ) -> pa.Table:
        """Rows of a version (only ``columns`` that exist in it, when given)."""
        table = self.at(version)
        if columns is not None:
            present = {f.name for f in table.schema().fields}
            columns = [c for c in columns if c in present]
        return read_arrow(self.path, table, columns, filters)

    def check_version(self, version: int, label: str) -> None:
        if not 0 <= version <= self.latest_version:
            raise AuditError(
                f"{label} has versions 0 to {self.latest_version}; there is no version {version}",
                exit_code=2,
            )

    def rows(self, version: int) -> int | None:
        """Rows in the version, from the row counts its files carry in the Delta log."""
        try:
            return version_rows(self.at(version))
        except Exception:  # an unreadable old version (log cleaned up): unknown
            return None


def table_log(path: Location) -> TableLog:
    latest = open_table(path)
    assert latest is not None, path
    version = latest.version()
    # commit_history reads the *latest* table: older snapshots number history relative to
    # themselves in deltalake 1.x.
    return TableLog(path, latest, version, commit_history(latest))


def column_value(row: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in row and row[name] is not None:
            return row[name]
    return None


def commit_time(commit: Mapping[str, Any]) -> dt.datetime | None:
    value = commit.get("timestamp")
    if not isinstance(value, int | float):
        return None
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)


def commit_fingerprints(commit: Mapping[str, Any]) -> dict[str, str]:
    value = commit.get(INPUT_FINGERPRINTS)
    if not value:
        return {}
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return {"?": str(value)}
    if not isinstance(parsed, Mapping):
        return {"?": str(value)}
    return {str(k): str(v) for k, v in parsed.items()}


def commit_text(commit: Mapping[str, Any], key: str) -> str | None:
    value = commit.get(key)
    return None if value is None or value == "" else str(value)


def short_hash(value: str | None, width: int = 12) -> str:
    return NONE_SHOWN if not value else value[:width]


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [str(v).ljust(w) for v, w in zip(r, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines
