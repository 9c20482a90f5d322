"""Trials released by Ctrl-C/SIGTERM are re-queued, not failures: views must say so."""

from __future__ import annotations

import io

from typer.testing import CliRunner

import hpo
from hpo.cli import app
from hpo.execution.progress import StudyProgress
from hpo.execution.worker import INTERRUPTED
from hpo.space import Float


def _study_with_one_interrupt(url: str) -> hpo.Study:
    study = hpo.create_study(
        "interrupted", space={"x": Float(0, 1)}, objective=lambda p, r: p["x"], storage=url, seed=0
    )
    trial = study.ask()
    study.storage.release(trial.trial_id, reason=INTERRUPTED, requeue=True)
    study.optimize(n_trials=2)
    assert study.counts().get("FAILED") == 1
    return study


def test_show_counts_an_interrupt_apart_from_failures(sqlite_url) -> None:
    _study_with_one_interrupt(sqlite_url)
    result = CliRunner().invoke(
        app, ["show", "interrupted", "--storage", sqlite_url], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "1 interrupted" in result.output and "failed" not in result.output


def test_plain_progress_lines_do_not_call_an_interrupt_a_failure(sqlite_url) -> None:
    study = _study_with_one_interrupt(sqlite_url)
    out = io.StringIO()
    with StudyProgress(study, 2, enabled=None, stream=out) as progress:
        progress.refresh(force=True)
    assert "2/2 finished" in out.getvalue() and "failed" not in out.getvalue()
