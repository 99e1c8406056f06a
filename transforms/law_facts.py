"""The law facts pass (issue 23, phase 2): LAW_FACTS of every line, as an Arrow kernel.

:func:`law_facts` reads a subject-sorted pyarrow Table of normalized lines (complete
subjects, each subject's lines in file order; the columns of :data:`LAW_LINE_INPUTS`) and
returns one row per input line, in the same order, with the columns of
transforms/columns.py ``LAW_FACTS`` (docs/laws.md §4) and the candidate flag of each
statewide law (:data:`CANDIDATE_LINE_COLUMNS`). A fact sits on the rows of its unit and is
null elsewhere: a per-conviction fact on the counted conviction row (the first conviction
line of its CNT_ORDER, as transforms/history.py counts it), a per-subject fact on every
row, a per-cycle fact on the cycle's first ARREST/DETAINED/CITED line (CYCLE on every
row). On the rows of its unit a null is UNKNOWN.

Everything is a numpy / pyarrow segment reduction over group ids (subject, cycle, CNT_ORDER,
case) of the sorted rows: no Python per row. The only Python loops run once per DISTINCT
code section (vocabulary membership and maximum terms, a few hundred per extract) and once
per vocabulary entry or wording prefix. "Later felony" pairs each counted conviction with
the other counted convictions of its subject (sum of k² pairs, k the convictions of a
subject), built with numpy repeats.

Readings (docs/laws.md §4; the stand-in tests/law_facts.py and the evaluator
tests/law_evaluator.py read the raw lines the same way on full dates):

- Text fields are read trimmed, upper-cased, and blank when they hold only spaces and dashes
  (DOMAIN.md §1 placeholders). Wording prefixes (revocation, dismissal, acquittal,
  diversion) match the start of DISP_DESCR or COMMENT_TEXT, in any case.
- Dates are intervals: <d> the earliest possible day, <d>_latest the latest (normalize's
  partial dates). Dates computed from a conviction date keep both bounds; a sentence part
  is ``add_months(conviction date, sentence_months) + sentence_days`` (calendar months, day
  clipped to the month's end, as transforms/history.py), capped at 9999-12-31.
- Sentence parts of a conviction: the lines of its CNT_ORDER from the counted line on. A
  FINE part, or a part with neither location nor length, ends on the conviction date; a
  part with a location or length but no usable length is unknown.
- The wording parameters and the vocabularies come from the packs (:class:`LawFactSettings`);
  no fact depends on the run's date (the compiler applies the clocks).

:func:`with_law_facts` is the Spark wrapper (repartition by subject, sort within partitions
in file order, ``mapInArrow`` with the last subject of a batch carried to the next), so the
pass runs today and can be fused into the speed issue's history kernel later.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from relief.transforms.columns import (
    ARREST_DATE,
    ARREST_MAX_TERM_KNOWN,
    ARREST_MAX_TERM_YEARS,
    ARREST_OFFENSE_CLASS,
    ATTEMPTED,
    CANDIDATE_LINE,
    CODE,
    COMMENT_TEXT,
    CONV_STAT_DESCR,
    CONVICTION_DATE,
    CONVICTION_FELONY,
    COUNT_ORDER,
    CYCLE,
    CYCLE_ACQUITTED,
    CYCLE_DISMISSED,
    CYCLE_DIVERSION_COMPLETED,
    CYCLE_HAS_CONVICTION,
    CYCLE_NO_COURT_ACTION,
    DISP_DESCR,
    DISPOSITION_DATE,
    EVENT_DATE,
    HAS_OPEN_CYCLE,
    HAS_UNKNOWN_SENTENCE_END,
    INPUT_INDEX,
    IS_ARREST_CYCLE_ROW,
    IS_CONVICTION,
    KNOWN_SENTENCE_END,
    LATER_FELONY,
    LATER_FELONY_POSSIBLE,
    LAW_FACTS,
    LAW_VOCABULARIES,
    OFFENSE_TOC,
    OPEN_CYCLE_ACTIVITY,
    OPEN_CYCLE_UNDATED,
    PC290_REGISTRANT,
    PROBATION_END,
    PROBATION_GRANTED,
    PROBATION_REVOKED,
    SECTION,
    SENT_LENGTH,
    SENT_LOC_DESCR,
    SENTENCE_DAYS,
    SENTENCE_END_CONCURRENT,
    SENTENCE_MONTHS,
    SOURCE_LINE,
    STATE_PRISON_SENTENCE,
    STEP_TYPE,
    SUBJECT,
    SUBSECTION,
    SUPERVISED_RELEASE_ACTIVE,
    UNKNOWN_END_CONVICTION,
    date_latest,
    law_column,
    vocabulary_column,
)
from relief.transforms.policy import parse_code_section

PC1203_425 = "pc1203.425"
PC851_93 = "pc851.93"
STATEWIDE_LAWS: tuple[str, ...] = (PC1203_425, PC851_93)

CANDIDATE_LINE_COLUMNS: tuple[str, ...] = tuple(
    law_column(law, CANDIDATE_LINE) for law in STATEWIDE_LAWS
)

ARREST_STEP = "ARREST/DETAINED/CITED"
COURT_STEP = "COURT ACTION"
REGISTRATION_STEP = "REGISTRATION"
CONVICTED_PRISON = "CONVICTED-PRISON"
CONVICTED_PROBATION = "CONVICTED-PROBATION"
PRISON, PROBATION, FINE = "PRISON", "PROBATION", "FINE"
PC290_SECTION_PREFIX = "290"
_SEVERITY = {"I": 1, "M": 2, "F": 3}
DEFAULT_CODES: tuple[str, ...] = ("BP", "HS", "PC", "VC", "WI")

# The normalized columns the kernel reads (arrow types). The DOJ text columns are read raw.
LAW_LINE_INPUTS: tuple[tuple[str, pa.DataType], ...] = (
    (SUBJECT, pa.string()),
    (COUNT_ORDER, pa.string()),
    (STEP_TYPE, pa.string()),
    (IS_CONVICTION, pa.bool_()),
    (EVENT_DATE, pa.date32()),
    (date_latest(EVENT_DATE), pa.date32()),
    (DISPOSITION_DATE, pa.date32()),
    (date_latest(DISPOSITION_DATE), pa.date32()),
    (CONVICTION_DATE, pa.date32()),
    (date_latest(CONVICTION_DATE), pa.date32()),
    (SECTION, pa.string()),
    (SUBSECTION, pa.string()),
    (CODE, pa.string()),
    (ATTEMPTED, pa.bool_()),
    (SENTENCE_MONTHS, pa.int32()),
    (SENTENCE_DAYS, pa.int32()),
    (DISP_DESCR, pa.string()),
    (CONV_STAT_DESCR, pa.string()),
    (OFFENSE_TOC, pa.string()),
    (COMMENT_TEXT, pa.string()),
    (SENT_LOC_DESCR, pa.string()),
    (SENT_LENGTH, pa.string()),
)
# The file order the wrapper sorts each subject's lines in.
FILE_ORDER: tuple[str, ...] = (INPUT_INDEX, SOURCE_LINE)

_ARROW_TYPES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "int": pa.int32(),
    "string": pa.string(),
}


def output_schema() -> pa.Schema:
    """What :func:`law_facts` returns: LAW_FACTS then the candidate flags."""
    fields = [pa.field(f.name, _ARROW_TYPES[f.type]) for f in LAW_FACTS]
    fields += [pa.field(name, pa.bool_()) for name in CANDIDATE_LINE_COLUMNS]
    return pa.schema(fields)


# --- settings: the packs' wording parameters and vocabularies --------------------------------


@dataclass(frozen=True)
class Entry:
    """A vocabulary or max-term entry, parsed once."""

    section: str
    subsection: str
    code: str | None
    fact_dependent: bool = False
    enhancement: bool = False
    max_years: int | None = None

    @classmethod
    def parse(cls, text: str, **extra: Any) -> Entry:
        pattern = parse_code_section(text)
        return cls(pattern.section, pattern.subsection, pattern.code, **extra)


@dataclass(frozen=True)
class LawFactSettings:
    """What the facts depend on besides the lines: vocabularies, wordings, the SRF."""

    vocabularies: Mapping[str, tuple[Entry, ...]]
    max_terms: tuple[Entry, ...]
    revocation: tuple[str, ...]
    dismissal: tuple[str, ...]
    acquittal: tuple[str, ...]
    diversion: tuple[str, ...]
    # Subject ids of the Supervised Release File; None: no file given (facts null). The
    # Spark wrapper joins the file instead of shipping it with every task.
    supervised_release: frozenset[str] | None = field(default=None)
    # The codes a section may run into without a space ("459PC"): conf/offenses.yaml codes.
    codes: tuple[str, ...] = DEFAULT_CODES


def law_fact_settings(
    packs: Any,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    supervised_release: Iterable[str] | None = None,
    codes: Iterable[str] | None = None,
) -> LawFactSettings:
    """Settings from the loaded packs (jobs/config/laws.py LawPacks) with the parameter
    overrides of each law (``{"pc1203.425": {...}}``), as a run resolves them."""
    overrides = overrides or {}
    p1203 = packs.require(PC1203_425).parameter_values(overrides.get(PC1203_425))
    p851 = packs.require(PC851_93).parameter_values(overrides.get(PC851_93))
    vocabularies = {
        name: tuple(
            Entry.parse(e.code_section, fact_dependent=e.fact_dependent, enhancement=e.enhancement)
            for e in vocabulary.entries
        )
        for name, vocabulary in packs.vocabularies.items()
    }
    terms: tuple[Entry, ...] = ()
    if packs.max_terms is not None:
        terms = tuple(
            Entry.parse(e.code_section, fact_dependent=e.fact_dependent, max_years=e.max_years)
            for e in packs.max_terms.entries
        )
    return LawFactSettings(
        vocabularies=vocabularies,
        max_terms=terms,
        revocation=tuple(p1203["probation_revocation_descriptions"]),
        dismissal=tuple(p851["dismissal_descriptions"]),
        acquittal=tuple(p851["acquittal_descriptions"]),
        diversion=tuple(p851["diversion_completed_descriptions"]),
        supervised_release=None if supervised_release is None else frozenset(supervised_release),
        codes=DEFAULT_CODES if codes is None else tuple(codes),
    )


# --- three-valued values as int8: 0 false, 1 unknown, 2 true (Kleene OR is max) --------------

_F, _U, _T = 0, 1, 2


def _truth_array(values: np.ndarray) -> pa.Array:
    """int8 Kleene codes -> nullable booleans."""
    return pa.array(values == _T, mask=values == _U)


def _in_entry(section: str, subsection: str | None, code: str | None, entry: Entry) -> int:
    """Does a conviction's code section fall under an entry (docs/laws.md §3)?"""
    if section != entry.section:
        return _F
    if entry.code is not None and code is not None and code != entry.code:
        return _F
    if subsection is None:  # a section found but the rest not read (normalize)
        return _U
    if subsection.startswith(entry.subsection):
        return _U if entry.fact_dependent else _T
    if entry.subsection.startswith(subsection):
        return _U  # the conviction names less than the entry needs
    return _F


