"""PopulationService over gRPC: parse, call a use case, map the result."""

from __future__ import annotations

from typing import Any

import grpc

from ndx.population.v1 import citizen_pb2, population_service_pb2_grpc
from ndx.population.v1 import population_service_pb2 as pb
from ndx_runtime.clock import Clock
from ndx_runtime.errors import InvalidInput
from ndx_runtime.masks import apply_read_mask, check_mask
from ndx_runtime.proto_values import date_from_proto
from ndx_runtime.rpc_args import (
    PageTokens,
    batch_size,
    each,
    expected_version,
    next_token,
    page_size,
    update_paths,
    ward_code,
)

from ..adapters.claims_proto import claims_from_proto
from ..adapters.proto_mapping import citizen_from_proto, citizen_to_proto
from ..adapters.verdicts_proto import verdict_to_proto, verdicts_to_proto
from ..domain.identity_number import IdentityNumber
from ..domain.model import UPDATABLE_FIELDS
from ..service_layer import handlers
from ..service_layer.views import CitizenFilter, PopulationViews

_CITIZEN = citizen_pb2.Citizen.DESCRIPTOR
Ctx = grpc.aio.ServicerContext[Any, Any]


class PopulationApi(population_service_pb2_grpc.PopulationServiceServicer):
    def __init__(self, views: PopulationViews, new_uow: Any, clock: Clock | None = None) -> None:
        self._views = views
        self._new_uow: Any = new_uow  # () -> PopulationUnitOfWork
        self._clock = clock or Clock()

    # -- reads ----------------------------------------------------------------------------------

    async def GetCitizen(self, request: pb.GetCitizenRequest, context: Ctx) -> citizen_pb2.Citizen:
        check_mask(request.read_mask, _CITIZEN, "read_mask")
        _citizen_id(request.citizen_id, "citizen_id")
        citizen = await self._views.get(request.citizen_id)
        return apply_read_mask(citizen_to_proto(citizen), request.read_mask)

    async def BatchGetCitizens(
        self, request: pb.BatchGetCitizensRequest, context: Ctx
    ) -> pb.BatchGetCitizensResponse:
        check_mask(request.read_mask, _CITIZEN, "read_mask")
        batch_size(len(request.citizen_ids), "citizen_ids")
        each(request.citizen_ids, "citizen_ids", IdentityNumber.parse)
        found, missing = await self._views.batch_get(list(request.citizen_ids))
        return pb.BatchGetCitizensResponse(
            citizens=[apply_read_mask(citizen_to_proto(c), request.read_mask) for c in found],
            missing_citizen_ids=missing,
        )

    async def ListCitizens(
        self, request: pb.ListCitizensRequest, context: Ctx
    ) -> pb.ListCitizensResponse:
        check_mask(request.read_mask, _CITIZEN, "read_mask")
        f = _filter(request)
        size = page_size(request.page_size)
        after = PageTokens.decode(request.page_token, f)
        page = await self._views.find(f, after, size + 1)
        token = next_token(list(page), size, "citizen_id", f)
        return pb.ListCitizensResponse(
            citizens=[apply_read_mask(citizen_to_proto(c), request.read_mask) for c in page[:size]],
            next_page_token=token,
        )

    async def ListHouseholdMembers(
        self, request: pb.ListHouseholdMembersRequest, context: Ctx
    ) -> pb.ListHouseholdMembersResponse:
        check_mask(request.read_mask, _CITIZEN, "read_mask")
        if not request.household_id:
            raise InvalidInput.one("household_id", "must not be empty")
        members = await self._views.household(request.household_id)
        return pb.ListHouseholdMembersResponse(
            members=[apply_read_mask(citizen_to_proto(c), request.read_mask) for c in members]
        )

    async def VerifyCitizen(
        self, request: pb.VerifyCitizenRequest, context: Ctx
    ) -> pb.VerifyCitizenResponse:
        claims = claims_from_proto([request], batch=False)
        [outcome] = await self._views.verify(claims)
        return verdict_to_proto(request.citizen_id, claims.paths[0], outcome)

    async def BatchVerifyCitizens(
        self, request: pb.BatchVerifyCitizensRequest, context: Ctx
    ) -> pb.BatchVerifyCitizensResponse:
        batch_size(len(request.requests), "requests")
        claims = claims_from_proto(request.requests)
        return verdicts_to_proto(claims, await self._views.verify(claims))

    # -- writes (the owner agency only, enforced by the gateway's policy) ------------------------

    async def RegisterCitizen(
        self, request: pb.RegisterCitizenRequest, context: Ctx
    ) -> citizen_pb2.Citizen:
        if request.citizen.version:
            raise InvalidInput.one("citizen.version", "is assigned by the registry; leave it 0")
        citizen = citizen_from_proto(request.citizen)
        if not request.citizen.HasField("date_of_birth"):
            raise InvalidInput.one("citizen.date_of_birth", "is required")
        saved = await handlers.register_citizen(citizen, self._new_uow(), self._clock)
        return citizen_to_proto(saved)

    async def UpdateCitizen(
        self, request: pb.UpdateCitizenRequest, context: Ctx
    ) -> citizen_pb2.Citizen:
        _citizen_id(request.citizen.citizen_id, "citizen.citizen_id")
        expected_version(request.expected_version)
        paths = update_paths(request.update_mask.paths, UPDATABLE_FIELDS)
        values = citizen_from_proto(request.citizen)
        changes = {p: getattr(values, p) for p in paths}
        saved = await handlers.update_citizen(
            request.citizen.citizen_id,
            changes,
            request.expected_version,
            self._new_uow(),
            self._clock,
        )
        return citizen_to_proto(saved)

    async def RecordDeath(
        self, request: pb.RecordDeathRequest, context: Ctx
    ) -> citizen_pb2.Citizen:
        _citizen_id(request.citizen_id, "citizen_id")
        expected_version(request.expected_version)
        died = date_from_proto(request.date_of_death, "date_of_death")
        if died is None:
            raise InvalidInput.one("date_of_death", "is required")
        saved = await handlers.record_death(
            request.citizen_id, died, request.expected_version, self._new_uow(), self._clock
        )
        return citizen_to_proto(saved)


def _citizen_id(value: str, field: str) -> None:
    IdentityNumber.parse(value, field)


def _filter(r: pb.ListCitizensRequest) -> CitizenFilter:
    born = date_from_proto(r.date_of_birth, "date_of_birth")
    chosen = [bool(r.ward_code), bool(r.household_id), bool(r.full_name or born)]
    if sum(chosen) != 1:
        raise InvalidInput.one(
            "filter", "set exactly one of ward_code, household_id, or full_name with date_of_birth"
        )
    if (r.full_name or born) and not (r.full_name and born):
        field = "date_of_birth" if r.full_name else "full_name"
        raise InvalidInput.one(field, "full_name and date_of_birth go together")
    if r.ward_code:
        ward_code(r.ward_code)
    return CitizenFilter(r.ward_code, r.household_id, r.full_name, born)
