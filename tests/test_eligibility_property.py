"""Property: the compiled Spark CASE agrees with the independent reference evaluator.

Hypothesis draws random policies (random predicates, parameters, all/any/not nesting,
determinations and reasons) and random subjects (full, partial, blank and open-ended
dates near the thresholds; null flags; several rows per subject, some not candidates).
One hypothesis example is one batch: several policies, each the policy of its own
county, and the subjects of all of them, decided by ONE apply_policies job and compared
row by row with tests/reference_evaluator.py (determination, reason, rule id, every
decision input, the two comparison flows). About 40 policies and 130 subjects per run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession

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
    SUBJECT,
    SUBSECTION,
    SUPERSTRIKE_SECTIONS,
    TARGET_COUNTY,
    UNKNOWN_SENTENCE_END,
)
from relief.transforms.eligibility import apply_policies
from relief.transforms.policy import (
    AgeAtLeast,
    AgeAtMost,
    AllOf,
    Always,
    AnyOf,
    CodeSectionIn,
    Condition,
    ConvictedOnOrAfter,
    ConvictedYearsAgo,
    Deceased,
    Determination,
    Felony,
    NoConvictionInPastYears,
    NoSubsection,
    Not,
    NotFelony,
    OnlyProp64,
    PC290BeforeConviction,
    Policy,
    PriorSameSectionAtLeast,
    Rule,
    SectionIn,
    SentencesCompleted,
    ServingSentence,
    SuperstrikeBeforeConviction,
    UnderAgeAtConviction,
    add_years,
)
from tests.helpers import reference_evaluator as ref
from tests.helpers.reference_evaluator import INPUT_SCHEMA, Span, as_tuple, make_row

COMPUTE_ATS = [dt.date(2024, 7, 1), dt.date(2024, 2, 29), dt.date(2023, 2, 28)]
YEARS = st.sampled_from([1, 2, 5, 7, 10, 21, 40, 50, 57])
SECTIONS = ("11357", "11358", "11359", "11360")
SUBSECTIONS = ("", "(a)", "(b)", "(b)(1)", "(c)", "(d)", None)  # None: not read

# --- policies ----------------------------------------------------------------------------

_leaf: st.SearchStrategy[Condition] = st.one_of(
    st.just(NotFelony()),
    st.just(Felony()),
    st.lists(st.sampled_from(SECTIONS), min_size=1, max_size=3, unique=True).map(
        lambda s: SectionIn(sections=tuple(s))
    ),
    st.lists(
        st.sampled_from(["11357(a)", "11357(b)", "11357", "11359(b) HS", "11360(a)(1)"]),
        min_size=1,
        max_size=2,
        unique=True,
    ).map(lambda s: CodeSectionIn(code_sections=tuple(s))),
    st.sampled_from([dt.date(2016, 11, 9), dt.date(2012, 1, 1), dt.date(2019, 6, 30)]).map(
        lambda d: ConvictedOnOrAfter(date=d)
    ),
    YEARS.map(lambda n: UnderAgeAtConviction(years=n)),
    YEARS.map(lambda n: AgeAtLeast(years=n)),
    YEARS.map(lambda n: AgeAtMost(years=n)),
    YEARS.map(lambda n: AgeAtLeast(years=n, age_as="fractional_years")),
    YEARS.map(lambda n: AgeAtMost(years=n, age_as="fractional_years")),
    st.just(NoSubsection()),
    YEARS.map(lambda n: ConvictedYearsAgo(years=n)),
    st.builds(
        lambda n, form: NoConvictionInPastYears(years=n, form=form),
        YEARS,
        st.sampled_from(["most_recent_before", "none_after"]),
    ),
    st.just(OnlyProp64()),
    st.just(SentencesCompleted()),
    st.just(ServingSentence()),
    st.just(Deceased()),
    st.just(SuperstrikeBeforeConviction()),
    st.just(PC290BeforeConviction()),
    st.integers(1, 3).map(lambda n: PriorSameSectionAtLeast(count=n)),
    st.just(Always()),
)

conditions: st.SearchStrategy[Condition] = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda cs: AllOf(conditions=tuple(cs))),
        st.lists(children, min_size=1, max_size=3).map(lambda cs: AnyOf(conditions=tuple(cs))),
        children.map(lambda c: Not(condition=c)),
    ),
    max_leaves=5,
)


# What a county policy may conclude: Eligible for Arrest Relief belongs to the PC 851.93 law
# pack (docs/laws.md) and Policy refuses it.
COUNTY_DETERMINATIONS = [d for d in Determination if d != Determination.ARREST_RELIEF]


def _rule(number: int, when: Condition, then: Determination) -> Rule:
    reason = f"R{number} HS {{section}}"
    rule = Rule(id=f"r{number}", when=when, then=then, reason=reason)
    params = rule.reason_params()
    for name in ("years", "count", "sections"):
        if params.get(name) is not None:
            return Rule(id=rule.id, when=when, then=then, reason=f"{reason} {{{name}}}")
    return rule


@st.composite
def policies(draw: st.DrawFn, name: str) -> Policy:
    whens = draw(
        st.lists(conditions.filter(lambda c: not isinstance(c, Always)), min_size=1, max_size=5)
    )
    thens = draw(st.lists(st.sampled_from(COUNTY_DETERMINATIONS), min_size=len(whens) + 1,
                          max_size=len(whens) + 1))  # fmt: skip
    rules = [_rule(i, when, thens[i]) for i, when in enumerate(whens, start=1)]
    rules.append(Rule(id="otherwise", when=Always(), then=thens[0], reason="Otherwise"))
    return Policy(name=name, rules=tuple(rules))


# --- subjects ----------------------------------------------------------------------------


@st.composite
def spans(draw: st.DrawFn, around: dt.date, years: tuple[int, int]) -> Span:
    """A date ``years`` back from ``around`` (often exactly on a year boundary), maybe
    partial (year or month), blank, or open-ended (latest day unknown)."""
    back = draw(st.integers(*years))
    offset = draw(st.sampled_from([-1, 0, 0, 1]) | st.integers(-200, 200))
    center = add_years(around, -back) + dt.timedelta(days=offset)
    if draw(st.integers(0, 30)) == 0:
        center = dt.date(draw(st.sampled_from([1964, 1972, 2000])), 2, 29)
    kind = draw(st.sampled_from(["full"] * 6 + ["year", "month", "blank", "open"]))
    if kind == "year":
        return ref.year_only(center.year)
    if kind == "month":
        return ref.month_only(center.year, center.month)
    if kind == "blank":
        return ref.BLANK
    if kind == "open":
        return (center, None)
    return ref.full(center)


def _maybe_null(draw: st.DrawFn, value: Any) -> Any:
    return None if draw(st.integers(0, 12)) == 0 else value


@st.composite
def subjects(
    draw: st.DrawFn, subject: str, county: str, compute_at: dt.date
) -> list[dict[str, Any]]:
    facts: dict[str, Any] = {
        SUBJECT: subject,
        TARGET_COUNTY: county,
        DOB: draw(spans(compute_at, (15, 70))),
        LAST_CONVICTION: draw(spans(compute_at, (0, 20))),
        LATEST_SENTENCE_END: draw(spans(compute_at, (-2, 5))),
        UNKNOWN_SENTENCE_END: _maybe_null(draw, draw(st.booleans())),
        DECEASED: _maybe_null(draw, draw(st.booleans())),
        ONLY_PROP64: _maybe_null(draw, draw(st.booleans())),
        PC290_REGISTRATION: _maybe_null(draw, draw(st.booleans())),
        PC290_SECTIONS: draw(st.sampled_from([None, "", "288 PC"])),
        SUPERSTRIKE_SECTIONS: draw(
            st.sampled_from([None, "187 PC; 664/187 PC", "136.1 PC + 186.22(B)(4) PC"])
        ),
    }
    facts[EARLIEST_PC290] = (
        draw(spans(compute_at, (0, 30)))
        if facts[PC290_SECTIONS] or facts[PC290_REGISTRATION]
        else ref.BLANK
    )
    facts[EARLIEST_SUPERSTRIKE] = (
        draw(spans(compute_at, (0, 30))) if facts[SUPERSTRIKE_SECTIONS] else ref.BLANK
    )
    rows = []
    for number in range(draw(st.integers(1, 3))):
        definite = draw(st.integers(0, 3))
        rows.append(
            make_row(
                f"{subject}-{number}",
                **facts,
                **{
                    COUNTY_SLUG: draw(st.sampled_from([county] * 6 + ["elsewhere", None])),
                    IS_COUNTED_CONVICTION: draw(st.sampled_from([True] * 7 + [False])),
                    IS_PROP64: draw(st.sampled_from([True] * 7 + [False])),
                    IS_RELATED: draw(st.booleans()),
                    IS_FELONY: _maybe_null(draw, draw(st.booleans())),
                    SECTION: _maybe_null(draw, draw(st.sampled_from(SECTIONS))),
                    SUBSECTION: draw(st.sampled_from(SUBSECTIONS)),
                    CODE: draw(st.sampled_from(["HS", "HS", "PC", None])),
                    CONVICTION_DATE: draw(spans(compute_at, (-1, 25))),
                    PRIOR_SAME_SECTION: _maybe_null(draw, definite),
                    PRIOR_SAME_SECTION_POSSIBLE: _maybe_null(
                        draw, definite + draw(st.integers(0, 2))
                    ),
                },
            )
        )
    return rows


@st.composite
def batches(draw: st.DrawFn) -> tuple[dt.date, dict[str, Policy], Policy, list[dict[str, Any]]]:
    compute_at = draw(st.sampled_from(COMPUTE_ATS))
    counties = [f"county-{i}" for i in range(draw(st.integers(4, 8)))]
    by_county = {county: draw(policies(county)) for county in counties}
    default = draw(policies("default"))
    rows: list[dict[str, Any]] = []
    for number in range(draw(st.integers(15, 30))):
        county = draw(st.sampled_from([*counties, "default-county"]))
        rows += draw(subjects(f"s{number}", county, compute_at))
    return compute_at, by_county, default, rows


@settings(
    max_examples=6,
    deadline=None,
    # No shrinking: every step is a Spark job; the assertion names the row and the policy.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=batches())
def test_compiled_policies_agree_with_the_reference_evaluator(
    spark: SparkSession, batch: tuple[dt.date, dict[str, Policy], Policy, list[dict[str, Any]]]
) -> None:
    compute_at, by_county, default, rows = batch
    df = spark.createDataFrame([as_tuple(r) for r in rows], INPUT_SCHEMA)
    out = apply_policies(df, by_county, default, compute_at).select(
        RECORD_ID, IS_CANDIDATE, DETERMINATION, REASON, RULE_ID, DECISION_INPUTS,
        DISMISS_ALL_P64, DISMISS_ALL_P64_RELATED,
    )  # fmt: skip
    got = {r[RECORD_ID]: r for r in out.collect()}
    assert len(got) == len(rows)
    for row in rows:
        policy = by_county.get(row[TARGET_COUNTY], default)
        actual = got[row[RECORD_ID]]
        expected = ref.decide(row, policy, compute_at)
        assert actual[IS_CANDIDATE] == ref.is_candidate(row), row
        assert (actual[DETERMINATION], actual[REASON], actual[RULE_ID]) == (
            expected or (None, None, None)
        ), (row, policy.canonical())
        assert actual[DECISION_INPUTS] == ref.decision_inputs(row, policy, compute_at), (
            row, policy.canonical()
        )  # fmt: skip
        assert (actual[DISMISS_ALL_P64], actual[DISMISS_ALL_P64_RELATED]) == (
            ref.comparison_flows(row)
        ), row
