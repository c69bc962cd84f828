"""Event replay (records/s) next to a raw aiokafka producer on the same broker, same run; and
recording (records/s).

The records are real CitizenChanged events with CloudEvents headers (as bench_outbox makes
them). The raw producer sends them one `send` at a time with the same settings as the replay
(idempotent, acks=all); the replay reads, validates and produces a recorded file. Rounds
alternate raw and replay into fresh topics; the median round of each is reported, with the
client CPU time per record. Target: replay at >= 0.7 of raw.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench_outbox import events, raw_producer
from common import kafka_bootstrap, peak_rss_mb, write_result

from ndx_cli.events_record import record
from ndx_cli.events_replay import replay
from ndx_runtime.envelope import EventRecord
from ndx_runtime.topics import TopicSpec, ensure_topics

PARTITIONS = 6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bootstrap = await asyncio.to_thread(kafka_bootstrap)
    run = uuid.uuid4().hex[:8]
    source = f"bench.{run}.source"
    rounds = range(args.rounds)
    raw_topics = [f"bench.{run}.raw{i}" for i in rounds]
    replay_topics = [f"bench.{run}.replay{i}" for i in rounds]
    # Every target exists beforehand, so neither side pays for creating topics.
    await ensure_topics(
        bootstrap,
        [TopicSpec(t, PARTITIONS) for t in [source, *raw_topics, *replay_topics]],
    )
    records = events(args.events, source)
    value_bytes = sum(len(r.value or b"") for r in records) / len(records)
    await raw_producer(bootstrap, records)  # fills the source topic

    figures: dict[str, object] = {"events": args.events, "mean_value_bytes": round(value_bytes)}
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "decoded": (Path(tmp) / "events.ndjson", True),
            "no_decode": (Path(tmp) / "events-raw.ndjson", False),
            "no_decode_gzip": (Path(tmp) / "events-raw.ndjson.gz", False),
        }
        for name, (path, decode) in files.items():
            summary = await record(bootstrap, [source], path, decode=decode)
            assert summary.records == args.events, summary
            figures[f"record_{name}_records_per_s"] = round(summary.rate)
            figures[f"record_{name}_bytes_per_record"] = round(summary.bytes / summary.records)
            print(f"recorded ({name}): {summary.rate:,.0f} records/s", flush=True)

        raw, replayed = [], []
        path = files["decoded"][0]
        for raw_topic, replay_topic in zip(raw_topics, replay_topics, strict=True):
            retargeted = [EventRecord(raw_topic, r.key, r.value, r.headers) for r in records]
            cpu = time.process_time()
            seconds = await raw_producer(bootstrap, retargeted)
            raw.append((args.events / seconds, time.process_time() - cpu))
            cpu, started = time.process_time(), time.perf_counter()
            summary = await replay(bootstrap, path, topic_map={source: replay_topic})
            assert summary.records == args.events, summary
            replayed.append(
                (args.events / (time.perf_counter() - started), time.process_time() - cpu)
            )
            print(
                f"raw {raw[-1][0]:,.0f} records/s, replay {replayed[-1][0]:,.0f} records/s",
                flush=True,
            )

    # The median round of each: the machine may be shared, and one slow round says little.
    raw_rate, raw_cpu = statistics.median(r for r, _ in raw), statistics.median(c for _, c in raw)
    replay_rate = statistics.median(r for r, _ in replayed)
    replay_cpu = statistics.median(c for _, c in replayed)
    write_result(
        "replay",
        {
            **figures,
            "partitions": PARTITIONS,
            "raw_aiokafka_records_per_s": round(raw_rate),
            "replay_records_per_s": round(replay_rate),
            "ratio_replay_to_raw": round(replay_rate / raw_rate, 3),
            # Client CPU per record (this process: parsing, batching, the Kafka client); less
            # sensitive than wall time to whatever else the machine runs.
            "raw_cpu_us_per_record": round(raw_cpu / args.events * 1e6, 1),
            "replay_cpu_us_per_record": round(replay_cpu / args.events * 1e6, 1),
            "rounds": {
                "raw_records_per_s": [round(r) for r, _ in raw],
                "replay_records_per_s": [round(r) for r, _ in replayed],
            },
            "replayed_file": "decoded (the default recording), validated before producing",
            "target_ratio": 0.7,
            "meets_target": replay_rate / raw_rate >= 0.7,
            "load_average_1m": round(os.getloadavg()[0], 2),
            "peak_rss_mb": round(peak_rss_mb()),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
