"""Deterministic sample enterprises whose people are citizens of the population seed."""

from .generator import generate_enterprises, seed_business, seed_enterprises

__all__ = ["generate_enterprises", "seed_business", "seed_enterprises"]
