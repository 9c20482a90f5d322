"""Time to quality: best validation score versus time on real network training.

Which strategy gives the best network after N minutes on 2 workers? Tasks and spaces are in
benchmarks/ttq_tasks.py, strategies in benchmarks/ttq_strategies.py, the simulator in
benchmarks/ttq_replay.py. Three steps:

    # 1. record each task's learning-curve table once (resumable; one thread, CPU seconds)
    python -m benchmarks.time_to_quality record --task mlp-digits --configs 64
    # 2. replay strategies against the tables: 2 simulated workers, many seeds
    python -m benchmarks.time_to_quality replay --seeds 5 --budget 10 --jobs 2 --out results.json
    # 3. the tables of benchmarks/README.md
    python -m benchmarks.time_to_quality report results.json

``--budget K`` gives every run ``K`` times the table's mean full-training time per worker
(2K full trainings' worth on 2 workers). By default simulated time counts training only;
the wall time each strategy spent in ``ask`` is reported next to it (it was measured on a
shared, loaded machine, so it is an upper bound). With ``--charge-ask`` the CPU time of
each strategy's ask, tell and pruning calls (``time.process_time``, plus its helper
process's for HEBO) is added to the simulated timeline of the worker that made the call:
the figure a real run on 2 cores would see. Results of the two modes are kept apart
(``charge_ask`` in each record) and reported in separate tables.

Metrics, per task, over seeds: the anytime incumbent (best validation score of a network
trained the full budget) as median and quartiles on a time grid; the time at which a
strategy's median curve first reaches the best peer's final median; and the test score of
each run's final incumbent.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

from benchmarks.ttq_replay import RunResult, Table, replay  # noqa: E402
from benchmarks.ttq_strategies import (  # noqa: E402
    PEERS,
    RECOMMENDED,
    STRATEGIES,
    make_strategy,
    unavailable,
)
from benchmarks.ttq_tasks import load_table, record, table_path, tasks  # noqa: E402

GRID = 101  # points of the anytime curves, 0..budget
FIRST_SEED = (
    100  # strategies' seeds 100, 101, ...: not the table's Sobol seed (0), whose design hpo's
)
#                   seeded Sobol start-up would otherwise reproduce row by row


def _one(
    task: str, strategy: str, seed: int, budget: float, charge_ask: bool = False
) -> dict[str, Any]:
    """One replay, in a worker process: the incumbent history and the optimizer's own cost."""
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    table = Table(load_table(table_path(task)))
    runner = make_strategy(strategy, table.space, seed, table.max_epochs)
    started = time.perf_counter()
    try:
        result: RunResult = replay(
            runner,
            table,
            budget_s=budget,
            seed=seed,
            count_overhead=False,
            charge_cpu=charge_ask,
        )
    finally:
        close = getattr(runner, "close", None)
        if close is not None:
            close()
    curve = result.incumbent_curve(table.max_epochs)
    return {
        "task": task,
        "strategy": strategy,
        "seed": seed,
        "budget_s": budget,
        "incumbent": [[t, v, int(r), _finite(table.test[r])] for t, v, r in curve],
        "n_evaluations": len(result.evaluations),
        "n_full": sum(e.epochs == table.max_epochs for e in result.evaluations),
        "ask_s": result.ask_seconds,
        "n_asks": result.n_asks,
        "ask_cpu_s": result.ask_cpu,
        "opt_cpu_s": result.opt_cpu,
        "charge_ask": charge_ask,
        "wall_s": time.perf_counter() - started,
        "phases": dict(getattr(runner, "phases", {})),  # hpo proposals by phase (model or not)
    }


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _available(strategies: list[str]) -> list[str]:
    """The strategies that can run here; each one that cannot (HEBO without its venv) is named."""
    why = {s: unavailable(s) for s in strategies}
    for s in strategies:
        if why[s]:
            print(f"skipping {s}: {why[s]}", file=sys.stderr, flush=True)
    return [s for s in strategies if not why[s]]


