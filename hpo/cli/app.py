"""The ``hpo`` command line: run studies, join them as workers, read leaderboards.

Every command takes ``--storage URL`` (default ``sqlite:///studies/hpo.db``, or the
``HPO_STORAGE`` environment variable). Errors hpo raises on purpose (:class:`HPOError`)
end the command with one red line and exit code 2 (bad input: unknown study, bad option,
broken study file) or 1 (the database or the run itself failed); set ``HPO_DEBUG=1`` for
the traceback of an unexpected error.
"""

from __future__ import annotations

import atexit
import functools
import gc
import importlib.util
import os
import re
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from hpo.errors import (
    ConfigError,
    HPOError,
    SchemaVersionError,
    StorageError,
    StudyExistsError,
    StudyMismatchError,
    WorkerInterrupted,
)
from hpo.startup import StartupGC
from hpo.storage import DEFAULT_STORAGE

F = TypeVar("F", bound=Callable[..., Any])

# At exit the interpreter runs full garbage collections over every object of every module
# imported (scikit-learn, SciPy, the study): 0.4-2 s after the command is done, which was most
# of `hpo run`'s exit after SIGTERM. Frozen objects are skipped by those collections; they are
# still freed by reference counting, and atexit handlers (connections, files) run as before.
atexit.register(gc.freeze)

