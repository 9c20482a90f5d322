"""The sampler interface: a proposal is a pure function of (space, history, pending, rng).

Samplers keep no progress in memory. Everything they know about a study comes in
through their arguments, which is what lets a study resume, and many workers share
it, with no hidden sampler state. The study derives ``rng`` from the sampler's seed
and the number the new trial will get, so the same study replays the same proposals.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, cast

import numpy as np

from hpo.space import SearchSpace
from hpo.trial import FrozenTrial, Proposal

Direction = Literal["minimize", "maximize"]

__all__ = ["Direction", "Proposal", "Sampler", "ask_by_number", "seed_sequence"]


class Sampler(ABC):
    """Base class of every search strategy.

    Subclasses set ``name`` (the config alias), store constructor arguments verbatim,
    and implement :meth:`ask`. ``uses_history = False`` tells the study it may skip
    loading trials (random search does not look at them); such a sampler is asked through
    :func:`ask_by_number`, so its ``ask`` also takes the trial's ``number=`` keyword.
    """

    name: ClassVar[str] = ""
    uses_history: ClassVar[bool] = True

    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = seed

    @abstractmethod
    def ask(
        self,
        space: SearchSpace,
        history: Sequence[FrozenTrial],
        pending: Sequence[FrozenTrial],
        rng: np.random.Generator,
        direction: Direction = "minimize",
    ) -> Proposal | dict[str, Any]:
        """Propose the next configuration.

        Args:
            space: the study's search space.
            history: finished trials (COMPLETE, PRUNED, FAILED), oldest first.
            pending: RUNNING and WAITING trials (being evaluated by other workers).
            rng: the only source of randomness a sampler may use.
            direction: whether larger or smaller values are better.

        Returns:
            The params (only active parameters), or a :class:`Proposal`.

        Raises:
            SearchSpaceExhausted: a finite sampler has nothing left to propose.
        """

    def config(self) -> dict[str, Any]:
        """JSON-able arguments that rebuild this sampler (stored with the study)."""
        return {"seed": self.seed}

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, **self.config()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def seed_sequence(seed: int, number: int, attempt: int = 0) -> np.random.Generator:
    """The generator for trial ``number``: a pure function of (seed, number, attempt)."""
    return np.random.default_rng([int(seed) % (2**63), int(number), int(attempt)])


def ask_by_number(
    sampler: Sampler,
    space: SearchSpace,
    rng: np.random.Generator,
    direction: Direction,
    number: int,
) -> Proposal | dict[str, Any]:
    """Ask a sampler that ignores history (``uses_history = False``) for trial ``number``.

    It gets no trials, and the number the trial will get, which places its Sobol or Latin
    hypercube points: the same number always gets the same point, whichever worker asks.
    """
    ask = cast(Any, sampler.ask)  # the number= keyword is the history-free samplers' own
    return ask(space, [], [], rng, direction, number=number)  # type: ignore[no-any-return]
