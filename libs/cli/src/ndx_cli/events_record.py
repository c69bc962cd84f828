"""`ndx events record`: copies records of Kafka topics into an event file (see event_file)."""

from __future__ import annotations

import asyncio
import heapq
import io
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from ndx_runtime.kafka import offsets_at, timestamp_ms
from ndx_runtime.kafka_connection import KafkaTarget, kafka_options
from ndx_runtime.topics import topic_partitions

from .event_file import RecordedEvent, gzipped, open_write, to_line
from .events_tail import decode_value
from .positions import Position

# (offsets read so far, offsets to read in all; None when following)
Progress = Callable[[int, int | None], None]

# A bounded recording that receives nothing for this long while short of its end offsets
# stops and says which partitions it could not finish, instead of waiting forever.
STALL_SECONDS = 30.0


@dataclass(frozen=True)
class RecordSummary:
    path: Path
    records: int  # written to the file
    scanned: int  # read from Kafka, before the key and type filters
    bytes: int  # size of the file
    seconds: float
    per_topic: dict[str, int]
    # "topic[partition]" -> offsets that were due but never arrived (a stalled recording)
    incomplete: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


@dataclass
class _Partition:
    first: int  # first offset to record
    stop: int | None  # first offset not to record; None: follow
    reached: int  # next offset to read


async def record(
    kafka: KafkaTarget,
    topics: Sequence[str],
    path: Path | str,
    *,
    start: Position | None = None,
    end: Position | None = None,
    key: str | Iterable[str] | None = None,
    ce_type: str | Iterable[str] | None = None,
    follow: bool = False,
    decode: bool = True,
    idle_timeout: float | None = None,
    stop: asyncio.Event | None = None,
    on_progress: Progress | None = None,
) -> RecordSummary:
    """Writes the records of `topics` to `path` (NDJSON, gzip when it ends in .gz).

    `start` (inclusive) and `end` (exclusive) are an offset for every partition or a time
    (the first offset at or after it, as Kafka's offsets-for-times). Without `follow` the
    recording stops at the end offsets of when it began; with it, at `end`, after
    `idle_timeout` quiet seconds, or when `stop` is set. `key` and `ce_type` keep only records
    with one of these keys or CloudEvents types; tombstones pass the type filter (they have no
    type, and dropping them would resurrect deleted entities on replay). The file is written
    as `<path>.partial` and renamed when the recording ends normally.
    """
    path = Path(path)
    keys = {k.encode() for k in _as_set(key)}
    types = {t.encode() for t in _as_set(ce_type)}
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(
        **kafka_options(kafka),
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # retention passing the position must not skip to the end
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        counts: dict[str, int] = {}
        for topic in dict.fromkeys(topics):
            count = await topic_partitions(kafka, topic)
            if not count:
                raise LookupError(f"topic {topic!r} does not exist")
            counts[topic] = count
        tps = [TopicPartition(t, p) for t, n in counts.items() for p in range(n)]
        consumer.assign(tps)
        parts = await _ranges(consumer, tps, start, end, follow)
        for tp, part in parts.items():
            consumer.seek(tp, part.first)
        partial = path.with_name(path.name + ".partial")
        with open_write(partial, compress=gzipped(path)) as out:
            copy = _Copy(consumer, out, counts, parts, keys, types, decode, on_progress)
            copy.end_ms = timestamp_ms(end) if isinstance(end, datetime) else None
            await copy.run(idle_timeout if follow else None, stop)
        partial.replace(path)
    finally:
        await consumer.stop()
    return RecordSummary(
        path=path,
        records=copy.written,
        scanned=copy.scanned,
        bytes=path.stat().st_size,
        seconds=time.perf_counter() - started,
        per_topic=copy.per_topic,
        incomplete=copy.incomplete,
    )


def _as_set(value: str | Iterable[str] | None) -> set[str]:
    if value is None:
        return set()
    return {value} if isinstance(value, str) else set(value)


async def _ranges(
    consumer: AIOKafkaConsumer,
    tps: list[TopicPartition],
    start: Position | None,
    end: Position | None,
    follow: bool,
) -> dict[TopicPartition, _Partition]:
    """Resolves start and end to offsets per partition."""
    begins = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)

    firsts: dict[TopicPartition, int]
    if start is None:
        firsts = dict(begins)
    elif isinstance(start, datetime):
        firsts = await offsets_at(consumer, start, ends)
    else:
        firsts = {tp: max(start, begins[tp]) for tp in tps}
    stops: dict[TopicPartition, int | None]
    if end is None:
        stops = {tp: None if follow else ends[tp] for tp in tps}
    elif isinstance(end, datetime):
        # No record at or after `end` yet: bounded, the end now; following, the time check.
        stops = await offsets_at(consumer, end, {tp: None if follow else ends[tp] for tp in tps})
    else:
        stops = {tp: end if follow else min(end, ends[tp]) for tp in tps}
    # An offset beyond the end cannot be sought (the consumer would reset): seek to the end
    # and skip what comes before `first`.
    return {
        tp: _Partition(firsts[tp], stops[tp], min(firsts[tp], ends[tp]))
        for tp in tps
        if stops[tp] is None or firsts[tp] < stops[tp]  # type: ignore[operator]
    }


