"""``relief audit verify``: every version of every county table (and of the summary and
quarantine tables) is accounted for by the runs ledger, and every table's newest state is the
one the ledger publishes.

A version is accounted for when it is

- written by a run the ledger records as succeeded, whose final row names that table and
  version (with the same policy hash and row count);
- a recovery's restore (storage.RESTORE_KEY) of a version a succeeded run published; or
- written by a run that did not succeed (it died or failed) and was then undone: an older
  version than the published one, or followed by a restore of the published one.

A version newer than the published one that nobody undid is *unpublished*: readers are not
served it, and ``relief recover`` rolls it back. Every version the ledger names must exist,
and every data file of every such version must be there and open as Parquet (its footer is
read): a reader of that version would fail on it.

Exit codes (``relief audit verify``): 0 clean; 1 needs recovery (only problems
``relief recover`` fixes: versions of runs that died, a newest version that is not the
published one); 3 damaged (a file or version the ledger publishes is missing or unreadable, a
log cannot be read, a version nobody accounts for: a person restores from a backup); 2 bad
usage (no such warehouse).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relief.jobs.audit.common import (
    NONE_SHOWN,
    STATUS_INCOMPLETE,
    STATUS_RUNNING,
    STATUS_SUCCEEDED,
    TableLog,
    commit_text,
    reader,
    short_hash,
    table_log,
    text_table,
)
from relief.jobs.warehouse.publication import (
    QUARANTINE,
    SUMMARY,
    PublishedVersion,
)
from relief.jobs.warehouse.snapshots import Readable
from relief.jobs.warehouse.storage import (
    TableUnreadable,
    restore_info,
    table_exists,
    unreadable_files,
)
from relief.transforms.columns import POLICY_HASH, RUN_ID

# --- verify ---------------------------------------------------------------------------------


EXIT_CLEAN = 0
EXIT_NEEDS_RECOVERY = 1
EXIT_DAMAGED = 3
NEEDS_RECOVERY = "needs_recovery"  # `relief recover` fixes it
DAMAGED = "damaged"  # a person restores from a backup


@dataclass(frozen=True)
class Unaccounted:
    table: str  # a county slug, "summary" or "quarantine"
    version: int | None  # None: the table's log cannot be read
    run_id: str | None
    problem: str
    kind: str = DAMAGED

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "version": self.version,
            RUN_ID: self.run_id,
            "problem": self.problem,
            "kind": self.kind,
        }


@dataclass
class VerifyReport:
    tables: int = 0
    versions: int = 0
    problems: list[Unaccounted] = field(default_factory=list)
    published_by: str | None = None  # the latest succeeded run
    rolled_back: int = 0  # versions of runs that did not succeed, since undone
    restores: int = 0  # versions written by recoveries
    files: int = 0  # data files opened (every file of every version the ledger names)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        if any(p.kind == DAMAGED for p in self.problems):
            return EXIT_DAMAGED
        return EXIT_NEEDS_RECOVERY if self.problems else EXIT_CLEAN

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "status": {0: "clean", 1: NEEDS_RECOVERY, 3: DAMAGED}[self.exit_code],
            "exit_code": self.exit_code,
            "files": self.files,
            "tables": self.tables,
            "versions": self.versions,
            "published_by": self.published_by,
            "rolled_back": self.rolled_back,
            "restores": self.restores,
            "problems": [p.to_json() for p in self.problems],
        }


@dataclass(frozen=True)
class Claim:
    """A succeeded run's ledger row naming a table version."""

    named_by: str
    written_by: str
    entry: Mapping[str, Any]


def _claims(runs: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int], list[Claim]]:
    """(table, version) -> every succeeded run's ledger entry naming it."""
    claims: dict[tuple[str, int], list[Claim]] = {}
    for run in runs:
        if run["status"] != STATUS_SUCCEEDED:
            continue
        run_id = str(run[RUN_ID])
        for entry in run.get("county_versions") or []:
            writer = str(entry.get("carried_from") or run_id)
            key = (entry["county"], int(entry["version"]))
            claims.setdefault(key, []).append(Claim(run_id, writer, entry))
        for name, column in ((SUMMARY, "summary_version"), (QUARANTINE, "quarantine_version")):
            if run.get(column) is not None:
                key = (name, int(run[column]))
                claims.setdefault(key, []).append(Claim(run_id, run_id, {}))
    return claims


