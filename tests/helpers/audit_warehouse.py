"""A small audited warehouse written with delta-rs: two runs of one policy whose compute-at
differs (2024-06-30, then 2026-06-30), with their ledger rows and summary figures."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake

from relief.jobs.config.policies import load_policies
from relief.jobs.statewide import SUMMARY_SCHEMA
from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.inputs import InputFile
from relief.jobs.warehouse.storage import Warehouse, append_rows
from relief.transforms.columns import (
    CODE_SECTION,
    CONVICTION_DATE,
    COUNTY_SLUG,
    DECISION_INPUTS,
    DETERMINATION,
    DOB,
    INPUT_INDEX,
    IS_CANDIDATE,
    IS_FELONY,
    PRI_NAME,
    REASON,
    RECORD_ID,
    RULE_ID,
    SECTION,
    SOURCE_FILE,
    SOURCE_LINE,
    SUBJECT,
    date_latest,
    date_partial,
)

ROOT = Path(__file__).resolve().parents[2]
RUN_1 = "20240701T000000Z-aaaa0001"
RUN_2 = "20260701T000000Z-bbbb0002"
COMPUTE_1 = dt.date(2024, 6, 30)
COMPUTE_2 = dt.date(2026, 6, 30)
FINGERPRINT = "ab12" * 16
GX_RUN_2 = "3 suites: 41 passed, 1 warned, 0 failed"

D, R = "Eligible for Dismissal", "Eligible for Reduction"
NOT_ELIGIBLE, HAND = "Not eligible", "Hand Review"

POLICY_YAML = """\
name: audit-test
description: misdemeanors, post-Prop 64, age 50, then the section lists
rules:
  - id: misdemeanor
    when: {not_felony: true}
    then: Eligible for Dismissal
    reason: Misdemeanor or Infraction
  - id: after-prop64
    when: {convicted_on_or_after: 2016-11-09}
    then: Not eligible
    reason: Occurred after 11/09/2016
  - id: age-50
    when: {age_at_least: 50}
    then: Eligible for Dismissal
    reason: "{years} years or older"
  - id: dismiss-sections
    when: {section_in: ["11357", "11358"]}
    then: Eligible for Dismissal
    reason: "Dismiss all HS {section} convictions"
  - id: reduce-sections
    when: {section_in: ["11359", "11360"]}
    then: Eligible for Reduction
    reason: "Reduce all HS {section} convictions"
  - id: otherwise
    when: {always: true}
    then: Hand Review
    reason: No applicable eligibility criteria
"""
K_MISD = "not_felony"
K_AFTER = "convicted_on_or_after(date=2016-11-09)"
K_AGE = "age_at_least(years=50)"
K_DISMISS = "section_in(sections=11357, 11358)"
K_REDUCE = "section_in(sections=11359, 11360)"
K_ALWAYS = "always"

SCHEMA = pa.schema(
    [
        (RECORD_ID, pa.string()),
        (SOURCE_FILE, pa.string()),
        (SOURCE_LINE, pa.int64()),
        (INPUT_INDEX, pa.int32()),
        (SUBJECT, pa.string()),
        (PRI_NAME, pa.string()),
        (COUNTY_SLUG, pa.string()),
        (SECTION, pa.string()),
        (CODE_SECTION, pa.string()),
        (CONVICTION_DATE, pa.date32()),
        (date_latest(CONVICTION_DATE), pa.date32()),
        (date_partial(CONVICTION_DATE), pa.bool_()),
        (DOB, pa.date32()),
        (date_latest(DOB), pa.date32()),
        (date_partial(DOB), pa.bool_()),
        (IS_FELONY, pa.bool_()),
        (IS_CANDIDATE, pa.bool_()),
        (DETERMINATION, pa.string()),
        (REASON, pa.string()),
        (RULE_ID, pa.string()),
        (DECISION_INPUTS, pa.map_(pa.string(), pa.bool_())),
    ]
)


def inputs(
    felony: bool, after: bool, age50: bool | None, section: str
) -> list[tuple[str, bool | None]]:
    return [
        (K_MISD, not felony),
        (K_AFTER, after),
        (K_AGE, age50),
        (K_DISMISS, section in ("11357", "11358")),
        (K_REDUCE, section in ("11359", "11360")),
        (K_ALWAYS, True),
    ]


def conviction(
    line: int,
    subject: str,
    section: str,
    convicted: dt.date,
    dob: tuple[dt.date, dt.date],
    felony: bool,
    age50: bool | None,
    outcome: tuple[str, str, str],
) -> dict[str, Any]:
    determination, reason, rule = outcome
    return {
        RECORD_ID: f"{FINGERPRINT[:16]}-{line}",
        SOURCE_FILE: "extract.csv",
        SOURCE_LINE: line,
        INPUT_INDEX: 0,
        SUBJECT: subject,
        PRI_NAME: f"PERSON, {subject}",
        COUNTY_SLUG: "fresno",
        SECTION: section,
        CODE_SECTION: f"{section} HS",
        CONVICTION_DATE: convicted,
        date_latest(CONVICTION_DATE): convicted,
        date_partial(CONVICTION_DATE): False,
        DOB: dob[0],
        date_latest(DOB): dob[1],
        date_partial(DOB): dob[0] != dob[1],
        IS_FELONY: felony,
        IS_CANDIDATE: True,
        DETERMINATION: determination,
        REASON: reason,
        RULE_ID: rule,
        DECISION_INPUTS: inputs(felony, convicted >= dt.date(2016, 11, 9), age50, section),
    }


def history_row(line: int, subject: str) -> dict[str, Any]:
    """A row of the subject's history that is not a Prop 64 conviction of the county."""
    return {
        RECORD_ID: f"{FINGERPRINT[:16]}-{line}",
        SOURCE_FILE: "extract.csv",
        SOURCE_LINE: line,
        INPUT_INDEX: 0,
        SUBJECT: subject,
        PRI_NAME: f"PERSON, {subject}",
        COUNTY_SLUG: "kern",
        SECTION: "459",
        CODE_SECTION: "459 PC",
        IS_FELONY: True,
        IS_CANDIDATE: False,
    }


