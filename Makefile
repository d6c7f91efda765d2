# Prorata: `make run` to try it, `make test` to check it. Needs only Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run worker test lint install install-dev migrate demo scenarios clean messages makemessages

$(BIN)/python:
	@echo "==> Creating the virtualenv in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	@echo "==> Installing requirements.txt (a minute or two the first time)"
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The translations (German, French): locale/*/LC_MESSAGES/django.po, compiled to .mo with Babel
# (pure Python, no gettext needed). `make makemessages` re-extracts the strings after a change;
# that one needs GNU gettext (apt install gettext).
messages: install
	$(BIN)/python -m babel.messages.frontend compile -d locale -D django

makemessages: install
	$(BIN)/python manage.py makemessages -l de -l fr --no-obsolete --ignore=var --ignore=tests --ignore=bench --ignore=test-output

migrate: install messages
	@echo "==> Applying migrations to the database (one line per migration)"
	$(BIN)/python manage.py migrate --noinput -v1
	$(BIN)/python manage.py createcachetable

demo: migrate
	@echo "==> Loading the demo data (plans, four accounts, a few months of invoices)"
	$(BIN)/python manage.py demo

run: demo
	$(BIN)/python manage.py licence_keygen  # a dev licence signing key in .env, once (never committed)
	@echo "Prorata is at http://$(HOST):$(PORT)/ (admin: http://$(HOST):$(PORT)/admin/)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Background work on Redis: needs CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0); -B runs the beat too.
worker: install
	@test -n "$$CELERY_BROKER_URL" || { echo "Set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0 (without it, tasks run inside make run)"; exit 1; }
	$(BIN)/celery -A config worker -B --loglevel=INFO

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint messages
	$(BIN)/python manage.py makemigrations --check --dry-run -v1
	$(BIN)/pytest -q $(PYTEST_ARGS)

scenarios: install-dev
	$(BIN)/pytest -q tests/subscriptions/test_scenarios.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
