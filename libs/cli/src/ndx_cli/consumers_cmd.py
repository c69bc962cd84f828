"""`ndx consumers`: consumer groups."""

from __future__ import annotations

import asyncio

import click


@click.group()
def consumers() -> None:
    """Consumer groups: progress and lag."""


@consumers.command("status")
@click.option("--group", "group_id", required=True, help="Consumer group id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a partition.")
def consumers_status(group_id: str, as_json: bool) -> None:
    """Committed offset, end offset and lag of GROUP on every partition it reads."""
    import json

    from ndx_runtime.settings import ServiceSettings

    from .consumer_groups import group_status

    rows = asyncio.run(group_status(ServiceSettings().kafka_bootstrap_servers, group_id))
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
