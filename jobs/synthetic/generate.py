"""Synthetic statewide DOJ criminal-history extract: our test data and benchmark input.

Writes the 95-column CSV of DOMAIN.md §1 (comma separated, RFC 4180 double-quote quoting,
optional header, optional trailing empty field, ``.gz`` when the name says so) with the
history of fabricated subjects: arrests, court actions with multi-count cases and sentence
parts, registrations, deaths, in all 58 counties weighted by population and a few
out-of-state agencies. About 15% of subjects have a Prop 64 conviction (HS 11357-11360), and
every messy variant of DOMAIN.md §1-2 occurs: charge only in COMMENT_TEXT, a different
Prop 64 section in COMMENT_TEXT, spacing/spelling/case variants of code sections, attempts
(``664/11359 HS``), subsections without parentheses (``11357A HS``, ``11357B2 HS``,
``11360A2 HS``), a description after the section with no dash and no code (``11360(B)
GIVE/TRANSPORT ...``), partial and blank dates, blank CONV_STAT_DESCR with OFFENSE_TOC
F/M/I, and the placeholder ``  -  `` in DISP_DATE (as the reference tool's own generator
writes it on every line: ``disp_date_placeholder`` sets the share of steps that get it).

For the law packs (docs/laws.md) the histories also hold what PC 1203.425 and 851.93 read:
arrests with no court action (about a fifth of ordinary cycles, some with no disposition at
all: pending charges), dismissals, acquittals and completed diversions (``DIVERSION
DISMISSED``), probation grants, prison sentences, PC 290 registrations, and, for subjects
without Prop 64 history, probation revocations (a later court step ``PROBATION REVOKED``
for 12% of their probation grants) and records back to the 1960s (35% of those born
before 1952 get one or two cycles before 1973). These two come from a second random
stream, so the Prop 64 side draws what it drew before.

Every name and number is fabricated. The identifiers that must never reach the warehouse
(DOMAIN.md §1: dropped at ingest) have patterns no other field can match, so a test can
grep any output for them:

- SSN (``REQ_SSN``, ``PRI_SSN``): ``9DD-00-DDDD``, regex :data:`SSN_REGEX`. Area numbers
  900-999 are never issued as SSNs and group 00 is never issued at all (nor as an ITIN),
  so no real person's number can appear.
- Driver's licence (``REQ_CDL``, ``PRI_CDL``): ``X`` followed by 7 digits, regex
  :data:`CDL_REGEX`. No other generated field holds an ``X`` followed by a digit.

Both regexes are plain strings valid in Python and in Java (Spark ``rlike``). RECORD_ID is
the 1-based data line number; SUBJECT_ID and CII_NUMBER are unique per subject.

The output is a pure function of (seed, rows, counties, trailing_empty_field, header): two
``random.Random`` streams seeded from ``seed``, no set or hash ordering. The file for N rows
is a prefix of the file for more rows with the same arguments (only the last subject is cut
short).
"""

from __future__ import annotations

import bisect
import datetime as dt
import gzip
import heapq
import itertools
import os
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Generic, NamedTuple, TypeVar, cast

from relief.jobs.config import load_counties
from relief.transforms import columns as c
from relief.transforms.vocabulary import County

SSN_REGEX = r"\b9\d{2}-00-\d{4}\b"
CDL_REGEX = r"\bX\d{7}\b"

PROGRESS_EVERY = 50_000

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

T = TypeVar("T")


@dataclass(frozen=True)
class GenerateStats:
    """What one generate_extract call wrote (counts are of data lines, header excluded)."""

    path: Path
    rows: int
    subjects: int
    subjects_with_prop64_conviction: int
    prop64_convictions: int  # counted convictions: first line of a CNT_ORDER
    convictions: int
    deceased_subjects: int
    header: bool
    trailing_empty_field: bool
    seconds: float

    @property
    def rows_per_minute(self) -> float:
        return self.rows * 60.0 / self.seconds if self.seconds > 0 else float("inf")

    def __str__(self) -> str:
        share = self.subjects_with_prop64_conviction / self.subjects if self.subjects else 0.0
        return (
            f"{self.rows:,} rows, {self.subjects:,} subjects "
            f"({self.subjects_with_prop64_conviction:,} with a Prop 64 conviction, {share:.1%}), "
            f"{self.convictions:,} convictions ({self.prop64_convictions:,} Prop 64), "
            f"{self.deceased_subjects:,} deceased; {self.seconds:.1f} s, "
            f"{self.rows_per_minute:,.0f} rows/min"
        )


# --- column positions ---------------------------------------------------------------------
_POS = {name: i for i, name in enumerate(c.DOJ_COLUMNS)}
_REQ_CDL, _REQ_SSN, _PRI_SSN, _PRI_CDL = (_POS[name] for name in c.PII_COLUMNS)
_I_SUBJECT_STATUS = _POS["SUBJECT_STATUS"]
_I_SUBJECT_ID = _POS[c.SUBJECT_ID]
_I_REQ_CII = _POS["REQ_CII_NUMBER"]
_I_REQ_NAME = _POS["REQ_NAME"]
_I_REQ_GENDER = _POS["REQ_GENDER"]
_I_REQ_DOB = _POS["REQ_DOB"]
_I_CII = _POS[c.CII_NUMBER]
_I_NAME = _POS[c.PRI_NAME]
_I_GENDER = _POS["GENDER"]
_I_DOB = _POS[c.PRI_DOB]
_I_FBI = _POS["FBI_NUMBER"]
_I_RACE_CODE = _POS["RACE_CODE"]
_I_RACE = _POS[c.RACE_DESCR]
_I_EYE_CODE = _POS["EYE_COLOR_CODE"]
_I_EYE = _POS["EYE_COLOR_DESCR"]
_I_HAIR_CODE = _POS["HAIR_COLOR_CODE"]
_I_HAIR = _POS["HAIR_COLOR_DESCR"]
_I_HEIGHT = _POS["HEIGHT"]
_I_WEIGHT = _POS["WEIGHT"]
_I_SINGLE_SOURCE = _POS["SINGLE_SOURCE"]
_I_MULTI_SOURCE = _POS["MULTI_SOURCE"]
_I_POB_CODE = _POS["POB_CODE"]
_I_POB_NAME = _POS["POB_NAME"]
_I_POB_TYPE = _POS["POB_TYPE"]
_I_CITIZENSHIP = _POS["CITIZENSHIP_LIST"]
_I_CYC_ORDER = _POS["CYC_ORDER"]
_I_CYC_DATE = _POS[c.CYC_DATE]
_I_STP_ORDER = _POS["STP_ORDER"]
_I_EVENT_DATE = _POS[c.STP_EVENT_DATE]
_I_STP_TYPE_CODE = _POS["STP_TYPE_CODE"]
_I_STP_TYPE = _POS[c.STP_TYPE_DESCR]
_I_ORI_TYPE = _POS["STP_ORI_TYPE"]
_I_ORI_TYPE_DESCR = _POS["STP_ORI_TYPE_DESCR"]
_I_ORI_CODE = _POS["STP_ORI_CODE"]
_I_ORI_DESCR = _POS[c.STP_ORI_DESCR]
_I_CNTY_CODE = _POS["STP_ORI_CNTY_CODE"]
_I_CNTY = _POS[c.STP_ORI_CNTY_NAME]
_I_CNT_ORDER = _POS[c.CNT_ORDER]
_I_DISP_DATE = _POS[c.DISP_DATE]
_I_OFN = _POS[c.OFN]
_I_OFFENSE_CODE = _POS["OFFENSE_CODE"]
_I_OFFENSE = _POS[c.OFFENSE_DESCR]
_I_TOC = _POS[c.OFFENSE_TOC]
_I_FE_ORDER = _POS["FE_NUM_ORDER"]
_I_FE_BOOKING = _POS["FE_NUM_BOOKING"]
_I_FE_CITE = _POS["FE_NUM_CITE"]
_I_FE_CRT_CASE = _POS["FE_NUM_CRT_CASE"]
_I_DISP_ORDER = _POS["DISP_ORDER"]
_I_DISP_CODE = _POS["DISP_CODE"]
_I_DISP = _POS[c.DISP_DESCR]
_I_CONV_CODE = _POS["CONV_STAT_CODE"]
_I_CONV = _POS[c.CONV_STAT_DESCR]
_I_SENT_ORDER = _POS["SENT_ORDER"]
_I_SENT_LOC_CODE = _POS["SENT_LOC_CODE"]
_I_SENT_LOC = _POS["SENT_LOC_DESCR"]
_I_SENT_LENGTH = _POS[c.SENT_LENGTH]
_I_SENT_CODE = _POS[c.SENT_TIME_CODE]
_I_SENT_DESCR = _POS["SENT_TIME_DESCR"]
_I_CYC_AGE = _POS["CYC_AGE"]
_I_COMMENT = _POS[c.COMMENT_TEXT]
_I_END = _POS["END_OF_REC"]
_SEPARATORS = tuple(_POS[n] for n in ("REQ_SEG_SEP", "PII_SEG_SEP", "PDR_SEG_SEP"))
_SEPARATORS += tuple(_POS[n] for n in ("CYC_SEG_SEP", "STP_SEG_SEP", "CNT_SEG_SEP"))
_SEPARATORS += (_POS["SENT_SEG_SEP"],)

