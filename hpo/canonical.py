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
* a condition is evaluated once per distinct parent value (``Condition.holds`` itself, so its
  semantics are the parameter's own), then looked up for every row,
* active entries are encoded back; inactive ones stay ``NaN``.

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

__all__ = ["canonicalize", "encode_rows"]


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
    if hi == lo:
        return value, np.full(len(u), 0.5)
    t = _map(math.log, value) if p.log else value
    return value, (t - lo) / (hi - lo)


def _int_column(p: Int, u: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """Decoded values and their encodings for an ``Int`` column (``Int.decode``/``encode``)."""
    lo, hi = p._edges()
    x = lo + u * (hi - lo)
    value = _map(math.exp, x) if p.log else x
    k = np.clip(np.round((value - p.low) / p.step), 0, p._n() - 1).astype(np.int64)
    ints = p.low + k * p.step
    t = _map(math.log, ints.astype(float)) if p.log else ints.astype(float)
    return ints, (t - lo) / (hi - lo)


def _categorical_column(
    p: Categorical, u: NDArray[np.float64]
) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """Choice indices and their bucket centres for a ``Categorical`` column."""
    n = len(p.choices)
    i = np.minimum(np.floor(u * n).astype(np.int64), n - 1)
    return i, (i + 0.5) / n


def _column(p: _Param, u: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[np.float64]]:
    if isinstance(p, Categorical):
        return _categorical_column(p, u)
    if isinstance(p, Int):
        return _int_column(p, u)
    if isinstance(p, Float):
        return _float_column(p, u)
    raise TypeError(f"unknown parameter type {type(p).__name__}")  # pragma: no cover


def _holds(
    c: Condition, parent: _Param, values: NDArray[Any], active: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """``c.holds`` for every row: evaluated once per distinct parent value, then looked up."""
    if isinstance(parent, Categorical):
        table = np.array([c.holds({c.parent: ch}) for ch in parent.choices], dtype=bool)
        return active & table[values]
    uniq, inv = np.unique(values, return_inverse=True)
    cast = int if isinstance(parent, Int) else float
    table = np.array([c.holds({c.parent: cast(v)}) for v in uniq.tolist()], dtype=bool)
    return active & table[inv.reshape(-1)]


def canonicalize(space: SearchSpace, U: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(m, d)`` raw unit-cube points -> ``(m, d)`` rows ``space.encode(space.decode(u))``.

    ``U`` must be finite (values outside ``[0, 1]`` are clipped, as ``decode`` does).
    Inactive parameters are ``NaN``, exactly as :meth:`SearchSpace.encode` writes them.
    """
    U = np.atleast_2d(np.asarray(U, dtype=float))
    m, d = U.shape
    if d != len(space):
        raise ValueError(f"points have {d} coordinates; the space has {len(space)} parameters")
    C = np.full((m, d), np.nan)
    decoded: dict[str, tuple[_Param, NDArray[Any], NDArray[np.bool_]]] = {}
    for k, (name, p) in enumerate(space.items()):
        active = np.ones(m, dtype=bool)
        for c in p.conditions:
            parent, values, parent_active = decoded[c.parent]
            active &= _holds(c, parent, values, parent_active)
        values, enc = _column(p, np.minimum(np.maximum(U[:, k], 0.0), 1.0))
        C[active, k] = enc[active]
        decoded[name] = (p, values, active)
    return C


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
        lo, hi = p._t(p.low), p._t(p.high)
        if hi == lo:
            return np.full(n, 0.5)
        x = _floats(float, values, n)
        return ((_map(math.log, x) if p.log else x) - lo) / (hi - lo)
    raise TypeError(f"unknown parameter type {type(p).__name__}")  # pragma: no cover


def encode_rows(space: SearchSpace, params: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
    """``(n, d)`` rows ``space.encode(q)`` for each params dict ``q``, bit for bit.

    A parameter missing from a dict is ``NaN`` in its row, as in :meth:`SearchSpace.encode`.

    Raises:
        ValueError, TypeError: a value the parameter cannot encode (as ``encode`` does).
    """
    C = np.full((len(params), len(space)), np.nan)
    for k, (name, p) in enumerate(space.items()):
        rows = [i for i, q in enumerate(params) if name in q]
        if rows:
            C[rows, k] = _encode_column(p, [params[i][name] for i in rows])
    return C
