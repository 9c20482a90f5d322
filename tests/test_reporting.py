"""Leaderboard formatting, exports and learning-curve frames (pure functions of trials)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from rich.console import Console

from hpo.reports.tables import (
    curves_frame,
    format_duration,
    format_number,
    format_param,
    leaderboard_table,
    sparkline,
    to_csv,
    to_json,
    trial_records,
    trials_frame,
    value_label,
)
from hpo.space import Categorical, Float, Int, SearchSpace
from hpo.trial import FrozenTrial, TrialState

SPACE = SearchSpace(
    {
        "sizes": Categorical([(64,), (128, 64)]),
        "lr": Float(1e-4, 1e-1, log=True),
        "batch_size": Int(16, 256),
        "activation": Categorical(["relu", "tanh"]),
    }
)
T0 = datetime(2024, 1, 1, 12, 0, 0)


def trial(number: int, value: float | None, state: str = "COMPLETE", **metrics) -> FrozenTrial:
    return FrozenTrial(
        number=number,
        state=TrialState(state),
        value=value,
        params={
            "sizes": (128, 64) if number % 2 else (64,),
            "lr": 0.00123456 * (number + 1),
            "batch_size": 32 + number,
            "activation": "tanh",
        },
        metrics={"test_accuracy": 0.9, "n_epochs": 12, "best_epoch": 9, **metrics},
        intermediate={1: 0.5, 2: 0.7, 3: 0.8} if number < 2 else {},
        started_at=T0,
        finished_at=T0 + timedelta(seconds=1.5 + number),
        worker_id="w1",
    )


TRIALS = [trial(3, 0.98765432), trial(0, 0.9512), trial(1, 0.93)]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.98765432, "0.9877"),
        (1234.5678, "1235"),
        (1.5e-7, "1.5e-07"),
        (3, "3"),
        (True, "True"),
        (None, "-"),
        (float("nan"), "nan"),
    ],
)
def test_format_number(value, text) -> None:
    assert format_number(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ((128, 64), "128-64"),
        ((64,), "64"),
        (("a", 1.23456), "(a, 1.23)"),
        (0.000123456, "0.000123"),
        ("relu", "relu"),
        (None, "-"),
        (7, "7"),
    ],
)
def test_format_param(value, text) -> None:
    assert format_param(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.423, "0.42s"),
        (12.34, "12.3s"),
        (125, "2m05s"),
        (3720, "1h02m"),
        (None, "-"),
    ],
)
def test_format_duration(seconds, text) -> None:
    assert format_duration(seconds) == text


def test_value_label() -> None:
    assert value_label({"model": "sklearn-mlp-classifier", "metric": "roc_auc"}) == "roc_auc"
    assert value_label({"model": "sklearn-mlp-regressor"}) == "r2"
    assert value_label({"callable": "m:f"}) == "value"


def render(table, width: int) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(table)
    return buffer.getvalue()


def test_leaderboard_table_wide_shows_everything() -> None:
    text = render(
        leaderboard_table(TRIALS, SPACE, value_name="accuracy", title="t", width=160), 160
    )
    for cell in (
        "rank",
        "accuracy",
        "0.9877",
        "128-64",
        "0.00494",
        "tanh",
        "test accuracy",
        "best epoch",
        "4.50s",
    ):
        assert cell in text
    assert "…" not in text


@pytest.mark.parametrize("width", [60, 80, 100])
def test_leaderboard_table_never_crops_a_value(width: int) -> None:
    text = render(leaderboard_table(TRIALS, SPACE, value_name="accuracy", width=width), width)
    assert "…" not in text
    assert all(len(line) <= width for line in text.splitlines())
    for t in TRIALS:
        assert format_number(t.value) in text
        assert format_param(t.params["lr"]) in text


def test_records_nest_params_and_json_round_trips() -> None:
    records = trial_records(TRIALS, ranked=True)
    assert [r["rank"] for r in records] == [1, 2, 3]
    assert records[0]["params"]["sizes"] == [128, 64]
    assert records[0]["metrics"]["n_epochs"] == 12
    assert json.loads(to_json(records)) == records
    exported = trial_records(TRIALS, ranked=False, with_curves=True)
    assert exported[1]["state"] == "COMPLETE" and exported[1]["curve"] == [
        [1, 0.5],
        [2, 0.7],
        [3, 0.8],
    ]
    assert exported[0]["started_at"] == "2024-01-01T12:00:00"


def test_trials_frame_and_csv() -> None:
    frame = trials_frame(TRIALS, SPACE, ranked=True)
    assert list(frame.index) == [1, 2, 3]
    # value and parameters first, metrics after, bookkeeping last (issue 13)
    assert list(frame.columns[:5]) == ["value", "sizes", "lr", "batch_size", "activation"]
    assert list(frame.columns[-4:]) == ["number", "state", "duration_s", "worker"]
    assert frame.loc[1, "sizes"] == "(128, 64)"
    csv_text = to_csv(frame)
    assert csv_text.splitlines()[0].startswith("rank,value,sizes")
    unranked = trials_frame(TRIALS, SPACE, ranked=False)
    assert to_csv(unranked).splitlines()[0].startswith("number,")
    assert "error" in unranked.columns


def test_leaderboard_repr_shows_value_and_every_parameter_within_80_columns() -> None:
    text = repr(trials_frame(TRIALS, SPACE, ranked=True))
    assert "..." not in text
    for column in ("value", "sizes", "lr", "batch_size", "activation", "worker"):
        assert column in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert type(trials_frame(TRIALS, SPACE, ranked=True).head(1)).__name__ == "TrialsFrame"


def test_curves_frame_long_form() -> None:
    frame = curves_frame(TRIALS)
    assert list(frame.columns) == ["trial", "state", "step", "value"]
    assert len(frame) == 6 and set(frame["trial"]) == {0, 1}
    assert curves_frame([]).empty


def test_sparkline() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([1.0, 1.0]) == "▅▅"
    assert sparkline([]) == ""
    assert sparkline([0.0, float("nan"), 1.0]) == "▁ █"
    assert len(sparkline(list(range(500)), width=40)) == 40
