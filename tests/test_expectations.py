"""The GX suites of expectations/: pass on good rows, each critical expectation fails on bad
rows with the observed value and offending record_ids, results are written for people."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import great_expectations as gx
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from relief.expectations import runner
from relief.expectations.runner import (
    CRITICAL,
    SUITE_NAMES,
    WARNING,
    SuiteError,
    SuiteResult,
    critical_failure_message,
    default_parameters,
    load_suite,
    summarize,
    totals,
    validate,
)
from relief.jobs.audit import validation_page
from relief.jobs.config import load_counties
from relief.jobs.config.offenses import load_offenses
from relief.jobs.statewide import validate_extract
from relief.jobs.synthetic.generate import generate_extract
from relief.jobs.warehouse.validation import (
    EVIDENCE_MISSING,
    GX_DIR,
    INDEX_FILE,
    RESULTS_FILE,
    record_evidence,
    write_results,
)
from relief.transforms import columns as C
from relief.transforms.policy import Determination

# --- raw rows ----------------------------------------------------------------------------------

RAW_COLUMNS = [*C.KEPT_DOJ_COLUMNS, C.RECORD_ID, C.SOURCE_FILE, C.SOURCE_LINE, C.INPUT_INDEX]
RAW_TYPES = {C.SOURCE_LINE: "long", C.INPUT_INDEX: "int"}


def raw_row(line: int, **fields: str | None) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(RAW_COLUMNS)
    row.update(
        {
            C.RECORD_ID: f"r-{line}",
            C.SOURCE_FILE: "extract.csv",
            C.SOURCE_LINE: line,
            C.INPUT_INDEX: 0,
            C.SUBJECT_ID: "1001",
            C.CNT_ORDER: "001002003000",
            C.PRI_DOB: "19800115",
            C.CYC_DATE: "20150301",
            C.STP_EVENT_DATE: "20150301",
            C.DISP_DATE: None,
        }
    )
    row.update(fields)
    return row


def raw_frame(spark: SparkSession, rows: list[dict[str, Any]], columns: list[str]) -> DataFrame:
    schema = ", ".join(f"`{c}` {RAW_TYPES.get(c, 'string')}" for c in columns)
    return spark.createDataFrame([tuple(r.get(c) for c in columns) for r in rows], schema)


def outcome(result: SuiteResult, name: str) -> runner.ExpectationOutcome:
    return next(o for o in result.outcomes if o.name == name)


# --- suite files -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SUITE_NAMES)
def test_suite_file_is_a_gx_suite_with_a_severity_and_name_on_every_expectation(name: str) -> None:
    spec = load_suite(name)
    data = json.loads(spec.path.read_text())
    suite = gx.ExpectationSuite(**data)  # the file is GX's own suite format
    assert suite.name == name
    assert len(suite.expectations) == len(spec.expectations) > 0
    assert all(e.severity in (CRITICAL, WARNING) for e in spec.expectations)
    assert all(e.meta["severity"] == e.severity for e in spec.expectations)
    assert len({e.name for e in spec.expectations}) == len(spec.expectations)


def test_suite_parameters_come_from_the_pipeline_vocabulary() -> None:
    values = default_parameters()
    assert values["raw_columns"] == RAW_COLUMNS
    assert len(values["raw_columns"]) == 95 - 4 + 4
    assert not set(C.PII_COLUMNS) & set(values["raw_columns"])
    assert values["county_names"] == [c.name for c in load_counties().counties]
    assert len(values["county_names"]) == 58
    assert values["determinations"] == [d.value for d in Determination]
    assert values["pii_columns"] == ["REQ_CDL", "REQ_SSN", "PRI_SSN", "PRI_CDL"]


def test_expectation_without_severity_is_rejected_with_file_and_position(tmp_path: Path) -> None:
    suite = {
        "name": "raw",
        "expectations": [
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "SUBJECT_ID"},
                "meta": {"name": "x", "severity": "fatal"},
            }
        ],
    }
    (tmp_path / "raw.json").write_text(json.dumps(suite))
    with pytest.raises(SuiteError, match=r"raw\.json: expectations\[0\].*'fatal'.*critical"):
        load_suite("raw", tmp_path)


def test_critical_expectation_on_the_data_without_a_threshold_is_rejected(
    tmp_path: Path,
) -> None:
    expectation = {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "SUBJECT_ID"},
        "meta": {"name": "x", "severity": "critical"},
    }
    (tmp_path / "raw.json").write_text(json.dumps({"name": "raw", "expectations": [expectation]}))
    with pytest.raises(SuiteError, match=r"\(x\): a critical expectation on the data needs a "):
        load_suite("raw", tmp_path)
    expectation["meta"]["checks"] = "invariant"  # type: ignore[index]
    (tmp_path / "raw.json").write_text(json.dumps({"name": "raw", "expectations": [expectation]}))
    assert load_suite("raw", tmp_path).expectations[0].checks == "invariant"


@pytest.mark.parametrize("name", SUITE_NAMES)
def test_every_critical_row_expectation_has_a_threshold_or_is_an_invariant(name: str) -> None:
    for spec in load_suite(name).expectations:
        if spec.severity == CRITICAL and not spec.is_schema:
            assert spec.checks == "invariant" or 0 < spec.kwargs["mostly"] < 1, spec.name


def test_unknown_expectation_type_is_rejected(tmp_path: Path) -> None:
    suite = {
        "name": "raw",
        "expectations": [
            {"type": "expect_miracles", "kwargs": {}, "meta": {"name": "x", "severity": "warning"}}
        ],
    }
    (tmp_path / "raw.json").write_text(json.dumps(suite))
    with pytest.raises(SuiteError, match="'expect_miracles' is not a Great Expectations"):
        load_suite("raw", tmp_path)


# --- raw -------------------------------------------------------------------------------------


def test_raw_suite_passes_on_good_rows(spark: SparkSession) -> None:
    rows = [raw_row(1), raw_row(2, DISP_DATE="20150610"), raw_row(3, PRI_DOB="19800000")]
    result = validate(raw_frame(spark, rows, RAW_COLUMNS), "raw")
    assert result.summary_line() == "raw 10/10 passed"
    assert result.success and result.rows == 3
    assert outcome(result, "raw_field_count").observed == "the 95 expected columns"
    assert result.message() == ""


def test_placeholders_and_a_few_bad_values_never_stop_a_run(spark: SparkSession) -> None:
    """The reference generator's DISP_DATE '  -  ' on every line, and one bad SUBJECT_ID and
    CNT_ORDER among 200 rows: warnings at most, never a critical failure."""
    rows = [raw_row(i, DISP_DATE="  -  ", CYC_DATE="  -  ") for i in range(1, 199)]
    rows += [raw_row(199, SUBJECT_ID=None), raw_row(200, CNT_ORDER="12")]
    result = validate(raw_frame(spark, rows, RAW_COLUMNS), "raw")
    assert result.summary_line() == "raw 10/10 passed", result.message()
    assert outcome(result, "raw_subject_id_present").observed == (
        "1 of 200 rows unexpected (0.50%); at least 99% must pass"
    )


@pytest.mark.usefixtures("case_sensitive")
def test_normalized_placeholder_dates_are_blank_not_unparsed(spark: SparkSession) -> None:
    rows = [
        (*_good_normalized(i)[:3], "  -  ", *_good_normalized(i)[4:6], None,
         *_good_normalized(i)[7:])
        for i in range(1, 30)
    ] + [("n-30", " - ", "-", "  -  ", None, None, None, False, None, "ORANGE", "ORANGE",
          "orange", None, False, "")]  # fmt: skip
    result = validate(normalized_rows(spark, rows), "normalized")
    assert result.summary_line() == "normalized 8/8 passed", result.message()


@pytest.fixture(scope="module")
def bad_raw(spark: SparkSession) -> SuiteResult:
    rows = [
        raw_row(1),
        raw_row(2, SUBJECT_ID=None),
        raw_row(3, CNT_ORDER=None),
        raw_row(4, CNT_ORDER="1002003000"),
        raw_row(5, DISP_DATE="2015-06-10"),
        raw_row(6, CNT_ORDER="00100200300X"),
    ]
    # an SSN column slipped through and COMMENT_TEXT went missing
    columns = [c for c in RAW_COLUMNS if c != C.COMMENT_TEXT] + ["PRI_SSN"]
    return validate(raw_frame(spark, rows, columns), "raw")


def test_raw_field_count_fails_naming_extra_and_missing_columns(bad_raw: SuiteResult) -> None:
    found = outcome(bad_raw, "raw_field_count")
    assert found.status == "failed"
    assert found.observed == "extra columns PRI_SSN; missing columns COMMENT_TEXT"
    assert found.offending_ids == ()


def test_raw_missing_subject_id_fails_with_its_record_id(bad_raw: SuiteResult) -> None:
    found = outcome(bad_raw, "raw_subject_id_present")
    assert found.status == "failed"
    assert found.observed == "1 of 6 rows unexpected (16.67%); at least 99% must pass"
    assert found.observed_value == {"unexpected_count": 1, "element_count": 6, "percent": 16.6667}
    assert found.offending_ids == ("r-2",)


def test_raw_missing_cnt_order_fails_with_its_record_id(bad_raw: SuiteResult) -> None:
    found = outcome(bad_raw, "raw_cnt_order_present")
    assert (found.status, found.offending_ids) == ("failed", ("r-3",))


def test_raw_cnt_order_not_12_digits_fails_with_record_ids(bad_raw: SuiteResult) -> None:
    found = outcome(bad_raw, "raw_cnt_order_12_digits")
    assert found.status == "failed"
    # the null CNT_ORDER is the presence check's business, not the format's
    assert found.observed == (
        "2 of 5 non-null values (6 rows) unexpected (40.00%); at least 99% must pass"
    )
    assert found.offending_ids == ("r-4", "r-6")


def test_raw_malformed_date_is_a_warning_not_a_failure(bad_raw: SuiteResult) -> None:
    found = outcome(bad_raw, "raw_disp_date_8_digits")
    assert (found.status, found.offending_ids) == ("warned", ("r-5",))
    assert [o.name for o in bad_raw.warnings()] == ["raw_disp_date_8_digits"]
    assert [o.name for o in bad_raw.critical_failures()] == [
        "raw_field_count",
        "raw_subject_id_present",
        "raw_cnt_order_present",
        "raw_cnt_order_12_digits",
    ]
    assert bad_raw.summary_line() == "raw 5 passed, 1 warned, 4 failed"
    assert not bad_raw.success


def test_critical_failure_message_names_expectation_observed_value_and_record_ids(
    bad_raw: SuiteResult,
) -> None:
    message = critical_failure_message([bad_raw])
    assert message is not None
    lines = message.splitlines()
    assert lines[0] == (
        "validation failed: 4 critical expectation(s) did not hold "
        "(a run stops here, before any county table is committed)"
    )
    assert lines[4] == (
        "  raw: raw_cnt_order_12_digits failed (critical): expected "
        '"CNT_ORDER is 12 digits (cycle 3 + step 3 + count 3 + 000) on at least 99% of rows" '
        "(expect_column_values_to_match_regex on CNT_ORDER); observed 2 of 5 non-null values "
        "(6 rows) unexpected (40.00%); at least 99% must pass; offending record_ids: r-4, r-6"
    )
    assert "raw_disp_date_8_digits" not in message  # warnings are not why the run stopped


# --- normalized ------------------------------------------------------------------------------

NORMALIZED_SCHEMA = (
    "record_id string, PRI_DOB string, STP_EVENT_DATE string, DISP_DATE string, dob date, "
    "event_date date, disposition_date date, is_conviction boolean, conviction_date date, "
    "county_raw string, county string, county_slug string, is_felony boolean, "
    "is_prop64 boolean, subsection string"
)


@pytest.fixture
def case_sensitive() -> Iterator[None]:
    """Derived names differ from the DOJ's in more than case: no session setting needed."""
    yield