def law_code_section(
    key: tuple[Any, ...], codes: Sequence[str]
) -> tuple[str | None, str | None, str | None, bool]:
    """normalize's (section, subsection, code, attempted) as the law vocabularies read it.

    normalize reads a section that runs into two letters at the end as a section with a
    letter suffix ("459PC" -> section 459pc, no code: transforms/normalize.py's grammar,
    kept for Prop 64). When those letters are a code of conf/offenses.yaml the law facts read
    them as the code (459 PC): a listed felony written without a space must not read as an
    unlisted section, which would make a serious felony look like any other."""
    section, subsection, code, attempted = key
    if section is not None and code is None:
        match = _SECTION_CODE.match(section)
        if match and match.group(2).upper() in codes:
            return match.group(1), subsection, match.group(2).upper(), bool(attempted)
    return section, subsection, code, bool(attempted)


_SECTION_CODE = re.compile(r"^(\d+(?:\.\d+)?)([a-z]{2,4})$")


def _member(key: tuple[Any, ...], entries: Sequence[Entry]) -> int:
    section, subsection, code, _ = key
    if section is None:
        return _U
    found = _F
    for entry in entries:
        found = max(found, _in_entry(section, subsection, code, entry))
        if found == _T:
            break
    return found


def _max_term(key: tuple[Any, ...], entries: Sequence[Entry]) -> int | None:
    """Maximum years of a felony count; None: not in the table, an attempt, or facts."""
    section, subsection, code, attempted = key
    if section is None or attempted:
        return None
    found: int | None = None
    for entry in entries:
        member = _in_entry(section, subsection, code, entry)
        if member == _T:
            found = entry.max_years
        elif member == _U:
            return None
    return found


