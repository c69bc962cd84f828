"""The composition root of the population registry."""

from __future__ import annotations

from ndx.population.v1 import population_service_pb2, population_service_pb2_grpc
from ndx_runtime.clock import Clock
from ndx_runtime.service import RunningService, serve_until_signal, start_registry
from ndx_runtime.topics import entity_topic

from .adapters.tables import outbox
from .config import PopulationSettings
from .entrypoints.grpc_api import PopulationApi
from .migrations import MIGRATIONS
from .service_layer.unit_of_work import PopulationUnitOfWork
from .service_layer.views import PopulationViews

SERVICE_NAME = population_service_pb2.DESCRIPTOR.services_by_name["PopulationService"].full_name


async def start(
    settings: PopulationSettings, *, secure: bool = True, clock: Clock | None = None
) -> RunningService:
    """Builds and starts the registry; nothing connects before this is called."""
    service, _ = await start_registry(
        settings,
        migrations=MIGRATIONS,
        outbox=outbox,
        topic=entity_topic(settings.citizen_topic, settings.topic_partitions),
        unit_of_work=PopulationUnitOfWork,
        api=lambda s, new_uow: PopulationApi(PopulationViews(s.db), new_uow, clock),
        register=population_service_pb2_grpc.add_PopulationServiceServicer_to_server,
        service_name=SERVICE_NAME,
        secure=secure,
    )
    return service


async def serve(settings: PopulationSettings | None = None) -> None:
    """Runs the registry until SIGTERM or SIGINT."""
    await serve_until_signal(settings or PopulationSettings(), start)