def run_replays(
    task_names: list[str],
    strategies: list[str],
    seeds: int,
    budget: float,
    jobs: int,
    out: Path,
    first_seed: int = FIRST_SEED,
    charge_ask: bool = False,
) -> list[dict[str, Any]]:
    """Replay every (task, strategy, seed); results are appended to ``out`` as they finish.

    A strategy that cannot run here (HEBO without its venv) is skipped with a message.
    """
    done = json.loads(out.read_text()) if out.exists() else []
    if any(r.get("charge_ask", False) != charge_ask for r in done):
        raise SystemExit(
            f"{out} holds results of the other --charge-ask mode; use another --out file"
        )
    strategies = _available(strategies)
    have = {(r["task"], r["strategy"], r["seed"]) for r in done}
    budgets = {
        task: budget * float(np.mean(Table(load_table(table_path(task))).times[:, -1]))
        for task in task_names
    }
    # seed-major order: a run cut short still covers every task and strategy with fewer seeds
    work = [
        (task, s, seed, budgets[task], charge_ask)
        for seed in range(first_seed, first_seed + seeds)
        for task in task_names
        for s in strategies
        if (task, s, seed) not in have
    ]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for future in as_completed([pool.submit(_one, *w) for w in work]):
            res = future.result()
            done.append(res)
            out.write_text(json.dumps(done))
            print(
                f"{res['task']:18s} {res['strategy']:22s} seed {res['seed']}: "
                f"best {res['incumbent'][-1][1] if res['incumbent'] else float('nan'):.4f} "
                f"({res['n_evaluations']} evals, {res['wall_s']:.0f} s)",
                flush=True,
            )
    return done


def run_lives(
    task_names: list[str],
    strategies: list[str],
    seeds: int,
    budget: float,
    out: Path,
    first_seed: int = FIRST_SEED,
    n_workers: int = 2,
) -> list[dict[str, Any]]:
    """Run every (task, strategy, seed) end to end on real training (benchmarks/ttq_live.py).

    Strategies take turns within each seed, so a change of machine load spreads over all of
    them; results are appended to ``out`` as they finish (a stopped run resumes).
    """
    from benchmarks.ttq_live import LivePool, run_live

    done = json.loads(out.read_text()) if out.exists() else []
    if any(not r.get("live") for r in done):
        raise SystemExit(f"{out} holds replay results; use another --out file for live runs")
    strategies = _available(strategies)
    have = {(r["task"], r["strategy"], r["seed"]) for r in done}
    for task in task_names:
        table = Table(load_table(table_path(task)))  # its mean full training sets the budget
        budget_s = budget * float(np.mean(table.times[:, -1]))
        with LivePool(task, n_workers) as pool:
            for seed in range(first_seed, first_seed + seeds):
                for s in strategies:
                    if (task, s, seed) in have:
                        continue
                    runner = make_strategy(s, table.space, seed, table.max_epochs)
                    try:
                        res = run_live(runner, pool, budget_s=budget_s, max_epochs=table.max_epochs)
                    finally:
                        close = getattr(runner, "close", None)
                        if close is not None:
                            close()
                    incumbent = res.incumbent(table.max_epochs)
                    record = {
                        "task": task,
                        "strategy": s,
                        "seed": seed,
                        "budget_s": budget_s,
                        "incumbent": incumbent,
                        "n_evaluations": len(res.evaluations),
                        "n_full": sum(
                            e.epochs >= table.max_epochs and e.state == "COMPLETE"
                            for e in res.evaluations
                        ),
                        "ask_s": res.ask_cpu,
                        "n_asks": res.n_asks,
                        "ask_cpu_s": res.ask_cpu,
                        "opt_cpu_s": res.opt_cpu,
                        "charge_ask": True,
                        "live": True,
                        "wall_s": res.wall_s,
                        "load": os.getloadavg()[0],
                        "n_workers": n_workers,
                        "phases": dict(getattr(runner, "phases", {})),  # hpo proposals by phase
                    }
                    done.append(record)
                    out.write_text(json.dumps(done))
                    print(
                        f"{task:18s} {s:22s} seed {seed}: best "
                        f"{incumbent[-1][1] if incumbent else float('nan'):.4f} "
                        f"({record['n_evaluations']} nets, {res.wall_s:.0f} s wall, "
                        f"load {record['load']:.1f})",
                        flush=True,
                    )
    return done


