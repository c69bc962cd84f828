"""Business events: enterprises registered, legal status changes, new legal representatives,
head offices moved.

Representatives and members of new enterprises, and newly appointed representatives, are
living representatives of the enterprises loaded, by the names the registry holds for them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from google.protobuf.field_mask_pb2 import FieldMask

from ndx.business.v1 import business_service_pb2 as bpb
from ndx.business.v1 import enterprise_pb2
from ndx_business.adapters.proto_mapping import enterprise_to_proto
from ndx_business.domain.model import TRANSITIONS
from ndx_business.domain.values import LegalStatus
from ndx_business.seed.generator import new_enterprise
from ndx_refdata import gazetteer
from ndx_runtime.places import Address
from ndx_runtime.proto_values import address_to_proto

from .steps import Call, Step, choose, pick, plan_one

EVENTS = (("register", 25.0), ("status", 40.0), ("representative", 20.0), ("relocate", 15.0))
S = LegalStatus
# How often each change of status happens, relative to the others allowed from the same status
# (TRANSITIONS says which are allowed); a suspended business mostly resumes, one dissolving
# mostly ends dissolved.
_LIKELY = {
    (S.OPERATING, S.SUSPENDED): 40.0,
    (S.OPERATING, S.DISSOLVING): 25.0,
    (S.OPERATING, S.NOT_AT_REGISTERED_ADDRESS): 15.0,
    (S.OPERATING, S.TAX_CODE_REVOKED): 10.0,
    (S.SUSPENDED, S.OPERATING): 60.0,
    (S.SUSPENDED, S.DISSOLVING): 30.0,
    (S.NOT_AT_REGISTERED_ADDRESS, S.OPERATING): 50.0,
    (S.NOT_AT_REGISTERED_ADDRESS, S.TAX_CODE_REVOKED): 30.0,
    (S.TAX_CODE_REVOKED, S.DISSOLVING): 60.0,
    (S.TAX_CODE_REVOKED, S.OPERATING): 40.0,
    (S.DISSOLVING, S.DISSOLVED): 90.0,
    (S.IN_BANKRUPTCY, S.DISSOLVED): 70.0,
    (S.IN_BANKRUPTCY, S.OPERATING): 30.0,
}


@dataclass(frozen=True)
class Person:
    citizen_id: str
    full_name: str


@dataclass
class _Enterprise:
    code: str
    status: LegalStatus
    representatives: list[enterprise_pb2.LegalRepresentative]


def people_of(enterprises: Sequence[enterprise_pb2.Enterprise]) -> set[str]:
    """Every citizen named as a representative of the enterprises."""
    return {r.citizen_id for e in enterprises for r in e.legal_representatives}


class Business:
    def __init__(
        self, enterprises: Sequence[enterprise_pb2.Enterprise], seed: str, today: date
    ) -> None:
        self.rng = random.Random(f"business:{seed}")
        self.today = today
        self.enterprises = [
            _Enterprise(
                e.enterprise_code, LegalStatus(e.legal_status), list(e.legal_representatives)
            )
            for e in enterprises
        ]
        self.codes = {e.code for e in self.enterprises}
        living = {
            r.citizen_id: r.full_name
            for e in enterprises
            for r in e.legal_representatives
            if not r.deceased
        }
        self.people = [Person(i, name) for i, name in sorted(living.items())]
        self.wards = sorted(gazetteer().wards, key=lambda w: w.code)

    def plan(self, budget: int) -> Step | None:
        return plan_one(self.rng, budget, [(getattr(self, n), w) for n, w in EVENTS])

    def _open(self) -> _Enterprise | None:
        return pick(self.rng, self.enterprises, lambda e: e.status is not S.DISSOLVED)

    def register(self, budget: int) -> Step | None:
        if len(self.people) < 6:  # a joint-stock company needs three founding shareholders
            return None
        enterprise = new_enterprise(self.rng, self.people, self.wards, self.codes, self.today)
        message = enterprise_to_proto(enterprise)
        message.ClearField("update_time")
        self.enterprises.append(
            _Enterprise(
                enterprise.enterprise_code, S.OPERATING, list(message.legal_representatives)
            )
        )
        request = bpb.RegisterEnterpriseRequest(enterprise=message)
        call = Call(
            "business", "RegisterEnterprise", enterprise.enterprise_code, request, versioned=False
        )
        return Step("register", [call])

    def status(self, budget: int) -> Step | None:
        found = self._open()
        if found is None:
            return None
        allowed = sorted(TRANSITIONS[found.status])
        found.status = choose(self.rng, [(s, _LIKELY.get((found.status, s), 2.0)) for s in allowed])
        request = bpb.ChangeLegalStatusRequest(
            enterprise_code=found.code,
            legal_status=enterprise_pb2.LegalStatus.ValueType(int(found.status)),
        )
        return Step("status", [Call("business", "ChangeLegalStatus", found.code, request)])

    def representative(self, budget: int) -> Step | None:
        """One representative, a deceased one first, hands over to another citizen."""
        found = self._open()
        if found is None:
            return None
        reps = found.representatives
        current = {r.citizen_id for r in reps}
        successor = pick(self.rng, self.people, lambda p: p.citizen_id not in current)
        if successor is None:
            return None
        gone = next(
            (i for i, r in enumerate(reps) if r.deceased), int(self.rng.random() * len(reps))
        )
        successor_rep = enterprise_pb2.LegalRepresentative(
            citizen_id=successor.citizen_id, full_name=successor.full_name, title=reps[gone].title
        )
        # The others stay as they are; the registry keeps the deaths it recorded for them.
        found.representatives = [successor_rep if i == gone else r for i, r in enumerate(reps)]
        request = bpb.ChangeLegalRepresentativeRequest(
            enterprise_code=found.code, legal_representatives=found.representatives
        )
        call = Call("business", "ChangeLegalRepresentative", found.code, request)
        return Step("representative", [call])

    def relocate(self, budget: int) -> Step | None:
        """The head office moves to another ward."""
        found = self._open()
        if found is None:
            return None
        ward = self.wards[int(self.rng.random() * len(self.wards))]
        office = Address(ward.province_code, ward.code, f"Số {self.rng.randint(1, 300)}")
        request = bpb.UpdateEnterpriseRequest(
            enterprise=enterprise_pb2.Enterprise(enterprise_code=found.code),
            update_mask=FieldMask(paths=["head_office"]),
        )
        address_to_proto(office, request.enterprise.head_office)
        return Step("relocate", [Call("business", "UpdateEnterprise", found.code, request)])
