"""benchmarks/ttq_strategies.py: hpo strategies ask their samplers as a study's worker does."""

from __future__ import annotations

from benchmarks.ttq_strategies import HpoStrategy
from hpo.pruning import SuccessiveHalvingPruner
from hpo.samplers.base import seed_sequence
from hpo.samplers.random import RandomSampler
from hpo.space import Float, Int, SearchSpace

SPACE = SearchSpace({"lr": Float(1e-4, 1e-1, log=True), "width": Int(16, 256)})


def test_a_history_free_sampler_gets_the_trial_number_so_sobol_points_are_the_studys():
    sampler = RandomSampler(method="sobol", seed=3)
    strategy = HpoStrategy("s", SPACE, sampler, SuccessiveHalvingPruner(), seed=3, max_epochs=9)
    proposed = [strategy.ask()[1] for _ in range(4)]
    # what a worker asks (hpo.samplers.base.ask_by_number), spelled out
    expected = [
        sampler.ask(SPACE, [], [], seed_sequence(3, n), "maximize", number=n) for n in range(4)
    ]
    assert proposed == expected
    uniform = [sampler.ask(SPACE, [], [], seed_sequence(3, n), "maximize") for n in range(4)]
    assert proposed != uniform  # without the number the sampler falls back to uniform draws


def test_hpo_strategies_give_samplers_the_durations_the_harness_reports_and_count_phases():
    from hpo.samplers.multifidelity import MODEL_CPU_ATTR, MultiFidelityGPSampler

    sampler = MultiFidelityGPSampler(min_points=3, random_fraction=0.0, seed=3)
    strategy = HpoStrategy("s", SPACE, sampler, SuccessiveHalvingPruner(), seed=3, max_epochs=9)
    for n in range(5):
        key, _, _ = strategy.ask()
        strategy.report(key, 1, 0.1 * n)
        strategy.trained(key, 2.0 + n)
        strategy.finish(key, "PRUNED", 0.1 * n, 1)
    assert [strategy._frozen(n).duration for n in range(5)] == [2.0, 3.0, 4.0, 5.0, 6.0]
    strategy.ask()
    assert strategy._frozen(5).duration is None  # running
    # 3 trials at epoch 1, then the GP: hundredths of a second against 0.1 x 9-20 s trained
    assert dict(strategy.phases) == {"startup": 3, "mf-gp": 3}
    assert all(MODEL_CPU_ATTR in strategy.trials[n]["user_attrs"] for n in (3, 4, 5))


def test_smac_takes_failed_and_diverged_trainings_and_keeps_asking():
    """A NaN or failed training used to be told as an infinite cost, which the log-scaled
    run-history encoder turned into a NaN target: SMAC's forest raised on the next ask."""
    import math

    import pytest

    pytest.importorskip("smac")
    from benchmarks.ttq_strategies import SmacStrategy

    strategy = SmacStrategy(SPACE, seed=105, max_epochs=9)
    for n in range(40):
        key, params, budget = strategy.ask()
        assert 1 <= budget <= 9 and set(params) == set(SPACE)
        score = -abs(math.log10(params["lr"]) + 2)
        value = math.nan if n % 5 == 1 else None if n % 7 == 3 else score
        strategy.finish(key, "FAILED" if value is None else "COMPLETE", value, budget)
    assert strategy._worst is not None and math.isfinite(strategy._worst)
