"""`ndx events replay`: produces a recorded event file into the same or renamed topics."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from ndx_runtime.batches import Outgoing, send_batches
from ndx_runtime.kafka import create_producer
from ndx_runtime.kafka_connection import KafkaTarget
from ndx_runtime.topics import TopicSpec, ensure_topics, topic_partitions

from .event_file import RecordedEvent, read_events, valid_topic_name
from .pacing import Pacing

# (records produced so far, records in the file)
Progress = Callable[[int, int], None]

# The file is read twice (validated in full before anything is produced) unless its records
# fit in this much memory, in which case the validated records are produced from memory.
MEMORY_LIMIT = 512 * 1024 * 1024
# Records handed to the producer at a time when not paced: large enough for full batches on
# every partition, small enough to notice a failed batch early.
CHUNK = 5000


@dataclass(frozen=True)
class Route:
    """Where one source topic's records go."""

    source: str
    target: str
    records: int
    bytes: int
    source_partitions: int
    target_partitions: int
    created: bool  # the target did not exist (it is created, or would be, like the source)

    @property
    def placement(self) -> str:
        if self.source_partitions == self.target_partitions:
            return "same partition as recorded"
        return (
            f"by key over {self.target_partitions} partitions (source had {self.source_partitions})"
        )


@dataclass(frozen=True)
class ReplaySummary:
    path: Path
    records: int
    bytes: int  # keys, values and headers
    seconds: float
    dry_run: bool
    routes: list[Route] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


@dataclass
class _Source:
    partitions: int = 0  # the largest count any of its records names
    records: int = 0
    bytes: int = 0


@dataclass
class _Scan:
    """What validating the whole file found."""

    events: list[RecordedEvent] | None = field(default_factory=list)  # None: did not fit
    records: int = 0
    bytes: int = 0
    first_timestamp: int | None = None
    sources: dict[str, _Source] = field(default_factory=dict)


async def replay(
    kafka: KafkaTarget,
    path: Path | str,
    *,
    topic_prefix: str = "",
    topic_map: Mapping[str, str] | None = None,
    speed: float | None = None,
    rate: float | None = None,
    dry_run: bool = False,
    on_progress: Progress | None = None,
    memory_limit: int = MEMORY_LIMIT,
) -> ReplaySummary:
    """Produces every record of the file at `path`, byte for byte (key, headers, value).

    A source topic goes to `topic_map[source]` when mapped, else to `topic_prefix + source`.
    Each record keeps its partition when the target has as many partitions as the source had,
    else it is placed by its key (the Java client's hash), so per-key order holds either way.
    Missing targets are created with the source's partition count; existing ones are left as
    they are. The whole file is validated first: a bad line raises EventFileError (file:line)
    before anything is produced or created. `speed` replays the recorded gaps that many times
    faster, `rate` sends that many records a second, neither sends as fast as Kafka acks.
    """
    pacing = Pacing(speed, rate)  # refuses bad pacing before the file is read
    with _gc_paused():
        return await _replay(
            kafka,
            Path(path),
            topic_prefix,
            dict(topic_map or {}),
            pacing,
            dry_run,
            on_progress,
            memory_limit,
        )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pauses cyclic garbage collection: with the file's records in memory, every collection
    would walk them all again, which costs more than parsing them did. Reference counting
    still frees everything; cycles made meanwhile are collected afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _replay(
    kafka: KafkaTarget,
    path: Path,
    topic_prefix: str,
    topic_map: dict[str, str],
    pacing: Pacing,
    dry_run: bool,
    on_progress: Progress | None,
    memory_limit: int,
) -> ReplaySummary:
    started = time.perf_counter()
    scan = await asyncio.to_thread(_scan, path, memory_limit)
    routes = await _routes(kafka, scan, topic_prefix, topic_map)
    if dry_run or not scan.records:
        return ReplaySummary(
            path, scan.records, scan.bytes, time.perf_counter() - started, dry_run, routes
        )
    await ensure_topics(
        kafka, [TopicSpec(r.target, r.target_partitions) for r in routes if r.created]
    )
    pacing = replace(pacing, first_timestamp=scan.first_timestamp or 0)
    events = scan.events if scan.events is not None else (e for _, e in read_events(path))
    producer = create_producer(kafka, "ndx-replay")
    await producer.start()
    try:
        await _Sender(producer, routes, pacing, scan.records, on_progress).run(iter(events))
    finally:
        await producer.stop()
    return ReplaySummary(
        path, scan.records, scan.bytes, time.perf_counter() - started, dry_run, routes
    )


