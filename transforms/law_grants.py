"""Grants of the statewide law packs across monthly runs (docs/laws.md §7), on Spark.

A record granted once is never granted again. :func:`with_grants` joins a law's decided
county rows with the earlier grants (the grants table at its published version, reduced to
the earliest grant per (law, row_key) of runs with an earlier compute-at:
jobs/warehouse/grants.py) and adds ``<law>_grant``: ``earlier`` on a candidate an earlier
run granted, ``new`` on a candidate this run grants for the first time, null elsewhere, and
``<law>_granted_run``, the run that first granted it. Today's determination stays as the
record says now (audit sees it); an earlier grant is not counted or listed again.
:func:`new_grants` gives the rows this run appends to the grants table.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from relief.transforms.columns import (
    CITATION,
    COUNTY_SLUG,
    DETERMINATION,
    LAW_CANDIDATE,
    LAW_GRANT,
    LAW_GRANTED_RUN,
    ROW_KEY,
    RULE_ID,
    SUBJECT,
    TARGET_COUNTY,
    law_column,
)
from relief.transforms.policy import Determination

NEW, EARLIER = "new", "earlier"

# The determination that grants relief, per statewide law.
GRANTING: dict[str, str] = {
    "pc1203.425": Determination.DISMISSAL.value,
    "pc851.93": Determination.ARREST_RELIEF.value,
}

# The grants table's columns (jobs/warehouse/grants.py GRANTS_SCHEMA), in order.
GRANT_COLUMNS: tuple[str, ...] = (
    "law",
    "row_key",
    "subject",
    "county",
    "rule_id",
    "citation",
    "determination",
    "run_id",
    "compute_at",
)
_EARLIER_RUN = "_earlier_grant_run"


def grant_columns(law: str) -> list[str]:
    """The columns :func:`with_grants` adds, in order."""
    return [law_column(law, LAW_GRANT), law_column(law, LAW_GRANTED_RUN)]


def with_grants(df: DataFrame, law: str, earlier: DataFrame, run_id: str) -> DataFrame:
    """``<law>_grant`` and ``<law>_granted_run`` on the law's decided rows (module docstring).

    ``earlier``: (law, row_key, run_id, compute_at), at most one row per (law, row_key)
    (grants.earliest_grants)."""
    if law not in GRANTING:
        raise ValueError(f"{law}: only the statewide law packs grant ({', '.join(GRANTING)})")
    mine = earlier.where(F.col("law") == law).select(
        F.col("row_key").alias(ROW_KEY), F.col("run_id").alias(_EARLIER_RUN)
    )
    candidate = F.coalesce(F.col(law_column(law, LAW_CANDIDATE)), F.lit(False))
    granted = F.col(law_column(law, DETERMINATION)) == GRANTING[law]
    before = F.col(_EARLIER_RUN)
    joined = df.join(mine, ROW_KEY, "left")
    return joined.withColumns(
        {
            law_column(law, LAW_GRANT): F.when(candidate & before.isNotNull(), F.lit(EARLIER)).when(
                candidate & granted, F.lit(NEW)
            ),
            law_column(law, LAW_GRANTED_RUN): F.when(candidate & before.isNotNull(), before).when(
                candidate & granted, F.lit(run_id)
            ),
        }
    ).select(*df.columns, *grant_columns(law))


def new_grants(df: DataFrame, law: str, run_id: str, compute_at: dt.date) -> DataFrame:
    """The rows this run appends to the grants table: its ``new`` grants of ``law``. Every
    column nullable, as the table's schema (a literal alone would be non-nullable)."""
    grant = F.col(law_column(law, LAW_GRANT))

    def nullable(value: Column) -> Column:
        return F.when(grant.isNotNull(), value)

    return df.where(grant == NEW).select(
        nullable(F.lit(law)).alias("law"),
        F.col(ROW_KEY).alias("row_key"),
        F.col(SUBJECT).alias("subject"),
        F.coalesce(F.col(TARGET_COUNTY), F.col(COUNTY_SLUG)).alias("county"),
        F.col(law_column(law, RULE_ID)).alias("rule_id"),
        F.col(law_column(law, CITATION)).alias("citation"),
        F.col(law_column(law, DETERMINATION)).alias("determination"),
        nullable(F.lit(run_id)).alias("run_id"),
        nullable(F.lit(compute_at).cast("date")).alias("compute_at"),
    )
