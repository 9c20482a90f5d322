"""The demo study (`make run`): a scikit-learn MLP classifier on the digits dataset.

The recommended network strategy searches layer sizes, activation, L2 penalty, learning
rate and batch size: ASHA keeps only the top third of trials at epochs 1, 3, 9 and 27, and a
Gaussian process that learns from every learning curve (pruned and running trials too,
within its ask budget) proposes the next trial. Every trial trains with per-epoch
validation and early stopping (its best epoch's weights are kept) and reports its
validation accuracy each epoch, the learning curve that
`hpo plot --kind curves` draws.

    hpo run studies/digits_mlp.py --workers 2 --trials 40
    python studies/digits_mlp.py            # the same, without the command line
"""

from __future__ import annotations

import hpo
from hpo.space import Categorical, Float, Int

N_TRIALS = 40
N_WORKERS = 2

SPACE = {
    "hidden_layer_sizes": Categorical([(64,), (128,), (64, 64), (128, 64)]),
    "activation": Categorical(["relu", "tanh", "logistic"]),
    "alpha": Float(1e-6, 1e-1, log=True),
    "learning_rate_init": Float(1e-4, 1e-1, log=True),
    "batch_size": Int(16, 256, log=True),
}


def make_study(storage: str | None = None, sampler=None) -> hpo.Study:
    """Create the study, or resume it if it already exists in ``storage``."""
    return hpo.create_study(
        "digits-mlp",
        space=SPACE,
        model="sklearn-mlp-classifier",
        dataset="digits",
        metric="accuracy",
        # ~1,150 training rows: 40 epochs with patience 6 keeps a trial around a second.
        model_options={"max_epochs": 40, "patience": 6},
        sampler=sampler or hpo.samplers.MultiFidelityGPSampler(seed=0),
        pruner={"name": "asha", "min_resource": 1, "reduction_factor": 3, "max_resource": 40},
        seed=0,
        storage=storage,
        load_if_exists=True,
    )


if __name__ == "__main__":
    study = make_study().optimize(N_TRIALS, n_workers=N_WORKERS)
    print(study.leaderboard(top=10))
