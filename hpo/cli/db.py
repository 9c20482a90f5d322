"""``hpo db upgrade``: move a database written by an older hpo to this hpo's schema."""

from __future__ import annotations

import typer
from rich.markup import escape

from hpo.cli.app import StorageOption  # defined before app.py registers this module

db_app = typer.Typer(
    name="db",
    help="Database maintenance: schema upgrades.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@db_app.command()
def upgrade(storage: StorageOption = None) -> None:
    """Migrate the database to this hpo's schema, in place (back it up first)."""
    from hpo.cli.app import _existing_storage, _handle_errors, _out

    @_handle_errors
    def go() -> None:
        from hpo.storage.storage import Storage

        store = Storage(_existing_storage(storage), check_schema=False)
        try:
            applied = store.upgrade_schema()
        finally:
            store.dispose()
        where = escape(store.display_url)
        if applied:
            _out().print(f"Upgraded {where}: applied {', '.join(applied)}.")
        else:
            _out().print(f"{where} is already at the newest schema; nothing to do.")

    go()
