# finsync — everything starts here. On a fresh machine with Python >= 3.11 and make:
#   make dev    start the stack        make test   run every check and test
# uv is installed from PyPI into .tools/ (git-ignored) when missing; the environment comes from uv.lock.

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# Two workers (pytest-xdist): most of the suite waits on live servers, so two halves overlap on two cores.
PYTEST_WORKERS ?= 2

.PHONY: dev test lint format typecheck pytest migrate bench sync clean

$(UV):
	@echo "[make] installing uv $(UV_VERSION) into $(TOOLS)/uv"
	@$(PYTHON) -m venv $(TOOLS)/uv
	@$(TOOLS)/uv/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	@UV_PYTHON=$(PYTHON) $(UV) sync --frozen --quiet
	@touch $@

sync: $(VENV)/.synced

dev: sync
	@$(BIN)/finsync dev

migrate: sync
	@$(BIN)/finsync migrate

lint: sync
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: sync
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

pytest: sync
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test: lint pytest

bench: sync
	@if [ -d bench ] && ls bench/*.py >/dev/null 2>&1; then \
		$(BIN)/python -m bench; \
	else \
		echo "[make] no benchmarks yet: they arrive with the orchestration, REST API and jobs issues"; \
	fi

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
