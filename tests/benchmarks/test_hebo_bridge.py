"""The HEBO peer: its space translation (always) and its bridge process (when the venv exists).

The bridge test skips unless scripts/ensure_hebo_venv.sh has made benchmarks/.venv-hebo (or
``HPO_HEBO_PYTHON`` names an interpreter with HEBO): HEBO pins numpy<1.25, so it never
shares hpo's venv.
"""

from __future__ import annotations

import math

import pytest

from benchmarks.ttq_replay import replay
from benchmarks.ttq_strategies import (
    PEERS,
    STRATEGIES,
    HeboStrategy,
    from_hebo,
    hebo_space,
    unavailable,
)
from hpo.space import Categorical, Float, Int, SearchSpace
from tests.benchmarks.test_ttq_replay import SPACE, _table

WIDE = SearchSpace(
    {
        "n_layers": Int(1, 3),
        "units_2": Int(16, 256, log=True, when=("n_layers", ">=", 2)),
        "solver": Categorical(["adam", "sgd"]),
        "momentum": Float(0.5, 0.99, when=("solver", "==", "sgd")),
        "lr": Float(1e-4, 1e-1, log=True),
        "batch_size": Categorical([32, 64, 128]),
    }
)


def test_hebo_is_a_peer():
    assert "hebo" in STRATEGIES and "hebo" in PEERS


def test_hebo_space_has_every_parameter_and_log_scales_as_powers():
    by_name = {p["name"]: p for p in hebo_space(WIDE)}
    assert list(by_name) == list(WIDE)  # conditional ones too: HEBO has no conditions
    assert by_name["units_2"] == {
        "name": "units_2",
        "type": "pow_int",
        "lb": 16,
        "ub": 256,
        "base": 10,
    }
    assert by_name["lr"]["type"] == "pow" and by_name["momentum"]["type"] == "num"
    assert by_name["batch_size"] == {
        "name": "batch_size",
        "type": "cat",
        "categories": ["32", "64", "128"],
    }


def test_from_hebo_drops_inactive_parameters_and_restores_types():
    x = {
        "n_layers": 1,
        "units_2": 200,
        "solver": "adam",
        "momentum": 0.7,
        "lr": 0.01,
        "batch_size": "64",
    }
    params = from_hebo(WIDE, x)
    assert params == {"n_layers": 1, "solver": "adam", "lr": 0.01, "batch_size": 64}
    x.update(n_layers=2.0, solver="sgd", units_2=300)  # out of range: clipped
    params = from_hebo(WIDE, x)
    assert (
        params["units_2"] == 256
        and params["momentum"] == 0.7
        and isinstance(params["n_layers"], int)
    )


def test_unavailable_names_the_missing_interpreter(monkeypatch, tmp_path):
    monkeypatch.setenv("HPO_HEBO_PYTHON", str(tmp_path / "nope" / "python"))
    why = unavailable("hebo")
    assert why is not None and "ensure_hebo_venv.sh" in why
    assert unavailable("dehb") is None
    with pytest.raises(RuntimeError, match="hebo"):
        HeboStrategy(SPACE, 0, 3)


@pytest.mark.skipif(
    unavailable("hebo") is not None, reason=f"HEBO venv absent: {unavailable('hebo')}"
)
def test_hebo_bridge_proposes_valid_configurations_and_learns_from_observations():
    table = _table()
    strategy = HeboStrategy(SPACE, 100, table.max_epochs)
    try:
        # 1 + 4 Sobol start-up points, then one model-based proposal (HEBO's GP + MACE)
        for _ in range(6):
            key, params, budget = strategy.ask()
            assert budget == table.max_epochs  # full training, no pruning
            assert SPACE.validate_params(params) == params  # inside the space
            assert ("units_2" in params) == (params["n_layers"] >= 2)  # inactive: dropped
            row = table.nearest(params)
            value = table.best_upto(row, budget)
            strategy.finish(key, "COMPLETE" if math.isfinite(value) else "FAILED", value, budget)
        assert strategy.external_cpu() > 0  # the bridge's CPU, for --charge-ask
        proc = strategy._proc
    finally:
        strategy.close()
    assert proc.poll() is not None  # close() ended the bridge
    charged = HeboStrategy(SPACE, 101, table.max_epochs)
    try:  # through the replay, CPU charged, in the start-up phase
        result = replay(charged, table, budget_s=1.0, count_overhead=False, charge_cpu=True)
    finally:
        charged.close()
    assert result.n_asks >= 2 and result.charged
