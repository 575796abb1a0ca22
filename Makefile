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

.PHONY: up test lint typecheck pytest conformance
up: $(VENV)/.base
	$(VENV)/bin/farm up

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy .

pytest: $(VENV)/.dev
	$(PY) -m pytest -q -ra --durations=15

test: lint typecheck pytest

# Android's own adb device tests (AOSP test_device.py) against one virtual phone, every test
# in its own process; fails on any failure not listed in tests/conformance/expected.py.
conformance: $(VENV)/.dev
	$(PY) -m tests.conformance.runner