# --- dates --------------------------------------------------------------------------------
_DAY0 = dt.date(1930, 1, 1).toordinal()
_DATES: list[str] = [
    dt.date.fromordinal(o).strftime("%Y%m%d") for o in range(_DAY0, dt.date(2031, 1, 1).toordinal())
]
_FIRST_RECORD_DAY = dt.date(1970, 1, 1).toordinal()
_LAST_DAY = dt.date(2025, 6, 30).toordinal()  # the extract's "as of" date; never the clock
_PROP64_DAY = dt.date(2016, 11, 9).toordinal()  # Prop 64 took effect
_DOB_FIRST = dt.date(1940, 1, 1).toordinal()
# Law-pack records (issue 23): histories reaching back to the 1960s, probation revocations.
_EARLY_FIRST_DAY = dt.date(1958, 1, 1).toordinal()
_EARLY_DOB_BEFORE = dt.date(1952, 1, 1).toordinal()
_LAW_START_DAY = dt.date(1973, 1, 1).toordinal()
EARLY_SHARE = 0.35  # of subjects born before 1952 without Prop 64 history
REVOCATION_SHARE = 0.12  # of probation grants (subjects without Prop 64 history)
_DOB_LAST = dt.date(2004, 12, 31).toordinal()
_YEAR = 365.25


def _ymd(ordinal: int) -> str:
    return _DATES[ordinal - _DAY0]


# --- small helpers ------------------------------------------------------------------------
class _Weighted(Generic[T]):
    """Weighted choice with one rng.random() call."""

    __slots__ = ("_cum", "_last", "_total", "values")

    def __init__(self, items: Sequence[tuple[T, float]]) -> None:
        self.values = [value for value, _ in items]
        self._cum = list(itertools.accumulate(weight for _, weight in items))
        self._total = self._cum[-1]
        self._last = len(self.values) - 1

    def pick(self, rng: random.Random) -> T:
        i = bisect.bisect_right(self._cum, rng.random() * self._total)
        return self.values[i if i < self._last else self._last]


def _quote(text: str) -> str:
    """CSV field: double-quoted (quotes doubled) only when it holds a comma, quote or newline."""
    if "," in text or '"' in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


# --- offences (DOMAIN.md §2) --------------------------------------------------------------
_OTHER, _RELATED, _SUPER, _PC290, _P64, _REG = 1, 2, 4, 8, 16, 32


class _Offense(NamedTuple):
    section: str  # "11357", "664/187", "288A"
    sub: str  # "(C)", "(A)(1)", ""
    code: str  # "HS", "PC", "VC", "BP"
    descrs: tuple[str, ...]
    toc: str  # F / M / I as charged
    kind: int  # bit set of _OTHER, _RELATED, ...
    number: str  # OFFENSE_CODE (a fabricated DOJ offence number)
    p64: str  # the Prop 64 section ("11359" for 664/11359), "" otherwise

    def standard(self, descr: str) -> str:
        return f"{self.section}{self.sub} {self.code}-{descr}"


_offense_numbers = itertools.count(1101)


def _offense(section: str, sub: str, code: str, descrs: str, toc: str, kind: int) -> _Offense:
    p64 = section.removeprefix("664/") if kind & _P64 else ""
    number = f"{next(_offense_numbers):05d}"
    return _Offense(section, sub, code, tuple(descrs.split("|")), toc, kind, number, p64)


def _table(kind: int, rows: Sequence[tuple[str, str, str, str, str, float]]) -> _Weighted[_Offense]:
    return _Weighted(
        [(_offense(s, sub, code, d, toc, kind), w) for s, sub, code, d, toc, w in rows]
    )


_OTHER_OFFENSES = _table(
    _OTHER,
    [
        ("459", "", "PC", "BURGLARY", "F", 6),
        ("484", "(A)", "PC", "THEFT OF PERSONAL PROPERTY|THEFT", "M", 5),
        ("488", "", "PC", "PETTY THEFT", "M", 4),
        ("487", "(A)", "PC", "GRAND THEFT:MONEY/LABOR/PROPERTY", "F", 3),
        ("496", "(A)", "PC", "RECEIVE/ETC KNOWN STOLEN PROPERTY", "F", 3),
        ("10851", "(A)", "VC", "TAKE VEHICLE W/O OWNER'S CONSENT/VEHICLE THEFT", "F", 3),
        ("503", "", "VC", "TAKE CAR W/OUT OWNERS CONSENT", "F", 0.5),
        ("23152", "(A)", "VC", "DUI ALCOHOL/DRUGS|DRIVE UNDER INFLUENCE", "M", 8),
        ("23152", "(B)", "VC", "DUI ALCOHOL/0.08 PERCENT", "M", 5),
        ("23153", "(A)", "VC", "DUI ALCOHOL/DRUGS CAUSING BODILY INJURY", "F", 0.8),
        ("14601.1", "(A)", "VC", "DRIVE WHILE LICENSE SUSPENDED/ETC", "M", 4),
        ("12500", "(A)", "VC", "DRIVE WITHOUT LICENSE", "M", 3),
        ("20002", "(A)", "VC", "HIT AND RUN:PROPERTY DAMAGE", "M", 1),
        ("11350", "(A)", "HS", "POSSESS NARCOTIC CONTROLLED SUBSTANCE", "F", 5),
        ("11351", "", "HS", "POSSESS/PURCHASE FOR SALE NARCOTIC/CONTROLLED SUBSTANCE", "F", 1.5),
        ("11377", "(A)", "HS", "POSSESS CONTROLLED SUBSTANCE", "M", 4),
        ("11378", "", "HS", "POSSESS CONTROLLED SUBSTANCE FOR SALE", "F", 1.5),
        ("11379", "(A)", "HS", "TRANSPORT/SELL CONTROLLED SUBSTANCE", "F", 1),
        ("245", "(A)(1)", "PC", "ASSAULT W/DEADLY WEAPON OTHER THAN FIREARM", "F", 3),
        ("242", "", "PC", "BATTERY", "M", 3),
        ("243", "(E)(1)", "PC", "BATTERY ON SPOUSE/EX SPOUSE/DATE/ETC", "M", 2),
        ("273.5", "(A)", "PC", "INFLICT CORPORAL INJURY ON SPOUSE/COHABITANT", "F", 2),
        ("211", "", "PC", "ROBBERY", "F", 1.5),
        ("422", "", "PC", "THREATEN CRIME WITH INTENT TO TERRORIZE", "F", 1),
        ("594", "(A)", "PC", "VANDALISM", "M", 2),
        ("29800", "(A)(1)", "PC", "FELON/ADDICT/ETC POSSESS/ETC FIREARM", "F", 1),
        ("12025", "(A)(1)", "PC", "CARRY CONCEALED WEAPON IN VEHICLE", "M", 0.7),
        ("470", "(A)", "PC", "FORGERY", "F", 0.8),
        ("530.5", "(A)", "PC", "UNAUTHORIZED USE OF PERSONAL ID INFORMATION", "F", 0.8),
        ("166", "(A)(4)", "PC", "CONTEMPT:DISOBEY COURT ORDER/ETC", "M", 1),
        ("415", "(1)", "PC", "FIGHT/CHALLENGE FIGHT PUBLIC PLACE", "M", 1),
        ("69", "", "PC", "OBSTRUCT/RESIST EXECUTIVE OFFICER", "F", 0.7),
        ("1203.2", "", "PC", "PROBATION VIOLATION", "M", 2),
        ("3056", "", "PC", "VIOLATION OF PAROLE", "F", 1),
        ("853.7", "", "PC", "FAIL TO APPEAR AFTER WRITTEN PROMISE", "M", 1),
        ("25620", "", "BP", "POSSESS OPEN CONTAINER ALCOHOL IN PUBLIC", "I", 0.6),
    ],
)
# DOMAIN.md §2 "related charges"
_RELATED_OFFENSES = _table(
    _RELATED,
    [
        ("647", "(F)", "PC", "DISORDERLY CONDUCT:INTOXICATED:DRUG/ALCOHOL", "M", 4),
        ("602", "", "PC", "TRESPASSING", "M", 2),
        ("466", "", "PC", "POSSESS BURGLARY TOOLS", "M", 1),
        ("148.9", "", "PC", "FALSE ID TO PEACE OFFICER", "M", 1),
        ("148", "", "PC", "RESIST/OBSTRUCT/DELAY PEACE OFFICER", "M", 2),
        ("11364", "", "HS", "POSSESS UNLAWFUL PARAPHERNALIA", "M", 3),
        ("11550", "", "HS", "UNDER INFLUENCE OF CONTROLLED SUBSTANCE", "M", 3),
        ("4140", "", "BP", "POSSESS HYPODERMIC NEEDLE/SYRINGE", "M", 0.5),
        ("4149", "", "BP", "POSSESS HYPODERMIC NEEDLE/SYRINGE", "M", 0.5),
        ("4060", "", "BP", "POSSESS CONTROLLED SUBSTANCE W/O PRESCRIPTION", "M", 0.5),
        ("40508", "", "VC", "FAIL TO APPEAR:WRITTEN PROMISE", "M", 0.7),
        ("40508", "(A)", "VC", "FAIL TO APPEAR:WRITTEN PROMISE", "M", 0.3),
        ("1320", "(B)", "PC", "FAIL TO APPEAR:FELONY CHARGE", "F", 0.5),
        ("1320", "(A)", "PC", "FAIL TO APPEAR:MISDEMEANOR CHARGE", "M", 0.5),
    ],
)
# PC 667(e)(2)(C)(iv) superstrikes; several are PC 290 offences too (DOMAIN.md §2)
_S290 = _SUPER | _PC290
_SUPER_OFFENSES = _Weighted(
    [
        (_offense(s, sub, "PC", d, "F", kind), w)
        for s, sub, d, kind, w in (
            ("187", "(A)", "MURDER", _SUPER, 3),
            ("187", "", "MURDER", _SUPER, 1),
            ("664/187", "(A)", "ATTEMPTED MURDER", _SUPER, 3),
            ("261", "(A)(2)", "RAPE BY FORCE/FEAR/ETC", _S290, 3),
            ("288", "(A)", "LEWD OR LASCIVIOUS ACTS WITH CHILD UNDER 14", _S290, 3),
            ("269", "(A)(1)", "AGGRAVATED SEXUAL ASSAULT OF CHILD", _S290, 0.5),
            ("288A", "(C)(1)", "ORAL COPULATION WITH PERSON UNDER 14", _S290, 0.5),
            ("220", "(A)", "ASSAULT WITH INTENT TO COMMIT RAPE/ETC", _SUPER, 1),
            ("245", "(D)(3)", "ASSAULT W/SEMIAUTOMATIC FIREARM ON PEACE OFFICER", _SUPER, 0.3),
            ("207", "(A)", "KIDNAPPING", _SUPER, 1),
            ("451.5", "", "AGGRAVATED ARSON", _SUPER, 0.2),
            ("191.5", "(A)", "GROSS VEHICULAR MANSLAUGHTER WHILE INTOXICATED", _SUPER, 1),
        )
    ]
)
_PC290_OFFENSES = _table(
    _PC290,
    [
        ("243.4", "(A)", "PC", "SEXUAL BATTERY", "F", 3),
        ("314", "(1)", "PC", "INDECENT EXPOSURE", "M", 3),
        ("647.6", "(A)", "PC", "ANNOY/MOLEST CHILD UNDER 18", "M", 2),
        ("311.11", "(A)", "PC", "POSSESS/ETC MATTER DEPICTING MINOR IN SEX ACT", "F", 1.5),
        ("266H", "(B)", "PC", "PIMPING MINOR UNDER 16", "F", 0.5),
        ("288", "(C)(1)", "PC", "LEWD OR LASCIVIOUS ACTS WITH CHILD 14 OR 15", "F", 1),
    ],
)
_GENERAL_CATEGORIES = _Weighted(
    [(_OTHER_OFFENSES, 0.80), (_RELATED_OFFENSES, 0.15), (_SUPER_OFFENSES, 0.02),
     (_PC290_OFFENSES, 0.03)]
)  # fmt: skip

