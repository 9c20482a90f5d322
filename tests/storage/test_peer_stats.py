"""A pruning check's peer stats from the database equal the rule computed from the curves.

Real SQLite files and PostgreSQL: ties, infinities, other states, other steps, the trial
itself, and odd and even peer counts (the median's one or two middle values).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlalchemy import insert

import hpo
from hpo.pruning import MedianPruner, PeerStats, SuccessiveHalvingPruner
from hpo.space import Float
from hpo.storage.schema import IntermediateRow, TrialRow
from hpo.storage.storage import utcnow
from hpo.trial import TrialState
from tests.storage._python_rule import assert_pruned_as_python_rule

STEP = 4
PEERS = (TrialState.COMPLETE, TrialState.PRUNED)


def _fill(study: hpo.Study, values: list[float], states: list[str]) -> None:
    now = utcnow()
    with study.storage.engine.begin() as conn:
        for number, (value, state) in enumerate(zip(values, states, strict=True)):
            key = conn.execute(
                insert(TrialRow).values(
                    study_id=study.id,
                    number=number,
                    state=state,
                    params={"x": 0.5},
                    value=None,
                    metrics={},
                    user_attrs={},
                    started_at=now,
                    finished_at=now,
                )  # fmt: skip
            ).inserted_primary_key
            assert key is not None
            trial_id = key[0]
            conn.execute(  # the step compared, and one other step with a value that would win
                insert(IntermediateRow),
                [
                    {"trial_id": trial_id, "study_id": study.id, "step": STEP, "value": value},
                    {"trial_id": trial_id, "study_id": study.id, "step": STEP + 1, "value": -1e9},
                ],
            )


@pytest.mark.parametrize("n_peers", [0, 1, 6, 7])
def test_database_stats_equal_the_curves_rule(storage_url, study_name, n_peers):
    rng = np.random.default_rng(n_peers)
    values = [float(v) for v in rng.choice([0.1, 0.2, 0.2, 0.3, 0.5], size=n_peers)]
    states = ["COMPLETE", "PRUNED"] * n_peers
    values += [math.inf, -math.inf, 0.0, 0.2]  # infinities (a bulk import may hold them)...
    states = states[:n_peers] + ["COMPLETE", "PRUNED", "FAILED", "RUNNING"]  # ...other states
    study = hpo.create_study(
        study_name, space={"x": Float(0, 1)}, objective=lambda p, r: 0.0, storage=storage_url
    )
    _fill(study, values, states)
    other = hpo.create_study(  # another study's points at the same step are never peers
        study_name + "-other", space={"x": Float(0, 1)}, objective=lambda p, r: 0.0,
        storage=storage_url,
    )  # fmt: skip
    _fill(other, [-5.0, 9.0], ["COMPLETE", "PRUNED"])
    me = 0 if n_peers else len(values) - 1  # the trial checking is never its own peer
    asha = (*PEERS, TrialState.RUNNING)  # ASHA's peers: running trials compete too
    for states in (PEERS, asha):
        for checking in (me, len(values) - 1):  # a COMPLETE or a RUNNING trial checks
            curves = study.storage.curves(study.id, states, step=STEP)
            curves.pop(checking, None)
            at_step = [c[STEP] for c in curves.values()]
            for than in (None, 0.05, 0.2, 0.35):
                for maximize in (False, True):
                    stored = study.storage.peer_stats(
                        study.id, states, STEP, exclude=checking, than=than,
                        maximize=maximize, median=True,
                    )  # fmt: skip
                    expected = PeerStats.of(at_step, than, maximize, middle=True)
                    assert PeerStats(*stored) == expected, (states, checking, than, maximize)
    curves = study.storage.curves(study.id, PEERS, step=STEP)
    curves.pop(me, None)
    at_step = [c[STEP] for c in curves.values()]
    if n_peers > 1:  # and the pruners' rules agree with numpy's median and sorting
        count, _, middle = study.storage.peer_stats(
            study.id, PEERS, STEP, exclude=me, than=0.2, maximize=False, median=True
        )
        finite = [v for v in at_step if math.isfinite(v)]
        assert count == len(finite) and np.mean(middle) == np.median(finite)


@pytest.mark.parametrize(
    "pruner",
    [MedianPruner(n_startup_trials=2, n_warmup_steps=0), SuccessiveHalvingPruner(min_resource=4)],
)
def test_a_real_study_prunes_the_same_through_the_database(sqlite_url, pruner):
    """The reporter's database path and the pure rule over the stored curves agree."""

    def objective(params, reporter):
        for step in range(1, 9):
            reporter.report(step, params["x"] + 0.01 * (8 - step))
        return params["x"]

    study = hpo.create_study(
        "peers", space={"x": Float(0, 1)}, objective=objective, storage=sqlite_url,
        pruner=pruner, sampler="random", seed=1,
    )  # fmt: skip
    study.optimize(20, show_progress=False)
    assert_pruned_as_python_rule(
        study.get_trials(with_curves=True),
        lambda n, step, curve, peers: (
            pruner.wants_peers(step) and pruner.prune(step, curve, peers, False)
        ),
    )


def _old_median_rule(step, curve, peers, maximize, n_startup):
    """The median rule as it was written before the database counted (numpy's median)."""
    at_step = [c[step] for c in peers.values() if step in c and math.isfinite(c[step])]
    if len(at_step) < max(1, n_startup):
        return False
    mine = [v for s, v in curve.items() if s <= step and math.isfinite(v)]
    if not mine:
        return True
    best = max(mine) if maximize else min(mine)
    median = float(np.median(at_step))
    return best < median if maximize else best > median


def test_the_median_rule_from_counts_equals_numpys_median():
    """Decided from counts, with the middle values read only when the counts leave it open."""
    pruner = MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    rng = np.random.default_rng(0)
    asked_middle = 0
    for _ in range(3000):
        n = int(rng.integers(0, 8))
        peers = {i: {1: float(v)} for i, v in enumerate(rng.choice([0.1, 0.2, 0.3, 0.4], n))}
        curve = {1: float(rng.choice([0.1, 0.2, 0.25, 0.3, 0.4, math.nan]))}
        maximize = bool(rng.integers(0, 2))
        expected = _old_median_rule(1, curve, peers, maximize, 1)
        assert pruner.prune(1, curve, peers, maximize) == expected
        than = pruner.ranked_value(1, curve, maximize)
        counts = PeerStats.of([c[1] for c in peers.values()], than, maximize, middle=False)
        if than is not None and pruner.needs_middle(counts):
            asked_middle += 1
        else:  # the counts alone decide, as the database path does
            assert pruner.decide(1, curve, counts, maximize) == expected
    assert asked_middle > 0
