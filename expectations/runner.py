"""Run the Great Expectations suites of expectations/ on Spark DataFrames.

A suite file (``expectations/<name>.json``) is a GX 1.x expectation suite as JSON, reviewed
like code. Every expectation carries in its ``meta``:

- ``name``: a stable short name (``raw_cnt_order_12_digits``) used in messages and tests;
- ``severity``: ``critical`` (a failure stops the run before any county table is committed)
  or ``warning`` (reported and recorded with the run). The runner also sets GX's own
  ``severity`` field from it, so GX tooling sees the same severity. Only what decides a
  determination is critical;
- ``checks`` (optional): ``data`` (the default: a property of the extract) or ``invariant``
  (a guarantee of relief's own code that no input can break: a failure is a bug). A
  critical row expectation on the data must hold for a share of rows, ``kwargs.mostly``
  below 1: one bad value in a statewide extract never stops the state's run (DOMAIN.md
  §1; the suite file is rejected otherwise). Invariants and table-level expectations (the
  column set) need no share;
- ``offending`` (optional): a Spark SQL predicate selecting the rows to name in a failure
  message. Without it the runner derives the predicate from the expectation (null where
  not-null was expected, a value outside the set or not matching the regex, duplicates) and
  its ``row_condition``.

Values that the pipeline defines elsewhere (the column vocabulary, the 58 counties, the five
determinations) are GX suite parameters (``{"$PARAMETER": "county_names"}``) filled by
:func:`default_parameters`, so they are written down once.

How a suite runs, and why (GX on Spark runs its own Spark jobs per metric domain):

1. Schema expectations (column set, no PII column) run on the DataFrame as given: GX only
   reads its schema, so no Spark job runs and nothing is recomputed.
2. Row expectations run on a projection of only the columns they need (plus the id column),
   cached once and released afterwards. GX bundles every aggregate of one row condition into
   one Spark job, and ``partial_unexpected_count`` 0 keeps GX from running one extra job per
   expectation to sample values: offending record_ids are fetched only for failures, with a
   small ``where(...).limit(5)`` on the cached projection.
3. The two GX results are merged into one suite result, kept as GX JSON for the record and
   for Data Docs.
"""

from __future__ import annotations

import json
import logging
import re
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, ClassVar

import great_expectations as gx
from great_expectations.core import ExpectationSuite, ExpectationSuiteValidationResult
from great_expectations.core.expectation_validation_result import ExpectationValidationResult
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from great_expectations.expectations.registry import get_expectation_impl
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from relief.transforms.columns import (
    INPUT_INDEX,
    KEPT_DOJ_COLUMNS,
    PII_COLUMNS,
    RECORD_ID,
    SOURCE_FILE,
    SOURCE_LINE,
)
from relief.transforms.policy import Determination

# A Traversable, not a Path: under spark-submit the package is read from the --py-files zip.
SUITES_DIR: Traversable = files(__package__ or "relief.expectations")
SUITE_NAMES: tuple[str, ...] = ("raw", "normalized", "annotated")

CRITICAL = "critical"
WARNING = "warning"
SEVERITIES: tuple[str, ...] = (CRITICAL, WARNING)
DATA = "data"
INVARIANT = "invariant"
CHECKS: tuple[str, ...] = (DATA, INVARIANT)

PASSED = "passed"
WARNED = "warned"
FAILED = "failed"

OFFENDING_SAMPLE = 5  # record_ids named in a failure message

# GX reads only the DataFrame's schema for these: they run on the DataFrame as given.
SCHEMA_EXPECTATIONS = frozenset(
    {
        "expect_table_columns_to_match_set",
        "expect_table_columns_to_match_ordered_list",
        "expect_table_column_count_to_equal",
        "expect_table_column_count_to_be_between",
        "expect_column_to_exist",
        "expect_table_columns_to_exclude_set",
    }
)
# Aggregates only; no per-expectation sample of values (offending ids come from our query).
RESULT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 0}

_DUPLICATES = "_relief_duplicates"

logger = logging.getLogger(__name__)


class SuiteError(ValueError):
    """A suite file is missing or malformed; the message names the file and expectation."""


# --- a custom expectation: columns that must not exist ------------------------------------


