"""The law packs compiled to Spark (transforms/law_eligibility.py), on rows of law facts.

Two sets of rows. The inline cases carry the facts of transforms/columns.py ``LAW_FACTS``
directly: a clean conviction (a misdemeanor of 2015, jail served, nothing else on record)
or a clean arrest cycle (a misdemeanor arrest of 2020, no court action), each case
overriding only the facts its rule reads; together they reach every rule of both packs
under every parameter reading, and the interval and UNKNOWN paths. The fixture cases are
the hand-made subjects of tests/law_fixtures.py, their facts computed by
tests/law_facts.py: the compiled pack must give what the fixture expects and what the
independent evaluator (tests/law_evaluator.py) decides.

Speed: each group of cases sharing a law, a parameter reading and a compute-at is decided
by ONE Spark job (module fixtures); each test then checks its own row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from relief.jobs.config.laws import LawPacks, load_law_packs
from relief.transforms.columns import (
    ARREST_DATE,
    ARREST_MAX_TERM_KNOWN,
    ARREST_MAX_TERM_YEARS,
    ARREST_OFFENSE_CLASS,
    CITATION,
    CODE,
    CONVICTION_DATE,
    CONVICTION_FELONY,
    COUNT_ORDER,
    COUNTY_SLUG,
    CYCLE,
    CYCLE_ACQUITTED,
    CYCLE_DISMISSED,
    CYCLE_DIVERSION_COMPLETED,
    CYCLE_HAS_CONVICTION,
    CYCLE_NO_COURT_ACTION,
    DECEASED,
    DECISION_INPUTS,
    DETERMINATION,
    HAS_OPEN_CYCLE,
    HAS_UNKNOWN_SENTENCE_END,
    IS_ARREST_CYCLE_ROW,
    IS_COUNTED_CONVICTION,
    IS_FELONY,
    KNOWN_SENTENCE_END,
    LATER_FELONY,
    LATER_FELONY_POSSIBLE,
    LAW_CANDIDATE,
    LAW_FACTS,
    LAW_VOCABULARIES,
    OPEN_CYCLE_ACTIVITY,
    OPEN_CYCLE_UNDATED,
    PC290_REGISTRANT,
    PROBATION_END,
    PROBATION_GRANTED,
    PROBATION_REVOKED,
    REASON,
    RULE_ID,
    SECTION,
    SENTENCE_END_CONCURRENT,
    STATE_PRISON_SENTENCE,
    SUBJECT,
    SUBSECTION,
    SUPERVISED_RELEASE_ACTIVE,
    TARGET_COUNTY,
    UNKNOWN_END_CONVICTION,
    date_latest,
    law_column,
    vocabulary_column,
)
from relief.transforms.law_eligibility import (
    PIPELINE_INPUTS,
    CompiledLaw,
    apply_law,
    compile_law,
    law_input_schema,
    law_output_columns,
)
from relief.transforms.policy import Determination
from tests import law_evaluator as ev
from tests.law_facts import KEY_COLUMNS, fact_rows
from tests.law_fixtures import Case, all_cases

CONF_LAWS = Path(__file__).resolve().parents[1] / "conf" / "laws"
AT = dt.date(2025, 6, 30)
P1203, P851 = "pc1203.425", "pc851.93"
DISMISSAL = Determination.DISMISSAL.value
RELIEF = Determination.ARREST_RELIEF.value
NOT_ELIGIBLE = Determination.NOT_ELIGIBLE.value
REVIEW = Determination.HAND_REVIEW.value
DATES = {fact.name for fact in LAW_FACTS if fact.type == "date"} | {
    name for name, kind in PIPELINE_INPUTS if kind == "date"
}


@pytest.fixture(scope="module")
def packs() -> LawPacks:
    return load_law_packs(CONF_LAWS)


def _schema() -> Any:
    schema = law_input_schema()
    for name in KEY_COLUMNS:
        if name not in schema.fieldNames():
            schema = schema.add(name, "string")
    return schema


def _decide(
    spark: SparkSession, compiled: CompiledLaw, rows: list[dict[str, Any]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """(subject, count order) -> the law's output columns, one Spark job."""
    schema = _schema()
    data = [tuple(row.get(name) for name in schema.fieldNames()) for row in rows]
    df = spark.createDataFrame(data, schema).transform(lambda d: apply_law(d, compiled))
    names = law_output_columns(compiled.law)
    return {
        (r[SUBJECT], r[COUNT_ORDER]): {name: r[name] for name in names}
        for r in df.select(SUBJECT, COUNT_ORDER, *names).collect()
    }


