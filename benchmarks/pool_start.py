"""Start-up of 2 local worker processes: forks of the parent versus fresh interpreters.

The study is the demo's space and model (studies/digits_mlp.py: a scikit-learn MLP on
digits), with the mf-gp sampler the demo used when this was measured, no pruner and 3
epochs, so the 2 trials are the same in every run
(the first GP proposals are a pure function of seed and trial number) and the CPU time
differs only by what starting the workers costs. In one process, for each start method
(``HPO_WORKER_START``), ``run_processes`` runs 2 workers to 2 trials and we record:

- pool to first claim: from ``run_processes`` to the first trial's start (wall, s);
- pool to both claims: to the second worker's first trial;
- pool to done: until both workers have exited (both trials trained);
- CPU: user + system seconds of the workers (``RUSAGE_CHILDREN``), training included.

A loaded machine varies from run to run: each figure is the minimum over ``--repeat`` runs,
with the methods interleaved so both see the same load::

    PYTHONPATH=. .venv/bin/python -m benchmarks.pool_start --repeat 5
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

METHODS = ("fork", "fresh")


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def once(method: str, folder: str, index: int) -> dict[str, float]:
    """One pool of 2 workers running 2 trials in a fresh database."""
    import hpo
    from hpo.execution.local import run_processes
    from studies.digits_mlp import SPACE

    study = hpo.create_study(
        "pool-start",
        space=SPACE,
        model="sklearn-mlp-classifier",
        dataset="digits",
        metric="accuracy",
        model_options={"max_epochs": 3, "patience": 3},
        sampler=hpo.samplers.MultiFidelityGPSampler(seed=0),
        seed=0,
        storage=f"sqlite:///{folder}/{method}-{index}.db",
    )
    os.environ["HPO_WORKER_START"] = method
    cpu, started = _cpu_children(), time.time()
    results = run_processes(study, n_trials=2, n_workers=2, timeout=None)
    done, cpu = time.time() - started, _cpu_children() - cpu
    assert [r["start"] for r in results] == [method, method], results
    starts = sorted(t.started_at.timestamp() for t in study.trials if t.started_at is not None)
    return {"first": starts[0] - started, "both": starts[-1] - started, "done": done, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.repeat):
            for method in METHODS:
                runs[method].append(once(method, folder, i))
    print(f"2 workers, 2 trials, minimum of {args.repeat} runs (load average {os.getloadavg()})")
    print(f"{'start':>6} {'first claim':>12} {'both claims':>12} {'done':>8} {'worker CPU':>11}")
    for method, seen in runs.items():
        best = {k: min(r[k] for r in seen) for k in seen[0]}
        print(
            f"{method:>6} {best['first']:>10.2f} s {best['both']:>10.2f} s "
            f"{best['done']:>6.2f} s {best['cpu']:>9.2f} s"
        )


if __name__ == "__main__":
    main()
