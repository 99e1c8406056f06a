"""Locating and loading conf/ files into validated models (I/O lives here, not in transforms)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from transforms.vocabulary import Counties

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration file is missing or invalid; the message says which file and field."""


def conf_dir() -> Path:
    """conf/ of this checkout, or $RELIEF_CONF (spark-submit ships conf/ with --files)."""
    env = os.environ.get("RELIEF_CONF")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent / "conf"
    if here.is_dir():
        return here
    return Path.cwd() / "conf"


def read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: e.g. a date like 2016-13-01
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def validation_message(path: Path | str, exc: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def load_model(path: Path, model: type[M]) -> M:
    data = read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(path, exc)) from exc


def load_counties(directory: Path | None = None) -> Counties:
    return load_model((directory or conf_dir()) / "counties.yaml", Counties)
