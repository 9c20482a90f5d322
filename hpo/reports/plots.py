"""Plots of a study with matplotlib (the ``plots`` extra): history, curves, importance, parallel.

Each ``plot_*`` function takes a :class:`~hpo.study.Study`, reads its trials from storage
and returns a matplotlib ``Figure``; :func:`save_plot` writes one to a PNG file. The
Agg backend is selected, so nothing needs a display.

Parameter importance (:func:`param_importance`) fits a random forest
(``sklearn.ensemble.RandomForestRegressor``, 200 trees, seeded) to the completed trials,
with each parameter encoded to its unit-cube coordinate (log scales stay log, categories
are bucket centres, inactive conditional parameters are -1), and reports the forest's
mean decrease in impurity, normalized to sum to 1. This is the same idea as Optuna's
``MeanDecreaseImpurityImportanceEvaluator``: cheap, and good enough to tell which
parameters matter; with fewer than ~20 trials, or strongly correlated parameters, read it
as a hint rather than a measurement.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo.errors import ConfigError
from hpo.reports.text import format_param, value_label
from hpo.reports.ticks import linear_ticks, log_ticks
from hpo.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from hpo.study import Study

__all__ = [
    "plot_history",
    "plot_curves",
    "plot_importance",
    "plot_parallel",
    "param_importance",
    "save_plot",
    "KINDS",
]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as e:
        raise ConfigError(
            f"Plots need matplotlib ({e}). Install it with: pip install 'hpo[plots]'."
        ) from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _completed(study: Study) -> list[FrozenTrial]:
    trials = [
        t
        for t in study.get_trials([TrialState.COMPLETE])
        if t.value is not None and math.isfinite(t.value)
    ]
    if not trials:
        raise ConfigError(f"Study {study.name!r} has no completed trials to plot yet.")
    return trials


def _figure(width: float = 8.0, height: float = 4.8) -> tuple[Figure, Any]:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    ax.grid(True, alpha=0.3)
    return fig, ax


def plot_history(study: Study) -> Figure:
    """Value of every completed trial by trial number, with the best value so far as a step line."""
    trials = _completed(study)
    pruned = [t for t in study.get_trials([TrialState.PRUNED]) if t.value is not None]
    label = value_label(study.objective_spec)
    fig, ax = _figure()
    numbers = np.array([t.number for t in trials])
    values = np.array([t.value for t in trials], dtype=float)
    ax.scatter(numbers, values, s=22, color="tab:blue", alpha=0.75, label="completed trial")
    if pruned:
        ax.scatter(
            [t.number for t in pruned],
            [t.value for t in pruned],
            s=22,
            marker="x",
            color="0.6",
            label="pruned (last reported value)",
        )
    best = (
        np.maximum.accumulate(values)
        if study.direction == "maximize"
        else np.minimum.accumulate(values)
    )
    ax.step(numbers, best, where="post", color="tab:red", linewidth=2, label="best so far")
    i = int(np.argmax(values) if study.direction == "maximize" else np.argmin(values))
    ax.annotate(
        f"best #{numbers[i]}: {values[i]:.4g}",
        (numbers[i], values[i]),
        xytext=(8, -14 if study.direction == "maximize" else 8),
        textcoords="offset points",
        fontsize=9,
        color="tab:red",
    )
    _clip_outliers(ax, numbers, values, study.direction)
    ax.set_xlabel("trial number")
    ax.set_ylabel(label)
    ax.set_title(f"{study.name}: optimization history ({study.direction} {label})")
    ax.legend(loc="best", fontsize=9)
    return fig


def _clip_outliers(ax: Any, numbers: np.ndarray, values: np.ndarray, direction: str) -> int:
    """Keep a few terrible trials from squashing the interesting part of the y axis, and say so.

    Trials beyond the axis are drawn as grey arrows on its edge, counted in the legend, and
    the worst value is written there: no trial silently leaves the plot. Returns their number.
    """
    if len(values) < 8:
        return 0
    q_lo, q_hi = (
        np.percentile(values, [10, 90])
        if direction == "maximize"
        else np.percentile(values, [5, 90])
    )
    spread = q_hi - q_lo
    if spread <= 0:
        return 0
    if direction == "maximize" and values.min() < q_lo - 3 * spread:
        bottom, top = q_lo - 1.5 * spread, values.max() + 0.1 * spread
        out, edge, marker = values < bottom, bottom, "v"
    elif direction == "minimize" and values.max() > q_hi + 3 * spread:
        bottom, top = values.min() - 0.1 * spread, q_hi + 1.5 * spread
        out, edge, marker = values > top, top, "^"
    else:
        return 0
    ax.set_ylim(bottom=bottom, top=top)
    worst = values.min() if direction == "maximize" else values.max()
    ax.scatter(
        numbers[out],
        np.full(int(out.sum()), edge),
        marker=marker,
        s=30,
        color="0.45",
        clip_on=False,
        zorder=3,
        label=f"{int(out.sum())} beyond the axis (worst {worst:.4g})",
    )
    return int(out.sum())


def plot_curves(study: Study, *, top: int = 10) -> Figure:
    """Learning curves (intermediate values per step) of the ``top`` best trials; pruned dashed.

    Pruned trials are ranked by their last reported value; at most ``top`` of them are drawn.
    """
    trials = study.get_trials([TrialState.COMPLETE, TrialState.PRUNED], with_curves=True)
    trials = [t for t in trials if t.intermediate]
    if not trials:
        raise ConfigError(
            f"Study {study.name!r} has no learning curves: its objective never "
            "called reporter.report(step, value)."
        )
    sign = -1.0 if study.direction == "maximize" else 1.0

    def key(t: FrozenTrial) -> float:
        value = t.value if t.value is not None else t.intermediate[max(t.intermediate)]
        return sign * value

    complete = sorted((t for t in trials if t.state == TrialState.COMPLETE), key=key)[:top]
    pruned = sorted((t for t in trials if t.state == TrialState.PRUNED), key=key)[:top]
    label = value_label(study.objective_spec)
    fig, ax = _figure()
    colors = _colormap()(np.linspace(0.0, 0.85, max(len(complete), 1)))
    for color, t in zip(colors, complete, strict=False):
        steps = sorted(t.intermediate)
        ax.plot(
            steps,
            [t.intermediate[s] for s in steps],
            color=color,
            linewidth=1.6,
            label=f"#{t.number}: {t.value:.4g}",
        )
    for i, t in enumerate(pruned):
        steps = sorted(t.intermediate)
        ax.plot(
            steps,
            [t.intermediate[s] for s in steps],
            color="0.55",
            linestyle="--",
            linewidth=1.0,
            label="pruned" if i == 0 else None,
        )
    ax.set_xlabel("step (epoch)")
    ax.set_ylabel(f"{label} (intermediate)")
    ax.set_title(f"{study.name}: learning curves of the top {len(complete)} trials")
    ax.legend(loc="best", fontsize=8, ncol=2 if len(complete) > 6 else 1)
    return fig


def _colormap() -> Any:
    import matplotlib

    return matplotlib.colormaps["viridis"]


def _encoded(study: Study, trials: list[FrozenTrial]) -> np.ndarray:
    """(n, d) unit-cube coordinates of the trials' params; inactive parameters become -1."""
    x = np.array([study.space.encode(t.params) for t in trials], dtype=float)
    return np.where(np.isnan(x), -1.0, x)


