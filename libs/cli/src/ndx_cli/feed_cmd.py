"""`ndx feed`: follow an aggregate's changes through the gateway, as an agency."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import click
import grpc

SUBSCRIBE = "/ndx.gateway.v1.FeedService/Subscribe"
CURSOR = "x-ndx-cursor"


@click.command()
@click.argument("aggregate")
@click.option("--as", "identity", required=True, help="The agency whose certificate is presented.")
@click.option("--purpose", required=True, help="Purpose (procedure) code granting the feed.")
@click.option(
    "--officer",
    default=None,
    help="Officer id, sent as x-ndx-officer (default: NDX_OFFICER, else your login name).",
)
@click.option(
    "--from",
    "start",
    default=None,
    help="Where to start: the cursor of the last event you received, or a time "
    "(2026-11-23T08:00:00Z; UTC when no offset is given). Default: from now on.",
)
@click.option("--max", "max_events", type=int, default=None, help="Stop after N events.")
@click.option("--json", "compact", is_flag=True, help="One compact JSON object a line.")
def feed(
    aggregate: str,
    identity: str,
    purpose: str,
    officer: str | None,
    start: str | None,
    max_events: int | None,
    compact: bool,
) -> None:
    """Follows AGGREGATE (citizen, parcel, enterprise) as an agency: one JSON object per change
    with its cursor, subject, operation and the fields before and after that the purpose may
    read. The feed's start cursor goes to stderr; resume with --from CURSOR."""
    from ndx.gateway.v1 import feed_pb2

    from .config import CliSettings
    from .errors import print_rpc_error
    from .grpc_client import Identity

    settings = CliSettings()
    request = feed_pb2.SubscribeRequest(aggregate=aggregate, purpose=purpose)
    if start:
        at = _time(start)
        if at is None:
            request.cursor = start
        else:
            request.start_time.FromDatetime(at)
    metadata = [("x-ndx-officer", officer or settings.officer)]

    async def run() -> None:
        credentials = Identity(identity, settings.pki).credentials()
        async with grpc.aio.secure_channel(settings.gateway_address, credentials) as channel:
            async for line in follow(channel, request, metadata, max_events, compact):
                click.echo(line)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    except grpc.aio.AioRpcError as error:
        print_rpc_error(error)
        sys.exit(1)
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from None


async def follow(
    channel: grpc.aio.Channel,
    request: Any,
    metadata: list[tuple[str, str]],
    max_events: int | None,
    compact: bool,
) -> AsyncIterator[str]:
    """The feed's events as JSON lines, until `max_events` or the end of the stream."""
    from ndx.gateway.v1 import feed_pb2

    stub = channel.unary_stream(
        SUBSCRIBE,
        request_serializer=feed_pb2.SubscribeRequest.SerializeToString,
        response_deserializer=feed_pb2.SubscribeResponse.FromString,
    )
    call = stub(request, metadata=metadata)
    opened = dict(await call.initial_metadata() or ())
    if CURSOR in opened:
        click.echo(f"feed open; start cursor: {opened[CURSOR]}", err=True)
    seen = 0
    try:
        async for response in call:
            for event in response.events:
                yield json.dumps(as_json(event), ensure_ascii=False, indent=None if compact else 2)
                seen += 1
                if max_events is not None and seen >= max_events:
                    return
    finally:
        call.cancel()


def as_json(event: Any) -> dict[str, Any]:
    """A FeedEvent as the command prints it: the change unpacked, in proto3 JSON."""
    from google.protobuf import json_format

    from .grpc_client import message_class

    change = message_class(event.type)()
    event.change.Unpack(change)
    fields = json_format.MessageToDict(change, preserving_proto_field_name=True)
    return {
        "cursor": event.cursor,
        "event_id": event.event_id,
        "type": event.type,
        "time": event.time.ToJsonString(),
        "subject": event.subject,
        "op": fields.get("op", ""),
        "version": fields.get("version", ""),
        "changed_fields": list(change.changed_fields.paths),  # type: ignore[attr-defined]
        "before": fields.get("before"),
        "after": fields.get("after"),
        "fields_redacted": list(event.fields_redacted),
    }


def _time(text: str) -> datetime | None:
    """`text` as a time (UTC when it names no offset), or None when it is not one."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
