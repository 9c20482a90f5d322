"""What a new user's terminal shows: messages that point at the fix, tables that fit 80 columns,
interrupted trials that are not called failures, progress without a TTY."""

from __future__ import annotations

import io
from pathlib import Path
from typing import cast

import pytest
from rich.console import Console
from typer.testing import CliRunner

import hpo
from hpo.cli import app
from hpo.errors import StorageError
from hpo.space import Float

runner = CliRunner()
STUDY_FILE = Path(__file__).with_name("quadratic_study.py")


def invoke(*args: str | Path, columns: int = 120):
    return runner.invoke(
        app, [str(a) for a in args], env={"COLUMNS": str(columns), "HPO_STORAGE": None}
    )


def test_syntax_error_in_a_study_file_points_at_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken_study.py"
    bad.write_text("import hpo\n\ndef make_study(:\n    pass\n")
    result = invoke("run", bad, "--storage", f"sqlite:///{tmp_path / 'hpo.db'}")
    assert result.exit_code == 2
    assert f"{bad}:3" in result.output and "SyntaxError" in result.output
    assert "frozen" not in result.output


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("mysql://u:pw9@localhost/db", "mysqlclient"),
        ("mysql+pymysql://u:pw9@localhost/db", "pymysql"),
    ],
)
def test_mysql_url_names_the_missing_driver_and_how_to_install_it(url: str, driver: str) -> None:
    from hpo.storage.engine import make_engine

    with pytest.raises(StorageError, match=driver) as info:
        make_engine(url)
    message = str(info.value)
    assert "pip install" in message and "hpo[postgres]" in message and "pw9" not in message


def test_study_mismatch_on_the_cli_suggests_hpo_delete_or_a_new_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    hpo.create_study("quadratic", space={"x": Float(0, 1)}, storage=url, direction="maximize")
    result = invoke("run", STUDY_FILE, "--trials", "1", "--storage", url, "--no-progress")
    assert result.exit_code == 2
    assert "hpo delete quadratic" in result.output and "new name" in result.output


def test_studies_table_keeps_names_whole_at_80_columns() -> None:
    from hpo.cli.views import studies_table
    from hpo.storage import StudySummary

    summaries = [
        StudySummary(
            "breast-cancer-mlp",
            "maximize",
            {"COMPLETE": 38, "PRUNED": 2, "FAILED": 1, "RUNNING": 2},
            0.9712,
            None,
            {
                "model": "sklearn-mlp-classifier",
                "dataset": {"name": "breast_cancer"},
                "metric": "accuracy",
            },
        ),
        StudySummary(
            "diabetes-regression",
            "minimize",
            {"COMPLETE": 20},
            51.25,
            None,
            {"model": "torch-fcnn-regressor", "dataset": {"name": "diabetes"}},
        ),
    ]
    console = Console(width=80, file=io.StringIO(), color_system=None)
    console.print(studies_table(summaries, "sqlite:///studies/hpo.db"))
    text = cast(io.StringIO, console.file).getvalue()
    for word in (
        "breast-cancer-mlp",
        "diabetes-regression",
        "sklearn-mlp-classifier",
        "torch-fcnn-regressor",
        "0.9712",
        "51.25",
        "maximize",
        "minimize",
    ):
        assert word in text, word
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80


def test_interrupted_trials_are_not_reported_as_failures(tmp_path: Path) -> None:
    from hpo.execution.worker import INTERRUPTED

    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    first = invoke("run", STUDY_FILE, "--trials", "3", "--storage", url, "--no-progress")
    assert first.exit_code == 0, first.output
    study = hpo.load_study("quadratic", storage=url)
    trial = study.ask()  # as a Ctrl-C leaves it: FAILED "interrupted", its params re-queued
    study.storage.release(trial.trial_id, reason=INTERRUPTED, requeue=True)
    again = invoke("run", STUDY_FILE, "--trials", "4", "--storage", url, "--no-progress")
    assert again.exit_code == 0, again.output
    assert "1 interrupted" in again.output
    assert "failed" not in again.output.replace("not failures", "")


def test_without_a_tty_progress_is_plain_lines_with_eta(tmp_path: Path) -> None:
    from hpo.execution.progress import StudyProgress

    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    study = hpo.create_study(
        "lines", space={"x": Float(0, 1)}, storage=url, seed=0, objective=lambda p, r: p["x"]
    )
    stream = io.StringIO()  # not a TTY, like | tee, nohup or CI
    with StudyProgress(study, 6, stream=stream) as progress:
        for _ in range(3):
            study.tell(study.ask(), 0.5)
        progress._line_at -= 60  # as if 10 s had passed: the next refresh prints a line
        progress.refresh(force=True)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("lines: 0/6 finished")
    assert any(line.startswith("lines: 3/6 finished") and "ETA" in line for line in lines)
    assert "\x1b" not in stream.getvalue()  # no bar, no escape codes


def test_hpo_worker_prints_progress_lines(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    first = invoke("run", STUDY_FILE, "--trials", "2", "--storage", url, "--no-progress")
    assert first.exit_code == 0, first.output
    result = invoke(
        "worker",
        "quadratic",
        "--storage",
        url,
        "--trials",
        "4",
        "--objective",
        f"{STUDY_FILE}:objective",
    )
    assert result.exit_code == 0, result.output
    assert "quadratic: 2/4 finished" in result.output
    assert "quadratic: 4/4 finished" in result.output