def _outcome(law: str, got: dict[str, Any]) -> tuple[Any, ...]:
    """(determination, reason, rule id) of the law on a decided row."""
    return tuple(got[law_column(law, n)] for n in (DETERMINATION, REASON, RULE_ID))


# --- inline cases: the facts given directly -------------------------------------------------


def conviction_row(**facts: Any) -> dict[str, Any]:
    """A clean conviction: misdemeanor 484 PC of 2015-06-01, 30 days' jail served, no other
    record. A date fact given as a date sets both bounds; as (earliest, latest) an interval."""
    row: dict[str, Any] = {
        IS_COUNTED_CONVICTION: True,
        IS_ARREST_CYCLE_ROW: False,
        CYCLE: "001",
        COUNTY_SLUG: "sacramento",
        TARGET_COUNTY: "sacramento",
        CONVICTION_DATE: dt.date(2015, 6, 1),
        IS_FELONY: False,
        CONVICTION_FELONY: False,
        SECTION: "484",
        SUBSECTION: "",
        CODE: "PC",
        DECEASED: False,
        STATE_PRISON_SENTENCE: False,
        PROBATION_GRANTED: False,
        PROBATION_END: None,
        PROBATION_REVOKED: False,
        SENTENCE_END_CONCURRENT: dt.date(2015, 7, 1),
        LATER_FELONY: None,
        LATER_FELONY_POSSIBLE: None,
        **{vocabulary_column(name): False for name in LAW_VOCABULARIES},
        PC290_REGISTRANT: False,
        SUPERVISED_RELEASE_ACTIVE: False,
        KNOWN_SENTENCE_END: dt.date(2015, 7, 1),
        HAS_UNKNOWN_SENTENCE_END: False,
        UNKNOWN_END_CONVICTION: None,
        HAS_OPEN_CYCLE: False,
        OPEN_CYCLE_UNDATED: False,
        OPEN_CYCLE_ACTIVITY: None,
    }
    row.update(facts)
    return row


def felony_prison(convicted: dt.date, years: int, **facts: Any) -> dict[str, Any]:
    """A felony sentenced to state prison for ``years`` from ``convicted``, nothing else."""
    end = convicted.replace(year=convicted.year + years)
    base: dict[str, Any] = {
        "CONVICTION_DATE": convicted,
        "IS_FELONY": True,
        "CONVICTION_FELONY": True,
        "SECTION": "11378",
        "CODE": "HS",
        "STATE_PRISON_SENTENCE": True,
        "SENTENCE_END_CONCURRENT": end,
        "KNOWN_SENTENCE_END": end,
    }
    return conviction_row(**{**base, **facts})


def felony_probation(**facts: Any) -> dict[str, Any]:
    """A felony 245(a)(1) PC of 2015-03-01 on three years' probation, completed."""
    base: dict[str, Any] = {
        "CONVICTION_DATE": dt.date(2015, 3, 1),
        "IS_FELONY": True,
        "CONVICTION_FELONY": True,
        "SECTION": "245",
        "SUBSECTION": "(a)(1)",
        "PROBATION_GRANTED": True,
        "PROBATION_END": dt.date(2018, 3, 1),
        "SENTENCE_END_CONCURRENT": dt.date(2018, 3, 1),
        "KNOWN_SENTENCE_END": dt.date(2018, 3, 1),
    }
    return conviction_row(**{**base, **facts})