_REG_290 = _Weighted(
    [
        (_offense("290", "", "PC", "REGISTRATION OF SEX OFFENDER", "", _REG | _PC290), 8),
        (_offense("290", "(A)(1)", "PC", "SEX OFFENDER REGISTRATION", "", _REG | _PC290), 2),
    ]
)
_REG_OTHER = _Weighted(
    [
        (_offense("11590", "", "HS", "REGISTRATION OF CONTROLLED SUBSTANCE OFFENDER", "", _REG), 5),
        (_offense("186.30", "", "PC", "GANG REGISTRATION", "", _REG), 3),
        (_offense("457.1", "", "PC", "REGISTRATION OF ARSON OFFENDER", "", _REG), 1),
    ]
)

# Prop 64 charges (HS 11357-11360) as written before and after 2016-11-09, with the level
# they were charged at. Before Prop 64: 11357(a) concentrated cannabis was a wobbler,
# 11357(b) a misdemeanor (an infraction from 2011), 11358/11359/11360(a) felonies.
# After: mostly misdemeanors and infractions, felonies only for aggravated cases.
_P64_SECTION_WEIGHTS = {"11357": 0.42, "11358": 0.14, "11359": 0.32, "11360": 0.12}


def _p64(section: str, sub: str, descrs: str, toc: str) -> _Offense:
    return _offense(section, sub, "HS", descrs, toc, _P64)


_P64_BEFORE = {
    "11357": _Weighted(
        [
            (_p64("11357", "(A)", "POSSESS CONCENTRATED CANNABIS|POSS CONC CANNABIS", "F"), 0.13),
            (_p64("11357", "(A)", "POSSESS CONCENTRATED CANNABIS|POSS CONC CANNABIS", "M"), 0.12),
            (_p64("11357", "(B)", "POSSESS 28.5 GRAMS OR LESS MARIJUANA|POSS MARIJ", "M"), 0.30),
            (_p64("11357", "(C)", "POSSESS MARIJUANA OVER 28.5 GRAMS|POSS MARIJ", "M"), 0.30),
            (_p64("11357", "(D)", "POSS MARIJUANA ON SCHOOL GROUNDS", "M"), 0.05),
            (_p64("11357", "", "POSSESS MARIJUANA|POSS MARIJ", "M"), 0.10),
        ]
    ),
    "11358": _Weighted(
        [
            (_p64("11358", "", "CULTIVATE MARIJUANA|PLANT/CULTIVATE/ETC MARIJUANA", "F"), 1),
        ]
    ),
    "11359": _Weighted(
        [
            (_p64("11359", "", "POSSESS MARIJUANA FOR SALE|POSS MARIJ FOR SALE", "F"), 1),
        ]
    ),
    "11360": _Weighted(
        [
            (_p64("11360", "(A)", "SELL/TRANSPORT/ETC MARIJUANA|TRANSPORT/SELL MARIJ", "F"), 0.7),
            (_p64("11360", "(B)", "GIVE/TRANSPORT/ETC 28.5 GRAMS OR LESS MARIJUANA", "M"), 0.2),
            (_p64("11360", "", "SELL/TRANSPORT/ETC MARIJUANA", "F"), 0.1),
        ]
    ),
}  # fmt: skip
_P64_AFTER = {
    "11357": _Weighted(
        [
            (_p64("11357", "(A)", "POSSESS CANNABIS|POSS CANNABIS", "I"), 0.3),
            (_p64("11357", "(B)", "POSSESS OVER 28.5 GRAMS CANNABIS|POSS CANNABIS", "M"), 0.42),
            (_p64("11357", "(B)(2)", "POSSESS OVER 28.5 GRAMS CANNABIS UNDER 21", "M"), 0.08),
            (_p64("11357", "(C)", "POSSESS CANNABIS ON SCHOOL GROUNDS", "M"), 0.2),
        ]
    ),
    "11358": _Weighted(
        [
            (_p64("11358", "(C)", "CULTIVATE OVER 6 CANNABIS PLANTS", "M"), 0.7),
            (_p64("11358", "(D)", "CULTIVATE CANNABIS W/PRIORS/ETC", "F"), 0.3),
        ]
    ),
    "11359": _Weighted(
        [
            (_p64("11359", "(B)", "POSSESS CANNABIS FOR SALE", "M"), 0.75),
            (_p64("11359", "(C)", "POSSESS CANNABIS FOR SALE W/PRIORS/ETC", "F"), 0.15),
            (_p64("11359", "(D)", "POSSESS CANNABIS FOR SALE TO MINOR", "F"), 0.10),
        ]
    ),
    "11360": _Weighted(
        [
            (_p64("11360", "(A)", "SELL/TRANSPORT/ETC CANNABIS", "M"), 0.6),
            (_p64("11360", "(A)(2)", "SELL/TRANSPORT/ETC CANNABIS UNDER 21", "M"), 0.1),
            (_p64("11360", "(B)", "GIVE/TRANSPORT 28.5 GRAMS OR LESS CANNABIS", "I"), 0.3),
        ]
    ),
}  # fmt: skip
_P64_ATTEMPTS = _Weighted(
    [
        (_p64("664/11359", "", "ATTEMPT POSS MARIJ FOR SALE", "F"), 3),
        (_p64("664/11360", "(A)", "ATTEMPT SELL/TRANSPORT MARIJUANA", "F"), 1),
        (_p64("664/11358", "", "ATTEMPT CULTIVATE MARIJUANA", "F"), 1),
    ]
)
_P64_SECTIONS = _Weighted(list(_P64_SECTION_WEIGHTS.items()))


def _bare_subsection(sub: str) -> str:
    """'(B)(2)' -> 'B2': a subsection written without parentheses (DOMAIN.md §2)."""
    return sub.replace("(", "").replace(")", "")


