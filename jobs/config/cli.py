"""`relief policy check`: validate a policy and show its rules in evaluation order.

    relief policy check FILE                       a policy YAML/JSON or a BEAR options JSON
    relief policy check --county NAME [--policy-dir DIR]   the policy that county gets

Exit codes: 0 valid, 2 invalid (the errors name file, rule and field) or bad usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relief.jobs.config import ConfigError, load_counties
from relief.jobs.config.policies import load_policy, load_policy_dir
from relief.transforms.policy import (
    INCOMPLETE_CODE_SECTION_REASON,
    INCOMPLETE_DATE_DETERMINATION,
    INCOMPLETE_DATE_REASON,
    Always,
    Policy,
    policy_hash,
)
from relief.transforms.vocabulary import UnknownCounty

app = typer.Typer(help="Validate and inspect eligibility policies (conf/policies/).")


@app.callback()
def _policy() -> None:
    """Validate and inspect eligibility policies (conf/policies/)."""


def render_policy(policy: Policy, source: str) -> str:
    """The compiled rules in order: id, readable condition, determination, reason."""
    lines = [
        f"policy {policy.name!r} from {source}",
        f"sha256 {policy_hash(policy)}",
    ]
    if policy.description:
        lines.append(policy.description)
    lines.append("")
    width = len(str(len(policy.rules)))
    for number, rule in enumerate(policy.rules, start=1):
        lines.append(f"{number:>{width}}. {rule.id}")
        lines.append(f"{'':>{width}}   when   {rule.when.describe()}")
        lines.append(f"{'':>{width}}   then   {rule.then.value}")
        shown = "".join("{section}" if p is None else p for p in rule.reason_parts())
        lines.append(f"{'':>{width}}   reason {shown}")
    lines.append("")
    if not all(isinstance(rule.when, Always) for rule in policy.rules):
        lines.append(
            f"A rule whose condition a partial or blank date leaves open gives "
            f"{INCOMPLETE_DATE_DETERMINATION.value} / {INCOMPLETE_DATE_REASON} with that "
            f"rule's id; one a subsection or code the text did not give leaves open gives "
            f"{INCOMPLETE_DATE_DETERMINATION.value} / {INCOMPLETE_CODE_SECTION_REASON}."
        )
    return "\n".join(lines)


@app.command()
def check(
    file: Annotated[
        Path | None,
        typer.Argument(help="Policy file (.yaml/.json) or eligibility-options JSON."),
    ] = None,
    county: Annotated[
        str | None, typer.Option(help="Check the policy this county gets (name or slug).")
    ] = None,
    policy_dir: Annotated[
        Path | None, typer.Option(help="Policy directory (default conf/policies).")
    ] = None,
) -> None:
    """Validate a policy and print its rules in the order they are tried."""
    if (file is None) == (county is None):
        typer.echo("relief: give either a policy FILE or --county NAME", err=True)
        raise typer.Exit(2)
    try:
        if file is not None:
            if policy_dir is not None:
                typer.echo("relief: --policy-dir goes with --county, not with FILE", err=True)
                raise typer.Exit(2)
            policy = load_policy(file)
            source = str(file)
        else:
            assert county is not None
            try:
                found = load_counties().require(county)
            except UnknownCounty as exc:
                typer.echo(f"relief: {exc}", err=True)
                raise typer.Exit(2) from None
            policies = load_policy_dir(policy_dir)
            policy = policies.for_county(found.slug)
            path = policies.source_for(found.slug)
            own = found.slug in policies.by_county
            source = f"{path} ({'own policy' if own else 'default policy'} of {found.name})"
    except ConfigError as exc:
        typer.echo(f"relief: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(render_policy(policy, source))
