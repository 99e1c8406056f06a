"""Crash safety and concurrency of the statewide job: one publication at a time.

A run killed at any moment leaves every county table readable, and every reader (pull, packet,
audit, report) keeps serving the previous publication: the versions the latest succeeded
ledger row names. The next run (or `relief recover`) takes over the dead run's lock, removes
its staging and orphaned files, rolls every table back to its published version and marks the
run incomplete. Two runs started at once on one warehouse never corrupt a table: one commits,
the other fails naming it.

Real Spark, real Delta, real SIGKILL. `relief run` runs in its own session and is killed with
``os.killpg`` so Spark's JVM dies with it. Spark runs cost ~40 s each on this machine, so one
scenario on one warehouse does every step, records what it saw, and the tests below check
the records:

1. run A (extract A) succeeds (in-process);
2. run K1 (extract B) is SIGKILLed while Spark writes its staged county Parquet (polled);
3. run K2 (extract B) kills itself with SIGKILL right after moving the files of its
   KILL_AT_MOVE-th county with rows into the table directory, before committing them
   (``RELIEF_FAULT_KILL_AT``, jobs/runtime/faults.py);
4. two runs of extract B start at once: one takes over K2's dead lock, recovers (rolls back
   K2's commits) and publishes, the other fails at once naming it;
5. run K3 (extract A) dies between two county commits (after KILL_AT_COUNTY of 58);
6. `relief recover` dies after restoring KILL_AT_RESTORE tables; readers still serve B;
7. `relief recover` finishes the job and says what it did;
8. run K4 (extract A) dies after its last table commit, before its ledger row;
9. run B again (in-process): its recovery rolls K4 back, and as its result is the published
   one it commits nothing (no_change) — with every table at B's version.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from relief.jobs.config import load_counties
from relief.jobs.runtime import faults
from relief.jobs.runtime.progress import Progress
from relief.jobs.statewide import RunOptions, run
from relief.jobs.synthetic.generate import generate_extract
from relief.jobs.warehouse import ledger, storage
from relief.jobs.warehouse.lock import LOCK_NAME, read_lock
from relief.jobs.warehouse.publication import publication
from relief.jobs.warehouse.snapshots import open_snapshot
from relief.jobs.warehouse.storage import (
    STAGED_PREFIX,
    STAGING,
    CommitConflict,
    Warehouse,
    commit_files,
    read_arrow,
    remove_orphans,
    restore_info,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
RELIEF = str(Path(sys.executable).with_name("relief"))
COMPUTE_AT = dt.date(2026, 11, 22)
KILL_AT_MOVE = 4  # K2 dies after moving the files of its 4th county with rows
KILL_AT_COUNTY = 9  # K3 dies after committing its 9th county (of 58, slug order)
KILL_AT_RESTORE = 3  # the first `relief recover` dies after restoring its 3rd table
RUN_TIMEOUT = 600
SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
}
SLUGS = sorted(c.slug for c in load_counties().counties)


# --- what a warehouse looks like at one moment --------------------------------------------


def file_run(name: str) -> str:
    """The run id in a relief file name: part-relief-<run_id>-<NNNNN>.parquet."""
    return name.removeprefix(STAGED_PREFIX).rsplit("-", 1)[0]


@dataclass(frozen=True)
class TableState:
    version: int
    run_id: str | None  # the run named by the commit of the current version (None: a restore)
    restored: int | None  # the version a recovery's restore brought back
    rows: int  # read from the data files of the current snapshot
    snapshot_runs: frozenset[str]  # runs named by the files of the current snapshot
    orphan_runs: frozenset[str]  # runs of relief files in the directory no version names


@dataclass(frozen=True)
class Served:
    """What a reader is served for one county: the published version, its run and rows."""

    version: int
    run_id: str | None
    rows: int


@dataclass
class Observed:
    """The warehouse as a kill (or a run) left it."""

    tables: dict[str, TableState]
    logless: dict[str, frozenset[str]]  # county dirs without a table -> runs of files in them
    runs: dict[str, dict[str, Any]]  # ledger: run_id -> latest row (status derived)
    staging: set[str]  # run ids with a folder under _staging
    lock: dict[str, Any] | None
    served: dict[str, Served]  # county -> what pull/packet/audit serve by default


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


def served(warehouse: Path) -> dict[str, Served]:
    """Every county as the readers see it (jobs/warehouse/snapshots.py, the published one)."""
    counties = load_counties()
    result = {}
    for slug in publication(Warehouse(warehouse)).counties:
        snapshot = open_snapshot(warehouse, counties.by_slug()[slug])
        result[slug] = Served(snapshot.version, snapshot.run_id, snapshot.table.num_rows)
    return result


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
        commit = table.history(1)[0]
        restored = restore_info(commit)
        tables[directory.name] = TableState(
            version=version,
            run_id=commit.get("run_id"),
            restored=None if restored is None else restored[1],
            rows=read_arrow(directory, table).num_rows,  # reads every file of the snapshot
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
        served=served(warehouse),
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
    return start(command, log, env)


def start(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
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


def relief(*args: str) -> subprocess.CompletedProcess[str]:
    """A read-only (or recover) command, as a person runs it."""
    environment = {k: v for k, v in os.environ.items() if k != faults.ENV}
    return subprocess.run(
        [RELIEF, *args], cwd=ROOT, env=environment, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


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


def killed_at(command: list[str], point: str, log: Path) -> int:
    """Run ``command`` until it kills itself at the fault ``point`` (``name@n``)."""
    process = start(command, log, env={faults.ENV: point})
    code = finish(process, log)
    assert code == -signal.SIGKILL, f"not killed at {point}\n{tail(log)}"
    return process.pid


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
    k3: str = ""
    after_k3: Observed | None = None
    k3_pull: subprocess.CompletedProcess[str] | None = None
    k3_verify: subprocess.CompletedProcess[str] | None = None
    k3_history: subprocess.CompletedProcess[str] | None = None
    after_killed_recovery: Observed | None = None
    recovery: subprocess.CompletedProcess[str] | None = None
    after_recovery: Observed | None = None
    verify_after_recovery: subprocess.CompletedProcess[str] | None = None
    k4: str = ""
    after_k4: Observed | None = None
    rerun: ledger.RunRecord | None = None
    after_rerun: Observed | None = None
    verify_after_rerun: subprocess.CompletedProcess[str] | None = None
    extract_of: dict[str, str] = field(default_factory=dict)  # run_id -> "A" | "B"

    def rows_of(self, run_id: str) -> dict[str, int]:
        """County -> rows of the whole snapshot a run of that run's extract commits."""
        succeeded = self.run_a if self.extract_of[run_id] == "A" else self.winner
        row = self.after_pair.runs[succeeded] if self.after_pair else None
        assert row is not None and row["status"] == ledger.STATUS_SUCCEEDED
        return {v["county"]: v["rows"] for v in row["county_versions"]}

    def published_b(self) -> dict[str, Served]:
        """What readers are served while the winner's publication (extract B) stands."""
        assert self.after_pair is not None
        return self.after_pair.served


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
    hook = {faults.ENV: f"staged_files_moved@{KILL_AT_MOVE}"}
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

    # 5. K3 (extract A) dies between two county commits; readers are asked what they serve.
    settings = [arg for k, v in SPARK_CONF.items() for arg in ("--conf", f"{k}={v}")]
    run_a_again = [
        *(RELIEF, "run", "--input", str(extract_a), "--warehouse", str(warehouse)),
        *("--compute-at", COMPUTE_AT.isoformat(), "--master", "local[2]", "--force"),
        *settings,
    ]
    killed_at(run_a_again, f"county_committed@{KILL_AT_COUNTY}", root / "k3.log")
    s.after_k3 = observe(warehouse)
    s.k3 = (s.after_k3.lock or {}).get("run_id", "")
    s.extract_of[s.k3] = "A"
    county = SLUGS[0]  # committed by K3 before it died
    s.k3_pull = relief("county", "pull", "--warehouse", str(warehouse), "--county", county,
                       "--out", str(root / "pull"))  # fmt: skip
    s.k3_verify = relief("audit", "verify", "--warehouse", str(warehouse))
    s.k3_history = relief("audit", "history", "--warehouse", str(warehouse), "--county", county)

    # 6. A recovery dies after restoring a few tables; 7. the next one finishes the job.
    recover = [RELIEF, "recover", "--warehouse", str(warehouse)]
    killed_at(recover, f"table_restored@{KILL_AT_RESTORE}", root / "recover-killed.log")
    s.after_killed_recovery = observe(warehouse)
    s.recovery = relief("recover", "--warehouse", str(warehouse))
    s.after_recovery = observe(warehouse)
    s.verify_after_recovery = relief("audit", "verify", "--warehouse", str(warehouse))

    # 8. K4 (extract A) dies after its last commit, before the ledger row.
    killed_at(run_a_again, "tables_committed", root / "k4.log")
    s.after_k4 = observe(warehouse)
    s.k4 = (s.after_k4.lock or {}).get("run_id", "")
    s.extract_of[s.k4] = "A"

    # 9. B again, without --force: recovery rolls K4 back; B is what is published: no_change.
    options_b = RunOptions(inputs=str(extract_b), warehouse=warehouse, compute_at=COMPUTE_AT)
    s.rerun = run(options_b, Progress(quiet=True))
    s.after_rerun = observe(warehouse)
    s.verify_after_rerun = relief("audit", "verify", "--warehouse", str(warehouse))
    return s


