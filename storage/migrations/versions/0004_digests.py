"""Digests and their delivery ledger: what is sent to whom, written before each send.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UtcDateTime = storage.models.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=True),
        sa.Column("lead", sa.String(16), nullable=True),
        sa.Column("starts_at", UtcDateTime(), nullable=True),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_digests_event_id", "digests", ["event_id"])
    op.create_index("ix_digests_status", "digests", ["status"])
    op.create_table(
        "deliveries",
        sa.Column("digest_id", sa.String(200), sa.ForeignKey("digests.id"), primary_key=True),
        sa.Column("chat_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_deliveries_status_digest_id", "deliveries", ["status", "digest_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_status_digest_id", "deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_digests_status", "digests")
    op.drop_index("ix_digests_event_id", "digests")
    op.drop_table("digests")
