"""Session fixtures: one SparkSession (local[2], UI off, few shuffle partitions), and an
S3-compatible server (versitygw) on loopback for the object-store tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from relief.jobs.runtime.spark import build_session, delta_jars, s3a_jars

ROOT = Path(__file__).resolve().parent.parent
VERSITYGW_VERSION = "v1.8.0"  # the Makefile's VERSITYGW_VERSION
VERSITYGW = ROOT / ".cache" / f"versitygw-{VERSITYGW_VERSION}" / "versitygw"
REQUIRE_OBJECT_STORE = "RELIEF_REQUIRE_OBJECT_STORE"  # set by .ci/run: fail instead of skip
BUCKET = "relief"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = build_session(
        "relief-tests",
        master="local[2]",
        conf={
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.driver.memory": "2g",
            "spark.sql.adaptive.enabled": "false",
            "spark.sql.codegen.maxFields": "1000",
        },
    )
    yield session
    session.stop()


@dataclass(frozen=True)
class ObjectStore:
    """A running S3-compatible server with one bucket; ``env`` is what a client needs."""

    endpoint: str
    bucket: str
    env: dict[str, str]
    data: Path  # the server's folder (the posix backend: one folder per bucket)

    def uri(self, *parts: str) -> str:
        return "/".join([f"s3a://{self.bucket}", *parts])


def _unavailable(reason: str) -> None:
    message = (
        f"object-store tests need versitygw and the S3A jars (make object-store-deps): {reason}"
    )
    if os.environ.get(REQUIRE_OBJECT_STORE) == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ensure_built() -> str | None:
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


@pytest.fixture(scope="session")
def object_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    """versitygw (posix backend) on a free loopback port, the AWS_* environment pointing at it
    for this process and its children, stopped at the end of the session."""
    reason = _ensure_built()
    if reason:
        _unavailable(reason)
    data = tmp_path_factory.mktemp("s3")
    (data / BUCKET).mkdir()
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    access, secret = "relief-test", f"secret-{uuid.uuid4().hex}"
    log = data.parent / "versitygw.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                str(VERSITYGW),
                *("--port", f"127.0.0.1:{port}", "--access", access, "--secret", secret),
                *("posix", str(data)),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    env = {
        "AWS_ACCESS_KEY_ID": access,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    saved = {name: os.environ.get(name) for name in env}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                NO_PROXY.open(endpoint, timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # it answers (403 without credentials)
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    _unavailable(f"versitygw did not start: {log.read_text()[-400:]}")
                time.sleep(0.2)
        os.environ.update(env)
        yield ObjectStore(endpoint, BUCKET, env, data)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 15)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=10)
        if server.poll() is None:
            os.killpg(server.pid, 9)
            server.wait(timeout=10)
