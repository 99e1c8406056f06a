"""County pull: one county's Delta table to files a DA's office can open, without Spark or Java.

``relief county pull`` (jobs/county_cmd.py) reads ONLY ``<warehouse>/counties/<slug>`` with
delta-rs (``deltalake``) into pyarrow. Nothing here imports pyspark, so a county needs
``pip install`` and no JVM (DESIGN.md, Key decisions). Another county's table is never
opened, listed or statted.

Formats (``--format``):

- ``csv`` / ``parquet``: every row of the table in input order (INPUT_INDEX, SOURCE_LINE) with
  a stable column order (:func:`pull_column_order`). In CSV, a null is an empty field and an
  empty string is ``""``; nested columns (decision inputs) are JSON text.
- ``xlsx``: sheet "Prop 64 convictions" (the county's candidates) and sheet "All rows", each
  with a frozen header row. Text is always stored as text (a name starting with ``=`` never
  becomes a formula).
- ``gogen``: the reference tool's files, DOMAIN.md §6 (:func:`write_gogen`).

``--version N`` / ``--run RUN_ID`` read the table as of that Delta version (a run's version is
the one whose commit metadata carries its run_id), so an earlier pull is reproduced exactly:
csv, parquet and gogen output is byte-identical; xlsx holds the same cells.

Everything written is owner-only: files 0600, and directories the command creates 0700.

The gogen export (DOMAIN.md §6), and where relief had to choose:

- ``All_Results.csv``: the 95 DOJ columns (header RECORD_ID ... END_OF_REC; REQ_CDL, REQ_SSN,
  PRI_SSN and PRI_CDL were dropped at ingest and are written empty), then the 18 eligibility
  columns. ``All_Results_Condensed.csv``: the 20 condensed DOJ columns, then the 18.
  ``Prop64_Results.csv``: the All_Results layout, only rows with a determination. Rows in
  input order. CSV quoting is Go's encoding/csv (the reference's writer): a field is quoted
  only if it holds a comma, a quote, CR or LF, or starts with white space; lines end in LF.
- The 18 columns are filled on rows with a determination (the county's Prop 64
  convictions), exactly as the reference fills its eligibility info. On every other row they
  are empty, except "Possible Other P64 Charges", which the reference writes on every row.
- Dates: a partial date counts as its earliest possible day (DOMAIN.md §1), so "Date of
  Conviction" is that day and "Years Since ..." are measured from it, at the version's
  compute-at (commit metadata), as (days / 365.25) with one decimal; -1.0 when the date is
  blank. A blank conviction date is written ``-`` (the reference would print 01/01/0001).
  "Occurred after 11/9/2016" is ``Y`` when the conviction is after 2016-11-09 on every
  possible day, ``N`` when on none, ``-`` when a blank or partial date leaves it open.
- Code sections in "Superstrike/PC290 Code Section(s)" are joined with ``;`` as the
  reference joins them; ``-`` when none.
- ``summary.json``: the reference's keys and value shapes (Go ``json.Marshal``: compact,
  map keys sorted, ``<``/``>``/``&`` escaped), figures from :func:`gogen_summary`.
  ``processingTimeInSeconds`` is left out: it would make the same pull differ. When no Prop
  64 conviction of the county has a known date, ``earliestConviction`` is ``null`` (the
  reference would print the wall clock).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from deltalake import DeltaTable

from jobs.config import load_counties
from jobs.storage import Warehouse
from transforms.columns import (
    CASE_NUMBERS,
    CONVICTION_COUNT,
    CONVICTION_DATE,
    DECEASED,
    DETERMINATION,
    DISMISS_ALL_P64,
    DOJ_COLUMNS,
    INPUT_INDEX,
    IS_CANDIDATE,
    IS_COUNTED_CONVICTION,
    IS_FELONY,
    KEPT_DOJ_COLUMNS,
    LAST_CONVICTION,
    PC290_REGISTRATION,
    PC290_SECTIONS,
    PII_COLUMNS,
    POSSIBLE_OTHER_P64,
    PROP64_COUNT,
    PROP64_SECTIONS,
    REASON,
    RECORD_ID,
    SECTION,
    SOURCE_FILE,
    SOURCE_LINE,
    SUBJECT,
    SUBJECT_ID,
    SUPERSTRIKE_SECTIONS,
    date_latest,
    section_count,
    stored_name,
)
from transforms.policy import (
    REASON_DISMISS_SECTION,
    REASON_MISDEMEANOR,
    REASON_REDUCE_SECTION,
    Determination,
    add_years,
)
from transforms.vocabulary import Counties, County

DISMISSAL = Determination.DISMISSAL.value
REDUCTION = Determination.REDUCTION.value


class PullFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    XLSX = "xlsx"
    GOGEN = "gogen"


class PullError(Exception):
    """A pull that cannot be done; the message says why and what to do. exit_code: 1 or 2."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --- finding and reading the county's table ------------------------------------------------


