"""DOJ-shaped extract files with every messy variant ingest meets, made from a seed alone.

Used by tests/test_ingest.py to pin ingest's output. The lines do not come from
jobs/synthetic/generate.py on purpose: a change to the demo generator must not move the pinned
expectations. Every variant of DOMAIN.md §1 and of damaged input occurs: quoted fields with
commas and doubled quotes, empty and quoted-empty fields, placeholders, blank and
space-only SUBJECT_IDs, 94/96/97 fields, a 96th empty field on every line, broken quoting,
control bytes, U+FFFD, invalid UTF-8 of every kind, valid non-ASCII text, blank and
space-only lines, repeated and lower-case headers, lines longer than the quarantine keeps
and longer than a read-ahead, SSN- and licence-shaped values in COMMENT_TEXT; files with
LF, CRLF, CR and mixed line ends, with and without a header or a final line end, a byte
order mark, gzip in one member and in two.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path

from relief.transforms.columns import DOJ_COLUMNS

HEADER = ",".join(DOJ_COLUMNS).encode()
_POS = {c: i for i, c in enumerate(DOJ_COLUMNS)}

NAMES = ('"DOE,JOHN"', "SMITH JANE", '"O""BRIEN,PAT"', '""', "", "  -  ", '"ÉLAN,RENÉ"', "NGUYEN")
COMMENTS = (
    "",
    "11359 HS",
    "SSN 123-45-6789 ON FILE",
    "DL D1234567",
    "REF 123 45 6789",
    "CASE 123.45.6789 X",
    "PLAIN 123456789",
    "A12345678",
    "HS11357",
    '"SAID ""HI"", OK"',
)
DAMAGE = (",", '"', '""', '","', "\x00", "\x1f", "\t", "\ufffd", " ", "x", "é", "\x7f", "\x85")
BAD_BYTES = (
    b"\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    b"\xe2\x82x",
    b"\xf0\x9f",
    b"\xfe\xfe",
    b"\xed\xbf",
)


def _fields(rng: random.Random, i: int) -> list[str]:
    f = [""] * len(DOJ_COLUMNS)
    f[_POS["RECORD_ID"]] = str(i)
    f[_POS["SUBJECT_STATUS"]] = "A"
    f[_POS["SUBJECT_ID"]] = str(1000 + rng.randrange(400))
    f[_POS["REQ_SEG_SEP"]] = "#"
    name = rng.choice(NAMES)
    f[_POS["REQ_NAME"]] = f[_POS["PRI_NAME"]] = name
    ssn = f"9{rng.randrange(10, 99)}-00-{rng.randrange(1000, 9999)}"
    f[_POS["REQ_SSN"]] = f[_POS["PRI_SSN"]] = ssn
    f[_POS["REQ_CDL"]] = f[_POS["PRI_CDL"]] = f"X{rng.randrange(10**6, 10**7):07d}"
    f[_POS["PRI_DOB"]] = rng.choice(["19800115", "19800000", "", "  -  "])
    f[_POS["CNT_ORDER"]] = (
        f"{rng.randrange(1, 9):03d}{rng.randrange(1, 9):03d}{rng.randrange(1, 9):03d}000"
    )
    f[_POS["STP_ORI_CNTY_NAME"]] = rng.choice(["LOS ANGELES", "SAN JOAQUIN", "", "RENO NV"])
    f[_POS["OFFENSE_DESCR"]] = rng.choice(
        ["11357(B) HS-POSSESS", "SEE COMMENT FOR CHARGE", '"459 PC-BURGLARY, 2ND"', ""]
    )
    f[_POS["COMMENT_TEXT"]] = rng.choice(COMMENTS)
    f[_POS["DISP_DESCR"]] = rng.choice(["CONVICTED", "DISMISSED", ""])
    f[_POS["END_OF_REC"]] = "END"
    return f


def messy_lines(count: int, seed: int, trailing: bool = False) -> list[bytes]:
    """``count`` lines (without line ends): ~70% clean, the rest damaged in every way."""
    rng = random.Random(seed)
    out: list[bytes] = []
    for i in range(count):
        f = _fields(rng, i)
        kind = rng.random()
        if kind < 0.70:
            line = ",".join(f) + ("," if trailing else "")
        elif kind < 0.75:
            f[_POS["SUBJECT_ID"]] = rng.choice(["", "   ", '""', '"  "', " "])
            line = ",".join(f)
        elif kind < 0.80:
            short = f[: rng.choice([1, 94, 90])]
            line = ",".join(short if rng.random() < 0.5 else f + ["x"] * rng.choice([1, 2]))
        elif kind < 0.88:
            line = ",".join(f) + ("," if rng.random() < 0.3 else "")
            for _ in range(rng.choice([1, 2])):
                at = rng.randrange(len(line) + 1)
                line = line[:at] + rng.choice(DAMAGE) + line[at:]
        elif kind < 0.91:
            line = rng.choice(
                [
                    "",
                    "   ",
                    "\t",
                    " \t ",
                    HEADER.decode(),
                    " " + HEADER.decode(),
                    "record_id," + ",".join(f[1:]),
                    "R" + ",".join(f),
                    "#" + ",".join(f),
                ]
            )
        elif kind < 0.93:
            long_field = "Z" * rng.choice([1500, 3000, 70000])
            line = ",".join([*f[:50], long_field, *f[51:]])
        else:
            encoded = ",".join(f).encode()
            at = rng.randrange(len(encoded) + 1)
            out.append(encoded[:at] + rng.choice(BAD_BYTES) + encoded[at:])
            continue
        out.append(line.encode("utf-8"))
    return out


def write_messy_extract(
    directory: Path, lines_per_file: int = 1500, big_file_lines: int = 0
) -> list[Path]:
    """The files of the messy extract under ``directory``, in the order to give them.

    ``big_file_lines`` adds a file of that many lines (LF ends; ~740 bytes a line on
    average) to cut into several byte ranges.
    """
    n = lines_per_file
    files = [
        _write(directory / "a.csv", [HEADER, *messy_lines(n, 1)], b"\n"),
        _write(directory / "b.csv", messy_lines(n, 2, trailing=True), b"\r\n", final=False),
        _write(directory / "c.csv", [HEADER, *messy_lines(n, 3)], b"\r"),
        _write(directory / "d.csv.gz", [HEADER, *messy_lines(n, 4)], b"\n", gz="one"),
        _write(directory / "e.csv.gz", messy_lines(n, 5), b"\n", gz="two"),
        _write(directory / "f.csv", messy_lines(n // 3, 6), b"\n", bom=True),
    ]
    mixed = messy_lines(n // 2, 7)
    ends = [b"\n", b"\r\n", b"\r"]
    g = directory / "g.csv"
    g.write_bytes(b"".join(line + ends[i % 3] for i, line in enumerate(mixed)))
    files.append(g)
    if big_file_lines:
        files.append(_write(directory / "h.csv", [HEADER, *messy_lines(big_file_lines, 8)], b"\n"))
    return files


def _write(
    path: Path,
    lines: list[bytes],
    end: bytes,
    final: bool = True,
    gz: str = "",
    bom: bool = False,
) -> Path:
    data = (b"\xef\xbb\xbf" if bom else b"") + end.join(lines) + (end if final else b"")
    if gz == "one":
        data = gzip.compress(data, mtime=0)
    elif gz == "two":
        half = len(data) // 2
        data = gzip.compress(data[:half], mtime=0) + gzip.compress(data[half:], mtime=0)
    path.write_bytes(data)
    return path
