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

Hyperband's peers are the trials of its bracket, a function of their numbers
(:class:`hpo.brackets.NumberSlice`): they are counted through the join with the bracket's
condition on ``trials.number`` (:func:`in_slice`). The database visits each point at the
step (one trial lookup each), but still returns one row: no per-peer row reaches Python
and no bracket is computed in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Double, Integer, and_, case, cast, func, literal, select, true
from sqlalchemy.engine import Connection

from hpo.brackets import GOLDEN, NumberSlice
from hpo.storage.schema import IntermediateRow, TrialRow
from hpo.trial import TrialState

_FINITE = 1.7976931348623157e308  # float max: excludes +-inf (and NaN on PostgreSQL)


def _double(value: Any) -> Any:
    """``value`` as an SQL double: a PostgreSQL literal would otherwise be NUMERIC."""
    return cast(value, Double)


def in_slice(dialect: str, number: Any, among: NumberSlice) -> Any:
    """SQL for ``among.contains(number)``: the golden point of ``number`` in the slice.

    Each step is the IEEE double operation :func:`hpo.brackets.golden_point` does: the
    64-bit integer ``number + seed`` rounded to a double, times ``GOLDEN`` (bound as a
    double, never NUMERIC), minus its integer part. The integer part is ``floor`` on
    PostgreSQL; SQLite may be built without ``floor`` and there ``CAST(x AS INTEGER)``,
    which truncates, is the same for the positive ``x`` here. Both subtractions are exact.
    """
    x = _double(cast(number, BigInteger) + cast(literal(among.seed, BigInteger), BigInteger))
    x = x * _double(literal(GOLDEN))
    u = x - (func.floor(x) if dialect == "postgresql" else cast(x, Integer))
    conditions = []
    if among.low is not None:
        conditions.append(u >= _double(literal(among.low)))
    if among.high is not None:
        conditions.append(u < _double(literal(among.high)))
    return and_(true(), *conditions)


def _at_step(
    study_id: int, states: Sequence[str], step: int, exclude: int, also: Any = None
) -> Any:
    """The condition on the trials join: peers' finite points at ``step`` (and ``also``,
    e.g. :func:`in_slice`)."""
    return and_(
        TrialRow.id == IntermediateRow.trial_id,
        TrialRow.study_id == study_id,
        TrialRow.state.in_(list(states)),
        TrialRow.number != exclude,
        IntermediateRow.step == step,
        IntermediateRow.value.between(-_FINITE, _FINITE),
        true() if also is None else also,
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
    among: NumberSlice | None = None,
) -> tuple[int, int, tuple[float, ...]]:
    """(peers with a finite value at ``step``, how many beat ``than``, the middle value(s)).

    Peers are trials in ``states`` other than trial number ``exclude``, and in ``among``
    when given (a Hyperband bracket). The middle values (one for an odd count, two for an
    even one) come only with ``median``.
    """
    value = IntermediateRow.value
    if among is not None:  # a bracket needs the trials join: count through it
        sliced = in_slice(conn.dialect.name, TrialRow.number, among)
        joined = select(value).select_from(IntermediateRow, TrialRow)
        query = joined.where(_at_step(study_id, states, step, exclude, sliced))
        count, n_better = _counts(conn, query, than, maximize)
        return count, n_better, _middle(conn, query, count) if median else ()
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
    if not median:
        return count, n_better, ()
    peers = select(value).select_from(IntermediateRow, TrialRow)
    peers = peers.where(_at_step(study_id, states, step, exclude))
    return count, n_better, _middle(conn, peers, count)


def _middle(conn: Connection, query: Any, count: int) -> tuple[float, ...]:
    """The middle value(s) of the ``count`` values a query over curve points selects."""
    if not count:
        return ()
    value = IntermediateRow.value
    rows = conn.execute(query.order_by(value).offset((count - 1) // 2).limit(2 - count % 2))
    return tuple(float(v) for (v,) in rows)