app = typer.Typer(
    name="hpo",
    help="Hyperparameter optimization for neural networks: run studies, join them as workers, "
    "and read the leaderboard back from the database.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

STORAGE_HELP = "Database URL: sqlite:///path.db or postgresql://user@host/db."
FORMATS = {"leaderboard": ("table", "csv", "json"), "export": ("csv", "json", "parquet", "optuna")}
PLOT_KINDS = ("history", "curves", "importance", "parallel")
SAMPLERS = ("random", "grid", "gp")


def _out() -> Console:
    return Console(highlight=False, soft_wrap=True)  # long lines wrap in the terminal, not here


def _err() -> Console:
    return Console(stderr=True, highlight=False)


class _Failure(Exception):
    """A runtime failure (exit code 1) that is not an HPOError, e.g. no trial completed."""


def _handle_errors(fn: F) -> F:
    """Turn hpo errors into one red line and an exit code instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (SchemaVersionError, StudyExistsError) as e:
            _fail(str(e), 2)
        except (StorageError, _Failure) as e:
            _fail(str(e), 1)
        except StudyMismatchError as e:
            _fail(f"{e} {_mismatch_fix(str(e), kwargs.get('storage'))}", 2)
        except HPOError as e:
            _fail(str(e), 2)
        except KeyboardInterrupt:
            _err().print(
                "[yellow]Interrupted. Running trials were released; run the same command "
                "again to resume.[/yellow]"
            )
            raise typer.Exit(130) from None
        except (
            WorkerInterrupted
        ):  # SIGTERM (docker stop, kill): the trial was released and re-queued
            _err().print(
                "[yellow]Stopped by SIGTERM. Running trials were released and re-queued.[/yellow]"
            )
            raise typer.Exit(143) from None
        except OSError as e:
            _fail(f"{type(e).__name__}: {e}", 1)
        except Exception as e:
            if os.environ.get("HPO_DEBUG"):
                raise
            _fail(f"Unexpected {type(e).__name__}: {e} (set HPO_DEBUG=1 for the traceback).", 1)

    return wrapper  # type: ignore[return-value]


def _mismatch_fix(message: str, storage: str | None) -> str:
    """The command-line way out of a StudyMismatchError (its message names Python's load_study)."""
    found = re.match(r"Study '(.+?)' already exists", message)
    name = shlex.quote(found.group(1)) if found else "STUDY"
    where = f" --storage {shlex.quote(_password_hidden(storage))}" if storage else ""
    return (
        f"From the command line: start over with `hpo delete {name}{where} --yes` (it deletes "
        "the stored trials), or give the study a new name in the study file."
    )


def _password_hidden(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _fail(message: str, code: int) -> None:
    _err().print(escape(f"Error: {message}"), style="red", soft_wrap=True)
    raise typer.Exit(code)


def _storage_url(url: str | None) -> str:
    """The storage URL to use, checked for shape (a connection is opened later)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    url = url or os.environ.get("HPO_STORAGE") or DEFAULT_STORAGE
    try:
        make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"Storage URL {_shown(url)!r} is not a database URL; use e.g. "
            "'sqlite:///studies/hpo.db' or 'postgresql://user@host/db'."
        ) from None
    return url


def _shown(url: str) -> str:
    """The URL as printed: the password masked (run banner, studies, show, errors)."""
    from hpo.storage.engine import display_url

    return display_url(url)


def _existing_storage(url: str | None) -> str:
    """Like :func:`_storage_url`, but a SQLite file must exist (reading never creates one)."""
    from hpo.storage import sqlite_path

    url = _storage_url(url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise ConfigError(
            f"No database at {str(path)!r} ({_shown(url)}). Run a study first "
            "(hpo run studies/digits_mlp.py) or pass --storage / set HPO_STORAGE."
        )
    return url


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise ConfigError(f"{option} must be one of {', '.join(choices)}. Got {value!r}.")
    return value


def _load(study: str, storage: str | None) -> Any:
    from hpo.study import load_study

    return load_study(study, storage=_existing_storage(storage))


TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        "-t",
        min=0.001,
        metavar="SECONDS",
        help="Stop starting new trials after this many seconds.",
    ),
]
NoProgressOption = Annotated[
    bool,
    typer.Option(
        "--no-progress",
        help="No progress bar (on a terminal) or progress lines every 10 s (elsewhere).",
    ),
]
StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage",
        "-s",
        envvar="HPO_STORAGE",
        show_envvar=True,
        metavar="URL",
        help=f"{STORAGE_HELP} [default: {DEFAULT_STORAGE}]",
    ),
]


def _version(value: bool) -> None:
    if value:
        from hpo import __version__

        typer.echo(f"hpo {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Hyperparameter optimization for neural networks."""


# ---------------------------------------------------------------------- run / worker
@app.command()
@_handle_errors
def run(
    study_file: Annotated[
        Path,
        typer.Argument(
            metavar="STUDY_FILE",
            help="A Python file defining make_study(), e.g. studies/digits_mlp.py, or the name of "
            "an example (hpo examples).",
        ),
    ],
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            metavar="N",
            help="Worker processes [default: the file's N_WORKERS, else 1].",
        ),
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(
            "--trials",
            "-n",
            min=1,
            metavar="N",
            help="Total finished trials wanted; a resumed study only runs the rest [default: the "
            "file's N_TRIALS, else 20].",
        ),
    ] = None,
    storage: StorageOption = None,
    timeout: TimeoutOption = None,
    sampler: Annotated[
        str | None,
        typer.Option(
            "--sampler",
            metavar="[random|grid|gp]",
            help="Override the file's sampler (stored with the study for later runs).",
        ),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="Run the workers on a Dask cluster, e.g. tcp://scheduler:8786.",
        ),
    ] = None,
    no_progress: NoProgressOption = False,
    top: Annotated[
        int,
        typer.Option(
            "--top", min=0, metavar="N", help="Leaderboard rows printed at the end (0: none)."
        ),
    ] = 10,
) -> None:
    """Create or resume the study in STUDY_FILE and optimize it, then print the leaderboard."""
    # Start-up (imports, the study file, the study) runs without the cyclic collector:
    # see hpo/startup.py.
    with StartupGC() as startup:
        from hpo.cli.examples import resolve_study_file
        from hpo.cli.study_file import load_study_file
        from hpo.cli.views import sampler_text

        if sampler is not None:
            _choice(sampler, SAMPLERS, "--sampler")
        url = _storage_url(storage)
        if dask:
            from hpo.execution.dask import check_storage_for_cluster

            check_storage_for_cluster(url)
        loaded = load_study_file(resolve_study_file(study_file))
        study = loaded.build(storage=url, sampler=sampler)
        n_trials = trials or loaded.n_trials or 20
        n_workers = workers or loaded.n_workers or 1
        out = _out()
        counts = study.counts()
        done = counts.get("COMPLETE", 0) + counts.get("PRUNED", 0)
        where = f"Dask at {dask}" if dask else f"{n_workers} worker{'s' * (n_workers > 1)}"
        if done >= n_trials:
            out.print(
                f"Study [bold]{escape(study.name)}[/bold] already has {done} finished trials "
                f"(asked for {n_trials}); nothing to run. Pass --trials to ask for more."
            )
        else:
            resumed = f" (resuming: {done} already finished)" if done else ""
            out.print(
                f"Study [bold]{escape(study.name)}[/bold] in {escape(_shown(url))}: running to "
                f"{n_trials} trials{resumed} on {where}, sampler {sampler_text(study.sampler)}."
            )
        startup.started()  # what follows is the run: the collector is back on
        start = time.perf_counter()
        try:
            study.optimize(
                n_trials,
                n_workers=n_workers,
                timeout=timeout,
                executor=dask,
                show_progress=False if no_progress else None,
            )
        except ModuleNotFoundError as e:
            if dask and "dask" in str(e):
                raise ConfigError(
                    f"--dask needs Dask: {e}. Install it with: pip install 'hpo[dask]'."
                ) from e
            raise
        _print_run_summary(study, time.perf_counter() - start, top)


