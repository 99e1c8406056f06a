"""Hand-made extract lines for the law packs: one subject per rule path (issue 23).

Each :class:`Case` builds one subject's DOJ extract lines in code (DOMAIN.md §1: 95
columns, CNT_ORDER = cycle + step + count + 000, YYYYMMDD dates) and names the candidate
it is about (a conviction's CNT_ORDER for PC 1203.425, a cycle for PC 851.93), the
parameters and Supervised Release File it runs with, and the expected determination,
reason and rule id. tests/test_laws.py decides them with tests/law_evaluator.py now; phase
2 of issue 23 runs the same lines through the pipeline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from relief.transforms.columns import DOJ_COLUMNS
from tests.law_evaluator import ARREST_RELIEF, DISMISSAL, HAND_REVIEW, NOT_ELIGIBLE, POS

COMPUTE_AT = dt.date(2025, 6, 30)
NOBODY: frozenset[str] = frozenset()  # a Supervised Release File with no one under supervision


class Record:
    """One subject's extract lines, built step by step."""

    def __init__(self, subject: str, dob: str = "19700101") -> None:
        self.subject = subject
        self.dob = dob
        self.rows: list[list[str]] = []

    def _row(self, cycle: int, step: int, count: int, step_type: str, date: str) -> list[str]:
        row = [""] * len(DOJ_COLUMNS)
        row[POS["RECORD_ID"]] = str(len(self.rows) + 1)
        row[POS["SUBJECT_ID"]] = self.subject
        row[POS["CII_NUMBER"]] = f"A{self.subject}"
        row[POS["PRI_NAME"]] = "DOE,JANE"
        row[POS["PRI_DOB"]] = self.dob
        row[POS["CYC_ORDER"]] = f"{cycle:03d}"
        row[POS["CYC_DATE"]] = date
        row[POS["STP_ORDER"]] = f"{step:03d}"
        row[POS["STP_EVENT_DATE"]] = date
        row[POS["STP_TYPE_DESCR"]] = step_type
        row[POS["STP_ORI_CNTY_NAME"]] = "SACRAMENTO"
        row[POS["CNT_ORDER"]] = f"{cycle:03d}{step:03d}{count:03d}000"
        row[POS["END_OF_REC"]] = "END"
        return row

    def arrest(self, cycle: int, date: str, *counts: tuple[str, str], disp: str = "") -> Record:
        """An arrest step: counts are (OFFENSE_DESCR, OFFENSE_TOC)."""
        for i, (offense, toc) in enumerate(counts, start=1):
            row = self._row(cycle, 1, i, "ARREST/DETAINED/CITED", date)
            row[POS["OFFENSE_DESCR"]] = offense
            row[POS["OFFENSE_TOC"]] = toc
            row[POS["DISP_DESCR"]] = disp
            self.rows.append(row)
        return self

    def court(
        self,
        cycle: int,
        date: str,
        offense: str,
        toc: str,
        disp: str,
        *sentence: tuple[str, int, str],
        step: int = 2,
        count: int = 1,
        level: str | None = None,
        comment: str = "",
    ) -> Record:
        """A court count: a disposition and, for a conviction, sentence parts
        (SENT_LOC_DESCR, SENT_LENGTH, SENT_TIME_CODE); later parts repeat CNT_ORDER."""
        parts = list(sentence) or [("", 0, "")]
        for n, (loc, length, unit) in enumerate(parts, start=1):
            row = self._row(cycle, step, count, "COURT ACTION", date)
            row[POS["OFFENSE_DESCR"]] = offense
            row[POS["OFFENSE_TOC"]] = toc
            row[POS["DISP_DESCR"]] = disp if n == 1 else ""
            row[POS["COMMENT_TEXT"]] = comment
            if disp.startswith("CONVICTED"):
                row[POS["CONV_STAT_DESCR"]] = level or {"F": "FELONY", "M": "MISDEMEANOR",
                                                         "I": "INFRACTION"}[toc]  # fmt: skip
            row[POS["SENT_ORDER"]] = f"{n:03d}" if loc else ""
            row[POS["SENT_LOC_DESCR"]] = loc
            row[POS["SENT_LENGTH"]] = f"{length:03d}" if length else ""
            row[POS["SENT_TIME_CODE"]] = unit
            self.rows.append(row)
        return self

    def registration(
        self, cycle: int, date: str, offense: str = "290 PC-REGISTRATION OF SEX OFFENDER"
    ) -> Record:
        row = self._row(cycle, 1, 1, "REGISTRATION", date)
        row[POS["OFFENSE_DESCR"]] = offense
        self.rows.append(row)
        return self


def conviction_key(cycle: int, step: int = 2, count: int = 1) -> str:
    return f"{cycle:03d}{step:03d}{count:03d}000"


