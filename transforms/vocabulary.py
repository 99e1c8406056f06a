"""Typed models of the closed vocabularies in conf/ (validated once, before Spark starts)."""

from __future__ import annotations

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
        """Match a county given by a person: name or slug, any case, spaces or dashes."""
        key = re.sub(r"[\s_-]+", " ", text.strip()).upper()
        for county in self.counties:
            if key in (county.name, county.slug.replace("-", " ").upper()):
                return county
        return None
