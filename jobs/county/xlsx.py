"""The xlsx pull: a workbook a DA's analyst filters and sorts in Excel (no Spark, no Java).

Three sheets, each with the decision columns first (determination, reason, rule, then the
rest in pull order), a bold, frozen header row with an autofilter, and column widths from
the data:

- "Prop 64 convictions": the county's Prop 64 convictions (candidate rows), every column;
- "Prop 64 condensed": the same rows, the decisions and the 20 condensed DOJ columns of the
  reference tool's Condensed file (DOMAIN.md §6);
- "All rows": every row of the table (the subjects' whole histories), every column.

Dates are Excel dates: relief's parsed date columns, and the DOJ's YYYYMMDD text columns
where they hold a whole, valid date (a partial date such as 19800000 stays text, as sent).
Text is always stored as text (an inline string can never be a formula).

Speed. A county table has ~170 columns; 100,000 rows are 17 million cells, and any writer
that makes a Python object per cell (openpyxl: 36 s for 23,712 rows on this machine; the
per-cell writers measured, XlsxWriter, PyExcelerate, rustpy-xlsxwriter, 28-65 s for 95,000)
cannot stay under 10 s. So openpyxl builds the workbook (styles, sheet views, filters,
widths, the header row and one probe row of dates that fixes the date styles' ids), and the
data rows are rendered column by column with Arrow compute kernels into the same
``<row>``/``<c>`` XML openpyxl writes (inline strings, numbers, dates by style id), then
spliced into each sheet where the probe row was.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from relief.jobs.county.gogen import GOGEN_CONDENSED_COLUMNS, bool_column
from relief.jobs.warehouse.access import private_file
from relief.jobs.warehouse.snapshots import PullError
from relief.transforms.columns import (
    CYC_DATE,
    DETERMINATION,
    DISP_DATE,
    IS_CANDIDATE,
    PRI_DOB,
    REASON,
    RULE_ID,
    STP_EVENT_DATE,
    stored_name,
)

XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_CELL = 32_767
CANDIDATE_SHEET = "Prop 64 convictions"
CONDENSED_SHEET = "Prop 64 condensed"
ALL_ROWS_SHEET = "All rows"

DECISION_COLUMNS: tuple[str, ...] = (DETERMINATION, REASON, RULE_ID)
CONDENSED_COLUMNS: tuple[str, ...] = tuple(stored_name(c) for c in GOGEN_CONDENSED_COLUMNS)
# DOJ text columns holding YYYYMMDD dates (DOMAIN.md §1): Excel dates when whole and valid.
DOJ_DATE_TEXT: tuple[str, ...] = (PRI_DOB, CYC_DATE, STP_EVENT_DATE, DISP_DATE)

MIN_WIDTH, MAX_WIDTH = 8, 60
_BATCH_ROWS = 10_000
_EXCEL_EPOCH_DAYS = 25_569  # 1970-01-01 as an Excel serial day (1900 date system)
_FIRST_SAFE_SERIAL = 61  # 1900-03-01: Excel's serials before it are off by its 1900 leap day
# Characters XML 1.0 cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE, plus U+FFFE/U+FFFF).
_ILLEGAL_XML = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x{fffe}\\x{ffff}]"


def decisions_first(names: Sequence[str]) -> list[str]:
    """Determination, reason, rule, then every other column in its order."""
    first = [c for c in DECISION_COLUMNS if c in names]
    return first + [c for c in names if c not in first]


def condensed_columns(names: Sequence[str]) -> list[str]:
    """The decisions, then the reference's 20 condensed DOJ columns (those the table has)."""
    return decisions_first([c for c in (*DECISION_COLUMNS, *CONDENSED_COLUMNS) if c in names])


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# --- one column's cells as XML ----------------------------------------------------------------


@dataclass(frozen=True)
class _Styles:
    """Style ids (cellXfs) openpyxl gave the date and date-time formats."""

    date: str
    datetime: str


