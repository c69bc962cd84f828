"""`ndx events record` and `replay` against the real broker: byte-exact round trips, bounds,
filters, pacing, and files that must not be replayed."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from aiokafka import ConsumerRecord

from ndx.population.v1.events_pb2 import CitizenChanged
from ndx_cli.event_file import EventFileError
from ndx_cli.events_record import RecordSummary, record
from ndx_cli.events_replay import replay
from ndx_runtime.kafka import create_producer, read_topic
from ndx_runtime.topics import TopicSpec, ensure_topics, topic_partitions

CE_TYPE = "ndx.population.v1.CitizenChanged"
BASE_MS = 1_760_000_000_000  # record timestamps: BASE_MS + i seconds


def typed(citizen_id: str, version: int) -> tuple[bytes, list[tuple[str, bytes]]]:
    event = CitizenChanged(citizen_id=citizen_id, version=version)
    return event.SerializeToString(), [
        ("ce_type", CE_TYPE.encode()),
        ("ce_id", f"{citizen_id}-{version}".encode()),
    ]


def source_records() -> list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]:
    """Several versions per key, a tombstone, an empty value, non-UTF-8 bytes in a key and in
    a header, a repeated header name, and a record of another type."""
    out: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
    for version in range(1, 5):
        for cid in ("001190000001", "001190000002", "079085000003"):
            value, headers = typed(cid, version)
            out.append((cid.encode(), value, headers))
    out.append((b"001190000001", None, []))  # tombstone
    out.append(
        (
            b"\xff\xfe-binary-key",
            b"",
            [("x-bin", b"\x00\x80\xff"), ("x-bin", b"again"), ("x-null", None)],  # type: ignore[list-item]
        )
    )
    out.append((b"001190000002", b"\x01\x02", [("ce_type", b"ndx.other.v1.Unknown")]))
    return out


async def produce(
    bootstrap: str,
    topic: str,
    records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]],
    *,
    first_ms: int = BASE_MS,
) -> None:
    producer = create_producer(bootstrap, "test")
    await producer.start()
    try:
        for i, (key, value, headers) in enumerate(records):
            await (
                await producer.send(
                    topic, value, key=key, headers=headers, timestamp_ms=first_ms + i * 1000
                )
            )
    finally:
        await producer.stop()


async def recorded(
    bootstrap: str,
    topic: str,
    partitions: int,
    records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]],
    path: Path,
) -> RecordSummary:
    """A new topic holding `records`, recorded whole to `path`."""
    await ensure_topics(bootstrap, [TopicSpec(topic, partitions)])
    await produce(bootstrap, topic, records)
    return await record(bootstrap, [topic], path)


Seen = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


def by_partition(records: list[ConsumerRecord[bytes, bytes]]) -> dict[int, list[Seen]]:
    out: dict[int, list[Seen]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        out[r.partition].append((r.key, r.value, list(r.headers)))
    return dict(out)


def by_key(records: list[ConsumerRecord[bytes, bytes]]) -> dict[bytes | None, list[Seen]]:
    out: dict[bytes | None, list[Seen]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        out[r.key].append((r.key, r.value, list(r.headers)))
    return dict(out)


def lines(path: Path) -> list[dict[str, object]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        return [orjson.loads(line) for line in f]


async def test_round_trip_is_byte_exact(kafka_bootstrap: str, unique: str, tmp_path: Path) -> None:
    source = f"test.{unique}.src"
    path = tmp_path / "events.ndjson"

    summary = await recorded(kafka_bootstrap, source, 3, source_records(), path)

    assert (summary.records, summary.per_topic, summary.incomplete) == (15, {source: 15}, {})
    assert not path.with_name(path.name + ".partial").exists()
    rows = lines(path)
    assert {r["partitions"] for r in rows} == {3}
    binary = next(r for r in rows if isinstance(r["key"], dict))
    assert binary["key"] == {"base64": "//4tYmluYXJ5LWtleQ=="}
    assert binary["headers"] == [
        ["x-bin", {"base64": "AID/"}],
        ["x-bin", "again"],
        ["x-null", None],
    ]
    assert binary["value"] == ""
    assert any(r["value"] is None for r in rows)  # the tombstone
    decoded = [r["decoded"] for r in rows if "decoded" in r]
    assert len(decoded) == 12
    assert {"citizen_id": "079085000003", "version": "4"} in decoded

    target = f"test-{source}"
    replayed = await replay(kafka_bootstrap, path, topic_prefix="test-")

    assert replayed.records == 15
    [route] = replayed.routes
    assert (route.target, route.created, route.target_partitions) == (target, True, 3)
    assert await topic_partitions(kafka_bootstrap, target) == 3  # created like the source
    original = await read_topic(kafka_bootstrap, source, at_least=15)
    copied = await read_topic(kafka_bootstrap, target, at_least=15)
    assert by_partition(copied) == by_partition(original)


async def test_gzip_and_map_into_a_topic_with_other_partitions_keep_per_key_order(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    source, target = f"test.{unique}.dlq", f"test.{unique}.main"
    await ensure_topics(kafka_bootstrap, [TopicSpec(source, 1), TopicSpec(target, 4)])
    await produce(kafka_bootstrap, source, source_records())
    path = tmp_path / "dlq.ndjson.gz"
    await record(kafka_bootstrap, [source], path)
    assert path.read_bytes()[:2] == b"\x1f\x8b"

    summary = await replay(kafka_bootstrap, path, topic_map={source: target}, topic_prefix="x-")

    [route] = summary.routes
    assert (route.target, route.created, route.target_partitions) == (target, False, 4)
    assert await topic_partitions(kafka_bootstrap, target) == 4  # left as it was
    copied = await read_topic(kafka_bootstrap, target, at_least=15)
    assert by_key(copied) == by_key(await read_topic(kafka_bootstrap, source, at_least=15))
    assert len({r.partition for r in copied}) > 1  # placed by key, not all on partition 0


async def test_from_and_to_by_offset_and_by_time(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"test.{unique}.bounds"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    await produce(kafka_bootstrap, topic, [(b"k", str(i).encode(), []) for i in range(10)])

    async def offsets(**bounds: object) -> list[int]:
        path = tmp_path / "bounds.ndjson"
        await record(kafka_bootstrap, [topic], path, **bounds)  # type: ignore[arg-type]
        return [int(r["offset"]) for r in lines(path)]  # type: ignore[call-overload]

    def at(seconds: float) -> datetime:
        return datetime.fromtimestamp((BASE_MS + seconds * 1000) / 1000, UTC)

    assert await offsets(start=3, end=7) == [3, 4, 5, 6]
    assert await offsets(start=8) == [8, 9]
    assert await offsets(end=2) == [0, 1]
    assert await offsets(start=20) == []
    assert await offsets(start=at(6.5)) == [7, 8, 9]  # first record at or after the time
    assert await offsets(start=at(2), end=at(4)) == [2, 3]
    assert await offsets(end=at(100)) == list(range(10))


async def test_key_and_type_filters(kafka_bootstrap: str, unique: str, tmp_path: Path) -> None:
    topic = f"test.{unique}.filters"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 2)])
    await produce(kafka_bootstrap, topic, source_records())
    path = tmp_path / "f.ndjson"

    summary = await record(kafka_bootstrap, [topic], path, key="001190000001")
    assert summary.scanned == 15
    assert [(r["key"], r["value"] is None) for r in lines(path)] == [
        ("001190000001", False)
    ] * 4 + [("001190000001", True)]

    await record(kafka_bootstrap, [topic], path, ce_type=CE_TYPE)
    rows = lines(path)
    # Every CitizenChanged, and the tombstone: dropping it would resurrect the citizen.
    assert len(rows) == 13
    assert sum(r["value"] is None for r in rows) == 1

    await record(kafka_bootstrap, [topic], path, key=["079085000003"], ce_type=[CE_TYPE])
    assert len(lines(path)) == 4


async def test_follow_records_new_records_until_the_end_offset(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"test.{unique}.follow"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    await produce(kafka_bootstrap, topic, [(b"k", b"old", [])] * 2)
    path = tmp_path / "follow.ndjson"
    recording = asyncio.create_task(record(kafka_bootstrap, [topic], path, end=5, follow=True))
    await asyncio.sleep(1)
    assert not recording.done()  # past the end of when it began, it waits
    await produce(kafka_bootstrap, topic, [(b"k", b"new", [])] * 5)
    summary = await asyncio.wait_for(recording, 30)
    assert summary.records == 5
    assert [r["offset"] for r in lines(path)] == [0, 1, 2, 3, 4]


async def test_follow_stops_when_asked(kafka_bootstrap: str, unique: str, tmp_path: Path) -> None:
    topic = f"test.{unique}.stop"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    await produce(kafka_bootstrap, topic, [(b"k", b"v", [])] * 3)
    stop = asyncio.Event()
    path = tmp_path / "stop.ndjson"
    recording = asyncio.create_task(record(kafka_bootstrap, [topic], path, follow=True, stop=stop))
    await asyncio.sleep(1)
    stop.set()
    summary = await asyncio.wait_for(recording, 10)
    assert summary.records == 3
    assert len(lines(path)) == 3


async def test_unknown_topic_is_refused(kafka_bootstrap: str, unique: str, tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="does not exist"):
        await record(kafka_bootstrap, [f"test.{unique}.none"], tmp_path / "x.ndjson")


async def test_rate_paces_the_replay(kafka_bootstrap: str, unique: str, tmp_path: Path) -> None:
    topic = f"test.{unique}.rate"
    path = tmp_path / "rate.ndjson"
    await recorded(
        kafka_bootstrap, topic, 2, [(str(i).encode(), b"v", []) for i in range(40)], path
    )

    started = time.perf_counter()
    summary = await replay(kafka_bootstrap, path, topic_prefix="paced-", rate=50)

    # 40 records at 50/s: the last one is due after 0.78 s. Only a lower bound is asserted.
    assert time.perf_counter() - started >= 0.7
    assert summary.records == 40
    copied = await read_topic(kafka_bootstrap, f"paced-{topic}", at_least=40)
    assert by_key(copied) == by_key(await read_topic(kafka_bootstrap, topic, at_least=40))


async def test_speed_follows_recorded_gaps(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"test.{unique}.speed"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    # Recorded one second apart: 4 s from first to last, 0.4 s at ten times the speed.
    await produce(kafka_bootstrap, topic, [(b"k", str(i).encode(), []) for i in range(5)])
    path = tmp_path / "speed.ndjson"
    await record(kafka_bootstrap, [topic], path)

    started = time.perf_counter()
    await replay(kafka_bootstrap, path, topic_prefix="fast-", speed=10)

    assert time.perf_counter() - started >= 0.35
    copied = await read_topic(kafka_bootstrap, f"fast-{topic}", at_least=5)
    assert [r.value for r in copied] == [b"0", b"1", b"2", b"3", b"4"]


async def test_dry_run_produces_and_creates_nothing(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"test.{unique}.dry"
    path = tmp_path / "dry.ndjson"
    await recorded(kafka_bootstrap, topic, 3, source_records(), path)

    summary = await replay(kafka_bootstrap, path, topic_prefix="dry-", dry_run=True)

    assert (summary.dry_run, summary.records) == (True, 15)
    [route] = summary.routes
    assert (route.target, route.created, route.target_partitions) == (f"dry-{topic}", True, 3)
    assert await topic_partitions(kafka_bootstrap, f"dry-{topic}") is None


async def test_a_malformed_line_stops_the_replay_before_anything_is_sent(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"test.{unique}.bad"
    path = tmp_path / "bad.ndjson"
    await recorded(kafka_bootstrap, topic, 1, [(b"k", b"v", [])] * 3, path)
    good = path.read_bytes().splitlines(keepends=True)
    broken = orjson.loads(good[2])
    broken["value"] = "not base64!"
    path.write_bytes(b"".join([*good[:2], orjson.dumps(broken) + b"\n", good[0]]))

    with pytest.raises(EventFileError) as caught:
        await replay(kafka_bootstrap, path, topic_prefix="bad-")

    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: ")
    assert "base64" in caught.value.problem
    assert await topic_partitions(kafka_bootstrap, f"bad-{topic}") is None


async def test_a_truncated_gzip_file_is_refused(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"test.{unique}.trunc"
    path = tmp_path / "t.ndjson.gz"
    await recorded(kafka_bootstrap, topic, 1, [(b"k", bytes(range(256)) * 8, [])] * 50, path)
    path.write_bytes(path.read_bytes()[:-40])

    with pytest.raises(EventFileError, match="cannot read the file"):
        await replay(kafka_bootstrap, path, topic_prefix="trunc-")
    assert await topic_partitions(kafka_bootstrap, f"trunc-{topic}") is None


async def test_map_naming_a_topic_not_in_the_file_is_refused(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"test.{unique}.map"
    path = tmp_path / "m.ndjson"
    await recorded(kafka_bootstrap, topic, 1, [(b"k", b"v", [])], path)
    with pytest.raises(ValueError, match="does not contain"):
        await replay(kafka_bootstrap, path, topic_map={f"{topic}.typo": "elsewhere"})


async def test_a_file_larger_than_the_memory_limit_is_read_twice(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"test.{unique}.big"
    path = tmp_path / "big.ndjson"
    await recorded(kafka_bootstrap, topic, 2, source_records(), path)

    await replay(kafka_bootstrap, path, topic_prefix="big-", memory_limit=100)

    copied = await read_topic(kafka_bootstrap, f"big-{topic}", at_least=15)
    assert by_partition(copied) == by_partition(await read_topic(kafka_bootstrap, topic))
