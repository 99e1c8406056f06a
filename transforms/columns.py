"""Column vocabulary of relief: every column name the pipeline uses, defined once.

Upper-case names are the DOJ extract's own columns (DOMAIN.md §1), kept as strings as
they arrived. Lower-case names are columns relief derives; each stage adds its own group
below. Code refers to these constants, never to a string literal of a column name.
"""

from __future__ import annotations

from typing import NamedTuple

# --- DOJ extract (DOMAIN.md §1), in file order -------------------------------------------
DOJ_COLUMNS: tuple[str, ...] = (
    "RECORD_ID", "SUBJECT_STATUS", "SUBJECT_ID", "REQ_SEG_SEP", "REQ_CII_NUMBER", "REQ_NAME",
    "REQ_GENDER", "REQ_DOB", "REQ_CDL", "REQ_SSN", "PII_SEG_SEP", "CII_NUMBER", "PRI_NAME",
    "GENDER", "PRI_DOB", "PRI_SSN", "PRI_CDL", "PRI_IDN", "PRI_INN", "FBI_NUMBER",
    "PDR_SEG_SEP", "RACE_CODE", "RACE_DESCR", "EYE_COLOR_CODE", "EYE_COLOR_DESCR",
    "HAIR_COLOR_CODE", "HAIR_COLOR_DESCR", "HEIGHT", "WEIGHT", "SINGLE_SOURCE",
    "MULTI_SOURCE", "POB_CODE", "POB_NAME", "POB_TYPE", "CITIZENSHIP_LIST", "CYC_SEG_SEP",
    "CYC_ORDER", "CYC_DATE", "STP_SEG_SEP", "STP_ORDER", "STP_EVENT_DATE", "STP_TYPE_CODE",
    "STP_TYPE_DESCR", "STP_ORI_TYPE", "STP_ORI_TYPE_DESCR", "STP_ORI_CODE", "STP_ORI_DESCR",
    "STP_ORI_CNTY_CODE", "STP_ORI_CNTY_NAME", "CNT_SEG_SEP", "CNT_ORDER", "DISP_DATE", "OFN",
    "OFFENSE_CODE", "OFFENSE_DESCR", "OFFENSE_TOC", "OFFENSE_QUAL_LST", "DISP_OFFENSE_CODE",
    "DISP_OFFENSE_DESCR", "DISP_OFFENSE_TOC", "DISP_OFFENSE_QUAL_LST", "CONV_OFFENSE_ORDER",
    "CONV_OFFENSE_CODE", "CONV_OFFENSE_DESCR", "CONV_OFFENSE_TOC", "CONV_OFFENSE_QUAL_LST",
    "FE_NUM_ORDER", "FE_NUM_ARR_AGY", "FE_NUM_BNCH_WARR", "FE_NUM_CITE", "FE_NUM_DOCKET",
    "FE_NUM_INCIDENT", "FE_NUM_BOOKING", "FE_NUM_NUMBER", "FE_NUM_REMAND", "FE_NUM_OOS_INN",
    "FE_NUM_CRT_CASE", "FE_NUM_WARRANT", "DISP_ORDER", "DISP_CODE", "DISP_DESCR",
    "CONV_STAT_CODE", "CONV_STAT_DESCR", "SENT_SEG_SEP", "SENT_ORDER", "SENT_LOC_CODE",
    "SENT_LOC_DESCR", "SENT_LENGTH", "SENT_TIME_CODE", "SENT_TIME_DESCR", "CYC_AGE",
    "CII_TYPE", "CII_TYPE_ALPHA", "COMMENT_TEXT", "END_OF_REC",
)  # fmt: skip
assert len(DOJ_COLUMNS) == 95

