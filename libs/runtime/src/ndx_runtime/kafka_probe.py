"""Why a Kafka client could not connect, as far as a TLS handshake with a broker tells.

aiokafka reports every failed connection as "Unable to bootstrap"; over SSL the cause is
usually a certificate, and one handshake plus one request shows which.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
from typing import Protocol

from aiokafka.errors import KafkaConnectionError

from .kafka_connection import KafkaConnection, KafkaTarget, connection

_API_VERSIONS = 18
PROBE_SECONDS = 5.0


# aiokafka ships no type information, so its errors are Any to mypy.
class KafkaUnreachable(KafkaConnectionError):  # type: ignore[misc]
    """Kafka could not be reached; the message says why when that can be told."""


class _Client(Protocol):
    async def start(self) -> None: ...


async def started(client: _Client, kafka: KafkaTarget) -> None:
    """Starts an aiokafka client; when it cannot connect over SSL, the error says why."""
    try:
        await client.start()
    except KafkaConnectionError as error:
        conn = connection(kafka)
        reason = await why_unreachable(conn) if conn.ssl_context else None
        raise KafkaUnreachable(f"cannot reach Kafka at {conn}: {reason or error}") from error


async def why_unreachable(conn: KafkaConnection) -> str | None:
    """What a TLS handshake and one request to the first bootstrap server show is wrong, or
    None when both work (the problem is elsewhere)."""
    first = conn.bootstrap_servers.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    host = host.strip("[]")
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            reader, writer = await asyncio.open_connection(
                host, int(port), ssl=conn.ssl_context, server_hostname=host
            )
    except ssl.SSLCertVerificationError as e:
        return (
            f"the certificate of {first} does not verify against KAFKA_SSL_CA_FILE="
            f"{conn.ssl_ca_file} ({e.verify_message})"
        )
    except (ssl.SSLError, ConnectionResetError) as e:
        return f"no TLS handshake with {first} ({e!r}); is it an SSL listener?"
    except (OSError, TimeoutError, ValueError) as e:
        return f"cannot connect to {first} ({e!r})"
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            writer.write(_api_versions_request())
            await writer.drain()
            answer = await reader.read(4)
    except ssl.SSLError as e:
        # TLS 1.3: the broker judges the client certificate after the handshake, so its
        # refusal arrives as an alert on the first read.
        if conn.ssl_cert_file is None:
            return (
                f"{first} requires a client certificate ({e.reason}): set "
                "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE"
            )
        return (
            f"{first} refused the client certificate KAFKA_SSL_CERT_FILE={conn.ssl_cert_file} "
            f"({e.reason}): it must be current and signed by a CA the brokers trust"
        )
    except (OSError, TimeoutError) as e:
        return f"{first} ended the connection after the TLS handshake ({e!r})"
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    if len(answer) < 4:
        return f"{first} closed the connection after the TLS handshake without an answer"
    return None


def _api_versions_request() -> bytes:
    """ApiVersions v0, the request every Kafka broker answers first."""
    client_id = b"ndx-probe"
    body = struct.pack(">hhih", _API_VERSIONS, 0, 1, len(client_id)) + client_id
    return struct.pack(">i", len(body)) + body
