# Purchase Lab: `make run` starts the whole system locally, `make test` runs every test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

.PHONY: help venv tools gen run test lint format clean load bench soak

help:
	@echo "make run    start Redis and every service as local processes (Ctrl-C stops them all)"
	@echo "make test   run every test suite (unit, functional, integration, e2e)"
	@echo "make lint   ruff and buf lint"
	@echo "make gen    regenerate gen/ from protos/"
	@echo "make load   a bounded locust run against the lab, with a report (docs/load.md)"
	@echo "make bench  benchmarks: floor, checkout, layer costs, footprint (docs/benchmarks.md)"
	@echo "make soak   chaos load with every service killed in turn, then the invariants (docs/security.md)"
	@echo "make mutate mutation score of the checkout, cart store, outbox, relay, flags, faults, breaker (long)"
	@echo "make explore       every fault at every checkout call site, checked against the table (docs/explore.md)"
	@echo "make explore-deep  the same with pairs of faults (--depth 2) and dynamic reduction"
	@echo "make drift  the gateway's contract fakes against the real services (docs/drift.md)"

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

# Load the lab through locust and write a report under .run/load/<time>/ (docs/load.md): the running lab
# is used, or one is started for the run. More: make load LOAD_ARGS="--chaos soft --users 50".
LOAD_ARGS ?=
load: venv gen
	$(BIN)/purchase load --start-lab $(LOAD_ARGS)

bench: venv gen
	$(BIN)/python -m bench --out artifacts/bench
	$(BIN)/python -m bench.deploys --out artifacts/bench

# Chaos load in a lab of its own while cart, pricing and email are killed in turn and Redis restarts; then the
# invariant check and the recovery time per service, in artifacts/soak/<time>/soak.json. A short one runs
# in make test (tests/integration/test_soak.py). More: make soak SOAK_ARGS="--duration 600 --users 40".
SOAK_ARGS ?=
soak: venv gen
	$(BIN)/python -m loadtest.soak $(SOAK_ARGS)

# Mutation testing with mutmut, each module against its fast covering tests; not part of `make test`.
# Report: artifacts/mutate/report.md; survivors are explained in scripts/mutation-triage.toml.
.PHONY: mutate
mutate: venv gen
	$(BIN)/python scripts/mutate.py $(MUTATE_ARGS)

# Explore the checkout's faults (docs/explore.md) and the fakes' drift (docs/drift.md): each starts a lab of
# its own on free ports and writes a report under .run/explore/ or .run/drift/; both exit 1 on a failure.
.PHONY: explore explore-deep drift
explore: venv gen
	$(BIN)/purchase explore

explore-deep: venv gen
	$(BIN)/purchase explore --depth 2

drift: venv gen
	$(BIN)/purchase drift

lint: tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	npx --no-install buf lint protos

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) node_modules .run .pytest_cache .ruff_cache
