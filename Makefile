# telejt: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
#: every dependency pinned with its hashes (`make lock` refreshes it from pyproject.toml)
LOCK := requirements/dev.lock
PYTEST_ARGS ?=

.PHONY: run test lint format translations install lock clean

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP) translations/es_MX/LC_MESSAGES/messages.mo

translations/es_MX/LC_MESSAGES/messages.mo translations/en/LC_MESSAGES/messages.mo: $(STAMP) translations/es_MX/LC_MESSAGES/messages.po translations/en/LC_MESSAGES/messages.po
	$(BIN)/telejt translate compile

translations: $(STAMP)
	$(BIN)/telejt translate update
	$(BIN)/telejt translate compile

## run: set up, upgrade the SQLite database, load the demo once, serve on http://127.0.0.1:5000
run: install
	TELEJT_ENV=development $(BIN)/telejt db upgrade
	TELEJT_ENV=development $(BIN)/telejt demo
	TELEJT_ENV=development $(BIN)/telejt serve --host 127.0.0.1 --port 5000

## test: set up and run the whole suite (PostgreSQL when TELEJT_TEST_DATABASE_URL is set)
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## lock: re-pin every dependency (with hashes) from pyproject.toml, from PyPI alone
lock: $(STAMP)
	PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= $(BIN)/pip-compile --quiet --upgrade --generate-hashes \
		--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		--extra dev -o requirements/dev.lock pyproject.toml
	PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= $(BIN)/pip-compile --quiet --upgrade --generate-hashes \
		--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements/prod.lock pyproject.toml

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