def resolve_county(name: str, counties: Counties | None = None) -> County:
    """The county a person named (any case, name or slug); unknown: PullError exit 2."""
    counties = counties or load_counties()
    county = counties.resolve(name)
    if county is None:
        valid = ", ".join(c.name.title() for c in counties.counties)
        raise PullError(f"unknown county {name!r}. Valid counties: {valid}", exit_code=2)
    return county


def county_table_path(warehouse: Path, county: County) -> Path:
    return Warehouse(warehouse).county(county.slug)


@dataclass(frozen=True)
class CountySnapshot:
    """One version of a county's table, rows in input order, with its commit metadata."""

    county: County
    path: Path
    version: int
    latest_version: int
    commit: Mapping[str, Any]
    table: pa.Table

    @property
    def run_id(self) -> str | None:
        value = self.commit.get("run_id")
        return str(value) if value is not None else None

    @property
    def compute_at(self) -> dt.date | None:
        value = self.commit.get("compute_at")
        if not value:
            return None
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return None

    def require_compute_at(self) -> dt.date:
        day = self.compute_at
        if day is None:
            raise PullError(
                f"{self.path}: version {self.version} has no compute_at in its commit "
                "metadata; ages and 'years since' cannot be measured"
            )
        return day


def commit_history(table: DeltaTable) -> dict[int, dict[str, Any]]:
    """Commit info (run_id, compute_at, policy_hash ... as committed) by version."""
    # history() of the *latest* table: a table opened at an older version numbers its
    # history relative to that version in deltalake 1.x.
    history: dict[int, dict[str, Any]] = {}
    for entry in table.history():
        version = entry.get("version")
        if isinstance(version, int):
            history[version] = dict(entry)
    return history


def in_input_order(table: pa.Table) -> pa.Table:
    """Rows sorted by (INPUT_INDEX, SOURCE_LINE), the extract's own order."""
    keys = [c for c in (INPUT_INDEX, SOURCE_LINE, RECORD_ID) if c in table.column_names]
    if not keys or table.num_rows == 0:
        return table
    return table.sort_by([(k, "ascending") for k in keys])


