"""Recovery: after a run died (or failed after committing), bring the warehouse back to what
the ledger publishes.

Run at the start of every run, under the warehouse lock, and by ``relief recover``. Steps:

1. dead runs: ledger rows still ``running`` whose run holds no lock (we hold it);
2. staging: every ``_staging/<run>`` folder but the current run's is removed;
3. orphans: in every table folder (counties, quarantine, summary, ledger), data files no
   Delta version names are removed (a run killed between moving its files and committing);
4. versions: every table whose newest version is not its published one (publication.py) is
   restored to it — a new version with the published snapshot, whose commit metadata names
   the restore (storage.RESTORE_KEY) so ``relief audit verify`` accounts for it — or, when no
   succeeded run ever published the table, its folder is removed. Only versions written by
   runs the ledger knows as not succeeded (dead, failed) are undone: a version written
   outside relief is left alone and reported;
5. the ledger: each dead run gets a final ``incomplete`` row saying what was cleaned up.

Every step is idempotent, so a recovery that is itself killed is finished by the next one.
Every action is reported in one line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relief.jobs.runtime import faults
from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.fs import Location, StorePath
from relief.jobs.warehouse.publication import (
    GRANTS,
    QUARANTINE,
    SUMMARY,
    Publication,
    PublishedVersion,
    publication_of,
)
from relief.jobs.warehouse.storage import (
    RESTORE_KEY,
    RESTORED_VERSION_KEY,
    UNDONE_RUNS_KEY,
    TableUnreadable,
    Warehouse,
    commit_history,
    open_table,
    orphan_run,
    remove_orphans,
    remove_staging,
    remove_table,
    restore_info,
    restore_version,
    table_exists,
)
from relief.transforms.columns import RUN_ID

RECOVER_COMMAND = "relief recover"
_UNFINISHED = (ledger.STATUS_RUNNING, ledger.STATUS_INCOMPLETE)


@dataclass
class RecoveryReport:
    """What a recovery did (``actions``) and what it left alone for a person (``left``)."""

    dead_runs: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # tables whose log cannot be read

    @property
    def did_anything(self) -> bool:
        return bool(self.dead_runs or self.actions)

    def lines(self) -> list[str]:
        return [*self.actions, *(f"NOT recovered: {text}" for text in self.left)]


def _tables(warehouse: Warehouse) -> list[tuple[str, Location]]:
    """(name, folder) of every table a run writes: counties (with a log or not), quarantine,
    summary, grants."""
    tables = [(slug, warehouse.county(slug)) for slug in warehouse.county_dirs()]
    return [
        *tables,
        (QUARANTINE, warehouse.quarantine),
        (SUMMARY, warehouse.summary),
        (GRANTS, warehouse.grants),
    ]


def _label(name: str) -> str:
    return f"{name} table" if name in (QUARANTINE, SUMMARY, GRANTS) else name


def unreadable_tables(
    warehouse: Warehouse, published: Publication, report: RecoveryReport
) -> set[str]:
    """Tables recovery must not touch, each reported: a log that cannot be read, or a folder
    without a log although a succeeded run publishes a version of it (its log was deleted).
    Recovery removes only files no Delta version names, and without a readable log it cannot
    know which those are: the published run's files would look like orphans."""
    unreadable: set[str] = set()
    for name, path in _tables(warehouse):
        try:
            table = open_table(path)
        except TableUnreadable as exc:
            detail = exc.detail
        else:
            entry = published.table(name)
            if table is not None or entry is None or not path.is_dir():
                continue
            detail = f"no _delta_log, though run {entry.named_by} publishes version {entry.version}"
        unreadable.add(name)
        report.unreadable.append(name)
        report.left.append(
            f"cannot recover {_label(name)}: its log is unreadable; the files are kept "
            f"({detail}). Restore {path}/_delta_log from a backup"
        )
    return unreadable


