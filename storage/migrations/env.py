"""Alembic environment: migrations always run on a connection handed over by storage.db."""

from alembic import context

import storage.bot_models  # noqa: F401  # its tables join Base.metadata
from storage.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
