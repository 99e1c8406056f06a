"""The zip-writer: each county's Parquet files from the staged wide rows and the narrow facts.

The transform (jobs/statewide.py ``annotate_facts``) reads only the few raw columns it needs
and writes *facts*: per line and county, the columns it adds (normalized, history,
determinations), keyed by the byte range the line was staged from and its line in that
range. A county table row is the line's staged raw columns followed by its facts. This
module puts them together without moving the wide rows through the JVM again: Arrow tasks
(as the ingest pass), each over a run of consecutive byte ranges, read each range's staged
Parquet file and the range's facts, take the facts' lines from the staged rows, add the
provenance columns (transforms/ingest.py ``with_provenance``, the same values) and the fact
columns, and write one Parquet file per county and task (a row group per range) under
``<directory>/target_county=<slug>/``: the layout Spark's ``partitionBy`` writes, which
jobs/warehouse/storage.py ``staged_partitions`` lists and Spark reads back for conservation,
validation and the summary. Two tasks per core: a file per range (thousands statewide) made
every later read of the tables and the commit slower.

No wide shuffle and no wide sort: the staged rows are read once, in their own order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyarrow import fs as pafs
from pyspark.sql import SparkSession

from relief.jobs.warehouse import fs
from relief.transforms.columns import (
    INPUT_INDEX,
    KEPT_DOJ_COLUMNS,
    RECORD_ID,
    SOURCE_FILE,
    SOURCE_LINE,
    TARGET_COUNTY,
)
from relief.transforms.ingest import LOCAL_LINE

FACTS_RANGE = "range_id"  # the facts' partition column: RANGE_ID under a name Spark lists
_RESULT_DDL = "range_id int, county string, rows long, path string"
# (range id, source file, input index, lines before, fingerprint): IngestPass.ranges
Range = tuple[int, str, int, int, str]


def facts_dir(directory: str, range_id: int) -> str:
    return fs.join(directory, f"{FACTS_RANGE}={range_id}")


def county_file(directory: str, slug: str, range_id: int) -> str:
    return fs.join(directory, f"{TARGET_COUNTY}={slug}", f"part-{range_id:05d}.parquet")


def _read_facts(directory: str, range_id: int) -> pa.Table | None:
    filesystem, path = fs.filesystem(facts_dir(directory, range_id))
    if filesystem.get_file_info(path).type != pafs.FileType.Directory:
        return None  # no line of the range reached a county table
    table = ds.dataset(path, filesystem=filesystem, format="parquet").to_table()
    return table if table.num_rows else None


def zip_range(
    spec: Range, staged_path: str, facts_directory: str, schema: pa.Schema
) -> dict[str, pa.Table]:
    """The county rows of one byte range: county slug -> rows in line order."""
    range_id, source_file, input_index, lines_before, fingerprint = spec
    facts = _read_facts(facts_directory, range_id)
    if facts is None:
        return {}
    # By county, then line: each county's rows are one slice of the table (no copy).
    facts = facts.sort_by([(TARGET_COUNTY, "ascending"), (LOCAL_LINE, "ascending")])
    filesystem, path = fs.filesystem(staged_path)
    staged = pq.read_table(path, filesystem=filesystem, columns=[*KEPT_DOJ_COLUMNS, LOCAL_LINE])
    lines = staged.column(LOCAL_LINE).to_numpy()
    order = np.argsort(lines, kind="stable")
    wanted = facts.column(LOCAL_LINE).to_numpy()
    found = np.searchsorted(lines, wanted, sorter=order)
    at = order[np.minimum(found, max(len(lines) - 1, 0))] if len(lines) else found
    if not len(lines) or (found >= len(lines)).any() or (lines[at] != wanted).any():
        raise RuntimeError(f"facts of range {range_id} name lines its staged file lacks")
    wide = staged.take(pa.array(at))
    del staged
    line = pa.array(lines_before + wanted.astype(np.int64), pa.int64())
    n = facts.num_rows
    provenance = {
        RECORD_ID: pc.binary_join_element_wise(
            pa.array([fingerprint[:16]] * n, pa.string()), pc.cast(line, pa.string()), "-"
        ),
        SOURCE_FILE: pa.array([source_file] * n, pa.string()),
        SOURCE_LINE: line,
        INPUT_INDEX: pa.array(np.full(n, input_index, dtype=np.int32)),
    }

    def column(name: str) -> pa.ChunkedArray | pa.Array:
        if name in provenance:
            return provenance[name]
        if name in KEPT_DOJ_COLUMNS:
            return wide.column(name)
        return facts.column(name)

    arrays = []
    for field in schema:
        values = column(field.name)
        if isinstance(values, pa.Array):
            values = pa.chunked_array([values])
        arrays.append(pc.cast(values, field.type))
    table = pa.Table.from_arrays(arrays, schema=schema)
    slices, start = {}, 0
    for slug, run in groupby(facts.column(TARGET_COUNTY).to_pylist()):
        length = sum(1 for _ in run)
        slices[slug] = table.slice(start, length)
        start += length
    return slices


def zip_group(
    group: int,
    specs: list[Range],
    staged_paths: list[str],
    facts_directory: str,
    out_directory: str,
    schema: pa.Schema,
) -> list[dict[str, Any]]:
    """One task: a run of consecutive byte ranges, one Parquet file per county (a row group
    per range), so a county's table is a few files, not one per range. (group, county,
    rows, path) of each file written."""
    out_fs, _ = fs.filesystem(out_directory)
    writers: dict[str, tuple[pq.ParquetWriter, str]] = {}
    rows: dict[str, int] = {}
    try:
        for spec, staged_path in zip(specs, staged_paths, strict=True):
            for slug, table in zip_range(spec, staged_path, facts_directory, schema).items():
                if slug not in writers:
                    target = county_file(out_directory, slug, group)
                    _, target_path = fs.filesystem(target)
                    out_fs.create_dir(target_path.rsplit("/", 1)[0], recursive=True)
                    writer = pq.ParquetWriter(
                        target_path, schema, filesystem=out_fs, compression="snappy"
                    )
                    writers[slug] = (writer, target)
                writers[slug][0].write_table(table)
                rows[slug] = rows.get(slug, 0) + table.num_rows
    finally:
        for writer, _ in writers.values():
            writer.close()
    return [
        {"range_id": group, "county": slug, "rows": rows[slug], "path": target}
        for slug, (_, target) in sorted(writers.items())
    ]


def _zip_task(
    groups: list[list[int]],
    ranges: list[Range],
    staged_paths: list[str],
    facts_directory: str,
    out_directory: str,
    schema: pa.Schema,
) -> Callable[[Iterable[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    result_schema = pa.schema(
        [
            ("range_id", pa.int32()),
            ("county", pa.string()),
            ("rows", pa.int64()),
            ("path", pa.string()),
        ]
    )

    def run(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for group in batch.column(0).to_pylist():
                members = groups[group]
                written = zip_group(
                    group,
                    [ranges[i] for i in members],
                    [staged_paths[i] for i in members],
                    facts_directory,
                    out_directory,
                    schema,
                )
                yield pa.RecordBatch.from_pylist(written, schema=result_schema)

    return run


def range_groups(count: int, tasks: int) -> list[list[int]]:
    """``count`` ranges in at most ``tasks`` runs of consecutive ranges, sizes within one."""
    tasks = max(1, min(tasks, count))
    size, extra = divmod(count, tasks)
    groups, start = [], 0
    for i in range(tasks):
        end = start + size + (1 if i < extra else 0)
        groups.append(list(range(start, end)))
        start = end
    return groups


def write_county_files(
    spark: SparkSession,
    ranges: list[Range],
    staged_paths: list[str],
    facts_directory: str,
    out_directory: str,
    schema: pa.Schema,
) -> list[dict[str, Any]]:
    """Write every county file: one Spark task per run of consecutive byte ranges, two per
    core (spark.default.parallelism), so a county's table has that many files at most.
    What each task wrote."""
    if not ranges:
        return []
    groups = range_groups(len(ranges), 2 * spark.sparkContext.defaultParallelism)
    task = _zip_task(groups, ranges, staged_paths, facts_directory, out_directory, schema)
    rows = (
        spark.range(0, len(groups), 1, len(groups))
        .mapInArrow(task, _RESULT_DDL)
        .collect()  # one small row per file written
    )
    return [r.asDict() for r in rows]
