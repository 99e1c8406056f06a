"""Eligibility engine on Spark: each rule of the shipped policies and of the BEAR options.

Rows come from tests/reference_evaluator.make_row: a felony HS 11359 conviction on
2015-05-01, born 1990-03-15, last conviction 2020-01-01, sentences done by 2016-05-01,
nothing else on record; each test overrides only the facts its rule reads. Compute-at is
2024-07-01.

Speed: the machine has two cores, and a Spark job costs about a second. So the rows of
every test are declared beside it with ``given(county, policy, rows)`` and the whole
module is decided in ONE apply_policies job (fixture ``decided``), each test county
with its own policy, as a statewide run does; each test then checks its own rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pyspark.sql import Row, SparkSession
from pyspark.testing import assertDataFrameEqual

from relief.jobs.config import conf_dir
from relief.jobs.config.policies import load_policy
from relief.transforms.columns import (
    CODE,
    CONVICTION_DATE,
    COUNTY_SLUG,
    DECEASED,
    DECISION_INPUTS,
    DETERMINATION,
    DISMISS_ALL_P64,
    DISMISS_ALL_P64_RELATED,
    DOB,
    EARLIEST_PC290,
    EARLIEST_SUPERSTRIKE,
    IS_CANDIDATE,
    IS_COUNTED_CONVICTION,
    IS_FELONY,
    IS_PROP64,
    IS_RELATED,
    LAST_CONVICTION,
    LATEST_SENTENCE_END,
    ONLY_PROP64,
    PC290_REGISTRATION,
    PC290_SECTIONS,
    PRIOR_SAME_SECTION,
    PRIOR_SAME_SECTION_POSSIBLE,
    REASON,
    RECORD_ID,
    RULE_ID,
    SECTION,
    SUBSECTION,
    SUPERSTRIKE_SECTIONS,
    TARGET_COUNTY,
    UNKNOWN_SENTENCE_END,
)
from relief.transforms.eligibility import apply_policies, compile_policy, with_is_candidate
from relief.transforms.policy import Policy, add_years, parse_eligibility_options, parse_policy
from tests.helpers.reference_evaluator import (
    BLANK,
    INPUT_SCHEMA,
    as_tuple,
    day,
    full,
    make_row,
    month_only,
    year_only,
)

COMPUTE_AT = dt.date(2024, 7, 1)
DISMISSAL = "Eligible for Dismissal"
REDUCTION = "Eligible for Reduction"
NOT_ELIGIBLE = "Not eligible"
HAND_REVIEW = "Hand Review"
CITY_ATTORNEYS = "To be reviewed by City Attorneys"
INCOMPLETE = "Incomplete date"
NO_CRITERIA = "No applicable eligibility criteria"

DEFAULT = load_policy(conf_dir() / "policies" / "default.yaml")
LA = load_policy(conf_dir() / "policies" / "los-angeles.yaml")
DEFAULT_COUNTY = "alpine"  # has no policy of its own: gets DEFAULT

POLICIES: dict[str, Policy] = {}  # test county -> its policy (else DEFAULT)
ROWS: list[dict[str, Any]] = []


def given(county: str, policy: Policy, *rows: dict[str, Any]) -> None:
    """Rows of a test: their target county is ``county``, decided under ``policy``."""
    if policy is not DEFAULT:
        assert POLICIES.setdefault(county, policy) is policy, f"{county}: two policies"
    for row in rows:
        row = dict(row)
        row[RECORD_ID] = f"{county}/{row[RECORD_ID]}"
        if row[COUNTY_SLUG] == row[TARGET_COUNTY]:  # make_row's default: in the county
            row[COUNTY_SLUG] = county
        row[TARGET_COUNTY] = county
        ROWS.append(row)


@pytest.fixture(scope="module")
def decided(spark: SparkSession) -> dict[str, Row]:
    df = spark.createDataFrame([as_tuple(r) for r in ROWS], INPUT_SCHEMA)
    out = apply_policies(df, POLICIES, DEFAULT, COMPUTE_AT)
    return {row[RECORD_ID]: row for row in out.collect()}


def decisions(decided: dict[str, Row], county: str) -> dict[str, tuple[Any, Any, Any]]:
    """record id -> (determination, reason, rule id) of the county's rows."""
    prefix = f"{county}/"
    return {
        key.removeprefix(prefix): (row[DETERMINATION], row[REASON], row[RULE_ID])
        for key, row in decided.items()
        if key.startswith(prefix)
    }


def birthday(years: int, on: dt.date = COMPUTE_AT) -> dt.date:
    """Date of birth whose ``years``-th birthday falls on ``on``."""
    return add_years(on, -years)


def options(**relief: Any) -> Policy:
    data = {"baselineEligibility": {"dismiss": ["11358"], "reduce": ["11360"]},
            "additionalRelief": relief}  # fmt: skip
    return parse_eligibility_options(data)


