"""Ingest (transforms/ingest.py, jobs/warehouse/inputs.py): line kinds, numbering, quarantine."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from jobs.warehouse.inputs import InputError, describe_inputs, expand_inputs, read_classified_lines
from transforms import columns as c
from transforms import ingest

HEADER = ",".join(c.DOJ_COLUMNS)


def doj_line(trailing: bool = False, fields: int = 95, **values: str) -> str:
    row = [f"v{i}" for i in range(fields)]
    row[c.DOJ_COLUMNS.index("SUBJECT_ID")] = "S1"
    for name, value in values.items():
        row[c.DOJ_COLUMNS.index(name)] = value
    return ",".join(row) + ("," if trailing else "")


def classify(spark: SparkSession, *lines: str) -> dict[int, tuple[str, str | None]]:
    schema = StructType(
        [StructField(c.RAW_LINE, StringType()), StructField(c.SOURCE_LINE, LongType())]
    )
    df = spark.createDataFrame([(text, i) for i, text in enumerate(lines, start=1)], schema)
    out = ingest.with_line_kind(df).collect()
    return {r[c.SOURCE_LINE]: (r[ingest.LINE_KIND], r[c.QUARANTINE_REASON]) for r in out}


def test_line_kinds_cover_header_blank_kept_and_every_bad_shape(spark):
    got = classify(
        spark,
        HEADER,
        doj_line(),
        "   ",
        doj_line(trailing=True),
        doj_line(fields=94),
        doj_line(fields=97),
        doj_line(fields=96),  # 96 fields but the last is not empty
        doj_line(PRI_NAME='"DOE,JOHN"'),
        doj_line(PRI_NAME='"DOE"X'),
        doj_line(PRI_NAME='"UNCLOSED'),
        doj_line(PRI_NAME="BAD\ufffdBYTE"),
        doj_line(PRI_NAME="NUL\x00"),
        HEADER,
        doj_line(PRI_NAME='"SAID ""HI"""'),
        "",
        " RECORD_ID" + doj_line()[1:],  # a header-like line, not line 1
    )
    assert got[1] == ("header", None)
    assert got[2] == ("kept", None)
    assert got[3] == ("blank", None)
    assert got[4] == ("kept", None)
    assert got[5] == ("quarantined", ingest.REASON_FIELD_COUNT.format(n=94))
    assert got[6] == ("quarantined", ingest.REASON_FIELD_COUNT.format(n=97))
    assert got[7] == ("quarantined", ingest.REASON_FIELD_COUNT.format(n=96))
    assert got[8] == ("kept", None)
    assert got[9] == ("quarantined", ingest.REASON_BROKEN_QUOTING)
    assert got[10] == ("quarantined", ingest.REASON_BROKEN_QUOTING)
    assert got[11] == ("quarantined", ingest.REASON_NOT_TEXT)
    assert got[12] == ("quarantined", ingest.REASON_NOT_TEXT)
    assert got[13] == ("quarantined", ingest.REASON_REPEATED_HEADER)
    assert got[14] == ("kept", None)
    assert got[15] == ("blank", None)
    assert got[16] == ("quarantined", ingest.REASON_REPEATED_HEADER)


def write(path: Path, lines: list[str], gz: bool = False) -> Path:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def test_files_are_read_with_physical_line_numbers_across_splits_and_gzip(spark, tmp_path):
    body = [doj_line(SUBJECT_ID=f"S{i}", PRI_NAME=f'"NAME,{i}"') for i in range(300)]
    plain = write(tmp_path / "a.csv", [HEADER, *body[:150], "", *body[150:]])
    packed = write(tmp_path / "b.csv.gz", body[:40], gz=True)
    files = describe_inputs(expand_inputs(f"{plain},{packed}"))
    spark.conf.set("spark.sql.files.maxPartitionBytes", "20000")  # many splits of a.csv
    try:
        classified = read_classified_lines(spark, files)
        rows = ingest.parsed_rows(classified).collect()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    by_file: dict[str, dict[int, str]] = {}
    for r in rows:
        by_file.setdefault(r[c.SOURCE_FILE], {})[r[c.SOURCE_LINE]] = r[c.SUBJECT_ID]
    a = by_file[str(plain)]
    assert len(a) == 300
    assert a[2] == "S0" and a[151] == "S149" and a[153] == "S150" and a[302] == "S299"
    assert 152 not in a  # the blank line keeps its number
    b = by_file[str(packed)]
    assert sorted(b) == list(range(1, 41)) and b[40] == "S39"
    fp = files[0].fingerprint[:16]
    assert {r[c.RECORD_ID] for r in rows if r[c.SOURCE_FILE] == str(plain)} == {
        f"{fp}-{n}" for n in a
    }


