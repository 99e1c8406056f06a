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
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LOCK_NAME = "_relief_run.lock"
TAKEOVER_NAME = LOCK_NAME + ".takeover"


class WarehouseLocked(Exception):
    pass


def lock_path(warehouse: Path) -> Path:
    return warehouse / LOCK_NAME


def read_lock(warehouse: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(lock_path(warehouse).read_text()))
    except (FileNotFoundError, PermissionError, json.JSONDecodeError):
        return None  # PermissionError: a reader without access to the lock (access.py)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_is_dead(holder: dict[str, Any]) -> bool:
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
def warehouse_lock(warehouse: Path, run_id: str) -> Iterator[dict[str, Any] | None]:
    """Hold the warehouse lock for the run; yields the dead holder taken over, if any."""
    warehouse.mkdir(parents=True, exist_ok=True)
    path = lock_path(warehouse)
    content = {
        "run_id": run_id,
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
        if holder and holder_is_dead(holder):
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
        if current and current.get("run_id") == run_id:
            path.unlink(missing_ok=True)
