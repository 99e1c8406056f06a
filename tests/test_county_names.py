"""County names as people type them (issue #17.4): one resolver (transforms/vocabulary.py
Counties.resolve) for the statewide --counties, county pull/packet, audit and policy check;
a did-you-mean on a miss; one error style (`relief: ...`, exit 2); a missing warehouse is
named as such."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from relief.jobs.audit.cli import app as audit_app
from relief.jobs.config import load_counties
from relief.jobs.config.cli import app as policy_app
from relief.jobs.county.cli import app as county_app
from relief.transforms.vocabulary import Counties, UnknownCounty

COUNTIES = load_counties()


@pytest.mark.parametrize(
    "typed",
    ["Los Angeles", "LOS ANGELES", "los angeles", "  Los   Angeles ", "los-angeles",
     "los_angeles", "Los Angeles County", "los angeles county", "County of Los Angeles",
     "19"],
)  # fmt: skip
def test_every_way_of_writing_los_angeles_resolves(typed: str):
    county = COUNTIES.resolve(typed)
    assert county is not None and county.slug == "los-angeles"


def test_doj_codes_resolve_with_or_without_the_leading_zero():
    assert [COUNTIES.resolve(code).slug for code in ("07", "7", "58")] == [  # type: ignore[union-attr]
        "contra-costa",
        "contra-costa",
        "yuba",
    ]
    assert COUNTIES.resolve("0") is None and COUNTIES.resolve("59") is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Los Angelas", "unknown county 'Los Angelas': did you mean Los Angeles?"),
        ("LA", "unknown county 'LA': did you mean Los Angeles?"),
        ("SF", "unknown county 'SF': did you mean San Francisco?"),
        ("Sacremento", "unknown county 'Sacremento': did you mean Sacramento?"),
        ("San", "unknown county 'San': did you mean San Benito, San Bernardino or San Diego?"),
        ("Atlantis", "unknown county 'Atlantis': give a county's name, slug or DOJ code, "
                     "e.g. 'Los Angeles', 'los-angeles' or '19'"),
    ],
)  # fmt: skip
def test_a_miss_suggests_what_was_probably_meant_and_never_lists_all_58(typed: str, message: str):
    with pytest.raises(UnknownCounty) as exc:
        COUNTIES.require(typed)
    assert str(exc.value) == message
    assert COUNTIES.resolve(typed) is None


def test_resolver_is_pure_over_the_model():
    two = Counties.model_validate(
        {"counties": [{"name": "ALPINE", "slug": "alpine", "code": "02", "population": 1},
                      {"name": "EL DORADO", "slug": "el-dorado", "code": "09",
                       "population": 192}]}
    )  # fmt: skip
    assert two.require("el dorado county").code == "09"
    assert two.require("2").name == "ALPINE"


def test_pull_packet_and_audit_accept_county_and_code_forms(tmp_path: Path):
    from tests.helpers.county_tables import fresno_rows, write_county

    warehouse = tmp_path / "warehouse"
    write_county(warehouse, "fresno", fresno_rows(), "run-1")
    runner = CliRunner()
    for typed in ("Fresno County", "10", " FRESNO "):
        out = tmp_path / f"pull-{typed.strip()}"
        result = runner.invoke(county_app, ["pull", "--warehouse", str(warehouse),
                                            "--county", typed, "--out", str(out)])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert result.output.startswith("Fresno: version 0")
    result = runner.invoke(county_app, ["packet", "--warehouse", str(warehouse), "--county", "10",
                                        "--out", str(tmp_path / "packet")])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(audit_app, ["history", "--warehouse", str(warehouse),
                                       "--county", "fresno county"])  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_missing_warehouse_is_named_not_reported_as_a_missing_table(tmp_path: Path):
    runner = CliRunner()
    missing = tmp_path / "no-such-warehouse"
    for app, args in (
        (county_app, ["pull", "--county", "fresno", "--out", str(tmp_path / "o")]),
        (county_app, ["packet", "--county", "fresno", "--out", str(tmp_path / "p")]),
        (audit_app, ["history", "--county", "fresno"]),
        (audit_app, ["diff", "--county", "fresno", "--from", "0", "--to", "1"]),
    ):
        result = runner.invoke(app, [*args, "--warehouse", str(missing)])
        assert result.exit_code == 2, args
        assert result.output == f"relief: {missing}: no such warehouse directory\n", args
    assert not (tmp_path / "o").exists()


def test_unknown_county_is_one_relief_error_in_every_command(tmp_path: Path):
    runner = CliRunner()
    expected = "relief: unknown county 'Los Angelas': did you mean Los Angeles?\n"
    for app, args in (
        (county_app, ["pull", "--warehouse", str(tmp_path), "--out", str(tmp_path / "o")]),
        (county_app, ["packet", "--warehouse", str(tmp_path), "--out", str(tmp_path / "o")]),
        (audit_app, ["history", "--warehouse", str(tmp_path)]),
        (audit_app, ["explain", "--warehouse", str(tmp_path), "--record-id", "x"]),
        (policy_app, ["check"]),
    ):
        result = runner.invoke(app, [*args, "--county", "Los Angelas"])
        assert result.exit_code == 2, args
        assert result.output == expected, args


def test_policy_check_speaks_with_the_relief_prefix():
    result = CliRunner().invoke(policy_app, ["check"])
    assert result.exit_code == 2
    assert result.output == "relief: give either a policy FILE or --county NAME\n"


def test_statewide_counties_option_uses_the_same_resolver(tmp_path: Path):
    from relief.jobs.statewide import RunOptions, UsageError, prepare

    options = RunOptions(inputs=str(tmp_path / "none.csv"), warehouse=tmp_path / "w",
                         counties=["Los Angelas"])  # fmt: skip
    with pytest.raises(UsageError) as exc:
        prepare(options)
    assert str(exc.value) == "--counties: unknown county 'Los Angelas': did you mean Los Angeles?"
