"""Verdicts -> protobuf: VerifyCitizenResponse, and a thousand of them in one go."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

from ndx.common.v1 import types_pb2
from ndx.population.v1 import population_service_pb2 as pb

from ..domain.verification import ClaimBatch, Outcome, Result

_RESULTS = {
    Result.MATCH: types_pb2.VERIFY_RESULT_MATCH,
    Result.MISMATCH: types_pb2.VERIFY_RESULT_MISMATCH,
    Result.UNKNOWN: types_pb2.VERIFY_RESULT_UNKNOWN,
}


def verdict_to_proto(
    citizen_id: str, paths: Sequence[str], outcome: Outcome
) -> pb.VerifyCitizenResponse:
    overall, results = outcome
    return pb.VerifyCitizenResponse(
        citizen_id=citizen_id,
        overall=_RESULTS[overall],
        results=[
            types_pb2.ClaimResult(field=p, result=_RESULTS[r])
            for p, r in zip(paths, results, strict=True)
        ],
    )


def verdicts_to_proto(
    batch: ClaimBatch, outcomes: Sequence[Outcome]
) -> pb.BatchVerifyCitizensResponse:
    """One VerifyCitizenResponse per claim, in order.

    Building a thousand messages field by field costs more than the verification itself. A
    batch has a handful of distinct verdicts, so each is serialised once (without its
    citizen_id) and every entry written as bytes: its tag and length, the citizen_id field,
    the verdict's fields (the wire format lets fields come in any order). The whole response
    is then parsed once.
    """
    ids = list(map(str.encode, batch.citizen_ids))
    keys = list(zip(batch.paths, outcomes, map(len, ids), strict=True))
    parts = list(map(_ENTRIES.get, keys))
    if None in parts:
        parts = [part or _remember(key) for part, key in zip(parts, keys, strict=True)]
    heads, verdicts = zip(*parts, strict=True) if parts else ((), ())
    wire = b"".join(chain.from_iterable(zip(heads, ids, verdicts, strict=True)))
    return pb.BatchVerifyCitizensResponse.FromString(wire)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _length_delimited_tag(message: Any, field: str) -> bytes:
    number: int = message.DESCRIPTOR.fields_by_name[field].number
    return _varint(number << 3 | 2)


_ENTRY_TAG = _length_delimited_tag(pb.BatchVerifyCitizensResponse, "results")
_ID_TAG = _length_delimited_tag(pb.VerifyCitizenResponse, "citizen_id")
Key = tuple[tuple[str, ...], Outcome, int]
# Per (claimed paths, outcome, length of the citizen_id): what precedes the citizen_id in an
# entry, and the verdict's fields after it.
_ENTRIES: dict[Key, tuple[bytes, bytes]] = {}
_MAX_ENTRIES = 4096


def _remember(key: Key) -> tuple[bytes, bytes]:
    paths, outcome, id_size = key
    verdict = verdict_to_proto("", paths, outcome).SerializeToString()
    id_field = _ID_TAG + _varint(id_size)
    size = len(id_field) + id_size + len(verdict)
    entry = (_ENTRY_TAG + _varint(size) + id_field, verdict)
    if len(_ENTRIES) >= _MAX_ENTRIES:
        _ENTRIES.clear()
    _ENTRIES[key] = entry
    return entry
