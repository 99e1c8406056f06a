"""Reading one county's Delta table: the published version (or the one asked for), rows in
input order, its commit.

The version served by default is the one the latest succeeded run's ledger row names
(publication.py), never simply the table's newest: a newer version is a dead or failed run's,
and nobody is served it. ``--version N`` and ``--run RUN_ID`` read another version, and the
reader says whether it is published.

No Spark: counties and auditors read their tables with delta-rs and pyarrow only.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from relief.jobs.config import load_counties
from relief.jobs.warehouse import fs, ledger
from relief.jobs.warehouse.fs import Location, StorePath
from relief.jobs.warehouse.publication import Publication, PublishedVersion, publication_of
from relief.jobs.warehouse.storage import (
    LocationError,
    TableUnreadable,
    Warehouse,
    commit_history,
    first_line,
    open_table,
    read_arrow,
    table_exists,
)
from relief.transforms.columns import (
    COMPUTE_AT,
    INPUT_INDEX,
    RECORD_ID,
    RUN_ID,
    SOURCE_LINE,
)
from relief.transforms.vocabulary import Counties, County, UnknownCounty


class PullError(Exception):
    """A pull that cannot be done; the message says why and what to do. exit_code: 1 or 2."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --- finding and reading the county's table ------------------------------------------------


def resolve_county(name: str, counties: Counties | None = None) -> County:
    """The county a person named (Counties.resolve: name, slug or DOJ code, any case, with or
    without "County"); unknown: PullError exit 2 with a did-you-mean."""
    counties = counties or load_counties()
    try:
        return counties.require(name)
    except UnknownCounty as exc:
        raise PullError(str(exc), exit_code=2) from None


def open_warehouse(location: str | Path | StorePath) -> Warehouse:
    """The warehouse at ``location`` for a reader; PullError (exit 2) when there is none."""
    try:
        warehouse = Warehouse(location)
    except LocationError as exc:
        raise PullError(f"--warehouse {exc}", exit_code=2) from None
    if not warehouse.exists():
        raise PullError(f"{location}: no such warehouse directory", exit_code=2)
    return warehouse


@dataclass(frozen=True)
class ReaderContext:
    """One reader command's view of the warehouse, opened once and passed down: the
    warehouse, ONE read of the runs ledger and what that read publishes. Everything a command
    (report, audit history/diff/explain/verify/runs, county pull and packet, quarantine)
    shows comes from it, so a run that publishes while the command works cannot make one
    output name two publications."""

    warehouse: Warehouse
    runs: tuple[dict[str, Any], ...]  # ledger.read_runs: latest row of every run, oldest first
    publication: Publication

    def runs_by_id(self) -> dict[str, dict[str, Any]]:
        return {row[RUN_ID]: row for row in self.runs}

    def latest_succeeded(self) -> dict[str, Any] | None:
        done = [r for r in self.runs if r["status"] == ledger.STATUS_SUCCEEDED]
        return done[-1] if done else None


Readable = str | Path | StorePath | ReaderContext  # what a reader function accepts


def open_reader(location: Readable) -> ReaderContext:
    """The context of ``location`` (a context is returned as it is); PullError (exit 2) when
    there is no warehouse there, exit 1 when the ledger may not be read."""
    if isinstance(location, ReaderContext):
        return location
    home = open_warehouse(location)
    try:
        runs = ledger.read_runs(home)
    except PermissionError:
        raise PullError(denied(home.runs)) from None
    return ReaderContext(home, tuple(runs), publication_of(runs))


