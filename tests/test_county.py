"""County pull (jobs/county/): formats round-trip the table, versions reproduce old pulls,
the gogen export follows DOMAIN.md §6, and nothing needs Spark, Java or another county."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from deltalake import CommitProperties, write_deltalake

from relief.jobs.county.gogen import (
    ALL_RESULTS,
    ALL_RESULTS_CONDENSED,
    GOGEN_CONDENSED_COLUMNS,
    GOGEN_ELIGIBILITY_HEADERS,
    PROP64_RESULTS,
    SUMMARY_JSON,
    go_csv_lines,
    go_json,
    gogen_summary,
)
from relief.jobs.county.pull import (
    PullError,
    PullFormat,
    nested_as_json,
    pull,
    pull_column_order,
)
from relief.jobs.county.xlsx import ALL_ROWS_SHEET, CANDIDATE_SHEET, CONDENSED_SHEET
from relief.transforms.columns import (
    DECISION_INPUTS,
    DETERMINATION,
    DOJ_COLUMNS,
    INPUT_INDEX,
    IS_CANDIDATE,
    KEPT_DOJ_COLUMNS,
    REASON,
    RECORD_ID,
    RULE_ID,
    SOURCE_FILE,
    SOURCE_LINE,
)
from relief.transforms.policy import parse_eligibility_options, section_list_entries
from tests.helpers.county_tables import (
    COMPUTE_AT,
    ROOT,
    D,
    R,
    as_table,
    fresno_rows,
    no_java_env,
    row,
    storable,
    write_county,
)
from tests.helpers.ledger_rows import publish


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    root = tmp_path / "warehouse"
    write_county(root, "fresno", fresno_rows()[:3], "run-1")  # version 0: an older run
    write_county(root, "fresno", fresno_rows(), "run-2")  # version 1: latest
    write_county(root, "kern", [row(1, "S1", county="KERN")], "run-2")
    publish(root, "run-2", {"fresno": 1, "kern": 0})  # readers serve what the ledger names
    return root


def expected(rows: list[dict[str, Any]]) -> pa.Table:
    table = storable(as_table(rows))
    return table.select(pull_column_order(table.column_names))


# --- csv, parquet, xlsx -------------------------------------------------------------------


def test_parquet_pull_round_trips_every_row_in_input_order(warehouse: Path, tmp_path: Path):
    result = pull(warehouse, "fresno", tmp_path / "out", PullFormat.PARQUET)
    assert result.version == 1 and result.run_id == "run-2" and result.rows == 11
    assert [p.name for p in result.files] == ["fresno_v1.parquet"]
    pulled = pq.read_table(result.files[0])
    assert pulled.equals(expected(fresno_rows()))


def test_pull_columns_lead_with_provenance_then_doj_columns_in_extract_order(
    warehouse: Path, tmp_path: Path
):
    result = pull(warehouse, "Fresno", tmp_path / "out", PullFormat.PARQUET)
    names = pq.read_schema(result.files[0]).names
    lead = [RECORD_ID, SOURCE_FILE, SOURCE_LINE, INPUT_INDEX]
    assert names[: 4 + len(KEPT_DOJ_COLUMNS)] == [*lead, *KEPT_DOJ_COLUMNS]
    assert not {"REQ_CDL", "REQ_SSN", "PRI_SSN", "PRI_CDL"} & set(names)


def test_csv_pull_round_trips_every_row_with_nulls_and_empty_strings_apart(
    warehouse: Path, tmp_path: Path
):
    result = pull(warehouse, "FRESNO", tmp_path / "out", PullFormat.CSV)
    want = nested_as_json(expected(fresno_rows()))
    read = pacsv.read_csv(
        result.files[0],
        convert_options=pacsv.ConvertOptions(
            column_types=want.schema,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    assert read.column_names == want.column_names
    # A name a spreadsheet would evaluate is written as text (jobs/county/csv.py formula_safe).
    names = want.column_names.index("PRI_NAME")
    safe = ["'" + n if n.startswith("=") else n for n in want.column(names).to_pylist()]
    want = want.set_column(names, "PRI_NAME", pa.array(safe, pa.string()))
    assert read.equals(want)
    assert result.files[0].read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    # The decision inputs map is JSON text.
    inputs = read.column(DECISION_INPUTS).to_pylist()
    assert json.loads(inputs[1]) == {"not_felony": False}


def test_xlsx_pull_has_decisions_first_filters_and_a_condensed_sheet(
    warehouse: Path, tmp_path: Path
):
    from openpyxl import load_workbook

    result = pull(warehouse, "fresno", tmp_path / "out", PullFormat.XLSX)
    book = load_workbook(result.files[0])
    assert book.sheetnames == [CANDIDATE_SHEET, CONDENSED_SHEET, ALL_ROWS_SHEET]
    want = nested_as_json(expected(fresno_rows()))
    names = [DETERMINATION, REASON, RULE_ID]
    names += [c for c in want.column_names if c not in names]

    def cell(name: str, value: Any) -> Any:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return dt.datetime(value.year, value.month, value.day)
        if name == "PRI_DOB" and value not in ("", "19800000"):  # whole YYYYMMDD: a date
            return dt.datetime.strptime(value, "%Y%m%d")
        return None if value == "" else value

    candidates = [r for r in want.to_pylist() if r[IS_CANDIDATE]]
    condensed = [DETERMINATION, REASON, RULE_ID, *GOGEN_CONDENSED_COLUMNS]
    for title, columns, rows in (
        (ALL_ROWS_SHEET, names, want.to_pylist()),
        (CANDIDATE_SHEET, names, candidates),
        (CONDENSED_SHEET, condensed, candidates),
    ):
        sheet = book[title]
        assert sheet.freeze_panes == "A2"
        got = [[c.value for c in r] for r in sheet.iter_rows()]
        assert got[0] == columns, title
        assert got[1:] == [[cell(c, r[c]) for c in columns] for r in rows], title
        assert all(c.font.b for c in sheet[1])
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(columns)).column_letter}" + str(
            len(rows) + 1
        )
    assert len(candidates) == 7
    # Widths come from the data: the longest reason, not the header "reason".
    widths = book[CANDIDATE_SHEET].column_dimensions
    assert widths["B"].width == len("Dismiss all HS 11358 convictions") + 2
    assert widths["A"].width == len(D) + 2
    # A partial DOJ date stays text; a name starting with '=' stays text, never a formula.
    sheet = book[ALL_ROWS_SHEET]
    dob = names.index("PRI_DOB")
    name_column = names.index("PRI_NAME")
    s2 = next(r for r in sheet.iter_rows(min_row=2) if r[names.index(RECORD_ID)].value == "fp-5")
    assert s2[dob].value == "19800000" and s2[dob].data_type == "s"
    s3 = next(r for r in sheet.iter_rows(min_row=2) if r[names.index(RECORD_ID)].value == "fp-7")
    assert s3[name_column].value == "=O'BRIEN, PAT"
    assert s3[name_column].data_type == "s"
    assert s3[dob].is_date and s3[dob].value == dt.datetime(1950, 7, 4)


# --- versions -------------------------------------------------------------------------------


def test_version_pull_gives_the_old_rows_after_a_newer_version(warehouse: Path, tmp_path: Path):
    result = pull(warehouse, "fresno", tmp_path / "old", PullFormat.PARQUET, version=0)
    assert (result.version, result.latest_version, result.run_id) == (0, 1, "run-1")
    assert pq.read_table(result.files[0]).equals(expected(fresno_rows()[:3]))


def test_run_pull_finds_the_version_that_run_committed(warehouse: Path, tmp_path: Path):
    result = pull(warehouse, "fresno", tmp_path / "old", PullFormat.PARQUET, run_id="run-1")
    assert result.version == 0
    assert pq.read_table(result.files[0]).equals(expected(fresno_rows()[:3]))


@pytest.mark.parametrize("fmt", [PullFormat.CSV, PullFormat.PARQUET, PullFormat.GOGEN])
def test_pulling_the_same_version_again_gives_identical_bytes(
    warehouse: Path, tmp_path: Path, fmt: PullFormat
):
    first = pull(warehouse, "fresno", tmp_path / "a", fmt, version=1)
    write_county(warehouse, "fresno", fresno_rows()[:2], "run-3")  # a newer version meanwhile
    second = pull(warehouse, "fresno", tmp_path / "b", fmt, version=1)
    assert [p.name for p in first.files] == [p.name for p in second.files]
    for a, b in zip(first.files, second.files, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_unknown_version_and_unknown_run_are_usage_errors(warehouse: Path, tmp_path: Path):
    with pytest.raises(PullError, match="versions 0 to 1; there is no version 7") as exc:
        pull(warehouse, "fresno", tmp_path / "o", version=7)
    assert exc.value.exit_code == 2
    with pytest.raises(PullError, match=r"run 'run-9' wrote no version.*run-1 \(version 0\)"):
        pull(warehouse, "fresno", tmp_path / "o", run_id="run-9")
    with pytest.raises(PullError, match="not both"):
        pull(warehouse, "fresno", tmp_path / "o", version=0, run_id="run-1")


def test_unknown_county_suggests_the_close_name_and_missing_table_says_so(
    warehouse: Path, tmp_path: Path
):
    with pytest.raises(PullError) as exc:
        pull(warehouse, "Fresnoo", tmp_path / "o")
    assert str(exc.value) == "unknown county 'Fresnoo': did you mean Fresno?"
    assert exc.value.exit_code == 2
    with pytest.raises(PullError, match="Alpine has no county table at") as exc:
        pull(warehouse, "alpine", tmp_path / "o")
    assert exc.value.exit_code == 1
    assert not (tmp_path / "o").exists()


# --- privacy --------------------------------------------------------------------------------


def test_pull_never_reads_another_countys_table(warehouse: Path, tmp_path: Path):
    kern = warehouse / "counties" / "kern"
    for file in kern.rglob("*"):
        if file.is_file():
            file.write_bytes(b"corrupt")
    os.chmod(kern / "_delta_log", 0)
    os.chmod(kern, 0)
    try:
        result = pull(warehouse, "fresno", tmp_path / "out", PullFormat.GOGEN)
    finally:
        os.chmod(kern, 0o755)
        os.chmod(kern / "_delta_log", 0o755)
    assert result.rows == 11


def test_pull_writes_owner_only_files_and_directories(warehouse: Path, tmp_path: Path):
    out = tmp_path / "new" / "pull"
    previous = os.umask(0o022)
    try:
        result = pull(warehouse, "fresno", out, PullFormat.GOGEN)
        assert os.umask(0o022) == 0o022  # the pull restored the umask it found
    finally:
        os.umask(previous)
    for directory in (tmp_path / "new", out):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for file in result.files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in result.files)


# --- gogen ----------------------------------------------------------------------------------


def read_csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_gogen_all_results_has_95_doj_columns_then_18_in_input_order(
    warehouse: Path, tmp_path: Path
):
    pull(warehouse, "fresno", tmp_path / "g", PullFormat.GOGEN)
    rows = read_csv_rows(tmp_path / "g" / ALL_RESULTS)
    assert rows[0] == [*DOJ_COLUMNS, *GOGEN_ELIGIBILITY_HEADERS]
    assert len(rows[0]) == 113
    assert [r[0] for r in rows[1:]] == [f"DOJ{n}" for n in range(1, 12)]
    header = rows[0]
    by_name = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    assert {r["PRI_SSN"] for r in by_name} == {""} and {r["REQ_CDL"] for r in by_name} == {""}
    eligibility = [[r[h] for h in GOGEN_ELIGIBILITY_HEADERS] for r in by_name]
    empty = [""] * 18
    assert eligibility[0] == empty  # an arrest
    assert eligibility[1] == [
        "F10-001", "3", "", "N", "-", "-", "-", "05/03/2010", "14.2", "5.5", "2", "1", "0",
        "1", "0", "-", R, "Reduce all HS 11359 convictions",
    ]  # fmt: skip
    # Another county's conviction: no eligibility info, but the comment flag is written.
    assert eligibility[3] == ["", "", "11360 HS-TRANSPORT", *[""] * 15]
    # Partial conviction date: earliest possible day; straddles nothing -> "N".
    assert eligibility[4] == [
        "F15-010; F15-011", "2", "", "N", "187 PC", "288(a) PC;314(1) PC", "-", "01/01/2015",
        "9.5", "7.3", "2", "0", "1", "0", "1", "-", D, "Dismiss all HS 11358 convictions",
    ]  # fmt: skip
    assert eligibility[5][3] == "Y"  # 2017-03-01 is after 11/9/2016
    # Blank conviction date: '-' and -1.0; deceased subject.
    assert eligibility[6] == [
        "", "2", "", "-", "-", "-", "-", "-", "-1.0", "19.4", "2", "1", "0", "1", "0",
        "Deceased", D, "Misdemeanor or Infraction",
    ]  # fmt: skip
    assert eligibility[7] == ["", "", "11359 HS-POSSESS FOR SALE", *[""] * 15]


def test_gogen_csv_quotes_like_go_encoding_csv(warehouse: Path, tmp_path: Path):
    pull(warehouse, "fresno", tmp_path / "g", PullFormat.GOGEN)
    text = (tmp_path / "g" / ALL_RESULTS).read_text(encoding="utf-8")
    assert "\r" not in text and text.endswith("\n")
    assert ',"DOE, JOHN",' in text
    assert ',"ÑÚÑEZ, JOSÉ ""JO""",' in text
    assert ",\"'=O'BRIEN, PAT\"," in text  # formula-safe, then quoted as Go quotes
    assert '," LEE, ANN",' in text  # leading white space is quoted by Go


