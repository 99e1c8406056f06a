"""``relief audit explain``: one conviction's facts, the county's policy rules in order with the
value of each predicate for this conviction (the stored ``decision_inputs``), which rule fired
and why the earlier ones did not, and the run that decided it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relief.jobs.audit.common import (
    NONE_SHOWN,
    AuditError,
    column_value,
    commit_fingerprints,
    commit_text,
    commit_time,
    county_named,
    published,
    reader,
    runs_by_id,
    table_log,
    table_path,
    validation_summary,
)
from relief.jobs.config import ConfigError
from relief.jobs.config.policies import load_policies
from relief.jobs.warehouse.snapshots import Readable, not_published_message, served_text
from relief.transforms.columns import (
    CASE_NUMBERS,
    CII_NUMBER,
    CODE_SECTION,
    CONVICTION_COUNT,
    CONVICTION_DATE,
    COUNTY_SLUG,
    DECEASED,
    DECISION_INPUTS,
    DETERMINATION,
    DOB,
    EARLIEST_PC290,
    EARLIEST_SUPERSTRIKE,
    IS_CANDIDATE,
    IS_FELONY,
    LAST_CONVICTION,
    LATEST_SENTENCE_END,
    OFFENSE_DESCR,
    ONLY_PROP64,
    PC290_REGISTRATION,
    PC290_SECTIONS,
    POLICY_HASH,
    POSSIBLE_OTHER_P64,
    PRI_NAME,
    PRIOR_SAME_SECTION,
    PRIOR_SAME_SECTION_POSSIBLE,
    PROP64_COUNT,
    RACE,
    RACE_DESCR,
    REASON,
    RECORD_ID,
    RULE_ID,
    RUN_ID,
    SECTION,
    SOURCE_FILE,
    SOURCE_LINE,
    STP_ORI_CNTY_NAME,
    SUBJECT,
    SUBJECT_ID,
    SUPERSTRIKE_SECTIONS,
    UNKNOWN_SENTENCE_END,
    date_latest,
    date_partial,
)
from relief.transforms.policy import (
    INCOMPLETE_DATE_DETERMINATION,
    INCOMPLETE_DATE_REASON,
    AllOf,
    AnyOf,
    Condition,
    Not,
    Policy,
    leaves,
    open_reason,
    policy_hash,
)
from relief.transforms.vocabulary import County

# --- explain --------------------------------------------------------------------------------

OUTCOME_SKIPPED = "does not hold: the next rule is tried"
OUTCOME_FIRED = "HOLDS: this rule fired"


def outcome_open(reason: str) -> str:
    """Outcome of a rule left open: which kind of unread input, and what it gave."""
    unread = (
        "a partial or blank date"
        if reason == INCOMPLETE_DATE_REASON
        else "a subsection or code the text did not give"
    )
    fired = f"{INCOMPLETE_DATE_DETERMINATION.value} / {reason}"
    return f"UNKNOWN ({unread} leaves it open): fired as {fired}"


OUTCOME_NOT_REACHED = "not reached"


def evaluate(condition: Condition, inputs: Mapping[str, bool | None]) -> bool | None:
    """A condition's value from stored predicate values, with Kleene's AND/OR/NOT (None:
    UNKNOWN), as the Spark CASE expression computes it (transforms/eligibility.py)."""
    if isinstance(condition, AllOf):
        values = [evaluate(c, inputs) for c in condition.conditions]
        if any(v is False for v in values):
            return False
        return None if any(v is None for v in values) else True
    if isinstance(condition, AnyOf):
        values = [evaluate(c, inputs) for c in condition.conditions]
        if any(v is True for v in values):
            return True
        return None if any(v is None for v in values) else False
    if isinstance(condition, Not):
        value = evaluate(condition.condition, inputs)
        return None if value is None else not value
    return inputs.get(condition.key())


@dataclass(frozen=True)
class PredicateValue:
    key: str
    description: str
    value: bool | None
    recorded: bool  # False: the stored decision inputs have no such key


@dataclass(frozen=True)
class RuleStep:
    position: int
    rule_id: str
    condition: str
    then: str
    reason: str
    predicates: list[PredicateValue]
    value: bool | None
    outcome: str


@dataclass
class Explanation:
    county: County
    record_id: str
    version: int
    latest_version: int
    commit: dict[str, Any]
    facts: list[tuple[str, str]]
    is_candidate: bool
    determination: str | None
    reason: str | None
    rule_id: str | None
    decision_inputs: dict[str, bool | None]
    run: dict[str, Any] | None
    served: str = ""  # which version, and whether it is the published one
    policy: Policy | None = None
    policy_source: str | None = None
    current_hash: str | None = None
    policy_problem: str | None = None  # why the steps are not shown (hash differs, ...)
    steps: list[RuleStep] = field(default_factory=list)
    fired_rule: str | None = None
    consistency_problem: str | None = None

    @property
    def stored_hash(self) -> str | None:
        return commit_text(self.commit, POLICY_HASH)


def _bool(value: Any) -> str:
    if value is None:
        return "unknown"
    return "yes" if value else "no"


def _date_text(row: Mapping[str, Any], column: str) -> str:
    lo: dt.date | None = row.get(column)
    hi: dt.date | None = row.get(date_latest(column))
    if lo is None and hi is None:
        return "unknown (blank)"
    if hi is None:
        assert lo is not None
        return f"{lo.isoformat()} or later (open end)"
    if lo is None:
        assert hi is not None
        return f"on or before {hi.isoformat()}"
    if lo == hi:
        return lo.isoformat()
    partial = " (partial date)" if row.get(date_partial(column)) is not False else ""
    return f"between {lo.isoformat()} and {hi.isoformat()}{partial}"


def _facts(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []

    def add(label: str, value: Any) -> None:
        if value is not None and value != "":
            facts.append((label, str(value)))

    where = row.get(SOURCE_FILE)
    if where is not None:
        where = f"{where}, line {row.get(SOURCE_LINE)}"
    add("record", row.get(RECORD_ID))
    add("input", where)
    add("subject", column_value(row, SUBJECT, SUBJECT_ID))
    add("CII number", row.get(CII_NUMBER))
    add("name", row.get(PRI_NAME))
    if DOB in row:
        add("date of birth", _date_text(row, DOB))
    add("race", column_value(row, RACE, RACE_DESCR))
    add("county of conviction", column_value(row, COUNTY_SLUG, STP_ORI_CNTY_NAME))
    add("offense", row.get(OFFENSE_DESCR))
    add("code section", row.get(CODE_SECTION) or row.get(SECTION))
    if IS_FELONY in row:
        add("felony", _bool(row.get(IS_FELONY)))
    if CONVICTION_DATE in row:
        add("conviction date", _date_text(row, CONVICTION_DATE))
    add("case number(s)", row.get(CASE_NUMBERS))
    add("convictions on record", row.get(CONVICTION_COUNT))
    add("Prop 64 convictions on record", row.get(PROP64_COUNT))
    if LAST_CONVICTION in row:
        add("most recent conviction", _date_text(row, LAST_CONVICTION))
    if ONLY_PROP64 in row:
        add("only Prop 64 convictions", _bool(row.get(ONLY_PROP64)))
    if LATEST_SENTENCE_END in row:
        add("latest sentence end", _date_text(row, LATEST_SENTENCE_END))
    if row.get(UNKNOWN_SENTENCE_END):
        add("sentence end unknown", "yes (a sentence's end cannot be computed)")
    if DECEASED in row:
        add("deceased", _bool(row.get(DECEASED)))
    add("PC 290 code sections", row.get(PC290_SECTIONS))
    if PC290_REGISTRATION in row:
        add("PC 290 registration", _bool(row.get(PC290_REGISTRATION)))
    if row.get(EARLIEST_PC290) is not None:
        add("earliest PC 290 date", _date_text(row, EARLIEST_PC290))
    add("superstrike code sections", row.get(SUPERSTRIKE_SECTIONS))
    if row.get(EARLIEST_SUPERSTRIKE) is not None:
        add("earliest superstrike date", _date_text(row, EARLIEST_SUPERSTRIKE))
    if row.get(PRIOR_SAME_SECTION) is not None:
        possible = row.get(PRIOR_SAME_SECTION_POSSIBLE)
        extra = ""
        if possible is not None and possible != row[PRIOR_SAME_SECTION]:
            extra = f" (up to {possible}: uncertain dates leave the order open)"
        add("earlier Prop 64 convictions, same section", f"{row[PRIOR_SAME_SECTION]}{extra}")
    add("possible other Prop 64 charge", row.get(POSSIBLE_OTHER_P64))
    return facts


def _inputs(value: Any) -> dict[str, bool | None]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return {str(k): v for k, v in value}


def _steps(
    policy: Policy, inputs: Mapping[str, bool | None], section: str | None
) -> tuple[list[RuleStep], str | None, tuple[str, str] | None]:
    """Each rule with its predicates' values; the rule that fired and its outcome."""
    steps: list[RuleStep] = []
    fired: str | None = None
    outcome: tuple[str, str] | None = None
    for position, rule in enumerate(policy.rules, start=1):
        seen: dict[str, PredicateValue] = {}
        for leaf in leaves(rule.when):
            key = leaf.key()
            seen.setdefault(
                key, PredicateValue(key, leaf.describe(), inputs.get(key), key in inputs)
            )
        value = evaluate(rule.when, inputs)
        if fired is not None:
            text = OUTCOME_NOT_REACHED
        elif value is True:
            text, fired = OUTCOME_FIRED, rule.id
            outcome = (rule.then.value, rule.render_reason(section))
        elif value is None:
            reason = open_reason(rule.when, inputs)
            text, fired = outcome_open(reason), rule.id
            outcome = (INCOMPLETE_DATE_DETERMINATION.value, reason)
        else:
            text = OUTCOME_SKIPPED
        shown_reason = "".join("{section}" if p is None else p for p in rule.reason_parts())
        steps.append(
            RuleStep(
                position=position,
                rule_id=rule.id,
                condition=rule.when.describe(),
                then=rule.then.value,
                reason=shown_reason,
                predicates=list(seen.values()),
                value=value,
                outcome=text,
            )
        )
    return steps, fired, outcome


