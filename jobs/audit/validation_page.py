"""A run's validation page for people: ``<warehouse>/validation/<run_id>/index.html``.

Every expectation of every suite, its result, the observed value, the threshold it is held
to (``mostly``, bounds, sets) and the record_ids that broke it, self-contained (no script, no
network), rendered from templates/validation.html. The storage layer
(jobs/warehouse/validation.py) writes it beside ``results.json`` and GX's own results:
:func:`render` is the page it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from relief.jobs.audit.pages import render as render_template
from relief.jobs.warehouse.validation import RESULTS_FILE, gx_result_file
from relief.transforms.columns import RUN_ID

if TYPE_CHECKING:  # like the rest of jobs/audit, this page imports nothing from pyspark
    from relief.expectations.runner import ExpectationOutcome, SuiteResult

TEMPLATE = "validation.html"


def _configs(result: SuiteResult) -> dict[str, Mapping[str, Any]]:
    """Each expectation's kwargs as GX ran them (parameters filled in), by meta.name."""
    out: dict[str, Mapping[str, Any]] = {}
    for item in result.gx_json().get("results") or []:
        config = item.get("expectation_config") or {}
        name = (config.get("meta") or {}).get("name")
        if name:
            out[str(name)] = config.get("kwargs") or {}
    return out


def _short(value: Any, limit: int = 8) -> str:
    if isinstance(value, list | tuple):
        shown = ", ".join(str(v) for v in value[:limit])
        more = f", … ({len(value)} in all)" if len(value) > limit else ""
        return f"[{shown}{more}]"
    return str(value)


_BOUNDS = (
    ("min_value", "at least"),
    ("max_value", "at most"),
    ("value", "equal to"),
    ("regex", "matching"),
    ("regex_list", "matching one of"),
    ("value_set", "one of"),
    ("column_set", "columns"),
    ("column_list", "columns"),
    ("type_", "of type"),
    ("row_condition", "where"),
)


def threshold(kwargs: Mapping[str, Any], is_row_check: bool) -> str:
    """What an expectation holds the data to: ``98% of rows; one of [...]``."""
    parts: list[str] = []
    mostly = kwargs.get("mostly")
    if isinstance(mostly, int | float) and mostly < 1:
        parts.append(f"at least {mostly * 100:g}% of rows")
    elif is_row_check:
        parts.append("every row")
    for key, word in _BOUNDS:
        value = kwargs.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, Mapping):
            value = value.get("pass_through_filter", value)
        parts.append(f"{word} {_short(value)}")
    return "; ".join(parts) or "-"


@dataclass(frozen=True)
class ExpectationRow:
    """One expectation's line in its suite's table."""

    name: str
    status: str
    severity: str
    description: str
    type: str
    columns: str  # "" for a check on the table, not on columns
    threshold: str
    observed: str
    offending_ids: str

    @classmethod
    def of(cls, outcome: ExpectationOutcome, kwargs: Mapping[str, Any]) -> ExpectationRow:
        return cls(
            name=outcome.name,
            status=outcome.status,
            severity=outcome.severity,
            description=outcome.description,
            type=outcome.type,
            columns=", ".join(outcome.columns),
            threshold=threshold(kwargs, bool(outcome.columns)),
            observed=outcome.observed,
            offending_ids=", ".join(outcome.offending_ids),
        )


@dataclass(frozen=True)
class SuiteSection:
    """One suite's heading, size, time, GX result file and table of expectations."""

    name: str
    summary: str
    size: str
    seconds: str
    gx_link: str
    expectations: list[ExpectationRow]

    @classmethod
    def of(cls, result: SuiteResult) -> SuiteSection:
        configs = _configs(result)
        return cls(
            name=result.suite,
            summary=result.summary_line(),
            size=f"{result.rows:,} rows" if result.rows is not None else "schema only",
            seconds=f"{result.seconds:.1f}",
            gx_link=gx_result_file(result.suite),
            expectations=[ExpectationRow.of(o, configs.get(o.name, {})) for o in result.outcomes],
        )


def render(results: Sequence[SuiteResult], payload: Mapping[str, Any]) -> str:
    """The page of ``results``; ``payload`` is what results.json holds (its run id, time,
    summary and totals, so the page and the file say the same)."""
    count = payload["totals"]  # passed, warned, failed (relief.expectations.runner.totals)
    return render_template(
        TEMPLATE,
        run_id=payload[RUN_ID],
        summary=payload["summary"],
        totals=(
            ", ".join(f"{number} {status}" for status, number in count.items())
            + f" in {payload['seconds']:.1f} s"
        ),
        verdict=(
            "No critical expectation failed."
            if payload["success"]
            else "A critical expectation failed: a run stops here, before committing any "
            "county table."
        ),
        written_at=payload["written_at"],
        results_file=RESULTS_FILE,
        suites=[SuiteSection.of(r) for r in results],
    )


__all__ = ["render", "threshold"]