_NEEDS_ESCAPE = f"[&<>]|{_ILLEGAL_XML}"
_STRING_OPEN = '" t="inlineStr"><is><t>'
_STRING_OPEN_SPACED = '" t="inlineStr"><is><t xml:space="preserve">'
_STRING_CLOSE = "</t></is></c>"


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(mask).as_py())


# The same test on a column's raw UTF-8 bytes: one C-speed scan instead of a regex per value.
_NEEDS_ESCAPE_BYTES = re.compile(rb"[&<>\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")


def _text_xml(text: pa.Array) -> pa.Array:
    """Cell text escaped for XML, without characters XML cannot hold, at most 32,767 long."""
    if _NEEDS_ESCAPE_BYTES.search(_utf8_bytes(text)) and _any(
        pc.match_substring_regex(text, _NEEDS_ESCAPE)
    ):
        text = pc.replace_substring_regex(text, _ILLEGAL_XML, "")
        for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
            text = pc.replace_substring(text, char, entity)
    if (pc.max(pc.binary_length(text)).as_py() or 0) > XLSX_MAX_CELL:  # bytes >= characters
        text = pc.utf8_slice_codeunits(text, 0, XLSX_MAX_CELL)
    return text


def _inline_string(ref: str, numbers: pa.Array, text: pa.Array) -> pa.Array:
    """``<c>`` inline-string cells (a null text gives a null cell)."""
    # Leading or trailing spaces (the usual case in DOJ fields, e.g. " LEE, ANN").
    spaced = pc.fill_null(pc.or_(pc.starts_with(text, " "), pc.ends_with(text, " ")), False)
    opening: pa.Array | str = _STRING_OPEN
    if _any(spaced):  # leading or trailing spaces are kept only with xml:space="preserve"
        opening = pc.if_else(spaced, _STRING_OPEN_SPACED, _STRING_OPEN)
    return pc.binary_join_element_wise(ref, numbers, opening, _text_xml(text), _STRING_CLOSE, "")


def _number(ref: str, numbers: pa.Array, value: pa.Array, style: str | None = None) -> pa.Array:
    opening = f'" s="{style}" t="n"><v>' if style else '" t="n"><v>'
    return pc.binary_join_element_wise(ref, numbers, opening, value, "</v></c>", "")


def _serial_days(days: pa.Array) -> pa.Array:
    """Days since 1970-01-01 (int) -> Excel serial; null before 1900-03-01."""
    serial = pc.add(days, _EXCEL_EPOCH_DAYS)
    return pc.if_else(pc.less(serial, _FIRST_SAFE_SERIAL), None, serial)


def _date_cells(ref: str, numbers: pa.Array, dates: pa.Array, styles: _Styles) -> pa.Array:
    days = pc.cast(pc.cast(dates, pa.date32()), pa.int32())
    serial = pc.cast(_serial_days(days), pa.string())
    cells = _number(ref, numbers, serial, styles.date)
    if cells.null_count > dates.null_count:  # before 1900-03-01: ISO text, as Excel cannot
        iso = pc.cast(pc.cast(dates, pa.date32()), pa.string())
        cells = pc.coalesce(cells, _inline_string(ref, numbers, iso))
    return cells


def _timestamp_cells(ref: str, numbers: pa.Array, stamps: pa.Array, styles: _Styles) -> pa.Array:
    kind = stamps.type
    assert isinstance(kind, pa.TimestampType)
    micros = pc.cast(pc.cast(stamps, pa.timestamp("us", kind.tz)), pa.int64())
    serial = pc.add(pc.divide(pc.cast(micros, pa.float64()), 86_400e6), float(_EXCEL_EPOCH_DAYS))
    early = pc.less(serial, float(_FIRST_SAFE_SERIAL))
    text = pc.cast(pc.if_else(early, None, pc.round(serial, 9)), pa.string())
    cells = _number(ref, numbers, text, styles.datetime)
    if cells.null_count > stamps.null_count:
        cells = pc.coalesce(cells, _inline_string(ref, numbers, pc.cast(stamps, pa.string())))
    return cells


