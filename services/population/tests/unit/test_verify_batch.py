"""Batch verification gives exactly what `verify` gives claim by claim."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndx_population.domain.model import Citizen
from ndx_population.domain.values import Address, BloodType, Gender, IdentityCard
from ndx_population.domain.verification import (
    FIELD_RULES,
    ClaimBatch,
    ClaimGroup,
    Result,
    compare,
    compare_addresses,
    compare_codes,
    compare_dates,
    compare_texts,
    value_at,
    verify,
    verify_batch,
)
from ndx_population.seed.generator import generate_citizens

# Text an officer would read as the same name, and some that differ.
texts = st.text(alphabet="aAàÀễỄ \u0301 \t", max_size=6)
dates = st.none() | st.dates(date(1990, 1, 1), date(1990, 1, 4)) | st.just(date.min)


@given(st.lists(st.tuples(texts, texts), max_size=20))
def test_text_rule_is_compare(pairs: list[tuple[str, str]]) -> None:
    claimed, stored = zip(*pairs, strict=True) if pairs else ((), ())
    assert compare_texts(claimed, stored) == [compare(c, s) for c, s in pairs]


@given(st.lists(st.tuples(dates, dates), max_size=20))
def test_date_rule_is_compare(pairs: list[tuple[date | None, date | None]]) -> None:
    claimed, stored = zip(*pairs, strict=True) if pairs else ((), ())
    assert compare_dates(claimed, stored) == [compare(c, s) for c, s in pairs]


@given(st.lists(st.tuples(st.sampled_from(BloodType), st.sampled_from(BloodType)), max_size=20))
def test_code_rule_is_compare(pairs: list[tuple[BloodType, BloodType]]) -> None:
    # The adapters hand over plain numbers; the general rule sees the enum members.
    claimed = [int(c) for c, _ in pairs]
    stored = [int(s) for _, s in pairs]
    assert compare_codes(claimed, stored) == [compare(c, s) for c, s in pairs]


parts = st.sampled_from(["", "01", "00004", "Số 12 phố Đội Cấn", "SỐ 12  phố đội cấn"])
addresses = st.none() | st.builds(Address, parts, parts, parts)


@given(st.lists(st.tuples(addresses, addresses), max_size=20))
def test_address_rule_is_compare(pairs: list[tuple[Address | None, Address | None]]) -> None:
    claimed, stored = zip(*pairs, strict=True) if pairs else ((), ())
    assert compare_addresses(claimed, stored) == [compare(c, s) for c, s in pairs]


NESTED = ["permanent_address.ward_code", "id_card.issue_date", "date_of_birth.year"]


def variant(c: Citizen, rng: random.Random) -> Citizen:
    """What someone might claim about `c`: the truth, a near miss, or nonsense."""
    claim = c.snapshot()
    if rng.random() < 0.3:
        claim.full_name = f"  {c.full_name.upper()} "
    if rng.random() < 0.2:
        claim.full_name = c.full_name + " Văn"
    if rng.random() < 0.2:
        claim.date_of_birth = date.min
    if rng.random() < 0.2:
        claim.gender = Gender.UNSPECIFIED
    if rng.random() < 0.2:
        claim.permanent_address = Address(
            "", c.permanent_address.ward_code if c.permanent_address else "00004"
        )
    if rng.random() < 0.2:
        claim.id_card = IdentityCard(issue_place="Cục Cảnh sát")
    if rng.random() < 0.2:
        claim.date_of_death = date(2020, 1, 1)
    if rng.random() < 0.2:
        claim.other_names = ("Bé Na",)
    return claim


def stored_people(n: int) -> list[Citizen]:
    people = list(generate_citizens(3, n))
    people[0].other_names = ("Bé Na", "Na")
    people[1].blood_type = BloodType.UNSPECIFIED
    people[2].permanent_address = None
    people[3].id_card = None
    people[4].ethnicity = ""
    return people


def batch_of(claims: list[tuple[str, Citizen, tuple[str, ...]]]) -> ClaimBatch:
    """A ClaimBatch as the adapters build it: groups by claimed fields, the rest whole."""
    by_paths: dict[tuple[str, ...], list[int]] = {}
    whole = {}
    for i, (_, claimed, paths) in enumerate(claims):
        if all(p in FIELD_RULES for p in paths):
            by_paths.setdefault(paths, []).append(i)
        else:
            whole[i] = claimed
    groups = [
        ClaimGroup(
            paths,
            where,
            [claims[i][0] for i in where],
            [[value_at(claims[i][1], p) for i in where] for p in paths],
        )
        for paths, where in by_paths.items()
    ]
    return ClaimBatch([c[0] for c in claims], [c[2] for c in claims], groups, whole)


def columns_of_citizens() -> dict[str, Any]:
    return {f: (lambda records, f=f: [value_at(r, f) for r in records]) for f in FIELD_RULES}


@pytest.mark.parametrize("seed", range(25))
def test_a_batch_gives_what_verify_gives(seed: int) -> None:
    rng = random.Random(seed)
    people = stored_people(40)
    on_file = {c.citizen_id: c for c in people[:30]}  # the last ten are not on file
    fields = list(FIELD_RULES)
    shapes = [("full_name", "date_of_birth"), ("full_name", "date_of_birth", "gender")]
    claims = []
    for _ in range(60):
        person = rng.choice(people)
        if rng.random() < 0.5:
            paths = rng.choice(shapes)
        else:
            paths = tuple(rng.sample(fields + NESTED, rng.randint(1, 5)))
        claims.append((person.citizen_id, variant(person, rng), paths))
    outcomes = verify_batch(batch_of(claims), on_file, columns_of_citizens(), on_file)
    expected = []
    for citizen_id, claimed, paths in claims:
        overall, results = verify(on_file.get(citizen_id), claimed, list(paths))
        expected.append((overall, tuple(results)))
    assert outcomes == expected


def test_an_unknown_citizen_is_unknown_for_every_claim() -> None:
    [person] = stored_people(5)[:1]
    claims = [("001190099999", person, ("full_name", "date_of_birth"))]
    [outcome] = verify_batch(batch_of(claims), {}, columns_of_citizens(), {})
    assert outcome == (Result.UNKNOWN, (Result.UNKNOWN, Result.UNKNOWN))
