"""The PyTorch MLP model family: ``TorchMLPClassifierTrainer`` / ``TorchMLPRegressorTrainer``.

``fit(params, data, reporter)`` loads the dataset, splits it with
:func:`hpo.models.splits.make_folds` (test part + holdout validation or ``cv`` folds,
standardized on training rows only; regression targets too), trains one network per
fold in lockstep, reports the mean validation score every epoch, stops early on it
and restores the best epoch's weights. With ``cv``, the fold models form an ensemble
(mean probabilities, or mean values): it gives the test score and is what is saved,
like :mod:`hpo.models.sklearn_mlp`.

``split_seed`` (default 0) fixes the splits so every trial of a study sees the same
rows; the trial's ``reporter.seed`` drives weight init, shuffling and dropout.
When ``reporter.artifact_dir()`` gives a folder, ``model.pt`` (state_dicts) and
``model.json`` (architecture, task, classes, scalers, scores) are written there;
:func:`load_model` reloads them as a :class:`TorchPredictor`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hpo.errors import ConfigError
from hpo.objective import Reporter, TrialResult
from hpo.resources import threads_per_worker
from hpo.models.splits import Fold, Splits, make_folds
from hpo.models.datasets import Dataset, load_dataset
from hpo.models.early_stopping import EarlyStopping
from hpo.models.metrics import Metric, default_metric, get_metric
from hpo.models.options import check_training_options
from hpo.models.torch_fcnn import FCNN
from hpo.models.torch_components import (
    TorchParams,
    make_loss,
    make_model,
    make_optimizer,
    make_scheduler,
    parse_params,
    predict_raw,
    train_epoch,
)

FORMAT_VERSION = 1


def outputs_to_predictions(out: torch.Tensor, task: str, y_mean: float = 0.0,
                           y_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray | None]:
    """Network outputs -> (predictions, probabilities) as numpy.

    Args:
        out: (n, 1) logits (binary), (n, k) logits (multiclass) or (n, 1) scaled values.
        task: the dataset task.
        y_mean, y_scale: undo the regression target standardization.

    Returns:
        (n,) class indices or values in original units, and (n, k) probabilities
        (None for regression).
    """
    out = out.double()  # probabilities in float64 sum to 1 within what metrics check
    if task == "binary":
        p = torch.sigmoid(out[:, 0]).cpu().numpy()
        return (p > 0.5).astype(np.int64), np.column_stack([1.0 - p, p])
    if task == "multiclass":
        proba = torch.softmax(out, dim=1).cpu().numpy()
        return proba.argmax(axis=1), proba
    return out[:, 0].cpu().numpy() * y_scale + y_mean, None


class _FoldRun:
    """One network being trained on one fold (tensors on the device, optimizer, schedule)."""

    def __init__(self, fold: Fold, hp: TorchParams, task: str, n_outputs: int, device: torch.device,
                 max_epochs: int, mode: str) -> None:
        self.fold, self.hp, self.task = fold, hp, task
        self.model = make_model(hp, fold.X_train.shape[1], n_outputs).to(device)
        self.optimizer = make_optimizer(hp, self.model)
        self.scheduler = make_scheduler(hp, self.optimizer, max_epochs, mode)
        self.loss_fn = make_loss(hp, task)
        self.X = torch.as_tensor(fold.X_train, dtype=torch.float32, device=device)
        self.y = _target_tensor(fold.y_train, task, device)
        self.X_val = torch.as_tensor(fold.X_val, dtype=torch.float32, device=device)
        self.y_val = fold.y_val if task != "regression" else fold.unscale_y(fold.y_val)

    def train_epoch(self, generator: torch.Generator) -> torch.Tensor:
        hp = self.hp
        return train_epoch(self.model, self.X, self.y, self.loss_fn, self.optimizer, hp.batch_size,
                           generator, hp.l1, hp.clip_grad_norm, drop_last_single=hp.batch_norm)

    def score(self, metric: Metric) -> float:
        """The metric on this fold's validation rows (NaN when outputs are NaN/inf)."""
        out = predict_raw(self.model, self.X_val)
        pred, proba = outputs_to_predictions(out, self.task, self.fold.y_mean, self.fold.y_scale)
        return _check_score(metric, self.y_val, pred, proba)

    def step_schedule(self, score: float) -> None:
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(score)
        elif self.scheduler is not None:
            self.scheduler.step()