SUBJECT_ID = "SUBJECT_ID"
CII_NUMBER = "CII_NUMBER"
PRI_NAME = "PRI_NAME"
PRI_DOB = "PRI_DOB"
RACE_DESCR = "RACE_DESCR"
CYC_DATE = "CYC_DATE"
STP_EVENT_DATE = "STP_EVENT_DATE"
STP_TYPE_DESCR = "STP_TYPE_DESCR"
STP_ORI_DESCR = "STP_ORI_DESCR"
STP_ORI_CNTY_NAME = "STP_ORI_CNTY_NAME"
CNT_ORDER = "CNT_ORDER"
DISP_DATE = "DISP_DATE"
OFN = "OFN"
OFFENSE_DESCR = "OFFENSE_DESCR"
OFFENSE_TOC = "OFFENSE_TOC"
DISP_DESCR = "DISP_DESCR"
CONV_STAT_DESCR = "CONV_STAT_DESCR"
SENT_LOC_DESCR = "SENT_LOC_DESCR"
SENT_LENGTH = "SENT_LENGTH"
SENT_TIME_CODE = "SENT_TIME_CODE"
COMMENT_TEXT = "COMMENT_TEXT"
GENDER = "GENDER"
SENT_LOC_DESCR = "SENT_LOC_DESCR"
CYC_AGE = "CYC_AGE"
END_OF_REC = "END_OF_REC"

# Never needed downstream (DOMAIN.md §1): dropped at ingest, never written anywhere.
PII_COLUMNS: tuple[str, ...] = ("REQ_CDL", "REQ_SSN", "PRI_SSN", "PRI_CDL")
# Spark and Delta match column names case-insensitively, so the extract's RECORD_ID would
# collide with relief's record_id: it is stored as DOJ_RECORD_ID (and written back as
# RECORD_ID in the reference-tool export).
DOJ_RECORD_ID = "DOJ_RECORD_ID"


def stored_name(doj_column: str) -> str:
    """Name under which a DOJ column is kept in relief's DataFrames and tables."""
    return DOJ_RECORD_ID if doj_column == "RECORD_ID" else doj_column


KEPT_DOJ_COLUMNS: tuple[str, ...] = tuple(
    stored_name(c) for c in DOJ_COLUMNS if c not in PII_COLUMNS
)

# --- identifiers typed into the wrong field (transforms/ingest.py; docs/operations.md) -------
# An SSN or driver's licence typed into another field is masked at ingest, per column:
# Kept as DOJ wrote them: the keys that identify the record, the person and the court case.
# Their own values can look like an SSN (a CII number is 9-10 digits, an OFN or court case
# number may be 9 digits or a letter and 7 digits), and masking one would merge two people
# into one subject or lose the case a DA files in.
UNMASKED_COLUMNS: tuple[str, ...] = (
    DOJ_RECORD_ID,
    SUBJECT_ID,
    "REQ_CII_NUMBER",
    CII_NUMBER,
    OFN,
    "FE_NUM_CRT_CASE",
    "FE_NUM_DOCKET",
)
# Agency document numbers (booking, citation, warrant ...): a plain run of 9 digits is a
# legitimate number there (booking numbers are), so only an SSN written as one (3-2-4 digits
# with dashes, spaces or dots) and a licence shape (a letter and 7-8 digits) are masked.
NUMBER_COLUMNS: tuple[str, ...] = tuple(
    c for c in DOJ_COLUMNS if c.startswith("FE_NUM_") and c not in UNMASKED_COLUMNS
)
# Every other kept column (names, PRI_IDN, PRI_INN, FBI_NUMBER, offence, disposition,
# sentence and comment text, codes, dates) never legitimately holds either shape: every
# SSN- or licence-shaped token in it is masked.

# --- ingest (transforms/ingest.py) --------------------------------------------------------
RECORD_ID = "record_id"  # "<input fingerprint, 16 hex>-<line number>", stable across re-runs
SOURCE_FILE = "source_file"  # path of the input file as given
SOURCE_LINE = "source_line"  # 1-based physical line number in that file
INPUT_INDEX = "input_index"  # position of the file in the run's input list (orders rows)
QUARANTINE_REASON = "reason"

