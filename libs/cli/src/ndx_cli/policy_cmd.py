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
    default=None,
    help="Full method, e.g. ndx.population.v1.PopulationService/GetCitizen.",
)
@click.option(
    "--feed", "aggregate", default=None, help="A change feed instead of a method: citizen, ..."
)
@click.option("--field", "field_path", default=None, help="A field path of the method's resource.")
@click.option(
    "--policy-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_POLICY,
    show_default=True,
)
def explain(
    agency: str,
    purpose: str,
    method: str | None,
    aggregate: str | None,
    field_path: str | None,
    policy_file: Path,
) -> None:
    """Prints the decision for one call or one feed and the rule behind it."""
    if (method is None) == (aggregate is None):
        raise click.UsageError("name what to explain: --method METHOD or --feed AGGREGATE")
    loaded = _load(policy_file)
    resource: str | None = None
    if aggregate is not None:
        decision = loaded.decide_feed(agency, purpose, aggregate)
        feed = loaded.feeds.get(aggregate)
        if feed is None:
            raise click.BadParameter(
                f"unknown aggregate {aggregate!r}; feeds: {', '.join(sorted(loaded.feeds))}",
                param_hint="--feed",
            )
        resource = feed.resource
    else:
        assert method is not None
        decision = loaded.decide(agency, purpose, method)
        registry = loaded.registry_of(method)
        resource = registry.resource if registry is not None else None
    click.echo(f"{'ALLOW' if decision.allowed else 'DENY'}: {decision.reason}")
    click.echo(f"rule: {policy_file}: {decision.rule}")
    if decision.grant is not None and decision.grant.feeds:
        click.echo(f"feeds of this purpose: {', '.join(sorted(decision.grant.feeds))}")
    if not decision.allowed or decision.grant is None or resource is None:
        raise SystemExit(0 if decision.allowed else 1)
    readable = loaded.readable(decision.grant, resource)
    if field_path is None:
        what = "events carry these fields" if aggregate else "readable fields"
        click.echo(f"{what} of {resource}: {', '.join(readable.names()) or 'none'}")
        return
    path = field_path.removeprefix(f"{resource}.").split(".")
    if readable.grants(path):
        click.echo(f"field {field_path}: readable")
    elif aggregate is None and loaded.claimable(decision.grant, resource, path):
        click.echo(f"field {field_path}: verify-only (claims answered MATCH/MISMATCH)")
    else:
        where = ".read" if aggregate else ".read or .verify"
        click.echo(f"field {field_path}: denied (not in {decision.grant.location}{where})")
