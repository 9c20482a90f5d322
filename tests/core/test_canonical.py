"""hpo.canonical.canonicalize is the per-row ``encode(decode(u))``, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from benchmarks.ttq_tasks import SKLEARN_SPACE, TORCH_SPACE
from hpo.canonical import Canonicalizer, canonicalize, encode_rows
from hpo.space import Categorical, Float, Int, SearchSpace


def per_row(space: SearchSpace, U: NDArray[np.float64]) -> NDArray[np.float64]:
    """The reference: one row at a time through the parameter objects."""
    return np.array([space.encode(space.decode(u)) for u in U])


MIXED = SearchSpace(
    {
        "n_layers": Int(1, 4),
        "width": Int(8, 1024, log=True),
        "width_2": Int(8, 1024, log=True, when=("n_layers", ">=", 2)),
        "depth_step": Int(0, 30, step=3, when=("n_layers", "in", [3, 4])),
        "lr": Float(1e-5, 1.0, log=True),
        "dropout": Float(0.0, 0.5, step=0.05),
        "fixed": Float(2.0, 2.0),
        "opt": Categorical(["adam", "sgd", ("rms", 0.9), None]),
        "momentum": Float(0.5, 0.99, when={"opt": ["sgd", ("rms", 0.9)]}),
        "nesterov": Categorical([True, False], when=("opt", "==", "sgd")),
        "nest_lr": Float(1e-3, 10.0, log=True, when=("nesterov", "==", True)),
        "cut": Float(0.0, 1.0),
        "above_cut": Int(1, 5, when=("cut", ">", 0.5)),
        "big": Int(-(10**6), 10**6),
    }
)


@pytest.mark.parametrize("space", [MIXED, TORCH_SPACE, SKLEARN_SPACE], ids=["mixed", "torch", "sk"])
def test_same_matrix_as_encode_of_decode_row_by_row(space: SearchSpace) -> None:
    rng = np.random.default_rng(7)
    U = rng.random((3000, len(space)))
    U[:200] = rng.choice([0.0, 1.0, 0.5, 1e-17, 1 - 1e-16], size=(200, len(space)))  # edges
    U[200:400] *= 1.3  # outside the cube: clipped, as decode does
    U[200:400] -= 0.15
    want = per_row(space, U)
    got = canonicalize(space, U)
    assert got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(got.view(np.int64), want.view(np.int64))  # bit for bit, NaN included
    assert np.isnan(want).any() and not np.isnan(want).all(axis=0).any()  # branches both ways


def test_bucket_edges_of_integers_and_categoricals_round_alike() -> None:
    space = SearchSpace(
        {"i": Int(1, 7), "j": Int(3, 300, log=True), "c": Categorical(list("abcdefg"))}
    )
    edges = np.unique(np.r_[np.arange(0, 8) / 7, np.arange(0, 300) / 299])
    U = np.stack(
        [
            np.nextafter(edges, 2),
            np.nextafter(edges, -1).clip(0),
            edges,
        ]
    ).reshape(-1)[:, None] * np.ones((1, 3))
    assert np.array_equal(canonicalize(space, U), per_row(space, U))


def test_a_single_row_and_a_wrong_width() -> None:
    u = np.full(len(MIXED), 0.7)
    assert np.array_equal(canonicalize(MIXED, u), per_row(MIXED, u[None]), equal_nan=True)
    with pytest.raises(ValueError, match="coordinates"):
        canonicalize(MIXED, np.zeros((2, 3)))


@pytest.mark.parametrize("space", [MIXED, TORCH_SPACE, SKLEARN_SPACE], ids=["mixed", "torch", "sk"])
def test_encode_rows_is_encode_row_by_row(space: SearchSpace) -> None:
    rng = np.random.default_rng(11)
    U = rng.random((2000, len(space)))
    U[:200] = rng.choice([0.0, 1.0, 0.5, 1e-17, 1 - 1e-16], size=(200, len(space)))
    params = [space.decode(u) for u in U]  # conditional spaces: dicts of different keys
    want = np.array([space.encode(q) for q in params])
    got = encode_rows(space, params)
    assert np.array_equal(got.view(np.int64), want.view(np.int64))  # bit for bit, NaN included
    assert np.isnan(want).any() == any(p.conditions for p in space.values())


def test_encode_rows_raises_where_encode_does() -> None:
    space = SearchSpace({"x": Float(1e-3, 1.0, log=True), "c": Categorical(["a", "b"])})
    for bad in ({"x": -1.0, "c": "a"}, {"x": 0.5, "c": "z"}, {"x": None, "c": "a"}):
        with pytest.raises((ValueError, TypeError)):
            space.encode(bad)
        with pytest.raises((ValueError, TypeError)):
            encode_rows(space, [{"x": 0.5, "c": "b"}, bad])
    assert encode_rows(space, []).shape == (0, 2)


HUGE_PARENT = SearchSpace(
    {
        "big": Int(0, 7_000_000, step=7),
        "when_big": Float(0.0, 1.0, when=("big", ">", 3_500_000)),
        "tiny": Int(1, 3),
        "when_tiny": Int(2, 64, log=True, when={"tiny": [1, 3]}),
    }
)


def test_one_canonicalizer_called_again_and_again_is_the_per_row_reference() -> None:
    # its tables are built once: a huge Int parent (no table) and a small one (a table)
    for space in (MIXED, HUGE_PARENT):
        canon = Canonicalizer(space)
        rng = np.random.default_rng(3)
        for m in (1, 5, 400):
            U = rng.random((m, len(space)))
            want = per_row(space, U)
            assert np.array_equal(canon(U).view(np.int64), want.view(np.int64))
        assert np.isnan(want).any() and not np.isnan(want).all()
