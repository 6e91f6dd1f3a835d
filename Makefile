# Two commands for a newcomer on Debian: `make run` and `make test`.
VENV := .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test soak setup lint bench system-deps-run system-deps-test clean

run: system-deps-run $(STAMP)
	$(VENV)/bin/carpool setup
	$(VENV)/bin/carpool serve --host 127.0.0.1 --port 5000

test: system-deps-test $(STAMP) node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy carpool
	scripts/test-all.sh

# The SIGKILL tests again with other random seeds (SOAK_SEEDS), on both backends.
SOAK_SEEDS ?= 1 2 3 4 5
soak: system-deps-test $(STAMP)
	for seed in $(SOAK_SEEDS); do KILL_SEED=$$seed PYTEST_MARKERS=kill scripts/test-all.sh || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy carpool

bench: $(STAMP)
	$(VENV)/bin/carpool bench matching --size L
	$(VENV)/bin/python benchmarks/bench_dashboard.py
	$(VENV)/bin/python benchmarks/load/run_load.py

system-deps-run:
	@scripts/system-deps.sh run

system-deps-test:
	@scripts/system-deps.sh test

$(STAMP): setup.cfg pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install -q --disable-pip-version-check -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
