"""End-to-end tests of the ``hpo`` command line on a real SQLite file (typer's CliRunner).

One module-scoped study is run once (in-process, 1 worker) and then read back by every
command; the multi-process path runs in ``test_subprocess.py``.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hpo.cli import app

STUDY_FILE = Path(__file__).with_name("quadratic_study.py")
runner = CliRunner()


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "120", "HPO_STORAGE": None})


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    """A database holding study 'quadratic' with 8 finished trials (6, then resumed to 8)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'hpo.db'}"
    first = invoke(
        "run", STUDY_FILE, "--trials", "6", "--workers", "1", "--storage", url, "--no-progress"
    )
    assert first.exit_code == 0, first.output
    assert "6 complete" in first.stdout
    assert "quadratic: top 6 by value (minimize)" in first.stdout
    resumed = invoke(
        "run", STUDY_FILE, "--trials", "8", "--storage", url, "--no-progress", "--top", "3"
    )
    assert resumed.exit_code == 0, resumed.output
    assert "resuming: 6 already finished" in resumed.stdout
    assert "8 complete" in resumed.stdout
    return url


def test_run_with_enough_trials_runs_nothing(db: str) -> None:
    result = invoke(
        "run", STUDY_FILE, "--trials", "5", "--storage", db, "--no-progress", "--top", "0"
    )
    assert result.exit_code == 0, result.output
    assert "already has 8 finished trials" in result.stdout


def test_leaderboard_table(db: str) -> None:
    result = invoke("leaderboard", "quadratic", "--storage", db, "--top", "3")
    assert result.exit_code == 0, result.output
    assert "quadratic: top 3 by value (minimize)" in result.stdout
    assert "test score" in result.stdout  # a key metric column


def test_leaderboard_csv_is_sorted_and_complete(db: str) -> None:
    result = invoke("leaderboard", "quadratic", "--storage", db, "--top", "0", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 8
    assert [r["rank"] for r in rows] == [str(i) for i in range(1, 9)]
    values = [float(r["value"]) for r in rows]
    assert values == sorted(values)
    assert {"number", "x", "n", "kind", "sizes", "test_score", "duration_s"} <= set(rows[0])


def test_leaderboard_json_nests_params(db: str) -> None:
    result = invoke("leaderboard", "quadratic", "--storage", db, "--top", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["rank"] for r in records] == [1, 2]
    assert set(records[0]["params"]) == {"x", "n", "kind", "sizes"}
    assert isinstance(records[0]["params"]["sizes"], list)
    assert records[0]["metrics"]["n_epochs"] == 3
    assert records[0]["value"] <= records[1]["value"]


def test_studies_lists_counts_and_objective(db: str) -> None:
    result = invoke("studies", "--storage", db)
    assert result.exit_code == 0, result.output
    assert "quadratic" in result.stdout
    assert "8 complete" in result.stdout
    assert "callable" in result.stdout


def test_show_study(db: str) -> None:
    result = invoke("show", "quadratic", "--storage", db)
    assert result.exit_code == 0, result.output
    for text in ("Search space", "Categorical", "random(", "Best trial", "8 complete", "minimize"):
        assert text in result.stdout


def test_show_trial_has_curve_and_metrics(db: str) -> None:
    result = invoke("show", "quadratic", "--storage", db, "--trial", "0")
    assert result.exit_code == 0, result.output
    assert "Trial #0 of study 'quadratic'" in result.stdout
    assert "COMPLETE" in result.stdout and "test_score" in result.stdout
    assert "Learning curve" in result.stdout
    assert "steps 1..3 (3 points)" in result.stdout
    assert any(c in result.stdout for c in "▁█")


def test_export_csv_json_and_curves(db: str, tmp_path: Path) -> None:
    result = invoke(
        "export", "quadratic", "--storage", db, "--format", "csv", "--out", tmp_path / "t.csv"
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "t.csv").open()))
    assert [int(r["number"]) for r in rows] == list(range(8))
    assert {r["state"] for r in rows} == {"COMPLETE"}

    result = invoke("export", "quadratic", "--storage", db, "--format", "json")
    records = json.loads(result.stdout)
    assert len(records) == 8 and records[0]["curve"][0][0] == 1 and len(records[0]["curve"]) == 3

    result = invoke("export", "quadratic", "--storage", db, "--curves", "--out", tmp_path / "c.csv")
    assert result.exit_code == 0, result.output
    curve_rows = list(csv.DictReader((tmp_path / "c.csv").open()))
    assert len(curve_rows) == 8 * 3
    assert set(curve_rows[0]) == {"trial", "state", "step", "value"}


