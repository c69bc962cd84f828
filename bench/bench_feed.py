"""Feed fan-out: change events delivered per second through the gateway to concurrent
subscribers, against one raw Kafka consumer reading the same topic in the same run.

N realistic `CitizenChanged` records (whole citizens before and after an address change, as
the population registry publishes them) are put on a topic of their own first. The gateway
(one process, the default policy, audit records acknowledged by Kafka before each batch is
sent) then serves `--subscribers` feeds of the tax authority at once, each from the start of
the topic: every event is read, cut to the tax authority's fields, audited and streamed, each
batch in one stream message.

Baseline: one aiokafka consumer in this process reading and decoding the same records.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
from aiokafka import AIOKafkaConsumer, TopicPartition
from bench_gateway import bench_policy, wait_ready
from common import cpu_seconds, dev_pki, kafka_bootstrap, publish, write_result
from google.protobuf.field_mask_pb2 import FieldMask

from ndx.common.v1 import types_pb2
from ndx.gateway.v1 import feed_pb2
from ndx.population.v1 import events_pb2
from ndx_population.adapters.proto_mapping import citizen_to_proto
from ndx_population.config import SOURCE
from ndx_population.seed.generator import generate_citizens
from ndx_runtime.envelope import EventRecord, change_event
from ndx_runtime.tls import channel_credentials
from ndx_runtime.topics import ensure_topics, entity_topic

GATEWAY_PORT = 50193
PARTITIONS = 6
SUBSCRIBE = "/ndx.gateway.v1.FeedService/Subscribe"
TAX = (("x-ndx-officer", "bench-officer"),)


async def produce(bootstrap: str, topic: str, events: int) -> int:
    """`events` address changes of synthetic citizens; returns the bytes produced."""
    await ensure_topics(bootstrap, [entity_topic(topic, PARTITIONS)])
    people = [citizen_to_proto(c) for c in generate_citizens(2025, min(events, 20_000))]
    sizes: list[int] = []

    def moves() -> Iterator[EventRecord]:
        for i in range(events):
            before = people[i % len(people)]
            after = type(before)()
            after.CopyFrom(before)
            after.current_address.street = f"Số {i} đường Bench"
            after.version = before.version + 1
            people[i % len(people)] = after
            event = events_pb2.CitizenChanged(
                citizen_id=before.citizen_id,
                op=types_pb2.CHANGE_OP_UPDATE,
                before=before,
                after=after,
                changed_fields=FieldMask(paths=["current_address"]),
                version=after.version,
            )
            record = change_event(topic, event, key=before.citizen_id, source=SOURCE)
            sizes.append(len(record.value or b""))
            yield record

    await publish(bootstrap, moves(), "bench-feed")
    return sum(sizes)


async def raw_consumer(bootstrap: str, topic: str, events: int) -> dict[str, Any]:
    """One consumer reading and decoding every record from the beginning."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        started, seen = time.perf_counter(), 0
        while seen < events:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            for records in batch.values():
                for record in records:
                    events_pb2.CitizenChanged.FromString(record.value or b"")
                    seen += 1
        elapsed = time.perf_counter() - started
    finally:
        await consumer.stop()
    return {"events": seen, "seconds": round(elapsed, 2), "events_per_s": round(seen / elapsed)}


def count_events(response: bytes) -> int:
    """The FeedEvents in a serialized SubscribeResponse, counted from the wire format (field 1,
    length-delimited, is its only field) without parsing them."""
    count, at, end = 0, 0, len(response)
    while at < end:
        at += 1  # the tag of field 1: one byte
        length, shift = 0, 0
        while True:
            byte = response[at]
            at += 1
            length |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
        at += length
        count += 1
    return count


async def subscriber(channel: grpc.aio.Channel, events: int) -> tuple[float, int]:
    """Reads `events` feed events from the beginning of the topic; returns when it finished
    and how many stream messages carried them. The events stay bytes: the figure is the
    gateway's, not this client's parsing."""
    request = feed_pb2.SubscribeRequest(aggregate="citizen", purpose="tax-registration")
    request.start_time.FromMilliseconds(1)
    call = channel.unary_stream(SUBSCRIBE)(request.SerializeToString(), metadata=TAX)
    seen = messages = 0
    async for response in call:
        seen += count_events(response)
        messages += 1
        if seen >= events:
            break
    call.cancel()
    return time.perf_counter(), messages


