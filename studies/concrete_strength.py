"""Concrete compressive strength (Yeh 1998): both model families in one study, R² and RMSE.

The course's regression example: 1,030 mixtures, 8 inputs (cement, slag, fly ash,
water, superplasticizer, coarse and fine aggregate in kg/m³, age in days) -> strength
in MPa, shipped with hpo (``dataset="concrete"``, see models/data/README.md). The space's
``family`` parameter picks the scikit-learn MLP or the PyTorch FCNN, each with its own
conditional parameters, so one leaderboard ranks both. The score is validation R²
(maximized); every trial also reports ``test_r2`` on 20% held-out mixtures, and
``rmse`` / ``test_rmse`` in MPa. Targets are standardized per fold by both families.

    hpo run studies/concrete_strength.py

``make_study(max_epochs=...)`` shortens every trial (the test suite uses 3).
"""

from __future__ import annotations

import hpo
from hpo.models.family_choice import FamilyChoice
from hpo.space import Categorical, Float, Int

N_TRIALS = 30
N_WORKERS = 2
SK, TORCH = ("family", "==", "sklearn"), ("family", "==", "torch")

SPACE = {
    "family": Categorical(["sklearn", "torch"]),
    "hidden_layer_sizes": Categorical([(32,), (64,), (128,), (64, 32), (128, 64)]),
    "activation": Categorical(["relu", "tanh"]),
    "batch_size": Int(8, 128, log=True),
    "learning_rate_init": Float(1e-4, 3e-2, log=True, when=SK),
    "alpha": Float(1e-6, 1e-1, log=True, when=SK),
    "lr": Float(1e-4, 3e-2, log=True, when=TORCH),
    "weight_decay": Float(1e-6, 1e-2, log=True, when=TORCH),
    "loss": Categorical(["mse", "huber"], when=TORCH),
}


def make_study(storage: str | None = None, sampler=None, max_epochs: int = 300) -> hpo.Study:
    """Create the study, or resume it if it already exists in ``storage``."""
    from hpo.models.sklearn_mlp import SklearnMLPRegressorTrainer
    from hpo.models.torch_trainer import TorchMLPRegressorTrainer

    options = {"metric": "r2", "max_epochs": max_epochs, "patience": 20}
    families = FamilyChoice(
        {
            "sklearn": SklearnMLPRegressorTrainer(**options),
            "torch": TorchMLPRegressorTrainer(**options, device="cpu"),
        },
        "concrete",
    )
    return hpo.create_study(
        "concrete-strength",
        space=SPACE,
        objective=families,
        direction="maximize",
        # the recommended network strategy (README, "Searching networks")
        sampler=sampler or hpo.samplers.MultiFidelityGPSampler(seed=0),
        pruner={
            "name": "asha",
            "min_resource": min(10, max_epochs),
            "reduction_factor": 3,
            "max_resource": max_epochs,
        },
        seed=0,
        storage=storage,
        load_if_exists=True,
    )


if __name__ == "__main__":
    study = make_study().optimize(N_TRIALS, n_workers=N_WORKERS)
    print(study.leaderboard(top=10))