# ------------------------------------------------------------------ report
def anytime(runs: list[dict[str, Any]], grid: np.ndarray) -> np.ndarray:
    """``(n_seeds, len(grid))`` incumbent value at each grid time (-inf before the first)."""
    out = np.full((len(runs), len(grid)), -np.inf)
    for i, run in enumerate(runs):
        for t, v, _row, _test in run["incumbent"]:
            out[i, grid >= t] = v
    return out


def time_to(median_curve: np.ndarray, grid: np.ndarray, target: float) -> float:
    hit = np.nonzero(median_curve >= target - 1e-12)[0]
    return float(grid[hit[0]]) if len(hit) else math.inf


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per task: median/quartile curves, final scores, the target and each strategy's time to it."""
    summary: dict[str, Any] = {}
    for task in sorted({r["task"] for r in results}):
        rows = [r for r in results if r["task"] == task]
        budget = rows[0]["budget_s"]
        grid = np.linspace(0.0, budget, GRID)
        per: dict[str, Any] = {}
        for s in [s for s in STRATEGIES if any(r["strategy"] == s for r in rows)]:
            runs = sorted((r for r in rows if r["strategy"] == s), key=lambda r: r["seed"])
            curves = anytime(runs, grid)
            tests = [run["incumbent"][-1][3] if run["incumbent"] else None for run in runs]
            tests_f = np.array([np.nan if t is None else t for t in tests], dtype=float)
            per[s] = {
                "median": np.median(curves, axis=0),
                "q25": np.quantile(curves, 0.25, axis=0),
                "q75": np.quantile(curves, 0.75, axis=0),
                "final": float(np.median(curves[:, -1])),
                "test": float(np.nanmedian(tests_f)) if np.isfinite(tests_f).any() else math.nan,
                "ask_s": float(np.mean([r["ask_s"] / max(1, r["n_asks"]) for r in runs])),
                "opt_cpu_s": float(
                    np.mean([r.get("opt_cpu_s", math.nan) / max(1, r["n_asks"]) for r in runs])
                ),
                "evals": float(np.mean([r["n_evaluations"] for r in runs])),
                "seeds": len(runs),
            }
        peers = [s for s in PEERS if s in per]
        best_peer = max(peers, key=lambda s: per[s]["final"]) if peers else None
        target = per[best_peer]["final"] if best_peer else math.nan
        for d in per.values():
            d["time_to_target"] = time_to(d["median"], grid, target)
        summary[task] = {
            "grid": grid,
            "budget_s": budget,
            "per": per,
            "best_peer": best_peer,
            "target": target,
        }
    return summary


def _fmt_t(t: float) -> str:
    return "not reached" if not math.isfinite(t) else f"{t:.2f}"


