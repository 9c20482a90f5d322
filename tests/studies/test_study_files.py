"""Every example in studies/ loads, creates its study, runs a trial or two, and resumes.

The trials are real (the files' own model options), so the torch studies are slow; the
sklearn ones take about a second each.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from hpo.cli.study_file import load_study_file

STUDIES = Path(__file__).resolve().parents[2] / "studies"
HAS_TORCH = importlib.util.find_spec("torch") is not None
SLOW = {"xor_fcnn", "digits_torch", "digits_mlp"}
NEEDS_TORCH = {"xor_fcnn", "digits_torch"}
EXPECTED = {
    "digits_mlp": ("digits-mlp", "maximize", "gp"),
    "breast_cancer_mlp": ("breast-cancer-mlp", "maximize", "random"),
    "diabetes_regression": ("diabetes-regression", "maximize", "gp"),
    "xor_fcnn": ("xor-fcnn", "maximize", "random"),
    "digits_torch": ("digits-torch", "maximize", "gp"),
}


def test_every_study_file_is_covered() -> None:
    assert {p.stem for p in STUDIES.glob("*.py") if not p.stem.startswith("_")} == set(EXPECTED)


def _params(stem: str) -> list:
    marks = []
    if stem in SLOW:
        marks.append(pytest.mark.slow)
    if stem in NEEDS_TORCH:
        marks.append(pytest.mark.skipif(not HAS_TORCH, reason="needs the torch extra"))
    return [pytest.param(stem, marks=marks)]


@pytest.mark.parametrize("stem", [p for stem in EXPECTED for p in _params(stem)])
def test_study_file_runs_and_resumes(stem: str, tmp_path: Path) -> None:
    loaded = load_study_file(STUDIES / f"{stem}.py")
    assert loaded.n_trials and loaded.n_workers
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    study = loaded.build(storage=url)
    name, direction, sampler = EXPECTED[stem]
    assert (study.name, study.direction, study.sampler.to_config()["name"]) == (name, direction, sampler)

    n = 1 if stem in SLOW else 2
    study.optimize(n, show_progress=False)
    trials = study.get_trials()
    assert len(trials) == n
    assert all(t.state.value in ("COMPLETE", "PRUNED") for t in trials), [t.error for t in trials]

    resumed = loaded.build(storage=url)  # load_if_exists: the same study, nothing re-run
    assert resumed.id == study.id and len(resumed.get_trials()) == n
