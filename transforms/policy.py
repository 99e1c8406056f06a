"""Eligibility policies as data: ordered decision lists over a fixed predicate vocabulary.

DOMAIN.md §4. A policy is an ordered list of rules; for each candidate conviction the
first rule whose condition holds sets the determination, the reason and the rule id.
This module is the validated model only (pydantic, no I/O, no Spark): jobs/config/policies.py
reads the files, transforms/eligibility.py compiles a policy to one Spark CASE expression.

Policy file shape (YAML; the same structure in JSON)::

    name: los-angeles                  # required, free text
    description: ...                   # optional
    rules:                             # required, evaluated top to bottom
      - id: misdemeanor                # unique within the policy
        when: {not_felony: true}       # a condition (below)
        then: To be reviewed by City Attorneys   # a determination (below)
        reason: Misdemeanor or Infraction        # text; may use {section} and parameters
      ...
      - id: otherwise                  # the last rule must be `when: {always: true}`
        when: {always: true}
        then: Hand Review
        reason: No applicable eligibility criteria

``then`` is one of ``Eligible for Dismissal``, ``Eligible for Reduction``, ``Not eligible``,
``Hand Review``, ``To be reviewed by City Attorneys`` (any case), or a short alias:
``dismiss``, ``reduce``, ``not_eligible``, ``hand_review``, ``city_attorney``. The canonical
text is stored.

A condition is a mapping with exactly one key: a predicate name or ``all`` / ``any`` (a
non-empty list of conditions) or ``not`` (one condition). A predicate without parameters
is written ``{name: true}``; one with parameters takes either its main parameter as a
scalar (``{age_at_least: 50}``) or a mapping of its parameters
(``{no_conviction_in_past_years: {years: 10, form: none_after}}``).

Predicates (compute-at is the run's date; "N years" is calendar arithmetic, Feb 29 + 1
year = Feb 28, i.e. Spark's add_months(d, 12*N)):

- ``always: true``: always holds (the final catch-all).
- ``not_felony: true``: the conviction is a misdemeanor or infraction.
- ``felony: true``: the conviction is a felony.
- ``section_in: [11357, 11358]``: the conviction's section is one of these (``sections``).
- ``code_section_in: [11357(a), 11357(b)]``: section and subsection path match one of
  these; a listed subsection matches itself and its children (``11357(a)`` matches
  11357(a) and 11357(a)(1)); an optional code (``11357(a) HS``) must match too
  (``code_sections``).
- ``no_subsection: true``: the conviction's code section names no subsection (``11357 HS``).
- ``convicted_on_or_after: 2016-11-09``: conviction date >= this date (``date``).
- ``under_age_at_conviction: 21``: conviction date < DOB + N years (``years``).
- ``age_at_least: 50``: DOB + N years <= compute-at; the Nth birthday counts (``years``).
- ``age_at_most: 21``: compute-at < DOB + (N+1) years; still N or younger (``years``).
  Both take ``age_as`` (default ``completed_years``, the calendar reading above) or
  ``fractional_years``: age = (compute-at - DOB) in days / 365.25, compared with N itself,
  so ``{age_at_most: {years: 21, age_as: fractional_years}}`` holds up to 21 x 365.25 days
  after the date of birth (the reading of the reference tool's Los Angeles flow).
- ``convicted_years_ago: 10``: conviction date <= compute-at - N years (``years``).
- ``no_conviction_in_past_years: 10`` (``years``, ``form``): form ``most_recent_before``
  (the default, BEAR rule 6): most recent conviction < compute-at - N years; form
  ``none_after``: no conviction dated after compute-at - N years, i.e. most recent
  <= compute-at - N years.
- ``only_prop64: true``: every conviction of the subject is a Prop 64 conviction.
- ``sentences_completed: true``: every sentence of the subject ended on or before
  compute-at (a subject with no sentence end at all: true).
- ``serving_sentence: true``: not sentences_completed.
- ``deceased: true``: the subject is deceased.
- ``superstrike_before_conviction: true``: a superstrike conviction dated before this one.
- ``pc290_before_conviction: true``: a PC 290 offence conviction or 290 registration
  dated before this conviction.
- ``prior_same_section_at_least: 2``: at least N earlier Prop 64 convictions of the same
  section (``count``).

Three-valued logic. A date may be partial (an interval from its earliest to its latest
possible day) or unknown. A date predicate is definite when it has the same value at
every possible day; otherwise (or when a needed value is null) it is UNKNOWN. A code-section
predicate is UNKNOWN when the part it needs was not read (a subsection or code the text
did not give, normalize's ``code_section_parsed`` false). UNKNOWN propagates through
``all``/``any``/``not`` by Kleene logic. A rule whose condition is UNKNOWN fires as
``Hand Review`` (and its own rule id) with reason ``Incomplete code section`` when one of
its code-section predicates is UNKNOWN, else ``Incomplete date`` (:func:`open_reason`); a
rule whose condition is definitely false is skipped.

Reasons are text with placeholders: ``{section}`` (the conviction's section) and the
names of the condition's parameters (``{years}``, ``{count}``, ``{date}``, ``{sections}``
...), e.g. ``"{years} years or older"``.

The BEAR/gogen eligibility-options JSON (DOMAIN.md §4 table) compiles to the same model:
:class:`EligibilityOptions` ``.to_policy()``, in the plain format and in the richer one
BEAR's final release writes (11357 subsections and ``11357(no-sub-section)`` in the lists,
the ``dismiss...`` toggles in additionalRelief).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from relief.transforms.columns import PROP64_SECTIONS


class Determination(StrEnum):
    DISMISSAL = "Eligible for Dismissal"
    REDUCTION = "Eligible for Reduction"
    NOT_ELIGIBLE = "Not eligible"
    HAND_REVIEW = "Hand Review"
    CITY_ATTORNEY_REVIEW = "To be reviewed by City Attorneys"
    # PC 851.93 (law pack pc851.93, docs/laws.md); never a county policy's determination.
    ARREST_RELIEF = "Eligible for Arrest Relief"


DETERMINATION_ALIASES: dict[str, Determination] = {
    "dismiss": Determination.DISMISSAL,
    "dismissal": Determination.DISMISSAL,
    "reduce": Determination.REDUCTION,
    "reduction": Determination.REDUCTION,
    "not_eligible": Determination.NOT_ELIGIBLE,
    "ineligible": Determination.NOT_ELIGIBLE,
    "hand_review": Determination.HAND_REVIEW,
    "review": Determination.HAND_REVIEW,
    "city_attorney": Determination.CITY_ATTORNEY_REVIEW,
    "city_attorneys": Determination.CITY_ATTORNEY_REVIEW,
    "arrest_relief": Determination.ARREST_RELIEF,
}

# A rule whose condition a partial or unknown date leaves open (DOMAIN.md §1: never
# silently treat a partial date as unknown, never guess).
INCOMPLETE_DATE_REASON = "Incomplete date"
INCOMPLETE_DATE_DETERMINATION = Determination.HAND_REVIEW
# The same for a subsection or code the code-section text did not give (DOMAIN.md §2).
INCOMPLETE_CODE_SECTION_REASON = "Incomplete code section"

# Reasons of the BEAR/gogen configurable flow (DOMAIN.md §4 table), exact wording.
REASON_MISDEMEANOR = "Misdemeanor or Infraction"
REASON_DISMISS_SECTION = "Dismiss all HS {section} convictions"
REASON_UNDER_21 = "21 years or younger"
REASON_AGE = "{years} years or older"
REASON_YEARS_SINCE = "Conviction occurred {years} or more years ago"
REASON_CRIME_FREE = "No convictions in the past {years} years"
REASON_ONLY_PROP64 = "Only has 11357-60 charges"
REASON_DECEASED = "Individual is deceased"
REASON_REDUCE_SECTION = "Reduce all HS {section} convictions"
REASON_OTHERWISE = "No applicable eligibility criteria"
# BEAR's final-release lists (DOMAIN.md §4): a subsection entry's reason names the entry;
# 11357(no-sub-section) has the reference's own wording.
NO_SUBSECTION_ENTRY = "11357(no-sub-section)"
REASON_DISMISS_ENTRY = "Dismiss all HS {entry} convictions"
REASON_REDUCE_ENTRY = "Reduce all HS {entry} convictions"
REASON_DISMISS_NO_SUBSECTION = "Dismiss all HS 11357 convictions (when no sub-section is specified)"
REASON_REDUCE_NO_SUBSECTION = "Reduce all HS 11357 convictions (when no sub-section is specified)"

SECTION_PLACEHOLDER = "section"


def add_years(day: dt.date, years: int) -> dt.date:
    """``day`` + ``years`` calendar years; Feb 29 becomes Feb 28 (= Spark add_months 12*N)."""
    year = day.year + years
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


# --- predicates --------------------------------------------------------------------------

Years = Annotated[int, Strict(), Field(ge=1, le=150)]
Count = Annotated[int, Strict(), Field(ge=1, le=1000)]
_SECTION_RE = re.compile(r"^\d+(\.\d+)*[a-z]*$")
_CODE_SECTION_RE = re.compile(
    r"^(?P<section>\d+(?:\.\d+)*[a-z]*)\s*(?P<subsection>(?:\([a-z0-9]+\))*)\s*(?P<code>[a-z&]+)?$"
)


def _format_value(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ", ".join(_format_value(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Row units of a decision list (transforms/laws.py): one conviction (Prop 64 and PC 1203.425
# candidates) or one arrest cycle (PC 851.93 candidates).
CONVICTION = "conviction"
ARREST_CYCLE = "arrest_cycle"
UNITS: tuple[str, ...] = (CONVICTION, ARREST_CYCLE)
_BOTH = frozenset(UNITS)
_CYCLE = frozenset({ARREST_CYCLE})


class Predicate(BaseModel):
    """A leaf condition. Subclasses set ``kind`` (its YAML name) and ``primary``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str]
    # The parameter a scalar shorthand fills (``{age_at_least: 50}``); None: a flag.
    primary: ClassVar[str | None] = None
    # Parameters left out of params() (so of keys, canonical JSON and reasons) while they
    # have their default: a parameter added later keeps earlier policies' keys and hashes.
    omit_when_default: ClassVar[tuple[str, ...]] = ()
    # The row units the predicate is defined on (transforms/laws.py): a conviction (Prop 64
    # and PC 1203.425 candidates) and/or an arrest cycle (PC 851.93 candidates).
    units: ClassVar[frozenset[str]] = frozenset({CONVICTION})
    # The statute clause a law-pack predicate encodes (docs/laws.md); "" for the Prop 64 ones.
    clause: ClassVar[str] = ""
    # The Hand Review reason when this predicate leaves a rule open (None: the general
    # Incomplete date / Incomplete code section reasons of :func:`open_reason`).
    unknown_reason: ClassVar[str | None] = None

    def params(self) -> dict[str, Any]:
        fields = type(self).model_fields
        return {
            name: getattr(self, name)
            for name in fields
            if not (name in self.omit_when_default and getattr(self, name) == fields[name].default)
        }

    def key(self) -> str:
        """Stable, unique name of this predicate with its parameters (decision inputs)."""
        params = self.params()
        if not params:
            return self.kind
        inner = ", ".join(f"{k}={_format_value(v)}" for k, v in params.items())
        return f"{self.kind}({inner})"

    def describe(self) -> str:
        raise NotImplementedError

    def to_data(self) -> dict[str, Any]:
        params = self.params()
        if not params:
            return {self.kind: True}
        return {self.kind: {k: _jsonable(v) for k, v in params.items()}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class Always(Predicate):
    kind: ClassVar[str] = "always"
    units: ClassVar[frozenset[str]] = _BOTH

    def describe(self) -> str:
        return "always"


class NotFelony(Predicate):
    kind: ClassVar[str] = "not_felony"

    def describe(self) -> str:
        return "not a felony (misdemeanor or infraction)"


class Felony(Predicate):
    kind: ClassVar[str] = "felony"

    def describe(self) -> str:
        return "a felony"


def _section_list(value: Any) -> Any:
    if not isinstance(value, list | tuple):
        return value
    items: list[Any] = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if isinstance(item, str):
            item = item.strip()
        items.append(item)
    return items


class SectionIn(Predicate):
    kind: ClassVar[str] = "section_in"
    primary: ClassVar[str | None] = "sections"
    sections: tuple[Annotated[str, Strict()], ...] = Field(min_length=1)

    @field_validator("sections", mode="before")
    @classmethod
    def _normalize(cls, value: Any) -> Any:
        return _section_list(value)

    @field_validator("sections")
    @classmethod
    def _shape(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for section in value:
            if not _SECTION_RE.match(section):
                raise ValueError(f"{section!r} is not a code section number like '11357'")
        return value

    def describe(self) -> str:
        return "section in " + ", ".join(self.sections)


class CodeSectionPattern(BaseModel):
    model_config = ConfigDict(frozen=True)
    section: str
    subsection: str  # "(a)", "(a)(1)" or "" for the whole section
    code: str | None  # "HS" or None: any code


def parse_code_section(text: str) -> CodeSectionPattern:
    match = _CODE_SECTION_RE.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a code section like '11357(a)' or '11357(a) HS'")
    code = match.group("code")
    if code is not None:
        code = code.upper().replace("H&S", "HS")
    return CodeSectionPattern(
        section=match.group("section"), subsection=match.group("subsection"), code=code
    )


class CodeSectionIn(Predicate):
    kind: ClassVar[str] = "code_section_in"
    primary: ClassVar[str | None] = "code_sections"
    code_sections: tuple[Annotated[str, Strict()], ...] = Field(min_length=1)

    @field_validator("code_sections", mode="before")
    @classmethod
    def _normalize(cls, value: Any) -> Any:
        return _section_list(value)

    @field_validator("code_sections")
    @classmethod
    def _shape(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        canonical = []
        for text in value:
            pattern = parse_code_section(text)
            canonical.append(
                pattern.section + pattern.subsection + (f" {pattern.code}" if pattern.code else "")
            )
        return tuple(canonical)

    def patterns(self) -> list[CodeSectionPattern]:
        return [parse_code_section(text) for text in self.code_sections]

    def describe(self) -> str:
        return "code section " + " or ".join(self.code_sections)


class NoSubsection(Predicate):
    kind: ClassVar[str] = "no_subsection"

    def describe(self) -> str:
        return "the code section names no subsection"


def _date_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date like 2016-11-09, not a date and time")
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"expected a date like 2016-11-09, got {value!r}") from None
    return value


# A policy date: an ISO date string or a date, never a date and time.
PolicyDate = Annotated[dt.date, BeforeValidator(_date_value), Strict()]


class ConvictedOnOrAfter(Predicate):
    kind: ClassVar[str] = "convicted_on_or_after"
    primary: ClassVar[str | None] = "date"
    date: PolicyDate

    def describe(self) -> str:
        return f"convicted on or after {self.date.isoformat()}"


class UnderAgeAtConviction(Predicate):
    kind: ClassVar[str] = "under_age_at_conviction"
    primary: ClassVar[str | None] = "years"
    years: Years

    def describe(self) -> str:
        return f"under {self.years} at conviction (conviction date < DOB + {self.years} years)"


# How an age is read: completed calendar years (birthdays), or (compute-at - DOB) in days
# divided by 365.25.
AgeAs = Literal["completed_years", "fractional_years"]
DAYS_PER_FRACTIONAL_YEAR = 365.25


class AgeAtLeast(Predicate):
    kind: ClassVar[str] = "age_at_least"
    primary: ClassVar[str | None] = "years"
    omit_when_default: ClassVar[tuple[str, ...]] = ("age_as",)
    years: Years
    age_as: AgeAs = "completed_years"

    def describe(self) -> str:
        if self.age_as == "fractional_years":
            return (
                f"age >= {self.years} at compute-at ((compute-at - DOB) in days / 365.25 "
                f">= {self.years})"
            )
        return f"age >= {self.years} at compute-at (DOB + {self.years} years <= compute-at)"


class AgeAtMost(Predicate):
    kind: ClassVar[str] = "age_at_most"
    primary: ClassVar[str | None] = "years"
    omit_when_default: ClassVar[tuple[str, ...]] = ("age_as",)
    years: Years
    age_as: AgeAs = "completed_years"

    def describe(self) -> str:
        if self.age_as == "fractional_years":
            return (
                f"age <= {self.years} at compute-at ((compute-at - DOB) in days / 365.25 "
                f"<= {self.years})"
            )
        return f"age <= {self.years} at compute-at (compute-at < DOB + {self.years + 1} years)"


class ConvictedYearsAgo(Predicate):
    kind: ClassVar[str] = "convicted_years_ago"
    primary: ClassVar[str | None] = "years"
    years: Years

    def describe(self) -> str:
        return (
            f"conviction {self.years} or more years before compute-at "
            f"(conviction date <= compute-at - {self.years} years)"
        )


CrimeFreeForm = Literal["most_recent_before", "none_after"]


class NoConvictionInPastYears(Predicate):
    kind: ClassVar[str] = "no_conviction_in_past_years"
    primary: ClassVar[str | None] = "years"
    years: Years
    form: CrimeFreeForm = "most_recent_before"

    def describe(self) -> str:
        if self.form == "none_after":
            detail = f"no conviction dated after compute-at - {self.years} years"
        else:
            detail = f"most recent conviction < compute-at - {self.years} years"
        return f"no conviction in the past {self.years} years ({detail})"


class OnlyProp64(Predicate):
    kind: ClassVar[str] = "only_prop64"

    def describe(self) -> str:
        return "only Prop 64 convictions on record"


class SentencesCompleted(Predicate):
    kind: ClassVar[str] = "sentences_completed"

    def describe(self) -> str:
        return "all sentences completed by compute-at"


class ServingSentence(Predicate):
    kind: ClassVar[str] = "serving_sentence"

    def describe(self) -> str:
        return "a sentence not yet completed at compute-at"


class Deceased(Predicate):
    kind: ClassVar[str] = "deceased"
    units: ClassVar[frozenset[str]] = _BOTH

    def describe(self) -> str:
        return "deceased"


class SuperstrikeBeforeConviction(Predicate):
    kind: ClassVar[str] = "superstrike_before_conviction"

    def describe(self) -> str:
        return "a superstrike conviction dated before this conviction"


class PC290BeforeConviction(Predicate):
    kind: ClassVar[str] = "pc290_before_conviction"

    def describe(self) -> str:
        return "a PC 290 offence conviction or 290 registration dated before this conviction"


class PriorSameSectionAtLeast(Predicate):
    kind: ClassVar[str] = "prior_same_section_at_least"
    primary: ClassVar[str | None] = "count"
    count: Count

    def describe(self) -> str:
        return f"at least {self.count} earlier Prop 64 convictions of the same section"


# --- the law-pack vocabulary (LAWS.md §3, docs/laws.md) ------------------------------------
#
# Predicates of the statewide law packs (conf/laws/, transforms/laws.py): PC 1203.425
# (one conviction is the row) and PC 851.93 (one arrest cycle is the row). Each names the
# statute clause it encodes (``clause``) and, where the extract or a missing input can
# leave it open, the Hand Review reason that says what is missing (``unknown_reason``).
# docs/laws.md lists the per-subject / per-cycle facts each one reads. A county (Prop 64)
# policy cannot use them yet: the Spark compiler (transforms/eligibility.py) does not
# evaluate them (phase 2 of issue 23), and :class:`Policy` says so by name.


class ComputeAtOnOrAfter(Predicate):
    """The run's compute-at date is on or after ``date`` (a law's operative date)."""

    kind: ClassVar[str] = "compute_at_on_or_after"
    primary: ClassVar[str | None] = "date"
    units: ClassVar[frozenset[str]] = _BOTH
    clause: ClassVar[str] = "operative dates (PC 1203.425(a)(1)(B)(v)(III), 851.93(a)(2)(C))"
    date: PolicyDate

    def describe(self) -> str:
        return f"the run's compute-at date is on or after {self.date.isoformat()}"


class PC290Registrant(Predicate):
    """Required to register under PC 290 at any time on the record (not only before this
    conviction): a REGISTRATION step whose offence starts with 290, or a conviction of a
    PC 290 offence (DOMAIN.md §2 list)."""

    kind: ClassVar[str] = "pc290_registrant"
    units: ClassVar[frozenset[str]] = _BOTH
    clause: ClassVar[str] = "PC 1203.425(a)(1)(B)(i)"

    def describe(self) -> str:
        return "required to register under PC 290 (a 290 registration or 290 offence, any date)"


class SupervisedReleaseActive(Predicate):
    """An active local, state or federal supervision record in DOJ's Supervised Release
    File. Not in the extract: decided only when a run is given that file
    (``--supervised-release``); without it the value is UNKNOWN."""

    kind: ClassVar[str] = "supervised_release_active"
    units: ClassVar[frozenset[str]] = _BOTH
    clause: ClassVar[str] = "PC 1203.425(a)(1)(B)(ii)"
    unknown_reason: ClassVar[str | None] = "Supervised Release File not checked"

    def describe(self) -> str:
        return "an active record in the Supervised Release File (a separate DOJ input)"


class SentenceNotCompleted(Predicate):
    """Some sentence of the subject (any offence) ends after compute-at. A sentence whose
    end cannot be computed leaves it UNKNOWN, unless ``presume_completed_after_years`` N is
    set and that conviction is at least N years before compute-at (SB 834's proposed rule,
    not enacted law: off by default)."""

    kind: ClassVar[str] = "sentence_not_completed"
    units: ClassVar[frozenset[str]] = _BOTH
    primary: ClassVar[str | None] = "presume_completed_after_years"
    omit_when_default: ClassVar[tuple[str, ...]] = ("presume_completed_after_years",)
    clause: ClassVar[str] = "PC 1203.425(a)(1)(B)(iii), first part"
    unknown_reason: ClassVar[str | None] = "Sentence end unknown"
    presume_completed_after_years: Years | None = None

    def describe(self) -> str:
        text = "a sentence (any offence) not completed at compute-at"
        if self.presume_completed_after_years:
            text += (
                f"; a sentence of unknown end counts as completed once its conviction is "
                f"{self.presume_completed_after_years} or more years old"
            )
        return text


class PendingCharge(Predicate):
    """An arrest cycle of the subject with no court disposition yet (an open cycle: an
    arrest step with no disposition and no COURT ACTION), other than the row's own cycle.
    With ``inactive_years`` N, a cycle with no activity in the last N years is not pending
    (SB 834's proposed rule: off by default)."""

    kind: ClassVar[str] = "pending_charge"
    units: ClassVar[frozenset[str]] = _BOTH
    primary: ClassVar[str | None] = "inactive_years"
    omit_when_default: ClassVar[tuple[str, ...]] = ("inactive_years",)
    clause: ClassVar[str] = "PC 1203.425(a)(1)(B)(iii), second part"
    inactive_years: Years | None = None

    def describe(self) -> str:
        text = "an arrest cycle with no disposition (a pending charge)"
        if self.inactive_years:
            text += f", active within the last {self.inactive_years} years"
        return text


class StatePrisonSentence(Predicate):
    """This conviction's sentence includes state prison (DISP_DESCR CONVICTED-PRISON or a
    sentence part whose SENT_LOC_DESCR is PRISON)."""

    kind: ClassVar[str] = "state_prison_sentence"
    clause: ClassVar[str] = "PC 1203.425(a)(1)(B)(iv)"

    def describe(self) -> str:
        return "the conviction was sentenced to state prison"


class ProbationGranted(Predicate):
    """This conviction was sentenced to probation (CONVICTED-PROBATION or a PROBATION part)."""

    kind: ClassVar[str] = "probation_granted"
    clause: ClassVar[str] = "PC 1203.425(a)(1)(B)(v)(I), (II)"

    def describe(self) -> str:
        return "the conviction was sentenced to probation"


class ProbationCompleted(Predicate):
    """Probation was granted and its term, counted from the disposition date, ended on or
    before compute-at ("based upon the disposition date and the term of probation")."""

    kind: ClassVar[str] = "probation_completed"
    clause: ClassVar[str] = "PC 1203.425(a)(1)(B)(v)(I)"

    def describe(self) -> str:
        return "probation granted and its term (from the disposition date) ended by compute-at"


class ProbationRevoked(Predicate):
    """A later step of the conviction's cycle records a probation revocation (DISP_DESCR or
    COMMENT_TEXT matching the pack's ``probation_revocation_descriptions``). No such step:
    false ("appears to have completed ... without revocation" reads the department's
    records)."""

    kind: ClassVar[str] = "probation_revoked"
    clause: ClassVar[str] = "PC 1203.425(a)(1)(B)(v)(I), (III)"

    def describe(self) -> str:
        return "the record shows the conviction's probation revoked"


class SentenceCompletedYearsAgo(Predicate):
    """This conviction's sentence (all its parts) ended at least N years before compute-at:
    sentence end <= compute-at - N years. A clock from the sentence's end, not from the
    conviction."""

    kind: ClassVar[str] = "sentence_completed_years_ago"
    primary: ClassVar[str | None] = "years"
    clause: ClassVar[str] = "PC 1203.425(a)(1)(B)(v)(III)"
    unknown_reason: ClassVar[str | None] = "Sentence end unknown"
    years: Years

    def describe(self) -> str:
        return (
            f"the conviction's sentence ended {self.years} or more years before compute-at "
            f"(sentence end <= compute-at - {self.years} years)"
        )


class NoFelonyWithinYearsAfterSentence(Predicate):
    """No felony conviction of the subject dated after this conviction and on or before
    this conviction's sentence end + N years ("a period of 4 years has elapsed during
    which the defendant was not convicted of a new felony offense")."""

    kind: ClassVar[str] = "no_felony_within_years_after_sentence"
    primary: ClassVar[str | None] = "years"
    clause: ClassVar[str] = "PC 1203.425(a)(1)(B)(v)(III)"
    unknown_reason: ClassVar[str | None] = "Sentence end unknown"
    years: Years

    def describe(self) -> str:
        return (
            f"no new felony conviction from this conviction to {self.years} years after its "
            "sentence ended"
        )


VocabularyName = Literal["serious_felony", "violent_felony", "pc290_offense", "pc1203_4b"]


class CodeSectionInList(Predicate):
    """This conviction's code section, or an enhancement count of the same case (cycle +
    step, DOMAIN.md §2's pairing), is in one of the named conf vocabularies
    (conf/laws/vocabularies/). An entry marked fact-dependent ("personally used a
    firearm", "by force") leaves the value UNKNOWN: the record of conviction decides."""

    kind: ClassVar[str] = "code_section_in_list"
    primary: ClassVar[str | None] = "lists"
    clause: ClassVar[str] = "PC 1192.7(c), 667.5(c), 290(c), 1203.4(b)"
    unknown_reason: ClassVar[str | None] = "Depends on facts of the case (record of conviction)"
    lists: tuple[VocabularyName, ...] = Field(min_length=1)

    @field_validator("lists", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def describe(self) -> str:
        return "code section in " + " or ".join(self.lists) + " (conf/laws/vocabularies)"


ArrestClass = Literal["F", "M", "I"]


class OffenseClassAtArrest(Predicate):
    """The arrest's offence class: the most serious OFFENSE_TOC among the arrest step's
    counts (F over M over I). Blank on every count: UNKNOWN."""

    kind: ClassVar[str] = "offense_class_at_arrest"
    primary: ClassVar[str | None] = "offense_class"
    units: ClassVar[frozenset[str]] = _CYCLE
    clause: ClassVar[str] = "PC 851.93(a)(2)(A)-(C)"
    unknown_reason: ClassVar[str | None] = "Offense level at arrest not recorded"
    offense_class: ArrestClass

    def describe(self) -> str:
        names = {"F": "a felony", "M": "a misdemeanor", "I": "an infraction"}
        return f"the arrest was for {names[self.offense_class]} (most serious count)"


class CycleDismissed(Predicate):
    """The cycle has a COURT ACTION and every count's court disposition is a dismissal
    (DISP_DESCR starting with one of the pack's ``dismissal_descriptions``)."""

    kind: ClassVar[str] = "cycle_dismissed"
    units: ClassVar[frozenset[str]] = _CYCLE
    clause: ClassVar[str] = "PC 851.93(a)(2)(A)"

    def describe(self) -> str:
        return "every charge of the cycle was dismissed in court"


class CycleAcquitted(Predicate):
    """A court disposition of the cycle is an acquittal (``acquittal_descriptions``) and no
    count was convicted."""

    kind: ClassVar[str] = "cycle_acquitted"
    units: ClassVar[frozenset[str]] = _CYCLE
    clause: ClassVar[str] = "PC 851.93(a)(2)(B), (C)"

    def describe(self) -> str:
        return "the arrestee was acquitted of the charges of the cycle"


class CycleNoCourtAction(Predicate):
    """The cycle has no COURT ACTION step: "no indication that criminal proceedings have
    been initiated" as far as the department's records show."""

    kind: ClassVar[str] = "cycle_no_court_action"
    units: ClassVar[frozenset[str]] = _CYCLE
    clause: ClassVar[str] = "PC 851.93(a)(2)(B), (C)"

    def describe(self) -> str:
        return "no court action recorded for the arrest (no proceedings initiated)"


class DiversionCompleted(Predicate):
    """A disposition of the cycle records a completed diversion or deferred entry of
    judgment (``diversion_completed_descriptions``; the DOJ wording is UNCONFIRMED)."""

    kind: ClassVar[str] = "diversion_completed"
    units: ClassVar[frozenset[str]] = _CYCLE
    clause: ClassVar[str] = "PC 851.93(a)(2)(D)"

    def describe(self) -> str:
        return "a diversion or deferred entry of judgment for the arrest was completed"


class ArrestedOnOrAfter(Predicate):
    """The arrest date (STP_EVENT_DATE of the ARREST step) is on or after ``date``."""

    kind: ClassVar[str] = "arrested_on_or_after"
    primary: ClassVar[str | None] = "date"
    units: ClassVar[frozenset[str]] = _CYCLE
    clause: ClassVar[str] = "PC 851.93(a)(2)"
    date: PolicyDate

    def describe(self) -> str:
        return f"arrested on or after {self.date.isoformat()}"


class ArrestedYearsAgo(Predicate):
    """The arrest date is at least N years before compute-at (arrest <= compute-at - N
    years; "calendar years" and "years" read alike, calendar arithmetic)."""

    kind: ClassVar[str] = "arrested_years_ago"
    primary: ClassVar[str | None] = "years"
    units: ClassVar[frozenset[str]] = _CYCLE
    clause: ClassVar[str] = "PC 851.93(a)(2)(B), (C)"
    years: Years

    def describe(self) -> str:
        return f"arrested {self.years} or more years before compute-at"


class MaxTermKnown(Predicate):
    """Every felony count of the arrest has a maximum term in the section → maximum-term
    table (conf/laws/vocabularies/max-terms.yaml) that is not marked fact-dependent."""

    kind: ClassVar[str] = "max_term_known"
    units: ClassVar[frozenset[str]] = _CYCLE
    clause: ClassVar[str] = "PC 851.93(a)(2)(C)(ii)"

    def describe(self) -> str:
        return "the maximum term of every felony count is in the maximum-term table"


class MaxTermAtLeast(Predicate):
    """A felony count of the arrest is punishable by N years or more (state prison or
    PC 1170(h)), by the maximum-term table. A count not in the table: UNKNOWN."""

    kind: ClassVar[str] = "max_term_at_least"
    primary: ClassVar[str | None] = "years"
    units: ClassVar[frozenset[str]] = _CYCLE
    clause: ClassVar[str] = "PC 851.93(a)(2)(C)(ii)"
    unknown_reason: ClassVar[str | None] = "Maximum term not in table"
    years: Years

    def describe(self) -> str:
        return f"an arrest count punishable by {self.years} years or more (maximum-term table)"


LAW_PREDICATES: tuple[type[Predicate], ...] = (
    ComputeAtOnOrAfter,
    PC290Registrant,
    SupervisedReleaseActive,
    SentenceNotCompleted,
    PendingCharge,
    StatePrisonSentence,
    ProbationGranted,
    ProbationCompleted,
    ProbationRevoked,
    SentenceCompletedYearsAgo,
    NoFelonyWithinYearsAfterSentence,
    CodeSectionInList,
    OffenseClassAtArrest,
    CycleDismissed,
    CycleAcquitted,
    CycleNoCourtAction,
    DiversionCompleted,
    ArrestedOnOrAfter,
    ArrestedYearsAgo,
    MaxTermKnown,
    MaxTermAtLeast,
)


PREDICATES: dict[str, type[Predicate]] = {
    cls.kind: cls
    for cls in (
        Always,
        NotFelony,
        Felony,
        SectionIn,
        CodeSectionIn,
        NoSubsection,
        ConvictedOnOrAfter,
        UnderAgeAtConviction,
        AgeAtLeast,
        AgeAtMost,
        ConvictedYearsAgo,
        NoConvictionInPastYears,
        OnlyProp64,
        SentencesCompleted,
        ServingSentence,
        Deceased,
        SuperstrikeBeforeConviction,
        PC290BeforeConviction,
        PriorSameSectionAtLeast,
    )
}
# The county (Prop 64) vocabulary: what transforms/eligibility.py compiles to Spark.
PROP64_PREDICATES: frozenset[str] = frozenset(PREDICATES)
PREDICATES.update({cls.kind: cls for cls in LAW_PREDICATES})


# --- combinators -------------------------------------------------------------------------


class AllOf(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: ClassVar[str] = "all"
    conditions: tuple[Condition, ...] = Field(min_length=1)

    def describe(self) -> str:
        return "all of (" + "; ".join(c.describe() for c in self.conditions) + ")"

    def to_data(self) -> dict[str, Any]:
        return {self.kind: [c.to_data() for c in self.conditions]}


class AnyOf(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: ClassVar[str] = "any"
    conditions: tuple[Condition, ...] = Field(min_length=1)

    def describe(self) -> str:
        return "any of (" + "; ".join(c.describe() for c in self.conditions) + ")"

    def to_data(self) -> dict[str, Any]:
        return {self.kind: [c.to_data() for c in self.conditions]}


class Not(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: ClassVar[str] = "not"
    condition: Condition

    def describe(self) -> str:
        return f"not ({self.condition.describe()})"

    def to_data(self) -> dict[str, Any]:
        return {self.kind: self.condition.to_data()}


Condition = (
    Always
    | NotFelony
    | Felony
    | SectionIn
    | CodeSectionIn
    | NoSubsection
    | ConvictedOnOrAfter
    | UnderAgeAtConviction
    | AgeAtLeast
    | AgeAtMost
    | ConvictedYearsAgo
    | NoConvictionInPastYears
    | OnlyProp64
    | SentencesCompleted
    | ServingSentence
    | Deceased
    | SuperstrikeBeforeConviction
    | PC290BeforeConviction
    | PriorSameSectionAtLeast
    | ComputeAtOnOrAfter
    | PC290Registrant
    | SupervisedReleaseActive
    | SentenceNotCompleted
    | PendingCharge
    | StatePrisonSentence
    | ProbationGranted
    | ProbationCompleted
    | ProbationRevoked
    | SentenceCompletedYearsAgo
    | NoFelonyWithinYearsAfterSentence
    | CodeSectionInList
    | OffenseClassAtArrest
    | CycleDismissed
    | CycleAcquitted
    | CycleNoCourtAction
    | DiversionCompleted
    | ArrestedOnOrAfter
    | ArrestedYearsAgo
    | MaxTermKnown
    | MaxTermAtLeast
    | AllOf
    | AnyOf
    | Not
)
AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()

COMBINATORS = ("all", "any", "not")


def leaves(condition: Condition) -> Iterator[Predicate]:
    """The predicates of a condition, depth first, left to right (with repeats)."""
    if isinstance(condition, AllOf | AnyOf):
        for child in condition.conditions:
            yield from leaves(child)
    elif isinstance(condition, Not):
        yield from leaves(condition.condition)
    else:
        yield condition


# Predicates about the code section: UNKNOWN only when the text did not give what they read.
CODE_SECTION_PREDICATES: tuple[type[Predicate], ...] = (SectionIn, CodeSectionIn, NoSubsection)


def open_reason(condition: Condition, values: Mapping[str, bool | None]) -> str:
    """Reason of a rule whose condition is UNKNOWN, given its predicates' values by key.

    ``Incomplete code section`` when a code-section predicate is UNKNOWN (the text did not
    give the subsection or code it reads); else the ``unknown_reason`` of the first open
    law-pack predicate that has one (``Supervised Release File not checked``, ``Maximum
    term not in table`` ...); else ``Incomplete date``.
    """
    for leaf in leaves(condition):
        key = leaf.key()
        if isinstance(leaf, CODE_SECTION_PREDICATES) and key in values and values[key] is None:
            return INCOMPLETE_CODE_SECTION_REASON
    for leaf in leaves(condition):
        key = leaf.key()
        if leaf.unknown_reason is not None and key in values and values[key] is None:
            return leaf.unknown_reason
    return INCOMPLETE_DATE_REASON


class ConditionError(ValueError):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_condition(raw: Any, where: str = "when") -> Condition:
    """Build a condition from its YAML/JSON form; errors name the path (``when.all[1]...``)."""
    if isinstance(raw, Predicate | AllOf | AnyOf | Not):
        return cast(Condition, raw)
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise ConditionError(
            where,
            "a condition is a mapping with exactly one predicate, e.g. {not_felony: true} or "
            f"{{all: [...]}}; got {_short(raw)}",
        )
    ((name, value),) = raw.items()
    name = str(name)
    here = f"{where}.{name}"
    if name in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise ConditionError(
                here, f"expected a non-empty list of conditions, got {_short(value)}"
            )
        children = tuple(parse_condition(v, f"{here}[{i}]") for i, v in enumerate(value))
        return AllOf(conditions=children) if name == "all" else AnyOf(conditions=children)
    if name == "not":
        return Not(condition=parse_condition(value, here))
    cls = PREDICATES.get(name)
    if cls is None:
        close = difflib.get_close_matches(name, [*PREDICATES, *COMBINATORS], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join([*PREDICATES, *COMBINATORS])
        raise ConditionError(where, f"unknown predicate {name!r}{hint}; known: {known}")
    if cls.primary is None:
        if value is not True:
            raise ConditionError(
                here, f"{name} takes no parameters: write {{{name}: true}}, got {_short(value)}"
            )
        return cast(Condition, cls())
    if value is True and not any(f.is_required() for f in cls.model_fields.values()):
        return cast(Condition, cls())  # every parameter optional: {name: true}
    params = value if isinstance(value, Mapping) else {cls.primary: value}
    try:
        return cast(Condition, cls.model_validate(dict(params)))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        shown = "input" in first and first["type"] not in ("value_error", "missing")
        got = f", got {_short(first['input'])}" if shown else ""
        msg = first["msg"].removeprefix("Value error, ")
        raise ConditionError(f"{here}.{field}" if field else here, f"{msg}{got}") from None


# --- rules and policies ------------------------------------------------------------------


def _reason_fields(reason: str) -> list[tuple[str, str | None]]:
    """(literal text, placeholder name or None) pairs; only plain ``{name}`` placeholders."""
    parts: list[tuple[str, str | None]] = []
    for literal, field, spec, conversion in string.Formatter().parse(reason):
        if field is not None:
            if not field.isidentifier():
                raise ValueError(f"placeholder {{{field}}} must be a name like {{years}}")
            if spec or conversion:
                raise ValueError(f"placeholder {{{field}}}: format specs are not supported")
        parts.append((literal, field))
    return parts


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)
    when: Condition
    then: Determination
    reason: str = Field(min_length=1)

    @field_validator("when", mode="before")
    @classmethod
    def _parse_when(cls, value: Any) -> Any:
        try:
            return parse_condition(value)
        except ConditionError as exc:
            raise PydanticCustomError(
                "condition", "{where}: {message}", {"where": exc.where, "message": exc.message}
            ) from None

    @field_validator("then", mode="before")
    @classmethod
    def _determination(cls, value: Any) -> Any:
        if isinstance(value, Determination):
            return value
        if isinstance(value, str):
            text = value.strip()
            for det in Determination:
                if text.lower() == det.value.lower():
                    return det
            alias = DETERMINATION_ALIASES.get(text.lower().replace("-", "_").replace(" ", "_"))
            if alias is not None:
                return alias
        options = ", ".join(d.value for d in Determination)
        aliases = ", ".join(DETERMINATION_ALIASES)
        raise PydanticCustomError(
            "determination",
            "{value} is not a determination; use one of: {options} (or a short form: {aliases})",
            {"value": _short(value), "options": options, "aliases": aliases},
        )

    @model_validator(mode="after")
    def _reason_placeholders(self) -> Rule:
        try:
            parts = _reason_fields(self.reason)
        except ValueError as exc:
            raise ValueError(f"reason: {exc}") from None
        params = self.reason_params()
        for _, field in parts:
            if field is None or field == SECTION_PLACEHOLDER:
                continue
            if field not in params:
                available = ", ".join("{" + p + "}" for p in [SECTION_PLACEHOLDER, *params])
                raise ValueError(
                    f"reason: unknown placeholder {{{field}}}; available here: {available}"
                )
            if params[field] is None:
                raise ValueError(
                    f"reason: placeholder {{{field}}} is ambiguous: the condition has several "
                    f"{field} values"
                )
        return self

    def reason_params(self) -> dict[str, str | None]:
        """Parameter name -> formatted value, None when the condition has conflicting values."""
        params: dict[str, str | None] = {}
        for leaf in leaves(self.when):
            for name, value in leaf.params().items():
                text = _format_value(value)
                if name in params and params[name] != text:
                    params[name] = None
                else:
                    params.setdefault(name, text)
        return params

    def reason_parts(self) -> list[str | None]:
        """The reason as a list of literal strings, with None where ``{section}`` goes."""
        params = self.reason_params()
        out: list[str | None] = []
        buffer = ""
        for literal, field in _reason_fields(self.reason):
            buffer += literal
            if field is None:
                continue
            if field == SECTION_PLACEHOLDER:
                out.append(buffer)
                out.append(None)
                buffer = ""
            else:
                buffer += params[field] or ""
        out.append(buffer)
        return [p for p in out if p != ""]

    def render_reason(self, section: str | None) -> str:
        return "".join(section or "" if p is None else p for p in self.reason_parts())

    def to_data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "when": self.when.to_data(),
            "then": self.then.value,
            "reason": self.reason,
        }


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    rules: tuple[Rule, ...] = Field(min_length=1)

    @field_validator("rules")
    @classmethod
    def _decision_list(cls, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        seen: dict[str, int] = {}
        for number, rule in enumerate(rules, start=1):
            if rule.id in seen:
                raise ValueError(
                    f"rule {rule.id!r} (rule {number}): id already used by rule "
                    f"{seen[rule.id]}; rule ids must be unique"
                )
            seen[rule.id] = number
        for number, rule in enumerate(rules[:-1], start=1):
            if isinstance(rule.when, Always):
                later = ", ".join(r.id for r in rules[number:])
                raise ValueError(
                    f"rule {rule.id!r} (rule {number}), field when: `always` fires for every "
                    f"candidate, so the rules after it ({later}) could never fire; "
                    "only the last rule may be `always`"
                )
        last = rules[-1]
        if not isinstance(last.when, Always):
            raise ValueError(
                f"rule {last.id!r} (rule {len(rules)}, the last), field when: the last rule must "
                "be the catch-all `when: {always: true}` so every candidate gets a "
                "determination; add e.g. {id: otherwise, when: {always: true}, then: Hand Review, "
                "reason: No applicable eligibility criteria}"
            )
        return rules

    @model_validator(mode="after")
    def _county_vocabulary(self) -> Policy:
        """A county (Prop 64) policy uses what transforms/eligibility.py compiles."""
        problems = []
        for number, rule in enumerate(self.rules, start=1):
            for leaf in leaves(rule.when):
                if leaf.kind not in PROP64_PREDICATES:
                    problems.append(
                        f"rule {rule.id!r} (rule {number}), field when: {leaf.kind} is a "
                        "law-pack predicate (conf/laws/, docs/laws.md); a county policy "
                        "cannot use it yet"
                    )
            if rule.then == Determination.ARREST_RELIEF:
                problems.append(
                    f"rule {rule.id!r} (rule {number}), field then: "
                    f"{Determination.ARREST_RELIEF.value} is the PC 851.93 law pack's "
                    "determination; a county policy decides Prop 64 convictions"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def canonical(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "rules": [rule.to_data() for rule in self.rules],
        }

    def canonical_json(self) -> str:
        return json.dumps(
            self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )

    def predicates(self) -> list[Predicate]:
        """Every distinct predicate the policy uses, in first-use order."""
        seen: dict[str, Predicate] = {}
        for rule in self.rules:
            for leaf in leaves(rule.when):
                seen.setdefault(leaf.key(), leaf)
        return list(seen.values())


def policy_hash(policy: Policy) -> str:
    """sha256 (hex) of the canonical JSON of the validated policy: what the ledger records."""
    return hashlib.sha256(policy.canonical_json().encode("utf-8")).hexdigest()


def validation_errors(data: Any, exc: ValidationError) -> list[str]:
    """One line per error, naming the rule (id and position) and the field."""
    rules = data.get("rules") if isinstance(data, Mapping) else None
    errors = exc.errors()
    rule_errors = any(len(e["loc"]) > 1 and e["loc"][0] == "rules" for e in errors)
    lines = []
    for err in errors:
        loc = list(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        quiet = ("value_error", "missing", "extra_forbidden", "condition", "determination")
        if err["type"] not in quiet and not isinstance(
            err.get("input"), Mapping | list | tuple | type(None)
        ):
            msg += f" (got {_short(err['input'])})"
        if loc == ["rules"] and err["type"] == "too_short" and rule_errors:
            continue  # pydantic's echo of the rules that failed above
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            index = loc[1]
            rule_id = None
            if isinstance(rules, list) and index < len(rules) and isinstance(rules[index], Mapping):
                rule_id = rules[index].get("id")
            name = f"rule {rule_id!r}" if rule_id is not None else "rule (no id)"
            rest = ".".join(str(p) for p in loc[2:])
            # A condition error starts with its own path (when.all[0].age_at_least...).
            field = "" if err["type"] == "condition" or not rest else f", field {rest}"
            lines.append(f"{name} (rule {index + 1}){field}: {msg}")
        elif loc == ["rules"] and err["type"] == "value_error":
            lines.append(msg)  # decision-list errors name their rules themselves
        elif loc:
            lines.append(f"field {'.'.join(str(p) for p in loc)}: {msg}")
        else:
            lines.append(msg)
    return lines


class PolicyValidationError(ValueError):
    """A policy or options document is invalid; ``errors`` holds one message per problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def parse_policy(data: Any) -> Policy:
    """Validate a policy document (the parsed YAML/JSON)."""
    if not isinstance(data, Mapping):
        raise PolicyValidationError(
            [f"a policy is a mapping with name and rules; got {type(data).__name__}"]
        )
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyValidationError(validation_errors(data, exc)) from None


# --- the BEAR/gogen eligibility options (DOMAIN.md §4 table) ------------------------------

# List entries: a whole Prop 64 section, or (BEAR's final release) an 11357 subsection or
# 11357 written without one. Compared without regard to case and spaces.
_WHOLE_SECTIONS = frozenset(PROP64_SECTIONS)
_SUBSECTION_ENTRY = re.compile(r"^(11357)\(([a-d])\)$")
_ENTRY_FORMS = f"{', '.join(PROP64_SECTIONS)}, 11357(a) ... 11357(d) or {NO_SUBSECTION_ENTRY}"


def _entry_form(entry: str) -> str:
    return re.sub(r"\s+", "", entry).lower()


def _entry_section(entry: str) -> str:
    """The section an entry covers part or all of ("11357" for "11357(a)")."""
    return _entry_form(entry)[:5]


def _check_entries(value: Any) -> Any:
    value = _section_list(value)
    if not isinstance(value, list):
        return value
    for entry in value:
        if not isinstance(entry, str):
            continue  # pydantic reports the type
        form = _entry_form(entry)
        if (
            form not in _WHOLE_SECTIONS
            and form != NO_SUBSECTION_ENTRY
            and not (_SUBSECTION_ENTRY.match(form))
        ):
            raise ValueError(f"{entry!r} is not a Prop 64 section; use {_ENTRY_FORMS}")
    forms = [_entry_form(e) for e in value if isinstance(e, str)]
    twice = sorted({f for f in forms if forms.count(f) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} is listed twice")
    return value


class BaselineEligibility(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    dismiss: tuple[Annotated[str, Strict()], ...] = ()
    reduce: tuple[Annotated[str, Strict()], ...] = ()

    @field_validator("dismiss", "reduce", mode="before")
    @classmethod
    def _sections(cls, value: Any) -> Any:
        return _check_entries(value)

    @model_validator(mode="after")
    def _disjoint(self) -> BaselineEligibility:
        both = sorted(
            {_entry_form(e) for e in self.dismiss} & {_entry_form(e) for e in self.reduce}
        )
        if both:
            raise ValueError(
                f"{', '.join(both)} is in both dismiss and reduce; dismiss would always win, "
                "so list it in one of them"
            )
        entries = [*self.dismiss, *self.reduce]
        whole = {_entry_form(e) for e in entries if _entry_form(e) in _WHOLE_SECTIONS}
        parts = sorted(
            {
                e
                for e in entries
                if _entry_form(e) not in _WHOLE_SECTIONS and _entry_section(e) in whole
            }
        )
        if parts:
            raise ValueError(
                f"{', '.join(parts)} is part of a section also listed whole; list either the "
                "whole section or its subsections"
            )
        return self

    def entries(self, which: Literal["dismiss", "reduce"]) -> tuple[str, ...]:
        """The list's entries as written, spaces removed (summary keys, DOMAIN.md §5)."""
        return tuple(re.sub(r"\s+", "", e) for e in getattr(self, which))


def _zero_or_between(value: int, low: int, high: int, field: str) -> int:
    if value != 0 and not low <= value <= high:
        raise ValueError(f"{field} must be 0 (rule off) or between {low} and {high}; got {value}")
    return value


class AdditionalRelief(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    subjectUnder21AtConviction: Annotated[bool, Strict()] = False
    subjectAgeThreshold: Annotated[int, Strict()] = 0
    yearsSinceConvictionThreshold: Annotated[int, Strict()] = 0
    yearsCrimeFreeThreshold: Annotated[int, Strict()] = 0
    subjectHasOnlyProp64Charges: Annotated[bool, Strict()] = False
    subjectIsDeceased: Annotated[bool, Strict()] = False
    # BEAR's final release: false turns the matching threshold rule off whatever its number
    # says; absent (the plain format) leaves the number alone.
    dismissOlderThanAgeThreshold: Annotated[bool, Strict()] | None = None
    dismissYearsSinceConvictionThreshold: Annotated[bool, Strict()] | None = None
    dismissYearsCrimeFreeThreshold: Annotated[bool, Strict()] | None = None

    @field_validator("subjectAgeThreshold")
    @classmethod
    def _age(cls, value: int) -> int:
        return _zero_or_between(value, 40, 65, "subjectAgeThreshold")

    @field_validator("yearsSinceConvictionThreshold", "yearsCrimeFreeThreshold")
    @classmethod
    def _years(cls, value: int, info: Any) -> int:
        return _zero_or_between(value, 1, 15, info.field_name)

    def age_threshold(self) -> int:
        return self.subjectAgeThreshold if self.dismissOlderThanAgeThreshold is not False else 0

    def years_since_threshold(self) -> int:
        on = self.dismissYearsSinceConvictionThreshold is not False
        return self.yearsSinceConvictionThreshold if on else 0

    def crime_free_threshold(self) -> int:
        on = self.dismissYearsCrimeFreeThreshold is not False
        return self.yearsCrimeFreeThreshold if on else 0


def _list_rules(entries: Sequence[str], then: Determination, prefix: str) -> list[Rule]:
    """The rules of one baseline list: whole sections in one rule, then one per other entry."""
    dismiss = then == Determination.DISMISSAL
    sections = tuple(_entry_form(e) for e in entries if _entry_form(e) in _WHOLE_SECTIONS)
    rules: list[Rule] = []
    if sections:
        rules.append(
            Rule(id=prefix, when=SectionIn(sections=sections), then=then,
                 reason=REASON_DISMISS_SECTION if dismiss else REASON_REDUCE_SECTION)
        )  # fmt: skip
    for entry in entries:
        form = _entry_form(entry)
        if form in _WHOLE_SECTIONS:
            continue
        if form == NO_SUBSECTION_ENTRY:
            when: Condition = AllOf(conditions=(SectionIn(sections=("11357",)), NoSubsection()))
            reason = REASON_DISMISS_NO_SUBSECTION if dismiss else REASON_REDUCE_NO_SUBSECTION
            rule_id = f"{prefix}-11357-no-sub-section"
        else:
            when = CodeSectionIn(code_sections=(form,))
            written = re.sub(r"\s+", "", entry)
            template = REASON_DISMISS_ENTRY if dismiss else REASON_REDUCE_ENTRY
            reason = template.format(entry=written)
            rule_id = f"{prefix}-{form.replace('(', '-').replace(')', '')}"
        rules.append(Rule(id=rule_id, when=when, then=then, reason=reason))
    return rules


class EligibilityOptions(BaseModel):
    """The BEAR/gogen eligibility-options JSON; 0/false turns a rule off."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    baselineEligibility: BaselineEligibility
    additionalRelief: AdditionalRelief = AdditionalRelief()

    def to_policy(self, name: str = "eligibility-options", description: str = "") -> Policy:
        """The DOMAIN.md §4 table, rows 1-10 in order; absent options leave their row out."""
        base, extra = self.baselineEligibility, self.additionalRelief
        rules: list[Rule] = [
            Rule(id="misdemeanor", when=NotFelony(), then=Determination.DISMISSAL,
                 reason=REASON_MISDEMEANOR),
        ]  # fmt: skip
        rules += _list_rules(base.dismiss, Determination.DISMISSAL, "baseline-dismiss")
        if extra.subjectUnder21AtConviction:
            rules.append(
                Rule(id="under-21-at-conviction", when=UnderAgeAtConviction(years=21),
                     then=Determination.DISMISSAL, reason=REASON_UNDER_21)
            )  # fmt: skip
        if extra.age_threshold():
            rules.append(
                Rule(id="age-threshold", when=AgeAtLeast(years=extra.age_threshold()),
                     then=Determination.DISMISSAL, reason=REASON_AGE)
            )  # fmt: skip
        if extra.years_since_threshold():
            rules.append(
                Rule(id="years-since-conviction",
                     when=ConvictedYearsAgo(years=extra.years_since_threshold()),
                     then=Determination.DISMISSAL, reason=REASON_YEARS_SINCE)
            )  # fmt: skip
        if extra.crime_free_threshold():
            rules.append(
                Rule(id="crime-free",
                     when=NoConvictionInPastYears(years=extra.crime_free_threshold(),
                                                  form="most_recent_before"),
                     then=Determination.DISMISSAL, reason=REASON_CRIME_FREE)
            )  # fmt: skip
        if extra.subjectHasOnlyProp64Charges:
            rules.append(
                Rule(id="only-prop64", when=OnlyProp64(), then=Determination.DISMISSAL,
                     reason=REASON_ONLY_PROP64)
            )  # fmt: skip
        if extra.subjectIsDeceased:
            rules.append(
                Rule(id="deceased", when=Deceased(), then=Determination.DISMISSAL,
                     reason=REASON_DECEASED)
            )  # fmt: skip
        rules += _list_rules(base.reduce, Determination.REDUCTION, "baseline-reduce")
        rules.append(
            Rule(id="otherwise", when=Always(), then=Determination.HAND_REVIEW,
                 reason=REASON_OTHERWISE)
        )  # fmt: skip
        return Policy(name=name, description=description, rules=tuple(rules))


def _known_keys(loc: Sequence[Any]) -> list[str] | None:
    """The keys the options format allows where ``loc`` (an unknown key's path) points."""
    model: type[BaseModel] = EligibilityOptions
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return list(model.model_fields)


def parse_eligibility_options(
    data: Any, name: str = "eligibility-options", description: str = ""
) -> Policy:
    """Validate an options document and compile it to a :class:`Policy`.

    Both formats are read: the plain one (whole sections) and BEAR's final release
    (11357 subsections, ``11357(no-sub-section)``, the ``dismiss...`` toggles). A key of
    neither is an error naming it and the keys allowed there.
    """
    if not isinstance(data, Mapping):
        raise PolicyValidationError(
            [f"eligibility options are a JSON object; got {type(data).__name__}"]
        )
    try:
        options = EligibilityOptions.model_validate(data)
    except ValidationError as exc:
        unknown = [err for err in exc.errors() if err["type"] == "extra_forbidden"]
        errors = [
            line
            for line in validation_errors(data, exc)
            if not line.endswith("Extra inputs are not permitted")
        ]
        for err in unknown:
            loc = list(err["loc"])
            known = _known_keys(loc)
            where = ".".join(str(p) for p in loc[:-1]) or "the top level"
            line = f"unknown key {str(loc[-1])!r} in {where}"
            if known:
                line += f"; known keys there: {', '.join(known)}"
            errors.append(line)
        raise PolicyValidationError(errors) from None
    return options.to_policy(name=name, description=description)


# --- summary keys (DOMAIN.md §5) -------------------------------------------------------------


@dataclass(frozen=True)
class SectionListEntry:
    """One entry of a policy's dismiss or reduce list: its summary key and exact reason."""

    determination: Determination  # Eligible for Dismissal / Eligible for Reduction
    key: str  # "11357", "11357(a)", "11357(no-sub-section)"
    reason: str  # "Dismiss all HS 11357(a) convictions"


_ENTRY_REASON = re.compile(r"^(?:Dismiss|Reduce) all HS (\S+) convictions$")


def section_list_entries(policy: Policy) -> list[SectionListEntry]:
    """The dismiss and reduce list entries of a policy, as the reference's summary keys them.

    A rule with reason ``Dismiss all HS {section} convictions`` (or Reduce) gives one entry
    per section of its ``section_in``; a rule whose reason names an entry literally (BEAR's
    subsection entries) gives that entry; the no-sub-section wording gives
    ``11357(no-sub-section)``. Rules with any other reason give none.
    """
    found: list[SectionListEntry] = []
    templates = {
        Determination.DISMISSAL: (REASON_DISMISS_SECTION, REASON_DISMISS_NO_SUBSECTION),
        Determination.REDUCTION: (REASON_REDUCE_SECTION, REASON_REDUCE_NO_SUBSECTION),
    }
    for rule in policy.rules:
        if rule.then not in templates:
            continue
        template, no_subsection = templates[rule.then]
        if rule.reason == template:
            for leaf in leaves(rule.when):
                if isinstance(leaf, SectionIn):
                    for section in leaf.sections:
                        found.append(
                            SectionListEntry(rule.then, section, rule.render_reason(section))
                        )
        elif rule.reason == no_subsection:
            found.append(SectionListEntry(rule.then, NO_SUBSECTION_ENTRY, rule.reason))
        elif (match := _ENTRY_REASON.match(rule.reason)) and "{" not in rule.reason:
            verb = "Dismiss" if rule.then == Determination.DISMISSAL else "Reduce"
            if rule.reason.startswith(verb):
                found.append(SectionListEntry(rule.then, match.group(1), rule.reason))
    return found
