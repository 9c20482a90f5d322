"""One declarative way to check parameters, after scikit-learn's ``_param_validation``.

A component lists its constraints once, as data, and calls :func:`validate`::

    _CONSTRAINTS = {
        "patience": [Interval(int, 1, None)],
        "min_delta": [Interval(float, 0, None)],
        "cv": [None, Interval(int, 2, None)],
        "acquisition": [Options({"ei", "ucb", "pi"})],
    }
    validate(_CONSTRAINTS, {"patience": 0, ...}, owner="EarlyStopping")
    # ConfigError: The 'patience' parameter of EarlyStopping must be an int >= 1. Got 0 instead.

Every message has that one shape: the field, its owner, what is expected, what was
given. Numbers may be Python or numpy scalars (``np.int64(3)`` is an int); bools are
never numbers; floats must be finite unless the interval says otherwise.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hpo.errors import ConfigError, HPOError

__all__ = [
    "Interval",
    "Options",
    "Predicate",
    "Constraint",
    "describe",
    "is_satisfied",
    "validate",
    "check_param",
    "check_names",
]


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"


@dataclass(frozen=True)
class Interval:
    """A number of ``kind`` in [low, high] (``closed`` says which ends are included).

    ``kind=int`` accepts integral numbers only (``3``, ``np.int64(3)``; ``3.0`` too when
    ``integral_floats`` is set); ``kind=float`` accepts any real number.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    closed: Literal["both", "left", "right", "neither"] = "both"
    integral_floats: bool = False
    allow_inf: bool = False

    def is_satisfied_by(self, value: Any) -> bool:
        if _is_bool(value) or not isinstance(value, numbers.Real):
            return False
        if self.kind is int:
            if isinstance(value, numbers.Integral):
                pass
            elif not (self.integral_floats and math.isfinite(value) and float(value).is_integer()):
                return False
        v = float(value)
        if math.isnan(v) or (math.isinf(v) and not self.allow_inf):
            return False
        if self.low is not None and (
            v < self.low or (v == self.low and self.closed in ("right", "neither"))
        ):
            return False
        return not (
            self.high is not None
            and (v > self.high or (v == self.high and self.closed in ("left", "neither")))
        )

    def _num(self, bound: float) -> str:
        """``2147483647`` for an int bound (not ``2.14748e+09``), ``0.1`` for a float one."""
        return str(int(bound)) if self.kind is int and float(bound).is_integer() else f"{bound:g}"

    def __str__(self) -> str:
        noun = "an int" if self.kind is int else "a float"
        lo_in = self.closed in ("both", "left")
        hi_in = self.closed in ("both", "right")
        if self.low is not None and self.high is not None:
            return (
                f"{noun} in {'[' if lo_in else '('}{self._num(self.low)}, "
                f"{self._num(self.high)}{']' if hi_in else ')'}"
            )
        if self.low is not None:
            return f"{noun} {'>=' if lo_in else '>'} {self._num(self.low)}"
        if self.high is not None:
            return f"{noun} {'<=' if hi_in else '<'} {self._num(self.high)}"
        return noun


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (strings, usually)."""

    values: frozenset[Any]

    def __init__(self, values: Iterable[Any]) -> None:
        object.__setattr__(self, "values", frozenset(values))

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return value in self.values and not _is_bool(value)
        except TypeError:  # unhashable
            return False

    def __str__(self) -> str:
        shown = sorted(self.values, key=str)
        kind = "a str" if all(isinstance(v, str) for v in shown) else "one"
        return f"{kind} among {shown}"


@dataclass(frozen=True)
class Predicate:
    """Anything a function accepts, described in words (``Predicate(callable, "a mapping")``)."""

    test: Callable[[Any], bool]
    description: str

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return bool(self.test(value))
        except Exception:  # a predicate that cannot judge a value rejects it
            return False

    def __str__(self) -> str:
        return self.description


def _type_constraint(kind: type) -> Predicate:
    names = {bool: "a bool", str: "a str", dict: "a dict", list: "a list"}
    if kind is bool:
        return Predicate(_is_bool, "a bool")
    return Predicate(
        lambda v: isinstance(v, kind) and not (_is_bool(v) and kind is not bool),
        names.get(kind, f"an instance of {kind.__name__}"),
    )


Constraint = Interval | Options | Predicate | type | None


def _as_constraint(c: Constraint) -> Interval | Options | Predicate:
    if c is None:
        return Predicate(lambda v: v is None, "None")
    if isinstance(c, type):
        return _type_constraint(c)
    return c


def is_satisfied(constraints: Iterable[Constraint], value: Any) -> bool:
    """Whether ``value`` meets at least one of ``constraints``."""
    return any(_as_constraint(c).is_satisfied_by(value) for c in constraints)


def describe(constraints: Iterable[Constraint]) -> str:
    """``"None or an int >= 2"``: the constraints joined as the message says them."""
    parts = [str(_as_constraint(c)) for c in constraints]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def check_param(
    name: str,
    value: Any,
    constraints: Iterable[Constraint],
    *,
    owner: str,
    error: type[HPOError] = ConfigError,
) -> None:
    """Raise ``error`` (:class:`ConfigError` unless told) unless ``value`` meets a constraint.

    ``constraints``: the alternatives; meeting any one of them is enough.
    """
    constraints = list(constraints)
    if not is_satisfied(constraints, value):
        raise error(
            f"The {name!r} parameter of {owner} must be {describe(constraints)}. "
            f"Got {value!r} instead."
        )


def check_names(params: Iterable[str], valid: Iterable[str], *, owner: str, note: str = "") -> None:
    """Refuse a name that is not among ``valid``, listing the valid ones (``note`` adds a hint).

    Raises:
        ConfigError: "Unknown parameter 'lrr' of Owner; valid parameters are [...]."
    """
    known = set(valid)
    extra = sorted(str(name) for name in params if name not in known)
    if extra:
        raise ConfigError(
            f"Unknown parameter {extra[0]!r} of {owner}; valid parameters are "
            f"{sorted(known)}{note}."
        )


def validate(
    spec: Mapping[str, Iterable[Constraint]],
    params: Mapping[str, Any],
    *,
    owner: str,
    unknown: Literal["raise", "ignore"] = "ignore",
    error: type[HPOError] = ConfigError,
) -> None:
    """Check every parameter of ``params`` that ``spec`` constrains.

    Args:
        spec: parameter name -> the constraints it may meet (any one suffices).
        params: the values to check; names ``spec`` lacks are ignored, or refused with
            ``unknown="raise"`` (a misspelled option then fails with the valid names).
        owner: the class or function the parameters belong to, for the message.
        error: the exception class to raise (``InvalidSpaceError`` for search spaces).

    Raises:
        ConfigError: (or ``error``) naming the first parameter that meets none of its
            constraints.
    """
    if unknown == "raise":
        check_names(params, spec, owner=owner)
    for name, constraints in spec.items():
        if name in params:
            check_param(name, params[name], constraints, owner=owner, error=error)
