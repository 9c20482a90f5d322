"""Exhaustive grid search that never repeats or skips a point, however many workers share it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hpo.errors import SearchSpaceExhausted
from hpo.samplers.base import Direction, Proposal, Sampler
from hpo.space import SearchSpace
from hpo.trial import FrozenTrial


class GridSampler(Sampler):
    """Walks the grid of the study's space (see ``SearchSpace.grid``) in order.

    Progress is never kept in memory: the next point is the first grid index that
    no stored trial (in any state) holds. The database's unique index on
    (study, grid point) settles races between workers.

    Args:
        shuffle: visit the points in a seeded random order instead of row-major order.
        seed: seed for ``shuffle``.
    """

    name = "grid"

    def __init__(self, *, shuffle: bool = False, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self.shuffle = shuffle
        self._cache: tuple[str, list[dict[str, Any]], np.ndarray] | None = None

    def config(self) -> dict[str, Any]:
        return {"shuffle": self.shuffle, "seed": self.seed}

    def points(self, space: SearchSpace) -> tuple[list[dict[str, Any]], np.ndarray]:
        """The grid and the order in which it is visited (cached per space)."""
        key = space.to_json()
        if self._cache is None or self._cache[0] != key:
            grid = space.grid()
            order = np.arange(len(grid))
            if self.shuffle:
                order = np.random.default_rng(self.seed or 0).permutation(len(grid))
            self._cache = (key, grid, order)
        return self._cache[1], self._cache[2]

    def ask(
        self,
        space: SearchSpace,
        history: Sequence[FrozenTrial],
        pending: Sequence[FrozenTrial],
        rng: np.random.Generator,
        direction: Direction = "minimize",
    ) -> Proposal:
        grid, order = self.points(space)
        taken = {t.grid_id for t in (*history, *pending) if t.grid_id is not None}
        for grid_id in order:
            if int(grid_id) not in taken:
                return Proposal(dict(grid[grid_id]), grid_id=int(grid_id))
        raise SearchSpaceExhausted(f"All {len(grid)} grid points have been proposed.")