def open_snapshot(
    warehouse: Path,
    county: County,
    version: int | None = None,
    run_id: str | None = None,
) -> CountySnapshot:
    """Read ``<warehouse>/counties/<slug>`` (latest, a version, or a run's version)."""
    if version is not None and run_id is not None:
        raise PullError("give --version or --run, not both", exit_code=2)
    path = county_table_path(warehouse, county)
    label = county.name.title()
    if not (path / "_delta_log").is_dir():
        raise PullError(
            f"{label} has no county table at {path}: no run has written one (a run writes a "
            "county's table only when the extract holds a Prop 64 conviction there)"
        )
    try:
        latest = DeltaTable(str(path))
        latest_version = latest.version()
        history = commit_history(latest)
        if run_id is not None:
            matches = [v for v, c in history.items() if c.get("run_id") == run_id]
            if not matches:
                known = ", ".join(
                    f"{c.get('run_id')} (version {v})"
                    for v, c in sorted(history.items())
                    if c.get("run_id")
                )
                raise PullError(
                    f"run {run_id!r} wrote no version of {label}'s table. "
                    f"Runs in its history: {known or 'none recorded'}",
                    exit_code=2,
                )
            version = max(matches)
        if version is None:
            version = latest_version
        if not 0 <= version <= latest_version:
            raise PullError(
                f"{label}'s table has versions 0 to {latest_version}; there is no version "
                f"{version}",
                exit_code=2,
            )
        snapshot = latest if version == latest_version else DeltaTable(str(path), version=version)
        table = snapshot.to_pyarrow_table()
    except PermissionError as exc:
        raise PullError(f"cannot read {path}: {exc}") from None
    except PullError:
        raise
    except Exception as exc:  # deltalake raises its own error types for a bad table/version
        raise PullError(f"cannot read version {version} of {path}: {exc}") from None
    return CountySnapshot(
        county=county,
        path=path,
        version=version,
        latest_version=latest_version,
        commit=history.get(version, {}),
        table=in_input_order(table),
    )


# --- owner-only output ---------------------------------------------------------------------


@contextmanager
def owner_only() -> Iterator[None]:
    """New files and directories get no group/other permissions while writing."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def private_dir(path: Path) -> Path:
    """``path`` as a directory; the directories created here are 0700."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700)
        os.chmod(directory, 0o700)
    if not path.is_dir():
        raise PullError(f"--out {path}: exists and is not a directory", exit_code=2)
    return path


@contextmanager
def private_file(path: Path) -> Iterator[Path]:
    """Write to a temporary sibling, then move it into place as a 0600 file."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        yield temporary
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


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
    with private_file(path) as temporary:
        pacsv.write_csv(
            nested_as_json(table),
            str(temporary),
            write_options=pacsv.WriteOptions(quoting_style="needed"),
        )


def write_parquet(table: pa.Table, path: Path) -> None:
    with private_file(path) as temporary:
        pq.write_table(table, str(temporary))


XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_CELL = 32_767
CANDIDATE_SHEET = "Prop 64 convictions"
ALL_ROWS_SHEET = "All rows"


def _flag(table: pa.Table, name: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        return pa.chunked_array([pa.array([False] * table.num_rows, pa.bool_())])
    return pc.fill_null(table[name], False)


def write_xlsx(table: pa.Table, path: Path) -> None:
    """Two sheets with a frozen header: the county's Prop 64 convictions, and all rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    if table.num_rows + 1 > XLSX_MAX_ROWS:
        raise PullError(
            f"{table.num_rows:,} rows do not fit in one Excel sheet "
            f"({XLSX_MAX_ROWS - 1:,} at most): pull --format csv or parquet instead",
            exit_code=2,
        )
    flat = nested_as_json(table)
    workbook = Workbook(write_only=True)

    def sheet(title: str, rows: pa.Table) -> None:
        ws = workbook.create_sheet(title)
        ws.freeze_panes = "A2"
        for position, name in enumerate(rows.column_names, start=1):
            ws.column_dimensions[get_column_letter(position)].width = min(
                max(len(name) + 2, 12), 40
            )
        ws.append(rows.column_names)
        for batch in rows.to_batches(max_chunksize=10_000):
            columns = [c.to_pylist() for c in batch.columns]
            for values in zip(*columns, strict=True):
                cells: list[Any] = []
                for value in values:
                    if isinstance(value, str):
                        text = ILLEGAL_CHARACTERS_RE.sub("", value)[:XLSX_MAX_CELL]
                        cell = WriteOnlyCell(ws, value=text)
                        cell.data_type = "s"  # never a formula, whatever the text starts with
                        cells.append(cell)
                    elif isinstance(value, dt.datetime) and value.tzinfo is not None:
                        cells.append(value.isoformat())
                    else:
                        cells.append(value)
                ws.append(cells)

    sheet(CANDIDATE_SHEET, flat.filter(_flag(flat, IS_CANDIDATE)))
    sheet(ALL_ROWS_SHEET, flat)
    with private_file(path) as temporary:
        workbook.save(str(temporary))