def test_plot_writes_png(db: str, tmp_path: Path) -> None:
    out = tmp_path / "h.png"
    result = invoke("plot", "quadratic", "--storage", db, "--kind", "history", "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def fresh_db(tmp_path: Path, n_trials: int = 8) -> str:
    """A database of its own (for tests that change it) holding 'quadratic' with n_trials."""
    url = f"sqlite:///{tmp_path / 'own.db'}"
    result = invoke("run", STUDY_FILE, "--trials", str(n_trials), "--storage", url, "--no-progress")
    assert result.exit_code == 0, result.output
    return url


def test_worker_joins_with_objective_from_file(tmp_path: Path) -> None:
    url = fresh_db(tmp_path)
    result = invoke(
        "worker",
        "quadratic",
        "--storage",
        url,
        "--trials",
        "10",
        "--objective",
        f"{STUDY_FILE}:objective",
    )
    assert result.exit_code == 0, result.output
    assert "2 complete" in result.stdout and "10 complete" in result.stdout


def test_delete_needs_yes_then_removes(tmp_path: Path) -> None:
    url = fresh_db(tmp_path)
    refused = invoke("delete", "quadratic", "--storage", url)
    assert refused.exit_code == 2 and "without --yes" in refused.output
    result = invoke("delete", "quadratic", "--storage", url, "--yes")
    assert result.exit_code == 0, result.output
    assert "Deleted study 'quadratic' (8 trials)" in result.stdout
    gone = invoke("leaderboard", "quadratic", "--storage", url)
    assert gone.exit_code == 2 and "has no studies yet" in gone.output


# ---------------------------------------------------------------------- bad input
def _one_red_line(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_unknown_study_lists_existing_ones(db: str) -> None:
    line = _one_red_line(invoke("leaderboard", "nope", "--storage", db), 2)
    assert "No study named 'nope'" in line and "['quadratic']" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["leaderboard", "quadratic", "--format", "xml"],
            "--format must be one of table, csv, json. Got 'xml'.",
        ),
        (
            ["export", "quadratic", "--format", "xlsx"],
            "--format must be one of csv, json, parquet, optuna. Got 'xlsx'.",
        ),
        (
            ["plot", "quadratic", "--kind", "pie"],
            "--kind must be one of history, curves, importance, parallel",
        ),
        (["show", "quadratic", "--trial", "99"], "has no trial #99; its trials are numbered 0..7"),
    ],
)
def test_bad_options(db: str, args: list[str], expected: str) -> None:
    assert expected in _one_red_line(invoke(*args, "--storage", db), 2)


def test_bad_storage_url_and_missing_database(tmp_path: Path) -> None:
    line = _one_red_line(invoke("studies", "--storage", "not a url"), 2)
    assert "is not a database URL" in line
    line = _one_red_line(invoke("studies", "--storage", f"sqlite:///{tmp_path / 'none.db'}"), 2)
    assert "No database at" in line
    assert not (tmp_path / "none.db").exists()  # reading never creates a database


def test_missing_study_file(tmp_path: Path) -> None:
    line = _one_red_line(
        invoke("run", tmp_path / "nope.py", "--storage", f"sqlite:///{tmp_path / 'a.db'}"), 2
    )
    assert "does not exist" in line


def test_study_file_without_make_study(tmp_path: Path) -> None:
    path = tmp_path / "empty_study.py"
    path.write_text("def helper():\n    return 1\n")
    line = _one_red_line(invoke("run", path, "--storage", f"sqlite:///{tmp_path / 'a.db'}"), 2)
    assert "has no make_study() function. It defines ['helper']." in line