def assert_whole(before: Observed, after: Observed, new_run: str, s: Scenario) -> None:
    """Every county table: readable, holding exactly one whole snapshot of one run, and either
    as before or newer with ``new_run``'s snapshot (a recovery's restore may come first)."""
    assert set(before.tables) <= set(after.tables), "a table disappeared"
    for slug, now in after.tables.items():
        then = before.tables.get(slug)
        if then is None:  # a county the earlier runs never wrote
            assert now.run_id == new_run, slug
        elif now.version == then.version:
            assert (now.run_id, now.rows, now.snapshot_runs) == (
                then.run_id,
                then.rows,
                then.snapshot_runs,
            ), slug
        else:
            assert now.version > then.version and now.run_id == new_run, slug
        assert len(now.snapshot_runs) <= 1, f"{slug} mixes runs' files"
        writer = next(iter(now.snapshot_runs), None)
        if writer is not None:
            assert now.rows == s.rows_of(writer)[slug], f"{slug} is not a whole snapshot"
        else:
            assert now.rows == 0, slug


def assert_serves_b(observed: Observed | None, s: Scenario) -> None:
    """Every reader is served the winner's publication, whatever newer versions exist."""
    assert observed is not None
    assert observed.served == s.published_b()
    for slug, served_now in observed.served.items():
        assert served_now.run_id == s.winner, slug
        assert served_now.rows == s.rows_of(s.winner)[slug], slug


