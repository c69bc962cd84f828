"""`ndx.gateway.v1.DataTrackerService`: a citizen's accesses, answered from the audit index."""

from __future__ import annotations

from google.protobuf.message import Message

from ndx.gateway.v1 import audit_pb2, data_tracker_pb2
from ndx_runtime.errors import InvalidInput
from ndx_runtime.rpc_args import PageTokens, page_size

from ..policy_source import PolicySource
from .index import After, AuditIndex

CITIZEN_ID_LENGTH = 12


class DataTracker:
    def __init__(self, index: AuditIndex, policy: PolicySource) -> None:
        self.index = index
        self.policy = policy

    async def list_accesses(self, request: Message, _caller: object) -> Message:
        assert isinstance(request, data_tracker_pb2.ListAccessesRequest)
        citizen_id = request.citizen_id
        if len(citizen_id) != CITIZEN_ID_LENGTH or not citizen_id.isdigit():
            raise InvalidInput.one(
                "citizen_id", "must be the 12-digit personal identification number"
            )
        size = page_size(request.page_size)
        after = _decode(request.page_token, citizen_id)
        found = await self.index.accesses("citizen", citizen_id, after, size + 1)
        response = data_tracker_pb2.ListAccessesResponse(
            accesses=[self._access(data) for _, data in found[:size]]
        )
        if len(found) > size:
            last = found[size - 1][0]
            response.next_page_token = PageTokens.encode(
                f"{last.time_us}|{last.chain_id}|{last.sequence}", citizen_id
            )
        return response

    def _access(self, data: bytes) -> data_tracker_pb2.Access:
        record = audit_pb2.AuditRecord.FromString(data)
        policy = self.policy.current
        allowed = record.decision == audit_pb2.DECISION_ALLOW
        return data_tracker_pb2.Access(
            time=record.time,
            agency=record.agency,
            agency_name=policy.agencies.get(record.agency, ""),
            officer=record.officer,
            purpose=record.purpose,
            purpose_description=policy.purposes.get((record.agency, record.purpose), ""),
            method=record.method,
            fields=list(record.fields_returned if allowed else record.fields_denied),
            decision=record.decision,
            status=record.status,
            chain_id=record.chain_id,
            sequence=record.sequence,
        )


def _decode(token: str, citizen_id: str) -> After | None:
    raw = PageTokens.decode(token, citizen_id)
    if not raw:
        return None
    try:
        time_us, chain_id, sequence = raw.split("|")
        return After(int(time_us), chain_id, int(sequence))
    except ValueError:
        raise InvalidInput.one("page_token", "is not a token this service issued") from None