async def fan_out(pki: Path, events: int, subscribers: int, gateway_pid: int) -> dict[str, Any]:
    creds = channel_credentials(
        pki / "ca.crt", pki / "tax-authority.crt", pki / "tax-authority.key"
    )
    channels = [
        grpc.aio.secure_channel(f"127.0.0.1:{GATEWAY_PORT}", creds) for _ in range(subscribers)
    ]
    try:
        await asyncio.gather(*(c.channel_ready() for c in channels))
        cpu_before = cpu_seconds(gateway_pid)
        started = time.perf_counter()
        done = await asyncio.gather(*(subscriber(c, events) for c in channels))
        finished = [at for at, _ in done]
        elapsed = max(finished) - started
        cpu = cpu_seconds(gateway_pid) - cpu_before
    finally:
        for channel in channels:
            await channel.close()
    each = sorted(events / (f - started) for f in finished)
    return {
        "subscribers": subscribers,
        "events_each": events,
        "seconds": round(elapsed, 2),
        "delivered_per_s": round(subscribers * events / elapsed),
        "per_subscriber_per_s": {
            "min": round(each[0]),
            "median": round(each[len(each) // 2]),
            "max": round(each[-1]),
        },
        "gateway_cpu_cores": round(cpu / elapsed, 2),
        "events_per_message": round(subscribers * events / sum(m for _, m in done), 1),
    }


def environment(pki: Path, bootstrap: str, tmp: Path, topic: str) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "GATEWAY_GRPC_PORT": str(GATEWAY_PORT),
        "GATEWAY_TLS_CERT_FILE": str(pki / "gateway.crt"),
        "GATEWAY_TLS_KEY_FILE": str(pki / "gateway.key"),
        "GATEWAY_TLS_CA_FILE": str(pki / "ca.crt"),
        # Feeds only: no registry is called.
        "GATEWAY_UPSTREAMS": "{}",
        "GATEWAY_FEED_TOPICS": json.dumps({"citizen": topic}),
        "GATEWAY_POLICY_FILE": str(bench_policy(tmp)),
        "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'gateway.db'}",
        "GATEWAY_AUDIT_TOPIC": f"bench.{run}.gateway.audit",
        "GATEWAY_TRACKER_CONSUMER_GROUP": f"bench.{run}.tracker",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--subscribers", type=int, default=10)
    args = parser.parse_args()

    bootstrap = await asyncio.to_thread(kafka_bootstrap)
    pki = dev_pki()
    topic = f"bench.{uuid.uuid4().hex[:8]}.population.citizen"
    produced = await produce(bootstrap, topic, args.events)
    baseline = await raw_consumer(bootstrap, topic, args.events)
    with tempfile.TemporaryDirectory() as tmp:
        env = environment(pki, bootstrap, Path(tmp), topic)
        gateway = subprocess.Popen([sys.executable, "-m", "ndx_gateway"], env=env)
        try:
            await wait_ready(pki, GATEWAY_PORT, "tax-authority")
            # Warm the gateway (connections, caches) on a few events before measuring.
            await fan_out(pki, min(500, args.events), 1, gateway.pid)
            feeds = await fan_out(pki, args.events, args.subscribers, gateway.pid)
        finally:
            gateway.terminate()
            gateway.wait(60)
    write_result(
        "feed",
        {
            "events": args.events,
            "partitions": PARTITIONS,
            "mean_event_bytes": round(produced / args.events),
            "as": "tax-authority / tax-registration (7 of 27 citizen fields)",
            "feed": feeds,
            "baseline_raw_consumer": baseline,
            "ratio_delivered_to_raw": round(feeds["delivered_per_s"] / baseline["events_per_s"], 2),
            "note": (
                "gateway, Kafka and the subscribers share the machine's "
                f"{os.cpu_count()} cores; one audit record and one stream message per batch "
                "(up to 500 events)"
            ),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
