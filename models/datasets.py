"""Datasets for model families: built-ins, generated toy problems and user data.

A dataset spec is one of:

- a built-in name (:func:`dataset_names`): scikit-learn's shipped loaders
  (``digits``, ``breast_cancer``, ``wine``, ``iris``, ``diabetes``; nothing is
  downloaded), generated problems (``xor``, ``moons``, ``poly``), ``concrete``
  (Yeh 1998, shipped as ``models/data/concrete.csv``; see its README) and the
  MNIST-format image sets ``mnist`` and ``fashion_mnist`` read from IDX files
  (:mod:`hpo.models.idx`: where they are looked for, options ``path``, ``n_train``,
  ``n_test``);
- a dict: ``{"name": "moons", "n_samples": 500, "noise": 0.2}`` (options of a
  generated dataset) or ``{"path": "data.csv", "target": "y"}``; any dict may
  also say ``"task"`` (to override inference) and ``"seed"``;
- a path to a ``.csv`` (needs ``target``, the label column) or ``.npz`` file
  (arrays ``X`` and ``y``, or ``X`` and the array named by ``target``);
- a tuple ``(X, y)`` of arrays, or a :class:`Dataset`.

Everything becomes a :class:`Dataset` with ``X`` of shape (n, d) float64 and ``y``
of shape (n,): class indices 0..k-1 for classification (original labels kept in
``classes``), float64 for regression. Image sets keep ``X`` as float32 (the full
Fashion-MNIST is 70,000 x 784) and carry their official test split: the last
``n_test`` rows are the t10k images, and :func:`hpo.models.splits.make_folds` tests on
exactly those instead of splitting off ``test_size``. In-memory arrays work in-process, but only
names, dicts and paths can be stored in a study (:func:`dataset_to_spec`), because
workers in other processes must be able to load the data themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hpo.errors import ConfigError
from hpo.models import idx

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")

_SKLEARN = ("breast_cancer", "diabetes", "digits", "iris", "wine")
_GENERATED: dict[str, dict[str, Any]] = {  # name -> accepted options and their defaults
    "xor": {"n_repeats": 1, "noise": 0.0},
    "moons": {"n_samples": 200, "noise": 0.2},
    "poly": {"n_samples": 200, "n_features": 1, "degree": 3, "noise": 0.1},
}
_SHIPPED = {"concrete": ("concrete.csv", "compressive_strength")}  # name -> (file in data/, target)
_IMAGE_OPTIONS = ("path", "n_train", "n_test")
_CLASS_NAMES = {
    "fashion_mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
}
_COMMON_KEYS = ("task", "seed")
_MAX_CLASSES_INFERRED = 20  # integral targets with more distinct values are regression


@dataclass
class Dataset:
    """Features and targets ready for a model family.

    Attributes:
        name: a short label (the built-in name or the file name).
        X: (n, d) float64 features, finite (float32 for image sets).
        y: (n,) targets: int class indices 0..k-1, or float64 for regression.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        feature_names: d column names.
        classes: the original label of each class index (None for regression).
        spec: a JSON-able spec that reloads this dataset, or None for in-memory arrays.
        n_test: the last ``n_test`` rows are the dataset's own test set (t10k for
            image sets); 0 when it has none and a trainer splits one off.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: Task
    feature_names: list[str]
    classes: list | None = None
    spec: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    n_test: int = 0

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return 0 if self.classes is None else len(self.classes)


def dataset_names() -> list[str]:
    """The built-in dataset names, sorted."""
    return sorted((*_SKLEARN, *_GENERATED, *_SHIPPED, *idx.IMAGE_SETS))


