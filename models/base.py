"""One epoch-training loop for every model family: :class:`EpochTrainer`.

The base owns everything a family would otherwise copy: the shared options
(``metric``, ``max_epochs``, ``patience``, ``min_delta``, ``test_size``,
``validation_fraction``, ``cv``, ``split_seed``) and their checks, the per-trial
overrides of the first three, loading the data and checking its task, the splits,
and the loop::

    build one member per fold ──▶ each epoch: train every member one epoch (lockstep)
                                   ──▶ mean validation score ──▶ divergence check
                                   ──▶ reporter.report(epoch, score) (may prune)
                                   ──▶ early stopping keeps the best epoch's states
    restore the best states ──▶ test score of the fold ensemble ──▶ TrialResult

A family supplies only:

=====================================  ===============================================
``parse(params, task)``                the trial's own hyperparameters, checked
``build(hp, fold, run)``               one fold's model ("member")
``train_epoch(member, fold, run)``     one pass over the fold's training rows; returns
                                       the training loss (NaN if it diverged) or None
``predict(member, X)``                 (n,) regression values, in the fold's target units
``predict_proba(member, X)``           (n, k) class probabilities
``get_state(member)`` / ``set_state``  what early stopping keeps and restores
=====================================  ===============================================

and optionally ``session(run)`` (a context around the whole fit that yields the
trial's random source: thread caps, warnings, error translation), ``after_epoch``
(learning-rate schedules) and ``finish`` (save weights, extra metrics).

Per-trial state lives in a :class:`TrainingRun` made by each ``fit`` call, never on the
trainer: one trainer may serve many trials, in several threads. After a fit, the
trainer's ``last_run_`` (and ``splits_``, ``n_epochs_``... read from it) show the last
finished fit, for inspection only; the loop never reads them.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from hpo.errors import ConfigError
from hpo.models.datasets import Dataset, load_dataset
from hpo.models.early_stopping import EarlyStopping
from hpo.models.metrics import Metric, default_metric, get_metric, metric_names
from hpo.models.splits import Fold, Splits, shared_folds
from hpo.objective import Reporter, TrialResult, declare_max_step
from hpo.validation import Constraint, Interval, Options, check_param, validate

#: The options every family takes, and what each must be.
OPTION_CONSTRAINTS: dict[str, list[Constraint]] = {
    "max_epochs": [Interval(int, 1, None, integral_floats=True)],
    "patience": [Interval(int, 1, None, integral_floats=True)],
    "min_delta": [Interval(float, 0, None)],
    "test_size": [Interval(float, 0, 1, closed="left")],
    "validation_fraction": [Interval(float, 0, 1, closed="left")],
    "cv": [None, Interval(int, 2, None)],
    "split_seed": [Interval(int)],
}
#: Options a trial's params may override (``{"max_epochs": 20}`` in a search space).
TRIAL_OVERRIDES = ("max_epochs", "patience", "min_delta")

_UNITS_K = re.compile(r"units_([1-9][0-9]*)")
LAYER_CONSTRAINTS: dict[str, list[Constraint]] = {
    "n_layers": [Interval(int, 0, None, integral_floats=True)],
    "units": [Interval(int, 1, None, integral_floats=True)],
}
_SIZES = "ints >= 1 such as (64, 32) or '64-32'"


LAYER_PARAM_NAMES = (
    "hidden_layer_sizes",
    "n_layers",
    "units",
    "units_<k>",
)  # as param_names lists them


def is_layer_param(name: Any) -> bool:
    """Whether ``name`` sets the hidden layers (hidden_layer_sizes, n_layers, units, units_k)."""
    return name in ("hidden_layer_sizes", "n_layers", "units") or bool(
        _UNITS_K.fullmatch(str(name))
    )


def resolve_layers(params: Mapping[str, Any], *, owner: str, default_units: int) -> tuple[int, ...]:
    """Hidden layer widths from ``hidden_layer_sizes``, or from ``n_layers`` x ``units``.

    ``hidden_layer_sizes`` may be ``64``, ``(64, 32)``, ``[64, 32]`` or ``"64-32"``.
    Otherwise there are ``n_layers`` layers (default: the highest ``k`` of any
    ``units_k``, else 1) of ``units`` units (default ``default_units``), layer ``k``
    overridden by ``units_k``; a ``units_k`` with ``k > n_layers`` belongs to an inactive
    branch of a conditional space and is ignored.

    Raises:
        ConfigError: a width or count out of range, or both ways used at once.
    """
    per_layer = {int(m.group(1)): k for k in params if (m := _UNITS_K.fullmatch(str(k)))}
    for name in per_layer.values():
        check_param(name, params[name], LAYER_CONSTRAINTS["units"], owner=owner)
    validate(LAYER_CONSTRAINTS, params, owner=owner)
    sizes = params.get("hidden_layer_sizes")
    if sizes is not None:
        if params.get("n_layers") is not None or "units" in params or per_layer:
            raise ConfigError(
                f"{owner} got both 'hidden_layer_sizes' and 'n_layers'/'units'/'units_k'; "
                "use one way to set the layers."
            )
        return _parse_sizes(sizes, owner)
    n_layers = params.get("n_layers")
    n_layers = max(per_layer, default=1) if n_layers is None else int(n_layers)
    units = int(params.get("units", default_units))
    return tuple(
        int(params[per_layer[i]]) if i in per_layer else units for i in range(1, n_layers + 1)
    )


def _parse_sizes(value: Any, owner: str) -> tuple[int, ...]:
    items: Any = value
    if isinstance(value, str):
        items = [
            int(t) if t.isdigit() else t for t in re.split(r"[\s,\-x()\[\]]+", value) if t
        ] or [value]
    elif not isinstance(value, (list, tuple)):
        items = [value]
    width = LAYER_CONSTRAINTS["units"][0]
    if not all(width.is_satisfied_by(u) for u in items):  # type: ignore[union-attr]
        raise ConfigError(
            f"The 'hidden_layer_sizes' parameter of {owner} must be {_SIZES}. "
            f"Got {value!r} instead."
        )
    return tuple(int(u) for u in items)


@dataclass
class TrainingRun:
    """Everything one ``fit`` call trains: made per trial, never stored on the trainer.

    Attributes:
        hp: the family's checked hyperparameters (what ``parse`` returned).
        context: what the family's ``session`` yielded (its random source, device...).
        members: one model per fold, as ``build`` made them.
        curve: the mean validation score of every epoch so far.
        stopper: the early stopping that holds the best epoch's states.
    """

    hp: Any
    dataset: Dataset
    metric: Metric
    splits: Splits
    seed: int
    max_epochs: int
    patience: int
    min_delta: float
    context: Any = None
    members: list[Any] = field(default_factory=list)
    curve: list[float] = field(default_factory=list)
    stopper: EarlyStopping | None = None

    @property
    def task(self) -> str:
        return self.splits.task

    @property
    def n_outputs(self) -> int:
        """Network output width: k for k classes, else 1."""
        return self.splits.n_classes if self.task == "multiclass" else 1


class EpochTrainer:
    """The loop every model family shares; see the module docstring for what a family adds.

    Class attributes a family sets:
        tasks: the dataset tasks it fits ("binary", "multiclass", "regression").
        sibling: the registered model name that fits the other tasks (for the message).
        default_max_epochs: ``max_epochs`` when the constructor is not given one.
        option_constraints: the constructor options and their constraints (a family
            with extra options extends :data:`OPTION_CONSTRAINTS`).
    """

    tasks: ClassVar[tuple[str, ...]] = ()
    sibling: ClassVar[str] = ""
    default_max_epochs: ClassVar[int] = 100
    option_constraints: ClassVar[dict[str, list[Constraint]]] = OPTION_CONSTRAINTS

    def __init__(
        self,
        *,
        metric: str | None = None,
        max_epochs: int | None = None,
        patience: int = 10,
        min_delta: float = 0.0,
        test_size: float = 0.2,
        validation_fraction: float = 0.2,
        cv: int | None = None,
        split_seed: int = 0,
        **fixed_params: Any,
    ) -> None:
        """Store the options (checked here, so a bad study fails before it starts).

        Args:
            metric: the validation metric to optimize (see :mod:`hpo.models.metrics`); None
                uses the task's default (accuracy, or r2 for regression).
            max_epochs: most epochs per trial (None: the family's ``default_max_epochs``).
            patience: epochs without improvement before stopping.
            min_delta: smallest improvement that resets patience.
            test_size: fraction of rows held out for the final test score (0: none).
            validation_fraction: fraction of the training rows validated on when ``cv`` is None.
            cv: k for k-fold cross-validation on the training rows (folds train in lockstep).
            split_seed: seeds the data splits, the same for every trial so that trials are
                compared on the same rows (``reporter.seed`` seeds the model).
            **fixed_params: hyperparameters fixed for every trial (the same names as the
                search-space params); a trial's own params override them.

        Raises:
            ConfigError: naming the first option, or fixed param, that is invalid.
        """
        self.metric = metric
        self.max_epochs = self.default_max_epochs if max_epochs is None else max_epochs
        self.patience = patience
        self.min_delta = min_delta
        self.test_size = test_size
        self.validation_fraction = validation_fraction
        self.cv = cv
        self.split_seed = split_seed
        self.fixed_params = fixed_params
        self._check_options()

    @property
    def name(self) -> str:
        """The class name, as error messages give it."""
        return type(self).__name__

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """The search-space parameter names this family accepts (``units_<k>``: units_1, ...).

        ``create_study`` checks a space with :meth:`accepts_param`, so a misspelled name
        fails before any trial runs; a family adds its own names to these.
        """
        return TRIAL_OVERRIDES

    @classmethod
    def accepts_param(cls, name: str) -> bool:
        """Whether ``name`` may be a search-space parameter of this family."""
        names = cls.param_names()
        return name in names or ("units_<k>" in names and bool(_UNITS_K.fullmatch(str(name))))

    def _check_options(self) -> None:
        validate(
            self.option_constraints,
            {k: getattr(self, k) for k in self.option_constraints},
            owner=self.name,
        )
        if self.metric is not None:
            valid = sorted({m for task in self.tasks for m in metric_names(task)})
            check_param("metric", self.metric, [Options(valid)], owner=self.name)
        hp_params, _ = self._split_overrides(self.fixed_params)
        self.parse(hp_params, self.tasks)

    # --- what a family implements --------------------------------------------------------

    def parse(self, params: Mapping[str, Any], task: str | tuple[str, ...]) -> Any:
        """Check the trial's hyperparameters (less the overrides) and return them ready to use.

        ``task`` is the dataset's task at fit time, or all of ``tasks`` when the
        constructor checks the fixed params.
        """
        raise NotImplementedError

    def build(self, hp: Any, fold: Fold, run: TrainingRun) -> Any:
        """A fresh model for one fold, seeded from ``run.seed`` / ``run.context``."""
        raise NotImplementedError

    def train_epoch(self, member: Any, fold: Fold, run: TrainingRun) -> Any:
        """One pass over ``fold``'s training rows.

        Returns:
            The epoch's mean training loss (anything ``float()`` accepts, e.g. a 0-d
            tensor; NaN or inf when training diverged), or None when the family has none.
        """
        raise NotImplementedError

    def predict(self, member: Any, X: np.ndarray) -> np.ndarray:
        """(n,) regression predictions for standardized (n, d) X, in the fold's target units."""
        raise NotImplementedError

    def predict_proba(self, member: Any, X: np.ndarray) -> np.ndarray:
        """(n, k) class probabilities for standardized (n, d) X."""
        raise NotImplementedError

    def get_state(self, member: Any) -> Any:
        """What restores ``member`` to this epoch (early stopping deep-copies it)."""
        raise NotImplementedError

    def set_state(self, member: Any, state: Any) -> None:
        """Put ``member`` back to a state ``get_state`` returned."""
        raise NotImplementedError

    # --- optional hooks ------------------------------------------------------------------

    @contextmanager
    def session(self, run: TrainingRun) -> Iterator[Any]:
        """Wraps the whole fit; yields the trial's random source (default: a numpy Generator)."""
        yield np.random.default_rng(run.seed)

    def after_epoch(self, member: Any, score: float) -> None:
        """Called after each epoch's validation with the mean score (to step an LR schedule)."""

    def divergence_hint(self, hp: Any) -> str:
        """The fix the divergence message suggests."""
        return "Use a smaller learning rate."

    def finish(
        self, run: TrainingRun, metrics: dict[str, Any], reporter: Reporter
    ) -> dict[str, Any]:
        """After the best states are restored and scored: save weights, add metrics."""
        return {}

    # --- the loop ------------------------------------------------------------------------

    def fit(
        self, params: Mapping[str, Any], data: Dataset | Any, reporter: Reporter
    ) -> TrialResult:
        """Train one configuration, reporting the validation score after every epoch.

        Args:
            params: the trial's hyperparameters, merged over the fixed ones; ``max_epochs``,
                ``patience`` and ``min_delta`` among them override the options.
            data: a Dataset or anything :func:`hpo.models.datasets.load_dataset` accepts.
            reporter: receives ``report(epoch, score)``; its ``seed`` seeds the model.

        Returns:
            ``value``: the best epoch's validation score (mean over folds with ``cv``);
            ``metrics``: ``test_<metric>`` (absent when ``test_size`` is 0), ``best_epoch``,
            ``n_epochs``, ``stopped_early``, ``train_seconds``, ``train_loss`` (of the best
            epoch, when the family has one) and what the family's ``finish`` adds.

        Raises:
            ConfigError: invalid params, or a dataset of a task this family does not fit.
            TrialPruned: from ``reporter.report`` when the pruner stops the trial.
            ValueError: training diverged (NaN/inf loss or validation score).
        """
        hp_params, overrides = self._split_overrides({**self.fixed_params, **dict(params)})
        dataset = data if isinstance(data, Dataset) else load_dataset(data)
        if dataset.task not in self.tasks:
            raise ConfigError(
                f"{self.name} cannot fit dataset {dataset.name!r} with task "
                f"{dataset.task!r}; it fits {' or '.join(self.tasks)} data. "
                f"Use model {self.sibling!r}."
            )
        hp = self.parse(hp_params, dataset.task)
        metric = get_metric(self.metric or default_metric(dataset.task), dataset.task)
        splits = shared_folds(  # the same for every trial: computed once per process
            dataset,
            test_size=self.test_size,
            validation_fraction=self.validation_fraction,
            cv=self.cv,
            seed=self.split_seed,
            standardize_target=dataset.task == "regression",
        )
        run = TrainingRun(hp, dataset, metric, splits, int(reporter.seed), **overrides)
        with self.session(run) as run.context:
            start = time.perf_counter()
            loss = self._train(run, reporter)
            metrics: dict[str, Any] = {}
            if len(splits.y_test):
                out = self._ensemble(run.members, splits.folds, splits.X_test, task=run.task)
                metrics[f"test_{metric.name}"] = _score(metric, run.task, splits.y_test, out)
            # every score was finite (or _train raised), so epoch 1 was a best
            assert run.stopper is not None and run.stopper.best_score_ is not None
            metrics.update(
                best_epoch=run.stopper.best_epoch_,
                n_epochs=run.stopper.n_epochs_,
                stopped_early=run.stopper.n_epochs_ < run.max_epochs,
                train_seconds=round(time.perf_counter() - start, 4),
            )
            if loss is not None:
                metrics["train_loss"] = loss
            metrics.update(self.finish(run, metrics, reporter))
        self.last_run_ = run
        return TrialResult(run.stopper.best_score_, metrics)

    def _split_overrides(self, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(family hyperparameters, checked overrides of max_epochs/patience/min_delta)."""
        hp = {k: v for k, v in params.items() if k not in TRIAL_OVERRIDES}
        given = {k: params[k] for k in TRIAL_OVERRIDES if k in params}
        validate(OPTION_CONSTRAINTS, given, owner=self.name)
        return hp, {
            "max_epochs": int(given.get("max_epochs", self.max_epochs)),
            "patience": int(given.get("patience", self.patience)),
            "min_delta": float(given.get("min_delta", self.min_delta)),
        }

    def _train(self, run: TrainingRun, reporter: Reporter) -> float | None:
        """The epochs; leaves the members at the best epoch. Returns that epoch's training loss."""
        folds = run.splits.folds
        run.members = [self.build(run.hp, fold, run) for fold in folds]
        run.stopper = stopper = EarlyStopping(run.patience, run.min_delta, run.metric.mode)
        declare_max_step(reporter, run.max_epochs)  # the last epoch is never pruned
        for epoch in range(1, run.max_epochs + 1):
            pairs = list(zip(run.members, folds, strict=True))
            raw = [self.train_epoch(m, f, run) for m, f in pairs]  # all folds queued, then synced
            score = float(np.mean([self._validation_score(m, f, run) for m, f in pairs]))
            losses = [float(x) for x in raw if x is not None]
            loss = float(np.mean(losses)) if losses else None
            if not math.isfinite(score) or (loss is not None and not math.isfinite(loss)):
                seen = f"validation {run.metric.name} {score}"
                if loss is not None:
                    seen = f"training loss {loss}, {seen}"
                raise ValueError(
                    f"{self.name} diverged at epoch {epoch}: {seen}. {self.divergence_hint(run.hp)}"
                )
            for member in run.members:
                self.after_epoch(member, score)
            run.curve.append(score)
            reporter.report(epoch, score)
            if stopper.update(
                score, {"states": [self.get_state(m) for m in run.members], "loss": loss}
            ):
                break
        for member, state in zip(run.members, stopper.best_state_["states"], strict=True):
            self.set_state(member, state)
        return stopper.best_state_["loss"]

    def _validation_score(self, member: Any, fold: Fold, run: TrainingRun) -> float:
        out = self._ensemble([member], [fold], fold.X_val, task=run.task, standardized=True)
        y = fold.unscale_y(fold.y_val) if run.task == "regression" else fold.y_val
        return _score(run.metric, run.task, y, out)

    def _ensemble(
        self,
        members: Sequence[Any],
        folds: Sequence[Fold],
        X: np.ndarray,
        *,
        task: str,
        standardized: bool = False,
    ) -> np.ndarray:
        """Mean probabilities (classification) or mean values in original units (regression)."""
        outputs = []
        for member, fold in zip(members, folds, strict=True):
            Xf = X if standardized else fold.transform(X)
            if task == "regression":
                outputs.append(fold.unscale_y(self.predict(member, Xf)))
            else:
                outputs.append(self.predict_proba(member, Xf))
        return outputs[0] if len(outputs) == 1 else np.mean(outputs, axis=0)

    # --- the last finished fit, for inspection --------------------------------------------

    @property
    def splits_(self) -> Splits:
        return self.last_run_.splits

    @property
    def members_(self) -> list[Any]:
        return self.last_run_.members

    @property
    def history_(self) -> list[float]:
        return self.last_run_.curve

    @property
    def n_epochs_(self) -> int:
        return len(self.last_run_.curve)

    @property
    def best_epoch_(self) -> int | None:
        return self.last_run_.stopper.best_epoch_ if self.last_run_.stopper else None

    @property
    def best_score_(self) -> float | None:
        return self.last_run_.stopper.best_score_ if self.last_run_.stopper else None


def _score(metric: Metric, task: str, y: np.ndarray, out: np.ndarray) -> float:
    """The metric of (n,) values or (n, k) probabilities against y; NaN if any output is NaN/inf."""
    if not np.all(np.isfinite(out)):
        return math.nan
    if task != "regression" and not metric.needs_proba:
        out = np.argmax(out, axis=1)
    return metric(y, out)


__all__ = [
    "EpochTrainer",
    "TrainingRun",
    "OPTION_CONSTRAINTS",
    "TRIAL_OVERRIDES",
    "LAYER_CONSTRAINTS",
    "is_layer_param",
    "resolve_layers",
]
