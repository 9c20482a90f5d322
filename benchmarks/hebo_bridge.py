"""HEBO behind a pipe: run by the HEBO venv's python, driven by benchmarks/ttq_strategies.py.

HEBO 0.3.6 needs numpy<1.25 and hpo's venv has numpy 2, so HEBO runs in its own
interpreter (``scripts/ensure_hebo_venv.sh`` makes ``benchmarks/.venv-hebo``). This file
imports nothing from hpo and is a plain script. One JSON object per line on stdin, one
answer per line on stdout:

    {"op": "init", "space": [<HEBO parameter dicts>], "seed": 100}  -> {"ok": true, "cpu": 0.0}
    {"op": "suggest"}                      -> {"id": 0, "x": {"name": value, ...}, "cpu": 0.41}
    {"op": "observe", "id": 0, "y": 0.12}  -> {"ok": true, "cpu": 0.43}   (y is minimized)

``cpu`` is this process's ``time.process_time()`` since the end of ``init`` (so the torch
and HEBO imports are not charged to the first proposal); the replay adds its increase to
the simulated time under ``--charge-ask``. An error answers ``{"error": "..."}``. End of
input ends the process. Anything HEBO prints goes to stderr, never into the protocol.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")


def _plain(v: Any) -> Any:
    """numpy scalars to JSON values."""
    if hasattr(v, "item"):
        return v.item()
    return v


class Bridge:
    def __init__(self) -> None:
        self.opt: Any = None
        self.pending: dict[int, Any] = {}  # id -> the one-row DataFrame HEBO suggested
        self.next_id = 0
        self.cpu0 = time.process_time()

    def cpu(self) -> float:
        return time.process_time() - self.cpu0

    def init(self, space: list[dict[str, Any]], seed: int) -> dict[str, Any]:
        import random

        import numpy as np
        import torch
        from hebo.design_space.design_space import DesignSpace
        from hebo.optimizers.hebo import HEBO

        torch.set_num_threads(1)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        self.opt = HEBO(DesignSpace().parse(space), scramble_seed=seed)
        self.cpu0 = time.process_time()
        return {"ok": True, "cpu": 0.0}

    def suggest(self) -> dict[str, Any]:
        rec = self.opt.suggest(n_suggestions=1)
        key = self.next_id
        self.next_id += 1
        self.pending[key] = rec
        row = rec.iloc[0]
        return {"id": key, "x": {c: _plain(row[c]) for c in rec.columns}, "cpu": self.cpu()}

    def observe(self, key: int, y: float) -> dict[str, Any]:
        import numpy as np

        rec = self.pending.pop(key)
        self.opt.observe(rec, np.array([[float(y)]]))
        return {"ok": True, "cpu": self.cpu()}


def main() -> int:
    out = sys.stdout
    sys.stdout = sys.stderr  # HEBO's and torch's prints must not reach the protocol
    bridge = Bridge()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            op = msg["op"]
            if op == "init":
                answer = bridge.init(msg["space"], int(msg["seed"]))
            elif op == "suggest":
                answer = bridge.suggest()
            elif op == "observe":
                answer = bridge.observe(int(msg["id"]), float(msg["y"]))
            else:
                answer = {"error": f"unknown op {op!r}"}
        except Exception as exc:  # answer, do not die: the caller reports it
            traceback.print_exc(file=sys.stderr)
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
