# The two commands are `make run` and `make test`; see README.md.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)
DEMO_SIZE ?= --products 2000 --users 50 --orders 300

.PHONY: run test lint services bench loadtest resilience

# $(call apt_need,COMMAND,PACKAGE): apt-get install PACKAGE unless COMMAND is
# there (apt-get update first only if the install fails).
apt_need = command -v $(1) >/dev/null || (apt-get install -y -q $(2) || (apt-get update -q && apt-get install -y -q $(2)))

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

services:
	$(PYTHON) scripts/ensure_services.py

.env:
	$(PYTHON) scripts/make_env.py

run: $(VENV)/.installed services .env
	$(PY) scripts/ensure_database.py
	$(PY) manage.py migrate --noinput
	$(PY) manage.py sync_schedules
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo --if-empty $(DEMO_SIZE)
	@echo
	@echo "  API (browsable)  http://127.0.0.1:8000/api/"
	@echo "  Swagger UI       http://127.0.0.1:8000/api/docs/"
	@echo "  Admin            http://127.0.0.1:8000/admin/   (admin@bazaar.local / bazaar-demo-123)"
	@echo "  Flower           http://127.0.0.1:5555/         ($$(grep ^FLOWER_BASIC_AUTH .env | cut -d= -f2 | sed 's|:| / |'))"
	@echo
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start

test: $(VENV)/.installed services
	$(call apt_need,promtool,prometheus)
	$(call apt_need,chromium,chromium)
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Every benchmark, one after the other, into bench/RESULTS.md (ONLY=servers,scale: a subset).
bench: $(VENV)/.installed services
	$(call apt_need,wrk,wrk)
	$(PY) bench/all.py $(if $(ONLY),--only $(ONLY))

# Load test (locust) against its own database bazaar_loadtest: PROFILE=basic|spike|stress|endurance.
PROFILE ?= basic
loadtest: $(VENV)/.installed services
	PROFILE=$(PROFILE) $(PY) loadtests/run.py

# Fault scenarios against a private stack (own PostgreSQL cluster, Redis, SMTP
# sink, free ports); writes RESILIENCE.md. ONLY=3,4 runs a subset.
resilience: $(VENV)/.installed services
	$(PY) -m resilience.run $(if $(ONLY),--only $(ONLY))
