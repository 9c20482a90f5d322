"""Loading study files: unique module names, pickling by value, and one clear error per mistake."""

from __future__ import annotations

import pickle
import re
import sys
from pathlib import Path

import cloudpickle
import pytest

from hpo.cli.study_file import load_attribute, load_study_file
from hpo.errors import ConfigError

QUADRATIC = Path(__file__).with_name("quadratic_study.py")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_loads_defaults_and_builds_the_study(tmp_path: Path) -> None:
    loaded = load_study_file(QUADRATIC)
    assert (loaded.n_trials, loaded.n_workers) == (6, 1)
    study = loaded.build(storage=f"sqlite:///{tmp_path / 'a.db'}", sampler="gp")
    assert study.name == "quadratic"
    assert study.sampler.to_config()["name"] == "gp"


def test_objective_pickles_by_value_for_worker_processes() -> None:
    module = load_study_file(QUADRATIC).module
    # A worker process has no such module: by-name pickles would fail to load there.
    assert module.__name__ not in sys.modules
    with pytest.raises(pickle.PicklingError):  # so Dask's first try (plain pickle) fails here...
        pickle.dumps(module.objective)
    restored = pickle.loads(cloudpickle.dumps(module.objective))  # ...and cloudpickle ships it

    class Reporter:
        def report(self, step: int, value: float) -> None:
            pass

    assert restored({"x": 1.0, "n": 1, "kind": "a"}, Reporter())["value"] == pytest.approx(0.1)


def test_two_files_with_the_same_name_do_not_clash(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write(tmp_path / "a", "study.py", "def make_study():\n    return 'a'\n")
    second = write(tmp_path / "b", "study.py", "def make_study():\n    return 'b'\n")
    assert load_study_file(first).module.__name__ != load_study_file(second).module.__name__
    assert load_study_file(second).make_study() == "b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1\n", "has no make_study() function. Define make_study(storage=None, sampler=None)"),
        ("def make_study(:\n", "failed to import: SyntaxError"),
        (
            "import not_a_module_xyz\n",
            "failed to import: ModuleNotFoundError: No module named 'not_a_module_xyz'",
        ),
        ("def make_study():\n    pass\nN_TRIALS = 0\n", "N_TRIALS in"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "bad.py", text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_study_file(path)


def test_missing_file_and_wrong_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_study_file(tmp_path / "nope.py")
    with pytest.raises(ConfigError, match=re.escape("must be a Python file ending in .py")):
        load_study_file(write(tmp_path, "study.txt", ""))


def test_make_study_mistakes(tmp_path: Path) -> None:
    returns_int = load_study_file(
        write(tmp_path, "a.py", "def make_study(storage=None):\n    return 3\n")
    )
    with pytest.raises(
        ConfigError,
        match=re.escape("must return an hpo.Study (from hpo.create_study). Got int instead."),
    ):
        returns_int.build()
    with pytest.raises(
        ConfigError, match=re.escape("takes no 'sampler' argument, so --sampler cannot be applied")
    ):
        returns_int.build(sampler="gp")
    raises = load_study_file(
        write(tmp_path, "b.py", "def make_study(storage=None):\n    raise KeyError('k')\n")
    )
    with pytest.raises(ConfigError, match=re.escape("raised KeyError: 'k' (at ")):
        raises.build()


def test_load_attribute_from_module_or_file(tmp_path: Path) -> None:
    assert load_attribute("os.path:join") is __import__("os").path.join
    assert load_attribute(f"{QUADRATIC}:objective").__name__ == "objective"
    with pytest.raises(ConfigError, match="has no attribute 'nope'"):
        load_attribute(f"{QUADRATIC}:nope")
    with pytest.raises(ConfigError, match="must look like 'package.module:function'"):
        load_attribute("no_colon")
