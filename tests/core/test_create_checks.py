"""Issue 9 #12 and #6: mistakes that would fail every trial are refused at create_study
(writing nothing); numpy results are stored; sys.exit in an objective fails its trial."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import hpo
from hpo.errors import ConfigError, InvalidSpaceError
from hpo.space import Categorical, Float, Int

ROOT = Path(__file__).resolve().parents[2]
MLP_SPACE = {"alpha": Float(1e-5, 1e-1, log=True)}


def _csv(tmp_path: Path, name: str, text: str) -> dict:
    path = tmp_path / name
    path.write_text(text)
    return {"path": str(path), "target": "target"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "text.csv",
            "a,b,target\n1,x,0\n2,y,1\n3,z,0\n4,w,1\n",
            r"non-numeric feature column\(s\) \['b'\]",
        ),
        (
            "nan.csv",
            "a,b,target\n1,,0\n2,3,1\n3,4,0\n4,5,1\n",
            r"NaN/inf in feature column\(s\) \['b'\]",
        ),
        ("empty.csv", "a,b,target\n", r"'dataset' file '.*empty.csv' has no data rows"),
    ],
)
def test_unloadable_csv_is_refused_at_create(tmp_path, name, text, message):
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    with pytest.raises(ConfigError, match=message):
        hpo.create_study(
            "bad-data",
            storage=url,
            space=MLP_SPACE,
            model="sklearn-mlp-classifier",
            dataset=_csv(tmp_path, name, text),
        )
    assert hpo.list_studies(url) == []


def test_misspelled_model_parameters_are_refused_at_create(sqlite_url):
    with pytest.raises(
        InvalidSpaceError, match=r"'alphaa' is not a parameter of model 'sklearn-mlp-classifier'"
    ):
        hpo.create_study(
            "s",
            storage=sqlite_url,
            space={"alphaa": Float(1e-5, 1e-1, log=True)},
            model="sklearn-mlp-classifier",
            dataset="digits",
        )
    with pytest.raises(ConfigError, match=r"'hiden_layer_sizes'"):
        hpo.create_study(
            "s",
            storage=sqlite_url,
            space=MLP_SPACE,
            model="sklearn-mlp-classifier",
            dataset="digits",
            model_options={"hiden_layer_sizes": (10,)},
        )
    # units_<k> and the training options are parameters too
    hpo.create_study(
        "ok",
        storage=sqlite_url,
        model="sklearn-mlp-classifier",
        dataset="digits",
        space={"n_layers": Int(1, 2), "units_1": Int(4, 8), "max_epochs": Int(2, 3)},
    )
    assert [s.name for s in hpo.list_studies(sqlite_url)] == ["ok"]


def test_misspelled_torch_parameter_is_refused_at_create(sqlite_url):
    pytest.importorskip("torch")
    with pytest.raises(
        InvalidSpaceError, match=r"'lrr' is not a parameter of model 'torch-mlp-classifier'"
    ):
        hpo.create_study(
            "t",
            storage=sqlite_url,
            space={"lrr": Float(1e-4, 1e-1, log=True)},
            model="torch-mlp-classifier",
            dataset="digits",
        )
    assert hpo.list_studies(sqlite_url) == []


def test_grid_over_a_continuous_float_fails_at_create(sqlite_url):
    with pytest.raises(InvalidSpaceError, match=r"sampler='grid' cannot walk parameter 'x'.*step="):
        hpo.create_study(
            "g",
            storage=sqlite_url,
            space={"x": Float(0, 1), "k": Categorical([1, 2])},
            objective=lambda p, r: 0.0,
            sampler="grid",
        )
    assert hpo.list_studies(sqlite_url) == []
    study = hpo.create_study(
        "g",
        storage=sqlite_url,
        space={"x": Float(0, 1, step=0.5)},
        objective=lambda p, r: p["x"],
        sampler="grid",
    )
    study.optimize(n_trials=3)
    assert study.counts() == {"COMPLETE": 3}


def numpy_objective(params, reporter):
    return {
        "value": np.float32(params["x"]),
        "epochs": np.int64(3),
        "best": np.array(0.5),
        "curve": np.arange(3),
        "flag": np.bool_(True),
    }


def test_numpy_scalars_in_results_are_stored(storage_url, study_name):
    study = hpo.create_study(
        study_name, storage=storage_url, space={"x": Float(0, 1)}, objective=numpy_objective, seed=0
    )
    study.optimize(n_trials=2)
    assert study.counts() == {"COMPLETE": 2}
    metrics = study.trials[0].metrics
    assert {k: metrics[k] for k in ("epochs", "best", "curve", "flag")} == {
        "epochs": 3,
        "best": 0.5,
        "curve": [0, 1, 2],
        "flag": True,
    }


def test_a_string_result_fails_the_trial_with_the_reason(sqlite_url):
    study = hpo.create_study(
        "s", storage=sqlite_url, space={"x": Float(0, 1)}, objective=lambda p, r: "0.5"
    )
    study.optimize(n_trials=1)
    failed = study.trials[0]
    assert (
        failed.state.value == "FAILED"
        and "must return a number" in failed.error
        and "'0.5'" in failed.error
    )


EXITING_STUDY = textwrap.dedent("""
    import sys
    import hpo
    from hpo.space import Float

    def objective(params, reporter):
        sys.exit(3)

    if __name__ == "__main__":
        study = hpo.create_study("exits", storage=sys.argv[1], space={"x": Float(0, 1)},
                                 objective=objective, seed=0)
        study.optimize(n_trials=2)
        print("WORKER-RETURNED")
