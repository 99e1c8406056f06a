"""Eligibility (DOMAIN.md §4): a policy compiles to ONE Spark CASE expression per county.

:func:`compile_policy` turns a :class:`~relief.transforms.policy.Policy` (an ordered decision
list) into Spark SQL expressions: a single ``CASE WHEN ... END`` yielding the struct
(determination, reason, rule_id) of the first rule that fires, and a map of every
predicate the policy uses to its value on the row (``decision_inputs``, for audit
explain). :func:`apply_policies` picks each row's policy by its target county and adds
the determination columns on candidate rows only.

The expressions are built as SQL text and handed to Spark with ``F.expr``: one call per
column instead of thousands of py4j round trips for Column objects, and the text is
readable in ``CompiledPolicy.outcome_sql`` when debugging a policy.

Three-valued logic. Every predicate is a nullable boolean: true, false, or null for
UNKNOWN. Dates are intervals (<d> = earliest possible day, <d>_latest = latest,
transforms/normalize.py); a comparison of intervals is true when it holds for every
possible day, false when it holds for none, null otherwise. A null bound is an open end
(history leaves <d>_latest null when a later day cannot be ruled out), so a comparison
can still be definite on the bound that is known. This is "evaluate at the earliest and
the latest day and compare" made exact for predicates over two dates. SQL AND/OR/NOT are
Kleene's, so ``all``/``any``/``not`` need nothing more. In the CASE each rule contributes
``WHEN cond IS NULL THEN (Hand Review, <open reason>, id) WHEN cond THEN (then, reason,
id)``: an open condition stops the list at that rule and sends the conviction to a person.
The open reason is ``Incomplete code section`` when a code-section predicate of the rule
is open (a subsection or code the text did not give), else ``Incomplete date``
(transforms/policy.py ``open_reason``).

Inputs beyond the per-row facts (transforms/history.py), and what null means there:
- sentences_completed: every sentence ended on or before compute-at. A subject with an
  uncomputable sentence end (UNKNOWN_SENTENCE_END) is UNKNOWN unless a known sentence
  already makes the answer false; no sentence end at all (no counted conviction) is true.
- superstrike / PC 290 before this conviction: a subject with none (no sections, no
  registration, no date) is false; one with such a conviction but a null earliest date
  (history nulls it when any of those dates is unknown) is UNKNOWN.
- prior_same_section_at_least N: true when PRIOR_SAME_SECTION (definitely earlier) >= N,
  false when PRIOR_SAME_SECTION_POSSIBLE (possibly earlier) < N, UNKNOWN between.
- any other needed value that is null (section, felony flag, deceased ...) is UNKNOWN.

No Python UDFs: the whole decision is a native expression, so it runs in the JVM,
partitioned like the rest of the job.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

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
    RULE_ID,
    SECTION,
    SUBSECTION,
    SUPERSTRIKE_SECTIONS,
    TARGET_COUNTY,
    UNKNOWN_SENTENCE_END,
    date_latest,
)
from relief.transforms.policy import (
    CODE_SECTION_PREDICATES,
    DAYS_PER_FRACTIONAL_YEAR,
    INCOMPLETE_CODE_SECTION_REASON,
    INCOMPLETE_DATE_DETERMINATION,
    INCOMPLETE_DATE_REASON,
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
    Predicate,
    PriorSameSectionAtLeast,
    Rule,
    SectionIn,
    SentencesCompleted,
    ServingSentence,
    SuperstrikeBeforeConviction,
    UnderAgeAtConviction,
    add_years,
    leaves,
)

# Temporary column holding the chosen rule's struct, split into three columns, then dropped.
_OUTCOME = "_eligibility_outcome"

# --- SQL text ----------------------------------------------------------------------------


def _col(name: str) -> str:
    return f"`{name}`"


def _str(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _date(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


@dataclass(frozen=True)
class _Span:
    """A date known to lie between ``lo`` and ``hi`` (SQL; equal for a full date)."""

    lo: str
    hi: str

    def plus_years(self, years: int) -> _Span:
        months = 12 * years
        return _Span(f"add_months({self.lo}, {months})", f"add_months({self.hi}, {months})")


def _span(column: str) -> _Span:
    return _Span(_col(column), _col(date_latest(column)))


def _day(day: dt.date) -> _Span:
    return _Span(_date(day), _date(day))


def _before(a: _Span, b: _Span) -> str:
    """a < b for every possible pair of days: true / false / null (open or unknown)."""
    return f"(CASE WHEN {a.hi} < {b.lo} THEN true WHEN {a.lo} >= {b.hi} THEN false END)"


def _on_or_before(a: _Span, b: _Span) -> str:
    """a <= b for every possible pair of days: true / false / null."""
    return f"(CASE WHEN {a.hi} <= {b.lo} THEN true WHEN {a.lo} > {b.hi} THEN false END)"


def _non_blank(column: str) -> str:
    return f"coalesce(length(trim({_col(column)})) > 0, false)"


def _dated_before_conviction(present: str, earliest: str) -> str:
    """Some event (present on the subject) dated before this conviction; none: false."""
    before = _before(_span(earliest), _span(CONVICTION_DATE))
    return f"(CASE WHEN NOT ({present}) THEN false ELSE {before} END)"


def _sentences_completed(compute_at: dt.date) -> str:
    end = _span(LATEST_SENTENCE_END)
    known = (
        f"(CASE WHEN {end.lo} IS NULL AND {end.hi} IS NULL THEN true "
        f"ELSE {_on_or_before(end, _day(compute_at))} END)"
    )
    # Kleene AND: an uncomputable sentence end leaves "all completed" open unless a
    # known sentence already runs past compute-at.
    return f"({known} AND (CASE WHEN NOT {_col(UNKNOWN_SENTENCE_END)} THEN true END))"


def _code_section_in(predicate: CodeSectionIn) -> str:
    """Kleene AND/OR: a subsection or code the text did not give (null) leaves the answer
    open only where it matters (another section is a definite no)."""
    section, subsection, code = _col(SECTION), _col(SUBSECTION), _col(CODE)
    matches = []
    for pattern in predicate.patterns():
        match = f"({section} = {_str(pattern.section)} AND startswith({subsection}, " \
            f"{_str(pattern.subsection)})"  # fmt: skip
        if pattern.code is not None:
            match += f" AND {code} = {_str(pattern.code)}"
        matches.append(match + ")")
    return f"({' OR '.join(matches)})"


def _age_in_days(dob: str, compute_at: dt.date) -> str:
    return f"datediff({_date(compute_at)}, {dob})"


def _fractional_age_at_least(years: int, compute_at: dt.date) -> str:
    """(compute-at - DOB) days / 365.25 >= years, for every possible DOB: true/false/null."""
    limit = math.ceil(years * DAYS_PER_FRACTIONAL_YEAR)
    youngest, oldest = (
        _age_in_days(_col(date_latest(DOB)), compute_at),
        _age_in_days(_col(DOB), compute_at),
    )
    return f"(CASE WHEN {youngest} >= {limit} THEN true WHEN {oldest} < {limit} THEN false END)"


def _fractional_age_at_most(years: int, compute_at: dt.date) -> str:
    """(compute-at - DOB) days / 365.25 <= years, for every possible DOB: true/false/null."""
    limit = math.floor(years * DAYS_PER_FRACTIONAL_YEAR)
    youngest, oldest = (
        _age_in_days(_col(date_latest(DOB)), compute_at),
        _age_in_days(_col(DOB), compute_at),
    )
    return f"(CASE WHEN {oldest} <= {limit} THEN true WHEN {youngest} > {limit} THEN false END)"


def predicate_sql(predicate: Predicate, compute_at: dt.date) -> str:
    """The predicate's value on a row, as a nullable boolean SQL expression."""
    today = _day(compute_at)
    match predicate:
        case Always():
            return "true"
        case NotFelony():
            return f"(NOT {_col(IS_FELONY)})"
        case Felony():
            return f"({_col(IS_FELONY)})"
        case SectionIn(sections=sections):
            return f"({_col(SECTION)} IN ({', '.join(_str(s) for s in sections)}))"
        case CodeSectionIn():
            return _code_section_in(predicate)
        case NoSubsection():
            return f"({_col(SUBSECTION)} = '')"
        case ConvictedOnOrAfter(date=date):
            return _on_or_before(_day(date), _span(CONVICTION_DATE))
        case UnderAgeAtConviction(years=years):
            return _before(_span(CONVICTION_DATE), _span(DOB).plus_years(years))
        case AgeAtLeast(years=years, age_as="fractional_years"):
            return _fractional_age_at_least(years, compute_at)
        case AgeAtLeast(years=years):
            return _on_or_before(_span(DOB).plus_years(years), today)
        case AgeAtMost(years=years, age_as="fractional_years"):
            return _fractional_age_at_most(years, compute_at)
        case AgeAtMost(years=years):
            return _before(today, _span(DOB).plus_years(years + 1))
        case ConvictedYearsAgo(years=years):
            return _on_or_before(_span(CONVICTION_DATE), _day(add_years(compute_at, -years)))
        case NoConvictionInPastYears(years=years, form=form):
            cutoff = _day(add_years(compute_at, -years))
            if form == "none_after":
                return _on_or_before(_span(LAST_CONVICTION), cutoff)
            return _before(_span(LAST_CONVICTION), cutoff)
        case OnlyProp64():
            return f"({_col(ONLY_PROP64)})"
        case SentencesCompleted():
            return _sentences_completed(compute_at)
        case ServingSentence():
            return f"(NOT {_sentences_completed(compute_at)})"
        case Deceased():
            return f"({_col(DECEASED)})"
        case SuperstrikeBeforeConviction():
            present = (
                f"{_non_blank(SUPERSTRIKE_SECTIONS)} OR {_col(EARLIEST_SUPERSTRIKE)} IS NOT NULL"
            )
            return _dated_before_conviction(present, EARLIEST_SUPERSTRIKE)
        case PC290BeforeConviction():
            present = (
                f"{_non_blank(PC290_SECTIONS)} OR coalesce({_col(PC290_REGISTRATION)}, false) "
                f"OR {_col(EARLIEST_PC290)} IS NOT NULL"
            )
            return _dated_before_conviction(present, EARLIEST_PC290)
        case PriorSameSectionAtLeast(count=count):
            return (
                f"(CASE WHEN {_col(PRIOR_SAME_SECTION)} >= {count} THEN true "
                f"WHEN {_col(PRIOR_SAME_SECTION_POSSIBLE)} < {count} THEN false END)"
            )
    raise TypeError(f"no Spark expression for predicate {predicate.kind!r}")


