"""Digests remember the place and end they told of, so that a change to either is announced.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("digests", sa.Column("place", sa.Text(), nullable=True))
    op.add_column("digests", sa.Column("ends_at", storage.models.UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("ends_at")
        batch.drop_column("place")
