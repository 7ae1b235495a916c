"""Refusals are counted: one row per user, chat, command and minute, with how many attempts.

Rows recorded one per attempt are merged into their minute, their count kept. A downgrade
keeps one row per minute: the counts are dropped with their column.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from storage.migrating import on_sqlite

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# How SQLAlchemy stores a datetime in SQLite: "YYYY-MM-DD HH:MM:SS.ffffff"; its first 16
# characters are the minute. (The backslash keeps ":00" from being read as a bound parameter.)
_MINUTE = r"substr(at, 1, 16) || '\:00.000000'"
# Rows of the same minute, user, chat and command as `refusals`; IS, since ids may be NULL.
_SAME = (
    "other.at = refusals.at AND other.user_id IS {same} refusals.user_id "
    "AND other.chat_id IS {same} refusals.chat_id AND other.command = refusals.command"
)


def upgrade() -> None:
    with op.batch_alter_table("refusals") as batch:
        batch.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
    # PostgreSQL keeps a timestamp, truncated as such, and spells SQLite's IS at length.
    minute, same = (
        (_MINUTE, "") if on_sqlite() else ("date_trunc('minute', at)", "NOT DISTINCT FROM")
    )
    op.execute(f"UPDATE refusals SET at = {minute}")
    op.execute(
        "UPDATE refusals SET count = (SELECT count(*) FROM refusals AS other "
        f"WHERE {_SAME.format(same=same)})"
    )
    # GROUP BY takes NULLs as equal, as IS does: the first row of each minute stays.
    op.execute(
        "DELETE FROM refusals WHERE id NOT IN "
        "(SELECT min(id) FROM refusals GROUP BY at, user_id, chat_id, command)"
    )
    op.create_index(
        "ix_refusals_minute", "refusals", ["at", "user_id", "chat_id", "command"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_refusals_minute", "refusals")
    with op.batch_alter_table("refusals") as batch:
        batch.drop_column("count")
