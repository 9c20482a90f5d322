"""Model families by name, loaded lazily so the core never imports them at import time.

A model family is a class with ``__init__(*, metric=None, **options)`` and
``fit(params, data, reporter) -> TrialResult``; see :mod:`hpo.objective`.
Built-ins live in the ``models`` package; users add their own with
:func:`register_model`.
"""

from __future__ import annotations

import importlib
from typing import Any

from hpo.errors import ConfigError

_BUILTIN: dict[str, str] = {
    "sklearn-mlp-classifier": "hpo.models.sklearn_mlp:SklearnMLPClassifierTrainer",
    "sklearn-mlp-regressor": "hpo.models.sklearn_mlp:SklearnMLPRegressorTrainer",
    "sklearn-sgd-classifier": "hpo.models.sklearn_sgd:SklearnSGDClassifierTrainer",
    "sklearn-sgd-regressor": "hpo.models.sklearn_sgd:SklearnSGDRegressorTrainer",
    "torch-mlp-classifier": "hpo.models.torch_fcnn:TorchMLPClassifierTrainer",
    "torch-mlp-regressor": "hpo.models.torch_fcnn:TorchMLPRegressorTrainer",
}
_USER: dict[str, Any] = {}


def register_model(name: str, trainer_cls: Any) -> None:
    """Make ``trainer_cls`` available as ``model=name`` in studies and the CLI.

    ``trainer_cls`` may be a class or an ``"module:attribute"`` import path (the path
    form also works in worker processes that never ran the registering code).
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"A model name must be a non-empty string. Got {name!r}.")
    _USER[name] = trainer_cls


def model_names() -> list[str]:
    return sorted({*_BUILTIN, *_USER})


def get_model(name: str) -> Any:
    """The trainer class registered as ``name``."""
    target = _USER.get(name, _BUILTIN.get(name))
    if target is None:
        raise ConfigError(
            f"Unknown model {name!r}; use one of {model_names()} or register_model()."
        )
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            extra = " Install it with: pip install 'hpo[torch]'." if "torch" in name else ""
            raise ConfigError(f"Model {name!r} cannot be loaded: {e}.{extra}") from e
        return getattr(module, attr)
    return target
