"""Law packs on Spark (issue 23): a statewide decision list compiles to ONE CASE expression.

:func:`compile_law` turns a law pack (transforms/laws.py) with its parameter values into
Spark SQL: one ``CASE WHEN ... END`` yielding the struct (determination, reason, rule_id,
citation) of the first rule that fires, the map of every predicate it uses to its value on
the row (``decision_inputs``, for audit explain), and the pack's candidate selector.
:func:`apply_law` adds the law's own columns (``law_column(law, ...)``, e.g.
``pc1203_425_determination``) on its candidate rows, null elsewhere. Prop 64 keeps its
county policies and transforms/eligibility.py.

The rows carry the law facts of transforms/columns.py (``LAW_FACTS``: per conviction, per
subject, per arrest cycle) beside the pipeline's own columns (:data:`PIPELINE_INPUTS`);
how they are computed is the per-subject pass's business (phase 2). This module reads
them only, with transforms/eligibility.py's machinery: the same interval dates (<d> the
earliest possible day, <d>_latest the latest, a null bound open), the same three-valued
logic (null = UNKNOWN, SQL's Kleene AND/OR/NOT), the same Prop 64 predicates where a pack
uses them (convicted_on_or_after, convicted_years_ago, deceased ...). Two differ on a law
row: ``felony`` / ``not_felony`` read CONVICTION_FELONY, which keeps a conviction with no
recorded level UNKNOWN (IS_FELONY reads it as not a felony).

Each rule contributes ``WHEN cond IS NULL THEN (Hand Review, <open reason>, id, citation)
WHEN cond THEN (then, reason, id, citation)``: an open condition stops the list at that
rule. The open reason is transforms/policy.py's ``open_reason`` as SQL: ``Incomplete code
section`` when a code-section predicate is open (for ``code_section_in_list``: open and
the conviction's section not read), else the reason of the first open predicate that has
one (``Offense level not recorded`` for felony / not_felony on a conviction with no
recorded level, ``Supervised Release File not checked``, ``Sentence end unknown``,
``Depends on facts of the case (record of conviction)``, ``Offense level at arrest not
recorded``, ``Maximum term not in table``), else ``Incomplete date``. One refinement over
``open_reason``, which sees only values: a clock from the sentence end names the sentence
end only when that end (or, for a subject's sentences, one of them) is unknown; open
because of a partial date, or of a later conviction of unknown date or level, it is an
``Incomplete date``.

The clocks (compute-at, "N years") are applied here, so the facts do not depend on the
run's date; the pack's wording parameters and vocabularies are applied when the facts are
computed (docs/laws.md §4). No Python UDFs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    DataType,
    DateType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from relief.transforms.columns import (
    ARREST_DATE,
    ARREST_MAX_TERM_KNOWN,
    ARREST_MAX_TERM_YEARS,
    ARREST_OFFENSE_CLASS,
    CITATION,
    CODE,
    CONVICTION_DATE,
    CONVICTION_FELONY,
    COUNTY_SLUG,
    CYCLE_ACQUITTED,
    CYCLE_DISMISSED,
    CYCLE_DIVERSION_COMPLETED,
    CYCLE_HAS_CONVICTION,
    CYCLE_NO_COURT_ACTION,
    DECEASED,
    DECISION_INPUTS,
    DETERMINATION,
    HAS_OPEN_CYCLE,
    HAS_UNKNOWN_SENTENCE_END,
    IS_ARREST_CYCLE_ROW,
    IS_COUNTED_CONVICTION,
    IS_FELONY,
    KNOWN_SENTENCE_END,
    LATER_FELONY,
    LATER_FELONY_POSSIBLE,
    LAW_CANDIDATE,
    LAW_FACTS,
    OPEN_CYCLE_ACTIVITY,
    OPEN_CYCLE_UNDATED,
    PC290_REGISTRANT,
    PROBATION_END,
    PROBATION_GRANTED,
    PROBATION_REVOKED,
    REASON,
    RULE_ID,
    SECTION,
    SENTENCE_END_CONCURRENT,
    STATE_PRISON_SENTENCE,
    SUBSECTION,
    SUPERVISED_RELEASE_ACTIVE,
    TARGET_COUNTY,
    UNKNOWN_END_CONVICTION,
    date_latest,
    law_column,
    vocabulary_column,
)
from relief.transforms.eligibility import (
    _before,
    _col,
    _day,
    _on_or_before,
    _reason_sql,
    _span,
    _str,
    predicate_sql,
)
from relief.transforms.laws import LawDecisionList, LawPack, LawRule, Selector
from relief.transforms.policy import (
    CODE_SECTION_PREDICATES,
    INCOMPLETE_CODE_SECTION_REASON,
    INCOMPLETE_DATE_DETERMINATION,
    INCOMPLETE_DATE_REASON,
    PROP64_PREDICATES,
    AllOf,
    Always,
    AnyOf,
    ArrestedOnOrAfter,
    ArrestedYearsAgo,
    CodeSectionInList,
    ComputeAtOnOrAfter,
    Condition,
    CycleAcquitted,
    CycleDismissed,
    CycleNoCourtAction,
    DiversionCompleted,
    Felony,
    MaxTermAtLeast,
    MaxTermKnown,
    NoFelonyWithinYearsAfterSentence,
    Not,
    NotFelony,
    OffenseClassAtArrest,
    PC290Registrant,
    PendingCharge,
    Predicate,
    ProbationCompleted,
    ProbationGranted,
    ProbationRevoked,
    SentenceCompletedYearsAgo,
    SentenceNotCompleted,
    StatePrisonSentence,
    SupervisedReleaseActive,
    add_years,
    leaves,
)

# The pipeline's own columns a law decision reads besides LAW_FACTS (the selectors and the
# Prop 64 predicates a pack may use), with their Spark types.
PIPELINE_INPUTS: tuple[tuple[str, str], ...] = (
    (IS_COUNTED_CONVICTION, "boolean"),
    (COUNTY_SLUG, "string"),
    (TARGET_COUNTY, "string"),
    (CONVICTION_DATE, "date"),
    (date_latest(CONVICTION_DATE), "date"),
    (IS_FELONY, "boolean"),
    (SECTION, "string"),
    (SUBSECTION, "string"),
    (CODE, "string"),
    (DECEASED, "boolean"),
)

_SPARK_TYPES: dict[str, DataType] = {
    "boolean": BooleanType(),
    "date": DateType(),
    "int": IntegerType(),
    "string": StringType(),
}

# The open reason of a rule a conviction's unrecorded level (CONVICTION_FELONY null) leaves
# open (docs/laws.md, "Open reasons").
LEVEL_NOT_RECORDED_REASON = "Offense level not recorded"

# Temporary column holding the chosen rule's struct, split into four columns, then dropped.
_OUTCOME = "_law_outcome"


def law_input_schema() -> StructType:
    """The columns a law decision reads: PIPELINE_INPUTS then LAW_FACTS, all nullable."""
    fields = [(name, kind) for name, kind in PIPELINE_INPUTS]
    fields += [(fact.name, fact.type) for fact in LAW_FACTS]
    return StructType([StructField(name, _SPARK_TYPES[kind], True) for name, kind in fields])


# --- predicates --------------------------------------------------------------------------


def _flag(column: str) -> str:
    return f"({_col(column)})"


def _sentence_not_completed(predicate: SentenceNotCompleted, compute_at: dt.date) -> str:
    """Some sentence of the subject ends after compute-at: a known end definitely after it
    (true), every known end on or before it and no unknown end (false); an unknown end
    leaves it open unless SB 834's presumption (``presume_completed_after_years``) covers
    every conviction with one."""
    end = _span(KNOWN_SENTENCE_END)
    known = (
        f"(CASE WHEN {end.lo} IS NULL AND {end.hi} IS NULL THEN false "
        f"ELSE {_before(_day(compute_at), end)} END)"
    )
    presume = ""
    years = predicate.presume_completed_after_years
    if years:
        cutoff = _day(add_years(compute_at, -years))
        presume = f" WHEN {_on_or_before(_span(UNKNOWN_END_CONVICTION), cutoff)} THEN false"
    unknown = f"(CASE WHEN NOT {_col(HAS_UNKNOWN_SENTENCE_END)} THEN false{presume} END)"
    return f"({known} OR {unknown})"


def _pending_charge(predicate: PendingCharge, compute_at: dt.date) -> str:
    """An open arrest cycle; with ``inactive_years`` N only one active after compute-at - N
    years (an undated open cycle is always pending)."""
    if not predicate.inactive_years:
        return _flag(HAS_OPEN_CYCLE)
    cutoff = _day(add_years(compute_at, -predicate.inactive_years))
    has, undated = _col(HAS_OPEN_CYCLE), _col(OPEN_CYCLE_UNDATED)
    active = _before(cutoff, _span(OPEN_CYCLE_ACTIVITY))
    return (
        f"(CASE WHEN NOT {has} THEN false WHEN {has} AND {undated} THEN true "
        f"WHEN {has} AND NOT {undated} THEN {active} END)"
    )


def _no_felony_within(years: int) -> str:
    """No other felony conviction dated after this one and on or before its sentence end +
    N years: none possible (true), one surely within (false), every possible one surely
    after the window (true), else open."""
    window = _span(SENTENCE_END_CONCURRENT).plus_years(years)
    surely, possibly = _col(LATER_FELONY), _col(LATER_FELONY_POSSIBLE)
    return (
        f"(CASE WHEN {possibly} IS NULL THEN true WHEN {surely} <= {window.lo} THEN false "
        f"WHEN {possibly} > {window.hi} THEN true END)"
    )


def law_predicate_sql(predicate: Predicate, compute_at: dt.date) -> str:
    """The predicate's value on a law row, as a nullable boolean SQL expression."""
    today = _day(compute_at)
    match predicate:
        case Felony():
            return _flag(CONVICTION_FELONY)
        case NotFelony():
            return f"(NOT {_col(CONVICTION_FELONY)})"
        case ComputeAtOnOrAfter(date=date):
            return "true" if compute_at >= date else "false"
        case PC290Registrant():
            return _flag(PC290_REGISTRANT)
        case SupervisedReleaseActive():
            return _flag(SUPERVISED_RELEASE_ACTIVE)
        case SentenceNotCompleted():
            return _sentence_not_completed(predicate, compute_at)
        case PendingCharge():
            return _pending_charge(predicate, compute_at)
        case StatePrisonSentence():
            return _flag(STATE_PRISON_SENTENCE)
        case ProbationGranted():
            return _flag(PROBATION_GRANTED)
        case ProbationCompleted():
            granted = _col(PROBATION_GRANTED)
            ended = _on_or_before(_span(PROBATION_END), today)
            return f"(CASE WHEN NOT {granted} THEN false WHEN {granted} THEN {ended} END)"
        case ProbationRevoked():
            return _flag(PROBATION_REVOKED)
        case SentenceCompletedYearsAgo(years=years):
            cutoff = _day(add_years(compute_at, -years))
            return _on_or_before(_span(SENTENCE_END_CONCURRENT), cutoff)
        case NoFelonyWithinYearsAfterSentence(years=years):
            return _no_felony_within(years)
        case CodeSectionInList(lists=lists):
            return "(" + " OR ".join(_col(vocabulary_column(name)) for name in lists) + ")"
        case OffenseClassAtArrest(offense_class=level):
            return f"({_col(ARREST_OFFENSE_CLASS)} = {_str(level)})"
        case CycleDismissed():
            return _flag(CYCLE_DISMISSED)
        case CycleAcquitted():
            return _flag(CYCLE_ACQUITTED)
        case CycleNoCourtAction():
            return _flag(CYCLE_NO_COURT_ACTION)
        case DiversionCompleted():
            return _flag(CYCLE_DIVERSION_COMPLETED)
        case ArrestedOnOrAfter(date=date):
            return _on_or_before(_day(date), _span(ARREST_DATE))
        case ArrestedYearsAgo(years=years):
            return _on_or_before(_span(ARREST_DATE), _day(add_years(compute_at, -years)))
        case MaxTermKnown():
            return _flag(ARREST_MAX_TERM_KNOWN)
        case MaxTermAtLeast(years=years):
            return (
                f"(CASE WHEN {_col(ARREST_MAX_TERM_YEARS)} >= {years} THEN true "
                f"WHEN {_col(ARREST_MAX_TERM_KNOWN)} THEN false END)"
            )
    if predicate.kind in PROP64_PREDICATES:
        return predicate_sql(predicate, compute_at)
    raise TypeError(f"no Spark expression for law predicate {predicate.kind!r}")


