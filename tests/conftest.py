"""Session fixtures: one SparkSession (local[2], UI off, few shuffle partitions), an
S3-compatible server (versitygw) on loopback for the object-store tests, and one standalone
cluster with its local baseline run for test_cluster and test_object_store. Helpers are in
tests/helpers/; no test module imports another."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import urllib.error
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from relief.jobs.runtime.progress import Progress
from relief.jobs.runtime.spark import build_session
from relief.jobs.statewide import RunOptions, run
from relief.jobs.synthetic.generate import generate_extract
from relief.jobs.warehouse import ledger
from tests.helpers.cluster import (
    COMPUTE_AT,
    ROWS,
    WORKERS,
    Cluster,
    county_tables,
    free_port,
    spark_env,
)
from tests.helpers.object_store import (
    BUCKET,
    NO_PROXY,
    VERSITYGW,
    ObjectStore,
    ensure_built,
    unavailable,
)
from tests.helpers.object_store import free_port as free_loopback_port


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


@pytest.fixture(scope="session")
def object_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    """versitygw (posix backend) on a free loopback port, the AWS_* environment pointing at it
    for this process and its children, stopped at the end of the session."""
    reason = ensure_built()
    if reason:
        unavailable(reason)
    data = tmp_path_factory.mktemp("s3")
    (data / BUCKET).mkdir()
    port = free_loopback_port()
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
                    unavailable(f"versitygw did not start: {log.read_text()[-400:]}")
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


# --- the standalone cluster, started once for test_cluster and test_object_store -----------


@pytest.fixture(scope="session")
def starting_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A master and two workers, started but maybe not registered yet; always stopped."""
    base = tmp_path_factory.mktemp("standalone")
    port, ui_port = free_port(), free_port()
    deployed = Cluster(
        master_url=f"spark://127.0.0.1:{port}",
        ui_url=f"http://127.0.0.1:{ui_port}",
        env=spark_env(base),
        base=base,
    )
    try:
        deployed.start(
            "master",
            [
                "org.apache.spark.deploy.master.Master",
                *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui_port)),
            ],
        )
        for n in range(WORKERS):
            work_dir = base / f"worker-{n}"
            work_dir.mkdir()
            deployed.start(
                f"worker-{n}",
                [
                    "org.apache.spark.deploy.worker.Worker",
                    deployed.master_url,
                    *("--cores", "1", "--memory", "1g", "--host", "127.0.0.1"),
                    *("--webui-port", str(free_port()), "--work-dir", str(work_dir)),
                ],
            )
        yield deployed
    finally:
        deployed.stop()


@pytest.fixture(scope="session")
def cluster(starting_cluster: Cluster, local_tables: dict[str, pa.Table]) -> Cluster:
    """The cluster with both workers registered (the local run happens while they start)."""
    starting_cluster.wait_for_workers(WORKERS)
    return starting_cluster


@pytest.fixture(scope="session")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("extract") / "doj_extract.csv"
    generate_extract(path, rows=ROWS, seed=5)
    return path


@pytest.fixture(scope="session")
def local_tables(spark, extract: Path, tmp_path_factory) -> dict[str, pa.Table]:
    """The same extract through the test session's local SparkSession, in this process."""
    warehouse = tmp_path_factory.mktemp("local") / "warehouse"
    record = run(
        RunOptions(inputs=str(extract), warehouse=warehouse, compute_at=COMPUTE_AT),
        Progress(quiet=True),
    )
    assert record.status == ledger.STATUS_SUCCEEDED
    tables = county_tables(warehouse)
    assert len(tables) >= 5, "the extract should fill several county tables"
    return tables