class ExpectTableColumnsToExcludeSet(BatchExpectation):
    """Expect none of the given columns in the table (compared case-insensitively).

    GX has expectations for columns that must exist, none for columns that must not: the
    county tables must never hold SSN or driver's licence columns (DOMAIN.md §1). Spark
    resolves column names case-insensitively by default, so ``pri_ssn`` counts as PRI_SSN.
    """

    column_set: list[str] | dict[str, Any]

    metric_dependencies: ClassVar[tuple[str, ...]] = ("table.columns",)
    success_keys: ClassVar[tuple[str, ...]] = ("column_set",)
    args_keys: ClassVar[tuple[str, ...]] = ("column_set",)

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any] | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        forbidden = {str(c).lower() for c in self.configuration.kwargs.get("column_set") or []}
        present = sorted(str(c) for c in metrics["table.columns"] if str(c).lower() in forbidden)
        return {"success": not present, "result": {"observed_value": present}}


EXCLUDE_SET = "expect_table_columns_to_exclude_set"
assert ExpectTableColumnsToExcludeSet.expectation_type == EXCLUDE_SET


# --- suite files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation of a suite file."""

    index: int
    type: str
    kwargs: Mapping[str, Any]
    meta: Mapping[str, Any]
    description: str

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def severity(self) -> str:
        return str(self.meta["severity"])

    @property
    def checks(self) -> str:
        """``data`` (a property of the extract) or ``invariant`` (of relief's own output)."""
        return str(self.meta.get("checks", DATA))

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the expectation is about (empty for table-level expectations)."""
        if "column" in self.kwargs:
            return (str(self.kwargs["column"]),)
        if "column_list" in self.kwargs:
            return tuple(str(c) for c in self.kwargs["column_list"])
        return tuple(str(self.kwargs[k]) for k in ("column_A", "column_B") if k in self.kwargs)

    @property
    def row_condition(self) -> str | None:
        """The Spark SQL filter of a pass-through row condition, if any."""
        condition = self.kwargs.get("row_condition")
        if condition is None:
            return None
        if isinstance(condition, Mapping):
            return str(condition["pass_through_filter"])
        return str(condition)

    @property
    def offending(self) -> str | None:
        value = self.meta.get("offending")
        return None if value is None else str(value)

    @property
    def is_schema(self) -> bool:
        return self.type in SCHEMA_EXPECTATIONS

    def configuration(self) -> ExpectationConfiguration:
        return ExpectationConfiguration(
            type=self.type,
            kwargs=dict(self.kwargs),
            meta=dict(self.meta),
            # Data Docs show the description in place of GX's wording: say the severity too.
            description=f"{self.description} [{self.severity}]",
            severity=self.severity,  # type: ignore[arg-type]  # GX coerces the string
        )


@dataclass(frozen=True)
class SuiteSpec:
    """A suite file, checked: every expectation known to GX, named and given a severity."""

    name: str
    path: Traversable
    expectations: tuple[ExpectationSpec, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def parameter_names(self) -> set[str]:
        names: set[str] = set()
        for spec in self.expectations:
            names.update(_parameter_names(spec.kwargs))
        return names

    def gx_suite(self, expectations: Iterable[ExpectationSpec] | None = None) -> ExpectationSuite:
        suite = ExpectationSuite(name=self.name, meta=dict(self.meta))
        for spec in self.expectations if expectations is None else expectations:
            suite.add_expectation_configuration(spec.configuration())
        return suite


def _parameter_names(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        if "$PARAMETER" in value:
            return {str(value["$PARAMETER"])}
        return set().union(*(_parameter_names(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_parameter_names(v) for v in value))
    return set()


def suite_path(name: str, directory: Path | None = None) -> Traversable:
    return (directory or SUITES_DIR) / f"{name}.json"


def load_suite(name: str, directory: Path | None = None) -> SuiteSpec:
    """Read and check ``expectations/<name>.json``; raise SuiteError naming what is wrong."""
    path = suite_path(name, directory)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SuiteError(f"{path}: suite file not found") from exc
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteError(f"{path}: expected an object with an 'expectations' list")
    if data.get("name") != name:
        raise SuiteError(f"{path}: 'name' is {data.get('name')!r}, expected {name!r}")
    specs: list[ExpectationSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(data["expectations"]):
        where = f"{path}: expectations[{index}]"
        if not isinstance(item, dict):
            raise SuiteError(f"{where}: expected an object")
        kind, kwargs, meta = item.get("type"), item.get("kwargs"), item.get("meta")
        if not isinstance(kind, str) or not isinstance(kwargs, dict) or not isinstance(meta, dict):
            raise SuiteError(f"{where}: needs 'type' (text), 'kwargs' and 'meta' (objects)")
        try:
            get_expectation_impl(kind)
        except Exception as exc:  # GX raises its own error types for unknown names
            raise SuiteError(f"{where}: {kind!r} is not a Great Expectations expectation") from exc
        severity = meta.get("severity")
        if severity not in SEVERITIES:
            raise SuiteError(
                f"{where} ({kind}): meta.severity is {severity!r}; "
                f"use one of {', '.join(SEVERITIES)}"
            )
        short = meta.get("name")
        if not isinstance(short, str) or not short:
            raise SuiteError(f"{where} ({kind}): meta.name (a short stable name) is missing")
        checks = meta.get("checks", DATA)
        if checks not in CHECKS:
            raise SuiteError(
                f"{where} ({short}): meta.checks is {checks!r}; use one of {', '.join(CHECKS)}"
            )
        mostly = kwargs.get("mostly")
        if (
            severity == CRITICAL
            and checks == DATA
            and kind not in SCHEMA_EXPECTATIONS
            and not (isinstance(mostly, int | float) and 0 < mostly < 1)
        ):
            raise SuiteError(
                f"{where} ({short}): a critical expectation on the data needs a threshold, "
                "kwargs.mostly between 0 and 1 (one bad value must not stop the state's run); "
                "make it a warning, or meta.checks 'invariant' if no input can break it"
            )
        if short in seen:
            raise SuiteError(f"{where}: meta.name {short!r} is used twice")
        seen.add(short)
        description = item.get("description") or short
        specs.append(ExpectationSpec(index, kind, kwargs, meta, str(description)))
        try:
            specs[-1].configuration().to_domain_obj()
        except Exception as exc:
            raise SuiteError(f"{where} ({kind}): invalid arguments: {exc}") from exc
    return SuiteSpec(name, path, tuple(specs), data.get("meta") or {})


def default_parameters(names: Iterable[str] | None = None) -> dict[str, Any]:
    """Suite parameter values from the pipeline's own vocabulary (columns.py, conf/)."""
    wanted = set(names) if names is not None else None

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    values: dict[str, Any] = {}
    if want("raw_columns"):
        values["raw_columns"] = [
            *KEPT_DOJ_COLUMNS,
            RECORD_ID,
            SOURCE_FILE,
            SOURCE_LINE,
            INPUT_INDEX,
        ]
    if want("pii_columns"):
        values["pii_columns"] = list(PII_COLUMNS)
    if want("determinations"):
        values["determinations"] = [d.value for d in Determination]
    if want("county_names") or want("county_slugs"):
        from relief.jobs.config import load_counties  # conf/ is read only when a suite needs it

        counties = load_counties().counties
        if want("county_names"):
            values["county_names"] = [c.name for c in counties]
        if want("county_slugs"):
            values["county_slugs"] = [c.slug for c in counties]
    return values


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectationOutcome:
    """What one expectation found, in the words a person reads."""

    suite: str
    name: str
    type: str
    description: str
    columns: tuple[str, ...]
    severity: str
    success: bool
    observed: str  # e.g. "3 of 1,000 rows (0.30%) unexpected"
    observed_value: Any  # the number or list GX observed (JSON-able)
    offending_ids: tuple[str, ...] = ()
    exception: str | None = None

    @property
    def status(self) -> str:
        if self.success:
            return PASSED
        return FAILED if self.severity == CRITICAL else WARNED

    def message(self) -> str:
        """``raw: raw_cnt_order_12_digits failed (critical): expected "…" (type on CNT_ORDER);
        observed 3 of 1,000 rows unexpected (0.30%); offending record_ids: …``."""
        target = f" on {', '.join(self.columns)}" if self.columns else ""
        verdict = (
            "failed" if self.status == FAILED else "warned" if self.status == WARNED else "passed"
        )
        text = (
            f"{self.suite}: {self.name} {verdict} ({self.severity}): expected "
            f'"{self.description}" ({self.type}{target}); observed {self.observed}'
        )
        if self.offending_ids:
            text += f"; offending record_ids: {', '.join(self.offending_ids)}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "columns": list(self.columns),
            "severity": self.severity,
            "status": self.status,
            "success": self.success,
            "observed": self.observed,
            "observed_value": self.observed_value,
            "offending_record_ids": list(self.offending_ids),
            "exception": self.exception,
        }


