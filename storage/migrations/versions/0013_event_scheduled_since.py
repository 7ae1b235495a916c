"""Since when each event has been scheduled with its start.

A reminder that fell due before then is recorded as skipped rather than sent "late"; rows
from before this revision keep NULL, read as known all along (as the bot treated them).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("scheduled_since", storage.models.UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("scheduled_since")
