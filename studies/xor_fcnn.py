"""The classic: a small fully-connected network learning XOR, in both model families.

The dataset is the four XOR points repeated 50 times with a little noise. Tiny
networks (2 to 8 units) with the wrong activation or learning rate get stuck at 50-75%
accuracy; the search finds the ones that reach 100%. The space's ``family`` parameter
picks the scikit-learn MLP or the PyTorch FCNN (each with its own optimizer
parameters), so one leaderboard compares both. Needs the ``torch`` extra.

    hpo run studies/xor_fcnn.py

``make_study(max_epochs=...)`` shortens every trial (the test suite uses 3).
"""

from __future__ import annotations

import hpo
from hpo.models.family_choice import FamilyChoice
from hpo.space import Categorical, Float, Int

N_TRIALS = 24
N_WORKERS = 2
SK, TORCH = ("family", "==", "sklearn"), ("family", "==", "torch")
DATASET = {"name": "xor", "n_repeats": 50, "noise": 0.1}

SPACE = {
    "family": Categorical(["sklearn", "torch"]),
    "hidden_layer_sizes": Categorical([(2,), (4,), (8,), (4, 4)]),
    "activation": Categorical(["relu", "tanh"]),
    "batch_size": Int(4, 64, log=True),
    "solver": Categorical(["sgd", "adam"], when=SK),
    "learning_rate_init": Float(1e-3, 1.0, log=True, when=SK),
    "optimizer": Categorical(["sgd", "adam"], when=TORCH),
    "lr": Float(1e-3, 1.0, log=True, when=TORCH),
}


def make_study(storage: str | None = None, sampler=None, max_epochs: int = 100) -> hpo.Study:
    """Create the study, or resume it if it already exists in ``storage``."""
    from hpo.models.sklearn_mlp import SklearnMLPClassifierTrainer
    from hpo.models.torch_trainer import TorchMLPClassifierTrainer

    options = {"metric": "accuracy", "max_epochs": max_epochs, "patience": 15}
    families = FamilyChoice(
        {
            "sklearn": SklearnMLPClassifierTrainer(**options),
            "torch": TorchMLPClassifierTrainer(**options, device="cpu"),
        },
        DATASET,
    )
    return hpo.create_study(
        "xor-fcnn",
        space=SPACE,
        objective=families,
        direction="maximize",
        sampler=sampler or hpo.samplers.RandomSampler(method="lhs", seed=0),
        seed=0,
        storage=storage,
        load_if_exists=True,
    )


if __name__ == "__main__":
    study = make_study().optimize(N_TRIALS, n_workers=N_WORKERS)
    print(study.leaderboard(top=10))
