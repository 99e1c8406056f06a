"""The audit trail: who decided what, when, with which rules, on which input (no Spark).

``relief audit`` (jobs/audit_cmd.py) answers an auditor's questions from the Delta logs of the
county tables and the runs ledger, read with delta-rs (``deltalake``) and pyarrow only. Nothing
here imports pyspark, so an auditor needs ``pip install`` and no JVM.

- :func:`county_history`: one entry per version of a county's table: when, which run, at which
  compute-at, with which policy (hash) and inputs (fingerprints), how many rows, and the run's
  Great Expectations summary.
- :func:`diff_versions`: per record_id, what changed between two versions of a county table.
  Only rows that carry a determination in either version are compared (the county's Prop 64
  convictions); the subjects' other history rows are context and are only counted.
- :func:`explain_record`: one conviction's facts, the county's policy rules in order with the
  value of each predicate for this conviction (the stored ``decision_inputs``), which rule fired
  and why the earlier ones did not, and the run that decided it.
- :func:`verify_warehouse`: every version of every county table (and of the summary and
  quarantine tables) must have been written by a run the ledger records as succeeded, which
  names that table and version; and every version the ledger names must exist.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from jobs import ledger
from jobs.config import ConfigError
from jobs.county import (
    PullError,
    commit_history,
    owner_only,
    private_file,
    resolve_county,
)
from jobs.policies import load_policies
from jobs.storage import Warehouse
from transforms.columns import (
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
    INPUT_INDEX,
    IS_CANDIDATE,
    IS_FELONY,
    LAST_CONVICTION,
    LATEST_SENTENCE_END,
    OFFENSE_DESCR,
    ONLY_PROP64,
    PC290_REGISTRATION,
    PC290_SECTIONS,
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
from transforms.policy import (
    INCOMPLETE_DATE_DETERMINATION,
    INCOMPLETE_DATE_REASON,
    AllOf,
    AnyOf,
    Condition,
    Not,
    Policy,
    leaves,
    policy_hash,
)
from transforms.vocabulary import County

STATUS_RUNNING = ledger.STATUS_RUNNING
STATUS_SUCCEEDED = ledger.STATUS_SUCCEEDED
STATUS_INCOMPLETE = ledger.STATUS_INCOMPLETE

NONE_SHOWN = "-"


class AuditError(Exception):
    """An audit question that cannot be answered; the message says why and what to do.

    ``exit_code``: 1 (the warehouse lacks what was asked for) or 2 (bad usage: unknown county,
    version or record).
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --- the runs ledger ------------------------------------------------------------------------


def read_ledger(warehouse: Path) -> list[dict[str, Any]]:
    """Latest row of every run, oldest first (``jobs.ledger.read_runs``; no Spark needed)."""
    return ledger.read_runs(Warehouse(warehouse))


def runs_by_id(warehouse: Path) -> dict[str, dict[str, Any]]:
    return {row["run_id"]: row for row in read_ledger(warehouse)}


def latest_succeeded_run(warehouse: Path) -> dict[str, Any] | None:
    done = [r for r in read_ledger(warehouse) if r["status"] == STATUS_SUCCEEDED]
    return done[-1] if done else None


def validation_summary(run: Mapping[str, Any] | None, commit: Mapping[str, Any]) -> str | None:
    """The one-line GX summary: the run's ledger row, else the commit's ``validation`` key."""
    if run is not None and run.get("validation"):
        return str(run["validation"])
    value = commit.get("validation")
    return str(value) if value else None


# --- reading county tables ------------------------------------------------------------------


def _county(name: str) -> County:
    try:
        return resolve_county(name)
    except PullError as exc:
        raise AuditError(str(exc), exc.exit_code) from None
    except ConfigError as exc:
        raise AuditError(str(exc), 2) from None


def _table_path(warehouse: Path, county: County) -> Path:
    path = Warehouse(warehouse).county(county.slug)
    if not (path / "_delta_log").is_dir():
        raise AuditError(
            f"{county.name.title()} has no county table at {path}: no run has written one "
            "(a run writes a county's table only when the extract holds a Prop 64 conviction "
            "there)"
        )
    return path


