"""`make bench`: relief against the parse floor, on the same file, in the same run.

For each extract (1M and 5M generated rows, statewide and county-shaped, cached under
bench/cache/; or ``--input FILE``) the benchmark runs, each in a fresh Python process with
its own JVM (start-up included, as a person running relief pays it):

- **the floor**: Spark reads the CSV with every column parsed (column pruning off, a hash of
  every column aggregated) and groups the rows by SUBJECT_ID, written to the ``noop`` sink:
  what any Spark job that reads the extract and gathers each subject's history must do;
- **relief**: the statewide job (``relief.jobs.statewide.run``, as ``relief run``) into a fresh
  warehouse; on a county-shaped extract with ``--counties COUNTY``, as a DA runs it.

Both are measured from outside, by sampling ``/proc`` every 0.2 s for the whole process tree
(the Python driver, the JVM and the Python workers the JVM starts): wall seconds, CPU
seconds (user + system of every process seen in the tree) and peak RSS (the sum over the
tree). relief also reports wall and CPU seconds per stage from inside. The floor and relief
alternate (``--repeat``), so each ratio compares runs made under the same load. Results are
printed with the targets of issue 16 and written to bench/results/bench_<time>.json.

Not part of ``make test``; performance is checked here, never by timing assertions in tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from relief.jobs.runtime.progress import Progress

ROOT = Path(__file__).resolve().parent.parent / "bench"
CACHE = ROOT / "cache"
RESULTS = ROOT / "results"
COMPUTE_AT = dt.date(2026, 11, 22)
SEED = 64
DEFAULT_ROWS = (1_000_000, 5_000_000)
DEFAULT_COUNTY = "SAN JOAQUIN"
STATEWIDE, COUNTY_SHAPED = "statewide", "county"

# Targets of issue 16 (measured here, never asserted in tests).
TARGET_RATIO = 4.0  # relief / floor, every size and shape
TARGET_COUNTY_RATIO_1M = 2.5  # relief / floor on a 1M-line county-shaped extract
TARGET_PEAK_MB = 2048  # whole process tree

_CLOCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


# --- the process tree, from /proc ---------------------------------------------------------


def _stat(pid: int) -> tuple[int, int, float, int, str] | None:
    """(ppid, start time, CPU seconds, RSS bytes, name) of a process, or None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    head, tail = text.rsplit(")", 1)
    fields = tail.split()
    # after the name: state ppid ... utime(11) stime(12) ... starttime(19) vsize(20) rss(21)
    cpu = (int(fields[11]) + int(fields[12])) / _CLOCK
    return int(fields[1]), int(fields[19]), cpu, int(fields[21]) * _PAGE, head.split("(", 1)[1]


def _same_image(child: tuple[int, int, float, int, str], parent: tuple) -> bool:
    """A child that is still its parent's image with exactly its RSS: the JVM starting a
    Python worker (posix_spawn: a vfork child shares the JVM's memory until it execs), not
    memory of its own. Counting it would add the JVM's whole RSS for that instant."""
    return child[4] == parent[4] and child[3] == parent[3]


def _all_processes() -> dict[int, tuple[int, int, float, int, str]]:
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                found[int(entry.name)] = stat
    return found