# --- gogen export (DOMAIN.md §6) ------------------------------------------------------------

GOGEN_ELIGIBILITY_HEADERS: tuple[str, ...] = (
    "Case Number",
    "# of convictions on record",
    "Possible Other P64 Charges",
    "Occurred after 11/9/2016",
    "Superstrike Code Section(s)",
    "PC290 Code Section(s)",
    "PC290 Registration",
    "Date of Conviction",
    "Years Since This Conviction",
    "Years Since Any Conviction",
    "# of Prop 64 convictions",
    *(f"# of HS {s} convictions" for s in PROP64_SECTIONS),
    "Deceased",
    "Eligibility Determination",
    "Eligibility Reason",
)
assert len(GOGEN_ELIGIBILITY_HEADERS) == 18

GOGEN_CONDENSED_COLUMNS: tuple[str, ...] = (
    "CII_NUMBER", "PRI_NAME", "GENDER", "PRI_DOB", "RACE_DESCR", "CYC_DATE", "STP_EVENT_DATE",
    "STP_ORI_DESCR", "STP_ORI_CNTY_NAME", "DISP_DATE", "OFN", "OFFENSE_DESCR", "DISP_DESCR",
    "CONV_STAT_DESCR", "SENT_LOC_DESCR", "SENT_LENGTH", "SENT_TIME_CODE", "CYC_AGE",
    "COMMENT_TEXT", "END_OF_REC",
)  # fmt: skip
assert len(GOGEN_CONDENSED_COLUMNS) == 20

ALL_RESULTS = "All_Results.csv"
ALL_RESULTS_CONDENSED = "All_Results_Condensed.csv"
PROP64_RESULTS = "Prop64_Results.csv"
SUMMARY_JSON = "summary.json"
PROP64_EFFECTIVE = dt.date(2016, 11, 9)
MISSING = "-"


def _strings(table: pa.Table, name: str) -> pa.ChunkedArray:
    """A column as text, null -> ''; an absent column is all ''."""
    if name not in table.column_names:
        return pa.chunked_array([pa.array([""] * table.num_rows, pa.string())])
    return pc.fill_null(pc.cast(table[name], pa.string()), "")


def gogen_doj_columns(table: pa.Table) -> dict[str, pa.ChunkedArray]:
    """The 95 DOJ columns by their DOJ names (RECORD_ID from DOJ_RECORD_ID; PII empty)."""
    empty = pa.chunked_array([pa.array([""] * table.num_rows, pa.string())])
    return {
        name: empty if name in PII_COLUMNS else _strings(table, stored_name(name))
        for name in DOJ_COLUMNS
    }


def years_since(day: dt.date | None, compute_at: dt.date) -> str:
    """Years from ``day`` to compute-at (days / 365.25), one decimal; -1.0 when unknown."""
    if day is None:
        return "-1.0"
    return f"{(compute_at - day).days / 365.25:.1f}"


def us_date(day: dt.date | None) -> str:
    return MISSING if day is None else f"{day.month:02d}/{day.day:02d}/{day.year:04d}"


def occurred_after_effective(earliest: dt.date | None, latest: dt.date | None) -> str:
    """Y / N / - : conviction after 2016-11-09 on every / no / some possible day."""
    if earliest is not None and earliest > PROP64_EFFECTIVE:
        return "Y"
    if latest is not None and latest <= PROP64_EFFECTIVE:
        return "N"
    return MISSING


def _sections(text: str | None) -> str:
    parts = [p.strip() for p in (text or "").split(";") if p.strip()]
    return ";".join(parts) if parts else MISSING


def _get(row: Mapping[str, Any], name: str) -> Any:
    return row.get(name)


def _count_text(value: Any) -> str:
    return str(int(value)) if value is not None else "0"


