"""Baseline for the closing note of the trustworthy-writes issue: the county write done the
naive way, by collecting the annotated rows to the driver (``toArrow``) and writing each
county with ``deltalake.write_deltalake``. The statewide job never does this; the script
exists only to measure what the distributed write (executors stage Parquet, the driver
commits file lists) saves.

    .venv/bin/python bench/collect_write_baseline.py EXTRACT.csv

Prints the seconds of ingest, and of annotate + write done the collecting way; compare with
the ``transform`` + ``commit`` stages of ``relief run`` (or ``make bench``) on the same file.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.compute as pc
from deltalake import write_deltalake

from jobs.spark import build_session
from jobs.statewide import RunOptions, annotate, prepare, stage_ingest
from transforms import ingest
from transforms.columns import TARGET_COUNTY


def main(path: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="relief-baseline-"))
    try:
        started = time.perf_counter()
        spark = build_session("relief-collect-baseline")
        prepared = prepare(RunOptions(inputs=path, warehouse=work))
        rows = ingest.kept_rows(stage_ingest(spark, prepared.files, work / "ingested")[0])
        ingested = time.perf_counter()
        annotated = annotate(rows, prepared, dt.date(2026, 11, 22))
        table = annotated.toArrow()  # the whole output on the driver
        collected = time.perf_counter()
        counties = pc.unique(table[TARGET_COUNTY]).to_pylist()
        for county in counties:
            part = table.filter(pc.equal(table[TARGET_COUNTY], county))
            write_deltalake(str(work / "counties" / county), part, mode="overwrite")
        done = time.perf_counter()
        print(f"rows out        {table.num_rows:,} in {len(counties)} counties")
        print(f"ingest          {ingested - started:7.1f} s (with JVM start)")
        print(f"annotate+collect{collected - ingested:7.1f} s")
        print(f"delta writes    {done - collected:7.1f} s")
        print(f"annotate+write  {done - ingested:7.1f} s  <- compare: transform + commit")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1])
