"""Per-county figures (DOMAIN.md §5) from the annotated county rows, in long form.

One output row per (county, flow, metric, key, key2) with an integer ``value`` (and a
``text`` for dates). A count of zero has no row: readers treat a missing row as 0.
Flows: ``policy`` (the county's policy), ``dismiss_all_prop64`` and
``dismiss_all_prop64_related`` (the comparison flows). The job appends these rows, tagged
with the run, to ``<warehouse>/summary``; the report and the gogen summary.json read them.

Definitions (DOMAIN §5): a conviction is a deduplicated conviction row; "in the county" is
the conviction's county; subject-level figures look at the subject's convictions in every
county (the county table holds the subject's whole history), where only the county's own
Prop 64 convictions carry a determination. The 7-year window is measured at compute-at on
the conviction date (its earliest possible day for a partial date).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from relief.transforms import summary_names as names
from relief.transforms.columns import (
    CONVICTION_DATE,
    DETERMINATION,
    DISMISS_ALL_P64,
    DISMISS_ALL_P64_RELATED,
    IS_CANDIDATE,
    IS_COUNTED_CONVICTION,
    IS_FELONY,
    RACE,
    REASON,
    SECTION,
    SUBJECT,
    TARGET_COUNTY,
)

DISMISSAL = "Eligible for Dismissal"
REDUCTION = "Eligible for Reduction"
FLOWS: dict[str, str] = {
    names.POLICY: DETERMINATION,
    names.DISMISS_ALL: DISMISS_ALL_P64,
    names.DISMISS_ALL_RELATED: DISMISS_ALL_P64_RELATED,
}
SUMMARY_COLUMNS = ("county", "flow", "metric", "key", "key2", "value", "text")
UNKNOWN_RACE = "UNKNOWN"


def _entry(flow: str, metric: str, key: Column | str = "", key2: Column | str = "") -> Column:
    def text(v: Column | str) -> Column:
        return F.coalesce((v if isinstance(v, Column) else F.lit(v)).cast("string"), F.lit(""))

    return F.struct(
        F.lit(flow).alias("flow"),
        F.lit(metric).alias("metric"),
        text(key).alias("key"),
        text(key2).alias("key2"),
    )


def _counted(df: DataFrame, entries: list[Column], distinct: str | None = None) -> DataFrame:
    """One pass: every row contributes to each entry; count rows (or distinct ``distinct``)."""
    value = F.countDistinct(distinct) if distinct else F.count(F.lit(1))
    return (
        df.select(
            F.col(TARGET_COUNTY).alias("county"),
            F.explode(F.array(*entries)).alias("_e"),
            *([F.col(distinct)] if distinct else []),
        )
        .groupBy("county", "_e.flow", "_e.metric", "_e.key", "_e.key2")
        .agg(value.cast("long").alias("value"))
        .withColumn("text", F.lit(None).cast("string"))
    )


def _race() -> Column:
    return F.coalesce(F.upper(F.trim(F.col(RACE))), F.lit(UNKNOWN_RACE))


def table_figures(annotated: DataFrame) -> DataFrame:
    """Rows in each county table and its earliest Prop 64 conviction date."""
    return (
        annotated.groupBy(F.col(TARGET_COUNTY).alias("county"))
        .agg(
            F.count(F.lit(1)).cast("long").alias("_rows"),
            F.min(F.when(F.col(IS_CANDIDATE), F.col(CONVICTION_DATE))).alias("_earliest"),
        )
        .select(
            "county",
            F.explode(
                F.array(
                    F.struct(
                        F.lit(names.ROWS).alias("metric"),
                        F.col("_rows").alias("value"),
                        F.lit(None).cast("string").alias("text"),
                    ),
                    F.struct(
                        F.lit(names.EARLIEST).alias("metric"),
                        F.lit(None).cast("long").alias("value"),
                        F.date_format("_earliest", "yyyy-MM-dd").alias("text"),
                    ),
                )
            ).alias("_e"),
        )
        .select(
            "county",
            F.lit(names.POLICY).alias("flow"),
            "_e.metric",
            F.lit("").alias("key"),
            F.lit("").alias("key2"),
            "_e.value",
            "_e.text",
        )
    )


def conviction_figures(annotated: DataFrame) -> DataFrame:
    """Figures over the county's Prop 64 convictions (the candidates)."""
    cands = annotated.where(F.col(IS_CANDIDATE))
    felony = F.when(F.col(IS_FELONY), "felony").otherwise("non-felony")
    per_conviction = [
        _entry(names.POLICY, names.BY_SECTION, F.col(SECTION)),
        _entry(names.POLICY, names.BY_FELONY, felony),
        _entry(names.POLICY, names.BY_YEAR, F.year(F.col(CONVICTION_DATE))),
        _entry(names.POLICY, names.BY_RACE, _race(), F.col(DETERMINATION)),
        _entry(names.POLICY, names.BY_REASON, F.col(DETERMINATION), F.col(REASON)),
        *[_entry(flow, names.BY_DETERMINATION, F.col(column)) for flow, column in FLOWS.items()],
    ]
    per_subject = [
        _entry(names.POLICY, names.SUBJECTS),
        _entry(names.POLICY, names.SUBJECTS_BY_RACE, _race()),
    ]
    return _counted(cands, per_conviction).unionByName(
        _counted(cands, per_subject, distinct=SUBJECT)
    )