# --- candidates and the comparison flows -------------------------------------------------

given(
    "candidates",
    DEFAULT,
    make_row("candidate"),
    make_row("other-county", **{COUNTY_SLUG: "orange"}),
    make_row("not-counted", **{IS_COUNTED_CONVICTION: False}),
    make_row("related", **{IS_PROP64: False, SECTION: "647", IS_RELATED: True}),
    make_row("related-elsewhere", **{IS_PROP64: False, IS_RELATED: True, COUNTY_SLUG: "orange"}),
    make_row("unknown-county", **{COUNTY_SLUG: None}),
)


def test_only_counted_prop64_convictions_in_the_target_county_are_decided(
    decided: dict[str, Row],
) -> None:
    assert decisions(decided, "candidates") == {
        "candidate": (REDUCTION, "Reduce all HS 11359 convictions", "reduce-11359-11360"),
        "other-county": (None, None, None),
        "not-counted": (None, None, None),
        "related": (None, None, None),
        "related-elsewhere": (None, None, None),
        "unknown-county": (None, None, None),
    }


def test_comparison_flows_dismiss_every_candidate_and_related_conviction_in_the_county(
    decided: dict[str, Row],
) -> None:
    flows = {
        key.removeprefix("candidates/"): (row[IS_CANDIDATE], row[DISMISS_ALL_P64],
                                          row[DISMISS_ALL_P64_RELATED])
        for key, row in decided.items()
        if key.startswith("candidates/")
    }  # fmt: skip
    assert flows == {
        "candidate": (True, DISMISSAL, DISMISSAL),
        "other-county": (False, None, None),
        "not-counted": (False, None, None),
        "related": (False, None, DISMISSAL),
        "related-elsewhere": (False, None, None),
        "unknown-county": (False, None, None),
    }


def test_with_is_candidate_is_false_not_null_when_a_fact_is_missing(spark: SparkSession) -> None:
    rows = [make_row("no-county", **{COUNTY_SLUG: None}),
            make_row("no-flag", **{IS_PROP64: None}), make_row("yes")]  # fmt: skip
    df = spark.createDataFrame([as_tuple(r) for r in rows], INPUT_SCHEMA)
    assertDataFrameEqual(
        df.transform(with_is_candidate).select(RECORD_ID, IS_CANDIDATE),
        spark.createDataFrame(
            [("no-county", False), ("no-flag", False), ("yes", True)],
            f"{RECORD_ID} string, {IS_CANDIDATE} boolean",
        ),
    )


given("los-angeles", LA, make_row("misdemeanor", **{IS_FELONY: False}))
given("orange", DEFAULT, make_row("misdemeanor", **{IS_FELONY: False}))


def test_policy_is_chosen_by_target_county(decided: dict[str, Row]) -> None:
    assert decisions(decided, "los-angeles")["misdemeanor"] == (
        CITY_ATTORNEYS, "Misdemeanor or Infraction", "misdemeanor"
    )  # fmt: skip
    assert decisions(decided, "orange")["misdemeanor"] == (
        DISMISSAL, "Misdemeanor or Infraction", "misdemeanor"
    )  # fmt: skip


# --- default.yaml ------------------------------------------------------------------------

given(
    DEFAULT_COUNTY,
    DEFAULT,
    make_row("misdemeanor", **{IS_FELONY: False, SECTION: "11360"}),
    make_row("11357", **{SECTION: "11357", SUBSECTION: "(c)"}),
    make_row("11358", **{SECTION: "11358"}),
    make_row("11359", **{SECTION: "11359"}),
    make_row("11360", **{SECTION: "11360"}),
    make_row("other-section", **{SECTION: "11362.1"}),
    make_row("unknown-felony", **{IS_FELONY: None}),
)


def test_default_misdemeanor_is_dismissed(decided: dict[str, Row]) -> None:
    assert decisions(decided, DEFAULT_COUNTY)["misdemeanor"] == (
        DISMISSAL, "Misdemeanor or Infraction", "misdemeanor"
    )  # fmt: skip


def test_default_felony_11357_and_11358_are_dismissed_by_section(
    decided: dict[str, Row],
) -> None:
    got = decisions(decided, DEFAULT_COUNTY)
    assert got["11357"] == (DISMISSAL, "Dismiss all HS 11357 convictions", "dismiss-11357-11358")
    assert got["11358"] == (DISMISSAL, "Dismiss all HS 11358 convictions", "dismiss-11357-11358")


def test_default_felony_11359_and_11360_are_reduced_by_section(decided: dict[str, Row]) -> None:
    got = decisions(decided, DEFAULT_COUNTY)
    assert got["11359"] == (REDUCTION, "Reduce all HS 11359 convictions", "reduce-11359-11360")
    assert got["11360"] == (REDUCTION, "Reduce all HS 11360 convictions", "reduce-11359-11360")


