"""An independent evaluator of PC 1203.425 and PC 851.93, in plain Python over raw DOJ rows.

Written from /work/shared/LAWS.md and docs/laws.md ("The decision lists", "Facts"), not
from relief's code: it reads the extract's 95 columns itself (DOMAIN.md §1), computes
each subject's facts, and decides with the decision lists as docs/laws.md states them.
From the project it takes only data: the parameter values and the vocabularies of
conf/laws/ (the lists are law, not logic). Phase 2 of issue 23 compares the pipeline's
per-law determinations with this evaluator row by row, as tests/reference_evaluator.py
does for Prop 64.

Three-valued logic: ``None`` is UNKNOWN; a rule whose condition is UNKNOWN stops the list
with Hand Review and the reason of what is missing (docs/laws.md, "Open reasons").
Dates: a blank or partial date is UNKNOWN (the pipeline's interval reading can decide more
cases; the fixtures use full dates). Calendar arithmetic: N months = add N calendar months
(day clipped to the month's end), N years = 12 N months, N days = N days.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from relief.transforms.columns import DOJ_COLUMNS

Truth = bool | None
POS = {name: i for i, name in enumerate(DOJ_COLUMNS)}

DISMISSAL = "Eligible for Dismissal"
ARREST_RELIEF = "Eligible for Arrest Relief"
NOT_ELIGIBLE = "Not eligible"
HAND_REVIEW = "Hand Review"

ARREST_STEP = "ARREST/DETAINED/CITED"
COURT_STEP = "COURT ACTION"
REGISTRATION_STEP = "REGISTRATION"


# --- three-valued logic ----------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """A leaf: its value and, when UNKNOWN, what is missing (None: an incomplete date)."""

    value: Truth
    missing: str | None = None
    code_section: bool = False  # an unread subsection or code (Incomplete code section)


def t_not(a: Truth) -> Truth:
    return None if a is None else not a


def evaluate(node: Any) -> Truth:
    if isinstance(node, Fact):
        return node.value
    op, args = node[0], node[1:]
    if op == "not":
        return t_not(evaluate(args[0]))
    values = [evaluate(a) for a in args]
    if op == "and":
        if any(v is False for v in values):
            return False
        return None if any(v is None for v in values) else True
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _leaves(node: Any) -> Iterable[Fact]:
    if isinstance(node, Fact):
        yield node
    else:
        for arg in node[1:]:
            yield from _leaves(arg)


def missing_reason(node: Any) -> str:
    """Reason of an open rule: an unread code section first, then the first named missing
    fact, else an incomplete date (docs/laws.md, "Open reasons")."""
    leaves = [leaf for leaf in _leaves(node) if leaf.value is None]
    if any(leaf.code_section for leaf in leaves):
        return "Incomplete code section"
    for leaf in leaves:
        if leaf.missing:
            return leaf.missing
    return "Incomplete date"


def AND(*args: Any) -> tuple[Any, ...]:
    return ("and", *args)


def OR(*args: Any) -> tuple[Any, ...]:
    return ("or", *args)


def NOT(arg: Any) -> tuple[Any, ...]:
    return ("not", arg)


# --- dates and code sections -------------------------------------------------------------


def parse_day(text: str) -> dt.date | None:
    text = (text or "").strip()
    if not re.fullmatch(r"\d{8}", text) or text.endswith("00"):
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = (dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month + 1, min(day.day, last))


def add_years(day: dt.date, years: int) -> dt.date:
    return add_months(day, 12 * years)


def add_term(day: dt.date, length: int, unit: str) -> dt.date:
    if unit == "D":
        return day + dt.timedelta(days=length)
    if unit == "M":
        return add_months(day, length)
    return add_years(day, length)


@dataclass(frozen=True)
class CodeSection:
    section: str
    subsection: str  # "(a)(1)" or ""
    code: str | None
    attempt: bool


_CS = re.compile(
    r"^(?P<attempt>664\s*/\s*)?(?P<section>\d+(?:\.\d+)*[A-Z]?)\s*"
    r"(?P<sub>(?:\([A-Z0-9]+\))*)\s*(?P<code>PC|HS|H&S|VC|BP|WI)?\b"
)


def code_section(offense_descr: str, comment: str = "") -> CodeSection | None:
    """The code section of a charge (DOMAIN.md §2): the text before the first '-', from
    the comment when the description is blank or says to see it."""
    text = (offense_descr or "").strip()
    if not text or text.upper() == "SEE COMMENT FOR CHARGE":
        text = (comment or "").strip()
    head = text.split("-", 1)[0].strip().upper()
    match = _CS.match(head)
    if not match:
        return None
    code = match.group("code")
    return CodeSection(
        section=match.group("section").lower(),
        subsection=match.group("sub").lower(),
        code=None if code is None else code.replace("H&S", "HS"),
        attempt=bool(match.group("attempt")),
    )


def _entry(text: str) -> CodeSection:
    found = code_section(text)
    assert found is not None, text
    return found


def in_entry(cs: CodeSection, entry_text: str, fact_dependent: bool) -> Truth:
    """Does a conviction's code section fall under a vocabulary entry?"""
    entry = _entry(entry_text)
    if cs.section != entry.section:
        return False
    if entry.code is not None and cs.code is not None and cs.code != entry.code:
        return False
    if cs.subsection.startswith(entry.subsection):
        return None if fact_dependent else True
    if entry.subsection.startswith(cs.subsection):
        return None  # the conviction names less than the entry needs
    return False


