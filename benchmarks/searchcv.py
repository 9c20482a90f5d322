"""HPOSearchCV against scikit-learn's, scikit-optimize's and Optuna's search CVs, same budget.

The MLP tasks of ``benchmarks/mlp_tasks.py`` (StandardScaler + one-hidden-layer MLP, 40
epochs, ``random_state=0``, a fixed stratified 3-fold split): every search gets the same
estimator, the same folds, the same box (alpha 1e-6..1e-1 log, learning_rate_init
1e-4..1e-1 log, hidden units 8..128, batch size 32..256) and ``--budget`` candidates, one
process each (``n_jobs=1``), so wall time compares the searches' own overhead plus the fits
they choose. GridSearchCV gets the largest 3x3x2 grid within the budget (18 points);
HalvingRandomSearchCV gets ``2 * budget`` candidates, factor 3, over n_samples (its fits
are mostly on subsets, so its cost is about the budget's; its candidate count is printed).

    python -m benchmarks.searchcv --datasets wine breast_cancer --budget 20 --seeds 0 1

Prints one markdown table row per (dataset, method): best CV accuracy (mean over seeds,
with min..max), candidates evaluated and wall seconds. skopt and Optuna get the hidden
sizes as ints (MLPClassifier reads an int as one layer): their categoricals hold no tuples.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
from scipy.stats import loguniform  # noqa: E402
from sklearn.experimental import enable_halving_search_cv  # noqa: E402, F401
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
)
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from benchmarks.mlp_tasks import MAX_ITER, _data  # noqa: E402

HIDDEN = [(8,), (16,), (32,), (64,), (128,)]
BATCH = [32, 64, 128, 256]


def pipeline() -> Pipeline:
    return Pipeline(
        [("scale", StandardScaler()), ("mlp", MLPClassifier(max_iter=MAX_ITER, random_state=0))]
    )


def searches(budget: int, seed: int) -> dict[str, object]:
    """Every search, configured for ``budget`` candidates."""
    from hpo.sklearn import HPOSearchCV
    from hpo.space import Categorical, Float

    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    common = {"cv": cv, "scoring": "accuracy", "n_jobs": 1}
    dists = {
        "mlp__alpha": loguniform(1e-6, 1e-1),
        "mlp__learning_rate_init": loguniform(1e-4, 1e-1),
        "mlp__hidden_layer_sizes": HIDDEN,
        "mlp__batch_size": BATCH,
    }
    hpo_space = {
        "mlp__alpha": Float(1e-6, 1e-1, log=True),
        "mlp__learning_rate_init": Float(1e-4, 1e-1, log=True),
        "mlp__hidden_layer_sizes": Categorical(HIDDEN),
        "mlp__batch_size": Categorical(BATCH),
    }
    grid = {
        "mlp__alpha": [1e-5, 1e-3, 1e-1],
        "mlp__learning_rate_init": [1e-3, 1e-2, 1e-1],
        "mlp__hidden_layer_sizes": [(16,), (64,)],
        "mlp__batch_size": [64],
    }
    out: dict[str, object] = {
        "HPOSearchCV (gp)": HPOSearchCV(
            pipeline(), hpo_space, sampler="gp", n_trials=budget, random_state=seed, **common
        ),
        "HPOSearchCV (random)": HPOSearchCV(
            pipeline(), hpo_space, sampler="random", n_trials=budget, random_state=seed, **common
        ),
        "GridSearchCV (18 pts)": GridSearchCV(pipeline(), grid, **common),
        "RandomizedSearchCV": RandomizedSearchCV(
            pipeline(), dists, n_iter=budget, random_state=seed, **common
        ),
        "HalvingRandomSearchCV": HalvingRandomSearchCV(
            pipeline(), dists, n_candidates=2 * budget, factor=3, random_state=seed, **common
        ),
    }
    try:
        from skopt import BayesSearchCV
        from skopt.space import Categorical as SkCat
        from skopt.space import Real

        out["skopt BayesSearchCV"] = BayesSearchCV(
            pipeline(),
            {
                "mlp__alpha": Real(1e-6, 1e-1, prior="log-uniform"),
                "mlp__learning_rate_init": Real(1e-4, 1e-1, prior="log-uniform"),
                "mlp__hidden_layer_sizes": SkCat([8, 16, 32, 64, 128]),
                "mlp__batch_size": SkCat(BATCH),
            },
            n_iter=budget,
            random_state=seed,
            **common,
        )
    except ImportError:
        print("(scikit-optimize not installed: skipped)")
    try:
        import optuna
        from optuna.distributions import CategoricalDistribution, FloatDistribution
        from optuna_integration import OptunaSearchCV

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        out["optuna OptunaSearchCV (TPE)"] = OptunaSearchCV(
            pipeline(),
            {
                "mlp__alpha": FloatDistribution(1e-6, 1e-1, log=True),
                "mlp__learning_rate_init": FloatDistribution(1e-4, 1e-1, log=True),
                "mlp__hidden_layer_sizes": CategoricalDistribution([8, 16, 32, 64, 128]),
                "mlp__batch_size": CategoricalDistribution(BATCH),
            },
            n_trials=budget,
            random_state=seed,
            **common,
        )
    except ImportError:
        print("(optuna-integration not installed: skipped)")
    return out


def candidates(search: object) -> int:
    results = getattr(search, "cv_results_", None) or {}
    if "params" in results:
        return len(results["params"])
    trials = getattr(search, "trials_", None)  # OptunaSearchCV
    return len(trials) if trials is not None else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["wine", "breast_cancer"])
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    args = parser.parse_args()
    print(
        f"budget {args.budget} candidates x 3 folds, seeds {args.seeds}, load average at start "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print("| dataset | search | best CV accuracy (mean, min..max) | candidates | wall s (mean) |")
    print("|---|---|---|---|---|")
    for name in args.datasets:
        X, y = _data(name)
        rows: dict[str, list[tuple[float, int, float]]] = {}
        for seed in args.seeds:
            for label, search in searches(args.budget, seed).items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    started = time.perf_counter()
                    search.fit(X, y)  # type: ignore[attr-defined]
                    wall = time.perf_counter() - started
                rows.setdefault(label, []).append(
                    (float(search.best_score_), candidates(search), wall)
                )  # type: ignore[attr-defined]
        for label, runs in rows.items():
            scores = [r[0] for r in runs]
            print(
                f"| {name} | {label} | {np.mean(scores):.4f} "
                f"({min(scores):.4f}..{max(scores):.4f}) | "
                f"{runs[0][1]} | {np.mean([r[2] for r in runs]):.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