def test_default_other_section_goes_to_hand_review(decided: dict[str, Row]) -> None:
    assert decisions(decided, DEFAULT_COUNTY)["other-section"] == (
        HAND_REVIEW, NO_CRITERIA, "otherwise"
    )  # fmt: skip


def test_unknown_felony_flag_leaves_the_first_rule_open(decided: dict[str, Row]) -> None:
    assert decisions(decided, DEFAULT_COUNTY)["unknown-felony"] == (
        HAND_REVIEW, INCOMPLETE, "misdemeanor"
    )  # fmt: skip


# --- los-angeles.yaml, rule by rule ------------------------------------------------------


def la(decided: dict[str, Row], *ids: str) -> dict[str, tuple[Any, Any, Any]]:
    got = decisions(decided, "los-angeles")
    return {i: got[i] for i in ids}


given("los-angeles", LA, make_row("base"))


def test_la_base_row_falls_through_to_no_applicable_criteria(decided: dict[str, Row]) -> None:
    assert la(decided, "base") == {"base": (HAND_REVIEW, NO_CRITERIA, "otherwise")}


given(
    "los-angeles",
    LA,
    make_row("misdemeanor-2018", **{IS_FELONY: False, CONVICTION_DATE: full("2018-01-01")}),
)


def test_la_misdemeanor_goes_to_city_attorneys_whatever_the_date(decided: dict[str, Row]) -> None:
    assert la(decided, "misdemeanor-2018") == {
        "misdemeanor-2018": (CITY_ATTORNEYS, "Misdemeanor or Infraction", "misdemeanor")
    }


given(
    "los-angeles",
    LA,
    make_row("on-2016-11-09", **{CONVICTION_DATE: full("2016-11-09")}),
    make_row("in-2019", **{CONVICTION_DATE: full("2019-03-02")}),
    make_row("on-2016-11-08", **{CONVICTION_DATE: full("2016-11-08")}),
)


def test_la_conviction_on_or_after_2016_11_09_is_not_eligible(decided: dict[str, Row]) -> None:
    assert la(decided, "on-2016-11-09", "in-2019", "on-2016-11-08") == {
        "on-2016-11-09": (NOT_ELIGIBLE, "Occurred after 11/09/2016", "after-prop64"),
        "in-2019": (NOT_ELIGIBLE, "Occurred after 11/09/2016", "after-prop64"),
        "on-2016-11-08": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
    }


given(
    "los-angeles",
    LA,
    make_row("year-2016", **{CONVICTION_DATE: year_only(2016)}),
    make_row("nov-2016", **{CONVICTION_DATE: month_only(2016, 11)}),
    make_row("blank-conviction", **{CONVICTION_DATE: BLANK}),
    make_row("year-2012", **{CONVICTION_DATE: year_only(2012)}),
)


def test_la_partial_or_blank_conviction_date_around_2016_goes_to_hand_review(
    decided: dict[str, Row],
) -> None:
    assert la(decided, "year-2016", "nov-2016", "blank-conviction", "year-2012") == {
        "year-2016": (HAND_REVIEW, INCOMPLETE, "after-prop64"),
        "nov-2016": (HAND_REVIEW, INCOMPLETE, "after-prop64"),
        "blank-conviction": (HAND_REVIEW, INCOMPLETE, "after-prop64"),
        "year-2012": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
    }


given(
    "los-angeles",
    LA,
    make_row("11357(a)", **{SECTION: "11357", SUBSECTION: "(a)"}),
    make_row("11357(b)(1)", **{SECTION: "11357", SUBSECTION: "(b)(1)"}),
    make_row("11357(c)", **{SECTION: "11357", SUBSECTION: "(c)"}),
    make_row("11357", **{SECTION: "11357", SUBSECTION: ""}),
)


def test_la_11357_a_and_b_are_dismissed_other_11357_goes_to_hand_review(
    decided: dict[str, Row],
) -> None:
    assert la(decided, "11357(a)", "11357(b)(1)", "11357(c)", "11357") == {
        "11357(a)": (DISMISSAL, "11357(a) or 11357(b)", "11357-a-b"),
        "11357(b)(1)": (DISMISSAL, "11357(a) or 11357(b)", "11357-a-b"),
        "11357(c)": (HAND_REVIEW, "Other 11357", "other-11357"),
        "11357": (HAND_REVIEW, "Other 11357", "other-11357"),
    }


