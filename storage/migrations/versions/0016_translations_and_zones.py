"""Translations of the record, and each chat's clock.

``translations`` hold one field of a curated item in another language, keyed by kind, item id,
field and language, with the source in that language whose wording it is (NULL: our own);
every write to them raises the knowledge revision, as writes to the other curated tables do.
Each chat reads times in its own zone: ``chats.zone``, an IANA name, NULL for ``[time] zone``.

A chat's ``language`` is now its own, one of the bot's languages, taken from Telegram at first
contact and then changed only by /language; what earlier sightings wrote ("ru-RU", "de") is
brought to the bot's language it stands for (English for those the bot does not have).

A digest is written once per language and zone among its recipients (``digest_texts``), and
each delivery says which it takes and when it is due: a reminder of an event known only to its
day goes out at 09:00 in each reader's zone.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

from storage.migrating import on_sqlite
from storage.models import UtcDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


ACTIONS = ("insert", "update", "delete")
REVISION = "BEGIN UPDATE revisions SET value = value + 1 WHERE name = 'knowledge'; END"


LANGUAGES = ("en", "ru", "kk")


def upgrade() -> None:
    op.add_column("chats", sa.Column("zone", sa.String(64), nullable=True))
    find = "instr" if on_sqlite() else "strpos"
    base = f"lower(substr(language, 1, {find}(language || '-', '-') - 1))"
    known = ", ".join(f"'{language}'" for language in LANGUAGES)
    op.execute(
        f"UPDATE chats SET language = CASE WHEN {base} IN ({known}) THEN {base} ELSE 'en' END "
        "WHERE language IS NOT NULL"
    )
    op.add_column("deliveries", sa.Column("language", sa.String(8), nullable=True))
    op.add_column("deliveries", sa.Column("zone", sa.String(64), nullable=True))
    op.add_column("deliveries", sa.Column("due_at", UtcDateTime(), nullable=True))
    op.create_table(
        "digest_texts",
        sa.Column("digest_id", sa.String(200), sa.ForeignKey("digests.id"), primary_key=True),
        sa.Column("language", sa.String(8), primary_key=True),
        sa.Column("zone", sa.String(64), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_table(
        "translations",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("field", sa.String(32), primary_key=True),
        sa.Column("language", sa.String(8), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_id", sa.String(64), sa.ForeignKey("sources.id"), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    for action in ACTIONS if on_sqlite() else ():  # PostgreSQL's come with 0018
        op.execute(
            f"CREATE TRIGGER translations_revision_{action} AFTER {action.upper()} "
            "ON translations " + REVISION
        )


def downgrade() -> None:
    op.drop_table("digest_texts")
    with op.batch_alter_table("deliveries") as batch:
        for column in ("language", "zone", "due_at"):
            batch.drop_column(column)
    op.drop_table("translations")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("zone")