# --- the tests ----------------------------------------------------------------------------


def test_a_run_killed_while_spark_writes_staged_parquet_changes_no_table(scenario: Scenario):
    s = scenario
    assert s.after_k1 is not None
    assert s.k1_staged, "the kill was meant to land while Spark wrote staged Parquet"
    assert s.after_k1.lock is not None and s.after_k1.lock["pid"] == s.k1_pid
    assert s.after_k1.tables == s.after_a.tables  # versions, runs, rows: all untouched
    assert s.after_k1.served == s.after_a.served
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
    assert after.served == before.served, "readers must still be served A's publication"

    # Counties are committed in slug order: the ones before the orphaned county carry K2's
    # (unpublished) version, it has K2's files that no version names, the rest are as before.
    orphaned = [slug for slug, t in after.tables.items() if s.k2 in t.orphan_runs]
    orphaned += [slug for slug, runs in after.logless.items() if s.k2 in runs]
    assert len(orphaned) == 1
    slug = orphaned[0]
    committed = sorted(name for name, t in after.tables.items() if t.run_id == s.k2)
    assert committed == [name for name in SLUGS if name < slug]
    assert len([n for n in committed if after.tables[n].rows]) == KILL_AT_MOVE - 1
    then = before.tables[slug]  # the dead run's files are there, invisible to readers
    assert after.tables[slug].version == then.version
    assert after.tables[slug].snapshot_runs == then.snapshot_runs

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

    # Every county table got the winner's version (after a restore where K2 had committed),
    # a whole snapshot of extract B, and that is what readers are served.
    winner = s.after_pair.runs[s.winner]
    written = {v["county"]: v["version"] for v in winner["county_versions"]}
    assert sorted(written) == SLUGS
    for slug, now in s.after_pair.tables.items():
        assert now.version == written[slug] and now.run_id == s.winner, slug
    assert_whole(s.after_k2, s.after_pair, s.winner, s)
    assert {served_now.run_id for served_now in s.after_pair.served.values()} == {s.winner}


def test_the_next_run_takes_over_the_dead_lock_and_removes_the_dead_runs_files(
    scenario: Scenario,
):
    s = scenario
    assert s.after_pair is not None and s.after_k2 is not None
    after = s.after_pair
    winner_log = s.logs[s.codes.index(0)]
    assert f"run {s.k2} died without finishing" in winner_log
    # It rolled back what K2 had committed before it died, saying so.
    k2_committed = [slug for slug, t in s.after_k2.tables.items() if t.run_id == s.k2]
    for slug in k2_committed:
        assert f"recovery: {slug}: restored version" in winner_log, slug
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


