"""One run at a time per warehouse: an exclusive lock file created atomically.

Two runs started at once on one warehouse must never interleave their commits (an overwrite
committed on top of another run's overwrite would mix both runs' files). The second run
fails at once with a message naming the run that holds the lock. A lock left by a killed run
on this host (its process is gone) is taken over; on another host a person must confirm the
holder is dead and delete the file, as the message says.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LOCK_NAME = "_relief_run.lock"


class WarehouseLocked(Exception):
    pass


def lock_path(warehouse: Path) -> Path:
    return warehouse / LOCK_NAME


def read_lock(warehouse: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(lock_path(warehouse).read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


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
    for _attempt in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            holder = read_lock(warehouse) or {}
            if holder and holder_is_dead(holder):
                path.unlink(missing_ok=True)
                taken_over = holder
                continue
            raise WarehouseLocked(
                f"another run holds the warehouse {warehouse}: run "
                f"{holder.get('run_id', '?')} (pid {holder.get('pid', '?')} on "
                f"{holder.get('host', '?')}, started {holder.get('started_at', '?')}). "
                f"Wait for it to finish. If you are sure it is dead, delete {path}."
            ) from None
        with os.fdopen(fd, "w") as handle:
            json.dump(content, handle)
        break
    else:  # pragma: no cover - two stale takeovers in a row
        raise WarehouseLocked(f"could not take the lock {path}")
    try:
        yield taken_over
    finally:
        current = read_lock(warehouse)
        if current and current.get("run_id") == run_id:
            path.unlink(missing_ok=True)
