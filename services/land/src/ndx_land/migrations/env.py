"""Alembic environment of the land registry, run through ndx_runtime.migrations."""

from ndx_runtime.migrations import run_environment

run_environment()
