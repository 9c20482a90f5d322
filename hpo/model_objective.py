"""Turning a stored (model, dataset, metric, options) spec into an objective callable.

This is how ``hpo worker STUDY`` can run a study it knows only from the database:
model families come from the registry, datasets from ``hpo.models.datasets``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from hpo.errors import ConfigError
from hpo.objective import Reporter, TrialResult
from hpo.registry import get_model


class ModelObjective:
    """``objective(params, reporter)`` that trains one registered model family on one dataset."""

    def __init__(
        self,
        model: str,
        dataset: Any,
        metric: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.dataset = dataset
        self.metric = metric
        self.options = dict(options or {})
        trainer_cls = get_model(model)
        try:
            self.trainer = trainer_cls(metric=metric, **self.options)
        except TypeError as e:
            raise ConfigError(f"model_options for {model!r} are invalid: {e}.") from e
        self._data: Any = None

    @property
    def data(self) -> Any:
        """The loaded Dataset (loaded on first use, in the process that trains)."""
        if self._data is None:
            from hpo.models.datasets import load_dataset

            self._data = load_dataset(self.dataset)
        return self._data

    def preload(self) -> ModelObjective:
        """Load the dataset now and return self.

        For in-memory data (arrays, a Dataset) that no stored spec can rebuild: loading
        checks it before a study is written, and the loaded arrays then travel with the
        objective to worker processes (a named or file dataset travels as its spec).
        """
        _ = self.data
        return self

    def adopt(self, data: Any) -> None:
        """Use ``data``, already loaded from this objective's own stored spec, as its dataset.

        ``create_study`` loads a dataset file to check it before writing the study; kept
        here, the file is not parsed again by the process that trains, nor by each worker
        forked from it (a fresh interpreter still loads it from the spec).
        """
        if self._data is None:
            self._data = data

    def __call__(self, params: dict[str, Any], reporter: Reporter) -> TrialResult:
        return self.trainer.fit(params, self.data, reporter)

    def __getstate__(self) -> dict[str, Any]:  # ship the spec to worker processes, not the arrays
        state = dict(self.__dict__)
        if isinstance(self.dataset, (str, Mapping)):
            state["_data"] = None
        return state


def metric_direction(metric: str | None, model: str) -> str:
    """'maximize' or 'minimize' for a model family's metric (its default metric if None)."""
    from hpo.models.metrics import default_metric, get_metric

    if metric is None:
        metric = default_metric("regression" if "regressor" in model else "multiclass")
    return "maximize" if get_metric(metric).greater_is_better else "minimize"


def callable_path(fn: Callable[..., Any]) -> str | None:
    """``"module:qualname"`` if a fresh process can import ``fn`` by that path, else None."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", "")
    if not module or module == "__main__" or not qualname or "<" in qualname:  # instances have none
        return None
    return f"{module}:{qualname}"


@lru_cache(maxsize=32)
def import_callable(path: str) -> Callable[..., Any]:
    """The object at ``"module:qualname"`` (used by ``hpo worker --objective``)."""
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname:
        raise ConfigError(
            f"An objective path must look like 'package.module:function'. Got {path!r}."
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(f"Cannot import objective module {module_name!r}: {e}.") from e
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"Module {module_name!r} has no attribute {qualname!r}.") from None
    return obj