def law_condition_sql(condition: Condition, compute_at: dt.date) -> str:
    """A condition as a nullable boolean SQL expression; all/any/not are SQL's Kleene logic."""
    if isinstance(condition, AllOf | AnyOf):
        joiner = " AND " if isinstance(condition, AllOf) else " OR "
        parts = (law_condition_sql(c, compute_at) for c in condition.conditions)
        return "(" + joiner.join(parts) + ")"
    if isinstance(condition, Not):
        return f"(NOT {law_condition_sql(condition.condition, compute_at)})"
    return law_predicate_sql(condition, compute_at)


def _distinct_leaves(condition: Condition) -> list[Predicate]:
    return list({leaf.key(): leaf for leaf in leaves(condition)}.values())


def _open_cause_sql(leaf: Predicate, value: str) -> str | None:
    """When an open ``leaf`` gives its own reason (SQL), or None: it gives none."""
    if isinstance(leaf, Felony | NotFelony):
        return f"{_col(CONVICTION_FELONY)} IS NULL"
    if isinstance(leaf, SentenceCompletedYearsAgo | NoFelonyWithinYearsAfterSentence):
        # The end itself unknown; an end a partial date leaves open is an Incomplete date,
        # and a later conviction of unknown level or date is not the sentence's fault.
        return f"({value}) IS NULL AND {_col(SENTENCE_END_CONCURRENT)} IS NULL"
    if isinstance(leaf, SentenceNotCompleted):
        return f"({value}) IS NULL AND coalesce({_col(HAS_UNKNOWN_SENTENCE_END)}, true)"
    if leaf.unknown_reason is not None:
        return f"({value}) IS NULL"
    return None