def _doj_date_text_cells(ref: str, numbers: pa.Array, text: pa.Array, styles: _Styles) -> pa.Array:
    """A whole YYYYMMDD date as an Excel date; anything else (partial, blank) as sent."""
    whole = pc.match_substring_regex(text, r"^\d{8}$")
    parsed = pc.strptime(
        pc.if_else(whole, text, None), format="%Y%m%d", unit="s", error_is_null=True
    )
    days = pc.cast(pc.cast(parsed, pa.date32()), pa.int32())
    serial = pc.cast(_serial_days(days), pa.string())
    dates = _number(ref, numbers, serial, styles.date)
    if dates.null_count == len(dates):
        return _inline_string(ref, numbers, text)
    return pc.coalesce(dates, _inline_string(ref, numbers, text))


def _non_empty(text: pa.Array) -> pa.Array | None:
    """``text`` with '' as null; None when the column has nothing to show."""
    empty = pc.equal(text, "")
    if text.null_count + (pc.sum(empty).as_py() or 0) == len(text):
        return None
    return pc.if_else(empty, None, text) if _any(empty) else text


def column_cells(
    name: str, letter: str, numbers: pa.Array, values: pa.Array, styles: _Styles
) -> pa.Array | None:
    """One ``<c>`` element per row, null where the cell stays empty; None: no cell at all."""
    if values.null_count == len(values):
        return None
    ref = f'<c r="{letter}'
    kind = values.type
    if pa.types.is_boolean(kind):
        flag = pc.if_else(values, "1", "0")
        return pc.binary_join_element_wise(ref, numbers, '" t="b"><v>', flag, "</v></c>", "")
    if pa.types.is_integer(kind):
        return _number(ref, numbers, pc.cast(values, pa.string()))
    if pa.types.is_floating(kind):
        finite = pc.if_else(pc.is_finite(values), values, None)
        return _number(ref, numbers, pc.cast(finite, pa.string()))
    if pa.types.is_date(kind):
        return _date_cells(ref, numbers, values, styles)
    if pa.types.is_timestamp(kind):
        return _timestamp_cells(ref, numbers, values, styles)
    text = _non_empty(values if pa.types.is_string(kind) else pc.cast(values, pa.string()))
    if text is None:
        return None
    if name in DOJ_DATE_TEXT:
        return _doj_date_text_cells(ref, numbers, text, styles)
    return _inline_string(ref, numbers, text)


def _utf8_bytes(strings: pa.Array) -> memoryview:
    """The UTF-8 bytes of a string array's values, concatenated (no copy)."""
    _, offsets_buffer, data = strings.buffers()
    if offsets_buffer is None or data is None:  # no values at all
        return memoryview(b"")
    offsets = memoryview(offsets_buffer).cast("i")
    start, end = offsets[strings.offset], offsets[strings.offset + len(strings)]
    return memoryview(data)[start:end]


def sheet_rows_xml(table: pa.Table, styles: _Styles, first_row: int = 2) -> Iterator[memoryview]:
    """``<row>`` elements (UTF-8) for every row of ``table``, a piece per batch of rows."""
    letters = [column_letter(i) for i in range(table.num_columns)]
    for offset in range(0, table.num_rows, _BATCH_ROWS):
        batch = table.slice(offset, _BATCH_ROWS)
        start = first_row + offset
        numbers = pc.cast(pa.array(range(start, start + batch.num_rows)), pa.string())
        cells = []
        for letter, name, column in zip(letters, batch.column_names, batch.columns, strict=True):
            xml = column_cells(name, letter, numbers, column.combine_chunks(), styles)
            if xml is not None:
                cells.append(xml)
        rows = pc.binary_join_element_wise(
            '<row r="', numbers, '">', *cells, "</row>", "",
            null_handling="replace", null_replacement="",
        )  # fmt: skip
        yield _utf8_bytes(rows)


