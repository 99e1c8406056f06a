"""``relief audit verify``: every version of every county table (and of the summary and
quarantine tables) must have been written by a run the ledger records as succeeded, which
names that table and version; and every version the ledger names must exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs.audit.common import (
    NONE_SHOWN,
    STATUS_INCOMPLETE,
    STATUS_RUNNING,
    STATUS_SUCCEEDED,
    AuditError,
    TableLog,
    commit_text,
    read_ledger,
    short_hash,
    table_log,
    text_table,
)
from jobs.warehouse.storage import Warehouse

# --- verify ---------------------------------------------------------------------------------

SUMMARY_TABLE = "summary"
QUARANTINE_TABLE = "quarantine"


@dataclass(frozen=True)
class Unaccounted:
    table: str  # a county slug, "summary" or "quarantine"
    version: int
    run_id: str | None
    problem: str

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "version": self.version,
            "run_id": self.run_id,
            "problem": self.problem,
        }


@dataclass
class VerifyReport:
    tables: int = 0
    versions: int = 0
    problems: list[Unaccounted] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tables": self.tables,
            "versions": self.versions,
            "problems": [p.to_json() for p in self.problems],
        }


def _run_problem(run_id: str | None, run: Mapping[str, Any] | None) -> str | None:
    if run_id is None:
        return "its commit names no run: written outside relief"
    if run is None:
        return f"run {run_id} is not in the runs ledger: written outside relief or ledger lost"
    status = run["status"]
    if status == STATUS_INCOMPLETE:
        return f"run {run_id} never finished (ledger status incomplete): it died after committing"
    if status == STATUS_RUNNING:
        return f"run {run_id} is still running: verify again when it has finished"
    if status != STATUS_SUCCEEDED:
        return f"run {run_id} ended {status}, not succeeded: it should have committed nothing"
    return None


def _county_claims(runs: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """(county, version) -> the county_versions entry of the succeeded run that names it."""
    claims: dict[tuple[str, int], dict[str, Any]] = {}
    for run in runs:
        if run["status"] != STATUS_SUCCEEDED:
            continue
        for entry in run.get("county_versions") or []:
            claims[(entry["county"], int(entry["version"]))] = {**entry, "run_id": run["run_id"]}
    return claims


def _verify_county(
    slug: str,
    log: TableLog,
    runs: Mapping[str, Mapping[str, Any]],
    claims: Mapping[tuple[str, int], Mapping[str, Any]],
) -> list[Unaccounted]:
    problems = []
    for version in sorted(log.commits):
        commit = log.commits[version]
        run_id = commit_text(commit, "run_id")
        problem = _run_problem(run_id, runs.get(run_id) if run_id else None)
        claim = claims.get((slug, version))
        if problem is None and (claim is None or claim["run_id"] != run_id):
            problem = f"run {run_id} succeeded but its ledger row does not name version {version}"
            if claim is not None:
                problem += f" (the ledger gives version {version} to run {claim['run_id']})"
        if problem is None and claim is not None:
            stored = commit_text(commit, "policy_hash")
            if claim.get("policy_hash") and stored != claim["policy_hash"]:
                problem = (
                    f"policy hash in the commit ({short_hash(stored)}) differs from the "
                    f"ledger's ({short_hash(claim['policy_hash'])})"
                )
            else:
                rows = log.rows(version)
                if claim.get("rows") is not None and rows is not None and rows != claim["rows"]:
                    problem = (
                        f"the version holds {rows:,} rows but run {run_id} recorded "
                        f"{claim['rows']:,}"
                    )
        if problem is not None:
            problems.append(Unaccounted(slug, version, run_id, problem))
    return problems


def _verify_run_table(
    name: str,
    log: TableLog | None,
    runs: Sequence[Mapping[str, Any]],
    by_id: Mapping[str, Mapping[str, Any]],
    ledger_key: str,
    checked: list[int],
) -> list[Unaccounted]:
    """The summary or quarantine table: each version is named by one succeeded run."""
    claims = {
        int(run[ledger_key]): run["run_id"]
        for run in runs
        if run["status"] == STATUS_SUCCEEDED and run.get(ledger_key) is not None
    }
    problems = []
    commits = log.commits if log is not None else {}
    checked.append(len(commits))
    for version in sorted(commits):
        run_id = commit_text(commits[version], "run_id")
        problem = _run_problem(run_id, by_id.get(run_id) if run_id else None)
        if problem is None and claims.get(version) != run_id:
            problem = f"run {run_id} succeeded but its ledger row does not name version {version}"
        if problem is not None:
            problems.append(Unaccounted(name, version, run_id, problem))
    for version, run_id in sorted(claims.items()):
        if version not in commits:
            problems.append(
                Unaccounted(
                    name, version, run_id, f"run {run_id} recorded this version; it is missing"
                )
            )
    return problems


def verify_warehouse(warehouse: Path) -> VerifyReport:
    """Re-derive from the ledger and the Delta logs that every table version was written by a
    recorded, succeeded run that names it, and that every version the ledger names exists."""
    home = Warehouse(warehouse)
    if not warehouse.is_dir():
        raise AuditError(f"{warehouse}: no such warehouse directory", exit_code=2)
    runs = read_ledger(warehouse)
    by_id = {r["run_id"]: r for r in runs}
    claims = _county_claims(runs)
    report = VerifyReport()
    seen: set[tuple[str, int]] = set()
    for slug in home.county_slugs():
        log = table_log(home.county(slug))
        report.tables += 1
        report.versions += len(log.commits)
        seen.update((slug, v) for v in log.commits)
        report.problems += _verify_county(slug, log, by_id, claims)
    for (slug, version), claim in sorted(claims.items()):
        if (slug, version) not in seen:
            report.problems.append(
                Unaccounted(
                    slug,
                    version,
                    claim["run_id"],
                    f"run {claim['run_id']} recorded version {version} of this county's table; "
                    "it is missing",
                )
            )
    for name, path, key in (
        (SUMMARY_TABLE, home.summary, "summary_version"),
        (QUARANTINE_TABLE, home.quarantine, "quarantine_version"),
    ):
        run_log = table_log(path) if (path / "_delta_log").is_dir() else None
        counted: list[int] = []
        report.problems += _verify_run_table(name, run_log, runs, by_id, key, counted)
        if run_log is not None:
            report.tables += 1
            report.versions += counted[0]
    return report


def render_verify(report: VerifyReport, warehouse: Path) -> str:
    head = f"{warehouse}: {report.versions:,} version(s) of {report.tables} table(s) checked"
    if report.ok:
        return (
            f"{head}; every version was written by a recorded, succeeded run that names it, "
            "and every version the ledger names exists."
        )
    lines = [f"{head}; {len(report.problems)} NOT accounted for:"]
    rows = [[p.table, str(p.version), p.run_id or NONE_SHOWN, p.problem] for p in report.problems]
    lines += ["  " + line for line in text_table(["TABLE", "VERSION", "RUN", "PROBLEM"], rows)]
    return "\n".join(lines)
