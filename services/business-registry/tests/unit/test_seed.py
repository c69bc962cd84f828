"""The seed: deterministic, valid, and made of the population seed's people."""

from __future__ import annotations

from stdnum.vn import mst

from ndx_business.domain.values import EnterpriseType
from ndx_business.domain.vsic import VSIC_2018
from ndx_business.seed import generate_enterprises
from ndx_population.seed.generator import generate_citizens
from ndx_refdata import gazetteer


def test_representatives_and_members_are_living_citizens_with_their_exact_names() -> None:
    citizens = {c.citizen_id: c for c in generate_citizens(7, 400)}
    enterprises = list(generate_enterprises(7, 200, 400))
    assert len({e.enterprise_code for e in enterprises}) == 200
    people = [(r.citizen_id, r.full_name) for e in enterprises for r in e.legal_representatives]
    people += [(m.citizen_id, m.name) for e in enterprises for m in e.members if m.citizen_id]
    for citizen_id, full_name in people:
        citizen = citizens[citizen_id]
        assert full_name == citizen.full_name
        assert citizen.date_of_death is None
    assert all(m.citizen_id for e in enterprises for m in e.members)


def test_every_enterprise_is_valid_with_owners_lines_and_branches() -> None:
    enterprises = list(generate_enterprises(7, 300, 400))
    for e in enterprises:
        assert mst.is_valid(e.enterprise_code)
        assert e.violations() == []
        assert gazetteer().ward(e.head_office.ward_code) is not None
        assert sum(m.ownership_basis_points for m in e.members) == 10_000
        assert sum(m.capital_contribution_vnd for m in e.members) == e.charter_capital_vnd
        assert 1 <= len(e.business_lines) <= 4
        assert [line.main for line in e.business_lines].count(True) == 1
        assert all(line.vsic_code in VSIC_2018 for line in e.business_lines)
        assert all(b.branch_code[:11] == f"{e.enterprise_code}-" for b in e.branches)
        if e.type == EnterpriseType.PRIVATE_ENTERPRISE:
            (owner,) = e.members
            assert owner.citizen_id == e.legal_representatives[0].citizen_id
    assert sum(1 for e in enterprises if e.branches) > 10
    assert {len(e.members) for e in enterprises} >= {1, 2, 3, 4, 5}


def test_same_arguments_give_same_enterprises() -> None:
    assert list(generate_enterprises(3, 20, 100)) == list(generate_enterprises(3, 20, 100))
