"""The audit trail (jobs/audit/, `relief audit`): history, diff, explain and verify, read from
the Delta logs and the runs ledger without Spark.

Most tests use a small warehouse written here with delta-rs: two runs of one policy whose
compute-at differs (2024-06-30, then 2026-06-30), so a subject who turns 50 in between moves
from one rule to another. The slow test at the end runs the real statewide job twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import write_deltalake
from typer.testing import CliRunner

from relief.jobs.audit import common as audit_common
from relief.jobs.audit import diff as audit_diff
from relief.jobs.audit import explain as audit_explain
from relief.jobs.audit import history as audit_history
from relief.jobs.audit import verify as audit_verify
from relief.jobs.audit.cli import app
from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.storage import Warehouse, append_rows
from relief.transforms.columns import (
    REASON,
    RULE_ID,
)
from tests.helpers.audit_warehouse import (
    COMPUTE_2,
    FINGERPRINT,
    GX_RUN_2,
    K_AFTER,
    K_MISD,
    POLICY_YAML,
    ROOT,
    RUN_1,
    RUN_2,
    SCHEMA,
    D,
    R,
    build_warehouse,
    commit_metadata,
    fresno_v1,
    hash_of_policy_dir,
    kern_rows,
    record_id,
    record_run,
    summary_rows,
    write_policy_dir,
    write_version,
)
from tests.helpers.county_tables import no_java_env


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    return write_policy_dir(tmp_path / "policies")


@pytest.fixture
def policy_hash(policy_dir: Path) -> str:
    return hash_of_policy_dir(policy_dir)


@pytest.fixture
def warehouse(tmp_path: Path, policy_hash: str) -> Path:
    return build_warehouse(tmp_path / "warehouse", policy_hash)


def fact(text: str, label: str) -> str | None:
    """The value printed after ``label`` on an indented line of explain's output."""
    match = re.search(rf"^  {re.escape(label)} +(.*)$", text, re.M)
    return match.group(1) if match else None


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


# --- the ledger, read without Spark -----------------------------------------------------------


def test_ledger_reading_matches_jobs_ledger_including_incomplete_runs(warehouse: Path):
    later = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    record_run(warehouse, "20270101T000000Z-dead0003", COMPUTE_2, [], None,
               status=ledger.STATUS_RUNNING, started=later)  # fmt: skip
    ours = audit_common.read_ledger(warehouse)
    assert ours == ledger.read_runs(Warehouse(warehouse))
    assert [r["status"] for r in ours] == ["succeeded", "succeeded", "incomplete"]
    assert (
        audit_common.STATUS_RUNNING,
        audit_common.STATUS_SUCCEEDED,
        audit_common.STATUS_INCOMPLETE,
    ) == (ledger.STATUS_RUNNING, ledger.STATUS_SUCCEEDED, ledger.STATUS_INCOMPLETE)


