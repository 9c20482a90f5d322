"""scikit-learn MLPs as an hpo model family: per-epoch validation, pruning, early stopping.

``SklearnMLPClassifierTrainer`` and ``SklearnMLPRegressorTrainer`` train
``MLPClassifier`` / ``MLPRegressor`` one epoch at a time so every epoch can be
validated, reported (``reporter.report(epoch, score)``, which may raise
``TrialPruned``) and early-stopped with the best epoch's weights restored.

One epoch is one ``partial_fit`` pass over the shuffled training rows (the optimizer
state, e.g. Adam's moments and the ``adaptive`` schedule, carries over). L-BFGS is
not stochastic and has no ``partial_fit``: for ``solver="lbfgs"`` one epoch is
``LBFGS_STEPS_PER_EPOCH`` L-BFGS iterations via ``warm_start`` (its curvature
memory restarts each epoch, a small price for per-epoch validation).

With ``cv=k`` the k fold models train in lockstep and the mean validation score is
reported per epoch; early stopping restores every fold model to the best mean epoch.
The test score then comes from the fold models' ensemble (mean probabilities, or
mean predictions for regression) on the held-out test rows: it costs no extra
training and scores exactly the models whose validation curve was reported.
Regression targets are standardized on each fold's training rows (MLPs train
badly on raw targets such as diabetes' 25..346); scores are in original units.
"""

from __future__ import annotations

import math
import re
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from threadpoolctl import threadpool_limits

from hpo.errors import ConfigError
from hpo.objective import Reporter, TrialResult
from hpo.resources import threads_per_worker
from hpo.models.splits import Fold, make_folds
from hpo.models.datasets import Dataset, load_dataset
from hpo.models.early_stopping import EarlyStopping
from hpo.models.metrics import Metric, default_metric, get_metric
from hpo.models.options import check_training_options

LBFGS_STEPS_PER_EPOCH = 10
_UNITS_K = re.compile(r"units_([1-9]\d*)")
_CHOICES: dict[str, tuple[Any, ...]] = {
    "activation": ("relu", "tanh", "logistic", "identity"),
    "solver": ("adam", "sgd", "lbfgs"),
    "learning_rate": ("constant", "invscaling", "adaptive"),
}
# name -> (kind, low, high, closed); kinds: int, float, bool. Bounds are inclusive unless noted.
_NUMERIC: dict[str, tuple[str, float | None, float | None, str]] = {
    "alpha": ("float", 0.0, None, "[]"),
    "learning_rate_init": ("float", 0.0, None, "(]"),
    "power_t": ("float", 0.0, None, "[]"),
    "momentum": ("float", 0.0, 1.0, "[]"),
    "beta_1": ("float", 0.0, 1.0, "[)"),
    "beta_2": ("float", 0.0, 1.0, "[)"),
    "epsilon": ("float", 0.0, None, "(]"),
    "min_delta": ("float", 0.0, None, "[]"),
    "max_epochs": ("int", 1, None, "[]"),
    "patience": ("int", 1, None, "[]"),
    "n_layers": ("int", 0, None, "[]"),
    "units": ("int", 1, None, "[]"),
}
_TRAINING_PARAMS = ("max_epochs", "patience", "min_delta")
ACCEPTED_PARAMS: tuple[str, ...] = tuple(
    sorted({*_CHOICES, *_NUMERIC, "hidden_layer_sizes", "batch_size", "nesterovs_momentum"})
)