def report(results: list[dict[str, Any]]) -> str:
    """Markdown tables for benchmarks/README.md.

    Results of one mode only: simulated time of training alone, or (``--charge-ask``)
    training plus the optimizer's CPU; the last column is then the optimizer CPU per ask
    (ask + tell + pruning checks) instead of the ask's wall time.
    """
    modes = {bool(r.get("charge_ask", False)) for r in results}
    if len(modes) > 1:
        raise ValueError("results mix --charge-ask and training-only runs; report them apart")
    charged = modes == {True}
    live = all(r.get("live") for r in results)
    clock = "live CPU s (training + optimizer)" if live else "simulated CPU s"
    with np.errstate(invalid="ignore"):  # quartiles of curves that start at -inf
        summary = summarize(results)
    lines = []
    verdicts = []
    for task, s in summary.items():
        per = s["per"]
        n_seeds = min(d["seeds"] for d in per.values())
        lines += [
            f"**{task}** (budget {s['budget_s']:.2f} {clock} on 2 workers"
            f"{', training + optimizer CPU' if charged and not live else ''}, {n_seeds}+ "
            f"seeds; target = "
            f"best peer `{s['best_peer']}`'s final median {s['target']:.4f})",
            "",
            "| strategy | at 25% | at 50% | final median [q25, q75] | time to target (s) | "
            "vs best peer | test (median) | evals/run | "
            f"{'opt CPU s/ask' if charged else 'ask s'} |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        peer_t = per[s["best_peer"]]["time_to_target"] if s["best_peer"] else math.inf
        for name, d in per.items():
            q = [int(0.25 * (GRID - 1)), int(0.5 * (GRID - 1))]
            ratio = (
                d["time_to_target"] / peer_t
                if math.isfinite(d["time_to_target"]) and peer_t > 0
                else math.inf
            )
            cells = [f"{d['median'][i]:.4f}" if math.isfinite(d["median"][i]) else "—" for i in q]
            lines.append(
                f"| {'**' + name + '**' if name == RECOMMENDED else name} | {cells[0]} | "
                f"{cells[1]} | "
                f"{d['final']:.4f} [{d['q25'][-1]:.4f}, {d['q75'][-1]:.4f}] | "
                f"{_fmt_t(d['time_to_target'])} | "
                f"{'—' if not math.isfinite(ratio) else f'{ratio:.2f}'} | "
                f"{d['test']:.4f} | {d['evals']:.0f} | "
                f"{d['opt_cpu_s'] if charged else d['ask_s']:.3f} |"
            )
        lines.append("")
        if RECOMMENDED in per and s["best_peer"]:
            rec = per[RECOMMENDED]
            ratio = rec["time_to_target"] / peer_t if peer_t > 0 else math.inf
            best_test = max(
                (
                    d["test"]
                    for n, d in per.items()
                    if n != RECOMMENDED and math.isfinite(d["test"])
                ),
                default=-math.inf,
            )
            verdicts.append(
                f"| {task} | {ratio:.2f} | {'yes' if ratio <= 0.5 else 'no'} | {rec['test']:.4f} | "
                f"{best_test:.4f} | {'yes' if rec['test'] >= best_test else 'no'} |"
            )
    if verdicts:
        lines += [
            "| task | recommended / best peer time to target | ≤ 0.5 | test (recommended) | best "
            "other test |"
            " best test |",
            "|---|---|---|---|---|---|",
            *verdicts,
        ]
    return "\n".join(lines)


ANYTIME_AT = (0.1, 0.25, 0.5, 0.75, 1.0)  # fractions of the budget in the anytime table


def _cell(med: float, q25: float, q75: float) -> str:
    return "—" if not math.isfinite(med) else f"{med:.4f} [{q25:.4f}, {q75:.4f}]"


def anytime_table(results: list[dict[str, Any]]) -> str:
    """The anytime curves as markdown tables, one per task (``report --anytime``).

    Per strategy: the incumbent's median [q25, q75] over seeds at ``ANYTIME_AT`` of the
    budget ("—" while the median run has no network trained the full budget yet), the
    networks per run (mean) and the optimizer's CPU share of the run: the median over runs
    of ask + tell + pruning-check CPU over the run's CPU budget (workers × budget; "—" for
    runs whose timeline did not charge it, i.e. training-only replays).
    """
    with np.errstate(invalid="ignore"):  # quartiles of curves that start at -inf
        summary = summarize(results)
    lines = []
    for task, s in summary.items():
        rows = [r for r in results if r["task"] == task]
        head = " | ".join(f"at {f:.0%}" for f in ANYTIME_AT)
        lines += [
            f"**{task}** (median [q25, q75] of the incumbent at fractions of the budget, "
            f"{s['budget_s']:.2f} s per worker)",
            "",
            f"| strategy | {head} | networks/run | opt CPU share |",
            "|---|" + "---|" * (len(ANYTIME_AT) + 2),
        ]
        for name, d in s["per"].items():
            idx = [round(f * (GRID - 1)) for f in ANYTIME_AT]
            cells = [_cell(d["median"][i], d["q25"][i], d["q75"][i]) for i in idx]
            shares = [
                r["opt_cpu_s"] / (r.get("n_workers", 2) * r["budget_s"])
                for r in rows
                if r["strategy"] == name and r.get("charge_ask") and r.get("opt_cpu_s") is not None
            ]
            share = f"{float(np.median(shares)):.2f}" if shares else "—"
            lines.append(
                f"| {'**' + name + '**' if name == RECOMMENDED else name} | "
                f"{' | '.join(cells)} | {d['evals']:.0f} | {share} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser(
        "record", help="train a task's configurations and store their learning curves"
    )
    rec.add_argument("--task", required=True, choices=sorted(tasks()))
    rec.add_argument("--configs", type=int, default=64)
    runs = argparse.ArgumentParser(add_help=False)  # what replay and live runs both take
    runs.add_argument("--tasks", nargs="*", default=None)
    runs.add_argument("--strategies", nargs="*", default=list(STRATEGIES), choices=list(STRATEGIES))
    runs.add_argument("--first-seed", type=int, default=FIRST_SEED)
    runs.add_argument("--budget", type=float, default=10.0, help="mean full trainings per worker")
    rep = sub.add_parser(
        "replay", parents=[runs], help="replay strategies against the recorded tables"
    )
    rep.add_argument("--seeds", type=int, default=5)
    rep.add_argument("--jobs", type=int, default=2)
    rep.add_argument("--out", type=Path, default=Path("ttq-results.json"))
    rep.add_argument(
        "--charge-ask",
        action="store_true",
        help="add each strategy's ask/tell/prune CPU time to the simulated time of its worker",
    )
    liv = sub.add_parser("live", parents=[runs], help="run strategies end to end on real training")
    liv.add_argument("--seeds", type=int, default=3)
    liv.add_argument("--out", type=Path, default=Path("ttq-live.json"))
    rpt = sub.add_parser("report", help="markdown tables from replay or live results")
    rpt.add_argument("results", type=Path, nargs="+")
    rpt.add_argument(
        "--anytime",
        action="store_true",
        help="also print the anytime curves (median and quartiles at fractions of the budget)",
    )
    args = parser.parse_args(argv)
    if args.command == "record":
        import torch

        torch.set_num_threads(1)
        record(tasks()[args.task], args.configs, table_path(args.task))
    elif args.command in ("replay", "live"):
        names = args.tasks or [t for t in tasks() if table_path(t).exists()]
        if args.command == "live":
            run_lives(names, args.strategies, args.seeds, args.budget, args.out, args.first_seed)
        else:
            run_replays(
                names,
                args.strategies,
                args.seeds,
                args.budget,
                args.jobs,
                args.out,
                args.first_seed,
                args.charge_ask,
            )
    else:

        def mode(r: dict[str, Any]) -> tuple[bool, bool]:
            return bool(r.get("charge_ask", False)), bool(r.get("live", False))

        unique = {
            (r["task"], r["strategy"], r["seed"], *mode(r)): r
            for path in args.results
            for r in json.loads(path.read_text())
        }  # several result files may overlap
        results = list(unique.values())
        titles = {
            (True, False): "--charge-ask: simulated time = training + optimizer CPU",
            (True, True): "live: real training in worker processes, CPU timeline",
        }
        for key in ((False, False), (True, False), (True, True)):  # one set of tables per mode
            part = [r for r in results if mode(r) == key]
            if part:
                if key in titles:
                    print(f"\n{titles[key]}\n")
                print(report(part))
                if args.anytime:
                    print("\n" + anytime_table(part))
    return 0


if __name__ == "__main__":
    sys.exit(main())
