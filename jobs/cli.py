"""`relief`: the command line. Exit codes: 0 ok, 1 run failed, 2 bad usage or configuration."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from relief.jobs.runtime.progress import Progress, fmt_count, is_verbose, set_verbose

app = typer.Typer(
    name="relief",
    help="Statewide Prop 64 record clearance: DOJ extract -> one Delta table per county.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"relief: {message}", err=True)
    return typer.Exit(code)


# What `pip install 'relief[job]'` adds to the county install (pyproject.toml).
JOB_EXTRA = "pip install 'relief[job]'"


def _require_extra(command: str, modules: tuple[str, ...]) -> None:
    """Exit 2 naming the extra to install when ``command`` needs what the base lacks."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise _fail(
            f"`relief {command}` needs the statewide job's dependencies ({', '.join(missing)} "
            f"not installed); the base install only pulls, packets and audits: {JOB_EXTRA}",
            2,
        )


_SPARK_JOB = ("pyspark", "great_expectations")


@app.callback()
def _options(
    conf_dir: Annotated[
        Path | None,
        typer.Option(
            "--conf-dir",
            help="configuration folder (default: $RELIEF_CONF, else the conf/ shipped with relief)",
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="show Spark's and Great Expectations' own log lines too"
        ),
    ] = False,
) -> None:
    """Statewide Prop 64 record clearance: DOJ extract -> one Delta table per county."""
    set_verbose(verbose)
    if conf_dir is not None:
        from relief.jobs.config import ConfigError, use_conf_dir

        try:
            use_conf_dir(conf_dir)
        except ConfigError as exc:
            raise _fail(str(exc), 2) from None


def _parse_date(value: str | None, option: str) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option}: {value!r} is not a date in the form YYYY-MM-DD", 2) from None


