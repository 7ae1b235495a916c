"""Search finds an item by the words of its translations; the index's text gets a table.

``search_text`` holds one row per item searched: its title, body and other spellings as before
(what readers see), and beside them the item's title and body in each other language
(``title_ru``, ``body_ru``, ``title_kk``, ``body_kk``), from ``translations``: a translated
"title" or "name" is the language's title, every other field its body, and a person's body
holds their roles' translations too. One item stays one row, so one hit, whatever language
found it, and a hit can be shown in the reader's language.

``search_index`` becomes an FTS5 index over that table (external content), kept by its triggers.
The triggers of the curated tables write ``search_text``, where an item's row is found through
its unique (kind, item_id) index: before, dropping an item's row read the whole index.
A translation's write refreshes the translated columns of its item's row (of its person's, for a
role's); an item's row, whenever built, takes its translations along, so the order in which
items and translations arrive does not matter.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Callable

from alembic import op

from storage.migrating import on_sqlite

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ACTIONS = ("insert", "update", "delete")
TOKENIZER = "tokenize = 'porter unicode61 remove_diacritics 2'"
LANGUAGES = ("ru", "kk")
# A translation of one of these fields is the item's title in that language.
TITLE_FIELDS = "('title', 'name')"
# table: kind, then the row `p`'s title, body and other spellings, and whether it is shown.
ITEMS = {
    "facts": ("fact", "p.title", "p.text", "''", "p.deleted_at IS NULL"),
    "people": (
        "person",
        "p.name",
        "coalesce((SELECT group_concat(r.role || ' ' || coalesce(r.organisation, ''), ' ') "
        "FROM roles r WHERE r.person_id = p.id), '')",
        "p.name || ' ' || coalesce(p.aliases, '')",
        "1",
    ),
    "facilities": ("facility", "p.name", "p.description", "coalesce(p.aliases, '')", "1"),
    "events": ("event", "p.title", "p.description || ' ' || p.place", "''", "1"),
    "agreements": (
        "agreement",
        "p.title",
        "p.parties || ' ' || p.place || ' ' || p.purpose",
        "''",
        "1",
    ),
}
BASE = ("kind", "item_id", "title", "body", "aliases")
TRANSLATED = tuple(f"{part}_{language}" for language in LANGUAGES for part in ("title", "body"))
COLUMNS = (*BASE, *TRANSLATED)


def _title_in(language: str, kind: str, item: str) -> str:
    """The item's translated title: SQL, with the item's kind and id as SQL expressions."""
    return (
        "coalesce((SELECT group_concat(t.text, ' ') FROM translations t "
        f"WHERE t.kind = {kind} AND t.item_id = {item} AND t.language = '{language}' "
        f"AND t.field IN {TITLE_FIELDS}), '')"
    )


def _body_in(language: str, kind: str, item: str) -> str:
    """The item's other translated fields, and a person's roles' translations."""
    fields = (
        "(SELECT group_concat(t.text, ' ') FROM translations t "
        f"WHERE t.kind = {kind} AND t.item_id = {item} AND t.language = '{language}' "
        f"AND t.field NOT IN {TITLE_FIELDS})"
    )
    roles = (
        "(SELECT group_concat(t.text, ' ') FROM roles r JOIN translations t "
        f"ON t.kind = 'role' AND t.item_id = r.id AND t.language = '{language}' "
        f"WHERE {kind} = 'person' AND r.person_id = {item})"
    )
    return f"trim(coalesce({fields}, '') || ' ' || coalesce({roles}, ''))"


def _translations(kind: str, item: str) -> list[str]:
    """The translated columns' values, in TRANSLATED's order."""
    return [part(language, kind, item) for language in LANGUAGES for part in (_title_in, _body_in)]


# How an item's row is removed and added, given the table it is in, its kind and its id.
Writes = tuple[Callable[[str, str], str], Callable[[str, str, str], str]]


def _writes(target: str, *, translated: bool) -> Writes:
    """The statements that drop and (re)build an item's row in `target`."""
    columns = ", ".join(COLUMNS if translated else BASE)

    def remove(kind: str, item: str) -> str:
        return f"DELETE FROM {target} WHERE kind = '{kind}' AND item_id = {item};"

    def add(table: str, kind: str, item: str) -> str:
        rows = _rows(table, translated=translated)
        return f"INSERT INTO {target} ({columns}) {rows} AND p.id = {item};"

    return remove, add


def _rows(table: str, *, translated: bool) -> str:
    """The rows of `table` as the index holds them (a WHERE clause the caller may extend)."""
    kind, title, body, aliases, shown = ITEMS[table]
    values = [f"'{kind}'", "p.id", title, body, aliases]
    if translated:
        values += _translations(f"'{kind}'", "p.id")
    return f"SELECT {', '.join(values)} FROM {table} p WHERE {shown}"


