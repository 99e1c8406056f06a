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

from relief.transforms.columns import (
    CASE_NUMBERS,
    CODE_SECTION_TEXT,
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
    IS_ENHANCEABLE_OFFENSE,
    IS_GANG_ENHANCEMENT,
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
    SUBJECT_ID,
    SUPERSTRIKE_SECTIONS,
    TARGET_COUNTY,
    UNKNOWN_SENTENCE_END,
    date_latest,
    date_partial,
)
from relief.transforms.identity import with_row_key
from relief.transforms.normalize import doj_field, may_be_prop64_conviction
from relief.transforms.offenses import Offenses
from relief.transforms.vocabulary import Counties

# One shuffle, one sort, two window operators: the rows are hash-partitioned by subject
# once; the per-CNT_ORDER window (subject, count key) computes which line is the conviction
# and its summed sentence parts, and ONE per-subject window operator computes every
# per-subject fact. Spark puts all window expressions over the same spec that one
# projection holds into one Window operator, and each Window operator buffers and copies
# every row of the group: so every column of a level is built as an expression in one
# ``withColumns`` call (a fact derived from other facts repeats their window expressions
# instead of reading their columns, which would need another operator). Per-cycle facts
# (case numbers) and per-conviction facts (prior same-section convictions) are read from
# per-subject arrays instead of a third window spec. Window specs are built per call:
# PySpark 4 needs an active session to build them.
_COUNT_KEY = "_count_key"
_FIRST_CONVICTION = "_first_conviction"
_MONTHS = "_count_months"
_DAYS = "_count_days"
_PC290_DATE = "_pc290_date"
_PC290_DATE_LATEST = "_pc290_date_latest"
_SUPERSTRIKE = "_superstrike"  # IS_SUPERSTRIKE, or paired across the counts of its case
_SUPERSTRIKE_TEXT = "_superstrike_text"  # its text in the superstrike cell
_TEMPORARY = (
    _COUNT_KEY,
    _FIRST_CONVICTION,
    _MONTHS,
    _DAYS,
    _PC290_DATE,
    _PC290_DATE_LATEST,
    _SUPERSTRIKE,
    _SUPERSTRIKE_TEXT,
)


def _by_subject() -> WindowSpec:
    return Window.partitionBy(SUBJECT)


def _by_count() -> WindowSpec:
    """Lines sharing a CNT_ORDER: one conviction and its sentence parts."""
    return Window.partitionBy(SUBJECT, _COUNT_KEY)


def _file_order() -> Column:
    return F.struct(F.col(INPUT_INDEX), F.col(SOURCE_LINE))


def _counted() -> Column:
    return F.col(IS_COUNTED_CONVICTION)


# --- level 1: per CNT_ORDER ------------------------------------------------------------------


def with_count_key(df: DataFrame) -> DataFrame:
    """Subject's rows in one partition; a line without a CNT_ORDER stands alone."""
    return df.repartition(SUBJECT).withColumn(
        _COUNT_KEY, F.coalesce(F.col(COUNT_ORDER), F.col(RECORD_ID))
    )


def with_count_facts(df: DataFrame) -> DataFrame:
    """Per CNT_ORDER (one window operator): its first conviction line, summed sentence parts."""
    by_count = _by_count()
    return df.withColumns(
        {
            _FIRST_CONVICTION: F.min(F.when(F.col(IS_CONVICTION), _file_order())).over(by_count),
            _MONTHS: F.sum(F.coalesce(F.col(SENTENCE_MONTHS), F.lit(0))).over(by_count),
            _DAYS: F.sum(F.coalesce(F.col(SENTENCE_DAYS), F.lit(0))).over(by_count),
        }
    )


def with_counted_conviction(df: DataFrame) -> DataFrame:
    """The first conviction line of each CNT_ORDER is the conviction; later ones are parts.

    Its sentence ends on its date plus all parts of its CNT_ORDER. Needs with_count_facts.
    """
    counted = F.coalesce(F.col(IS_CONVICTION), F.lit(False)) & (
        _file_order() == F.col(_FIRST_CONVICTION)
    )

    def end(date_col: str) -> Column:
        return F.when(
            _counted(),
            F.date_add(
                F.add_months(F.col(date_col), F.col(_MONTHS).cast("int")),
                F.col(_DAYS).cast("int"),
            ),
        )

    registration = F.col(IS_PC290_REGISTRATION)
    # A PC 290 offence is dated by its conviction; a registration by its step's date.
    registration_only = registration & ~_counted()
    return df.withColumn(IS_COUNTED_CONVICTION, counted).withColumns(
        {
            SENTENCE_END: end(CONVICTION_DATE),
            date_latest(SENTENCE_END): end(date_latest(CONVICTION_DATE)),
            _PC290_DATE: F.when(registration_only, F.col(EVENT_DATE)).otherwise(
                F.col(CONVICTION_DATE)
            ),
            _PC290_DATE_LATEST: F.when(registration_only, F.col(date_latest(EVENT_DATE))).otherwise(
                F.col(date_latest(CONVICTION_DATE))
            ),
        }
    )


