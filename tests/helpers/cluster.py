"""A local Spark standalone cluster (a master and two one-core workers on 127.0.0.1) and what
the cluster tests check with it; the session fixtures are in tests/conftest.py."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyspark
import pytest
from deltalake import DeltaTable

from relief.jobs.warehouse.storage import Warehouse
from relief.transforms import columns as c

ROOT = Path(__file__).resolve().parents[2]
SPARK_HOME = Path(pyspark.__file__).resolve().parent
PYTHON = sys.executable  # the venv's python: driver and executors must run the same one
COMPUTE_AT = dt.date(2026, 1, 1)
ROWS = 2000
WORKERS = 2
START_TIMEOUT = 120.0
JOB_TIMEOUT = 300.0
# Small JVMs: the machine is shared. A worker offers 1 core and 1g; an executor takes 512m.
APP_SETTINGS = {
    "spark.executor.memory": "512m",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    # Short-lived JVMs on a small data set: the C1 compiler alone costs far less CPU.
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
    "spark.executor.extraJavaOptions": "-XX:TieredStopAtLevel=1",
}
# Given to spark-submit to check it wins over conf/pipeline.yaml's default of 8.
SUBMITTED_SHUFFLE_PARTITIONS = "3"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 is here


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spark_env(base: Path) -> dict[str, str]:
    """Environment for the cluster daemons and the submitted jobs: this pyspark, this python."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET", "SPARK_ENV_LOADED")
    }
    conf_dir = base / "spark-conf"  # empty: no site spark-defaults.conf or spark-env.sh
    conf_dir.mkdir(parents=True, exist_ok=True)
    env.update(
        SPARK_HOME=str(SPARK_HOME),
        SPARK_CONF_DIR=str(conf_dir),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_LOG_DIR=str(base / "logs"),
        SPARK_DAEMON_MEMORY="256m",
        SPARK_DAEMON_JAVA_OPTS="-XX:TieredStopAtLevel=1",
        PYSPARK_PYTHON=PYTHON,
        PYSPARK_DRIVER_PYTHON=PYTHON,
        PATH=f"{Path(PYTHON).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"({path} missing)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started in its own session, with everything it started (executors)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):  # whatever outlived its leader
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@dataclass
class Cluster:
    master_url: str
    ui_url: str
    env: dict[str, str]
    base: Path
    processes: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)

    def start(self, name: str, args: list[str]) -> None:
        log = self.base / "logs" / f"{name}.out"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(SPARK_HOME / "bin" / "spark-class"), *args],
                env=self.env,
                cwd=self.base,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append((process, log))

    def state(self) -> dict[str, Any]:
        with NO_PROXY.open(f"{self.ui_url}/json", timeout=5) as response:
            data: dict[str, Any] = json.load(response)
        return data

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{tail(log)}" for _, log in self.processes)

    def wait_for_workers(self, count: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            dead = [log.name for process, log in self.processes if process.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead} exited while starting\n{self.logs()}")
            try:
                alive = [w for w in self.state()["workers"] if w["state"] == "ALIVE"]
                if len(alive) == count:
                    return
            except OSError:
                pass  # the master's UI is not up yet
            time.sleep(1)
        raise RuntimeError(f"{count} workers did not register in {START_TIMEOUT}s\n{self.logs()}")

    def stop(self) -> None:
        for process, _ in reversed(self.processes):  # workers (and executors) first
            stop_group(process)


def county_tables(warehouse: Path) -> dict[str, pa.Table]:
    store = Warehouse(warehouse)
    return {
        slug: DeltaTable(str(store.county(slug))).to_pyarrow_table().sort_by(c.RECORD_ID)
        for slug in store.county_slugs()
    }


def package(out: Path) -> Path:
    """What `make package` builds: the package relief (src/relief/__init__.py, jobs/,
    transforms/, expectations/ as relief/jobs/ ...) without bytecode."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(ROOT / "src" / "relief" / "__init__.py", "relief/__init__.py")
        for top in ("jobs", "transforms", "expectations"):
            for file in sorted((ROOT / top).rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
                    archive.write(file, f"relief/{file.relative_to(ROOT).as_posix()}")
    return out


def run_logged(
    command: list[str], env: dict[str, str], cwd: Path, log: Path
) -> tuple[int, str, str]:
    """Run a job in its own process group; kill the whole group if it outlives JOB_TIMEOUT."""
    with log.open("wb") as err:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
        try:
            out, _ = process.communicate(timeout=JOB_TIMEOUT)
        except subprocess.TimeoutExpired:
            stop_group(process)
            pytest.fail(f"{command[:3]} did not finish in {JOB_TIMEOUT}s\n{tail(log)}")
        finally:
            stop_group(process)
    return process.returncode, out.decode(errors="replace"), tail(log)


def completed_apps(cluster: Cluster) -> list[dict[str, Any]]:
    return list(cluster.state()["completedapps"])


def assert_same_tables(got: dict[str, pa.Table], expected: dict[str, pa.Table]) -> None:
    assert sorted(got) == sorted(expected)
    for slug, table in expected.items():
        assert got[slug].schema == table.schema, slug
        if not got[slug].equals(table):
            assert got[slug].to_pylist() == table.to_pylist(), slug


def assert_ran_on_the_cluster(cluster: Cluster, before: int) -> None:
    """The master saw one more finished application, and it held both workers' cores."""
    deadline = time.monotonic() + 15  # the master files the app once the driver has left
    while len(apps := completed_apps(cluster)) == before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(apps) == before + 1
    app = max(apps, key=lambda a: a["starttime"])
    assert app["name"] == "relief-statewide"
    assert app["cores"] == WORKERS


def spark_properties(event_dir: Path) -> dict[str, str]:
    """The application's Spark settings, from its event log (Spark 4: a folder of files)."""
    for log in sorted(event_dir.rglob("events_*")):
        with log.open(encoding="utf-8") as lines:
            for line in lines:
                event = json.loads(line)
                if event["Event"] == "SparkListenerEnvironmentUpdate":
                    return dict(event["Spark Properties"])
    raise AssertionError(f"no environment update in the event log under {event_dir}")