# --- provenance: which run wrote a row or a version ------------------------------------------
# Columns of the summary and quarantine tables, keys of every commit's metadata (Delta
# commitInfo) and fields of the runs ledger: the same names everywhere.
RUN_ID = "run_id"  # "<UTC start, compact ISO>-<8 hex>", e.g. 20260701T000000Z-bbbb0002
COMPUTE_AT = "compute_at"  # the date eligibility was computed at (ISO)
POLICY_HASH = "policy_hash"  # sha256 of the county's policy the run applied
RELIEF_VERSION = "relief_version"  # the relief package version that wrote it
INPUT_FINGERPRINTS = "input_fingerprints"  # {input path: blake2b fingerprint} (JSON)

# --- identity (transforms/identity.py) ---------------------------------------------------
# A row's natural key: trimmed SUBJECT_ID, trimmed CNT_ORDER and the line's ordinal among the
# lines sharing both (file order). Unlike record_id it survives a refreshed extract whose
# lines moved: ``relief audit diff`` matches rows on it.
ROW_KEY = "row_key"

# --- normalize (transforms/normalize.py), DOMAIN.md §1-2 ---------------------------------
SUBJECT = "subject"  # trimmed SUBJECT_ID
COUNT_ORDER = "count_order"  # trimmed CNT_ORDER (12 digits)
CYCLE_STEP = "cycle_step"  # first 6 digits of CNT_ORDER
STEP_TYPE = "step_type"  # upper(trim(STP_TYPE_DESCR))
COUNTY_RAW = "county_raw"  # upper(trim(STP_ORI_CNTY_NAME)) as sent
COUNTY = "county"  # DOJ spelling when one of the 58, else null
COUNTY_SLUG = "county_slug"  # e.g. "los-angeles"; null when not a California county
RACE = "race"
# A date column <d> holds the earliest possible day; <d>_latest the latest possible day
# (equal for a full date; last day of the year/month for YYYY0000/YYYYMM00); <d>_partial
# is true for a partial date. All three are null for a blank or unparseable date.
DOB = "dob"
EVENT_DATE = "event_date"
DISPOSITION_DATE = "disposition_date"
CONVICTION_DATE = "conviction_date"  # convictions only: disp_date, else event_date
LATEST = "_latest"
PARTIAL = "_partial"
CODE_SECTION_TEXT = "code_section_text"  # text before the first '-', original spelling
CODE_SECTION_SOURCE = "code_section_source"  # "OFFENSE_DESCR" | "COMMENT_TEXT" | null
SECTION = "section"  # "11357", "288a", "667.61" ...
SUBSECTION = "subsection"  # "(c)", "(a)(1)", "" when none; lower case
CODE = "code"  # "HS", "PC", "VC", "BP", "MV", ...
CODE_SECTION = "code_section"  # canonical "11357(c) HS"; null when not fully read
# Section, subsection and a known code all read from the text; false e.g. for "211357 PC"
# (a Prop 64 section found, the rest unknown) or "11360(B) SELL/..." (no code given).
CODE_SECTION_PARSED = "code_section_parsed"
ATTEMPTED = "attempted"  # written as 664/<section>
IS_PROP64 = "is_prop64"
IS_RELATED = "is_related"
IS_SUPERSTRIKE = "is_superstrike"
# The two halves of a superstrike that DOMAIN.md §2 pairs across the counts of one case: an
# offence the gang enhancement makes a superstrike (136.1, 215, 213(a)(1)(a), 246, 519,
# 12022.55 PC) and the enhancement itself (186.22(b)(4) PC).
IS_ENHANCEABLE_OFFENSE = "is_enhanceable_offense"
IS_GANG_ENHANCEMENT = "is_gang_enhancement"
IS_PC290_OFFENSE = "is_pc290_offense"
IS_PC290_REGISTRATION = "is_pc290_registration"  # REGISTRATION step, offence 290...
IS_DECEASED_STEP = "is_deceased_step"
IS_COURT_ACTION = "is_court_action"
POSSIBLE_OTHER_P64 = "possible_other_p64"  # COMMENT_TEXT when it names another P64 charge
IS_CONVICTION = "is_conviction"  # DISP_DESCR starts with CONVICTED
IS_FELONY = "is_felony"  # convictions only; never null on a conviction
SENTENCE_MONTHS = "sentence_months"  # Y -> 12*N, M -> N; null when no sentence part
SENTENCE_DAYS = "sentence_days"  # D -> N

