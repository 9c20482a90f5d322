"""Training pieces for PyTorch MLPs: hyperparameters, losses, optimizers, schedules, the epoch loop.

Hyperparameters (a trial's ``params`` merged over the trainer's fixed ones):

=======================  ==========================================================
``hidden_layer_sizes``   units per hidden layer: 64, (64, 32) or "64-32"; or
``n_layers``+``units``   ``n_layers`` layers of ``units`` (default 64) units, layer ``i``
                         overridden by ``units_i`` (``units_i`` with ``i > n_layers`` is
                         ignored: it belongs to an inactive branch of the space); default
                         one layer of 64 units
``activation``           relu, leaky_relu (``negative_slope``), elu, selu, gelu, silu/swish,
                         tanh, sigmoid, softplus
``dropout``              in [0, 1); ``batch_norm`` bool; ``init`` (he/kaiming_*, xavier_*,
                         lecun_normal, or the deliberately bad ``constant`` / ``normal``
                         with ``init_scale``) see :mod:`hpo.models.torch_fcnn`
``optimizer``            sgd (``momentum``, ``nesterov``), adam, adamw, rmsprop (``momentum``)
``lr``                   learning rate; ``weight_decay`` (L2, decoupled for adamw); ``l1``
``batch_size``           rows per step: an int (1 is pure stochastic gradient descent)
                         or ``"full"`` (the whole training part: one step per epoch)
``shuffle``              re-shuffle the rows every epoch (default True); False takes
                         the batches in the data's order every epoch
``lr_schedule``          none | step (x ``lr_gamma`` every ``lr_step_size`` epochs) |
                         cosine (to 0 at ``max_epochs``) | plateau (x ``lr_gamma`` after
                         ``lr_patience`` epochs without a better validation score)
``clip_grad_norm``       clip the global gradient norm to this value (None: off)
``loss``                 regression: mse | l1 (alias mae) | huber (``huber_delta``);
                         binary: bce | mse; multiclass: cross_entropy | mse. A
                         classifier's ``mse`` compares the predicted probabilities
                         (sigmoid / softmax of the outputs) with the one-hot labels
``max_epochs``,          override the trainer's options of the same names for this trial
``patience``,
``min_delta``
=======================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hpo.errors import ConfigError
from hpo.models.base import is_layer_param, resolve_layers
from hpo.models.torch_fcnn import ACTIVATIONS, FCNN, INITS
from hpo.validation import Constraint, Interval, Options, check_names, validate

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "step", "cosine", "plateau")
LOSSES = {
    "binary": ("bce", "mse"),
    "multiclass": ("cross_entropy", "mse"),
    "regression": ("mse", "l1", "mae", "huber"),
}
FULL_BATCH = "full"  # batch_size spelling for one full-batch step per epoch
TASKS = tuple(LOSSES)

DEFAULTS: dict[str, Any] = {
    "hidden_layer_sizes": None,
    "n_layers": None,
    "units": 64,
    "max_epochs": None,
    "patience": None,
    "min_delta": None,  # override the trainer's options
    "activation": "relu",
    "negative_slope": 0.01,
    "dropout": 0.0,
    "batch_norm": False,
    "init": "default",
    "init_scale": 1.0,
    "shuffle": True,
    "optimizer": "adam",
    "lr": 1e-3,
    "momentum": 0.9,
    "nesterov": False,
    "weight_decay": 0.0,
    "l1": 0.0,
    "batch_size": 64,
    "lr_schedule": "none",
    "lr_gamma": 0.1,
    "lr_step_size": 10,
    "lr_patience": 5,
    "clip_grad_norm": None,
    "loss": None,
    "huber_delta": 1.0,
}
_INT1 = Interval(int, 1, integral_floats=True)
CONSTRAINTS: dict[str, list[Constraint]] = {
    "batch_size": [_INT1, Options({FULL_BATCH})],
    "lr_step_size": [_INT1],
    "lr_patience": [Interval(int, 0, integral_floats=True)],
    "max_epochs": [None, _INT1],
    "patience": [None, _INT1],
    "min_delta": [None, Interval(float, 0)],
    "negative_slope": [Interval(float, 0)],
    "weight_decay": [Interval(float, 0)],
    "l1": [Interval(float, 0)],
    "lr": [Interval(float, 0, closed="neither")],
    "huber_delta": [Interval(float, 0, closed="neither")],
    "dropout": [Interval(float, 0, 1, closed="left")],
    "momentum": [Interval(float, 0, 1, closed="left")],
    "lr_gamma": [Interval(float, 0, 1, closed="right")],
    "clip_grad_norm": [None, Interval(float, 0, closed="neither")],
    "batch_norm": [bool],
    "nesterov": [bool],
    "shuffle": [bool],
    "init_scale": [Interval(float, 0, closed="neither")],
    "activation": [Options(ACTIVATIONS)],
    "init": [Options(INITS)],
    "optimizer": [Options(OPTIMIZERS)],
    "lr_schedule": [Options(SCHEDULES)],
}
"""What each hyperparameter must be (layer ones: :data:`hpo.models.base.LAYER_CONSTRAINTS`)."""


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


@dataclass(frozen=True)
class TorchParams:
    """Validated hyperparameters of one trial (see the module docstring)."""

    hidden_layer_sizes: tuple[int, ...]
    activation: str
    negative_slope: float
    dropout: float
    batch_norm: bool
    init: str
    init_scale: float
    shuffle: bool
    optimizer: str
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    l1: float
    batch_size: int | None  # None: full batch
    lr_schedule: str
    lr_gamma: float
    lr_step_size: int
    lr_patience: int
    clip_grad_norm: float | None
    loss: str
    huber_delta: float
    max_epochs: int | None = None
    patience: int | None = None
    min_delta: float | None = None

    def architecture(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~hpo.models.torch_fcnn.FCNN` (less the sizes)."""
        return {
            "hidden_layer_sizes": list(self.hidden_layer_sizes),
            "activation": self.activation,
            "negative_slope": self.negative_slope,
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
            "init": self.init,
            "init_scale": self.init_scale,
        }


