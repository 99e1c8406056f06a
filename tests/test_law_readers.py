"""Readers of the statewide law packs on the §7 table shape (docs/laws.md §7, "Readers").

Two monthly versions of Sacramento's table are built the way the pipeline decides them —
fixture subjects normalized, the law facts pass, the compiled packs, the grants join — and
written as real Delta tables with ledger rows that publish them: June (compute-at
2025-06-30) and July (2025-07-31; one subject gone, one new). Then ``county pull --law``,
``county packet --law``, ``audit explain --law``, ``audit diff --law``, the per-law summary
flows and ``report --law`` read them.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from typer.testing import CliRunner

from relief.jobs.audit.law_audit import diff_law, explain_law, render_law_explanation
from relief.jobs.audit.law_report import build_law_report
from relief.jobs.cli import app
from relief.jobs.config.laws import load_law_packs
from relief.jobs.county.laws import law_packet, law_view
from relief.jobs.county.pull import PullFormat, pull
from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.snapshots import PullError
from relief.jobs.warehouse.storage import Warehouse, append_rows, commit_properties, open_table
from relief.transforms import columns as C
from relief.transforms.history import subject_history
from relief.transforms.identity import with_row_key
from relief.transforms.law_eligibility import apply_law, compile_law
from relief.transforms.law_facts import law_fact_settings, with_law_facts
from relief.transforms.law_grants import with_grants
from relief.transforms.law_summary import law_figures
from relief.transforms.summary import SUMMARY_COLUMNS
from tests import law_fixtures as fx
from tests.helpers.law_lines import CONF_LAWS, normalized

P1203, P851 = "pc1203.425", "pc851.93"
LAWS = (P1203, P851)
JUNE, JULY = dt.date(2025, 6, 30), dt.date(2025, 7, 31)
SLUG = "sacramento"
CASES = {case.record.subject: case for case in fx.all_cases()}
JUNE_SUBJECTS = ["C122", "C106", "C101", "C119", "A209", "A215", "A204", "A206"]
JULY_SUBJECTS = ["C122", "C106", "C101", "C119", "A209", "A215", "A206", "A212"]  # A204 gone


def decided(
    spark: SparkSession, subjects: list[str], run_id: str, at: dt.date, earlier: DataFrame
) -> tuple[pa.Table, pa.Table]:
    """The county rows of a run over ``subjects`` with both laws' column groups, and the
    run's per-law figures (the summary table's rows)."""
    packs = load_law_packs(CONF_LAWS)
    settings = law_fact_settings(packs, supervised_release=())
    rows = [row for s in subjects for row in CASES[s].record.rows]
    lines = with_row_key(subject_history(normalized(spark, rows)))
    df = with_law_facts(lines, settings).withColumn(C.TARGET_COUNTY, F.col(C.COUNTY_SLUG))
    # The Prop 64 columns a county table has (no Prop 64 candidate among these subjects).
    df = df.withColumns(
        {
            C.IS_CANDIDATE: F.lit(False),
            C.DETERMINATION: F.lit(None).cast("string"),
            C.REASON: F.lit(None).cast("string"),
            C.RULE_ID: F.lit(None).cast("string"),
        }
    )
    for law in LAWS:
        df = apply_law(df, compile_law(packs.require(law), at))
        df = with_grants(df, law, earlier, run_id)
    by_subject = Window.partitionBy(C.SUBJECT)
    laws = [
        F.when(F.max(F.col(C.law_column(law, C.LAW_CANDIDATE)).cast("int")).over(by_subject)
               == 1, F.lit(law))
        for law in LAWS
    ]  # fmt: skip
    df = df.withColumn(C.TABLE_LAWS, F.filter(F.array(*laws), lambda x: x.isNotNull())).cache()
    parts = [law_figures(df, law) for law in LAWS]
    figures = parts[0].unionByName(parts[1]).select(*SUMMARY_COLUMNS).toArrow()
    table = df.toArrow().sort_by([(C.INPUT_INDEX, "ascending"), (C.SOURCE_LINE, "ascending")])
    return table, figures


def publish(
    home: Warehouse, run_id: str, at: dt.date, table: pa.Table, figures: pa.Table, minute: int
) -> int:
    laws = {law: {"parameters": {}} for law in LAWS}
    write_deltalake(
        str(home.county(SLUG)),
        table,
        mode="overwrite",
        schema_mode="overwrite",
        commit_properties=commit_properties(
            {"run_id": run_id, "compute_at": at.isoformat(), "laws": json.dumps(laws)}
        ),
    )
    latest = open_table(home.county(SLUG))
    assert latest is not None
    version = latest.version()
    tagged = figures.append_column("run_id", pa.array([run_id] * figures.num_rows, pa.string()))
    summary_version = append_rows(home.summary, tagged, {"run_id": run_id})
    started = dt.datetime(2025, 8, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)
    run = ledger.RunRecord(run_id, started, at, [], None)
    run.status, run.finished_at = ledger.STATUS_SUCCEEDED, started + dt.timedelta(seconds=9)
    run.county_versions = [
        {"county": SLUG, "version": version, "rows": table.num_rows, "policy_hash": None,
         "carried_from": None}
    ]  # fmt: skip
    run.summary_version = summary_version
    ledger.record(home, run)
    return version


@pytest.fixture(scope="module")
def warehouse(spark, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("laws") / "warehouse"
    home = Warehouse(root)
    root.mkdir()
    none = spark.createDataFrame([], "law string, row_key string, run_id string, compute_at date")
    june, figures = decided(spark, JUNE_SUBJECTS, "r-june", JUNE, none)
    publish(home, "r-june", JUNE, june, figures, 0)
    granted = [
        (law, r[C.ROW_KEY], "r-june", JUNE)
        for law in LAWS
        for r in june.to_pylist()
        if r[C.law_column(law, C.LAW_GRANT)] == "new"
    ]
    earlier = spark.createDataFrame(granted, "law string, row_key string, run_id string, "
                                    "compute_at date")  # fmt: skip
    july, figures = decided(spark, JULY_SUBJECTS, "r-july", JULY, earlier)
    publish(home, "r-july", JULY, july, figures, 1)
    return root


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_pull_law_gives_the_laws_rows_under_plain_names(warehouse, tmp_path):
    result = pull(warehouse, SLUG, tmp_path, PullFormat.CSV, law=P1203)
    assert [p.name for p in result.files] == [f"{SLUG}_{P1203}_v1.csv"]
    rows = _read_csv(result.files[0])
    assert {r["SUBJECT_ID"] for r in rows} == {"C122", "C106", "C101", "C119"}
    header = list(rows[0])
    assert {"determination", "reason", "rule_id", "citation", "grant", "granted_run"} <= set(header)
    assert not [h for h in header if h.startswith(("pc1203_425_", "pc851_93_"))]
    decided = {
        (r["SUBJECT_ID"], r["rule_id"], r["grant"]) for r in rows if r["is_candidate"] == "true"
    }
    assert decided == {
        ("C122", "path2-misdemeanor-1-year", "earlier"),
        ("C106", "pending-charge", ""),
        ("C101", "before-1973", ""),
        ("C119", "path1-probation-completed", "earlier"),
    }


def test_pull_law_pc851_93_and_its_refusals(warehouse, tmp_path):
    result = pull(warehouse, SLUG, tmp_path, PullFormat.PARQUET, law=P851)
    table = pq.read_table(result.files[0])
    candidates = [r for r in table.to_pylist() if r["is_candidate"]]
    assert {(r["SUBJECT_ID"], r["rule_id"]) for r in candidates} == {
        ("A209", "misdemeanor-1-year"),
        ("A215", "felony-tier-unknown"),
        ("A206", "misdemeanor-dismissed"),
        ("A212", "felony-8-year-max-6-years"),
        ("C106", "misdemeanor-1-year"),  # its open cycle: a pending charge for 1203.425
    }
    with pytest.raises(PullError, match="gogen"):
        pull(warehouse, SLUG, tmp_path, PullFormat.GOGEN, law=P851)
    with pytest.raises(PullError, match="no such law"):
        pull(warehouse, SLUG, tmp_path, PullFormat.CSV, law="pc9999")
    runner = CliRunner()
    done = runner.invoke(app, ["county", "pull", "--warehouse", str(warehouse), "--county",
                               SLUG, "--out", str(tmp_path / "cli"), "--law", P851])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "rows" in done.output
    bad = runner.invoke(app, ["county", "pull", "--warehouse", str(warehouse), "--county",
                              SLUG, "--out", str(tmp_path / "x"), "--law", "nope"])  # fmt: skip
    assert bad.exit_code == 2


def test_a_table_without_the_law_says_so():
    table = pa.table({C.SUBJECT: ["S1"], C.DETERMINATION: ["Eligible for Dismissal"]})
    with pytest.raises(PullError, match=r"holds no pc1203\.425 decisions"):
        law_view(table, P1203)
    assert law_view(table, "prop64") == table


def test_packet_law_lists_this_runs_new_grants_and_the_hand_review_worklist(warehouse, tmp_path):
    result = law_packet(warehouse, SLUG, tmp_path, P851)
    assert (result.grants, result.earlier, result.worklist) == (1, 3, 1)
    grants = _read_csv(tmp_path / "grants.csv")
    assert [(g["subject_id"], g["rule_id"], g["citation"], g["date"]) for g in grants] == [
        ("A212", "felony-8-year-max-6-years", "PC 851.93(a)(2)(C)(ii)", "2015-03-01")
    ]
    assert grants[0]["row_key"] == "A212|001001001000|1"
    review = _read_csv(tmp_path / "hand_review_worklist.csv")
    assert [(r["reason"], r["subject_id"]) for r in review] == [
        ("Maximum term not in table", "A215")
    ]
    result = law_packet(warehouse, SLUG, tmp_path / "1203", P1203, version=0)
    grants = _read_csv(tmp_path / "1203" / "grants.csv")
    assert sorted(g["subject_id"] for g in grants) == ["C119", "C122"]
    assert [r["reason"] for r in _read_csv(tmp_path / "1203" / "hand_review_worklist.csv")] == [
        "Pending charge"
    ]
    runner = CliRunner()
    done = runner.invoke(app, ["county", "packet", "--warehouse", str(warehouse), "--county",
                               SLUG, "--out", str(tmp_path / "cli"), "--law", P1203])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "0 new grant(s) (2 granted by earlier runs" in done.output


def _record(warehouse: Path, subject: str, law: str, version: int = 1) -> str:
    table = open_table(Warehouse(warehouse).county(SLUG), version).to_pyarrow_table()
    for row in table.to_pylist():
        if row[C.SUBJECT] == subject and row[C.law_column(law, C.LAW_CANDIDATE)]:
            return str(row[C.RECORD_ID])
    raise AssertionError(subject)


def test_explain_law_walks_the_rules_with_values_and_clauses(warehouse):
    record = _record(warehouse, "C106", P1203)
    explanation = explain_law(warehouse, SLUG, record, P1203)
    text = render_law_explanation(explanation)
    assert explanation.rule_id == "pending-charge"
    assert explanation.parameters_source == "as the run recorded them"
    assert "1. before-1973 [PC 1203.425(a)(1)(B)(v)]: does not hold" in text
    assert "5. pending-charge [PC 1203.425(a)(1)(B)(iii)]: HOLDS" in text
    assert "(PC 1203.425(a)(1)(B)(iii), second part)" in text
    assert "decided by this rule: PC 1203.425(a)(1)(B)(iii)" in text
    assert "6. path3-start-date" in text and "not reached" in text
    granted = explain_law(warehouse, SLUG, _record(warehouse, "C122", P1203), P1203)
    assert (granted.grant, granted.granted_run) == ("earlier", "r-june")
    assert "first granted by run r-june" in render_law_explanation(granted)
    runner = CliRunner()
    done = runner.invoke(app, ["audit", "explain", "--warehouse", str(warehouse), "--county",
                               SLUG, "--record-id", record, "--law", P1203])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "pending-charge" in done.output


def test_diff_law_lists_new_grants_and_vanished_granted_keys(warehouse):
    diff = diff_law(warehouse, SLUG, P851, 0, 1)
    assert [g["row_key"] for g in diff.new_grants] == ["A212|001001001000|1"]
    assert [g["row_key"] for g in diff.vanished] == ["A204|001001001000|1"]
    assert diff.vanished[0]["same_subject"] == []
    assert diff.changed == []
    runner = CliRunner()
    done = runner.invoke(app, ["audit", "diff", "--warehouse", str(warehouse), "--county", SLUG,
                               "--from", "0", "--to", "1", "--law", P851])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "1 new grant(s)" in done.output and "VANISHED   A204|001001001000|1" in done.output


def test_law_figures_count_candidates_grants_and_reasons(warehouse):
    table = open_table(Warehouse(warehouse).summary).to_pyarrow_table()
    rows = {
        (r["flow"], r["metric"], r["key"], r["key2"]): r["value"]
        for r in table.to_pylist()
        if r["run_id"] == "r-july" and r["county"] == SLUG
    }
    assert rows[(P851, "candidates", "", "")] == 5
    assert rows[(P851, "granted", "new", "")] == 1
    assert rows[(P851, "granted", "earlier", "")] == 3
    assert rows[(P851, "by_reason", "Hand Review", "Maximum term not in table")] == 1
    assert rows[(P1203, "by_reason", "Not eligible", "Before 1/1/1973")] == 1
    assert rows[(P1203, "by_determination", "Eligible for Dismissal", "")] == 2
    assert (P1203, "granted", "new", "") not in rows  # a zero has no row


def test_report_law_suppresses_small_cells(warehouse, tmp_path):
    page = build_law_report(warehouse, tmp_path, P851).read_text()
    assert "All counties" in page and SLUG in page
    assert page.count('data-suppressed="true"') > 5
    assert "<td>5</td>" not in page and "<td>1</td>" not in page
    shown = build_law_report(warehouse, tmp_path / "open", P851, suppress=False).read_text()
    assert "<td>5</td>" in shown and "<td>3</td>" in shown


def test_report_law_from_the_command_line(warehouse, tmp_path):
    runner = CliRunner()
    args = ["report", "--warehouse", str(warehouse), "--out", str(tmp_path / "r")]
    done = runner.invoke(app, [*args, "--law", P1203])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "r" / f"{P1203}.html").is_file()
    assert runner.invoke(app, [*args, "--law", "nope"]).exit_code == 2


def test_prop64_readers_read_a_law_table_as_the_prop64_only_run_wrote_it(warehouse, tmp_path):
    """No Prop 64 subject here: Prop 64's pull of a table the laws wrote holds no row and
    none of the laws' columns."""
    result = pull(warehouse, SLUG, tmp_path, PullFormat.PARQUET)
    table = pq.read_table(result.files[0])
    assert table.num_rows == 0 == result.rows
    assert C.TABLE_LAWS not in table.column_names
    assert not [n for n in table.column_names if n.startswith(("pc1203_425_", "pc851_93_"))]
    assert not {f.name for f in C.LAW_FACTS} & set(table.column_names)
    assert C.DETERMINATION in table.column_names
    same = pull(warehouse, SLUG, tmp_path / "p64", PullFormat.PARQUET, law="prop64")
    assert pq.read_table(same.files[0]).equals(table)