def cycle_row(**facts: Any) -> dict[str, Any]:
    """A clean arrest cycle: a misdemeanor arrest on 2020-03-01, no court action."""
    row: dict[str, Any] = {
        IS_COUNTED_CONVICTION: False,
        IS_ARREST_CYCLE_ROW: True,
        CYCLE: "001",
        COUNTY_SLUG: "sacramento",
        TARGET_COUNTY: "sacramento",
        DECEASED: False,
        PC290_REGISTRANT: False,
        SUPERVISED_RELEASE_ACTIVE: None,
        CYCLE_HAS_CONVICTION: False,
        ARREST_DATE: dt.date(2020, 3, 1),
        ARREST_OFFENSE_CLASS: "M",
        CYCLE_NO_COURT_ACTION: True,
        CYCLE_DISMISSED: False,
        CYCLE_ACQUITTED: False,
        CYCLE_DIVERSION_COMPLETED: False,
        ARREST_MAX_TERM_KNOWN: False,
        ARREST_MAX_TERM_YEARS: None,
    }
    row.update(facts)
    return row


def felony_arrest(arrested: dt.date, max_years: int | None, **facts: Any) -> dict[str, Any]:
    """A felony arrest, no court action; ``max_years`` None: the section is not in the table."""
    base: dict[str, Any] = {
        "ARREST_DATE": arrested,
        "ARREST_OFFENSE_CLASS": "F",
        "ARREST_MAX_TERM_KNOWN": max_years is not None,
        "ARREST_MAX_TERM_YEARS": max_years,
    }
    return cycle_row(**{**base, **facts})


def _by_name(facts: dict[str, Any]) -> dict[str, Any]:
    """Keyword names (CONVICTION_DATE=...) -> column names; dates -> both bounds."""
    import relief.transforms.columns as columns

    row: dict[str, Any] = {}
    for key, value in facts.items():
        name = getattr(columns, key) if key.isupper() else key
        if name in DATES:
            low, high = value if isinstance(value, tuple) else (value, value)
            row[name], row[date_latest(name)] = low, high
        else:
            row[name] = value
    return row


@dataclasses.dataclass(frozen=True)
class Inline:
    name: str
    law: str
    facts: dict[str, Any]
    expected: tuple[str | None, str | None, str | None]  # determination, reason, rule id
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    at: dt.date = AT

    @property
    def group(self) -> str:
        return json.dumps([self.law, self.params, self.at.isoformat()], sort_keys=True)


def _c(name: str, row: dict[str, Any], det: str | None, reason: str | None, rule: str | None,
       **kw: Any) -> Inline:  # fmt: skip
    return Inline(name, P1203, row, (det, reason, rule), **kw)


def _a(name: str, row: dict[str, Any], det: str | None, reason: str | None, rule: str | None,
       **kw: Any) -> Inline:  # fmt: skip
    return Inline(name, P851, row, (det, reason, rule), **kw)


D = dt.date
PATH3 = "PC 1203.425(a)(1)(B)(v)(III)"
OPEN_SRF = "Supervised Release File not checked"
FACTS_REASON = "Depends on facts of the case (record of conviction)"

