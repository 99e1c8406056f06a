"""The filing packet for a county's court, from the county's table alone (no Spark, no Java).

``relief county packet --warehouse DIR --county NAME --out DIR`` writes into DIR:

- ``bulk_motion.csv``: one row per conviction granted relief (Eligible for Dismissal or
  Reduction), grouped by court case number: case number(s), defendant name, DOB, CII number,
  count, code section, conviction date, felony/misdemeanor, relief, statute, policy rule,
  reason, and relief's record id (for ``relief audit explain``).
- ``orders/<case>.pdf``: one proposed order per court case, modelled on the Judicial Council's
  Prop 64 form CR-400 (Petition/Application, Health and Safety Code § 11361.8) and its order:
  caption, defendant, each count with its relief and statute, the order's terms, and a
  signature block for the judge. It is a draft for the court, not a Judicial Council form.
- ``index.csv`` and ``cover_sheet.pdf``: every case with its order file and counts, and the
  packet's totals and provenance (table version, run, compute-at).
- ``hand_review_worklist.csv``: every conviction of the county determined Hand Review, Not
  eligible or To be reviewed by City Attorneys, every row of the county carrying a "Possible
  Other P64 Charges" flag, and every granted conviction without a court case number, each
  with the reason it needs a person.

Which statute. AB 1793 (2018) added H&S § 11361.9: DOJ identifies the convictions eligible for
"recall or dismissal of sentence, dismissal and sealing, or redesignation pursuant to
Section 11361.8", the prosecution reviews them, and the court then grants that relief
"pursuant to Section 11361.8" -- the automatic route this packet serves. Within § 11361.8 the
relief depends on where the person is: subdivisions (a)-(b) cover people *currently serving*
a sentence (petition to recall or dismiss the sentence), (e)-(f) people who *completed* it
(application to dismiss and seal or to redesignate), the two boxes of CR-400. So every row
cites ``H&S 11361.9`` (the route) with the § 11361.8 subdivision of its relief:
``H&S 11361.9; 11361.8(a)`` when the conviction's sentence certainly ends after compute-at
(history's sentence_end_date, its earliest possible day), else ``H&S 11361.9; 11361.8(e)``,
the usual case for these old convictions. A sentence end that a blank date hides also gets
(e): the court's own record shows the sentence, and a person can change the cite.

Relief wording: Dismissal -> "Dismiss and seal"; Reduction of a felony -> "Reduce to
misdemeanor", of a non-felony -> "Reduce to infraction" (§ 11361.8(e): "redesignated as a
misdemeanor or infraction").

Privacy: only the county's own table is read (jobs/warehouse/snapshots.py); the packet carries
the fields a filing needs; files are 0600 and created directories 0700. Text is rendered with
DejaVuSans (shipped with matplotlib) so accented names print; a glyph DejaVu lacks (e.g. CJK) is
left out of the PDF but kept in the CSVs. CSVs are UTF-8 with a byte-order mark so Excel opens
accented names correctly.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc

from relief.jobs.config.offices import Office, load_offices, office_lines, office_name
from relief.jobs.county.csv import CsvStyle, rows_table, write_csv
from relief.jobs.county.laws import prop64_snapshot
from relief.jobs.warehouse.access import (
    owner_only,
    private_dir,
    private_file,
    refuse_inside_warehouse,
)
from relief.jobs.warehouse.snapshots import (
    CountySnapshot,
    PullError,
    Readable,
    open_reader,
    open_snapshot,
    resolve_county,
)
from relief.transforms.columns import (
    CASE_NUMBERS,
    CII_NUMBER,
    CNT_ORDER,
    CODE_SECTION,
    CODE_SECTION_TEXT,
    CONV_STAT_DESCR,
    CONVICTION_DATE,
    COUNT_ORDER,
    COUNTY_SLUG,
    DETERMINATION,
    DOB,
    IS_CANDIDATE,
    IS_FELONY,
    OFFENSE_DESCR,
    POSSIBLE_OTHER_P64,
    PRI_DOB,
    PRI_NAME,
    REASON,
    RECORD_ID,
    RULE_ID,
    SENTENCE_END,
    SOURCE_FILE,
    SOURCE_LINE,
    SUBJECT,
    SUBJECT_ID,
    date_latest,
    stored_name,
)
from relief.transforms.policy import Determination
from relief.transforms.vocabulary import Counties, County

BULK_MOTION = "bulk_motion.csv"
INDEX_CSV = "index.csv"
COVER_SHEET = "cover_sheet.pdf"
WORKLIST = "hand_review_worklist.csv"
ORDERS = "orders"
MERGED_ORDERS = "orders_merged.pdf"
SKIPPED_CASES = "skipped_cases.csv"
SKIPPED_HEADER = ["Case number(s)", "Convictions", "Why it is not in the packet"]
# The longest value a packet prints in a cell: a DOJ name or charge is tens of characters; a
# value thousands long (a corrupted field) cannot be laid out on a page, and its case is
# skipped and listed rather than sinking every other case's order.
LAYOUT_LIMIT = 1000

DISMISS = "Dismiss and seal"
REDUCE_FELONY = "Reduce to misdemeanor"
REDUCE_OTHER = "Reduce to infraction"
STATUTE_COMPLETED = "H&S 11361.9; 11361.8(e)"
STATUTE_SERVING = "H&S 11361.9; 11361.8(a)"

GRANTED = (Determination.DISMISSAL.value, Determination.REDUCTION.value)
FOR_REVIEW = (
    Determination.HAND_REVIEW.value,
    Determination.NOT_ELIGIBLE.value,
    Determination.CITY_ATTORNEY_REVIEW.value,
)
WHY_POSSIBLE_OTHER = "Possible other Prop 64 charge in the comment text"
WHY_NO_CASE = "Relief granted, but the DOJ record has no court case number: find the case"

BULK_HEADER = (
    "Case Number(s)", "Defendant Name", "Date of Birth", "CII Number", "Count", "Code Section",
    "Conviction Date", "Felony/Misdemeanor", "Relief", "Statute", "Policy Rule", "Reason",
    "Record ID",
)  # fmt: skip
INDEX_HEADER = (
    "Case Number(s)", "Defendant(s)", "CII Number(s)", "Counts", "Dismissals", "Reductions",
    "Order PDF",
)  # fmt: skip
WORKLIST_HEADER = (
    "Why", "Case Number(s)", "Defendant Name", "Date of Birth", "CII Number", "Count",
    "Code Section", "Conviction Date", "Felony/Misdemeanor", "Determination", "Reason",
    "Policy Rule", "Possible Other P64 Charges", "Record ID", "Source File", "Source Line",
)  # fmt: skip


# --- facts of a conviction as a filing shows them -------------------------------------------


def display_date(earliest: dt.date | None, latest: dt.date | None = None) -> str:
    """MM/DD/YYYY; a partial date as MM/YYYY or YYYY; '' when unknown."""
    if earliest is None:
        return ""
    if latest is None or latest == earliest:
        return f"{earliest.month:02d}/{earliest.day:02d}/{earliest.year:04d}"
    if (
        earliest.year == latest.year
        and (earliest.month, earliest.day) == (1, 1)
        and (
            latest.month,
            latest.day,
        )
        == (12, 31)
    ):
        return f"{earliest.year:04d}"
    if (earliest.year, earliest.month) == (latest.year, latest.month):
        return f"{earliest.month:02d}/{earliest.year:04d}"
    return f"{display_date(earliest)}-{display_date(latest)}"


def _raw_date(text: str | None) -> str:
    """A DOJ YYYYMMDD text (possibly partial) for display when no parsed date exists."""
    value = (text or "").strip()
    if re.fullmatch(r"\d{8}", value):
        year, month, day = value[:4], value[4:6], value[6:]
        if month == "00":
            return year
        if day == "00":
            return f"{month}/{year}"
        return f"{month}/{day}/{year}"
    return value


def count_number(cnt_order: str | None) -> str:
    """The count within its cycle and step: digits 7-9 of CNT_ORDER (DOMAIN.md §1)."""
    value = (cnt_order or "").strip()
    if re.fullmatch(r"\d{12}", value):
        return str(int(value[6:9]))
    return ""


def level(felony: bool | None, conv_stat: str | None) -> str:
    if felony:
        return "Felony"
    if (conv_stat or "").strip().upper() == "INFRACTION":
        return "Infraction"
    return "Misdemeanor"


def relief_for(determination: str | None, felony: bool | None) -> str:
    if determination == Determination.DISMISSAL.value:
        return DISMISS
    if determination == Determination.REDUCTION.value:
        return REDUCE_FELONY if felony else REDUCE_OTHER
    return ""


def statute_for(sentence_end: dt.date | None, compute_at: dt.date) -> str:
    """§ 11361.8(a) when the sentence certainly runs past compute-at, else (e)."""
    if sentence_end is not None and sentence_end > compute_at:
        return STATUTE_SERVING
    return STATUTE_COMPLETED


@dataclass(frozen=True)
class Conviction:
    """One conviction row of the county table, as a filing shows it."""

    case_numbers: str
    subject: str
    defendant: str
    dob: str
    cii: str
    count: str
    code_section: str
    conviction_date: str
    conviction_day: dt.date | None
    felony: bool
    level: str
    determination: str
    reason: str
    rule_id: str
    relief: str
    statute: str
    possible_other_p64: str
    record_id: str
    source_file: str
    source_line: str

    def bulk_row(self) -> list[str]:
        return [
            self.case_numbers, self.defendant, self.dob, self.cii, self.count,
            self.code_section, self.conviction_date, self.level, self.relief, self.statute,
            self.rule_id, self.reason, self.record_id,
        ]  # fmt: skip

    def sort_key(self) -> tuple[Any, ...]:
        return (
            self.case_numbers == "",
            self.case_numbers,
            self.defendant,
            self.subject,
            self.conviction_day or dt.date.min,
            int(self.count) if self.count.isdigit() else 0,
            self.record_id,
        )


# DOJ columns by their stored names (transforms/columns.py stored_name).
_NAME, _DOB_TEXT, _CII = stored_name(PRI_NAME), stored_name(PRI_DOB), stored_name(CII_NUMBER)
_CNT, _CONV_STAT = stored_name(CNT_ORDER), stored_name(CONV_STAT_DESCR)
_OFFENSE, _SUBJECT_ID = stored_name(OFFENSE_DESCR), stored_name(SUBJECT_ID)
_FACT_COLUMNS = (
    CASE_NUMBERS, SUBJECT, _SUBJECT_ID, _NAME, DOB, date_latest(DOB), _DOB_TEXT, _CII,
    COUNT_ORDER, _CNT, CODE_SECTION, CODE_SECTION_TEXT, _OFFENSE, CONVICTION_DATE,
    date_latest(CONVICTION_DATE), IS_FELONY, _CONV_STAT, DETERMINATION, REASON, RULE_ID,
    SENTENCE_END, POSSIBLE_OTHER_P64, RECORD_ID, SOURCE_FILE, SOURCE_LINE,
)  # fmt: skip


def _text(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def conviction_from_row(row: Mapping[str, Any], compute_at: dt.date) -> Conviction:
    felony = bool(row.get(IS_FELONY))
    determination = _text(row, DETERMINATION)
    dob = display_date(row.get(DOB), row.get(date_latest(DOB))) or _raw_date(row.get(_DOB_TEXT))
    code_section = _text(row, CODE_SECTION) or _text(row, CODE_SECTION_TEXT)
    return Conviction(
        case_numbers=_text(row, CASE_NUMBERS),
        # A table may hold relief's subject_id or the DOJ's SUBJECT_ID (delta-rs refuses
        # names that differ only in case).
        subject=_text(row, SUBJECT) or _text(row, _SUBJECT_ID),
        defendant=_text(row, _NAME),
        dob=dob,
        cii=_text(row, _CII),
        count=count_number(row.get(COUNT_ORDER) or row.get(_CNT)),
        code_section=code_section or _text(row, _OFFENSE),
        conviction_date=display_date(
            row.get(CONVICTION_DATE), row.get(date_latest(CONVICTION_DATE))
        ),
        conviction_day=row.get(CONVICTION_DATE),
        felony=felony,
        level=level(felony, row.get(_CONV_STAT)),
        determination=determination,
        reason=_text(row, REASON),
        rule_id=_text(row, RULE_ID),
        relief=relief_for(determination, felony),
        statute=statute_for(row.get(SENTENCE_END), compute_at),
        possible_other_p64=_text(row, POSSIBLE_OTHER_P64),
        record_id=_text(row, RECORD_ID),
        source_file=_text(row, SOURCE_FILE),
        source_line=_text(row, SOURCE_LINE),
    )


def _rows(table: pa.Table, mask: pa.ChunkedArray | pa.Array) -> list[dict[str, Any]]:
    present = [c for c in _FACT_COLUMNS if c in table.column_names]
    return table.select(present).filter(mask).to_pylist()


def _candidates_mask(table: pa.Table) -> pa.ChunkedArray:
    return pc.fill_null(table[IS_CANDIDATE], False)


def granted_convictions(table: pa.Table, compute_at: dt.date) -> list[Conviction]:
    """The county's convictions determined Dismissal or Reduction, in filing order."""
    mask = pc.and_(
        _candidates_mask(table),
        pc.fill_null(pc.is_in(table[DETERMINATION], pa.array(GRANTED)), False),
    )
    convictions = [conviction_from_row(r, compute_at) for r in _rows(table, mask)]
    return sorted(convictions, key=Conviction.sort_key)


