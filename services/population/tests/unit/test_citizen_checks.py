"""check_citizens: one question per write, only about entries that name someone."""

from __future__ import annotations

from ndx_population.citizen_checks import CitizenClaim, KnownCitizens, Unverified, check_citizens

AN = "001085012345"


async def test_no_entry_no_question() -> None:
    citizens = KnownCitizens({AN: "Nguyễn Văn An"})
    assert await check_citizens(citizens, []) == set()
    # An entry without a name is left to the registry's own rules ("is required").
    assert await check_citizens(citizens, [CitizenClaim("holders[0]", AN, "  ")]) == set()
    assert citizens.asked == []


async def test_every_entry_goes_in_one_question() -> None:
    citizens = KnownCitizens({AN: "Nguyễn Văn An"}, deceased={AN})
    claims = [
        CitizenClaim("legal_representatives[0]", AN, "Nguyễn Văn An"),
        CitizenClaim("members[0]", AN, "NGUYỄN VĂN AN", name_field="name"),
    ]
    assert await check_citizens(citizens, claims) == {AN}
    assert citizens.asked == [claims]


async def test_unverified_accepts_everyone_and_reports_no_death() -> None:
    claims = [CitizenClaim("holders[0]", "001201999999", "Ai Cũng Được")]
    assert await check_citizens(Unverified(), claims) == set()