# --- the extract, per subject ---------------------------------------------------------------


@dataclass
class Line:
    cycle: str
    step: str
    cnt_order: str
    step_type: str
    event: dt.date | None
    disp_date: dt.date | None
    disp: str
    conv_stat: str
    toc: str
    offense: str
    comment: str
    sent_loc: str
    sent_length: str
    sent_unit: str

    @classmethod
    def read(cls, row: Sequence[str]) -> Line:
        def col(name: str) -> str:
            value = row[POS[name]].strip()
            return "" if set(value) <= {" ", "-"} else value

        order = col("CNT_ORDER")
        return cls(
            cycle=order[:3],
            step=order[3:6],
            cnt_order=order,
            step_type=col("STP_TYPE_DESCR").upper(),
            event=parse_day(col("STP_EVENT_DATE")),
            disp_date=parse_day(col("DISP_DATE")),
            disp=col("DISP_DESCR").upper(),
            conv_stat=col("CONV_STAT_DESCR").upper(),
            toc=col("OFFENSE_TOC").upper(),
            offense=col("OFFENSE_DESCR"),
            comment=col("COMMENT_TEXT"),
            sent_loc=col("SENT_LOC_DESCR").upper(),
            sent_length=col("SENT_LENGTH"),
            sent_unit=col("SENT_TIME_CODE").upper(),
        )


