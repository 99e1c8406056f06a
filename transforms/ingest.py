"""Ingest: the bytes of DOJ extract files -> kept rows (all strings) and quarantined lines.

jobs/warehouse/inputs.py cuts every input into byte ranges and runs one Spark task per range;
the task reads its bytes and hands them here in chunks. Every physical line (a line ends at
LF, CR or CRLF, as Hadoop's line reader ends it) lands in exactly one place:

- skipped: a blank line (empty or only spaces), or the header line (line 1 of a file whose
  first line starts with ``RECORD_ID``; the job decides that once per file);
- quarantine: bytes that are not text, control characters, broken quoting, a header line
  after line 1, a field count other than 95 (or 96 with an empty last field), or a blank
  SUBJECT_ID — with the reason and the line's text masked (:func:`masked_raw_text`);
- kept: parsed into the 95 DOJ columns (less SSN/CDL, never materialised), as strings as the
  file held them, an empty field null; an SSN or licence typed into another field masked by
  the column's kind (transforms/columns.py UNMASKED_COLUMNS, NUMBER_COLUMNS; docs/operations.md).

The common line is checked in bulk: one RE2 match of the whole line (95 fields of printable
ASCII or tab, each unquoted or quoted with doubled quotes inside) and a look at its first
byte for a header. Lines that fail it get the exact per-line checks in Python
(:func:`exact_reason`), whose order and texts decide the reason; such lines are rare. Kept
lines are parsed by Arrow's CSV reader. Nothing here reads or writes a file.

Line numbers are physical line numbers in the file (blank lines count): a chunk's rows carry
their line number inside the byte range (``_line``), and :func:`with_provenance` adds the
lines of the file's earlier ranges once every range has been counted.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from relief.transforms.columns import (
    DOJ_COLUMNS,
    INPUT_INDEX,
    KEPT_DOJ_COLUMNS,
    NUMBER_COLUMNS,
    PII_COLUMNS,
    QUARANTINE_REASON,
    RECORD_ID,
    SOURCE_FILE,
    SOURCE_LINE,
    SUBJECT_ID,
    UNMASKED_COLUMNS,
)

LINE_KIND = "_line_kind"
KIND_KEPT = "kept"
KIND_QUARANTINED = "quarantined"

EXPECTED_FIELDS = len(DOJ_COLUMNS)
RAW_TEXT_LIMIT = 2000  # characters of a bad line kept in quarantine
RAW_TEXT = "raw_text"

REASON_NOT_TEXT = "bytes that are not UTF-8 text"
REASON_CONTROL = "control characters (such as NUL, BEL or ESC) in a field: text never holds them"
REASON_BROKEN_QUOTING = "broken quoting: a quote that does not open or close a whole field"
REASON_FIELD_COUNT = "wrong number of fields: {n} (expected 95, or 96 with an empty last field)"
REASON_REPEATED_HEADER = "header line (RECORD_ID,...) after the first line of the file"
REASON_BLANK_SUBJECT = "blank SUBJECT_ID: the line names no person"

# Columns of the staged Parquet a range task writes, besides the kept DOJ columns.
RANGE_ID = "_range"  # which byte range of which file the line started in
LOCAL_LINE = "_line"  # 1-based line number inside the range
# Columns of the per-range table the job builds once every range is counted.
LINES_BEFORE = "_lines_before"  # lines of the file's earlier ranges
FINGERPRINT = "_fingerprint"  # the file's fingerprint (hex)

PROVENANCE_COLUMNS: tuple[str, ...] = (RECORD_ID, SOURCE_FILE, SOURCE_LINE, INPUT_INDEX)

STAGED_SCHEMA = pa.schema(
    [
        *[pa.field(c, pa.string()) for c in KEPT_DOJ_COLUMNS],
        pa.field(RANGE_ID, pa.int32(), nullable=False),
        pa.field(LOCAL_LINE, pa.int64(), nullable=False),
        pa.field(QUARANTINE_REASON, pa.string()),
        pa.field(RAW_TEXT, pa.string()),
    ]
)

# --- the file's columns -------------------------------------------------------------------


class HeaderError(ValueError):
    """A header that does not name the 95 DOJ columns; the message names the column."""


EXTRA_FIELD = "_extra_field"  # the optional empty 96th field


@dataclass(frozen=True)
class Layout:
    """Which DOJ column each field of a file's lines holds, in file order."""

    columns: tuple[str, ...] = DOJ_COLUMNS

    @property
    def pii_positions(self) -> tuple[int, ...]:
        return tuple(i for i, name in enumerate(self.columns) if name in PII_COLUMNS)


