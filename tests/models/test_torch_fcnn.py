"""The PyTorch MLP model family: network, training loop, trainers, saved weights."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import log_loss, roc_auc_score
from torch import nn

from hpo.errors import ConfigError, TrialPruned
from hpo.models import torch_trainer
from hpo.models.datasets import load_dataset
from hpo.models.splits import make_folds
from hpo.models.torch_components import parse_params
from hpo.models.torch_fcnn import ACTIVATIONS, FCNN, INITS
from hpo.models.torch_trainer import TorchMLPClassifierTrainer, TorchMLPRegressorTrainer, load_model
from hpo.objective import NullReporter
from hpo.registry import get_model

MOONS = {"name": "moons", "n_samples": 60, "noise": 0.2}
POLY = {"name": "poly", "n_samples": 60}


@pytest.fixture(autouse=True)
def one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """One intra-op thread: on a shared, oversubscribed machine a 2-thread OpenMP region
    waits milliseconds for a descheduled thread, on every tiny op (see benchmarks/README.md)."""
    monkeypatch.setenv("HPO_THREADS_PER_WORKER", "1")


class Recorder(NullReporter):
    """Records the learning curve; optionally prunes at a step and keeps weights in a folder."""

    def __init__(
        self, seed: int = 0, folder: Path | None = None, prune_at: int | None = None
    ) -> None:
        super().__init__(seed=seed)
        self.folder, self.prune_at = folder, prune_at
        self.threads: list[int] = []

    def report(self, step: int, value: float) -> None:
        super().report(step, value)
        self.threads.append(torch.get_num_threads())
        if step == self.prune_at:
            raise TrialPruned(f"pruned at step {step}")

    def artifact_dir(self) -> Path | None:
        return self.folder


def test_registry_finds_both_trainers() -> None:
    assert get_model("torch-mlp-classifier") is TorchMLPClassifierTrainer
    assert get_model("torch-mlp-regressor") is TorchMLPRegressorTrainer


# --- network ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "expected_std"),
    [
        ("relu", math.sqrt(2 / 400)),  # Kaiming-He normal
        ("tanh", 5 / 3 * math.sqrt(2 / (400 + 300))),  # Xavier-Glorot uniform with tanh gain
        ("sigmoid", math.sqrt(2 / (400 + 300))),
        ("selu", math.sqrt(1 / 400)),  # LeCun normal
    ],
)
def test_default_init_suits_the_activation(activation: str, expected_std: float) -> None:
    torch.manual_seed(0)
    net = FCNN(400, 1, (300,), activation=activation)
    assert net[0].weight.std().item() == pytest.approx(expected_std, rel=0.03)
    assert torch.all(net[0].bias == 0)


def test_init_override_and_torch_default() -> None:
    torch.manual_seed(0)
    net = FCNN(400, 1, (300,), activation="relu", init="xavier_normal")
    assert net[0].weight.std().item() == pytest.approx(math.sqrt(2) * math.sqrt(2 / 700), rel=0.03)
    torch.manual_seed(0)
    net = FCNN(400, 1, (300,), init="torch")  # nn.Linear's own: U(+-1/sqrt(fan_in))
    assert net[0].weight.abs().max().item() <= 1 / math.sqrt(400)


def test_layers_batch_norm_dropout() -> None:
    net = FCNN(5, 3, (8, 4), activation="selu", dropout=0.1, batch_norm=True)
    kinds = [type(m).__name__ for m in net]
    assert kinds == [
        "Linear",
        "BatchNorm1d",
        "SELU",
        "AlphaDropout",
        "Linear",
        "BatchNorm1d",
        "SELU",
        "AlphaDropout",
        "Linear",
    ]
    assert net[0].bias is None and net(torch.randn(2, 5)).shape == (2, 3)
    assert FCNN(5, 1, ()).n_params() == 6  # no hidden layer: a linear model


@pytest.mark.parametrize(
    ("params", "sizes"),
    [
        ({}, (64,)),
        ({"hidden_layer_sizes": 16}, (16,)),
        ({"hidden_layer_sizes": "32-16"}, (32, 16)),
        ({"hidden_layer_sizes": [np.int64(8), 4.0]}, (8, 4)),
        ({"n_layers": 3, "units": 10, "units_2": 5}, (10, 5, 10)),
        ({"n_layers": 2, "units_1": 7, "units_2": 6, "units_3": 99}, (7, 6)),  # units_3: inactive
        ({"n_layers": 0}, ()),
    ],
)
def test_layer_sizes(params: dict, sizes: tuple) -> None:
    assert parse_params(params, "binary", "T").hidden_layer_sizes == sizes


# --- what it learns ---------------------------------------------------------------------


def test_xor_is_solved(tmp_path: Path) -> None:
    trainer = TorchMLPClassifierTrainer(
        test_size=0, validation_fraction=0, max_epochs=300, patience=50
    )
    params = {"hidden_layer_sizes": [8], "activation": "tanh", "lr": 0.05, "batch_size": 4}
    result = trainer.fit(params, "xor", Recorder(folder=tmp_path))
    assert result.value == 1.0
    table = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    assert load_model(tmp_path).predict(table).tolist() == [0, 1, 1, 0]


def test_digits_reaches_95_percent_test_accuracy() -> None:
    trainer = TorchMLPClassifierTrainer(max_epochs=30, patience=5)
    result = trainer.fit({"hidden_layer_sizes": [128], "lr": 3e-3}, "digits", NullReporter(seed=0))
    assert result.metrics["test_accuracy"] >= 0.95
    assert result.metrics["best_epoch"] <= result.metrics["n_epochs"] <= 30


def test_regression_beats_the_mean_predictor() -> None:
    trainer = TorchMLPRegressorTrainer(metric="mse", max_epochs=100, patience=10)
    result = trainer.fit(
        {"hidden_layer_sizes": [32], "lr": 3e-3, "weight_decay": 1e-3}, "diabetes", NullReporter()
    )
    splits = make_folds(load_dataset("diabetes"), seed=0)
    mean_mse = float(np.mean((splits.y_test - splits.folds[0].y_mean) ** 2))
    assert result.metrics["test_mse"] < 0.8 * mean_mse


# --- every path runs (tiny data, 2 epochs) ----------------------------------------------

FAST = {"max_epochs": 2, "patience": 2}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_each_activation_runs(activation: str) -> None:
    result = TorchMLPClassifierTrainer(**FAST).fit(
        {"activation": activation, "hidden_layer_sizes": [8]}, MOONS, NullReporter()
    )
    assert 0 <= result.value <= 1


@pytest.mark.parametrize(
    "params",
    [
        {"optimizer": "sgd"},
        {"optimizer": "sgd", "nesterov": True},
        {"optimizer": "sgd", "momentum": 0.0},
        {"optimizer": "adam", "weight_decay": 1e-4},
        {"optimizer": "adamw", "weight_decay": 1e-2},
        {"optimizer": "rmsprop"},
        {"l1": 1e-3},
        {"clip_grad_norm": 1.0},
        {"lr_schedule": "step", "lr_step_size": 1},
        {"lr_schedule": "cosine"},
        {"lr_schedule": "plateau", "lr_patience": 0},
        {"batch_norm": True, "dropout": 0.2, "batch_size": 59},
        *({"init": init} for init in INITS),
    ],
)
def test_each_optimizer_schedule_and_option_runs(params: dict) -> None:
    result = TorchMLPClassifierTrainer(**FAST).fit(
        {"hidden_layer_sizes": [8], **params}, MOONS, NullReporter()
    )
    assert 0 <= result.value <= 1


@pytest.mark.parametrize("loss", ["mse", "l1", "huber"])
def test_each_regression_loss_runs(loss: str) -> None:
    result = TorchMLPRegressorTrainer(metric="mae", **FAST).fit(
        {"loss": loss, "hidden_layer_sizes": [8]}, POLY, NullReporter()
    )
    assert math.isfinite(result.value) and result.metrics["n_epochs"] == 2


def test_multiclass_with_cv_and_proba_metric(tmp_path: Path) -> None:
    trainer = TorchMLPClassifierTrainer(metric="log_loss", cv=3, **FAST)
    result = trainer.fit({"hidden_layer_sizes": [8]}, "iris", Recorder(folder=tmp_path))
    predictor = load_model(tmp_path)
    assert len(predictor.models) == 3  # the fold ensemble is what was scored and saved
    splits = make_folds(load_dataset("iris"), cv=3, seed=0)
    assert log_loss(splits.y_test, predictor.predict_proba(splits.X_test)) == pytest.approx(
        result.metrics["test_log_loss"]
    )
    assert set(predictor.predict(splits.X_test)) <= {"setosa", "versicolor", "virginica"}


# --- the loop's contract ----------------------------------------------------------------


def test_early_stopping_stops_and_restores_the_best_epoch(tmp_path: Path) -> None:
    trainer = TorchMLPRegressorTrainer(metric="mse", max_epochs=80, patience=4, test_size=0)
    reporter = Recorder(folder=tmp_path)
    params = {"hidden_layer_sizes": [256, 256], "lr": 1e-2}  # overfits diabetes within a few epochs
    result = trainer.fit(params, "diabetes", reporter)
    curve, best = reporter.values, result.metrics["best_epoch"]
    assert result.metrics["stopped_early"] and len(curve) == result.metrics["n_epochs"] == best + 4
    assert curve[best] == min(curve.values()) == result.value
    assert all(curve[e] > curve[best] for e in range(best + 1, best + 5))
    fold = make_folds(load_dataset("diabetes"), test_size=0, seed=0).folds[0]
    pred = load_model(tmp_path).predict(fold.scaler.inverse_transform(fold.X_val))
    assert np.mean((pred - fold.unscale_y(fold.y_val)) ** 2) == pytest.approx(curve[best], rel=1e-4)


def test_min_delta_counts_small_gains_as_no_improvement() -> None:
    reporter = Recorder()
    result = TorchMLPClassifierTrainer(max_epochs=50, patience=2, min_delta=1.0).fit(
        {}, MOONS, reporter
    )
    assert result.metrics["best_epoch"] == 1 and len(reporter.values) == 3


def test_reports_every_epoch_and_pruning_propagates() -> None:
    reporter = Recorder(prune_at=3)
    with pytest.raises(TrialPruned):
        TorchMLPClassifierTrainer(max_epochs=10).fit({}, MOONS, reporter)
    assert list(reporter.values) == [1, 2, 3]


def test_divergence_fails_the_trial_with_the_reason() -> None:
    params = {"optimizer": "sgd", "lr": 1e6, "hidden_layer_sizes": [16]}
    with pytest.raises(
        ValueError, match=r"TorchMLPRegressorTrainer diverged at epoch \d+: training loss"
    ):
        TorchMLPRegressorTrainer(max_epochs=5).fit(params, POLY, NullReporter())


def test_out_of_memory_suggests_a_smaller_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(torch_trainer, "train_epoch", boom)
    with pytest.raises(MemoryError, match="use a smaller batch_size"):
        TorchMLPClassifierTrainer().fit({"batch_size": 4096}, MOONS, NullReporter())


def test_seeded_and_thread_capped() -> None:
    before = torch.get_num_threads()
    trainer = TorchMLPClassifierTrainer(metric="log_loss", max_epochs=3)
    a, b, c = Recorder(seed=1), Recorder(seed=1), Recorder(seed=2)
    for reporter in (a, b, c):
        trainer.fit({"dropout": 0.3}, MOONS, reporter)
    assert a.values == b.values != c.values
    assert a.threads == [1, 1, 1] and torch.get_num_threads() == before


def test_saved_model_reloads_and_predicts_the_same(tmp_path: Path) -> None:
    trainer = TorchMLPClassifierTrainer(metric="roc_auc", max_epochs=3)
    result = trainer.fit({"hidden_layer_sizes": [16]}, "breast_cancer", Recorder(folder=tmp_path))
    assert {p.name for p in tmp_path.iterdir()} == {"model.pt", "model.json"}
    predictor = load_model(tmp_path / "model.pt")
    splits = make_folds(load_dataset("breast_cancer"), seed=0)
    proba = predictor.predict_proba(splits.X_test)
    assert proba.shape == (len(splits.X_test), 2) and np.allclose(proba.sum(axis=1), 1)
    assert roc_auc_score(splits.y_test, proba[:, 1]) == pytest.approx(
        result.metrics["test_roc_auc"]
    )
    assert predictor.meta["architecture"]["hidden_layer_sizes"] == [16]
    assert np.array_equal(
        predictor.predict(splits.X_test), load_model(tmp_path).predict(splits.X_test)
    )


def test_matches_a_hand_written_pytorch_loop(tmp_path: Path) -> None:
    """Same seed, init, shuffling and Adam: the same validation curve and final weights."""
    seed, epochs, batch = 3, 3, 16
    reporter = Recorder(seed=seed, folder=tmp_path)
    TorchMLPClassifierTrainer(metric="log_loss", max_epochs=epochs, patience=10).fit(
        {"hidden_layer_sizes": [32], "batch_size": batch, "lr": 1e-3}, "wine", reporter
    )

    fold = make_folds(load_dataset("wine"), seed=0).folds[0]
    X, y = torch.tensor(fold.X_train, dtype=torch.float32), torch.tensor(fold.y_train)
    X_val = torch.tensor(fold.X_val, dtype=torch.float32)
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 3))
    nn.init.kaiming_normal_(net[0].weight, nonlinearity="relu")  # type: ignore[arg-type]
    nn.init.kaiming_normal_(net[2].weight, nonlinearity="linear")  # type: ignore[arg-type]
    nn.init.zeros_(net[0].bias), nn.init.zeros_(net[2].bias)  # type: ignore[arg-type]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    curve = []
    for _ in range(epochs):
        perm = torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            nn.functional.cross_entropy(net(X[idx]), y[idx]).backward()
            opt.step()
        with torch.no_grad():
            curve.append(log_loss(fold.y_val, torch.softmax(net(X_val).double(), 1).numpy()))
    assert list(reporter.values.values()) == pytest.approx(curve, rel=1e-5)
    saved = torch.load(tmp_path / "model.pt", weights_only=True)[0]
    for name, value in net.state_dict().items():
        torch.testing.assert_close(saved[name], value, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_device_trains() -> None:
    result = TorchMLPClassifierTrainer(device="cuda", max_epochs=2).fit({}, MOONS, NullReporter())
    assert result.metrics["device"].startswith("cuda")


# --- bad input --------------------------------------------------------------------------

C = "TorchMLPClassifierTrainer"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"patience": 0}, f"The 'patience' parameter of {C} must be an int >= 1. Got 0 instead."),
        (
            {"max_epochs": 2.5},
            f"The 'max_epochs' parameter of {C} must be an int >= 1. Got 2.5 instead.",
        ),
        (
            {"test_size": 1.0},
            f"The 'test_size' parameter of {C} must be a float in [0, 1). Got 1.0 instead.",
        ),
        ({"cv": 1}, f"The 'cv' parameter of {C} must be None or an int >= 2. Got 1 instead."),
        (
            {"metric": "r2"},
            f"The 'metric' parameter of {C} must be a str among ['accuracy', 'balanced_accuracy', "
            f"'f1', 'log_loss', 'roc_auc']. Got 'r2' instead.",
        ),
        (
            {"activation": "swishy"},
            f"The 'activation' parameter of {C} must be a str among {sorted(ACTIVATIONS)}. Got "
            f"'swishy' instead.",
        ),
        (
            {"optimizer": "adagrad"},
            f"The 'optimizer' parameter of {C} must be a str among ['adam', 'adamw', 'rmsprop', "
            f"'sgd']. Got 'adagrad' instead.",
        ),
        (
            {"init": "orthogonal"},
            f"The 'init' parameter of {C} must be a str among {sorted(INITS)}. Got 'orthogonal' "
            f"instead.",
        ),
        (
            {"loss": "huber"},
            f"The 'loss' parameter of {C} must be a str among ['bce', 'mse', 'cross_entropy'] for "
            f"a binary or multiclass task. Got 'huber' instead.",
        ),
        ({"lrr": 0.1}, f"Unknown parameter 'lrr' of {C}; valid parameters are"),
        ({"lr": 0}, f"The 'lr' parameter of {C} must be a float > 0. Got 0 instead."),
        (
            {"dropout": 1.0},
            f"The 'dropout' parameter of {C} must be a float in [0, 1). Got 1.0 instead.",
        ),
        (
            {"batch_size": 0},
            f"The 'batch_size' parameter of {C} must be an int >= 1 or a str among ['full']. Got "
            f"0 instead.",
        ),
        (
            {"batch_norm": True, "batch_size": 1},
            f"The 'batch_size' parameter of {C} must be >= 2 with batch_norm=True",
        ),
        (
            {"nesterov": True, "optimizer": "adam"},
            f"The 'nesterov' parameter of {C} needs optimizer='sgd' and momentum > 0.",
        ),
        (
            {"hidden_layer_sizes": [8], "n_layers": 2},
            f"{C} got both 'hidden_layer_sizes' and 'n_layers'/'units'/'units_k'",
        ),
        (
            {"hidden_layer_sizes": "8-a"},
            f"The 'hidden_layer_sizes' parameter of {C} must be ints >= 1 such as (64, 32) or "
            f"'64-32'. Got '8-a' instead.",
        ),
    ],
)
def test_bad_options_fail_fast_with_the_field_named(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        TorchMLPClassifierTrainer(**options)


def test_bad_trial_params_and_data_fail_at_fit() -> None:
    trainer = TorchMLPClassifierTrainer(max_epochs=1)
    with pytest.raises(
        ConfigError,
        match=re.escape(
            f"The 'loss' parameter of {C} must be a str among ['bce', 'mse'] for a binary task. "
            f"Got 'cross_entropy' instead."
        ),
    ):
        trainer.fit({"loss": "cross_entropy"}, MOONS, NullReporter())
    with pytest.raises(
        ConfigError,
        match=rf"{C} cannot fit dataset 'poly' with task 'regression'.*'torch-mlp-regressor'",
    ):
        trainer.fit({}, POLY, NullReporter())
    with pytest.raises(
        ConfigError, match=re.escape("Unknown device 'tpu9'; use 'cpu', 'cuda' or 'cuda:N'.")
    ):
        TorchMLPClassifierTrainer(device="tpu9").fit({}, MOONS, NullReporter())
    if not torch.cuda.is_available():
        with pytest.raises(
            ConfigError,
            match=re.escape("Device 'cuda' was requested but CUDA is not available here"),
        ):
            TorchMLPClassifierTrainer(device="cuda").fit({}, MOONS, NullReporter())
