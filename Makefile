# Two commands do everything on a fresh machine (Python 3.11, Node/npm, Debian packages):
#   make run   — set up and start the server on http://127.0.0.1:8000
#   make test  — set up and run every check and test
#   make test-fast — the unit tests and the quick system tests: no slow ones, no browser
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Playwright drives Debian's chromium (/usr/bin/chromium); it never downloads a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
# Python caches each module's bytecode when first imported (pip installs with --no-compile,
# below): with PYTHONDONTWRITEBYTECODE set, as on this machine, nothing is cached and every
# process compiles what it imports again (each server a test starts, each pytest worker, each
# test module's assertion rewriting): collecting the suite took 31-50 s instead of 12-20 s
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast setup lint bench browser services catalogs

# uvicorn with the service's connection limits (app/serve.py: header and keep-alive timeouts,
# a concurrency limit, a graceful-shutdown timeout)
run: setup
	$(PY) -m app.serve --host $(HOST) --port $(PORT)

# every test on two pytest workers, a file each at a time (browser and server tests mostly
# wait on a server, so the two cores overlap them), but those marked timed: they bound the
# server's time (healthz p99 under faults, exit time), which another worker would skew, so
# they run after, alone
test: setup lint browser services
	$(PY) -m pytest -n 2 --dist loadfile -m "not timed" tests
	$(CLUSTER) $(PY) -m pytest -n 2 --dist loadfile -m "not timed" $(CLUSTER_SUITES)
	$(PY) -m pytest -m timed tests/system

# the core REST and SSE contracts again in the cluster configuration: PostgreSQL, Redis and one
# Ray cluster, each started on loopback once for the run (tests/conftest.py's switches): the
# REST contract (create, owners, step, run, patch, reset, export/import, delete), resume
# (Last-Event-ID), ownership and the state machine, the per-owner and running limits (~90 s)
CLUSTER := BPP_TEST_STORE=postgres BPP_TEST_FANOUT=redis BPP_TEST_BACKEND=ray
CLUSTER_SUITES := tests/system/workers/test_state_machine.py tests/system/server/test_stream.py \
	tests/system/workers/test_api_sessions.py \
	tests/system/workers/test_api_limits.py::test_sessions_per_owner_and_running_total_are_429 \
	tests/system/workers/test_api_limits.py::test_idle_running_sessions_are_paused

# markers (pyproject.toml): slow (> ~2 s alone), system (tests/system/), browser (tests/browser/)
test-fast: setup
	$(PY) -m pytest -m "not slow and not browser"

# the browser tests' Chromium and Korean fonts, from Debian (needs root on a fresh machine)
browser:
	(command -v chromium && dpkg -s fonts-noto-cjk) >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends chromium fonts-noto-cjk)

# the cluster configuration's services, from Debian, for the tests that start them on loopback
services:
	(command -v redis-server && command -v pg_ctlcluster) >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends postgresql redis-server)

lint: setup
	$(PY) -m ruff check app engine tests bench
	$(PY) -m mypy

bench: setup
	$(PY) -m bench

setup: $(VENV)/.installed

# pip: --no-compile, as Python compiles each module when first imported; compiling every file
# of torch and ray (most never imported here) took 40 of the install's 60 s.
# npm: --ignore-scripts, as none of the front-end packages needs one (swagger-ui-dist's
# dependency @scarf/scarf would only report the install to its vendor)
$(VENV)/.installed: pyproject.toml package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install --no-compile -e '.[test,cluster]'
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

# The page's catalogs (app/locale): extract the English message ids from the templates and the
# Python that writes page text, and merge them into ko and en (then translate the new ko
# entries). The .po files are compiled in memory when the server starts (app/page/i18n.py).
catalogs: setup
	$(PY) -m babel.messages.frontend extract -F babel.cfg -k t --no-location --sort-output -o app/locale/messages.pot .
	$(PY) -m babel.messages.frontend update -i app/locale/messages.pot -d app/locale --no-fuzzy-matching --ignore-obsolete
