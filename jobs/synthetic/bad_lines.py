"""Malformed lines for a generated extract (`relief generate --bad-lines N`).

A real DOJ extract has a few lines the job must set aside, not crash on and not lose: the
demo plants some so that the quarantine is shown. Each planted line is a copy of a good line
of the file, broken in one of four ways, inserted after a data line chosen by the seed:

- ``field count``: cut after its 60th field (a truncated line);
- ``quoting``: a quote that opens a field and never closes;
- ``utf-8``: two bytes that are not UTF-8 text;
- ``blank subject``: SUBJECT_ID emptied (the line names no person).

The good lines are left as they were: rows read = the rows asked for + N, and the run
quarantines exactly the N planted lines.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from relief.transforms.columns import DOJ_COLUMNS, SUBJECT_ID

KINDS: tuple[str, ...] = ("field count", "quoting", "utf-8", "blank subject")
TRUNCATE_AT = 60  # fields kept by a 'field count' line
HEADER_START = b"RECORD_ID"


def _fields(line: bytes) -> list[str]:
    return next(csv.reader([line.decode("utf-8")]))


def _join(fields: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue().encode("utf-8")


def break_line(line: bytes, kind: str) -> bytes:
    """A copy of the good data line ``line`` (no line end) broken the ``kind`` way."""
    if kind == "field count":
        return _join(_fields(line)[:TRUNCATE_AT])
    if kind == "quoting":
        return line.replace(b",", b',"broken,', 1)
    if kind == "utf-8":
        return line[:30] + b"\xff\xfe" + line[30:]
    if kind == "blank subject":
        fields = _fields(line)
        fields[DOJ_COLUMNS.index(SUBJECT_ID)] = ""
        return _join(fields)
    raise ValueError(f"unknown kind of bad line {kind!r}; one of {', '.join(KINDS)}")


def _open(path: Path, mode: str) -> BinaryIO:
    if path.name.endswith(".gz"):
        return gzip.open(path, mode + "b")  # type: ignore[return-value]
    return open(path, mode + "b")  # type: ignore[return-value]


def _lines(handle: BinaryIO) -> Iterator[bytes]:
    for raw in handle:
        yield raw.rstrip(b"\n")


def plant_bad_lines(path: Path, count: int, seed: int) -> dict[int, str]:
    """Insert ``count`` bad lines into the extract at ``path`` (kinds in turn, positions from
    ``seed``); return {line number in the new file (1-based): kind}. Same file, count and
    seed: same result. ValueError when the file has fewer data lines than ``count``."""
    if count < 0:
        raise ValueError(f"--bad-lines must be 0 or more, not {count}")
    if count == 0:
        return {}
    with _open(path, "r") as handle:
        data_lines = sum(1 for line in _lines(handle) if not line.startswith(HEADER_START))
    if data_lines < count:
        raise ValueError(
            f"--bad-lines {count}: the extract has only {data_lines} data line(s) to copy"
        )
    rng = random.Random(seed)
    after = sorted(rng.sample(range(1, data_lines + 1), count))  # after data line k
    kinds = {k: KINDS[i % len(KINDS)] for i, k in enumerate(after)}
    planted: dict[int, str] = {}
    partial = path.with_name(path.name + ".partial")
    try:
        with _open(path, "r") as src, _open(partial, "w") as out:
            written = data = 0
            for line in _lines(src):
                out.write(line + b"\n")
                written += 1
                if line.startswith(HEADER_START):
                    continue
                data += 1
                kind = kinds.get(data)
                if kind is not None:
                    out.write(break_line(line, kind) + b"\n")
                    written += 1
                    planted[written] = kind
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return planted
