# One command runner for README, CI and contributors.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_ENV := PORTAL_ENV=demo
HOST := 127.0.0.1
PORT := 8000

.PHONY: demo demo-extract test lint lint-imports check-migrations check-deploy demo-code lock clean-demo bench bench-services

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(VENV)/.runtime: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	touch $@

$(VENV)/.dev: requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@ $(VENV)/.runtime

## demo: install, migrate, seed synthetic data, and serve on 127.0.0.1:8000 with a worker
demo: $(VENV)/.runtime
	$(DEMO_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo
	$(DEMO_ENV) $(BIN)/python -m pause_portal.demo_runner --host $(HOST) --port $(PORT)

## demo-extract: write a synthetic extract to upload in the demo (invented people), e.g. make demo-extract DEMO_EXTRACT=var/demo-extract
DEMO_EXTRACT ?= var/demo-extract
demo-extract: $(VENV)/.runtime
	$(DEMO_ENV) $(BIN)/python manage.py write_synthetic_extract $(DEMO_EXTRACT)

## demo-code: the current two-step code of a demo account, e.g. make demo-code EMAIL=lead@demo.invalid
demo-code: $(VENV)/.runtime
	@$(DEMO_ENV) $(BIN)/python manage.py demo_code $(EMAIL)

## test: the whole suite (SQLite by default; PostgreSQL when DATABASE_URL is set)
test: $(VENV)/.dev
	PORTAL_ENV=test $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .

## lint-imports: the layers contract (pyproject.toml, ADR 23): each layer imports only those below it
lint-imports: $(VENV)/.dev
	$(BIN)/lint-imports --no-cache

check-migrations: $(VENV)/.dev
	PORTAL_ENV=test $(BIN)/python manage.py makemigrations --check --dry-run

## check-deploy: Django's deployment checks under production settings (throwaway secrets)
check-deploy: $(VENV)/.dev
	$(BIN)/python -m pause_portal.deploy_check

## bench: the benchmarks, each printing its figures beside its baseline from the same run
bench: $(VENV)/.dev
	cd bench && PORTAL_ENV=test ../$(BIN)/python disclosure_overhead.py
	cd bench && PORTAL_ENV=test ../$(BIN)/python pseudonymisation_throughput.py
	cd bench && PORTAL_ENV=test ../$(BIN)/python import_throughput.py
	cd bench && PORTAL_ENV=test ../$(BIN)/python eligibility_throughput.py
	cd bench && PORTAL_ENV=test ../$(BIN)/python scoping_release.py

## bench-services: the benchmarks that need PostgreSQL and Redis on 127.0.0.1 (load, mixed load, audit trail at 5M entries)
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
bench-services: $(VENV)/.dev
	DATABASE_URL=$(BENCH_DATABASE_URL) PORTAL_ENV=test $(BIN)/python bench/load.py
	DATABASE_URL=$(BENCH_DATABASE_URL) PORTAL_ENV=test $(BIN)/python bench/load_mixed.py
	DATABASE_URL=$(BENCH_DATABASE_URL) PORTAL_ENV=test $(BIN)/python bench/audit.py

## lock: re-pin the hash-locked requirements from pyproject.toml (needs uv)
lock:
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements.lock
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements-dev.lock

clean-demo:
	rm -rf var/demo.sqlite3* var/broker var/outbox var/keys/demo var/audit-checkpoints
