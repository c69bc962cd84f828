"""The schema migrations of the gateway's data tracker index: `env.py` and `versions/`."""

from ndx_runtime.migrations import Migrations

from ..tracker.index import metadata

MIGRATIONS = Migrations(
    __name__,
    metadata,
    baseline="0001",
    baseline_tables=frozenset({"audit_records", "audit_subjects"}),
)
