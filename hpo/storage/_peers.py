"""What a pruning check reads of its peers at one step, computed by the database.

A rank-based pruner (median, ASHA, Hyperband) needs, of the peers' finite values at a
step, only how many there are, how many beat the trial's value, and maybe the median.
Each curve point carries its study (schema 4) and its trial's Hyperband bracket (schema
5, NULL under other pruners) under an index on ``(study_id, step, bracket, value)``, so:

- all the study's points at the step (ASHA, median), or those of one bracket (Hyperband:
  ``bracket = b`` narrows the same range), and those that beat the value, are two counts
  over one index range (no row per peer comes back, no trial is joined: ~1-2 ms at
  10,000 peers);
- the points of trials that are not peers (the states the pruner leaves out, e.g. running
  or failed trials, and the trial itself) are subtracted through the trials join, which
  visits only those few trials;
- for Hyperband, the points stored without a bracket (NULL: written by hand or by an hpo
  before schema 5) are added through the join, which tests their trials' numbers with
  the bracket's condition (:func:`in_slice`, bit for bit :class:`hpo.brackets.NumberSlice`);
  that range is empty in a database hpo wrote, so it costs one index probe.

A :class:`~hpo.brackets.NumberSlice` without a ``bracket`` is counted entirely through
the join (each point at the step visited, one trial lookup each: schema 4's way). The
median's middle values, needed only when the counts leave the rule open, are read
through the join (a sort of the peers' values at the step).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Double,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    true,
    union_all,
)
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
    if among is not None and among.bracket is None:  # a slice alone: test every number
        sliced = _at_step(study_id, states, step, exclude, _in(conn, among))
        query = select(IntermediateRow.value).select_from(IntermediateRow, TrialRow).where(sliced)
        count, n_better = _signed_counts(conn, [(1, query)], than, maximize)
        return count, n_better, _middle(conn, query, count) if median else ()
    marked = true() if among is None else IntermediateRow.bracket == among.bracket
    parts = _marked_parts(study_id, states, step, exclude, marked)
    if among is not None:  # points stored without their bracket: test their trials' numbers
        unmarked = and_(IntermediateRow.bracket.is_(None), _in(conn, among))
        of_peers = and_(TrialRow.state.in_(list(states)), TrialRow.number != exclude)
        parts.append(
            (1, _points_of(of_peers, step, and_(IntermediateRow.study_id == study_id, unmarked)))
        )
    count, n_better = _signed_counts(conn, parts, than, maximize)
    if not median:
        return count, n_better, ()
    also = None if among is None else _in(conn, among)  # the median sorts through the join
    peers = select(IntermediateRow.value).select_from(IntermediateRow, TrialRow)
    peers = peers.where(_at_step(study_id, states, step, exclude, also))
    return count, n_better, _middle(conn, peers, count)


def _in(conn: Connection, among: NumberSlice) -> Any:
    """The condition that a joined trial's number is in ``among``."""
    return in_slice(conn.dialect.name, TrialRow.number, among)


def _points_of(trials: Any, step: int, condition: Any) -> Any:
    """The finite points at ``step`` of the ``trials`` of a study, meeting ``condition``.

    The trials join is written from the side that selects few rows: ``trials`` (e.g. the
    study's failed ones, through the ``(study_id, state)`` index) or ``condition`` (e.g.
    the points left without a bracket, a range of the study's curve index).
    """
    return (
        select(IntermediateRow.value)
        .select_from(TrialRow)
        .join(IntermediateRow, IntermediateRow.trial_id == TrialRow.id)
        .where(
            trials,
            IntermediateRow.step == step,
            IntermediateRow.value.between(-_FINITE, _FINITE),
            condition,
        )
    )


def _marked_parts(
    study_id: int, states: Sequence[str], step: int, exclude: int, marked: Any
) -> list[tuple[int, Any]]:
    """The peers' finite points at ``step`` that are ``marked`` (all, or one bracket's), as
    signed queries: the study's marked points, one index range, less those of the few
    trials that are not peers (each found through the trials join)."""
    everyone = select(IntermediateRow.value).where(  # the (study_id, step, bracket, value) range
        IntermediateRow.study_id == study_id,
        IntermediateRow.step == step,
        marked,
        IntermediateRow.value.between(-_FINITE, _FINITE),
    )
    others = sorted(s.value for s in TrialState if s.value not in set(states))
    of_study = TrialRow.study_id == study_id
    parts = [
        (1, everyone),
        (-1, _points_of(and_(of_study, TrialRow.state.in_(others)), step, marked)),
    ]
    if exclude >= 0:  # the trial itself, when its own state makes it one of its peers
        itself = and_(of_study, TrialRow.number == exclude, TrialRow.state.in_(list(states)))
        parts.append((-1, _points_of(itself, step, marked)))
    return parts


def _signed_counts(
    conn: Connection, parts: Sequence[tuple[int, Any]], than: float | None, maximize: bool
) -> tuple[int, int]:
    """The sum of ``sign x (rows, rows whose value beats than)`` over queries of curve
    points, in one statement (one round trip; each part keeps its own index plan)."""
    value = IntermediateRow.value
    if than is None:
        better: Any = literal(0)
    else:
        beats = value > than if maximize else value < than
        better = func.coalesce(func.sum(case((beats, 1), else_=0)), 0)
    counted = [q.with_only_columns(literal(sign), func.count(value), better) for sign, q in parts]
    rows = conn.execute(union_all(*counted)).all()
    return sum(s * int(n) for s, n, _ in rows), sum(s * int(b) for s, _, b in rows)


def _middle(conn: Connection, query: Any, count: int) -> tuple[float, ...]:
    """The middle value(s) of the ``count`` values a query over curve points selects."""
    if not count:
        return ()
    value = IntermediateRow.value
    rows = conn.execute(query.order_by(value).offset((count - 1) // 2).limit(2 - count % 2))
    return tuple(float(v) for (v,) in rows)