@dataclass(frozen=True)
class TableLog:
    """A Delta table's latest state and the commit info of each of its versions."""

    path: Path
    latest: DeltaTable
    latest_version: int
    commits: dict[int, dict[str, Any]]

    def at(self, version: int) -> DeltaTable:
        if version == self.latest_version:
            return self.latest
        return DeltaTable(str(self.path), version=version)

    def check_version(self, version: int, label: str) -> None:
        if not 0 <= version <= self.latest_version:
            raise AuditError(
                f"{label} has versions 0 to {self.latest_version}; there is no version {version}",
                exit_code=2,
            )

    def rows(self, version: int) -> int | None:
        """Rows in the version, from the row counts its files carry in the Delta log."""
        try:
            actions = pa.table(self.at(version).get_add_actions(flatten=False))
        except Exception:  # an unreadable old version (log cleaned up): unknown
            return None
        if "num_records" not in actions.column_names:
            return None
        counts = actions["num_records"].to_pylist()
        if any(c is None for c in counts):
            return None
        return int(sum(counts))


def table_log(path: Path) -> TableLog:
    latest = DeltaTable(str(path))
    version = latest.version()
    assert version is not None
    # commit_history reads the *latest* table: older snapshots number history relative to
    # themselves in deltalake 1.x.
    return TableLog(path, latest, version, commit_history(latest))


def _read_columns(table: DeltaTable, wanted: Sequence[str]) -> pa.Table:
    present = {f.name for f in table.schema().fields}
    return table.to_pyarrow_table(columns=[c for c in wanted if c in present])


def _column(row: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in row and row[name] is not None:
            return row[name]
    return None


# --- history --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionEntry:
    """One version of a county's table as the audit trail shows it."""

    version: int
    timestamp: dt.datetime | None
    operation: str | None
    run_id: str | None
    compute_at: str | None
    policy_hash: str | None
    input_fingerprints: dict[str, str]
    relief_version: str | None
    rows: int | None
    validation: str | None
    run_status: str | None  # the run's status in the ledger; None: not in the ledger

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "operation": self.operation,
            "run_id": self.run_id,
            "run_status": self.run_status,
            "compute_at": self.compute_at,
            "policy_hash": self.policy_hash,
            "input_fingerprints": self.input_fingerprints,
            "relief_version": self.relief_version,
            "rows": self.rows,
            "validation": self.validation,
        }


def _timestamp(commit: Mapping[str, Any]) -> dt.datetime | None:
    value = commit.get("timestamp")
    if not isinstance(value, int | float):
        return None
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)


def _fingerprints(commit: Mapping[str, Any]) -> dict[str, str]:
    value = commit.get("input_fingerprints")
    if not value:
        return {}
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return {"?": str(value)}
    if not isinstance(parsed, Mapping):
        return {"?": str(value)}
    return {str(k): str(v) for k, v in parsed.items()}


def _text(commit: Mapping[str, Any], key: str) -> str | None:
    value = commit.get(key)
    return None if value is None or value == "" else str(value)


def version_entries(log: TableLog, runs: Mapping[str, Mapping[str, Any]]) -> list[VersionEntry]:
    entries = []
    for version in sorted(log.commits):
        commit = log.commits[version]
        run_id = _text(commit, "run_id")
        run = runs.get(run_id) if run_id else None
        entries.append(
            VersionEntry(
                version=version,
                timestamp=_timestamp(commit),
                operation=_text(commit, "operation"),
                run_id=run_id,
                compute_at=_text(commit, "compute_at"),
                policy_hash=_text(commit, "policy_hash"),
                input_fingerprints=_fingerprints(commit),
                relief_version=_text(commit, "relief_version"),
                rows=log.rows(version),
                validation=validation_summary(run, commit),
                run_status=None if run is None else str(run["status"]),
            )
        )
    return entries


@dataclass(frozen=True)
class CountyHistory:
    county: County
    path: Path
    entries: list[VersionEntry]

    def to_json(self) -> dict[str, Any]:
        return {
            "county": self.county.slug,
            "table": str(self.path),
            "versions": [e.to_json() for e in self.entries],
        }


def county_history(warehouse: Path, county_name: str) -> CountyHistory:
    """Every version of the county's table, oldest first."""
    county = _county(county_name)
    path = _table_path(warehouse, county)
    log = table_log(path)
    return CountyHistory(county, path, version_entries(log, runs_by_id(warehouse)))


def short_hash(value: str | None, width: int = 12) -> str:
    return NONE_SHOWN if not value else value[:width]


def _inputs_text(fingerprints: Mapping[str, str]) -> str:
    if not fingerprints:
        return NONE_SHOWN
    return ", ".join(f"{Path(p).name}:{short_hash(f)}" for p, f in sorted(fingerprints.items()))