def day(y: int, m: int, d: int) -> tuple[dt.date, dt.date]:
    return dt.date(y, m, d), dt.date(y, m, d)


BORN_1975 = day(1975, 3, 1)  # 49 at COMPUTE_1, 51 at COMPUTE_2
BORN_1990 = day(1990, 1, 1)
BORN_1974_PARTIAL = (dt.date(1974, 1, 1), dt.date(1974, 12, 31))  # 50 at COMPUTE_1 or not


def fresno_v0() -> list[dict[str, Any]]:
    """Fresno's table as run 1 (compute-at 2024-06-30) wrote it."""
    return [
        history_row(1, "S1"),
        conviction(2, "S1", "11359", dt.date(2010, 5, 3), BORN_1975, True, False,
                   (R, "Reduce all HS 11359 convictions", "reduce-sections")),
        conviction(3, "S2", "11357", dt.date(2012, 6, 7), BORN_1990, False, False,
                   (D, "Misdemeanor or Infraction", "misdemeanor")),
        conviction(4, "S4", "11358", dt.date(2011, 1, 1), BORN_1975, True, False,
                   (D, "Dismiss all HS 11358 convictions", "dismiss-sections")),
        conviction(5, "S5", "11360", dt.date(2017, 1, 1), BORN_1990, True, False,
                   (NOT_ELIGIBLE, "Occurred after 11/09/2016", "after-prop64")),
        conviction(7, "S7", "11359", dt.date(2009, 9, 9), BORN_1974_PARTIAL, True, None,
                   (HAND, "Incomplete date", "age-50")),
    ]  # fmt: skip


def fresno_v1() -> list[dict[str, Any]]:
    """Run 2 (compute-at 2026-06-30): S1, S4 and S7 are 50 or older; line 5 is gone (a
    corrected extract), line 6 is new."""
    return [
        history_row(1, "S1"),
        conviction(2, "S1", "11359", dt.date(2010, 5, 3), BORN_1975, True, True,
                   (D, "50 years or older", "age-50")),
        conviction(3, "S2", "11357", dt.date(2012, 6, 7), BORN_1990, False, False,
                   (D, "Misdemeanor or Infraction", "misdemeanor")),
        conviction(4, "S4", "11358", dt.date(2011, 1, 1), BORN_1975, True, True,
                   (D, "50 years or older", "age-50")),
        conviction(6, "S6", "11357", dt.date(2013, 3, 3), BORN_1990, False, False,
                   (D, "Misdemeanor or Infraction", "misdemeanor")),
        conviction(7, "S7", "11359", dt.date(2009, 9, 9), BORN_1974_PARTIAL, True, True,
                   (D, "50 years or older", "age-50")),
    ]  # fmt: skip


