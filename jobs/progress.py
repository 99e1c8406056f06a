"""Stage progress for people: a live status line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

log = logging.getLogger("relief")


class Progress:
    """Reports the job's stages with timings; keeps the timings for the ledger and the bench."""

    def __init__(self, quiet: bool = False, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.live = self.console.is_terminal and not quiet
        self.quiet = quiet
        self.seconds: dict[str, float] = {}
        self._note = ""

    def note(self, text: str) -> None:
        """Figures for the stage in progress, printed when it finishes (e.g. row counts)."""
        self._note = text

    @contextmanager
    def stage(self, name: str, description: str) -> Iterator[None]:
        self._note = ""
        start = time.perf_counter()
        if self.live:
            with self.console.status(f"[bold]{description}[/bold]…", spinner="dots"):
                yield
        else:
            self.info(f"{description}…")
            yield
        elapsed = time.perf_counter() - start
        self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
        suffix = f": {self._note}" if self._note else ""
        self.info(f"✓ {description}{suffix} ({elapsed:.1f} s)")

    def info(self, message: str) -> None:
        if self.quiet:
            log.info(message)
            return
        if self.live:
            self.console.print(message)
        else:
            print(f"{time.strftime('%H:%M:%S')} relief: {message}", file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        if self.live:
            self.console.print(f"[yellow]warning:[/yellow] {message}")
        else:
            print(f"{time.strftime('%H:%M:%S')} relief: warning: {message}", file=sys.stderr)


def fmt_count(value: Any) -> str:
    return f"{int(value):,}" if value is not None else "-"
