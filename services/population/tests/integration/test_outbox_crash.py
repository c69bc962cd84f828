"""A registry killed after its commit but before publishing publishes the event once on restart."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap

from ndx.population.v1 import events_pb2
from ndx_population.bootstrap import start
from ndx_population.config import PopulationSettings
from ndx_runtime.kafka import read_topic

# The registry's own write path (unit of work + handler), then SIGKILL before any relay runs.
WRITER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from datetime import date
    from ndx_population.adapters.tables import metadata, outbox
    from ndx_population.domain.model import Citizen
    from ndx_population.domain.values import Address, Gender
    from ndx_population.service_layer.handlers import register_citizen
    from ndx_population.service_layer.unit_of_work import PopulationUnitOfWork
    from ndx_runtime.clock import Clock
    from ndx_runtime.db import Database, create_schema

    async def main():
        db = Database.from_url(sys.argv[1])
        await create_schema(db.engine, metadata)
        uow = PopulationUnitOfWork(db, outbox)
        uow.topic = sys.argv[2]
        citizen = Citizen("001190012345", "Nguyễn Thị Lan", date(1990, 5, 2), Gender.FEMALE,
                          permanent_address=Address("01", "00004", "Số 1"))
        await register_citizen(citizen, uow, Clock())
        print("committed", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


async def test_event_committed_before_a_crash_is_published_once(
    population_settings: PopulationSettings,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        population_settings.database_url,
        population_settings.citizen_topic,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert b"committed" in out

    service = await start(population_settings)
    try:
        records = await read_topic(
            population_settings.kafka_bootstrap_servers,
            population_settings.citizen_topic,
            at_least=1,
            quiet=2.0,
        )
        backlog, _ = await service.relay.backlog()
    finally:
        await service.stop()
    assert len(records) == 1
    event = events_pb2.CitizenChanged.FromString(records[0].value)
    assert (event.citizen_id, event.version) == ("001190012345", 1)
    assert backlog == 0
