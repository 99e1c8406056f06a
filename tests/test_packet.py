"""Filing packet (jobs/county/packet.py): bulk motion, one proposed order per case, index, cover
sheet and hand-review worklist, from the county's table alone and without Java."""

from __future__ import annotations

import csv
import datetime as dt
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from jobs.county.packet import (
    BULK_HEADER,
    BULK_MOTION,
    COVER_SHEET,
    INDEX_CSV,
    INDEX_HEADER,
    ORDERS,
    WORKLIST,
    WORKLIST_HEADER,
    display_date,
    packet,
)
from jobs.county.pull import PullError
from tests.test_county import _no_java_env, fresno_rows, write_county

ROOT = Path(__file__).resolve().parent.parent
E = "H&S 11361.9; 11361.8(e)"
A = "H&S 11361.9; 11361.8(a)"
DISMISS = "Dismiss and seal"
NOT_ELIGIBLE = "Not eligible"
# A name a spreadsheet would evaluate, as every CSV writes it (jobs/outputs.py formula_safe).
OBRIEN_CSV = "'=O'BRIEN, PAT"


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    root = tmp_path / "warehouse"
    write_county(root, "fresno", fresno_rows()[:3], "run-1")
    write_county(root, "fresno", fresno_rows(), "run-2")
    write_county(root, "kern", fresno_rows()[3:4], "run-2")
    return root


@pytest.fixture
def built(warehouse: Path, tmp_path: Path) -> Path:
    out = tmp_path / "packet"
    packet(warehouse, "Fresno", out)
    return out


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def pdf_text(path: Path) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    return re.sub(r"\s+", " ", text)


def test_bulk_motion_has_one_row_per_granted_conviction_grouped_by_case(built: Path):
    rows = read_csv(built / BULK_MOTION)
    assert rows[0] == list(BULK_HEADER)
    assert rows[1:] == [
        ["F05-1", OBRIEN_CSV, "07/04/1950", "A0000003", "1", "11359 HS", "02/02/2005",
         "Felony", DISMISS, E, "deceased", "Individual is deceased", "fp-10"],
        ["F10-001", "DOE, JOHN", "01/02/1970", "A0000001", "1", "11359 HS", "05/03/2010",
         "Felony", "Reduce to misdemeanor", E, "baseline-reduce",
         "Reduce all HS 11359 convictions", "fp-2"],
        # Partial dates print as what is known; a sentence running past compute-at: (a).
        ["F15-010; F15-011", 'ÑÚÑEZ, JOSÉ "JO"', "1980", "A0000002", "2", "11358 HS", "2015",
         "Felony", DISMISS, A, "baseline-dismiss", "Dismiss all HS 11358 convictions", "fp-5"],
        ["M12-777", "DOE, JOHN", "01/02/1970", "A0000001", "1", "11357(c) HS", "06/07/2012",
         "Misdemeanor", DISMISS, E, "misdemeanor", "Misdemeanor or Infraction", "fp-3"],
        ["M20-9", "LEE, ANN", "09/09/1999", "A0000004", "1", "11357(a) HS", "02/02/2020",
         "Misdemeanor", DISMISS, E, "misdemeanor", "Misdemeanor or Infraction", "fp-11"],
        ["", OBRIEN_CSV, "07/04/1950", "A0000003", "1", "11357 HS", "", "Misdemeanor",
         DISMISS, E, "misdemeanor", "Misdemeanor or Infraction", "fp-7"],
    ]  # fmt: skip


def test_one_proposed_order_per_case_with_its_counts_and_a_judges_signature(built: Path):
    orders = sorted(p.name for p in (built / ORDERS).iterdir())
    assert orders == ["order_F05-1.pdf", "order_F10-001.pdf", "order_F15-010-F15-011.pdf",
                      "order_M12-777.pdf", "order_M20-9.pdf"]  # fmt: skip
    text = pdf_text(built / ORDERS / "order_F10-001.pdf")
    for fact in (
        "SUPERIOR COURT OF CALIFORNIA, COUNTY OF FRESNO",
        "PEOPLE OF THE STATE OF CALIFORNIA v. DOE, JOHN",
        "Case number(s): F10-001",
        "ORDER AFTER PETITION/APPLICATION",
        "CR-400",
        "Date of birth: 01/02/1970",
        "CII number: A0000001",
        "11359 HS",
        "05/03/2010",
        "Felony",
        "Reduce to misdemeanor",
        "11361.8(e)",
        "JUDICIAL OFFICER",
        "version 1",
        "run run-2",
        "computed at 2024-06-30",
    ):
        assert fact in text, fact
    # The other case of the same defendant is in its own order.
    assert "11357(c) HS" not in text and "M12-777" not in text


def test_order_renders_accented_names_and_the_serving_sentence_statute(built: Path):
    text = pdf_text(built / ORDERS / "order_F15-010-F15-011.pdf")
    assert 'ÑÚÑEZ, JOSÉ "JO"' in text
    assert "Case number(s): F15-010; F15-011" in text
    assert "11358 HS" in text and "Dismiss and seal" in text and "11361.8(a)" in text
    assert "Date of birth: 1980" in text


