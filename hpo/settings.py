"""StudySettings: how a study's workers behave, as one typed, validated, frozen value.

    settings = hpo.StudySettings(heartbeat_interval=2.0, grace_period=30.0, max_retries=2)
    hpo.create_study("demo", space=..., objective=..., settings=settings)
    hpo.create_study("demo", space=..., objective=..., heartbeat_interval=2.0)  # same thing

Settings are stored with the study (as a JSON dict), so every worker of the study, on
any machine, runs with the same ones. Every field is checked when the value is made,
with :mod:`hpo.validation`'s one message shape; a bad value raises
:class:`~hpo.errors.ConfigError` naming the field and nothing is written.

For code written against the earlier plain dict, a StudySettings also reads like a
read-only mapping (``settings["grace_period"]``, ``.get``, ``.items()``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from hpo.errors import ConfigError
from hpo.validation import Constraint, Interval, Predicate, validate

__all__ = ["StudySettings", "SETTING_NAMES"]


def _is_artifacts(value: Any) -> bool:
    return (
        value is None
        or value is False
        or (isinstance(value, (str, os.PathLike)) and str(value).strip() != "")
    )


_CONSTRAINTS: dict[str, list[Constraint]] = {
    "max_retries": [Interval(int, 0, 1000)],
    "heartbeat_interval": [Interval(float, 0.1, 3600)],
    "grace_period": [Interval(float, 0.5, 7 * 24 * 3600)],
    "keep_weights": [Interval(int, 0, None)],
    "artifacts": [Predicate(_is_artifacts, "None, False or a folder path (str or Path)")],
    "pruner": [
        Predicate(
            lambda v: isinstance(v, Mapping) and isinstance(v.get("name"), str),
            "a pruner config dict",
        )
    ],
}


@dataclass(frozen=True)
class StudySettings(Mapping[str, Any]):
    """How the workers of one study behave. Every field is validated on construction.

    Attributes:
        max_retries: re-queue a trial whose worker died (stale heartbeat) this many times.
        heartbeat_interval: seconds between heartbeats of a running trial (>= 0.1).
        grace_period: a RUNNING trial silent for this long is declared stale; at least
            twice ``heartbeat_interval``, so one late beat never fails a live trial.
        keep_weights: keep the trained weights of this many best trials (0: none).
        artifacts: root folder for trained weights; None: ``artifacts/`` next to the SQLite
            file (``hpo-artifacts/`` for other databases); False: keep no weights.
        pruner: a Pruner, a name ('none', 'median', 'asha') or a config dict; stored as
            the config dict.
    """

    max_retries: int = 1
    heartbeat_interval: float = 5.0
    grace_period: float = 60.0
    keep_weights: int = 5
    artifacts: str | Literal[False] | None = None
    pruner: Any = field(default_factory=lambda: {"name": "none"})

    def __post_init__(self) -> None:
        pruner = _pruner_config(self.pruner)
        object.__setattr__(self, "pruner", pruner)
        validate(_CONSTRAINTS, self._raw(), owner="StudySettings")
        for name in ("heartbeat_interval", "grace_period"):
            object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("max_retries", "keep_weights"):
            object.__setattr__(self, name, int(getattr(self, name)))
        if isinstance(self.artifacts, (str, os.PathLike)):
            object.__setattr__(self, "artifacts", str(Path(self.artifacts)))
        if self.grace_period < 2 * self.heartbeat_interval:
            raise ConfigError(
                f"The 'grace_period' parameter of StudySettings must be at least twice "
                f"heartbeat_interval ({self.heartbeat_interval:g} s), or live trials are declared "
                f"stale between two beats. Got {self.grace_period!r} instead."
            )

    def _raw(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # ---------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        base: StudySettings | Mapping[str, Any] | None = None,
        *,
        owner: str = "create_study",
        **overrides: Any,
    ) -> StudySettings:
        """``base`` (a StudySettings, a dict of fields or None) with keyword ``overrides``.

        Raises:
            ConfigError: an unknown field (named, with the valid ones) or a bad value.
        """
        if base is not None and not isinstance(base, (StudySettings, Mapping)):
            raise ConfigError(
                f"The 'settings' parameter of {owner} must be a StudySettings or a "
                f"dict. Got {base!r} instead."
            )
        given = dict(base.to_dict() if isinstance(base, StudySettings) else base or {})
        given.update(overrides)
        unknown = sorted(set(given) - set(SETTING_NAMES))
        if unknown:
            raise ConfigError(
                f"{owner} got unknown option(s) {unknown}; allowed: {sorted(SETTING_NAMES)}."
            )
        return cls(**given)

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> StudySettings:
        """The settings a study was stored with (fields of other hpo versions are ignored).

        Stored values are not re-validated: a study written by an older hpo stays readable.
        """
        known = {k: v for k, v in stored.items() if k in SETTING_NAMES}
        instance = object.__new__(cls)
        for f in fields(cls):
            default = (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            )
            object.__setattr__(instance, f.name, known.get(f.name, default))
        return instance

    def to_dict(self) -> dict[str, Any]:
        """The JSON dict stored with the study."""
        return {**self._raw(), "pruner": dict(self.pruner)}

    # ---------------------------------------------------------------- mapping view
    def __getitem__(self, key: str) -> Any:
        if key not in SETTING_NAMES:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(SETTING_NAMES)

    def __len__(self) -> int:
        return len(SETTING_NAMES)


def _pruner_config(spec: Any) -> Any:
    """The config dict of a pruner given as an instance, a name or a dict."""
    from hpo.pruning import Pruner, make_pruner

    if not isinstance(spec, (Pruner, str, Mapping)) and spec is not None:
        raise ConfigError(
            f"The 'pruner' parameter of StudySettings must be a Pruner, one of "
            f"'none', 'median', 'asha' or a config dict. Got {spec!r} instead."
        )
    try:
        return make_pruner(spec).to_config()
    except TypeError as e:
        raise ConfigError(
            f"The 'pruner' parameter of StudySettings has invalid options "
            f"({e}). Got {spec!r} instead."
        ) from None


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(StudySettings))
