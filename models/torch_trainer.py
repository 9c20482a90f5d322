"""The PyTorch MLP model family: ``TorchMLPClassifierTrainer`` / ``TorchMLPRegressorTrainer``.

The loop (splits, one network per fold trained in lockstep, the mean validation score
reported every epoch, early stopping with the best epoch's weights restored, the fold
ensemble's test score) is :class:`~hpo.models.base.EpochTrainer`'s; this module builds
the networks (:mod:`hpo.models.torch_components`), trains one epoch, predicts, and
saves the ensemble. With ``cv``, the fold models form an ensemble (mean probabilities,
or mean values): it gives the test score and is what is saved.

``split_seed`` (default 0) fixes the splits so every trial of a study sees the same
rows; the trial's ``reporter.seed`` drives weight init, shuffling and dropout.
When ``reporter.artifact_dir()`` gives a folder, ``model.pt`` (state_dicts) and
``model.json`` (architecture, task, classes, scalers, scores) are written there;
:func:`load_model` reloads them as a :class:`TorchPredictor`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hpo.errors import ConfigError
from hpo.models.base import LAYER_PARAM_NAMES, OPTION_CONSTRAINTS, EpochTrainer, TrainingRun
from hpo.models.splits import Fold
from hpo.models.torch_components import (
    DEFAULTS,
    TorchParams,
    make_loss,
    make_model,
    make_optimizer,
    make_scheduler,
    parse_params,
    predict_raw,
    train_epoch,
)
from hpo.models.torch_fcnn import FCNN
from hpo.objective import Reporter
from hpo.resources import threads_per_worker

FORMAT_VERSION = 1


def outputs_to_predictions(
    out: torch.Tensor, task: str, y_mean: float = 0.0, y_scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray | None]:
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


@dataclass
class _Member:
    """One network being trained on one fold: tensors on the device, optimizer, schedule."""

    model: FCNN
    optimizer: torch.optim.Optimizer
    scheduler: Any
    loss_fn: nn.Module
    X: torch.Tensor
    y: torch.Tensor
    X_val: torch.Tensor
    X_val_source: np.ndarray  # the fold's array X_val was made from: validation reuses the tensor
    task: str


@dataclass
class _Session:
    """What one fit shares across its folds: the device and the shuffling generator."""

    device: torch.device
    generator: torch.Generator


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
        raise ConfigError(
            f"Device {device!r} was requested but CUDA is not available here; use 'cpu' or "
            f"device=None."
        )
    return dev


class _TorchMLPTrainer(EpochTrainer):
    """Shared by the classifier and the regressor; see the module docstring."""

    option_constraints = {**OPTION_CONSTRAINTS, "device": [None, str]}

    def __init__(self, *, device: str | None = None, **options: Any) -> None:
        """Store the options (checked here so a bad study fails before it starts).

        Args:
            device: "cpu", "cuda", "cuda:N"; None picks CUDA when available.
            **options: the options every family takes (see
                :class:`~hpo.models.base.EpochTrainer`) and hyperparameters fixed for every
                trial (see :mod:`hpo.models.torch_components`).
        """
        self.device = device
        super().__init__(**options)

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*DEFAULTS, *LAYER_PARAM_NAMES, *super().param_names())))

    def parse(self, params: Mapping[str, Any], task: str | tuple[str, ...]) -> TorchParams:
        return parse_params(params, task, self.name)

    @contextmanager
    def session(self, run: TrainingRun) -> Iterator[_Session]:
        """Seeded init and shuffling, a thread cap, and out-of-memory as a MemoryError."""
        device = resolve_device(self.device)
        threads = torch.get_num_threads()
        torch.set_num_threads(threads_per_worker())
        torch.manual_seed(run.seed)
        try:
            yield _Session(device, torch.Generator().manual_seed(run.seed))
        except torch.OutOfMemoryError as e:
            raise _oom(run.hp, device) from e
        except RuntimeError as e:
            if "out of memory" in str(e) or "can't allocate memory" in str(e):
                raise _oom(run.hp, device) from e
            raise
        finally:
            torch.set_num_threads(threads)

    def build(self, hp: TorchParams, fold: Fold, run: TrainingRun) -> _Member:
        device = run.context.device
        model = make_model(hp, fold.X_train.shape[1], run.n_outputs).to(device)
        optimizer = make_optimizer(hp, model)
        return _Member(
            model,
            optimizer,
            make_scheduler(hp, optimizer, run.max_epochs, run.metric.mode),
            make_loss(hp, run.task),
            torch.as_tensor(fold.X_train, dtype=torch.float32, device=device),
            _target_tensor(fold.y_train, run.task, device),
            torch.as_tensor(fold.X_val, dtype=torch.float32, device=device),
            fold.X_val,
            run.task,
        )

    def train_epoch(self, member: _Member, fold: Fold, run: TrainingRun) -> torch.Tensor:
        hp = run.hp
        return train_epoch(
            member.model,
            member.X,
            member.y,
            member.loss_fn,
            member.optimizer,
            hp.batch_size,
            run.context.generator,
            hp.l1,
            hp.clip_grad_norm,
            drop_last_single=hp.batch_norm,
            shuffle=hp.shuffle,
        )

    def after_epoch(self, member: _Member, score: float) -> None:
        if isinstance(member.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            member.scheduler.step(score)
        elif member.scheduler is not None:
            member.scheduler.step()

    def _outputs(self, member: _Member, X: np.ndarray) -> torch.Tensor:
        device = next(member.model.parameters()).device
        Xt = (
            member.X_val
            if X is member.X_val_source
            else torch.as_tensor(X, dtype=torch.float32, device=device)
        )
        return predict_raw(member.model, Xt)

    def predict(self, member: _Member, X: np.ndarray) -> np.ndarray:
        return outputs_to_predictions(self._outputs(member, X), "regression")[0]

    def predict_proba(self, member: _Member, X: np.ndarray) -> np.ndarray:
        proba = outputs_to_predictions(self._outputs(member, X), member.task)[1]
        assert proba is not None
        return proba

    def get_state(self, member: _Member) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in member.model.state_dict().items()}

    def set_state(self, member: _Member, state: dict[str, torch.Tensor]) -> None:
        member.model.load_state_dict(state)

    def divergence_hint(self, hp: TorchParams) -> str:
        return f"Use a smaller lr (got {hp.lr:g}) or set clip_grad_norm."

    def finish(
        self, run: TrainingRun, metrics: dict[str, Any], reporter: Reporter
    ) -> dict[str, Any]:
        """``n_params`` and ``device``; saves the fold ensemble when the trial keeps weights."""
        models = [m.model for m in run.members]
        extra = {"n_params": models[0].n_params(), "device": str(run.context.device)}
        folder = reporter.artifact_dir()
        if folder is not None:
            predictor = TorchPredictor(models, _meta(run))
            predictor.meta.update(metric=run.metric.name, **metrics, **extra)
            predictor.save(Path(folder))
        return extra


def _meta(run: TrainingRun) -> dict[str, Any]:
    folds = run.splits.folds
    return {
        "format": FORMAT_VERSION,
        "task": run.task,
        "classes": run.dataset.classes,
        "feature_names": list(run.dataset.feature_names),
        "n_inputs": int(folds[0].X_train.shape[1]),
        "n_outputs": run.n_outputs,
        "architecture": run.hp.architecture(),
        "members": [
            {
                "x_mean": f.scaler.mean_.tolist(),
                "x_scale": f.scaler.scale_.tolist(),
                "y_mean": f.y_mean,
                "y_scale": f.y_scale,
            }
            for f in folds
        ],
    }


def _oom(hp: TorchParams, device: torch.device) -> MemoryError:
    return MemoryError(
        f"Out of memory on {device} training with batch_size={hp.batch_size or 'full'} and "
        f"hidden_layer_sizes={list(hp.hidden_layer_sizes)}; use a smaller batch_size "
        f"(or smaller layers, or fewer workers per device)."
    )


class TorchMLPClassifierTrainer(_TorchMLPTrainer):
    """PyTorch MLP for binary (one logit, BCE) and multiclass (logits, cross-entropy) data."""

    tasks = ("binary", "multiclass")
    sibling = "torch-mlp-regressor"


class TorchMLPRegressorTrainer(_TorchMLPTrainer):
    """PyTorch MLP for regression (linear output; mse, l1 or huber loss on standardized y)."""

    tasks = ("regression",)
    sibling = "torch-mlp-classifier"


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
            Xt = torch.as_tensor(
                (X - np.asarray(m["x_mean"])) / np.asarray(m["x_scale"]),
                dtype=torch.float32,
                device=device,
            )
            pred, proba = outputs_to_predictions(
                predict_raw(model, Xt), self.task, m["y_mean"], m["y_scale"]
            )
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
        raise ValueError(
            f"{folder / 'model.json'} has format {meta.get('format')!r}; this hpo reads "
            f"{FORMAT_VERSION}."
        )
    states = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    models = []
    for state in states:
        model = FCNN(meta["n_inputs"], meta["n_outputs"], **meta["architecture"])
        model.load_state_dict(state)
        models.append(model.eval())
    return TorchPredictor(models, meta)