def normalized_rows(spark: SparkSession, rows: list[tuple[Any, ...]]) -> DataFrame:
    return spark.createDataFrame(rows, NORMALIZED_SCHEMA)


def _good_normalized(i: int) -> tuple[Any, ...]:
    import datetime as dt

    day = dt.date(2015, 3, 1)
    return (f"n-{i}", "19800115", "20150301", "20150301", dt.date(1980, 1, 15), day, day,
            True, day, "LOS ANGELES", "LOS ANGELES", "los-angeles", False, True, "(a)")  # fmt: skip


@pytest.mark.usefixtures("case_sensitive")
def test_normalized_suite_passes_on_good_rows(spark: SparkSession) -> None:
    out_of_state = (*_good_normalized(3)[:9], "CLARK NV", None, None, False, False, "")
    not_convicted = (*_good_normalized(4)[:7], False, None, "ORANGE", "ORANGE", "orange", None,
                     True, None)  # fmt: skip
    blank_dob = ("n-5", None, *_good_normalized(5)[2:4], None, *_good_normalized(5)[5:])
    rows = [_good_normalized(i) for i in range(1, 30)] + [out_of_state, not_convicted, blank_dob]
    result = validate(normalized_rows(spark, rows), "normalized")
    assert result.summary_line() == "normalized 8/8 passed", result.message()