def parse_params(params: Mapping[str, Any], task: str | tuple[str, ...], owner: str) -> TorchParams:
    """Check names, types and ranges of ``params``; fill in defaults.

    Args:
        params: hyperparameters by name (the trial's merged over the fixed ones).
        task: "binary", "multiclass" or "regression" (picks the valid losses and the
            default one), or a tuple of them (any of their losses is accepted).
        owner: the trainer's class name, used in error messages.

    Raises:
        ConfigError: naming the parameter, what was expected and what was got.
    """
    check_names(
        [k for k in params if not is_layer_param(k)],
        DEFAULTS,
        owner=owner,
        note=" and units_1, units_2, ... (with n_layers)",
    )
    p = {**DEFAULTS, **params}
    validate(CONSTRAINTS, p, owner=owner)
    if p["nesterov"] and not (p["optimizer"] == "sgd" and p["momentum"] > 0):
        raise ConfigError(
            f"The 'nesterov' parameter of {owner} needs optimizer='sgd' and momentum > 0. "
            f"Got optimizer={p['optimizer']!r}, momentum={p['momentum']!r}."
        )
    tasks = (task,) if isinstance(task, str) else task
    losses = list(dict.fromkeys(name for t in tasks for name in LOSSES[t]))
    if p["batch_norm"] and p["batch_size"] == 1:
        raise ConfigError(
            f"The 'batch_size' parameter of {owner} must be >= 2 with batch_norm=True "
            "(BatchNorm cannot train on one row). Got 1 instead."
        )
    loss = p["loss"] if p["loss"] is not None else losses[0]
    if not (isinstance(loss, str) and loss in losses):
        raise ConfigError(
            f"The 'loss' parameter of {owner} must be a str among {losses} for a "
            f"{' or '.join(tasks)} task. Got {loss!r} instead."
        )
    return TorchParams(
        hidden_layer_sizes=resolve_layers(
            {k: v for k, v in params.items() if is_layer_param(k)},
            owner=owner,
            default_units=DEFAULTS["units"],
        ),
        activation=p["activation"],
        negative_slope=float(p["negative_slope"]),
        dropout=float(p["dropout"]),
        batch_norm=bool(p["batch_norm"]),
        init=p["init"],
        init_scale=float(p["init_scale"]),
        shuffle=bool(p["shuffle"]),
        optimizer=p["optimizer"],
        lr=float(p["lr"]),
        momentum=float(p["momentum"]),
        nesterov=bool(p["nesterov"]),
        weight_decay=float(p["weight_decay"]),
        l1=float(p["l1"]),
        batch_size=None if p["batch_size"] == FULL_BATCH else int(p["batch_size"]),
        lr_schedule=p["lr_schedule"],
        lr_gamma=float(p["lr_gamma"]),
        lr_step_size=int(p["lr_step_size"]),
        lr_patience=int(p["lr_patience"]),
        clip_grad_norm=None if p["clip_grad_norm"] is None else float(p["clip_grad_norm"]),
        loss=loss,
        huber_delta=float(p["huber_delta"]),
        max_epochs=_opt_int(p["max_epochs"]),
        patience=_opt_int(p["patience"]),
        min_delta=None if p["min_delta"] is None else float(p["min_delta"]),
    )


def make_model(hp: TorchParams, n_inputs: int, n_outputs: int) -> FCNN:
    """The network for ``hp`` (initialized from torch's global RNG: seed it first)."""
    return FCNN(n_inputs, n_outputs, **hp.architecture())


