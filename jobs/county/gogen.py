"""The reference tool's export of a county table (DOMAIN.md §6): `--format gogen`.

No Spark: pyarrow only. Where relief had to choose:

- ``All_Results.csv``: the 95 DOJ columns (header RECORD_ID ... END_OF_REC; REQ_CDL, REQ_SSN,
  PRI_SSN and PRI_CDL were dropped at ingest and are written empty), then the 18 eligibility
  columns. ``All_Results_Condensed.csv``: the 20 condensed DOJ columns, then the 18.
  ``Prop64_Results.csv``: the All_Results layout, only rows with a determination. Rows in
  input order. CSV quoting is Go's encoding/csv (the reference's writer): a field is quoted
  only if it holds a comma, a quote, CR or LF, or starts with white space; lines end in LF.
- The 18 columns are filled on rows with a determination (the county's Prop 64
  convictions), exactly as the reference fills its eligibility info. On every other row they
  are empty, except "Possible Other P64 Charges", which the reference writes on every row.
- Dates: a partial date counts as its earliest possible day (DOMAIN.md §1), so "Date of
  Conviction" is that day and "Years Since ..." are measured from it, at the version's
  compute-at (commit metadata), as (days / 365.25) with one decimal; -1.0 when the date is
  blank. A blank conviction date is written ``-`` (the reference would print 01/01/0001).
  "Occurred after 11/9/2016" is ``Y`` when the conviction is after 2016-11-09 on every
  possible day, ``N`` when on none, ``-`` when a blank or partial date leaves it open.
- "Superstrike/PC290 Code Section(s)": the code-section text of each such conviction of
  the subject, input order, repeats kept, joined with ``;`` (transforms/history.py builds
  it as the reference does); ``-`` when none. "Case Number": the cycle+step's OFNs in
  first-seen order, joined with ``; ``.
- ``summary.json``: the reference's keys and value shapes (Go ``json.Marshal``: compact,
  map keys sorted, ``<``/``>``/``&`` escaped), figures from :func:`gogen_summary`.
  ``lineCount`` is the run's input data lines (``rows_read`` in the version's commit
  metadata), as the reference counts the lines of its input; a version committed without
  it falls back to the table's rows. The by-code-section maps have one key for every entry
  of the policy's dismiss and reduce lists, 0 when none (the policy is in the commit
  metadata; without it, the sections whose reasons occur). ``processingTimeInSeconds`` is
  left out: it would make the same pull differ. When no Prop 64 conviction of the county
  has a known date, ``earliestConviction`` is ``null`` (the reference would print the wall
  clock).

Where relief deliberately differs from the reference tool: docs/reference-differences.md.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from relief.jobs.county.csv import go_lines, write_go_lines
from relief.jobs.warehouse.access import private_file
from relief.jobs.warehouse.snapshots import CountySnapshot
from relief.transforms.columns import (
    CASE_NUMBERS,
    CII_NUMBER,
    COMMENT_TEXT,
    CONV_STAT_DESCR,
    CONVICTION_COUNT,
    CONVICTION_DATE,
    CYC_AGE,
    CYC_DATE,
    DECEASED,
    DETERMINATION,
    DISMISS_ALL_P64,
    DISP_DATE,
    DISP_DESCR,
    DOJ_COLUMNS,
    END_OF_REC,
    GENDER,
    IS_CANDIDATE,
    IS_COUNTED_CONVICTION,
    IS_FELONY,
    LAST_CONVICTION,
    OFFENSE_DESCR,
    OFN,
    PC290_REGISTRATION,
    PC290_SECTIONS,
    PII_COLUMNS,
    POSSIBLE_OTHER_P64,
    PRI_DOB,
    PRI_NAME,
    PROP64_COUNT,
    PROP64_SECTIONS,
    RACE_DESCR,
    REASON,
    SECTION,
    SENT_LENGTH,
    SENT_LOC_DESCR,
    SENT_TIME_CODE,
    STP_EVENT_DATE,
    STP_ORI_CNTY_NAME,
    STP_ORI_DESCR,
    SUBJECT,
    SUBJECT_ID,
    SUPERSTRIKE_SECTIONS,
    date_latest,
    section_count,
    stored_name,
)
from relief.transforms.policy import (
    REASON_DISMISS_SECTION,
    REASON_MISDEMEANOR,
    REASON_REDUCE_SECTION,
    Determination,
    PolicyValidationError,
    SectionListEntry,
    add_years,
    parse_policy,
    section_list_entries,
)

DISMISSAL = Determination.DISMISSAL.value
REDUCTION = Determination.REDUCTION.value

# --- gogen export (DOMAIN.md §6) ------------------------------------------------------------

GOGEN_ELIGIBILITY_HEADERS: tuple[str, ...] = (
    "Case Number",
    "# of convictions on record",
    "Possible Other P64 Charges",
    "Occurred after 11/9/2016",
    "Superstrike Code Section(s)",
    "PC290 Code Section(s)",
    "PC290 Registration",
    "Date of Conviction",
    "Years Since This Conviction",
    "Years Since Any Conviction",
    "# of Prop 64 convictions",
    *(f"# of HS {s} convictions" for s in PROP64_SECTIONS),
    "Deceased",
    "Eligibility Determination",
    "Eligibility Reason",
)
assert len(GOGEN_ELIGIBILITY_HEADERS) == 18

GOGEN_CONDENSED_COLUMNS: tuple[str, ...] = (
    CII_NUMBER, PRI_NAME, GENDER, PRI_DOB, RACE_DESCR, CYC_DATE, STP_EVENT_DATE,
    STP_ORI_DESCR, STP_ORI_CNTY_NAME, DISP_DATE, OFN, OFFENSE_DESCR, DISP_DESCR,
    CONV_STAT_DESCR, SENT_LOC_DESCR, SENT_LENGTH, SENT_TIME_CODE, CYC_AGE,
    COMMENT_TEXT, END_OF_REC,
)  # fmt: skip
assert len(GOGEN_CONDENSED_COLUMNS) == 20

ALL_RESULTS = "All_Results.csv"
ALL_RESULTS_CONDENSED = "All_Results_Condensed.csv"
PROP64_RESULTS = "Prop64_Results.csv"
SUMMARY_JSON = "summary.json"
PROP64_EFFECTIVE = dt.date(2016, 11, 9)
MISSING = "-"


def bool_column(table: pa.Table, name: str) -> pa.ChunkedArray:
    """A boolean column with nulls as false; an absent column is all false."""
    if name not in table.column_names:
        return pa.chunked_array([pa.array([False] * table.num_rows, pa.bool_())])
    return pc.fill_null(table[name], False)


def _strings(table: pa.Table, name: str) -> pa.ChunkedArray:
    """A column as text, null -> ''; an absent column is all ''."""
    if name not in table.column_names:
        return pa.chunked_array([pa.array([""] * table.num_rows, pa.string())])
    return pc.fill_null(pc.cast(table[name], pa.string()), "")


def gogen_doj_columns(table: pa.Table) -> dict[str, pa.ChunkedArray]:
    """The 95 DOJ columns by their DOJ names (RECORD_ID from DOJ_RECORD_ID; PII empty)."""
    empty = pa.chunked_array([pa.array([""] * table.num_rows, pa.string())])
    return {
        name: empty if name in PII_COLUMNS else _strings(table, stored_name(name))
        for name in DOJ_COLUMNS
    }


def years_since(day: dt.date | None, compute_at: dt.date) -> str:
    """Years from ``day`` to compute-at (days / 365.25), one decimal; -1.0 when unknown."""
    if day is None:
        return "-1.0"
    return f"{(compute_at - day).days / 365.25:.1f}"


def us_date(day: dt.date | None) -> str:
    return MISSING if day is None else f"{day.month:02d}/{day.day:02d}/{day.year:04d}"


def occurred_after_effective(earliest: dt.date | None, latest: dt.date | None) -> str:
    """Y / N / - : conviction after 2016-11-09 on every / no / some possible day."""
    if earliest is not None and earliest > PROP64_EFFECTIVE:
        return "Y"
    if latest is not None and latest <= PROP64_EFFECTIVE:
        return "N"
    return MISSING


def _sections(text: str | None) -> str:
    parts = [p.strip() for p in (text or "").split(";") if p.strip()]
    return ";".join(parts) if parts else MISSING


def _get(row: Mapping[str, Any], name: str) -> Any:
    return row.get(name)


def _count_text(value: Any) -> str:
    return str(int(value)) if value is not None else "0"


def gogen_eligibility_values(row: Mapping[str, Any], compute_at: dt.date) -> list[str]:
    """The 18 columns for one row with a determination (DOMAIN.md §6)."""
    conviction = _get(row, CONVICTION_DATE)
    return [
        _get(row, CASE_NUMBERS) or "",
        _count_text(_get(row, CONVICTION_COUNT)),
        _get(row, POSSIBLE_OTHER_P64) or "",
        occurred_after_effective(conviction, _get(row, date_latest(CONVICTION_DATE))),
        _sections(_get(row, SUPERSTRIKE_SECTIONS)),
        _sections(_get(row, PC290_SECTIONS)),
        "Yes" if _get(row, PC290_REGISTRATION) else MISSING,
        us_date(conviction),
        years_since(conviction, compute_at),
        years_since(_get(row, LAST_CONVICTION), compute_at),
        _count_text(_get(row, PROP64_COUNT)),
        *(_count_text(_get(row, section_count(s))) for s in PROP64_SECTIONS),
        "Deceased" if _get(row, DECEASED) else MISSING,
        _get(row, DETERMINATION) or "",
        _get(row, REASON) or "",
    ]


def has_determination(table: pa.Table) -> pa.ChunkedArray:
    if DETERMINATION not in table.column_names:
        return bool_column(table, "__absent__")
    return pc.is_valid(table[DETERMINATION])


_ELIGIBILITY_INPUTS = (
    CASE_NUMBERS, CONVICTION_COUNT, POSSIBLE_OTHER_P64, CONVICTION_DATE,
    date_latest(CONVICTION_DATE), SUPERSTRIKE_SECTIONS, PC290_SECTIONS, PC290_REGISTRATION,
    LAST_CONVICTION, PROP64_COUNT, *(section_count(s) for s in PROP64_SECTIONS), DECEASED,
    DETERMINATION, REASON,
)  # fmt: skip


def gogen_eligibility_columns(table: pa.Table, compute_at: dt.date) -> dict[str, pa.ChunkedArray]:
    """The 18 eligibility columns for every row: filled where there is a determination,
    empty elsewhere except "Possible Other P64 Charges" (as the reference writes them)."""
    decided = pc.fill_null(has_determination(table), False).combine_chunks()
    present = [c for c in _ELIGIBILITY_INPUTS if c in table.column_names]
    # Python only for the rows with a determination (the county's Prop 64 convictions).
    rows = table.select(present).filter(decided).to_pylist()
    values = [gogen_eligibility_values(row, compute_at) for row in rows]
    empty = pa.array([""] * table.num_rows, pa.string())
    result: dict[str, pa.ChunkedArray] = {}
    for position, name in enumerate(GOGEN_ELIGIBILITY_HEADERS):
        base = _strings(table, POSSIBLE_OTHER_P64).combine_chunks() if position == 2 else empty
        filled = pa.array([v[position] for v in values], pa.string())
        result[name] = pa.chunked_array([pc.replace_with_mask(base, decided, filled)])
    return result


def go_csv_lines(columns: Sequence[pa.Array | pa.ChunkedArray]) -> pa.ChunkedArray:
    """One CSV line (without the LF) per row, as the reference writes it."""
    return go_lines(columns)


def _write_go_csv(path: Path, header: Sequence[str], lines: pa.ChunkedArray) -> None:
    write_go_lines(path, header, lines)


def go_json(value: Any) -> str:
    """JSON as Go's json.Marshal writes it: compact, HTML characters escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(char, escaped)
    return text


