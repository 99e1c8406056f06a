"""Loading the law packs (conf/laws/*.yaml) and their vocabularies (conf/laws/vocabularies/).

I/O around transforms/laws.py: read, validate, and raise :class:`~relief.jobs.config.ConfigError`
with one line per problem naming the file, before Spark starts. A pack's file name is its
law (``pc1203.425.yaml`` holds ``law: pc1203.425``); the vocabularies every pack names
must be present.
"""

from __future__ import annotations

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
