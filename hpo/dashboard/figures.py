"""The data behind each dashboard plot, reduced on the server so a 100,000-trial study stays fast.

Every function reads with one bounded query and returns JSON-able dicts that the
page hands to plotly.js as they are:

* :func:`history` -- every trial as a point and the best-so-far line. Past
  ``max_points`` trials the points are thinned by min/max per bucket of trial numbers
  (the envelope a person sees stays the same) and every improvement is kept.
* :func:`parallel` -- parallel coordinates; log parameters on a log10 axis labelled with
  their real values, categorical ones by their choices; the best trials always kept.
* :func:`importance` -- permutation importance of a random-forest surrogate on held-out
  trials (not impurity importance, which favours many-valued parameters).
* :func:`slice_contour` -- value against two chosen parameters: two slices and a
  gridded contour of the best value per cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, func, select

from hpo.dashboard.queries import TRIALS, _study_row, finite
from hpo.reports.ticks import linear_ticks, log_ticks

MAX_POINTS = 2000


def _thin(
    numbers: NDArray[np.int64], values: NDArray[np.float64], budget: int
) -> NDArray[np.int64]:
    """Indices that keep, per bucket of consecutive trials, the lowest and the highest value."""
    n = len(numbers)
    if n <= budget:
        return np.arange(n)
    buckets = max(1, budget // 2)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep: list[int] = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi <= lo:
            continue
        chunk = values[lo:hi]
        keep += [lo + int(np.argmin(chunk)), lo + int(np.argmax(chunk))]
    return np.unique(np.asarray(keep, dtype=np.int64))


def best_so_far(
    numbers: NDArray[np.int64], values: NDArray[np.float64], maximize: bool
) -> tuple[list[int], list[float]]:
    """The improvements only: (trial number, new best) each time the best changes."""
    if len(values) == 0:
        return [], []
    running = np.maximum.accumulate(values) if maximize else np.minimum.accumulate(values)
    changed = np.ones(len(values), dtype=bool)
    changed[1:] = running[1:] != running[:-1]
    return numbers[changed].tolist(), running[changed].tolist()


def history(conn: Connection, study_id: int, *, max_points: int = MAX_POINTS) -> dict[str, Any]:
    """Value per trial (complete and pruned), failed trials, and the best-so-far line."""
    row = _study_row(conn, study_id)
    rows = conn.execute(
        select(TRIALS.c.number, TRIALS.c.state, TRIALS.c.value)
        .where(TRIALS.c.study_id == study_id, TRIALS.c.state.in_(("COMPLETE", "PRUNED", "FAILED")))
        .order_by(TRIALS.c.number)
    ).all()
    maximize = row.direction == "maximize"
    out: dict[str, Any] = {"direction": row.direction, "total": len(rows), "max_points": max_points}
    shown = 0
    for state in ("COMPLETE", "PRUNED"):
        pairs = [
            (r.number, r.value)
            for r in rows
            if r.state == state and r.value is not None and math.isfinite(r.value)
        ]
        numbers = np.asarray([p[0] for p in pairs], dtype=np.int64)
        values = np.asarray([p[1] for p in pairs], dtype=np.float64)
        if state == "COMPLETE":
            x, y = best_so_far(numbers, values, maximize)
            if x and rows[-1].number > x[-1]:  # the line runs on to the latest finished trial
                x, y = [*x, rows[-1].number], [*y, y[-1]]
            out["best"] = {"x": x, "y": y}
        keep = _thin(numbers, values, max_points if state == "COMPLETE" else max_points // 4)
        out[state.lower()] = {
            "x": numbers[keep].tolist(),
            "y": values[keep].tolist(),
            "n": len(pairs),
        }
        shown += len(keep)
    no_value = [
        r.number
        for r in rows
        if r.state == "FAILED" or r.value is None or not math.isfinite(r.value)
    ]
    stride = max(1, math.ceil(len(no_value) / (max_points // 4)))
    out["failed"] = {"x": no_value[::stride], "n": len(no_value)}
    out["shown"] = shown + len(out["failed"]["x"])
    out["downsampled"] = out["shown"] < len(rows)
    return out


def compare(conn: Connection, study_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Best-so-far lines of several studies, for one plot."""
    lines = []
    for sid in study_ids:
        row = _study_row(conn, sid)
        data = conn.execute(
            select(TRIALS.c.number, TRIALS.c.value)
            .where(
                TRIALS.c.study_id == sid, TRIALS.c.state == "COMPLETE", TRIALS.c.value.is_not(None)
            )
            .order_by(TRIALS.c.number)
        ).all()
        numbers = np.asarray([d.number for d in data], dtype=np.int64)
        values = np.asarray([d.value for d in data], dtype=np.float64)
        ok = np.isfinite(values)
        x, y = best_so_far(numbers[ok], values[ok], row.direction == "maximize")
        last = int(numbers[-1]) if len(numbers) else None
        if x and last is not None and last > x[-1]:  # draw the line on to the latest trial
            x, y = [*x, last], [*y, y[-1]]
        lines.append(
            {
                "id": sid,
                "name": row.name,
                "direction": row.direction,
                "x": x,
                "y": y,
                "n": int(ok.sum()),
            }
        )
    return lines


