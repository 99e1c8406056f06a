"""decide_laws (transforms/law_pipeline.py): Prop 64 and the statewide packs on one run.

The §7 parity: in a run with all three laws, every row Prop 64 puts in a table has the Prop
64 columns of the Prop 64-only run, value for value; the statewide laws add their tables
and column groups beside them.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F

from relief.jobs.config.laws import load_law_packs
from relief.jobs.config.policies import load_policies
from relief.transforms import columns as C
from relief.transforms.eligibility import apply_policies
from relief.transforms.history import fan_out_to_counties, history_by_line, subject_history
from relief.transforms.identity import with_row_key
from relief.transforms.law_conservation import law_conservation
from relief.transforms.law_eligibility import compile_law
from relief.transforms.law_facts import law_fact_settings, with_law_facts
from relief.transforms.law_pipeline import decide_laws
from tests import law_fixtures as fx
from tests.helpers.law_lines import CONF_LAWS, normalized
from tests.law_evaluator import POS

AT = dt.date(2025, 6, 30)
LAWS = ("pc1203.425", "pc851.93")
PROP64_COLUMNS = (
    C.IS_CANDIDATE,
    C.DETERMINATION,
    C.REASON,
    C.RULE_ID,
    C.DISMISS_ALL_P64,
    C.DISMISS_ALL_P64_RELATED,
    C.DECISION_INPUTS,
)


def prop64_subject() -> list[list[str]]:
    """A Prop 64 misdemeanor in Sacramento (2015) and an arrest without one in Fresno."""
    record = (
        fx.Record("P64A")
        .arrest(1, "20150301", ("11357(B) HS-POSSESS MARIJUANA", "M"))
        .court(1, "20150301", "11357(B) HS-POSSESS MARIJUANA", "M", "CONVICTED-FINE",
               ("FINE", 0, ""))
        .arrest(2, "20190301", ("647(F) PC-DISORDERLY CONDUCT", "M"))
    )  # fmt: skip
    for row in record.rows:
        if row[POS["CNT_ORDER"]].startswith("002"):
            row[POS["STP_ORI_CNTY_NAME"]] = "FRESNO"
    return record.rows


def _p64(row) -> tuple:
    return tuple(
        dict(row[name]) if name == C.DECISION_INPUTS and row[name] is not None else row[name]
        for name in PROP64_COLUMNS
    )


def test_prop64_columns_equal_the_prop64_only_run_and_the_laws_add_their_tables(spark):
    cases = {c.record.subject: c for c in fx.all_cases()}
    rows = prop64_subject() + cases["C122"].record.rows + cases["A209"].record.rows
    lines = normalized(spark, rows).cache()
    policies = load_policies()
    alone = apply_policies(
        fan_out_to_counties(history_by_line(lines)), policies.by_county, policies.default, AT
    )
    expected = {(r[C.RECORD_ID], r[C.TARGET_COUNTY]): _p64(r) for r in alone.collect()}
    assert {target for _, target in expected} == {"sacramento"}
    packs = load_law_packs(CONF_LAWS)
    earlier = spark.createDataFrame(
        [], "law string, row_key string, run_id string, compute_at date"
    )
    decided = decide_laws(
        with_row_key(subject_history(lines)),
        [compile_law(packs.require(law), AT) for law in LAWS],
        law_fact_settings(packs, supervised_release=()),
        earlier,
        "r1",
        AT,
        (policies.by_county, policies.default),
    ).cache()
    got = decided.collect()
    prop64_rows = {
        (r[C.RECORD_ID], r[C.TARGET_COUNTY]): _p64(r) for r in got if "prop64" in r[C.TABLE_LAWS]
    }
    assert prop64_rows == expected
    tables = {(r[C.SUBJECT], r[C.TARGET_COUNTY], tuple(r[C.TABLE_LAWS])) for r in got}
    assert tables == {
        ("P64A", "sacramento", ("prop64", "pc1203.425")),
        ("P64A", "fresno", ("pc851.93",)),
        ("C122", "sacramento", ("pc1203.425",)),
        ("A209", "sacramento", ("pc851.93",)),
    }
    granted = decided.where(F.col("pc851_93_grant") == "new").select(C.SUBJECT, C.TARGET_COUNTY)
    assert sorted(map(tuple, granted.collect())) == [("A209", "sacramento"), ("P64A", "fresno")]
    p64_1203 = [
        r["pc1203_425_rule_id"] for r in got if r[C.SUBJECT] == "P64A" and r["pc1203_425_candidate"]
    ]
    # The Fresno arrest has no disposition: a pending charge for the Prop 64 conviction.
    assert p64_1203 == ["pending-charge"]
    # Conservation per law: every candidate line is in its county's table.
    facts = with_law_facts(with_row_key(subject_history(lines)), law_fact_settings(packs))
    counts = {r["law"]: r.asDict() for r in law_conservation(facts, decided, LAWS).collect()}
    assert counts["pc1203.425"] == {"law": "pc1203.425", "candidate_lines": 2, "in_tables": 2,
                                    "unplaced_no_county": 0, "missing": 0}  # fmt: skip
    assert counts["pc851.93"]["candidate_lines"] == counts["pc851.93"]["in_tables"] == 2
    # A candidate line out of state is counted, not lost.
    out_of_state = facts.withColumn(
        C.COUNTY_SLUG, F.when(F.col(C.SUBJECT) == "A209", None).otherwise(F.col(C.COUNTY_SLUG))
    )
    missing = decided.where(F.col(C.SUBJECT) != "A209")
    counts = {r["law"]: r.asDict() for r in law_conservation(out_of_state, missing, LAWS).collect()}
    assert (counts["pc851.93"]["unplaced_no_county"], counts["pc851.93"]["missing"]) == (1, 0)
    lost = decided.where(F.col(C.SUBJECT) != "C122")
    counts = {r["law"]: r.asDict() for r in law_conservation(facts, lost, LAWS).collect()}
    assert counts["pc1203.425"]["missing"] == 1
