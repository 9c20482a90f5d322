"""Train/validation/test splits with standardization fitted on training data only.

Shared by every model family so that all of them, and all trials of a study, are
scored on the same held-out rows. The flow is::

    Dataset (n, d) ──stratified split (seed)──▶ train part ──▶ holdout validation or k folds
                                              └▶ test part (never seen while tuning)

Each :class:`Fold` holds arrays already standardized by a ``StandardScaler`` fitted on
that fold's training rows only, so no statistic of validation or test rows leaks
into training. Regression targets can be standardized the same way
(``standardize_target=True``): the fold then stores the training mean and scale,
and :meth:`Fold.unscale_y` maps predictions back to original units for metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

from hpo.errors import ConfigError
from hpo.models.datasets import Dataset


@dataclass
class Fold:
    """One training/validation pair, standardized on its training rows.

    Attributes:
        X_train: (n_train, d) standardized features.
        y_train: (n_train,) class indices, or (standardized) regression targets.
        X_val: (n_val, d) features standardized with the training statistics.
        y_val: (n_val,) targets, scaled like ``y_train``.
        scaler: the ``StandardScaler`` fitted on the raw training rows; use
            :meth:`transform` for new raw rows.
        y_mean: training target mean subtracted from regression targets (0 if not scaled).
        y_scale: training target std dividing regression targets (1 if not scaled).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    scaler: StandardScaler = field(repr=False)
    y_mean: float = 0.0
    y_scale: float = 1.0

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardize raw (m, d) rows with this fold's training statistics."""
        return self.scaler.transform(np.asarray(X, dtype=np.float64))

    def unscale_y(self, y: np.ndarray) -> np.ndarray:
        """Map (m,) targets or predictions in fold units back to original units."""
        return np.asarray(y, dtype=np.float64) * self.y_scale + self.y_mean


@dataclass
class Splits:
    """Everything a trainer needs: tuning folds and the final train/test pair.

    Attributes:
        folds: one Fold (holdout validation) or ``cv`` folds, all inside the training part.
        final: the whole training part vs. the test part, standardized on the training part.
        X_test: (n_test, d) raw test features (for scoring fold models via ``Fold.transform``).
        y_test: (n_test,) raw test targets (class indices or original-unit regression values).
        train_idx: (n_train,) row indices of the training part in the dataset.
        test_idx: (n_test,) row indices of the test part in the dataset.
        task: the dataset's task.
        n_classes: number of classes (0 for regression).
    """

    folds: list[Fold]
    final: Fold
    X_test: np.ndarray
    y_test: np.ndarray
    train_idx: np.ndarray
    test_idx: np.ndarray
    task: str
    n_classes: int


def make_folds(
    data: Dataset,
    *,
    test_size: float = 0.2,
    validation_fraction: float = 0.2,
    cv: int | None = None,
    seed: int = 0,
    standardize_target: bool = False,
) -> Splits:
    """Split ``data`` into a test part and tuning folds on the rest, standardized per fold.

    Splits are stratified by class for classification and reproducible from ``seed``;
    use the same seed for every trial of a study so trials are compared on the same rows.
    A dataset with its own test split (``data.n_test > 0``: MNIST's t10k images) is
    tested on exactly those rows, and ``test_size`` is not used: scores stay comparable
    with everyone else's on that set.

    Args:
        data: the dataset, (n, d) features.
        test_size: fraction of rows held out for the final test score, in [0, 1);
            0 means no test part (``X_test`` has 0 rows). Ignored when the dataset has
            its own test split.
        validation_fraction: fraction of the training part used for validation when
            ``cv`` is None, in [0, 1); 0 validates on the training rows themselves (only
            sensible for toy problems such as the 4-point XOR table).
        cv: number of (stratified) K-fold folds on the training part, an int >= 2, or
            None for a single holdout validation split.
        seed: seeds the shuffling of every split.
        standardize_target: for regression, also standardize ``y`` on each fold's
            training rows (see :meth:`Fold.unscale_y`); ignored for classification.

    Returns:
        The splits; ``len(splits.folds)`` is ``cv`` or 1.

    Raises:
        ConfigError: a fraction out of range, a bad ``cv``, or too few rows per class.
    """
    _check_fraction("test_size", test_size)
    _check_fraction("validation_fraction", validation_fraction)
    if cv is not None and (isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2):
        raise ConfigError(
            f"The 'cv' parameter of make_folds must be an int >= 2 or None. Got {cv!r} instead."
        )
    classify = data.task != "regression"
    scale_y = standardize_target and not classify
    idx = np.arange(data.n_samples)
    if data.n_test > 0:  # the dataset's official split: its last n_test rows
        train_idx, test_idx = idx[: -data.n_test], idx[-data.n_test :]
    elif test_size > 0:
        train_idx, test_idx = _split(idx, data.y, test_size, seed, classify, "test_size")
    else:
        train_idx, test_idx = idx, idx[:0]
    X_tr, y_tr = data.X[train_idx], data.y[train_idx]
    folds: list[Fold] = []
    if cv is not None:
        splitter = (
            StratifiedKFold(cv, shuffle=True, random_state=seed)
            if classify
            else KFold(cv, shuffle=True, random_state=seed)
        )
        try:
            pairs = list(splitter.split(X_tr, y_tr))
        except ValueError as e:
            raise ConfigError(
                f"Cannot make {cv} CV folds of dataset {data.name!r} ({len(train_idx)} training "
                f"rows): {_sentence(e)} Use a smaller cv."
            ) from e
        if classify and min(np.bincount(y_tr, minlength=data.n_classes)) < cv:
            raise ConfigError(
                f"Dataset {data.name!r} has a class with fewer than cv={cv} training rows; "
                f"every fold needs each class. Use a smaller cv or more data."
            )
        for tr, va in pairs:
            folds.append(_fold(X_tr[tr], y_tr[tr], X_tr[va], y_tr[va], scale_y))
    elif validation_fraction > 0:
        local = np.arange(len(train_idx))
        tr, va = _split(local, y_tr, validation_fraction, seed, classify, "validation_fraction")
        folds.append(_fold(X_tr[tr], y_tr[tr], X_tr[va], y_tr[va], scale_y))
    else:
        folds.append(_fold(X_tr, y_tr, X_tr, y_tr, scale_y))
    X_te, y_te = data.X[test_idx], data.y[test_idx]
    final = _fold(X_tr, y_tr, X_te, y_te, scale_y)
    return Splits(folds, final, X_te, y_te, train_idx, test_idx, data.task, data.n_classes)