def test_parsed_rows_drop_ssn_and_cdl_and_rename_record_id(spark, tmp_path):
    line = doj_line(REQ_SSN="900-11-2222", PRI_SSN="900-33-4444", REQ_CDL="X1", PRI_CDL="X2")
    files = describe_inputs(expand_inputs(str(write(tmp_path / "x.csv", [line]))))
    parsed = ingest.parsed_rows(read_classified_lines(spark, files))
    assert not set(c.PII_COLUMNS) & set(parsed.columns)
    assert c.DOJ_RECORD_ID in parsed.columns
    row = parsed.first()
    assert row[c.DOJ_RECORD_ID] == "v0" and row["END_OF_REC"] == "v94"
    assert "900-" not in "".join(str(v) for v in row)


def test_quarantined_lines_keep_file_line_reason_and_truncated_text(spark, tmp_path):
    long_bad = doj_line(fields=94, COMMENT_TEXT="Z" * 5000)
    files = describe_inputs(expand_inputs(str(write(tmp_path / "q.csv", [doj_line(), long_bad]))))
    q = ingest.quarantined_lines(read_classified_lines(spark, files)).collect()
    assert len(q) == 1
    assert (q[0][c.SOURCE_FILE], q[0][c.SOURCE_LINE]) == (str(tmp_path / "q.csv"), 2)
    assert q[0][c.QUARANTINE_REASON] == ingest.REASON_FIELD_COUNT.format(n=94)
    assert len(q[0]["raw_text"]) == ingest.RAW_TEXT_LIMIT


def test_input_list_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="no file matches"):
        expand_inputs(str(tmp_path / "*.csv"))
    with pytest.raises(InputError, match="is not a file"):
        expand_inputs(str(tmp_path / "missing.csv"))
    a = write(tmp_path / "a.csv", [doj_line()])
    b = write(tmp_path / "b.csv", [doj_line()])
    with pytest.raises(InputError, match="same content"):
        describe_inputs(expand_inputs(f"{a},{b}"))
    assert expand_inputs(f"{a}, {a}") == [str(a)]


def test_quarantined_raw_text_never_holds_ssn_or_licence(spark):
    schema = StructType([StructField(c.RAW_LINE, StringType())])
    shifted = doj_line(
        fields=94, REQ_SSN="900-00-1234", PRI_CDL="X1234567", COMMENT_TEXT="123456789"
    )
    df = spark.createDataFrame([(shifted,)], schema)
    text = df.select(ingest.masked_raw_text(df[c.RAW_LINE]).alias("t")).first()["t"]
    assert "900-00-1234" not in text and "X1234567" not in text and "123456789" not in text
    assert text.split(",")[c.DOJ_COLUMNS.index("SUBJECT_ID")] == "S1"


def _mutated_lines(count: int, seed: int) -> list[str]:
    """DOJ lines with random damage: quotes, commas, control characters, U+FFFD, spaces."""
    rng = random.Random(seed)
    pieces = [",", '"', '""', '","', "\x00", "\x1f", "\t", "\ufffd", " ", "x", "é", "\x7f"]
    lines = []
    for i in range(count):
        line = doj_line(
            trailing=rng.random() < 0.3,
            fields=rng.choice([94, 95, 95, 95, 96]),
            SUBJECT_ID=rng.choice(["S1", " S2 ", '"S3"', '"S,4"', ""]),
            PRI_NAME=rng.choice(['"DOE,JOHN"', '"SAID ""HI"""', "PLAIN", '""', '"A"B']),
        )
        for _ in range(rng.choice([0, 0, 1, 2])):
            at = rng.randrange(len(line) + 1)
            line = line[:at] + rng.choice(pieces) + line[at:]
        if i % 50 == 0:
            line = " " + HEADER if i % 100 else "record_id" + line
        lines.append(line)
    return lines


def test_fast_line_checks_agree_with_the_exact_ones(spark):
    """is_kept_line (the cheap path) and quarantine_reason decide as the exact checks do."""
    lines = _mutated_lines(3000, seed=11)
    df = spark.createDataFrame([(text,) for text in lines], f"{c.RAW_LINE} string")
    line = df[c.RAW_LINE]
    out = df.select(
        line,
        ingest.is_kept_line(line).alias("fast_kept"),
        ingest.quarantine_reason(line).alias("fast_reason"),
        ingest.exact_reason(line).alias("exact_reason"),
        F.trim(line).alias("trimmed"),
    ).collect()
    kinds = {"kept": 0, "quarantined": 0}
    for row in out:
        exact_kept = row["exact_reason"] is None and row["trimmed"] != ""
        assert row["fast_kept"] == exact_kept, row[c.RAW_LINE]
        assert row["fast_reason"] == row["exact_reason"], row[c.RAW_LINE]
        kinds["kept" if exact_kept else "quarantined"] += 1
    # the sample exercises both sides, and every reason
    assert min(kinds.values()) > 300
    reasons = {row["exact_reason"].split(":")[0] for row in out if row["exact_reason"]}
    assert len(reasons) == 4, reasons
