"""Normalization of the raw DOJ rows (DOMAIN.md §1-2): typed, trimmed, flagged.

Input: the ingest output — every DOJ column of ``columns.KEPT_DOJ_COLUMNS`` as the string the
file held (not trimmed), plus ``record_id``, ``source_file``, ``source_line``, ``input_index``.
Output: the same rows and columns, plus exactly :data:`ADDED_COLUMNS`, in that order.

Every added name differs from the DOJ's names in more than case (Spark and Delta compare
names case-insensitively); :func:`normalize` checks that before adding anything.

Conventions:

- Placeholders are blank (DOMAIN.md §1): a field holding only spaces and dashes (``-``,
  ``  -  ``, as the reference tool's generator writes in DISP_DATE and most other fields) is
  read as blank, in every field. Every read of a DOJ column goes through :func:`doj_field`,
  so this holds everywhere at once; the DOJ columns themselves are kept as sent.
- Trimmed text columns are null when blank.
- Dates (DOB, event, disposition, conviction): ``<d>`` is the earliest possible day,
  ``<d>_latest`` the latest possible day and ``<d>_partial`` whether the DOJ sent a partial
  date. ``YYYYMMDD`` is that day; ``YYYYMM00`` the first / last day of the month and
  ``YYYY0000`` 1 January / 31 December, both partial; blank or unparseable text (wrong
  length, month 13, 30 February, ``YYYY00DD``, year 0000) gives three nulls. A partial date
  is never treated as unknown.
- The conviction date exists only on conviction rows: the step's event date
  (STP_EVENT_DATE of the conviction's COURT ACTION line, as the reference tool reads it),
  or the disposition date when STP_EVENT_DATE is blank (DOMAIN.md §1). A non-blank but
  unparseable STP_EVENT_DATE stays unknown.
- Offences: the code-section text is ``OFFENSE_DESCR`` before its first ``-``, or
  ``COMMENT_TEXT`` the same way when ``OFFENSE_DESCR`` is blank or ``SEE COMMENT FOR CHARGE``.
  It is parsed into section (``11357``, ``288a``, ``667.61``), subsection path (``(c)``,
  ``(a)(1)``, ``""``), code (``HS``; ``H&S``, ``H & S`` and conf/offenses.yaml aliases
  normalised) and a canonical ``code_section`` (``11357(c) HS``). For the sections listed
  in ``subsections_without_parentheses`` a subsection may be written without parentheses
  (``11357B2 HS`` = ``11357(b)(2) HS``). A word after the section that is not one of the
  vocabulary's codes starts a description: the code is unknown (null) and ``code_section``
  has none (``11360(B) SELL/FURNISH/ETC`` -> ``11360(b)``). ``664/<section>`` (attempt) and
  ``182/<section>`` (conspiracy, DOMAIN §2) parse as the target section with the prefix
  kept in ``code_section`` (``664/11359 HS``); ``attempted`` is true for 664 only.
- Prop 64 (DOMAIN.md §2): a Prop 64 section number anywhere in the code-section text makes
  the row a Prop 64 charge, exactly where the reference tool finds one (an unanchored
  search). When the text does not parse as that section (``211357 PC``, ``11357.5 HS``),
  ``section`` is the number found and subsection, code and code_section are null: the row
  stays a candidate, its reading flagged. ``code_section_parsed`` is true when section,
  subsection and a known code were all read. Other text that does not parse keeps its
  row, with section, subsection, code and code_section null.
- The flags (related, superstrike, PC 290) are compiled from conf/offenses.yaml by
  :func:`any_rule_condition`; every boolean added here is non-null except ``is_felony``,
  which is null on rows that are not convictions.
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

from relief.transforms import columns as C
from relief.transforms.offenses import Offenses, SectionRule
from relief.transforms.vocabulary import Counties


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
    C.CODE_SECTION_PARSED,
    C.ATTEMPTED,
    C.IS_PROP64,
    C.IS_RELATED,
    C.IS_SUPERSTRIKE,
    C.IS_ENHANCEABLE_OFFENSE,
    C.IS_GANG_ENHANCEMENT,
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
#   [664/ | 182(..)/]  section  [subsection path]  [spaces  code]
# A section may end in one or two letters (273AB, 288A) only when a space, '(' or the end
# follows them, so "11357HS" still reads as 11357 + HS. For the sections of
# offenses.subsections_without_parentheses a letter (and digits) after the number is a
# subsection instead: 11357B2 = 11357(b)(2). The code is 1-4 letters, '&' allowed between
# them; whether it is a code at all is decided against the vocabulary's codes. What follows
# the code (a second section, a note) is ignored.
_PREFIX_PATTERN = r"^(?:(" + ATTEMPT_PREFIX + "|" + CONSPIRACY_PREFIX + r")(?:\([0-9A-Z]+\))*/)?"
_SECTION_PATTERN = r"(\d+(?:\.\d+)?(?:[A-Z]{1,2}(?=[\s(]|$))?)"
# A letter alone must end the word; with digits it may run into the code (11360A2HS).
_BARE_SUBSECTION_PATTERN = r"([A-Z]\d*(?=[\s(]|$)|[A-Z]\d+)?"
_TAIL_PATTERN = r"((?:\([0-9A-Z]+\))*)(?:\s*([A-Z](?:&?[A-Z]){0,3})(?![A-Z&]))?"
_PREFIX, _BARE_SECTION, _BARE_SUBSECTION, _SECTION, _SUBSECTION, _CODE = 1, 2, 3, 4, 5, 6
# Separates the grammar's groups in one replacement: a control character no group matches.
_GROUP_MARK = "\u0001"


def code_section_pattern(offenses: Offenses) -> str:
    """The grammar above as one Java regular expression (groups: see the _PREFIX ... names)."""
    listed = "|".join(re.escape(s.upper()) for s in offenses.subsections_without_parentheses)
    # With no listed section the first alternative can never match (group 2 stays empty).
    bare = f"(?:({listed or '(?!)'})(?![0-9.]){_BARE_SUBSECTION_PATTERN}|{_SECTION_PATTERN})"
    return _PREFIX_PATTERN + bare + _TAIL_PATTERN


def prop64_search_pattern(offenses: Offenses) -> str:
    """The reference tool's Prop 64 test: any Prop 64 section number, anywhere in the text."""
    return "(" + "|".join(re.escape(s) for s in offenses.prop64_sections()) + ")"


