"""`relief`: the command line. Exit codes: 0 ok, 1 run failed, 2 bad usage or configuration."""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from jobs.progress import Progress, fmt_count

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
) -> None:
    """Statewide Prop 64 record clearance: DOJ extract -> one Delta table per county."""
    if conf_dir is not None:
        from jobs.config import ConfigError, use_conf_dir

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
    county_shaped: Annotated[
        str | None,
        typer.Option(
            "--county-shaped",
            help="the file DOJ sends one county: every subject has a Prop 64 conviction in "
            "this county, with their whole statewide history",
        ),
    ] = None,
) -> None:
    """Write a fabricated statewide DOJ extract (95 columns, DOMAIN.md §1)."""
    from jobs.config import ConfigError
    from jobs.generate import DISP_DATE_PLACEHOLDER_SHARE, generate_extract

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
    except (ConfigError, ValueError) as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(f"wrote {out}: {stats}")


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
) -> None:
    """Run the statewide job: ingest, normalize, history, eligibility, commit per county."""
    _require_extra("run", _SPARK_JOB)
    from jobs.statewide import RunFailed, RunOptions, UsageError
    from jobs.statewide import run as run_job

    options = RunOptions(
        inputs=input,
        warehouse=warehouse,
        compute_at=_parse_date(compute_at, "--compute-at"),
        counties=_split(counties),
        master=master,
        conf=_parse_conf(conf),
        policy_dir=policy_dir,
        eligibility_options=eligibility_options,
        force=force,
    )
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


@app.command()
def recover(
    warehouse: Annotated[Path, typer.Option(help="warehouse directory")],
) -> None:
    """Clean up after a run that died: remove its staging and orphaned files, roll every table
    back to the version the runs ledger publishes, and say what was done. (Every run does
    this first; use it when no run follows soon.)"""
    from jobs.warehouse.recovery import RecoverError, recover_warehouse

    try:
        lines = recover_warehouse(warehouse)
    except RecoverError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    typer.echo(f"relief recover: {warehouse}")
    for line in lines:
        typer.echo(f"  {line}")


@app.command()
def validate(
    input: Annotated[str, typer.Option("--input", help="extract file(s): comma list or glob")],
    out: Annotated[
        Path | None, typer.Option(help="also write results JSON and Data Docs here")
    ] = None,
) -> None:
    """Run the raw and normalized expectation suites on an extract; write no table."""
    _require_extra("validate", _SPARK_JOB)
    from expectations.runner import critical_failure_message, summarize
    from jobs.config import ConfigError, load_counties
    from jobs.config.offenses import load_offenses
    from jobs.spark import JavaMissingError, build_session
    from jobs.statewide import validate_extract
    from jobs.warehouse.inputs import InputError
    from jobs.warehouse.validation import write_results

    try:
        counties, offenses = load_counties(), load_offenses()
        spark = build_session("relief-validate")
        results = validate_extract(spark, input, counties, offenses)
    except (ConfigError, InputError, JavaMissingError) as exc:
        raise _fail(str(exc), 2) from None
    for result in results:
        for outcome in result.outcomes:
            typer.echo(f"  {outcome.status:<7} {outcome.message()}")
    typer.echo(summarize(results))
    if out is not None:
        typer.echo(f"results: {write_results(results, out)}")
    failure = critical_failure_message(results)
    if failure:
        raise _fail(f"critical expectation failed:\n{failure}", 1)


@app.command()
def quarantine(
    warehouse: Annotated[Path, typer.Option(help="warehouse directory")],
    run_id: Annotated[str | None, typer.Option("--run", help="only this run")] = None,
) -> None:
    """Summarise quarantined input lines by reason."""
    from jobs.warehouse.quarantine import summarise

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
) -> None:
    """Static HTML report with charts (opens offline, prints)."""
    _require_extra("report", ("matplotlib",))
    from jobs.audit.report import ReportError, report_command
    from jobs.warehouse.publication import publication
    from jobs.warehouse.storage import Warehouse

    try:
        index = report_command(warehouse, out, run_id)
        published = publication(Warehouse(warehouse))
    except ReportError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except ValueError as exc:  # fs.LocationError: a warehouse path delta-rs cannot read
        raise _fail(f"--warehouse {exc}", 2) from None
    if run_id is None or run_id == published.run_id:
        typer.echo(f"report: {index} (run {published.run_id}, the published run)")
    else:
        typer.echo(f"report: {index} (run {run_id}; the published run is {published.run_id})")


def _mount_optional() -> None:
    """Sub-commands that live in their own modules."""
    from jobs.audit.cli import app as audit_app
    from jobs.config.cli import app as policy_app
    from jobs.county.cli import app as county_app

    app.add_typer(policy_app, name="policy", help="Check and print county policies.")
    app.add_typer(
        county_app, name="county", help="A county's own table: pull it, build its filing packet."
    )
    app.add_typer(audit_app, name="audit", help="Delta history, diffs and explanations.")


_mount_optional()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("relief: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