@pytest.mark.usefixtures("case_sensitive")
def test_normalized_critical_expectations_fail_on_bad_rows(spark: SparkSession) -> None:
    import datetime as dt

    good = [_good_normalized(i) for i in range(1, 9)]
    unparsed_dates = ("n-10", "19801315", "20150230", "2015030", None, None, None,
                      False, None, "ORANGE", "ORANGE", "orange", None, False, "")  # fmt: skip
    not_a_county = ("n-11", None, None, None, None, None, None,
                    False, None, "NEW YORK", "NEW YORK", None, None, False, "")  # fmt: skip
    felony_unknown = ("n-12", None, "20150301", None, None, dt.date(2015, 3, 1), None,
                      True, None, "ORANGE", "ORANGE", "orange", None, True, None)  # fmt: skip
    result = validate(
        normalized_rows(spark, [*good, unparsed_dates, not_a_county, felony_unknown]),
        "normalized",
    )
    by_name = {o.name: o for o in result.outcomes}
    assert {o.name for o in result.critical_failures()} == {
        "normalized_dob_parses",
        "normalized_event_date_parses",
        "normalized_county_in_58",
        "normalized_felony_flag_on_convictions",
    }
    dob = by_name["normalized_dob_parses"]
    assert dob.observed == (
        "1 of 9 rows where translate(PRI_DOB, ' -', '') != '' unexpected (11.11%); at least "
        "95% must pass"
    )
    assert dob.offending_ids == ("n-10",)
    assert by_name["normalized_event_date_parses"].offending_ids == ("n-10",)
    # DISP_DATE dates a conviction only when STP_EVENT_DATE is blank: a warning
    disp = by_name["normalized_disp_date_parses"]
    assert (disp.status, disp.offending_ids) == ("warned", ("n-10",))
    # an undated conviction whose subsection was not read: reported, not fatal
    assert by_name["normalized_prop64_subsection_read"].status == "warned"
    assert by_name["normalized_prop64_subsection_read"].offending_ids == ("n-12",)
    county = by_name["normalized_county_in_58"]
    assert (county.observed, county.offending_ids) == ("1 of 11 rows unexpected (9.09%)", ("n-11",))
    felony = by_name["normalized_felony_flag_on_convictions"]
    assert felony.offending_ids == ("n-12",)
    assert felony.observed == "1 of 9 rows where is_conviction unexpected (11.11%)"
    # 1 undated conviction of 9 is below the 99% asked: reported, not fatal
    assert by_name["normalized_conviction_dated"].status == "warned"
    assert by_name["normalized_conviction_dated"].offending_ids == ("n-12",)
    # the suite's own offending predicate names the out-of-county row
    assert by_name["normalized_county_mostly_californian"].status == "passed"


