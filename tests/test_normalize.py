"""Normalization (DOMAIN.md §1-2): one test per transform, on tiny inline DataFrames."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

from relief.jobs.config import ConfigError, load_counties
from relief.jobs.config.offenses import load_offenses
from relief.transforms import columns as C
from relief.transforms import normalize as N
from relief.transforms.offenses import Offenses
from relief.transforms.vocabulary import Counties

D = dt.date


@pytest.fixture(scope="module")
def offenses() -> Offenses:
    return load_offenses()


@pytest.fixture(scope="module")
def counties() -> Counties:
    return load_counties()


def strings(spark: SparkSession, names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> DataFrame:
    schema = ", ".join(f"`{name}` string" for name in names)
    return spark.createDataFrame(rows, schema)


def run(df: DataFrame, transform: Callable[..., DataFrame], *args: Any) -> DataFrame:
    return df.transform(transform, *args)


def values(df: DataFrame, *names: str) -> list[tuple[Any, ...]]:
    """The named columns of a tiny test frame, in row order."""
    return [tuple(row) for row in df.select(*names).collect()]


def offense_frame(spark: SparkSession, texts: Sequence[str | None]) -> DataFrame:
    return strings(
        spark,
        (C.OFFENSE_DESCR, C.COMMENT_TEXT),
        [(text, None) for text in texts],
    )


def parsed(spark: SparkSession, offenses: Offenses, texts: Sequence[str | None]) -> DataFrame:
    return (
        offense_frame(spark, texts)
        .transform(N.with_code_section_text)
        .transform(N.with_code_section, offenses)
    )


def flags(spark: SparkSession, offenses: Offenses, texts: list[str], flag: str) -> list[bool]:
    df = parsed(spark, offenses, texts).transform(N.with_offense_flags, offenses)
    return [row[0] for row in df.select(flag).collect()]


# --- identity, step, person --------------------------------------------------------------


def test_subject_and_count_order_are_trimmed_and_cycle_step_is_first_six_digits(spark):
    df = strings(
        spark,
        (C.SUBJECT_ID, C.CNT_ORDER),
        [(" 0012345 ", " 001002003000 "), ("   ", None), ("7", "12")],
    )
    result = df.transform(N.with_subject).transform(N.with_count_order)
    assert values(result, C.SUBJECT, C.COUNT_ORDER, C.CYCLE_STEP) == [
        ("0012345", "001002003000", "001002"),
        (None, None, None),
        ("7", "12", None),
    ]
    assert values(result, C.SUBJECT_ID)[0] == (" 0012345 ",)


def test_step_type_is_upper_trimmed_and_race_is_null_when_blank(spark):
    df = strings(
        spark,
        (C.STP_TYPE_DESCR, C.RACE_DESCR),
        [(" court action ", " HISPANIC "), ("", "  "), (None, None)],
    )
    result = df.transform(N.with_step_type).transform(N.with_race)
    assert values(result, C.STEP_TYPE, C.RACE) == [
        ("COURT ACTION", "HISPANIC"),
        (None, None),
        (None, None),
    ]


def test_county_names_resolve_to_doj_spelling_and_slug(spark, counties):
    df = strings(
        spark,
        (C.STP_ORI_CNTY_NAME,),
        [("LOS ANGELES",), (" san   joaquin ",), ("WASHOE",), ("",), (None,)],
    )
    result = run(df, N.with_county, counties)
    assert values(result, C.COUNTY_RAW, C.COUNTY, C.COUNTY_SLUG) == [
        ("LOS ANGELES", "LOS ANGELES", "los-angeles"),
        ("SAN JOAQUIN", "SAN JOAQUIN", "san-joaquin"),
        ("WASHOE", None, None),
        (None, None, None),
        (None, None, None),
    ]


# --- dates -------------------------------------------------------------------------------


def test_dates_full_partial_blank_and_unparseable(spark):
    texts = [
        "20190315",
        " 20190315 ",
        "20190200",
        "20200200",
        "20190000",
        "20000229",
        "",
        None,
        "2019133",
        "20191341",
        "20190230",
        "20190015",
        "00000000",
        "2019ABCD",
        "201903150",
    ]
    df = strings(spark, (C.PRI_DOB, C.STP_EVENT_DATE, C.DISP_DATE), [(t, t, t) for t in texts])
    result = df.transform(N.with_dates)
    nothing = (None, None, None)
    expected = [
        (D(2019, 3, 15), D(2019, 3, 15), False),
        (D(2019, 3, 15), D(2019, 3, 15), False),
        (D(2019, 2, 1), D(2019, 2, 28), True),
        (D(2020, 2, 1), D(2020, 2, 29), True),
        (D(2019, 1, 1), D(2019, 12, 31), True),
        (D(2000, 2, 29), D(2000, 2, 29), False),
        nothing,
        nothing,
        nothing,
        nothing,
        nothing,
        nothing,
        nothing,
        nothing,
        nothing,
    ]
    for target in (C.DOB, C.EVENT_DATE, C.DISPOSITION_DATE):
        assert values(result, *N.date_column_names(target)) == expected


def test_dob_event_and_disposition_dates_come_from_their_own_columns(spark):
    df = strings(
        spark, (C.PRI_DOB, C.STP_EVENT_DATE, C.DISP_DATE), [("19700000", "20180100", "20180215")]
    )
    result = df.transform(N.with_dates)
    assert values(
        result,
        *N.date_column_names(C.DOB),
        *N.date_column_names(C.EVENT_DATE),
        *N.date_column_names(C.DISPOSITION_DATE),
    ) == [
        (
            *(D(1970, 1, 1), D(1970, 12, 31), True),
            *(D(2018, 1, 1), D(2018, 1, 31), True),
            *(D(2018, 2, 15), D(2018, 2, 15), False),
        )
    ]


def test_conviction_date_is_event_date_else_disposition_date_on_convictions_only(spark):
    df = strings(
        spark,
        (C.DISP_DESCR, C.PRI_DOB, C.STP_EVENT_DATE, C.DISP_DATE),
        [
            ("CONVICTED-JAIL", None, "20150101", "20150301"),
            ("CONVICTED", None, "20150101", "  -  "),
            ("CONVICTED-PROBATION", None, "  ", "20150300"),
            ("CONVICTED-PROBATION", None, "  -  ", "20150300"),
            ("CONVICTED-PRISON", None, "2015XX01", "20150301"),
            ("DISMISSED", None, "20150101", "20150301"),
        ],
    )
    result = (
        df.transform(N.with_is_conviction).transform(N.with_dates).transform(N.with_conviction_date)
    )
    assert values(result, *N.date_column_names(C.CONVICTION_DATE)) == [
        (D(2015, 1, 1), D(2015, 1, 1), False),
        (D(2015, 1, 1), D(2015, 1, 1), False),
        (D(2015, 3, 1), D(2015, 3, 31), True),
        (D(2015, 3, 1), D(2015, 3, 31), True),
        (None, None, None),
        (None, None, None),
    ]


def test_placeholders_read_as_blank_in_every_field_and_the_doj_columns_keep_them(
    spark, counties, offenses
):
    placeholder = {name: "  -  " for name in C.KEPT_DOJ_COLUMNS}
    raw = ingested(
        spark,
        [
            placeholder,
            {**placeholder, "SUBJECT_ID": "7", "CNT_ORDER": "-", "DISP_DESCR": "CONVICTED",
             "STP_EVENT_DATE": "20150101", "STP_ORI_CNTY_NAME": "LOS ANGELES",
             "OFFENSE_DESCR": "-", "COMMENT_TEXT": "11359 HS-POSSESS FOR SALE",
             "CONV_STAT_DESCR": "---", "OFFENSE_TOC": " - "},
        ],
    )  # fmt: skip
    first, second = N.normalize(raw, counties, offenses).collect()
    nulls = [
        C.SUBJECT, C.COUNT_ORDER, C.CYCLE_STEP, C.STEP_TYPE, C.COUNTY_RAW, C.COUNTY, C.RACE,
        C.DOB, C.EVENT_DATE, C.DISPOSITION_DATE, C.CODE_SECTION_TEXT, C.SECTION,
        C.SENTENCE_MONTHS, C.SENTENCE_DAYS, C.POSSIBLE_OTHER_P64, C.IS_FELONY,
    ]  # fmt: skip
    assert {name: first[name] for name in nulls} == dict.fromkeys(nulls)
    assert (first[C.IS_CONVICTION], first[C.IS_PROP64], first[C.CODE_SECTION_PARSED]) == (
        False,
        False,
        False,
    )
    assert {name: first[name] for name in C.KEPT_DOJ_COLUMNS} == placeholder
    # An offence placeholder sends the reader to COMMENT_TEXT, as a blank OFFENSE_DESCR does;
    # a conviction dated by its event date; no felony status and no offence level: misdemeanor.
    assert (
        second[C.SUBJECT],
        second[C.COUNT_ORDER],
        second[C.CODE_SECTION_TEXT],
        second[C.CODE_SECTION_SOURCE],
        second[C.SECTION],
        second[C.IS_PROP64],
        second[C.CONVICTION_DATE],
        second[C.IS_FELONY],
    ) == ("7", None, "11359 HS", "COMMENT_TEXT", "11359", True, D(2015, 1, 1), False)


# --- offence -----------------------------------------------------------------------------


def test_code_section_text_comes_from_offense_or_comment(spark):
    df = strings(
        spark,
        (C.OFFENSE_DESCR, C.COMMENT_TEXT),
        [
            ("11357(C)HS-POSSESS MARIJUANA", "11360 HS-TRANSPORT"),
            ("503 VC-TAKE CAR", None),
            ("   ", "11359 HS-POSSESS FOR SALE"),
            (None, " 11358 HS "),
            ("SEE COMMENT FOR CHARGE", "11360(A) HS-SELL"),
            (" see  comment for  charge ", "11357(B) HS"),
            ("SEE COMMENT FOR CHARGE", "  "),
            (None, None),
            ("PROBATION VIOLATION", None),
        ],
    )
    result = df.transform(N.with_code_section_text)
    assert values(result, C.CODE_SECTION_TEXT, C.CODE_SECTION_SOURCE) == [
        ("11357(C)HS", "OFFENSE_DESCR"),
        ("503 VC", "OFFENSE_DESCR"),
        ("11359 HS", "COMMENT_TEXT"),
        ("11358 HS", "COMMENT_TEXT"),
        ("11360(A) HS", "COMMENT_TEXT"),
        ("11357(B) HS", "COMMENT_TEXT"),
        (None, None),
        (None, None),
        ("PROBATION VIOLATION", "OFFENSE_DESCR"),
    ]


# DOMAIN.md §2, every spelling: text -> (section, subsection, code, code_section,
# code_section_parsed, is_prop64). The gogen generator's Prop 64 spellings are all here.
OFFENSE_SPELLINGS: dict[str, tuple[str | None, str | None, str | None, str | None, bool, bool]] = {
    # the standard form and the spellings DOMAIN.md §2 lists
    "11357(C)HS-POSSESS MARIJUANA": ("11357", "(c)", "HS", "11357(c) HS", True, True),
    "11357(C) HS-POSS MARIJUANA OVER 1 OZ": ("11357", "(c)", "HS", "11357(c) HS", True, True),
    "11359 H&S": ("11359", "", "HS", "11359 HS", True, True),
    "11358(A)(1) H & S": ("11358", "(a)(1)", "HS", "11358(a)(1) HS", True, True),
    "11357(c) hs": ("11357", "(c)", "HS", "11357(c) HS", True, True),
    "664/11359 HS": ("11359", "", "HS", "664/11359 HS", True, True),
    "182(A)(1)/11360(A) HS": ("11360", "(a)", "HS", "182/11360(a) HS", True, True),
    " 11360 ( a ) HS ": ("11360", "(a)", "HS", "11360(a) HS", True, True),
    "11357 (c) HS": ("11357", "(c)", "HS", "11357(c) HS", True, True),
    "11357A HS-POSSESSION OF MARIJUANA": ("11357", "(a)", "HS", "11357(a) HS", True, True),
    "11357B2 HS-POSSESSION OF MARIJUANA": ("11357", "(b)(2)", "HS", "11357(b)(2) HS", True, True),
    "11359B HS-MARIJUANA POSSESS FOR SALE": ("11359", "(b)", "HS", "11359(b) HS", True, True),
    "11360A HS-SELL/FURNISH/ETC MARIJUANA/HASH": ("11360", "(a)", "HS", "11360(a) HS", True, True),
    "11360A2 HS-SELL/FURNISH/ETC MARIJ": ("11360", "(a)(2)", "HS", "11360(a)(2) HS", True, True),
    "11360A2HS": ("11360", "(a)(2)", "HS", "11360(a)(2) HS", True, True),
    "11357b hs": ("11357", "(b)", "HS", "11357(b) HS", True, True),
    "11360(B) SELL/FURNISH/ETC MARIJUANA/HASH": ("11360", "(b)", None, "11360(b)", False, True),
    # the rest of the reference generator's Prop 64 spellings
    "11357 HS-POSSESSION OF MARIJUANA": ("11357", "", "HS", "11357 HS", True, True),
    "11357(A) HS-POSSESS CONCENTRATED CANNABIS": ("11357", "(a)", "HS", "11357(a) HS", True, True),
    "11358 HS-PLANT/CULTIVATE/ETC MARIJUANA/HASH": ("11358", "", "HS", "11358 HS", True, True),
    "11358(C) HS-CULTIVATE MARIJUANA 6+ PLANTS": ("11358", "(c)", "HS", "11358(c) HS", True, True),
    "11359(A) HS-POSSESS MARIJ FOR SALE": ("11359", "(a)", "HS", "11359(a) HS", True, True),
    "11360(A) HS-GIVE/ETC MARIJ OVER 1 OZ": ("11360", "(a)", "HS", "11360(a) HS", True, True),
    # a Prop 64 number found where the rest does not read as it: a candidate, flagged
    "211357 PC": ("11357", None, None, None, False, True),
    "11357.5 HS": ("11357", None, None, None, False, True),
    "113600 HS": ("11360", None, None, None, False, True),
    "11357 PC": ("11357", "", "PC", "11357 PC", True, True),
    "11357": ("11357", "", None, "11357", False, True),
    "11359 POSS FOR SALE": ("11359", "", None, "11359", False, True),
    # other codes
    "503 VC-TAKE CAR": ("503", "", "VC", "503 VC", True, False),
    "11357HS": ("11357", "", "HS", "11357 HS", True, True),
    "11357 HSC": ("11357", "", "HS", "11357 HS", True, True),
    "664 / 187(A) PC": ("187", "(a)", "PC", "664/187(a) PC", True, False),
    "288A(C)(1) PC": ("288a", "(c)(1)", "PC", "288a(c)(1) PC", True, False),
    "288A PC": ("288a", "", "PC", "288a PC", True, False),
    "667.61 PC": ("667.61", "", "PC", "667.61 PC", True, False),
    "273AB PC": ("273ab", "", "PC", "273ab PC", True, False),
    "148.9 PC": ("148.9", "", "PC", "148.9 PC", True, False),
    "12022.55 PC": ("12022.55", "", "PC", "12022.55 PC", True, False),
    "289(B)(2)(A) PC": ("289", "(b)(2)(a)", "PC", "289(b)(2)(a) PC", True, False),
    "4060 B&P": ("4060", "", "BP", "4060 BP", True, False),
    "1672(A) MV": ("1672", "(a)", "MV", "1672(a) MV", True, False),
    "5150 WI": ("5150", "", "WI", "5150 WI", True, False),
    "136.1(A) PC/186.22(B)(4) PC": ("136.1", "(a)", "PC", "136.1(a) PC", True, False),
    "459 BURGLARY": ("459", "", None, "459", False, False),
    "PROBATION VIOLATION": (None, None, None, None, False, False),
    "SEE COMMENT FOR CHARGE": (None, None, None, None, False, False),
    "(A) HS": (None, None, None, None, False, False),
    "11 357 HS": ("11", "", None, "11", False, False),
}  # fmt: skip


def test_every_offence_spelling_reads_as_section_subsection_code_and_prop64(spark, offenses):
    df = parsed(spark, offenses, list(OFFENSE_SPELLINGS)).transform(N.with_offense_flags, offenses)
    got = values(
        df,
        C.SECTION,
        C.SUBSECTION,
        C.CODE,
        C.CODE_SECTION,
        C.CODE_SECTION_PARSED,
        C.IS_PROP64,
    )
    assert dict(zip(OFFENSE_SPELLINGS, got, strict=True)) == OFFENSE_SPELLINGS


def test_attempt_prefix_sets_attempted_and_conspiracy_does_not(spark, offenses):
    texts = ["664/11359 HS", "664 / 187(A) PC", "182(A)(1)/11360(A) HS", "11359 HS", "211357 PC"]
    assert [a for (a,) in values(parsed(spark, offenses, texts), C.ATTEMPTED)] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_prop64_flag_is_any_prop64_number_in_the_code_section_text(spark, offenses):
    # As the reference tool finds a Prop 64 charge (DOMAIN.md §2); only the code-section
    # text counts, not the description after the dash nor an unread comment.
    texts = [
        "11357(C) HS",
        "11358 HS",
        "664/11359 HS",
        "11360(A)(2) H&S",
        "11357.5 HS",
        "11357 PC",
        "11350 HS",
        "NOT A CODE",
        "11350 HS-POSSESS, PLEA FROM 11357",
    ]
    assert flags(spark, offenses, texts, C.IS_PROP64) == [
        True,
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_related_flag_follows_domain_list(spark, offenses):
    cases = {
        "647(F) PC": True,
        "647(A) PC": False,
        "647 PC": False,
        "602 PC": True,
        "602(K) PC": True,
        "466 PC": True,
        "148.9 PC": True,
        "148(A)(1) PC": True,
        "11364 HS": True,
        "11550(A) HS": True,
        "4140 BP": True,
        "4149 BP": True,
        "4060 B&P": True,
        "40508(A) VC": True,
        "1320(B) PC": True,
        "1320 PC": True,
        "1320.5 PC": False,
        "602 VC": False,
        "11357 HS": False,
    }
    assert flags(spark, offenses, list(cases), C.IS_RELATED) == list(cases.values())


def test_superstrike_flag_rule_shapes(spark, offenses):
    cases = {
        # plain section: any subsection
        "187 PC": True,
        "187(A) PC": True,
        "664/187 PC": True,
        "187 VC": False,
        # 189 (.1/.5), 191 (.5), 209 (.5)
        "189 PC": True,
        "189.1 PC": True,
        "189.5(A) PC": True,
        "189.2 PC": False,
        "191.5(A) PC": True,
        "209.5 PC": True,
        # 190 (.x and any subsection)
        "190 PC": True,
        "190.2(A)(17) PC": True,
        "190.05 PC": True,
        "1900 PC": False,
        # 245(d)(3): that subsection only
        "245(D)(3) PC": True,
        "245(D)(3)(A) PC": True,
        "245(A)(1) PC": False,
        "245 PC": False,
        # 261, 262, 273ab: any subsection
        "261(A)(2) PC": True,
        "262 PC": True,
        "273AB(B) PC": True,
        "273A PC": False,
        # 286: itself and the listed subsections
        "286 PC": True,
        "286(C)(1) PC": True,
        "286(C)(2)(B) PC": True,
        "286(D)(3) PC": True,
        "286(B)(1) PC": False,
        "286(C)(2) PC": False,
        # 288 ((a), (b)(1), (b)(2)); 288a; 288.5 ((a)); 289
        "288 PC": True,
        "288(A) PC": True,
        "288(B)(2) PC": True,
        "288(C)(1) PC": False,
        "288A(C)(2)(C) PC": True,
        "288A(D) PC": True,
        "288A(B)(1) PC": False,
        "288.5(A) PC": True,
        "288.5(B) PC": False,
        "289(A)(1)(B) PC": True,
        "289(A)(2)(C) PC": True,
        "289(J) PC": True,
        "289(B) PC": False,
        # 11418 ((a)(1), (b)(1), (b)(2) only): not 11418 itself
        "11418(A)(1) PC": True,
        "11418(B)(2) PC": True,
        "11418 PC": False,
        "11418(C) PC": False,
        # plain sections with decimals and letters, and the MV code
        "653F PC": True,
        "667.71 PC": True,
        "4500 PC": True,
        "18755 PC": True,
        "1672(A) MV": True,
        "1672 MV": False,
        "1672(A) PC": False,
        # only together with the gang enhancement 186.22(b)(4) PC, in either order
        "136.1(A) PC": False,
        "136.1(A) PC/186.22(B)(4) PC": True,
        "186.22(B)(4) PC/215 PC": True,
        "215 PC 186.22 (b) (4) PC": True,
        "215 PC/186.22(B)(1) PC": False,
        "246 PC 186.22(B)(4)(B) PC": True,
        "12022.55 PC/186.22(B)(4) PC": True,
        "519 PC/186.22(B)(4) PC": True,
        "213(A)(1)(A) PC/186.22(B)(4) PC": True,
        "213(A)(2) PC/186.22(B)(4) PC": False,
        "213 PC/186.22(B)(4) PC": False,
        "2150 PC/186.22(B)(4) PC": False,
        "186.22(B)(4) PC": False,
        "11357 HS": False,
    }
    got = flags(spark, offenses, list(cases), C.IS_SUPERSTRIKE)
    assert dict(zip(cases, got, strict=True)) == cases


def test_pc290_offense_flag_follows_domain_list(spark, offenses):
    cases = {
        "236.1(B) PC": True,
        "236.1(C)(1) PC": True,
        "236.1(A) PC": False,
        "236.1 PC": False,
        "243.4(A) PC": True,
        "261 PC": True,
        "262(A)(1) PC": True,
        "262(A)(2) PC": False,
        "264.1 PC": True,
        "266 PC": True,
        "266C PC": True,
        "266H(B)(1) PC": True,
        "266H(A) PC": False,
        "266I(B) PC": True,
        "266J PC": True,
        "267 PC": True,
        "269 PC": True,
        "272 PC": True,
        "285 PC": True,
        "286(B)(1) PC": True,
        "287 PC": True,
        "288(C)(1) PC": True,
        "288A PC": True,
        "288.2(A) PC": True,
        "288.3 PC": True,
        "288.4 PC": True,
        "288.5 PC": True,
        "288.6 PC": False,
        "288.7(A) PC": True,
        "289(B) PC": True,
        "311.1 PC": True,
        "311.4(C) PC": True,
        "311.5 PC": False,
        "311.10 PC": True,
        "311.11(A) PC": True,
        "314(1) PC": True,
        "314(2) PC": True,
        "314 PC": False,
        "451.5 PC": True,
        "647.6(A)(1) PC": True,
        "647A PC": True,
        "647(A) PC": False,
        "653F(C) PC": True,
        "653F(B) PC": True,
        "653F(A) PC": False,
        "653F PC": False,
        "290 PC": False,
    }
    got = flags(spark, offenses, list(cases), C.IS_PC290_OFFENSE)
    assert dict(zip(cases, got, strict=True)) == cases


def test_step_flags_registration_deceased_court_action(spark, offenses):
    df = strings(
        spark,
        (C.STP_TYPE_DESCR, C.OFFENSE_DESCR, C.COMMENT_TEXT),
        [
            ("REGISTRATION", "290 PC-REGISTRATION OF SEX OFFENDER", None),
            ("REGISTRATION", "290.018(B) PC-FAIL TO REGISTER", None),
            ("REGISTRATION", "11590 HS-NARCOTICS REGISTRANT", None),
            ("COURT ACTION", "290 PC-FAIL TO REGISTER", None),
            (" deceased ", None, None),
            ("ARREST/DETAINED/CITED", "11357 HS", None),
            (None, None, None),
        ],
    )
    result = (
        df.transform(N.with_step_type)
        .transform(N.with_code_section_text)
        .transform(N.with_step_flags, offenses)
    )
    assert values(result, C.IS_PC290_REGISTRATION, C.IS_DECEASED_STEP, C.IS_COURT_ACTION) == [
        (True, False, False),
        (True, False, False),
        (False, False, False),
        (False, False, True),
        (False, True, False),
        (False, False, False),
        (False, False, False),
    ]


def test_possible_other_p64_flags_comment_naming_another_charge(spark, offenses):
    rows = [
        ("912 PC-CRIME", "11357(A)", "11357(A)"),
        ("11350 HS-POSSESS", " 11357(A) HS ", "11357(A) HS"),
        ("11358 HS-CULTIVATE", "11359", "11359"),
        ("11357(A) HS-POSSESS", "11358 HS", "11358 HS"),
        ("11358 HS-CULTIVATE", "AMENDED TO 11357(C) HS", "AMENDED TO 11357(C) HS"),
        ("11357(A) HS-POSSESS", "11357(C)", "11357(C)"),
        ("11357(D) HS-POSSESS", "11357 ( b )", "11357 ( b )"),
        ("664/11359 HS-ATTEMPT", "11360 HS", "11360 HS"),
        # an 11357 charge without a subsection whose comment names one (DOMAIN.md §6)
        ("11357 HS-POSSESS", "11357(C) HS", "11357(C) HS"),
        ("11357 HS-POSSESS", "11357B HS", "11357B HS"),
        ("11357A HS-POSSESS", "11357(D) HS", "11357(D) HS"),
        # not flagged
        ("11357(A) HS-POSSESS", "11357(B)", None),
        ("11357A HS-POSSESS", "11357B2 HS", None),
        ("11357(D) HS-POSSESS", "11357(C)", None),
        ("11357(C) HS-POSSESS", "11357 HS", None),
        ("11357 HS-POSSESS", "11357 HS", None),
        ("11357 HS-POSSESS", "11357(E) HS", None),
        ("11359 HS-SALE", "11359 HS", None),
        ("664/11359 HS-ATTEMPT", "11359 HS", None),
        ("11359 HS-SALE", "11357.5 HS SYNTHETIC", None),
        ("11359 HS-SALE", "PLEA TO 11350", None),
        ("11359 HS-SALE", None, None),
        ("SEE COMMENT FOR CHARGE", "11357(A) HS", None),
        (None, "11357(A) HS", None),
    ]
    df = strings(
        spark,
        (C.OFFENSE_DESCR, C.COMMENT_TEXT),
        [(offense, comment) for offense, comment, _ in rows],
    )
    result = (
        df.transform(N.with_code_section_text)
        .transform(N.with_code_section, offenses)
        .transform(N.with_offense_flags, offenses)
        .transform(N.with_possible_other_p64, offenses)
    )
    assert [v for (v,) in values(result, C.POSSIBLE_OTHER_P64)] == [e for _, _, e in rows]


# --- disposition and sentence ------------------------------------------------------------


def test_conviction_and_felony_rules(spark):
    df = strings(
        spark,
        (C.DISP_DESCR, C.CONV_STAT_DESCR, C.OFFENSE_TOC),
        [
            ("CONVICTED-JAIL", "FELONY", "M"),
            (" convicted-prison ", " felony ", None),
            ("CONVICTED-PROBATION", "MISDEMEANOR", "F"),
            ("CONVICTED", "", "F"),
            ("CONVICTED", None, " f "),
            ("CONVICTED", "  ", "M"),
            ("CONVICTED", None, None),
            ("DISMISSED", "FELONY", "F"),
            ("NOT CONVICTED", None, "F"),
            (None, None, None),
        ],
    )
    result = df.transform(N.with_is_conviction).transform(N.with_is_felony)
    assert values(result, C.IS_CONVICTION, C.IS_FELONY) == [
        (True, True),
        (True, True),
        (True, False),
        (True, True),
        (True, True),
        (True, False),
        (True, False),
        (False, None),
        (False, None),
        (False, None),
    ]


def test_sentence_codes_give_calendar_months_and_days(spark):
    df = strings(
        spark,
        (C.SENT_LENGTH, C.SENT_TIME_CODE),
        [
            ("002", "Y"),
            ("016", "M"),
            ("0090", "D"),
            (" 3 ", " y "),
            ("000", "D"),
            ("012", ""),
            ("012", "W"),
            ("012", None),
            ("1.5", "Y"),
            ("ABC", "M"),
            ("", "D"),
            (None, None),
            ("1234567", "D"),
        ],
    )
    result = df.transform(N.with_sentence)
    assert values(result, C.SENTENCE_MONTHS, C.SENTENCE_DAYS) == [
        (24, 0),
        (16, 0),
        (0, 90),
        (36, 0),
        (0, 0),
        (None, None),
        (None, None),
        (None, None),
        (None, None),
        (None, None),
        (None, None),
        (None, None),
        (None, None),
    ]


# --- the stage ---------------------------------------------------------------------------


def ingested(spark: SparkSession, overrides: list[dict[str, str]]) -> DataFrame:
    names = (*C.KEPT_DOJ_COLUMNS, C.RECORD_ID, C.SOURCE_FILE)
    rows = [
        (*(row.get(name) for name in C.KEPT_DOJ_COLUMNS), f"abc-{i + 1}", "extract.csv", i + 1, 0)
        for i, row in enumerate(overrides)
    ]
    schema = ", ".join(f"`{name}` string" for name in names)
    schema += f", `{C.SOURCE_LINE}` long, `{C.INPUT_INDEX}` int"
    return spark.createDataFrame(rows, schema)


def test_normalize_keeps_input_columns_and_adds_exactly_the_normalize_columns(
    spark, counties, offenses
):
    raw = ingested(
        spark,
        [
            {
                "SUBJECT_ID": " 42 ",
                "CNT_ORDER": "001002003000",
                "PRI_DOB": "19800500",
                "RACE_DESCR": "WHITE ",
                "STP_EVENT_DATE": "20150102",
                "STP_TYPE_DESCR": "COURT ACTION",
                "STP_ORI_CNTY_NAME": "ALAMEDA ",
                "DISP_DATE": "20150301",
                "OFFENSE_DESCR": "11359 H&S-POSSESS FOR SALE",
                "OFFENSE_TOC": "F",
                "DISP_DESCR": "CONVICTED-PRISON",
                "SENT_LENGTH": "002",
                "SENT_TIME_CODE": "Y",
                "COMMENT_TEXT": "11360 HS",
            },
            {"SUBJECT_ID": "43", "STP_TYPE_DESCR": "DECEASED", "STP_ORI_CNTY_NAME": "RENO NV"},
        ],
    )
    result = N.normalize(raw, counties, offenses)
    assert result.columns == [*raw.columns, *N.ADDED_COLUMNS]
    assert result.count() == 2
    first, second = result.collect()
    assert first.asDict() == {
        **raw.collect()[0].asDict(),
        C.SUBJECT: "42",
        C.COUNT_ORDER: "001002003000",
        C.CYCLE_STEP: "001002",
        C.STEP_TYPE: "COURT ACTION",
        C.COUNTY_RAW: "ALAMEDA",
        C.COUNTY: "ALAMEDA",
        C.COUNTY_SLUG: "alameda",
        C.RACE: "WHITE",
        C.DOB: D(1980, 5, 1),
        C.date_latest(C.DOB): D(1980, 5, 31),
        C.date_partial(C.DOB): True,
        C.EVENT_DATE: D(2015, 1, 2),
        C.date_latest(C.EVENT_DATE): D(2015, 1, 2),
        C.date_partial(C.EVENT_DATE): False,
        C.DISPOSITION_DATE: D(2015, 3, 1),
        C.date_latest(C.DISPOSITION_DATE): D(2015, 3, 1),
        C.date_partial(C.DISPOSITION_DATE): False,
        C.CONVICTION_DATE: D(2015, 1, 2),
        C.date_latest(C.CONVICTION_DATE): D(2015, 1, 2),
        C.date_partial(C.CONVICTION_DATE): False,
        C.CODE_SECTION_TEXT: "11359 H&S",
        C.CODE_SECTION_SOURCE: "OFFENSE_DESCR",
        C.SECTION: "11359",
        C.SUBSECTION: "",
        C.CODE: "HS",
        C.CODE_SECTION: "11359 HS",
        C.CODE_SECTION_PARSED: True,
        C.ATTEMPTED: False,
        C.IS_PROP64: True,
        C.IS_RELATED: False,
        C.IS_SUPERSTRIKE: False,
        C.IS_PC290_OFFENSE: False,
        C.IS_PC290_REGISTRATION: False,
        C.IS_DECEASED_STEP: False,
        C.IS_COURT_ACTION: True,
        C.POSSIBLE_OTHER_P64: "11360 HS",
        C.IS_CONVICTION: True,
        C.IS_FELONY: True,
        C.SENTENCE_MONTHS: 24,
        C.SENTENCE_DAYS: 0,
    }
    assert (second[C.COUNTY_RAW], second[C.COUNTY], second[C.COUNTY_SLUG]) == (
        "RENO NV",
        None,
        None,
    )
    assert (second[C.IS_DECEASED_STEP], second[C.IS_CONVICTION], second[C.IS_FELONY]) == (
        True,
        False,
        None,
    )
    flag_columns = [
        C.ATTEMPTED,
        C.IS_PROP64,
        C.IS_RELATED,
        C.IS_SUPERSTRIKE,
        C.IS_PC290_OFFENSE,
        C.IS_PC290_REGISTRATION,
        C.IS_COURT_ACTION,
    ]
    assert [second[name] for name in flag_columns] == [False] * len(flag_columns)


def test_normalize_refuses_input_that_already_has_a_normalized_column(spark, counties, offenses):
    raw = ingested(spark, [{"SUBJECT_ID": "1"}])
    normalized = N.normalize(raw, counties, offenses)
    with pytest.raises(ValueError, match=r"already has: .*subject"):
        N.normalize(normalized, counties, offenses)
    with pytest.raises(ValueError, match="COUNTY"):
        N.normalize(raw.withColumn(C.COUNTY.upper(), raw[C.SUBJECT_ID]), counties, offenses)


# --- the vocabulary file ------------------------------------------------------------------


def test_offenses_yaml_loads_with_domain_prop64_sections(offenses):
    assert offenses.prop64_sections() == ["11357", "11358", "11359", "11360"]
    assert {rule.code for rule in offenses.prop64} == {"HS"}
    assert offenses.prop64_subsection_groups == {"11357": [["(a)", "(b)"], ["(c)", "(d)"]]}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('{code: PC, sections: ["187"], section_pattern: "190"}', "either 'sections'"),
        ("{code: PC, sections: []}", "either 'sections'"),
        ('{code: PC, sections: ["245"], bare: false}', "needs a 'subsections' list"),
        ('{code: PC, sections: ["245"], subsections: ["d3"]}', "parenthesised parts"),
        ('{code: PC, sections: ["two"]}', "must be digits"),
        ('{code: "P C", sections: ["187"]}', "1-4 letters"),
        ('{code: PC, sections: ["187"], when: x}', "Extra inputs"),
    ],
)
def test_offenses_yaml_errors_name_the_field(tmp_path: Path, rule: str, message: str):
    (tmp_path / "offenses.yaml").write_text(
        "codes: [HS, PC]\nprop64:\n  - {code: HS, sections: ['11357']}\n"
        f"related: []\nsuperstrikes:\n  - {rule}\npc290: []\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"superstrikes\.0") as info:
        load_offenses(tmp_path)
    assert message in str(info.value)
    assert str(tmp_path / "offenses.yaml") in str(info.value)


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ("codes: [HS]\ncode_aliases: {HSC: HX}\n", "code_aliases map to codes not listed"),
        ("codes: [HS]\n", "rules use codes not listed in 'codes' (they could never match): ['PC']"),
        ("codes: [HS, PC]\nsubsections_without_parentheses: ['288a']\n", "ends in a letter"),
    ],
)
def test_offenses_yaml_codes_and_bare_subsection_sections_are_checked(
    tmp_path: Path, head: str, message: str
):
    (tmp_path / "offenses.yaml").write_text(
        head + "prop64:\n  - {code: HS, sections: ['11357']}\n"
        "related: []\nsuperstrikes:\n  - {code: PC, sections: ['187']}\npc290: []\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_offenses(tmp_path)
    assert message in str(info.value)


# --- the screen on raw rows ------------------------------------------------------------------

SCREEN_TEXTS = [
    ("11357 HS-POSSESS MARIJUANA", None),
    ("11360(A) H&S-TRANSPORT", None),
    ("664/11359 HS", None),
    ("182(A)(1)/11358 HS", None),
    ("11357 hs", None),
    ("11357HS", None),
    ("11 357 HS", None),
    ("459 PC-BURGLARY", None),
    ("SEE COMMENT FOR CHARGE", "11360 H & S-SELL"),
    ("", "11358 HS"),
    (None, "459 PC"),
    ("11350 HS-POSSESS", "11357 HS"),
    ("113570 HS", None),
    ("11357B2 HS-POSSESSION OF MARIJUANA", None),
    ("11360(B) SELL/FURNISH/ETC MARIJUANA/HASH", None),
    ("  -  ", "11358 HS-CULTIVATE"),
]


@pytest.mark.parametrize("disposition", ["CONVICTED", " convicted-jail", "DISMISSED", None])
@pytest.mark.parametrize("county", ["LOS ANGELES", " san  diego ", "RENO NV", None])
def test_screen_is_true_on_every_prop64_conviction_in_a_county(
    spark, counties, offenses, disposition, county
):
    raw = ingested(
        spark,
        [
            {
                "SUBJECT_ID": "1",
                "OFFENSE_DESCR": offense,
                "COMMENT_TEXT": comment,
                "DISP_DESCR": disposition,
                "STP_ORI_CNTY_NAME": county,
            }
            for offense, comment in SCREEN_TEXTS
        ],
    )
    screened = N.may_be_prop64_conviction(counties, offenses).alias("screen")
    result = N.normalize(raw, counties, offenses).select(
        C.SOURCE_LINE, C.IS_CONVICTION, C.IS_PROP64, C.COUNTY_SLUG
    )
    exact = {
        r[C.SOURCE_LINE]: r[C.IS_CONVICTION] and r[C.IS_PROP64] and r[C.COUNTY_SLUG] is not None
        for r in result.collect()
    }
    screen = {r[C.SOURCE_LINE]: r["screen"] for r in raw.select(C.SOURCE_LINE, screened).collect()}
    assert all(screen[line] is True for line, is_p64 in exact.items() if is_p64)
    assert all(isinstance(value, bool) for value in screen.values())
    # Exact on conviction and county; the charge test only errs on the side of screening in.
    in_county = county is not None and "RENO" not in county
    convicted = disposition is not None and "CONVICTED" in disposition.upper()
    if not (in_county and convicted):
        assert not any(screen.values())
    else:
        assert sum(exact.values()) == 12
        assert [screen[i + 1] for i in range(len(SCREEN_TEXTS))] == [
            True, True, True, True, True, True, False, False, True, True, False, True, True,
            True, True, True,
        ]  # fmt: skip
