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

The rooms: vocabulary.py (columns, offences, names, places), people.py (a subject's history),
writer.py (the file, on a thread) and bad_lines.py (malformed lines, `--bad-lines`); this
module drives them and keeps the public names (generate_extract, GenerateStats, the regexes
and shares).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from relief.jobs.synthetic.people import (
    CONVICTION,
    DEATH_LINE,
    DISP_DATE_PLACEHOLDER_SHARE,
    P64_CONV,
    Histories,
)
from relief.jobs.synthetic.vocabulary import (
    county_places,
)
from relief.jobs.synthetic.writer import (
    Sink,
)
from relief.transforms import columns as c

SSN_REGEX = r"\b9\d{2}-00-\d{4}\b"
CDL_REGEX = r"\bX\d{7}\b"

PROGRESS_EVERY = 50_000


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
    places, restricted = county_places(counties)
    focus = None
    if county_shaped is not None:
        focus_places, _ = county_places([county_shaped])
        focus = next(p for p in places if p.county_name == focus_places[0].county_name)
    trailing = bool(trailing_empty_field)
    end = ",\n" if trailing else "\n"
    started = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    generator = Histories(seed, places, restricted, disp_date_placeholder, focus)
    written = subjects = p64_subjects = p64_convictions = convictions = deceased = 0
    next_progress = PROGRESS_EVERY
    sink = Sink(partial, gz=out.name.endswith(".gz"))
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
                n_p64 = flags.count(P64_CONV)
                p64_convictions += n_p64
                convictions += n_p64 + flags.count(CONVICTION)
                p64_subjects += n_p64 > 0
                deceased += DEATH_LINE in flags
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
