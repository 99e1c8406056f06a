"""The warehouse on disk and Delta commits through delta-rs.

Layout (DESIGN.md):
    <warehouse>/counties/<slug>/    one Delta table per county
    <warehouse>/quarantine/         rejected input lines (DOJ only)
    <warehouse>/runs/               the ledger: rows per run (status 'running', then final)
    <warehouse>/summary/            aggregate figures per run and county
    <warehouse>/validation/<run>/   Great Expectations results and Data Docs
    <warehouse>/_staging/<run>/     Parquet written by Spark executors before commit

Executors write Parquet into the run's staging area with Spark's own writer. The driver then
moves each table's files into the table directory (a rename on one file system) and commits
them as ONE Delta version with delta-rs' transaction API. Files in a table directory that no
commit names are invisible to every Delta reader, so a run killed between the move and the
commit leaves the table at its previous version; ``remove_orphans`` deletes such files later.

Commits are never retried: if another writer commits to the table between our read of it and
our commit (two runs that bypassed the warehouse lock, e.g. on object storage), ours fails
with ``CommitConflict``, removes the files it moved, and the table stays the other writer's
whole snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from jobs import faults

STAGING = "_staging"
STAGED_PREFIX = "part-relief-"


class CommitConflict(Exception):
    """Another writer committed to the table first; this commit added nothing."""


@dataclass(frozen=True)
class Warehouse:
    root: Path

    @property
    def counties(self) -> Path:
        return self.root / "counties"

    def county(self, slug: str) -> Path:
        return self.counties / slug

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def summary(self) -> Path:
        return self.root / "summary"

    def validation(self, run_id: str) -> Path:
        return self.root / "validation" / run_id

    def staging(self, run_id: str) -> Path:
        return self.root / STAGING / run_id

    def county_slugs(self) -> list[str]:
        if not self.counties.is_dir():
            return []
        return sorted(p.name for p in self.counties.iterdir() if (p / "_delta_log").is_dir())


def open_table(path: Path) -> DeltaTable | None:
    try:
        return DeltaTable(str(path))
    except TableNotFoundError:
        return None


def staged_parquet_files(directory: Path) -> list[Path]:
    """Parquet files Spark wrote under ``directory`` (no _SUCCESS, no .crc)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*.parquet") if not p.name.startswith((".", "_")))


def staged_partitions(directory: Path, column: str) -> dict[str, list[Path]]:
    """Spark's ``partitionBy(column)`` output: partition value -> its Parquet files."""
    result: dict[str, list[Path]] = {}
    prefix = f"{column}="
    if not directory.is_dir():
        return result
    for child in sorted(directory.iterdir()):
        if child.is_dir() and child.name.startswith(prefix):
            value = child.name[len(prefix) :]
            result[value] = staged_parquet_files(child)
    return result


def _add_action(table: Path, file: Path) -> AddAction:
    meta = pq.read_metadata(file)
    stat = file.stat()
    return AddAction(
        path=file.relative_to(table).as_posix(),
        size=stat.st_size,
        partition_values={},
        modification_time=int(stat.st_mtime * 1000),
        data_change=True,
        # Row counts only: column statistics would copy names and dates into the log.
        stats=json.dumps({"numRecords": meta.num_rows}),
    )