def explain_record(
    warehouse: Readable,
    county_name: str,
    record_id: str,
    version: int | None = None,
    policy_dir: Path | None = None,
    policy_file: Path | None = None,
) -> Explanation:
    """Why the record got its determination in the county's table (the published version,
    or ``version``).

    The policy is the county's current one from ``policy_dir`` (default conf/policies) or
    ``policy_file`` (a policy file or BEAR options JSON); when its hash differs from the one
    the version was committed with, the explanation says so and shows only the stored values.
    """
    county = county_named(county_name)
    warehouse = reader(warehouse)  # one ledger read for the whole answer
    path = table_path(warehouse, county)
    log = table_log(path)
    publication = published(warehouse)
    entry = publication.county(county.slug)
    if version is None:
        if entry is None:
            raise AuditError(not_published_message(county.name.title(), path, publication))
        version = entry.version
    log.check_version(version, f"{county.name.title()}'s table")
    table = log.read(version, filters=[(RECORD_ID, "=", record_id)])
    if table.num_rows == 0:
        raise AuditError(
            f"no record {record_id!r} in version {version} of {county.name.title()}'s table "
            f"(record ids look like <fingerprint>-<line>; `relief county pull` lists them)",
            exit_code=2,
        )
    row = table.to_pylist()[0]
    commit = log.commits.get(version, {})
    run_id = commit_text(commit, RUN_ID)
    run = runs_by_id(warehouse).get(run_id) if run_id else None
    explanation = Explanation(
        county=county,
        record_id=record_id,
        version=version,
        latest_version=log.latest_version,
        commit=commit,
        facts=_facts(row),
        is_candidate=bool(row.get(IS_CANDIDATE)) or row.get(DETERMINATION) is not None,
        determination=row.get(DETERMINATION),
        reason=row.get(REASON),
        rule_id=row.get(RULE_ID),
        decision_inputs=_inputs(row.get(DECISION_INPUTS)),
        run=run,
        served=served_text(version, run_id, entry, publication.run_id),
    )
    if not explanation.is_candidate:
        return explanation
    try:
        policies = load_policies(policy_dir, policy_file)
    except ConfigError as exc:
        explanation.policy_problem = f"the county's policy cannot be loaded: {exc}"
        return explanation
    policy = policies.for_county(county.slug)
    source = policy_file or policies.source_for(county.slug)
    explanation.policy = policy
    explanation.policy_source = str(source) if source else None
    explanation.current_hash = policy_hash(policy)
    stored = explanation.stored_hash
    if stored is None:
        explanation.policy_problem = (
            "this version's commit records no policy hash, so the policy it was decided with "
            "cannot be confirmed"
        )
        return explanation
    if stored != explanation.current_hash:
        explanation.policy_problem = (
            f"the policy this version was decided with (sha256 {stored}) is NOT the county's "
            f"current policy {policy.name!r} from {explanation.policy_source} (sha256 "
            f"{explanation.current_hash}): the policy has changed since, or the run used "
            "another policy directory or an eligibility-options file (give it with "
            "--policy-dir or --policy). The rules cannot be replayed; below are the predicate "
            "values stored with the determination"
        )
        return explanation
    steps, fired, outcome = _steps(policy, explanation.decision_inputs, row.get(SECTION))
    explanation.steps = steps
    explanation.fired_rule = fired
    stored_outcome = (explanation.determination, explanation.reason)
    if fired != explanation.rule_id or (outcome is not None and outcome != stored_outcome):
        explanation.consistency_problem = (
            f"the stored values make rule {fired!r} fire ({outcome[0] if outcome else '-'}: "
            f"{outcome[1] if outcome else '-'}), but the table records rule "
            f"{explanation.rule_id!r} ({explanation.determination}: {explanation.reason}); "
            "the row does not match its own decision inputs"
        )
    return explanation


