"""CPU of mf-gp's asks that do not use the GP (Sobol design), this code against an older file.

Both samplers (``model_cpu_fraction=0``: every ask after the start-up is a design ask) are
asked 30 times on the same table histories (benchmarks/mfgp_ask_cpu.py); the proposals
must be equal, and the median ``time.process_time`` of an ask is printed:

    git show 428e59b:hpo/samplers/multifidelity.py > /tmp/mf_before.py
    OMP_NUM_THREADS=1 python -m benchmarks.mfgp_design_cpu /tmp/mf_before.py
"""

from __future__ import annotations

import importlib.util
import sys
import time
import warnings
from typing import Any

import numpy as np

from benchmarks.mfgp_ask_cpu import history
from benchmarks.ttq_replay import Table
from benchmarks.ttq_tasks import load_table, table_path
from hpo.samplers import multifidelity


def _load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("mf_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mf_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main(before_path: str) -> None:
    warnings.simplefilter("ignore")
    versions = {"before": _load(before_path), "after": multifidelity}
    for task in ("torch-regression", "mlp-digits"):
        table = Table(load_table(table_path(task)))
        for n in (60, 170):
            trials = history(table, min(n, len(table)), np.random.default_rng(0))
            cpu: dict[str, float] = {}
            proposals: dict[str, list[dict[str, Any]]] = {}
            for name, module in versions.items():
                sampler = module.MultiFidelityGPSampler(
                    model_cpu_fraction=0.0, random_fraction=0.0, seed=1
                )
                times, proposals[name] = [], []
                for k in range(30):
                    c0 = time.process_time()
                    p = sampler.ask(table.space, trials, [], np.random.default_rng([k]), "maximize")
                    times.append(time.process_time() - c0)
                    proposals[name].append(p.params)
                cpu[name] = float(np.median(times))
            assert proposals["before"] == proposals["after"], "the proposals differ"
            print(
                f"{task} n={len(trials)}: design ask CPU median {cpu['before'] * 1e3:.2f} ms "
                f"before, {cpu['after'] * 1e3:.2f} ms after (same proposals)"
            )


if __name__ == "__main__":
    main(sys.argv[1])
