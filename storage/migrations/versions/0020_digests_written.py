"""Digests are numbered in the order they are written, on either database.

Which reminder or notice of an event came last was read from SQLite's rowid, which PostgreSQL
has no counterpart of. ``written`` says it on both: on PostgreSQL an identity column; on SQLite
the rowid, copied in by a trigger as each digest is written (and for those already there).

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

from storage.migrating import on_sqlite

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not on_sqlite():
        op.execute("ALTER TABLE digests ADD COLUMN written bigint GENERATED ALWAYS AS IDENTITY")
        return
    op.add_column("digests", sa.Column("written", sa.BigInteger(), nullable=True))
    op.execute("UPDATE digests SET written = rowid")
    op.execute(
        "CREATE TRIGGER digests_written AFTER INSERT ON digests "
        "BEGIN UPDATE digests SET written = new.rowid WHERE rowid = new.rowid; END"
    )


def downgrade() -> None:
    if on_sqlite():
        op.execute("DROP TRIGGER IF EXISTS digests_written")
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("written")