INLINE: list[Inline] = [
    # PC 1203.425: the gates.
    _c("misdemeanor a year after judgment", conviction_row(), DISMISSAL,
       "Misdemeanor, 1 year since judgment", "path2-misdemeanor-1-year"),
    _c("convicted before 1973", conviction_row(CONVICTION_DATE=D(1972, 12, 31)), NOT_ELIGIBLE,
       "Before 1/1/1973", "before-1973"),
    _c("a partial date across 1/1/1973", conviction_row(
        CONVICTION_DATE=(D(1972, 12, 1), D(1973, 1, 31))), REVIEW, "Incomplete date",
       "before-1973"),
    _c("a PC 290 registrant", conviction_row(PC290_REGISTRANT=True), NOT_ELIGIBLE,
       "PC 290 registrant", "pc290-registrant"),
    _c("in the Supervised Release File", conviction_row(SUPERVISED_RELEASE_ACTIVE=True),
       NOT_ELIGIBLE, "Active supervision (Supervised Release File)", "supervised-release"),
    _c("no Supervised Release File given", conviction_row(SUPERVISED_RELEASE_ACTIVE=None),
       REVIEW, OPEN_SRF, "supervised-release"),
    _c("a sentence running past compute-at", conviction_row(KNOWN_SENTENCE_END=D(2026, 1, 1)),
       NOT_ELIGIBLE, "Currently serving sentence", "serving-sentence"),
    _c("a sentence ending in a month that holds compute-at", conviction_row(
        KNOWN_SENTENCE_END=(D(2025, 6, 1), D(2025, 6, 30))), DISMISSAL,
       "Misdemeanor, 1 year since judgment", "path2-misdemeanor-1-year"),
    _c("a sentence ending in the year of compute-at", conviction_row(
        KNOWN_SENTENCE_END=(D(2025, 1, 1), D(2025, 12, 31))), REVIEW, "Incomplete date",
       "serving-sentence"),
    _c("a sentence whose end is unknown", conviction_row(
        HAS_UNKNOWN_SENTENCE_END=True, UNKNOWN_END_CONVICTION=D(2010, 3, 1)), REVIEW,
       "Sentence end unknown", "serving-sentence"),
    _c("an unknown end presumed completed after 7 years", conviction_row(
        HAS_UNKNOWN_SENTENCE_END=True, UNKNOWN_END_CONVICTION=D(2010, 3, 1)), DISMISSAL,
       "Misdemeanor, 1 year since judgment", "path2-misdemeanor-1-year",
       params={"sentence_presumed_completed_after_years": 7}),
    _c("an unknown end of a conviction under 7 years old", conviction_row(
        HAS_UNKNOWN_SENTENCE_END=True, UNKNOWN_END_CONVICTION=D(2020, 3, 1)), REVIEW,
       "Sentence end unknown", "serving-sentence",
       params={"sentence_presumed_completed_after_years": 7}),
    _c("an unknown end beside a known one past compute-at", conviction_row(
        HAS_UNKNOWN_SENTENCE_END=True, UNKNOWN_END_CONVICTION=D(2010, 3, 1),
        KNOWN_SENTENCE_END=D(2027, 1, 1)), NOT_ELIGIBLE, "Currently serving sentence",
       "serving-sentence"),
    _c("an open arrest cycle", conviction_row(
        HAS_OPEN_CYCLE=True, OPEN_CYCLE_ACTIVITY=D(2020, 1, 1)), REVIEW, "Pending charge",
       "pending-charge"),
    _c("an open cycle inactive for 3 years (SB 834)", conviction_row(
        HAS_OPEN_CYCLE=True, OPEN_CYCLE_ACTIVITY=D(2020, 1, 1)), DISMISSAL,
       "Misdemeanor, 1 year since judgment", "path2-misdemeanor-1-year",
       params={"pending_charge_inactive_years": 3}),
    _c("an open cycle active within 3 years (SB 834)", conviction_row(
        HAS_OPEN_CYCLE=True, OPEN_CYCLE_ACTIVITY=D(2023, 1, 1)), REVIEW, "Pending charge",
       "pending-charge", params={"pending_charge_inactive_years": 3}),
    _c("an undated open cycle is pending whatever the inactivity", conviction_row(
        HAS_OPEN_CYCLE=True, OPEN_CYCLE_UNDATED=True), REVIEW, "Pending charge",
       "pending-charge", params={"pending_charge_inactive_years": 3}),
    # Path III.
    _c("felony prison, 4 clean years after it ended", felony_prison(D(2010, 3, 1), 3),
       DISMISSAL, PATH3, "path3-felony"),
    _c("felony prison convicted before 2005", felony_prison(D(2000, 3, 1), 2), REVIEW,
       "Path III start date (2005 or 1973) unconfirmed", "path3-start-date"),
    _c("felony prison convicted before 2005, start date 1973", felony_prison(D(2000, 3, 1), 2),
       DISMISSAL, PATH3, "path3-felony", params={"path3_start_date": "1973-01-01"}),
    _c("path III before its operative date", felony_prison(D(2010, 3, 1), 3), NOT_ELIGIBLE,
       "State prison sentence", "state-prison", at=D(2024, 9, 30)),
    _c("path III on its operative date", felony_prison(D(2010, 3, 1), 3), DISMISSAL, PATH3,
       "path3-felony", at=D(2024, 10, 1)),
    _c("prison ended less than 4 years ago", felony_prison(D(2020, 3, 1), 2), NOT_ELIGIBLE,
       "State prison sentence", "state-prison"),
    _c("a felony surely within 4 years after the sentence", felony_prison(
        D(2010, 3, 1), 3, LATER_FELONY=D(2015, 1, 1), LATER_FELONY_POSSIBLE=D(2015, 1, 1)),
       NOT_ELIGIBLE, "State prison sentence", "state-prison"),
    _c("a felony surely after the 4 years", felony_prison(
        D(2010, 3, 1), 3, LATER_FELONY=D(2018, 1, 1), LATER_FELONY_POSSIBLE=D(2018, 1, 1),
        KNOWN_SENTENCE_END=D(2019, 1, 1)), DISMISSAL, PATH3, "path3-felony"),
    _c("a later conviction of unknown level within the 4 years", felony_prison(
        D(2010, 3, 1), 3, LATER_FELONY_POSSIBLE=D(2015, 1, 1)), REVIEW, "Incomplete date",
       "path3-felony"),
    _c("path III with an unknown sentence end", felony_prison(
        D(2010, 3, 1), 3, SENTENCE_END_CONCURRENT=None), REVIEW, "Sentence end unknown",
       "path3-felony"),
    _c("path III with a sentence end partial across the 4 years", felony_prison(
        D(2010, 3, 1), 3, SENTENCE_END_CONCURRENT=(D(2021, 1, 1), D(2021, 12, 31))), REVIEW,
       "Incomplete date", "path3-felony"),
    _c("path III, a fact-dependent serious felony", felony_prison(
        D(2010, 3, 1), 3, in_serious_felony=None), REVIEW, FACTS_REASON, "path3-felony"),
    _c("path III, a section not read", felony_prison(
        D(2010, 3, 1), 3, in_serious_felony=None, SECTION=None, SUBSECTION=None, CODE=None),
       REVIEW, "Incomplete code section", "path3-felony"),
    _c("path III, a violent felony is barred", felony_prison(
        D(2010, 3, 1), 3, in_violent_felony=True), NOT_ELIGIBLE, "State prison sentence",
       "state-prison"),
    _c("felony probation revoked, then served: path III", felony_probation(
        PROBATION_REVOKED=True, in_serious_felony=False, SECTION="11378", SUBSECTION="",
        CODE="HS"), DISMISSAL, PATH3, "path3-felony"),
    _c("a conviction whose level is not recorded", conviction_row(
        CONVICTION_FELONY=None), REVIEW, "Offense level not recorded", "path3-felony"),
    # Paths I and II and the open bars.
    _c("serious felony, probation completed", felony_probation(in_serious_felony=True), REVIEW,
       "Serious or violent felony (bar on paths I and II unconfirmed)",
       "serious-violent-review"),
    _c("serious felony, probation completed, bar chosen", felony_probation(
        in_serious_felony=True), NOT_ELIGIBLE, "Serious or violent felony",
       "serious-violent-bar", params={"serious_violent_bars_paths_I_II": "bar"}),
    _c("serious felony, probation completed, no bar", felony_probation(in_serious_felony=True),
       DISMISSAL, "Probation completed", "path1-probation-completed",
       params={"serious_violent_bars_paths_I_II": "no_bar"}),
    _c("PC 1203.4(b) offence on probation", conviction_row(
        PROBATION_GRANTED=True, PROBATION_END=D(2016, 6, 1), in_pc1203_4b=True), REVIEW,
       "PC 1203.4(b) offense (bar unconfirmed)", "pc1203-4b-review"),
    _c("PC 1203.4(b) offence on probation, bar chosen", conviction_row(
        PROBATION_GRANTED=True, PROBATION_END=D(2016, 6, 1), in_pc1203_4b=True), NOT_ELIGIBLE,
       "PC 1203.4(b) offense", "pc1203-4b-bar", params={"pc1203_4b_carveouts": "bar"}),
    _c("misdemeanor probation completed", conviction_row(
        PROBATION_GRANTED=True, PROBATION_END=D(2016, 6, 1)), DISMISSAL, "Probation completed",
       "path1-probation-completed"),
    _c("probation of unknown term", conviction_row(PROBATION_GRANTED=True), REVIEW,
       "Incomplete date", "path1-probation-completed"),
    _c("misdemeanor probation revoked", conviction_row(
        PROBATION_GRANTED=True, PROBATION_END=D(2016, 6, 1), PROBATION_REVOKED=True),
       NOT_ELIGIBLE, "No automatic path", "no-automatic-path"),
    _c("misdemeanor judged less than a year ago", conviction_row(
        CONVICTION_DATE=D(2024, 7, 1), SENTENCE_END_CONCURRENT=D(2024, 7, 11),
        KNOWN_SENTENCE_END=D(2024, 7, 11)), NOT_ELIGIBLE, "No automatic path",
       "no-automatic-path"),
    _c("misdemeanor judged exactly a year ago", conviction_row(
        CONVICTION_DATE=D(2024, 6, 30), SENTENCE_END_CONCURRENT=D(2024, 7, 10),
        KNOWN_SENTENCE_END=D(2024, 7, 10)), DISMISSAL, "Misdemeanor, 1 year since judgment",
       "path2-misdemeanor-1-year"),
    _c("not a candidate: a conviction of another county", conviction_row(
        TARGET_COUNTY="yolo"), None, None, None),
    _c("not a candidate: not a counted conviction", conviction_row(
        IS_COUNTED_CONVICTION=False), None, None, None),
    # PC 851.93.
    _a("misdemeanor arrest, no court action, over a year", cycle_row(), RELIEF,
       "Misdemeanor, 1 year, no conviction", "misdemeanor-1-year"),
    _a("arrest before 1973", cycle_row(ARREST_DATE=D(1970, 3, 1)), NOT_ELIGIBLE,
       "Before 1/1/1973", "before-1973"),
    _a("an arrest in a year across 1/1/1973", cycle_row(
        ARREST_DATE=(D(1972, 1, 1), D(1973, 12, 31))), REVIEW, "Incomplete date",
       "before-1973"),
    _a("a PC 290 registrant, bar chosen", cycle_row(PC290_REGISTRANT=True), NOT_ELIGIBLE,
       "PC 290 registrant", "pc290-registrant", params={"pc290_bars_arrest_relief": True}),
    _a("a PC 290 registrant, no bar", cycle_row(PC290_REGISTRANT=True), RELIEF,
       "Misdemeanor, 1 year, no conviction", "misdemeanor-1-year"),
    _a("diversion completed", felony_arrest(D(2024, 3, 1), 3, CYCLE_NO_COURT_ACTION=False,
       CYCLE_DIVERSION_COMPLETED=True), RELIEF, "Diversion completed", "diversion-completed"),
    _a("misdemeanor dismissed", cycle_row(
        ARREST_DATE=D(2025, 1, 1), CYCLE_NO_COURT_ACTION=False, CYCLE_DISMISSED=True), RELIEF,
       "Misdemeanor dismissed", "misdemeanor-dismissed"),
    _a("felony dismissed", felony_arrest(D(2024, 3, 1), 3, CYCLE_NO_COURT_ACTION=False,
       CYCLE_DISMISSED=True), REVIEW, "No automatic path", "no-automatic-path"),
    _a("felony dismissed, SB 834 on", felony_arrest(D(2024, 3, 1), 3,
       CYCLE_NO_COURT_ACTION=False, CYCLE_DISMISSED=True), RELIEF, "Charge dismissed",
       "charge-dismissed", params={"dismissed_any_offense_class": True}),
    _a("misdemeanor acquitted", cycle_row(
        CYCLE_NO_COURT_ACTION=False, CYCLE_ACQUITTED=True), RELIEF,
       "Misdemeanor, 1 year, no conviction", "misdemeanor-1-year"),
    _a("misdemeanor arrested exactly a year ago", cycle_row(ARREST_DATE=D(2024, 6, 30)),
       RELIEF, "Misdemeanor, 1 year, no conviction", "misdemeanor-1-year"),
    _a("misdemeanor arrested a day short of a year", cycle_row(ARREST_DATE=D(2024, 7, 1)),
       NOT_ELIGIBLE, "Waiting period (1 year) not elapsed", "misdemeanor-waiting"),
    _a("felony 8+ years, 6 years since arrest", felony_arrest(D(2015, 3, 1), 8), RELIEF,
       "Felony (8+ yr max), 6 years", "felony-8-year-max-6-years"),
    _a("felony under 8 years, 3 years since arrest", felony_arrest(D(2020, 3, 1), 4), RELIEF,
       "Felony, 3 years", "felony-3-years"),
    _a("felony not in the table, 6 years", felony_arrest(D(2015, 3, 1), None), RELIEF,
       "Felony, 6 years (either tier)", "felony-6-years-either-tier"),
    _a("felony not in the table, 4 years", felony_arrest(D(2021, 3, 1), None), REVIEW,
       "Maximum term not in table", "felony-tier-unknown"),
    _a("felony 8+ years, 4 years", felony_arrest(D(2021, 3, 1), 99), NOT_ELIGIBLE,
       "Waiting period (6 years) not elapsed", "felony-8-year-max-waiting"),
    _a("felony under 8 years, a year", felony_arrest(D(2024, 3, 1), 4), NOT_ELIGIBLE,
       "Waiting period (3 years) not elapsed", "felony-waiting"),
    _a("felony, one count's term known at 8, another not", felony_arrest(
        D(2020, 3, 1), 8, ARREST_MAX_TERM_KNOWN=False), REVIEW, "Maximum term not in table",
       "felony-tier-unknown"),
    _a("an infraction", cycle_row(ARREST_OFFENSE_CLASS="I"), REVIEW, "No automatic path",
       "no-automatic-path"),
    _a("offense level not recorded", cycle_row(ARREST_OFFENSE_CLASS=None), REVIEW,
       "Offense level at arrest not recorded", "misdemeanor-1-year"),
    _a("not a candidate: a conviction in the cycle", cycle_row(CYCLE_HAS_CONVICTION=True),
       None, None, None),
    _a("not a candidate: not the cycle's row", cycle_row(IS_ARREST_CYCLE_ROW=False),
       None, None, None),
]  # fmt: skip