class TreeSampler:
    """CPU seconds and peak RSS of a process and all its descendants, sampled from /proc.

    CPU is kept per process (its own user + system time at the last sample), so a Python
    worker that exits still counts, whoever reaps it; at most one interval of a process's
    last CPU is lost. RSS is the sum over the tree at each sample (shared pages of forked
    workers count in each: an upper bound), leaving out a child that is still its parent's
    image with the parent's exact RSS: the JVM spawning a Python worker shows for an instant
    as a second JVM of the same size (a vfork child shares the JVM's memory), which counted
    the JVM twice and made late worker starts look like a 1.4 GB peak.
    """

    def __init__(self, root: int, interval: float = 0.2) -> None:
        self.root = root
        self.interval = interval
        self._cpu: dict[tuple[int, int], float] = {}  # (pid, start time) -> CPU seconds
        self.peak_rss_bytes = 0
        self.processes_seen = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> float:
        """Sample now; return the tree's CPU seconds so far."""
        processes = _all_processes()
        children: dict[int, list[int]] = {}
        for pid, (ppid, *_rest) in processes.items():
            children.setdefault(ppid, []).append(pid)
        tree, stack = [], [self.root]
        while stack:
            pid = stack.pop()
            if pid in processes:
                tree.append(pid)
                stack.extend(children.get(pid, ()))
        with self._lock:
            rss = 0
            for pid in tree:
                ppid, start, cpu, resident, _ = processes[pid]
                self._cpu[(pid, start)] = cpu
                parent = processes.get(ppid)
                if pid != self.root and parent is not None and _same_image(processes[pid], parent):
                    continue
                rss += resident
            self.peak_rss_bytes = max(self.peak_rss_bytes, rss)
            self.processes_seen = len(self._cpu)
            return sum(self._cpu.values())

    @property
    def cpu_seconds(self) -> float:
        with self._lock:
            return sum(self._cpu.values())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> TreeSampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True, name="tree-sampler")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class CpuProgress(Progress):
    """Progress that also records the CPU seconds of the process tree in each stage."""

    def __init__(self, sampler: TreeSampler) -> None:
        super().__init__()
        self.sampler = sampler
        self.cpu_seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, description: str) -> Iterator[None]:
        before = self.sampler.sample()
        with super().stage(name, description):
            yield
        used = self.sampler.sample() - before
        self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + used


# --- extracts ---------------------------------------------------------------------------------


def extract_for(rows: int, shape: str, county: str) -> Path:
    """The cached generated extract of ``rows`` lines (made on first use)."""
    from relief.jobs.synthetic.generate import generate_extract

    CACHE.mkdir(parents=True, exist_ok=True)
    if shape == STATEWIDE:
        path = CACHE / f"extract_{rows}_seed{SEED}.csv"
    else:
        slug = county.lower().replace(" ", "-")
        path = CACHE / f"extract_{rows}_seed{SEED}_county-{slug}.csv"
    if not path.exists():
        print(f"generating {rows:,} rows into {path} (cached for next time)", flush=True)
        stats = generate_extract(
            path, rows=rows, seed=SEED, county_shaped=county if shape == COUNTY_SHAPED else None
        )
        print(f"  {stats}", flush=True)
    return path


# --- what runs in the measured processes ------------------------------------------------------


def floor_job(input_path: Path) -> dict[str, Any]:
    """Spark reads every column of the CSV and groups the rows by SUBJECT_ID (noop sink)."""
    from pyspark.sql import functions as F

    from relief.jobs.runtime.spark import build_session
    from relief.transforms.columns import DOJ_COLUMNS, SUBJECT_ID

    started = time.perf_counter()
    spark = build_session(
        "relief-bench-floor", conf={"spark.sql.csv.parser.columnPruning.enabled": "false"}
    )
    session_seconds = time.perf_counter() - started
    schema = ", ".join(f"`{c}` string" for c in DOJ_COLUMNS)
    rows = spark.read.schema(schema).option("header", "true").csv(str(input_path))
    grouped = rows.groupBy(SUBJECT_ID).agg(
        F.count(F.lit(1)).alias("lines"),
        # every column is read: the parse cannot skip a field
        F.max(F.xxhash64(*[F.col(c) for c in DOJ_COLUMNS])).alias("digest"),
    )
    start = time.perf_counter()
    grouped.write.format("noop").mode("overwrite").save()
    query_seconds = time.perf_counter() - start
    spark.stop()
    return {"session_seconds": round(session_seconds, 2), "query_seconds": round(query_seconds, 2)}


