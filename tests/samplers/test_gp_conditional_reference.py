"""GP proposals on a conditional space are those of the per-row reference code.

The fast paths (``hpo.canonical.Canonicalizer``, ``encode_rows``, ``Categorical.index``'s
lookup table) are swapped for the definitions they replace, one row and one value at a
time through the parameter objects; every proposal must stay the same, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

import hpo.samplers.gp.sampler as gp_sampler
from benchmarks.gp_conditional_ask import history, make_sampler
from hpo.samplers.base import seed_sequence
from hpo.space import Categorical, SearchSpace
from tests.core.categorical_scan import index_by_scan


class _PerRow:
    """The reference canonicalization: ``encode(decode(u))`` one row at a time."""

    rows = 0  # rows canonicalized by the reference, over all instances

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def __call__(self, U: NDArray[np.float64]) -> NDArray[np.float64]:
        _PerRow.rows += len(np.atleast_2d(U))
        return np.array([self.space.encode(self.space.decode(u)) for u in np.atleast_2d(U)])


def _encode_each(space: SearchSpace, params: list[dict[str, Any]]) -> NDArray[np.float64]:
    return np.array([space.encode(q) for q in params]).reshape(len(params), len(space))


def _proposals(name: str, n: int) -> list[tuple[dict[str, Any], str]]:
    """Two proposals (params, phase) on :func:`history`'s conditional space."""
    space, hist = history(n, multi_fidelity=name != "gp")
    sampler = make_sampler(name)
    asks = [sampler.ask(space, hist, [], seed_sequence(0, n, r), "maximize") for r in range(2)]
    return [(a.params, a.info["phase"]) for a in asks]


@pytest.mark.parametrize(("name", "n"), [("gp", 12), ("mf-gp", 24)])
def test_proposals_equal_those_of_the_per_row_reference(
    name: str, n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _proposals(name, n)
    monkeypatch.setattr(gp_sampler, "Canonicalizer", _PerRow)
    monkeypatch.setattr(gp_sampler, "encode_rows", _encode_each)
    monkeypatch.setattr(Categorical, "index", index_by_scan)
    reference = _proposals(name, n)
    assert _PerRow.rows > 1000  # the reference did the acquisition search's work
    assert fast == reference
    assert {phase for _, phase in fast} == {"gp" if name == "gp" else "mf-gp"}
