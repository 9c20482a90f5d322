"""The installed layout: models/ ships as hpo.models, never as a top-level ``models``."""

from __future__ import annotations

import ast
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _declared_packages() -> tuple[list[str], dict[str, str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return config["packages"], config["package-dir"]


def test_every_package_folder_is_declared() -> None:
    """A new subpackage missing from pyproject's list would silently vanish from the wheel."""
    packages, package_dir = _declared_packages()
    found = set()
    for name, folder in package_dir.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            parts = [p for p in rel.parts if p]
            if "__pycache__" in parts:
                continue
            found.add(".".join([name, *parts]))
    assert found - set(packages) == set(), "add these to [tool.setuptools] packages"


def test_bare_models_import_is_refused_in_a_checkout() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import models"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "hpo.models" in result.stderr


@pytest.mark.slow
def test_wheel_installs_models_as_hpo_models(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("hpo-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in (
        "hpo/models/metrics.py",
        "hpo/py.typed",
        "hpo/examples/digits_mlp.py",
        "hpo/storage/migrations/script.py.mako",
        "hpo/storage/migrations/versions/0001_baseline.py",
    ):
        assert shipped in names
    assert not [n for n in names if n.startswith(("models/", "studies/"))]

    # A fresh interpreter that sees the wheel's files and this venv's dependencies, but
    # not the editable install nor the checkout.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    purelib = Path(
        sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)})
    )
    zipfile.ZipFile(wheel).extractall(purelib)
    (purelib / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    python = env_dir / "bin" / "python"
    code = (
        "import importlib.util, hpo, hpo.models.metrics as m; "
        "from hpo.cli.examples import example_files; assert 'digits_mlp' in example_files(); "
        "assert importlib.util.find_spec('models') is None; "
        f"assert hpo.__file__.startswith({str(purelib)!r}), hpo.__file__; "
        "print(m.get_metric('accuracy').name)"
    )
    result = subprocess.run([str(python), "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "accuracy"


def test_lazy_exports_match_all() -> None:
    """__all__ is a literal (for linters and IDEs); it must name exactly what __getattr__ serves."""
    import hpo
    import hpo.storage

    assert set(hpo.__all__) == {*hpo._EXPORTS, *hpo._SUBMODULES, "__version__"}
    assert set(hpo.storage.__all__) == {*hpo.storage._EXPORTS, "DEFAULT_STORAGE", "get_storage"}
    for name in hpo.__all__:
        assert getattr(hpo, name) is not None


def _loaded_after(imports: str, heavy: tuple[str, ...]) -> list[str]:
    """Which of ``heavy`` a fresh interpreter has in sys.modules after ``import <imports>``."""
    code = f"import sys, {imports}; print([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return list(ast.literal_eval(result.stdout.strip()))


def test_import_hpo_stays_light() -> None:
    """``import hpo`` must not pull in storage, pandas or rich (workers and --help pay for it)."""
    assert _loaded_after("hpo", ("sqlalchemy", "pandas", "rich", "torch", "sklearn")) == []


def test_terminal_views_do_not_import_pandas() -> None:
    """`hpo show` / `hpo studies` print with hpo.cli.views and hpo.reports.text: no pandas."""
    views = "hpo.cli.views, hpo.reports.text, hpo.reports.plots"
    assert _loaded_after(views, ("pandas", "sklearn", "scipy.stats")) == []
