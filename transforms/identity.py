"""A natural key per row, stable across extracts (column ``row_key``).

``record_id`` (input fingerprint + line number) names a line of one file: the same conviction
in next month's extract gets another one. ``row_key`` names the line by what DOJ keys it by:
the subject (trimmed SUBJECT_ID), the count (trimmed CNT_ORDER) and, as several lines may
share both (a conviction and its sentence parts), the line's ordinal among them in file order
(input index, then line number), from 1. A line without a CNT_ORDER is keyed by its ordinal
among the subject's lines without one.

Format: ``<subject>|<count order>|<n>``, with an empty part for a blank subject or count.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from relief.transforms.columns import COUNT_ORDER, INPUT_INDEX, ROW_KEY, SOURCE_LINE, SUBJECT

SEPARATOR = "|"


def row_key(subject: Column, count_order: Column, ordinal: Column) -> Column:
    return F.concat_ws(
        SEPARATOR,
        F.coalesce(subject, F.lit("")),
        F.coalesce(count_order, F.lit("")),
        ordinal.cast("string"),
    )


def with_row_key(df: DataFrame) -> DataFrame:
    """Add ROW_KEY to normalized rows (needs SUBJECT, COUNT_ORDER, INPUT_INDEX, SOURCE_LINE).

    One window by (subject, count order): on rows already partitioned by subject (after the
    history windows) it adds a sort and no shuffle.
    """
    by_count = Window.partitionBy(SUBJECT, COUNT_ORDER).orderBy(INPUT_INDEX, SOURCE_LINE)
    ordinal = F.row_number().over(by_count)
    return df.withColumn(ROW_KEY, row_key(F.col(SUBJECT), F.col(COUNT_ORDER), ordinal))
