"""Ingest: raw text lines of DOJ extract files -> rows of an explicit all-string schema.

The job reads each input as text (one row per physical line, with Spark's file metadata) and
hands the lines here. Every line ends in exactly one of three places:

- skipped: a blank line, or a header line (line 1 starting with ``RECORD_ID``);
- quarantine: wrong number of fields (95, or 96 with an empty last field, are accepted),
  broken quoting, or bytes that are not text — with reason, file, line and raw text;
- kept: parsed into the 95 DOJ columns (less SSN/CDL), with record_id, source_file,
  source_line.

Line numbers are physical line numbers in the file (blank lines count), so a person can open
the file at the line a message names. Spark splits big files; ``split_line_offsets`` counts
the lines of every split (an aggregate, a few rows per file) so each line's number is the
lines before its split plus its position inside the split.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from transforms.columns import (
    DOJ_COLUMNS,
    INPUT_INDEX,
    KEPT_DOJ_COLUMNS,
    PII_COLUMNS,
    QUARANTINE_REASON,
    RAW_LINE,
    RECORD_ID,
    SOURCE_FILE,
    SOURCE_LINE,
    stored_name,
)

# Columns of the line DataFrame the job builds from Spark's text source.
FILE_PATH = "_file_path"  # _metadata.file_path
BLOCK_START = "_block_start"  # _metadata.file_block_start
ROW_ID = "_row_id"  # monotonically_increasing_id(): partition id << 33 | position in partition
# Columns of the per-split table the job builds from split_line_offsets.
SPLIT_FIRST_ROW_ID = "_split_first_row_id"
SPLIT_LINES = "_split_lines"
LINES_BEFORE_SPLIT = "_lines_before_split"
FINGERPRINT = "_fingerprint"
LINE_KIND = "_line_kind"

KIND_KEPT = "kept"
KIND_BLANK = "blank"
KIND_HEADER = "header"
KIND_QUARANTINED = "quarantined"

EXPECTED_FIELDS = len(DOJ_COLUMNS)
RAW_TEXT_LIMIT = 2000  # characters of a bad line kept in quarantine

REASON_NOT_TEXT = "bytes that are not UTF-8 text"
REASON_BROKEN_QUOTING = "broken quoting: a quote that does not open or close a whole field"
REASON_FIELD_COUNT = "wrong number of fields: {n} (expected 95, or 96 with an empty last field)"
REASON_REPEATED_HEADER = "header line (RECORD_ID,...) after the first line of the file"

# A quoted field: a quote at the start of a field, any run of non-quotes or doubled quotes, a
# quote at the end of the field. The pattern starts with the quote itself (Java scans a line
# for a literal character fast) and then looks two characters back for a field start.
# Possessive quantifiers keep Java's regex from recursing.
_QUOTED_FIELD = r'"(?<![^,]")(?:[^"]++|"")*+"(?![^,])'
# Invalid UTF-8 decodes to U+FFFD; control characters other than tab never occur in text.
# The characters are listed one by one: Java tests such a class with one table lookup.
_CONTROL = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]
_NOT_TEXT = "[" + "".join(f"\\x{c:02X}" for c in _CONTROL) + "\\x{FFFD}]"
_PARSE_SCHEMA = ", ".join(f"`{c}` STRING" for c in (*DOJ_COLUMNS, "_extra_field"))


SPLIT_BLANK_LINES = "_split_blank_lines"
SPLIT_STARTS_WITH_HEADER = "_split_starts_with_header"


def is_header_like(line: Column) -> Column:
    """Starts with RECORD_ID, in any case, after spaces. Only a line starting with a space or
    an R is upper-cased, and only its start: a DOJ line is hundreds of characters."""
    return F.substring(line, 1, 1).isin(" ", "R", "r") & F.upper(
        F.ltrim(F.substring(line, 1, 64))
    ).startswith("RECORD_ID")


def is_blank(line: Column) -> Column:
    """Empty or only spaces. Only a line that starts with a space is trimmed (a copy)."""
    return F.substring(line, 1, 1).isin("", " ") & (F.trim(line) == "")


def split_line_offsets(lines: DataFrame) -> DataFrame:
    """Per file split: first row id, line count, blank lines, whether it starts with a header.

    A handful of rows per file. The counts give rows read (every non-blank line but a
    header on line 1) independently of how the lines are later classified.
    """
    return lines.groupBy(FILE_PATH, BLOCK_START).agg(
        F.min(ROW_ID).alias(SPLIT_FIRST_ROW_ID),
        F.count(F.lit(1)).alias(SPLIT_LINES),
        F.sum(is_blank(F.col(RAW_LINE)).cast("long")).alias(SPLIT_BLANK_LINES),
        F.min_by(is_header_like(F.col(RAW_LINE)), F.col(ROW_ID)).alias(SPLIT_STARTS_WITH_HEADER),
    )


def with_source_line(lines: DataFrame, splits: DataFrame) -> DataFrame:
    """Physical 1-based line number of each line, from its split's offset.

    ``splits`` has one row per split: FILE_PATH, BLOCK_START, SPLIT_FIRST_ROW_ID,
    LINES_BEFORE_SPLIT, plus SOURCE_FILE, INPUT_INDEX and FINGERPRINT of the input file.
    Rows inside a split keep file order and consecutive row ids, so the position inside the
    split is the row id minus the split's first row id.
    """
    joined = lines.join(F.broadcast(splits), [FILE_PATH, BLOCK_START], "inner")
    return joined.withColumn(
        SOURCE_LINE,
        F.col(LINES_BEFORE_SPLIT) + (F.col(ROW_ID) - F.col(SPLIT_FIRST_ROW_ID)) + F.lit(1),
    ).drop(FILE_PATH, BLOCK_START, ROW_ID, SPLIT_FIRST_ROW_ID, LINES_BEFORE_SPLIT)


def _without_quoted_fields(line: Column) -> Column:
    return F.regexp_replace(line, _QUOTED_FIELD, "")


def _commas_plus_one(text: Column) -> Column:
    return F.length(text) - F.length(F.replace(text, F.lit(","), F.lit(""))) + F.lit(1)


def ends_with_empty_field(line: Column) -> Column:
    return line.endswith(",")


def is_row(line: Column, source_line: Column) -> Column:
    """Kept or quarantined, i.e. neither blank nor the header line: cheap, unlike the kind.

    Filters select rows with this rather than with the kind: Spark pushes a filter down
    into the operator below, which would compute the kind's regexes a second time.
    """
    return ~is_blank(line) & ~(is_header_like(line) & (source_line == 1))


# A line whose quoted fields are each replaced by one letter: 95 fields holding no quote and
# no comma, or 96 with an empty last one.
_UNQUOTED_95_FIELDS = f'^[^,"]*+(?:,[^,"]*+){{{EXPECTED_FIELDS - 1}}},?\\z'


def is_clean_row(line: Column) -> Column:
    """True when the line is text, quoted correctly and has 95 fields (or 96, the last empty).

    The common case, in three cheap regex steps: a scan for characters that are not text, a
    replacement of each quoted field by a letter, and one anchored match of the result's 95
    fields (each expression appears once: Spark would compute a repeated one again). Lines
    it rejects go through :func:`exact_reason`; such lines are rare.
    """
    fields = F.regexp_replace(line, _QUOTED_FIELD, "Q")
    return ~line.rlike(_NOT_TEXT) & fields.rlike(_UNQUOTED_95_FIELDS)


def is_kept_line(line: Column) -> Column:
    """The kind is kept (:func:`with_line_kind`), decided from the line alone: a clean row
    that is not a header. (Every reason to quarantine makes a line unclean, save a repeated
    header; a blank line has one field.)"""
    return is_clean_row(line) & ~is_header_like(line)


def exact_reason(line: Column) -> Column:
    """Why a line that is not blank goes to quarantine, or null: every check, in the order
    that decides the reason (not text, broken quoting, a repeated header, the field count)."""
    unquoted = _without_quoted_fields(line)
    count = _commas_plus_one(unquoted)
    return (
        F.when(line.rlike(_NOT_TEXT), F.lit(REASON_NOT_TEXT))
        .when(unquoted.contains('"'), F.lit(REASON_BROKEN_QUOTING))
        .when(is_header_like(line), F.lit(REASON_REPEATED_HEADER))
        .when(
            (count == EXPECTED_FIELDS)
            | ((count == EXPECTED_FIELDS + 1) & ends_with_empty_field(line)),
            F.lit(None),
        )
        .otherwise(F.format_string(REASON_FIELD_COUNT.replace("{n}", "%d"), count))
    )


def quarantine_reason(line: Column) -> Column:
    """:func:`exact_reason`, computed only for the rare lines :func:`is_kept_line` rejects."""
    return F.when(is_kept_line(line), F.lit(None).cast("string")).otherwise(exact_reason(line))


def with_line_kind(lines: DataFrame) -> DataFrame:
    """Classify each line: kept, blank, header (first line only) or quarantined + reason.

    The reason is a column of its own that the kind reads (Spark does not copy a costly
    expression into two places).
    """
    line = F.col(RAW_LINE)
    kind = (
        F.when(is_blank(line), F.lit(KIND_BLANK))
        .when(~is_row(line, F.col(SOURCE_LINE)), F.lit(KIND_HEADER))
        .when(F.col(QUARANTINE_REASON).isNotNull(), F.lit(KIND_QUARANTINED))
        .otherwise(F.lit(KIND_KEPT))
    )
    return (
        lines.withColumn(QUARANTINE_REASON, quarantine_reason(line))
        .withColumn(LINE_KIND, kind)
        .withColumn(
            QUARANTINE_REASON,
            F.when(F.col(LINE_KIND) == KIND_QUARANTINED, F.col(QUARANTINE_REASON)),
        )
    )


def with_record_id(df: DataFrame) -> DataFrame:
    """``<first 16 hex of the file's fingerprint>-<line number>``: stable across re-runs."""
    return df.withColumn(
        RECORD_ID,
        F.concat_ws("-", F.substring(F.col(FINGERPRINT), 1, 16), F.col(SOURCE_LINE).cast("string")),
    )