# --- summary figures (DOMAIN.md §5) ---------------------------------------------------------


def subject_column(table: pa.Table) -> str:
    """The subject key: relief's trimmed SUBJECT, else the DOJ's SUBJECT_ID as stored."""
    # delta-rs refuses names differing only in case (subject_id beside SUBJECT_ID), so a
    # table may hold only one of the two.
    return SUBJECT if SUBJECT in table.column_names else stored_name(SUBJECT_ID)


def _subjects(table: pa.Table) -> list[Any]:
    column = subject_column(table)
    values = table[column]
    if column != SUBJECT:
        values = pc.utf8_trim_whitespace(values)
    return values.to_pylist()


def county_prop64_convictions(table: pa.Table) -> pa.Table:
    """The county's Prop 64 convictions: the candidate rows."""
    return table.filter(bool_column(table, IS_CANDIDATE))


def earliest_prop64_conviction(table: pa.Table) -> dt.date | None:
    """Earliest (earliest possible day of the) county's Prop 64 conviction dates."""
    dates = county_prop64_convictions(table)[CONVICTION_DATE]
    value = pc.min(dates).as_py() if len(dates) else None
    return value


def prop64_convictions_by_section(table: pa.Table) -> dict[str, int]:
    counts = Counter(
        s for s in county_prop64_convictions(table)[SECTION].to_pylist() if s is not None
    )
    return {k: counts[k] for k in sorted(counts)}


