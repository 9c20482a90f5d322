"""Issue 9 #13 and issue 8 item 5: StudySettings is a frozen, validated dataclass; bad
settings and arguments are refused naming the field and the value, and write nothing."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

import hpo
from hpo.errors import ConfigError
from hpo.settings import StudySettings
from hpo.space import Float
from hpo.storage import Storage

SPACE = {"x": Float(0.0, 1.0)}


def quadratic(params, reporter):
    return (params["x"] - 0.3) ** 2


def test_defaults_are_frozen_and_read_like_the_old_dict():
    s = StudySettings()
    assert (s.max_retries, s.heartbeat_interval, s.grace_period, s.keep_weights) == (
        1,
        5.0,
        60.0,
        5,
    )
    assert s["grace_period"] == 60.0 and s.get("pruner") == {"name": "none"}
    assert dict(s.items())["artifacts"] is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.max_retries = 3  # type: ignore[misc]


def test_dataclass_and_keyword_forms_store_the_same(sqlite_url):
    a = hpo.create_study(
        "a",
        storage=sqlite_url,
        space=SPACE,
        objective=quadratic,
        settings=StudySettings(heartbeat_interval=1, grace_period=10, pruner="median"),
    )
    b = hpo.create_study(
        "b",
        storage=sqlite_url,
        space=SPACE,
        objective=quadratic,
        heartbeat_interval=1,
        grace_period=10,
        pruner="median",
    )
    c = hpo.create_study(
        "c",
        storage=sqlite_url,
        space=SPACE,
        objective=quadratic,
        settings={"heartbeat_interval": 1, "grace_period": 10},
        pruner="median",
        max_retries=np.int64(2),
    )
    stored = [hpo.load_study(n, storage=sqlite_url).settings for n in "abc"]
    assert stored[0] == stored[1] == a.settings == b.settings
    assert isinstance(stored[0], StudySettings) and stored[0].pruner["name"] == "median"
    assert stored[2].max_retries == 2 and type(stored[2].max_retries) is int
    assert c.settings.heartbeat_interval == 1.0


def _named(field: str, value: object) -> str:
    """The pattern a refusal must match: the field's name, then the offending value."""
    return rf"'{field}'.*Got {re.escape(repr(value))}"


BAD_SETTINGS = [
    (field, value, _named(field, value))
    for field, value in [
        ("heartbeat_interval", 0),
        ("heartbeat_interval", -1),
        ("heartbeat_interval", "abc"),
        ("heartbeat_interval", float("nan")),
        ("grace_period", -1),
        ("grace_period", "abc"),
        ("grace_period", 1.0),  # < 2 x the default heartbeat_interval of 5 s
        ("max_retries", "x"),
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("max_retries", True),
        ("max_retries", None),
        ("keep_weights", -1),
        ("keep_weights", "5"),
        ("artifacts", True),
        ("artifacts", ""),
        ("artifacts", 3),
        ("pruner", 5),
    ]
] + [
    ("pruner", "mean", r"Unknown pruner 'mean'"),
    ("pruner", {"name": "median", "bogus": 1}, r"'bogus' of MedianPruner"),
]


@pytest.mark.parametrize(
    ("field", "value", "pattern"), BAD_SETTINGS, ids=[f"{f}={v!r}" for f, v, _ in BAD_SETTINGS]
)
def test_bad_settings_name_the_field_and_value_and_write_nothing(
    storage_url, study_name, field, value, pattern
):
    before = Storage(storage_url).study_names()
    with pytest.raises(ConfigError, match=pattern):
        hpo.create_study(
            study_name, storage=storage_url, space=SPACE, objective=quadratic, **{field: value}
        )
    with pytest.raises(ConfigError, match=pattern):
        StudySettings(**{field: value})
    after = Storage(storage_url).study_names()
    if storage_url.startswith("sqlite"):
        assert after == before
    else:  # PostgreSQL is one database shared with concurrent tests: check our name only
        assert study_name not in after


