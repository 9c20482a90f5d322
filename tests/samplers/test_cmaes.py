"""OptunaSampler("cmaes") through hpo's stateless adapter: CMA-ES state rides on the trials."""

from __future__ import annotations

import pytest

import hpo
from hpo.samplers import OptunaSampler
from hpo.samplers.external import SYSTEM_ATTRS
from hpo.space import Float, Int

pytest.importorskip("cmaes")

SPACE = {"x": Float(-3, 3), "y": Float(-3, 3), "n": Int(1, 5)}


def bowl(params, reporter):
    return (params["x"] - 1) ** 2 + (params["y"] + 1) ** 2 + params["n"]


def run(url, name, n_trials=30, **kw):
    study = hpo.create_study(
        name,
        space=SPACE,
        storage=url,
        objective=bowl,
        sampler=OptunaSampler("cmaes", seed=0),
        seed=0,
    )
    study.optimize(n_trials=n_trials, **kw)
    return study


def test_generations_advance_across_stateless_calls(sqlite_url):
    study = run(sqlite_url, "cma")
    generations = [t.user_attrs.get(SYSTEM_ATTRS, {}).get("cma:generation") for t in study.trials]
    seen = [g for g in generations if g is not None]
    assert seen == sorted(seen) and max(seen) >= 3  # each told generation starts the next
    assert any(
        any(k.startswith("cma:optimizer") for k in t.user_attrs.get(SYSTEM_ATTRS, {}))
        for t in study.trials
    )  # the pickled optimizer is stored with the trial that told it


def test_resume_replays_the_same_proposals(tmp_path):
    one = run(f"sqlite:///{tmp_path / 'a.db'}", "a", n_trials=20)
    two = run(f"sqlite:///{tmp_path / 'b.db'}", "b", n_trials=12)
    two = hpo.load_study("b", storage=f"sqlite:///{tmp_path / 'b.db'}", objective=bowl)
    two.optimize(n_trials=20)
    assert [t.params for t in one.trials] == [t.params for t in two.trials]


def test_parallel_workers_share_the_cma_state(tmp_path):
    study = run(f"sqlite:///{tmp_path / 'p.db'}", "p", n_trials=24, n_workers=2)
    assert study.counts() == {"COMPLETE": 24}
    generations = {t.user_attrs.get(SYSTEM_ATTRS, {}).get("cma:generation") for t in study.trials}
    assert max(g for g in generations if g is not None) >= 2
