"""Search space: validation messages, unit-cube round trips, conditional grids, serialization."""

from __future__ import annotations

import enum
import pickle
import re
from collections.abc import Callable
from functools import partial

import numpy as np
import pytest

from hpo.errors import InvalidSpaceError
from hpo.space import Categorical, Float, Int, SearchSpace
from tests.core.categorical_scan import index_by_scan


def space() -> SearchSpace:
    return SearchSpace(
        {
            "n_layers": Int(1, 3),
            "units_3": Int(16, 256, log=True, when=("n_layers", ">=", 3)),
            "activation": Categorical(["relu", "tanh"]),
            "hidden": Categorical([(64,), (64, 64)]),
            "lr": Float(1e-4, 1e-1, log=True),
            "dropout": Float(0.0, 0.5, step=0.1),
        }
    )


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: Float(1.0, 0.0),
            "Float(low=1.0, high=0.0): low must be <= high. Got low=1.0, high=0.0; swap them.",
        ),
        (
            lambda: Float(0.0, 1.0, log=True),
            "Float(low=0.0, high=1.0, log=True): log=True needs low > 0. Got low=0.0; use a "
            "positive low or log=False.",
        ),
        (lambda: Int(0, 10, log=True), "log=True needs low > 0"),
        (lambda: Categorical([]), "choices must not be empty; list at least one value."),
        (lambda: Categorical([1, 1]), "choices must be distinct"),
        (lambda: Categorical([[1], {"a": 1}]), "is not a JSON-able hashable value"),
        (lambda: Float(0.0, 1.0, step=0.3), "high - low must be a multiple of step"),
        (lambda: Float(1e-3, 1.0, log=True, step=0.1), "cannot be combined"),
        (
            lambda: Int(1.5, 3),  # type: ignore[arg-type]
            "'low' parameter of Int(low=1.5, high=3) must be an int. Got 1.5 instead.",
        ),
        (
            lambda: Float("a", 1),  # type: ignore[arg-type]
            "'low' parameter of Float(low='a', high=1) must be a float. Got 'a' instead.",
        ),
        (
            lambda: Float(0, float("inf")),
            "'high' parameter of Float(low=0, high=inf) must be a float. Got inf instead.",
        ),
        (lambda: Float(0, 1, grid=[2.0]), "grid points [2.0] lie outside [0, 1]"),
    ],
)
def test_invalid_parameters_fail_at_definition(make, message):
    with pytest.raises(InvalidSpaceError, match=re.escape(message)):
        make()


def test_space_errors_name_the_parameter():
    with pytest.raises(
        InvalidSpaceError, match=re.escape("Parameter 'b': expected Float, Int or Categorical")
    ):
        SearchSpace({"a": Float(0, 1), "b": (0, 1)})
    with pytest.raises(
        InvalidSpaceError,
        match=re.escape("Parameter 'b' depends on 'zz': 'zz' is not in the space"),
    ):
        SearchSpace({"a": Float(0, 1), "b": Int(1, 2, when=("zz", "==", 1))})
    with pytest.raises(InvalidSpaceError, match=re.escape("define 'a' before 'b'")):
        SearchSpace({"b": Int(1, 2, when=("a", "==", 1)), "a": Int(1, 2)})
    with pytest.raises(InvalidSpaceError, match="non-empty dict"):
        SearchSpace({})


def test_decode_encode_round_trip_and_types():
    s = space()
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = s.sample(rng)
        assert s.decode(s.encode(p)) == p
        assert isinstance(p["n_layers"], int) and 1 <= p["n_layers"] <= 3
        assert 1e-4 <= p["lr"] <= 1e-1
        assert round(p["dropout"] * 10) == pytest.approx(p["dropout"] * 10)
        assert isinstance(p["hidden"], tuple)
        assert ("units_3" in p) == (p["n_layers"] >= 3)
        assert np.isnan(s.encode(p)[1]) == (p["n_layers"] < 3)


def test_log_scale_and_int_buckets_are_uniform_on_the_cube():
    lr = Float(1e-4, 1e-0, log=True)
    assert lr.decode(0.5) == pytest.approx(1e-2)
    counts = np.bincount([Int(1, 4).decode(u) for u in np.linspace(0, 1, 4001)])[1:]
    assert counts.min() / counts.max() > 0.99


