"""An S3-compatible server (versitygw) on loopback for the object-store tests: what a client
needs, and building it with the Makefile when it is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from relief.jobs.runtime.spark import delta_jars, s3a_jars

ROOT = Path(__file__).resolve().parents[2]
VERSITYGW_VERSION = "v1.8.0"  # the Makefile's VERSITYGW_VERSION
VERSITYGW = ROOT / ".cache" / f"versitygw-{VERSITYGW_VERSION}" / "versitygw"
REQUIRE_OBJECT_STORE = "RELIEF_REQUIRE_OBJECT_STORE"  # set by .ci/run: fail instead of skip
BUCKET = "relief"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class ObjectStore:
    """A running S3-compatible server with one bucket; ``env`` is what a client needs."""

    endpoint: str
    bucket: str
    env: dict[str, str]
    data: Path  # the server's folder (the posix backend: one folder per bucket)

    def uri(self, *parts: str) -> str:
        return "/".join([f"s3a://{self.bucket}", *parts])


def unavailable(reason: str) -> None:
    message = (
        f"object-store tests need versitygw and the S3A jars (make object-store-deps): {reason}"
    )
    if os.environ.get(REQUIRE_OBJECT_STORE) == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_built() -> str | None:
    """Build what is missing with the Makefile (cached in the checkout); a reason if it fails."""
    if VERSITYGW.exists() and s3a_jars() and delta_jars():
        return None
    if not shutil.which("make"):
        return "make is not installed"
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "object-store-deps"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return f"`make object-store-deps` failed: {(done.stdout + done.stderr).strip()[-400:]}"
    return None
