"""Verification requests read column by column: the same values and the same errors as reading
each request whole, and responses written as bytes equal to those built field by field."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from ndx.population.v1 import citizen_pb2
from ndx.population.v1 import population_service_pb2 as pb
from ndx_population.adapters.claims_proto import claim_from_proto, claims_from_proto
from ndx_population.adapters.proto_mapping import citizen_from_proto, citizen_to_proto
from ndx_population.adapters.verdicts_proto import verdict_to_proto, verdicts_to_proto
from ndx_population.domain.verification import FIELD_RULES, Result, value_at
from ndx_population.seed.generator import generate_citizens
from ndx_runtime.errors import InvalidInput

FIELDS = list(FIELD_RULES)


def claims_about(rng: random.Random) -> list[pb.VerifyCitizenRequest]:
    """Requests claiming every field in turn, some fields left unset or half set."""
    requests = []
    for person in generate_citizens(9, 60):
        full = citizen_to_proto(person)
        claims = citizen_pb2.Citizen()
        paths = rng.sample(FIELDS, rng.randint(1, 4))
        if rng.random() < 0.5:
            paths = ["full_name", "date_of_birth", *rng.sample(FIELDS, rng.randint(0, 1))]
        for path in paths:
            if path == "date_of_birth" and rng.random() < 0.1:
                continue  # claimed but unset: date.min
            if path == "other_names":
                claims.other_names.extend(["Bé Na"] * rng.randint(0, 2))
            elif path in ("id_card", "permanent_address") and rng.random() < 0.3:
                # Half an address or card: only the parts a claim names count.
                getattr(claims, path).CopyFrom(getattr(full, path))
                getattr(claims, path).ClearField("issue_date" if path == "id_card" else "street")
            else:
                value = getattr(full, path)
                if isinstance(value, (str, int)):
                    setattr(claims, path, value)
                else:
                    getattr(claims, path).CopyFrom(value)
        requests.append(
            pb.VerifyCitizenRequest(
                citizen_id=person.citizen_id, claims=claims, claim_mask=FieldMask(paths=paths)
            )
        )
    return requests


@pytest.mark.parametrize("seed", range(10))
def test_columns_hold_what_reading_each_claim_whole_gives(seed: int) -> None:
    requests = claims_about(random.Random(seed))
    batch = claims_from_proto(requests)
    assert batch.citizen_ids == [r.citizen_id for r in requests]
    assert batch.paths == [tuple(r.claim_mask.paths) for r in requests]
    assert not batch.whole
    seen = 0
    for group in batch.groups:
        for k, position in enumerate(group.positions):
            whole = citizen_from_proto(requests[position].claims)
            assert group.citizen_ids[k] == requests[position].citizen_id
            for path, column in zip(group.paths, group.values, strict=True):
                assert column[k] == value_at(whole, path), (position, path)
            seen += 1
    assert seen == len(requests)


def test_nested_paths_are_read_whole() -> None:
    requests = claims_about(random.Random(1))[:3]
    requests[1].claim_mask.paths.append("permanent_address.ward_code")
    batch = claims_from_proto(requests)
    assert list(batch.whole) == [1]
    assert batch.whole[1] == citizen_from_proto(requests[1].claims)
    assert sorted(p for g in batch.groups for p in g.positions) == [0, 2]


Corrupt = Callable[[pb.VerifyCitizenRequest], None]


def _set(field: str, value: object) -> Corrupt:
    def corrupt(r: pb.VerifyCitizenRequest) -> None:
        target, _, name = field.rpartition(".")
        message = r
        for part in filter(None, target.split(".")):
            message = getattr(message, part)
        setattr(message, name, value)

    return corrupt


def _mask(*paths: str) -> Corrupt:
    def corrupt(r: pb.VerifyCitizenRequest) -> None:
        del r.claim_mask.paths[:]
        r.claim_mask.paths.extend(paths)

    return corrupt


def _unclaimed_birth(r: pb.VerifyCitizenRequest) -> None:
    _mask("full_name")(r)
    r.claims.date_of_birth.month, r.claims.date_of_birth.day = 2, 30


CORRUPTIONS: dict[str, tuple[Corrupt, str]] = {
    "short id": (_set("citizen_id", "00119001234"), "citizen_id"),
    "unknown province": (_set("citizen_id", "999190012345"), "citizen_id"),
    "century digit": (_set("citizen_id", "001890012345"), "citizen_id"),
    "empty mask": (_mask(), "claim_mask"),
    "unknown path": (_mask("full_name", "shoe_size"), "claim_mask"),
    "claimed impossible birth": (_set("claims.date_of_birth.month", 13), "claims.date_of_birth"),
    "unclaimed impossible birth": (_unclaimed_birth, "claims.date_of_birth"),
    "unclaimed impossible death": (_set("claims.date_of_death.year", 2020), "claims.date_of_death"),
    "card expiry": (_set("claims.id_card.expiry_date.month", 2), "claims.id_card.expiry_date"),
    "unclaimed gender": (_set("claims.gender", 7), "claims.gender"),
    "unclaimed blood type": (_set("claims.blood_type", 99), "claims.blood_type"),
    "marital status": (_set("claims.marital_status", -1), "claims.marital_status"),
    "relationship": (_set("claims.relationship_to_head", 8), "claims.relationship_to_head"),
}


def one_by_one_error(requests: list[pb.VerifyCitizenRequest]) -> InvalidInput:
    """What reading each request whole, in order, raises (the reference)."""
    try:
        for i, r in enumerate(requests):
            claim_from_proto(r, f"requests[{i}].")
    except InvalidInput as e:
        return e
    raise AssertionError("no request is malformed")


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_a_malformed_request_is_named_as_reading_each_whole_names_it(name: str) -> None:
    corrupt, field = CORRUPTIONS[name]
    requests = [r for r in claims_about(random.Random(2)) if "date_of_birth" in r.claim_mask.paths][
        :8
    ]
    for r in requests:
        r.claims.date_of_birth.year = 1990
    corrupt(requests[3])
    with pytest.raises(InvalidInput) as e:
        claims_from_proto(requests)
    assert e.value.violations[0].field == f"requests[3].{field}"
    assert e.value.violations == one_by_one_error(requests).violations
    # A later bad request does not take precedence; a single request is named without prefix.
    _set("citizen_id", "x")(requests[6])
    with pytest.raises(InvalidInput) as e:
        claims_from_proto(requests)
    assert e.value.violations == one_by_one_error(requests).violations
    with pytest.raises(InvalidInput) as e:
        claims_from_proto([requests[3]], batch=False)
    assert e.value.violations[0].field == field


def test_a_claimed_but_unset_birth_date_is_date_min() -> None:
    r = pb.VerifyCitizenRequest(
        citizen_id="001190012345", claim_mask=FieldMask(paths=["date_of_birth", "full_name"])
    )
    batch = claims_from_proto([r, r])
    assert (
        batch.groups[0].values[0] == [value_at(citizen_from_proto(r.claims), "date_of_birth")] * 2
    )


M, X, U = Result.MATCH, Result.MISMATCH, Result.UNKNOWN


@pytest.mark.parametrize("seed", range(5))
def test_verdicts_written_as_bytes_equal_verdicts_built_field_by_field(seed: int) -> None:
    rng = random.Random(seed)
    requests = claims_about(rng)
    batch = claims_from_proto(requests)
    outcomes = []
    for paths in batch.paths:
        results = tuple(rng.choice([M, X, U]) for _ in paths)
        outcomes.append((rng.choice([M, X, U]), results))
    built = pb.BatchVerifyCitizensResponse(
        results=[
            verdict_to_proto(i, p, o)
            for i, p, o in zip(batch.citizen_ids, batch.paths, outcomes, strict=True)
        ]
    )
    written = verdicts_to_proto(batch, outcomes)
    assert written == built
    assert written.SerializeToString() == built.SerializeToString()
