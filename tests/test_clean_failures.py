"""Clean failures: bad usage or input is one line naming the setting or file and the fix,
exit 2, and nothing is written; an input too small to fill any county table is a success.

Without Spark: --compute-at out of range, a warehouse path delta-rs would misread, a
read-only warehouse (a real read-only bind mount in a user namespace). With Spark: an empty
input, a header-only input, and a valid input with no row for any county table.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from relief.jobs.runtime.progress import Progress
from relief.jobs.statewide import RunOptions, UsageError, run
from relief.jobs.synthetic.generate import generate_extract
from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.storage import Warehouse
from relief.transforms.columns import DOJ_COLUMNS
from tests.helpers.ledger_rows import publish

ROOT = Path(__file__).resolve().parent.parent
RELIEF = str(Path(sys.executable).with_name("relief"))
COMPUTE_AT = dt.date(2026, 11, 22)
SPARK_STARTED = "Using Spark's default log4j profile"


def relief(*args: str | Path, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, RELIEF, *(str(a) for a in args)], cwd=ROOT, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "extract.csv"
    generate_extract(path, rows=200, seed=3)
    return path


def files_under(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


# --- without Spark ----------------------------------------------------------------------------


def test_compute_at_out_of_range_is_one_line_and_exit_2_before_spark_starts(
    extract: Path, tmp_path: Path
):
    warehouse = tmp_path / "warehouse"
    done = relief("run", "--input", extract, "--warehouse", warehouse, "--compute-at", "0005-01-01")
    assert done.returncode == 2
    assert done.stderr == (
        "relief: --compute-at 0005-01-01: out of range; give the day ages are measured at, "
        "between 1900-01-01 and 2200-12-31\n"
    )
    assert SPARK_STARTED not in done.stdout + done.stderr
    assert not warehouse.exists()


def test_the_spark_submit_entry_point_is_relief_run_with_its_options_and_messages(
    extract: Path, tmp_path: Path
):
    warehouse = tmp_path / "warehouse"
    done = subprocess.run(
        [sys.executable, str(ROOT / "jobs" / "statewide.py"),  # as spark-submit runs it
         "--input", str(extract), "--warehouse", str(warehouse), "--compute-at", "0005-01-01",
         "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    message = (
        "--compute-at 0005-01-01: out of range; give the day ages are measured at, "
        "between 1900-01-01 and 2200-12-31"
    )
    assert done.returncode == 2
    assert json.loads(done.stdout) == {"run_id": None, "status": "usage_error", "message": message}
    assert done.stderr == f"relief: {message}\n"
    assert not warehouse.exists()
    wide = {**os.environ, "COLUMNS": "200"}  # python -m: the same command, every option
    shown = subprocess.run([sys.executable, "-m", "relief.jobs.statewide", "--help"], cwd=tmp_path,
                           env=wide, capture_output=True, text=True, timeout=300,
                           check=True)  # fmt: skip
    for option in ("--master", "--conf", "--json", "--counties", "--policy-dir", "--force"):
        assert option in shown.stdout, option


def test_a_warehouse_path_delta_rs_would_misread_is_refused_before_anything_is_written(
    extract: Path, tmp_path: Path
):
    warehouse = tmp_path / "county%20data" / "warehouse"
    message = (
        f"relief: --warehouse {warehouse}: the path contains '%20', which delta-rs reads as an "
        "escaped character, so the tables written there could not be read back. Use a folder "
        "whose path has no '%' followed by two hex digits (rename or move it).\n"
    )
    done = relief("run", "--input", extract, "--warehouse", warehouse)
    assert (done.returncode, done.stderr) == (2, message)
    assert not (tmp_path / "county%20data").exists()
    for command in (
        ("county", "pull", "--county", "kern", "--out", tmp_path / "out"),
        ("audit", "history", "--county", "kern"),
        ("audit", "verify"),
        ("recover",),
        ("report", "--out", tmp_path / "report"),
        ("quarantine",),
    ):
        done = relief(*command, "--warehouse", warehouse)
        assert done.returncode == 2, (command, done.stderr)
        assert done.stderr.count("\n") == 1 and "the path contains '%20'" in done.stderr, command


def read_only(warehouse: Path) -> tuple[str, ...]:
    """A command prefix that runs relief with ``warehouse`` bind-mounted read-only (a user and
    mount namespace of its own: root's permission checks do not stop root, a read-only mount
    does)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare(1) is not available to mount the warehouse read-only")
    probe = subprocess.run([unshare, "-r", "-m", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a user namespace: {probe.stderr.decode().strip()}")
    script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"'
    return (unshare, "-r", "-m", "sh", "-c", script, "sh", str(warehouse))


def test_a_read_only_warehouse_is_refused_with_one_line_and_left_as_it_was(
    extract: Path, tmp_path: Path
):
    warehouse = tmp_path / "warehouse"
    publish(warehouse, "20260101T000000Z-pub00001", {})
    before = files_under(warehouse)
    prefix = read_only(warehouse)
    done = relief("run", "--input", extract, "--warehouse", warehouse, prefix=prefix)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"relief: --warehouse {warehouse}: cannot write there (Read-only file system). Give a "
        "folder this user can write to, or fix its permissions; nothing was written.\n"
    )
    recover = relief("recover", "--warehouse", warehouse, prefix=prefix)
    assert recover.returncode == 2 and "cannot write there" in recover.stderr
    assert files_under(warehouse) == before
    # Readers need no write access.
    verify = relief("audit", "verify", "--warehouse", warehouse, prefix=prefix)
    assert verify.returncode == 0, verify.stdout + verify.stderr


# --- with Spark -------------------------------------------------------------------------------


def assert_nothing_written(warehouse: Path) -> None:
    home = Warehouse(warehouse)
    for table in (home.runs, home.counties, home.quarantine, home.summary):
        assert not table.exists(), table
    assert not (warehouse / "_staging").exists() or not any((warehouse / "_staging").iterdir())
    assert ledger.read_runs(home) == []


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["empty", "header-only"])
def test_an_empty_or_header_only_input_is_bad_input_and_writes_nothing(
    spark, extract: Path, tmp_path: Path, kind: str
):
    path = tmp_path / f"{kind}.csv"
    path.write_text("" if kind == "empty" else extract.read_text().splitlines()[0] + "\n")
    warehouse = tmp_path / "warehouse"
    options = RunOptions(inputs=str(path), warehouse=warehouse, compute_at=COMPUTE_AT)
    with pytest.raises(UsageError) as failure:
        run(options, Progress(quiet=True))
    message = str(failure.value)
    assert str(path) in message and "\n" not in message, message
    assert_nothing_written(warehouse)