def by_case(convictions: Iterable[Conviction]) -> dict[str, list[Conviction]]:
    """Convictions grouped by their court case number(s); those without one are left out."""
    cases: dict[str, list[Conviction]] = {}
    for conviction in convictions:
        if conviction.case_numbers:
            cases.setdefault(conviction.case_numbers, []).append(conviction)
    return {k: sorted(cases[k], key=Conviction.sort_key) for k in sorted(cases)}


@dataclass(frozen=True)
class WorkItem:
    why: str
    conviction: Conviction

    def row(self) -> list[str]:
        c = self.conviction
        return [
            self.why, c.case_numbers, c.defendant, c.dob, c.cii, c.count, c.code_section,
            c.conviction_date, c.level, c.determination, c.reason, c.rule_id,
            c.possible_other_p64, c.record_id, c.source_file, c.source_line,
        ]  # fmt: skip


def worklist(table: pa.Table, county_slug: str, compute_at: dt.date) -> list[WorkItem]:
    """Everything a person must look at before filing, one line per row, with why."""
    candidates = _candidates_mask(table)
    for_review = pc.and_(
        candidates, pc.fill_null(pc.is_in(table[DETERMINATION], pa.array(FOR_REVIEW)), False)
    )
    granted = pc.and_(
        candidates, pc.fill_null(pc.is_in(table[DETERMINATION], pa.array(GRANTED)), False)
    )
    no_case = pc.and_(
        granted,
        pc.fill_null(pc.equal(pc.utf8_trim_whitespace(table[CASE_NUMBERS]), ""), True),
    )
    flagged = pc.fill_null(
        pc.not_equal(pc.utf8_trim_whitespace(table[POSSIBLE_OTHER_P64]), ""), False
    )
    in_county = pc.or_(candidates, pc.fill_null(pc.equal(table[COUNTY_SLUG], county_slug), False))
    flagged = pc.and_(flagged, in_county)
    mask = pc.or_(pc.or_(for_review, no_case), flagged)
    items: list[WorkItem] = []
    for row in _rows(table, mask):
        conviction = conviction_from_row(row, compute_at)
        reasons = []
        if conviction.determination in FOR_REVIEW:
            reasons.append(f"{conviction.determination}: {conviction.reason}")
        if conviction.determination in GRANTED and not conviction.case_numbers:
            reasons.append(WHY_NO_CASE)
        if conviction.possible_other_p64:
            reasons.append(WHY_POSSIBLE_OTHER)
        items.append(WorkItem("; ".join(reasons), conviction))
    return sorted(items, key=lambda item: item.conviction.sort_key())


