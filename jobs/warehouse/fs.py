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
from urllib.parse import unquote, urlparse

import pyarrow.fs as pafs

# Hadoop's scheme -> the scheme pyarrow and delta-rs understand for the same store.
_ARROW_SCHEME = {"s3a": "s3", "s3n": "s3", "abfss": "abfs", "gcs": "gs"}
REMOTE_SCHEMES = frozenset({"s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss", "hdfs"})


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
