"""Fault injection for the crash-safety tests (tests/test_crash_safety.py).

``RELIEF_FAULT_KILL_AT=<point>[@<n>]`` makes the process kill itself with SIGKILL the n-th
time (default: the first) it reaches ``<point>``: no ``finally`` block, no ledger row, no lock
release, exactly like ``kill -9`` or the kernel's OOM killer. Spark's JVM exits on its own
when its Python driver is gone. Without the variable every point is a no-op.

Points:
    staged_files_moved   jobs.warehouse.storage.commit_files: the run's files are in the table
                         directory but no Delta version names them yet (commits with files)
    county_committed     jobs.statewide: a county table's version is committed (the n-th
                         county, in slug order); the ledger does not publish it yet
    tables_committed     jobs.statewide: every table version of the run is committed; the
                         ledger row that publishes them is not written yet
    table_restored       jobs.warehouse.recovery: recovery restored (or removed) one table
"""

from __future__ import annotations

import os
import signal
import sys
from collections import Counter

ENV = "RELIEF_FAULT_KILL_AT"
POINTS = ("staged_files_moved", "county_committed", "tables_committed", "table_restored")

_reached: Counter[str] = Counter()


def point(name: str) -> None:
    """Die here if ``RELIEF_FAULT_KILL_AT`` names this point (and this is its n-th time)."""
    assert name in POINTS, name
    spec = os.environ.get(ENV)
    if not spec:
        return
    target, _, nth = spec.partition("@")
    if target != name:
        return
    _reached[name] += 1
    if _reached[name] == int(nth or 1):
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
