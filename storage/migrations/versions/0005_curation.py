"""Admin curation: a history of every change, refused attempts, version counters on edits.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UtcDateTime = storage.models.UtcDateTime


def upgrade() -> None:
    # A plain ALTER TABLE ADD COLUMN: the full-text triggers on facts and events stay as they are.
    for table in ("facts", "events"):
        op.add_column(
            table, sa.Column("version", sa.BigInteger(), nullable=False, server_default="1")
        )
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("admin_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("reverts", sa.Integer(), sa.ForeignKey("changes.id"), nullable=True),
    )
    op.create_index("ix_changes_kind_item_id", "changes", ["kind", "item_id"])
    op.create_table(
        "refusals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("command", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("refusals")
    op.drop_index("ix_changes_kind_item_id", "changes")
    op.drop_table("changes")
    for table in ("events", "facts"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