def is_header_like(text: str) -> bool:
    """Starts with RECORD_ID, in any case, after spaces (within its first 64 characters), or
    with two DOJ column names (a header in another order: never a data line, whose first
    field is a record id)."""
    if text[:1] in (" ", "R", "r") and text[:64].lstrip(" ").upper().startswith("RECORD_ID"):
        return True
    return _COLUMN_NAMES_START.match(text) is not None


BOM = "\ufeff"


def header_layout(line: bytes) -> Layout | None:
    """The layout a file's first line declares: None when it is not a header (positional).

    A header names the 95 DOJ columns in any order, in any case, spaces around a name
    ignored; a 96th empty name is allowed (lines may end with an empty field). A UTF-8 byte
    order mark before it is ignored. Raises :class:`HeaderError` naming a missing, unknown or
    repeated column.
    """
    text = line.decode("utf-8", "replace").removeprefix(BOM)
    if not is_header_like(text):
        return None
    try:
        names = [name.strip(" ").upper() for name in next(csv.reader([text]), [])]
    except csv.Error as exc:
        raise HeaderError(f"the header line cannot be read as CSV ({exc})") from exc
    if len(names) == EXPECTED_FIELDS + 1 and names[-1] == "":
        names.pop()
    known = set(DOJ_COLUMNS)
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if name not in known:
            shown = repr(name) if name else "an empty name"
            raise HeaderError(f"header column {position} is {shown}, not a DOJ extract column")
        if name in seen:
            raise HeaderError(f"header names {name} twice (column {position})")
        seen.add(name)
    missing = [c for c in DOJ_COLUMNS if c not in seen]
    if missing:
        raise HeaderError(f"header has no {', '.join(missing)} column")
    return Layout(tuple(names))


# --- lines --------------------------------------------------------------------------------

_LF, _CR = 10, 13


