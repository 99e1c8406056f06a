"""Loading the law packs (conf/laws/*.yaml) and their vocabularies (conf/laws/vocabularies/).

I/O around transforms/laws.py: read, validate, and raise :class:`~relief.jobs.config.ConfigError`
with one line per problem naming the file, before Spark starts. A pack's file name is its
law (``pc1203.425.yaml`` holds ``law: pc1203.425``); the vocabularies every pack names
must be present.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from relief.jobs.config import ConfigError, conf_dir, read_yaml, validation_message
from relief.transforms.laws import LawPack, MaxTermTable, Vocabulary
from relief.transforms.policy import PolicyValidationError

LAWS_DIR = "laws"
VOCABULARIES_DIR = "vocabularies"
MAX_TERMS_FILE = "max-terms.yaml"


def laws_dir() -> Path:
    return conf_dir() / LAWS_DIR


@dataclass(frozen=True)
class LawPacks:
    """The law packs of conf/laws/, by law, with the vocabularies they read."""

    packs: dict[str, LawPack]
    sources: dict[str, Path]
    vocabularies: dict[str, Vocabulary] = field(default_factory=dict)
    max_terms: MaxTermTable | None = None

    def require(self, law: str) -> LawPack:
        if law not in self.packs:
            known = ", ".join(sorted(self.packs)) or "none"
            raise ConfigError(f"no law pack {law!r} in conf/laws/ (known: {known})")
        return self.packs[law]

    def enabled(self) -> list[str]:
        return sorted(law for law, pack in self.packs.items() if pack.enabled)


def _load(path: Path, model: type[BaseModel]) -> Any:
    data = read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(path, exc)) from None
    except PolicyValidationError as exc:  # a decision list raised inside a validator
        lines = [f"{path}: invalid law pack"] + [f"  {line}" for line in exc.errors]
        raise ConfigError("\n".join(lines)) from None


def load_law_packs(directory: Path | None = None) -> LawPacks:
    """Every ``*.yaml`` of conf/laws/ and the vocabularies; all problems in one error."""
    directory = directory or laws_dir()
    if not directory.is_dir():
        raise ConfigError(f"{directory}: law pack directory not found")
    errors: list[str] = []
    packs: dict[str, LawPack] = {}
    sources: dict[str, Path] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            pack = _load(path, LawPack)
        except ConfigError as exc:
            errors.append(str(exc))
            continue
        if path.stem != pack.law:
            errors.append(f"{path}: holds law {pack.law!r}; name the file {pack.law}.yaml")
            continue
        packs[pack.law] = pack
        sources[pack.law] = path
    vocabularies: dict[str, Vocabulary] = {}
    max_terms: MaxTermTable | None = None
    vocab_dir = directory / VOCABULARIES_DIR
    if vocab_dir.is_dir():
        for path in sorted(vocab_dir.glob("*.yaml")):
            try:
                if path.name == MAX_TERMS_FILE:
                    max_terms = _load(path, MaxTermTable)
                else:
                    vocabulary = _load(path, Vocabulary)
                    if vocabulary.name in vocabularies:
                        errors.append(f"{path}: a second vocabulary {vocabulary.name!r}")
                    vocabularies[vocabulary.name] = vocabulary
            except ConfigError as exc:
                errors.append(str(exc))
    for law, pack in packs.items():
        if pack.county_policies:
            continue
        missing = sorted(pack.decision_list().vocabularies() - set(vocabularies))
        if missing:
            errors.append(
                f"{sources[law]}: names vocabularies {', '.join(missing)}, not found in {vocab_dir}"
            )
    if errors:
        raise ConfigError("\n".join(errors))
    return LawPacks(packs, sources, vocabularies, max_terms)


# --- the laws of a run (relief run --laws; docs/laws.md §7) ----------------------------------

PROP64 = "prop64"


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class RunLaws:
    """The laws a run decides, each statewide pack resolved with its parameters in force."""

    prop64: bool  # the county policies run (Prop 64)
    laws: tuple[str, ...]  # the statewide packs, in the order given
    parameters: dict[str, dict[str, Any]]  # law -> parameter values in force (JSON-ready)
    hashes: dict[str, str]  # law -> sha256 of its decision list, parameters and vocabularies

    def key_part(self) -> dict[str, Any]:
        """What joins the run key (a different pack or reading is a different result)."""
        return {"prop64": self.prop64, "laws": {law: self.hashes[law] for law in self.laws}}

    def metadata(self) -> str:
        """JSON for the commits and the ledger: {law: {"hash", "parameters"}}."""
        return json.dumps(
            {
                law: {"hash": self.hashes[law], "parameters": self.parameters[law]}
                for law in self.laws
            },
            sort_keys=True,
        )


def resolve_laws(
    packs: LawPacks,
    requested: Sequence[str] | None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> RunLaws:
    """``--laws`` (None: the packs conf/ enables) resolved against the packs; ConfigError
    (exit 2) for an unknown law, a repeated one, or an override of a law not run."""
    names = list(packs.enabled()) if requested is None else [n.strip() for n in requested]
    overrides = overrides or {}
    if not names:
        raise ConfigError("--laws: give at least one law (prop64, pc1203.425, pc851.93)")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"--laws: {', '.join(repeated)} given twice")
    for name in names:
        packs.require(name)
    stray = sorted(set(overrides) - set(names))
    if stray:
        raise ConfigError(f"parameters given for {', '.join(stray)}, which the run does not decide")
    laws = tuple(n for n in names if not packs.require(n).county_policies)
    parameters: dict[str, dict[str, Any]] = {}
    hashes: dict[str, str] = {}
    vocabularies = json.dumps(
        {
            "lists": {k: v.model_dump(mode="json") for k, v in sorted(packs.vocabularies.items())},
            "max_terms": None
            if packs.max_terms is None
            else packs.max_terms.model_dump(mode="json"),
        },
        sort_keys=True,
    )
    for law in laws:
        pack = packs.require(law)
        try:
            values = pack.parameter_values(overrides.get(law))
            decisions = pack.decision_list(overrides.get(law))
        except ValueError as exc:
            raise ConfigError(f"{law}: {exc}") from None
        parameters[law] = {k: _plain(v) for k, v in sorted(values.items())}
        text = json.dumps(
            [decisions.canonical_json(), parameters[law], vocabularies], sort_keys=True
        )
        hashes[law] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return RunLaws(PROP64 in names, laws, parameters, hashes)
