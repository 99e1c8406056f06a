"""Who may read the warehouse on a POSIX file system: owner-only by default, a county's table
optionally readable by that county's group (conf/access.yaml, docs/operations.md "Access").

Default: every folder relief writes in the warehouse is 0700 and every file 0600 (tables,
quarantine, runs ledger, summary, validation, staging). A run writes under umask 077
(:func:`owner_only`; the JVM of a local Spark session inherits it, and Hadoop's file systems
get ``fs.permissions.umask-mode`` 077 from jobs/runtime/spark.py) and ends with
:func:`secure_warehouse`, which also tightens what an older relief left 0755/0644.

With groups configured: the warehouse folder and ``counties/`` are 0750 for the readers
group (listing them shows folder names and the 58 county slugs, nothing more), ``runs/`` is
readable by it (2750 / 0640; the ledger holds run ids, versions, counts and input paths, no
personal data, and a pull reads it to find the published version), and
``counties/<slug>`` is 2750 / 0640 for group ``relief-<slug>``.
Everything else stays 0700 / 0600.

Files relief writes for people outside the warehouse (pulls, packets, diffs, reports) are
owner-only too: written under :func:`owner_only` into :func:`private_dir` folders, each
file moved into place whole by :func:`private_file`.

Object stores have no POSIX modes: :func:`secure_warehouse` does nothing for a remote
location; there, one prefix per county and an IAM policy per county role do the same
(docs/operations.md).
"""

from __future__ import annotations

import grp
import os
import re
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from relief.jobs.warehouse import fs
from relief.jobs.warehouse.fs import StorePath
from relief.jobs.warehouse.snapshots import PullError

ACCESS_FILE = "access.yaml"
PRIVATE_UMASK = 0o077
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
SHARED_DIR, SHARED_FILE = 0o2750, 0o640  # setgid: new files keep the folder's group
# The readers group may list the warehouse folder and counties/ (names everyone knows: the
# 58 counties) and open what it is given inside; the CLI's path options check readability.
READERS_DIR = 0o750
_GROUP_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


class AccessError(Exception):
    """The access setting cannot be applied; the message names the setting and the fix."""