def split_lines(
    data: np.ndarray, begin: int, stop: int, starts_at_begin: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The lines that start in ``data[begin:stop]``: (starts, ends), int64 positions.

    A line starts at ``begin`` when ``starts_at_begin``, and after every line terminator
    (LF; CR not followed by LF; the LF of CRLF). ``ends[i]`` is just past line i's
    terminator, or ``len(data)`` for a last line without one. Lines are consecutive:
    ``ends[i] == starts[i + 1]``. A CR at the very end of ``data`` counts as a terminator;
    the caller makes sure the data goes past a range's last terminator, or to the file's end.
    """
    low = np.flatnonzero(data <= _CR)  # one pass; tabs and control bytes are rare
    kinds = data[low]
    terminators = low[kinds == _LF]
    cr = low[kinds == _CR]
    if len(cr):
        following = np.minimum(cr + 1, len(data) - 1)
        lone = cr[(cr + 1 == len(data)) | (data[following] != _LF)]
        terminators = np.union1d(terminators, lone)
    after = terminators + 1
    inside = after[(after >= begin) & (after < stop)]
    if starts_at_begin and begin < stop:
        inside = np.concatenate([np.array([begin], dtype=after.dtype), inside])
    starts = inside.astype(np.int64)
    found = np.searchsorted(terminators, starts)
    ends = np.full(len(starts), len(data), dtype=np.int64)
    ended = found < len(terminators)
    ends[ended] = terminators[found[ended]] + 1
    return starts, ends


def line_content(value: bytes) -> bytes:
    """A line without its terminator."""
    if value.endswith(b"\r\n"):
        return value[:-2]
    if value.endswith((b"\n", b"\r")):
        return value[:-1]
    return value


def is_blank(content: bytes) -> bool:
    """Empty or only spaces."""
    return content.strip(b" ") == b""


# Printable ASCII and tab: what the common line holds. Anything else (control bytes, any
# byte >= 0x80) sends the line to the exact checks, which accept UTF-8 text.
_PLAIN = r"\t !#-+\--~"  # less quote and comma
_QUOTED = r"\t !#-~"  # less quote
_FIELD = f'(?:[{_PLAIN}]*|"(?:[{_QUOTED}]|"")*")'
_END = r"(?:\r\n|\r|\n)?$"
_FIELDS_95 = f"^{_FIELD}(?:,{_FIELD}){{{EXPECTED_FIELDS - 1}}}{_END}"
_FIELDS_96 = f"^{_FIELD}(?:,{_FIELD}){{{EXPECTED_FIELDS - 1}}},{_END}"
# A header's start: RECORD_ID, or two DOJ column names (a header in another order).
_NAME = f'"? *(?:{"|".join(DOJ_COLUMNS)}) *"?'
_HEADER_START = rf"(?i)^ {{0,55}}(?:record_id|{_NAME} *, *{_NAME} *(?:,|\r|\n|$))"
_COLUMN_NAMES_START = re.compile(_HEADER_START)
# First bytes a header line can start with (space, quote, a column name's first letter in
# either case): only lines starting so are matched against _HEADER_START.
_MAYBE_HEADER = np.zeros(256, dtype=bool)
_MAYBE_HEADER[[ord(c) for c in {" ", '"', *(n[0] for n in DOJ_COLUMNS)} | {"r"}]] = True
_MAYBE_HEADER[[ord(n[0].lower()) for n in DOJ_COLUMNS]] = True

# The exact checks, as they were written for Spark: a quoted field is a quote at the start
# of a field, any run of non-quotes or doubled quotes, a quote at the end of the field.
_QUOTED_FIELD = re.compile(r'"(?<![^,]")(?:[^"]++|"")*+"(?![^,])')
# Control characters other than tab never occur in text (a name holding ESC would drive the
# terminal of whoever prints it); U+FFFD marks bytes that were not text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_REPLACEMENT = "\ufffd"


def exact_reason(content: bytes) -> str | None:
    """Why a line that is not blank goes to quarantine, or None: every check, in the order
    that decides the reason (not text, broken quoting, a repeated header, the field count)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return REASON_NOT_TEXT
    if _REPLACEMENT in text:
        return REASON_NOT_TEXT
    if _CONTROL.search(text):
        return REASON_CONTROL
    unquoted = _QUOTED_FIELD.sub("", text)
    if '"' in unquoted:
        return REASON_BROKEN_QUOTING
    if is_header_like(text):
        return REASON_REPEATED_HEADER
    count = unquoted.count(",") + 1
    if count == EXPECTED_FIELDS or (count == EXPECTED_FIELDS + 1 and text.endswith(",")):
        return None
    return REASON_FIELD_COUNT.format(n=count)


# --- masking ------------------------------------------------------------------------------

# Anything shaped like an SSN (9 digits; dashes, spaces or dots between the groups optional)
# or a driver's licence (a letter and 7 or 8 digits), wherever it stands.
SSN_SHAPE = r"(?<![0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}(?![0-9])"
CDL_SHAPE = r"(?<![0-9A-Za-z])[A-Za-z][0-9]{7,8}(?![0-9])"
_SSN = re.compile(SSN_SHAPE)
_CDL = re.compile(CDL_SHAPE)
# An SSN as people write one (separators between the groups): masked in number columns.
WRITTEN_SSN_SHAPE = r"(?<![0-9])[0-9]{3}[-. ][0-9]{2}[-. ][0-9]{4}(?![0-9])"
_WRITTEN_SSN = re.compile(WRITTEN_SSN_SHAPE)
# The same shapes for RE2 (no lookarounds: a neighbour that is not a digit, or the value's
# edge), to find the few values Python then masks.
_NOT_DIGIT_BEFORE, _NOT_DIGIT_AFTER = "(?:^|[^0-9])", "(?:[^0-9]|$)"
_SSN_SCREEN = f"{_NOT_DIGIT_BEFORE}[0-9]{{3}}[-. ]?[0-9]{{2}}[-. ]?[0-9]{{4}}{_NOT_DIGIT_AFTER}"
_WRITTEN_SSN_SCREEN = (
    f"{_NOT_DIGIT_BEFORE}[0-9]{{3}}[-. ][0-9]{{2}}[-. ][0-9]{{4}}{_NOT_DIGIT_AFTER}"
)
_CDL_SCREEN = f"(?:^|[^0-9A-Za-z])[A-Za-z][0-9]{{7,8}}{_NOT_DIGIT_AFTER}"
_SHAPE_SCREEN = f"{_SSN_SCREEN}|{_CDL_SCREEN}"
_NUMBER_SCREEN = f"{_WRITTEN_SSN_SCREEN}|{_CDL_SCREEN}"
PII_MASK = "#"


def mask_identifiers(text: str) -> str:
    """Every SSN- or licence-shaped token replaced by ``#`` (9 for an SSN, 8 for a licence)."""
    return _CDL.sub(PII_MASK * 8, _SSN.sub(PII_MASK * 9, text))


def mask_written_identifiers(text: str) -> str:
    """An agency number's masking: SSNs written with separators and licence shapes only."""
    return _CDL.sub(PII_MASK * 8, _WRITTEN_SSN.sub(PII_MASK * 9, text))


# One field as Python's csv module reads it (excel dialect, not strict): a quoted field runs
# to its closing quote (doubled quotes inside) and on to the next comma, or to the end of an
# unclosed line; an unquoted field runs to the next comma.
_CSV_FIELD = re.compile(r'"(?:[^"]|"")*+(?:"[^,]*|$)|[^,]*')


def field_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every field of a line, quoted commas inside their field."""
    spans = []
    position = 0
    while True:
        match = _CSV_FIELD.match(text, position)
        end = match.end() if match else position
        spans.append((position, end))
        if end >= len(text) or text[end] != ",":
            return spans
        position = end + 1


def _java_replace(error: UnicodeError) -> tuple[str, int]:
    """U+FFFD for bytes that are not UTF-8, one per malformed sequence as Java counts them
    (as Spark showed such lines before): Python's decoder counts an encoded surrogate
    (ED A0..BF ..) as three, Java as one."""
    assert isinstance(error, UnicodeDecodeError)
    data, at = error.object, error.start
    if data[at] == 0xED and at + 1 < len(data) and 0xA0 <= data[at + 1] <= 0xBF:
        if at + 2 < len(data) and 0x80 <= data[at + 2] <= 0xBF:
            return "\ufffd", at + 3
        return "\ufffd", at + 2
    return "\ufffd", error.end


_REPLACE = "relief-replace"
codecs.register_error(_REPLACE, _java_replace)


def as_text(content: bytes) -> str:
    """A line's text for people: bytes that are not UTF-8 and control characters as U+FFFD."""
    return _CONTROL.sub("\ufffd", content.decode("utf-8", _REPLACE))


def masked_raw_text(content: bytes, layout: Layout) -> str:
    """A bad line's text for people to read in quarantine, with SSN and CDL removed.

    Bytes that are not UTF-8 and control characters become U+FFFD. The line is tokenized
    as CSV first, so a quoted comma cannot shift a field: when it has 95 or 96 fields, its
    SSN and licence fields are blanked; then every SSN- or licence-shaped token anywhere is
    masked. Truncated to RAW_TEXT_LIMIT characters.
    """
    text = as_text(content)
    spans = field_spans(text)
    if len(spans) in (EXPECTED_FIELDS, EXPECTED_FIELDS + 1):
        for position in sorted(layout.pii_positions, reverse=True):
            start, end = spans[position]
            text = text[:start] + text[end:]
    return mask_identifiers(text)[:RAW_TEXT_LIMIT]


# --- a chunk of lines -> kept rows and quarantine -----------------------------------------

_KEPT_DOJ = tuple(c for c in DOJ_COLUMNS if c not in PII_COLUMNS)


@dataclass
class ChunkResult:
    """What a chunk of lines became: kept rows, quarantined lines, and the counts."""

    kept: pa.Table  # STAGED_SCHEMA, reason and raw_text null
    quarantined: pa.Table  # STAGED_SCHEMA, DOJ columns null
    lines: int = 0
    blank: int = 0
    header: int = 0


@dataclass
class _Slow:
    """Lines the common check sent to the exact checks."""

    kept95: list[int] = field(default_factory=list)
    kept96: list[int] = field(default_factory=list)
    quarantined: list[tuple[int, str]] = field(default_factory=list)
    blank: int = 0
    header: int = 0


def _line_values(buffer: pa.Buffer, starts: np.ndarray, ends: np.ndarray) -> pa.BinaryArray:
    """The lines (terminators included) as one binary array over the buffer, no copy."""
    base = int(starts[0])
    offsets = np.empty(len(starts) + 1, dtype=np.int32)
    offsets[:-1] = starts - base
    offsets[-1] = ends[-1] - base
    data = buffer.slice(base, int(ends[-1]) - base)
    return pa.Array.from_buffers(pa.binary(), len(starts), [None, pa.py_buffer(offsets), data])


def _matches(values: pa.Array, pattern: str) -> np.ndarray:
    return pc.match_substring_regex(values, pattern).to_numpy(zero_copy_only=False)


def _gather(buffer: pa.Buffer, starts: np.ndarray, ends: np.ndarray, rows: np.ndarray) -> bytes:
    """The bytes of the given lines (sorted indices), consecutive runs copied at once."""
    if len(rows) == 0:
        return b""
    view = memoryview(buffer)
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    firsts = np.concatenate([[0], breaks])
    lasts = np.concatenate([breaks - 1, [len(rows) - 1]])
    return b"".join(
        view[int(starts[rows[a]]) : int(ends[rows[b]])] for a, b in zip(firsts, lasts, strict=True)
    )


_BOM_BYTES = BOM.encode()
# Arrow's CSV reader parses a buffer in blocks: 1 MiB blocks stay in the CPU caches (one
# block of a whole 32 MiB range parses about half as fast).
_CSV_BLOCK = 1 << 20


def parse_lines(data: pa.Buffer, layout: Layout, fields: int, longest: int) -> pa.Table:
    """Clean lines of ``fields`` (95 or 96) fields -> the kept DOJ columns, canonical order.

    The SSN and licence columns are never materialised. Values stay as the file held them
    (no trimming, no type conversion); an empty field, quoted or not, is null. ``longest``
    is the length of the longest line (a block must hold a whole line).
    """
    names = [*layout.columns, *([EXTRA_FIELD] if fields > EXPECTED_FIELDS else [])]
    if data.size >= 3 and bytes(memoryview(data)[:3]) == _BOM_BYTES:
        # Arrow's reader drops a byte order mark at the start; the line keeps it.
        data = pa.py_buffer(_BOM_BYTES + data.to_pybytes())
    table = pacsv.read_csv(
        data,
        read_options=pacsv.ReadOptions(
            column_names=names, use_threads=False, block_size=max(_CSV_BLOCK, 2 * longest)
        ),
        parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            include_columns=list(_KEPT_DOJ),
            # As Spark's CSV reader: an empty field, quoted or not, is null.
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=True,
            check_utf8=False,  # the checks above let only UTF-8 text through
        ),
    )
    return table.rename_columns(list(KEPT_DOJ_COLUMNS))


