"""Typed models of the closed vocabularies in conf/ (validated once, before Spark starts)."""

from __future__ import annotations

import difflib
import re

from pydantic import BaseModel, Field, field_validator, model_validator


class County(BaseModel):
    name: str = Field(description="DOJ spelling, upper case, e.g. 'LOS ANGELES'")
    slug: str = Field(description="table path name, e.g. 'los-angeles'")
    code: str
    population: int = Field(ge=0, description="thousands; weights the synthetic extract")

    @field_validator("slug")
    @classmethod
    def _slug_shape(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z]+(-[a-z]+)*", value):
            raise ValueError(f"county slug {value!r} must be lower-case words joined by '-'")
        return value


class Counties(BaseModel):
    counties: list[County]

    @model_validator(mode="after")
    def _unique(self) -> Counties:
        for attr in ("name", "slug", "code"):
            values = [getattr(c, attr) for c in self.counties]
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"duplicate county {attr}: {', '.join(dupes)}")
        return self

    def by_slug(self) -> dict[str, County]:
        return {c.slug: c for c in self.counties}

    def by_name(self) -> dict[str, County]:
        return {c.name: c for c in self.counties}

    def resolve(self, text: str) -> County | None:
        """The county a person means: its name or slug in any case and spacing, with or
        without "County" ("Los Angeles County", "los-angeles", "LOS  ANGELES"), or its DOJ
        county code ("19"; "7" is "07"). None when nothing matches exactly."""
        key = county_key(text)
        if key.isdigit():
            code = key.zfill(2)
            return next((c for c in self.counties if c.code == code), None)
        return next(
            (c for c in self.counties if key in (county_key(c.name), county_key(c.slug))), None
        )

    def suggestions(self, text: str, limit: int = 3) -> list[County]:
        """Counties a mistyped name may mean: close spellings ("Los Angelas"), initials
        ("LA", "SF") and names that start with what was typed ("San" -> San Benito ...)."""
        key = county_key(text)
        if not key:
            return []
        keys = {county_key(c.name): c for c in self.counties}
        found = [keys[k] for k in difflib.get_close_matches(key, keys, n=limit, cutoff=0.75)]
        compact = key.replace(" ", "")
        found += [c for k, c in keys.items() if " " in k and _initials(k) == compact]
        found += [c for k, c in keys.items() if len(key) >= 3 and k.startswith(key)]
        if not found:  # nothing close: the looser spellings
            found = [keys[k] for k in difflib.get_close_matches(key, keys, n=limit, cutoff=0.6)]
        unique = {c.slug: c for c in reversed(found)}  # first mention wins
        return sorted(unique.values(), key=found.index)[:limit]

    def require(self, text: str) -> County:
        """:meth:`resolve`, or UnknownCounty saying what may have been meant."""
        county = self.resolve(text)
        if county is None:
            raise UnknownCounty(text, self.suggestions(text))
        return county


def county_key(text: str) -> str:
    """A county as typed, reduced for matching: upper case, words separated by one space,
    without a leading "County of" or a trailing "County"."""
    key = re.sub(r"[\s_\-.]+", " ", text).strip().upper()
    key = re.sub(r"^COUNTY OF ", "", key)
    return re.sub(r" COUNTY$", "", key)


def _initials(key: str) -> str:
    return "".join(word[0] for word in key.split())


class UnknownCounty(ValueError):
    """A county name that matches none of the 58; the message suggests close matches."""

    def __init__(self, text: str, suggestions: list[County]) -> None:
        self.text = text
        self.suggestions = suggestions
        names = [c.name.title() for c in suggestions]
        if names:
            hint = (
                "did you mean "
                + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1])
                + "?"
            )
        else:
            hint = (
                "give a county's name, slug or DOJ code, e.g. 'Los Angeles', 'los-angeles' or '19'"
            )
        super().__init__(f"unknown county {text!r}: {hint}")
