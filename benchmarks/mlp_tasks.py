"""Real tuning tasks: a scikit-learn MLP's cross-validated error on small datasets.

``mlp-digits``, ``mlp-breast_cancer``, ``mlp-wine`` (classification, objective 1 - CV
accuracy) and ``mlp-diabetes`` (regression, objective 1 - CV R², clipped to [0, 1]: worse
than predicting the mean counts as the mean). All four share one continuous 4-D box that
every peer handles:

* ``x0`` = log10 alpha (L2 penalty) in [-6, -1]
* ``x1`` = log10 learning_rate_init (Adam) in [-4, -1]
* ``x2`` = log2 hidden units (one layer) in [3, 7], rounded to an integer (8-128 units)
* ``x3`` = log2 batch size in [5, 8], rounded to an integer (32-256; 16 made one digits
  evaluation take up to 2.3 s)

``mlp12-<dataset>`` is the same task over a 12-parameter box (``MLP12_BOUNDS``, see
:func:`decode12`): depth, two widths, activation, batch size, L2, Adam's learning rate,
beta_1, beta_2 and epsilon, the epoch budget, and the learning-rate schedule's power.
Integers and the categorical activation are decoded inside the objective (rounded or
floored), so every peer sees a plain float box.

Each evaluation is deterministic: inputs standardized inside a Pipeline (the diabetes
target too), ``random_state=0`` for the network, a fixed stratified/shuffled 3-fold split
(digits: on a fixed stratified subset of 900 of its 1,797 images),
``max_iter`` 40 epochs without early stopping, ConvergenceWarnings silenced, one BLAS
thread. Evaluations are cached per process on the parameters after rounding the integers
(and the floats to 1e-9). The optimum is unknown: ``f_opt`` is NaN and the suite measures
regret against the best value any run found on the problem.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from typing import cast

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

__all__ = [
    "MLP_BOUNDS",
    "MLP12_BOUNDS",
    "MLP_DATASETS",
    "decode",
    "decode12",
    "mlp_objective",
    "mlp12_objective",
]

MLP_DATASETS = ("digits", "breast_cancer", "wine", "diabetes")
MLP_BOUNDS = np.array([[-6.0, -1.0], [-4.0, -1.0], [3.0, 7.0], [5.0, 8.0]])
MAX_ITER = 40
FOLDS = 3
DIGITS_SUBSAMPLE = 900


def decode(x: NDArray[np.float64]) -> dict[str, float | int]:
    """MLP hyperparameters for a point of ``MLP_BOUNDS`` (clipped into the box)."""
    x = np.clip(np.asarray(x, dtype=float), MLP_BOUNDS[:, 0], MLP_BOUNDS[:, 1])
    return {
        "alpha": 10 ** float(x[0]),
        "learning_rate_init": 10 ** float(x[1]),
        "hidden": 2 ** round(float(x[2])),
        "batch_size": 2 ** round(float(x[3])),
    }


MLP12_BOUNDS = np.array(
    [
        [-6.0, -1.0],  # x0  log10 alpha
        [-4.0, -1.0],  # x1  log10 learning_rate_init
        [3.0, 7.0],  # x2  log2 units, layer 1
        [3.0, 7.0],  # x3  log2 units, layers 2+
        [0.5, 3.49],  # x4  hidden layers, rounded: 1..3
        [5.0, 8.0],  # x5  log2 batch size
        [0.0, 2.999],  # x6  activation, floored: relu, tanh, logistic
        [-2.0, -0.5],  # x7  log10 (1 - beta_1)
        [-4.0, -1.0],  # x8  log10 (1 - beta_2)
        [-9.0, -6.0],  # x9  log10 epsilon
        [10.0, 60.0],  # x10 epochs, rounded
        [-1.0, 1.0],  # x11 learning rate multiplier per 10 epochs, log2 (a step schedule by hand)
    ]
)
_ACTIVATIONS = ("relu", "tanh", "logistic")


def decode12(x: NDArray[np.float64]) -> dict[str, object]:
    """MLP hyperparameters for a point of ``MLP12_BOUNDS`` (clipped into the box)."""
    x = np.clip(np.asarray(x, dtype=float), MLP12_BOUNDS[:, 0], MLP12_BOUNDS[:, 1])
    layers = round(float(x[4]))
    return {
        "alpha": 10 ** float(x[0]),
        "learning_rate_init": 10 ** float(x[1]),
        "hidden_layer_sizes": (2 ** round(float(x[2])),)
        + (2 ** round(float(x[3])),) * (layers - 1),
        "batch_size": 2 ** round(float(x[5])),
        "activation": _ACTIVATIONS[int(x[6])],
        "beta_1": 1 - 10 ** float(x[7]),
        "beta_2": 1 - 10 ** float(x[8]),
        "epsilon": 10 ** float(x[9]),
        "epochs": round(float(x[10])),
        "lr_decay_log2": float(x[11]),
    }


@functools.cache
def _data(name: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    from sklearn import datasets

    loader = {
        "digits": datasets.load_digits,
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "diabetes": datasets.load_diabetes,
    }[name]
    X, y = loader(return_X_y=True)
    if name == "digits":  # a fixed, stratified 900-sample subset halves the cost of each fit
        from sklearn.model_selection import train_test_split

        X, _, y, _ = train_test_split(X, y, train_size=DIGITS_SUBSAMPLE, stratify=y, random_state=0)
    return X.astype(float), y


@functools.lru_cache(maxsize=100_000)
def _cv_error(name: str, alpha_log: float, lr_log: float, hidden: int, batch: int) -> float:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _data(name)
    kw = {
        "hidden_layer_sizes": (hidden,),
        "alpha": 10**alpha_log,
        "learning_rate_init": 10**lr_log,
        "batch_size": batch,
        "max_iter": MAX_ITER,
        "random_state": 0,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow when a large step diverges
        warnings.simplefilter("ignore", UserWarning)  # batch_size above a small fold: clipped
        if name == "diabetes":
            model = TransformedTargetRegressor(
                make_pipeline(StandardScaler(), MLPRegressor(**kw)), transformer=StandardScaler()
            )
            cv = KFold(FOLDS, shuffle=True, random_state=0)
            score = float(np.mean(cross_val_score(model, X, y, cv=cv, scoring="r2")))
        else:
            model = make_pipeline(StandardScaler(), MLPClassifier(**kw))
            cv = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
            score = float(np.mean(cross_val_score(model, X, y, cv=cv, scoring="accuracy")))
    err = 1.0 - score
    return min(max(err, 0.0), 1.0) if math.isfinite(err) else 1.0


@functools.lru_cache(maxsize=100_000)
def _cv_error12(name: str, key: tuple[float, ...]) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import StandardScaler

    p = decode12(np.array(key))
    X, y = _data(name)
    regression = name == "diabetes"
    kw = {
        k: p[k]
        for k in (
            "alpha",
            "learning_rate_init",
            "hidden_layer_sizes",
            "batch_size",
            "activation",
            "beta_1",
            "beta_2",
            "epsilon",
        )
    }
    cv = (
        KFold(FOLDS, shuffle=True, random_state=0)
        if regression
        else StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    )
    epochs = int(cast(float, p["epochs"]))
    decay = 2.0 ** float(cast(float, p["lr_decay_log2"]))  # step-size factor every 10 epochs
    scores = []
    with warnings.catch_warnings():
        for w in (ConvergenceWarning, RuntimeWarning, UserWarning):
            warnings.simplefilter("ignore", w)
        for train, test in cv.split(X, y):
            sx = StandardScaler().fit(X[train])
            Xtr, Xte = sx.transform(X[train]), sx.transform(X[test])
            ytr, yte = y[train], y[test]
            if regression:
                sy = StandardScaler().fit(ytr[:, None])
                ytr, yte = sy.transform(ytr[:, None]).ravel(), sy.transform(yte[:, None]).ravel()
            model = (MLPRegressor if regression else MLPClassifier)(random_state=0, **kw)  # type: ignore[arg-type]
            classes = np.unique(y) if not regression else None
            for epoch in range(epochs):
                # the schedule: multiply the step size by 2**lr_decay_log2 every 10 epochs
                if epoch and epoch % 10 == 0 and hasattr(model, "_optimizer"):
                    model._optimizer.learning_rate_init *= decay
                if regression:
                    model.partial_fit(Xtr, ytr)
                else:
                    model.partial_fit(Xtr, ytr, classes=classes)
            scores.append(model.score(Xte, yte))
    err = 1.0 - float(np.mean(scores))
    return min(max(err, 0.0), 1.0) if math.isfinite(err) else 1.0


def mlp12_objective(name: str):  # noqa: ANN201 - a Problem's f
    """``f(x) -> 1 - CV score`` of an MLP on dataset ``name`` over the 12-parameter box."""
    if name not in MLP_DATASETS:
        raise KeyError(f"Unknown dataset {name!r}; use one of {MLP_DATASETS}.")

    def f(x: NDArray[np.float64]) -> float:
        x = np.clip(np.asarray(x, dtype=float), MLP12_BOUNDS[:, 0], MLP12_BOUNDS[:, 1])
        return _cv_error12(name, tuple(round(float(v), 9) for v in x))

    f.__name__ = f"mlp12_{name}"
    return f


def mlp_objective(name: str):  # noqa: ANN201 - a Problem's f
    """``f(x) -> 1 - CV score`` of an MLP on dataset ``name`` at the point ``x`` (4-D)."""
    if name not in MLP_DATASETS:
        raise KeyError(f"Unknown dataset {name!r}; use one of {MLP_DATASETS}.")

    def f(x: NDArray[np.float64]) -> float:
        x = np.clip(np.asarray(x, dtype=float), MLP_BOUNDS[:, 0], MLP_BOUNDS[:, 1])
        return _cv_error(
            name,
            round(float(x[0]), 9),
            round(float(x[1]), 9),
            2 ** round(float(x[2])),
            2 ** round(float(x[3])),
        )

    f.__name__ = f"mlp_{name}"
    return f
