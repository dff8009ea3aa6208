# Developer and CI entry points. `make test` is the test command (README); CI runs it from .ci/run.

PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.synced
PYTEST_TIMEOUT ?= 300

# no telemetry from Prefect or anything else honouring DO_NOT_TRACK, in every target
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.DEFAULT_GOAL := test
.PHONY: $(VENV) demo test lint bench clean

$(VENV): $(VENV_STAMP)

# re-sync whenever the dependency declaration or the lock file changes; --frozen: install the lock as is
$(VENV_STAMP): pyproject.toml uv.lock
	@if command -v uv >/dev/null 2>&1; then \
		uv sync --frozen --python $(PYTHON); \
	else \
		$(PYTHON) -m pip install --quiet uv && $(PYTHON) -m uv sync --frozen --python $(PYTHON); \
	fi
	@touch $@

demo: $(VENV_STAMP)
	$(VENV)/bin/sellerreach demo

test: $(VENV_STAMP)
	$(VENV)/bin/pytest -q -p no:cacheprovider --timeout=$(PYTEST_TIMEOUT)

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .

bench: $(VENV_STAMP)
	$(VENV)/bin/python bench/quota.py
	$(VENV)/bin/python bench/load.py
	$(VENV)/bin/python bench/inbox.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