""")


def test_sys_exit_in_an_objective_fails_the_trial_in_a_real_process(tmp_path):
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    script = tmp_path / "exits.py"
    script.write_text(EXITING_STUDY)
    done = subprocess.run(
        [sys.executable, str(script), url], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "WORKER-RETURNED" in done.stdout, done.stderr[-2000:]
    trials = hpo.load_study("exits", storage=url).trials
    assert trials and all(t.state.value == "FAILED" for t in trials)  # none left RUNNING
    assert "the objective called sys.exit(3)" in trials[0].error


def test_worker_refuses_an_objective_that_is_not_params_reporter(sqlite_url):
    hpo.create_study("w", storage=sqlite_url, space={"x": Float(0, 1)})
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hpo",
            "worker",
            "w",
            "--storage",
            sqlite_url,
            "--objective",
            "os:system",
            "--trials",
            "3",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "'objective'" in done.stderr and "system" in done.stderr
    assert hpo.load_study("w", storage=sqlite_url).counts() == {}


def test_enqueue_accepts_numpy_params_and_attrs(sqlite_url):
    study = hpo.create_study("e", storage=sqlite_url, space={"x": Float(0, 1), "n": Int(1, 3)})
    number = study.enqueue(
        {"x": np.float64(0.25), "n": np.int64(2)}, user_attrs={"k": np.bool_(True)}
    )
    stored = study.trials[number]
    assert stored.params == {"x": 0.25, "n": 2} and stored.user_attrs == {"k": True}
    assert json.dumps(stored.params)


def test_a_dataset_file_checked_at_create_is_not_parsed_again_to_train(tmp_path, monkeypatch):
    """create_study loads a dataset file to check it; the process that trains keeps that copy."""
    import hpo.models.datasets as datasets

    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.4f},{b:.4f},{int(a + b > 0)}" for a, b in rng.normal(size=(60, 2)))
    spec = _csv(tmp_path, "points.csv", f"a,b,target\n{rows}\n")
    loaded: list[object] = []
    real = datasets.load_dataset

    def counting(spec: object, *args: object, **kwargs: object) -> datasets.Dataset:
        loaded.append(spec)
        return real(spec, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(datasets, "load_dataset", counting)
    study = hpo.create_study(
        "parsed-once",
        storage=f"sqlite:///{tmp_path / 'hpo.db'}",
        space=MLP_SPACE,
        model="sklearn-mlp-classifier",
        dataset=spec,
        model_options={"max_epochs": 2},
        seed=0,
    )
    assert len(loaded) == 1  # the check at create
    study.optimize(3, n_workers=1, show_progress=False)
    assert study.counts().get("COMPLETE") == 3
    assert len(loaded) == 1  # and not again for the trials
    reopened = hpo.load_study("parsed-once", storage=study.storage.url)
    reopened.optimize(4, n_workers=1, show_progress=False)  # a new process would load it: once
    assert reopened.counts().get("COMPLETE") == 4
    assert len(loaded) == 2