def kern_rows() -> list[dict[str, Any]]:
    return [
        conviction(8, "S8", "11357", dt.date(2015, 1, 1), BORN_1990, False, False,
                   (D, "Misdemeanor or Infraction", "misdemeanor"))
        | {COUNTY_SLUG: "kern"},
    ]  # fmt: skip


def record_id(line: int) -> str:
    return f"{FINGERPRINT[:16]}-{line}"


def commit_metadata(run_id: str, compute_at: dt.date, slug: str, policy_hash: str) -> dict:
    return {
        "run_id": run_id,
        "compute_at": compute_at.isoformat(),
        "input_fingerprints": json.dumps({"/data/extract.csv": FINGERPRINT}),
        "relief_version": "0.1.0",
        "county": slug,
        "policy_hash": policy_hash,
    }


def write_version(
    root: Path, slug: str, rows: list[dict[str, Any]], metadata: dict[str, Any]
) -> int:
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    path = Warehouse(root).county(slug)
    write_deltalake(str(path), table, mode="overwrite",
                    commit_properties=CommitProperties(custom_metadata=metadata))  # fmt: skip
    version = DeltaTable(str(path)).version()
    assert version is not None
    return version


def summary_rows(run_id: str, compute_at: dt.date, rows: list[tuple]) -> pa.Table:
    names = ("county", "flow", "metric", "key", "key2", "value", "text")
    return pa.Table.from_pylist(
        [{"run_id": run_id, "compute_at": compute_at, **dict(zip(names, r, strict=True))}
         for r in rows],
        schema=SUMMARY_SCHEMA,
    )  # fmt: skip


def record_run(
    root: Path,
    run_id: str,
    compute_at: dt.date,
    county_versions: list[dict[str, Any]],
    summary_version: int | None,
    status: str = ledger.STATUS_SUCCEEDED,
    validation: str | None = None,
    started: dt.datetime | None = None,
) -> None:
    started = started or dt.datetime.combine(compute_at, dt.time(), tzinfo=dt.UTC)
    record = ledger.RunRecord(
        run_id=run_id,
        started_at=started,
        compute_at=compute_at,
        inputs=[InputFile(0, "/data/extract.csv", FINGERPRINT, 1234)],
        counties_requested=None,
        status=status,
        finished_at=started + dt.timedelta(minutes=3),
        county_versions=county_versions,
        summary_version=summary_version,
        validation=validation,
    )
    ledger.record(Warehouse(root), record)


def run_into(
    root: Path,
    run_id: str,
    compute_at: dt.date,
    tables: dict[str, list[dict[str, Any]]],
    policy_hash: str,
    figures: list[tuple],
    validation: str | None = None,
) -> None:
    """What one statewide run leaves behind: county versions, summary rows, a ledger row."""
    versions = []
    for slug, rows in tables.items():
        version = write_version(root, slug, rows, commit_metadata(run_id, compute_at, slug,
                                                                  policy_hash))  # fmt: skip
        versions.append(
            {"county": slug, "version": version, "rows": len(rows), "policy_hash": policy_hash}
        )
    summary_version = append_rows(
        Warehouse(root).summary,
        summary_rows(run_id, compute_at, figures),
        {"run_id": run_id, "compute_at": compute_at.isoformat()},
    )
    record_run(root, run_id, compute_at, versions, summary_version, validation=validation)