# The outcome metrics without their "subjects_" prefix.
SUBJECT_METRICS = tuple(m.removeprefix("subjects_") for m in names.SUBJECT_OUTCOMES)


def subject_figures(annotated: DataFrame, compute_at: dt.date) -> DataFrame:
    """Per flow: subjects with some relief, and who no longer has a felony / any conviction /
    a conviction in the last 7 years (DOMAIN §5), overall and by race."""
    cutoff = F.add_months(F.lit(compute_at), -12 * 7)
    recent = F.coalesce(F.col(CONVICTION_DATE) > cutoff, F.lit(False))
    felony = F.coalesce(F.col(IS_FELONY), F.lit(False))
    aggregates = [F.max(_race()).alias("_race")]
    for flow, column in FLOWS.items():
        d = F.col(column)
        dismissed = F.coalesce(d == DISMISSAL, F.lit(False))
        relieved = F.coalesce(d.isin(DISMISSAL, REDUCTION), F.lit(False))
        outcomes = {
            names.SOME_RELIEF: F.max(F.col(IS_CANDIDATE) & relieved),
            names.NO_FELONY: F.max(felony) & F.min(~felony | relieved),
            names.NO_CONVICTION: F.min(dismissed),
            names.NO_RECENT: F.max(recent) & F.min(~recent | dismissed),
        }
        aggregates += [value.alias(f"{flow}__{metric}") for metric, value in outcomes.items()]
    per_subject = (
        annotated.where(F.col(IS_COUNTED_CONVICTION))
        .groupBy(TARGET_COUNTY, SUBJECT)
        .agg(*aggregates)
    )
    entries = []
    for flow in FLOWS:
        for metric in names.SUBJECT_OUTCOMES:
            hit = F.col(f"{flow}__{metric}")
            entries.append(F.when(hit, _entry(flow, metric)))
            by_race = metric + names.BY_RACE_SUFFIX
            entries.append(F.when(hit, _entry(flow, by_race, F.col("_race"))))
    return _counted(
        per_subject.withColumn("_entries", F.filter(F.array(*entries), lambda e: e.isNotNull()))
        .withColumn("_one", F.explode("_entries"))
        .drop("_entries"),
        [F.col("_one")],
    )


def county_summary(annotated: DataFrame, compute_at: dt.date) -> DataFrame:
    """All figures for every county in ``annotated`` (rows of the county tables)."""
    return (
        table_figures(annotated)
        .unionByName(conviction_figures(annotated))
        .unionByName(subject_figures(annotated, compute_at))
        .select(*SUMMARY_COLUMNS)
    )