# --- PDF -------------------------------------------------------------------------------------

FONT_FAMILY = "DejaVu"
FONT_PACKAGE = "relief.jobs.county.fonts"  # DejaVu Sans 2.35, shipped with relief (fonts/LICENSE)
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
# Always in the packet's fonts, whatever the texts: ASCII, Latin-1, Latin Extended-A/B,
# general punctuation (dashes, quotes, ellipsis), the euro sign.
_BASE_CHARACTERS = frozenset(
    [*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x2010, 0x2028), 0x20AC]
)


def font_files() -> tuple[Path, Path]:
    """DejaVu Sans regular and bold, shipped with relief: embedded (as subsets) in every PDF,
    so any accented name prints and e-filing portals that reject unembedded fonts accept it."""
    folder = resources.files(FONT_PACKAGE)
    regular, bold = (Path(str(folder / name)) for name in FONT_FILES)
    return regular, bold


def packet_fonts(texts: Iterable[str], folder: Path) -> tuple[Path, Path]:
    """The shipped fonts cut down to the characters a packet prints, written into ``folder``.

    fpdf2 parses a font for every document, and DejaVu Sans (6,000 glyphs) costs ~150 ms a
    parse: a few hundred glyphs parse in ~12 ms, so thousands of one-case orders take
    minutes less. Every PDF still embeds (a subset of) DejaVu Sans."""
    from fontTools import subset

    characters = set(_BASE_CHARACTERS)
    for text in texts:
        characters.update(ord(c) for c in text)
    options = subset.Options()
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.layout_features = []  # fpdf2 does no text shaping here: no GSUB/GPOS needed
    options.hinting = False
    options.drop_tables += ["FFTM", "GDEF", "GPOS", "GSUB", "kern"]
    written = []
    for source in font_files():
        font = subset.load_font(str(source), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(characters))
        subsetter.subset(font)
        target = folder / source.name
        subset.save_font(font, str(target), options)
        written.append(target)
    return written[0], written[1]


