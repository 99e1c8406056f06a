"""The statewide job on a real Spark standalone cluster: one master and two workers on 127.0.0.1.

Both ways DOJ submits the job — spark-submit of jobs/statewide.py with the zip of `make package`,
and `relief run --master spark://…` — must write the same county tables as a local run on the
same extract. The cluster is started from the pyspark installation (spark-class with the Master
and Worker classes) once per session (tests/conftest.py: test_object_store uses the same one)
and stopped in the fixture's teardown, also when a test fails.

The test session already holds a local SparkContext and a process may hold only one, so the
cluster runs are subprocesses. Each worker offers one core, so the two executors are separate
JVMs: staging Parquet is written by them, not by the driver.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.storage import Warehouse
from tests.helpers.cluster import (
    APP_SETTINGS,
    COMPUTE_AT,
    PYTHON,
    ROOT,
    SPARK_HOME,
    SUBMITTED_SHUFFLE_PARTITIONS,
    Cluster,
    assert_ran_on_the_cluster,
    assert_same_tables,
    completed_apps,
    county_tables,
    package,
    run_logged,
    spark_properties,
)

pytestmark = pytest.mark.cluster


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