def check_table_place(home: Warehouse, path: Path) -> None:  # a local table
    """Refuse (PullError) a county table that is a symbolic link or lies, once every link
    is followed, anywhere but directly in ``<warehouse>/counties``: a link there could serve
    the quarantine, another county's table or any folder as this county's table. Its Delta
    log must be a real folder inside it."""
    counties, root = home.counties, home.root
    assert isinstance(counties, Path) and isinstance(root, Path)  # a local warehouse
    where = f"{path}"
    fix = (
        "relief reads a county's table only from a real folder in <warehouse>/counties; "
        "remove the link and run `relief run` (docs/operations.md, Access)"
    )
    for item in (counties, path, path / "_delta_log"):
        if item.is_symlink():
            raise PullError(
                f"{item} is a symbolic link (to {os.readlink(item)}): refusing to read it. {fix}"
            )
    inside = root.resolve() / "counties"
    real = path.resolve()
    if real.parent != inside or (path / "_delta_log").resolve().parent != real:
        raise PullError(f"{where} resolves to {real}, outside {inside}: refusing. {fix}")


def denied(path: Location) -> str:
    return (
        f"cannot read {path}: permission denied. This account may read only the county "
        "tables conf/access.yaml gives its groups (docs/operations.md, Access)"
    )


def check_table_access(home: Warehouse, path: Location) -> None:
    """PullError when the county table at ``path`` is a link or lies outside
    ``<warehouse>/counties`` (:func:`check_table_place`), or this account may not read it."""
    if isinstance(path, StorePath):  # an object store: access is the store's (IAM) to give
        return
    try:
        if fs.is_local(str(path)):
            assert isinstance(path, Path)
            check_table_place(home, path)
            if path.exists():
                os.listdir(path)  # a folder of another county's group: refused here, plainly
    except PermissionError:
        raise PullError(denied(path)) from None


def check_data_files(path: Location, files: list[str]) -> None:
    """Refuse a snapshot whose data files are links or lie outside its table folder (a
    local table; on an object store there are no links)."""
    if isinstance(path, StorePath):
        return
    real = path.resolve()
    for uri in files:
        if not fs.is_local(uri):
            continue
        file = Path(fs.local_path(uri))
        if file.is_symlink() or real not in file.resolve().parents:
            raise PullError(
                f"{path}: its data file {file.name} is a symbolic link or lies outside the "
                "table folder: refusing to read it. relief reads a county's table only from a "
                "real folder in <warehouse>/counties; remove the link and run `relief run` "
                "(docs/operations.md, Access)"
            )


@dataclass(frozen=True)
class CountySnapshot:
    """One version of a county's table, rows in input order, with its commit metadata."""

    county: County
    path: Location
    version: int
    latest_version: int
    commit: Mapping[str, Any]
    table: pa.Table
    published: PublishedVersion | None = None  # the county's published version, if any
    publication_run: str | None = None  # the latest succeeded run

    @property
    def run_id(self) -> str | None:
        value = self.commit.get(RUN_ID)
        return str(value) if value is not None else None

    def served(self) -> str:
        """Which version this is and whether readers are served it, in one phrase."""
        return served_text(self.version, self.run_id, self.published, self.publication_run)

    @property
    def compute_at(self) -> dt.date | None:
        value = self.commit.get(COMPUTE_AT)
        if not value:
            return None
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return None

    def require_compute_at(self) -> dt.date:
        day = self.compute_at
        if day is None:
            raise PullError(
                f"{self.path}: version {self.version} has no compute_at in its commit "
                "metadata; ages and 'years since' cannot be measured"
            )
        return day


def served_text(
    version: int,
    run_id: str | None,
    published: PublishedVersion | None,
    publication_run: str | None,
) -> str:
    """``version 3 (run R), published by run R`` / ``... NOT published ...``."""
    head = f"version {version} (run {run_id or 'unknown'})"
    if published is not None and published.version == version:
        if published.named_by == published.written_by:
            return f"{head}, published by run {published.named_by}"
        return f"{head}, published by run {published.named_by}, which left it as it was"
    if published is None:
        nothing = (
            "no run has succeeded yet"
            if publication_run is None
            else f"the latest succeeded run {publication_run} publishes no version of this table"
        )
        return f"{head}, NOT published ({nothing})"
    return (
        f"{head}, NOT the published version (that is version {published.version}, "
        f"published by run {published.named_by})"
    )


