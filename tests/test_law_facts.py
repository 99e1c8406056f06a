"""The law facts pass (transforms/law_facts.py): the Arrow kernel and its Spark wrapper.

Three checks. (1) The kernel on the hand-made fixtures (tests/law_fixtures.py), normalized by
the pipeline's own normalize, gives every LAW_FACTS column the plain-Python stand-in
(tests/law_facts.py) computes, on every counted conviction and arrest-cycle row. (2) The
Spark wrapper's output, decided by the compiled packs (compile_law / apply_law), gives
every candidate of every fixture subject the determination, reason and rule id of the
independent evaluator (tests/law_evaluator.py), and each fixture its expected outcome.
(3) The same on subjects of ``relief generate`` (its arrests, dismissals, diversions,
probation, revocations, prison, PC 290 and 1960s records), for every subject whose dates
are full or blank (the evaluator reads a partial date as unknown; the pipeline reads it
as an interval and may decide more).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from relief.jobs.config.laws import LawPacks, load_law_packs
from relief.jobs.synthetic.generate import generate_extract
from relief.transforms import columns as C
from relief.transforms.history import subject_history
from relief.transforms.law_eligibility import apply_law, compile_law
from relief.transforms.law_facts import (
    CANDIDATE_LINE,
    FILE_ORDER,
    PC851_93,
    PC1203_425,
    LawFactSettings,
    add_months,
    law_code_section,
    law_fact_settings,
    law_facts,
    law_facts_stream,
    output_schema,
    with_law_facts,
)
from tests import law_evaluator as ev
from tests.helpers.law_lines import CONF_LAWS, kernel_input, normalized
from tests.law_facts import fact_rows
from tests.law_fixtures import Case, all_cases

FIXTURES = all_cases()
AT = dt.date(2025, 6, 30)
POS = ev.POS


@pytest.fixture(scope="module")
def packs() -> LawPacks:
    return load_law_packs(CONF_LAWS)


@pytest.fixture(scope="module")
def settings(packs) -> LawFactSettings:
    return law_fact_settings(packs)


@pytest.fixture(scope="module")
def vocab(packs) -> ev.Vocabularies:
    assert packs.max_terms is not None
    return ev.Vocabularies(
        lists={name: [e.model_dump() for e in v.entries] for name, v in packs.vocabularies.items()},
        max_terms=[e.model_dump() for e in packs.max_terms.entries],
    )


def _unit_rows(lines: pa.Table, facts: pa.Table) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(unit, subject, CNT_ORDER) -> the kernel's facts on that unit's row."""
    joined = dict(zip(facts.column_names, facts.columns, strict=True))
    subjects = lines.column(C.SUBJECT).to_pylist()
    orders = lines.column(C.COUNT_ORDER).to_pylist()
    counted = joined[f"pc1203_425_{CANDIDATE_LINE}"].to_pylist()
    cycle_rows = joined[C.IS_ARREST_CYCLE_ROW].to_pylist()
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    names = [f.name for f in C.LAW_FACTS]
    values = {name: joined[name].to_pylist() for name in names}
    for i, (subject, order) in enumerate(zip(subjects, orders, strict=True)):
        for unit, flag in (("conviction", counted[i]), ("cycle", cycle_rows[i])):
            if flag:
                out[(unit, subject, order)] = {name: values[name][i] for name in names}
    return out


