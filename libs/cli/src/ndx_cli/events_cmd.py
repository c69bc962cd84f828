"""`ndx events`: change events on Kafka."""

from __future__ import annotations

import asyncio

import click


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
    from ndx_runtime.settings import ServiceSettings

    from .events_tail import dumps, tail

    bootstrap = ServiceSettings().kafka_bootstrap_servers

    async def run() -> None:
        async for event in tail(
            bootstrap,
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