def caption_name(doj_name: str) -> str:
    """A DOJ name (LAST,FIRST MIDDLE[,SUFFIX]) as a caption writes it: FIRST MIDDLE LAST
    [SUFFIX]. ``ABARCA,KEVIN`` -> ``KEVIN ABARCA``; a name without a comma stays as it is."""
    parts = [p.strip() for p in doj_name.split(",")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return " ".join(doj_name.split())
    last, first, *rest = parts
    return " ".join(" ".join([first, last, *rest]).split())


NO_NAME = "(name not in the record)"


@dataclass
class _Section:
    """What a page's footer says: the case, and its page i of n."""

    label: str
    first_page: int
    pages: int | None  # None: the document's own page total


_PARAGRAPH_LINES: dict[tuple[str, float, bool, str, float], list[str]] = {}


class _Document:
    """An fpdf2 letter-size document in embedded DejaVu Sans, with a page footer."""

    def __init__(self, created: dt.datetime | None, title: str, author: str,
                 fonts: tuple[Path, Path] | None = None) -> None:  # fmt: skip
        import logging

        from fpdf import FPDF

        # fpdf2 and fontTools log every glyph a font lacks; the CSVs keep the full text.
        for name in ("fpdf", "fontTools"):
            logging.getLogger(name).setLevel(logging.ERROR)
        document = self

        class _PDF(FPDF):
            def footer(self) -> None:
                document.footer()

        self.pdf = _PDF(orientation="portrait", unit="mm", format="letter")
        self.section: _Section | None = None
        self.pdf.set_margins(18, 16, 18)
        self.pdf.set_auto_page_break(auto=True, margin=18)
        if created is not None:
            self.pdf.set_creation_date(created)
        self.pdf.set_title(title)
        self.pdf.set_author(author)
        self.pdf.set_creator("relief (Proposition 64 record clearance)")
        self.pdf.set_lang("en-US")
        regular, bold = fonts or font_files()
        self.pdf.add_font(FONT_FAMILY, "", str(regular))
        self.pdf.add_font(FONT_FAMILY, "B", str(bold))
        self.pdf.set_font(FONT_FAMILY, size=10)

    def footer(self) -> None:
        pdf = self.pdf
        pdf.set_y(-13)
        pdf.set_font(FONT_FAMILY, size=8)
        section = self.section
        if section is None:
            text = f"Page {pdf.page_no()} of {{nb}}"
        else:
            page = pdf.page_no() - section.first_page + 1
            total = "{nb}" if section.pages is None else str(section.pages)
            text = f"{section.label} - Page {page} of {total}"
        pdf.cell(0, 5, text, align="C")

    def new_page(self, label: str | None = None, pages: int | None = None) -> None:
        """A page; with ``label``, the first page of a section numbered on its own."""
        self.pdf.add_page()  # renders the previous page's footer with the previous section
        if label is not None:
            self.section = _Section(label, self.pdf.page_no(), pages)

    def font(self, size: float = 10, bold: bool = False) -> None:
        self.pdf.set_font(FONT_FAMILY, "B" if bold else "", size)

    def line(self, text: str, size: float = 10, bold: bool = False, align: str = "L",
             height: float = 5.5) -> None:  # fmt: skip
        self.font(size, bold)
        self.pdf.multi_cell(0, height, text, align=align, new_x="LMARGIN", new_y="NEXT")

    def paragraph(self, text: str, size: float = 10, bold: bool = False, align: str = "L",
                  height: float = 5.5) -> None:  # fmt: skip
        """:meth:`line` for text every order repeats: its line breaks are worked out once per
        process (fpdf2 measures text glyph by glyph; thousands of orders add up)."""
        key = (text, size, bold, align, self.pdf.epw)
        self.font(size, bold)
        if key not in _PARAGRAPH_LINES:
            broken = self.pdf.multi_cell(0, height, text, align=align, dry_run=True,
                                         output="LINES")  # fmt: skip
            _PARAGRAPH_LINES[key] = cast(list[str], broken)
        for text_line in _PARAGRAPH_LINES[key]:
            self.pdf.cell(0, height, text_line, align=align, new_x="LMARGIN", new_y="NEXT")

    def gap(self, height: float = 3) -> None:
        self.pdf.ln(height)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]],
              widths: Sequence[float], size: float = 9) -> None:  # fmt: skip
        from fpdf.fonts import FontFace

        self.font(size)
        with self.pdf.table(
            col_widths=tuple(widths),
            headings_style=FontFace(emphasis="BOLD"),
            line_height=size * 0.5,
            text_align="LEFT",
        ) as table:
            for values in [header, *rows]:
                cells = table.row()
                for value in values:
                    cells.cell(value)

    def save(self, path: Path) -> None:
        with private_file(path) as temporary:
            self.pdf.output(str(temporary))