@dataclass
class Conviction:
    line: Line
    parts: list[Line]
    subject: str

    @property
    def key(self) -> str:
        return self.line.cnt_order

    @property
    def date(self) -> dt.date | None:
        return self.line.event or self.line.disp_date

    @property
    def felony(self) -> Truth:
        if self.line.conv_stat:
            return self.line.conv_stat == "FELONY"
        if self.line.toc:
            return self.line.toc == "F"
        return None

    @property
    def code_section(self) -> CodeSection | None:
        return code_section(self.line.offense, self.line.comment)

    def _ends(self, kinds: set[str] | None) -> list[dt.date | None]:
        """End of each sentence part (of the given locations; None: all), from the
        conviction date; None where it cannot be computed."""
        ends: list[dt.date | None] = []
        for part in self.parts:
            if kinds is not None and part.sent_loc not in kinds:
                continue
            if part.sent_loc == "FINE" or (not part.sent_loc and not part.sent_length):
                ends.append(self.date)
                continue
            if not part.sent_length.isdigit() or part.sent_unit not in ("D", "M", "Y"):
                ends.append(None)
                continue
            start = self.date
            ends.append(None if start is None else add_term(start, int(part.sent_length),
                                                              part.sent_unit))  # fmt: skip
        return ends

    @property
    def sentence_end(self) -> dt.date | None:
        """Parts run from the conviction date; the longest decides. None: unknown."""
        ends = self._ends(None)
        if not ends or any(e is None for e in ends):
            return None
        return max(e for e in ends if e is not None)

    @property
    def state_prison(self) -> bool:
        return self.line.disp.startswith("CONVICTED-PRISON") or any(
            p.sent_loc == "PRISON" for p in self.parts
        )

    @property
    def probation(self) -> bool:
        return self.line.disp.startswith("CONVICTED-PROBATION") or any(
            p.sent_loc == "PROBATION" for p in self.parts
        )

    @property
    def probation_end(self) -> dt.date | None:
        ends = self._ends({"PROBATION"})
        if not ends or any(e is None for e in ends):
            return None
        return max(e for e in ends if e is not None)


@dataclass
class Cycle:
    cycle: str
    lines: list[Line]
    subject: str

    @property
    def arrest_lines(self) -> list[Line]:
        return [ln for ln in self.lines if ln.step_type == ARREST_STEP]

    @property
    def court_lines(self) -> list[Line]:
        return [ln for ln in self.lines if ln.step_type == COURT_STEP]

    @property
    def arrest_date(self) -> dt.date | None:
        dates = [ln.event for ln in self.arrest_lines]
        return (
            None
            if not dates or any(d is None for d in dates)
            else min(d for d in dates if d is not None)
        )

    @property
    def has_conviction(self) -> bool:
        return any(ln.disp.startswith("CONVICTED") for ln in self.lines)

    @property
    def last_activity(self) -> dt.date | None:
        dates = [d for ln in self.lines for d in (ln.event, ln.disp_date) if d is not None]
        return max(dates) if dates else None


@dataclass
class Subject:
    subject: str
    lines: list[Line]
    convictions: list[Conviction] = field(default_factory=list)
    cycles: dict[str, Cycle] = field(default_factory=dict)

    @classmethod
    def build(cls, subject: str, rows: list[Sequence[str]]) -> Subject:
        lines = [Line.read(r) for r in rows]
        me = cls(subject, lines)
        by_order: dict[str, list[Line]] = {}
        for ln in lines:
            by_order.setdefault(ln.cnt_order, []).append(ln)
            me.cycles.setdefault(ln.cycle, Cycle(ln.cycle, [], subject)).lines.append(ln)
        for group in by_order.values():
            first = next((ln for ln in group if ln.disp.startswith("CONVICTED")), None)
            if first is not None:
                parts = group[group.index(first) :]
                me.convictions.append(Conviction(first, parts, subject))
        return me


def subjects_of(rows: Iterable[Sequence[str]]) -> dict[str, Subject]:
    grouped: dict[str, list[Sequence[str]]] = {}
    for row in rows:
        grouped.setdefault(row[POS["SUBJECT_ID"]].strip(), []).append(row)
    return {sid: Subject.build(sid, group) for sid, group in grouped.items()}


# --- vocabularies (conf/laws/vocabularies, as data) -------------------------------------------


