"""The synthetic extract's vocabulary: the DOJ column positions, dates, offences (Prop 64
spellings of DOMAIN.md §2 and the others), dispositions, sentences, comments, names and the
places and agencies of California's 58 counties and a few out-of-state ones. Tables only;
people.py draws from them."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Sequence
from typing import Generic, NamedTuple, TypeVar

from relief.jobs.config import load_counties
from relief.transforms import columns as c
from relief.transforms.vocabulary import County

T = TypeVar("T")


# --- column positions ---------------------------------------------------------------------
_POS = {name: i for i, name in enumerate(c.DOJ_COLUMNS)}
REQ_CDL, REQ_SSN, PRI_SSN, PRI_CDL = (_POS[name] for name in c.PII_COLUMNS)
I_SUBJECT_STATUS = _POS["SUBJECT_STATUS"]
I_SUBJECT_ID = _POS[c.SUBJECT_ID]
I_REQ_CII = _POS["REQ_CII_NUMBER"]
I_REQ_NAME = _POS["REQ_NAME"]
I_REQ_GENDER = _POS["REQ_GENDER"]
I_REQ_DOB = _POS["REQ_DOB"]
I_CII = _POS[c.CII_NUMBER]
I_NAME = _POS[c.PRI_NAME]
I_GENDER = _POS["GENDER"]
I_DOB = _POS[c.PRI_DOB]
I_FBI = _POS["FBI_NUMBER"]
I_RACE_CODE = _POS["RACE_CODE"]
I_RACE = _POS[c.RACE_DESCR]
I_EYE_CODE = _POS["EYE_COLOR_CODE"]
I_EYE = _POS["EYE_COLOR_DESCR"]
I_HAIR_CODE = _POS["HAIR_COLOR_CODE"]
I_HAIR = _POS["HAIR_COLOR_DESCR"]
I_HEIGHT = _POS["HEIGHT"]
I_WEIGHT = _POS["WEIGHT"]
I_SINGLE_SOURCE = _POS["SINGLE_SOURCE"]
I_MULTI_SOURCE = _POS["MULTI_SOURCE"]
I_POB_CODE = _POS["POB_CODE"]
I_POB_NAME = _POS["POB_NAME"]
I_POB_TYPE = _POS["POB_TYPE"]
I_CITIZENSHIP = _POS["CITIZENSHIP_LIST"]
I_CYC_ORDER = _POS["CYC_ORDER"]
I_CYC_DATE = _POS[c.CYC_DATE]
I_STP_ORDER = _POS["STP_ORDER"]
I_EVENT_DATE = _POS[c.STP_EVENT_DATE]
I_STP_TYPE_CODE = _POS["STP_TYPE_CODE"]
I_STP_TYPE = _POS[c.STP_TYPE_DESCR]
I_ORI_TYPE = _POS["STP_ORI_TYPE"]
I_ORI_TYPE_DESCR = _POS["STP_ORI_TYPE_DESCR"]
I_ORI_CODE = _POS["STP_ORI_CODE"]
I_ORI_DESCR = _POS[c.STP_ORI_DESCR]
I_CNTY_CODE = _POS["STP_ORI_CNTY_CODE"]
I_CNTY = _POS[c.STP_ORI_CNTY_NAME]
I_CNT_ORDER = _POS[c.CNT_ORDER]
I_DISP_DATE = _POS[c.DISP_DATE]
I_OFN = _POS[c.OFN]
I_OFFENSE_CODE = _POS["OFFENSE_CODE"]
I_OFFENSE = _POS[c.OFFENSE_DESCR]
I_TOC = _POS[c.OFFENSE_TOC]
I_FE_ORDER = _POS["FE_NUM_ORDER"]
I_FE_BOOKING = _POS["FE_NUM_BOOKING"]
I_FE_CITE = _POS["FE_NUM_CITE"]
I_FE_CRT_CASE = _POS["FE_NUM_CRT_CASE"]
_I_DISP_ORDER = _POS["DISP_ORDER"]
I_DISP_CODE = _POS["DISP_CODE"]
I_DISP = _POS[c.DISP_DESCR]
I_CONV_CODE = _POS["CONV_STAT_CODE"]
I_CONV = _POS[c.CONV_STAT_DESCR]
I_SENT_ORDER = _POS["SENT_ORDER"]
I_SENT_LOC_CODE = _POS["SENT_LOC_CODE"]
I_SENT_LOC = _POS["SENT_LOC_DESCR"]
I_SENT_LENGTH = _POS[c.SENT_LENGTH]
I_SENT_CODE = _POS[c.SENT_TIME_CODE]
I_SENT_DESCR = _POS["SENT_TIME_DESCR"]
I_CYC_AGE = _POS["CYC_AGE"]
I_COMMENT = _POS[c.COMMENT_TEXT]
I_END = _POS["END_OF_REC"]
SEPARATORS = tuple(_POS[n] for n in ("REQ_SEG_SEP", "PII_SEG_SEP", "PDR_SEG_SEP"))
SEPARATORS += tuple(_POS[n] for n in ("CYC_SEG_SEP", "STP_SEG_SEP", "CNT_SEG_SEP"))
SEPARATORS += (_POS["SENT_SEG_SEP"],)

# --- dates --------------------------------------------------------------------------------
_DAY0 = dt.date(1930, 1, 1).toordinal()
_DATES: list[str] = [
    dt.date.fromordinal(o).strftime("%Y%m%d") for o in range(_DAY0, dt.date(2031, 1, 1).toordinal())
]
FIRST_RECORD_DAY = dt.date(1970, 1, 1).toordinal()
LAST_DAY = dt.date(2025, 6, 30).toordinal()  # the extract's "as of" date; never the clock
PROP64_DAY = dt.date(2016, 11, 9).toordinal()  # Prop 64 took effect
DOB_FIRST = dt.date(1940, 1, 1).toordinal()
# Law-pack records (issue 23): histories reaching back to the 1960s, probation revocations.
EARLY_FIRST_DAY = dt.date(1958, 1, 1).toordinal()
EARLY_DOB_BEFORE = dt.date(1952, 1, 1).toordinal()
LAW_START_DAY = dt.date(1973, 1, 1).toordinal()
EARLY_SHARE = 0.35  # of subjects born before 1952 without Prop 64 history
REVOCATION_SHARE = 0.12  # of probation grants (subjects without Prop 64 history)
DOB_LAST = dt.date(2004, 12, 31).toordinal()
YEAR = 365.25


def ymd(ordinal: int) -> str:
    return _DATES[ordinal - _DAY0]


# --- small helpers ------------------------------------------------------------------------
class Weighted(Generic[T]):
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


def quote(text: str) -> str:
    """CSV field: double-quoted (quotes doubled) only when it holds a comma, quote or newline."""
    if "," in text or '"' in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


# --- offences (DOMAIN.md §2) --------------------------------------------------------------
_OTHER, _RELATED, _SUPER, PC290, P64, _REG = 1, 2, 4, 8, 16, 32


class Offense(NamedTuple):
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


def _offense(section: str, sub: str, code: str, descrs: str, toc: str, kind: int) -> Offense:
    p64 = section.removeprefix("664/") if kind & P64 else ""
    number = f"{next(_offense_numbers):05d}"
    return Offense(section, sub, code, tuple(descrs.split("|")), toc, kind, number, p64)


def _table(kind: int, rows: Sequence[tuple[str, str, str, str, str, float]]) -> Weighted[Offense]:
    return Weighted([(_offense(s, sub, code, d, toc, kind), w) for s, sub, code, d, toc, w in rows])


OTHER_OFFENSES = _table(
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
RELATED_OFFENSES = _table(
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
_S290 = _SUPER | PC290
_SUPER_OFFENSES = Weighted(
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
    PC290,
    [
        ("243.4", "(A)", "PC", "SEXUAL BATTERY", "F", 3),
        ("314", "(1)", "PC", "INDECENT EXPOSURE", "M", 3),
        ("647.6", "(A)", "PC", "ANNOY/MOLEST CHILD UNDER 18", "M", 2),
        ("311.11", "(A)", "PC", "POSSESS/ETC MATTER DEPICTING MINOR IN SEX ACT", "F", 1.5),
        ("266H", "(B)", "PC", "PIMPING MINOR UNDER 16", "F", 0.5),
        ("288", "(C)(1)", "PC", "LEWD OR LASCIVIOUS ACTS WITH CHILD 14 OR 15", "F", 1),
    ],
)
GENERAL_CATEGORIES = Weighted(
    [(OTHER_OFFENSES, 0.80), (RELATED_OFFENSES, 0.15), (_SUPER_OFFENSES, 0.02),
     (_PC290_OFFENSES, 0.03)]
)  # fmt: skip

REG_290 = Weighted(
    [
        (_offense("290", "", "PC", "REGISTRATION OF SEX OFFENDER", "", _REG | PC290), 8),
        (_offense("290", "(A)(1)", "PC", "SEX OFFENDER REGISTRATION", "", _REG | PC290), 2),
    ]
)
REG_OTHER = Weighted(
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


def _p64(section: str, sub: str, descrs: str, toc: str) -> Offense:
    return _offense(section, sub, "HS", descrs, toc, P64)


P64_BEFORE = {
    "11357": Weighted(
        [
            (_p64("11357", "(A)", "POSSESS CONCENTRATED CANNABIS|POSS CONC CANNABIS", "F"), 0.13),
            (_p64("11357", "(A)", "POSSESS CONCENTRATED CANNABIS|POSS CONC CANNABIS", "M"), 0.12),
            (_p64("11357", "(B)", "POSSESS 28.5 GRAMS OR LESS MARIJUANA|POSS MARIJ", "M"), 0.30),
            (_p64("11357", "(C)", "POSSESS MARIJUANA OVER 28.5 GRAMS|POSS MARIJ", "M"), 0.30),
            (_p64("11357", "(D)", "POSS MARIJUANA ON SCHOOL GROUNDS", "M"), 0.05),
            (_p64("11357", "", "POSSESS MARIJUANA|POSS MARIJ", "M"), 0.10),
        ]
    ),
    "11358": Weighted(
        [
            (_p64("11358", "", "CULTIVATE MARIJUANA|PLANT/CULTIVATE/ETC MARIJUANA", "F"), 1),
        ]
    ),
    "11359": Weighted(
        [
            (_p64("11359", "", "POSSESS MARIJUANA FOR SALE|POSS MARIJ FOR SALE", "F"), 1),
        ]
    ),
    "11360": Weighted(
        [
            (_p64("11360", "(A)", "SELL/TRANSPORT/ETC MARIJUANA|TRANSPORT/SELL MARIJ", "F"), 0.7),
            (_p64("11360", "(B)", "GIVE/TRANSPORT/ETC 28.5 GRAMS OR LESS MARIJUANA", "M"), 0.2),
            (_p64("11360", "", "SELL/TRANSPORT/ETC MARIJUANA", "F"), 0.1),
        ]
    ),
}  # fmt: skip
P64_AFTER = {
    "11357": Weighted(
        [
            (_p64("11357", "(A)", "POSSESS CANNABIS|POSS CANNABIS", "I"), 0.3),
            (_p64("11357", "(B)", "POSSESS OVER 28.5 GRAMS CANNABIS|POSS CANNABIS", "M"), 0.42),
            (_p64("11357", "(B)(2)", "POSSESS OVER 28.5 GRAMS CANNABIS UNDER 21", "M"), 0.08),
            (_p64("11357", "(C)", "POSSESS CANNABIS ON SCHOOL GROUNDS", "M"), 0.2),
        ]
    ),
    "11358": Weighted(
        [
            (_p64("11358", "(C)", "CULTIVATE OVER 6 CANNABIS PLANTS", "M"), 0.7),
            (_p64("11358", "(D)", "CULTIVATE CANNABIS W/PRIORS/ETC", "F"), 0.3),
        ]
    ),
    "11359": Weighted(
        [
            (_p64("11359", "(B)", "POSSESS CANNABIS FOR SALE", "M"), 0.75),
            (_p64("11359", "(C)", "POSSESS CANNABIS FOR SALE W/PRIORS/ETC", "F"), 0.15),
            (_p64("11359", "(D)", "POSSESS CANNABIS FOR SALE TO MINOR", "F"), 0.10),
        ]
    ),
    "11360": Weighted(
        [
            (_p64("11360", "(A)", "SELL/TRANSPORT/ETC CANNABIS", "M"), 0.6),
            (_p64("11360", "(A)(2)", "SELL/TRANSPORT/ETC CANNABIS UNDER 21", "M"), 0.1),
            (_p64("11360", "(B)", "GIVE/TRANSPORT 28.5 GRAMS OR LESS CANNABIS", "I"), 0.3),
        ]
    ),
}  # fmt: skip
P64_ATTEMPTS = Weighted(
    [
        (_p64("664/11359", "", "ATTEMPT POSS MARIJ FOR SALE", "F"), 3),
        (_p64("664/11360", "(A)", "ATTEMPT SELL/TRANSPORT MARIJUANA", "F"), 1),
        (_p64("664/11358", "", "ATTEMPT CULTIVATE MARIJUANA", "F"), 1),
    ]
)
P64_SECTIONS = Weighted(list(_P64_SECTION_WEIGHTS.items()))


def _bare_subsection(sub: str) -> str:
    """'(B)(2)' -> 'B2': a subsection written without parentheses (DOMAIN.md §2)."""
    return sub.replace("(", "").replace(")", "")


def render_p64(o: Offense, descr: str, style: int) -> str:
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


# Spellings of a Prop 64 code section and their shares (styles of render_p64).
P64_STYLE = Weighted(
    [(0, 0.44), (1, 0.22), (2, 0.05), (3, 0.05), (4, 0.04), (5, 0.03), (6, 0.05), (7, 0.09),
     (8, 0.03)]
)  # fmt: skip

# Where the charge is written on a Prop 64 count line (DOMAIN.md §2):
IN_OFFENSE, _COMMENT_BLANK, _COMMENT_SEE, _COMMENT_SPACES, OTHER_P64_IN_COMMENT = range(5)
P64_PLACEMENT = Weighted(
    [
        (IN_OFFENSE, 0.88),
        (_COMMENT_BLANK, 0.035),
        (_COMMENT_SEE, 0.035),
        (_COMMENT_SPACES, 0.01),
        (OTHER_P64_IN_COMMENT, 0.04),
    ]
)

# --- dispositions and sentences -----------------------------------------------------------
NON_CONVICTIONS = Weighted(
    [
        (("D", "DISMISSED"), 30),
        (("D", "DISMISSED-FURTHERANCE OF JUSTICE"), 15),
        (("D", "DISMISSED/CHARGE DROPPED"), 8),
        (("N", "NOT PROSECUTED"), 10),
        (("A", "ACQUITTED"), 5),
        (("V", "DIVERSION DISMISSED"), 4),
    ]
)
ARREST_ONLY = Weighted(
    [
        (("R", "RELEASED/DETENTION ONLY"), 4),
        (("O", "REL/TOT OTHER JURIS/AUTH"), 2),
        (("J", "DA REJECT"), 3),
        (("N", "NOT PROSECUTED"), 2),
        (("", ""), 3),
    ]
)
LEVEL = {"F": ("F", "FELONY"), "M": ("M", "MISDEMEANOR"), "I": ("I", "INFRACTION")}
SENT_UNITS = {"D": "DAYS", "M": "MONTHS", "Y": "YEARS"}
LOCATIONS = {"JAIL": "J", "PROBATION": "P", "PRISON": "S", "FINE": "F"}

# A sentence is (DISP_DESCR, [(location, length, unit), ...]); the first part is the
# conviction line, later parts repeat the CNT_ORDER (DOMAIN.md §1).
_Sentence = tuple[str, list[tuple[str, int, str]]]


def sentence(rng: random.Random, level: str) -> _Sentence:
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


GENERAL_COMMENTS = Weighted(
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


LAST_NAMES = _words(
    "ABARCA ALDERETE AMBROSE ARLINGTON BALDERAS BANNISTER BECKWORTH BELLAMY BOONSTRA "
    "CALDERA CARRUTH CASTELLANO CHAMBLISS CORDERO DALRYMPLE DELAFUENTE DUNMORE "
    "ECHEVARRIA ELLSWORTH FAIRCLOTH FONSECA GALLEGLY GARRISON GUTIERRO HALVERSEN "
    "HOLLOWAY IBARRETA JANOWSKI KEARNEY LANDEROS LOCKWOOD MADRIGALES MERRIWEATHER "
    "MONTOYERO NAKAMOTO NGUYET OKAFORO PADILLO PENDERGAST QUINTANILLA RASMUSSON REYNOSO "
    "SALCIDO SANDOVALE TAKAHARA THORNBURG URIBARRI VANDERHOOF VELASQUEZ WHITCOMB "
    "YBARRETA ZAMORANO"
)
MALE_NAMES = _words(
    "AARON ADRIAN ALBERTO ANDRE ANTHONY BRANDON CARLOS CHRISTOPHER DAMIEN DANIEL DARNELL "
    "DAVID EDUARDO ERIC FRANCISCO GABRIEL GERALD JAMAL JAVIER JEFFREY JOSE KEVIN LUIS "
    "MARCUS MIGUEL NATHAN OSCAR RAFAEL RICHARD ROBERT SAMUEL TERRENCE TREVOR VICTOR "
    "WAYNE"
)
FEMALE_NAMES = _words(
    "ALICIA ANGELA BRENDA CARMEN CRYSTAL DENISE DIANA ELENA GLORIA JASMINE JESSICA KAREN "
    "KIMBERLY LATOYA LORENA MARIA MELISSA MONICA NICOLE PATRICIA ROSA SANDRA SHANNON "
    "TAMIKA TERESA VANESSA VERONICA YOLANDA"
)
INITIALS = "ABCDEFGHJKLMNPRSTW"
RACES = Weighted(
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
EYES = Weighted(
    [(("BRO", "BROWN"), 60), (("BLU", "BLUE"), 15), (("HAZ", "HAZEL"), 10),
     (("GRN", "GREEN"), 7), (("BLK", "BLACK"), 8)]
)  # fmt: skip
HAIR = Weighted(
    [(("BLK", "BLACK"), 50), (("BRO", "BROWN"), 30), (("BLN", "BLOND"), 8), (("RED", "RED"), 3),
     (("GRY", "GRAY"), 6), (("BAL", "BALD"), 3)]
)  # fmt: skip
BIRTHPLACES = Weighted(
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
OUT_OF_STATE = (
    ("OUT OF STATE", ("FBI SACRAMENTO", "USMS LOS ANGELES"), "US DISTRICT COURT"),
    ("WASHOE NV", ("NVPD RENO", "NVSO WASHOE"), "NVDC WASHOE"),
    ("CLARK NV", ("NVPD LAS VEGAS", "NVSO CLARK"), "NVDC CLARK"),
    ("MARICOPA AZ", ("AZPD PHOENIX", "AZSO MARICOPA"), "AZSC MARICOPA"),
    ("MULTNOMAH OR", ("ORPD PORTLAND",), "ORCC MULTNOMAH"),
)
PRISONS = (
    ("SAN QUENTIN", "MARIN"),
    ("FOLSOM", "SACRAMENTO"),
    ("CORCORAN", "KINGS"),
    ("PELICAN BAY", "DEL NORTE"),
    ("CHINO", "SAN BERNARDINO"),
    ("SOLEDAD", "MONTEREY"),
    ("VACAVILLE", "SOLANO"),
)


class Agency(NamedTuple):
    ori_type: str
    ori_type_descr: str
    ori_code: str
    descr: str


class Place(NamedTuple):
    county_name: str
    county_code: str
    population: int
    prefix: str  # court case number prefix, "LA"
    police: tuple[Agency, ...]  # arresting agencies (PD, sheriff, CHP)
    police_weights: Weighted[Agency]
    superior: Agency
    municipal: tuple[Agency, ...]
    coroner: Agency
    in_state: bool


def _place(county: County) -> Place:
    name, code = county.name, int(county.code)
    cities = _CITIES.get(name, ())
    sheriff = Agency("SO", "SHERIFF", f"CA{code:03d}0000", f"CASO {name}")
    chp = Agency("HP", "HIGHWAY PATROL", f"CA{code:03d}9900", f"CAHP {name}")
    pds = tuple(
        Agency("PD", "POLICE DEPARTMENT", f"CA{code:03d}{i + 1:02d}00", f"CAPD {city}")
        for i, city in enumerate(cities)
    )
    weights: list[tuple[Agency, float]] = [(sheriff, 3.0), (chp, 0.6)]
    weights += [(pd, 7.0 / (i + 1)) for i, pd in enumerate(pds)]
    superior = Agency("SC", "SUPERIOR COURT", f"CA{code:03d}015J", f"CASC {name}")
    municipal = tuple(
        Agency("MC", "MUNICIPAL COURT", f"CA{code:03d}{i + 1:02d}1J", f"CAMC {city}")
        for i, city in enumerate(cities or (name,))
    )
    coroner = Agency("CO", "CORONER", f"CA{code:03d}0050", f"CACO {name}")
    words = name.split()
    prefix = (words[0][0] + words[1][0]) if len(words) > 1 else name[:2]
    return Place(
        name,
        county.code,
        county.population,
        prefix,
        (*pds, sheriff, chp),
        Weighted(weights),
        superior,
        municipal,
        coroner,
        True,
    )


def out_of_state_place(name: str, agencies: tuple[str, ...], court_name: str) -> Place:
    police = tuple(Agency("PD", "OUT OF STATE AGENCY", "", a) for a in agencies)
    court = Agency("SC", "OUT OF STATE COURT", "", court_name)
    return Place(
        name,
        "",
        0,
        court_name[:2],
        police,
        Weighted([(a, 1.0) for a in police]),
        court,
        (court,),
        court,
        False,
    )


def county_places(counties: Sequence[str] | None) -> tuple[list[Place], bool]:
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
