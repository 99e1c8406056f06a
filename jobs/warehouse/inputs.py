"""Reading DOJ extract files: the input list, each file's columns, and the ingest pass.

Before Spark, on the driver: the input list is expanded (local globs; URIs through
jobs/warehouse/fs.py), each file's size is looked up and only its head is read (a ``.gz`` or
``.bz2`` head decompressed) to find a header and map columns by name. A bad header, an
empty or header-only file, a file that is not the compression its name says: InputError,
before anything is written.

The ingest pass: every file is cut into byte ranges (``spark.relief.ingest.rangeBytes``,
32 MiB by default, a multiple of the 4 MiB hash block; a compressed file is one range) and
one Spark task per range reads its bytes through pyarrow's file systems (local or object
store alike), owns the lines that start in it, hashes its blocks, classifies and parses its
lines (transforms/ingest.py) and writes them as Parquet straight into the run's staging
directory. It returns one small row: its line counts and block hashes, or the error that
stopped it. The driver collects those rows and derives each file's fingerprint (blake2b-256
over the file size and the blake2b-256 of every 4 MiB block: :func:`fingerprint_file`
computes the same on one machine), the rows read and each range's first line number. No
input byte is read on the driver beyond the heads.
"""

from __future__ import annotations

import bz2
import fnmatch
import glob
import hashlib
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import IntegerType, LongType, StringType, StructField, StructType

from relief.jobs.warehouse import fs
from relief.transforms import ingest
from relief.transforms.columns import INPUT_INDEX, QUARANTINE_REASON, SOURCE_FILE


class InputError(Exception):
    """An input is missing, unreadable, given twice, empty, or not what its name says."""


@dataclass(frozen=True)
class InputFile:
    index: int
    path: str  # fs.normalize(location): an absolute local path or a URI
    fingerprint: str  # see fingerprint_file; "" until the ingest pass has hashed the file
    size: int


HASH_BLOCK = 4 << 20  # fixed: the fingerprint must not depend on how the file is cut
DEFAULT_RANGE_BYTES = 32 << 20
RANGE_BYTES_CONF = "spark.relief.ingest.rangeBytes"
CHUNK_BYTES = 32 << 20  # decompressed bytes a task classifies and parses at a time
HEAD_BYTES = 1 << 20  # bytes (decompressed) read on the driver to look at a file's start
_FINGERPRINT_PREFIX = b"relief-input-v1"
COMPRESSION = {".gz": "gzip", ".bz2": "bz2"}
_NOT_SUPPORTED = (".zst", ".zstd", ".lz4", ".snappy", ".deflate", ".xz", ".zip", ".7z", ".br")


# --- the input list -------------------------------------------------------------------------


