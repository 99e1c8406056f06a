"""Privacy campaign (issue #13.6): SSN and driver's licence values planted everywhere an
extract can carry them never reach an artifact relief writes.

One statewide run over two files (one without a header, one with its columns in another
order), then a county pull in every format, a court packet with the merged PDF and the
report. Planted: distinctive SSNs (dashed, spaced, dotted, plain digits) and licences
(1 letter + 7 or 8 digits) in the four SSN/CDL columns, quoted and unquoted, in
COMMENT_TEXT, and in malformed lines (wrong field count, broken quoting, a quoted name with
a comma). Searched: every file under the warehouse and the outputs, decompressed (Parquet
values and footers, Delta logs, JSON, HTML, CSV, the text of every PDF page, the XML inside
the xlsx) and everything the commands printed.
"""

from __future__ import annotations

import csv
import io
import random
import re
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from relief.jobs.cli import app
from relief.jobs.synthetic.generate import generate_extract
from relief.transforms.columns import DOJ_COLUMNS

pytestmark = pytest.mark.slow

SSNS = ("771-31-4159", "772 31 4159", "773.31.4159", "774314159")
CDLS = ("Q7314159", "Z73141592")
# Any of them in any spelling: the digits with or without separators.
PLANTED = re.compile(r"77[1-4]\W?31\W?4159|[QZ]73141592?", re.IGNORECASE)
PII_COLUMNS = ("REQ_SSN", "PRI_SSN", "REQ_CDL", "PRI_CDL")
COUNTIES = ("fresno", "sierra")
_POS = {c: i for i, c in enumerate(DOJ_COLUMNS)}


def _planted_line(fields: list[str], i: int) -> list[str]:
    fields = list(fields)
    fields[_POS["REQ_SSN"]] = fields[_POS["PRI_SSN"]] = SSNS[i % len(SSNS)]
    fields[_POS["REQ_CDL"]] = fields[_POS["PRI_CDL"]] = CDLS[i % len(CDLS)]
    if i % 3 == 0:
        comment = fields[_POS["COMMENT_TEXT"]]
        fields[_POS["COMMENT_TEXT"]] = (
            f"{comment} SSN#{SSNS[(i // 3) % len(SSNS)]} DL {CDLS[i % 2]}".strip()
        )
    return fields


def _render(fields: list[str], quote_all: bool) -> str:
    buffer = io.StringIO()
    csv.writer(
        buffer, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator=""
    ).writerow(fields)
    return buffer.getvalue()


def _malformed(i: int) -> list[str]:
    """Lines ingest quarantines, each holding planted values where masking must find them."""
    ssn, cdl = SSNS[i % len(SSNS)], CDLS[i % len(CDLS)]
    short = ["9" + str(i)] + [""] * 93  # 94 fields
    short[_POS["PRI_SSN"]], short[_POS["PRI_CDL"]] = ssn, cdl
    shifted = [""] * len(DOJ_COLUMNS) + ["EXTRA"]  # 96 + 1 fields, a quoted name with a comma
    shifted[_POS["PRI_NAME"]] = "BELLAMY,GERALD T"
    shifted[_POS["PRI_SSN"]], shifted[_POS["PRI_CDL"]] = ssn, cdl
    shifted[_POS["COMMENT_TEXT"]] = f"POSS 11357 HS {ssn}"
    return [
        _render(short, quote_all=False),
        _render(shifted, quote_all=True),
        f'{i},A,"DOE,JOHN {ssn},{cdl},no closing quote',
        f"{ssn},{cdl}",
    ]


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory, spark) -> Iterator[dict[str, object]]:
    root = tmp_path_factory.mktemp("campaign")
    base = root / "base.csv"
    generate_extract(base, rows=2500, seed=13, counties=list(COUNTIES), header=False)
    rows = list(csv.reader(base.read_text().splitlines()))
    planted = [_planted_line(r, i) for i, r in enumerate(rows)]
    cut = len(planted) * 3 // 5
    rng = random.Random(13)
    # File A: no header, positional; half the lines quote every field.
    lines_a = [_render(r, quote_all=i % 2 == 0) for i, r in enumerate(planted[:cut])]
    for i in range(0, len(lines_a), 150):
        lines_a[i:i] = _malformed(i)
    (root / "a.csv").write_text("\n".join(lines_a) + "\n")
    # File B: a header naming the columns in another order; the fields follow it.
    order = list(range(len(DOJ_COLUMNS)))
    rng.shuffle(order)
    header = [DOJ_COLUMNS[j] for j in order]
    lines_b = [",".join(header)]
    for i, r in enumerate(planted[cut:]):
        lines_b.append(_render([r[j] for j in order], quote_all=i % 2 == 1))
    lines_b[40:40] = _malformed(7)
    (root / "b.csv").write_text("\n".join(lines_b) + "\n")

    warehouse, outputs = root / "warehouse", root / "outputs"
    runner = CliRunner()
    printed: list[str] = []

    def relief(*args: object) -> None:
        done = runner.invoke(app, [str(a) for a in args])
        printed.append(done.output)
        assert done.exit_code == 0, done.output

    relief(
        "run", "--input", f"{root / 'a.csv'},{root / 'b.csv'}", "--warehouse", warehouse,
        "--compute-at", "2026-11-22",
    )  # fmt: skip
    for county in COUNTIES:
        for fmt in ("csv", "parquet", "xlsx", "gogen"):
            relief("county", "pull", "--warehouse", warehouse, "--county", county,
                   "--out", outputs / county / fmt, "--format", fmt)  # fmt: skip
        relief("county", "packet", "--warehouse", warehouse, "--county", county,
               "--out", outputs / county / "packet", "--merged")  # fmt: skip
    relief("report", "--warehouse", warehouse, "--out", outputs / "report")
    relief("quarantine", "--warehouse", warehouse)
    yield {"root": root, "warehouse": warehouse, "outputs": outputs, "printed": printed}


