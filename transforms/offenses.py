"""The offence vocabulary (conf/offenses.yaml) as a typed model, plus pure helpers.

DOMAIN.md §2 names the code sections that matter: Prop 64 charges, related charges,
superstrikes (PC 667(e)(2)(C)(iv)) and PC 290 offences. They are data, not code: each list
is a list of :class:`SectionRule`, and transforms/normalize.py compiles the rules into Spark
expressions over the parsed ``section`` / ``subsection`` / ``code`` columns.

A rule's vocabulary, in the same spelling as the parsed columns (sections and subsections
lower case, codes upper case):

- ``sections: ["11357"]`` — these exact sections; or ``section_pattern: '190(\\.\\d+)?'`` —
  a regular expression the whole section must match (``190``, ``190.03``, ``190.2`` ...).
- no ``subsections`` — any subsection, and none;
  ``subsections: ["(c)(1)", "(d)"]`` — only a subsection path starting with one of these
  (``(c)(1)`` also covers ``(c)(1)(a)``); ``bare`` (default true) says whether the section
  written without any subsection counts too. DOMAIN.md writes ``X ((a), (b))`` for "X itself
  and those subsections" (``bare: true``) and ``X(a)/(b)`` or "... only" for just those
  subsections (``bare: false``).
- ``together_with: {section: "186.22", subsections: ["(b)(4)"], code: PC}`` — the rule counts
  only when this other code section also appears in the same code-section text (the gang
  enhancement group of the superstrikes), in either order.
- ``attempts`` (default true) — whether ``664/<section>`` counts as the section.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_SECTION = re.compile(r"\d+(\.\d+)?[a-z]{0,2}")
_SUBSECTION_PATH = re.compile(r"(\([0-9a-z]+\))+")
_CODE = re.compile(r"[A-Z]{1,4}")


def _check_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(
            f"section_pattern {pattern!r} is not a valid regular expression: {exc}"
        ) from exc
    return pattern


def _check_subsections(values: list[str]) -> list[str]:
    cleaned = [v.strip().lower() for v in values]
    for value in cleaned:
        if not _SUBSECTION_PATH.fullmatch(value):
            raise ValueError(
                f"subsection {value!r} must be a path of parenthesised parts, e.g. '(a)(1)'"
            )
    return cleaned


def _check_section(value: str) -> str:
    section = str(value).strip().lower()
    if not _SECTION.fullmatch(section):
        raise ValueError(
            f"section {value!r} must be digits, an optional decimal part and up to two "
            "letters, e.g. '11357', '667.61', '273ab'"
        )
    return section


def _check_code(value: str) -> str:
    code = value.strip().upper()
    if not _CODE.fullmatch(code):
        raise ValueError(f"code {value!r} must be 1-4 letters, e.g. 'PC', 'HS'")
    return code


# A code section inside free text (any case, spaces allowed around parentheses): not
# preceded by a digit or '.', and not followed by a digit, '.' or a one-letter section
# suffix ("288" must not match "288a"; "215pc" still matches 215, the letters being the
# code); for "no subsection", not followed by '(' either.
_BEFORE = r"(?<![0-9.])"
_NOT_LONGER = r"(?![0-9.])(?![a-z](?![a-z]))"
_NO_SUBSECTION = _NOT_LONGER + r"(?!\s*\()"


def _path_regex(path: str) -> str:
    """'(b)(4)' -> regex for '(b)(4)', '( B ) (4)' ..."""
    parts = re.findall(r"\(([0-9a-z]+)\)", path)
    return "".join(r"\s*\(\s*" + re.escape(part) + r"\s*\)" for part in parts)


def text_regex(section_regex: str, subsections: list[str] | None, bare: bool) -> str:
    """Case-insensitive regex finding a code section anywhere in a code-section text.

    ``subsections`` None means any subsection (or none); otherwise the text must continue
    with one of the listed paths, or (``bare``) with no subsection at all.
    """
    if subsections is None:
        return "(?i)" + _BEFORE + section_regex + _NOT_LONGER
    parts = [_path_regex(s) for s in subsections]
    if bare:
        parts.append(_NO_SUBSECTION)
    return "(?i)" + _BEFORE + section_regex + "(?:" + "|".join(parts) + ")"


class SectionRef(BaseModel):
    """One code section that must accompany another (e.g. the gang enhancement)."""

    model_config = ConfigDict(extra="forbid")

    section: str
    subsections: list[str] | None = None
    code: str

    @field_validator("section", mode="before")
    @classmethod
    def _section_shape(cls, value: object) -> str:
        return _check_section(str(value))

    @field_validator("subsections")
    @classmethod
    def _subsections_shape(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_subsections(value)

    @field_validator("code")
    @classmethod
    def _code_shape(cls, value: str) -> str:
        return _check_code(value)

    def text_regex(self) -> str:
        """Regex finding this section (any listed subsection) in a code-section text."""
        return text_regex(re.escape(self.section), self.subsections, bare=self.subsections is None)


class SectionRule(BaseModel):
    """Which code sections a rule matches; see the module docstring for the vocabulary."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="statute code, upper case: HS, PC, VC, BP, MV ...")
    sections: list[str] = Field(default_factory=list)
    section_pattern: str | None = None
    subsections: list[str] | None = None
    bare: bool = True
    together_with: SectionRef | None = None
    attempts: bool = True

    @field_validator("code")
    @classmethod
    def _code_shape(cls, value: str) -> str:
        return _check_code(value)

    @field_validator("sections", mode="before")
    @classmethod
    def _sections_shape(cls, value: object) -> object:
        if isinstance(value, list):
            return [_check_section(str(v)) for v in value]
        return value

    @field_validator("section_pattern")
    @classmethod
    def _pattern_shape(cls, value: str | None) -> str | None:
        return None if value is None else _check_regex(value)

    @field_validator("subsections")
    @classmethod
    def _subsections_shape(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_subsections(value)

    @model_validator(mode="after")
    def _one_section_spec(self) -> SectionRule:
        if bool(self.sections) == (self.section_pattern is not None):
            raise ValueError("give either 'sections' (a non-empty list) or 'section_pattern'")
        if not self.bare and self.subsections is None:
            raise ValueError("'bare: false' needs a 'subsections' list")
        return self

    def section_regex(self) -> str:
        """Regular expression (no anchors) matching the rule's sections, lower case."""
        if self.section_pattern is not None:
            return f"(?:{self.section_pattern})"
        return "(?:" + "|".join(re.escape(s) for s in self.sections) + ")"

    def text_regex(self) -> str:
        """Regex finding one of the rule's sections in a code-section text (text_regex)."""
        return text_regex(self.section_regex(), self.subsections, self.bare)

    def describe(self) -> str:
        """Short human-readable form, for messages and docs."""
        where = self.section_pattern or "/".join(self.sections)
        subs = "" if self.subsections is None else " " + "/".join(self.subsections)
        bare = "" if self.bare else " only"
        return f"{where}{subs}{bare} {self.code}"


class Offenses(BaseModel):
    """conf/offenses.yaml: the code-section vocabulary of DOMAIN.md §2."""

    model_config = ConfigDict(extra="forbid")

    codes: list[str] = Field(
        min_length=1,
        description="the codes a word after the section may name (HS, PC, VC ...); any other "
        "word there starts a description and the code is unknown",
    )
    code_aliases: dict[str, str] = Field(
        default_factory=dict,
        description="other spellings of a code, after '&' and spaces are removed: HSC -> HS",
    )
    subsections_without_parentheses: list[str] = Field(
        default_factory=list,
        description="sections whose subsections are also written without parentheses "
        "(11357B2 = 11357(b)(2)); elsewhere a letter after the number is part of the section",
    )
    prop64: list[SectionRule] = Field(min_length=1)
    prop64_subsection_groups: dict[str, list[list[str]]] = Field(
        default_factory=dict,
        description="per Prop 64 section, groups of first-level subsections that mean the "
        "same charge for the possible-other-Prop-64 check (11357: (a)/(b) vs (c)/(d))",
    )
    related: list[SectionRule]
    superstrikes: list[SectionRule]
    pc290: list[SectionRule]
    pc290_registration_prefix: str = Field(
        default="290", description="a REGISTRATION step whose offence text starts with this"
    )

    @field_validator("codes")
    @classmethod
    def _codes_shape(cls, value: list[str]) -> list[str]:
        return [_check_code(v) for v in value]

    @field_validator("code_aliases")
    @classmethod
    def _aliases_shape(cls, value: dict[str, str]) -> dict[str, str]:
        return {_check_code(k): _check_code(v) for k, v in value.items()}

    @field_validator("subsections_without_parentheses", mode="before")
    @classmethod
    def _bare_sections_shape(cls, value: object) -> object:
        if isinstance(value, list):
            sections = [_check_section(str(v)) for v in value]
            for section in sections:
                if not section.replace(".", "").isdigit():
                    raise ValueError(
                        f"section {section!r} ends in a letter: a letter after it could not "
                        "be told from a subsection written without parentheses"
                    )
            return sections
        return value

    @field_validator("prop64_subsection_groups")
    @classmethod
    def _groups_shape(cls, value: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
        groups: dict[str, list[list[str]]] = {}
        for section, parts in value.items():
            cleaned = [_check_subsections(group) for group in parts]
            for group in cleaned:
                for sub in group:
                    if sub.count("(") != 1:
                        raise ValueError(
                            f"subsection group entry {sub!r} of {section} must be one "
                            "first-level subsection, e.g. '(a)'"
                        )
            groups[_check_section(section)] = cleaned
        return groups

    @model_validator(mode="after")
    def _codes_known(self) -> Offenses:
        known = set(self.codes)
        unknown_targets = sorted({v for v in self.code_aliases.values() if v not in known})
        if unknown_targets:
            raise ValueError(f"code_aliases map to codes not listed in 'codes': {unknown_targets}")
        rules = [*self.prop64, *self.related, *self.superstrikes, *self.pc290]
        refs = [r.together_with for r in rules if r.together_with is not None]
        used = {r.code for r in rules} | {r.code for r in refs}
        unknown_codes = sorted(used - known)
        if unknown_codes:
            raise ValueError(
                f"rules use codes not listed in 'codes' (they could never match): {unknown_codes}"
            )
        return self

    @model_validator(mode="after")
    def _prop64_shape(self) -> Offenses:
        for rule in self.prop64:
            if rule.section_pattern is not None or rule.together_with is not None:
                raise ValueError(
                    "prop64 rules must list exact 'sections' (no section_pattern or "
                    "together_with): the sections name the per-section counts"
                )
        codes = sorted({rule.code for rule in self.prop64})
        if len(codes) != 1:
            raise ValueError(f"prop64 rules must all have the same code, not {codes}")
        unknown = sorted(set(self.prop64_subsection_groups) - set(self.prop64_sections()))
        if unknown:
            raise ValueError(
                f"prop64_subsection_groups names sections that are not Prop 64: {unknown}"
            )
        return self

    def prop64_sections(self) -> list[str]:
        """The Prop 64 sections in file order, without repeats (e.g. 11357 ... 11360)."""
        seen: dict[str, None] = {}
        for rule in self.prop64:
            for section in rule.sections:
                seen.setdefault(section, None)
        return list(seen)
