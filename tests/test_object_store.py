"""relief where DOJ's data lives: inputs and warehouse in an S3-compatible object store.

A real S3 server (versitygw, tests/conftest.py ``object_store``) runs on loopback. The statewide
job runs twice through the session's standalone cluster (tests/conftest.py, the one test_cluster
uses) with ``--input s3a://… --warehouse s3a://…`` (executors write the staging through Hadoop's
S3A client, the driver commits with delta-rs using conditional put, the lock is a Delta table in
the store). Its county tables must equal a local run's; the county and auditor commands read the
same URI with no Java at all; and Spark with delta-spark — what Databricks or EMR would use —
reads every county table, its history and its previous version exactly as relief does
(docs/operations.md, "Object stores").

Run these alone with ``pytest -k "object_store or delta_spark"``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from relief.jobs.config import load_counties
from relief.jobs.runtime.spark import delta_jars, storage_conf
from relief.jobs.warehouse import fs, ledger
from relief.jobs.warehouse.lock import WarehouseLocked, read_lock, warehouse_lock
from relief.jobs.warehouse.snapshots import open_snapshot
from relief.jobs.warehouse.storage import Warehouse, open_table, read_arrow
from relief.transforms import columns as c
from tests.helpers.cluster import (
    APP_SETTINGS,
    COMPUTE_AT,
    PYTHON,
    ROOT,
    WORKERS,
    Cluster,
    assert_same_tables,
    completed_apps,
    run_logged,
)
from tests.helpers.object_store import ObjectStore

pytestmark = pytest.mark.cluster

LATER = dt.date(2027, 6, 1)  # the second run: a later compute-at, so new versions


@dataclass(frozen=True)
class S3Runs:
    store: ObjectStore
    prefix: str  # the test's folder in the bucket
    warehouse: str  # s3a://relief/<prefix>/warehouse
    first: dict  # ledger rows of the two runs
    second: dict


def county_versions(run: dict) -> dict[str, int]:
    return {e["county"]: int(e["version"]) for e in run["county_versions"]}


@pytest.fixture(scope="module")
def s3_runs(object_store: ObjectStore, cluster: Cluster, extract: Path, tmp_path_factory) -> S3Runs:
    """The extract uploaded to the store, then two `relief run --master spark://…` over
    s3a:// (compute-at COMPUTE_AT, then LATER)."""
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    source = object_store.uri(prefix, "in", extract.name)
    store_fs, path = fs.filesystem(source)
    local = pafs.LocalFileSystem()
    pafs.copy_files(str(extract), path, source_filesystem=local, destination_filesystem=store_fs)
    warehouse = object_store.uri(prefix, "warehouse")
    logs = tmp_path_factory.mktemp("s3-runs")
    settings = [
        arg
        for k, v in {**APP_SETTINGS, "spark.driver.memory": "1g"}.items()
        for arg in ("--conf", f"{k}={v}")
    ]
    before = len(completed_apps(cluster))
    for day in (COMPUTE_AT, LATER):
        code, out, err = run_logged(
            [
                *(PYTHON, "-m", "relief.jobs.cli", "run", "--master", cluster.master_url),
                *("--input", source, "--warehouse", warehouse),
                *("--compute-at", day.isoformat(), *settings),
            ],
            {**cluster.env, **object_store.env},
            ROOT,
            logs / f"run-{day}.log",
        )
        assert code == 0, f"relief run exited {code}\n{out}\n{err}\n{cluster.logs()}"
        assert "succeeded" in out
    apps = completed_apps(cluster)
    assert len(apps) == before + 2
    assert all(a["name"] == "relief-statewide" and a["cores"] == WORKERS for a in apps[before:])
    runs = ledger.read_runs(Warehouse(warehouse))
    assert [r["status"] for r in runs] == [ledger.STATUS_SUCCEEDED] * 2
    return S3Runs(object_store, prefix, warehouse, runs[0], runs[1])


def relief_table(warehouse: str, slug: str, version: int) -> pa.Table:
    """A county table's version as relief reads it (delta-rs and pyarrow over S3)."""
    path = Warehouse(warehouse).county(slug)
    table = open_table(path, version)
    assert table is not None, slug
    return read_arrow(path, table).sort_by(c.RECORD_ID)


