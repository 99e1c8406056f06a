"""Loading the offence vocabulary (conf/offenses.yaml) into its validated model."""

from __future__ import annotations

from pathlib import Path

from relief.jobs.config import conf_dir, load_model
from relief.transforms.offenses import Offenses


def load_offenses(directory: Path | None = None) -> Offenses:
    """Read and validate ``offenses.yaml`` from ``directory`` (default: conf/).

    Raises relief.jobs.config.ConfigError naming the file and field when it is missing or invalid.
    """
    return load_model((directory or conf_dir()) / "offenses.yaml", Offenses)