# ---------------------------------------------------------------------- per-parameter views
def _completed(conn: Connection, study_id: int, limit: int, maximize: bool) -> list[Any]:
    """Up to ``limit`` COMPLETE trials: the best fifth of the budget, an even spread of the rest.

    The spread is taken in SQL (every k-th trial number), so only the rows shown are read.
    """
    base = select(TRIALS.c.number, TRIALS.c.params, TRIALS.c.value).where(
        TRIALS.c.study_id == study_id, TRIALS.c.state == "COMPLETE", TRIALS.c.value.is_not(None)
    )
    if _n_complete(conn, study_id) <= limit:
        rows = conn.execute(base.order_by(TRIALS.c.number)).all()
    else:
        order = TRIALS.c.value.desc() if maximize else TRIALS.c.value.asc()
        rows = list(conn.execute(base.order_by(order, TRIALS.c.number).limit(limit // 5)))
        next_number = _study_row(conn, study_id).next_number
        stride = max(1, math.ceil(next_number / (limit - len(rows))))
        taken = {r.number for r in rows}
        rows += [
            r
            for r in conn.execute(base.where(TRIALS.c.number % stride == 0))
            if r.number not in taken
        ]
        rows = sorted(rows, key=lambda r: r.number)[:limit]
    return [r for r in rows if math.isfinite(r.value)]


def _axis(name: str, spec: Mapping[str, Any], values: list[Any]) -> dict[str, Any]:
    """One plotting axis: numbers to draw, and tick positions/labels where they need help."""
    kind = spec.get("type")
    if kind == "Categorical":
        choices = [str(c) for c in spec.get("choices", [])]
        index = {c: i for i, c in enumerate(choices)}
        return {
            "label": name,
            "values": [index.get(str(v)) for v in values],
            "tickvals": list(range(len(choices))),
            "ticktext": choices,
            "range": [-0.2, max(len(choices) - 0.8, 0.2)],
            "scale": "categorical",
        }
    low, high = float(spec["low"]), float(spec["high"])
    if spec.get("log"):
        ticks = log_ticks(low, high)
        return {
            "label": f"{name} (log)",
            "scale": "log",
            "values": [
                math.log10(v) if isinstance(v, (int, float)) and v > 0 else None for v in values
            ],
            "tickvals": [math.log10(t) for t in ticks],
            "ticktext": [f"{t:g}" for t in ticks],
            "range": [math.log10(low), math.log10(high)],
        }
    ticks = linear_ticks(low, high, integer=kind == "Int")
    return {
        "label": name,
        "scale": "linear",
        "values": [v if isinstance(v, (int, float)) else None for v in values],
        "tickvals": ticks,
        "ticktext": [f"{t:.3g}" for t in ticks],
        "range": [low, high],
    }


def parallel(conn: Connection, study_id: int, *, max_lines: int = 1000) -> dict[str, Any]:
    """Parallel coordinates of COMPLETE trials: one axis per parameter, then the value."""
    row = _study_row(conn, study_id)
    rows = _completed(conn, study_id, max_lines, row.direction == "maximize")
    space = row.space or {}
    axes = [_axis(name, spec, [r.params.get(name) for r in rows]) for name, spec in space.items()]
    return {
        "axes": axes,
        "value": [r.value for r in rows],
        "numbers": [r.number for r in rows],
        "direction": row.direction,
        "shown": len(rows),
        "total": _n_complete(conn, study_id),
    }


def _n_complete(conn: Connection, study_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).where(
                TRIALS.c.study_id == study_id,
                TRIALS.c.state == "COMPLETE",
                TRIALS.c.value.is_not(None),
            )
        ).scalar()
        or 0
    )


def _encode(space: Mapping[str, Any], rows: Sequence[Any]) -> NDArray[np.float64]:
    """``(n, d)``: each parameter on its plotting scale (log10, choice index); missing -> NaN."""
    columns = []
    for name, spec in space.items():
        axis = _axis(name, spec, [r.params.get(name) for r in rows])
        columns.append([np.nan if v is None else float(v) for v in axis["values"]])
    return np.asarray(columns, dtype=np.float64).T.reshape(len(rows), len(space))


METHOD = (
    "Permutation importance of a random-forest surrogate (scikit-learn, 64 trees, up to 1,000 "
    "trials): how "
    "much the held-out R² of the forest's prediction of the value drops when one "
    "parameter's values are shuffled, normalised to sum to 1."
)


def importance(
    conn: Connection, study_id: int, *, max_trials: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Which parameters move the value (see :data:`METHOD`); needs 8 complete trials."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    row = _study_row(conn, study_id)
    space = row.space or {}
    rows = _completed(conn, study_id, max_trials, row.direction == "maximize")
    out: dict[str, Any] = {"method": METHOD, "n_trials": len(rows), "names": [], "importance": []}
    if len(rows) < 8:
        out["message"] = f"Needs at least 8 complete trials; this study has {len(rows)}."
        return out
    x = np.nan_to_num(_encode(space, rows), nan=-1.0)  # an inactive parameter is its own value
    y = np.asarray([r.value for r in rows], dtype=np.float64)
    order = np.random.default_rng(seed).permutation(len(rows))
    split = max(4, len(rows) // 4)
    test, train = order[:split], order[split:]
    forest = RandomForestRegressor(
        n_estimators=64, min_samples_leaf=2, random_state=seed, n_jobs=1
    ).fit(x[train], y[train])
    result = permutation_importance(
        forest, x[test], y[test], n_repeats=3, random_state=seed, n_jobs=1
    )
    raw = np.clip(result.importances_mean, 0.0, None)
    share = raw / raw.sum() if raw.sum() > 0 else raw
    ranked = sorted(zip(space, share.tolist(), strict=True), key=lambda p: -p[1])
    out.update(names=[n for n, _ in ranked], importance=[float(v) for _, v in ranked])
    if raw.sum() <= 0:
        out["message"] = (
            "No parameter predicts the value better than chance on held-out trials yet."
        )
    return out


def slice_contour(
    conn: Connection,
    study_id: int,
    x_name: str,
    y_name: str,
    *,
    max_trials: int = 3000,
    cells: int = 24,
) -> dict[str, Any]:
    """Value against two parameters: the sampled points and the best value per grid cell."""
    from hpo.errors import ConfigError

    row = _study_row(conn, study_id)
    space = row.space or {}
    for field, name in (("x", x_name), ("y", y_name)):
        if name not in space:
            raise ConfigError(
                f"{field} must be a parameter of the study ({', '.join(space)}). Got {name!r}."
            )
    maximize = row.direction == "maximize"
    rows = _completed(conn, study_id, max_trials, maximize)
    ax = _axis(x_name, space[x_name], [r.params.get(x_name) for r in rows])
    ay = _axis(y_name, space[y_name], [r.params.get(y_name) for r in rows])
    values = [r.value for r in rows]
    grid: dict[str, Any] = {"x": [], "y": [], "z": []}
    pairs = [
        (a, b, v)
        for a, b, v in zip(ax["values"], ay["values"], values, strict=True)
        if a is not None and b is not None
    ]
    if len(pairs) >= 4 and x_name != y_name:
        (x_lo, x_hi), (y_lo, y_hi) = ax["range"], ay["range"]
        xs, ys = np.linspace(x_lo, x_hi, cells + 1), np.linspace(y_lo, y_hi, cells + 1)
        z = np.full((cells, cells), np.nan)
        for a, b, v in pairs:
            i = min(cells - 1, max(0, int(np.searchsorted(ys, b, side="right")) - 1))
            j = min(cells - 1, max(0, int(np.searchsorted(xs, a, side="right")) - 1))
            if np.isnan(z[i, j]) or (v > z[i, j] if maximize else v < z[i, j]):
                z[i, j] = v
        grid = {
            "x": ((xs[:-1] + xs[1:]) / 2).tolist(),
            "y": ((ys[:-1] + ys[1:]) / 2).tolist(),
            "z": [[finite(float(c)) if not np.isnan(c) else None for c in r] for r in z],
        }
    return {
        "x_axis": {k: v for k, v in ax.items()},
        "y_axis": {k: v for k, v in ay.items()},
        "value": values,
        "numbers": [r.number for r in rows],
        "grid": grid,
        "direction": row.direction,
        "shown": len(rows),
    }
