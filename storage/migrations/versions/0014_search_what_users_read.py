"""Search indexes what readers see, plus the other spellings of names.

Until now a fact's topic id and a person's side ("jinr", "kazakhstan") were indexed with the
text, so "working group" matched facts filed under the national-group topic. The index is
rebuilt from what the bot shows: a fact's title and text, a person's name and role, a
facility's name and description, an event's title, description and place. People and
facilities gain ``aliases`` (other spellings, "; "-separated), indexed in a column of their
own. ``search_terms`` lists the index's terms, for the tolerant match.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Mapping

import sqlalchemy as sa
from alembic import op

from storage.migrating import on_sqlite

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# table: kind, then the indexed columns and the rows indexed, with {p} for "new." in triggers.
INDEXED = {
    "facts": ("fact", ("{p}title", "{p}text", "''"), "{p}deleted_at IS NULL"),
    "people": ("person", ("{p}name", "{p}role", "coalesce({p}aliases, '')"), "1"),
    "facilities": ("facility", ("{p}name", "{p}description", "coalesce({p}aliases, '')"), "1"),
    "events": ("event", ("{p}title", "{p}description || ' ' || {p}place", "''"), "1"),
}
# The layout before this revision, for a downgrade.
EARLIER = {
    "facts": ("fact", ("{p}title", "{p}topic || ' ' || {p}text"), "{p}deleted_at IS NULL"),
    "people": ("person", ("{p}name", "{p}role || ' ' || {p}side"), "1"),
    "facilities": ("facility", ("{p}name", "{p}description"), "1"),
    "events": ("event", ("{p}title", "{p}description || ' ' || {p}place"), "1"),
}
TOKENIZER = "tokenize = 'porter unicode61 remove_diacritics 2'"


def _build(layout: Mapping[str, tuple[str, tuple[str, ...], str]], names: tuple[str, ...]) -> None:
    """The index with these columns, filled from the tables, and the triggers that keep it."""
    for table in layout:
        for action in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{action}")
    op.execute("DROP TABLE IF EXISTS search_terms")
    op.execute("DROP TABLE IF EXISTS search_index")
    indexed = ", ".join(names)
    op.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5("
        f"kind UNINDEXED, item_id UNINDEXED, {indexed}, {TOKENIZER})"
    )
    columns = f"(kind, item_id, {indexed})"
    for table, (kind, values, which) in layout.items():

        def row(p: str, kind: str = kind, values: tuple[str, ...] = values) -> str:
            return ", ".join([f"'{kind}'", f"{p}id", *(value.format(p=p) for value in values)])

        op.execute(
            f"INSERT INTO search_index {columns} SELECT {row('')} FROM {table} "
            f"WHERE {which.format(p='')}"
        )
        insert = (
            f"INSERT INTO search_index {columns} SELECT {row('new.')} "
            f"WHERE {which.format(p='new.')};"
        )
        delete = f"DELETE FROM search_index WHERE kind = '{kind}' AND item_id = old.id;"
        for action, body in (
            ("insert", insert),
            ("update", f"{delete} {insert}"),
            ("delete", delete),
        ):
            op.execute(
                f"CREATE TRIGGER {table}_search_{action} AFTER {action.upper()} ON {table} "
                f"BEGIN {body} END"
            )
    op.execute("INSERT INTO search_index (search_index) VALUES ('optimize')")


def upgrade() -> None:
    for table in ("people", "facilities"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("aliases", sa.Text(), nullable=True))
    if not on_sqlite():  # PostgreSQL's index comes with 0018
        return
    _build(INDEXED, ("title", "body", "aliases"))
    op.execute("CREATE VIRTUAL TABLE search_terms USING fts5vocab(search_index, 'row')")


def downgrade() -> None:
    for table in ("people", "facilities"):
        for action in ("insert", "update", "delete") if on_sqlite() else ():
            op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{action}")
        with op.batch_alter_table(table) as batch:
            batch.drop_column("aliases")
    if on_sqlite():
        _build(EARLIER, ("title", "body"))
