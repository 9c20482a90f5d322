"""Each existing torch option takes effect: the right module, the optimizer's settings,
weights that shrink, a learning rate that moves. Trainer-level tests spy on the components
the trainer calls (make_model, make_optimizer, train_epoch) and train for real."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from hpo.models import torch_components, torch_trainer
from hpo.models.torch_components import (
    make_loss,
    make_model,
    make_optimizer,
    parse_params,
    train_epoch,
)
from hpo.models.torch_trainer import TorchMLPClassifierTrainer
from hpo.objective import NullReporter

MOONS = {"name": "moons", "n_samples": 80, "noise": 0.2}


@pytest.fixture(autouse=True)
def one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPO_THREADS_PER_WORKER", "1")


def spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[dict[str, Any]]:
    """Wrap torch_trainer.<name>: record each call's bound arguments and its result."""
    real: Callable[..., Any] = getattr(torch_components, name)
    signature = inspect.signature(real)
    calls: list[dict[str, Any]] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        result = real(*args, **kwargs)
        calls.append({**bound.arguments, "result": result})
        return result

    monkeypatch.setattr(torch_trainer, name, wrapper)
    return calls


def fit(params: dict[str, Any], **options: Any) -> None:
    trainer = TorchMLPClassifierTrainer(**{"max_epochs": 3, "patience": 10, **options})
    trainer.fit({"hidden_layer_sizes": [8], **params}, MOONS, NullReporter(seed=0))


# --- activations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "module"),
    [
        ("relu", nn.ReLU),
        ("leaky_relu", nn.LeakyReLU),
        ("elu", nn.ELU),
        ("selu", nn.SELU),
        ("gelu", nn.GELU),
        ("silu", nn.SiLU),
        ("swish", nn.SiLU),
        ("tanh", nn.Tanh),
        ("sigmoid", nn.Sigmoid),
        ("softplus", nn.Softplus),
    ],
)
def test_the_trainer_builds_each_activation_as_its_module(
    monkeypatch: pytest.MonkeyPatch, activation: str, module: type[nn.Module]
) -> None:
    built = spy(monkeypatch, "make_model")
    fit({"activation": activation, "hidden_layer_sizes": [8, 4]}, max_epochs=1)
    kinds = [type(m) for m in built[0]["result"]]
    assert kinds == [nn.Linear, module, nn.Linear, module, nn.Linear]


def test_negative_slope_reaches_leaky_relu_and_its_init_gain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = spy(monkeypatch, "make_model")
    fit({"activation": "leaky_relu", "negative_slope": 0.3}, max_epochs=1)
    leaky = built[0]["result"][1]
    assert isinstance(leaky, nn.LeakyReLU) and leaky.negative_slope == 0.3
    assert leaky(torch.tensor([-2.0])).item() == pytest.approx(-0.6)
    torch.manual_seed(0)  # Kaiming gain sqrt(2 / (1 + slope^2)): a steeper slope, smaller weights
    steep = make_model(
        parse_params(
            {"activation": "leaky_relu", "negative_slope": 3.0, "hidden_layer_sizes": [400]},
            "binary",
            "T",
        ),
        400,
        1,
    )
    torch.manual_seed(0)
    flat = make_model(
        parse_params(
            {"activation": "leaky_relu", "negative_slope": 0.0, "hidden_layer_sizes": [400]},
            "binary",
            "T",
        ),
        400,
        1,
    )
    assert steep[0].weight.std().item() < 0.5 * flat[0].weight.std().item()


# --- optimizers ---------------------------------------------------------------------------


def test_nesterov_and_momentum_reach_sgd(monkeypatch: pytest.MonkeyPatch) -> None:
    made = spy(monkeypatch, "make_optimizer")
    fit({"optimizer": "sgd", "nesterov": True, "momentum": 0.7})
    optimizer = made[0]["result"]
    assert isinstance(optimizer, torch.optim.SGD)
    group = optimizer.param_groups[0]
    assert group["nesterov"] is True and group["momentum"] == 0.7
    assert optimizer.state[group["params"][0]]["momentum_buffer"] is not None  # it trained


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("sgd", torch.optim.SGD),
        ("adam", torch.optim.Adam),
        ("adamw", torch.optim.AdamW),
        ("rmsprop", torch.optim.RMSprop),
    ],
)
def test_weight_decay_reaches_every_optimizer(
    monkeypatch: pytest.MonkeyPatch, name: str, cls: type[torch.optim.Optimizer]
) -> None:
    made = spy(monkeypatch, "make_optimizer")
    fit({"optimizer": name, "weight_decay": 0.05, "lr": 0.02}, max_epochs=1)
    optimizer = made[0]["result"]
    assert type(optimizer) is cls
    assert optimizer.param_groups[0]["weight_decay"] == 0.05
    assert optimizer.param_groups[0]["lr"] == 0.02


