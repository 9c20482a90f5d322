"""Standard test functions for black-box optimization (all minimized, known optima).

Each :class:`Problem` has box ``bounds: (d, 2)``, ``f(x: (d,)) -> float`` and the optimal
value ``f_opt``; :meth:`Problem.space` is the matching hpo search space (one Float each).
Definitions follow the Virtual Library of Simulation Experiments (Surjanovic & Bingham).
The real tuning tasks ``mlp-<dataset>`` (:mod:`benchmarks.mlp_tasks`) have no known optimum:
their ``f_opt`` is NaN and the suite measures regret against the best value any run found.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from benchmarks.mlp_tasks import (
    MLP12_BOUNDS,
    MLP_BOUNDS,
    MLP_DATASETS,
    mlp12_objective,
    mlp_objective,
)
from hpo.space import Float, SearchSpace

__all__ = ["Problem", "PROBLEMS", "get_problem"]


@dataclass(frozen=True)
class Problem:
    """A test function: ``f`` to minimize over ``bounds (d, 2)``; ``f_opt`` its minimum."""

    name: str
    bounds: NDArray[np.float64]
    f: Callable[[NDArray[np.float64]], float]
    f_opt: float

    @property
    def dim(self) -> int:
        return len(self.bounds)

    def space(self) -> SearchSpace:
        return SearchSpace(
            {f"x{i}": Float(float(lo), float(hi)) for i, (lo, hi) in enumerate(self.bounds)}
        )

    def __call__(self, params: dict[str, float]) -> float:
        return float(self.f(np.array([params[f"x{i}"] for i in range(self.dim)])))

    @property
    def known_optimum(self) -> bool:
        return not math.isnan(self.f_opt)

    def regret(self, value: float, f_best: float | None = None) -> float:
        """``value`` minus the optimum (or ``f_best``, the best value seen, when unknown)."""
        ref = self.f_opt if self.known_optimum else f_best
        if ref is None:
            raise ValueError(f"{self.name} has no known optimum; pass f_best.")
        return max(float(value) - ref, 0.0)


def branin(x: NDArray[np.float64]) -> float:
    a, b, c, r, s, t = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)
    return float(a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * np.cos(x[0]) + s)


_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array(
    [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]
)
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann3(x: NDArray[np.float64]) -> float:
    return float(-_H_ALPHA @ np.exp(-(_H3_A * (x - _H3_P) ** 2).sum(1)))


def hartmann6(x: NDArray[np.float64]) -> float:
    return float(-_H_ALPHA @ np.exp(-(_H6_A * (x - _H6_P) ** 2).sum(1)))


def ackley(x: NDArray[np.float64]) -> float:
    d = len(x)
    return float(
        -20 * np.exp(-0.2 * np.sqrt((x**2).sum() / d))
        - np.exp(np.cos(2 * math.pi * x).sum() / d)
        + 20
        + math.e
    )


def levy(x: NDArray[np.float64]) -> float:
    w = 1 + (x - 1) / 4
    mid = ((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2)).sum()
    return float(
        np.sin(math.pi * w[0]) ** 2
        + mid
        + (w[-1] - 1) ** 2 * (1 + np.sin(2 * math.pi * w[-1]) ** 2)
    )


def rosenbrock(x: NDArray[np.float64]) -> float:
    return float((100 * (x[1:] - x[:-1] ** 2) ** 2 + (x[:-1] - 1) ** 2).sum())


def rastrigin(x: NDArray[np.float64]) -> float:
    return float(10 * len(x) + (x**2 - 10 * np.cos(2 * math.pi * x)).sum())


def _box(lo: float, hi: float, d: int) -> NDArray[np.float64]:
    return np.tile([lo, hi], (d, 1)).astype(float)


PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in [
        Problem("branin", np.array([[-5.0, 10.0], [0.0, 15.0]]), branin, 0.397887357729739),
        Problem("hartmann3", _box(0, 1, 3), hartmann3, -3.862782147820756),
        Problem("hartmann6", _box(0, 1, 6), hartmann6, -3.322368011391339),
        Problem("ackley5", _box(-32.768, 32.768, 5), ackley, 0.0),
        Problem("levy4", _box(-10, 10, 4), levy, 0.0),
        Problem("rosenbrock4", _box(-5, 10, 4), rosenbrock, 0.0),
        Problem("rastrigin4", _box(-5.12, 5.12, 4), rastrigin, 0.0),
        Problem("ackley10", _box(-32.768, 32.768, 10), ackley, 0.0),
        Problem("levy10", _box(-10, 10, 10), levy, 0.0),
        Problem("rosenbrock20", _box(-5, 10, 20), rosenbrock, 0.0),
        *[Problem(f"mlp-{d}", MLP_BOUNDS.copy(), mlp_objective(d), math.nan) for d in MLP_DATASETS],
        *[
            Problem(f"mlp12-{d}", MLP12_BOUNDS.copy(), mlp12_objective(d), math.nan)
            for d in MLP_DATASETS
        ],
    ]
}


def get_problem(name: str) -> Problem:
    """The problem called ``name`` (see ``PROBLEMS``)."""
    try:
        return PROBLEMS[name]
    except KeyError:
        raise KeyError(f"Unknown problem {name!r}; use one of {sorted(PROBLEMS)}.") from None
