"""The composition root of the business registry."""

from __future__ import annotations

from ndx.business.v1 import business_service_pb2, business_service_pb2_grpc
from ndx_population.citizen_checks import CitizenVerifier
from ndx_population.gateway_verifier import citizen_verifier
from ndx_population.subscribers import follow_citizens
from ndx_runtime.clock import Clock
from ndx_runtime.service import RunningService, serve_until_signal, start_registry
from ndx_runtime.topics import entity_topic

from .adapters.tables import inbox, outbox, representatives
from .config import BusinessSettings
from .entrypoints.grpc_api import BusinessApi
from .migrations import MIGRATIONS
from .service_layer import handlers
from .service_layer.unit_of_work import BusinessUnitOfWork
from .service_layer.views import BusinessViews

SERVICE_NAME = business_service_pb2.DESCRIPTOR.services_by_name["BusinessRegistryService"].full_name


async def start(
    settings: BusinessSettings,
    *,
    secure: bool = True,
    clock: Clock | None = None,
    citizens: CitizenVerifier | None = None,
) -> RunningService:
    """Builds and starts the registry, following citizens' events unless turned off.
    Representatives and members named in writes are checked through the gateway as the
    settings say, or by `citizens`."""
    verifier = citizens if citizens is not None else citizen_verifier(settings)
    service, new_uow = await start_registry(
        settings,
        migrations=MIGRATIONS,
        outbox=outbox,
        topic=entity_topic(settings.enterprise_topic, settings.topic_partitions),
        unit_of_work=BusinessUnitOfWork,
        api=lambda s, new_uow: BusinessApi(BusinessViews(s.db), new_uow, verifier, clock),
        register=business_service_pb2_grpc.add_BusinessRegistryServiceServicer_to_server,
        service_name=SERVICE_NAME,
        secure=secure,
    )
    service.clients.append(verifier.close)
    await follow_citizens(
        service,
        new_uow,
        inbox=inbox,
        references=representatives.c.citizen_id,
        renamed=handlers.apply_citizen_renamed,
        died=handlers.apply_citizen_died,
    )
    return service


async def serve(settings: BusinessSettings | None = None) -> None:
    """Runs the registry until SIGTERM or SIGINT."""
    await serve_until_signal(settings or BusinessSettings(), start)