def gogen_eligibility_values(row: Mapping[str, Any], compute_at: dt.date) -> list[str]:
    """The 18 columns for one row with a determination (DOMAIN.md §6)."""
    conviction = _get(row, CONVICTION_DATE)
    return [
        _get(row, CASE_NUMBERS) or "",
        _count_text(_get(row, CONVICTION_COUNT)),
        _get(row, POSSIBLE_OTHER_P64) or "",
        occurred_after_effective(conviction, _get(row, date_latest(CONVICTION_DATE))),
        _sections(_get(row, SUPERSTRIKE_SECTIONS)),
        _sections(_get(row, PC290_SECTIONS)),
        "Yes" if _get(row, PC290_REGISTRATION) else MISSING,
        us_date(conviction),
        years_since(conviction, compute_at),
        years_since(_get(row, LAST_CONVICTION), compute_at),
        _count_text(_get(row, PROP64_COUNT)),
        *(_count_text(_get(row, section_count(s))) for s in PROP64_SECTIONS),
        "Deceased" if _get(row, DECEASED) else MISSING,
        _get(row, DETERMINATION) or "",
        _get(row, REASON) or "",
    ]


def has_determination(table: pa.Table) -> pa.ChunkedArray:
    if DETERMINATION not in table.column_names:
        return _flag(table, "__absent__")
    return pc.is_valid(table[DETERMINATION])


_ELIGIBILITY_INPUTS = (
    CASE_NUMBERS, CONVICTION_COUNT, POSSIBLE_OTHER_P64, CONVICTION_DATE,
    date_latest(CONVICTION_DATE), SUPERSTRIKE_SECTIONS, PC290_SECTIONS, PC290_REGISTRATION,
    LAST_CONVICTION, PROP64_COUNT, *(section_count(s) for s in PROP64_SECTIONS), DECEASED,
    DETERMINATION, REASON,
)  # fmt: skip


def gogen_eligibility_columns(table: pa.Table, compute_at: dt.date) -> dict[str, pa.ChunkedArray]:
    """The 18 eligibility columns for every row: filled where there is a determination,
    empty elsewhere except "Possible Other P64 Charges" (as the reference writes them)."""
    decided = pc.fill_null(has_determination(table), False).combine_chunks()
    present = [c for c in _ELIGIBILITY_INPUTS if c in table.column_names]
    # Python only for the rows with a determination (the county's Prop 64 convictions).
    rows = table.select(present).filter(decided).to_pylist()
    values = [gogen_eligibility_values(row, compute_at) for row in rows]
    empty = pa.array([""] * table.num_rows, pa.string())
    result: dict[str, pa.ChunkedArray] = {}
    for position, name in enumerate(GOGEN_ELIGIBILITY_HEADERS):
        base = _strings(table, POSSIBLE_OTHER_P64).combine_chunks() if position == 2 else empty
        filled = pa.array([v[position] for v in values], pa.string())
        result[name] = pa.chunked_array([pc.replace_with_mask(base, decided, filled)])
    return result


# Go's encoding/csv quotes a field that holds a comma, a quote, CR or LF, that starts with
# a white-space rune (unicode.IsSpace), or that is exactly \. ; empty fields are not quoted.
_GO_NEEDS_QUOTES = r'[,"\r\n]|^[\t\n\x{0B}\f\r \x{85}\x{A0}\p{Z}]|^\\\.$'


def go_csv_field(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Each value as Go's encoding/csv writes it."""
    needs = pc.match_substring_regex(values, _GO_NEEDS_QUOTES)
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, values)


def go_csv_lines(columns: Sequence[pa.Array | pa.ChunkedArray]) -> pa.ChunkedArray:
    """One CSV line (without the LF) per row."""
    # One contiguous array per column: element-wise kernels over many small chunks are slow.
    fields = [
        go_csv_field(c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c) for c in columns
    ]
    joined = pc.binary_join_element_wise(*fields, ",")
    return joined if isinstance(joined, pa.ChunkedArray) else pa.chunked_array([joined])


def _go_header(names: Sequence[str]) -> str:
    return go_csv_lines([pa.array([n]) for n in names])[0].as_py()