@dataclass(frozen=True)
class Vocabularies:
    lists: Mapping[str, list[dict[str, Any]]]  # name -> entries
    max_terms: list[dict[str, Any]]

    def member(self, conviction: Conviction, others: list[Conviction], names: list[str]) -> Fact:
        """The conviction (or an enhancement count of its case) is in one of the lists."""
        cs = conviction.code_section
        if cs is None:
            return Fact(None, code_section=True)
        values: list[Truth] = []
        for name in names:
            for entry in self.lists[name]:
                fd = bool(entry.get("fact_dependent"))
                values.append(in_entry(cs, entry["code_section"], fd))
                if entry.get("enhancement"):
                    for other in others:
                        ocs = other.code_section
                        if ocs is not None and other.key[:6] == conviction.key[:6]:
                            values.append(in_entry(ocs, entry["code_section"], fd))
        value = evaluate(("or", *[Fact(v) for v in values])) if values else False
        return Fact(value, "Depends on facts of the case (record of conviction)")

    def max_term(self, cs: CodeSection | None) -> int | None:
        """Maximum years of a felony count; None: not in the table (or attempt, or facts)."""
        if cs is None or cs.attempt:
            return None
        found: int | None = None
        for entry in self.max_terms:
            member = in_entry(cs, entry["code_section"], bool(entry.get("fact_dependent")))
            if member is True:
                found = int(entry["max_years"])
            elif member is None:
                return None
        return found


# --- facts for PC 1203.425 -----------------------------------------------------------------


def _prefixed(text: str, prefixes: Sequence[str]) -> bool:
    return any(text.upper().startswith(p.upper()) for p in prefixes)


def pc290_registrant(subject: Subject, vocab: Vocabularies) -> Fact:
    for ln in subject.lines:
        if ln.step_type == REGISTRATION_STEP:
            cs = code_section(ln.offense, ln.comment)
            if cs is not None and cs.section.startswith("290"):
                return Fact(True)
    for conviction in subject.convictions:
        cs = conviction.code_section
        if cs is None:
            continue
        for entry in vocab.lists["pc290_offense"]:
            if not entry.get("fact_dependent") and in_entry(cs, entry["code_section"], False):
                return Fact(True)
    return Fact(False)


def sentence_not_completed(subject: Subject, at: dt.date, presume_after: int | None) -> Fact:
    values: list[Truth] = []
    for conviction in subject.convictions:
        end = conviction.sentence_end
        if end is None:
            date = conviction.date
            if presume_after and date is not None and date <= add_years(at, -presume_after):
                values.append(False)
            else:
                values.append(None)
        else:
            values.append(end > at)
    return Fact(evaluate(("or", *[Fact(v) for v in values])) if values else False,
                "Sentence end unknown")  # fmt: skip


def pending_charge(subject: Subject, at: dt.date, inactive_years: int | None) -> Fact:
    for cycle in subject.cycles.values():
        if not cycle.arrest_lines or cycle.court_lines:
            continue
        if any(ln.disp for ln in cycle.arrest_lines):
            continue  # a disposition at arrest (released, DA reject ...): not open
        last = cycle.last_activity
        if inactive_years and last is not None and last <= add_years(at, -inactive_years):
            continue
        return Fact(True)
    return Fact(False)


def probation_revoked(subject: Subject, conviction: Conviction, prefixes: Sequence[str]) -> bool:
    cycle = subject.cycles[conviction.line.cycle]
    return any(
        ln.step > conviction.line.step and (_prefixed(ln.disp, prefixes)
                                            or _prefixed(ln.comment, prefixes))
        for ln in cycle.lines
    )  # fmt: skip


def _on_or_after(day: dt.date | None, cutoff: dt.date) -> Fact:
    return Fact(None if day is None else day >= cutoff)


def _years_ago(day: dt.date | None, at: dt.date, years: int, missing: str | None = None) -> Fact:
    return Fact(None if day is None else day <= add_years(at, -years), missing)


@dataclass(frozen=True)
class Decision:
    determination: str
    reason: str
    rule_id: str


def _decide(rules: list[tuple[str, Any, str, str]]) -> Decision:
    for rule_id, condition, then, reason in rules:
        value = evaluate(condition)
        if value is None:
            return Decision(HAND_REVIEW, missing_reason(condition), rule_id)
        if value:
            return Decision(then, reason, rule_id)
    raise AssertionError("the last rule always holds")


