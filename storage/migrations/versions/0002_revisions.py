"""A revision counter for the curated tables, raised by triggers on every write.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.migrating import on_sqlite

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CURATED = ("sources", "topics", "facts", "people", "facilities", "events")
ACTIONS = ("insert", "update", "delete")


def upgrade() -> None:
    op.create_table(
        "revisions",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO revisions (name, value) VALUES ('knowledge', 0)")
    for table in CURATED if on_sqlite() else ():
        for action in ACTIONS:
            op.execute(
                f"CREATE TRIGGER {table}_revision_{action} AFTER {action.upper()} ON {table} "
                "BEGIN UPDATE revisions SET value = value + 1 WHERE name = 'knowledge'; END"
            )


def downgrade() -> None:
    for table in CURATED if on_sqlite() else ():
        for action in ACTIONS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_revision_{action}")
    op.drop_table("revisions")
