"""Alembic environment of the population registry, run through ndx_runtime.migrations."""

from ndx_runtime.migrations import run_environment

run_environment()