def _target_tensor(y: np.ndarray, task: str, device: torch.device) -> torch.Tensor:
    if task == "multiclass":
        return torch.as_tensor(y, dtype=torch.int64, device=device)
    return torch.as_tensor(y, dtype=torch.float32, device=device).reshape(-1, 1)


def resolve_device(device: str | None) -> torch.device:
    """``device`` as a torch.device; None picks CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ConfigError(f"Unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'.") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"Device {device!r} was requested but CUDA is not available here; use 'cpu' or device=None.")
    return dev


class _TorchMLPTrainer:
    """Shared by the classifier and the regressor; see the module docstring."""

    _tasks: tuple[str, ...] = ()

    def __init__(self, *, metric: str | None = None, max_epochs: int = 100, patience: int = 10,
                 min_delta: float = 0.0, test_size: float = 0.2, validation_fraction: float = 0.2,
                 cv: int | None = None, device: str | None = None, split_seed: int = 0,
                 **fixed_params: Any) -> None:
        """Store the options verbatim (checked here so a bad study fails before it starts).

        Args:
            metric: validation metric (see :mod:`hpo.models.metrics`); None: the task's default.
            max_epochs: most epochs per trial; a ``max_epochs`` param overrides it.
            patience: epochs without improvement before stopping; a param overrides it.
            min_delta: smallest improvement that resets patience; a param overrides it.
            test_size: fraction of rows held out for the test score (0: none).
            validation_fraction: fraction of training rows validated on when ``cv`` is None.
            cv: k for k-fold cross-validation on the training rows, or None.
            device: "cpu", "cuda", "cuda:N"; None picks CUDA when available.
            split_seed: seeds the data splits, the same for every trial of a study.
            **fixed_params: hyperparameters fixed for every trial (see
                :mod:`hpo.models.torch_components`); a trial's params override them.
        """
        self.metric = metric
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_delta = min_delta
        self.test_size = test_size
        self.validation_fraction = validation_fraction
        self.cv = cv
        self.device = device
        self.split_seed = split_seed
        self.fixed_params = fixed_params
        self._validate()

    def _validate(self) -> None:
        owner = type(self).__name__
        check_training_options(owner, self._tasks, metric=self.metric, max_epochs=self.max_epochs,
                               patience=self.patience, min_delta=self.min_delta,
                               test_size=self.test_size, validation_fraction=self.validation_fraction,
                               cv=self.cv, split_seed=self.split_seed)
        if self.device is not None and not isinstance(self.device, str):
            raise ConfigError(f"The 'device' parameter of {owner} must be None or a str such as "
                              f"'cpu' or 'cuda'. Got {self.device!r} instead.")
        parse_params(self.fixed_params, self._tasks, owner)  # names, types, ranges

    def fit(self, params: Mapping[str, Any], data: Any, reporter: Reporter) -> TrialResult:
        """Train one configuration and score it.

        Args:
            params: the trial's hyperparameters (merged over the fixed ones).
            data: anything :func:`hpo.models.datasets.load_dataset` accepts.
            reporter: receives ``report(epoch, mean validation score)`` every epoch; its
                ``seed`` seeds init, shuffling and dropout.

        Returns:
            value: the best epoch's validation score (mean over folds with ``cv``);
            metrics: ``test_<metric>`` (absent with ``test_size=0``), ``best_epoch``,
            ``n_epochs``, ``stopped_early``, ``train_seconds``, ``train_loss`` (of the
            best epoch), ``n_params``, ``device``.

        Raises:
            ConfigError: bad parameters, or data whose task does not fit this trainer.
            TrialPruned: from ``reporter.report``.
            ValueError: the loss or the validation score diverged (NaN/inf).
            MemoryError: the device ran out of memory (use a smaller batch_size).
        """
        owner = type(self).__name__
        dataset = load_dataset(data)
        if dataset.task not in self._tasks:
            other = "torch-mlp-regressor" if dataset.task == "regression" else "torch-mlp-classifier"
            raise ConfigError(f"{owner} cannot fit dataset {dataset.name!r} with task {dataset.task!r}; "
                              f"use model {other!r}.")
        hp = parse_params({**self.fixed_params, **params}, dataset.task, owner)
        metric = get_metric(self.metric or default_metric(dataset.task), dataset.task)
        device = resolve_device(self.device)
        splits = make_folds(dataset, test_size=self.test_size, validation_fraction=self.validation_fraction,
                            cv=self.cv, seed=self.split_seed, standardize_target=dataset.task == "regression")
        threads = torch.get_num_threads()
        torch.set_num_threads(threads_per_worker())
        try:
            return self._fit(hp, metric, splits, dataset, device, reporter)
        except torch.OutOfMemoryError as e:
            raise _oom(hp, device) from e
        except RuntimeError as e:
            if "out of memory" in str(e) or "can't allocate memory" in str(e):
                raise _oom(hp, device) from e
            raise
        finally:
            torch.set_num_threads(threads)

    def _fit(self, hp: TorchParams, metric: Metric, splits: Splits, dataset: Dataset,
             device: torch.device, reporter: Reporter) -> TrialResult:
        max_epochs = hp.max_epochs or self.max_epochs
        patience = hp.patience or self.patience
        min_delta = float(self.min_delta if hp.min_delta is None else hp.min_delta)
        n_outputs = splits.n_classes if splits.task == "multiclass" else 1
        torch.manual_seed(reporter.seed)
        generator = torch.Generator().manual_seed(reporter.seed)
        runs = [_FoldRun(f, hp, splits.task, n_outputs, device, max_epochs, metric.mode) for f in splits.folds]
        stopper = EarlyStopping(patience, min_delta, metric.mode)
        start = time.perf_counter()
        for epoch in range(1, max_epochs + 1):
            loss = torch.stack([run.train_epoch(generator) for run in runs]).mean().item()
            score = float(np.mean([run.score(metric) for run in runs]))
            if not (math.isfinite(loss) and math.isfinite(score)):
                raise ValueError(
                    f"{type(self).__name__} diverged at epoch {epoch}: training loss {loss}, validation "
                    f"{metric.name} {score}. Use a smaller lr (got {hp.lr:g}) or set clip_grad_norm.")
            for run in runs:
                run.step_schedule(score)
            reporter.report(epoch, score)
            weights = [{k: v.detach() for k, v in run.model.state_dict().items()} for run in runs]
            if stopper.update(score, {"weights": weights, "loss": loss}):
                break
        train_seconds = time.perf_counter() - start
        for run, state in zip(runs, stopper.best_state_["weights"], strict=True):
            run.model.load_state_dict(state)
        predictor = TorchPredictor([run.model for run in runs], _meta(runs, hp, dataset, splits.task, n_outputs))
        metrics: dict[str, Any] = {}
        if len(splits.y_test):
            pred, proba = predictor.predict_encoded(splits.X_test)
            metrics[f"test_{metric.name}"] = _check_score(metric, splits.y_test, pred, proba)
        metrics.update(best_epoch=stopper.best_epoch_, n_epochs=stopper.n_epochs_,
                       stopped_early=stopper.n_epochs_ < max_epochs, train_seconds=round(train_seconds, 4),
                       train_loss=stopper.best_state_["loss"], n_params=runs[0].model.n_params(),
                       device=str(device))
        folder = reporter.artifact_dir()
        if folder is not None:
            predictor.meta.update(metric=metric.name, **metrics)
            predictor.save(Path(folder))
        assert stopper.best_score_ is not None  # epoch 1 was finite, or it raised above
        return TrialResult(stopper.best_score_, metrics)


def _check_score(metric: Metric, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
    """The metric of (pred, proba) against y, NaN when any output is NaN/inf."""
    if not np.all(np.isfinite(pred if proba is None else proba)):
        return math.nan
    return metric(y, proba if metric.needs_proba and proba is not None else pred)


def _meta(runs: list[_FoldRun], hp: TorchParams, dataset: Dataset, task: str, n_outputs: int) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION, "task": task, "classes": dataset.classes,
        "feature_names": list(dataset.feature_names), "n_inputs": int(runs[0].X.shape[1]),
        "n_outputs": n_outputs, "architecture": hp.architecture(),
        "members": [{"x_mean": r.fold.scaler.mean_.tolist(), "x_scale": r.fold.scaler.scale_.tolist(),
                     "y_mean": r.fold.y_mean, "y_scale": r.fold.y_scale} for r in runs],
    }


def _oom(hp: TorchParams, device: torch.device) -> MemoryError:
    return MemoryError(f"Out of memory on {device} training with batch_size={hp.batch_size} and "
                       f"hidden_layer_sizes={list(hp.hidden_layer_sizes)}; use a smaller batch_size "
                       f"(or smaller layers, or fewer workers per device).")


class TorchMLPClassifierTrainer(_TorchMLPTrainer):
    """PyTorch MLP for binary (one logit, BCE) and multiclass (logits, cross-entropy) data."""

    _tasks = ("binary", "multiclass")


class TorchMLPRegressorTrainer(_TorchMLPTrainer):
    """PyTorch MLP for regression (linear output; mse, l1 or huber loss on standardized y)."""

    _tasks = ("regression",)


# --- saved models ----------------------------------------------------------------------


class TorchPredictor:
    """Trained network(s) with their input standardization; ``cv`` folds predict as an ensemble.

    Args:
        models: one network per fold (one with a holdout validation split).
        meta: what ``model.json`` holds: task, classes, architecture, and per member
            ``x_mean``/``x_scale`` (input standardization) and ``y_mean``/``y_scale``.
    """

    def __init__(self, models: list[FCNN], meta: dict[str, Any]) -> None:
        self.models = models
        self.meta = meta
        self.task: str = meta["task"]
        self.classes_: list | None = meta["classes"]

    def predict_encoded(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """(n,) class indices or values, and (n, k) probabilities (None for regression),
        for raw (n, d) X; members' probabilities (values) are averaged."""
        X = np.asarray(X, dtype=np.float64)
        d = self.meta["n_inputs"]
        if X.ndim != 2 or X.shape[1] != d:
            raise ValueError(f"X must have shape (n, {d}); got {X.shape}.")
        outs = []
        for model, m in zip(self.models, self.meta["members"], strict=True):
            device = next(model.parameters()).device
            Xt = torch.as_tensor((X - np.asarray(m["x_mean"])) / np.asarray(m["x_scale"]),
                                 dtype=torch.float32, device=device)
            pred, proba = outputs_to_predictions(predict_raw(model, Xt), self.task, m["y_mean"], m["y_scale"])
            outs.append(pred if proba is None else proba)
        mean = np.mean(outs, axis=0)
        if self.task == "regression":
            return mean, None
        return mean.argmax(axis=1), mean

    def predict(self, X: Any) -> np.ndarray:
        """(n,) original class labels (classification) or values (regression) for raw (n, d) X."""
        pred, _ = self.predict_encoded(X)
        return pred if self.classes_ is None else np.asarray(self.classes_)[pred]

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, k) class probabilities for raw (n, d) X, columns in ``classes_`` order."""
        proba = self.predict_encoded(X)[1]
        if proba is None:
            raise ValueError("predict_proba needs a classifier; this model is a regressor.")
        return proba

    def save(self, folder: Path) -> None:
        """Write ``model.pt`` (one state_dict per member) and ``model.json`` in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        states = [{k: v.detach().cpu() for k, v in m.state_dict().items()} for m in self.models]
        torch.save(states, folder / "model.pt")
        (folder / "model.json").write_text(json.dumps(self.meta, indent=1, default=_jsonable))


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"{type(v).__name__} is not JSON serializable")


def load_model(path: str | Path) -> TorchPredictor:
    """Reload a model saved by a trial: ``path`` is its folder, ``model.json`` or ``model.pt``.

    Weights load with ``torch.load(..., weights_only=True)`` onto the CPU.
    """
    folder = Path(path)
    folder = folder.parent if folder.is_file() else folder
    meta = json.loads((folder / "model.json").read_text())
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{folder / 'model.json'} has format {meta.get('format')!r}; this hpo reads {FORMAT_VERSION}.")
    states = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    models = []
    for state in states:
        model = FCNN(meta["n_inputs"], meta["n_outputs"], **meta["architecture"])
        model.load_state_dict(state)
        models.append(model.eval())
    return TorchPredictor(models, meta)
