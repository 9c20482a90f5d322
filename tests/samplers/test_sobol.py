"""The cached Sobol blocks give exactly the points a fresh scipy engine gives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

from hpo.samplers.sobol import BLOCK, sobol_points


def _fresh(d: int, seed: int, start: int, count: int) -> np.ndarray:
    engine = qmc.Sobol(d, scramble=True, seed=seed)
    if start:
        engine.fast_forward(start)
    return engine.random(count)


@pytest.mark.parametrize("d, seed", [(1, 0), (6, 0), (11, 123), (3, 2**62)])
@pytest.mark.parametrize(
    "start, count",
    [(0, 1), (5, 64), (BLOCK - 1, 1), (BLOCK - 10, 64), (BLOCK, 3), (2 * BLOCK + 7, 1)],
)
def test_points_equal_a_fresh_engine_bit_for_bit(d: int, seed: int, start: int, count: int) -> None:
    got = sobol_points(d, seed, start, count)
    assert got.shape == (count, d)
    assert np.array_equal(got, _fresh(d, seed, start, count))


def test_points_are_read_only_so_the_cache_cannot_be_corrupted() -> None:
    for start, count in ((0, 4), (BLOCK - 2, 4)):  # within one block, and across two
        points = sobol_points(4, 7, start, count)
        with pytest.raises(ValueError):
            points[0, 0] = 0.5
    assert np.array_equal(sobol_points(4, 7, 0, 4), _fresh(4, 7, 0, 4))


@pytest.mark.parametrize("d, start, count", [(0, 0, 1), (2, -1, 1), (2, 0, 0)])
def test_bad_arguments_are_refused(d: int, start: int, count: int) -> None:
    with pytest.raises(ValueError, match="sobol_points"):
        sobol_points(d, 0, start, count)
