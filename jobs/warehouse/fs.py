"""Locations as URIs: the one place that turns a path or URI into a file system and a path.

Every input and warehouse location may be a local path (relative or absolute), a ``file://``
URI, or an object-store / HDFS URI (``s3a://``, ``s3://``, ``gs://``, ``abfss://``,
``hdfs://``). Spark's executors reach them through Hadoop's file systems (``s3a://`` etc.);
relief's own Python code (the driver, delta-rs commits, county and audit readers, ingest
tasks that read bytes) reaches them through pyarrow's file systems and delta-rs, configured
here. Credentials come from the environment (``AWS_*``, ``GOOGLE_APPLICATION_CREDENTIALS``,
``AZURE_*``), never from the command line or the ledger.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Union
from urllib.parse import unquote, urlparse

import pyarrow.fs as pafs

# Hadoop's scheme -> the scheme pyarrow and delta-rs understand for the same store.
_ARROW_SCHEME = {"s3a": "s3", "s3n": "s3", "abfss": "abfs", "gcs": "gs"}
REMOTE_SCHEMES = frozenset({"s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss", "hdfs"})
# delta-rs decodes a percent escape in a local table path while reading the log (it writes
# the table under ``a%20b`` but then looks for ``a b``), also for a file:// URI whose ``%``
# is itself escaped. Such a folder cannot hold a warehouse.
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


class LocationError(ValueError):
    """A location relief cannot use as it is; the message says why and what to do."""


# pathlib collapses the "//" of a URI (Path("s3a://b/k") is "s3a:/b/k"); the CLI's options are
# Paths, so a location arriving as a Path gets its "//" back (a URI with an empty authority,
# hdfs:///x, cannot be given through a Path: name the name node, hdfs://nn:8020/x).
_COLLAPSED_URI = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+):/(?!/)")


def location_text(location: str | os.PathLike[str] | StorePath) -> str:
    """A location given as a string, a Path (whose URI lost a slash) or a StorePath."""
    text = str(location) if isinstance(location, StorePath) else os.fspath(location)
    found = _COLLAPSED_URI.match(text)
    if found and found.group("scheme").lower() in REMOTE_SCHEMES:
        return f"{found.group('scheme')}://{text[found.end() :]}"
    return text


def scheme(location: str) -> str:
    """``''`` for a local path or file:// URI, else the URI's scheme in lower case."""
    parsed = urlparse(location)
    if parsed.scheme.lower() in ("", "file") or len(parsed.scheme) == 1:  # C:\ on Windows
        return ""
    return parsed.scheme.lower()


def is_local(location: str) -> bool:
    return scheme(location) == ""


def local_path(location: str) -> str:
    """Absolute local path of a local location (a file:// URI is decoded once)."""
    if location.startswith("file://"):
        return os.path.abspath(unquote(urlparse(location).path))
    return os.path.abspath(location)


def normalize(location: str) -> str:
    """A location as relief records it: an absolute local path, or the URI unchanged
    (less a trailing slash)."""
    return local_path(location) if is_local(location) else location.rstrip("/")


def join(location: str, *parts: str) -> str:
    """``location/part/...`` for a local path or a URI."""
    base = location.rstrip("/")
    return "/".join([base, *(p.strip("/") for p in parts)]) if parts else base


def arrow_uri(location: str) -> str:
    """The URI pyarrow / delta-rs understand (``s3a://b/k`` -> ``s3://b/k``)."""
    location = location_text(location)
    name = scheme(location)
    if not name:
        return local_path(location)
    mapped = _ARROW_SCHEME.get(name, name)
    return mapped + location[len(name) :]


def _endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def _region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


@functools.lru_cache(maxsize=8)
def _s3_filesystem(endpoint: str | None, region: str | None) -> pafs.S3FileSystem:
    """Arrow's S3 client for the store the environment names. Credentials: the AWS default
    chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, an instance role)."""
    options: dict[str, str] = {}
    if endpoint:
        options["endpoint_override"] = endpoint  # an S3-compatible store: path-style requests
    if region:
        options["region"] = region
    return pafs.S3FileSystem(**options)


def filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    """(pyarrow file system, path inside it) for a location.

    s3/s3a: endpoint (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, for an S3-compatible store)
    and region (AWS_REGION) from the environment. gs, abfs and hdfs: pyarrow's own
    configuration from the URI and the environment.
    """
    location = location_text(location)
    if is_local(location):
        return pafs.LocalFileSystem(), local_path(location)
    uri = arrow_uri(location)
    if scheme(uri) == "s3":
        parsed = urlparse(uri)
        path = (parsed.netloc + parsed.path).rstrip("/")
        return _s3_filesystem(_endpoint(), _region()), path
    fs, path = pafs.FileSystem.from_uri(uri)
    return fs, path


