"""Study files: a Python file that defines a study, run by ``hpo run FILE``.

A study file defines::

    def make_study(storage: str | None = None, sampler=None) -> hpo.Study:
        return hpo.create_study("digits-mlp", ..., storage=storage,
                                sampler=sampler or "random", load_if_exists=True)

    N_TRIALS = 40   # optional defaults for `hpo run`
    N_WORKERS = 2

and usually ``if __name__ == "__main__": make_study().optimize(N_TRIALS, n_workers=N_WORKERS)``.

The file is imported under a unique module name (so two files called ``study.py`` do not
clash) and registered with cloudpickle *by value*: objectives, samplers or classes defined
in the file travel to worker processes (local worker processes or Dask), which cannot
import the file by its module name.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from hpo.errors import ConfigError, HPOError

if TYPE_CHECKING:
    from hpo.study import Study

__all__ = ["StudyFile", "load_study_file", "load_attribute"]

_MODULE_PREFIX = "hpo_study_file_"


@dataclass(frozen=True)
class StudyFile:
    """A loaded study file: its module, its ``make_study`` and its optional defaults."""

    path: Path
    module: ModuleType
    n_trials: int | None
    n_workers: int | None

    @property
    def make_study(self) -> Callable[..., Any]:
        return self.module.make_study  # type: ignore[no-any-return]

    def build(self, *, storage: str | None = None, sampler: Any = None) -> Study:
        """Call ``make_study`` with the given overrides and check that it returned a Study.

        Only the overrides that are set are passed, so a ``make_study()`` without a
        ``sampler`` argument still works as long as no sampler is asked for.

        Raises:
            ConfigError: ``make_study`` lacks an argument that was asked for, raised
                something that is not an HPOError, or did not return a Study.
            HPOError: whatever hpo error ``make_study`` raised (its message is kept).
        """
        from hpo.study import Study

        kwargs = {k: v for k, v in (("storage", storage), ("sampler", sampler)) if v is not None}
        accepted = _accepted_kwargs(self.make_study)
        missing = [k for k in kwargs if accepted is not None and k not in accepted]
        if missing:
            raise ConfigError(
                f"make_study() in {self.path} takes no {missing[0]!r} argument, so "
                f"--{missing[0]} cannot be applied. Define make_study(storage=None, sampler=None)."
            )
        try:
            study = self.make_study(**kwargs)
        except HPOError:
            raise
        except Exception as e:  # noqa: BLE001 - user code: report where it failed, in one line
            raise ConfigError(f"make_study() in {self.path} raised {_describe(e)}") from e
        if not isinstance(study, Study):
            raise ConfigError(
                f"make_study() in {self.path} must return an hpo.Study (from hpo.create_study). "
                f"Got {type(study).__name__} instead."
            )
        return study


def _accepted_kwargs(fn: Callable[..., Any]) -> set[str] | None:
    """Names ``fn`` accepts as keywords, or None when it takes ``**kwargs``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _describe(error: BaseException) -> str:
    """``TypeError: message (at file.py:12)``, pointing at the innermost frame of the user's code.

    A SyntaxError happens before any of the file's code runs, so its traceback ends inside
    importlib; its own ``filename:lineno`` (and the offending line) say where it is instead.
    Frames of importlib itself (``<frozen ...>``) are never named.
    """
    if isinstance(error, SyntaxError) and error.filename:
        line = (error.text or "").strip()
        shown = f": {line}" if line else ""
        return f"{type(error).__name__}: {error.msg} (at {error.filename}:{error.lineno}{shown})"
    frames = [
        f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith("<frozen")
    ]
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def _module_name(path: Path) -> str:
    """A valid, unique-per-file module name such as ``hpo_study_file_digits_mlp_1a2b3c4d``."""
    stem = re.sub(r"\W", "_", path.stem)
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    return f"{_MODULE_PREFIX}{stem}_{digest}"


