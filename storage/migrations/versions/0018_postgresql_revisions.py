"""PostgreSQL's own triggers of the knowledge revision, and its word to the other processes.

On SQLite, revisions 0002 to 0016 made a trigger per curated table and action that raises the
knowledge revision; a process notices another's commit by ``PRAGMA data_version``. On
PostgreSQL, one function does both: each statement that writes a curated table raises the
revision and notifies the channel ``coopbot_changes``, which every bot process listens on
(storage/changes.py); the notice reaches them when the transaction commits, and not at all if
it rolls back. Nothing changes on SQLite.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

from storage.migrating import on_sqlite

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

CURATED = (
    "sources",
    "topics",
    "facts",
    "people",
    "roles",
    "facilities",
    "events",
    "agreements",
    "translations",
)
CHANNEL = "coopbot_changes"


def upgrade() -> None:
    if on_sqlite():
        return
    op.execute(
        "CREATE FUNCTION coopbot_knowledge_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN UPDATE revisions SET value = value + 1 WHERE name = 'knowledge'; "
        f"PERFORM pg_notify('{CHANNEL}', 'knowledge'); RETURN NULL; END $$"
    )
    for table in CURATED:
        op.execute(
            f"CREATE TRIGGER {table}_revision AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION coopbot_knowledge_changed()"
        )


def downgrade() -> None:
    if on_sqlite():
        return
    for table in CURATED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_revision ON {table}")
    op.execute("DROP FUNCTION IF EXISTS coopbot_knowledge_changed()")
