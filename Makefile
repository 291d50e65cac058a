# One place for setup, run, test and lint. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help setup run demo test lint fmt catalogs bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/makeready: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/makeready

setup: $(BIN)/makeready catalogs ## create the virtual environment, install, compile translations
	bash infra/install-system-deps.sh

catalogs: $(BIN)/makeready ## compile the .po catalogs to .mo
	$(BIN)/pybabel compile --use-fuzzy=false -d i18n -D messages --statistics 2>&1 | grep -v '^$$' || true
	$(BIN)/pybabel compile -d i18n -D messages

run: setup ## seed the demo agency and serve it on http://127.0.0.1:8000
	$(BIN)/makeready demo

test: setup ## run the whole test suite (PostgreSQL too when TEST_DATABASE_URL is set)
	$(BIN)/pytest

lint: $(BIN)/makeready ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(BIN)/makeready ## format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

extract: $(BIN)/makeready ## extract strings into i18n/messages.pot and update the catalogs
	$(BIN)/pybabel extract -F i18n/babel.cfg -k _ -k gettext -k ngettext:1,2 -k lazy_gettext -o i18n/messages.pot --no-location --sort-output --project=Makeready .
	$(BIN)/pybabel update -i i18n/messages.pot -d i18n -D messages --no-fuzzy-matching --ignore-obsolete

bench: setup ## run the benchmarks and print their figures
	$(BIN)/python bench/portal_throughput.py

clean: ## remove the virtual environment and local data
	rm -rf $(VENV) var
