"""County figures (DOMAIN.md §5) on a handful of annotated rows."""

from __future__ import annotations

import datetime as dt

from pyspark.sql.types import BooleanType, DateType, StringType, StructField, StructType

from relief.transforms import columns as c
from relief.transforms.summary import county_summary

D = dt.date
DISMISS, REDUCE, HAND = "Eligible for Dismissal", "Eligible for Reduction", "Hand Review"
SCHEMA = StructType(
    [
        StructField(c.TARGET_COUNTY, StringType()),
        StructField(c.SUBJECT, StringType()),
        StructField(c.RACE, StringType()),
        StructField(c.IS_COUNTED_CONVICTION, BooleanType()),
        StructField(c.IS_CANDIDATE, BooleanType()),
        StructField(c.IS_FELONY, BooleanType()),
        StructField(c.SECTION, StringType()),
        StructField(c.CONVICTION_DATE, DateType()),
        StructField(c.DETERMINATION, StringType()),
        StructField(c.REASON, StringType()),
        StructField(c.DISMISS_ALL_P64, StringType()),
        StructField(c.DISMISS_ALL_P64_RELATED, StringType()),
    ]
)


def cand(subject, section, felony, date, det, reason, race="WHITE", county="fresno"):
    return (county, subject, race, True, True, felony, section, date, det, reason, DISMISS, DISMISS)


def other(subject, felony, date, race="WHITE", county="fresno", related=None):
    return (county, subject, race, True, False, felony, "459", date, None, None, None, related)


def figures(spark, rows, compute_at=D(2026, 1, 1)):
    df = spark.createDataFrame(rows, SCHEMA)
    out = county_summary(df, compute_at).collect()
    return {
        (r["county"], r["flow"], r["metric"], r["key"], r["key2"]): (r["value"], r["text"])
        for r in out
    }


def test_conviction_and_subject_figures_for_policy_and_dismiss_all(spark):
    rows = [
        # A: felony 11359 reduced, misdemeanor 11357 dismissed -> no felony, still a conviction
        cand("A", "11359", True, D(2010, 5, 1), REDUCE, "Reduce all HS 11359 convictions"),
        cand("A", "11357", False, D(2012, 1, 1), DISMISS, "Misdemeanor or Infraction"),
        # B: felony 11360 hand review + an old non-P64 felony; a recent P64 dismissed
        cand(
            "B",
            "11360",
            True,
            D(2008, 1, 1),
            HAND,
            "No applicable eligibility criteria",
            race="BLACK",
        ),
        other("B", True, D(1999, 1, 1), race="BLACK"),
        cand(
            "B", "11357", False, D(2021, 1, 1), DISMISS, "Misdemeanor or Infraction", race="BLACK"
        ),
        # C: only P64, dismissed under the age rule
        cand("C", "11358", True, D(2001, 1, 1), DISMISS, "50 years or older", race=None),
        ("fresno", "C", None, False, False, None, None, None, None, None, None, None),
    ]
    f = figures(spark, rows)
    P = ("fresno", "policy")
    assert f[(*P, "rows", "", "")] == (7, None)
    assert f[(*P, "earliest_prop64_conviction", "", "")] == (None, "2001-01-01")
    assert f[(*P, "prop64_convictions_by_section", "11357", "")][0] == 2
    assert f[(*P, "prop64_convictions_by_section", "11359", "")][0] == 1
    assert f[(*P, "prop64_convictions_by_felony", "felony", "")][0] == 3
    assert f[(*P, "prop64_convictions_by_felony", "non-felony", "")][0] == 2
    assert f[(*P, "subjects_with_prop64_conviction", "", "")][0] == 3
    assert f[(*P, "convictions_by_reason", DISMISS, "Misdemeanor or Infraction")][0] == 2
    assert f[(*P, "subjects_some_relief", "", "")][0] == 3
    assert f[(*P, "subjects_no_felony", "", "")][0] == 2  # A and C; B keeps two felonies
    assert f[(*P, "subjects_no_conviction", "", "")][0] == 1  # C
    # last 7 years before 2026-01-01: only B's 2021 conviction -> dismissed
    assert f[(*P, "subjects_no_conviction_last_7_years", "", "")][0] == 1
    assert f[(*P, "subjects_by_race", "UNKNOWN", "")][0] == 1
    assert f[(*P, "convictions_by_race", "BLACK", HAND)][0] == 1
    ALL = ("fresno", "dismiss_all_prop64")
    assert f[(*ALL, "convictions_by_determination", DISMISS, "")][0] == 5
    assert f[(*ALL, "subjects_no_felony", "", "")][0] == 2  # B's 1999 felony remains
    assert f[(*ALL, "subjects_no_conviction", "", "")][0] == 2  # A and C
