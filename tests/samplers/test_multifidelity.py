"""MultiFidelityGPSampler: learning curves of pruned and running trials inform the GP.

Unit tests on hand-made histories, then studies on real SQLite files with real worker
processes (parallel, resume, pruned-trial bookkeeping, determinism), for mf-gp with
Hyperband and ASHA (without the ask budget, so that runs repeat), for the recommended network
strategy, mf-gp with its default ask budget and ASHA, and for the plain GP with ASHA.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pytest

import hpo
from hpo.errors import ConfigError
from hpo.pruning import HyperbandPruner, Pruner, SuccessiveHalvingPruner
from hpo.samplers import make_sampler
from hpo.samplers.base import Sampler
from hpo.samplers.gp.sampler import KERNEL_ATTR, GPSampler
from hpo.samplers.multifidelity import (
    MODEL_CPU_ATTR,
    MultiFidelityGPSampler,
    budget_data,
    model_spend,
)
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
    sampler = MultiFidelityGPSampler(
        min_points=6, random_fraction=0.0, model_cpu_fraction=None, seed=3
    )

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

    cold = MultiFidelityGPSampler(
        min_points=6, random_fraction=0.0, model_cpu_fraction=None, seed=3
    )
    plain = ask(cold, history, pending)
    for h, p in ((marked, pending), (history, running)):  # stored on a finished / running trial
        got = ask(cold, h, p)
        assert got.info["warm_start"] is False and got.params == plain.params
        warm = ask(
            MultiFidelityGPSampler(
                min_points=6,
                random_fraction=0.0,
                warm_start=True,
                model_cpu_fraction=None,
                seed=3,
            ),
            h,
            p,
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


# ------------------------------------------------------------------ the ask budget
T0 = datetime(2026, 1, 1)


def _timed(
    trials: list[FrozenTrial], seconds: float, costs: dict[int, float] | None = None
) -> list[FrozenTrial]:
    """Finished trials took ``seconds`` each; trial n's proposal cost ``costs[n]`` CPU s."""
    out = []
    for t in trials:
        attrs = (
            {**t.user_attrs, MODEL_CPU_ATTR: costs[t.number]}
            if costs and t.number in costs
            else t.user_attrs
        )
        finished = T0 + timedelta(seconds=seconds) if t.state.is_finished else None
        out.append(dataclasses.replace(t, started_at=T0, finished_at=finished, user_attrs=attrs))
    return out


def _ask(sampler: MultiFidelityGPSampler, h: list[FrozenTrial], p: list[FrozenTrial]):
    return sampler.ask(SearchSpace(SPACE), h, p, np.random.default_rng([3, 13]), "maximize")


def test_the_ask_budget_reads_recorded_model_cpu_and_durations_only():
    history, pending = _history()  # 9 finished trials (one FAILED), 4 running
    sampler = MultiFidelityGPSampler(min_points=6, random_fraction=0.0, seed=3)
    assert sampler.model_cpu_fraction == 0.1  # on by default
    h = _timed(history, 2.0, {0: 0.5, 3: 0.4})  # 18 s trained, 0.9 s + pending's spent
    under = _timed(pending, 0.0, {9: 0.2})  # 1.1 s < 1.8 s: the GP
    over = _timed(pending, 0.0, {9: 0.2, 12: 0.8})  # a running trial's proposal counts: 1.9 s
    assert model_spend(h, under) == pytest.approx((1.1, 18.0))
    assert model_spend(h, over) == pytest.approx((1.9, 18.0))
    model = _ask(sampler, h, under)
    assert model.info["phase"] == "mf-gp"
    assert model.info["user_attrs"][MODEL_CPU_ATTR] >= 0  # its own cost, stored with the trial
    assert KERNEL_ATTR in model.info["user_attrs"]
    design = _ask(sampler, h, over)
    assert design.info["phase"] == "design" and MODEL_CPU_ATTR not in design.info.get(
        "user_attrs", {}
    )
    # same history, in any order and for a fresh sampler from the stored config: same answer
    for again in (
        _ask(sampler, list(reversed(h)), over),
        _ask(make_sampler(sampler.to_config()), h, over),  # type: ignore[arg-type]
    ):
        assert again.params == design.params and again.info["phase"] == "design"
    # the design is the start-up's Sobol sequence, continued at the trial count, never a repeat
    tried = {t.params["x"] for t in (*h, *over)}
    assert design.params["x"] not in tried
    startup = MultiFidelityGPSampler(min_points=50, seed=3)  # never leaves its design
    assert _ask(startup, h, over).params == design.params


