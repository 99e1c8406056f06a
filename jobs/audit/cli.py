"""`relief audit history|diff|explain|verify`: the audit trail, without Spark or Java.

    relief audit history --warehouse DIR --county NAME [--json]
    relief audit diff    --warehouse DIR --county NAME --from V1 --to V2 [--out FILE.csv]
    relief audit explain --warehouse DIR --county NAME --record-id ID [--version N]
                         [--policy-dir DIR | --policy FILE]
    relief audit verify  --warehouse DIR [--json]
    relief audit runs    --warehouse DIR [--json]

The logic is in jobs/audit/ (history.py, diff.py, explain.py, verify.py, runs.py). Every
command reads the runs ledger to know which version of each table is published (the one the
latest succeeded run names) and says so; ``runs`` lists the ledger, one line per run with its
final status. Exit codes: 0 ok, 1 the warehouse lacks what was asked for, 2 bad usage
(unknown county, version or record, no such warehouse); verify: 0 clean, 1 needs
`relief recover`, 3 damaged (jobs/audit/verify.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from relief.jobs.audit.common import AuditError
from relief.jobs.audit.diff import diff_versions, render_diff, write_diff_csv
from relief.jobs.audit.explain import explain_record, render_explanation
from relief.jobs.audit.history import county_history, render_history
from relief.jobs.audit.runs import list_runs, render_runs
from relief.jobs.audit.verify import EXIT_DAMAGED, render_verify, verify_warehouse
from relief.jobs.warehouse.access import refuse_inside_warehouse
from relief.jobs.warehouse.ledger import LedgerUnreadable
from relief.jobs.warehouse.snapshots import PullError

app = typer.Typer(
    help="Audit trail: runs, table history, version diffs, why a conviction was decided, verify.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

WarehouseOption = Annotated[Path, typer.Option(help="warehouse directory (holds counties/, runs/)")]
CountyOption = Annotated[str, typer.Option(help="county name or slug, any case")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for machines")]


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"relief: {message}", err=True)
    return typer.Exit(code)


@app.command()
def history(warehouse: WarehouseOption, county: CountyOption, json_: JsonOption = False) -> None:
    """One line per version of the county's table: which one readers are served, when, run,
    compute-at, policy, inputs, rows, validation."""
    try:
        result = county_history(warehouse, county)
    except AuditError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    if json_:
        typer.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        typer.echo(render_history(result))


@app.command()
def diff(
    warehouse: WarehouseOption,
    county: CountyOption,
    from_version: Annotated[int, typer.Option("--from", help="older version", min=0)],
    to_version: Annotated[int, typer.Option("--to", help="newer version", min=0)],
    out: Annotated[
        Path | None, typer.Option(help="write every change to this CSV file (0600)")
    ] = None,
    show: Annotated[int, typer.Option(help="changes to list on screen", min=0)] = 20,
    law: Annotated[
        str | None,
        typer.Option(
            "--law",
            help="a statewide law (pc1203.425, pc851.93): its new grants, "
            "changed determinations and vanished granted keys",
        ),
    ] = None,
) -> None:
    """What changed per record (matched on row_key) between two versions: new, removed,
    determination or reason changed; counts by kind and by rule."""
    if law is not None:
        from relief.jobs.audit.law_audit import diff_law, render_law_diff

        try:
            typer.echo(
                render_law_diff(
                    diff_law(warehouse, county, law, from_version, to_version), limit=show
                )
            )
        except (AuditError, PullError) as exc:
            raise _fail(str(exc), exc.exit_code) from None
        return
    try:
        if out is not None:
            refuse_inside_warehouse(out, warehouse)
        result = diff_versions(warehouse, county, from_version, to_version)
        typer.echo(render_diff(result, limit=show))
        if out is not None:
            write_diff_csv(result, out)
            typer.echo(f"\nwrote {len(result.changes):,} change(s) to {out}")
    except AuditError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except PullError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except OSError as exc:
        raise _fail(f"--out {out}: {exc.strerror or exc}", 1) from None


@app.command()
def explain(
    warehouse: WarehouseOption,
    county: CountyOption,
    record_id: Annotated[str, typer.Option("--record-id", help="the row's record_id")],
    version: Annotated[
        int | None, typer.Option(help="table version (default: the published one)", min=0)
    ] = None,
    policy_dir: Annotated[
        Path | None, typer.Option(help="policy directory the run used (default conf/policies)")
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="policy file or eligibility-options JSON the run used"),
    ] = None,
    law: Annotated[
        str | None,
        typer.Option(
            "--law",
            help="a statewide law (pc1203.425, pc851.93): its rules in order "
            "with each predicate's value and statute clause",
        ),
    ] = None,
) -> None:
    """Why a conviction got its determination: facts, rules in order with each predicate's
    value, the rule that fired, and the run that decided it."""
    if law is not None:
        from relief.jobs.audit.law_audit import explain_law, render_law_explanation

        try:
            typer.echo(
                render_law_explanation(explain_law(warehouse, county, record_id, law, version))
            )
        except AuditError as exc:
            raise _fail(str(exc), exc.exit_code) from None
        return
    if policy_dir is not None and policy is not None:
        raise _fail("give --policy-dir or --policy, not both", 2)
    try:
        result = explain_record(
            warehouse, county, record_id, version, policy_dir=policy_dir, policy_file=policy
        )
    except AuditError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    typer.echo(render_explanation(result))


@app.command()
def verify(warehouse: WarehouseOption, json_: JsonOption = False) -> None:
    """Check that every table version is accounted for by the runs ledger, that every
    table's newest version is its published one, and open every data file of every version
    the ledger names.

    Exit codes: 0 clean; 1 needs recovery (`relief recover` fixes every problem listed: a
    dead run's versions); 3 damaged (a published file or version is missing or unreadable, a
    log cannot be read: restore from a backup); 2 bad usage (no such warehouse)."""
    try:
        report = verify_warehouse(warehouse)
    except AuditError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except LedgerUnreadable as exc:
        raise _fail(str(exc), EXIT_DAMAGED) from None
    if json_:
        typer.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        typer.echo(render_verify(report, warehouse))
    if report.exit_code:
        raise typer.Exit(report.exit_code)


@app.command()
def runs(warehouse: WarehouseOption, json_: JsonOption = False) -> None:
    """The runs ledger: one line per run with its final status (succeeded, failed,
    failed_validation, no_change, incomplete, running), timings, rows and validation; the
    run readers are served is marked published."""
    try:
        lines = list_runs(warehouse)
    except AuditError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    if json_:
        typer.echo(json.dumps([line.to_json() for line in lines], indent=2, sort_keys=True))
    else:
        typer.echo(render_runs(lines, warehouse))


if __name__ == "__main__":
    app()
