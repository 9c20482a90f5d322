"""Workers as tasks on a real Dask LocalCluster (2 worker processes) against PostgreSQL."""

from __future__ import annotations

import re

import pytest

import hpo
from hpo.errors import ConfigError
from hpo.trial import TrialState
from tests.execution.helpers import FAST_SETTINGS, SPACE, slow

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=40
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_dask_cluster_completes_a_postgres_study(pg_url, study_name, client, monkeypatch):
    monkeypatch.setenv("HPO_TEST_SLEEP", "0.05")
    study = hpo.create_study(
        study_name, storage=pg_url, space=SPACE, objective=slow, seed=4, **FAST_SETTINGS
    )
    study.optimize(n_trials=12, n_workers=2, executor=client, show_progress=False)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 12
    assert [t.number for t in trials] == list(range(12))
    assert len({t.worker_id.split(":")[1] for t in trials}) == 2  # two worker processes ran it
    # resuming through the scheduler's address continues to the new total
    study.optimize(n_trials=16, n_workers=2, executor=client.scheduler.address, show_progress=False)
    assert study.counts() == {"COMPLETE": 16}


@pytest.mark.parametrize("storage", ["file", "memory"])
def test_sqlite_storage_is_refused_for_a_dask_executor(tmp_path, study_name, storage):
    url = f"sqlite:///{tmp_path / 'hpo.db'}" if storage == "file" else "sqlite://"
    study = hpo.create_study(study_name, storage=url, space=SPACE, objective=slow, seed=0)
    with pytest.raises(
        ConfigError,
        match=re.escape("which Dask workers on other machines cannot share") + ".*Use PostgreSQL",
    ):
        study.optimize(n_trials=2, n_workers=2, executor="tcp://127.0.0.1:1", show_progress=False)
    assert study.counts() == {}
