"""The laws of a run (jobs/config/laws.py resolve_laws): what `relief run --laws` decides,
with each pack's parameters in force and a hash that joins the run key."""

from __future__ import annotations

import json

import pytest

from relief.jobs.config import ConfigError
from relief.jobs.config.laws import load_law_packs, resolve_laws
from tests.helpers.law_lines import CONF_LAWS

P1203, P851 = "pc1203.425", "pc851.93"


@pytest.fixture(scope="module")
def packs():
    return load_law_packs(CONF_LAWS)


def test_the_default_is_what_conf_enables(packs):
    run = resolve_laws(packs, None)
    assert (run.prop64, run.laws) == (True, ())
    assert run.key_part() == {"prop64": True, "laws": {}}


def test_all_three_laws_with_their_parameters_and_hashes(packs):
    run = resolve_laws(packs, ["prop64", P1203, P851])
    assert (run.prop64, run.laws) == (True, (P1203, P851))
    assert run.parameters[P1203]["path3_start_date"] == "2005-01-01"
    assert run.parameters[P851]["pc290_bars_arrest_relief"] is False
    recorded = json.loads(run.metadata())
    assert recorded[P1203]["hash"] == run.hashes[P1203]
    assert recorded[P851]["parameters"] == run.parameters[P851]
    # Another reading of a parameter is another result: another hash.
    other = resolve_laws(packs, [P1203], {P1203: {"path3_start_date": "1973-01-01"}})
    assert other.prop64 is False
    assert other.hashes[P1203] != run.hashes[P1203]
    assert resolve_laws(packs, [P1203]).hashes[P1203] == run.hashes[P1203]


@pytest.mark.parametrize(
    ("laws", "overrides", "message"),
    [
        (["pc9999"], None, "no law pack 'pc9999'"),
        ([P1203, P1203], None, "given twice"),
        ([], None, "at least one law"),
        ([P1203], {P851: {"pc290_bars_arrest_relief": True}}, "does not decide"),
        ([P1203], {P1203: {"path3_start_date": "1990-01-01"}}, P1203),
    ],
)
def test_bad_laws_are_one_message(packs, laws, overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_laws(packs, laws, overrides)
