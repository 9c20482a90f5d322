"""benchmarks/time_to_quality.py's report: the best peer sets the target; the anytime table."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.time_to_quality import anytime_table, main, report, summarize


def _run(strategy: str, seed: int, incumbent: list[tuple[float, float]], **kw: Any) -> dict:
    """A live run on task ``toy``, budget 10 s per worker, test score = validation - 0.1."""
    return {
        "task": "toy",
        "strategy": strategy,
        "seed": seed,
        "budget_s": 10.0,
        "incumbent": [[t, v, 0, v - 0.1] for t, v in incumbent],
        "n_evaluations": 4,
        "n_asks": 4,
        "ask_s": 0.04,
        "opt_cpu_s": kw.get("opt_cpu_s", 2.0),
        "charge_ask": True,
        "live": True,
        **{k: v for k, v in kw.items() if k != "opt_cpu_s"},
    }


def _results() -> list[dict]:
    out = []
    for seed in (0, 1, 2):
        # the best peer (TPE) ends at 0.8, reaching it at 8 s; DEHB ends lower
        out.append(_run("optuna-tpe-hb", seed, [(1.0, 0.5), (8.0, 0.8)]))
        out.append(_run("dehb", seed, [(1.0, 0.6), (2.0, 0.7)]))
        # an hpo strategy (not a peer) ends higher and sooner: it does not set the target
        out.append(_run("hpo-mfgp-asha-cost", seed, [(3.0, 0.9)], opt_cpu_s=1.0 + seed))
    return out


def test_the_target_is_the_best_peers_final_median_and_hpo_does_not_set_it():
    with np.errstate(invalid="ignore"):  # quartiles of curves that start at -inf
        s = summarize(_results())["toy"]
    assert s["best_peer"] == "optuna-tpe-hb" and s["target"] == 0.8
    per = s["per"]
    assert per["optuna-tpe-hb"]["time_to_target"] == 8.0
    assert per["hpo-mfgp-asha-cost"]["time_to_target"] == 3.0
    assert per["dehb"]["time_to_target"] == float("inf")
    text = report(_results())
    assert "| toy | 0.38 | yes | 0.8000 | 0.7000 | yes |" in text  # 3 s / 8 s


def test_anytime_table_has_quartiles_at_fractions_of_the_budget_and_the_cpu_share():
    text = anytime_table(_results())
    rows = {line.split(" | ")[0].strip("|* "): line for line in text.splitlines() if "|" in line}
    tpe = rows["optuna-tpe-hb"].split(" | ")
    # at 10% (1 s) 0.5, 25% 0.5, 50% 0.5, 75% 0.5, 100% 0.8; 4 networks; share 2 / (2 × 10)
    assert tpe[1:6] == ["0.5000 [0.5000, 0.5000]"] * 4 + ["0.8000 [0.8000, 0.8000]"]
    assert tpe[6:] == ["4", "0.10 |"]
    hpo = rows["hpo-mfgp-asha-cost"].split(" | ")
    assert hpo[1:3] == ["—", "—"] and hpo[3] == "0.9000 [0.9000, 0.9000]"  # first at 3 s
    assert hpo[-1] == "0.10 |"  # median of 1/20, 2/20, 3/20


def test_report_command_prints_the_anytime_table_on_request(tmp_path, capsys):
    import json

    path = tmp_path / "r.json"
    path.write_text(json.dumps(_results()))
    main(["report", str(path)])
    assert "at 75%" not in capsys.readouterr().out
    main(["report", "--anytime", str(path)])
    assert "| strategy | at 10% | at 25% | at 50% | at 75% | at 100% |" in capsys.readouterr().out
