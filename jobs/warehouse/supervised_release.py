"""The Supervised Release File: DOJ's list of the subjects under active supervision.

PC 1203.425(a)(1)(B)(ii) bars relief for a person "under active local, state, or federal
supervision, as indicated by the department's Supervised Release File" (docs/laws.md §1,
rule 9). The file is not part of the criminal-history extract; a run given it
(``relief run --supervised-release FILE``, phase 2 of issue 23) decides that rule, a run
without it sends the rule to Hand Review (``Supervised Release File not checked``).

Format (docs/laws.md §6): UTF-8 text, one SUBJECT_ID per line, as the extract spells it
(compared after trimming, as the pipeline trims SUBJECT_ID); an optional first line
``SUBJECT_ID`` (any case) as a header; blank lines ignored; a repeated id counted once;
``\\r\\n`` line ends and a byte-order mark accepted; ``.gz`` (one or several gzip members)
decompressed. A local path or a URI (jobs/warehouse/fs.py), like the extract.

Read on the driver before Spark starts: any problem raises :class:`SupervisedReleaseError`
(an :class:`~relief.jobs.warehouse.inputs.InputError`: ``relief run`` exits 2) with ONE line naming
the file, the line and the fix. A message never quotes an id (they identify people).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs

from relief.jobs.warehouse import fs
from relief.jobs.warehouse.inputs import InputError
from relief.transforms.columns import SUBJECT, SUBJECT_ID

MAX_ID_LENGTH = 64
_READ_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_FORMAT = "one SUBJECT_ID per line (optional header SUBJECT_ID; .gz ok)"
# Characters a field separator or quoting would bring in: the file has one column.
_SEPARATORS = {",": "a comma", ";": "a semicolon", "|": "a '|'", "\t": "a tab", '"': "a quote",
               "'": "a quote"}  # fmt: skip


class SupervisedReleaseError(InputError):
    """The Supervised Release File is missing, unreadable or not a list of SUBJECT_IDs."""


@dataclass(frozen=True)
class SupervisedRelease:
    """The subject ids of a Supervised Release File, and what the run records of it."""

    location: str  # as fs.normalize spells it
    ids: frozenset[str]
    lines: int  # id lines read (repeats included; header and blank lines not)
    fingerprint: str  # sha256 (hex) of the file's bytes as stored: for the run's ledger row

    @property
    def duplicates(self) -> int:
        return self.lines - len(self.ids)

    def __contains__(self, subject: object) -> bool:
        return subject in self.ids

    def subjects(self) -> pa.Table:
        """The ids as a one-column table (SUBJECT, sorted): the right side of the join
        that sets ``supervised_release_active`` on the subjects' rows."""
        return pa.table({SUBJECT: pa.array(sorted(self.ids), pa.string())})


def _fail(location: str, message: str) -> SupervisedReleaseError:
    return SupervisedReleaseError(f"--supervised-release {location}: {message}")


def _raw_chunks(stream: pafs.NativeFile, digest: hashlib._Hash) -> Iterator[bytes]:
    while True:
        block = stream.read(_READ_BYTES)
        if not block:
            return
        digest.update(block)
        yield block


def _gunzip(chunks: Iterator[bytes], location: str) -> Iterator[bytes]:
    """Decompressed bytes of one or several gzip members (``cat a.gz b.gz``)."""
    decompressor = zlib.decompressobj(wbits=31)
    fed = False
    for block in chunks:
        while block:
            try:
                out = decompressor.decompress(block)
            except zlib.error as exc:
                raise _fail(location, f"not a valid gzip file ({exc}); {_FORMAT}") from None
            fed = True
            if out:
                yield out
            if decompressor.eof:
                block = decompressor.unused_data
                decompressor = zlib.decompressobj(wbits=31)
                fed = False
            else:
                block = b""
    if fed and not decompressor.eof:
        raise _fail(location, "the gzip file ends early (truncated); copy it again")