def _split(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _parse_conf(pairs: list[str] | None) -> dict[str, str]:
    conf: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise _fail(f"--conf: {pair!r} is not key=value", 2)
        conf[key.strip()] = value.strip()
    return conf


@app.command()
def generate(
    rows: Annotated[int, typer.Option(help="data lines to write", min=1)],
    out: Annotated[Path, typer.Option(help="output file; .gz is gzipped")],
    seed: Annotated[int, typer.Option(help="same seed, same file")] = 1,
    counties: Annotated[
        str | None, typer.Option(help="comma list: Prop 64 events only in these counties")
    ] = None,
    trailing_empty_field: Annotated[
        bool, typer.Option(help="end every line with an extra empty field (96 fields)")
    ] = False,
    disp_date_placeholder: Annotated[
        float | None,
        typer.Option(
            help="share of steps (0-1) with the placeholder '  -  ' in DISP_DATE; 1 = every "
            "line, as the reference tool's generator writes it (default 0.03)",
            min=0.0,
            max=1.0,
        ),
    ] = None,
    bad_lines: Annotated[
        int,
        typer.Option(
            help="also plant this many malformed lines (wrong field count, bad quoting, "
            "invalid UTF-8, blank SUBJECT_ID) at positions from --seed, for the quarantine",
            min=0,
        ),
    ] = 0,
    county_shaped: Annotated[
        str | None,
        typer.Option(
            "--county-shaped",
            help="the file DOJ sends one county: every subject has a Prop 64 conviction in "
            "this county, with their whole statewide history",
        ),
    ] = None,
) -> None:
    """Write a fabricated statewide DOJ extract (95 columns, docs/DOMAIN.md §1)."""
    from relief.jobs.config import ConfigError
    from relief.jobs.synthetic.generate import DISP_DATE_PLACEHOLDER_SHARE, generate_extract

    if bad_lines > rows:
        raise _fail(
            f"--bad-lines {bad_lines}: more than --rows {rows} (each bad line is a broken copy "
            "of a data line)",
            2,
        )
    progress = Progress()
    try:
        with progress.stage("generate", f"Generating {rows:,} rows into {out}"):
            stats = generate_extract(
                out,
                rows=rows,
                seed=seed,
                counties=_split(counties),
                trailing_empty_field=trailing_empty_field,
                disp_date_placeholder=(
                    DISP_DATE_PLACEHOLDER_SHARE
                    if disp_date_placeholder is None
                    else disp_date_placeholder
                ),
                county_shaped=county_shaped,
            )
        if bad_lines:
            from relief.jobs.synthetic.bad_lines import plant_bad_lines

            planted = plant_bad_lines(out, bad_lines, seed)
    except (ConfigError, ValueError) as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(f"wrote {out}: {stats}")
    if bad_lines:
        kinds = sorted(set(planted.values()))
        counts = ", ".join(f"{list(planted.values()).count(k)} {k}" for k in kinds)
        typer.echo(f"planted {len(planted)} bad line(s) for the quarantine: {counts}")


@app.command()
def run(
    input: Annotated[str, typer.Option("--input", help="extract file(s): comma list or glob")],
    warehouse: Annotated[Path, typer.Option(help="warehouse directory (created if missing)")],
    compute_at: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD at which ages are measured; default today")
    ] = None,
    counties: Annotated[str | None, typer.Option(help="comma list of counties to write")] = None,
    master: Annotated[str | None, typer.Option(help="Spark master; default local[*]")] = None,
    policy_dir: Annotated[
        Path | None, typer.Option(help="directory of county policies (default conf/policies)")
    ] = None,
    eligibility_options: Annotated[
        Path | None,
        typer.Option(help="BEAR/gogen eligibility options JSON for the counties run"),
    ] = None,
    conf: Annotated[
        list[str] | None, typer.Option(help="Spark setting key=value (repeatable)")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="commit a new version even if nothing changed")
    ] = False,
    allow_shrink: Annotated[
        bool,
        typer.Option(
            "--allow-shrink",
            help="publish even when county tables would keep less than pipeline.yaml's "
            "relief.shrink_min_share (default half) of their published rows",
        ),
    ] = False,
    json_: Annotated[
        bool,
        typer.Option(
            "--json", help="print one JSON result object on stdout (progress stays on stderr)"
        ),
    ] = False,
) -> None:
    """Run the statewide job: ingest, normalize, history, eligibility, commit per county."""
    if json_:
        _run_json(input, warehouse, compute_at, counties, master, policy_dir,
                  eligibility_options, conf, force, allow_shrink)  # fmt: skip
        return
    _require_extra("run", _SPARK_JOB)
    from relief.jobs.statewide import RunFailed, UsageError
    from relief.jobs.statewide import run as run_job

    options = _run_options(input, warehouse, compute_at, counties, master, policy_dir,
                           eligibility_options, conf, force, allow_shrink)  # fmt: skip
    progress = Progress()
    try:
        result = run_job(options, progress)
    except UsageError as exc:
        raise _fail(str(exc), 2) from None
    except RunFailed as exc:
        raise _fail(f"run failed: {exc}", 1) from None
    if result.status != "succeeded":
        typer.echo(f"run {result.run_id}: {result.status} — {result.message}")
        return
    typer.echo(
        f"run {result.run_id} succeeded (compute-at {result.compute_at}); readers are now "
        "served its tables"
    )
    typer.echo(
        f"  rows read {fmt_count(result.rows_read)} = kept {fmt_count(result.rows_kept)}"
        f" + quarantined {fmt_count(result.rows_quarantined)}"
    )
    unplaced = sum(int(u["rows"]) for u in result.prop64_lines_unplaced)
    typer.echo(
        f"  Prop 64 conviction lines {fmt_count(result.prop64_lines)} = in their county's "
        f"table {fmt_count(result.prop64_lines_in_tables)} + counted with a reason {unplaced:,}"
    )
    for item in result.prop64_lines_unplaced:
        typer.echo(f"    {item['county']}: {item['rows']:,} {item['reason']}")
    written = [v for v in result.county_versions if not v.get("carried_from")]
    empty = sum(1 for v in written if not v["rows"])
    carried = len(result.county_versions) - len(written)
    typer.echo(
        f"  county tables: {warehouse / 'counties'}/<county> "
        f"({len(written)} written, {empty} of them empty"
        + (f"; {carried} left as they were)" if carried else ")")
    )
    typer.echo(f"  quarantine:    {warehouse / 'quarantine'}")
    typer.echo(f"  runs ledger:   {warehouse / 'runs'}")
    typer.echo(f"  validation:    {_validation_line(result, warehouse)}")


