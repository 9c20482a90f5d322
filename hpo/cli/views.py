"""Rich renderables for ``hpo studies`` and ``hpo show``: pure functions of stored records.

Kept apart from :mod:`hpo.cli` so the commands stay short and these views can be
tested (and reused, e.g. by a dashboard) without a command line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hpo.reports.text import format_duration, format_number, format_param, sparkline, value_label
from hpo.storage.engine import display_url
from hpo.trial import FrozenTrial

if TYPE_CHECKING:
    from hpo.storage import StudySummary
    from hpo.study import Study

STATES = ("COMPLETE", "PRUNED", "FAILED", "RUNNING", "WAITING")
_STATE_STYLE = {
    "COMPLETE": "green",
    "PRUNED": "yellow",
    "FAILED": "red",
    "RUNNING": "cyan",
    "WAITING": "dim",
}


def objective_text(spec: Mapping[str, Any]) -> str:
    """``sklearn-mlp-classifier / digits / accuracy``, ``callable pkg.mod:fn`` or ``ask/tell``."""
    if spec.get("model"):
        dataset = spec.get("dataset") or {}
        if isinstance(dataset, Mapping):
            data = dataset.get("name") or dataset.get("path") or "(in-memory arrays)"
        else:
            data = str(dataset)
        return f"{spec['model']} / {data} / {value_label(spec)}"
    if spec.get("callable"):
        return f"callable {spec['callable']}"
    return "ask/tell or a callable passed at run time"


def sampler_text(sampler: Any) -> str:
    """``gp (acquisition=ei, seed=0)``: the sampler's name and its most telling options."""
    config = sampler.to_config()
    shown = [f"{k}={config[k]}" for k in ("acquisition", "method", "seed") if k in config]
    return f"{config.get('name')} ({', '.join(shown)})" if shown else str(config.get("name"))


def counts_text(counts: Mapping[str, int], *, interrupted: int = 0) -> Text:
    """``38 complete, 2 pruned, 1 failed`` with state colours; zero counts left out.

    ``interrupted`` of the FAILED trials were stopped by Ctrl-C/SIGTERM and re-queued: they
    are shown apart (``2 interrupted``, dim), not as failures of the objective.
    """
    text = Text()
    shown = {**counts, "FAILED": counts.get("FAILED", 0) - interrupted}
    parts = [(state, shown.get(state, 0)) for state in STATES if shown.get(state, 0) > 0]
    for i, (state, n) in enumerate(parts):
        if i:
            text.append(", ")
        text.append(f"{n} {state.lower()}", style=_STATE_STYLE[state])
    if interrupted:
        text.append(", " if parts else "")
        text.append(f"{interrupted} interrupted", style="dim")
    return text if parts or interrupted else Text("no trials yet", style="dim")


def is_interrupted(trial: FrozenTrial) -> bool:
    """A trial released by Ctrl-C/SIGTERM (and re-queued), not a failure of the objective."""
    return (trial.error or "").startswith("interrupted")


def studies_table(summaries: Sequence[StudySummary], storage: str) -> Table:
    """One row per study: name, model/dataset/metric, counts by state, best (and direction)."""
    # Names and model names do not break mid-word at 80 columns: each column is as wide as its
    # longest name or word (up to 24 characters; longer ones fold), other cells wrap at spaces,
    # and the direction goes under the name instead of taking a column of its own.
    objectives = [objective_text(s.objective) for s in summaries]
    longest_word = max((len(w) for text in objectives for w in text.split()), default=8)
    table = Table(
        title=f"Studies in {storage}", header_style="bold", title_style="bold", box=box.SIMPLE_HEAD
    )
    table.add_column(
        "name",
        style="bold",
        overflow="fold",
        min_width=min(22, max((len(s.name) for s in summaries), default=4)),
    )
    table.add_column("model / dataset / metric", overflow="fold", min_width=min(24, longest_word))
    table.add_column("trials", max_width=14)
    table.add_column(
        "best",
        justify="right",
        no_wrap=True,
        min_width=max((len(format_number(s.best_value)) for s in summaries), default=4),
    )
    for s, objective in zip(summaries, objectives, strict=True):
        name = Text(s.name, style="bold")
        name.append(f"\n{s.direction}", style="dim")
        table.add_row(name, escape(objective), counts_text(s.counts), format_number(s.best_value))
    return table


def _kv_table(title: str | None = None) -> Table:
    table = Table.grid(padding=(0, 2))
    table.title = title
    table.title_justify = "left"
    table.title_style = "bold"
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    return table


def _config_text(config: Mapping[str, Any]) -> str:
    name = config.get("name", "?")
    args = ", ".join(f"{k}={v!r}" for k, v in config.items() if k != "name")
    return f"{name}({args})"


def space_table(space: Mapping[str, Mapping[str, Any]]) -> Table:
    """The search space as stored: name, type, range or choices, scale, condition."""
    table = Table(
        title="Search space", title_justify="left", title_style="bold", header_style="bold"
    )
    for column in ("parameter", "type", "range / choices", "scale", "when"):
        table.add_column(column, overflow="fold")
    for name, spec in space.items():
        kind = str(spec.get("type"))
        if kind == "Categorical":
            values = ", ".join(
                format_param(tuple(c) if isinstance(c, list) else c)
                for c in spec.get("choices", [])
            )
            scale = ""
        else:
            values = f"[{format_param(spec.get('low'))}, {format_param(spec.get('high'))}]"
            scale = "log" if spec.get("log") else "linear"
            step = spec.get("step")
            if step not in (None, 1) or (step == 1 and kind == "Float"):
                scale += f", step {format_param(step)}"
        when = " and ".join(f"{p} {op} {v!r}" for p, op, v in spec.get("when") or [])
        table.add_row(escape(name), kind, escape(values), scale, escape(when))
    return table


