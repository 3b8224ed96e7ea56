# The README's commands. `make run` and `make test` are the whole quick start.
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
# Links in mail and chat lead to the portal `make run` serves, unless SITE_URL is set.
SITE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test lint format messages clean lock

# Installs exactly the versions in requirements-dev.lock (every package, with its hashes), then
# checks that the lock still holds what requirements*.txt ask for.
$(STAMP): requirements.txt requirements-dev.txt requirements.lock requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Lab Portal needs Python 3.12 or newer; set PYTHON=/path/to/python3.12")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	@$(BIN)/python -m pip install --quiet --no-index --dry-run -r requirements-dev.txt >/dev/null 2>&1 || \
		{ echo "requirements*.lock miss what requirements*.txt ask for: run 'make lock'"; exit 1; }
	touch $@

## lock: after editing requirements*.txt, pin every package they pull in, with hashes, in
##       requirements.lock (production) and requirements-dev.lock (everything, the same versions);
##       versions already locked stay unless upgraded: make lock UPGRADE=--upgrade (all) or
##       UPGRADE="--upgrade-package django" (one)
LOCK := $(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.12 \
	--custom-compile-command "make lock" $(UPGRADE)
lock: $(BIN)/uv
	$(LOCK) requirements.txt -o requirements.lock
	$(LOCK) requirements-dev.txt --constraint requirements.lock -o requirements-dev.lock

# uv, at the version requirements-dev.txt pins, even in a virtualenv the lock cannot install yet.
$(BIN)/uv: requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep -o '^uv==[^ ]*' requirements-dev.txt)"
	touch $@

## run: install, migrate, seed the demo lab and serve http://127.0.0.1:$(PORT), the SITE_URL of its
##      mail and chat links unless SITE_URL is set (with REDIS_URL set, a Celery worker with beat
##      runs beside it; with TELEGRAM_BOT_TOKEN set, the bot's long polling too)
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Lab Portal: http://127.0.0.1:$(PORT)/ (links in mail and chat: $(SITE_URL)/)"
	@helpers=""; \
	if [ -n "$$REDIS_URL" ]; then \
		SITE_URL='$(SITE_URL)' $(BIN)/celery -A lab_portal worker --beat --schedule $(VENV)/celerybeat-schedule --loglevel=INFO & \
		helpers="$$helpers $$!"; \
	fi; \
	if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then \
		SITE_URL='$(SITE_URL)' $(BIN)/python manage.py telegram_poll & \
		helpers="$$helpers $$!"; \
	fi; \
	trap 'kill $$helpers 2>/dev/null' EXIT INT TERM; \
	SITE_URL='$(SITE_URL)' $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## test: the whole suite (set DATABASE_URL and REDIS_URL to run it on PostgreSQL and Redis)
test: $(STAMP)
	$(BIN)/pytest

## coverage: the suite as `make test` runs it, measuring line and branch coverage; lists the 20
##           least-covered modules and fails below the floor in pyproject.toml (fail_under)
.PHONY: coverage
coverage: $(STAMP)
	$(BIN)/pytest --cov --cov-report= --cov-fail-under=0
	@echo "Least-covered modules:"
	@$(BIN)/coverage report --sort=cover --skip-covered --fail-under=0 | sed -n '1,22p'
	$(BIN)/coverage report --format=total

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## messages: refresh and compile the Korean translation after changing UI text
messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l ko -i ".venv/*" -i "e2e/*" -i "bench/*"
	$(BIN)/python manage.py compilemessages -l ko --ignore=.venv

clean:
	rm -rf $(VENV) staticfiles db.sqlite3

## bench: the benchmarks on PostgreSQL (DATABASE_URL=postgres://...; see bench/README.md):
##        ingest (upsert_papers against a Paper.save() loop and COPY), scale (a million papers),
##        solve (reviewer assignment against HiGHS); bench/signup.py needs gunicorn (see README)
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/solve.py
	$(BIN)/python bench/signup.py
