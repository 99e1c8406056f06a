"""Issue #13.1-2 checked against its text, without Spark: a header in any order is a header
(also one that does not start with RECORD_ID), and masking cannot be shifted by a quoted
comma and finds every SSN and licence spelling the issue lists."""

from __future__ import annotations

import csv
import io
import random

import pyarrow as pa
import pytest

from relief.transforms import ingest
from relief.transforms.columns import DOJ_COLUMNS

_POS = {c: i for i, c in enumerate(DOJ_COLUMNS)}


def _line(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def test_a_header_in_another_order_not_starting_with_record_id_maps_columns_by_name():
    order = list(range(len(DOJ_COLUMNS)))
    random.Random(13).shuffle(order)
    assert DOJ_COLUMNS[order[0]] != "RECORD_ID"
    header = ",".join(DOJ_COLUMNS[j].lower() if j % 2 else DOJ_COLUMNS[j] for j in order)
    layout = ingest.header_layout(header.encode())
    assert layout is not None, "a reordered header was read as a data line"
    fields = [f"value-{name}" for name in DOJ_COLUMNS]
    fields[_POS["PRI_SSN"]], fields[_POS["PRI_NAME"]] = "771-31-4159", "BELLAMY,GERALD T"
    line = _line([fields[j] for j in order]) + "\n"
    table = ingest.parse_lines(pa.py_buffer(line.encode()), layout, 95, len(line))
    assert table.column("PRI_NAME").to_pylist() == ["BELLAMY,GERALD T"]
    assert table.column("CNT_ORDER").to_pylist() == ["value-CNT_ORDER"]
    assert "PRI_SSN" not in table.column_names
    assert "771-31-4159" not in str(table.to_pylist())


def test_a_reordered_header_repeated_later_in_the_file_is_quarantined_as_a_header():
    names = list(DOJ_COLUMNS)
    names[0], names[12] = names[12], names[0]
    assert ingest.exact_reason(",".join(names).encode()) == ingest.REASON_REPEATED_HEADER
    assert ingest.exact_reason(b'"PRI_NAME", subject_id ') == ingest.REASON_REPEATED_HEADER


@pytest.mark.parametrize("first", ["123", "fcc557043bcbd056-1", "HEIGHT", "PRI_NAME,JOHN"])
def test_a_data_line_is_not_taken_for_a_header(first: str):
    assert not ingest.is_header_like(f"{first},A,1001,#")


def test_quarantined_line_with_a_quoted_comma_blanks_the_ssn_not_the_date_of_birth():
    fields = [""] * len(DOJ_COLUMNS)
    fields[_POS["PRI_NAME"]] = "BELLAMY,GERALD T"
    fields[_POS["PRI_DOB"]], fields[_POS["GENDER"]] = "19800115", "M"
    fields[_POS["PRI_SSN"]], fields[_POS["PRI_CDL"]] = "771314159", "Q7314159"
    fields[_POS["REQ_SSN"]], fields[_POS["REQ_CDL"]] = "772 31 4159", "Z73141592"
    text = ingest.masked_raw_text(_line(fields).encode(), ingest.Layout())
    assert "19800115" in text and ",M," in text and "BELLAMY,GERALD T" in text
    assert not any(v in text for v in ("4159", "7314159"))


@pytest.mark.parametrize(
    "value",
    ["123-45-6789", "123 45 6789", "123.45.6789", "123456789", "D1234567", "d12345678"],
)
def test_every_ssn_and_licence_spelling_of_the_issue_is_masked_keeping_the_charge(value: str):
    masked = ingest.mask_identifiers(f"11357 HS POSS;REF:{value}. SEE DA")
    assert value not in masked and masked.startswith("11357 HS POSS;REF:#")
    assert masked.endswith(". SEE DA")
