"""The business registry in-process, its schema on a fresh database, a sample enterprise."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import grpc
import pytest

from ndx.business.v1 import business_service_pb2_grpc
from ndx_business.adapters.tables import metadata, outbox
from ndx_business.bootstrap import start
from ndx_business.config import BusinessSettings
from ndx_business.domain.model import Enterprise
from ndx_business.domain.values import (
    Address,
    BusinessLine,
    EnterpriseType,
    Member,
    Representative,
)
from ndx_business.service_layer.unit_of_work import BusinessUnitOfWork
from ndx_population.citizen_checks import KnownCitizens
from ndx_refdata import gazetteer
from ndx_runtime.db import Database
from ndx_runtime.service import RunningService
from ndx_runtime.tls import channel_credentials

# The citizens of the population registry the tests name, with their registered names.
POPULATION = {
    "001085012345": "Nguyễn Văn An",
    "001090054321": "Trần Thị Bình",
    "001190054321": "Trần Thị Bình",
}
DECEASED = "001185000007"


@pytest.fixture
def citizens() -> KnownCitizens:
    """The population registry as the business registry sees it, in memory."""
    return KnownCitizens({**POPULATION, DECEASED: "Phạm Văn Cố"}, deceased={DECEASED})


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database.from_url(database_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield db
    finally:
        await db.engine.dispose()


@pytest.fixture
def uow(database: Database) -> BusinessUnitOfWork:
    return BusinessUnitOfWork(database, outbox)


MakeEnterprise = Callable[..., Enterprise]


@pytest.fixture
def make_enterprise() -> MakeEnterprise:
    """Builds a valid enterprise with the given tax code and representatives."""
    return _enterprise


def _enterprise(code: str = "0100233488", *reps: Representative) -> Enterprise:
    """A wholesale single-member LLC owned wholly by its first legal representative."""
    ward = gazetteer().provinces[0].wards[0]
    reps = reps or (Representative("001085012345", "Nguyễn Văn An", "Giám đốc"),)
    owner = reps[0]
    return Enterprise(
        enterprise_code=code,
        name="Công ty TNHH Thương mại Hoà Bình",
        type=EnterpriseType.SINGLE_MEMBER_LLC,
        head_office=Address("", ward.code, "12 Lê Lợi"),
        legal_representatives=reps,
        founding_date=date(2015, 3, 1),
        charter_capital_vnd=5_000_000_000,
        members=(Member(owner.full_name, 5_000_000_000, 10_000, citizen_id=owner.citizen_id),),
        business_lines=(BusinessLine("4690", main=True),),
    )


@dataclass
class Running:
    service: RunningService
    settings: BusinessSettings
    address: str

    def stub(self) -> business_service_pb2_grpc.BusinessRegistryServiceStub:
        pki = self.settings.tls_ca_file.parent
        creds = channel_credentials(pki / "ca.crt", pki / "ndx-admin.crt", pki / "ndx-admin.key")
        channel = grpc.aio.secure_channel(self.address, creds)
        return business_service_pb2_grpc.BusinessRegistryServiceStub(channel)


@pytest.fixture
async def business(
    database_url: str, kafka_bootstrap: str, pki: Path, unique: str, citizens: KnownCitizens
) -> AsyncIterator[Running]:
    settings = BusinessSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        grpc_port=0,
        tls_cert_file=pki / "business-registry.crt",
        tls_key_file=pki / "business-registry.key",
        tls_ca_file=pki / "ca.crt",
        allowed_identities=frozenset({"service/gateway", "operator/ndx-admin"}),
        enterprise_topic=f"test.{unique}.business.enterprise.v1",
        citizen_topic=f"test.{unique}.population.citizen.v1",
        consumer_group=f"test.{unique}.business",
        outbox_poll_seconds=0.1,
        shutdown_grace_seconds=2,
    )
    service = await start(settings, citizens=citizens)
    try:
        yield Running(service, settings, f"127.0.0.1:{service.host.port}")
    finally:
        await service.stop()