def not_published_message(label: str, path: Location, pub: Publication) -> str:
    if pub.run is None:
        return (
            f"{label}: nothing is published at {path.parent.parent}: no run has succeeded "
            "yet (run `relief run`, or give --version N to read an unpublished version)"
        )
    return (
        f"{label}: the latest succeeded run {pub.run_id} publishes no version of its table "
        f"(an older relief wrote no table for a county without rows); run `relief run` again, "
        "or give --version N"
    )


def in_input_order(table: pa.Table) -> pa.Table:
    """Rows sorted by (INPUT_INDEX, SOURCE_LINE), the extract's own order."""
    keys = [c for c in (INPUT_INDEX, SOURCE_LINE, RECORD_ID) if c in table.column_names]
    if not keys or table.num_rows == 0:
        return table
    return table.sort_by([(k, "ascending") for k in keys])


def run_version(
    runs: list[dict[str, Any]], history: Mapping[int, Mapping[str, Any]], slug: str, run_id: str
) -> int | None:
    """The version of the county's table that ``run_id`` wrote or published: its ledger row
    first (it also names versions a --counties run left as they were), else the commits."""
    for run in runs:
        if run[RUN_ID] == run_id and run["status"] == ledger.STATUS_SUCCEEDED:
            for entry in run.get("county_versions") or []:
                if entry["county"] == slug:
                    return int(entry["version"])
    matches = [v for v, c in history.items() if c.get(RUN_ID) == run_id]
    return max(matches) if matches else None


def open_snapshot(
    warehouse: Readable,
    county: County,
    version: int | None = None,
    run_id: str | None = None,
) -> CountySnapshot:
    """Read ``<warehouse>/counties/<slug>``: the published version by default, else the
    ``version`` or the version of run ``run_id``."""
    if version is not None and run_id is not None:
        raise PullError("give --version or --run, not both", exit_code=2)
    context = open_reader(warehouse)
    home, runs, pub = context.warehouse, list(context.runs), context.publication
    path = home.county(county.slug)
    label = county.name.title()
    check_table_access(home, path)
    published = pub.county(county.slug)
    if not table_exists(path):
        if published is not None:
            raise PullError(
                f"{label}: run {published.named_by} publishes version {published.version} of "
                f"{path}, but there is no table there (deleted or moved?): see "
                "`relief audit verify`"
            )
        raise PullError(
            f"{label} has no county table at {path}: no run has written one (run "
            "`relief run`; every statewide run writes a table for each county)"
        )
    try:
        latest = open_table(path)
        assert latest is not None
        latest_version = latest.version()
        history = commit_history(latest)
        if run_id is not None:
            version = run_version(runs, history, county.slug, run_id)
            if version is None:
                known = ", ".join(
                    f"{c.get('run_id')} (version {v})"
                    for v, c in sorted(history.items())
                    if c.get(RUN_ID)
                )
                raise PullError(
                    f"run {run_id!r} wrote no version of {label}'s table. "
                    f"Runs in its history: {known or 'none recorded'}",
                    exit_code=2,
                )
        if version is None:
            if published is None:
                raise PullError(not_published_message(label, path, pub))
            version = published.version
        if not 0 <= version <= latest_version:
            raise PullError(
                f"{label}'s table has versions 0 to {latest_version}; there is no version "
                f"{version}",
                exit_code=2,
            )
        snapshot = latest if version == latest_version else open_table(path, version)
        assert snapshot is not None
        check_data_files(path, snapshot.file_uris())
        table = read_arrow(path, snapshot)
    except PermissionError:
        raise PullError(denied(path)) from None
    except PullError:
        raise
    except TableUnreadable as exc:
        raise PullError(str(exc)) from None
    except Exception as exc:  # deltalake raises its own error types for a bad table/version
        which = "its Delta log" if version is None else f"version {version}"
        raise PullError(f"cannot read {which} of {path}: {first_line(exc)}") from None
    return CountySnapshot(
        county=county,
        path=path,
        version=version,
        latest_version=latest_version,
        commit=history.get(version, {}),
        table=in_input_order(table),
        published=published,
        publication_run=pub.run_id,
    )