def _newest_is_published(log: TableLog, published: PublishedVersion | None) -> bool:
    if published is None:
        return False
    if log.latest_version == published.version:
        return True
    restored = restore_info(log.commits.get(log.latest_version, {}))
    return restored is not None and restored[1] == published.version


def _run_problem(run_id: str | None, run: Mapping[str, Any] | None) -> str | None:
    if run_id is None:
        return "its commit names no run: written outside relief"
    if run is None:
        return f"run {run_id} is not in the runs ledger: written outside relief or ledger lost"
    if run["status"] == STATUS_RUNNING:
        return f"run {run_id} is still running: verify again when it has finished"
    return None


def _kind(problem: str) -> str:
    """What fixes a problem: `relief recover` (a dead run's versions), or a person."""
    recoverable = ("unpublished:", "is still running", "`relief recover` restores it")
    return NEEDS_RECOVERY if any(text in problem for text in recoverable) else DAMAGED


def _verify_table(
    name: str,
    log: TableLog,
    runs: Mapping[str, Mapping[str, Any]],
    claims: Mapping[tuple[str, int], list[Claim]],
    published: PublishedVersion | None,
    report: VerifyReport,
) -> list[Unaccounted]:
    problems: list[Unaccounted] = []
    newest_ok = _newest_is_published(log, published)
    target = None if published is None else published.version
    for version in sorted(log.commits):
        commit = log.commits[version]
        run_id = commit_text(commit, RUN_ID)
        restored = restore_info(commit)
        if restored is not None:
            report.restores += 1
            if not claims.get((name, restored[1])):
                problems.append(
                    Unaccounted(
                        name,
                        version,
                        run_id,
                        f"a restore by {restored[0]} of version {restored[1]}, which no "
                        "succeeded run published",
                    )
                )
            continue
        run = runs.get(run_id) if run_id else None
        problem = _run_problem(run_id, run)
        if problem is None and run is not None and run["status"] != STATUS_SUCCEEDED:
            newer = target is None or version > target
            if newer and not newest_ok:
                status = run["status"]
                died = "died" if status == STATUS_INCOMPLETE else f"ended {status}"
                serves = (
                    f"readers are served version {target}"
                    if target is not None
                    else "no succeeded run publishes this table"
                )
                problem = (
                    f"unpublished: run {run_id} {died} after committing it; {serves}. "
                    "`relief recover` rolls it back"
                )
            else:
                report.rolled_back += 1
        elif problem is None:
            named = claims.get((name, version), [])
            if not any(c.written_by == run_id for c in named):
                problem = (
                    f"run {run_id} succeeded but its ledger row does not name version {version}"
                )
                if named:
                    problem += f" (the ledger gives version {version} to run {named[0].written_by})"
            else:
                problem = _claim_problem(log, version, run_id, named)
        if problem is not None:
            problems.append(Unaccounted(name, version, run_id, problem, _kind(problem)))
    if published is not None and not newest_ok:
        flagged = {p.version for p in problems}
        if log.latest_version not in flagged:
            problems.append(
                Unaccounted(
                    name,
                    log.latest_version,
                    commit_text(log.commits.get(log.latest_version, {}), RUN_ID),
                    f"the newest version is not the published version {published.version} "
                    f"(run {published.named_by}); `relief recover` restores it",
                    NEEDS_RECOVERY,
                )
            )
    return problems


def _claim_problem(
    log: TableLog, version: int, run_id: str | None, named: Sequence[Claim]
) -> str | None:
    commit = log.commits[version]
    for claim in named:
        expected = claim.entry.get(POLICY_HASH)
        stored = commit_text(commit, POLICY_HASH)
        if expected and stored != expected:
            return (
                f"policy hash in the commit ({short_hash(stored)}) differs from the "
                f"ledger's ({short_hash(expected)}, run {claim.named_by})"
            )
        rows = log.rows(version)
        recorded = claim.entry.get("rows")
        if recorded is not None and rows is not None and rows != recorded:
            return f"the version holds {rows:,} rows but run {claim.named_by} recorded {recorded:,}"
    return None