def _orphans(
    warehouse: Warehouse,
    report: RecoveryReport,
    keep_run: str | None,
    skip: set[str] | frozenset[str] = frozenset(),
) -> None:
    for name, path in [*_tables(warehouse), ("ledger", warehouse.runs)]:
        if name in skip:
            continue
        removed = remove_orphans(path, keep_run=keep_run)
        if removed:
            runs = sorted({orphan_run(n) or "unknown" for n in removed})
            report.actions.append(
                f"{_label(name)}: removed {len(removed)} file(s) no table version names "
                f"(left by run {', '.join(runs)}): {', '.join(removed)}"
            )
        county = name not in (QUARANTINE, SUMMARY, GRANTS, "ledger")
        if county and path.is_dir() and not table_exists(path) and not any(path.iterdir()):
            path.rmdir()
            report.actions.append(
                f"{name}: removed its empty folder (a run died before creating the table)"
            )


def _undo_versions(
    name: str,
    path: Location,
    published: PublishedVersion | None,
    runs: Mapping[str, Mapping[str, Any]],
    by: str,
    report: RecoveryReport,
    only_run: str | None = None,
) -> None:
    """Restore one table to its published version (or remove a never-published table).
    With ``only_run``, only when every version to undo is that run's."""
    table = open_table(path)
    if table is None:
        return
    latest = table.version()
    target = None if published is None else published.version
    commits = commit_history(table)
    if target is not None and latest == target:
        return
    if target is not None and target > latest:
        report.left.append(
            f"{_label(name)}: the ledger publishes version {target}, but the table's newest "
            f"version is {latest}; the table is left as it is. See `relief audit verify`."
        )
        return
    if target is not None:
        restored = restore_info(commits.get(latest, {}))
        if restored is not None and restored[1] == target:
            return  # an earlier recovery restored it
    first = 0 if target is None else target + 1
    undone: dict[int, str] = {}
    for version in range(first, latest + 1):
        commit = commits.get(version, {})
        run_id = commit.get(RUN_ID)
        if restore_info(commit) is not None:
            continue
        run = runs.get(str(run_id)) if run_id else None
        if run is None or run["status"] == ledger.STATUS_SUCCEEDED:
            who = f"run {run_id}, which the ledger does not know" if run_id else "no run"
            if run is not None:
                who = f"run {run_id}, which succeeded but whose ledger row does not publish it"
            report.left.append(
                f"{_label(name)}: version {version} was written by {who}; the table is left "
                f"as it is (readers serve version {target}). See `relief audit verify`."
            )
            return
        undone[version] = str(run_id)
    runs_undone = sorted(set(undone.values()))
    if only_run is not None and any(r != only_run for r in runs_undone):
        others = ", ".join(r for r in runs_undone if r != only_run)
        report.left.append(
            f"{_label(name)}: it also holds versions of run(s) {others}; left for the next "
            "run or `relief recover`"
        )
        return
    if only_run is not None and not runs_undone:
        return
    versions = ", ".join(f"{v} (run {r})" for v, r in sorted(undone.items()))
    if target is None:
        remove_table(path)
        report.actions.append(
            f"{_label(name)}: removed the table: no succeeded run published it; its "
            f"version(s) {versions} were never served"
        )
        faults.point("table_restored")
        return
    assert published is not None
    new_version = restore_version(
        path,
        target,
        {
            RESTORE_KEY: by,
            RESTORED_VERSION_KEY: str(target),
            UNDONE_RUNS_KEY: ",".join(runs_undone),
            "published_by": published.named_by,
        },
    )
    report.actions.append(
        f"{_label(name)}: restored version {target} (published by run {published.named_by}) "
        f"as version {new_version}; undone: version(s) {versions}"
    )
    faults.point("table_restored")


def roll_back_tables(
    warehouse: Warehouse,
    by: str,
    report: RecoveryReport | None = None,
    only_run: str | None = None,
) -> RecoveryReport:
    """Steps 3 and 4 for every table: orphans, and versions of runs that did not succeed
    (with ``only_run``: that run's only — a failed run undoing its own commits)."""
    report = report or RecoveryReport()
    runs = ledger.read_runs(warehouse)
    by_id = {str(r[RUN_ID]): r for r in runs}
    published: Publication = publication_of(runs)
    skip = unreadable_tables(warehouse, published, report)
    if only_run is None:
        _orphans(warehouse, report, keep_run=None, skip=skip)
    for name, path in _tables(warehouse):
        if name not in skip:
            _undo_versions(name, path, published.table(name), by_id, by, report, only_run)
    return report