# --- annotated -------------------------------------------------------------------------------

ANNOTATED_SCHEMA = (
    "target_county string, record_id string, county_slug string, is_counted_conviction boolean, "
    "is_prop64 boolean, is_candidate boolean, determination string, reason string, "
    "rule_id string"
)


def _candidate(i: int, determination: str = "Eligible for Dismissal") -> tuple[Any, ...]:
    return ("alameda", f"a-{i}", "alameda", True, True, True, determination, "r", "rule-1")


def _other_row(i: int) -> tuple[Any, ...]:
    return ("alameda", f"a-{i}", "orange", True, True, False, None, None, None)


@pytest.fixture(scope="module")
def good_annotated(spark: SparkSession) -> SuiteResult:
    rows = [_candidate(1), _candidate(2, "Hand Review"), _other_row(3)]
    # the same record in another county's table is not a duplicate
    rows.append(("orange", "a-3", "orange", True, True, True, "Not eligible", "r", "rule-9"))
    return validate(spark.createDataFrame(rows, ANNOTATED_SCHEMA), "annotated")


def test_annotated_suite_passes_on_good_rows(good_annotated: SuiteResult) -> None:
    assert good_annotated.summary_line() == "annotated 6/6 passed"
    assert good_annotated.rows == 4


def test_annotated_critical_expectations_fail_on_bad_rows(spark: SparkSession) -> None:
    rows = [
        _candidate(1),
        _candidate(2, "Eligible for Parole"),
        ("alameda", "a-3", "alameda", True, True, True, None, None, None),
        ("alameda", "a-4", "orange", True, True, False, "Not eligible", "r", "rule-1"),
        _candidate(5),
        _candidate(5),
    ]
    df = spark.createDataFrame(rows, ANNOTATED_SCHEMA).withColumn("pri_ssn", F.lit("x"))
    result = validate(df, "annotated")
    by_name = {o.name: o for o in result.outcomes}
    assert result.summary_line() == "annotated 0 passed, 6 failed"
    assert by_name["annotated_determination_allowed"].offending_ids == ("a-2",)
    assert by_name["annotated_candidates_determined"].offending_ids == ("a-3",)
    assert by_name["annotated_candidates_have_rule"].offending_ids == ("a-3",)
    assert by_name["annotated_only_candidates_determined"].offending_ids == ("a-4",)
    unique = by_name["annotated_record_id_unique_per_county"]
    assert (unique.observed, unique.offending_ids) == (
        "2 of 6 rows unexpected (33.33%)",
        ("a-5", "a-5"),
    )
    pii = by_name["annotated_no_ssn_cdl_columns"]
    assert (pii.observed, pii.observed_value) == ("forbidden columns present: pri_ssn", ["pri_ssn"])