@pytest.fixture(scope="module")
def inline_outcomes(spark, packs) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[tuple[str, Inline]]] = {}
    for number, case in enumerate(INLINE):
        groups.setdefault(case.group, []).append((f"S{number:03d}", case))
    found: dict[str, dict[str, Any]] = {}
    for members in groups.values():
        first = members[0][1]
        compiled = compile_law(packs.require(first.law), first.at, first.params)
        rows = [{SUBJECT: sid, COUNT_ORDER: "001002001000", **_by_name(c.facts)}
                for sid, c in members]  # fmt: skip
        decided = _decide(spark, compiled, rows)
        for sid, case in members:
            found[case.name] = decided[(sid, "001002001000")]
    return found


@pytest.mark.parametrize("case", INLINE, ids=[f"{c.law}: {c.name}" for c in INLINE])
def test_inline_facts_get_their_rule(case, inline_outcomes, packs):
    got = inline_outcomes[case.name]
    assert _outcome(case.law, got) == case.expected
    candidate = got[law_column(case.law, LAW_CANDIDATE)]
    assert candidate is (case.expected[0] is not None)
    if candidate:
        rules = {r.id: r for r in packs.require(case.law).decision_list(case.params).rules}
        assert got[law_column(case.law, CITATION)] == rules[case.expected[2]].citation
        assert got[law_column(case.law, DECISION_INPUTS)]
    else:
        assert got[law_column(case.law, CITATION)] is None
        assert got[law_column(case.law, DECISION_INPUTS)] is None


