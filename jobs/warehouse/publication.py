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
from relief.transforms.columns import POLICY_HASH, RUN_ID

QUARANTINE = "quarantine"
SUMMARY = "summary"
GRANTS = "grants"  # the law packs' grants (grants.py), append-only like quarantine


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
    grants: PublishedVersion | None = None

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else str(self.run[RUN_ID])

    def county(self, slug: str) -> PublishedVersion | None:
        return self.counties.get(slug)

    def table(self, name: str) -> PublishedVersion | None:
        if name == QUARANTINE:
            return self.quarantine
        if name == SUMMARY:
            return self.summary
        if name == GRANTS:
            return self.grants
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
                    written_by=str(entry.get("carried_from") or run[RUN_ID]),
                    named_by=str(run[RUN_ID]),
                    rows=entry.get("rows"),
                    policy_hash=entry.get(POLICY_HASH),
                )
        if run.get("counties_requested") is None:
            break  # a statewide run named every county it published; older runs are replaced
    return Publication(
        run=done[-1],
        counties=counties,
        quarantine=_appended(done, "quarantine_version", QUARANTINE),
        summary=_appended(done, "summary_version", SUMMARY),
        grants=_appended(done, "grants_version", GRANTS),
    )


def _appended(done: Sequence[Mapping[str, Any]], key: str, table: str) -> PublishedVersion | None:
    """An append-only table (quarantine, summary, grants): the version the newest succeeded run that
    appended to it names (a run with nothing to append leaves it as it was)."""
    for run in reversed(done):
        if run.get(key) is not None:
            run_id = str(run[RUN_ID])
            return PublishedVersion(table, int(run[key]), written_by=run_id, named_by=run_id)
    return None


def publication(warehouse: Warehouse) -> Publication:
    return publication_of(ledger.read_runs(warehouse))


def shrink_message(
    published: Publication,
    rows: Mapping[str, int],
    min_share: float,
    min_rows: int,
) -> str | None:
    """One line saying which county tables would keep less than ``min_share`` of the rows
    their published version holds (tables published with fewer than ``min_rows`` rows are not
    held to it), or None. ``rows``: the rows a run would commit, by county slug.

    A run over a truncated, misread or wrong extract (every line quarantined, a pipe-delimited
    file, one county's file given as the state's) would otherwise replace the counties'
    records with a fraction of them; the caller stops before publishing unless told the
    shrink is meant (``relief run --allow-shrink``)."""
    if published.run is None:
        return None
    shrunk: list[tuple[str, int, int]] = []
    for slug, new in sorted(rows.items()):
        entry = published.county(slug)
        before = None if entry is None else entry.rows
        if before is None or before < max(min_rows, 1):
            continue
        if new < before * min_share:
            shrunk.append((slug, before, new))
    if not shrunk:
        return None
    before_total = sum(b for _, b, _ in shrunk)
    new_total = sum(n for _, _, n in shrunk)
    listed = ", ".join(f"{slug} {b:,} -> {n:,}" for slug, b, n in shrunk[:5])
    more = f" and {len(shrunk) - 5} more" if len(shrunk) > 5 else ""
    return (
        f"this run would publish {new_total:,} rows where run {published.run_id} publishes "
        f"{before_total:,} in {len(shrunk)} county table(s) that would keep less than "
        f"{min_share:.0%} of their rows ({listed}{more}); nothing was published. Check the "
        "extract; if the smaller tables are meant, run again with --allow-shrink "
        "(pipeline.yaml relief.shrink_min_share sets the share)"
    )