def test_a_run_killed_between_county_commits_is_never_served(scenario: Scenario):
    s = scenario
    assert s.after_k3 is not None and s.after_pair is not None
    committed = sorted(slug for slug, t in s.after_k3.tables.items() if t.run_id == s.k3)
    assert committed == SLUGS[:KILL_AT_COUNTY]  # nine tables hold K3's (extract A) version
    for slug in committed:
        assert s.after_k3.tables[slug].rows == s.rows_of(s.k3)[slug], slug
    assert_serves_b(s.after_k3, s)  # ... and no reader is served one of them

    assert s.k3_pull is not None and s.k3_pull.returncode == 0, s.k3_pull.stderr
    county = SLUGS[0]
    version = s.published_b()[county].version
    assert s.k3_pull.stdout.startswith(
        f"{county.replace('-', ' ').title()}: version {version} (run {s.winner}), "
        f"published by run {s.winner}; "
    ), s.k3_pull.stdout
    assert s.k3_verify is not None and s.k3_verify.returncode == 1
    assert f"unpublished: run {s.k3} died after committing it" in s.k3_verify.stdout
    assert s.k3_history is not None and s.k3_history.returncode == 0
    assert f"readers are served version {version}, published by run {s.winner}" in (
        s.k3_history.stdout)  # fmt: skip
    assert "unpublished" in s.k3_history.stdout.splitlines()[-1]


def test_a_recovery_killed_midway_leaves_readers_on_the_publication_and_is_finished_later(
    scenario: Scenario,
):
    s = scenario
    assert s.after_killed_recovery is not None and s.after_recovery is not None
    assert_serves_b(s.after_killed_recovery, s)
    restored = [t for t in s.after_killed_recovery.tables.values() if t.restored is not None]
    assert len(restored) == KILL_AT_RESTORE

    assert s.recovery is not None and s.recovery.returncode == 0, s.recovery.stderr
    lines = s.recovery.stdout.splitlines()
    assert lines[0] == f"relief recover: {s.warehouse}"
    assert f"  run {s.k3} died without finishing" in "\n".join(lines)
    assert s.k3 not in s.after_killed_recovery.staging  # the killed recovery removed it
    restores = [line for line in lines if ": restored version " in line]
    assert len(restores) == KILL_AT_COUNTY - KILL_AT_RESTORE
    assert f"  ledger: run {s.k3} recorded as incomplete" in lines
    assert lines[-1].startswith(f"  every table is at the version published by run {s.winner}")

    after = s.after_recovery
    assert_serves_b(after, s)
    for slug, now in after.tables.items():  # the newest version of every table is B's again
        served_now = s.published_b()[slug]
        assert now.version == served_now.version or now.restored == served_now.version, slug
        assert now.rows == served_now.rows, slug
    assert after.staging == set() and after.lock is None and orphans(s.warehouse) == []
    assert after.runs[s.k3]["status"] == ledger.STATUS_INCOMPLETE
    assert "recovered by relief recover" in after.runs[s.k3]["message"]
    assert s.verify_after_recovery is not None
    assert s.verify_after_recovery.returncode == 0, s.verify_after_recovery.stdout


def test_a_run_killed_before_its_ledger_row_publishes_nothing_and_the_next_run_restores_order(
    scenario: Scenario,
):
    s = scenario
    assert s.after_k4 is not None and s.after_rerun is not None and s.rerun is not None
    assert {slug for slug, t in s.after_k4.tables.items() if t.run_id == s.k4} == set(SLUGS)
    assert_serves_b(s.after_k4, s)  # every table has K4's version; none is served
    assert s.after_k4.runs[s.k4]["status"] == ledger.STATUS_INCOMPLETE

    # Re-running the published input after the kill: the run first rolls K4 back, then finds
    # its result is the published one.
    assert s.rerun.status == ledger.STATUS_NO_CHANGE
    assert s.winner in (s.rerun.message or "")
    after = s.after_rerun
    assert_serves_b(after, s)
    for slug, now in after.tables.items():
        assert now.restored == s.published_b()[slug].version, slug
        assert now.rows == s.published_b()[slug].rows, slug
    assert after.runs[s.k4]["status"] == ledger.STATUS_INCOMPLETE
    assert after.staging == set() and orphans(s.warehouse) == []
    assert s.verify_after_rerun is not None
    assert s.verify_after_rerun.returncode == 0, s.verify_after_rerun.stdout


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
from relief.jobs.warehouse.lock import WarehouseLocked, warehouse_lock
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


def test_remove_orphans_deletes_only_data_files_no_version_names(tmp_path: Path):
    table = tmp_path / "counties" / "kern"
    commit_files(table, staged(tmp_path, "r0", 3), "r0", {"run_id": "r0"})
    commit_files(table, staged(tmp_path, "r1", 4), "r1", {"run_id": "r1"})
    for name in (f"{STAGED_PREFIX}dead-00000.parquet", f"{STAGED_PREFIX}live-00000.parquet"):
        (table / name).write_bytes(b"left by a run")
    (table / "notes.txt").write_text("not relief's")
    assert remove_orphans(table, keep_run="live") == [f"{STAGED_PREFIX}dead-00000.parquet"]
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
    assert remove_orphans(new_county, keep_run="live") == [f"{STAGED_PREFIX}dead-00000.parquet"]
    assert list(new_county.iterdir()) == []