def expand_inputs(spec: str | list[str]) -> list[str]:
    """Comma list and/or globs -> de-duplicated list of existing files, as fs.normalize
    spells them (globs expand in sorted order)."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    paths: list[str] = []
    seen: set[str] = set()
    for raw in (item.strip() for item in items):
        if not raw:
            continue
        for match in _local_matches(raw) if fs.is_local(raw) else _remote_matches(raw):
            key = os.path.realpath(match) if fs.is_local(match) else match
            if key not in seen:
                seen.add(key)
                paths.append(match)
    if not paths:
        raise InputError("--input: no input file given")
    return paths


def _local_matches(raw: str) -> list[str]:
    local = fs.local_path(raw) if raw.startswith("file://") else raw
    matches = sorted(glob.glob(local)) if glob.has_magic(local) else [local]
    if not matches:
        raise InputError(f"--input: no file matches {raw!r}")
    for match in matches:
        if not os.path.isfile(match):
            raise InputError(f"--input: {match!r} is not a file")
        if not os.access(match, os.R_OK):
            raise InputError(f"--input: {match!r} is not readable")
    return [fs.normalize(m) for m in matches]


def _remote_matches(raw: str) -> list[str]:
    location = fs.normalize(raw)
    try:
        filesystem, path = fs.filesystem(location)
        if glob.has_magic(path):
            parent, pattern = path.rsplit("/", 1)
            prefix = location.rsplit("/", 1)[0]
            infos = filesystem.get_file_info(pafs.FileSelector(parent, allow_not_found=True))
            names = sorted(
                info.base_name
                for info in infos
                if info.type == pafs.FileType.File and fnmatch.fnmatchcase(info.base_name, pattern)
            )
            if not names:
                raise InputError(f"--input: no file matches {raw!r}")
            return [f"{prefix}/{name}" for name in names]
        if filesystem.get_file_info(path).type != pafs.FileType.File:
            raise InputError(f"--input: {raw!r} is not a file")
    except (OSError, ValueError) as exc:
        raise InputError(f"--input: cannot read {raw!r}: {exc}") from exc
    return [location]


def describe_inputs(paths: list[str]) -> list[InputFile]:
    """Index and size of every input, after a look at each file's head (:func:`plan_file`).

    Fingerprints are left empty: the ingest pass computes them (stage_ingest returns the
    files with fingerprints filled).
    """
    files = [InputFile(i, fs.normalize(p), "", _size(p)) for i, p in enumerate(paths)]
    for file in files:
        plan_file(file)
    return files


def _size(location: str) -> int:
    try:
        if fs.is_local(location):
            return os.path.getsize(fs.local_path(location))
        filesystem, path = fs.filesystem(location)
        return int(filesystem.get_file_info(path).size or 0)
    except OSError as exc:
        raise InputError(f"--input: cannot read {location!r}: {exc}") from exc


# --- a file's head: compression, header, columns --------------------------------------------


@dataclass(frozen=True)
class FilePlan:
    file: InputFile
    compression: str | None  # "gzip", "bz2" or None
    has_header: bool
    columns: tuple[str, ...]  # the DOJ column of each field, in file order


def compression_of(location: str) -> str | None:
    name = location.lower()
    for suffix, kind in COMPRESSION.items():
        if name.endswith(suffix):
            return kind
    if name.endswith(_NOT_SUPPORTED):
        raise InputError(
            f"--input: {location}: this compression is not supported; "
            "decompress the file, or compress it with gzip (.gz)"
        )
    return None


def plan_file(file: InputFile) -> FilePlan:
    """Compression, header and columns of a file, from its head. Raises InputError."""
    compression = compression_of(file.path)
    head, complete = _read_head(file, compression)
    lines = head.splitlines() if complete else head.splitlines()[:1]
    first = lines[0] if lines else b""
    try:
        layout = ingest.header_layout(first)
    except ingest.HeaderError as exc:
        raise InputError(
            f"{file.path}: {exc}. A header must name the 95 columns of DOMAIN.md §1 "
            "(any order); fix the header line, or remove it to read the columns in that order"
        ) from exc
    if complete and not any(
        line.strip(b" ") for line in (lines[1:] if layout is not None else lines)
    ):
        what = "holds only a header line" if layout is not None else "has no data lines"
        raise InputError(f"{file.path}: the file {what}; give the DOJ extract with its rows")
    return FilePlan(
        file,
        compression,
        layout is not None,
        layout.columns if layout is not None else ingest.Layout().columns,
    )


def _read_head(file: InputFile, compression: str | None) -> tuple[bytes, bool]:
    """The first HEAD_BYTES of the file's text, and whether that is the whole of it."""
    try:
        filesystem, path = fs.filesystem(file.path)
        with filesystem.open_input_stream(path, compression=None) as stream:
            if compression is None:
                head = stream.read(HEAD_BYTES)
                return head, len(head) >= file.size
            decompressor = Decompressor(compression)
            out = bytearray()
            while len(out) < HEAD_BYTES:
                block = stream.read(1 << 16)
                if not block:
                    decompressor.finish()
                    return bytes(out), True
                for piece in decompressor.feed(block):
                    out += piece
            return bytes(out), False
    except DecompressError as exc:
        raise InputError(_decompress_message(file.path, compression, exc)) from exc
    except OSError as exc:
        raise InputError(f"--input: cannot read {file.path!r}: {exc}") from exc


# --- decompression ----------------------------------------------------------------------------


class DecompressError(Exception):
    pass


