"""``hpo import-optuna`` and the Optuna target of ``hpo export``: studies in and out of Optuna.

Registered on the app by :mod:`hpo.cli`; Optuna is imported only when one of these runs.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from hpo.cli.app import StorageOption, _handle_errors, _load, _out, _storage_url, app
from hpo.errors import ConfigError


@app.command("import-optuna")
@_handle_errors
def import_optuna(
    source: Annotated[
        str,
        typer.Argument(
            metavar="URL",
            help="Optuna storage: an RDB URL (sqlite:///optuna.db, postgresql://...) or a Journal "
            "file path.",
        ),
    ],
    study: Annotated[str, typer.Argument(metavar="STUDY", help="The Optuna study to import.")],
    name: Annotated[
        str | None,
        typer.Option("--name", metavar="NAME", help="Name of the hpo study [default: STUDY]."),
    ] = None,
    sampler: Annotated[
        str,
        typer.Option(
            "--sampler",
            metavar="[gp|random|grid|optuna]",
            help="The sampler that continues the study.",
        ),
    ] = "gp",
    storage: StorageOption = None,
) -> None:
    """Copy an Optuna study (params, values, states, curves, user attrs) into a new hpo study."""
    from hpo.integrations.optuna_io import import_optuna as do_import

    imported = do_import(source, study, storage=_storage_url(storage), name=name, sampler=sampler)
    counts = (
        ", ".join(f"{n} {s.lower()}" for s, n in sorted(imported.counts().items())) or "no trials"
    )
    _out().print(
        f"Imported Optuna study {escape(study)!r} as {escape(imported.name)!r} ({counts})."
    )


def export_to_optuna(study: str, target: str | None, storage: str | None) -> None:
    """``hpo export STUDY --format optuna --out TARGET``: write an Optuna study."""
    from hpo.integrations.optuna_io import export_optuna

    if not target:
        raise ConfigError(
            "--format optuna writes an Optuna storage; pass --out with an RDB URL "
            "(sqlite:///optuna.db) or a journal file path."
        )
    the_study = _load(study, storage)
    name = export_optuna(the_study, target)
    _out().print(
        f"Wrote {len(the_study.trials)} trials to Optuna study {escape(name)!r} at "
        f"{escape(target)} (optuna-dashboard {escape(target)})."
    )


__all__ = ["import_optuna", "export_to_optuna"]