def prop64_felony_counts(table: pa.Table) -> tuple[int, int]:
    """(felony, non-felony) Prop 64 convictions in the county."""
    felony = bool_column(county_prop64_convictions(table), IS_FELONY)
    felonies = pc.sum(felony.cast(pa.int64())).as_py() or 0
    return int(felonies), len(felony) - int(felonies)


def subjects_with_prop64_conviction(table: pa.Table) -> int:
    return len(set(_subjects(county_prop64_convictions(table))))


def subjects_with_some_relief(table: pa.Table, flow: str = DETERMINATION) -> int:
    candidates = county_prop64_convictions(table)
    relieved = pc.fill_null(pc.is_in(candidates[flow], pa.array([DISMISSAL, REDUCTION])), False)
    return len(set(_subjects(candidates.filter(relieved))))


_PER_SUBJECT_SUMS = ("n", "dismissed", "felony", "felony_relieved", "recent", "recent_dismissed")


def subjects_relieved(table: pa.Table, flow: str, compute_at: dt.date) -> dict[str, int]:
    """Subjects who would no longer have a felony / any conviction / a conviction in the last
    7 years (DOMAIN.md §5) if the determinations in column ``flow`` were granted.

    Every conviction of the subject counts, in any county (the table holds whole
    histories); only the county's own Prop 64 convictions carry determinations. A
    conviction is in the last 7 years when its date (earliest possible day) is after
    compute-at - 7 years, as in transforms/summary.py.
    """
    convictions = table.filter(bool_column(table, IS_COUNTED_CONVICTION))
    decision = convictions[flow]
    dismissed = pc.fill_null(pc.equal(decision, DISMISSAL), False)
    relieved = pc.fill_null(pc.is_in(decision, pa.array([DISMISSAL, REDUCTION])), False)
    felony = bool_column(convictions, IS_FELONY)
    cutoff = add_years(compute_at, -7)
    recent = pc.fill_null(pc.greater(convictions[CONVICTION_DATE], pa.scalar(cutoff)), False)

    def as_int(flag: Any) -> pa.ChunkedArray:
        return pc.cast(flag, pa.int64())

    per_subject = (
        pa.table(
            {
                "subject": pa.array(_subjects(convictions), pa.string()),
                "n": pa.array([1] * convictions.num_rows, pa.int64()),
                "dismissed": as_int(dismissed),
                "felony": as_int(felony),
                "felony_relieved": as_int(pc.and_(felony, relieved)),
                "recent": as_int(recent),
                "recent_dismissed": as_int(pc.and_(recent, dismissed)),
            }
        )
        .group_by("subject")
        .aggregate([(c, "sum") for c in _PER_SUBJECT_SUMS])
        .to_pydict()
    )

    def count(total: str, relieved_part: str) -> int:
        return sum(
            1
            for t, r in zip(
                per_subject[f"{total}_sum"], per_subject[f"{relieved_part}_sum"], strict=True
            )
            if t > 0 and t == r
        )

    return {
        "CountSubjectsNoConviction": count("n", "dismissed"),
        "CountSubjectsNoConvictionLast7Years": count("recent", "recent_dismissed"),
        "CountSubjectsNoFelony": count("felony", "felony_relieved"),
    }


