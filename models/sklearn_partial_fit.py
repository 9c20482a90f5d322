"""scikit-learn estimators with ``partial_fit`` as hpo model families: one pass per epoch.

:class:`PartialFitTrainer` adapts any such estimator to :class:`~hpo.models.base.EpochTrainer`:
one epoch is one ``partial_fit`` over the fold's training rows in a fresh order drawn
from the trial's seed, or in row order with the param ``shuffle=False`` (the
estimator's own ``shuffle`` is always off: the loop orders the rows), early stopping keeps
the estimator's learned attributes (``state_attrs``), and the estimator validates its
own parameters: hpo never re-lists scikit-learn's constraints, it translates
scikit-learn's error into a :class:`~hpo.errors.ConfigError` of the same shape.

A family names the estimator class, the parameters a trial may set and the learned
attributes to keep; see :mod:`hpo.models.sklearn_sgd` for a whole family in a few lines.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from hpo.errors import ConfigError
from hpo.models.base import EpochTrainer, TrainingRun
from hpo.models.splits import Fold
from hpo.resources import threads_per_worker
from hpo.validation import check_names


def check_estimator_params(estimator_cls: type, params: Mapping[str, Any], *, owner: str) -> None:
    """Let scikit-learn check ``params`` of ``estimator_cls`` without fitting anything.

    Raises:
        ConfigError: scikit-learn's own message ("The 'momentum' parameter of
            MLPClassifier must be ..."), naming ``owner`` instead of the estimator.
    """
    estimator = estimator_cls()
    estimator.set_params(**params)
    try:
        estimator._validate_params()  # scikit-learn >= 1.2: the constraints, no fit
    except (ValueError, TypeError) as e:  # InvalidParameterError is both
        message = str(e).replace(f" of {estimator_cls.__name__} ", f" of {owner} ", 1)
        raise ConfigError(message) from None


class PartialFitTrainer(EpochTrainer):
    """An estimator with ``partial_fit``, trained epoch by epoch by the shared loop.

    Class attributes a family sets:
        estimator_cls: the scikit-learn estimator class.
        accepted_params: the estimator parameters a trial (or the constructor) may set;
            the rest (``max_iter``, ``random_state``, ``shuffle``, its own early
            stopping) belong to the loop.
        state_attrs: the learned attributes early stopping keeps and restores.
        names_note: what the unknown-parameter message adds to ``accepted_params``.
    """

    estimator_cls: ClassVar[type]
    accepted_params: ClassVar[tuple[str, ...]] = ()
    state_attrs: ClassVar[tuple[str, ...]] = ("coef_", "intercept_")
    names_note: ClassVar[str] = " and max_epochs, patience, min_delta"

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return (*cls.accepted_params, *super().param_names())

    def parse(self, params: Mapping[str, Any], task: str | tuple[str, ...]) -> dict[str, Any]:
        """Keyword arguments of the estimator, checked by the estimator itself."""
        check_names(params, self.accepted_params, owner=self.name, note=self.names_note)
        kwargs = self.estimator_kwargs(params)
        check_estimator_params(self.estimator_cls, kwargs, owner=self.name)
        return kwargs

    def estimator_kwargs(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The trial's params as estimator keyword arguments (a family may rewrite some)."""
        return dict(params)

    @property
    def estimators_(self) -> list[Any]:
        """The fitted estimators (one per fold) of the last finished fit."""
        return self.members_

    @property
    def is_classifier(self) -> bool:
        return "regression" not in self.tasks

    @contextmanager
    def session(self, run: TrainingRun) -> Iterator[np.random.Generator]:
        with (
            warnings.catch_warnings(),
            threadpool_limits(threads_per_worker()),
            np.errstate(over="ignore", invalid="ignore", divide="ignore"),
        ):
            warnings.simplefilter("ignore", ConvergenceWarning)
            yield np.random.default_rng(run.seed)

    def build(self, hp: dict[str, Any], fold: Fold, run: TrainingRun) -> Any:
        return self.estimator_cls(**{**hp, "shuffle": False}, random_state=run.seed)

    def train_epoch(self, member: Any, fold: Fold, run: TrainingRun) -> float | None:
        n = len(fold.y_train)
        order = run.context.permutation(n) if run.hp.get("shuffle", True) else np.arange(n)
        first = self.is_classifier and not hasattr(member, "classes_")  # later calls re-check them
        extra = {"classes": np.arange(run.splits.n_classes)} if first else {}
        try:
            member.partial_fit(fold.X_train[order], fold.y_train[order], **extra)
        except (ValueError, FloatingPointError) as e:
            if not _overflowed(e):
                raise
            return math.nan
        return self.epoch_loss(member)

    def epoch_loss(self, member: Any) -> float | None:
        """The training loss after an epoch (None if the estimator keeps none); NaN if the
        learned attributes stopped being finite."""
        finite = all(
            np.all(np.isfinite(np.asarray(a, dtype=float)))
            for attr in self.state_attrs
            for a in _arrays(getattr(member, attr))
        )
        return None if finite else math.nan

    def predict(self, member: Any, X: np.ndarray) -> np.ndarray:
        return member.predict(X)

    def predict_proba(self, member: Any, X: np.ndarray) -> np.ndarray:
        return member.predict_proba(X)

    def get_state(self, member: Any) -> tuple[Any, ...]:
        return tuple(getattr(member, attr) for attr in self.state_attrs)

    def set_state(self, member: Any, state: tuple[Any, ...]) -> None:
        for attr, value in zip(self.state_attrs, state, strict=True):
            setattr(member, attr, value)


def _arrays(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _overflowed(error: Exception) -> bool:
    """scikit-learn's ways of saying the weights became NaN/inf during an update."""
    text = str(error)
    return "non-finite" in text or "overflow" in text or "NaN" in text or "infinity" in text


__all__ = ["PartialFitTrainer", "check_estimator_params"]