STRIKE = {SUPERSTRIKE_SECTIONS: "187 PC"}
given(
    "los-angeles",
    LA,
    make_row("strike-before", **STRIKE, **{EARLIEST_SUPERSTRIKE: full("2015-04-30")}),
    make_row("strike-same-day", **STRIKE, **{EARLIEST_SUPERSTRIKE: full("2015-05-01")}),
    make_row("strike-after", **STRIKE, **{EARLIEST_SUPERSTRIKE: full("2018-01-01")}),
    make_row("strike-undated", **STRIKE, **{EARLIEST_SUPERSTRIKE: BLANK}),
)


def test_la_superstrike_before_this_conviction_is_not_eligible(decided: dict[str, Row]) -> None:
    assert la(decided, "strike-before", "strike-same-day", "strike-after", "strike-undated") == {
        "strike-before": (NOT_ELIGIBLE, "PC 667(e)(2)(c)(iv)", "superstrike"),
        "strike-same-day": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
        "strike-after": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
        "strike-undated": (HAND_REVIEW, INCOMPLETE, "superstrike"),
    }


given(
    "los-angeles",
    LA,
    make_row("290-offence", **{PC290_SECTIONS: "288 PC", EARLIEST_PC290: full("2001-02-03")}),
    make_row("290-registration", **{PC290_REGISTRATION: True, EARLIEST_PC290: year_only(2010)}),
    make_row("290-after", **{PC290_REGISTRATION: True, EARLIEST_PC290: full("2015-05-02")}),
    make_row("290-same-year", **{PC290_REGISTRATION: True, EARLIEST_PC290: year_only(2015)}),
)


def test_la_pc290_offence_or_registration_before_this_conviction_is_not_eligible(
    decided: dict[str, Row],
) -> None:
    assert la(decided, "290-offence", "290-registration", "290-after", "290-same-year") == {
        "290-offence": (NOT_ELIGIBLE, "PC 290", "pc290"),
        "290-registration": (NOT_ELIGIBLE, "PC 290", "pc290"),
        "290-after": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
        "290-same-year": (HAND_REVIEW, INCOMPLETE, "pc290"),
    }


given(
    "los-angeles",
    LA,
    make_row("two-priors", **{PRIOR_SAME_SECTION: 2, PRIOR_SAME_SECTION_POSSIBLE: 2}),
    make_row("one-prior", **{PRIOR_SAME_SECTION: 1, PRIOR_SAME_SECTION_POSSIBLE: 1}),
    make_row("maybe-two-priors", **{PRIOR_SAME_SECTION: 1, PRIOR_SAME_SECTION_POSSIBLE: 2}),
)


def test_la_two_earlier_convictions_of_the_same_section_are_not_eligible(
    decided: dict[str, Row],
) -> None:
    assert la(decided, "two-priors", "one-prior", "maybe-two-priors") == {
        "two-priors": (NOT_ELIGIBLE, "Two priors", "two-priors"),
        "one-prior": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
        "maybe-two-priors": (HAND_REVIEW, INCOMPLETE, "two-priors"),
    }


given(
    "los-angeles",
    LA,
    make_row("50-today", **{DOB: full(birthday(50))}),
    make_row("50-tomorrow", **{DOB: full(birthday(50) + dt.timedelta(days=1))}),
)


def test_la_50th_birthday_on_compute_at_is_dismissed(decided: dict[str, Row]) -> None:
    assert la(decided, "50-today", "50-tomorrow") == {
        "50-today": (DISMISSAL, "50 years or older", "age-50"),
        "50-tomorrow": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
    }


given(
    "los-angeles",
    LA,
    make_row("born-1974", **{DOB: year_only(1974)}),  # turns 50 some day of 2024
    make_row("born-1960", **{DOB: year_only(1960)}),  # 64 whatever the day
    make_row("blank-dob", **{DOB: BLANK}),
)


def test_la_partial_birth_date_decides_only_when_every_day_agrees(
    decided: dict[str, Row],
) -> None:
    assert la(decided, "born-1974", "born-1960", "blank-dob") == {
        "born-1974": (HAND_REVIEW, INCOMPLETE, "age-50"),
        "born-1960": (DISMISSAL, "50 years or older", "age-50"),
        "blank-dob": (HAND_REVIEW, INCOMPLETE, "age-50"),
    }


given(
    "los-angeles",
    LA,
    make_row("7670-days-old", **{DOB: full(COMPUTE_AT - dt.timedelta(days=7670))}),
    make_row("7671-days-old", **{DOB: full(COMPUTE_AT - dt.timedelta(days=7671))}),
    make_row("21st-birthday-today", **{DOB: full(birthday(21))}),
    make_row("20-today", **{DOB: full(birthday(20))}),
    make_row("born-2003", **{DOB: year_only(2003)}),
)


