"""The grants table: what the statewide law packs granted, run after run (docs/laws.md §7).

``<warehouse>/grants/`` is a Delta table, DOJ-only like quarantine/, append-only: one row per
candidate a run granted relief for the first time (PC 1203.425 ``Eligible for Dismissal``,
PC 851.93 ``Eligible for Arrest Relief``), keyed by the law and the candidate line's natural
key (``row_key``, transforms/identity.py), which survives a refreshed extract. A record
granted once is never granted again: the next month's run reads this table and marks the
candidate ``earlier`` instead of ``new`` (transforms/law_grants.py).

- **Read** at the version the latest succeeded ledger row names (publication.py
  ``grants``), resolved on the driver before Spark starts: :func:`published_grants_files`
  gives Spark the data files of that version (the table grows every month), and
  :func:`read_published_grants` gives readers the rows. :func:`earliest_grants` keeps the
  earliest grant per (law, row_key) among runs with a compute-at before this run's: a
  forced re-run of the same month decides that month again instead of finding its own
  grants.
- **Write** after the county tables commit and before the ledger's final row
  (:func:`commit_staged_grants` for Spark's staged Parquet, :func:`append_grants` for an
  Arrow table); the final row names the version (``grants_version``). A run that dies
  after appending leaves a version nobody publishes; recovery.py rolls it back like a
  county version (the table is in its list).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from relief.jobs.warehouse.fs import Location
from relief.jobs.warehouse.publication import Publication
from relief.jobs.warehouse.storage import (
    Warehouse,
    append_rows,
    commit_files,
    open_table,
    read_arrow,
)

LAW = "law"
ROW_KEY = "row_key"
SUBJECT = "subject"
COUNTY = "county"
RULE_ID = "rule_id"
CITATION = "citation"
DETERMINATION = "determination"
RUN_ID = "run_id"
COMPUTE_AT = "compute_at"

GRANTS_SCHEMA = pa.schema(
    [
        (LAW, pa.string()),  # pc1203.425 | pc851.93
        (ROW_KEY, pa.string()),  # the candidate line's natural key
        (SUBJECT, pa.string()),
        (COUNTY, pa.string()),  # the county table it was granted in (slug)
        (RULE_ID, pa.string()),
        (CITATION, pa.string()),
        (DETERMINATION, pa.string()),
        (RUN_ID, pa.string()),  # the granting run
        (COMPUTE_AT, pa.date32()),
    ]
)
# What an earlier grant tells the join: the run that first granted it, and its compute-at.
EARLIER_SCHEMA = pa.schema(
    [(LAW, pa.string()), (ROW_KEY, pa.string()), (RUN_ID, pa.string()), (COMPUTE_AT, pa.date32())]
)


def grants_location(warehouse: Warehouse) -> Location:
    return warehouse.grants


def _published_table(warehouse: Warehouse, published: Publication) -> Any:
    entry = published.grants
    if entry is None:
        return None
    return open_table(warehouse.grants, entry.version)


def read_published_grants(
    warehouse: Warehouse, published: Publication, columns: Sequence[str] | None = None
) -> pa.Table:
    """Every row of the published version (an empty table when nothing was granted yet)."""
    table = _published_table(warehouse, published)
    if table is None:
        empty = GRANTS_SCHEMA.empty_table()
        return empty.select(list(columns)) if columns is not None else empty
    return read_arrow(warehouse.grants, table, columns=columns)


def published_grants_files(warehouse: Warehouse, published: Publication) -> list[str]:
    """The data files of the published version, for Spark to read (none: nothing granted)."""
    table = _published_table(warehouse, published)
    return [] if table is None else list(table.file_uris())


def earliest_grants(grants: pa.Table, compute_at: dt.date) -> pa.Table:
    """Per (law, row_key), the earliest grant among runs with a compute-at before
    ``compute_at`` (earliest compute-at, then run id): EARLIER_SCHEMA."""
    if grants.num_rows == 0:
        return EARLIER_SCHEMA.empty_table()
    before = grants.filter(pc.less(grants[COMPUTE_AT], pa.scalar(compute_at, pa.date32())))
    ordered = before.select([LAW, ROW_KEY, RUN_ID, COMPUTE_AT]).sort_by(
        [
            (LAW, "ascending"),
            (ROW_KEY, "ascending"),
            (COMPUTE_AT, "ascending"),
            (RUN_ID, "ascending"),
        ]
    )
    if ordered.num_rows == 0:
        return EARLIER_SCHEMA.empty_table()
    law = ordered[LAW].combine_chunks()
    key = ordered[ROW_KEY].combine_chunks()
    changed = np.ones(ordered.num_rows, dtype=bool)
    changed[1:] = pc.not_equal(law[1:], law[:-1]).to_numpy(zero_copy_only=False) | pc.not_equal(
        key[1:], key[:-1]
    ).to_numpy(zero_copy_only=False)
    return ordered.filter(pa.array(changed)).cast(EARLIER_SCHEMA)


def _metadata(run_id: str, compute_at: dt.date, rows: int) -> dict[str, Any]:
    return {"run_id": run_id, "compute_at": compute_at.isoformat(), "grants": str(rows)}


def append_grants(
    warehouse: Warehouse, rows: pa.Table, run_id: str, compute_at: dt.date
) -> int | None:
    """Append this run's new grants (GRANTS_SCHEMA) as one commit; the new version, or None
    when there is nothing to append (the table is left as it was)."""
    if rows.num_rows == 0:
        return None
    rows = rows.select(GRANTS_SCHEMA.names).cast(GRANTS_SCHEMA)
    if set(pc.unique(rows[RUN_ID]).to_pylist()) != {run_id}:
        raise ValueError(f"grants appended by run {run_id} must all name it as their run")
    return append_rows(warehouse.grants, rows, _metadata(run_id, compute_at, rows.num_rows))


def commit_staged_grants(
    warehouse: Warehouse,
    files: Sequence[Location],
    run_id: str,
    compute_at: dt.date,
    rows: int,
) -> int | None:
    """Commit Spark's staged Parquet of new grants (GRANTS_SCHEMA) as one appended version;
    None when there are none."""
    if not files or rows == 0:
        return None
    return commit_files(
        warehouse.grants,
        files,
        run_id,
        _metadata(run_id, compute_at, rows),
        mode="append",
        schema=GRANTS_SCHEMA,
    )