@dataclass(frozen=True)
class Case:
    name: str
    law: str  # pc1203.425 | pc851.93
    record: Record
    key: str  # PC 1203.425: the conviction's CNT_ORDER; PC 851.93: the cycle ("001")
    determination: str | None  # None: not a candidate of the law
    reason: str | None = None
    rule_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    supervised_release: frozenset[str] | None = NOBODY
    at: dt.date = COMPUTE_AT


def _c(name: str, record: Record, key: str, det: str | None, reason: str | None = None,
       rule: str | None = None, **kw: Any) -> Case:  # fmt: skip
    return Case(name, "pc1203.425", record, key, det, reason, rule, **kw)


def _a(name: str, record: Record, det: str | None, reason: str | None = None,
       rule: str | None = None, key: str = "001", **kw: Any) -> Case:  # fmt: skip
    return Case(name, "pc851.93", record, key, det, reason, rule, **kw)


MISD = ("647(F) PC-DISORDERLY CONDUCT:INTOX", "M")
THEFT = ("484 PC-THEFT", "M")
SALE = ("11378 HS-POSSESS CONTROLLED SUBSTANCE FOR SALE", "F")
RAPE = ("261 PC-RAPE", "F")
UNLISTED = ("12345 PC-SOMETHING NOT IN THE TABLE", "F")


def _misd_jail(subject: str, date: str, days: int = 30) -> Record:
    return (
        Record(subject)
        .arrest(1, date, THEFT)
        .court(1, date, THEFT[0], "M", "CONVICTED-JAIL", ("JAIL", days, "D"))
    )


def _prison_felony(subject: str, date: str, years: int, offense: tuple[str, str] = SALE) -> Record:
    return (
        Record(subject)
        .arrest(1, date, offense)
        .court(1, date, offense[0], "F", "CONVICTED-PRISON", ("PRISON", years, "Y"))
    )


