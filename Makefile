# Set-up and everyday commands. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with its test tools

demo: install  ## run an experiment and the claims; print shares, verdicts and report paths
	$(BIN)/minilat run mikta --seed 1 --out results/demo --force
	$(BIN)/minilat experiment experiments/budget-vs-secretariat.toml --force
	$(BIN)/minilat claims experiments/claims.toml --quiet --force

test: install  ## run the test suite on all cores
	$(BIN)/python -m pytest -n auto

lint: install  ## check style
	$(BIN)/ruff check .

bench: install  ## engines, experiments and memory: ratios measured in one run each
	$(BIN)/python benchmarks/bench_run.py
	$(BIN)/minilat bench
	$(BIN)/minilat bench sweep
	$(BIN)/minilat bench memory

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
