"""Storing aggregates: one main table plus child tables keyed by the aggregate's key.

`AggregateQueries` reads (synchronous, for `Database.read` and for the write side through
`run_sync`); `AggregateRepository` loads aggregates for change inside a unit of work and writes
back those with pending events, checking the version it read. A registry supplies only the
tables and the row mapping.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, RowMapping, Table, delete, insert, select, update

from .aggregate import Aggregate, Op
from .db import WriteConnection
from .errors import AlreadyExists, StaleVersion

T = TypeVar("T", bound=Aggregate)

Children = Mapping[str, Sequence[RowMapping]]
CHUNK = 500


class AggregateQueries(Generic[T]):
    """Read-only lookups on a synchronous connection: no locks, no events."""

    table: ClassVar[Table]
    key: ClassVar[str]
    # Child tables, each with a column named like `key`; loaded with their aggregate.
    children: ClassVar[tuple[Table, ...]] = ()

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def from_row(self, row: RowMapping, children: Children) -> T:
        raise NotImplementedError

    def get(self, key: str) -> T | None:
        found = self.load([key])
        return found[0] if found else None

    def get_many(self, keys: Sequence[str]) -> dict[str, T]:
        """The aggregates on file among `keys`, by key."""
        found: dict[str, T] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), CHUNK):
            for entity in self.load(unique[start : start + CHUNK]):
                found[getattr(entity, self.key)] = entity
        return found

    def page(self, where: ColumnElement[bool], after: str, limit: int) -> list[T]:
        """Aggregates matching `where`, in key order, after the key `after` (keyset paging)."""
        column = self.table.c[self.key]
        query = select(self.table).where(where, column > after).order_by(column).limit(limit)
        return self.hydrate(self.conn.execute(query).mappings().all())

    def keys_where(self, child: Table, where: ColumnElement[bool]) -> list[str]:
        """Keys of the aggregates having a child row matching `where`, sorted."""
        query = select(child.c[self.key]).where(where).distinct()
        return sorted(r[0] for r in self.conn.execute(query))

    def load(self, keys: Sequence[str], *, for_update: bool = False) -> list[T]:
        """The aggregates with these keys, in key order; locked on PostgreSQL if `for_update`
        (always in key order, so concurrent writers cannot deadlock)."""
        if not keys:
            return []
        column = self.table.c[self.key]
        query = select(self.table).where(column.in_(keys)).order_by(column)
        if for_update and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return self.hydrate(self.conn.execute(query).mappings().all())

    def hydrate(self, rows: Sequence[RowMapping]) -> list[T]:
        if not rows:
            return []
        keys = [r[self.key] for r in rows]
        grouped: dict[str, dict[str, list[RowMapping]]] = defaultdict(lambda: defaultdict(list))
        for child in self.children:
            query = select(child).where(child.c[self.key].in_(keys))
            for r in self.conn.execute(query).mappings():
                grouped[r[self.key]][child.name].append(r)
        return [self.from_row(r, grouped[r[self.key]]) for r in rows]


class AggregateRepository(Generic[T]):
    """The write side: aggregates loaded here are written back on flush if they changed."""

    kind: ClassVar[str]
    queries: ClassVar[type[AggregateQueries[Any]]]
    # The aggregate field each child table stores, where the names differ.
    child_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, conn: WriteConnection) -> None:
        self._conn = conn
        self._loaded: dict[str, int] = {}
        # One object per aggregate in a unit of work, however often it is loaded.
        self._identity: dict[str, T] = {}
        self.seen: list[T] = []

    # -- what a registry supplies -------------------------------------------------------------

    def to_row(self, entity: T) -> dict[str, Any]:
        raise NotImplementedError

    def child_rows(self, entity: T) -> dict[str, list[dict[str, Any]]]:
        """Rows of each child table (by table name); rewritten whole on every change."""
        return {}

    # -- shared -----------------------------------------------------------------------------

    @property
    def table(self) -> Table:
        return self.queries.table

    def key_of(self, entity: T) -> str:
        return str(getattr(entity, self.queries.key))

    async def get(self, key: str) -> T | None:
        found = await self.get_many([key])
        return found[0] if found else None

    async def get_many(self, keys: Sequence[str]) -> list[T]:
        """Loads for change, in key order (locked on PostgreSQL); an aggregate loaded before
        in this unit of work is the same object, pending changes included."""
        wanted = sorted(set(keys))
        missing = [k for k in wanted if k not in self._identity]
        if missing:
            loaded: list[T] = await self._conn.run_sync(
                lambda c: self.queries(c).load(missing, for_update=True)
            )
            for entity in loaded:
                key = self.key_of(entity)
                self._loaded[key] = entity.version
                self._identity[key] = entity
                self.seen.append(entity)
        return [self._identity[k] for k in wanted if k in self._identity]

    async def having(self, child: Table, where: ColumnElement[bool]) -> list[T]:
        """Loads for change every aggregate with a child row matching `where`."""
        keys = await self._conn.run_sync(lambda c: self.queries(c).keys_where(child, where))
        return await self.get_many(keys)

    def add(self, entity: T) -> None:
        self._identity.setdefault(self.key_of(entity), entity)
        self.seen.append(entity)

    async def flush(self) -> None:
        """Writes every seen aggregate with pending changes."""
        for entity in self.seen:
            if not entity.events:
                continue
            if entity.events[0].op == Op.CREATE:
                await self._insert(entity)
            else:
                await self._update(entity)

    async def _insert(self, entity: T) -> None:
        key = self.key_of(entity)
        column = self.table.c[self.queries.key]
        exists = await self._conn.execute(select(column).where(column == key))
        if exists.first() is not None:
            raise AlreadyExists(self.kind, key)
        await self._conn.execute(insert(self.table).values(self.to_row(entity)))
        await self._write_children(entity, replace=False)

    async def _update(self, entity: T) -> None:
        key = self.key_of(entity)
        loaded = self._loaded[key]
        row = self.to_row(entity)
        del row[self.queries.key]
        table = self.table
        result = await self._conn.execute(
            update(table)
            .where(table.c[self.queries.key] == key, table.c.version == loaded)
            .values(row)
        )
        if result.rowcount != 1:
            # Another writer got in between our read and our write.
            raise StaleVersion(key, loaded, -1)
        changed = {name for change in entity.events for name in change.changed_fields}
        await self._write_children(entity, replace=True, changed=changed)

    async def _write_children(
        self, entity: T, *, replace: bool, changed: set[str] | None = None
    ) -> None:
        """Writes the child rows; on an update only those of the fields that changed."""
        key = self.key_of(entity)
        rows = self.child_rows(entity)
        for child in self.queries.children:
            if changed is not None and self.child_fields.get(child.name, child.name) not in changed:
                continue
            if replace:
                await self._conn.execute(delete(child).where(child.c[self.queries.key] == key))
            if rows.get(child.name):
                await self._conn.execute(insert(child), rows[child.name])
