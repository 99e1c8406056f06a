"""Law packs (issue 23, phase 1): the packs, their vocabulary and the rule-path fixtures.

Every rule of the PC 1203.425 and PC 851.93 decision lists (under every reading of their
parameters) has a hand-made subject in tests/law_fixtures.py; the independent evaluator
(tests/law_evaluator.py) decides each as expected, and the pack's rule of that id has the
same determination and reason. Phase 2 runs the same fixtures through the pipeline.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from relief.jobs.cli import app
from relief.jobs.config import ConfigError
from relief.jobs.config.laws import load_law_packs
from relief.transforms.laws import LawPack
from relief.transforms.policy import (
    Determination,
    PolicyValidationError,
    SupervisedReleaseActive,
    open_reason,
    parse_condition,
    parse_policy,
)
from tests import law_evaluator as ev
from tests.law_fixtures import Case, all_cases

CONF_LAWS = Path(__file__).resolve().parents[1] / "conf" / "laws"
CASES = all_cases()


@pytest.fixture(scope="module")
def packs():
    return load_law_packs(CONF_LAWS)


@pytest.fixture(scope="module")
def vocab(packs):
    assert packs.max_terms is not None
    return ev.Vocabularies(
        lists={name: [e.model_dump() for e in v.entries] for name, v in packs.vocabularies.items()},
        max_terms=[e.model_dump() for e in packs.max_terms.entries],
    )


def _decide(case: Case, vocab: ev.Vocabularies) -> ev.Decision | None:
    subject = ev.subjects_of(case.record.rows)[case.record.subject]
    if case.law == "pc1203.425":
        conviction = next((c for c in subject.convictions if c.key == case.key), None)
        if conviction is None:
            return None
        srf = None if case.supervised_release is None else set(case.supervised_release)
        return ev.decide_1203_425(subject, conviction, case.at, vocab, case.params, srf)
    return ev.decide_851_93(subject, subject.cycles[case.key], case.at, vocab, case.params)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.law}: {c.name}" for c in CASES])
def test_each_rule_path_fixture_gets_its_determination_and_reason(case, vocab):
    got = _decide(case, vocab)
    if case.determination is None:
        assert got is None
    else:
        assert got == ev.Decision(case.determination, case.reason or "", case.rule_id or "")


@pytest.mark.parametrize("case", [c for c in CASES if c.rule_id], ids=lambda c: c.name)
def test_fixture_rule_matches_the_pack_rule_of_that_id(case, packs):
    rules = {r.id: r for r in packs.require(case.law).decision_list(case.params).rules}
    rule = rules[case.rule_id]
    if case.reason == rule.reason:
        assert case.determination == rule.then.value
    else:  # an open rule: Hand Review with the reason of what is missing
        assert case.determination == Determination.HAND_REVIEW.value


@pytest.mark.parametrize("law", ["pc1203.425", "pc851.93"])
def test_every_rule_of_every_parameter_reading_has_a_fixture(law, packs):
    pack = packs.require(law)
    ids = {r.id for r in pack.decision_list().rules}
    for name, parameter in pack.parameters.items():
        for reading in parameter.readings():
            ids |= {r.id for r in pack.decision_list({name: reading}).rules}
    covered = {c.rule_id for c in CASES if c.law == law}
    assert ids - covered == set()


def test_conf_law_packs_load_with_their_vocabularies(packs):
    assert set(packs.packs) == {"prop64", "pc1203.425", "pc851.93"}
    assert packs.enabled() == ["prop64"]  # the new laws join a run in phase 2
    assert set(packs.vocabularies) == {
        "serious_felony",
        "violent_felony",
        "pc290_offense",
        "pc1203_4b",
    }
    for law in ("pc1203.425", "pc851.93"):
        for rule in packs.require(law).decision_list().rules:
            assert rule.citation.startswith("PC ")


def test_a_county_policy_refuses_law_pack_predicates_and_arrest_relief():
    with pytest.raises(PolicyValidationError) as err:
        parse_policy(
            {
                "name": "x",
                "rules": [
                    {"id": "a", "when": {"pending_charge": True}, "then": "Hand Review",
                     "reason": "r"},
                    {"id": "b", "when": {"always": True}, "then": "arrest_relief", "reason": "r"},
                ],
            }
        )  # fmt: skip
    text = str(err.value)
    assert "pending_charge is a law-pack predicate" in text
    assert "Eligible for Arrest Relief is the PC 851.93 law pack's determination" in text


def _pack(**changes):
    data = yaml.safe_load((CONF_LAWS / "pc851.93.yaml").read_text())
    data.update(changes)
    return data


def test_a_pack_predicate_off_its_row_unit_is_named():
    rules = _pack()["rules"]
    rules[2] = {**rules[2], "when": {"state_prison_sentence": True}}
    with pytest.raises(ValueError, match="state_prison_sentence is defined on a conviction row"):
        LawPack.model_validate(_pack(rules=rules))


def test_a_determination_of_another_law_is_named():
    rules = _pack()["rules"]
    rules[2] = {**rules[2], "then": "Eligible for Dismissal"}
    with pytest.raises(ValueError, match="not a determination of a arrest_cycle law"):
        LawPack.model_validate(_pack(rules=rules))


def test_an_unknown_parameter_reference_is_named():
    rules = _pack()["rules"]
    rules[0] = {**rules[0], "when": {"not": {"arrested_on_or_after": "$start"}}}
    with pytest.raises(ValueError, match=r"\$start is not a parameter of the pack"):
        LawPack.model_validate(_pack(rules=rules))


def test_a_parameter_value_outside_its_choices_is_refused(packs):
    pack = packs.require("pc1203.425")
    with pytest.raises(ValueError, match=r"is not one of 2005-01-01, 1973-01-01"):
        pack.decision_list({"path3_start_date": "1999-01-01"})
    with pytest.raises(ValueError, match=r"'nope' is not a parameter of law pc1203\.425"):
        pack.decision_list({"nope": 1})


def test_parameters_change_the_decision_list(packs):
    pack = packs.require("pc1203.425")
    default = [r.id for r in pack.decision_list().rules]
    assert "path3-start-date" in default and "serious-violent-review" in default
    other = pack.decision_list(
        {"path3_start_date": "1973-01-01", "serious_violent_bars_paths_I_II": "no_bar"}
    )
    ids = [r.id for r in other.rules]
    assert "path3-start-date" not in ids and "serious-violent-review" not in ids
    path3 = next(r for r in other.rules if r.id == "path3-felony")
    assert "convicted_on_or_after(date=1973-01-01)" in {leaf.key() for leaf in _leaves(path3.when)}


def _leaves(condition):
    from relief.transforms.policy import leaves

    return list(leaves(condition))


def test_an_open_supervised_release_check_names_the_missing_file():
    condition = parse_condition({"all": [{"felony": True}, {"supervised_release_active": True}]})
    values = {"felony": True, SupervisedReleaseActive().key(): None}
    assert open_reason(condition, values) == "Supervised Release File not checked"


def test_policy_show_prints_a_pack_with_citations_and_parameters():
    result = CliRunner().invoke(app, ["policy", "show", "--law", "pc1203.425"])
    assert result.exit_code == 0, result.output
    assert "[PC 1203.425(a)(1)(B)(iv)]" in result.output
    assert "path3_start_date = 2005-01-01  [unconfirmed]" in result.output
    assert "reason Probation completed" in result.output


def test_policy_show_with_a_parameter_set_and_bad_usage():
    runner = CliRunner()
    shown = runner.invoke(
        app, ["policy", "show", "--law", "pc851.93", "--set", "pc290_bars_arrest_relief=true"]
    )
    assert shown.exit_code == 0, shown.output
    assert "pc290_bars_arrest_relief = true (set on the command line)" in shown.output
    assert "pc290-registrant  [PC 851.93 (registration bar unconfirmed)]" in shown.output
    bad = runner.invoke(app, ["policy", "show", "--law", "pc851.93", "--set", "x"])
    assert bad.exit_code == 2
    unknown = runner.invoke(app, ["policy", "show", "--law", "pc9999"])
    assert unknown.exit_code == 2
    assert "no law pack 'pc9999'" in unknown.output


def test_a_broken_pack_file_is_one_message_naming_the_file(tmp_path):
    (tmp_path / "pc851.93.yaml").write_text(
        yaml.safe_dump(_pack(candidates="everything"), sort_keys=False)
    )
    with pytest.raises(ConfigError, match=r"pc851\.93\.yaml: invalid configuration"):
        load_law_packs(tmp_path)


def test_the_evaluator_reads_dates_and_sections_as_documented():
    assert ev.add_months(dt.date(2020, 1, 31), 1) == dt.date(2020, 2, 29)
    assert ev.add_years(dt.date(2020, 2, 29), 1) == dt.date(2021, 2, 28)
    assert ev.parse_day("20200000") is None
    cs = ev.code_section("664/187(A) PC-ATTEMPTED MURDER")
    assert cs == ev.CodeSection("187", "(a)", "PC", True)
    assert ev.in_entry(ev.code_section("261 PC-RAPE"), "261(a)(2) PC", False) is None
    assert ev.in_entry(ev.code_section("261(A)(3) PC"), "261(a)(2) PC", False) is False
