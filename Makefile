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

demo: install  ## run the default scenario and write its report under results/
	$(BIN)/minilat run mikta --seed 1 --out results/demo

test: install  ## run the test suite
	$(BIN)/python -m pytest

lint: install  ## check style
	$(BIN)/ruff check .

bench: install  ## time one 30-year run of the Mesa engine
	$(BIN)/python benchmarks/bench_run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