# --- history (transforms/history.py), DOMAIN.md §3 ---------------------------------------
# Per row:
IS_COUNTED_CONVICTION = "is_counted_conviction"  # first conviction line of its CNT_ORDER
# "; "-joined distinct OFNs of the cycle+step's COURT ACTIONs, in first-seen (file) order
CASE_NUMBERS = "case_numbers"
SENTENCE_END = "sentence_end_date"  # conviction + summed parts (+ _latest)
# Earlier Prop 64 convictions of the subject with the same section: definitely earlier
# (latest possible day before this one's earliest), and possibly earlier (upper bound when
# partial or blank dates leave the order open).
PRIOR_SAME_SECTION = "prior_same_section_count"
PRIOR_SAME_SECTION_POSSIBLE = "prior_same_section_count_possible"
P64_COUNTIES = "prop64_counties"  # slugs of counties where the subject has a P64 conviction
# Per subject (same value on every row of the subject):
CONVICTION_COUNT = "conviction_count"
PROP64_COUNT = "prop64_conviction_count"
PROP64_SECTIONS: tuple[str, ...] = ("11357", "11358", "11359", "11360")
SECTION_COUNT = "count_{section}"  # count_11357 ... count_11360
LAST_CONVICTION = "last_conviction_date"  # (+ _latest, _partial)
DECEASED = "deceased"
PC290_REGISTRATION = "pc290_registration"
# The code-section text of each PC 290 offence / superstrike conviction, in file order,
# repeats kept, joined with ";" (the reference tool's cells, DOMAIN.md §6); null when none.
PC290_SECTIONS = "pc290_sections"
SUPERSTRIKE_SECTIONS = "superstrike_sections"
EARLIEST_PC290 = "earliest_pc290_date"  # offence conviction or registration (+ _latest)
EARLIEST_SUPERSTRIKE = "earliest_superstrike_date"  # (+ _latest)
ONLY_PROP64 = "only_prop64"  # every conviction is a Prop 64 conviction
LATEST_SENTENCE_END = "latest_sentence_end_date"  # max over convictions (+ _latest)
UNKNOWN_SENTENCE_END = "has_unknown_sentence_end"  # a sentence whose end can't be computed

# --- eligibility (transforms/eligibility.py), DOMAIN.md §4 -------------------------------
TARGET_COUNTY = "target_county"  # slug of the county table the row belongs to
IS_CANDIDATE = "is_candidate"  # counted P64 conviction in the target county
DETERMINATION = "determination"
REASON = "reason"
RULE_ID = "rule_id"
DECISION_INPUTS = "decision_inputs"
DISMISS_ALL_P64 = "determination_dismiss_all_prop64"
DISMISS_ALL_P64_RELATED = "determination_dismiss_all_prop64_related"

