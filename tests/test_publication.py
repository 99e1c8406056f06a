"""One consistent publication: every county every run, --counties runs that name what they
left, conservation of Prop 64 convictions, stable row identity across refreshed extracts,
and what the run key covers.

The Spark part runs the real statewide job four times on one warehouse:

1. extract E1 (Prop 64 events in Kern and Solano only);
2. E2 = E1 refreshed: four lines of new subjects inserted at the top (every line number, so
   every record_id, moves), three Kern felony convictions recorded as misdemeanors, and one
   Solano Prop 64 conviction whose SUBJECT_ID is spaces;
3. E3, Prop 64 events in Kern only: Solano must get an empty version, not keep E2's rows;
4. E1 again with ``--counties solano``: the ledger names every other county's version as
   left as it was;
5. E2 again, failing (RELIEF_FAULT_RAISE_AT) after five county commits: it rolls them back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from relief.jobs.audit.diff import DETERMINATION_CHANGED, diff_versions
from relief.jobs.audit.verify import render_verify, verify_warehouse
from relief.jobs.config import load_counties
from relief.jobs.config.offenses import load_offenses
from relief.jobs.county.pull import PullFormat, pull
from relief.jobs.runtime import faults
from relief.jobs.runtime.progress import Progress
from relief.jobs.statewide import (
    Prepared,
    RunFailed,
    RunOptions,
    changed_parts,
    prepare,
    run,
    run_key,
    run_key_parts,
)
from relief.jobs.synthetic.generate import generate_extract
from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.inputs import InputFile
from relief.jobs.warehouse.publication import publication
from relief.jobs.warehouse.storage import Warehouse, open_table, read_arrow
from relief.transforms.columns import DOJ_COLUMNS, ROW_KEY
from relief.transforms.conservation import REASON_BLANK_SUBJECT

ROOT = Path(__file__).resolve().parent.parent
COMPUTE_AT = dt.date(2026, 11, 22)
COL = {name: i for i, name in enumerate(DOJ_COLUMNS)}
SLUGS = sorted(c.slug for c in load_counties().counties)
FAIL_AFTER = 5  # the fifth run fails after committing this many counties


# --- building the extracts ------------------------------------------------------------------


def read_lines(path: Path) -> tuple[str, list[list[str]]]:
    text = path.read_text()
    header, *rest = text.splitlines()
    return header, [next(csv.reader([line])) for line in rest]


def write_lines(path: Path, header: str, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
    path.write_text(header + "\n" + buffer.getvalue())


def is_conviction(row: list[str]) -> bool:
    return row[COL["DISP_DESCR"]].strip().upper().startswith("CONVICTED")


def counted_convictions(rows: list[list[str]]) -> dict[int, list[str]]:
    """Index -> row of each first conviction line of its (SUBJECT_ID, CNT_ORDER)."""
    seen: set[tuple[str, str]] = set()
    counted = {}
    for index, row in enumerate(rows):
        key = (row[COL["SUBJECT_ID"]].strip(), row[COL["CNT_ORDER"]].strip())
        if is_conviction(row) and key not in seen:
            seen.add(key)
            counted[index] = row
    return counted


def prop64_section(row: list[str]) -> str | None:
    text = row[COL["OFFENSE_DESCR"]].replace(" ", "").upper()
    for section in ("11357", "11358", "11359", "11360"):
        if text.startswith(section):
            return section
    return None


@dataclass
class Refresh:
    changed_keys: list[str]  # row keys of the three Kern convictions made misdemeanors
    blanked_subject: str  # the Solano subject whose Prop 64 line lost its SUBJECT_ID


def refreshed_extract(source: Path, target: Path) -> Refresh:
    header, rows = read_lines(source)
    counted = counted_convictions(rows)
    kern_subjects = {
        r[COL["SUBJECT_ID"]].strip()
        for r in counted.values()
        if r[COL["STP_ORI_CNTY_NAME"]].strip() == "KERN" and prop64_section(r)
    }
    # Three felony 11359/11360 convictions in Kern (Reduction), of three subjects.
    changed: list[int] = []
    subjects: set[str] = set()
    for index, row in counted.items():
        subject = row[COL["SUBJECT_ID"]].strip()
        if (
            row[COL["STP_ORI_CNTY_NAME"]].strip() == "KERN"
            and prop64_section(row) in ("11359", "11360")
            and row[COL["CONV_STAT_DESCR"]].strip() == "FELONY"
            and subject not in subjects
        ):
            changed.append(index)
            subjects.add(subject)
        if len(changed) == 3:
            break
    assert len(changed) == 3, "the extract should hold three felony 11359/11360 in Kern"
    keys = []
    for index in changed:
        rows[index][COL["CONV_STAT_DESCR"]] = "MISDEMEANOR"
        rows[index][COL["OFFENSE_TOC"]] = "M"
        row = rows[index]
        subject, count = row[COL["SUBJECT_ID"]].strip(), row[COL["CNT_ORDER"]].strip()
        before = [
            r
            for r in rows[:index]
            if (r[COL["SUBJECT_ID"]].strip(), r[COL["CNT_ORDER"]].strip()) == (subject, count)
        ]
        keys.append(f"{subject}|{count}|{len(before) + 1}")
    # A Solano Prop 64 conviction of a subject with none in Kern loses its SUBJECT_ID.
    blank = next(
        index
        for index, row in counted.items()
        if row[COL["STP_ORI_CNTY_NAME"]].strip() == "SOLANO"
        and prop64_section(row)
        and row[COL["SUBJECT_ID"]].strip() not in kern_subjects
        and row[COL["SUBJECT_ID"]].strip() not in subjects
    )
    blanked = rows[blank][COL["SUBJECT_ID"]].strip()
    rows[blank][COL["SUBJECT_ID"]] = "   "
    # Four lines of new subjects with no Prop 64 charge, at the top: every line moves.
    plain = next(r for r in rows if not prop64_section(r) and not is_conviction(r))
    new = [list(plain) for _ in range(4)]
    for n, row in enumerate(new):
        row[COL["SUBJECT_ID"]] = f"9999999{n:03d}"
    write_lines(target, header, new + rows)
    return Refresh(keys, blanked)


# --- the runs -------------------------------------------------------------------------------


@dataclass
class Runs:
    warehouse: Path
    e1: Path
    refresh: Refresh
    first: ledger.RunRecord
    second: ledger.RunRecord
    third: ledger.RunRecord
    partial: ledger.RunRecord
    relative_input: str


def versions(record: ledger.RunRecord) -> dict[str, dict[str, Any]]:
    return {v["county"]: v for v in record.county_versions}


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory) -> Runs:
    root = tmp_path_factory.mktemp("publication")
    e1, e2, e3 = root / "e1.csv", root / "e2.csv", root / "e3.csv"
    generate_extract(e1, rows=2500, seed=64, counties=["Kern", "Solano"])
    refresh = refreshed_extract(e1, e2)
    generate_extract(e3, rows=1500, seed=65, counties=["Kern"])
    warehouse = root / "warehouse"
    relative = os.path.relpath(e1)  # the ledger must record it absolute

    def run_on(inputs: str, **extra: Any) -> ledger.RunRecord:
        options = RunOptions(inputs=inputs, warehouse=warehouse, compute_at=COMPUTE_AT, **extra)
        result = run(options, Progress(quiet=True))
        assert result.status == ledger.STATUS_SUCCEEDED, result.message
        return result

    first = run_on(relative)
    second = run_on(str(e2))
    third = run_on(str(e3), allow_shrink=True)  # Solano's rows gone on purpose (issue #21 guard)
    partial = run_on(str(e1), counties=["Solano"])
    # 5. A run that fails after committing five counties rolls them back itself.
    faults.reset()
    os.environ[faults.RAISE_ENV] = f"county_committed@{FAIL_AFTER}"
    try:
        with pytest.raises(RunFailed) as failed:  # one line for people; the cause kept
            run(RunOptions(inputs=str(e2), warehouse=warehouse, compute_at=COMPUTE_AT),
                Progress(quiet=True))  # fmt: skip
        assert isinstance(failed.value.__cause__, faults.FaultInjected)
    finally:
        del os.environ[faults.RAISE_ENV]
        faults.reset()
    return Runs(warehouse, e1, refresh, first, second, third, partial, relative)


@pytest.mark.slow  # the module's statewide runs
def test_a_statewide_run_publishes_a_version_of_every_county(runs: Runs):
    for record in (runs.first, runs.second, runs.third):
        assert sorted(versions(record)) == SLUGS
        assert all(v["carried_from"] is None for v in record.county_versions)
    empty = [slug for slug, v in versions(runs.first).items() if v["rows"] == 0]
    assert len(empty) == 56 and "kern" not in empty and "solano" not in empty


@pytest.mark.slow  # the module's statewide runs
def test_a_county_without_rows_in_the_new_extract_gets_an_empty_version_not_a_stale_one(
    runs: Runs, tmp_path: Path
):
    solano_before = versions(runs.second)["solano"]
    solano = versions(runs.third)["solano"]
    assert solano_before["rows"] > 0
    assert solano["rows"] == 0 and solano["version"] == solano_before["version"] + 1
    # The version the third run published is empty; the older rows are not served.
    warehouse = Warehouse(runs.warehouse)
    published = publication(warehouse)
    assert published.run_id == runs.partial.run_id
    result = pull(runs.warehouse, "solano", tmp_path, PullFormat.PARQUET, run_id=runs.third.run_id)
    assert result.rows == 0 and result.version == solano["version"]


@pytest.mark.slow  # the module's statewide runs
def test_a_counties_run_names_the_counties_it_left_as_they_were(runs: Runs, tmp_path: Path):
    entries = versions(runs.partial)
    assert sorted(entries) == SLUGS
    written = [slug for slug, v in entries.items() if v["carried_from"] is None]
    assert written == ["solano"]
    for slug, entry in entries.items():
        if slug != "solano":
            third = versions(runs.third)[slug]
            assert (entry["version"], entry["rows"], entry["carried_from"]) == (
                third["version"],
                third["rows"],
                runs.third.run_id,
            ), slug
    assert entries["solano"]["rows"] == versions(runs.first)["solano"]["rows"]
    kern = pull(runs.warehouse, "kern", tmp_path, PullFormat.CSV)
    assert kern.version == versions(runs.third)["kern"]["version"]
    assert kern.served == (
        f"version {kern.version} (run {runs.third.run_id}), published by run "
        f"{runs.partial.run_id}, which left it as it was"
    )
    report = verify_warehouse(runs.warehouse)
    assert report.ok, render_verify(report, runs.warehouse)


@pytest.mark.slow  # the module's statewide runs
def test_a_refreshed_extract_shows_only_the_three_changed_convictions_in_audit_diff(runs: Runs):
    before = versions(runs.first)["kern"]["version"]
    after = versions(runs.second)["kern"]["version"]
    diff = diff_versions(runs.warehouse, "kern", before, after)
    assert diff.matched_on == ROW_KEY
    assert diff.counts_by_kind() == {
        "new": 0,
        "removed": 0,
        "determination changed": 3,
        "reason changed": 0,
    }
    assert sorted(c.row_key for c in diff.changes) == sorted(runs.refresh.changed_keys)
    for change in diff.changes:
        assert change.change == DETERMINATION_CHANGED
        assert change.from_determination == "Eligible for Reduction"
        assert change.to_determination == "Eligible for Dismissal"
        assert change.to_rule == "misdemeanor"
    # Every line moved: matched on record_id, the same versions would differ everywhere.
    path = Warehouse(runs.warehouse).county("kern")
    ids = [
        set(read_arrow(path, open_table(path, v), ["record_id"])["record_id"].to_pylist())  # type: ignore[arg-type]
        for v in (before, after)
    ]
    assert not ids[0] & ids[1]


@pytest.mark.slow  # the module's statewide runs
def test_every_kept_prop64_conviction_is_in_its_table_or_counted_with_a_reason(runs: Runs):
    for record in (runs.first, runs.second, runs.third, runs.partial):
        unplaced = sum(u["rows"] for u in record.prop64_lines_unplaced)
        assert record.prop64_lines == record.prop64_lines_in_tables + unplaced
        assert record.prop64_lines > 0
    # The Solano conviction whose SUBJECT_ID is spaces: quarantined by ingest, or counted.
    second = runs.second
    blank = [u for u in second.prop64_lines_unplaced if u["reason"] == REASON_BLANK_SUBJECT]
    quarantined = (second.rows_quarantined or 0) - (runs.first.rows_quarantined or 0)
    assert blank == [{"county": "solano", "reason": REASON_BLANK_SUBJECT, "rows": 1}] or (
        quarantined == 1 and not blank
    )
    assert runs.first.prop64_lines_unplaced == []


@pytest.mark.slow  # the module's statewide runs
def test_the_ledger_records_absolute_input_paths_and_sizes(runs: Runs):
    row = next(
        r for r in ledger.read_runs(Warehouse(runs.warehouse)) if r["run_id"] == runs.first.run_id
    )
    [recorded] = row["inputs"]
    assert not Path(runs.relative_input).is_absolute()
    assert recorded["path"] == str(runs.e1.resolve())
    assert recorded["size_bytes"] == runs.e1.stat().st_size
    assert len(recorded["fingerprint"]) == 64


# --- the run key, without Spark ----------------------------------------------------------------


@pytest.fixture
def conf_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    monkeypatch.setenv("RELIEF_CONF", str(conf))
    return conf


def prepared_with(conf: Path, tmp_path: Path) -> Prepared:
    extract = tmp_path / "x.csv"
    if not extract.exists():
        generate_extract(extract, rows=20, seed=1)
    return prepare(
        RunOptions(
            inputs=str(extract),
            warehouse=tmp_path / "w",
            compute_at=COMPUTE_AT,
            policy_dir=conf / "policies",
        )
    )


FILES = [InputFile(0, "/data/extract.csv", "ab" * 32, 100)]
SETTINGS = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "true"}


def key_of(prepared: Prepared) -> dict[str, Any]:
    return run_key_parts(prepared, COMPUTE_AT, FILES, SETTINGS)


def test_editing_offenses_or_counties_changes_the_run_key(conf_copy: Path, tmp_path: Path):
    base = key_of(prepared_with(conf_copy, tmp_path))
    offenses = conf_copy / "offenses.yaml"
    offenses.write_text(
        offenses.read_text().replace("code_aliases:", "code_aliases:\n  HSX: HS", 1)
    )
    assert load_offenses().code_aliases.get("HSX") == "HS"
    edited = key_of(prepared_with(conf_copy, tmp_path))
    assert run_key(edited) != run_key(base)
    assert changed_parts(base, edited) == ["offenses.yaml"]

    counties = conf_copy / "counties.yaml"
    text = counties.read_text()
    counties.write_text(text.replace("{name: ALPINE,", "{name: ALPINE CO,", 1))
    again = key_of(prepared_with(conf_copy, tmp_path))
    assert changed_parts(edited, again) == ["counties.yaml"]


def test_a_comment_or_a_population_in_the_vocabulary_does_not_change_the_run_key(
    conf_copy: Path, tmp_path: Path
):
    base = key_of(prepared_with(conf_copy, tmp_path))
    offenses = conf_copy / "offenses.yaml"
    offenses.write_text("# edited by a person, meaning unchanged\n" + offenses.read_text())
    counties = conf_copy / "counties.yaml"
    counties.write_text(counties.read_text().replace("population: 1}", "population: 2}", 1))
    assert run_key(key_of(prepared_with(conf_copy, tmp_path))) == run_key(base)


def test_the_run_key_covers_inputs_settings_compute_at_counties_and_policies(
    conf_copy: Path, tmp_path: Path
):
    prepared = prepared_with(conf_copy, tmp_path)
    base = key_of(prepared)
    other_file = [InputFile(0, "/data/extract.csv", "cd" * 32, 100)]
    assert changed_parts(base, run_key_parts(prepared, COMPUTE_AT, other_file, SETTINGS)) == [
        "the input files"
    ]
    ansi_off = {**SETTINGS, "spark.sql.ansi.enabled": "false"}
    assert changed_parts(base, run_key_parts(prepared, COMPUTE_AT, FILES, ansi_off)) == [
        "result-affecting Spark settings"
    ]
    later = COMPUTE_AT + dt.timedelta(days=1)
    assert changed_parts(base, run_key_parts(prepared, later, FILES, SETTINGS)) == ["compute-at"]
    policy = conf_copy / "policies" / "default.yaml"
    policy.write_text(policy.read_text().replace("Misdemeanor or Infraction", "Misdemeanor", 1))
    assert changed_parts(base, key_of(prepared_with(conf_copy, tmp_path))) == ["the policies"]


@pytest.mark.slow  # the module's statewide runs
def test_a_run_that_fails_after_some_commits_rolls_them_back_before_it_exits(runs: Runs):
    warehouse = Warehouse(runs.warehouse)
    last = ledger.read_runs(warehouse)[-1]
    assert last["status"] == ledger.STATUS_FAILED
    assert "FaultInjected" in last["message"]
    assert publication(warehouse).run_id == runs.partial.run_id
    for slug in SLUGS[:FAIL_AFTER]:
        table = open_table(warehouse.county(slug))
        assert table is not None
        history = table.history(2)
        assert history[1]["run_id"] == last["run_id"], slug  # its version, then ...
        assert history[0]["relief_restore"] == f"run {last['run_id']}", slug  # ... undone
        assert int(history[0]["restored_version"]) == versions(runs.partial)[slug]["version"]
    report = verify_warehouse(runs.warehouse)
    assert report.ok, render_verify(report, runs.warehouse)
    assert report.rolled_back >= FAIL_AFTER
