"""Fabricated people and their criminal histories: one subject's lines at a time (arrests, court
actions with counts and sentence parts, revocations, registrations, deaths), drawn from two
``random.Random`` streams seeded from the seed, so the same seed gives the same people."""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
from dataclasses import dataclass, field

from relief.jobs.synthetic.vocabulary import (
    ARREST_ONLY,
    BIRTHPLACES,
    DOB_FIRST,
    DOB_LAST,
    EARLY_DOB_BEFORE,
    EARLY_FIRST_DAY,
    EARLY_SHARE,
    EYES,
    FEMALE_NAMES,
    FIRST_RECORD_DAY,
    GENERAL_CATEGORIES,
    GENERAL_COMMENTS,
    HAIR,
    I_CII,
    I_CITIZENSHIP,
    I_CNT_ORDER,
    I_CNTY,
    I_CNTY_CODE,
    I_COMMENT,
    I_CONV,
    I_CONV_CODE,
    I_CYC_AGE,
    I_CYC_DATE,
    I_CYC_ORDER,
    I_DISP,
    I_DISP_CODE,
    I_DISP_DATE,
    I_DOB,
    I_END,
    I_EVENT_DATE,
    I_EYE,
    I_EYE_CODE,
    I_FBI,
    I_FE_BOOKING,
    I_FE_CITE,
    I_FE_CRT_CASE,
    I_FE_ORDER,
    I_GENDER,
    I_HAIR,
    I_HAIR_CODE,
    I_HEIGHT,
    I_MULTI_SOURCE,
    I_NAME,
    I_OFFENSE,
    I_OFFENSE_CODE,
    I_OFN,
    I_ORI_CODE,
    I_ORI_DESCR,
    I_ORI_TYPE,
    I_ORI_TYPE_DESCR,
    I_POB_CODE,
    I_POB_NAME,
    I_POB_TYPE,
    I_RACE,
    I_RACE_CODE,
    I_REQ_CII,
    I_REQ_DOB,
    I_REQ_GENDER,
    I_REQ_NAME,
    I_SENT_CODE,
    I_SENT_DESCR,
    I_SENT_LENGTH,
    I_SENT_LOC,
    I_SENT_LOC_CODE,
    I_SENT_ORDER,
    I_SINGLE_SOURCE,
    I_STP_ORDER,
    I_STP_TYPE,
    I_STP_TYPE_CODE,
    I_SUBJECT_ID,
    I_SUBJECT_STATUS,
    I_TOC,
    I_WEIGHT,
    IN_OFFENSE,
    INITIALS,
    LAST_DAY,
    LAST_NAMES,
    LAW_START_DAY,
    LEVEL,
    LOCATIONS,
    MALE_NAMES,
    NON_CONVICTIONS,
    OTHER_OFFENSES,
    OTHER_P64_IN_COMMENT,
    OUT_OF_STATE,
    P64,
    P64_AFTER,
    P64_ATTEMPTS,
    P64_BEFORE,
    P64_PLACEMENT,
    P64_SECTIONS,
    P64_STYLE,
    PC290,
    PRI_CDL,
    PRI_SSN,
    PRISONS,
    PROP64_DAY,
    RACES,
    REG_290,
    REG_OTHER,
    RELATED_OFFENSES,
    REQ_CDL,
    REQ_SSN,
    REVOCATION_SHARE,
    SENT_UNITS,
    SEPARATORS,
    YEAR,
    Agency,
    Offense,
    Place,
    Weighted,
    out_of_state_place,
    quote,
    render_p64,
    sentence,
    ymd,
)
from relief.transforms import columns as c

# Share of subjects given at least one Prop 64 conviction (the issue asks for 10-20%).
PROP64_SUBJECT_SHARE = 0.15
# County-shaped extracts (the file DOJ sends one county): every subject has a Prop 64
# conviction in the county; this share of them also lives there (most of their cycles are
# there), the others anywhere in the state. Their whole statewide history is written.
COUNTY_SHAPED_HOME_SHARE = 0.7
# DOMAIN.md §1: a field of only spaces and dashes is blank. Written quoted, as Go's
# encoding/csv (the reference tool's writer) quotes a field that starts with a space.
PLACEHOLDER = '"  -  "'
# Share of steps whose lines carry the placeholder in DISP_DATE by default.
DISP_DATE_PLACEHOLDER_SHARE = 0.03