def _print_run_summary(study: Any, wall: float, top: int) -> None:
    from hpo.cli.views import counts_text, is_interrupted
    from hpo.reports.text import format_duration, format_number, leaderboard_table, value_label
    from hpo.trial import TrialState

    out = _out()
    counts = study.counts()
    label = value_label(study.objective_spec)
    best = study.storage.leaderboard(study.id, study.direction, top=max(top, 1))
    stopped = study.get_trials([TrialState.FAILED]) if counts.get("FAILED") else []
    failed = [t for t in stopped if not is_interrupted(t)]
    interrupted = len(stopped) - len(failed)
    summary = counts_text(counts, interrupted=interrupted)
    summary.append(f" in {format_duration(wall)} wall time")
    if best and top:
        out.print()
        out.print(
            leaderboard_table(
                best[:top],
                study.space,
                value_name=label,
                width=out.width,
                title=f"{study.name}: top {min(top, len(best))} by {label} ({study.direction})",
            )
        )
    out.print(summary)
    if best:
        out.print(
            f"Best {label}: [bold green]{format_number(best[0].value, 6)}[/bold green] "
            f"(trial #{best[0].number}). More: hpo show {study.name} --trial {best[0].number}"
        )
    if interrupted:
        out.print(
            f"[dim]{interrupted} trial(s) were interrupted (Ctrl-C/SIGTERM) and re-queued; "
            "they are not failures of the objective.[/dim]"
        )
    if failed:
        _err().print(
            escape(f"{len(failed)} trial(s) failed; e.g. #{failed[0].number}: {failed[0].error}"),
            style="red",
            soft_wrap=True,
        )
    if not best:
        hint = f" See why with: hpo show {study.name} --trial {failed[0].number}" if failed else ""
        raise _Failure(f"No trial of study {study.name!r} completed.{hint}")
    _check_failed_grid_points(study)


def _check_failed_grid_points(study: Any) -> None:
    """Exit 1 when grid points stayed FAILED after their retries: the grid has holes."""
    from hpo.cli.views import failed_points_text

    points = study.storage.failed_grid_points(study.id)
    if points:
        raise _Failure(
            f"{len(points)} grid point(s) of study {study.name!r} have no successful "
            f"trial (every attempt FAILED; max_retries={study.settings['max_retries']}): "
            f"{failed_points_text(points, limit=3)}. See them with: hpo show {study.name}"
        )


@app.command()
@_handle_errors
def worker(
    study: Annotated[str, typer.Argument(metavar="STUDY", help="Name of an existing study.")],
    storage: StorageOption = None,
    trials: Annotated[
        int | None,
        typer.Option(
            "--trials",
            "-n",
            min=1,
            metavar="N",
            help="Stop when the study has this many finished trials in total [default: until the "
            "sampler is exhausted or --timeout].",
        ),
    ] = None,
    timeout: TimeoutOption = None,
    objective: Annotated[
        str | None,
        typer.Option(
            "--objective",
            metavar="MODULE:FN|FILE.py:FN",
            help="The objective of a study made with a callable; model-based studies need none.",
        ),
    ] = None,
    no_progress: NoProgressOption = False,
) -> None:
    """Join an existing study as one worker in this process (start several for parallelism)."""
    # Start-up runs without the cyclic collector: see hpo/startup.py.
    with StartupGC() as startup:
        from hpo.cli.study_file import load_attribute
        from hpo.execution.worker import worker_loop
        from hpo.study import load_study

        fn = load_attribute(objective) if objective else None
        the_study = load_study(study, storage=_existing_storage(storage), objective=fn)
        if the_study.objective is None:
            stored = the_study.objective_spec.get("callable")
            raise ConfigError(
                f"Study {study!r} was made with a callable objective "
                f"({stored or 'not importable'}) that "
                "this process cannot import; pass --objective package.module:function or "
                "--objective path/to/study_file.py:function."
            )
        startup.started()  # the study and its objective's libraries are loaded
        if trials is None and timeout is None:
            _err().print(
                "[dim]No --trials or --timeout: running until the sampler is exhausted or "
                "Ctrl-C.[/dim]"
            )
        from hpo.execution.progress import StudyProgress
        from hpo.resources import threads_per_worker

        with (
            _threads(threads_per_worker(1)),
            StudyProgress(
                the_study, trials, enabled=False if no_progress else None, ticker=True
            ) as progress,
        ):
            stats = worker_loop(
                the_study,
                n_trials=trials,
                timeout=timeout,
                on_trial_end=lambda _state: progress.refresh(force=True),
            )
        from hpo.cli.views import counts_text

        finished = ", ".join(f"{n} {state.lower()}" for state, n in stats.finished.items())
        _out().print(
            f"Worker {escape(stats.worker_id)}: {finished} in {stats.seconds:.1f}s. "
            f"Study {escape(study)!r} now has ",
            counts_text(the_study.counts()),
            ".",
            sep="",
        )
        _check_failed_grid_points(the_study)


