"""Per-law figures for the long-form summary table (docs/laws.md §7, "Readers").

The statewide law packs' figures go into the existing ``summary/`` table with the law as the
flow (``pc1203.425``, ``pc851.93``): no schema change, and the report's small-cell
suppression reads them as it reads the Prop 64 flows (jobs/audit/law_report.py). Per county
table, over the law's candidates in it:

- ``candidates``: the law's candidates;
- ``by_determination`` (key: determination);
- ``granted`` (key: ``new`` — granted by this run — or ``earlier``);
- ``by_reason`` (key: determination, key2: reason): Hand Review by reason, Not eligible by
  reason, and the granting reasons;
- ``by_rule`` (key: rule id).

A count of zero has no row (readers read a missing row as 0), as transforms/summary.py.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from relief.transforms.columns import (
    DETERMINATION,
    LAW_CANDIDATE,
    LAW_GRANT,
    REASON,
    RULE_ID,
    law_column,
)
from relief.transforms.summary import SUMMARY_COLUMNS, _counted, _entry

CANDIDATES = "candidates"
BY_DETERMINATION = "by_determination"
GRANTED = "granted"
BY_REASON = "by_reason"
BY_RULE = "by_rule"
LAW_METRICS: tuple[str, ...] = (CANDIDATES, BY_DETERMINATION, GRANTED, BY_REASON, BY_RULE)


def law_figures(annotated: DataFrame, law: str) -> DataFrame:
    """The law's figures for every county table in ``annotated`` (SUMMARY_COLUMNS)."""
    column = law_column
    candidates = annotated.where(F.coalesce(F.col(column(law, LAW_CANDIDATE)), F.lit(False)))
    determination = F.col(column(law, DETERMINATION))
    entries = [
        _entry(law, CANDIDATES),
        _entry(law, BY_DETERMINATION, determination),
        _entry(law, BY_REASON, determination, F.col(column(law, REASON))),
        _entry(law, BY_RULE, F.col(column(law, RULE_ID))),
    ]
    if column(law, LAW_GRANT) in annotated.columns:
        grant = F.col(column(law, LAW_GRANT))
        entries.append(F.when(grant.isNotNull(), _entry(law, GRANTED, grant)))
        counted = _counted(
            candidates.withColumn(
                "_entries", F.filter(F.array(*entries), lambda e: e.isNotNull())
            ).withColumn("_one", F.explode("_entries")),
            [F.col("_one")],
        )
    else:
        counted = _counted(candidates, entries)
    return counted.select(*SUMMARY_COLUMNS)


def laws_summary(annotated: DataFrame, laws: list[str]) -> DataFrame | None:
    """The figures of every statewide law of the run (None: the run ran none)."""
    figures = [law_figures(annotated, law) for law in laws]
    if not figures:
        return None
    out = figures[0]
    for more in figures[1:]:
        out = out.unionByName(more)
    return out
