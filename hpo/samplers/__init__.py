"""Search strategies behind one interface (see :mod:`hpo.samplers.base`)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from hpo.errors import ConfigError
from hpo.samplers.base import Proposal, Sampler
from hpo.samplers.grid import GridSampler
from hpo.samplers.random import RandomSampler

__all__ = [
    "Sampler",
    "Proposal",
    "GridSampler",
    "RandomSampler",
    "GPSampler",
    "MultiFidelityGPSampler",
    "sampler_from_config",
    "make_sampler",
    "sampler_class",
]


def __getattr__(name: str) -> Any:  # GPSampler pulls in scipy.optimize; load it on first use
    if name == "GPSampler":
        from hpo.samplers.gp.sampler import GPSampler

        return GPSampler
    if name == "MultiFidelityGPSampler":
        from hpo.samplers.multifidelity import MultiFidelityGPSampler

        return MultiFidelityGPSampler
    if name in ("OptunaSampler",):
        from hpo.samplers import external

        return getattr(external, name)
    raise AttributeError(name)


# name -> "module:Class"; only the requested sampler is imported (the GP module pulls in
# scipy.stats and scipy.optimize, seconds of start-up that grid and random studies don't need).
_SAMPLERS: dict[str, str] = {
    "grid": "hpo.samplers.grid:GridSampler",
    "random": "hpo.samplers.random:RandomSampler",
    "gp": "hpo.samplers.gp.sampler:GPSampler",
    "optuna": "hpo.samplers.external:OptunaSampler",
    "mf-gp": "hpo.samplers.multifidelity:MultiFidelityGPSampler",
}


def sampler_class(name: str) -> type[Sampler]:
    """The sampler class registered under ``name`` (imported on first use)."""
    if name not in _SAMPLERS:
        raise ConfigError(f"Unknown sampler {name!r}; use one of {sorted(_SAMPLERS)}.")
    module_name, _, attr = _SAMPLERS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(f"Sampler {name!r} cannot be loaded: {e}.") from e
    cls: type[Sampler] = getattr(module, attr)
    return cls


def sampler_from_config(config: dict[str, Any]) -> Sampler:
    """Rebuild a sampler from ``Sampler.to_config()`` (as stored with a study)."""
    config = dict(config)
    name = config.pop("name", None)
    if not isinstance(name, str):
        raise ConfigError(
            f"A sampler config needs a 'name' (one of {sorted(_SAMPLERS)}). Got {name!r}."
        )
    return sampler_class(name)(**config)


def make_sampler(
    spec: Sampler | str | Mapping[str, Any] | None, *, seed: int | None = None
) -> Sampler:
    """A sampler from an instance, an alias (``"grid"``, ``"random"``, ``"gp"``) or config dict."""
    if isinstance(spec, Sampler):
        return spec
    if spec is None:
        return RandomSampler(seed=seed)
    if isinstance(spec, str):
        return sampler_from_config({"name": spec, "seed": seed})
    if isinstance(spec, Mapping):
        return sampler_from_config(dict(spec))
    raise ConfigError(
        f"sampler must be a Sampler, a name ('grid', 'random', 'gp') or a config dict. Got "
        f"{spec!r}."
    )
