"""benchmarks/gp_conditional_ask.py: its histories and its report."""

from __future__ import annotations

import pytest

from benchmarks.gp_conditional_ask import history, main, synthetic
from hpo.trial import TrialState


def test_histories_hold_active_parameters_and_deterministic_values() -> None:
    space, plain = history(16, multi_fidelity=False)
    assert [t.value for t in plain] == [synthetic(t.params) for t in plain]
    assert history(16, multi_fidelity=False)[1] == plain  # seeded
    assert all(space.validate_params(t.params) == t.params for t in plain)
    assert {"units_3" in t.params for t in plain} == {True, False}  # both branches occur
    _, curves = history(8, multi_fidelity=True)
    assert [max(t.intermediate) for t in curves] == [1, 3, 9, 27] * 2
    assert [t.state for t in curves[:4]] == [TrialState.PRUNED] * 3 + [TrialState.COMPLETE]
    assert curves[3].value == curves[3].intermediate[27]


def test_report_has_a_line_per_sampler_and_size(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--sizes", "12", "--repeats", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("gp     n=  12: median") and lines[2].startswith("mf-gp  n=  12")