def storage_options(location: str) -> dict[str, str] | None:
    """delta-rs storage options for a table at ``location`` (None: local).

    delta-rs reads credentials, endpoint and region from the same environment as pyarrow.
    On S3, concurrent commits are made safe by conditional put (``If-None-Match``: AWS S3,
    MinIO, versitygw, R2 support it): a commit whose log file another writer created first
    fails instead of overwriting it. A deployment with a DynamoDB lock instead sets
    AWS_S3_LOCKING_PROVIDER=dynamodb, and relief then leaves the choice to delta-rs.
    """
    name = scheme(location_text(location))
    if not name:
        return None
    options: dict[str, str] = {}
    if _ARROW_SCHEME.get(name, name) == "s3":
        if not os.environ.get("AWS_S3_LOCKING_PROVIDER"):
            options["conditional_put"] = "etag"
        endpoint = _endpoint()
        if endpoint:
            options["endpoint"] = endpoint
            if endpoint.startswith("http://"):
                options["allow_http"] = "true"
    return options


class StorePath:
    """A file or folder in an object store or HDFS, with the part of pathlib's API the
    warehouse code uses (``/``, name, parent, exists, is_dir, iterdir, glob, read/write,
    unlink, mkdir, stat), implemented with a pyarrow file system.

    ``str()`` is the URI as given (``s3a://bucket/key``), which Spark, delta-rs (through
    :func:`delta_uri`) and the ledger use. A folder is a key prefix: it "exists" when some
    object sits under it (or a marker object, which ``mkdir`` writes).
    """

    def __init__(self, uri: str, filesystem_: pafs.FileSystem | None = None) -> None:
        self._uri = location_text(uri).rstrip("/")
        if filesystem_ is None:
            filesystem_, self._path = filesystem(self._uri)
        else:
            self._path = _path_of(self._uri)
        self._fs = filesystem_

    # -- pure path operations
    def __truediv__(self, part: str) -> StorePath:
        return StorePath(join(self._uri, part), self._fs)

    def __str__(self) -> str:
        return self._uri

    def __repr__(self) -> str:
        return f"StorePath({self._uri!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StorePath) and other._uri == self._uri

    def __hash__(self) -> int:
        return hash(self._uri)

    def __lt__(self, other: StorePath) -> bool:
        return self._uri < other._uri

    def __fspath__(self) -> str:  # a StorePath is no local file: fail loudly, never write here
        raise TypeError(f"{self._uri} is not a local path")

    @property
    def name(self) -> str:
        return posixpath.basename(self._path)

    @property
    def parent(self) -> StorePath:
        head = self._uri.rsplit("/", 1)[0]
        return StorePath(head, self._fs) if "://" in head and head.split("://", 1)[1] else self

    def with_name(self, name: str) -> StorePath:
        return self.parent / name

    def relative_to(self, other: StorePath) -> PurePosixPath:
        return PurePosixPath(self._path).relative_to(other._path)

    def as_posix(self) -> str:
        return self._uri

    @property
    def filesystem(self) -> pafs.FileSystem:
        return self._fs

    @property
    def path(self) -> str:
        """The path inside the file system (``bucket/key``)."""
        return self._path

    # -- queries
    def _info(self) -> pafs.FileInfo:
        return self._fs.get_file_info(self._path)

    def exists(self) -> bool:
        return bool(self._info().type != pafs.FileType.NotFound)

    def is_dir(self) -> bool:
        return bool(self._info().type == pafs.FileType.Directory)

    def is_file(self) -> bool:
        return bool(self._info().type == pafs.FileType.File)

    def stat(self) -> FileStat:
        info = self._info()
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError(self._uri)
        mtime = info.mtime.timestamp() if info.mtime is not None else 0.0
        return FileStat(st_size=int(info.size or 0), st_mtime=mtime)

    def _children(self, recursive: bool) -> list[pafs.FileInfo]:
        selector = pafs.FileSelector(self._path, allow_not_found=True, recursive=recursive)
        return list(self._fs.get_file_info(selector))

    def iterdir(self) -> Iterator[StorePath]:
        for info in sorted(self._children(False), key=lambda i: i.path):
            yield self / info.base_name

    def glob(self, pattern: str) -> Iterator[StorePath]:
        """Children whose name matches ``pattern`` (one level, no ``/`` in the pattern)."""
        for child in self.iterdir():
            if fnmatch.fnmatchcase(child.name, pattern):
                yield child

    def rglob(self, pattern: str) -> Iterator[StorePath]:
        """Files anywhere below whose name matches ``pattern``."""
        for info in sorted(self._children(True), key=lambda i: i.path):
            if info.type == pafs.FileType.File and fnmatch.fnmatchcase(info.base_name, pattern):
                yield self / info.path[len(self._path) :].lstrip("/")

    # -- changes
    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        self._fs.create_dir(self._path, recursive=True)

    def read_bytes(self) -> bytes:
        with self._fs.open_input_stream(self._path) as stream:
            return bytes(stream.read())

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> int:
        with self._fs.open_output_stream(self._path) as out:  # one PUT: all or nothing
            out.write(data)
        return len(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> int:
        return self.write_bytes(text.encode(encoding))

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self._fs.delete_file(self._path)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def rmdir(self) -> None:
        if self._children(False):
            raise OSError(f"{self._uri}: not empty")
        self._fs.delete_dir(self._path)

    def rmtree(self) -> None:
        """Delete the folder and everything under it (no error when there is none).

        Files first, then the folder markers deepest first: a store on a POSIX file system
        (versitygw) refuses to delete the marker of a folder that still holds files, which
        one batched delete of everything may try first.
        """
        infos = self._children(True)
        if not infos and not self.exists():
            return
        for info in infos:
            if info.type == pafs.FileType.File:
                self._fs.delete_file(info.path)
        folders = [i.path for i in infos if i.type == pafs.FileType.Directory]
        for folder in sorted(folders, key=lambda p: p.count("/"), reverse=True):
            with contextlib.suppress(FileNotFoundError):
                self._fs.delete_dir(folder)
        with contextlib.suppress(FileNotFoundError):
            self._fs.delete_dir(self._path)

    def move_to(self, target: StorePath) -> None:
        """Move a file (on an object store: copy, then delete)."""
        self._fs.move(self._path, target._path)


@dataclass(frozen=True)
class FileStat:
    st_size: int
    st_mtime: float


def _path_of(uri: str) -> str:
    """The path inside its file system of a remote location, without building a client."""
    arrow = arrow_uri(uri)
    if scheme(arrow) in ("s3", "gs", "abfs"):
        parsed = urlparse(arrow)
        return (parsed.netloc + parsed.path).rstrip("/")
    return filesystem(uri)[1]


# A warehouse or table location: a local Path, or a StorePath in an object store / HDFS.
Location = Union[Path, StorePath]  # noqa: UP007 - a runtime alias used in isinstance checks


def location(value: str | os.PathLike[str] | StorePath) -> Location:
    """A Path for a local location (relative kept as given), else a StorePath."""
    if isinstance(value, StorePath):
        return value
    text = location_text(value)
    if is_local(text):
        return Path(local_path(text)) if text.startswith("file://") else Path(text)
    return StorePath(text)


def subdirs(path: Location) -> list[str]:
    """Names of the folders directly in ``path`` (one listing on an object store)."""
    if isinstance(path, StorePath):
        return sorted(
            i.base_name for i in path._children(False) if i.type == pafs.FileType.Directory
        )
    if not path.is_dir():
        return []
    return sorted(p.name for p in path.iterdir() if p.is_dir())


def remove_tree(path: Location) -> None:
    """Delete a folder and everything in it; nothing happens when there is none."""
    if isinstance(path, StorePath):
        path.rmtree()
    else:
        import shutil

        shutil.rmtree(path, ignore_errors=True)


def move_file(source: Location, target: Location) -> None:
    """Move one file: a rename on a local disk, copy and delete on an object store."""
    if isinstance(source, StorePath) and isinstance(target, StorePath):
        source.move_to(target)
    elif isinstance(source, Path) and isinstance(target, Path):
        os.replace(source, target)
    else:
        raise ValueError(f"cannot move {source} to {target}: different file systems")


def check_table_location(location: str) -> None:
    """Raise LocationError for a location delta-rs would misread (see _PERCENT_ESCAPE)."""
    location = location_text(location)
    if not is_local(location):
        return
    path = local_path(location)
    found = _PERCENT_ESCAPE.search(path)
    if found:
        raise LocationError(
            f"{path}: the path contains {found.group(0)!r}, which delta-rs reads as an escaped "
            "character, so the tables written there could not be read back. Use a folder "
            f"whose path has no '%' followed by two hex digits (rename or move it)."
        )


def delta_uri(location: str) -> str:
    """The string delta-rs opens a table at: a local absolute path, or the store's URI."""
    location = location_text(location)
    check_table_location(location)
    return arrow_uri(location)


def table_filesystem(location: str) -> pafs.FileSystem:
    """A native pyarrow file system rooted at a Delta table, for reading its data files.

    delta-rs' default reader wraps its storage in a Python file system
    (``pyarrow.fs.PyFileSystem``): Arrow's I/O threads then hold Python buffers, and one
    released while the interpreter exits takes the GIL, which CPython answers by ending the
    thread with ``pthread_exit``; unwinding the C++ worker aborts the process ("terminate
    called without an active exception", exit 134). A native file system keeps Python out
    of Arrow's threads.
    """
    filesystem_, path = filesystem(location)
    return pafs.SubTreeFileSystem(path, filesystem_)
