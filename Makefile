# Two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench chaos docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# Pinned CPU wheel first: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/memlearn run examples/quickstart.toml

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# SIGKILL every kind at deterministic write points, resume, compare with uninterrupted runs (one JSON line).
chaos: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/chaos.py

docs: $(STAMP)
	$(BIN)/python -m memlearn.experiments.config_docs > docs/config.md

clean:
	rm -rf $(VENV) runs .pytest_cache
