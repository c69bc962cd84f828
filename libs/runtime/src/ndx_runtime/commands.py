"""A service's console script: `ndx-<service>` serves until SIGTERM, `ndx-<service> migrate`
applies the schema migrations to the service's database and exits (a Kubernetes job's work)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, NoReturn, TypeVar

import structlog
from sqlalchemy.exc import SQLAlchemyError

from .db import Database
from .logs import configure_service_logging
from .migrations import Migrations, SchemaError, SchemaState
from .settings import ServiceSettings

log = structlog.get_logger(__name__)

S = TypeVar("S", bound=ServiceSettings)


def service_main(
    prog: str,
    settings: Callable[[], S],
    migrations: Migrations,
    serve: Callable[[S], Coroutine[Any, Any, None]],
    argv: Sequence[str] | None = None,
) -> None:
    """Serves (`serve(settings)` until it returns) or migrates, as the command line says,
    with the settings from the environment."""
    if command(prog, argv) == "migrate":
        migrate_and_exit(settings(), migrations)
    asyncio.run(serve(settings()))


def command(prog: str, argv: Sequence[str] | None = None) -> str:
    """What the command line asks for: "serve" (the default) or "migrate"."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Runs the service; settings come from the environment."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="serve until SIGTERM or SIGINT (the default)")
    commands.add_parser(
        "migrate", help="apply the schema migrations to the service's database, then exit"
    )
    return str(parser.parse_args(argv).command or "serve")


def migrate_and_exit(settings: ServiceSettings, migrations: Migrations) -> NoReturn:
    """Migrates the service's database; exits 0 when it is at head, 1 when it is not."""
    state = asyncio.run(migrate(settings, migrations))
    sys.exit(0 if state is not None and state.usable else 1)


async def migrate(settings: ServiceSettings, migrations: Migrations) -> SchemaState | None:
    """Brings the database to head; None (the failure logged) when it cannot."""
    configure_service_logging(settings)
    db = Database.from_url(settings.database_url)
    try:
        state = await migrations.upgrade(db.engine)
    except (SchemaError, SQLAlchemyError, OSError) as error:
        log.error("migration failed", database=db.engine.url.render_as_string(), error=str(error))
        return None
    finally:
        await db.dispose()
    log.info("schema migrated" if state.at_head else "schema not migrated", state=state.describe())
    return state