# --- law facts (issue 23, docs/laws.md §4): what the PC 1203.425 / 851.93 predicates read ----
# The contract between the per-subject pass that computes them (phase 2) and the law-pack
# compiler (transforms/law_eligibility.py). Each fact sits on the rows of its unit: a
# per-conviction fact on the counted conviction row (IS_COUNTED_CONVICTION; null on other
# rows), a per-subject fact on every row of the subject, a per-cycle fact on the row that
# stands for the arrest cycle (IS_ARREST_CYCLE_ROW; null on other rows). On the rows of its
# unit a null value means UNKNOWN (the record does not say), never "no": the compiler turns
# it into Hand Review with the predicate's own reason. Dates are intervals as above: <d> is
# the earliest possible day, <d>_latest the latest (null: open, a later day cannot be ruled
# out). Text wordings (revocation, dismissal, acquittal, diversion) and the vocabularies of
# conf/laws/ are applied when the facts are computed; every clock (compute-at, N years)
# is applied by the compiler, so a fact does not depend on the run's date.
#
# Per conviction (PC 1203.425's row; the existing CONVICTION_DATE, SECTION, SUBSECTION, CODE,
# ATTEMPTED are read as they are):
# Felony with UNKNOWN kept: CONV_STAT_DESCR is FELONY (false for another level), else
# OFFENSE_TOC is F when CONV_STAT_DESCR is blank; null when both are blank (IS_FELONY reads
# that as not a felony, DOMAIN.md §1; a law pack must not grant on it).
CONVICTION_FELONY = "conviction_felony"
# DISP_DESCR starts CONVICTED-PRISON, or a sentence part's SENT_LOC_DESCR is PRISON.
STATE_PRISON_SENTENCE = "state_prison_sentence"
# DISP_DESCR starts CONVICTED-PROBATION, or a sentence part's SENT_LOC_DESCR is PROBATION.
PROBATION_GRANTED = "probation_granted"
# Conviction date + the longest PROBATION part (calendar months; + _latest). Null: no
# probation, or a probation whose term the record does not give (then UNKNOWN).
PROBATION_END = "probation_end_date"
# A later step of the conviction's cycle whose DISP_DESCR or COMMENT_TEXT starts with a
# probation_revocation_descriptions prefix (pc1203.425 pack parameter).
PROBATION_REVOKED = "probation_revoked"
# The conviction's sentence end with its parts running concurrently from the conviction
# date (the longest part decides; FINE, or a part with neither location nor length: the
# conviction date; + _latest). Null: a part with a location but no usable length, or no
# conviction date. Not SENTENCE_END, which sums the parts (Prop 64, pinned).
SENTENCE_END_CONCURRENT = "sentence_end_concurrent_date"
# Other convictions of the subject that are surely felonies and surely dated after this
# one: the earliest of their latest possible days. Null: none.
LATER_FELONY = "later_felony_date"
# Other convictions that may be felonies (CONVICTION_FELONY true or null) and may be dated
# after this one: the earliest of their earliest possible days, an unknown day counting as
# this conviction's earliest day. Null: none. With LATER_FELONY it decides "no new felony
# within N years after the sentence" exactly (transforms/law_eligibility.py).
LATER_FELONY_POSSIBLE = "later_felony_possible_date"
# Membership of the conviction (or of an enhancement count of its case: same first six
# digits of CNT_ORDER) in a conf/laws/vocabularies list: true / false / null (a
# fact-dependent entry, a conviction naming less than the entry needs, or a code section
# not read). One column per list: in_serious_felony, in_violent_felony, in_pc290_offense,
# in_pc1203_4b (vocabulary_column).
VOCABULARY_COLUMN = "in_{name}"
LAW_VOCABULARIES: tuple[str, ...] = (
    "serious_felony",
    "violent_felony",
    "pc290_offense",
    "pc1203_4b",
)
# Per subject (every row of the subject):
# A REGISTRATION step whose code section starts 290, or a conviction of a non-fact-dependent
# pc290-offenses.yaml entry, at any date.
PC290_REGISTRANT = "pc290_registrant"
# The subject id is in the run's Supervised Release File (true), a file was given and it is
# not (false); null: no file given (UNKNOWN: "Supervised Release File not checked").
SUPERVISED_RELEASE_ACTIVE = "supervised_release_active"
# The latest SENTENCE_END_CONCURRENT over the subject's convictions whose end is known:
# <d> the largest earliest day, <d>_latest the largest latest day (null: one is open). Both
# null: no known end.
KNOWN_SENTENCE_END = "known_sentence_end_date"
# A conviction of the subject whose SENTENCE_END_CONCURRENT is unknown (null).
HAS_UNKNOWN_SENTENCE_END = "has_unknown_concurrent_sentence_end"
# The latest conviction date among those convictions (+ _latest, null when one of their
# dates is unknown or open): what SB 834's "presumed completed after N years" reads.
UNKNOWN_END_CONVICTION = "unknown_end_conviction_date"
# An open arrest cycle: an ARREST/DETAINED/CITED step, no COURT ACTION step and a blank
# DISP_DESCR on every arrest line (a pending charge).
HAS_OPEN_CYCLE = "has_open_arrest_cycle"
# An open cycle none of whose lines has a date (it is pending whatever the inactivity cut).
OPEN_CYCLE_UNDATED = "open_arrest_cycle_undated"
# Over the dated open cycles, the latest day of activity (STP_EVENT_DATE / DISP_DATE of any
# line of the cycle): <d> the largest earliest day, <d>_latest the largest latest day.
OPEN_CYCLE_ACTIVITY = "open_cycle_activity_date"
# Per arrest cycle (PC 851.93's row):
CYCLE = "cycle"  # first 3 digits of CNT_ORDER; on every row
# True on the one line that stands for its arrest cycle (the first ARREST/DETAINED/CITED
# line of the cycle in file order), false on every other row: the cycle facts sit there.
IS_ARREST_CYCLE_ROW = "is_arrest_cycle_row"
CYCLE_HAS_CONVICTION = "cycle_has_conviction"  # a DISP_DESCR of the cycle starts CONVICTED
# The earliest STP_EVENT_DATE of the cycle's arrest lines (+ _latest); <d> null when one of
# them is blank.
ARREST_DATE = "arrest_date"
# The most serious OFFENSE_TOC of the arrest lines: "F", "M" or "I"; null: none recorded.
ARREST_OFFENSE_CLASS = "arrest_offense_class"
CYCLE_NO_COURT_ACTION = "cycle_no_court_action"  # no COURT ACTION step in the cycle
# A COURT ACTION exists and every court line's DISP_DESCR starts with a
# dismissal_descriptions prefix (pc851.93 pack parameter).
CYCLE_DISMISSED = "cycle_dismissed"
# A court line's DISP_DESCR starts with an acquittal_descriptions prefix.
CYCLE_ACQUITTED = "cycle_acquitted"
# A line of the cycle whose DISP_DESCR or COMMENT_TEXT starts with a
# diversion_completed_descriptions prefix.
CYCLE_DIVERSION_COMPLETED = "cycle_diversion_completed"
# Every felony count (OFFENSE_TOC F) of the arrest lines has a maximum term in
# conf/laws/vocabularies/max-terms.yaml (not an attempt, not a fact-dependent entry);
# false when there is none or one is not known.
ARREST_MAX_TERM_KNOWN = "arrest_max_term_known"
# The largest known maximum term (years; 99: life) of those felony counts; null: none known.
ARREST_MAX_TERM_YEARS = "arrest_max_term_years"

