"""`relief policy check`: validate a policy and show its rules in evaluation order.

    relief policy check FILE                       a policy YAML/JSON or a BEAR options JSON
    relief policy check --county NAME [--policy-dir DIR]   the policy that county gets
    relief policy show --law LAW [--set NAME=VALUE ...]     a law pack (conf/laws/)

Exit codes: 0 valid, 2 invalid (the errors name file, rule and field) or bad usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relief.jobs.config import ConfigError, load_counties
from relief.jobs.config.laws import load_law_packs
from relief.jobs.config.policies import load_policy, load_policy_dir
from relief.transforms.laws import SELECTOR_TEXT, LawPack
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


def _show_value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def render_law(pack: LawPack, source: str, overrides: dict[str, str]) -> str:
    """A law pack: what it is, its candidates, parameters in force, rules with citations."""
    lines = [f"law {pack.law!r} from {source}", f"{pack.title} ({pack.citation})"]
    if pack.description:
        lines.append(pack.description)
    lines.append(f"candidates: {SELECTOR_TEXT[pack.candidates]}")
    lines.append(f"in a run's default laws: {'yes' if pack.enabled else 'no'}")
    if pack.county_policies:
        lines.append(
            "decisions: each county's policy in conf/policies/ (default.yaml for a county "
            "without its own file); see `relief policy check --county NAME`"
        )
        return "\n".join(lines)
    values = pack.parameter_values(overrides)
    if pack.parameters:
        lines += ["", "parameters (value in force; status; source):"]
        for name, parameter in pack.parameters.items():
            marker = " (set on the command line)" if name in overrides else ""
            lines.append(f"  {name} = {_show_value(values[name])}{marker}  [{parameter.status}]")
            if parameter.choices is not None:
                lines.append(
                    f"      choices: {', '.join(_show_value(c) for c in parameter.choices)}"
                )
            lines.append(f"      {parameter.description.strip()}")
            lines.append(f"      source: {parameter.source.strip()}")
    decisions = pack.decision_list(overrides)
    lines += ["", f"decision list (statewide; first rule that holds decides), sha256 "
              f"{policy_hash(decisions)}:", ""]  # fmt: skip
    width = len(str(len(decisions.rules)))
    for number, rule in enumerate(decisions.rules, start=1):
        lines.append(f"{number:>{width}}. {rule.id}  [{rule.citation}]")
        lines.append(f"{'':>{width}}   when   {rule.when.describe()}")
        lines.append(f"{'':>{width}}   then   {rule.then.value}")
        lines.append(f"{'':>{width}}   reason {rule.render_reason(None)}")
    lines.append("")
    lines.append(
        "A rule left open by a fact the record does not give goes to Hand Review with the "
        "reason naming it (e.g. Supervised Release File not checked, Maximum term not in "
        f"table, {INCOMPLETE_DATE_REASON}); docs/laws.md lists them."
    )
    return "\n".join(lines)


@app.command()
def show(
    law: Annotated[str, typer.Option(help="The law pack: prop64, pc1203.425, pc851.93.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Show with a parameter set: NAME=VALUE (repeatable)."),
    ] = None,
    laws_dir: Annotated[
        Path | None, typer.Option(help="Law pack directory (default conf/laws).")
    ] = None,
) -> None:
    """Print a law pack: candidates, parameters and its decision list with citations."""
    overrides: dict[str, str] = {}
    for item in set_ or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            typer.echo(f"relief: --set {item!r}: write NAME=VALUE", err=True)
            raise typer.Exit(2)
        overrides[name.strip()] = value.strip()
    try:
        packs = load_law_packs(laws_dir)
        pack = packs.require(law.strip().lower())
        text = render_law(pack, str(packs.sources[pack.law]), overrides)
    except ConfigError as exc:
        typer.echo(f"relief: {exc}", err=True)
        raise typer.Exit(2) from None
    except ValueError as exc:  # a bad --set value
        typer.echo(f"relief: --set: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(text)
