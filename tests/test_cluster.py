"""The statewide job on a real Spark standalone cluster: one master and two workers on 127.0.0.1.

Both ways DOJ submits the job — spark-submit of jobs/statewide.py with the zip of `make package`,
and `relief run --master spark://…` — must write the same county tables as a local run on the
same extract. The cluster is started from the pyspark installation (spark-class with the Master
and Worker classes) and stopped in the fixture's teardown, also when a test fails.

The test session already holds a local SparkContext and a process may hold only one, so the
cluster runs are subprocesses. Each worker offers one core, so the two executors are separate
JVMs: staging Parquet is written by them, not by the driver.
"""

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyspark
import pytest
from deltalake import DeltaTable

from relief.jobs.runtime.progress import Progress
from relief.jobs.statewide import RunOptions, run
from relief.jobs.synthetic.generate import generate_extract
from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.storage import Warehouse
from relief.transforms import columns as c

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parent.parent
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


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def cluster(starting_cluster: Cluster, local_tables: dict[str, pa.Table]) -> Cluster:
    """The cluster with both workers registered (the local run happens while they start)."""
    starting_cluster.wait_for_workers(WORKERS)
    return starting_cluster


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("extract") / "doj_extract.csv"
    generate_extract(path, rows=ROWS, seed=5)
    return path


def county_tables(warehouse: Path) -> dict[str, pa.Table]:
    store = Warehouse(warehouse)
    return {
        slug: DeltaTable(str(store.county(slug))).to_pyarrow_table().sort_by(c.RECORD_ID)
        for slug in store.county_slugs()
    }


@pytest.fixture(scope="module")
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


def test_spark_submit_of_the_packaged_job_writes_the_same_county_tables_as_a_local_run(
    cluster: Cluster, extract: Path, local_tables: dict[str, pa.Table], tmp_path: Path
) -> None:
    relief_zip = package(tmp_path / "relief.zip")
    warehouse = tmp_path / "warehouse"
    # Client mode: the driver runs here and reads conf/ through RELIEF_CONF. The working
    # directory is not the checkout, so every module the driver imports comes from the zip.
    env = {**cluster.env, "RELIEF_CONF": str(ROOT / "conf")}
    events = tmp_path / "events"
    events.mkdir()
    submitted = {
        **APP_SETTINGS,
        "spark.sql.shuffle.partitions": SUBMITTED_SHUFFLE_PARTITIONS,
        "spark.eventLog.enabled": "true",
        "spark.eventLog.compress": "false",
        "spark.eventLog.dir": events.as_uri(),
    }
    settings = [arg for k, v in submitted.items() for arg in ("--conf", f"{k}={v}")]
    before = len(completed_apps(cluster))
    code, out, err = run_logged(
        [
            str(SPARK_HOME / "bin" / "spark-submit"),
            *("--master", cluster.master_url, "--deploy-mode", "client"),
            *("--driver-memory", "1g", *settings),
            *("--py-files", str(relief_zip)),
            str(ROOT / "jobs" / "statewide.py"),  # `relief run`: its options, --json too
            *("--input", str(extract), "--warehouse", str(warehouse)),
            *("--compute-at", COMPUTE_AT.isoformat(), "--json"),
        ],
        env,
        tmp_path,
        tmp_path / "spark-submit.log",
    )
    assert code == 0, f"spark-submit exited {code}\n{out}\n{err}\n{cluster.logs()}"
    assert json.loads(out.strip().splitlines()[-1])["status"] == ledger.STATUS_SUCCEEDED
    assert_ran_on_the_cluster(cluster, before)
    assert_same_tables(county_tables(warehouse), local_tables)
    assert not list((warehouse / "_staging").glob("*/*")), "staging is cleared after the run"
    # spark-submit's settings win over conf/pipeline.yaml; its other defaults still apply
    properties = spark_properties(events)
    assert properties["spark.sql.shuffle.partitions"] == SUBMITTED_SHUFFLE_PARTITIONS
    assert properties["spark.sql.adaptive.enabled"] == "true"


def test_relief_run_with_a_spark_master_url_writes_the_same_county_tables_as_a_local_run(
    cluster: Cluster, extract: Path, local_tables: dict[str, pa.Table], tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse"
    settings = [
        arg
        for k, v in {**APP_SETTINGS, "spark.driver.memory": "1g"}.items()
        for arg in ("--conf", f"{k}={v}")
    ]
    before = len(completed_apps(cluster))
    code, out, err = run_logged(
        [
            *(PYTHON, "-m", "relief.jobs.cli", "run", "--master", cluster.master_url),
            *("--input", str(extract), "--warehouse", str(warehouse)),
            *("--compute-at", COMPUTE_AT.isoformat(), *settings),
        ],
        cluster.env,
        ROOT,
        tmp_path / "relief-run.log",
    )
    assert code == 0, f"relief run exited {code}\n{out}\n{err}\n{cluster.logs()}"
    assert "succeeded" in out
    assert_ran_on_the_cluster(cluster, before)
    assert_same_tables(county_tables(warehouse), local_tables)
    runs = ledger.read_runs(Warehouse(warehouse))
    assert [r["status"] for r in runs][-1] == ledger.STATUS_SUCCEEDED
