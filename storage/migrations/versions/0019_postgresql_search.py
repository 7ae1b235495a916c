"""PostgreSQL's search: a row per searchable item with a weighted text-search vector.

``search_text`` holds what 0017 gives SQLite's index: each item's title, body and other
spellings in English, and its title and body in Russian and Kazakh from the translations. Its
``document`` is computed from them by PostgreSQL (a stored generated column) and indexed with
GIN: English words through the English stemmer, other spellings and the Russian and Kazakh
words as written (their stems are the query's work, storage/stemming.py, as on SQLite).
Weights: other spellings A, titles B, bodies D (storage/search_postgresql.py ranks them 50, 10
and 1, as SQLite's bm25 weights do).

One function rebuilds an item's row from its tables; triggers call it for every write to an
item, a person's role, or a translation. Nothing changes on SQLite.

Revision ID: 0019
Revises: 0018
"""

from alembic import op

from storage.migrating import on_sqlite

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

LANGUAGES = ("ru", "kk")
TITLE_FIELDS = "('title', 'name')"
# kind: its table, then the row `p`'s title, body and other spellings, and whether it is shown.
ITEMS = {
    "fact": ("facts", "p.title", "p.text", "''", "p.deleted_at IS NULL"),
    "person": (
        "people",
        "p.name",
        "coalesce((SELECT string_agg(r.role || ' ' || coalesce(r.organisation, ''), ' ' "
        "ORDER BY r.as_of, r.id) FROM roles r WHERE r.person_id = p.id), '')",
        "p.name || ' ' || coalesce(p.aliases, '')",
        "TRUE",
    ),
    "facility": ("facilities", "p.name", "p.description", "coalesce(p.aliases, '')", "TRUE"),
    "event": ("events", "p.title", "p.description || ' ' || p.place", "''", "TRUE"),
    "agreement": (
        "agreements",
        "p.title",
        "p.parties || ' ' || p.place || ' ' || p.purpose",
        "''",
        "TRUE",
    ),
}


def _document() -> str:
    parts = [
        "setweight(to_tsvector('simple', aliases), 'A')",
        "setweight(to_tsvector('english', title), 'B')",
        *(f"setweight(to_tsvector('simple', title_{language}), 'B')" for language in LANGUAGES),
        "setweight(to_tsvector('english', body), 'D')",
        *(f"setweight(to_tsvector('simple', body_{language}), 'D')" for language in LANGUAGES),
    ]
    return " || ".join(parts)


def _translated(language: str) -> str:
    """The SET list's part for one language: its title, then its other fields and roles."""
    fields = (
        "SELECT string_agg(t.text, ' ' ORDER BY t.field) FROM translations t "
        f"WHERE t.kind = item_kind AND t.item_id = item AND t.language = '{language}'"
    )
    roles = (
        "SELECT string_agg(t.text, ' ' ORDER BY r.as_of, r.id) FROM roles r JOIN translations t "
        f"ON t.kind = 'role' AND t.item_id = r.id AND t.language = '{language}' "
        "WHERE item_kind = 'person' AND r.person_id = item"
    )
    return (
        f"title_{language} = coalesce(({fields} AND t.field IN {TITLE_FIELDS}), ''), "
        f"body_{language} = trim(coalesce(({fields} AND t.field NOT IN {TITLE_FIELDS}), '') "
        f"|| ' ' || coalesce(({roles}), ''))"
    )


def _refresh() -> str:
    rows = " UNION ALL ".join(
        f"SELECT '{kind}', p.id, {title}, {body}, {aliases} FROM {table} p "
        f"WHERE item_kind = '{kind}' AND p.id = item AND {shown}"
        for kind, (table, title, body, aliases, shown) in ITEMS.items()
    )
    translated = ", ".join(_translated(language) for language in LANGUAGES)
    return (
        "CREATE FUNCTION coopbot_search_refresh(item_kind text, item text) RETURNS void "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "DELETE FROM search_text WHERE kind = item_kind AND item_id = item; "
        f"INSERT INTO search_text (kind, item_id, title, body, aliases) {rows}; "
        f"UPDATE search_text SET {translated} WHERE kind = item_kind AND item_id = item; "
        "END $$"
    )


# The trigger functions: an item's own write, a role's (its person's row), a translation's.
TRIGGER_FUNCTIONS = {
    "coopbot_search_item": (
        "IF TG_OP <> 'INSERT' THEN PERFORM coopbot_search_refresh(TG_ARGV[0], OLD.id); END IF; "
        "IF TG_OP <> 'DELETE' THEN PERFORM coopbot_search_refresh(TG_ARGV[0], NEW.id); END IF;"
    ),
    "coopbot_search_role": (
        "IF TG_OP <> 'INSERT' THEN PERFORM coopbot_search_refresh('person', OLD.person_id); "
        "END IF; IF TG_OP <> 'DELETE' THEN "
        "PERFORM coopbot_search_refresh('person', NEW.person_id); END IF;"
    ),
    "coopbot_search_translation": (
        "IF TG_OP <> 'INSERT' THEN PERFORM coopbot_search_translated(OLD.kind, OLD.item_id); "
        "END IF; IF TG_OP <> 'DELETE' THEN "
        "PERFORM coopbot_search_translated(NEW.kind, NEW.item_id); END IF;"
    ),
}
TRANSLATED = (
    "CREATE FUNCTION coopbot_search_translated(item_kind text, item text) RETURNS void "
    "LANGUAGE plpgsql AS $$ BEGIN IF item_kind = 'role' THEN "
    "PERFORM coopbot_search_refresh('person', (SELECT person_id FROM roles WHERE id = item)); "
    "ELSE PERFORM coopbot_search_refresh(item_kind, item); END IF; END $$"
)


def upgrade() -> None:
    if on_sqlite():
        return
    translated = ", ".join(
        f"{part}_{language} text NOT NULL DEFAULT ''"
        for language in LANGUAGES
        for part in ("title", "body")
    )
    op.execute(
        "CREATE TABLE search_text (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "kind text NOT NULL, item_id text NOT NULL, title text NOT NULL, body text NOT NULL, "
        f"aliases text NOT NULL, {translated}, "
        f"document tsvector GENERATED ALWAYS AS ({_document()}) STORED, "
        "UNIQUE (kind, item_id))"
    )
    op.execute("CREATE INDEX ix_search_text_document ON search_text USING gin (document)")
    op.execute(_refresh())
    op.execute(TRANSLATED)
    for name, body in TRIGGER_FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} "
            "RETURN NULL; END $$"
        )
    for kind, (table, *_) in ITEMS.items():
        op.execute(
            f"CREATE TRIGGER {table}_search AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION coopbot_search_item('{kind}')"
        )
    for table, function in (("roles", "role"), ("translations", "translation")):
        op.execute(
            f"CREATE TRIGGER {table}_search AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION coopbot_search_{function}()"
        )
    for kind, (table, *_) in ITEMS.items():
        op.execute(f"SELECT coopbot_search_refresh('{kind}', id) FROM {table}")


def downgrade() -> None:
    if on_sqlite():
        return
    for table, *_ in (*ITEMS.values(), ("roles",), ("translations",)):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_search ON {table}")
    for name in (*TRIGGER_FUNCTIONS, "coopbot_search_translated", "coopbot_search_refresh"):
        op.execute(f"DROP FUNCTION IF EXISTS {name} CASCADE")
    op.execute("DROP TABLE IF EXISTS search_text")