def _blank_subject(table: pa.Table) -> np.ndarray:
    subject = table.column(SUBJECT_ID)
    blank = pc.or_kleene(pc.is_null(subject), pc.match_substring_regex(subject, "^ *$")).to_numpy(
        zero_copy_only=False
    )
    return np.asarray(blank, dtype=bool)


def _masked_column(table: pa.Table, name: str, screen: str, mask: Callable[[str], str]) -> pa.Table:
    column = table.column(name)
    hit = pc.fill_null(pc.match_substring_regex(column, screen), False)
    if not pc.any(hit).as_py():
        return table
    column, hit = column.combine_chunks(), hit.combine_chunks()
    rows = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
    masked = [mask(str(column[int(i)].as_py())) for i in rows]
    replaced = pc.replace_with_mask(column, hit, pa.array(masked, pa.string()))
    return table.set_column(table.schema.get_field_index(name), name, replaced)


def _masked_identifiers(table: pa.Table) -> pa.Table:
    """SSN- and licence-shaped tokens masked in every kept column, by the column's kind
    (transforms/columns.py: UNMASKED_COLUMNS kept, NUMBER_COLUMNS only written shapes; every
    other column, COMMENT_TEXT's charge text included, every shape)."""
    for name in table.column_names:
        if name in UNMASKED_COLUMNS:
            continue
        if name in NUMBER_COLUMNS:
            table = _masked_column(table, name, _NUMBER_SCREEN, mask_written_identifiers)
        else:
            table = _masked_column(table, name, _SHAPE_SCREEN, mask_identifiers)
    return table


