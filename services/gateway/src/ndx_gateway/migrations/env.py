"""Alembic environment of the gateway's data tracker index, run through ndx_runtime.migrations."""

from ndx_runtime.migrations import run_environment

run_environment()
