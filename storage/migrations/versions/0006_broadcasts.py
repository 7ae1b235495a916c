"""Broadcasts: who sent one, and the progress message edited as it goes.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ("admin_id", "progress_chat_id", "progress_message_id")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("digests", sa.Column(name, sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
