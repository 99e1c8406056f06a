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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from jobs.outputs import CsvStyle, owner_only, private_dir, private_file, rows_table, write_csv
from jobs.warehouse.snapshots import CountySnapshot, PullError, open_snapshot, resolve_county
from transforms.columns import (
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
from transforms.policy import Determination
from transforms.vocabulary import Counties, County

BULK_MOTION = "bulk_motion.csv"
INDEX_CSV = "index.csv"
COVER_SHEET = "cover_sheet.pdf"
WORKLIST = "hand_review_worklist.csv"
ORDERS = "orders"

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


def _font_files() -> tuple[Path, Path] | None:
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is a pinned dependency
        return None
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    regular, bold = ttf / "DejaVuSans.ttf", ttf / "DejaVuSans-Bold.ttf"
    return (regular, bold) if regular.is_file() and bold.is_file() else None


def _latin1(texts: Iterable[str]) -> bool:
    try:
        for text in texts:
            text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


class _Document:
    """fpdf2 with core Helvetica when every text is latin-1 (fast: no font to embed), else
    DejaVuSans, so any name renders; without DejaVu, latin-1 text with '?' for the rest."""

    def __init__(self, created: dt.datetime | None, texts: Iterable[str] = ()) -> None:
        import logging

        from fpdf import FPDF

        # fpdf2 and fontTools log every glyph a font lacks; the CSVs keep the full text.
        for name in ("fpdf", "fontTools"):
            logging.getLogger(name).setLevel(logging.ERROR)
        self.pdf = FPDF(orientation="portrait", unit="mm", format="letter")
        self.pdf.set_margins(18, 16, 18)
        self.pdf.set_auto_page_break(auto=True, margin=16)
        if created is not None:
            self.pdf.set_creation_date(created)
        fonts = None if _latin1(texts) else _font_files()
        if fonts is not None:
            self.pdf.add_font("DejaVu", "", str(fonts[0]))
            self.pdf.add_font("DejaVu", "B", str(fonts[1]))
            self.family, self.unicode = "DejaVu", True
        else:
            self.family, self.unicode = "Helvetica", False
        self.pdf.set_font(self.family, size=10)

    def safe(self, text: str) -> str:
        if self.unicode:
            return text
        return text.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float = 10, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)

    def line(self, text: str, size: float = 10, bold: bool = False, align: str = "L",
             height: float = 5.5) -> None:  # fmt: skip
        self.font(size, bold)
        self.pdf.multi_cell(0, height, self.safe(text), align=align, new_x="LMARGIN",
                            new_y="NEXT")  # fmt: skip

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
                    cells.cell(self.safe(value))

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


def order_pdf(case: str, convictions: Sequence[Conviction], source: Provenance,
              path: Path) -> None:  # fmt: skip
    """A proposed order for one court case, modelled on CR-400's order (H&S § 11361.8)."""
    texts = [case, source.county.name] + [v for c in convictions for v in c.bulk_row()]
    doc = _Document(source.committed, texts)
    pdf = doc.pdf
    pdf.add_page()
    county = source.county.name.title()
    defendants = _defendants(convictions)
    names = "; ".join(d.defendant or "(name not in the record)" for d in defendants)
    doc.line(f"Prepared by: Office of the District Attorney, County of {county}", size=9)
    doc.gap(2)
    doc.line(f"SUPERIOR COURT OF CALIFORNIA, COUNTY OF {source.county.name}", size=12,
             bold=True, align="C")  # fmt: skip
    doc.gap(2)
    doc.line(f"PEOPLE OF THE STATE OF CALIFORNIA v. {names}", bold=True)
    doc.line(f"Case number(s): {case}", bold=True)
    doc.gap(3)
    doc.line("[PROPOSED] ORDER AFTER PETITION/APPLICATION", size=13, bold=True, align="C")
    doc.line("(Health and Safety Code, §§ 11361.8, 11361.9 - Proposition 64)", align="C")
    doc.line(
        "Modelled on Judicial Council form CR-400 (Petition/Application, Health and Safety "
        "Code, § 11361.8) and its order. Not an official Judicial Council form.",
        size=8, align="C",
    )  # fmt: skip
    doc.gap(4)
    for d in defendants:
        doc.line(
            f"Defendant: {d.defendant or '(name not in the record)'}    "
            f"Date of birth: {d.dob or 'unknown'}    CII number: {d.cii or 'unknown'}"
        )
    doc.gap(2)
    doc.line(
        "The California Department of Justice identified the conviction(s) below as eligible "
        "for recall or dismissal of sentence, dismissal and sealing, or redesignation under "
        "Health and Safety Code section 11361.8 (§ 11361.9, subd. (a)). The prosecution has "
        "reviewed the record and does not challenge the relief listed. The court finds the "
        "defendant eligible and ORDERS the relief listed for each count:"
    )
    doc.gap(2)
    multiple = len(defendants) > 1
    header = ["Count", "Code section", "Convicted", "Level", "Relief ordered", "Statute"]
    widths = [12, 30, 24, 22, 40, 44]
    if multiple:
        header = ["Defendant", *header]
        widths = [30, 10, 26, 20, 18, 36, 40]
    rows = []
    for c in convictions:
        values = [c.count or "-", c.code_section, c.conviction_date or "unknown", c.level,
                  c.relief, c.statute]  # fmt: skip
        rows.append([c.defendant, *values] if multiple else values)
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
        doc.line(f"{number}. {term}")
    doc.gap(12)
    if pdf.will_page_break(30):
        pdf.add_page()
    doc.line("Date: ______________________          "
             "________________________________________", size=10)  # fmt: skip
    doc.line(" " * 78 + "JUDICIAL OFFICER OF THE SUPERIOR COURT", size=8)
    doc.gap(8)
    doc.line(source.line(), size=7)
    doc.save(path)


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
    files: list[Path] = field(default_factory=list)


