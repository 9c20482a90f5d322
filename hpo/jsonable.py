"""Values that go into JSON columns (metrics, user attrs, params), made storable or refused.

Objectives compute with numpy, so a metric is often ``np.int64(3)`` or a 0-d array;
the database's JSON encoder knows neither. :func:`to_jsonable` turns numpy scalars and
0-d arrays into Python numbers, tuples into lists, and NaN/inf into None (PostgreSQL's
JSON has no NaN), and refuses anything else that JSON cannot hold with a
:class:`~hpo.errors.ConfigError` naming the field and the key, before anything is written.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from hpo.errors import ConfigError

__all__ = ["to_jsonable", "as_number"]


def as_number(value: Any) -> float | None:
    """``float(value)`` for a real number (Python, numpy scalar or 0-d array), else None.

    Strings, bools and arrays of more than one element are not numbers.
    """
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        value = value.item() if hasattr(value, "item") else value
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    return None


def to_jsonable(value: Any, field: str, *, _path: str = "") -> Any:
    """``value`` as plain JSON data (dict/list/str/int/float/bool/None).

    Args:
        field: what the value is (``"metrics"``, ``"user_attrs"``), for the message.

    Raises:
        ConfigError: naming ``field``, the key inside it and the offending value.
    """
    if type(value).__module__ == "numpy":
        if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
            value = value.item()  # numpy scalar or 0-d array -> Python scalar
        elif hasattr(value, "tolist"):
            value = value.tolist()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(
                    f"The {field!r} keys must be str. Got key {k!r}{_where(_path)} instead."
                )
            out[k] = to_jsonable(v, field, _path=f"{_path}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, field, _path=f"{_path}[{i}]") for i, v in enumerate(value)]
    raise ConfigError(
        f"The {field!r} value{_where(_path)} must be JSON data (str, number, bool, None, list or "
        f"dict with str keys). Got {type(value).__name__} {_short(value)} instead."
    )


def _where(path: str) -> str:
    return f" at {path}" if path else ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
