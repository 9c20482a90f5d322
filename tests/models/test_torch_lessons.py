"""The course's contrasts as options, each shown to take effect (not only to run).

shuffle on/off, pure stochastic / mini-batch / full batch, cross-entropy vs MSE on
one-hot outputs, He / Xavier / LeCun vs a constant or too-large normal init; for the
scikit-learn family, shuffle and full batch where MLPClassifier supports them.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pytest
import torch
from torch import nn

from hpo.errors import ConfigError
from hpo.models.sklearn_mlp import SklearnMLPClassifierTrainer
from hpo.models.torch_components import ProbabilityMSELoss, make_loss, parse_params, train_epoch
from hpo.models.torch_fcnn import FCNN
from hpo.models.torch_trainer import TorchMLPClassifierTrainer, TorchMLPRegressorTrainer, load_model
from hpo.objective import NullReporter

MOONS = {"name": "moons", "n_samples": 60, "noise": 0.2}  # 48 training rows after the test split
C = "TorchMLPClassifierTrainer"


@pytest.fixture(autouse=True)
def one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPO_THREADS_PER_WORKER", "1")


class Keeper(NullReporter):
    """Keeps the trained weights in a folder."""

    def __init__(self, folder: Path, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.folder = folder

    def artifact_dir(self) -> Path | None:
        return self.folder


class BatchSpy(nn.Module):
    """A linear model that records the first input value of every batch it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.seen: list[list[float]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen.append(x[:, 0].tolist())
        return self.linear(x)


def _epoch(
    model: nn.Module, n: int, batch_size: int | None, shuffle: bool = True, seed: int = 0
) -> int:
    """One epoch over rows 0..n-1 (x = the row number); returns the optimizer steps taken."""
    X = torch.arange(n, dtype=torch.float32).reshape(-1, 1)
    y = torch.zeros(n, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    steps = 0
    original = optimizer.step

    def counted(*args, **kwargs):
        nonlocal steps
        steps += 1
        return original(*args, **kwargs)

    optimizer.step = counted  # type: ignore[method-assign]
    train_epoch(
        model,
        X,
        y,
        nn.MSELoss(),
        optimizer,
        batch_size,
        torch.Generator().manual_seed(seed),
        shuffle=shuffle,
    )
    return steps


# --- shuffle ---------------------------------------------------------------------------


def test_shuffle_off_takes_the_batches_in_row_order_every_epoch() -> None:
    spy = BatchSpy()
    _epoch(spy, 10, 4, shuffle=False)
    _epoch(spy, 10, 4, shuffle=False, seed=1)
    in_order = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert spy.seen == in_order + in_order
    shuffled = BatchSpy()
    _epoch(shuffled, 10, 4, shuffle=True)
    rows = sum(shuffled.seen, [])
    assert sorted(rows) == list(range(10)) and shuffled.seen != in_order


def test_shuffle_off_leaves_nothing_to_the_seed_with_a_fixed_init() -> None:
    """With a constant init and no dropout, the trial seed only draws the batch order."""
    trainer = TorchMLPClassifierTrainer(max_epochs=3, patience=3, device="cpu")
    base = {"hidden_layer_sizes": [8], "init": "constant", "init_scale": 0.1, "batch_size": 8}

    def loss(seed: int, shuffle: bool) -> float:
        return trainer.fit({**base, "shuffle": shuffle}, MOONS, NullReporter(seed=seed)).metrics[
            "train_loss"
        ]

    assert loss(0, False) == loss(1, False)
    assert loss(0, True) != loss(1, True)


# --- batch size: pure stochastic, mini-batch, full batch -------------------------------------


@pytest.mark.parametrize(("batch_size", "steps"), [(1, 10), (4, 3), (None, 1)])
def test_steps_per_epoch_follow_the_batch_size(batch_size: int | None, steps: int) -> None:
    assert _epoch(BatchSpy(), 10, batch_size) == steps


def test_full_batch_is_spelled_full_and_makes_the_order_irrelevant() -> None:
    assert parse_params({"batch_size": "full"}, "binary", C).batch_size is None
    trainer = TorchMLPClassifierTrainer(max_epochs=3, patience=3, device="cpu")
    base = {"hidden_layer_sizes": [8], "init": "constant", "init_scale": 0.1}

    def loss(seed: int, batch_size: int | str) -> float:
        return trainer.fit(
            {**base, "batch_size": batch_size}, MOONS, NullReporter(seed=seed)
        ).metrics["train_loss"]

    # one step on all rows: the gradient is a mean over the same rows in any order
    assert loss(0, "full") == pytest.approx(loss(1, "full"), rel=1e-6)
    assert abs(loss(0, 8) - loss(1, 8)) > 1e-4
    with pytest.raises(
        ConfigError,
        match=r"'batch_size' parameter of .* an int >= 1 or a str among \['full'\]. Got 'half'",
    ):
        parse_params({"batch_size": "half"}, "binary", C)


def test_batch_size_one_trains_a_whole_study_trial() -> None:
    result = TorchMLPClassifierTrainer(max_epochs=2, patience=2, device="cpu").fit(
        {"hidden_layer_sizes": [4], "batch_size": 1, "optimizer": "sgd", "lr": 0.05},
        MOONS,
        NullReporter(),
    )
    assert result.metrics["n_epochs"] == 2 and 0.0 <= result.value <= 1.0


# --- loss: cross-entropy vs MSE on one-hot outputs; BCE; MSE/MAE/Huber -----------------------


def test_mse_for_classification_compares_probabilities_with_one_hot_labels() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.0, 0.0, 3.0]])
    target = torch.tensor([0, 1])
    probs = torch.softmax(logits, dim=1)
    one_hot = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    hp = parse_params({"loss": "mse"}, "multiclass", C)
    assert isinstance(make_loss(hp, "multiclass"), ProbabilityMSELoss)
    assert make_loss(hp, "multiclass")(logits, target).item() == pytest.approx(
        ((probs - one_hot) ** 2).mean().item()
    )
    z, y = torch.tensor([[1.5], [-0.5]]), torch.tensor([[1.0], [1.0]])
    binary = make_loss(parse_params({"loss": "mse"}, "binary", C), "binary")
    assert binary(z, y).item() == pytest.approx(((torch.sigmoid(z) - y) ** 2).mean().item())