def _template_regex(template: str) -> re.Pattern[str]:
    before, _, after = template.partition("{section}")
    return re.compile(re.escape(before) + r"(.+)" + re.escape(after))


def reasons_by_determination(table: pa.Table) -> Counter[tuple[str, str]]:
    """(determination, reason) -> number of the county's Prop 64 convictions."""
    candidates = county_prop64_convictions(table).select([DETERMINATION, REASON])
    return Counter(
        (d, r or "")
        for d, r in zip(
            candidates[DETERMINATION].to_pylist(), candidates[REASON].to_pylist(), strict=True
        )
        if d is not None
    )


def counts_by_section_reason(
    reasons: Counter[tuple[str, str]],
    determination: str,
    template: str,
    entries: Sequence[SectionListEntry] | None = None,
) -> dict[str, int]:
    """Convictions by list entry, as the reference's summary counts them (DOMAIN.md §5).

    With the policy's list ``entries``: one key per entry of ``determination``'s list, the
    convictions whose reason is exactly the entry's (0 when none). Without them: the
    sections whose ``template`` reason (``Dismiss all HS {section} convictions``) occurs.
    """
    if entries is not None:
        found = {
            e.key: reasons.get((determination, e.reason), 0)
            for e in entries
            if e.determination.value == determination
        }
        return {k: found[k] for k in sorted(found)}
    pattern = _template_regex(template)
    counted: dict[str, int] = {}
    for (det, reason), n in reasons.items():
        match = pattern.fullmatch(reason)
        if det == determination and match:
            counted[match.group(1)] = counted.get(match.group(1), 0) + n
    return {k: counted[k] for k in sorted(counted)}


