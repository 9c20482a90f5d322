"""MNIST-format images: a PyTorch FCNN on Fashion-MNIST (or MNIST), mf-gp search with ASHA.

70,000 28x28 grey images in 10 classes, read from IDX files (see hpo.models.idx): the
official split is kept, so every trial is tested on the same 10,000 t10k images;
10,000 of the 60,000 training images are the validation set the search optimizes.
Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` (``make install`` puts it
in /usr/share/datasets/fashion-mnist); for MNIST put its four IDX files in
``$HPO_DATA/mnist`` and set ``HPO_IMAGE_SET=mnist``. Each layer's width is
conditional on the depth; ASHA compares trials at epochs 2, 6 and 18 and keeps the top
third at each rung, so poor configurations stop after a couple of epochs; the ``mf-gp``
sampler learns from every curve, pruned and running ones included.
Needs the ``torch`` extra.

    hpo run studies/fashion_mnist_fcnn.py

``make_study(n_train=..., max_epochs=...)`` makes a quick version (the test suite uses
a 1,000-image subsample and 2 epochs).
"""

from __future__ import annotations

import os

import hpo
from hpo.space import Categorical, Float, Int

N_TRIALS = 20
N_WORKERS = 2

SPACE = {
    "n_layers": Int(1, 2),
    "units_1": Int(128, 1024, log=True),
    "units_2": Int(64, 512, log=True, when=("n_layers", ">=", 2)),
    "activation": Categorical(["relu", "gelu"]),
    "dropout": Float(0.0, 0.5),
    "lr": Float(1e-4, 3e-3, log=True),
    "weight_decay": Float(1e-7, 1e-3, log=True),
    "batch_size": Categorical([64, 128, 256]),
}


def make_study(
    storage: str | None = None,
    sampler=None,
    dataset: str | None = None,
    n_train: int | None = None,
    max_epochs: int = 30,
) -> hpo.Study:
    """Create the study, or resume it if it already exists in ``storage``.

    Args:
        dataset: ``"fashion_mnist"`` (default) or ``"mnist"``; ``$HPO_IMAGE_SET`` sets it too.
        n_train: a stratified subsample of the training images (None: all 60,000).
        max_epochs: most epochs per trial.
    """
    name = dataset or os.environ.get("HPO_IMAGE_SET", "fashion_mnist")
    spec: dict = {"name": name} if n_train is None else {"name": name, "n_train": n_train}
    return hpo.create_study(
        f"{name.replace('_', '-')}-fcnn",
        space=SPACE,
        model="torch-mlp-classifier",
        dataset=spec,
        metric="accuracy",
        model_options={
            "max_epochs": max_epochs,
            "patience": 4,
            "validation_fraction": 1 / 6,
            "optimizer": "adamw",
        },
        # the recommended network strategy (README, "Searching networks")
        sampler=sampler or hpo.samplers.MultiFidelityGPSampler(seed=0),
        pruner={
            "name": "asha",
            "min_resource": min(2, max_epochs),
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
