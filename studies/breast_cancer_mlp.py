"""A scikit-learn MLP on breast_cancer (binary), scored by ROC AUC, over a conditional space.

The number of layers is searched, and each layer's width exists only when the layer
does (``when=``): ``units_2`` is active for ``n_layers >= 2``, ``units_3`` for 3.
The recommended network strategy searches it: ASHA (rungs at epochs 2, 6, 18, 54) stops
trials whose validation AUC trails the top third at a rung, and the ``mf-gp`` sampler's
Gaussian process learns from every learning curve, pruned and running trials too.

    hpo run studies/breast_cancer_mlp.py
"""

from __future__ import annotations

import hpo
from hpo.space import Categorical, Float, Int

N_TRIALS = 30
N_WORKERS = 2

SPACE = {
    "n_layers": Int(1, 3),
    "units_1": Int(8, 128, log=True),
    "units_2": Int(8, 128, log=True, when=("n_layers", ">=", 2)),
    "units_3": Int(8, 128, log=True, when=("n_layers", ">=", 3)),
    "activation": Categorical(["relu", "tanh"]),
    "alpha": Float(1e-6, 1e-1, log=True),
    "learning_rate_init": Float(1e-4, 3e-2, log=True),
}


def make_study(storage: str | None = None, sampler=None) -> hpo.Study:
    """Create the study, or resume it if it already exists in ``storage``."""
    return hpo.create_study(
        "breast-cancer-mlp",
        space=SPACE,
        model="sklearn-mlp-classifier",
        dataset="breast_cancer",
        metric="roc_auc",
        model_options={"max_epochs": 60, "patience": 8, "batch_size": 32},
        sampler=sampler or hpo.samplers.MultiFidelityGPSampler(seed=0),
        pruner={"name": "asha", "min_resource": 2, "reduction_factor": 3, "max_resource": 60},
        seed=0,
        storage=storage,
        load_if_exists=True,
    )


if __name__ == "__main__":
    study = make_study().optimize(N_TRIALS, n_workers=N_WORKERS)
    print(study.leaderboard(top=10))
