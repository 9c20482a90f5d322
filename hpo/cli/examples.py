"""The example study files, shipped inside the package as ``hpo.examples``.

In a checkout they are the ``studies/`` folder; after ``pip install hpo`` they are
still there, so ``hpo run digits_mlp`` works without the repository.
"""

from __future__ import annotations

from pathlib import Path


def examples_dir() -> Path:
    """The folder holding the example study files (``studies/`` in a checkout)."""
    import hpo.examples

    return Path(hpo.examples.__file__).resolve().parent


def example_files() -> dict[str, Path]:
    """Example name (file stem) -> path, sorted by name."""
    return {p.stem: p for p in sorted(examples_dir().glob("*.py")) if not p.stem.startswith("_")}


def resolve_study_file(path: Path) -> Path:
    """``path`` itself when it exists, else the example of that name (``digits_mlp[.py]``)."""
    if path.exists() or path.parent != Path("."):
        return path
    return example_files().get(path.stem if path.suffix == ".py" else path.name, path)
