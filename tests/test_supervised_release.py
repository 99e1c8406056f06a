"""The Supervised Release File reader (jobs/warehouse/supervised_release.py): its format,
and one-line errors naming the file and the line, before Spark starts."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from relief.jobs.warehouse.inputs import InputError
from relief.jobs.warehouse.supervised_release import (
    MAX_ID_LENGTH,
    SupervisedReleaseError,
    read_supervised_release,
)
from relief.transforms.columns import SUBJECT


def _write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_one_id_per_line_trimmed_with_blank_lines_and_repeats(tmp_path):
    path = _write(tmp_path / "srf.txt", "10000017\n  10000042 \n\n10000017\n10000099")
    found = read_supervised_release(path)
    assert found.ids == {"10000017", "10000042", "10000099"}
    assert (found.lines, found.duplicates) == (4, 1)
    assert "10000042" in found and "10000043" not in found
    assert found.location == str(path.resolve())
    assert found.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_header_crlf_line_ends_and_a_byte_order_mark_are_read(tmp_path):
    path = _write(tmp_path / "srf.csv", "\ufeffsubject_id\r\nA123\r\nB456\r\n")
    assert read_supervised_release(path).ids == {"A123", "B456"}


def test_a_gzip_file_of_several_members_is_read(tmp_path):
    path = _write(
        tmp_path / "srf.txt.gz", gzip.compress(b"SUBJECT_ID\n1\n2\n") + gzip.compress(b"3\n")
    )
    found = read_supervised_release(str(path))
    assert found.ids == {"1", "2", "3"}
    assert found.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_ids_come_as_a_sorted_subject_column(tmp_path):
    table = read_supervised_release(_write(tmp_path / "s.txt", "9\n10\n9\n")).subjects()
    assert table.column_names == [SUBJECT]
    assert table.column(SUBJECT).to_pylist() == ["10", "9"]


BAD: list[tuple[str, str, bytes, str]] = [
    ("empty", "s.txt", b"", "holds no SUBJECT_ID"),
    ("header only", "s.txt", b"SUBJECT_ID\n\n", "holds no SUBJECT_ID"),
    ("two columns", "s.csv", b"SUBJECT_ID\n1,2024-01-01\n", "line 2: holds a comma"),
    ("a tab", "s.txt", b"1\n2\t3\n", "line 2: holds a tab"),
    ("quoted", "s.csv", b'"1"\n', "line 1: holds a quote"),
    ("a space inside", "s.txt", b"1\n2 3\n", "line 2: holds a space inside"),
    ("too long", "s.txt", b"1\n" + b"9" * (MAX_ID_LENGTH + 1) + b"\n", "line 2: 65 characters"),
    ("a very long line", "s.txt", b"1\n" + b"9" * 5000, "line 2: longer than any SUBJECT_ID"),
    ("not UTF-8", "s.txt", b"1\n\xff\xfe2\n", "line 2: not UTF-8 text"),
    ("binary", "s.txt", b"1\n2\x003\n", "line 2: holds a NUL byte"),
    ("a control character", "s.txt", b"1\x07\n", "line 1: holds a control character"),
    ("a second header", "s.txt", b"SUBJECT_ID\n1\nSUBJECT_ID\n2\n", "line 3: a second header"),
    ("gzip not named .gz", "s.txt", gzip.compress(b"1\n"), "is gzip-compressed; name it .gz"),
    ("named .gz, plain", "s.txt.gz", b"1\n2\n", "is named .gz but is not gzip-compressed"),
    ("truncated gzip", "s.txt.gz", gzip.compress(b"1\n2\n" * 50)[:-12], "ends early"),
    ("corrupt gzip", "s.txt.gz", b"\x1f\x8b\x08\x00garbage-garbage", "not a valid gzip file"),
    ("bzip2", "s.txt.bz2", b"BZh9", "only plain text or gzip (.gz) is read"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "message"), [(b[1], b[2], b[3]) for b in BAD],
                         ids=[b[0] for b in BAD])  # fmt: skip
def test_a_bad_file_is_one_line_naming_the_file_and_the_fix(tmp_path, name, text, message):
    path = _write(tmp_path / name, text)
    with pytest.raises(SupervisedReleaseError) as caught:
        read_supervised_release(path)
    error = str(caught.value)
    assert "\n" not in error
    assert error.startswith(f"--supervised-release {path.resolve()}: ")
    assert message in error


def test_a_message_never_quotes_an_id(tmp_path):
    path = _write(tmp_path / "s.csv", b"10000017,SMITH\n")
    with pytest.raises(SupervisedReleaseError) as caught:
        read_supervised_release(path)
    assert "10000017" not in str(caught.value) and "SMITH" not in str(caught.value)


def test_a_missing_file_or_a_directory_is_named(tmp_path):
    with pytest.raises(SupervisedReleaseError, match="no such file"):
        read_supervised_release(tmp_path / "none.txt")
    with pytest.raises(SupervisedReleaseError, match="is a directory"):
        read_supervised_release(tmp_path)


def test_the_error_is_an_input_error_so_relief_run_exits_2():
    assert issubclass(SupervisedReleaseError, InputError)
