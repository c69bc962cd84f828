"""BusinessRegistryService over gRPC: parse, call a use case, map the result."""

from __future__ import annotations

from typing import Any

import grpc

from ndx.business.v1 import business_service_pb2 as pb
from ndx.business.v1 import business_service_pb2_grpc, enterprise_pb2
from ndx.common.v1 import types_pb2
from ndx_population.citizen_checks import CitizenVerifier
from ndx_population.domain.identity_number import IdentityNumber
from ndx_runtime.clock import Clock
from ndx_runtime.errors import InvalidInput, Violations
from ndx_runtime.masks import apply_read_mask, check_mask
from ndx_runtime.proto_values import enum_from_proto
from ndx_runtime.rpc_args import (
    PageTokens,
    batch_size,
    each,
    exactly_one,
    expected_version,
    next_token,
    page_size,
    update_paths,
    ward_code,
)

from ..adapters.proto_mapping import (
    enterprise_from_proto,
    enterprise_to_proto,
    representatives_from_proto,
)
from ..domain.model import UPDATABLE_FIELDS
from ..domain.tax_code import tax_code_violation
from ..domain.values import LegalStatus
from ..service_layer import handlers
from ..service_layer.views import BusinessViews, EnterpriseFilter

_ENTERPRISE = enterprise_pb2.Enterprise.DESCRIPTOR
Ctx = grpc.aio.ServicerContext[Any, Any]
MATCH, MISMATCH, UNKNOWN = (
    types_pb2.VERIFY_RESULT_MATCH,
    types_pb2.VERIFY_RESULT_MISMATCH,
    types_pb2.VERIFY_RESULT_UNKNOWN,
)


def _code(value: str, field: str = "enterprise_code") -> None:
    problem = tax_code_violation(value)
    if problem:
        raise InvalidInput.one(field, problem)