class ProbabilityMSELoss(nn.Module):
    """MSE between predicted class probabilities and one-hot labels (the course's contrast
    to cross-entropy: its gradient vanishes when a sigmoid/softmax output saturates wrong).

    Binary: ``mean((sigmoid(z) - y)^2)`` for (n, 1) logits and (n, 1) 0/1 targets;
    multiclass: ``mean((softmax(z) - one_hot(y))^2)`` over all n * k entries.
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.shape[1] == 1:
            return nn.functional.mse_loss(torch.sigmoid(logits), target)
        one_hot = nn.functional.one_hot(target, logits.shape[1]).to(logits.dtype)
        return nn.functional.mse_loss(torch.softmax(logits, dim=1), one_hot)


def make_loss(hp: TorchParams, task: str) -> nn.Module:
    """BCEWithLogits (binary), CrossEntropy (multiclass), MSE on probabilities (either
    classification task, ``loss="mse"``) or MSE/L1/Huber (regression)."""
    if task != "regression" and hp.loss == "mse":
        return ProbabilityMSELoss()
    if task == "binary":
        return nn.BCEWithLogitsLoss()
    if task == "multiclass":
        return nn.CrossEntropyLoss()
    return {
        "mse": nn.MSELoss(),
        "l1": nn.L1Loss(),
        "mae": nn.L1Loss(),
        "huber": nn.HuberLoss(delta=hp.huber_delta),
    }[hp.loss]


def make_optimizer(hp: TorchParams, model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer for ``hp``.

    SGD, Adam and AdamW use PyTorch's fused kernels on CPU and CUDA (one kernel updates
    every tensor: on the CPU it halves Adam's step time for a (128, 128) MLP against
    ``foreach``, see benchmarks/README.md); RMSprop, which has none, uses ``foreach``.
    """
    params, wd = list(model.parameters()), hp.weight_decay
    fused = True if params[0].device.type in ("cpu", "cuda") else None
    foreach = None if fused else True
    if hp.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=hp.lr,
            momentum=hp.momentum,
            nesterov=hp.nesterov,
            weight_decay=wd,
            fused=fused,
            foreach=foreach,
        )
    if hp.optimizer == "adam":
        return torch.optim.Adam(params, lr=hp.lr, weight_decay=wd, fused=fused, foreach=foreach)
    if hp.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=hp.lr, weight_decay=wd, fused=fused, foreach=foreach)
    return torch.optim.RMSprop(
        params, lr=hp.lr, momentum=hp.momentum, weight_decay=wd, foreach=True
    )


def make_scheduler(
    hp: TorchParams, optimizer: torch.optim.Optimizer, max_epochs: int, mode: str = "max"
) -> Any:
    """An LR scheduler stepped once per epoch, or None; ``mode`` is the validation score's."""
    if hp.lr_schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, hp.lr_step_size, gamma=hp.lr_gamma)
    if hp.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max_epochs)
    if hp.lr_schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="max" if mode == "max" else "min",
            factor=hp.lr_gamma,
            patience=hp.lr_patience,
        )
    return None


def train_epoch(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    batch_size: int | None,
    generator: torch.Generator,
    l1: float = 0.0,
    clip_grad_norm: float | None = None,
    drop_last_single: bool = False,
    shuffle: bool = True,
) -> torch.Tensor:
    """One pass over ``(X, y)`` in mini-batches of a fresh random order (or in order).

    The rows are permuted once (one gather), then batches are views of the permuted
    tensors: no DataLoader, no per-sample indexing. Step losses stay on the device and
    are combined once at the end, so the step loop never syncs (no ``.item()``) and
    spends no extra op per step on bookkeeping.

    Args:
        X: (n, d) inputs on the model's device; y: (n,) or (n, 1) targets.
        batch_size: rows per step; None takes all n rows in one step (full batch).
        generator: a CPU generator that draws the permutation (the trial's seed).
        l1: weight of the L1 penalty on the Linear weights (not biases).
        clip_grad_norm: clip the global gradient norm to this value.
        drop_last_single: skip a last batch of one row (BatchNorm cannot train on it).
        shuffle: permute the rows first; False takes the batches in row order.

    Returns:
        The mean training loss over the epoch, a 0-d tensor on the device (not synced).
    """
    model.train()
    n = X.shape[0]
    batch_size = n if batch_size is None else batch_size
    if shuffle:
        perm = torch.randperm(n, generator=generator).to(X.device)
        Xs, ys = X[perm], y[perm]
    else:
        Xs, ys = X, y
    stop = n - 1 if drop_last_single and n % batch_size == 1 else n
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)] if l1 > 0 else []
    params = list(model.parameters()) if clip_grad_norm else []
    losses = []
    for start in range(0, stop, batch_size):
        xb, yb = Xs[start : start + batch_size], ys[start : start + batch_size]
        loss = loss_fn(model(xb), yb)
        if weights:
            loss = loss + l1 * torch.stack([w.abs().sum() for w in weights]).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad_norm:
            nn.utils.clip_grad_norm_(params, clip_grad_norm, foreach=True)
        optimizer.step()
        losses.append(loss.detach())
    sizes = torch.full((len(losses),), float(batch_size), device=X.device)
    sizes[-1] = stop - batch_size * (len(losses) - 1)
    return torch.dot(torch.stack(losses), sizes) / stop


@torch.inference_mode()
def predict_raw(model: nn.Module, X: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
    """Network outputs (logits or values) for all rows of ``X`` in eval mode, in large chunks."""
    model.eval()
    return torch.cat([model(X[i : i + chunk]) for i in range(0, X.shape[0], chunk)])
