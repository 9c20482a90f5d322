"""Tables of trials: the leaderboard (pandas, rich, CSV, JSON), trial exports and learning curves.

Everything here is a pure function of trials read from storage, so the same leaderboard
comes out of a running study, a finished one, or another machine reading the database.

* :func:`trials_frame` -- one row per trial (what ``Study.leaderboard`` and
  ``Study.trials_dataframe`` return).
* :func:`trial_records` / :func:`to_json` -- JSON records with params and metrics nested.
* :func:`curves_frame` -- learning curves in long form: ``trial, state, step, value``.

The terminal's side (:func:`leaderboard_table`, :func:`sparkline`, the value formats) lives
in :mod:`hpo.reports.text`, which needs no pandas, and is re-exported here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from hpo.reports.text import (
    format_duration,
    format_number,
    format_param,
    leaderboard_table,
    sparkline,
    value_label,
)
from hpo.space import SearchSpace
from hpo.trial import FrozenTrial

__all__ = [
    "trials_frame",
    "leaderboard_table",
    "trial_records",
    "to_json",
    "to_csv",
    "curves_frame",
    "sparkline",
    "format_number",
    "format_param",
    "format_duration",
    "value_label",
]


def _cell(value: Any) -> Any:
    return str(value) if isinstance(value, tuple) else value


def trials_frame(
    trials: Sequence[FrozenTrial], space: SearchSpace, *, ranked: bool
) -> pd.DataFrame:
    """One row per trial, as a :class:`TrialsFrame`.

    Ranked (the leaderboard): indexed by rank; value, one column per parameter, metrics, then
    number, state, duration and worker. Unranked (every trial): number, state, value, params,
    metrics, duration, worker, error, retry_of. Parameters keep their own names (tuples shown
    as text).
    """
    rows: list[dict[str, Any]] = []
    metric_names: list[str] = []
    for i, t in enumerate(trials, start=1):
        row: dict[str, Any] = {"rank": i} if ranked else {}
        row.update(number=t.number, state=t.state.value, value=t.value)
        for name in space:
            row[name] = _cell(t.params.get(name))
        for key, v in t.metrics.items():
            if key not in metric_names:
                metric_names.append(key)
            row[key] = v
        row["duration_s"] = t.duration
        row["worker"] = t.worker_id
        if not ranked:
            row["error"] = t.error
            row["retry_of"] = t.retry_of
        rows.append(row)
    metrics = [m for m in metric_names if m not in space and m != "duration_s"]
    if ranked:  # what a person compares first: value, params, metrics; bookkeeping last
        columns = ["rank", "value", *space, *metrics, "number", "state", "duration_s", "worker"]
    else:  # a log of trials, in number order
        columns = [
            "number",
            "state",
            "value",
            *space,
            *metrics,
            "duration_s",
            "worker",
            "error",
            "retry_of",
        ]
    frame = TrialsFrame(rows, columns=columns)
    return frame.set_index("rank") if ranked else frame


class TrialsFrame(pd.DataFrame):
    """A DataFrame whose ``repr`` shows every column within 80 characters.

    Plain pandas elides the middle columns of a wide frame (``number state ... worker``),
    which hides the value and every parameter; this one wraps the columns into blocks
    instead, with 4 significant digits. Everything else is an ordinary DataFrame.
    """

    @property
    def _constructor(self) -> type[TrialsFrame]:
        return TrialsFrame

    def __repr__(self) -> str:
        with pd.option_context(
            "display.width",
            80,
            "display.max_columns",
            None,
            "display.expand_frame_repr",
            True,
            "display.precision",
            4,
            "display.max_colwidth",
            24,
        ):
            return super().__repr__()


# ---------------------------------------------------------------------- exports
def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def trial_records(
    trials: Sequence[FrozenTrial], *, ranked: bool, with_curves: bool = False
) -> list[dict[str, Any]]:
    """JSON-able records, params and metrics nested.

    Ranked (leaderboard) records hold ``rank, number, value, params, metrics, duration_s``;
    unranked (export) records add ``state, error, started_at, finished_at, worker, retry_of``
    and, with ``with_curves``, ``curve``: ``[[step, value], ...]``.
    """
    records = []
    for i, t in enumerate(trials, start=1):
        record: dict[str, Any] = {"rank": i} if ranked else {}
        record.update(number=t.number, value=_jsonable(t.value))
        if not ranked:
            record["state"] = t.state.value
        record["params"] = {k: _jsonable(v) for k, v in t.params.items()}
        record["metrics"] = {k: _jsonable(v) for k, v in t.metrics.items()}
        record["duration_s"] = t.duration
        if not ranked:
            record.update(
                error=t.error,
                worker=t.worker_id,
                retry_of=t.retry_of,
                started_at=t.started_at.isoformat() if t.started_at else None,
                finished_at=t.finished_at.isoformat() if t.finished_at else None,
            )
            if with_curves:
                record["curve"] = [[s, _jsonable(v)] for s, v in sorted(t.intermediate.items())]
        records.append(record)
    return records


def to_json(records: list[dict[str, Any]]) -> str:
    """Records as indented JSON text."""
    return json.dumps(records, indent=2, default=str)


def to_csv(frame: pd.DataFrame) -> str:
    """A trials or leaderboard frame as CSV text (the index is kept when it is the rank)."""
    return frame.to_csv(index=frame.index.name == "rank")


def curves_frame(trials: Sequence[FrozenTrial]) -> pd.DataFrame:
    """Learning curves in long form: one row per (trial, step) with the trial's state.

    The trials must have been read with curves (``storage.trials(..., with_curves=True)``).
    """
    rows = [
        {"trial": t.number, "state": t.state.value, "step": step, "value": value}
        for t in trials
        for step, value in sorted(t.intermediate.items())
    ]
    return pd.DataFrame(rows, columns=["trial", "state", "step", "value"])
