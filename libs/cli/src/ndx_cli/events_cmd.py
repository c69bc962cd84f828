"""`ndx events`: change events on Kafka."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from .events_record import RecordSummary
    from .events_replay import ReplaySummary
    from .positions import Position

T = TypeVar("T")


@click.group()
def events() -> None:
    """Change events on Kafka."""


@events.command("tail")
@click.argument("topic")
@click.option("--from-beginning", is_flag=True, help="Start at the oldest retained record.")
@click.option("--max", "max_records", type=int, default=None, help="Stop after N records.")
@click.option("--key", default=None, help="Only records with this key (an entity id).")
@click.option("--json", "compact", is_flag=True, help="One compact JSON object a line.")
@click.option(
    "--idle-timeout",
    default=0.0,
    show_default=True,
    help="Stop after this many quiet seconds (0: follow forever).",
)
def events_tail(
    topic: str,
    from_beginning: bool,
    max_records: int | None,
    key: str | None,
    compact: bool,
    idle_timeout: float,
) -> None:
    """Prints the decoded events of TOPIC: key, headers and the protobuf value as JSON."""
    from .config import kafka_connection
    from .events_tail import dumps, tail

    kafka = kafka_connection()

    async def run() -> None:
        async for event in tail(
            kafka,
            topic,
            from_beginning=from_beginning,
            max_records=max_records,
            idle_timeout=idle_timeout,
            key=key,
        ):
            click.echo(dumps(event, compact))

    try:
        asyncio.run(run())
    except LookupError as e:
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt:
        pass


def _position(ctx: click.Context, param: click.Parameter, value: str | None) -> object:
    from .positions import parse_position

    if value is None:
        return None
    try:
        return parse_position(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@events.command("record")
@click.argument("topics", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (NDJSON; gzip when it ends in .gz).",
)
@click.option(
    "--from",
    "start",
    callback=_position,
    help="First offset (every partition), or a time: ISO-8601 or a duration ago (2h). "
    "Default: the oldest retained record.",
)
@click.option(
    "--to",
    "end",
    callback=_position,
    help="Offset or time to stop before (not included). Default: the end when recording starts.",
)
@click.option("--key", "keys", multiple=True, help="Only records with this key; repeatable.")
@click.option(
    "--type",
    "ce_types",
    multiple=True,
    help="Only records of this CloudEvents type (ce_type), plus tombstones; repeatable.",
)
@click.option("--follow", is_flag=True, help="Keep recording new records until --to or Ctrl-C.")
@click.option(
    "--idle-timeout", type=float, default=None, help="With --follow: stop after N quiet seconds."
)
@click.option(
    "--no-decode", is_flag=True, help="Skip the readable proto3 JSON copy of each value (faster)."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def events_record(
    topics: tuple[str, ...],
    output: Path,
    start: Position | None,
    end: Position | None,
    keys: tuple[str, ...],
    ce_types: tuple[str, ...],
    follow: bool,
    idle_timeout: float | None,
    no_decode: bool,
    quiet: bool,
) -> None:
    """Records the events of TOPIC... to a file, one record a line, for `ndx events replay`."""
    from .config import kafka_connection
    from .events_record import record
    from .progress_bar import progress_bar

    kafka = kafka_connection()

    async def run() -> RecordSummary:
        stop = asyncio.Event()
        # Ctrl-C ends a followed recording normally: the file is completed and summed up.
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        with progress_bar("recording", quiet=quiet) as update:
            return await record(
                kafka,
                topics,
                output,
                start=start,
                end=end,
                key=keys,
                ce_type=ce_types,
                follow=follow,
                decode=not no_decode,
                idle_timeout=idle_timeout,
                stop=stop,
                on_progress=update,
            )

    summary = _run(run())
    click.echo(
        f"recorded {summary.records:,} records ({summary.scanned:,} read) to {summary.path} "
        f"({summary.bytes:,} bytes) in {summary.seconds:.1f} s: {summary.rate:,.0f} records/s"
    )
    for topic, count in sorted(summary.per_topic.items()):
        click.echo(f"  {topic}: {count:,}")
    for where, missing in summary.incomplete.items():
        click.echo(f"warning: {where} stopped {missing:,} offsets short of its end", err=True)


@events.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--topic-prefix", default="", help="Prefix for every target topic not named by --map."
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="OLD=NEW",
    help="Produce the records of topic OLD into NEW; repeatable.",
)
@click.option(
    "--speed", type=float, default=None, help="Replay the recorded gaps N times faster (10 = 10x)."
)
@click.option("--rate", type=float, default=None, help="Send N records a second.")
@click.option("--dry-run", is_flag=True, help="Validate and show where records would go.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def events_replay(
    file: Path,
    topic_prefix: str,
    mappings: tuple[str, ...],
    speed: float | None,
    rate: float | None,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Produces a recorded FILE into the same or renamed topics: keys, headers and values byte
    for byte, per-key order kept; as fast as possible unless --speed or --rate."""
    from .config import kafka_connection
    from .events_replay import replay
    from .progress_bar import progress_bar

    topic_map: dict[str, str] = {}
    for mapping in mappings:
        old, sep, new = mapping.partition("=")
        if not (sep and old and new):
            raise click.BadParameter(f"{mapping!r}: expected OLD=NEW", param_hint="--map")
        topic_map[old] = new
    kafka = kafka_connection()

    async def run() -> ReplaySummary:
        with progress_bar("replaying", quiet=quiet or dry_run) as update:
            return await replay(
                kafka,
                file,
                topic_prefix=topic_prefix,
                topic_map=topic_map,
                speed=speed,
                rate=rate,
                dry_run=dry_run,
                on_progress=update,
            )

    summary = _run(run())
    for r in summary.routes:
        if r.created:
            verb = "would be created" if summary.dry_run else "created"
            create = f"{verb} with {r.target_partitions} partitions"
        else:
            create = "exists"
        click.echo(
            f"{r.source} -> {r.target}: {r.records:,} records, {r.bytes:,} bytes; "
            f"{create}; {r.placement}"
        )
    if summary.dry_run:
        click.echo(f"dry run: {summary.records:,} records valid, nothing produced")
    else:
        click.echo(
            f"replayed {summary.records:,} records ({summary.bytes:,} bytes) in "
            f"{summary.seconds:.1f} s: {summary.rate:,.0f} records/s"
        )


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Runs a command's coroutine; input and Kafka problems become one-line errors."""
    from aiokafka.errors import KafkaError

    from .event_file import EventFileError

    try:
        return asyncio.run(coro)
    except (EventFileError, LookupError, ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from None
    except KafkaError as e:
        raise click.ClickException(f"Kafka: {e!r}") from None
