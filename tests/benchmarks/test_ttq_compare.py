"""benchmarks/ttq_compare.py: table ranks and seed-by-seed counts between strategy variants."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.ttq_compare import compare, final_values, paired, table_ranks
from tests.benchmarks.test_ttq_replay import _table


def _run(seed: int, final: float | None, task: str = "toy") -> dict[str, Any]:
    """A run whose incumbent is ``final`` at the budget (5 s); one more finishes after it."""
    inc = [] if final is None else [[1.0, final - 0.1, 0, None], [2.0, final, 0, None]]
    inc.append([5.5, 0.99, 0, None])  # a training that started before 5 s and ended after
    return {"task": task, "strategy": "s", "seed": seed, "incumbent": inc, "budget_s": 5.0}


def test_table_ranks_count_rows_strictly_better_at_the_full_budget():
    table = _table()  # full-budget bests: 0.7, 0.9, 0.1 (the trainer restores its best epoch)
    assert table_ranks(table, np.array([0.9, 0.7, 0.1, 0.8, -np.inf])).tolist() == [1, 2, 3, 2, 4]


def test_paired_counts_add_up_and_swap_when_the_variants_swap():
    a, b = np.array([0.5, 0.7, 0.7, 0.9]), np.array([0.7, 0.7, 0.5, 0.5])
    ra, rb = np.array([3, 2, 2, 1]), np.array([2, 2, 3, 3])
    ab, ba = paired(a, b, ra, rb), paired(b, a, rb, ra)
    assert (ab.better, ab.tied, ab.worse) == (1, 1, 2) == (ba.worse, ba.tied, ba.better)
    assert ab.median_rank_diff == -ba.median_rank_diff == 0.5
    assert 0 < ab.p_sign <= 1 and ab.p_sign == ba.p_sign


def test_the_final_value_is_the_incumbent_at_the_budget():
    finals = final_values([_run(0, 0.7), _run(1, None)], None)
    assert finals == {"toy": {0: 0.7, 1: -np.inf}}


def test_compare_keeps_common_seeds_and_a_variant_against_itself_ties_everywhere():
    ref = [_run(0, 0.7), _run(1, 0.9), _run(2, 0.1)]
    other = [_run(0, 0.9), _run(1, 0.9), _run(3, 0.7)]  # seed 2 missing, seed 3 extra
    out = compare({"ref": ref, "same": list(ref), "other": other}, tables=lambda task: _table())
    rows = {tuple(c.strip() for c in line.split("|")[1:3]): line for line in out.splitlines()}
    # only seeds 0 and 1 are in every variant
    assert "| 2 |" in rows[("toy", "same")] and "0 / 2 / 0" in rows[("toy", "same")]
    assert "| 2 |" in rows[("toy", "other")]
    assert "1 / 1 / 0" in rows[("toy", "other")]  # seed 0: 0.9 beats 0.7; seed 1 ties
    assert "1 / 1 / 0" in rows[("all tasks", "other")]