def _render_p64(o: _Offense, descr: str, style: int) -> str:
    """One of the spellings DOMAIN.md §2 says occur for a Prop 64 code section."""
    if style == 7:  # subsection without parentheses: 11357A HS, 11357B2 HS, 11360A2 HS
        return f"{o.section}{_bare_subsection(o.sub)} HS-{descr}"
    if style == 8:  # the description right after the section: no dash, no code
        return f"{o.section}{o.sub} {descr}"
    if style == 0:
        return f"{o.section}{o.sub} HS-{descr}"
    if style == 1:  # missing space before the code
        return f"{o.section}{o.sub}HS-{descr}"
    if style == 2:  # space before the subsection
        return f"{o.section} {o.sub} HS-{descr}" if o.sub else f"{o.section}  HS-{descr}"
    if style == 3:
        return f"{o.section}{o.sub} H&S-{descr}"
    if style == 4:  # lower case
        return f"{o.section}{o.sub.lower()}hs-{descr}"
    if style == 5:
        return f"{o.section}{o.sub.lower()} hs-{descr.lower()}"
    # stray spaces
    return f" {o.section}{o.sub}  HS -{descr}"


# Spellings of a Prop 64 code section and their shares (styles of _render_p64).
_P64_STYLE = _Weighted(
    [(0, 0.44), (1, 0.22), (2, 0.05), (3, 0.05), (4, 0.04), (5, 0.03), (6, 0.05), (7, 0.09),
     (8, 0.03)]
)  # fmt: skip

# Where the charge is written on a Prop 64 count line (DOMAIN.md §2):
_IN_OFFENSE, _COMMENT_BLANK, _COMMENT_SEE, _COMMENT_SPACES, _OTHER_P64_IN_COMMENT = range(5)
_P64_PLACEMENT = _Weighted(
    [
        (_IN_OFFENSE, 0.88),
        (_COMMENT_BLANK, 0.035),
        (_COMMENT_SEE, 0.035),
        (_COMMENT_SPACES, 0.01),
        (_OTHER_P64_IN_COMMENT, 0.04),
    ]
)

# --- dispositions and sentences -----------------------------------------------------------
_NON_CONVICTIONS = _Weighted(
    [
        (("D", "DISMISSED"), 30),
        (("D", "DISMISSED-FURTHERANCE OF JUSTICE"), 15),
        (("D", "DISMISSED/CHARGE DROPPED"), 8),
        (("N", "NOT PROSECUTED"), 10),
        (("A", "ACQUITTED"), 5),
        (("V", "DIVERSION DISMISSED"), 4),
    ]
)
_ARREST_ONLY = _Weighted(
    [
        (("R", "RELEASED/DETENTION ONLY"), 4),
        (("O", "REL/TOT OTHER JURIS/AUTH"), 2),
        (("J", "DA REJECT"), 3),
        (("N", "NOT PROSECUTED"), 2),
        (("", ""), 3),
    ]
)
_LEVEL = {"F": ("F", "FELONY"), "M": ("M", "MISDEMEANOR"), "I": ("I", "INFRACTION")}
_SENT_UNITS = {"D": "DAYS", "M": "MONTHS", "Y": "YEARS"}
_LOCATIONS = {"JAIL": "J", "PROBATION": "P", "PRISON": "S", "FINE": "F"}

# A sentence is (DISP_DESCR, [(location, length, unit), ...]); the first part is the
# conviction line, later parts repeat the CNT_ORDER (DOMAIN.md §1).
_Sentence = tuple[str, list[tuple[str, int, str]]]


def _sentence(rng: random.Random, level: str) -> _Sentence:
    r = rng.random()
    if level == "F":
        if r < 0.35:
            n, unit = rng.choice(((16, "M"), (2, "Y"), (3, "Y"), (4, "Y"), (6, "Y"), (8, "Y")))
            parts = [("PRISON", n, unit)]
            if rng.random() < 0.1:
                parts.append(("PRISON", rng.choice((1, 2)), "Y"))  # enhancement, consecutive
            return "CONVICTED-PRISON", parts
        if r < 0.9:
            n, unit = rng.choice(((36, "M"), (60, "M"), (3, "Y"), (5, "Y")))
            parts = [("PROBATION", n, unit)]
            if rng.random() < 0.7:
                parts.append(("JAIL", rng.choice((90, 120, 180, 270, 365)), "D"))
            return "CONVICTED-PROBATION", parts
        return "CONVICTED-JAIL", [("JAIL", rng.choice((180, 240, 365)), "D")]
    if level == "M":
        if r < 0.5:
            n, unit = rng.choice(((12, "M"), (24, "M"), (36, "M"), (3, "Y")))
            parts = [("PROBATION", n, unit)]
            if rng.random() < 0.4:
                parts.append(("JAIL", rng.choice((2, 10, 30, 45, 90)), "D"))
            return "CONVICTED-PROBATION", parts
        if r < 0.8:
            n, unit = rng.choice(((1, "D"), (10, "D"), (30, "D"), (90, "D"), (180, "D"), (6, "M")))
            return "CONVICTED-JAIL", [("JAIL", n, unit)]
        return "CONVICTED-FINE", [("FINE", 0, "")]
    return "CONVICTED-FINE", [("FINE", 0, "")]


_GENERAL_COMMENTS = _Weighted(
    [
        ("SEN-3 YR PROB, 90 DA JL", 3),
        ("FINE $450 + PA", 2),
        ("CONCURRENT", 2),
        ("CREDIT TIME SERVED 12 DAYS", 2),
        ("RSTN $250, FINE $300", 2),
        ("PROB TERMINATED EARLY", 1),
        ('AKA "JR"', 0.3),
        ("WARRANT RECALLED", 1),
    ]
)

# --- people -------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


_LAST_NAMES = _words(
    "ABARCA ALDERETE AMBROSE ARLINGTON BALDERAS BANNISTER BECKWORTH BELLAMY BOONSTRA "
    "CALDERA CARRUTH CASTELLANO CHAMBLISS CORDERO DALRYMPLE DELAFUENTE DUNMORE "
    "ECHEVARRIA ELLSWORTH FAIRCLOTH FONSECA GALLEGLY GARRISON GUTIERRO HALVERSEN "
    "HOLLOWAY IBARRETA JANOWSKI KEARNEY LANDEROS LOCKWOOD MADRIGALES MERRIWEATHER "
    "MONTOYERO NAKAMOTO NGUYET OKAFORO PADILLO PENDERGAST QUINTANILLA RASMUSSON REYNOSO "
    "SALCIDO SANDOVALE TAKAHARA THORNBURG URIBARRI VANDERHOOF VELASQUEZ WHITCOMB "
    "YBARRETA ZAMORANO"
)
_MALE_NAMES = _words(
    "AARON ADRIAN ALBERTO ANDRE ANTHONY BRANDON CARLOS CHRISTOPHER DAMIEN DANIEL DARNELL "
    "DAVID EDUARDO ERIC FRANCISCO GABRIEL GERALD JAMAL JAVIER JEFFREY JOSE KEVIN LUIS "
    "MARCUS MIGUEL NATHAN OSCAR RAFAEL RICHARD ROBERT SAMUEL TERRENCE TREVOR VICTOR "
    "WAYNE"
)
_FEMALE_NAMES = _words(
    "ALICIA ANGELA BRENDA CARMEN CRYSTAL DENISE DIANA ELENA GLORIA JASMINE JESSICA KAREN "
    "KIMBERLY LATOYA LORENA MARIA MELISSA MONICA NICOLE PATRICIA ROSA SANDRA SHANNON "
    "TAMIKA TERESA VANESSA VERONICA YOLANDA"
)
_INITIALS = "ABCDEFGHJKLMNPRSTW"
_RACES = _Weighted(
    [
        (("H", "HISPANIC"), 38),
        (("W", "WHITE"), 32),
        (("B", "BLACK"), 18),
        (("A", "ASIAN"), 4),
        (("F", "FILIPINO"), 1),
        (("I", "AMERICAN INDIAN"), 1),
        (("O", "OTHER"), 4),
        (("U", "UNKNOWN"), 2),
    ]
)
_EYES = _Weighted(
    [(("BRO", "BROWN"), 60), (("BLU", "BLUE"), 15), (("HAZ", "HAZEL"), 10),
     (("GRN", "GREEN"), 7), (("BLK", "BLACK"), 8)]
)  # fmt: skip
_HAIR = _Weighted(
    [(("BLK", "BLACK"), 50), (("BRO", "BROWN"), 30), (("BLN", "BLOND"), 8), (("RED", "RED"), 3),
     (("GRY", "GRAY"), 6), (("BAL", "BALD"), 3)]
)  # fmt: skip
_BIRTHPLACES = _Weighted(
    [
        (("CA", "CALIFORNIA", "S", "US"), 68),
        (("MX", "MEXICO", "C", "MX"), 12),
        (("TX", "TEXAS", "S", "US"), 4),
        (("AZ", "ARIZONA", "S", "US"), 2),
        (("NY", "NEW YORK", "S", "US"), 2),
        (("SV", "EL SALVADOR", "C", "SV"), 2),
        (("PH", "PHILIPPINES", "C", "US"), 2),
        (("VN", "VIETNAM", "C", "US"), 1),
        (("", "", "", ""), 7),
    ]
)

