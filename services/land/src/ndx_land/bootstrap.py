"""The composition root of the land registry."""

from __future__ import annotations

from ndx.land.v1 import land_service_pb2, land_service_pb2_grpc
from ndx_population.citizen_checks import CitizenVerifier
from ndx_population.gateway_verifier import citizen_verifier
from ndx_population.subscribers import follow_citizens
from ndx_runtime.clock import Clock
from ndx_runtime.service import RunningService, serve_until_signal, start_registry
from ndx_runtime.topics import entity_topic

from .adapters.tables import holders, inbox, outbox
from .config import LandSettings
from .entrypoints.grpc_api import LandApi
from .migrations import MIGRATIONS
from .service_layer import handlers
from .service_layer.unit_of_work import LandUnitOfWork
from .service_layer.views import LandViews

SERVICE_NAME = land_service_pb2.DESCRIPTOR.services_by_name["LandService"].full_name


async def start(
    settings: LandSettings,
    *,
    secure: bool = True,
    clock: Clock | None = None,
    citizens: CitizenVerifier | None = None,
) -> RunningService:
    """Builds and starts the registry, following citizens' events unless turned off. Holders
    named in writes are checked through the gateway as the settings say, or by `citizens`."""
    verifier = citizens if citizens is not None else citizen_verifier(settings)
    service, new_uow = await start_registry(
        settings,
        migrations=MIGRATIONS,
        outbox=outbox,
        topic=entity_topic(settings.parcel_topic, settings.topic_partitions),
        unit_of_work=LandUnitOfWork,
        api=lambda s, new_uow: LandApi(LandViews(s.db), new_uow, verifier, clock),
        register=land_service_pb2_grpc.add_LandServiceServicer_to_server,
        service_name=SERVICE_NAME,
        secure=secure,
    )
    service.clients.append(verifier.close)
    await follow_citizens(
        service,
        new_uow,
        inbox=inbox,
        references=holders.c.citizen_id,
        renamed=handlers.apply_citizen_renamed,
        died=handlers.apply_citizen_died,
    )
    return service


async def serve(settings: LandSettings | None = None) -> None:
    """Runs the registry until SIGTERM or SIGINT."""
    await serve_until_signal(settings or LandSettings(), start)