def _open_reason_of(leaf: Predicate) -> str:
    if isinstance(leaf, Felony | NotFelony):
        return LEVEL_NOT_RECORDED_REASON
    return leaf.unknown_reason or INCOMPLETE_DATE_REASON


def _open_reason_sql(rule: LawRule, compute_at: dt.date) -> str:
    """policy.open_reason as SQL, for a law row (module docstring)."""
    distinct = _distinct_leaves(rule.when)
    branches: list[str] = []
    unread = [
        f"({law_predicate_sql(leaf, compute_at)}) IS NULL"
        for leaf in distinct
        if isinstance(leaf, CODE_SECTION_PREDICATES)
    ]
    unread += [
        f"(({law_predicate_sql(leaf, compute_at)}) IS NULL AND {_col(SECTION)} IS NULL)"
        for leaf in distinct
        if isinstance(leaf, CodeSectionInList)
    ]
    if unread:
        branches.append(f"WHEN {' OR '.join(unread)} THEN {_str(INCOMPLETE_CODE_SECTION_REASON)}")
    for leaf in distinct:
        cause = _open_cause_sql(leaf, law_predicate_sql(leaf, compute_at))
        if cause is not None:
            branches.append(f"WHEN {cause} THEN {_str(_open_reason_of(leaf))}")
    if not branches:
        return _str(INCOMPLETE_DATE_REASON)
    return f"(CASE {' '.join(branches)} ELSE {_str(INCOMPLETE_DATE_REASON)} END)"