def test_la_21_or_younger_is_age_in_days_over_365_25_at_most_21(
    decided: dict[str, Row],
) -> None:
    # The pilot flow's reading (DOMAIN.md §4): (compute-at - DOB) days / 365.25 <= 21, so
    # 7,670 days (20.9993) is in and 7,671 (21.0021) out. Born 2003-07-01, the 21st
    # birthday on 2024-07-01 is 7,671 days: six Feb 29s in between.
    assert la(decided, "7670-days-old", "7671-days-old", "21st-birthday-today", "20-today",
              "born-2003") == {
        "7670-days-old": (DISMISSAL, "21 years or younger", "age-21-or-younger"),
        "7671-days-old": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
        "21st-birthday-today": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
        "20-today": (DISMISSAL, "21 years or younger", "age-21-or-younger"),
        "born-2003": (HAND_REVIEW, INCOMPLETE, "age-21-or-younger"),
    }  # fmt: skip


given(
    "los-angeles",
    LA,
    make_row("only-p64-ended-today", **{ONLY_PROP64: True, LATEST_SENTENCE_END: full(COMPUTE_AT)}),
    make_row("other-convictions", **{ONLY_PROP64: False}),
)


def test_la_only_prop64_with_completed_sentences_is_dismissed(decided: dict[str, Row]) -> None:
    assert la(decided, "only-p64-ended-today", "other-convictions") == {
        "only-p64-ended-today": (DISMISSAL, "Only has 11357-60 charges and completed sentence",
                                 "only-prop64-sentences-completed"),
        "other-convictions": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
    }  # fmt: skip


TEN_YEARS_AGO = add_years(COMPUTE_AT, -10)
given(
    "los-angeles",
    LA,
    make_row("last-exactly-10", **{CONVICTION_DATE: full("2008-01-01"),
                                   LAST_CONVICTION: full(TEN_YEARS_AGO)}),
    make_row("last-inside-10", **{CONVICTION_DATE: full("2008-01-01"),
                                  LAST_CONVICTION: full(TEN_YEARS_AGO + dt.timedelta(days=1))}),
)  # fmt: skip


def test_la_no_conviction_after_compute_at_minus_10_years_is_dismissed(
    decided: dict[str, Row],
) -> None:
    assert la(decided, "last-exactly-10", "last-inside-10") == {
        "last-exactly-10": (DISMISSAL, "No convictions in past 10 years",
                            "no-conviction-10-years"),
        "last-inside-10": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
    }  # fmt: skip


given(
    "los-angeles",
    LA,
    make_row("serving", **{LATEST_SENTENCE_END: full(COMPUTE_AT + dt.timedelta(days=1))}),
    make_row("serving-only-p64", **{ONLY_PROP64: True, LATEST_SENTENCE_END: full("2030-01-01")}),
)


def test_la_sentence_not_yet_completed_goes_to_hand_review(decided: dict[str, Row]) -> None:
    assert la(decided, "serving", "serving-only-p64") == {
        "serving": (HAND_REVIEW, "Currently serving sentence", "serving-sentence"),
        "serving-only-p64": (HAND_REVIEW, "Currently serving sentence", "serving-sentence"),
    }


UNKNOWN_END = {UNKNOWN_SENTENCE_END: True}
given(
    "los-angeles",
    LA,
    make_row("unknown-end", **UNKNOWN_END),
    make_row("unknown-end-only-p64", **UNKNOWN_END, **{ONLY_PROP64: True}),
    make_row("unknown-end-known-serving", **UNKNOWN_END,
             **{LATEST_SENTENCE_END: full("2030-01-01")}),
)  # fmt: skip


def test_la_unknown_sentence_end_is_open_only_where_it_matters(decided: dict[str, Row]) -> None:
    # Not only Prop 64: rule 10 is definitely false (Kleene AND), rule 12 is open.
    assert la(decided, "unknown-end", "unknown-end-only-p64", "unknown-end-known-serving") == {
        "unknown-end": (HAND_REVIEW, INCOMPLETE, "serving-sentence"),
        "unknown-end-only-p64": (HAND_REVIEW, INCOMPLETE, "only-prop64-sentences-completed"),
        "unknown-end-known-serving": (HAND_REVIEW, "Currently serving sentence",
                                      "serving-sentence"),
    }  # fmt: skip


given("los-angeles", LA, make_row("deceased", **{DECEASED: True}))


def test_la_deceased_is_dismissed(decided: dict[str, Row]) -> None:
    assert la(decided, "deceased") == {"deceased": (DISMISSAL, "Deceased", "deceased")}


OLD_WITH_PRIORS = {DOB: full("1950-01-01"), DECEASED: True}
OLD_WITH_PRIORS.update({PRIOR_SAME_SECTION: 3, PRIOR_SAME_SECTION_POSSIBLE: 3})
given("los-angeles", LA, make_row("old-but-two-priors", **OLD_WITH_PRIORS))


def test_la_exclusions_come_before_dismissal_routes(decided: dict[str, Row]) -> None:
    assert la(decided, "old-but-two-priors") == {
        "old-but-two-priors": (NOT_ELIGIBLE, "Two priors", "two-priors")
    }


