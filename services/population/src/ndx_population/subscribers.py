"""For registries that mirror citizens: reading the population registry's change events.

A registry supplies what to do when a citizen is renamed or dies; this module decodes the
event, skips versions already applied (the inbox), and records the applied version in the
same transaction as the registry's own changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import structlog
from google.protobuf.message import DecodeError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Column, Connection, Table, select

from ndx.common.v1 import types_pb2
from ndx.population.v1 import events_pb2
from ndx_runtime.consumer import BatchHandler, Delivery, EventConsumer, PoisonRecord
from ndx_runtime.db import Database
from ndx_runtime.envelope import header
from ndx_runtime.inbox import applied_versions
from ndx_runtime.metrics import Metrics
from ndx_runtime.proto_values import date_from_proto
from ndx_runtime.service import RunningService
from ndx_runtime.settings import ServiceSettings
from ndx_runtime.topics import ensure_topics, entity_topic
from ndx_runtime.uow import SqlUnitOfWork

from .config import PARTITIONS, TOPIC

log = structlog.get_logger(__name__)

SOURCE = "ndx.population.citizen"
EVENT_TYPE = events_pb2.CitizenChanged.DESCRIPTOR.full_name


@dataclass(frozen=True)
class CitizenFacts:
    """What a mirroring registry needs from one citizen change."""

    citizen_id: str
    version: int
    renamed_to: str | None
    died_on: date | None
    # When the citizen changed: what a registry stamps on the changes it derives, so that
    # applying the same events again (a replay, another environment) gives the same state.
    changed_at: datetime


def citizen_facts(delivery: Delivery) -> CitizenFacts | None:
    """The facts in a CitizenChanged record; None for a tombstone; PoisonRecord if unreadable,
    of another type or keyed by anything but its citizen id."""
    if delivery.value is None:
        return None
    ce_type = header(delivery.headers, "ce_type")
    if ce_type is None:
        raise PoisonRecord(f"no ce_type header (expected {EVENT_TYPE})")
    if ce_type != EVENT_TYPE:
        raise PoisonRecord(f"unexpected event type {ce_type!r} (expected {EVENT_TYPE})")
    try:
        event = events_pb2.CitizenChanged.FromString(delivery.value)
    except DecodeError as e:
        raise PoisonRecord(f"not a {EVENT_TYPE}: {e}") from None
    if not event.citizen_id or event.version <= 0 or event.op == types_pb2.CHANGE_OP_UNSPECIFIED:
        raise PoisonRecord("CitizenChanged without citizen_id, version or op")
    if delivery.key != event.citizen_id:
        # Per-citizen order holds only within the citizen's partition, chosen by the key: a
        # change keyed otherwise may overtake an earlier one, which would then be skipped.
        raise PoisonRecord(f"key {delivery.key!r} is not the citizen id {event.citizen_id!r}")
    changed = set(event.changed_fields.paths)
    renamed = event.after.full_name if "full_name" in changed and event.after.full_name else None
    died = None
    if "date_of_death" in changed and event.after.HasField("date_of_death"):
        died = date_from_proto(event.after.date_of_death, "after.date_of_death")
    return CitizenFacts(event.citizen_id, event.version, renamed, died, _changed_at(event))


def _changed_at(event: events_pb2.CitizenChanged) -> datetime:
    if event.HasField("change_time"):
        return event.change_time.ToDatetime(tzinfo=UTC)
    # Every registry sets change_time; an event without one is stamped when it is applied.
    return datetime.now(UTC)


# A registry's reaction to one fact about one citizen (id, the fact, when the citizen
# changed), inside an open unit of work (the handler commits); returns how many of the
# registry's aggregates changed.
Apply = Callable[[str, Any, datetime, Any], Awaitable[int]]


def referenced(conn: Connection, column: Column[str], citizen_ids: set[str]) -> set[str]:
    """The citizens among `citizen_ids` that appear in `column` (a registry's reference)."""
    found: set[str] = set()
    ids = sorted(citizen_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(conn.execute(select(column).where(column.in_(chunk)).distinct()).scalars())
    return found


def citizen_event_handler(
    db: Database,
    inbox: Table,
    new_uow: Callable[[], SqlUnitOfWork],
    *,
    references: Column[str],
    renamed: Apply,
    died: Apply,
) -> BatchHandler:
    """A consumer batch handler applying renames and deaths through the registry's own use
    cases, in one transaction per batch with the versions applied. Only citizens found in
    `references` (the registry's column of citizen ids) can change anything; the others are
    only recorded as seen."""

    def look_up(conn: Connection, ids: set[str]) -> tuple[dict[str, int], set[str]]:
        return applied_versions(conn, inbox, SOURCE, ids), referenced(conn, references, ids)

    async def handle(batch: list[Delivery]) -> int:
        """Returns how many records changed nothing (tombstones, versions already applied)."""
        facts = [f for f in map(citizen_facts, batch) if f is not None]
        skipped = len(batch) - len(facts)
        if not facts:
            return skipped
        ids = {f.citizen_id for f in facts}
        applied, mirrored = await db.read(lambda c: look_up(c, ids))
        uow = new_uow()
        async with uow:
            for f in facts:
                if f.version <= applied.get(f.citizen_id, 0):
                    skipped += 1
                    continue  # a redelivery or a replay: already applied
                if f.citizen_id in mirrored:
                    changed = 0
                    if f.renamed_to is not None:
                        changed += await renamed(f.citizen_id, f.renamed_to, f.changed_at, uow)
                    if f.died_on is not None:
                        changed += await died(f.citizen_id, f.died_on, f.changed_at, uow)
                    log.debug(
                        "citizen change applied",
                        citizen_id=f.citizen_id,
                        version=f.version,
                        changed=changed,
                    )
                applied[f.citizen_id] = f.version
            uow.applied = (inbox, SOURCE, {i: applied[i] for i in ids if i in applied})
            await uow.commit()
        return skipped

    return handle


class FollowsCitizens(BaseSettings):
    """Settings of a registry that mirrors citizens (mixed into its service settings)."""

    model_config = SettingsConfigDict(use_attribute_docstrings=True)

    follow_citizens: bool = True
    """Apply the population registry's citizen events (renames, deaths); false only for a
    registry tested on its own."""
    citizen_topic: str = TOPIC
    """Topic of the citizens' change events, read by this registry."""
    consumer_group: str = ""
    """Consumer group reading `citizen_topic`; each registry has its own."""


async def follow_citizens(
    service: RunningService,
    new_uow: Callable[[], SqlUnitOfWork],
    *,
    inbox: Table,
    references: Column[str],
    renamed: Apply,
    died: Apply,
) -> EventConsumer | None:
    """Starts a consumer group on the citizen topic applying renames and deaths, unless the
    settings turn it off; the service stops it on shutdown. The topic is created as the
    population registry would create it if it does not exist yet, so the group is assigned
    its partitions from the start."""
    settings = service.settings
    assert isinstance(settings, FollowsCitizens), (
        "the service's settings must mix in FollowsCitizens"
    )
    if not settings.follow_citizens:
        return None
    spec = entity_topic(settings.citizen_topic, PARTITIONS)
    kafka = settings.kafka
    await ensure_topics(kafka, [spec])
    handler = citizen_event_handler(
        service.db, inbox, new_uow, references=references, renamed=renamed, died=died
    )
    consumer = citizen_consumer(settings, handler, service.metrics)
    await service.add_consumer(consumer)
    return consumer


def citizen_consumer(
    settings: ServiceSettings, handler: BatchHandler, metrics: Metrics | None = None
) -> EventConsumer:
    """The registry's consumer group on the citizen topic (not started)."""
    assert isinstance(settings, FollowsCitizens)
    return EventConsumer(
        settings.kafka,
        settings.citizen_topic,
        settings.consumer_group or f"ndx-{settings.service_name}",
        batch_handler=handler,
        client_id=f"ndx-{settings.service_name}",
        grace_seconds=settings.shutdown_grace_seconds,
        metrics=metrics,
    )