def pc1203_425_cases() -> list[Case]:
    k = conviction_key(1)
    revoked_felony = (
        Record("C120")
        .arrest(1, "20150301", SALE)
        .court(1, "20150301", SALE[0], "F", "CONVICTED-PROBATION", ("PROBATION", 3, "Y"))
        .court(1, "20160401", SALE[0], "F", "PROBATION REVOKED", step=3)
    )
    revoked_misd = (
        Record("C121")
        .arrest(1, "20150301", THEFT)
        .court(1, "20150301", THEFT[0], "M", "CONVICTED-PROBATION", ("PROBATION", 2, "Y"))
        .court(1, "20160401", THEFT[0], "M", "PROBATION REVOKED", step=3)
    )
    pending = _misd_jail("C106", "20150601").arrest(2, "20200101", THEFT)
    return [
        _c("conviction before 1973", _misd_jail("C101", "19700501"), k, NOT_ELIGIBLE,
           "Before 1/1/1973", "before-1973"),
        _c("PC 290 registrant (registration step, any date)",
           _misd_jail("C102", "20150601").registration(2, "20180101"), k, NOT_ELIGIBLE,
           "PC 290 registrant", "pc290-registrant"),
        _c("active record in the Supervised Release File", _misd_jail("C103", "20150601"), k,
           NOT_ELIGIBLE, "Active supervision (Supervised Release File)", "supervised-release",
           supervised_release=frozenset({"C103"})),
        _c("Supervised Release File not given", _misd_jail("C104", "20150601"), k, HAND_REVIEW,
           "Supervised Release File not checked", "supervised-release",
           supervised_release=None),
        _c("serving a probation term until 2028",
           Record("C105").arrest(1, "20230301", SALE).court(
               1, "20230301", SALE[0], "F", "CONVICTED-PROBATION", ("PROBATION", 5, "Y")),
           k, NOT_ELIGIBLE, "Currently serving sentence", "serving-sentence"),
        _c("a sentence whose end cannot be computed",
           Record("C105U").arrest(1, "20100301", THEFT).court(
               1, "20100301", THEFT[0], "M", "CONVICTED-JAIL", ("JAIL", 0, "")),
           k, HAND_REVIEW, "Sentence end unknown", "serving-sentence"),
        _c("unknown sentence end presumed completed after 7 years (SB 834 parameter)",
           Record("C105P").arrest(1, "20100301", THEFT).court(
               1, "20100301", THEFT[0], "M", "CONVICTED-JAIL", ("JAIL", 0, "")),
           k, DISMISSAL, "Misdemeanor, 1 year since judgment", "path2-misdemeanor-1-year",
           params={"sentence_presumed_completed_after_years": 7}),
        _c("an open arrest cycle is a pending charge", pending, k, HAND_REVIEW, "Pending charge",
           "pending-charge"),
        _c("an arrest inactive 3+ years is not pending (SB 834 parameter)",
           _misd_jail("C107", "20150601").arrest(2, "20200101", THEFT), k, DISMISSAL,
           "Misdemeanor, 1 year since judgment", "path2-misdemeanor-1-year",
           params={"pending_charge_inactive_years": 3}),
        _c("felony path III convicted before 2005", _prison_felony("C108", "20000301", 2), k,
           HAND_REVIEW, "Path III start date (2005 or 1973) unconfirmed", "path3-start-date"),
        _c("felony path III convicted before 2005, start date 1973",
           _prison_felony("C109", "20000301", 2), k, DISMISSAL, "PC 1203.425(a)(1)(B)(v)(III)",
           "path3-felony", params={"path3_start_date": dt.date(1973, 1, 1)}),
        _c("felony prison sentence, 4 years clean after it ended",
           _prison_felony("C110", "20100301", 3), k, DISMISSAL,
           "PC 1203.425(a)(1)(B)(v)(III)", "path3-felony"),
        _c("felony probation revoked, then completed: path III", revoked_felony, k, DISMISSAL,
           "PC 1203.425(a)(1)(B)(v)(III)", "path3-felony"),
        _c("path III before its operative date: the prison bar applies",
           _prison_felony("C111", "20100301", 3), k, NOT_ELIGIBLE, "State prison sentence",
           "state-prison", at=dt.date(2024, 6, 30)),
        _c("path III with a fact-dependent list entry (459 PC)",
           _prison_felony("C112", "20100301", 3, ("459 PC-BURGLARY", "F")), k, HAND_REVIEW,
           "Depends on facts of the case (record of conviction)", "path3-felony"),
        _c("prison sentence ended less than 4 years ago", _prison_felony("C113", "20200301", 2),
           k, NOT_ELIGIBLE, "State prison sentence", "state-prison"),
        _c("a new felony within 4 years of the sentence's end",
           _prison_felony("C114", "20100301", 3).arrest(2, "20150101", SALE).court(
               2, "20150101", SALE[0], "F", "CONVICTED-JAIL", ("JAIL", 180, "D")),
           k, NOT_ELIGIBLE, "State prison sentence", "state-prison"),
        _c("serious felony with completed probation (bar on paths I/II unconfirmed)",
           Record("C115").arrest(1, "20150301", ("245(A)(1) PC-ADW", "F")).court(
               1, "20150301", "245(A)(1) PC-ADW", "F", "CONVICTED-PROBATION",
               ("PROBATION", 3, "Y")),
           k, HAND_REVIEW, "Serious or violent felony (bar on paths I and II unconfirmed)",
           "serious-violent-review"),
        _c("serious felony with completed probation, bar chosen",
           Record("C116").arrest(1, "20150301", ("245(A)(1) PC-ADW", "F")).court(
               1, "20150301", "245(A)(1) PC-ADW", "F", "CONVICTED-PROBATION",
               ("PROBATION", 3, "Y")),
           k, NOT_ELIGIBLE, "Serious or violent felony", "serious-violent-bar",
           params={"serious_violent_bars_paths_I_II": "bar"}),
        _c("PC 1203.4(b) offence on probation (bar unconfirmed)",
           Record("C117").arrest(1, "20180301", ("2800 VC-FAIL TO OBEY OFFICER", "M")).court(
               1, "20180301", "2800 VC-FAIL TO OBEY OFFICER", "M", "CONVICTED-PROBATION",
               ("PROBATION", 1, "Y")),
           k, HAND_REVIEW, "PC 1203.4(b) offense (bar unconfirmed)", "pc1203-4b-review"),
        _c("PC 1203.4(b) offence on probation, bar chosen",
           Record("C118").arrest(1, "20180301", ("2800 VC-FAIL TO OBEY OFFICER", "M")).court(
               1, "20180301", "2800 VC-FAIL TO OBEY OFFICER", "M", "CONVICTED-PROBATION",
               ("PROBATION", 1, "Y")),
           k, NOT_ELIGIBLE, "PC 1203.4(b) offense", "pc1203-4b-bar",
           params={"pc1203_4b_carveouts": "bar"}),
        _c("misdemeanor probation completed without revocation",
           Record("C119").arrest(1, "20150301", THEFT).court(
               1, "20150301", THEFT[0], "M", "CONVICTED-PROBATION", ("PROBATION", 2, "Y"),
               ("JAIL", 10, "D")),
           k, DISMISSAL, "Probation completed", "path1-probation-completed"),
        _c("misdemeanor, jail, judgment more than a year ago", _misd_jail("C122", "20200301"),
           k, DISMISSAL, "Misdemeanor, 1 year since judgment", "path2-misdemeanor-1-year"),
        _c("misdemeanor probation revoked: no automatic path", revoked_misd, k, NOT_ELIGIBLE,
           "No automatic path", "no-automatic-path"),
        _c("misdemeanor judgment less than a year ago", _misd_jail("C123", "20250110", 10), k,
           NOT_ELIGIBLE, "No automatic path", "no-automatic-path"),
    ]  # fmt: skip