@dataclass(frozen=True)
class Provenance:
    county: County
    version: int
    run_id: str | None
    compute_at: dt.date
    policy_hash: str | None
    committed: dt.datetime | None

    def line(self) -> str:
        parts = [
            f"county table {self.county.slug} version {self.version}",
            f"run {self.run_id or 'unknown'}",
            f"computed at {self.compute_at.isoformat()}",
        ]
        if self.policy_hash:
            parts.append(f"policy sha256 {self.policy_hash[:12]}")
        return "Prepared by relief from " + ", ".join(parts) + "."


def provenance(snapshot: CountySnapshot) -> Provenance:
    stamp = snapshot.commit.get("timestamp")
    committed = (
        dt.datetime.fromtimestamp(stamp / 1000, tz=dt.UTC) if isinstance(stamp, int) else None
    )
    policy = snapshot.commit.get("policy_hash")
    return Provenance(
        county=snapshot.county,
        version=snapshot.version,
        run_id=snapshot.run_id,
        compute_at=snapshot.require_compute_at(),
        policy_hash=str(policy) if policy else None,
        committed=committed,
    )


def _defendants(convictions: Sequence[Conviction]) -> list[Conviction]:
    """One conviction per defendant (subject), first seen first."""
    seen: dict[str, Conviction] = {}
    for conviction in convictions:
        seen.setdefault(conviction.subject or conviction.defendant, conviction)
    return list(seen.values())


def case_label(case: str) -> str:
    return f"Case {case}"


def order_title(case: str, county: County) -> str:
    return f"[Proposed] order, Proposition 64 - {county.name.title()} County case {case}"


