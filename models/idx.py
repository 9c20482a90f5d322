"""MNIST-format image sets read from IDX files, with their official train/test split.

An IDX file (LeCun's MNIST format) is a 4-byte magic number ``0x00 0x00 TYPE NDIM``,
NDIM big-endian uint32 dimensions, then the values in C order. An image set is four
such files in one folder (each may be gzipped, ``.gz``)::

    train-images-idx3-ubyte   (60000, 28, 28) uint8     t10k-images-idx3-ubyte   (10000, 28, 28)
    train-labels-idx1-ubyte   (60000,) uint8            t10k-labels-idx1-ubyte   (10000,)

(``train-images.idx3-ubyte``, with a dot, is accepted too.) :func:`load_image_set`
returns the train rows followed by the t10k rows, pixels scaled to [0, 1] as
float32 (half the memory of float64: the full set is 70,000 x 784), and how many
trailing rows are the official test set; ``n_train`` / ``n_test`` draw a stratified,
seeded subsample of either part for quick studies.

Where the files are looked for, in order (:func:`candidate_folders`):

1. the ``path`` the spec gives, and nothing else;
2. ``$HPO_DATA/<folder>`` (``HPO_DATA`` is the data home);
3. without ``HPO_DATA``: ``$XDG_DATA_HOME/hpo/<folder>``, by default
   ``~/.local/share/hpo/<folder>``;
4. for ``fashion_mnist``: ``/usr/share/datasets/fashion-mnist``, where Debian's
   ``dataset-fashion-mnist`` package installs it.

``<folder>`` is ``mnist`` or ``fashion-mnist`` (``fashion_mnist`` is accepted too).
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hpo.errors import ConfigError

IMAGE_SETS: dict[str, tuple[str, ...]] = {  # name -> folder names under a data home
    "mnist": ("mnist",),
    "fashion_mnist": ("fashion-mnist", "fashion_mnist"),
}
SYSTEM_FOLDERS: dict[str, tuple[Path, ...]] = {  # name -> folders an OS package installs
    "fashion_mnist": (Path("/usr/share/datasets/fashion-mnist"),),
}
HOW_TO_GET = {
    "mnist": "copy the four MNIST IDX files (train-images-idx3-ubyte.gz, "
    "train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into one of those folders, "
    "or pass {'name': 'mnist', 'path': DIR}",
    "fashion_mnist": "install Debian's package with `apt-get install dataset-fashion-mnist` "
    "(or `make install`), or copy its four IDX files into a folder above",
}
PARTS = ("train-images", "train-labels", "t10k-images", "t10k-labels")
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def data_home() -> Path:
    """``$HPO_DATA``, else ``$XDG_DATA_HOME/hpo``, else ``~/.local/share/hpo``."""
    if os.environ.get("HPO_DATA"):
        return Path(os.environ["HPO_DATA"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg).expanduser() / "hpo"


def candidate_folders(name: str, path: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for image set ``name``, in order (only ``path`` when given)."""
    if path is not None:
        return [Path(path).expanduser()]
    home = data_home()
    return [*(home / folder for folder in IMAGE_SETS[name]), *SYSTEM_FOLDERS.get(name, ())]


