"""The land registry in-process, its schema on a fresh database, a sample parcel."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import grpc
import pytest

from ndx.land.v1 import land_service_pb2_grpc
from ndx_land.adapters.tables import metadata, outbox
from ndx_land.bootstrap import start
from ndx_land.config import LandSettings
from ndx_land.domain.model import Parcel, parcel_id
from ndx_land.domain.values import (
    Address,
    Certificate,
    FormOfUse,
    HolderRole,
    LandOrigin,
    LandUse,
    RightsHolder,
)
from ndx_land.service_layer.unit_of_work import LandUnitOfWork
from ndx_population.citizen_checks import KnownCitizens
from ndx_refdata import gazetteer
from ndx_runtime.db import Database
from ndx_runtime.service import RunningService
from ndx_runtime.tls import channel_credentials

AN = RightsHolder("001085012345", "Nguyễn Văn An", HolderRole.HOUSEHOLD_HEAD, 5_000)
BINH = RightsHolder("001190054321", "Trần Thị Bình", HolderRole.SPOUSE, 5_000)
# The citizens of the population registry the tests name, with their registered names.
POPULATION = {
    AN.citizen_id: AN.full_name,
    BINH.citizen_id: BINH.full_name,
    "001201000001": "Lê Văn Mua",
}
DECEASED = "001185000007"


@pytest.fixture
def citizens() -> KnownCitizens:
    """The population registry as the land registry sees it, in memory."""
    return KnownCitizens({**POPULATION, DECEASED: "Phạm Văn Cố"}, deceased={DECEASED})


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database.from_url(database_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def uow(database: Database) -> LandUnitOfWork:
    return LandUnitOfWork(database, outbox)


MakeParcel = Callable[..., Parcel]


@pytest.fixture
def make_parcel() -> MakeParcel:
    """Builds a valid residential parcel, shared by a couple, with the given changes."""
    return sample_parcel


def sample_parcel(number: int = 345, **changes: object) -> Parcel:
    ward = gazetteer().provinces[0].wards[0]
    parcel = Parcel(
        parcel_id=parcel_id(ward.code, 12, number),
        map_sheet_number=12,
        parcel_number=number,
        address=Address("", ward.code, "Ngõ 5 Lê Lợi"),
        area_tenths=1_205,
        land_uses=(LandUse("ODT", 1_205),),
        form_of_use=FormOfUse.SHARED,
        long_term=True,
        term_end_date=None,
        origin=LandOrigin.TRANSFERRED,
        certificate=Certificate("AA 01695788", "CS00123", date(2020, 6, 1)),
        holders=(AN, BINH),
    )
    return replace(parcel, **changes)  # type: ignore[arg-type]


@dataclass
class Running:
    service: RunningService
    settings: LandSettings
    address: str
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def stub(self, identity: str = "ndx-admin") -> land_service_pb2_grpc.LandServiceStub:
        pki = self.settings.tls_ca_file.parent
        creds = channel_credentials(
            pki / "ca.crt", pki / f"{identity}.crt", pki / f"{identity}.key"
        )
        channel = grpc.aio.secure_channel(self.address, creds)
        self.channels.append(channel)
        return land_service_pb2_grpc.LandServiceStub(channel)


@pytest.fixture
async def land(
    database_url: str, kafka_bootstrap: str, pki: Path, unique: str, citizens: KnownCitizens
) -> AsyncIterator[Running]:
    settings = LandSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        grpc_port=0,
        tls_cert_file=pki / "land.crt",
        tls_key_file=pki / "land.key",
        tls_ca_file=pki / "ca.crt",
        allowed_identities=frozenset({"service/gateway", "operator/ndx-admin"}),
        parcel_topic=f"test.{unique}.land.parcel.v1",
        citizen_topic=f"test.{unique}.population.citizen.v1",
        consumer_group=f"test.{unique}.land",
        outbox_poll_seconds=0.1,
        shutdown_grace_seconds=2,
    )
    service = await start(settings, citizens=citizens)
    running = Running(service, settings, f"127.0.0.1:{service.host.port}")
    try:
        yield running
    finally:
        for channel in running.channels:
            await channel.close()
        await service.stop()