def _import_file(path: Path) -> ModuleType:
    """Import ``path`` as a fresh module, registered for pickling by value."""
    if not path.exists():
        raise ConfigError(
            f"Study file {str(path)!r} does not exist. Check the path "
            "(the examples live in studies/, e.g. studies/digits_mlp.py)."
        )
    if not path.is_file() or path.suffix != ".py":
        raise ConfigError(f"Study file {str(path)!r} must be a Python file ending in .py.")
    name = _module_name(path.resolve())
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"Cannot load {str(path)!r} as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # while it runs: dataclasses and the like look it up there
    try:
        spec.loader.exec_module(module)
    except HPOError:
        del sys.modules[name]
        raise
    except BaseException as e:  # SyntaxError, ImportError, SystemExit, ...: one clear line
        del sys.modules[name]
        if isinstance(e, KeyboardInterrupt):
            raise
        raise ConfigError(f"Study file {str(path)!r} failed to import: {_describe(e)}") from e
    _register_by_value(module)
    return module


def _register_by_value(module: ModuleType) -> None:
    """Make every pickler ship the file's functions and classes by value, not by name.

    cloudpickle (used for local worker processes) is told so directly. Dask first tries the standard
    pickle on a whole task, which would store ``module:function`` by name and fail in
    a worker; taking the module out of ``sys.modules`` (after it ran) makes that
    attempt fail here, so Dask falls back to cloudpickle as well.
    """
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - joblib depends on cloudpickle
        return
    try:
        cloudpickle.register_pickle_by_value(module)
    except ValueError:  # already registered
        pass
    sys.modules.pop(module.__name__, None)


def _default(module: ModuleType, attr: str, path: Path) -> int | None:
    value = getattr(module, attr, None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{attr} in {path} must be an int >= 1. Got {value!r} instead.")
    return value


def load_study_file(path: str | Path) -> StudyFile:
    """Import a study file and check that it defines ``make_study``.

    Raises:
        ConfigError: the file is missing, fails to import, has no callable ``make_study``,
            or has an invalid ``N_TRIALS`` / ``N_WORKERS``.
    """
    path = Path(path)
    module = _import_file(path)
    make_study = getattr(module, "make_study", None)
    if not callable(make_study):
        found = sorted(
            n
            for n, v in vars(module).items()
            if callable(v)
            and not n.startswith("_")
            and getattr(v, "__module__", None) == module.__name__
        )
        hint = f" It defines {found}." if found else ""
        raise ConfigError(
            f"Study file {str(path)!r} has no make_study() function.{hint} Define "
            "make_study(storage=None, sampler=None) returning hpo.create_study(..., "
            "load_if_exists=True)."
        )
    return StudyFile(
        path=path,
        module=module,
        n_trials=_default(module, "N_TRIALS", path),
        n_workers=_default(module, "N_WORKERS", path),
    )


def load_attribute(target: str) -> Any:
    """The object named by ``"package.module:attr"`` or ``"path/to/file.py:attr"``.

    The file form imports the file like a study file (by value for worker processes);
    it is what ``hpo worker --objective studies/my_study.py:objective`` uses.
    """
    location, sep, attr = target.rpartition(":")
    if not sep or not location or not attr:
        raise ConfigError(
            f"An objective must look like 'package.module:function' or "
            f"'path/to/file.py:function'. Got {target!r}."
        )
    if location.endswith(".py"):
        module = _import_file(Path(location))
        obj: Any = module
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise ConfigError(f"{location} has no attribute {attr!r}.")
            obj = getattr(obj, part)
        return obj
    from hpo.model_objective import import_callable

    return import_callable(target)


def describe_study_file(path: Path) -> str:
    """The first line of a study file's docstring (what ``hpo examples`` prints)."""
    import ast

    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError, ValueError):
        return ""
    return doc.strip().splitlines()[0] if doc.strip() else ""
