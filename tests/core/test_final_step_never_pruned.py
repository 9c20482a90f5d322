"""A trial that reached its full budget is never pruned: it completes with its value.

Every pruner here would stop trial 3 at its last step (step 9, a rung of ASHA and of
Hyperband's first bracket; its best value is worse than its peers' median there).
Real studies on SQLite files: a plain objective that declares its last step, ASHA that
knows its ``max_resource``, and a real model family whose ``max_epochs`` is the last step.
"""

from __future__ import annotations

from typing import Any

import pytest

import hpo
from hpo.objective import declare_max_step
from hpo.pruning import HyperbandPruner, MedianPruner, Pruner, SuccessiveHalvingPruner
from hpo.space import Float
from hpo.trial import TrialState

LAST = 9


def _curve(number: int, bad: int) -> dict[int, float]:
    """Trials reach 0.05 at the last step; trial ``bad`` keeps up until then, and ends at 5.0."""
    end = 5.0 if number == bad else 0.05
    return {s: (end if s == LAST else 0.1) for s in range(1, LAST + 1)}


def _bad_number(pruner: Pruner) -> int:
    """The fourth trial that competes in the first bracket (every trial, but for Hyperband)."""
    if not isinstance(pruner, HyperbandPruner):
        return 3
    return [n for n in range(100) if pruner.bracket(n) == 0][3]


def _objective(declare: bool, bad: int) -> Any:
    def objective(params: dict[str, Any], reporter: Any) -> float:
        if declare:
            declare_max_step(reporter, LAST)
        curve = _curve(reporter.number, bad)
        for step, value in curve.items():
            reporter.report(step, value)
        return curve[LAST]

    return objective


HYPERBAND = HyperbandPruner(min_resource=1, max_resource=27)  # bracket 0's rungs: 1, 3, 9
CASES = {
    "asha, the objective declares its last step": (SuccessiveHalvingPruner(), True),
    "asha, max_resource=9": (SuccessiveHalvingPruner(max_resource=LAST), False),
    "median, the objective declares its last step": (
        MedianPruner(n_startup_trials=3, n_warmup_steps=0),
        True,
    ),
    "hyperband, the objective declares its last step": (HYPERBAND, True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_last_step_is_never_pruned(sqlite_url, case):
    pruner, declare = CASES[case]
    bad = _bad_number(pruner)
    # the rule itself would prune trial `bad` at its last step: this is what the fix must stop
    rule = SuccessiveHalvingPruner() if isinstance(pruner, SuccessiveHalvingPruner) else pruner
    peers = {n: _curve(n, bad) for n in range(bad)}
    assert rule.prune_trial(bad, LAST, _curve(bad, bad), peers, maximize=False)

    study = hpo.create_study(
        "final", storage=sqlite_url, space={"x": Float(0, 1)}, objective=_objective(declare, bad),
        sampler="random", pruner=pruner, seed=0,
    )  # fmt: skip
    study.optimize(bad + 1, show_progress=False)
    last = study.storage.trial(study.id, bad)
    assert (last.state, last.value) == (TrialState.COMPLETE, 5.0)
    assert max(last.intermediate) == LAST
    assert study.counts() == {"COMPLETE": bad + 1}


def test_asha_max_resource_is_stored_and_validated():
    assert hpo.pruning.make_pruner({"name": "asha", "max_resource": 9}).to_config() == {
        "name": "asha",
        "min_resource": 1,
        "reduction_factor": 3,
        "min_early_stopping_rate": 0,
        "max_resource": 9,
    }
    assert "max_resource" not in SuccessiveHalvingPruner().to_config()  # stored configs unchanged
    assert not SuccessiveHalvingPruner(max_resource=9).is_rung(9)
    assert SuccessiveHalvingPruner().is_rung(9)
    with pytest.raises(hpo.ConfigError, match="max_resource"):
        SuccessiveHalvingPruner(max_resource=0)


def test_earlier_rungs_still_prune(sqlite_url):
    """The fix spares only the last step: a hopeless trial is still stopped at rung 1."""

    def objective(params: dict[str, Any], reporter: Any) -> float:
        declare_max_step(reporter, LAST)
        value = 0.1 if reporter.number < 3 else 7.0
        for step in range(1, LAST + 1):
            reporter.report(step, value)
        return value

    study = hpo.create_study(
        "early", storage=sqlite_url, space={"x": Float(0, 1)}, objective=objective,
        sampler="random", pruner=SuccessiveHalvingPruner(), seed=0,
    )  # fmt: skip
    study.optimize(4, show_progress=False)
    last = study.storage.trial(study.id, 3)
    assert last.state == TrialState.PRUNED and max(last.intermediate) == 1


def _pruned_at_last_epoch(trials: list[hpo.FrozenTrial], last: int) -> list[int]:
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    return [t.number for t in pruned if max(t.intermediate) == last]


def test_a_model_family_completes_at_max_epochs(sqlite_url):
    """sklearn SGD with max_epochs=9 and ASHA (rungs 1, 3, 9): nothing is pruned at epoch 9."""
    study = hpo.create_study(
        "sgd",
        storage=sqlite_url,
        model="sklearn-sgd-classifier",
        dataset="digits",
        space={"alpha": Float(1e-6, 1.0, log=True), "eta0": Float(1e-4, 1.0, log=True)},
        model_options={"max_epochs": LAST, "patience": 100},
        sampler="random",
        pruner=SuccessiveHalvingPruner(),
        seed=0,
    )
    study.optimize(16, show_progress=False)
    trials = study.get_trials(with_curves=True)
    assert _pruned_at_last_epoch(trials, LAST) == []
    reached = [t for t in trials if max(t.intermediate) == LAST]
    assert len({t.intermediate[LAST] for t in reached}) >= 2  # several competed at the last rung
    assert all(t.state == TrialState.COMPLETE for t in reached)
    assert any(t.state == TrialState.PRUNED for t in trials)  # the pruner did work earlier
