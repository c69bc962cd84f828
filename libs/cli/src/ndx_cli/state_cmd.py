"""`ndx state digest`: a registry's state as one digest, to compare two environments."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
from sqlalchemy import MetaData
from sqlalchemy.exc import SQLAlchemyError

from ndx_runtime.db import Database
from ndx_runtime.digest import StateDigest, state_digest

SERVICES = ("population", "land", "business")


def service_schema(service: str) -> tuple[MetaData, str]:
    """A registry's tables and the database URL its settings name (env <SERVICE>_DATABASE_URL)."""
    if service == "population":
        from ndx_population.adapters.tables import metadata as population
        from ndx_population.config import PopulationSettings

        return population, PopulationSettings().database_url
    if service == "land":
        from ndx_land.adapters.tables import metadata as land
        from ndx_land.config import LandSettings

        return land, LandSettings().database_url
    from ndx_business.adapters.tables import metadata as business
    from ndx_business.config import BusinessSettings

    return business, BusinessSettings().database_url


async def digest_of(service: str, database_url: str | None = None) -> StateDigest:
    metadata, configured = service_schema(service)
    url = database_url or configured
    _check_exists(url)
    db = Database.from_url(url)
    try:
        return await state_digest(db, metadata)
    finally:
        await db.dispose()


def _check_exists(url: str) -> None:
    # Opening a missing SQLite file would create an empty database and digest that.
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and not Path(url[len(prefix) :]).exists():
        raise click.ClickException(f"no database at {url[len(prefix) :]}")


@click.group()
def state() -> None:
    """A registry's state: digests to compare environments."""


@state.command("digest")
@click.argument("service", type=click.Choice(SERVICES))
@click.option(
    "--database-url",
    default=None,
    help="The registry's database (default: its <SERVICE>_DATABASE_URL, as the service uses).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: tables and digest.")
def digest(service: str, database_url: str | None, as_json: bool) -> None:
    """Prints a stable digest of SERVICE's state: equal data gives an equal digest whatever
    the row order or database kind. The outbox is not state and is left out; derived changes
    carry the time of the event that caused them, so consumers fed the same events agree."""
    try:
        result = asyncio.run(digest_of(service, database_url))
    except (OSError, SQLAlchemyError) as e:
        raise click.ClickException(f"cannot read the {service} database: {e}") from None
    if as_json:
        tables = {t.name: {"rows": t.rows, "digest": t.digest} for t in result.tables}
        click.echo(json.dumps({"service": service, "digest": result.digest, "tables": tables}))
        return
    for t in result.tables:
        click.echo(f"{t.name:<24} {t.rows:>10} rows  {t.digest[:16]}")
    click.echo(f"{service} sha256:{result.digest}")
