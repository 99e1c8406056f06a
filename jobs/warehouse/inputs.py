"""Reading DOJ extract files: resolve the input list, fingerprint files, read lines with Spark."""

from __future__ import annotations

import glob
import hashlib
import os
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, LongType, StringType, StructField, StructType

from transforms import ingest
from transforms.columns import INPUT_INDEX, RAW_LINE, SOURCE_FILE


class InputError(Exception):
    """The input list names a file that is missing, unreadable or given twice."""


@dataclass(frozen=True)
class InputFile:
    index: int
    path: str  # as the user gave it (after glob expansion)
    fingerprint: str  # blake2b-256 hex of the file's bytes
    size: int


def expand_inputs(spec: str | list[str]) -> list[str]:
    """Comma list and/or globs -> sorted, de-duplicated list of existing files."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    paths: list[str] = []
    for raw in (item.strip() for item in items):
        if not raw:
            continue
        matches = sorted(glob.glob(raw)) if glob.has_magic(raw) else [raw]
        if not matches:
            raise InputError(f"--input: no file matches {raw!r}")
        for match in matches:
            if not os.path.isfile(match):
                raise InputError(f"--input: {match!r} is not a file")
            if not os.access(match, os.R_OK):
                raise InputError(f"--input: {match!r} is not readable")
            if os.path.realpath(match) not in {os.path.realpath(p) for p in paths}:
                paths.append(match)
    if not paths:
        raise InputError("--input: no input file given")
    return paths


def fingerprint_file(path: str, chunk: int = 8 << 20) -> str:
    digest = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def describe_inputs(paths: list[str]) -> list[InputFile]:
    files = [InputFile(i, p, fingerprint_file(p), os.path.getsize(p)) for i, p in enumerate(paths)]
    seen: dict[str, str] = {}
    for f in files:
        if f.fingerprint in seen:
            raise InputError(
                f"--input: {f.path!r} has the same content as {seen[f.fingerprint]!r}; "
                "giving the same extract twice would count its rows twice"
            )
        seen[f.fingerprint] = f.path
    return files


def _local_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return os.path.realpath(unquote(parsed.path))
    return uri


@dataclass(frozen=True)
class LineStats:
    """Counted while numbering lines, before any line is classified."""

    lines: int
    blank: int
    headers: int

    @property
    def rows_read(self) -> int:
        """Every non-blank line except a header on line 1."""
        return self.lines - self.blank - self.headers


def read_classified_lines(spark: SparkSession, files: list[InputFile]) -> DataFrame:
    """Every physical line of the inputs with its file, line number and kind (ingest.py)."""
    return ingest.with_line_kind(read_lines(spark, files)[0])


def read_lines(spark: SparkSession, files: list[InputFile]) -> tuple[DataFrame, LineStats]:
    """Every physical line with its file, input index, fingerprint and line number, not yet
    classified; and the line counts of the numbering pass.

    The lines are a lazy DataFrame: each action reads the text again, with the same splits
    and line numbers (the split table is computed once, here).
    """
    lines = (
        spark.read.format("text")
        .load([f.path for f in files])
        .select(
            F.col("value").alias(RAW_LINE),
            F.col("_metadata.file_path").alias(ingest.FILE_PATH),
            F.col("_metadata.file_block_start").alias(ingest.BLOCK_START),
            F.monotonically_increasing_id().alias(ingest.ROW_ID),
        )
    )
    # The per-split aggregate is a few rows per file: collecting it is not collecting data.
    splits = sorted(
        ingest.split_line_offsets(lines).collect(),
        key=lambda r: (r[ingest.FILE_PATH], r[ingest.BLOCK_START]),
    )
    by_real_path = {os.path.realpath(f.path): f for f in files}
    rows = []
    lines_before: dict[str, int] = {}
    stats = LineStats(
        lines=sum(s[ingest.SPLIT_LINES] for s in splits),
        blank=sum(s[ingest.SPLIT_BLANK_LINES] for s in splits),
        headers=sum(
            1 for s in splits if s[ingest.BLOCK_START] == 0 and s[ingest.SPLIT_STARTS_WITH_HEADER]
        ),
    )
    for split in splits:
        spark_path = split[ingest.FILE_PATH]
        source = by_real_path.get(_local_path(spark_path))
        if source is None:  # a remote URI given as such
            source = next(f for f in files if f.path == spark_path)
        before = lines_before.get(spark_path, 0)
        rows.append(
            (
                spark_path,
                split[ingest.BLOCK_START],
                split[ingest.SPLIT_FIRST_ROW_ID],
                before,
                source.path,
                source.index,
                source.fingerprint,
            )
        )
        lines_before[spark_path] = before + split[ingest.SPLIT_LINES]
    schema = StructType(
        [
            StructField(ingest.FILE_PATH, StringType()),
            StructField(ingest.BLOCK_START, LongType()),
            StructField(ingest.SPLIT_FIRST_ROW_ID, LongType()),
            StructField(ingest.LINES_BEFORE_SPLIT, LongType()),
            StructField(SOURCE_FILE, StringType()),
            StructField(INPUT_INDEX, IntegerType()),
            StructField(ingest.FINGERPRINT, StringType()),
        ]
    )
    split_table = spark.createDataFrame(rows, schema)
    return ingest.with_source_line(lines, split_table), stats
