"""``relief audit explain --law`` and ``relief audit diff --law`` (docs/laws.md §7, "Readers").

explain: a statewide law's decision for one row of a county table: the pack's rules in order
(conf/laws/), each with its statute citation, each predicate with its value for this row (the
stored ``<law>_decision_inputs``) and the clause it encodes, the rule that decided and why the
earlier ones did not, the parameters in force (from the commit's ``laws`` metadata, else the
pack's values now, said so), and the grant (new or earlier, and the run that first granted).

diff: between two versions of a county table, matched on ``row_key``: the later version's new
grants, the candidates whose determination or reason changed, and the granted keys that
vanished (a DOJ renumbering would make an old grant look new: each vanished key is listed
next to the new grants of the same subject, for a person to check; relief never matches on
looser keys).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from relief.jobs.audit.common import (
    AuditError,
    commit_text,
    county_named,
    published,
    table_log,
    table_path,
)
from relief.jobs.audit.explain import _inputs, _steps
from relief.jobs.config import ConfigError
from relief.jobs.config.laws import load_law_packs
from relief.jobs.county.laws import STATEWIDE_LAWS, law_view
from relief.jobs.warehouse.snapshots import PullError, not_published_message, served_text
from relief.transforms.columns import (
    CITATION,
    DECISION_INPUTS,
    DETERMINATION,
    IS_CANDIDATE,
    LAW_GRANT,
    LAW_GRANTED_RUN,
    REASON,
    RECORD_ID,
    ROW_KEY,
    RULE_ID,
    SECTION,
    SUBJECT,
)
from relief.transforms.policy import leaves

# Commit metadata of a run with law packs (written by the run, docs/laws.md §7): JSON
# {law: {"hash": ..., "parameters": {...}}}.
LAWS_METADATA = "laws"


def _check(law: str) -> None:
    if law not in STATEWIDE_LAWS:
        raise AuditError(
            f"--law {law!r}: one of {', '.join(STATEWIDE_LAWS)} (Prop 64: without --law)",
            exit_code=2,
        )


def _version(warehouse: Path, county_name: str, version: int | None) -> tuple[Any, Any, int, Any]:
    county = county_named(county_name)
    path = table_path(warehouse, county)
    log = table_log(path)
    publication = published(warehouse)
    entry = publication.county(county.slug)
    if version is None:
        if entry is None:
            raise AuditError(not_published_message(county.name.title(), path, publication))
        version = entry.version
    log.check_version(version, f"{county.name.title()}'s table")
    return county, log, version, (entry, publication)


def _view(table: pa.Table, law: str) -> pa.Table:
    try:
        return law_view(table, law)
    except PullError as exc:
        raise AuditError(str(exc), exit_code=exc.exit_code) from None


def commit_laws(commit: Mapping[str, Any]) -> dict[str, Any]:
    text = commit.get(LAWS_METADATA)
    if not text:
        return {}
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class LawExplanation:
    law: str
    county: str
    record_id: str
    served: str
    is_candidate: bool
    determination: str | None
    reason: str | None
    rule_id: str | None
    citation: str | None
    grant: str | None
    granted_run: str | None
    parameters: dict[str, Any]
    parameters_source: str
    lines: list[str] = field(default_factory=list)  # the rules, in order


def explain_law(
    warehouse: Path,
    county_name: str,
    record_id: str,
    law: str,
    version: int | None = None,
    laws_dir: Path | None = None,
) -> LawExplanation:
    """Why the row got the law's determination (module docstring)."""
    _check(law)
    county, log, version, (entry, publication) = _version(warehouse, county_name, version)
    table = _view(log.read(version, filters=[(RECORD_ID, "=", record_id)]), law)
    if table.num_rows == 0:
        raise AuditError(
            f"no record {record_id!r} of {law} in version {version} of "
            f"{county.name.title()}'s table (`relief county pull --law {law}` lists them)",
            exit_code=2,
        )
    row = table.to_pylist()[0]
    commit = log.commits.get(version, {})
    run_id = commit_text(commit, "run_id")
    recorded = commit_laws(commit).get(law) or {}
    try:
        pack = load_law_packs(laws_dir).require(law)
        parameters = recorded.get("parameters")
        source = "as the run recorded them"
        if parameters is None:
            parameters = pack.parameter_values()
            source = "the pack's values now (the run recorded none)"
        decisions = pack.decision_list(parameters)
    except (ConfigError, ValueError) as exc:
        raise AuditError(f"the {law} pack cannot be loaded: {exc}") from None
    explanation = LawExplanation(
        law=law,
        county=county.slug,
        record_id=record_id,
        served=served_text(version, run_id, entry, publication.run_id),
        is_candidate=bool(row.get(IS_CANDIDATE)),
        determination=row.get(DETERMINATION),
        reason=row.get(REASON),
        rule_id=row.get(RULE_ID),
        citation=row.get(CITATION),
        grant=row.get(LAW_GRANT),
        granted_run=row.get(LAW_GRANTED_RUN),
        parameters={k: str(v) for k, v in parameters.items()},
        parameters_source=source,
    )
    if not explanation.is_candidate:
        return explanation
    inputs = _inputs(row.get(DECISION_INPUTS))
    steps, _, _ = _steps(decisions, inputs, row.get(SECTION))
    for step, rule in zip(steps, decisions.rules, strict=True):
        clauses = {leaf.key(): leaf.clause for leaf in leaves(rule.when)}
        explanation.lines.append(
            f"{step.position:>2}. {step.rule_id} [{rule.citation}]: {step.outcome}"
            f"  -> {step.then}: {step.reason}"
        )
        for predicate in step.predicates:
            value = "not recorded" if not predicate.recorded else _truth(predicate.value)
            clause = clauses.get(predicate.key) or ""
            where = f"  ({clause})" if clause else ""
            explanation.lines.append(f"      {predicate.description} = {value}{where}")
        if step.rule_id == explanation.rule_id:
            explanation.lines.append(f"      decided by this rule: {rule.citation}")
    return explanation


