"""What is published: the table versions the latest succeeded ledger row names.

DESIGN.md, "The ledger defines what is published". A run commits its table versions first
and its final ledger row last; only that row makes them visible. Every reader (county pull
and packet, report, audit history/diff/explain/verify, ``relief quarantine``) asks this
module which version to serve, never the table for its newest version: a run killed between
two county commits leaves versions nobody serves, and the next run (or ``relief recover``)
rolls them back.

A statewide run names a version of every county table (an empty one where the extract has
none of the county's rows); a ``--counties`` run names the versions of the counties it left
as they were with ``carried_from``. For ledgers written before that, a county the latest
*partial* run does not name is looked up in the runs before it, down to the latest
statewide run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.storage import Warehouse

QUARANTINE = "quarantine"
SUMMARY = "summary"


@dataclass(frozen=True)
class PublishedVersion:
    """One table's published version and the run that wrote it."""

    table: str  # a county slug, "quarantine" or "summary"
    version: int
    written_by: str  # the run whose commit this version is
    named_by: str  # the succeeded run whose ledger row publishes it
    rows: int | None = None
    policy_hash: str | None = None


@dataclass(frozen=True)
class Publication:
    """The warehouse as readers see it."""

    run: Mapping[str, Any] | None  # the latest succeeded ledger row; None: nothing published
    counties: dict[str, PublishedVersion] = field(default_factory=dict)
    quarantine: PublishedVersion | None = None
    summary: PublishedVersion | None = None

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else str(self.run["run_id"])

    def county(self, slug: str) -> PublishedVersion | None:
        return self.counties.get(slug)

    def table(self, name: str) -> PublishedVersion | None:
        if name == QUARANTINE:
            return self.quarantine
        if name == SUMMARY:
            return self.summary
        return self.counties.get(name)

    def describe(self) -> str:
        """``run <id> (compute-at <date>, finished <time>)`` or a sentence saying none."""
        if self.run is None:
            return "no run has succeeded yet: nothing is published"
        finished = self.run.get("finished_at")
        when = f", finished {finished:%Y-%m-%d %H:%M:%S} UTC" if finished else ""
        return f"run {self.run_id} (compute-at {self.run.get('compute_at')}{when})"


def succeeded(runs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in runs if r["status"] == ledger.STATUS_SUCCEEDED]


def publication_of(runs: Sequence[Mapping[str, Any]]) -> Publication:
    """The publication a ledger (``ledger.read_runs``, oldest first) defines."""
    done = succeeded(runs)
    if not done:
        return Publication(run=None)
    counties: dict[str, PublishedVersion] = {}
    for run in reversed(done):
        for entry in run.get("county_versions") or []:
            slug = entry["county"]
            if slug not in counties:
                counties[slug] = PublishedVersion(
                    table=slug,
                    version=int(entry["version"]),
                    written_by=str(entry.get("carried_from") or run["run_id"]),
                    named_by=str(run["run_id"]),
                    rows=entry.get("rows"),
                    policy_hash=entry.get("policy_hash"),
                )
        if run.get("counties_requested") is None:
            break  # a statewide run named every county it published; older runs are replaced
    return Publication(
        run=done[-1],
        counties=counties,
        quarantine=_appended(done, "quarantine_version", QUARANTINE),
        summary=_appended(done, "summary_version", SUMMARY),
    )


def _appended(done: Sequence[Mapping[str, Any]], key: str, table: str) -> PublishedVersion | None:
    """An append-only table (quarantine, summary): the version the newest succeeded run that
    appended to it names (a run with nothing to append leaves it as it was)."""
    for run in reversed(done):
        if run.get(key) is not None:
            run_id = str(run["run_id"])
            return PublishedVersion(table, int(run[key]), written_by=run_id, named_by=run_id)
    return None


def publication(warehouse: Warehouse) -> Publication:
    return publication_of(ledger.read_runs(warehouse))