def _staged(
    doj: pa.Table | None,
    range_id: int,
    lines: np.ndarray,
    reasons: Sequence[str] | None = None,
    raw_texts: Sequence[str] | None = None,
) -> pa.Table:
    n = len(lines)
    nulls = pa.chunked_array([pa.nulls(n, pa.string())])
    arrays = [doj.column(name) if doj is not None else nulls for name in KEPT_DOJ_COLUMNS]
    arrays.append(pa.chunked_array([np.full(n, range_id, dtype=np.int32)]))
    arrays.append(pa.chunked_array([lines.astype(np.int64)]))
    for texts in (reasons, raw_texts):
        arrays.append(pa.chunked_array([pa.array(texts, pa.string())]) if texts else nulls)
    return pa.Table.from_arrays(arrays, schema=STAGED_SCHEMA)


def ingest_chunk(
    buffer: pa.Buffer,
    starts: np.ndarray,
    ends: np.ndarray,
    *,
    range_id: int,
    first_line: int,
    header_row: int | None,
    layout: Layout,
) -> ChunkResult:
    """Classify, parse and mask consecutive lines of ``buffer``.

    ``starts``/``ends`` come from :func:`split_lines`; the lines are numbered from
    ``first_line`` (inside the range); ``header_row`` is the index of the file's header line
    when this chunk holds it.
    """
    n = len(starts)
    if n == 0:
        empty = _staged(None, range_id, np.zeros(0, np.int64))
        return ChunkResult(empty, empty)
    values = _line_values(buffer, starts, ends)
    data = np.frombuffer(buffer, dtype=np.uint8)
    # The two shapes exclude each other: match the one most lines have (a file whose lines
    # end with an empty 96th field ends them with a comma), then the other on the rest.
    last = ends - 1
    last -= data[last] == _LF
    last -= (data[last] == _CR) & (last > starts)
    first, second = (
        (_FIELDS_96, _FIELDS_95) if (data[last] == 44).mean() > 0.5 else (_FIELDS_95, _FIELDS_96)
    )
    matched = {first: _matches(values, first), second: np.zeros(n, dtype=bool)}
    rest = np.flatnonzero(~matched[first])
    if len(rest):
        matched[second][rest] = _matches(values.take(pa.array(rest)), second)
    fast95, fast96 = matched[_FIELDS_95], matched[_FIELDS_96]
    first_bytes = data[starts]
    maybe_header = np.flatnonzero(_MAYBE_HEADER[first_bytes])
    header_like = np.zeros(n, dtype=bool)
    if len(maybe_header):
        header_like[maybe_header] = _matches(values.take(pa.array(maybe_header)), _HEADER_START)
    fast_kept = (fast95 | fast96) & ~header_like
    if header_row is not None:
        fast_kept[header_row] = False

    slow = _Slow()
    view = memoryview(buffer)
    for i in np.flatnonzero(~fast_kept).tolist():
        content = line_content(bytes(view[int(starts[i]) : int(ends[i])]))
        if i == header_row:
            slow.header += 1
        elif is_blank(content):
            slow.blank += 1
        else:
            reason = exact_reason(content)
            if reason is not None:
                slow.quarantined.append((i, reason))
            elif (
                content.endswith(b",")
                and _QUOTED_FIELD.sub("", content.decode("utf-8")).count(",") == EXPECTED_FIELDS
            ):
                slow.kept96.append(i)
            else:
                slow.kept95.append(i)

    kept95 = fast95 & fast_kept
    kept95[slow.kept95] = True
    kept96 = fast96 & fast_kept
    kept96[slow.kept96] = True
    parsed: list[tuple[np.ndarray, pa.Table]] = []
    for mask, fields in ((kept95, EXPECTED_FIELDS), (kept96, EXPECTED_FIELDS + 1)):
        rows = np.flatnonzero(mask)
        if not len(rows):
            continue
        longest = int((ends[rows] - starts[rows]).max())
        if len(rows) == len(starts):  # the common case: every line, no copy
            data = buffer.slice(int(starts[0]), int(ends[-1] - starts[0]))
        else:
            data = pa.py_buffer(_gather(buffer, starts, ends, rows))
        parsed.append((rows, parse_lines(data, layout, fields, longest)))

    quarantined_rows = [i for i, _ in slow.quarantined]
    reasons = [r for _, r in slow.quarantined]
    kept_tables = []
    for rows, table in parsed:
        blank = _blank_subject(table)
        if blank.any():
            quarantined_rows.extend(rows[blank].tolist())
            reasons.extend([REASON_BLANK_SUBJECT] * int(blank.sum()))
            table = table.filter(pa.array(~blank))
            rows = rows[~blank]
        kept_tables.append(_staged(_masked_identifiers(table), range_id, rows + first_line))
    if kept_tables:
        kept = pa.concat_tables(kept_tables)
    else:
        kept = _staged(None, range_id, np.zeros(0, np.int64))
    order = np.argsort(np.asarray(quarantined_rows, dtype=np.int64), kind="stable")
    q_rows = np.asarray(quarantined_rows, dtype=np.int64)[order]
    raw = [
        masked_raw_text(line_content(bytes(view[int(starts[i]) : int(ends[i])])), layout)
        for i in q_rows.tolist()
    ]
    quarantined = _staged(None, range_id, q_rows + first_line, [reasons[i] for i in order], raw)
    return ChunkResult(kept, quarantined, lines=n, blank=slow.blank, header=slow.header)


