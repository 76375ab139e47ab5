# The two commands of the README:  `make bench`  and  `make test`.
# Both create .venv and install everything on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
BOOKS ?= 2000

.PHONY: install bench test test-sqlite test-postgres lint demo clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -U pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev]"
	touch $@

install: $(BIN)/.installed

# The main job: seed the demo (SQLite, no server needed) and benchmark it.
bench: install
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py seed_demo --books $(BOOKS)
	$(BIN)/python manage.py perfkit_bench

# Serve the demo on http://127.0.0.1:8000 (debug toolbar on).
demo: install
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py seed_demo --books $(BOOKS)
	$(BIN)/python manage.py runserver

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test-sqlite: install
	$(BIN)/pytest

test-postgres: install
	DATABASE_URL=$(PG_URL) $(BIN)/pytest

# The whole test suite: lint (ruff and mypy), then every test on SQLite and again on PostgreSQL.
test: lint test-sqlite test-postgres

clean:
	rm -rf $(VENV) .tox demo.sqlite3
