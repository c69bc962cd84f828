"""`ndx events scenario`: realistic life events through the registries' write APIs."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from .config import CliSettings

if TYPE_CHECKING:
    from .scenario.runner import Progress
    from .scenario.steps import Call

# The built-in scenarios (ndx_cli.scenario.SCENARIOS), named here so that `ndx` starts without
# loading the registries' code.
NAMES = ("life", "land", "business", "mixed")


@click.command("scenario")
@click.argument("name", type=click.Choice(NAMES))
@click.option(
    "--seed",
    default=1,
    show_default=True,
    help="Random seed: the same seed on the same data sends the same requests.",
)
@click.option(
    "--count", default=100, show_default=True, type=click.IntRange(min=0), help="Write calls."
)
@click.option(
    "--concurrency",
    default=8,
    show_default=True,
    type=click.IntRange(min=1),
    help="Events in flight (never two on one entity).",
)
@click.option(
    "--via",
    type=click.Choice(["gateway", "direct"]),
    default="gateway",
    show_default=True,
    help="Through the gateway as each registry's owner agency, or to the registries directly "
    "as the operator (ndx-admin).",
)
@click.option(
    "--as",
    "identity",
    default=None,
    help="Present this identity's certificate instead (a name under .ndx/pki).",
)
@click.option("--purpose", default=None, help="Purpose code instead of the owner's.")
@click.option(
    "--officer", default=None, help="Officer id through the gateway (default: NDX_OFFICER)."
)
@click.option(
    "--max-load",
    type=click.IntRange(min=1),
    default=None,
    help="Load at most this many entities per registry as starting data.",
)
@click.option("-v", "--verbose", is_flag=True, help="List every refused call.")
def scenario(
    name: str,
    seed: int,
    count: int,
    concurrency: int,
    via: str,
    identity: str | None,
    purpose: str | None,
    officer: str | None,
    max_load: int | None,
    verbose: bool,
) -> None:
    """Drives life events through the registries' write APIs, so that every change goes the
    outbox's way to Kafka: births, marriages, moves, name changes and deaths (life), transfers
    of land-use rights and mortgages (land), enterprises registered, their legal status,
    representatives and head offices (business), or all of them (mixed).

    The starting data is read from the registries; events are planned from SEED so that the
    same seed on the same data sends the same requests. Progress goes to stderr, the summary
    to stdout; the exit status is 1 when a call was refused.
    """
    import grpc

    from .grpc_client import Identity
    from .scenario import Door, ScenarioSummary, Targets, owner_targets, run_scenario

    settings = CliSettings()
    if via == "direct" and purpose:
        raise click.UsageError("--purpose applies through the gateway only")
    caps = dict.fromkeys(("population", "land", "business"), max_load) if max_load else None

    async def run() -> ScenarioSummary:
        channels: list[grpc.aio.Channel] = []

        def channel(address: str, who: str) -> grpc.aio.Channel:
            opened = grpc.aio.secure_channel(address, Identity(who, settings.pki).credentials())
            channels.append(opened)
            return opened

        try:
            if via == "gateway":
                targets = owner_targets(
                    lambda agency: channel(settings.gateway_address, agency),
                    officer or settings.officer,
                    identity,
                    purpose,
                )
            else:
                who = identity or "ndx-admin"
                targets = Targets(
                    Door(channel(settings.population_address, who)),
                    Door(channel(settings.land_address, who)),
                    Door(channel(settings.business_address, who)),
                )
            with _progress(count) as advance:
                return await run_scenario(
                    name,
                    seed=seed,
                    count=count,
                    targets=targets,
                    concurrency=concurrency,
                    progress=advance,
                    caps=caps,
                )
        finally:
            for c in channels:
                await c.close(grace=None)

    try:
        summary = asyncio.run(run())
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from None
    except grpc.aio.AioRpcError as e:  # the starting data could not be read
        raise click.ClickException(
            f"reading the starting data failed: {e.code().name} {e.details()}"
        ) from None
    for line in summary.lines(verbose):
        click.echo(line)
    if summary.refusals:
        sys.exit(1)


@contextmanager
def _progress(total: int) -> Iterator[Progress]:
    """A progress bar on stderr, advanced once a call has its answer."""
    from rich import progress
    from rich.console import Console

    columns = (
        "{task.description}",
        progress.BarColumn(),
        progress.MofNCompleteColumn(),
        progress.TimeElapsedColumn(),
    )
    with progress.Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("calls", total=total)

        def advance(call: Call, ok: bool) -> None:
            bar.advance(task)

        yield advance
