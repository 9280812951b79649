# Set-up and everyday commands. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with its test tools

demo: install  ## run an experiment, the claims and the validation; print shares, verdicts, cases.csv and report paths
	$(BIN)/minilat run mikta --seed 1 --out results/demo --force
	$(BIN)/minilat experiment experiments/budget-vs-secretariat.toml --force
	$(BIN)/minilat claims experiments/claims.toml --quiet --force
	$(BIN)/minilat validate --force

test: install  ## run the test suite on all cores
	$(BIN)/python -m pytest -n auto

lint: install  ## check style
	$(BIN)/ruff check .

bench: install  ## engines, experiments and memory: ratios measured in one run each
	$(BIN)/python benchmarks/bench_run.py
	$(BIN)/minilat bench
	$(BIN)/minilat bench sweep
	$(BIN)/minilat bench shapes
	$(BIN)/minilat bench memory

lock:  ## resolve pyproject's ranges afresh and write the exact versions to requirements.lock
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e ".[dev]"
	{ echo "# Exact versions that \`make demo\`, \`make test\` and CI install (as pip constraints), for"; \
	  echo "# reproduction. pyproject.toml keeps the ranges the project supports. Regenerate with \`make lock\`."; \
	  echo "# Python $$(.lock-venv/bin/python -c 'import platform; print(platform.python_version())') on $$(uname -m) Linux."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