def figures_for(run: int) -> list[tuple]:
    """Summary figures of the two runs (transforms/summary.py's long form; no zero rows)."""
    age = 1 if run == 1 else 3  # convictions dismissed by age
    rows: list[tuple] = [
        ("fresno", "policy", "rows", "", "", 6, None),
        ("fresno", "policy", "earliest_prop64_conviction", "", "", None, "2009-09-09"),
        ("fresno", "policy", "prop64_convictions_by_section", "11357", "", 1 + (run == 2), None),
        ("fresno", "policy", "prop64_convictions_by_section", "11358", "", 1, None),
        ("fresno", "policy", "prop64_convictions_by_section", "11359", "", 2, None),
        ("fresno", "policy", "prop64_convictions_by_felony", "felony", "", 4 - (run == 2), None),
        ("fresno", "policy", "prop64_convictions_by_felony", "non-felony", "", run, None),
        ("fresno", "policy", "convictions_by_conviction_year", "2009", "", 1, None),
        ("fresno", "policy", "convictions_by_conviction_year", "2012", "", 1, None),
        ("fresno", "policy", "convictions_by_conviction_year", "", "", 1, None),
        ("fresno", "policy", "convictions_by_race", "WHITE", D, 2 + run, None),
        ("fresno", "policy", "convictions_by_race", "BLACK", HAND, 1, None),
        ("fresno", "policy", "convictions_by_reason", D, "Misdemeanor or Infraction", run, None),
        ("fresno", "policy", "convictions_by_reason", D, "50 years or older", age, None),
        ("fresno", "policy", "convictions_by_reason", HAND, "Incomplete date", 1, None),
        ("fresno", "policy", "convictions_by_determination", D, "", run + age, None),
        ("fresno", "policy", "convictions_by_determination", HAND, "", 1, None),
        ("fresno", "dismiss_all_prop64", "convictions_by_determination", D, "", 5, None),
        ("fresno", "dismiss_all_prop64_related", "convictions_by_determination", D, "", 6, None),
        ("fresno", "policy", "subjects_with_prop64_conviction", "", "", 5, None),
        ("fresno", "policy", "subjects_by_race", "WHITE", "", 4, None),
        ("fresno", "policy", "subjects_by_race", "BLACK", "", 1, None),
        ("fresno", "policy", "subjects_some_relief", "", "", 3 + run, None),
        ("fresno", "policy", "subjects_some_relief_by_race", "WHITE", "", 3 + run, None),
        ("fresno", "dismiss_all_prop64", "subjects_some_relief", "", "", 5, None),
        ("fresno", "dismiss_all_prop64", "subjects_some_relief_by_race", "WHITE", "", 4, None),
        ("fresno", "dismiss_all_prop64", "subjects_some_relief_by_race", "BLACK", "", 1, None),
        ("fresno", "policy", "subjects_no_felony", "", "", run, None),
        ("fresno", "dismiss_all_prop64", "subjects_no_felony", "", "", 3, None),
        ("fresno", "dismiss_all_prop64", "subjects_no_conviction", "", "", 2, None),
        ("fresno", "dismiss_all_prop64", "subjects_no_conviction_last_7_years", "", "", 1, None),
        ("fresno", "policy", "subjects_no_felony_by_race", "WHITE", "", run, None),
        ("kern", "policy", "rows", "", "", 1, None),
        ("kern", "policy", "earliest_prop64_conviction", "", "", None, "2015-01-01"),
        ("kern", "policy", "prop64_convictions_by_section", "11357", "", 1, None),
        ("kern", "policy", "prop64_convictions_by_felony", "non-felony", "", 1, None),
        ("kern", "policy", "convictions_by_conviction_year", "2015", "", 1, None),
        ("kern", "policy", "convictions_by_race", "HISPANIC", D, 1, None),
        ("kern", "policy", "convictions_by_reason", D, "Misdemeanor or Infraction", 1, None),
        ("kern", "policy", "convictions_by_determination", D, "", 1, None),
        ("kern", "dismiss_all_prop64", "convictions_by_determination", D, "", 1, None),
        ("kern", "policy", "subjects_with_prop64_conviction", "", "", 1, None),
        ("kern", "policy", "subjects_by_race", "HISPANIC", "", 1, None),
        ("kern", "policy", "subjects_some_relief", "", "", 1, None),
        ("kern", "policy", "subjects_some_relief_by_race", "HISPANIC", "", 1, None),
        ("kern", "dismiss_all_prop64", "subjects_some_relief", "", "", 1, None),
        ("kern", "policy", "subjects_no_conviction", "", "", 1, None),
        ("kern", "dismiss_all_prop64", "subjects_no_conviction", "", "", 1, None),
    ]
    return rows


def write_policy_dir(directory: Path) -> Path:
    directory.mkdir()
    (directory / "default.yaml").write_text(POLICY_YAML)
    return directory


def hash_of_policy_dir(directory: Path) -> str:
    return load_policies(directory).hash_for("fresno")


def build_warehouse(root: Path, policy_hash: str) -> Path:
    """Two runs; Fresno and Kern at versions 0 and 1; summary versions 0 and 1."""
    run_into(root, RUN_1, COMPUTE_1, {"fresno": fresno_v0(), "kern": kern_rows()},
             policy_hash, figures_for(1))  # fmt: skip
    run_into(root, RUN_2, COMPUTE_2, {"fresno": fresno_v1(), "kern": kern_rows()},
             policy_hash, figures_for(2), validation=GX_RUN_2)  # fmt: skip
    return root
