"""The unit of work: one transaction for the row changes and their outbox events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Self

from google.protobuf.message import Message
from sqlalchemy import Table, insert

from .aggregate import Change
from .db import Database, WriteConnection
from .envelope import EventRecord, change_event
from .inbox import record_applied
from .outbox import encode_headers
from .repository import AggregateRepository


class SqlUnitOfWork:
    """Subclasses build their repositories on `self.connection` in `_open`."""

    def __init__(
        self, db: Database, outbox: Table, on_commit: Callable[[], None] | None = None
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._on_commit = on_commit
        self._pending: list[EventRecord] = []
        self._conn: WriteConnection | None = None
        # Versions of another registry's entities to record as applied on commit:
        # (inbox table, source, {entity id: version}).
        self.applied: tuple[Table, str, dict[str, int]] | None = None

    @property
    def connection(self) -> WriteConnection:
        assert self._conn is not None, "unit of work used outside 'async with'"
        return self._conn

    async def __aenter__(self) -> Self:
        await self._db.write_lock.__aenter__()
        try:
            self._conn = await self._db.connect_for_write()
            await self._conn.begin()
        except BaseException:
            await self._db.write_lock.__aexit__(None, None, None)
            raise
        self._pending = []
        self._open(self._conn)
        return self

    def _open(self, connection: WriteConnection) -> None:
        """Hook for subclasses: build repositories on the connection."""

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._conn is not None:
                if self._conn.in_transaction():
                    await self._conn.rollback()
                await self._conn.close()
        finally:
            self._conn = None
            await self._db.write_lock.__aexit__(et, e, tb)

    def publish(self, record: EventRecord) -> None:
        """Queues an event; it is written to the outbox by commit, in the same transaction."""
        self._pending.append(record)

    async def commit(self) -> None:
        if self.applied is not None:
            inbox, source, versions = self.applied
            await self.connection.run_sync(lambda c: record_applied(c, inbox, source, versions))
        if self._pending:
            now = datetime.now(UTC)
            await self.connection.execute(
                insert(self._outbox),
                [
                    {
                        "topic": r.topic,
                        "key": r.key,
                        "value": r.value,
                        "headers": encode_headers(r.headers),
                        "created_at": now,
                    }
                    for r in self._pending
                ],
            )
        await self.connection.commit()
        had_events, self._pending = bool(self._pending), []
        if had_events and self._on_commit is not None:
            self._on_commit()

    async def rollback(self) -> None:
        self._pending = []
        await self.connection.rollback()


class RegistryUnitOfWork(SqlUnitOfWork):
    """A registry's unit of work: on commit its repositories write the changed aggregates and
    every pending change becomes a CloudEvents record on the registry's topic, in the same
    transaction. Subclasses name their repositories in `stores` ((attribute, class) pairs) and the
    protobuf change event of a change in `event`.
    """

    topic: str
    source: str
    stores: ClassVar[tuple[tuple[str, type[AggregateRepository[Any]]], ...]]

    def _open(self, connection: WriteConnection) -> None:
        for name, store in self.stores:
            setattr(self, name, store(connection))

    def repositories(self) -> list[AggregateRepository[Any]]:
        return [getattr(self, name) for name, _ in self.stores]

    def event(self, change: Change[Any]) -> Message:
        raise NotImplementedError

    async def commit(self) -> None:
        for repository in self.repositories():
            await repository.flush()
            for entity in repository.seen:
                for change in entity.events:
                    self.publish(
                        change_event(
                            self.topic,
                            self.event(change),
                            key=repository.key_of(entity),
                            source=self.source,
                            time=entity.updated_at,
                        )
                    )
                entity.events.clear()
        await super().commit()
