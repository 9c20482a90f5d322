"""Epoch time of the PyTorch worker's training loop against reference loops.

Same data, architecture (128, 128), Adam (lr 1e-3) and batch size for every loop:

(a) ``ours``: :func:`hpo.models.torch_components.train_epoch` on a network built by the trainer's
    own :func:`~hpo.models.torch_components.make_model` /
    :func:`~hpo.models.torch_components.make_optimizer`;
(b) ``minimal``: a hand-written PyTorch loop slicing pre-shuffled tensors;
(c) ``sklearn``: ``MLPClassifier.partial_fit`` (one call = one epoch);
(d) ``dataloader``: the hand-written loop fed by ``DataLoader(TensorDataset)``.

Loops run interleaved (one epoch of each per round) so that load from other processes
hits them alike; the table shows medians over rounds, the ratio to (b), and achieved
GFLOP/s (6 x parameters x samples per epoch: forward + backward) against a measured
fp32 matmul peak (best of 20 1024x1024 products). Process CPU time is shown next to
wall time: with one thread it is what the loop costs when it has a core to itself,
which on a shared machine is a steadier figure than wall time (with two threads it
also counts OpenMP spin-waiting). Also measured: the trainer's per-epoch validation and bookkeeping
(score on the validation rows, copy of the weights) which (a) leaves out.

    python -m benchmarks.torch_speed                  # 1 and 2 threads, both datasets
    python -m benchmarks.torch_speed --quick          # fewer rounds, smaller big set

Not part of the test run.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from hpo.models.datasets import load_dataset
from hpo.models.metrics import get_metric
from hpo.models.torch_components import (
    make_loss,
    make_model,
    make_optimizer,
    parse_params,
    predict_raw,
    train_epoch,
)
from hpo.models.torch_trainer import outputs_to_predictions

HIDDEN = (128, 128)


def make_data(name: str, n_big: int) -> tuple[np.ndarray, np.ndarray]:
    """Standardized float32 features and int labels: digits, or a generated 784-d 10-class set."""
    if name == "digits":
        ds = load_dataset("digits")
        X, y = ds.X, ds.y
    else:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(n_big, 784))
        y = (X[:, :10] + 0.5 * rng.normal(size=(n_big, 10))).argmax(axis=1)
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    return X.astype(np.float32), y.astype(np.int64)


def matmul_peak(threads: int, size: int = 1024, repeats: int = 20) -> float:
    """Best fp32 GFLOP/s of a square matmul at this thread count."""
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best / 1e9


def reference_net(d: int, k: int, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(d, HIDDEN[0]), nn.ReLU(), nn.Linear(*HIDDEN), nn.ReLU(), nn.Linear(HIDDEN[1], k)
    )


def loops(X: np.ndarray, y: np.ndarray, batch: int, seed: int = 0) -> dict[str, Callable[[], None]]:
    """One callable per loop; each call trains one epoch (state carries over between calls)."""
    n, d = X.shape
    k = int(y.max()) + 1
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)

    hp = parse_params(
        {"hidden_layer_sizes": list(HIDDEN), "batch_size": batch, "lr": 1e-3}, "multiclass", "bench"
    )
    torch.manual_seed(seed)
    ours, loss_fn = make_model(hp, d, k), make_loss(hp, "multiclass")
    ours_opt = make_optimizer(hp, ours)

    def a() -> None:
        train_epoch(ours, Xt, yt, loss_fn, ours_opt, batch, gen).item()

    net_b = reference_net(d, k, seed)
    opt_b = torch.optim.Adam(net_b.parameters(), lr=1e-3)

    def b() -> None:
        perm = torch.randperm(n, generator=gen)
        Xs, ys = Xt[perm], yt[perm]
        for i in range(0, n, batch):
            opt_b.zero_grad()
            F.cross_entropy(net_b(Xs[i : i + batch]), ys[i : i + batch]).backward()
            opt_b.step()

    from sklearn.neural_network import MLPClassifier

    sk = MLPClassifier(HIDDEN, batch_size=batch, learning_rate_init=1e-3, random_state=seed)
    classes = np.arange(k)

    def c() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk.partial_fit(X, y, classes=classes)

    net_d = reference_net(d, k, seed)
    opt_d = torch.optim.Adam(net_d.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(Xt, yt), batch_size=batch, shuffle=True, generator=gen
    )

    def dl() -> None:
        for xb, yb in loader:
            opt_d.zero_grad()
            F.cross_entropy(net_d(xb), yb).backward()
            opt_d.step()

    return {"ours": a, "minimal": b, "sklearn": c, "dataloader": dl}


def validation_overhead(X: np.ndarray, y: np.ndarray, rounds: int) -> float:
    """Seconds per epoch the trainer spends beyond training: scoring 20% validation rows
    (forward, softmax, accuracy) and copying the weights for early stopping."""
    n_val = len(X) // 5
    hp = parse_params({"hidden_layer_sizes": list(HIDDEN)}, "multiclass", "bench")
    model = make_model(hp, X.shape[1], int(y.max()) + 1)
    X_val, y_val = torch.from_numpy(X[:n_val]), y[:n_val]
    metric = get_metric("accuracy", "multiclass")
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        pred, proba = outputs_to_predictions(predict_raw(model, X_val), "multiclass")
        metric(y_val, pred)
        copy.deepcopy({k: v.detach() for k, v in model.state_dict().items()})
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench(
    name: str, X: np.ndarray, y: np.ndarray, batch: int, threads: int, rounds: int, peak: float
) -> list[str]:
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    fns = loops(X, y, batch)
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    with threadpool_limits(threads):
        for r in range(rounds + 1):  # round 0 warms up (allocations, lazy imports)
            for key, fn in fns.items():
                t, c = time.perf_counter(), time.process_time()
                fn()
                if r:
                    wall[key].append(time.perf_counter() - t)
                    cpu[key].append(time.process_time() - c)
    n, d = X.shape
    n_params = d * HIDDEN[0] + HIDDEN[0] + HIDDEN[0] * HIDDEN[1] + HIDDEN[1] + HIDDEN[1] * 10 + 10
    flops = 6 * n_params * n
    w = {k: statistics.median(v) for k, v in wall.items()}
    c = {k: statistics.median(v) for k, v in cpu.items()}
    rows = []
    for key in fns:
        gflops, per_cpu = flops / w[key] / 1e9, flops / c[key] / 1e9
        rows.append(
            f"| {name} | {batch} | {threads} | {key} | {w[key] * 1e3:.1f} | {c[key] * 1e3:.1f} | "
            f"{w[key] / w['minimal']:.2f} | {c[key] / c['minimal']:.2f} | "
            f"{gflops:.1f} ({100 * gflops / peak:.0f}%) | {per_cpu:.1f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 32])
    parser.add_argument("--datasets", nargs="+", default=["digits", "synthetic"])
    parser.add_argument("--rounds", type=int, default=None, help="epochs per loop (median taken)")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 20,000-row synthetic set")
    args = parser.parse_args()
    n_big = 20_000 if args.quick else 60_000
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average before: {os.getloadavg()}"
    )
    print(
        "| data | batch | threads | loop | wall ms | CPU ms | vs minimal (wall) | (CPU) "
        "| GFLOP/s wall (% of peak) | GFLOP per CPU-s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    overheads = []
    for threads in args.threads:
        peak = matmul_peak(threads)
        print(f"fp32 matmul peak, {threads} thread(s): {peak:.0f} GFLOP/s")
        for name in args.datasets:
            X, y = make_data(name, n_big)
            rounds = args.rounds or (3 if args.quick else (15 if name == "digits" else 5))
            label = name if name == "digits" else f"synthetic {len(X)}x784"
            for batch in args.batches:
                for row in bench(label, X, y, batch, threads, rounds, peak):
                    print(row, flush=True)
            overheads.append(
                f"{label}, {threads} thread(s): {validation_overhead(X, y, rounds) * 1e3:.1f} ms"
            )
    print("\nTrainer per-epoch validation + weight copy (not in 'ours'):", "; ".join(overheads))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