def dismissals_by_additional_relief(reasons: Counter[tuple[str, str]]) -> dict[str, int]:
    """Dismissal reasons other than the section lists and ``Misdemeanor or Infraction``."""
    section_prefix = REASON_DISMISS_SECTION.partition("{section}")[0]
    found: Counter[str] = Counter()
    for (det, reason), n in reasons.items():
        if det != DISMISSAL:
            continue
        if reason.startswith(section_prefix) or reason.startswith(REASON_MISDEMEANOR):
            continue
        found[reason] += n
    return {k: found[k] for k in sorted(found)}


def gogen_timestamp(day: dt.date | None) -> str | None:
    return None if day is None else f"{day.isoformat()}T00:00:00Z"


def gogen_summary(
    table: pa.Table,
    county_name: str,
    compute_at: dt.date,
    line_count: int | None = None,
    entries: Sequence[SectionListEntry] | None = None,
) -> dict[str, Any]:
    """The reference tool's summary.json figures from one county table (DOMAIN.md §5).

    ``line_count``: the data lines of the run's input (default: the table's rows).
    ``entries``: the policy's dismiss/reduce list entries (policy.section_list_entries), so
    every listed section has a key; None: the sections whose reasons occur in the table.
    """
    reasons = reasons_by_determination(table)
    felonies, non_felonies = prop64_felony_counts(table)
    return {
        "county": county_name,
        "earliestConviction": gogen_timestamp(earliest_prop64_conviction(table)),
        "lineCount": table.num_rows if line_count is None else line_count,
        "reliefWithCurrentEligibilityChoices": subjects_relieved(table, DETERMINATION, compute_at),
        "reliefWithDismissAllProp64": subjects_relieved(table, DISMISS_ALL_P64, compute_at),
        "prop64ConvictionsCountInCountyByCodeSection": prop64_convictions_by_section(table),
        "subjectsWithProp64ConvictionCountInCounty": subjects_with_prop64_conviction(table),
        "prop64FelonyConvictionsCountInCounty": felonies,
        "prop64NonFelonyConvictionsCountInCounty": non_felonies,
        "subjectsWithSomeReliefCount": subjects_with_some_relief(table),
        "convictionDismissalCountByCodeSection": counts_by_section_reason(
            reasons, DISMISSAL, REASON_DISMISS_SECTION, entries
        ),
        "convictionReductionCountByCodeSection": counts_by_section_reason(
            reasons, REDUCTION, REASON_REDUCE_SECTION, entries
        ),
        "convictionDismissalCountByAdditionalRelief": dismissals_by_additional_relief(reasons),
    }


