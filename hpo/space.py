"""Search spaces: parameter types, conditions, the unit-cube encoding and grid expansion.

A space is an ordered mapping ``name -> parameter``. Every parameter maps to one
coordinate of the unit cube ``[0, 1]^d`` (``d = len(space)``):

* ``Float``: linear or log scale; with ``step`` the decoded value snaps to the lattice.
* ``Int``: the interval ``[low - 0.5, high + 0.5]`` (log scale if asked), rounded, so
  every integer owns an equal share of the coordinate.
* ``Categorical``: ``k`` equal buckets; ``encode`` returns the bucket centre.

A parameter with ``when=`` is *conditional*: it is active only when its parents
take certain values (``Int(16, 256, when=("n_layers", ">=", 3))``). Inactive
parameters are absent from a params dict and encode to ``NaN``.

Definitions are checked when they are made; the message names the parameter.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
from numpy.typing import NDArray

from hpo.errors import InvalidSpaceError
from hpo.validation import Constraint, Interval, validate

__all__ = ["Float", "Int", "Categorical", "Condition", "SearchSpace", "Param", "MAX_GRID_POINTS"]

MAX_GRID_POINTS = 1_000_000

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}


@dataclass(frozen=True)
class Condition:
    """``parent <op> value``; a conditional parameter is active when all its conditions hold."""

    parent: str
    op: str
    value: Any

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise InvalidSpaceError(
                f"Condition on '{self.parent}' has unknown operator {self.op!r}; "
                f"use one of {sorted(_OPS)}."
            )
        if self.op in ("in", "not in"):
            object.__setattr__(self, "value", tuple(_freeze(v) for v in self.value))

    def holds(self, params: Mapping[str, Any]) -> bool:
        if self.parent not in params:  # an inactive parent switches its children off
            return False
        try:
            return bool(_OPS[self.op](params[self.parent], self.value))
        except TypeError:
            return False

    def to_list(self) -> list[Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return [self.parent, self.op, value]


WhenSpec = Union[Condition, tuple, list, Mapping[str, Any], None]  # noqa: UP007 (runtime alias)


def _parse_when(when: WhenSpec) -> tuple[Condition, ...]:
    """Accept ``("n", ">=", 3)``, ``{"n": [3, 4]}``, a Condition, or a list of those."""
    if when is None:
        return ()
    if isinstance(when, Condition):
        return (when,)
    if isinstance(when, Mapping):
        return tuple(
            Condition(k, "in", v) if isinstance(v, (list, tuple, set)) else Condition(k, "==", v)
            for k, v in when.items()
        )
    if isinstance(when, (tuple, list)):
        if len(when) == 3 and isinstance(when[0], str) and isinstance(when[1], str):
            return (Condition(when[0], when[1], when[2]),)
        return tuple(c for item in when for c in _parse_when(item))
    raise InvalidSpaceError(
        f"when= must be ('parent', op, value), {{'parent': [values]}} or a Condition; got {when!r}."
    )


def _freeze(value: Any) -> Any:
    """Lists become tuples (JSON has no tuples), recursively, so choices stay hashable."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


class _Param:
    """Shared behaviour: a name (set by the space), conditions and the unit-cube mapping."""

    kind: str = ""
    name: str | None = None
    conditions: tuple[Condition, ...] = ()
    _label: str = ""

    def is_active(self, params: Mapping[str, Any]) -> bool:
        return all(c.holds(params) for c in self.conditions)

    def _fail(self, what: str) -> InvalidSpaceError:
        # While a parameter is being built its dict key is not known yet; name its definition.
        label = f"{self.kind} parameter '{self.name}'" if self.name else self._label
        return InvalidSpaceError(f"{label}: {what}")

    # Subclasses implement these five.
    def encode(self, value: Any) -> float:
        raise NotImplementedError

    def decode(self, u: float) -> Any:
        raise NotImplementedError

    def grid_values(self) -> list[Any]:
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def _spec(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        spec = {"type": self.kind, **self._spec()}
        if self.conditions:
            spec["when"] = [c.to_list() for c in self.conditions]
        return spec

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Param) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._spec().items() if v not in (None, False))
        return f"{self.kind}({args})"


_BOUNDS: dict[str, dict[str, list[Constraint]]] = {
    "Float": {
        "low": [Interval(float)],
        "high": [Interval(float)],
        "step": [None, Interval(float, 0, closed="neither")],
    },
    "Int": {"low": [Interval(int)], "high": [Interval(int)], "step": [Interval(int, 1)]},
}


