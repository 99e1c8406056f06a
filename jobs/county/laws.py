"""County readers of the statewide law packs (docs/laws.md §7, "Readers"): no Spark, no Java.

A county table holds one row per (line, county table) and one column group per law the run
decided (``pc1203_425_determination`` ...), with ``table_laws`` naming the laws whose
candidates put the subject in the table. For a statewide law:

- ``relief county pull --law L``: the rows whose ``table_laws`` holds L, the law's columns
  under the plain names (``is_candidate``, ``determination``, ``reason``, ``rule_id``,
  ``citation``, ``decision_inputs``, ``grant``, ``granted_run``) in place of the Prop 64
  ones, the other laws' groups left out (:func:`law_view`). ``--format gogen`` is Prop 64's
  only. Without ``--law`` (or with ``--law prop64``) the pull is today's, byte for byte.
- ``relief county packet --law L``: no motion and no orders (DOJ grants; the court is
  notified): ``grants.csv``, this run's new grants — what a DA reads to decide on a
  public-safety petition — and ``hand_review_worklist.csv``, the law's Hand Review
  candidates by reason (:func:`law_packet`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from relief.jobs.county.csv import CsvStyle, write_csv
from relief.jobs.warehouse.access import owner_only, private_dir, refuse_inside_warehouse
from relief.jobs.warehouse.snapshots import (
    CountySnapshot,
    PullError,
    open_snapshot,
    resolve_county,
)
from relief.transforms.columns import (
    ARREST_DATE,
    CANDIDATE_LINE,
    CASE_NUMBERS,
    CII_NUMBER,
    CITATION,
    CNT_ORDER,
    CODE_SECTION,
    CODE_SECTION_TEXT,
    CONVICTION_DATE,
    DECISION_INPUTS,
    DETERMINATION,
    DISMISS_ALL_P64,
    DISMISS_ALL_P64_RELATED,
    IS_CANDIDATE,
    LAW_CANDIDATE,
    LAW_FACTS,
    LAW_GRANT,
    LAW_GRANTED_RUN,
    PRI_DOB,
    PRI_NAME,
    REASON,
    RECORD_ID,
    ROW_KEY,
    RULE_ID,
    SUBJECT,
    SUBJECT_ID,
    TABLE_LAWS,
    law_column,
)
from relief.transforms.vocabulary import Counties, County

PROP64 = "prop64"
STATEWIDE_LAWS: tuple[str, ...] = ("pc1203.425", "pc851.93")
HAND_REVIEW = "Hand Review"
NEW_GRANT = "new"

# The Prop 64 decision columns a law view replaces with the law's own.
PROP64_DECISION_COLUMNS: tuple[str, ...] = (
    IS_CANDIDATE,
    DETERMINATION,
    REASON,
    RULE_ID,
    DECISION_INPUTS,
    DISMISS_ALL_P64,
    DISMISS_ALL_P64_RELATED,
)
# A law's group, and the plain name each column takes in its view.
LAW_GROUP: tuple[tuple[str, str], ...] = (
    (LAW_CANDIDATE, IS_CANDIDATE),
    (DETERMINATION, DETERMINATION),
    (REASON, REASON),
    (RULE_ID, RULE_ID),
    (CITATION, CITATION),
    (DECISION_INPUTS, DECISION_INPUTS),
    (LAW_GRANT, LAW_GRANT),
    (LAW_GRANTED_RUN, LAW_GRANTED_RUN),
)


def check_law(law: str | None) -> str | None:
    """The law as given, or a PullError (exit 2) naming the ones there are."""
    if law is None or law == PROP64 or law in STATEWIDE_LAWS:
        return law
    known = ", ".join((PROP64, *STATEWIDE_LAWS))
    raise PullError(f"--law {law!r}: no such law; the laws are {known}", exit_code=2)


def _holds(table: pa.Table, law: str) -> pa.Array:
    """Rows whose table_laws lists ``law``."""
    laws = table.column(TABLE_LAWS).combine_chunks()
    flat = pc.list_flatten(laws)
    parents = pc.list_parent_indices(laws)
    hit = pc.fill_null(pc.equal(flat, law), False).to_numpy(zero_copy_only=False)
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[parents.to_numpy(zero_copy_only=False)[hit]] = True
    return pa.array(mask)


def law_columns() -> set[str]:
    """Every column the statewide laws add to a county table."""
    names = [name for name, _ in LAW_GROUP] + [CANDIDATE_LINE]
    added = {law_column(law, name) for law in STATEWIDE_LAWS for name in names}
    return added | {fact.name for fact in LAW_FACTS} | {TABLE_LAWS}


def prop64_view(table: pa.Table) -> pa.Table:
    """A county table as Prop 64's readers read it: a table a run with statewide laws wrote
    gives the rows Prop 64 put there, without the laws' columns (what a Prop 64-only run
    writes, docs/laws.md §7); any other table is returned as it is."""
    if TABLE_LAWS not in table.column_names:
        return table
    rows = table.filter(_holds(table, PROP64))
    drop = law_columns()
    return rows.select([name for name in rows.column_names if name not in drop])


def prop64_snapshot(snapshot: CountySnapshot) -> CountySnapshot:
    """The snapshot with :func:`prop64_view` of its table (the same object when unchanged)."""
    view = prop64_view(snapshot.table)
    return snapshot if view is snapshot.table else dataclasses.replace(snapshot, table=view)


def law_view(table: pa.Table, law: str) -> pa.Table:
    """The rows a law put in the table with its columns under the plain names (module
    docstring). A table no run decided the law for says so (PullError, exit 2)."""
    if law == PROP64:
        return prop64_view(table)
    decided = law_column(law, DETERMINATION)
    if decided not in table.column_names or TABLE_LAWS not in table.column_names:
        raise PullError(
            f"this version of the table holds no {law} decisions: the run that wrote it did "
            f"not run {law} (relief run --laws ...)",
            exit_code=2,
        )
    rows = table.filter(_holds(table, law))
    groups = law_columns() - {fact.name for fact in LAW_FACTS} - {TABLE_LAWS}
    drop = set(PROP64_DECISION_COLUMNS) | groups
    keep = [name for name in rows.column_names if name not in drop]
    columns = [rows.column(name) for name in keep]
    names = list(keep)
    for name, plain in LAW_GROUP:
        source = law_column(law, name)
        if source in rows.column_names:
            columns.append(rows.column(source))
            names.append(plain)
    return pa.Table.from_arrays(columns, names=names)


# --- the packet ------------------------------------------------------------------------------

GRANTS_FILE = "grants.csv"
WORKLIST_FILE = "hand_review_worklist.csv"
GRANTS_HEADER: tuple[str, ...] = (
    "case_numbers",
    "name",
    "dob",
    "cii_number",
    "subject_id",
    "code_section",
    "date",
    "citation",
    "rule_id",
    "reason",
    "row_key",
    "record_id",
)
WORKLIST_HEADER: tuple[str, ...] = (
    "reason",
    "case_numbers",
    "name",
    "dob",
    "cii_number",
    "subject_id",
    "code_section",
    "date",
    "rule_id",
    "row_key",
    "record_id",
)


def _text(row: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = row.get(name)
        if value is not None and str(value).strip():
            return value.isoformat() if isinstance(value, dt.date) else str(value).strip()
    return ""


def _line(row: Mapping[str, Any], law: str) -> dict[str, str]:
    # A conviction's date for PC 1203.425, the arrest's for PC 851.93.
    day = CONVICTION_DATE if law == "pc1203.425" else ARREST_DATE
    return {
        "case_numbers": _text(row, CASE_NUMBERS),
        "name": _text(row, PRI_NAME),
        "dob": _text(row, PRI_DOB),
        "cii_number": _text(row, CII_NUMBER),
        "subject_id": _text(row, SUBJECT_ID, SUBJECT),
        "code_section": _text(row, CODE_SECTION, CODE_SECTION_TEXT),
        "date": _text(row, day),
        "citation": _text(row, CITATION),
        "rule_id": _text(row, RULE_ID),
        "reason": _text(row, REASON),
        "row_key": _text(row, ROW_KEY),
        "record_id": _text(row, RECORD_ID),
        "cnt_order": _text(row, CNT_ORDER),
    }


@dataclass
class LawPacketResult:
    county: County
    law: str
    version: int
    served: str
    grants: int = 0  # this run's new grants in the county
    earlier: int = 0  # candidates granted by an earlier run (not listed again)
    worklist: int = 0
    files: list[Path] = field(default_factory=list)


def law_packet_rows(view: pa.Table, law: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(new grants, hand review) lines of a law view, in a stable order."""
    rows = view.filter(pc.fill_null(view.column(IS_CANDIDATE), False)).to_pylist()
    granted = [_line(r, law) for r in rows if r.get(LAW_GRANT) == NEW_GRANT]
    review = [_line(r, law) for r in rows if r.get(DETERMINATION) == HAND_REVIEW]
    granted.sort(key=lambda r: (r["case_numbers"], r["subject_id"], r["cnt_order"]))
    review.sort(key=lambda r: (r["reason"], r["case_numbers"], r["subject_id"], r["cnt_order"]))
    return granted, review