def column_widths(table: pa.Table) -> list[float]:
    """A width per column: its longest value or header (+2 for the filter button), 8-60."""
    widths = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        longest = len(name)
        if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
            longest = max(longest, 10 if pa.types.is_date(kind) else 19)
        elif table.num_rows:
            text = column if pa.types.is_string(kind) else pc.cast(column, pa.string())
            value = pc.max(pc.utf8_length(text)).as_py()
            longest = max(longest, int(value or 0))
        widths.append(float(min(max(longest + 2, MIN_WIDTH), MAX_WIDTH)))
    return widths


# --- the workbook -------------------------------------------------------------------------------

_PROBE_DATE = dt.date(2000, 1, 1)
_PROBE_DATETIME = dt.datetime(2000, 1, 1, 12, 0)


def _template(sheets: Sequence[tuple[str, pa.Table]]) -> bytes:
    """The workbook without its data rows: openpyxl writes everything but the cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for title, table in sheets:
        ws = workbook.create_sheet(title)
        ws.append(table.column_names)
        for cell in ws[1]:
            cell.font = bold
        ws.freeze_panes = "A2"
        last = column_letter(max(table.num_columns - 1, 0))
        ws.auto_filter.ref = f"A1:{last}{table.num_rows + 1}"
        for index, width in enumerate(column_widths(table)):
            ws.column_dimensions[column_letter(index)].width = width
        ws.append([_PROBE_DATE, _PROBE_DATETIME])  # row 2: learn the date styles' ids
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


_PROBE_ROW = re.compile(
    r'<row r="2"[^>]*><c r="A2" s="(\d+)"[^>]*><v>[^<]*</v></c>'
    r'<c r="B2" s="(\d+)"[^>]*><v>[^<]*</v></c></row>'
)


def _splice(sheet_xml: str, rows: pa.Table, last_column: str) -> tuple[str, str, _Styles]:
    """The template sheet split where its data rows go, and the date styles it uses."""
    probe = _PROBE_ROW.search(sheet_xml)
    if probe is None:  # pragma: no cover - openpyxl changed how it writes a sheet
        raise RuntimeError("openpyxl's sheet XML has no probe row: the xlsx writer needs updating")
    head, tail = sheet_xml[: probe.start()], sheet_xml[probe.end() :]
    head = re.sub(
        r'<dimension ref="[^"]*"', f'<dimension ref="A1:{last_column}{rows.num_rows + 1}"', head
    )
    return head, tail, _Styles(date=probe.group(1), datetime=probe.group(2))


def write_xlsx(table: pa.Table, path: Path) -> None:
    """The pull as a workbook: Prop 64 convictions, their condensed view, and all rows."""
    if table.num_rows + 1 > XLSX_MAX_ROWS:
        raise PullError(
            f"{table.num_rows:,} rows do not fit in one Excel sheet "
            f"({XLSX_MAX_ROWS - 1:,} at most): pull --format csv or parquet instead",
            exit_code=2,
        )
    ordered = table.select(decisions_first(table.column_names))
    candidates = ordered.filter(bool_column(ordered, IS_CANDIDATE))
    sheets = [
        (CANDIDATE_SHEET, candidates),
        (CONDENSED_SHEET, candidates.select(condensed_columns(ordered.column_names))),
        (ALL_ROWS_SHEET, ordered),
    ]
    template = zipfile.ZipFile(io.BytesIO(_template(sheets)))
    parts = {f"xl/worksheets/sheet{n}.xml": rows for n, (_, rows) in enumerate(sheets, 1)}
    with (
        private_file(path) as temporary,
        zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as out,
    ):
        for item in template.infolist():
            data = template.read(item.filename)
            rows = parts.get(item.filename)
            if rows is None:
                out.writestr(item.filename, data)
                continue
            last = column_letter(max(rows.num_columns - 1, 0))
            head, tail, styles = _splice(data.decode("utf-8"), rows, last)
            with out.open(item.filename, "w", force_zip64=True) as sheet:
                sheet.write(head.encode("utf-8"))
                for piece in sheet_rows_xml(rows, styles):
                    sheet.write(piece)
                sheet.write(tail.encode("utf-8"))
