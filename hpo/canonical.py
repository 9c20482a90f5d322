"""Canonical points of a whole candidate matrix at once: ``encode(decode(u))`` per row, in numpy.

A sampler that optimizes over the unit cube needs, for each raw point ``u: (d,)``, the
point a configuration actually encodes to: integers rounded, categoricals moved to their
bucket centre, and inactive conditional parameters set to ``NaN``. Per row that is
``space.encode(space.decode(u))``, a walk through Python objects that costs ~100 µs on an
11-parameter conditional space; an acquisition optimizer asks for it thousands of times per
proposal. :func:`canonicalize` gives the same matrix column by column:

* each column is decoded as the parameter's ``decode`` does (same arithmetic, same order;
  ``math.exp`` / ``math.log`` applied element by element where a log scale needs them, since
  numpy's vectorized ``exp``/``log`` may differ from ``math``'s in the last bit),
* a condition is evaluated once per value of a discrete parent (``Condition.holds`` itself,
  so its semantics are the parameter's own; per distinct value for a continuous parent),
  then looked up for every row,
* active entries are encoded back (an ``Int``'s encodings from a table of all its values);
  inactive ones stay ``NaN``.

:class:`Canonicalizer` does that work that depends on the space alone once (a GP ask builds
one and calls it ~30 times, mostly on 8 to 24 rows) and computes the columns of a kind
together, one numpy expression per kind.

The result is bit-for-bit the per-row one (tests/core/test_canonical.py compares them on
random matrices), so swapping one for the other changes no proposal.

:func:`encode_rows` is the other direction for a whole history: ``space.encode(params)`` for
many params dicts, column by column, with the same arithmetic (a GP ask encodes every trial
on every call: ~2.5 µs a trial through the parameter objects, a tenth of that here).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hpo.space import Categorical, Condition, Float, Int, SearchSpace, _Param

__all__ = ["Canonicalizer", "canonicalize", "encode_rows"]


def _map(fn: Callable[[float], float], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``fn`` (a ``math`` function) applied element by element: exactly what per-row code gets."""
    return np.fromiter(map(fn, x.tolist()), dtype=float, count=len(x))


