# Developer and CI entry points. `make help` lists the targets.
SHELL := /bin/bash

# The interpreter that creates .venv: python3.11 when present, else python3.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
# Only paths that exist: git keeps no empty folder, so bench/ may be absent in a fresh clone.
LINT_PATHS := $(wildcard src tests bench scripts)
# bench/benchlib.py is what the scripts share, not a benchmark.
BENCHES := $(sort $(filter-out bench/benchlib.py,$(wildcard bench/*.py)))

.DEFAULT_GOAL := help
.PHONY: help install lint format test bench docs run demo services constraints

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "} {printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "python3.11 or python3 is needed to create $(VENV)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Re-installs only when the dependency lists change, so `make run`/`make test` stay fast.
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -c constraints.txt -e '.[dev]'
	@touch $@

install: ## create .venv if missing; install the project and dev tools, pinned
	@rm -f $(STAMP)
	@$(MAKE) --no-print-directory $(STAMP)

lint: $(STAMP) ## ruff check, ruff format --check, mypy (strict) and import-linter
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy src
	$(BIN)/lint-imports

format: ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

test: $(STAMP) services ## install if needed, bring up PostgreSQL/Redis, run every test
	$(BIN)/pytest -q

bench: ## run every bench/*.py script (they print their figures)
	@if [ -z "$(BENCHES)" ]; then echo "no benchmark scripts in bench/"; fi
	@set -e; for script in $(BENCHES); do \
		echo "== $$script"; $(BIN)/python "$$script"; \
	done

docs: ## render docs/state-machines.md from the transition tables
	$(BIN)/python scripts/render_state_machines.py

run: $(STAMP) ## install if needed, then serve the seeded API on the embedded default
	$(BIN)/platform-core serve

demo: $(STAMP) ## whole order lifecycles in process, printing their timelines
	$(BIN)/platform-core demo

services: ## make sure PostgreSQL and Redis are up for the integration tests
	bash scripts/services.sh

constraints: ## re-pin constraints.txt from what .venv has installed
	@set -o pipefail; { echo "# Exact versions for 'make install' (pip -c). Regenerate with 'make constraints'."; \
	   $(BIN)/python -m pip freeze --exclude-editable \
	     | grep -v -i -E '^platform[-_]core([=@ ]|$$)'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	@echo "constraints.txt: $$(grep -c '==' constraints.txt) pinned packages"
