# Hyperviseur — the two commands: `make run` and `make test` (plus `make bench`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICES := $(BIN)/python infra/local/services.py

.PHONY: run test bench install stop clean help

help:
	@echo "make run    — installe, exécute la chaîne sur le territoire de démonstration, laisse les interfaces ouvertes"
	@echo "make test   — installe les dépendances de test, démarre les serveurs (S3, MQTT), lance la suite"
	@echo "make bench  — mesures de performance (rapports dans bench-results/)"
	@echo "make stop   — arrête les interfaces laissées ouvertes par make run"

# -- environments ------------------------------------------------------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install -q -c requirements.lock -e '.[test]'
	touch $@

install: $(VENV)/.installed

# -- the two commands --------------------------------------------------------------------
run: install
	$(BIN)/hyperviseur run

test: install
	$(SERVICES) start all
	set -o pipefail; rc=0; $(BIN)/python -m pytest -q -ra --durations=15 $(PYTEST_ARGS) || rc=$$?; \
	  $(SERVICES) stop all; exit $$rc

bench: install
	$(SERVICES) start all
	set -o pipefail; rc=0; for b in benchmarks/bench_*.py; do \
	  echo "== $$b"; $(BIN)/python $$b $(BENCH_ARGS) || rc=$$?; done; \
	  $(SERVICES) stop all; exit $$rc

stop:
	-$(SERVICES) stop all

clean: stop
	rm -rf data $(VENV)