class _Numeric(_Param):
    low: float
    high: float
    step: float | None

    def __init__(
        self, low: float, high: float, *, log: bool, step: float | None, when: WhenSpec
    ) -> None:
        self._label = f"{self.kind}(low={low!r}, high={high!r}{', log=True' if log else ''})"
        self.conditions = _parse_when(when)
        self.low, self.high = low, high
        self.log = bool(log)
        self.step = step

    def _validate_bounds(self) -> None:
        owner = f"{self.kind} parameter '{self.name}'" if self.name else self._label
        validate(
            _BOUNDS[self.kind],
            {"low": self.low, "high": self.high, "step": self.step},
            owner=owner,
            error=InvalidSpaceError,
        )
        low, high = float(self.low), float(self.high)
        if low > high:
            raise self._fail(
                f"low must be <= high. Got low={self.low}, high={self.high}; swap them."
            )
        if self.log and low <= 0:
            raise self._fail(
                f"log=True needs low > 0. Got low={self.low}; use a positive low or log=False."
            )


class Float(_Numeric):
    """A real-valued parameter in ``[low, high]``.

    Args:
        low, high: inclusive bounds.
        log: sample and model on a log scale (needs ``low > 0``).
        step: if given, values are ``low + k * step``; makes the parameter gridable.
        grid: explicit points used only for grid search (each within bounds).
        when: activation condition(s), see the module docstring.
    """

    kind = "Float"

    def __init__(
        self,
        low: float,
        high: float,
        *,
        log: bool = False,
        step: float | None = None,
        grid: Sequence[float] | None = None,
        when: WhenSpec = None,
    ) -> None:
        super().__init__(low, high, log=log, step=step, when=when)
        self._validate_bounds()
        self.low, self.high = float(low), float(high)
        if log and step is not None:
            raise self._fail("log=True and step= cannot be combined; drop one of them.")
        if step is not None:
            n = (self.high - self.low) / step
            if abs(n - round(n)) > 1e-8 * max(1.0, abs(n)):
                raise self._fail(
                    f"high - low must be a multiple of step. Got low={low}, high={high}, "
                    f"step={step}."
                )
        self.grid = None if grid is None else tuple(float(g) for g in grid)
        if self.grid is not None:
            if not self.grid:
                raise self._fail("grid= must list at least one point.")
            bad = [g for g in self.grid if not self.contains(g)]
            if bad:
                raise self._fail(f"grid points {bad} lie outside [{low}, {high}].")

    def _spec(self) -> dict[str, Any]:
        return {
            "low": self.low,
            "high": self.high,
            "log": self.log,
            "step": self.step,
            "grid": list(self.grid) if self.grid is not None else None,
        }

    def _t(self, x: float) -> float:
        return math.log(x) if self.log else x

    def encode(self, value: Any) -> float:
        lo, hi = self._t(self.low), self._t(self.high)
        return 0.5 if hi == lo else (self._t(float(value)) - lo) / (hi - lo)

    def decode(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        lo, hi = self._t(self.low), self._t(self.high)
        x = lo + u * (hi - lo)
        value = math.exp(x) if self.log else x
        if self.step is not None:
            value = self.low + round((value - self.low) / self.step) * self.step
        return min(max(value, self.low), self.high)

    def grid_values(self) -> list[Any]:
        if self.grid is not None:
            return list(self.grid)
        if self.step is None:
            raise self._fail("a continuous Float has no finite grid; give step= or grid=[...].")
        n = int(round((self.high - self.low) / self.step))
        return [self.low + k * self.step for k in range(n + 1)]

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        tol = 1e-12 * max(1.0, abs(self.high), abs(self.low))
        return self.low - tol <= float(value) <= self.high + tol


class Int(_Numeric):
    """An integer parameter in ``[low, high]`` (inclusive), optionally log-scaled or stepped."""

    kind = "Int"
    low: int
    high: int
    step: int

    def __init__(
        self, low: int, high: int, *, log: bool = False, step: int = 1, when: WhenSpec = None
    ) -> None:
        super().__init__(low, high, log=log, step=step, when=when)
        self._validate_bounds()
        self.low, self.high, self.step = int(low), int(high), int(step)
        if log and self.step != 1:
            raise self._fail("log=True needs step=1; drop step= or log=True.")
        if (self.high - self.low) % self.step:
            raise self._fail(
                f"high - low must be a multiple of step. Got low={low}, high={high}, step={step}."
            )

    def _spec(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log, "step": self.step}

    def _n(self) -> int:
        return (self.high - self.low) // self.step + 1

    def _edges(self) -> tuple[float, float]:
        lo, hi = self.low - 0.5 * self.step, self.high + 0.5 * self.step
        return (math.log(lo), math.log(hi)) if self.log else (lo, hi)

    def encode(self, value: Any) -> float:
        lo, hi = self._edges()
        x = math.log(value) if self.log else float(value)
        return (x - lo) / (hi - lo)

    def decode(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        lo, hi = self._edges()
        x = lo + u * (hi - lo)
        value = math.exp(x) if self.log else x
        k = round((value - self.low) / self.step)
        return int(self.low + min(max(k, 0), self._n() - 1) * self.step)

    def grid_values(self) -> list[Any]:
        return list(range(self.low, self.high + 1, self.step))

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            if not (isinstance(value, float) and value.is_integer()):
                return False
        v = int(value)
        return self.low <= v <= self.high and (v - self.low) % self.step == 0


# value types whose JSON text is determined by (type, value) and matches no other type's
_EXACT_TYPES = frozenset({str, int, bool, type(None)})


class Categorical(_Param):
    """One of a fixed list of choices: any hashable, JSON-able values (tuples included)."""

    kind = "Categorical"

    def __init__(self, choices: Iterable[Any], *, when: WhenSpec = None) -> None:
        self._label = f"Categorical({choices!r})"
        self.conditions = _parse_when(when)
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Iterable):
            raise self._fail(f"choices must be a list of values. Got {choices!r} instead.")
        self.choices = tuple(_freeze(c) for c in choices)
        if not self.choices:
            raise self._fail("choices must not be empty; list at least one value.")
        for c in self.choices:
            try:
                json.dumps(c)
                hash(c)
            except TypeError:
                raise self._fail(
                    f"choice {c!r} is not a JSON-able hashable value (use str, number, bool, "
                    "None or a tuple of those)."
                ) from None
        keys = [self._key(c) for c in self.choices]
        if len(set(keys)) != len(keys):
            raise self._fail(f"choices must be distinct. Got {list(self.choices)!r}.")

    @staticmethod
    def _key(value: Any) -> str:
        return json.dumps(value)  # distinguishes True from 1 and 1 from 1.0

    def _positions(self) -> tuple[dict[str, int], dict[tuple[type, Any], int]]:
        """Choice positions by :meth:`_key`, and by ``(type, value)`` for the choices of an
        exact type in :data:`_EXACT_TYPES`; built on first use (choices never change).

        Built lazily rather than in ``__init__`` so that an instance unpickled from before
        these tables existed works too.
        """
        tables = self.__dict__.get("_positions_by")
        if tables is None:
            by_key = {self._key(c): i for i, c in enumerate(self.choices)}
            exact = {(type(c), c): i for i, c in enumerate(self.choices) if type(c) in _EXACT_TYPES}
            tables = self.__dict__["_positions_by"] = (by_key, exact)
        return tables

    def index(self, value: Any) -> int:
        """Position of ``value`` among the choices, matched by JSON text (so ``True``, ``1``
        and ``1.0`` stay distinct).

        A ``str``, ``int``, ``bool`` or ``None`` (exact types) is looked up by type and value:
        for these, equal JSON text means same type and equal value, and their text never
        equals that of a float or a tuple. Anything else: one ``json.dumps`` and a lookup.

        Raises:
            ValueError: ``value`` is no choice (or cannot be serialized: circular).
            TypeError: ``value`` is not JSON-able.
        """
        by_key, exact = self._positions()
        kind = type(value)
        if kind in _EXACT_TYPES:
            i = exact.get((kind, value))
        else:
            i = by_key.get(self._key(_freeze(value)))
        if i is None:
            raise ValueError(f"{value!r} is not a choice of '{self.name}'")
        return i

    def _spec(self) -> dict[str, Any]:
        return {"choices": [list(c) if isinstance(c, tuple) else c for c in self.choices]}

    def encode(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def decode(self, u: float) -> Any:
        i = int(min(max(float(u), 0.0), 1.0) * len(self.choices))
        return self.choices[min(i, len(self.choices) - 1)]

    def grid_values(self) -> list[Any]:
        return list(self.choices)

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
            return True
        except (ValueError, TypeError):
            return False


Param = Union[Float, Int, Categorical]  # noqa: UP007 (runtime alias)
_KINDS: dict[str, Any] = {"Float": Float, "Int": Int, "Categorical": Categorical}


class SearchSpace(Mapping[str, _Param]):
    """An ordered, validated mapping of parameter names to parameters.

    Parents of conditional parameters must be defined before their children, so
    that sampling and grid expansion can walk the names in order.
    """

    def __init__(self, params: Mapping[str, Any]) -> None:
        if isinstance(params, SearchSpace):
            params = params._params
        if not isinstance(params, Mapping) or not params:
            raise InvalidSpaceError(
                "space must be a non-empty dict of name -> Float/Int/Categorical."
                f" Got {params!r} instead."
            )
        self._params: dict[str, _Param] = {}
        for name, p in params.items():
            if not isinstance(name, str) or not name:
                raise InvalidSpaceError(f"Parameter names must be non-empty strings. Got {name!r}.")
            if not isinstance(p, _Param):
                raise InvalidSpaceError(
                    f"Parameter '{name}': expected Float, Int or Categorical from hpo.space. "
                    f"Got {type(p).__name__} ({p!r}) instead."
                )
            if p.name not in (None, name):  # the same object reused under two names
                p = type(p).__new__(type(p))
                p.__dict__.update(params[name].__dict__)
            p.name = name
            for c in p.conditions:
                if c.parent == name:
                    raise InvalidSpaceError(f"Parameter '{name}' cannot depend on itself.")
                if c.parent not in self._params:
                    fix = (
                        f"define '{c.parent}' before '{name}'"
                        if c.parent in params
                        else f"'{c.parent}' is not in the space; add it or fix the name"
                    )
                    raise InvalidSpaceError(f"Parameter '{name}' depends on '{c.parent}': {fix}.")
            self._params[name] = p

    # Mapping protocol
    def __getitem__(self, name: str) -> _Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        return "SearchSpace({" + ", ".join(f"{k!r}: {v!r}" for k, v in self.items()) + "})"

    @property
    def names(self) -> list[str]:
        return list(self._params)

    # Encoding
    def decode(self, u: Sequence[float] | NDArray[np.float64]) -> dict[str, Any]:
        """Unit-cube point ``u: (d,)`` -> params dict holding only the active parameters."""
        params: dict[str, Any] = {}
        for (name, p), x in zip(self._params.items(), u, strict=True):
            if p.is_active(params):
                params[name] = p.decode(float(x))
        return params

    def encode(self, params: Mapping[str, Any]) -> NDArray[np.float64]:
        """Params dict -> ``(d,)`` unit-cube point; inactive parameters become ``NaN``."""
        out = np.full(len(self), np.nan)
        for i, (name, p) in enumerate(self._params.items()):
            if name in params:
                out[i] = p.encode(params[name])
        return out

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One point drawn uniformly on the unit-cube encoding."""
        return self.decode(rng.random(len(self)))

    # Grid
    def grid(self) -> list[dict[str, Any]]:
        """Every combination of grid values, in a fixed order; inactive branches do not multiply."""
        points: list[dict[str, Any]] = [{}]
        for name, p in self._params.items():
            values = p.grid_values()
            nxt: list[dict[str, Any]] = []
            for point in points:
                if p.is_active(point):
                    nxt.extend({**point, name: v} for v in values)
                else:
                    nxt.append(point)
            if len(nxt) > MAX_GRID_POINTS:
                raise InvalidSpaceError(
                    f"The grid has more than {MAX_GRID_POINTS:,} points by parameter '{name}'; "
                    "use coarser steps or RandomSampler."
                )
            points = nxt
        return points

    # Validation
    def validate_params(
        self, params: Mapping[str, Any], *, field: str = "params"
    ) -> dict[str, Any]:
        """Check a user-given params dict (enqueue, tell) and return it normalized."""
        unknown = sorted(set(params) - set(self._params))
        if unknown:
            raise InvalidSpaceError(
                f"{field} has unknown parameter(s) {unknown}; the space defines {self.names}."
            )
        out: dict[str, Any] = {}
        for name, p in self._params.items():
            active = p.is_active(out)
            if active and name not in params:
                raise InvalidSpaceError(f"{field} is missing the active parameter '{name}'.")
            if not active:
                continue  # an inactive value is dropped rather than stored
            value = _freeze(params[name])
            if not p.contains(value):
                raise InvalidSpaceError(
                    f"{field}['{name}'] = {value!r} is outside {p!r}; give a value inside it."
                )
            if isinstance(p, Int):
                value = int(value)
            elif isinstance(p, Float):
                value = float(value)
            elif isinstance(p, Categorical):
                value = p.choices[p.index(value)]
            out[name] = value
        return out

    # Serialization
    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: p.to_dict() for name, p in self._params.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, spec: Mapping[str, Mapping[str, Any]]) -> SearchSpace:
        params: dict[str, _Param] = {}
        for name, raw in spec.items():
            raw = dict(raw)
            kind = raw.pop("type", None)
            if kind not in _KINDS:
                raise InvalidSpaceError(
                    f"Parameter '{name}' has unknown type {kind!r}; use one of {sorted(_KINDS)}."
                )
            when = raw.pop("when", None)
            when_conds = [Condition(*c) for c in when] if when else None
            raw = {k: v for k, v in raw.items() if v is not None}
            if kind == "Categorical":
                params[name] = Categorical(raw["choices"], when=when_conds)
            else:
                params[name] = _KINDS[kind](**raw, when=when_conds)
        return cls(params)


def normalize_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params read back from JSON: lists become tuples again (tuple choices survive storage)."""
    return {k: _freeze(v) for k, v in params.items()}