@pytest.mark.parametrize("law", [P1203, P851])
def test_inline_cases_reach_every_rule_of_every_parameter_reading(law, packs):
    pack = packs.require(law)
    ids = {r.id for r in pack.decision_list().rules}
    for name, parameter in pack.parameters.items():
        for reading in parameter.readings():
            ids |= {r.id for r in pack.decision_list({name: reading}).rules}
    assert ids - {c.expected[2] for c in INLINE if c.law == law} == set()


def test_decision_inputs_name_each_predicate_with_its_value(inline_outcomes):
    got = inline_outcomes["no Supervised Release File given"]
    inputs = got[law_column(P1203, DECISION_INPUTS)]
    assert inputs["supervised_release_active"] is None
    assert inputs["pc290_registrant"] is False
    assert inputs["convicted_on_or_after(date=1973-01-01)"] is True


def test_two_laws_on_one_frame_keep_their_own_columns(spark, packs):
    rows = [
        {SUBJECT: "X1", COUNT_ORDER: "001002001000", **_by_name(conviction_row())},
        {SUBJECT: "X1", COUNT_ORDER: "002001001000", **_by_name(cycle_row(CYCLE="002"))},
    ]
    schema = _schema()
    df = spark.createDataFrame([tuple(r.get(n) for n in schema.fieldNames()) for r in rows], schema)
    for law in (P1203, P851):
        df = apply_law(df, compile_law(packs.require(law), AT))
    got = {
        r[COUNT_ORDER]: r
        for r in df.select(
            COUNT_ORDER, *law_output_columns(P1203), *law_output_columns(P851)
        ).collect()
    }
    conviction, cycle = got["001002001000"], got["002001001000"]
    assert conviction["pc1203_425_determination"] == DISMISSAL
    assert conviction["pc851_93_determination"] is None
    assert cycle["pc851_93_determination"] == RELIEF
    assert cycle["pc851_93_citation"] == "PC 851.93(a)(2)(B)"
    assert cycle["pc1203_425_determination"] is None