def _write_go_csv(path: Path, header: Sequence[str], lines: pa.ChunkedArray) -> None:
    with private_file(path) as temporary, temporary.open("w", encoding="utf-8", newline="") as out:
        out.write(_go_header(header) + "\n")
        for chunk in lines.chunks:
            values = chunk.to_pylist()
            if values:
                out.write("\n".join(values))
                out.write("\n")


def go_json(value: Any) -> str:
    """JSON as Go's json.Marshal writes it: compact, HTML characters escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(char, escaped)
    return text


# --- summary figures (DOMAIN.md §5) ---------------------------------------------------------


def subject_column(table: pa.Table) -> str:
    """The subject key: relief's trimmed SUBJECT, else the DOJ's SUBJECT_ID as stored."""
    # delta-rs refuses names differing only in case (subject_id beside SUBJECT_ID), so a
    # table may hold only one of the two.
    return SUBJECT if SUBJECT in table.column_names else stored_name(SUBJECT_ID)


def _subjects(table: pa.Table) -> list[Any]:
    column = subject_column(table)
    values = table[column]
    if column != SUBJECT:
        values = pc.utf8_trim_whitespace(values)
    return values.to_pylist()


def county_prop64_convictions(table: pa.Table) -> pa.Table:
    """The county's Prop 64 convictions: the candidate rows."""
    return table.filter(_flag(table, IS_CANDIDATE))


def earliest_prop64_conviction(table: pa.Table) -> dt.date | None:
    """Earliest (earliest possible day of the) county's Prop 64 conviction dates."""
    dates = county_prop64_convictions(table)[CONVICTION_DATE]
    value = pc.min(dates).as_py() if len(dates) else None
    return value


def prop64_convictions_by_section(table: pa.Table) -> dict[str, int]:
    counts = Counter(
        s for s in county_prop64_convictions(table)[SECTION].to_pylist() if s is not None
    )
    return {k: counts[k] for k in sorted(counts)}


def prop64_felony_counts(table: pa.Table) -> tuple[int, int]:
    """(felony, non-felony) Prop 64 convictions in the county."""
    felony = _flag(county_prop64_convictions(table), IS_FELONY)
    felonies = pc.sum(felony.cast(pa.int64())).as_py() or 0
    return int(felonies), len(felony) - int(felonies)


def subjects_with_prop64_conviction(table: pa.Table) -> int:
    return len(set(_subjects(county_prop64_convictions(table))))


def subjects_with_some_relief(table: pa.Table, flow: str = DETERMINATION) -> int:
    candidates = county_prop64_convictions(table)
    relieved = pc.fill_null(pc.is_in(candidates[flow], pa.array([DISMISSAL, REDUCTION])), False)
    return len(set(_subjects(candidates.filter(relieved))))


_PER_SUBJECT_SUMS = ("n", "dismissed", "felony", "felony_relieved", "recent", "recent_dismissed")