def render_order(doc: _Document, case: str, convictions: Sequence[Conviction],
                 source: Provenance, office: Office | None, pages: int | None = None,
                 bookmark: bool = False) -> None:  # fmt: skip
    """A proposed order for one court case, modelled on CR-400's order (H&S § 11361.8),
    from a new page of ``doc``, its pages numbered "Case <case> - Page i of n" (``pages``:
    the order's page count, default the document's), with a bookmark if asked."""
    pdf = doc.pdf
    doc.new_page(case_label(case), pages)
    defendants = _defendants(convictions)
    if bookmark:
        names = "; ".join(caption_name(d.defendant) for d in defendants if d.defendant)
        pdf.start_section(f"{case} - {names}" if names else case)
    for number, text in enumerate(office_lines(source.county, office)):
        doc.paragraph(text, size=9, height=4.5, bold=number == 0)
    doc.gap(4)
    doc.paragraph(f"SUPERIOR COURT OF CALIFORNIA, COUNTY OF {source.county.name}", size=12,
                  bold=True, align="C")  # fmt: skip
    doc.gap(2)
    names = "; ".join(caption_name(d.defendant) if d.defendant else NO_NAME for d in defendants)
    doc.line(f"PEOPLE OF THE STATE OF CALIFORNIA v. {names}", bold=True)
    doc.line(f"Case number(s): {case}", bold=True)
    doc.gap(3)
    doc.paragraph("[PROPOSED] ORDER AFTER PETITION/APPLICATION", size=13, bold=True, align="C")
    doc.paragraph("(Health and Safety Code, §§ 11361.8, 11361.9 - Proposition 64)", align="C")
    doc.paragraph(
        "Modelled on Judicial Council form CR-400 (Petition/Application, Health and Safety "
        "Code, § 11361.8) and its order. Not an official Judicial Council form.",
        size=8, align="C",
    )  # fmt: skip
    doc.gap(4)
    for d in defendants:
        doc.line(
            f"Defendant: {caption_name(d.defendant) if d.defendant else NO_NAME}    "
            f"DOJ record name: {d.defendant or 'none'}"
        )
        doc.line(f"Date of birth: {d.dob or 'unknown'}    CII number: {d.cii or 'unknown'}")
    doc.gap(2)
    doc.paragraph(
        "The California Department of Justice identified the conviction(s) below as eligible "
        "for recall or dismissal of sentence, dismissal and sealing, or redesignation under "
        "Health and Safety Code section 11361.8 (§ 11361.9, subd. (a)). The prosecution has "
        "reviewed the record and does not challenge the relief listed. The court finds the "
        "defendant eligible and ORDERS the relief listed for each count:"
    )
    doc.gap(2)
    multiple = len(defendants) > 1
    header = ["Count", "Code section", "Convicted", "Level", "Relief ordered", "Statute"]
    # Millimetres of the 180 between margins, wide enough for "Misdemeanor", "Reduce to
    # misdemeanor" and "H&S 11361.9; 11361.8(e)" in DejaVu Sans 9 pt on one line.
    widths = [13, 30, 23, 26, 43, 44]
    if multiple:
        header = ["Defendant", *header]
        widths = [26, 12, 24, 21, 24, 29, 43]
    rows = []
    for c in convictions:
        values = [c.count or "-", c.code_section, c.conviction_date or "unknown", c.level,
                  c.relief, c.statute]  # fmt: skip
        rows.append([c.defendant, *values] if multiple else values)  # the DOJ form, as filed
    doc.table(header, rows, widths)
    doc.gap(3)
    terms = []
    if any(c.relief == DISMISS for c in convictions):
        terms.append(f"Each count marked \"{DISMISS}\" is dismissed and sealed as legally "
                     "invalid (§ 11361.8).")  # fmt: skip
    for relief in (REDUCE_FELONY, REDUCE_OTHER):
        if any(c.relief == relief for c in convictions):
            terms.append(f"Each count marked \"{relief}\" is redesignated accordingly "
                         "(§ 11361.8).")  # fmt: skip
    terms.append(
        "The clerk shall transmit this order to the Department of Justice so that the "
        "defendant's criminal history is updated (§ 11361.9)."
    )
    for number, term in enumerate(terms, start=1):
        doc.paragraph(f"{number}. {term}")
    doc.gap(12)
    if pdf.will_page_break(30):
        doc.new_page()
    doc.paragraph("Date: ______________________          "
                  "________________________________________", size=10)  # fmt: skip
    doc.paragraph(" " * 78 + "JUDICIAL OFFICER OF THE SUPERIOR COURT", size=8)
    doc.gap(8)
    doc.line(source.line(), size=7)


def order_pdf(case: str, convictions: Sequence[Conviction], source: Provenance, path: Path,
              office: Office | None = None,
              fonts: tuple[Path, Path] | None = None) -> int:  # fmt: skip
    """One case's proposed order as its own PDF; returns its number of pages."""
    doc = _Document(source.committed, order_title(case, source.county),
                    office_name(source.county, office), fonts)  # fmt: skip
    render_order(doc, case, convictions, source, office)
    doc.save(path)
    return doc.pdf.pages_count


def merged_orders_pdf(cases: Mapping[str, Sequence[Conviction]], source: Provenance,
                      office: Office | None, path: Path,
                      pages: Mapping[str, int] | None = None,
                      fonts: tuple[Path, Path] | None = None) -> dict[str, int]:  # fmt: skip
    """Every proposed order in one PDF, a bookmark per case, each order's pages numbered
    on their own ("Case X - Page 1 of 2"). ``pages``: each order's page count when known
    (from its own file); otherwise a first layout pass counts them. Returns the page each
    case's order starts on."""
    county = source.county.name.title()
    title = f"[Proposed] orders, Proposition 64 - {county} County ({len(cases):,} cases)"
    author = office_name(source.county, office)
    if pages is None:
        counting = _Document(None, title, author, fonts)
        counted: dict[str, int] = {}
        for case, convictions in cases.items():
            before = counting.pdf.page_no()
            render_order(counting, case, convictions, source, office)
            counted[case] = counting.pdf.page_no() - before
        pages = counted
    doc = _Document(source.committed, title, author, fonts)
    first_pages: dict[str, int] = {}
    for case, convictions in cases.items():
        render_order(doc, case, convictions, source, office, pages=pages[case], bookmark=True)
        first_pages[case] = doc.section.first_page if doc.section else doc.pdf.page_no()
    doc.save(path)
    return first_pages