_PII_POSITIONS = [DOJ_COLUMNS.index(c) for c in PII_COLUMNS]
# Anything shaped like an SSN (9 digits, dashes optional) or a California driver's licence
# (a letter and 7 digits), wherever a broken line put it.
_SSN_SHAPE = r"(?<![0-9A-Za-z])[0-9]{3}-?[0-9]{2}-?[0-9]{4}(?![0-9A-Za-z])"
_CDL_SHAPE = r"(?<![0-9A-Za-z])[A-Za-z][0-9]{7}(?![0-9A-Za-z])"
PII_MASK = "#"


def masked_raw_text(line: Column) -> Column:
    """A bad line's text with SSN and CDL removed, for people to read in quarantine.

    The SSN/CDL field positions are blanked on a naive comma split, and anything shaped like
    an SSN or a licence number is masked wherever it is (a broken line may have shifted its
    fields). Invalid UTF-8 stays raw bytes inside Spark strings; it is re-encoded as U+FFFD so
    the table holds valid text.
    """
    fields = F.split(F.regexp_replace(line, _NOT_TEXT, "\ufffd"), ",", -1)
    blanked = F.transform(
        fields, lambda value, i: F.when(i.isin(_PII_POSITIONS), F.lit("")).otherwise(value)
    )
    text = F.array_join(blanked, ",")
    text = F.regexp_replace(text, _SSN_SHAPE, PII_MASK * 9)
    return F.regexp_replace(text, _CDL_SHAPE, PII_MASK * 8)


