"""A claimed, running trial: the Reporter an objective sees and the handle ``Study.ask`` returns."""

from __future__ import annotations

import logging
import math
import shutil
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo.errors import ConfigError, HPOError, StorageError, TrialPruned
from hpo.execution.interrupts import check_interrupted
from hpo.jsonable import to_jsonable
from hpo.paths import make_private_dirs
from hpo.pruning import PeerStats
from hpo.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hpo.execution.handle import StudyHandle

log = logging.getLogger("hpo.worker")

FLUSH_SECONDS = 1.0
"""Buffered learning-curve points are written at least this often (and at pruning checks,
and when the trial ends): a crash loses at most this much of a trial's curve, never its
result, while a run of short epochs pays one transaction per second, not one per epoch."""


def trial_seed(study_seed: int, number: int) -> int:
    """A 31-bit seed for trial ``number``: a pure function of the study seed and the number."""
    return int(
        np.random.SeedSequence([int(study_seed) % (2**63), int(number)]).generate_state(1)[0] >> 1
    )


class RunningTrial:
    """One RUNNING trial of a study.

    It is the objective's ``reporter``: ``report(step, value)`` stores a learning-curve
    point and raises :class:`~hpo.errors.TrialPruned` when the study's pruner says so.
    """

    def __init__(self, study: StudyHandle, frozen: FrozenTrial) -> None:
        self.study = study
        self.number = frozen.number
        self.params = dict(frozen.params)
        self.trial_id = int(frozen.trial_id or 0)
        self._seed: int | None = None
        self.retry_of = frozen.retry_of
        self.curve: dict[int, float] = {}
        self._unwritten: dict[int, float] = {}
        self._written_at = time.monotonic()
        self._pruned_at: int | None = None
        self.max_step: int | None = None
        """The last step this trial will report (its full budget), when the objective said so
        with :meth:`set_max_step`; the pruner never stops the trial at or past it."""
        self.storage_error: StorageError | None = None  # a failed write, swallowed by flush_quietly

    def __repr__(self) -> str:
        return f"RunningTrial(number={self.number}, params={self.params!r})"

    @property
    def seed(self) -> int:
        """This trial's seed, :func:`trial_seed` of the study seed and the number: derived on
        first use: most objectives never ask, and the derivation (~15 µs) is a visible share
        of a near-zero-cost trial's overhead."""
        if self._seed is None:
            self._seed = trial_seed(self.study.seed, self.number)
        return self._seed

    @cached_property
    def bracket(self) -> int | None:
        """The bracket this trial's curve points carry (the pruner's ``bracket_of``; None
        but under Hyperband): derived once, on the first write."""
        return self.study.pruner.bracket_of(self.number)

    def report(self, step: int, value: float) -> None:
        """Record ``value`` at ``step``; raise TrialPruned if the pruner stops this trial.

        Points are buffered and written together (see :data:`FLUSH_SECONDS`); at a step
        where the pruner compares trials, this trial's points are written first, so every
        pruning decision, this trial's and its peers', is taken on current data.

        Also raises the worker's pending Ctrl-C / SIGTERM if a library in the objective
        swallowed it, so one Ctrl-C stops the trial at the end of the running epoch.
        """
        check_interrupted()
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise HPOError(f"report() needs a step that is an int >= 0. Got {step!r}.")
        step, value = int(step), float(value)
        self.curve[step] = value
        if math.isfinite(value):
            self._unwritten[step] = value
        checks = self.study.pruner.wants_peers(step)
        if checks or time.monotonic() - self._written_at >= FLUSH_SECONDS:
            self.flush()
        if checks and self._check_prune(step):
            raise TrialPruned(f"Trial {self.number} pruned at step {step} (value {value:.6g}).")

    def set_max_step(self, step: int) -> None:
        """Declare the last step this trial will report (e.g. ``max_epochs``).

        A trial that reaches it has had its whole budget: stopping it there would throw the
        trained model away and save nothing, so no pruner does (a rung there is skipped).
        ``EpochTrainer`` declares its ``max_epochs``; a plain objective may call this too
        (or use :func:`hpo.objective.declare_max_step`, which accepts any reporter).
        """
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise HPOError(f"set_max_step() needs a step that is an int >= 0. Got {step!r}.")
        self.max_step = int(step)

    def at_full_budget(self, step: int) -> bool:
        """Whether ``step`` is this trial's last (declared here, or the pruner's max_resource)."""
        if self.max_step is not None and step >= self.max_step:
            return True
        return self.study.pruner.at_full_budget(step)

    def flush(self) -> None:
        """Write the buffered learning-curve points in one transaction."""
        if self._unwritten:
            points, self._unwritten = self._unwritten, {}
            try:
                self.study.storage.report_many(self.trial_id, points, bracket=self.bracket)
            except BaseException:
                self._unwritten = {**points, **self._unwritten}  # keep them for the next try
                raise
        self._written_at = time.monotonic()

    def flush_quietly(self) -> None:
        """:meth:`flush` on the way out of a trial: a failed write is logged, not raised,
        so it never hides how the trial itself ended."""
        try:
            self.flush()
        except Exception as e:  # noqa: BLE001 - the curve is a by-product; the result matters
            log.warning(
                "Trial %d: could not write its last learning-curve points: %s", self.number, e
            )
            if isinstance(e, StorageError):
                self.storage_error = e  # the worker stops once the result is written

    def should_prune(self) -> bool:
        return self._pruned_at is not None or (
            bool(self.curve) and self._check_prune(max(self.curve))
        )

    def _check_prune(self, step: int) -> bool:
        pruner = self.study.pruner
        if not pruner.wants_peers_of(self.number, step) or self.at_full_budget(step):
            return False  # a fully trained trial completes with its value: never pruned
        maximize = self.study.direction == "maximize"
        states = [TrialState(s) for s in pruner.peer_states]
        if pruner.ranks_at_step:  # the database counts and ranks: one row, not one per peer
            than = pruner.ranked_value(step, self.curve, maximize)
            among = pruner.peers_among(self.number)  # Hyperband: the trial's bracket
            stats = PeerStats(*self.study.storage.peer_stats(
                self.study.id, states, step, exclude=self.number, than=than, maximize=maximize,
                among=among,
            ))  # fmt: skip
            if pruner.needs_middle(stats):  # only when the counts leave the median rule open
                stats = PeerStats(*self.study.storage.peer_stats(
                    self.study.id, states, step, exclude=self.number, than=than,
                    maximize=maximize, median=True, among=among,
                ))  # fmt: skip
            prune = pruner.decide_trial(self.number, step, self.curve, stats, maximize)
        else:
            peers = self.study.storage.curves(
                self.study.id, states, step=step if pruner.compares_at_step_only else None
            )
            peers.pop(self.number, None)
            prune = pruner.prune_trial(self.number, step, self.curve, peers, maximize)
        if prune:
            self._pruned_at = step
            return True
        return False

    @property
    def last_value(self) -> float | None:
        finite = [v for _, v in sorted(self.curve.items()) if math.isfinite(v)]
        return finite[-1] if finite else None

    def artifact_dir(self) -> Path | None:
        """``<artifacts>/study-<id>-<slug>-<digest>/trial-<number>``, created (0700) on first
        use; None when disabled."""
        root = self.study.artifacts_root
        if root is None:
            return None
        return make_private_dirs(root / f"trial-{self.number}")

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON data; numpy scalars are converted) under ``key`` on this trial."""
        if not isinstance(key, str):
            raise ConfigError(
                f"The 'key' parameter of set_user_attr must be a str. Got {key!r} instead."
            )
        self.study.storage.set_trial_user_attr(self.trial_id, key, to_jsonable(value, "user_attrs"))


def prune_artifacts(study: StudyHandle) -> None:
    """Keep trained weights only for the study's ``keep_weights`` best completed trials."""
    root = study.artifacts_root
    if root is None or not root.exists():
        return
    keep = {
        f"trial-{t.number}"
        for t in study.storage.leaderboard(
            study.id, study.direction, study.settings["keep_weights"]
        )
    }
    running = {f"trial-{t.number}" for t in study.storage.trials(study.id, [TrialState.RUNNING])}
    for folder in root.iterdir():
        if (
            folder.is_dir()
            and folder.name.startswith("trial-")
            and folder.name not in keep | running
        ):
            shutil.rmtree(folder, ignore_errors=True)
