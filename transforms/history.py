"""Subject history (DOMAIN.md §3): per-conviction and per-subject facts by window functions.

Input: normalized rows (transforms/normalize.py). Output: the same rows with the history
columns of transforms/columns.py added — per-row facts on the deduplicated conviction rows,
per-subject facts on every row of the subject. Everything is computed over windows
partitioned by subject (one shuffle), never by collecting a subject to the driver.

Dates are intervals: a column <d> is the earliest possible day and <d>_latest the latest
(transforms/normalize.py). Facts derived from several dates keep both bounds, so the
eligibility engine can tell a definite answer from one a partial date leaves open.

Sentence end (DOMAIN §1): conviction date + the sentence parts of every line with the same
CNT_ORDER, summed as calendar months then days: add_months(date, sum(months)) + sum(days),
where a year is 12 months. A conviction without any sentence part ends on its date.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window, WindowSpec
from pyspark.sql import functions as F

from transforms.columns import (
    CASE_NUMBERS,
    CODE_SECTION,
    CONVICTION_COUNT,
    CONVICTION_DATE,
    COUNT_ORDER,
    COUNTY_SLUG,
    CYCLE_STEP,
    DECEASED,
    EARLIEST_PC290,
    EARLIEST_SUPERSTRIKE,
    EVENT_DATE,
    INPUT_INDEX,
    IS_CONVICTION,
    IS_COUNTED_CONVICTION,
    IS_COURT_ACTION,
    IS_DECEASED_STEP,
    IS_PC290_OFFENSE,
    IS_PC290_REGISTRATION,
    IS_PROP64,
    IS_SUPERSTRIKE,
    LAST_CONVICTION,
    LATEST_SENTENCE_END,
    OFN,
    ONLY_PROP64,
    P64_COUNTIES,
    PC290_REGISTRATION,
    PC290_SECTIONS,
    PRIOR_SAME_SECTION,
    PRIOR_SAME_SECTION_POSSIBLE,
    PROP64_COUNT,
    PROP64_SECTIONS,
    RECORD_ID,
    SECTION,
    SENTENCE_DAYS,
    SENTENCE_END,
    SENTENCE_MONTHS,
    SOURCE_LINE,
    SUBJECT,
    SUPERSTRIKE_SECTIONS,
    TARGET_COUNTY,
    UNKNOWN_SENTENCE_END,
    date_latest,
    date_partial,
)

# One shuffle, one sort: the rows are hash-partitioned by subject once; the CNT_ORDER windows
# (subject, count key) sort them, and every per-subject window reuses that order. Per-cycle
# facts (case numbers) are read from per-subject arrays instead of a third window spec.
# Window specs are built per call: PySpark 4 needs an active session to build them.
_COUNT_KEY = "_count_key"


def _by_subject() -> WindowSpec:
    return Window.partitionBy(SUBJECT)


def _by_count() -> WindowSpec:
    """Lines sharing a CNT_ORDER: one conviction and its sentence parts."""
    return Window.partitionBy(SUBJECT, _COUNT_KEY)


def _file_order() -> tuple[Column, Column]:
    return (F.col(INPUT_INDEX), F.col(SOURCE_LINE))


def with_count_key(df: DataFrame) -> DataFrame:
    """Subject's rows in one partition; a line without a CNT_ORDER stands alone."""
    return df.repartition(SUBJECT).withColumn(
        _COUNT_KEY, F.coalesce(F.col(COUNT_ORDER), F.col(RECORD_ID))
    )


def _counted() -> Column:
    return F.col(IS_COUNTED_CONVICTION)


def with_counted_conviction(df: DataFrame) -> DataFrame:
    """The first conviction line of each CNT_ORDER is the conviction; later ones are parts."""
    first_conviction = F.min(F.when(F.col(IS_CONVICTION), F.struct(*_file_order()))).over(
        _by_count()
    )
    return df.withColumn(
        IS_COUNTED_CONVICTION,
        F.coalesce(F.col(IS_CONVICTION), F.lit(False))
        & (F.struct(*_file_order()) == first_conviction),
    )


def with_sentence_end(df: DataFrame) -> DataFrame:
    """Sentence end of each counted conviction: its date plus all parts of its CNT_ORDER."""
    months = F.sum(F.coalesce(F.col(SENTENCE_MONTHS), F.lit(0))).over(_by_count())
    days = F.sum(F.coalesce(F.col(SENTENCE_DAYS), F.lit(0))).over(_by_count())

    def end(date_col: str) -> Column:
        return F.when(
            _counted(),
            F.date_add(F.add_months(F.col(date_col), months.cast("int")), days.cast("int")),
        )

    return df.withColumn(SENTENCE_END, end(CONVICTION_DATE)).withColumn(
        date_latest(SENTENCE_END), end(date_latest(CONVICTION_DATE))
    )