# --- places and agencies ------------------------------------------------------------------
_CITIES: dict[str, tuple[str, ...]] = {
    "ALAMEDA": ("OAKLAND", "FREMONT", "BERKELEY", "HAYWARD"),
    "AMADOR": ("JACKSON",),
    "BUTTE": ("CHICO", "OROVILLE"),
    "CALAVERAS": ("ANGELS CAMP",),
    "COLUSA": ("COLUSA",),
    "CONTRA COSTA": ("RICHMOND", "CONCORD", "ANTIOCH"),
    "DEL NORTE": ("CRESCENT CITY",),
    "EL DORADO": ("PLACERVILLE", "SOUTH LAKE TAHOE"),
    "FRESNO": ("FRESNO", "CLOVIS"),
    "GLENN": ("WILLOWS", "ORLAND"),
    "HUMBOLDT": ("EUREKA", "ARCATA"),
    "IMPERIAL": ("EL CENTRO", "CALEXICO"),
    "INYO": ("BISHOP",),
    "KERN": ("BAKERSFIELD", "DELANO"),
    "KINGS": ("HANFORD", "LEMOORE"),
    "LAKE": ("CLEARLAKE", "LAKEPORT"),
    "LASSEN": ("SUSANVILLE",),
    "LOS ANGELES": ("LOS ANGELES", "LONG BEACH", "PASADENA", "GLENDALE", "SANTA MONICA",
                    "POMONA", "INGLEWOOD"),
    "MADERA": ("MADERA",),
    "MARIN": ("SAN RAFAEL", "NOVATO"),
    "MENDOCINO": ("UKIAH", "FORT BRAGG"),
    "MERCED": ("MERCED", "LOS BANOS"),
    "MODOC": ("ALTURAS",),
    "MONO": ("MAMMOTH LAKES",),
    "MONTEREY": ("SALINAS", "MONTEREY", "SEASIDE"),
    "NAPA": ("NAPA",),
    "NEVADA": ("GRASS VALLEY", "TRUCKEE"),
    "ORANGE": ("SANTA ANA", "ANAHEIM", "IRVINE", "HUNTINGTON BEACH"),
    "PLACER": ("ROSEVILLE", "AUBURN"),
    "RIVERSIDE": ("RIVERSIDE", "CORONA", "PALM SPRINGS"),
    "SACRAMENTO": ("SACRAMENTO", "ELK GROVE", "FOLSOM"),
    "SAN BENITO": ("HOLLISTER",),
    "SAN BERNARDINO": ("SAN BERNARDINO", "FONTANA", "ONTARIO", "VICTORVILLE"),
    "SAN DIEGO": ("SAN DIEGO", "CHULA VISTA", "OCEANSIDE", "ESCONDIDO"),
    "SAN FRANCISCO": ("SAN FRANCISCO",),
    "SAN JOAQUIN": ("STOCKTON", "LODI", "TRACY"),
    "SAN LUIS OBISPO": ("SAN LUIS OBISPO", "PASO ROBLES"),
    "SAN MATEO": ("SAN MATEO", "DALY CITY", "REDWOOD CITY"),
    "SANTA BARBARA": ("SANTA BARBARA", "SANTA MARIA"),
    "SANTA CLARA": ("SAN JOSE", "SANTA CLARA", "SUNNYVALE", "PALO ALTO"),
    "SANTA CRUZ": ("SANTA CRUZ", "WATSONVILLE"),
    "SHASTA": ("REDDING",),
    "SISKIYOU": ("YREKA", "MOUNT SHASTA"),
    "SOLANO": ("VALLEJO", "FAIRFIELD", "VACAVILLE"),
    "SONOMA": ("SANTA ROSA", "PETALUMA"),
    "STANISLAUS": ("MODESTO", "TURLOCK"),
    "SUTTER": ("YUBA CITY",),
    "TEHAMA": ("RED BLUFF",),
    "TULARE": ("VISALIA", "TULARE", "PORTERVILLE"),
    "TUOLUMNE": ("SONORA",),
    "VENTURA": ("VENTURA", "OXNARD", "SIMI VALLEY"),
    "YOLO": ("DAVIS", "WOODLAND"),
    "YUBA": ("MARYSVILLE",),
}  # fmt: skip
# (STP_ORI_CNTY_NAME, agency names): out-of-state agencies, county unknown downstream.
_OUT_OF_STATE = (
    ("OUT OF STATE", ("FBI SACRAMENTO", "USMS LOS ANGELES"), "US DISTRICT COURT"),
    ("WASHOE NV", ("NVPD RENO", "NVSO WASHOE"), "NVDC WASHOE"),
    ("CLARK NV", ("NVPD LAS VEGAS", "NVSO CLARK"), "NVDC CLARK"),
    ("MARICOPA AZ", ("AZPD PHOENIX", "AZSO MARICOPA"), "AZSC MARICOPA"),
    ("MULTNOMAH OR", ("ORPD PORTLAND",), "ORCC MULTNOMAH"),
)
_PRISONS = (
    ("SAN QUENTIN", "MARIN"),
    ("FOLSOM", "SACRAMENTO"),
    ("CORCORAN", "KINGS"),
    ("PELICAN BAY", "DEL NORTE"),
    ("CHINO", "SAN BERNARDINO"),
    ("SOLEDAD", "MONTEREY"),
    ("VACAVILLE", "SOLANO"),
)


class _Agency(NamedTuple):
    ori_type: str
    ori_type_descr: str
    ori_code: str
    descr: str


class _Place(NamedTuple):
    county_name: str
    county_code: str
    population: int
    prefix: str  # court case number prefix, "LA"
    police: tuple[_Agency, ...]  # arresting agencies (PD, sheriff, CHP)
    police_weights: _Weighted[_Agency]
    superior: _Agency
    municipal: tuple[_Agency, ...]
    coroner: _Agency
    in_state: bool


def _place(county: County) -> _Place:
    name, code = county.name, int(county.code)
    cities = _CITIES.get(name, ())
    sheriff = _Agency("SO", "SHERIFF", f"CA{code:03d}0000", f"CASO {name}")
    chp = _Agency("HP", "HIGHWAY PATROL", f"CA{code:03d}9900", f"CAHP {name}")
    pds = tuple(
        _Agency("PD", "POLICE DEPARTMENT", f"CA{code:03d}{i + 1:02d}00", f"CAPD {city}")
        for i, city in enumerate(cities)
    )
    weights: list[tuple[_Agency, float]] = [(sheriff, 3.0), (chp, 0.6)]
    weights += [(pd, 7.0 / (i + 1)) for i, pd in enumerate(pds)]
    superior = _Agency("SC", "SUPERIOR COURT", f"CA{code:03d}015J", f"CASC {name}")
    municipal = tuple(
        _Agency("MC", "MUNICIPAL COURT", f"CA{code:03d}{i + 1:02d}1J", f"CAMC {city}")
        for i, city in enumerate(cities or (name,))
    )
    coroner = _Agency("CO", "CORONER", f"CA{code:03d}0050", f"CACO {name}")
    words = name.split()
    prefix = (words[0][0] + words[1][0]) if len(words) > 1 else name[:2]
    return _Place(
        name,
        county.code,
        county.population,
        prefix,
        (*pds, sheriff, chp),
        _Weighted(weights),
        superior,
        municipal,
        coroner,
        True,
    )


def _out_of_state_place(name: str, agencies: tuple[str, ...], court_name: str) -> _Place:
    police = tuple(_Agency("PD", "OUT OF STATE AGENCY", "", a) for a in agencies)
    court = _Agency("SC", "OUT OF STATE COURT", "", court_name)
    return _Place(
        name,
        "",
        0,
        court_name[:2],
        police,
        _Weighted([(a, 1.0) for a in police]),
        court,
        (court,),
        court,
        False,
    )


# --- the generator ------------------------------------------------------------------------
_ARREST = ("A", "ARREST/DETAINED/CITED")
_COURT = ("C", "COURT ACTION")
_REGISTRATION = ("R", "REGISTRATION")
_DECEASED = ("D", "DECEASED")
_CUSTODY = ("K", "CUSTODY")

# Cycle kinds (_P64_FOCUS: a Prop 64 conviction in the county of a county-shaped extract)
_GENERAL, _P64_CONVICTION, _P64_DISMISSED, _REGISTER, _DIE, _P64_FOCUS = range(6)

# Line flags returned with each line, for the statistics.
_LINE, _CONVICTION, _P64_CONV, _DEATH_LINE = 0, 1, 2, 3