def _validation_line(result: Any, warehouse: Path | str) -> str:
    """The suites' summary and the page that records them, or that the page is missing."""
    from relief.jobs.warehouse.storage import Warehouse
    from relief.jobs.warehouse.validation import EVIDENCE_MISSING, INDEX_FILE

    summary = result.validation or "-"
    if EVIDENCE_MISSING in summary:
        return summary
    return f"{summary} ({_local(Warehouse(warehouse).validation(result.run_id) / INDEX_FILE)})"


def _absolute(path: Path) -> Path | str:
    """A local warehouse as an absolute path: Spark's Python workers and executors do not
    share this process's working directory (a relative path would stage files elsewhere).
    A URI (whose "//" the Path option collapsed) is given back as its text."""
    from relief.jobs.warehouse import fs

    text = fs.location_text(path)
    return Path(os.path.abspath(fs.local_path(text))) if fs.is_local(text) else text


def _local(path: Any) -> str:
    """An absolute path for a local location (a URI is left as it is)."""
    from relief.jobs.warehouse import fs

    text = fs.location_text(path)
    return os.path.abspath(fs.local_path(text)) if fs.is_local(text) else text


def run_result_json(result: Any, warehouse: Path | str) -> dict[str, Any]:
    """The machine-readable result of a run (``relief run --json``)."""
    from relief.jobs.warehouse.storage import Warehouse
    from relief.jobs.warehouse.validation import EVIDENCE_MISSING, INDEX_FILE

    root = Warehouse(warehouse)
    validation = result.validation or None
    evidence = None
    if validation and EVIDENCE_MISSING not in validation:
        evidence = _local(root.validation(result.run_id) / INDEX_FILE)
    return {
        "run_id": result.run_id,
        "status": result.status,
        "message": result.message,
        "compute_at": result.compute_at.isoformat(),
        "started_at": result.started_at.isoformat(),
        "finished_at": result.finished_at.isoformat() if result.finished_at else None,
        "rows": {
            "read": result.rows_read,
            "kept": result.rows_kept,
            "quarantined": result.rows_quarantined,
        },
        "prop64_lines": {
            "total": result.prop64_lines,
            "in_tables": result.prop64_lines_in_tables,
            "unplaced": list(result.prop64_lines_unplaced),
        },
        "counties": [
            {
                "county": v["county"],
                "version": v["version"],
                "rows": v["rows"],
                "carried_from": v.get("carried_from"),
            }
            for v in sorted(result.county_versions, key=lambda v: v["county"])
        ],
        "validation": validation,
        "seconds": {k: round(v, 3) for k, v in result.stage_seconds.items()},
        "paths": {
            "warehouse": _local(root.root),
            "counties": _local(root.root / "counties"),
            "quarantine": _local(root.quarantine),
            "runs": _local(root.runs),
            "validation": evidence,
        },
    }


def _run_options(
    input: str,
    warehouse: Path,
    compute_at: str | None,
    counties: str | None,
    master: str | None,
    policy_dir: Path | None,
    eligibility_options: Path | None,
    conf: list[str] | None,
    force: bool,
    allow_shrink: bool = False,
) -> Any:
    """The statewide job's RunOptions from `relief run`'s options (typer.Exit 2 when bad)."""
    from relief.jobs.statewide import RunOptions

    return RunOptions(
        inputs=input,
        warehouse=_absolute(warehouse),
        compute_at=_parse_date(compute_at, "--compute-at"),
        counties=_split(counties),
        master=master,
        conf=_parse_conf(conf),
        policy_dir=policy_dir,
        eligibility_options=eligibility_options,
        force=force,
        allow_shrink=allow_shrink,
    )


def _json_out(payload: dict[str, Any], code: int = 0) -> None:
    typer.echo(json.dumps(payload, sort_keys=True, default=str))
    if code:
        raise typer.Exit(code)


