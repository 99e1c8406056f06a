"""Writing the extract: a file (gzip when asked, no name or time in its header) filled on a
thread, so compression and disk I/O overlap with generating the next lines."""

from __future__ import annotations

import gzip
import queue
import threading
from pathlib import Path
from typing import BinaryIO, cast


def _open(path: Path, gz: bool) -> BinaryIO:
    raw = path.open("wb")
    if gz:
        # mtime=0 and no file name in the gzip header keep the bytes a function of the seed;
        # level 3 compresses ~2.5x faster than 6 on this repetitive text for ~20% more bytes
        return cast(BinaryIO, gzip.GzipFile("", "wb", compresslevel=3, fileobj=raw, mtime=0))
    return raw


class Sink:
    """Writes (and gzips) on a thread: zlib and file writes release the GIL, so compression
    and disk I/O overlap with generating the next lines. Chunks are written in order."""

    def __init__(self, path: Path, gz: bool) -> None:
        self._handle = _open(path, gz)
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="generate-writer", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._handle.write(chunk)
                except BaseException as exc:  # re-raised on the caller's thread
                    self._error = exc

    def write(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._handle.close()
        if self._error is not None:
            raise self._error
