"""Helpers the gRPC tests share: requests, error details and the published events."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import grpc

from ndx.business.v1 import business_service_pb2 as pb
from ndx.business.v1 import business_service_pb2_grpc, events_pb2
from ndx_business.adapters.proto_mapping import enterprise_to_proto
from ndx_business.domain.model import Enterprise
from ndx_runtime.grpc_errors import bad_request_fields, details_of
from ndx_runtime.kafka import read_topic

from ..conftest import Running

Make = Callable[..., Enterprise]
Stub = business_service_pb2_grpc.BusinessRegistryServiceStub
CODE = "0100233488"
# Valid tax codes (check digit included) for further enterprises, and one never registered.
OTHER_CODES = ("0100109106", "0301234562", "0401112222")
UNKNOWN_CODE = "0100112437"


def register_request(make_enterprise: Make, code: str = CODE) -> pb.RegisterEnterpriseRequest:
    return pb.RegisterEnterpriseRequest(enterprise=enterprise_to_proto(make_enterprise(code)))


async def register(stub: Stub, make_enterprise: Make, codes: Iterable[str]) -> None:
    for code in codes:
        await stub.RegisterEnterprise(register_request(make_enterprise, code))


def bad_fields(error: grpc.aio.AioRpcError) -> set[str]:
    """The fields named in the error's BadRequest details (none without details)."""
    assert details_of(error) is not None, "the error carries no google.rpc.Status"
    return bad_request_fields(error)


async def events(business: Running, at_least: int) -> list[events_pb2.EnterpriseChanged]:
    """Every change event on the registry's topic, once `at_least` arrived and it went quiet."""
    records = await read_topic(
        business.settings.kafka_bootstrap_servers,
        business.settings.enterprise_topic,
        at_least=at_least,
    )
    return [events_pb2.EnterpriseChanged.FromString(r.value) for r in records if r.value]