class Decompressor:
    """gzip or bzip2 with several members one after the other (as ``cat a.gz b.gz`` makes),
    zero padding after the last one allowed; output in pieces of at most ``piece`` bytes so a
    small compressed block cannot fill the memory."""

    def __init__(self, kind: str, piece: int = 8 << 20) -> None:
        self.kind = kind
        self.piece = piece
        self._stream: Any = self._new()
        self._fed = False
        self._more = False  # output is pending without more input
        self._padding = False

    def _new(self) -> Any:
        return zlib.decompressobj(wbits=31) if self.kind == "gzip" else bz2.BZ2Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._fed = self._fed or bool(data)
        after_member = False
        try:
            while data or self._more:
                if self._stream.eof:  # a member ended: another member follows, or padding
                    if self._padding or not data.strip(b"\0"):
                        if data.strip(b"\0"):
                            raise DecompressError("data after the end of the compressed stream")
                        self._padding = True
                        return
                    self._stream = self._new()
                    after_member = True
                try:
                    out = self._stream.decompress(data, self.piece)
                except (zlib.error, OSError) as exc:
                    if after_member:
                        raise DecompressError(
                            "data after the end of the compressed stream"
                        ) from exc
                    raise
                after_member = False
                if self._stream.eof:
                    data, self._more = self._stream.unused_data, False
                elif self.kind == "gzip":
                    data, self._more = self._stream.unconsumed_tail, len(out) == self.piece
                else:
                    data, self._more = b"", not self._stream.needs_input
                if out:
                    yield out
        except (zlib.error, OSError, EOFError, ValueError) as exc:
            raise DecompressError(str(exc)) from exc

    def finish(self) -> None:
        if not self._fed:
            raise DecompressError("the file is empty")
        if not self._stream.eof:
            raise DecompressError("the compressed data ends before the end of its stream")


def _decompress_message(path: str, compression: str | None, exc: Exception) -> str:
    kind = "gzip" if compression == "gzip" else "bzip2"
    return (
        f"{path}: not readable as {kind} data ({exc}): the file is truncated or is not "
        f"{kind}. Copy it again from its source (`{kind} -t` checks a copy), or give it "
        "uncompressed without the suffix"
    )


# --- the fingerprint ----------------------------------------------------------------------------


def combine_fingerprint(size: int, block_hashes: list[bytes]) -> str:
    digest = hashlib.blake2b(digest_size=32)
    digest.update(_FINGERPRINT_PREFIX)
    digest.update(size.to_bytes(8, "little"))
    for block in block_hashes:
        digest.update(block)
    return digest.hexdigest()


def block_hash(data: bytes | memoryview) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def fingerprint_file(location: str) -> str:
    """A file's fingerprint, computed on this machine (the ingest pass computes the same from
    its ranges): blake2b-256 of ``relief-input-v1``, the size as 8 bytes little-endian, and
    the blake2b-256 digest of each 4 MiB block of the file's bytes (as stored, compressed or
    not), in order."""
    filesystem, path = fs.filesystem(location)
    hashes = []
    size = 0
    with filesystem.open_input_stream(path, compression=None) as stream:
        while block := _read_exactly(stream, HASH_BLOCK):
            size += len(block)
            hashes.append(block_hash(block))
    return combine_fingerprint(size, hashes)


def _read_exactly(stream: Any, count: int) -> bytes:
    parts = []
    while count > 0:
        part = stream.read(count)
        if not part:
            break
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


# --- the ingest pass: one task per byte range ------------------------------------------------


@dataclass(frozen=True)
class RangeSpec:
    range_id: int
    file_index: int
    path: str
    start: int
    end: int
    size: int
    compression: str | None
    has_header: bool
    columns: tuple[str, ...]