def _threads(n: int) -> Any:
    from threadpoolctl import threadpool_limits

    return threadpool_limits(n)


# ---------------------------------------------------------------------- reading
@app.command()
@_handle_errors
def leaderboard(
    study: Annotated[str, typer.Argument(metavar="STUDY", help="Study name.")],
    storage: StorageOption = None,
    top: Annotated[
        int,
        typer.Option(
            "--top", "-k", min=0, metavar="N", help="Rows to show (0: all completed trials)."
        ),
    ] = 10,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="[table|csv|json]",
            help="table for people; csv and json for programs.",
        ),
    ] = "table",
) -> None:
    """Completed trials of STUDY, best first."""
    from hpo.reports.tables import (
        leaderboard_table,
        to_csv,
        to_json,
        trial_records,
        trials_frame,
        value_label,
    )

    _choice(fmt, FORMATS["leaderboard"], "--format")
    the_study = _load(study, storage)
    best = the_study.storage.leaderboard(the_study.id, the_study.direction, top or None)
    if fmt == "csv":
        sys.stdout.write(to_csv(trials_frame(best, the_study.space, ranked=True)))
    elif fmt == "json":
        sys.stdout.write(to_json(trial_records(best, ranked=True)) + "\n")
    elif not best:
        _out().print(f"Study {escape(study)!r} has no completed trials yet.")
    else:
        label = value_label(the_study.objective_spec)
        out = _out()
        out.print(
            leaderboard_table(
                best,
                the_study.space,
                value_name=label,
                width=out.width,
                title=f"{study}: top {len(best)} by {label} ({the_study.direction})",
            )
        )


@app.command()
@_handle_errors
def studies(storage: StorageOption = None) -> None:
    """List the studies in a database with their trial counts and best values."""
    from hpo.cli.views import studies_table
    from hpo.study import list_studies

    url = _existing_storage(storage)
    summaries = list_studies(url)
    if not summaries:
        _out().print(
            f"No studies in {escape(_shown(url))} yet. Start one with: hpo run "
            f"studies/digits_mlp.py"
        )
        return
    _out().print(studies_table(summaries, _shown(url)))


@app.command()
@_handle_errors
def show(
    study: Annotated[str, typer.Argument(metavar="STUDY", help="Study name.")],
    storage: StorageOption = None,
    trial: Annotated[
        int | None,
        typer.Option(
            "--trial",
            min=0,
            metavar="N",
            help="Show this trial: params, metrics, error and learning curve.",
        ),
    ] = None,
) -> None:
    """The definition of STUDY (space, sampler, settings, counts, best trial), or one trial."""
    from hpo.cli.views import study_view, trial_view

    the_study = _load(study, storage)
    if trial is None:
        _out().print(study_view(the_study))
        return
    try:
        frozen = the_study.storage.trial(the_study.id, trial)
    except StorageError:
        n = sum(the_study.counts().values())
        raise ConfigError(
            f"Study {study!r} has no trial #{trial}; its trials are numbered 0..{n - 1}."
            if n
            else f"Study {study!r} has no trials yet."
        ) from None
    _out().print(trial_view(the_study, frozen))


@app.command()
@_handle_errors
def plot(
    study: Annotated[str, typer.Argument(metavar="STUDY", help="Study name.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            "-k",
            metavar="[history|curves|importance|parallel]",
            help="history: value per trial and best so far; curves: learning curves of the top "
            "trials; importance: which parameters matter; parallel: parallel coordinates.",
        ),
    ] = "history",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="PATH", help="PNG file to write [default: STUDY-KIND.png]."
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, metavar="N", help="Trials drawn by --kind curves.")
    ] = 10,
    storage: StorageOption = None,
) -> None:
    """Draw one plot of STUDY into a PNG file (needs matplotlib: pip install 'hpo[plots]')."""
    _choice(kind, PLOT_KINDS, "--kind")
    from hpo.reports.plots import save_plot

    the_study = _load(study, storage)
    path = save_plot(the_study, kind, out or Path(f"{study}-{kind}.png"), top=top)
    _out().print(f"Wrote {escape(str(path))}")


