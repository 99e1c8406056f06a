"""Subject history (DOMAIN.md §3) on tiny inline DataFrames of normalized rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (
    BooleanType,
    DateType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from relief.jobs.config import load_counties
from relief.jobs.config.offenses import load_offenses
from relief.transforms import columns as c
from relief.transforms.history import fan_out_to_counties, prop64_subject_rows, subject_history

D = dt.date

# The normalized columns history reads, with defaults for a non-conviction arrest line.
FIELDS: list[tuple[str, Any, Any]] = [
    (c.RECORD_ID, StringType(), None),
    (c.INPUT_INDEX, IntegerType(), 0),
    (c.SOURCE_LINE, LongType(), None),
    (c.SUBJECT, StringType(), "S1"),
    (c.COUNT_ORDER, StringType(), None),
    (c.CYCLE_STEP, StringType(), None),
    (c.OFN, StringType(), None),
    (c.COUNTY_SLUG, StringType(), "los-angeles"),
    (c.IS_COURT_ACTION, BooleanType(), False),
    (c.IS_CONVICTION, BooleanType(), False),
    (c.IS_FELONY, BooleanType(), None),
    (c.CONVICTION_DATE, DateType(), None),
    (c.date_latest(c.CONVICTION_DATE), DateType(), None),
    (c.EVENT_DATE, DateType(), None),
    (c.date_latest(c.EVENT_DATE), DateType(), None),
    (c.SECTION, StringType(), None),
    (c.CODE_SECTION, StringType(), None),
    (c.CODE_SECTION_TEXT, StringType(), None),
    (c.IS_PROP64, BooleanType(), False),
    (c.IS_SUPERSTRIKE, BooleanType(), False),
    (c.IS_ENHANCEABLE_OFFENSE, BooleanType(), False),
    (c.IS_GANG_ENHANCEMENT, BooleanType(), False),
    (c.IS_PC290_OFFENSE, BooleanType(), False),
    (c.IS_PC290_REGISTRATION, BooleanType(), False),
    (c.IS_DECEASED_STEP, BooleanType(), False),
    (c.SENTENCE_MONTHS, IntegerType(), None),
    (c.SENTENCE_DAYS, IntegerType(), None),
]
SCHEMA = StructType([StructField(name, kind, True) for name, kind, _ in FIELDS])


def rows(spark: SparkSession, *specs: dict[str, Any]) -> DataFrame:
    data = []
    for line, spec in enumerate(specs, start=1):
        values = {name: default for name, _, default in FIELDS}
        values[c.SOURCE_LINE] = line
        values[c.RECORD_ID] = f"fp-{line}"
        if c.CONVICTION_DATE in spec and c.date_latest(c.CONVICTION_DATE) not in spec:
            spec = {**spec, c.date_latest(c.CONVICTION_DATE): spec[c.CONVICTION_DATE]}
        if c.EVENT_DATE in spec and c.date_latest(c.EVENT_DATE) not in spec:
            spec = {**spec, c.date_latest(c.EVENT_DATE): spec[c.EVENT_DATE]}
        if c.COUNT_ORDER in spec and c.CYCLE_STEP not in spec:
            spec = {**spec, c.CYCLE_STEP: spec[c.COUNT_ORDER][:6]}
        values.update(spec)
        data.append(tuple(values[name] for name, _, _ in FIELDS))
    return spark.createDataFrame(data, SCHEMA)


def conviction(cnt: str, date: D | None, section: str = "11357", **extra: Any) -> dict:
    p64 = section in c.PROP64_SECTIONS
    return {
        c.COUNT_ORDER: cnt,
        c.IS_CONVICTION: True,
        c.IS_FELONY: extra.pop("felony", False),
        c.CONVICTION_DATE: date,
        c.SECTION: section,
        c.CODE_SECTION: extra.pop("code_section", f"{section} {'HS' if p64 else 'PC'}"),
        c.CODE_SECTION_TEXT: extra.pop("text", f"{section} {'HS' if p64 else 'PC'}"),
        c.IS_PROP64: p64,
        **extra,
    }


def by_line(df: DataFrame) -> dict[int, Any]:
    return {r[c.SOURCE_LINE]: r for r in df.collect()}


def test_sentence_parts_on_repeated_cnt_order_are_one_conviction_with_summed_sentence(spark):
    df = rows(
        spark,
        conviction("001002001000", D(2010, 1, 31), sentence_months=1),
        {c.COUNT_ORDER: "001002001000", c.SENTENCE_DAYS: 10, c.SENTENCE_MONTHS: 12},
        conviction("001002002000", D(2012, 5, 1), section="459"),
    )
    out = by_line(subject_history(df))
    assert out[1][c.IS_COUNTED_CONVICTION] is True
    assert out[2][c.IS_COUNTED_CONVICTION] is False
    # 2010-01-31 + 13 months (calendar) = 2011-02-28, + 10 days = 2011-03-10
    assert out[1][c.SENTENCE_END] == D(2011, 3, 10)
    assert out[2][c.SENTENCE_END] is None
    assert out[1][c.CONVICTION_COUNT] == 2
    assert out[1][c.PROP64_COUNT] == 1
    assert out[1][c.section_count("11357")] == 1
    assert out[1][c.ONLY_PROP64] is False
    assert out[3][c.LAST_CONVICTION] == D(2012, 5, 1)


def test_repeated_conviction_line_of_same_cnt_order_is_counted_once(spark):
    df = rows(
        spark,
        conviction("002001001000", D(2001, 1, 1)),
        conviction("002001001000", D(2001, 1, 1), sentence_days=30),
    )
    out = by_line(subject_history(df))
    assert [out[1][c.IS_COUNTED_CONVICTION], out[2][c.IS_COUNTED_CONVICTION]] == [True, False]
    assert out[1][c.CONVICTION_COUNT] == 1
    assert out[1][c.SENTENCE_END] == D(2001, 1, 31)
    assert out[1][c.ONLY_PROP64] is True


def test_case_numbers_are_distinct_ofns_of_court_actions_with_same_cycle_step_first_seen(spark):
    df = rows(
        spark,
        {c.COUNT_ORDER: "001002001000", c.IS_COURT_ACTION: True, c.OFN: "LA123"},
        conviction("001002002000", D(2010, 1, 1), is_court_action=True, OFN=" LA123 "),
        {c.COUNT_ORDER: "001002003000", c.IS_COURT_ACTION: True, c.OFN: "LA077"},
        {c.COUNT_ORDER: "001001001000", c.IS_COURT_ACTION: False, c.OFN: "ARREST9"},
        conviction("003002001000", D(2011, 1, 1)),
        {c.COUNT_ORDER: "001002004000", c.IS_COURT_ACTION: True, c.OFN: "  -  "},
        {c.COUNT_ORDER: "001002005000", c.IS_COURT_ACTION: True, c.OFN: "LA100"},
    )
    out = by_line(subject_history(df))
    # first-seen order, as the reference tool lists them; a placeholder is no case number
    assert out[2][c.CASE_NUMBERS] == "LA123; LA077; LA100"
    assert out[5][c.CASE_NUMBERS] is None


def test_superstrike_and_pc290_sections_and_earliest_dates(spark):
    df = rows(
        spark,
        conviction(
            "001002001000",
            D(2005, 6, 1),
            section="187",
            is_superstrike=True,
            code_section="187(a) PC",
            text="187(A) PC",
        ),
        conviction(
            "002002001000",
            D(2003, 0o1, 1),
            section="288",
            is_superstrike=True,
            is_pc290_offense=True,
            code_section="288(a) PC",
            text="288(A) PC",
        ),
        {c.IS_PC290_REGISTRATION: True, c.EVENT_DATE: D(2001, 2, 2)},
        conviction("004002001000", D(2010, 1, 1)),
        {c.IS_DECEASED_STEP: True},
        conviction("005002001000", D(1999, 1, 1), section="187", is_superstrike=True),
        {c.COUNT_ORDER: "005002001000", c.IS_CONVICTION: True, c.IS_SUPERSTRIKE: True},
        conviction("006002001000", D(2008, 1, 1), section="187", is_superstrike=True),
    )
    out = by_line(subject_history(df))
    row = out[4]
    # The code-section text of each such conviction, input order, repeats kept, ";"
    # (DOMAIN.md §6); a sentence-part line of the same CNT_ORDER is no second conviction.
    assert row[c.SUPERSTRIKE_SECTIONS] == "187(A) PC;288(A) PC;187 PC;187 PC"
    assert row[c.PC290_SECTIONS] == "288(A) PC"
    assert row[c.EARLIEST_SUPERSTRIKE] == D(1999, 1, 1)
    assert row[c.EARLIEST_PC290] == D(2001, 2, 2)
    assert row[c.PC290_REGISTRATION] is True
    assert row[c.DECEASED] is True


def test_partial_conviction_dates_keep_both_bounds_of_last_conviction(spark):
    df = rows(
        spark,
        conviction("001002001000", D(2015, 1, 1), conviction_date_latest=D(2015, 12, 31)),
        conviction("002002001000", D(2014, 6, 1)),
    )
    out = by_line(subject_history(df))
    assert out[1][c.LAST_CONVICTION] == D(2015, 1, 1)
    assert out[1][c.date_latest(c.LAST_CONVICTION)] == D(2015, 12, 31)
    assert out[1][c.date_partial(c.LAST_CONVICTION)] is True


def test_unknown_conviction_date_makes_last_conviction_open(spark):
    df = rows(
        spark,
        conviction("001002001000", None),
        conviction("002002001000", D(2014, 6, 1)),
    )
    out = by_line(subject_history(df))
    assert out[2][c.LAST_CONVICTION] == D(2014, 6, 1)
    assert out[2][c.date_latest(c.LAST_CONVICTION)] is None
    assert out[2][c.UNKNOWN_SENTENCE_END] is True


def test_prior_same_section_counts_definite_and_possible(spark):
    df = rows(
        spark,
        conviction("001002001000", D(2001, 1, 1), section="11359"),
        conviction("002002001000", D(2003, 1, 1), section="11359"),
        conviction(
            "003002001000", D(2003, 1, 1), section="11359", conviction_date_latest=D(2003, 12, 31)
        ),
        conviction("004002001000", D(2005, 1, 1), section="11357"),
        conviction("005002001000", D(2008, 1, 1), section="11359"),
    )
    out = by_line(subject_history(df))
    assert (out[1][c.PRIOR_SAME_SECTION], out[1][c.PRIOR_SAME_SECTION_POSSIBLE]) == (0, 0)
    # line 2 (2003-01-01): line 1 definitely earlier; line 3 (2003, day unknown) is not.
    assert (out[2][c.PRIOR_SAME_SECTION], out[2][c.PRIOR_SAME_SECTION_POSSIBLE]) == (1, 1)
    # line 3 (some day of 2003): line 1 definitely; line 2 (2003-01-01) possibly.
    assert (out[3][c.PRIOR_SAME_SECTION], out[3][c.PRIOR_SAME_SECTION_POSSIBLE]) == (1, 2)
    assert (out[4][c.PRIOR_SAME_SECTION], out[4][c.PRIOR_SAME_SECTION_POSSIBLE]) == (0, 0)
    assert (out[5][c.PRIOR_SAME_SECTION], out[5][c.PRIOR_SAME_SECTION_POSSIBLE]) == (3, 3)


def test_subjects_fan_out_to_each_county_of_their_prop64_convictions(spark):
    df = rows(
        spark,
        conviction("001002001000", D(2001, 1, 1), county_slug="alameda"),
        conviction("002002001000", D(2003, 1, 1), county_slug="fresno"),
        {c.COUNT_ORDER: "003001001000"},
        conviction("001002001000", D(2001, 1, 1), subject="S2", section="459"),
        conviction("001002001000", D(2001, 1, 1), subject="S3", county_slug=None),
    )
    out = fan_out_to_counties(subject_history(df))
    got = sorted((r[c.SUBJECT], r[c.SOURCE_LINE], r[c.TARGET_COUNTY]) for r in out.collect())
    assert got == [
        ("S1", 1, "alameda"), ("S1", 1, "fresno"),
        ("S1", 2, "alameda"), ("S1", 2, "fresno"),
        ("S1", 3, "alameda"), ("S1", 3, "fresno"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "months,days,expected", [(None, None, D(2016, 2, 29)), (12, 1, D(2017, 3, 1))]
)
def test_sentence_end_uses_calendar_months_then_days(spark, months, days, expected):
    df = rows(
        spark,
        conviction("001002001000", D(2016, 2, 29), sentence_months=months, sentence_days=days),
    )
    assert by_line(subject_history(df))[1][c.SENTENCE_END] == expected


def test_only_rows_of_subjects_with_a_possible_prop64_conviction_in_a_county_go_on(spark):
    names = (*c.KEPT_DOJ_COLUMNS, c.RECORD_ID)
    lines = [
        ("S1", "11357 HS", "CONVICTED", "FRESNO"),
        ("S1", "459 PC", "CONVICTED", "FRESNO"),
        ("S1", "", "", ""),
        ("S2", "459 PC", "CONVICTED", "FRESNO"),
        ("S3", "11359 HS", "CONVICTED", "RENO NV"),
        ("S4", "11360 HS", "DISMISSED", "FRESNO"),
        ("  ", "11357 HS", "CONVICTED", "FRESNO"),
        (" S5 ", "664/11359 HS", "CONVICTED-PROBATION", "KERN"),
    ]
    raw_rows = []
    for i, (subject, offense, disposition, county) in enumerate(lines):
        row = dict.fromkeys(names, "")
        row.update(
            SUBJECT_ID=subject,
            OFFENSE_DESCR=offense,
            DISP_DESCR=disposition,
            STP_ORI_CNTY_NAME=county,
            record_id=f"r{i + 1}",
        )
        raw_rows.append(tuple(row[n] for n in names))
    raw = spark.createDataFrame(raw_rows, ", ".join(f"`{n}` string" for n in names))
    kept = prop64_subject_rows(raw, load_counties(), load_offenses())
    assert sorted(r[c.RECORD_ID] for r in kept.collect()) == ["r1", "r2", "r3", "r8"]


def test_a_gang_enhancement_count_pairs_with_the_enhanceable_offence_of_its_case(spark):
    """DOMAIN.md §2: 136.1 PC and 186.22(b)(4) PC in two counts of one case (same cycle+step)
    are a superstrike, written offence first; in two different cases they are not."""
    df = rows(
        spark,
        conviction("001002001000", D(2005, 3, 1), section="136.1",
                   is_enhanceable_offense=True, text="136.1 PC"),
        conviction("001002002000", D(2005, 3, 1), section="186.22",
                   is_gang_enhancement=True, text="186.22(B)(4) PC"),
        conviction("002003001000", D(2012, 6, 1), section="11358"),
        {c.SUBJECT: "S2", **conviction("001002001000", D(2005, 3, 1), section="136.1",
                                      is_enhanceable_offense=True, text="136.1 PC")},
        {c.SUBJECT: "S2", **conviction("003002001000", D(2006, 3, 1), section="186.22",
                                      is_gang_enhancement=True, text="186.22(B)(4) PC")},
    )  # fmt: skip
    out = by_line(subject_history(df))
    assert out[3][c.SUPERSTRIKE_SECTIONS] == "136.1 PC + 186.22(B)(4) PC"
    assert out[3][c.EARLIEST_SUPERSTRIKE] == D(2005, 3, 1)
    assert out[4][c.SUPERSTRIKE_SECTIONS] is None
    assert out[4][c.EARLIEST_SUPERSTRIKE] is None
    assert "_superstrike" not in subject_history(df).columns


def _doj_rows(spark: SparkSession, lines: list[dict[str, str]]) -> DataFrame:
    """Raw extract rows as ingest stages them (DOJ columns as text, provenance columns)."""
    names = [*c.KEPT_DOJ_COLUMNS, c.RECORD_ID, c.SOURCE_FILE]
    data = []
    for number, fields in enumerate(lines, start=1):
        values = dict.fromkeys(names)
        values.update(fields, record_id=f"fp-{number}", source_file="la.csv")
        data.append((*(values[n] for n in names), number, 0))
    schema = StructType(
        [StructField(n, StringType(), True) for n in names]
        + [StructField(c.SOURCE_LINE, LongType()), StructField(c.INPUT_INDEX, IntegerType())]
    )
    return spark.createDataFrame(data, schema)


def test_the_reference_los_angeles_fixture_subject_is_not_eligible_by_superstrike(spark):
    """The LA pilot tool's own fixture: 136.1 PC and 186.22(B)(4) PC in separate counts of one
    case, 11358 HS in a later case: Not eligible / PC 667(e)(2)(c)(iv) in the LA flow
    (DOMAIN.md §2, §7), from the raw lines through normalize, history and the LA policy.
    Without the pairing the subject (41, a conviction in 2020) falls to Hand Review."""
    from relief.jobs.config.policies import load_policy_set
    from relief.jobs.statewide import Prepared, annotate

    def court(cnt: str, day: str, offense: str, case: str) -> dict[str, str]:
        return {
            "SUBJECT_ID": "LA1", "CII_NUMBER": "A01234567", "PRI_NAME": "ROE,RICHARD",
            "PRI_DOB": "19850101", "CNT_ORDER": cnt, "STP_TYPE_DESCR": "COURT ACTION",
            "STP_EVENT_DATE": day, "CYC_DATE": day, "STP_ORI_CNTY_NAME": "LOS ANGELES",
            "STP_ORI_DESCR": "CASC LOS ANGELES", "DISP_DESCR": "CONVICTED",
            "CONV_STAT_DESCR": "FELONY", "OFFENSE_DESCR": offense, "OFN": case,
        }  # fmt: skip

    raw = _doj_rows(
        spark,
        [
            court("001002001000", "20050301", "136.1 PC-DISSUADE WITNESS", "BA100"),
            court("001002002000", "20050301", "186.22(B)(4) PC-GANG ENHANCEMENT", "BA100"),
            court("002002001000", "20120601", "11358 HS-CULTIVATE MARIJUANA", "BA200"),
            court("003002001000", "20200601", "459 PC-BURGLARY", "BA300"),
        ],
    )
    counties = load_counties()
    prepared = Prepared(
        files=[], counties=counties, offenses=load_offenses(),
        policies=load_policy_set(counties), targets=None,
    )  # fmt: skip
    out = annotate(raw, prepared, D(2026, 11, 22)).collect()
    decided = [r for r in out if r[c.DETERMINATION] is not None]
    assert [(r[c.DETERMINATION], r[c.REASON]) for r in decided] == [
        ("Not eligible", "PC 667(e)(2)(c)(iv)")
    ]
    assert decided[0][c.SUPERSTRIKE_SECTIONS] == "136.1 PC + 186.22(B)(4) PC"


SUPERSTRIKE_CASES = {
    "pair in one case": [("001002001000", "136.1 PC", "enhanceable"),
                         ("001002002000", "186.22(B)(4) PC", "gang")],
    "enhancement first": [("001002001000", "186.22(B)(4) PC", "gang"),
                          ("001002002000", "246 PC", "enhanceable")],
    "different cases": [("001002001000", "136.1 PC", "enhanceable"),
                        ("002002001000", "186.22(B)(4) PC", "gang")],
    "same cycle, other step": [("001002001000", "519 PC", "enhanceable"),
                               ("001003001000", "186.22(B)(4) PC", "gang")],
    "with a superstrike by itself": [("001002001000", "187 PC", "superstrike"),
                                     ("002002001000", "215 PC", "enhanceable"),
                                     ("002002002000", "186.22(B)(4) PC", "gang"),
                                     ("002002003000", "186.22(B)(4) PC", "gang")],
    "one text, both": [("001002001000", "136.1/186.22(B)(4) PC", "superstrike")],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SUPERSTRIKE_CASES))
def test_superstrike_cell_and_date_agree_with_the_reference_evaluator(spark, name):
    from tests.helpers.reference_evaluator import superstrike_facts

    cases = SUPERSTRIKE_CASES[name]
    flags = {
        "superstrike": {c.IS_SUPERSTRIKE: True},
        "enhanceable": {c.IS_ENHANCEABLE_OFFENSE: True},
        "gang": {c.IS_GANG_ENHANCEMENT: True},
    }
    specs = [
        conviction(cnt, D(2000 + i, 1, 1), section=text.split()[0], text=text, **flags[kind])
        for i, (cnt, text, kind) in enumerate(cases)
    ]
    out = by_line(subject_history(rows(spark, *specs)))
    expected = superstrike_facts(
        [
            {"cnt_order": cnt, "text": text, "kind": kind, "date": D(2000 + i, 1, 1)}
            for i, (cnt, text, kind) in enumerate(cases)
        ]
    )
    assert (out[1][c.SUPERSTRIKE_SECTIONS], out[1][c.EARLIEST_SUPERSTRIKE]) == expected
    if name in ("pair in one case", "enhancement first"):
        assert expected[0] is not None and " + 186.22(B)(4) PC" in expected[0]
    if name in ("different cases", "same cycle, other step"):
        assert expected == (None, None)