# Commit metadata the statewide job writes on a county table version (jobs/statewide.py).
ROWS_READ_KEY = "rows_read"
POLICY_KEY = "policy"


def committed_line_count(commit: Mapping[str, Any]) -> int | None:
    """The run's input data lines, from a version's commit metadata (None: not recorded)."""
    value = commit.get(ROWS_READ_KEY)
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def committed_list_entries(commit: Mapping[str, Any]) -> list[SectionListEntry] | None:
    """The dismiss/reduce list entries of the policy a version was decided by (None: the
    version records no policy, or one this relief cannot read)."""
    text = commit.get(POLICY_KEY)
    if not text:
        return None
    try:
        return section_list_entries(parse_policy(json.loads(str(text))))
    except (ValueError, PolicyValidationError):
        return None


SUFFIX_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"


def gogen_file_name(name: str, suffix: str = "") -> str:
    """``name`` with the run suffix before its extension, as the reference's hidden
    ``--file-name-suffix`` names files (utilities.GenerateFileName): ``All_Results.csv`` with
    suffix ``2026-11-22`` is ``All_Results_2026-11-22.csv``; no suffix, no change."""
    if not suffix:
        return name
    if not re.fullmatch(SUFFIX_PATTERN, suffix):
        raise ValueError(
            f"file name suffix {suffix!r}: use letters, digits, '.', '_' or '-' "
            "(at most 64, starting with a letter or digit)"
        )
    stem, dot, extension = name.rpartition(".")
    return f"{stem}_{suffix}{dot}{extension}"


def write_gogen(snapshot: CountySnapshot, out: Path, suffix: str = "") -> list[Path]:
    """All_Results.csv, All_Results_Condensed.csv, Prop64_Results.csv and summary.json
    (each named with ``_<suffix>`` before the extension when a suffix is given)."""
    table = snapshot.table
    compute_at = snapshot.require_compute_at()
    doj = gogen_doj_columns(table)
    eligibility = gogen_eligibility_columns(table, compute_at)
    full_header = [*DOJ_COLUMNS, *GOGEN_ELIGIBILITY_HEADERS]
    full = go_csv_lines([*doj.values(), *eligibility.values()])
    condensed = go_csv_lines([doj[c] for c in GOGEN_CONDENSED_COLUMNS] + list(eligibility.values()))
    decided = has_determination(table)
    written = []
    for name, header, lines in (
        (ALL_RESULTS, full_header, full),
        (ALL_RESULTS_CONDENSED, [*GOGEN_CONDENSED_COLUMNS, *GOGEN_ELIGIBILITY_HEADERS], condensed),
        (PROP64_RESULTS, full_header, full.filter(decided)),
    ):
        path = out / gogen_file_name(name, suffix)
        _write_go_csv(path, header, lines)
        written.append(path)
    summary = gogen_summary(
        table,
        snapshot.county.name,
        compute_at,
        line_count=committed_line_count(snapshot.commit),
        entries=committed_list_entries(snapshot.commit),
    )
    summary_path = out / gogen_file_name(SUMMARY_JSON, suffix)
    with private_file(summary_path) as temporary:
        temporary.write_text(go_json(summary), encoding="utf-8")
    written.append(summary_path)
    return written
