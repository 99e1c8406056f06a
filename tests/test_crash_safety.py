"""Crash safety and concurrency of the statewide job ("Trustworthy writes", point 5).

A run killed at any moment leaves every county table readable at its previous or its new
version, never a partial one; the runs ledger shows the dead run as incomplete; the next run
takes over the dead run's lock and removes its staging and orphaned files. Two runs started at
once on one warehouse never corrupt a table: one commits, the other fails naming it.

Real Spark, real Delta, real SIGKILL. `relief run` runs in its own session and is killed with
``os.killpg`` so Spark's JVM dies with it. Spark runs cost ~40 s each on this machine, so one
scenario on one warehouse does every step, records what it saw, and the tests below check
the records:

1. run A (extract A) succeeds (in-process);
2. run K1 (extract B) is SIGKILLed while Spark writes its staged county Parquet (polled);
3. run K2 (extract B) kills itself with SIGKILL right after moving the files of its
   KILL_AT_COUNTY-th county into the table directory, before committing them
   (``RELIEF_FAULT_KILL_AT``, jobs/faults.py): the counties before it are committed, that
   county has files no version names, the counties after it are untouched;
4. two runs of extract B start at once: one takes over K2's dead lock, cleans up and commits,
   the other fails at once naming it.

Extracts A and B differ, so every county's row count tells A's snapshot from B's: a table
with rows of both, or of half a run, would match neither. The counts come from the ledger of
the succeeded runs (A's, and the winner's for extract B).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from jobs import faults
from jobs.generate import generate_extract
from jobs.progress import Progress
from jobs.statewide import RunOptions, run
from jobs.warehouse import ledger, storage
from jobs.warehouse.lock import LOCK_NAME, read_lock
from jobs.warehouse.storage import (
    STAGED_PREFIX,
    STAGING,
    CommitConflict,
    Warehouse,
    commit_files,
    remove_orphans,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
RELIEF = str(Path(sys.executable).with_name("relief"))
COMPUTE_AT = dt.date(2026, 11, 22)
KILL_AT_COUNTY = 4  # K2 dies after moving this county's files (1-based, in slug order)
RUN_TIMEOUT = 600
SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
}


# --- what a warehouse looks like at one moment --------------------------------------------


def file_run(name: str) -> str:
    """The run id in a relief file name: part-relief-<run_id>-<NNNNN>.parquet."""
    return name.removeprefix(STAGED_PREFIX).rsplit("-", 1)[0]


@dataclass(frozen=True)
class TableState:
    version: int
    run_id: str  # the run named by the commit of the current version
    rows: int  # read from the data files of the current snapshot
    snapshot_runs: frozenset[str]  # runs named by the files of the current snapshot
    orphan_runs: frozenset[str]  # runs of relief files in the directory no version names


@dataclass
class Observed:
    """The warehouse as a kill (or a run) left it."""

    tables: dict[str, TableState]
    logless: dict[str, frozenset[str]]  # county dirs without a table -> runs of files in them
    runs: dict[str, dict[str, Any]]  # ledger: run_id -> latest row (status derived)
    staging: set[str]  # run ids with a folder under _staging
    lock: dict[str, Any] | None


def logged_files(table: Path) -> set[str]:
    """Files any version in the table's Delta log adds (relief's sit at the top)."""
    return {
        json.loads(line)["add"]["path"]
        for commit in (table / "_delta_log").glob("*.json")
        for line in commit.read_text().splitlines()
        if '"add"' in line
    }


def orphans(warehouse: Path) -> list[Path]:
    """relief files in any table directory (county, quarantine) that no version names."""
    return [
        file
        for file in sorted(warehouse.rglob(f"{STAGED_PREFIX}*.parquet"))
        if STAGING not in file.relative_to(warehouse).parts
        and file.name not in logged_files(file.parent)
    ]


def observe(warehouse: Path) -> Observed:
    tables: dict[str, TableState] = {}
    logless: dict[str, frozenset[str]] = {}
    counties = warehouse / "counties"
    for directory in sorted(counties.iterdir()) if counties.is_dir() else []:
        present = {p.name for p in directory.glob(f"{STAGED_PREFIX}*.parquet")}
        table = storage.open_table(directory)
        if table is None:
            logless[directory.name] = frozenset(file_run(n) for n in present)
            continue
        in_snapshot = {uri.rsplit("/", 1)[-1] for uri in table.file_uris()}
        logged = logged_files(directory)
        version = table.version()
        tables[directory.name] = TableState(
            version=version,
            run_id=table.history(1)[0]["run_id"],
            rows=table.to_pyarrow_table().num_rows,  # reads every file of the snapshot
            snapshot_runs=frozenset(file_run(n) for n in in_snapshot),
            orphan_runs=frozenset(file_run(n) for n in present - logged),
        )
    staging_root = warehouse / STAGING
    return Observed(
        tables=tables,
        logless=logless,
        runs={r["run_id"]: r for r in ledger.read_runs(Warehouse(warehouse))},
        staging={p.name for p in staging_root.iterdir()} if staging_root.is_dir() else set(),
        lock=read_lock(warehouse),
    )


# --- running and killing `relief run` -----------------------------------------------------


def start_run(
    extract: Path, warehouse: Path, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    settings = [arg for k, v in SPARK_CONF.items() for arg in ("--conf", f"{k}={v}")]
    command = [
        *(RELIEF, "run", "--input", str(extract), "--warehouse", str(warehouse)),
        *("--compute-at", COMPUTE_AT.isoformat(), "--master", "local[2]", "--force"),
        *settings,
    ]
    environment = {k: v for k, v in os.environ.items() if k != faults.ENV}
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env={**environment, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the JVM is killed with it
        )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the run and everything it started (Spark's JVM), and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)  # reaped: its pid no longer looks alive to the lock


def wait_until(
    condition: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, what: str
) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the run ended ({process.returncode}) before {what}\n{tail(log)}")
        if time.monotonic() > deadline:
            kill_group(process)
            pytest.fail(f"timed out waiting for {what}\n{tail(log)}")
        time.sleep(0.02)


def finish(process: subprocess.Popen[bytes], log: Path) -> int:
    try:
        return process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_group(process)
        pytest.fail(f"the run did not finish in {RUN_TIMEOUT}s\n{tail(log)}")
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever outlived the driver
            os.killpg(process.pid, signal.SIGKILL)


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def staged_county_parquet(warehouse: Path) -> list[Path]:
    """Parquet Spark has begun writing under _staging/<run>/counties (also _temporary)."""
    return sorted((warehouse / STAGING).glob("*/counties/**/*.parquet"))


# --- the scenario -----------------------------------------------------------------------


@dataclass
class Scenario:
    warehouse: Path
    run_a: str
    after_a: Observed
    k1: str = ""
    k1_pid: int = 0
    k1_staged: list[Path] = field(default_factory=list)
    after_k1: Observed | None = None
    k2: str = ""
    k2_pid: int = 0
    k2_log: str = ""
    after_k2: Observed | None = None
    codes: list[int] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    winner: str = ""
    after_pair: Observed | None = None
    extract_of: dict[str, str] = field(default_factory=dict)  # run_id -> "A" | "B"

    def rows_of(self, run_id: str) -> dict[str, int]:
        """County -> rows of the whole snapshot a run of that run's extract commits."""
        succeeded = self.run_a if self.extract_of[run_id] == "A" else self.winner
        row = self.after_pair.runs[succeeded] if self.after_pair else None
        assert row is not None and row["status"] == ledger.STATUS_SUCCEEDED
        return {v["county"]: v["rows"] for v in row["county_versions"]}


