"""`make bench`: the statewide job on 1M and 5M generated rows, with figures per stage.

For each size: generate the extract once (cached under bench/cache/), run the statewide job
into a fresh warehouse on ``local[*]``, and report wall seconds per stage of the job, rows/s
end to end, peak RSS of the driver JVM and of the Python process, and Spark's shuffle bytes
(from the application's REST API on the driver UI). Spark evaluates lazily, so normalize,
history and eligibility run fused inside the job's write stage; ``--breakdown`` also times
each of them separately (a no-op write of the pipeline cut after that stage, minus the
stage before) so a slow stage can be found. Results are printed and written as JSON to
bench/results/.

Not part of ``make test``; performance is checked here, never by timing assertions in tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jobs.generate import generate_extract
from jobs.progress import Progress

ROOT = Path(__file__).resolve().parent.parent / "bench"
CACHE = ROOT / "cache"
RESULTS = ROOT / "results"
COMPUTE_AT = dt.date(2026, 11, 22)


def _rss_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


class PeakMemory:
    """Samples RSS of this Python process and its JVM (and other children) every 0.5 s."""

    def __init__(self) -> None:
        self.peak_python_mb = 0.0
        self.peak_jvm_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            self.peak_python_mb = max(self.peak_python_mb, _rss_kb(me, "VmRSS") / 1024)
            jvm = sum(_rss_kb(pid, "VmRSS") for pid in _children(me))
            self.peak_jvm_mb = max(self.peak_jvm_mb, jvm / 1024)
            self._stop.wait(0.5)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds() -> float:
    """CPU seconds used so far by this Python process and its children (the driver JVM)."""
    me = os.getpid()
    return sum(_cpu_seconds(pid) for pid in [me, *_children(me)])


class CpuProgress(Progress):
    """Progress that also records the CPU seconds each stage used."""

    def __init__(self) -> None:
        super().__init__()
        self.cpu_seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, description: str) -> Iterator[None]:
        before = process_cpu_seconds()
        with super().stage(name, description):
            yield
        used = process_cpu_seconds() - before
        self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + used


def shuffle_bytes(ui_url: str | None) -> dict[str, int]:
    """Shuffle read/write bytes over all stages, from Spark's REST API (driver UI)."""
    if not ui_url:
        return {}
    try:
        with urllib.request.urlopen(f"{ui_url}/api/v1/applications", timeout=5) as response:
            app_id = json.load(response)[0]["id"]
        with urllib.request.urlopen(
            f"{ui_url}/api/v1/applications/{app_id}/stages", timeout=10
        ) as response:
            stages = json.load(response)
    except (OSError, ValueError, KeyError, IndexError):
        return {}
    return {
        "shuffle_write_bytes": sum(s.get("shuffleWriteBytes", 0) for s in stages),
        "shuffle_read_bytes": sum(s.get("shuffleReadBytes", 0) for s in stages),
    }