def test_audit_modules_import_nothing_from_pyspark():
    code = (
        "import sys, relief.jobs.audit.history, relief.jobs.audit.diff\n"
        "import relief.jobs.audit.explain, relief.jobs.audit.verify\n"
        "import relief.jobs.audit.cli, relief.jobs.audit.report\n"
        "import relief.jobs.audit.validation_page\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j'))\n"
        "print(bad)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=no_java_env(),
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"


# --- history ----------------------------------------------------------------------------------


def test_history_lists_each_version_with_run_compute_at_policy_inputs_rows_and_gx(
    warehouse: Path, policy_hash: str
):
    result = invoke("history", "--warehouse", warehouse, "--county", "Fresno")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Fresno: 2 version(s) of ")
    assert lines[0].endswith(f"; readers are served version 1, published by run {RUN_2}")
    assert lines[1].split() == ["VERSION", "SERVED", "TIMESTAMP", "(UTC)", "RUN", "COMPUTE-AT",
                                "POLICY", "INPUTS", "ROWS", "GX"]  # fmt: skip
    v0, v1 = lines[2].split(), lines[3].split()
    inputs = f"extract.csv:{FINGERPRINT[:12]}"
    assert v0[:2] == ["0", "-"]
    assert v0[4:10] == [RUN_1, "2024-06-30", policy_hash[:12], inputs, "6", "-"]
    assert v1[:2] == ["1", "published"]
    assert v1[4:10] == [RUN_2, "2026-06-30", policy_hash[:12], inputs, "6", "3"]
    assert lines[3].endswith(GX_RUN_2)
    assert len(lines) == 4


def test_history_json_carries_full_hashes_fingerprints_and_ledger_status(
    warehouse: Path, policy_hash: str
):
    result = invoke("history", "--warehouse", warehouse, "--county", "fresno", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["county"] == "fresno"
    versions = data["versions"]
    assert [v["version"] for v in versions] == [0, 1]
    assert [v["run_id"] for v in versions] == [RUN_1, RUN_2]
    assert [v["compute_at"] for v in versions] == ["2024-06-30", "2026-06-30"]
    assert {v["policy_hash"] for v in versions} == {policy_hash}
    assert versions[0]["input_fingerprints"] == {"/data/extract.csv": FINGERPRINT}
    assert [v["rows"] for v in versions] == [6, 6]
    assert [v["validation"] for v in versions] == [None, GX_RUN_2]
    assert [v["run_status"] for v in versions] == ["succeeded", "succeeded"]
    assert dt.datetime.fromisoformat(versions[1]["timestamp"]).tzinfo is not None


def test_history_takes_gx_summary_from_commit_metadata_when_the_ledger_has_none(
    warehouse: Path, policy_hash: str
):
    metadata = commit_metadata("20280101T000000Z-cccc0003", COMPUTE_2, "fresno", policy_hash)
    write_version(warehouse, "fresno", fresno_v1(), metadata | {"validation": "2 suites ok"})
    entries = audit_history.county_history(warehouse, "fresno").entries
    assert entries[-1].validation == "2 suites ok"
    assert entries[-1].run_status is None  # that run is not in the ledger
    text = audit_history.render_history(audit_history.county_history(warehouse, "fresno"))
    assert "20280101T000000Z-cccc0003 (not in ledger)" in text


def test_history_of_a_county_without_a_table_says_so(warehouse: Path):
    result = invoke("history", "--warehouse", warehouse, "--county", "Mono")
    assert result.exit_code == 1
    assert "Mono has no county table" in result.output


def test_history_of_an_unknown_county_is_bad_usage(warehouse: Path):
    result = invoke("history", "--warehouse", warehouse, "--county", "Atlantis")
    assert result.exit_code == 2
    assert "unknown county 'Atlantis'" in result.output


# --- diff -------------------------------------------------------------------------------------


def test_diff_names_new_removed_and_changed_records_with_counts(warehouse: Path):
    diff = audit_diff.diff_versions(warehouse, "fresno", 0, 1)
    got = [(c.record_id, c.change, c.from_rule, c.to_rule) for c in diff.changes]
    assert got == [
        (record_id(6), "new", None, "misdemeanor"),
        (record_id(5), "removed", "after-prop64", None),
        (record_id(2), "determination changed", "reduce-sections", "age-50"),
        (record_id(7), "determination changed", "age-50", "age-50"),
        (record_id(4), "reason changed", "dismiss-sections", "age-50"),
    ]
    assert diff.counts_by_kind() == {
        "new": 1, "removed": 1, "determination changed": 2, "reason changed": 1}  # fmt: skip
    assert diff.counts_by_rule() == {
        "- -> misdemeanor": 1,
        "after-prop64 -> -": 1,
        "age-50 -> age-50": 1,
        "dismiss-sections -> age-50": 1,
        "reduce-sections -> age-50": 1,
    }
    assert (diff.from_decided, diff.to_decided, diff.unchanged) == (5, 5, 1)
    assert (diff.from_rows, diff.to_rows) == (6, 6)


def test_diff_of_a_version_with_itself_is_empty(warehouse: Path):
    diff = audit_diff.diff_versions(warehouse, "fresno", 1, 1)
    assert diff.changes == [] and diff.unchanged == 5


def test_diff_command_prints_counts_and_writes_every_change_to_csv(warehouse: Path, tmp_path: Path):
    out = tmp_path / "changes.csv"
    result = invoke("diff", "--warehouse", warehouse, "--county", "fresno",
                    "--from", "0", "--to", "1", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.output
    assert f"version 0 (run {RUN_1}, compute-at 2024-06-30" in text
    assert f"version 1 (run {RUN_2}, compute-at 2026-06-30" in text
    assert "Prop 64 convictions with a determination: 5 -> 5; 1 unchanged, 5 changed" in text
    assert re.search(r"^  determination changed +2$", text, re.M)
    assert "reduce-sections -> age-50" in text
    assert f"wrote 5 change(s) to {out}" in text
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0].keys()) == audit_diff.CSV_HEADER
    assert rows[2] == {
        "record_id": record_id(2),
        "change": "determination changed",
        "subject": "S1",
        "code_section": "11359 HS",
        "conviction_date": "2010-05-03",
        "from_determination": R,
        "to_determination": D,
        "from_reason": "Reduce all HS 11359 convictions",
        "to_reason": "50 years or older",
        "from_rule": "reduce-sections",
        "to_rule": "age-50",
    }
    assert [r["change"] for r in rows] == ["new", "removed", "determination changed",
                                           "determination changed", "reason changed"]  # fmt: skip
    assert out.stat().st_mode & 0o777 == 0o600


def test_diff_to_a_version_that_does_not_exist_is_bad_usage(warehouse: Path):
    result = invoke("diff", "--warehouse", warehouse, "--county", "fresno",
                    "--from", "0", "--to", "7")  # fmt: skip
    assert result.exit_code == 2
    assert "Fresno's table has versions 0 to 1; there is no version 7" in result.output


# --- explain ----------------------------------------------------------------------------------


def test_explain_walks_the_rules_in_order_and_names_the_rule_that_fired(
    warehouse: Path, policy_dir: Path, policy_hash: str
):
    result = invoke("explain", "--warehouse", warehouse, "--county", "fresno",
                    "--record-id", record_id(2), "--policy-dir", policy_dir)  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith(
        f"Record {record_id(2)} in Fresno's table, version 1 (run {RUN_2}), published by run "
        f"{RUN_2}\n"
    )
    assert fact(text, "subject") == "S1"
    assert fact(text, "date of birth") == "1975-03-01"
    assert fact(text, "conviction date") == "2010-05-03"
    assert fact(text, "felony") == "yes"
    assert fact(text, "input") == "extract.csv, line 2"
    assert "Determination  Eligible for Dismissal\nReason         50 years or older\n" in text
    assert f"Policy 'audit-test' from {policy_dir / 'default.yaml'} (sha256 {policy_hash}" in text
    steps = text[text.index("rules in order:") :]
    assert (
        "  1. misdemeanor: when not a felony (misdemeanor or infraction)\n"
        "       then Eligible for Dismissal / Misdemeanor or Infraction\n"
        "       not_felony = false\n"
        "       -> does not hold: the next rule is tried\n"
    ) in steps
    assert (
        "  3. age-50: when age >= 50 at compute-at (DOB + 50 years <= compute-at)\n"
        "       then Eligible for Dismissal / 50 years or older\n"
        "       age_at_least(years=50) = true\n"
        "       -> HOLDS: this rule fired\n"
    ) in steps
    assert "  4. dismiss-sections: when section in 11357, 11358\n" in steps
    assert steps.count("-> not reached") == 3
    assert "WARNING" not in text
    run = text[text.index("Run that decided it") :]
    assert f"  run            {RUN_2}" in run
    assert "  compute-at     2026-06-30" in run
    assert f"  input          /data/extract.csv (sha256 {FINGERPRINT})" in run
    assert "  ledger status  succeeded" in run
    assert f"  validation     {GX_RUN_2}" in run


def test_explain_an_older_version_shows_that_versions_rule_and_run(
    warehouse: Path, policy_dir: Path
):
    e = audit_explain.explain_record(
        warehouse, "fresno", record_id(2), version=0, policy_dir=policy_dir
    )
    assert (e.version, e.determination, e.rule_id, e.fired_rule) == (0, R, "reduce-sections",
                                                                     "reduce-sections")  # fmt: skip
    assert [s.outcome for s in e.steps] == [audit_explain.OUTCOME_SKIPPED] * 4 + [
        audit_explain.OUTCOME_FIRED, audit_explain.OUTCOME_NOT_REACHED]  # fmt: skip
    assert e.steps[2].predicates[0].value is False  # 49 at compute-at 2024-06-30
    assert e.commit["run_id"] == RUN_1 and e.run is not None and e.run["run_id"] == RUN_1


def test_explain_shows_an_unknown_predicate_sending_the_conviction_to_hand_review(
    warehouse: Path, policy_dir: Path
):
    e = audit_explain.explain_record(
        warehouse, "fresno", record_id(7), version=0, policy_dir=policy_dir
    )
    assert e.steps[2].value is None
    assert e.steps[2].outcome == audit_explain.outcome_open("Incomplete date")
    assert e.fired_rule == "age-50" and e.consistency_problem is None
    text = audit_explain.render_explanation(e)
    assert fact(text, "date of birth") == "between 1974-01-01 and 1974-12-31 (partial date)"
    assert "       age_at_least(years=50) = UNKNOWN\n" in text
    assert "Hand Review / Incomplete date" in text


def test_explain_says_plainly_when_the_policy_changed_and_shows_stored_values(
    warehouse: Path, tmp_path: Path, policy_hash: str
):
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "default.yaml").write_text(
        POLICY_YAML.replace("age_at_least: 50", "age_at_least: 55")
    )
    result = invoke("explain", "--warehouse", warehouse, "--county", "fresno",
                    "--record-id", record_id(2), "--policy-dir", changed)  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.output
    assert f"decided with (sha256 {policy_hash}) is NOT the county's current policy" in text
    assert "rules in order" not in text
    stored = text[text.index("Stored predicate values (decision_inputs)") :]
    assert fact(stored, "age_at_least(years=50)") == "true"
    assert fact(stored, "not_felony") == "false"
    assert fact(stored, K_AFTER) == "false"