def load_dataset(spec: Any, *, target: str | None = None, seed: int = 0) -> Dataset:
    """Load any dataset spec (see the module docstring) as a :class:`Dataset`.

    Args:
        spec: a built-in name, a dict spec, a ``.csv``/``.npz`` path, ``(X, y)`` or a Dataset.
        target: the label column (CSV) or array name (npz); a dict's ``"target"`` wins.
        seed: seeds generated datasets (``xor`` noise, ``moons``, ``poly``); a dict's
            ``"seed"`` wins.

    Returns:
        The dataset, with labels encoded to 0..k-1 for classification.

    Raises:
        ConfigError: unknown name or option, missing file or column, non-numeric or NaN
            features, empty data, a single class; the message names the fix.
    """
    if isinstance(spec, Dataset):
        return spec
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise ConfigError(
                f"A dataset given as a tuple must be (X, y); got a tuple of {len(spec)} items."
            )
        X, y = spec
        names = [str(c) for c in X.columns] if hasattr(X, "columns") else None
        return _finalize("arrays", X, y, names, task=None, spec=None)
    if isinstance(spec, Path) or isinstance(spec, str):
        return _load_dict(
            {"path": spec} if _looks_like_path(spec) else {"name": spec}, target, seed
        )
    if isinstance(spec, Mapping):
        return _load_dict(dict(spec), target, seed)
    raise ConfigError(
        f"A dataset must be a built-in name, a dict, a .csv/.npz path, an (X, y) tuple or a "
        f"Dataset; got {type(spec).__name__}. Built-in names: {dataset_names()}."
    )


def dataset_to_spec(
    spec: Any, *, target: str | None = None, seed: int | None = None
) -> dict[str, Any]:
    """A JSON-able spec that reloads ``spec`` in another process (for storing in a study).

    Paths become absolute; ``seed`` (if given) is recorded for generated datasets so every
    worker generates the same data. ``load_dataset(dataset_to_spec(s))`` equals
    ``load_dataset(s)``.

    Raises:
        ConfigError: for in-memory arrays (they cannot be stored), or a bad spec.
    """
    if isinstance(spec, Dataset):
        if spec.spec is None:
            raise _not_storable()
        return dict(spec.spec)
    if isinstance(spec, tuple):
        raise _not_storable()
    if isinstance(spec, (str, Path)):
        out: dict[str, Any] = {"path": spec} if _looks_like_path(spec) else {"name": spec}
    elif isinstance(spec, Mapping):
        out = dict(spec)
    else:
        load_dataset(spec)  # raises the generic message
        raise _not_storable()
    image_set = out.get("name") in idx.IMAGE_SETS
    if target is not None and "path" in out and not image_set:
        out.setdefault("target", target)
    if seed is not None and (out.get("name") in _GENERATED or image_set):
        out.setdefault("seed", int(seed))
    _check_keys(out)
    if image_set:  # fail before the study is stored, not in every worker
        _image_options(
            out["name"], {k: v for k, v in out.items() if k not in ("name", *_COMMON_KEYS)}
        )
        if "path" in out:
            out["path"] = str(Path(out["path"]).expanduser().resolve())
        idx.find_files(out["name"], out.get("path"))
    elif "path" in out:
        out["path"] = str(Path(out["path"]).expanduser().resolve())
        if not Path(out["path"]).is_file():
            raise ConfigError(f"Dataset file {out['path']!r} does not exist. Check the path.")
    elif out["name"] not in dataset_names():
        raise _unknown_name(out["name"])
    return out


# --- loaders -------------------------------------------------------------------------


def _load_dict(spec: dict[str, Any], target: str | None, seed: int) -> Dataset:
    _check_keys(spec)
    task = spec.get("task")
    seed = int(spec.get("seed", seed))
    if "path" in spec and spec.get("name") not in idx.IMAGE_SETS:
        path = Path(spec["path"]).expanduser()
        tgt = spec.get("target", target)
        stored = {**spec, "path": str(path.resolve())}
        if tgt is not None:
            stored["target"] = tgt
        X, y, names = _read_file(path, tgt)
        return _finalize(path.name, X, y, names, task=task, spec=stored)
    name = spec["name"]
    options = {k: v for k, v in spec.items() if k not in ("name", *_COMMON_KEYS)}
    if name in _SKLEARN:
        if options:
            raise ConfigError(f"Dataset {name!r} takes no options; got {sorted(options)}.")
        X, y, names, classes = _load_sklearn(name)
        ds = _finalize(name, X, y, names, task=task, spec=dict(spec))
        if classes is not None and ds.task != "regression":
            ds.classes = classes
        return ds
    if name in _SHIPPED:
        if options:
            raise ConfigError(f"Dataset {name!r} takes no options; got {sorted(options)}.")
        file, column = _SHIPPED[name]
        X, y, names = _read_csv(Path(__file__).with_name("data") / file, column)
        return _finalize(name, X, y, names, task=task, spec=dict(spec))
    if name in idx.IMAGE_SETS:
        opts = _image_options(name, options)
        X, y, n_test, _ = idx.load_image_set(
            name,
            opts.get("path"),
            n_train=opts.get("n_train"),
            n_test=opts.get("n_test"),
            seed=seed,
        )
        side = int(round(np.sqrt(X.shape[1])))
        names = (
            [f"px{r}_{c}" for r in range(side) for c in range(side)]
            if side * side == X.shape[1]
            else None
        )
        ds = _finalize(name, X, y, names, task=task or "multiclass", spec=dict(spec), n_test=n_test)
        if name in _CLASS_NAMES and ds.classes == list(range(len(_CLASS_NAMES[name]))):
            ds.classes = list(_CLASS_NAMES[name])
        return ds
    if name in _GENERATED:
        X, y = _generate(name, options, seed)
        names = [f"x{i}" for i in range(X.shape[1])]
        default_task = "regression" if name == "poly" else None
        return _finalize(name, X, y, names, task=task or default_task, spec=dict(spec))
    raise _unknown_name(name)


