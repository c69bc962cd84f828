"""What a scenario run did: calls by kind, outcomes, the entities touched, speed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Refusal:
    """A call the registry (or the gateway) refused, with the status it gave."""

    method: str
    subject: str
    code: str
    message: str


@dataclass
class ScenarioSummary:
    name: str
    seed: int
    loaded: dict[str, int] = field(default_factory=dict)  # starting entities per registry
    events: Counter[str] = field(default_factory=Counter)  # planned life events by kind
    calls: Counter[str] = field(default_factory=Counter)  # calls sent by method
    succeeded: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    skipped: int = 0  # later calls of an event whose earlier call was refused
    touched: dict[str, set[str]] = field(default_factory=dict)  # registry -> entity ids written
    digest: str = ""  # SHA-256 of the requests sent, in the order they were planned
    seconds: float = 0.0  # sending the calls
    load_seconds: float = 0.0  # reading the starting data

    @property
    def sent(self) -> int:
        return sum(self.calls.values())

    @property
    def refused(self) -> Counter[str]:
        """Refused calls by status code."""
        return Counter(r.code for r in self.refusals)

    @property
    def calls_per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def lines(self, verbose: bool = False) -> list[str]:
        """The summary as text, one fact a line."""
        out = [
            f"scenario {self.name}, seed {self.seed}",
            "loaded: "
            + ", ".join(f"{n} {k}" for k, n in sorted(self.loaded.items()))
            + f" in {self.load_seconds:.2f} s",
            "events: " + ", ".join(f"{k} {n}" for k, n in sorted(self.events.items())),
            "calls: " + ", ".join(f"{k} {n}" for k, n in sorted(self.calls.items())),
            f"succeeded {self.succeeded}, refused {len(self.refusals)}"
            + "".join(f", {code} {n}" for code, n in sorted(self.refused.items()))
            + (f", not sent {self.skipped}" if self.skipped else ""),
            "touched: " + ", ".join(f"{len(ids)} {k}" for k, ids in sorted(self.touched.items())),
            f"{self.sent} calls in {self.seconds:.2f} s, {self.calls_per_second:.0f} calls/s",
            f"requests digest {self.digest}",
        ]
        shown = self.refusals if verbose else self.refusals[:5]
        for r in shown:
            out.append(f"refused {r.method} {r.subject}: {r.code} {r.message}")
        if len(shown) < len(self.refusals):
            out.append(f"... {len(self.refusals) - len(shown)} more refusals (-v lists them)")
        return out