@dataclass
class SuiteResult:
    """A suite's outcomes, its GX result and what validating cost."""

    suite: str
    outcomes: list[ExpectationOutcome]
    gx_result: ExpectationSuiteValidationResult
    gx_suite: ExpectationSuite
    rows: int | None
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)  # projection, schema, gx, offending

    @property
    def success(self) -> bool:
        """True when no critical expectation failed (warnings do not stop a run)."""
        return not self.critical_failures()

    def passed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.status == PASSED]

    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.status == WARNED]

    def critical_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    def counts(self) -> dict[str, int]:
        return {
            PASSED: len(self.passed()),
            WARNED: len(self.warnings()),
            FAILED: len(self.critical_failures()),
        }

    def summary_line(self) -> str:
        """``raw 8/8 passed`` or ``normalized 6 passed, 1 warned`` (…, ``1 failed``)."""
        counts = self.counts()
        if counts[PASSED] == len(self.outcomes):
            return f"{self.suite} {counts[PASSED]}/{len(self.outcomes)} passed"
        parts = [f"{counts[PASSED]} passed"]
        parts += [f"{counts[k]} {k}" for k in (WARNED, FAILED) if counts[k]]
        return f"{self.suite} {', '.join(parts)}"

    def message(self) -> str:
        """Every warning and failure of the suite, one line each ('' when all passed)."""
        return "\n".join(o.message() for o in self.outcomes if not o.success)

    def gx_json(self) -> dict[str, Any]:
        return self.gx_result.to_json_dict()

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "summary": self.summary_line(),
            "success": self.success,
            "counts": self.counts(),
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "expectations": [o.to_json() for o in self.outcomes],
            "gx_result": self.gx_json(),
        }


