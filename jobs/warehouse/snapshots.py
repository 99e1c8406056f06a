"""Reading one county's Delta table: the version asked for, rows in input order, its commit.

No Spark: counties and auditors read their tables with delta-rs and pyarrow only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable

from jobs.config import load_counties
from jobs.warehouse.storage import Warehouse
from transforms.columns import (
    INPUT_INDEX,
    RECORD_ID,
    SOURCE_LINE,
)
from transforms.vocabulary import Counties, County, UnknownCounty


class PullError(Exception):
    """A pull that cannot be done; the message says why and what to do. exit_code: 1 or 2."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --- finding and reading the county's table ------------------------------------------------


def resolve_county(name: str, counties: Counties | None = None) -> County:
    """The county a person named (Counties.resolve: name, slug or DOJ code, any case, with or
    without "County"); unknown: PullError exit 2 with a did-you-mean."""
    counties = counties or load_counties()
    try:
        return counties.require(name)
    except UnknownCounty as exc:
        raise PullError(str(exc), exit_code=2) from None


def county_table_path(warehouse: Path, county: County) -> Path:
    return Warehouse(warehouse).county(county.slug)


@dataclass(frozen=True)
class CountySnapshot:
    """One version of a county's table, rows in input order, with its commit metadata."""

    county: County
    path: Path
    version: int
    latest_version: int
    commit: Mapping[str, Any]
    table: pa.Table

    @property
    def run_id(self) -> str | None:
        value = self.commit.get("run_id")
        return str(value) if value is not None else None

    @property
    def compute_at(self) -> dt.date | None:
        value = self.commit.get("compute_at")
        if not value:
            return None
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return None

    def require_compute_at(self) -> dt.date:
        day = self.compute_at
        if day is None:
            raise PullError(
                f"{self.path}: version {self.version} has no compute_at in its commit "
                "metadata; ages and 'years since' cannot be measured"
            )
        return day


def commit_history(table: DeltaTable) -> dict[int, dict[str, Any]]:
    """Commit info (run_id, compute_at, policy_hash ... as committed) by version."""
    # history() of the *latest* table: a table opened at an older version numbers its
    # history relative to that version in deltalake 1.x.
    history: dict[int, dict[str, Any]] = {}
    for entry in table.history():
        version = entry.get("version")
        if isinstance(version, int):
            history[version] = dict(entry)
    return history


def in_input_order(table: pa.Table) -> pa.Table:
    """Rows sorted by (INPUT_INDEX, SOURCE_LINE), the extract's own order."""
    keys = [c for c in (INPUT_INDEX, SOURCE_LINE, RECORD_ID) if c in table.column_names]
    if not keys or table.num_rows == 0:
        return table
    return table.sort_by([(k, "ascending") for k in keys])


def open_snapshot(
    warehouse: Path,
    county: County,
    version: int | None = None,
    run_id: str | None = None,
) -> CountySnapshot:
    """Read ``<warehouse>/counties/<slug>`` (latest, a version, or a run's version)."""
    if version is not None and run_id is not None:
        raise PullError("give --version or --run, not both", exit_code=2)
    if not warehouse.is_dir():
        raise PullError(f"{warehouse}: no such warehouse directory", exit_code=2)
    path = county_table_path(warehouse, county)
    label = county.name.title()
    if not (path / "_delta_log").is_dir():
        raise PullError(
            f"{label} has no county table at {path}: no run has written one (a run writes a "
            "county's table only when the extract holds a Prop 64 conviction there)"
        )
    try:
        latest = DeltaTable(str(path))
        latest_version = latest.version()
        history = commit_history(latest)
        if run_id is not None:
            matches = [v for v, c in history.items() if c.get("run_id") == run_id]
            if not matches:
                known = ", ".join(
                    f"{c.get('run_id')} (version {v})"
                    for v, c in sorted(history.items())
                    if c.get("run_id")
                )
                raise PullError(
                    f"run {run_id!r} wrote no version of {label}'s table. "
                    f"Runs in its history: {known or 'none recorded'}",
                    exit_code=2,
                )
            version = max(matches)
        if version is None:
            version = latest_version
        if not 0 <= version <= latest_version:
            raise PullError(
                f"{label}'s table has versions 0 to {latest_version}; there is no version "
                f"{version}",
                exit_code=2,
            )
        snapshot = latest if version == latest_version else DeltaTable(str(path), version=version)
        table = snapshot.to_pyarrow_table()
    except PermissionError as exc:
        raise PullError(f"cannot read {path}: {exc}") from None
    except PullError:
        raise
    except Exception as exc:  # deltalake raises its own error types for a bad table/version
        raise PullError(f"cannot read version {version} of {path}: {exc}") from None
    return CountySnapshot(
        county=county,
        path=path,
        version=version,
        latest_version=latest_version,
        commit=history.get(version, {}),
        table=in_input_order(table),
    )