def _item_triggers(writes: Writes) -> None:
    """The triggers that keep each item's row as its tables change."""
    remove, add = writes
    for table, (kind, *_) in ITEMS.items():
        bodies = {
            "insert": add(table, kind, "new.id"),
            "update": f"{remove(kind, 'old.id')} {add(table, kind, 'new.id')}",
            "delete": remove(kind, "old.id"),
        }
        for action, body in bodies.items():
            op.execute(
                f"CREATE TRIGGER {table}_search_{action} AFTER {action.upper()} ON {table} "
                f"BEGIN {body} END"
            )

    def person(of: str) -> str:
        return f"{remove('person', of)} {add('people', 'person', of)}"

    for action, body in (
        ("insert", person("new.person_id")),
        ("update", f"{person('old.person_id')} {person('new.person_id')}"),
        ("delete", person("old.person_id")),
    ):
        op.execute(
            f"CREATE TRIGGER roles_search_{action} AFTER {action.upper()} ON roles "
            f"BEGIN {body} END"
        )


def _refresh(row: str, when: str = "1") -> str:
    """Refill the translated columns of the item a translation `row` (old or new) is of."""
    values = _translations("search_text.kind", "search_text.item_id")
    assignments = ", ".join(f"{c} = {v}" for c, v in zip(TRANSLATED, values, strict=True))
    return (
        f"UPDATE search_text SET {assignments} WHERE {when} AND ("
        f"(kind = {row}.kind AND item_id = {row}.item_id) "
        f"OR ({row}.kind = 'role' AND kind = 'person' "
        f"AND item_id = (SELECT person_id FROM roles WHERE id = {row}.item_id)));"
    )


def _drop_triggers() -> None:
    for table in (*ITEMS, "roles", "translations", "search_text"):
        for action in ACTIONS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{action}")
    op.execute("DROP TABLE IF EXISTS search_terms")
    op.execute("DROP TABLE IF EXISTS search_index")


def upgrade() -> None:
    if not on_sqlite():  # PostgreSQL's index comes with 0018
        return
    _drop_triggers()
    translated = ", ".join(f"{column} TEXT NOT NULL DEFAULT ''" for column in TRANSLATED)
    op.execute(
        "CREATE TABLE search_text (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
        "item_id TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, "
        f"aliases TEXT NOT NULL, {translated}, UNIQUE (kind, item_id))"
    )
    indexed = ", ".join(COLUMNS[2:])
    op.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5(kind UNINDEXED, item_id UNINDEXED, "
        f"{indexed}, content = 'search_text', content_rowid = 'id', {TOKENIZER})"
    )
    columns = ", ".join(COLUMNS)
    new = ", ".join(f"new.{column}" for column in COLUMNS)
    old = ", ".join(f"old.{column}" for column in COLUMNS)
    insert = f"INSERT INTO search_index (rowid, {columns}) VALUES (new.id, {new});"
    delete = (
        f"INSERT INTO search_index (search_index, rowid, {columns}) "
        f"VALUES ('delete', old.id, {old});"
    )
    for action, body in (("insert", insert), ("update", f"{delete} {insert}"), ("delete", delete)):
        op.execute(
            f"CREATE TRIGGER search_text_search_{action} AFTER {action.upper()} ON search_text "
            f"BEGIN {body} END"
        )
    for table in ITEMS:
        op.execute(f"INSERT INTO search_text ({columns}) {_rows(table, translated=True)}")
    _item_triggers(_writes("search_text", translated=True))
    # An update that keeps the translation's item refreshes that item once.
    moved = "(old.kind <> new.kind OR old.item_id <> new.item_id)"
    for action, body in (
        ("insert", _refresh("new")),
        ("update", f"{_refresh('old', moved)} {_refresh('new')}"),
        ("delete", _refresh("old")),
    ):
        op.execute(
            f"CREATE TRIGGER translations_search_{action} AFTER {action.upper()} "
            f"ON translations BEGIN {body} END"
        )
    op.execute("CREATE VIRTUAL TABLE search_terms USING fts5vocab(search_index, 'row')")
    op.execute("INSERT INTO search_index (search_index) VALUES ('optimize')")


def downgrade() -> None:
    """0016's index: the English text in the index itself, written by the items' triggers."""
    if not on_sqlite():
        return
    _drop_triggers()
    op.execute("DROP TABLE IF EXISTS search_text")
    op.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5("
        f"kind UNINDEXED, item_id UNINDEXED, title, body, aliases, {TOKENIZER})"
    )
    for table in ITEMS:
        op.execute(
            f"INSERT INTO search_index ({', '.join(BASE)}) {_rows(table, translated=False)}"
        )
    _item_triggers(_writes("search_index", translated=False))
    op.execute("CREATE VIRTUAL TABLE search_terms USING fts5vocab(search_index, 'row')")
    op.execute("INSERT INTO search_index (search_index) VALUES ('optimize')")