PC1203_425_DEFAULTS: dict[str, Any] = {
    "path3_start_date": dt.date(2005, 1, 1),
    "felony_path_operative_date": dt.date(2024, 10, 1),
    "serious_violent_bars_paths_I_II": "review",
    "pc1203_4b_carveouts": "review",
    "sentence_presumed_completed_after_years": None,
    "pending_charge_inactive_years": None,
    "probation_revocation_descriptions": ("PROBATION REVOKED", "PROB REVOKED"),
}


def decide_1203_425(
    subject: Subject,
    conviction: Conviction,
    at: dt.date,
    vocab: Vocabularies,
    params: Mapping[str, Any] | None = None,
    supervised_release: set[str] | None = None,
) -> Decision:
    """PC 1203.425 for one conviction (docs/laws.md, the PC 1203.425 decision list)."""
    p = {**PC1203_425_DEFAULTS, **(params or {})}
    others = [c for c in subject.convictions if c is not conviction]
    felony = Fact(conviction.felony, "Offense level not recorded")
    probation = Fact(conviction.probation)
    end = conviction.sentence_end
    prob_end = conviction.probation_end
    completed = Fact(conviction.probation and (None if prob_end is None else prob_end <= at))
    revoked = Fact(probation_revoked(subject, conviction, p["probation_revocation_descriptions"]))
    path1 = AND(probation, completed, NOT(revoked))
    if end is None:
        new_felony = Fact(None, "Sentence end unknown")
    else:
        window = add_years(end, 4)
        found: list[Truth] = []
        for other in others:
            if other.date is None or conviction.date is None:
                found.append(None if other.felony is not False else False)
                continue
            if conviction.date < other.date <= window:
                found.append(other.felony)
        new_felony = Fact(t_not(evaluate(("or", *[Fact(v) for v in found]))) if found else True)
    path3_core = [
        felony,
        NOT(path1),
        Fact(at >= p["felony_path_operative_date"]),
        _years_ago(end, at, 4, "Sentence end unknown"),
        new_felony,
        NOT(
            vocab.member(conviction, others, ["serious_felony", "violent_felony", "pc290_offense"])
        ),
    ]
    start = p["path3_start_date"]
    sv = AND(felony, vocab.member(conviction, others, ["serious_felony", "violent_felony"]))
    b4 = AND(probation, vocab.member(conviction, others, ["pc1203_4b"]))
    srf = Fact(
        None if supervised_release is None else subject.subject in supervised_release,
        "Supervised Release File not checked",
    )
    rules: list[tuple[str, Any, str, str]] = [
        ("before-1973", NOT(_on_or_after(conviction.date, dt.date(1973, 1, 1))), NOT_ELIGIBLE,
         "Before 1/1/1973"),
        ("pc290-registrant", pc290_registrant(subject, vocab), NOT_ELIGIBLE, "PC 290 registrant"),
        ("supervised-release", srf, NOT_ELIGIBLE, "Active supervision (Supervised Release File)"),
        ("serving-sentence",
         sentence_not_completed(subject, at, p["sentence_presumed_completed_after_years"]),
         NOT_ELIGIBLE, "Currently serving sentence"),
        ("pending-charge", pending_charge(subject, at, p["pending_charge_inactive_years"]),
         HAND_REVIEW, "Pending charge"),
    ]  # fmt: skip
    if start == dt.date(2005, 1, 1):
        rules.append(
            ("path3-start-date", AND(*path3_core, NOT(_on_or_after(conviction.date, start))),
             HAND_REVIEW, "Path III start date (2005 or 1973) unconfirmed")
        )  # fmt: skip
    rules += [
        ("path3-felony", AND(*path3_core, _on_or_after(conviction.date, start)), DISMISSAL,
         "PC 1203.425(a)(1)(B)(v)(III)"),
        ("state-prison", Fact(conviction.state_prison), NOT_ELIGIBLE, "State prison sentence"),
    ]  # fmt: skip
    if p["serious_violent_bars_paths_I_II"] == "review":
        rules.append(("serious-violent-review", sv, HAND_REVIEW,
                      "Serious or violent felony (bar on paths I and II unconfirmed)"))  # fmt: skip
    elif p["serious_violent_bars_paths_I_II"] == "bar":
        rules.append(("serious-violent-bar", sv, NOT_ELIGIBLE, "Serious or violent felony"))
    if p["pc1203_4b_carveouts"] == "review":
        rules.append(
            ("pc1203-4b-review", b4, HAND_REVIEW, "PC 1203.4(b) offense (bar unconfirmed)")
        )
    elif p["pc1203_4b_carveouts"] == "bar":
        rules.append(("pc1203-4b-bar", b4, NOT_ELIGIBLE, "PC 1203.4(b) offense"))
    rules += [
        ("path1-probation-completed", path1, DISMISSAL, "Probation completed"),
        ("path2-misdemeanor-1-year",
         AND(Fact(t_not(conviction.felony), "Offense level not recorded"), NOT(probation),
             _years_ago(conviction.date, at, 1)),
         DISMISSAL, "Misdemeanor, 1 year since judgment"),
        ("no-automatic-path", Fact(True), NOT_ELIGIBLE, "No automatic path"),
    ]  # fmt: skip
    return _decide(rules)


