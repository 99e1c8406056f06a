"""The breaks of the hostile/careless-user campaign (issue #21), one test each: nothing
published wrongly, nothing destroyed, nothing crosses counties, one line for every failure.

One statewide run on a small generated extract (three counties; one subject's name is 40,000
characters, one holds BEL and ESC) is published once for the module; every test that damages
the warehouse works on its own copy. Break 6 (masking by column) is in
tests/test_privacy_campaign.py, break 11 (cross-row superstrikes) in tests/test_history.py and
tests/test_eligibility_property.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from relief.jobs.cli import app
from relief.jobs.runtime.progress import Progress
from relief.jobs.statewide import RunFailed, RunOptions, ValidationFailed, run
from relief.jobs.synthetic.generate import generate_extract
from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.publication import publication
from relief.jobs.warehouse.storage import Warehouse
from relief.transforms.columns import DOJ_COLUMNS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
RELIEF = str(Path(sys.executable).with_name("relief"))
COMPUTE_AT = dt.date(2026, 11, 22)
COUNTIES = ["alameda", "fresno", "sierra"]
POS = {c: i for i, c in enumerate(DOJ_COLUMNS)}
LONG_NAME = "Q" * 40_000 + ",LONGNAME"
BELL_NAME = "DOE\x07\x1b[31m,JANE"
PROP64 = re.compile(r"1135[789]|11360")


def relief(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed `relief`, as a user runs it (the console entry point, its own process)."""
    return subprocess.run(
        [RELIEF, *(str(a) for a in args)], cwd=ROOT, capture_output=True, text=True,
        timeout=600, check=False, env={**os.environ, **(env or {})},
    )  # fmt: skip


def invoke(*args: object) -> tuple[int, str]:
    done = CliRunner().invoke(app, [str(a) for a in args])
    return done.exit_code, done.output


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The command's error: exactly one line on stderr starting `relief:`, no traceback."""
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("relief"), done.stderr[-3000:]
    return lines[0]


def _plant(path: Path) -> tuple[str, str]:
    """A 40,000-character name on one Prop 64 subject of Alameda and BEL/ESC in another
    subject's name (kept lines, not quarantined); returns their SUBJECT_IDs."""
    rows = list(csv.reader(path.read_text().splitlines()))
    header, data = rows[0], rows[1:]
    subjects = []
    for row in data:
        convicted = row[POS["DISP_DESCR"]].startswith("CONVICTED")
        if (
            convicted
            and PROP64.search(row[POS["OFFENSE_DESCR"]])
            and row[POS["STP_ORI_CNTY_NAME"]] == "ALAMEDA"
            and row[POS["SUBJECT_ID"]] not in subjects
        ):
            subjects.append(row[POS["SUBJECT_ID"]])
    long_subject, bell_subject = subjects[0], subjects[1]
    for row in data:
        if row[POS["SUBJECT_ID"]] == long_subject:
            row[POS["PRI_NAME"]] = LONG_NAME
        if row[POS["SUBJECT_ID"]] == bell_subject:
            row[POS["PRI_NAME"]] = BELL_NAME
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *data])
    path.write_text(buffer.getvalue())
    return long_subject, bell_subject


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, spark) -> dict[str, object]:
    root = tmp_path_factory.mktemp("campaign21")
    extract = root / "extract.csv"
    generate_extract(extract, rows=3000, seed=21, counties=COUNTIES)
    long_subject, bell_subject = _plant(extract)
    warehouse = root / "warehouse"
    record = run(
        RunOptions(inputs=str(extract), warehouse=warehouse, compute_at=COMPUTE_AT),
        Progress(quiet=True),
    )
    assert record.status == ledger.STATUS_SUCCEEDED
    return {
        "root": root,
        "extract": extract,
        "warehouse": warehouse,
        "record": record,
        "long_subject": long_subject,
        "bell_subject": bell_subject,
    }


@pytest.fixture
def copy(published, tmp_path: Path) -> Path:
    """A copy of the published warehouse this test may damage."""
    target = tmp_path / "warehouse"
    shutil.copytree(published["warehouse"], target, symlinks=True)
    return target