def test_unknown_setting_is_named(sqlite_url):
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['heartbeat_intervall'\]"):
        hpo.create_study(
            "s", storage=sqlite_url, space=SPACE, objective=quadratic, heartbeat_intervall=2
        )
    with pytest.raises(ConfigError, match=r"'settings' parameter.*Got 3"):
        hpo.create_study("s", storage=sqlite_url, space=SPACE, objective=quadratic, settings=3)
    assert hpo.list_studies(sqlite_url) == []


@pytest.mark.parametrize("seed", ["a", 2**70, -1, 1.5, True])
def test_bad_seeds(storage_url, study_name, seed):
    with pytest.raises(ConfigError, match=rf"'seed' parameter.*Got {seed!r}"):
        hpo.create_study(
            study_name, storage=storage_url, space=SPACE, objective=quadratic, seed=seed
        )
    assert study_name not in Storage(storage_url).study_names()


def test_largest_seed_and_numpy_seed_work_on_both_backends(storage_url, study_name):
    study = hpo.create_study(
        study_name, storage=storage_url, space=SPACE, objective=quadratic, seed=np.int64(2**31 - 1)
    )
    assert hpo.load_study(study_name, storage=storage_url).seed == 2**31 - 1
    study.optimize(n_trials=2)
    assert study.counts() == {"COMPLETE": 2}


def test_user_attrs_must_be_json(storage_url, study_name):
    with pytest.raises(ConfigError, match=r"'user_attrs' value at \['f'\].*object"):
        hpo.create_study(
            study_name,
            storage=storage_url,
            space=SPACE,
            objective=quadratic,
            user_attrs={"f": object()},
        )
    with pytest.raises(ConfigError, match=r"'user_attrs' keys must be str.*1"):
        hpo.create_study(
            study_name, storage=storage_url, space=SPACE, objective=quadratic, user_attrs={1: "x"}
        )
    assert study_name not in Storage(storage_url).study_names()
    study = hpo.create_study(
        study_name,
        storage=storage_url,
        space=SPACE,
        objective=quadratic,
        user_attrs={
            "n": np.int64(3),
            "v": np.array([1.5, 2.0]),
            "nan": float("nan"),
            "t": (1, "a"),
        },
    )
    assert study.user_attrs == {"n": 3, "v": [1.5, 2.0], "nan": None, "t": [1, "a"]}


def test_other_arguments_are_checked(sqlite_url):
    with pytest.raises(ConfigError, match=r"'load_if_exists' parameter.*Got 'yes'"):
        hpo.create_study(
            "s", storage=sqlite_url, space=SPACE, objective=quadratic, load_if_exists="yes"
        )
    with pytest.raises(ConfigError, match=r"'objective'.*two arguments.*system"):
        import os

        hpo.create_study("s", storage=sqlite_url, space=SPACE, objective=os.system)
    with pytest.raises(ConfigError, match=r"'objective'.*Got 3"):
        hpo.create_study("s", storage=sqlite_url, space=SPACE, objective=3)
    assert hpo.list_studies(sqlite_url) == []


def test_tell_refuses_unfinished_states_and_strings(storage_url, study_name):
    study = hpo.create_study(study_name, storage=storage_url, space=SPACE, seed=0)
    trial = study.ask()
    for state in ("RUNNING", "WAITING", "BOGUS"):
        with pytest.raises(ConfigError, match=rf"'state' parameter of tell.*Got '{state}'"):
            study.tell(trial, 1.0, state=state)
    with pytest.raises(ConfigError, match=r"'value' parameter of tell.*Got '0.5'"):
        study.tell(trial, "0.5")
    with pytest.raises(ConfigError, match=r"'metrics' value at \['m'\]"):
        study.tell(trial, 0.5, metrics={"m": object()})
    with pytest.raises(ConfigError, match=r"'trial' parameter of tell.*Got 99999999999999999999"):
        study.tell(99999999999999999999, 0.5)
    assert study.counts() == {"RUNNING": 1}  # every refusal left the trial as it was
    done = study.tell(trial, np.float32(0.25), metrics={"epochs": np.int64(3), "a": np.array(2.0)})
    assert (done.state.value, done.value, done.metrics) == (
        "COMPLETE",
        0.25,
        {"epochs": 3, "a": 2.0},
    )