# The law-pack outputs: the Prop 64 columns above keep their names (the pinned tables); a
# law's own columns are named by law_column(law, DETERMINATION) -> "pc1203_425_determination".
CITATION = "citation"  # the statute clause of the rule that decided (law packs)
LAW_CANDIDATE = "candidate"  # law_column(law, LAW_CANDIDATE): the row is the law's candidate
# law_column(law, CANDIDATE_LINE): the line is the law's candidate in some county (the facts
# pass, transforms/law_facts.py): a counted conviction for PC 1203.425, an arrest cycle's
# row without a conviction for PC 851.93. LAW_CANDIDATE then places it in a county table.
CANDIDATE_LINE = "candidate_line"
# Phase 2 (docs/laws.md §7): the laws whose candidates put the row's subject in this county
# table; per law, "new" (granted by this run) / "earlier" (by an earlier published run) and
# the run that first granted it (the warehouse's grants table).
TABLE_LAWS = "table_laws"
LAW_GRANT = "grant"
LAW_GRANTED_RUN = "granted_run"


class LawFact(NamedTuple):
    """One column of the law facts contract: name, Spark SQL type, unit, null meaning."""

    name: str
    type: str  # "boolean" | "date" | "int" | "string"
    unit: str  # "conviction" | "subject" | "arrest_cycle"
    unknown: str  # what a null means on a row of the unit


def vocabulary_column(name: str) -> str:
    return VOCABULARY_COLUMN.format(name=name)


def _dated(name: str, unit: str, unknown: str) -> tuple[LawFact, LawFact]:
    return (
        LawFact(name, "date", unit, unknown),
        LawFact(name + LATEST, "date", unit, "open: a later day cannot be ruled out"),
    )