def test_index_and_cover_sheet_count_cases_and_convictions(built: Path):
    rows = read_csv(built / INDEX_CSV)
    assert rows[0] == list(INDEX_HEADER)
    assert rows[1:] == [
        ["F05-1", OBRIEN_CSV, "A0000003", "1", "1", "0", "orders/order_F05-1.pdf"],
        ["F10-001", "DOE, JOHN", "A0000001", "1", "0", "1", "orders/order_F10-001.pdf"],
        ["F15-010; F15-011", 'ÑÚÑEZ, JOSÉ "JO"', "A0000002", "1", "1", "0",
         "orders/order_F15-010-F15-011.pdf"],
        ["M12-777", "DOE, JOHN", "A0000001", "1", "1", "0", "orders/order_M12-777.pdf"],
        ["M20-9", "LEE, ANN", "A0000004", "1", "1", "0", "orders/order_M20-9.pdf"],
    ]  # fmt: skip
    text = pdf_text(built / COVER_SHEET)
    assert "Proposition 64 filing packet - County of Fresno" in text
    for label, count in (
        ("Court cases (one proposed order each)", 5),
        ("Convictions granted relief", 6),
        ("to dismiss and seal", 5),
        ("to reduce", 1),
        ("Granted, but no court case number (on the worklist)", 1),
        ("Hand-review worklist lines", 3),
    ):
        assert f"{label} {count}" in text, label
    assert "orders/order_M20-9.pdf" in text


def test_worklist_holds_review_determinations_flags_and_missing_case_numbers(built: Path):
    rows = read_csv(built / WORKLIST)
    assert rows[0] == list(WORKLIST_HEADER)
    got = [(r[0], r[1], r[2], r[9], r[12], r[13], r[14], r[15]) for r in rows[1:]]
    assert got == [
        ("Not eligible: Occurred after 11/09/2016", "F17-5", 'ÑÚÑEZ, JOSÉ "JO"', NOT_ELIGIBLE,
         "", "fp-6", "extract.csv", "6"),
        ("Relief granted, but the DOJ record has no court case number: find the case", "",
         OBRIEN_CSV, "Eligible for Dismissal", "", "fp-7", "extract.csv", "7"),
        ("Possible other Prop 64 charge in the comment text", "", OBRIEN_CSV, "",
         "11359 HS-POSSESS FOR SALE", "fp-8", "extract.csv", "8"),
    ]  # fmt: skip
    # S1's flagged Kern conviction belongs to Kern's worklist, not Fresno's.
    assert "fp-4" not in {r[13] for r in rows[1:]}


def test_packet_files_are_owner_only(built: Path):
    assert stat.S_IMODE(built.stat().st_mode) == 0o700
    assert stat.S_IMODE((built / ORDERS).stat().st_mode) == 0o700
    files = [p for p in built.rglob("*") if p.is_file()]
    assert len(files) == 4 + 5
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}


def test_packet_of_an_older_version_lists_that_versions_convictions(
    warehouse: Path, tmp_path: Path
):
    result = packet(warehouse, "fresno", tmp_path / "old", version=0)
    assert (result.version, result.run_id, result.granted, result.cases) == (0, "run-1", 2, 2)
    rows = read_csv(tmp_path / "old" / BULK_MOTION)
    assert [r[0] for r in rows[1:]] == ["F10-001", "M12-777"]


def test_packet_never_reads_another_countys_table(warehouse: Path, tmp_path: Path):
    for file in (warehouse / "counties" / "kern").rglob("*"):
        if file.is_file():
            file.write_bytes(b"not a delta table")
    result = packet(warehouse, "fresno", tmp_path / "p")
    assert result.granted == 6


def test_packet_of_a_county_without_a_table_says_so(warehouse: Path, tmp_path: Path):
    with pytest.raises(PullError, match="Inyo has no county table"):
        packet(warehouse, "inyo", tmp_path / "p")


def test_packet_command_runs_without_java(warehouse: Path, tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "jobs.county.cli", "packet", "--warehouse", str(warehouse),
         "--county", "FRESNO", "--out", str(tmp_path / "p")],
        cwd=ROOT, env=_no_java_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "6 convictions granted relief (5 dismiss, 1 reduce) in 5 cases" in done.stdout
    assert (tmp_path / "p" / COVER_SHEET).is_file()


def test_display_date_shows_what_a_partial_date_knows():
    assert display_date(dt.date(2015, 3, 4), dt.date(2015, 3, 4)) == "03/04/2015"
    assert display_date(dt.date(2015, 1, 1), dt.date(2015, 12, 31)) == "2015"
    assert display_date(dt.date(2015, 2, 1), dt.date(2015, 2, 28)) == "02/2015"
    assert display_date(None, None) == ""


def test_names_beyond_latin1_render_with_an_embedded_unicode_font(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from tests.test_county import SUBJECTS

    monkeypatch.setitem(SUBJECTS["S4"], "name", "NGUYỄN, VĂN")
    root = tmp_path / "warehouse"
    write_county(root, "fresno", fresno_rows(), "run-1")
    packet(root, "fresno", tmp_path / "p")
    text = pdf_text(tmp_path / "p" / ORDERS / "order_M20-9.pdf")
    assert "PEOPLE OF THE STATE OF CALIFORNIA v. NGUYỄN, VĂN" in text
    assert "NGUYỄN, VĂN" in pdf_text(tmp_path / "p" / COVER_SHEET)