def test_l1_and_clip_grad_norm_reach_every_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    epochs = spy(monkeypatch, "train_epoch")
    fit({"l1": 0.01, "clip_grad_norm": 0.5, "batch_size": 16})
    assert len(epochs) == 3
    assert all(
        c["l1"] == 0.01 and c["clip_grad_norm"] == 0.5 and c["batch_size"] == 16 for c in epochs
    )


def _one_epoch(**params: Any) -> nn.Module:
    """One epoch of SGD on fixed data from a fixed init, with the trainer's own components."""
    hp = parse_params(
        {
            "optimizer": "sgd",
            "lr": 0.1,
            "momentum": 0.0,
            "batch_size": 8,
            "hidden_layer_sizes": [16],
            **params,
        },
        "binary",
        "T",
    )
    torch.manual_seed(0)
    X = torch.randn(64, 5)
    y = (X[:, :1] > 0).float()
    model = make_model(hp, 5, 1)
    train_epoch(
        model,
        X,
        y,
        make_loss(hp, "binary"),
        make_optimizer(hp, model),
        hp.batch_size,
        torch.Generator().manual_seed(0),
        hp.l1,
        hp.clip_grad_norm,
    )
    return model


def _weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight.detach() for m in model.modules() if isinstance(m, nn.Linear)]


def test_weight_decay_shrinks_the_weights() -> None:
    plain, decayed = _one_epoch(), _one_epoch(weight_decay=0.5)
    assert sum(w.norm() for w in _weights(decayed)) < 0.9 * sum(w.norm() for w in _weights(plain))


def test_l1_shrinks_the_weights_towards_zero() -> None:
    plain, sparse = _one_epoch(), _one_epoch(l1=0.2)
    assert sum(w.abs().sum() for w in _weights(sparse)) < 0.9 * sum(
        w.abs().sum() for w in _weights(plain)
    )


def test_clip_grad_norm_limits_the_step() -> None:
    start = _one_epoch(lr=1e-12)  # the init, practically
    free, clipped = _one_epoch(lr=1.0), _one_epoch(lr=1.0, clip_grad_norm=1e-3)

    def moved(model: nn.Module) -> float:
        return float(
            sum((a - b).norm() for a, b in zip(_weights(model), _weights(start), strict=True))
        )

    assert moved(clipped) < 0.1 * moved(free)


# --- schedules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"lr_schedule": "none"}, 0.1),
        ({"lr_schedule": "step", "lr_step_size": 1, "lr_gamma": 0.5}, 0.1 * 0.5**4),
        ({"lr_schedule": "step", "lr_step_size": 2, "lr_gamma": 0.5}, 0.1 * 0.5**2),
        ({"lr_schedule": "cosine"}, 0.0),  # anneals to 0 at max_epochs
    ],
)
def test_the_schedule_moves_the_learning_rate_each_epoch(
    monkeypatch: pytest.MonkeyPatch, schedule: dict, expected: float
) -> None:
    made = spy(monkeypatch, "make_optimizer")
    fit({"optimizer": "sgd", "lr": 0.1, **schedule}, max_epochs=4)
    assert made[0]["result"].param_groups[0]["lr"] == pytest.approx(expected, abs=1e-12)


def test_plateau_lowers_the_rate_when_the_score_stalls(monkeypatch: pytest.MonkeyPatch) -> None:
    made = spy(monkeypatch, "make_optimizer")
    # lr so small the validation score cannot improve: every epoch after the first is a plateau
    fit(
        {
            "optimizer": "sgd",
            "lr": 1e-5,
            "momentum": 0.0,
            "lr_schedule": "plateau",
            "lr_patience": 0,
            "lr_gamma": 0.5,
        },
        max_epochs=4,
    )
    assert made[0]["result"].param_groups[0]["lr"] == pytest.approx(1e-5 * 0.5**3)