def verify_warehouse(warehouse: Readable) -> VerifyReport:
    """Re-derive from the ledger and the Delta logs that every table version is accounted
    for, that every table's newest state is its published one, and that every version the
    ledger names exists."""
    context = reader(warehouse)  # AuditError, exit 2: no such warehouse, or a bad path
    home, runs, publication = context.warehouse, list(context.runs), context.publication
    by_id = {str(r[RUN_ID]): r for r in runs}
    claims = _claims(runs)
    report = VerifyReport(published_by=publication.run_id)
    seen: set[tuple[str, int]] = set()
    tables = [(slug, home.county(slug)) for slug in home.county_slugs()]
    tables += [(SUMMARY, home.summary), (QUARANTINE, home.quarantine)]
    logs: dict[str, TableLog] = {}
    for name, path in tables:
        if not table_exists(path):
            continue
        try:
            log = table_log(path)
        except TableUnreadable as exc:
            report.tables += 1
            seen.update(key for key in claims if key[0] == name)  # reported here, not as missing
            report.problems.append(
                Unaccounted(name, None, None, f"its Delta log cannot be read ({exc.detail})")
            )
            continue
        logs[name] = log
        report.tables += 1
        report.versions += len(log.commits)
        seen.update((name, v) for v in log.commits)
        report.problems += _verify_table(name, log, by_id, claims, publication.table(name), report)
    for (name, version), named in sorted(claims.items()):
        if name in logs and version in logs[name].commits:
            report.problems += _verify_files(name, logs[name], version, named[0], report)
    for (name, version), named in sorted(claims.items()):
        if (name, version) not in seen:
            what = "this county's table" if name not in (SUMMARY, QUARANTINE) else "this table"
            report.problems.append(
                Unaccounted(
                    name,
                    version,
                    named[0].written_by,
                    f"run {named[0].named_by} recorded version {version} of {what}; it is missing",
                )
            )
    return report


def _verify_files(
    name: str, log: TableLog, version: int, claim: Claim, report: VerifyReport
) -> list[Unaccounted]:
    """Every data file of a version the ledger names: there, and a readable Parquet file."""
    try:
        snapshot = log.at(version)
        broken = unreadable_files(snapshot)
        report.files += len(snapshot.file_uris())
    except PermissionError:
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return [Unaccounted(name, version, claim.written_by, f"cannot be read ({first})")]
    return [
        Unaccounted(
            name,
            version,
            claim.written_by,
            f"its data file {file} is {problem} (run {claim.named_by} publishes this version; "
            "readers of it fail)",
        )
        for file, problem in broken
    ]


def render_verify(report: VerifyReport, warehouse: Path) -> str:
    head = f"{warehouse}: {report.versions:,} version(s) of {report.tables} table(s) checked"
    published = (
        f"published by run {report.published_by}"
        if report.published_by
        else "nothing published (no run has succeeded)"
    )
    extra = []
    if report.rolled_back:
        extra.append(f"{report.rolled_back} version(s) of runs that did not succeed, rolled back")
    if report.restores:
        extra.append(f"{report.restores} restore(s) by recovery")
    notes = f" ({'; '.join(extra)})" if extra else ""
    if report.ok:
        return (
            f"{head}; {published}. Every version is accounted for by the runs ledger{notes}, "
            "every table's newest state is its published one, and every version the ledger "
            f"names exists and opens ({report.files:,} data file(s) read)."
        )
    verdict = (
        "DAMAGED, restore what is listed from a backup (exit 3)"
        if report.exit_code == EXIT_DAMAGED
        else "`relief recover` fixes every one (exit 1)"
    )
    lines = [f"{head}; {published}; {len(report.problems)} NOT accounted for{notes}: {verdict}"]
    rows = [
        [p.table, NONE_SHOWN if p.version is None else str(p.version), p.run_id or NONE_SHOWN,
         p.problem]
        for p in report.problems
    ]  # fmt: skip
    lines += ["  " + line for line in text_table(["TABLE", "VERSION", "RUN", "PROBLEM"], rows)]
    return "\n".join(lines)