@dataclass
class PacketResult:
    county: County
    version: int
    run_id: str | None
    granted: int
    dismissals: int
    reductions: int
    cases: int
    without_case_number: int
    worklist: int
    office_configured: bool = False
    files: list[Path] = field(default_factory=list)
    served: str = ""  # which version, and whether it is the published one
    # Cases not laid out: (case, convictions, why); listed in skipped_cases.csv.
    skipped: list[tuple[str, int, str]] = field(default_factory=list)


def cover_pdf(result: PacketResult, source: Provenance, office: Office | None,
              index_rows: Sequence[Sequence[str]], path: Path, per_case: bool = True,
              merged: str | None = None,
              fonts: tuple[Path, Path] | None = None) -> None:  # fmt: skip
    county = source.county.name.title()
    doc = _Document(source.committed, f"Proposition 64 filing packet - {county} County",
                    office_name(source.county, office), fonts)  # fmt: skip
    doc.new_page()
    doc.line(f"Proposition 64 filing packet - County of {county}", size=15, bold=True)
    doc.line(f"Superior Court of California, County of {county}")
    doc.gap(3)
    for number, text in enumerate(office_lines(source.county, office)):
        doc.line(text, size=9, height=4.5, bold=number == 0)
    if office is None:
        doc.line(
            f"The bracketed office details are placeholders: add this county to "
            f"conf/offices.yaml (key {source.county.slug}) to print them on every order.",
            size=8,
        )
    doc.gap(3)
    doc.line(source.line(), size=8)
    doc.gap(4)
    totals = [
        ["Court cases (one proposed order each)", str(result.cases)],
        ["Convictions granted relief", str(result.granted)],
        ["  to dismiss and seal", str(result.dismissals)],
        ["  to reduce", str(result.reductions)],
        ["Granted, but no court case number (on the worklist)", str(result.without_case_number)],
        ["Hand-review worklist lines", str(result.worklist)],
    ]
    if result.skipped:
        totals.append([f"Cases skipped: cannot be laid out ({SKIPPED_CASES})",
                       str(len(result.skipped))])  # fmt: skip
    doc.table(["Packet", "Count"], totals, [120, 40], size=10)
    doc.gap(4)
    files = [f"{BULK_MOTION} (bulk motion, one row per conviction)"]
    if per_case:
        files.append(f"{ORDERS}/ (proposed orders, one file per case)")
    if merged is not None:
        files.append(f"{merged} (every proposed order in one file, a bookmark per case)")
    doc.line(f"Files: {', '.join([*files, INDEX_CSV, WORKLIST])}.", size=9)
    doc.gap(4)
    if index_rows:
        doc.line("Cases", size=12, bold=True)
        doc.table(
            ["Case number(s)", "Defendant(s)", "Counts", "Dismiss", "Reduce", "Order"],
            [[r[0], r[1], r[3], r[4], r[5], r[6]] for r in index_rows],
            [32, 46, 14, 16, 14, 58],
            size=8,
        )
    doc.save(path)


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    write_csv(path, rows_table(header, rows), CsvStyle.SPREADSHEET)


def order_file_name(case: str, taken: set[str]) -> str:
    """orders/order_<case>.pdf with the case number made file-safe and unique."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", case).strip("-")[:80] or "case"
    name, n = f"order_{stem}.pdf", 2
    while name in taken:
        name, n = f"order_{stem}_{n}.pdf", n + 1
    taken.add(name)
    return name


class OrderFiles(StrEnum):
    """Where the proposed orders go: one file per case, one merged file, or both."""

    PER_CASE = "per-case"
    MERGED = "merged"
    BOTH = "both"


def write_packet(snapshot: CountySnapshot, out: Path, orders: OrderFiles = OrderFiles.PER_CASE,
                 office: Office | None = None) -> PacketResult:  # fmt: skip
    """The whole packet for one version of the county's table into ``out``."""
    source = provenance(snapshot)
    table = snapshot.table
    granted = granted_convictions(table, source.compute_at)
    cases = by_case(granted)
    skipped = [(case, len(cases[case]), why) for case, why in unlaid_cases(cases).items()]
    if skipped:
        left_out = {case for case, _, _ in skipped}
        cases = {case: rows for case, rows in cases.items() if case not in left_out}
        kept = {id(c) for rows in cases.values() for c in rows}
        granted = [c for c in granted if id(c) in kept]  # the bulk motion's order
    work = worklist(table, snapshot.county.slug, source.compute_at)
    dismissals = sum(1 for c in granted if c.relief == DISMISS)
    result = PacketResult(
        county=snapshot.county,
        version=snapshot.version,
        run_id=snapshot.run_id,
        granted=len(granted),
        dismissals=dismissals,
        reductions=len(granted) - dismissals,
        cases=len(cases),
        without_case_number=sum(1 for c in granted if not c.case_numbers),
        worklist=len(work),
        office_configured=office is not None,
        skipped=sorted(skipped),
    )
    per_case = orders is not OrderFiles.MERGED
    merged = MERGED_ORDERS if orders is not OrderFiles.PER_CASE else None
    private_dir(out)
    with tempfile.TemporaryDirectory(prefix="relief-fonts-") as scratch:
        texts = [source.line(), source.county.name, *office_lines(source.county, office)]
        texts += [v for c in granted for v in (*c.bulk_row(), c.subject)]
        fonts = packet_fonts(texts, Path(scratch))
        _write_packet_files(result, source, office, granted, cases, work, out, per_case, merged,
                            fonts)  # fmt: skip
    return result