# Placeholders (DOMAIN.md §1): only spaces and dashes.
PLACEHOLDER_CHARACTERS = " -"

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


def is_placeholder(column: Column) -> Column:
    """True when the text holds only spaces and dashes (blank included): a placeholder."""
    return F.translate(column, PLACEHOLDER_CHARACTERS, "") == ""


def doj_field(name: str) -> Column:
    """A DOJ column as the rules read it: null when blank or a placeholder (DOMAIN.md §1).

    The one place placeholders are recognised; every stage reads raw fields through it.
    """
    column = F.col(name)
    return F.when(~is_placeholder(column), column)


def _trimmed(name: str) -> Column:
    return F.trim(doj_field(name))


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
    first_six = F.regexp_extract(_trimmed(C.CNT_ORDER), r"^(\d{6})", 1)
    return df.withColumns(
        {C.COUNT_ORDER: _trimmed(C.CNT_ORDER), C.CYCLE_STEP: _null_if_blank(first_six)}
    )


def with_step_type(df: DataFrame) -> DataFrame:
    return df.withColumn(C.STEP_TYPE, _upper_trimmed(C.STP_TYPE_DESCR))


def with_race(df: DataFrame) -> DataFrame:
    return df.withColumn(C.RACE, _trimmed(C.RACE_DESCR))


