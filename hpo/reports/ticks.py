"""Axis ticks for parameter axes, shared by the matplotlib plots and the dashboard.

Pure arithmetic, no plotting library: a log axis gets 1-2-5 ticks per decade (decades only
when that would be crowded), a linear one five evenly spaced ticks (integers for Int).
"""

from __future__ import annotations

import math

__all__ = ["log_ticks", "linear_ticks"]


def log_ticks(low: float, high: float) -> list[float]:
    """1-2-5 ticks between ``low`` and ``high`` (> 0), at most 9 (then decades only)."""
    ticks: list[float] = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            t = float(f"{mantissa * 10.0**exponent:.12g}")
            if low * (1 - 1e-9) <= t <= high * (1 + 1e-9):
                ticks.append(t)
    if len(ticks) > 9:
        ticks = [t for t in ticks if f"{t:e}".startswith("1")]
    return ticks if len(ticks) >= 2 else [low, high]


def linear_ticks(low: float, high: float, *, integer: bool = False, n: int = 5) -> list[float]:
    """``n`` evenly spaced ticks from ``low`` to ``high`` (whole numbers only if ``integer``)."""
    if high <= low:
        return [low]
    ticks = [low + (high - low) * i / (n - 1) for i in range(n)]
    if integer:
        return [float(v) for v in sorted({int(round(t)) for t in ticks})]
    return ticks
