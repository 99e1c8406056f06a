"""The synthetic DOJ extract: shape, determinism and the variety DOMAIN.md §1-2 promises."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from relief.jobs.config import load_counties
from relief.jobs.synthetic import generate
from relief.jobs.synthetic.generate import CDL_REGEX, SSN_REGEX, GenerateStats, generate_extract
from relief.transforms import columns as c

ROOT = Path(__file__).resolve().parent.parent
POS = {name: i for i, name in enumerate(c.DOJ_COLUMNS)}
OFFENSE = POS[c.OFFENSE_DESCR]
COMMENT = POS[c.COMMENT_TEXT]
COUNTY = POS[c.STP_ORI_CNTY_NAME]
SUBJECT = POS[c.SUBJECT_ID]
CNT_ORDER = POS[c.CNT_ORDER]
DISP = POS[c.DISP_DESCR]
STEP_TYPE = POS[c.STP_TYPE_DESCR]
PROP64 = re.compile(r"^\s*(?:664/)?(1135[789]|11360)(?!\d)")
CALIFORNIA = {
    "ALAMEDA", "ALPINE", "AMADOR", "BUTTE", "CALAVERAS", "COLUSA", "CONTRA COSTA", "DEL NORTE",
    "EL DORADO", "FRESNO", "GLENN", "HUMBOLDT", "IMPERIAL", "INYO", "KERN", "KINGS", "LAKE",
    "LASSEN", "LOS ANGELES", "MADERA", "MARIN", "MARIPOSA", "MENDOCINO", "MERCED", "MODOC",
    "MONO", "MONTEREY", "NAPA", "NEVADA", "ORANGE", "PLACER", "PLUMAS", "RIVERSIDE",
    "SACRAMENTO", "SAN BENITO", "SAN BERNARDINO", "SAN DIEGO", "SAN FRANCISCO", "SAN JOAQUIN",
    "SAN LUIS OBISPO", "SAN MATEO", "SANTA BARBARA", "SANTA CLARA", "SANTA CRUZ", "SHASTA",
    "SIERRA", "SISKIYOU", "SOLANO", "SONOMA", "STANISLAUS", "SUTTER", "TEHAMA", "TRINITY",
    "TULARE", "TUOLUMNE", "VENTURA", "YOLO", "YUBA",
}  # fmt: skip

Row = list[str]


def read_rows(path: Path) -> list[Row]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="ascii", newline="") as handle:
        return list(csv.reader(handle))


def code_section(row: Row) -> str:
    """DOMAIN.md §2: text before the first '-' of OFFENSE_DESCR, or of COMMENT_TEXT when
    OFFENSE_DESCR is blank or SEE COMMENT FOR CHARGE."""
    offense = row[OFFENSE].strip()
    source = row[COMMENT] if offense in ("", "SEE COMMENT FOR CHARGE") else row[OFFENSE]
    return source.split("-")[0].strip()


def prop64_section(text: str) -> str | None:
    match = PROP64.match(text.split("-")[0].upper())
    return match.group(1) if match else None


def is_conviction(row: Row) -> bool:
    return row[DISP].startswith("CONVICTED")


def is_felony(row: Row) -> bool:
    status = row[POS[c.CONV_STAT_DESCR]]
    return status == "FELONY" or (status == "" and row[POS[c.OFFENSE_TOC]] == "F")


def counted_prop64_convictions(rows: list[Row]) -> list[Row]:
    """First conviction line of each (subject, CNT_ORDER) whose code section is Prop 64."""
    seen: set[tuple[str, str]] = set()
    found = []
    for row in rows:
        key = (row[SUBJECT], row[CNT_ORDER])
        if not is_conviction(row) or key in seen:
            continue
        seen.add(key)
        if prop64_section(code_section(row)):
            found.append(row)
    return found


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerateStats, list[Row]]:
    path = tmp_path_factory.mktemp("generate") / "extract.csv"
    stats = generate_extract(path, 20_000, seed=2024)
    return stats, read_rows(path)


@pytest.fixture(scope="module")
def data(extract: tuple[GenerateStats, list[Row]]) -> list[Row]:
    return extract[1][1:]


# --- shape --------------------------------------------------------------------------------
def test_header_is_the_95_doj_columns(extract: tuple[GenerateStats, list[Row]]) -> None:
    assert extract[1][0] == list(c.DOJ_COLUMNS)


def test_every_line_has_95_fields(extract: tuple[GenerateStats, list[Row]]) -> None:
    assert Counter(len(row) for row in extract[1]) == {95: 20_001}


@pytest.mark.parametrize("rows", [0, 1, 777, 5_003])
def test_writes_exactly_the_requested_rows(tmp_path: Path, rows: int) -> None:
    path = tmp_path / "x.csv"
    stats = generate_extract(path, rows, seed=5)
    text = path.read_text(encoding="ascii")
    assert text.startswith("RECORD_ID,")
    assert text.endswith("\n")
    assert text.count("\n") == rows + 1
    assert stats.rows == rows


def test_header_can_be_left_out(tmp_path: Path) -> None:
    with_header, without = tmp_path / "a.csv", tmp_path / "b.csv"
    generate_extract(with_header, 300, seed=5)
    generate_extract(without, 300, seed=5, header=False)
    lines = with_header.read_text().splitlines()
    assert without.read_text().splitlines() == lines[1:]
    assert lines[1].startswith("1,")


def test_trailing_empty_field_gives_96_fields_on_every_line(tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    generate_extract(path, 2_000, seed=5, trailing_empty_field=True)
    rows = read_rows(path)
    assert Counter(len(row) for row in rows) == {96: 2_001}
    assert {row[95] for row in rows} == {""}
    assert [row[:95] for row in rows] == read_rows(_plain(tmp_path, 2_000, 5))


def _plain(tmp_path: Path, rows: int, seed: int) -> Path:
    path = tmp_path / f"plain-{rows}-{seed}.csv"
    generate_extract(path, rows, seed=seed)
    return path


def test_gz_output_holds_the_same_lines_as_plain(tmp_path: Path) -> None:
    path = tmp_path / "extract.csv.gz"
    generate_extract(path, 3_000, seed=9)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    with gzip.open(path, "rb") as handle:
        assert handle.read() == _plain(tmp_path, 3_000, 9).read_bytes()
    assert not list(tmp_path.glob("*.partial"))


def test_stats_describe_the_file(extract: tuple[GenerateStats, list[Row]]) -> None:
    stats, rows = extract
    data = rows[1:]
    deceased = {row[SUBJECT] for row in data if row[STEP_TYPE] == "DECEASED"}
    prop64 = counted_prop64_convictions(data)
    assert stats.rows == 20_000
    assert stats.subjects == len({row[SUBJECT] for row in data})
    assert stats.subjects_with_prop64_conviction == len({row[SUBJECT] for row in prop64})
    assert stats.prop64_convictions == len(prop64)
    assert stats.deceased_subjects == len(deceased)


def test_progress_is_reported_every_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generate, "PROGRESS_EVERY", 1_000)
    seen: list[int] = []
    generate_extract(tmp_path / "p.csv", 5_500, seed=1, progress=seen.append)
    assert seen == [1_000, 2_000, 3_000, 4_000, 5_000, 5_500]


# --- determinism --------------------------------------------------------------------------
def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    generate_extract(a, 4_000, seed=77)
    generate_extract(b, 4_000, seed=77)
    assert a.read_bytes() == b.read_bytes()


def test_different_seed_gives_a_different_file(tmp_path: Path) -> None:
    assert _plain(tmp_path, 1_000, 1).read_bytes() != _plain(tmp_path, 1_000, 2).read_bytes()


def test_fewer_rows_give_a_prefix_of_the_longer_file(tmp_path: Path) -> None:
    short = _plain(tmp_path, 1_234, 3).read_bytes()
    assert _plain(tmp_path, 3_000, 3).read_bytes().startswith(short)


def test_output_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    expected = _plain(tmp_path, 1_500, 11).read_bytes()
    script = (
        "import sys; from pathlib import Path; "
        "from relief.jobs.synthetic.generate import generate_extract; "
        "generate_extract(Path(sys.argv[1]), 1500, seed=11)"
    )
    for hash_seed in ("1", "2"):
        out = tmp_path / f"hash-{hash_seed}.csv"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, env=env, cwd=ROOT)
        assert out.read_bytes() == expected


# --- counties -----------------------------------------------------------------------------
# sha256 of the files the generator wrote before it was split into rooms (vocabulary, people,
# writer, bad lines; issue #22): the split, and any later tidying, must keep every byte.
PINNED_SHA256 = {
    "plain": ("55ebbae62c12d7b61db5a84d377d39ff62ec572a19cf364d4a0251d0a50a8583",
              {"rows": 3000, "seed": 64}),
    "counties": ("f9c93e4d2f3e8ae8a54e6fb74e0624f2a17a4a386d809088a2cdff3f96c5435f",
                 {"rows": 1500, "seed": 7, "counties": ["Kern", "Solano"],
                  "trailing_empty_field": True, "header": False, "disp_date_placeholder": 1.0}),
    "county_shaped": ("12ee7519215e72484d50b1cf5eb7f7848c4630e5f9791dc99314049fd608b2b2",
                      {"rows": 1500, "seed": 3, "county_shaped": "Fresno"}),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(PINNED_SHA256))
def test_the_same_arguments_give_the_bytes_pinned_before_the_split(tmp_path: Path, case: str):
    digest, arguments = PINNED_SHA256[case]
    path = tmp_path / f"{case}.csv"
    generate_extract(path, **arguments)  # type: ignore[arg-type]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_counties_restriction_holds_for_every_california_and_prop64_row(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    generate_extract(path, 6_000, seed=4, counties=["los-angeles", "Yolo", "SAN JOAQUIN"])
    data = read_rows(path)[1:]
    chosen = {"LOS ANGELES", "YOLO", "SAN JOAQUIN"}
    counties = {row[COUNTY] for row in data}
    assert counties & CALIFORNIA == chosen
    prop64_rows = [
        row for row in data if prop64_section(row[OFFENSE].strip()) or prop64_section(row[COMMENT])
    ]
    assert prop64_rows
    assert {row[COUNTY] for row in prop64_rows} <= chosen
    assert counties - CALIFORNIA, "out-of-state agencies still appear"


def test_county_shaped_gives_every_subject_a_prop64_conviction_there_and_keeps_the_state(
    tmp_path: Path,
) -> None:
    path = tmp_path / "county.csv"
    stats = generate_extract(path, 6_000, seed=5, county_shaped="san-joaquin")
    data = read_rows(path)[1:]
    subjects = list(dict.fromkeys(row[SUBJECT] for row in data))
    there = {
        row[SUBJECT] for row in counted_prop64_convictions(data) if row[COUNTY] == "SAN JOAQUIN"
    }
    # The file ends after exactly 6,000 lines: the last subject's history may be cut short.
    assert set(subjects[:-1]) <= there
    assert stats.subjects_with_prop64_conviction == stats.subjects == len(subjects)
    assert len({row[COUNTY] for row in data} & CALIFORNIA) > 10, "whole statewide histories"


def test_county_shaped_and_counties_are_refused_together(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        generate_extract(
            tmp_path / "x.csv", 10, seed=1, counties=["yolo"], county_shaped="san-joaquin"
        )


def test_unknown_county_is_rejected_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown county 'atlantis'"):
        generate_extract(tmp_path / "x.csv", 10, seed=1, counties=["atlantis"])
    assert not (tmp_path / "x.csv").exists()


def test_counties_are_weighted_by_population_with_out_of_state_agencies(tmp_path: Path) -> None:
    path = tmp_path / "state.csv"
    generate_extract(path, 60_000, seed=8)
    counts = Counter(row[COUNTY] for row in read_rows(path)[1:])
    populous = {county.name for county in load_counties().counties if county.population >= 100}
    assert populous <= set(counts)
    assert len(set(counts) & CALIFORNIA) >= 50
    assert counts.most_common(1)[0][0] == "LOS ANGELES"
    assert 0.18 < counts["LOS ANGELES"] / 60_000 < 0.32  # a quarter of the state lives there
    assert {"OUT OF STATE", "WASHOE NV", "MARICOPA AZ"} <= set(counts)


# --- Prop 64 content ----------------------------------------------------------------------
def test_share_of_subjects_with_a_prop64_conviction_is_10_to_20_percent(
    data: list[Row],
) -> None:
    subjects = {row[SUBJECT] for row in data}
    with_prop64 = {row[SUBJECT] for row in counted_prop64_convictions(data)}
    assert 0.10 <= len(with_prop64) / len(subjects) <= 0.20


def test_prop64_convictions_cover_sections_levels_and_both_sides_of_2016_11_09(
    data: list[Row],
) -> None:
    convictions = counted_prop64_convictions(data)
    sections = Counter(prop64_section(code_section(row)) for row in convictions)
    assert set(sections) == {"11357", "11358", "11359", "11360"}
    felonies = [row for row in convictions if is_felony(row)]
    assert felonies and len(felonies) < len(convictions)
    statuses = {row[POS[c.CONV_STAT_DESCR]] for row in convictions}
    assert {"FELONY", "MISDEMEANOR", "INFRACTION", ""} <= statuses
    blank_status_tocs = {
        row[POS[c.OFFENSE_TOC]] for row in convictions if row[POS[c.CONV_STAT_DESCR]] == ""
    }
    assert {"F", "M"} <= blank_status_tocs
    dates = [row[POS[c.DISP_DATE]] for row in convictions if row[POS[c.DISP_DATE]]]
    assert any(d < "20161109" for d in dates) and any(d >= "20161109" for d in dates)
    assert min(dates) < "19900000"
    subsections = {re.sub(r"\s", "", code_section(r)).upper()[:8] for r in convictions}
    assert {"11357(A)", "11357(B)", "11357(C)", "11359(B)"} <= subsections


def test_non_convictions_and_every_kind_of_other_charge_occur(data: list[Row]) -> None:
    dispositions = {row[DISP] for row in data}
    assert {"DISMISSED", "ACQUITTED", "NOT PROSECUTED"} <= dispositions
    assert {"CONVICTED-JAIL", "CONVICTED-PROBATION", "CONVICTED-PRISON"} <= dispositions
    sections = {re.sub(r"\s+", " ", code_section(row)).upper() for row in data}
    related = {"647(F) PC", "602 PC", "466 PC", "148.9 PC", "148 PC", "11364 HS", "11550 HS"}
    related |= {"4140 BP", "4149 BP", "4060 BP", "40508 VC", "1320(B) PC"}
    superstrikes = {"187(A) PC", "261(A)(2) PC", "288(A) PC", "664/187(A) PC"}
    pc290 = {"243.4(A) PC", "314(1) PC"}
    ordinary = {"459 PC", "484(A) PC", "23152(A) VC", "11350(A) HS", "245(A)(1) PC"}
    ordinary |= {"10851(A) VC"}
    assert related | superstrikes | pc290 | ordinary <= sections


def test_step_types_include_registration_and_deceased(data: list[Row]) -> None:
    steps = Counter(row[STEP_TYPE] for row in data)
    assert {"ARREST/DETAINED/CITED", "COURT ACTION", "REGISTRATION", "DECEASED"} <= set(steps)
    registrations = [row[OFFENSE] for row in data if row[STEP_TYPE] == "REGISTRATION"]
    assert "290 PC-REGISTRATION OF SEX OFFENDER" in registrations
    assert any(not text.startswith("290") for text in registrations)


def _other_p64_in_comment(row: Row) -> bool:
    offense = row[OFFENSE].strip()
    if offense in ("", "SEE COMMENT FOR CHARGE"):
        return False
    in_comment = prop64_section(row[COMMENT])
    return in_comment is not None and in_comment != prop64_section(offense)


VARIANTS: dict[str, Callable[[Row], bool]] = {
    "blank OFFENSE_DESCR, charge in COMMENT_TEXT": lambda r: (
        r[OFFENSE] == "" and prop64_section(r[COMMENT]) is not None
    ),
    "whitespace OFFENSE_DESCR, charge in COMMENT_TEXT": lambda r: (
        r[OFFENSE] != "" and r[OFFENSE].strip() == "" and prop64_section(r[COMMENT]) is not None
    ),
    "SEE COMMENT FOR CHARGE": lambda r: (
        r[OFFENSE] == "SEE COMMENT FOR CHARGE" and prop64_section(r[COMMENT]) is not None
    ),
    "other Prop 64 section in COMMENT_TEXT": _other_p64_in_comment,
    "11357 a/b vs c/d in COMMENT_TEXT": lambda r: bool(
        (
            re.match(r"11357 ?\([AB]\)", r[OFFENSE].strip(), re.I)
            and re.match(r"\s*11357 ?\([CD]\)", r[COMMENT], re.I)
        )
        or (
            re.match(r"11357 ?\([CD]\)", r[OFFENSE].strip(), re.I)
            and re.match(r"\s*11357 ?\([AB]\)", r[COMMENT], re.I)
        )
    ),
    "no space before code": lambda r: bool(re.match(r"1135[789](\(\w\))*HS-", r[OFFENSE])),
    "no space, no subsection": lambda r: bool(re.match(r"1135[789]HS-", r[OFFENSE])),
    "space before subsection": lambda r: bool(re.match(r"1135[789] \(\w\) HS-", r[OFFENSE])),
    "H&S": lambda r: bool(re.match(r"(1135[789]|11360)\S* H&S-", r[OFFENSE])),
    "lower case": lambda r: bool(re.match(r"(1135[789]|11360)(\([a-z]\))* ?hs-", r[OFFENSE])),
    "stray spaces": lambda r: r[OFFENSE].startswith(" ") and prop64_section(r[OFFENSE]) is not None,
    "attempt 664/": lambda r: bool(re.match(r"664/(1135[789]|11360)", r[OFFENSE])),
    "subsection without parentheses (11357A HS)": lambda r: bool(
        re.match(r"(1135[789]|11360)[A-D] HS-", r[OFFENSE])
    ),
    "two-level subsection without parentheses (11357B2 HS)": lambda r: bool(
        re.match(r"(1135[789]|11360)[A-D]\d HS-", r[OFFENSE])
    ),
    "description after the section, no dash, no code": lambda r: bool(
        re.fullmatch(r"(1135[789]|11360)(\([A-D]\))* [A-Z][^-]*", r[OFFENSE])
        and not re.match(r"\S+ (HS|H&S)\b", r[OFFENSE])
    ),
    "DISP_DATE placeholder": lambda r: r[POS[c.DISP_DATE]] == "  -  ",
    "ordinary charge only in COMMENT_TEXT": lambda r: (
        r[OFFENSE] in ("", "SEE COMMENT FOR CHARGE")
        and bool(re.match(r"\d+\S* [A-Z]{2}-", r[COMMENT]))
    ),
    "comment with comma (quoted)": lambda r: "," in r[COMMENT],
    "comment with double quote (escaped)": lambda r: '"' in r[COMMENT],
    "name with comma (quoted)": lambda r: "," in r[POS[c.PRI_NAME]],
    "name 'LAST, FIRST'": lambda r: ", " in r[POS[c.PRI_NAME]],
    "sentence length not zero-padded": lambda r: len(r[POS[c.SENT_LENGTH]]) in (1, 2),
    "court without OFN": lambda r: r[STEP_TYPE] == "COURT ACTION" and r[POS[c.OFN]] == "",
    "out-of-state agency": lambda r: r[COUNTY] not in CALIFORNIA,
    "municipal court": lambda r: r[POS[c.STP_ORI_DESCR]].startswith("CAMC "),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_messy_variant_occurs(data: list[Row], variant: str) -> None:
    assert any(VARIANTS[variant](row) for row in data)


@pytest.mark.parametrize("column", [c.PRI_DOB, c.DISP_DATE, c.STP_EVENT_DATE, c.CYC_DATE])
def test_dates_are_full_partial_or_blank(data: list[Row], column: str) -> None:
    values = Counter(row[POS[column]] for row in data if row[POS[column]] != "  -  ")
    shapes = Counter(
        "blank" if v == "" else "year" if v.endswith("0000") else "month" if v.endswith("00")
        else "full"
        for v in values.elements()
    )  # fmt: skip
    assert set(shapes) == {"blank", "year", "month", "full"}
    assert all(re.fullmatch(r"(19|20)\d{6}", v) for v in values if v)
    assert shapes["full"] > 0.9 * sum(shapes.values()) or column == c.DISP_DATE


# --- structure ----------------------------------------------------------------------------
def test_disp_date_placeholder_share_is_an_option(tmp_path: Path) -> None:
    def placeholders(share: float) -> tuple[int, int]:
        path = tmp_path / f"p{share}.csv"
        generate_extract(path, 3_000, seed=4, disp_date_placeholder=share)
        rows = read_rows(path)[1:]
        return sum(r[POS[c.DISP_DATE]] == "  -  " for r in rows), len(rows)

    assert placeholders(1.0) == (3_000, 3_000)  # as the reference tool's generator
    assert placeholders(0.0) == (0, 3_000)
    some, total = placeholders(0.03)  # the default share of steps
    assert 0 < some < total * 0.1
    raw = (tmp_path / "p1.0.csv").read_text(encoding="ascii").splitlines()[1]
    assert ',"  -  ",' in raw  # quoted, as Go's encoding/csv writes a leading space
    with pytest.raises(ValueError, match=r"share of steps from 0 to 1, not 1\.5"):
        generate_extract(tmp_path / "x.csv", 10, seed=1, disp_date_placeholder=1.5)


def test_cnt_order_is_cycle_step_count_and_000(data: list[Row]) -> None:
    for row in data:
        order = row[CNT_ORDER]
        assert re.fullmatch(r"\d{9}000", order), order
        assert order[:3] == row[POS["CYC_ORDER"]] and order[3:6] == row[POS["STP_ORDER"]]


def test_multi_count_cycles_and_sentence_parts_occur(data: list[Row]) -> None:
    by_order: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in data:
        by_order[(row[SUBJECT], row[CNT_ORDER])].append(row)
    parts = [rows for rows in by_order.values() if len(rows) > 1]
    assert parts
    for rows in parts:
        assert is_conviction(rows[0])
        assert all(r[POS[c.SENT_LENGTH]] or r[POS["SENT_LOC_DESCR"]] for r in rows)
        assert len({r[POS[c.OFFENSE_DESCR]] for r in rows}) == 1
    assert any(order[6:9] == "003" for _, order in by_order), "cycles with 3+ counts"


def test_counts_of_a_court_step_share_its_case_number(data: list[Row]) -> None:
    steps: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in data:
        if row[STEP_TYPE] == "COURT ACTION":
            steps[(row[SUBJECT], row[CNT_ORDER][:6])].add(row[POS[c.OFN]])
    single = sum(len(ofns) == 1 for ofns in steps.values())
    assert single > 0.9 * len(steps)
    assert any(len(ofns) > 1 for ofns in steps.values()), "consolidated cases occur"


def test_pii_follows_the_documented_patterns_and_nowhere_else(data: list[Row]) -> None:
    ssn, cdl = re.compile(SSN_REGEX), re.compile(CDL_REGEX)
    pii = {POS[name] for name in c.PII_COLUMNS}
    for row in data:
        assert ssn.fullmatch(row[POS["PRI_SSN"]]) and ssn.fullmatch(row[POS["REQ_SSN"]])
        assert cdl.fullmatch(row[POS["PRI_CDL"]]) and cdl.fullmatch(row[POS["REQ_CDL"]])
        others = ",".join(v for i, v in enumerate(row) if i not in pii)
        assert not ssn.search(others) and not cdl.search(others)
        assert not re.search(r"X\d", others)


def test_spark_reads_every_line_as_95_columns(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "spark.csv"
    generate_extract(path, 2_000, seed=6)
    frame = spark.read.csv(str(path), header=True, quote='"', escape='"', mode="FAILFAST")
    assert frame.columns == list(c.DOJ_COLUMNS)
    assert frame.count() == 2_000
    expected = {
        (row[SUBJECT], row[POS[c.PRI_NAME]], row[COMMENT] or None)
        for row in read_rows(path)[1:]
        if '"' in row[COMMENT]
    }
    assert expected
    got = {
        (r[c.SUBJECT_ID], r[c.PRI_NAME], r[c.COMMENT_TEXT])
        for r in frame.where(frame[c.COMMENT_TEXT].contains('"')).collect()
    }
    assert got == expected


def test_file_is_plain_ascii_with_unix_newlines(tmp_path: Path) -> None:
    raw = _plain(tmp_path, 2_000, 12).read_bytes()
    raw.decode("ascii")
    assert b"\r" not in raw
    assert len(list(csv.reader(io.StringIO(raw.decode())))) == 2_001