def test_explain_with_the_repository_policy_reports_the_mismatch(warehouse: Path):
    """The test warehouse was decided with a policy that conf/policies does not hold."""
    e = audit_explain.explain_record(warehouse, "fresno", record_id(3))
    assert e.policy_problem is not None and "NOT the county's current policy" in e.policy_problem
    assert e.steps == [] and e.decision_inputs[K_MISD] is True


def test_explain_warns_when_a_row_contradicts_its_own_decision_inputs(
    warehouse: Path, policy_dir: Path, policy_hash: str
):
    rows = fresno_v1()
    rows[2] = rows[2] | {RULE_ID: "dismiss-sections", REASON: "Dismiss all HS 11357 convictions"}
    write_version(warehouse, "fresno", rows, commit_metadata(RUN_2, COMPUTE_2, "fresno",
                                                             policy_hash))  # fmt: skip
    e = audit_explain.explain_record(warehouse, "fresno", record_id(3), version=2,
                                     policy_dir=policy_dir)  # fmt: skip
    assert e.fired_rule == "misdemeanor"
    assert e.consistency_problem is not None
    assert "WARNING: the stored values make rule 'misdemeanor' fire" in (
        audit_explain.render_explanation(e))  # fmt: skip


def test_explain_a_history_row_says_no_rule_applies(warehouse: Path, policy_dir: Path):
    e = audit_explain.explain_record(warehouse, "fresno", record_id(1), policy_dir=policy_dir)
    assert not e.is_candidate and e.steps == []
    assert "This row is not a Prop 64 conviction of Fresno" in audit_explain.render_explanation(e)