def test_decision_inputs_record_every_predicate_value(decided: dict[str, Row]) -> None:
    inputs = decided["los-angeles/born-1974"][DECISION_INPUTS]
    assert inputs["not_felony"] is False
    assert inputs["convicted_on_or_after(date=2016-11-09)"] is False
    assert inputs["age_at_least(years=50)"] is None
    assert inputs["age_at_most(years=21, age_as=fractional_years)"] is False
    assert inputs["no_conviction_in_past_years(years=10, form=none_after)"] is False
    assert inputs["always"] is True
    assert set(inputs) == {p.key() for p in LA.predicates()}
    assert decided["candidates/other-county"][DECISION_INPUTS] is None


def test_compiled_policy_columns_can_be_selected_directly(spark: SparkSession) -> None:
    compiled = compile_policy(LA, COMPUTE_AT)
    df = spark.createDataFrame([as_tuple(make_row("d", **{DECEASED: True}))], INPUT_SCHEMA)
    row = df.select(compiled.determination, compiled.reason, compiled.rule_id).first()
    assert row is not None
    assert tuple(row) == (DISMISSAL, "Deceased", "deceased")


QUOTING = parse_policy(
    {
        "name": "quoting",
        "rules": [
            {
                "id": "any.not_rule-1",
                "when": {
                    "all": [
                        {"any": [{"deceased": True}, {"not": {"felony": True}}]},
                        {"convicted_on_or_after": "2010-01-01"},
                    ]
                },
                "then": "reduce",
                "reason": "Paul's \\ HS {section} since {date}",
            },
            {"id": "otherwise", "when": {"always": True}, "then": "review", "reason": "{{none}}"},
        ],
    }
)
given(
    "quoting",
    QUOTING,
    make_row("deceased", **{DECEASED: True}),
    make_row("neither", **{DECEASED: False}),
)


def test_reasons_keep_quotes_backslashes_and_braces(decided: dict[str, Row]) -> None:
    assert decisions(decided, "quoting") == {
        "deceased": (REDUCTION, "Paul's \\ HS 11359 since 2010-01-01", "any.not_rule-1"),
        "neither": (HAND_REVIEW, "{none}", "otherwise"),
    }


# --- BEAR/gogen options, option by option -------------------------------------------------

given("opt-none", options(), make_row("misdemeanor", **{IS_FELONY: False}),
      make_row("11358", **{SECTION: "11358"}), make_row("11360", **{SECTION: "11360"}),
      make_row("11359", **{SECTION: "11359"}),
      make_row("everything", **{DOB: full("1940-01-01"), DECEASED: True, ONLY_PROP64: True,
                                CONVICTION_DATE: full("1990-01-01"),
                                LAST_CONVICTION: full("1990-01-01")}))  # fmt: skip


def test_options_misdemeanor_is_dismissed(decided: dict[str, Row]) -> None:
    assert decisions(decided, "opt-none")["misdemeanor"] == (
        DISMISSAL, "Misdemeanor or Infraction", "misdemeanor"
    )  # fmt: skip


def test_options_baseline_dismiss_and_reduce_by_section(decided: dict[str, Row]) -> None:
    got = decisions(decided, "opt-none")
    assert got["11358"] == (DISMISSAL, "Dismiss all HS 11358 convictions", "baseline-dismiss")
    assert got["11360"] == (REDUCTION, "Reduce all HS 11360 convictions", "baseline-reduce")
    assert got["11359"] == (HAND_REVIEW, NO_CRITERIA, "otherwise")


def test_options_turned_off_leave_their_rule_out(decided: dict[str, Row]) -> None:
    assert decisions(decided, "opt-none")["everything"] == (HAND_REVIEW, NO_CRITERIA, "otherwise")


BORN = day("1990-03-15")
given(
    "opt-under-21",
    options(subjectUnder21AtConviction=True),
    make_row("day-before-21", **{DOB: full(BORN),
                                 CONVICTION_DATE: full(add_years(BORN, 21) - dt.timedelta(1))}),
    make_row("on-21st-birthday", **{DOB: full(BORN), CONVICTION_DATE: full(add_years(BORN, 21))}),
    make_row("leap-born-feb-27", **{DOB: full("2000-02-29"), CONVICTION_DATE: full("2021-02-27")}),
    make_row("leap-born-feb-28", **{DOB: full("2000-02-29"), CONVICTION_DATE: full("2021-02-28")}),
    make_row("partial-dob", **{DOB: year_only(1990), CONVICTION_DATE: full("2011-06-01")}),
)  # fmt: skip


