"""Optuna -> hpo -> Optuna round trips on real Optuna storages (RDB SQLite file, Journal file)."""

from __future__ import annotations

import math

import optuna
import pytest
from typer.testing import CliRunner

import hpo
from hpo.cli import app
from hpo.errors import ConfigError, StudyNotFoundError
from hpo.integrations.optuna_io import _union_space, export_optuna, import_optuna, optuna_storage
from hpo.space import Categorical, Float, Int

optuna.logging.set_verbosity(optuna.logging.WARNING)


def optuna_objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -3, 3)
    n = trial.suggest_int("n", 1, 5)
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    c = trial.suggest_categorical("c", ["a", None, 2, True])
    trial.set_user_attr("tag", f"t{trial.number}")
    for step in range(4):
        trial.report(x * x + n / (step + 1), step)
        if trial.number % 7 == 3:
            raise ValueError("planned failure")  # a FAIL with a partial curve
        if trial.should_prune():
            raise optuna.TrialPruned()
    return x * x + n + lr + (c == "a")


def make_optuna_study(location: str, name: str = "src") -> optuna.Study:
    study = optuna.create_study(
        study_name=name,
        storage=optuna_storage(location, must_exist=False),
        sampler=optuna.samplers.TPESampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )
    study.optimize(optuna_objective, n_trials=16, catch=(ValueError,))
    study.set_user_attr("owner", "me")
    return study


def same_trials(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x.number, x.state, x.params, x.value, x.intermediate_values, x.user_attrs) == (
            y.number,
            y.state,
            y.params,
            y.value,
            y.intermediate_values,
            y.user_attrs,
        )
        assert x.distributions == y.distributions


@pytest.mark.parametrize("source_kind", ["rdb", "journal"])
def test_round_trip_keeps_every_trial(tmp_path, source_kind):
    source = (
        f"sqlite:///{tmp_path / 'optuna.db'}"
        if source_kind == "rdb"
        else str(tmp_path / "optuna.log")
    )
    original = make_optuna_study(source)
    states = {t.state for t in original.trials}
    assert {
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
        optuna.trial.TrialState.FAIL,
    } <= states  # the round trip covers every final state

    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    study = import_optuna(source, "src", storage=url)
    assert study.direction == "minimize" and study.user_attrs["owner"] == "me"
    stored = study.trials
    assert [t.number for t in stored] == [t.number for t in original.trials]
    for o, h in zip(original.trials, stored, strict=True):
        assert (
            h.state.value
            == {"COMPLETE": "COMPLETE", "PRUNED": "PRUNED", "FAIL": "FAILED"}[o.state.name]
        )
        assert h.params == o.params and h.intermediate == o.intermediate_values
        assert h.user_attrs == o.user_attrs
    assert study.space["c"].choices == ("a", None, 2, True)

    target = (
        str(tmp_path / "back.log") if source_kind == "rdb" else f"sqlite:///{tmp_path / 'back.db'}"
    )
    export_optuna(study, target, name="back")
    back = optuna.load_study(study_name="back", storage=optuna_storage(target, must_exist=True))
    same_trials(original.trials, back.trials)
    assert back.direction == original.direction


def test_imported_study_continues_with_hpo_samplers(tmp_path, storage_url, study_name):
    source = f"sqlite:///{tmp_path / 'optuna.db'}"
    make_optuna_study(source)
    url = storage_url
    import_optuna(source, "src", storage=url, name=study_name, seed=0)

    def objective(params, reporter):
        return params["x"] ** 2 + params["n"] + params["lr"] + (params["c"] == "a")

    study = hpo.load_study(study_name, storage=url, objective=objective)
    before = study.counts()
    total = before.get("COMPLETE", 0) + before.get("PRUNED", 0)
    study.optimize(n_trials=total + 3)  # the GP fits the imported history
    new = [t for t in study.trials if t.number >= 16]
    assert len(new) == 3 and all(t.state.value == "COMPLETE" for t in new)
    assert all(t.params["c"] in ("a", None, 2, True) for t in new)


