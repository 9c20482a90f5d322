"""Execution depends on the narrow StudyHandle protocol, never on hpo.study (study -> execution)."""

from __future__ import annotations

import ast
from pathlib import Path

import hpo.execution

EXECUTION = Path(hpo.execution.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_execution_never_imports_the_study_module() -> None:
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m.startswith("hpo.study"))
        for path in EXECUTION.glob("*.py")
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_a_study_reopens_itself_from_a_pickled_opener(tmp_path: Path) -> None:
    import cloudpickle

    from hpo import create_study
    from hpo.space import Float

    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    study = create_study(
        "reopen",
        space={"x": Float(0.0, 1.0)},
        storage=url,
        seed=3,
        objective=lambda params, reporter: params["x"],
    )
    again = cloudpickle.loads(cloudpickle.dumps(study.opener()))()
    assert (again.name, again.id, again.seed) == (study.name, study.id, study.seed)
    assert again.objective({"x": 0.25}, None) == 0.25