def test_options_under_21_at_conviction_until_the_21st_birthday(decided: dict[str, Row]) -> None:
    assert decisions(decided, "opt-under-21") == {
        "day-before-21": (DISMISSAL, "21 years or younger", "under-21-at-conviction"),
        "on-21st-birthday": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
        "leap-born-feb-27": (DISMISSAL, "21 years or younger", "under-21-at-conviction"),
        "leap-born-feb-28": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
        "partial-dob": (HAND_REVIEW, INCOMPLETE, "under-21-at-conviction"),
    }


given(
    "opt-age-57",
    options(subjectAgeThreshold=57),
    make_row("57-today", **{DOB: full(birthday(57))}),
    make_row("57-tomorrow", **{DOB: full(birthday(57) + dt.timedelta(days=1))}),
)


def test_options_age_threshold_counts_the_birthday_on_compute_at(decided: dict[str, Row]) -> None:
    assert decisions(decided, "opt-age-57") == {
        "57-today": (DISMISSAL, "57 years or older", "age-threshold"),
        "57-tomorrow": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
    }


def test_options_age_threshold_with_leap_day_birth(spark: SparkSession) -> None:
    # Born 1964-02-29: 61 from 2025-02-28 (add_months: Feb 29 + 12*N months = Feb 28).
    df = spark.createDataFrame([as_tuple(make_row("leap", **{DOB: full("1964-02-29")}))],
                               INPUT_SCHEMA)  # fmt: skip
    policy = options(subjectAgeThreshold=61)
    for compute_at, expected in [
        (day("2025-02-28"), (DISMISSAL, "61 years or older", "age-threshold")),
        (day("2025-02-27"), (HAND_REVIEW, NO_CRITERIA, "otherwise")),
    ]:
        row = apply_policies(df, {}, policy, compute_at).select(DETERMINATION, REASON, RULE_ID)
        assert tuple(row.first() or ()) == expected


given(
    "opt-years-10",
    options(yearsSinceConvictionThreshold=10),
    make_row("exactly-10", **{CONVICTION_DATE: full(TEN_YEARS_AGO)}),
    make_row("a-day-short", **{CONVICTION_DATE: full(TEN_YEARS_AGO + dt.timedelta(days=1))}),
)


def test_options_years_since_conviction_includes_exactly_n_years(decided: dict[str, Row]) -> None:
    assert decisions(decided, "opt-years-10") == {
        "exactly-10": (DISMISSAL, "Conviction occurred 10 or more years ago",
                       "years-since-conviction"),
        "a-day-short": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
    }  # fmt: skip


SEVEN_YEARS_AGO = add_years(COMPUTE_AT, -7)
OLD = {CONVICTION_DATE: full("2010-01-01")}
given(
    "opt-crime-free-7",
    options(yearsCrimeFreeThreshold=7),
    make_row("day-before", **OLD, **{LAST_CONVICTION: full(SEVEN_YEARS_AGO - dt.timedelta(1))}),
    make_row("on-cutoff", **OLD, **{LAST_CONVICTION: full(SEVEN_YEARS_AGO)}),
    make_row("partial", **OLD, **{LAST_CONVICTION: year_only(SEVEN_YEARS_AGO.year)}),
    make_row("open-ended", **OLD, **{LAST_CONVICTION: (full("2020-01-01")[0], None)}),
)


def test_options_crime_free_uses_most_recent_conviction_strictly_before(
    decided: dict[str, Row],
) -> None:
    # open-ended: one conviction date is unknown, but a known one is already too recent.
    assert decisions(decided, "opt-crime-free-7") == {
        "day-before": (DISMISSAL, "No convictions in the past 7 years", "crime-free"),
        "on-cutoff": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
        "partial": (HAND_REVIEW, INCOMPLETE, "crime-free"),
        "open-ended": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
    }


given(
    "opt-only-p64",
    options(subjectHasOnlyProp64Charges=True),
    make_row("only", **{ONLY_PROP64: True}),
    make_row("more", **{ONLY_PROP64: False}),
)


def test_options_only_prop64_charges(decided: dict[str, Row]) -> None:
    assert decisions(decided, "opt-only-p64") == {
        "only": (DISMISSAL, "Only has 11357-60 charges", "only-prop64"),
        "more": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
    }


given("opt-deceased", options(subjectIsDeceased=True), make_row("dead", **{DECEASED: True}))


def test_options_deceased(decided: dict[str, Row]) -> None:
    assert decisions(decided, "opt-deceased") == {
        "dead": (DISMISSAL, "Individual is deceased", "deceased")
    }


