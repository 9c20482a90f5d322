"""A PyTorch MLP on digits: depth, widths, dropout and optimizer, with the recommended
network strategy (learning-curve-aware GP + ASHA).

Each layer's width is conditional on the depth (``when=``). ASHA (asynchronous successive
halving, rungs at epochs 2, 6, 18) keeps the top third of the trials at each rung, so poor
configurations stop after a few epochs; the ``mf-gp`` sampler learns from every curve,
pruned and running ones included. Trained
weights of the 5 best trials are kept under studies/artifacts/digits-torch/trial-N/
(``model.pt`` + ``model.json``; reload them with ``hpo.models.torch_fcnn.load_model``).
Needs the ``torch`` extra.

    hpo run studies/digits_torch.py
"""

from __future__ import annotations

import hpo
from hpo.space import Categorical, Float, Int

N_TRIALS = 30
N_WORKERS = 2

SPACE = {
    "n_layers": Int(1, 3),
    "units_1": Int(32, 256, log=True),
    "units_2": Int(32, 256, log=True, when=("n_layers", ">=", 2)),
    "units_3": Int(32, 256, log=True, when=("n_layers", ">=", 3)),
    "activation": Categorical(["relu", "gelu", "tanh"]),
    "dropout": Float(0.0, 0.5),
    "optimizer": Categorical(["adam", "adamw", "sgd"]),
    "lr": Float(1e-4, 1e-1, log=True),
    "weight_decay": Float(1e-6, 1e-2, log=True),
    "batch_size": Categorical([32, 64, 128]),
}


def make_study(storage: str | None = None, sampler=None) -> hpo.Study:
    """Create the study, or resume it if it already exists in ``storage``."""
    return hpo.create_study(
        "digits-torch",
        space=SPACE,
        model="torch-mlp-classifier",
        dataset="digits",
        metric="accuracy",
        model_options={"max_epochs": 30, "patience": 5},
        sampler=sampler or hpo.samplers.MultiFidelityGPSampler(seed=0),
        pruner={"name": "asha", "min_resource": 2, "reduction_factor": 3, "max_resource": 30},
        seed=0,
        storage=storage,
        load_if_exists=True,
    )


if __name__ == "__main__":
    study = make_study().optimize(N_TRIALS, n_workers=N_WORKERS)
    print(study.leaderboard(top=10))
