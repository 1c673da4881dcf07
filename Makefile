# One task runner for developers and CI. `make up` runs OpenWan; `make test` runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup system-packages up test test-app test-infra lint bench-ingest bench-queue bench-pipeline bench-access bench-search bench-api clean

setup: $(VENV)/.installed system-packages

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -U pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

system-packages:
	@bash scripts/install-system-packages

up: setup
	$(VENV)/bin/openwan up

test: test-app test-infra

test-app: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-infra:
	@if [ -f infra/Makefile ]; then $(MAKE) -C infra test; else echo "no infra tests yet"; fi

lint: setup
	$(PY) -m ruff check openwan tests bench

bench-%: setup
	$(PY) bench/$*.py

clean:
	rm -rf $(VENV) var .pytest_cache