def test_go_csv_lines_quote_only_what_go_quotes():
    values = pa.array(["plain", "", "a,b", 'say "hi"', " lead", "\tx", "\u00a0nbsp", "trail ",
                       "line\nbreak", "\\.", "\\.x"])  # fmt: skip
    lines = go_csv_lines([values]).to_pylist()
    assert lines == ["plain", "", '"a,b"', '"say ""hi"""', '" lead"', "'\tx", '"\u00a0nbsp"',
                     "trail ", '"line\nbreak"', '"\\."', "\\.x"]  # fmt: skip


def test_gogen_condensed_and_prop64_results_layouts(warehouse: Path, tmp_path: Path):
    pull(warehouse, "fresno", tmp_path / "g", PullFormat.GOGEN)
    condensed = read_csv_rows(tmp_path / "g" / ALL_RESULTS_CONDENSED)
    assert condensed[0] == [*GOGEN_CONDENSED_COLUMNS, *GOGEN_ELIGIBILITY_HEADERS]
    assert len(condensed) == 12 and all(len(r) == 38 for r in condensed)
    full = read_csv_rows(tmp_path / "g" / ALL_RESULTS)
    assert condensed[2][20:] == full[2][95:]
    assert condensed[2][:3] == ["A0000001", "DOE, JOHN", "M"]
    prop64 = read_csv_rows(tmp_path / "g" / PROP64_RESULTS)
    assert prop64[0] == full[0]
    assert [r[0] for r in prop64[1:]] == ["DOJ2", "DOJ3", "DOJ5", "DOJ6", "DOJ7", "DOJ10",
                                          "DOJ11"]  # fmt: skip
    assert prop64[1:] == [r for r in full[1:] if r[-2]]


