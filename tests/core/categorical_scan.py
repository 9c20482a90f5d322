"""``Categorical.index`` as it was before its lookup table: a scan of the choices.

The reference the lookup is compared with (tests/core/test_space.py) and the old code path
the GP proposals are replayed on (tests/samplers/test_gp_conditional_reference.py)."""

from __future__ import annotations

import json
from typing import Any

from hpo.space import Categorical, _freeze


def index_by_scan(c: Categorical, value: Any) -> int:
    key = json.dumps(_freeze(value))
    for i, choice in enumerate(c.choices):
        if json.dumps(choice) == key:
            return i
    raise ValueError(f"{value!r} is not a choice of '{c.name}'")
