"""Normalization of the raw DOJ rows (DOMAIN.md §1-2): typed, trimmed, flagged.

Input: the ingest output — every DOJ column of ``columns.KEPT_DOJ_COLUMNS`` as the string the
file held (not trimmed), plus ``record_id``, ``source_file``, ``source_line``, ``input_index``.
Output: the same rows and columns, plus exactly :data:`ADDED_COLUMNS`, in that order.

Every added name differs from the DOJ's names in more than case (Spark and Delta compare
names case-insensitively); :func:`normalize` checks that before adding anything.

Conventions:

- Trimmed text columns are null when blank.
- Dates (DOB, event, disposition, conviction): ``<d>`` is the earliest possible day,
  ``<d>_latest`` the latest possible day and ``<d>_partial`` whether the DOJ sent a partial
  date. ``YYYYMMDD`` is that day; ``YYYYMM00`` the first / last day of the month and
  ``YYYY0000`` 1 January / 31 December, both partial; blank or unparseable text (wrong
  length, month 13, 30 February, ``YYYY00DD``, year 0000) gives three nulls. A partial date
  is never treated as unknown.
- The conviction date exists only on conviction rows: the disposition date, or the step's
  event date when DISP_DATE is blank (a non-blank but unparseable DISP_DATE stays unknown).
- Offences: the code-section text is ``OFFENSE_DESCR`` before its first ``-``, or
  ``COMMENT_TEXT`` the same way when ``OFFENSE_DESCR`` is blank or ``SEE COMMENT FOR CHARGE``.
  It is parsed into section (``11357``, ``288a``, ``667.61``), subsection path (``(c)``,
  ``(a)(1)``, ``""``), code (``HS``; ``H&S``, ``H & S`` and conf/offenses.yaml aliases
  normalised) and a canonical ``code_section`` (``11357(c) HS``). ``664/<section>``
  (attempt) and ``182/<section>`` (conspiracy, DOMAIN §2) parse as the target section with
  the prefix kept in ``code_section`` (``664/11359 HS``); ``attempted`` is true for 664 only.
  Text that does not parse keeps its row, with section, subsection, code and code_section
  null. The flags (Prop 64, related, superstrike, PC 290) are compiled from
  conf/offenses.yaml by :func:`any_rule_condition`; every boolean added here is non-null
  except ``is_felony``, which is null on rows that are not convictions.
- Sentences: ``sentence_months`` and ``sentence_days`` hold one sentence part as calendar
  units. ``SENT_TIME_CODE`` Y gives (12*N months, 0 days), M gives (N, 0), D gives (0, N);
  a blank or unknown code, or a length that is not a whole number from 0 to 999999, gives
  (null, null). The history stage computes a part's end as
  ``date_add(add_months(conviction_date, sentence_months), sentence_days)``: calendar
  months and years (DOMAIN §1 allows any consistent calendar arithmetic), not fixed 365.25-
  day years; ``add_months`` clamps to the month's last day (31 Jan + 1 month = 28/29 Feb).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import reduce
from operator import or_

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from transforms import columns as C
from transforms.offenses import Offenses, SectionRule
from transforms.vocabulary import Counties


class StepType(StrEnum):
    """STP_TYPE_DESCR values the pipeline acts on (DOMAIN.md §1)."""

    ARREST = "ARREST/DETAINED/CITED"
    COURT_ACTION = "COURT ACTION"
    REGISTRATION = "REGISTRATION"
    DECEASED = "DECEASED"


def date_column_names(column: str) -> tuple[str, str, str]:
    """(<d>, <d>_latest, <d>_partial) for a date column <d>."""
    return (column, C.date_latest(column), C.date_partial(column))


ADDED_COLUMNS: tuple[str, ...] = (
    C.SUBJECT,
    C.COUNT_ORDER,
    C.CYCLE_STEP,
    C.STEP_TYPE,
    C.COUNTY_RAW,
    C.COUNTY,
    C.COUNTY_SLUG,
    C.RACE,
    *date_column_names(C.DOB),
    *date_column_names(C.EVENT_DATE),
    *date_column_names(C.DISPOSITION_DATE),
    *date_column_names(C.CONVICTION_DATE),
    C.CODE_SECTION_TEXT,
    C.CODE_SECTION_SOURCE,
    C.SECTION,
    C.SUBSECTION,
    C.CODE,
    C.CODE_SECTION,
    C.ATTEMPTED,
    C.IS_PROP64,
    C.IS_RELATED,
    C.IS_SUPERSTRIKE,
    C.IS_PC290_OFFENSE,
    C.IS_PC290_REGISTRATION,
    C.IS_DECEASED_STEP,
    C.IS_COURT_ACTION,
    C.POSSIBLE_OTHER_P64,
    C.IS_CONVICTION,
    C.IS_FELONY,
    C.SENTENCE_MONTHS,
    C.SENTENCE_DAYS,
)

# DOJ writes this in OFFENSE_DESCR when the charge is in COMMENT_TEXT (compared without
# spaces, any case).
SEE_COMMENT = "SEECOMMENTFORCHARGE"
CONVICTED_PREFIX = "CONVICTED"
FELONY = "FELONY"
FELONY_TOC = "F"
ATTEMPT_PREFIX = "664"
CONSPIRACY_PREFIX = "182"

# Code-section grammar, applied to the upper-cased text with the spaces around '(', ')',
# '&' and '/' removed ("11360 ( a ) H & S" -> "11360(A)H&S"):
#   [664/ | 182(..)/]  section  [subsection path]  [spaces]  code
# A section may end in one or two letters (273AB, 288A) only when a space, '(' or the end
# follows them, so "11357HS" still reads as 11357 + HS. The code is 1-4 letters, '&' allowed
# between them; what follows the code (a second section, a note) is ignored.
CODE_SECTION_PATTERN = (
    r"^(?:(" + ATTEMPT_PREFIX + "|" + CONSPIRACY_PREFIX + r")(?:\([0-9A-Z]+\))*/)?"
    r"(\d+(?:\.\d+)?(?:[A-Z]{1,2}(?=[\s(]|$))?)"
    r"((?:\([0-9A-Z]+\))*)"
    r"\s*([A-Z](?:&?[A-Z]){0,3})(?![A-Z&])"
)
_PREFIX, _SECTION, _SUBSECTION, _CODE = 1, 2, 3, 4

_MAX_SENTENCE_LENGTH = 999_999  # a longer SENT_LENGTH is a data error: unknown
_DATE_FORMAT = "yyyyMMdd"


# --- helpers ---------------------------------------------------------------------------
#
# Cost notes. A Python Column is an expression tree: using one twice copies the subtree,
# so a regex or date parse used twice runs twice per row. Such values are computed once into
# a column (temporary ones prefixed _TMP) that later expressions reference; Spark keeps a
# costly column in its own projection rather than inline it twice. Each such projection
# copies the whole row, and DOJ rows are wide (over spark.sql.codegen.maxFields, so Spark
# evaluates them without code generation): each function below therefore adds as few
# dependent projections as it can, and normalize() orders them so that Spark can merge a
# function's first projection into the previous one (they read only columns already there).

_TMP = "_normalize_"


def _tmp(name: str) -> str:
    return _TMP + name


def _drop_tmp(df: DataFrame) -> DataFrame:
    return df.drop(*[c for c in df.columns if c.startswith(_TMP)])


def _null_if_blank(column: Column) -> Column:
    # Not F.nullif: Spark 4 plans it with a common-expression projection of its own.
    return F.when(column != "", column)


def _trimmed(name: str) -> Column:
    return _null_if_blank(F.trim(F.col(name)))


def _upper_trimmed(name: str) -> Column:
    return F.upper(_trimmed(name))


def _any(conditions: list[Column]) -> Column:
    return reduce(or_, conditions, F.lit(False))


def _not_null(condition: Column) -> Column:
    return F.coalesce(condition, F.lit(False))


def section_rule_condition(rule: SectionRule) -> Column:
    """Boolean column: the row's parsed code section matches ``rule`` (may be null).

    Reads code, section, subsection and attempted; a ``together_with`` rule searches
    code_section_text instead of section and subsection.
    """
    condition = F.col(C.CODE) == rule.code
    if rule.together_with is not None:
        # DOMAIN §2: counts only when both sections appear in the same code-section text,
        # whichever is written first, so both are searched in the text.
        text = F.col(C.CODE_SECTION_TEXT)
        condition = (
            condition & text.rlike(rule.together_with.text_regex()) & text.rlike(rule.text_regex())
        )
    else:
        section = F.col(C.SECTION)
        if rule.section_pattern is not None:
            condition = condition & section.rlike("^" + rule.section_regex() + "$")
        else:
            condition = condition & section.isin(rule.sections)
        if rule.subsections is not None:
            subsection = F.col(C.SUBSECTION)
            allowed = [subsection.startswith(path) for path in rule.subsections]
            if rule.bare:
                allowed.append(subsection == "")
            condition = condition & _any(allowed)
    if not rule.attempts:
        condition = condition & ~F.col(C.ATTEMPTED)
    return condition


def any_rule_condition(rules: list[SectionRule]) -> Column:
    """Non-null boolean column: some rule of the list matches the row's code section.

    Rules that take a section with any subsection are merged per code into one set lookup;
    the others are tested one by one.
    """
    any_subsection: dict[tuple[str, bool], list[str]] = {}
    conditions: list[Column] = []
    for rule in rules:
        if rule.subsections is None and rule.together_with is None and rule.sections:
            any_subsection.setdefault((rule.code, rule.attempts), []).extend(rule.sections)
        else:
            conditions.append(section_rule_condition(rule))
    for (code, attempts), sections in any_subsection.items():
        lookup = SectionRule(code=code, sections=sorted(set(sections)), attempts=attempts)
        conditions.insert(0, section_rule_condition(lookup))
    return _not_null(_any(conditions))


# --- identity, step, person --------------------------------------------------------------


def with_subject(df: DataFrame) -> DataFrame:
    return df.withColumn(C.SUBJECT, _trimmed(C.SUBJECT_ID))


def with_count_order(df: DataFrame) -> DataFrame:
    """Trimmed CNT_ORDER and its first 6 digits, cycle + step (DOMAIN §1)."""
    first_six = F.regexp_extract(F.trim(F.col(C.CNT_ORDER)), r"^(\d{6})", 1)
    return df.withColumns(
        {C.COUNT_ORDER: _trimmed(C.CNT_ORDER), C.CYCLE_STEP: _null_if_blank(first_six)}
    )


def with_step_type(df: DataFrame) -> DataFrame:
    return df.withColumn(C.STEP_TYPE, _upper_trimmed(C.STP_TYPE_DESCR))


def with_race(df: DataFrame) -> DataFrame:
    return df.withColumn(C.RACE, _trimmed(C.RACE_DESCR))


def _county_sent() -> Column:
    return F.regexp_replace(F.upper(F.trim(F.col(C.STP_ORI_CNTY_NAME))), r"\s+", " ")


def with_county(df: DataFrame, counties: Counties) -> DataFrame:
    """County as sent, and as one of the 58 (name and slug) or null for any other name."""
    raw = _county_sent()
    names = [county.name for county in counties.counties]
    slugs = F.create_map(
        *[F.lit(value) for county in counties.counties for value in (county.name, county.slug)]
    )
    sent = F.col(C.COUNTY_RAW)
    return df.withColumn(C.COUNTY_RAW, _null_if_blank(raw)).withColumns(
        {C.COUNTY: F.when(sent.isin(names), sent), C.COUNTY_SLUG: F.try_element_at(slugs, sent)}
    )


# --- dates -------------------------------------------------------------------------------


def _parse_day(text: Column) -> Column:
    # try_ gives null instead of failing under ANSI mode for 20190230, 20191341 ...
    return F.try_to_timestamp(text, F.lit(_DATE_FORMAT)).cast("date")


_DATES: tuple[tuple[str, str], ...] = (
    (C.DOB, C.PRI_DOB),
    (C.EVENT_DATE, C.STP_EVENT_DATE),
    (C.DISPOSITION_DATE, C.DISP_DATE),
)


def _date_parts(source: str) -> tuple[Column, Column, Column, Column]:
    text = F.trim(F.col(source))
    return text, F.substring(text, 1, 4), F.substring(text, 5, 2), F.substring(text, 7, 2)


def _first_day(source: str) -> Column:
    """The earliest day a DOJ date string allows, or null; see the module docstring."""
    text, year, month, day = _date_parts(source)
    well_formed = text.rlike(r"^\d{8}$") & (year != "0000")
    first_day = (
        F.when(well_formed & (month == "00") & (day == "00"), F.concat(year, F.lit("0101")))
        .when(well_formed & (month != "00") & (day == "00"), F.concat(year, month, F.lit("01")))
        .when(well_formed & (month != "00"), text)
    )
    return _parse_day(first_day)


def _date_bounds(target: str, source: str) -> dict[str, Column]:
    """<target>_latest and <target>_partial, given <target> (the earliest day)."""
    _, _, month, day = _date_parts(source)
    earliest = F.col(target)
    latest = (
        F.when(month == "00", F.date_add(F.add_months(earliest, 12), -1))
        .when(day == "00", F.last_day(earliest))
        .otherwise(earliest)
    )
    return {
        C.date_latest(target): latest,
        C.date_partial(target): F.when(earliest.isNotNull(), day == "00"),
    }


def with_dates(df: DataFrame) -> DataFrame:
    """dob from PRI_DOB, event_date from STP_EVENT_DATE, disp_date from DISP_DATE.

    Each with its _latest and _partial companions (module docstring).
    """
    return df.withColumns({target: _first_day(source) for target, source in _DATES}).withColumns(
        {name: c for target, source in _DATES for name, c in _date_bounds(target, source).items()}
    )


def with_conviction_date(df: DataFrame) -> DataFrame:
    """Disposition date of a conviction, or its event date when DISP_DATE is blank.

    Needs is_conviction and the event and disposition dates (with _latest/_partial).
    """
    convicted = F.col(C.IS_CONVICTION)
    disposition_blank = _trimmed(C.DISP_DATE).isNull()
    return df.withColumns(
        {
            target: F.when(convicted & disposition_blank, F.col(event)).when(
                convicted, F.col(disposition)
            )
            for target, event, disposition in zip(
                date_column_names(C.CONVICTION_DATE),
                date_column_names(C.EVENT_DATE),
                date_column_names(C.DISPOSITION_DATE),
                strict=True,
            )
        }
    )


# --- offence -----------------------------------------------------------------------------


def _text_before_dash(name: str) -> Column:
    return _null_if_blank(F.trim(F.substring_index(F.col(name), "-", 1)))


def with_code_section_text(df: DataFrame) -> DataFrame:
    """OFFENSE_DESCR before the first '-', or COMMENT_TEXT when told to look there."""
    offense = F.col(C.OFFENSE_DESCR)
    see_comment = F.translate(F.upper(offense), " \t", "") == SEE_COMMENT
    use_comment = _not_null(_trimmed(C.OFFENSE_DESCR).isNull() | see_comment)
    text = F.when(use_comment, _text_before_dash(C.COMMENT_TEXT)).otherwise(
        _text_before_dash(C.OFFENSE_DESCR)
    )
    source = F.when(use_comment, F.lit(C.COMMENT_TEXT)).otherwise(F.lit(C.OFFENSE_DESCR))
    # Cheap string functions: computed twice rather than costing a projection.
    return df.withColumns(
        {C.CODE_SECTION_TEXT: text, C.CODE_SECTION_SOURCE: F.when(text.isNotNull(), source)}
    )


def _canonical_code(raw_code: Column, aliases: dict[str, str]) -> Column:
    code = F.replace(raw_code, F.lit("&"), F.lit(""))
    result = code
    for alias, canonical in aliases.items():
        result = F.when(code == alias, F.lit(canonical)).otherwise(result)
    return result


def with_code_section(df: DataFrame, offenses: Offenses) -> DataFrame:
    """Parse the code-section text into section, subsection, code, canonical form, attempt."""
    text = F.regexp_replace(F.upper(F.col(C.CODE_SECTION_TEXT)), r"\s*([()&/])\s*", "$1")
    groups = {
        _tmp(name): F.regexp_extract(F.col(_tmp("text")), CODE_SECTION_PATTERN, index)
        for name, index in (
            ("prefix", _PREFIX),
            ("section", _SECTION),
            ("subsection", _SUBSECTION),
            ("code", _CODE),
        )
    }
    prefix = F.col(_tmp("prefix"))
    section = F.lower(F.col(_tmp("section")))
    subsection = F.lower(F.col(_tmp("subsection")))
    code = _canonical_code(F.col(_tmp("code")), offenses.code_aliases)
    # The section group is never empty on a match, and regexp_extract gives "" otherwise.
    parsed = F.col(_tmp("section")) != ""
    written_prefix = F.when(prefix != "", F.concat(prefix, F.lit("/"))).otherwise(F.lit(""))
    return (
        df.withColumn(_tmp("text"), text)
        .withColumns(groups)
        .withColumns(
            {
                C.SECTION: F.when(parsed, section),
                C.SUBSECTION: F.when(parsed, subsection),
                C.CODE: F.when(parsed, code),
                C.CODE_SECTION: F.when(
                    parsed, F.concat(written_prefix, section, subsection, F.lit(" "), code)
                ),
                C.ATTEMPTED: _not_null(parsed & (prefix == ATTEMPT_PREFIX)),
            }
        )
        .transform(_drop_tmp)
    )


def with_offense_flags(df: DataFrame, offenses: Offenses) -> DataFrame:
    """Prop 64, related, superstrike and PC 290 offence flags from conf/offenses.yaml."""
    return df.withColumns(
        {
            C.IS_PROP64: any_rule_condition(offenses.prop64),
            C.IS_RELATED: any_rule_condition(offenses.related),
            C.IS_SUPERSTRIKE: any_rule_condition(offenses.superstrikes),
            C.IS_PC290_OFFENSE: any_rule_condition(offenses.pc290),
        }
    )


def with_step_flags(df: DataFrame, offenses: Offenses) -> DataFrame:
    """Flags that depend on the step type: PC 290 registration, deceased, court action."""
    step = F.col(C.STEP_TYPE)
    registration = (step == StepType.REGISTRATION.value) & F.upper(
        F.col(C.CODE_SECTION_TEXT)
    ).startswith(offenses.pc290_registration_prefix.upper())
    return df.withColumns(
        {
            C.IS_PC290_REGISTRATION: _not_null(registration),
            C.IS_DECEASED_STEP: _not_null(step == StepType.DECEASED.value),
            C.IS_COURT_ACTION: _not_null(step == StepType.COURT_ACTION.value),
        }
    )


def _subsection_group(first_level: Column, groups: list[list[str]]) -> Column:
    result = F.lit(None).cast("int")
    for index in reversed(range(len(groups))):
        result = F.when(first_level.isin(groups[index]), F.lit(index)).otherwise(result)
    return result


def with_possible_other_p64(df: DataFrame, offenses: Offenses) -> DataFrame:
    """COMMENT_TEXT when it names a Prop 64 charge other than the one OFFENSE_DESCR holds.

    "Other" means a different section, or for a section with subsection groups (11357)
    first-level subsections from different groups ((a)/(b) vs (c)/(d)). When either side
    has no subsection the groups are not compared. Needs is_prop64 and the parsed columns.
    """
    sections = "|".join(re.escape(s) for s in offenses.prop64_sections())
    named = r"(?<![0-9.])(" + sections + r")(?![0-9.])\s*(?:\(\s*([0-9A-Z]+)\s*\))?"
    comment = F.upper(F.col(C.COMMENT_TEXT))
    letter = F.lower(F.regexp_extract(comment, named, 2))
    comment_section, comment_first = F.col(_tmp("comment_section")), F.col(_tmp("comment_first"))
    offense_first = F.col(_tmp("offense_first"))
    offense_section = F.when(F.col(C.IS_PROP64), F.col(C.SECTION))
    other_group = [
        (offense_section == section)
        & (comment_section == section)
        & (_subsection_group(offense_first, groups) != _subsection_group(comment_first, groups))
        for section, groups in offenses.prop64_subsection_groups.items()
    ]
    differs = offense_section.isNull() | (offense_section != comment_section) | _any(other_group)
    flagged = (
        (F.col(C.CODE_SECTION_SOURCE) == C.OFFENSE_DESCR)
        & comment_section.isNotNull()
        & _not_null(differs)
    )
    return (
        df.withColumns(
            {
                _tmp("comment_section"): _null_if_blank(F.regexp_extract(comment, named, 1)),
                _tmp("comment_first"): F.when(
                    letter != "", F.concat(F.lit("("), letter, F.lit(")"))
                ),
                _tmp("offense_first"): F.regexp_extract(
                    F.col(C.SUBSECTION), r"^(\([0-9a-z]+\))", 1
                ),
            }
        )
        .withColumn(C.POSSIBLE_OTHER_P64, F.when(flagged, F.trim(F.col(C.COMMENT_TEXT))))
        .transform(_drop_tmp)
    )


# --- disposition and sentence ------------------------------------------------------------


def _is_conviction() -> Column:
    return _not_null(_upper_trimmed(C.DISP_DESCR).startswith(CONVICTED_PREFIX))


def with_is_conviction(df: DataFrame) -> DataFrame:
    return df.withColumn(C.IS_CONVICTION, _is_conviction())


def with_is_felony(df: DataFrame) -> DataFrame:
    """DOMAIN §1: CONV_STAT_DESCR FELONY, or blank and OFFENSE_TOC F. Convictions only."""
    status = _upper_trimmed(C.CONV_STAT_DESCR)
    felony = (status == FELONY) | (status.isNull() & (_upper_trimmed(C.OFFENSE_TOC) == FELONY_TOC))
    return df.withColumn(C.IS_FELONY, F.when(F.col(C.IS_CONVICTION), _not_null(felony)))


def with_sentence(df: DataFrame) -> DataFrame:
    """One sentence part in calendar units; see the module docstring for the arithmetic."""
    number = F.trim(F.col(C.SENT_LENGTH)).try_cast("int")
    length = F.when(number.between(0, _MAX_SENTENCE_LENGTH), number)
    unit = _upper_trimmed(C.SENT_TIME_CODE)
    known = length.isNotNull()
    zero = F.lit(0)
    # Cheap expressions: repeated rather than costing a projection.
    return df.withColumns(
        {
            C.SENTENCE_MONTHS: F.when(known & (unit == "Y"), length * 12)
            .when(known & (unit == "M"), length)
            .when(known & (unit == "D"), zero),
            C.SENTENCE_DAYS: F.when(known & (unit == "D"), length).when(
                known & unit.isin("Y", "M"), zero
            ),
        }
    )


# --- screen on raw rows ------------------------------------------------------------------


def may_be_prop64_conviction(counties: Counties, offenses: Offenses) -> Column:
    """Cheap test on raw rows: true on every row that normalize marks as a Prop 64
    conviction in a California county (is_conviction, is_prop64, county_slug), and on a few
    more.

    The statewide job uses it to pick the subjects worth normalizing before normalizing
    anything. It is exact on conviction and county, and a superset on the charge: a parsed
    section is a run of the code-section text, which is OFFENSE_DESCR or COMMENT_TEXT with
    spaces removed only next to ( ) & / (never between two digits), so a Prop 64 section
    (conf/offenses.yaml lists them exactly) appears literally in one of the two columns.
    """
    names = [county.name for county in counties.counties]
    texts = [F.upper(F.col(C.OFFENSE_DESCR)), F.upper(F.col(C.COMMENT_TEXT))]
    charge = _any(
        [text.contains(section.upper()) for section in offenses.prop64_sections() for text in texts]
    )
    return _not_null(_is_conviction() & _county_sent().isin(names) & charge)


# --- the stage ---------------------------------------------------------------------------


def _require_distinct_names(df: DataFrame) -> None:
    added = {name.lower(): name for name in ADDED_COLUMNS}
    clashes = sorted(c for c in df.columns if c.lower() in added)
    if clashes:
        raise ValueError(
            f"normalize would add columns the input already has: {', '.join(clashes)} "
            "(names are compared ignoring case, as Spark and Delta do); normalize each "
            "ingested DataFrame once, and keep derived names distinct from the DOJ's"
        )


def normalize(df: DataFrame, counties: Counties, offenses: Offenses) -> DataFrame:
    """Add the normalized columns (:data:`ADDED_COLUMNS`) to the ingested rows."""
    _require_distinct_names(df)
    kept = [c for c in df.columns if c not in ADDED_COLUMNS]
    return (
        df.transform(with_subject)
        .transform(with_count_order)
        .transform(with_step_type)
        .transform(with_race)
        .transform(with_is_conviction)
        .transform(with_sentence)
        .transform(with_dates)
        .transform(with_county, counties)
        .transform(with_code_section_text)
        .transform(with_conviction_date)
        .transform(with_is_felony)
        .transform(with_code_section, offenses)
        .transform(with_offense_flags, offenses)
        .transform(with_step_flags, offenses)
        .transform(with_possible_other_p64, offenses)
        .select(*kept, *ADDED_COLUMNS)
    )
