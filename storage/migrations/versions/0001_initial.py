"""Curated knowledge, sources, chats, and a full-text index kept current by triggers.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import storage.models
from storage.migrating import on_sqlite

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UtcDateTime = storage.models.UtcDateTime

# What each searchable table contributes to the index: its kind, the title and body of the
# trigger's ``new`` row, and the condition under which a row is searchable at all.
SEARCHABLE = {
    "facts": ("fact", "new.title", "new.topic || ' ' || new.text", "new.deleted_at IS NULL"),
    "people": ("person", "new.name", "new.role || ' ' || new.side", "1"),
    "facilities": ("facility", "new.name", "new.description", "1"),
    "events": ("event", "new.title", "new.description || ' ' || new.place", "1"),
}


def _item_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def _source_column() -> sa.Column[object]:
    return sa.Column("source_id", sa.String(64), sa.ForeignKey("sources.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=False),
        sa.Column("published", sa.Date(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
    )
    op.create_table(
        "topics",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "facts",
        *_item_columns(),
        sa.Column("topic", sa.String(64), sa.ForeignKey("topics.id"), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _source_column(),
        sa.Column("deleted_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_facts_topic", "facts", ["topic"])
    op.create_table(
        "people",
        *_item_columns(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("side", sa.String(32), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        _source_column(),
    )
    op.create_index("ix_people_side", "people", ["side"])
    op.create_table(
        "facilities",
        *_item_columns(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        _source_column(),
    )
    op.create_table(
        "events",
        *_item_columns(),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("precision", sa.String(8), nullable=False),
        sa.Column("starts_at", UtcDateTime(), nullable=False),
        sa.Column("ends_at", UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _source_column(),
    )
    op.create_index("ix_events_starts_at", "events", ["starts_at"])
    op.create_table(
        "chats",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("first_seen", UtcDateTime(), nullable=False),
        sa.Column("last_seen", UtcDateTime(), nullable=False),
    )
    if not on_sqlite():  # PostgreSQL's index comes with 0018
        return
    # Porter stemming so "reactors" finds "reactor"; remove_diacritics so "Sakhiyev" matches
    # however it is typed. kind and item_id are carried along but never matched.
    op.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5("
        "kind UNINDEXED, item_id UNINDEXED, title, body, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    for table, (kind, title, body, searchable) in SEARCHABLE.items():
        insert = (
            "INSERT INTO search_index (kind, item_id, title, body) "
            f"SELECT '{kind}', new.id, {title}, {body} WHERE {searchable};"
        )
        delete = f"DELETE FROM search_index WHERE kind = '{kind}' AND item_id = old.id;"
        op.execute(
            f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN {insert} END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_search_update AFTER UPDATE ON {table} "
            f"BEGIN {delete} {insert} END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN {delete} END"
        )


def downgrade() -> None:
    for table in SEARCHABLE if on_sqlite() else ():
        for action in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{action}")
    op.execute("DROP TABLE IF EXISTS search_index")
    for table in ("chats", "events", "facilities", "people", "facts", "topics", "sources"):
        op.drop_table(table)
