"""Tables of trials: the leaderboard and the trials DataFrame (and their CSV/JSON exports)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from hpo.space import SearchSpace
from hpo.trial import FrozenTrial

_FIRST = ["rank", "number", "state", "value"]


def _cell(value: Any) -> Any:
    return str(value) if isinstance(value, tuple) else value


def trials_frame(trials: Sequence[FrozenTrial], space: SearchSpace, *, ranked: bool) -> pd.DataFrame:
    """One row per trial: number, state, value, one column per parameter, metrics, timing, error.

    Parameters keep their own names (tuples shown as text); metrics columns come after them.
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
    columns = [c for c in _FIRST if ranked or c != "rank"] + list(space) + \
        [m for m in metric_names if m not in space and m != "duration_s"] + ["duration_s", "worker"]
    if not ranked:
        columns += ["error", "retry_of"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.set_index("rank") if ranked else frame