def commit_files(
    table: Path,
    files: list[Path],
    run_id: str,
    metadata: Mapping[str, Any],
    mode: str = "overwrite",
) -> int:
    """Move staged Parquet ``files`` into ``table`` and commit them as one Delta version.

    Returns the new version. ``mode`` is "overwrite" (a full snapshot: the previous files are
    removed in the same commit) or "append". The commit carries ``metadata`` (run_id,
    fingerprints, policy hash, ...) as commit info, readable in ``DeltaTable.history()``.
    Concurrent commits are not retried, so two runs never interleave: if another writer
    committed since the table was read, ``CommitConflict`` is raised and the moved files are
    removed again.
    """
    if not files:
        raise ValueError(f"nothing to commit to {table}")
    schema = pq.read_schema(files[0])
    table.mkdir(parents=True, exist_ok=True)
    moved: list[Path] = []
    for index, source in enumerate(files):
        target = table / f"{STAGED_PREFIX}{run_id}-{index:05d}.parquet"
        os.replace(source, target)
        moved.append(target)
    faults.point("staged_files_moved")
    actions: list[AddAction | RemoveAction] = [_add_action(table, f) for f in moved]
    properties = CommitProperties(custom_metadata=dict(metadata), max_commit_retries=0)
    existing = open_table(table)
    try:
        if existing is None:
            create_table_with_add_actions(
                str(table),
                DeltaSchema.from_arrow(schema),
                [a for a in actions if isinstance(a, AddAction)],
                mode="error",
                commit_properties=properties,
            )
            return 0
        read_version = existing.version()
        existing.create_write_transaction(actions, mode, schema, commit_properties=properties)
    except DeltaError as exc:
        # Lost the race: a version was committed first (or, for a new table, the table was
        # created first). Anything else is not a conflict and is raised as it is.
        if not isinstance(exc, CommitFailedError) and not (
            existing is None and open_table(table) is not None
        ):
            raise
        referenced = _referenced_files(table)
        for file in moved:
            if file.name not in referenced:
                file.unlink(missing_ok=True)
        raise CommitConflict(
            f"run {run_id} could not commit to {table}: another writer committed to it "
            f"first ({exc}). Nothing of run {run_id} was committed to this table; the table "
            "is the other writer's whole snapshot."
        ) from exc
    # Without retries the commit lands right after the version it was built on, whatever
    # another writer commits a moment later.
    return read_version + 1


def append_rows(table: Path, rows: pa.Table, metadata: Mapping[str, Any]) -> int:
    """Append a small driver-side table (ledger rows, summaries) as one commit."""
    write_deltalake(
        str(table),
        rows,
        mode="append",
        schema_mode="merge",
        commit_properties=CommitProperties(custom_metadata=dict(metadata)),
    )
    version = DeltaTable(str(table)).version()
    assert version is not None
    return version


def remove_orphans(table: Path, keep_run: str | None = None) -> int:
    """Delete relief-staged files in ``table`` that no Delta version ever referenced.

    They are left by runs killed between moving files and committing. Files of ``keep_run``
    (the current run) are kept. Only the run holding the warehouse lock may call this: a file
    another writer moved but has not committed yet looks exactly like an orphan.
    """
    if not table.is_dir():
        return 0
    # A directory without a Delta log counts too: a run killed before creating a new
    # county's table leaves its moved files there, referenced by nothing.
    referenced = _referenced_files(table)
    removed = 0
    for file in table.glob(f"{STAGED_PREFIX}*.parquet"):
        if file.name in referenced:
            continue
        if keep_run and file.name.startswith(f"{STAGED_PREFIX}{keep_run}-"):
            continue
        file.unlink()
        removed += 1
    return removed


def _referenced_files(table: Path) -> set[str]:
    """Names of the files any Delta version of ``table`` added: every JSON commit still in the
    log, and the current snapshot (a checkpoint may stand in for commits the log expired).
    relief's files sit at the top of the table directory, so a name identifies a file."""
    paths: list[str] = []
    for entry in sorted((table / "_delta_log").glob("*.json")):
        for line in entry.read_text().splitlines():
            action = json.loads(line) if line.strip() else {}
            if "add" in action:
                paths.append(action["add"]["path"])
    current = open_table(table)
    if current is not None:
        paths.extend(current.file_uris())
    return {unquote(path.rstrip("/").rsplit("/", 1)[-1]) for path in paths}


def clear_staging(warehouse: Warehouse, keep_run: str | None = None) -> list[str]:
    """Remove staging folders of earlier runs (a dead run leaves its own behind)."""
    root = warehouse.root / STAGING
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for child in root.iterdir():
        if child.name != keep_run:
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    return removed


def now_micros() -> int:
    return int(time.time() * 1_000_000)
