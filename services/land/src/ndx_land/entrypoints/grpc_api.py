"""LandService over gRPC: parse, call a use case, map the result."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc

from ndx.common.v1 import types_pb2
from ndx.land.v1 import land_service_pb2 as pb
from ndx.land.v1 import land_service_pb2_grpc, parcel_pb2
from ndx_population.citizen_checks import CitizenVerifier
from ndx_population.domain.identity_number import IdentityNumber
from ndx_runtime.clock import Clock
from ndx_runtime.errors import InvalidInput, Violations
from ndx_runtime.masks import apply_read_mask, check_mask
from ndx_runtime.proto_values import date_from_proto, enum_from_proto
from ndx_runtime.rpc_args import (
    PageTokens,
    batch_size,
    each,
    exactly_one,
    expected_version,
    next_token,
    page_size,
    ward_code,
)

from ..adapters.proto_mapping import (
    holders_from_proto,
    mortgage_from_proto,
    parcel_from_proto,
    parcel_to_proto,
)
from ..domain.model import parcel_id_violation
from ..domain.values import LandOrigin
from ..service_layer import handlers
from ..service_layer.views import LandViews

_PARCEL = parcel_pb2.Parcel.DESCRIPTOR
Ctx = grpc.aio.ServicerContext[Any, Any]


def _parcel_id(value: str, field: str = "parcel_id") -> None:
    problem = parcel_id_violation(value, field)
    if problem:
        raise InvalidInput([problem])


def _holder_ids(holders: Iterable[parcel_pb2.RightsHolder], field: str = "holders") -> None:
    """Checks the holders' citizen identity numbers before anyone is asked about them."""
    found = Violations()
    for i, h in enumerate(holders):
        found.take(IdentityNumber.parse, h.citizen_id, f"{field}[{i}].citizen_id")
    found.raise_any()


class LandApi(land_service_pb2_grpc.LandServiceServicer):
    def __init__(
        self,
        views: LandViews,
        new_uow: Any,
        citizens: CitizenVerifier,
        clock: Clock | None = None,
    ) -> None:
        self._views = views
        self._new_uow: Any = new_uow  # () -> LandUnitOfWork
        self._citizens = citizens
        self._clock = clock or Clock()

    # -- reads ----------------------------------------------------------------------------------

    async def GetParcel(self, request: pb.GetParcelRequest, context: Ctx) -> parcel_pb2.Parcel:
        check_mask(request.read_mask, _PARCEL, "read_mask")
        _parcel_id(request.parcel_id)
        parcel = await self._views.get(request.parcel_id)
        return apply_read_mask(parcel_to_proto(parcel), request.read_mask)

    async def BatchGetParcels(
        self, request: pb.BatchGetParcelsRequest, context: Ctx
    ) -> pb.BatchGetParcelsResponse:
        check_mask(request.read_mask, _PARCEL, "read_mask")
        batch_size(len(request.parcel_ids), "parcel_ids")
        each(request.parcel_ids, "parcel_ids", _parcel_id)
        found, missing = await self._views.batch_get(list(request.parcel_ids))
        return pb.BatchGetParcelsResponse(
            parcels=[apply_read_mask(parcel_to_proto(p), request.read_mask) for p in found],
            missing_parcel_ids=missing,
        )

    async def ListParcels(
        self, request: pb.ListParcelsRequest, context: Ctx
    ) -> pb.ListParcelsResponse:
        check_mask(request.read_mask, _PARCEL, "read_mask")
        chosen = exactly_one(
            "filter",
            ward_code=bool(request.ward_code),
            holder_citizen_id=bool(request.holder_citizen_id),
        )
        if chosen == "ward_code":
            ward_code(request.ward_code)
        else:
            IdentityNumber.parse(request.holder_citizen_id, "holder_citizen_id")
        size = page_size(request.page_size)
        filter_ = (request.ward_code, request.holder_citizen_id)
        after = PageTokens.decode(request.page_token, filter_)
        page = await self._views.list(request.ward_code, request.holder_citizen_id, after, size + 1)
        return pb.ListParcelsResponse(
            parcels=[apply_read_mask(parcel_to_proto(p), request.read_mask) for p in page[:size]],
            next_page_token=next_token(list(page), size, "parcel_id", filter_),
        )

    async def VerifyLandRight(
        self, request: pb.VerifyLandRightRequest, context: Ctx
    ) -> pb.VerifyLandRightResponse:
        _parcel_id(request.parcel_id)
        IdentityNumber.parse(request.citizen_id, "citizen_id")
        parcel = await self._views.find(request.parcel_id)
        if parcel is None:
            result = types_pb2.VERIFY_RESULT_UNKNOWN
        elif parcel.holds_right(request.citizen_id):
            result = types_pb2.VERIFY_RESULT_MATCH
        else:
            result = types_pb2.VERIFY_RESULT_MISMATCH
        return pb.VerifyLandRightResponse(parcel_id=request.parcel_id, result=result)

    # -- writes (the owner agency only, enforced by the gateway's policy) ------------------------

    async def RegisterParcel(
        self, request: pb.RegisterParcelRequest, context: Ctx
    ) -> parcel_pb2.Parcel:
        if request.parcel.version:
            raise InvalidInput.one("parcel.version", "is assigned by the registry; leave it 0")
        try:
            parcel = parcel_from_proto(request.parcel)
            _holder_ids(request.parcel.holders)
            saved = await handlers.register_parcel(
                parcel, self._new_uow(), self._clock, self._citizens
            )
        except InvalidInput as e:
            # Field paths as the request names them.
            raise e.within("parcel") from None
        return parcel_to_proto(saved)

    async def TransferRights(
        self, request: pb.TransferRightsRequest, context: Ctx
    ) -> parcel_pb2.Parcel:
        _parcel_id(request.parcel_id)
        expected_version(request.expected_version)
        holders = holders_from_proto(request.holders, "holders")
        _holder_ids(request.holders)
        origin = enum_from_proto(LandOrigin, request.origin, "origin")
        saved = await handlers.transfer_rights(
            request.parcel_id,
            holders,
            origin,
            request.expected_version,
            self._new_uow(),
            self._clock,
            self._citizens,
        )
        return parcel_to_proto(saved)

    async def RegisterMortgage(
        self, request: pb.RegisterMortgageRequest, context: Ctx
    ) -> parcel_pb2.Parcel:
        _parcel_id(request.parcel_id)
        expected_version(request.expected_version)
        mortgage = mortgage_from_proto(request.mortgage, "mortgage")
        saved = await handlers.register_mortgage(
            request.parcel_id, mortgage, request.expected_version, self._new_uow(), self._clock
        )
        return parcel_to_proto(saved)

    async def ReleaseMortgage(
        self, request: pb.ReleaseMortgageRequest, context: Ctx
    ) -> parcel_pb2.Parcel:
        _parcel_id(request.parcel_id)
        expected_version(request.expected_version)
        if not request.mortgage_id:
            raise InvalidInput.one("mortgage_id", "is required")
        released = date_from_proto(request.release_date, "release_date")
        if released is None:
            raise InvalidInput.one("release_date", "is required")
        saved = await handlers.release_mortgage(
            request.parcel_id,
            request.mortgage_id,
            released,
            request.expected_version,
            self._new_uow(),
            self._clock,
        )
        return parcel_to_proto(saved)
