"""Which trials share a Hyperband bracket, as a test both Python and SQL evaluate alike.

Trial ``number`` of a pruner with ``seed`` sits at the golden-ratio point
``u = ((number + seed) * GOLDEN) % 1.0`` in [0, 1); a bracket is an interval of ``u``
(:class:`NumberSlice`). The test is a handful of IEEE double operations, each exact or
correctly rounded: the integer ``number + seed`` converted to a double (exact below 2**53,
else rounded to nearest), one product, its fractional part (exact for a positive double)
and two comparisons. SQLite and PostgreSQL do the same operations on the same doubles, so
the database selects a bracket's trials (``hpo/storage/_peers.py``) bit-for-bit as
:meth:`hpo.pruning.HyperbandPruner.bracket` does.

Since schema 5 each curve point also carries its trial's bracket (written by the reporter,
backfilled by the migration), so a pruning check counts a bracket's points over one index
range; the test on the number remains for points stored without one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
"""The golden ratio's fractional part: ``frac(n * GOLDEN)`` spreads consecutive trial
numbers evenly over [0, 1) (three-distance theorem)."""

MAX_SEED = 2**62
"""The largest seed a bracket test accepts: ``number + seed`` must fit the database's
64-bit integers (trial numbers are 32-bit) so SQL rounds it to a double as Python does."""


def golden_point(number: int, seed: int) -> float:
    """Trial ``number``'s point in [0, 1): the formula Hyperband's brackets have always used."""
    return ((int(number) + int(seed)) * GOLDEN) % 1.0


@dataclass(frozen=True)
class NumberSlice:
    """The trials whose golden point lies in ``[low, high)`` (None: unbounded on that side).

    What a Hyperband bracket is, as data a storage can turn into an SQL condition.
    """

    seed: int
    low: float | None
    high: float | None
    bracket: int | None = None
    """The bracket these trials' curve points carry (schema 5), when the slice is one:
    the database then counts the points marked with it instead of testing each number."""

    def contains(self, number: int) -> bool:
        """Whether trial ``number`` is in the slice (what the SQL condition computes)."""
        u = golden_point(number, self.seed)
        return (self.low is None or u >= self.low) and (self.high is None or u < self.high)
