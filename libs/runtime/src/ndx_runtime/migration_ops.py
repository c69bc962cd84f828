"""Migration steps every registry shares: its outbox and inbox tables, its child tables' keys.

Each function is the table as it was at one revision and never changes: a migration that ran
once must do the same thing when it runs again. A new shape is a new function.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem


def create_outbox_v1() -> None:
    """The outbox as `ndx_runtime.outbox.outbox_table` first defined it."""
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def create_inbox_v1() -> None:
    """The inbox as `ndx_runtime.inbox.inbox_table` first defined it."""
    op.create_table(
        "inbox",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source", "entity_id"),
    )


def child_key_v1(parent: str, key: str, length: int) -> list[SchemaItem]:
    """The key of a child table's rows: the parent row's key and the row's registered
    position, the rows going with their parent."""
    return [
        sa.Column(key, sa.String(length=length), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint([key], [f"{parent}.{key}"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(key, "position"),
    ]
