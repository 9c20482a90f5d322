"""benchmarks/gp_ask_ab.py: both checkouts ask, interleaved, and the report says so."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_against_itself_reports_both_medians_and_their_ratio() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.gp_ask_ab", "--base", str(ROOT), "--n", "12"]
        + ["--rounds", "2", "--per", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    m = re.fullmatch(
        r"n=12 warm: base ([\d.]+) ms, this ([\d.]+) ms, this/base ([\d.]+) "
        r"\(median of 2 asks each, process CPU\); load [\d.]+\n",
        out,
    )
    assert m, out
    base, this, ratio = map(float, m.groups())
    assert base > 0 and this > 0
    assert abs(ratio - this / base) < 0.01 * ratio + 1e-3  # the printed ratio is theirs