class _Generator:
    def __init__(
        self,
        seed: int,
        places: list[_Place],
        restricted: bool,
        disp_date_placeholder: float,
        focus: _Place | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        # The law-pack records (issue 23: pre-1973 histories, probation revocations) draw
        # from their own stream, so the Prop 64 side's draws stay as they were.
        self.law_rng = random.Random(seed * 7_919 + 1)
        self.revocations = False  # set per subject: revocations only without Prop 64 history
        self.disp_date_placeholder = disp_date_placeholder
        self.focus = focus
        self.home = _Weighted([(p, float(max(p.population, 1))) for p in places])
        self.out_of_state = [_out_of_state_place(*entry) for entry in _OUT_OF_STATE]
        allowed = {p.county_name for p in places}
        self.prisons = [
            _Agency("CD", "DEPT OF CORRECTIONS", f"CA{i:02d}CDC00", f"CACDC {prison}")
            for i, (prison, county) in enumerate(_PRISONS)
        ]
        self.prison_county = {
            a.descr: next(p for p in places if p.county_name == county)
            for a, (_, county) in zip(self.prisons, _PRISONS, strict=True)
            if county in allowed
        }
        self.prisons = [a for a in self.prisons if a.descr in self.prison_county]
        self.restricted = restricted
        self.subject_id = 10_000_000 + self.rng.randrange(5_000_000)

    # --- dates ---
    def _date(self, ordinal: int, blank: float = 0.004) -> str:
        """YYYYMMDD, now and then partial (YYYY0000, YYYYMM00) or blank (DOMAIN.md §1)."""
        r = self.rng.random()
        text = _ymd(ordinal)
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
        home: _Place = self.home.pick(rng)
        if focus is not None and rng.random() < COUNTY_SHAPED_HOME_SHARE:
            home = focus

        # Prop 64 convictions are placed first; the date of birth follows from the first.
        anchors: list[tuple[int, _Offense]] = []
        if has_p64:
            n = rng.choices((1, 2, 3, 4), (62, 22, 10, 6))[0]
            section = _P64_SECTIONS.pick(rng)
            for _ in range(n):
                if rng.random() < 0.45:
                    section = _P64_SECTIONS.pick(rng)
                day = self._p64_day()
                if day < _PROP64_DAY and rng.random() < 0.05:
                    offense = _P64_ATTEMPTS.pick(rng)
                else:
                    table = _P64_BEFORE if day < _PROP64_DAY else _P64_AFTER
                    offense = table[section].pick(rng)
                anchors.append((day, offense))
            anchors.sort()
            age = 18 + min(rng.expovariate(1 / 9.0), 45.0)
            dob = int(anchors[0][0] - age * _YEAR) - rng.randrange(365)
            dob = min(max(dob, _DOB_FIRST), _DOB_LAST)
        else:
            dob = int(rng.triangular(_DOB_FIRST, _DOB_LAST, dt.date(1978, 1, 1).toordinal()))

        template = self._subject_template(sid, dob)

        # Cycles as a date-ordered queue; registrations are pushed as convictions happen.
        queue: list[tuple[int, int, int, _Offense | None]] = []
        order = itertools.count()
        start = max(dob + int(18 * _YEAR), _FIRST_RECORD_DAY)
        day = start + int(rng.expovariate(1 / (4 * _YEAR)))
        n_general = int(rng.expovariate(1 / 2.6)) + (0 if has_p64 else 1)
        for _ in range(min(n_general, 14)):
            if day > _LAST_DAY:
                break
            kind = _P64_DISMISSED if rng.random() < 0.05 else _GENERAL
            heapq.heappush(queue, (day, next(order), kind, None))
            day += 30 + int(rng.expovariate(1 / (3 * _YEAR)))
        # A county-shaped extract: one of the Prop 64 convictions is in the county.
        in_focus = rng.randrange(len(anchors)) if focus is not None else -1
        for i, (anchor_day, offense) in enumerate(anchors):
            kind = _P64_FOCUS if i == in_focus else _P64_CONVICTION
            heapq.heappush(queue, (anchor_day, next(order), kind, offense))
        if rng.random() < 0.002:  # registered for an out-of-state sex offence
            reg_day = start + rng.randrange(max(_LAST_DAY - start, 1))
            heapq.heappush(queue, (reg_day, next(order), _REGISTER, _REG_290.pick(rng)))
        elif rng.random() < 0.003:
            reg_day = start + rng.randrange(max(_LAST_DAY - start, 1))
            heapq.heappush(queue, (reg_day, next(order), _REGISTER, _REG_OTHER.pick(rng)))

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
                if reg_day <= _LAST_DAY:
                    heapq.heappush(queue, (reg_day, next(order), _REGISTER, reg))
        if deceased and cycle and last_day < _LAST_DAY - 400:
            # well after the last cycle's court action, which can trail its arrest by months
            death = last_day + 400 + rng.randrange(min(_LAST_DAY - last_day - 400, 3650) + 1)
            self._death(template, lines, flags, first_record, cycle + 1, death, dob, home)
        return lines, flags

    def _early_cycles(
        self,
        template: list[str],
        lines: list[str],
        flags: list[int],
        first_record: int,
        dob: int,
        home: _Place,
    ) -> int:
        """Records back to the 1960s (issue 23): for a subject born before 1952 without
        Prop 64 history, now and then one or two cycles between age 18 and 1972 (PC
        1203.425 and 851.93 start at 1973-01-01). Drawn from the law stream only."""
        law = self.law_rng
        first = max(dob + int(18 * _YEAR), _EARLY_FIRST_DAY)
        if dob >= _EARLY_DOB_BEFORE or first >= _LAW_START_DAY or law.random() >= EARLY_SHARE:
            return 0
        days = sorted(law.randrange(first, _LAW_START_DAY) for _ in range(law.choice((1, 1, 2))))
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
            return _PROP64_DAY + rng.randrange(_LAST_DAY - _PROP64_DAY - 200)
        # mostly 1985-2016, most of it in the 2000s
        year = rng.triangular(1985.0, 2016.86, 2010.0)
        return dt.date(1985, 1, 1).toordinal() + int((year - 1985.0) * _YEAR)

    def _cycle_place(self, home: _Place, allow_out_of_state: bool) -> _Place:
        r = self.rng.random()
        if allow_out_of_state and r < 0.03:
            return self.rng.choice(self.out_of_state)
        if r < 0.83:
            return home
        return self.home.pick(self.rng)

    def _subject_template(self, sid: int, dob: int) -> list[str]:
        rng = self.rng
        t = [""] * len(c.DOJ_COLUMNS)
        for i in _SEPARATORS:
            t[i] = "#"
        t[_I_END] = "END"
        female = rng.random() < 0.2
        first = rng.choice(_FEMALE_NAMES if female else _MALE_NAMES)
        last = rng.choice(_LAST_NAMES)
        sep = ", " if rng.random() < 0.03 else ","
        name = f"{last}{sep}{first}"
        if rng.random() < 0.5:
            name += " " + rng.choice(_INITIALS)
        name = _quote(name)
        # CII: a bijection of the subject id, 9-10 digits, unique per subject.
        cii = str(100_000_000 + (sid * 2_654_435_761) % 9_900_000_000)
        ssn = f"9{rng.randrange(100):02d}-00-{rng.randrange(10_000):04d}"
        cdl = f"X{rng.randrange(10_000_000):07d}"
        r = rng.random()
        dob_text = _ymd(dob)
        if r < 0.005:
            dob_text = ""
        elif r < 0.015:
            dob_text = dob_text[:4] + "0000"
        elif r < 0.025:
            dob_text = dob_text[:6] + "00"
        gender = "F" if female else "M"
        t[_I_SUBJECT_STATUS] = "A"
        t[_I_SUBJECT_ID] = str(sid)
        t[_I_REQ_CII] = t[_I_CII] = cii
        t[_I_REQ_NAME] = t[_I_NAME] = name
        t[_I_REQ_GENDER] = t[_I_GENDER] = gender
        t[_I_REQ_DOB] = t[_I_DOB] = dob_text
        t[_REQ_SSN] = t[_PRI_SSN] = ssn
        t[_REQ_CDL] = t[_PRI_CDL] = cdl
        if rng.random() < 0.6:  # FBI number: 6 digits, 2 letters (never X), a digit
            letters = "ABCDEFGHJK"
            digits = f"{rng.randrange(10**6):06d}"
            t[_I_FBI] = f"{digits}{rng.choice(letters)}{rng.choice(letters)}{rng.randrange(10)}"
        t[_I_RACE_CODE], t[_I_RACE] = _RACES.pick(rng)
        t[_I_EYE_CODE], t[_I_EYE] = _EYES.pick(rng)
        t[_I_HAIR_CODE], t[_I_HAIR] = _HAIR.pick(rng)
        inches = int(rng.gauss(64 if female else 69, 3))
        t[_I_HEIGHT] = f"{inches // 12}{inches % 12:02d}"
        t[_I_WEIGHT] = str(int(rng.gauss(150 if female else 185, 30)))
        multi = rng.random() < 0.3
        t[_I_SINGLE_SOURCE] = "N" if multi else "Y"
        t[_I_MULTI_SOURCE] = "Y" if multi else "N"
        t[_I_POB_CODE], t[_I_POB_NAME], t[_I_POB_TYPE], t[_I_CITIZENSHIP] = _BIRTHPLACES.pick(rng)
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
        agency: _Agency,
        place: _Place,
        dob: int,
    ) -> list[str]:
        s = template.copy()
        s[_I_CYC_ORDER] = f"{cycle:03d}"
        s[_I_CYC_DATE] = cycle_date
        s[_I_STP_ORDER] = f"{step:03d}"
        s[_I_EVENT_DATE] = self._date(day)
        s[_I_STP_TYPE_CODE], s[_I_STP_TYPE] = kind
        s[_I_ORI_TYPE] = agency.ori_type
        s[_I_ORI_TYPE_DESCR] = agency.ori_type_descr
        s[_I_ORI_CODE] = agency.ori_code
        s[_I_ORI_DESCR] = agency.descr
        s[_I_CNTY_CODE] = place.county_code
        s[_I_CNTY] = place.county_name
        s[_I_CYC_AGE] = str(int((day - dob) / _YEAR))
        share = self.disp_date_placeholder
        if share >= 1.0 or (share > 0.0 and self.rng.random() < share):
            s[_I_DISP_DATE] = PLACEHOLDER  # the step's lines keep it (_set_disp_date)
        return s

    @staticmethod
    def _set_disp_date(step: list[str], text: str) -> None:
        """DISP_DATE of a step, unless the step carries the placeholder there."""
        if step[_I_DISP_DATE] != PLACEHOLDER:
            step[_I_DISP_DATE] = text

    def _charge(self, row: list[str], offense: _Offense, p64_comments: bool) -> None:
        """OFFENSE_DESCR / COMMENT_TEXT / OFFENSE_TOC of a count, with DOMAIN.md §2's variants.

        `p64_comments` lets an ordinary drug charge carry a Prop 64 charge in its comment
        (only for subjects with Prop 64 history, in a county the caller allows)."""
        rng = self.rng
        descr = rng.choice(offense.descrs) if len(offense.descrs) > 1 else offense.descrs[0]
        row[_I_OFFENSE_CODE] = offense.number
        row[_I_TOC] = offense.toc
        if offense.kind & _P64:
            text = _render_p64(offense, descr, _P64_STYLE.pick(rng))
            placement = _P64_PLACEMENT.pick(rng)
            if placement == _IN_OFFENSE:
                row[_I_OFFENSE] = _quote(text)
            elif placement == _OTHER_P64_IN_COMMENT:
                row[_I_OFFENSE] = _quote(text)
                row[_I_COMMENT] = _quote(self._other_p64_comment(offense))
            else:
                row[_I_OFFENSE] = ("", "SEE COMMENT FOR CHARGE", "   ")[placement - 1]
                row[_I_COMMENT] = _quote(text)
            return
        text = offense.standard(descr)
        r = rng.random()
        if r < 0.01:  # charge only in the comment, for ordinary offences too
            row[_I_OFFENSE] = "SEE COMMENT FOR CHARGE" if r < 0.005 else ""
            row[_I_COMMENT] = _quote(text)
            return
        if r < 0.05:
            text = text.replace(f" {offense.code}-", f"{offense.code}-", 1)
        row[_I_OFFENSE] = _quote(text)
        if p64_comments and offense.code == "HS" and r > 0.98:
            # a drug charge whose comment names a Prop 64 charge: "possible other P64 charge"
            row[_I_COMMENT] = _quote(self._other_p64_comment(None))
        elif r > 0.9:
            row[_I_COMMENT] = _quote(_GENERAL_COMMENTS.pick(rng))

    def _other_p64_comment(self, offense: _Offense | None) -> str:
        """A Prop 64 charge other than `offense` (another section, or 11357 a/b vs c/d)."""
        rng = self.rng
        while True:
            section = _P64_SECTIONS.pick(rng)
            other = _P64_BEFORE[section].pick(rng)
            if offense is None or other.p64 != offense.p64:
                break
            if section == "11357" and (offense.sub in ("(A)", "(B)")) != (
                other.sub in ("(A)", "(B)")
            ):
                break
        return _render_p64(other, other.descrs[-1], _P64_STYLE.pick(rng))

    def _cycle(
        self,
        template: list[str],
        lines: list[str],
        flags: list[int],
        first_record: int,
        cycle: int,
        day: int,
        dob: int,
        place: _Place,
        kind: int,
        anchor: _Offense | None,
        p64_comments: bool,
    ) -> list[tuple[int, _Offense]]:
        """One arrest-to-disposition episode; returns registrations it triggers."""
        rng = self.rng
        convict_p64 = kind == _P64_CONVICTION
        # The counts: a primary charge and sometimes others.
        primary: _Offense
        if anchor is not None:
            primary = anchor
        elif kind == _P64_DISMISSED:
            section = _P64_SECTIONS.pick(rng)
            era = _P64_BEFORE if day < _PROP64_DAY else _P64_AFTER
            primary = era[section].pick(rng)
        else:
            primary = _GENERAL_CATEGORIES.pick(rng).pick(rng)
        counts = [primary]
        extra_p = 0.45 if primary.kind & _P64 else 0.3
        while len(counts) < 5 and rng.random() < extra_p:
            related = primary.kind & _P64 and rng.random() < 0.6
            extra = _RELATED_OFFENSES if related else _OTHER_OFFENSES
            counts.append(extra.pick(rng))
            extra_p *= 0.6

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
            if court_day > _LAST_DAY:
                has_court, has_arrest = False, True
        cycle_day = arrest_day if has_arrest else court_day - rng.randrange(1, 30)
        cycle_date = self._date(cycle_day, blank=0.003)
        step = 0
        registrations: list[tuple[int, _Offense]] = []

        if has_arrest:
            step += 1
            agency = place.police_weights.pick(rng)
            s = self._step(
                template, cycle, cycle_date, step, arrest_day, _ARREST, agency, place, dob
            )
            if not has_court:
                s[_I_DISP_CODE], s[_I_DISP] = _ARREST_ONLY.pick(rng)
                if s[_I_DISP]:
                    self._set_disp_date(s, self._date(arrest_day + rng.randrange(0, 20)))
            if rng.random() < 0.5:
                s[_I_OFN] = str(rng.randrange(10**5, 10**8))
            s[_I_FE_ORDER] = "001"
            s[_I_FE_BOOKING] = str(rng.randrange(10**8, 10**9))
            for i, offense in enumerate(counts, start=1):
                row = s.copy()
                row[_I_CNT_ORDER] = f"{cycle:03d}{step:03d}{i:03d}000"
                self._charge(row, offense, p64_comments)
                row[0] = str(first_record + len(lines))
                lines.append(",".join(row))
                flags.append(_LINE)

        if not has_court:
            return registrations

        step += 1
        misdemeanor_only = all(o.toc != "F" for o in counts)
        if place.in_state and court_day < dt.date(1998, 6, 1).toordinal() and misdemeanor_only:
            court = rng.choice(place.municipal)
        else:
            court = place.superior
        if place.in_state and rng.random() < 0.02:  # "CASCSACRAMENTO"
            court = court._replace(descr=court.descr.replace(" ", "", 1))
        s = self._step(template, cycle, cycle_date, step, court_day, _COURT, court, place, dob)
        year = _ymd(court_day)[2:4]
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
        s[_I_FE_ORDER] = "001"
        s[_I_FE_CRT_CASE] = ofn
        if rng.random() < 0.2:
            s[_I_FE_CITE] = str(rng.randrange(10**6, 10**7))
        consolidated = rng.random() < 0.04 and len(counts) > 1
        probation_rows: list[list[str]] = []
        convicted_any = False
        custody = False
        for i, offense in enumerate(counts, start=1):
            row = s.copy()
            row[_I_CNT_ORDER] = cnt_order = f"{cycle:03d}{step:03d}{i:03d}000"
            row[_I_OFN] = ofn
            if consolidated and i > 1:  # a second case joined to the first
                row[_I_OFN] = row[_I_FE_CRT_CASE] = f"{place.prefix}{rng.randrange(10**7):07d}"
            self._charge(row, offense, p64_comments)
            if offense.kind & _P64:
                convict = convict_p64 and i == 1
            elif i == 1:
                convict = rng.random() < 0.75
            else:
                convict = rng.random() < 0.35
            row[0] = str(first_record + len(lines))
            if not convict:
                row[_I_DISP_CODE], row[_I_DISP] = _NON_CONVICTIONS.pick(rng)
                lines.append(",".join(row))
                flags.append(_LINE)
                continue
            convicted_any = True
            level = offense.toc or "M"
            if level == "F" and offense.sub == "(A)" and offense.section == "11357":
                level = "F" if rng.random() < 0.5 else "M"
            elif level == "F" and rng.random() < 0.08:  # reduced to a misdemeanor (PC 17(b))
                level = "M"
            disp, parts = _sentence(rng, level)
            row[_I_DISP_CODE] = "C"
            row[_I_DISP] = disp if rng.random() > 0.02 else "CONVICTED"
            if rng.random() < 0.08 and level == offense.toc:
                # blank CONV_STAT_DESCR: felony is read from OFFENSE_TOC (DOMAIN.md §1)
                row[_I_CONV_CODE] = row[_I_CONV] = ""
            else:
                row[_I_CONV_CODE], row[_I_CONV] = _LEVEL[level]
            for part_no, (loc, length, unit) in enumerate(parts, start=1):
                if part_no > 1:
                    row = row.copy()
                    row[0] = str(first_record + len(lines))
                    row[_I_CNT_ORDER] = cnt_order
                    if rng.random() < 0.15:
                        row[_I_DISP_CODE] = row[_I_DISP] = ""
                row[_I_SENT_ORDER] = f"{part_no:03d}"
                row[_I_SENT_LOC_CODE] = _LOCATIONS[loc]
                row[_I_SENT_LOC] = loc
                if length:
                    row[_I_SENT_LENGTH] = f"{length:03d}" if rng.random() < 0.9 else str(length)
                    row[_I_SENT_CODE] = unit
                    row[_I_SENT_DESCR] = _SENT_UNITS[unit]
                else:
                    row[_I_SENT_LENGTH] = row[_I_SENT_CODE] = row[_I_SENT_DESCR] = ""
                lines.append(",".join(row))
                if part_no == 1:
                    flags.append(_P64_CONV if offense.kind & _P64 else _CONVICTION)
                    if disp == "CONVICTED-PROBATION":
                        probation_rows.append(row)
                else:
                    flags.append(_LINE)
            custody = custody or parts[0][0] == "PRISON"
            if offense.kind & _PC290 and rng.random() < 0.85:
                for k in range(rng.choice((1, 1, 2, 3))):
                    registrations.append(
                        (court_day + 30 + k * 365 + rng.randrange(60), _REG_290.pick(rng))
                    )
            elif (
                offense.section in ("11350", "11351", "11378")
                and court_day < dt.date(2012, 1, 1).toordinal()
                and rng.random() < 0.2
            ):
                registrations.append((court_day + 20 + rng.randrange(60), _REG_OTHER.values[0]))

        if self.revocations and probation_rows:
            step = self._revocations(lines, flags, first_record, cycle, step, court_day,
                                     probation_rows)  # fmt: skip

        if convicted_any and custody and self.prisons and rng.random() < 0.7:
            step += 1
            prison = rng.choice(self.prisons)
            prison_place = self.prison_county[prison.descr]
            if self.restricted and prison_place.county_name != place.county_name:
                return registrations
            s = self._step(
                template,
                cycle,
                cycle_date,
                step,
                court_day + rng.randrange(5, 60),
                _CUSTODY,
                prison,
                prison_place,
                dob,
            )
            s[_I_CNT_ORDER] = f"{cycle:03d}{step:03d}001000"
            self._charge(s, counts[0], p64_comments)
            s[0] = str(first_record + len(lines))
            lines.append(",".join(s))
            flags.append(_LINE)
        return registrations

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
        if day > _LAST_DAY:
            return step
        step += 1
        for row in revoked:
            r = row.copy()
            r[0] = str(first_record + len(lines))
            r[_I_STP_ORDER] = f"{step:03d}"
            r[_I_CNT_ORDER] = f"{cycle:03d}{step:03d}{row[_I_CNT_ORDER][6:9]}000"
            r[_I_EVENT_DATE] = _ymd(day)
            if r[_I_DISP_DATE] != PLACEHOLDER:
                r[_I_DISP_DATE] = _ymd(day)
            r[_I_STP_TYPE_CODE], r[_I_STP_TYPE] = _COURT
            r[_I_DISP_CODE], r[_I_DISP] = "R", "PROBATION REVOKED"
            r[_I_CONV_CODE] = r[_I_CONV] = ""
            for i in (_I_SENT_ORDER, _I_SENT_LOC_CODE, _I_SENT_LOC, _I_SENT_LENGTH,
                      _I_SENT_CODE, _I_SENT_DESCR):  # fmt: skip
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
        offense: _Offense,
        home: _Place,
    ) -> None:
        rng = self.rng
        agency = home.police_weights.pick(rng)
        s = self._step(
            template, cycle, self._date(day, blank=0.003), 1, day, _REGISTRATION, agency, home, dob
        )
        s[_I_CNT_ORDER] = f"{cycle:03d}001001000"
        s[_I_OFFENSE_CODE] = offense.number
        s[_I_OFFENSE] = _quote(offense.standard(offense.descrs[0]))
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
        home: _Place,
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
        s[_I_CNT_ORDER] = f"{cycle:03d}001001000"
        s[0] = str(first_record + len(lines))
        lines.append(",".join(s))
        flags.append(_DEATH_LINE)


