"""MultiFidelityGPSampler: learning curves of pruned and running trials inform the GP.

Unit tests on hand-made histories, then studies on real SQLite files with real worker
processes (parallel, resume, pruned-trial bookkeeping, determinism), for mf-gp with
Hyperband and ASHA and for the recommended network strategy, the plain GP with ASHA.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

import hpo
from hpo.errors import ConfigError
from hpo.pruning import HyperbandPruner, Pruner, SuccessiveHalvingPruner
from hpo.samplers import make_sampler
from hpo.samplers.base import Sampler
from hpo.samplers.gp.sampler import KERNEL_ATTR, GPSampler
from hpo.samplers.multifidelity import MultiFidelityGPSampler, budget_data
from hpo.space import Float, SearchSpace
from hpo.trial import FrozenTrial, TrialState
from tests.core.objectives import rising_curve

SPACE = {"x": Float(-1.0, 1.0)}


def _trial(
    number: int,
    state: str,
    curve: dict[int, float],
    value: float | None = None,
    x: float | None = None,
) -> FrozenTrial:
    x = x if x is not None else -1.0 + 2.0 * ((number * 0.618) % 1.0)
    if value is None and state in ("COMPLETE", "PRUNED") and curve:
        value = curve[max(curve)]
    return FrozenTrial(
        number=number,
        state=TrialState(state),
        params={"x": x},
        value=value,
        intermediate=dict(curve),
    )


def _history() -> tuple[list[FrozenTrial], list[FrozenTrial]]:
    """Six trials reached step 3 (two still running), four were pruned at step 1."""
    history = [
        _trial(n, "COMPLETE", {1: 0.5 + 0.01 * n, 2: 0.6, 3: 0.7 + 0.01 * n}) for n in range(4)
    ]
    history += [_trial(n, "PRUNED", {1: 0.1 * (n - 3)}) for n in range(4, 8)]
    history.append(_trial(8, "FAILED", {1: 0.9}))
    pending = [
        _trial(9, "RUNNING", {1: 0.55, 3: 0.75}),
        _trial(10, "RUNNING", {1: 0.52, 3: 0.72}),
        _trial(11, "RUNNING", {1: 0.6}),
        _trial(12, "RUNNING", {}),
    ]
    return history, pending


def test_budget_is_the_largest_step_with_enough_trials_and_partial_curves_are_carried():
    history, pending = _history()
    data = budget_data(history, pending, min_points=6)
    assert data.budget == 3
    assert sorted(t.number for t in data.observed) == [0, 1, 2, 3, 9, 10]  # running trials count
    assert all(t.state == TrialState.COMPLETE for t in (*data.observed, *data.imputed))
    shift = float(np.median([0.2 + 0.0 * n for n in range(4)] + [0.2, 0.2]))  # v(3) - v(1)
    carried = {t.number: t.value for t in data.imputed}
    assert sorted(carried) == [4, 5, 6, 7, 11]  # pruned at step 1 and the running trial at step 1
    assert carried[5] == pytest.approx(0.2 + shift)
    assert [t.number for t in data.pending] == [12]  # nothing to carry: a believer
    assert 8 not in {t.number for t in (*data.observed, *data.imputed, *data.pending)}  # FAILED
    plain = budget_data(history, pending, min_points=6, impute="none")
    assert plain.imputed == [] and [t.number for t in plain.pending] == [11, 12]
    assert budget_data(history, pending, min_points=11).budget == 1  # 11 trials reported step 1
    assert budget_data(history, pending, min_points=12).budget is None


def test_completed_trials_that_stopped_early_count_at_larger_budgets():
    early = [_trial(n, "COMPLETE", {1: 0.4, 2: 0.5}, value=0.5) for n in range(3)]
    full = [_trial(n, "COMPLETE", {1: 0.4, 2: 0.5, 3: 0.6, 4: 0.65}) for n in range(3, 6)]
    data = budget_data([*early, *full], [], min_points=6)
    assert data.budget == 4 and {t.number: t.value for t in data.observed}[0] == 0.5


def test_objectives_without_curves_fall_back_to_completed_values():
    history = [_trial(n, "COMPLETE", {}, value=float(n)) for n in range(5)]
    data = budget_data(history, [], min_points=3)
    assert data.budget is None and len(data.observed) == 5


def test_proposals_are_a_pure_function_of_the_curves_and_use_pruned_ones():
    history, pending = _history()
    space = SearchSpace(SPACE)
    sampler = MultiFidelityGPSampler(min_points=6, random_fraction=0.0, seed=3)

    def ask(h: list[FrozenTrial]) -> dict:
        return sampler.ask(space, h, pending, np.random.default_rng([3, 13]), "maximize").params

    first = ask(history)
    assert first == ask(list(reversed(history)))
    assert (
        first
        == make_sampler(sampler.to_config())
        .ask(space, history, pending, np.random.default_rng([3, 13]), "maximize")
        .params
    )
    changed = [
        *history[:4],
        _trial(4, "PRUNED", {1: 0.95}),
        *history[5:],
    ]  # one pruned curve differs
    assert ask(changed) != first
    info = sampler.ask(space, history, pending, np.random.default_rng(0), "maximize").info
    assert info["budget"] == 3 and info["n_imputed"] == 5


def test_a_random_fraction_of_proposals_is_drawn_from_the_trial_rng():
    history, pending = _history()
    space = SearchSpace(SPACE)
    sampler = MultiFidelityGPSampler(min_points=6, random_fraction=1.0, seed=3)
    a = sampler.ask(space, history, pending, np.random.default_rng([3, 13]), "maximize")
    b = sampler.ask(space, history, pending, np.random.default_rng([3, 13]), "maximize")
    assert a.info["phase"] == "random" and a.params == b.params
    assert make_sampler(sampler.to_config()).random_fraction == 1.0


def _with_kernel(trial: FrozenTrial, theta: list[float]) -> FrozenTrial:
    return dataclasses.replace(trial, user_attrs={KERNEL_ATTR: theta, "note": "kept"})


def test_the_kernel_fit_ignores_stored_kernels_unless_warm_start_is_asked_for():
    history, pending = _history()
    space = SearchSpace(SPACE)
    stored = [-3.0, 0.5, -2.0]  # log inv_sq_ls, log kernel_scale, log noise_var (d = 1)
    marked = [_with_kernel(history[3], stored), *history[:3], *history[4:]]
    running = [_with_kernel(pending[0], stored), *pending[1:]]

    def ask(sampler: MultiFidelityGPSampler, h: list[FrozenTrial], p: list[FrozenTrial]):
        return sampler.ask(space, h, p, np.random.default_rng([3, 13]), "maximize")

    cold = MultiFidelityGPSampler(min_points=6, random_fraction=0.0, seed=3)
    plain = ask(cold, history, pending)
    for h, p in ((marked, pending), (history, running)):  # stored on a finished / running trial
        got = ask(cold, h, p)
        assert got.info["warm_start"] is False and got.params == plain.params
        warm = ask(
            MultiFidelityGPSampler(min_points=6, random_fraction=0.0, warm_start=True, seed=3), h, p
        )
        assert warm.info["warm_start"] is True
    assert MultiFidelityGPSampler().warm_start is False
    assert make_sampler(cold.to_config()).warm_start is False
    assert make_sampler(MultiFidelityGPSampler(warm_start=True).to_config()).warm_start is True


def test_startup_is_a_seeded_design_while_no_budget_has_enough_trials():
    space = SearchSpace(SPACE)
    sampler = MultiFidelityGPSampler(min_points=10, seed=1)
    history = [_trial(n, "PRUNED", {1: 0.1}) for n in range(3)]
    a = sampler.ask(space, history, [], np.random.default_rng(0), "maximize")
    b = sampler.ask(space, history, [], np.random.default_rng(99), "maximize")
    assert a.info["phase"] == "startup" and a.params == b.params


def test_bad_arguments_name_the_field_and_value():
    with pytest.raises(ConfigError, match=r"'min_points'.*Got 1 instead"):
        MultiFidelityGPSampler(min_points=1)
    with pytest.raises(ConfigError, match=r"'impute'.*Got 'linear' instead"):
        MultiFidelityGPSampler(impute="linear")
    with pytest.raises(ConfigError, match=r"'random_fraction'.*Got 1.5 instead"):
        MultiFidelityGPSampler(random_fraction=1.5)
    with pytest.raises(ConfigError, match=r"'warm_start'.*True or False.*Got 'yes' instead"):
        MultiFidelityGPSampler(warm_start="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"'xi'.*Got -1"):
        MultiFidelityGPSampler(xi=-1)


# ------------------------------------------------------------------ studies on real storage
# mf-gp with either pruner it is documented with, Hyperband (brackets) and ASHA (one bracket),
# and the recommended network strategy, the plain GP with ASHA (README, "Searching networks")
def _hyperband() -> Pruner:
    return HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)


def _asha() -> Pruner:
    return SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, max_resource=9)


STRATEGIES: dict[str, Callable[[], tuple[Sampler, Pruner]]] = {
    "mf-gp+hyperband": lambda: (MultiFidelityGPSampler(min_points=4, seed=0), _hyperband()),
    "mf-gp+asha": lambda: (MultiFidelityGPSampler(min_points=4, seed=0), _asha()),
    "gp+asha (recommended)": lambda: (GPSampler(n_startup_trials=4, seed=0), _asha()),
}


def _study(url: str, strategy: str = "mf-gp+hyperband", name: str = "mf") -> hpo.Study:
    sampler, pruner = STRATEGIES[strategy]()
    return hpo.create_study(
        name,
        space=SPACE,
        objective=rising_curve,
        direction="maximize",
        sampler=sampler,
        pruner=pruner,
        seed=0,
        storage=url,
        load_if_exists=True,
    )


def _stopped_at_a_rung(pruner: Pruner, trial: FrozenTrial) -> bool:
    """Whether the trial's last reported step is a rung at which ``pruner`` could stop it."""
    step = max(trial.intermediate)
    if isinstance(pruner, HyperbandPruner):  # a rung of the trial's own bracket
        return step in pruner.rungs(pruner.bracket(trial.number))
    assert isinstance(pruner, SuccessiveHalvingPruner)
    return pruner.is_rung(step)


