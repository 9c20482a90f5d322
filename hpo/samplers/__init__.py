"""Search strategies behind one interface (see :mod:`hpo.samplers.base`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpo.errors import ConfigError
from hpo.samplers.base import Proposal, Sampler
from hpo.samplers.grid import GridSampler
from hpo.samplers.random import RandomSampler

__all__ = ["Sampler", "Proposal", "GridSampler", "RandomSampler", "GPSampler", "sampler_from_config",
           "make_sampler"]


def __getattr__(name: str) -> Any:  # GPSampler pulls in scipy.optimize; load it on first use
    if name == "GPSampler":
        from hpo.samplers.gp.sampler import GPSampler

        return GPSampler
    if name in ("OptunaSampler",):
        from hpo.samplers import external

        return getattr(external, name)
    raise AttributeError(name)


def _registry() -> dict[str, type[Sampler]]:
    classes: dict[str, type[Sampler]] = {"grid": GridSampler, "random": RandomSampler}
    try:
        from hpo.samplers.gp.sampler import GPSampler

        classes["gp"] = GPSampler
    except ImportError:
        pass
    try:
        from hpo.samplers.external import OptunaSampler

        classes[OptunaSampler.name] = OptunaSampler
    except ImportError:
        pass
    return classes


def sampler_from_config(config: dict[str, Any]) -> Sampler:
    """Rebuild a sampler from ``Sampler.to_config()`` (as stored with a study)."""
    config = dict(config)
    name = config.pop("name", None)
    classes = _registry()
    if name not in classes:
        raise ConfigError(f"Unknown sampler {name!r}; use one of {sorted(classes)}.")
    return classes[name](**config)


def make_sampler(spec: Sampler | str | Mapping[str, Any] | None, *, seed: int | None = None) -> Sampler:
    """A sampler from an instance, an alias (``"grid"``, ``"random"``, ``"gp"``) or a config dict."""
    if isinstance(spec, Sampler):
        return spec
    if spec is None:
        return RandomSampler(seed=seed)
    if isinstance(spec, str):
        return sampler_from_config({"name": spec, "seed": seed})
    if isinstance(spec, Mapping):
        return sampler_from_config(dict(spec))
    raise ConfigError(
        f"sampler must be a Sampler, a name ('grid', 'random', 'gp') or a config dict. Got {spec!r}."
    )