def param_importance(study: Study, *, seed: int = 0) -> dict[str, float]:
    """Share of the value's variation each parameter explains (sums to 1); see the module doc.

    Raises:
        ConfigError: fewer than 3 completed trials.
    """
    from sklearn.ensemble import RandomForestRegressor

    trials = _completed(study)
    names = list(study.space)
    if len(trials) < 3:
        raise ConfigError(
            f"Parameter importance needs at least 3 completed trials; study "
            f"{study.name!r} has {len(trials)}."
        )
    x = _encoded(study, trials)
    y = np.array([t.value for t in trials], dtype=float)
    if np.ptp(y) == 0:
        return {name: 1.0 / len(names) for name in names}
    forest = RandomForestRegressor(
        n_estimators=200, min_samples_leaf=2, random_state=seed, n_jobs=1
    )
    forest.fit(x, y)
    scores = forest.feature_importances_
    total = float(scores.sum()) or 1.0
    ranked = sorted(zip(names, scores / total, strict=True), key=lambda p: -p[1])
    return {name: float(score) for name, score in ranked}


def plot_importance(study: Study) -> Figure:
    """Horizontal bars of :func:`param_importance`, most important on top."""
    importance = param_importance(study)
    fig, ax = _figure(7.0, 0.5 * len(importance) + 1.6)
    names = list(importance)[::-1]
    scores = [importance[n] for n in names]
    bars = ax.barh(names, scores, color="tab:blue")
    ax.bar_label(bars, labels=[f"{s:.2f}" for s in scores], padding=3, fontsize=9)
    ax.set_xlim(0, max(scores) * 1.18)
    ax.set_xlabel("importance (random-forest impurity decrease, sums to 1)")
    n = len(_completed(study))
    ax.set_title(f"{study.name}: parameter importance ({n} completed trials)")
    ax.grid(True, axis="x", alpha=0.3)
    ax.grid(False, axis="y")
    return fig


