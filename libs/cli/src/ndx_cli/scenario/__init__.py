"""Realistic life events driven through the registries' write APIs (`ndx events scenario`)."""

from .scenarios import SCENARIOS, registries, run_scenario
from .summary import Refusal, ScenarioSummary
from .targets import OWNERS, Door, Targets, exchange_targets, owner_targets

__all__ = [
    "OWNERS",
    "SCENARIOS",
    "Door",
    "Refusal",
    "ScenarioSummary",
    "Targets",
    "exchange_targets",
    "owner_targets",
    "registries",
    "run_scenario",
]
