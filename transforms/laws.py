"""Law packs: a law as data (conf/laws/), its candidate selector and its decision list.

Issue 23, docs/laws.md. A law pack names a statute, says which rows are its candidates
(the *selector*) and, for statewide law, holds ONE decision list with a statute citation
on every rule; a county cannot edit it. Prop 64 is a pack too, but its decisions are the
county policies of conf/policies/ (``county_policies: true``, no rules here).

This module is the validated model only (pydantic, no I/O, no Spark): jobs/config/laws.py
reads the files; the evaluation over the per-subject facts is phase 2 of issue 23
(tests/law_evaluator.py is the independent reference it will be compared with).

Pack file shape (YAML)::

    law: pc1203.425                    # the pack's name: prop64, pc1203.425, pc851.93
    title: Automatic conviction record relief
    citation: Cal. Penal Code § 1203.425
    candidates: every_conviction       # see SELECTORS
    enabled: false                     # in a run's default set of laws
    parameters:                        # the open legal points and extract wordings
      path3_start_date:
        type: date                     # date | bool | int | text | text_list
        value: 2005-01-01              # the value in force (null: rule off, for int)
        choices: [2005-01-01, 1973-01-01]   # optional: the readings allowed
        status: unconfirmed            # confirmed | unconfirmed | proposed_law | extract_wording
        source: ...                    # where the value comes from (docs/laws.md)
        description: ...
    rules:
      - id: before-1973
        citation: PC 1203.425(a)(1)(B)(v)
        only_if: {some_parameter: value}   # optional: the rule exists only for that value
        when: {not: {convicted_on_or_after: 1973-01-01}}   # "$name" reads a parameter
        then: Not eligible
        reason: Before 1/1/1973

Conditions are transforms/policy.py's, with the law-pack predicates; every predicate must
be defined on the selector's row unit (a conviction or an arrest cycle). The pack is
validated with its parameters' values and with every choice of each parameter, so no
reading a run may pick leaves an invalid decision list.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from relief.transforms.policy import (
    ARREST_CYCLE,
    CONVICTION,
    CodeSectionInList,
    Determination,
    Policy,
    PolicyValidationError,
    Rule,
    leaves,
    parse_code_section,
    validation_errors,
)


class Selector(StrEnum):
    """Which rows of the extract are a law's candidates."""

    PROP64_CONVICTION_IN_COUNTY = "prop64_conviction_in_county"  # DOMAIN.md §4
    EVERY_CONVICTION = "every_conviction"  # PC 1203.425: every counted conviction
    ARREST_CYCLE_WITHOUT_CONVICTION = "arrest_cycle_without_conviction"  # PC 851.93


SELECTOR_UNIT: dict[Selector, str] = {
    Selector.PROP64_CONVICTION_IN_COUNTY: CONVICTION,
    Selector.EVERY_CONVICTION: CONVICTION,
    Selector.ARREST_CYCLE_WITHOUT_CONVICTION: ARREST_CYCLE,
}

SELECTOR_TEXT: dict[Selector, str] = {
    Selector.PROP64_CONVICTION_IN_COUNTY: "Prop 64 convictions in the county (DOMAIN.md §4)",
    Selector.EVERY_CONVICTION: "every counted conviction of every subject (one row each)",
    Selector.ARREST_CYCLE_WITHOUT_CONVICTION: (
        "every arrest cycle (a cycle with an ARREST/DETAINED/CITED step) without a conviction"
    ),
}

# What a statewide decision list may conclude, by row unit.
UNIT_DETERMINATIONS: dict[str, frozenset[Determination]] = {
    CONVICTION: frozenset(
        {Determination.DISMISSAL, Determination.NOT_ELIGIBLE, Determination.HAND_REVIEW}
    ),
    ARREST_CYCLE: frozenset(
        {Determination.ARREST_RELIEF, Determination.NOT_ELIGIBLE, Determination.HAND_REVIEW}
    ),
}

LAW_NAME = r"^[a-z][a-z0-9]*(\.[0-9]+)*$"
PARAMETER_REF = re.compile(r"^\$([a-z][A-Za-z0-9_]*)$")

ParameterType = Literal["date", "bool", "int", "text", "text_list"]
ParameterStatus = Literal["confirmed", "unconfirmed", "proposed_law", "extract_wording"]


def _coerce(kind: ParameterType, value: Any, where: str) -> Any:
    """A parameter value of its declared type (a CLI override arrives as text)."""
    if kind == "date":
        if isinstance(value, dt.datetime):
            raise ValueError(f"{where}: expected a date like 2005-01-01, not a date and time")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ValueError(f"{where}: expected a date like 2005-01-01, got {value!r}")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    if kind == "int":
        if value is None or (isinstance(value, str) and value.strip().lower() in ("null", "")):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.strip().isdigit():
            number = int(value.strip())
        else:
            raise ValueError(f"{where}: expected a whole number or null, got {value!r}")
        if not 1 <= number <= 150:
            raise ValueError(f"{where}: expected 1 to 150 (or null: rule off), got {number}")
        return number
    if kind == "text":
        if isinstance(value, str) and value.strip():
            return value.strip()
        raise ValueError(f"{where}: expected a non-empty text, got {value!r}")
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    texts = isinstance(value, list | tuple) and all(isinstance(v, str) and v.strip() for v in value)
    if texts and value:
        return tuple(v.strip().upper() for v in value)
    raise ValueError(f"{where}: expected a non-empty list of texts, got {value!r}")


