# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench install browser clean

$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.lock
	$(PY) -m pip install -q --no-deps -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Run the service on its embedded default: SQLite, no Redis, sandbox data for wx_test_ keys,
# real OpenWeather for live keys when OPENWEATHER_API_KEY is set.
run: $(STAMP)
	$(PY) manage.py migrate --noinput -v0
	@echo "Your demo test key (shown once; try: curl -H \"X-API-Key: <key>\" 'http://127.0.0.1:$${PORT:-8000}/v1/weather/current?q=London,GB'):"
	@$(PY) manage.py seed_demo --print-key 2>/dev/null | tail -n 1
	$(PY) manage.py runserver 127.0.0.1:$${PORT:-8000}

# The whole test suite. Uses DATABASE_URL / REDIS_URL when set (CI points them at the local
# PostgreSQL and Redis); for each one unset, pytest starts a private throwaway redis-server /
# PostgreSQL cluster for the run (tests/support/services.py), or, when that is not installed,
# the tests needing it skip and say why. Browser tests need Debian's chromium.
test: $(STAMP)
	@test -x /usr/bin/chromium || ./scripts/install-chromium || true
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy .
	$(VENV)/bin/bandit -q -c pyproject.toml -r weatherapi accounts webhooks forecasts billing jobs

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles test-artifacts