def county_rows(warehouse: Path) -> dict[str, int]:
    pub = publication(Warehouse(warehouse))
    return {slug: int(v.rows or 0) for slug, v in pub.counties.items()}


def data_files(table: Path) -> list[Path]:
    return sorted(table.glob("*.parquet"))


# --- 1. an extract of bad lines never wipes the counties; a shrink stops before publishing ---


def test_an_extract_whose_every_line_is_bad_publishes_nothing_and_the_ledger_says_why(
    published, copy: Path, tmp_path: Path
):
    before = county_rows(copy)
    assert before["alameda"] > 0
    piped = tmp_path / "piped.csv"
    lines = published["extract"].read_text().splitlines()[1:]
    piped.write_text("\n".join(line.replace(",", "|") for line in lines) + "\n")
    with pytest.raises((RunFailed, ValidationFailed)) as raised:
        run(
            RunOptions(inputs=str(piped), warehouse=copy, compute_at=COMPUTE_AT),
            Progress(quiet=True),
        )
    assert "quarantined" in str(raised.value)
    assert county_rows(copy) == before  # nothing published: every county keeps its rows
    last = ledger.read_runs(Warehouse(copy))[-1]
    assert last["status"] in (ledger.STATUS_FAILED, ledger.STATUS_FAILED_VALIDATION)
    assert "quarantined" in last["message"]


def test_a_run_that_would_publish_less_than_half_of_a_countys_rows_stops_unless_allowed(
    published, copy: Path, tmp_path: Path
):
    before = county_rows(copy)
    small = tmp_path / "small.csv"
    generate_extract(small, rows=300, seed=22, counties=COUNTIES)
    with pytest.raises(RunFailed) as raised:
        run(
            RunOptions(inputs=str(small), warehouse=copy, compute_at=COMPUTE_AT),
            Progress(quiet=True),
        )
    message = str(raised.value)
    assert "--allow-shrink" in message and f"{before['alameda']:,}" in message, message
    assert "\n" not in message
    assert county_rows(copy) == before
    last = ledger.read_runs(Warehouse(copy))[-1]
    assert last["status"] == ledger.STATUS_FAILED and "--allow-shrink" in last["message"]
    record = run(
        RunOptions(inputs=str(small), warehouse=copy, compute_at=COMPUTE_AT, allow_shrink=True),
        Progress(quiet=True),
    )
    assert record.status == ledger.STATUS_SUCCEEDED
    assert county_rows(copy)["alameda"] < before["alameda"] / 2


# --- 2. recovery never deletes a file a published version names -----------------------------


def test_recover_keeps_the_files_of_a_table_whose_log_is_gone_and_says_so(copy: Path):
    table = copy / "counties" / "alameda"
    files = data_files(table)
    assert files
    shutil.rmtree(table / "_delta_log")
    done = relief("recover", "--warehouse", copy)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "cannot recover alameda: its log is unreadable; the files are kept" in done.stdout
    assert "every table is at the version published" not in done.stdout
    assert data_files(table) == files
    verify = relief("audit", "verify", "--warehouse", copy)
    assert verify.returncode == 3, verify.stdout + verify.stderr
    assert "alameda" in verify.stdout


# --- 3 and 4. reader commands never write into the warehouse ----------------------------------


def test_reader_commands_refuse_an_out_inside_the_warehouse(copy: Path):
    commit = copy / "counties" / "alameda" / "_delta_log" / "00000000000000000000.json"
    original = commit.read_bytes()
    attempts = [
        ("audit", "diff", "--warehouse", copy, "--county", "alameda", "--from", "0", "--to", "0",
         "--out", commit),
        ("report", "--warehouse", copy, "--out", copy),
        ("report", "--warehouse", copy, "--out", copy / "report"),
        ("county", "pull", "--warehouse", copy, "--county", "alameda",
         "--out", copy / "counties" / "alameda"),
        ("county", "packet", "--warehouse", copy, "--county", "alameda", "--out", copy / "p"),
    ]  # fmt: skip
    for args in attempts:
        code, output = invoke(*args)
        assert code == 2, (args, output)
        assert "inside the warehouse" in output, output
    assert commit.read_bytes() == original
    assert not (copy / "report").exists() and not (copy / "p").exists()


