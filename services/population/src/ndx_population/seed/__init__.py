"""Deterministic, realistic synthetic citizens for local runs, tests and benchmarks."""