def pc851_93_cases() -> list[Case]:
    return [
        _a("arrest before 1973", Record("A201").arrest(1, "19700301", MISD), NOT_ELIGIBLE,
           "Before 1/1/1973", "before-1973"),
        _a("a cycle with a conviction is not an arrest-relief candidate",
           _misd_jail("A202", "20150601"), None),
        _a("PC 290 registrant, registration bar chosen",
           Record("A203").arrest(1, "20200301", MISD).registration(2, "20100101"),
           NOT_ELIGIBLE, "PC 290 registrant", "pc290-registrant",
           params={"pc290_bars_arrest_relief": True}),
        _a("PC 290 registrant, no bar (default)",
           Record("A204").arrest(1, "20200301", MISD).registration(2, "20100101"),
           ARREST_RELIEF, "Misdemeanor, 1 year, no conviction", "misdemeanor-1-year"),
        _a("diversion completed",
           Record("A205").arrest(1, "20240301", SALE).court(
               1, "20240501", SALE[0], "F", "DIVERSION DISMISSED"),
           ARREST_RELIEF, "Diversion completed", "diversion-completed"),
        _a("misdemeanor dismissed",
           Record("A206").arrest(1, "20250101", MISD).court(
               1, "20250201", MISD[0], "M", "DISMISSED-FURTHERANCE OF JUSTICE"),
           ARREST_RELIEF, "Misdemeanor dismissed", "misdemeanor-dismissed"),
        _a("felony charge filed and dismissed: no automatic path",
           Record("A207").arrest(1, "20240301", SALE).court(
               1, "20240401", SALE[0], "F", "DISMISSED"),
           HAND_REVIEW, "No automatic path", "no-automatic-path"),
        _a("felony dismissed, SB 834 parameter on",
           Record("A208").arrest(1, "20240301", SALE).court(
               1, "20240401", SALE[0], "F", "DISMISSED"),
           ARREST_RELIEF, "Charge dismissed", "charge-dismissed",
           params={"dismissed_any_offense_class": True}),
        _a("misdemeanor, no court action, a year since arrest",
           Record("A209").arrest(1, "20200301", MISD), ARREST_RELIEF,
           "Misdemeanor, 1 year, no conviction", "misdemeanor-1-year"),
        _a("misdemeanor acquitted, a year since arrest",
           Record("A210").arrest(1, "20230301", MISD).court(
               1, "20230601", MISD[0], "M", "ACQUITTED"),
           ARREST_RELIEF, "Misdemeanor, 1 year, no conviction", "misdemeanor-1-year"),
        _a("misdemeanor, no court action, arrested this year",
           Record("A211").arrest(1, "20250301", MISD), NOT_ELIGIBLE,
           "Waiting period (1 year) not elapsed", "misdemeanor-waiting"),
        _a("felony with an 8-year maximum, 6 years since arrest",
           Record("A212").arrest(1, "20150301", RAPE), ARREST_RELIEF,
           "Felony (8+ yr max), 6 years", "felony-8-year-max-6-years"),
        _a("felony below 8 years, 3 years since arrest",
           Record("A213").arrest(1, "20200301", SALE), ARREST_RELIEF, "Felony, 3 years",
           "felony-3-years"),
        _a("felony not in the table, 6 years since arrest",
           Record("A214").arrest(1, "20150301", UNLISTED), ARREST_RELIEF,
           "Felony, 6 years (either tier)", "felony-6-years-either-tier"),
        _a("felony not in the table, 4 years since arrest",
           Record("A215").arrest(1, "20210301", UNLISTED), HAND_REVIEW,
           "Maximum term not in table", "felony-tier-unknown"),
        _a("felony with an 8-year maximum, 4 years since arrest",
           Record("A216").arrest(1, "20210301", RAPE), NOT_ELIGIBLE,
           "Waiting period (6 years) not elapsed", "felony-8-year-max-waiting"),
        _a("felony below 8 years, arrested last year",
           Record("A217").arrest(1, "20240301", SALE), NOT_ELIGIBLE,
           "Waiting period (3 years) not elapsed", "felony-waiting"),
        _a("offence level not recorded, charge dismissed",
           Record("A218").arrest(1, "20240301", ("484 PC-THEFT", "")).court(
               1, "20240401", "484 PC-THEFT", "", "DISMISSED"),
           HAND_REVIEW, "Offense level at arrest not recorded", "misdemeanor-dismissed"),
        _a("an infraction: no automatic path",
           Record("A219").arrest(1, "20200301", ("22350 VC-SPEEDING", "I")), HAND_REVIEW,
           "No automatic path", "no-automatic-path"),
    ]  # fmt: skip


def all_cases() -> list[Case]:
    return pc1203_425_cases() + pc851_93_cases()
