"""Access model (issue #13.4): warehouse files owner-only by default, a county's table
readable by its group only when conf/access.yaml says so, Spark's own files owner-only, and
readers that refuse a county table that is a link or lies outside <warehouse>/counties."""

from __future__ import annotations

import grp
import os
import shutil
import stat
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from relief.jobs.config import ConfigError
from relief.jobs.county.pull import pull
from relief.jobs.warehouse.access import (
    AccessError,
    AccessSettings,
    Gids,
    load_access,
    resolve_groups,
    secure_warehouse,
)
from relief.jobs.warehouse.snapshots import PullError
from tests.helpers.county_tables import fresno_rows, row, write_county
from tests.helpers.ledger_rows import publish


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Two county tables and a ledger written by hand under umask 022 (0755/0644), as an
    older relief left them, plus a quarantine and validation folder."""
    previous = os.umask(0o022)
    try:
        root = tmp_path / "warehouse"
        write_county(root, "fresno", fresno_rows(), "run-1")
        write_county(root, "kern", [row(1, "S1", county="KERN")], "run-1")
        publish(root, "run-1", {"fresno": 0, "kern": 0})
        (root / "quarantine").mkdir()
        (root / "quarantine" / "part-0.parquet").write_bytes(b"raw lines")
        (root / "validation" / "run-1").mkdir(parents=True)
        (root / "validation" / "run-1" / "results.json").write_text("{}")
    finally:
        os.umask(previous)
    return root


def test_secure_warehouse_makes_every_folder_0700_and_every_file_0600(warehouse: Path):
    assert mode(warehouse / "counties" / "fresno") == 0o755  # as an older relief left it
    secure_warehouse(warehouse, AccessSettings())
    for path in [warehouse, *warehouse.rglob("*")]:
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


def _other_group() -> grp.struct_group:
    """A group this process may give files to, other than its own primary group."""
    mine = os.getegid()
    if os.geteuid() == 0:
        candidates = [g for g in grp.getgrall() if g.gr_gid != mine]
    else:
        candidates = [grp.getgrgid(g) for g in os.getgroups() if g != mine]
    if not candidates:
        pytest.skip("no second group to give files to")
    return candidates[0]


def test_a_countys_group_reads_its_table_only_and_the_readers_group_the_ledger(
    warehouse: Path,
):
    group = _other_group()  # stands for relief-readers and relief-fresno (no groupadd in tests)
    secure_warehouse(warehouse, gids=Gids(group.gr_gid, {"fresno": group.gr_gid}))
    fresno, kern = warehouse / "counties" / "fresno", warehouse / "counties" / "kern"
    assert mode(warehouse) == mode(warehouse / "counties") == 0o750  # folder names only
    for path in [fresno, *fresno.rglob("*")]:
        assert path.lstat().st_gid == group.gr_gid, path
        assert mode(path) == (0o2750 if path.is_dir() else 0o640), path
    for path in [kern, *kern.rglob("*"), warehouse / "quarantine", warehouse / "validation"]:
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    runs = warehouse / "runs"
    assert all(p.lstat().st_gid == group.gr_gid for p in [runs, *runs.rglob("*")])
    assert mode(runs) == 0o2750
    # Groups removed from the setting: back to owner-only.
    secure_warehouse(warehouse, AccessSettings())
    assert mode(fresno) == 0o700 and mode(warehouse) == 0o700 and mode(runs) == 0o700


def write_access(conf: Path, text: str) -> Path:
    shutil.copytree(Path(__file__).resolve().parents[1] / "conf", conf)
    (conf / "access.yaml").write_text(text)
    return conf


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "readers_group: relief-readers\ncounties: {alpine: {group: relief-sierra}}\n",
            "counties.alpine.group 'relief-sierra': a county's group must be named relief-alpine",
        ),
        (
            "counties: {alpine: {group: relief-alpine}}\n",
            "counties: set readers_group too",
        ),
        (
            "readers_group: relief-readers\ncounties: {atlantis: {group: relief-atlantis}}\n",
            "counties: atlantis is not a county slug of counties.yaml",
        ),
        ("readers_group: Relief Readers\n", "readers_group 'Relief Readers' is not a group name"),
        ("owner: everyone\n", "owner: Extra inputs are not permitted"),
    ],
)
def test_access_setting_is_validated_naming_the_field(tmp_path: Path, text: str, message: str):
    conf = write_access(tmp_path / "conf", text)
    with pytest.raises(ConfigError) as caught:
        load_access(conf)
    assert str(caught.value).startswith(f"{conf / 'access.yaml'}: invalid configuration")
    assert message in str(caught.value)


def test_a_group_missing_on_the_machine_is_named_with_the_fix(tmp_path: Path):
    conf = write_access(
        tmp_path / "conf",
        "readers_group: relief-readers-nowhere\ncounties: {alpine: {group: relief-alpine}}\n",
    )
    settings = load_access(conf)
    with pytest.raises(AccessError) as caught:
        resolve_groups(settings)
    assert str(caught.value) == (
        "conf/access.yaml readers_group: no group 'relief-readers-nowhere' on this machine "
        "(create it: groupadd relief-readers-nowhere), or remove the setting"
    )


def test_the_shipped_access_setting_is_owner_only():
    settings = load_access()
    assert settings.readers_group is None and settings.counties == {}


def test_spark_writes_owner_only_files_whatever_the_callers_umask(
    spark: SparkSession, tmp_path: Path
):
    previous = os.umask(0o022)
    try:
        out = tmp_path / "staged"
        spark.range(5).write.parquet(str(out))
    finally:
        os.umask(previous)
    written = [out, *out.rglob("*")]
    assert any(p.suffix == ".parquet" for p in written)
    for path in written:
        assert mode(path) & 0o077 == 0, (path, oct(mode(path)))


# --- readers refuse links --------------------------------------------------------------------


def test_pull_refuses_a_county_table_that_is_a_link_to_the_quarantine(
    warehouse: Path, tmp_path: Path
):
    fresno = warehouse / "counties" / "fresno"
    shutil.rmtree(fresno)
    fresno.symlink_to(warehouse / "counties" / "kern")
    with pytest.raises(PullError) as caught:
        pull(warehouse, "Fresno", tmp_path / "out")
    assert f"{fresno} is a symbolic link (to {warehouse / 'counties' / 'kern'})" in str(
        caught.value
    )
    assert not (tmp_path / "out").exists()


def test_pull_refuses_a_delta_log_linked_elsewhere(warehouse: Path, tmp_path: Path):
    log = warehouse / "counties" / "fresno" / "_delta_log"
    shutil.rmtree(log)
    log.symlink_to(warehouse / "counties" / "kern" / "_delta_log")
    with pytest.raises(PullError) as caught:
        pull(warehouse, "Fresno", tmp_path / "out")
    assert "_delta_log is a symbolic link" in str(caught.value)


def test_pull_refuses_a_data_file_that_is_a_link_out_of_the_table(warehouse: Path, tmp_path: Path):
    fresno = warehouse / "counties" / "fresno"
    data = next(fresno.glob("*.parquet"))
    elsewhere = tmp_path / "elsewhere.parquet"
    shutil.move(data, elsewhere)
    data.symlink_to(elsewhere)
    with pytest.raises(PullError) as caught:
        pull(warehouse, "Fresno", tmp_path / "out")
    assert f"its data file {data.name} is a symbolic link or lies outside" in str(caught.value)


def test_pull_refuses_a_counties_folder_that_is_a_link(warehouse: Path, tmp_path: Path):
    real = tmp_path / "other-counties"
    shutil.move(warehouse / "counties", real)
    (warehouse / "counties").symlink_to(real)
    with pytest.raises(PullError) as caught:
        pull(warehouse, "Kern", tmp_path / "out")
    assert "counties is a symbolic link" in str(caught.value)


def test_packet_refuses_a_linked_table_too(warehouse: Path, tmp_path: Path):
    from relief.jobs.county.packet import packet

    kern = warehouse / "counties" / "kern"
    shutil.rmtree(kern)
    kern.symlink_to(warehouse / "quarantine")
    with pytest.raises(PullError) as caught:
        packet(warehouse, "Kern", tmp_path / "packet")
    assert "is a symbolic link" in str(caught.value)


def test_pull_still_reads_a_warehouse_reached_through_a_linked_root(
    warehouse: Path, tmp_path: Path
):
    link = tmp_path / "linked-warehouse"
    link.symlink_to(warehouse)
    pull(link, "Kern", tmp_path / "out")
    assert list((tmp_path / "out").iterdir())


def test_run_with_a_group_missing_on_the_machine_exits_2_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from typer.testing import CliRunner

    from relief.jobs.cli import app

    conf = write_access(
        tmp_path / "conf",
        "readers_group: relief-readers-nowhere\ncounties: {alpine: {group: relief-alpine}}\n",
    )
    monkeypatch.setenv("RELIEF_CONF", str(conf))
    extract = tmp_path / "extract.csv"
    extract.write_text(",".join(["1"] * 95) + "\n")
    warehouse = tmp_path / "warehouse"
    done = CliRunner().invoke(app, ["run", "--input", str(extract), "--warehouse", str(warehouse)])
    assert done.exit_code == 2, done.output
    assert "no group 'relief-readers-nowhere' on this machine" in done.output
    assert not warehouse.exists()