def test_grid_respects_conditions_and_steps():
    s = SearchSpace(
        {"a": Int(1, 3), "b": Float(0, 1, step=0.5, when={"a": [2]}), "c": Categorical(["x", "y"])}
    )
    grid = s.grid()
    assert len(grid) == 2 + 3 * 2 + 2  # a=1: 2, a=2: 3 b-values x 2, a=3: 2
    assert len({tuple(sorted(p.items())) for p in grid}) == len(grid)
    assert all(("b" in p) == (p["a"] == 2) for p in grid)


def test_continuous_float_has_no_grid():
    with pytest.raises(
        InvalidSpaceError,
        match=re.escape(
            "Float parameter 'x': a continuous Float has no finite grid; give step= or grid=[...]."
        ),
    ):
        SearchSpace({"x": Float(0, 1)}).grid()
    assert SearchSpace({"x": Float(0, 1, grid=[0.1, 0.5])}).grid() == [{"x": 0.1}, {"x": 0.5}]


def test_serialization_round_trip_and_equality():
    s = space()
    again = SearchSpace.from_dict(s.to_dict())
    assert again == s
    assert SearchSpace.from_dict({**s.to_dict(), "lr": Float(1e-4, 1e-2, log=True).to_dict()}) != s
    with pytest.raises(InvalidSpaceError, match="unknown type 'Foo'"):
        SearchSpace.from_dict({"x": {"type": "Foo"}})


def test_validate_params_for_enqueue():
    s = space()
    ok = s.validate_params(
        {
            "n_layers": 3,
            "units_3": 32,
            "activation": "relu",
            "hidden": [64, 64],
            "lr": 0.01,
            "dropout": 0.2,
        }
    )
    assert ok["hidden"] == (64, 64)
    inactive_dropped = s.validate_params(
        {
            "n_layers": 1,
            "units_3": 32,
            "activation": "relu",
            "hidden": (64,),
            "lr": 0.01,
            "dropout": 0.2,
        }
    )
    assert "units_3" not in inactive_dropped
    with pytest.raises(
        InvalidSpaceError, match=re.escape("params is missing the active parameter 'units_3'")
    ):
        s.validate_params(
            {"n_layers": 3, "activation": "relu", "hidden": (64,), "lr": 0.01, "dropout": 0.2}
        )
    with pytest.raises(InvalidSpaceError, match=re.escape("params['lr'] = 5.0 is outside")):
        s.validate_params(
            {"n_layers": 1, "activation": "relu", "hidden": (64,), "lr": 5.0, "dropout": 0.2}
        )
    with pytest.raises(InvalidSpaceError, match="unknown parameter"):
        s.validate_params({"bogus": 1})


def test_categorical_keeps_bool_and_int_apart():
    c = SearchSpace({"c": Categorical([True, 1, "1"])})["c"]
    assert [c.index(v) for v in (True, 1, "1")] == [0, 1, 2]


class _Size(enum.IntEnum):  # an int subclass: not looked up by exact type
    TWO = 2


def _outcome(fn: Callable[[], int]) -> int | type[Exception]:
    try:
        return fn()
    except (ValueError, TypeError) as e:
        return type(e)


@pytest.mark.parametrize(
    "choices",
    [
        [True, 1, "1"],
        [False, 0, 0.0, None],
        [1.0, 2, "2.0", -0.0],
        [(64,), (64, 64), "64"],
        ["relu", "gelu", "tanh"],
        [float("inf"), 10**20, 1e20],
        ["a\u00e9", "\ud800", "", "null", "true", "1"],
        [None, "None", (None,), 2**70, -(2**70)],
    ],
)
def test_categorical_index_matches_the_scan_of_choices(choices: list[object]) -> None:
    c = SearchSpace({"c": Categorical(choices)})["c"]
    assert isinstance(c, Categorical)
    probes: list[object] = [
        *choices, True, False, 1, 1.0, 0, 0.0, -0.0, "1", None, (64,), [64, 64], [[64]],
        float("nan"), float("inf"), 10**20, 1e20, np.int64(1), {1}, {"a": 1}, "relu", b"x",
        "a\u00e9", "\ud800", "", "null", "true", "None", (None,), [None], 2**70, -(2**70),
        _Size.TWO,
    ]  # fmt: skip
    for v in probes:
        expected = _outcome(partial(index_by_scan, c, v))
        assert _outcome(partial(c.index, v)) == expected, v
        assert c.contains(v) == isinstance(expected, int)


def test_categorical_index_on_an_instance_without_its_table() -> None:
    c = Categorical(["a", "b"])
    assert c.index("a") == 0  # builds the table
    restored = pickle.loads(pickle.dumps(c))
    restored.__dict__.pop("_positions_by", None)  # as unpickled from before the table existed
    assert restored.index("b") == 1