class CountyAccess(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group: str = Field(description="the group that may read this county's table: relief-<slug>")


class AccessSettings(BaseModel):
    """conf/access.yaml."""

    model_config = ConfigDict(extra="forbid")
    readers_group: str | None = Field(
        default=None, description="group of every county's staff: may read the runs ledger"
    )
    counties: dict[str, CountyAccess] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> AccessSettings:
        if self.readers_group is not None and not _GROUP_NAME.fullmatch(self.readers_group):
            raise ValueError(
                f"readers_group {self.readers_group!r} is not a group name (lower case letters, "
                "digits, '-' and '_', at most 32)"
            )
        for slug, county in self.counties.items():
            if county.group != f"relief-{slug}":
                raise ValueError(
                    f"counties.{slug}.group {county.group!r}: a county's group must be named "
                    f"relief-{slug}, so that a group can never open another county's table"
                )
        if self.counties and self.readers_group is None:
            raise ValueError(
                "counties: set readers_group too (e.g. relief-readers): county staff need to "
                "read the runs ledger to find their table's published version"
            )
        return self

    @property
    def shared(self) -> bool:
        return self.readers_group is not None


def load_access(
    directory: Path | None = None, known_slugs: set[str] | None = None
) -> AccessSettings:
    """conf/access.yaml, validated (ConfigError naming the file and field); the default
    (owner-only, no groups) when the conf folder has no access.yaml."""
    from relief.jobs.config import ConfigError, conf_dir, load_counties, load_model

    folder = directory or conf_dir()
    path = folder / ACCESS_FILE
    if not path.is_file():
        return AccessSettings()
    settings = load_model(path, AccessSettings)
    slugs = known_slugs if known_slugs is not None else set(load_counties(folder).by_slug())
    unknown = sorted(set(settings.counties) - slugs)
    if unknown:
        raise ConfigError(
            f"{path}: invalid configuration\n  counties: {', '.join(unknown)} is not a county "
            "slug of counties.yaml (e.g. los-angeles)"
        )
    return settings


@dataclass(frozen=True)
class Gids:
    """The configured groups as group ids (checked to exist on this machine)."""

    readers: int | None
    counties: Mapping[str, int]


def resolve_groups(settings: AccessSettings) -> Gids:
    """Group ids of the configured groups; AccessError naming a group that does not exist."""

    def gid(name: str, setting: str) -> int:
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            raise AccessError(
                f"conf/{ACCESS_FILE} {setting}: no group {name!r} on this machine (create it: "
                f"groupadd {name}), or remove the setting"
            ) from None

    readers = gid(settings.readers_group, "readers_group") if settings.readers_group else None
    counties = {
        slug: gid(c.group, f"counties.{slug}.group") for slug, c in settings.counties.items()
    }
    gids = Gids(readers, counties)
    if os.geteuid() != 0:
        mine = set(os.getgroups()) | {os.getegid()}
        for name, number in _named(settings, gids):
            if number not in mine:
                raise AccessError(
                    f"conf/{ACCESS_FILE}: this user is not a member of group {name!r}, so it "
                    f"cannot give the warehouse's files to it: usermod -aG {name} "
                    f"{_user_name()} (then log in again), or remove the setting"
                )
    return gids


def _named(settings: AccessSettings, gids: Gids) -> list[tuple[str, int]]:
    named = [(settings.readers_group, gids.readers)] if settings.readers_group else []
    named += [(settings.counties[s].group, g) for s, g in gids.counties.items()]
    return [(str(n), int(g)) for n, g in named if g is not None]


def _user_name() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


@contextmanager
def owner_only() -> Iterator[None]:
    """Files and folders created meanwhile (also by child processes started meanwhile, such
    as a local Spark JVM) get no group or other permissions."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


# --- files relief writes for people (pulls, packets, diffs, reports): owner-only, whole --


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


def _set(path: Path, mode: int, gid: int | None) -> None:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return  # never follow a link out of the warehouse; readers refuse links anyway
    if gid is not None and info.st_gid != gid:
        try:
            os.chown(path, -1, gid, follow_symlinks=False)
        except PermissionError:
            raise AccessError(
                f"{path}: cannot give it to group {grp.getgrgid(gid).gr_name}: the user running "
                "relief must be a member of every group in conf/access.yaml (usermod -aG)"
            ) from None
    if stat.S_IMODE(info.st_mode) != mode:
        os.chmod(path, mode, follow_symlinks=False)


def _tree(top: Path, gid: int | None) -> None:
    """Every folder and file under ``top`` private (gid None) or readable by group ``gid``."""
    dir_mode, file_mode = (PRIVATE_DIR, PRIVATE_FILE) if gid is None else (SHARED_DIR, SHARED_FILE)
    if top.is_symlink() or not top.exists():
        return
    if not top.is_dir():
        _set(top, file_mode, gid)
        return
    _set(top, dir_mode, gid)
    for folder, dirs, files in os.walk(top, followlinks=False):
        base = Path(folder)
        for name in dirs:
            _set(base / name, dir_mode, gid)
        for name in files:
            _set(base / name, file_mode, gid)


def secure_warehouse(
    location: Path | str | StorePath,
    settings: AccessSettings | None = None,
    gids: Gids | None = None,
) -> None:
    """Give every folder and file of the warehouse its mode and group (module docstring):
    the groups of ``settings`` (default conf/access.yaml), or the group ids ``gids``.

    Idempotent and cheap (a stat per file, a chmod only where the mode differs). A remote
    warehouse (object store, HDFS) is left alone. Raises AccessError for a configured group
    missing on this machine or one the running user cannot give files to.
    """
    if not fs.is_local(str(location)):
        return
    root = Path(fs.local_path(str(location)))
    if not root.is_dir():
        return
    if gids is None:
        gids = resolve_groups(settings or load_access())
    readers = gids.readers
    _set(root, READERS_DIR if readers is not None else PRIVATE_DIR, readers)
    for child in sorted(root.iterdir()):
        if child.name == "counties" and child.is_dir() and not child.is_symlink():
            _set(child, READERS_DIR if readers is not None else PRIVATE_DIR, readers)
            for table in sorted(child.iterdir()):
                _tree(table, gids.counties.get(table.name))
        elif child.name in ("runs", LOCK_FILE) and readers is not None:
            _tree(child, readers)
        else:
            _tree(child, None)


LOCK_FILE = "_relief_run.lock"  # lock.LOCK_NAME (readers look at it to tell a live run)