EXPECTED_SUMMARY = {
    "county": "FRESNO",
    "earliestConviction": "2005-02-02T00:00:00Z",
    "lineCount": 11,
    "reliefWithCurrentEligibilityChoices": {
        "CountSubjectsNoConviction": 2,  # S3 (all dismissed), S4
        "CountSubjectsNoConvictionLast7Years": 1,  # S4 (2020); S1's 2019 Kern one stays
        "CountSubjectsNoFelony": 1,  # S3; S1 keeps Kern, S2's 11360 is not eligible
    },
    "reliefWithDismissAllProp64": {
        "CountSubjectsNoConviction": 3,  # S2, S3, S4
        "CountSubjectsNoConvictionLast7Years": 1,
        "CountSubjectsNoFelony": 2,  # S2, S3
    },
    "prop64ConvictionsCountInCountyByCodeSection": {
        "11357": 3,
        "11358": 1,
        "11359": 2,
        "11360": 1,
    },
    "subjectsWithProp64ConvictionCountInCounty": 4,
    "prop64FelonyConvictionsCountInCounty": 4,
    "prop64NonFelonyConvictionsCountInCounty": 3,
    "subjectsWithSomeReliefCount": 4,
    "convictionDismissalCountByCodeSection": {"11358": 1},
    "convictionReductionCountByCodeSection": {"11359": 1},
    "convictionDismissalCountByAdditionalRelief": {"Individual is deceased": 1},
}


