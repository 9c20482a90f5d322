"""MNIST-format image sets: the IDX reader, the folders searched, the official split.

Small IDX files are written by the tests (gzipped and plain); the real Fashion-MNIST
files from Debian's ``dataset-fashion-mnist`` are read where installed, and must be
installed under CI=true (``make test`` installs them).
"""

from __future__ import annotations

import gzip
import os
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from hpo.errors import ConfigError
from hpo.models import idx
from hpo.models.datasets import dataset_to_spec, load_dataset
from hpo.models.idx import data_home, find_files, read_idx
from hpo.models.splits import make_folds

FASHION = Path("/usr/share/datasets/fashion-mnist")
HAS_FASHION = (FASHION / "train-images-idx3-ubyte.gz").is_file()
needs_fashion = pytest.mark.skipif(
    not HAS_FASHION and os.environ.get("CI") != "true",
    reason="needs Debian's dataset-fashion-mnist (make install); required under CI=true",
)


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file's bytes: magic 00 00 TYPE NDIM, big-endian dims, big-endian values."""
    dtype = {0x08: ">u1", 0x0D: ">f4"}[type_code]
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def write_set(
    folder: Path,
    *,
    n_train: int = 40,
    n_test: int = 20,
    side: int = 4,
    gz: bool = True,
    sep: str = "-",
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """A tiny MNIST-format set of 10 balanced classes whose pixels encode the label."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n, dtype=np.uint8) % 10
        rng.shuffle(labels)
        images = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
        images[:, 0, 0] = labels * 25  # pixel (0, 0) = label / 10.2 after scaling
        arrays[f"{split}-images"], arrays[f"{split}-labels"] = images, labels
        for kind, arr in (("images", images), ("labels", labels)):
            name = f"{split}-{kind}{sep}idx{arr.ndim}-ubyte" + (".gz" if gz else "")
            data = idx_bytes(arr)
            (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("sep", ["-", "."])
def test_reads_gz_and_plain_files_keeping_the_official_split(
    tmp_path: Path, gz: bool, sep: str
) -> None:
    arrays = write_set(tmp_path / "set", gz=gz, sep=sep)
    ds = load_dataset({"name": "mnist", "path": str(tmp_path / "set")})
    assert ds.X.shape == (60, 16) and ds.X.dtype == np.float32 and ds.n_test == 20
    assert ds.task == "multiclass" and ds.classes == list(range(10))
    train = arrays["train-images"].reshape(40, -1) / 255.0
    test = arrays["t10k-images"].reshape(20, -1) / 255.0
    np.testing.assert_allclose(ds.X, np.vstack([train, test]), atol=1e-7)
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    np.testing.assert_array_equal(
        ds.y, np.concatenate([arrays["train-labels"], arrays["t10k-labels"]])
    )


def test_folds_test_on_exactly_the_t10k_rows(tmp_path: Path) -> None:
    arrays = write_set(tmp_path / "set")
    ds = load_dataset({"name": "mnist", "path": str(tmp_path / "set")})
    splits = make_folds(ds, test_size=0.5, validation_fraction=0.25, seed=3)  # test_size unused
    np.testing.assert_array_equal(splits.test_idx, np.arange(40, 60))
    np.testing.assert_array_equal(splits.y_test, arrays["t10k-labels"])
    assert len(splits.train_idx) == 40 and len(splits.folds[0].y_val) == 10
    assert not set(splits.train_idx) & set(splits.test_idx)


def test_trainers_score_the_official_test_set(tmp_path: Path) -> None:
    from hpo.models.sklearn_mlp import SklearnMLPClassifierTrainer
    from hpo.objective import NullReporter

    write_set(tmp_path / "set", n_train=200, n_test=50)
    trainer = SklearnMLPClassifierTrainer(max_epochs=3, test_size=0.5)
    trainer.fit(
        {"hidden_layer_sizes": (8,)},
        {"name": "mnist", "path": str(tmp_path / "set")},
        NullReporter(seed=0),
    )
    assert len(trainer.splits_.y_test) == 50 and trainer.splits_.test_idx[0] == 200


def test_n_train_and_n_test_subsample_stratified_and_seeded(tmp_path: Path) -> None:
    arrays = write_set(tmp_path / "set", n_train=200, n_test=100)
    spec = {"name": "mnist", "path": str(tmp_path / "set"), "n_train": 50, "n_test": 30}
    a, b = load_dataset(spec), load_dataset(spec)
    other = load_dataset({**spec, "seed": 1})
    assert a.X.shape == (80, 16) and a.n_test == 30
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, other.X)
    assert np.bincount(a.y[:50]).tolist() == [5] * 10  # stratified: 5 per class
    assert np.bincount(a.y[50:]).tolist() == [3] * 10
    train_pixels = {
        row.tobytes()
        for row in (arrays["train-images"].reshape(200, -1) / 255.0).astype(np.float32)
    }
    assert all(row.tobytes() in train_pixels for row in a.X[:50])  # train rows come from train
    assert np.allclose(a.X[:, 0] * 255 / 25, a.y)  # labels still match their images


def test_data_home_is_searched_when_no_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_set(tmp_path / "home" / "mnist")
    monkeypatch.setenv("HPO_DATA", str(tmp_path / "home"))
    assert data_home() == tmp_path / "home"
    assert load_dataset("mnist").n_test == 20
    assert dataset_to_spec("mnist") == {"name": "mnist"}  # each worker finds its own copy
    monkeypatch.delenv("HPO_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "xdg" / "hpo"


def test_absent_files_say_where_it_looked_and_how_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HPO_DATA", str(tmp_path / "home"))
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path / "home" / "mnist"))):
        load_dataset("mnist")
    (tmp_path / "half").mkdir()
    write_set(tmp_path / "half")
    (tmp_path / "half" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(
        ConfigError, match=r"'.*half' \(lacks t10k-labels\).*pass \{'name': 'mnist', 'path': DIR\}"
    ):
        load_dataset({"name": "mnist", "path": str(tmp_path / "half")})
    monkeypatch.setitem(idx.SYSTEM_FOLDERS, "fashion_mnist", (tmp_path / "usr-share",))
    with pytest.raises(ConfigError) as info:
        find_files("fashion_mnist")
    for folder in ("home/fashion-mnist", "home/fashion_mnist", "usr-share"):
        assert str(tmp_path / folder) in str(info.value)
    assert "apt-get install dataset-fashion-mnist" in str(info.value)


def test_bad_spec_fails_before_the_study_is_stored(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path / "none"))):
        dataset_to_spec({"name": "mnist", "path": str(tmp_path / "none")})
    write_set(tmp_path / "set")
    with pytest.raises(ConfigError, match=r"'n_train' of dataset 'mnist'.*Got 0"):
        dataset_to_spec({"name": "mnist", "path": str(tmp_path / "set"), "n_train": 0})
    with pytest.raises(ConfigError, match=r"\['size'\] for dataset 'mnist'"):
        dataset_to_spec({"name": "mnist", "path": str(tmp_path / "set"), "size": 3})
    with pytest.raises(ConfigError, match=r"'n_train' of dataset 'mnist' must be <= 40.*Got 41"):
        load_dataset({"name": "mnist", "path": str(tmp_path / "set"), "n_train": 41})
    spec = dataset_to_spec({"name": "mnist", "path": str(tmp_path / "set"), "n_train": 20})
    assert spec["path"] == str((tmp_path / "set").resolve()) and spec["n_train"] == 20


def test_truncated_files_are_refused(tmp_path: Path) -> None:
    write_set(tmp_path / "set", gz=False)
    path = tmp_path / "set" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(
        ConfigError, match=r"train-images-idx3-ubyte' is truncated: 651 bytes.*needs 656"
    ):
        load_dataset({"name": "mnist", "path": str(tmp_path / "set")})
    gz_path = tmp_path / "cut.gz"
    gz_path.write_bytes(gzip.compress(idx_bytes(np.zeros((3, 2, 2), np.uint8)))[:-12])
    with pytest.raises(ConfigError, match=r"cut.gz' cannot be read"):
        read_idx(gz_path)
    path.write_bytes(path.read_bytes() + b"\0" * 9)
    with pytest.raises(ConfigError, match="longer than its header says"):
        read_idx(path)


def test_wrong_magic_dims_and_mismatched_counts_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x-idx3-ubyte"
    bad.write_bytes(b"\x1f\x8b\x08\x03" + b"\0" * 20)  # a gzip file without .gz in its name
    with pytest.raises(ConfigError, match="wrong magic number '1f8b0803'"):
        read_idx(bad)
    bad.write_bytes(b"")
    with pytest.raises(ConfigError, match="wrong magic number 'empty'"):
        read_idx(bad)
    bad.write_bytes(idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(ConfigError, match="has 1 dimensions; expected 3"):
        read_idx(bad, ndim=3)
    write_set(tmp_path / "set", gz=False)
    (tmp_path / "set" / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(19, np.uint8)))
    with pytest.raises(
        ConfigError, match="holds 20 images but t10k-labels-idx1-ubyte holds 19 labels"
    ):
        load_dataset({"name": "mnist", "path": str(tmp_path / "set")})


def test_other_idx_types_read_big_endian(tmp_path: Path) -> None:
    values = np.array([[1.5, -2.0], [3.25, 0.0]], dtype=np.float32)
    (tmp_path / "f.idx").write_bytes(idx_bytes(values, 0x0D))
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), values)


@pytest.mark.slow
@needs_fashion
def test_real_fashion_mnist_from_debian() -> None:
    ds = load_dataset("fashion_mnist")
    assert ds.X.shape == (70000, 784) and ds.n_test == 10000
    assert ds.X.dtype == np.float32 and ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    assert np.bincount(ds.y[:60000]).tolist() == [6000] * 10
    assert np.bincount(ds.y[60000:]).tolist() == [1000] * 10
    small = load_dataset({"name": "fashion_mnist", "n_train": 1000, "n_test": 200})
    assert small.X.shape == (1200, 784) and np.bincount(small.y[:1000]).tolist() == [100] * 10