def _county_sent() -> Column:
    return F.regexp_replace(F.upper(_trimmed(C.STP_ORI_CNTY_NAME)), r"\s+", " ")


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
    text = _trimmed(source)
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
    """Event date of a conviction (STP_EVENT_DATE), or its disposition date when the event
    date is blank or a placeholder (DOMAIN.md §1).

    Needs is_conviction and the event and disposition dates (with _latest/_partial).
    """
    convicted = F.col(C.IS_CONVICTION)
    event_blank = _trimmed(C.STP_EVENT_DATE).isNull()
    return df.withColumns(
        {
            target: F.when(convicted & event_blank, F.col(disposition)).when(
                convicted, F.col(event)
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
    return _null_if_blank(F.trim(F.substring_index(doj_field(name), "-", 1)))


def with_code_section_text(df: DataFrame) -> DataFrame:
    """OFFENSE_DESCR before the first '-', or COMMENT_TEXT when told to look there."""
    offense = doj_field(C.OFFENSE_DESCR)
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


def _canonical_code(raw_code: Column, offenses: Offenses) -> Column:
    """The code in the vocabulary's spelling, or null when the word is not a known code."""
    code = F.replace(raw_code, F.lit("&"), F.lit(""))
    result = code
    for alias, canonical in offenses.code_aliases.items():
        result = F.when(code == alias, F.lit(canonical)).otherwise(result)
    return F.when(result.isin(offenses.codes), result)


def _bare_subsection_path(bare: Column) -> Column:
    """'B2' -> '(b)(2)', 'A' -> '(a)', '' -> '' (a subsection written without parentheses)."""
    letter = F.lower(F.substring(bare, 1, 1))
    digits = F.substring(bare, 2, 10)
    return F.when(bare == "", F.lit("")).otherwise(
        F.concat(
            F.lit("("),
            letter,
            F.lit(")"),
            F.when(digits != "", F.concat(F.lit("("), digits, F.lit(")"))).otherwise(F.lit("")),
        )
    )


def with_code_section(df: DataFrame, offenses: Offenses) -> DataFrame:
    """Parse the code-section text into section, subsection, code, canonical form, attempt.

    A Prop 64 section number found in the text (the reference tool's search) always gives
    the row that section; see the module docstring.
    """
    text = F.regexp_replace(F.upper(F.col(C.CODE_SECTION_TEXT)), r"\s*([()&/])\s*", "$1")
    # The grammar is matched once per row: its groups are written out by one replacement
    # (the pattern made optional, so a text it does not read gives six empty groups, as
    # regexp_extract does) and split apart, instead of one regexp_extract per group.
    pattern = "^(?:" + code_section_pattern(offenses).removeprefix("^") + ")?"
    groups_written = _GROUP_MARK + _GROUP_MARK.join(f"${i}" for i in range(1, _CODE + 1))
    split = F.split(
        F.regexp_replace(F.col(_tmp("text")), pattern, groups_written + _GROUP_MARK),
        _GROUP_MARK,
        _CODE + 2,
    )
    groups = {
        _tmp(name): F.col(_tmp("groups"))[index]
        for name, index in (
            ("prefix", _PREFIX),
            ("bare_section", _BARE_SECTION),
            ("bare_subsection", _BARE_SUBSECTION),
            ("other_section", _SECTION),
            ("paren_subsection", _SUBSECTION),
            ("code", _CODE),
        )
    }
    groups[_tmp("prop64")] = F.regexp_extract(
        F.col(C.CODE_SECTION_TEXT), prop64_search_pattern(offenses), 1
    )
    prefix = F.col(_tmp("prefix"))
    bare_section = F.col(_tmp("bare_section"))
    raw_section = F.when(bare_section != "", bare_section).otherwise(F.col(_tmp("other_section")))
    section = F.lower(raw_section)
    subsection = F.concat(
        _bare_subsection_path(F.col(_tmp("bare_subsection"))),
        F.lower(F.col(_tmp("paren_subsection"))),
    )
    code = _canonical_code(F.col(_tmp("code")), offenses)
    # regexp_extract gives "" when the text does not match; a match always has a section.
    parsed = raw_section != ""
    found = F.col(_tmp("prop64"))
    # The reference's search found a Prop 64 section the grammar did not read as such
    # (211357 PC, 11357.5 HS, 11357 at the end of a sentence): that section, the rest unknown.
    found_only = (found != "") & ~(parsed & section.isin(offenses.prop64_sections()))
    read = parsed & ~found_only
    written_prefix = F.when(prefix != "", F.concat(prefix, F.lit("/"))).otherwise(F.lit(""))
    written_code = F.when(code.isNotNull(), F.concat(F.lit(" "), code)).otherwise(F.lit(""))
    return (
        df.withColumn(_tmp("text"), text)
        .withColumn(_tmp("groups"), split)
        .withColumns(groups)
        .withColumns(
            {
                C.SECTION: F.when(found_only, found).when(parsed, section),
                C.SUBSECTION: F.when(read, subsection),
                C.CODE: F.when(read, code),
                C.CODE_SECTION: F.when(
                    read, F.concat(written_prefix, section, subsection, written_code)
                ),
                C.CODE_SECTION_PARSED: _not_null(read & code.isNotNull()),
                C.ATTEMPTED: _not_null(read & (prefix == ATTEMPT_PREFIX)),
            }
        )
        .transform(_drop_tmp)
    )


def with_offense_flags(df: DataFrame, offenses: Offenses) -> DataFrame:
    """Prop 64, related, superstrike and PC 290 offence flags from conf/offenses.yaml."""
    return df.withColumns(
        {
            # Needs no code (HS by context): the section is a Prop 64 section exactly when
            # the reference's search found one (with_code_section).
            C.IS_PROP64: _not_null(F.col(C.SECTION).isin(offenses.prop64_sections())),
            C.IS_RELATED: any_rule_condition(offenses.related),
            C.IS_SUPERSTRIKE: any_rule_condition(offenses.superstrikes),
            C.IS_PC290_OFFENSE: any_rule_condition(offenses.pc290),
            **superstrike_halves(offenses),
        }
    )


def superstrike_halves(offenses: Offenses) -> dict[str, Column]:
    """The halves of a ``together_with`` superstrike, each on its own row (DOMAIN.md §2): the
    offence alone, and the section it must come with; history pairs them per case."""
    paired = [rule for rule in offenses.superstrikes if rule.together_with is not None]
    text = F.col(C.CODE_SECTION_TEXT)
    offence = [(F.col(C.CODE) == rule.code) & text.rlike(rule.text_regex()) for rule in paired]
    companions = {rule.together_with.text_regex(): rule.together_with.code for rule in paired
                  if rule.together_with is not None}  # fmt: skip
    companion = [
        (F.col(C.CODE) == code) & text.rlike(regex) for regex, code in sorted(companions.items())
    ]
    return {
        C.IS_ENHANCEABLE_OFFENSE: _not_null(_any(offence)),
        C.IS_GANG_ENHANCEMENT: _not_null(_any(companion)),
    }


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
    first-level subsections from different groups ((a)/(b) vs (c)/(d)), or an offence
    written without a (readable) subsection while the comment names one of the groups'
    subsections (DOMAIN.md §6, as the reference flags it). A comment without a subsection
    is not compared. Needs is_prop64 and the parsed columns.
    """
    sections = "|".join(re.escape(s) for s in offenses.prop64_sections())
    # A subsection in parentheses (spaces allowed) or a letter written right after the
    # number (11357B HS), as the offence itself may be written.
    named = (
        r"(?<![0-9.])(" + sections + r")(?![0-9.])"
        r"(?:\s*\(\s*([0-9A-Z]+)\s*\)|([A-Z])(?![A-Z]))?"
    )
    comment = F.upper(doj_field(C.COMMENT_TEXT))
    comment_section, comment_first = F.col(_tmp("comment_section")), F.col(_tmp("comment_first"))
    offense_first = F.col(_tmp("offense_first"))
    offense_section = F.when(F.col(C.IS_PROP64), F.col(C.SECTION))
    other_group = []
    for section, groups in offenses.prop64_subsection_groups.items():
        same_section = (offense_section == section) & (comment_section == section)
        offense_group = _subsection_group(offense_first, groups)
        comment_group = _subsection_group(comment_first, groups)
        other_group.append(
            same_section & comment_group.isNotNull() & (F.coalesce(offense_first, F.lit("")) == "")
        )
        other_group.append(same_section & (offense_group != comment_group))
    differs = offense_section.isNull() | (offense_section != comment_section) | _any(other_group)
    flagged = (
        (F.col(C.CODE_SECTION_SOURCE) == C.OFFENSE_DESCR)
        & comment_section.isNotNull()
        & _not_null(differs)
    )
    letter = F.lower(
        F.concat(F.regexp_extract(comment, named, 2), F.regexp_extract(comment, named, 3))
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
    number = _trimmed(C.SENT_LENGTH).try_cast("int")
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
    anything. It is exact on conviction and county, and a superset on the charge: a row is
    a Prop 64 charge when a Prop 64 section number (conf/offenses.yaml) occurs in its
    code-section text, which is a part of OFFENSE_DESCR or of COMMENT_TEXT, so the number
    occurs literally in one of the two columns.
    """
    names = [county.name for county in counties.counties]
    texts = [F.upper(F.col(C.OFFENSE_DESCR)), F.upper(F.col(C.COMMENT_TEXT))]
    charge = _any(
        [text.contains(section.upper()) for section in offenses.prop64_sections() for text in texts]
    )
    return _not_null(_is_conviction() & _county_sent().isin(names) & charge)


# --- the stage ---------------------------------------------------------------------------


# What with_code_section and with_offense_flags add: functions of CODE_SECTION_TEXT alone.
_TEXT_COLUMNS = (
    C.SECTION,
    C.SUBSECTION,
    C.CODE,
    C.CODE_SECTION,
    C.CODE_SECTION_PARSED,
    C.ATTEMPTED,
    C.IS_PROP64,
    C.IS_RELATED,
    C.IS_SUPERSTRIKE,
    C.IS_PC290_OFFENSE,
    C.IS_ENHANCEABLE_OFFENSE,
    C.IS_GANG_ENHANCEMENT,
)
_TEXT_KEY = _tmp("text_key")


def with_parsed_text(df: DataFrame, offenses: Offenses) -> DataFrame:
    """with_code_section then with_offense_flags, computed once per DISTINCT code-section
    text and joined back, instead of matching the grammar and the rules' patterns on every
    row. A broadcast join: an extract holds far fewer distinct texts than lines. Inner and
    null-safe: every row's text (null included) is in the distinct set, so no row is lost
    and the columns keep their nullability."""
    texts = df.select(F.col(C.CODE_SECTION_TEXT)).distinct()
    parsed = (
        texts.transform(with_code_section, offenses)
        .transform(with_offense_flags, offenses)
        .select(F.col(C.CODE_SECTION_TEXT).alias(_TEXT_KEY), *_TEXT_COLUMNS)
    )
    joined = df.join(
        F.broadcast(parsed), F.col(C.CODE_SECTION_TEXT).eqNullSafe(F.col(_TEXT_KEY)), "inner"
    )
    return joined.select(*df.columns, *_TEXT_COLUMNS)


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
        .transform(with_parsed_text, offenses)
        .transform(with_step_flags, offenses)
        .transform(with_possible_other_p64, offenses)
        .select(*kept, *ADDED_COLUMNS)
    )