def _truth(value: bool | None) -> str:
    return "unknown" if value is None else "true" if value else "false"


def render_law_explanation(explanation: LawExplanation) -> str:
    e = explanation
    lines = [f"{e.law}, {e.county}, record {e.record_id}: {e.served}"]
    if not e.is_candidate:
        lines.append(f"  not a {e.law} candidate in this county's table")
        return "\n".join(lines)
    lines += [
        f"  determination: {e.determination} ({e.reason}); rule {e.rule_id}, {e.citation}",
        f"  grant: {e.grant or '-'}" + (f" (first granted by run {e.granted_run})"
                                         if e.granted_run else ""),
        f"  parameters ({e.parameters_source}): "
        + ", ".join(f"{k}={v}" for k, v in sorted(e.parameters.items())),
        "  rules in order:",
        *(f"  {line}" for line in e.lines),
    ]  # fmt: skip
    return "\n".join(lines)


# --- diff --------------------------------------------------------------------------------


@dataclass
class LawDiff:
    law: str
    county: str
    from_version: int
    to_version: int
    new_grants: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    vanished: list[dict[str, Any]] = field(default_factory=list)  # each with "same_subject"


def _candidates(table: pa.Table) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in table.to_pylist():
        if row.get(IS_CANDIDATE) and row.get(ROW_KEY) is not None:
            out[str(row[ROW_KEY])] = row
    return out


def diff_law(
    warehouse: Path, county_name: str, law: str, from_version: int, to_version: int
) -> LawDiff:
    _check(law)
    county = county_named(county_name)
    log = table_log(table_path(warehouse, county))
    for v in (from_version, to_version):
        log.check_version(v, f"{county.name.title()}'s table")
    before = _candidates(_view(log.read(from_version), law))
    after = _candidates(_view(log.read(to_version), law))
    result = LawDiff(law, county.slug, from_version, to_version)
    for key, row in sorted(after.items()):
        if row.get(LAW_GRANT) == "new":
            result.new_grants.append(_brief(row))
        old = before.get(key)
        if old is not None and (old.get(DETERMINATION), old.get(REASON)) != (
            row.get(DETERMINATION),
            row.get(REASON),
        ):
            result.changed.append(
                {**_brief(row), "before": f"{old.get(DETERMINATION)}: {old.get(REASON)}"}
            )
    new_by_subject: dict[str, list[str]] = {}
    for grant in result.new_grants:
        new_by_subject.setdefault(str(grant["subject"]), []).append(str(grant["row_key"]))
    for key, row in sorted(before.items()):
        if row.get(LAW_GRANT) in ("new", "earlier") and key not in after:
            brief = _brief(row)
            brief["same_subject"] = new_by_subject.get(str(brief["subject"]), [])
            result.vanished.append(brief)
    return result


def _brief(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "row_key": row.get(ROW_KEY),
        "subject": row.get(SUBJECT),
        "record_id": row.get(RECORD_ID),
        "determination": row.get(DETERMINATION),
        "reason": row.get(REASON),
        "rule_id": row.get(RULE_ID),
        "citation": row.get(CITATION),
        "grant": row.get(LAW_GRANT),
        "granted_run": row.get(LAW_GRANTED_RUN),
    }


def render_law_diff(diff: LawDiff, limit: int = 20) -> str:
    d = diff
    lines = [
        f"{d.law}, {d.county}: version {d.from_version} -> {d.to_version}: "
        f"{len(d.new_grants):,} new grant(s), {len(d.changed):,} changed determination(s), "
        f"{len(d.vanished):,} granted key(s) vanished"
    ]
    for grant in d.new_grants[:limit]:
        lines.append(f"  new grant  {grant['row_key']}  {grant['rule_id']} [{grant['citation']}]")
    for change in d.changed[:limit]:
        lines.append(
            f"  changed    {change['row_key']}  {change['before']} -> "
            f"{change['determination']}: {change['reason']}"
        )
    for gone in d.vanished[:limit]:
        near = ", ".join(gone["same_subject"]) or "none"
        lines.append(
            f"  VANISHED   {gone['row_key']} (granted by run {gone['granted_run']}); new "
            f"grants of the same subject: {near}. Check for a renumbered key"
        )
    return "\n".join(lines)