RAW_TEXT = "raw_text"
PROVENANCE_COLUMNS: tuple[str, ...] = (RECORD_ID, SOURCE_FILE, SOURCE_LINE, INPUT_INDEX)
_PARSE_OPTIONS = {"escape": '"', "mode": "PERMISSIVE"}


def ingested_lines(classified: DataFrame) -> DataFrame:
    """Kept and quarantined lines in one shape, the job's materialised ingest output.

    Kept lines carry the DOJ columns parsed (all strings; SSN and CDL never selected);
    quarantined lines carry their reason and masked raw text. Blank and header lines are not
    rows (they are not counted as rows read).
    """
    is_kept = F.col(LINE_KIND) == KIND_KEPT
    parsed = F.when(is_kept, F.from_csv(F.col(RAW_LINE), _PARSE_SCHEMA, _PARSE_OPTIONS))
    return (
        classified.where(is_row(F.col(RAW_LINE), F.col(SOURCE_LINE)))
        .transform(with_record_id)
        .withColumn("_parsed", parsed)
        .select(
            F.col(LINE_KIND),
            *[F.col("_parsed").getField(c).alias(stored_name(c)) for c in _KEPT_DOJ],
            *PROVENANCE_COLUMNS,
            F.col(QUARANTINE_REASON),
            F.when(
                ~is_kept, F.substring(masked_raw_text(F.col(RAW_LINE)), 1, RAW_TEXT_LIMIT)
            ).alias(RAW_TEXT),
        )
    )


_KEPT_DOJ = tuple(c for c in DOJ_COLUMNS if c not in PII_COLUMNS)


def kept_rows(ingested: DataFrame) -> DataFrame:
    """The rows the pipeline goes on with: DOJ columns + record_id, source_file/line."""
    return ingested.where(F.col(LINE_KIND) == KIND_KEPT).select(
        *KEPT_DOJ_COLUMNS, *PROVENANCE_COLUMNS
    )


def quarantine_rows(ingested: DataFrame) -> DataFrame:
    """Lines that go to quarantine: file, line, reason and the masked raw text (truncated)."""
    return ingested.where(F.col(LINE_KIND) == KIND_QUARANTINED).select(
        SOURCE_FILE, SOURCE_LINE, RECORD_ID, QUARANTINE_REASON, RAW_TEXT
    )


def parsed_rows(classified: DataFrame) -> DataFrame:
    """Kept lines parsed into the DOJ columns, straight from classified lines."""
    return kept_rows(ingested_lines(classified))


def quarantined_lines(classified: DataFrame) -> DataFrame:
    """Quarantined lines, straight from classified lines."""
    return quarantine_rows(ingested_lines(classified))
