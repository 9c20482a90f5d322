"""Hyperband's pruning check counted in the database equals the rule in Python.

Two claims, on a real SQLite file and on PostgreSQL (skipped, with the reason, when no
server answers): the SQL condition on ``trials.number`` selects exactly the trials that
``HyperbandPruner.bracket()`` puts in a bracket, and the reporter's check (one counting
query) decides as the Python rule did over the peers' curves, whatever the peers' states,
values (ties, NaN, infinities) and missing steps.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from sqlalchemy import insert, select

import hpo
from hpo.brackets import NumberSlice, golden_point
from hpo.execution.running import RunningTrial
from hpo.pruning import HyperbandPruner, PeerStats
from hpo.space import Float
from hpo.storage._peers import in_slice
from hpo.storage.schema import IntermediateRow, TrialRow
from hpo.storage.storage import utcnow
from hpo.trial import FrozenTrial, TrialState
from tests.storage._python_rule import assert_pruned_as_python_rule

N = 20001  # trial numbers 0 .. 20000
CONFIGS = [(1, 27, 3), (1, 64, 2), (1, 100, 4)]  # 4, 7 and 4 brackets
# Large seeds leave the product few fractional bits: from 2**40 on many trials share a
# point (ties at the bracket edges); from 2**52 / GOLDEN on every point is 0 (all trials
# in bracket 0, as the formula has always had it).
SEEDS = [0, 7, 2**40 + 3, 2**50 + 1, 2**62]


def _study(storage_url: str, name: str, **kwargs) -> hpo.Study:
    return hpo.create_study(
        name, space={"x": Float(0, 1)}, objective=lambda p, r: 0.0, storage=storage_url, **kwargs
    )


def _insert(study: hpo.Study, states: dict[int, str], curves: dict[int, dict[int, float]]) -> None:
    now = utcnow()
    row = {"params": {"x": 0.5}, "metrics": {}, "user_attrs": {}, "started_at": now}
    with study.storage.engine.begin() as conn:
        conn.execute(
            insert(TrialRow),
            [{**row, "study_id": study.id, "number": n, "state": s} for n, s in states.items()],
        )
        ids = dict(
            conn.execute(
                select(TrialRow.number, TrialRow.id).where(TrialRow.study_id == study.id)
            ).all()
        )
        points = [
            {"trial_id": ids[n], "study_id": study.id, "step": step, "value": value}
            for n, curve in curves.items()
            for step, value in curve.items()
        ]
        if points:
            conn.execute(insert(IntermediateRow), points)


def _numbers_in(study: hpo.Study, among: NumberSlice) -> set[int]:
    dialect = study.storage.engine.dialect.name
    with study.storage.engine.connect() as conn:
        query = select(TrialRow.number).where(
            TrialRow.study_id == study.id, in_slice(dialect, TrialRow.number, among)
        )
        return {n for (n,) in conn.execute(query)}


def test_the_sql_bracket_is_pythons_bit_for_bit(storage_url, study_name):
    study = _study(storage_url, study_name)
    _insert(study, dict.fromkeys(range(N), "COMPLETE"), {})
    for low, high, eta in CONFIGS:
        for seed in SEEDS:
            p = HyperbandPruner(
                min_resource=low, max_resource=high, reduction_factor=eta, seed=seed
            )
            expected = [p.bracket(n) for n in range(N)]
            found: Counter[int] = Counter()
            for b in range(p.n_brackets):
                numbers = _numbers_in(study, p.bracket_slice(b))
                assert numbers == {n for n in range(N) if expected[n] == b}, (low, high, seed, b)
                found.update(numbers)
            assert len(found) == N and set(found.values()) == {1}  # each number in one bracket


def test_the_sql_interval_treats_its_edges_as_python_does(storage_url, study_name):
    """``low <= u < high`` at equality: each edge is some trial's exact golden point."""
    study = _study(storage_url, study_name)
    _insert(study, dict.fromkeys(range(200), "COMPLETE"), {})
    for seed in (0, 3, 2**44 + 1, 2**50 + 1):  # the last two: trials share points
        points = sorted({golden_point(n, seed) for n in range(200)})
        for i in {0, len(points) // 3, len(points) - 2}:
            edges = NumberSlice(seed, points[i], points[i + 1])  # [a point, the next point)
            at_low = {n for n in range(200) if golden_point(n, seed) == points[i]}
            assert (
                _numbers_in(study, edges) == at_low == {n for n in range(200) if edges.contains(n)}
            )


def _old_rule(p: HyperbandPruner, number: int, step: int, curve, peers, maximize: bool) -> bool:
    """HyperbandPruner.prune_trial as it was before the database counted (main at 953f758)."""
    bracket = p.bracket(number)
    if step not in p.rungs(bracket) or step not in curve:
        return False
    mine = curve[step]
    if not math.isfinite(mine):
        return True
    rivals = [c[step] for n, c in peers.items() if step in c and p.bracket(n) == bracket]
    stats = PeerStats.of(rivals, mine, maximize, middle=False)
    return not stats.better <= max(1, (stats.count + 1) // p.reduction_factor) - 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_database_check_decides_as_the_python_rule(storage_url, study_name, seed):
    rng = np.random.default_rng(seed)
    # NaN only where the database can hold it: SQLite stores a NaN as NULL, which the
    # column refuses (the reporter never writes one); infinities come from bulk imports.
    values = [0.1, 0.2, 0.2, 0.3, 0.5, math.inf, -math.inf]
    if storage_url.startswith("postgresql"):
        values.append(math.nan)
    pruner = HyperbandPruner(min_resource=1, max_resource=27, reduction_factor=3, seed=3 * seed)
    steps = sorted({r for b in range(pruner.n_brackets) for r in pruner.rungs(b)} | {2})
    peer_states = [TrialState(s) for s in pruner.peer_states]
    outcomes: Counter[bool] = Counter()
    for direction in ("minimize", "maximize"):
        study = _study(storage_url, f"{study_name}-{direction}", pruner=pruner, direction=direction)
        n = 150
        kinds = ["COMPLETE", "PRUNED", "RUNNING", "FAILED", "WAITING"]
        states = {i: str(rng.choice(kinds, p=[0.35, 0.25, 0.2, 0.1, 0.1])) for i in range(n)}
        curves = {
            i: {s: float(rng.choice(values)) for s in range(1, 28) if rng.random() < 0.85}
            for i in range(n)
        }
        _insert(study, states, curves)
        for number in rng.choice(n + 10, size=40, replace=False):  # some not stored yet
            me = FrozenTrial(number=int(number), state=TrialState.RUNNING, params={"x": 0.5})
            for step in steps:
                curve = {s: float(rng.choice(values)) for s in range(1, step + 1)}
                if rng.random() < 0.15:
                    curve.pop(step)  # the trial skipped the step
                check = RunningTrial(study, me)
                check.curve = curve
                decided = check._check_prune(step)  # the reporter's check: SQL counts
                peers = study.storage.curves(study.id, peer_states, step=step)
                peers.pop(int(number), None)
                maximize = direction == "maximize"
                expected = _old_rule(pruner, int(number), step, curve, peers, maximize)
                assert decided == expected, (direction, int(number), step, curve.get(step))
                assert pruner.prune_trial(int(number), step, curve, peers, maximize) == expected
                outcomes[decided] += 1
    assert outcomes[True] > 20 and outcomes[False] > 20, outcomes


def test_a_real_hyperband_study_counts_in_the_database(sqlite_url, monkeypatch):
    """The reporter asks for counts within the trial's bracket, never for the peers' rows,
    and every trial's fate is the Python rule's over the curves stored before it."""
    from hpo.storage import Storage

    asked: list[NumberSlice | None] = []
    real_stats = Storage.peer_stats

    def peer_stats(self, *args, among=None, **kwargs):
        asked.append(among)
        return real_stats(self, *args, among=among, **kwargs)

    def no_rows(self, *args, **kwargs):
        raise AssertionError("a Hyperband check read the peers' rows")

    def objective(params, reporter):
        for step in range(1, 10):
            reporter.report(step, params["x"] + 0.01 * (9 - step))
        return params["x"]

    pruner = HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)
    study = hpo.create_study(
        "hb", space={"x": Float(0, 1)}, objective=objective, storage=sqlite_url,
        pruner=pruner, sampler="random", seed=3,
    )  # fmt: skip
    monkeypatch.setattr(Storage, "peer_stats", peer_stats)
    monkeypatch.setattr(Storage, "curves", no_rows)
    study.optimize(30, show_progress=False)
    monkeypatch.undo()
    assert asked and all(a is not None for a in asked)
    assert set(asked) <= {pruner.bracket_slice(b) for b in range(pruner.n_brackets)}
    assert_pruned_as_python_rule(
        study.get_trials(with_curves=True),
        lambda n, step, curve, peers: pruner.prune_trial(n, step, curve, peers, maximize=False),
    )
