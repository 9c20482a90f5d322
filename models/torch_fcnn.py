"""PyTorch fully-connected networks: layers, activations and weight initialization.

One hidden block is ``Linear -> [BatchNorm1d] -> activation -> [Dropout]``; the output
layer is a plain ``Linear`` (logits for classification, values for regression).
Training, losses and optimizers live in :mod:`hpo.models.torch_components`; the trainers
registered as ``torch-mlp-classifier`` / ``torch-mlp-regressor`` and ``load_model`` live
in :mod:`hpo.models.torch_trainer` and are re-exported here (lazily: no import cycle).

Initialization (``init``): ``"default"`` picks what suits the activation (Kaiming-He
normal for the ReLU family, Xavier-Glorot uniform for tanh/sigmoid, LeCun normal for
SELU); ``"torch"`` keeps PyTorch's own ``nn.Linear`` initialization. Named schemes use
the activation's gain on hidden layers, gain 1 on the output layer, and zero biases;
``he``, ``xavier`` and ``lecun`` are the course's names for ``kaiming_normal``,
``xavier_uniform`` and ``lecun_normal``.

Two schemes are deliberately bad, for the lesson on vanishing and exploding signals:
``"constant"`` sets every weight to ``init_scale`` (every unit of a layer computes the
same thing and gets the same gradient, so the symmetry never breaks), and ``"normal"``
draws weights from N(0, ``init_scale``^2) whatever the layer's fan-in (with the default
``init_scale=1`` a 784-input layer's outputs are ~28x too large, and grow layer by layer).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

ACTIVATIONS: dict[str, Callable[[float], nn.Module]] = {
    "relu": lambda slope: nn.ReLU(),
    "leaky_relu": lambda slope: nn.LeakyReLU(slope),
    "elu": lambda slope: nn.ELU(),
    "selu": lambda slope: nn.SELU(),
    "gelu": lambda slope: nn.GELU(),
    "silu": lambda slope: nn.SiLU(),
    "swish": lambda slope: nn.SiLU(),
    "tanh": lambda slope: nn.Tanh(),
    "sigmoid": lambda slope: nn.Sigmoid(),
    "softplus": lambda slope: nn.Softplus(),
}
INITS = (
    "default",
    "kaiming_uniform",
    "kaiming_normal",
    "xavier_uniform",
    "xavier_normal",
    "lecun_normal",
    "torch",
    "he",
    "xavier",
    "lecun",
    "constant",
    "normal",
)
INIT_ALIASES = {"he": "kaiming_normal", "xavier": "xavier_uniform", "lecun": "lecun_normal"}
_DEFAULT_INIT = {"tanh": "xavier_uniform", "sigmoid": "xavier_uniform", "selu": "lecun_normal"}


def default_init(activation: str) -> str:
    """The initialization that suits ``activation`` (Kaiming-He normal unless listed)."""
    return _DEFAULT_INIT.get(activation, "kaiming_normal")


def gain(activation: str, negative_slope: float = 0.01) -> float:
    """Standard-deviation gain keeping activations' variance stable through a layer."""
    if activation == "leaky_relu":
        return math.sqrt(2.0 / (1.0 + negative_slope**2))
    if activation == "tanh":
        return 5.0 / 3.0
    if activation in ("sigmoid", "selu", "linear"):
        return 1.0
    return math.sqrt(2.0)  # relu, elu, gelu, silu/swish, softplus


def init_linear(layer: nn.Linear, init: str, g: float, scale: float = 1.0) -> None:
    """Initialize ``layer`` in place with scheme ``init`` and gain ``g`` (bias -> 0);
    ``scale`` is the weight of ``"constant"`` and the std of ``"normal"``."""
    init = INIT_ALIASES.get(init, init)
    if init == "torch":
        layer.reset_parameters()
        return
    if init in ("constant", "normal"):
        with torch.no_grad():
            if init == "constant":
                layer.weight.fill_(scale)
            else:
                layer.weight.normal_(0.0, scale)
            if layer.bias is not None:
                layer.bias.zero_()
        return
    fan_out, fan_in = layer.weight.shape
    if init in ("kaiming_uniform", "kaiming_normal"):
        std = g / math.sqrt(fan_in)
    elif init in ("xavier_uniform", "xavier_normal"):
        std = g * math.sqrt(2.0 / (fan_in + fan_out))
    elif init == "lecun_normal":
        std = 1.0 / math.sqrt(fan_in)
    else:
        raise ValueError(f"Unknown init {init!r}; use one of {list(INITS)}.")
    with torch.no_grad():
        if init.endswith("uniform"):
            bound = math.sqrt(3.0) * std  # Var(U(-b, b)) = b^2 / 3
            layer.weight.uniform_(-bound, bound)
        else:
            layer.weight.normal_(0.0, std)
        if layer.bias is not None:
            layer.bias.zero_()


class FCNN(nn.Sequential):
    """A fully-connected network: ``n_inputs -> hidden_layer_sizes... -> n_outputs``.

    Args:
        n_inputs: number of input features.
        n_outputs: output width (1 for binary or regression, K for K classes).
        hidden_layer_sizes: units of each hidden layer; empty gives a linear model.
        activation: a key of :data:`ACTIVATIONS`.
        negative_slope: slope of ``leaky_relu`` for negative inputs.
        dropout: drop probability after each hidden activation (AlphaDropout for SELU).
        batch_norm: add ``BatchNorm1d`` between each hidden Linear and its activation.
        init: a name in :data:`INITS`; ``"default"`` suits the activation.
        init_scale: the weight of ``init="constant"``, the std of ``init="normal"``.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        hidden_layer_sizes: Sequence[int] = (64,),
        activation: str = "relu",
        negative_slope: float = 0.01,
        dropout: float = 0.0,
        batch_norm: bool = False,
        init: str = "default",
        init_scale: float = 1.0,
    ) -> None:
        layers: list[nn.Module] = []
        width = n_inputs
        for units in hidden_layer_sizes:
            layers.append(nn.Linear(width, units, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(ACTIVATIONS[activation](negative_slope))
            if dropout > 0:
                layers.append(
                    nn.AlphaDropout(dropout) if activation == "selu" else nn.Dropout(dropout)
                )
            width = units
        layers.append(nn.Linear(width, n_outputs))
        super().__init__(*layers)
        scheme = default_init(activation) if init == "default" else init
        linears = [m for m in self if isinstance(m, nn.Linear)]
        for layer in linears[:-1]:
            init_linear(layer, scheme, gain(activation, negative_slope), init_scale)
        init_linear(linears[-1], scheme, gain("linear"), init_scale)

    def n_params(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def __getattr__(name: str) -> Any:
    """Re-export the trainers and loader (the registry imports them from this module)."""
    if name in (
        "TorchMLPClassifierTrainer",
        "TorchMLPRegressorTrainer",
        "load_model",
        "TorchPredictor",
    ):
        from hpo.models import torch_trainer

        return getattr(torch_trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ACTIVATIONS", "INITS", "INIT_ALIASES", "FCNN", "default_init", "gain", "init_linear"]
