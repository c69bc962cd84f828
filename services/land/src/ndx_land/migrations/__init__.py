"""The land registry's schema migrations: `env.py` and `versions/` (Alembic)."""

from ndx_runtime.migrations import Migrations

from ..adapters.tables import metadata

MIGRATIONS = Migrations(
    __name__,
    metadata,
    baseline="0001",
    baseline_tables=frozenset({"parcels", "land_uses", "holders", "mortgages", "outbox", "inbox"}),
)