def _lines(chunks: Iterator[bytes], location: str) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes without the line end); a line too long for an id fails early."""
    buffer = b""
    number = 0
    for block in chunks:
        buffer += block
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            number += 1
            yield number, line
        if len(buffer) > 4 * MAX_ID_LENGTH:
            raise _fail(
                location,
                f"line {number + 1}: longer than any SUBJECT_ID; the file holds {_FORMAT}",
            )
    if buffer:
        yield number + 1, buffer


def _subject_id(raw: bytes, number: int, location: str) -> str:
    """The trimmed id of one line ('' for a blank line), or the line's one-line error."""
    if b"\x00" in raw:
        raise _fail(location, f"line {number}: holds a NUL byte; this is not a text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(location, f"line {number}: not UTF-8 text; save the file as UTF-8") from None
    if number == 1:
        text = text.removeprefix("\ufeff")
    value = text.strip()
    for char, name in _SEPARATORS.items():
        if char in value:
            raise _fail(
                location, f"line {number}: holds {name}; the file holds {_FORMAT}, nothing else"
            )
    if any(ch.isspace() for ch in value):
        raise _fail(location, f"line {number}: holds a space inside; the file holds {_FORMAT}")
    if any(not ch.isprintable() for ch in value):
        raise _fail(location, f"line {number}: holds a control character; the file holds {_FORMAT}")
    if len(value) > MAX_ID_LENGTH:
        raise _fail(
            location,
            f"line {number}: {len(value)} characters; a SUBJECT_ID has at most {MAX_ID_LENGTH}",
        )
    return value


def _open(location: str) -> tuple[pafs.FileSystem, str]:
    try:
        filesystem, path = fs.filesystem(location)
        info = filesystem.get_file_info(path)
    except (OSError, ValueError) as exc:
        raise _fail(location, f"cannot be read ({exc})") from None
    if info.type == pafs.FileType.NotFound:
        raise _fail(location, "no such file")
    if info.type == pafs.FileType.Directory:
        raise _fail(location, f"is a directory; give the file itself ({_FORMAT})")
    return filesystem, path


def read_supervised_release(location: str | os.PathLike[str]) -> SupervisedRelease:
    """Read and check a Supervised Release File (module docstring); one-line errors."""
    text = fs.location_text(location)
    where = fs.normalize(text)
    name = where.rsplit("/", 1)[-1].lower()
    compressed = name.endswith(".gz")
    if not compressed and "." in name and name.rsplit(".", 1)[1] in ("bz2", "zip", "xz", "zst"):
        raise _fail(where, f"only plain text or gzip (.gz) is read; {_FORMAT}")
    filesystem, path = _open(text)
    digest = hashlib.sha256()
    ids: set[str] = set()
    count = 0
    header_seen = False
    try:
        with filesystem.open_input_stream(path, compression=None) as stream:
            chunks = _raw_chunks(stream, digest)
            first = next(chunks, b"")
            if not compressed and first.startswith(_GZIP_MAGIC):
                raise _fail(where, "is gzip-compressed; name it .gz (or decompress it)")
            if compressed and first and not first.startswith(_GZIP_MAGIC):
                raise _fail(where, "is named .gz but is not gzip-compressed; rename or compress it")
            body = _chain(first, chunks)
            data = _gunzip(body, where) if compressed else body
            for number, raw in _lines(data, where):
                value = _subject_id(raw, number, where)
                if not value:
                    continue
                if value.upper() == SUBJECT_ID:
                    if header_seen or count:
                        raise _fail(
                            where,
                            f"line {number}: a second header line {SUBJECT_ID} (two files "
                            "joined?); give one file, the header only on its first line",
                        )
                    header_seen = True
                    continue
                count += 1
                ids.add(value)
    except OSError as exc:
        raise _fail(where, f"cannot be read ({exc})") from None
    if not ids:
        raise _fail(
            where,
            "holds no SUBJECT_ID; an empty list would mark every subject as not under "
            "supervision: give DOJ's current file",
        )
    return SupervisedRelease(where, frozenset(ids), count, digest.hexdigest())


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest
