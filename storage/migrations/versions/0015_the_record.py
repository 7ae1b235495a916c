"""The record over time: people's roles as of a date, agreements, sources' languages.

A person's one ``role`` gives way to ``roles``: (person, role, organisation, as of, source),
each as true as its date. ``agreements`` hold who signed what, when and what for. Sources gain
their ``language``, and those added from a link the page's ``text``; events gain the ``people``
who took part. Search finds a person by name,
other spellings and every role; the name is indexed with the other spellings too, so that a
name finds its person before the facts that mention it. A person's row of the index is rebuilt
when their roles change.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from storage.migrating import on_sqlite
from storage.models import UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ACTIONS = ("insert", "update", "delete")
# The tables whose every write raises the knowledge revision.
CURATED = ("sources", "topics", "facts", "people", "roles", "facilities", "events", "agreements")
REVISION = "BEGIN UPDATE revisions SET value = value + 1 WHERE name = 'knowledge'; END"
# A person's row of the index, from the people row `p`, their roles and other spellings.
PERSON_ROW = (
    "SELECT 'person', p.id, p.name, "
    "coalesce((SELECT group_concat(r.role || ' ' || coalesce(r.organisation, ''), ' ') "
    "FROM roles r "
    "WHERE r.person_id = p.id), ''), p.name || ' ' || coalesce(p.aliases, '') "
    "FROM people p WHERE p.id = {id}"
)
COLUMNS = "(kind, item_id, title, body, aliases)"


def _item_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def _revision_triggers(table: str) -> None:
    for action in ACTIONS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_revision_{action}")
        op.execute(
            f"CREATE TRIGGER {table}_revision_{action} AFTER {action.upper()} ON {table} "
            + REVISION
        )


def _reindex_person(person: str) -> str:
    return (
        f"DELETE FROM search_index WHERE kind = 'person' AND item_id = {person}; "
        f"INSERT INTO search_index {COLUMNS} {PERSON_ROW.format(id=person)};"
    )


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))
        batch.add_column(sa.Column("text", sa.Text(), nullable=True))
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("people", sa.Text(), nullable=True))
    op.create_table(
        "roles",
        *_item_columns(),
        sa.Column("person_id", sa.String(64), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("organisation", sa.Text(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("as_of_precision", sa.String(8), nullable=False),
        sa.Column("source_id", sa.String(64), sa.ForeignKey("sources.id"), nullable=False),
    )
    op.create_index("ix_roles_person_id", "roles", ["person_id"])
    op.create_table(
        "agreements",
        *_item_columns(),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("signed", sa.Date(), nullable=False),
        sa.Column("signed_precision", sa.String(8), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("parties", sa.Text(), nullable=False),
        sa.Column("signatories", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("source_id", sa.String(64), sa.ForeignKey("sources.id"), nullable=False),
    )
    # A person's one role is dropped, not kept as a role: it had no date. The next content
    # sync brings each person's roles, each as of its date.
    for action in ACTIONS if on_sqlite() else ():
        op.execute(f"DROP TRIGGER IF EXISTS people_search_{action}")
    # SQLite rebuilds the table (its old triggers go with it); PostgreSQL drops a column.
    with op.batch_alter_table("people", recreate="always" if on_sqlite() else "auto") as batch:
        batch.drop_column("role")
    if not on_sqlite():  # PostgreSQL's triggers and index come with 0018
        return
    # Recreating a table drops its triggers: 0012 lost those of sources so, and a source added
    # since changed no revision (another process went on showing the old list). Every curated
    # table gets its revision triggers, whether it still had them or not.
    for table in CURATED:
        _revision_triggers(table)
    op.execute("DELETE FROM search_index WHERE kind = 'person'")
    op.execute(f"INSERT INTO search_index {COLUMNS} {PERSON_ROW.format(id='p.id')}")
    op.execute(
        "CREATE TRIGGER people_search_insert AFTER INSERT ON people "
        f"BEGIN {_reindex_person('new.id')} END"
    )
    op.execute(
        "CREATE TRIGGER people_search_update AFTER UPDATE ON people "
        f"BEGIN {_reindex_person('new.id')} END"
    )
    op.execute(
        "CREATE TRIGGER people_search_delete AFTER DELETE ON people BEGIN "
        "DELETE FROM search_index WHERE kind = 'person' AND item_id = old.id; END"
    )
    op.execute(
        "CREATE TRIGGER roles_search_insert AFTER INSERT ON roles "
        f"BEGIN {_reindex_person('new.person_id')} END"
    )
    op.execute(
        "CREATE TRIGGER roles_search_update AFTER UPDATE ON roles "
        f"BEGIN {_reindex_person('old.person_id')} {_reindex_person('new.person_id')} END"
    )
    op.execute(
        "CREATE TRIGGER roles_search_delete AFTER DELETE ON roles "
        f"BEGIN {_reindex_person('old.person_id')} END"
    )
    # Agreements are searched as readers see them: title, then parties, place and purpose.
    row = (
        "SELECT 'agreement', {p}id, {p}title, "
        "{p}parties || ' ' || {p}place || ' ' || {p}purpose, ''"
    )
    delete = "DELETE FROM search_index WHERE kind = 'agreement' AND item_id = old.id;"
    insert = f"INSERT INTO search_index {COLUMNS} {row.format(p='new.')};"
    for action, body in (("insert", insert), ("update", f"{delete} {insert}"), ("delete", delete)):
        op.execute(
            f"CREATE TRIGGER agreements_search_{action} AFTER {action.upper()} ON agreements "
            f"BEGIN {body} END"
        )


def downgrade() -> None:
    """Back to one role per person: a person's latest role, or nothing where they had none."""
    for table in ("people", "roles", "agreements"):
        for action in ACTIONS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{action}")
    op.execute("DELETE FROM search_index WHERE kind = 'agreement'")
    with op.batch_alter_table("people", recreate="always") as batch:
        batch.add_column(sa.Column("role", sa.Text(), nullable=False, server_default=""))
    op.execute(
        "UPDATE people SET role = coalesce((SELECT r.role FROM roles r "
        "WHERE r.person_id = people.id ORDER BY r.as_of DESC LIMIT 1), '')"
    )
    _revision_triggers("people")
    for table in ("roles", "agreements"):
        for action in ACTIONS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_revision_{action}")
    op.drop_index("ix_roles_person_id", "roles")
    op.drop_table("roles")
    op.drop_table("agreements")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("people")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("text")
        batch.drop_column("language")
    # 0014's index of people: name, role, other spellings.
    op.execute("DELETE FROM search_index WHERE kind = 'person'")
    row = "'person', {p}id, {p}name, {p}role, coalesce({p}aliases, '')"
    op.execute(f"INSERT INTO search_index {COLUMNS} SELECT {row.format(p='')} FROM people")
    insert = f"INSERT INTO search_index {COLUMNS} SELECT {row.format(p='new.')};"
    delete = "DELETE FROM search_index WHERE kind = 'person' AND item_id = old.id;"
    for action, body in (("insert", insert), ("update", f"{delete} {insert}"), ("delete", delete)):
        op.execute(
            f"CREATE TRIGGER people_search_{action} AFTER {action.upper()} ON people "
            f"BEGIN {body} END"
        )
