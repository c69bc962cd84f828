"""The audit hash chain: sealed records verify, and an edited, removed or reordered record
breaks its chain at that record without touching the other chains."""

from __future__ import annotations

from ndx_gateway.audit.chain import GENESIS, AuditChain, Break, digest, verify

from ndx.gateway.v1 import audit_pb2


def sealed(chain_id: str, count: int) -> list[bytes]:
    """`count` records of one chain, as the gateway publishes them."""
    chain = AuditChain(chain_id)
    return [
        chain.seal(
            audit_pb2.AuditRecord(
                agency="tax-authority",
                purpose="tax-registration",
                method="ndx.population.v1.PopulationService/GetCitizen",
                subjects=[audit_pb2.Subject(kind="citizen", id=f"0010900{n:05d}")],
                decision=audit_pb2.DECISION_ALLOW,
                status="OK",
            )
        )
        for n in range(count)
    ]


def edited(data: bytes, **fields: object) -> bytes:
    record = audit_pb2.AuditRecord.FromString(data)
    for name, value in fields.items():
        setattr(record, name, value)
    return record.SerializeToString(deterministic=True)


def test_sealing_numbers_records_and_links_each_to_the_one_before() -> None:
    records = [audit_pb2.AuditRecord.FromString(data) for data in sealed("gw-1/a", 3)]
    assert [r.sequence for r in records] == [0, 1, 2]
    assert {r.chain_id for r in records} == {"gw-1/a"}
    assert records[0].previous_hash == GENESIS == bytes(32)
    assert records[1].previous_hash == digest(records[0].SerializeToString(deterministic=True))
    assert records[2].previous_hash == digest(records[1].SerializeToString(deterministic=True))


def test_a_sealed_sequence_verifies() -> None:
    report = verify(sealed("gw-1/a", 5))
    assert report.intact and report.breaks == []
    assert (report.chains, report.records) == (1, 5)


def test_an_edited_field_is_reported_as_altered_at_that_record() -> None:
    records = sealed("gw-1/a", 5)
    records[2] = edited(records[2], agency="police")
    report = verify(records)
    assert not report.intact
    assert report.breaks == [
        Break("gw-1/a", 2, "altered: its hash does not match the one record 3 holds")
    ]


def test_an_edit_to_the_first_record_is_caught_by_the_second() -> None:
    records = sealed("gw-1/a", 3)
    records[0] = edited(records[0], purpose="curiosity")
    [found] = verify(records).breaks or []
    assert (found.chain_id, found.sequence) == ("gw-1/a", 0)
    assert found.problem.startswith("altered")


def test_a_first_record_that_does_not_start_from_genesis() -> None:
    records = sealed("gw-1/a", 2)
    records[0] = edited(records[0], previous_hash=b"\x01" * 32)
    assert verify(records).breaks == [
        Break("gw-1/a", 0, "the first record of the chain does not start from genesis")
    ]


def test_a_removed_record_is_reported_missing() -> None:
    records = sealed("gw-1/a", 5)
    del records[2]
    assert verify(records).breaks == [Break("gw-1/a", 2, "missing (the chain jumps from 1 to 3)")]


def test_a_chain_whose_first_record_is_gone() -> None:
    [found] = verify(sealed("gw-1/a", 3)[1:]).breaks or []
    assert (found.chain_id, found.sequence) == ("gw-1/a", 0)
    assert found.problem.startswith("missing")


def test_reordered_records_break_the_chain_where_the_order_first_differs() -> None:
    records = sealed("gw-1/a", 5)
    records[1], records[3] = records[3], records[1]
    [found] = verify(records).breaks or []
    # The record that moved forward reads as a gap where the one it jumped over should be.
    assert (found.chain_id, found.sequence) == ("gw-1/a", 1)


def test_a_repeated_record_is_reported_out_of_order() -> None:
    records = sealed("gw-1/a", 3)
    assert verify([*records, records[1]]).breaks == [
        Break("gw-1/a", 1, "out of order or repeated after record 2")
    ]


def test_only_the_first_break_of_a_chain_is_reported() -> None:
    records = sealed("gw-1/a", 6)
    records[1] = edited(records[1], officer="someone else")
    del records[4]
    assert [b.sequence for b in verify(records).breaks or []] == [1]


def test_interleaved_chains_verify_independently() -> None:
    a, b = sealed("gw-1/a", 4), sealed("gw-2/b", 4)
    interleaved = [record for pair in zip(a, b, strict=True) for record in pair]
    report = verify(interleaved)
    assert report.intact
    assert (report.chains, report.records) == (2, 8)

    b[1] = edited(b[1], status="PERMISSION_DENIED")
    broken = verify([record for pair in zip(a, b, strict=True) for record in pair])
    assert [(x.chain_id, x.sequence) for x in broken.breaks or []] == [("gw-2/b", 1)]


def test_bytes_that_are_not_a_record() -> None:
    report = verify([*sealed("gw-1/a", 2), b"\xff\xff\xff"])
    assert report.breaks == [Break("?", -1, "not an audit record")]
    assert report.records == 3