# --- level 2: per subject (expressions over one window spec) ---------------------------------


def _case_numbers(by_subject: WindowSpec) -> Column:
    """Distinct OFNs of the subject's COURT ACTION lines with the same cycle+step, in the
    order they first occur in the input, joined with "; " (DOMAIN.md §1, §6)."""
    ofn = F.trim(doj_field(OFN))
    court_ofns = F.collect_list(
        F.when(
            F.col(IS_COURT_ACTION) & ofn.isNotNull(),
            F.struct(
                _file_order().alias("order"), F.col(CYCLE_STEP).alias("step"), ofn.alias("ofn")
            ),
        )
    ).over(by_subject)
    mine = F.array_sort(F.filter(court_ofns, lambda x: x["step"] == F.col(CYCLE_STEP)))
    # array_distinct keeps the first occurrence of each value, in array order.
    numbers = F.array_distinct(F.transform(mine, lambda x: x["ofn"]))
    return F.when(F.size(numbers) > 0, F.concat_ws("; ", numbers))


def _sections_joined(flag: str, by_subject: WindowSpec, text: str = CODE_SECTION_TEXT) -> Column:
    """The code-section text of each of the subject's convictions with ``flag``, in input
    order, repeats kept, joined with ";": the reference tool's cell (DOMAIN.md §6)."""
    convictions = F.array_sort(
        F.collect_list(
            F.when(
                _counted() & F.col(flag),
                F.struct(_file_order().alias("order"), F.col(text).alias("text")),
            )
        ).over(by_subject)
    )
    texts = F.transform(convictions, lambda x: x["text"])
    return F.when(F.size(texts) > 0, F.concat_ws(";", texts))


def _min_or_unknown(condition: Column, date_col: str, by_subject: WindowSpec) -> Column:
    """Earliest of the dates where ``condition`` holds; null if any such date is unknown."""
    has_unknown = F.max(condition & F.col(date_col).isNull()).over(by_subject)
    earliest = F.min(F.when(condition, F.col(date_col))).over(by_subject)
    return F.when(~F.coalesce(has_unknown, F.lit(False)), earliest)


def _conviction_counts(by_subject: WindowSpec) -> dict[str, Column]:
    counted_p64 = _counted() & F.col(IS_PROP64)
    convictions = F.sum(_counted().cast("int")).over(by_subject)
    prop64 = F.sum(counted_p64.cast("int")).over(by_subject)
    counts = {CONVICTION_COUNT: convictions, PROP64_COUNT: prop64}
    for section in PROP64_SECTIONS:
        counts[f"count_{section}"] = F.sum(
            (counted_p64 & (F.col(SECTION) == section)).cast("int")
        ).over(by_subject)
    counts[ONLY_PROP64] = (convictions > 0) & (convictions == prop64)
    return counts


def _last_conviction(by_subject: WindowSpec) -> dict[str, Column]:
    """Most recent conviction: max of earliest days, max of latest days (null if any unknown)."""
    has_unknown = F.max(_counted() & F.col(CONVICTION_DATE).isNull()).over(by_subject)
    earliest = F.max(F.when(_counted(), F.col(CONVICTION_DATE))).over(by_subject)
    latest = F.when(
        ~has_unknown,
        F.max(F.when(_counted(), F.col(date_latest(CONVICTION_DATE)))).over(by_subject),
    )
    return {
        LAST_CONVICTION: earliest,
        date_latest(LAST_CONVICTION): latest,
        date_partial(LAST_CONVICTION): earliest != latest,
    }


