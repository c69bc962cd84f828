"""Verification requests -> ClaimBatch: a thousand claims read a column at a time.

A batch's claims mostly name the same few top-level fields. They are grouped by claim mask and
each claimed field read for the whole group with C-level `map`s, no Citizen built per claim;
each column holds what `value_at(citizen_from_proto(claims), path)` gives per claim. When any
request is not plainly well-formed, the batch is read one request at a time by
`claim_from_proto`, the full validation, which raises the exact INVALID_ARGUMENT (the first bad
request's, fields named `requests[i]....`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import compress, starmap
from operator import attrgetter, methodcaller
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask

from ndx.common.v1 import types_pb2
from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as pb
from ndx_runtime.errors import InvalidInput, Violation
from ndx_runtime.masks import check_mask, unknown_paths
from ndx_runtime.proto_values import address_from_proto

from ..domain.identity_number import IdentityNumber
from ..domain.model import CODE_FIELDS, TEXT_FIELDS, Citizen
from ..domain.values import BloodType, Gender, HouseholdRelationship, IdentityCard, MaritalStatus
from ..domain.verification import FIELD_RULES, ClaimBatch, ClaimGroup
from .proto_mapping import citizen_from_proto
from .tables import ADDRESS_FIELDS

_CITIZEN = citizen_pb2.Citizen.DESCRIPTOR
Claims = Sequence[citizen_pb2.Citizen]
ColumnReader = Callable[[Claims], list[Any]]


def claim_from_proto(r: pb.VerifyCitizenRequest, prefix: str) -> tuple[Citizen, tuple[str, ...]]:
    """The claimed citizen and the claimed paths, fully checked; InvalidInput names the field."""
    IdentityNumber.parse(r.citizen_id, f"{prefix}citizen_id")
    paths = list(r.claim_mask.paths)
    if not paths:
        raise InvalidInput.one(f"{prefix}claim_mask", "must name at least one claimed field")
    check_mask(FieldMask(paths=paths), _CITIZEN, f"{prefix}claim_mask")
    unclaimable = [p for p in paths if not _claimable(p)]
    if unclaimable:
        raise InvalidInput(
            [
                Violation(
                    f"{prefix}claim_mask",
                    f"{p!r} cannot be claimed: the registry keeps no such value "
                    "(names of places are looked up from their codes; claim the code)",
                )
                for p in unclaimable
            ]
        )
    try:
        claims = citizen_from_proto(r.claims)
    except InvalidInput as e:
        raise InvalidInput(
            [Violation(f"{prefix}claims.{v.field}", v.description) for v in e.violations]
        ) from None
    return claims, tuple(paths)


# Parts of an address the registry fills in from the codes on the way out and never stores.
_DERIVED = frozenset({"province_name", "ward_name"})


def _claimable(path: str) -> bool:
    """Whether the stored citizen holds a value at `path` (a field of the contract may be
    output-only: update_time, the names of places)."""
    parts = path.split(".")
    return parts[0] in FIELD_RULES and parts[-1] not in _DERIVED


def claims_from_proto(
    requests: Sequence[pb.VerifyCitizenRequest], *, batch: bool = True
) -> ClaimBatch:
    """The claims of each request, in order; InvalidInput for the first malformed request
    (fields named `requests[i]....` in a batch, relative to the request otherwise)."""
    try:
        claims = _by_columns(requests)
    except ValueError:  # an impossible claimed date
        claims = None
    return claims if claims is not None else _one_by_one(requests, batch)


def _one_by_one(requests: Sequence[pb.VerifyCitizenRequest], batch: bool) -> ClaimBatch:
    ids, paths, whole = [], [], {}
    for i, r in enumerate(requests):
        whole[i], claimed_paths = claim_from_proto(r, f"requests[{i}]." if batch else "")
        ids.append(r.citizen_id)
        paths.append(claimed_paths)
    return ClaimBatch(ids, paths, [], whole)


_ID = attrgetter("citizen_id")
_MASK = attrgetter("claim_mask")
_CLAIMS = attrgetter("claims")
# The numbers enum_from_proto accepts, per enum field.
_ENUMS = [
    (attrgetter(name), frozenset(int(v) for v in kind))
    for name, kind in (
        ("gender", Gender),
        ("blood_type", BloodType),
        ("relationship_to_head", HouseholdRelationship),
        ("marital_status", MaritalStatus),
    )
]


def _by_columns(requests: Sequence[pb.VerifyCitizenRequest]) -> ClaimBatch | None:
    """The batch read field by field; None when a request needs the one-by-one checks."""
    ids = list(map(_ID, requests))
    if not IdentityNumber.all_valid(ids):
        return None
    claims = list(map(_CLAIMS, requests))
    if not all(set(map(get, claims)) <= allowed for get, allowed in _ENUMS):
        return None
    if not _real_dates(claims, "date_of_death") or not _real_cards(claims):
        return None
    keys = _mask_keys(list(map(_MASK, requests)))
    positions: dict[bytes, list[int]] = {}
    if len(set(keys)) == 1:
        positions[keys[0]] = list(range(len(keys)))
    else:
        for i, key in enumerate(keys):
            positions.setdefault(key, []).append(i)
    plans = {key: _PLANS.get(key) or _plan(key) for key in positions}
    if not all(plan.valid for plan in plans.values()):
        return None
    paths = [plans[key].paths for key in keys]
    groups, whole = [], {}
    for key, where in positions.items():
        plan = plans[key]
        mine = claims if len(where) == len(claims) else [claims[i] for i in where]
        if plan.check_birth and not _real_dates(mine, "date_of_birth"):
            return None
        if plan.readers is None:
            try:
                for i in where:
                    whole[i], _ = claim_from_proto(requests[i], "")
            except InvalidInput:  # reported in request order by the one-by-one checks
                return None
            continue
        values = [read(mine) for read in plan.readers]
        groups.append(ClaimGroup(plan.paths, where, [ids[i] for i in where], values))
    return ClaimBatch(ids, paths, groups, whole)


def _mask_keys(masks: list[FieldMask]) -> list[bytes]:
    """Each claim mask serialised: the key of its plan. Most of a batch's masks usually equal
    the first, and comparing is cheaper than serialising."""
    first = masks[0]
    key = first.SerializeToString()
    same = list(map(first.__eq__, masks))
    if all(same):
        return [key] * len(masks)
    return [key if s else m.SerializeToString() for s, m in zip(same, masks, strict=True)]


def _day(year: int, month: int, day: int) -> date | None:
    """`date_from_proto` of the parts, raising ValueError (not InvalidInput) when impossible."""
    return date(year, month, day) if year or month or day else None


def _real_dates(messages: Sequence[Any], field: str) -> bool:
    """Whether every message that sets the Date `field` gives a real date."""
    get, has = attrgetter(field), methodcaller("HasField", field)
    try:
        for message in compress(messages, map(has, messages)):
            d = get(message)
            _day(d.year, d.month, d.day)
    except ValueError:
        return False
    return True


def _real_cards(claims: Claims) -> bool:
    cards = [c.id_card for c in compress(claims, map(methodcaller("HasField", "id_card"), claims))]
    return _real_dates(cards, "issue_date") and _real_dates(cards, "expiry_date")


_YMD = attrgetter("year", "month", "day")


def _birth_dates(claims: Claims) -> list[date]:
    parts = list(map(_YMD, map(attrgetter("date_of_birth"), claims)))
    try:
        return list(starmap(date, parts))
    except ValueError:  # an unset date somewhere (date.min, as citizen_from_proto gives)
        return [_day(*p) or date.min for p in parts]


def _death_dates(claims: Claims) -> list[date | None]:
    return list(starmap(_day, map(_YMD, map(attrgetter("date_of_death"), claims))))


def _card(m: citizen_pb2.Citizen) -> IdentityCard | None:
    if not m.HasField("id_card"):
        return None
    card = m.id_card
    return IdentityCard(_date(card.issue_date), card.issue_place, _date(card.expiry_date))


def _date(d: types_pb2.Date) -> date | None:
    return _day(d.year, d.month, d.day)


def _plain(name: str) -> ColumnReader:
    get = attrgetter(name)
    return lambda claims: list(map(get, claims))


def _address(name: str) -> ColumnReader:
    get = attrgetter(name)
    return lambda claims: list(map(address_from_proto, map(get, claims)))


# One column reader per field of FIELD_RULES, each as citizen_from_proto would set the field.
READERS: dict[str, ColumnReader] = {
    **{name: _plain(name) for name in (*TEXT_FIELDS, *CODE_FIELDS, "version")},
    # Replaces the plain reader: an empty nationality is Vietnamese, as citizen_from_proto says.
    "nationality": lambda claims: [c.nationality or "VN" for c in claims],
    "date_of_birth": _birth_dates,
    "date_of_death": _death_dates,
    "other_names": lambda claims: [tuple(c.other_names) for c in claims],
    **{name: _address(name) for name in ADDRESS_FIELDS},
    "id_card": lambda claims: list(map(_card, claims)),
}
assert READERS.keys() == FIELD_RULES.keys()


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to read the claims of one claim mask."""

    paths: tuple[str, ...]
    valid: bool
    # A column reader per path; None when a path has no rule of its own (whole citizens then).
    readers: tuple[ColumnReader, ...] | None
    check_birth: bool


# Claim masks seen, by their serialised form; a batch uses a handful.
_PLANS: dict[bytes, _Plan] = {}
_MAX_PLANS = 4096


def _plan(key: bytes) -> _Plan:
    paths = tuple(FieldMask.FromString(key).paths)
    valid = bool(paths) and not unknown_paths(FieldMask(paths=paths), _CITIZEN)
    quick = valid and all(p in READERS for p in paths)
    plan = _Plan(
        paths,
        valid,
        tuple(READERS[p] for p in paths) if quick else None,
        "date_of_birth" not in paths or not quick,
    )
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan
