"""Search quality of hpo's GPSampler against peers at their library defaults.

Every (problem, sampler, seed) run is one task in a process pool; each reports its
best-so-far curve. The report gives, per problem, the mean log10 simple regret at the
budget, a normalized score (100 = the optimum, 0 = the median of random search at the same
budget, from 201 cheap random-search runs) and each sampler's mean rank across problems.

The real tuning tasks ``mlp-digits mlp-breast_cancer mlp-wine mlp-diabetes``
(:mod:`benchmarks.mlp_tasks`: an sklearn MLP's 3-fold CV error over a 4-D box) have no known
optimum. For them the table shows the mean best value (CV error in %), regret is measured
against the best value any run in the results found on that problem, and the score's 0 is
the median of the random-search runs (the ``random`` sampler's plus ``--ref-runs`` extra
ones, seeds 10000+, which are kept out of the tables). Results are written to ``--out``
after every run, so an interrupted run still reports with ``--load``.

Example (the configuration in benchmarks/README.md)::

    python -m benchmarks.bo_suite --budget 40 --seeds 5 --processes 2 \\
        --problems branin,hartmann3,hartmann6,levy4,rosenbrock4,rastrigin4,ackley5
    python -m benchmarks.bo_suite --budget 30 --seeds 3 --processes 1 --out mlp.json \
        --problems mlp-digits,mlp-breast_cancer,mlp-wine,mlp-diabetes

Samplers: ``hpo-ei hpo-ucb hpo-pi`` (ours), ``hpo-ei-tr hpo-ucb-tr`` (ours with
``trust_region=True``), ``hpo-ei-b4`` (ours, batches of 4 proposed with
the other 3 pending), ``random``, ``optuna-tpe``, ``optuna-gp``, ``bo-ucb bo-ei bo-pi``
(bayes_opt), ``skopt-ei skopt-pi skopt-lcb``, ``botorch-logei`` (SingleTaskGP + LogEI),
``smac-bb`` (SMAC3 BlackBoxFacade, when ``smac`` is installed).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
from scipy.stats import rankdata  # noqa: E402

from benchmarks.functions import PROBLEMS, Problem, get_problem  # noqa: E402

OURS = ["hpo-ei", "hpo-ucb", "hpo-pi"]
PEERS = [
    "random",
    "optuna-tpe",
    "optuna-gp",
    "bo-ucb",
    "bo-ei",
    "bo-pi",
    "skopt-ei",
    "skopt-pi",
    "skopt-lcb",
    "botorch-logei",
    "smac-bb",
]
ALL = [*OURS, "hpo-ei-b4", "hpo-ei-tr", "hpo-ucb-tr", *PEERS]
REF = "random-ref"  # extra random runs: the score's 0 on problems without a known optimum
Runner = Callable[[Problem, int, int], list[float]]


def _run_hpo(acq: str, batch: int = 1, **fixed: object) -> Runner:
    def run(prob: Problem, budget: int, seed: int) -> list[float]:
        from hpo.samplers.base import seed_sequence
        from hpo.samplers.gp.sampler import GPSampler
        from hpo.trial import FrozenTrial, TrialState

        options = {**json.loads(os.environ.get("HPO_BENCH_GP_OPTIONS", "{}")), **fixed}
        sampler, space = GPSampler(acq, **{"seed": seed, **options}), prob.space()
        history: list[FrozenTrial] = []
        while len(history) < budget:
            pending: list[FrozenTrial] = []
            for _ in range(min(batch, budget - len(history))):
                number = len(history) + len(pending)
                p = sampler.ask(space, history, pending, seed_sequence(seed, number), "minimize")
                pending.append(
                    FrozenTrial(
                        number,
                        TrialState.RUNNING,
                        p.params,
                        user_attrs=p.info.get("user_attrs", {}),
                    )
                )
            history += [
                FrozenTrial(
                    t.number, TrialState.COMPLETE, t.params, prob(t.params), user_attrs=t.user_attrs
                )
                for t in pending
            ]
        return [t.value for t in history]  # type: ignore[misc]

    return run


def _run_random(prob: Problem, budget: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    lo, hi = prob.bounds[:, 0], prob.bounds[:, 1]
    return [prob.f(lo + rng.random(prob.dim) * (hi - lo)) for _ in range(budget)]


def _run_optuna(kind: str) -> Runner:
    def run(prob: Problem, budget: int, seed: int) -> list[float]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        warnings.filterwarnings("ignore")
        sampler = (
            optuna.samplers.TPESampler(seed=seed)
            if kind == "tpe"
            else optuna.samplers.GPSampler(seed=seed)
        )
        study = optuna.create_study(sampler=sampler)
        dists = {
            f"x{i}": optuna.distributions.FloatDistribution(float(lo), float(hi))
            for i, (lo, hi) in enumerate(prob.bounds)
        }
        out = []
        for _ in range(budget):
            trial = study.ask(dists)
            out.append(prob(trial.params))
            study.tell(trial, out[-1])
        return out

    return run


def _run_bayes_opt(kind: str) -> Runner:
    def run(prob: Problem, budget: int, seed: int) -> list[float]:
        from bayes_opt import BayesianOptimization, acquisition

        warnings.filterwarnings("ignore")
        acq = {
            "ucb": lambda: acquisition.UpperConfidenceBound(kappa=2.576, random_state=seed),
            "ei": lambda: acquisition.ExpectedImprovement(xi=0.01, random_state=seed),
            "pi": lambda: acquisition.ProbabilityOfImprovement(xi=0.01, random_state=seed),
        }[kind]()
        bounds = {f"x{i}": (float(lo), float(hi)) for i, (lo, hi) in enumerate(prob.bounds)}
        opt = BayesianOptimization(
            None,
            bounds,
            acquisition_function=acq,
            random_state=seed,
            verbose=0,
            allow_duplicate_points=True,
        )
        out: list[float] = []
        for i in range(budget):  # maximize()'s default: 5 random points, then suggest()
            p = opt._space.array_to_params(opt._space.random_sample()) if i < 5 else opt.suggest()
            out.append(prob({k: float(v) for k, v in p.items()}))
            opt.register(params=p, target=-out[-1])
        return out

    return run


def _run_skopt(kind: str) -> Runner:
    def run(prob: Problem, budget: int, seed: int) -> list[float]:
        from skopt import Optimizer

        warnings.filterwarnings("ignore")
        opt = Optimizer(
            [(float(lo), float(hi)) for lo, hi in prob.bounds],
            base_estimator="GP",
            acq_func=kind,
            random_state=seed,
        )
        out: list[float] = []
        for _ in range(budget):
            x = opt.ask()
            out.append(prob.f(np.array(x)))
            opt.tell(x, out[-1])
        return out

    return run


def _run_botorch(prob: Problem, budget: int, seed: int) -> list[float]:
    """BoTorch's documented loop: SingleTaskGP (its default priors, inputs in the unit cube,
    outcomes standardized), fit_gpytorch_mll, LogExpectedImprovement maximized by
    optimize_acqf (10 restarts from 512 raw samples); 10 scrambled-Sobol start-up points."""
    import torch
    from botorch.acquisition import LogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood
    from scipy.stats import qmc

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    lo, hi = prob.bounds[:, 0], prob.bounds[:, 1]
    U = list(qmc.Sobol(prob.dim, scramble=True, seed=seed).random(16)[: min(10, budget)])
    out = [prob.f(lo + u * (hi - lo)) for u in U]
    unit = torch.stack([torch.zeros(prob.dim), torch.ones(prob.dim)]).double()
    while len(out) < budget:
        X = torch.tensor(np.array(U), dtype=torch.double)
        Y = -torch.tensor(out, dtype=torch.double)[:, None]  # BoTorch maximizes
        model = SingleTaskGP(X, Y, outcome_transform=Standardize(m=1))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        acq = LogExpectedImprovement(model, best_f=Y.max())
        x, _ = optimize_acqf(acq, bounds=unit, q=1, num_restarts=10, raw_samples=512)
        u = x[0].detach().numpy()
        U.append(u)
        out.append(prob.f(lo + u * (hi - lo)))
    return out


def _run_smac(prob: Problem, budget: int, seed: int) -> list[float]:
    """SMAC3's BlackBoxFacade (a GP with MCMC-free MAP fit, EI, its own Sobol initial design)
    through ask/tell, at its defaults; the box is its ConfigSpace of uniform floats."""
    import logging

    from ConfigSpace import ConfigurationSpace, Float
    from smac import BlackBoxFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    warnings.filterwarnings("ignore")
    logging.getLogger("smac").setLevel(logging.ERROR)
    cs = ConfigurationSpace(seed=seed)
    cs.add([Float(f"x{i}", (float(lo), float(hi))) for i, (lo, hi) in enumerate(prob.bounds)])
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        scenario = Scenario(
            cs, deterministic=True, n_trials=budget, seed=seed, output_directory=tmp
        )
        smac = BlackBoxFacade(
            scenario, lambda config, seed=0: 0.0, overwrite=True, logging_level=40
        )
        out: list[float] = []
        for _ in range(budget):
            info = smac.ask()
            out.append(prob({k: float(v) for k, v in dict(info.config).items()}))
            smac.tell(info, TrialValue(cost=out[-1]))
    return out


RUNNERS: dict[str, Runner] = {
    "hpo-ei": _run_hpo("ei"),
    "hpo-ucb": _run_hpo("ucb"),
    "hpo-pi": _run_hpo("pi"),
    "hpo-ei-b4": _run_hpo("ei", batch=4),
    "hpo-ei-tr": _run_hpo("ei", trust_region=True),
    "hpo-ucb-tr": _run_hpo("ucb", trust_region=True),
    "random": _run_random,
    "optuna-tpe": _run_optuna("tpe"),
    "optuna-gp": _run_optuna("gp"),
    "bo-ucb": _run_bayes_opt("ucb"),
    "bo-ei": _run_bayes_opt("ei"),
    "bo-pi": _run_bayes_opt("pi"),
    "skopt-ei": _run_skopt("EI"),
    "skopt-pi": _run_skopt("PI"),
    "skopt-lcb": _run_skopt("LCB"),
    "botorch-logei": _run_botorch,
    "smac-bb": _run_smac,
    REF: _run_random,
}


def _task(args: tuple[str, str, int, int]) -> dict[str, object]:
    problem, sampler, seed, budget = args
    t0 = time.perf_counter()
    values = RUNNERS[sampler](get_problem(problem), budget, seed)
    return {
        "problem": problem,
        "sampler": sampler,
        "seed": seed,
        "values": values,
        "seconds": time.perf_counter() - t0,
    }


def random_median_regret(prob: Problem, budget: int, runs: int = 201) -> float:
    """Median simple regret of uniform random search after ``budget`` evaluations."""
    return float(
        np.median([prob.regret(min(_run_random(prob, budget, 10_000 + s))) for s in range(runs)])
    )


def _best(run: dict[str, object], budget: int) -> float:
    return float(min(run["values"][:budget]))  # type: ignore[index]


def report(results: list[dict[str, object]], budget: int) -> str:
    """Markdown tables: mean log10 regret (mean best value where no optimum), score, rank."""
    problems = sorted({str(r["problem"]) for r in results}, key=list(PROBLEMS).index)
    seen = list(dict.fromkeys(str(r["sampler"]) for r in results))
    samplers = [s for s in ALL if s in seen] + [s for s in seen if s not in ALL and s != REF]
    logr: dict[tuple[str, str], float] = {}
    score: dict[tuple[str, str], float] = {}
    secs: dict[str, float] = {s: 0.0 for s in samplers}
    notes: list[str] = []
    for p in problems:
        prob = get_problem(p)
        here = [r for r in results if r["problem"] == p]
        f_best = min(_best(r, budget) for r in here)
        if prob.known_optimum:
            ref = random_median_regret(prob, budget)
        else:
            rand = [
                prob.regret(_best(r, budget), f_best)
                for r in here
                if r["sampler"] in ("random", REF)
            ]
            ref = float(np.median(rand)) if rand else float("nan")
            notes.append(
                f"{p}: best {100 * f_best:.2f}%, median random {100 * (f_best + ref):.2f}% "
                f"({len(rand)} random runs)"
            )
        for s in samplers:
            runs = [r for r in here if r["sampler"] == s]
            if not runs:
                continue
            regrets = np.array([prob.regret(_best(r, budget), f_best) for r in runs])
            logr[p, s] = (
                float(np.mean(np.log10(np.maximum(regrets, 1e-8))))
                if prob.known_optimum
                else float(np.mean([100 * _best(r, budget) for r in runs]))
            )
            score[p, s] = float(np.mean(100 * (1 - regrets / ref))) if ref > 0 else 100.0
            secs[s] += sum(float(r["seconds"]) for r in runs)  # type: ignore[arg-type]
    ranks: dict[str, list[float]] = {s: [] for s in samplers}
    for p in problems:
        have = [s for s in samplers if (p, s) in logr]
        tied = rankdata([round(logr[p, s], 2) for s in have])  # equal to 2 decimals: equal rank
        for s, rank in zip(have, tied, strict=True):
            ranks[s].append(float(rank))
    head = "| sampler | " + " | ".join(problems) + " | mean rank | mean score | run time s |"
    sep = "|---" * (len(problems) + 4) + "|"
    mlp = (
        ""
        if all(get_problem(p).known_optimum for p in problems)
        else (
            " mlp-*: mean best CV error in % (1 - accuracy, or 1 - R² for diabetes), lower is "
            "better."
        )
    )
    lines = [
        f"Mean log10 simple regret after {budget} evaluations (lower is better; regret floored "
        f"at 1e-8).{mlp} Mean rank over problems (ties at 2 decimals share a rank); mean "
        "normalized score; run time = wall seconds summed over this sampler's runs.",
        "",
        head,
        sep,
    ]
    for s in sorted(samplers, key=lambda s: np.mean(ranks[s])):
        cells = [f"{logr[p, s]:.2f}" if (p, s) in logr else "-" for p in problems]
        sc = [score[p, s] for p in problems if (p, s) in score]
        lines.append(
            f"| {s} | " + " | ".join(cells) + f" | {np.mean(ranks[s]):.2f} | "
            f"{np.mean(sc):.1f} | {secs[s]:.0f} |"
        )
    best = "optimum" if not mlp else "optimum, or best value any run found on mlp-*"
    lines += [
        "",
        f"Normalized score (100 = {best}, 0 = median random search, mean over seeds):",
        "",
        "| sampler | " + " | ".join(problems) + " |",
        "|---" * (len(problems) + 1) + "|",
    ]
    for s in sorted(samplers, key=lambda s: np.mean(ranks[s])):
        lines.append(
            f"| {s} | "
            + " | ".join(f"{score[p, s]:.1f}" if (p, s) in score else "-" for p in problems)
            + " |"
        )
    if notes:
        lines += ["", "Reference values: " + "; ".join(notes) + "."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--problems", default="branin,hartmann3,hartmann6,levy4,rosenbrock4,rastrigin4,ackley5"
    )
    ap.add_argument("--samplers", default=",".join(ALL))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--seed0", type=int, default=0, help="first seed")
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--out", default=None, help="write raw results (JSON) here, after every run")
    ap.add_argument(
        "--ref-runs",
        type=int,
        default=6,
        help="extra random-search runs per problem without a known optimum (mlp-*)",
    )
    ap.add_argument(
        "--load",
        default=None,
        help="report from saved JSON files (comma-separated, results concatenated) "
        "instead of running",
    )
    ap.add_argument(
        "--tag",
        default="",
        help="appended to the recorded name of every hpo-* run (e.g. '@q0.1'), so runs with "
        "other --gp-options can be loaded and reported next to the defaults' runs",
    )
    ap.add_argument(
        "--gp-options",
        default="{}",
        help="JSON of extra GPSampler arguments for hpo-*, e.g. '{\"beta\": 4}'",
    )
    args = ap.parse_args(argv)
    os.environ["HPO_BENCH_GP_OPTIONS"] = args.gp_options  # inherited by the pool's processes
    if args.load:
        results = []
        for path in args.load.split(","):
            with open(path) as fh:
                results += json.load(fh)
    else:
        tasks = []
        for p in args.problems.split(","):
            tasks += [
                (p, s, seed, args.budget)
                for s in args.samplers.split(",")
                for seed in range(args.seed0, args.seed0 + args.seeds)
            ]
            if not get_problem(p).known_optimum:
                tasks += [(p, REF, 10_000 + i, args.budget) for i in range(args.ref_runs)]
        for _, s, _, _ in tasks:
            if s not in RUNNERS:
                raise SystemExit(f"Unknown sampler {s!r}; use some of {ALL}.")
        t0 = time.perf_counter()
        results = []
        with ProcessPoolExecutor(args.processes) as pool:
            for i, r in enumerate(pool.map(_task, tasks)):  # in order: problem by problem
                if args.tag and str(r["sampler"]).startswith("hpo-"):
                    r["sampler"] = f"{r['sampler']}{args.tag}"
                results.append(r)
                print(
                    f"[{time.perf_counter() - t0:6.0f} s] {i + 1}/{len(tasks)} {r['problem']} "
                    f"{r['sampler']} seed {r['seed']}: best {min(r['values']):.4g} "  # type: ignore[call-overload]
                    f"({float(r['seconds']):.1f} s)",
                    flush=True,
                )  # type: ignore[arg-type]
                if args.out:
                    with open(args.out, "w") as fh:
                        json.dump(results, fh)
        print(f"{len(tasks)} runs in {time.perf_counter() - t0:.0f} s wall")
    print(report(results, args.budget))


if __name__ == "__main__":
    main()
