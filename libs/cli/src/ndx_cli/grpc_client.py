"""Generic gRPC calls by name: request and response types come from the compiled descriptors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from ndx_runtime.contracts import load_contracts
from ndx_runtime.tls import channel_credentials


def find_method(service: str, method: str) -> MethodDescriptor:
    pool = load_contracts()
    try:
        svc = pool.FindServiceByName(service)
    except KeyError:
        raise LookupError(f"unknown service {service!r}") from None
    found = svc.methods_by_name.get(method)
    if found is None:
        names = ", ".join(m.name for m in svc.methods)
        raise LookupError(f"{service} has no method {method!r} (it has: {names})")
    return found


def message_class(full_name: str) -> type[Message]:
    return message_factory.GetMessageClass(load_contracts().FindMessageTypeByName(full_name))


@dataclass(frozen=True)
class Identity:
    """A local dev identity: its certificate and key under the PKI folder."""

    name: str
    pki: Path

    def credentials(self) -> grpc.ChannelCredentials:
        cert, key = self.pki / f"{self.name}.crt", self.pki / f"{self.name}.key"
        if not cert.exists():
            raise FileNotFoundError(f"no certificate for {self.name!r} at {cert}; run `make up`")
        return channel_credentials(self.pki / "ca.crt", cert, key)


async def call(
    address: str,
    method: MethodDescriptor,
    request_json: str,
    identity: Identity,
    metadata: list[tuple[str, str]],
    timeout: float = 30.0,
) -> tuple[Message, tuple[tuple[str, Any], ...]]:
    """One unary call; returns the response and the trailing metadata."""
    request_cls = message_factory.GetMessageClass(method.input_type)
    response_cls = message_factory.GetMessageClass(method.output_type)
    request = json_format.Parse(request_json or "{}", request_cls())
    path = f"/{method.containing_service.full_name}/{method.name}"
    async with grpc.aio.secure_channel(address, identity.credentials()) as channel:
        stub = channel.unary_unary(
            path,
            request_serializer=request_cls.SerializeToString,
            response_deserializer=response_cls.FromString,
        )
        invocation = stub(request, metadata=metadata, timeout=timeout)
        response = await invocation
        trailers = tuple(await invocation.trailing_metadata() or ())
    return response, trailers


def to_json(message: Message, *, indent: int | None = 2) -> str:
    return json_format.MessageToJson(
        message, preserving_proto_field_name=True, indent=indent, ensure_ascii=False
    )