def plot_parallel(study: Study) -> Figure:
    """Parallel coordinates: one line per completed trial across every parameter and the value.

    Axes are the parameters' unit-cube coordinates (log scales stay log), labelled with
    the real values; lines are coloured by rank (best yellow), the best trial drawn thick in red.
    """
    plt = _pyplot()
    trials = _completed(study)
    names = list(study.space)
    x = _encoded(study, trials)
    y = np.array([t.value for t in trials], dtype=float)
    span = float(np.ptp(y)) or 1.0
    y_unit = (y - y.min()) / span
    coords = np.column_stack([x, y_unit])
    label = value_label(study.objective_spec)
    fig, ax = _figure(max(8.0, 1.7 * (len(names) + 1)), 5.0)
    # Colour by rank, not by value, so one disastrous trial does not wash out the rest.
    order = np.argsort(y if study.direction == "maximize" else -y, kind="stable")  # best last
    better = np.empty(len(y))
    better[order] = np.linspace(0.0, 1.0, len(y)) if len(y) > 1 else 1.0
    cmap = _colormap()
    axes_x = np.arange(len(names) + 1)
    for i in order:
        visible = coords[i] >= 0
        ax.plot(
            axes_x[visible], coords[i][visible], color=cmap(better[i]), alpha=0.55, linewidth=1.1
        )
    best = order[-1]
    ax.plot(
        axes_x, coords[best], color="tab:red", linewidth=2.5, label=f"best #{trials[best].number}"
    )
    for j, name in enumerate(names):
        ax.axvline(j, color="0.3", linewidth=0.8)
        for u, text in _axis_ticks(study.space[name]):
            ax.text(j + 0.03, u, text, fontsize=7, va="center", color="0.25")
    ax.axvline(len(names), color="0.3", linewidth=0.8)
    for u in np.linspace(0.0, 1.0, 5):
        ax.text(
            len(names) + 0.03, u, f"{y.min() + u * span:.4g}", fontsize=7, va="center", color="0.25"
        )
    ax.set_xticks(axes_x, [*(_axis_label(n, study.space[n]) for n in names), label], fontsize=9)
    ax.set_yticks([])
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlim(-0.2, len(names) + 0.5)
    ax.grid(False)
    ax.legend(loc="upper left", fontsize=8)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1))
    bar = fig.colorbar(sm, ax=ax, pad=0.01)
    bar.set_ticks([0, 1], labels=["worst", "best"])
    bar.set_label("rank", fontsize=8)
    ax.set_title(f"{study.name}: parallel coordinates of {len(trials)} completed trials")
    return fig


def _axis_ticks(param: Any) -> list[tuple[float, str]]:
    """(unit-cube position, label) pairs for one parameter's axis: every choice, or 1-2-5 ticks
    per decade on a log axis, or five ticks on a linear one (not only its ends)."""
    if param.kind == "Categorical":
        return [(param.encode(c), format_param(c)) for c in param.choices]
    low, high = float(param.low), float(param.high)
    values = (
        log_ticks(low, high) if param.log else linear_ticks(low, high, integer=param.kind == "Int")
    )
    if param.kind == "Int":
        values = [int(v) for v in values]
    return [(param.encode(v), format_param(v)) for v in values]


def _axis_label(name: str, param: Any) -> str:
    return f"{name}\n(log)" if getattr(param, "log", False) else name


KINDS: dict[str, Callable[..., Figure]] = {
    "history": plot_history,
    "curves": plot_curves,
    "importance": plot_importance,
    "parallel": plot_parallel,
}


def save_plot(study: Study, kind: str, path: str | Path, *, top: int = 10, dpi: int = 120) -> Path:
    """Draw plot ``kind`` (history, curves, importance, parallel) of ``study`` into a PNG file."""
    if kind not in KINDS:
        raise ConfigError(f"Unknown plot kind {kind!r}; use one of {', '.join(KINDS)}.")
    fig = plot_curves(study, top=top) if kind == "curves" else KINDS[kind](study)
    path = Path(path)
    try:
        fig.savefig(path, dpi=dpi)
    finally:
        _pyplot().close(fig)
    return path