def _run_json(
    input: str,
    warehouse: Path,
    compute_at: str | None,
    counties: str | None,
    master: str | None,
    policy_dir: Path | None,
    eligibility_options: Path | None,
    conf: list[str] | None,
    force: bool,
    allow_shrink: bool = False,
) -> None:
    """`relief run --json`: the same run; stdout gets one JSON object whatever happens
    (``status`` ``usage_error`` exit 2, ``failed`` exit 1), stderr the progress and messages."""

    def error(status: str, message: str, code: int) -> None:
        typer.echo(f"relief: {message}", err=True)
        _json_out({"run_id": None, "status": status, "message": message}, code)

    missing = [m for m in _SPARK_JOB if importlib.util.find_spec(m) is None]
    if missing:
        error("usage_error", f"`relief run` needs {', '.join(missing)}: {JOB_EXTRA}", 2)
    from relief.jobs.statewide import RunFailed, UsageError
    from relief.jobs.statewide import run as run_job

    try:
        options = _run_options(input, warehouse, compute_at, counties, master, policy_dir,
                               eligibility_options, conf, force, allow_shrink)  # fmt: skip
    except typer.Exit as exc:
        _json_out({"run_id": None, "status": "usage_error", "message": "bad option"}, exc.exit_code)
        return
    began = dt.datetime.now(dt.UTC)
    try:
        result = run_job(options, Progress())
    except UsageError as exc:
        error("usage_error", str(exc), 2)
        return
    except RunFailed as exc:
        message = f"run failed: {exc}"
        typer.echo(f"relief: {message}", err=True)
        _json_out({**_failed_run(options.warehouse, began), "message": message}, 1)
        return
    _json_out(run_result_json(result, warehouse))


def _failed_run(warehouse: Path | str, began: dt.datetime) -> dict[str, Any]:
    """Run id and final status of the run that just failed, when it reached the ledger (a
    run refused at the lock did not: run_id null)."""
    from relief.jobs.warehouse import ledger
    from relief.jobs.warehouse.storage import Warehouse

    try:
        runs = ledger.read_runs(Warehouse(warehouse))
    except Exception:  # the ledger itself may be what failed
        runs = []
    ours = [r for r in runs if r["started_at"] and r["started_at"] >= began]
    if not ours:
        return {"run_id": None, "status": "failed"}
    return {"run_id": ours[-1]["run_id"], "status": ours[-1]["status"]}


@app.command()
def recover(
    warehouse: Annotated[Path, typer.Option(help="warehouse directory")],
) -> None:
    """Clean up after a run that died: remove its staging and orphaned files, roll every table
    back to the version the runs ledger publishes, and say what was done. (Every run does
    this first; use it when no run follows soon.) Exit 1 when something is left for a person
    (NOT recovered: e.g. a table whose log is unreadable, whose files are kept)."""
    from relief.jobs.warehouse.recovery import RecoverError, recover_warehouse

    try:
        lines, whole = recover_warehouse(warehouse)
    except RecoverError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    typer.echo(f"relief recover: {warehouse}")
    for line in lines:
        typer.echo(f"  {line}")
    if not whole:
        raise typer.Exit(1)


@app.command()
def validate(
    input: Annotated[str, typer.Option("--input", help="extract file(s): comma list or glob")],
    out: Annotated[
        Path | None, typer.Option(help="also write the results page (index.html) and JSON here")
    ] = None,
) -> None:
    """Run the raw and normalized expectation suites on an extract; write no table."""
    _require_extra("validate", _SPARK_JOB)
    from relief.expectations.runner import critical_failure_message, summarize
    from relief.jobs.audit import validation_page
    from relief.jobs.config import ConfigError, load_counties
    from relief.jobs.config.offenses import load_offenses
    from relief.jobs.runtime.spark import JavaMissingError, build_session
    from relief.jobs.statewide import validate_extract
    from relief.jobs.warehouse.inputs import InputError
    from relief.jobs.warehouse.validation import write_results

    progress = Progress()
    try:
        counties, offenses = load_counties(), load_offenses()
        with progress.stage("spark", "Starting Spark"):
            spark = build_session("relief-validate")
        with progress.stage(
            "validate", f"Reading {input} and running the raw and normalized suites"
        ):
            results = validate_extract(spark, input, counties, offenses)
            progress.note(summarize(results))
    except (ConfigError, InputError, JavaMissingError) as exc:
        raise _fail(str(exc), 2) from None
    for result in results:
        for outcome in result.outcomes:
            typer.echo(f"  {outcome.status:<7} {outcome.message()}")
    typer.echo(summarize(results))
    if out is not None:
        try:
            index = write_results(results, out, page=validation_page.render)
            typer.echo(f"results: {index}")
        except OSError as exc:
            raise _fail(f"--out {out}: results could not be written ({exc})", 1) from None
    failure = critical_failure_message(results)
    if failure:
        raise _fail(f"critical expectation failed:\n{failure}", 1)