def test_unfinished_or_untimed_trials_add_no_training_time():
    history, pending = _history()
    spent, trained = model_spend(history, _timed(pending, 5.0, {10: 0.3}))
    assert (spent, trained) == (pytest.approx(0.3), 0.0)  # running: no duration yet
    nothing = MultiFidelityGPSampler(min_points=6, random_fraction=0.0, seed=3)
    assert _ask(nothing, history, pending).info["phase"] == "design"  # 0 < 0.1 * 0 is false
    weird = [dataclasses.replace(history[0], user_attrs={MODEL_CPU_ATTR: "a lot"}), *history[1:]]
    assert model_spend(weird, [])[0] == 0.0  # only numbers count


def test_a_zero_budget_never_fits_the_gp(monkeypatch):
    def no_fit(*args, **kwargs):
        raise AssertionError("the GP was fitted")

    monkeypatch.setattr(GPSampler, "_fit", staticmethod(no_fit))
    monkeypatch.setattr(GPSampler, "ask", no_fit)
    history, pending = _history()
    sampler = MultiFidelityGPSampler(
        min_points=6, random_fraction=0.0, model_cpu_fraction=0, seed=3
    )
    h = _timed(history, 100.0)  # plenty of training, nothing spent: still not below 0 * 900
    seen = {t.params["x"] for t in (*h, *pending)}
    for _ in range(3):
        got = _ask(sampler, h, pending)
        assert got.info["phase"] == "design" and got.params["x"] not in seen
        seen.add(got.params["x"])
        h.append(
            dataclasses.replace(
                h[0], number=len(h) + len(pending), params=got.params, state=TrialState.PRUNED
            )
        )


def test_a_large_budget_proposes_what_the_sampler_without_one_does():
    history, pending = _history()
    h = _timed(history, 1.0, {n: 5.0 for n in range(9)})  # 45 s spent on models, 9 s training
    p = _timed(pending, 0.0)
    off = MultiFidelityGPSampler(min_points=6, model_cpu_fraction=None, seed=3)
    big = MultiFidelityGPSampler(min_points=6, model_cpu_fraction=1e6, seed=3)
    small = MultiFidelityGPSampler(min_points=6, model_cpu_fraction=1.0, seed=3)
    for number in range(4):  # random_fraction 1/3: the rng decides some asks, the same for all
        rng = [3, number]
        a = off.ask(SearchSpace(SPACE), h, p, np.random.default_rng(rng), "maximize")
        b = big.ask(SearchSpace(SPACE), h, p, np.random.default_rng(rng), "maximize")
        c = small.ask(SearchSpace(SPACE), h, p, np.random.default_rng(rng), "maximize")
        assert a.params == b.params and a.info["phase"] == b.info["phase"]
        assert c.info["phase"] == ("random" if a.info["phase"] == "random" else "design")
    assert {"model_cpu_fraction": None}.items() <= off.to_config().items()
    assert make_sampler(big.to_config()).model_cpu_fraction == 1e6  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", [-0.1, float("inf"), float("nan"), "0.1", True])
def test_a_bad_ask_budget_is_refused_by_name(bad):
    with pytest.raises(ConfigError, match=r"'model_cpu_fraction'.*Got"):
        MultiFidelityGPSampler(model_cpu_fraction=bad)


# ------------------------------------------------------------------ studies on real storage
# mf-gp with either pruner it is documented with, Hyperband (brackets) and ASHA (one bracket),
# the recommended network strategy, mf-gp with its ask budget + ASHA (README, "Searching
# networks"), and the plain GP with ASHA (the recommendation before)
def _hyperband() -> Pruner:
    return HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)


def _asha() -> Pruner:
    return SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, max_resource=9)


def _uncapped() -> MultiFidelityGPSampler:
    return MultiFidelityGPSampler(min_points=4, model_cpu_fraction=None, seed=0)


STRATEGIES: dict[str, Callable[[], tuple[Sampler, Pruner]]] = {
    # the ask budget off: its decisions read measured times, so two runs would differ
    "mf-gp+hyperband": lambda: (_uncapped(), _hyperband()),
    "mf-gp+asha": lambda: (_uncapped(), _asha()),
    "gp+asha": lambda: (GPSampler(n_startup_trials=4, seed=0), _asha()),
    # recommended: the default ask budget; no random share here, so each proposal is the GP's
    # or the design's
    "mf-gp+asha (ask budget)": lambda: (
        MultiFidelityGPSampler(min_points=4, random_fraction=0.0, seed=0),
        _asha(),
    ),
}
STRATEGIES["mf-gp+asha (ask budget, random third)"] = lambda: (  # the defaults exactly
    MultiFidelityGPSampler(min_points=4, seed=0),
    _asha(),
)
# the strategies whose seeded runs repeat exactly (the ask budget reads measured times)
REPLAYABLE = [s for s in STRATEGIES if "ask budget" not in s]


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


