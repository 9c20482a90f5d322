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