def subjects_relieved(table: pa.Table, flow: str, compute_at: dt.date) -> dict[str, int]:
    """Subjects who would no longer have a felony / any conviction / a conviction in the last
    7 years (DOMAIN.md §5) if the determinations in column ``flow`` were granted.

    Every conviction of the subject counts, in any county (the table holds whole
    histories); only the county's own Prop 64 convictions carry determinations. A
    conviction is in the last 7 years when its date (earliest possible day) is after
    compute-at - 7 years, as in transforms/summary.py.
    """
    convictions = table.filter(_flag(table, IS_COUNTED_CONVICTION))
    decision = convictions[flow]
    dismissed = pc.fill_null(pc.equal(decision, DISMISSAL), False)
    relieved = pc.fill_null(pc.is_in(decision, pa.array([DISMISSAL, REDUCTION])), False)
    felony = _flag(convictions, IS_FELONY)
    cutoff = add_years(compute_at, -7)
    recent = pc.fill_null(pc.greater(convictions[CONVICTION_DATE], pa.scalar(cutoff)), False)

    def as_int(flag: Any) -> pa.ChunkedArray:
        return pc.cast(flag, pa.int64())

    per_subject = (
        pa.table(
            {
                "subject": pa.array(_subjects(convictions), pa.string()),
                "n": pa.array([1] * convictions.num_rows, pa.int64()),
                "dismissed": as_int(dismissed),
                "felony": as_int(felony),
                "felony_relieved": as_int(pc.and_(felony, relieved)),
                "recent": as_int(recent),
                "recent_dismissed": as_int(pc.and_(recent, dismissed)),
            }
        )
        .group_by("subject")
        .aggregate([(c, "sum") for c in _PER_SUBJECT_SUMS])
        .to_pydict()
    )

    def count(total: str, relieved_part: str) -> int:
        return sum(
            1
            for t, r in zip(
                per_subject[f"{total}_sum"], per_subject[f"{relieved_part}_sum"], strict=True
            )
            if t > 0 and t == r
        )

    return {
        "CountSubjectsNoConviction": count("n", "dismissed"),
        "CountSubjectsNoConvictionLast7Years": count("recent", "recent_dismissed"),
        "CountSubjectsNoFelony": count("felony", "felony_relieved"),
    }


def _template_regex(template: str) -> re.Pattern[str]:
    before, _, after = template.partition("{section}")
    return re.compile(re.escape(before) + r"(.+)" + re.escape(after))


def reasons_by_determination(table: pa.Table) -> Counter[tuple[str, str]]:
    """(determination, reason) -> number of the county's Prop 64 convictions."""
    candidates = county_prop64_convictions(table).select([DETERMINATION, REASON])
    return Counter(
        (d, r or "")
        for d, r in zip(
            candidates[DETERMINATION].to_pylist(), candidates[REASON].to_pylist(), strict=True
        )
        if d is not None
    )


def counts_by_section_reason(
    reasons: Counter[tuple[str, str]],
    determination: str,
    template: str,
    sections: Sequence[str] = (),
) -> dict[str, int]:
    """Convictions whose reason is ``template`` for each section: the sections in reasons
    the table holds, plus ``sections`` (a policy's list, reported 0 when none)."""
    pattern = _template_regex(template)
    found: dict[str, int] = {s: 0 for s in sections}
    for (det, reason), n in reasons.items():
        match = pattern.fullmatch(reason)
        if det == determination and match:
            found[match.group(1)] = found.get(match.group(1), 0) + n
    return {k: found[k] for k in sorted(found)}


def dismissals_by_additional_relief(reasons: Counter[tuple[str, str]]) -> dict[str, int]:
    """Dismissal reasons other than the section lists and ``Misdemeanor or Infraction``."""
    section_prefix = REASON_DISMISS_SECTION.partition("{section}")[0]
    found: Counter[str] = Counter()
    for (det, reason), n in reasons.items():
        if det != DISMISSAL:
            continue
        if reason.startswith(section_prefix) or reason.startswith(REASON_MISDEMEANOR):
            continue
        found[reason] += n
    return {k: found[k] for k in sorted(found)}


def gogen_timestamp(day: dt.date | None) -> str | None:
    return None if day is None else f"{day.isoformat()}T00:00:00Z"