# --- PC 851.93 ------------------------------------------------------------------------------

PC851_93_DEFAULTS: dict[str, Any] = {
    "pc290_bars_arrest_relief": False,
    "dismissed_any_offense_class": False,
    "dismissal_descriptions": ("DISMISSED",),
    "acquittal_descriptions": ("ACQUITTED", "NOT GUILTY"),
    "diversion_completed_descriptions": (
        "DIVERSION DISMISSED",
        "DIVERSION COMPLETED",
        "DEJ COMPLETED",
        "DEFERRED ENTRY OF JUDGMENT COMPLETED",
    ),
}
_SEVERITY = {"F": 3, "M": 2, "I": 1}


def is_arrest_candidate(cycle: Cycle) -> bool:
    """PC 851.93's selector: a cycle with an arrest step and no conviction."""
    return bool(cycle.arrest_lines) and not cycle.has_conviction


def decide_851_93(
    subject: Subject,
    cycle: Cycle,
    at: dt.date,
    vocab: Vocabularies,
    params: Mapping[str, Any] | None = None,
) -> Decision | None:
    """PC 851.93 for one arrest cycle (docs/laws.md); None: not a candidate."""
    if not is_arrest_candidate(cycle):
        return None
    p = {**PC851_93_DEFAULTS, **(params or {})}
    tocs = [ln.toc for ln in cycle.arrest_lines if ln.toc in _SEVERITY]
    level = max(tocs, key=lambda t: _SEVERITY[t]) if tocs else None

    def level_is(wanted: str) -> Fact:
        return Fact(None if level is None else level == wanted,
                    "Offense level at arrest not recorded")  # fmt: skip

    court = cycle.court_lines
    dismissed = Fact(bool(court) and all(_prefixed(ln.disp, p["dismissal_descriptions"])
                                         for ln in court))  # fmt: skip
    acquitted = Fact(any(_prefixed(ln.disp, p["acquittal_descriptions"]) for ln in court))
    no_court = Fact(not court)
    diversion = Fact(any(
        _prefixed(ln.disp, p["diversion_completed_descriptions"])
        or _prefixed(ln.comment, p["diversion_completed_descriptions"])
        for ln in cycle.lines
    ))  # fmt: skip
    no_proceedings = OR(no_court, acquitted)
    felony_terms = [
        vocab.max_term(code_section(ln.offense, ln.comment))
        for ln in cycle.arrest_lines
        if ln.toc == "F"
    ]
    known = Fact(bool(felony_terms) and all(t is not None for t in felony_terms))
    if any(t is not None and t >= 8 for t in felony_terms):
        at_least_8: Truth = True
    elif felony_terms and all(t is not None for t in felony_terms):
        at_least_8 = False
    else:
        at_least_8 = None
    eight = Fact(at_least_8, "Maximum term not in table")
    arrested = cycle.arrest_date

    def years(n: int) -> Fact:
        return _years_ago(arrested, at, n)

    rules: list[tuple[str, Any, str, str]] = [
        ("before-1973", NOT(_on_or_after(arrested, dt.date(1973, 1, 1))), NOT_ELIGIBLE,
         "Before 1/1/1973"),
    ]  # fmt: skip
    if p["pc290_bars_arrest_relief"]:
        rules.append(
            ("pc290-registrant", pc290_registrant(subject, vocab), NOT_ELIGIBLE,
             "PC 290 registrant")
        )  # fmt: skip
    rules += [
        ("diversion-completed", diversion, ARREST_RELIEF, "Diversion completed"),
        ("misdemeanor-dismissed", AND(level_is("M"), dismissed), ARREST_RELIEF,
         "Misdemeanor dismissed"),
    ]  # fmt: skip
    if p["dismissed_any_offense_class"]:
        rules.append(("charge-dismissed", dismissed, ARREST_RELIEF, "Charge dismissed"))
    felony = level_is("F")
    rules += [
        ("misdemeanor-1-year", AND(level_is("M"), no_proceedings, years(1)), ARREST_RELIEF,
         "Misdemeanor, 1 year, no conviction"),
        ("misdemeanor-waiting", AND(level_is("M"), no_proceedings), NOT_ELIGIBLE,
         "Waiting period (1 year) not elapsed"),
        ("felony-8-year-max-6-years", AND(felony, no_proceedings, years(6), known, eight),
         ARREST_RELIEF, "Felony (8+ yr max), 6 years"),
        ("felony-3-years", AND(felony, no_proceedings, years(3), known, NOT(eight)),
         ARREST_RELIEF, "Felony, 3 years"),
        ("felony-6-years-either-tier", AND(felony, no_proceedings, years(6)), ARREST_RELIEF,
         "Felony, 6 years (either tier)"),
        ("felony-tier-unknown", AND(felony, no_proceedings, years(3), NOT(known)), HAND_REVIEW,
         "Maximum term not in table"),
        ("felony-8-year-max-waiting", AND(felony, no_proceedings, known, eight), NOT_ELIGIBLE,
         "Waiting period (6 years) not elapsed"),
        ("felony-waiting", AND(felony, no_proceedings), NOT_ELIGIBLE,
         "Waiting period (3 years) not elapsed"),
        ("no-automatic-path", Fact(True), HAND_REVIEW, "No automatic path"),
    ]  # fmt: skip
    return _decide(rules)


def decide_all(
    rows: Iterable[Sequence[str]],
    at: dt.date,
    vocab: Vocabularies,
    params_1203: Mapping[str, Any] | None = None,
    params_851: Mapping[str, Any] | None = None,
    supervised_release: set[str] | None = None,
) -> dict[tuple[str, str, str], Decision]:
    """Every candidate of both laws: (law, subject, CNT_ORDER or cycle) -> decision."""
    out: dict[tuple[str, str, str], Decision] = {}
    decide: Callable[..., Decision | None]
    for sid, subject in subjects_of(rows).items():
        for conviction in subject.convictions:
            out[("pc1203.425", sid, conviction.key)] = decide_1203_425(
                subject, conviction, at, vocab, params_1203, supervised_release
            )
        decide = decide_851_93
        for key, cycle in subject.cycles.items():
            decision = decide(subject, cycle, at, vocab, params_851)
            if decision is not None:
                out[("pc851.93", sid, key)] = decision
    return out