def study_view(study: Study) -> Group:
    """Everything stored about a study: definition, settings, counts and best trial."""
    record = study._record
    info = _kv_table(f"Study {study.name!r}")
    info.add_row("storage", escape(display_url(study.storage.url)))
    info.add_row("direction", study.direction)
    info.add_row("objective", escape(objective_text(record.objective)))
    options = record.objective.get("options")
    if options:
        info.add_row("model options", escape(", ".join(f"{k}={v!r}" for k, v in options.items())))
    info.add_row("sampler", escape(_config_text(record.sampler)))
    settings = study.settings
    info.add_row("pruner", escape(_config_text(settings.get("pruner") or {"name": "none"})))
    info.add_row(
        "settings", escape(", ".join(f"{k}={v!r}" for k, v in settings.items() if k != "pruner"))
    )
    info.add_row("seed", str(study.seed))
    info.add_row("created", record.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"))
    info.add_row(
        "trials", counts_text(study.counts(), interrupted=study.storage.count_interrupted(study.id))
    )
    failed_points = study.storage.failed_grid_points(study.id)
    if failed_points:
        info.add_row("failed grid points", Text(failed_points_text(failed_points), style="red"))
    overhead = overhead_text(study.storage, study.id)
    if overhead:
        info.add_row("time", overhead)
    parts: list[Any] = [info, Text(), space_table(record.space)]
    best = study.storage.leaderboard(study.id, study.direction, top=1)
    if best:
        parts += [
            Text(),
            _best_view(best[0], value_label(record.objective)),
            Text(f"Details: hpo show {study.name} --trial {best[0].number}", style="dim"),
        ]
    return Group(*parts)


def failed_points_text(points: Sequence[FrozenTrial], limit: int = 10) -> str:
    """``#12 x=0, b=3 (RuntimeError: ...); ...``: grid points whose every trial failed."""
    shown = [
        f"#{t.number} "
        + ", ".join(f"{k}={format_param(v)}" for k, v in t.params.items())
        + f" ({(t.error or 'failed').splitlines()[0][:120]})"
        for t in points[:limit]
    ]
    more = f"; and {len(points) - limit} more" if len(points) > limit else ""
    return "; ".join(shown) + more


def overhead_text(storage: Any, study_id: int) -> str:
    """``"92.1% training, 7.9% hpo overhead (2 workers, 41.3 worker-s)"`` from stored timings
    (summed by the database: one row per worker is read, not every trial)."""
    from hpo.reports.overhead import stored_overhead_split

    split = stored_overhead_split(storage, study_id)
    if split is None or split.worker_seconds <= 0:
        return ""
    training = 100 * (1 - split.overhead_fraction)
    workers = f"{split.n_workers} worker{'s' * (split.n_workers > 1)}"
    return (
        f"{training:.1f}% training, {100 * split.overhead_fraction:.1f}% hpo overhead "
        f"({workers}, {split.worker_seconds:.1f} worker-s from first claim to last result)"
    )


def _best_view(trial: FrozenTrial, label: str) -> Table:
    table = _kv_table(f"Best trial: #{trial.number}")
    table.add_row(label, Text(format_number(trial.value, 6), style="bold green"))
    for name, value in trial.params.items():
        table.add_row(escape(name), escape(format_param(value)))
    for name, value in trial.metrics.items():
        table.add_row(escape(name), escape(format_number(value, 6)))
    return table


def trial_view(study: Study, trial: FrozenTrial) -> Group:
    """One trial: state, value, params, metrics, error, learning curve and saved weights."""
    label = value_label(study.objective_spec)
    info = _kv_table(f"Trial #{trial.number} of study {study.name!r}")
    info.add_row("state", Text(trial.state.value, style=_STATE_STYLE[trial.state.value]))
    info.add_row(label, format_number(trial.value, 6))
    info.add_row("duration", format_duration(trial.duration))
    info.add_row("worker", escape(trial.worker_id or "-"))
    if trial.started_at:
        info.add_row("started", trial.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"))
    if trial.retry_of is not None:
        info.add_row("retry of", f"#{trial.retry_of}")
    params = _kv_table("Parameters")
    for name, value in trial.params.items():
        params.add_row(escape(name), escape(format_param(value)))
    parts: list[Any] = [info, Text(), params]
    if trial.metrics:
        metrics = _kv_table("Metrics")
        for name, value in trial.metrics.items():
            metrics.add_row(escape(name), escape(format_number(value, 6)))
        parts += [Text(), metrics]
    if trial.error:
        parts += [Text(), Text("Error", style="bold"), Text(trial.error, style="red")]
    parts += [Text(), curve_view(trial.intermediate, label)]
    root = study.artifacts_root
    if root is not None and (root / f"trial-{trial.number}").exists():
        parts += [Text(), Text(f"Saved weights: {root / f'trial-{trial.number}'}")]
    return Group(*parts)


def curve_view(curve: Mapping[int, float], label: str) -> Group:
    """A learning curve as a sparkline, with its first, min, max and last values."""
    title = Text("Learning curve", style="bold")
    if not curve:
        return Group(title, Text("no intermediate values reported", style="dim"))
    steps = sorted(curve)
    values = [curve[s] for s in steps]
    summary = (
        f"{label} per step, steps {steps[0]}..{steps[-1]} ({len(steps)} points): "
        f"first {format_number(values[0])}, min {format_number(min(values))}, "
        f"max {format_number(max(values))}, last {format_number(values[-1])}"
    )
    return Group(title, Text(sparkline(values), style="cyan"), Text(summary, style="dim"))