# --- the generator ------------------------------------------------------------------------
_ARREST = ("A", "ARREST/DETAINED/CITED")
_COURT = ("C", "COURT ACTION")
_REGISTRATION = ("R", "REGISTRATION")
_DECEASED = ("D", "DECEASED")
_CUSTODY = ("K", "CUSTODY")

# Cycle kinds (_P64_FOCUS: a Prop 64 conviction in the county of a county-shaped extract)
_GENERAL, _P64_CONVICTION, _P64_DISMISSED, _REGISTER, _DIE, _P64_FOCUS = range(6)

# Line flags returned with each line, for the statistics.
_LINE, CONVICTION, P64_CONV, DEATH_LINE = 0, 1, 2, 3


@dataclass
class _Episode:
    """What every line of one cycle shares, and where its lines go."""

    template: list[str]
    lines: list[str]
    flags: list[int]
    first_record: int
    cycle: int
    cycle_date: str
    dob: int
    place: Place
    p64_comments: bool

    def emit(self, row: list[str], flag: int) -> None:
        """Number the line (RECORD_ID: its data line) and add it with its statistics flag."""
        row[0] = str(self.first_record + len(self.lines))
        self.lines.append(",".join(row))
        self.flags.append(flag)


@dataclass
class _CourtOutcome:
    convicted_any: bool = False
    custody: bool = False  # a count was sentenced to prison
    probation_rows: list[list[str]] = field(default_factory=list)