def _texts(path: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for everything a file holds, decompressed."""
    name = path.name
    data = path.read_bytes()
    if name.endswith(".parquet"):
        table = pq.read_table(path)
        yield f"{path} (values)", str(table.to_pylist())
        meta = pq.read_metadata(path)
        yield f"{path} (footer)", str(meta.metadata)
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                stats = meta.row_group(g).column(c).statistics
                if stats is not None and stats.has_min_max:
                    yield f"{path} (statistics)", f"{stats.min!r} {stats.max!r}"
    elif name.endswith(".xlsx"):
        with zipfile.ZipFile(path) as book:
            for member in book.namelist():
                yield f"{path}!{member}", book.read(member).decode("utf-8", "replace")
    elif name.endswith(".pdf"):
        reader = PdfReader(path)
        yield f"{path} (metadata)", str(reader.metadata)
        for number, page in enumerate(reader.pages, 1):
            yield f"{path} page {number}", page.extract_text() or ""
    else:
        assert not data.startswith((b"\x1f\x8b", b"PK\x03\x04", b"BZh")), f"{path}: compressed"
        yield str(path), data.decode("utf-8", "replace")


def _files(top: Path) -> list[Path]:
    return sorted(p for p in top.rglob("*") if p.is_file())


def test_no_planted_ssn_or_licence_reaches_any_artifact_or_output(campaign):
    searched = 0
    kinds: set[str] = set()
    for top in (campaign["warehouse"], campaign["outputs"]):
        for file in _files(top):
            kinds.add(file.suffix or file.name)
            for where, text in _texts(file):
                searched += 1
                found = PLANTED.search(text)
                assert found is None, f"{where}: {found.group(0)!r}"
    for output in campaign["printed"]:
        assert PLANTED.search(output) is None, output
    assert searched > 100
    # The search finds what it looks for: each input holds planted values.
    for name in ("a.csv", "b.csv"):
        text = "".join(t for _, t in _texts(campaign["root"] / name))
        assert {m.group(0) for m in PLANTED.finditer(text)} >= {*SSNS, *CDLS}, name
    # Every kind of artifact was there to search.
    assert {".parquet", ".json", ".html", ".csv", ".xlsx", ".pdf"} <= kinds


def test_the_campaign_reached_every_place_it_planted(campaign):
    """The planted lines were read (not dropped before they mattered): lines were
    quarantined, county tables hold rows with masked comments, both files were ingested."""
    printed = "\n".join(campaign["printed"])
    assert "quarantined line(s)" in printed
    quarantine = pq.ParquetDataset(campaign["warehouse"] / "quarantine").read().to_pylist()
    masked = [r for r in quarantine if "#########" in (r.get("raw_text") or "")]
    assert masked and any("########" in (r.get("raw_text") or "") for r in quarantine)
    assert any("BELLAMY,GERALD T" in (r.get("raw_text") or "") for r in quarantine)
    comments = []
    for county in COUNTIES:
        table = pq.ParquetDataset(campaign["outputs"] / county / "parquet").read()
        comments += [c for c in table.column("COMMENT_TEXT").to_pylist() if c]
    assert any("SSN##########" in c for c in comments)
    assert not set(PII_COLUMNS) & set(table.column_names)


def test_every_warehouse_file_is_owner_only_after_a_run(campaign):
    warehouse: Path = campaign["warehouse"]
    wrong = []
    for path in [warehouse, *warehouse.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            wrong.append(f"{path.relative_to(warehouse)} {mode:o}")
    assert not wrong, wrong[:10]
    for top in ("counties", "quarantine", "runs", "validation", "summary"):
        assert (warehouse / top).is_dir(), top
