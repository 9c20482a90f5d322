"""Fixed GP asks whose proposals a pure-performance change must not move.

Each case is one ``GPSampler.ask`` on a fixed history: Hartmann-6 with 20, 100 and 200
random trials, cold (no stored kernel), warm (the last trial carries the kernel stored by
the ask before it) and warm with two pending trials, for EI, UCB and PI; and the
conditional network space of :mod:`benchmarks.gp_conditional_ask` at 30 and 80 trials.
``tests/samplers/data/gp_replay.json`` holds what the code returned when it was written
(the proposal in the unit cube, NaN for an inactive parameter, and the stored log kernel
parameters); ``test_gp_replay.py`` asks again and compares.

A change that means to move proposals (priors, starts, the optimizer) rewrites the file,
and says so in its commit:

    python -m tests.samplers.gp_replay_cases --write
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.functions import get_problem
from benchmarks.gp_conditional_ask import history as conditional_history
from hpo.samplers.base import seed_sequence
from hpo.samplers.gp.sampler import KERNEL_ATTR, GPSampler
from hpo.space import SearchSpace
from hpo.trial import FrozenTrial, TrialState

REFERENCE = Path(__file__).with_name("data") / "gp_replay.json"


def _ask(
    space: SearchSpace, history: list[FrozenTrial], pending: list[FrozenTrial], acq: str
) -> dict[str, Any]:
    prop = GPSampler(acq, seed=0).ask(space, history, pending, seed_sequence(7, len(history)))
    return {
        "x": [None if np.isnan(v) else float(v) for v in space.encode(prop.params)],
        "kernel": [float(v) for v in prop.info["user_attrs"][KERNEL_ATTR]],
        "user_attrs": prop.info["user_attrs"],
    }


def cases() -> Iterator[tuple[str, dict[str, Any]]]:
    """``(name, {"x": proposal, "kernel": stored log parameters})`` for every case."""
    prob = get_problem("hartmann6")
    space = prob.space()
    for n in (20, 100, 200):
        X = np.random.default_rng(1000 * n).random((n, 6))
        hist = [
            FrozenTrial(
                i,
                TrialState.COMPLETE,
                {f"x{k}": float(v) for k, v in enumerate(x)},
                float(prob.f(x)),
            )
            for i, x in enumerate(X)
        ]
        pend = [
            FrozenTrial(
                n + j, TrialState.RUNNING, {f"x{k}": float(v) for k, v in enumerate(x)}, None
            )
            for j, x in enumerate(np.random.default_rng(n + 5).random((2, 6)))
        ]
        for acq in ("ei", "ucb", "pi"):
            cold = _ask(space, hist, [], acq)
            last = hist[-1]
            warm_hist = [
                *hist[:-1],
                FrozenTrial(
                    last.number,
                    last.state,
                    last.params,
                    last.value,
                    user_attrs=cold.pop("user_attrs"),
                ),
            ]
            yield f"hartmann6/{n}/{acq}/cold", cold
            warm = _ask(space, warm_hist, [], acq)
            warm.pop("user_attrs")
            yield f"hartmann6/{n}/{acq}/warm", warm
            pending = _ask(space, warm_hist, pend, acq)
            pending.pop("user_attrs")
            yield f"hartmann6/{n}/{acq}/warm-pending", pending
    for n in (30, 80):
        cspace, chist = conditional_history(n, False)
        case = _ask(cspace, chist, [], "ei")
        case.pop("user_attrs")
        yield f"conditional/{n}/ei", case


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help=f"rewrite {REFERENCE.name}")
    args = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    got = dict(cases())
    if args.write:
        REFERENCE.parent.mkdir(exist_ok=True)
        REFERENCE.write_text(json.dumps(got, indent=1) + "\n")
        print(f"wrote {len(got)} cases to {REFERENCE}")
    else:
        print(json.dumps(got, indent=1))


if __name__ == "__main__":
    main()
