"""The declarative parameter checks every component shares."""

from __future__ import annotations

import numpy as np
import pytest

from hpo.errors import ConfigError
from hpo.validation import Constraint, Interval, Options, Predicate, check_param, describe, validate

SPEC: dict[str, list[Constraint]] = {
    "patience": [Interval(int, 1, None)],
    "min_delta": [Interval(float, 0, None)],
    "fraction": [Interval(float, 0, 1, closed="left")],
    "cv": [None, Interval(int, 2, None)],
    "acquisition": [Options({"ei", "ucb", "pi"})],
    "flag": [bool],
    "mapping": [Predicate(lambda v: isinstance(v, dict), "a dict")],
}


@pytest.mark.parametrize(
    "name, value",
    [
        ("patience", 1),
        ("patience", np.int64(3)),
        ("min_delta", 0),
        ("min_delta", np.float32(0.5)),
        ("fraction", 0.0),
        ("fraction", 0.99),
        ("cv", None),
        ("cv", 5),
        ("acquisition", "ei"),
        ("flag", False),
        ("mapping", {}),
    ],
)
def test_accepts(name: str, value: object) -> None:
    validate(SPEC, {name: value}, owner="Thing")


@pytest.mark.parametrize(
    "name, value",
    [
        ("patience", 0),
        ("patience", 1.5),
        ("patience", True),
        ("patience", "3"),
        ("patience", None),
        ("min_delta", -1e-9),
        ("min_delta", float("nan")),
        ("min_delta", float("inf")),
        ("fraction", 1.0),
        ("cv", 1),
        ("acquisition", "EI"),
        ("acquisition", ["ei"]),
        ("flag", 1),
        ("mapping", []),
    ],
)
def test_refuses_naming_the_field_and_the_value(name: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"'{name}' parameter of Thing") as info:
        validate(SPEC, {name: value}, owner="Thing")
    assert repr(value) in str(info.value)


def test_message_keeps_the_sklearn_shape() -> None:
    with pytest.raises(ConfigError) as info:
        check_param("patience", 0, [Interval(int, 1, None)], owner="EarlyStopping")
    assert str(info.value) == (
        "The 'patience' parameter of EarlyStopping must be an int >= 1. Got 0 instead."
    )


def test_describe_joins_alternatives() -> None:
    assert describe([None, Interval(int, 2, None)]) == "None or an int >= 2"
    assert describe([Interval(float, 0, 1, closed="left")]) == "a float in [0, 1)"


def test_unknown_names_can_be_refused_with_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="'patiense'.*'patience'"):
        validate(SPEC, {"patiense": 3}, owner="Thing", unknown="raise")
    validate(SPEC, {"patiense": 3}, owner="Thing")  # ignored by default


def test_integral_floats_only_when_asked() -> None:
    assert not Interval(int, 1).is_satisfied_by(3.0)
    assert Interval(int, 1, integral_floats=True).is_satisfied_by(3.0)
