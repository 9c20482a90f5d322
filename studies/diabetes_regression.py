"""Regression: a scikit-learn MLP regressor on diabetes, maximizing R^2 with GP-UCB + ASHA.

Targets are standardized per fold by the model family (scores are in original units).
3-fold cross-validation on the training rows makes each trial's score less noisy on
this small dataset (442 rows); the test R^2 comes from the fold models' ensemble.
The recommended network strategy (``mf-gp`` + ASHA, rungs at epochs 4, 12, 36) with
UCB (``mean + sqrt(beta) * std``) and ``beta=2`` (the default is EI), which explores more.

    hpo run studies/diabetes_regression.py
"""

from __future__ import annotations

import hpo
from hpo.space import Categorical, Float, Int

N_TRIALS = 30
N_WORKERS = 2

SPACE = {
    "hidden_layer_sizes": Categorical([(16,), (32,), (64,), (32, 16)]),
    "activation": Categorical(["relu", "tanh"]),
    "alpha": Float(1e-5, 1.0, log=True),
    "learning_rate_init": Float(1e-4, 3e-2, log=True),
    "batch_size": Int(8, 128, log=True),
}


def make_study(storage: str | None = None, sampler=None) -> hpo.Study:
    """Create the study, or resume it if it already exists in ``storage``."""
    return hpo.create_study(
        "diabetes-regression",
        space=SPACE,
        model="sklearn-mlp-regressor",
        dataset="diabetes",
        metric="r2",
        model_options={"max_epochs": 100, "patience": 10, "cv": 3},
        sampler=sampler or hpo.samplers.MultiFidelityGPSampler(acquisition="ucb", beta=2.0, seed=0),
        pruner={"name": "asha", "min_resource": 4, "reduction_factor": 3, "max_resource": 100},
        seed=0,
        storage=storage,
        load_if_exists=True,
    )


if __name__ == "__main__":
    study = make_study().optimize(N_TRIALS, n_workers=N_WORKERS)
    print(study.leaderboard(top=10))