def _write(path: Path, header: Sequence[str], rows: Sequence[Mapping[str, str]]) -> None:
    table = pa.table({name: pa.array([r[name] for r in rows], pa.string()) for name in header})
    write_csv(path, table, CsvStyle.SPREADSHEET)


def law_packet(
    warehouse: Path,
    county_name: str,
    out: Path,
    law: str,
    version: int | None = None,
    run_id: str | None = None,
    counties: Counties | None = None,
) -> LawPacketResult:
    """Write ``grants.csv`` and ``hand_review_worklist.csv`` for a statewide law."""
    if law not in STATEWIDE_LAWS:
        raise PullError(
            f"--law {law}: the packet of a statewide law is one of {', '.join(STATEWIDE_LAWS)}; "
            "Prop 64's packet is `relief county packet` without --law",
            exit_code=2,
        )
    county = resolve_county(county_name, counties)
    refuse_inside_warehouse(out, warehouse)
    snapshot: CountySnapshot = open_snapshot(warehouse, county, version=version, run_id=run_id)
    view = law_view(snapshot.table, law)
    granted, review = law_packet_rows(view, law)
    grants = view.column(LAW_GRANT).to_pylist() if LAW_GRANT in view.column_names else []
    result = LawPacketResult(
        county=county,
        law=law,
        version=snapshot.version,
        served=snapshot.served(),
        grants=len(granted),
        earlier=sum(1 for g in grants if g == "earlier"),
        worklist=len(review),
    )
    with owner_only():
        private_dir(out)
        for name, header, rows in (
            (GRANTS_FILE, GRANTS_HEADER, granted),
            (WORKLIST_FILE, WORKLIST_HEADER, review),
        ):
            _write(out / name, header, rows)
            result.files.append(out / name)
    return result