def recover(warehouse: Warehouse, holder: str | None, by: str) -> RecoveryReport:
    """Clean up after dead runs; the caller holds the warehouse lock as run ``holder`` (None
    for ``relief recover``). ``by`` names who recovers in restore commits and ledger rows."""
    report = RecoveryReport()
    if not warehouse.exists():
        return report
    runs = ledger.read_runs(warehouse)
    # Unfinished: its latest row is the 'running' one (no final row: a recovery writes one).
    dead = [
        r
        for r in runs
        if r["status"] in _UNFINISHED and r.get("finished_at") is None and r[RUN_ID] != holder
    ]
    report.dead_runs = [str(r[RUN_ID]) for r in dead]
    for run in dead:
        started = run.get("started_at")
        when = f", started {started:%Y-%m-%d %H:%M:%S} UTC" if started else ""
        report.actions.append(f"run {run['run_id']} died without finishing{when}")
    for name in warehouse.staged_runs():
        if name != holder and remove_staging(warehouse, name):
            report.actions.append(
                f"removed the staging folder of run {name} ({warehouse.staging(name)})"
            )
    roll_back_tables(warehouse, by, report)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    for run in dead:
        ledger.record_final(
            warehouse,
            dict(run),
            ledger.STATUS_INCOMPLETE,
            f"died without finishing; recovered by {by} at {stamp}: its staging and unpublished "
            "table versions were removed or rolled back (see that recovery's messages)",
        )
        report.actions.append(f"ledger: run {run['run_id']} recorded as incomplete")
    return report


class RecoverError(Exception):
    """``relief recover`` could not run; ``exit_code`` 2 (bad warehouse) or 1 (locked)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def recover_warehouse(root: str | Path | StorePath) -> tuple[list[str], bool]:
    """``relief recover``: take the warehouse lock, recover, and return what was done, one
    line each (the last line says what readers are served now), and whether everything was
    recovered (False: something is left for a person, e.g. a table whose log is unreadable)."""
    from relief.jobs.config import ConfigError
    from relief.jobs.warehouse.access import AccessError, owner_only, secure_warehouse
    from relief.jobs.warehouse.lock import WarehouseLocked, warehouse_lock
    from relief.jobs.warehouse.storage import (
        LocationError,
        WarehouseUnwritable,
        check_writable,
    )

    try:
        warehouse = Warehouse(root)
    except LocationError as exc:
        raise RecoverError(f"--warehouse {exc}", exit_code=2) from None
    if not warehouse.exists():
        raise RecoverError(f"{root}: no such warehouse", exit_code=2)
    try:
        check_writable(warehouse.root)
    except WarehouseUnwritable as exc:
        raise RecoverError(str(exc), exit_code=2) from None
    holder = f"recover-{ledger.new_run_id()}"
    lines: list[str] = []
    try:
        with owner_only(), warehouse_lock(warehouse.root, holder) as dead:
            if dead:
                lines.append(
                    f"took over the lock of run {dead.get('run_id')} (pid {dead.get('pid')} on "
                    f"{dead.get('host')} is gone)"
                )
            report = recover(warehouse, holder=holder, by=RECOVER_COMMAND)
            try:  # a restored version's files: modes and groups as conf/access.yaml says
                secure_warehouse(warehouse.root)
            except (AccessError, ConfigError) as exc:
                lines.append(f"could not set the warehouse's permissions: {exc}")
    except WarehouseLocked as exc:
        raise RecoverError(f"{exc} A live run cleans up after itself; nothing was done.") from None
    lines += report.lines()
    if not report.did_anything and not report.left:
        lines.append("nothing to recover: no dead run, no staging or orphan files")
    published = publication_of(ledger.read_runs(warehouse))
    if published.run is None:
        lines.append("readers are served nothing: no run has succeeded yet")
    else:
        lines.append(
            f"every table is at the version published by {published.describe()}"
            if not report.left
            else f"the other tables are at the version published by {published.describe()}"
        )
    return lines, not report.left