def test_explain_an_unknown_record_is_bad_usage(warehouse: Path):
    result = invoke("explain", "--warehouse", warehouse, "--county", "fresno",
                    "--record-id", "nope-1")  # fmt: skip
    assert result.exit_code == 2
    assert "no record 'nope-1' in version 1 of Fresno's table" in result.output


def test_condition_values_follow_kleene_logic():
    from relief.transforms.policy import parse_condition

    values = {"not_felony": None, "deceased": False, "only_prop64": True}
    misdemeanor, deceased, only = {"not_felony": True}, {"deceased": True}, {"only_prop64": True}
    assert (
        audit_explain.evaluate(parse_condition({"all": [misdemeanor, deceased]}), values) is False
    )
    assert audit_explain.evaluate(parse_condition({"all": [misdemeanor, only]}), values) is None
    assert audit_explain.evaluate(parse_condition({"any": [misdemeanor, only]}), values) is True
    assert audit_explain.evaluate(parse_condition({"any": [misdemeanor, deceased]}), values) is None
    assert audit_explain.evaluate(parse_condition({"not": {"deceased": True}}), values) is True
    assert audit_explain.evaluate(parse_condition({"not": {"not_felony": True}}), values) is None


# --- verify -----------------------------------------------------------------------------------


def test_verify_accepts_a_warehouse_written_only_by_recorded_runs(warehouse: Path):
    result = invoke("verify", "--warehouse", warehouse)
    assert result.exit_code == 0, result.output
    assert (
        f"6 version(s) of 3 table(s) checked; published by run {RUN_2}. Every version is "
        "accounted for by the runs ledger, every table's newest state is its published one"
    ) in result.output


