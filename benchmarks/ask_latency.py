"""Seconds per proposal at 50 .. 1000 completed trials on Hartmann-6, one thread.

For each library and history size ``n`` the same ``n`` random Hartmann-6 evaluations are
given to the sampler, then one proposal is timed (the median of ``--repeats``):

* ``hpo-gp``: ``GPSampler().ask(...)``: stateless, so every ask is "cold".
* ``optuna-gp cold``: a fresh Optuna ``GPSampler`` on a study holding the ``n`` trials
  (what a new worker process or a resumed study pays).
* ``optuna-gp warm``: the same sampler's next ask after one ask/tell, with its kernel
  parameters cached from the previous fit (Optuna's steady state in one process).
* ``bayes_opt``: ``BayesianOptimization.suggest()`` (fits its GP, then maximizes UCB).
* ``skopt``: ``Optimizer.tell`` of the n-th point (which refits the GP and maximizes EI)
  plus ``ask``.

A peer whose ask took more than ``--skip-after`` seconds is not run at larger sizes
(the next size would pass ~30 s); the table says "skipped".

    python -m benchmarks.ask_latency --sizes 50,100,200,400,1000

``--space ttq`` times hpo's samplers on the 11-parameter *conditional* network space of the
time-to-quality benchmark instead (benchmarks/ttq_tasks.py, torch-digits): the history is
the first ``n`` configurations of its recorded table with their real learning curves, cut
by a Hyperband-like pattern (of every 9 trials, 5 stop at epoch 1, 2 at epoch 3, 1 at epoch
9 and 1 runs all 27 epochs), plus 3 running trials (4 workers; one has reported its first
epoch), so ``mf-gp`` models a budget the way it does in that benchmark:

* ``mf-gp``: ``MultiFidelityGPSampler(random_fraction=0)`` (every ask a GP ask).
* ``mf-gp-warm``: the same with ``warm_start=True`` (the kernel fit starts from the kernel
  stored with the latest proposal; both mf-gp variants get a history that carries one).
* ``gp``: ``GPSampler`` on the same trials' last reported values (running ones pending).

    python -m benchmarks.ask_latency --space ttq --sizes 20,40,80 --samplers mf-gp,gp
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402

from benchmarks.functions import get_problem  # noqa: E402

if TYPE_CHECKING:
    from hpo.samplers.base import Sampler
    from hpo.space import SearchSpace
    from hpo.trial import FrozenTrial

PROB = get_problem("hartmann6")


def _clock() -> float:
    """Process CPU seconds: every sampler runs on one thread, and on a shared machine CPU time
    measures the code rather than the neighbours (``--wall`` switches to wall-clock time)."""
    return time.perf_counter() if os.environ.get("HPO_BENCH_WALL") else time.process_time()


def _history(n: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(n).random((n, PROB.dim))
    return X, np.array([PROB.f(x) for x in X])


def hpo_history(n: int, warm: bool) -> tuple[SearchSpace, list[FrozenTrial]]:
    """The space and ``n`` random Hartmann-6 trials. Warm: the last trial carries the kernel
    parameters the sampler stored when it was proposed (an ask on the first ``n - 1``
    trials): the steady state of a study run by hpo. Cold: no trial carries any."""
    from hpo.samplers.base import seed_sequence
    from hpo.samplers.gp.sampler import GPSampler
    from hpo.trial import FrozenTrial, TrialState

    X, y = _history(n)
    space = PROB.space()
    hist = [
        FrozenTrial(i, TrialState.COMPLETE, {f"x{k}": float(v) for k, v in enumerate(x)}, float(f))
        for i, (x, f) in enumerate(zip(X, y, strict=True))
    ]
    if warm:
        attrs = (
            GPSampler(seed=0).ask(space, hist[:-1], [], seed_sequence(0, n - 1)).info["user_attrs"]
        )
        last = hist[-1]
        hist[-1] = FrozenTrial(last.number, last.state, last.params, last.value, user_attrs=attrs)
    return space, hist


def time_hpo(n: int, repeats: int, warm: bool = False) -> float:
    """Median process seconds of ``repeats`` asks on :func:`hpo_history` (cold or warm)."""
    from hpo.samplers.base import seed_sequence
    from hpo.samplers.gp.sampler import GPSampler

    space, hist = hpo_history(n, warm)
    times = []
    for r in range(repeats):
        t0 = _clock()
        GPSampler(seed=0).ask(space, hist, [], seed_sequence(0, n, r))
        times.append(_clock() - t0)
    return float(np.median(times))


def _optuna_study(n: int) -> tuple[object, dict[str, object]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    X, y = _history(n)
    dists = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(PROB.dim)}
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=0))
    study.add_trials(
        [
            optuna.trial.create_trial(
                params={f"x{k}": float(v) for k, v in enumerate(x)},
                distributions=dists,
                value=float(f),
            )
            for x, f in zip(X, y, strict=True)
        ]
    )
    return study, dists


def time_optuna(n: int, repeats: int, warm: bool) -> float:
    import torch

    torch.set_num_threads(1)
    times = []
    for _ in range(repeats):
        study, dists = _optuna_study(n - 1 if warm else n)
        if warm:  # one ask/tell first: the sampler caches its fitted kernel parameters
            t = study.ask(dists)  # type: ignore[attr-defined]
            study.tell(t, PROB(t.params))  # type: ignore[attr-defined]
        t0 = _clock()
        study.ask(dists)  # type: ignore[attr-defined]
        times.append(_clock() - t0)
    return float(np.median(times))


def time_bayes_opt(n: int, repeats: int) -> float:
    from bayes_opt import BayesianOptimization

    X, y = _history(n)
    times = []
    for r in range(repeats):
        opt = BayesianOptimization(
            None,
            {f"x{i}": (0.0, 1.0) for i in range(PROB.dim)},
            random_state=r,
            verbose=0,
            allow_duplicate_points=True,
        )
        for x, f in zip(X, y, strict=True):
            opt.register(params={f"x{k}": float(v) for k, v in enumerate(x)}, target=-float(f))
        t0 = _clock()
        opt.suggest()
        times.append(_clock() - t0)
    return float(np.median(times))


def time_skopt(n: int, repeats: int) -> float:
    from skopt import Optimizer

    X, y = _history(n)
    times = []
    for r in range(repeats):
        opt = Optimizer([(0.0, 1.0)] * PROB.dim, base_estimator="GP", acq_func="EI", random_state=r)
        opt.tell(X[:-1].tolist(), y[:-1].tolist())
        t0 = _clock()
        opt.tell(X[-1].tolist(), float(y[-1]))
        opt.ask()
        times.append(_clock() - t0)
    return float(np.median(times))


_CUTS = (1, 1, 1, 1, 1, 3, 3, 9, 27)  # epochs per trial: Hyperband's share of rungs 1/3/9/27
N_RUNNING = 3  # trials other workers are training (4 workers, as in the ttq benchmark)
TTQ_SAMPLERS = ("mf-gp", "mf-gp-warm", "gp")  # what --space ttq times


def _ttq_history(n: int) -> tuple[SearchSpace, list[FrozenTrial], list[FrozenTrial]]:
    """The first ``n`` configurations of the torch-digits table, curves cut by ``_CUTS``,
    and the next ``N_RUNNING`` as running trials (the first has reported one epoch)."""
    from benchmarks.ttq_tasks import load_table, table_path, tasks
    from hpo.trial import FrozenTrial, TrialState

    task = tasks()["torch-digits"]
    rows = load_table(table_path(task.name))["rows"]
    if n + N_RUNNING > len(rows):
        raise SystemExit(f"--space ttq: use sizes <= {len(rows) - N_RUNNING} (table rows)")
    hist: list[FrozenTrial] = []
    for i, row in enumerate(rows[:n]):
        cut = _CUTS[i % len(_CUTS)]
        curve = {e + 1: float(v) for e, v in enumerate(row["values"][:cut])}
        full = cut == len(row["values"])
        hist.append(
            FrozenTrial(
                i,
                TrialState.COMPLETE if full else TrialState.PRUNED,
                dict(row["params"]),
                curve[cut] if full else None,
                intermediate=curve,
            )
        )
    running = [
        FrozenTrial(
            n + j,
            TrialState.RUNNING,
            dict(rows[n + j]["params"]),
            intermediate={1: float(rows[n + j]["values"][0])} if j == 0 else {},
        )
        for j in range(N_RUNNING)
    ]
    return task.space, hist, running


def time_ttq(n: int, repeats: int, sampler: str) -> float:
    """One ask of ``mf-gp`` (every ask a GP ask) or ``gp`` on the conditional network space.

    ``mf-gp-warm`` is ``MultiFidelityGPSampler(warm_start=True)``; for both mf-gp variants
    the last finished trial carries the kernel a warm ask on the trials before it stored
    (a study's steady state), which the default ``mf-gp`` ignores and fits from scratch.
    """
    from hpo.samplers.base import seed_sequence
    from hpo.samplers.gp.sampler import GPSampler
    from hpo.samplers.multifidelity import MultiFidelityGPSampler
    from hpo.trial import FrozenTrial, TrialState

    space, hist, running = _ttq_history(n)
    ask: Sampler
    if sampler == "gp":  # the GP sees every trial at its last reported epoch
        last = [t.intermediate[max(t.intermediate)] for t in hist]
        hist = [
            FrozenTrial(t.number, TrialState.COMPLETE, t.params, v)
            for t, v in zip(hist, last, strict=True)
        ]
        ask = GPSampler(seed=0)
    else:
        warm = MultiFidelityGPSampler(random_fraction=0.0, warm_start=True, seed=0)
        info = warm.ask(space, hist[:-1], running, seed_sequence(0, n - 1), "maximize").info
        final = hist[-1]
        hist[-1] = FrozenTrial(
            final.number,
            final.state,
            final.params,
            final.value,
            intermediate=final.intermediate,
            user_attrs=dict(info.get("user_attrs", {})),
        )
        ask = (
            warm if sampler == "mf-gp-warm" else MultiFidelityGPSampler(random_fraction=0.0, seed=0)
        )
    times = []
    for r in range(repeats):
        t0 = _clock()
        ask.ask(space, hist, running, seed_sequence(0, n + N_RUNNING, r), "maximize")
        times.append(_clock() - t0)
    return float(np.median(times))


def _print_table(table: Mapping[str, Mapping[int, float | None]], sizes: list[int]) -> None:
    """Seconds per proposal as a markdown table: a row per sampler, a column per history size."""
    print("| sampler | " + " | ".join(f"n={n}" for n in sizes) + " |")
    print("|---" * (len(sizes) + 1) + "|")
    for name, row in table.items():
        cells = [f"{v:.3f}" if v is not None else "skipped" for v in row.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main_ttq(sizes: list[int], names: list[str], repeats: int, clock: str) -> None:
    """``--space ttq``: hpo's samplers on the conditional network space."""
    table = {name: {n: time_ttq(n, repeats, name) for n in sizes} for name in names}
    print(
        f"\n{clock} seconds per proposal on the ttq network space (torch-digits, 11 parameters, "
        f"3 conditional; {N_RUNNING} running; one thread; median of {repeats} asks):\n"
    )
    _print_table(table, sizes)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="50,100,200,400,1000")
    ap.add_argument(
        "--samplers", default="hpo-gp,hpo-gp-warm,optuna-gp-cold,optuna-gp-warm,bayes_opt,skopt"
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-after", type=float, default=12.0)
    ap.add_argument("--wall", action="store_true", help="wall-clock instead of process CPU time")
    ap.add_argument("--space", choices=("hartmann6", "ttq"), default="hartmann6")
    args = ap.parse_args(argv)
    if args.wall:
        os.environ["HPO_BENCH_WALL"] = "1"
    warnings.filterwarnings("ignore")
    if args.space == "ttq":
        clock = "wall-clock" if args.wall else "process CPU"
        names = [s for s in args.samplers.split(",") if s in TTQ_SAMPLERS] or ["mf-gp", "gp"]
        main_ttq([int(s) for s in args.sizes.split(",")], names, args.repeats, clock)
        return
    timers = {
        "hpo-gp": time_hpo,
        "hpo-gp-warm": lambda n, r: time_hpo(n, r, warm=True),
        "optuna-gp-cold": lambda n, r: time_optuna(n, r, warm=False),
        "optuna-gp-warm": lambda n, r: time_optuna(n, r, warm=True),
        "bayes_opt": time_bayes_opt,
        "skopt": time_skopt,
    }
    sizes = [int(s) for s in args.sizes.split(",")]
    names = args.samplers.split(",")
    table: dict[str, dict[int, float | None]] = {s: {} for s in names}
    for name in names:
        skipping = False
        for n in sizes:
            if skipping:
                table[name][n] = None
                continue
            repeats = args.repeats if n <= 400 else 1
            table[name][n] = timers[name](n, repeats)
            print(f"{name:15s} n={n:5d}  {table[name][n]:.3f} s", flush=True)
            skipping = not name.startswith("hpo-") and table[name][n] > args.skip_after  # type: ignore[operator]
    clock = "wall-clock" if args.wall else "process CPU"
    print(
        f"\n{clock} seconds per proposal on Hartmann-6 (one thread; median of "
        f"{args.repeats} asks up to 400 trials, one ask above):\n"
    )
    _print_table(table, sizes)
    for ours in [s for s in names if s.startswith("hpo-")]:
        print(f"\nSpeed-up of {ours} (peer seconds / ours):\n")
        print("| peer | " + " | ".join(f"n={n}" for n in sizes) + " |")
        print("|---" * (len(sizes) + 1) + "|")
        for name in names:
            if name.startswith("hpo-"):
                continue
            cells = [
                f"{table[name][n] / table[ours][n]:.1f}x"  # type: ignore[operator]
                if table[name][n] is not None
                else "-"
                for n in sizes
            ]
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