def test_a_column_missing_from_the_data_fails_its_expectations(spark: SparkSession) -> None:
    df = spark.createDataFrame([_candidate(1)], ANNOTATED_SCHEMA).drop("rule_id")
    result = validate(df, "annotated")
    found = outcome(result, "annotated_candidates_have_rule")
    assert found.status == "failed"
    assert found.observed.startswith("could not be evaluated: ")
    assert "rule_id" in found.observed
    assert result.summary_line() == "annotated 5 passed, 1 failed"


# --- several suites, files for people ---------------------------------------------------------


def test_summary_and_totals_over_suites(bad_raw: SuiteResult, good_annotated: SuiteResult) -> None:
    good = good_annotated
    assert summarize([bad_raw, good]) == "raw 5 passed, 1 warned, 4 failed; annotated 6/6 passed"
    assert totals([bad_raw, good]) == {"passed": 11, "warned": 1, "failed": 4}
    assert critical_failure_message([good]) is None


def test_results_json_and_html_pages_are_written(bad_raw: SuiteResult, tmp_path: Path) -> None:
    index = write_results(
        [bad_raw], tmp_path / "validation" / "run-1", run_id="run-1", page=validation_page.render
    )
    assert index == tmp_path / "validation" / "run-1" / INDEX_FILE
    page = index.read_text()
    for o in bad_raw.outcomes:
        assert o.name in page and o.type in page
    assert "r-4, r-6" in page and "raw 5 passed, 1 warned, 4 failed" in page
    saved = json.loads((index.parent / RESULTS_FILE).read_text())
    assert saved["summary"] == "raw 5 passed, 1 warned, 4 failed"
    assert saved["totals"] == {"passed": 5, "warned": 1, "failed": 4}
    expectation = saved["suites"][0]["expectations"][3]
    assert expectation["name"] == "raw_cnt_order_12_digits"
    assert expectation["offending_record_ids"] == ["r-4", "r-6"]
    assert saved["suites"][0]["gx_result"]["statistics"]["evaluated_expectations"] == 10
    # GX's own result of the suite, linked from the page; no Data Docs site (CDN-only)
    gx = json.loads((index.parent / GX_DIR / "raw.json").read_text())
    assert gx["statistics"]["evaluated_expectations"] == 10
    assert f'href="{GX_DIR}/raw.json"' in page
    assert not (index.parent / "data_docs").exists()