def find_files(name: str, path: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """The four IDX files of image set ``name``: part (see :data:`PARTS`) -> file.

    Raises:
        ConfigError: no searched folder holds all four; the message lists the folders
            searched, what each lacks, and how to get the files.
    """
    searched = []
    for folder in candidate_folders(name, path):
        files = {part: _find_part(folder, part) for part in PARTS}
        if all(files.values()):
            return {part: f for part, f in files.items() if f is not None}
        missing = [part for part, f in files.items() if f is None]
        why = "does not exist" if not folder.is_dir() else f"lacks {', '.join(missing)}"
        searched.append(f"{str(folder)!r} ({why})")
    raise ConfigError(
        f"Dataset {name!r}: IDX files not found. Looked in {'; '.join(searched)}. "
        f"To get them, {HOW_TO_GET[name]}; the data home is $HPO_DATA (now "
        f"{os.environ.get('HPO_DATA') or 'unset'}, so {str(data_home())!r})."
    )


def _find_part(folder: Path, part: str) -> Path | None:
    kind, ndim = part.split("-")[1], 3 if part.endswith("images") else 1
    stem = part.split("-")[0]
    for sep in ("-", "."):
        for suffix in (".gz", ""):
            candidate = folder / f"{stem}-{kind}{sep}idx{ndim}-ubyte{suffix}"
            if candidate.is_file():
                return candidate
    return None


def read_idx(path: str | os.PathLike[str], *, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (gzipped when its name ends in ``.gz``), checking it fully.

    Args:
        path: the file.
        ndim: the number of dimensions it must have (3 for images, 1 for labels).

    Returns:
        The array, in the file's dtype converted to native byte order.

    Raises:
        ConfigError: unreadable or corrupt gzip, a wrong magic number, the wrong number
            of dimensions, or a size that does not match the header (truncated file).
    """
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise ConfigError(
            f"IDX file {str(path)!r} cannot be read ({e}); re-download or reinstall it."
        ) from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ConfigError(
            f"IDX file {str(path)!r} has a wrong magic number {raw[:4].hex() or 'empty'!r}; an IDX "
            f"file starts with 0000 then a type code among {[f'{k:02x}' for k in _DTYPES]} and the "
            f"number of dimensions. Check that it is an (unzipped, or .gz-named) IDX file."
        )
    dtype, rank = np.dtype(_DTYPES[raw[2]]), raw[3]
    if ndim is not None and rank != ndim:
        raise ConfigError(f"IDX file {str(path)!r} has {rank} dimensions; expected {ndim}.")
    header = 4 + 4 * rank
    if len(raw) < header:
        raise ConfigError(
            f"IDX file {str(path)!r} is truncated: {len(raw)} bytes, shorter than its header."
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=rank, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        state = "truncated" if len(raw) < expected else "longer than its header says"
        raise ConfigError(
            f"IDX file {str(path)!r} is {state}: {len(raw)} bytes; its header "
            f"(shape {shape}, {dtype.name}) needs {expected}. Re-download or reinstall it."
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def load_image_set(
    name: str,
    path: str | os.PathLike[str] | None = None,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, int, list[Path]]:
    """Load an MNIST-format image set: train rows then t10k rows.

    Args:
        name: a key of :data:`IMAGE_SETS`.
        path: the folder holding the four files (else the folders of :func:`candidate_folders`).
        n_train: keep a stratified random subsample of this many training rows (None: all).
        n_test: likewise for the test rows.
        seed: seeds the subsamples.

    Returns:
        ``X`` (n_train + n_test, h*w) float32 pixels in [0, 1], ``y`` (n,) labels, the
        number of trailing test rows, and the four files read.

    Raises:
        ConfigError: files absent (naming where it looked), corrupt, of mismatched shapes
            (images vs labels, train vs test image size), or a subsample too large.
    """
    files = find_files(name, path)
    parts = []
    for split in ("train", "t10k"):
        images = read_idx(files[f"{split}-images"], ndim=3)
        labels = read_idx(files[f"{split}-labels"], ndim=1)
        if images.shape[0] != labels.shape[0]:
            raise ConfigError(
                f"Dataset {name!r}: {files[f'{split}-images'].name} holds {images.shape[0]} "
                f"images but {files[f'{split}-labels'].name} holds {labels.shape[0]} labels."
            )
        if images.shape[0] == 0:
            raise ConfigError(f"Dataset {name!r}: {files[f'{split}-images'].name} holds no images.")
        parts.append((images, labels))
    (tr_img, tr_lab), (te_img, te_lab) = parts
    if tr_img.shape[1:] != te_img.shape[1:]:
        raise ConfigError(
            f"Dataset {name!r}: train images are {tr_img.shape[1:]} but t10k images are "
            f"{te_img.shape[1:]}; the files belong to different sets."
        )
    rng = np.random.default_rng(seed)
    tr = _subsample(tr_lab, n_train, "n_train", name, rng)
    te = _subsample(te_lab, n_test, "n_test", name, rng)
    X = np.concatenate([_pixels(tr_img[tr]), _pixels(te_img[te])])
    y = np.concatenate([tr_lab[tr], te_lab[te]]).astype(np.int64)
    return X, y, len(te), list(files.values())


def _pixels(images: np.ndarray) -> np.ndarray:
    """(n, h, w) images -> (n, h*w) float32 in [0, 1] (uint8 / 255; other types by their max)."""
    flat = images.reshape(images.shape[0], -1)
    top = 255.0 if images.dtype == np.uint8 else float(max(np.abs(flat).max(initial=0), 1))
    return (flat / np.float32(top)).astype(np.float32)


def _subsample(
    labels: np.ndarray, n: int | None, what: str, name: str, rng: np.random.Generator
) -> Sequence[int] | np.ndarray:
    """Sorted row indices of a stratified subsample of ``n`` rows (all rows when None)."""
    if n is None or n == len(labels):
        return np.arange(len(labels))
    if n > len(labels):
        raise ConfigError(
            f"Option {what!r} of dataset {name!r} must be <= {len(labels)} (the rows "
            f"available). Got {n} instead."
        )
    from sklearn.model_selection import train_test_split

    classes, counts = np.unique(labels, return_counts=True)
    k = len(classes)
    stratify = labels if min(n, len(labels) - n) >= k and counts.min() >= 2 else None
    idx, _ = train_test_split(
        np.arange(len(labels)),
        train_size=n,
        stratify=stratify,
        random_state=int(rng.integers(2**31)),
    )
    return np.sort(idx)


__all__ = [
    "IMAGE_SETS",
    "PARTS",
    "candidate_folders",
    "data_home",
    "find_files",
    "load_image_set",
    "read_idx",
]