def _float_column(p: Float, u: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """Decoded values and their encodings for a ``Float`` column (``Float.decode``/``encode``)."""
    lo, hi = p._t(p.low), p._t(p.high)
    x = lo + u * (hi - lo)
    value = _map(math.exp, x) if p.log else x
    if p.step is not None:
        value = p.low + np.round((value - p.low) / p.step) * p.step
    value = np.minimum(np.maximum(value, p.low), p.high)
    return value, _float_encoding(p, value)


def _float_encoding(p: Float, value: NDArray[np.float64]) -> NDArray[np.float64]:
    """``Float.encode`` of each value: its position on the parameter's (log) scale."""
    lo, hi = p._t(p.low), p._t(p.high)
    if hi == lo:
        return np.full(len(value), 0.5)
    t = _map(math.log, value) if p.log else value
    return (t - lo) / (hi - lo)


def _int_encoding(p: Int, ints: NDArray[np.float64]) -> NDArray[np.float64]:
    """``Int.encode`` of each value (given as floats): its position on the (log) scale."""
    lo, hi = p._edges()
    t = _map(math.log, ints) if p.log else ints
    return (t - lo) / (hi - lo)


_MAX_TABLE = 4096  # an Int with more values than this gets no per-value tables


def _int_table(p: Int) -> NDArray[np.float64] | None:
    """Encodings of all ``p``'s values, by position ``k`` (``None`` for a huge range): the
    per-row arithmetic ``(t - lo) / (hi - lo)`` done once per value instead of once per row."""
    n = p._n()
    if n > _MAX_TABLE:
        return None
    return _int_encoding(p, (p.low + np.arange(n, dtype=np.int64) * p.step).astype(float))


def _int_column(
    p: Int, u: NDArray[np.float64], table: NDArray[np.float64] | None
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Value positions ``k`` (value ``low + k * step``) and their encodings for an ``Int``
    column (``Int.decode``/``encode``); ``table`` is :func:`_int_table`'s."""
    lo, hi = p._edges()
    x = lo + u * (hi - lo)
    value = _map(math.exp, x) if p.log else x
    k = np.clip(np.round((value - p.low) / p.step), 0, p._n() - 1).astype(np.int64)
    if table is not None:
        return k, table[k]
    return k, _int_encoding(p, (p.low + k * p.step).astype(float))


def _categorical_column(
    p: Categorical, u: NDArray[np.float64]
) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """Choice indices and their bucket centres for a ``Categorical`` column."""
    n = len(p.choices)
    i = np.minimum(np.floor(u * n).astype(np.int64), n - 1)
    return i, (i + 0.5) / n


def _parent_value(parent: _Param, key: Any) -> Any:
    """The parent's value from what its column holds: a choice index, a position, a float."""
    if isinstance(parent, Categorical):
        return parent.choices[key]
    if isinstance(parent, Int):
        return int(parent.low + key * parent.step)
    return float(key)


def _holds_table(c: Condition, parent: _Param) -> NDArray[np.bool_] | None:
    """``c.holds`` at each of the parent's values, by choice index or position (``None``
    for a continuous parent or a huge ``Int`` range: those are evaluated per distinct value)."""
    if isinstance(parent, Categorical):
        n = len(parent.choices)
    elif isinstance(parent, Int) and parent._n() <= _MAX_TABLE:
        n = parent._n()
    else:
        return None
    return np.array([c.holds({c.parent: _parent_value(parent, k)}) for k in range(n)], dtype=bool)


def _holds(
    c: Condition, parent: _Param, keys: NDArray[Any], table: NDArray[np.bool_] | None
) -> NDArray[np.bool_]:
    """``c.holds`` for every row (ignoring whether the parent is active): looked up in
    ``table``, or evaluated once per distinct parent value."""
    if table is not None:
        return table[keys]
    uniq, inv = np.unique(keys, return_inverse=True)
    table = np.array([c.holds({c.parent: _parent_value(parent, v)}) for v in uniq.tolist()])
    return table.astype(bool)[inv.reshape(-1)]


def _log_columns(params: Sequence[Float | Int]) -> NDArray[np.intp] | None:
    """Positions of the log-scale parameters among ``params`` (``None``: none is)."""
    cols = np.flatnonzero([p.log for p in params])
    return cols if len(cols) else None


def _apply(
    fn: Callable[[float], float], x: NDArray[np.float64], cols: NDArray[np.intp] | None
) -> NDArray[np.float64]:
    """``x`` with ``fn`` (``math.exp`` or ``math.log``) applied element by element in the
    columns ``cols`` (``x`` itself when ``cols`` is ``None``)."""
    if cols is None:
        return x
    out = x.copy()
    out[:, cols] = _map(fn, x[:, cols].ravel()).reshape(len(x), -1)
    return out


class _CategoricalGroup:
    """:func:`_categorical_column` for several columns at once (same arithmetic)."""

    def __init__(self, cols: list[int], params: list[Categorical]) -> None:
        self.cols = cols
        self.n = np.array([len(p.choices) for p in params], dtype=float)
        self.last = np.array([len(p.choices) - 1 for p in params], dtype=np.int64)

    def __call__(self, U: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[np.float64]]:
        i = np.minimum(np.floor(U * self.n).astype(np.int64), self.last)
        return i, (i + 0.5) / self.n


class _IntGroup:
    """:func:`_int_column` for several columns with value tables (same arithmetic): the
    encodings are looked up in one table of all columns' tables end to end."""

    def __init__(
        self, cols: list[int], params: list[Int], tables: list[NDArray[np.float64]]
    ) -> None:
        self.cols = cols
        edges = np.array([p._edges() for p in params], dtype=float)
        self.lo, self.hi = edges[:, 0], edges[:, 1]
        self.log = _log_columns(params)
        self.low = np.array([p.low for p in params], dtype=float)
        self.step = np.array([p.step for p in params], dtype=float)
        self.last = np.array([p._n() - 1 for p in params], dtype=float)
        self.offset = np.cumsum([0] + [len(t) for t in tables[:-1]]).astype(np.int64)
        self.table = np.concatenate(tables)

    def __call__(self, U: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[np.float64]]:
        value = _apply(math.exp, self.lo + U * (self.hi - self.lo), self.log)
        k = np.clip(np.round((value - self.low) / self.step), 0, self.last).astype(np.int64)
        return k, self.table[k + self.offset]


class _FloatGroup:
    """:func:`_float_column` for several ``Float`` columns with no step and ``low < high``
    (same arithmetic, ``math.log``/``math.exp`` element by element on the log ones)."""

    def __init__(self, cols: list[int], params: list[Float]) -> None:
        self.cols = cols
        self.lo = np.array([p._t(p.low) for p in params], dtype=float)
        self.hi = np.array([p._t(p.high) for p in params], dtype=float)
        self.log = _log_columns(params)
        self.low = np.array([p.low for p in params], dtype=float)
        self.high = np.array([p.high for p in params], dtype=float)

    def __call__(self, U: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[np.float64]]:
        value = _apply(math.exp, self.lo + U * (self.hi - self.lo), self.log)
        value = np.minimum(np.maximum(value, self.low), self.high)
        return value, (_apply(math.log, value, self.log) - self.lo) / (self.hi - self.lo)


_Group = _CategoricalGroup | _IntGroup | _FloatGroup


def _groups(
    params: list[_Param], int_tables: list[NDArray[np.float64] | None]
) -> tuple[list[_Group], list[int]]:
    """The columns computed together, by kind, and the rest (one at a time): a huge
    ``Int`` range, a ``Float`` with a step or with ``low == high``."""
    cats: dict[int, Categorical] = {}
    ints: dict[int, Int] = {}
    tables: list[NDArray[np.float64]] = []
    floats: dict[int, Float] = {}
    for k, p in enumerate(params):
        table = int_tables[k]
        if isinstance(p, Categorical):
            cats[k] = p
        elif isinstance(p, Int) and table is not None:
            ints[k] = p
            tables.append(table)
        elif isinstance(p, Float) and p.step is None and p._t(p.low) != p._t(p.high):
            floats[k] = p
    groups: list[_Group] = []
    if cats:
        groups.append(_CategoricalGroup(list(cats), list(cats.values())))
    if ints:
        groups.append(_IntGroup(list(ints), list(ints.values()), tables))
    if floats:
        groups.append(_FloatGroup(list(floats), list(floats.values())))
    rest = [k for k in range(len(params)) if k not in cats and k not in ints and k not in floats]
    return groups, rest


class Canonicalizer:
    """:func:`canonicalize` for one space, with its conditional structure worked out once.

    Built once per proposal and called thousands of times by the acquisition optimizer
    (mostly on a few rows, where per-column numpy calls would dominate): the columns are
    computed in groups by kind (one numpy expression per group), and the parent column of
    each condition, the truth of each condition at every value of a discrete parent and the
    encodings of every ``Int`` value are worked out here, so a call is group arithmetic,
    table lookups and one mask per conditional column.
    """

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        position = {name: k for k, name in enumerate(space)}
        self._params = list(space.values())
        self._int_tables = [_int_table(p) if isinstance(p, Int) else None for p in self._params]
        self._groups, self._rest = _groups(self._params, self._int_tables)
        self._conditional = [
            (k, [(position[c.parent], c, _holds_table(c, space[c.parent])) for c in p.conditions])
            for k, p in enumerate(self._params)
            if p.conditions
        ]

    def _column(self, k: int, u: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[np.float64]]:
        p = self._params[k]
        if isinstance(p, Categorical):
            return _categorical_column(p, u)
        if isinstance(p, Int):
            return _int_column(p, u, self._int_tables[k])
        if isinstance(p, Float):
            return _float_column(p, u)
        raise TypeError(f"unknown parameter type {type(p).__name__}")  # pragma: no cover

    def __call__(self, U: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(m, d)`` raw unit-cube points -> ``(m, d)`` rows ``encode(decode(u))``."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        m, d = U.shape
        if d != len(self._params):
            raise ValueError(
                f"points have {d} coordinates; the space has {len(self._params)} parameters"
            )
        U = np.minimum(np.maximum(U, 0.0), 1.0)
        C = np.empty((m, d))
        keys: list[NDArray[Any]] = [U[:, 0]] * d  # placeholders: every column's set below
        for g in self._groups:
            key, C[:, g.cols] = g(U[:, g.cols])
            for j, k in enumerate(g.cols):
                keys[k] = key[:, j]
        for k in self._rest:
            keys[k], C[:, k] = self._column(k, U[:, k])
        active: dict[int, NDArray[np.bool_]] = {}  # conditional columns (parents come first)
        for k, conditions in self._conditional:
            on = np.ones(m, dtype=bool)
            for j, c, table in conditions:
                on &= _holds(c, self._params[j], keys[j], table)
                if j in active:
                    on &= active[j]
            active[k] = on
            C[~on, k] = np.nan
        return C


def canonicalize(space: SearchSpace, U: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(m, d)`` raw unit-cube points -> ``(m, d)`` rows ``space.encode(space.decode(u))``.

    ``U`` must be finite (values outside ``[0, 1]`` are clipped, as ``decode`` does).
    Inactive parameters are ``NaN``, exactly as :meth:`SearchSpace.encode` writes them.
    Calling it many times on one space: build a :class:`Canonicalizer` once instead.
    """
    return Canonicalizer(space)(U)


def _floats(fn: Callable[[Any], float], values: Iterable[Any], n: int) -> NDArray[np.float64]:
    """``fn`` applied value by value (``float``, ``math.log``, ...): its exact results and
    errors, as the per-value code gets them."""
    return np.fromiter(map(fn, values), dtype=float, count=n)


def _encode_column(p: _Param, values: list[Any]) -> NDArray[np.float64]:
    """``[p.encode(v) for v in values]`` as one array, with ``encode``'s arithmetic."""
    n = len(values)
    if isinstance(p, Categorical):
        return (_floats(p.index, values, n) + 0.5) / len(p.choices)
    if isinstance(p, Int):
        lo, hi = p._edges()
        return (_floats(math.log if p.log else float, values, n) - lo) / (hi - lo)
    if isinstance(p, Float):
        return _float_encoding(p, _floats(float, values, n))
    raise TypeError(f"unknown parameter type {type(p).__name__}")  # pragma: no cover


def encode_rows(space: SearchSpace, params: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
    """``(n, d)`` rows ``space.encode(q)`` for each params dict ``q``, bit for bit.

    A parameter missing from a dict is ``NaN`` in its row, as in :meth:`SearchSpace.encode`.

    Raises:
        ValueError, TypeError: a value the parameter cannot encode (as ``encode`` does).
    """
    C = np.full((len(params), len(space)), np.nan)
    for k, (name, p) in enumerate(space.items()):
        try:  # the usual column: every row has the parameter (then no row list to build)
            values = [q[name] for q in params]
        except KeyError:
            rows = [i for i, q in enumerate(params) if name in q]
            if rows:
                C[rows, k] = _encode_column(p, [params[i][name] for i in rows])
            continue
        if values:
            C[:, k] = _encode_column(p, values)
    return C
