"""County pull: one county's Delta table to files a DA's office can open, without Spark or Java.

``relief county pull`` (jobs/county/cli.py) reads ONLY ``<warehouse>/counties/<slug>`` with
delta-rs (``deltalake``) into pyarrow. Nothing here imports pyspark, so a county needs
``pip install`` and no JVM (DESIGN.md, Key decisions). Another county's table is never
opened, listed or statted.

Formats (``--format``):

- ``csv`` / ``parquet``: every row of the table in input order (INPUT_INDEX, SOURCE_LINE) with
  a stable column order (:func:`pull_column_order`). The CSV is UTF-8 with a byte-order mark
  (Excel reads accented names), formula-safe (a value a spreadsheet would evaluate starts
  with ``'``, jobs/county/csv.py); a null is an empty field and an empty string is ``""``;
  nested columns (decision inputs) are JSON text.
- ``xlsx``: sheets "Prop 64 convictions", "Prop 64 condensed" and "All rows", decisions
  first, bold frozen header with filters, dates as dates (jobs/county/xlsx.py). Text is
  always stored as text (a name starting with ``=`` never becomes a formula).
- ``gogen``: the reference tool's files, DOMAIN.md §6 (jobs/county/gogen.py), byte for byte
  in its format (no BOM); ``--suffix S`` names them ``All_Results_S.csv`` ... as the
  reference's ``--file-name-suffix`` does.

By default the pull reads the version the runs ledger publishes (the latest succeeded run's;
jobs/warehouse/publication.py), never a newer version a dead run left.
``--version N`` / ``--run RUN_ID`` read the table as of that Delta version (a run's version is
the one whose commit metadata carries its run_id), so an earlier pull is reproduced exactly:
csv, parquet and gogen output is byte-identical; xlsx holds the same cells.

Everything written is owner-only: files 0600, and directories the command creates 0700.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from relief.jobs.county import xlsx
from relief.jobs.county.csv import CsvStyle
from relief.jobs.county.csv import write_csv as write_table_csv
from relief.jobs.county.gogen import ALL_RESULTS, gogen_file_name, write_gogen
from relief.jobs.county.laws import PROP64, check_law, law_view, prop64_snapshot
from relief.jobs.warehouse.access import (
    owner_only,
    private_dir,
    private_file,
    refuse_inside_warehouse,
)
from relief.jobs.warehouse.snapshots import (
    CountySnapshot,
    PullError,
    Readable,
    open_reader,
    open_snapshot,
    resolve_county,
)
from relief.transforms.columns import (
    INPUT_INDEX,
    KEPT_DOJ_COLUMNS,
    RECORD_ID,
    SOURCE_FILE,
    SOURCE_LINE,
)
from relief.transforms.vocabulary import Counties, County


class PullFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    XLSX = "xlsx"
    GOGEN = "gogen"


# --- csv, parquet, xlsx --------------------------------------------------------------------


def pull_column_order(names: Sequence[str]) -> list[str]:
    """Provenance, then the DOJ columns in extract order, then relief's columns as stored."""
    lead = [RECORD_ID, SOURCE_FILE, SOURCE_LINE, INPUT_INDEX, *KEPT_DOJ_COLUMNS]
    first = [c for c in lead if c in names]
    return first + [c for c in names if c not in first]


