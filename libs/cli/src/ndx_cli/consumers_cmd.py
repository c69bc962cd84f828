"""`ndx consumers`: consumer groups."""

from __future__ import annotations

import asyncio

import click


@click.group()
def consumers() -> None:
    """Consumer groups: progress, lag, and moving their offsets."""


@consumers.command("status")
@click.option("--group", "group_id", required=True, help="Consumer group id.")
@click.option(
    "--topic",
    "topics",
    multiple=True,
    help="Also every partition of this topic, committed on or not; repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object a partition.")
def consumers_status(group_id: str, topics: tuple[str, ...], as_json: bool) -> None:
    """Committed offset, end offset and lag of GROUP on every partition it reads."""
    import json

    from .config import kafka_connection
    from .consumer_groups import group_status

    rows = asyncio.run(group_status(kafka_connection(), group_id, topics))
    if not rows:
        raise click.ClickException(f"group {group_id!r} has committed no offsets")
    for r in rows:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "topic": r.topic,
                        "partition": r.partition,
                        "committed": r.committed,
                        "end": r.end,
                        "lag": r.lag,
                    }
                )
            )
        else:
            click.echo(f"{r.topic}[{r.partition}] committed={r.committed} end={r.end} lag={r.lag}")
    if not as_json:
        click.echo(f"total lag: {sum(r.lag for r in rows)}")


@consumers.command("reset")
@click.option("--group", "group_id", required=True, help="Consumer group id.")
@click.option(
    "--to",
    "to",
    required=True,
    help="earliest, latest, or a time: ISO-8601 (local time without a zone) or a duration "
    "ago (30m, 2h, 7d); a time means the first offset at or after it.",
)
@click.option(
    "--topic",
    "topics",
    multiple=True,
    help="Reset every partition of this topic; repeatable (default: where the group committed).",
)
@click.option("--dry-run", is_flag=True, help="Show the moves, commit nothing.")
def consumers_reset(group_id: str, to: str, topics: tuple[str, ...], dry_run: bool) -> None:
    """Moves GROUP's committed offsets, like kafka-consumer-groups --reset-offsets.

    The group must have no active members: stop its consumers first.
    """
    from aiokafka.errors import KafkaError

    from .config import kafka_connection
    from .group_reset import GroupActiveError, Target, reset_offsets
    from .positions import parse_time

    target: Target
    if to in ("earliest", "latest"):
        target = to  # type: ignore[assignment]
    else:
        try:
            target = parse_time(to)
        except ValueError as e:
            raise click.BadParameter(f"{e}, or earliest or latest", param_hint="--to") from None
    kafka = kafka_connection()
    try:
        moves = asyncio.run(reset_offsets(kafka, group_id, target, topics=topics, dry_run=dry_run))
    except (GroupActiveError, LookupError) as e:
        raise click.ClickException(str(e)) from None
    except KafkaError as e:
        raise click.ClickException(f"Kafka: {e!r}") from None
    for m in moves:
        old = "-" if m.old is None else str(m.old)
        click.echo(f"{m.topic}[{m.partition}] {old} -> {m.new}")
    verb = "would move" if dry_run else "moved"
    changed = sum(m.old != m.new for m in moves)
    click.echo(
        f"{verb} {changed} of {len(moves)} partitions of group {group_id}"
        + (" (dry run: nothing committed)" if dry_run else "")
    )
