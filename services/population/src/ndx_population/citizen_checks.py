"""For registries that record citizens: checking the citizens a write names before writing it.

Rights holders, legal representatives and members are citizens of the population registry. A
registry recording one asks the population registry (through the gateway, as its own agency, so
that the question is audited like any other agency's) whether the citizen is on file under the
name given and whether a death is recorded. The registry's rules decide what a death means for
the write; a citizen not on file or a name that differs refuses it.

The question is `CitizenVerifier.verify`; `gateway_verifier.GatewayCitizenVerifier` asks it over
gRPC, `KnownCitizens` answers it from memory (tests) and `Unverified` accepts every claim (a
registry run without the exchange).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ndx_runtime.errors import InvalidInput, Unavailable, Violation

from .domain.model import normalise_name


@dataclass(frozen=True, slots=True)
class CitizenClaim:
    """A citizen named in a write: where (`field`, the entry's path in the request, e.g.
    "holders[1]"; `name_field`, its name field), who, and under which name."""

    field: str
    citizen_id: str
    full_name: str
    name_field: str = "full_name"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the population registry says about one claim."""

    on_file: bool
    name_matches: bool
    deceased: bool


class CitizenVerifier(Protocol):
    async def verify(self, claims: Sequence[CitizenClaim]) -> list[Verdict]:
        """One verdict per claim, in order; Unavailable when the population registry cannot be
        asked."""
        ...

    async def close(self) -> None:
        """Releases connections; the registry calls it on shutdown."""
        ...


async def check_citizens(verifier: CitizenVerifier, claims: Iterable[CitizenClaim]) -> set[str]:
    """Checks the citizens a write names; returns those the population registry records as
    deceased. InvalidInput names `<field>.citizen_id` of a citizen not on file and
    `<field>.<name_field>` of a name that differs; Unavailable when the population registry
    cannot be asked. Entries without a name are left to the registry's own rules."""
    asked = [c for c in claims if c.full_name.strip()]
    if not asked:
        return set()
    verdicts = await verifier.verify(asked)
    problems: list[Violation] = []
    deceased: set[str] = set()
    for claim, verdict in zip(asked, verdicts, strict=True):
        if not verdict.on_file:
            problems.append(
                Violation(
                    f"{claim.field}.citizen_id",
                    f"no citizen {claim.citizen_id} in the population registry",
                )
            )
        elif not verdict.name_matches:
            problems.append(
                Violation(
                    f"{claim.field}.{claim.name_field}",
                    f"{claim.full_name!r} is not the name the population registry holds for "
                    f"citizen {claim.citizen_id}",
                )
            )
        if verdict.deceased:
            deceased.add(claim.citizen_id)
    if problems:
        raise InvalidInput(problems)
    return deceased


class KnownCitizens:
    """The population registry in memory: names by citizen id, and who died. Records what it
    was asked; `reachable = False` makes it answer as an unreachable registry would."""

    def __init__(self, names: Mapping[str, str], deceased: Iterable[str] = ()) -> None:
        self.names = dict(names)
        self.deceased = set(deceased)
        self.reachable = True
        self.asked: list[list[CitizenClaim]] = []

    async def verify(self, claims: Sequence[CitizenClaim]) -> list[Verdict]:
        if not self.reachable:
            raise Unavailable("population", "the population registry cannot be reached (fake)")
        self.asked.append(list(claims))
        return [
            Verdict(
                c.citizen_id in self.names,
                normalise_name(self.names.get(c.citizen_id, "")) == normalise_name(c.full_name),
                c.citizen_id in self.deceased,
            )
            for c in claims
        ]

    async def close(self) -> None:
        pass


class Unverified:
    """Asks nobody and accepts every claim: for a registry run on its own (its test suites),
    never in the exchange. Start-up says so in the log."""

    async def verify(self, claims: Sequence[CitizenClaim]) -> list[Verdict]:
        return [Verdict(on_file=True, name_matches=True, deceased=False) for _ in claims]

    async def close(self) -> None:
        pass
