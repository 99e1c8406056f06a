"""Locating and loading conf/ files into validated models (I/O lives here, not in transforms)."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from relief.transforms.vocabulary import Counties

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration file is missing or invalid; the message says which file and field."""


CONF_ENV = "RELIEF_CONF"
CONF_PACKAGE = "relief.conf"  # conf/ as installed (src/relief/conf, pyproject.toml)
_MARKER = "counties.yaml"


def conf_location() -> tuple[Path, str]:
    """The conf/ folder in use and where it came from, first found of:

    1. ``$RELIEF_CONF`` (``relief --conf-dir DIR`` sets it; spark-submit sets it);
    2. ``conf/`` beside ``jobs/`` in a checkout of the repository;
    3. the installed package's copy (``relief.conf``, package data of the wheel);
    4. ``./conf`` of the working directory (a driver given conf/ as an archive).
    """
    env = os.environ.get(CONF_ENV)
    if env:
        return Path(env), f"${CONF_ENV}"
    root = Path(__file__).resolve().parents[2]  # an installed relief/ has no pyproject
    checkout = root / "conf"
    if (root / "pyproject.toml").is_file() and (checkout / _MARKER).is_file():
        return checkout, "the checkout"
    try:
        packaged = Path(str(resources.files(CONF_PACKAGE) / _MARKER)).parent
    except ModuleNotFoundError:
        packaged = None
    if packaged is not None and (packaged / _MARKER).is_file():
        return packaged, "the installed package"
    return Path.cwd() / "conf", "the working directory"


def conf_dir() -> Path:
    """The conf/ folder relief reads (:func:`conf_location`)."""
    return conf_location()[0]


def use_conf_dir(directory: Path) -> None:
    """Read conf/ from ``directory`` from now on (``--conf-dir``); also for child processes."""
    if not (directory / _MARKER).is_file():
        raise ConfigError(
            f"--conf-dir {directory}: no {_MARKER} there; give a folder laid out like the "
            "repository's conf/ (counties.yaml, offenses.yaml, pipeline.yaml, policies/)"
        )
    os.environ[CONF_ENV] = str(directory.resolve())


def read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as exc:
        where, source = conf_location()
        hint = ""
        if path.parent == where or where in path.parents:
            hint = (
                f" (conf/ taken from {source}: {where}; point {CONF_ENV} or "
                "relief --conf-dir at a folder holding counties.yaml, offenses.yaml, "
                "pipeline.yaml and policies/)"
            )
        raise ConfigError(f"{path}: file not found{hint}") from exc
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
