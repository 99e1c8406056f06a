"""Stage progress for people: a live bar on a terminal, plain log lines otherwise.

While a stage runs on Spark, a thread polls Spark's status tracker (the active stages' task
counts, and the rows their finished tasks read or wrote) and shows tasks done, rows done and
an ETA: a bar on a terminal, a plain line every :data:`PLAIN_EVERY` seconds otherwise. The
base install (no pyspark) gets the same stage lines without the Spark figures.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

log = logging.getLogger("relief")

POLL_SECONDS = 0.5
PLAIN_EVERY = 30.0  # seconds between progress lines when stderr is not a terminal

_verbose = False


def set_verbose(on: bool) -> None:
    """`relief -v`: Spark's and Great Expectations' own console output is shown."""
    global _verbose
    _verbose = on


def is_verbose() -> bool:
    return _verbose


@dataclass(frozen=True)
class SparkStatus:
    """The active Spark stages of the moment, added up."""

    stages: int
    tasks: int
    done: int
    running: int
    rows: int | None  # rows the finished tasks read or wrote; None when Spark cannot say
    elapsed: float  # seconds since the first of these stages was submitted

    def eta(self) -> float | None:
        if self.done >= self.tasks:
            return 0.0
        if not self.done:
            return None
        return self.elapsed * (self.tasks - self.done) / self.done

    def text(self) -> str:
        """``12/40 tasks · 1,234,567 rows · ETA 0:32``."""
        parts = [f"{self.done:,}/{self.tasks:,} tasks"]
        # A stage whose tasks each take one record (the ingest's byte ranges) counts ranges,
        # not rows: no row figure then.
        if self.rows and self.rows > self.done:
            parts.append(f"{self.rows:,} rows")
        eta = self.eta()
        parts.append(f"ETA {_clock(eta)}" if eta is not None else "ETA …")
        return " · ".join(parts)


def _clock(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _active_spark_context() -> Any:
    """The running SparkContext, if pyspark is loaded and one is running (never imports it)."""
    pyspark = sys.modules.get("pyspark")
    if pyspark is None:
        return None
    return getattr(pyspark.SparkContext, "_active_spark_context", None)


def spark_status(sc: Any, first_seen: dict[int, float] | None = None) -> SparkStatus | None:
    """Task counts of the active stages from ``sc.statusTracker()``; rows from Spark's status
    store (the records of finished tasks: input, output or shuffle read, whichever is most).
    ``first_seen`` (stage id -> time.monotonic() when a poll first saw it, kept by the
    caller) gives the elapsed time the ETA is computed from. None when no stage is running."""
    tracker = sc.statusTracker()
    infos = [tracker.getStageInfo(i) for i in tracker.getActiveStageIds()]
    infos = [i for i in infos if i is not None]
    if not infos:
        return None
    rows: int | None = None
    try:
        store = sc._jsc.sc().statusStore()
        rows = 0
        for info in infos:
            data = store.lastStageAttempt(info.stageId)
            rows += max(data.inputRecords(), data.outputRecords(), data.shuffleReadRecords())
    except Exception:  # a Spark without the store's methods: tasks only
        rows = None
    now = time.monotonic()
    seen = first_seen if first_seen is not None else {}
    started = min(seen.setdefault(i.stageId, now) for i in infos)
    return SparkStatus(
        stages=len(infos),
        tasks=sum(i.numTasks for i in infos),
        done=sum(i.numCompletedTasks for i in infos),
        running=sum(i.numActiveTasks for i in infos),
        rows=rows,
        elapsed=now - started,
    )


class _Watch:
    """Polls Spark in a thread while a stage runs; calls ``update`` with each status."""

    def __init__(self, sc: Any, update: Callable[[SparkStatus | None], None]) -> None:
        self.sc = sc
        self.update = update
        self.first_seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="relief-progress", daemon=True)

    def _loop(self) -> None:
        while not self.stop.wait(POLL_SECONDS):
            try:
                self.update(spark_status(self.sc, self.first_seen))
            except Exception:  # the context stopped, or the gateway is busy closing
                log.debug("stage progress stopped", exc_info=True)
                return

    def __enter__(self) -> _Watch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


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
        sc = None if self.quiet else _active_spark_context()
        if self.live:
            with self._bar(description, sc):
                yield
        else:
            self.info(f"{description}…")
            with self._plain(name, sc):
                yield
        elapsed = time.perf_counter() - start
        self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
        suffix = f": {self._note}" if self._note else ""
        self.info(f"✓ {description}{suffix} ({elapsed:.1f} s)")

    @contextmanager
    def _bar(self, description: str, sc: Any) -> Iterator[None]:
        bar = RichProgress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}[/bold]"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        with bar:
            task = bar.add_task(description, total=None, detail="")

            def update(status: SparkStatus | None) -> None:
                if status is None:
                    bar.update(task, total=None, completed=0, detail="")
                else:
                    bar.update(
                        task, total=status.tasks, completed=status.done, detail=status.text()
                    )

            if sc is None:
                yield
            else:
                with _Watch(sc, update):
                    yield

    @contextmanager
    def _plain(self, name: str, sc: Any) -> Iterator[None]:
        if sc is None:
            yield
            return
        last = [time.monotonic()]

        def update(status: SparkStatus | None) -> None:
            now = time.monotonic()
            if status is not None and now - last[0] >= PLAIN_EVERY:
                last[0] = now
                self.info(f"{name}: {status.text()}")

        with _Watch(sc, update):
            yield

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
