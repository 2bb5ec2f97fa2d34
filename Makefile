# govflow — two commands on a fresh machine: `make run` and `make test` (Python 3.11+ only).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Test processes (pytest-xdist): one per CPU by default; JOBS=0 runs the suite in this process.
JOBS ?= auto

.PHONY: run test test-postgres lint bench translations install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(STAMP_TEST): $(STAMP_RUN) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# French catalogue compiled from the committed .po file.
govflow/translations/fr/LC_MESSAGES/messages.mo: govflow/translations/fr/LC_MESSAGES/messages.po $(STAMP_RUN)
	$(BIN)/pybabel compile --use-fuzzy -d govflow/translations

install: $(STAMP_RUN) govflow/translations/fr/LC_MESSAGES/messages.mo

## Create .venv, install, migrate the default SQLite database, load workflows and demo data, serve on PORT.
## Every command below knows PORT (as GOVFLOW_PORT): credentials and links name http://127.0.0.1:$(PORT) unless
## GOVFLOW_BASE_URL says otherwise.
run: export GOVFLOW_PORT = $(PORT)
run: install
	$(BIN)/govflow demo serve --host 127.0.0.1 --port $(PORT)

## Create or update .venv with the test extras and run the whole suite across the CPUs (plus PostgreSQL and lint
## under CI=true). The heaviest tests are marked `slow` and run here too; `pytest -m "not slow"` leaves them out.
test: $(STAMP_TEST) govflow/translations/fr/LC_MESSAGES/messages.mo
	$(BIN)/python -m pytest -n $(JOBS) --dist worksteal
	@if [ "$$CI" = "true" ]; then $(MAKE) --no-print-directory test-postgres lint; fi

## The database tests again on PostgreSQL (GOVFLOW_TEST_DATABASE_URL, default: the local `test` database), with the
## fuzz test drawing more examples (GOVFLOW_FUZZ_EXAMPLES, 20 here, 3 in the SQLite run).
test-postgres: $(STAMP_TEST) govflow/translations/fr/LC_MESSAGES/messages.mo
	GOVFLOW_TEST_DATABASE_URL=$(PG_TEST_URL) GOVFLOW_FUZZ_EXAMPLES=$${GOVFLOW_FUZZ_EXAMPLES:-20} $(BIN)/python -m pytest -n $(JOBS) --dist worksteal -m "not browser"

## Ruff lint and format check, mypy --strict on the engine and the pure modules (the files are listed in pyproject.toml),
## and the import contracts (the engine stays free of Flask, SQLAlchemy and domains).
lint: $(STAMP_TEST)
	$(BIN)/ruff check govflow tests bench wsgi.py
	$(BIN)/ruff format --check govflow tests bench wsgi.py
	$(BIN)/mypy
	$(BIN)/lint-imports

## Benchmarks against bare baselines; results recorded under bench/results/ (see bench/README.md).
bench: install
	$(BIN)/python bench/engine_bench.py | tee bench/results/engine.txt
	$(BIN)/python bench/attestation_bench.py | tee bench/results/attestations.txt
	$(BIN)/python bench/sandbox_bench.py | tee bench/results/sandbox.txt
	@command -v wrk >/dev/null 2>&1 || echo "bench: the served benchmark needs wrk (apt-get install wrk); it will say it was skipped"
	$(BIN)/python bench/served_bench.py | tee bench/results/served.txt

## Re-extract translatable texts and merge them into the French catalogue (then translate the new entries).
translations: $(STAMP_RUN)
	$(BIN)/pybabel extract -F babel.cfg -k _l -o govflow/translations/messages.pot .
	$(BIN)/pybabel update -i govflow/translations/messages.pot -d govflow/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
