"""`ndx audit trail` / `ndx audit verify`: who read a citizen's data, and whether the audit
log is still the one the gateway wrote."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC

import click
import grpc
from google.protobuf import json_format
from ndx_gateway.audit.chain import ChainReport

from ndx.gateway.v1 import audit_pb2, data_tracker_pb2

from .config import CliSettings, kafka_connection
from .errors import print_rpc_error

PORTAL = "citizen-portal"
TRACKER_PURPOSE = "data-tracker"


class CannotCheck(click.ClickException):
    """The records could not be read, so nothing was checked (exit 2, as for usage errors)."""

    exit_code = 2


@click.group()
def audit() -> None:
    """The gateway's audit log: a citizen's data trail, and the hash chain behind it."""


@audit.command("trail")
@click.argument("citizen_id")
@click.option(
    "--page-size",
    type=click.IntRange(1, 1000),
    default=100,
    show_default=True,
    help="Accesses asked for per call; every page is followed.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object an access.")
@click.option(
    "--officer",
    default=None,
    help="Officer id the portal sends (default: NDX_OFFICER, else your login name).",
)
@click.option(
    "--gateway",
    "address",
    default=None,
    help="Gateway address (default: NDX_GATEWAY_ADDRESS, else 127.0.0.1:50051).",
)
@click.option("--timeout", default=30.0, show_default=True, help="Deadline of each call (s).")
def trail(
    citizen_id: str,
    page_size: int,
    as_json: bool,
    officer: str | None,
    address: str | None,
    timeout: float,
) -> None:
    """Who read CITIZEN_ID's data, when, which fields and for what purpose, newest first.

    Asks the gateway's data tracker as the citizen portal (certificate citizen-portal,
    purpose data-tracker), as the national public-service portal does for a signed-in citizen.
    """
    from .audit_records import accesses
    from .grpc_client import Identity

    settings = CliSettings()

    async def fetch() -> list[data_tracker_pb2.Access]:
        found = []
        async for access in accesses(
            address or settings.gateway_address,
            Identity(PORTAL, settings.pki),
            citizen_id,
            page_size=page_size,
            purpose=TRACKER_PURPOSE,
            officer=officer or settings.officer,
            timeout=timeout,
        ):
            if as_json:  # lines as they come; a table needs them all
                click.echo(access_json(access))
            else:
                found.append(access)
        return found

    try:
        found = asyncio.run(fetch())
    except grpc.aio.AioRpcError as error:
        print_rpc_error(error)
        sys.exit(1)
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from None
    if not as_json:
        print_trail(citizen_id, found)


def access_json(access: data_tracker_pb2.Access) -> str:
    out = json_format.MessageToDict(access, preserving_proto_field_name=True)
    return json.dumps(out, ensure_ascii=False)


def print_trail(citizen_id: str, found: list[data_tracker_pb2.Access]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 200)  # a file or a pipe: rows are not folded
    if not found:
        console.print(f"No recorded access to the data of citizen {citizen_id}.")
        return
    title = f"Accesses to the data of citizen {citizen_id}, newest first"
    table = Table(title=title, show_lines=True)
    for column in ("time (UTC)", "agency", "officer", "purpose", "method", "fields", "decision"):
        table.add_column(column, overflow="fold")
    for a in found:
        decision = audit_pb2.Decision.Name(a.decision).removeprefix("DECISION_")
        table.add_row(
            a.time.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S"),
            f"{a.agency}\n[dim]{a.agency_name}[/dim]" if a.agency_name else a.agency,
            a.officer,
            f"{a.purpose}\n[dim]{a.purpose_description}[/dim]"
            if a.purpose_description
            else a.purpose,
            a.method.rpartition(".")[2],
            "\n".join(short_field(f) for f in a.fields) or "none",
            decision if a.status == "OK" else f"{decision}\n{a.status}",
        )
    console.print(table)
    accesses = plural(len(found), "access", "accesses")
    console.print(f"{accesses}; check the audit chain they sit on: ndx audit verify")


def short_field(path: str) -> str:
    """A field path without its message ("ndx.population.v1.Citizen.full_name" -> full_name)."""
    parts = path.split(".")
    for i, part in enumerate(parts):
        if part[:1].isupper():
            return ".".join(parts[i + 1 :]) or path
    return path


@audit.command("verify")
@click.option(
    "--database-url",
    default=None,
    help="The gateway's audit index (default: GATEWAY_DATABASE_URL, else the one `ndx up` "
    "keeps in .ndx/data/gateway.db).",
)
@click.option(
    "--from-kafka", is_flag=True, help="Read the audit topic itself instead of the index."
)
@click.option(
    "--topic",
    default=None,
    help="Audit topic, with --from-kafka (default: GATEWAY_AUDIT_TOPIC, else "
    "ndx.gateway.audit.v1).",
)
def verify_cmd(database_url: str | None, from_kafka: bool, topic: str | None) -> None:
    """Walks every audit chain and reports, per chain, the first record that was altered,
    removed or reordered.

    Each record holds the SHA-256 of the one before it in its chain, so an edit shows at the
    record after it; the newest record of a chain is covered once a later one links to it.
    Exits 0 when every chain holds, 1 when one is broken, 2 when the records could not be read.
    """
    from .audit_records import Unreadable, verify_index, verify_topic

    if from_kafka and database_url:
        raise click.UsageError("--database-url and --from-kafka exclude each other")
    if topic and not from_kafka:
        raise click.UsageError("--topic is read only with --from-kafka")
    settings = CliSettings()
    if from_kafka:
        kafka = kafka_connection()
        source = f"topic {topic or settings.audit_topic} on {kafka}"
        check = verify_topic(kafka, topic or settings.audit_topic)
    else:
        url = database_url or settings.audit_database_url()
        source = f"audit index {url}"
        check = verify_index(url)
    try:
        report = asyncio.run(check)
    except Unreadable as e:
        raise CannotCheck(str(e)) from None
    print_report(source, report)
    if not report.intact:
        sys.exit(1)


def print_report(source: str, report: ChainReport) -> None:
    click.echo(
        f"checked {plural(report.records, 'record')} in {plural(report.chains, 'chain')} ({source})"
    )
    if report.intact:
        click.echo("intact: every record links to the one before it")
        return
    breaks = report.breaks or []
    click.echo(f"BROKEN in {plural(len(breaks), 'place')}:")
    for found in breaks:
        click.echo(f"  chain {found.chain_id} record {found.sequence}: {found.problem}")


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"