def test_verify_flags_a_version_written_outside_relief(warehouse: Path):
    path = Warehouse(warehouse).county("fresno")
    write_deltalake(str(path), pa.Table.from_pylist(fresno_v1(), schema=SCHEMA), mode="overwrite")
    result = invoke("verify", "--warehouse", warehouse, "--json")
    # Damaged (3), not "needs recovery" (1): relief recover leaves a version written
    # outside relief alone; a person decides.
    assert result.exit_code == 3
    report = json.loads(result.output)
    assert report["ok"] is False and report["status"] == "damaged"
    assert report["problems"] == [
        {"table": "fresno", "version": 2, "run_id": None,
         "problem": "its commit names no run: written outside relief", "kind": "damaged"},
    ]  # fmt: skip


def test_verify_flags_versions_of_a_run_that_died_or_is_not_in_the_ledger(
    warehouse: Path, policy_hash: str
):
    dead = "20270101T000000Z-dead0003"
    record_run(warehouse, dead, COMPUTE_2, [], None, status=ledger.STATUS_RUNNING,
               started=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    write_version(warehouse, "fresno", fresno_v1(), commit_metadata(dead, COMPUTE_2, "fresno",
                                                                    policy_hash))  # fmt: skip
    write_version(warehouse, "kern", kern_rows(), commit_metadata("ghost", COMPUTE_2, "kern",
                                                                 policy_hash))  # fmt: skip
    report = audit_verify.verify_warehouse(warehouse)
    assert [(p.table, p.version, p.run_id) for p in report.problems] == [
        ("fresno", 2, dead), ("kern", 2, "ghost")]  # fmt: skip
    assert report.problems[0].problem == (
        f"unpublished: run {dead} died after committing it; readers are served version 1. "
        "`relief recover` rolls it back"
    )
    assert "not in the runs ledger" in report.problems[1].problem
    text = audit_verify.render_verify(report, warehouse)
    assert "2 NOT accounted for:" in text


def test_verify_flags_a_version_the_ledger_names_but_the_table_lacks(warehouse: Path):
    record_run(warehouse, "20270101T000000Z-eeee0004", COMPUTE_2,
               [{"county": "kern", "version": 5, "rows": 1, "policy_hash": "x"}], None,
               started=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    report = audit_verify.verify_warehouse(warehouse)
    assert [(p.table, p.version) for p in report.problems] == [("kern", 1), ("kern", 5)]
    assert report.problems[0].problem.startswith("the newest version is not the published")
    assert report.problems[1].problem.endswith("it is missing")


def test_verify_flags_a_row_count_that_differs_from_the_ledger(warehouse: Path, policy_hash: str):
    run_id = "20270101T000000Z-ffff0005"
    version = write_version(warehouse, "kern", kern_rows() * 2,
                            commit_metadata(run_id, COMPUTE_2, "kern", policy_hash))  # fmt: skip
    record_run(warehouse, run_id, COMPUTE_2,
               [{"county": "kern", "version": version, "rows": 1, "policy_hash": policy_hash}],
               None, started=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    report = audit_verify.verify_warehouse(warehouse)
    assert [(p.table, p.version, p.problem) for p in report.problems] == [
        ("kern", 2, f"the version holds 2 rows but run {run_id} recorded 1")]  # fmt: skip


def test_verify_flags_a_summary_version_outside_relief(warehouse: Path):
    rows = summary_rows("x", COMPUTE_2, [("kern", "policy", "rows", "", "", 1, None)])
    append_rows(Warehouse(warehouse).summary, rows, {})
    report = audit_verify.verify_warehouse(warehouse)
    assert [(p.table, p.version) for p in report.problems] == [("summary", 2)]


def test_audit_command_runs_without_java(warehouse: Path):
    done = subprocess.run(
        [sys.executable, "-m", "relief.jobs.audit.cli", "verify", "--warehouse", str(warehouse)],
        cwd=ROOT, env=no_java_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Every version is accounted for by the runs ledger" in done.stdout


# --- end to end: the real statewide job, twice, with different compute-at ---------------------


@pytest.fixture(scope="module")
def two_runs(spark, tmp_path_factory):
    from relief.jobs.runtime.progress import Progress
    from relief.jobs.statewide import RunOptions, run
    from relief.jobs.synthetic.generate import generate_extract

    root = tmp_path_factory.mktemp("audit-e2e")
    extract = root / "extract.csv"
    generate_extract(extract, rows=3000, seed=11)
    warehouse = root / "warehouse"
    # Felonies go to hand review unless the subject is 50 or older: two years apart, some
    # subjects cross 50 and their convictions move to dismissal.
    options = root / "options.json"
    options.write_text(json.dumps(AGE_50_OPTIONS))
    results = [
        run(RunOptions(inputs=str(extract), warehouse=warehouse, compute_at=day_,
                       eligibility_options=options),
            Progress(quiet=True))
        for day_ in (dt.date(2024, 1, 1), dt.date(2026, 1, 1))
    ]  # fmt: skip
    return warehouse, results, options


AGE_50_OPTIONS = {
    "baselineEligibility": {"dismiss": [], "reduce": []},
    "additionalRelief": {"subjectAgeThreshold": 50, "subjectIsDeceased": False},
}


@pytest.mark.slow
def test_audit_and_report_on_two_real_runs(two_runs, tmp_path: Path):
    from relief.jobs.audit.report import report_command
    from tests.helpers.report_pages import assert_pages_match_summary

    warehouse, (first, second), options = two_runs
    assert [first.status, second.status] == ["succeeded", "succeeded"]
    slugs = [v["county"] for v in second.county_versions]
    assert slugs

    verify = audit_verify.verify_warehouse(warehouse)
    assert verify.ok, audit_verify.render_verify(verify, warehouse)

    changed = []
    for slug in slugs:
        history = audit_history.county_history(warehouse, slug)
        assert [(e.run_id, e.compute_at, e.run_status) for e in history.entries] == [
            (first.run_id, "2024-01-01", "succeeded"),
            (second.run_id, "2026-01-01", "succeeded"),
        ]
        rows = {v["county"]: v["rows"] for v in second.county_versions}[slug]
        assert history.entries[-1].rows == rows
        diff = audit_diff.diff_versions(warehouse, slug, 0, 1)
        assert diff.counts_by_kind()["new"] == diff.counts_by_kind()["removed"] == 0  # same input
        changed += [(slug, c) for c in diff.changes]
    # Two years later some subjects are older: at least one determination or reason moved.
    assert changed
    for slug, change in changed[:5]:
        for version, rule in ((0, change.from_rule), (1, change.to_rule)):
            e = audit_explain.explain_record(warehouse, slug, change.record_id, version=version,
                                             policy_file=options)  # fmt: skip
            assert e.policy_problem is None and e.consistency_problem is None
            assert e.fired_rule == e.rule_id == rule

    index = report_command(warehouse, tmp_path / "report", None)
    assert_pages_match_summary(warehouse, index.parent, second.run_id)


def test_explain_names_an_unread_code_section_as_what_left_the_rule_open():
    from relief.transforms.policy import parse_policy

    policy = parse_policy(
        {
            "name": "t",
            "rules": [
                {"id": "plain-11357", "when": {"all": [{"section_in": ["11357"]},
                                                       {"no_subsection": True}]},
                 "then": "Eligible for Dismissal", "reason": "Plain possession"},
                {"id": "otherwise", "when": {"always": True}, "then": "Hand Review",
                 "reason": "No applicable eligibility criteria"},
            ],
        }
    )  # fmt: skip
    keys = {leaf.kind: leaf.key() for leaf in policy.rules[0].when.conditions}
    inputs = {keys["section_in"]: True, keys["no_subsection"]: None}
    steps, fired, outcome = audit_explain._steps(policy, inputs, "11357")
    assert fired == "plain-11357"
    assert outcome == ("Hand Review", "Incomplete code section")
    assert steps[0].outcome == audit_explain.outcome_open("Incomplete code section")
    assert "a subsection or code the text did not give" in steps[0].outcome