@pytest.fixture(scope="module")
def scenario(spark, tmp_path_factory) -> Scenario:
    root = tmp_path_factory.mktemp("crash")
    extract_a, extract_b = root / "a.csv", root / "b.csv"
    generate_extract(extract_a, rows=3000, seed=51)
    generate_extract(extract_b, rows=2000, seed=52)
    warehouse = root / "warehouse"

    # 1. A succeeds (in-process, on the test session's Spark).
    options = RunOptions(inputs=str(extract_a), warehouse=warehouse, compute_at=COMPUTE_AT)
    first = run(options, Progress(quiet=True))
    assert first.status == ledger.STATUS_SUCCEEDED
    s = Scenario(warehouse, first.run_id, observe(warehouse))
    s.extract_of[first.run_id] = "A"

    # 2. K1 is killed while Spark writes the staged county Parquet.
    log = root / "k1.log"
    k1 = start_run(extract_b, warehouse, log)
    wait_until(lambda: bool(staged_county_parquet(warehouse)), k1, log, "staged Parquet")
    kill_group(k1)
    s.k1_staged = staged_county_parquet(warehouse)
    s.after_k1 = observe(warehouse)
    s.k1, s.k1_pid = (s.after_k1.lock or {}).get("run_id", ""), k1.pid
    s.extract_of[s.k1] = "B"

    # 3. K2 dies between moving a county's files into its table and committing them.
    log = root / "k2.log"
    hook = {faults.ENV: f"staged_files_moved@{KILL_AT_COUNTY}"}
    k2 = start_run(extract_b, warehouse, log, env=hook)
    code = finish(k2, log)
    assert code == -signal.SIGKILL, f"K2 was not killed at its fault point\n{tail(log)}"
    s.after_k2 = observe(warehouse)
    s.k2, s.k2_pid = (s.after_k2.lock or {}).get("run_id", ""), k2.pid
    s.k2_log = log.read_text(errors="replace")
    s.extract_of[s.k2] = "B"

    # 4. Two runs at once, on the warehouse K2's dead lock still holds.
    logs = [root / "pair-1.log", root / "pair-2.log"]
    pair = [start_run(extract_b, warehouse, log) for log in logs]
    s.codes = [finish(p, log) for p, log in zip(pair, logs, strict=True)]
    s.logs = [log.read_text(errors="replace") for log in logs]
    s.after_pair = observe(warehouse)
    succeeded = [r for r in s.after_pair.runs.values() if r["status"] == "succeeded"]
    s.winner = succeeded[-1]["run_id"]
    s.extract_of[s.winner] = "B"
    return s


