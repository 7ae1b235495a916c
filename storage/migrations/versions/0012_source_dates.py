"""A source's own publication date and the day it was cited are two fields, either unknown.

Sources made from a web address in Telegram stored the day they were cited as "published";
that date moves to ``cited``, where the bot shows it as "cited on …".

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("cited", sa.Date(), nullable=True))
        batch.alter_column("published", existing_type=sa.Date(), nullable=True)
    op.execute(
        sa.text("UPDATE sources SET cited = published, published = NULL WHERE origin = 'admin'")
    )


def downgrade() -> None:
    # The old schema needs a date: a cited one stands in where the page's own is unknown.
    op.execute(sa.text("UPDATE sources SET published = cited WHERE published IS NULL"))
    op.execute(sa.text("UPDATE sources SET published = CURRENT_DATE WHERE published IS NULL"))
    with op.batch_alter_table("sources") as batch:
        batch.alter_column("published", existing_type=sa.Date(), nullable=False)
        batch.drop_column("cited")
