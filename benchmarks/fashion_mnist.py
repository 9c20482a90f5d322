"""Fashion-MNIST at full size: epoch time and accuracy of the PyTorch FCNN trainer.

One fixed configuration trained by the real trainer (``TorchMLPClassifierTrainer``) on
all 60,000 training images (50,000 train + 10,000 validation, ``validation_fraction=1/6``)
and tested on the official 10,000 t10k images, as the ``fashion_mnist_fcnn`` study does.
Per epoch it prints the validation accuracy, the wall time and the process CPU time
(steadier than wall time on a shared machine: with one thread it is what the epoch costs
with a core to itself); at the end, the test accuracy of the best epoch's weights and the
load average, so the figures can be read against what else ran.

    PYTHONPATH=. .venv/bin/python -m benchmarks.fashion_mnist              # 15 epochs, 1 thread
    PYTHONPATH=. .venv/bin/python -m benchmarks.fashion_mnist --epochs 2 --n-train 5000

Needs Debian's ``dataset-fashion-mnist`` (``make install``) and the torch extra. Not part
of the test run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from hpo.objective import NullReporter

CONFIG = {
    "hidden_layer_sizes": [256, 128],
    "activation": "relu",
    "dropout": 0.1,
    "optimizer": "adamw",
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "batch_size": 128,
}


class EpochClock(NullReporter):
    """Prints and keeps each epoch's validation accuracy, wall and CPU seconds."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self.rows: list[tuple[int, float, float, float]] = []
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def report(self, step: int, value: float) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.rows.append((step, value, wall - self._wall, cpu - self._cpu))
        print(
            f"epoch {step:2d}  val acc {value:.4f}  wall {wall - self._wall:7.2f} s  "
            f"CPU {cpu - self._cpu:7.2f} s",
            flush=True,
        )
        self._wall, self._cpu = wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-train", type=int, default=None, help="subsample (default: all 60,000)")
    args = parser.parse_args()
    os.environ["HPO_THREADS_PER_WORKER"] = str(args.threads)
    from hpo.models.datasets import load_dataset
    from hpo.models.torch_trainer import TorchMLPClassifierTrainer

    start = time.perf_counter()
    spec = (
        {"name": "fashion_mnist"}
        if args.n_train is None
        else {"name": "fashion_mnist", "n_train": args.n_train}
    )
    data = load_dataset(spec)
    print(f"loaded {data.X.shape} in {time.perf_counter() - start:.1f} s ({data.n_test} test rows)")
    trainer = TorchMLPClassifierTrainer(
        max_epochs=args.epochs, patience=args.epochs, validation_fraction=1 / 6, device="cpu"
    )
    clock = EpochClock()
    result = trainer.fit(CONFIG, data, clock)
    walls, cpus = (
        [r[2] for r in clock.rows[1:]] or [clock.rows[0][2]],
        [r[3] for r in clock.rows[1:]] or [clock.rows[0][3]],
    )
    print(f"config {CONFIG}, {args.threads} thread(s)")
    print(
        f"median epoch (after the first): wall {statistics.median(walls):.2f} s, CPU "
        f"{statistics.median(cpus):.2f} s"
    )
    print(
        f"best epoch {result.metrics['best_epoch']}: val acc {result.value:.4f}, "
        f"test acc (10,000 t10k) {result.metrics['test_accuracy']:.4f}"
    )
    print(f"total {time.perf_counter() - start:.0f} s; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