# Text a page must show as text: it closes the element it sits in, opens a script, quotes.
HOSTILE = """</td></code><script>alert("x")</script> & 'q' <b>"""


class PageText(HTMLParser):
    """A page as a browser reads it: its elements and its text, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.text.extend(v for _, v in attrs if v)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_validation_page_shows_hostile_text_as_text(spark: SparkSession, tmp_path: Path):
    # A record id from the data, and text an expectation reports (a column name from an
    # extract's header, an observed value), each holding markup.
    rows = [raw_row(1), raw_row(2, **{C.SUBJECT_ID: None, C.RECORD_ID: HOSTILE})]
    result = validate(raw_frame(spark, rows, RAW_COLUMNS), "raw")
    failed = outcome(result, "raw_subject_id_present")
    assert failed.offending_ids == (HOSTILE,)
    planted = dataclasses.replace(
        result,
        outcomes=[
            dataclasses.replace(o, observed=f"extra columns {HOSTILE}", description=HOSTILE)
            for o in result.outcomes
        ],
    )
    index = write_results([planted], tmp_path / "v", run_id=HOSTILE, page=validation_page.render)
    page = index.read_text(encoding="utf-8")
    assert "<script" not in page and HOSTILE not in page
    parsed = PageText()
    parsed.feed(page)
    assert "script" not in parsed.tags and "b" not in parsed.tags
    shown = "".join(parsed.text)
    assert shown.count(HOSTILE) == 2 * len(result.outcomes) + 3  # + title, heading, the id
    assert f"relief validation — run {HOSTILE}" in shown
    # the rows of the table are the expectations, none added by the text
    assert page.count("<tr id=") == len(result.outcomes)


def test_results_on_a_relative_path_are_written_at_its_absolute_path(
    bad_raw: SuiteResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    index = write_results(
        [bad_raw], Path("wh/validation/run-1"), run_id="run-1", page=validation_page.render
    )
    assert index == tmp_path / "wh" / "validation" / "run-1" / INDEX_FILE
    assert index.is_absolute() and index.is_file()


def test_evidence_that_cannot_be_written_is_named_in_the_validation_line(
    bad_raw: SuiteResult, tmp_path: Path
) -> None:
    blocker = tmp_path / "validation"
    blocker.write_text("a file where the folder should be")
    evidence = record_evidence(
        [bad_raw], blocker / "run-1", run_id="run-1", page=validation_page.render
    )
    assert evidence.index is None
    assert evidence.problem == f"{blocker / 'run-1'}: Not a directory"
    assert evidence.summary("raw 5 passed, 1 warned, 4 failed") == (
        f"raw 5 passed, 1 warned, 4 failed; {EVIDENCE_MISSING} ({blocker / 'run-1'}: "
        "Not a directory)"
    )


def test_validate_extract_runs_raw_and_normalized_without_writing_tables(
    spark: SparkSession, tmp_path: Path
) -> None:
    extract = tmp_path / "extract.csv"
    generate_extract(extract, rows=300, seed=3)
    results = validate_extract(spark, str(extract), load_counties(), load_offenses())
    assert [r.suite for r in results] == ["raw", "normalized"]
    assert summarize(results) == "raw 10/10 passed; normalized 8/8 passed"
    assert results[0].rows == results[1].rows == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extract.csv"]
