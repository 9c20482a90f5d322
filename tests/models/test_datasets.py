"""Dataset loading, validation messages, and splits without leakage."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from hpo.errors import ConfigError
from hpo.models.datasets import Dataset, dataset_names, dataset_to_spec, load_dataset
from hpo.models.splits import make_folds, shared_folds


@pytest.mark.parametrize(
    ("name", "shape", "task", "n_classes"),
    [
        ("digits", (1797, 64), "multiclass", 10),
        ("breast_cancer", (569, 30), "binary", 2),
        ("wine", (178, 13), "multiclass", 3),
        ("iris", (150, 4), "multiclass", 3),
        ("diabetes", (442, 10), "regression", 0),
        ("xor", (4, 2), "binary", 2),
        ("moons", (200, 2), "binary", 2),
        ("poly", (200, 1), "regression", 0),
    ],
)
def test_builtin_datasets_load_as_float_matrices(name, shape, task, n_classes):
    ds = load_dataset(name)
    assert ds.X.shape == shape and ds.X.dtype == np.float64
    assert ds.y.shape == (shape[0],)
    assert (ds.task, ds.n_classes) == (task, n_classes)
    assert len(ds.feature_names) == shape[1]
    if n_classes:
        assert set(np.unique(ds.y)) == set(range(n_classes))


def test_dataset_names_lists_every_builtin():
    assert dataset_names() == [
        "breast_cancer",
        "concrete",
        "diabetes",
        "digits",
        "fashion_mnist",
        "iris",
        "mnist",
        "moons",
        "poly",
        "wine",
        "xor",
    ]


def test_builtin_keeps_original_class_names():
    assert load_dataset("breast_cancer").classes == ["malignant", "benign"]


def test_xor_is_the_truth_table_and_repeats_with_noise():
    ds = load_dataset("xor")
    np.testing.assert_array_equal(ds.X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(ds.y, [0, 1, 1, 0])
    noisy = load_dataset({"name": "xor", "n_repeats": 25, "noise": 0.1}, seed=3)
    assert noisy.X.shape == (100, 2) and not np.allclose(noisy.X, np.round(noisy.X))


def test_generated_datasets_follow_options_and_seed():
    a = load_dataset({"name": "moons", "n_samples": 50, "noise": 0.3}, seed=1)
    b = load_dataset({"name": "moons", "n_samples": 50, "noise": 0.3, "seed": 1})
    c = load_dataset({"name": "moons", "n_samples": 50, "noise": 0.3}, seed=2)
    assert a.X.shape == (50, 2)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    poly = load_dataset({"name": "poly", "n_samples": 30, "n_features": 3, "degree": 2})
    assert poly.X.shape == (30, 3) and poly.task == "regression"


def test_arrays_encode_string_labels_and_keep_them():
    X = np.arange(12.0).reshape(6, 2)
    ds = load_dataset((X, np.array(["b", "a", "c", "a", "b", "c"])))
    assert ds.task == "multiclass" and ds.classes == ["a", "b", "c"]
    np.testing.assert_array_equal(ds.y, [1, 0, 2, 0, 1, 2])


def test_task_inference_and_override():
    X = np.random.default_rng(0).normal(size=(60, 2))
    assert load_dataset((X, np.linspace(0, 1, 60))).task == "regression"
    assert load_dataset((X, np.arange(60) % 2 * 5.0)).task == "binary"
    assert load_dataset((X, np.arange(60))).task == "regression"  # many integer values
    assert load_dataset({"name": "iris", "task": "regression"}).task == "regression"


def test_csv_and_npz_files(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [0, 1, 0, 1], "label": ["x", "y", "x", "y"]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    ds = load_dataset(str(tmp_path / "d.csv"), target="label")
    assert ds.feature_names == ["a", "b"] and ds.classes == ["x", "y"] and ds.name == "d.csv"
    same = load_dataset({"path": tmp_path / "d.csv", "target": "label"})
    np.testing.assert_array_equal(ds.X, same.X)
    np.savez(tmp_path / "d.npz", X=np.ones((5, 3)), y=np.arange(5) * 0.5, other=np.arange(5) % 2)
    assert load_dataset(tmp_path / "d.npz").task == "regression"
    assert load_dataset(tmp_path / "d.npz", target="other").task == "binary"


def test_dataset_to_spec_is_json_and_reloads(tmp_path):
    pd.DataFrame({"a": [1.0, 2, 3, 4], "y": [0, 1, 0, 1]}).to_csv(tmp_path / "d.csv", index=False)
    spec = dataset_to_spec(str(tmp_path / "d.csv"), target="y")
    assert json.loads(json.dumps(spec)) == spec and spec["path"].startswith("/")
    np.testing.assert_array_equal(
        load_dataset(spec).X, load_dataset(tmp_path / "d.csv", target="y").X
    )
    assert dataset_to_spec("digits") == {"name": "digits"}
    assert dataset_to_spec({"name": "moons", "n_samples": 50}, seed=4) == {
        "name": "moons",
        "n_samples": 50,
        "seed": 4,
    }
    assert dataset_to_spec(load_dataset("wine")) == {"name": "wine"}


def test_in_memory_arrays_work_but_cannot_be_stored():
    X, y = np.eye(4), np.array([0, 1, 0, 1])
    ds = load_dataset((X, y))
    assert isinstance(ds, Dataset) and load_dataset(ds) is ds
    for spec in ((X, y), ds):
        with pytest.raises(
            ConfigError, match="pass a file path .* so other worker processes can load it"
        ):
            dataset_to_spec(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "mnst",
            "Unknown dataset 'mnst'; use one of ['breast_cancer', 'concrete', 'diabetes', 'digits'",
        ),
        (
            {"name": "moons", "noize": 0.1},
            "Unknown option(s) ['noize'] for dataset 'moons'; accepted: ['n_samples', 'noise']",
        ),
        (
            {"name": "moons", "n_samples": 0},
            "Option 'n_samples' of dataset 'moons' must be an int >= 1. Got 0 instead.",
        ),
        ({"name": "iris", "n_samples": 5}, "Dataset 'iris' takes no options"),
        ({"target": "y"}, "A dataset dict needs exactly one of 'name'"),
        ("missing.csv", "Dataset file 'missing.csv' does not exist"),
        (
            (np.ones((3, 2)), np.array([1, 1, 1])),
            "has only one class ([1]); classification needs at least 2",
        ),
        ((np.ones((0, 2)), np.array([])), "is empty: X has shape (0, 2)"),
        (
            (np.array([[1.0, np.nan], [2.0, 3.0]]), np.array([0, 1])),
            "NaN/inf in feature column(s) ['x1'] (1 rows); impute or drop",
        ),
        (
            (np.ones(4), np.array([0, 1, 0, 1])),
            "X must be 2-D (n_samples, n_features); got shape (4,)",
        ),
        ((np.ones((4, 2)), np.array([0, 1])), "y must have shape (4,) to match X (4, 2); got (2,)"),
        (
            (pd.DataFrame({"a": [1.0, 2], "c": ["u", "v"]}), np.array([0, 1])),
            "non-numeric feature column(s) ['c']",
        ),
        (
            {"name": "iris", "task": "ordinal"},
            "task must be one of ['binary', 'multiclass', 'regression']. Got 'ordinal'",
        ),
        (42, "A dataset must be a built-in name, a dict, a .csv/.npz path"),
    ],
)
def test_bad_input_names_the_field_and_fix(spec, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_dataset(spec)


def test_bad_files_name_the_columns_and_keys(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2], "city": ["x", "y"], "y": [0, 1]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(
        ConfigError, match=re.escape("has no target column 'label'; columns: ['a', 'city', 'y']")
    ):
        load_dataset(tmp_path / "d.csv", target="label")
    with pytest.raises(
        ConfigError, match=re.escape("needs target=<label column>; columns: ['a', 'city', 'y']")
    ):
        load_dataset(tmp_path / "d.csv")
    with pytest.raises(
        ConfigError, match=re.escape("non-numeric feature column(s) ['city']; encode them")
    ):
        load_dataset(tmp_path / "d.csv", target="y")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ConfigError, match="is empty"):
        load_dataset(tmp_path / "empty.csv", target="y")
    np.savez(tmp_path / "d.npz", features=np.ones((2, 2)))
    with pytest.raises(
        ConfigError, match=re.escape("lacks array(s) ['X', 'y']; it has ['features']")
    ):
        load_dataset(tmp_path / "d.npz")
    (tmp_path / "d.txt").write_text("1,2")
    with pytest.raises(ConfigError, match=re.escape("must end in .csv or .npz; got '.txt'")):
        load_dataset(tmp_path / "d.txt")


# --- splits ----------------------------------------------------------------------------


def test_holdout_split_is_stratified_seeded_and_disjoint():
    ds = load_dataset("breast_cancer")
    s = make_folds(ds, test_size=0.2, validation_fraction=0.25, seed=0)
    assert len(s.folds) == 1 and len(s.test_idx) == 114 and len(s.train_idx) == 455
    assert not set(s.train_idx) & set(s.test_idx)
    fold = s.folds[0]
    assert len(fold.y_train) + len(fold.y_val) == 455
    for part in (fold.y_train, fold.y_val, s.y_test):  # class ratio kept in every part
        assert abs(part.mean() - ds.y.mean()) < 0.02
    again = make_folds(ds, test_size=0.2, validation_fraction=0.25, seed=0)
    np.testing.assert_array_equal(s.test_idx, again.test_idx)
    assert not np.array_equal(make_folds(ds, seed=1).test_idx, s.test_idx)


def test_scaler_is_fitted_on_training_rows_only():
    s = make_folds(load_dataset("wine"), cv=3, seed=0)
    for fold in [*s.folds, s.final]:
        np.testing.assert_allclose(fold.X_train.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(fold.X_train.std(axis=0), 1.0, atol=1e-12)
        assert np.abs(fold.X_val.mean(axis=0)).max() > 1e-3  # validation rows not used to fit
    np.testing.assert_allclose(s.final.X_val, s.final.transform(s.X_test))


def test_cv_folds_partition_the_training_part():
    ds = load_dataset("iris")
    s = make_folds(ds, cv=4, seed=0)
    assert len(s.folds) == 4
    assert sum(len(f.y_val) for f in s.folds) == len(s.train_idx) == 120
    for f in s.folds:
        assert np.bincount(f.y_val).min() >= 9  # stratified: every class in every fold


def test_regression_target_standardization_is_reversible():
    s = make_folds(load_dataset("diabetes"), standardize_target=True, seed=0)
    fold = s.folds[0]
    assert abs(fold.y_train.mean()) < 1e-12 and abs(fold.y_train.std() - 1) < 1e-12
    raw = make_folds(load_dataset("diabetes"), seed=0).folds[0]
    np.testing.assert_allclose(fold.unscale_y(fold.y_val), raw.y_val)


def test_zero_fractions_validate_on_training_rows():
    s = make_folds(load_dataset("xor"), test_size=0, validation_fraction=0)
    np.testing.assert_array_equal(s.folds[0].X_val, s.folds[0].X_train)
    assert s.X_test.shape == (0, 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"test_size": 1.0},
            "The 'test_size' parameter of make_folds must be a float in [0, 1). Got 1.0 instead.",
        ),
        ({"cv": 1}, "The 'cv' parameter of make_folds must be an int >= 2 or None. Got 1 instead."),
        ({}, "Cannot split 4 rows with test_size=0.2"),
    ],
)
def test_bad_split_options(kwargs, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_folds(load_dataset("xor"), **kwargs)


def _assert_same_splits(a, b) -> None:
    np.testing.assert_array_equal(a.train_idx, b.train_idx)
    np.testing.assert_array_equal(a.test_idx, b.test_idx)
    for fa, fb in zip([*a.folds, a.final], [*b.folds, b.final], strict=True):
        for name in ("X_train", "y_train", "X_val", "y_val"):
            np.testing.assert_array_equal(getattr(fa, name), getattr(fb, name))


def test_shared_folds_are_make_folds_computed_once_per_dataset_and_options():
    ds = load_dataset("wine")
    first = shared_folds(ds, cv=3, seed=0)
    _assert_same_splits(first, make_folds(ds, cv=3, seed=0))
    assert shared_folds(ds, cv=3, seed=0) is first  # the next trial reuses them
    other_seed = shared_folds(ds, cv=3, seed=1)
    assert other_seed is not first
    _assert_same_splits(other_seed, make_folds(ds, cv=3, seed=1))
    same_values = Dataset(ds.name, ds.X.copy(), ds.y.copy(), ds.task, ds.feature_names, ds.classes)
    again = shared_folds(same_values, cv=3, seed=1)  # other arrays: computed, not assumed equal
    assert again is not other_seed
    _assert_same_splits(again, other_seed)
    assert shared_folds(same_values, cv=3, seed=1, test_size=0.3) is not again


def test_shared_folds_raise_like_make_folds_and_keep_nothing_for_bad_options():
    ds = load_dataset("iris")
    kept = shared_folds(ds, seed=0)
    with pytest.raises(ConfigError, match=re.escape("The 'cv' parameter of make_folds")):
        shared_folds(ds, cv=1, seed=0)
    assert shared_folds(ds, seed=0) is kept
