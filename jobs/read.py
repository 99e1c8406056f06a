"""Reading the published county tables from Python: what `relief county pull` reads, as
pyarrow tables, without Spark and without aborting at exit.

    from relief.jobs.read import published_tables

    for county, table in published_tables("/data/relief/warehouse").items():
        rows = table.read()                  # pyarrow.Table, the published version, input order
        table.version, table.run_id          # which version, written by which run
        table.history()                      # every version's commit (run_id, compute_at, ...)

Why not ``deltalake.DeltaTable(path).to_pyarrow_table()``: it serves the table's *newest*
version, which is not the published one while a run is between commits or after one died
(the runs ledger defines what is published, docs/DESIGN.md), and delta-rs' default reader
hands Arrow's I/O threads a Python file system, so a script that exits while those threads
still hold its buffers can abort with "terminate called without an active exception"
(exit 134; docs/upstream-delta-rs-abort.md). This module reads through relief's own readers
(jobs/warehouse/storage.read_arrow: a native pyarrow file system).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.fs import Location, StorePath
from relief.jobs.warehouse.publication import Publication, PublishedVersion, publication_of
from relief.jobs.warehouse.snapshots import in_input_order, open_warehouse
from relief.jobs.warehouse.storage import commit_history, open_table, read_arrow

__all__ = ["PublishedTable", "published_table", "published_tables"]


@dataclass(frozen=True)
class PublishedTable:
    """One county table at the version the runs ledger publishes."""

    county: str  # the county's slug, e.g. "los-angeles"
    path: Location
    published: PublishedVersion

    @property
    def version(self) -> int:
        return self.published.version

    @property
    def run_id(self) -> str:
        """The run that wrote this version."""
        return self.published.written_by

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        """The published version's rows in the extract's order (only ``columns`` if given)."""
        table = open_table(self.path, self.version)
        if table is None:
            raise FileNotFoundError(f"{self.path}: no Delta table (see `relief audit verify`)")
        return in_input_order(read_arrow(self.path, table, columns))

    def history(self) -> list[dict[str, Any]]:
        """Every version's commit, newest first; relief's keys (run_id, compute_at,
        policy_hash, input_fingerprints ...) included."""
        table = open_table(self.path)
        if table is None:
            raise FileNotFoundError(f"{self.path}: no Delta table (see `relief audit verify`)")
        commits = commit_history(table)
        return [commits[v] for v in sorted(commits, reverse=True)]


def _publication(warehouse: str | Path | StorePath) -> tuple[Any, Publication]:
    home = open_warehouse(warehouse)
    return home, publication_of(ledger.read_runs(home))


def published_tables(warehouse: str | Path | StorePath) -> dict[str, PublishedTable]:
    """Every county table the latest succeeded run publishes, by county slug (the ledger is
    read once: every table is of the same publication)."""
    home, publication = _publication(warehouse)
    return {
        slug: PublishedTable(slug, home.county(slug), entry)
        for slug, entry in sorted(publication.counties.items())
    }


def published_table(warehouse: str | Path | StorePath, county: str) -> PublishedTable:
    """One county's published table; ``county`` is a slug (``los-angeles``) or a name."""
    from relief.jobs.warehouse.snapshots import resolve_county

    slug = resolve_county(county).slug
    tables = published_tables(warehouse)
    if slug not in tables:
        raise KeyError(f"{county}: no published version (has a run succeeded?)")
    return tables[slug]