def test_a_county_policy_pack_is_not_compiled_here(packs):
    with pytest.raises(ValueError, match="takes its decisions from conf/policies"):
        compile_law(packs.require("prop64"), AT)


def test_the_compiled_case_is_one_expression_per_law(packs):
    compiled = compile_law(packs.require(P1203), AT)
    assert compiled.outcome_sql.startswith("CASE") and compiled.outcome_sql.count("\nEND") == 1
    assert compiled.parameters["path3_start_date"] == dt.date(2005, 1, 1)
    assert compiled.column(DETERMINATION) == "pc1203_425_determination"


# --- the hand-made fixtures: facts computed, then decided by the compiled packs ------------


@pytest.fixture(scope="module")
def vocab(packs) -> ev.Vocabularies:
    assert packs.max_terms is not None
    return ev.Vocabularies(
        lists={name: [e.model_dump() for e in v.entries] for name, v in packs.vocabularies.items()},
        max_terms=[e.model_dump() for e in packs.max_terms.entries],
    )


FIXTURES = all_cases()


def _group(case: Case) -> str:
    params = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in case.params.items()}
    return json.dumps([case.law, params, case.at.isoformat()], sort_keys=True)


def _fixture_key(case: Case) -> tuple[str, str]:
    if case.law == P1203:
        return case.record.subject, case.key
    cycle_lines = [r for r in case.record.rows if r[ev.POS["CNT_ORDER"]].startswith(case.key)]
    arrest = [r for r in cycle_lines if r[ev.POS["STP_TYPE_DESCR"]] == ev.ARREST_STEP]
    return case.record.subject, arrest[0][ev.POS["CNT_ORDER"]]


