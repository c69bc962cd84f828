"""How feeds deliver, against the real broker: resuming from any cursor gives neither a gap nor
a repeat, a feed can start at a time, a subscriber that does not read holds back only itself,
and a feed ends when its caller leaves or the gateway stops."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import grpc
import yaml
from google.protobuf.timestamp_pb2 import Timestamp
from ndx_gateway.bootstrap import start as start_gateway

from ndx.gateway.v1 import feed_pb2
from ndx_runtime.tls import channel_credentials

from .conftest import Agency, System
from .feeds import POLICE, change_of, follow, refusal, update_citizen
from .support import citizen_ids


async def change_many(system: System, ids: list[str], tag: str) -> None:
    """An e-mail change for each citizen, eight at a time so partitions interleave."""
    for i in range(0, len(ids), 8):
        await asyncio.gather(
            *(
                update_citizen(system, cid, email=f"{tag}.{i + n}@example.vn")
                for n, cid in enumerate(ids[i : i + 8])
            )
        )


def police(system: System) -> Agency:
    return system.agency(POLICE[0])


async def test_resuming_from_any_cursor_delivers_neither_gaps_nor_repeats(
    system: System,
) -> None:
    ids = (await citizen_ids(system, 200))[::5]  # 40 citizens, spread over the partitions
    whole = await follow(police(system), "citizen", POLICE[1])
    await change_many(system, ids, "resume")
    reference = await whole.take(len(ids))
    whole.cancel()
    assert Counter(e.subject for e in reference) == Counter(ids)

    received: list[feed_pb2.FeedEvent] = []
    cursor = whole.start
    mid_message = 0  # pieces left in the middle of a message, resumed from inside it
    for size in (1, 7, 3, 12, 17):
        piece = await follow(police(system), "citizen", POLICE[1], cursor=cursor)
        got = await piece.take(size)
        piece.cancel()
        mid_message += bool(piece.pending)
        received.extend(got)
        cursor = got[-1].cursor
    # The changes were in Kafka before each piece subscribed: they came many to a message.
    assert mid_message > 0
    assert len(received) == len({e.event_id for e in received}) == len(ids)
    assert sorted(e.event_id for e in received) == sorted(e.event_id for e in reference)

    # From the last cursor, the next event is the next change: nothing is repeated.
    last = await follow(police(system), "citizen", POLICE[1], cursor=cursor)
    await update_citizen(system, ids[0], email="after.resume@example.vn")
    [after] = await last.take(1)
    last.cancel()
    assert after.subject == ids[0]
    assert change_of(after).after.email == "after.resume@example.vn"  # type: ignore[attr-defined]


async def test_a_feed_starts_at_a_time(system: System) -> None:
    ids = (await citizen_ids(system, 300))[201::10]
    await change_many(system, ids[:5], "before")
    await asyncio.sleep(1.0)  # the relay published them, well before the start time
    start = Timestamp()
    start.GetCurrentTime()
    await change_many(system, ids[5:], "since")
    feed = await follow(police(system), "citizen", POLICE[1], start_time=start)
    got = await feed.take(len(ids[5:]))
    feed.cancel()
    assert Counter(e.subject for e in got) == Counter(ids[5:])
    assert all(e.time.ToNanoseconds() >= start.ToNanoseconds() for e in got)


def slow_channel(system: System, name: str) -> grpc.aio.Channel:
    """A channel whose flow-control window does not grow: a subscriber on it that does not
    read pushes back on the gateway after 64 KiB instead of buffering megabytes."""
    pki = system.exchange.pki
    credentials = channel_credentials(pki / "ca.crt", pki / f"{name}.crt", pki / f"{name}.key")
    channel = grpc.aio.secure_channel(
        f"127.0.0.1:{system.gateway.port}", credentials, options=[("grpc.http2.bdp_probe", 0)]
    )
    system.exchange.channels.append(channel)
    return channel


async def test_a_subscriber_that_does_not_read_holds_back_only_itself(system: System) -> None:
    ids = (await citizen_ids(system, 600))[301::2][:120]
    slow = await follow(Agency("police", slow_channel(system, "police")), "citizen", POLICE[1])
    fast = await follow(police(system), "citizen", POLICE[1])
    # Every write is answered while the slow subscriber reads nothing (about 300 KiB of
    # events, well past what its window takes).
    await change_many(system, ids, "slow")
    got = await fast.take(len(ids), timeout=60)
    assert Counter(e.subject for e in got) == Counter(ids)
    assert slow.events == []
    # Kafka kept its place: once it reads, it gets every event, in order per citizen.
    late = await slow.take(len(ids), timeout=60)
    assert max(slow.sizes) > 1  # the backlog came batched, many events to a message
    assert [e.event_id for e in late if e.subject == ids[0]] == [
        e.event_id for e in got if e.subject == ids[0]
    ]
    assert sorted(e.event_id for e in late) == sorted(e.event_id for e in got)
    slow.cancel()
    fast.cancel()


async def open_feeds(system: System, expected: int) -> int:
    """The gateway's count of open feeds once it is `expected` (feeds end asynchronously)."""
    for _ in range(200):
        if system.gateway.feeds.open_feeds == expected:
            break
        await asyncio.sleep(0.05)
    return system.gateway.feeds.open_feeds


async def test_a_feed_ends_when_its_caller_leaves(system: System) -> None:
    assert await open_feeds(system, 0) == 0  # the feeds of the tests before have ended
    feed = await follow(police(system), "citizen", POLICE[1])
    assert await open_feeds(system, 1) == 1
    feed.cancel()
    assert await open_feeds(system, 0) == 0


async def test_stopping_the_gateway_ends_open_feeds_with_unavailable(
    system: System, tmp_path: Path
) -> None:
    # A second gateway on the same topics (the first one keeps indexing the audit topic),
    # with a grace period far longer than the stop may take.
    settings = system.exchange.gateway_settings(
        tmp_path, policy_file=system.policy_file, shutdown_grace_seconds=30
    )
    second = await start_gateway(settings, index_audit=False)
    feeds = [
        await follow(Agency("police", system.exchange.channel(second.port, "police")), *feed)
        for feed in (("citizen", POLICE[1]), ("citizen", POLICE[1]))
    ]
    started = time.monotonic()
    await second.stop()
    assert time.monotonic() - started < 5
    for feed in feeds:
        error = await refusal(feed.call)
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert "subscribe again from the last cursor" in (error.details() or "")


async def test_a_feed_the_policy_stops_granting_ends_with_permission_denied(
    system: System,
) -> None:
    [cid] = await citizen_ids(system, 1)
    feed = await follow(system.agency("tax-authority"), "citizen", "tax-registration")
    original = system.policy_file.read_text()
    document = yaml.safe_load(original)
    document["version"] = "no-tax-feed"
    del document["agencies"]["tax-authority"]["purposes"]["tax-registration"]["feeds"]
    system.policy_file.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    try:
        for _ in range(100):
            if system.gateway.policy.current.version == "no-tax-feed":
                break
            await asyncio.sleep(0.05)
        await update_citizen(system, cid, full_name="Lê Văn Thu Hồi")
        error = await refusal(feed.call)
    finally:
        system.policy_file.write_text(original)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "no-tax-feed" in (error.details() or "")
