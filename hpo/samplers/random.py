"""Random search: uniform, Sobol or Latin-hypercube points on the unit-cube encoding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from hpo.errors import ConfigError
from hpo.samplers.base import Direction, Sampler
from hpo.samplers.sobol import sobol_points
from hpo.space import SearchSpace
from hpo.trial import FrozenTrial

Method = Literal["uniform", "sobol", "lhs"]


class RandomSampler(Sampler):
    """Independent random configurations; reproducible from (seed, trial number).

    Args:
        method: ``"uniform"`` (i.i.d.), ``"sobol"`` (scrambled Sobol sequence, point
            ``number`` of it) or ``"lhs"`` (Latin hypercubes of ``block`` points each).
        seed: the seed; the same seed replays the same sequence.
        block: points per Latin hypercube (``method="lhs"`` only).
    """

    name = "random"
    uses_history = False

    def __init__(
        self, *, method: Method = "uniform", seed: int | None = None, block: int = 16
    ) -> None:
        super().__init__(seed=seed)
        if method not in ("uniform", "sobol", "lhs"):
            raise ConfigError(
                f"The 'method' parameter of RandomSampler must be 'uniform', 'sobol' or 'lhs'. "
                f"Got {method!r} instead."
            )
        if not isinstance(block, int) or block < 2:
            raise ConfigError(
                f"The 'block' parameter of RandomSampler must be an int >= 2. Got {block!r}."
            )
        self.method = method
        self.block = block

    def config(self) -> dict[str, Any]:
        return {"method": self.method, "seed": self.seed, "block": self.block}

    def ask(
        self,
        space: SearchSpace,
        history: Sequence[FrozenTrial],
        pending: Sequence[FrozenTrial],
        rng: np.random.Generator,
        direction: Direction = "minimize",
        *,
        number: int | None = None,
    ) -> dict[str, Any]:
        if self.method == "uniform" or number is None:
            return space.sample(rng)
        return space.decode(self.unit_point(len(space), number))

    def unit_point(self, d: int, number: int) -> np.ndarray:
        """Point ``number`` of the quasi-random sequence: ``(d,)`` in the unit cube."""
        seed = int(self.seed or 0)
        if self.method == "sobol":
            return sobol_points(d, seed, number)[0]
        from scipy.stats import qmc  # imported here: scipy.stats costs ~0.6 s at start-up

        block, row = divmod(number, self.block)
        lhs = qmc.LatinHypercube(d, seed=np.random.default_rng([seed, block]))
        return lhs.random(self.block)[row]