ALL_OPTIONS = parse_eligibility_options(
    {
        "baselineEligibility": {"dismiss": ["11357", "11358"], "reduce": ["11359", "11360"]},
        "additionalRelief": {
            "subjectUnder21AtConviction": True,
            "subjectAgeThreshold": 57,
            "yearsSinceConvictionThreshold": 10,
            "yearsCrimeFreeThreshold": 7,
            "subjectIsDeceased": True,
            "subjectHasOnlyProp64Charges": True,
        },
    }
)
given(
    "opt-all",
    ALL_OPTIONS,
    make_row("dismiss-before-age", **{SECTION: "11357", DOB: full("1940-01-01")}),
    make_row("under-21-before-years", **{DOB: full("1980-01-01"),
                                         CONVICTION_DATE: full("1995-01-01")}),
    make_row("reduce-last", **{SECTION: "11360"}),
)  # fmt: skip


def test_options_rules_fire_in_table_order(decided: dict[str, Row]) -> None:
    assert decisions(decided, "opt-all") == {
        "dismiss-before-age": (DISMISSAL, "Dismiss all HS 11357 convictions", "baseline-dismiss"),
        "under-21-before-years": (DISMISSAL, "21 years or younger", "under-21-at-conviction"),
        "reduce-last": (REDUCTION, "Reduce all HS 11360 convictions", "baseline-reduce"),
    }


# --- BEAR's final-release options and code sections the text did not give ------------------

FINAL_RELEASE = parse_eligibility_options(
    {
        "baselineEligibility": {
            "dismiss": ["11357(a)", "11357(b)", "11358"],
            "reduce": ["11357(c)", "11357(d)", "11357(no-sub-section)", "11359", "11360"],
        },
        "additionalRelief": {"dismissYearsSinceConvictionThreshold": False,
                             "yearsSinceConvictionThreshold": 5},
    }
)  # fmt: skip
P11357 = {SECTION: "11357"}
given(
    "opt-final",
    FINAL_RELEASE,
    make_row("11357(a)", **P11357, **{SUBSECTION: "(a)"}),
    make_row("11357(b)(2)", **P11357, **{SUBSECTION: "(b)(2)"}),
    make_row("11357(c)", **P11357, **{SUBSECTION: "(c)"}),
    make_row("11357(d)", **P11357, **{SUBSECTION: "(d)"}),
    make_row("11357", **P11357, **{SUBSECTION: ""}),
    make_row("11357(e)", **P11357, **{SUBSECTION: "(e)"}),
    make_row("11357-unread", **P11357, **{SUBSECTION: None, CODE: None}),
    make_row("11358", **{SECTION: "11358", SUBSECTION: "(c)"}),
    make_row("11359-unread", **{SECTION: "11359", SUBSECTION: None, CODE: None}),
    # the years-since rule is toggled off: a 2015 conviction is not dismissed for its age
    make_row("11360-old", **{SECTION: "11360", CONVICTION_DATE: full("1999-01-01")}),
)


def test_final_release_options_decide_each_11357_subsection_by_its_own_entry(
    decided: dict[str, Row],
) -> None:
    assert decisions(decided, "opt-final") == {
        "11357(a)": (DISMISSAL, "Dismiss all HS 11357(a) convictions", "baseline-dismiss-11357-a"),
        "11357(b)(2)": (DISMISSAL, "Dismiss all HS 11357(b) convictions",
                        "baseline-dismiss-11357-b"),
        "11357(c)": (REDUCTION, "Reduce all HS 11357(c) convictions", "baseline-reduce-11357-c"),
        "11357(d)": (REDUCTION, "Reduce all HS 11357(d) convictions", "baseline-reduce-11357-d"),
        "11357": (REDUCTION, "Reduce all HS 11357 convictions (when no sub-section is specified)",
                  "baseline-reduce-11357-no-sub-section"),
        "11357(e)": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
        "11357-unread": (HAND_REVIEW, "Incomplete code section", "baseline-dismiss-11357-a"),
        "11358": (DISMISSAL, "Dismiss all HS 11358 convictions", "baseline-dismiss"),
        "11359-unread": (REDUCTION, "Reduce all HS 11359 convictions", "baseline-reduce"),
        "11360-old": (REDUCTION, "Reduce all HS 11360 convictions", "baseline-reduce"),
    }  # fmt: skip


given(
    "los-angeles",
    LA,
    make_row("11357-subsection-unread", **P11357, **{SUBSECTION: None, CODE: None}),
    make_row("11359-subsection-unread", **{SECTION: "11359", SUBSECTION: None, CODE: None}),
)


def test_la_11357_whose_subsection_was_not_read_goes_to_hand_review_saying_so(
    decided: dict[str, Row],
) -> None:
    # "211357 PC": an 11357 candidate with no readable subsection; another section's
    # unread subsection does not matter to the 11357 rules.
    assert la(decided, "11357-subsection-unread", "11359-subsection-unread") == {
        "11357-subsection-unread": (HAND_REVIEW, "Incomplete code section", "11357-a-b"),
        "11359-subsection-unread": (HAND_REVIEW, NO_CRITERIA, "otherwise"),
    }
