"""Deterministic sample parcels whose rights holders are citizens of the population seed."""

from .generator import generate_parcels, seed_land

__all__ = ["generate_parcels", "seed_land"]
