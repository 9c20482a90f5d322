"""Mistakes that would be the same for every trial, found once at ``create_study``.

A study that cannot run one trial should not be created at all: otherwise it stores N
FAILED trials that all print the same message. These checks run before anything is
written: the objective's signature, the seed, user attrs, a grid over a space that
has no finite grid, search-space names the model family does not know, and a dataset
file that cannot be loaded (text columns, NaNs, no rows).
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hpo.errors import ConfigError, InvalidSpaceError
from hpo.jsonable import to_jsonable
from hpo.space import SearchSpace
from hpo.validation import Interval, check_param

__all__ = [
    "check_objective",
    "check_seed",
    "check_user_attrs",
    "check_grid",
    "check_model_params",
    "check_dataset",
    "MAX_SEED",
]

MAX_SEED = 2**31 - 1  # the seed column is a 32-bit INTEGER on PostgreSQL


def check_objective(fn: Any, *, owner: str = "create_study") -> Callable[..., Any]:
    """``fn`` if it can be called as ``fn(params, reporter)``; else ConfigError.

    ``hpo worker --objective os:system`` names a callable that takes one argument: it
    is refused here instead of failing every trial.
    """
    if not callable(fn):
        raise ConfigError(
            f"The 'objective' parameter of {owner} must be callable(params, reporter). "
            f"Got {fn!r} instead."
        )
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have none: judged when called
        return fn  # type: ignore[no-any-return]
    try:
        signature.bind(None, None)
    except TypeError:
        name = getattr(fn, "__qualname__", None) or type(fn).__name__
        module = getattr(fn, "__module__", None)
        shown = f"{module}.{name}" if module else name
        raise ConfigError(
            f"The 'objective' parameter of {owner} must accept two arguments "
            f"(params, reporter). Got {shown}{signature} instead."
        ) from None
    return fn  # type: ignore[no-any-return]


def check_seed(seed: Any, *, owner: str = "create_study") -> int | None:
    """``seed`` as an int in [0, 2**31 - 1] (numpy ints too), or None."""
    if seed is None:
        return None
    check_param("seed", seed, [Interval(int, 0, MAX_SEED)], owner=owner)
    return int(seed)


def check_user_attrs(attrs: Any, *, owner: str = "create_study") -> dict[str, Any]:
    """``attrs`` as plain JSON data (numpy scalars converted); ConfigError naming the key."""
    if attrs is None:
        return {}
    if not isinstance(attrs, Mapping):
        raise ConfigError(
            f"The 'user_attrs' parameter of {owner} must be a dict. Got {attrs!r} instead."
        )
    return to_jsonable(dict(attrs), "user_attrs")  # type: ignore[no-any-return]


def check_grid(sampler: Any, space: SearchSpace) -> None:
    """A grid sampler needs every parameter to have a finite grid (a Float needs step=)."""
    if getattr(sampler, "name", None) != "grid":
        return
    for name in space:
        try:
            space[name].grid_values()
        except InvalidSpaceError as e:
            raise InvalidSpaceError(f"sampler='grid' cannot walk parameter {name!r}: {e}") from None


def check_model_params(model: str, trainer_cls: Any, space: SearchSpace) -> None:
    """Every search-space name must be a parameter the model family accepts.

    Families say so with ``accepts_param(name)`` and list them with ``param_names()``
    (see :class:`hpo.models.base.EpochTrainer`); a user-registered family without them is
    not checked.
    """
    accepts = getattr(trainer_cls, "accepts_param", None)
    if accepts is None:
        return
    unknown = [name for name in space.names if not accepts(name)]
    if unknown:
        names = getattr(trainer_cls, "param_names", None)
        valid = list(names()) if callable(names) else []
        raise InvalidSpaceError(
            f"Search-space parameter {unknown[0]!r} is not a parameter of model {model!r}; "
            f"valid names are {valid}. Fix the spelling or remove it."
        )


def check_dataset(spec: Mapping[str, Any] | None) -> Any:
    """Load a stored dataset spec once, so a bad file fails here rather than in every trial.

    Returns:
        The loaded Dataset of a file spec (None for built-in and generated datasets, which
        are not loaded here): the caller hands it to the study's objective, so the file is
        not parsed a second time by the process that trains (or by each forked worker).
    """
    if spec is None or "path" not in spec:
        return None  # built-in and generated datasets are known to load
    from hpo.models.datasets import load_dataset

    try:
        data = load_dataset(dict(spec))
    except ConfigError:
        if _has_no_rows(Path(spec["path"])):
            raise ConfigError(
                f"The 'dataset' file {spec['path']!r} has no data rows. "
                "Give a file with at least one row per class."
            ) from None
        raise
    if data.n_samples == 0:
        raise ConfigError(f"The 'dataset' file {spec['path']!r} has no data rows.")
    return data


def _has_no_rows(path: Path) -> bool:
    if path.suffix.lower() != ".csv":
        return False
    try:
        with path.open() as f:
            lines = list(itertools.islice(f, 2))
    except OSError:
        return False
    return len(lines) < 2 or not lines[1].strip()
