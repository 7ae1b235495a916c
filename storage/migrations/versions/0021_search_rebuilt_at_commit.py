"""PostgreSQL's search rows are rebuilt once per item and transaction, when it commits, and
each keeps its document in the row.

0019's triggers rebuilt an item's ``search_text`` row at every write to the item, its roles or
its translations: a sync loading a fact and its four translations rebuilt it five times, took
four times as long as on SQLite, and left eight dead row versions per fact that every search
stepped over until autovacuum came. Now a write only marks its item in ``search_pending``; a
deferred trigger rebuilds each marked item once, at commit (``coopbot_search_refresh``, 0019).
Readers of the search see committed rows only, so they see no difference.

Ranking reads the document of every match; kept in the row (compressed) instead of the TOAST
table, a word in half of bench/search.py's 2,000 facts was ranked in 6-7 ms instead of
10-11. Nothing changes on SQLite.

Revision ID: 0021
Revises: 0020
"""

from alembic import op

from storage.migrating import on_sqlite

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

MARK = "coopbot_search_mark"
REFRESH = "coopbot_search_refresh"


def _trigger_functions(call: str) -> dict[str, str]:
    """0019's trigger functions, with each item they find handed to `call`."""
    return {
        "coopbot_search_item": (
            f"IF TG_OP <> 'INSERT' THEN PERFORM {call}(TG_ARGV[0], OLD.id); END IF; "
            f"IF TG_OP <> 'DELETE' THEN PERFORM {call}(TG_ARGV[0], NEW.id); END IF;"
        ),
        "coopbot_search_role": (
            f"IF TG_OP <> 'INSERT' THEN PERFORM {call}('person', OLD.person_id); END IF; "
            f"IF TG_OP <> 'DELETE' THEN PERFORM {call}('person', NEW.person_id); END IF;"
        ),
    }


def _translated(call: str) -> str:
    """0019's function for a translation's write: its item, or for a role's, the person."""
    return (
        "CREATE OR REPLACE FUNCTION coopbot_search_translated(item_kind text, item text) "
        "RETURNS void LANGUAGE plpgsql AS $$ BEGIN IF item_kind = 'role' THEN "
        f"PERFORM {call}('person', (SELECT person_id FROM roles WHERE id = item)); "
        f"ELSE PERFORM {call}(item_kind, item); END IF; END $$"
    )


def _replace(call: str) -> None:
    for name, body in _trigger_functions(call).items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body} RETURN NULL; END $$"
        )
    op.execute(_translated(call))


def upgrade() -> None:
    if on_sqlite():
        return
    op.execute(
        "CREATE TABLE search_pending (kind text NOT NULL, item_id text NOT NULL, "
        "PRIMARY KEY (kind, item_id))"
    )
    # A role whose person is gone names no item: nothing to mark.
    op.execute(
        f"CREATE FUNCTION {MARK}(item_kind text, item text) RETURNS void LANGUAGE sql AS $$ "
        "INSERT INTO search_pending SELECT item_kind, item WHERE item IS NOT NULL "
        "ON CONFLICT DO NOTHING $$"
    )
    # Once per marked item: a second mark in the transaction inserts nothing, so fires nothing.
    op.execute(
        "CREATE FUNCTION coopbot_search_pending() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "DELETE FROM search_pending WHERE kind = NEW.kind AND item_id = NEW.item_id; "
        f"PERFORM {REFRESH}(NEW.kind, NEW.item_id); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER search_pending_refresh AFTER INSERT ON search_pending "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION coopbot_search_pending()"
    )
    _replace(MARK)
    # Each document kept in its row rather than in the TOAST table, compressed: ranking reads
    # the document of every match, and fetching it from there was most of a search's time.
    # The rows already there are written again to be stored so.
    op.execute("ALTER TABLE search_text ALTER COLUMN document SET STORAGE MAIN")
    op.execute("ALTER TABLE search_text SET (toast_tuple_target = 8160)")
    op.execute("UPDATE search_text SET title = title")


def downgrade() -> None:
    if on_sqlite():
        return
    _replace(REFRESH)
    op.execute("ALTER TABLE search_text RESET (toast_tuple_target)")
    op.execute("ALTER TABLE search_text ALTER COLUMN document SET STORAGE EXTENDED")
    op.execute("DROP TABLE search_pending")
    op.execute("DROP FUNCTION coopbot_search_pending()")
    op.execute(f"DROP FUNCTION {MARK}(text, text)")