def with_superstrike_pairs(df: DataFrame) -> DataFrame:
    """Superstrikes paired across the counts of one case (DOMAIN.md §2): a counted conviction
    of an offence the gang enhancement makes a superstrike (136.1 PC ...) is one when another
    counted conviction of the same case (the first six characters of CNT_ORDER: cycle +
    step) is the enhancement, 186.22(b)(4) PC: the enhancement is recorded as its own count.
    Adds the temporary _SUPERSTRIKE (either kind) and _SUPERSTRIKE_TEXT (the cell's text:
    ``136.1 PC + 186.22(B)(4) PC``, offence first). Needs with_counted_conviction."""
    by_case = Window.partitionBy(SUBJECT, CYCLE_STEP)
    enhancements = F.array_sort(
        F.collect_list(
            F.when(
                _counted() & F.col(IS_GANG_ENHANCEMENT),
                F.struct(_file_order().alias("order"), F.col(CODE_SECTION_TEXT).alias("text")),
            )
        ).over(by_case)
    )
    paired = (
        _counted()
        & F.col(IS_ENHANCEABLE_OFFENSE)
        & ~F.col(IS_SUPERSTRIKE)
        & F.col(CYCLE_STEP).isNotNull()
        & (F.size(enhancements) > 0)
    )
    return df.withColumns(
        {
            _SUPERSTRIKE: F.col(IS_SUPERSTRIKE) | paired,
            _SUPERSTRIKE_TEXT: F.when(
                paired,
                F.concat_ws(" + ", F.col(CODE_SECTION_TEXT), enhancements[0]["text"]),
            ).otherwise(F.col(CODE_SECTION_TEXT)),
        }
    )


def _flags_and_sections(by_subject: WindowSpec) -> dict[str, Column]:
    registration = F.col(IS_PC290_REGISTRATION)
    pc290 = (_counted() & F.col(IS_PC290_OFFENSE)) | registration
    superstrike = _counted() & F.col(_SUPERSTRIKE)
    return {
        DECEASED: F.max(F.col(IS_DECEASED_STEP)).over(by_subject),
        PC290_REGISTRATION: F.max(registration).over(by_subject),
        PC290_SECTIONS: _sections_joined(IS_PC290_OFFENSE, by_subject),
        SUPERSTRIKE_SECTIONS: _sections_joined(_SUPERSTRIKE, by_subject, _SUPERSTRIKE_TEXT),
        EARLIEST_PC290: _min_or_unknown(pc290, _PC290_DATE, by_subject),
        date_latest(EARLIEST_PC290): _min_or_unknown(pc290, _PC290_DATE_LATEST, by_subject),
        EARLIEST_SUPERSTRIKE: _min_or_unknown(superstrike, CONVICTION_DATE, by_subject),
        date_latest(EARLIEST_SUPERSTRIKE): _min_or_unknown(
            superstrike, date_latest(CONVICTION_DATE), by_subject
        ),
    }


def _sentence_facts(by_subject: WindowSpec) -> dict[str, Column]:
    return {
        LATEST_SENTENCE_END: F.max(F.when(_counted(), F.col(SENTENCE_END))).over(by_subject),
        date_latest(LATEST_SENTENCE_END): F.max(
            F.when(_counted(), F.col(date_latest(SENTENCE_END)))
        ).over(by_subject),
        UNKNOWN_SENTENCE_END: F.coalesce(
            F.max(_counted() & F.col(date_latest(SENTENCE_END)).isNull()).over(by_subject),
            F.lit(False),
        ),
    }


def _prior_same_section(by_subject: WindowSpec) -> dict[str, Column]:
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
    ).over(by_subject)
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
    return {
        PRIOR_SAME_SECTION: F.when(is_p64, definite),
        PRIOR_SAME_SECTION_POSSIBLE: F.when(is_p64, possible),
    }


def _prop64_counties(by_subject: WindowSpec) -> Column:
    """Counties (slugs) where the subject has a Prop 64 conviction: their tables get the subject."""
    slug = F.when(_counted() & F.col(IS_PROP64), F.col(COUNTY_SLUG))
    return F.array_sort(F.collect_set(slug).over(by_subject))


def with_subject_facts(df: DataFrame) -> DataFrame:
    """Every per-subject column, in one window operator. Needs with_counted_conviction."""
    by_subject = _by_subject()
    return df.withColumns(
        {
            CASE_NUMBERS: _case_numbers(by_subject),
            **_conviction_counts(by_subject),
            **_last_conviction(by_subject),
            **_flags_and_sections(by_subject),
            **_sentence_facts(by_subject),
            **_prior_same_section(by_subject),
            P64_COUNTIES: _prop64_counties(by_subject),
        }
    )