def condition_sql(condition: Condition, compute_at: dt.date) -> str:
    """A condition as a nullable boolean SQL expression; all/any/not are SQL's Kleene logic."""
    if isinstance(condition, AllOf | AnyOf):
        joiner = " AND " if isinstance(condition, AllOf) else " OR "
        return "(" + joiner.join(condition_sql(c, compute_at) for c in condition.conditions) + ")"
    if isinstance(condition, Not):
        return f"(NOT {condition_sql(condition.condition, compute_at)})"
    return predicate_sql(condition, compute_at)


def _reason_sql(rule: Rule) -> str:
    parts = [
        _str(part) if part is not None else f"coalesce({_col(SECTION)}, '')"
        for part in rule.reason_parts()
    ]
    if not parts:
        return "''"
    return parts[0] if len(parts) == 1 else f"concat({', '.join(parts)})"


def _open_reason_sql(rule: Rule, compute_at: dt.date) -> str:
    """policy.open_reason as SQL: which kind of unread input left the rule open."""
    code_section = [
        predicate_sql(leaf, compute_at)
        for leaf in {leaf.key(): leaf for leaf in leaves(rule.when)}.values()
        if isinstance(leaf, CODE_SECTION_PREDICATES)
    ]
    if not code_section:
        return _str(INCOMPLETE_DATE_REASON)
    unread = " OR ".join(f"({sql}) IS NULL" for sql in code_section)
    return (
        f"(CASE WHEN {unread} THEN {_str(INCOMPLETE_CODE_SECTION_REASON)} "
        f"ELSE {_str(INCOMPLETE_DATE_REASON)} END)"
    )


