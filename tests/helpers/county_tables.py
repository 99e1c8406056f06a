"""County tables as the statewide job writes them, written with delta-rs for the readers' tests
(pull, packet, privacy, no-aborts, install), and the environment of a command without Java."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake

from relief.transforms.columns import (
    CASE_NUMBERS,
    CNT_ORDER,
    CODE_SECTION,
    CONVICTION_COUNT,
    CONVICTION_DATE,
    COUNTY_SLUG,
    DECEASED,
    DECISION_INPUTS,
    DETERMINATION,
    DISMISS_ALL_P64,
    DISMISS_ALL_P64_RELATED,
    DOB,
    DOJ_RECORD_ID,
    INPUT_INDEX,
    IS_CANDIDATE,
    IS_CONVICTION,
    IS_COUNTED_CONVICTION,
    IS_FELONY,
    IS_PROP64,
    KEPT_DOJ_COLUMNS,
    LAST_CONVICTION,
    PC290_REGISTRATION,
    PC290_SECTIONS,
    POSSIBLE_OTHER_P64,
    PROP64_COUNT,
    PROP64_SECTIONS,
    REASON,
    RECORD_ID,
    RULE_ID,
    SECTION,
    SENTENCE_END,
    SOURCE_FILE,
    SOURCE_LINE,
    SUBJECT,
    SUPERSTRIKE_SECTIONS,
    date_latest,
    date_partial,
    section_count,
)
from tests.helpers.ledger_rows import publish

ROOT = Path(__file__).resolve().parents[2]
COMPUTE_AT = dt.date(2024, 6, 30)
D = "Eligible for Dismissal"
R = "Eligible for Reduction"
NOT_ELIGIBLE = "Not eligible"

# --- a county table as the statewide job writes it ------------------------------------------

_DATE_PREFIXES = (CONVICTION_DATE, DOB, LAST_CONVICTION, SENTENCE_END)
_SCHEMA = pa.schema(
    [
        (RECORD_ID, pa.string()),
        (SOURCE_FILE, pa.string()),
        (SOURCE_LINE, pa.int64()),
        (INPUT_INDEX, pa.int32()),
        *[(c, pa.string()) for c in KEPT_DOJ_COLUMNS],
        (SUBJECT, pa.string()),
        (COUNTY_SLUG, pa.string()),
        (SECTION, pa.string()),
        (CODE_SECTION, pa.string()),
        *[
            f
            for prefix in _DATE_PREFIXES
            for f in (
                (prefix, pa.date32()),
                (date_latest(prefix), pa.date32()),
                (date_partial(prefix), pa.bool_()),
            )
        ],
        (IS_CONVICTION, pa.bool_()),
        (IS_COUNTED_CONVICTION, pa.bool_()),
        (IS_PROP64, pa.bool_()),
        (IS_FELONY, pa.bool_()),
        (POSSIBLE_OTHER_P64, pa.string()),
        (CASE_NUMBERS, pa.string()),
        (CONVICTION_COUNT, pa.int64()),
        (PROP64_COUNT, pa.int64()),
        *[(section_count(s), pa.int64()) for s in PROP64_SECTIONS],
        (DECEASED, pa.bool_()),
        (PC290_REGISTRATION, pa.bool_()),
        (PC290_SECTIONS, pa.string()),
        (SUPERSTRIKE_SECTIONS, pa.string()),
        (IS_CANDIDATE, pa.bool_()),
        (DETERMINATION, pa.string()),
        (REASON, pa.string()),
        (RULE_ID, pa.string()),
        (DECISION_INPUTS, pa.map_(pa.string(), pa.bool_())),
        (DISMISS_ALL_P64, pa.string()),
        (DISMISS_ALL_P64_RELATED, pa.string()),
    ]
)

SUBJECTS: dict[str, dict[str, Any]] = {
    "S1": {"name": "DOE, JOHN", "dob": (dt.date(1970, 1, 2), dt.date(1970, 1, 2)),
           "raw_dob": "19700102", "cii": "A0000001", "convictions": 3, "p64": (1, 0, 1, 0),
           "last": dt.date(2019, 1, 1), "deceased": False, "pc290": None, "strike": None},
    "S2": {"name": "ÑÚÑEZ, JOSÉ \"JO\"", "dob": (dt.date(1980, 1, 1), dt.date(1980, 12, 31)),
           "raw_dob": "19800000", "cii": "A0000002", "convictions": 2, "p64": (0, 1, 0, 1),
           "last": dt.date(2017, 3, 1), "deceased": False, "pc290": "288(a) PC; 314(1) PC",
           "strike": "187 PC"},
    "S3": {"name": "=O'BRIEN, PAT", "dob": (dt.date(1950, 7, 4), dt.date(1950, 7, 4)),
           "raw_dob": "19500704", "cii": "A0000003", "convictions": 2, "p64": (1, 0, 1, 0),
           "last": dt.date(2005, 2, 2), "deceased": True, "pc290": None, "strike": None},
    "S4": {"name": " LEE, ANN", "dob": (dt.date(1999, 9, 9), dt.date(1999, 9, 9)),
           "raw_dob": "19990909", "cii": "A0000004", "convictions": 1, "p64": (1, 0, 0, 0),
           "last": dt.date(2020, 2, 2), "deceased": False, "pc290": None, "strike": None},
}  # fmt: skip


def row(
    line: int,
    subject: str,
    *,
    county: str | None = "FRESNO",
    step: str = "COURT ACTION",
    offense: str = "",
    section: str | None = None,
    code_section: str | None = None,
    convicted: tuple[dt.date | None, dt.date | None] | None = None,
    felony: bool | None = None,
    prop64: bool = False,
    case: str | None = None,
    determination: str | None = None,
    reason: str | None = None,
    rule: str | None = None,
    other_p64: str | None = None,
    sentence_end: dt.date | None = None,
    cnt_order: str = "001001001000",
) -> dict[str, Any]:
    """One row of the county table: DOJ strings plus the pipeline's columns."""
    facts = SUBJECTS[subject]
    is_conviction = convicted is not None
    candidate = bool(is_conviction and prop64 and county == "FRESNO")
    values: dict[str, Any] = {c: "" for c in KEPT_DOJ_COLUMNS}
    values.update(
        {
            DOJ_RECORD_ID: f"DOJ{line}",
            "SUBJECT_ID": subject,
            "CII_NUMBER": facts["cii"],
            "PRI_NAME": facts["name"],
            "PRI_DOB": facts["raw_dob"],
            "GENDER": "M",
            "RACE_DESCR": "WHITE",
            "STP_TYPE_DESCR": step,
            "STP_ORI_CNTY_NAME": county or "OUT OF STATE",
            CNT_ORDER: cnt_order,
            "OFN": case or "",
            "OFFENSE_DESCR": offense,
            "DISP_DESCR": "CONVICTED" if is_conviction else "",
            "CONV_STAT_DESCR": ("FELONY" if felony else "MISDEMEANOR") if is_conviction else "",
            "COMMENT_TEXT": other_p64 or "",
            "END_OF_REC": "E",
        }
    )
    earliest, latest = convicted or (None, None)
    values.update(
        {
            RECORD_ID: f"fp-{line}",
            SOURCE_FILE: "extract.csv",
            SOURCE_LINE: line,
            INPUT_INDEX: 0,
            SUBJECT: subject,
            COUNTY_SLUG: county.lower() if county else None,
            SECTION: section,
            CODE_SECTION: code_section,
            CONVICTION_DATE: earliest,
            date_latest(CONVICTION_DATE): latest,
            date_partial(CONVICTION_DATE): None if earliest is None else earliest != latest,
            DOB: facts["dob"][0],
            date_latest(DOB): facts["dob"][1],
            date_partial(DOB): facts["dob"][0] != facts["dob"][1],
            LAST_CONVICTION: facts["last"],
            date_latest(LAST_CONVICTION): facts["last"],
            date_partial(LAST_CONVICTION): False,
            SENTENCE_END: sentence_end or earliest,
            date_latest(SENTENCE_END): sentence_end or latest,
            date_partial(SENTENCE_END): None,
            IS_CONVICTION: is_conviction,
            IS_COUNTED_CONVICTION: is_conviction,
            IS_PROP64: prop64,
            IS_FELONY: felony if is_conviction else None,
            POSSIBLE_OTHER_P64: other_p64,
            CASE_NUMBERS: case,
            CONVICTION_COUNT: facts["convictions"],
            PROP64_COUNT: sum(facts["p64"]),
            **{section_count(s): n for s, n in zip(PROP64_SECTIONS, facts["p64"], strict=True)},
            DECEASED: facts["deceased"],
            PC290_REGISTRATION: False,
            PC290_SECTIONS: facts["pc290"],
            SUPERSTRIKE_SECTIONS: facts["strike"],
            IS_CANDIDATE: candidate,
            DETERMINATION: determination if candidate else None,
            REASON: reason if candidate else None,
            RULE_ID: rule if candidate else None,
            DECISION_INPUTS: [("not_felony", not felony)] if candidate else None,
            DISMISS_ALL_P64: D if candidate else None,
            DISMISS_ALL_P64_RELATED: D if candidate else None,
        }
    )
    return values


