# Set-up and everyday commands. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench lock clean posterior notebook images

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with its test tools

demo: install  ## one run, an experiment, the claims and the validation, each with its summary line and report
	@set -e; start=$$(date +%s); \
	echo "== 1 of 4: one run of mikta, seed 1 -> results/demo/"; \
	$(BIN)/minilat run mikta --seed 1 --out results/demo --force; \
	echo "== 2 of 4: experiments/budget-vs-secretariat.toml (8 points x 200 paired runs)"; \
	$(BIN)/minilat experiment experiments/budget-vs-secretariat.toml --force; \
	echo "== 3 of 4: the sources' claims at the fitted values, experiments/claims.toml (1,000 paired runs per arm)"; \
	$(BIN)/minilat claims experiments/claims.toml --no-variants --force; \
	echo "== 4 of 4: the model against MIKTA's and IBSA's records"; \
	$(BIN)/minilat validate --force; \
	echo "== make demo: 4 steps in $$(( $$(date +%s) - start )) s (after install)"

posterior: install  ## refit the shipped posterior, results/posterior/ (ABC-SMC on both records; see results/README.md)
	$(BIN)/minilat calibrate experiments/joint-smc.toml --out results/posterior --force

notebook: install  ## open docs/tutorial.ipynb in JupyterLab (installs the notebook extra)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[notebook]"
	$(BIN)/jupyter lab docs/tutorial.ipynb

images: install  ## redraw the README's figures in docs/images from the model
	$(BIN)/python docs/make_images.py

test: install  ## run the test suite on all cores
	$(BIN)/python -m pytest -n auto --dist worksteal --durations=20

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
	.lock-venv/bin/python -m pip install --quiet -e ".[dev,notebook]"
	{ echo "# Exact versions that \`make demo\`, \`make test\` and CI install (as pip constraints), for"; \
	  echo "# reproduction. pyproject.toml keeps the ranges the project supports. Regenerate with \`make lock\`."; \
	  echo "# Python $$(.lock-venv/bin/python -c 'import platform; print(platform.python_version())') on $$(uname -m) Linux."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
