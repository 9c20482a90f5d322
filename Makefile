# The two commands of the README. Each creates .venv on first use and installs the
# project (torch pinned by constraints.txt so no CUDA build is ever pulled).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS := torch,dask,postgres,plots,parquet,dashboard,bench,dev,optuna,mlflow,tensorboard

.PHONY: run test install lint typecheck bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)
	bash scripts/ensure_datasets.sh

run: $(STAMP)
	$(VENV)/bin/hpo run studies/digits_mlp.py --workers 2 --trials 40

# Style and types are part of the test: CI runs exactly this.
test: $(STAMP) lint typecheck
	bash scripts/ensure_postgres.sh
	bash scripts/ensure_datasets.sh
	bash scripts/ensure_chromium.sh
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check hpo models studies tests benchmarks
	$(VENV)/bin/ruff format --check --quiet hpo models studies tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy hpo models tests

clean:
	rm -rf $(VENV) .pytest_cache studies/hpo.db* studies/artifacts
