"""An unsubscribed chat keeps its subscription's settings, switched off, for when it comes back.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "subscriptions",
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    # What was unsubscribed goes, as it did before this revision.
    op.execute(sa.text("DELETE FROM subscriptions WHERE NOT active"))
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("active")