@pytest.mark.parametrize("strategy", REPLAYABLE)
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


def _check_ask_budget(study: hpo.Study) -> int:
    """Asked again with the stored trials before each one, the sampler makes the same choice
    (the GP or the design) as when the trial was proposed; returns the GP's proposals."""
    sampler = study.sampler
    assert isinstance(sampler, MultiFidelityGPSampler) and sampler.model_cpu_fraction == 0.1
    trials = study.trials
    for n, trial in enumerate(trials):
        again = sampler.ask(study.space, trials[:n], [], np.random.default_rng(n), "maximize")
        assert (again.info["phase"] == "mf-gp") == (MODEL_CPU_ATTR in trial.user_attrs), n
        if MODEL_CPU_ATTR in trial.user_attrs:
            assert trial.user_attrs[MODEL_CPU_ATTR] >= 0 and KERNEL_ATTR in trial.user_attrs
    return sum(MODEL_CPU_ATTR in t.user_attrs for t in trials)


def test_the_ask_budget_survives_a_resume_from_the_file(tmp_path):
    """One worker, so each trial was proposed on exactly the trials before it."""
    url = f"sqlite:///{tmp_path / 'budget.db'}"
    first = _study(url, "mf-gp+asha (ask budget)").optimize(9)
    stored = {t.number: t.user_attrs for t in first.trials}
    resumed = hpo.load_study("mf", storage=url, objective=rising_curve).optimize(18)
    _check_bookkeeping(resumed, 18)
    assert {t.number: t.user_attrs for t in resumed.trials[:9]} == stored
    # the first ask past the start-up design has spent nothing yet, so the GP makes it
    assert _check_ask_budget(hpo.load_study("mf", storage=url)) >= 1


# ------------------------------------------------------------------ against plain references
def _reference_imputed(history, pending, min_points):
    """budget_data's carried values, with every median shift computed afresh per trial."""
    data = budget_data(history, pending, min_points=min_points)
    if data.budget is None:
        return {}
    at = {t.number: t.value for t in data.observed}
    curves = {t.number: dict(t.intermediate) for t in (*history, *pending)}
    out = {}
    for t in (*history, *pending):
        below = [s for s in t.intermediate if s < data.budget] if t.number not in at else []
        if t.state != TrialState.FAILED and below:
            s = max(below)
            shifts = [at[n] - c[s] for n, c in curves.items() if n in at and s in c]
            if len(shifts) >= 3:
                out[t.number] = t.intermediate[s] + float(np.median(shifts))
    return out


def _reference_design(sampler, space, number, trials):
    """The start-up point as first written: all 64 Sobol points decoded, first untried taken."""
    from scipy.stats import qmc

    engine = qmc.Sobol(len(space), scramble=True, seed=sampler.seed)
    if number:
        engine.fast_forward(number)
    points = [space.decode(u) for u in engine.random(64)]
    taken = {repr(sorted(t.params.items())) for t in trials}
    return next((p for p in points if repr(sorted(p.items())) not in taken), points[0])


def test_carried_values_and_design_points_equal_the_plain_computations():
    rng = np.random.default_rng(5)
    space = SearchSpace(SPACE)
    sampler = MultiFidelityGPSampler(min_points=4, seed=2)
    for _ in range(20):
        trials = []
        for n in range(int(rng.integers(6, 30))):
            last = int(rng.choice([1, 1, 3, 9]))
            curve = {s: float(rng.random()) for s in (1, 3, 9) if s <= last}
            trials.append(_trial(n, str(rng.choice(["PRUNED", "COMPLETE", "FAILED"])), curve))
        data = budget_data(trials, [], min_points=4)
        assert {t.number: t.value for t in data.imputed} == pytest.approx(
            _reference_imputed(trials, [], 4)
        )
        number = len(trials)
        # every point of the design taken so far, and one of the next ones too
        tried = [
            _trial(n, "PRUNED", {}, x=p["x"])
            for n, p in enumerate(
                [_reference_design(sampler, space, k, []) for k in range(number + 2)]
            )
        ]
        for pool in (trials, tried):
            got = sampler._startup(space, number, pool, np.random.default_rng(0)).params
            assert got == _reference_design(sampler, space, number, pool)
