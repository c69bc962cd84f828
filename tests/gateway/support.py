"""Helpers of the gateway tests: seeded ids, status details."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from sqlalchemy import text

from ndx_runtime.grpc_errors import details_of

from .conftest import System

GET_CITIZEN = "ndx.population.v1.PopulationService/GetCitizen"
BATCH_GET_CITIZENS = "ndx.population.v1.PopulationService/BatchGetCitizens"
VERIFY_CITIZEN = "ndx.population.v1.PopulationService/VerifyCitizen"
BATCH_VERIFY = "ndx.population.v1.PopulationService/BatchVerifyCitizens"
LIST_ACCESSES = "ndx.gateway.v1.DataTrackerService/ListAccesses"


async def rows(system: System, registry: str, sql: str) -> list[tuple[object, ...]]:
    service = getattr(system.exchange, registry)
    return await service.db.read(lambda c: [tuple(r) for r in c.execute(text(sql))])  # type: ignore[no-any-return]


async def citizen_ids(system: System, n: int = 3) -> list[str]:
    """Living citizens with a spouse and a father on file: records with many fields set."""
    found = await rows(
        system,
        "population",
        "select citizen_id from citizens where date_of_death is null "
        f"order by citizen_id limit {n}",
    )
    return [str(r[0]) for r in found]


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo | None:
    status = details_of(error)
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def detail_of(error: grpc.aio.AioRpcError, cls: type) -> object | None:
    status = details_of(error)
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(cls.DESCRIPTOR):
            found = cls()
            detail.Unpack(found)
            return found
    return None