def cover_pdf(result: PacketResult, source: Provenance,
              index_rows: Sequence[Sequence[str]], path: Path) -> None:  # fmt: skip
    doc = _Document(source.committed, [source.county.name, *(v for r in index_rows for v in r)])
    doc.pdf.add_page()
    county = source.county.name.title()
    doc.line(f"Proposition 64 filing packet - County of {county}", size=15, bold=True)
    doc.line(f"Superior Court of California, County of {county}")
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
    doc.table(["Packet", "Count"], totals, [120, 40], size=10)
    doc.gap(4)
    doc.line(
        f"Files: {BULK_MOTION} (bulk motion, one row per conviction), {ORDERS}/ (proposed "
        f"orders), {INDEX_CSV}, {WORKLIST}.",
        size=9,
    )
    doc.gap(4)
    if index_rows:
        doc.line("Cases", size=12, bold=True)
        doc.table(
            ["Case number(s)", "Defendant(s)", "Counts", "Dismiss", "Reduce", "Order"],
            [[r[0], r[1], r[3], r[4], r[5], r[6]] for r in index_rows],
            [34, 46, 14, 14, 14, 58],
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


def write_packet(snapshot: CountySnapshot, out: Path) -> PacketResult:
    """The whole packet for one version of the county's table into ``out``."""
    source = provenance(snapshot)
    table = snapshot.table
    granted = granted_convictions(table, source.compute_at)
    cases = by_case(granted)
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
    )
    private_dir(out)
    orders = private_dir(out / ORDERS)
    _write_csv(out / BULK_MOTION, BULK_HEADER, (c.bulk_row() for c in granted))
    result.files.append(out / BULK_MOTION)
    taken: set[str] = set()
    index_rows: list[list[str]] = []
    for case, convictions in cases.items():
        name = order_file_name(case, taken)
        order_pdf(case, convictions, source, orders / name)
        result.files.append(orders / name)
        defendants = _defendants(convictions)
        index_rows.append([
            case,
            "; ".join(d.defendant for d in defendants),
            "; ".join(d.cii for d in defendants),
            str(len(convictions)),
            str(sum(1 for c in convictions if c.relief == DISMISS)),
            str(sum(1 for c in convictions if c.relief != DISMISS)),
            f"{ORDERS}/{name}",
        ])  # fmt: skip
    _write_csv(out / INDEX_CSV, INDEX_HEADER, index_rows)
    result.files.append(out / INDEX_CSV)
    cover_pdf(result, source, index_rows, out / COVER_SHEET)
    result.files.append(out / COVER_SHEET)
    _write_csv(out / WORKLIST, WORKLIST_HEADER, (item.row() for item in work))
    result.files.append(out / WORKLIST)
    return result


def packet(
    warehouse: Path,
    county_name: str,
    out: Path,
    version: int | None = None,
    run_id: str | None = None,
    counties: Counties | None = None,
) -> PacketResult:
    """Read the county's table (only that one) and write its filing packet to ``out``."""
    county = resolve_county(county_name, counties)
    snapshot = open_snapshot(warehouse, county, version=version, run_id=run_id)
    missing = [c for c in (IS_CANDIDATE, DETERMINATION) if c not in snapshot.table.column_names]
    if missing:
        raise PullError(
            f"{snapshot.path} version {snapshot.version} has no {', '.join(missing)} column: "
            "it was not written by a relief run with eligibility"
        )
    with owner_only():
        return write_packet(snapshot, out)
