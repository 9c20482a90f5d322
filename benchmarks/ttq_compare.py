"""Compare variants of one strategy across time-to-quality replays, seed by seed.

``time_to_quality report`` ranks strategies by the median over seeds; two versions of the
*same* strategy (old and new code, an ablation) need more than that, because a replay is
deterministic per seed but any change to a sampler reshuffles which seeds land on the
table's top rows. This script reads replay result files (one variant each, named on the
command line), keeps the seeds every variant has, and prints per task:

* the incumbent at the budget: median and quartiles (the README tables' final column);
* its *rank* in the table (1 = the best row any configuration reaches after the full
  budget): table rows are discrete, so ranks say "one row lower" directly;
* per variant against the reference (the first one): seeds better / tied / worse, the
  median paired rank difference, and a two-sided sign-test p-value over the untied seeds.

A pooled line adds the paired counts over all tasks. Usage::

    python -m benchmarks.ttq_compare old=old.json new=benchmarks/data/x.json [--strategy S]
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import binomtest

from benchmarks.ttq_replay import Table
from benchmarks.ttq_tasks import load_table, table_path

__all__ = ["Paired", "final_values", "table_ranks", "paired", "compare", "main"]


@dataclass(frozen=True)
class Paired:
    """One variant against the reference on the same seeds (larger values are better)."""

    better: int
    tied: int
    worse: int
    median_rank_diff: float  # variant's rank minus the reference's (negative: better)
    p_sign: float  # two-sided sign test over the untied seeds (1.0 when all tie)


def final_values(
    results: list[dict[str, Any]], strategy: str | None
) -> dict[str, dict[int, float]]:
    """``{task: {seed: incumbent at the budget}}`` (-inf when no network finished by then).

    As ``time_to_quality report``'s final column: a training that started before the budget
    ran out and finished after it does not count.
    """
    out: dict[str, dict[int, float]] = {}
    for r in results:
        if strategy is not None and r["strategy"] != strategy:
            continue
        inc = [float(v) for t, v, *_ in r["incumbent"] if t <= r["budget_s"]]
        out.setdefault(r["task"], {})[int(r["seed"])] = inc[-1] if inc else -math.inf
    return out


def table_ranks(table: Table, values: np.ndarray) -> np.ndarray:
    """Rank of each value among the table's full-budget values: 1 + rows strictly better."""
    full = np.array([table.best_upto(r, table.max_epochs) for r in range(len(table))])
    full = full[np.isfinite(full)]
    return np.array([1 + int(np.sum(full > v + 1e-12)) for v in values])


def paired(
    reference: np.ndarray, variant: np.ndarray, ref_rank: np.ndarray, var_rank: np.ndarray
) -> Paired:
    """Seed-by-seed counts of ``variant`` against ``reference`` (same seeds, same order)."""
    better = int(np.sum(variant > reference + 1e-12))
    worse = int(np.sum(variant < reference - 1e-12))
    tied = len(reference) - better - worse
    p = binomtest(better, better + worse).pvalue if better + worse else 1.0
    return Paired(better, tied, worse, float(np.median(var_rank - ref_rank)), float(p))


def _recorded(task: str) -> Table:
    return Table(load_table(table_path(task)))


def compare(
    variants: dict[str, list[dict[str, Any]]],
    strategy: str | None = None,
    tables: Callable[[str], Table] = _recorded,
) -> str:
    """Markdown: per task and variant, final median [q25, q75], ranks and the paired counts.

    ``tables`` maps a task name to its table (the recorded ones in benchmarks/data/).
    """
    names = list(variants)
    finals = {n: final_values(rs, strategy) for n, rs in variants.items()}
    tasks = sorted(set.intersection(*(set(f) for f in finals.values())))
    lines = [
        f"reference: `{names[0]}`; rank 1 = the table's best full-budget row",
        "",
        "| task | variant | seeds | final median [q25, q75] | rank median [q25, q75] | "
        "vs reference: better / tied / worse | median rank diff | sign-test p |",
        "|---|---|---|---|---|---|---|---|",
    ]
    pooled = {n: [0, 0, 0] for n in names[1:]}
    for task in tasks:
        seeds = sorted(set.intersection(*(set(finals[n][task]) for n in names)))
        table = tables(task)
        vals = {n: np.array([finals[n][task][s] for s in seeds]) for n in names}
        ranks = {n: table_ranks(table, v) for n, v in vals.items()}
        for n in names:
            v, r = vals[n], ranks[n]
            cells = (
                f"{np.median(v):.4f} [{np.quantile(v, 0.25):.4f}, {np.quantile(v, 0.75):.4f}]",
                f"{np.median(r):g} [{np.quantile(r, 0.25):g}, {np.quantile(r, 0.75):g}]",
            )
            if n == names[0]:
                lines.append(
                    f"| {task} | {n} | {len(seeds)} | {cells[0]} | {cells[1]} | — | — | — |"
                )
                continue
            pr = paired(vals[names[0]], v, ranks[names[0]], r)
            pooled[n] = [
                a + b for a, b in zip(pooled[n], (pr.better, pr.tied, pr.worse), strict=True)
            ]
            lines.append(
                f"| {task} | {n} | {len(seeds)} | {cells[0]} | {cells[1]} | "
                f"{pr.better} / {pr.tied} / {pr.worse} | {pr.median_rank_diff:+g} | "
                f"{pr.p_sign:.2f} |"
            )
    for n, (b, t, w) in pooled.items():
        p = binomtest(b, b + w).pvalue if b + w else 1.0
        lines.append(f"| all tasks | {n} | | | | {b} / {t} / {w} | | {p:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "variants", nargs="+", help="label=results.json; the first is the reference"
    )
    parser.add_argument("--strategy", default=None, help="only this strategy's runs of each file")
    args = parser.parse_args(argv)
    variants: dict[str, list[dict[str, Any]]] = {}
    for item in args.variants:
        label, sep, path = item.partition("=")
        if not sep or not label or not path:
            parser.error(f"variant {item!r}: write it as label=path/to/results.json")
        files = [Path(p) for p in path.split(",")]
        variants[label] = [r for f in files for r in json.loads(f.read_text())]
    if len(variants) < 2:
        parser.error("name at least two variants (the first is the reference)")
    print(compare(variants, args.strategy))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
