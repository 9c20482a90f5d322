"""Stop hopeless trials from their learning curves: median stopping, successive halving
(ASHA) and Hyperband (ASHA in several brackets).

A pruner is a pure function of a trial's number, its curve and its peers' curves. The
reporter asks it after each ``report(step, value)`` (through :meth:`Pruner.prune_trial`);
``True`` ends the trial as PRUNED.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hpo.brackets import GOLDEN, MAX_SEED, NumberSlice
from hpo.errors import ConfigError
from hpo.validation import Constraint, Interval, check_names, validate

Curves = Mapping[int, Mapping[int, float]]


@dataclass(frozen=True)
class PeerStats:
    """What a rank-based pruner needs of its peers' finite values at one step.

    The database computes it (``Storage.peer_stats``), so a pruning check reads one row
    however many peers there are, instead of one row per peer; :meth:`of` computes the
    same from a curves mapping, so a pruner has one rule for both.
    """

    count: int
    """Peers with a finite value at the step."""
    better: int
    """Of those, how many are strictly better than the trial's ranked value (0 without one)."""
    middle: tuple[float, ...] = ()
    """The middle value (odd count) or two middle values (even count) of the peers' sorted
    values, when asked for; their mean is the median."""

    @classmethod
    def of(cls, values: list[float], than: float | None, maximize: bool, middle: bool) -> PeerStats:
        finite = sorted(v for v in values if math.isfinite(v))
        n = len(finite)
        better = 0 if than is None else sum((v > than) if maximize else (v < than) for v in finite)
        mid = tuple(finite[(n - 1) // 2 : n // 2 + 1]) if middle and n else ()
        return cls(n, better, mid)


class Pruner(ABC):
    """Decides from learning curves whether a running trial should stop."""

    name: ClassVar[str] = ""
    peer_states: ClassVar[tuple[str, ...]] = ("COMPLETE", "PRUNED")
    """Which trials' curves count as peers."""
    compares_at_step_only: ClassVar[bool] = True
    """Whether :meth:`prune` at ``step`` reads peers' values at that step only; then the
    storage reads one row per peer instead of whole curves. Set False to get whole curves."""

    @abstractmethod
    def prune(self, step: int, curve: Mapping[int, float], peers: Curves, maximize: bool) -> bool:
        """Whether to stop the trial whose curve (step -> value) reached ``step``.

        Args:
            step: the step just reported.
            curve: this trial's reported values so far.
            peers: other trials' curves (trial number -> step -> value).
            maximize: whether larger values are better.
        """

    def prune_trial(
        self, number: int, step: int, curve: Mapping[int, float], peers: Curves, maximize: bool
    ) -> bool:
        """:meth:`prune` for trial ``number``; pruners whose rule depends on the trial
        (Hyperband's bracket) override this, the others ignore the number."""
        return self.prune(step, curve, peers, maximize)

    ranks_at_step: ClassVar[bool] = False
    """True when the rule needs only :class:`PeerStats` at the step (a count, a rank and
    maybe the median): the reporter then asks the database for those, one row, instead
    of reading every peer's value (:meth:`ranked_value`, :meth:`decide`)."""
    needs_median: ClassVar[bool] = False

    def needs_middle(self, stats: PeerStats) -> bool:
        """Whether :meth:`decide` needs ``stats.middle`` (a second, sorting query) given the
        counts; the median rule needs it only when the counts leave the answer open."""
        return self.needs_median

    def ranked_value(self, step: int, curve: Mapping[int, float], maximize: bool) -> float | None:
        """The trial's value whose rank among the peers decides (None: no finite value)."""
        raise NotImplementedError

    def decide(
        self, step: int, curve: Mapping[int, float], stats: PeerStats, maximize: bool
    ) -> bool:
        """The rule of a ``ranks_at_step`` pruner, from the peers' stats at ``step``."""
        raise NotImplementedError

    def _prune_by_rank(
        self, step: int, curve: Mapping[int, float], peers: Curves, maximize: bool
    ) -> bool:
        """:meth:`prune` of a ``ranks_at_step`` pruner, from curves: the same rule."""
        than = self.ranked_value(step, curve, maximize)
        values = [c[step] for c in peers.values() if step in c]
        return self.decide(
            step, curve, PeerStats.of(values, than, maximize, self.needs_median), maximize
        )

    def wants_peers(self, step: int) -> bool:
        """False when the decision at ``step`` cannot need other trials (saves a query)."""
        return True

    def wants_peers_of(self, number: int, step: int) -> bool:
        """:meth:`wants_peers` for trial ``number``; Hyperband narrows it to the trial's bracket."""
        return self.wants_peers(step)

    def peers_among(self, number: int) -> NumberSlice | None:
        """Which trial numbers can be trial ``number``'s peers (None: all of them); the
        database applies it when it counts (Hyperband: the trial's bracket)."""
        return None

    def bracket_of(self, number: int) -> int | None:
        """The bracket stored on each curve point of trial ``number`` (None: the pruner has
        none), so a check counts one bracket's points over one index range (schema 5).
        A pure function of the number and the pruner's config, which a study never changes:
        the bracket of the slice :meth:`peers_among` gives, so the two cannot disagree."""
        among = self.peers_among(number)
        return among.bracket if among is not None else None

    def decide_trial(
        self, number: int, step: int, curve: Mapping[int, float], stats: PeerStats, maximize: bool
    ) -> bool:
        """:meth:`decide` for trial ``number``, whose ``stats`` count only the peers
        :meth:`peers_among` allows; pruners whose rule depends on the trial override it."""
        return self.decide(step, curve, stats, maximize)

    def at_full_budget(self, step: int) -> bool:
        """Whether ``step`` is the full budget this pruner knows of (its ``max_resource``).

        The reporter never prunes there, nor at the trial's own last step (``max_epochs``,
        declared with :func:`hpo.objective.declare_max_step`): a trial that trained to the
        end completes with its value instead of being thrown away.
        """
        return False

    def config(self) -> dict[str, Any]:
        return {}

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, **self.config()}


class NopPruner(Pruner):
    """Never prunes."""

    name = "none"

    def prune(self, step: int, curve: Mapping[int, float], peers: Curves, maximize: bool) -> bool:
        return False

    def wants_peers(self, step: int) -> bool:
        return False


class MedianPruner(Pruner):
    """Prune when the trial's best value so far is worse than earlier trials' median at that step.

    Args:
        n_startup_trials: never prune until this many trials have reported the step.
        n_warmup_steps: never prune before this step.
        interval_steps: check only every this many steps.
    """

    name = "median"

    _constraints: ClassVar[dict[str, list[Constraint]]] = {
        "n_startup_trials": [Interval(int, 0)],
        "n_warmup_steps": [Interval(int, 0)],
        "interval_steps": [Interval(int, 1)],
    }

    def __init__(
        self, n_startup_trials: int = 5, n_warmup_steps: int = 5, interval_steps: int = 1
    ) -> None:
        validate(self._constraints, locals(), owner="MedianPruner")
        self.n_startup_trials = int(n_startup_trials)
        self.n_warmup_steps = int(n_warmup_steps)
        self.interval_steps = int(interval_steps)

    def config(self) -> dict[str, Any]:
        return {
            "n_startup_trials": self.n_startup_trials,
            "n_warmup_steps": self.n_warmup_steps,
            "interval_steps": self.interval_steps,
        }

    def wants_peers(self, step: int) -> bool:
        return (
            step >= self.n_warmup_steps and (step - self.n_warmup_steps) % self.interval_steps == 0
        )

    ranks_at_step = True
    needs_median = True

    def ranked_value(self, step: int, curve: Mapping[int, float], maximize: bool) -> float | None:
        mine = [v for s, v in curve.items() if s <= step and math.isfinite(v)]
        if not mine:
            return None
        return max(mine) if maximize else min(mine)  # the trial's best value so far

    def decide(
        self, step: int, curve: Mapping[int, float], stats: PeerStats, maximize: bool
    ) -> bool:
        if not self.wants_peers(step) or stats.count < max(1, self.n_startup_trials):
            return False
        best = self.ranked_value(step, curve, maximize)
        if best is None:  # nothing finite reported
            return True
        n, better = stats.count, stats.better  # `better`: peers strictly better than `best`
        if n % 2:  # the median is the middle value: worse than it <=> (n+1)/2 peers beat it
            return better >= (n + 1) // 2
        if better != n // 2:  # both middle values beat it, or neither does
            return better > n // 2
        median = float(np.mean(stats.middle))  # one middle value beats it: compare the mean
        return best < median if maximize else best > median

    def needs_middle(self, stats: PeerStats) -> bool:
        return stats.count % 2 == 0 and stats.count > 0 and stats.better == stats.count // 2

    def prune(self, step: int, curve: Mapping[int, float], peers: Curves, maximize: bool) -> bool:
        return self._prune_by_rank(step, curve, peers, maximize)


class SuccessiveHalvingPruner(Pruner):
    """Asynchronous successive halving (ASHA): at each rung keep the top 1/eta of trials.

    Rungs sit at steps ``min_resource * eta**(k + min_early_stopping_rate)`` below
    ``max_resource``. A trial reaching a rung continues only if its value there is in the
    top ``1/eta`` of all trials that reached that rung so far. A trial at its full budget
    (``max_resource``, or the trial's own declared last step such as ``max_epochs``) is
    never pruned, even when that step is a rung.

    Args:
        max_resource: the full budget in steps (None: only the trial's declared last step).
    """

    name = "asha"
    peer_states = ("COMPLETE", "PRUNED", "RUNNING")  # asynchronous: running trials compete too

    _constraints: ClassVar[dict[str, list[Constraint]]] = {
        "min_resource": [Interval(int, 1)],
        "reduction_factor": [Interval(int, 2)],
        "min_early_stopping_rate": [Interval(int, 0)],
        "max_resource": [Interval(int, 1)],
    }

    def __init__(
        self,
        min_resource: int = 1,
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
        max_resource: int | None = None,
    ) -> None:
        given = {k: v for k, v in locals().items() if not (k == "max_resource" and v is None)}
        validate(self._constraints, given, owner="SuccessiveHalvingPruner")
        self.min_resource = int(min_resource)
        self.reduction_factor = int(reduction_factor)
        self.min_early_stopping_rate = int(min_early_stopping_rate)
        self.max_resource = None if max_resource is None else int(max_resource)

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "min_resource": self.min_resource,
            "reduction_factor": self.reduction_factor,
            "min_early_stopping_rate": self.min_early_stopping_rate,
        }
        if self.max_resource is not None:  # stored configs of earlier studies stay as they were
            config["max_resource"] = self.max_resource
        return config

    def at_full_budget(self, step: int) -> bool:
        return self.max_resource is not None and step >= self.max_resource

    def is_rung(self, step: int) -> bool:
        if self.at_full_budget(step):
            return False
        k = self.min_early_stopping_rate
        while True:
            rung = self.min_resource * self.reduction_factor**k
            if rung == step:
                return True
            if rung > step:
                return False
            k += 1

    def wants_peers(self, step: int) -> bool:
        return self.is_rung(step)

    ranks_at_step = True

    def ranked_value(self, step: int, curve: Mapping[int, float], maximize: bool) -> float | None:
        value = curve.get(step)
        return value if value is not None and math.isfinite(value) else None

    def decide(
        self, step: int, curve: Mapping[int, float], stats: PeerStats, maximize: bool
    ) -> bool:
        if not self.is_rung(step) or step not in curve:
            return False
        if self.ranked_value(step, curve, maximize) is None:  # NaN/inf at a rung
            return True
        return not _in_top_fraction(stats, self.reduction_factor)

    def prune(self, step: int, curve: Mapping[int, float], peers: Curves, maximize: bool) -> bool:
        if not self.is_rung(step) or step not in curve:
            return False
        return self._prune_by_rank(step, curve, peers, maximize)