_last_splits: tuple[tuple[Any, ...], Splits] | None = None


def shared_folds(
    data: Dataset,
    *,
    test_size: float = 0.2,
    validation_fraction: float = 0.2,
    cv: int | None = None,
    seed: int = 0,
    standardize_target: bool = False,
) -> Splits:
    """:func:`make_folds`, computed once per process for the same dataset and options.

    Every trial of a study splits the same dataset with the same seed, so every trial's
    splits are the same; a worker recomputed them per trial (two stratified splits and two
    standardizations: about 7 ms of CPU per trial on the digits demo, whose pruned trials
    train for 50-300 ms). The last result is kept, keyed by the identity of the dataset's
    arrays (the key holds them, so an identity is never reused while kept), its task and
    classes, and the options; one entry is enough, as a worker trains one study's dataset.
    Trainers only read the folds (none writes into a fold's arrays; ``_train`` builds new
    members from them each trial). Bad options raise exactly as :func:`make_folds` does,
    and nothing is kept for them.
    """
    global _last_splits
    key: tuple[Any, ...] = (
        data.X,
        data.y,
        data.task,
        data.n_classes,
        data.n_test,
        test_size,
        validation_fraction,
        cv,
        seed,
        standardize_target,
    )
    last = _last_splits
    if last is not None and _same_key(last[0], key):
        return last[1]
    splits = make_folds(
        data,
        test_size=test_size,
        validation_fraction=validation_fraction,
        cv=cv,
        seed=seed,
        standardize_target=standardize_target,
    )
    _last_splits = (key, splits)
    return splits


def _same_key(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Arrays compared by identity, options by type and value (``True`` is not ``1``)."""
    return (
        a[0] is b[0]
        and a[1] is b[1]
        and all(type(x) is type(y) and x == y for x, y in zip(a[2:], b[2:], strict=True))
    )


def _fold(
    X_tr: np.ndarray, y_tr: np.ndarray, X_va: np.ndarray, y_va: np.ndarray, scale_y: bool
) -> Fold:
    scaler = StandardScaler().fit(X_tr)
    X_va_std = scaler.transform(X_va) if len(X_va) else X_va.copy()
    y_mean, y_scale = 0.0, 1.0
    if scale_y:
        y_mean = float(np.mean(y_tr))
        y_scale = float(np.std(y_tr)) or 1.0
        y_tr = (y_tr - y_mean) / y_scale
        y_va = (y_va - y_mean) / y_scale
    return Fold(scaler.transform(X_tr), y_tr, X_va_std, y_va, scaler, y_mean, y_scale)


def _split(
    idx: np.ndarray, y: np.ndarray, size: float, seed: int, stratify: bool, what: str
) -> tuple[np.ndarray, np.ndarray]:
    try:
        a, b = train_test_split(
            idx, test_size=size, random_state=seed, stratify=y if stratify else None
        )
    except ValueError as e:
        raise ConfigError(
            f"Cannot split {len(idx)} rows with {what}={size}: {_sentence(e)} "
            f"Use more data (e.g. {{'name': 'xor', 'n_repeats': 50}}) or set {what}=0."
        ) from e
    if len(a) == 0:
        raise ConfigError(
            f"Splitting {len(idx)} rows with {what}={size} leaves no training rows; use a smaller "
            f"{what}."
        )
    return np.sort(a), np.sort(b)


def _sentence(e: Exception) -> str:
    """A third-party message as one sentence ending in a period."""
    return str(e).rstrip(". ") + "."


def _check_fraction(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ConfigError(
            f"The {name!r} parameter of make_folds must be a float in [0, 1). Got {value!r} "
            f"instead."
        )


__all__ = ["Fold", "Splits", "make_folds", "shared_folds"]
