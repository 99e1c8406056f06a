"""conf/offices.yaml: the District Attorney's office shown on a county's court packet.

A county without an entry (or a conf/ without the file) gets a block of bracketed
placeholders for a person to fill in; nothing about a real office is ever invented.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from relief.jobs.config import ConfigError, conf_dir, load_counties, load_model
from relief.transforms.vocabulary import Counties, County

OFFICES_FILE = "offices.yaml"
PEOPLE = "Attorney for the People of the State of California"


class Office(BaseModel):
    """One county's DA office, as its pleadings' first lines give it (Cal. Rules of Court,
    rule 2.111(1): name, State Bar number, address, telephone, e-mail, party represented)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attorney: str = Field(min_length=1, description="the filing attorney, e.g. the elected DA")
    title: str = Field("District Attorney", min_length=1)
    bar_number: str = Field(description="California State Bar number (digits)")
    office: str | None = Field(None, description="default: Office of the District Attorney, "
                               "County of <County>")  # fmt: skip
    address: list[str] = Field(min_length=1, description="street, then city, CA ZIP")
    phone: str | None = None
    email: str | None = None

    @field_validator("bar_number")
    @classmethod
    def _bar_number_digits(cls, value: str) -> str:
        if not re.fullmatch(r"\d{1,7}", value.strip()):
            raise ValueError(f"bar_number {value!r} must be the State Bar number, digits only")
        return value.strip()


class Offices(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offices: dict[str, Office] = Field(default_factory=dict, description="by county slug")


def office_name(county: County, office: Office | None = None) -> str:
    if office is not None and office.office:
        return office.office
    return f"Office of the District Attorney, County of {county.name.title()}"


def office_lines(county: County, office: Office | None) -> list[str]:
    """The block at the top of a filing; bracketed placeholders when the county has none."""
    if office is None:
        return [
            "[Name], District Attorney (SBN [State Bar number])",
            office_name(county),
            "[Street address]",
            "[City], CA [ZIP code]",
            "Telephone: [number]",
            PEOPLE,
        ]
    lines = [
        f"{office.attorney}, {office.title} (SBN {office.bar_number})",
        office_name(county, office),
    ]
    lines += office.address
    contact = [f"Telephone: {office.phone}" if office.phone else "", office.email or ""]
    if any(contact):
        lines.append("    ".join(c for c in contact if c))
    return [*lines, PEOPLE]


def load_offices(directory: Path | None = None, counties: Counties | None = None) -> Offices:
    """conf/offices.yaml, every key a county slug; no file: no offices (placeholders)."""
    path = (directory or conf_dir()) / OFFICES_FILE
    if not path.is_file():
        return Offices()
    offices = load_model(path, Offices)
    counties = counties or load_counties(directory)
    known = counties.by_slug()
    for slug in offices.offices:
        if slug not in known:
            close = counties.suggestions(slug, limit=1)
            hint = f" (did you mean {close[0].slug}?)" if close else ""
            raise ConfigError(f"{path}: offices.{slug}: not a county slug of counties.yaml{hint}")
    return offices