def summarize(results: Sequence[SuiteResult]) -> str:
    """One line for the runs table and commit metadata: ``raw 8/8 passed; normalized …``."""
    return "; ".join(r.summary_line() for r in results)


def totals(results: Sequence[SuiteResult]) -> dict[str, int]:
    """Expectations passed / warned / failed over several suites."""
    total = {PASSED: 0, WARNED: 0, FAILED: 0}
    for result in results:
        for key, value in result.counts().items():
            total[key] += value
    return total


def critical_failure_message(results: Sequence[SuiteResult]) -> str | None:
    """Message for people when a critical expectation failed, else None."""
    failures = [o for r in results for o in r.critical_failures()]
    if not failures:
        return None
    lines = [
        f"validation failed: {len(failures)} critical expectation(s) did not hold "
        "(a run stops here, before any county table is committed)"
    ]
    lines += [f"  {o.message()}" for o in failures]
    return "\n".join(lines)


# --- running a suite -------------------------------------------------------------------------


def _context() -> Any:
    """A fresh ephemeral GX context: nothing is written to disk, no progress bars."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


_IDENTIFIER = re.compile(r"`([^`]+)`|\b([A-Za-z_][A-Za-z0-9_]*)\b")


def _referenced_columns(sql: str | None, available: Sequence[str]) -> list[str]:
    """Columns of ``available`` named in a Spark SQL text (identifiers, quoted or not)."""
    if not sql:
        return []
    names = {quoted or bare for quoted, bare in _IDENTIFIER.findall(sql)}
    return [c for c in available if c in names]


def _needed_columns(specs: Sequence[ExpectationSpec], df: DataFrame, id_column: str) -> list[str]:
    available = df.columns
    wanted: list[str] = [id_column] if id_column in available else []
    for spec in specs:
        for name in (
            *spec.columns,
            *_referenced_columns(spec.row_condition, available),
            *_referenced_columns(spec.offending, available),
        ):
            if name in available and name not in wanted:
                wanted.append(name)
    return wanted


def _resolve(value: Any, parameters: Mapping[str, Any]) -> Any:
    if isinstance(value, Mapping) and "$PARAMETER" in value:
        return parameters[str(value["$PARAMETER"])]
    return value


def offending_condition(spec: ExpectationSpec, parameters: Mapping[str, Any]) -> Column | None:
    """Rows that break the expectation (under its row condition), or None for table-level ones.

    ``meta.offending`` wins when given. Duplicates need a window count, so compound and
    single-column uniqueness add a helper column to ``df`` first (see _with_duplicates).
    """
    if spec.offending is not None:
        return F.expr(spec.offending)
    kwargs = {k: _resolve(v, parameters) for k, v in spec.kwargs.items()}
    column = F.col(str(kwargs["column"])) if "column" in kwargs else None
    condition: Column | None
    if spec.type == "expect_column_values_to_not_be_null" and column is not None:
        condition = column.isNull()
    elif spec.type == "expect_column_values_to_be_null" and column is not None:
        condition = column.isNotNull()
    elif spec.type == "expect_column_values_to_match_regex" and column is not None:
        condition = column.isNotNull() & ~column.rlike(str(kwargs["regex"]))
    elif spec.type == "expect_column_values_to_not_match_regex" and column is not None:
        condition = column.isNotNull() & column.rlike(str(kwargs["regex"]))
    elif spec.type == "expect_column_values_to_be_in_set" and column is not None:
        condition = column.isNotNull() & ~column.isin(list(kwargs["value_set"]))
    elif spec.type == "expect_column_values_to_not_be_in_set" and column is not None:
        condition = column.isin(list(kwargs["value_set"]))
    elif spec.type in ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"):
        condition = F.col(_DUPLICATES) > 1
    else:
        return None
    if spec.row_condition:
        condition = F.expr(spec.row_condition) & condition
    return condition


def _with_duplicates(df: DataFrame, spec: ExpectationSpec) -> DataFrame:
    columns = [F.col(c) for c in spec.columns]
    # GX ignores rows whose key columns are all null; so do we.
    any_present = reduce(lambda a, b: a | b, [c.isNotNull() for c in columns])
    counted = df.where(any_present)
    if spec.row_condition:
        counted = counted.where(F.expr(spec.row_condition))
    return counted.withColumn(_DUPLICATES, F.count(F.lit(1)).over(Window.partitionBy(*columns)))


def _offending_ids(
    df: DataFrame, spec: ExpectationSpec, parameters: Mapping[str, Any], id_column: str
) -> tuple[str, ...]:
    if id_column not in df.columns:
        return ()
    source = df
    if spec.offending is None and spec.type in (
        "expect_compound_columns_to_be_unique",
        "expect_column_values_to_be_unique",
    ):
        source = _with_duplicates(df, spec)
    condition = offending_condition(spec, parameters)
    if condition is None:
        return ()
    try:
        rows = (
            source.where(condition)
            .select(F.col(id_column).cast("string"))
            .orderBy(id_column)
            .limit(OFFENDING_SAMPLE)
            .collect()
        )
    except Exception as exc:  # a broken predicate must not hide the failure itself
        logger.warning("could not list offending rows of %s: %s", spec.name, exc)
        return ()
    return tuple(str(r[0]) for r in rows)


def _fmt_count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _observed(spec: ExpectationSpec, result: Mapping[str, Any]) -> tuple[str, Any]:
    """(text for people, raw value) of what GX observed."""
    if "unexpected_count" in result:
        unexpected = result.get("unexpected_count")
        total = result.get("element_count")
        if spec.row_condition:
            total_text = f"{_fmt_count(total)} rows where {spec.row_condition}"
        else:
            total_text = f"{_fmt_count(total)} rows"
        missing = result.get("missing_count")
        checked = total - missing if isinstance(total, int) and isinstance(missing, int) else None
        # GX's unexpected_percent is of the non-null values (null ones are not checked).
        percent = result.get("unexpected_percent")
        share = f" ({percent:.2f}%)" if isinstance(percent, float | int) else ""
        nullable = spec.type in (
            "expect_column_values_to_not_be_null",
            "expect_column_values_to_be_null",
        )
        if checked is not None and checked != total and not nullable:
            text = (
                f"{_fmt_count(unexpected)} of {_fmt_count(checked)} non-null values "
                f"({total_text}) unexpected{share}"
            )
        else:
            text = f"{_fmt_count(unexpected)} of {total_text} unexpected{share}"
        mostly = spec.kwargs.get("mostly")
        if mostly is not None:
            text += f"; at least {float(mostly):.0%} must pass"
        rounded = round(percent, 4) if isinstance(percent, float | int) else percent
        return text, {"unexpected_count": unexpected, "element_count": total, "percent": rounded}
    observed = result.get("observed_value")
    details = result.get("details") or {}
    mismatched = details.get("mismatched") if isinstance(details, Mapping) else None
    if isinstance(mismatched, Mapping):
        labels = {"unexpected": "extra", "missing": "missing"}
        parts = [
            f"{labels.get(key, key)} columns {', '.join(values)}"
            for key, values in mismatched.items()
        ]
        return "; ".join(parts), dict(mismatched)
    if spec.type == "expect_table_columns_to_match_set" and isinstance(observed, list):
        return f"the {len(observed)} expected columns", observed
    if spec.type == EXCLUDE_SET:
        present = ", ".join(observed or []) or "none"
        return f"forbidden columns present: {present}", observed
    return str(observed), observed


def _exception_message(result: ExpectationValidationResult) -> str | None:
    """GX's error when the expectation could not be evaluated (e.g. a missing column).

    GX reports it either directly or per metric that failed (keyed by metric id).
    """
    info = result.exception_info or {}
    if not isinstance(info, Mapping):
        return None
    candidates = [info, *(v for v in info.values() if isinstance(v, Mapping))]
    for item in candidates:
        if item.get("raised_exception"):
            message = str(item.get("exception_message") or "GX raised an exception")
            return message.split("\n", 1)[0]
    return None


def _outcome(
    suite: str,
    spec: ExpectationSpec,
    result: ExpectationValidationResult,
    offending: tuple[str, ...],
) -> ExpectationOutcome:
    exception = _exception_message(result)
    if exception is not None:
        observed_text, observed_value = f"could not be evaluated: {exception}", None
    else:
        observed_text, observed_value = _observed(spec, result.result or {})
    return ExpectationOutcome(
        suite=suite,
        name=spec.name,
        type=spec.type,
        description=spec.description,
        columns=spec.columns,
        severity=spec.severity,
        success=bool(result.success),
        observed=observed_text,
        observed_value=observed_value,
        offending_ids=offending,
        exception=exception,
    )


def _run_gx(
    context: Any,
    suite_name: str,
    label: str,
    df: DataFrame,
    suite: ExpectationSuite,
    parameters: Mapping[str, Any],
) -> ExpectationSuiteValidationResult:
    # persist=False: GX would otherwise persist the DataFrame and never release it; the
    # runner caches only the projection it hands to GX and unpersists it itself.
    datasource = context.data_sources.add_spark(f"relief-{suite_name}-{label}", persist=False)
    batch_definition = datasource.add_dataframe_asset(
        suite_name
    ).add_batch_definition_whole_dataframe(label)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    with warnings.catch_warnings():
        # pass-through (Spark SQL) row conditions are GX's documented legacy form
        warnings.simplefilter("ignore", DeprecationWarning)
        return batch.validate(
            suite, result_format=RESULT_FORMAT, expectation_parameters=dict(parameters)
        )


def _merge(
    spec: SuiteSpec,
    parts: list[ExpectationSuiteValidationResult],
    meta_extra: Mapping[str, Any],
) -> tuple[ExpectationSuiteValidationResult, list[ExpectationValidationResult]]:
    """One GX suite result in suite-file order, from the schema and row parts."""
    by_name: dict[str, ExpectationValidationResult] = {}
    for part in parts:
        for result in part.results:
            config = result.expectation_config
            name = (config.meta or {}).get("name") if config is not None else None
            by_name[str(name)] = result
    ordered = [by_name[e.name] for e in spec.expectations]
    successful = sum(1 for r in ordered if r.success)
    meta: dict[str, Any] = dict(parts[-1].meta or {}) if parts else {}
    meta["relief"] = dict(meta_extra)
    merged = ExpectationSuiteValidationResult(
        success=successful == len(ordered),
        results=ordered,
        suite_name=spec.name,
        statistics={
            "evaluated_expectations": len(ordered),
            "successful_expectations": successful,
            "unsuccessful_expectations": len(ordered) - successful,
            "success_percent": 100.0 * successful / len(ordered) if ordered else None,
        },
        meta=meta,
        batch_id=parts[-1].batch_id if parts else None,
    )
    return merged, ordered


def validate(
    df: DataFrame,
    suite_name: str,
    id_column: str = RECORD_ID,
    *,
    parameters: Mapping[str, Any] | None = None,
    suites_dir: Path | None = None,
) -> SuiteResult:
    """Run suite ``suite_name`` on ``df``; never raises for failed expectations.

    ``parameters`` overrides suite parameter values (default: :func:`default_parameters`).
    """
    return validate_together(
        df, [suite_name], id_column, parameters=parameters, suites_dir=suites_dir
    )[0]


def validate_together(
    df: DataFrame,
    suite_names: Sequence[str],
    id_column: str = RECORD_ID,
    *,
    schemas: Mapping[str, DataFrame] | None = None,
    parameters: Mapping[str, Any] | None = None,
    suites_dir: Path | None = None,
) -> list[SuiteResult]:
    """Run several suites over ONE cached projection of ``df`` (one pass over the input).

    The row expectations of every suite read the same projection; a suite's schema
    expectations read ``schemas[name]`` when given (e.g. the raw suite's column set is
    checked on the ingest output while its rows are read from the normalized DataFrame,
    which keeps every raw column unchanged), else ``df``.

    Each result's ``seconds`` is its own GX and offending-row time plus an equal share of
    building the projection, so the seconds of all results add up to the wall time.
    """
    specs = [load_suite(name, suites_dir) for name in suite_names]
    wanted: set[str] = set().union(*(spec.parameter_names() for spec in specs))
    values = default_parameters(wanted - set(parameters or {}))
    values.update(parameters or {})
    context = _context()
    row_specs = [e for spec in specs for e in spec.expectations if not e.is_schema]
    timings: list[dict[str, float]] = [{} for _ in specs]
    parts: list[list[ExpectationSuiteValidationResult]] = [[] for _ in specs]
    offending: list[dict[str, tuple[str, ...]]] = [{} for _ in specs]
    gx_suites = [context.suites.add(spec.gx_suite()) for spec in specs]
    for i, spec in enumerate(specs):
        schema_specs = [e for e in spec.expectations if e.is_schema]
        if schema_specs:
            started = time.perf_counter()
            schema_df = (schemas or {}).get(spec.name, df)
            gx_suite = spec.gx_suite(schema_specs)
            parts[i].append(_run_gx(context, spec.name, "schema", schema_df, gx_suite, values))
            timings[i]["schema"] = time.perf_counter() - started
    rows: int | None = None
    if row_specs:
        started = time.perf_counter()
        projection = df.select(*_needed_columns(row_specs, df, id_column)).cache()
        try:
            rows = projection.count()
            share = (time.perf_counter() - started) / len(specs)
            for i, spec in enumerate(specs):
                timings[i]["projection"] = share
                mine = [e for e in spec.expectations if not e.is_schema]
                if not mine:
                    continue
                started = time.perf_counter()
                result = _run_gx(
                    context, spec.name, "rows", projection, spec.gx_suite(mine), values
                )
                parts[i].append(result)
                timings[i]["gx"] = time.perf_counter() - started
                started = time.perf_counter()
                failed = {
                    str((r.expectation_config.meta or {}).get("name"))
                    for r in result.results
                    if not r.success
                    and r.expectation_config is not None
                    and _exception_message(r) is None
                }
                for row_spec in mine:
                    if row_spec.name in failed:
                        offending[i][row_spec.name] = _offending_ids(
                            projection, row_spec, values, id_column
                        )
                timings[i]["offending"] = time.perf_counter() - started
        finally:
            projection.unpersist()
    results: list[SuiteResult] = []
    for i, spec in enumerate(specs):
        seconds = sum(timings[i].values())
        extra = {
            "rows": rows,
            "seconds": round(seconds, 3),
            "timings": {k: round(v, 3) for k, v in timings[i].items()},
        }
        merged, ordered = _merge(spec, parts[i], extra)
        outcomes = [
            _outcome(spec.name, e, r, offending[i].get(e.name, ()))
            for e, r in zip(spec.expectations, ordered, strict=True)
        ]
        results.append(
            SuiteResult(spec.name, outcomes, merged, gx_suites[i], rows, seconds, timings[i])
        )
    return results


__all__ = [
    "CHECKS",
    "CRITICAL",
    "DATA",
    "INVARIANT",
    "SUITE_NAMES",
    "WARNING",
    "ExpectationOutcome",
    "ExpectationSpec",
    "SuiteError",
    "SuiteResult",
    "SuiteSpec",
    "critical_failure_message",
    "default_parameters",
    "load_suite",
    "offending_condition",
    "summarize",
    "totals",
    "validate",
    "validate_together",
]
