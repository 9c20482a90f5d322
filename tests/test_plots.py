"""Every plot kind renders a real PNG; parameter importance finds the parameter that matters."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

import hpo  # noqa: E402
from hpo.errors import ConfigError  # noqa: E402
from hpo.reports.plots import KINDS, param_importance, save_plot  # noqa: E402
from hpo.space import Categorical, Float, Int  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def objective(params, reporter):
    """Depends strongly on x, weakly on n, not at all on noise; 4-step curves; some pruned."""
    value = 10 * (params["x"] - 0.3) ** 2 + 0.1 * params["n"]
    for step in range(1, 5):
        reporter.report(step, value + 2.0 / step)
    if params["kind"] == "c" and params["n"] > 3:
        raise hpo.TrialPruned("pruned for the plot")
    return value


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> hpo.Study:
    url = f"sqlite:///{tmp_path_factory.mktemp('plots') / 'hpo.db'}"
    s = hpo.create_study(
        "plots",
        space={
            "x": Float(-1, 1),
            "n": Int(1, 5, log=True),
            "kind": Categorical(["a", "b", "c"]),
            "noise": Float(1e-3, 1.0, log=True),
        },
        objective=objective,
        storage=url,
        seed=0,
    )
    return s.optimize(30)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_writes_a_png(study: hpo.Study, tmp_path: Path, kind: str) -> None:
    path = save_plot(study, kind, tmp_path / f"{kind}.png")
    data = path.read_bytes()
    assert data[:8] == PNG
    assert len(data) > 10_000  # axes, lines and labels, not an empty canvas


def test_importance_ranks_x_first_and_sums_to_one(study: hpo.Study) -> None:
    importance = param_importance(study)
    assert list(importance)[0] == "x"
    assert sum(importance.values()) == pytest.approx(1.0)
    assert importance["x"] > 0.5


def test_errors(tmp_path: Path, study: hpo.Study) -> None:
    empty = hpo.create_study(
        "empty", space={"x": Float(0, 1)}, storage=f"sqlite:///{tmp_path / 'e.db'}"
    )
    with pytest.raises(ConfigError, match="has no completed trials to plot yet"):
        save_plot(empty, "history", tmp_path / "h.png")
    with pytest.raises(ConfigError, match="Unknown plot kind 'pie'"):
        save_plot(study, "pie", tmp_path / "p.png")


# ---------------------------------------------------------------------- axes that tell the truth
def test_parallel_axes_label_log_scale_and_inner_ticks() -> None:
    from hpo.reports.plots import _axis_label, _axis_ticks

    lr, layers = Float(1e-4, 1e-1, log=True), Int(1, 9)
    lr.name, layers.name = "lr", "layers"
    assert [text for _, text in _axis_ticks(lr)] == ["0.0001", "0.001", "0.01", "0.1"]
    assert [text for _, text in _axis_ticks(layers)] == ["1", "3", "5", "7", "9"]
    positions = [u for u, _ in _axis_ticks(lr)]
    assert positions == sorted(positions) and positions[0] == pytest.approx(0.0)
    assert _axis_label("lr", lr) == "lr\n(log)" and _axis_label("layers", layers) == "layers"


def test_history_says_how_many_trials_are_beyond_its_axis(tmp_path: Path) -> None:
    """One disastrous trial is clipped off the y axis, and the legend says so with its value."""
    from hpo.reports.plots import _pyplot, plot_history

    s = hpo.create_study(
        "outlier",
        space={"x": Float(0, 1)},
        direction="maximize",
        storage=f"sqlite:///{tmp_path / 'o.db'}",
        seed=0,
    )
    for i in range(20):
        trial = s.ask()
        s.tell(trial, -1000.0 if i == 7 else 0.5 + 0.01 * i)
    fig = plot_history(s)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]  # type: ignore[union-attr]
    _pyplot().close(fig)
    assert "1 beyond the axis (worst -1000)" in labels
