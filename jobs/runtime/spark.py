"""The one place a SparkSession is built, for the CLI, spark-submit and tests alike."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from importlib.resources import as_file, files
from pathlib import Path

from pyspark.sql import SparkSession

from relief.jobs.config import conf_dir, read_yaml
from relief.jobs.runtime.progress import is_verbose
from relief.jobs.warehouse import fs
from relief.jobs.warehouse.access import owner_only

# Files Spark's Hadoop file systems create (staged Parquet, committer folders) get no group or
# other permissions: Hadoop applies this umask itself and sets the mode explicitly, so the
# process umask alone does not decide (jobs/warehouse/access.py).
HADOOP_UMASK = {"spark.hadoop.fs.permissions.umask-mode": "077"}


class JavaMissingError(RuntimeError):
    pass


def java_version() -> int | None:
    """Major version of the java on JAVA_HOME or PATH, or None when there is none."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    text = out.stderr + out.stdout
    for token in text.split():
        token = token.strip('"')
        head = token.split(".")[0]
        if head.isdigit() and ("." in token or token.isdigit()) and int(head) >= 1:
            major = int(head)
            return int(token.split(".")[1]) if major == 1 else major
    return None


def require_java() -> None:
    version = java_version()
    if version is None:
        raise JavaMissingError(
            "Java was not found (no JAVA_HOME, no java on PATH). The statewide job runs on "
            "Spark and needs Java 17 or newer: install it (Debian: apt-get install "
            "openjdk-17-jre-headless). County pulls and audit commands do not need Java."
        )
    if version < 17:
        raise JavaMissingError(f"Java {version} found; Spark 4 needs Java 17 or newer.")


def default_conf() -> dict[str, str]:
    data = read_yaml(conf_dir() / "pipeline.yaml") or {}
    return {str(k): str(v) for k, v in (data.get("spark") or {}).items()}


# --- object stores ----------------------------------------------------------------------------

# The environment an S3 client reads; the Python tasks on executors (ingest, jobs/warehouse/
# inputs.py) get the driver's through spark.executorEnv.
S3_ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
)
_S3_SCHEMES = frozenset({"s3a", "s3", "s3n"})
# Where `make jars` puts hadoop-aws, the AWS SDK modules it needs and delta-spark (jars/pom.xml).
JARS_DIR = Path(__file__).resolve().parents[2] / "jars" / "lib"


def jars_dir() -> Path:
    return Path(os.environ.get("RELIEF_SPARK_JARS") or JARS_DIR)


def s3a_jars() -> list[str]:
    """hadoop-aws and the AWS SDK jars `make jars` fetched (no delta-spark): [] if none."""
    folder = jars_dir()
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.glob("*.jar") if not p.name.startswith("delta-"))


def delta_jars() -> list[str]:
    folder = jars_dir()
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.glob("delta-*.jar"))


def storage_conf(locations: Iterable[str], master: str | None = None) -> dict[str, str]:
    """Spark settings for the object stores among ``locations`` (inputs and warehouse).

    For s3a:// (and s3://, mapped to S3A): Hadoop's S3A client gets the endpoint, path-style
    access and region of an S3-compatible store from AWS_ENDPOINT_URL / AWS_REGION, and the
    credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when they are set (else S3A's
    own chain: instance role, profile). The executors' Python tasks get the same variables
    (spark.executorEnv). Spark redacts settings named like secrets in its UI and logs; none of
    this reaches the command line or the ledger. The hadoop-aws jars of `make jars` are added
    when present (a cluster such as EMR or Databricks brings its own). gs:// and abfss://
    take the cluster's own Hadoop configuration (docs/operations.md).
    """
    schemes = {fs.scheme(fs.location_text(loc)) for loc in locations}
    if not schemes & _S3_SCHEMES:
        return {}
    env = os.environ
    conf: dict[str, str] = {
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    }
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        if endpoint.startswith("http://"):
            conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = "false"
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        conf["spark.hadoop.fs.s3a.endpoint.region"] = region
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        conf["spark.hadoop.fs.s3a.access.key"] = env["AWS_ACCESS_KEY_ID"]
        conf["spark.hadoop.fs.s3a.secret.key"] = env["AWS_SECRET_ACCESS_KEY"]
        if env.get("AWS_SESSION_TOKEN"):
            conf["spark.hadoop.fs.s3a.session.token"] = env["AWS_SESSION_TOKEN"]
            conf["spark.hadoop.fs.s3a.aws.credentials.provider"] = (
                "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
            )
    if not (master or "").startswith("local"):
        for name in S3_ENVIRONMENT:
            if env.get(name):
                conf[f"spark.executorEnv.{name}"] = env[name]
    jars = s3a_jars()
    if jars:
        conf["spark.jars"] = ",".join(jars)
    return conf