@app.command()
@_handle_errors
def export(
    study: Annotated[str, typer.Argument(metavar="STUDY", help="Study name.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="[csv|json|parquet|optuna]",
            help="csv: one row per trial; json: records with params, metrics and curves nested; "
            "parquet needs pyarrow; optuna: an Optuna study (--out: RDB URL or journal file).",
        ),
    ] = "csv",
    out_arg: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            metavar="PATH",
            help="File to write [default: standard output; required for parquet and optuna].",
        ),
    ] = None,
    curves: Annotated[
        bool,
        typer.Option(
            "--curves",
            help="Export the learning curves (trial, state, step, value) instead of the trials.",
        ),
    ] = False,
    storage: StorageOption = None,
) -> None:
    """Every trial of STUDY (all states), or its learning curves, as CSV, JSON, Parquet, Optuna."""
    from hpo.reports.tables import curves_frame, to_csv, to_json, trial_records, trials_frame

    _choice(fmt, FORMATS["export"], "--format")
    if fmt == "optuna":
        from hpo.cli.optuna_commands import export_to_optuna

        return export_to_optuna(study, out_arg, storage)
    out = Path(out_arg) if out_arg is not None else None
    if fmt == "parquet" and out is None:
        raise ConfigError("--format parquet writes a binary file; pass --out PATH.")
    if fmt == "parquet" and not any(
        importlib.util.find_spec(m) for m in ("pyarrow", "fastparquet")
    ):
        raise ConfigError(
            "--format parquet needs pyarrow; install it with: pip install 'hpo[parquet]', "
            "or use --format csv or json."
        )
    the_study = _load(study, storage)
    trials = the_study.get_trials(with_curves=True)
    frame = curves_frame(trials) if curves else trials_frame(trials, the_study.space, ranked=False)
    if fmt == "parquet":
        frame.to_parquet(out, index=False)
    else:
        if fmt == "csv":
            text = to_csv(frame)
        elif curves:
            text = frame.to_json(orient="records", indent=2) + "\n"
        else:
            text = to_json(trial_records(trials, ranked=False, with_curves=True)) + "\n"
        if out is None:
            sys.stdout.write(text)
            return
        out.write_text(text)
    n = len(frame)
    _out().print(f"Wrote {n} {'curve points' if curves else 'trials'} to {escape(str(out))}")


@app.command()
@_handle_errors
def delete(
    study: Annotated[str, typer.Argument(metavar="STUDY", help="Study name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    storage: StorageOption = None,
) -> None:
    """Delete STUDY and all its trials (trained weights on disk are left in place)."""
    from hpo.study import delete_study

    the_study = _load(study, storage)
    n = sum(the_study.counts().values())
    if not yes:
        if not sys.stdin.isatty():
            raise ConfigError(f"Refusing to delete study {study!r} ({n} trials) without --yes.")
        typer.confirm(f"Delete study {study!r} and its {n} trials?", abort=True)
    delete_study(study, storage=the_study.storage)
    _out().print(f"Deleted study {escape(study)!r} ({n} trials).")


@app.command()
@_handle_errors
def examples() -> None:
    """List the example studies that ship with hpo; run one with: hpo run NAME."""
    from hpo.cli.examples import example_files, examples_dir
    from hpo.cli.study_file import describe_study_file

    out = _out()
    for name, path in example_files().items():
        out.print(f"[bold]{escape(name):<22}[/bold] {escape(describe_study_file(path))}")
    out.print(
        f"\nRun one with: hpo run NAME (e.g. hpo run digits_mlp). Files: "
        f"{escape(str(examples_dir()))}"
    )


@app.command()
@_handle_errors
def dashboard(
    storage: StorageOption = None,
    port: Annotated[
        int,
        typer.Option(
            "--port", "-p", min=1, max=65535, metavar="PORT", help="TCP port to listen on."
        ),
    ] = 8080,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            metavar="ADDRESS",
            help="Address to bind; 0.0.0.0 lets other machines in (there is no login).",
        ),
    ] = "127.0.0.1",
) -> None:
    """Serve a live, read-only web dashboard of all studies in a storage (needs hpo[dashboard])."""
    from hpo.dashboard.server import require_extra, serve

    require_extra()
    serve(
        _existing_storage(storage),
        host=host,
        port=port,
        echo=lambda line: _out().print(escape(line)),
    )


def _register_subcommands() -> None:
    from hpo.cli.db import db_app

    app.add_typer(db_app)


_register_subcommands()


if __name__ == "__main__":  # pragma: no cover
    app()
