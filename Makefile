# One place for setup, run, test and lint. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help setup run demo test lint fmt catalogs extract bench bench-scale clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/makeready: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/makeready

setup: $(BIN)/makeready catalogs ## create the virtual environment, install, compile translations
	bash infra/install-system-deps.sh

catalogs: $(BIN)/makeready ## compile the .po catalogs to .mo (optional: the app compiles a missing or stale one itself)
	$(BIN)/pybabel compile -d i18n -D messages --statistics

run: setup ## seed the demo agency and serve it on http://127.0.0.1:8000
	$(BIN)/makeready demo

# pytest-xdist: one worker per logical CPU; the browser tests (and a few modules sharing a seeded demo) stay together
# on one worker (--dist loadgroup, docs/ARCHITECTURE.md). TEST_WORKERS=0 runs the suite in this one process.
TEST_WORKERS ?= logical
test: setup ## run the whole test suite on every core (PostgreSQL too when TEST_DATABASE_URL is set)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

lint: $(BIN)/makeready ## ruff, mypy and the import layers (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(BIN)/makeready ## format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The gettext keywords (Babel's defaults include them; named so the intent is plain). tests/test_i18n.py extracts
# with the same ones.
BABEL_KEYWORDS := -k _ -k gettext -k ngettext:1,2 -k N_
I18N_LOCALES := en zh_Hans

extract: $(BIN)/makeready ## extract strings into i18n/messages.pot and merge them into the en and zh_Hans catalogs
	$(BIN)/pybabel extract -F i18n/babel.cfg $(BABEL_KEYWORDS) --add-comments=Translators: --no-location \
		--sort-output --no-wrap --project=Makeready --copyright-holder=Makeready -o i18n/messages.pot .
	for locale in $(I18N_LOCALES); do \
		$(BIN)/pybabel update -i i18n/messages.pot -d i18n -D messages -l $$locale --init-missing \
			--no-fuzzy-matching --ignore-obsolete --no-wrap || exit 1; \
	done
	$(BIN)/python i18n/fill_english.py i18n/en/LC_MESSAGES/messages.po

bench: setup ## run the benchmarks and print their figures
	$(BIN)/python bench/portal_throughput.py
	$(BIN)/python bench/spec_pdf.py
	$(BIN)/python bench/shipping_pdf.py
	$(BIN)/python bench/production.py

SCALE ?= 1
bench-scale: setup ## staff and brand pages on a seeded PostgreSQL (SCALE=1: 100,000 projects; SCALE=0.1: quick)
	$(BIN)/python bench/scale.py --scale $(SCALE)

clean: ## remove the virtual environment and local data
	rm -rf $(VENV) var