def test_object_store_statewide_runs_on_the_cluster_write_the_same_county_tables_as_a_local_run(
    s3_runs: S3Runs, local_tables: dict[str, pa.Table]
) -> None:
    first = county_versions(s3_runs.first)
    assert sorted(first) == sorted(local_tables)
    got = {slug: relief_table(s3_runs.warehouse, slug, v) for slug, v in first.items()}
    # Every row names its input as given: the URI here, the local path there.
    source = s3_runs.store.uri(s3_runs.prefix, "in", "doj_extract.csv")
    for table in got.values():
        assert set(table[c.SOURCE_FILE].to_pylist()) <= {source}
    assert_same_tables(
        {slug: t.drop_columns([c.SOURCE_FILE]) for slug, t in got.items()},
        {slug: t.drop_columns([c.SOURCE_FILE]) for slug, t in local_tables.items()},
    )
    # The second run published a new version of every county table.
    second = county_versions(s3_runs.second)
    assert all(second[slug] > first[slug] for slug in first)
    home = Warehouse(s3_runs.warehouse)
    assert not (home.root / "_staging").exists() or not list((home.root / "_staging").iterdir())
    assert read_lock(home.root) is None, "the lock is released"
    # Ingest fingerprinted the input in the store, and the ledger names it by its URI.
    assert [i["path"] for i in s3_runs.first["inputs"]] == [
        s3_runs.store.uri(s3_runs.prefix, "in", "doj_extract.csv")
    ]
    # No credential anywhere in what the runs wrote: ledger, commit metadata, lock, tables.
    secret = s3_runs.store.env["AWS_SECRET_ACCESS_KEY"].encode()
    key_id = s3_runs.store.env["AWS_ACCESS_KEY_ID"].encode()
    written = s3_runs.store.data / s3_runs.store.bucket / s3_runs.prefix / "warehouse"
    files = [p for p in written.rglob("*") if p.is_file()]
    assert any(p.parent.name == "_delta_log" for p in files)
    for file in files:
        data = file.read_bytes()
        assert secret not in data and key_id not in data, file


def _cli(args: list[str], store: ObjectStore, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A relief command with no Java reachable: no JAVA_HOME, only the venv on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "PATH", "SPARK_HOME")}
    env.update(store.env, PATH=str(Path(PYTHON).parent))
    return subprocess.run(
        [PYTHON, "-m", "relief.jobs.cli", *args], env=env, cwd=cwd, capture_output=True, text=True
    )


def test_object_store_pull_audit_and_report_read_the_warehouse_uri_without_a_jvm(
    s3_runs: S3Runs, tmp_path: Path
) -> None:
    uri = s3_runs.warehouse
    rows = {e["county"]: e["rows"] for e in s3_runs.second["county_versions"]}
    slug = max(rows, key=lambda s: rows[s])
    pulled = _cli(
        ["county", "pull", "--warehouse", uri, "--county", slug, "--out", str(tmp_path / "pull")],
        s3_runs.store,
        ROOT,
    )
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    csvs = list((tmp_path / "pull").rglob("*.csv"))
    assert csvs, pulled.stdout
    history = _cli(["audit", "history", "--warehouse", uri, "--county", slug], s3_runs.store, ROOT)
    assert history.returncode == 0, history.stdout + history.stderr
    for run in (s3_runs.first, s3_runs.second):
        assert run["run_id"] in history.stdout
    verify = _cli(["audit", "verify", "--warehouse", uri], s3_runs.store, ROOT)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    report = _cli(
        ["report", "--warehouse", uri, "--out", str(tmp_path / "report")], s3_runs.store, ROOT
    )
    assert report.returncode == 0, report.stdout + report.stderr
    assert (tmp_path / "report" / "index.html").is_file()
    assert s3_runs.second["run_id"] in report.stdout
    # The reader's own check that no JVM was involved: java is not even reachable.
    assert "java" not in os.listdir(Path(PYTHON).parent)


