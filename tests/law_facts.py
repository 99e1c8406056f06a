"""The law facts of raw extract lines, in plain Python: a stand-in for the per-subject pass.

transforms/columns.py ``LAW_FACTS`` is the contract between the pass that computes the
facts (phase 2 of issue 23, on Spark) and the compiled law packs
(transforms/law_eligibility.py). Until that pass exists, this module computes the same
columns for the hand-made fixtures (tests/law_fixtures.py), from the line reading of
tests/law_evaluator.py, so the compiled SQL can be checked against the evaluator now.
Phase 2 replaces it with the real pass and runs the fixtures through the pipeline.

Dates are read as the evaluator reads them (a full YYYYMMDD, else unknown), so every date
here is exact: <d> and <d>_latest are the same day, or both null. One row per counted
conviction (PC 1203.425's unit) and one per arrest cycle (PC 851.93's unit: the cycle's
first arrest line), with the subject's facts on both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from relief.transforms.columns import (
    ARREST_DATE,
    ARREST_MAX_TERM_KNOWN,
    ARREST_MAX_TERM_YEARS,
    ARREST_OFFENSE_CLASS,
    CODE,
    CONVICTION_DATE,
    CONVICTION_FELONY,
    COUNT_ORDER,
    COUNTY_SLUG,
    CYCLE,
    CYCLE_ACQUITTED,
    CYCLE_DISMISSED,
    CYCLE_DIVERSION_COMPLETED,
    CYCLE_HAS_CONVICTION,
    CYCLE_NO_COURT_ACTION,
    DECEASED,
    HAS_OPEN_CYCLE,
    HAS_UNKNOWN_SENTENCE_END,
    IS_ARREST_CYCLE_ROW,
    IS_COUNTED_CONVICTION,
    IS_FELONY,
    KNOWN_SENTENCE_END,
    LATER_FELONY,
    LATER_FELONY_POSSIBLE,
    LAW_VOCABULARIES,
    OPEN_CYCLE_ACTIVITY,
    OPEN_CYCLE_UNDATED,
    PC290_REGISTRANT,
    PROBATION_END,
    PROBATION_GRANTED,
    PROBATION_REVOKED,
    SECTION,
    SENTENCE_END_CONCURRENT,
    STATE_PRISON_SENTENCE,
    SUBJECT,
    SUBSECTION,
    SUPERVISED_RELEASE_ACTIVE,
    TARGET_COUNTY,
    UNKNOWN_END_CONVICTION,
    date_latest,
    vocabulary_column,
)
from tests import law_evaluator as ev

# Keys of a row besides the contract's columns: the subject and the line it stands for.
KEY_COLUMNS: tuple[str, ...] = (SUBJECT, COUNT_ORDER)


def _day(column: str, day: dt.date | None) -> dict[str, dt.date | None]:
    return {column: day, date_latest(column): day}


def _slug(county: str) -> str:
    return county.strip().lower().replace(" ", "-")


def subject_facts(
    subject: ev.Subject, vocab: ev.Vocabularies, supervised_release: set[str] | None
) -> dict[str, Any]:
    """The per-subject facts (every row of the subject)."""
    ends = [c.sentence_end for c in subject.convictions]
    known = [e for e in ends if e is not None]
    unknown_dates = [c.date for c in subject.convictions if c.sentence_end is None]
    dated_unknown = [d for d in unknown_dates if d is not None]
    open_cycles = [
        cycle
        for cycle in subject.cycles.values()
        if cycle.arrest_lines
        and not cycle.court_lines
        and not any(line.disp for line in cycle.arrest_lines)
    ]
    activity = [c.last_activity for c in open_cycles if c.last_activity is not None]
    return {
        PC290_REGISTRANT: ev.pc290_registrant(subject, vocab).value,
        SUPERVISED_RELEASE_ACTIVE: (
            None if supervised_release is None else subject.subject in supervised_release
        ),
        **_day(KNOWN_SENTENCE_END, max(known) if known else None),
        HAS_UNKNOWN_SENTENCE_END: bool(unknown_dates),
        UNKNOWN_END_CONVICTION: max(dated_unknown) if dated_unknown else None,
        # Open (null) when one of those convictions is undated.
        date_latest(UNKNOWN_END_CONVICTION): (
            max(dated_unknown) if len(dated_unknown) == len(unknown_dates) > 0 else None
        ),
        HAS_OPEN_CYCLE: bool(open_cycles),
        OPEN_CYCLE_UNDATED: any(c.last_activity is None for c in open_cycles),
        **_day(OPEN_CYCLE_ACTIVITY, max(activity) if activity else None),
        DECEASED: any(line.step_type == "DECEASED" for line in subject.lines),
    }


def _later_felonies(
    conviction: ev.Conviction, others: Sequence[ev.Conviction]
) -> dict[str, dt.date | None]:
    """LATER_FELONY / LATER_FELONY_POSSIBLE (transforms/columns.py)."""
    mine = conviction.date
    surely = [
        o.date
        for o in others
        if o.felony is True and o.date is not None and mine is not None and o.date > mine
    ]
    possibly = [
        o.date or mine or dt.date.min
        for o in others
        if o.felony is not False and (o.date is None or mine is None or o.date > mine)
    ]
    return {
        LATER_FELONY: min(surely) if surely else None,
        LATER_FELONY_POSSIBLE: min(possibly) if possibly else None,
    }


def conviction_facts(
    subject: ev.Subject,
    conviction: ev.Conviction,
    vocab: ev.Vocabularies,
    revocation: Sequence[str],
) -> dict[str, Any]:
    """The per-conviction facts and the pipeline columns the packs read on the row."""
    others = [c for c in subject.convictions if c is not conviction]
    cs = conviction.code_section
    return {
        IS_COUNTED_CONVICTION: True,
        IS_ARREST_CYCLE_ROW: False,
        COUNT_ORDER: conviction.key,
        CYCLE: conviction.line.cycle,
        COUNTY_SLUG: _slug("SACRAMENTO"),
        **_day(CONVICTION_DATE, conviction.date),
        IS_FELONY: conviction.felony is True,
        CONVICTION_FELONY: conviction.felony,
        SECTION: None if cs is None else cs.section,
        SUBSECTION: None if cs is None else cs.subsection,
        CODE: None if cs is None else cs.code,
        STATE_PRISON_SENTENCE: conviction.state_prison,
        PROBATION_GRANTED: conviction.probation,
        **_day(PROBATION_END, conviction.probation_end if conviction.probation else None),
        PROBATION_REVOKED: ev.probation_revoked(subject, conviction, revocation),
        **_day(SENTENCE_END_CONCURRENT, conviction.sentence_end),
        **_later_felonies(conviction, others),
        **{
            vocabulary_column(name): vocab.member(conviction, others, [name]).value
            for name in LAW_VOCABULARIES
        },
    }


def cycle_facts(
    cycle: ev.Cycle, vocab: ev.Vocabularies, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The per-cycle facts, on the cycle's first arrest line."""
    first = cycle.arrest_lines[0]
    levels = [line.toc for line in cycle.arrest_lines if line.toc in ("F", "M", "I")]
    level = max(levels, key=lambda t: {"F": 3, "M": 2, "I": 1}[t]) if levels else None
    court = cycle.court_lines
    dates = [line.event for line in cycle.arrest_lines]
    known_dates = [d for d in dates if d is not None]
    terms = [
        vocab.max_term(ev.code_section(line.offense, line.comment))
        for line in cycle.arrest_lines
        if line.toc == "F"
    ]
    known_terms = [t for t in terms if t is not None]

    def prefixed(text: str, name: str) -> bool:
        return any(text.upper().startswith(p.upper()) for p in params[name])

    return {
        IS_COUNTED_CONVICTION: False,
        IS_ARREST_CYCLE_ROW: True,
        COUNT_ORDER: first.cnt_order,
        CYCLE: cycle.cycle,
        COUNTY_SLUG: _slug("SACRAMENTO"),
        CYCLE_HAS_CONVICTION: cycle.has_conviction,
        ARREST_DATE: None if len(known_dates) < len(dates) else min(known_dates),
        date_latest(ARREST_DATE): min(known_dates) if known_dates else None,
        ARREST_OFFENSE_CLASS: level,
        CYCLE_NO_COURT_ACTION: not court,
        CYCLE_DISMISSED: bool(court)
        and all(prefixed(line.disp, "dismissal_descriptions") for line in court),
        CYCLE_ACQUITTED: any(prefixed(line.disp, "acquittal_descriptions") for line in court),
        CYCLE_DIVERSION_COMPLETED: any(
            prefixed(line.disp, "diversion_completed_descriptions")
            or prefixed(line.comment, "diversion_completed_descriptions")
            for line in cycle.lines
        ),
        ARREST_MAX_TERM_KNOWN: bool(terms) and len(known_terms) == len(terms),
        ARREST_MAX_TERM_YEARS: max(known_terms) if known_terms else None,
    }


def fact_rows(
    rows: Iterable[Sequence[str]],
    vocab: ev.Vocabularies,
    params_1203: Mapping[str, Any] | None = None,
    params_851: Mapping[str, Any] | None = None,
    supervised_release: set[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per counted conviction and per arrest cycle of every subject of ``rows``
    (raw 95-column lines), each with every column of
    transforms/law_eligibility.law_input_schema() and KEY_COLUMNS (absent facts: None)."""
    p1203 = {**ev.PC1203_425_DEFAULTS, **(params_1203 or {})}
    p851 = {**ev.PC851_93_DEFAULTS, **(params_851 or {})}
    out: list[dict[str, Any]] = []
    for sid, subject in ev.subjects_of(rows).items():
        shared = {SUBJECT: sid, **subject_facts(subject, vocab, supervised_release)}
        for conviction in subject.convictions:
            facts = conviction_facts(
                subject, conviction, vocab, p1203["probation_revocation_descriptions"]
            )
            out.append({**shared, **facts})
        for cycle in subject.cycles.values():
            if cycle.arrest_lines:
                out.append({**shared, **cycle_facts(cycle, vocab, p851)})
    for row in out:
        row[TARGET_COUNTY] = row[COUNTY_SLUG]
    return out