def _check_bookkeeping(study: hpo.Study, n_trials: int) -> None:
    trials = study.trials
    counts = study.counts()
    assert counts.get("COMPLETE", 0) + counts.get("PRUNED", 0) == n_trials
    assert [t.number for t in trials] == list(range(len(trials)))
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned, f"{study.pruner.name} pruned nothing"
    for t in pruned:  # stored curve, stopped at a rung, value = last reported
        assert t.intermediate and _stopped_at_a_rung(study.pruner, t)
        assert t.value == t.intermediate[max(t.intermediate)]
    for t in trials:
        if t.state == TrialState.COMPLETE:
            assert max(t.intermediate) == 9


@pytest.mark.slow
@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_parallel_workers_share_one_study(sqlite_url, tmp_path, monkeypatch, strategy):
    monkeypatch.setenv(
        "HPO_TEST_RENDEZVOUS", str(tmp_path / "rendezvous")
    )  # both processes get work
    study = _study(sqlite_url, strategy).optimize(24, n_workers=2)
    _check_bookkeeping(study, 24)
    workers = {t.worker_id.rsplit(":", 1)[0] for t in study.trials if t.worker_id}
    assert len(workers) == 2  # two real processes took part
    assert study.best_value > 0.9


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_resume_continues_to_the_total_and_replays_an_uninterrupted_run(tmp_path, strategy):
    whole = _study(f"sqlite:///{tmp_path / 'whole.db'}", strategy).optimize(18)
    url = f"sqlite:///{tmp_path / 'resumed.db'}"
    _study(url, strategy).optimize(9)
    resumed = hpo.load_study("mf", storage=url, objective=rising_curve).optimize(18)
    _check_bookkeeping(resumed, 18)
    assert [t.params for t in resumed.trials] == [t.params for t in whole.trials]
    assert [t.state for t in resumed.trials] == [t.state for t in whole.trials]
    sampler = hpo.load_study("mf", storage=url).sampler
    proposal = sampler.ask(
        resumed.space, list(resumed.trials), [], np.random.default_rng(0), "maximize"
    )
    assert proposal.info["phase"] == sampler.name  # after 18 trials the model, not the design


def test_random_search_with_hyperband_is_plain_hyperband(sqlite_url):
    study = hpo.create_study(
        "hb",
        space=SPACE,
        objective=rising_curve,
        direction="maximize",
        sampler="random",
        pruner={"name": "hyperband", "max_resource": 9},
        seed=1,
        storage=sqlite_url,
    ).optimize(15)
    _check_bookkeeping(study, 15)
