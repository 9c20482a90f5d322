"""The classic: a small PyTorch fully-connected network learning XOR.

The dataset is the four XOR points repeated 50 times with a little noise. Tiny
networks (2 to 8 units) with the wrong activation or learning rate get stuck at 50-75%
accuracy; the search finds the ones that reach 100%. Needs the ``torch`` extra.

    hpo run studies/xor_fcnn.py
"""

from __future__ import annotations

import hpo
from hpo.space import Categorical, Float, Int

N_TRIALS = 24
N_WORKERS = 2

SPACE = {
    "hidden_layer_sizes": Categorical([(2,), (4,), (8,), (4, 4)]),
    "activation": Categorical(["relu", "tanh", "sigmoid"]),
    "optimizer": Categorical(["sgd", "adam"]),
    "lr": Float(1e-3, 1.0, log=True),
    "batch_size": Int(4, 64, log=True),
}


def make_study(storage: str | None = None, sampler=None) -> hpo.Study:
    """Create the study, or resume it if it already exists in ``storage``."""
    return hpo.create_study(
        "xor-fcnn",
        space=SPACE,
        model="torch-mlp-classifier",
        dataset={"name": "xor", "n_repeats": 50, "noise": 0.1},
        metric="accuracy",
        model_options={"max_epochs": 100, "patience": 15, "device": "cpu"},
        sampler=sampler or hpo.samplers.RandomSampler(method="lhs", seed=0),
        seed=0,
        storage=storage,
        load_if_exists=True,
    )


if __name__ == "__main__":
    study = make_study().optimize(N_TRIALS, n_workers=N_WORKERS)
    print(study.leaderboard(top=10))
