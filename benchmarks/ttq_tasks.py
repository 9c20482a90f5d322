"""Time-to-quality tasks: real networks, a realistic search space, and their learning-curve tables.

Four tasks, each trained through hpo's own model families (``ModelObjective``), so every
strategy of benchmarks/time_to_quality.py trains exactly the same networks:

=====================  ========================  ==============  =========
task                   model family              dataset         metric
=====================  ========================  ==============  =========
``mlp-digits``         sklearn-mlp-classifier    digits          accuracy
``mlp-breast_cancer``  sklearn-mlp-classifier    breast_cancer   log_loss
``torch-digits``       torch-mlp-classifier      digits          accuracy
``torch-regression``   torch-mlp-regressor       diabetes        r2
=====================  ========================  ==============  =========

breast_cancer is scored by log loss (smaller is better; tables and reports show it negated,
so every score is maximized): its validation accuracy reaches 1.0 for dozens of
configurations, which would make "time to the best score" a lottery. The torch tasks use
digits and diabetes: ``fashion_mnist`` and ``concrete`` landed after these tables were
recorded (recording them is a follow-up; fashion_mnist needs minutes per configuration).
Each space has 11 parameters, 3 of them conditional (the widths of layers 2 and 3, and
SGD's momentum).

A *table* records, for a fixed Sobol sample of configurations, the full learning curve
(validation score after each of ``MAX_EPOCHS`` epochs, no early stopping), the time at
each epoch, and the test score of the network with its best epoch restored. It is what the
replay of every strategy reads (benchmarks/data/ttq-<task>.json).

Times are the training process's CPU seconds (``time.process_time``, one thread), not
wall-clock seconds: on a shared machine wall time measures the neighbours' load, while one
thread's CPU time is what the same epoch takes on a core of its own, which is what a
simulated worker is.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "HPO_THREADS_PER_WORKER"):
    os.environ.setdefault(_v, "1")  # one thread per training: the table's times are one core's

import numpy as np  # noqa: E402
from scipy.stats import qmc  # noqa: E402

from hpo.space import Categorical, Float, Int, SearchSpace  # noqa: E402

MAX_EPOCHS = 27  # rungs 1, 3, 9, 27 at reduction factor 3
DATA_DIR = Path(__file__).resolve().parent / "data"

SKLEARN_SPACE = SearchSpace(
    {
        "n_layers": Int(1, 3),
        "units_1": Int(16, 256, log=True),
        "units_2": Int(16, 256, log=True, when=("n_layers", ">=", 2)),
        "units_3": Int(16, 256, log=True, when=("n_layers", ">=", 3)),
        "activation": Categorical(["relu", "tanh", "logistic"]),
        "solver": Categorical(["adam", "sgd"]),
        "momentum": Float(0.5, 0.99, when=("solver", "==", "sgd")),
        "learning_rate_init": Float(1e-4, 1e-1, log=True),
        "alpha": Float(1e-6, 1e-1, log=True),
        "batch_size": Int(16, 256, log=True),
        "beta_1": Float(0.5, 0.99),
    }
)

TORCH_SPACE = SearchSpace(
    {
        "n_layers": Int(1, 3),
        "units_1": Int(16, 256, log=True),
        "units_2": Int(16, 256, log=True, when=("n_layers", ">=", 2)),
        "units_3": Int(16, 256, log=True, when=("n_layers", ">=", 3)),
        "activation": Categorical(["relu", "gelu", "tanh"]),
        "dropout": Float(0.0, 0.5),
        "optimizer": Categorical(["adam", "adamw", "sgd"]),
        "momentum": Float(0.5, 0.99, when=("optimizer", "==", "sgd")),
        "lr": Float(1e-4, 1e-1, log=True),
        "weight_decay": Float(1e-6, 1e-2, log=True),
        "batch_size": Categorical([32, 64, 128]),
    }
)


@dataclass(frozen=True)
class Task:
    """One tuning task: a model family on a dataset, scored by a metric (larger is better)."""

    name: str
    model: str
    dataset: str
    metric: str
    space: SearchSpace

    def objective(self) -> Any:
        from hpo.model_objective import ModelObjective

        return ModelObjective(
            self.model,
            self.dataset,
            self.metric,
            {"max_epochs": MAX_EPOCHS, "patience": MAX_EPOCHS},
        )


def tasks() -> dict[str, Task]:
    """The four tasks (the datasets the committed tables were recorded on)."""
    return {
        t.name: t
        for t in (
            Task("mlp-digits", "sklearn-mlp-classifier", "digits", "accuracy", SKLEARN_SPACE),
            Task(
                "mlp-breast_cancer",
                "sklearn-mlp-classifier",
                "breast_cancer",
                "log_loss",
                SKLEARN_SPACE,
            ),
            Task("torch-digits", "torch-mlp-classifier", "digits", "accuracy", TORCH_SPACE),
            Task("torch-regression", "torch-mlp-regressor", "diabetes", "r2", TORCH_SPACE),
        )
    }


def configurations(space: SearchSpace, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` configurations of a scrambled Sobol design (the table's fixed set)."""
    with warnings.catch_warnings():  # n need not be a power of 2: the first n points are kept
        warnings.simplefilter("ignore", UserWarning)
        u = qmc.Sobol(len(space), scramble=True, seed=seed).random(n)
    return [space.decode(row) for row in u]