def relief_job(input_path: Path, warehouse: Path, county: str | None) -> dict[str, Any]:
    """The statewide job as ``relief run`` runs it, with CPU seconds per stage."""
    from relief.jobs.statewide import RunOptions, run

    shutil.rmtree(warehouse, ignore_errors=True)
    with TreeSampler(os.getpid(), interval=0.5) as sampler:
        progress = CpuProgress(sampler)
        record = run(
            RunOptions(
                inputs=str(input_path),
                warehouse=warehouse,
                compute_at=COMPUTE_AT,
                counties=[county] if county else None,
            ),
            progress,
        )
    shutil.rmtree(warehouse, ignore_errors=True)
    return {
        "status": record.status,
        "rows_read": record.rows_read,
        "rows_quarantined": record.rows_quarantined,
        "county_tables": len(record.county_versions),
        "county_rows": sum(int(v["rows"]) for v in record.county_versions),
        "validation": record.validation,
        "stage_seconds": {k: round(v, 2) for k, v in progress.seconds.items()},
        "stage_cpu_seconds": {k: round(v, 2) for k, v in progress.cpu_seconds.items()},
    }


def _child_main(argv: list[str]) -> int:
    kind, out = argv[0], Path(argv[1])
    if kind == "floor":
        figures = floor_job(Path(argv[2]))
    else:
        figures = relief_job(Path(argv[2]), Path(argv[3]), argv[4] or None)
    out.write_text(json.dumps(figures))
    return 0


def measure(kind: str, args: list[str]) -> dict[str, Any]:
    """Run one measured process (``floor`` or ``relief``); its figures and the tree's."""
    out = ROOT / f".{kind}-figures.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "relief.jobs.bench", "--child", kind, str(out), *args]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with TreeSampler(process.pid) as sampler:
        _, stderr = process.communicate()
        wall = time.perf_counter() - started
    if process.returncode != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-15:]
        raise RuntimeError(f"{kind} run failed (exit {process.returncode}):\n" + "\n".join(tail))
    figures = json.loads(out.read_text())
    out.unlink()
    return {
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(sampler.cpu_seconds, 2),
        "peak_rss_mb": round(sampler.peak_rss_bytes / 2**20),
        "processes": sampler.processes_seen,
        **figures,
    }


# --- the benchmark ------------------------------------------------------------------------


def bench_file(input_path: Path, shape: str, county: str | None, repeat: int) -> dict[str, Any]:
    lines = _count_lines(input_path)
    floors: list[dict[str, Any]] = []
    reliefs: list[dict[str, Any]] = []
    warehouse = ROOT / "warehouse"
    for i in range(repeat):
        # Alternate which goes first, so neither always meets the other's after-effects.
        order = ("floor", "relief") if i % 2 == 0 else ("relief", "floor")
        for kind in order:
            if kind == "floor":
                floors.append(measure("floor", [str(input_path)]))
                print(f"  floor   {_line(floors[-1], lines)}", flush=True)
            else:
                reliefs.append(measure("relief", [str(input_path), str(warehouse), county or ""]))
                print(f"  relief  {_line(reliefs[-1], lines)}", flush=True)
    ratios = [r["wall_seconds"] / f["wall_seconds"] for f, r in zip(floors, reliefs, strict=True)]
    best = min(range(repeat), key=lambda i: reliefs[i]["wall_seconds"])
    return {
        "input": str(input_path),
        "input_bytes": input_path.stat().st_size,
        "lines": lines,
        "shape": shape,
        "county": county,
        "ratio": round(statistics.median(ratios), 2),
        "ratios": [round(r, 2) for r in ratios],
        "floor": floors,
        "relief": reliefs,
        "relief_stage_cpu_us_per_line": {
            k: round(v * 1e6 / lines, 1) for k, v in reliefs[best]["stage_cpu_seconds"].items()
        },
        "peak_rss_mb": max(r["peak_rss_mb"] for r in reliefs),
    }


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 24):
            count += block.count(b"\n")
    return count


def _line(figures: dict[str, Any], lines: int) -> str:
    return (
        f"wall {figures['wall_seconds']:7.1f} s  cpu {figures['cpu_seconds']:7.1f} s "
        f"({figures['cpu_seconds'] * 1e6 / lines:5.1f} µs/line)  "
        f"peak {figures['peak_rss_mb']:,} MB"
    )