def unlaid_cases(cases: Mapping[str, Sequence[Conviction]]) -> dict[str, str]:
    """Cases a page cannot lay out, with why: a value longer than LAYOUT_LIMIT characters."""
    skipped: dict[str, str] = {}
    for case, convictions in cases.items():
        longest = max(len(v) for c in convictions for v in (*c.bulk_row(), c.subject, case))
        if longest > LAYOUT_LIMIT:
            skipped[case] = (
                f"a value of {longest:,} characters (a page holds at most {LAYOUT_LIMIT:,}): "
                "check the record in the county table and file this case by hand"
            )
    return skipped


def _write_packet_files(
    result: PacketResult,
    source: Provenance,
    office: Office | None,
    granted: Sequence[Conviction],
    cases: Mapping[str, Sequence[Conviction]],
    work: Sequence[WorkItem],
    out: Path,
    per_case: bool,
    merged: str | None,
    fonts: tuple[Path, Path],
) -> None:
    orders_dir = private_dir(out / ORDERS) if per_case else out / ORDERS
    _write_csv(out / BULK_MOTION, BULK_HEADER, (c.bulk_row() for c in granted))
    result.files.append(out / BULK_MOTION)
    taken: set[str] = set()
    index_rows: list[list[str]] = []
    pages: dict[str, int] = {}
    for case, convictions in cases.items():
        name = ""
        if per_case:
            name = order_file_name(case, taken)
            pages[case] = order_pdf(case, convictions, source, orders_dir / name, office, fonts)
            result.files.append(orders_dir / name)
        defendants = _defendants(convictions)
        index_rows.append([
            case,
            "; ".join(d.defendant for d in defendants),
            "; ".join(d.cii for d in defendants),
            str(len(convictions)),
            str(sum(1 for c in convictions if c.relief == DISMISS)),
            str(sum(1 for c in convictions if c.relief != DISMISS)),
            f"{ORDERS}/{name}" if name else "",
        ])  # fmt: skip
    if merged is not None:
        starts = merged_orders_pdf(cases, source, office, out / merged, pages or None, fonts)
        result.files.append(out / merged)
        if not per_case:  # the index points into the merged file
            for row in index_rows:
                row[6] = f"{merged} (page {starts[row[0]]})"
    _write_csv(out / INDEX_CSV, INDEX_HEADER, index_rows)
    result.files.append(out / INDEX_CSV)
    cover_pdf(result, source, office, index_rows, out / COVER_SHEET, per_case, merged, fonts)
    result.files.append(out / COVER_SHEET)
    _write_csv(out / WORKLIST, WORKLIST_HEADER, (item.row() for item in work))
    result.files.append(out / WORKLIST)
    if result.skipped:
        skipped_rows = [[case[:80], str(count), why] for case, count, why in result.skipped]
        _write_csv(out / SKIPPED_CASES, SKIPPED_HEADER, skipped_rows)
        result.files.append(out / SKIPPED_CASES)


def packet(
    warehouse: Readable,
    county_name: str,
    out: Path,
    version: int | None = None,
    run_id: str | None = None,
    counties: Counties | None = None,
    orders: OrderFiles = OrderFiles.PER_CASE,
) -> PacketResult:
    """Read the county's table (only that one) and write its filing packet to ``out``."""
    county = resolve_county(county_name, counties)
    context = open_reader(warehouse)  # one ledger read: the snapshot and the output agree
    refuse_inside_warehouse(out, context.warehouse.root)
    office = load_offices(counties=counties).offices.get(county.slug)
    snapshot = prop64_snapshot(open_snapshot(context, county, version=version, run_id=run_id))
    missing = [c for c in (IS_CANDIDATE, DETERMINATION) if c not in snapshot.table.column_names]
    if missing:
        raise PullError(
            f"{snapshot.path} version {snapshot.version} has no {', '.join(missing)} column: "
            "it was not written by a relief run with eligibility"
        )
    with owner_only():
        result = write_packet(snapshot, out, orders, office)
    result.served = snapshot.served()
    return result