def test_the_lesson_mse_gradient_vanishes_on_a_confidently_wrong_output() -> None:
    """Why cross-entropy beats MSE for classification: at a saturated wrong logit the BCE
    gradient stays ~1 while the MSE-on-probability gradient is ~1e-4."""
    grads = {}
    for loss in ("bce", "mse"):
        z = torch.tensor([[-10.0]], requires_grad=True)
        make_loss(parse_params({"loss": loss}, "binary", C), "binary")(
            z, torch.tensor([[1.0]])
        ).backward()
        grads[loss] = abs(cast(torch.Tensor, z.grad).item())
    assert grads["bce"] > 0.99 and grads["mse"] < 1e-3


class Curve(NullReporter):
    def __init__(self) -> None:
        super().__init__(seed=0)
        self.values: list[float] = []  # type: ignore[assignment]  # a test double: a plain list

    def report(self, step: int, value: float) -> None:
        self.values.append(value)


def test_mse_and_cross_entropy_train_differently() -> None:
    trainer = TorchMLPClassifierTrainer(max_epochs=3, patience=3, device="cpu")
    params = {"hidden_layer_sizes": [8], "batch_size": 8}
    curves, losses = {}, {}
    for loss in ("cross_entropy", "mse"):
        curves[loss] = Curve()
        losses[loss] = trainer.fit({**params, "loss": loss}, "digits", curves[loss]).metrics[
            "train_loss"
        ]
    assert 0.0 <= losses["mse"] <= 2.0 / 10  # a mean over n*k one-hot entries, k = 10
    assert losses["cross_entropy"] > 10 * losses["mse"]  # CE is -log p: ~1.3 here
    assert curves["mse"].values != curves["cross_entropy"].values  # same seed, other curve


def test_mae_is_the_l1_loss_and_huber_in_between() -> None:
    out, y = torch.tensor([[0.0], [3.0]]), torch.tensor([[1.0], [0.0]])
    values = {
        loss: make_loss(parse_params({"loss": loss}, "regression", "T"), "regression")(
            out, y
        ).item()
        for loss in ("mse", "mae", "l1", "huber")
    }
    assert values["mae"] == values["l1"] == pytest.approx(2.0)
    assert values["mse"] == pytest.approx(5.0) and values["huber"] == pytest.approx((0.5 + 2.5) / 2)
    result = TorchMLPRegressorTrainer(metric="mae", max_epochs=2, patience=2).fit(
        {"loss": "mae", "hidden_layer_sizes": [8]},
        {"name": "poly", "n_samples": 60},
        NullReporter(),
    )
    assert result.metrics["n_epochs"] == 2


# --- initialization ------------------------------------------------------------------------


def _hidden_std(init: str, scale: float = 1.0, depth: int = 4) -> float:
    torch.manual_seed(0)
    net = FCNN(256, 1, [256] * depth, activation="relu", init=init, init_scale=scale)
    x = torch.rand(512, 256)  # pixel-like inputs in [0, 1]
    with torch.no_grad():
        for layer in list(net)[:-1]:  # the last hidden activation's output
            x = layer(x)
    return float(x.std())


