# Purchase Lab: `make run` starts the whole system locally, `make test` runs every test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

.PHONY: help venv tools gen run test lint format clean

help:
	@echo "make run    start Redis and every service as local processes (Ctrl-C stops them all)"
	@echo "make test   run every test suite (unit, functional, integration, e2e)"
	@echo "make lint   ruff and buf lint"
	@echo "make gen    regenerate gen/ from protos/"

# The virtualenv, with every Python package pinned by constraints.txt.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

venv: $(STAMP)

# Node tools (buf), pinned by package-lock.json; skipped with a warning where npm is missing.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "warning: npm not found; buf lint will be skipped (install Node.js to run it)"; fi

tools: venv $(NODE_STAMP)

gen: venv
	$(BIN)/python scripts/gen_protos.py

run: venv gen
	$(BIN)/purchase up

test: tools
	$(BIN)/python -m pytest

lint: tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	npx --no-install buf lint protos

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) node_modules .run .pytest_cache .ruff_cache