def submitted_conf() -> dict[str, str]:
    """Settings spark-submit already gave the driver (its --conf, spark-defaults.conf).

    Empty unless this Python process was started by spark-submit (it then connects to the
    driver JVM spark-submit started, named by PYSPARK_GATEWAY_PORT).
    """
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return {}
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()
    return dict(SparkConf().getAll())


def build_session(
    app_name: str = "relief",
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Build the session, or return the active one (a test's, or a notebook's) unchanged.

    Settings, lowest precedence first: conf/pipeline.yaml, then (under spark-submit) what
    spark-submit was given, then ``conf``. Under spark-submit the master comes from
    spark-submit.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    require_java()
    settings = {**HADOOP_UMASK, **default_conf()}
    for key in submitted_conf():
        settings.pop(key, None)
    settings.update(conf or {})
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    elif not os.environ.get("SPARK_ENV_LOADED") and "spark.master" not in settings:
        master = "local[*]"
        builder = builder.master(master)
    effective = master or settings.get("spark.master", "")
    if effective.startswith("local") and "spark.pyspark.python" not in settings:
        # The ingest tasks run Python (pyarrow): in-process executors use this interpreter,
        # not whatever python3 is first on PATH (PySpark reads only the environment here).
        # A cluster names its executors' own (PYSPARK_PYTHON, spark.pyspark.python).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    quiet = not is_verbose() and "PYSPARK_GATEWAY_PORT" not in os.environ
    if quiet:
        settings = quiet_settings(settings)
    for key, value in settings.items():
        builder = builder.config(key, value)
    # PySpark 4 logs every analysis error as a JSON stack trace; the caller reports it.
    logging.getLogger("DataFrameQueryContextLogger").setLevel(logging.CRITICAL)
    # A local session's JVM (and the Python workers it starts) inherits the umask it is
    # started with: owner-only, whatever the caller's umask.
    with owner_only():
        if quiet:
            with _jvm_stderr_filtered():
                spark = builder.getOrCreate()
        else:
            spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR" if quiet else "WARN")
    return spark


# --- a quiet console ------------------------------------------------------------------------

LOG4J2_QUIET = "log4j2-quiet.properties"  # package data of jobs/runtime/
# What the JVM prints past log4j (Spark's launcher always adds the incubator module, and
# Spark tells a PySpark driver, taken for a shell, how to change the log level): dropped from
# the driver's stderr unless `relief -v`.
JVM_NOISE = (
    b"WARNING: Using incubator modules",
    b"Setting default log level to",
    b"To adjust logging level use sc.setLogLevel",
)


def log4j2_quiet_file() -> str:
    """Path of the shipped log4j2 file (a real file also when relief is installed zipped)."""
    resource = files("relief.jobs.runtime") / LOG4J2_QUIET
    if isinstance(resource, os.PathLike):
        return os.fspath(resource)
    with as_file(resource) as path:  # pragma: no cover - zip imports (spark-submit)
        target = os.path.join(os.path.expanduser("~"), ".cache", "relief", LOG4J2_QUIET)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(path, target)
        return target


def quiet_settings(settings: Mapping[str, str]) -> dict[str, str]:
    """``settings`` plus relief's log4j2 file for the driver (appended to the caller's
    extraJavaOptions; one they name themselves is kept)."""
    out = dict(settings)
    option = f"-Dlog4j2.configurationFile={log4j2_quiet_file()}"
    java = out.get("spark.driver.extraJavaOptions", "")
    if "log4j2.configurationFile" not in java:
        out["spark.driver.extraJavaOptions"] = f"{java} {option}".strip()
    return out


@contextmanager
def _jvm_stderr_filtered() -> Iterator[None]:
    """Launch the driver JVM with its stderr through a pipe that drops :data:`JVM_NOISE`.

    The JVM inherits file descriptor 2 when PySpark starts it: for that moment fd 2 is a
    pipe, and a thread copies every other line to the real stderr for the JVM's lifetime.
    Nothing to do when the JVM is already running.
    """
    from pyspark import SparkContext

    if SparkContext._gateway is not None:
        yield
        return
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    real = os.dup(2)

    def pump() -> None:
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                if not line.startswith(JVM_NOISE):
                    try:
                        os.write(real, line)
                    except OSError:
                        return

    threading.Thread(target=pump, name="relief-jvm-stderr", daemon=True).start()
    os.dup2(write_end, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real, 2)
        os.close(write_end)