def with_case_numbers(df: DataFrame) -> DataFrame:
    """Distinct OFNs of the subject's COURT ACTION lines with the same cycle+step."""
    ofn = F.trim(F.col(OFN))
    court_ofns = F.collect_set(
        F.when(
            F.col(IS_COURT_ACTION) & (ofn != ""),
            F.struct(F.col(CYCLE_STEP).alias("step"), ofn.alias("ofn")),
        )
    ).over(_by_subject())
    mine = F.transform(
        F.filter(court_ofns, lambda x: x["step"] == F.col(CYCLE_STEP)), lambda x: x["ofn"]
    )
    numbers = F.array_sort(F.array_distinct(mine))
    return df.withColumn(CASE_NUMBERS, F.when(F.size(numbers) > 0, F.concat_ws("; ", numbers)))


def _sections_joined(flag: str) -> Column:
    sections = F.array_sort(
        F.collect_set(F.when(_counted() & F.col(flag), F.col(CODE_SECTION))).over(_by_subject())
    )
    return F.when(F.size(sections) > 0, F.concat_ws("; ", sections))


def _min_or_unknown(condition: Column, date_col: str) -> Column:
    """Earliest of the dates where ``condition`` holds; null if any such date is unknown."""
    has_unknown = F.max(condition & F.col(date_col).isNull()).over(_by_subject())
    earliest = F.min(F.when(condition, F.col(date_col))).over(_by_subject())
    return F.when(~F.coalesce(has_unknown, F.lit(False)), earliest)


def with_conviction_counts(df: DataFrame) -> DataFrame:
    counted_p64 = _counted() & F.col(IS_PROP64)
    df = df.withColumn(
        CONVICTION_COUNT, F.sum(_counted().cast("int")).over(_by_subject())
    ).withColumn(PROP64_COUNT, F.sum(counted_p64.cast("int")).over(_by_subject()))
    for section in PROP64_SECTIONS:
        df = df.withColumn(
            f"count_{section}",
            F.sum((counted_p64 & (F.col(SECTION) == section)).cast("int")).over(_by_subject()),
        )
    return df.withColumn(
        ONLY_PROP64,
        (F.col(CONVICTION_COUNT) > 0) & (F.col(CONVICTION_COUNT) == F.col(PROP64_COUNT)),
    )


def with_last_conviction(df: DataFrame) -> DataFrame:
    """Most recent conviction: max of earliest days, max of latest days (null if any unknown)."""
    has_unknown = F.max(_counted() & F.col(CONVICTION_DATE).isNull()).over(_by_subject())
    earliest = F.max(F.when(_counted(), F.col(CONVICTION_DATE))).over(_by_subject())
    latest = F.max(F.when(_counted(), F.col(date_latest(CONVICTION_DATE)))).over(_by_subject())
    return (
        df.withColumn(LAST_CONVICTION, earliest)
        .withColumn(date_latest(LAST_CONVICTION), F.when(~has_unknown, latest))
        .withColumn(
            date_partial(LAST_CONVICTION),
            F.col(LAST_CONVICTION) != F.col(date_latest(LAST_CONVICTION)),
        )
    )


def with_flags_and_sections(df: DataFrame) -> DataFrame:
    registration = F.col(IS_PC290_REGISTRATION)
    pc290 = (_counted() & F.col(IS_PC290_OFFENSE)) | registration
    superstrike = _counted() & F.col(IS_SUPERSTRIKE)
    # A PC 290 offence is dated by its conviction; a registration by its step's date.
    pc290_date = F.when(registration & ~_counted(), F.col(EVENT_DATE)).otherwise(
        F.col(CONVICTION_DATE)
    )
    pc290_date_latest = F.when(
        registration & ~_counted(), F.col(date_latest(EVENT_DATE))
    ).otherwise(F.col(date_latest(CONVICTION_DATE)))
    return (
        df.withColumn(DECEASED, F.max(F.col(IS_DECEASED_STEP)).over(_by_subject()))
        .withColumn(PC290_REGISTRATION, F.max(registration).over(_by_subject()))
        .withColumn(PC290_SECTIONS, _sections_joined(IS_PC290_OFFENSE))
        .withColumn(SUPERSTRIKE_SECTIONS, _sections_joined(IS_SUPERSTRIKE))
        .withColumn("_pc290_date", pc290_date)
        .withColumn("_pc290_date_latest", pc290_date_latest)
        .withColumn(EARLIEST_PC290, _min_or_unknown(pc290, "_pc290_date"))
        .withColumn(date_latest(EARLIEST_PC290), _min_or_unknown(pc290, "_pc290_date_latest"))
        .withColumn(EARLIEST_SUPERSTRIKE, _min_or_unknown(superstrike, CONVICTION_DATE))
        .withColumn(
            date_latest(EARLIEST_SUPERSTRIKE),
            _min_or_unknown(superstrike, date_latest(CONVICTION_DATE)),
        )
        .drop("_pc290_date", "_pc290_date_latest")
    )


