"""The time-to-quality replay: simulated time, parallel workers, pruning, lookup, incumbents."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmarks.ttq_replay import Table, replay
from hpo.space import Categorical, Float, Int, SearchSpace

SPACE = SearchSpace(
    {
        "n_layers": Int(1, 2),
        "units_2": Int(8, 64, log=True, when=("n_layers", ">=", 2)),
        "act": Categorical(["relu", "tanh"]),
        "lr": Float(1e-3, 1e-1, log=True),
    }
)
ROWS = [  # params, values per epoch (3 epochs), cumulative seconds
    ({"n_layers": 1, "act": "relu", "lr": 0.01}, [0.5, 0.6, 0.7], [1.0, 2.0, 3.0]),
    ({"n_layers": 2, "units_2": 32, "act": "tanh", "lr": 0.01}, [0.2, 0.9, 0.8], [2.0, 4.0, 6.0]),
    (
        {"n_layers": 2, "units_2": 8, "act": "relu", "lr": 0.1},
        [0.1, float("nan"), float("nan")],
        [0.5, 1.0, 1.5],
    ),
]


def _table() -> Table:
    return Table(
        {
            "task": "toy",
            "space": SPACE.to_dict(),
            "max_epochs": 3,
            "maximize": True,
            "rows": [
                {"params": p, "values": v, "times": t, "test": 0.1 * i}
                for i, (p, v, t) in enumerate(ROWS)
            ],
        }
    )


class Scripted:
    """Proposes the table's rows in a fixed order; prunes row 2's jobs at epoch 1 when asked to."""

    name = "scripted"

    def __init__(
        self,
        order: list[int],
        *,
        pruned: bool = True,
        budgets: list[int] | None = None,
        prune_rows: tuple[int, ...] = (),
    ) -> None:
        self.order, self.pruned, self.budgets, self.prune_rows = order, pruned, budgets, prune_rows
        self.asked = 0
        self.finished: list[tuple[int, str, float | None, int]] = []

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        i = self.asked
        self.asked += 1
        row = self.order[i % len(self.order)]
        return (
            (i, row),
            dict(ROWS[row][0]),
            (self.budgets[i % len(self.budgets)] if self.budgets else 3),
        )

    def report(self, key: Any, epoch: int, value: float) -> bool:
        return key[1] in self.prune_rows and epoch == 1

    def finish(self, key: Any, state: str, value: float | None, epochs: int) -> None:
        self.finished.append((key[1], state, value, epochs))


def test_nearest_row_respects_conditions_and_categories():
    table = _table()
    assert table.nearest({"n_layers": 2, "units_2": 30, "act": "tanh", "lr": 0.012}) == 1
    assert (
        table.nearest({"n_layers": 1, "act": "relu", "lr": 0.09}) == 0
    )  # inactive units_2 matches row 0
    assert table.best_upto(1, 3) == 0.9  # the trainer restores its best epoch
    assert table.best_upto(2, 3) == 0.1 and np.isnan(table.values[2, 1])


def test_a_new_configuration_gets_a_row_not_used_yet_and_a_repeated_one_its_own_row():
    table = _table()
    near_0 = {"n_layers": 1, "act": "relu", "lr": 0.011}
    assert table.nearest(near_0, exclude={0}) != 0
    result = replay(
        Scripted([0, 0], pruned=False, budgets=[3]), table, budget_s=1.0, count_overhead=False
    )
    assert sorted(e.row for e in result.evaluations) == [0, 0]  # the same params: the same network


def test_two_workers_run_in_parallel_and_jobs_end_at_their_recorded_times():
    table = _table()
    result = replay(Scripted([0, 1]), table, budget_s=6.0, count_overhead=False)
    ends = sorted((e.end, e.row, e.state) for e in result.evaluations)
    # worker A: row 0 in 0..3, then row 0 again in 3..6; worker B: row 1 in 0..6;
    # at 6 the budget is spent
    assert ends == [(3.0, 0, "COMPLETE"), (6.0, 0, "COMPLETE"), (6.0, 1, "COMPLETE")]
    assert result.incumbent_curve(3) == [
        (3.0, 0.7, 0),
        (6.0, 0.9, 1),
    ]  # best-so-far of full trainings


def test_pruning_frees_the_worker_at_the_epoch_it_stopped_and_failures_end_jobs():
    table = _table()
    pruner = Scripted([1, 2], prune_rows=(1,))
    result = replay(pruner, table, budget_s=1.0, count_overhead=False)
    first = {(e.row, e.state): e for e in result.evaluations}
    assert (
        first[(1, "PRUNED")].end == 2.0 and first[(1, "PRUNED")].epochs == 1
    )  # row 1's first epoch
    assert first[(2, "FAILED")].end == 1.0 and first[(2, "FAILED")].epochs == 2  # NaN at epoch 2
    assert result.incumbent_curve(3) == []  # no full-budget training finished


def test_budgeted_strategies_retrain_from_scratch_for_the_budget_they_name():
    table = _table()
    result = replay(
        Scripted([1], pruned=False, budgets=[1, 3]),
        table,
        budget_s=0.5,
        count_overhead=False,
        n_workers=2,
    )
    by_budget = {e.epochs: e for e in result.evaluations}
    assert by_budget[1].end == pytest.approx(2.0) and by_budget[1].value == 0.2
    assert by_budget[3].end == pytest.approx(6.0) and by_budget[3].value == 0.9


class Burning(Scripted):
    """Spends ``cpu`` CPU seconds in every ask, report and finish call."""

    def __init__(self, order: list[int], cpu: float, **kw: Any) -> None:
        super().__init__(order, **kw)
        self.cpu = cpu

    def _burn(self) -> None:
        import time

        end = time.process_time() + self.cpu
        while time.process_time() < end:
            pass

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        self._burn()
        return super().ask()

    def report(self, key: Any, epoch: int, value: float) -> bool:
        self._burn()
        return super().report(key, epoch, value)

    def finish(self, key: Any, state: str, value: float | None, epochs: int) -> None:
        self._burn()
        super().finish(key, state, value, epochs)


def test_charge_cpu_adds_every_call_to_its_workers_timeline_and_off_keeps_training_time():
    table = _table()
    plain = replay(Burning([0], 0.02), table, budget_s=0.1, count_overhead=False, n_workers=1)
    assert [e.end for e in plain.evaluations] == [3.0]  # training only, as before
    assert plain.opt_cpu >= 0.02 * 5 and not plain.charged  # ask, 3 reports, finish measured
    charged = replay(
        Burning([0], 0.02), table, budget_s=0.1, count_overhead=False, n_workers=1, charge_cpu=True
    )
    (ev,) = charged.evaluations
    # the ask delays the start, each of the 3 pruning checks the rest of the job
    assert ev.end >= 3.0 + 4 * 0.02
    assert charged.charged and charged.ask_cpu >= 0.02 and charged.opt_cpu >= charged.ask_cpu


def test_charge_cpu_delays_the_next_ask_by_the_tell_and_counts_helper_processes():
    class Helper(Scripted):
        """A strategy whose proposals are computed elsewhere: 0.5 CPU s per ask."""

        def __init__(self) -> None:
            super().__init__([0], pruned=False, budgets=[3])
            self.helper = 0.0

        def external_cpu(self) -> float:
            return self.helper

        def ask(self) -> tuple[Any, dict[str, Any], int]:
            self.helper += 0.5
            return super().ask()

    table = _table()
    result = replay(
        Helper(), table, budget_s=4.0, count_overhead=False, n_workers=1, charge_cpu=True
    )
    ends = [e.end for e in result.evaluations]
    assert ends[0] == pytest.approx(3.5, abs=0.05)  # 0.5 helper CPU, then 3 s of training
    assert ends[1] == pytest.approx(7.0, abs=0.1)  # the second ask started at 3.5
    assert result.ask_cpu == pytest.approx(1.0, abs=0.05)


def test_wall_and_cpu_charging_are_exclusive():
    with pytest.raises(ValueError):
        replay(Scripted([0]), _table(), budget_s=1.0, count_overhead=True, charge_cpu=True)


def test_a_strategy_that_reads_durations_hears_each_jobs_simulated_time_before_its_end():
    class Timed(Scripted):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.durations: list[tuple[int, float]] = []

        def trained(self, key: Any, seconds: float) -> None:
            assert len(self.finished) == len(self.durations)  # before finish
            self.durations.append((key[1], seconds))

    strategy = Timed([1, 2, 0], prune_rows=(1,))
    replay(strategy, _table(), budget_s=3.0, count_overhead=False)
    # row 1 pruned after its first epoch (2 s) twice, row 2 failed at epoch 2 (1 s), row 0
    # trained whole from 1 s to 4 s (its worker's second job)
    assert strategy.durations == [(2, 1.0), (1, 2.0), (1, 2.0), (0, 3.0)]
    assert [(row, state) for row, state, *_ in strategy.finished] == [
        (2, "FAILED"),
        (1, "PRUNED"),
        (1, "PRUNED"),
        (0, "COMPLETE"),
    ]
