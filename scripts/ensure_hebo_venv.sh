#!/usr/bin/env bash
# A separate venv for the HEBO peer of benchmarks/time_to_quality.py (strategy `hebo`).
#
# HEBO 0.3.6 (the newest on PyPI) requires numpy<1.25 and hpo's venv has numpy 2, so HEBO
# runs in its own interpreter, driven over JSON lines by benchmarks/hebo_bridge.py. The pins
# below stop pip from backtracking through every pandas/scipy release (it does, unpinned)
# (torch<2.14: the CPU build 2.13.0+cpu where a local wheel has it). Idempotent: does nothing if HEBO already imports.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=benchmarks/.venv-hebo
PY=${PYTHON:-python3}
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import hebo" 2>/dev/null; then
    echo "HEBO venv ready: $VENV"
    exit 0
fi
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install \
    "hebo==0.3.6" "numpy==1.24.4" "pandas>=1.5,<2.1" "scipy>=1.10,<1.12" \
    "matplotlib<3.9" "scikit-learn>=1.2,<1.6" "torch>=2.1,<2.14" "GPy<1.14"
"$VENV/bin/python" -c "import hebo, numpy, torch; print('HEBO venv ready:', numpy.__version__, torch.__version__)"