def assert_whole(before: Observed, after: Observed, new_run: str, s: Scenario) -> None:
    """Every county table: readable, at its previous version or the next one, and holding
    exactly one whole snapshot of the run that committed that version."""
    assert set(before.tables) <= set(after.tables), "a table disappeared"
    for slug, now in after.tables.items():
        then = before.tables.get(slug)
        if then is None:  # a county the earlier runs never wrote
            assert (now.version, now.run_id) == (0, new_run), slug
        elif now.version == then.version:
            assert (now.run_id, now.rows, now.snapshot_runs) == (
                then.run_id,
                then.rows,
                then.snapshot_runs,
            ), slug
        else:
            assert (now.version, now.run_id) == (then.version + 1, new_run), slug
        assert now.snapshot_runs == {now.run_id}, f"{slug} mixes runs' files"
        assert now.rows == s.rows_of(now.run_id)[slug], f"{slug} is not a whole snapshot"


# --- the tests ----------------------------------------------------------------------------


def test_a_run_killed_while_spark_writes_staged_parquet_changes_no_table(scenario: Scenario):
    s = scenario
    assert s.after_k1 is not None
    assert s.k1_staged, "the kill was meant to land while Spark wrote staged Parquet"
    assert s.after_k1.lock is not None and s.after_k1.lock["pid"] == s.k1_pid
    assert s.after_k1.tables == s.after_a.tables  # versions, runs, rows: all untouched
    assert_whole(s.after_a, s.after_k1, s.k1, s)
    assert s.k1 in s.after_k1.staging
    runs = s.after_k1.runs
    assert runs[s.k1]["status"] == ledger.STATUS_INCOMPLETE  # its lock names a dead pid
    assert runs[s.run_a]["status"] == ledger.STATUS_SUCCEEDED


def test_a_run_killed_between_moving_files_and_committing_leaves_every_table_whole(
    scenario: Scenario,
):
    s = scenario
    assert s.after_k1 is not None and s.after_k2 is not None
    before, after = s.after_k1, s.after_k2
    assert after.lock is not None and after.lock["pid"] == s.k2_pid != s.k1_pid
    assert_whole(before, after, s.k2, s)

    # Counties are committed in slug order: the first KILL_AT_COUNTY - 1 carry K2's version,
    # the next has K2's files in its directory that no version names, the rest are as before.
    committed = sorted(slug for slug, t in after.tables.items() if t.run_id == s.k2)
    orphaned = [slug for slug, t in after.tables.items() if s.k2 in t.orphan_runs]
    orphaned += [slug for slug, runs in after.logless.items() if s.k2 in runs]
    assert len(committed) == KILL_AT_COUNTY - 1
    assert len(orphaned) == 1 and orphaned[0] > committed[-1]
    slug = orphaned[0]
    if slug in before.tables:  # the dead run's files are there, invisible to readers
        then = before.tables[slug]
        assert after.tables[slug] == replace(then, orphan_runs=then.orphan_runs | {s.k2})
    else:  # a new county: a directory of files and no table, as before the run
        assert slug not in after.tables

    # K2 took over K1's dead lock and removed K1's staging before it started its own.
    assert f"run {s.k1} died without finishing" in s.k2_log
    assert s.k1 not in after.staging and s.k2 in after.staging
    assert [after.runs[r]["status"] for r in (s.run_a, s.k1, s.k2)] == [
        ledger.STATUS_SUCCEEDED,
        ledger.STATUS_INCOMPLETE,
        ledger.STATUS_INCOMPLETE,
    ]