class _Recorder:
    """A reporter that keeps the learning curve and the wall-clock time of every epoch."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.number = 0
        self.start = time.process_time()
        self.values: list[float] = []
        self.times: list[float] = []

    def report(self, step: int, value: float) -> None:
        self.values.append(float(value))
        self.times.append(time.process_time() - self.start)

    def should_prune(self) -> bool:
        return False

    def artifact_dir(self) -> None:
        return None


def record(task: Task, n_configs: int, path: Path, *, seed: int = 0) -> dict[str, Any]:
    """Train every configuration for ``MAX_EPOCHS`` epochs and write the table to ``path``.

    Rows already in ``path`` are kept (the command can be stopped and resumed).
    """
    objective = task.objective()
    table: dict[str, Any] = (
        load_table(path)
        if path.exists()
        else {
            "task": task.name,
            "model": task.model,
            "dataset": task.dataset,
            "metric": task.metric,
            "max_epochs": MAX_EPOCHS,
            "space": task.space.to_dict(),
            "maximize": _maximize(task.metric),
            "rows": [],
        }
    )
    configs = configurations(task.space, n_configs, seed)
    for i in range(len(table["rows"]), n_configs):
        rec = _Recorder(seed=1000 + i)
        try:
            result = objective(dict(configs[i]), rec)
            total = time.process_time() - rec.start
            test = result.metrics.get(f"test_{task.metric}")
        except Exception as e:  # noqa: BLE001 - a diverging config is a row too (it fails in any strategy)
            total, test = time.process_time() - rec.start, None
            rec.values = rec.values + [float("nan")] * (MAX_EPOCHS - len(rec.values))
            rec.times = rec.times + [total] * (MAX_EPOCHS - len(rec.times))
            print(f"  config {i} failed: {e}")
        table["rows"].append(
            {
                "params": configs[i],
                "values": rec.values,
                "times": rec.times,
                "total_s": total,
                "test": test,
            }
        )
        if i % 8 == 7 or i == n_configs - 1:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(table, default=_jsonable))
            tmp.replace(path)
            print(f"{task.name}: {i + 1}/{n_configs} configs, last {total:.2f} s", flush=True)
    return table


def _maximize(metric: str) -> bool:
    from hpo.models.metrics import get_metric

    return bool(get_metric(metric).greater_is_better)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(type(v).__name__)


def load_table(path: Path) -> dict[str, Any]:
    table: dict[str, Any] = json.loads(path.read_text())
    return table


def table_path(task: str) -> Path:
    return DATA_DIR / f"ttq-{task}.json"
