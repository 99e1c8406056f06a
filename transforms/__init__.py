"""Pure DataFrame -> DataFrame transforms of the relief pipeline (no I/O here)."""