class _Copy:
    """The recording loop: fetch, bound, filter, write."""

    end_ms: int | None = None

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        out: io.BufferedIOBase,
        counts: dict[str, int],
        parts: dict[TopicPartition, _Partition],
        keys: set[bytes],
        types: set[bytes],
        decode: bool,
        on_progress: Progress | None,
    ) -> None:
        self.consumer, self.out, self.counts, self.parts = consumer, out, counts, parts
        self.keys, self.types, self.decode, self.on_progress = keys, types, decode, on_progress
        self.active = dict(parts)
        self.written = self.scanned = 0
        self.per_topic: dict[str, int] = {}
        self.incomplete: dict[str, int] = {}
        stops = [p.stop - p.first for p in parts.values() if p.stop is not None]
        self.total = sum(stops) if len(stops) == len(parts) else None  # None: following

    async def run(self, idle_timeout: float | None, stop: asyncio.Event | None) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        quiet_limit = STALL_SECONDS if self.total is not None else idle_timeout
        while self.active and not (stop is not None and stop.is_set()):
            batch = await self.consumer.getmany(*self.active, timeout_ms=200)
            if batch:
                last = loop.time()
                self._write(batch)
            await self._finish_reached()
            if quiet_limit is not None and loop.time() - last >= quiet_limit:
                break
            self._progress()
        if self.total is not None:
            for tp, p in self.active.items():
                if p.stop is not None:
                    self.incomplete[f"{tp.topic}[{tp.partition}]"] = p.stop - p.reached

    def _write(self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        kept: list[list[ConsumerRecord[bytes, bytes]]] = []
        for tp, records in batch.items():
            part = self.active.get(tp)
            if part is None:
                continue
            mine = []
            for r in records:
                if (part.stop is not None and r.offset >= part.stop) or (
                    self.end_ms is not None and r.timestamp >= self.end_ms
                ):
                    del self.active[tp]
                    break
                part.reached = r.offset + 1
                if r.offset < part.first:
                    continue
                self.scanned += 1
                if self._wanted(r):
                    mine.append(r)
            kept.append(mine)
        # Merged by time across partitions, so a paced replay follows the recorded timeline;
        # merging keeps each partition's own order.
        ordered = kept[0] if len(kept) == 1 else heapq.merge(*kept, key=lambda r: r.timestamp)
        lines = []
        for r in ordered:
            headers = list(r.headers or ())
            event = RecordedEvent(
                r.topic,
                r.partition,
                self.counts[r.topic],
                r.offset,
                r.timestamp,
                r.key,
                headers,
                r.value,
            )
            decoded = decode_value(headers, r.value) if self.decode and r.value else None
            lines.append(to_line(event, decoded))
            self.per_topic[r.topic] = self.per_topic.get(r.topic, 0) + 1
        self.written += len(lines)
        self.out.write(b"".join(lines))

    def _wanted(self, r: ConsumerRecord[bytes, bytes]) -> bool:
        if self.keys and r.key not in self.keys:
            return False
        if self.types and r.value is not None:
            ce_type = next((v for k, v in r.headers or () if k == "ce_type"), None)
            return ce_type in self.types
        return True

    async def _finish_reached(self) -> None:
        """Partitions whose position passed their end (the last offsets may be compaction gaps
        or transaction markers, which never arrive as records)."""
        for tp, part in list(self.active.items()):
            if part.stop is not None:
                part.reached = max(part.reached, await self.consumer.position(tp))
                if part.reached >= part.stop:
                    del self.active[tp]

    def _progress(self) -> None:
        if self.on_progress is None:
            return
        done = sum(
            (p.stop if tp not in self.active and p.stop is not None else p.reached) - p.first
            for tp, p in self.parts.items()
        )
        self.on_progress(max(done, 0), self.total)
