"""Conservation, part two: every kept Prop 64 conviction line of a California county is in
that county's table, or is counted with a reason.

Part one (rows read = kept + quarantined) is counted by the job. Part two follows the kept
rows through normalize, history, fan-out and the county filter: a line normalize marks as a
conviction (is_conviction) of a Prop 64 charge (is_prop64) in one of the 58 counties
(county_slug) must reach the table of that county. The reasons a line may not:

- its SUBJECT_ID is blank: no person, so no history holds it (ingest quarantines these; a
  line that still gets here is counted);
- it is a sentence part: an earlier conviction line with the same SUBJECT_ID and CNT_ORDER
  is the count's conviction (DOMAIN.md §1) and is not a Prop 64 conviction of this county,
  so the subject has no Prop 64 conviction there.

Any other missing line is a defect of the pipeline: the job stops before committing.

Pure DataFrame functions; the job collects only counts.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from relief.transforms.columns import (
    COUNT_ORDER,
    COUNTY_SLUG,
    INPUT_INDEX,
    IS_CONVICTION,
    IS_PROP64,
    RECORD_ID,
    SOURCE_LINE,
    SUBJECT,
    SUBJECT_ID,
    TARGET_COUNTY,
)
from relief.transforms.normalize import may_be_prop64_conviction, normalize
from relief.transforms.offenses import Offenses
from relief.transforms.vocabulary import Counties

REASON_BLANK_SUBJECT = "blank SUBJECT_ID: the line names no person, so no subject history holds it"
REASON_SENTENCE_PART = (
    "sentence part: an earlier conviction line with the same SUBJECT_ID and CNT_ORDER is the "
    "count's conviction, and it is not a Prop 64 conviction of this county"
)
PLACED = "_placed"
UNPLACED_REASON = "_unplaced_reason"
LINE_COLUMNS = (RECORD_ID, COUNTY_SLUG, SUBJECT, COUNT_ORDER, INPUT_INDEX, SOURCE_LINE)


def _p64_conviction_in_county() -> Column:
    return (
        F.coalesce(F.col(IS_CONVICTION), F.lit(False))
        & F.coalesce(F.col(IS_PROP64), F.lit(False))
        & F.col(COUNTY_SLUG).isNotNull()
    )


def prop64_conviction_lines(
    kept: DataFrame,
    counties: Counties,
    offenses: Offenses,
    targets: list[str] | None = None,
) -> DataFrame:
    """Kept rows that normalize marks as Prop 64 convictions of a California county (of the
    ``targets`` only, when given): LINE_COLUMNS.

    Only rows normalize's cheap screen keeps are normalized: it is true on every such row
    (transforms/normalize.py, may_be_prop64_conviction).
    """
    screened = kept.where(may_be_prop64_conviction(counties, offenses))
    lines = normalize(screened, counties, offenses).where(_p64_conviction_in_county())
    if targets is not None:
        lines = lines.where(F.col(COUNTY_SLUG).isin(targets))
    return lines.select(*LINE_COLUMNS)


def placed_lines(table_rows: DataFrame) -> DataFrame:
    """Rows of the staged county tables (with TARGET_COUNTY) that are Prop 64 conviction
    lines of their own table's county: what :func:`prop64_conviction_lines` should find
    there. Every one is also such a line of the kept rows (the same normalize made both), so
    the two agree exactly when their counts per county agree."""
    return table_rows.where(
        _p64_conviction_in_county() & (F.col(COUNTY_SLUG) == F.col(TARGET_COUNTY))
    )


def with_placed(lines: DataFrame, table_rows: DataFrame) -> DataFrame:
    """PLACED: true when the line is a row of its own county's table (``table_rows``: the
    staged county tables, with TARGET_COUNTY)."""
    placed = (
        table_rows.where(F.col(TARGET_COUNTY) == F.col(COUNTY_SLUG))
        .select(RECORD_ID, F.col(TARGET_COUNTY).alias(COUNTY_SLUG))
        .distinct()
        .withColumn(PLACED, F.lit(True))
    )
    return lines.join(placed, [RECORD_ID, COUNTY_SLUG], "left").withColumn(
        PLACED, F.coalesce(F.col(PLACED), F.lit(False))
    )


def subjects_rows(kept: DataFrame, subjects: DataFrame) -> DataFrame:
    """Kept rows of the subjects in ``subjects`` (one column SUBJECT; small: broadcast)."""
    wanted = subjects.select(F.col(SUBJECT).alias("_wanted")).distinct()
    return kept.join(
        F.broadcast(wanted), F.trim(F.col(SUBJECT_ID)) == F.col("_wanted"), "left_semi"
    )


def with_unplaced_reason(
    unplaced: DataFrame, subject_rows: DataFrame, counties: Counties, offenses: Offenses
) -> DataFrame:
    """UNPLACED_REASON of each unplaced line (LINE_COLUMNS); null: no reason explains it.

    ``subject_rows``: the kept rows of the unplaced lines' subjects (:func:`subjects_rows`).
    """
    earlier = (
        normalize(subject_rows, counties, offenses)
        .where(F.coalesce(F.col(IS_CONVICTION), F.lit(False)) & F.col(COUNT_ORDER).isNotNull())
        .select(
            F.col(SUBJECT).alias("_s"),
            F.col(COUNT_ORDER).alias("_c"),
            F.struct(F.col(INPUT_INDEX), F.col(SOURCE_LINE)).alias("_first"),
        )
        .groupBy("_s", "_c")
        .agg(F.min("_first").alias("_first"))
    )
    joined = unplaced.join(
        earlier,
        (F.col(SUBJECT) == F.col("_s")) & (F.col(COUNT_ORDER) == F.col("_c")),
        "left",
    )
    order = F.struct(F.col(INPUT_INDEX), F.col(SOURCE_LINE))
    reason = (
        F.when(F.col(SUBJECT).isNull(), F.lit(REASON_BLANK_SUBJECT))
        .when(F.col("_first").isNotNull() & (F.col("_first") < order), F.lit(REASON_SENTENCE_PART))
        .otherwise(F.lit(None).cast("string"))
    )
    return joined.withColumn(UNPLACED_REASON, reason).drop("_s", "_c", "_first")