def extract_for(rows: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"extract_{rows}_seed64.csv"
    if not path.exists():
        print(f"generating {rows:,} rows into {path} (cached for next time)")
        generate_extract(path, rows=rows, seed=64)
    return path


def breakdown(input_path: Path, work: Path) -> dict[str, float]:
    """Seconds of each logical step of the transform stage, which Spark runs fused.

    The extract is ingested to Parquet once (as the job stages it); then the pipeline cut
    after each step is run as a no-op write, and each step's time is its cut's time minus
    the previous cut's. The remainder of the job's transform stage is the write.
    """
    from pyspark.sql import DataFrame

    from jobs.spark import build_session
    from jobs.statewide import RunOptions, annotate_steps, prepare, stage_ingest
    from transforms import ingest

    spark = build_session("relief-bench")
    prepared = prepare(RunOptions(inputs=str(input_path), warehouse=Path("/nonexistent")))
    staged = work / "ingested"
    rows = ingest.kept_rows(stage_ingest(spark, prepared.files, staged)[0])

    def timed(df: DataFrame) -> float:
        start = time.perf_counter()
        df.write.format("noop").mode("overwrite").save()
        return time.perf_counter() - start

    timed(rows)  # warm the JVM on this data
    cumulative = {"read_staged": timed(rows)}
    for step, cut in annotate_steps(rows, prepared, COMPUTE_AT).items():
        cumulative[step] = timed(cut)
    shutil.rmtree(staged, ignore_errors=True)
    result, previous = {}, 0.0
    for name, seconds in cumulative.items():
        result[name] = round(max(seconds - previous, 0.0), 2)
        previous = seconds
    return result


def bench_one(input_path: Path, rows_hint: int | None, do_breakdown: bool) -> dict[str, Any]:
    from jobs.spark import build_session
    from jobs.statewide import RunOptions, run

    warehouse = ROOT / "warehouse"
    shutil.rmtree(warehouse, ignore_errors=True)
    progress = CpuProgress()
    with PeakMemory() as memory:
        start = time.perf_counter()  # JVM start-up counts: a real run pays it too
        spark = build_session("relief-bench")
        ui = spark.sparkContext.uiWebUrl
        record = run(
            RunOptions(inputs=str(input_path), warehouse=warehouse, compute_at=COMPUTE_AT),
            progress,
        )
        wall = time.perf_counter() - start
    result: dict[str, Any] = {
        "input": str(input_path),
        "input_bytes": input_path.stat().st_size,
        "rows_read": record.rows_read,
        "wall_seconds": round(wall, 2),
        "rows_per_second": round((record.rows_read or 0) / wall),
        "stage_seconds": {k: round(v, 2) for k, v in progress.seconds.items()},
        # CPU of the driver JVM (with local executors) and Python: on 2 cores, a stage whose
        # CPU seconds are near twice its wall seconds is using the whole machine.
        "stage_cpu_seconds": {k: round(v, 2) for k, v in progress.cpu_seconds.items()},
        "slowest_stage": max(progress.seconds, key=lambda k: progress.seconds[k]),
        "peak_rss_mb": {
            "driver_jvm": round(memory.peak_jvm_mb),
            "python": round(memory.peak_python_mb),
        },
        **shuffle_bytes(ui),
        "spark_conf": {
            k: v
            for k, v in spark.sparkContext.getConf().getAll()
            if k.startswith(("spark.driver.memory", "spark.sql.shuffle", "spark.sql.adaptive"))
        },
        "county_tables": len(record.county_versions),
    }
    if do_breakdown:
        result["breakdown_seconds"] = breakdown(input_path, ROOT)
    spark.stop()
    return result


def summary_table(figures: dict[str, Any]) -> str:
    """The figures for people: one line per stage, then the totals."""
    lines = [f"{'stage':<22}{'wall s':>9}{'cpu s':>9}"]
    cpu = figures.get("stage_cpu_seconds", {})
    for stage, seconds in figures["stage_seconds"].items():
        lines.append(f"{stage:<22}{seconds:>9.1f}{cpu.get(stage, 0.0):>9.1f}")
        if stage == "transform" and "breakdown_seconds" in figures:
            parts = figures["breakdown_seconds"]
            for part, part_seconds in parts.items():
                lines.append(f"  {part:<20}{part_seconds:>9.1f}   (alone, no-op write)")
            rest = seconds - sum(v for k, v in parts.items() if k != "read_staged")
            lines.append(f"  {'write (the rest)':<20}{max(rest, 0.0):>9.1f}")
    rss = figures["peak_rss_mb"]
    lines += [
        f"rows read              {figures['rows_read']:,}",
        f"wall (JVM start incl.) {figures['wall_seconds']:.1f} s",
        f"rows/s end to end      {figures['rows_per_second']:,}",
        f"slowest stage          {figures['slowest_stage']}",
        f"peak RSS               driver JVM {rss['driver_jvm']:,} MB, Python {rss['python']:,} MB",
        f"shuffle bytes          written {figures.get('shuffle_write_bytes', 0):,}, "
        f"read {figures.get('shuffle_read_bytes', 0):,}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="extract size (repeatable)")
    parser.add_argument("--input", type=Path, help="bench this extract instead")
    parser.add_argument(
        "--breakdown",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time normalize, history and eligibility alone (default: on)",
    )
    args = parser.parse_args(argv)
    inputs: list[tuple[Path, int | None]]
    if args.input:
        inputs = [(args.input, None)]
    else:
        inputs = [(extract_for(n), n) for n in (args.rows or [1_000_000, 5_000_000])]
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    for path, rows in inputs:
        print(f"\n== {path.name} ==")
        figures = bench_one(path, rows, args.breakdown)
        results.append(figures)
        print(summary_table(figures))
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    out = RESULTS / f"bench_{stamp}.json"
    out.write_text(
        json.dumps(
            {"machine": platform.node(), "cpus": os.cpu_count(), "results": results}, indent=2
        )
    )
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
