"""Where a warm GPSampler ask spends its CPU: process time per piece, one thread.

The ask is :func:`benchmarks.ask_latency.time_hpo`'s warm Hartmann-6 ask (the last of ``n``
random trials carries the kernel stored by the previous proposal), repeated ``--repeats``
times. Timers wrap the pieces by name (monkeypatched module attributes; a piece the
checkout does not have is skipped, so an older checkout can be measured with the same
script through ``PYTHONPATH``); the timers themselves add a few percent, which the
"ask, median" line (measured without them first) shows.

    python -m benchmarks.gp_ask_breakdown --n 100 --repeats 150

Pieces (ms per ask): the kernel fit (``fit_gp``), encoding the history, the acquisition
search (``maximize``): its L-BFGS refinement (``minimize_batch``) with the objective calls
inside it (``objective``) and the line searches (including their objective calls), the
L-BFGS direction and curvature update; ``maximize`` less the refinement is scoring the
Sobol candidates, picking the starts and choosing the returned point.
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from collections.abc import Callable
from typing import Any

from benchmarks import ask_latency  # sets the BLAS thread variables before numpy loads

_TOTALS: collections.Counter[str] = collections.Counter()
_CALLS: collections.Counter[str] = collections.Counter()
_ORDER: list[str] = []  # labels in the order they were wrapped


def _timed(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` adding its process time and call count under ``label``."""
    _ORDER.append(label)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            _TOTALS[label] += time.process_time() - t0
            _CALLS[label] += 1

    return wrapper


def _timed_call(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`_timed` for a closure made per call (its label is registered once, elsewhere)."""
    wrapper = _timed(label, fn)
    _ORDER.pop()
    return wrapper


def _wrap(owner: Any, name: str, label: str | None = None) -> None:
    """Replace ``owner.name`` by its timed version (nothing when the checkout lacks it)."""
    if hasattr(owner, name):
        setattr(owner, name, _timed(label or name, getattr(owner, name)))


def _instrument() -> None:
    """Wrap the pieces of an ask (see the module docstring) in timers."""
    import hpo.samplers.gp.batch_lbfgs as lbfgs
    import hpo.samplers.gp.optimize as optimize
    import hpo.samplers.gp.sampler as sampler

    _wrap(sampler.GPSampler, "_ask", "ask (with timers)")
    _wrap(sampler, "fit_gp", "kernel fit")
    _wrap(sampler, "_encode_trials", "encode history")
    if not hasattr(sampler, "_encode_trials"):
        _wrap(sampler, "_encode", "encode history")
    _wrap(sampler, "maximize", "acquisition search")
    _wrap(optimize, "minimize_batch", "  L-BFGS refinement")
    _wrap(lbfgs, "_line_search", "    line searches")
    _wrap(lbfgs, "_direction", "    direction (compact form)")
    if hasattr(lbfgs, "_Curvature"):
        _wrap(lbfgs._Curvature, "direction", "    direction")
        _wrap(lbfgs._Curvature, "push", "    curvature update")
    lbfgs_batch = optimize._lbfgs_batch
    _ORDER.append("    objective")

    def counted(P0: Any, mask: Any, score: Any, score_grad: Any, *args: Any, **kw: Any) -> Any:
        return lbfgs_batch(P0, mask, score, _timed_call("    objective", score_grad), *args, **kw)

    optimize._lbfgs_batch = counted


def main() -> None:
    from hpo.samplers.base import seed_sequence
    from hpo.samplers.gp.sampler import GPSampler

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100, help="trials in the history")
    ap.add_argument("--repeats", type=int, default=150)
    args = ap.parse_args()
    median = ask_latency.time_hpo(args.n, args.repeats, warm=True)  # no timers yet
    space, hist = ask_latency.hpo_history(args.n, warm=True)
    _instrument()
    for r in range(3 + args.repeats):
        if r == 3:  # the first asks warm caches up; count the rest
            _TOTALS.clear()
            _CALLS.clear()
        GPSampler(seed=0).ask(space, hist, [], seed_sequence(0, args.n, r))
    print(f"n={args.n}, load average {os.getloadavg()[0]:.1f}, process CPU, one thread")
    print(f"ask, median of {args.repeats} (no timers): {1e3 * median:.2f} ms")
    for label in _ORDER:  # the nesting order of _instrument
        if label in _CALLS:
            ms, calls = 1e3 * _TOTALS[label] / args.repeats, _CALLS[label] / args.repeats
            print(f"{label:32s} {ms:7.3f} ms/ask  ({calls:.1f} calls)")


if __name__ == "__main__":
    main()
