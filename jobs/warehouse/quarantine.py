"""`relief quarantine`: what was set aside, by reason (reads the Delta table, no Spark).

Reads the quarantine table at the version the runs ledger publishes (publication.py): the
lines a dead run appended are not shown.
"""

from __future__ import annotations

import pyarrow.compute as pc

from relief.jobs.warehouse.snapshots import Readable, ReaderContext, open_reader
from relief.jobs.warehouse.storage import Warehouse, open_table, read_arrow
from relief.transforms.columns import RUN_ID


def summarise(warehouse_dir: Readable, run_id: str | None = None) -> list[str]:
    if isinstance(warehouse_dir, ReaderContext):
        context = warehouse_dir
    else:
        try:
            warehouse = Warehouse(warehouse_dir)
        except ValueError as exc:  # fs.LocationError: a path delta-rs would misread
            raise FileNotFoundError(f"--warehouse {exc}") from None
        if not warehouse.exists():
            raise FileNotFoundError(f"{warehouse_dir}: no such warehouse")
        context = open_reader(warehouse_dir)  # one ledger read
    warehouse = context.warehouse
    published = context.publication.quarantine
    table = open_table(warehouse.quarantine) if published is not None else None
    if table is None or published is None:
        return ["no quarantined lines: every input line so far was kept"]
    if published.version != table.version():
        table = open_table(warehouse.quarantine, published.version)
        assert table is not None
    data = read_arrow(
        warehouse.quarantine, table, columns=[RUN_ID, "reason", "source_file", "source_line"]
    )
    if run_id is not None:
        data = data.filter(pc.equal(data[RUN_ID], run_id))
    if data.num_rows == 0:
        return [f"no quarantined lines{' for run ' + run_id if run_id else ''}"]
    lines = [
        f"{data.num_rows:,} quarantined line(s) (quarantine table version {published.version}, "
        f"published by run {published.named_by})"
    ]
    grouped = data.group_by([RUN_ID, "reason"]).aggregate(
        [("source_line", "count"), ("source_file", "count_distinct")]
    )
    for row in sorted(
        grouped.to_pylist(), key=lambda r: (r[RUN_ID], -r["source_line_count"], r["reason"])
    ):
        lines.append(
            f"  run {row['run_id']}  {row['source_line_count']:>8,}  {row['reason']}"
            f"  ({row['source_file_count_distinct']} file(s))"
        )
    return lines
