"""The statewide job end to end on a generated extract with bad lines spliced in.

The extract holds every offence spelling of DOMAIN.md §2 and the placeholder ``  -  `` in
DISP_DATE on every line, as the reference tool's own generator writes it (issue 12).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from relief.jobs.config import load_counties
from relief.jobs.county.gogen import SUMMARY_JSON
from relief.jobs.county.pull import PullFormat, pull
from relief.jobs.runtime.progress import Progress
from relief.jobs.statewide import RunOptions, ValidationFailed, run
from relief.jobs.synthetic.generate import CDL_REGEX, SSN_REGEX, generate_extract
from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.storage import Warehouse, read_arrow
from relief.transforms import columns as c
from relief.transforms import ingest

pytestmark = pytest.mark.slow

COMPUTE_AT = dt.date(2026, 1, 1)
ROWS = 6000


def _with_subject(fields: list[str], subject: str) -> bytes:
    buffer = io.StringIO()
    changed = list(fields)
    changed[c.DOJ_COLUMNS.index(c.SUBJECT_ID)] = subject
    csv.writer(buffer, lineterminator="").writerow(changed)
    return buffer.getvalue().encode()


def splice_bad_lines(path: Path) -> dict[int, str]:
    """Insert bad lines after known lines; return {line number: reason}."""
    lines = path.read_bytes().split(b"\n")
    good = lines[10]
    fields = next(csv.reader([good.decode()]))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields[:94])
    bad = {
        # position in the new file (1-based) -> (bytes, reason)
        20: (buffer.getvalue().encode(), ingest.REASON_FIELD_COUNT.format(n=94)),
        40: (good.replace(b",", b',"broken,', 1), ingest.REASON_BROKEN_QUOTING),
        60: (good[:30] + b"\xff\xfe" + good[30:], ingest.REASON_NOT_TEXT),
        80: (lines[0], ingest.REASON_REPEATED_HEADER),
        100: (good + b",,", ingest.REASON_FIELD_COUNT.format(n=97)),
        120: (_with_subject(fields, ""), ingest.REASON_BLANK_SUBJECT),
        140: (_with_subject(fields, "   "), ingest.REASON_BLANK_SUBJECT),
    }
    for position in sorted(bad):
        lines.insert(position - 1, bad[position][0])
    path.write_bytes(b"\n".join(lines))
    return {position: reason for position, (_, reason) in bad.items()}


@pytest.fixture(scope="module")
def first_run(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    extract = root / "extract.csv"
    generate_extract(extract, rows=ROWS, seed=7, disp_date_placeholder=1.0)
    bad = splice_bad_lines(extract)
    warehouse = root / "warehouse"
    options = RunOptions(inputs=str(extract), warehouse=warehouse, compute_at=COMPUTE_AT)
    result = run(options, Progress(quiet=True))
    return extract, warehouse, bad, result, options


def test_run_conserves_every_line_and_records_it_in_the_ledger(first_run):
    _, warehouse, bad, result, _ = first_run
    assert result.status == ledger.STATUS_SUCCEEDED
    runs = ledger.read_runs(Warehouse(warehouse))
    row = runs[-1]
    assert row["run_id"] == result.run_id
    assert row["status"] == ledger.STATUS_SUCCEEDED
    assert row["rows_read"] == ROWS + len(bad)
    assert row["rows_quarantined"] == len(bad)
    assert row["rows_read"] == row["rows_kept"] + row["rows_quarantined"]
    assert row["compute_at"] == COMPUTE_AT
    assert len(row["inputs"][0]["fingerprint"]) == 64


def test_every_bad_line_is_in_quarantine_with_its_line_and_reason(first_run):
    extract, warehouse, bad, result, _ = first_run
    path = Path(warehouse) / "quarantine"
    q = read_arrow(path, DeltaTable(str(path))).to_pylist()
    got = {r["source_line"]: r["reason"] for r in q}
    assert got == bad
    assert {r["source_file"] for r in q} == {str(extract)}
    assert {r["run_id"] for r in q} == {result.run_id}


def test_county_tables_open_with_one_version_carrying_the_run(first_run):
    _, warehouse, _, result, _ = first_run
    versions = {v["county"]: v for v in result.county_versions}
    assert len(versions) == 58  # every county, with rows or empty
    assert len([v for v in versions.values() if v["rows"]]) >= 10
    for slug, entry in versions.items():
        path = Path(warehouse) / "counties" / slug
        table = DeltaTable(str(path))
        assert table.version() == entry["version"] == 0
        info = table.history(1)[0]
        assert info["run_id"] == result.run_id
        assert info["compute_at"] == COMPUTE_AT.isoformat()
        data = read_arrow(path, table)
        assert data.num_rows == entry["rows"]
        assert not set(c.PII_COLUMNS) & set(data.column_names)
        if not entry["rows"]:
            continue
        candidates = data.filter(pc.field(c.IS_CANDIDATE))
        assert candidates.num_rows > 0
        assert candidates[c.DETERMINATION].null_count == 0
        assert candidates[c.RULE_ID].null_count == 0
        # every candidate is a Prop 64 conviction of this county
        assert set(candidates[c.COUNTY_SLUG].to_pylist()) == {slug}
        assert len(set(data[c.RECORD_ID].to_pylist())) == data.num_rows


PROP64_NUMBER = re.compile(r"(11357|11358|11359|11360)")
SPELLINGS = {
    "subsection without parentheses": re.compile(r"^(1135[789]|11360)[A-D]\d* HS$"),
    "no dash, no code": re.compile(r"^(1135[789]|11360)(\([A-D]\))* [A-Z/ .0-9]+$"),
    "H&S": re.compile(r"H&S$"),
    "attempt": re.compile(r"^664/"),
    "lower case": re.compile(r"hs$"),
}


def prop64_conviction_lines(extract: Path) -> dict[int, str]:
    """line -> county of every Prop 64 conviction in a California county, read as the
    reference tool reads one (DOMAIN.md §2: a Prop 64 number in the code-section text)."""
    counties = {county.name: county.slug for county in load_counties().counties}
    pos = {name: i for i, name in enumerate(c.DOJ_COLUMNS)}
    found: dict[int, str] = {}
    seen: set[tuple[str, str]] = set()
    with extract.open(encoding="utf-8", errors="replace", newline="") as handle:
        for line, fields in enumerate(csv.reader(handle), start=1):
            if len(fields) != 95 or fields[0] == "RECORD_ID":
                continue
            if not fields[pos["DISP_DESCR"]].strip().startswith("CONVICTED"):
                continue
            key = (fields[pos["SUBJECT_ID"]].strip(), fields[pos["CNT_ORDER"]].strip())
            if key in seen:
                continue  # a sentence part of the conviction above
            seen.add(key)
            offense = fields[pos["OFFENSE_DESCR"]].strip()
            source = (
                "COMMENT_TEXT" if offense in ("", "SEE COMMENT FOR CHARGE") else "OFFENSE_DESCR"
            )
            text = fields[pos[source]].split("-")[0]
            county = counties.get(fields[pos["STP_ORI_CNTY_NAME"]].strip())
            if PROP64_NUMBER.search(text) and county:
                found[line] = county
    return found


def test_every_prop64_conviction_of_every_spelling_is_decided_despite_placeholders(first_run):
    extract, warehouse, _, result, _ = first_run
    assert result.status == ledger.STATUS_SUCCEEDED
    # The placeholder is on every line, and nothing about it is even a warning.
    assert "failed" not in result.validation and "normalized 8/8 passed" in result.validation
    with extract.open(encoding="utf-8", errors="replace", newline="") as handle:
        rows = [r for r in csv.reader(handle) if len(r) == 95 and r[0] != "RECORD_ID"]
    assert {r[c.DOJ_COLUMNS.index("DISP_DATE")] for r in rows} == {"  -  "}
    expected = prop64_conviction_lines(extract)
    decided: dict[int, str] = {}
    texts: dict[int, str] = {}
    for entry in result.county_versions:
        table = DeltaTable(str(Path(warehouse) / "counties" / entry["county"])).to_pyarrow_table()
        candidates = table.filter(pc.field(c.IS_CANDIDATE)).to_pylist()
        assert all(r[c.DETERMINATION] and r[c.RULE_ID] for r in candidates)
        for r in candidates:
            decided[r[c.SOURCE_LINE]] = entry["county"]
            texts[r[c.SOURCE_LINE]] = r[c.CODE_SECTION_TEXT]
    assert decided == expected
    found = {name: sum(bool(p.search(t)) for t in texts.values()) for name, p in SPELLINGS.items()}
    assert all(found.values()), found


def test_gogen_summary_counts_the_runs_input_lines(first_run, tmp_path):
    _, warehouse, bad, result, _ = first_run
    county = result.county_versions[0]["county"]
    pull(Path(warehouse), county, tmp_path / "gogen", PullFormat.GOGEN)
    summary = json.loads((tmp_path / "gogen" / SUMMARY_JSON).read_text(encoding="utf-8"))
    assert summary["lineCount"] == ROWS + len(bad)
    # the default policy's lists: every section has a key, 0 when none
    assert set(summary["convictionDismissalCountByCodeSection"]) == {"11357", "11358"}
    assert set(summary["convictionReductionCountByCodeSection"]) == {"11359", "11360"}


def test_ssn_and_cdl_values_appear_in_no_file_under_the_warehouse(first_run):
    extract, warehouse, _, _, _ = first_run
    pattern = re.compile(f"({SSN_REGEX})|({CDL_REGEX})".encode())
    assert pattern.search(extract.read_bytes()), "the extract should hold SSN/CDL values"
    for file in Path(warehouse).rglob("*"):
        if file.is_file():
            assert not pattern.search(file.read_bytes()), f"PII found in {file}"


def test_same_inputs_commit_nothing_and_force_commits_one_version_per_county(first_run):
    _, warehouse, _, first, options = first_run
    again = run(options, Progress(quiet=True))
    assert again.status == ledger.STATUS_NO_CHANGE
    for entry in first.county_versions:
        assert DeltaTable(str(Path(warehouse) / "counties" / entry["county"])).version() == 0

    forced = run(RunOptions(**{**options.__dict__, "force": True}), Progress(quiet=True))
    assert forced.status == ledger.STATUS_SUCCEEDED
    for entry in forced.county_versions:
        path = Path(warehouse) / "counties" / entry["county"]
        table = DeltaTable(str(path))
        assert table.version() == entry["version"] == 1
        assert table.history(1)[0]["run_id"] == forced.run_id
        # a full snapshot, not an append
        assert read_arrow(path, table).num_rows == entry["rows"]


def test_critical_expectation_failure_commits_nothing_and_names_the_offender(first_run):
    extract, warehouse, _, first, options = first_run
    before = {
        e["county"]: DeltaTable(str(Path(warehouse) / "counties" / e["county"])).version()
        for e in first.county_versions
    }
    lines = extract.read_bytes().split(b"\n")
    # One bad value never stops the state's run; 2% of lines with a broken CNT_ORDER do.
    for index in range(5, len(lines) - 1, 50):
        if not lines[index].startswith(b"RECORD_ID"):
            fields = next(csv.reader([lines[index].decode(errors="replace")]))
            if len(fields) == 95:
                fields[c.DOJ_COLUMNS.index("CNT_ORDER")] = "12X"
                buffer = io.StringIO()
                csv.writer(buffer, lineterminator="").writerow(fields)
                lines[index] = buffer.getvalue().encode()
    broken = extract.with_name("broken.csv")
    broken.write_bytes(b"\n".join(lines))
    with pytest.raises(ValidationFailed) as failure:
        run(RunOptions(**{**options.__dict__, "inputs": str(broken)}), Progress(quiet=True))
    message = str(failure.value)
    assert "CNT_ORDER" in message  # the expectation, and record_ids of broken lines
    named = re.search(r"offending record_ids: (.*)", message)
    assert named is not None
    broken_lines = set(range(6, len(lines), 50))
    assert all(int(i.rsplit("-", 1)[1]) in broken_lines for i in named.group(1).split(", "))
    assert "at least 99% must pass" in message
    for slug, version in before.items():
        assert DeltaTable(str(Path(warehouse) / "counties" / slug)).version() == version
    last = ledger.read_runs(Warehouse(warehouse))[-1]
    assert last["status"] == ledger.STATUS_FAILED_VALIDATION
    assert "failed" in last["validation"]
    assert (Path(warehouse) / "validation" / last["run_id"] / "index.html").is_file()