# --- arrays ----------------------------------------------------------------------------------

_NO_DAY = np.iinfo(np.int64).min  # sentinel of a null day in the int64 day arrays
_MAX_DAY = (dt.date(9999, 12, 31) - dt.date(1970, 1, 1)).days
_MIN_DAY = (dt.date(1, 1, 1) - dt.date(1970, 1, 1)).days


def _text(table: pa.Table, name: str) -> pa.Array:
    """A DOJ text column as the rules read it: trimmed, upper case, "" when blank or a
    placeholder (only spaces and dashes)."""
    column = pc.fill_null(table.column(name).combine_chunks().cast(pa.string()), "")
    trimmed = pc.utf8_upper(pc.utf8_trim_whitespace(column))
    return pc.if_else(pc.match_substring_regex(trimmed, r"^[ \-]*$"), "", trimmed)


def _starts(text: pa.Array, prefixes: Sequence[str]) -> np.ndarray:
    found = np.zeros(len(text), dtype=bool)
    for prefix in prefixes:
        found |= pc.starts_with(text, prefix.upper()).to_numpy(zero_copy_only=False)
    return found


def _bools(table: pa.Table, name: str) -> np.ndarray:
    return pc.fill_null(table.column(name).combine_chunks(), False).to_numpy(zero_copy_only=False)


def _days(table: pa.Table, name: str) -> np.ndarray:
    """A date32 column as int64 days, _NO_DAY where null."""
    column = table.column(name).combine_chunks().cast(pa.int32())
    return pc.fill_null(column.cast(pa.int64()), _NO_DAY).to_numpy(zero_copy_only=False)


def _ints(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    column = table.column(name).combine_chunks().cast(pa.int64())
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    return pc.fill_null(column, 0).to_numpy(zero_copy_only=False), valid


def _date_array(days: np.ndarray) -> pa.Array:
    valid = days != _NO_DAY
    values = np.where(valid, np.clip(days, _MIN_DAY, _MAX_DAY), 0).astype(np.int32)
    return pa.array(values, mask=~valid).cast(pa.date32())


def _bool_array(values: np.ndarray, on: np.ndarray) -> pa.Array:
    """Booleans on the rows of ``on``, null elsewhere."""
    return pa.array(values.astype(bool), mask=~on)


def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Calendar months added to days (int64 since 1970-01-01), the day clipped to the
    month's end (Spark's add_months); _NO_DAY stays _NO_DAY."""
    valid = days != _NO_DAY
    safe = np.where(valid, days, 0)
    day = safe.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    of_month = (day - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.clip(months, -12 * 20000, 12 * 20000).astype("timedelta64[M]")
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    out = target.astype("datetime64[D]").astype(np.int64) + np.minimum(of_month, length - 1)
    return np.where(valid, out, _NO_DAY)


def _group_ids(*keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense ids of the distinct key tuples (int64 keys), and how many there are."""
    stacked = np.stack(keys, axis=1) if len(keys) > 1 else keys[0][:, None]
    _, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return inverse, int(inverse.max()) + 1 if len(inverse) else 0