def _scan(path: Path, memory_limit: int) -> _Scan:
    scan = _Scan()
    for _, event in read_events(path):
        size = event.size()
        scan.records += 1
        scan.bytes += size
        if scan.events is not None:
            if scan.bytes <= memory_limit:
                scan.events.append(event)
            else:
                scan.events = None
        source = scan.sources.setdefault(event.topic, _Source())
        source.partitions = max(source.partitions, event.partitions)
        source.records += 1
        source.bytes += size
        if scan.first_timestamp is None or event.timestamp < scan.first_timestamp:
            scan.first_timestamp = event.timestamp
    return scan


async def _routes(
    kafka: KafkaTarget, scan: _Scan, prefix: str, topic_map: dict[str, str]
) -> list[Route]:
    unknown = sorted(set(topic_map) - set(scan.sources))
    if unknown and scan.records:
        raise ValueError(
            f"--map names {', '.join(unknown)}, which the file does not contain "
            f"(it has: {', '.join(sorted(scan.sources))})"
        )
    targets = {s: topic_map.get(s, prefix + s) for s in scan.sources}
    for source, target in targets.items():
        if not valid_topic_name(target):
            raise ValueError(
                f"{target!r} (for {source}) is not a Kafka topic name: up to 249 of "
                "a-z A-Z 0-9 . _ -"
            )
    # A target fed by several sources is created with the most partitions any of them had.
    wanted: dict[str, int] = {}
    for source, target in targets.items():
        wanted[target] = max(wanted.get(target, 0), scan.sources[source].partitions)
    existing = {t: await topic_partitions(kafka, t) for t in wanted}
    return [
        Route(
            source=s,
            target=t,
            records=scan.sources[s].records,
            bytes=scan.sources[s].bytes,
            source_partitions=scan.sources[s].partitions,
            target_partitions=existing[t] or wanted[t],
            created=existing[t] is None,
        )
        for s, t in sorted(targets.items())
    ]


class _Sender:
    """Hands records to the producer in per-partition batches, paced when asked."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        routes: list[Route],
        pacing: Pacing,
        total: int,
        on_progress: Progress | None,
    ) -> None:
        self.producer, self.pacing, self.total = producer, pacing, total
        self.on_progress = on_progress
        self.routes = {r.source: r for r in routes}
        self.partitioner = DefaultPartitioner()
        self.groups: dict[tuple[str, int], list[Outgoing]] = {}
        self.pending = 0
        self.sent = 0
        self.acks: list[asyncio.Future[Any]] = []

    async def run(self, events: Iterator[RecordedEvent]) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        pacing, routes, partitioner = self.pacing, self.routes, self.partitioner
        placed: dict[str, tuple[str, bool, list[int]]] = {
            r.source: (
                r.target,
                r.source_partitions == r.target_partitions,
                list(range(r.target_partitions)),
            )
            for r in routes.values()
        }
        for index, event in enumerate(events):
            if pacing.paced:
                wait = start + pacing.due(index, event.timestamp) - loop.time()
                if wait > 0:
                    await self._flush()
                    await asyncio.sleep(wait)
            target, same, partitions = placed[event.topic]
            if same:
                partition = event.partition
            elif event.key is None:  # no key, no order to keep: spread as recorded
                partition = event.partition % len(partitions)
            else:
                partition = partitioner(event.key, partitions, partitions)
            group = self.groups.get((target, partition))
            if group is None:
                group = self.groups[(target, partition)] = []
            group.append((event.key, event.value, event.headers))
            self.pending += 1
            if self.pending >= CHUNK:
                await self._flush()
        await self._flush()
        await asyncio.gather(*self.acks)

    async def _flush(self) -> None:
        if not self.pending:
            return
        groups, self.groups = self.groups, {}
        self.acks.extend(await send_batches(self.producer, groups))
        self.sent += self.pending
        self.pending = 0
        # A batch Kafka refused stops the replay now, not after the whole file went by.
        still = []
        for ack in self.acks:
            if not ack.done():
                still.append(ack)
            elif ack.exception() is not None:
                raise ack.exception()  # type: ignore[misc]
        self.acks = still
        if self.on_progress is not None:
            self.on_progress(self.sent, self.total)
