"""Where conf/ comes from (issue #17.2): RELIEF_CONF or `relief --conf-dir` over the conf/
shipped with relief (the checkout's, or the installed package's relief.conf)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from relief.jobs.cli import app
from relief.jobs.config import ConfigError, conf_location, load_counties

ROOT = Path(__file__).resolve().parent.parent


def test_a_checkout_reads_its_own_conf_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("RELIEF_CONF", raising=False)
    monkeypatch.chdir(tmp_path)
    assert conf_location() == (ROOT / "conf", "the checkout")
    assert len(load_counties().counties) == 58


def test_relief_conf_overrides_and_a_missing_file_says_where_conf_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("RELIEF_CONF", str(tmp_path))
    assert conf_location() == (tmp_path, "$RELIEF_CONF")
    with pytest.raises(ConfigError) as exc:
        load_counties()
    assert str(exc.value) == (
        f"{tmp_path / 'counties.yaml'}: file not found (conf/ taken from $RELIEF_CONF: "
        f"{tmp_path}; point RELIEF_CONF or relief --conf-dir at a folder holding "
        "counties.yaml, offenses.yaml, pipeline.yaml and policies/)"
    )


def test_conf_dir_option_points_every_command_at_another_conf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from tests.helpers.county_tables import fresno_rows, write_county

    monkeypatch.setenv("RELIEF_CONF", str(ROOT / "conf"))  # restored after the test
    conf = tmp_path / "site-conf"
    shutil.copytree(ROOT / "conf", conf)
    office = {"attorney": "Pat Example", "bar_number": "765432", "address": ["1 Main St"]}
    (conf / "offices.yaml").write_text(yaml.safe_dump({"offices": {"fresno": office}}))
    warehouse = tmp_path / "warehouse"
    write_county(warehouse, "fresno", fresno_rows(), "run-1")
    result = CliRunner().invoke(app, ["--conf-dir", str(conf), "county", "packet",
                                      "--warehouse", str(warehouse), "--county", "fresno",
                                      "--out", str(tmp_path / "p")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "DA office: placeholders" not in result.output
    assert conf_location() == (conf.resolve(), "$RELIEF_CONF")


def test_conf_dir_must_hold_a_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RELIEF_CONF", str(ROOT / "conf"))
    result = CliRunner().invoke(app, ["--conf-dir", str(tmp_path), "county", "pull",
                                      "--warehouse", str(tmp_path), "--county", "x",
                                      "--out", str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 2
    assert result.output.startswith(f"relief: --conf-dir {tmp_path}: no counties.yaml there")
