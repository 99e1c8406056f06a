"""The zip-writer (jobs/warehouse/county_files.py): a county row is its line's staged raw
columns, the provenance ingest gives it, and its facts; every range's lines land in the
right county's file, in line order. No Spark: the task's own function on files written here.
The whole run's tables are pinned in tests/test_results_pinned.py."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from relief.jobs.warehouse.county_files import (
    FACTS_RANGE,
    facts_dir,
    range_groups,
    zip_group,
)
from relief.transforms import ingest
from relief.transforms.columns import (
    INPUT_INDEX,
    KEPT_DOJ_COLUMNS,
    RECORD_ID,
    SOURCE_FILE,
    SOURCE_LINE,
    SUBJECT_ID,
    TARGET_COUNTY,
)

FACT = "determination"  # a fact column (any name the facts carry)


def _staged(path: Path, range_id: int, lines: list[int], quarantined: set[int]) -> str:
    """A staged range file as the ingest pass writes it: kept lines with their text, the
    quarantined ones with a reason, not in line order (95- and 96-field lines apart)."""
    rows = []
    for line in lines:
        row: dict[str, object] = dict.fromkeys(KEPT_DOJ_COLUMNS)
        row[SUBJECT_ID] = f"S{range_id}-{line}"
        row[ingest.RANGE_ID] = range_id
        row[ingest.LOCAL_LINE] = line
        row[ingest.QUARANTINE_REASON] = "bad" if line in quarantined else None
        row[ingest.RAW_TEXT] = None
        rows.append(row)
    file = path / f"part-{range_id:05d}.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=ingest.STAGED_SCHEMA), file)
    return str(file)


def _facts(directory: Path, range_id: int, rows: list[tuple[int, str, str]]) -> None:
    folder = Path(facts_dir(str(directory), range_id))
    folder.mkdir(parents=True)
    table = pa.table(
        {
            ingest.LOCAL_LINE: pa.array([r[0] for r in rows], pa.int64()),
            TARGET_COUNTY: [r[1] for r in rows],
            FACT: [r[2] for r in rows],
        }
    )
    pq.write_table(table, folder / "part-0.parquet")


SCHEMA = pa.schema(
    [
        *[pa.field(c, pa.string()) for c in KEPT_DOJ_COLUMNS],
        pa.field(RECORD_ID, pa.string()),
        pa.field(SOURCE_FILE, pa.string()),
        pa.field(SOURCE_LINE, pa.int64()),
        pa.field(INPUT_INDEX, pa.int32()),
        pa.field(FACT, pa.string()),
    ]
)


@pytest.mark.parametrize(("count", "tasks"), [(1, 4), (4, 4), (7, 3), (60, 4), (3, 1)])
def test_range_groups_cover_every_range_once_in_order(count, tasks):
    groups = range_groups(count, tasks)
    assert [i for g in groups for i in g] == list(range(count))
    assert len(groups) == min(count, tasks)
    assert max(map(len, groups)) - min(map(len, groups)) <= 1


def test_each_county_file_holds_its_lines_raw_columns_provenance_and_facts(tmp_path):
    staged_dir, facts_root, out = tmp_path / "staged", tmp_path / "facts", tmp_path / "out"
    staged_dir.mkdir()
    ranges = [
        (0, "/in/a.csv", 0, 0, "f" * 64),
        (1, "/in/a.csv", 0, 5, "f" * 64),
        (2, "/in/b.csv", 1, 0, "e" * 64),
    ]
    paths = [
        _staged(staged_dir, 0, [4, 1, 2, 3, 5], {3}),
        _staged(staged_dir, 1, [2, 1, 3], set()),
        _staged(staged_dir, 2, [1, 2], set()),
    ]
    # A line may go to two counties (fan-out); range 2 has no line in any table.
    _facts(facts_root, 0, [(4, "yolo", "d4"), (1, "yolo", "d1"), (1, "kern", "k1")])
    _facts(facts_root, 1, [(3, "kern", "k3")])
    written = zip_group(0, ranges, paths, str(facts_root), str(out), SCHEMA)

    assert sorted((w["county"], w["rows"]) for w in written) == [("kern", 2), ("yolo", 2)]
    assert FACTS_RANGE == "range_id"
    yolo = pq.ParquetFile(out / f"{TARGET_COUNTY}=yolo" / "part-00000.parquet").read()
    assert yolo.schema == SCHEMA
    columns = [SUBJECT_ID, RECORD_ID, SOURCE_FILE, SOURCE_LINE, INPUT_INDEX, FACT]
    assert yolo.select(columns).to_pylist() == [
        {SUBJECT_ID: "S0-1", RECORD_ID: "ffffffffffffffff-1", SOURCE_FILE: "/in/a.csv",
         SOURCE_LINE: 1, INPUT_INDEX: 0, FACT: "d1"},
        {SUBJECT_ID: "S0-4", RECORD_ID: "ffffffffffffffff-4", SOURCE_FILE: "/in/a.csv",
         SOURCE_LINE: 4, INPUT_INDEX: 0, FACT: "d4"},
    ]  # fmt: skip
    kern = pq.ParquetFile(out / f"{TARGET_COUNTY}=kern" / "part-00000.parquet").read()
    assert kern.select([SUBJECT_ID, RECORD_ID, SOURCE_LINE, FACT]).to_pylist() == [
        {SUBJECT_ID: "S0-1", RECORD_ID: "ffffffffffffffff-1", SOURCE_LINE: 1, FACT: "k1"},
        {SUBJECT_ID: "S1-3", RECORD_ID: "ffffffffffffffff-8", SOURCE_LINE: 8, FACT: "k3"},
    ]  # fmt: skip


def test_facts_naming_a_line_the_staged_file_lacks_stop_the_task(tmp_path):
    staged_dir, facts_root = tmp_path / "staged", tmp_path / "facts"
    staged_dir.mkdir()
    path = _staged(staged_dir, 0, [1, 2], set())
    _facts(facts_root, 0, [(7, "yolo", "x")])
    with pytest.raises(RuntimeError, match="lines its staged file lacks"):
        zip_group(0, [(0, "/in/a.csv", 0, 0, "f" * 64)], [path], str(facts_root),
                  str(tmp_path / "out"), SCHEMA)  # fmt: skip