def _outcome_sql(determination: str, reason: str, rule: LawRule) -> str:
    return (
        f"named_struct({_str(DETERMINATION)}, {_str(determination)}, {_str(REASON)}, {reason}, "
        f"{_str(RULE_ID)}, {_str(rule.id)}, {_str(CITATION)}, {_str(rule.citation)})"
    )


def candidate_sql(selector: Selector) -> str:
    """The selector as SQL: the row is one of the law's candidates in its target county
    (a conviction in the conviction's county; an arrest cycle in the arrest's county)."""
    here = f"{_col(COUNTY_SLUG)} = {_col(TARGET_COUNTY)}"
    if selector == Selector.EVERY_CONVICTION:
        return f"coalesce({_col(IS_COUNTED_CONVICTION)} AND {here}, false)"
    if selector == Selector.ARREST_CYCLE_WITHOUT_CONVICTION:
        return (
            f"coalesce({_col(IS_ARREST_CYCLE_ROW)} AND NOT {_col(CYCLE_HAS_CONVICTION)} "
            f"AND {here}, false)"
        )
    raise ValueError(
        f"candidates {selector.value} are decided by the county policies "
        "(transforms/eligibility.py apply_policies), not by a law pack's decision list"
    )


# --- compiled packs ----------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledLaw:
    """A law pack's decision list as Spark SQL, for one compute-at and parameter reading."""

    law: str
    decisions: LawDecisionList
    parameters: Mapping[str, Any]  # the values in force
    compute_at: dt.date
    candidate_sql: str  # boolean: the row is the law's candidate in its target county
    outcome_sql: str  # struct<determination, reason, rule_id, citation>: ONE CASE
    decision_inputs_sql: str  # map<string, boolean>: predicate key -> value (null = unknown)

    @property
    def outcome(self) -> Column:
        return F.expr(self.outcome_sql)

    def column(self, name: str) -> str:
        """This law's own column: ``column(DETERMINATION)`` -> ``pc1203_425_determination``."""
        return law_column(self.law, name)


