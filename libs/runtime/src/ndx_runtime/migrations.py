"""Schema migrations with Alembic: each service ships an environment (`<pkg>/migrations/`
with `env.py` and `versions/`), and this module runs it on the service's async engine.

No alembic.ini: the script location is the package, the connection and the models are handed
to `env.py` in the config's attributes (see `run_environment`).
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import structlog
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, MetaData, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger(__name__)

T = TypeVar("T")

VERSION_TABLE = "alembic_version"


class SchemaError(Exception):
    """A database whose schema cannot be migrated as it stands."""


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands against the migrations this release ships."""

    current: tuple[str, ...]  # the database's revisions (none: never migrated)
    heads: tuple[str, ...]  # the newest revisions this release knows
    unknown: tuple[str, ...] = ()  # the database's revisions this release does not know

    @property
    def at_head(self) -> bool:
        return set(self.current) == set(self.heads)

    @property
    def ahead(self) -> bool:
        """Migrated by a newer release (during a rolling upgrade, say)."""
        return bool(self.unknown)

    @property
    def usable(self) -> bool:
        """At head, or ahead: migrations add before they take away, so this release still
        works on a schema a newer one has migrated (old pods keep serving while new ones
        start)."""
        return self.at_head or self.ahead

    def describe(self) -> str:
        heads = ", ".join(self.heads)
        if self.at_head:
            return f"at head {heads}"
        if self.ahead:
            return f"at {', '.join(self.unknown)}, newer than this release's head {heads}"
        if not self.current:
            return f"not migrated (head is {heads})"
        return f"at {', '.join(self.current)}, behind head {heads}"


@dataclass(frozen=True)
class Migrations:
    """A service's migration environment.

    `package` holds `env.py` and `versions/`; `metadata` is the service's tables (what
    autogenerate compares against); `baseline` is the first revision, which creates the tables
    `baseline_tables` exactly as `create_all` made them before migrations existed.
    """

    package: str
    metadata: MetaData
    baseline: str
    baseline_tables: frozenset[str]
    # One lock per service schema: two processes starting at once migrate one after the other.
    lock_key: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lock_key", zlib.crc32(f"ndx-migrate:{self.package}".encode()))

    def config(self, connection: Connection | None = None) -> Config:
        """An Alembic config for this environment, handing `env.py` the connection to use."""
        cfg = Config()
        parent, _, leaf = self.package.rpartition(".")
        cfg.set_main_option("script_location", f"{parent}:{leaf}" if parent else leaf)
        cfg.attributes["connection"] = connection
        cfg.attributes["migrations"] = self
        return cfg

    @cached_property
    def scripts(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config())

    def history(self) -> list[Script]:
        """Every revision, newest first."""
        return list(self.scripts.walk_revisions())

    async def state(self, engine: AsyncEngine) -> SchemaState:
        """Where the database stands (raises if it cannot be reached)."""
        async with engine.connect() as conn:
            return await conn.run_sync(self._state)

    async def upgrade(self, engine: AsyncEngine, to: str = "head") -> SchemaState:
        """Migrates up to `to`; a schema made by `create_all` before migrations is adopted
        (its baseline stamped) first. Returns the state reached."""
        return await self._locked(engine, lambda conn: self._upgrade(conn, to))

    async def downgrade(self, engine: AsyncEngine, to: str) -> SchemaState:
        """Migrates down to `to` ("base": no tables left)."""

        def down(conn: Connection) -> SchemaState:
            command.downgrade(self.config(conn), to)
            return self._state(conn)

        return await self._locked(engine, down)

    async def differences(self, engine: AsyncEngine) -> list[Any]:
        """Where the database's schema and the models disagree (autogenerate's diff)."""

        def diff(conn: Connection) -> list[Any]:
            context = MigrationContext.configure(conn, opts=_compare_options(conn))
            return list(compare_metadata(context, self.metadata))

        async with engine.connect() as conn:
            return await conn.run_sync(diff)

    def _state(self, conn: Connection) -> SchemaState:
        # Read directly: readiness asks every few seconds, and a MigrationContext logs each time.
        current: tuple[str, ...] = ()
        if inspect(conn).has_table(VERSION_TABLE):
            query = text(f"SELECT version_num FROM {VERSION_TABLE} ORDER BY version_num")
            current = tuple(conn.execute(query).scalars())
        unknown = tuple(r for r in current if not self._knows(r))
        return SchemaState(current, tuple(self.scripts.get_heads()), unknown)

    def _knows(self, revision: str) -> bool:
        try:
            return self.scripts.get_revision(revision) is not None
        except CommandError:
            return False

    def _upgrade(self, conn: Connection, to: str) -> SchemaState:
        self._adopt(conn)
        before = self._state(conn)
        if before.ahead:
            log.warning("schema is newer than this release; not migrating", state=before.describe())
            return before
        command.upgrade(self.config(conn), to)
        after = self._state(conn)
        if after.current != before.current:
            log.info(
                "schema migrated",
                migrations=self.package,
                before=list(before.current),
                after=list(after.current),
            )
        return after

    def _adopt(self, conn: Connection) -> None:
        """Stamps the baseline on a schema `create_all` made (its tables, no version table)."""
        tables = set(inspect(conn).get_table_names())
        if VERSION_TABLE in tables:
            return
        present = tables & self.baseline_tables
        if not present:
            return
        missing = self.baseline_tables - present
        if missing:
            raise SchemaError(
                f"the database has {', '.join(sorted(present))} but not "
                f"{', '.join(sorted(missing))} and no {VERSION_TABLE} table: it is neither "
                "empty nor a schema NDX made; refusing to migrate it"
            )
        log.warning(
            "schema made before migrations; stamping its baseline",
            migrations=self.package,
            baseline=self.baseline,
        )
        command.stamp(self.config(conn), self.baseline)

    async def _locked(self, engine: AsyncEngine, migrate: Callable[[Connection], T]) -> T:
        """Runs `migrate` in one transaction that holds the schema's lock."""
        async with engine.connect() as conn:
            return await conn.run_sync(self._in_lock, migrate)

    def _in_lock(self, conn: Connection, migrate: Callable[[Connection], T]) -> T:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table by dropping it, which would cascade to the rows that
            # refer to it; the pragma only takes effect outside a transaction.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # takes the write lock now, not mid-way
        elif conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.lock_key})
        try:
            result = migrate(conn)
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise SchemaError(f"a migration left rows without their parent: {broken}")
            conn.commit()
        except BaseException:
            with contextlib.suppress(Exception):  # the error that got us here says more
                conn.rollback()
            raise
        finally:
            if sqlite:
                try:
                    conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                except Exception:
                    conn.invalidate()  # never back to the pool without its foreign keys
        return result


def _compare_options(conn: Connection) -> dict[str, Any]:
    return {
        "compare_type": True,
        "compare_server_default": True,
        "render_as_batch": conn.dialect.name == "sqlite",
        "version_table": VERSION_TABLE,
    }


def run_environment() -> None:
    """The body of every service's `env.py`: runs the migrations Alembic was asked for on the
    connection `Migrations` handed over."""
    from alembic import context

    connection = context.config.attributes.get("connection")
    migrations = context.config.attributes.get("migrations")
    if connection is None or not isinstance(migrations, Migrations) or context.is_offline_mode():
        raise SchemaError(
            "NDX migrations run through `ndx db upgrade SERVICE` or `ndx-<service> migrate`, "
            "not the alembic command"
        )
    context.configure(
        connection=connection,
        target_metadata=migrations.metadata,
        **_compare_options(connection),
    )
    with context.begin_transaction():
        context.run_migrations()
