"""The county install (issue #17.2): `pip install relief` without extras is enough to pull,
build a packet and audit a county's table: no pyspark, Great Expectations or JVM in the venv,
conf/ found as package data; `relief run` says which extra to install.

Builds the wheel from a copy of the sources (pip wheel, build isolation from pip's cache) and
installs it with --no-deps into a fresh virtualenv without pip; the venv then sees exactly the
base install's dependencies: the distributions the wheel's Requires-Dist names without an extra,
and theirs, linked from the test environment (their pinned versions checked) through a .pth
file. No pyspark, Great Expectations or JVM can reach it, as with `pip install relief`, and
nothing is downloaded or unpacked again. Then it runs the installed `relief` from outside the
repository."""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers.county_tables import fresno_rows, write_county

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "src", "jobs", "transforms", "expectations", "conf")
JOB_ONLY = ("pyspark", "py4j", "great_expectations", "pandas", "matplotlib")

pytestmark = pytest.mark.slow


def _copy_sources(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return target


def _clean_env(venv: Path) -> dict[str, str]:
    """No Java, no Spark, no RELIEF_CONF, no checkout on the path: only the venv."""
    drop = ("JAVA_HOME", "SPARK_HOME", "RELIEF_CONF", "PYTHONPATH", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PATH"] = str(venv / "bin")
    assert shutil.which("java", path=env["PATH"]) is None, "the test needs a PATH without java"
    return env


def base_requirements(wheel: Path) -> list[Requirement]:
    """The wheel's Requires-Dist without an extra: what `pip install relief` installs."""
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.BytesParser().parsebytes(archive.read(name))
    reqs = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def dependency_closure(requirements: list[Requirement]) -> list[metadata.Distribution]:
    """The installed distributions these requirements need, and theirs, each version checked."""
    env = {**default_environment(), "extra": ""}
    seen: dict[str, metadata.Distribution] = {}
    todo = list(requirements)
    while todo:
        req = todo.pop()
        key = canonicalize_name(req.name)
        if key in seen:
            continue
        dist = metadata.distribution(req.name)
        assert req.specifier.contains(dist.version, prereleases=True), (req, dist.version)
        seen[key] = dist
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or sub.marker.evaluate(env):
                todo.append(sub)
    return list(seen.values())


def link_distributions(dists: list[metadata.Distribution], target: Path) -> None:
    """Link each distribution's top-level files and folders (and its dist-info) into target."""
    target.mkdir()
    for dist in dists:
        site = Path(str(dist.locate_file("")))
        for top in {f.parts[0] for f in dist.files or [] if f.parts[0] != ".."}:
            source, link = site / top, target / top
            if source.exists() and not link.exists() and not top.endswith(".pth"):
                link.symlink_to(source)


@pytest.fixture(scope="module")
def county_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("install")
    sources = _copy_sources(base / "src")
    wheels = base / "wheels"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--disable-pip-version-check", "-w", str(wheels), str(sources)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    [wheel] = wheels.glob("relief-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=300)  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--quiet", "--no-deps", "--disable-pip-version-check", str(wheel)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    [site] = (venv / "lib").glob("python3.*/site-packages")
    link_distributions(dependency_closure(base_requirements(wheel)), base / "base-deps")
    (site / "relief-base-deps.pth").write_text(f"{base / 'base-deps'}\n")
    return venv


def run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "relief"), *args], cwd=cwd, env=_clean_env(venv),
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip


def test_the_base_install_has_no_spark_no_great_expectations_no_jvm(county_venv: Path):
    code = (
        "import importlib.util as u, json\n"
        f"print(json.dumps([m for m in {JOB_ONLY!r} if u.find_spec(m) is not None]))\n"
    )
    done = subprocess.run([str(county_venv / "bin" / "python"), "-c", code],
                          capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    assert done.stdout.strip() == "[]"


def test_the_base_install_pulls_packets_and_audits_a_county_table(
    county_venv: Path, tmp_path: Path
):
    warehouse = tmp_path / "warehouse"
    write_county(warehouse, "fresno", fresno_rows(), "run-1")
    elsewhere = tmp_path / "elsewhere"  # not the checkout: conf/ must come with the package
    elsewhere.mkdir()
    for fmt in ("csv", "xlsx", "gogen", "parquet"):
        out = str(tmp_path / fmt)
        done = run(county_venv, elsewhere, "county", "pull", "--warehouse", str(warehouse),
                   "--county", "Fresno County", "--out", out, "--format", fmt)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "Fresno: version 0 (run run-1), published by run run-1; 11 rows" in done.stdout
    csv_text = (tmp_path / "csv" / "fresno_v0.csv").read_text(encoding="utf-8-sig")
    assert "'=O'BRIEN, PAT" in csv_text
    done = run(county_venv, elsewhere, "county", "packet", "--warehouse", str(warehouse),
               "--county", "10", "--out", str(tmp_path / "packet"), "--merged")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "packet" / "orders_merged.pdf").is_file()
    done = run(county_venv, elsewhere, "audit", "history", "--warehouse", str(warehouse),
               "--county", "fresno")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "run-1" in done.stdout


def test_the_base_install_reads_conf_from_its_package_and_honours_conf_dir(
    county_venv: Path, tmp_path: Path
):
    code = (
        "from relief.jobs.config import conf_location; d, s = conf_location(); "
        "print(s, '.'.join(d.parts[-2:]))"
    )
    done = subprocess.run([str(county_venv / "bin" / "python"), "-c", code], cwd=tmp_path,
                          env=_clean_env(county_venv), capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    assert done.stdout.strip() == "the installed package relief.conf"
    nowhere = str(tmp_path / "nowhere")
    done = run(county_venv, tmp_path, "--conf-dir", nowhere, "county", "pull", "--warehouse",
               str(tmp_path), "--county", "fresno", "--out", str(tmp_path / "o"))  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(f"relief: --conf-dir {tmp_path / 'nowhere'}: no counties.yaml")


def test_the_statewide_job_without_its_extra_says_which_extra_to_install(
    county_venv: Path, tmp_path: Path
):
    done = run(county_venv, tmp_path, "run", "--input", "x.csv", "--warehouse", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr == (
        "relief: `relief run` needs the statewide job's dependencies (pyspark, "
        "great_expectations not installed); the base install only pulls, packets and "
        "audits: pip install 'relief[job]'\n"
    )
    done = run(county_venv, tmp_path, "report", "--warehouse", str(tmp_path), "--out",
               str(tmp_path / "r"))  # fmt: skip
    assert done.returncode == 2 and "pip install 'relief[job]'" in done.stderr


def test_the_install_adds_one_top_level_package_relief(county_venv: Path, tmp_path: Path):
    code = (
        "import importlib.metadata as m\n"
        "tops = {f.parts[0] for f in m.files('relief')}\n"
        "print(sorted(t for t in tops if t != '..' and not t.endswith('.dist-info')))\n"
    )
    done = subprocess.run([str(county_venv / "bin" / "python"), "-c", code], cwd=tmp_path,
                          env=_clean_env(county_venv), capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    assert done.stdout.strip() == "['relief']"  # no jobs, transforms, expectations, conf