def _outcome_sql(determination: str, reason: str, rule_id: str) -> str:
    return (
        f"named_struct({_str(DETERMINATION)}, {_str(determination)}, "
        f"{_str(REASON)}, {reason}, {_str(RULE_ID)}, {_str(rule_id)})"
    )


# --- compiled policies -------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledPolicy:
    """A policy as Spark expressions, valid for one compute-at date."""

    policy: Policy
    compute_at: dt.date
    outcome_sql: str  # struct<determination, reason, rule_id>: ONE CASE over the rules
    decision_inputs_sql: str  # map<string, boolean>: predicate key -> value (null = unknown)

    @property
    def outcome(self) -> Column:
        return F.expr(self.outcome_sql)

    @property
    def decision_inputs(self) -> Column:
        return F.expr(self.decision_inputs_sql)

    @property
    def determination(self) -> Column:
        return self.outcome.getField(DETERMINATION)

    @property
    def reason(self) -> Column:
        return self.outcome.getField(REASON)

    @property
    def rule_id(self) -> Column:
        return self.outcome.getField(RULE_ID)


def compile_policy(policy: Policy, compute_at: dt.date) -> CompiledPolicy:
    """The decision list as one CASE expression, first matching rule wins."""
    branches: list[str] = []
    for rule in policy.rules:
        condition = condition_sql(rule.when, compute_at)
        if not isinstance(rule.when, Always):
            open_ = _outcome_sql(
                INCOMPLETE_DATE_DETERMINATION.value, _open_reason_sql(rule, compute_at), rule.id
            )
            branches.append(f"WHEN ({condition}) IS NULL THEN {open_}")
        fired = _outcome_sql(rule.then.value, _reason_sql(rule), rule.id)
        branches.append(f"WHEN {condition} THEN {fired}")
    inputs = ", ".join(
        f"{_str(p.key())}, {predicate_sql(p, compute_at)}" for p in policy.predicates()
    )
    return CompiledPolicy(
        policy=policy,
        compute_at=compute_at,
        outcome_sql="CASE\n  " + "\n  ".join(branches) + "\nEND",
        decision_inputs_sql=f"map({inputs})",
    )


