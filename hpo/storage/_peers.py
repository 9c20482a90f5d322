"""What a pruning check reads of its peers at one step, computed by the database.

A rank-based pruner (median, ASHA) needs, of the peers' finite values at a step, only
how many there are, how many beat the trial's value, and maybe the median. Each curve
point carries its study (schema 4) under an index on ``(study_id, step, value)``, so:

- all the study's points at the step, and those that beat the value, are two counts over
  one index range (no row per peer comes back, no trial is joined: ~1 ms at 10,000 peers);
- the points of trials that are not peers (the states the pruner leaves out, e.g. running
  or failed trials, and the trial itself) are subtracted through the trials join, which
  visits only those few trials.

The median's middle values, needed only when the counts leave the rule open, are read
through the join (a sort of the peers' values at the step).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from hpo.storage.schema import IntermediateRow, TrialRow
from hpo.trial import TrialState

_FINITE = 1.7976931348623157e308  # float max: excludes +-inf (and NaN on PostgreSQL)


def _at_step(study_id: int, states: Sequence[str], step: int, exclude: int) -> Any:
    return and_(
        TrialRow.id == IntermediateRow.trial_id,
        TrialRow.study_id == study_id,
        TrialRow.state.in_(list(states)),
        TrialRow.number != exclude,
        IntermediateRow.step == step,
        IntermediateRow.value.between(-_FINITE, _FINITE),
    )


def _counts(conn: Connection, query: Any, than: float | None, maximize: bool) -> tuple[int, int]:
    """(rows, rows whose value beats ``than``) of a query over curve points."""
    value = IntermediateRow.value
    if than is None:
        better: Any = 0
    else:
        beats = value > than if maximize else value < than
        better = func.coalesce(func.sum(case((beats, 1), else_=0)), 0)
    count, n_better = conn.execute(query.with_only_columns(func.count(value), better)).one()
    return int(count), int(n_better)


def peer_stats(
    conn: Connection,
    study_id: int,
    states: Sequence[str],
    step: int,
    *,
    exclude: int,
    than: float | None,
    maximize: bool,
    median: bool,
) -> tuple[int, int, tuple[float, ...]]:
    """(peers with a finite value at ``step``, how many beat ``than``, the middle value(s)).

    Peers are trials in ``states`` other than trial number ``exclude``. The middle values
    (one for an odd count, two for an even one) come only with ``median``.
    """
    value = IntermediateRow.value
    finite = value.between(-_FINITE, _FINITE)
    everyone = select(value).where(  # the (study_id, step, value) index range
        IntermediateRow.study_id == study_id, IntermediateRow.step == step, finite
    )
    others = sorted(s.value for s in TrialState if s.value not in set(states))

    def points_of(trials: Any) -> Any:  # the finite points at the step of some trials
        return (
            select(value)
            .select_from(TrialRow)
            .join(IntermediateRow, IntermediateRow.trial_id == TrialRow.id)
            .where(TrialRow.study_id == study_id, trials, IntermediateRow.step == step, finite)
        )

    count, n_better = _counts(conn, everyone, than, maximize)
    if count:  # subtract the points of trials that are not peers: each query visits few trials
        subtract = [points_of(TrialRow.state.in_(others))]  # the (study_id, state) index
        if exclude >= 0:  # the trial itself, when its own state makes it one of its peers
            subtract.append(points_of(and_(TrialRow.number == exclude, TrialRow.state.in_(states))))
        for query in subtract:
            minus, minus_better = _counts(conn, query, than, maximize)
            count, n_better = count - minus, n_better - minus_better
    middle: tuple[float, ...] = ()
    if median and count:
        rows = conn.execute(
            select(value)
            .select_from(IntermediateRow, TrialRow)
            .where(_at_step(study_id, states, step, exclude))
            .order_by(value)
            .offset((count - 1) // 2)
            .limit(2 - count % 2)
        )
        middle = tuple(float(v) for (v,) in rows)
    return count, n_better, middle
