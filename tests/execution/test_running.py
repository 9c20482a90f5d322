"""RunningTrial, the handle an objective (or ask/tell) sees of its claimed trial."""

from __future__ import annotations

from pathlib import Path

import hpo
from hpo.space import Float


def test_set_user_attr_is_stored_with_the_trial(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    study = hpo.create_study("attrs", space={"x": Float(0.0, 1.0)}, storage=url, seed=0)
    trial = study.ask()
    trial.set_user_attr("note", {"why": "a dict survives JSON"})
    trial.set_user_attr("epochs", 3)
    study.tell(trial, 0.5)
    stored = hpo.load_study("attrs", storage=url).trials[0]
    assert stored.user_attrs["note"] == {"why": "a dict survives JSON"}
    assert stored.user_attrs["epochs"] == 3


def test_the_trial_seed_is_a_function_of_the_study_seed_and_the_number(tmp_path: Path) -> None:
    from hpo.execution.running import trial_seed

    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    seen: dict[int, int] = {}

    def objective(params, reporter):
        seen[reporter.number] = reporter.seed
        return params["x"]

    study = hpo.create_study(
        "seeds", space={"x": Float(0.0, 1.0)}, storage=url, seed=11, objective=objective
    )
    study.optimize(n_trials=3)
    assert seen == {n: trial_seed(11, n) for n in range(3)}
    assert len(set(seen.values())) == 3
