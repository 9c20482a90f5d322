"""Study: create, load (resume), optimize, ask/tell, enqueue, leaderboard.

A study is a name in a storage. Everything needed to continue it (space,
direction, sampler, model spec, settings) is stored with it, so any process that
opens the same storage can resume it or join it as a worker.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from hpo.checks import (
    MAX_SEED,
    check_dataset,
    check_grid,
    check_model_params,
    check_objective,
    check_seed,
    check_user_attrs,
)
from hpo.errors import ConfigError, StudyExistsError, StudyMismatchError
from hpo.execution.running import RunningTrial
from hpo.jsonable import as_number, to_jsonable
from hpo.model_objective import ModelObjective, callable_path, import_callable, metric_direction
from hpo.paths import check_study_name, study_folder
from hpo.pruning import Pruner, make_pruner
from hpo.samplers import Sampler, make_sampler, sampler_from_config
from hpo.settings import StudySettings
from hpo.space import SearchSpace
from hpo.storage import DEFAULT_STORAGE, Storage, StudyRecord, get_storage, sqlite_path
from hpo.trial import FrozenTrial, TrialState
from hpo.validation import Interval, Options, check_param

if TYPE_CHECKING:
    import pandas as pd

    from hpo.execution.worker import Callback

DIRECTIONS = ("minimize", "maximize")
DEFAULT_SETTINGS: dict[str, Any] = StudySettings().to_dict()  # the earlier dict form
TOLD_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)


class Study:
    """A handle on one stored study. Make one with :func:`create_study` or :func:`load_study`."""

    def __init__(
        self,
        storage: Storage,
        record: StudyRecord,
        *,
        sampler: Sampler,
        objective: Callable[..., Any] | None,
        resolve_objective: Callable[[], Callable[..., Any] | None] | None = None,
    ) -> None:
        self.storage = storage
        self._record = record
        self.space = SearchSpace.from_dict(record.space)
        self.sampler = sampler
        self._objective = objective
        self._resolve_objective = resolve_objective
        self.pruner: Pruner = make_pruner(record.settings.get("pruner"))

    @property
    def objective(self) -> Callable[..., Any] | None:
        """What workers run. A stored callable is imported on first use, never by
        ``load_study`` itself, so reading a study (leaderboard, show, export) runs no code
        named in the database."""
        if self._objective is None and self._resolve_objective is not None:
            resolve, self._resolve_objective = self._resolve_objective, None
            self._objective = resolve()
        return self._objective

    @objective.setter
    def objective(self, value: Callable[..., Any] | None) -> None:
        self._objective = value
        self._resolve_objective = None

    # -------------------------------------------------------------- identity
    @property
    def id(self) -> int:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def direction(self) -> str:
        return self._record.direction

    @property
    def seed(self) -> int:
        return self._record.seed

    @property
    def created_at(self) -> datetime:
        return self._record.created_at

    @functools.cached_property
    def settings(self) -> StudySettings:
        """The stored settings (a frozen :class:`~hpo.settings.StudySettings`)."""
        return StudySettings.from_stored(self._record.settings)

    @property
    def objective_spec(self) -> dict[str, Any]:
        return dict(self._record.objective)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._record.user_attrs)

    @functools.cached_property
    def artifacts_root(self) -> Path | None:
        """Where trained weights of this study's trials go (computed once: it is on the hot path).

        ``<root>/study-<id>-<slug>-<digest>`` (see :mod:`hpo.paths`): derived from the study's
        id, never from its name alone, so it stays inside the root and apart from every
        other study's folder whatever the name holds.
        """
        setting = self.settings.artifacts
        if setting is False:
            return None
        if setting:
            root = Path(setting)
        else:
            db = sqlite_path(self.storage.url)
            root = db.parent / "artifacts" if db is not None else Path("hpo-artifacts")
        return study_folder(root, self.id, self.name, self.created_at)

    def __repr__(self) -> str:
        return f"Study(name={self.name!r}, direction={self.direction!r}, storage={self.storage!r})"

    def opener(self) -> Callable[[], Study]:
        """A picklable callable that reopens this study in another process (a remote worker):
        by name from the storage URL, with this study's sampler and objective."""
        return functools.partial(
            load_study,
            self.name,
            storage=self.storage.url,
            objective=self.objective,
            sampler=self.sampler,
        )

    # -------------------------------------------------------------- running
    def optimize(
        self,
        n_trials: int,
        *,
        n_workers: int = 1,
        timeout: float | None = None,
        executor: Any = None,
        show_progress: bool | None = None,
        callbacks: Sequence[Callable[[Study, FrozenTrial], None]] | None = None,
    ) -> Study:
        """Run trials until the study holds ``n_trials`` finished ones (COMPLETE or PRUNED).

        ``n_trials`` is a total, not an increment: resuming a study with 30 completed trials
        and ``n_trials=40`` runs 10 more. FAILED trials do not count; a trial whose
        objective raises or returns NaN/inf is stored FAILED with the reason and the
        study goes on.

        Trials taken with :meth:`ask` and not yet told are neither waited for nor counted:
        they have no heartbeat, so nothing tells a forgotten one from a slow one. The run
        reaches ``n_trials`` without them (and logs a warning naming them); each counts
        once told, so telling them afterwards can leave the study above ``n_trials``.

        Args:
            n_trials: the requested total of finished trials.
            n_workers: worker processes (1 runs in this process).
            timeout: stop claiming new trials after this many seconds.
            executor: a ``dask.distributed.Client`` or scheduler address to run workers on.
            show_progress: a progress bar; default when stderr is a terminal.
            callbacks: ``fn(study, trial)`` called after each finished trial (COMPLETE,
                PRUNED or FAILED) in the process that ran it, with the trial as stored
                (params, value, state, learning curve). With ``n_workers > 1`` they run in
                the worker processes, so they must pickle. An exception in one stops the
                worker and is raised. Ready ones: :mod:`hpo.integrations.mlflow`,
                :mod:`hpo.integrations.tensorboard`.
        """
        from hpo.execution import run_study

        if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
            raise ConfigError(
                f"The 'n_trials' parameter of optimize must be an int >= 1. Got {n_trials!r} "
                f"instead."
            )
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ConfigError(
                f"The 'n_workers' parameter of optimize must be an int >= 1. Got {n_workers!r} "
                f"instead."
            )
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ConfigError(
                f"The 'timeout' parameter of optimize must be a number > 0. Got {timeout!r} "
                f"instead."
            )
        if self.objective is None:
            raise ConfigError(
                f"Study {self.name!r} has no objective to run. Pass objective=callable or "
                "model=/dataset= to create_study/load_study, or use ask()/tell()."
            )
        callbacks = list(callbacks or ())
        for i, callback in enumerate(callbacks):
            if not callable(callback):
                raise ConfigError(
                    f"The 'callbacks' parameter of optimize must hold callables "
                    f"fn(study, trial). Got {callback!r} at index {i} instead."
                )
        run_study(
            self,
            n_trials=n_trials,
            n_workers=n_workers,
            timeout=timeout,
            executor=executor,
            show_progress=show_progress,
            # A Study is the StudyHandle these callbacks receive.
            callbacks=cast("list[Callback]", callbacks),
        )
        return self

    def ask(self) -> RunningTrial:
        """Claim a new trial (an enqueued one first) and return it RUNNING, for ``tell`` later.

        The trial has no heartbeat: it never goes stale and can be told at any time, by this
        or another process. Until then it holds no part of an :meth:`optimize` budget and no
        worker waits for it; once told it counts like any finished trial (once).
        """
        from hpo.execution.worker import claim_next

        trial = claim_next(self, worker_id="ask", budget=None, heartbeat=False)
        if trial is None:
            from hpo.errors import SearchSpaceExhausted

            raise SearchSpaceExhausted(
                f"Study {self.name!r}: the sampler has nothing left to propose."
            )
        return trial

    def tell(
        self,
        trial: RunningTrial | int,
        value: float | None = None,
        *,
        state: TrialState | str | None = None,
        metrics: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> FrozenTrial:
        """Finish a trial from :meth:`ask`: COMPLETE with ``value``, or PRUNED / FAILED.

        A NaN or infinite value makes the trial FAILED with that reason.
        """
        if isinstance(trial, RunningTrial):
            number = trial.number
        else:
            check_param("trial", trial, [Interval(int, 0, MAX_SEED)], owner="tell")
            number = int(trial)
        state = _told_state(state)
        if value is not None:
            number_value = as_number(value)
            if number_value is None:
                raise ConfigError(
                    f"The 'value' parameter of tell must be a number (int, float or "
                    f"numpy scalar). Got {value!r} instead."
                )
            value = number_value
        if metrics is not None and not isinstance(metrics, Mapping):
            raise ConfigError(
                f"The 'metrics' parameter of tell must be a dict. Got {metrics!r} instead."
            )
        stored_metrics = to_jsonable(dict(metrics or {}), "metrics")
        if error is not None and not isinstance(error, str):
            raise ConfigError(
                f"The 'error' parameter of tell must be a str. Got {error!r} instead."
            )
        if isinstance(trial, RunningTrial):
            trial.flush()  # its buffered learning-curve points go in before its final state
        frozen = self.storage.trial(self.id, number)
        if state == TrialState.COMPLETE:
            if value is None:
                raise ConfigError(f"tell(trial {number}) needs a value for a COMPLETE trial.")
            if not math.isfinite(value):
                state, error, value = TrialState.FAILED, f"objective value is {value}", None
        elif state == TrialState.PRUNED and value is None and isinstance(trial, RunningTrial):
            value = trial.last_value
        if not self.storage.finish(
            int(frozen.trial_id or 0), state, value=value, metrics=stored_metrics, error=error
        ):
            raise ConfigError(
                f"Trial {number} of study {self.name!r} is already {frozen.state.value}; "
                "each trial is told once."
            )
        return self.storage.trial(self.id, number)

    def enqueue(
        self, params: Mapping[str, Any], *, user_attrs: Mapping[str, Any] | None = None
    ) -> int:
        """Queue a fixed configuration; workers run WAITING trials before sampling new ones.

        Returns the trial number it was given.
        """
        from hpo.storage import ClaimStatus
        from hpo.trial import Proposal

        if not isinstance(params, Mapping):
            raise ConfigError(
                f"The 'params' parameter of enqueue must be a dict. Got {params!r} instead."
            )
        checked = self.space.validate_params(params, field="enqueue(params)")
        attrs = check_user_attrs(user_attrs, owner="enqueue")
        claim = self.storage.claim_new(
            self.id,
            "enqueue",
            Proposal(checked, info={"user_attrs": attrs}),
            state=TrialState.WAITING,
        )
        if claim.status != ClaimStatus.CREATED or claim.trial is None:
            raise ConfigError(f"Could not enqueue {checked!r}: {claim.status.value}.")
        return claim.trial.number

    # -------------------------------------------------------------- reading
    @property
    def trials(self) -> list[FrozenTrial]:
        return self.storage.trials(self.id, with_curves=True)

    def get_trials(
        self, states: list[TrialState] | None = None, *, with_curves: bool = False
    ) -> list[FrozenTrial]:
        return self.storage.trials(self.id, states, with_curves=with_curves)

    @property
    def best_trial(self) -> FrozenTrial:
        best = self.storage.leaderboard(self.id, self.direction, top=1)
        if not best:
            raise ValueError(
                f"Study {self.name!r} has no completed trials yet; run optimize() first."
            )
        return self.storage.trial(self.id, best[0].number)

    @property
    def best_value(self) -> float:
        value = self.best_trial.value
        assert value is not None
        return value

    @property
    def best_params(self) -> dict[str, Any]:
        return self.best_trial.params

    def best_model(self) -> Any:
        """The best trial's trained model, for the built-in model families (see
        :mod:`hpo.best_model`: PyTorch weights are reloaded, scikit-learn MLPs trained again)."""
        from hpo.best_model import best_model

        return best_model(self)

    def counts(self) -> dict[str, int]:
        return self.storage.counts(self.id)

    def leaderboard(self, top: int | None = 10) -> pd.DataFrame:
        """Completed trials best first: rank, number, value, params, metrics, duration."""
        from hpo.reports.tables import trials_frame

        return trials_frame(
            self.storage.leaderboard(self.id, self.direction, top), self.space, ranked=True
        )

    def trials_dataframe(self) -> pd.DataFrame:
        """Every trial, one row each, in number order."""
        from hpo.reports.tables import trials_frame

        return trials_frame(self.storage.trials(self.id), self.space, ranked=False)


# ------------------------------------------------------------------ construction
def _lookup_name(name: Any) -> str:
    """A name to look up (load, delete): any non-empty str; only new names must be safe."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"The 'name' parameter must be a non-empty str. Got {name!r} instead.")
    return name


def _told_state(state: TrialState | str | None) -> TrialState:
    if state is None:
        return TrialState.COMPLETE
    allowed = [s.value for s in TOLD_STATES]
    check_param(
        "state",
        state.value if isinstance(state, TrialState) else state,
        [Options(allowed)],
        owner="tell",
    )
    return TrialState(state)


def _objective_spec(
    objective: Callable[..., Any] | None,
    model: str | None,
    dataset: Any,
    metric: str | None,
    model_options: Mapping[str, Any] | None,
) -> dict[str, Any]:
    if objective is not None and model is not None:
        raise ConfigError(
            "Pass either objective= (a callable) or model= (a registered model), not both."
        )
    if model is not None:
        if not isinstance(model, str):
            raise ConfigError(
                f"The 'model' parameter of create_study must be a str. Got {model!r} instead."
            )
        if model_options is not None and not isinstance(model_options, Mapping):
            raise ConfigError(
                f"The 'model_options' parameter of create_study must be a dict. "
                f"Got {model_options!r} instead."
            )
        if dataset is None:
            raise ConfigError(
                f"model={model!r} needs dataset= (a name such as 'digits', a CSV/.npz path, or "
                f"(X, y))."
            )
        from hpo.models.datasets import dataset_to_spec

        if isinstance(dataset, (str, Mapping)):
            spec = dataset_to_spec(dataset)  # a typo or missing file fails here, before any write
        else:
            try:
                spec = dataset_to_spec(dataset)
            except ConfigError:
                spec = None  # in-memory arrays: usable in this process only
        return {
            "model": model,
            "dataset": spec,
            "metric": metric,
            "options": dict(model_options or {}),
        }
    if dataset is not None or metric is not None or model_options:
        raise ConfigError(
            "dataset=, metric= and model_options= need model=; with objective= compute the metric "
            "yourself."
        )
    if objective is not None:
        return {"callable": callable_path(check_objective(objective))}
    return {}


def _build_objective(
    spec: Mapping[str, Any], objective: Callable[..., Any] | None, dataset: Any = None
) -> Callable[..., Any] | None:
    if objective is not None:
        return objective
    if spec.get("model"):
        data = spec.get("dataset") if spec.get("dataset") is not None else dataset
        if data is None:
            return None
        model_objective = ModelObjective(
            spec["model"], data, spec.get("metric"), spec.get("options")
        )
        return model_objective.preload() if spec.get("dataset") is None else model_objective
    if spec.get("callable"):
        try:
            found = import_callable(spec["callable"])
        except ConfigError:
            return None  # not importable here: the caller passes objective= (or --objective)
        return check_objective(found, owner="load_study")
    return None


def create_study(
    name: str,
    *,
    space: Mapping[str, Any] | SearchSpace,
    storage: str | Storage | None = None,
    objective: Callable[..., Any] | None = None,
    model: str | None = None,
    dataset: Any = None,
    metric: str | None = None,
    model_options: Mapping[str, Any] | None = None,
    direction: str | None = None,
    sampler: Sampler | str | Mapping[str, Any] | None = None,
    pruner: Pruner | str | Mapping[str, Any] | None = None,
    seed: int | None = None,
    load_if_exists: bool = False,
    user_attrs: Mapping[str, Any] | None = None,
    settings: StudySettings | Mapping[str, Any] | None = None,
    **options: Any,
) -> Study:
    """Create a study, or resume the stored one of that name with ``load_if_exists=True``.

    Everything that would be the same mistake in every trial is checked first, and
    nothing is written when a check fails (see :mod:`hpo.checks`). When several
    processes create the same study at once with ``load_if_exists=True``, exactly one
    creates it and the others load it.

    Args:
        name: unique within the storage; 1..200 characters without path separators,
            ``..``, NUL or control characters (see :func:`hpo.paths.check_study_name`).
        space: name -> Float/Int/Categorical (see :mod:`hpo.space`).
        storage: an SQLAlchemy URL (default ``sqlite:///studies/hpo.db``) or a Storage.
        objective: ``callable(params, reporter) -> float | TrialResult | dict``.
        model, dataset, metric, model_options: a registered model family instead of ``objective``.
        direction: 'minimize' or 'maximize' (default: from the metric, else 'minimize').
        sampler: a Sampler, or 'grid' / 'random' / 'gp' / 'mf-gp' (default random).
        pruner: a Pruner, or 'none' / 'median' / 'asha' / 'hyperband' (a shortcut for
            settings.pruner). A resumed study keeps its stored settings; naming a pruner
            other than its own is a StudyMismatchError.
        seed: an int in [0, 2**31 - 1]; seeds the sampler and every trial (random when
            omitted, then stored).
        load_if_exists: resume an existing study instead of refusing.
        user_attrs: JSON data stored with the study (numpy scalars are converted).
        settings: a :class:`~hpo.settings.StudySettings` (or a dict of its fields).
        options: any StudySettings field as a keyword (max_retries, heartbeat_interval,
            grace_period, artifacts, keep_weights); they override ``settings``.

    Raises:
        InvalidSpaceError, ConfigError: bad definitions (nothing is written).
        StudyExistsError: the name is taken and ``load_if_exists`` is False.
        StudyMismatchError: resuming with a different space, direction or model.
    """
    name = check_study_name(name)
    check_param("load_if_exists", load_if_exists, [bool], owner="create_study")
    search_space = SearchSpace(space)
    if pruner is not None:
        options["pruner"] = pruner
    study_settings = StudySettings.build(settings, **options)
    study_seed = check_seed(seed)
    attrs = check_user_attrs(user_attrs, owner="create_study")
    spec = _objective_spec(objective, model, dataset, metric, model_options)
    if direction is None:
        direction = metric_direction(metric, model) if model else "minimize"
    check_param("direction", direction, [Options(DIRECTIONS)], owner="create_study")
    if model is not None:
        from hpo.registry import get_model

        trainer_cls = get_model(model)  # unknown model: fail before anything is written
        metric_direction(metric, model)  # validates the metric name early
        check_model_params(model, trainer_cls, search_space)
    the_sampler = make_sampler(sampler, seed=study_seed)
    the_sampler.to_config()
    check_grid(the_sampler, search_space)
    store = get_storage(storage or DEFAULT_STORAGE)

    existing = store.find_study(name)
    if existing is not None:
        if not load_if_exists:
            raise _exists(name, store)
        return _resume(
            store,
            existing,
            search_space,
            direction,
            spec,
            the_sampler,
            sampler is not None,
            objective,
            dataset,
            study_settings.pruner if pruner is not None else None,
        )

    # Build (and so validate) the objective and the data before anything is written.
    built_objective = _build_objective(spec, objective, dataset)
    checked = check_dataset(spec.get("dataset"))
    if checked is not None and isinstance(built_objective, ModelObjective):
        built_objective.adopt(checked)  # loaded once: not parsed again to train
    if study_seed is None:
        study_seed = random.SystemRandom().randrange(MAX_SEED + 1)
    if the_sampler.seed is None:
        the_sampler.seed = study_seed
    try:
        record = store.create_study(
            name=name,
            direction=direction,
            space=search_space.to_dict(),
            sampler=the_sampler.to_config(),
            objective=spec,
            settings=study_settings.to_dict(),
            user_attrs=attrs,
            seed=study_seed,
        )
    except StudyExistsError:  # another process created it since find_study
        if not load_if_exists:
            raise _exists(name, store) from None
        return _resume(
            store,
            store.get_study(name),
            search_space,
            direction,
            spec,
            the_sampler,
            sampler is not None,
            objective,
            dataset,
            study_settings.pruner if pruner is not None else None,
        )
    return Study(store, record, sampler=the_sampler, objective=built_objective)


def _exists(name: str, store: Storage) -> StudyExistsError:
    return StudyExistsError(
        f"Study {name!r} already exists in {store!r}. Use load_study(), "
        "create_study(..., load_if_exists=True) or a new name."
    )


def _resume(
    store: Storage,
    existing: StudyRecord,
    space: SearchSpace,
    direction: str,
    spec: dict[str, Any],
    the_sampler: Sampler,
    sampler_given: bool,
    objective: Callable[..., Any] | None,
    dataset: Any,
    pruner: dict[str, Any] | None,
) -> Study:
    """create_study(load_if_exists=True) on a stored study: check it is the same, open it.

    ``pruner`` is the config of a pruner the call named (None: none named)."""
    _check_same(existing, space, direction, spec)
    if pruner is not None:
        _check_same_pruner(existing, pruner)
    if sampler_given:
        the_sampler.seed = the_sampler.seed if the_sampler.seed is not None else existing.seed
        store.update_study(existing.id, sampler=the_sampler.to_config())
        existing = store.get_study(existing.name)
    return _open(store, existing, objective, dataset)


def _check_same_pruner(existing: StudyRecord, pruner: dict[str, Any]) -> None:
    """A resumed study keeps its pruner: its past decisions, and the Hyperband brackets
    stored on its curve points, were made under it. Naming another one is an error, not a
    silent switch."""
    from hpo.pruning import make_pruner

    stored = make_pruner(existing.settings.get("pruner") or {"name": "none"}).to_config()
    if stored != pruner:
        raise StudyMismatchError(
            f"Study {existing.name!r} already exists with pruner {stored!r}; got {pruner!r}. "
            "A study's pruner cannot change: resume it without pruner= (it keeps its own) "
            "or use a new name."
        )


def _check_same(
    existing: StudyRecord, space: SearchSpace, direction: str, spec: dict[str, Any]
) -> None:
    name = existing.name
    if existing.direction != direction:
        raise StudyMismatchError(
            f"Study {name!r} already exists with direction {existing.direction!r}; got "
            f"{direction!r}. "
            "Use load_study() or a new name."
        )
    if SearchSpace.from_dict(existing.space) != space:
        stored = SearchSpace.from_dict(existing.space)
        diff = sorted(
            k
            for k in {*stored, *space}
            if k not in stored or k not in space or stored[k] != space[k]
        )
        raise StudyMismatchError(
            f"Study {name!r} already exists with a different search space (differs in {diff}). "
            "Resume it with the stored space (load_study) or use a new name."
        )
    for key in ("model", "metric"):
        if spec.get(key) != existing.objective.get(key) and (
            spec.get(key) or existing.objective.get(key)
        ):
            raise StudyMismatchError(
                f"Study {name!r} already exists with {key}={existing.objective.get(key)!r}; got "
                f"{spec.get(key)!r}. Use a new name to change it."
            )
    if spec.get("dataset") and existing.objective.get("dataset") not in (None, spec["dataset"]):
        raise StudyMismatchError(
            f"Study {name!r} already exists with dataset={existing.objective['dataset']!r}; got "
            f"{spec['dataset']!r}. Use a new name to change it."
        )


def _open(
    store: Storage,
    record: StudyRecord,
    objective: Callable[..., Any] | None,
    dataset: Any = None,
    sampler: Sampler | str | Mapping[str, Any] | None = None,
) -> Study:
    """A Study handle; a stored objective is built only when a worker first needs it."""
    the_sampler = (
        make_sampler(sampler) if sampler is not None else sampler_from_config(record.sampler)
    )
    if objective is not None:
        return Study(
            store,
            record,
            sampler=the_sampler,
            objective=check_objective(objective, owner="load_study"),
        )
    resolve = functools.partial(_build_objective, record.objective, None, dataset)
    return Study(store, record, sampler=the_sampler, objective=None, resolve_objective=resolve)


def load_study(
    name: str,
    *,
    storage: str | Storage | None = None,
    objective: Callable[..., Any] | None = None,
    dataset: Any = None,
    sampler: Sampler | str | Mapping[str, Any] | None = None,
) -> Study:
    """Open a stored study to resume it, join it as a worker, or read its results.

    ``objective`` is needed only for studies created with a callable that a fresh process
    cannot import; model-based studies rebuild their objective from the stored spec.
    Nothing is imported or built here: ``study.objective`` does that on first use (only
    workers, ``optimize`` and ``hpo run``/``hpo worker`` touch it).
    """
    store = get_storage(storage or DEFAULT_STORAGE)
    record = store.get_study(_lookup_name(name))
    return _open(store, record, objective, dataset, sampler)


def delete_study(name: str, *, storage: str | Storage | None = None) -> None:
    """Remove a study and all its trials."""
    get_storage(storage or DEFAULT_STORAGE).delete_study(_lookup_name(name))


def list_studies(storage: str | Storage | None = None) -> list[Any]:
    """One summary per study: name, direction, trial counts by state, best value."""
    return get_storage(storage or DEFAULT_STORAGE).summaries()
