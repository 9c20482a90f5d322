"""Schema migrations (Alembic), so a database written by an older hpo moves forward.

New databases are created at the newest schema and stamped with :data:`HEAD` without
importing Alembic (workers open storages often; Alembic costs start-up time). Only
``hpo db upgrade`` loads Alembic, and runs the scripts in ``versions/`` from the
database's revision to :data:`HEAD`. A database that predates Alembic (schema version 1
with no ``alembic_version`` table) is the baseline revision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Revision ids, oldest first; HEAD is what this hpo writes. A test checks that these
# match the scripts in versions/ and that HEAD's schema equals Base.metadata.
REVISIONS: dict[int, str] = {
    1: "0001_baseline",
    2: "0002_curve_step_index",
    3: "0003_ids_never_reused",
    4: "0004_curve_points_by_study",
    5: "0005_curve_points_by_bracket",
}
HEAD = REVISIONS[max(REVISIONS)]

_HERE = Path(__file__).resolve().parent


def alembic_config(connection: Any) -> Any:
    """An Alembic Config bound to ``connection`` (no alembic.ini: scripts ship in the package)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Any, *, from_schema_version: int) -> list[str]:
    """Run every migration after the database's revision; return the revisions applied.

    Args:
        connection: an open SQLAlchemy connection (in a transaction the caller commits).
        from_schema_version: the database's stored ``schema_version``; a database without
            an ``alembic_version`` table is stamped with the matching revision first.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = alembic_config(connection)
    script = ScriptDirectory.from_config(config)
    current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        if from_schema_version not in REVISIONS:
            raise ValueError(f"no revision for schema version {from_schema_version}")
        command.stamp(config, REVISIONS[from_schema_version])
        current = REVISIONS[from_schema_version]
    pending = [rev.revision for rev in script.iterate_revisions(HEAD, current)]
    command.upgrade(config, "head")
    return list(reversed(pending))
