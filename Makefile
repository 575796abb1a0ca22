# The two commands of the README: `make up` (embedded farm) and `make test` (everything CI checks).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(VENV)/bin/pip install -q -e '.[dev,zoo]'
	touch $@

.PHONY: up test test-fast lint typecheck pytest conformance
up: $(VENV)/.base
	$(VENV)/bin/farm up

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy .

# the fast tier (unit, virtual phone, API/service tests on one rolled-back Postgres database per
# xdist worker): about a minute on a 2-core machine
test-fast: $(VENV)/.dev
	$(PY) -m pytest -q -ra -m fast -n auto --maxprocesses=4

# everything, spread over the CPUs a file at a time (module fixtures such as the browser farm start once)
pytest: $(VENV)/.dev
	$(PY) -m pytest -q -ra --durations=15 -n auto --dist loadfile

test: lint typecheck pytest

# Android's own adb device tests (AOSP test_device.py) against one virtual phone, every test
# in its own process; fails on any failure not listed in tests/conformance/expected.py.
conformance: $(VENV)/.dev
	$(PY) -m tests.conformance.runner
