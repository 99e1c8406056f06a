"""A second, independent evaluator of eligibility decision lists, in plain Python.

Written from DOMAIN.md §4 and the predicate table of transforms/policy.py, not from the
Spark compiler (transforms/eligibility.py): it shares only the policy *model*. Where the
compiler reasons with interval bounds, this evaluator does what DOMAIN.md says: it
evaluates a date predicate at every combination of earliest / latest possible day of the
dates it reads (an unknown bound is -inf / +inf) and calls the value definite only when
all of them agree. ``None`` is UNKNOWN; all/any/not follow Kleene's three-valued logic.

It also holds the input row shape the eligibility tests build (:data:`INPUT_SCHEMA`,
:func:`make_row`) so unit and property tests describe rows the same way.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any

from pyspark.sql.types import (
    BooleanType,
    DateType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from relief.transforms.columns import (
    CODE,
    CODE_SECTION,
    CONVICTION_DATE,
    COUNTY_SLUG,
    DECEASED,
    DOB,
    EARLIEST_PC290,
    EARLIEST_SUPERSTRIKE,
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
    RECORD_ID,
    SECTION,
    SUBJECT,
    SUBSECTION,
    SUPERSTRIKE_SECTIONS,
    TARGET_COUNTY,
    UNKNOWN_SENTENCE_END,
    date_latest,
    date_partial,
)
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
    SectionIn,
    SentencesCompleted,
    ServingSentence,
    SuperstrikeBeforeConviction,
    UnderAgeAtConviction,
    leaves,
    open_reason,
)

Truth = bool | None

# --- the input rows ------------------------------------------------------------------------

_DATES_WITH_PARTIAL = (CONVICTION_DATE, DOB, LAST_CONVICTION)
_DATES = (LATEST_SENTENCE_END, EARLIEST_PC290, EARLIEST_SUPERSTRIKE)

INPUT_SCHEMA = StructType(
    [
        StructField(RECORD_ID, StringType()),
        StructField(SUBJECT, StringType()),
        StructField(TARGET_COUNTY, StringType()),
        StructField(COUNTY_SLUG, StringType()),
        StructField(IS_COUNTED_CONVICTION, BooleanType()),
        StructField(IS_PROP64, BooleanType()),
        StructField(IS_RELATED, BooleanType()),
        StructField(IS_FELONY, BooleanType()),
        StructField(SECTION, StringType()),
        StructField(SUBSECTION, StringType()),
        StructField(CODE, StringType()),
        StructField(CODE_SECTION, StringType()),
        StructField(PRIOR_SAME_SECTION, IntegerType()),
        StructField(PRIOR_SAME_SECTION_POSSIBLE, IntegerType()),
        StructField(DECEASED, BooleanType()),
        StructField(PC290_REGISTRATION, BooleanType()),
        StructField(PC290_SECTIONS, StringType()),
        StructField(SUPERSTRIKE_SECTIONS, StringType()),
        StructField(ONLY_PROP64, BooleanType()),
        StructField(UNKNOWN_SENTENCE_END, BooleanType()),
    ]
    + [
        field
        for name in _DATES_WITH_PARTIAL
        for field in (
            StructField(name, DateType()),
            StructField(date_latest(name), DateType()),
            StructField(date_partial(name), BooleanType()),
        )
    ]
    + [
        field
        for name in _DATES
        for field in (StructField(name, DateType()), StructField(date_latest(name), DateType()))
    ]
)

Span = tuple[dt.date | None, dt.date | None]


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def full(value: dt.date | str) -> Span:
    d = day(value) if isinstance(value, str) else value
    return (d, d)


def year_only(year: int) -> Span:
    """A partial date YYYY0000: any day of the year."""
    return (dt.date(year, 1, 1), dt.date(year, 12, 31))


def month_only(year: int, month: int) -> Span:
    """A partial date YYYYMM00: any day of the month."""
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return (dt.date(year, month, 1), dt.date(year, month, last))


BLANK: Span = (None, None)


def make_row(record_id: str = "r1", **values: Any) -> dict[str, Any]:
    """A candidate conviction row with neutral subject facts; override by column name.

    Date columns take a :data:`Span` under their base name (``conviction_date=full(...)``)
    which fills <d>, <d>_latest and (where the schema has it) <d>_partial.
    """
    row: dict[str, Any] = {
        RECORD_ID: record_id,
        SUBJECT: "S1",
        TARGET_COUNTY: "los-angeles",
        COUNTY_SLUG: "los-angeles",
        IS_COUNTED_CONVICTION: True,
        IS_PROP64: True,
        IS_RELATED: False,
        IS_FELONY: True,
        SECTION: "11359",
        SUBSECTION: "",
        CODE: "HS",
        PRIOR_SAME_SECTION: 0,
        PRIOR_SAME_SECTION_POSSIBLE: 0,
        DECEASED: False,
        PC290_REGISTRATION: False,
        PC290_SECTIONS: None,
        SUPERSTRIKE_SECTIONS: None,
        ONLY_PROP64: False,
        UNKNOWN_SENTENCE_END: False,
    }
    spans: dict[str, Span] = {
        CONVICTION_DATE: full("2015-05-01"),
        DOB: full("1990-03-15"),
        LAST_CONVICTION: full("2020-01-01"),
        LATEST_SENTENCE_END: full("2016-05-01"),
        EARLIEST_PC290: BLANK,
        EARLIEST_SUPERSTRIKE: BLANK,
    }
    for name, value in values.items():
        if name in spans:
            spans[name] = value
        else:
            row[name] = value
    for name, (lo, hi) in spans.items():
        row[name] = lo
        row[date_latest(name)] = hi
        if name in _DATES_WITH_PARTIAL:
            row[date_partial(name)] = None if lo is None else lo != hi
    if CODE_SECTION not in values:
        section = row[SECTION]
        row[CODE_SECTION] = None if section is None else f"{section}{row[SUBSECTION] or ''} HS"
    return row


def as_tuple(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(f.name) for f in INPUT_SCHEMA.fields)


# --- three-valued logic ------------------------------------------------------------------


def k_not(a: Truth) -> Truth:
    return None if a is None else not a


def k_and(values: list[Truth]) -> Truth:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def k_or(values: list[Truth]) -> Truth:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


# Dates as day numbers; an unknown bound is -inf (earliest) or +inf (latest).
def _bounds(row: Mapping[str, Any], name: str) -> tuple[float, float]:
    lo, hi = row.get(name), row.get(date_latest(name))
    return (
        -math.inf if lo is None else float(lo.toordinal()),
        math.inf if hi is None else float(hi.toordinal()),
    )


def _plus_years(value: float, years: int) -> float:
    if math.isinf(value):
        return value
    d = dt.date.fromordinal(int(value))
    try:
        moved = d.replace(year=d.year + years)
    except ValueError:  # Feb 29 -> Feb 28
        moved = d.replace(year=d.year + years, day=28)
    return float(moved.toordinal())


def _ordinal(d: dt.date) -> float:
    return float(d.toordinal())


def at_every_day(row: Mapping[str, Any], names: list[str], test: Callable[..., bool]) -> Truth:
    """``test`` at every combination of earliest/latest day of the named dates."""
    corners = [_bounds(row, name) for name in names]
    values = {test(*combo) for combo in itertools.product(*corners)}
    return values.pop() if len(values) == 1 else None


def _sections_present(text: Any) -> bool:
    return isinstance(text, str) and text.strip() != ""


def _equal(value: Any, expected: Any) -> Truth:
    return None if value is None else value == expected


def _code_section_in(row: Mapping[str, Any], predicate: CodeSectionIn) -> Truth:
    """Kleene: an unread part (null) leaves a pattern open only if the rest matches."""
    section, subsection, code = row.get(SECTION), row.get(SUBSECTION), row.get(CODE)
    return k_or(
        [
            k_and(
                [
                    _equal(section, p.section),
                    None if subsection is None else subsection.startswith(p.subsection),
                    True if p.code is None else _equal(code, p.code),
                ]
            )
            for p in predicate.patterns()
        ]
    )


def _all_sentences_completed(row: Mapping[str, Any], compute_at: dt.date) -> Truth:
    today = _ordinal(compute_at)
    if row.get(LATEST_SENTENCE_END) is None and row.get(date_latest(LATEST_SENTENCE_END)) is None:
        known: Truth = True  # no sentence with a known end
    else:
        known = at_every_day(row, [LATEST_SENTENCE_END], lambda end: end <= today)
    unknown_end = row.get(UNKNOWN_SENTENCE_END)
    return k_and([known, None if unknown_end is None or unknown_end else True])


def _flag(row: Mapping[str, Any], name: str) -> Truth:
    value = row.get(name)
    return None if value is None else bool(value)


def predicate_value(row: Mapping[str, Any], predicate: Any, compute_at: dt.date) -> Truth:
    today = _ordinal(compute_at)
    if isinstance(predicate, Always):
        return True
    if isinstance(predicate, NotFelony):
        return k_not(_flag(row, IS_FELONY))
    if isinstance(predicate, Felony):
        return _flag(row, IS_FELONY)
    if isinstance(predicate, SectionIn):
        section = row.get(SECTION)
        return None if section is None else section in predicate.sections
    if isinstance(predicate, CodeSectionIn):
        return _code_section_in(row, predicate)
    if isinstance(predicate, NoSubsection):
        return _equal(row.get(SUBSECTION), "")
    if isinstance(predicate, ConvictedOnOrAfter):
        cutoff = _ordinal(predicate.date)
        return at_every_day(row, [CONVICTION_DATE], lambda c: c >= cutoff)
    if isinstance(predicate, UnderAgeAtConviction):
        n = predicate.years
        return at_every_day(row, [CONVICTION_DATE, DOB], lambda c, b: c < _plus_years(b, n))
    if isinstance(predicate, AgeAtLeast):
        n = predicate.years
        if predicate.age_as == "fractional_years":
            return at_every_day(row, [DOB], lambda b: (today - b) / 365.25 >= n)
        return at_every_day(row, [DOB], lambda b: _plus_years(b, n) <= today)
    if isinstance(predicate, AgeAtMost):
        n = predicate.years
        if predicate.age_as == "fractional_years":
            return at_every_day(row, [DOB], lambda b: (today - b) / 365.25 <= n)
        return at_every_day(row, [DOB], lambda b: today < _plus_years(b, n + 1))
    if isinstance(predicate, ConvictedYearsAgo):
        cutoff = _plus_years(today, -predicate.years)
        return at_every_day(row, [CONVICTION_DATE], lambda c: c <= cutoff)
    if isinstance(predicate, NoConvictionInPastYears):
        cutoff = _plus_years(today, -predicate.years)
        if predicate.form == "none_after":
            return at_every_day(row, [LAST_CONVICTION], lambda last: last <= cutoff)
        return at_every_day(row, [LAST_CONVICTION], lambda last: last < cutoff)
    if isinstance(predicate, OnlyProp64):
        return _flag(row, ONLY_PROP64)
    if isinstance(predicate, SentencesCompleted):
        return _all_sentences_completed(row, compute_at)
    if isinstance(predicate, ServingSentence):
        return k_not(_all_sentences_completed(row, compute_at))
    if isinstance(predicate, Deceased):
        return _flag(row, DECEASED)
    if isinstance(predicate, SuperstrikeBeforeConviction):
        present = _sections_present(row.get(SUPERSTRIKE_SECTIONS)) or (
            row.get(EARLIEST_SUPERSTRIKE) is not None
        )
        if not present:
            return False
        return at_every_day(row, [EARLIEST_SUPERSTRIKE, CONVICTION_DATE], lambda s, c: s < c)
    if isinstance(predicate, PC290BeforeConviction):
        present = (
            _sections_present(row.get(PC290_SECTIONS))
            or bool(row.get(PC290_REGISTRATION))
            or row.get(EARLIEST_PC290) is not None
        )
        if not present:
            return False
        return at_every_day(row, [EARLIEST_PC290, CONVICTION_DATE], lambda p, c: p < c)
    if isinstance(predicate, PriorSameSectionAtLeast):
        definite, possible = row.get(PRIOR_SAME_SECTION), row.get(PRIOR_SAME_SECTION_POSSIBLE)
        if definite is not None and definite >= predicate.count:
            return True
        if possible is not None and possible < predicate.count:
            return False
        return None
    raise TypeError(f"reference evaluator has no case for {predicate!r}")


def condition_value(row: Mapping[str, Any], condition: Condition, compute_at: dt.date) -> Truth:
    if isinstance(condition, AllOf):
        return k_and([condition_value(row, c, compute_at) for c in condition.conditions])
    if isinstance(condition, AnyOf):
        return k_or([condition_value(row, c, compute_at) for c in condition.conditions])
    if isinstance(condition, Not):
        return k_not(condition_value(row, condition.condition, compute_at))
    return predicate_value(row, condition, compute_at)


# --- decisions ---------------------------------------------------------------------------


def is_candidate(row: Mapping[str, Any]) -> bool:
    county, target = row.get(COUNTY_SLUG), row.get(TARGET_COUNTY)
    return bool(
        row.get(IS_COUNTED_CONVICTION)
        and row.get(IS_PROP64)
        and county is not None
        and county == target
    )


def decide(
    row: Mapping[str, Any], policy: Policy, compute_at: dt.date
) -> tuple[str, str, str] | None:
    """(determination, reason, rule_id) of the first rule that fires; None: no candidate."""
    if not is_candidate(row):
        return None
    for rule in policy.rules:
        value = condition_value(row, rule.when, compute_at)
        if value is None:
            values = {
                leaf.key(): predicate_value(row, leaf, compute_at) for leaf in leaves(rule.when)
            }
            return (Determination.HAND_REVIEW.value, open_reason(rule.when, values), rule.id)
        if value:
            return (rule.then.value, rule.render_reason(row.get(SECTION)), rule.id)
    raise AssertionError("a validated policy ends with an `always` rule")


def decision_inputs(
    row: Mapping[str, Any], policy: Policy, compute_at: dt.date
) -> dict[str, Truth] | None:
    if not is_candidate(row):
        return None
    return {
        leaf.key(): predicate_value(row, leaf, compute_at)
        for rule in policy.rules
        for leaf in leaves(rule.when)
    }


def comparison_flows(row: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """("dismiss all Prop 64", "dismiss all Prop 64 and related") for one row."""
    dismissal = Determination.DISMISSAL.value
    candidate = is_candidate(row)
    related = bool(
        row.get(IS_COUNTED_CONVICTION)
        and row.get(IS_RELATED)
        and row.get(COUNTY_SLUG) is not None
        and row.get(COUNTY_SLUG) == row.get(TARGET_COUNTY)
    )
    return (dismissal if candidate else None, dismissal if candidate or related else None)


# --- superstrikes from a subject's convictions (DOMAIN.md §2), independently of history.py --


def superstrike_facts(
    convictions: list[Mapping[str, Any]],
) -> tuple[str | None, dt.date | None]:
    """(the superstrike cell, the earliest superstrike date) of one subject.

    ``convictions``: the subject's counted convictions in file order, each with ``cnt_order``,
    ``text`` (code-section text), ``date`` and ``kind``: ``"superstrike"`` (a superstrike by
    itself, the enhancement in the same text included), ``"enhanceable"`` (136.1, 215,
    213(a)(1)(a), 246, 519, 12022.55 PC alone), ``"gang"`` (186.22(b)(4) PC) or None. An
    enhanceable conviction is a superstrike when a gang-enhancement conviction shares its
    case (the first six characters of CNT_ORDER), written ``<offence> + <enhancement>``."""
    cells: list[str] = []
    dates: list[dt.date | None] = []
    for conviction in convictions:
        kind, text = conviction["kind"], conviction["text"]
        if kind == "enhanceable":
            case = str(conviction["cnt_order"])[:6]
            gangs = [
                c["text"]
                for c in convictions
                if c["kind"] == "gang" and str(c["cnt_order"])[:6] == case
            ]
            if not gangs:
                continue
            text = f"{text} + {gangs[0]}"
        elif kind != "superstrike":
            continue
        cells.append(text)
        dates.append(conviction["date"])
    if not cells:
        return None, None
    earliest = None if any(d is None for d in dates) else min(d for d in dates if d is not None)
    return ";".join(cells), earliest