def test_gogen_summary_json_has_the_reference_keys_and_figures(warehouse: Path, tmp_path: Path):
    pull(warehouse, "fresno", tmp_path / "g", PullFormat.GOGEN)
    text = (tmp_path / "g" / SUMMARY_JSON).read_text(encoding="utf-8")
    summary = json.loads(text)
    assert summary == EXPECTED_SUMMARY
    assert list(summary) == list(EXPECTED_SUMMARY)
    assert text == go_json(EXPECTED_SUMMARY)  # compact, as Go's json.Marshal writes it
    assert " " not in text.replace("Individual is deceased", "")


def test_summary_lists_policy_sections_with_zero_when_given():
    table = as_table(fresno_rows())
    policy = parse_eligibility_options(
        {"baselineEligibility": {"dismiss": ["11357", "11358"], "reduce": ["11359", "11360"]}}
    )
    summary = gogen_summary(table, "FRESNO", COMPUTE_AT, entries=section_list_entries(policy))
    assert summary["convictionDismissalCountByCodeSection"] == {"11357": 0, "11358": 1}
    assert summary["convictionReductionCountByCodeSection"] == {"11359": 1, "11360": 0}


def test_gogen_pull_reports_the_runs_input_lines_and_every_listed_entry(tmp_path: Path):
    """lineCount = the run's input data lines; one key per list entry, spelled as in the
    options, 0 when none (DOMAIN.md §5), from the version's commit metadata."""
    policy = parse_eligibility_options(
        {"baselineEligibility": {"dismiss": ["11357(a)", "11357(b)", "11358"],
                                 "reduce": ["11357(no-sub-section)", "11359", "11360"]}}
    )  # fmt: skip
    rows = fresno_rows()
    rows[10].update({REASON: "Dismiss all HS 11357(a) convictions", RULE_ID: "x"})
    table = storable(as_table(rows))
    metadata = {"run_id": "run-9", "compute_at": COMPUTE_AT.isoformat(), "county": "fresno",
                "rows_read": "2500", "policy": policy.canonical_json()}  # fmt: skip
    write_deltalake(str(tmp_path / "wh" / "counties" / "fresno"), table, mode="overwrite",
                    commit_properties=CommitProperties(custom_metadata=metadata))  # fmt: skip
    publish(tmp_path / "wh", "run-9", {"fresno": 0})
    pull(tmp_path / "wh", "fresno", tmp_path / "g", PullFormat.GOGEN)
    summary = json.loads((tmp_path / "g" / SUMMARY_JSON).read_text(encoding="utf-8"))
    assert summary["lineCount"] == 2500
    assert summary["convictionDismissalCountByCodeSection"] == {
        "11357(a)": 1, "11357(b)": 0, "11358": 1
    }  # fmt: skip
    assert summary["convictionReductionCountByCodeSection"] == {
        "11357(no-sub-section)": 0, "11359": 1, "11360": 0
    }  # fmt: skip
    assert summary["convictionDismissalCountByAdditionalRelief"] == {"Individual is deceased": 1}


