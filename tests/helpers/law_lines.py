"""Raw extract lines to the pipeline's normalized lines, for the law tests (issue 23)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession

from relief.jobs.config import load_counties
from relief.jobs.config.offenses import load_offenses
from relief.transforms import columns as C
from relief.transforms.law_facts import FILE_ORDER, LAW_LINE_INPUTS
from relief.transforms.normalize import normalize

CONF_LAWS = Path(__file__).resolve().parents[2] / "conf" / "laws"


def ingested(spark: SparkSession, rows: Iterable[Sequence[str]]) -> DataFrame:
    """Raw 95-column lines as the ingest stage hands them to normalize."""
    kept = [(i, name) for i, name in enumerate(C.DOJ_COLUMNS) if name not in C.PII_COLUMNS]
    names = [C.stored_name(name) for _, name in kept]
    data = [
        (*(row[i] for i, _ in kept), f"fp-{n}", "extract.csv", n, 0)
        for n, row in enumerate(rows, start=1)
    ]
    schema = ", ".join(f"`{name}` string" for name in (*names, C.RECORD_ID, C.SOURCE_FILE))
    schema += f", `{C.SOURCE_LINE}` long, `{C.INPUT_INDEX}` int"
    return spark.createDataFrame(data, schema)


def normalized(spark: SparkSession, rows: Iterable[Sequence[str]]) -> DataFrame:
    return normalize(ingested(spark, rows), load_counties(), load_offenses())


def kernel_input(df: DataFrame) -> pa.Table:
    """The kernel's narrow lines, subject-sorted in file order (collected: a test)."""
    names = [name for name, _ in LAW_LINE_INPUTS]
    table = df.select(*names, *FILE_ORDER).toArrow()
    return table.sort_by([(C.SUBJECT, "ascending"), *((n, "ascending") for n in FILE_ORDER)])
