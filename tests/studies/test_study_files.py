"""Every example in studies/ loads, creates its study, runs a trial or two, and resumes.

The trials are real (the files' own model options), shortened through each file's
make_study parameters where it has them (FAST), so the torch studies are slow-ish; the
sklearn ones take about a second each. The Fashion-MNIST study runs on a real 1,000-image
subsample of Debian's files (required under CI=true, where make test installs them).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from hpo.cli.study_file import load_study_file

STUDIES = Path(__file__).resolve().parents[2] / "studies"
HAS_TORCH = importlib.util.find_spec("torch") is not None
SLOW = {"xor_fcnn", "digits_torch", "digits_mlp", "concrete_strength", "fashion_mnist_fcnn"}
NEEDS_TORCH = {"xor_fcnn", "digits_torch", "concrete_strength", "fashion_mnist_fcnn"}
FAST = {  # make_study keyword arguments that keep a trial short
    "xor_fcnn": {"max_epochs": 3},
    "concrete_strength": {"max_epochs": 3},
    "fashion_mnist_fcnn": {"n_train": 1000, "max_epochs": 2},
}
HAS_FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file()
EXPECTED = {
    "digits_mlp": ("digits-mlp", "maximize", "mf-gp"),
    "breast_cancer_mlp": ("breast-cancer-mlp", "maximize", "mf-gp"),
    "diabetes_regression": ("diabetes-regression", "maximize", "mf-gp"),
    "xor_fcnn": ("xor-fcnn", "maximize", "random"),
    "digits_torch": ("digits-torch", "maximize", "mf-gp"),
    "concrete_strength": ("concrete-strength", "maximize", "mf-gp"),
    "fashion_mnist_fcnn": ("fashion-mnist-fcnn", "maximize", "mf-gp"),
}


def test_every_study_file_is_covered() -> None:
    assert {p.stem for p in STUDIES.glob("*.py") if not p.stem.startswith("_")} == set(EXPECTED)


def _params(stem: str) -> list:
    marks = []
    if stem in SLOW:
        marks.append(pytest.mark.slow)
    if stem in NEEDS_TORCH:
        marks.append(pytest.mark.skipif(not HAS_TORCH, reason="needs the torch extra"))
    if stem == "fashion_mnist_fcnn":
        marks.append(
            pytest.mark.skipif(
                not HAS_FASHION and os.environ.get("CI") != "true",
                reason="needs dataset-fashion-mnist (make install)",
            )
        )
    return [pytest.param(stem, marks=marks)]


@pytest.mark.parametrize("stem", [p for stem in EXPECTED for p in _params(stem)])
def test_study_file_runs_and_resumes(stem: str, tmp_path: Path) -> None:
    loaded = load_study_file(STUDIES / f"{stem}.py")
    assert loaded.n_trials and loaded.n_workers
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    study = _build(loaded, stem, url)
    name, direction, sampler = EXPECTED[stem]
    assert (study.name, study.direction, study.sampler.to_config()["name"]) == (
        name,
        direction,
        sampler,
    )

    n = 1 if stem in SLOW else 2
    study.optimize(n, show_progress=False)
    trials = study.get_trials()
    assert len(trials) == n
    assert all(t.state.value in ("COMPLETE", "PRUNED") for t in trials), [t.error for t in trials]

    resumed = _build(loaded, stem, url)  # load_if_exists: the same study, nothing re-run
    assert resumed.id == study.id and len(resumed.get_trials()) == n
    metrics = trials[0].metrics
    if stem == "concrete_strength":
        assert {"test_r2", "test_rmse", "rmse"} <= set(metrics) and metrics["test_rmse"] > 0
    if stem == "fashion_mnist_fcnn":  # scored on the official t10k images
        assert 0.5 < metrics["test_accuracy"] <= 1.0 and metrics["n_epochs"] <= 2


def _build(loaded, stem: str, url: str):
    if stem in FAST:
        return loaded.make_study(storage=url, **FAST[stem])
    return loaded.build(storage=url)
