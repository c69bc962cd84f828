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
def events() -> None:
    """Change events on Kafka."""


@events.command("tail")
@click.argument("topic")
@click.option("--from-beginning", is_flag=True, help="Start at the oldest retained record.")
@click.option("--max", "max_records", type=int, default=None, help="Stop after N records.")
@click.option("--key", default=None, help="Only records with this key (an entity id).")
@click.option("--json", "compact", is_flag=True, help="One compact JSON object a line.")
@click.option(
    "--idle-timeout",
    default=0.0,
    show_default=True,
    help="Stop after this many quiet seconds (0: follow forever).",
)
def events_tail(
    topic: str,
    from_beginning: bool,
    max_records: int | None,
    key: str | None,
    compact: bool,
    idle_timeout: float,
) -> None:
    """Prints the decoded events of TOPIC: key, headers and the protobuf value as JSON."""
    from ndx_runtime.settings import ServiceSettings

    from .events_tail import dumps, tail

    bootstrap = ServiceSettings().kafka_bootstrap_servers

    async def run() -> None:
        async for event in tail(
            bootstrap,
            topic,
            from_beginning=from_beginning,
            max_records=max_records,
            idle_timeout=idle_timeout,
            key=key,
        ):
            click.echo(dumps(event, compact))

    try:
        asyncio.run(run())
    except LookupError as e:
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt:
        pass


@cli.group()
def consumers() -> None:
    """Consumer groups: progress and lag."""


@consumers.command("status")
@click.option("--group", "group_id", required=True, help="Consumer group id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a partition.")
def consumers_status(group_id: str, as_json: bool) -> None:
    """Committed offset, end offset and lag of GROUP on every partition it reads."""
    import json

    from ndx_runtime.settings import ServiceSettings

    from .consumer_groups import group_status

    rows = asyncio.run(group_status(ServiceSettings().kafka_bootstrap_servers, group_id))
    if not rows:
        raise click.ClickException(f"group {group_id!r} has committed no offsets")
    for r in rows:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "topic": r.topic,
                        "partition": r.partition,
                        "committed": r.committed,
                        "end": r.end,
                        "lag": r.lag,
                    }
                )
            )
        else:
            click.echo(f"{r.topic}[{r.partition}] committed={r.committed} end={r.end} lag={r.lag}")
    if not as_json:
        click.echo(f"total lag: {sum(r.lag for r in rows)}")


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
    from .policy_cmd import policy

    cli.add_command(audit)
    cli.add_command(policy)


_add_command_groups()


if __name__ == "__main__":
    cli()
