"""Fault injection for the crash-safety tests (tests/test_crash_safety.py).

``RELIEF_FAULT_KILL_AT=<point>[@<n>]`` makes the process kill itself with SIGKILL the n-th
time (default: the first) it reaches ``<point>``: no ``finally`` block, no ledger row, no lock
release, exactly like ``kill -9`` or the kernel's OOM killer. Spark's JVM exits on its own
when its Python driver is gone. ``RELIEF_FAULT_RAISE_AT`` (same syntax) raises FaultInjected
there instead: a run that fails and cleans up after itself. Without the variables every
point is a no-op.

Points:
    staged_files_moved   relief.jobs.warehouse.storage.commit_files: the run's files are in the
                         table directory but no Delta version names them yet (commits with files)
    county_committed     relief.jobs.statewide: a county table's version is committed (the n-th
                         county, in slug order); the ledger does not publish it yet
    tables_committed     relief.jobs.statewide: every table version of the run is committed; the
                         ledger row that publishes them is not written yet
    table_restored       relief.jobs.warehouse.recovery: recovery restored (or removed) one table
"""

from __future__ import annotations

import os
import signal
import sys
from collections import Counter

ENV = "RELIEF_FAULT_KILL_AT"
RAISE_ENV = "RELIEF_FAULT_RAISE_AT"  # same syntax: raise FaultInjected there instead


class FaultInjected(RuntimeError):
    """Raised at a fault point named by RELIEF_FAULT_RAISE_AT (a run that fails, not dies)."""


POINTS = ("staged_files_moved", "county_committed", "tables_committed", "table_restored")

_reached: Counter[str] = Counter()


def point(name: str) -> None:
    """Die here if ``RELIEF_FAULT_KILL_AT`` names this point (and this is its n-th time)."""
    assert name in POINTS, name
    kill, fail = os.environ.get(ENV), os.environ.get(RAISE_ENV)
    if not kill and not fail:
        return
    _reached[name] += 1
    if _due(kill, name):
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    if _due(fail, name):
        raise FaultInjected(f"fault injected at {name} (time {_reached[name]})")


def _due(spec: str | None, name: str) -> bool:
    if not spec:
        return False
    target, _, nth = spec.partition("@")
    return target == name and _reached[name] == int(nth or 1)


def reset() -> None:
    """Forget how often each point was reached (for runs in one test process)."""
    _reached.clear()
