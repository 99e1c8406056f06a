"""Which county tables hold a subject when the statewide law packs run (docs/laws.md §7).

One row per (line, county table), as for Prop 64: a subject's whole history goes to every
county where it has a candidate of a law the run decides — a Prop 64 conviction's county
(P64_COUNTIES, transforms/history.py), a PC 1203.425 conviction's county, a PC 851.93 arrest
cycle's county (the candidate line's ``county_slug``; a line with no California county puts
the subject in no table). ``table_laws`` lists, per row, the laws whose candidates put the
subject in that table: what ``county pull --law`` selects.

Used only when a run decides a statewide law: a Prop 64-only run keeps
``fan_out_to_counties`` and its tables exactly (no ``table_laws`` column).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from relief.transforms.columns import (
    CANDIDATE_LINE,
    COUNTY_SLUG,
    P64_COUNTIES,
    SUBJECT,
    TABLE_LAWS,
    TARGET_COUNTY,
    law_column,
)

PROP64 = "prop64"
_SETS = "_law_counties_{}"


def fan_out_with_laws(df: DataFrame, laws: Sequence[str]) -> DataFrame:
    """Rows of every subject, once per county table (module docstring), with TARGET_COUNTY
    and TABLE_LAWS; P64_COUNTIES (when present) is read and dropped as fan_out_to_counties
    does. ``laws``: the statewide laws of the run (their candidate flags must be on ``df``)."""
    by_subject = Window.partitionBy(SUBJECT)
    sets = {
        law: F.array_sort(
            F.collect_set(
                F.when(F.coalesce(F.col(law_column(law, CANDIDATE_LINE)), F.lit(False)),
                       F.col(COUNTY_SLUG))
            ).over(by_subject)
        )
        for law in laws
    }  # fmt: skip
    names = {law: _SETS.format(i) for i, law in enumerate(laws)}
    prop64 = (
        F.coalesce(F.col(P64_COUNTIES), F.array().cast("array<string>"))
        if P64_COUNTIES in df.columns
        else F.array().cast("array<string>")
    )
    with_sets = df.withColumns({names[law]: value for law, value in sets.items()}).withColumn(
        "_p64_counties", prop64
    )
    tables = F.col("_p64_counties")
    for law in laws:
        tables = F.array_union(tables, F.col(names[law]))
    target = F.col(TARGET_COUNTY)
    members = [F.when(F.array_contains(F.col("_p64_counties"), target), F.lit(PROP64))]
    members += [F.when(F.array_contains(F.col(names[law]), target), F.lit(law)) for law in laws]
    dropped = [*names.values(), "_p64_counties"]
    if P64_COUNTIES in df.columns:
        dropped.append(P64_COUNTIES)
    return (
        with_sets.withColumn(TARGET_COUNTY, F.explode(F.array_sort(tables)))
        .withColumn(TABLE_LAWS, F.filter(F.array(*members), lambda law: law.isNotNull()))
        .drop(*dropped)
    )
