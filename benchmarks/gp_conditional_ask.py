"""CPU of a GP ask on the conditional ttq network space: GPSampler and MultiFidelityGPSampler.

The space is :data:`benchmarks.ttq_tasks.TORCH_SPACE` (11 parameters; the widths of layers
2 and 3 and SGD's momentum conditional). The history is ``n`` random configurations
(``space.sample``, seeded) with a deterministic synthetic value (:func:`synthetic`), so the
benchmark needs no recorded table; the multi-fidelity history reports a synthetic learning
curve over 1, 3, 9 or 27 epochs. Each ask is timed in process CPU, one BLAS thread; the
figure is the median of ``--repeats`` asks (each with its own seed).

    python -m benchmarks.gp_conditional_ask --sizes 60,200 --repeats 40
    python -m benchmarks.gp_conditional_ask --sizes 200 --repeats 10 --profile mf-gp

``--profile`` runs the asks of one sampler under cProfile and prints the functions with the
most cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
import time
from typing import Any

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # one BLAS thread (the GP ask limits itself to one too)

SAMPLERS = ("gp", "mf-gp")
_EPOCHS = (1, 3, 9, 27)


def synthetic(params: dict[str, Any]) -> float:
    """A deterministic quality in ``(0, 1)`` of a configuration: smooth in each parameter."""
    width = sum(math.log(params.get(f"units_{k}", 16)) for k in (1, 2, 3))
    lr = math.log10(params["lr"])
    mom = params.get("momentum", 0.9)
    score = 0.1 * width - 0.3 * (lr + 2.5) ** 2 - params["dropout"] + 0.5 * mom
    score += {"relu": 0.1, "gelu": 0.2, "tanh": 0.0}[params["activation"]]
    return 1.0 / (1.0 + math.exp(-score))


def history(n: int, multi_fidelity: bool) -> tuple[Any, list[Any]]:
    """The space and ``n`` finished trials (random configurations, :func:`synthetic` values).

    With ``multi_fidelity`` each trial reports a curve ``v * (1 - 0.5 / epoch)`` up to an
    epoch cycling through 1, 3, 9, 27; the trials stopped before 27 are pruned.
    """
    import numpy as np

    from benchmarks.ttq_tasks import TORCH_SPACE
    from hpo.trial import FrozenTrial, TrialState

    rng = np.random.default_rng(0)
    trials = []
    for i in range(n):
        params = TORCH_SPACE.sample(rng)
        value = synthetic(params)
        if not multi_fidelity:
            trials.append(FrozenTrial(i, TrialState.COMPLETE, params, value))
            continue
        last = _EPOCHS[i % len(_EPOCHS)]
        curve = {e: value * (1 - 0.5 / e) for e in range(1, last + 1)}
        full = last == _EPOCHS[-1]
        state = TrialState.COMPLETE if full else TrialState.PRUNED
        value_or_none = curve[last] if full else None
        trials.append(FrozenTrial(i, state, params, value_or_none, intermediate=curve))
    return TORCH_SPACE, trials


def make_sampler(name: str) -> Any:
    """``gp``: ``GPSampler``; ``mf-gp``: ``MultiFidelityGPSampler`` with every ask a GP ask."""
    from hpo.samplers.gp.sampler import GPSampler
    from hpo.samplers.multifidelity import MultiFidelityGPSampler

    if name == "gp":
        return GPSampler(seed=0)
    return MultiFidelityGPSampler(random_fraction=0.0, model_cpu_fraction=None, seed=0)


def _asks(sampler: Any, space: Any, hist: list[Any], repeats: int) -> list[float]:
    """Process seconds of ``repeats`` asks (ask ``r`` seeded by ``r``)."""
    from hpo.samplers.base import seed_sequence

    times = []
    for r in range(repeats):
        t0 = time.process_time()
        sampler.ask(space, hist, [], seed_sequence(0, len(hist), r), "maximize")
        times.append(time.process_time() - t0)
    return times


def ask_times(name: str, n: int, repeats: int) -> list[float]:
    """Process seconds of ``repeats`` asks of sampler ``name`` on an ``n``-trial history."""
    space, hist = history(n, multi_fidelity=name != "gp")
    return _asks(make_sampler(name), space, hist, repeats)


def profile(name: str, n: int, repeats: int, top: int = 30) -> None:
    """Print cProfile's ``top`` functions by internal time over ``repeats`` asks (the
    history is built and one ask warms the imports up before the profiler starts)."""
    space, hist = history(n, multi_fidelity=name != "gp")
    sampler = make_sampler(name)
    _asks(sampler, space, hist, 1)
    prof = cProfile.Profile()
    prof.runcall(_asks, sampler, space, hist, repeats)
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> None:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="60,200", help="history sizes, comma-separated")
    ap.add_argument("--repeats", type=int, default=40, help="asks per sampler and size")
    ap.add_argument("--profile", choices=SAMPLERS, help="profile this sampler instead")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.profile:
        for n in sizes:
            profile(args.profile, n, args.repeats)
        return
    print(f"load average {os.getloadavg()[0]:.1f}; process CPU ms per ask, one thread")
    for name in SAMPLERS:
        for n in sizes:
            t = ask_times(name, n, args.repeats)
            print(f"{name:6s} n={n:4d}: median {1e3 * float(np.median(t)):7.1f} ms ({len(t)} asks)")


if __name__ == "__main__":
    main()
