"""CPU of a GPSampler ask, two checkouts interleaved: which is faster, on a shared machine.

Two worker processes, one per checkout (its directory first on ``PYTHONPATH``), each hold
the Hartmann-6 history of :func:`benchmarks.ask_latency.hpo_history` (``n`` trials, warm
or cold) and time asks in process CPU, one thread. The driver asks them for ``--per`` asks
in turn, ``--rounds`` times, so a change in the machine's load falls on both alike; it
prints each side's median and their ratio.

    python -m benchmarks.gp_ask_ab --base /work/main --n 100 --mode warm --rounds 20 --per 10

``--base`` is the checkout compared against; the other side is this one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _worker(n: int, warm: bool) -> None:
    """Answer each line ``k`` on stdin with the CPU seconds of ``k`` more asks."""
    here = str(Path(__file__).resolve().parent)
    if here in sys.path:  # a script's own folder comes first on the path: not wanted here
        sys.path.remove(here)
    from benchmarks.ask_latency import hpo_history  # sets one BLAS thread before numpy
    from hpo.samplers.base import seed_sequence
    from hpo.samplers.gp.sampler import GPSampler

    space, hist = hpo_history(n, warm)
    asked = 0
    for line in sys.stdin:
        times = []
        for _ in range(int(line)):
            t0 = time.process_time()
            GPSampler(seed=0).ask(space, hist, [], seed_sequence(0, n, asked % 50))
            times.append(time.process_time() - t0)
            asked += 1
        print(" ".join(map(repr, times)), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="checkout to compare against")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--mode", choices=("warm", "cold"), default="warm")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--per", type=int, default=10)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args.n, args.mode == "warm")
        return
    here = str(Path(__file__).resolve().parents[1])
    procs = {}
    for side, root in (("base", str(Path(args.base).resolve())), ("this", here)):
        env = dict(os.environ, PYTHONPATH=root, PYTHONDONTWRITEBYTECODE="1")
        # this file runs as a script in both: the base checkout need not have it
        cmd = [sys.executable, __file__, "--base", args.base, "--worker"]
        cmd += ["--n", str(args.n), "--mode", args.mode]
        procs[side] = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=root
        )
    times: dict[str, list[float]] = {side: [] for side in procs}
    for p in procs.values():  # one untimed ask each: imports and first-call caches
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write("1\n")
        p.stdin.flush()
        p.stdout.readline()
    for _ in range(args.rounds):
        for side, p in procs.items():
            assert p.stdin is not None and p.stdout is not None
            p.stdin.write(f"{args.per}\n")
            p.stdin.flush()
            times[side] += [float(v) for v in p.stdout.readline().split()]
    for p in procs.values():
        assert p.stdin is not None
        p.stdin.close()
        p.wait()
    base, this = (statistics.median(times[s]) * 1e3 for s in ("base", "this"))
    print(
        f"n={args.n} {args.mode}: base {base:.3f} ms, this {this:.3f} ms, this/base "
        f"{this / base:.3f} (median of {len(times['this'])} asks each, process CPU); "
        f"load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
