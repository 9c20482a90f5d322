"""A study whose worker processes the dashboard tests (and benchmarks) watch while they write.

``python -m tests.dashboard.live_study URL STUDY --trials N [--epoch-seconds S]`` joins the
study as one worker. The objective trains nothing: it "runs" ``epochs`` epochs of a
smooth synthetic learning curve (sleeping ``--epoch-seconds`` per epoch), reports each one,
and returns the final score with the metrics a model family stores (``test_accuracy``,
``best_epoch``, ``n_epochs``). Trials with ``width == 'bad'`` and 3+ layers fail; the median pruner
prunes poor curves, so every trial state the dashboard draws shows up.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from hpo.space import Categorical, Float, Int

SPACE = {
    "lr": Float(1e-4, 1e-1, log=True),
    "layers": Int(1, 4),
    "width": Categorical(["narrow", "wide", "bad"]),
}
EPOCH_SECONDS = 0.05


def score_at(params: dict[str, Any], epoch: int) -> float:
    """A learning curve that rises to a ceiling set by the params, best near lr = 1e-2."""
    ceiling = 0.95 - 0.08 * abs(math.log10(params["lr"]) + 2) - 0.02 * abs(params["layers"] - 3)
    ceiling -= 0.05 if params["width"] == "narrow" else 0.0
    return ceiling * (1 - math.exp(-(epoch + 1) / 3))


def objective(params: dict[str, Any], reporter: Any) -> dict[str, Any]:
    if params["width"] == "bad" and params["layers"] >= 3:
        raise ValueError("width 'bad' makes this synthetic network diverge")
    epochs, best, best_epoch = 8, -math.inf, 0
    for epoch in range(epochs):
        time.sleep(EPOCH_SECONDS)
        score = score_at(params, epoch)
        reporter.report(epoch, score)
        if score > best:
            best, best_epoch = score, epoch
    return {
        "value": best,
        "test_accuracy": best - 0.01,
        "best_epoch": best_epoch,
        "n_epochs": epochs,
    }


def create(url: str, name: str, *, seed: int = 0) -> Any:
    import hpo

    return hpo.create_study(
        name,
        space=SPACE,
        storage=url,
        objective=objective,
        direction="maximize",
        sampler="random",
        seed=seed,
        pruner={"name": "median", "n_startup_trials": 3, "n_warmup_steps": 4},
        load_if_exists=True,
    )


def main(argv: list[str] | None = None) -> int:
    global EPOCH_SECONDS
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("study")
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--epoch-seconds", type=float, default=EPOCH_SECONDS)
    args = parser.parse_args(argv)
    EPOCH_SECONDS = args.epoch_seconds
    import hpo
    from hpo.errors import WorkerInterrupted
    from hpo.execution.worker import worker_loop

    study = hpo.load_study(args.study, storage=args.url, objective=objective)  # stored sampler
    try:
        worker_loop(study, n_trials=args.trials)
    except WorkerInterrupted:  # SIGTERM: the running trial was released and re-queued
        return 143
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
