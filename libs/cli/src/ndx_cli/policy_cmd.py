"""`ndx policy check` / `ndx policy explain`: the access policy, before and after it ships."""

from __future__ import annotations

from pathlib import Path

import click
from ndx_gateway.policy import DEFAULT_POLICY, Policy, PolicyError, load_policy

from ndx_runtime.contracts import load_contracts


@click.group()
def policy() -> None:
    """The gateway's access policy."""


def _load(path: Path) -> Policy:
    try:
        return load_policy(path, load_contracts())
    except PolicyError as e:
        for problem in e.problems:
            click.echo(f"{path}: {problem}", err=True)
        raise SystemExit(1) from None


@policy.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Validates FILE against the compiled contracts; exits 1 naming every problem."""
    loaded = _load(file)
    click.echo(
        f"{file}: policy {loaded.version} is valid "
        f"({len(loaded.grants)} agency purposes, {len(loaded.registries)} registries)"
    )


@policy.command("explain")
@click.option("--agency", required=True, help="Agency (the name in its certificate).")
@click.option("--purpose", required=True, help="Purpose code (x-ndx-purpose).")
@click.option(
    "--method",
    required=True,
    help="Full method, e.g. ndx.population.v1.PopulationService/GetCitizen.",
)
@click.option("--field", "field_path", default=None, help="A field path of the method's resource.")
@click.option(
    "--policy-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_POLICY,
    show_default=True,
)
def explain(
    agency: str, purpose: str, method: str, field_path: str | None, policy_file: Path
) -> None:
    """Prints the decision for one call and the rule behind it."""
    loaded = _load(policy_file)
    decision = loaded.decide(agency, purpose, method)
    click.echo(f"{'ALLOW' if decision.allowed else 'DENY'}: {decision.reason}")
    click.echo(f"rule: {policy_file}: {decision.rule}")
    registry = loaded.registry_of(method)
    if not decision.allowed or decision.grant is None or registry is None:
        raise SystemExit(0 if decision.allowed else 1)
    readable = loaded.readable(decision.grant, registry.resource)
    if field_path is None:
        click.echo(
            f"readable fields of {registry.resource}: {', '.join(readable.names()) or 'none'}"
        )
        return
    path = field_path.removeprefix(f"{registry.resource}.").split(".")
    if readable.grants(path):
        click.echo(f"field {field_path}: readable")
    elif loaded.claimable(decision.grant, registry.resource, path):
        click.echo(f"field {field_path}: verify-only (claims answered MATCH/MISMATCH)")
    else:
        click.echo(f"field {field_path}: denied (not in {decision.rule}.read or .verify)")