def compile_decisions(
    law: str,
    decisions: LawDecisionList,
    selector: Selector,
    compute_at: dt.date,
    parameters: Mapping[str, Any] | None = None,
) -> CompiledLaw:
    """A resolved decision list as one CASE expression, first matching rule wins."""
    branches: list[str] = []
    for rule in decisions.rules:
        condition = law_condition_sql(rule.when, compute_at)
        if not isinstance(rule.when, Always):
            reason = _open_reason_sql(rule, compute_at)
            open_ = _outcome_sql(INCOMPLETE_DATE_DETERMINATION.value, reason, rule)
            branches.append(f"WHEN ({condition}) IS NULL THEN {open_}")
        fired = _outcome_sql(rule.then.value, _reason_sql(rule), rule)
        branches.append(f"WHEN {condition} THEN {fired}")
    inputs = ", ".join(
        f"{_str(p.key())}, {law_predicate_sql(p, compute_at)}" for p in decisions.predicates()
    )
    return CompiledLaw(
        law=law,
        decisions=decisions,
        parameters=dict(parameters or {}),
        compute_at=compute_at,
        candidate_sql=candidate_sql(selector),
        outcome_sql="CASE\n  " + "\n  ".join(branches) + "\nEND",
        decision_inputs_sql=f"map({inputs})",
    )


def compile_law(
    pack: LawPack, compute_at: dt.date, overrides: Mapping[str, Any] | None = None
) -> CompiledLaw:
    """A statewide law pack with its parameters in force (``overrides`` as ``relief policy
    show --set`` takes them) compiled for ``compute_at``. Raises ValueError for a county-
    policy pack (Prop 64) or a bad override."""
    decisions = pack.decision_list(overrides)
    return compile_decisions(
        pack.law, decisions, pack.candidates, compute_at, pack.parameter_values(overrides)
    )


def law_output_columns(law: str) -> list[str]:
    """The columns :func:`apply_law` adds, in order."""
    return [
        law_column(law, name)
        for name in (LAW_CANDIDATE, DETERMINATION, REASON, RULE_ID, CITATION, DECISION_INPUTS)
    ]


def apply_law(df: DataFrame, compiled: CompiledLaw) -> DataFrame:
    """Adds the law's candidate flag and, on its candidate rows (null elsewhere), its
    determination, reason, rule id, citation and decision inputs (:func:`law_output_columns`)."""
    when_candidate = f"CASE WHEN {compiled.candidate_sql} THEN ({{}}) END"
    decided = df.withColumns(
        {
            compiled.column(LAW_CANDIDATE): F.expr(compiled.candidate_sql),
            _OUTCOME: F.expr(when_candidate.format(compiled.outcome_sql)),
        }
    )
    outcome = F.col(_OUTCOME)
    fields = {
        compiled.column(name): outcome.getField(name)
        for name in (DETERMINATION, REASON, RULE_ID, CITATION)
    }
    fields[compiled.column(DECISION_INPUTS)] = F.expr(
        when_candidate.format(compiled.decision_inputs_sql)
    )
    return decided.withColumns(fields).drop(_OUTCOME)
