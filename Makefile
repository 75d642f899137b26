# riskreg: `make run` serves the demo on SQLite, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test test-sqlite test-postgres lint format bench fuzz crash clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/riskreg migrate
	@KEY=$$($(BIN)/riskreg demo) && \
	  echo "" && \
	  echo "riskreg demo partnership loaded (SQLite: $${RISKREG_DATABASE_URL:-./riskreg.db})" && \
	  echo "  coordinator key: $$KEY" && \
	  echo "  docs:            http://$(HOST):$(PORT)/docs" && \
	  echo "  try:             curl -H 'Authorization: Bearer $$KEY' http://$(HOST):$(PORT)/api/v1/cases" && \
	  echo ""
	$(BIN)/riskreg serve --host $(HOST) --port $(PORT)

# The whole suite on SQLite, then again on PostgreSQL when RISKREG_TEST_POSTGRES_URL is set.
test: $(STAMP)
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$RISKREG_TEST_POSTGRES_URL" ]; then \
	  $(MAKE) --no-print-directory test-postgres; \
	else \
	  echo "RISKREG_TEST_POSTGRES_URL not set: PostgreSQL pass skipped (CI sets it and requires it)"; \
	fi

test-sqlite: $(STAMP)
	RISKREG_TEST_DB=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	RISKREG_TEST_DB=postgresql $(BIN)/python -m pytest $(PYTEST_ARGS)

# Long runs of the bounded checks in `make test` (add RISKREG_TEST_DB=postgresql and
# RISKREG_TEST_POSTGRES_URL=... to run them on PostgreSQL).
fuzz: $(STAMP)
	RISKREG_FUZZ_EXAMPLES=$${RISKREG_FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest -s tests/test_contract_fuzz.py

crash: $(STAMP)
	RISKREG_CRASH_REQUESTS=$${RISKREG_CRASH_REQUESTS:-2000} $(BIN)/python -m pytest -s tests/test_crash_safety.py

# Benchmarks against the stack's own ceiling on the local PostgreSQL (not part of `make test`):
# prints one table and writes bench/RESULTS.md. BENCH_ARGS passes options (see bench/run.py).
BENCH_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || apt-get install -y -qq wrk >/dev/null 2>&1 || \
	  { echo "make bench needs wrk: apt-get install -y wrk (Debian package)"; exit 2; }
	BENCH_POSTGRES_URL=$(BENCH_POSTGRES_URL) $(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) riskreg.db riskreg.db-shm riskreg.db-wal
