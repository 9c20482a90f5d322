"""Alembic's entry point: run the migrations on the connection hpo hands over."""

from __future__ import annotations

from alembic import context

from hpo.storage.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection, target_metadata=Base.metadata, render_as_batch=True
)  # SQLite alters tables by copy-and-move
with context.begin_transaction():
    context.run_migrations()
