# The two commands of a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.12 2>/dev/null || ls -1d $$HOME/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | tail -n 1)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: venv demo test test-sqlite test-postgres bench lint format clean

$(STAMP): pyproject.toml constraints.txt
	@if [ -z "$(PYTHON)" ]; then echo "Python 3.12 is needed (pyenv install 3.12)"; exit 1; fi
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/mmtrial demo --host $(HOST) --port $(PORT)

# SQLite run of the whole suite, then the database tests again on PostgreSQL when
# MMTRIAL_TEST_POSTGRES holds its URL (CI sets it; under CI=true it is required).
test: $(STAMP)
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$MMTRIAL_TEST_POSTGRES" ]; then $(MAKE) --no-print-directory test-postgres; \
	elif [ "$$CI" = "true" ]; then echo "CI=true but MMTRIAL_TEST_POSTGRES is not set"; exit 1; \
	else echo "PostgreSQL run skipped: set MMTRIAL_TEST_POSTGRES=postgresql://postgres@127.0.0.1:5432/postgres"; fi

# Tests keep their files (secret key, any stray database) away from the demo's ./var.
TEST_ENV := MMTRIAL_DATA_DIR=$(CURDIR)/var/test

test-sqlite: $(STAMP)
	env -u DATABASE_URL $(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	$(TEST_ENV) DATABASE_URL="$$MMTRIAL_TEST_POSTGRES" $(BIN)/pytest -m database $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(TEST_ENV) $(BIN)/mmtrial manage makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