def _plain(value: Any, kind: pa.DataType) -> Any:
    """A nested Arrow value as JSON-ready Python (maps become objects)."""
    if value is None:
        return None
    if pa.types.is_map(kind):
        return {str(k): _plain(v, kind.item_type) for k, v in value}
    if pa.types.is_struct(kind):
        return {f.name: _plain(value.get(f.name), f.type) for f in kind}
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return [_plain(v, kind.value_type) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def nested_as_json(table: pa.Table) -> pa.Table:
    """Nested columns (maps, structs, lists) replaced by their JSON text."""
    for index, column in enumerate(table.schema):
        if pa.types.is_nested(column.type):
            text = [
                None if v is None else json.dumps(_plain(v, column.type), sort_keys=True)
                for v in table.column(index).to_pylist()
            ]
            table = table.set_column(index, column.name, pa.array(text, pa.string()))
    return table


def pull_table(snapshot: CountySnapshot) -> pa.Table:
    return snapshot.table.select(pull_column_order(snapshot.table.column_names))


def write_csv(table: pa.Table, path: Path) -> None:
    """The pull as a spreadsheet CSV (jobs/county/csv.py): UTF-8 with a byte-order mark,
    formula-safe, a null an empty field and an empty string ``""``."""
    write_table_csv(path, nested_as_json(table), CsvStyle.SPREADSHEET)


def write_parquet(table: pa.Table, path: Path) -> None:
    with private_file(path) as temporary:
        pq.write_table(table, str(temporary))


def write_xlsx(table: pa.Table, path: Path) -> None:
    """The workbook (jobs/county/xlsx.py): decisions first, filters, dates as dates."""
    xlsx.write_xlsx(nested_as_json(table), path)


# --- the pull --------------------------------------------------------------------------------


@dataclass
class PullResult:
    county: County
    version: int
    latest_version: int
    run_id: str | None
    rows: int
    files: list[Path] = field(default_factory=list)
    served: str = ""  # which version, and whether it is the published one


def pull_file_name(county: County, version: int, fmt: PullFormat, law: str | None = None) -> str:
    if law is not None and law != PROP64:
        return f"{county.slug}_{law}_v{version}.{fmt.value}"
    return f"{county.slug}_v{version}.{fmt.value}"


def pull(
    warehouse: Readable,
    county_name: str,
    out: Path,
    fmt: PullFormat = PullFormat.CSV,
    version: int | None = None,
    run_id: str | None = None,
    counties: Counties | None = None,
    suffix: str = "",
    law: str | None = None,
) -> PullResult:
    """Read the county's table (only that one) and write it to ``out`` in ``fmt``.

    ``suffix`` (gogen only): added to the reference files' names as the reference's
    ``--file-name-suffix`` adds it (``All_Results_<suffix>.csv``, ``summary_<suffix>.json``).
    ``law``: a statewide law's rows and columns (jobs/county/laws.py law_view); None or
    ``prop64``: the Prop 64 pull.
    """
    check_law(law)
    if law not in (None, PROP64) and fmt is PullFormat.GOGEN:
        raise PullError("--format gogen is the reference tool's Prop 64 files; not for --law", 2)
    if suffix:
        if fmt is not PullFormat.GOGEN:
            raise PullError("--suffix names the gogen files; give it with --format gogen", 2)
        try:
            gogen_file_name(ALL_RESULTS, suffix)
        except ValueError as exc:
            raise PullError(f"--suffix {exc}", exit_code=2) from None
    county = resolve_county(county_name, counties)
    context = open_reader(warehouse)  # one ledger read: the snapshot and the output agree
    refuse_inside_warehouse(out, context.warehouse.root)
    # A table a run with statewide laws wrote: Prop 64's rows and columns unless --law.
    raw = open_snapshot(context, county, version=version, run_id=run_id)
    snapshot = prop64_snapshot(raw)
    result = PullResult(
        county=county,
        version=snapshot.version,
        latest_version=snapshot.latest_version,
        run_id=snapshot.run_id,
        rows=snapshot.table.num_rows,
        served=snapshot.served(),
    )
    with owner_only():
        private_dir(out)
        if fmt is PullFormat.GOGEN:
            result.files = write_gogen(snapshot, out, suffix=suffix)
            return result
        target = out / pull_file_name(county, snapshot.version, fmt, law)
        if law is not None and law != PROP64:
            table = law_view(pull_table(raw), law)
        else:
            table = pull_table(snapshot)
        result.rows = table.num_rows
        if fmt is PullFormat.CSV:
            write_csv(table, target)
        elif fmt is PullFormat.PARQUET:
            write_parquet(table, target)
        else:
            write_xlsx(table, target)
        result.files = [target]
    return result