class Parameter(BaseModel):
    """An open legal point or an extract wording, with its value, source and status."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ParameterType
    value: Any = None
    choices: tuple[Any, ...] | None = None
    status: ParameterStatus
    source: str = Field(min_length=1)
    description: str = Field(min_length=1)

    @model_validator(mode="after")
    def _typed(self) -> Parameter:
        value = _coerce(self.type, self.value, "value")
        object.__setattr__(self, "value", value)
        if self.choices is not None:
            choices = tuple(_coerce(self.type, c, "choices") for c in self.choices)
            object.__setattr__(self, "choices", choices)
            if value not in choices:
                raise ValueError(f"value {_show(value)} is not one of the choices")
        return self

    def check(self, value: Any, name: str) -> Any:
        """``value`` coerced to this parameter's type and checked against its choices."""
        coerced = _coerce(self.type, value, name)
        if self.choices is not None and coerced not in self.choices:
            allowed = ", ".join(_show(c) for c in self.choices)
            raise ValueError(f"{name}: {_show(coerced)} is not one of {allowed}")
        return coerced

    def readings(self) -> list[Any]:
        """The values the pack is validated with: the value and every choice."""
        found = [self.value]
        for choice in self.choices or ():
            if choice not in found:
                found.append(choice)
        return found


def _show(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


class LawRule(Rule):
    """A rule of a statewide decision list: a Rule with the statute clause it applies."""

    citation: str = Field(min_length=1)


class LawDecisionList(Policy):
    """A law pack's decision list with its parameters resolved; first rule wins."""

    rules: tuple[LawRule, ...] = Field(min_length=1)
    unit: Literal["conviction", "arrest_cycle"]

    @model_validator(mode="after")
    def _county_vocabulary(self) -> LawDecisionList:
        """Every predicate is defined on the unit; every determination fits the unit."""
        problems = []
        allowed = UNIT_DETERMINATIONS[self.unit]
        for number, rule in enumerate(self.rules, start=1):
            for leaf in leaves(rule.when):
                if self.unit not in leaf.units:
                    units = " or ".join(sorted(leaf.units))
                    problems.append(
                        f"rule {rule.id!r} (rule {number}), field when: {leaf.kind} is "
                        f"defined on a {units} row, not on a {self.unit} row"
                    )
            if rule.then not in allowed:
                names = ", ".join(sorted(d.value for d in allowed))
                problems.append(
                    f"rule {rule.id!r} (rule {number}), field then: {rule.then.value} is not a "
                    f"determination of a {self.unit} law; use one of: {names}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def citations(self) -> dict[str, str]:
        return {rule.id: rule.citation for rule in self.rules}

    def vocabularies(self) -> set[str]:
        """The conf vocabularies the list's code_section_in_list predicates name."""
        return {
            name
            for rule in self.rules
            for leaf in leaves(rule.when)
            if isinstance(leaf, CodeSectionInList)
            for name in leaf.lists
        }


def _substitute(node: Any, values: Mapping[str, Any], where: str) -> Any:
    """``"$name"`` anywhere in a condition replaced by that parameter's value."""
    if isinstance(node, str):
        match = PARAMETER_REF.match(node.strip())
        if not match:
            return node
        name = match.group(1)
        if name not in values:
            known = ", ".join(sorted(values)) or "none"
            raise ValueError(f"{where}: ${name} is not a parameter of the pack (known: {known})")
        value = values[name]
        if isinstance(value, tuple):
            return list(value)
        return value
    if isinstance(node, Mapping):
        return {k: _substitute(v, values, f"{where}.{k}") for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, values, f"{where}[{i}]") for i, v in enumerate(node)]
    return node


class LawPack(BaseModel):
    """One law: selector, parameters and (statewide law) its decision list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    law: str = Field(pattern=LAW_NAME)
    title: str = Field(min_length=1)
    citation: str = Field(min_length=1)
    description: str = ""
    candidates: Selector
    enabled: bool = False
    county_policies: bool = False
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    rules: tuple[dict[str, Any], ...] = ()

    @field_validator("parameters")
    @classmethod
    def _names(cls, value: dict[str, Parameter]) -> dict[str, Parameter]:
        for name in value:
            if not re.fullmatch(r"[a-z][A-Za-z0-9_]*", name):
                raise ValueError(f"parameter name {name!r}: use lower_case_with_underscores")
        return value

    @model_validator(mode="after")
    def _decisions(self) -> LawPack:
        if self.county_policies:
            if self.rules:
                raise ValueError(
                    "county_policies: true takes its decisions from conf/policies/; "
                    "remove rules or set county_policies: false"
                )
            if self.candidates != Selector.PROP64_CONVICTION_IN_COUNTY:
                raise ValueError("county_policies go with candidates: prop64_conviction_in_county")
            return self
        if not self.rules:
            raise ValueError("a statewide law needs rules (its decision list)")
        # Valid with the values in force and with every reading of each parameter.
        self.decision_list()
        for name, parameter in self.parameters.items():
            for reading in parameter.readings()[1:]:
                try:
                    self.decision_list({name: reading})
                except ValueError as exc:
                    raise ValueError(f"with {name} = {_show(reading)}: {exc}") from None
        return self

    @property
    def unit(self) -> str:
        return SELECTOR_UNIT[self.candidates]

    def parameter_values(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The parameters in force: each value, or its override (checked and coerced)."""
        values = {name: p.value for name, p in self.parameters.items()}
        for name, value in (overrides or {}).items():
            if name not in self.parameters:
                known = ", ".join(sorted(self.parameters)) or "none"
                raise ValueError(f"{name!r} is not a parameter of law {self.law} (known: {known})")
            values[name] = self.parameters[name].check(value, name)
        return values

    def decision_list(self, overrides: Mapping[str, Any] | None = None) -> LawDecisionList:
        """The decision list for these parameter values: ``only_if`` rules kept or left
        out, ``$name`` references replaced. Raises ValueError (one line per problem)."""
        if self.county_policies:
            raise ValueError(f"law {self.law} takes its decisions from conf/policies/")
        values = self.parameter_values(overrides)
        rules: list[dict[str, Any]] = []
        for index, raw in enumerate(self.rules, start=1):
            where = f"rule {raw.get('id', '(no id)')!r} (rule {index})"
            rule = dict(raw)
            only_if = rule.pop("only_if", None)
            if only_if is not None:
                if not isinstance(only_if, Mapping) or not only_if:
                    raise ValueError(f"{where}, field only_if: a mapping {{parameter: value}}")
                keep = True
                for name, wanted in only_if.items():
                    if name not in self.parameters:
                        raise ValueError(
                            f"{where}, field only_if: {name!r} is not a parameter of the pack"
                        )
                    options = wanted if isinstance(wanted, list) else [wanted]
                    parameter = self.parameters[name]
                    try:
                        options = [parameter.check(o, f"only_if.{name}") for o in options]
                    except ValueError as exc:
                        raise ValueError(f"{where}, field {exc}") from None
                    keep = keep and values[name] in options
                if not keep:
                    continue
            if "when" in rule:
                rule["when"] = _substitute(rule["when"], values, f"{where}, field when")
            rules.append(rule)
        data = {
            "name": self.law,
            "description": self.title,
            "unit": self.unit,
            "rules": rules,
        }
        try:
            return LawDecisionList.model_validate(data)
        except ValidationError as exc:
            raise PolicyValidationError(validation_errors(data, exc)) from None


# --- vocabularies (conf/laws/vocabularies/) --------------------------------------------------


class VocabularyEntry(BaseModel):
    """One code section of a statutory list, with the list item it comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code_section: str  # "245(a)(1) PC": section, optional subsection path, optional code
    item: str = Field(min_length=1)  # "1192.7(c)(31)"
    # Whether the section alone decides membership; fact-dependent entries route to review.
    fact_dependent: bool = False
    # An enhancement count (12022.5 PC ...): it makes the case's conviction a member.
    enhancement: bool = False
    note: str = ""

    @field_validator("code_section")
    @classmethod
    def _parse(cls, value: str) -> str:
        parse_code_section(value)
        return value.strip()


class Vocabulary(BaseModel):
    """A statutory list of code sections as conf data (serious felonies, ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Literal["serious_felony", "violent_felony", "pc290_offense", "pc1203_4b"]
    title: str = Field(min_length=1)
    citation: str = Field(min_length=1)
    sources: tuple[str, ...] = Field(min_length=1)
    as_of: str = Field(min_length=1)
    entries: tuple[VocabularyEntry, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Vocabulary:
        seen: set[str] = set()
        for entry in self.entries:
            key = entry.code_section.upper().replace(" ", "")
            if key in seen:
                raise ValueError(f"{entry.code_section!r} is listed twice")
            seen.add(key)
        return self


class MaxTermEntry(BaseModel):
    """The maximum term of one code section (state prison or PC 1170(h))."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code_section: str
    max_years: int = Field(ge=0, le=99)  # 99: life (or death)
    punishment: str = Field(min_length=1)  # the triad or term as the statute states it
    source: str = Field(min_length=1)  # the punishing section
    fact_dependent: bool = False  # the term depends on facts (degree, value, priors ...)
    note: str = ""

    @field_validator("code_section")
    @classmethod
    def _parse(cls, value: str) -> str:
        parse_code_section(value)
        return value.strip()


class MaxTermTable(BaseModel):
    """conf/laws/vocabularies/max-terms.yaml: section -> maximum term, for PC 851.93's tier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1)
    citation: str = Field(min_length=1)
    as_of: str = Field(min_length=1)
    entries: tuple[MaxTermEntry, ...] = Field(min_length=1)
