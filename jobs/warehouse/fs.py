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

import os
import re
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
    name = scheme(location)
    if not name:
        return local_path(location)
    mapped = _ARROW_SCHEME.get(name, name)
    return mapped + location[len(name) :]


def filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    """(pyarrow file system, path inside it) for a location."""
    if is_local(location):
        return pafs.LocalFileSystem(), local_path(location)
    fs, path = pafs.FileSystem.from_uri(arrow_uri(location))
    return fs, path


def check_table_location(location: str) -> None:
    """Raise LocationError for a location delta-rs would misread (see _PERCENT_ESCAPE)."""
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