LAW_FACTS: tuple[LawFact, ...] = (
    LawFact(CONVICTION_FELONY, "boolean", "conviction", "level not recorded"),
    LawFact(STATE_PRISON_SENTENCE, "boolean", "conviction", "unknown"),
    LawFact(PROBATION_GRANTED, "boolean", "conviction", "unknown"),
    *_dated(PROBATION_END, "conviction", "no probation, or its term unknown"),
    LawFact(PROBATION_REVOKED, "boolean", "conviction", "unknown"),
    *_dated(SENTENCE_END_CONCURRENT, "conviction", "sentence end unknown"),
    LawFact(LATER_FELONY, "date", "conviction", "no later felony for sure"),
    LawFact(LATER_FELONY_POSSIBLE, "date", "conviction", "no possible later felony"),
    *(
        LawFact(vocabulary_column(n), "boolean", "conviction", "depends on facts / not read")
        for n in LAW_VOCABULARIES
    ),
    LawFact(PC290_REGISTRANT, "boolean", "subject", "unknown"),
    LawFact(SUPERVISED_RELEASE_ACTIVE, "boolean", "subject", "no Supervised Release File"),
    *_dated(KNOWN_SENTENCE_END, "subject", "no known sentence end"),
    LawFact(HAS_UNKNOWN_SENTENCE_END, "boolean", "subject", "unknown"),
    *_dated(UNKNOWN_END_CONVICTION, "subject", "none, or a date unknown"),
    LawFact(HAS_OPEN_CYCLE, "boolean", "subject", "unknown"),
    LawFact(OPEN_CYCLE_UNDATED, "boolean", "subject", "unknown"),
    *_dated(OPEN_CYCLE_ACTIVITY, "subject", "no dated open cycle"),
    LawFact(CYCLE, "string", "arrest_cycle", "no CNT_ORDER"),
    LawFact(IS_ARREST_CYCLE_ROW, "boolean", "arrest_cycle", "never null"),
    LawFact(CYCLE_HAS_CONVICTION, "boolean", "arrest_cycle", "unknown"),
    *_dated(ARREST_DATE, "arrest_cycle", "an arrest line undated"),
    LawFact(ARREST_OFFENSE_CLASS, "string", "arrest_cycle", "offense level not recorded"),
    LawFact(CYCLE_NO_COURT_ACTION, "boolean", "arrest_cycle", "unknown"),
    LawFact(CYCLE_DISMISSED, "boolean", "arrest_cycle", "unknown"),
    LawFact(CYCLE_ACQUITTED, "boolean", "arrest_cycle", "unknown"),
    LawFact(CYCLE_DIVERSION_COMPLETED, "boolean", "arrest_cycle", "unknown"),
    LawFact(ARREST_MAX_TERM_KNOWN, "boolean", "arrest_cycle", "unknown"),
    LawFact(ARREST_MAX_TERM_YEARS, "int", "arrest_cycle", "no felony count's term known"),
)


def date_latest(column: str) -> str:
    return column + LATEST


def date_partial(column: str) -> str:
    return column + PARTIAL


def section_count(section: str) -> str:
    return SECTION_COUNT.format(section=section)


def law_column(law: str, column: str) -> str:
    """A law pack's own column: ``law_column("pc1203.425", DETERMINATION)`` is
    ``pc1203_425_determination`` (dots are awkward in Spark and Delta column names)."""
    return law.replace(".", "_") + "_" + column


def _derived_names() -> list[str]:
    return [
        value
        for name, value in globals().items()
        if name.isupper() and isinstance(value, str) and value.islower() and value.isidentifier()
    ]


# Spark and Delta compare column names case-insensitively: no derived column may shadow a
# DOJ column (see DOJ_RECORD_ID).
_stored = {stored_name(c).upper() for c in DOJ_COLUMNS}
_clashes = {n for n in _derived_names() if n.upper() in _stored}
assert not _clashes, f"derived columns clash with DOJ columns: {_clashes}"
