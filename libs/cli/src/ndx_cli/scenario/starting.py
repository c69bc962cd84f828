"""The starting data of a scenario, read through the registries' list APIs.

Citizens and parcels are listed ward by ward, the most populous wards first, enterprises legal
status by legal status; each read asks only for the fields the scenario uses. Reads go out a
window of wards at a time and are kept in ward order, and loading stops at the window that
reaches the cap, so the same data always loads the same entities. At most the first
`WARDS` wards are read: they hold over half the people, and the many sparse communes after
them would cost a call each (an audited one through the gateway) for a handful of people.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from google.protobuf.field_mask_pb2 import FieldMask

from ndx.business.v1 import business_service_pb2 as bpb
from ndx.business.v1 import enterprise_pb2
from ndx.land.v1 import land_service_pb2 as lpb
from ndx.land.v1 import parcel_pb2
from ndx.population.v1 import population_service_pb2 as ppb
from ndx_population.adapters.proto_mapping import citizen_from_proto
from ndx_population.domain.model import UPDATABLE_FIELDS, Citizen
from ndx_population.seed.registrar import populous_wards

from .targets import Door

T = TypeVar("T")
PAGE = 1000
WARDS = 1000

# What the life events read: who a citizen is, and the fields they may change but for the
# documents and contacts, which no life event here touches.
_UNREAD = {"blood_type", "email", "id_card", "nationality", "old_id_number", "phone"}
CITIZEN_FIELDS = (
    *("citizen_id", "date_of_birth", "gender", "date_of_death", "version"),
    *sorted(UPDATABLE_FIELDS - _UNREAD),
)
PARCEL_FIELDS = ("parcel_id", "holders", "mortgages", "version")
ENTERPRISE_FIELDS = ("enterprise_code", "legal_status", "legal_representatives", "version")
# Statuses in which an enterprise can still change (a dissolved one is closed).
OPEN_STATUSES = tuple(
    s
    for s in enterprise_pb2.LegalStatus.values()
    if s not in (0, enterprise_pb2.LEGAL_STATUS_DISSOLVED)
)


async def _pages(fetch: Callable[[str], Awaitable[Any]], items: str) -> list[Any]:
    """Every item of a paged list, following next_page_token."""
    out: list[Any] = []
    token = ""
    while True:
        page = await fetch(token)
        out.extend(getattr(page, items))
        token = page.next_page_token
        if not token:
            return out


async def _by_ward(
    cap: int,
    window: int,
    list_ward: Callable[[str], Awaitable[list[T]]],
) -> list[T]:
    found: list[T] = []
    wards = populous_wards()[:WARDS]
    for start in range(0, len(wards), window):
        pages = await asyncio.gather(*(list_ward(w) for w in wards[start : start + window]))
        for page in pages:
            found.extend(page)
        if len(found) >= cap:
            return found[:cap]
    return found


async def load_citizens(door: Door, cap: int, window: int = 32) -> list[Citizen]:
    """Up to `cap` citizens (the living and the dead), as domain citizens."""
    stub = door.stub("population")
    mask = FieldMask(paths=CITIZEN_FIELDS)

    async def ward(code: str) -> list[Citizen]:
        def fetch(token: str) -> Awaitable[ppb.ListCitizensResponse]:
            request = ppb.ListCitizensRequest(
                ward_code=code, page_size=PAGE, page_token=token, read_mask=mask
            )
            return stub.ListCitizens(request, metadata=door.metadata)  # type: ignore[no-any-return]

        return [citizen_from_proto(c) for c in await _pages(fetch, "citizens")]

    return await _by_ward(cap, window, ward)


async def load_parcels(door: Door, cap: int, window: int = 32) -> list[parcel_pb2.Parcel]:
    """Up to `cap` parcels with their holders and mortgages."""
    stub = door.stub("land")
    mask = FieldMask(paths=PARCEL_FIELDS)

    async def ward(code: str) -> list[parcel_pb2.Parcel]:
        def fetch(token: str) -> Awaitable[lpb.ListParcelsResponse]:
            request = lpb.ListParcelsRequest(
                ward_code=code, page_size=PAGE, page_token=token, read_mask=mask
            )
            return stub.ListParcels(request, metadata=door.metadata)  # type: ignore[no-any-return]

        return await _pages(fetch, "parcels")

    return await _by_ward(cap, window, ward)


async def load_enterprises(
    door: Door, cap: int, statuses: Sequence[int] = OPEN_STATUSES
) -> list[enterprise_pb2.Enterprise]:
    """Up to `cap` enterprises of each open legal status, with their representatives."""
    stub = door.stub("business")
    mask = FieldMask(paths=ENTERPRISE_FIELDS)

    async def status(value: int) -> list[enterprise_pb2.Enterprise]:
        def fetch(token: str) -> Awaitable[bpb.ListEnterprisesResponse]:
            request = bpb.ListEnterprisesRequest(
                legal_status=value,  # type: ignore[arg-type]
                page_size=PAGE,
                page_token=token,
                read_mask=mask,
            )
            return stub.ListEnterprises(request, metadata=door.metadata)  # type: ignore[no-any-return]

        return (await _pages(fetch, "enterprises"))[:cap]

    found = await asyncio.gather(*(status(s) for s in statuses))
    return [e for group in found for e in group]
