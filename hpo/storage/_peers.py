"""What a pruning check reads of its peers at one step, computed by the database.

A rank-based pruner (median, ASHA) needs, of the peers' finite values at a step, only
how many there are, how many beat the trial's value, and maybe the median. Returning one
row per peer and ranking in Python made a check cost ~9 ms per 1,000 peers (most of it
building result rows); these queries return one row (and the median's one or two).
The join itself still visits each peer's row at that step, so the cost still grows with
the study, but in the database's C loop only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from hpo.storage.schema import IntermediateRow, TrialRow

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
    where = _at_step(study_id, states, step, exclude)
    value = IntermediateRow.value
    if than is None:
        better: Any = 0
    else:
        beats = value > than if maximize else value < than
        better = func.coalesce(func.sum(case((beats, 1), else_=0)), 0)
    count, n_better = conn.execute(
        select(func.count(value), better).select_from(IntermediateRow, TrialRow).where(where)
    ).one()
    count, n_better = int(count), int(n_better)
    middle: tuple[float, ...] = ()
    if median and count:
        rows = conn.execute(
            select(value)
            .select_from(IntermediateRow, TrialRow)
            .where(where)
            .order_by(value)
            .offset((count - 1) // 2)
            .limit(2 - count % 2)
        )
        middle = tuple(float(v) for (v,) in rows)
    return count, n_better, middle
