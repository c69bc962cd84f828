"""The `ndx` command."""

from __future__ import annotations

import asyncio
import sys

import click
import grpc

from .config import ROUTES, SERVICE_ALIASES, CliSettings
from .errors import print_rpc_error

REDACTED = "x-ndx-redacted"


@click.group()
def cli() -> None:
    """NDX, the National Data Exchange: call services, follow events, seed data, run locally."""


@cli.command()
@click.argument("target")
@click.argument("request_json", default="{}")
@click.option(
    "--via",
    type=click.Choice(sorted(ROUTES)),
    default="gateway",
    show_default=True,
    help="Where the call goes: the gateway, or a registry directly (operators only).",
)
@click.option(
    "--as",
    "identity",
    default=None,
    help="Local identity whose certificate is presented (a name under .ndx/pki): an agency "
    "through the gateway (tax-authority, bank-ekyc, ...); ndx-admin (the default) directly.",
)
@click.option(
    "--purpose",
    default=None,
    help="Purpose (procedure) code, sent as x-ndx-purpose; required through the gateway.",
)
@click.option(
    "--officer",
    default=None,
    help="Officer id, sent as x-ndx-officer (default through the gateway: NDX_OFFICER, "
    "else your login name).",
)
@click.option("--timeout", default=30.0, show_default=True, help="Deadline in seconds.")
def call(
    target: str,
    request_json: str,
    via: str,
    identity: str | None,
    purpose: str | None,
    officer: str | None,
    timeout: float,
) -> None:
    """Calls SERVICE/METHOD with a JSON request and prints the response as proto3 JSON.

    SERVICE is a full name (ndx.population.v1.PopulationService) or an alias (population,
    land, business, tracker). Through the gateway, fields the agency may not read are removed
    from the response and named on stderr (the x-ndx-redacted trailer).
    """
    from .grpc_client import Identity, find_method, to_json
    from .grpc_client import call as do_call

    settings = CliSettings()
    service, _, method_name = target.rpartition("/")
    if not service or not method_name:
        raise click.BadParameter("expected SERVICE/METHOD", param_hint="TARGET")
    service = SERVICE_ALIASES.get(service, service)
    try:
        method = find_method(service, method_name)
    except LookupError as e:
        raise click.BadParameter(str(e), param_hint="TARGET") from None
    if via == "gateway":
        if identity is None:
            raise click.UsageError(
                "through the gateway, name the calling agency: --as tax-authority "
                "(or --via population|land|business --as ndx-admin to reach a registry directly)"
            )
        if not purpose:
            raise click.UsageError(
                "through the gateway every call names its purpose: --purpose CODE "
                "(`ndx policy explain` lists what an agency's purposes allow)"
            )
        officer = officer or settings.officer
    elif service != SERVICE_ALIASES.get(via):
        raise click.BadParameter(
            f"{via} serves {SERVICE_ALIASES[via]}, not {service}", param_hint="--via"
        )
    metadata = [(k, v) for k, v in (("x-ndx-purpose", purpose), ("x-ndx-officer", officer)) if v]
    try:
        response, trailers = asyncio.run(
            do_call(
                settings.address(via),
                method,
                request_json,
                Identity(identity or "ndx-admin", settings.pki),
                metadata,
                timeout,
            )
        )
    except grpc.aio.AioRpcError as error:
        print_rpc_error(error)
        sys.exit(1)
    except (FileNotFoundError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(to_json(response))
    redacted = [p for k, v in trailers if k == REDACTED for p in str(v).split(",") if p]
    if redacted:
        click.echo(f"{REDACTED} (removed by the gateway): {', '.join(redacted)}", err=True)


@cli.group()
def seed() -> None:
    """Deterministic synthetic data for the registries."""


@seed.command("population")
@click.option("--citizens", default=20_000, show_default=True, help="How many citizens.")
@click.option("--seed", "seed_value", default=2025, show_default=True, help="Random seed.")
@click.option(
    "--database-url",
    default=None,
    help="Target database (default: the registry's POPULATION_DATABASE_URL).",
)
@click.option("--if-empty", is_flag=True, help="Do nothing when the registry already has data.")
def seed_population(
    citizens: int, seed_value: int, database_url: str | None, if_empty: bool
) -> None:
    """Loads realistic citizens: households, real wards, consistent ids."""
    from .seeding import seed_population as run

    manifest = CliSettings().home / "seed.json"
    asyncio.run(run(citizens, seed_value, database_url, if_empty=if_empty, manifest=manifest))


@seed.command("land")
@click.option("--parcels", default=8_000, show_default=True, help="How many parcels.")
@click.option("--database-url", default=None, help="Target (default: LAND_DATABASE_URL).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the registry already has data.")
def seed_land(parcels: int, database_url: str | None, if_empty: bool) -> None:
    """Parcels whose rights holders are citizens of the seeded population registry, with
    their names as registered there (same seed, no calls between registries)."""
    from .seeding import seed_land as run

    asyncio.run(run(parcels, database_url, CliSettings().home / "seed.json", if_empty=if_empty))


@seed.command("business")
@click.option("--enterprises", default=3_000, show_default=True, help="How many enterprises.")
@click.option("--database-url", default=None, help="Target (default: BUSINESS_DATABASE_URL).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the registry already has data.")
def seed_business(enterprises: int, database_url: str | None, if_empty: bool) -> None:
    """Enterprises whose legal representatives and members are citizens of the seeded
    population registry, with their names as registered there."""
    from .seeding import seed_business as run

    home = CliSettings().home
    asyncio.run(run(enterprises, database_url, home / "seed.json", if_empty=if_empty))


@cli.command()
@click.option(
    "--citizens",
    default=20_000,
    show_default=True,
    help="Citizens to seed when the population registry is empty.",
)
@click.option(
    "--parcels", default=8_000, show_default=True, help="Parcels to seed when land is empty."
)
@click.option(
    "--enterprises",
    default=3_000,
    show_default=True,
    help="Enterprises to seed when the business registry is empty.",
)
def up(citizens: int, parcels: int, enterprises: int) -> None:
    """Starts the local system: Kafka, certificates, seeded registries."""
    from .local import up as run

    run(CliSettings(), citizens=citizens, parcels=parcels, enterprises=enterprises)


@cli.command()
def down() -> None:
    """Stops what `ndx up` started; data stays under .ndx/."""
    from .local import down as run

    run(CliSettings())


@cli.command()
def status() -> None:
    """Shows what is running locally."""
    from .local import status as run

    run(CliSettings())


def _add_command_groups() -> None:
    from .audit_cmd import audit
    from .consumers_cmd import consumers
    from .db_cmd import db
    from .docs_cmd import docs
    from .events_cmd import events
    from .feed_cmd import feed
    from .policy_cmd import policy
    from .scenario_cmd import scenario
    from .state_cmd import state

    cli.add_command(audit)
    cli.add_command(consumers)
    cli.add_command(db)
    cli.add_command(docs)
    cli.add_command(events)
    cli.add_command(feed)
    cli.add_command(policy)
    cli.add_command(state)
    events.add_command(scenario)


_add_command_groups()


if __name__ == "__main__":
    cli()
