"""BusinessRegistryService over gRPC: parse, call a use case, map the result."""

from __future__ import annotations

from typing import Any

import grpc

from ndx.business.v1 import business_service_pb2 as pb
from ndx.business.v1 import business_service_pb2_grpc, enterprise_pb2
from ndx.common.v1 import types_pb2
from ndx_runtime.clock import Clock
from ndx_runtime.masks import apply_read_mask, check_mask
from ndx_runtime.proto_values import enum_from_proto

from ..adapters.proto_mapping import enterprise_from_proto, enterprise_to_proto
from ..domain.values import LegalStatus
from ..service_layer import handlers
from ..service_layer.views import BusinessViews

_ENTERPRISE = enterprise_pb2.Enterprise.DESCRIPTOR
Ctx = grpc.aio.ServicerContext[Any, Any]
MATCH, MISMATCH, UNKNOWN = (
    types_pb2.VERIFY_RESULT_MATCH,
    types_pb2.VERIFY_RESULT_MISMATCH,
    types_pb2.VERIFY_RESULT_UNKNOWN,
)


class BusinessApi(business_service_pb2_grpc.BusinessRegistryServiceServicer):
    def __init__(self, views: BusinessViews, new_uow: Any, clock: Clock | None = None) -> None:
        self._views = views
        self._new_uow: Any = new_uow  # () -> BusinessUnitOfWork
        self._clock = clock or Clock()

    async def GetEnterprise(
        self, request: pb.GetEnterpriseRequest, context: Ctx
    ) -> enterprise_pb2.Enterprise:
        check_mask(request.read_mask, _ENTERPRISE, "read_mask")
        enterprise = await self._views.get(request.enterprise_code)
        return apply_read_mask(enterprise_to_proto(enterprise), request.read_mask)

    async def VerifyEnterprise(
        self, request: pb.VerifyEnterpriseRequest, context: Ctx
    ) -> pb.VerifyEnterpriseResponse:
        found = await self._views.find(request.enterprise_code)
        out = pb.VerifyEnterpriseResponse(enterprise_code=request.enterprise_code)
        if request.claim_exists:
            out.results.add(field="exists", result=MATCH if found else MISMATCH)
        if request.claimed_legal_status:
            same = found is not None and int(found.legal_status) == request.claimed_legal_status
            result = UNKNOWN if found is None else MATCH if same else MISMATCH
            out.results.add(field="legal_status", result=result)
        if request.claimed_representative_citizen_id:
            ids = {r.citizen_id for r in found.legal_representatives} if found else set()
            is_rep = request.claimed_representative_citizen_id in ids
            result = UNKNOWN if found is None else MATCH if is_rep else MISMATCH
            out.results.add(field="legal_representatives", result=result)
        return out

    async def RegisterEnterprise(
        self, request: pb.RegisterEnterpriseRequest, context: Ctx
    ) -> enterprise_pb2.Enterprise:
        enterprise = enterprise_from_proto(request.enterprise)
        done = await handlers.register_enterprise(enterprise, self._new_uow(), self._clock)
        return enterprise_to_proto(done)

    async def ChangeLegalStatus(
        self, request: pb.ChangeLegalStatusRequest, context: Ctx
    ) -> enterprise_pb2.Enterprise:
        status = enum_from_proto(LegalStatus, request.legal_status, "legal_status")
        done = await handlers.change_legal_status(
            request.enterprise_code,
            status,
            request.expected_version,
            self._new_uow(),
            self._clock,
        )
        return enterprise_to_proto(done)