def with_is_candidate(df: DataFrame) -> DataFrame:
    """Candidates (DOMAIN §4): counted Prop 64 convictions in the row's target county."""
    candidate = (
        F.col(IS_COUNTED_CONVICTION)
        & F.col(IS_PROP64)
        & (F.col(COUNTY_SLUG) == F.col(TARGET_COUNTY))
    )
    return df.withColumn(IS_CANDIDATE, F.coalesce(candidate, F.lit(False)))


def apply_policies(
    df: DataFrame,
    policies: Mapping[str, Policy],
    default: Policy,
    compute_at: dt.date,
) -> DataFrame:
    """Adds IS_CANDIDATE, DETERMINATION, REASON, RULE_ID, DECISION_INPUTS (candidates only,
    null elsewhere) by each row's TARGET_COUNTY policy (``policies`` by county slug, else
    ``default``), and the two comparison flows DISMISS_ALL_P64 / DISMISS_ALL_P64_RELATED.
    """
    compiled: dict[int, CompiledPolicy] = {}

    def compiled_for(policy: Policy) -> CompiledPolicy:
        # A policy object shared by several counties (or also the default) compiles once.
        if id(policy) not in compiled:
            compiled[id(policy)] = compile_policy(policy, compute_at)
        return compiled[id(policy)]

    fallback = compiled_for(default)
    by_slug = {slug: compiled_for(policies[slug]) for slug in sorted(policies)}

    def per_county(pick: Callable[[CompiledPolicy], str]) -> Column:
        branches = [
            f"WHEN {_col(TARGET_COUNTY)} = {_str(slug)} THEN {pick(policy)}"
            for slug, policy in by_slug.items()
            if policy is not fallback  # the ELSE branch covers it
        ]
        chosen = pick(fallback)
        if branches:
            chosen = "CASE " + "\n".join(branches) + f"\nELSE {chosen} END"
        return F.expr(f"CASE WHEN {_col(IS_CANDIDATE)} THEN ({chosen}) END")

    dismissal = F.lit(Determination.DISMISSAL.value)
    related_here = F.coalesce(
        F.col(IS_COUNTED_CONVICTION)
        & F.col(IS_RELATED)
        & (F.col(COUNTY_SLUG) == F.col(TARGET_COUNTY)),
        F.lit(False),
    )
    # Two projections, not one withColumn per column: the CASE is analysed once.
    decided = df.transform(with_is_candidate).withColumns(
        {
            _OUTCOME: per_county(lambda c: c.outcome_sql),
            DECISION_INPUTS: per_county(lambda c: c.decision_inputs_sql),
            DISMISS_ALL_P64: F.when(F.col(IS_CANDIDATE), dismissal),
            DISMISS_ALL_P64_RELATED: F.when(F.col(IS_CANDIDATE) | related_here, dismissal),
        }
    )
    outcome = F.col(_OUTCOME)
    return decided.withColumns(
        {
            DETERMINATION: outcome.getField(DETERMINATION),
            REASON: outcome.getField(REASON),
            RULE_ID: outcome.getField(RULE_ID),
        }
    ).drop(_OUTCOME)