def test_seven_year_window_is_measured_at_compute_at_not_today():
    table = as_table(fresno_rows())

    def last_7_years(compute_at: dt.date) -> int:
        summary = gogen_summary(table, "FRESNO", compute_at)
        return summary["reliefWithCurrentEligibilityChoices"]["CountSubjectsNoConvictionLast7Years"]

    # S4's only conviction (2020-02-02, dismissed) is in the window until 2027-02-02.
    assert last_7_years(dt.date(2027, 2, 1)) == 1
    assert last_7_years(dt.date(2027, 2, 2)) == 0


def test_go_json_escapes_html_characters_like_go():
    assert go_json({"a<b": "x&y>z", "n": [1]}) == '{"a\\u003cb":"x\\u0026y\\u003ez","n":[1]}'


# --- the command, without Java ----------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relief.jobs.county.cli", *args],
        cwd=ROOT,
        env=no_java_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_county_modules_import_nothing_from_pyspark():
    code = (
        "import sys, relief.jobs.county.cli, relief.jobs.county.pull, relief.jobs.county.packet\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j'))\n"
        "print(bad)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=no_java_env(),
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"


def test_pull_command_runs_without_java(warehouse: Path, tmp_path: Path):
    done = run_cli("pull", "--warehouse", str(warehouse), "--county", "fresno",
                   "--out", str(tmp_path / "o"), "--format", "gogen", "--run", "run-1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        "Fresno: version 0 (run run-1), NOT the published version (that is version 1, "
        "published by run run-2); 3 rows"
    ) in done.stdout
    assert len(read_csv_rows(tmp_path / "o" / ALL_RESULTS)) == 4


def test_pull_command_exits_2_on_unknown_county_with_a_did_you_mean(
    warehouse: Path, tmp_path: Path
):
    done = run_cli("pull", "--warehouse", str(warehouse), "--county", "Fresnoo",
                   "--out", str(tmp_path / "o"))  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == "relief: unknown county 'Fresnoo': did you mean Fresno?\n"
    done = run_cli("pull", "--warehouse", str(warehouse), "--county", "Atlantis",
                   "--out", str(tmp_path / "o"))  # fmt: skip
    assert done.returncode == 2
    assert "unknown county 'Atlantis'" in done.stderr and "San Joaquin" not in done.stderr


def test_pull_command_says_plainly_when_the_county_has_no_table(warehouse: Path, tmp_path: Path):
    done = run_cli("pull", "--warehouse", str(warehouse), "--county", "Mono",
                   "--out", str(tmp_path / "o"))  # fmt: skip
    assert done.returncode == 1
    assert "Mono has no county table" in done.stderr and "Traceback" not in done.stderr


def test_header_helper_reads_back_with_python_csv():
    # Sanity check of the reader used above on a quoted multi-line field.
    line = go_csv_lines([pa.array(["a\nb"]), pa.array(["c"])]).to_pylist()[0]
    assert list(csv.reader(io.StringIO(line + "\n"))) == [["a\nb", "c"]]


def test_gogen_files_carry_a_run_suffix_as_the_reference_names_them(
    warehouse: Path, tmp_path: Path
):
    plain = pull(warehouse, "fresno", tmp_path / "plain", PullFormat.GOGEN)
    done = run_cli("pull", "--warehouse", str(warehouse), "--county", "fresno", "--out",
                   str(tmp_path / "s"), "--format", "gogen",
                   "--suffix", "2026-11-22_r2")  # fmt: skip
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert names == ["All_Results_2026-11-22_r2.csv", "All_Results_Condensed_2026-11-22_r2.csv",
                     "Prop64_Results_2026-11-22_r2.csv", "summary_2026-11-22_r2.json"]  # fmt: skip
    for path in plain.files:
        stem, _, ext = path.name.rpartition(".")
        assert (tmp_path / "s" / f"{stem}_2026-11-22_r2.{ext}").read_bytes() == path.read_bytes()


def test_a_suffix_is_for_gogen_files_and_must_be_file_safe(warehouse: Path, tmp_path: Path):
    with pytest.raises(PullError, match="--suffix names the gogen files") as exc:
        pull(warehouse, "fresno", tmp_path / "o", PullFormat.CSV, suffix="x")
    assert exc.value.exit_code == 2
    with pytest.raises(PullError, match=r"--suffix file name suffix '\.\./x'") as exc:
        pull(warehouse, "fresno", tmp_path / "o", PullFormat.GOGEN, suffix="../x")
    assert exc.value.exit_code == 2
    assert not (tmp_path / "o").exists()


def test_xlsx_cells_survive_xml_special_characters_and_odd_values(tmp_path: Path):
    from openpyxl import load_workbook

    from relief.jobs.county.xlsx import XLSX_MAX_CELL, write_xlsx

    table = pa.table(
        {
            DETERMINATION: ["A & B <c>", None, "x\x01y"],
            "name": [" lead", "trail ", "=1+1"],
            "long": ["z" * (XLSX_MAX_CELL + 10), "", None],
            "day": pa.array([dt.date(1899, 12, 31), dt.date(2020, 2, 29), None], pa.date32()),
            "stamp": pa.array(
                [dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC), None, None],
                pa.timestamp("us", "UTC"),
            ),
            "ratio": [1.5, float("inf"), None],
            "flag": [True, False, None],
            IS_CANDIDATE: [True, True, False],
        }
    )
    write_xlsx(table, tmp_path / "odd.xlsx")
    sheet = load_workbook(tmp_path / "odd.xlsx")[ALL_ROWS_SHEET]
    got = [[c.value for c in row] for row in sheet.iter_rows()]
    assert got[0] == [DETERMINATION, "name", "long", "day", "stamp", "ratio", "flag", IS_CANDIDATE]
    assert got[1] == ["A & B <c>", " lead", "z" * XLSX_MAX_CELL, "1899-12-31",
                      dt.datetime(2024, 5, 6, 7, 8, 9), 1.5, True, True]  # fmt: skip
    assert got[2] == [None, "trail ", None, dt.datetime(2020, 2, 29), None, None, False, True]
    assert got[3] == ["xy", "=1+1", None, None, None, None, None, False]
    assert sheet["B4"].data_type == "s"  # text, never a formula
