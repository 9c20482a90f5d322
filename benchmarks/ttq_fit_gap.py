"""How far short of a full kernel fit does the warm-started fit stop, in a time-to-quality replay?

GPSampler warm-starts its kernel fit from the parameters stored with the latest proposal and
runs only a few L-BFGS-B steps (``WARM_MAXITER``). This script replays a strategy (by default
``hpo-mfgp-hb-rf-warm``: the former default mf-gp + Hyperband with that warm start) and, at every
warm-started fit, fits the same data twice more: from the prior's mode to convergence (the
cold fit) and from the stored parameters to convergence. It prints, per run, how many nats
of log marginal likelihood plus log prior (the fit's objective) the warm fit is below the
cold one, and the converged warm fit below the cold one (a worse basin, not just too few
steps). The replay itself is unchanged: the extra fits are only measured (issue 11).

    python -m benchmarks.ttq_fit_gap --tasks mlp-digits torch-regression --seeds 100 101
"""

from __future__ import annotations

import argparse
import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.ttq_replay import Table, replay
from benchmarks.ttq_strategies import make_strategy
from benchmarks.ttq_tasks import load_table, table_path, tasks
from hpo.samplers.gp import model
from hpo.samplers.gp.sampler import GPSampler

__all__ = ["objective", "recording_fits", "fit_gaps", "main"]


def objective(
    X: NDArray[np.float64], y: NDArray[np.float64], is_cat: NDArray[np.bool_], p: model.KernelParams
) -> float:
    """The kernel fit's objective at ``p``: log marginal likelihood + log prior (nats)."""
    theta = p.to_theta()
    Xi = model.impute_inactive(X, is_cat)
    try:
        lml, _ = model.log_marginal_likelihood(theta, Xi, y, is_cat, with_grad=False)
    except np.linalg.LinAlgError:
        return -np.inf
    return lml + model._log_prior(theta, X.shape[1])[0]


@contextlib.contextmanager
def recording_fits(log: list[dict[str, float]]) -> Iterator[None]:
    """While active, every warm-started ``GPSampler`` fit appends its gaps to ``log``.

    Each entry: ``n`` (fitting points), ``short`` (cold objective minus the warm fit's, as
    used) and ``basin`` (cold minus the warm start run to convergence). Positive = worse.
    """
    original = GPSampler._fit

    def fit(X: Any, y: Any, is_cat: Any, fit_idx: Any, rng: Any, stored: Any = None) -> Any:
        gp = original(X, y, is_cat, fit_idx, rng, stored)
        if stored is not None and fit_idx is None:
            cold = objective(X, y, is_cat, model.fit_kernel_params(X, y, is_cat))
            converged = model.fit_kernel_params(X, y, is_cat, init=stored)
            log.append(
                {
                    "n": float(len(y)),
                    "short": cold - objective(X, y, is_cat, gp.params_),
                    "basin": cold - objective(X, y, is_cat, converged),
                }
            )
        return gp

    GPSampler._fit = staticmethod(fit)  # type: ignore[method-assign]
    try:
        yield
    finally:
        GPSampler._fit = staticmethod(original)  # type: ignore[method-assign]


def fit_gaps(task: str, seed: int, strategy: str, budget: float) -> dict[str, Any]:
    """One replay (training-only time) with every warm-started fit measured."""
    table = Table(load_table(table_path(task)))
    log: list[dict[str, float]] = []
    with recording_fits(log), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runner = make_strategy(strategy, table.space, seed, table.max_epochs)
        budget_s = budget * float(np.mean(table.times[:, -1]))
        result = replay(runner, table, budget_s=budget_s, seed=seed, count_overhead=False)
    curve = result.incumbent_curve(table.max_epochs)
    return {"task": task, "seed": seed, "fits": log, "final": curve[-1][1] if curve else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=sorted(tasks()), choices=sorted(tasks()))
    parser.add_argument("--seeds", nargs="+", type=int, default=[100, 101])
    parser.add_argument("--strategy", default="hpo-mfgp-hb-rf-warm")
    parser.add_argument("--budget", type=float, default=12.0, help="mean full trainings/worker")
    args = parser.parse_args(argv)
    print(
        "| task | seed | warm fits | short of cold: median, max (nats) | > 1 nat | "
        "converged warm short of cold: median, max | > 1 nat |"
    )
    print("|---|---|---|---|---|---|---|")
    for task in args.tasks:
        for seed in args.seeds:
            run = fit_gaps(task, seed, args.strategy, args.budget)
            short = np.array([f["short"] for f in run["fits"]])
            basin = np.array([f["basin"] for f in run["fits"]])
            if not len(short):
                print(f"| {task} | {seed} | 0 | — | — | — | — |")
                continue
            print(
                f"| {task} | {seed} | {len(short)} | {np.median(short):.2f}, {short.max():.2f} | "
                f"{int((short > 1).sum())} | {np.median(basin):.2f}, {basin.max():.2f} | "
                f"{int((basin > 1).sum())} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
