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