def test_hpo_study_exports_for_optuna_and_comes_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    space = {"x": Float(-2, 2), "k": Int(1, 9, step=2), "layers": Categorical([(32,), (64, 32)])}

    def objective(params, reporter):
        for step in range(3):
            reporter.report(step, params["x"] ** 2 + step)
        return params["x"] ** 2 + params["k"] + len(params["layers"])

    study = hpo.create_study("mine", space=space, storage=url, objective=objective, seed=1)
    study.optimize(n_trials=6)
    target = f"sqlite:///{tmp_path / 'optuna.db'}"
    export_optuna(study, target)
    ostudy = optuna.load_study(study_name="mine", storage=target)
    assert len(ostudy.trials) == 6 and ostudy.best_value == pytest.approx(study.best_value)
    assert {t.params["layers"] for t in ostudy.trials} <= {
        "[32]",
        "[64, 32]",
    }  # tuples as JSON text
    assert all(len(t.intermediate_values) == 3 for t in ostudy.trials)
    assert all("duration_s" in t.user_attrs["hpo_metrics"] for t in ostudy.trials)
    again = import_optuna(target, "mine", storage=url, name="mine-again")
    assert again.space == study.space
    assert [(t.params, t.value, t.metrics, t.intermediate) for t in again.trials] == [
        (t.params, t.value, t.metrics, t.intermediate) for t in study.trials
    ]


def test_bad_imports_write_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    with pytest.raises(ConfigError, match="nothere.db"):
        import_optuna(f"sqlite:///{tmp_path / 'nothere.db'}", "src", storage=url)
    assert not (tmp_path / "nothere.db").exists()
    source = f"sqlite:///{tmp_path / 'optuna.db'}"
    make_optuna_study(source)
    with pytest.raises(StudyNotFoundError, match=r"'nope'.*\['src'\]"):
        import_optuna(source, "nope", storage=url)
    mo = optuna.create_study(study_name="two", storage=source, directions=["minimize", "maximize"])
    mo.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=2)
    with pytest.raises(ConfigError, match="2 objectives"):
        import_optuna(source, "two", storage=url)
    assert hpo.list_studies(url) == []
    import_optuna(source, "src", storage=url)
    with pytest.raises(ConfigError, match="'src' already exists"):
        import_optuna(source, "src", storage=url)


def test_union_space_widens_merges_and_names_conflicts():
    d = optuna.distributions

    def trial(dist, value):
        return optuna.trial.create_trial(params={"x": value}, distributions={"x": dist}, value=0.0)

    space = _union_space(
        [trial(d.FloatDistribution(0, 1), 0.5), trial(d.FloatDistribution(0.5, 2), 1.5)]
    )
    assert space["x"] == Float(0, 2)
    space = _union_space(
        [
            trial(d.CategoricalDistribution(["a", "b"]), "a"),
            trial(d.CategoricalDistribution(["b", None]), None),
        ]
    )
    assert space["x"].choices == ("a", "b", None)
    with pytest.raises(ConfigError, match=r"'x'"):
        _union_space(
            [
                trial(d.FloatDistribution(0, 1), 0.5),
                trial(d.FloatDistribution(0.1, 1, log=True), 0.5),
            ]
        )


def test_export_refuses_hpos_own_database_and_existing_names(tmp_path):
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    study = hpo.create_study(
        "s", space={"x": Float(0, 1)}, storage=url, objective=lambda p, r: p["x"], seed=0
    )
    study.optimize(n_trials=2)
    with pytest.raises(ConfigError, match="hpo's own database"):
        export_optuna(study, url)
    target = str(tmp_path / "o.log")
    export_optuna(study, target)
    with pytest.raises(ConfigError, match=r"'s' already exists"):
        export_optuna(study, target)


def test_cli_import_and_export(tmp_path):
    runner = CliRunner()
    source = f"sqlite:///{tmp_path / 'optuna.db'}"
    original = make_optuna_study(source)
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    result = runner.invoke(app, ["import-optuna", source, "src", "--name", "imp", "--storage", url])
    assert result.exit_code == 0, result.output
    assert "Imported Optuna study 'src' as 'imp'" in result.stdout
    target = f"sqlite:///{tmp_path / 'out.db'}"
    result = runner.invoke(
        app, ["export", "imp", "--format", "optuna", "--out", target, "--storage", url]
    )
    assert result.exit_code == 0, result.output
    same_trials(original.trials, optuna.load_study(study_name="imp", storage=target).trials)
    result = runner.invoke(app, ["export", "imp", "--format", "optuna", "--storage", url])
    assert result.exit_code == 2 and "--out" in result.stderr
    result = runner.invoke(
        app, ["import-optuna", str(tmp_path / "missing.log"), "src", "--storage", url]
    )
    assert result.exit_code == 2 and "missing.log" in result.stderr
    assert math.isfinite(hpo.load_study("imp", storage=url).best_value)