def test_two_runs_started_at_once_one_commits_and_the_other_fails_naming_it(
    scenario: Scenario,
):
    s = scenario
    assert s.after_k2 is not None and s.after_pair is not None
    assert sorted(s.codes) == [0, 1], s.logs
    winner_log = s.logs[s.codes.index(0)]
    loser_log = s.logs[s.codes.index(1)]
    assert f"run {s.winner} succeeded" in winner_log
    assert "another run holds the warehouse" in loser_log
    assert f"run {s.winner} (pid" in loser_log, loser_log
    # The loser stopped before recording anything: the ledger knows A, K1, K2 and the winner.
    assert set(s.after_pair.runs) == {s.run_a, s.k1, s.k2, s.winner}

    # Every table the winner wrote gained exactly one version, a whole snapshot of extract B.
    winner = s.after_pair.runs[s.winner]
    written = {v["county"]: v["version"] for v in winner["county_versions"]}
    for slug, now in s.after_pair.tables.items():
        then = s.after_k2.tables.get(slug)
        gained = 1 if slug in written else 0
        assert now.version == (then.version if then else -1) + gained, slug
        assert written.get(slug, now.version) == now.version, slug
    assert_whole(s.after_k2, s.after_pair, s.winner, s)


def test_the_next_run_takes_over_the_dead_lock_and_removes_the_dead_runs_files(
    scenario: Scenario,
):
    s = scenario
    assert s.after_pair is not None
    after = s.after_pair
    winner_log = s.logs[s.codes.index(0)]
    assert f"run {s.k2} died without finishing" in winner_log
    assert after.lock is None and not (s.warehouse / LOCK_NAME).exists()
    assert after.staging == set(), "staging of a dead (or the finished) run is left"
    assert not after.logless
    assert orphans(s.warehouse) == [], "files no version names outlived the next run"
    assert any(t.orphan_runs for t in s.after_k2.tables.values()) or s.after_k2.logless
    statuses = {r: after.runs[r]["status"] for r in (s.run_a, s.k1, s.k2, s.winner)}
    assert statuses == {
        s.run_a: ledger.STATUS_SUCCEEDED,
        s.k1: ledger.STATUS_INCOMPLETE,
        s.k2: ledger.STATUS_INCOMPLETE,
        s.winner: ledger.STATUS_SUCCEEDED,
    }


# --- without Spark: the commit and the lock under races ---------------------------------


def staged(root: Path, run_id: str, rows: int) -> list[Path]:
    directory = root / STAGING / run_id
    directory.mkdir(parents=True)
    file = directory / "part-00000.parquet"
    pq.write_table(pa.table({"run_id": [run_id] * rows, "n": list(range(rows))}), file)
    return [file]