class Histories:
    def __init__(
        self,
        seed: int,
        places: list[Place],
        restricted: bool,
        disp_date_placeholder: float,
        focus: Place | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        # The law-pack records (issue 23: pre-1973 histories, probation revocations) draw
        # from their own stream, so the Prop 64 side's draws stay as they were.
        self.law_rng = random.Random(seed * 7_919 + 1)
        self.revocations = False  # set per subject: revocations only without Prop 64 history
        self.disp_date_placeholder = disp_date_placeholder
        self.focus = focus
        self.home = Weighted([(p, float(max(p.population, 1))) for p in places])
        self.out_of_state = [out_of_state_place(*entry) for entry in OUT_OF_STATE]
        allowed = {p.county_name for p in places}
        self.prisons = [
            Agency("CD", "DEPT OF CORRECTIONS", f"CA{i:02d}CDC00", f"CACDC {prison}")
            for i, (prison, county) in enumerate(PRISONS)
        ]
        self.prison_county = {
            a.descr: next(p for p in places if p.county_name == county)
            for a, (_, county) in zip(self.prisons, PRISONS, strict=True)
            if county in allowed
        }
        self.prisons = [a for a in self.prisons if a.descr in self.prison_county]
        self.restricted = restricted
        self.subject_id = 10_000_000 + self.rng.randrange(5_000_000)

    # --- dates ---
    def _date(self, ordinal: int, blank: float = 0.004) -> str:
        """YYYYMMDD, now and then partial (YYYY0000, YYYYMM00) or blank (DOMAIN.md §1)."""
        r = self.rng.random()
        text = ymd(ordinal)
        if r >= blank + 0.008:
            return text
        if r < blank:
            return ""
        if r < blank + 0.004:
            return text[:4] + "0000"
        return text[:6] + "00"

    # --- one subject ---
    def subject(self, first_record: int) -> tuple[list[str], list[int]]:
        rng = self.rng
        self.subject_id += rng.randint(1, 9)
        sid = self.subject_id
        focus = self.focus
        has_p64 = rng.random() < PROP64_SUBJECT_SHARE or focus is not None
        deceased = rng.random() < 0.02
        home: Place = self.home.pick(rng)
        if focus is not None and rng.random() < COUNTY_SHAPED_HOME_SHARE:
            home = focus

        # Prop 64 convictions are placed first; the date of birth follows from the first.
        anchors: list[tuple[int, Offense]] = []
        if has_p64:
            n = rng.choices((1, 2, 3, 4), (62, 22, 10, 6))[0]
            section = P64_SECTIONS.pick(rng)
            for _ in range(n):
                if rng.random() < 0.45:
                    section = P64_SECTIONS.pick(rng)
                day = self._p64_day()
                if day < PROP64_DAY and rng.random() < 0.05:
                    offense = P64_ATTEMPTS.pick(rng)
                else:
                    table = P64_BEFORE if day < PROP64_DAY else P64_AFTER
                    offense = table[section].pick(rng)
                anchors.append((day, offense))
            anchors.sort()
            age = 18 + min(rng.expovariate(1 / 9.0), 45.0)
            dob = int(anchors[0][0] - age * YEAR) - rng.randrange(365)
            dob = min(max(dob, DOB_FIRST), DOB_LAST)
        else:
            dob = int(rng.triangular(DOB_FIRST, DOB_LAST, dt.date(1978, 1, 1).toordinal()))

        template = self._subject_template(sid, dob)

        # Cycles as a date-ordered queue; registrations are pushed as convictions happen.
        queue: list[tuple[int, int, int, Offense | None]] = []
        order = itertools.count()
        start = max(dob + int(18 * YEAR), FIRST_RECORD_DAY)
        day = start + int(rng.expovariate(1 / (4 * YEAR)))
        n_general = int(rng.expovariate(1 / 2.6)) + (0 if has_p64 else 1)
        for _ in range(min(n_general, 14)):
            if day > LAST_DAY:
                break
            kind = _P64_DISMISSED if rng.random() < 0.05 else _GENERAL
            heapq.heappush(queue, (day, next(order), kind, None))
            day += 30 + int(rng.expovariate(1 / (3 * YEAR)))
        # A county-shaped extract: one of the Prop 64 convictions is in the county.
        in_focus = rng.randrange(len(anchors)) if focus is not None else -1
        for i, (anchor_day, offense) in enumerate(anchors):
            kind = _P64_FOCUS if i == in_focus else _P64_CONVICTION
            heapq.heappush(queue, (anchor_day, next(order), kind, offense))
        if rng.random() < 0.002:  # registered for an out-of-state sex offence
            reg_day = start + rng.randrange(max(LAST_DAY - start, 1))
            heapq.heappush(queue, (reg_day, next(order), _REGISTER, REG_290.pick(rng)))
        elif rng.random() < 0.003:
            reg_day = start + rng.randrange(max(LAST_DAY - start, 1))
            heapq.heappush(queue, (reg_day, next(order), _REGISTER, REG_OTHER.pick(rng)))

        lines: list[str] = []
        flags: list[int] = []
        cycle = 0
        last_day = start
        self.revocations = not has_p64
        if not has_p64:
            cycle = self._early_cycles(template, lines, flags, first_record, dob, home)
        while queue:
            cycle_day, _, kind, payload = heapq.heappop(queue)
            if cycle >= 999:
                break
            cycle += 1
            last_day = max(last_day, cycle_day)
            if kind == _REGISTER:
                assert payload is not None
                self._registration(
                    template, lines, flags, first_record, cycle, cycle_day, dob, payload, home
                )
                continue
            p64_kind = kind in (_P64_CONVICTION, _P64_DISMISSED, _P64_FOCUS)
            if kind == _P64_FOCUS:
                assert focus is not None
                place, kind = focus, _P64_CONVICTION
            else:
                place = self._cycle_place(home, allow_out_of_state=not p64_kind)
            registrations = self._cycle(
                template,
                lines,
                flags,
                first_record,
                cycle,
                cycle_day,
                dob,
                place,
                kind,
                payload,
                has_p64 and place.in_state,  # Prop 64 text stays in the chosen counties
            )
            for reg_day, reg in registrations:
                if reg_day <= LAST_DAY:
                    heapq.heappush(queue, (reg_day, next(order), _REGISTER, reg))
        if deceased and cycle and last_day < LAST_DAY - 400:
            # well after the last cycle's court action, which can trail its arrest by months
            death = last_day + 400 + rng.randrange(min(LAST_DAY - last_day - 400, 3650) + 1)
            self._death(template, lines, flags, first_record, cycle + 1, death, dob, home)
        return lines, flags

    def _early_cycles(
        self,
        template: list[str],
        lines: list[str],
        flags: list[int],
        first_record: int,
        dob: int,
        home: Place,
    ) -> int:
        """Records back to the 1960s (issue 23): for a subject born before 1952 without
        Prop 64 history, now and then one or two cycles between age 18 and 1972 (PC
        1203.425 and 851.93 start at 1973-01-01). Drawn from the law stream only."""
        law = self.law_rng
        first = max(dob + int(18 * YEAR), EARLY_FIRST_DAY)
        if dob >= EARLY_DOB_BEFORE or first >= LAW_START_DAY or law.random() >= EARLY_SHARE:
            return 0
        days = sorted(law.randrange(first, LAW_START_DAY) for _ in range(law.choice((1, 1, 2))))
        saved, self.rng = self.rng, law
        try:
            for cycle, day in enumerate(days, start=1):
                self._cycle(template, lines, flags, first_record, cycle, day, dob, home,
                            _GENERAL, None, False)  # fmt: skip
        finally:
            self.rng = saved
        return len(days)

    def _p64_day(self) -> int:
        rng = self.rng
        if rng.random() < 0.11:  # after Prop 64 took effect
            return PROP64_DAY + rng.randrange(LAST_DAY - PROP64_DAY - 200)
        # mostly 1985-2016, most of it in the 2000s
        year = rng.triangular(1985.0, 2016.86, 2010.0)
        return dt.date(1985, 1, 1).toordinal() + int((year - 1985.0) * YEAR)

    def _cycle_place(self, home: Place, allow_out_of_state: bool) -> Place:
        r = self.rng.random()
        if allow_out_of_state and r < 0.03:
            return self.rng.choice(self.out_of_state)
        if r < 0.83:
            return home
        return self.home.pick(self.rng)

    def _subject_template(self, sid: int, dob: int) -> list[str]:
        rng = self.rng
        t = [""] * len(c.DOJ_COLUMNS)
        for i in SEPARATORS:
            t[i] = "#"
        t[I_END] = "END"
        female = rng.random() < 0.2
        first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
        last = rng.choice(LAST_NAMES)
        sep = ", " if rng.random() < 0.03 else ","
        name = f"{last}{sep}{first}"
        if rng.random() < 0.5:
            name += " " + rng.choice(INITIALS)
        name = quote(name)
        # CII: a bijection of the subject id, 9-10 digits, unique per subject.
        cii = str(100_000_000 + (sid * 2_654_435_761) % 9_900_000_000)
        ssn = f"9{rng.randrange(100):02d}-00-{rng.randrange(10_000):04d}"
        cdl = f"X{rng.randrange(10_000_000):07d}"
        r = rng.random()
        dob_text = ymd(dob)
        if r < 0.005:
            dob_text = ""
        elif r < 0.015:
            dob_text = dob_text[:4] + "0000"
        elif r < 0.025:
            dob_text = dob_text[:6] + "00"
        gender = "F" if female else "M"
        t[I_SUBJECT_STATUS] = "A"
        t[I_SUBJECT_ID] = str(sid)
        t[I_REQ_CII] = t[I_CII] = cii
        t[I_REQ_NAME] = t[I_NAME] = name
        t[I_REQ_GENDER] = t[I_GENDER] = gender
        t[I_REQ_DOB] = t[I_DOB] = dob_text
        t[REQ_SSN] = t[PRI_SSN] = ssn
        t[REQ_CDL] = t[PRI_CDL] = cdl
        if rng.random() < 0.6:  # FBI number: 6 digits, 2 letters (never X), a digit
            letters = "ABCDEFGHJK"
            digits = f"{rng.randrange(10**6):06d}"
            t[I_FBI] = f"{digits}{rng.choice(letters)}{rng.choice(letters)}{rng.randrange(10)}"
        t[I_RACE_CODE], t[I_RACE] = RACES.pick(rng)
        t[I_EYE_CODE], t[I_EYE] = EYES.pick(rng)
        t[I_HAIR_CODE], t[I_HAIR] = HAIR.pick(rng)
        inches = int(rng.gauss(64 if female else 69, 3))
        t[I_HEIGHT] = f"{inches // 12}{inches % 12:02d}"
        t[I_WEIGHT] = str(int(rng.gauss(150 if female else 185, 30)))
        multi = rng.random() < 0.3
        t[I_SINGLE_SOURCE] = "N" if multi else "Y"
        t[I_MULTI_SOURCE] = "Y" if multi else "N"
        t[I_POB_CODE], t[I_POB_NAME], t[I_POB_TYPE], t[I_CITIZENSHIP] = BIRTHPLACES.pick(rng)
        return t

    # --- steps ---
    def _step(
        self,
        template: list[str],
        cycle: int,
        cycle_date: str,
        step: int,
        day: int,
        kind: tuple[str, str],
        agency: Agency,
        place: Place,
        dob: int,
    ) -> list[str]:
        s = template.copy()
        s[I_CYC_ORDER] = f"{cycle:03d}"
        s[I_CYC_DATE] = cycle_date
        s[I_STP_ORDER] = f"{step:03d}"
        s[I_EVENT_DATE] = self._date(day)
        s[I_STP_TYPE_CODE], s[I_STP_TYPE] = kind
        s[I_ORI_TYPE] = agency.ori_type
        s[I_ORI_TYPE_DESCR] = agency.ori_type_descr
        s[I_ORI_CODE] = agency.ori_code
        s[I_ORI_DESCR] = agency.descr
        s[I_CNTY_CODE] = place.county_code
        s[I_CNTY] = place.county_name
        s[I_CYC_AGE] = str(int((day - dob) / YEAR))
        share = self.disp_date_placeholder
        if share >= 1.0 or (share > 0.0 and self.rng.random() < share):
            s[I_DISP_DATE] = PLACEHOLDER  # the step's lines keep it (_set_disp_date)
        return s

    @staticmethod
    def _set_disp_date(step: list[str], text: str) -> None:
        """DISP_DATE of a step, unless the step carries the placeholder there."""
        if step[I_DISP_DATE] != PLACEHOLDER:
            step[I_DISP_DATE] = text

    def _charge(self, row: list[str], offense: Offense, p64_comments: bool) -> None:
        """OFFENSE_DESCR / COMMENT_TEXT / OFFENSE_TOC of a count, with DOMAIN.md §2's variants.

        `p64_comments` lets an ordinary drug charge carry a Prop 64 charge in its comment
        (only for subjects with Prop 64 history, in a county the caller allows)."""
        rng = self.rng
        descr = rng.choice(offense.descrs) if len(offense.descrs) > 1 else offense.descrs[0]
        row[I_OFFENSE_CODE] = offense.number
        row[I_TOC] = offense.toc
        if offense.kind & P64:
            text = render_p64(offense, descr, P64_STYLE.pick(rng))
            placement = P64_PLACEMENT.pick(rng)
            if placement == IN_OFFENSE:
                row[I_OFFENSE] = quote(text)
            elif placement == OTHER_P64_IN_COMMENT:
                row[I_OFFENSE] = quote(text)
                row[I_COMMENT] = quote(self._other_p64_comment(offense))
            else:
                row[I_OFFENSE] = ("", "SEE COMMENT FOR CHARGE", "   ")[placement - 1]
                row[I_COMMENT] = quote(text)
            return
        text = offense.standard(descr)
        r = rng.random()
        if r < 0.01:  # charge only in the comment, for ordinary offences too
            row[I_OFFENSE] = "SEE COMMENT FOR CHARGE" if r < 0.005 else ""
            row[I_COMMENT] = quote(text)
            return
        if r < 0.05:
            text = text.replace(f" {offense.code}-", f"{offense.code}-", 1)
        row[I_OFFENSE] = quote(text)
        if p64_comments and offense.code == "HS" and r > 0.98:
            # a drug charge whose comment names a Prop 64 charge: "possible other P64 charge"
            row[I_COMMENT] = quote(self._other_p64_comment(None))
        elif r > 0.9:
            row[I_COMMENT] = quote(GENERAL_COMMENTS.pick(rng))

    def _other_p64_comment(self, offense: Offense | None) -> str:
        """A Prop 64 charge other than `offense` (another section, or 11357 a/b vs c/d)."""
        rng = self.rng
        while True:
            section = P64_SECTIONS.pick(rng)
            other = P64_BEFORE[section].pick(rng)
            if offense is None or other.p64 != offense.p64:
                break
            if section == "11357" and (offense.sub in ("(A)", "(B)")) != (
                other.sub in ("(A)", "(B)")
            ):
                break
        return render_p64(other, other.descrs[-1], P64_STYLE.pick(rng))

    def _cycle(
        self,
        template: list[str],
        lines: list[str],
        flags: list[int],
        first_record: int,
        cycle: int,
        day: int,
        dob: int,
        place: Place,
        kind: int,
        anchor: Offense | None,
        p64_comments: bool,
    ) -> list[tuple[int, Offense]]:
        """One arrest-to-disposition episode; returns registrations it triggers."""
        rng = self.rng
        counts = self._counts(kind, day, anchor)
        arrest_day, court_day, has_arrest, has_court = self._episode_days(kind, day, anchor)
        cycle_day = arrest_day if has_arrest else court_day - rng.randrange(1, 30)
        cycle_date = self._date(cycle_day, blank=0.003)
        episode = _Episode(template, lines, flags, first_record, cycle, cycle_date, dob, place,
                           p64_comments)  # fmt: skip
        step = 0
        registrations: list[tuple[int, Offense]] = []
        if has_arrest:
            step += 1
            self._arrest(episode, step, arrest_day, counts, has_court)
        if not has_court:
            return registrations
        step += 1
        court = self._court(episode, step, court_day, counts, kind == _P64_CONVICTION,
                            registrations)  # fmt: skip
        if self.revocations and court.probation_rows:
            step = self._revocations(lines, flags, first_record, cycle, step, court_day,
                                     court.probation_rows)  # fmt: skip
        if court.convicted_any and court.custody and self.prisons and rng.random() < 0.7:
            self._custody(episode, step + 1, court_day, counts[0])
        return registrations

    def _counts(self, kind: int, day: int, anchor: Offense | None) -> list[Offense]:
        """The counts: a primary charge and sometimes others."""
        rng = self.rng
        primary: Offense
        if anchor is not None:
            primary = anchor
        elif kind == _P64_DISMISSED:
            section = P64_SECTIONS.pick(rng)
            era = P64_BEFORE if day < PROP64_DAY else P64_AFTER
            primary = era[section].pick(rng)
        else:
            primary = GENERAL_CATEGORIES.pick(rng).pick(rng)
        counts = [primary]
        extra_p = 0.45 if primary.kind & P64 else 0.3
        while len(counts) < 5 and rng.random() < extra_p:
            related = primary.kind & P64 and rng.random() < 0.6
            extra = RELATED_OFFENSES if related else OTHER_OFFENSES
            counts.append(extra.pick(rng))
            extra_p *= 0.6
        return counts

    def _episode_days(
        self, kind: int, day: int, anchor: Offense | None
    ) -> tuple[int, int, bool, bool]:
        """(arrest day, court day, has an arrest step, has a court step): an anchored cycle
        is dated by its court action, any other by its arrest."""
        rng = self.rng
        if anchor is not None:
            court_day = day
            arrest_day = day - 7 - int(rng.expovariate(1 / 60))
            has_arrest, has_court = rng.random() < 0.9, True
        else:
            arrest_day = day
            court_day = day + 7 + int(rng.expovariate(1 / 60))
            r = rng.random()
            has_court = r < (0.7 if kind == _P64_DISMISSED else 0.78)
            has_arrest = r < 0.92 or not has_court
            if court_day > LAST_DAY:
                has_court, has_arrest = False, True
        return arrest_day, court_day, has_arrest, has_court

    def _arrest(
        self, at: _Episode, step: int, arrest_day: int, counts: list[Offense], has_court: bool
    ) -> None:
        """The arrest step: one line per count; without a court action, its disposition."""
        rng = self.rng
        agency = at.place.police_weights.pick(rng)
        s = self._step(at.template, at.cycle, at.cycle_date, step, arrest_day, _ARREST, agency,
                       at.place, at.dob)  # fmt: skip
        if not has_court:
            s[I_DISP_CODE], s[I_DISP] = ARREST_ONLY.pick(rng)
            if s[I_DISP]:
                self._set_disp_date(s, self._date(arrest_day + rng.randrange(0, 20)))
        if rng.random() < 0.5:
            s[I_OFN] = str(rng.randrange(10**5, 10**8))
        s[I_FE_ORDER] = "001"
        s[I_FE_BOOKING] = str(rng.randrange(10**8, 10**9))
        for i, offense in enumerate(counts, start=1):
            row = s.copy()
            row[I_CNT_ORDER] = f"{at.cycle:03d}{step:03d}{i:03d}000"
            self._charge(row, offense, at.p64_comments)
            at.emit(row, _LINE)

    def _court(
        self,
        at: _Episode,
        step: int,
        court_day: int,
        counts: list[Offense],
        convict_p64: bool,
        registrations: list[tuple[int, Offense]],
    ) -> _CourtOutcome:
        """The court step: the court and case number, then each count's disposition."""
        rng, place = self.rng, at.place
        misdemeanor_only = all(o.toc != "F" for o in counts)
        if place.in_state and court_day < dt.date(1998, 6, 1).toordinal() and misdemeanor_only:
            court = rng.choice(place.municipal)
        else:
            court = place.superior
        if place.in_state and rng.random() < 0.02:  # "CASCSACRAMENTO"
            court = court._replace(descr=court.descr.replace(" ", "", 1))
        s = self._step(at.template, at.cycle, at.cycle_date, step, court_day, _COURT, court,
                       place, at.dob)  # fmt: skip
        year = ymd(court_day)[2:4]
        ofn = (
            f"{place.prefix}{rng.randrange(10**7):07d}"
            if rng.random() < 0.7
            else f"{year}{'F' if not misdemeanor_only else 'M'}{rng.randrange(10**5):05d}"
        )
        if rng.random() < 0.015:
            ofn = ""
        disp_day = court_day if rng.random() < 0.85 else court_day + rng.randrange(1, 60)
        disp_date = self._date(disp_day, blank=0.02)
        self._set_disp_date(s, disp_date)
        s[I_FE_ORDER] = "001"
        s[I_FE_CRT_CASE] = ofn
        if rng.random() < 0.2:
            s[I_FE_CITE] = str(rng.randrange(10**6, 10**7))
        consolidated = rng.random() < 0.04 and len(counts) > 1
        outcome = _CourtOutcome()
        for i, offense in enumerate(counts, start=1):
            row = s.copy()
            row[I_CNT_ORDER] = f"{at.cycle:03d}{step:03d}{i:03d}000"
            row[I_OFN] = ofn
            if consolidated and i > 1:  # a second case joined to the first
                row[I_OFN] = row[I_FE_CRT_CASE] = f"{place.prefix}{rng.randrange(10**7):07d}"
            self._charge(row, offense, at.p64_comments)
            if offense.kind & P64:
                convict = convict_p64 and i == 1
            elif i == 1:
                convict = rng.random() < 0.75
            else:
                convict = rng.random() < 0.35
            if not convict:
                row[I_DISP_CODE], row[I_DISP] = NON_CONVICTIONS.pick(rng)
                at.emit(row, _LINE)
                continue
            outcome.convicted_any = True
            self._conviction(at, row, offense, outcome)
            self._registrations_after(offense, court_day, registrations)
        return outcome

    def _conviction(self, at: _Episode, row: list[str], offense: Offense,
                    outcome: _CourtOutcome) -> None:  # fmt: skip
        """A convicted count: its level and one line per sentence part (jail, probation...)."""
        rng = self.rng
        level = offense.toc or "M"
        if level == "F" and offense.sub == "(A)" and offense.section == "11357":
            level = "F" if rng.random() < 0.5 else "M"
        elif level == "F" and rng.random() < 0.08:  # reduced to a misdemeanor (PC 17(b))
            level = "M"
        disp, parts = sentence(rng, level)
        row[I_DISP_CODE] = "C"
        row[I_DISP] = disp if rng.random() > 0.02 else "CONVICTED"
        if rng.random() < 0.08 and level == offense.toc:
            # blank CONV_STAT_DESCR: felony is read from OFFENSE_TOC (DOMAIN.md §1)
            row[I_CONV_CODE] = row[I_CONV] = ""
        else:
            row[I_CONV_CODE], row[I_CONV] = LEVEL[level]
        for part_no, (loc, length, unit) in enumerate(parts, start=1):
            if part_no > 1:
                row = row.copy()
                if rng.random() < 0.15:
                    row[I_DISP_CODE] = row[I_DISP] = ""
            row[I_SENT_ORDER] = f"{part_no:03d}"
            row[I_SENT_LOC_CODE] = LOCATIONS[loc]
            row[I_SENT_LOC] = loc
            if length:
                row[I_SENT_LENGTH] = f"{length:03d}" if rng.random() < 0.9 else str(length)
                row[I_SENT_CODE] = unit
                row[I_SENT_DESCR] = SENT_UNITS[unit]
            else:
                row[I_SENT_LENGTH] = row[I_SENT_CODE] = row[I_SENT_DESCR] = ""
            if part_no == 1:
                at.emit(row, P64_CONV if offense.kind & P64 else CONVICTION)
                if disp == "CONVICTED-PROBATION":
                    outcome.probation_rows.append(row)
            else:
                at.emit(row, _LINE)
        outcome.custody = outcome.custody or parts[0][0] == "PRISON"

    def _registrations_after(
        self, offense: Offense, court_day: int, registrations: list[tuple[int, Offense]]
    ) -> None:
        """PC 290 registrations after a sex-offence conviction; HS 11590 after some drug ones."""
        rng = self.rng
        if offense.kind & PC290 and rng.random() < 0.85:
            for k in range(rng.choice((1, 1, 2, 3))):
                registrations.append(
                    (court_day + 30 + k * 365 + rng.randrange(60), REG_290.pick(rng))
                )
        elif (
            offense.section in ("11350", "11351", "11378")
            and court_day < dt.date(2012, 1, 1).toordinal()
            and rng.random() < 0.2
        ):
            registrations.append((court_day + 20 + rng.randrange(60), REG_OTHER.values[0]))

    def _custody(self, at: _Episode, step: int, court_day: int, primary: Offense) -> None:
        """A prison intake after a prison sentence (left out when the prison's county is
        outside the counties the extract is confined to)."""
        rng = self.rng
        prison = rng.choice(self.prisons)
        prison_place = self.prison_county[prison.descr]
        if self.restricted and prison_place.county_name != at.place.county_name:
            return
        s = self._step(at.template, at.cycle, at.cycle_date, step,
                       court_day + rng.randrange(5, 60), _CUSTODY, prison, prison_place,
                       at.dob)  # fmt: skip
        s[I_CNT_ORDER] = f"{at.cycle:03d}{step:03d}001000"
        self._charge(s, primary, at.p64_comments)
        at.emit(s, _LINE)

    def _revocations(
        self,
        lines: list[str],
        flags: list[int],
        first_record: int,
        cycle: int,
        step: int,
        court_day: int,
        probation_rows: list[list[str]],
    ) -> int:
        """Now and then a later court step revoking a probation grant (issue 23): the same
        count, DISP_DESCR ``PROBATION REVOKED``, no sentence. Drawn from the law stream."""
        law = self.law_rng
        revoked = [row for row in probation_rows if law.random() < REVOCATION_SHARE]
        if not revoked:
            return step
        day = court_day + 90 + law.randrange(600)
        if day > LAST_DAY:
            return step
        step += 1
        for row in revoked:
            r = row.copy()
            r[0] = str(first_record + len(lines))
            r[I_STP_ORDER] = f"{step:03d}"
            r[I_CNT_ORDER] = f"{cycle:03d}{step:03d}{row[I_CNT_ORDER][6:9]}000"
            r[I_EVENT_DATE] = ymd(day)
            if r[I_DISP_DATE] != PLACEHOLDER:
                r[I_DISP_DATE] = ymd(day)
            r[I_STP_TYPE_CODE], r[I_STP_TYPE] = _COURT
            r[I_DISP_CODE], r[I_DISP] = "R", "PROBATION REVOKED"
            r[I_CONV_CODE] = r[I_CONV] = ""
            for i in (I_SENT_ORDER, I_SENT_LOC_CODE, I_SENT_LOC, I_SENT_LENGTH,
                      I_SENT_CODE, I_SENT_DESCR):  # fmt: skip
                r[i] = ""
            lines.append(",".join(r))
            flags.append(_LINE)
        return step

    def _registration(
        self,
        template: list[str],
        lines: list[str],
        flags: list[int],
        first_record: int,
        cycle: int,
        day: int,
        dob: int,
        offense: Offense,
        home: Place,
    ) -> None:
        rng = self.rng
        agency = home.police_weights.pick(rng)
        s = self._step(
            template, cycle, self._date(day, blank=0.003), 1, day, _REGISTRATION, agency, home, dob
        )
        s[I_CNT_ORDER] = f"{cycle:03d}001001000"
        s[I_OFFENSE_CODE] = offense.number
        s[I_OFFENSE] = quote(offense.standard(offense.descrs[0]))
        s[0] = str(first_record + len(lines))
        lines.append(",".join(s))
        flags.append(_LINE)

    def _death(
        self,
        template: list[str],
        lines: list[str],
        flags: list[int],
        first_record: int,
        cycle: int,
        day: int,
        dob: int,
        home: Place,
    ) -> None:
        s = self._step(
            template,
            cycle,
            self._date(day, blank=0.003),
            1,
            day,
            _DECEASED,
            home.coroner,
            home,
            dob,
        )
        s[I_CNT_ORDER] = f"{cycle:03d}001001000"
        s[0] = str(first_record + len(lines))
        lines.append(",".join(s))
        flags.append(DEATH_LINE)