class _SklearnMLPTrainer:
    """Shared training loop; subclasses pick the estimator and the task family."""

    _estimator_cls: type = MLPClassifier
    _classifier: bool = True

    def __init__(
        self,
        *,
        metric: str | None = None,
        max_epochs: int = 200,
        patience: int = 10,
        min_delta: float = 0.0,
        test_size: float = 0.2,
        validation_fraction: float = 0.2,
        cv: int | None = None,
        split_seed: int = 0,
        **fixed_params: Any,
    ) -> None:
        """Store the options verbatim (checked here so a bad study fails before it starts).

        Args:
            metric: the validation metric to optimize (see ``hpo.models.metrics``); None uses
                the task's default (accuracy, or r2 for regression).
            max_epochs: most epochs per trial; a ``max_epochs`` param overrides it.
            patience: epochs without improvement before stopping; a param overrides it.
            min_delta: smallest improvement that resets patience; a param overrides it.
            test_size: fraction of rows held out for the final test score (0: none).
            validation_fraction: fraction of the training rows used for validation
                when ``cv`` is None.
            cv: k for k-fold cross-validation on the training rows, or None.
            split_seed: seeds the data splits; the same for every trial so that trials
                are compared on the same rows (``reporter.seed`` seeds the model).
            **fixed_params: estimator params fixed for every trial (same names as the
                search-space params); a trial's own params override them.
        """
        self.metric = metric
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_delta = min_delta
        self.test_size = test_size
        self.validation_fraction = validation_fraction
        self.cv = cv
        self.split_seed = split_seed
        self.fixed_params = fixed_params
        tasks = ("binary", "multiclass") if self._classifier else ("regression",)
        check_training_options(self._name, tasks, metric=metric, max_epochs=max_epochs,
                               patience=patience, min_delta=min_delta, test_size=test_size,
                               validation_fraction=validation_fraction, cv=cv, split_seed=split_seed)
        self._resolve({})  # checks fixed_params

    @property
    def _name(self) -> str:
        return type(self).__name__

    def fit(self, params: Mapping[str, Any], data: Dataset | Any, reporter: Reporter) -> TrialResult:
        """Train one configuration, reporting the validation score after every epoch.

        Args:
            params: the trial's hyperparameters (see ``ACCEPTED_PARAMS``, plus ``units_k``).
            data: a Dataset or any spec ``load_dataset`` accepts.
            reporter: receives ``report(epoch, score)``; its ``seed`` seeds the model.

        Returns:
            ``value``: the best epoch's validation score (mean over folds with ``cv``);
            ``metrics``: ``test_<metric>`` (absent when ``test_size`` is 0), ``best_epoch``,
            ``n_epochs``, ``stopped_early``, ``train_seconds``.

        Raises:
            ConfigError: unknown or invalid params, or a dataset of the wrong task.
            TrialPruned: from ``reporter.report`` when the pruner stops the trial.
            ValueError: when training diverges (NaN/inf loss, weights or score).
        """
        start = time.perf_counter()
        estimator_kwargs, training = self._resolve(params)
        dataset = data if isinstance(data, Dataset) else load_dataset(data)
        self._check_task(dataset)
        metric = get_metric(self.metric or default_metric(dataset.task), dataset.task)
        splits = make_folds(
            dataset, test_size=self.test_size, validation_fraction=self.validation_fraction,
            cv=self.cv, seed=self.split_seed, standardize_target=not self._classifier,
        )
        seed = int(reporter.seed)
        models = []
        for fold in splits.folds:
            kwargs = dict(estimator_kwargs)
            if isinstance(kwargs["batch_size"], int):
                kwargs["batch_size"] = min(kwargs["batch_size"], len(fold.y_train))
            models.append(self._estimator_cls(**kwargs, random_state=seed, shuffle=False, max_iter=1))
        stopper = EarlyStopping(training["patience"], training["min_delta"], metric.mode)
        rng = np.random.default_rng(seed)
        self.history_: list[float] = []
        with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore", divide="ignore"), threadpool_limits(threads_per_worker()):
            warnings.simplefilter("ignore", ConvergenceWarning)
            for epoch in range(1, training["max_epochs"] + 1):
                scores = []
                for model, fold in zip(models, splits.folds, strict=True):
                    self._train_epoch(model, fold, rng, epoch, splits.n_classes)
                    scores.append(self._score(metric, [model], [fold], fold.X_val, fold.unscale_y(fold.y_val), raw=False))
                score = float(np.mean(scores))
                if not math.isfinite(score):
                    raise ValueError(f"The validation {metric.name} of {self._name} is {score} at epoch {epoch}; training diverged. {_FIX}")
                self.history_.append(score)
                reporter.report(epoch, score)
                if stopper.update(score, [(m.coefs_, m.intercepts_) for m in models]):
                    break
            assert stopper.best_score_ is not None  # every score was finite, so epoch 1 was a best
            for model, (coefs, intercepts) in zip(models, stopper.best_state_, strict=True):
                model.coefs_, model.intercepts_ = coefs, intercepts
            result_metrics: dict[str, Any] = {}
            if len(splits.y_test):
                test = self._score(metric, models, splits.folds, splits.X_test, splits.y_test, raw=True)
                result_metrics[f"test_{metric.name}"] = test
        self.estimators_, self.splits_ = models, splits
        self.best_score_, self.best_epoch_, self.n_epochs_ = stopper.best_score_, stopper.best_epoch_, stopper.n_epochs_
        result_metrics.update(
            best_epoch=stopper.best_epoch_,
            n_epochs=stopper.n_epochs_,
            stopped_early=stopper.n_epochs_ < training["max_epochs"],
            train_seconds=round(time.perf_counter() - start, 4),
        )
        return TrialResult(stopper.best_score_, result_metrics)

    # --- one epoch, one score -----------------------------------------------------------

    def _train_epoch(self, model: Any, fold: Fold, rng: np.random.Generator, epoch: int, n_classes: int) -> None:
        try:
            if model.solver == "lbfgs":
                model.set_params(warm_start=True, max_iter=LBFGS_STEPS_PER_EPOCH)
                model.fit(fold.X_train, fold.y_train)
            else:
                order = rng.permutation(len(fold.y_train))
                extra = {"classes": np.arange(n_classes)} if self._classifier and epoch == 1 else {}
                model.partial_fit(fold.X_train[order], fold.y_train[order], **extra)
        except ValueError as e:
            if "non-finite" not in str(e):
                raise
            raise ValueError(f"{self._name} diverged at epoch {epoch}: the weights became NaN/inf. {_FIX}") from e
        if not math.isfinite(model.loss_):
            raise ValueError(f"{self._name} diverged at epoch {epoch}: the training loss is {model.loss_}. {_FIX}")

    def _score(self, metric: Metric, models: list, folds: list[Fold], X: np.ndarray, y_true: np.ndarray, *, raw: bool) -> float:
        """Score the mean output of ``models`` on X; ``raw`` X is standardized per fold first."""
        outputs = []
        for model, fold in zip(models, folds, strict=True):
            Xf = fold.transform(X) if raw else X
            if self._classifier:
                outputs.append(model.predict_proba(Xf))
            else:
                outputs.append(fold.unscale_y(model.predict(Xf)))
        out = np.mean(outputs, axis=0)
        if not np.all(np.isfinite(out)):
            raise ValueError(f"{self._name} produced NaN/inf predictions; training diverged. {_FIX}")
        if self._classifier and not metric.needs_proba:
            out = np.argmax(out, axis=1)
        return metric(y_true, out)

    # --- params -------------------------------------------------------------------------

    def _resolve(self, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Merge fixed and trial params; return (estimator kwargs, training options)."""
        merged = {**self.fixed_params, **dict(params)}
        unknown = sorted(k for k in merged if k not in ACCEPTED_PARAMS and not _UNITS_K.fullmatch(str(k)))
        if unknown:
            raise ConfigError(
                f"Unknown parameter(s) {unknown} for {self._name}; accepted: {list(ACCEPTED_PARAMS)} "
                f"and units_1, units_2, ... (per-layer widths)."
            )
        values: dict[str, Any] = {}
        for name, value in merged.items():
            if name in _CHOICES:
                if value not in _CHOICES[name]:
                    raise ConfigError(f"The {name!r} parameter of {self._name} must be one of {list(_CHOICES[name])}. Got {value!r} instead.")
                values[name] = str(value)
            elif name in _NUMERIC or _UNITS_K.fullmatch(name):
                values[name] = _check_numeric(self._name, name, value)
            elif name == "nesterovs_momentum":
                if not isinstance(value, (bool, np.bool_)):
                    raise ConfigError(f"The 'nesterovs_momentum' parameter of {self._name} must be a bool. Got {value!r} instead.")
                values[name] = bool(value)
            elif name == "batch_size":
                values[name] = value if value == "auto" else _check_numeric(self._name, name, value, kind="int", low=1)
            else:
                values[name] = value
        training = {
            "max_epochs": values.pop("max_epochs", self.max_epochs),
            "patience": values.pop("patience", self.patience),
            "min_delta": values.pop("min_delta", self.min_delta),
        }
        values["hidden_layer_sizes"] = self._hidden_layers(values)
        values.setdefault("batch_size", "auto")
        return values, training

    def _hidden_layers(self, values: dict[str, Any]) -> tuple[int, ...]:
        """From ``hidden_layer_sizes``, or ``n_layers`` layers of ``units`` (each overridable by ``units_k``)."""
        per_layer = {int(m.group(1)): values.pop(k) for k in list(values) if (m := _UNITS_K.fullmatch(k))}
        n_layers, units = values.pop("n_layers", None), values.pop("units", None)
        if "hidden_layer_sizes" in values:
            if n_layers is not None or units is not None or per_layer:
                raise ConfigError(f"{self._name} got both 'hidden_layer_sizes' and 'n_layers'/'units'/'units_k'; use one way to set the layers.")
            return _parse_sizes(self._name, values.pop("hidden_layer_sizes"))
        if n_layers is None and units is None and not per_layer:
            return (100,)
        if n_layers is None:
            n_layers = max(per_layer, default=1)
        # units_k with k > n_layers belong to inactive (conditional) layers and are ignored
        return tuple(per_layer.get(i, units if units is not None else 100) for i in range(1, n_layers + 1))

    def _check_task(self, dataset: Dataset) -> None:
        if self._classifier and dataset.task == "regression":
            raise ConfigError(f"{self._name} needs a classification dataset; {dataset.name!r} is regression. Use model 'sklearn-mlp-regressor'.")
        if not self._classifier and dataset.task != "regression":
            raise ConfigError(
                f"{self._name} needs a regression dataset; {dataset.name!r} is {dataset.task}. "
                f"Use model 'sklearn-mlp-classifier' (or task='regression' in the dataset spec)."
            )


class SklearnMLPClassifierTrainer(_SklearnMLPTrainer):
    """``MLPClassifier`` trained epoch by epoch (binary and multiclass datasets)."""

    _estimator_cls = MLPClassifier
    _classifier = True


class SklearnMLPRegressorTrainer(_SklearnMLPTrainer):
    """``MLPRegressor`` trained epoch by epoch on standardized targets (regression datasets)."""

    _estimator_cls = MLPRegressor
    _classifier = False


_FIX = "Lower learning_rate_init, or use solver='adam'."


def _check_numeric(owner: str, name: str, value: Any, *, kind: str | None = None, low: float | None = None) -> Any:
    """Check one number against its declared range; return it as a Python int/float."""
    spec_kind, spec_low, high, closed = _NUMERIC.get(name, ("int", 1, None, "[]"))
    kind, low = kind or spec_kind, spec_low if low is None else low
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))
    if ok and kind == "int":
        ok = float(value).is_integer()
        value = int(value) if ok else value
    if ok:
        value = float(value) if kind == "float" else value
        ok = math.isfinite(value) and (low is None or (value > low if closed[0] == "(" else value >= low))
        ok = ok and (high is None or (value < high if closed[1] == ")" else value <= high))
    if not ok:
        lo = "" if low is None else f"{'>' if closed[0] == '(' else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if closed[1] == ')' else '<='} {high:g}"
        rng = " and ".join(p for p in (lo, hi) if p)
        raise ConfigError(f"The {name!r} parameter of {owner} must be {'an int' if kind == 'int' else 'a float'} {rng}. Got {value!r} instead.")
    return value


def _parse_sizes(owner: str, value: Any) -> tuple[int, ...]:
    """``64``, ``(64, 32)``, ``[64, 32]`` or ``"64-32"`` / ``"64,32"`` -> ``(64, 32)``."""
    items: Any = value
    if isinstance(value, str):
        items = [p for p in re.split(r"[\s,\-x()\[\]]+", value) if p]
    elif not isinstance(value, (list, tuple)):
        items = [value]
    try:
        sizes = tuple(int(v) for v in items if float(v).is_integer() and float(v) >= 1)
    except (TypeError, ValueError):
        sizes = ()
    if len(sizes) != len(items) or isinstance(value, bool):
        raise ConfigError(
            f"The 'hidden_layer_sizes' parameter of {owner} must be ints >= 1 such as (64, 32) or "
            f"'64-32'. Got {value!r} instead."
        )
    return sizes


__all__ = ["ACCEPTED_PARAMS", "LBFGS_STEPS_PER_EPOCH", "SklearnMLPClassifierTrainer", "SklearnMLPRegressorTrainer"]
