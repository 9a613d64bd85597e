# Two commands do all the set-up on a fresh machine with Python >= 3.11:
#   make quickstart   build .venv (first time only) and run the quickstart sweep on embedded MNIST-5k
#   make test         build .venv (first time only), then lint, type-check and run the test suite
#   make test-fast    the suite without the multi-process end-to-end tests (the inner loop; no lint)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: quickstart test test-fast lint venv clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

quickstart: $(STAMP)
	$(BIN)/acadp sweep run sweeps/quickstart.yaml

lint: $(STAMP)
	$(BIN)/ruff check acadp tests benchmarks
	$(BIN)/ruff format --check acadp tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

# the inner loop: everything but the multi-process end-to-end tests (marked e2e in tests/conftest.py), on every core
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not e2e" -n auto

clean-venv:
	rm -rf $(VENV)
