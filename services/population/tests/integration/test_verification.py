"""Verification end to end on SQLite and PostgreSQL: stored values read for claims, and the
registry's verdicts equal to the domain's `verify` on whole citizens."""

from __future__ import annotations

import random
from datetime import date

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from ndx.common.v1 import types_pb2
from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as pb
from ndx_population.adapters.bulk_load import bulk_load, create_schema
from ndx_population.adapters.claim_queries import stored_values
from ndx_population.adapters.proto_mapping import citizen_from_proto, citizen_to_proto
from ndx_population.domain.model import Citizen
from ndx_population.domain.values import Address, BloodType, IdentityCard
from ndx_population.domain.verification import FIELD_RULES, value_at, verify
from ndx_population.seed.generator import generate_citizens
from ndx_runtime.db import Database
from ndx_runtime.grpc_errors import bad_request_fields

from ..conftest import Running

FIELDS = sorted(FIELD_RULES)


def people() -> list[Citizen]:
    """Generated citizens, and some with what the generator never makes."""
    found = list(generate_citizens(21, 300))
    found[0].other_names = ("Bé Na", "Na")
    found[1].blood_type = BloodType.UNSPECIFIED
    found[2].permanent_address = None
    found[3].id_card = IdentityCard(None, "Cục Cảnh sát", None)
    found[4].current_address = Address("", "00004", "")
    found[5].date_of_death = date(2024, 2, 29)
    return found


async def seeded(url: str) -> tuple[Database, dict[str, Citizen]]:
    db = Database.from_url(url)
    await create_schema(db.engine)
    citizens = people()
    await bulk_load(db.engine, citizens)
    return db, {c.citizen_id: c for c in citizens}


async def test_stored_values_are_the_stored_fields(database_url: str) -> None:
    db, on_file = await seeded(database_url)
    try:
        asked = [*on_file, "001190099999", next(iter(on_file))]
        stored, read = await db.read(lambda conn: stored_values(conn, [(FIELDS, asked)]))
        assert set(stored) == set(on_file)
        records = [stored[i] for i in on_file]
        for field in FIELDS:
            expected = [value_at(c, field) for c in on_file.values()]
            assert read[field](records) == expected, field
    finally:
        await db.dispose()


async def test_fields_some_claims_name_are_read_for_those_citizens(database_url: str) -> None:
    db, on_file = await seeded(database_url)
    try:
        everyone = list(on_file)
        few = everyone[::7]
        other = [f for f in FIELDS if f not in ("full_name", "date_of_birth")]
        wanted = [(("full_name", "date_of_birth"), everyone), (("full_name", *other), few)]
        stored, read = await db.read(lambda conn: stored_values(conn, wanted))
        assert set(stored) == set(on_file)
        for field in FIELDS:
            who = everyone if field in ("full_name", "date_of_birth") else few
            expected = [value_at(on_file[i], field) for i in who]
            assert read[field]([stored[i] for i in who]) == expected, field
    finally:
        await db.dispose()


def claim(person: Citizen, rng: random.Random) -> pb.VerifyCitizenRequest:
    """A request about `person`: some true claims, some near misses."""
    full = citizen_to_proto(person)
    claims = citizen_pb2.Citizen()
    paths = ["full_name", "date_of_birth", *rng.sample(FIELDS, rng.randint(0, 3))]
    if rng.random() < 0.1:
        paths.append(rng.choice(["permanent_address.ward_code", "id_card.issue_place"]))
    for path in dict.fromkeys(paths):
        top = path.split(".")[0]
        value = getattr(full, top)
        if top == "other_names":
            claims.other_names.extend(value or ["Na"])
        elif isinstance(value, (str, int)):
            setattr(claims, top, value)
        else:
            getattr(claims, top).CopyFrom(value)
    if rng.random() < 0.2:
        claims.full_name = f"  {person.full_name.upper()}  "
    if rng.random() < 0.2:
        claims.full_name = person.full_name + " Văn"
    if rng.random() < 0.1:
        claims.date_of_birth.day = 1 if claims.date_of_birth.day != 1 else 2
    return pb.VerifyCitizenRequest(
        citizen_id=person.citizen_id, claims=claims, claim_mask=FieldMask(paths=paths)
    )


def expected(
    request: pb.VerifyCitizenRequest, on_file: dict[str, Citizen]
) -> tuple[int, list[int]]:
    overall, results = verify(
        on_file.get(request.citizen_id),
        citizen_from_proto(request.claims),
        list(request.claim_mask.paths),
    )
    return int(overall), [int(r) for r in results]


def answer(response: pb.VerifyCitizenResponse) -> tuple[int, list[int]]:
    return int(response.overall), [int(r.result) for r in response.results]


async def test_batch_verdicts_are_the_domain_rules(population: Running) -> None:
    db, on_file = await seeded(population.settings.database_url)
    await db.dispose()
    rng = random.Random(5)
    everyone = list(on_file.values())
    requests = [claim(rng.choice(everyone), rng) for _ in range(900)]
    for r in rng.sample(requests, 40):
        r.citizen_id = r.citizen_id[:6] + "999999"  # well-formed, not on file
    requests.append(requests[0])  # the same citizen twice
    stub = population.stub()
    response = await stub.BatchVerifyCitizens(pb.BatchVerifyCitizensRequest(requests=requests))
    assert [r.citizen_id for r in response.results] == [r.citizen_id for r in requests]
    assert [list(r.field for r in v.results) for v in response.results] == [
        list(r.claim_mask.paths) for r in requests
    ]
    got = [answer(v) for v in response.results]
    assert got == [expected(r, on_file) for r in requests]
    verdicts = {overall for overall, _ in got}
    assert verdicts == {
        types_pb2.VERIFY_RESULT_MATCH,
        types_pb2.VERIFY_RESULT_MISMATCH,
        types_pb2.VERIFY_RESULT_UNKNOWN,
    }
    single = await stub.VerifyCitizen(requests[7])
    assert single == response.results[7]


async def test_a_malformed_request_is_named_with_its_place(population: Running) -> None:
    stub = population.stub()
    good = pb.VerifyCitizenRequest(
        citizen_id="001190012345",
        claims=citizen_pb2.Citizen(full_name="Nguyễn Thị Lan"),
        claim_mask=FieldMask(paths=["full_name"]),
    )
    cases = {
        "requests[3].citizen_id": lambda r: setattr(r, "citizen_id", "001190"),
        "requests[3].claim_mask": lambda r: r.claim_mask.paths.append("shoe_size"),
        "requests[3].claims.date_of_death": lambda r: setattr(r.claims.date_of_death, "month", 2),
        "requests[3].claims.gender": lambda r: setattr(r.claims, "gender", 9),
    }
    for field, corrupt in cases.items():
        requests = [pb.VerifyCitizenRequest() for _ in range(5)]
        for r in requests:
            r.CopyFrom(good)
        corrupt(requests[3])
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.BatchVerifyCitizens(pb.BatchVerifyCitizensRequest(requests=requests))
        assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert bad_request_fields(e.value) == {field}
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.VerifyCitizen(requests[3])
        assert bad_request_fields(e.value) == {field.removeprefix("requests[3].")}