def test_object_store_lock_admits_one_run_and_takes_over_a_stale_holder(
    object_store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = fs.location(object_store.uri(f"lock-{uuid.uuid4().hex[:8]}"))
    with warehouse_lock(root, "run-a") as dead:
        assert dead is None
        holder = read_lock(root)
        assert holder is not None and holder["run_id"] == "run-a"
        locked = r"another run holds the warehouse .*: run run-a "
        with pytest.raises(WarehouseLocked, match=locked), warehouse_lock(root, "run-b"):
            pass  # pragma: no cover
    assert read_lock(root) is None
    # A holder that stopped beating (a killed run on another machine) is taken over.
    monkeypatch.setattr("relief.jobs.warehouse.lock.HEARTBEAT_SECONDS", 3600.0)
    with warehouse_lock(root, "run-c"):
        monkeypatch.setenv("RELIEF_LOCK_STALE_SECONDS", "0")
        with warehouse_lock(root, "run-d") as dead:
            assert dead is not None and dead["run_id"] == "run-c"
            assert read_lock(root)["run_id"] == "run-d"  # type: ignore[index]
    assert read_lock(root) is None


# --- Spark-native Delta: what Databricks / EMR would read ----------------------------------

READER = textwrap.dedent(
    """
    import json, sys
    from functools import reduce
    from pyspark.sql import SparkSession, functions as F

    settings, warehouse, versions, out = (json.loads(sys.argv[1]), sys.argv[2],
                                          json.loads(sys.argv[3]), sys.argv[4])
    builder = SparkSession.builder.master("local[2]").appName("relief-delta-interop")
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    latest, previous, history = [], [], {}
    for slug, version in sorted(versions.items()):
        uri = f"{warehouse}/counties/{slug}"
        latest.append(spark.read.format("delta").load(uri).withColumn("_slug", F.lit(slug)))
        previous.append(
            spark.sql(f"SELECT * FROM delta.`{uri}` VERSION AS OF {version}")
            .withColumn("_slug", F.lit(slug))
        )
        rows = spark.sql(f"DESCRIBE HISTORY delta.`{uri}`").collect()
        history[slug] = {str(r["version"]): r["userMetadata"] for r in rows}
    union = lambda frames: reduce(lambda a, b: a.unionByName(b), frames)
    union(latest).write.parquet(out + "/latest")
    union(previous).write.parquet(out + "/previous")
    with open(out + "/history.json", "w") as handle:
        json.dump(history, handle)
    spark.stop()
    """
)


def spark_delta_settings(warehouse: str) -> dict[str, str]:
    """What a Databricks / EMR session has: delta-spark's extension and catalog, S3A."""
    conf = storage_conf([warehouse], "local[2]")
    conf["spark.jars"] = ",".join([*conf.get("spark.jars", "").split(","), *delta_jars()])
    conf.update(
        {
            "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
            "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "1",
            # Delta rebuilds each table's snapshot with a Spark job of 50 partitions by
            # default: 58 small tables need one each.
            "spark.databricks.delta.snapshotPartitions": "1",
            "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
            "spark.sql.session.timeZone": "UTC",
            "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
        }
    )
    return conf


def by_county(table: pa.Table, slug: str, columns: list[str]) -> list[dict]:
    rows = table.filter(pc.equal(table["_slug"], slug)).select(columns)
    return rows.sort_by(c.RECORD_ID).to_pylist()


def test_delta_spark_reads_every_county_table_as_relief_does_with_history_and_version_as_of(
    s3_runs: S3Runs, tmp_path: Path
) -> None:
    if not delta_jars():
        pytest.fail("make jars fetched no delta-spark jar")
    previous = county_versions(s3_runs.first)
    latest = county_versions(s3_runs.second)
    out = tmp_path / "spark"
    env = {**os.environ, **s3_runs.store.env, "PYTHONPATH": str(ROOT)}
    env.pop("PYSPARK_GATEWAY_PORT", None)
    env.pop("PYSPARK_GATEWAY_SECRET", None)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            READER,
            json.dumps(spark_delta_settings(s3_runs.warehouse)),
            s3_runs.warehouse,
            json.dumps(previous),
            str(out),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    spark_latest = pq.read_table(out / "latest")
    spark_previous = pq.read_table(out / "previous")
    history = json.loads((out / "history.json").read_text())
    rows = {e["county"]: e["rows"] for e in s3_runs.second["county_versions"]}
    counties = load_counties()
    assert sorted(history) == sorted(latest)
    for slug in sorted(latest):
        # The published version: Spark's rows are relief's rows, column for column.
        mine = open_snapshot(s3_runs.warehouse, counties.require(slug)).table
        assert mine.num_rows == rows[slug]
        columns = mine.column_names
        assert by_county(spark_latest, slug, columns) == mine.sort_by(c.RECORD_ID).to_pylist()
        # VERSION AS OF the previous publication gives the first run's table.
        before = relief_table(s3_runs.warehouse, slug, previous[slug])
        assert by_county(spark_previous, slug, columns) == before.select(columns).to_pylist()
        # DESCRIBE HISTORY names the run behind each version (userMetadata).
        for run, version in ((s3_runs.first, previous[slug]), (s3_runs.second, latest[slug])):
            meta = json.loads(history[slug][str(version)])
            assert meta["run_id"] == run["run_id"], (slug, version)
            assert meta["county"] == slug
            assert meta["compute_at"] == run["compute_at"].isoformat()


def test_object_store_uri_given_as_a_path_keeps_its_scheme_and_authority() -> None:
    # The CLI's options are Paths, and Path("s3a://b/w") is "s3a:/b/w".
    warehouse = Warehouse(Path("s3a://bucket/relief/warehouse"))
    assert isinstance(warehouse.root, fs.StorePath)
    assert (
        str(warehouse.county("los-angeles")) == "s3a://bucket/relief/warehouse/counties/los-angeles"
    )
    assert fs.delta_uri(str(warehouse.runs)) == "s3://bucket/relief/warehouse/runs"
    assert fs.location_text(Path("abfss://c@acct.dfs.core.windows.net/w")) == (
        "abfss://c@acct.dfs.core.windows.net/w"
    )
    assert isinstance(Warehouse(Path("relative/warehouse")).root, Path)
