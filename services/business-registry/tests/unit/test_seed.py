"""The seed: deterministic, valid, and made of the population seed's people."""

from __future__ import annotations

from stdnum.vn import mst

from ndx_business.seed import generate_enterprises
from ndx_population.seed.generator import generate_citizens
from ndx_refdata import gazetteer


def test_representatives_are_living_citizens_with_their_exact_names() -> None:
    citizens = {c.citizen_id: c for c in generate_citizens(7, 400)}
    enterprises = list(generate_enterprises(7, 200, 400))
    assert len({e.enterprise_code for e in enterprises}) == 200
    for e in enterprises:
        assert mst.is_valid(e.enterprise_code)
        assert e.violations() == []
        assert gazetteer().ward(e.head_office.ward_code) is not None
        for rep in e.legal_representatives:
            citizen = citizens[rep.citizen_id]
            assert rep.full_name == citizen.full_name
            assert citizen.date_of_death is None


def test_same_arguments_give_same_enterprises() -> None:
    assert list(generate_enterprises(3, 20, 100)) == list(generate_enterprises(3, 20, 100))