def targets(result: dict[str, Any]) -> list[str]:
    """The issue's targets for one extract, each with its verdict."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    found = [
        f"relief/floor {result['ratio']:.2f} (target <= {TARGET_RATIO}): "
        f"{verdict(result['ratio'] <= TARGET_RATIO)}",
        f"peak RSS {result['peak_rss_mb']:,} MB (target <= {TARGET_PEAK_MB}): "
        f"{verdict(result['peak_rss_mb'] <= TARGET_PEAK_MB)}",
    ]
    if result["shape"] == COUNTY_SHAPED and result["lines"] <= 1_100_000:
        found.append(
            f"county file relief/floor {result['ratio']:.2f} "
            f"(target <= {TARGET_COUNTY_RATIO_1M}): "
            f"{verdict(result['ratio'] <= TARGET_COUNTY_RATIO_1M)}"
        )
    return found


def report(result: dict[str, Any]) -> str:
    best = min(result["relief"], key=lambda r: r["wall_seconds"])
    lines = [f"{'stage':<14}{'wall s':>9}{'cpu s':>9}{'cpu µs/line':>13}"]
    for stage, seconds in best["stage_seconds"].items():
        cpu = best["stage_cpu_seconds"].get(stage, 0.0)
        lines.append(f"{stage:<14}{seconds:>9.1f}{cpu:>9.1f}{cpu * 1e6 / result['lines']:>13.1f}")
    lines.append(
        f"ratios relief/floor per repetition: {', '.join(f'{r:.2f}' for r in result['ratios'])}"
    )
    lines += [f"  {t}" for t in targets(result)]
    return "\n".join(lines)


def _document(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "settings": _settings(),
        "targets": {
            "ratio": TARGET_RATIO,
            "county_ratio_1m": TARGET_COUNTY_RATIO_1M,
            "peak_rss_mb": TARGET_PEAK_MB,
        },
        "results": results,
    }


def _settings() -> dict[str, str]:
    """conf/pipeline.yaml as the measured runs read it."""
    from relief.jobs.runtime.spark import default_conf

    return default_conf()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child_main(argv[1:])
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="extract size (repeatable)")
    parser.add_argument(
        "--shape",
        choices=(STATEWIDE, COUNTY_SHAPED),
        action="append",
        help="generated extract: statewide, or county-shaped (every subject has a Prop 64 "
        "conviction in --county); repeatable, default both",
    )
    parser.add_argument("--county", default=DEFAULT_COUNTY, help="county of county-shaped runs")
    parser.add_argument("--input", type=Path, help="bench this extract instead")
    parser.add_argument(
        "--input-county", help="with --input: run relief with --counties this county"
    )
    parser.add_argument("--repeat", type=int, default=1, help="floor/relief pairs per extract")
    args = parser.parse_args(argv)
    jobs_to_run: list[tuple[Path, str, str | None]] = []
    if args.input:
        shape = COUNTY_SHAPED if args.input_county else STATEWIDE
        jobs_to_run.append((args.input, shape, args.input_county))
    else:
        for rows in args.rows or DEFAULT_ROWS:
            for shape in args.shape or (STATEWIDE, COUNTY_SHAPED):
                county = args.county if shape == COUNTY_SHAPED else None
                jobs_to_run.append((extract_for(rows, shape, args.county), shape, county))
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    out = RESULTS / f"bench_{stamp}.json"
    for path, shape, county in jobs_to_run:
        print(f"\n== {path.name} ({shape}{', --counties ' + county if county else ''}) ==")
        result = bench_file(path, shape, county, max(args.repeat, 1))
        results.append(result)
        print(report(result), flush=True)
        # Written after every extract: a long bench stopped part way keeps what it measured.
        out.write_text(json.dumps(_document(results), indent=2))
    print("\nsummary")
    for result in results:
        print(f"  {Path(result['input']).name}: " + "; ".join(targets(result)))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
