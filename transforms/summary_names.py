"""Names of the summary figures (flows and metrics), written once.

transforms/summary.py computes the figures with Spark; jobs/audit/report.py and the county tools
read them without Spark, so the names live here, in a module that imports nothing.
"""

from __future__ import annotations

# Flows: the county's policy, and the two comparison flows.
POLICY = "policy"
DISMISS_ALL = "dismiss_all_prop64"
DISMISS_ALL_RELATED = "dismiss_all_prop64_related"

# Table figures.
ROWS = "rows"
EARLIEST = "earliest_prop64_conviction"
# Figures over the county's Prop 64 convictions.
BY_SECTION = "prop64_convictions_by_section"
BY_FELONY = "prop64_convictions_by_felony"
BY_YEAR = "convictions_by_conviction_year"
BY_RACE = "convictions_by_race"
BY_REASON = "convictions_by_reason"
BY_DETERMINATION = "convictions_by_determination"
SUBJECTS = "subjects_with_prop64_conviction"
SUBJECTS_BY_RACE = "subjects_by_race"
# Per-subject outcomes, per flow (each also "<metric>_by_race").
SOME_RELIEF = "subjects_some_relief"
NO_FELONY = "subjects_no_felony"
NO_CONVICTION = "subjects_no_conviction"
NO_RECENT = "subjects_no_conviction_last_7_years"
SUBJECT_OUTCOMES = (SOME_RELIEF, NO_FELONY, NO_CONVICTION, NO_RECENT)
BY_RACE_SUFFIX = "_by_race"
