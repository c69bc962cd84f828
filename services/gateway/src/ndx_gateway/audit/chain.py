"""The hash chain of one gateway instance, and checking a stored chain for breaks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from ndx.gateway.v1 import audit_pb2

GENESIS = bytes(32)


def digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class AuditChain:
    """Numbers records and links each to the hash of the one before."""

    def __init__(self, chain_id: str) -> None:
        self.chain_id = chain_id
        self.sequence = 0
        self.previous = GENESIS

    def seal(self, record: audit_pb2.AuditRecord) -> bytes:
        """Fills in the chain fields and returns the record's bytes, the form that is hashed."""
        record.chain_id = self.chain_id
        record.sequence = self.sequence
        record.previous_hash = self.previous
        data = record.SerializeToString(deterministic=True)
        self.previous = digest(data)
        self.sequence += 1
        return data


@dataclass(frozen=True)
class Break:
    """The first place a chain does not hold together."""

    chain_id: str
    sequence: int
    problem: str

    def __str__(self) -> str:
        return f"chain {self.chain_id} record {self.sequence}: {self.problem}"


@dataclass
class ChainReport:
    chains: int = 0
    records: int = 0
    breaks: list[Break] | None = None

    @property
    def intact(self) -> bool:
        return not self.breaks


def verify(records: Iterable[bytes]) -> ChainReport:
    """Walks records (each chain's records in sequence order; chains may interleave) and
    reports, per chain, the first record that was altered, removed or reordered."""
    report = ChainReport(breaks=[])
    state: dict[str, tuple[int, bytes] | None] = {}  # chain -> (last sequence, its hash)
    for data in records:
        report.records += 1
        try:
            record = audit_pb2.AuditRecord.FromString(data)
        except DecodeError:
            report.breaks.append(Break("?", -1, "not an audit record"))  # type: ignore[union-attr]
            continue
        chain = record.chain_id
        if chain not in state:
            report.chains += 1
            state[chain] = (-1, GENESIS)
        last = state[chain]
        if last is None:
            continue  # already broken; one report per chain
        seq, previous_hash = last
        problem = _link_problem(record, seq, previous_hash)
        if problem is not None:
            suspect, text = problem
            report.breaks.append(Break(chain, suspect, text))  # type: ignore[union-attr]
            state[chain] = None
            continue
        state[chain] = (record.sequence, digest(data))
    return report


def _link_problem(
    record: audit_pb2.AuditRecord, last_seq: int, previous_hash: bytes
) -> tuple[int, str] | None:
    expected = last_seq + 1
    if record.sequence > expected:
        return expected, f"missing (the chain jumps from {last_seq} to {record.sequence})"
    if record.sequence < expected:
        return record.sequence, f"out of order or repeated after record {last_seq}"
    if record.previous_hash != previous_hash:
        if last_seq < 0:
            return record.sequence, "the first record of the chain does not start from genesis"
        return (
            last_seq,
            f"altered: its hash does not match the one record {record.sequence} holds",
        )
    return None
