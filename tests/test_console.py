"""What people and machines see of a run (issue 17): the validation record on a relative
warehouse, `relief run --json`, `relief audit runs`, planted bad lines, a quiet console."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable
from typer.testing import CliRunner

from relief.expectations.runner import SUITE_NAMES, load_suite
from relief.jobs.cli import _quiet_libraries, app
from relief.jobs.runtime.progress import SparkStatus, set_verbose, spark_status
from relief.jobs.runtime.spark import LOG4J2_QUIET, log4j2_quiet_file, quiet_settings
from relief.jobs.synthetic.bad_lines import KINDS, TRUNCATE_AT, break_line, plant_bad_lines
from relief.jobs.synthetic.generate import generate_extract
from relief.jobs.warehouse.validation import GX_DIR, INDEX_FILE, RESULTS_FILE
from relief.transforms import ingest
from relief.transforms.columns import DOJ_COLUMNS, SUBJECT_ID

ROWS = 400
BAD = 8
REASON_OF_KIND = {
    "field count": ingest.REASON_FIELD_COUNT.format(n=TRUNCATE_AT),
    "quoting": ingest.REASON_BROKEN_QUOTING,
    "utf-8": ingest.REASON_NOT_TEXT,
    "blank subject": ingest.REASON_BLANK_SUBJECT,
}


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def relative_run(spark, tmp_path_factory) -> Iterator[tuple[Path, Any, Any]]:
    """`relief generate --bad-lines` then `relief run --json` with a relative --warehouse,
    from the folder that holds both (the way `make demo` runs)."""
    root = tmp_path_factory.mktemp("console")
    before = Path.cwd()
    os.chdir(root)
    try:
        made = invoke("generate", "--rows", str(ROWS), "--seed", "11", "--out", "extract.csv",
                      "--bad-lines", str(BAD))  # fmt: skip
        assert made.exit_code == 0, made.output
        ran = invoke("run", "--input", "extract.csv", "--warehouse", "wh",
                     "--compute-at", "2026-11-22", "--json")  # fmt: skip
        yield root, made, ran
    finally:
        os.chdir(before)


@pytest.mark.slow  # the module's statewide runs
def test_run_json_prints_one_json_object_and_nothing_else_on_stdout(relative_run):
    root, _, ran = relative_run
    assert ran.exit_code == 0, ran.stderr
    result = json.loads(ran.stdout)  # the whole of stdout is one object
    assert ran.stdout.count("\n") == 1
    assert result["status"] == "succeeded"
    assert result["rows"] == {"read": ROWS + BAD, "kept": ROWS, "quarantined": BAD}
    assert len(result["counties"]) == 58
    assert {"ingest", "transform", "validation", "commit"} <= set(result["seconds"])
    run_dir = root / "wh" / "validation" / result["run_id"]
    assert result["paths"]["validation"] == str(run_dir / INDEX_FILE)
    assert result["paths"]["quarantine"] == str(root / "wh" / "quarantine")
    assert "raw 11/11 passed" in result["validation"]
    assert "Validating with Great Expectations" in ran.stderr  # progress stays on stderr


@pytest.mark.slow  # the module's statewide runs
def test_validation_page_on_a_relative_warehouse_lists_every_expectation_offline(relative_run):
    root, _, ran = relative_run
    run_id = json.loads(ran.stdout)["run_id"]
    folder = root / "wh" / "validation" / run_id
    page = (folder / INDEX_FILE).read_text(encoding="utf-8")
    for suite in SUITE_NAMES:
        for spec in load_suite(suite).expectations:
            assert spec.name in page, spec.name
    assert "at least 99% of rows" in page  # the thresholds are on the page
    links = re.findall(r'(?:href|src)="([^"]+)"', page)
    assert f"{GX_DIR}/raw.json" in links and RESULTS_FILE in links
    for link in links:
        assert not re.match(r"[a-z]+:", link), link  # nothing off the machine
        target = folder / link
        assert target.is_file(), link
        if target.suffix == ".json":
            json.loads(target.read_text(encoding="utf-8"))
    linked_pages = [page] + [(folder / k).read_text() for k in links if k.endswith(".html")]
    for text in linked_pages:
        assert not re.search(r"<script[^>]+src=\"?https?:", text)
        assert not re.search(r"<link[^>]+href=\"?https?:", text)
    gx = json.loads((folder / GX_DIR / "annotated.json").read_text())
    assert gx["statistics"]["evaluated_expectations"] == len(load_suite("annotated").expectations)
    assert not (folder / "data_docs").exists()


@pytest.mark.slow  # the module's statewide runs
def test_planted_bad_lines_are_each_quarantined_with_their_reason(relative_run):
    root, made, _ran = relative_run
    assert f"planted {BAD} bad line(s)" in made.stdout
    quarantine = root / "wh" / "quarantine"
    rows = DeltaTable(str(quarantine)).to_pyarrow_table().to_pylist()
    assert len(rows) == BAD
    reasons = sorted(r["reason"] for r in rows)
    expected = sorted(REASON_OF_KIND[KINDS[i % len(KINDS)]] for i in range(BAD))
    assert reasons == expected


@pytest.mark.slow  # the module's statewide runs
def test_audit_runs_lists_each_run_with_its_final_status(relative_run):
    root, _, ran = relative_run
    run_id = json.loads(ran.stdout)["run_id"]
    shown = invoke("audit", "runs", "--warehouse", str(root / "wh"))
    assert shown.exit_code == 0, shown.output
    assert f"readers are served run {run_id}" in shown.stdout
    line = next(x for x in shown.stdout.splitlines() if x.startswith(run_id))
    assert "succeeded (published)" in line and f"{ROWS + BAD:,}" in line
    as_json = json.loads(invoke("audit", "runs", "--warehouse", str(root / "wh"), "--json").stdout)
    assert [(r["run_id"], r["status"], r["published"]) for r in as_json] == [
        (run_id, "succeeded", True)
    ]
    assert as_json[0]["rows_quarantined"] == BAD


def test_audit_runs_on_a_missing_warehouse_says_so(tmp_path):
    shown = invoke("audit", "runs", "--warehouse", str(tmp_path / "none"))
    assert shown.exit_code == 2
    assert shown.stderr.startswith("relief: ") and "no such warehouse" in shown.stderr


def test_run_json_reports_bad_usage_as_json_with_exit_2(tmp_path):
    ran = invoke("run", "--input", str(tmp_path / "missing.csv"), "--warehouse",
                 str(tmp_path / "wh"), "--json")  # fmt: skip
    assert ran.exit_code == 2
    result = json.loads(ran.stdout)
    assert result["status"] == "usage_error" and "missing.csv" in result["message"]


# --- bad lines -------------------------------------------------------------------------------


def test_bad_lines_are_planted_at_seeded_positions_and_leave_good_lines_alone(tmp_path):
    extract = tmp_path / "e.csv"
    generate_extract(extract, rows=50, seed=2)
    good = extract.read_bytes().split(b"\n")
    planted = plant_bad_lines(extract, 6, seed=9)
    lines = extract.read_bytes().split(b"\n")
    assert len(lines) == len(good) + 6
    assert sorted(planted.values()) == sorted(KINDS[i % 4] for i in range(6))
    kept = [line for n, line in enumerate(lines, 1) if n not in planted]
    assert kept == good
    for number, kind in planted.items():
        assert lines[number - 1] == break_line(lines[number - 2], kind)
    again = tmp_path / "again.csv"
    generate_extract(again, rows=50, seed=2)
    assert plant_bad_lines(again, 6, seed=9) == planted


def test_each_kind_of_bad_line_breaks_one_thing():
    fields = [f"v{i}" for i in range(len(DOJ_COLUMNS))]
    line = ",".join(fields).encode()
    assert break_line(line, "field count").count(b",") == TRUNCATE_AT - 1
    assert b',"broken,' in break_line(line, "quoting")
    with pytest.raises(UnicodeDecodeError):
        break_line(line, "utf-8").decode("utf-8")
    blank = break_line(line, "blank subject").decode().split(",")
    assert blank[DOJ_COLUMNS.index(SUBJECT_ID)] == "" and len(blank) == len(DOJ_COLUMNS)


def test_more_bad_lines_than_data_lines_is_bad_usage(tmp_path):
    extract = tmp_path / "e.csv"
    result = invoke("generate", "--rows", "3", "--out", str(extract), "--bad-lines", "5")
    assert result.exit_code == 2
    assert result.stderr == (
        "relief: --bad-lines 5: more than --rows 3 (each bad line is a broken copy of a data "
        "line)\n"
    )
    assert not extract.exists()
    generate_extract(extract, rows=3, seed=2)
    with pytest.raises(ValueError, match="the extract has only 3 data line"):
        plant_bad_lines(extract, 5, seed=1)


# --- a quiet console ---------------------------------------------------------------------------


def test_the_quiet_log4j2_file_ships_and_is_passed_to_the_driver():
    path = Path(log4j2_quiet_file())
    assert path.name == LOG4J2_QUIET and path.is_file()
    assert "rootLogger.level = fatal" in path.read_text()
    settings = quiet_settings({"spark.driver.extraJavaOptions": "-Dfoo=1"})
    assert settings["spark.driver.extraJavaOptions"] == (
        f"-Dfoo=1 -Dlog4j2.configurationFile={path}"
    )
    own = {"spark.driver.extraJavaOptions": "-Dlog4j2.configurationFile=/etc/mine"}
    assert quiet_settings(own) == own


def test_library_info_lines_are_dropped_unless_verbose():
    def record(name: str, level: int) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, "m", None, None)

    gx_info = record("great_expectations.data_context.types.base", logging.INFO)
    try:
        set_verbose(False)
        assert not _quiet_libraries(gx_info)
        assert _quiet_libraries(record("great_expectations.core", logging.WARNING))
        assert _quiet_libraries(record("relief", logging.INFO))
        set_verbose(True)
        assert _quiet_libraries(gx_info)
    finally:
        set_verbose(False)


def test_stage_status_line_shows_tasks_rows_and_eta():
    status = SparkStatus(stages=1, tasks=40, done=10, running=2, rows=1_234_567, elapsed=20.0)
    assert status.text() == "10/40 tasks · 1,234,567 rows · ETA 1:00"
    assert SparkStatus(1, 8, 0, 2, None, 3.0).text() == "0/8 tasks · ETA …"
    assert SparkStatus(1, 3, 2, 1, 2, 10.0).text() == "2/3 tasks · ETA 0:05"  # ranges, not rows
    assert SparkStatus(1, 3, 3, 0, 9, 10.0).text() == "3/3 tasks · 9 rows · ETA 0:00"


def test_no_spark_status_when_no_stage_runs(spark):
    assert spark_status(spark.sparkContext) is None


def test_spark_status_counts_the_tasks_of_a_running_stage(spark):
    sc = spark.sparkContext

    def slow_job() -> None:
        sc.parallelize(range(4), 4).foreach(lambda _: time.sleep(2))

    job = threading.Thread(target=slow_job)
    job.start()
    first_seen: dict[int, float] = {}
    seen = None
    while seen is None and job.is_alive():
        seen = spark_status(sc, first_seen)
        time.sleep(0.05)
    job.join()
    assert seen is not None, "the job ended before a poll saw it"
    assert (seen.stages, seen.tasks) == (1, 4)
    assert seen.rows is not None  # Spark's status store answered
    assert len(first_seen) == 1


def test_run_json_of_a_run_refused_at_the_lock_is_json_with_exit_1(tmp_path):
    from relief.jobs.warehouse.lock import warehouse_lock

    extract = tmp_path / "e.csv"
    generate_extract(extract, rows=20, seed=2)
    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    with warehouse_lock(warehouse, "20260101T000000Z-holder00"):
        ran = invoke("run", "--input", str(extract), "--warehouse", str(warehouse), "--json")
    assert ran.exit_code == 1
    result = json.loads(ran.stdout)
    assert (result["run_id"], result["status"]) == (None, "failed")
    assert (
        result["message"].startswith("run failed: ")
        and "20260101T000000Z-holder00" in (result["message"])
    )