def _places(counties: Sequence[str] | None) -> tuple[list[_Place], bool]:
    vocabulary = load_counties()
    if not counties:
        return [_place(county) for county in vocabulary.counties], False
    chosen: list[County] = []
    for text in counties:
        county = vocabulary.resolve(text)
        if county is None:
            raise ValueError(
                f"unknown county {text!r}: give one of California's 58 counties by name or slug "
                "as in conf/counties.yaml, e.g. 'los-angeles' or 'SAN JOAQUIN'"
            )
        if county not in chosen:
            chosen.append(county)
    return [_place(county) for county in chosen], True


def _open(path: Path, gz: bool) -> BinaryIO:
    raw = path.open("wb")
    if gz:
        # mtime=0 and no file name in the gzip header keep the bytes a function of the seed;
        # level 3 compresses ~2.5x faster than 6 on this repetitive text for ~20% more bytes
        return cast(BinaryIO, gzip.GzipFile("", "wb", compresslevel=3, fileobj=raw, mtime=0))
    return raw


class _Sink:
    """Writes (and gzips) on a thread: zlib and file writes release the GIL, so compression
    and disk I/O overlap with generating the next lines. Chunks are written in order."""

    def __init__(self, path: Path, gz: bool) -> None:
        self._handle = _open(path, gz)
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="generate-writer", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._handle.write(chunk)
                except BaseException as exc:  # re-raised on the caller's thread
                    self._error = exc

    def write(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._handle.close()
        if self._error is not None:
            raise self._error


def generate_extract(
    out: Path,
    rows: int,
    seed: int,
    counties: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
    trailing_empty_field: bool | None = None,
    header: bool = True,
    disp_date_placeholder: float = DISP_DATE_PLACEHOLDER_SHARE,
    county_shaped: str | None = None,
) -> GenerateStats:
    """Write a synthetic DOJ extract of exactly `rows` data lines to `out` (gzip if `.gz`).

    `counties` (names or slugs) confines every California event to those counties, weighted
    by population; out-of-state agencies still appear, never with a Prop 64 charge.
    `trailing_empty_field` ends every line, header included, with one extra empty field
    (96 fields). `progress` is called with the number of data lines written every
    PROGRESS_EVERY lines and once at the end. `disp_date_placeholder` is the share of steps
    (0 to 1) whose lines hold the placeholder ``  -  `` in DISP_DATE; 1 puts it on every
    line, as the reference tool's generator does. `county_shaped` (a county's name or slug)
    writes the shape of the file DOJ sends one county: every subject has a Prop 64
    conviction in that county, with their whole statewide history (most of them live
    there). The same arguments give the same bytes. Raises ValueError for a negative row
    count, a share outside 0-1, an unknown county or both `counties` and `county_shaped`.
    """
    if rows < 0:
        raise ValueError(f"rows must be 0 or more, not {rows}")
    if not 0.0 <= disp_date_placeholder <= 1.0:
        raise ValueError(
            f"disp_date_placeholder is a share of steps from 0 to 1, not {disp_date_placeholder}"
        )
    if counties and county_shaped:
        raise ValueError(
            "give either counties (confine every event to them) or county_shaped (statewide "
            "histories of people with a Prop 64 conviction in one county), not both"
        )
    places, restricted = _places(counties)
    focus = None
    if county_shaped is not None:
        focus_places, _ = _places([county_shaped])
        focus = next(p for p in places if p.county_name == focus_places[0].county_name)
    trailing = bool(trailing_empty_field)
    end = ",\n" if trailing else "\n"
    started = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    generator = _Generator(seed, places, restricted, disp_date_placeholder, focus)
    written = subjects = p64_subjects = p64_convictions = convictions = deceased = 0
    next_progress = PROGRESS_EVERY
    sink = _Sink(partial, gz=out.name.endswith(".gz"))
    try:
        try:
            if header:
                sink.write((",".join(c.DOJ_COLUMNS) + end).encode("ascii"))
            buffer: list[str] = []
            while written < rows:
                lines, flags = generator.subject(written + 1)
                if not lines:  # born too late for any record before the extract date
                    continue
                take = min(len(lines), rows - written)
                if take < len(lines):  # the last subject's history is cut short
                    lines, flags = lines[:take], flags[:take]
                subjects += 1
                n_p64 = flags.count(_P64_CONV)
                p64_convictions += n_p64
                convictions += n_p64 + flags.count(_CONVICTION)
                p64_subjects += n_p64 > 0
                deceased += _DEATH_LINE in flags
                buffer.extend(lines)
                written += take
                if len(buffer) >= 4096 or written >= rows:
                    sink.write((end.join(buffer) + end).encode("ascii"))
                    buffer.clear()
                    while progress is not None and written >= next_progress:
                        progress(next_progress)
                        next_progress += PROGRESS_EVERY
        finally:
            sink.close()
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if progress is not None and written % PROGRESS_EVERY:
        progress(written)
    return GenerateStats(
        path=out,
        rows=written,
        subjects=subjects,
        subjects_with_prop64_conviction=p64_subjects,
        prop64_convictions=p64_convictions,
        convictions=convictions,
        deceased_subjects=deceased,
        header=header,
        trailing_empty_field=trailing,
        seconds=time.perf_counter() - started,
    )