class BusinessApi(business_service_pb2_grpc.BusinessRegistryServiceServicer):
    def __init__(
        self,
        views: BusinessViews,
        new_uow: Any,
        citizens: CitizenVerifier,
        clock: Clock | None = None,
    ) -> None:
        self._views = views
        self._new_uow: Any = new_uow  # () -> BusinessUnitOfWork
        self._citizens = citizens
        self._clock = clock or Clock()

    # -- reads ----------------------------------------------------------------------------------

    async def GetEnterprise(
        self, request: pb.GetEnterpriseRequest, context: Ctx
    ) -> enterprise_pb2.Enterprise:
        check_mask(request.read_mask, _ENTERPRISE, "read_mask")
        _code(request.enterprise_code)
        enterprise = await self._views.get(request.enterprise_code)
        return apply_read_mask(enterprise_to_proto(enterprise), request.read_mask)

    async def BatchGetEnterprises(
        self, request: pb.BatchGetEnterprisesRequest, context: Ctx
    ) -> pb.BatchGetEnterprisesResponse:
        check_mask(request.read_mask, _ENTERPRISE, "read_mask")
        batch_size(len(request.enterprise_codes), "enterprise_codes")
        each(request.enterprise_codes, "enterprise_codes", _code)
        found, missing = await self._views.batch_get(list(request.enterprise_codes))
        return pb.BatchGetEnterprisesResponse(
            enterprises=[apply_read_mask(enterprise_to_proto(e), request.read_mask) for e in found],
            missing_enterprise_codes=missing,
        )

    async def ListEnterprises(
        self, request: pb.ListEnterprisesRequest, context: Ctx
    ) -> pb.ListEnterprisesResponse:
        check_mask(request.read_mask, _ENTERPRISE, "read_mask")
        chosen = exactly_one(
            "filter",
            representative_citizen_id=bool(request.representative_citizen_id),
            ward_code=bool(request.ward_code),
            legal_status=bool(request.legal_status),
        )
        if chosen == "representative_citizen_id":
            IdentityNumber.parse(request.representative_citizen_id, chosen)
        elif chosen == "ward_code":
            ward_code(request.ward_code)
        else:
            enum_from_proto(LegalStatus, request.legal_status, "legal_status")
        f = EnterpriseFilter(
            request.representative_citizen_id, request.ward_code, request.legal_status
        )
        size = page_size(request.page_size)
        after = PageTokens.decode(request.page_token, f)
        page = await self._views.list(f, after, size + 1)
        return pb.ListEnterprisesResponse(
            enterprises=[
                apply_read_mask(enterprise_to_proto(e), request.read_mask) for e in page[:size]
            ],
            next_page_token=next_token(list(page), size, "enterprise_code", f),
        )

    async def VerifyEnterprise(
        self, request: pb.VerifyEnterpriseRequest, context: Ctx
    ) -> pb.VerifyEnterpriseResponse:
        _code(request.enterprise_code)
        if request.claimed_representative_citizen_id:
            IdentityNumber.parse(
                request.claimed_representative_citizen_id, "claimed_representative_citizen_id"
            )
        if request.claimed_legal_status:
            enum_from_proto(LegalStatus, request.claimed_legal_status, "claimed_legal_status")
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
        if not out.results:
            raise InvalidInput.one("claim_exists", "make at least one claim")
        return out

    # -- writes (the owner agency only, enforced by the gateway's policy) ------------------------

    async def RegisterEnterprise(
        self, request: pb.RegisterEnterpriseRequest, context: Ctx
    ) -> enterprise_pb2.Enterprise:
        try:
            _citizen_ids(request.enterprise, representatives=True, members=True)
            enterprise = enterprise_from_proto(request.enterprise)
            done = await handlers.register_enterprise(
                enterprise, self._new_uow(), self._clock, self._citizens
            )
        except InvalidInput as e:
            raise e.within("enterprise") from None
        return enterprise_to_proto(done)

    async def UpdateEnterprise(
        self, request: pb.UpdateEnterpriseRequest, context: Ctx
    ) -> enterprise_pb2.Enterprise:
        _code(request.enterprise.enterprise_code, "enterprise.enterprise_code")
        expected_version(request.expected_version)
        paths = update_paths(request.update_mask.paths, UPDATABLE_FIELDS)
        try:
            _citizen_ids(request.enterprise, representatives=False, members="members" in paths)
            values = enterprise_from_proto(request.enterprise)
            done = await handlers.update_enterprise(
                request.enterprise.enterprise_code,
                {p: getattr(values, p) for p in paths},
                request.expected_version,
                self._new_uow(),
                self._clock,
                self._citizens,
            )
        except InvalidInput as e:
            raise e.within("enterprise") from None
        return enterprise_to_proto(done)

    async def ChangeLegalStatus(
        self, request: pb.ChangeLegalStatusRequest, context: Ctx
    ) -> enterprise_pb2.Enterprise:
        _code(request.enterprise_code)
        expected_version(request.expected_version)
        status = enum_from_proto(LegalStatus, request.legal_status, "legal_status")
        done = await handlers.change_legal_status(
            request.enterprise_code,
            status,
            request.expected_version,
            self._new_uow(),
            self._clock,
        )
        return enterprise_to_proto(done)

    async def ChangeLegalRepresentative(
        self, request: pb.ChangeLegalRepresentativeRequest, context: Ctx
    ) -> enterprise_pb2.Enterprise:
        _code(request.enterprise_code)
        expected_version(request.expected_version)
        reps = representatives_from_proto(request.legal_representatives)
        each([r.citizen_id for r in reps], "legal_representatives", _citizen_id)
        done = await handlers.change_legal_representative(
            request.enterprise_code,
            reps,
            request.expected_version,
            self._new_uow(),
            self._clock,
            self._citizens,
        )
        return enterprise_to_proto(done)


def _citizen_id(value: str, field: str) -> None:
    IdentityNumber.parse(value, f"{field}.citizen_id")


def _member_citizen_id(value: str, field: str) -> None:
    if value:  # a member may be an enterprise instead; the domain checks it is one or the other
        _citizen_id(value, field)


def _citizen_ids(e: enterprise_pb2.Enterprise, *, representatives: bool, members: bool) -> None:
    """Checks the citizen identity numbers the enterprise names (paths relative to it)."""
    found = Violations()
    if representatives:
        reps = [r.citizen_id for r in e.legal_representatives]
        found.take(each, reps, "legal_representatives", _citizen_id)
    if members:
        found.take(each, [m.citizen_id for m in e.members], "members", _member_citizen_id)
    found.raise_any()
