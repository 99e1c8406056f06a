"""The warehouse on disk and Delta commits through delta-rs.

Layout (DESIGN.md):
    <warehouse>/counties/<slug>/    one Delta table per county
    <warehouse>/quarantine/         rejected input lines (DOJ only)
    <warehouse>/runs/               the ledger: rows per run (status 'running', then final)
    <warehouse>/summary/            aggregate figures per run and county
    <warehouse>/grants/             law-pack grants, append-only (DOJ only; grants.py)
    <warehouse>/validation/<run>/   validation page, results.json, GX results (gx/<suite>.json)
    <warehouse>/_staging/<run>/     Parquet written by Spark executors before commit

The warehouse is a local folder or an object-store / HDFS URI (fs.py: a ``Path`` or a
``StorePath``, with the same methods); every access goes through this package.

Executors write Parquet into the run's staging area with Spark's own writer. The driver then
moves each table's files into the table directory (a rename on a local disk, copy and delete on
an object store) and commits
them as ONE Delta version with delta-rs' transaction API. Files in a table directory that no
commit names are invisible to every Delta reader, so a run killed between the move and the
commit leaves the table at its previous version; ``remove_orphans`` deletes such files later.

A table version is only *published* once the run's final ledger row names it (ledger.py,
publication.py): a run killed after some commits leaves versions no reader serves, and the
next run (or ``relief recover``) restores each such table to its published version
(``restore_version``, a new version whose commit says what it restored).

Commits are never retried: if another writer commits to the table between our read of it and
our commit (two runs that bypassed the warehouse lock, e.g. on object storage), ours fails
with ``CommitConflict``, removes the files it moved, and the table stays the other writer's
whole snapshot.

Every read of a table's data goes through :func:`read_arrow` (a native pyarrow file system,
fs.table_filesystem), and every table is opened with :func:`open_table` (fs.delta_uri).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
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

from relief.jobs.runtime import faults
from relief.jobs.warehouse import fs

STAGING = "_staging"
STAGED_PREFIX = "part-relief-"
# Commit metadata of a version written by recovery: it restores the published version.
RESTORE_KEY = "relief_restore"  # value: the run (or "relief recover") that restored it
RESTORED_VERSION_KEY = "restored_version"
UNDONE_RUNS_KEY = "undone_runs"  # comma list of the runs whose versions it undid

# Commit info key Spark's DESCRIBE HISTORY shows (its userMetadata column): the run's metadata
# as JSON, less the policy text (its hash stays), so Spark-native readers see which run wrote
# each version.
USER_METADATA = "userMetadata"

LocationError = fs.LocationError


def commit_properties(
    metadata: Mapping[str, Any], max_commit_retries: int | None = None
) -> CommitProperties:
    custom = dict(metadata)
    shown = {k: v for k, v in custom.items() if k != "policy"}
    custom.setdefault(USER_METADATA, json.dumps(shown, sort_keys=True, default=str))
    return CommitProperties(custom_metadata=custom, max_commit_retries=max_commit_retries)


class CommitConflict(Exception):
    """Another writer committed to the table first; this commit added nothing."""


class WarehouseUnwritable(Exception):
    """The warehouse folder cannot be created or written; the message names it and the fix."""


Location = fs.Location


@dataclass(frozen=True, init=False)
class Warehouse:
    """The warehouse at a local path or a URI (a Path given for a URI is repaired, fs.py)."""

    root: Location

    def __init__(self, root: str | Path | fs.StorePath) -> None:
        location = fs.location(root)
        fs.check_table_location(str(location))
        object.__setattr__(self, "root", location)

    @property
    def counties(self) -> Location:
        return self.root / "counties"

    def county(self, slug: str) -> Location:
        return self.counties / slug

    @property
    def quarantine(self) -> Location:
        return self.root / "quarantine"

    @property
    def runs(self) -> Location:
        return self.root / "runs"

    @property
    def summary(self) -> Location:
        return self.root / "summary"

    @property
    def grants(self) -> Location:
        return self.root / "grants"

    def validation(self, run_id: str) -> Location:
        return self.root / "validation" / run_id

    def staging(self, run_id: str) -> Location:
        return self.root / STAGING / run_id

    def exists(self) -> bool:
        return self.root.is_dir()

    def county_slugs(self) -> list[str]:
        """Counties with a Delta table."""
        return [slug for slug in self.county_dirs() if table_exists(self.county(slug))]

    def county_dirs(self) -> list[str]:
        """Every folder under counties/, with a table or not (a dead run may leave one)."""
        return fs.subdirs(self.counties)

    def staged_runs(self) -> list[str]:
        return fs.subdirs(self.root / STAGING)


def check_writable(root: Location) -> None:
    """Create the warehouse folder if needed and prove a file can be written in it.

    Raises WarehouseUnwritable with one line naming the folder and the fix (a read-only
    warehouse, a path under a file, no permission).
    """
    probe = root / f".relief-write-check-{uuid.uuid4().hex[:8]}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WarehouseUnwritable(
            f"--warehouse {root}: cannot write there ({reason}). Give a folder this user "
            "can write to, or fix its permissions; nothing was written."
        ) from None


# --- opening and reading tables -------------------------------------------------------------


def table_exists(path: Location) -> bool:
    return (path / "_delta_log").is_dir()


class TableUnreadable(Exception):
    """A table whose Delta log cannot be read: a truncated or corrupt commit, or a commit
    naming what is not there. Nothing may be changed in it; a person restores the log."""

    def __init__(self, path: Location, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(
            f"{path}: its Delta log cannot be read ({detail}); nothing was changed. Restore "
            "its _delta_log from a backup; `relief audit verify` lists what is damaged"
        )


class DataFileUnreadable(TableUnreadable):
    """A data file a table version names is missing or is not readable Parquet."""

    def __init__(self, path: Location, version: int, detail: str) -> None:
        super().__init__(path, detail)
        self.version = version
        self.args = (
            f"{path}: version {version} cannot be read: a data file it names is missing or "
            f"damaged ({detail}); nothing was changed. `relief audit verify` lists what is "
            "damaged; restore the file from a backup",
        )


def first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def open_table(path: Location, version: int | None = None) -> DeltaTable | None:
    """The Delta table at ``path`` (at ``version``, default latest); None if there is none.

    Raises TableUnreadable when the log is there but cannot be read (a truncated commit)."""
    uri, options = fs.delta_uri(str(path)), fs.storage_options(str(path))
    try:
        if version is None:
            return DeltaTable(uri, storage_options=options)
        return DeltaTable(uri, version=version, storage_options=options)
    except TableNotFoundError:
        return None
    except PermissionError:
        raise
    except Exception as exc:  # delta-rs' DeltaError, DeltaProtocolError, OSError ...
        raise TableUnreadable(path, first_line(exc)) from None


def read_arrow(
    path: Location,
    table: DeltaTable,
    columns: Sequence[str] | None = None,
    filters: Any = None,
) -> pa.Table:
    """Rows of ``table`` (a snapshot of the table at ``path``), read with a native pyarrow
    file system (fs.table_filesystem: no Python in Arrow's I/O threads).

    Raises DataFileUnreadable when a data file the version names is missing or broken."""
    try:
        return table.to_pyarrow_table(
            columns=list(columns) if columns is not None else None,
            filesystem=fs.table_filesystem(str(path)),
            filters=filters,
        )
    except PermissionError:
        raise
    except (OSError, pa.ArrowException) as exc:
        raise DataFileUnreadable(path, table.version(), first_line(exc)) from None


def commit_history(table: DeltaTable) -> dict[int, dict[str, Any]]:
    """Commit info (run_id, compute_at, policy_hash ... as committed) by version.

    Call it on the *latest* table: a table opened at an older version numbers its history
    relative to that version in deltalake 1.x.
    """
    history: dict[int, dict[str, Any]] = {}
    for entry in table.history():
        version = entry.get("version")
        if isinstance(version, int):
            history[version] = dict(entry)
    return history


def version_rows(table: DeltaTable) -> int | None:
    """Rows in the table's snapshot, from the row counts its files carry in the Delta log."""
    try:
        actions = pa.table(table.get_add_actions(flatten=False))
    except Exception:  # an unreadable old version (log cleaned up): unknown
        return None
    if actions.num_rows == 0:
        return 0
    if "num_records" not in actions.column_names:
        return None
    counts = actions["num_records"].to_pylist()
    if any(c is None for c in counts):
        return None
    return int(sum(counts))


# --- staged Parquet (written by Spark) --------------------------------------------------------


def staged_parquet_files(directory: Location) -> list[Location]:
    """Parquet files Spark wrote under ``directory`` (no _SUCCESS, no .crc)."""
    files: list[Location] = [
        p for p in directory.rglob("*.parquet") if not p.name.startswith((".", "_"))
    ]
    return sorted(files, key=str)


def staged_partitions(directory: Location, column: str) -> dict[str, list[Location]]:
    """Spark's ``partitionBy(column)`` output: partition value -> its Parquet files."""
    result: dict[str, list[Location]] = {}
    prefix = f"{column}="
    for name in fs.subdirs(directory):
        if name.startswith(prefix):
            result[name[len(prefix) :]] = staged_parquet_files(directory / name)
    return result


def _parquet(file: Location) -> pq.ParquetFile:
    if isinstance(file, fs.StorePath):
        return pq.ParquetFile(file.filesystem.open_input_file(file.path))
    return pq.ParquetFile(file)


def unreadable_files(table: DeltaTable) -> list[tuple[str, str]]:
    """(file name, problem) for every data file of ``table``'s snapshot that is missing or
    whose Parquet footer cannot be read: what a reader of that version would fail on."""
    problems: list[tuple[str, str]] = []
    for uri in table.file_uris():
        name = uri.rstrip("/").rsplit("/", 1)[-1]
        filesystem_, path = fs.filesystem(uri)
        try:
            with filesystem_.open_input_file(path) as handle:
                pq.ParquetFile(handle).metadata  # noqa: B018 - reading the footer is the check
        except FileNotFoundError:
            problems.append((name, "missing"))
        except PermissionError:
            raise
        except (OSError, pa.ArrowException) as exc:
            problems.append((name, f"unreadable ({first_line(exc)})"))
    return problems


def parquet_rows(files: Sequence[Location]) -> int:
    return sum(_parquet(f).metadata.num_rows for f in files)


def parquet_schema(file: Location) -> pa.Schema:
    return _parquet(file).schema_arrow


def remove_staging(warehouse: Warehouse, run_id: str) -> bool:
    """Remove the run's staging folder; True if there was one."""
    path = warehouse.staging(run_id)
    if not path.exists():
        return False
    fs.remove_tree(path)
    return True


# --- commits ----------------------------------------------------------------------------------


def _add_action(table: Location, file: Location) -> AddAction:
    meta = _parquet(file).metadata
    stat = file.stat()
    return AddAction(
        path=file.relative_to(table).as_posix(),  # type: ignore[arg-type]
        size=stat.st_size,
        partition_values={},
        modification_time=int(stat.st_mtime * 1000),
        data_change=True,
        # Row counts only: column statistics would copy names and dates into the log.
        stats=json.dumps({"numRecords": meta.num_rows}),
    )


def commit_files(
    table: Location,
    files: Sequence[Location],
    run_id: str,
    metadata: Mapping[str, Any],
    mode: str = "overwrite",
    schema: pa.Schema | None = None,
) -> int:
    """Move staged Parquet ``files`` into ``table`` and commit them as one Delta version.

    Returns the new version. ``mode`` is "overwrite" (a full snapshot: the previous files are
    removed in the same commit) or "append". With no files, an overwrite commits an empty
    version (the county has no rows this run) with ``schema``, which is also the table's
    schema when given (else the first file's). The commit carries ``metadata`` (run_id,
    fingerprints, policy hash, ...) as commit info, readable in ``DeltaTable.history()``.
    Concurrent commits are not retried, so two runs never interleave: if another writer
    committed since the table was read, ``CommitConflict`` is raised and the moved files are
    removed again.
    """
    if schema is None:
        if not files:
            raise ValueError(f"nothing to commit to {table}: no files and no schema")
        schema = parquet_schema(files[0])
    if not files and mode != "overwrite":
        raise ValueError(f"nothing to append to {table}")
    delta_schema = DeltaSchema.from_arrow(schema)
    for file in files:
        if DeltaSchema.from_arrow(parquet_schema(file)) != delta_schema:
            raise ValueError(
                f"{file}: its schema differs from the table schema the run commits to {table}"
            )
    table.mkdir(parents=True, exist_ok=True)
    moved: list[Location] = []
    for index, source in enumerate(files):
        target = table / f"{STAGED_PREFIX}{run_id}-{index:05d}.parquet"
        fs.move_file(source, target)
        moved.append(target)
    if moved:
        faults.point("staged_files_moved")
    actions: list[AddAction | RemoveAction] = [_add_action(table, f) for f in moved]
    properties = commit_properties(metadata, max_commit_retries=0)
    existing = open_table(table)
    try:
        if existing is None:
            create_table_with_add_actions(
                fs.delta_uri(str(table)),
                delta_schema,
                [a for a in actions if isinstance(a, AddAction)],
                mode="error",
                storage_options=fs.storage_options(str(table)),
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


def append_rows(table: Location, rows: pa.Table, metadata: Mapping[str, Any]) -> int:
    """Append a small driver-side table (ledger rows, summaries) as one commit."""
    write_deltalake(
        fs.delta_uri(str(table)),
        rows,
        mode="append",
        schema_mode="merge",
        storage_options=fs.storage_options(str(table)),
        commit_properties=commit_properties(metadata),
    )
    latest = open_table(table)
    assert latest is not None
    return latest.version()


def restore_version(table: Location, version: int, metadata: Mapping[str, Any]) -> int:
    """Commit a new version of ``table`` whose snapshot is ``version``'s; returns it.

    The commit carries ``metadata`` (RESTORE_KEY, RESTORED_VERSION_KEY, ...), so the audit
    trail tells a recovery's restore from a run's commit.
    """
    current = open_table(table)
    if current is None:
        raise ValueError(f"{table}: no Delta table to restore")
    read_version = current.version()
    current.restore(
        version,
        commit_properties=commit_properties(metadata, max_commit_retries=0),
    )
    return read_version + 1


def remove_table(table: Location) -> None:
    """Delete a table folder and everything in it (a table no succeeded run published)."""
    fs.remove_tree(table)


def restore_info(commit: Mapping[str, Any]) -> tuple[str, int] | None:
    """(who restored, restored version) when the commit is a relief restore, else None."""
    who = commit.get(RESTORE_KEY)
    restored = commit.get(RESTORED_VERSION_KEY)
    if not who or restored is None:
        return None
    try:
        return str(who), int(restored)
    except (TypeError, ValueError):
        return None


def remove_orphans(table: Location, keep_run: str | None = None) -> list[str]:
    """Delete data files at the top of ``table`` that no Delta version ever referenced.

    They are left by runs killed between moving files and committing (relief's
    ``part-relief-<run>-*`` files), or by a killed delta-rs append (the summary and ledger
    tables). Files of ``keep_run`` (the current run) are kept. Returns the names removed.
    Only the run holding the warehouse lock may call this: a file another writer moved but
    has not committed yet looks exactly like an orphan.
    """
    if not table.is_dir():
        return []
    # A directory without a Delta log counts too: a run killed before creating a new
    # county's table leaves its moved files there, referenced by nothing.
    referenced = _referenced_files(table)
    removed = []
    for file in _matching(table, "*.parquet"):
        if file.name in referenced:
            continue
        if keep_run and file.name.startswith(f"{STAGED_PREFIX}{keep_run}-"):
            continue
        file.unlink()
        removed.append(file.name)
    return removed


def _matching(folder: Location, pattern: str) -> list[Location]:
    """Files directly in ``folder`` whose name matches ``pattern``, in name order."""
    found: list[Location] = list(folder.glob(pattern))
    return sorted(found, key=str)


def orphan_run(name: str) -> str | None:
    """The run id in a relief file name (part-relief-<run_id>-<NNNNN>.parquet), else None."""
    if not name.startswith(STAGED_PREFIX):
        return None
    return name.removeprefix(STAGED_PREFIX).rsplit("-", 1)[0]


def _referenced_files(table: Location) -> set[str]:
    """Names of the files any Delta version of ``table`` added: every JSON commit still in the
    log, and the current snapshot (a checkpoint may stand in for commits the log expired).
    relief's files sit at the top of the table directory, so a name identifies a file."""
    paths: list[str] = []
    log = table / "_delta_log"
    for entry in _matching(log, "*.json") if log.is_dir() else []:
        for line in entry.read_text().splitlines():
            action = json.loads(line) if line.strip() else {}
            if "add" in action:
                paths.append(action["add"]["path"])
    current = open_table(table) if log.is_dir() else None
    if current is not None:
        paths.extend(current.file_uris())
    return {unquote(path.rstrip("/").rsplit("/", 1)[-1]) for path in paths}
