# The project's entry points. `make test` is the test command: it installs what
# is missing (tansu via cargo, ClickHouse via apt-get), starts both as user
# processes on loopback ports (deploy/local/), runs the whole workspace's tests
# against them and always stops them again.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
CARGO_TARGET_DIR ?= $(HOME)/.cache/cdp-target
export CARGO_TARGET_DIR
# Extra arguments for `cargo test`, e.g. `make test TEST_ARGS='-p cdp-ingest'`.
TEST_ARGS ?= --workspace
# A venv with DuckDB (tests check that outside readers read the lake as it is)
# and chdb (current ClickHouse in-process: the ClickHouse DDL and BI queries
# are checked on it as well as on the 18.16 test server).
VENV ?= $(HOME)/.cache/cdp-venv
export CDP_TEST_PYTHON := $(VENV)/bin/python

.PHONY: chromium venv test demo services-start services-stop services-status install-services build

venv:
	@[ -x "$(VENV)/bin/python" ] || python3 -m venv "$(VENV)"
	@"$(VENV)/bin/python" -c 'import duckdb' 2>/dev/null || "$(VENV)/bin/pip" install --quiet duckdb
	@"$(VENV)/bin/python" -c 'import chdb' 2>/dev/null || "$(VENV)/bin/pip" install --quiet chdb

# Headless Chromium renders the report in crates/cdp-report's tests.
chromium:
	@deploy/local/chromium.sh install

test: venv chromium
	@echo "==> make test: services from deploy/local, then cargo test $(TEST_ARGS) (target dir $(CARGO_TARGET_DIR))"
	@trap 'echo "==> stopping services"; deploy/local/services.sh stop' EXIT; \
	env_lines="$$(deploy/local/services.sh start)"; \
	echo "$$env_lines"; \
	eval "$$env_lines"; \
	echo "==> $(CARGO) test $(TEST_ARGS)"; \
	$(CARGO) test $(TEST_ARGS)

demo:
	$(CARGO) run --release -p cdp -- demo

build:
	$(CARGO) build --workspace --all-targets

services-start:
	@deploy/local/services.sh start

services-stop:
	@deploy/local/services.sh stop

services-status:
	@deploy/local/services.sh status

install-services:
	@deploy/local/services.sh install