def with_sentence_facts(df: DataFrame) -> DataFrame:
    return (
        df.withColumn(
            LATEST_SENTENCE_END,
            F.max(F.when(_counted(), F.col(SENTENCE_END))).over(_by_subject()),
        )
        .withColumn(
            date_latest(LATEST_SENTENCE_END),
            F.max(F.when(_counted(), F.col(date_latest(SENTENCE_END)))).over(_by_subject()),
        )
        .withColumn(
            UNKNOWN_SENTENCE_END,
            F.coalesce(
                F.max(_counted() & F.col(date_latest(SENTENCE_END)).isNull()).over(_by_subject()),
                F.lit(False),
            ),
        )
    )


def with_prior_same_section(df: DataFrame) -> DataFrame:
    """Earlier Prop 64 convictions of the same section: definite count and upper bound."""
    p64 = F.collect_list(
        F.when(
            _counted() & F.col(IS_PROP64),
            F.struct(
                F.col(RECORD_ID).alias("id"),
                F.col(SECTION).alias("section"),
                F.col(CONVICTION_DATE).alias("earliest"),
                F.col(date_latest(CONVICTION_DATE)).alias("latest"),
            ),
        )
    ).over(_by_subject())
    others = F.filter(
        p64, lambda x: (x["section"] == F.col(SECTION)) & (x["id"] != F.col(RECORD_ID))
    )
    definite = F.size(F.filter(others, lambda x: x["latest"] < F.col(CONVICTION_DATE)))
    # Possibly earlier unless it is definitely on or after this one's latest day.
    latest_day = F.col(date_latest(CONVICTION_DATE))
    possible = F.size(
        F.filter(
            others,
            lambda x: ~F.coalesce(x["earliest"] >= latest_day, F.lit(False)),
        )
    )
    is_p64 = _counted() & F.col(IS_PROP64)
    return df.withColumn(PRIOR_SAME_SECTION, F.when(is_p64, definite)).withColumn(
        PRIOR_SAME_SECTION_POSSIBLE, F.when(is_p64, possible)
    )


def with_prop64_counties(df: DataFrame) -> DataFrame:
    """Counties (slugs) where the subject has a Prop 64 conviction: their tables get the subject."""
    slug = F.when(_counted() & F.col(IS_PROP64), F.col(COUNTY_SLUG))
    return df.withColumn(P64_COUNTIES, F.array_sort(F.collect_set(slug).over(_by_subject())))


def only_prop64_subjects(df: DataFrame) -> DataFrame:
    """Rows of subjects with a Prop 64 conviction line in a California county.

    Only they reach a county table, so the history windows skip everyone else. The subject
    list is small (a broadcast semi-join); a superset of the subjects fan_out_to_counties
    keeps, since it looks at every conviction line, not only the deduplicated ones.
    """
    subjects = (
        df.where(
            F.coalesce(F.col(IS_CONVICTION), F.lit(False))
            & F.col(IS_PROP64)
            & F.col(COUNTY_SLUG).isNotNull()
        )
        .select(SUBJECT)
        .distinct()
    )
    return df.join(F.broadcast(subjects), SUBJECT, "left_semi")


def subject_history(df: DataFrame) -> DataFrame:
    """All history columns of transforms/columns.py, in dependency order."""
    return (
        df.transform(with_count_key)
        .transform(with_counted_conviction)
        .transform(with_sentence_end)
        .transform(with_case_numbers)
        .transform(with_conviction_counts)
        .transform(with_last_conviction)
        .transform(with_flags_and_sections)
        .transform(with_sentence_facts)
        .transform(with_prior_same_section)
        .transform(with_prop64_counties)
        .drop(_COUNT_KEY)
    )


def fan_out_to_counties(df: DataFrame) -> DataFrame:
    """One copy of every row of a subject per county where the subject has a P64 conviction.

    Subjects without a Prop 64 conviction in a California county drop out here: no county
    table holds them (DESIGN.md, one table per county).
    """
    return df.withColumn(TARGET_COUNTY, F.explode(F.col(P64_COUNTIES))).drop(P64_COUNTIES)
