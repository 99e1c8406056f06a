"""Files relief writes for people (pulls, packets, diffs, reports): owner-only, written whole."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jobs.warehouse.snapshots import PullError

# --- owner-only output ---------------------------------------------------------------------


@contextmanager
def owner_only() -> Iterator[None]:
    """New files and directories get no group/other permissions while writing."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def private_dir(path: Path) -> Path:
    """``path`` as a directory; the directories created here are 0700."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700)
        os.chmod(directory, 0o700)
    if not path.is_dir():
        raise PullError(f"--out {path}: exists and is not a directory", exit_code=2)
    return path


@contextmanager
def private_file(path: Path) -> Iterator[Path]:
    """Write to a temporary sibling, then move it into place as a 0600 file."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        yield temporary
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
