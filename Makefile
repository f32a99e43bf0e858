# Ficus developer entry points. Every target builds .venv from requirements.lock when it is missing
# or older than the lock, so a fresh machine with only Python 3.11, make and git is enough.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

# pytest exits 5 when it collected no test. A stage that runs nothing proves nothing, so that
# fails too, but with a message that says so instead of a bare exit code.
define pytest
$(PY) -m pytest $(1) $(PYTEST_ARGS) || { rc=$$?; [ $$rc -ne 5 ] || echo "make: pytest collected no tests for: $(1)" >&2; exit $$rc; }
endef

.PHONY: demo tryton-env test lint typecheck unit bench fuzz test-databases clean-demo help

help:
	@echo "make demo            run the legacy app, both services, the control plane, the proxy and sync on SQLite"
	@echo "                     (and Prometheus scraping them all, when Debian's prometheus is installed)"
	@echo "make test            lint, type-check, check plans and run the whole test suite"
	@echo "make tryton-env      build .venv-tryton: GNU Health 5.0 on trytond 7.0, proteus and sao, the real"
	@echo "                     legacy system the tests in tests/e2e/tryton put Ficus in front of"
	@echo "make lint            ruff, ruff format --check, import-linter, plan check"
	@echo "make bench           run the benchmarks in bench/ and print their ratios"
	@echo "make fuzz            run the fuzzers (tests marked fuzz) with many more examples"
	@echo "make test-databases  run the database-backed tests on PostgreSQL and MariaDB"
	@echo "make clean-demo      delete the demo's databases and logs under var/"

$(STAMP): requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Ficus needs Python 3.11, found " + sys.version' 
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# --no-deps: the lock is complete, and it deliberately overrides mitmproxy's h11/h2 pins.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	# Make the checkout importable from any working directory (mitmdump -s, gunicorn, alembic).
	echo "$(CURDIR)" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ficus-checkout.pth"
	touch $(STAMP)

# The front-end tests drive Debian's chromium (never a browser downloaded by a test tool).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@[ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null || { \
		echo "make: the front-end tests need Debian's chromium package; install it with: sudo apt-get install chromium" >&2; exit 1; }
	apt-get update -qq && apt-get install -y -qq chromium

# nginx (Debian's package) is the reference reverse proxy in the benchmarks; each bench run starts
# its own instance with its own config on loopback, never the system service.
NGINX := /usr/sbin/nginx
$(NGINX):
	@[ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null || { \
		echo "make: the benchmarks need Debian's nginx package; install it with: sudo apt-get install nginx" >&2; exit 1; }
	apt-get update -qq && apt-get install -y -qq nginx-light || apt-get install -y -qq nginx

# Prometheus (Debian's package) gives promtool, which checks every /metrics page and unit-tests
# the alert rules in make test, and the server the e2e test scrapes the real stack with. Tests
# and the demo start their own instance (own config, storage and port), never the system one:
# the package's service, if the install started it, is stopped and disabled again.
PROMETHEUS := /usr/bin/prometheus
$(PROMETHEUS):
	@[ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null || { \
		echo "make: the tests need Debian's prometheus package (promtool); install it with: sudo apt-get install --no-install-recommends prometheus" >&2; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
	-systemctl disable --now prometheus >/dev/null 2>&1 || service prometheus stop >/dev/null 2>&1

# The real legacy system of tests/e2e/tryton (docs/real-legacy.md): GNU Health 5.0 on trytond 7.0
# with proteus in its own venv (its pins are not Ficus's), and sao 7.0, Tryton's web client, from
# the npm registry, laid out as the web root trytond serves. Both from their own lock files.
TRYTON_DIR := tests/e2e/tryton
TRYTON_VENV := .venv-tryton
TRYTON_STAMP := $(TRYTON_VENV)/.installed
$(TRYTON_STAMP): $(TRYTON_DIR)/requirements.lock $(TRYTON_DIR)/sao/package-lock.json $(TRYTON_DIR)/build-sao-root.sh
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "the Tryton env needs Python 3.11, found " + sys.version'
	test -x $(TRYTON_VENV)/bin/python || $(PYTHON) -m venv $(TRYTON_VENV)
	$(TRYTON_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r $(TRYTON_DIR)/requirements.lock
	mkdir -p $(TRYTON_VENV)/sao
	cp $(TRYTON_DIR)/sao/package.json $(TRYTON_DIR)/sao/package-lock.json $(TRYTON_VENV)/sao/
	# --ignore-scripts: sao's postinstall runs bower; its libraries come from npm instead.
	cd $(TRYTON_VENV)/sao && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	$(TRYTON_DIR)/build-sao-root.sh $(TRYTON_VENV)/sao/node_modules $(TRYTON_VENV)/sao-www
	touch $(TRYTON_STAMP)

tryton-env: $(TRYTON_STAMP)

demo: $(STAMP)
	$(PY) -m demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --config setup.cfg
	$(PY) manage.py plan check
	$(PY) -W ignore::RuntimeWarning manage.py makemigrations --check --dry-run

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP) $(CHROMIUM) $(PROMETHEUS) $(TRYTON_STAMP)
	$(call pytest,-m "not databases")

test: lint typecheck unit

# CI: the database-backed tests on the real servers. Unreachable servers fail instead of skipping.
# First the legacy-side tests on both servers, then the services and control plane on PostgreSQL.
PG_URL ?= postgresql://postgres@127.0.0.1:5432
test-databases: $(STAMP) $(PROMETHEUS)
	FICUS_TEST_BACKENDS=postgresql,mariadb FICUS_REQUIRE_DATABASES=1 \
		$(call pytest,-m databases)
	# Each service's database variable comes from the feature registry (the plan files).
	urls="$$($(PY) -m migration_plans.feature_registry database-urls $(PG_URL))" && \
		env $$urls FICUS_DB_DEFAULT_URL=$(PG_URL)/ficus_control \
		$(call pytest,-m "not databases and not e2e" tests/extracted tests/migration_plans)

# The fuzzers also run in make test, bounded (the `ci` Hypothesis profile); here they run long.
fuzz: $(STAMP)
	FICUS_HYPOTHESIS_PROFILE=fuzz $(call pytest,-m fuzz)

# wrk is Debian's HTTP load generator; install it here rather than by hand.
bench: $(STAMP) $(NGINX)
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(PY) -m bench

clean-demo:
	rm -rf var/