def _value_text(value: bool | None, recorded: bool = True) -> str:
    if not recorded:
        return "not recorded"
    if value is None:
        return "UNKNOWN"
    return "true" if value else "false"


def _run_lines(explanation: Explanation) -> list[str]:
    commit, run = explanation.commit, explanation.run
    run_id = commit_text(commit, RUN_ID)
    lines = ["Run that decided it"]
    if run_id is None:
        lines.append("  this version's commit names no run: it was written outside relief")
        return lines
    lines.append(f"  run            {run_id}")
    lines.append(f"  compute-at     {commit.get('compute_at') or NONE_SHOWN}")
    lines.append(f"  committed      {_fmt_time(commit_time(commit))}")
    lines.append(f"  relief         {commit.get('relief_version') or NONE_SHOWN}")
    for name, fingerprint in sorted(commit_fingerprints(commit).items()):
        lines.append(f"  input          {name} (sha256 {fingerprint})")
    if run is None:
        lines.append("  ledger         NOT in the runs ledger (see `relief audit verify`)")
        return lines
    lines.append(f"  ledger status  {run['status']}")
    lines.append(f"  started        {_fmt_time(run.get('started_at'))}")
    lines.append(f"  finished       {_fmt_time(run.get('finished_at'))}")
    lines.append(f"  validation     {validation_summary(run, commit) or NONE_SHOWN}")
    return lines