def _in_top_fraction(stats: PeerStats, eta: int) -> bool:
    """Whether the trial's value is among the best ``max(1, n // eta)`` of its ``n`` values
    with its peers': at most ``k - 1`` peers are strictly better (ties keep it)."""
    k = max(1, (stats.count + 1) // eta)
    return stats.better <= k - 1


_GOLDEN = GOLDEN


class HyperbandPruner(Pruner):
    """Asynchronous Hyperband: ASHA in several brackets, each trial in one bracket.

    Bracket ``s`` (``0 .. n_brackets - 1``) runs ASHA with rungs at
    ``min_resource * eta**(s + k)`` below ``max_resource``: bracket 0 judges trials from
    their first rung on, the last bracket trains every trial to the end (Hyperband's
    full-budget bracket). Several brackets hedge against
    early epochs that mislead (a slow starter with the best final score survives in the
    later brackets). A trial competes only with trials of its own bracket.

    The bracket of a trial is a pure function of its number and ``seed`` (a golden-ratio
    sequence over the brackets' Hyperband budgets, so even a short study follows the
    budget split), so parallel workers and resumed studies agree on it; the reporter
    stores it on each curve point (:meth:`bracket_of`) for the database to count by.

    Args:
        min_resource: the first rung (in reported steps, e.g. epochs).
        max_resource: the full budget (the trainer's ``max_epochs``).
        reduction_factor: keep the top ``1/eta`` of a bracket's trials at each rung.
        seed: shifts the bracket sequence (0 keeps it aligned with trial numbers); at most
            2**62, so the database can compute brackets too (``hpo.brackets``).
    """

    name = "hyperband"
    peer_states = ("COMPLETE", "PRUNED", "RUNNING")

    _constraints: ClassVar[dict[str, list[Constraint]]] = {
        "min_resource": [Interval(int, 1)],
        "max_resource": [Interval(int, 1)],
        "reduction_factor": [Interval(int, 2)],
        "seed": [Interval(int, 0, MAX_SEED)],
    }

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int = 27,
        reduction_factor: int = 3,
        seed: int = 0,
    ) -> None:
        validate(self._constraints, locals(), owner="HyperbandPruner")
        self.min_resource = int(min_resource)
        self.max_resource = int(max_resource)
        self.reduction_factor = int(reduction_factor)
        self.seed = int(seed)
        if self.max_resource < self.min_resource:
            raise ConfigError(
                f"The 'max_resource' parameter of HyperbandPruner must be >= min_resource "
                f"({self.min_resource}). Got {max_resource!r} instead."
            )

    def config(self) -> dict[str, Any]:
        return {
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "reduction_factor": self.reduction_factor,
            "seed": self.seed,
        }

    @property
    def n_brackets(self) -> int:
        """``floor(log_eta(max_resource / min_resource)) + 1``."""
        n, r = 1, self.min_resource
        while r * self.reduction_factor <= self.max_resource:
            r *= self.reduction_factor
            n += 1
        return n

    def rungs(self, bracket: int) -> list[int]:
        """The steps at which bracket ``bracket`` compares trials (below ``max_resource``).

        The last bracket has none, as Hyperband's full-budget bracket, even when
        ``max_resource / min_resource`` is not a power of ``reduction_factor``.
        """
        if bracket >= self.n_brackets - 1:
            return []
        out, r = [], self.min_resource * self.reduction_factor**bracket
        while r < self.max_resource:
            out.append(r)
            r *= self.reduction_factor
        return out

    def bracket_weights(self) -> list[int]:
        """Trials per bracket in a Hyperband round: ``ceil(B * eta**s' / (s' + 1))``, s' = B-1-s."""
        b, eta = self.n_brackets, self.reduction_factor
        return [math.ceil(b * eta ** (b - 1 - s) / (b - s)) for s in range(b)]

    def bracket(self, number: int) -> int:
        """The bracket of trial ``number``: a pure function of (number, seed)."""
        weights = self.bracket_weights()
        u = ((int(number) + int(self.seed)) * _GOLDEN) % 1.0
        edges = np.cumsum(weights) / sum(weights)
        return min(int(np.searchsorted(edges, u, side="right")), len(weights) - 1)

    def bracket_slice(self, bracket: int) -> NumberSlice:
        """The trial numbers of bracket ``bracket``, as an interval of their golden point:
        ``bracket(n) == bracket`` exactly when ``bracket_slice(bracket).contains(n)``
        (``searchsorted(edges, u, side="right") == s`` <=> ``edges[s-1] <= u < edges[s]``;
        the last bracket also takes ``u >= 1``, which a fractional part never reaches)."""
        weights = self.bracket_weights()
        edges = np.cumsum(weights) / sum(weights)  # the same doubles as bracket()'s
        last = len(weights) - 1
        low = float(edges[bracket - 1]) if bracket > 0 else None
        high = float(edges[bracket]) if bracket < last else None
        return NumberSlice(self.seed, low, high, bracket)

    def wants_peers(self, step: int) -> bool:
        return any(step in self.rungs(s) for s in range(self.n_brackets))

    def wants_peers_of(self, number: int, step: int) -> bool:
        return step in self.rungs(self.bracket(number))

    def at_full_budget(self, step: int) -> bool:
        return step >= self.max_resource

    def prune(self, step: int, curve: Mapping[int, float], peers: Curves, maximize: bool) -> bool:
        raise TypeError(
            "HyperbandPruner needs the trial's number to find its bracket: call prune_trial()."
        )

    # The database counts a check's peers within the trial's bracket (peers_among): one
    # row comes back, not one per peer, and no bracket is computed per peer in Python.
    ranks_at_step = True

    def peers_among(self, number: int) -> NumberSlice:
        return self.bracket_slice(self.bracket(number))

    def ranked_value(self, step: int, curve: Mapping[int, float], maximize: bool) -> float | None:
        value = curve.get(step)
        return value if value is not None and math.isfinite(value) else None

    def decide_trial(
        self, number: int, step: int, curve: Mapping[int, float], stats: PeerStats, maximize: bool
    ) -> bool:
        if step not in self.rungs(self.bracket(number)) or step not in curve:
            return False
        if self.ranked_value(step, curve, maximize) is None:  # NaN/inf at a rung
            return True
        return not _in_top_fraction(stats, self.reduction_factor)

    def prune_trial(
        self, number: int, step: int, curve: Mapping[int, float], peers: Curves, maximize: bool
    ) -> bool:
        bracket = self.bracket(number)
        rivals = [c[step] for n, c in peers.items() if step in c and self.bracket(n) == bracket]
        than = self.ranked_value(step, curve, maximize)
        stats = PeerStats.of(rivals, than, maximize, middle=False)
        return self.decide_trial(number, step, curve, stats, maximize)


_PRUNERS: dict[str, type[Pruner]] = {
    p.name: p for p in (NopPruner, MedianPruner, SuccessiveHalvingPruner, HyperbandPruner)
}
_PRUNERS["successive_halving"] = SuccessiveHalvingPruner


def make_pruner(spec: Pruner | str | Mapping[str, Any] | None) -> Pruner:
    """A pruner from an instance, a name ('none', 'median', 'asha', 'hyperband') or config dict."""
    if isinstance(spec, Pruner):
        return spec
    if spec is None:
        return NopPruner()
    config = {"name": spec} if isinstance(spec, str) else dict(spec)
    name = config.pop("name", None)
    if name not in _PRUNERS:
        raise ConfigError(f"Unknown pruner {name!r}; use one of {sorted(_PRUNERS)}.")
    pruner_cls = _PRUNERS[name]
    check_names(config, getattr(pruner_cls, "_constraints", {}), owner=pruner_cls.__name__)
    return pruner_cls(**config)
