"""How many GP proposals sit on a bound of the search box, on the real MLP tuning tasks.

For each dataset and seed, hpo's ``GPSampler`` runs ``--budget`` trials on ``mlp-<dataset>``
(:mod:`benchmarks.mlp_tasks`); every proposal after the start-up design with at least one
parameter exactly at a bound of its range counts once. Also prints each run's best CV error.

    python -m benchmarks.boundary_count --acquisitions ei --seeds 3 --budget 30
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

from benchmarks.mlp_tasks import MLP_DATASETS  # noqa: E402


def run(args: tuple[str, str, int, int, int]) -> tuple[str, str, int, int, int, float]:
    """One run: ``(acquisition, dataset, seed, proposals at a bound, proposals, best value)``."""
    acq, dataset, seed, budget, startup = args
    from benchmarks.functions import get_problem
    from hpo.samplers.base import seed_sequence
    from hpo.samplers.gp.sampler import GPSampler
    from hpo.trial import FrozenTrial, TrialState

    prob = get_problem(f"mlp-{dataset}")
    options = json.loads(os.environ.get("HPO_BENCH_GP_OPTIONS", "{}"))
    space, history = prob.space(), []
    sampler = GPSampler(acq, n_startup_trials=startup, seed=seed, **options)
    at_bound = 0
    for i in range(budget):
        p = sampler.ask(space, history, [], seed_sequence(seed, i), "minimize")
        u = space.encode(p.params)
        if i >= startup:
            at_bound += int(np.any((u <= 1e-9) | (u >= 1 - 1e-9)))
        history.append(
            FrozenTrial(
                i,
                TrialState.COMPLETE,
                p.params,
                prob(p.params),
                user_attrs=p.info.get("user_attrs", {}),
            )
        )
    best = min(float(t.value) for t in history)  # type: ignore[arg-type]
    return acq, dataset, seed, at_bound, budget - startup, best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--acquisitions", default="ei")
    ap.add_argument("--datasets", default=",".join(MLP_DATASETS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=30)
    ap.add_argument("--startup", type=int, default=10)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument(
        "--gp-options",
        default="{}",
        help="JSON of extra GPSampler arguments, e.g. '{\"trust_region\": true}'",
    )
    args = ap.parse_args(argv)
    os.environ["HPO_BENCH_GP_OPTIONS"] = json.dumps(json.loads(args.gp_options))
    tasks = [
        (a, d, s, args.budget, args.startup)
        for a in args.acquisitions.split(",")
        for d in args.datasets.split(",")
        for s in range(args.seeds)
    ]
    with ProcessPoolExecutor(args.processes) as pool:
        results = list(pool.map(run, tasks))
    print(
        "| acquisition | dataset | seed | proposals at a bound | best CV error % "
        "|\n|---|---|---|---|---|"
    )
    for acq, d, s, k, n, best in results:
        print(f"| {acq} | {d} | {s} | {k}/{n} | {100 * best:.2f} |")
    for acq in args.acquisitions.split(","):
        rows = [r for r in results if r[0] == acq]
        print(
            f"\n{acq}: {sum(r[3] for r in rows)} of {sum(r[4] for r in rows)} proposals after "
            f"start-up "
            "had at least one parameter at a bound"
        )


if __name__ == "__main__":
    main()