@app.command()
def quarantine(
    warehouse: Annotated[Path, typer.Option(help="warehouse directory")],
    run_id: Annotated[str | None, typer.Option("--run", help="only this run")] = None,
) -> None:
    """Summarise quarantined input lines by reason."""
    from relief.jobs.warehouse.quarantine import summarise

    try:
        lines = summarise(warehouse, run_id)
    except FileNotFoundError as exc:
        raise _fail(str(exc), 2) from None
    for line in lines:
        typer.echo(line)


@app.command()
def report(
    warehouse: Annotated[Path, typer.Option(help="warehouse directory")],
    out: Annotated[Path, typer.Option(help="directory for index.html and county pages")],
    run_id: Annotated[str | None, typer.Option("--run", help="default: latest run")] = None,
    no_suppression: Annotated[
        bool,
        typer.Option(
            "--no-suppression",
            help="show counts from 1 to 10 instead of <11 (internal use only; the pages say so)",
        ),
    ] = False,
    law: Annotated[
        str | None,
        typer.Option("--law", help="a statewide law's page per county (pc1203.425, pc851.93)"),
    ] = None,
) -> None:
    """Static HTML report with charts (opens offline, prints). Counts from 1 to 10 are shown
    as <11, with enough other cells hidden that no hidden count can be worked out."""
    _require_extra("report", ("matplotlib", "jinja2"))
    if law is not None:
        _law_report(warehouse, out, law, run_id, not no_suppression)
        return
    from relief.jobs.audit.report import ReportError, report_command, report_context

    try:
        context = report_context(warehouse)  # the report and this line name one publication
        index = report_command(context, out, run_id, suppress=not no_suppression)
        published = context.publication
    except ReportError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except ValueError as exc:  # fs.LocationError: a warehouse path delta-rs cannot read
        raise _fail(f"--warehouse {exc}", 2) from None
    if run_id is None or run_id == published.run_id:
        typer.echo(f"report: {index} (run {published.run_id}, the published run)")
    else:
        typer.echo(f"report: {index} (run {run_id}; the published run is {published.run_id})")


def _law_report(warehouse: Path, out: Path, law: str, run_id: str | None, suppress: bool) -> None:
    from relief.jobs.audit.law_report import build_law_report
    from relief.jobs.audit.report import ReportError
    from relief.jobs.warehouse.access import refuse_inside_warehouse
    from relief.jobs.warehouse.snapshots import PullError

    if law not in ("pc1203.425", "pc851.93"):
        raise _fail(f"--law {law!r}: one of pc1203.425, pc851.93 (Prop 64: without --law)", 2)
    try:
        refuse_inside_warehouse(out, warehouse)
        page = build_law_report(warehouse, out, law, run_id, suppress)
    except ReportError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except PullError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    typer.echo(f"report: {page}")


def _mount_optional() -> None:
    """Sub-commands that live in their own modules."""
    from relief.jobs.audit.cli import app as audit_app
    from relief.jobs.config.cli import app as policy_app
    from relief.jobs.county.cli import app as county_app

    app.add_typer(policy_app, name="policy", help="Check and print county policies.")
    app.add_typer(
        county_app, name="county", help="A county's own table: pull it, build its filing packet."
    )
    app.add_typer(
        audit_app, name="audit", help="The runs ledger, Delta history, diffs, explanations, verify."
    )


_mount_optional()


# Libraries that log INFO on their own loggers (GX sets its level itself): shown with -v only.
_CHATTY_LOGGERS = ("great_expectations", "py4j")


def _quiet_libraries(record: logging.LogRecord) -> bool:
    if is_verbose() or record.levelno >= logging.WARNING:
        return True
    return not record.name.startswith(_CHATTY_LOGGERS)


def main(args: list[str] | None = None, prog_name: str | None = None) -> None:
    """`relief` (``args`` default: the command line); jobs/statewide.py runs ``relief run``
    through here under spark-submit."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_quiet_libraries)
    from relief.jobs.warehouse.storage import TableUnreadable

    try:
        app(args=args, prog_name=prog_name)
    except KeyboardInterrupt:
        typer.echo("relief: interrupted", err=True)
        sys.exit(130)
    except TableUnreadable as exc:  # a truncated commit of the ledger or of a table
        typer.echo(f"relief: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
