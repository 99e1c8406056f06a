"""Conservation per statewide law (docs/laws.md §7): every candidate line of a law is the
law's candidate row in its own county's table, or is counted with a reason.

The one reason: the line has no California county (an out-of-state agency, or a county
name that is not one of the 58): no county table holds it. Any other missing line is a
defect of the pipeline: the job stops before committing, as it does for Prop 64
(transforms/conservation.py). Pure DataFrame functions; the job collects only the counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from relief.transforms.columns import (
    CANDIDATE_LINE,
    COUNTY_SLUG,
    LAW_CANDIDATE,
    RECORD_ID,
    law_column,
)

REASON_NO_COUNTY = "no California county: the line's agency is out of state or unknown"
COUNT_COLUMNS = ("law", "candidate_lines", "in_tables", "unplaced_no_county", "missing")


def law_conservation(facts: DataFrame, table_rows: DataFrame, laws: Sequence[str]) -> DataFrame:
    """Per law, one row of COUNT_COLUMNS: the candidate lines of the facts pass (``facts``:
    one row per line, before the fan-out), how many are the law's candidate row in a county
    table (``table_rows``: after apply_law), how many have no county, and how many are
    missing (must be 0)."""
    out: DataFrame | None = None
    for law in laws:
        line = F.coalesce(F.col(law_column(law, CANDIDATE_LINE)), F.lit(False))
        lines = facts.where(line).select(RECORD_ID, COUNTY_SLUG)
        placed = (
            table_rows.where(F.coalesce(F.col(law_column(law, LAW_CANDIDATE)), F.lit(False)))
            .select(RECORD_ID)
            .distinct()
            .withColumn("_placed", F.lit(True))
        )
        joined = lines.join(placed, RECORD_ID, "left")
        placed_now = F.coalesce(F.col("_placed"), F.lit(False))
        counts = joined.agg(
            F.count(F.lit(1)).cast("long").alias("candidate_lines"),
            F.sum(placed_now.cast("long")).alias("in_tables"),
            F.sum((~placed_now & F.col(COUNTY_SLUG).isNull()).cast("long")).alias(
                "unplaced_no_county"
            ),
            F.sum((~placed_now & F.col(COUNTY_SLUG).isNotNull()).cast("long")).alias("missing"),
        ).select(F.lit(law).alias("law"), *[F.coalesce(F.col(c), F.lit(0)).alias(c)
                                           for c in COUNT_COLUMNS[1:]])  # fmt: skip
        out = counts if out is None else out.unionByName(counts)
    if out is None:
        raise ValueError("law_conservation needs at least one law")
    return out
