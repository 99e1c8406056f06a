"""Filing packet (jobs/county/packet.py): bulk motion, one proposed order per case, index, cover
sheet and hand-review worklist, from the county's table alone and without Java."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader
from typer.testing import CliRunner

from relief.jobs.county.cli import app as county_app
from relief.jobs.county.packet import (
    BULK_HEADER,
    BULK_MOTION,
    COVER_SHEET,
    INDEX_CSV,
    INDEX_HEADER,
    MERGED_ORDERS,
    ORDERS,
    WORKLIST,
    WORKLIST_HEADER,
    OrderFiles,
    caption_name,
    display_date,
    order_file_name,
    packet,
)
from relief.jobs.county.pull import PullError
from tests.helpers.county_tables import fresno_rows, no_java_env, write_county
from tests.helpers.ledger_rows import publish

ROOT = Path(__file__).resolve().parent.parent
E = "H&S 11361.9; 11361.8(e)"
A = "H&S 11361.9; 11361.8(a)"
DISMISS = "Dismiss and seal"
NOT_ELIGIBLE = "Not eligible"
# A name a spreadsheet would evaluate, as every CSV writes it (jobs/county/csv.py formula_safe).
OBRIEN_CSV = "'=O'BRIEN, PAT"


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    root = tmp_path / "warehouse"
    write_county(root, "fresno", fresno_rows()[:3], "run-1")
    write_county(root, "fresno", fresno_rows(), "run-2")
    write_county(root, "kern", fresno_rows()[3:4], "run-2")
    publish(root, "run-2", {"fresno": 1, "kern": 0})  # readers serve what the ledger names
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
        "PEOPLE OF THE STATE OF CALIFORNIA v. JOHN DOE",  # caption: FIRST LAST
        "DOJ record name: DOE, JOHN",  # the DOJ form, as the record has it
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
        "Case F10-001 - Page 1 of 1",
    ):
        assert fact in text, fact
    # The other case of the same defendant is in its own order.
    assert "11357(c) HS" not in text and "M12-777" not in text


def test_order_renders_accented_names_and_the_serving_sentence_statute(built: Path):
    text = pdf_text(built / ORDERS / "order_F15-010-F15-011.pdf")
    assert 'PEOPLE OF THE STATE OF CALIFORNIA v. JOSÉ "JO" ÑÚÑEZ' in text
    assert 'DOJ record name: ÑÚÑEZ, JOSÉ "JO"' in text
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
        [sys.executable, "-m", "relief.jobs.county.cli", "packet", "--warehouse", str(warehouse),
         "--county", "FRESNO", "--out", str(tmp_path / "p")],
        cwd=ROOT, env=no_java_env(), capture_output=True, text=True, timeout=120, check=False,
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
    from tests.helpers.county_tables import SUBJECTS

    monkeypatch.setitem(SUBJECTS["S4"], "name", "NGUYỄN, VĂN")
    root = tmp_path / "warehouse"
    write_county(root, "fresno", fresno_rows(), "run-1")
    publish(root, "run-1", {"fresno": 0})
    packet(root, "fresno", tmp_path / "p")
    text = pdf_text(tmp_path / "p" / ORDERS / "order_M20-9.pdf")
    assert "PEOPLE OF THE STATE OF CALIFORNIA v. VĂN NGUYỄN" in text
    assert "NGUYỄN, VĂN" in pdf_text(tmp_path / "p" / COVER_SHEET)


# --- captions, the DA office, fonts, page numbers, metadata, the merged file (#17.6) --------


@pytest.mark.parametrize(
    ("doj", "caption"),
    [
        ("ABARCA,KEVIN", "KEVIN ABARCA"),
        ("DOE, JOHN", "JOHN DOE"),
        ("SMITH,JOHN PAUL,JR", "JOHN PAUL SMITH JR"),
        (" LEE, ANN", "ANN LEE"),
        ("MADONNA", "MADONNA"),
        ("DOE,", "DOE,"),
        ("", ""),
    ],
)
def test_caption_names_read_first_last(doj: str, caption: str):
    assert caption_name(doj) == caption


OFFICE = {
    "fresno": {
        "attorney": "Jane Q. Example",
        "bar_number": "123456",
        "address": ["1234 Example Street, Suite 100", "Fresno, CA 93721"],
        "phone": "(559) 555-0100",
        "email": "prop64@example.org",
    }
}


def conf_with_offices(tmp_path: Path, offices: object) -> Path:
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    (conf / "offices.yaml").write_text(yaml.safe_dump({"offices": offices}), encoding="utf-8")
    return conf


def test_orders_carry_the_da_office_block_from_conf(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("RELIEF_CONF", str(conf_with_offices(tmp_path, OFFICE)))
    result = packet(warehouse, "fresno", tmp_path / "p")
    assert result.office_configured
    text = pdf_text(tmp_path / "p" / ORDERS / "order_F10-001.pdf")
    assert (
        "Jane Q. Example, District Attorney (SBN 123456) Office of the District Attorney, "
        "County of Fresno 1234 Example Street, Suite 100 Fresno, CA 93721 "
        "Telephone: (559) 555-0100 prop64@example.org "
        "Attorney for the People of the State of California"
    ) in text
    author = PdfReader(tmp_path / "p" / ORDERS / "order_F10-001.pdf").metadata.author
    assert author == "Office of the District Attorney, County of Fresno"


def test_a_county_without_an_office_gets_placeholders_to_fill_in(built: Path):
    text = pdf_text(built / ORDERS / "order_F10-001.pdf")
    assert (
        "[Name], District Attorney (SBN [State Bar number]) Office of the District Attorney, "
        "County of Fresno [Street address] [City], CA [ZIP code] Telephone: [number]"
    ) in text
    assert "add this county to conf/offices.yaml (key fresno)" in pdf_text(built / COVER_SHEET)


@pytest.mark.parametrize(
    ("offices", "message"),
    [
        ({"fresno": {**OFFICE["fresno"], "bar_number": "SBN-12"}},
         "offices.fresno.bar_number: Value error, bar_number 'SBN-12' must be the State Bar "
         "number, digits only"),
        ({"fresnoo": OFFICE["fresno"]},
         "offices.fresnoo: not a county slug of counties.yaml (did you mean fresno?)"),
        ({"fresno": {**OFFICE["fresno"], "fax": "1"}}, "offices.fresno.fax: Extra inputs"),
    ],
)  # fmt: skip
def test_a_bad_offices_file_is_bad_configuration_naming_the_field(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offices: object,
    message: str,
):  # fmt: skip
    monkeypatch.setenv("RELIEF_CONF", str(conf_with_offices(tmp_path, offices)))
    args = ["packet", "--warehouse", str(warehouse), "--county", "fresno", "--out",
            str(tmp_path / "p")]  # fmt: skip
    result = CliRunner().invoke(county_app, args)
    assert result.exit_code == 2
    assert result.output.startswith(f"relief: {tmp_path / 'conf' / 'offices.yaml'}")
    assert message in result.output
    assert not (tmp_path / "p").exists()


def test_pdfs_embed_their_fonts_and_carry_title_and_author(built: Path):
    for path in [built / COVER_SHEET, *sorted((built / ORDERS).iterdir())]:
        reader = PdfReader(path)
        fonts = [
            font.get_object()
            for page in reader.pages
            for font in page["/Resources"]["/Font"].values()
        ]
        assert fonts, path.name
        for font in fonts:
            descendant = font["/DescendantFonts"][0].get_object()
            assert "DejaVuSans" in str(font["/BaseFont"]), path.name
            assert "/FontFile2" in descendant["/FontDescriptor"], path.name  # embedded
        assert reader.metadata.author == "Office of the District Attorney, County of Fresno"
    meta = PdfReader(built / ORDERS / "order_F15-010-F15-011.pdf").metadata
    assert meta.title == "[Proposed] order, Proposition 64 - Fresno County case F15-010; F15-011"
    assert PdfReader(built / COVER_SHEET).metadata.title == (
        "Proposition 64 filing packet - Fresno County"
    )


def long_case_rows(counts: int) -> list[dict[str, object]]:
    """S1 with ``counts`` granted 11357 counts in one court case (a multi-page order)."""
    from tests.helpers.county_tables import D, day, row

    return [
        row(100 + n, "S1", offense="11357 HS-POSSESS", section="11357", code_section="11357 HS",
            convicted=day(2011, 1, 1), felony=False, prop64=True, case="BIG-1", determination=D,
            reason="Misdemeanor or Infraction", rule="misdemeanor",
            cnt_order=f"009001{n + 1:03d}000")
        for n in range(counts)
    ]  # fmt: skip


def test_every_page_of_an_order_is_numbered_within_its_case(tmp_path: Path):
    root = tmp_path / "warehouse"
    write_county(root, "fresno", fresno_rows() + long_case_rows(60), "run-1")
    packet(root, "fresno", tmp_path / "p")
    reader = PdfReader(tmp_path / "p" / ORDERS / "order_BIG-1.pdf")
    pages = len(reader.pages)
    assert pages >= 2
    for number, page in enumerate(reader.pages, start=1):
        assert f"Case BIG-1 - Page {number} of {pages}" in page.extract_text()
    cover = PdfReader(tmp_path / "p" / COVER_SHEET)
    assert f"Page 1 of {len(cover.pages)}" in cover.pages[0].extract_text()


def test_merged_file_holds_every_order_with_a_bookmark_and_its_own_page_numbers(tmp_path: Path):
    root = tmp_path / "warehouse"
    write_county(root, "fresno", fresno_rows() + long_case_rows(60), "run-1")
    result = packet(root, "fresno", tmp_path / "p", orders=OrderFiles.BOTH)
    merged = PdfReader(tmp_path / "p" / MERGED_ORDERS)
    outline = [(item.title, merged.get_destination_page_number(item)) for item in merged.outline]
    cases = ["BIG-1", "F05-1", "F10-001", "F15-010; F15-011", "M12-777", "M20-9"]
    assert [title.split(" - ")[0] for title, _ in outline] == cases
    assert outline[2][0] == "F10-001 - JOHN DOE"
    singles = {c: PdfReader(tmp_path / "p" / ORDERS / order_file_name(c, set())) for c in cases}
    assert len(merged.pages) == sum(len(r.pages) for r in singles.values())
    for (title, first), following in zip(outline, [*[p for _, p in outline[1:]], None],
                                         strict=True):  # fmt: skip
        case = title.split(" - ")[0]
        pages = len(singles[case].pages)
        assert (following or len(merged.pages)) - first == pages
        for number in range(1, pages + 1):
            text = merged.pages[first + number - 1].extract_text()
            assert f"Case {case} - Page {number} of {pages}" in text
        # The same order as the case's own file, page for page.
        assert merged.pages[first].extract_text() == singles[case].pages[0].extract_text()
    assert (tmp_path / "p" / MERGED_ORDERS) in result.files


def test_merged_only_writes_no_order_files_and_indexes_pages_of_the_merged_file(
    warehouse: Path, tmp_path: Path
):
    result = CliRunner().invoke(county_app, ["packet", "--warehouse", str(warehouse),
                                             "--county", "fresno", "--out", str(tmp_path / "p"),
                                             "--merged-only"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "p" / ORDERS).exists()
    rows = read_csv(tmp_path / "p" / INDEX_CSV)
    assert [r[6] for r in rows[1:]] == [f"{MERGED_ORDERS} (page {n})" for n in range(1, 6)]
    assert len(PdfReader(tmp_path / "p" / MERGED_ORDERS).pages) == 5
    assert f"{MERGED_ORDERS} (every proposed order in one file" in pdf_text(
        tmp_path / "p" / COVER_SHEET
    )
    both = CliRunner().invoke(county_app, ["packet", "--warehouse", str(warehouse), "--county",
                                           "fresno", "--out", str(tmp_path / "q"), "--merged",
                                           "--merged-only"])  # fmt: skip
    assert both.exit_code == 2
    assert both.output == "relief: give --merged or --merged-only, not both\n"