def day(y: int, m: int, d: int) -> tuple[dt.date, dt.date]:
    return dt.date(y, m, d), dt.date(y, m, d)


def fresno_rows() -> list[dict[str, Any]]:
    """Four subjects; S1 also has a Kern conviction (whole history in the county table)."""
    return [
        row(1, "S1", step="ARREST/DETAINED/CITED", offense="11359 HS-POSSESS FOR SALE"),
        row(2, "S1", offense="11359 HS-POSSESS FOR SALE", section="11359",
            code_section="11359 HS", convicted=day(2010, 5, 3), felony=True, prop64=True,
            case="F10-001", determination=R, reason="Reduce all HS 11359 convictions",
            rule="baseline-reduce", cnt_order="001002001000"),
        row(3, "S1", offense="11357(C)HS-POSSESS", section="11357", code_section="11357(c) HS",
            convicted=day(2012, 6, 7), felony=False, prop64=True, case="M12-777",
            determination=D, reason="Misdemeanor or Infraction", rule="misdemeanor",
            cnt_order="002002001000"),
        row(4, "S1", county="KERN", offense="459 PC-BURGLARY", section="459",
            code_section="459 PC", convicted=day(2019, 1, 1), felony=True, case="K19-1",
            other_p64="11360 HS-TRANSPORT", cnt_order="003002001000"),
        row(5, "S2", offense="11358 HS-CULTIVATE", section="11358", code_section="11358 HS",
            convicted=(dt.date(2015, 1, 1), dt.date(2015, 12, 31)), felony=True, prop64=True,
            case="F15-010; F15-011", determination=D,
            reason="Dismiss all HS 11358 convictions", rule="baseline-dismiss",
            sentence_end=dt.date(2026, 1, 1), cnt_order="001002002000"),
        row(6, "S2", offense="11360 HS-TRANSPORT", section="11360", code_section="11360 HS",
            convicted=day(2017, 3, 1), felony=True, prop64=True, case="F17-5",
            determination=NOT_ELIGIBLE, reason="Occurred after 11/09/2016",
            rule="after-prop64", cnt_order="002002001000"),
        row(7, "S3", offense="11357 HS-POSSESS", section="11357", code_section="11357 HS",
            convicted=(None, None), felony=False, prop64=True, case=None, determination=D,
            reason="Misdemeanor or Infraction", rule="misdemeanor"),
        row(8, "S3", step="ARREST/DETAINED/CITED", offense="SEE COMMENT FOR CHARGE",
            other_p64="11359 HS-POSSESS FOR SALE"),
        row(9, "S3", step="DECEASED"),
        row(10, "S3", offense="11359 HS-POSSESS FOR SALE", section="11359",
            code_section="11359 HS", convicted=day(2005, 2, 2), felony=True, prop64=True,
            case="F05-1", determination=D, reason="Individual is deceased", rule="deceased",
            cnt_order="002002001000"),
        row(11, "S4", offense="11357(A) HS-POSSESS", section="11357",
            code_section="11357(a) HS", convicted=day(2020, 2, 2), felony=False, prop64=True,
            case="M20-9", determination=D, reason="Misdemeanor or Infraction",
            rule="misdemeanor"),
    ]  # fmt: skip


