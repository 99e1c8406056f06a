"""``relief audit diff``: per record, what changed between two versions of a county table.

Only rows that carry a determination in either version are compared (the county's Prop 64
convictions); the subjects' other history rows are context and are only counted.

Rows are matched on their natural key (``row_key``: SUBJECT_ID, CNT_ORDER and the line's
ordinal among the lines sharing them; transforms/identity.py), so a refreshed extract whose
lines moved shows only what really changed. A version written before relief stored the key
is matched on ``record_id`` (input fingerprint + line number), as before.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from relief.jobs.audit.common import (
    NONE_SHOWN,
    column_value,
    commit_text,
    county_named,
    published,
    reader,
    short_hash,
    table_log,
    table_path,
    text_table,
)
from relief.jobs.county.csv import CsvStyle, rows_table, write_csv
from relief.jobs.warehouse.access import owner_only
from relief.jobs.warehouse.snapshots import Readable
from relief.transforms.columns import (
    CODE_SECTION,
    CONVICTION_DATE,
    DETERMINATION,
    INPUT_INDEX,
    IS_CANDIDATE,
    REASON,
    RECORD_ID,
    ROW_KEY,
    RULE_ID,
    SOURCE_LINE,
    SUBJECT,
    SUBJECT_ID,
)
from relief.transforms.vocabulary import County

# --- diff -----------------------------------------------------------------------------------

NEW = "new"
REMOVED = "removed"
DETERMINATION_CHANGED = "determination changed"
REASON_CHANGED = "reason changed"
CHANGE_KINDS = (NEW, REMOVED, DETERMINATION_CHANGED, REASON_CHANGED)

_DIFF_COLUMNS = (
    ROW_KEY,
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
    record_id: str  # the newer version's record_id (the older one's for a removed row)
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
    row_key: str | None = None  # what the versions were matched on (None: record_id)

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
    matched_on: str = ROW_KEY  # ROW_KEY, or RECORD_ID when a version lacks row keys
    published_version: int | None = None  # the version readers are served

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


def _decided(table: pa.Table, key: str) -> dict[str, dict[str, Any]]:
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
    return {row[key]: row for row in table.filter(mask).to_pylist()}


def _order(row: Mapping[str, Any]) -> tuple[int, int, str]:
    return (
        int(row.get(INPUT_INDEX) or 0),
        int(row.get(SOURCE_LINE) or 0),
        str(row.get(RECORD_ID)),
    )


def diff_versions(
    warehouse: Readable, county_name: str, from_version: int, to_version: int
) -> VersionDiff:
    """Per row (matched on row_key, else record_id), what changed between two versions of the
    county's table."""
    county = county_named(county_name)
    warehouse = reader(warehouse)  # one ledger read for the whole answer
    path = table_path(warehouse, county)
    log = table_log(path)
    label = f"{county.name.title()}'s table"
    log.check_version(from_version, label)
    log.check_version(to_version, label)
    before_table = log.read(from_version, _DIFF_COLUMNS)
    after_table = log.read(to_version, _DIFF_COLUMNS)
    both = set(before_table.column_names) & set(after_table.column_names)
    key = ROW_KEY if ROW_KEY in both else RECORD_ID
    before, after = _decided(before_table, key), _decided(after_table, key)
    entry = published(warehouse).county(county.slug)
    changes: list[tuple[tuple[int, int, str], RecordChange]] = []
    unchanged = 0
    for matched in before.keys() | after.keys():
        old, new = before.get(matched), after.get(matched)
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
            record_id=str(either.get(RECORD_ID)),
            change=kind,
            subject=column_value(either, SUBJECT, SUBJECT_ID),
            code_section=either.get(CODE_SECTION),
            conviction_date=either.get(CONVICTION_DATE),
            from_determination=None if old is None else old.get(DETERMINATION),
            to_determination=None if new is None else new.get(DETERMINATION),
            from_reason=None if old is None else old.get(REASON),
            to_reason=None if new is None else new.get(REASON),
            from_rule=None if old is None else old.get(RULE_ID),
            to_rule=None if new is None else new.get(RULE_ID),
            row_key=matched if key == ROW_KEY else None,
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
        matched_on=key,
        published_version=None if entry is None else entry.version,
    )


def write_diff_csv(diff: VersionDiff, path: Path) -> Path:
    """Every change, one line per record_id (CSV_HEADER); owner-only (0600), formula-safe
    (jobs/county/csv.py write_csv)."""
    rows = (
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
        for c in diff.changes
    )
    with owner_only():
        return write_csv(path, rows_table(CSV_HEADER, rows), CsvStyle.PLAIN)


_MATCHED_ON = {
    ROW_KEY: "row_key (SUBJECT_ID|CNT_ORDER|n-th line sharing them)",
    RECORD_ID: "record_id (a version predates row keys)",
}


def _version_label(version: int, commit: Mapping[str, Any], published: int | None) -> str:
    served = ", the published one" if version == published else ""
    return (
        f"version {version} (run {commit.get('run_id') or 'unknown'}, "
        f"compute-at {commit.get('compute_at') or 'unknown'}, "
        f"policy {short_hash(commit_text(commit, 'policy_hash'))}{served})"
    )


def render_diff(diff: VersionDiff, limit: int = 20) -> str:
    lines = [
        f"{diff.county.name.title()}: "
        f"{_version_label(diff.from_version, diff.from_commit, diff.published_version)}",
        f"{' ' * len(diff.county.name)}  -> "
        f"{_version_label(diff.to_version, diff.to_commit, diff.published_version)}",
        f"Prop 64 convictions with a determination: {diff.from_decided:,} -> "
        f"{diff.to_decided:,}; {diff.unchanged:,} unchanged, {len(diff.changes):,} changed",
        f"all rows of the table (with the subjects' other history): {diff.from_rows:,} -> "
        f"{diff.to_rows:,}",
        f"rows matched on {_MATCHED_ON.get(diff.matched_on, diff.matched_on)}",
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
        header = ["ROW KEY", "RECORD", "CHANGE", "SECTION", "BEFORE", "AFTER"]
        rows = [
            [
                c.row_key or NONE_SHOWN,
                c.record_id,
                c.change,
                c.code_section or NONE_SHOWN,
                _outcome_text(c.from_determination, c.from_reason, c.from_rule),
                _outcome_text(c.to_determination, c.to_reason, c.to_rule),
            ]
            for c in shown
        ]
        lines += ["  " + line for line in text_table(header, rows)]
    return "\n".join(lines)


def _outcome_text(determination: str | None, reason: str | None, rule: str | None) -> str:
    if determination is None:
        return NONE_SHOWN
    return f"{determination}: {reason or ''} [{rule or NONE_SHOWN}]"