def _load_sklearn(name: str) -> tuple[np.ndarray, np.ndarray, list[str] | None, list | None]:
    from sklearn import datasets as skd

    bunch = getattr(skd, f"load_{name}")()
    names = [str(n) for n in getattr(bunch, "feature_names", [])] or None
    target_names = getattr(bunch, "target_names", None)
    classes = None if target_names is None else np.asarray(target_names).tolist()
    return bunch.data, bunch.target, names, classes


def _generate(name: str, options: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    accepted = _GENERATED[name]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(
            f"Unknown option(s) {unknown} for dataset {name!r}; accepted: {sorted(accepted)} "
            f"(plus {list(_COMMON_KEYS)})."
        )
    opt = {**accepted, **options}
    for key, default in accepted.items():
        value = opt[key]
        if isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(
                    f"Option {key!r} of dataset {name!r} must be an int >= 1. Got {value!r} "
                    f"instead."
                )
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ConfigError(
                f"Option {key!r} of dataset {name!r} must be a float >= 0. Got {value!r} instead."
            )
    rng = np.random.default_rng(seed)
    if name == "xor":  # the truth table, repeated n_repeats times, with optional Gaussian jitter
        table = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        X = np.tile(table, (int(opt["n_repeats"]), 1))
        y = np.tile(np.array([0, 1, 1, 0]), int(opt["n_repeats"]))
        return X + rng.normal(0.0, float(opt["noise"]), X.shape), y
    if name == "moons":
        from sklearn.datasets import make_moons

        return make_moons(
            n_samples=int(opt["n_samples"]), noise=float(opt["noise"]), random_state=seed
        )
    # poly: y = sum_j p(x_j) + noise, p a random polynomial of the given degree, x in [-1, 1]
    n, d = int(opt["n_samples"]), int(opt["n_features"])
    X = rng.uniform(-1.0, 1.0, size=(n, d))
    coef = rng.normal(0.0, 1.0, size=int(opt["degree"]) + 1)
    y = np.polynomial.polynomial.polyval(X, coef).sum(axis=1)
    return X, y + rng.normal(0.0, float(opt["noise"]), n)


def _image_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Check the options of an image set (``path``, ``n_train``, ``n_test``)."""
    unknown = sorted(set(options) - set(_IMAGE_OPTIONS))
    if unknown:
        raise ConfigError(
            f"Unknown option(s) {unknown} for dataset {name!r}; accepted: "
            f"{list(_IMAGE_OPTIONS)} (plus {list(_COMMON_KEYS)})."
        )
    for key in ("n_train", "n_test"):
        value = options.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
        ):
            raise ConfigError(
                f"Option {key!r} of dataset {name!r} must be an int >= 1 or None. Got {value!r} "
                f"instead."
            )
    path = options.get("path")
    if path is not None and not isinstance(path, (str, Path)):
        raise ConfigError(
            f"Option 'path' of dataset {name!r} must be a folder (str). Got {path!r} instead."
        )
    return options


def _read_file(path: Path, target: str | None) -> tuple[Any, np.ndarray, list[str] | None]:
    if not path.is_file():
        raise ConfigError(
            f"Dataset file {str(path)!r} does not exist. Check the path (relative to "
            f"{str(Path.cwd())!r})."
        )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, target)
    if suffix == ".npz":
        return _read_npz(path, target)
    raise ConfigError(
        f"Dataset file {str(path)!r} must end in .csv or .npz; got {suffix or 'no suffix'!r}."
    )


def _read_csv(path: Path, target: str | None) -> tuple[Any, np.ndarray, list[str]]:
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError as e:
        raise ConfigError(f"Dataset file {str(path)!r} is empty.") from e
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ConfigError(f"Dataset file {str(path)!r} is not a readable CSV: {e}") from e
    columns = [str(c) for c in frame.columns]
    if target is None:
        raise ConfigError(
            f"CSV dataset {path.name!r} needs target=<label column>; columns: {columns}."
        )
    if target not in frame.columns:
        raise ConfigError(
            f"CSV dataset {path.name!r} has no target column {target!r}; columns: {columns}."
        )
    features = frame.drop(columns=[target])
    bad = [
        str(c)
        for c in features.columns
        if not (
            pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c])
        )
    ]
    if bad:
        raise ConfigError(
            f"CSV dataset {path.name!r} has non-numeric feature column(s) {bad}; encode them as "
            f"numbers (e.g. one-hot) or drop them."
        )
    return (
        features.to_numpy(dtype=np.float64),
        frame[target].to_numpy(),
        [str(c) for c in features.columns],
    )


def _read_npz(path: Path, target: str | None) -> tuple[Any, np.ndarray, list[str] | None]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (ValueError, OSError) as e:
        raise ConfigError(f"Dataset file {str(path)!r} is not a readable .npz archive: {e}") from e
    y_key = target or "y"
    missing = [k for k in ("X", y_key) if k not in arrays]
    if missing:
        raise ConfigError(
            f"NPZ dataset {path.name!r} lacks array(s) {missing}; it has {sorted(arrays)}. "
            f"Save features as 'X' and targets as 'y' (or pass target=<array name>)."
        )
    names = arrays.get("feature_names")
    return arrays["X"], arrays[y_key], None if names is None else [str(n) for n in names]


# --- validation and encoding ----------------------------------------------------------


def _finalize(
    name: str,
    X: Any,
    y: Any,
    feature_names: list[str] | None,
    *,
    task: str | None,
    spec: dict | None,
    n_test: int = 0,
) -> Dataset:
    """Check shapes and values, infer the task, encode labels; the one place every loader ends."""
    y = np.asarray(y)
    X = _as_float_matrix(name, X, feature_names)
    n, d = X.shape
    if n == 0 or d == 0:
        raise ConfigError(
            f"Dataset {name!r} is empty: X has shape {X.shape}; it needs at least one row and one "
            f"feature."
        )
    feature_names = (
        feature_names if feature_names and len(feature_names) == d else [f"x{i}" for i in range(d)]
    )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1 or y.shape[0] != n:
        raise ConfigError(
            f"Dataset {name!r}: y must have shape ({n},) to match X {X.shape}; got {y.shape}."
        )
    not_finite = ~np.isfinite(X)
    if not_finite.any():
        cols = [feature_names[j] for j in np.flatnonzero(not_finite.any(axis=0))]
        raise ConfigError(
            f"Dataset {name!r} has NaN/inf in feature column(s) {cols[:10]} "
            f"({int(not_finite.any(axis=1).sum())} rows); impute or drop those rows."
        )
    if _has_missing(y):
        raise ConfigError(f"Dataset {name!r} has missing/NaN target values; drop those rows.")
    if task is not None and task not in TASKS:
        raise ConfigError(
            f"Dataset {name!r}: task must be one of {list(TASKS)}. Got {task!r} instead."
        )
    task = task or _infer_task(y)
    if task == "regression":
        try:
            y_float = y.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise ConfigError(
                f"Dataset {name!r}: task 'regression' needs numeric targets; got {y.dtype} values "
                f"such as {y[0]!r}."
            ) from e
        if not np.isfinite(y_float).all():
            raise ConfigError(f"Dataset {name!r} has inf target values; drop those rows.")
        return Dataset(name, X, y_float, "regression", feature_names, None, spec, n_test)
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ConfigError(
            f"Dataset {name!r} has only one class ({classes.tolist()}); classification needs at "
            f"least 2. "
            f"Check the target column, or use task='regression'."
        )
    inferred: Task = "binary" if len(classes) == 2 else "multiclass"
    if task == "binary" and inferred != "binary":
        raise ConfigError(
            f"Dataset {name!r}: task 'binary' needs 2 classes; got {len(classes)}. Use "
            f"task='multiclass'."
        )
    return Dataset(
        name, X, codes.astype(np.int64), inferred, feature_names, classes.tolist(), spec, n_test
    )


def _as_float_matrix(name: str, X: Any, feature_names: list[str] | None) -> np.ndarray:
    if hasattr(X, "select_dtypes"):  # a DataFrame: name the non-numeric columns
        bad = [str(c) for c in X.columns if X[c].dtype.kind not in "biuf"]
        if bad:
            raise ConfigError(
                f"Dataset {name!r} has non-numeric feature column(s) {bad}; encode them as "
                f"numbers or drop them."
            )
    arr = np.asarray(X)
    if arr.dtype == np.float32 and arr.ndim == 2:  # image sets: keep half the memory
        return arr
    if arr.ndim != 2:
        raise ConfigError(
            f"Dataset {name!r}: X must be 2-D (n_samples, n_features); got shape {arr.shape}. "
            f"Use X.reshape(-1, 1) for a single feature."
        )
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        pass
    names = (
        feature_names
        if feature_names and len(feature_names) == arr.shape[1]
        else [f"x{i}" for i in range(arr.shape[1])]
    )
    bad = []
    for j in range(arr.shape[1]):
        try:
            arr[:, j].astype(np.float64)
        except (TypeError, ValueError):
            bad.append(names[j])
    raise ConfigError(
        f"Dataset {name!r} has non-numeric feature column(s) {bad}; encode them as numbers or "
        f"drop them."
    )


def _has_missing(y: np.ndarray) -> bool:
    if y.dtype.kind == "f":
        return bool(np.isnan(y).any())
    if y.dtype.kind == "O":
        return any(v is None or (isinstance(v, float) and v != v) for v in y)
    return False


def _infer_task(y: np.ndarray) -> Task:
    """Non-numeric labels, or integral numbers with few distinct values, are classes."""
    if y.dtype.kind in "biu":
        n_unique = len(np.unique(y))
        return (
            "regression"
            if n_unique > _MAX_CLASSES_INFERRED
            else ("binary" if n_unique == 2 else "multiclass")
        )
    if y.dtype.kind == "f":
        n_unique = len(np.unique(y))
        if np.all(np.mod(y, 1) == 0) and n_unique <= _MAX_CLASSES_INFERRED:
            return "binary" if n_unique == 2 else "multiclass"
        return "regression"
    return "binary" if len(np.unique(y)) == 2 else "multiclass"


def _check_keys(spec: dict[str, Any]) -> None:
    named_folder = spec.get("name") in idx.IMAGE_SETS  # {"name": "mnist", "path": DIR}
    if ("name" in spec) == ("path" in spec) and not named_folder:
        raise ConfigError(
            f"A dataset dict needs exactly one of 'name' (one of {dataset_names()}) or 'path' "
            f"(a .csv/.npz file); got keys {sorted(spec)}."
        )
    if "path" in spec and "name" not in spec:
        unknown = sorted(set(spec) - {"path", "target", *_COMMON_KEYS})
        if unknown:
            raise ConfigError(
                f"Unknown key(s) {unknown} in a file dataset spec; accepted: ['path', 'target', "
                f"'task', 'seed']."
            )


def _looks_like_path(spec: str | Path) -> bool:
    text = str(spec)
    return (
        isinstance(spec, Path)
        or text.lower().endswith((".csv", ".npz"))
        or "/" in text
        or "\\" in text
    )


def _unknown_name(name: Any) -> ConfigError:
    return ConfigError(
        f"Unknown dataset {name!r}; use one of {dataset_names()} or a path to a .csv/.npz file."
    )


def _not_storable() -> ConfigError:
    return ConfigError(
        "A dataset given as in-memory arrays cannot be stored in the study; pass a file path "
        "(.csv or .npz) or a built-in name so other worker processes can load it."
    )


__all__ = ["Dataset", "Task", "TASKS", "dataset_names", "dataset_to_spec", "load_dataset"]