def _codes(values: pa.Array) -> np.ndarray:
    """Dense int64 codes of a string array (nulls: -1)."""
    encoded = pc.dictionary_encode(values).indices
    return pc.fill_null(encoded.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)


def _reduce(
    ufunc: np.ufunc,
    groups: np.ndarray,
    n: int,
    values: np.ndarray,
    start: Any,
    where: np.ndarray | None = None,
) -> np.ndarray:
    """``ufunc`` (np.maximum, np.minimum) of ``values`` per group, ``start`` where none."""
    out = np.full(n, start, dtype=values.dtype)
    if where is None:
        ufunc.at(out, groups, values)
    else:
        ufunc.at(out, groups[where], values[where])
    return out


def _any(groups: np.ndarray, n: int, flags: np.ndarray) -> np.ndarray:
    return np.bincount(groups[flags], minlength=n) > 0


def _max_days(groups: np.ndarray, n: int, days: np.ndarray, where: np.ndarray) -> np.ndarray:
    return _reduce(np.maximum, groups, n, days, _NO_DAY, where)


def _min_days(groups: np.ndarray, n: int, days: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Min over ``where`` rows; _NO_DAY for a group with none."""
    big = np.iinfo(np.int64).max
    out = _reduce(np.minimum, groups, n, days, big, where)
    return np.where(out == big, _NO_DAY, out)


# --- the kernel ------------------------------------------------------------------------------


def law_facts(lines: pa.Table, settings: LawFactSettings) -> pa.Table:
    """LAW_FACTS and the candidate flags of every line (module docstring).

    ``lines``: complete subjects, sorted by subject, each subject's lines in file order,
    with the columns of :data:`LAW_LINE_INPUTS` (others are ignored). When it already holds
    SUPERVISED_RELEASE_ACTIVE (the Spark wrapper joined the file), that column is kept.
    """
    n = lines.num_rows
    if n == 0:
        return output_schema().empty_table()
    rows = np.arange(n)
    subject = lines.column(SUBJECT).combine_chunks().cast(pa.string())
    sid = _codes(subject)
    order = pc.fill_null(lines.column(COUNT_ORDER).combine_chunks().cast(pa.string()), "")
    has_order = pc.not_equal(order, "").to_numpy(zero_copy_only=False)
    cycle_text = pc.utf8_slice_codeunits(order, 0, 3)
    step_text = pc.utf8_slice_codeunits(order, 3, 6)
    case_text = pc.utf8_slice_codeunits(order, 0, 6)
    step_type = _text(lines, STEP_TYPE)
    is_arrest = pc.equal(step_type, ARREST_STEP).to_numpy(zero_copy_only=False)
    is_court = pc.equal(step_type, COURT_STEP).to_numpy(zero_copy_only=False)
    is_registration = pc.equal(step_type, REGISTRATION_STEP).to_numpy(zero_copy_only=False)
    disp = _text(lines, DISP_DESCR)
    comment = _text(lines, COMMENT_TEXT)
    disp_given = pc.not_equal(disp, "").to_numpy(zero_copy_only=False)
    convicted = _bools(lines, IS_CONVICTION)

    # Groups: the cycle (null CNT_ORDER lines share the cycle ""), the count (a line without
    # CNT_ORDER stands alone, as transforms/history.py counts it), the case (cycle + step).
    cycle_g, n_cycles = _group_ids(sid, _codes(cycle_text))
    count_g, n_counts = _group_ids(sid, np.where(has_order, _codes(order), -1 - rows))
    case_g, n_cases = _group_ids(sid, _codes(case_text))

    # --- counted convictions and their sentence parts ---------------------------------------
    big = np.iinfo(np.int64).max
    first_conviction = _reduce(np.minimum, count_g, n_counts, rows, big, convicted)
    counted = convicted & (first_conviction[count_g] == rows)
    conviction_row = first_conviction[count_g]  # the group's counted line (big: none)
    is_part = conviction_row <= rows  # a line of a convicted CNT_ORDER from the counted one on
    anchor = np.where(is_part, conviction_row, 0)

    conv_lo = _days(lines, CONVICTION_DATE)
    conv_hi = _days(lines, date_latest(CONVICTION_DATE))
    part_conv_lo, part_conv_hi = conv_lo[anchor], conv_hi[anchor]
    location = _text(lines, SENT_LOC_DESCR)
    length_given = pc.not_equal(_text(lines, SENT_LENGTH), "").to_numpy(zero_copy_only=False)
    loc_blank = pc.equal(location, "").to_numpy(zero_copy_only=False)
    is_fine = pc.equal(location, FINE).to_numpy(zero_copy_only=False)
    is_prison_part = pc.equal(location, PRISON).to_numpy(zero_copy_only=False)
    is_probation_part = pc.equal(location, PROBATION).to_numpy(zero_copy_only=False)
    months, months_known = _ints(lines, SENTENCE_MONTHS)
    days_, _ = _ints(lines, SENTENCE_DAYS)
    on_conviction_date = is_fine | (loc_blank & ~length_given)
    computed_lo = add_months(part_conv_lo, months)
    computed_hi = add_months(part_conv_hi, months)
    computed_lo = np.where(computed_lo == _NO_DAY, _NO_DAY, computed_lo + days_)
    computed_hi = np.where(computed_hi == _NO_DAY, _NO_DAY, computed_hi + days_)
    part_lo = np.where(on_conviction_date, part_conv_lo, np.where(months_known, computed_lo,
                                                                   _NO_DAY))  # fmt: skip
    part_hi = np.where(on_conviction_date, part_conv_hi, np.where(months_known, computed_hi,
                                                                   _NO_DAY))  # fmt: skip
    part_lo = np.where(part_conv_lo == _NO_DAY, _NO_DAY, part_lo)
    part_hi = np.where(part_lo == _NO_DAY, _NO_DAY, part_hi)

    def concurrent_end(which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per count group: the longest of the ``which`` parts (null when one is unknown or
        there is none); the latest day open when one part's is."""
        parts = is_part & which
        unknown = _any(count_g, n_counts, parts & (part_lo == _NO_DAY))
        present = _any(count_g, n_counts, parts)
        lo = _max_days(count_g, n_counts, part_lo, parts)
        hi = _max_days(count_g, n_counts, part_hi, parts)
        open_hi = _any(count_g, n_counts, parts & (part_hi == _NO_DAY))
        lo = np.where(unknown | ~present, _NO_DAY, lo)
        hi = np.where(unknown | ~present | open_hi, _NO_DAY, hi)
        return lo[count_g], hi[count_g]

    end_lo, end_hi = concurrent_end(np.ones(n, dtype=bool))
    probation_lo, probation_hi = concurrent_end(is_probation_part)
    prison = _any(count_g, n_counts, is_part & is_prison_part)[count_g] | pc.starts_with(
        disp, CONVICTED_PRISON
    ).to_numpy(zero_copy_only=False)
    probation = _any(count_g, n_counts, is_part & is_probation_part)[count_g] | pc.starts_with(
        disp, CONVICTED_PROBATION
    ).to_numpy(zero_copy_only=False)
    probation_lo = np.where(probation, probation_lo, _NO_DAY)
    probation_hi = np.where(probation, probation_hi, _NO_DAY)

    # Felony with UNKNOWN kept (CONVICTION_FELONY).
    status = _text(lines, CONV_STAT_DESCR)
    toc = _text(lines, OFFENSE_TOC)
    status_given = pc.not_equal(status, "").to_numpy(zero_copy_only=False)
    toc_given = pc.not_equal(toc, "").to_numpy(zero_copy_only=False)
    felony = np.where(
        status_given,
        np.where(pc.equal(status, "FELONY").to_numpy(zero_copy_only=False), _T, _F),
        np.where(toc_given, np.where(pc.equal(toc, "F").to_numpy(zero_copy_only=False), _T, _F),
                 _U),
    )  # fmt: skip

    # Revocation: a later step of the conviction's cycle whose DISP_DESCR or COMMENT_TEXT
    # starts with a revocation wording.
    step_number = pc.fill_null(
        pc.cast(pc.if_else(pc.match_substring_regex(step_text, r"^\d{3}$"), step_text, "-1"),
                pa.int64()), -1
    ).to_numpy(zero_copy_only=False)  # fmt: skip
    revocation = _starts(disp, settings.revocation) | _starts(comment, settings.revocation)
    last_revocation = _reduce(np.maximum, cycle_g, n_cycles, step_number, -2, revocation)
    revoked = last_revocation[cycle_g] > step_number

    # Vocabularies and maximum terms: once per distinct code section.
    keys = list(
        zip(
            lines.column(SECTION).to_pylist(),
            lines.column(SUBSECTION).to_pylist(),
            lines.column(CODE).to_pylist(),
            pc.fill_null(lines.column(ATTEMPTED), False).to_pylist(),
            strict=True,
        )
    )
    raw_distinct = list(dict.fromkeys(keys))
    key_index = {key: i for i, key in enumerate(raw_distinct)}
    key_of_row = np.fromiter((key_index[k] for k in keys), dtype=np.int64, count=n)
    distinct = [law_code_section(k, settings.codes) for k in raw_distinct]
    vocab_values: dict[str, np.ndarray] = {}
    for name in LAW_VOCABULARIES:
        entries = settings.vocabularies.get(name, ())
        whole = np.array([_member(k, entries) for k in distinct], dtype=np.int8)[key_of_row]
        enhancements = [e for e in entries if e.enhancement]
        if enhancements:
            enhancing = np.array([_member(k, enhancements) for k in distinct], dtype=np.int8)
            by_case = _reduce(np.maximum, case_g, n_cases, enhancing[key_of_row].astype(np.int8),
                              np.int8(_F), counted)  # fmt: skip
            unread = np.array([k[0] is None for k in distinct])[key_of_row]
            whole = np.where(unread, _U, np.maximum(whole, by_case[case_g])).astype(np.int8)
        vocab_values[name] = whole
    pc290_entries = tuple(e for e in settings.vocabularies.get("pc290_offense", ())
                          if not e.fact_dependent)  # fmt: skip
    pc290_strict = np.array([_member(k, pc290_entries) == _T for k in distinct], dtype=bool)[
        key_of_row
    ]
    terms = np.array(
        [-1 if (t := _max_term(k, settings.max_terms)) is None else t for k in distinct],
        dtype=np.int64,
    )[key_of_row]

    # Later felonies: pairs of counted convictions of one subject.
    convictions = np.flatnonzero(counted)
    convictions = convictions[np.argsort(sid[convictions], kind="stable")]
    later_sure = np.full(n, _NO_DAY, dtype=np.int64)
    later_possible = np.full(n, _NO_DAY, dtype=np.int64)
    if len(convictions):
        c_sid = sid[convictions]
        _, first_of, per_subject = np.unique(c_sid, return_index=True, return_counts=True)
        rank = np.searchsorted(np.unique(c_sid), c_sid)
        k = per_subject[rank]
        i = np.repeat(np.arange(len(convictions)), k)
        offsets = np.repeat(np.cumsum(k) - k, k)
        j = np.repeat(first_of[rank], k) + (np.arange(len(i)) - offsets)
        keep = i != j
        i, j = convictions[i[keep]], convictions[j[keep]]
        lo_i, hi_i, lo_j, hi_j = conv_lo[i], conv_hi[i], conv_lo[j], conv_hi[j]
        sure = (felony[j] == _T) & (lo_j != _NO_DAY) & (hi_i != _NO_DAY) & (lo_j > hi_i)
        sure &= hi_j != _NO_DAY
        big_day = np.iinfo(np.int64).max
        value = np.full(n, big_day, dtype=np.int64)
        np.minimum.at(value, i[sure], hi_j[sure])
        later_sure = np.where(value == big_day, _NO_DAY, value)
        before = (hi_j != _NO_DAY) & (lo_i != _NO_DAY) & (hi_j <= lo_i)
        possible = (felony[j] != _F) & ~before
        unknown_day = np.where(lo_i != _NO_DAY, lo_i, _MIN_DAY)
        day = np.where(lo_j != _NO_DAY, lo_j, unknown_day)
        value = np.full(n, big_day, dtype=np.int64)
        np.minimum.at(value, i[possible], day[possible])
        later_possible = np.where(value == big_day, _NO_DAY, value)

    # --- per subject ------------------------------------------------------------------------
    n_subjects = int(sid.max()) + 1
    registration_290 = is_registration & pc.fill_null(
        pc.starts_with(lines.column(SECTION).combine_chunks().cast(pa.string()),
                       PC290_SECTION_PREFIX), False
    ).to_numpy(zero_copy_only=False)  # fmt: skip
    registrant = _any(sid, n_subjects, registration_290 | (counted & pc290_strict))[sid]

    known_end = counted & (end_lo != _NO_DAY)
    unknown_end = counted & (end_lo == _NO_DAY)
    known_lo = _max_days(sid, n_subjects, end_lo, known_end)
    known_hi = _max_days(sid, n_subjects, end_hi, known_end)
    known_open = _any(sid, n_subjects, known_end & (end_hi == _NO_DAY))
    known_hi = np.where(known_open, _NO_DAY, known_hi)
    has_unknown = _any(sid, n_subjects, unknown_end)
    dated_unknown = unknown_end & (conv_lo != _NO_DAY)
    unknown_lo = _max_days(sid, n_subjects, conv_lo, dated_unknown)
    unknown_hi = _max_days(sid, n_subjects, conv_hi, dated_unknown)
    undated_unknown = _any(sid, n_subjects, unknown_end & (conv_hi == _NO_DAY))
    unknown_hi = np.where(undated_unknown, _NO_DAY, unknown_hi)

    # Open arrest cycles: an arrest step, no court action, no disposition at arrest.
    cycle_arrest = _any(cycle_g, n_cycles, is_arrest)
    cycle_court = _any(cycle_g, n_cycles, is_court)
    arrest_disposed = _any(cycle_g, n_cycles, is_arrest & disp_given)
    is_open = cycle_arrest & ~cycle_court & ~arrest_disposed
    line_days = []
    for name in (EVENT_DATE, DISPOSITION_DATE):
        lo, hi = _days(lines, name), _days(lines, date_latest(name))
        line_days.append((lo, hi))
    activity_lo = np.full(n_cycles, _NO_DAY, dtype=np.int64)
    activity_hi = np.full(n_cycles, _NO_DAY, dtype=np.int64)
    for lo, hi in line_days:
        dated = lo != _NO_DAY
        activity_lo = np.maximum(activity_lo, _max_days(cycle_g, n_cycles, lo, dated))
        activity_hi = np.maximum(activity_hi, _max_days(cycle_g, n_cycles, hi, dated))
    cycle_dated = activity_lo != _NO_DAY
    cycle_subject = _reduce(np.maximum, cycle_g, n_cycles, sid, -1)
    open_cycles = np.flatnonzero(is_open)
    has_open = _any(cycle_subject[open_cycles], n_subjects, np.ones(len(open_cycles), bool))
    open_undated = _any(cycle_subject[open_cycles], n_subjects, ~cycle_dated[open_cycles])
    dated_open = open_cycles[cycle_dated[open_cycles]]
    open_lo = _max_days(cycle_subject[dated_open], n_subjects, activity_lo[dated_open],
                        np.ones(len(dated_open), bool))  # fmt: skip
    open_hi = _max_days(cycle_subject[dated_open], n_subjects, activity_hi[dated_open],
                        np.ones(len(dated_open), bool))  # fmt: skip

    # --- per arrest cycle -------------------------------------------------------------------
    first_arrest = _reduce(np.minimum, cycle_g, n_cycles, rows, big, is_arrest)
    cycle_row = is_arrest & (first_arrest[cycle_g] == rows)
    has_conviction = _any(cycle_g, n_cycles, convicted)
    event_lo, event_hi = line_days[0]
    undated_arrest = _any(cycle_g, n_cycles, is_arrest & (event_lo == _NO_DAY))
    arrest_lo = np.where(undated_arrest, _NO_DAY,
                         _min_days(cycle_g, n_cycles, event_lo, is_arrest))  # fmt: skip
    arrest_hi = _min_days(cycle_g, n_cycles, event_hi, is_arrest & (event_hi != _NO_DAY))
    severity = np.zeros(n, dtype=np.int64)
    for letter, rank_ in _SEVERITY.items():
        severity[pc.equal(toc, letter).to_numpy(zero_copy_only=False)] = rank_
    level = _reduce(np.maximum, cycle_g, n_cycles, severity, 0, is_arrest)
    court_lines = is_court
    dismissal = _starts(disp, settings.dismissal)
    all_dismissed = cycle_court & ~_any(cycle_g, n_cycles, court_lines & ~dismissal)
    acquitted = _any(cycle_g, n_cycles, court_lines & _starts(disp, settings.acquittal))
    diversion = _any(
        cycle_g, n_cycles, _starts(disp, settings.diversion) | _starts(comment, settings.diversion)
    )
    felony_count = is_arrest & pc.equal(toc, "F").to_numpy(zero_copy_only=False)
    any_felony = _any(cycle_g, n_cycles, felony_count)
    term_unknown = _any(cycle_g, n_cycles, felony_count & (terms < 0))
    term_years = _reduce(np.maximum, cycle_g, n_cycles, terms, -1, felony_count & (terms >= 0))

    # --- the output -------------------------------------------------------------------------
    on_conv, on_cycle = counted, cycle_row
    every = np.ones(n, dtype=bool)
    g = cycle_g

    def conv_day(values: np.ndarray) -> pa.Array:
        return _date_array(np.where(on_conv, values, _NO_DAY))

    def cycle_day(values: np.ndarray) -> pa.Array:
        return _date_array(np.where(on_cycle, values[g], _NO_DAY))

    def subject_day(values: np.ndarray) -> pa.Array:
        return _date_array(values[sid])

    if SUPERVISED_RELEASE_ACTIVE in lines.column_names:
        supervised = lines.column(SUPERVISED_RELEASE_ACTIVE).combine_chunks().cast(pa.bool_())
    elif settings.supervised_release is None:
        supervised = pa.nulls(n, pa.bool_())
    else:
        listed = pa.array(sorted(settings.supervised_release), pa.string())
        supervised = pc.is_in(subject, value_set=listed)
    level_names = np.array([None, "I", "M", "F"], dtype=object)
    offense_class = level_names[np.where(on_cycle, level[g], 0)]
    years = term_years[g]
    columns: dict[str, pa.Array] = {
        CONVICTION_FELONY: _truth_array(np.where(on_conv, felony, _U)),
        STATE_PRISON_SENTENCE: _bool_array(prison, on_conv),
        PROBATION_GRANTED: _bool_array(probation, on_conv),
        PROBATION_END: conv_day(probation_lo),
        date_latest(PROBATION_END): conv_day(probation_hi),
        PROBATION_REVOKED: _bool_array(revoked, on_conv),
        SENTENCE_END_CONCURRENT: conv_day(end_lo),
        date_latest(SENTENCE_END_CONCURRENT): conv_day(end_hi),
        LATER_FELONY: conv_day(later_sure),
        LATER_FELONY_POSSIBLE: conv_day(later_possible),
        **{
            vocabulary_column(name): _truth_array(np.where(on_conv, vocab_values[name], _U))
            for name in LAW_VOCABULARIES
        },
        PC290_REGISTRANT: _bool_array(registrant, every),
        SUPERVISED_RELEASE_ACTIVE: supervised,
        KNOWN_SENTENCE_END: subject_day(known_lo),
        date_latest(KNOWN_SENTENCE_END): subject_day(known_hi),
        HAS_UNKNOWN_SENTENCE_END: _bool_array(has_unknown[sid], every),
        UNKNOWN_END_CONVICTION: subject_day(unknown_lo),
        date_latest(UNKNOWN_END_CONVICTION): subject_day(unknown_hi),
        HAS_OPEN_CYCLE: _bool_array(has_open[sid], every),
        OPEN_CYCLE_UNDATED: _bool_array(open_undated[sid], every),
        OPEN_CYCLE_ACTIVITY: subject_day(open_lo),
        date_latest(OPEN_CYCLE_ACTIVITY): subject_day(open_hi),
        CYCLE: pc.if_else(pa.array(has_order), cycle_text, pa.scalar(None, pa.string())),
        IS_ARREST_CYCLE_ROW: pa.array(cycle_row),
        CYCLE_HAS_CONVICTION: _bool_array(has_conviction[g], on_cycle),
        ARREST_DATE: cycle_day(arrest_lo),
        date_latest(ARREST_DATE): cycle_day(arrest_hi),
        ARREST_OFFENSE_CLASS: pa.array(offense_class, pa.string()),
        CYCLE_NO_COURT_ACTION: _bool_array(~cycle_court[g], on_cycle),
        CYCLE_DISMISSED: _bool_array(all_dismissed[g], on_cycle),
        CYCLE_ACQUITTED: _bool_array(acquitted[g], on_cycle),
        CYCLE_DIVERSION_COMPLETED: _bool_array(diversion[g], on_cycle),
        ARREST_MAX_TERM_KNOWN: _bool_array(any_felony[g] & ~term_unknown[g], on_cycle),
        ARREST_MAX_TERM_YEARS: pa.array(
            np.where(years >= 0, years, 0).astype(np.int32), mask=~(on_cycle & (years >= 0))
        ),
        law_column(PC1203_425, CANDIDATE_LINE): pa.array(counted),
        law_column(PC851_93, CANDIDATE_LINE): pa.array(cycle_row & ~has_conviction[g]),
    }
    schema = output_schema()
    return pa.table([columns[f.name].cast(f.type) for f in schema], schema=schema)


# --- streaming over batches, and the Spark wrapper -------------------------------------------


def law_facts_stream(
    batches: Iterable[pa.RecordBatch], settings: LawFactSettings, keep: Sequence[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """The kernel over a subject-sorted stream of batches: each batch's last subject (which
    may go on in the next batch) is carried over, so every call sees complete subjects.
    Yields the ``keep`` columns of the input (all when None) followed by the facts."""
    carry: pa.Table | None = None

    def emit(table: pa.Table) -> Iterator[pa.RecordBatch]:
        facts = law_facts(table, settings)
        kept = table.select(list(keep)) if keep is not None else table
        if SUPERVISED_RELEASE_ACTIVE in kept.column_names:
            kept = kept.drop_columns([SUPERVISED_RELEASE_ACTIVE])
        out = pa.Table.from_arrays(
            [*kept.columns, *facts.columns], names=[*kept.column_names, *facts.column_names]
        )
        yield from out.to_batches()

    for batch in batches:
        if batch.num_rows == 0:
            continue
        table = pa.Table.from_batches([batch])
        if carry is not None:
            table = pa.concat_tables([carry, table])
        subject = table.column(SUBJECT).combine_chunks()
        last = subject[len(subject) - 1]
        same = pc.fill_null(pc.equal(subject, last), False).to_numpy(zero_copy_only=False)
        cut = int(np.flatnonzero(~same)[-1]) + 1 if (~same).any() else 0
        if cut:
            yield from emit(table.slice(0, cut))
        carry = table.slice(cut)
    if carry is not None and carry.num_rows:
        yield from emit(carry)


def spark_output_fields() -> list[Any]:
    from pyspark.sql.types import BooleanType, DateType, IntegerType, StringType, StructField

    kinds = {"boolean": BooleanType(), "date": DateType(), "int": IntegerType(),
             "string": StringType()}  # fmt: skip
    fields = [StructField(f.name, kinds[f.type], True) for f in LAW_FACTS]
    fields += [StructField(name, BooleanType(), True) for name in CANDIDATE_LINE_COLUMNS]
    return fields


def with_law_facts(
    df: Any,
    settings: LawFactSettings,
    supervised_release: Any = None,
    keep: Sequence[str] | None = None,
) -> Any:
    """Spark: normalized lines -> the same lines (or their ``keep`` columns) with LAW_FACTS
    and the candidate flags. ``supervised_release``: a DataFrame of one column, the subject
    ids of the Supervised Release File (jobs/warehouse/supervised_release.py), or None (no
    file: SUPERVISED_RELEASE_ACTIVE null). One shuffle by subject; no Python per row."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    rows = df
    if supervised_release is not None:
        listed = (
            supervised_release.select(F.trim(F.col(supervised_release.columns[0])).alias(SUBJECT))
            .distinct()
            .withColumn(SUPERVISED_RELEASE_ACTIVE, F.lit(True))
        )
        rows = rows.join(F.broadcast(listed), SUBJECT, "left").withColumn(
            SUPERVISED_RELEASE_ACTIVE, F.coalesce(F.col(SUPERVISED_RELEASE_ACTIVE), F.lit(False))
        )
        rows = rows.select(*df.columns, SUPERVISED_RELEASE_ACTIVE)
    if supervised_release is not None:
        settings = dataclasses.replace(settings, supervised_release=None)
    kept = list(keep) if keep is not None else list(df.columns)
    fields = [f for f in df.schema.fields if f.name in kept]
    fields = sorted(fields, key=lambda f: kept.index(f.name))
    schema = StructType([*fields, *spark_output_fields()])
    names = [f.name for f in fields]
    sorted_rows = rows.repartition(SUBJECT).sortWithinPartitions(SUBJECT, *FILE_ORDER)

    def run(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from law_facts_stream(batches, settings, names)

    return sorted_rows.mapInArrow(run, schema)