# --- Spark: staged rows with their provenance ---------------------------------------------


def with_provenance(staged: DataFrame, ranges: DataFrame) -> DataFrame:
    """Staged rows with source_file, physical source_line, input_index and record_id.

    ``ranges`` has one row per byte range: RANGE_ID, SOURCE_FILE, INPUT_INDEX,
    LINES_BEFORE (lines of the file's earlier ranges) and FINGERPRINT of the file. The
    line number is the lines before the range plus the line's number inside it; record_id
    is ``<first 16 hex of the file's fingerprint>-<line number>``, stable across re-runs.
    RANGE_ID and LOCAL_LINE stay: they find the line in its staged file
    (jobs/warehouse/county_files.py).
    """
    line = F.col(LINES_BEFORE) + F.col(LOCAL_LINE)
    return (
        staged.join(F.broadcast(ranges), RANGE_ID)
        .withColumn(SOURCE_LINE, line)
        .withColumn(
            RECORD_ID,
            F.concat_ws("-", F.substring(F.col(FINGERPRINT), 1, 16), line.cast("string")),
        )
        .select(
            F.when(F.col(QUARANTINE_REASON).isNull(), F.lit(KIND_KEPT))
            .otherwise(F.lit(KIND_QUARANTINED))
            .alias(LINE_KIND),
            *KEPT_DOJ_COLUMNS,
            *PROVENANCE_COLUMNS,
            QUARANTINE_REASON,
            RAW_TEXT,
            RANGE_ID,
            LOCAL_LINE,
        )
    )


def kept_rows(ingested: DataFrame) -> DataFrame:
    """The rows the pipeline goes on with: DOJ columns + record_id, source_file/line."""
    return ingested.where(F.col(QUARANTINE_REASON).isNull()).select(
        *KEPT_DOJ_COLUMNS, *PROVENANCE_COLUMNS
    )


def kept_rows_in_ranges(ingested: DataFrame) -> DataFrame:
    """:func:`kept_rows` with each line's place in its staged file (RANGE_ID, LOCAL_LINE)."""
    return ingested.where(F.col(QUARANTINE_REASON).isNull()).select(
        *KEPT_DOJ_COLUMNS, *PROVENANCE_COLUMNS, RANGE_ID, LOCAL_LINE
    )


def quarantine_rows(ingested: DataFrame) -> DataFrame:
    """Lines that go to quarantine: file, line, reason and the masked raw text (truncated)."""
    return ingested.where(F.col(QUARANTINE_REASON).isNotNull()).select(
        SOURCE_FILE, SOURCE_LINE, RECORD_ID, QUARANTINE_REASON, RAW_TEXT
    )