def as_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=_SCHEMA)


def storable(table: pa.Table) -> pa.Table:
    """delta-rs refuses column names that differ only in case (subject_id beside the DOJ's
    SUBJECT_ID): the Delta test tables keep the DOJ column, as a pipeline renaming one of
    the pair may; the pure functions are also tested on tables holding both."""
    upper = {c for c in table.column_names if c.isupper()}
    return table.drop_columns([c for c in table.column_names if c.islower() and c.upper() in upper])


def commit(run_id: str, county: str = "fresno") -> CommitProperties:
    return CommitProperties(
        custom_metadata={
            "run_id": run_id,
            "compute_at": COMPUTE_AT.isoformat(),
            "policy_hash": "ab" * 32,
            "county": county,
        }
    )


def write_county(warehouse: Path, slug: str, rows: list[dict[str, Any]], run_id: str) -> None:
    table = storable(as_table(rows))
    # Stored out of input order on purpose: a pull must sort.
    table = table.take(list(reversed(range(table.num_rows))))
    path = warehouse / "counties" / slug
    write_deltalake(str(path), table, mode="overwrite",
                    commit_properties=commit(run_id, slug))  # fmt: skip
    # Readers serve what the runs ledger publishes: publish it as a run of this county.
    publish(warehouse, run_id, {slug: DeltaTable(str(path)).version()}, partial=True)


def no_java_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "SPARK_HOME")}
    env["PATH"] = str(Path(sys.executable).parent)
    assert shutil.which("java", path=env["PATH"]) is None
    return env