def test_a_pull_into_another_countys_folder_is_refused_and_nothing_crosses_counties(
    copy: Path, tmp_path: Path
):
    sierra = copy / "counties" / "sierra"
    before = sorted(p.name for p in sierra.rglob("*"))
    code, output = invoke(
        "county", "pull", "--warehouse", copy, "--county", "alameda", "--out", sierra
    )
    assert code == 2 and "inside the warehouse" in output, output
    assert sorted(p.name for p in sierra.rglob("*")) == before
    # A folder someone else owns is not a pull's to fill either.
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    os.chown(foreign, 65534, 65534)
    code, output = invoke(
        "county", "pull", "--warehouse", copy, "--county", "alameda", "--out", foreign
    )
    assert code == 2 and "belongs to another user" in output, output
    assert not any(foreign.iterdir())


# --- 5. the report covers every published county table ----------------------------------------


def test_the_report_covers_every_published_county_after_a_counties_run(
    published, copy: Path, tmp_path: Path
):
    run(
        RunOptions(
            inputs=str(published["extract"]), warehouse=copy, compute_at=COMPUTE_AT,
            counties=["alameda"], force=True,
        ),
        Progress(quiet=True),
    )  # fmt: skip
    out = tmp_path / "report"
    code, output = invoke("report", "--warehouse", copy, "--out", out)
    assert code == 0, output
    pages = {p.name for p in out.glob("*.html")}
    assert {"county-alameda.html", "county-fresno.html"} <= pages, pages
    index = (out / "index.html").read_text()
    assert "Fresno" in index and "Alameda" in index


# --- 7. verify opens every file of every published version -------------------------------------


def test_verify_finds_a_deleted_data_file_and_exits_damaged(copy: Path):
    removed = data_files(copy / "counties" / "alameda")[0]
    removed.unlink()
    done = relief("audit", "verify", "--warehouse", copy)
    assert done.returncode == 3, done.stdout + done.stderr
    assert removed.name in done.stdout and "missing" in done.stdout


def test_verify_exit_codes_tell_clean_from_needs_recovery(copy: Path):
    done = relief("audit", "verify", "--warehouse", copy)
    assert done.returncode == 0, done.stdout
    help_text = relief("audit", "verify", "--help").stdout
    assert all(code in help_text for code in ("0", "1", "3"))
    # A version committed by a run that died: `relief recover` fixes it (exit 1).
    runs = ledger.read_runs(Warehouse(copy))
    dead = dict(runs[-1])
    dead.update(run_id="20990101T000000Z-deadbeef", status=ledger.STATUS_RUNNING, finished_at=None)
    from deltalake import DeltaTable, write_deltalake

    table = DeltaTable(str(copy / "counties" / "sierra"))
    write_deltalake(
        str(copy / "counties" / "sierra"), table.to_pyarrow_table(), mode="overwrite",
        commit_properties=__import__("deltalake").CommitProperties(
            custom_metadata={"run_id": dead["run_id"]}
        ),
    )  # fmt: skip
    record = ledger.RunRecord(
        run_id=dead["run_id"],
        started_at=dt.datetime.now(dt.UTC),
        compute_at=COMPUTE_AT,
        inputs=[],
        counties_requested=None,
    )
    ledger.record(Warehouse(copy), record)
    done = relief("audit", "verify", "--warehouse", copy)
    assert done.returncode == 1, done.stdout
    assert "relief recover" in done.stdout


# --- 8. one line, the right exit code, for every failure -------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_truncated_county_commit_is_one_line_in_every_command(copy: Path, published):
    _truncate(copy / "counties" / "alameda" / "_delta_log" / "00000000000000000000.json")
    for args in (
        ("audit", "history", "--warehouse", copy, "--county", "alameda"),
        ("county", "pull", "--warehouse", copy, "--county", "alameda", "--out", copy.parent / "o"),
    ):
        done = relief(*args)
        assert done.returncode == 1, done.stderr
        assert "alameda" in one_line(done)
    verify = relief("audit", "verify", "--warehouse", copy)
    assert verify.returncode == 3 and "Traceback" not in verify.stderr, verify.stderr[-2000:]
    assert "alameda" in verify.stdout
    recover = relief("recover", "--warehouse", copy)
    assert recover.returncode == 1 and "Traceback" not in recover.stderr, recover.stderr[-2000:]
    assert "cannot recover alameda" in recover.stdout


