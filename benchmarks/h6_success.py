"""Hartmann-6 success counts, and the experiment that locates the cause of a stalled run.

A run succeeds when its best value after ``--budget`` evaluations is within ``--tol`` of the
global minimum (-3.32237). ``--design`` sets the 10 start-up points every sampler gets:

* ``own``: each sampler's own (hpo: scrambled Sobol seeded by the seed; Optuna: its
  RandomSampler);
* ``sobol``: hpo's Sobol points, enqueued into Optuna as its first 10 trials;
* ``optuna``: Optuna's first 10 random points (from a GPSampler with the same seed), given
  to hpo's sampler as its start-up design.

With the same start-up points, hpo's GP and Optuna's GPSampler succeed on the same seeds
(benchmarks/README.md, "GP robustness"), so a gap between their ``own`` counts is a gap
between start-up designs, not between the Bayesian optimization that follows.

    python -m benchmarks.h6_success --samplers hpo-ei,optuna-gp --design own --seeds 10
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

from benchmarks.functions import get_problem  # noqa: E402

PROB = get_problem("hartmann6")
N_STARTUP = 10


def optuna_startup(seed: int) -> np.ndarray:
    """``(10, 6)`` the first points Optuna's ``GPSampler(seed=seed)`` proposes (random start-up)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
    dists = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(6)}
    points = []
    for _ in range(N_STARTUP):
        t = study.ask(dists)
        points.append([t.params[f"x{i}"] for i in range(6)])
        study.tell(t, 0.0)
    return np.array(points)


def sobol_startup(seed: int) -> np.ndarray:
    """``(10, 6)`` hpo's start-up design for ``GPSampler(seed=seed)`` (points 0..9 of its Sobol)."""
    from scipy.stats import qmc

    return qmc.Sobol(6, scramble=True, seed=seed).random(N_STARTUP)


def run_hpo(acq: str, seed: int, budget: int, design: np.ndarray | None) -> float:
    from hpo.samplers.base import seed_sequence
    from hpo.samplers.gp.sampler import GPSampler
    from hpo.trial import FrozenTrial, TrialState

    options = json.loads(os.environ.get("HPO_BENCH_GP_OPTIONS", "{}"))
    sampler, space, history = GPSampler(acq, **{"seed": seed, **options}), PROB.space(), []
    for i in range(budget):
        if design is not None and i < N_STARTUP:
            params, attrs = space.decode(design[i]), {}
        else:
            p = sampler.ask(space, history, [], seed_sequence(seed, i), "minimize")
            params, attrs = p.params, p.info.get("user_attrs", {})
        history.append(FrozenTrial(i, TrialState.COMPLETE, params, PROB(params), user_attrs=attrs))
    return min(t.value for t in history)  # type: ignore[type-var, return-value]


def run_optuna(seed: int, budget: int, design: np.ndarray | None) -> float:
    import optuna
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
    for x in design if design is not None else ():
        study.enqueue_trial({f"x{i}": float(v) for i, v in enumerate(x)})
    dists = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(6)}
    for _ in range(budget):
        t = study.ask(dists)
        study.tell(t, PROB(t.params))
    return float(study.best_value)


def _task(args: tuple[str, int, int, str]) -> tuple[str, int, float, float]:
    sampler, seed, budget, design = args
    warnings.filterwarnings("ignore")
    points = {"own": None, "sobol": sobol_startup, "optuna": optuna_startup}[design]
    pts = points(seed) if points is not None else None
    t0 = time.process_time()
    if sampler == "optuna-gp":
        best = run_optuna(seed, budget, pts)
    else:
        best = run_hpo(sampler.removeprefix("hpo-"), seed, budget, pts)
    return sampler, seed, best, time.process_time() - t0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--samplers", default="hpo-ei,hpo-ucb,hpo-pi,optuna-gp")
    ap.add_argument("--design", choices=("own", "sobol", "optuna"), default="own")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--tol", type=float, default=0.01)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument(
        "--gp-options",
        default="{}",
        help="JSON of extra GPSampler arguments for hpo-*, e.g. '{\"trust_region\": true}'",
    )
    args = ap.parse_args(argv)
    os.environ["HPO_BENCH_GP_OPTIONS"] = json.dumps(json.loads(args.gp_options))
    samplers = args.samplers.split(",")
    tasks = [
        (s, k, args.budget, args.design)
        for s in samplers
        for k in range(args.seed0, args.seed0 + args.seeds)
    ]
    with ProcessPoolExecutor(args.processes) as pool:
        results = list(pool.map(_task, tasks))
    print(
        f"Hartmann-6, {args.budget} evaluations, start-up design '{args.design}', seeds "
        f"{args.seed0}..{args.seed0 + args.seeds - 1}; success = within {args.tol} of "
        f"{PROB.f_opt:.4f}; GPSampler options {args.gp_options}\n"
    )
    print("| sampler | successes | best value per seed | CPU s |\n|---|---|---|---|")
    for s in samplers:
        rows = [r for r in results if r[0] == s]
        ok = sum(r[2] - PROB.f_opt < args.tol for r in rows)
        print(
            f"| {s} | {ok}/{len(rows)} | "
            + " ".join(f"{r[2]:.3f}" for r in rows)
            + f" | {sum(r[3] for r in rows):.0f} |"
        )


if __name__ == "__main__":
    main()