def test_named_inits_keep_the_signal_and_the_too_large_normal_explodes() -> None:
    he, xavier, lecun = _hidden_std("he"), _hidden_std("xavier"), _hidden_std("lecun")
    assert 0.1 < he < 10 and 0.01 < xavier < 10 and 0.01 < lecun < 10
    assert lecun < 0.5 * he  # LeCun has no ReLU gain of sqrt(2): the signal halves every 2 layers
    assert _hidden_std("normal", 1.0) > 1e4 * he  # sqrt(256 / 2) ~ 11x per layer, 4 layers
    assert _hidden_std("normal", 1e-3) < 1e-6  # too small: the signal vanishes
    torch.manual_seed(0)
    weights = FCNN(784, 10, [128], init="normal", init_scale=0.5)[0].weight
    assert float(weights.detach().std()) == pytest.approx(0.5, rel=0.02)


@pytest.mark.parametrize(
    ("alias", "name"),
    [("he", "kaiming_normal"), ("xavier", "xavier_uniform"), ("lecun", "lecun_normal")],
)
def test_course_names_alias_the_schemes(alias: str, name: str) -> None:
    torch.manual_seed(3)
    a = FCNN(20, 2, [16], activation="tanh", init=alias)
    torch.manual_seed(3)
    b = FCNN(20, 2, [16], activation="tanh", init=name)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_constant_init_never_breaks_the_symmetry(tmp_path: Path) -> None:
    trainer = TorchMLPClassifierTrainer(max_epochs=5, patience=5, device="cpu")
    for init, folder in (("constant", tmp_path / "c"), ("he", tmp_path / "he")):
        trainer.fit(
            {"hidden_layer_sizes": [6], "init": init, "init_scale": 0.2, "lr": 0.01},
            MOONS,
            Keeper(folder),
        )
    hidden = load_model(tmp_path / "c").models[0][0].weight.detach()
    assert not torch.allclose(hidden, torch.full_like(hidden, 0.2))  # it trained...
    assert torch.allclose(hidden, hidden[0].expand_as(hidden))  # ...but all 6 units are one unit
    he = load_model(tmp_path / "he").models[0][0].weight.detach()
    assert not torch.allclose(he, he[0].expand_as(he))


def test_init_scale_and_shuffle_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"'init_scale' parameter of .* a float > 0. Got 0"):
        TorchMLPClassifierTrainer(init="normal", init_scale=0)
    with pytest.raises(ConfigError, match=r"'shuffle' parameter of .* a bool. Got 'no'"):
        TorchMLPClassifierTrainer(shuffle="no")


# --- the scikit-learn family: shuffle and full batch ----------------------------------------


def _sk_fit(**params) -> SklearnMLPClassifierTrainer:
    trainer = SklearnMLPClassifierTrainer(max_epochs=3, patience=3)
    trainer.fit({"hidden_layer_sizes": (8,), **params}, MOONS, NullReporter(seed=0))
    return trainer


def test_sklearn_shuffle_off_matches_partial_fit_in_row_order() -> None:
    from sklearn.neural_network import MLPClassifier

    trainer = _sk_fit(shuffle=False, batch_size=8)
    fold = trainer.splits_.folds[0]
    reference = MLPClassifier(
        hidden_layer_sizes=(8,), batch_size=8, random_state=0, shuffle=False, max_iter=1
    )
    for epoch in range(trainer.best_epoch_):  # the trainer keeps its best epoch's weights
        reference.partial_fit(
            fold.X_train, fold.y_train, **({"classes": [0, 1]} if epoch == 0 else {})
        )
    for ours, ref in zip(trainer.estimators_[0].coefs_, reference.coefs_, strict=True):
        np.testing.assert_allclose(ours, ref)
    shuffled = _sk_fit(shuffle=True, batch_size=8)
    assert not all(
        np.allclose(a, b)
        for a, b in zip(shuffled.estimators_[0].coefs_, trainer.estimators_[0].coefs_, strict=True)
    )


def test_sklearn_full_batch_is_one_step_per_epoch() -> None:
    full = _sk_fit(batch_size="full")
    assert full.estimators_[0].batch_size == len(full.splits_.folds[0].y_train)
    assert full.estimators_[0]._optimizer.t == 3  # Adam's step counter: one per epoch
    mini = _sk_fit(batch_size=8)
    assert mini.estimators_[0]._optimizer.t == 3 * int(
        np.ceil(len(mini.splits_.folds[0].y_train) / 8)
    )
    with pytest.raises(
        ConfigError,
        match=r"'shuffle' parameter of SklearnMLPClassifierTrainer must be .*bool.* Got 1 ",
    ):
        SklearnMLPClassifierTrainer(shuffle=1)
    with pytest.raises(
        ConfigError,
        match=r"'batch_size' parameter of SklearnMLPClassifierTrainer .*'full'.* Got 'half'",
    ):
        SklearnMLPClassifierTrainer(batch_size="half")
