"""MLflow (local file store) and TensorBoard (event files) callbacks, read back with each tool."""

from __future__ import annotations

import pytest

import hpo
from hpo.errors import TrialPruned
from hpo.space import Float

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("tensorboard")

from hpo.integrations.mlflow import MLflowCallback  # noqa: E402
from hpo.integrations.tensorboard import TensorBoardCallback, read_scalars, study_folder  # noqa: E402


def objective(params, reporter):
    """Three epochs; x > 0.8 fails after its curve, x < 0.2 is pruned, the rest complete."""
    x = params["x"]
    for step in range(3):
        reporter.report(step, x + step)
    if x > 0.8:
        raise RuntimeError("too big")
    if x < 0.2:
        raise TrialPruned("too small")
    return {"value": x, "test_score": 1 - x, "note": "not a number"}


def make(tmp_path, name="log"):
    return hpo.create_study(
        name,
        space={"x": Float(0, 1)},
        storage=f"sqlite:///{tmp_path / 'hpo.db'}",
        objective=objective,
        seed=5,
    )


def test_mlflow_one_nested_run_per_trial(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "MLFLOW_ALLOW_FILE_STORE", "true"
    )  # MLflow 3 keeps file stores behind an opt-in
    uri = (tmp_path / "mlruns").as_uri()
    study = make(tmp_path)
    study.optimize(n_trials=8, n_workers=2, callbacks=[MLflowCallback(uri)])
    client = mlflow.tracking.MlflowClient(uri)
    # setup() made the experiment before the workers started: they never raced to create it
    named = [e for e in client.search_experiments() if e.name == "log"]
    assert len(named) == 1
    experiment = client.get_experiment_by_name("log")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    parents = [r for r in runs if r.data.tags.get("hpo.role") == "study"]
    children = [r for r in runs if "hpo.trial" in r.data.tags]
    assert len(parents) == 1  # shared by both worker processes
    parent = parents[0].info.run_id
    trials = {t.number: t for t in study.trials}
    assert sorted(int(r.data.tags["hpo.trial"]) for r in children) == sorted(trials)
    status = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAILED": "FAILED"}
    for run in children:
        t = trials[int(run.data.tags["hpo.trial"])]
        assert run.data.tags["mlflow.parentRunId"] == parent
        assert run.info.status == status[t.state.value]
        assert float(run.data.params["x"]) == pytest.approx(t.params["x"])
        curve = client.get_metric_history(run.info.run_id, "intermediate")
        assert {m.step: m.value for m in curve} == pytest.approx(t.intermediate)
        if t.state.value == "COMPLETE":
            assert run.data.metrics["value"] == pytest.approx(t.value)
            assert run.data.metrics["test_score"] == pytest.approx(1 - t.value)
            assert "note" not in run.data.metrics
        if t.state.value == "FAILED":
            assert "too big" in run.data.tags["hpo.error"]
    best = client.get_metric_history(parent, "best_value")
    assert min(m.value for m in best) == pytest.approx(study.best_value)
    # teardown() ended the study run once both workers had finished
    assert client.get_run(parent).info.status == "FINISHED"
    assert client.get_run(parent).info.end_time is not None


def _study_run(client, name):
    experiment = client.get_experiment_by_name(name)
    runs = client.search_runs([experiment.experiment_id], "tags.`hpo.role` = 'study'")
    assert len(runs) == 1
    return runs[0]


def test_mlflow_study_run_is_running_during_a_run_then_finished_or_killed(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    client = mlflow.tracking.MlflowClient(uri)
    seen = []

    def during(study, trial):  # runs in the worker, after each trial is stored
        seen.append(_study_run(client, "ends").info.status)

    study = make(tmp_path, name="ends")
    study.optimize(n_trials=3, callbacks=[MLflowCallback(uri), during])
    assert seen and set(seen) == {"RUNNING"}
    first = _study_run(client, "ends")
    assert first.info.status == "FINISHED"

    # a resume: the same study run is RUNNING again, then FINISHED again (still one run)
    seen.clear()
    study.optimize(n_trials=6, callbacks=[MLflowCallback(uri), during])
    assert seen and set(seen) == {"RUNNING"}
    again = _study_run(client, "ends")
    assert (again.info.run_id, again.info.status) == (first.info.run_id, "FINISHED")

    # Ctrl-C inside a trial: the worker re-queues it, the run stops, the study run is KILLED
    def interrupted(params, reporter):
        raise KeyboardInterrupt

    study.objective = interrupted
    with pytest.raises(KeyboardInterrupt):
        study.optimize(n_trials=9, callbacks=[MLflowCallback(uri)])
    assert _study_run(client, "ends").info.status == "KILLED"

    # an error that ends the run (here a raising callback): FAILED, and the error propagates
    def broken(study, trial):
        raise ValueError("callback bug")

    study.objective = objective
    with pytest.raises(ValueError, match="callback bug"):
        study.optimize(n_trials=12, callbacks=[MLflowCallback(uri), broken])
    assert _study_run(client, "ends").info.status == "FAILED"


def test_mlflow_workers_started_elsewhere_share_one_experiment(tmp_path, monkeypatch):
    """Without setup (workers launched by `hpo worker`), each process finds what the first made."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    study = make(tmp_path, name="shared")
    first, second = MLflowCallback(uri), MLflowCallback(uri)  # two processes' callbacks
    made = first._study_run(first._client(), study)
    assert second._study_run(second._client(), study) == made
    client = mlflow.tracking.MlflowClient(uri)
    assert [e.experiment_id for e in client.search_experiments() if e.name == study.name] == [
        made[0]
    ]


def test_tensorboard_scalars_per_trial(tmp_path):
    study = make(tmp_path, name="weird name.v2")  # spaces and dots: not a folder name as is
    study.optimize(n_trials=6, callbacks=[TensorBoardCallback(tmp_path / "runs")])
    root = tmp_path / "runs" / study_folder(study)
    assert (
        root.parent == tmp_path / "runs" and ".." not in root.name
    )  # the name never becomes a path
    overview = read_scalars(root / "study")
    completed = [t for t in study.trials if t.state.value == "COMPLETE"]
    assert [s for s, _ in overview["value"]] == [t.number for t in completed]
    assert [v for _, v in overview["value"]] == pytest.approx([t.value for t in completed])
    assert overview["best_value"][-1][1] == pytest.approx(study.best_value)
    for t in study.trials:
        scalars = read_scalars(root / f"trial-{t.number}")
        assert dict(scalars["intermediate"]) == pytest.approx(t.intermediate)
        if t.state.value == "COMPLETE":
            assert scalars["value"][0][1] == pytest.approx(t.value)
