"""The exchange behind its gateway, shared by a module's tests: registries that accept only
the gateway, and agencies that call the gateway with their own certificates."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.message import Message
from ndx_gateway.bootstrap import RunningGateway
from ndx_gateway.bootstrap import start as start_gateway
from ndx_gateway.policy import DEFAULT_POLICY

from ndx_cli.exchange import Exchange, Sizes, start_exchange
from ndx_runtime.contracts import load_contracts

POOL = load_contracts()
SIZES = Sizes(citizens=2_000, enterprises=300, parcels=400)


async def registries(data: Path, kafka: str, pki: Path) -> Exchange:
    """The three registries on topics of their own, accepting only the gateway's certificate."""
    prefix = f"test.{uuid.uuid4().hex[:10]}"
    return await start_exchange(
        data, kafka, pki, prefix, sizes=SIZES, allowed=frozenset({"service/gateway"})
    )


@dataclass
class Agency:
    """An agency system: its certificate, and calls by full method name."""

    name: str
    channel: grpc.aio.Channel

    async def call(
        self,
        method: str,
        request: Message | dict[str, Any] | None = None,
        *,
        purpose: str | None = None,
        officer: str | None = "officer-007",
        metadata: Sequence[tuple[str, str]] = (),
        timeout: float = 10.0,
    ) -> tuple[Message, dict[str, str]]:
        """Calls `method` ("ndx.population.v1.PopulationService/GetCitizen"); returns the
        response and the trailing metadata."""
        service, _, name = method.partition("/")
        descriptor = POOL.FindServiceByName(service).methods_by_name[name]
        request_cls = message_factory.GetMessageClass(descriptor.input_type)
        response_cls = message_factory.GetMessageClass(descriptor.output_type)
        if not isinstance(request, Message):
            request = request_cls(**(request or {}))
        md = list(metadata)
        if purpose is not None:
            md.append(("x-ndx-purpose", purpose))
        if officer is not None:
            md.append(("x-ndx-officer", officer))
        stub = self.channel.unary_unary(
            f"/{method}",
            request_serializer=request_cls.SerializeToString,
            response_deserializer=response_cls.FromString,
        )
        call = stub(request, metadata=md, timeout=timeout)
        response = await call
        trailers = {k: v for k, v in (await call.trailing_metadata() or ()) if isinstance(v, str)}
        return response, trailers


@dataclass
class System:
    exchange: Exchange
    gateway: RunningGateway
    policy_file: Path
    data: Path

    def agency(self, name: str, port: int | None = None) -> Agency:
        return Agency(name, self.exchange.channel(port or self.gateway.port, name))


@pytest.fixture(scope="module")
async def system(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, pki: Path
) -> AsyncIterator[System]:

    data = tmp_path_factory.mktemp("exchange")
    exchange = await registries(data, kafka_bootstrap, pki)
    policy_file = data / "policy.yaml"
    shutil.copy(DEFAULT_POLICY, policy_file)
    gateway = await start_gateway(
        exchange.gateway_settings(data, policy_file=policy_file, metrics_port=0)
    )
    exchange.gateway = gateway
    try:
        yield System(exchange, gateway, policy_file, data)
    finally:
        await exchange.stop()