def test_make_study_raising(tmp_path: Path) -> None:
    path = tmp_path / "broken_study.py"
    path.write_text("def make_study(storage=None, sampler=None):\n    return 1 / 0\n")
    line = _one_red_line(invoke("run", path, "--storage", f"sqlite:///{tmp_path / 'a.db'}"), 2)
    assert "make_study() in" in line and "raised ZeroDivisionError: division by zero" in line


def test_invalid_space_in_study_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad_space.py"
    path.write_text(
        "import hpo\nfrom hpo.space import Float\n"
        "def make_study(storage=None, sampler=None):\n"
        "    return hpo.create_study('s', space={'lr': Float(0, 1, log=True)}, "
        "objective=lambda p, r: 0.0, storage=storage)\n"
    )
    line = _one_red_line(invoke("run", path, "--storage", f"sqlite:///{tmp_path / 'a.db'}"), 2)
    assert "'lr'" in line or "log" in line


def test_help_and_version() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("run", "worker", "leaderboard", "studies", "show", "plot", "export", "delete"):
        assert command in result.stdout
    assert invoke("--version").stdout.startswith("hpo ")


def test_dask_refuses_sqlite_before_creating_anything(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    result = invoke(
        "run", STUDY_FILE, "--dask", "tcp://127.0.0.1:1", "--storage", f"sqlite:///{db}"
    )
    assert (
        "is a SQLite database, which Dask workers on other machines cannot share"
        in _one_red_line(result, 2)
    )
    assert not db.exists()


def test_parquet_without_pyarrow_is_one_line(db: str, tmp_path: Path, monkeypatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("pyarrow", "fastparquet") else real_find_spec(name, *a),
    )
    result = invoke(
        "export",
        "quadratic",
        "--storage",
        db,
        "--format",
        "parquet",
        "--out",
        tmp_path / "t.parquet",
    )
    assert "--format parquet needs pyarrow" in _one_red_line(result, 2)
    assert "hpo[parquet]" in result.output
    assert not (tmp_path / "t.parquet").exists()


def test_parquet_export_reads_back(db: str, tmp_path: Path) -> None:
    """The parquet extra is part of the documented install, so the export must work."""
    import pandas as pd

    out = tmp_path / "t.parquet"
    result = invoke("export", "quadratic", "--storage", db, "--format", "parquet", "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert len(frame) > 0 and "value" in frame.columns


def test_run_where_every_trial_fails_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "failing_study.py"
    path.write_text(
        "import hpo\nfrom hpo.space import Float\n"
        "def objective(params, reporter):\n    raise RuntimeError('boom')\n"
        "def make_study(storage=None, sampler=None):\n"
        "    return hpo.create_study('failing', space={'x': Float(0, 1)}, objective=objective,"
        " storage=storage, load_if_exists=True)\n"
    )
    result = invoke(
        "run", path, "--trials", "2", "--storage", f"sqlite:///{tmp_path / 'a.db'}", "--no-progress"
    )
    assert result.exit_code == 1, result.output
    assert "RuntimeError: boom" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: No trial of study 'failing' completed. See why with: hpo show failing --trial 0"
    )


def test_run_and_worker_leave_the_garbage_collector_as_they_found_it(tmp_path: Path) -> None:
    """`hpo run` and `hpo worker` start up with the collector off (hpo/startup.py); a caller
    in the same process (here the test) gets it back on, with nothing left frozen, also
    when the command fails."""
    import gc

    assert gc.isenabled() and gc.get_freeze_count() == 0
    url = fresh_db(tmp_path, n_trials=2)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    objective = f"{STUDY_FILE}:objective"
    joined = invoke(
        "worker", "quadratic", "--storage", url, "--trials", "3", "--objective", objective
    )
    assert joined.exit_code == 0, joined.output
    assert "3 complete" in joined.stdout
    assert gc.isenabled() and gc.get_freeze_count() == 0
    missing = invoke("run", tmp_path / "missing.py", "--storage", url, "--no-progress")
    assert missing.exit_code != 0 and "does not exist" in missing.output
    assert gc.isenabled() and gc.get_freeze_count() == 0