def _table_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [str(v).ljust(w) for v, w in zip(r, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines


def render_history(history: CountyHistory) -> str:
    header = ["VERSION", "TIMESTAMP (UTC)", "RUN", "COMPUTE-AT", "POLICY", "INPUTS", "ROWS", "GX"]
    rows = []
    for e in history.entries:
        run = e.run_id or "(no run_id: written outside relief)"
        if e.run_id and e.run_status is None:
            run += " (not in ledger)"
        elif e.run_status and e.run_status != STATUS_SUCCEEDED:
            run += f" ({e.run_status})"
        rows.append(
            [
                str(e.version),
                e.timestamp.strftime("%Y-%m-%d %H:%M:%S") if e.timestamp else NONE_SHOWN,
                run,
                e.compute_at or NONE_SHOWN,
                short_hash(e.policy_hash),
                _inputs_text(e.input_fingerprints),
                NONE_SHOWN if e.rows is None else f"{e.rows:,}",
                e.validation or NONE_SHOWN,
            ]
        )
    title = f"{history.county.name.title()}: {len(history.entries)} version(s) of {history.path}"
    return "\n".join([title, *_table_text(header, rows)])


# --- diff -----------------------------------------------------------------------------------

NEW = "new"
REMOVED = "removed"
DETERMINATION_CHANGED = "determination changed"
REASON_CHANGED = "reason changed"
CHANGE_KINDS = (NEW, REMOVED, DETERMINATION_CHANGED, REASON_CHANGED)

_DIFF_COLUMNS = (
    RECORD_ID,
    INPUT_INDEX,
    SOURCE_LINE,
    SUBJECT,
    SUBJECT_ID,
    CODE_SECTION,
    CONVICTION_DATE,
    IS_CANDIDATE,
    DETERMINATION,
    REASON,
    RULE_ID,
)


@dataclass(frozen=True)
class RecordChange:
    record_id: str
    change: str
    subject: str | None
    code_section: str | None
    conviction_date: dt.date | None
    from_determination: str | None
    to_determination: str | None
    from_reason: str | None
    to_reason: str | None
    from_rule: str | None
    to_rule: str | None

    def rule_transition(self) -> str:
        return f"{self.from_rule or NONE_SHOWN} -> {self.to_rule or NONE_SHOWN}"


CSV_HEADER = (
    "record_id",
    "change",
    "subject",
    "code_section",
    "conviction_date",
    "from_determination",
    "to_determination",
    "from_reason",
    "to_reason",
    "from_rule",
    "to_rule",
)


@dataclass
class VersionDiff:
    county: County
    from_version: int
    to_version: int
    from_commit: dict[str, Any]
    to_commit: dict[str, Any]
    from_decided: int  # rows with a determination in each version
    to_decided: int
    from_rows: int
    to_rows: int
    unchanged: int
    changes: list[RecordChange] = field(default_factory=list)

    def counts_by_kind(self) -> dict[str, int]:
        counts = Counter(c.change for c in self.changes)
        return {kind: counts[kind] for kind in CHANGE_KINDS}

    def counts_by_rule(self) -> dict[str, int]:
        """Changes per rule transition ``from_rule -> to_rule`` (``-``: no rule on that side)."""
        counts = Counter(c.rule_transition() for c in self.changes)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def counts_by_determination(self) -> dict[str, int]:
        counts = Counter(
            f"{c.from_determination or NONE_SHOWN} -> {c.to_determination or NONE_SHOWN}"
            for c in self.changes
        )
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _decided(table: pa.Table) -> dict[str, dict[str, Any]]:
    if table.num_rows == 0:
        return {}
    if IS_CANDIDATE in table.column_names:
        mask = pc.fill_null(table[IS_CANDIDATE], False)
        if DETERMINATION in table.column_names:
            mask = pc.or_(mask, pc.is_valid(table[DETERMINATION]))
    elif DETERMINATION in table.column_names:
        mask = pc.is_valid(table[DETERMINATION])
    else:
        return {}
    return {row[RECORD_ID]: row for row in table.filter(mask).to_pylist()}


def _order(row: Mapping[str, Any]) -> tuple[int, int, str]:
    return (
        int(row.get(INPUT_INDEX) or 0),
        int(row.get(SOURCE_LINE) or 0),
        str(row.get(RECORD_ID)),
    )


def diff_versions(
    warehouse: Path, county_name: str, from_version: int, to_version: int
) -> VersionDiff:
    """Per record_id, what changed between two versions of the county's table."""
    county = _county(county_name)
    path = _table_path(warehouse, county)
    log = table_log(path)
    label = f"{county.name.title()}'s table"
    log.check_version(from_version, label)
    log.check_version(to_version, label)
    before_table = _read_columns(log.at(from_version), _DIFF_COLUMNS)
    after_table = _read_columns(log.at(to_version), _DIFF_COLUMNS)
    before, after = _decided(before_table), _decided(after_table)
    changes: list[tuple[tuple[int, int, str], RecordChange]] = []
    unchanged = 0
    for record_id in before.keys() | after.keys():
        old, new = before.get(record_id), after.get(record_id)
        if old is not None and new is not None:
            if old.get(DETERMINATION) != new.get(DETERMINATION):
                kind = DETERMINATION_CHANGED
            elif old.get(REASON) != new.get(REASON) or old.get(RULE_ID) != new.get(RULE_ID):
                kind = REASON_CHANGED
            else:
                unchanged += 1
                continue
        else:
            kind = NEW if old is None else REMOVED
        either = new if new is not None else old
        assert either is not None
        change = RecordChange(
            record_id=record_id,
            change=kind,
            subject=_column(either, SUBJECT, SUBJECT_ID),
            code_section=either.get(CODE_SECTION),
            conviction_date=either.get(CONVICTION_DATE),
            from_determination=None if old is None else old.get(DETERMINATION),
            to_determination=None if new is None else new.get(DETERMINATION),
            from_reason=None if old is None else old.get(REASON),
            to_reason=None if new is None else new.get(REASON),
            from_rule=None if old is None else old.get(RULE_ID),
            to_rule=None if new is None else new.get(RULE_ID),
        )
        changes.append((_order(either), change))
    kind_order = {kind: i for i, kind in enumerate(CHANGE_KINDS)}
    changes.sort(key=lambda item: (kind_order[item[1].change], item[0]))
    return VersionDiff(
        county=county,
        from_version=from_version,
        to_version=to_version,
        from_commit=log.commits.get(from_version, {}),
        to_commit=log.commits.get(to_version, {}),
        from_decided=len(before),
        to_decided=len(after),
        from_rows=before_table.num_rows,
        to_rows=after_table.num_rows,
        unchanged=unchanged,
        changes=[c for _, c in changes],
    )


def write_diff_csv(diff: VersionDiff, path: Path) -> Path:
    """Every change, one line per record_id (CSV_HEADER); the file is owner-only (0600)."""
    with (
        owner_only(),
        private_file(path) as temporary,
        temporary.open("w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for c in diff.changes:
            writer.writerow(
                [
                    c.record_id,
                    c.change,
                    c.subject or "",
                    c.code_section or "",
                    c.conviction_date.isoformat() if c.conviction_date else "",
                    c.from_determination or "",
                    c.to_determination or "",
                    c.from_reason or "",
                    c.to_reason or "",
                    c.from_rule or "",
                    c.to_rule or "",
                ]
            )
    return path


def _version_label(version: int, commit: Mapping[str, Any]) -> str:
    return (
        f"version {version} (run {commit.get('run_id') or 'unknown'}, "
        f"compute-at {commit.get('compute_at') or 'unknown'}, "
        f"policy {short_hash(_text(commit, 'policy_hash'))})"
    )


def render_diff(diff: VersionDiff, limit: int = 20) -> str:
    lines = [
        f"{diff.county.name.title()}: {_version_label(diff.from_version, diff.from_commit)}",
        f"{' ' * len(diff.county.name)}  -> {_version_label(diff.to_version, diff.to_commit)}",
        f"Prop 64 convictions with a determination: {diff.from_decided:,} -> "
        f"{diff.to_decided:,}; {diff.unchanged:,} unchanged, {len(diff.changes):,} changed",
        f"all rows of the table (with the subjects' other history): {diff.from_rows:,} -> "
        f"{diff.to_rows:,}",
        "",
        "Changes by kind:",
    ]
    lines += [f"  {kind:<22} {n:>8,}" for kind, n in diff.counts_by_kind().items()]
    if diff.changes:
        lines += ["", "Changes by rule (rule that fired before -> after):"]
        lines += [f"  {t:<50} {n:>8,}" for t, n in diff.counts_by_rule().items()]
        lines += ["", "Changes by determination (before -> after):"]
        lines += [f"  {t:<70} {n:>8,}" for t, n in diff.counts_by_determination().items()]
        shown = diff.changes[:limit]
        lines += ["", f"First {len(shown)} of {len(diff.changes):,} changes:"]
        header = ["RECORD", "CHANGE", "SECTION", "BEFORE", "AFTER"]
        rows = [
            [
                c.record_id,
                c.change,
                c.code_section or NONE_SHOWN,
                _outcome_text(c.from_determination, c.from_reason, c.from_rule),
                _outcome_text(c.to_determination, c.to_reason, c.to_rule),
            ]
            for c in shown
        ]
        lines += ["  " + line for line in _table_text(header, rows)]
    return "\n".join(lines)


def _outcome_text(determination: str | None, reason: str | None, rule: str | None) -> str:
    if determination is None:
        return NONE_SHOWN
    return f"{determination}: {reason or ''} [{rule or NONE_SHOWN}]"


# --- explain --------------------------------------------------------------------------------

OUTCOME_SKIPPED = "does not hold: the next rule is tried"
OUTCOME_FIRED = "HOLDS: this rule fired"
OUTCOME_OPEN = (
    f"UNKNOWN (a partial or blank date leaves it open): fired as "
    f"{INCOMPLETE_DATE_DETERMINATION.value} / {INCOMPLETE_DATE_REASON}"
)
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
    policy: Policy | None = None
    policy_source: str | None = None
    current_hash: str | None = None
    policy_problem: str | None = None  # why the steps are not shown (hash differs, ...)
    steps: list[RuleStep] = field(default_factory=list)
    fired_rule: str | None = None
    consistency_problem: str | None = None

    @property
    def stored_hash(self) -> str | None:
        return _text(self.commit, "policy_hash")


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
    add("subject", _column(row, SUBJECT, SUBJECT_ID))
    add("CII number", row.get(CII_NUMBER))
    add("name", row.get(PRI_NAME))
    if DOB in row:
        add("date of birth", _date_text(row, DOB))
    add("race", _column(row, RACE, RACE_DESCR))
    add("county of conviction", _column(row, COUNTY_SLUG, STP_ORI_CNTY_NAME))
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
            text, fired = OUTCOME_OPEN, rule.id
            outcome = (INCOMPLETE_DATE_DETERMINATION.value, INCOMPLETE_DATE_REASON)
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
    warehouse: Path,
    county_name: str,
    record_id: str,
    version: int | None = None,
    policy_dir: Path | None = None,
    policy_file: Path | None = None,
) -> Explanation:
    """Why the record got its determination in the county's table (latest or ``version``).

    The policy is the county's current one from ``policy_dir`` (default conf/policies) or
    ``policy_file`` (a policy file or BEAR options JSON); when its hash differs from the one
    the version was committed with, the explanation says so and shows only the stored values.
    """
    county = _county(county_name)
    path = _table_path(warehouse, county)
    log = table_log(path)
    version = log.latest_version if version is None else version
    log.check_version(version, f"{county.name.title()}'s table")
    table = log.at(version).to_pyarrow_table(filters=[(RECORD_ID, "=", record_id)])
    if table.num_rows == 0:
        raise AuditError(
            f"no record {record_id!r} in version {version} of {county.name.title()}'s table "
            f"(record ids look like <fingerprint>-<line>; `relief county pull` lists them)",
            exit_code=2,
        )
    row = table.to_pylist()[0]
    commit = log.commits.get(version, {})
    run_id = _text(commit, "run_id")
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
    run_id = _text(commit, "run_id")
    lines = ["Run that decided it"]
    if run_id is None:
        lines.append("  this version's commit names no run: it was written outside relief")
        return lines
    lines.append(f"  run            {run_id}")
    lines.append(f"  compute-at     {commit.get('compute_at') or NONE_SHOWN}")
    lines.append(f"  committed      {_fmt_time(_timestamp(commit))}")
    lines.append(f"  relief         {commit.get('relief_version') or NONE_SHOWN}")
    for name, fingerprint in sorted(_fingerprints(commit).items()):
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
    latest = " (latest)" if e.version == e.latest_version else f" of {e.latest_version}"
    lines = [
        f"Record {e.record_id} in {e.county.name.title()}'s table, version {e.version}{latest}"
    ]
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
        run_id = _text(commit, "run_id")
        problem = _run_problem(run_id, runs.get(run_id) if run_id else None)
        claim = claims.get((slug, version))
        if problem is None and (claim is None or claim["run_id"] != run_id):
            problem = f"run {run_id} succeeded but its ledger row does not name version {version}"
            if claim is not None:
                problem += f" (the ledger gives version {version} to run {claim['run_id']})"
        if problem is None and claim is not None:
            stored = _text(commit, "policy_hash")
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
        run_id = _text(commits[version], "run_id")
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
    lines += ["  " + line for line in _table_text(["TABLE", "VERSION", "RUN", "PROBLEM"], rows)]
    return "\n".join(lines)