def _stand_in(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    out = {}
    for row in rows:
        unit = "conviction" if row[C.IS_COUNTED_CONVICTION] else "cycle"
        out[(unit, row[C.SUBJECT], row[C.COUNT_ORDER])] = {
            f.name: row.get(f.name) for f in C.LAW_FACTS
        }
    return out


def _srf(case: Case) -> frozenset[str] | None:
    return case.supervised_release


# --- (1) the kernel against the stand-in, on the fixtures -------------------------------------


@pytest.fixture(scope="module")
def fixture_lines(spark) -> pa.Table:
    rows = [row for case in FIXTURES for row in case.record.rows]
    return kernel_input(normalized(spark, rows))


@pytest.mark.parametrize("case", FIXTURES, ids=[f"{c.law}: {c.name}" for c in FIXTURES])
def test_kernel_facts_equal_the_stand_in_on_every_fixture(case, fixture_lines, settings, vocab):
    lines = fixture_lines.filter(pc.equal(fixture_lines.column(C.SUBJECT), case.record.subject))
    srf = _srf(case)
    facts = law_facts(lines, LawFactSettings(**{**settings.__dict__, "supervised_release": srf}))
    assert facts.schema == output_schema()
    assert facts.num_rows == lines.num_rows
    got = _unit_rows(lines, facts)
    p1203 = case.params if case.law == PC1203_425 else {}
    p851 = case.params if case.law == PC851_93 else {}
    expected = _stand_in(fact_rows(case.record.rows, vocab, p1203, p851,
                                   None if srf is None else set(srf)))  # fmt: skip
    assert got.keys() == expected.keys()
    for key, facts_expected in expected.items():
        assert got[key] == facts_expected, key


def test_facts_sit_on_their_unit_and_are_null_elsewhere(fixture_lines, settings):
    facts = law_facts(fixture_lines, settings)
    counted = facts.column(f"pc1203_425_{CANDIDATE_LINE}").to_pylist()
    cycle_rows = facts.column(C.IS_ARREST_CYCLE_ROW).to_pylist()
    assert None not in cycle_rows
    for fact in C.LAW_FACTS:
        values = facts.column(fact.name).to_pylist()
        if fact.unit == "conviction":
            assert all(v is None for v, on in zip(values, counted, strict=True) if not on)
        elif fact.unit == "arrest_cycle" and fact.name not in (C.CYCLE, C.IS_ARREST_CYCLE_ROW):
            assert all(v is None for v, on in zip(values, cycle_rows, strict=True) if not on)
    assert any(counted) and any(cycle_rows)


def test_the_stream_carries_a_subject_across_batch_edges(fixture_lines, settings):
    whole = law_facts(fixture_lines, settings)
    batches = fixture_lines.to_batches(max_chunksize=3)
    assert len(batches) > 10
    streamed = pa.Table.from_batches(list(law_facts_stream(batches, settings)))
    assert streamed.num_rows == fixture_lines.num_rows
    assert streamed.select(whole.column_names).equals(whole)
    assert streamed.column(C.SUBJECT).equals(fixture_lines.column(C.SUBJECT))


def test_partial_dates_are_intervals(spark, settings):
    """A conviction of 2015 (month and day unknown) with 30 days' jail: its sentence ends
    between 2015-01-31 and 2016-01-30; a later felony in 2018 surely follows it."""
    rows = (
        ev_record("P1")
        .court(1, "20150000", "484 PC-THEFT", "M", "CONVICTED-JAIL", ("JAIL", 30, "D"))
        .court(2, "201803" + "00", "11378 HS-SALE", "F", "CONVICTED-JAIL", ("JAIL", 30, "D"))
        .arrest(3, "20200000", ("484 PC-THEFT", "M"))
        .rows
    )
    lines = kernel_input(normalized(spark, rows))
    got = _unit_rows(lines, law_facts(lines, settings))
    first = got[("conviction", "P1", "001002001000")]
    assert (first[C.SENTENCE_END_CONCURRENT], first[C.date_latest(C.SENTENCE_END_CONCURRENT)]) == (
        dt.date(2015, 1, 31),
        dt.date(2016, 1, 30),
    )
    assert first[C.LATER_FELONY] == dt.date(2018, 3, 31)
    assert first[C.LATER_FELONY_POSSIBLE] == dt.date(2018, 3, 1)
    assert first[C.KNOWN_SENTENCE_END] == dt.date(2018, 3, 31)
    assert first[C.date_latest(C.KNOWN_SENTENCE_END)] == dt.date(2018, 4, 30)
    arrest = got[("cycle", "P1", "003001001000")]
    assert (arrest[C.ARREST_DATE], arrest[C.date_latest(C.ARREST_DATE)]) == (
        dt.date(2020, 1, 1),
        dt.date(2020, 12, 31),
    )
    assert (arrest[C.OPEN_CYCLE_ACTIVITY], arrest[C.date_latest(C.OPEN_CYCLE_ACTIVITY)]) == (
        dt.date(2020, 1, 1),
        dt.date(2020, 12, 31),
    )


def ev_record(subject: str) -> Any:
    from tests.law_fixtures import Record

    return Record(subject)


def test_add_months_clips_to_the_month_end():
    import numpy as np

    start = np.array([(dt.date(2020, 1, 31) - dt.date(1970, 1, 1)).days] * 3, dtype=np.int64)
    got = add_months(start, np.array([1, 13, -2]))
    days = [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in got]
    assert days == [dt.date(2020, 2, 29), dt.date(2021, 2, 28), dt.date(2019, 11, 30)]


# --- (2) the Spark wrapper, then the compiled packs, against the evaluator --------------------


def _groups(cases: list[Case]) -> dict[str, list[Case]]:
    groups: dict[str, list[Case]] = {}
    for case in cases:
        params = {k: str(v) for k, v in case.params.items()}
        srf = None if case.supervised_release is None else sorted(case.supervised_release)
        key = json.dumps([case.law, params, case.at.isoformat(), srf], sort_keys=True)
        groups.setdefault(key, []).append(case)
    return groups


def decided_by_pipeline(
    spark: SparkSession,
    lines: DataFrame,
    packs: LawPacks,
    settings: LawFactSettings,
    law: str,
    at: dt.date,
    params: dict[str, Any],
    srf: frozenset[str] | None,
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(subject, CNT_ORDER of the candidate row) -> (determination, reason, rule id)."""
    listed = None
    if srf is not None:
        listed = spark.createDataFrame([(s,) for s in sorted(srf)], "SUBJECT_ID string")
    facts = with_law_facts(lines, settings, supervised_release=listed)
    # Every candidate in one table of its own county; an out-of-state line (no county: no
    # table in a run) gets a stand-in county here, so that the evaluator's every candidate
    # is compared.
    county = F.coalesce(F.col(C.COUNTY_SLUG), F.lit("(out of state)"))
    facts = facts.withColumns({C.COUNTY_SLUG: county, C.TARGET_COUNTY: county})
    decided = apply_law(facts, compile_law(packs.require(law), at, params))
    column = C.law_column
    rows = decided.where(F.col(column(law, C.LAW_CANDIDATE))).select(
        C.SUBJECT,
        C.COUNT_ORDER,
        column(law, C.DETERMINATION),
        column(law, C.REASON),
        column(law, C.RULE_ID),
    )
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows.collect()}


def decided_by_evaluator(
    rows: list[Sequence[str]],
    vocab: ev.Vocabularies,
    law: str,
    at: dt.date,
    params: dict[str, Any],
    srf: frozenset[str] | None,
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The same keys: a conviction's CNT_ORDER; a cycle's first arrest line's CNT_ORDER."""
    p1203 = params if law == PC1203_425 else {}
    p851 = params if law == PC851_93 else {}
    decided = ev.decide_all(rows, at, vocab, p1203, p851, None if srf is None else set(srf))
    subjects = ev.subjects_of(rows)
    out = {}
    for (which, subject, key), decision in decided.items():
        if which != law:
            continue
        if law == PC851_93:
            key = subjects[subject].cycles[key].arrest_lines[0].cnt_order
        out[(subject, key)] = (decision.determination, decision.reason, decision.rule_id)
    return out


@pytest.fixture(scope="module")
def fixture_frame(spark) -> DataFrame:
    rows = [row for case in FIXTURES for row in case.record.rows]
    return subject_history(normalized(spark, rows)).cache()


@pytest.fixture(scope="module")
def fixture_decisions(spark, fixture_frame, packs, settings) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for members in _groups(FIXTURES).values():
        first = members[0]
        subjects = [c.record.subject for c in members]
        lines = fixture_frame.where(F.col(C.SUBJECT).isin(subjects))
        decided = decided_by_pipeline(
            spark, lines, packs, settings, first.law, first.at, first.params,
            first.supervised_release,
        )  # fmt: skip
        for case in members:
            found[case.name] = {k: v for k, v in decided.items() if k[0] == case.record.subject}
    return found


@pytest.mark.parametrize("case", FIXTURES, ids=[f"{c.law}: {c.name}" for c in FIXTURES])
def test_pipeline_facts_decide_every_fixture_candidate_as_the_evaluator(
    case, fixture_decisions, vocab
):
    got = fixture_decisions[case.name]
    expected = decided_by_evaluator(
        case.record.rows, vocab, case.law, case.at, case.params, case.supervised_release
    )
    assert got == expected
    if case.law == PC1203_425:
        key = (case.record.subject, case.key)
    else:
        cycle = ev.subjects_of(case.record.rows)[case.record.subject].cycles[case.key]
        key = (case.record.subject, cycle.arrest_lines[0].cnt_order)
    wanted = (case.determination, case.reason, case.rule_id)
    assert got.get(key, (None, None, None)) == wanted


def test_the_wrapper_keeps_every_line_and_the_asked_columns(spark, fixture_frame, settings):
    keep = [C.RECORD_ID, C.SUBJECT]
    out = with_law_facts(fixture_frame, settings, keep=keep)
    assert out.columns == [*keep, *output_schema().names]
    assert out.count() == fixture_frame.count()
    assert out.select(C.RECORD_ID).distinct().count() == fixture_frame.count()


# --- (3) generated subjects against the evaluator ---------------------------------------------


def _partial(text: str) -> bool:
    text = text.strip()
    return len(text) == 8 and text.isdigit() and (text[4:6] == "00" or text[6:] == "00")


def generated_rows(tmp: Path, rows: int, seed: int) -> list[list[str]]:
    out = tmp / f"extract-{seed}.csv"
    generate_extract(out, rows, seed, header=True, trailing_empty_field=False)
    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [row[: len(C.DOJ_COLUMNS)] for row in reader]


def full_dated_subjects(rows: list[list[str]]) -> set[str]:
    partial: set[str] = set()
    every: set[str] = set()
    for row in rows:
        subject = row[POS["SUBJECT_ID"]].strip()
        every.add(subject)
        if any(_partial(row[POS[name]]) for name in ("STP_EVENT_DATE", "DISP_DATE")):
            partial.add(subject)
    return every - partial


def read_alike(frame: DataFrame, settings: LawFactSettings) -> set[str]:
    """Subjects whose every code section the evaluator's simple reader reads as the pipeline
    does (normalize, then law_code_section). The pipeline reads DOMAIN.md §2's variants the
    evaluator does not (``11360A HS`` is 11360(a) HS; ``664 / 11359`` ...)."""
    differ: set[str] = set()
    every: set[str] = set()
    names = (C.SECTION, C.SUBSECTION, C.CODE, C.ATTEMPTED)
    for row in frame.select(C.SUBJECT, "OFFENSE_DESCR", C.COMMENT_TEXT, *names).collect():
        every.add(row[0])
        mine = law_code_section(tuple(row[3:]), settings.codes)
        theirs = ev.code_section(row[1] or "", row[2] or "")
        if theirs is None:
            same = mine[0] is None
        else:
            same = mine == (theirs.section, theirs.subsection, theirs.code, theirs.attempt)
        if not same:
            differ.add(row[0])
    return every - differ


@pytest.mark.parametrize("seed", [7, 23])
def test_generated_subjects_decide_as_the_evaluator(spark, tmp_path, packs, settings, vocab, seed):
    rows = generated_rows(tmp_path, 6000, seed)
    keep = full_dated_subjects(rows)
    rows = [r for r in rows if r[POS["SUBJECT_ID"]].strip() in keep]
    keep = read_alike(normalized(spark, rows), settings)
    assert len(keep) > 300
    rows = [r for r in rows if r[POS["SUBJECT_ID"]].strip() in keep]
    frame = subject_history(normalized(spark, rows)).cache()
    # The kernel's facts equal the stand-in's on every unit row.
    lines = kernel_input(frame)
    got = _unit_rows(lines, law_facts(lines, settings))
    expected = _stand_in(fact_rows(rows, vocab, {}, {}, set()))
    expected = {k: {**v, C.SUPERVISED_RELEASE_ACTIVE: None} for k, v in expected.items()}
    assert got.keys() == expected.keys()
    assert {k for k in got if got[k] != expected[k]} == set()
    counts = {}
    for law in (PC1203_425, PC851_93):
        pipeline = decided_by_pipeline(spark, frame, packs, settings, law, AT, {}, frozenset())
        evaluator = decided_by_evaluator(rows, vocab, law, AT, {}, frozenset())
        assert pipeline.keys() == evaluator.keys()
        differ = {k: (pipeline[k], evaluator[k]) for k in pipeline if pipeline[k] != evaluator[k]}
        assert differ == {}
        counts[law] = {d for d, _, _ in pipeline.values()}
    frame.unpersist()
    # The generated records reach every determination of both laws.
    assert counts[PC1203_425] >= {"Eligible for Dismissal", "Not eligible", "Hand Review"}
    assert counts[PC851_93] >= {"Eligible for Arrest Relief", "Not eligible", "Hand Review"}


def test_the_spark_wrapper_equals_the_kernel_across_small_arrow_batches(
    spark, fixture_frame, fixture_lines, settings
):
    """Batches of 3 lines split subjects over batch edges inside mapInArrow; the facts are
    the kernel's on the whole table."""
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    before = spark.conf.get(key)
    spark.conf.set(key, "3")
    try:
        out = with_law_facts(fixture_frame, settings, keep=[C.SUBJECT, *FILE_ORDER]).toArrow()
    finally:
        spark.conf.set(key, before)
    out = out.sort_by([(C.SUBJECT, "ascending"), *((n, "ascending") for n in FILE_ORDER)])
    whole = law_facts(fixture_lines, settings)
    assert out.select(whole.column_names).equals(whole)
