"""The grants table (jobs/warehouse/grants.py) and the grants join (transforms/law_grants.py).

Real delta-rs tables in tmp_path, with ledger rows saying what is published: the earliest
grant per (law, row_key) among runs with an earlier compute-at, read at the version the
latest succeeded run names; a dead run's append is not served and ``recover`` rolls it back;
the second month grants only new records.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.grants import (
    GRANTS_SCHEMA,
    append_grants,
    commit_staged_grants,
    earliest_grants,
    published_grants_files,
    read_published_grants,
)
from relief.jobs.warehouse.publication import publication
from relief.jobs.warehouse.recovery import recover
from relief.jobs.warehouse.storage import Warehouse, open_table
from relief.transforms import columns as C
from relief.transforms.law_grants import GRANT_COLUMNS, new_grants, with_grants

JUNE, JULY, AUGUST = dt.date(2025, 6, 30), dt.date(2025, 7, 31), dt.date(2025, 8, 31)
P1203, P851 = "pc1203.425", "pc851.93"


def grant(law: str, key: str, run: str, at: dt.date, subject: str = "S1") -> dict[str, Any]:
    return {
        "law": law,
        "row_key": key,
        "subject": subject,
        "county": "sacramento",
        "rule_id": "path2-misdemeanor-1-year" if law == P1203 else "misdemeanor-1-year",
        "citation": "PC 1203.425(a)(1)(B)(v)(II)" if law == P1203 else "PC 851.93(a)(2)(B)",
        "determination": "Eligible for Dismissal" if law == P1203 else "Eligible for Arrest Relief",
        "run_id": run,
        "compute_at": at,
    }


def table(*rows: dict[str, Any]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=GRANTS_SCHEMA)


def record_run(
    warehouse: Warehouse, run_id: str, at: dt.date, grants_version: int | None, status: str
) -> None:
    started = dt.datetime(2025, 9, 1, tzinfo=dt.UTC) + dt.timedelta(
        minutes=len(ledger.read_runs(warehouse))
    )
    run = ledger.RunRecord(run_id, started, at, [], None)
    ledger.record(warehouse, run)
    if status != ledger.STATUS_RUNNING:
        run.status = status
        run.finished_at = started + dt.timedelta(seconds=30)
        run.grants_version = grants_version
        ledger.record(warehouse, run)


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    home = Warehouse(tmp_path / "warehouse")
    home.root.mkdir()
    return home


def month(warehouse: Warehouse, run: str, at: dt.date, *rows: dict[str, Any]) -> int | None:
    version = append_grants(warehouse, table(*rows), run, at)
    record_run(warehouse, run, at, version, ledger.STATUS_SUCCEEDED)
    return version


def test_nothing_granted_yet_reads_as_an_empty_table(warehouse):
    published = publication(warehouse)
    assert read_published_grants(warehouse, published).num_rows == 0
    assert published_grants_files(warehouse, published) == []
    assert earliest_grants(read_published_grants(warehouse, published), JULY).num_rows == 0


def test_an_empty_append_leaves_the_table_as_it_was(warehouse):
    assert append_grants(warehouse, table(), "r1", JUNE) is None
    assert open_table(warehouse.grants) is None


def test_grants_are_appended_and_read_at_the_published_version(warehouse):
    first = month(warehouse, "r-june", JUNE, grant(P1203, "S1|001002001000|1", "r-june", JUNE))
    second = month(
        warehouse,
        "r-july",
        JULY,
        grant(P851, "S2|002001001000|1", "r-july", JULY, "S2"),
        grant(P1203, "S3|001002001000|1", "r-july", JULY, "S3"),
    )
    assert (first, second) == (0, 1)
    published = publication(warehouse)
    assert published.grants is not None and published.grants.version == 1
    rows = read_published_grants(warehouse, published)
    assert sorted(rows["row_key"].to_pylist()) == [
        "S1|001002001000|1",
        "S2|002001001000|1",
        "S3|001002001000|1",
    ]
    assert len(published_grants_files(warehouse, published)) == 2


def test_a_run_that_grants_nothing_keeps_the_published_grants(warehouse):
    month(warehouse, "r-june", JUNE, grant(P1203, "K1", "r-june", JUNE))
    record_run(warehouse, "r-july", JULY, None, ledger.STATUS_SUCCEEDED)
    published = publication(warehouse)
    assert published.grants is not None
    assert (published.grants.version, published.grants.written_by) == (0, "r-june")


def test_earliest_grant_per_law_and_key_among_earlier_compute_ats():
    rows = table(
        grant(P1203, "K1", "r-july", JULY),
        grant(P1203, "K1", "r-june", JUNE),
        grant(P851, "K1", "r-july", JULY),
        grant(P1203, "K2", "r-august", AUGUST),
        grant(P1203, "K3", "r-june-b", JUNE),
        grant(P1203, "K3", "r-june-a", JUNE),
    )
    earlier = earliest_grants(rows, AUGUST)
    assert sorted(earlier.to_pylist(), key=lambda r: (r["law"], r["row_key"])) == [
        {"law": P1203, "row_key": "K1", "run_id": "r-june", "compute_at": JUNE},
        {"law": P1203, "row_key": "K3", "run_id": "r-june-a", "compute_at": JUNE},
        {"law": P851, "row_key": "K1", "run_id": "r-july", "compute_at": JULY},
    ]


def test_a_forced_rerun_of_the_same_month_does_not_find_its_own_grants():
    rows = table(grant(P1203, "K1", "r-july", JULY), grant(P1203, "K2", "r-june", JUNE))
    assert earliest_grants(rows, JULY)["row_key"].to_pylist() == ["K2"]


def test_a_dead_runs_append_is_not_served_and_recover_rolls_it_back(warehouse):
    month(warehouse, "r-june", JUNE, grant(P1203, "K1", "r-june", JUNE))
    record_run(warehouse, "r-july", JULY, None, ledger.STATUS_RUNNING)
    assert append_grants(warehouse, table(grant(P1203, "K2", "r-july", JULY)), "r-july", JULY) == 1
    published = publication(warehouse)
    assert read_published_grants(warehouse, published)["row_key"].to_pylist() == ["K1"]
    report = recover(warehouse, holder=None, by="test")
    assert "r-july" in report.dead_runs
    assert any("grants table: restored version 0" in line for line in report.actions)
    latest = open_table(warehouse.grants)
    assert latest is not None and latest.version() == 2
    assert latest.to_pyarrow_table()["row_key"].to_pylist() == ["K1"]
    # Recovery is idempotent: a second one finds nothing to do for the table.
    again = recover(warehouse, holder=None, by="test")
    assert not any("grants" in line for line in again.actions)


def test_a_first_run_that_died_after_granting_leaves_no_grants_table(warehouse):
    record_run(warehouse, "r-june", JUNE, None, ledger.STATUS_RUNNING)
    append_grants(warehouse, table(grant(P1203, "K1", "r-june", JUNE)), "r-june", JUNE)
    report = recover(warehouse, holder=None, by="test")
    assert any("grants table: removed the table" in line for line in report.actions)
    assert open_table(warehouse.grants) is None


def test_an_append_names_its_own_run_only(warehouse):
    with pytest.raises(ValueError, match="must all name it"):
        append_grants(warehouse, table(grant(P1203, "K1", "other", JUNE)), "r1", JUNE)


# --- the join on Spark: the second month grants only new records -----------------------------


def decided_rows(spark: SparkSession, rows: list[tuple[Any, ...]]):
    """Candidate rows of PC 1203.425 as apply_law leaves them (the columns the join reads)."""
    law = C.law_column
    schema = (
        f"{C.ROW_KEY} string, {C.SUBJECT} string, {C.COUNTY_SLUG} string, "
        f"{C.TARGET_COUNTY} string, {law(P1203, C.LAW_CANDIDATE)} boolean, "
        f"{law(P1203, C.DETERMINATION)} string, {law(P1203, C.RULE_ID)} string, "
        f"{law(P1203, C.CITATION)} string"
    )
    return spark.createDataFrame(rows, schema)


def _row(key: str, determination: str | None, candidate: bool = True) -> tuple[Any, ...]:
    rule = {"Eligible for Dismissal": "path2-misdemeanor-1-year"}.get(determination or "", "x")
    return (key, key[:2], "sacramento", "sacramento", candidate, determination, rule, "PC 1")


def test_the_second_month_grants_only_new_records(spark, warehouse, tmp_path):
    june = decided_rows(
        spark,
        [
            _row("S1|a", "Eligible for Dismissal"),
            _row("S2|a", "Not eligible"),
            _row("S3|a", "Eligible for Dismissal", candidate=False),
        ],
    )
    published = publication(warehouse)
    earlier = spark.createDataFrame(
        earliest_grants(read_published_grants(warehouse, published), JUNE).to_pylist(),
        "law string, row_key string, run_id string, compute_at date",
    )
    decided = with_grants(june, P1203, earlier, "r-june")
    got = {r[C.ROW_KEY]: (r["pc1203_425_grant"], r["pc1203_425_granted_run"])
           for r in decided.collect()}  # fmt: skip
    assert got == {"S1|a": ("new", "r-june"), "S2|a": (None, None), "S3|a": (None, None)}
    # Spark stages the new grants; the job commits them as one appended version.
    staged = tmp_path / "staged"
    new_grants(decided, P1203, "r-june", JUNE).coalesce(1).write.parquet(str(staged))
    files = sorted(staged.glob("*.parquet"))
    version = commit_staged_grants(warehouse, files, "r-june", JUNE, 1)
    record_run(warehouse, "r-june", JUNE, version, ledger.STATUS_SUCCEEDED)
    assert read_published_grants(warehouse, publication(warehouse)).to_pylist() == [
        {
            "law": P1203,
            "row_key": "S1|a",
            "subject": "S1",
            "county": "sacramento",
            "rule_id": "path2-misdemeanor-1-year",
            "citation": "PC 1",
            "determination": "Eligible for Dismissal",
            "run_id": "r-june",
            "compute_at": JUNE,
        }
    ]
    # July: S1 still eligible (granted in June), S2 newly eligible, S4 a new record.
    july = decided_rows(
        spark,
        [
            _row("S1|a", "Eligible for Dismissal"),
            _row("S2|a", "Eligible for Dismissal"),
            _row("S4|a", "Eligible for Dismissal"),
        ],
    )
    files = published_grants_files(warehouse, publication(warehouse))
    earlier_df = spark.read.parquet(*files)
    reduced = earliest_grants(pa.Table.from_pandas(earlier_df.toPandas(), GRANTS_SCHEMA), JULY)
    earlier = spark.createDataFrame(reduced.to_pylist(), "law string, row_key string, "
                                    "run_id string, compute_at date")  # fmt: skip
    decided = with_grants(july, P1203, earlier, "r-july")
    got = {r[C.ROW_KEY]: (r["pc1203_425_grant"], r["pc1203_425_granted_run"])
           for r in decided.collect()}  # fmt: skip
    assert got == {
        "S1|a": ("earlier", "r-june"),
        "S2|a": ("new", "r-july"),
        "S4|a": ("new", "r-july"),
    }
    new = new_grants(decided, P1203, "r-july", JULY)
    assert new.columns == list(GRANT_COLUMNS)
    assert sorted(r["row_key"] for r in new.collect()) == ["S2|a", "S4|a"]
    assert new.where(F.col("compute_at") != F.lit(JULY)).count() == 0


def test_staged_files_must_hold_the_grants_schema(warehouse, tmp_path):
    wrong = tmp_path / "wrong.parquet"
    pq.write_table(pa.table({"law": ["x"]}), wrong)
    with pytest.raises(ValueError, match="schema differs"):
        commit_staged_grants(warehouse, [wrong], "r1", JUNE, 1)