def _fmt_time(value: dt.datetime | None) -> str:
    if value is None:
        return NONE_SHOWN
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_explanation(explanation: Explanation) -> str:
    e = explanation
    lines = [f"Record {e.record_id} in {e.county.name.title()}'s table, {e.served}"]
    lines += ["", "Conviction facts"]
    width = max(len(label) for label, _ in e.facts) if e.facts else 0
    lines += [f"  {label:<{width}}  {value}" for label, value in e.facts]
    lines.append("")
    if not e.is_candidate:
        lines.append(
            f"This row is not a Prop 64 conviction of {e.county.name.title()}: it is part of the "
            "subject's history in the county's table and no rule applies to it."
        )
        lines += ["", *_run_lines(e)]
        return "\n".join(lines)
    lines.append(f"Determination  {e.determination}")
    lines.append(f"Reason         {e.reason}")
    lines.append(f"Rule           {e.rule_id}")
    lines.append("")
    if e.policy_problem or not e.steps:
        lines.append(f"NOTE: {e.policy_problem}.")
        lines += ["", "Stored predicate values (decision_inputs)"]
        if not e.decision_inputs:
            lines.append("  none stored")
        key_width = max((len(k) for k in e.decision_inputs), default=0)
        lines += [
            f"  {key:<{key_width}}  {_value_text(value)}"
            for key, value in e.decision_inputs.items()
        ]
    else:
        assert e.policy is not None
        lines.append(
            f"Policy {e.policy.name!r} from {e.policy_source} (sha256 {e.current_hash}, the "
            "hash this version was committed with), rules in order:"
        )
        for step in e.steps:
            lines.append(f"  {step.position}. {step.rule_id}: when {step.condition}")
            lines.append(f"       then {step.then} / {step.reason}")
            if step.outcome != OUTCOME_NOT_REACHED:
                for p in step.predicates:
                    lines.append(f"       {p.key} = {_value_text(p.value, p.recorded)}")
            lines.append(f"       -> {step.outcome}")
        if e.consistency_problem:
            lines += ["", f"WARNING: {e.consistency_problem}."]
    lines += ["", *_run_lines(e)]
    return "\n".join(lines)