def test_a_truncated_ledger_commit_is_one_line_in_every_command(copy: Path):
    commits = sorted((copy / "runs" / "_delta_log").glob("*.json"))
    _truncate(commits[-1])
    for args in (
        ("audit", "runs", "--warehouse", copy),
        ("audit", "verify", "--warehouse", copy),
        ("audit", "history", "--warehouse", copy, "--county", "alameda"),
        ("county", "pull", "--warehouse", copy, "--county", "alameda", "--out", copy.parent / "o"),
        ("report", "--warehouse", copy, "--out", copy.parent / "r"),
        ("quarantine", "--warehouse", copy),
        ("recover", "--warehouse", copy),
    ):
        done = relief(*args)
        assert done.returncode in (1, 3), (args, done.stderr)
        assert "runs ledger" in one_line(done), args


def test_explain_on_a_missing_data_file_is_one_line(copy: Path, published):
    table = copy / "counties" / "alameda"
    data_files(table)[0].unlink()
    done = relief(
        "audit", "explain", "--warehouse", copy, "--county", "alameda", "--record-id", "x-1"
    )
    assert done.returncode == 1
    assert "alameda" in one_line(done)


def test_binary_garbage_in_the_lock_is_one_line(copy: Path):
    (copy / "_relief_run.lock").write_bytes(b"\xff\xfe\x00garbage\x80")
    done = relief("recover", "--warehouse", copy)
    assert done.returncode == 1
    assert "_relief_run.lock" in one_line(done)


def test_bad_spark_configuration_is_exit_2_and_writes_nothing(published, copy: Path):
    before = ledger.read_runs(Warehouse(copy))
    done = relief(
        "run", "--input", published["extract"], "--warehouse", copy, "--compute-at",
        "2026-11-22", "--force", "--conf", "spark.sql.shuffle.partitions=-5",
    )  # fmt: skip
    assert done.returncode == 2
    assert "spark.sql.shuffle.partitions" in one_line(done)
    assert ledger.read_runs(Warehouse(copy)) == before


def test_a_case_the_packet_cannot_lay_out_is_skipped_and_listed(published, tmp_path: Path):
    out = tmp_path / "packet"
    code, output = invoke(
        "county", "packet", "--warehouse", published["warehouse"], "--county", "alameda",
        "--out", out,
    )  # fmt: skip
    assert code == 0, output
    assert "skipped" in output and "1 case" in output, output
    assert any(out.glob("*.pdf"))


# --- 9. messages ------------------------------------------------------------------------------


def test_a_name_with_control_characters_is_quarantined_for_that_reason_not_as_bad_utf8(
    published,
):
    from relief.jobs.warehouse.snapshots import open_snapshot, resolve_county

    snapshot = open_snapshot(published["warehouse"], resolve_county("alameda"))
    names = set(snapshot.table.column("PRI_NAME").to_pylist())
    assert LONG_NAME in names  # a long name is text: kept
    assert not any(n and "\x07" in n for n in names)
    quarantine = relief("quarantine", "--warehouse", published["warehouse"])
    assert quarantine.returncode == 0, quarantine.stderr
    assert "not UTF-8" not in quarantine.stdout
    assert "control characters" in quarantine.stdout, quarantine.stdout


def test_reading_a_table_whose_log_is_truncated_never_says_version_none(copy: Path):
    _truncate(copy / "counties" / "alameda" / "_delta_log" / "00000000000000000000.json")
    done = relief(
        "county", "pull", "--warehouse", copy, "--county", "alameda", "--out", copy.parent / "o"
    )
    assert "None" not in one_line(done)


# --- 10. reading the published tables from Python ---------------------------------------------


def test_the_documented_python_reading_recipe_exits_cleanly_every_time(published, tmp_path):
    script = tmp_path / "read_all.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from relief.jobs.read import published_tables

            total = 0
            for county, table in published_tables({str(published["warehouse"])!r}).items():
                total += table.read().num_rows
                assert table.history()[0]["run_id"] == table.run_id
            print("rows", total)
            """
        )
    )
    for _ in range(6):
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.startswith("rows ")
