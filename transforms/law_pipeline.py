"""The statewide law packs on the rows after history (docs/laws.md §7): one transform the
statewide job calls when a run decides a statewide law.

history rows (every subject, with P64_COUNTIES and ROW_KEY) -> the law facts pass
(transforms/law_facts.py) -> the fan-out to every county of a candidate, with ``table_laws``
(transforms/law_tables.py) -> Prop 64's county policies (transforms/eligibility.py, as in a
Prop 64-only run) -> each pack's decision list (transforms/law_eligibility.py) -> the grants
join (transforms/law_grants.py). A Prop 64-only run does not call it: its tables keep their
exact schema and rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from pyspark.sql import DataFrame

from relief.transforms.eligibility import apply_policies
from relief.transforms.law_eligibility import CompiledLaw, apply_law
from relief.transforms.law_facts import LawFactSettings, with_law_facts
from relief.transforms.law_grants import with_grants
from relief.transforms.law_tables import fan_out_with_laws
from relief.transforms.policy import Policy


def decide_laws(
    history: DataFrame,
    compiled: Sequence[CompiledLaw],
    settings: LawFactSettings,
    earlier: DataFrame,
    run_id: str,
    compute_at: dt.date,
    policies: tuple[Mapping[str, Policy], Policy] | None,
    supervised_release: DataFrame | None = None,
) -> DataFrame:
    """The county rows of a run with statewide laws (module docstring). ``policies``: the
    county policies and the default (None: the run does not decide Prop 64)."""
    facts = with_law_facts(history, settings, supervised_release)
    rows = fan_out_with_laws(facts, [law.law for law in compiled])
    if policies is not None:
        rows = apply_policies(rows, policies[0], policies[1], compute_at)
    for law in compiled:
        rows = with_grants(apply_law(rows, law), law.law, earlier, run_id)
    return rows
