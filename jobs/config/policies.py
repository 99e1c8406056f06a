"""Loading eligibility policies (conf/policies/, a policy file, a BEAR options JSON).

I/O around transforms/policy.py: read the file, validate it, and raise
:class:`~relief.jobs.config.ConfigError` with one line per problem naming the file, the rule
(id and position) and the field, before Spark starts (STYLE.md habits 7 and 8).

A policy directory holds ``default.yaml`` (required) and one ``<county-slug>.yaml`` per
county with its own policy; the file name must be a slug of conf/counties.yaml. A BEAR /
gogen eligibility-options JSON, when given to a run, applies to every county instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from relief.jobs.config import ConfigError, conf_dir, load_counties
from relief.transforms.policy import (
    Policy,
    PolicyValidationError,
    parse_eligibility_options,
    parse_policy,
    policy_hash,
)
from relief.transforms.vocabulary import Counties

__all__ = [
    "DEFAULT_POLICY_FILE",
    "PolicySet",
    "load_eligibility_options",
    "load_policies",
    "load_policy",
    "load_policy_dir",
    "load_policy_set",
    "policy_dir",
    "policy_hash",
]

DEFAULT_POLICY_FILE = "default.yaml"
POLICY_SUFFIXES = (".yaml", ".yml", ".json")


def policy_dir() -> Path:
    return conf_dir() / "policies"


def _read(path: Path) -> Any:
    """Parsed YAML or JSON (by suffix); any reading problem is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a policy file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{path}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        except RecursionError:
            raise _too_deep(path) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except ValueError as exc:  # e.g. a date like 2016-13-01 fails in the YAML loader
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except RecursionError:
        raise _too_deep(path) from None


def _too_deep(path: Path) -> ConfigError:
    # Python's parsers and validators recurse once per level: a file nested thousands of
    # levels deep (no real policy is) must still give a message, not a stack trace.
    return ConfigError(
        f"{path}: nested too deeply to read (lists or objects inside each other thousands "
        "of levels deep); a policy or options file is a few levels deep, check the file"
    )


def _invalid(path: Path, what: str, exc: PolicyValidationError) -> ConfigError:
    lines = [f"{path}: invalid {what}"] + [f"  {line}" for line in exc.errors]
    return ConfigError("\n".join(lines))


def _is_options(data: Any) -> bool:
    return isinstance(data, Mapping) and (
        "baselineEligibility" in data or "additionalRelief" in data
    )


def load_eligibility_options(path: Path, name: str | None = None) -> Policy:
    """A BEAR/gogen eligibility-options JSON compiled to a policy (DOMAIN.md §4 table)."""
    data = _read(path)
    try:
        return parse_eligibility_options(
            data,
            name=name or "eligibility-options",
            description=f"compiled from eligibility options {path.name}",
        )
    except PolicyValidationError as exc:
        raise _invalid(path, "eligibility options", exc) from None
    except RecursionError:
        raise _too_deep(path) from None


def load_policy(path: Path) -> Policy:
    """A policy file (YAML or JSON), or an eligibility-options JSON recognised by its keys."""
    data = _read(path)
    if _is_options(data):
        return load_eligibility_options(path)
    try:
        return parse_policy(data)
    except PolicyValidationError as exc:
        raise _invalid(path, "policy", exc) from None
    except RecursionError:
        raise _too_deep(path) from None


@dataclass(frozen=True)
class PolicySet:
    """The policies of a run: one per county with its own file, else the default."""

    default: Policy
    by_county: dict[str, Policy] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)  # slug or "default" -> file

    def for_county(self, slug: str) -> Policy:
        return self.by_county.get(slug, self.default)

    def source_for(self, slug: str) -> Path | None:
        return self.sources.get(slug if slug in self.by_county else "default")

    def hash_for(self, slug: str) -> str:
        return policy_hash(self.for_county(slug))

    def hashes(self, slugs: Iterable[str] | None = None) -> dict[str, str]:
        """Policy hash by county slug; for all counties (None): the default as "default"
        plus every county with its own policy."""
        if slugs is not None:
            return {slug: self.hash_for(slug) for slug in sorted(slugs)}
        named = {slug: policy_hash(policy) for slug, policy in sorted(self.by_county.items())}
        return {"default": policy_hash(self.default), **named}


def load_policy_dir(directory: Path | None = None, counties: Counties | None = None) -> PolicySet:
    """``default.yaml`` plus ``<county-slug>.yaml`` files; every file is validated."""
    directory = directory or policy_dir()
    if not directory.is_dir():
        raise ConfigError(f"{directory}: policy directory not found")
    default_path = directory / DEFAULT_POLICY_FILE
    if not default_path.is_file():
        raise ConfigError(
            f"{directory}: no {DEFAULT_POLICY_FILE}; the default policy applies to every "
            "county without its own file and is required"
        )
    known = (counties or load_counties()).by_slug()
    errors: list[str] = []
    default: Policy | None = None
    by_county: dict[str, Policy] = {}
    sources: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in POLICY_SUFFIXES or path.name.startswith("."):
            continue
        slug = path.stem
        if path != default_path and slug not in known:
            errors.append(
                f"{path}: file name {slug!r} is not a county slug of conf/counties.yaml "
                f"(e.g. los-angeles.yaml) nor {DEFAULT_POLICY_FILE}"
            )
            continue
        if slug in sources:
            errors.append(f"{path}: a second policy file for {slug!r} ({sources[slug].name})")
            continue
        try:
            policy = load_policy(path)
        except ConfigError as exc:
            errors.append(str(exc))
            continue
        sources[slug if path != default_path else "default"] = path
        if path == default_path:
            default = policy
        else:
            by_county[slug] = policy
    if errors:
        raise ConfigError("\n".join(errors))
    assert default is not None
    return PolicySet(default=default, by_county=by_county, sources=sources)


def load_policies(
    directory: Path | None = None,
    eligibility_options: Path | None = None,
    counties: Counties | None = None,
) -> PolicySet:
    """The run's policies: the options JSON for every county when given, else the dir."""
    if eligibility_options is not None:
        policy = load_eligibility_options(eligibility_options)
        return PolicySet(default=policy, sources={"default": eligibility_options})
    return load_policy_dir(directory, counties)


def load_policy_set(
    counties: Counties | None = None,
    policy_dir: Path | None = None,
    options_file: Path | None = None,
) -> PolicySet:
    """:func:`load_policies` with the statewide job's argument names."""
    return load_policies(policy_dir, options_file, counties)