def gogen_summary(
    table: pa.Table,
    county_name: str,
    compute_at: dt.date,
    dismiss_sections: Sequence[str] = (),
    reduce_sections: Sequence[str] = (),
) -> dict[str, Any]:
    """The reference tool's summary.json figures from one county table (DOMAIN.md §5).

    ``dismiss_sections`` / ``reduce_sections``: a policy's baseline lists, when the caller
    knows them, so their sections appear with 0; the table alone shows only the sections
    whose reasons occur (``Dismiss all HS {section} convictions`` ...).
    """
    reasons = reasons_by_determination(table)
    felonies, non_felonies = prop64_felony_counts(table)
    return {
        "county": county_name,
        "earliestConviction": gogen_timestamp(earliest_prop64_conviction(table)),
        "lineCount": table.num_rows,
        "reliefWithCurrentEligibilityChoices": subjects_relieved(table, DETERMINATION, compute_at),
        "reliefWithDismissAllProp64": subjects_relieved(table, DISMISS_ALL_P64, compute_at),
        "prop64ConvictionsCountInCountyByCodeSection": prop64_convictions_by_section(table),
        "subjectsWithProp64ConvictionCountInCounty": subjects_with_prop64_conviction(table),
        "prop64FelonyConvictionsCountInCounty": felonies,
        "prop64NonFelonyConvictionsCountInCounty": non_felonies,
        "subjectsWithSomeReliefCount": subjects_with_some_relief(table),
        "convictionDismissalCountByCodeSection": counts_by_section_reason(
            reasons, DISMISSAL, REASON_DISMISS_SECTION, dismiss_sections
        ),
        "convictionReductionCountByCodeSection": counts_by_section_reason(
            reasons, REDUCTION, REASON_REDUCE_SECTION, reduce_sections
        ),
        "convictionDismissalCountByAdditionalRelief": dismissals_by_additional_relief(reasons),
    }


def write_gogen(snapshot: CountySnapshot, out: Path) -> list[Path]:
    """All_Results.csv, All_Results_Condensed.csv, Prop64_Results.csv and summary.json."""
    table = snapshot.table
    compute_at = snapshot.require_compute_at()
    doj = gogen_doj_columns(table)
    eligibility = gogen_eligibility_columns(table, compute_at)
    full_header = [*DOJ_COLUMNS, *GOGEN_ELIGIBILITY_HEADERS]
    full = go_csv_lines([*doj.values(), *eligibility.values()])
    condensed = go_csv_lines([doj[c] for c in GOGEN_CONDENSED_COLUMNS] + list(eligibility.values()))
    decided = has_determination(table)
    written = []
    for name, header, lines in (
        (ALL_RESULTS, full_header, full),
        (ALL_RESULTS_CONDENSED, [*GOGEN_CONDENSED_COLUMNS, *GOGEN_ELIGIBILITY_HEADERS], condensed),
        (PROP64_RESULTS, full_header, full.filter(decided)),
    ):
        _write_go_csv(out / name, header, lines)
        written.append(out / name)
    summary = gogen_summary(table, snapshot.county.name, compute_at)
    with private_file(out / SUMMARY_JSON) as temporary:
        temporary.write_text(go_json(summary), encoding="utf-8")
    written.append(out / SUMMARY_JSON)
    return written


# --- the pull --------------------------------------------------------------------------------


@dataclass
class PullResult:
    county: County
    version: int
    latest_version: int
    run_id: str | None
    rows: int
    files: list[Path] = field(default_factory=list)


def pull_file_name(county: County, version: int, fmt: PullFormat) -> str:
    return f"{county.slug}_v{version}.{fmt.value}"


def pull(
    warehouse: Path,
    county_name: str,
    out: Path,
    fmt: PullFormat = PullFormat.CSV,
    version: int | None = None,
    run_id: str | None = None,
    counties: Counties | None = None,
) -> PullResult:
    """Read the county's table (only that one) and write it to ``out`` in ``fmt``."""
    county = resolve_county(county_name, counties)
    snapshot = open_snapshot(warehouse, county, version=version, run_id=run_id)
    result = PullResult(
        county=county,
        version=snapshot.version,
        latest_version=snapshot.latest_version,
        run_id=snapshot.run_id,
        rows=snapshot.table.num_rows,
    )
    with owner_only():
        private_dir(out)
        if fmt is PullFormat.GOGEN:
            result.files = write_gogen(snapshot, out)
            return result
        target = out / pull_file_name(county, snapshot.version, fmt)
        table = pull_table(snapshot)
        if fmt is PullFormat.CSV:
            write_csv(table, target)
        elif fmt is PullFormat.PARQUET:
            write_parquet(table, target)
        else:
            write_xlsx(table, target)
        result.files = [target]
    return result