@pytest.fixture(scope="module")
def fixture_outcomes(spark, packs, vocab) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Case]] = {}
    for case in FIXTURES:
        groups.setdefault(_group(case), []).append(case)
    found: dict[str, dict[str, Any]] = {}
    for members in groups.values():
        first = members[0]
        compiled = compile_law(packs.require(first.law), first.at, first.params)
        rows: list[dict[str, Any]] = []
        for case in members:
            srf = None if case.supervised_release is None else set(case.supervised_release)
            p1203 = case.params if case.law == P1203 else {}
            p851 = case.params if case.law == P851 else {}
            rows += fact_rows(case.record.rows, vocab, p1203, p851, srf)
        decided = _decide(spark, compiled, rows)
        for case in members:
            found[case.name] = decided[_fixture_key(case)]
    return found


def _evaluate(case: Case, vocab: ev.Vocabularies) -> ev.Decision | None:
    subject = ev.subjects_of(case.record.rows)[case.record.subject]
    if case.law == P1203:
        conviction = next(c for c in subject.convictions if c.key == case.key)
        srf = None if case.supervised_release is None else set(case.supervised_release)
        return ev.decide_1203_425(subject, conviction, case.at, vocab, case.params, srf)
    return ev.decide_851_93(subject, subject.cycles[case.key], case.at, vocab, case.params)


@pytest.mark.parametrize("case", FIXTURES, ids=[f"{c.law}: {c.name}" for c in FIXTURES])
def test_compiled_pack_agrees_with_the_fixture_and_the_evaluator(case, fixture_outcomes, vocab):
    got = _outcome(case.law, fixture_outcomes[case.name])
    assert got == (case.determination, case.reason, case.rule_id)
    evaluated = _evaluate(case, vocab)
    expected = (None, None, None) if evaluated is None else dataclasses.astuple(evaluated)
    assert got == expected
