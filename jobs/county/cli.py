"""`relief county pull|packet`: what a county DA's office runs on a laptop (no Spark, no Java).

    relief county pull   --warehouse DIR --county NAME --out DIR
                         [--format csv|parquet|xlsx|gogen] [--suffix S]
                         [--version N | --run RUN_ID]
    relief county packet --warehouse DIR --county NAME --out DIR [--merged | --merged-only]
                         [--version N | --run RUN_ID]

NAME is a county's name or slug in any case, with or without "County", or its DOJ code
(transforms/vocabulary.py Counties.resolve).

Both read only ``<warehouse>/counties/<slug>`` (jobs/warehouse/snapshots.py), at the version
the runs ledger publishes unless ``--version``/``--run`` asks for another, and say which
version and run they served. Exit codes:
0 ok, 1 the pull failed (no table, unreadable table), 2 bad usage (unknown county, no such
version or run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relief.jobs.config import ConfigError
from relief.jobs.county.pull import PullError, PullFormat

app = typer.Typer(
    help="Pull a county's table or build its court filing packet (no Spark, no Java).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

WarehouseOption = Annotated[Path, typer.Option(help="warehouse directory (holds counties/)")]
CountyOption = Annotated[
    str, typer.Option(help='county name, slug or DOJ code, e.g. "Los Angeles", los-angeles, 19')
]
VersionOption = Annotated[
    int | None,
    typer.Option(help="table version to read (default: the published one)", min=0),
]
RunOption = Annotated[str | None, typer.Option("--run", help="read the version this run committed")]
LawOption = Annotated[
    str | None,
    typer.Option(
        "--law",
        help="a statewide law's rows and decisions (pc1203.425, pc851.93); default: Prop 64",
    ),
]


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"relief: {message}", err=True)
    return typer.Exit(code)


PULL_HELP = (
    "Write the county's rows: csv, parquet, xlsx, or the reference tool's (gogen) files."
    "\n\n"
    "--format gogen writes the files of the reference tool counties know "
    "(codeforamerica/gogen): All_Results.csv, All_Results_Condensed.csv, Prop64_Results.csv "
    "and summary.json. Where relief decides differently on purpose, because the reference is "
    "wrong or looser, is listed with examples in docs/reference-differences.md."
)


@app.command(help=PULL_HELP)
def pull(
    warehouse: WarehouseOption,
    county: CountyOption,
    out: Annotated[Path, typer.Option(help="output directory (created 0700 if missing)")],
    format: Annotated[
        PullFormat, typer.Option("--format", help="csv, parquet, xlsx, or gogen (reference tool)")
    ] = PullFormat.CSV,
    version: VersionOption = None,
    run: RunOption = None,
    suffix: Annotated[
        str,
        typer.Option(
            help="gogen: add _SUFFIX to the file names (All_Results_SUFFIX.csv ...), as the "
            "reference's --file-name-suffix does"
        ),
    ] = "",
    law: LawOption = None,
) -> None:
    """Write the county's rows: csv, parquet, xlsx, or the reference tool's (gogen) files."""
    from relief.jobs.county.pull import pull as pull_county

    try:
        result = pull_county(
            warehouse, county, out, format, version=version, run_id=run, suffix=suffix, law=law
        )
    except PullError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(f"{result.county.name.title()}: {result.served}; {result.rows:,} rows")
    for path in result.files:
        typer.echo(f"  wrote {path}")


@app.command()
def packet(
    warehouse: WarehouseOption,
    county: CountyOption,
    out: Annotated[Path, typer.Option(help="packet directory (created 0700 if missing)")],
    version: VersionOption = None,
    run: RunOption = None,
    merged: Annotated[
        bool, typer.Option("--merged", help="also write every order into one PDF, a bookmark each")
    ] = False,
    merged_only: Annotated[
        bool,
        typer.Option("--merged-only", help="one PDF of every order instead of a file per case"),
    ] = False,
    law: LawOption = None,
) -> None:
    """Build the court filing packet: bulk motion, proposed orders, index, worklist. With
    --law pc1203.425 or pc851.93: the law's new grants and Hand Review worklist (CSV)."""
    from relief.jobs.county.packet import OrderFiles
    from relief.jobs.county.packet import packet as build_packet

    if law is not None and law != "prop64":
        _law_packet(warehouse, county, out, law, version, run, merged or merged_only)
        return
    if merged and merged_only:
        raise _fail("give --merged or --merged-only, not both", 2)
    orders = OrderFiles.BOTH if merged else OrderFiles.MERGED if merged_only else None
    try:
        result = build_packet(
            warehouse, county, out, version=version, run_id=run,
            orders=orders or OrderFiles.PER_CASE,
        )  # fmt: skip
    except PullError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(
        f"{result.county.name.title()}: {result.served}: "
        f"{result.granted:,} convictions granted relief "
        f"({result.dismissals:,} dismiss, {result.reductions:,} reduce) in {result.cases:,} "
        f"cases; {result.worklist:,} worklist lines"
    )
    typer.echo(f"  wrote {len(result.files)} files into {out}")
    if result.skipped:
        typer.echo(
            f"  skipped {len(result.skipped)} case(s) a page cannot lay out, listed in "
            f"{out / 'skipped_cases.csv'}: {', '.join(case[:40] for case, _, _ in result.skipped)}"
        )
    if not result.office_configured:
        typer.echo(
            f"  DA office: placeholders; add {result.county.slug} to conf/offices.yaml "
            "to print the office on every order"
        )


def _law_packet(
    warehouse: Path,
    county: str,
    out: Path,
    law: str,
    version: int | None,
    run: str | None,
    orders: bool,
) -> None:
    from relief.jobs.county.laws import law_packet

    if orders:
        raise _fail(f"--law {law}: DOJ grants and the court is notified; there are no orders", 2)
    try:
        result = law_packet(warehouse, county, out, law, version=version, run_id=run)
    except PullError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(
        f"{result.county.name.title()}: {result.served}: {law}: {result.grants:,} new "
        f"grant(s) ({result.earlier:,} granted by earlier runs, not listed again); "
        f"{result.worklist:,} for hand review"
    )
    for path in result.files:
        typer.echo(f"  wrote {path}")


if __name__ == "__main__":
    app()
