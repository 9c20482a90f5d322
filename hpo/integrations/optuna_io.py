"""Move studies between Optuna and hpo, in both directions, without losing trials.

:func:`import_optuna` reads an Optuna study (RDB URL or Journal file) into a new hpo study:
params, distributions (as the hpo space), values, states, learning curves, user attrs and
timestamps. It can be continued by any hpo sampler (``load_study(..., objective=...)``).
:func:`export_optuna` writes an hpo study into an Optuna storage, so optuna-dashboard and
``optuna.visualization`` work on it.

Mappings (both ways): COMPLETE <-> COMPLETE, PRUNED <-> PRUNED, FAILED <-> FAIL. An Optuna
RUNNING or WAITING trial is imported as WAITING (hpo runs it again: its worker is not
hpo's); an hpo RUNNING/WAITING trial is exported as Optuna RUNNING/WAITING. hpo's metrics
travel in the Optuna user attr ``hpo_metrics`` and a failed trial's reason in the system
attr ``fail_reason`` (where Optuna keeps its own); an export also stores the exact hpo space
in the study's user attr ``hpo_space`` so a round trip restores choices Optuna cannot hold
(tuples, as JSON text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.errors import ConfigError, StudyNotFoundError
from hpo.space import Categorical, Float, Int, SearchSpace
from hpo.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hpo.storage import Storage
    from hpo.study import Study

__all__ = ["import_optuna", "export_optuna", "optuna_storage"]

METRICS_ATTR, SPACE_ATTR = "hpo_metrics", "hpo_space"
_PRIMITIVE = (type(None), bool, int, float, str)


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as e:
        raise ConfigError(
            "Optuna import/export needs the 'optuna' package, which is not installed. "
            "Install it with `pip install 'hpo[optuna]'`."
        ) from e
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def optuna_storage(location: str, *, must_exist: bool) -> Any:
    """An Optuna storage for an RDB URL (``sqlite:///x.db``) or a Journal file path.

    Raises:
        ConfigError: ``must_exist`` and the SQLite file or journal file is missing (nothing
            is created by a read).
    """
    optuna = _optuna()
    if "://" in location:
        if must_exist and location.startswith("sqlite:///"):
            path = Path(location[len("sqlite:///") :])
            if not path.is_file():
                raise ConfigError(
                    f"The Optuna storage {location!r} does not exist (no file {str(path)!r})."
                )
        return optuna.storages.RDBStorage(location)
    path = Path(location)
    if must_exist and not path.is_file():
        raise ConfigError(
            f"The Optuna journal file {location!r} does not exist. Give a journal file "
            "path or an RDB URL such as sqlite:///optuna.db."
        )
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


# ------------------------------------------------------------------ Optuna -> hpo
def import_optuna(
    source: str,
    study_name: str,
    *,
    storage: str | Storage | None = None,
    name: str | None = None,
    sampler: Any = "gp",
    seed: int | None = None,
) -> Study:
    """Copy the Optuna study ``study_name`` at ``source`` into a new hpo study.

    Args:
        source: an Optuna RDB URL or a Journal file path.
        study_name: the Optuna study to read.
        storage: the hpo storage to write to (default ``sqlite:///studies/hpo.db``).
        name: the hpo study's name (default: ``study_name``).
        sampler, seed: the hpo study's sampler and seed for continuing it.

    Returns:
        The new hpo study (with no objective: pass one to ``load_study`` to continue it).

    Raises:
        ConfigError: missing source, multi-objective study, a distribution hpo cannot hold,
            or the hpo study name is taken. Nothing is written then.
        StudyNotFoundError: no Optuna study of that name at ``source``.
    """
    import hpo
    from hpo.storage import get_storage
    from hpo.storage.bulk import add_trials

    optuna = _optuna()
    source_storage = optuna_storage(source, must_exist=True)
    try:
        ostudy = optuna.load_study(study_name=study_name, storage=source_storage)
    except KeyError as e:
        names = [s.study_name for s in optuna.get_all_study_summaries(source_storage)]
        raise StudyNotFoundError(
            f"No Optuna study named {study_name!r} in {source!r}; studies there: {names}."
        ) from e
    if len(ostudy.directions) != 1:
        raise ConfigError(
            f"Optuna study {study_name!r} has {len(ostudy.directions)} objectives; hpo "
            "studies have one. Export one objective per study."
        )
    otrials = ostudy.get_trials(deepcopy=False)
    stored_space = ostudy.user_attrs.get(SPACE_ATTR)
    space = SearchSpace.from_dict(stored_space) if stored_space else _union_space(otrials)
    trials = [_from_optuna(t, space) for t in otrials]  # every check before any write
    store = get_storage(storage)
    target = name or study_name
    if store.find_study(target) is not None:
        raise ConfigError(
            f"An hpo study named {target!r} already exists in {store!r}; choose another "
            "name (--name) or delete it first."
        )
    direction = (
        "maximize" if ostudy.direction == optuna.study.StudyDirection.MAXIMIZE else "minimize"
    )
    user_attrs = {k: v for k, v in ostudy.user_attrs.items() if k != SPACE_ATTR}
    study = hpo.create_study(
        target,
        space=space,
        storage=store,
        direction=direction,
        sampler=sampler,
        seed=seed,
        user_attrs={**user_attrs, "imported_from": f"optuna:{study_name}"},
    )
    try:
        add_trials(store, study.id, trials, study.pruner.bracket_of)
    except BaseException:
        store.delete_study(target)  # all or nothing
        raise
    return study


def _union_space(otrials: list[Any]) -> SearchSpace:
    """The smallest hpo space holding all trials' distributions (ranges widened, choices merged)."""
    merged: dict[str, Any] = {}
    for t in otrials:
        for pname, d in t.distributions.items():
            merged[pname] = d if pname not in merged else _merge(pname, merged[pname], d)
    params: dict[str, Any] = {}
    for pname, d in merged.items():
        kind = type(d).__name__
        if kind == "FloatDistribution":
            params[pname] = Float(d.low, d.high, log=d.log, step=d.step)
        elif kind == "IntDistribution":
            params[pname] = Int(d.low, d.high, log=d.log, step=d.step)
        elif kind == "CategoricalDistribution":
            params[pname] = Categorical(list(d.choices))
        else:
            raise ConfigError(
                f"Parameter {pname!r} has an Optuna distribution hpo cannot hold: {kind}."
            )
    return SearchSpace(params)


def _merge(pname: str, a: Any, b: Any) -> Any:
    if a == b:
        return a
    optuna = _optuna()
    d = optuna.distributions
    if type(a) is type(b) and isinstance(a, d.CategoricalDistribution):
        return d.CategoricalDistribution(
            list(a.choices) + [c for c in b.choices if c not in a.choices]
        )
    if (
        type(a) is type(b)
        and a.log == b.log
        and a.step == b.step
        and (a.step is None or ((b.low - a.low) / a.step).is_integer())
    ):
        return type(a)(min(a.low, b.low), max(a.high, b.high), log=a.log, step=a.step)
    raise ConfigError(
        f"Parameter {pname!r} has distributions that cannot be merged into one hpo "
        f"parameter: {a} and {b}. Import a study with one distribution per parameter."
    )


def _from_optuna(t: Any, space: SearchSpace) -> FrozenTrial:
    states = _optuna().trial.TrialState
    state = {
        states.COMPLETE: TrialState.COMPLETE,
        states.PRUNED: TrialState.PRUNED,
        states.FAIL: TrialState.FAILED,
    }.get(t.state, TrialState.WAITING)
    params = {n: _choice_back(space[n], v) for n, v in t.params.items()}
    user_attrs = dict(t.user_attrs)
    metrics = user_attrs.pop(METRICS_ATTR, None) or {}
    error = t.system_attrs.get("fail_reason")
    if state == TrialState.FAILED and error is None:
        error = "imported from Optuna: FAIL"
    finished = state.is_finished
    return FrozenTrial(
        number=t.number,
        state=state,
        params=params,
        value=t.value if state in (TrialState.COMPLETE, TrialState.PRUNED) else None,
        metrics=dict(metrics),
        intermediate={int(k): float(v) for k, v in t.intermediate_values.items()},
        started_at=_naive_utc(t.datetime_start) if finished else None,
        finished_at=_naive_utc(t.datetime_complete) if finished else None,
        worker_id="optuna-import" if finished else None,
        error=error,
        user_attrs=user_attrs,
    )


def _choice_back(p: Any, value: Any) -> Any:
    """A value as hpo holds it (exported non-primitive choices come back from JSON text)."""
    if (
        isinstance(p, Categorical)
        and isinstance(value, str)
        and not any(c == value for c in p.choices)
    ):
        for c in p.choices:
            if json.dumps(c) == value:
                return c
    return value


def _naive_utc(when: datetime | None) -> datetime | None:
    if when is None or when.tzinfo is None:
        return when
    return when.astimezone(timezone.utc).replace(tzinfo=None)


# ------------------------------------------------------------------ hpo -> Optuna
def export_optuna(study: Study, target: str, *, name: str | None = None) -> str:
    """Write every trial of ``study`` into a new Optuna study at ``target``.

    Args:
        study: the hpo study (``hpo.load_study(...)``).
        target: an Optuna RDB URL (``sqlite:///optuna.db``) or a Journal file path; a
            different database from hpo's own.
        name: the Optuna study name (default: the hpo study's).

    Returns:
        The Optuna study name written.

    Raises:
        ConfigError: ``target`` is hpo's own database, or an Optuna study of that name
            already exists there (nothing is written).
    """
    optuna = _optuna()
    from hpo.storage import normalize_url

    if "://" in target and normalize_url(target) == study.storage.url:
        raise ConfigError(
            f"The export target {target!r} is hpo's own database; Optuna needs its own "
            "(e.g. sqlite:///optuna.db or a journal file path)."
        )
    ostorage = optuna_storage(target, must_exist=False)
    out_name = name or study.name
    if out_name in [s.study_name for s in optuna.get_all_study_summaries(ostorage)]:
        raise ConfigError(
            f"An Optuna study named {out_name!r} already exists in {target!r}; choose "
            "another name or target."
        )
    dists = {n: _distribution(optuna, p) for n, p in study.space.items()}
    otrials = [_to_optuna(optuna, t, study.space, dists) for t in study.trials]
    ostudy = optuna.create_study(study_name=out_name, storage=ostorage, direction=study.direction)
    for key, value in study.user_attrs.items():
        ostudy.set_user_attr(key, value)
    ostudy.set_user_attr(SPACE_ATTR, study.space.to_dict())
    ostudy.add_trials(otrials)
    return out_name


def _distribution(optuna: Any, p: Any) -> Any:
    d = optuna.distributions
    if isinstance(p, Float):
        return d.FloatDistribution(p.low, p.high, log=p.log, step=p.step)
    if isinstance(p, Int):
        return d.IntDistribution(p.low, p.high, log=p.log, step=p.step)
    return d.CategoricalDistribution([_choice_out(c) for c in p.choices])


def _choice_out(c: Any) -> Any:
    return c if isinstance(c, _PRIMITIVE) else json.dumps(c)


def _to_optuna(optuna: Any, t: FrozenTrial, space: SearchSpace, dists: Mapping[str, Any]) -> Any:
    states = optuna.trial.TrialState
    state = {
        TrialState.COMPLETE: states.COMPLETE,
        TrialState.PRUNED: states.PRUNED,
        TrialState.FAILED: states.FAIL,
        TrialState.RUNNING: states.RUNNING,
        TrialState.WAITING: states.WAITING,
    }[t.state]
    user_attrs = dict(t.user_attrs)
    if t.metrics:
        user_attrs[METRICS_ATTR] = t.metrics
    params = {
        n: _choice_out(v) if isinstance(space[n], Categorical) else v for n, v in t.params.items()
    }
    trial = optuna.trial.create_trial(
        state=state,
        value=t.value if state in (states.COMPLETE, states.PRUNED) else None,
        params=params,
        distributions={n: dists[n] for n in params},
        user_attrs=user_attrs,
        system_attrs={"fail_reason": t.error} if t.error else None,
        intermediate_values=dict(t.intermediate),
    )
    if state != states.WAITING:  # create_trial stamps "now"; keep hpo's times
        trial.datetime_start = t.started_at or trial.datetime_start
    if state.is_finished():
        trial.datetime_complete = t.finished_at or trial.datetime_complete
    else:
        trial.datetime_complete = None
    return trial
