"""`ndx db upgrade|downgrade|current|history SERVICE`: a service's schema migrations.

The database is --url, else the service's own setting (<PREFIX>_DATABASE_URL) when set, else
the one `ndx up` keeps under the home folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from importlib import import_module
from pathlib import Path
from typing import TypeVar

import click
from alembic.util import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ndx_runtime.db import create_engine
from ndx_runtime.migrations import Migrations, SchemaError, SchemaState
from ndx_runtime.settings import ServiceSettings

from .config import CliSettings
from .local import BUSINESS, GATEWAY, LAND, POPULATION, LocalService

T = TypeVar("T")

# Service -> (its package, its settings class, how `ndx up` runs it).
SERVICES: dict[str, tuple[str, str, LocalService]] = {
    "population": ("ndx_population", "PopulationSettings", POPULATION),
    "land": ("ndx_land", "LandSettings", LAND),
    "business": ("ndx_business", "BusinessSettings", BUSINESS),
    "gateway": ("ndx_gateway", "GatewaySettings", GATEWAY),
}

SERVICE = click.argument("service", type=click.Choice(sorted(SERVICES)))
URL = click.option(
    "--url",
    default=None,
    help="Database URL (default: <PREFIX>_DATABASE_URL, else the local stack's database).",
)


def migrations_of(service: str) -> Migrations:
    package = SERVICES[service][0]
    migrations: Migrations = import_module(f"{package}.migrations").MIGRATIONS
    return migrations


def database_url(service: str, url: str | None) -> str:
    """--url, else the service's configured database, else the local stack's."""
    if url:
        return url
    package, settings_class, local = SERVICES[service]
    settings: ServiceSettings = getattr(import_module(f"{package}.config"), settings_class)()
    if "database_url" in settings.model_fields_set:
        return settings.database_url
    return local.database_url(CliSettings().home.resolve())


def _run(service: str, url: str, step: Callable[[Migrations, AsyncEngine], Awaitable[T]]) -> T:
    """Runs a step on the service's database, turning what can go wrong into a message."""

    async def run() -> T:
        engine = create_engine(url)
        try:
            return await step(migrations_of(service), engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (SchemaError, CommandError) as error:
        raise click.ClickException(str(error)) from None
    except (SQLAlchemyError, OSError) as error:
        reason = getattr(error, "orig", None) or error  # the driver's words, unwrapped
        raise click.ClickException(f"{_shown(url)}: {reason}") from None


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _require_file(url: str) -> None:
    # Opening a missing SQLite file would create an empty database.
    path = make_url(url).database if make_url(url).get_backend_name() == "sqlite" else None
    if path not in (None, "", ":memory:") and not Path(str(path)).exists():
        raise click.ClickException(f"no database at {path}")


def _report(service: str, url: str, state: SchemaState) -> None:
    click.echo(f"{service} ({_shown(url)}): {state.describe()}")


@click.group()
def db() -> None:
    """Schema migrations of a service's database (Alembic)."""


@db.command()
@SERVICE
@URL
@click.option("--to", "revision", default="head", show_default=True, help="Target revision.")
def upgrade(service: str, url: str | None, revision: str) -> None:
    """Migrates SERVICE's database up to a revision (creating it if it is a new SQLite file);
    a schema made before migrations is adopted."""
    target = database_url(service, url)
    state = _run(service, target, lambda m, e: m.upgrade(e, revision))
    _report(service, target, state)


@db.command()
@SERVICE
@URL
@click.option("--to", "revision", required=True, help='Target revision ("base": no tables).')
def downgrade(service: str, url: str | None, revision: str) -> None:
    """Migrates SERVICE's database down to a revision (data in dropped tables is lost)."""
    target = database_url(service, url)
    _require_file(target)
    state = _run(service, target, lambda m, e: m.downgrade(e, revision))
    _report(service, target, state)


@db.command()
@SERVICE
@URL
@click.option("--check", is_flag=True, help="Exit 1 unless the schema is at head.")
def current(service: str, url: str | None, check: bool) -> None:
    """Shows where SERVICE's database stands against the migrations."""
    target = database_url(service, url)
    _require_file(target)
    state = _run(service, target, lambda m, e: m.state(e))
    _report(service, target, state)
    if check and not state.at_head:
        raise SystemExit(1)


@db.command()
@SERVICE
def history(service: str) -> None:
    """Lists SERVICE's migrations, newest first."""
    migrations = migrations_of(service)
    heads = set(migrations.scripts.get_heads())
    for script in migrations.history():
        title = (script.doc or "").strip().splitlines()[0] if script.doc else ""
        mark = " (head)" if script.revision in heads else ""
        click.echo(f"{script.revision}{mark}  {title}")
