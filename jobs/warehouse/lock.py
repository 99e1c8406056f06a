"""One run at a time per warehouse: an exclusive lock file created atomically.

Two runs started at once on one warehouse must never interleave their commits (an overwrite
committed on top of another run's overwrite would mix both runs' files). The second run
fails at once with a message naming the run that holds the lock. A lock left by a killed run
on this host (its process is gone) is taken over; on another host a person must confirm the
holder is dead and delete the file, as the message says.

The lock file appears with its whole content at once (written aside, then hard-linked to its
name), so a run that loses the race always reads who won. Taking over a dead run's lock
happens under an flock on ``_relief_run.lock.takeover``: two runs that find the same dead
holder cannot both remove it and both believe they hold the lock.

On an object store (s3a://, gs://, abfss://; no hard links, no flock, no pid to look at from
another machine) the lock is a small Delta table, ``<warehouse>/_relief_lock``: every
acquisition and release is one commit whose metadata says who and what, and a run acquires
by committing on top of the version it read, with no retry. The store's conditional put (the
same mechanism that makes county commits safe, fs.storage_options) lets exactly one of two
runs that read the same version commit the next one; the other fails and reports the winner.
The holder rewrites ``_relief_lock/heartbeat-<run_id>`` every HEARTBEAT_SECONDS; a holder
whose heartbeat is older than STALE_SECONDS (RELIEF_LOCK_STALE_SECONDS, default 600), or that
ran on this host with a process that is gone, is dead and its lock is taken over by a commit
made the same conditional way, so two runs cannot both take it over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError, TableNotFoundError

from relief.jobs.warehouse import fs
from relief.transforms.columns import RUN_ID

LOCK_NAME = "_relief_run.lock"
TAKEOVER_NAME = LOCK_NAME + ".takeover"
LOCK_TABLE = "_relief_lock"  # on an object store
HEARTBEAT_SECONDS = 30.0
STALE_SECONDS_DEFAULT = 600.0
_EVENT = "relief_lock"  # commit metadata key: "acquire" or "release"
_LOCK_SCHEMA = pa.schema(
    [("event", pa.string()), (RUN_ID, pa.string()), ("host", pa.string()), ("at", pa.string())]
)


class WarehouseLocked(Exception):
    pass


def lock_path(warehouse: fs.Location) -> fs.Location:
    return warehouse / (LOCK_TABLE if isinstance(warehouse, fs.StorePath) else LOCK_NAME)


def stale_seconds() -> float:
    try:
        return float(os.environ.get("RELIEF_LOCK_STALE_SECONDS", STALE_SECONDS_DEFAULT))
    except ValueError:
        return STALE_SECONDS_DEFAULT


def read_lock(warehouse: fs.Location) -> dict[str, Any] | None:
    """The holder of the warehouse lock (run_id, pid, host, started_at), None when free."""
    if isinstance(warehouse, fs.StorePath):
        state = _remote_state(warehouse)
        return state[1] if state is not None and state[1].get(_EVENT) == "acquire" else None
    try:
        holder = json.loads(lock_path(warehouse).read_text(encoding="utf-8"))
    except (FileNotFoundError, PermissionError, ValueError):
        # PermissionError: a reader without access to the lock (access.py); ValueError
        # (UnicodeDecodeError, JSONDecodeError): half-written or not a lock relief wrote.
        return None
    return dict(holder) if isinstance(holder, dict) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_is_dead(holder: dict[str, Any]) -> bool:
    if holder.get("heartbeat_age") is not None and float(holder["heartbeat_age"]) > stale_seconds():
        return True  # an object-store lock whose holder stopped beating
    return holder.get("host") == socket.gethostname() and not _alive(int(holder.get("pid", -1)))


def _create(path: Path, content: dict[str, Any]) -> bool:
    """Create the lock file with ``content``; False if it exists. Readers never see it empty."""
    aside = path.with_name(f"{path.name}.{content['run_id']}.new")
    aside.write_text(json.dumps(content))
    try:
        os.link(aside, path)  # atomic, and fails if the lock exists (also on NFS)
    except FileExistsError:
        return False
    finally:
        aside.unlink(missing_ok=True)
    return True


def _read_holder(warehouse: Path) -> dict[str, Any]:
    """The holder named by an existing lock file; {} if it is gone or cannot be read."""
    for _attempt in range(20):  # a lock written by an older relief could be read half-written
        holder = read_lock(warehouse)
        if holder is not None or not lock_path(warehouse).exists():
            return holder or {}
        time.sleep(0.05)
    return {}


@contextmanager
def _takeover_guard(warehouse: Path) -> Iterator[None]:
    with open(warehouse / TAKEOVER_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes or the process dies
        yield


@contextmanager
def warehouse_lock(warehouse: fs.Location, run_id: str) -> Iterator[dict[str, Any] | None]:
    """Hold the warehouse lock for the run; yields the dead holder taken over, if any."""
    if isinstance(warehouse, fs.StorePath):
        with _remote_lock(warehouse, run_id) as dead:
            yield dead
        return
    assert isinstance(warehouse, Path)
    warehouse.mkdir(parents=True, exist_ok=True)
    path = warehouse / LOCK_NAME
    content = {
        RUN_ID: run_id,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    taken_over = None
    for _attempt in range(3):
        if _create(path, content):
            break
        holder = _read_holder(warehouse)
        if not holder and not path.exists():
            continue  # the holder finished while we looked
        if not holder:
            raise WarehouseLocked(
                f"the lock file {path} cannot be read (it is not a lock relief wrote, or it "
                "is damaged): a run may hold the warehouse. If no run is running, delete "
                f"{path}"
            )
        if holder_is_dead(holder):
            with _takeover_guard(warehouse):
                # Only the first run to get here finds the dead holder still in place.
                if read_lock(warehouse) == holder:
                    path.unlink(missing_ok=True)
                    if _create(path, content):
                        taken_over = holder
                        break
            continue  # someone else took it over (or the lock just went): look again
        raise WarehouseLocked(
            f"another run holds the warehouse {warehouse}: run "
            f"{holder.get('run_id', '?')} (pid {holder.get('pid', '?')} on "
            f"{holder.get('host', '?')}, started {holder.get('started_at', '?')}). "
            f"Wait for it to finish. If you are sure it is dead, delete {path}."
        )
    else:  # pragma: no cover - the lock changed hands three times while we looked
        raise WarehouseLocked(f"could not take the lock {path}")
    try:
        yield taken_over
    finally:
        current = read_lock(warehouse)
        if current and current.get(RUN_ID) == run_id:
            # On a warehouse that became read-only the lock stays: it names this process,
            # so the next run or `relief recover` takes it over once we are gone. The run's
            # own error, not this one, is what people must see.
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


# --- on an object store: a Delta table whose conditional commits are the lock ----------------


def _lock_table(warehouse: fs.StorePath) -> tuple[str, dict[str, str] | None]:
    where = str(warehouse / LOCK_TABLE)
    return fs.delta_uri(where), fs.storage_options(where)


def _remote_state(warehouse: fs.StorePath) -> tuple[DeltaTable, dict[str, Any]] | None:
    """(the lock table, the latest event's metadata with ``heartbeat_age``); None: no table."""
    uri, options = _lock_table(warehouse)
    try:
        table = DeltaTable(uri, storage_options=options)
    except TableNotFoundError:
        return None
    latest = table.history(1)[0]
    state = {k: latest[k] for k in (_EVENT, RUN_ID, "pid", "host", "started_at") if k in latest}
    if state.get(_EVENT) == "acquire":
        beat = warehouse / LOCK_TABLE / f"heartbeat-{state.get('run_id')}"
        try:
            state["heartbeat_age"] = time.time() - beat.stat().st_mtime
        except FileNotFoundError:  # it acquired but has not beaten yet: count from its commit
            state["heartbeat_age"] = time.time() - float(latest.get("timestamp", 0)) / 1000
    return table, state


def _commit_event(
    warehouse: fs.StorePath, table: DeltaTable | None, event: str, content: dict[str, Any]
) -> bool:
    """Commit ``event`` on top of the version ``table`` was read at (or create the table);
    False when another run committed first."""
    uri, options = _lock_table(warehouse)
    metadata = {_EVENT: event, **{k: str(v) for k, v in content.items()}}
    row = pa.Table.from_pylist(
        [{"event": event, RUN_ID: content[RUN_ID], "host": content["host"], "at": _now()}],
        schema=_LOCK_SCHEMA,
    )
    properties = CommitProperties(custom_metadata=metadata, max_commit_retries=0)
    try:
        if table is None:
            write_deltalake(
                uri, row, mode="error", storage_options=options, commit_properties=properties
            )
        else:
            write_deltalake(table, row, mode="append", commit_properties=properties)
    except DeltaError:
        return False
    return True


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _heartbeat(beat: fs.StorePath, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        with contextlib.suppress(OSError):  # a holder that cannot beat becomes stale
            beat.write_text(_now())


@contextmanager
def _remote_lock(warehouse: fs.StorePath, run_id: str) -> Iterator[dict[str, Any] | None]:
    content = {
        RUN_ID: run_id,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": _now(),
    }
    taken_over = None
    for _attempt in range(3):
        state = _remote_state(warehouse)
        table, holder = (None, {}) if state is None else state
        held = holder.get(_EVENT) == "acquire"
        if held and not holder_is_dead(holder):
            raise WarehouseLocked(
                f"another run holds the warehouse {warehouse}: run "
                f"{holder.get('run_id', '?')} (pid {holder.get('pid', '?')} on "
                f"{holder.get('host', '?')}, started {holder.get('started_at', '?')}). "
                "Wait for it to finish. If you are sure it is dead, wait until its heartbeat "
                f"is {stale_seconds():.0f} s old (RELIEF_LOCK_STALE_SECONDS) and run again."
            )
        if _commit_event(warehouse, table, "acquire", content):
            taken_over = holder if held else None
            break
    else:
        raise WarehouseLocked(f"could not take the lock {warehouse / LOCK_TABLE}")
    beat = warehouse / LOCK_TABLE / f"heartbeat-{run_id}"
    beat.write_text(_now())
    stop = threading.Event()
    beater = threading.Thread(target=_heartbeat, args=(beat, stop), daemon=True)
    beater.start()
    try:
        yield {k: v for k, v in taken_over.items() if k != _EVENT} if taken_over else None
    finally:
        stop.set()
        beater.join()
        state = _remote_state(warehouse)
        if state is not None and state[1].get(RUN_ID) == run_id:
            _commit_event(warehouse, state[0], "release", content)
        beat.unlink(missing_ok=True)
