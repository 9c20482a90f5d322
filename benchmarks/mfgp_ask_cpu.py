"""CPU of one mf-gp GP ask against ``n_candidates``, on histories from a recorded table.

Each history holds ``n`` configurations of a time-to-quality table (benchmarks/ttq_tasks.py)
pruned as under ASHA: two in three after epoch 1, one in three after epoch 3, with the
table's values. ``MultiFidelityGPSampler(random_fraction=0, model_cpu_fraction=None)`` is
asked 6 times per setting (rng varies); the median ``time.process_time`` of an ask is
printed. Run with one BLAS thread:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python -m benchmarks.mfgp_ask_cpu torch-regression
"""

from __future__ import annotations

import sys
import time

import numpy as np

from benchmarks.ttq_replay import Table
from benchmarks.ttq_tasks import load_table, table_path
from hpo.samplers.multifidelity import MultiFidelityGPSampler
from hpo.trial import FrozenTrial, TrialState


def history(table: Table, n: int, rng: np.random.Generator) -> list[FrozenTrial]:
    """``n`` table rows as pruned trials with the curves ASHA would have let them report."""
    out = []
    for i, r in enumerate(rng.choice(len(table), n, replace=False)):
        last = 3 if i % 3 == 0 else 1
        curve = {
            e: float(table.values[r, e - 1])
            for e in range(1, last + 1)
            if np.isfinite(table.values[r, e - 1])
        }
        if curve:
            out.append(
                FrozenTrial(
                    number=i,
                    state=TrialState.PRUNED,
                    params=table.params[r],
                    value=max(curve.values()),
                    intermediate=curve,
                )
            )
    return out


def main(task: str) -> None:
    table = Table(load_table(table_path(task)))
    rng = np.random.default_rng(0)
    for n in (30, 90):
        trials = history(table, n, rng)
        for n_candidates in (1024, 256, 64):
            sampler = MultiFidelityGPSampler(
                random_fraction=0.0, model_cpu_fraction=None, n_candidates=n_candidates, seed=1
            )
            cpu = []
            for k in range(6):
                c0 = time.process_time()
                sampler.ask(table.space, trials, [], np.random.default_rng([k, 7]), "maximize")
                cpu.append(time.process_time() - c0)
            print(
                f"{task} n={len(trials)} n_candidates={n_candidates}: "
                f"median ask CPU {np.median(cpu):.4f} s"
            )


if __name__ == "__main__":
    for name in sys.argv[1:] or ["torch-regression"]:
        main(name)
