"""Policy model, BEAR options compilation, policy files and `relief policy check` (no Spark)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from relief.jobs.config import ConfigError, conf_dir
from relief.jobs.config.cli import app
from relief.jobs.config.policies import load_policies, load_policy, load_policy_dir
from relief.transforms.policy import (
    AgeAtLeast,
    AgeAtMost,
    AllOf,
    Always,
    CodeSectionIn,
    ConditionError,
    Determination,
    NoConvictionInPastYears,
    Not,
    PolicyValidationError,
    SectionIn,
    add_years,
    open_reason,
    parse_condition,
    parse_eligibility_options,
    parse_policy,
    policy_hash,
    section_list_entries,
)

POLICIES = conf_dir() / "policies"


def rule(id: str, when: Any, then: str = "dismiss", reason: str = "r") -> dict[str, Any]:
    return {"id": id, "when": when, "then": then, "reason": reason}


OTHERWISE = rule("otherwise", {"always": True}, "Hand Review", "No applicable eligibility criteria")


def policy_data(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"name": "test", "rules": [*rules, OTHERWISE]}


def errors_of(data: Any) -> list[str]:
    with pytest.raises(PolicyValidationError) as info:
        parse_policy(data)
    return info.value.errors


def write(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data) if path.suffix != ".json" else json.dumps(data))
    return path


# --- shipped policies --------------------------------------------------------------------


def test_default_policy_is_the_statewide_baseline() -> None:
    policy = load_policy(POLICIES / "default.yaml")
    rows = [(r.id, r.when.describe(), r.then, r.render_reason("11358")) for r in policy.rules]
    assert rows == [
        ("misdemeanor", "not a felony (misdemeanor or infraction)", Determination.DISMISSAL,
         "Misdemeanor or Infraction"),
        ("dismiss-11357-11358", "section in 11357, 11358", Determination.DISMISSAL,
         "Dismiss all HS 11358 convictions"),
        ("reduce-11359-11360", "section in 11359, 11360", Determination.REDUCTION,
         "Reduce all HS 11358 convictions"),
        ("otherwise", "always", Determination.HAND_REVIEW, "No applicable eligibility criteria"),
    ]  # fmt: skip


def test_los_angeles_policy_has_the_statute_shaped_rules_in_order() -> None:
    policy = load_policy(POLICIES / "los-angeles.yaml")
    rows = [(r.id, r.then.value, r.render_reason("11359")) for r in policy.rules]
    assert rows == [
        ("misdemeanor", "To be reviewed by City Attorneys", "Misdemeanor or Infraction"),
        ("after-prop64", "Not eligible", "Occurred after 11/09/2016"),
        ("11357-a-b", "Eligible for Dismissal", "11357(a) or 11357(b)"),
        ("other-11357", "Hand Review", "Other 11357"),
        ("superstrike", "Not eligible", "PC 667(e)(2)(c)(iv)"),
        ("pc290", "Not eligible", "PC 290"),
        ("two-priors", "Not eligible", "Two priors"),
        ("age-50", "Eligible for Dismissal", "50 years or older"),
        ("age-21-or-younger", "Eligible for Dismissal", "21 years or younger"),
        ("only-prop64-sentences-completed", "Eligible for Dismissal",
         "Only has 11357-60 charges and completed sentence"),
        ("no-conviction-10-years", "Eligible for Dismissal", "No convictions in past 10 years"),
        ("serving-sentence", "Hand Review", "Currently serving sentence"),
        ("deceased", "Eligible for Dismissal", "Deceased"),
        ("otherwise", "Hand Review", "No applicable eligibility criteria"),
    ]  # fmt: skip
    by_id = {r.id: r.when for r in policy.rules}
    assert by_id["no-conviction-10-years"] == NoConvictionInPastYears(years=10, form="none_after")
    assert by_id["11357-a-b"] == CodeSectionIn(code_sections=("11357(a)", "11357(b)"))
    # The pilot flow's age reading (DOMAIN.md §4): (compute-at - DOB) days / 365.25 <= 21.
    assert by_id["age-21-or-younger"] == AgeAtMost(years=21, age_as="fractional_years")
    assert by_id["age-50"] == AgeAtLeast(years=50)


def test_policy_dir_gives_los_angeles_its_own_policy_and_others_the_default() -> None:
    policies = load_policy_dir(POLICIES)
    assert policies.for_county("los-angeles").name == "los-angeles"
    assert policies.for_county("alpine").name == "default"
    assert policies.source_for("alpine") == POLICIES / "default.yaml"
    assert policies.hash_for("alpine") == policy_hash(policies.default)
    assert set(policies.hashes()) == {"default", "los-angeles"}
    assert policies.hashes(["alpine"]) == {"alpine": policy_hash(policies.default)}


# --- conditions --------------------------------------------------------------------------


def test_scalar_shorthand_and_parameter_mapping_are_the_same_condition() -> None:
    assert parse_condition({"age_at_least": 50}) == parse_condition({"age_at_least": {"years": 50}})
    assert parse_condition({"section_in": [11357, "11358"]}) == SectionIn(
        sections=("11357", "11358")
    )
    assert parse_condition({"no_conviction_in_past_years": 7}) == NoConvictionInPastYears(
        years=7, form="most_recent_before"
    )


def test_age_reading_is_a_parameter_left_out_of_keys_while_it_is_the_default() -> None:
    calendar = parse_condition({"age_at_most": 21})
    fractional = parse_condition({"age_at_most": {"years": 21, "age_as": "fractional_years"}})
    assert calendar == AgeAtMost(years=21, age_as="completed_years")
    # Policies written before the parameter keep their predicate keys and hashes.
    assert calendar.key() == "age_at_most(years=21)"
    assert calendar.to_data() == {"age_at_most": {"years": 21}}
    assert fractional.key() == "age_at_most(years=21, age_as=fractional_years)"
    assert fractional.describe() == (
        "age <= 21 at compute-at ((compute-at - DOB) in days / 365.25 <= 21)"
    )
    with pytest.raises(ConditionError, match="age_as"):
        parse_condition({"age_at_least": {"years": 50, "age_as": "dog_years"}})


def test_nested_conditions_parse_into_all_any_not() -> None:
    condition = parse_condition(
        {"all": [{"not": {"deceased": True}}, {"any": [{"felony": True}, {"always": True}]}]}
    )
    assert isinstance(condition, AllOf)
    assert isinstance(condition.conditions[0], Not)
    assert condition.describe() == "all of (not (deceased); any of (a felony; always))"


def test_code_sections_are_canonical_and_match_subsection_prefixes() -> None:
    condition = parse_condition({"code_section_in": ["11357(A)", "11357 (b) h&s"]})
    assert isinstance(condition, CodeSectionIn)
    assert condition.code_sections == ("11357(a)", "11357(b) HS")
    assert [(p.section, p.subsection, p.code) for p in condition.patterns()] == [
        ("11357", "(a)", None),
        ("11357", "(b)", "HS"),
    ]


def test_dates_accept_yaml_dates_and_iso_strings() -> None:
    from_yaml = parse_condition(yaml.safe_load("{convicted_on_or_after: 2016-11-09}"))
    from_json = parse_condition({"convicted_on_or_after": "2016-11-09"})
    assert from_yaml == from_json


def test_add_years_moves_feb_29_to_feb_28() -> None:
    assert add_years(dt.date(2000, 2, 29), 21) == dt.date(2021, 2, 28)
    assert add_years(dt.date(2024, 2, 29), -10) == dt.date(2014, 2, 28)
    assert add_years(dt.date(2000, 2, 29), 4) == dt.date(2004, 2, 29)


def test_determination_aliases_are_stored_canonically() -> None:
    policy = parse_policy(policy_data(rule("a", {"felony": True}, "reduce"),
                                      rule("b", {"deceased": True}, "city_attorney"),
                                      rule("c", {"not_felony": True}, "not eligible")))  # fmt: skip
    assert [r.then.value for r in policy.rules] == [
        "Eligible for Reduction", "To be reviewed by City Attorneys", "Not eligible", "Hand Review"
    ]  # fmt: skip
    assert policy.canonical()["rules"][0]["then"] == "Eligible for Reduction"


def test_reason_uses_section_and_parameters() -> None:
    policy = parse_policy(policy_data(
        rule("age", {"all": [{"age_at_least": 45}, {"section_in": ["11359"]}]},
             reason="{years}+ ({sections}) HS {section}"),
    ))  # fmt: skip
    assert policy.rules[0].render_reason("11359") == "45+ (11359) HS 11359"


# --- validation errors name the rule and the field ----------------------------------------


def test_unknown_predicate_names_rule_and_suggests_the_right_name() -> None:
    [message] = errors_of(policy_data(rule("age", {"age_atleast": 50})))
    assert message.startswith("rule 'age' (rule 1): when: unknown predicate 'age_atleast'")
    assert "did you mean 'age_at_least'" in message


def test_wrong_parameter_type_names_rule_and_field() -> None:
    [message] = errors_of(policy_data(rule("age", {"age_at_least": "fifty"})))
    assert message == (
        "rule 'age' (rule 1): when.age_at_least.years: Input should be a valid integer, got 'fifty'"
    )


def test_nested_error_names_its_path() -> None:
    nested = {"all": [{"felony": True}, {"not": {"deceased": "yes"}}]}
    [message] = errors_of(policy_data(rule("n", nested)))
    assert message == (
        "rule 'n' (rule 1): when.all[1].not.deceased: deceased takes no parameters: "
        "write {deceased: true}, got 'yes'"
    )


def test_missing_final_catch_all_is_rejected() -> None:
    [message] = errors_of({"name": "x", "rules": [rule("only", {"felony": True})]})
    assert message.startswith(
        "rule 'only' (rule 1, the last), field when: the last rule must be the catch-all "
        "`when: {always: true}`"
    )


def test_always_before_the_last_rule_is_rejected() -> None:
    [message] = errors_of(policy_data(rule("early", {"always": True})))
    assert message.startswith("rule 'early' (rule 1), field when: `always` fires for every")


def test_duplicate_rule_ids_are_rejected() -> None:
    [message] = errors_of(policy_data(rule("x", {"felony": True}), rule("x", {"deceased": True})))
    assert message == "rule 'x' (rule 2): id already used by rule 1; rule ids must be unique"


def test_bad_determination_and_unknown_placeholder_and_extra_field_are_all_reported() -> None:
    bad = rule("a", {"felony": True}, then="Dismissed", reason="{yeras} years")
    extra = {**rule("b", {"deceased": True}), "note": "x"}
    messages = errors_of(policy_data(bad, extra))
    assert messages[0].startswith(
        "rule 'a' (rule 1), field then: 'Dismissed' is not a determination"
    )
    assert messages[1] == "rule 'b' (rule 2), field note: Extra inputs are not permitted"


def test_unknown_placeholder_lists_the_available_ones() -> None:
    [message] = errors_of(policy_data(rule("a", {"age_at_least": 50}, reason="{yeras} years")))
    assert message == (
        "rule 'a' (rule 1): reason: unknown placeholder {yeras}; available here: {section}, {years}"
    )


def test_rule_without_id_is_named_by_position() -> None:
    [message] = errors_of(policy_data({"when": {"felony": True}, "then": "dismiss", "reason": "r"}))
    assert message == "rule (no id) (rule 1), field id: Field required"


# --- policy hash -------------------------------------------------------------------------


def test_policy_hash_is_stable_across_spellings_and_changes_with_parameters() -> None:
    short = parse_policy(policy_data(rule("age", {"age_at_least": 50}, "dismiss")))
    long = parse_policy(policy_data(rule("age", {"age_at_least": {"years": 50}},
                                         "Eligible for Dismissal")))  # fmt: skip
    other = parse_policy(policy_data(rule("age", {"age_at_least": 51}, "dismiss")))
    assert policy_hash(short) == policy_hash(long)
    assert policy_hash(short) != policy_hash(other)
    assert len(policy_hash(short)) == 64
    assert parse_policy(json.loads(short.canonical_json())) == short


# --- BEAR/gogen options ------------------------------------------------------------------

EXAMPLE_OPTIONS = {
    "baselineEligibility": {"dismiss": ["11357", "11358"], "reduce": ["11359", "11360"]},
    "additionalRelief": {
        "subjectUnder21AtConviction": True,
        "subjectAgeThreshold": 57,
        "yearsSinceConvictionThreshold": 10,
        "subjectIsDeceased": True,
        "subjectHasOnlyProp64Charges": True,
    },
}


def test_options_compile_to_the_domain_table_in_order() -> None:
    data = json.loads(json.dumps(EXAMPLE_OPTIONS))
    data["additionalRelief"]["yearsCrimeFreeThreshold"] = 5
    policy = parse_eligibility_options(data)
    assert [(r.id, r.then.value, r.render_reason("11358")) for r in policy.rules] == [
        ("misdemeanor", DISMISS, "Misdemeanor or Infraction"),
        ("baseline-dismiss", DISMISS, "Dismiss all HS 11358 convictions"),
        ("under-21-at-conviction", DISMISS, "21 years or younger"),
        ("age-threshold", DISMISS, "57 years or older"),
        ("years-since-conviction", DISMISS, "Conviction occurred 10 or more years ago"),
        ("crime-free", DISMISS, "No convictions in the past 5 years"),
        ("only-prop64", DISMISS, "Only has 11357-60 charges"),
        ("deceased", DISMISS, "Individual is deceased"),
        ("baseline-reduce", "Eligible for Reduction", "Reduce all HS 11358 convictions"),
        ("otherwise", "Hand Review", "No applicable eligibility criteria"),
    ]
    rules = {r.id: r.when for r in policy.rules}
    assert rules["age-threshold"] == AgeAtLeast(years=57)
    assert rules["crime-free"] == NoConvictionInPastYears(years=5, form="most_recent_before")
    assert isinstance(rules["otherwise"], Always)


DISMISS = "Eligible for Dismissal"
REDUCE = "Eligible for Reduction"


def test_options_set_to_zero_or_false_leave_their_rules_out() -> None:
    policy = parse_eligibility_options(
        {"baselineEligibility": {"dismiss": [], "reduce": ["11360"]},
         "additionalRelief": {"subjectAgeThreshold": 0, "subjectIsDeceased": False}}
    )  # fmt: skip
    assert [r.id for r in policy.rules] == ["misdemeanor", "baseline-reduce", "otherwise"]


@pytest.mark.parametrize(
    ("field", "value", "accepted"),
    [
        ("subjectAgeThreshold", 0, True),
        ("subjectAgeThreshold", 40, True),
        ("subjectAgeThreshold", 65, True),
        ("subjectAgeThreshold", 39, False),
        ("subjectAgeThreshold", 66, False),
        ("yearsSinceConvictionThreshold", 1, True),
        ("yearsSinceConvictionThreshold", 15, True),
        ("yearsSinceConvictionThreshold", 16, False),
        ("yearsCrimeFreeThreshold", 0, True),
        ("yearsCrimeFreeThreshold", -1, False),
        ("yearsCrimeFreeThreshold", 16, False),
    ],
)
def test_option_bounds(field: str, value: int, accepted: bool) -> None:
    data = {"baselineEligibility": {}, "additionalRelief": {field: value}}
    if accepted:
        parse_eligibility_options(data)
        return
    with pytest.raises(PolicyValidationError) as info:
        parse_eligibility_options(data)
    low, high = (40, 65) if field == "subjectAgeThreshold" else (1, 15)
    assert info.value.errors == [
        f"field additionalRelief.{field}: {field} must be 0 (rule off) or between {low} and "
        f"{high}; got {value}"
    ]


def test_options_reject_unknown_sections_fields_and_wrong_types() -> None:
    with pytest.raises(PolicyValidationError) as info:
        parse_eligibility_options(
            {"baselineEligibility": {"dismiss": ["11351"], "reduce": []},
             "additionalRelief": {"subjectIsDeceased": "yes", "subjectAgeTreshold": 50}}
        )  # fmt: skip
    assert info.value.errors == [
        "field baselineEligibility.dismiss: '11351' is not a Prop 64 section; use 11357, "
        "11358, 11359, 11360, 11357(a) ... 11357(d) or 11357(no-sub-section)",
        "field additionalRelief.subjectIsDeceased: Input should be a valid boolean (got 'yes')",
        "unknown key 'subjectAgeTreshold' in additionalRelief; known keys there: "
        "subjectUnder21AtConviction, subjectAgeThreshold, yearsSinceConvictionThreshold, "
        "yearsCrimeFreeThreshold, subjectHasOnlyProp64Charges, subjectIsDeceased, "
        "dismissOlderThanAgeThreshold, dismissYearsSinceConvictionThreshold, "
        "dismissYearsCrimeFreeThreshold",
    ]


def test_options_unknown_top_level_key_is_named() -> None:
    with pytest.raises(PolicyValidationError) as info:
        parse_eligibility_options({"baselineEligibility": {}, "additionalRelief": {}, "x": 1})
    assert info.value.errors == [
        "unknown key 'x' in the top level; known keys there: baselineEligibility, additionalRelief"
    ]


def test_options_section_in_both_lists_is_rejected() -> None:
    with pytest.raises(PolicyValidationError, match="11359 is in both dismiss and reduce"):
        parse_eligibility_options(
            {"baselineEligibility": {"dismiss": ["11359"], "reduce": ["11359"]}}
        )


# BEAR's final release (DOMAIN.md §4): 11357 subsections, no-sub-section and the toggles.
FINAL_RELEASE_OPTIONS = {
    "baselineEligibility": {
        "dismiss": ["11357(a)", "11357(b)", "11358"],
        "reduce": ["11357(c)", "11357(d)", "11357(no-sub-section)", "11359", "11360"],
    },
    "additionalRelief": {
        "subjectUnder21AtConviction": False,
        "dismissOlderThanAgeThreshold": False,
        "subjectAgeThreshold": 50,
        "dismissYearsSinceConvictionThreshold": True,
        "yearsSinceConvictionThreshold": 5,
        "dismissYearsCrimeFreeThreshold": False,
        "yearsCrimeFreeThreshold": 5,
        "subjectHasOnlyProp64Charges": True,
        "subjectIsDeceased": False,
    },
}


def test_final_release_options_compile_per_subsection_with_their_reasons() -> None:
    policy = parse_eligibility_options(FINAL_RELEASE_OPTIONS)
    assert [(r.id, r.when.describe(), r.then.value, r.render_reason("11357"))
            for r in policy.rules] == [
        ("misdemeanor", "not a felony (misdemeanor or infraction)", DISMISS,
         "Misdemeanor or Infraction"),
        ("baseline-dismiss", "section in 11358", DISMISS, "Dismiss all HS 11357 convictions"),
        ("baseline-dismiss-11357-a", "code section 11357(a)", DISMISS,
         "Dismiss all HS 11357(a) convictions"),
        ("baseline-dismiss-11357-b", "code section 11357(b)", DISMISS,
         "Dismiss all HS 11357(b) convictions"),
        ("years-since-conviction",
         "conviction 5 or more years before compute-at (conviction date <= compute-at - 5 years)",
         DISMISS, "Conviction occurred 5 or more years ago"),
        ("only-prop64", "only Prop 64 convictions on record", DISMISS,
         "Only has 11357-60 charges"),
        ("baseline-reduce", "section in 11359, 11360", REDUCE, "Reduce all HS 11357 convictions"),
        ("baseline-reduce-11357-c", "code section 11357(c)", REDUCE,
         "Reduce all HS 11357(c) convictions"),
        ("baseline-reduce-11357-d", "code section 11357(d)", REDUCE,
         "Reduce all HS 11357(d) convictions"),
        ("baseline-reduce-11357-no-sub-section",
         "all of (section in 11357; the code section names no subsection)", REDUCE,
         "Reduce all HS 11357 convictions (when no sub-section is specified)"),
        ("otherwise", "always", "Hand Review", "No applicable eligibility criteria"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("toggle", "number", "rule_id", "present"),
    [
        ("dismissOlderThanAgeThreshold", "subjectAgeThreshold", "age-threshold", False),
        ("dismissYearsSinceConvictionThreshold", "yearsSinceConvictionThreshold",
         "years-since-conviction", False),
        ("dismissYearsCrimeFreeThreshold", "yearsCrimeFreeThreshold", "crime-free", False),
    ],
)  # fmt: skip
def test_final_release_toggle_false_turns_its_rule_off_whatever_the_number(
    toggle: str, number: str, rule_id: str, present: bool
) -> None:
    value = 50 if number == "subjectAgeThreshold" else 5
    ids = {}
    for setting in (False, True, None):
        relief: dict[str, Any] = {number: value}
        if setting is not None:
            relief[toggle] = setting
        policy = parse_eligibility_options({"baselineEligibility": {}, "additionalRelief": relief})
        ids[setting] = rule_id in [r.id for r in policy.rules]
    assert ids == {False: False, True: True, None: True}


def test_plain_and_mixed_options_compile_as_the_plain_format_did() -> None:
    plain = parse_eligibility_options(
        {"baselineEligibility": {"dismiss": ["11357", "11358"], "reduce": ["11359", "11360"]}}
    )
    assert [(r.id, r.when.describe()) for r in plain.rules] == [
        ("misdemeanor", "not a felony (misdemeanor or infraction)"),
        ("baseline-dismiss", "section in 11357, 11358"),
        ("baseline-reduce", "section in 11359, 11360"),
        ("otherwise", "always"),
    ]
    # Mixed: whole sections beside subsection entries, booleans beside plain numbers.
    mixed = parse_eligibility_options(
        {"baselineEligibility": {"dismiss": ["11358", "11357(A)", "11359"],
                                 "reduce": ["11357(no-sub-section)", "11360"]},
         "additionalRelief": {"yearsSinceConvictionThreshold": 10,
                              "dismissYearsCrimeFreeThreshold": True,
                              "yearsCrimeFreeThreshold": 3}}
    )  # fmt: skip
    assert [(r.id, r.render_reason("11359")) for r in mixed.rules] == [
        ("misdemeanor", "Misdemeanor or Infraction"),
        ("baseline-dismiss", "Dismiss all HS 11359 convictions"),
        ("baseline-dismiss-11357-a", "Dismiss all HS 11357(A) convictions"),
        ("years-since-conviction", "Conviction occurred 10 or more years ago"),
        ("crime-free", "No convictions in the past 3 years"),
        ("baseline-reduce", "Reduce all HS 11359 convictions"),
        ("baseline-reduce-11357-no-sub-section",
         "Reduce all HS 11357 convictions (when no sub-section is specified)"),
        ("otherwise", "No applicable eligibility criteria"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("baseline", "message"),
    [
        ({"dismiss": ["11357", "11357(a)"]},
         "field baselineEligibility: 11357(a) is part of a section also listed whole; list "
         "either the whole section or its subsections"),
        ({"dismiss": ["11357(a)"], "reduce": ["11357(A)"]},
         "field baselineEligibility: 11357(a) is in both dismiss and reduce; dismiss would "
         "always win, so list it in one of them"),
        ({"reduce": ["11357(b)", "11357(b)"]},
         "field baselineEligibility.reduce: 11357(b) is listed twice"),
        ({"dismiss": ["11357(e)"]},
         "field baselineEligibility.dismiss: '11357(e)' is not a Prop 64 section; use 11357, "
         "11358, 11359, 11360, 11357(a) ... 11357(d) or 11357(no-sub-section)"),
    ],
)  # fmt: skip
def test_final_release_lists_reject_overlaps_and_unknown_entries(
    baseline: dict[str, Any], message: str
) -> None:
    with pytest.raises(PolicyValidationError) as info:
        parse_eligibility_options({"baselineEligibility": baseline})
    assert info.value.errors == [message]


def test_section_list_entries_are_the_summary_keys_with_their_reasons() -> None:
    entries = section_list_entries(parse_eligibility_options(FINAL_RELEASE_OPTIONS))
    assert [(e.determination.value, e.key, e.reason) for e in entries] == [
        (DISMISS, "11358", "Dismiss all HS 11358 convictions"),
        (DISMISS, "11357(a)", "Dismiss all HS 11357(a) convictions"),
        (DISMISS, "11357(b)", "Dismiss all HS 11357(b) convictions"),
        (REDUCE, "11359", "Reduce all HS 11359 convictions"),
        (REDUCE, "11360", "Reduce all HS 11360 convictions"),
        (REDUCE, "11357(c)", "Reduce all HS 11357(c) convictions"),
        (REDUCE, "11357(d)", "Reduce all HS 11357(d) convictions"),
        (REDUCE, "11357(no-sub-section)",
         "Reduce all HS 11357 convictions (when no sub-section is specified)"),
    ]  # fmt: skip
    assert section_list_entries(load_policy(POLICIES / "los-angeles.yaml")) == []
    assert [e.key for e in section_list_entries(load_policy(POLICIES / "default.yaml"))] == [
        "11357", "11358", "11359", "11360"
    ]  # fmt: skip


def test_open_reason_names_an_unread_code_section_before_a_date() -> None:
    rule_ = parse_policy(
        policy_data(rule("a", {"all": [{"code_section_in": ["11357(a)"]}, {"age_at_least": 50}]}))
    ).rules[0]
    section_key, age_key = "code_section_in(code_sections=11357(a))", "age_at_least(years=50)"
    assert open_reason(rule_.when, {section_key: None, age_key: None}) == "Incomplete code section"
    assert open_reason(rule_.when, {section_key: True, age_key: None}) == "Incomplete date"


# --- files -------------------------------------------------------------------------------


def test_bad_policy_file_error_names_file_rule_and_field(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", policy_data(rule("age-50", {"age_at_least": 5.5})))
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    assert str(info.value) == (
        f"{path}: invalid policy\n"
        "  rule 'age-50' (rule 1): when.age_at_least.years: Input should be a valid integer, "
        "got 5.5"
    )


def test_invalid_yaml_and_bad_dates_are_config_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nrules: [\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML"):
        load_policy(broken)
    bad_date = tmp_path / "date.yaml"
    bad_date.write_text("name: x\nrules:\n  - {when: {convicted_on_or_after: 2016-13-01}}\n")
    with pytest.raises(ConfigError, match=r"date\.yaml: not valid YAML: month must be in 1\.\.12"):
        load_policy(bad_date)


def test_options_json_loads_as_policy_and_bad_json_is_reported(tmp_path: Path) -> None:
    good = write(tmp_path / "options.json", EXAMPLE_OPTIONS)
    assert load_policy(good).rules[3].render_reason(None) == "57 years or older"
    assert load_policies(eligibility_options=good).for_county("alpine").name == (
        "eligibility-options"
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"baselineEligibility": {')
    with pytest.raises(ConfigError, match=r"bad.json: not valid JSON: line 1 column 26"):
        load_policy(bad)
    too_young = {"baselineEligibility": {}, "additionalRelief": {"subjectAgeThreshold": 30}}
    out_of_bounds = write(tmp_path / "oob.json", too_young)
    with pytest.raises(ConfigError) as info:
        load_policy(out_of_bounds)
    assert "oob.json: invalid eligibility options" in str(info.value)
    assert "additionalRelief.subjectAgeThreshold: subjectAgeThreshold must be 0" in str(info.value)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", '{"baselineEligibility": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        ("deep.yaml", "name: x\nrules: " + "[" * 100_000 + "]" * 100_000 + "\n"),
        ("deep-rules.yaml",
         "name: x\nrules:\n  - id: a\n    when: " + "{not: " * 2_000 + "{always: true}"
         + "}" * 2_000 + "\n"),
    ],
)  # fmt: skip
def test_a_file_nested_far_too_deep_is_a_one_line_error_exit_2(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    assert str(info.value) == (
        f"{path}: nested too deeply to read (lists or objects inside each other thousands of "
        "levels deep); a policy or options file is a few levels deep, check the file"
    )
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1


def test_policy_dir_rejects_unknown_county_file_and_requires_default(tmp_path: Path) -> None:
    write(tmp_path / "default.yaml", policy_data())
    write(tmp_path / "los-angles.yaml", policy_data())
    with pytest.raises(ConfigError, match="file name 'los-angles' is not a county slug"):
        load_policy_dir(tmp_path)
    (tmp_path / "los-angles.yaml").unlink()
    (tmp_path / "default.yaml").unlink()
    with pytest.raises(ConfigError, match=r"no default\.yaml"):
        load_policy_dir(tmp_path)


# --- relief policy check -----------------------------------------------------------------


def test_check_prints_the_rules_in_order() -> None:
    result = CliRunner().invoke(app, ["check", "--county", "Los Angeles"])
    assert result.exit_code == 0, result.output
    assert "policy 'los-angeles' from" in result.output
    assert (
        " 8. age-50\n     when   age >= 50 at compute-at (DOB + 50 years <= compute-at)\n"
        "     then   Eligible for Dismissal\n     reason 50 years or older\n" in result.output
    )


def test_check_a_file_with_errors_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", {"name": "x", "rules": [rule("a", {"felony": True})]})
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "rule 'a' (rule 1, the last), field when: the last rule must be" in result.stderr


def test_check_needs_a_file_or_a_county() -> None:
    assert CliRunner().invoke(app, ["check"]).exit_code == 2
    result = CliRunner().invoke(app, ["check", "--county", "Atlantis"])
    assert result.exit_code == 2
    assert "unknown county 'Atlantis'" in result.stderr