@pytest.mark.parametrize("existing", [True, False], ids=["existing-table", "new-table"])
def test_two_commits_racing_on_one_table_leave_it_one_whole_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
):
    """Two writers that bypassed the lock (on object storage it is only advisory) both read
    the table, then both commit: one wins, the other gets a commit conflict."""
    table = tmp_path / "counties" / "kern"
    if existing:
        commit_files(table, staged(tmp_path, "r0", 5), "r0", {"run_id": "r0"})
    # Real delta-rs throughout; the only change: each writer, having read the table, waits
    # for the other to have read it too, so neither can see the other's commit.
    both_read = threading.Barrier(2, timeout=60)
    real_open = storage.open_table
    seen = threading.local()

    def open_then_wait(path: Path) -> DeltaTable | None:
        found = real_open(path)
        if not getattr(seen, "once", False):
            seen.once = True
            both_read.wait()
        return found

    monkeypatch.setattr(storage, "open_table", open_then_wait)
    sizes = {"r1": 7, "r2": 11}
    outcomes: dict[str, int | Exception] = {}

    def commit(run_id: str) -> None:
        try:
            files = staged(tmp_path, run_id, sizes[run_id])
            outcomes[run_id] = commit_files(table, files, run_id, {"run_id": run_id})
        except Exception as exc:
            outcomes[run_id] = exc

    threads = [threading.Thread(target=commit, args=(run_id,)) for run_id in sizes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    monkeypatch.undo()

    [won] = [r for r, o in outcomes.items() if isinstance(o, int)]
    [lost] = [r for r, o in outcomes.items() if isinstance(o, Exception)]
    conflict = outcomes[lost]
    assert isinstance(conflict, CommitConflict), repr(conflict)
    assert isinstance(conflict.__cause__, DeltaError)  # delta-rs refused the second commit
    assert f"run {lost} could not commit to {table}" in str(conflict)

    delta = DeltaTable(str(table))
    assert delta.version() == outcomes[won] == (1 if existing else 0)
    assert delta.history(1)[0]["run_id"] == won
    data = delta.to_pyarrow_table()
    assert data.num_rows == sizes[won]
    assert set(data["run_id"].to_pylist()) == {won}
    assert not list(table.glob(f"{STAGED_PREFIX}{lost}-*")), "the loser left its files behind"


LOCK_CONTENDER = """
import json, sys, time
from pathlib import Path
from jobs.warehouse.lock import WarehouseLocked, warehouse_lock
warehouse, run_id, start = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
try:
    with warehouse_lock(warehouse, run_id) as dead:
        print(json.dumps({"held": True, "took_over": (dead or {}).get("run_id")}), flush=True)
        time.sleep(1)
except WarehouseLocked as exc:
    print(json.dumps({"held": False, "message": str(exc)}))
"""


@pytest.mark.parametrize("dead_holder", [False, True], ids=["free", "dead-holder"])
def test_of_processes_racing_for_the_lock_exactly_one_holds_it(tmp_path: Path, dead_holder: bool):
    """Six runs reach the lock in the same instant, on a free warehouse or on one whose lock a
    killed run left: one holds it, the others are refused with its name."""
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    if dead_holder:
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        lock = {"run_id": "dead-run", "pid": gone.pid, "host": socket.gethostname()}
        (warehouse / LOCK_NAME).write_text(json.dumps({**lock, "started_at": "2026-11-22"}))
    start = time.time() + 1.5  # every contender has started Python by then
    contenders = [
        subprocess.Popen(
            [sys.executable, "-c", LOCK_CONTENDER, str(warehouse), f"run-{i}", str(start)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    results = [json.loads(c.communicate(timeout=60)[0]) for c in contenders]
    [holder] = [i for i, r in enumerate(results) if r["held"]]
    for i, result in enumerate(results):
        if i != holder:
            assert f"run run-{holder} (pid {contenders[holder].pid}" in result["message"]
    assert results[holder]["took_over"] == ("dead-run" if dead_holder else None)
    assert not (warehouse / LOCK_NAME).exists()


def test_remove_orphans_deletes_only_relief_files_no_version_names(tmp_path: Path):
    table = tmp_path / "counties" / "kern"
    commit_files(table, staged(tmp_path, "r0", 3), "r0", {"run_id": "r0"})
    commit_files(table, staged(tmp_path, "r1", 4), "r1", {"run_id": "r1"})
    for name in (f"{STAGED_PREFIX}dead-00000.parquet", f"{STAGED_PREFIX}live-00000.parquet"):
        (table / name).write_bytes(b"left by a run")
    (table / "notes.txt").write_text("not relief's")
    assert remove_orphans(table, keep_run="live") == 1
    assert sorted(p.name for p in table.iterdir() if p.is_file()) == [
        "notes.txt",
        f"{STAGED_PREFIX}live-00000.parquet",
        f"{STAGED_PREFIX}r0-00000.parquet",  # version 0 still names it (time travel)
        f"{STAGED_PREFIX}r1-00000.parquet",
    ]
    assert DeltaTable(str(table)).to_pyarrow_table().num_rows == 4

    # A run killed before creating a new county's table leaves a directory with no log.
    new_county = tmp_path / "counties" / "modoc"
    new_county.mkdir()
    (new_county / f"{STAGED_PREFIX}dead-00000.parquet").write_bytes(b"left by a run")
    assert remove_orphans(new_county, keep_run="live") == 1
    assert list(new_county.iterdir()) == []