def plan_ranges(plans: list[FilePlan], range_bytes: int) -> list[RangeSpec]:
    """Byte ranges of every file, in file order: range boundaries on HASH_BLOCK multiples;
    a compressed file (not splittable) or an empty one is one range."""
    step = max(HASH_BLOCK, range_bytes // HASH_BLOCK * HASH_BLOCK)
    specs: list[RangeSpec] = []
    for plan in plans:
        size = plan.file.size
        bounds = (
            [(0, size)]
            if plan.compression or size == 0
            else [(s, min(s + step, size)) for s in range(0, size, step)]
        )
        for start, end in bounds:
            specs.append(
                RangeSpec(
                    len(specs),
                    plan.file.index,
                    plan.file.path,
                    start,
                    end,
                    size,
                    plan.compression,
                    plan.has_header,
                    plan.columns,
                )
            )
    return specs


META_SCHEMA = pa.schema(
    [
        ("range_id", pa.int32()),
        ("lines", pa.int64()),
        ("blank", pa.int64()),
        ("header", pa.int64()),
        ("kept", pa.int64()),
        ("quarantined", pa.int64()),
        ("block_hashes", pa.list_(pa.binary())),
        ("error", pa.string()),
    ]
)
_META_DDL = (
    "range_id int, lines bigint, blank bigint, header bigint, kept bigint, "
    "quarantined bigint, block_hashes array<binary>, error string"
)


@dataclass
class RangeResult:
    range_id: int
    lines: int = 0
    blank: int = 0
    header: int = 0
    kept: int = 0
    quarantined: int = 0
    block_hashes: list[bytes] | None = None
    error: str | None = None

    def batch(self) -> pa.RecordBatch:
        row = {k: [v] for k, v in self.__dict__.items()}
        row["block_hashes"] = [self.block_hashes or []]
        return pa.RecordBatch.from_pydict(row, schema=META_SCHEMA)


def staged_file(directory: str, range_id: int) -> str:
    return fs.join(directory, f"part-{range_id:05d}.parquet")


def ingest_range(spec: RangeSpec, directory: str, attempt: int = 0) -> RangeResult:
    """One task: read, hash, classify, parse and stage the lines that start in the range.

    On a local file system the Parquet file is written under a name of its own attempt and
    renamed when whole, so a retried or speculative attempt never mixes with another; an
    object store makes a file visible only when it is closed.
    """
    result = RangeResult(spec.range_id, block_hashes=[])
    layout = ingest.Layout(spec.columns)
    out_fs, final_path = fs.filesystem(staged_file(directory, spec.range_id))
    local = isinstance(out_fs, pafs.LocalFileSystem)
    # Spark's file index skips names starting with "_": a dead attempt's file is never read.
    head, name = final_path.rsplit("/", 1)
    out_path = f"{head}/_attempt-{attempt}-{name}" if local else final_path
    filesystem, path = fs.filesystem(spec.path)
    try:
        with pq.ParquetWriter(
            out_path,
            ingest.STAGED_SCHEMA,
            filesystem=out_fs,
            # Read once or twice, then deleted: no dictionaries, and statistics only for the
            # reason (Spark skips the kept or the quarantined row groups by its null count).
            use_dictionary=False,
            compression="snappy",
            write_statistics=[QUARANTINE_REASON],
        ) as writer:
            chunks = (
                _compressed_chunks(filesystem, path, spec, result)
                if spec.compression
                else _plain_chunk(filesystem, path, spec, result)
            )
            line = 1
            for buffer, starts, ends, header_row in chunks:
                done = ingest.ingest_chunk(
                    buffer,
                    starts,
                    ends,
                    range_id=spec.range_id,
                    first_line=line,
                    header_row=header_row,
                    layout=layout,
                )
                line += done.lines
                result.lines += done.lines
                result.blank += done.blank
                result.header += done.header
                result.kept += done.kept.num_rows
                result.quarantined += done.quarantined.num_rows
                for table in (done.kept, done.quarantined):
                    if table.num_rows:
                        writer.write_table(table)
        if local:
            out_fs.move(out_path, final_path)
    except DecompressError as exc:
        result.error = _decompress_message(spec.path, spec.compression, exc)
    except ReadError as exc:
        result.error = f"{spec.path}: cannot read the file: {exc}"
    return result


Chunk = tuple[pa.Buffer, np.ndarray, np.ndarray, int | None]


class ReadError(Exception):
    """An input could not be read (or changed) while a task read it."""


_TAIL = 1 << 16  # read past a range's end at once: its last line usually ends in there


def _plain_chunk(
    filesystem: pafs.FileSystem, path: str, spec: RangeSpec, result: RangeResult
) -> Iterator[Chunk]:
    """The range's bytes, with the byte before it and the rest of its last line."""
    before = 1 if spec.start > 0 else 0
    owned = spec.end - spec.start
    try:
        with filesystem.open_input_file(path) as handle:
            if handle.size() != spec.size:
                raise ReadError(f"its size changed from {spec.size:,} to {handle.size():,} bytes")
            stop = min(spec.end + _TAIL, spec.size)
            data = handle.read_at(stop - spec.start + before, spec.start - before)
            while stop < spec.size and not _has_line_end(data, before + owned - 1):
                more = handle.read_at(min(1 << 20, spec.size - stop), stop)
                if not more:
                    break
                data += more
                stop += len(more)
    except OSError as exc:
        raise ReadError(str(exc)) from exc
    if len(data) != stop - spec.start + before:
        raise ReadError("it is shorter than when the run started")
    view = memoryview(data)[before : before + owned]
    result.block_hashes = [
        block_hash(view[i : i + HASH_BLOCK]) for i in range(0, owned, HASH_BLOCK)
    ]
    buffer = pa.py_buffer(data)
    starts, ends = ingest.split_lines(
        np.frombuffer(buffer, dtype=np.uint8),
        before,
        before + owned,
        starts_at_begin=spec.start == 0,
    )
    header_row = 0 if spec.has_header and spec.start == 0 and len(starts) else None
    yield buffer, starts, ends, header_row


def _has_line_end(data: bytes, at: int) -> bool:
    """A line terminator at or after ``at``: every line starting before it ends in data."""
    return data.find(b"\n", max(at, 0)) >= 0 or data.find(b"\r", max(at, 0)) >= 0


def _compressed_chunks(
    filesystem: pafs.FileSystem, path: str, spec: RangeSpec, result: RangeResult
) -> Iterator[Chunk]:
    """Decompressed text in chunks that end at a line end; blocks hashed as read."""
    decompressor = Decompressor(spec.compression or "gzip")
    pending = bytearray()
    hashes: list[bytes] = []
    result.block_hashes = hashes
    first = True
    read = 0
    try:
        stream = filesystem.open_input_stream(path, compression=None)
    except OSError as exc:
        raise ReadError(str(exc)) from exc
    with stream:
        while True:
            try:
                block = _read_exactly(stream, HASH_BLOCK)
            except OSError as exc:
                raise ReadError(str(exc)) from exc
            if not block:
                break
            read += len(block)
            hashes.append(block_hash(block))
            for piece in decompressor.feed(block):
                pending += piece
                if len(pending) >= CHUNK_BYTES:
                    cut = _last_line_end(pending)
                    if cut:
                        yield _chunk(bytes(pending[:cut]), first and spec.has_header)
                        first = False
                        del pending[:cut]
    if read != spec.size:
        raise ReadError(f"its size changed from {spec.size:,} to {read:,} bytes")
    decompressor.finish()
    if pending:
        yield _chunk(bytes(pending), first and spec.has_header)


def _last_line_end(data: bytearray) -> int:
    """Just past the last line terminator known to be whole (a CR needs the byte after it)."""
    return max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1


def _chunk(data: bytes, holds_header: bool) -> Chunk:
    buffer = pa.py_buffer(data)
    starts, ends = ingest.split_lines(
        np.frombuffer(buffer, dtype=np.uint8), 0, len(data), starts_at_begin=True
    )
    return buffer, starts, ends, 0 if holds_header and len(starts) else None


def _range_task(
    specs: list[RangeSpec], order: list[int], directory: str
) -> Callable[[Iterable[pa.RecordBatch]], Iterable[pa.RecordBatch]]:
    def run(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        context = TaskContext.get()
        attempt = context.taskAttemptId() if context is not None else 0
        for batch in batches:
            for partition in batch.column(0).to_pylist():
                yield ingest_range(specs[order[partition]], directory, attempt).batch()

    return run


@dataclass(frozen=True)
class LineStats:
    """Counted by the ingest pass, per kind of line."""

    lines: int
    blank: int
    headers: int
    kept: int = 0
    quarantined: int = 0

    @property
    def rows_read(self) -> int:
        """Every non-blank line except a header on line 1."""
        return self.lines - self.blank - self.headers


@dataclass(frozen=True)
class IngestPass:
    files: list[InputFile]  # with fingerprints
    stats: LineStats
    ranges: list[tuple[int, str, int, int, str]]  # see RANGES_SCHEMA


RANGES_SCHEMA = StructType(
    [
        StructField(ingest.RANGE_ID, IntegerType(), False),
        StructField(SOURCE_FILE, StringType(), False),
        StructField(INPUT_INDEX, IntegerType(), False),
        StructField(ingest.LINES_BEFORE, LongType(), False),
        StructField(ingest.FINGERPRINT, StringType(), False),
    ]
)


def range_bytes_setting(spark: SparkSession) -> int:
    text = spark.conf.get(RANGE_BYTES_CONF, None) or str(DEFAULT_RANGE_BYTES)
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    value = text.strip().lower().removesuffix("b")
    try:
        number = int(value[:-1]) * units[value[-1]] if value[-1:] in units else int(value)
    except ValueError:
        number = 0
    if number < HASH_BLOCK:
        raise InputError(
            f"{RANGE_BYTES_CONF}={text!r}: give a size of at least 4m (e.g. 32m, 128m)"
        )
    return number


def run_ingest_pass(spark: SparkSession, files: list[InputFile], directory: str) -> IngestPass:
    """Stage every input line under ``directory`` (one Parquet file per range); raise
    InputError for a file that cannot be read, is given twice or holds no rows."""
    plans = [plan_file(f) for f in files]
    specs = plan_ranges(plans, range_bytes_setting(spark))
    out_fs, out_path = fs.filesystem(directory)
    out_fs.create_dir(out_path, recursive=True)
    # Longest first: a compressed file is one task, and costs about 4 times its bytes.
    order = sorted(
        range(len(specs)),
        key=lambda i: -(specs[i].end - specs[i].start) * (4 if specs[i].compression else 1),
    )
    task = _range_task(specs, order, directory)
    rows = (
        spark.range(0, len(specs), 1, len(specs))
        .mapInArrow(task, _META_DDL)
        .collect()  # one small row per range: counts and block hashes
    )
    results = sorted((RangeResult(**r.asDict()) for r in rows), key=lambda r: r.range_id)
    if [r.range_id for r in results] != list(range(len(specs))):
        raise RuntimeError("the ingest pass lost a range")  # a bug, not bad input
    for r in results:
        if r.error:
            raise InputError(r.error)
    return _summarise(files, specs, results)


def _summarise(
    files: list[InputFile], specs: list[RangeSpec], results: list[RangeResult]
) -> IngestPass:
    hashes: dict[int, list[bytes]] = {f.index: [] for f in files}
    rows_read: dict[int, int] = dict.fromkeys(hashes, 0)
    for spec, r in zip(specs, results, strict=True):
        hashes[spec.file_index].extend(r.block_hashes or [])
        rows_read[spec.file_index] += r.lines - r.blank - r.header
    done = [replace(f, fingerprint=combine_fingerprint(f.size, hashes[f.index])) for f in files]
    seen: dict[str, str] = {}
    for f in done:
        if f.fingerprint in seen:
            raise InputError(
                f"--input: {f.path!r} has the same content as {seen[f.fingerprint]!r}; "
                "giving the same extract twice would count its rows twice"
            )
        seen[f.fingerprint] = f.path
        if rows_read[f.index] == 0:
            raise InputError(f"{f.path}: the file has no data lines; give the DOJ extract")
    by_index = {f.index: f for f in done}
    ranges = []
    lines_before: dict[int, int] = {}
    for spec, r in zip(specs, results, strict=True):
        source = by_index[spec.file_index]
        before = lines_before.get(spec.file_index, 0)
        ranges.append((spec.range_id, source.path, source.index, before, source.fingerprint))
        lines_before[spec.file_index] = before + r.lines
    stats = LineStats(
        lines=sum(r.lines for r in results),
        blank=sum(r.blank for r in results),
        headers=sum(r.header for r in results),
        kept=sum(r.kept for r in results),
        quarantined=sum(r.quarantined for r in results),
    )
    return IngestPass(done, stats, ranges)


_SPARK_TYPES = {pa.int32(): "int", pa.int64(): "bigint", pa.string(): "string"}
_STAGED_DDL = ", ".join(f"`{f.name}` {_SPARK_TYPES[f.type]}" for f in ingest.STAGED_SCHEMA)


def read_staged(spark: SparkSession, directory: str, ingest_pass: IngestPass) -> DataFrame:
    """The staged lines with their provenance (transforms/ingest.py with_provenance)."""
    staged = spark.read.schema(_STAGED_DDL).parquet(directory)
    ranges = spark.createDataFrame(ingest_pass.ranges, RANGES_SCHEMA)
    return ingest.with_provenance(staged, ranges)


def staged_row_count(directory: str) -> int:
    """Rows in the staged Parquet files, from their footers."""
    filesystem, path = fs.filesystem(directory)
    infos = filesystem.get_file_info(pafs.FileSelector(path))
    total = 0
    for info in infos:
        if info.type == pafs.FileType.File and info.base_name.endswith(".parquet"):
            with filesystem.open_input_file(info.path) as handle:
                total += pq.ParquetFile(handle).metadata.num_rows
    return total