def no_prop64(source: Path, target: Path) -> None:
    """The extract's lines without any Prop 64 charge text: no subject reaches a table."""
    lines = source.read_text().splitlines()
    offense, comment = DOJ_COLUMNS.index("OFFENSE_DESCR"), DOJ_COLUMNS.index("COMMENT_TEXT")
    kept = [lines[0]]
    for line in lines[1:]:
        row = next(csv.reader([line]))
        text = (row[offense] + row[comment]).upper()
        if not any(s in text for s in ("11357", "11358", "11359", "11360")):
            kept.append(line)
    target.write_text("\n".join(kept[:40]) + "\n")


@pytest.mark.slow
def test_a_valid_input_with_no_row_for_any_county_table_publishes_58_empty_tables(
    spark, extract: Path, tmp_path: Path
):
    small = tmp_path / "small.csv"
    no_prop64(extract, small)
    warehouse = tmp_path / "warehouse"
    options = RunOptions(inputs=str(small), warehouse=warehouse, compute_at=COMPUTE_AT)
    result = run(options, Progress(quiet=True))
    assert result.status == ledger.STATUS_SUCCEEDED, result.message
    assert len(result.county_versions) == 58
    assert {v["rows"] for v in result.county_versions} == {0}
    assert result.prop64_lines == 0
    done = relief("county", "pull", "--warehouse", warehouse, "--county", "kern",
                  "--out", tmp_path / "out")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"Kern: version 0 (run {result.run_id}), published by run {result.run_id}; 0 rows"
    )
    assert os.path.getsize(tmp_path / "out" / "kern_v0.csv") > 0  # the header