def prop64_subject_rows(raw: DataFrame, counties: Counties, offenses: Offenses) -> DataFrame:
    """Raw rows (before normalize) of subjects that may have a Prop 64 conviction in a
    California county: the only subjects a county table can hold.

    Screened with normalize's cheap ``may_be_prop64_conviction`` (a superset), so the costly
    normalization and the history windows run on these rows only; subjects screened in
    without a Prop 64 conviction leave at fan_out_to_counties. The subject list is small
    next to the rows (a broadcast semi-join).
    """
    subject = F.trim(F.col(SUBJECT_ID))
    subjects = (
        raw.where(may_be_prop64_conviction(counties, offenses) & (subject != ""))
        .select(subject.alias(SUBJECT))
        .distinct()
    )
    return raw.join(F.broadcast(subjects), subject == subjects[SUBJECT], "left_semi")


def subject_history(df: DataFrame) -> DataFrame:
    """All history columns of transforms/columns.py, in dependency order."""
    return (
        df.transform(with_count_key)
        .transform(with_count_facts)
        .transform(with_counted_conviction)
        .transform(with_superstrike_pairs)
        .transform(with_subject_facts)
        .drop(*_TEMPORARY)
    )


def fan_out_to_counties(df: DataFrame) -> DataFrame:
    """One copy of every row of a subject per county where the subject has a P64 conviction.

    Subjects without a Prop 64 conviction in a California county drop out here: no county
    table holds them (DESIGN.md, one table per county).
    """
    return df.withColumn(TARGET_COUNTY, F.explode(F.col(P64_COUNTIES))).drop(P64_COUNTIES)


# Every column subject_history and with_row_key read: the history is computed on these alone.
HISTORY_INPUTS = (
    SUBJECT,
    RECORD_ID,
    INPUT_INDEX,
    SOURCE_LINE,
    COUNT_ORDER,
    OFN,
    CYCLE_STEP,
    COUNTY_SLUG,
    SECTION,
    CODE_SECTION_TEXT,
    CONVICTION_DATE,
    date_latest(CONVICTION_DATE),
    EVENT_DATE,
    date_latest(EVENT_DATE),
    SENTENCE_MONTHS,
    SENTENCE_DAYS,
    IS_CONVICTION,
    IS_COURT_ACTION,
    IS_DECEASED_STEP,
    IS_PC290_OFFENSE,
    IS_PC290_REGISTRATION,
    IS_PROP64,
    IS_SUPERSTRIKE,
    IS_ENHANCEABLE_OFFENSE,
    IS_GANG_ENHANCEMENT,
)
# A line of the run: (input file, physical line) is unique among kept rows.
_LINE_KEY = (INPUT_INDEX, SOURCE_LINE)


def history_by_line(normalized: DataFrame) -> DataFrame:
    """Normalized rows with the history columns, the row key and P64_COUNTIES, computed on
    the few columns they need and joined back to the whole rows once.

    The same values as ``subject_history`` then ``with_row_key`` on the whole rows, for a
    fraction of the cost: the window operators buffer and copy every row of a subject,
    ~170 columns wide in the normalized rows and ~25 here. Rows of subjects with no Prop 64
    conviction in a California county (an empty P64_COUNTIES) are left out: no county table
    holds them (fan_out_to_counties would drop them).
    """
    narrow = normalized.select(*HISTORY_INPUTS)
    facts = subject_history(narrow).transform(with_row_key)
    added = [name for name in facts.columns if name not in narrow.columns]
    facts = facts.where(F.size(F.col(P64_COUNTIES)) > 0).select(*_LINE_KEY, *added)
    joined = normalized.join(facts, list(_LINE_KEY), "inner")
    return joined.select(*normalized.columns, *added)


def history_facts(normalized: DataFrame) -> DataFrame:
    """Narrow normalized rows (the few raw columns the transform reads, normalized) with the
    history columns, the row key and P64_COUNTIES, computed in place: the rows are already
    narrow, so no join back. Rows of subjects with no Prop 64 conviction in a California
    county (an empty P64_COUNTIES) are left out: no county table holds them."""
    facts = subject_history(normalized).transform(with_row_key)
    return facts.where(F.size(F.col(P64_COUNTIES)) > 0)
